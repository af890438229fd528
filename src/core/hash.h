/* moqc core — hash helpers shared by the maps (imap.c, smap.c; internal). */
#ifndef MOQC_CORE_HASH_H
#define MOQC_CORE_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* splitmix64's finaliser: every input bit reaches every output bit, so the low
 * bits (the table index) of consecutive stream ids are well spread. */
static inline uint64_t moqc__mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

/* FNV-1a over the bytes, seeded, then mixed (seed: a random key where peers
 * choose the keys, e.g. connection ids; 0 elsewhere). */
static inline uint64_t moqc__hash_bytes(uint64_t seed, const void *p, size_t n) {
  const uint8_t *b = (const uint8_t *)p;
  uint64_t h = seed ^ (0xcbf29ce484222325ULL + n);
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
  return moqc__mix64(h ^ seed);
}

/* ---- what imap and smap share: removal and iteration over a linear-probing
 * table (implemented once, in hash.c; lookups and inserts stay specialised
 * and inline-friendly in each map). A slot is slot_size bytes with a void *
 * value at val_off (NULL: empty); home() gives a slot's home index. */

typedef struct moqc_probe_ops {
  size_t slot_size, val_off;
  size_t (*home)(const void *slot, size_t mask);
} moqc_probe_ops;

typedef struct moqc_probe_it {
  size_t pos, left; /* next slot is pos - 1 (cyclic); slots still to visit */
  size_t n, cap;    /* the table as the last step left it (checks misuse) */
} moqc_probe_it;

/* Slot i has just been emptied (value set to NULL): shift back the entries
 * of the cluster that follows it, so every lookup still finds its entry. */
void moqc__probe_backshift(void *slots, size_t cap, size_t i, const moqc_probe_ops *ops);

/* Iteration that tolerates removal of the entry last returned: it runs
 * downwards from an empty slot, and a removal only shifts entries of the
 * current cluster from above the current slot (already visited) into the
 * current slot or above, so nothing is skipped or seen twice. */
void moqc__probe_it_init(moqc_probe_it *it, const void *slots, size_t cap, size_t n,
                         const moqc_probe_ops *ops);
/* The index of the next occupied slot into *idx; false at the end. */
bool moqc__probe_next(moqc_probe_it *it, const void *slots, size_t cap, size_t n,
                      const moqc_probe_ops *ops, size_t *idx);

#endif
