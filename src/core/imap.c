/* moqc core — the integer-keyed map (see imap.h). */
#include "core/imap.h"

#include <assert.h>
#include <string.h>

#include "core/mem.h"
#include "moqc/error.h"

#define IMAP_CAP_MIN 8u

void moqc__imap_init(moqc_imap *m) { memset(m, 0, sizeof *m); }

void moqc__imap_free(moqc_imap *m) {
  moqc_free(m->slots);
  moqc__imap_init(m);
}

static size_t home_of(size_t mask, uint64_t key) { return (size_t)moqc__mix64(key) & mask; }

/* Place an entry known to be absent (there is always an empty slot). */
static void place(moqc_imap_slot *slots, size_t cap, uint64_t key, void *val) {
  size_t mask = cap - 1, i = home_of(mask, key);
  while (slots[i].val) i = (i + 1) & mask;
  slots[i].key = key;
  slots[i].val = val;
}

static int grow(moqc_imap *m) {
  size_t cap = m->cap ? m->cap * 2 : IMAP_CAP_MIN;
  if (cap <= m->cap) return MOQC_ERR_NOMEM; /* size_t overflow */
  moqc_imap_slot *slots = moqc_calloc(cap, sizeof *slots);
  if (!slots) return MOQC_ERR_NOMEM;
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].val) place(slots, cap, m->slots[i].key, m->slots[i].val);
  moqc_free(m->slots);
  m->slots = slots;
  m->cap = cap;
  return MOQC_OK;
}

int moqc__imap_insert(moqc_imap *m, uint64_t key, void *val) {
  if (!val) return MOQC_ERR_INVAL;
  if (moqc__imap_find(m, key)) return MOQC_ERR_DUPLICATE;
  /* Grow past half full; a failed grow may still fill to three quarters. */
  if ((m->n + 1) * 2 > m->cap && grow(m) != MOQC_OK && (m->n + 1) * 4 > m->cap * 3)
    return MOQC_ERR_NOMEM;
  place(m->slots, m->cap, key, val);
  m->n++;
  assert(m->n < m->cap);
  return MOQC_OK;
}

void *moqc__imap_remove(moqc_imap *m, uint64_t key) {
  if (!m->n) return NULL;
  size_t mask = m->cap - 1, i = home_of(mask, key);
  while (m->slots[i].val && m->slots[i].key != key) i = (i + 1) & mask;
  void *val = m->slots[i].val;
  if (!val) return NULL;
  m->slots[i].val = NULL;
  assert(m->n > 0);
  m->n--;
  /* Shift back the entries of the cluster that follows the hole. */
  for (size_t j = (i + 1) & mask; m->slots[j].val; j = (j + 1) & mask) {
    if (moqc__probe_may_shift(i, j, home_of(mask, m->slots[j].key))) {
      m->slots[i] = m->slots[j];
      m->slots[j].val = NULL;
      i = j;
    }
  }
  return val;
}

/* Iteration runs downwards from an empty slot: a removal only shifts entries
 * of the current cluster from above the current slot (already visited) into
 * the current slot or above it, so nothing is skipped or seen twice. */
void moqc__imap_it_init(const moqc_imap *m, moqc_imap_it *it) {
  it->pos = 0;
  it->left = 0;
  it->n = m->n;
  it->cap = m->cap;
  if (!m->n) return;
  while (m->slots[it->pos].val) it->pos++; /* an empty slot exists: n < cap */
  it->left = m->cap;
}

bool moqc__imap_next(const moqc_imap *m, moqc_imap_it *it, uint64_t *key, void **val) {
  assert(m->cap == it->cap);                      /* no insert that grew */
  assert(m->n == it->n || m->n + 1 == it->n);     /* at most the current removed */
  it->n = m->n;
  while (it->left) {
    it->left--;
    it->pos = (it->pos - 1) & (m->cap - 1);
    const moqc_imap_slot *s = &m->slots[it->pos];
    if (!s->val) continue;
    if (key) *key = s->key;
    if (val) *val = s->val;
    return true;
  }
  return false;
}
