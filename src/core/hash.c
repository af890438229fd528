/* moqc core — removal and iteration shared by imap and smap (see hash.h). */
#include "core/hash.h"

#include <assert.h>
#include <string.h>

static void *slot_at(const void *slots, size_t i, const moqc_probe_ops *ops) {
  return (char *)(uintptr_t)slots + i * ops->slot_size;
}

static bool occupied(const void *slots, size_t i, const moqc_probe_ops *ops) {
  void *v;
  memcpy(&v, (const char *)slot_at(slots, i, ops) + ops->val_off, sizeof v);
  return v != NULL;
}

void moqc__probe_backshift(void *slots, size_t cap, size_t i, const moqc_probe_ops *ops) {
  size_t mask = cap - 1;
  assert(cap && !occupied(slots, i, ops));
  for (size_t j = (i + 1) & mask; occupied(slots, j, ops); j = (j + 1) & mask) {
    size_t home = ops->home(slot_at(slots, j, ops), mask);
    /* j may move into the hole i unless its home is in the cyclic range
     * (i, j]: a lookup from there would stop at the hole. */
    bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (stays) continue;
    memcpy(slot_at(slots, i, ops), slot_at(slots, j, ops), ops->slot_size);
    memset(slot_at(slots, j, ops), 0, ops->slot_size);
    i = j;
  }
}

void moqc__probe_it_init(moqc_probe_it *it, const void *slots, size_t cap, size_t n,
                         const moqc_probe_ops *ops) {
  it->pos = 0;
  it->left = 0;
  it->n = n;
  it->cap = cap;
  if (!n) return;
  assert(n < cap);
  while (occupied(slots, it->pos, ops)) it->pos++; /* an empty slot exists: n < cap */
  it->left = cap;
}

bool moqc__probe_next(moqc_probe_it *it, const void *slots, size_t cap, size_t n,
                      const moqc_probe_ops *ops, size_t *idx) {
  assert(cap == it->cap);               /* no insert that grew */
  assert(n == it->n || n + 1 == it->n); /* at most the current entry removed */
  it->n = n;
  while (it->left) {
    it->left--;
    it->pos = (it->pos - 1) & (cap - 1);
    if (!occupied(slots, it->pos, ops)) continue;
    *idx = it->pos;
    return true;
  }
  return false;
}
