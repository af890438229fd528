/* Unit tests of the single-pass group / frame header writers the session calls
 * per subscriber (moqc__lite_group_hdr / moqc__lite_frame_hdr, core/lite_wire.c):
 * byte-identical to the lite wire codecs for every version, the same error
 * wherever the codec reports one, nothing written past the header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/codec.h"
#include "core/lite_wire.h"
#include "session/util.h"

static const uint64_t k_vals[] = {0,
                                  1,
                                  62,
                                  63,
                                  64,
                                  16382,
                                  16383,
                                  16384,
                                  16385,
                                  1073741822,
                                  1073741823,
                                  1073741824,
                                  1ull << 40,
                                  MOQC_VARINT_MAX - 1,
                                  MOQC_VARINT_MAX,
                                  MOQC_VARINT_MAX + 1,
                                  UINT64_MAX};
#define NV (sizeof k_vals / sizeof k_vals[0])

static const uint64_t k_sizes[] = {
    0, 1, 63, 64, 160, 16383, 16384, MOQC_LITE_FRAME_MAX, MOQC_LITE_FRAME_MAX + 1ull, UINT64_MAX};
#define NS (sizeof k_sizes / sizeof k_sizes[0])

static void t_frame_hdr_matches_codec(void **state) {
  (void)state;
  static const int versions[] = {MOQC_LITE_03, MOQC_LITE_04, MOQC_LITE_05};
  size_t fast_n = 0;
  for (size_t v = 0; v < 3; v++)
    for (size_t a = 0; a < NV; a++)
      for (size_t b = 0; b < NV; b++)
        for (size_t c = 0; c < NS; c++) {
          uint64_t prev = k_vals[a], ts = k_vals[b], size = k_sizes[c];
          uint8_t want[32], got[MOQC_LITE_FRAME_HDR_MAX + 8];
          memset(got, 0xee, sizeof got);
          struct moqc_lite_frame fr = {.timestamp = ts, .size = size};
          ssize_t w = moqc_lite_frame_encode(want, sizeof want, versions[v], prev, &fr);
          ssize_t gs = moqc__lite_frame_hdr(got, versions[v], prev, ts, size);
          if (w < 0) {
            if (gs != w)
              fail_msg("v%d prev %llu ts %llu size %llu: codec %zd, hdr %zd", versions[v],
                       (unsigned long long)prev, (unsigned long long)ts, (unsigned long long)size,
                       w, gs);
            continue;
          }
          size_t g = (size_t)gs;
          assert_int_equal(g, (size_t)w);
          assert_memory_equal(got, want, g);
          assert_true(g <= MOQC_LITE_FRAME_HDR_MAX);
          assert_int_equal(got[g], 0xee); /* nothing written past the end */
          fast_n++;
        }
  assert_true(fast_n > 100);
}

static void t_group_hdr_matches_codec(void **state) {
  (void)state;
  for (size_t a = 0; a < NV; a++)
    for (size_t b = 0; b < NV; b++) {
      uint64_t sub = k_vals[a], seq = k_vals[b];
      for (int v = MOQC_LITE_03; v <= MOQC_LITE_05; v++) {
        if (!moqc_lite_version_valid(v)) continue;
        uint8_t want[48], got[MOQC_LITE_GROUP_HDR_MAX + 8];
        memset(got, 0xee, sizeof got);
        ssize_t t = moqc_lite_stream_type_encode(want, sizeof want, MOQC_LITE_UNI_GROUP);
        assert_int_equal(t, 1);
        struct moqc_lite_group gh = {.subscribe = sub, .sequence = seq};
        ssize_t w = moqc_lite_group_encode(want + t, sizeof want - (size_t)t, v, &gh);
        ssize_t gs = moqc__lite_group_hdr(got, sub, seq);
        if (w < 0) {
          assert_int_equal(gs, w);
          continue;
        }
        size_t g = (size_t)gs;
        assert_int_equal(g, (size_t)(t + w));
        assert_memory_equal(got, want, g);
        assert_true(g <= MOQC_LITE_GROUP_HDR_MAX);
        assert_int_equal(got[g], 0xee);
        /* And it decodes back. */
        struct moqc_lite_group back;
        assert_int_equal(moqc_lite_group_decode(&back, v, got + 1, g - 1), (ssize_t)(g - 1));
        assert_int_equal(back.subscribe, sub);
        assert_int_equal(back.sequence, seq);
      }
    }
}

/* The ingress token bucket's credit (moqc__rate_credit) equals the 128-bit
 * reference on both sides of its 64-bit fast path's bound, including rates
 * whose product with the elapsed time does not fit 64 bits. */
static void t_rate_credit(void **state) {
  (void)state;
  static const uint64_t rates[] = {
      0,          1,          10000,      1000000000,     (1ull << 34) - 1,
      1ull << 34, 1ull << 35, 1ull << 40, UINT64_MAX / 2, UINT64_MAX};
  static const uint64_t dts[] = {0, 1, 999, 1000000, 1ull << 24, 500000000, 999999999};
  for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++)
    for (size_t j = 0; j < sizeof dts / sizeof dts[0]; j++) {
      uint64_t want = (uint64_t)(((unsigned __int128)rates[i] * dts[j]) / 1000000000u);
      assert_int_equal(moqc__rate_credit(rates[i], dts[j]), want);
    }
  assert_int_equal(moqc__rate_credit(10000, 500000000), 5000);
  assert_int_equal(moqc__rate_credit(1ull << 40, 1ull << 24), 18446744073ull); /* 2^64 / 1e9 */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_frame_hdr_matches_codec),
      cmocka_unit_test(t_group_hdr_matches_codec),
      cmocka_unit_test(t_rate_credit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
