/* Shared invariant checks for the fuzz_ietf_* targets. The first input byte
 * picks the draft (14 + b % 6); the rest is wire data. For whatever decodes:
 * the decoder returned only consumed / NEED_MORE / DECODE (/ TOO_LARGE for
 * objects), re-encoding succeeds, is no longer than what was consumed
 * (encoders are minimal), decodes back to equal fields, a buffer one byte
 * short is BUFSIZE, and every strict prefix of a stream item is NEED_MORE.
 * Violations abort(). */
#ifndef MOQC_TEST_FUZZ_IETF_COMMON_H
#define MOQC_TEST_FUZZ_IETF_COMMON_H

#include <stdint.h>
#include <stdlib.h>

#include "fuzz_ietf_eq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t fz_buf[MOQC_IETF_MSG_MAX + 64];

static inline void fz_check_at(bool ok, int line) {
  if (!ok) {
    (void)line;
    abort();
  }
}
#define fz_check(ok) fz_check_at((ok), __LINE__)

static inline int fz_version(const uint8_t *data, size_t size) {
  return size ? MOQC_IETF_FIRST + data[0] % 6 : MOQC_IETF_FIRST;
}

/* Re-encoding is minimal, so no longer than the input, except that drafts
 * 18+ decode the 7-byte leading-ones form and re-encode it in 8 bytes (as
 * moq-dev does): at most one extra byte per 7 input bytes. */
static inline bool fz_not_longer(int v, ssize_t e, ssize_t n) {
  return v >= MOQC_IETF_18 ? e <= n + n / 7 + 1 : e <= n;
}

/* Prefix lengths worth checking for an item of n bytes. */
static inline size_t fz_next_prefix(size_t k, size_t n) {
  if (n <= 256 || k < 16 || k + 16 >= n) return k + 1;
  size_t step = n / 64;
  return k + step < n - 16 ? k + step : n - 16;
}

/* Decode every framed control message in p; check the ones `family` accepts. */
static inline void fz_ctrl(int v, const uint8_t *p, size_t len,
                           bool (*family)(int v, uint64_t type)) {
  static moqc__ietf_msg a, b;
  while (len) {
    uint64_t type;
    ssize_t n = moqc__ietf_ctrl_peek(v, p, len, &type, NULL, NULL);
    fz_check(n > 0 || n == MOQC_ERR_NEED_MORE ||
             n == MOQC_ERR_DECODE); /* DECODE: 0xFC/0xFD on 17 */
    if (n < 0) return;
    ssize_t d = moqc__ietf_ctrl_decode(&a, v, p, len);
    fz_check(d == n || d == MOQC_ERR_DECODE);
    if (d > 0 && family(v, type)) {
      ssize_t e = moqc__ietf_ctrl_encode(fz_buf, sizeof fz_buf, v, &a);
      fz_check(e > 0 && fz_not_longer(v, e, d));
      fz_check(moqc__ietf_ctrl_encode(fz_buf, (size_t)e - 1, v, &a) == MOQC_ERR_BUFSIZE);
      fz_check(moqc__ietf_ctrl_encode(fz_buf, sizeof fz_buf, v, &a) ==
               e); /* the short try overwrote it */
      fz_check(moqc__ietf_ctrl_decode(&b, v, fz_buf, (size_t)e) == e);
      fz_check(ietf_msg_eq(&a, &b));
      for (size_t k = 0; k < (size_t)e; k = fz_next_prefix(k, (size_t)e))
        fz_check(moqc__ietf_ctrl_decode(&b, v, fz_buf, k) == MOQC_ERR_NEED_MORE);
    }
    p += n;
    len -= (size_t)n;
  }
}

#endif
