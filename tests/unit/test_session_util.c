/* Unit tests of the session's hot-path header encoders (src/session/util.c):
 * byte-identical to the lite wire codecs for every version, and 0 (defer to
 * the codec) exactly where the codec reports an error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/codec.h"
#include "core/lite_wire.h"
#include "session/util.h"

static const uint64_t k_vals[] = {0,          1,          62,         63,          64,
                                  16382,      16383,      16384,      16385,       1073741822,
                                  1073741823, 1073741824, 1ull << 40, MOQC_VARINT_MAX - 1,
                                  MOQC_VARINT_MAX, MOQC_VARINT_MAX + 1, UINT64_MAX};
#define NV (sizeof k_vals / sizeof k_vals[0])

static const uint64_t k_sizes[] = {0, 1, 63, 64, 160, 16383, 16384, MOQC_LITE_FRAME_MAX,
                                   MOQC_LITE_FRAME_MAX + 1ull, UINT64_MAX};
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
          uint8_t want[32], got[SESS_FRAME_HDR_MAX + 8];
          memset(got, 0xee, sizeof got);
          struct moqc_lite_frame fr = {.timestamp = ts, .size = size};
          ssize_t w = moqc_lite_frame_encode(want, sizeof want, versions[v], prev, &fr);
          size_t g = sess_frame_hdr(got, versions[v], prev, ts, size);
          if (w < 0) {
            if (g != 0) fail_msg("v%d prev %llu ts %llu size %llu: codec %zd, fast %zu", versions[v],
                                 (unsigned long long)prev, (unsigned long long)ts,
                                 (unsigned long long)size, w, g);
            continue;
          }
          /* The fast path may only decline what the codec rejects. */
          assert_int_equal(g, (size_t)w);
          assert_memory_equal(got, want, g);
          assert_true(g <= SESS_FRAME_HDR_MAX);
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
        uint8_t want[48], got[SESS_GROUP_HDR_MAX + 8];
        memset(got, 0xee, sizeof got);
        ssize_t t = moqc_lite_stream_type_encode(want, sizeof want, MOQC_LITE_UNI_GROUP);
        assert_int_equal(t, 1);
        struct moqc_lite_group gh = {.subscribe = sub, .sequence = seq};
        ssize_t w = moqc_lite_group_encode(want + t, sizeof want - (size_t)t, v, &gh);
        size_t g = sess_group_hdr(got, sub, seq);
        if (w < 0) {
          assert_int_equal(g, 0);
          continue;
        }
        assert_int_equal(g, (size_t)(t + w));
        assert_memory_equal(got, want, g);
        assert_true(g <= SESS_GROUP_HDR_MAX);
        assert_int_equal(got[g], 0xee);
        /* And it decodes back. */
        struct moqc_lite_group back;
        assert_int_equal(moqc_lite_group_decode(&back, v, got + 1, g - 1), (ssize_t)(g - 1));
        assert_int_equal(back.subscribe, sub);
        assert_int_equal(back.sequence, seq);
      }
    }
}

/* Decode: agrees with the codec on every accepted header, and declines (0)
 * whatever the codec does not accept in full (truncated, invalid). */
static void check_decode(int v, uint64_t prev, const uint8_t *p, size_t len) {
  struct moqc_lite_frame fr;
  ssize_t w = moqc_lite_frame_decode(&fr, v, prev, p, len);
  uint64_t ts = 12345, size = 6789;
  size_t g = sess_frame_hdr_decode(p, len, v, prev, &ts, &size);
  if (w < 0) {
    if (g != 0) fail_msg("v%d prev %llu len %zu: codec %zd, fast %zu", v, (unsigned long long)prev,
                         len, w, g);
    assert_int_equal(ts, 12345); /* untouched */
    assert_int_equal(size, 6789);
    return;
  }
  if (g == 0) fail_msg("v%d prev %llu len %zu: codec took %zd, fast declined", v,
                       (unsigned long long)prev, len, w);
  assert_int_equal(g, (size_t)w);
  assert_int_equal(size, fr.size);
  assert_int_equal(ts, fr.timestamp);
}

static void t_frame_hdr_decode_matches_codec(void **state) {
  (void)state;
  static const int versions[] = {MOQC_LITE_03, MOQC_LITE_04, MOQC_LITE_05};
  for (size_t v = 0; v < 3; v++)
    for (size_t a = 0; a < NV; a++)
      for (size_t b = 0; b < NV; b++)
        for (size_t c = 0; c < NS; c++) {
          uint8_t buf[32];
          struct moqc_lite_frame fr = {.timestamp = k_vals[b], .size = k_sizes[c]};
          ssize_t w = moqc_lite_frame_encode(buf, sizeof buf, versions[v], k_vals[a], &fr);
          if (w < 0) continue;
          /* Every prefix, then trailing payload bytes. */
          buf[w] = 0xab;
          buf[w + 1] = 0xcd;
          for (size_t len = 0; len <= (size_t)w + 2; len++)
            check_decode(versions[v], k_vals[a], len ? buf : NULL, len);
          /* Decoded against another previous timestamp. */
          check_decode(versions[v], k_vals[(a + 3) % NV], buf, (size_t)w);
        }
  /* Arbitrary bytes: non-minimal varints, sizes over the limit, negative
   * timestamps. Deterministic generator. */
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < 200000; i++) {
    uint8_t buf[18];
    for (size_t k = 0; k < sizeof buf; k++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      buf[k] = (uint8_t)x;
    }
    size_t len = (size_t)(x >> 40) % (sizeof buf + 1);
    uint64_t prev = k_vals[(x >> 20) % NV];
    check_decode(versions[i % 3], prev, len ? buf : NULL, len);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_frame_hdr_matches_codec),
      cmocka_unit_test(t_group_hdr_matches_codec),
      cmocka_unit_test(t_frame_hdr_decode_matches_codec),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
