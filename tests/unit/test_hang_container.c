/* Unit tests: src/hang/legacy.c, cmaf.c, track.c (containers and the catalog
 * track through the model API). Varint vectors: RFC 9000 A.1 (the legacy
 * header is a QUIC varint, as in moq-dev's hang). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "moqc/error.h"
#include "moqc/hang.h"
#include "moqc/model.h"

static void test_legacy_header(void **state) {
  (void)state;
  static const struct {
    uint64_t v;
    const char *hex;
  } k[] = {{37, "25"},
           {15293, "7bbd"},
           {494878333, "9d7f3e7d"},
           {151288809941952652ull, "c2197c5eff14e88c"}};
  for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
    uint8_t out[MOQC_HANG_LEGACY_HEADER_MAX];
    size_t n = moqc_hang_legacy_header(out, k[i].v);
    char hex[17] = "";
    for (size_t j = 0; j < n; j++) snprintf(hex + 2 * j, 3, "%02x", out[j]);
    assert_string_equal(hex, k[i].hex);
    uint64_t ts = 0;
    size_t off = 0;
    assert_int_equal(moqc_hang_legacy_decode(out, n, &ts, &off), MOQC_OK);
    assert_int_equal(ts, k[i].v);
    assert_int_equal(off, n);
  }
  uint8_t out[8];
  assert_int_equal(moqc_hang_legacy_header(out, (uint64_t)1 << 62), 0);
}

static void test_legacy_decode(void **state) {
  (void)state;
  /* 0x4064 = 100 us (two-byte varint), then "abc". */
  const uint8_t f[] = {0x40, 0x64, 'a', 'b', 'c'};
  uint64_t ts;
  size_t off;
  assert_int_equal(moqc_hang_legacy_decode(f, sizeof f, &ts, &off), MOQC_OK);
  assert_int_equal(ts, 100);
  assert_int_equal(off, 2);
  assert_int_equal(moqc_hang_legacy_decode(f, 1, &ts, &off), MOQC_ERR_DECODE); /* truncated */
  assert_int_equal(moqc_hang_legacy_decode(f, 0, &ts, &off), MOQC_ERR_DECODE);
  /* A marker: timestamp only. */
  assert_int_equal(moqc_hang_legacy_decode(f, 2, &ts, &off), MOQC_OK);
  assert_int_equal(off, 2);
}

static moqc_env *env_new(void) {
  moqc_env_config cfg = {1000, 0};
  moqc_env *env = moqc_env_new(&cfg);
  assert_non_null(env);
  return env;
}

/* legacy_write: header + payload in one frame, transport timestamp rescaled. */
static void test_legacy_write(void **state) {
  (void)state;
  moqc_env *env = env_new();
  moqc_track_info info = moqc_hang_track_info(false, MOQC_HANG_VIDEO);
  assert_int_equal(info.priority, MOQC_HANG_PRIORITY_VIDEO);
  assert_int_equal(info.timescale, MOQC_HANG_TIMESCALE);
  assert_int_equal(moqc_hang_track_info(false, MOQC_HANG_AUDIO).priority, 80);
  assert_int_equal(moqc_hang_track_info(true, MOQC_HANG_AUDIO).priority, 100);
  moqc_track_producer *t = moqc_track_producer_new(env, "video0", &info);
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  moqc_track_consumer *tc = moqc_track_producer_consume(t, &sub);
  moqc_group_producer *g = moqc_track_producer_append_group(t);
  moqc_slice pl;
  moqc_buf *b = moqc_buf_copy("frame", 5);
  assert_int_equal(moqc_slice_make(&pl, b, 0, 5), MOQC_OK);
  moqc_buf_unref(b);
  assert_int_equal(moqc_hang_legacy_write(g, 2000000, MOQC_HANG_TIMESCALE, &pl), MOQC_OK);
  assert_int_equal(moqc_hang_legacy_write(g, 3000000, 1000, &pl), MOQC_OK); /* ms track */
  moqc_slice_release(&pl);
  moqc_group_producer_finish(g);
  moqc_group_producer_del(g);
  moqc_group_consumer *gc = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &gc), MOQC_OK);
  moqc_frame f;
  assert_int_equal(moqc_group_consumer_read_frame(gc, &f), MOQC_OK);
  assert_int_equal(f.info.timestamp, 2000000);
  const uint8_t *p = moqc_slice_ptr(&f.payload);
  uint64_t ts;
  size_t off;
  assert_int_equal(moqc_hang_legacy_decode(p, f.payload.len, &ts, &off), MOQC_OK);
  assert_int_equal(ts, 2000000);
  assert_int_equal(f.payload.len - off, 5);
  assert_memory_equal(p + off, "frame", 5);
  moqc_slice_release(&f.payload);
  assert_int_equal(moqc_group_consumer_read_frame(gc, &f), MOQC_OK);
  assert_int_equal(f.info.timestamp, 3000);
  moqc_slice_release(&f.payload);
  moqc_group_consumer_del(gc);
  moqc_track_consumer_del(tc);
  moqc_track_producer_del(t);
  moqc_env_del(env);
}

