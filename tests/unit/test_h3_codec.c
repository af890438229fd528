/* Unit tests: src/webtransport/h3_codec.c and h3_sf.c — byte-exact vectors for
 * SETTINGS, stream prefixes, datagram prefixes, capsules; error-code mapping
 * round trips and boundaries; structured-field strings; the fragment
 * accumulator fed one byte at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "webtransport/h3_codec.h"

#define ASSERT_BYTES(got, n, ...)                  \
  do {                                             \
    static const uint8_t exp_[] = {__VA_ARGS__};   \
    assert_int_equal((n), sizeof exp_);            \
    assert_memory_equal((got), exp_, sizeof exp_); \
  } while (0)

/* ---- frame header ---------------------------------------------------------------- */

static void test_frame_hdr(void **state) {
  (void)state;
  uint8_t b[16];
  ssize_t n = moqc_h3_frame_hdr_encode(b, sizeof b, MOQC_H3_FRAME_HEADERS, 300);
  ASSERT_BYTES(b, n, 0x01, 0x41, 0x2c);
  moqc_h3_frame_hdr h;
  assert_int_equal(moqc_h3_frame_hdr_decode(&h, b, 3), 3);
  assert_int_equal(h.type, 1);
  assert_int_equal(h.len, 300);
  for (size_t i = 0; i < 3; i++)
    assert_int_equal(moqc_h3_frame_hdr_decode(&h, b, i), MOQC_ERR_NEED_MORE);
  assert_int_equal(moqc_h3_frame_hdr_encode(b, 2, 1, 300), MOQC_ERR_BUFSIZE);
  /* non-minimal varints are accepted */
  const uint8_t nm[] = {0x40, 0x04, 0x80, 0x00, 0x00, 0x05};
  assert_int_equal(moqc_h3_frame_hdr_decode(&h, nm, sizeof nm), 6);
  assert_int_equal(h.type, 4);
  assert_int_equal(h.len, 5);
  assert_true(moqc_h3_is_grease(0x21));
  assert_true(moqc_h3_is_grease(0x21 + 0x1f * 1000));
  assert_false(moqc_h3_is_grease(0x20));
  assert_false(moqc_h3_is_grease(0x41));
}

/* ---- SETTINGS ------------------------------------------------------------------------ */

static void test_settings_vector(void **state) {
  (void)state;
  uint8_t b[80];
  ssize_t n = moqc_h3_settings_encode_frame(b, sizeof b, 1);
  ASSERT_BYTES(b, n, 0x04, 0x20,             /* SETTINGS, 32 bytes */
               0x01, 0x00,                   /* QPACK_MAX_TABLE_CAPACITY 0 */
               0x07, 0x00,                   /* QPACK_BLOCKED_STREAMS 0 */
               0x08, 0x01,                   /* ENABLE_CONNECT_PROTOCOL 1 */
               0x33, 0x01,                   /* H3_DATAGRAM 1 */
               0x80, 0xff, 0xd2, 0x77, 0x01, /* 0xffd277 = 1 */
               0xab, 0x60, 0x37, 0x42, 0x01, /* 0x2b603742 = 1 (Chromium) */
               0xab, 0x60, 0x37, 0x43, 0x01, /* 0x2b603743 = 1 */
               0xc0, 0x00, 0x00, 0x00, 0xc6, 0x71, 0x70, 0x6a, 0x01); /* 0xc671706a = 1 */
  for (size_t cap = 0; cap < (size_t)n; cap++)
    assert_int_equal(moqc_h3_settings_encode_frame(b, cap, 1), MOQC_ERR_BUFSIZE);

  moqc_h3_settings s;
  uint64_t err = 0;
  assert_int_equal(moqc_h3_settings_decode(&s, b + 2, 32, &err), 32);
  assert_int_equal(s.enable_connect_protocol, 1);
  assert_int_equal(s.h3_datagram, 1);
  assert_int_equal(s.wt_enable_draft02, 1);
  assert_int_equal(s.wt_max_sessions, 1);
  assert_true(moqc_h3_settings_datagrams(&s));
  assert_int_equal(moqc_h3_settings_wt_sessions(&s), 1);
}

