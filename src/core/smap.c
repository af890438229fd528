/* moqc core — the string-keyed map (see smap.h). */
#include "core/smap.h"

#include <assert.h>
#include <string.h>

#include "core/hash.h"
#include "core/mem.h"
#include "moqc/error.h"

#define SMAP_CAP_MIN 8u

void moqc__smap_init(moqc_smap *m, uint64_t seed) {
  memset(m, 0, sizeof *m);
  m->seed = seed;
}

static const uint8_t *key_of(const moqc_smap_slot *s) {
  return s->len <= MOQC_SMAP_INLINE ? s->key.in : s->key.out;
}

static void key_drop(moqc_smap_slot *s) {
  if (s->len > MOQC_SMAP_INLINE) moqc_free(s->key.out);
}

void moqc__smap_free(moqc_smap *m) {
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].val) key_drop(&m->slots[i]);
  moqc_free(m->slots);
  moqc__smap_init(m, m->seed);
}

/* The slot holding the key, or the empty slot where it would go. */
static size_t slot_for(const moqc_smap *m, uint64_t h, const void *key, size_t len) {
  size_t mask = m->cap - 1, i = (size_t)h & mask;
  for (;; i = (i + 1) & mask) {
    const moqc_smap_slot *s = &m->slots[i];
    if (!s->val) return i;
    if (s->hash == h && s->len == len && (len == 0 || memcmp(key_of(s), key, len) == 0)) return i;
  }
}

void *moqc__smap_find(const moqc_smap *m, const void *key, size_t len) {
  if (!m->n) return NULL;
  return m->slots[slot_for(m, moqc__hash_bytes(m->seed, key, len), key, len)].val;
}

static int grow(moqc_smap *m) {
  size_t cap = m->cap ? m->cap * 2 : SMAP_CAP_MIN;
  if (cap <= m->cap) return MOQC_ERR_NOMEM;
  moqc_smap_slot *slots = moqc_calloc(cap, sizeof *slots);
  if (!slots) return MOQC_ERR_NOMEM;
  for (size_t i = 0; i < m->cap; i++) {
    const moqc_smap_slot *s = &m->slots[i];
    if (!s->val) continue;
    size_t j = (size_t)s->hash & (cap - 1);
    while (slots[j].val) j = (j + 1) & (cap - 1);
    slots[j] = *s; /* the key copy moves with the slot */
  }
  moqc_free(m->slots);
  m->slots = slots;
  m->cap = cap;
  return MOQC_OK;
}

int moqc__smap_insert(moqc_smap *m, const void *key, size_t len, void *val) {
  if (!val || (!key && len)) return MOQC_ERR_INVAL;
  if (moqc__smap_find(m, key, len)) return MOQC_ERR_DUPLICATE;
  uint8_t *out = NULL;
  if (len > MOQC_SMAP_INLINE && !(out = moqc_malloc(len))) return MOQC_ERR_NOMEM;
  if ((m->n + 1) * 2 > m->cap && grow(m) != MOQC_OK && (m->n + 1) * 4 > m->cap * 3) {
    moqc_free(out);
    return MOQC_ERR_NOMEM;
  }
  uint64_t h = moqc__hash_bytes(m->seed, key, len);
  moqc_smap_slot *s = &m->slots[slot_for(m, h, key, len)];
  assert(!s->val);
  s->hash = h;
  s->val = val;
  s->len = len;
  if (out) {
    memcpy(out, key, len);
    s->key.out = out;
  } else if (len) {
    memcpy(s->key.in, key, len);
  }
  m->n++;
  assert(m->n < m->cap);
  return MOQC_OK;
}

static size_t slot_home(const void *slot, size_t mask) {
  return (size_t)((const moqc_smap_slot *)slot)->hash & mask;
}

static const moqc_probe_ops k_ops = {sizeof(moqc_smap_slot), offsetof(moqc_smap_slot, val),
                                     slot_home};

void *moqc__smap_remove(moqc_smap *m, const void *key, size_t len) {
  if (!m->n) return NULL;
  size_t i = slot_for(m, moqc__hash_bytes(m->seed, key, len), key, len);
  void *val = m->slots[i].val;
  if (!val) return NULL;
  key_drop(&m->slots[i]);
  m->slots[i].val = NULL;
  assert(m->n > 0);
  m->n--;
  moqc__probe_backshift(m->slots, m->cap, i, &k_ops);
  return val;
}

void moqc__smap_it_init(const moqc_smap *m, moqc_smap_it *it) {
  moqc__probe_it_init(it, m->slots, m->cap, m->n, &k_ops);
}

bool moqc__smap_next(const moqc_smap *m, moqc_smap_it *it, const uint8_t **key, size_t *len,
                     void **val) {
  size_t i;
  if (!moqc__probe_next(it, m->slots, m->cap, m->n, &k_ops, &i)) return false;
  const moqc_smap_slot *s = &m->slots[i];
  if (key) *key = key_of(s);
  if (len) *len = s->len;
  if (val) *val = s->val;
  return true;
}
