/* moqc core — the integer-keyed map: uint64 key -> non-NULL pointer (internal).
 *
 * One table for every "by id" index of the library (QUIC and WebTransport
 * streams by stream id, session streams and subscriptions by id). Open
 * addressing with linear probing and backward-shift deletion (no tombstones),
 * slots of {key, value}: a lookup reads one cache line in the common case and
 * never allocates. The table doubles when it would pass half full; if that
 * allocation fails it keeps filling the old table up to three quarters before
 * insert returns MOQC_ERR_NOMEM. Nothing here aborts or logs.
 *
 * A zeroed moqc_imap is a valid empty map (moqc__imap_init does the same); the
 * first insert allocates. Values are borrowed: the map never frees them.
 * Not thread-safe: a map belongs to one loop, like its owner.
 *
 * Iteration (moqc__imap_it_init / moqc__imap_next) visits every entry once, in
 * no particular order. While iterating, the caller may remove the entry last
 * returned (and only that one); inserting, or removing any other entry, is
 * undefined until the iteration is over (both are asserted).
 */
#ifndef MOQC_CORE_IMAP_H
#define MOQC_CORE_IMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hash.h"

typedef struct moqc_imap_slot {
  uint64_t key;
  void *val; /* NULL: empty slot */
} moqc_imap_slot;

typedef struct moqc_imap {
  moqc_imap_slot *slots;
  size_t cap; /* 0 or a power of two */
  size_t n;
} moqc_imap;

typedef moqc_probe_it moqc_imap_it;

void moqc__imap_init(moqc_imap *m);
/* Frees the table (not the values); the map is empty and reusable after. */
void moqc__imap_free(moqc_imap *m);

/* Add key -> val. val must not be NULL. MOQC_OK; MOQC_ERR_DUPLICATE if key is
 * already present (the map is unchanged); MOQC_ERR_INVAL if val is NULL;
 * MOQC_ERR_NOMEM if the table is full and cannot grow. */
int moqc__imap_insert(moqc_imap *m, uint64_t key, void *val);
/* Remove key; returns its value, or NULL if it was absent. */
void *moqc__imap_remove(moqc_imap *m, uint64_t key);

static inline size_t moqc__imap_size(const moqc_imap *m) { return m->n; }

/* The value for key, or NULL. Allocation-free; inline for the per-packet
 * stream lookup. */
static inline void *moqc__imap_find(const moqc_imap *m, uint64_t key) {
  if (!m->n) return NULL;
  size_t mask = m->cap - 1;
  for (size_t i = (size_t)moqc__mix64(key) & mask;; i = (i + 1) & mask) {
    const moqc_imap_slot *s = &m->slots[i];
    if (!s->val) return NULL;
    if (s->key == key) return s->val;
  }
}

void moqc__imap_it_init(const moqc_imap *m, moqc_imap_it *it);
/* The next entry into *key / *val (either may be NULL); false at the end. */
bool moqc__imap_next(const moqc_imap *m, moqc_imap_it *it, uint64_t *key, void **val);

#endif