static void test_settings_chromium(void **state) {
  (void)state;
  /* What Chromium sends as a client (qpack 65536, field section 16384,
   * blocked 100, datagram, draft-04 datagram, draft-02 enable, grease). */
  const uint8_t p[] = {0x01, 0x80, 0x01, 0x00, 0x00, 0x06, 0x80, 0x00, 0x40, 0x00, 0x07, 0x40,
                       0x64, 0x33, 0x01, 0x80, 0xff, 0xd2, 0x77, 0x01, 0xab, 0x60, 0x37, 0x42,
                       0x01, 0xc0, 0x00, 0x00, 0x01, 0x08, 0xfc, 0x3b, 0xe1, /* grease id */
                       0x9b, 0x19, 0xf1, 0x7b};                              /* value */
  moqc_h3_settings s;
  uint64_t err = 0;
  assert_int_equal(moqc_h3_settings_decode(&s, p, sizeof p, &err), sizeof p);
  assert_int_equal(s.qpack_max_table_capacity, 65536);
  assert_int_equal(s.max_field_section_size, 16384);
  assert_int_equal(s.qpack_blocked_streams, 100);
  assert_int_equal(moqc_h3_settings_wt_sessions(&s), 1);
  assert_false(s.seen & MOQC_H3_SEEN_CONNECT_PROTOCOL);
}

static void test_settings_errors(void **state) {
  (void)state;
  moqc_h3_settings s;
  uint64_t err = 0;
  const uint8_t dup[] = {0x08, 0x01, 0x08, 0x01};
  assert_int_equal(moqc_h3_settings_decode(&s, dup, sizeof dup, &err), MOQC_ERR_DECODE);
  assert_int_equal(err, MOQC_H3_SETTINGS_ERROR);
  const uint8_t h2[] = {0x02, 0x00}; /* SETTINGS_ENABLE_PUSH from HTTP/2 */
  err = 0;
  assert_int_equal(moqc_h3_settings_decode(&s, h2, sizeof h2, &err), MOQC_ERR_DECODE);
  assert_int_equal(err, MOQC_H3_SETTINGS_ERROR);
  const uint8_t trunc[] = {0x08}; /* id without value */
  err = 0;
  assert_int_equal(moqc_h3_settings_decode(&s, trunc, sizeof trunc, &err), MOQC_ERR_DECODE);
  assert_int_equal(err, MOQC_H3_FRAME_ERROR);
  const uint8_t bool2[] = {0x08, 0x02};
  err = 0;
  assert_int_equal(moqc_h3_settings_decode(&s, bool2, sizeof bool2, &err), MOQC_ERR_DECODE);
  assert_int_equal(err, MOQC_H3_SETTINGS_ERROR);
  const uint8_t dupu[] = {0x21, 0x01, 0x21, 0x02}; /* duplicate unknown (grease) id */
  err = 0;
  assert_int_equal(moqc_h3_settings_decode(&s, dupu, sizeof dupu, &err), MOQC_ERR_DECODE);
  assert_int_equal(moqc_h3_settings_decode(&s, NULL, 0, &err), 0); /* empty is fine */
  assert_int_equal(moqc_h3_settings_wt_sessions(&s), 0);
  /* WebTransport needs datagrams */
  const uint8_t nodg[] = {0xab, 0x60, 0x37, 0x42, 0x01};
  assert_int_equal(moqc_h3_settings_decode(&s, nodg, sizeof nodg, &err), sizeof nodg);
  assert_int_equal(moqc_h3_settings_wt_sessions(&s), 0);
}

/* ---- stream prefixes and datagrams ------------------------------------------------------ */