static void test_cmaf_roundtrip(void **state) {
  (void)state;
  uint8_t *out = NULL;
  size_t len = 0;
  assert_int_equal(moqc_hang_cmaf_encode(1, 7, 0x123456789ull, 3000, true, "abcd", 4, &out, &len),
                   MOQC_OK);
  assert_int_equal(len, 100 + 8 + 4);
  assert_memory_equal(out + 4, "moof", 4);
  assert_memory_equal(out + 104, "mdat", 4);
  moqc_hang_cmaf_frame f;
  assert_int_equal(moqc_hang_cmaf_decode(out, len, &f), MOQC_OK);
  assert_int_equal(f.track_id, 1);
  assert_int_equal(f.sequence, 7);
  assert_int_equal(f.base_decode_time, 0x123456789ull);
  assert_int_equal(f.samples, 1);
  assert_int_equal(f.duration, 3000);
  assert_true(f.keyframe);
  assert_int_equal(f.data_len, 4);
  assert_memory_equal(out + f.data_off, "abcd", 4);
  /* Every truncation is malformed, never an overread (ASan). */
  for (size_t n = 0; n < len; n++)
    assert_int_equal(moqc_hang_cmaf_decode(out, n, &f), MOQC_ERR_DECODE);
  moqc_hang_free(out);
  assert_int_equal(moqc_hang_cmaf_encode(2, 8, 5, 0, false, NULL, 0, &out, &len), MOQC_OK);
  assert_int_equal(moqc_hang_cmaf_decode(out, len, &f), MOQC_OK);
  assert_false(f.keyframe);
  assert_int_equal(f.data_len, 0);
  moqc_hang_free(out);
}

/* A fragment as ffmpeg writes it (default-base-is-moof, tfhd defaults, tfdt
 * v0, trun without per-sample flags: first-sample-flags), two samples. */
static void test_cmaf_ffmpeg_style(void **state) {
  (void)state;
  static const uint8_t k[] = {
      0,    0,    0,    100,  'm',  'o', 'o', 'f', /* moof (100) */
      0,    0,    0,    16,   'm',  'f', 'h', 'd', 0,    0,    0,   0,    0,   0,
      0,    3,                                     /* mfhd seq 3 */
      0,    0,    0,    76,   't',  'r', 'a', 'f', /* traf */
      0,    0,    0,    28,   't',  'f', 'h', 'd', 0,    2,    0,   0x38, 0,   0,
      0,    2, /* tfhd: moof base, dur/size/flags */
      0,    0,    0x0b, 0xb8, 0,    0,   0,   3,   0x01, 0x01, 0,   0, /* dur 3000, size 3, non-sync */
      0,    0,    0,    16,   't',  'f', 'd', 't', 0,    0,    0,   0,    0,   0,
      0x75, 0x30, /* tfdt v0 30000 */
      0,    0,    0,    24,   't',  'r', 'u', 'n', 0,    0,    0,   5,    0,   0,
      0,    2,                                   /* trun: offset, first flags */
      0,    0,    0,    108,  0x02, 0,   0,   0, /* offset 108, key */
      0,    0,    0,    14,   'm',  'd', 'a', 't', 'a',  'b',  'c', 'd',  'e', 'f'};
  moqc_hang_cmaf_frame f;
  assert_int_equal(moqc_hang_cmaf_decode(k, sizeof k, &f), MOQC_OK);
  assert_int_equal(f.track_id, 2);
  assert_int_equal(f.sequence, 3);
  assert_int_equal(f.base_decode_time, 30000);
  assert_int_equal(f.samples, 2);
  assert_int_equal(f.duration, 3000);
  assert_true(f.keyframe);
  assert_int_equal(f.data_off, 108);
  assert_int_equal(f.data_len, 6);
  /* Sample data past the mdat: malformed. */
  uint8_t bad[sizeof k];
  memcpy(bad, k, sizeof k);
  bad[95] = 110; /* trun data offset 110: 6 bytes from there overrun the mdat */
  assert_int_equal(moqc_hang_cmaf_decode(bad, sizeof bad, &f), MOQC_ERR_DECODE);
  /* mdat before moof: malformed. */
  assert_int_equal(moqc_hang_cmaf_decode(k + 100, sizeof k - 100, &f), MOQC_ERR_DECODE);
}

