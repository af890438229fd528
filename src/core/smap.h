/* moqc core — the string-keyed map: byte-string key -> non-NULL pointer
 * (internal).
 *
 * One table for every "by name" index of the library (origin entries and the
 * session's remote broadcasts by path, announced suffixes, QUIC connection
 * ids). Same layout rules as imap.h: open addressing, linear probing,
 * backward-shift deletion, doubling past half full (a failed grow may still
 * fill to three quarters), MOQC_ERR_NOMEM instead of aborting.
 *
 * Keys are bytes (any length, may contain NUL; a C string is passed with its
 * strlen). The map keeps its own copy of each key: up to MOQC_SMAP_INLINE
 * bytes inside the slot (a connection id lookup touches the slot only),
 * longer keys in one allocation per insert. Lookups never allocate. Each slot
 * keeps the 64-bit hash, so a probe compares bytes only on a hash match.
 *
 * The seed keys the hash: use a random one where peers choose the keys
 * (connection ids), 0 elsewhere. A zeroed moqc_smap is a valid empty map with
 * seed 0. Values are borrowed. Not thread-safe.
 *
 * Iteration: as imap.h (the entry last returned may be removed, nothing
 * else may change; a key pointer returned by moqc__smap_next is valid until
 * that entry is removed or the map changes).
 */
#ifndef MOQC_CORE_SMAP_H
#define MOQC_CORE_SMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hash.h"

#define MOQC_SMAP_INLINE 24u

typedef struct moqc_smap_slot {
  uint64_t hash;
  void *val; /* NULL: empty slot */
  size_t len;
  union {
    uint8_t in[MOQC_SMAP_INLINE]; /* len <= MOQC_SMAP_INLINE */
    uint8_t *out;                 /* otherwise: owned copy */
  } key;
} moqc_smap_slot;

typedef struct moqc_smap {
  moqc_smap_slot *slots;
  size_t cap; /* 0 or a power of two */
  size_t n;
  uint64_t seed;
} moqc_smap;

typedef moqc_probe_it moqc_smap_it;

void moqc__smap_init(moqc_smap *m, uint64_t seed);
/* Frees the table and the key copies (not the values); the map is empty and
 * reusable after, with the same seed. */
void moqc__smap_free(moqc_smap *m);

/* Add key[0..len) -> val (the key is copied). MOQC_OK; MOQC_ERR_DUPLICATE if
 * the key is present (map unchanged); MOQC_ERR_INVAL if val is NULL or key is
 * NULL with len > 0; MOQC_ERR_NOMEM (map unchanged). */
int moqc__smap_insert(moqc_smap *m, const void *key, size_t len, void *val);
/* The value for the key, or NULL. Allocation-free. */
void *moqc__smap_find(const moqc_smap *m, const void *key, size_t len);
/* Remove the key (its copy is freed); returns its value, or NULL if absent. */
void *moqc__smap_remove(moqc_smap *m, const void *key, size_t len);

static inline size_t moqc__smap_size(const moqc_smap *m) { return m->n; }

void moqc__smap_it_init(const moqc_smap *m, moqc_smap_it *it);
/* The next entry (key, len, val may each be NULL); false at the end. */
bool moqc__smap_next(const moqc_smap *m, moqc_smap_it *it, const uint8_t **key, size_t *len,
                     void **val);

#endif