static void test_prefixes(void **state) {
  (void)state;
  uint8_t b[16];
  ssize_t n = moqc_wt_prefix_encode(b, sizeof b, false, 0);
  ASSERT_BYTES(b, n, 0x40, 0x54, 0x00);
  n = moqc_wt_prefix_encode(b, sizeof b, true, 0);
  ASSERT_BYTES(b, n, 0x40, 0x41, 0x00);
  n = moqc_wt_prefix_encode(b, sizeof b, true, 4);
  ASSERT_BYTES(b, n, 0x40, 0x41, 0x04);
  n = moqc_wt_prefix_encode(b, sizeof b, false, 1000);
  ASSERT_BYTES(b, n, 0x40, 0x54, 0x43, 0xe8);

  moqc_wt_prefix pf;
  assert_int_equal(moqc_wt_prefix_decode(&pf, false, b, 4), 4);
  assert_int_equal(pf.type, 0x54);
  assert_int_equal(pf.session_id, 1000);
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(moqc_wt_prefix_decode(&pf, false, b, i), MOQC_ERR_NEED_MORE);
  /* control stream: only the type is consumed */
  const uint8_t ctl[] = {0x00, 0x04, 0x00};
  assert_int_equal(moqc_wt_prefix_decode(&pf, false, ctl, sizeof ctl), 1);
  assert_int_equal(pf.type, 0);
  /* bidi request stream: nothing consumed, the frame type is reported */
  const uint8_t req[] = {0x01, 0x10};
  assert_int_equal(moqc_wt_prefix_decode(&pf, true, req, sizeof req), 0);
  assert_int_equal(pf.type, 1);
  const uint8_t wtb[] = {0x40, 0x41, 0x04, 0xaa};
  assert_int_equal(moqc_wt_prefix_decode(&pf, true, wtb, sizeof wtb), 3);
  assert_int_equal(pf.session_id, 4);
}

static void test_datagram_prefix(void **state) {
  (void)state;
  uint8_t b[8];
  ssize_t n = moqc_wt_datagram_prefix_encode(b, sizeof b, 0);
  ASSERT_BYTES(b, n, 0x00);
  n = moqc_wt_datagram_prefix_encode(b, sizeof b, 4);
  ASSERT_BYTES(b, n, 0x01);
  n = moqc_wt_datagram_prefix_encode(b, sizeof b, 256);
  ASSERT_BYTES(b, n, 0x40, 0x40);
  uint64_t sid;
  assert_int_equal(moqc_wt_datagram_prefix_decode(&sid, b, 2), 2);
  assert_int_equal(sid, 256);
  assert_int_equal(moqc_wt_datagram_prefix_decode(&sid, b, 1), MOQC_ERR_DECODE);
  assert_int_equal(moqc_wt_datagram_prefix_decode(&sid, b, 0), MOQC_ERR_DECODE);
  const uint8_t big[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}; /* qsid*4 overflows */
  assert_int_equal(moqc_wt_datagram_prefix_decode(&sid, big, 8), MOQC_ERR_DECODE);
}

/* ---- capsules ----------------------------------------------------------------------------- */

static void test_capsule_vectors(void **state) {
  (void)state;
  uint8_t b[MOQC_WT_CLOSE_REASON_MAX + 32];
  ssize_t n = moqc_capsule_close_encode_data_frame(b, sizeof b, 420, "test");
  /* DATA frame (11 bytes) carrying the capsule of web-transport-proto's test. */
  ASSERT_BYTES(b, n, 0x00, 0x0b, 0x68, 0x43, 0x08, 0x00, 0x00, 0x01, 0xa4, 't', 'e', 's', 't');
  moqc_capsule c;
  assert_int_equal(moqc_capsule_decode(&c, b + 2, (size_t)n - 2, 2048), n - 2);
  assert_int_equal(c.type, MOQC_CAPSULE_CLOSE_WT_SESSION);
  assert_int_equal(c.code, 420);
  assert_int_equal(c.reason.len, 4);
  assert_memory_equal(c.reason.ptr, "test", 4);
  for (size_t i = 0; i < (size_t)n - 2; i++)
    assert_int_equal(moqc_capsule_decode(&c, b + 2, i, 2048), MOQC_ERR_NEED_MORE);

  n = moqc_capsule_close_encode_data_frame(b, sizeof b, 0, "");
  ASSERT_BYTES(b, n, 0x00, 0x07, 0x68, 0x43, 0x04, 0x00, 0x00, 0x00, 0x00);
  n = moqc_capsule_close_encode_data_frame(b, sizeof b, 0xffffffffu, NULL);
  ASSERT_BYTES(b, n, 0x00, 0x07, 0x68, 0x43, 0x04, 0xff, 0xff, 0xff, 0xff);
  n = moqc_capsule_drain_encode_data_frame(b, sizeof b);
  ASSERT_BYTES(b, n, 0x00, 0x05, 0x80, 0x00, 0x78, 0xae, 0x00);
}

