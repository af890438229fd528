/* moqc session — the core containers under the session's names, a growable
 * byte builder for message encoding. */
#ifndef MOQC_SESSION_UTIL_H
#define MOQC_SESSION_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/imap.h"
#include "core/list.h"
#include "core/smap.h"

/* ---- lists and maps: the core containers (core/list.h, core/imap.h, core/smap.h) ---- */

/* ---- token bucket ---------------------------------------------------------- */

/* Bytes a bucket filling at rate B/s earns in dt_ns < 1 s: floor(rate * dt_ns
 * / 1e9), exact for every rate. Below 2^34 B/s the product fits 64 bits
 * (dt_ns < 2^30), so the 128-bit division (a libgcc call; this runs once per
 * received chunk) is only paid above that. */
static inline uint64_t moqc__rate_credit(uint64_t rate, uint64_t dt_ns) {
  if (rate < (1ull << 34) && dt_ns < (1ull << 30)) return rate * dt_ns / 1000000000u;
  return (uint64_t)(((unsigned __int128)rate * dt_ns) / 1000000000u);
}

/* ---- byte builder -------------------------------------------------------- */

typedef struct wbuf {
  uint8_t *p;
  size_t len, cap;
  int err; /* first error (NOMEM, encode error); later appends are no-ops */
  uint8_t small[256];
} wbuf;

void moqc__wbuf_init(wbuf *w);
void moqc__wbuf_free(wbuf *w);
/* Room for n more bytes at p + len; returns the pointer or NULL (err set). */
uint8_t *moqc__wbuf_reserve(wbuf *w, size_t n);
void moqc__wbuf_append(wbuf *w, const void *p, size_t n);
void moqc__wbuf_varint(wbuf *w, uint64_t v);

/* Append one encoded message: fn(NULL,0,...) sizes it, then it is written. */
#define WBUF_ENC(w, fn, ver, msg)                      \
  do {                                                 \
    if ((w)->err) break;                               \
    ssize_t n_ = fn(NULL, 0, (ver), (msg));            \
    if (n_ < 0) {                                      \
      (w)->err = (int)n_;                              \
      break;                                           \
    }                                                  \
    uint8_t *p_ = moqc__wbuf_reserve((w), (size_t)n_); \
    if (!p_) break;                                    \
    n_ = fn(p_, (size_t)n_, (ver), (msg));             \
    if (n_ < 0) {                                      \
      (w)->err = (int)n_;                              \
      break;                                           \
    }                                                  \
    (w)->len += (size_t)n_;                            \
  } while (0)

#endif