static void test_cmaf_init_timescale(void **state) {
  (void)state;
  static const uint8_t k[] = {
      0, 0,  0,   16,  'f', 't',  'y',  'p', 'i', 's', 'o', '6', 0,   0,   0,   0,   0,
      0, 0,  84,  'm', 'o', 'o',  'v',  0,   0,   0,   76,  't', 'r', 'a', 'k', 0,   0,
      0, 28, 't', 'k', 'h', 'd',  0,    0,   0,   3,   0,   0,   0,   0,   0,   0,   0,
      0, 0,  0,   0,   5,   0,    0,    0,   0,   0,   0,   0,   40,  'm', 'd', 'i', 'a',
      0, 0,  0,   32,  'm', 'd',  'h',  'd', 0,   0,   0,   0,   0,   0,   0,   0,   0,
      0, 0,  0,   0,   1,   0x5f, 0x90, 0,   0,   0,   0,   0,   0,   0,   0};
  uint32_t ts = 0;
  assert_int_equal(moqc_hang_cmaf_init_timescale(k, sizeof k, 0, &ts), MOQC_OK);
  assert_int_equal(ts, 90000);
  assert_int_equal(moqc_hang_cmaf_init_timescale(k, sizeof k, 5, &ts), MOQC_OK);
  assert_int_equal(moqc_hang_cmaf_init_timescale(k, sizeof k, 6, &ts), MOQC_ERR_NOT_FOUND);
  for (size_t n = 0; n < sizeof k - 8; n++)
    assert_int_not_equal(moqc_hang_cmaf_init_timescale(k, n, 0, &ts), MOQC_OK);
}

static void count_wake(void *arg) { (*(int *)arg)++; }

/* The catalog through the model: publish two updates, the consumer gets the newest. */
static void test_catalog_track(void **state) {
  (void)state;
  moqc_env *env = env_new();
  moqc_track_info info = moqc_hang_track_info(true, MOQC_HANG_VIDEO);
  moqc_track_producer *t = moqc_track_producer_new(env, MOQC_HANG_CATALOG_TRACK, &info);
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  moqc_hang_catalog_consumer *cc =
      moqc_hang_catalog_consumer_new(moqc_track_producer_consume(t, &sub));
  assert_non_null(cc);
  int wakes = 0;
  moqc_hang_catalog_consumer_set_waker(cc, count_wake, &wakes);
  moqc_hang_catalog got;
  moqc_hang_catalog_init(&got);
  assert_int_equal(moqc_hang_catalog_consumer_next(cc, &got, NULL, 0), MOQC_ERR_AGAIN);

  moqc_hang_catalog cat;
  moqc_hang_catalog_init(&cat);
  moqc_hang_rendition *v = moqc_hang_catalog_add(&cat, MOQC_HANG_VIDEO, "video0", "vp8");
  v->coded_width = 320;
  assert_int_equal(moqc_hang_catalog_publish(t, &cat), MOQC_OK);
  v->coded_width = 640;
  assert_int_equal(moqc_hang_catalog_publish(t, &cat), MOQC_OK);
  moqc_env_run(env);
  assert_true(wakes > 0);
  assert_int_equal(moqc_hang_catalog_consumer_next(cc, &got, NULL, 0), MOQC_OK);
  assert_int_equal(got.n_video, 1);
  assert_int_equal(got.video[0].coded_width, 640); /* the newest */
  assert_int_equal(moqc_hang_catalog_consumer_next(cc, &got, NULL, 0), MOQC_ERR_AGAIN);

  /* Not JSON on the catalog track: a clear error, and the next update recovers. */
  moqc_group_producer *g = moqc_track_producer_append_group(t);
  assert_int_equal(moqc_group_producer_write_frame_copy(g, "{oops", 5, 0), MOQC_OK);
  moqc_group_producer_finish(g);
  moqc_group_producer_del(g);
  char why[128];
  assert_int_equal(moqc_hang_catalog_consumer_next(cc, &got, why, sizeof why), MOQC_ERR_DECODE);
  assert_non_null(strstr(why, "not JSON"));
  assert_int_equal(moqc_hang_catalog_publish(t, &cat), MOQC_OK);
  assert_int_equal(moqc_hang_catalog_consumer_next(cc, &got, NULL, 0), MOQC_OK);
  moqc_track_producer_finish(t);
  assert_int_equal(moqc_hang_catalog_consumer_next(cc, &got, NULL, 0), MOQC_ERR_CLOSED);

  moqc_hang_catalog_clear(&got);
  moqc_hang_catalog_clear(&cat);
  moqc_hang_catalog_consumer_del(cc);
  moqc_track_producer_del(t);
  moqc_env_del(env);
}