static void test_capsule_limits(void **state) {
  (void)state;
  /* reason longer than 1024 bytes is cut, at a UTF-8 boundary */
  char reason[1100];
  memset(reason, 'a', sizeof reason);
  memcpy(reason + 1023, "\xc3\xa9", 2); /* é straddles the 1024-byte limit */
  reason[sizeof reason - 1] = '\0';
  uint8_t b[MOQC_WT_CLOSE_REASON_MAX + 32];
  ssize_t n = moqc_capsule_close_encode_data_frame(b, sizeof b, 7, reason);
  assert_true(n > 0);
  moqc_h3_frame_hdr dh;
  ssize_t h = moqc_h3_frame_hdr_decode(&dh, b, (size_t)n);
  moqc_capsule c;
  assert_int_equal(moqc_capsule_decode(&c, b + h, (size_t)(n - h), 2048), n - h);
  assert_int_equal(c.reason.len, 1023);
  /* malformed: short code, long reason, bad UTF-8, non-empty DRAIN */
  const uint8_t shortc[] = {0x68, 0x43, 0x03, 0x00, 0x00, 0x00};
  assert_int_equal(moqc_capsule_decode(&c, shortc, sizeof shortc, 2048), MOQC_ERR_DECODE);
  const uint8_t badutf[] = {0x68, 0x43, 0x05, 0x00, 0x00, 0x00, 0x00, 0xff};
  assert_int_equal(moqc_capsule_decode(&c, badutf, sizeof badutf, 2048), MOQC_ERR_DECODE);
  const uint8_t drain[] = {0x80, 0x00, 0x78, 0xae, 0x01, 0x00};
  assert_int_equal(moqc_capsule_decode(&c, drain, sizeof drain, 2048), MOQC_ERR_DECODE);
  const uint8_t big[] = {0x68, 0x43, 0x80, 0x01, 0x00, 0x00}; /* 65536 > max */
  assert_int_equal(moqc_capsule_decode(&c, big, sizeof big, 2048), MOQC_ERR_DECODE);
  uint8_t longr[4 + 1025 + 4] = {0x68, 0x43, 0x44, 0x05};
  memset(longr + 4, 'a', sizeof longr - 4);
  assert_int_equal(moqc_capsule_decode(&c, longr, sizeof longr, 4096), MOQC_ERR_DECODE);
  /* unknown capsules pass through */
  const uint8_t unk[] = {0x17, 0x02, 0xaa, 0xbb};
  assert_int_equal(moqc_capsule_decode(&c, unk, sizeof unk, 2048), 4);
  assert_int_equal(c.type, 0x17);
  assert_int_equal(c.payload.len, 2);
}

/* ---- error-code mapping --------------------------------------------------------------------- */

static void test_error_mapping(void **state) {
  (void)state;
  assert_true(moqc_wt_code_to_h3(0) == 0x52e4a40fa8dbULL);
  assert_true(moqc_wt_code_to_h3(0x1d) == 0x52e4a40fa8dbULL + 0x1d);
  /* 0x1e skips the reserved code point FIRST + 0x1e */
  assert_true(moqc_wt_code_to_h3(0x1e) == 0x52e4a40fa8dbULL + 0x1f);
  assert_true(moqc_wt_code_to_h3(0xffffffffULL) == 0x52e5ac983162ULL);
  assert_true(moqc_wt_code_to_h3(1ULL << 40) == 0x52e5ac983162ULL); /* clamped */
  uint64_t c = 12345;
  assert_false(moqc_wt_code_from_h3(0x52e4a40fa8dbULL - 1, &c));
  assert_false(moqc_wt_code_from_h3(0x52e5ac983162ULL + 1, &c));
  assert_false(moqc_wt_code_from_h3(0x52e4a40fa8dbULL + 0x1e, &c)); /* grease */
  assert_false(moqc_wt_code_from_h3(0x10c, &c));
  assert_int_equal(c, 12345);
  assert_true(moqc_wt_code_from_h3(0x52e5ac983162ULL, &c));
  assert_true(c == 0xffffffffULL);
  /* every reserved point in the range is rejected and never produced */
  for (uint64_t h = 0x52e4a40fa8dbULL; h < 0x52e4a40fa8dbULL + 2000; h++) {
    bool grease = moqc_h3_is_grease(h);
    assert_true(moqc_wt_code_from_h3(h, &c) == !grease);
    if (!grease) assert_true(moqc_wt_code_to_h3(c) == h);
  }
  /* round trips: small codes, all MoQ codes, boundaries, a spread */
  for (uint64_t v = 0; v < 5000; v++) {
    assert_true(moqc_wt_code_from_h3(moqc_wt_code_to_h3(v), &c));
    assert_true(c == v);
    assert_false(moqc_h3_is_grease(moqc_wt_code_to_h3(v)));
  }
  for (uint64_t v = 0xffffffffULL - 5000; v <= 0xffffffffULL; v++) {
    assert_true(moqc_wt_code_from_h3(moqc_wt_code_to_h3(v), &c));
    assert_true(c == v);
  }
  for (uint64_t v = 1; v < 0xffffffffULL; v = v * 3 + 7) {
    assert_true(moqc_wt_code_from_h3(moqc_wt_code_to_h3(v), &c));
    assert_true(c == v);
  }
}

