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

static size_t slot_home(const void *slot, size_t mask) {
  return home_of(mask, ((const moqc_imap_slot *)slot)->key);
}

static const moqc_probe_ops k_ops = {sizeof(moqc_imap_slot), offsetof(moqc_imap_slot, val),
                                     slot_home};

void *moqc__imap_remove(moqc_imap *m, uint64_t key) {
  if (!m->n) return NULL;
  size_t mask = m->cap - 1, i = home_of(mask, key);
  while (m->slots[i].val && m->slots[i].key != key) i = (i + 1) & mask;
  void *val = m->slots[i].val;
  if (!val) return NULL;
  m->slots[i].val = NULL;
  assert(m->n > 0);
  m->n--;
  moqc__probe_backshift(m->slots, m->cap, i, &k_ops);
  return val;
}

void moqc__imap_it_init(const moqc_imap *m, moqc_imap_it *it) {
  moqc__probe_it_init(it, m->slots, m->cap, m->n, &k_ops);
}

bool moqc__imap_next(const moqc_imap *m, moqc_imap_it *it, uint64_t *key, void **val) {
  size_t i;
  if (!moqc__probe_next(it, m->slots, m->cap, m->n, &k_ops, &i)) return false;
  if (key) *key = m->slots[i].key;
  if (val) *val = m->slots[i].val;
  return true;
}