/* catalog.json.z: vectors made by @moq/flate 0.1.3 (pako, level 6; `new Encoder().frame(utf8)`,
 * what @moq/json's snapshot producer writes as a group's first frame with compression on). */
static const char k_flate_json[] =
    "{\"video\":{\"renditions\":{\"video0\":{\"codec\":\"avc1.64001f\",\"codedWidth\":1280,"
    "\"codedHeight\":720,\"container\":{\"kind\":\"legacy\"}}}},\"audio\":{\"renditions\":{}}}";
static const char k_flate_json_hex[] =
    "64cdc10ac2301004d07f997391a4882dfb05fe81e7905ddb45d9408d0529fbef92e0cddbcc3bcc1cd895a580"
    "0e6c62ac558bbd5aeb1c5aca85258390f61c4f977308f18ea12bdf94eb0a8ae31c7e72155dd60a9ac62e5693"
    "9a6c6de6a1c6203c6549f90377f701e9cdfaffedee5f00";
static const uint8_t k_flate_a64[] = {0x4a, 0x4c, 0xa4, 0x0c, 0x00, 0x00}; /* 64 x 'a' */

static size_t unhex(uint8_t *out, const char *h) {
  size_t n = strlen(h) / 2;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    sscanf(h + 2 * i, "%2x", &v);
    out[i] = (uint8_t)v;
  }
  return n;
}

static void test_deflate_vectors(void **state) {
  (void)state;
  uint8_t want[256];
  size_t want_n = unhex(want, k_flate_json_hex);
  uint8_t *out = NULL;
  size_t n = 0;
  /* Our slices inflate back (zlib 1.2.13 picks other Huffman codes than pako's zlib port,
   * so the bytes differ: equally valid; the interop test has @moq/flate inflate ours). */
  assert_int_equal(moqc_hang_deflate_frame(k_flate_json, strlen(k_flate_json), &out, &n), MOQC_OK);
  assert_true(n > 0 && n < strlen(k_flate_json));
  assert_true((out[0] & 1) == 0); /* not a final block: the group's stream goes on */
  uint8_t *back = NULL;
  size_t bn = 0;
  assert_int_equal(moqc_hang_inflate_frame(out, n, 1024, &back, &bn), MOQC_OK);
  assert_int_equal(bn, strlen(k_flate_json));
  assert_memory_equal(back, k_flate_json, bn);
  moqc_hang_free(back);
  moqc_hang_free(out);
  char a64[65];
  memset(a64, 'a', 64);
  a64[64] = 0;
  assert_int_equal(moqc_hang_deflate_frame(a64, 64, &out, &n), MOQC_OK);
  assert_int_equal(n, sizeof k_flate_a64); /* this one is the same in both */
  assert_memory_equal(out, k_flate_a64, n);
  moqc_hang_free(out);
  assert_int_equal(moqc_hang_deflate_frame("", 0, &out, &n), MOQC_OK);
  assert_int_equal(moqc_hang_inflate_frame(out, n, 16, &back, &bn), MOQC_OK);
  assert_int_equal(bn, 0);
  moqc_hang_free(back);
  moqc_hang_free(out);

  /* And the JS vectors inflate to their input. */
  assert_int_equal(moqc_hang_inflate_frame(want, want_n, 1024, &out, &n), MOQC_OK);
  assert_int_equal(n, strlen(k_flate_json));
  assert_memory_equal(out, k_flate_json, n);
  moqc_hang_free(out);
  assert_int_equal(moqc_hang_inflate_frame(k_flate_a64, sizeof k_flate_a64, 64, &out, &n), MOQC_OK);
  assert_int_equal(n, 64);
  assert_memory_equal(out, a64, 64);
  moqc_hang_free(out);
  /* Over the cap, and a slice that is not DEFLATE (a stored block with a bad length check;
   * a final block: a slice never ends the stream). */
  assert_int_equal(moqc_hang_inflate_frame(k_flate_a64, sizeof k_flate_a64, 63, &out, &n),
                   MOQC_ERR_TOO_LARGE);
  assert_null(out);
  static const uint8_t bad_len[] = {0x00, 0x05, 0x00, 0x05, 0x00};
  assert_int_equal(moqc_hang_inflate_frame(bad_len, sizeof bad_len, 64, &out, &n), MOQC_ERR_DECODE);
  static const uint8_t final_block[] = {0x03, 0x00}; /* a final empty fixed block */
  assert_int_equal(moqc_hang_inflate_frame(final_block, sizeof final_block, 64, &out, &n),
                   MOQC_ERR_DECODE);
  static const uint8_t bad_type[] = {0x07, 0x00}; /* block type 3: reserved */
  assert_int_equal(moqc_hang_inflate_frame(bad_type, sizeof bad_type, 64, &out, &n),
                   MOQC_ERR_DECODE);
  assert_int_equal(moqc_hang_inflate_frame(NULL, 1, 64, &out, &n), MOQC_ERR_INVAL);
}

