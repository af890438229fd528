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

/* Linear probing, backward-shift deletion: after the hole at i, may the entry
 * at j whose home slot is home move into the hole? Only if home is not in the
 * cyclic range (i, j]: otherwise a lookup from home would stop at the hole. */
static inline bool moqc__probe_may_shift(size_t i, size_t j, size_t home) {
  bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
  return !stays;
}

#endif