/* ---- structured fields ---------------------------------------------------------------------- */

typedef struct collect {
  char items[8][64];
  int n;
} collect;

static int collect_fn(void *arg, const char *s, size_t n) {
  collect *c = arg;
  if (c->n >= 8) return MOQC_ERR_BOUNDS;
  memcpy(c->items[c->n], s, n + 1);
  c->n++;
  return 0;
}

static int parse_list(const char *v, collect *c) {
  memset(c, 0, sizeof *c);
  return moqc_sf_parse_string_list(v, strlen(v), 32, collect_fn, c);
}

static void test_sf_list(void **state) {
  (void)state;
  collect c;
  assert_int_equal(parse_list("\"moq-lite-04\", \"moq-lite-03\",\"moql\"", &c), 3);
  assert_string_equal(c.items[0], "moq-lite-04");
  assert_string_equal(c.items[2], "moql");
  assert_int_equal(parse_list("  \"a\"  ", &c), 1);
  assert_int_equal(parse_list("\"a\";q=1;x, \"b\";y=\"z\";n=-1.5;b=?1", &c), 2);
  assert_string_equal(c.items[1], "b");
  assert_int_equal(parse_list("\"esc\\\"q\\\\\"", &c), 1);
  assert_string_equal(c.items[0], "esc\"q\\");
  assert_int_equal(parse_list("", &c), 0);
  assert_int_equal(parse_list("\"a\",", &c), MOQC_ERR_DECODE);
  assert_int_equal(parse_list("\"a\" \"b\"", &c), MOQC_ERR_DECODE);
  assert_int_equal(parse_list("token", &c), MOQC_ERR_DECODE);
  assert_int_equal(parse_list("(\"a\" \"b\")", &c), MOQC_ERR_DECODE);
  assert_int_equal(parse_list("\"unterminated", &c), MOQC_ERR_DECODE);
  assert_int_equal(parse_list("\"bad\\n\"", &c), MOQC_ERR_DECODE);
  assert_int_equal(parse_list("\"tab\there\"", &c), MOQC_ERR_DECODE);
  assert_int_equal(parse_list("\"a\";", &c), MOQC_ERR_DECODE);
  assert_int_equal(moqc_sf_parse_string_list("\"a\",\"b\",\"c\"", 11, 2, NULL, NULL),
                   MOQC_ERR_DECODE);
  assert_int_equal(parse_list("\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"", &c),
                   MOQC_ERR_BOUNDS); /* callback error propagates */
}

static void test_sf_item(void **state) {
  (void)state;
  char out[32];
  assert_int_equal(moqc_sf_parse_string_item("\"moq-lite-04\"", 13, out, sizeof out), 11);
  assert_string_equal(out, "moq-lite-04");
  assert_int_equal(moqc_sf_parse_string_item("\"x\";a=1", 7, out, sizeof out), 1);
  assert_int_equal(moqc_sf_parse_string_item("\"x\", \"y\"", 8, out, sizeof out), MOQC_ERR_DECODE);
  assert_int_equal(moqc_sf_parse_string_item("moq", 3, out, sizeof out), MOQC_ERR_DECODE);
  assert_int_equal(moqc_sf_parse_string_item("\"abcdef\"", 8, out, 4), MOQC_ERR_BUFSIZE);
  char w[32];
  assert_int_equal(moqc_sf_write_string(w, sizeof w, "moq-lite-04", 11), 13);
  assert_string_equal(w, "\"moq-lite-04\"");
  assert_int_equal(moqc_sf_write_string(w, sizeof w, "a\"b\\", 4), 8);
  assert_string_equal(w, "\"a\\\"b\\\\\"");
  assert_int_equal(moqc_sf_write_string(w, sizeof w, "\n", 1), MOQC_ERR_INVAL);
  assert_int_equal(moqc_sf_write_string(w, 6, "abcd", 4), MOQC_ERR_BUFSIZE); /* NUL too */
  assert_int_equal(moqc_sf_write_string(w, 7, "abcd", 4), 6);
}

/* ---- accumulator ------------------------------------------------------------------------------- */

static void test_acc_byte_by_byte(void **state) {
  (void)state;
  /* uni WT prefix (session 1000) then payload, one byte per call */
  const uint8_t in[] = {0x40, 0x54, 0x43, 0xe8, 'h', 'i'};
  moqc_h3_acc a = {0};
  moqc_wt_prefix pf;
  size_t used = 0, rl = 0;
  uint8_t replay[MOQC_H3_HDR_MAX];
  for (size_t i = 0; i < 3; i++)
    assert_int_equal(
        moqc_h3_acc_feed(&a, moqc_wt_dec_prefix_uni, &pf, in + i, 1, &used, replay, &rl),
        MOQC_ERR_NEED_MORE);
  assert_int_equal(moqc_h3_acc_feed(&a, moqc_wt_dec_prefix_uni, &pf, in + 3, 3, &used, replay, &rl),
                   4);
  assert_int_equal(used, 1);
  assert_int_equal(rl, 0);
  assert_int_equal(pf.session_id, 1000);
  assert_int_equal(a.len, 0);

  /* bidi request stream in pieces: the held bytes come back as replay */
  const uint8_t rq[] = {0x40, 0x01, 0x05};
  a.len = 0;
  assert_int_equal(moqc_h3_acc_feed(&a, moqc_wt_dec_prefix_bidi, &pf, rq, 1, &used, replay, &rl),
                   MOQC_ERR_NEED_MORE);
  assert_int_equal(
      moqc_h3_acc_feed(&a, moqc_wt_dec_prefix_bidi, &pf, rq + 1, 2, &used, replay, &rl), 0);
  assert_int_equal(pf.type, 1);
  assert_int_equal(rl, 1);
  assert_int_equal(replay[0], 0x40);
  assert_int_equal(used, 0);

  /* 16 bytes that never form a header */
  uint8_t junk[MOQC_H3_HDR_MAX];
  memset(junk, 0xff, sizeof junk);
  moqc_h3_frame_hdr h;
  a.len = 0;
  ssize_t r = 0;
  size_t i = 0;
  for (; i < sizeof junk; i++) {
    r = moqc_h3_acc_feed(&a, moqc_h3_dec_frame_hdr, &h, junk + i, 1, &used, replay, &rl);
    if (r != MOQC_ERR_NEED_MORE) break;
  }
  /* two 8-byte varints: decodes at exactly 16 */
  assert_int_equal(r, 16);
  assert_int_equal(i, 15);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_frame_hdr),         cmocka_unit_test(test_settings_vector),
      cmocka_unit_test(test_settings_chromium), cmocka_unit_test(test_settings_errors),
      cmocka_unit_test(test_prefixes),          cmocka_unit_test(test_datagram_prefix),
      cmocka_unit_test(test_capsule_vectors),   cmocka_unit_test(test_capsule_limits),
      cmocka_unit_test(test_error_mapping),     cmocka_unit_test(test_sf_list),
      cmocka_unit_test(test_sf_item),           cmocka_unit_test(test_acc_byte_by_byte),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