/* catalog.json.z through the model: publish_z, the _z consumer inflates and decodes; a
 * frame that is not DEFLATE is a clear error; the plain consumer cannot read it. */
static void test_catalog_track_z(void **state) {
  (void)state;
  moqc_env *env = env_new();
  moqc_track_info info = moqc_hang_track_info(true, MOQC_HANG_VIDEO);
  moqc_track_producer *t = moqc_track_producer_new(env, MOQC_HANG_CATALOG_TRACK_Z, &info);
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  moqc_hang_catalog_consumer *cz =
      moqc_hang_catalog_consumer_new_z(moqc_track_producer_consume(t, &sub));
  moqc_hang_catalog_consumer *cp =
      moqc_hang_catalog_consumer_new(moqc_track_producer_consume(t, &sub));
  assert_non_null(cz);
  assert_non_null(cp);
  moqc_hang_catalog cat, got;
  moqc_hang_catalog_init(&cat);
  moqc_hang_catalog_init(&got);
  moqc_hang_rendition *a = moqc_hang_catalog_add(&cat, MOQC_HANG_AUDIO, "audio0", "opus");
  a->sample_rate = 48000, a->channels = 2;
  assert_int_equal(moqc_hang_catalog_publish_z(t, &cat), MOQC_OK);
  moqc_env_run(env);
  assert_int_equal(moqc_hang_catalog_consumer_next(cz, &got, NULL, 0), MOQC_OK);
  assert_int_equal(got.n_audio, 1);
  assert_string_equal(got.audio[0].codec, "opus");
  assert_int_equal(got.audio[0].sample_rate, 48000);
  char why[128];
  assert_int_equal(moqc_hang_catalog_consumer_next(cp, &got, why, sizeof why), MOQC_ERR_DECODE);

  moqc_group_producer *g = moqc_track_producer_append_group(t);
  assert_int_equal(moqc_group_producer_write_frame_copy(g, "{\"video\":{}}", 12, 0), MOQC_OK);
  moqc_group_producer_finish(g);
  moqc_group_producer_del(g);
  assert_int_equal(moqc_hang_catalog_consumer_next(cz, &got, why, sizeof why), MOQC_ERR_DECODE);
  assert_non_null(strstr(why, "catalog.json.z"));
  assert_int_equal(got.n_audio, 0);
  assert_int_equal(moqc_hang_catalog_publish_z(t, &cat), MOQC_OK);
  assert_int_equal(moqc_hang_catalog_consumer_next(cz, &got, NULL, 0), MOQC_OK);
  assert_int_equal(got.n_audio, 1);

  moqc_hang_catalog_clear(&got);
  moqc_hang_catalog_clear(&cat);
  moqc_hang_catalog_consumer_del(cz);
  moqc_hang_catalog_consumer_del(cp);
  moqc_track_producer_del(t);
  moqc_env_del(env);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_legacy_header),     cmocka_unit_test(test_legacy_decode),
      cmocka_unit_test(test_legacy_write),      cmocka_unit_test(test_cmaf_roundtrip),
      cmocka_unit_test(test_cmaf_ffmpeg_style), cmocka_unit_test(test_cmaf_init_timescale),
      cmocka_unit_test(test_catalog_track),     cmocka_unit_test(test_deflate_vectors),
      cmocka_unit_test(test_catalog_track_z),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
