/* Shared invariant checks for the fuzz_lite_* targets. For each decoder and
 * each version: if the input decodes, re-encoding must succeed, be no longer
 * than what was consumed (encoders are minimal and decoders only drop
 * information), decode back to equal fields, and every strict prefix of the
 * re-encoding must be MOQC_ERR_NEED_MORE. Any other decoder result than
 * consumed / NEED_MORE / DECODE is a bug. Violations abort(). */
#ifndef MOQC_TEST_FUZZ_LITE_COMMON_H
#define MOQC_TEST_FUZZ_LITE_COMMON_H

#include <stdint.h>
#include <stdlib.h>

#include "fuzz_lite_eq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t fz_buf[MOQC_LITE_MSG_MAX + 16];

static inline void fz_check(bool ok) {
  if (!ok) abort();
}

/* Prefix lengths worth checking for a message of n bytes: all of them for
 * small messages, a spread (plus both ends) for big ones. */
static inline size_t fz_next_prefix(size_t k, size_t n) {
  if (n <= 256 || k < 16 || k + 16 >= n) return k + 1;
  size_t step = n / 64;
  return k + step < n - 16 ? k + step : n - 16;
}

static inline void fz_versions(int *v) {
  v[0] = MOQC_LITE_03;
  v[1] = MOQC_LITE_04;
  v[2] = MOQC_LITE_05;
}

/* Round-trip one length-prefixed message type through every version. */
#define FZ_ROUNDTRIP(msg, data, size)                                                          \
  do {                                                                                         \
    int vs_[3];                                                                                \
    fz_versions(vs_);                                                                          \
    for (int i_ = 0; i_ < 3; i_++) {                                                           \
      struct moqc_lite_##msg a_, b_;                                                           \
      ssize_t n_ = moqc_lite_##msg##_decode(&a_, vs_[i_], (data), (size));                     \
      if (n_ == MOQC_ERR_NEED_MORE || n_ == MOQC_ERR_DECODE || n_ == MOQC_ERR_INVAL) continue; \
      fz_check(n_ > 0 && (size_t)n_ <= (size));                                                \
      ssize_t e_ = moqc_lite_##msg##_encode(NULL, 0, vs_[i_], &a_);                            \
      fz_check(e_ > 0 && e_ <= n_ && (size_t)e_ <= sizeof fz_buf);                             \
      fz_check(moqc_lite_##msg##_encode(fz_buf, (size_t)e_ - 1, vs_[i_], &a_) ==               \
               MOQC_ERR_BUFSIZE);                                                              \
      fz_check(moqc_lite_##msg##_encode(fz_buf, sizeof fz_buf, vs_[i_], &a_) == e_);           \
      fz_check(moqc_lite_##msg##_decode(&b_, vs_[i_], fz_buf, (size_t)e_) == e_);              \
      fz_check(lite_##msg##_eq(&a_, &b_));                                                     \
      for (size_t k_ = 0; k_ < (size_t)e_; k_ = fz_next_prefix(k_, (size_t)e_)) {              \
        fz_check(moqc_lite_##msg##_decode(&b_, vs_[i_], fz_buf, k_) == MOQC_ERR_NEED_MORE);    \
      }                                                                                        \
    }                                                                                          \
  } while (0)

#endif
