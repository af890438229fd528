/* Unit tests: src/webtransport/h3_qpack.c — QPACK (static table only) header
 * blocks, byte-exact CONNECT request / response HEADERS frames, request
 * validation (RFC 9114 §4.2/§4.3, RFC 9220), bounds, and a hand-built
 * (non-Huffman, literal-name) request as a browser might encode it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "webtransport/h3_codec.h"
#include "webtransport/h3_qpack.h"

/* ---- a tiny independent QPACK field-line writer (no Huffman) ------------------- */

typedef struct blk {
  uint8_t b[100000];
  size_t n;
} blk;

static void qint(blk *k, uint8_t first, unsigned prefix, uint64_t v) {
  uint64_t max = (1u << prefix) - 1;
  if (v < max) {
    k->b[k->n++] = (uint8_t)(first | v);
    return;
  }
  k->b[k->n++] = (uint8_t)(first | max);
  v -= max;
  while (v >= 128) {
    k->b[k->n++] = (uint8_t)(0x80 | (v & 0x7f));
    v >>= 7;
  }
  k->b[k->n++] = (uint8_t)v;
}

static void raw(blk *k, const char *s) {
  size_t n = strlen(s);
  memcpy(k->b + k->n, s, n);
  k->n += n;
}

static void blk_begin(blk *k) {
  k->n = 0;
  k->b[k->n++] = 0x00; /* required insert count 0 */
  k->b[k->n++] = 0x00; /* base 0 */
}
static void indexed(blk *k, unsigned idx) { qint(k, 0xc0, 6, idx); }
static void name_ref(blk *k, unsigned idx, const char *v) {
  qint(k, 0x50, 4, idx);
  qint(k, 0x00, 7, strlen(v));
  raw(k, v);
}
static void literal(blk *k, const char *name, const char *v) {
  qint(k, 0x20, 3, strlen(name));
  raw(k, name);
  qint(k, 0x00, 7, strlen(v));
  raw(k, v);
}

/* A well-formed WebTransport CONNECT, encoded without Huffman. */
static void chromium_like(blk *k, const char *avail) {
  blk_begin(k);
  indexed(k, 15); /* :method CONNECT */
  literal(k, ":protocol", "webtransport");
  indexed(k, 23);                   /* :scheme https */
  name_ref(k, 0, "localhost:4443"); /* :authority */
  name_ref(k, 1, "/anon?jwt=abc");  /* :path */
  literal(k, "sec-webtransport-http3-draft02", "1");
  literal(k, "origin", "https://localhost:8080");
  if (avail) literal(k, "wt-available-protocols", avail);
  literal(k, "user-agent", "test");
}

static moqc_h3_req_verdict parse_blk(const blk *k, moqc_h3_connect_req *req, uint16_t *status) {
  moqc_h3_fields f;
  uint64_t err = 0;
  int rc = moqc_h3_qpack_decode(k->b, k->n, &f, &err);
  assert_int_equal(rc, MOQC_OK);
  return moqc_h3_connect_req_parse(req, &f, status);
}

static void test_decode_browser_request(void **state) {
  (void)state;
  blk k;
  chromium_like(&k, "\"moq-lite-04\", \"moq-lite-03\", \"moql\"");
  moqc_h3_connect_req req;
  uint16_t st = 0;
  assert_int_equal(parse_blk(&k, &req, &st), MOQC_H3_REQ_OK);
  assert_string_equal(req.authority, "localhost:4443");
  assert_string_equal(req.path, "/anon?jwt=abc");
  assert_string_equal(req.origin, "https://localhost:8080");
  assert_true(req.draft02);
  assert_int_equal(req.n_protocols, 3);
  assert_string_equal(req.protocols[0], "moq-lite-04");
  assert_string_equal(req.protocols[2], "moql");
  assert_string_equal(moqc_h3_fields_get(&req.fields, "user-agent")->value, "test");
  moqc_h3_connect_req_free(&req);

  /* no / malformed / over-long protocol lists */
  chromium_like(&k, NULL);
  assert_int_equal(parse_blk(&k, &req, &st), MOQC_H3_REQ_OK);
  assert_int_equal(req.n_protocols, 0);
  assert_null(moqc_h3_fields_get(&req.fields, "wt-available-protocols"));
  moqc_h3_connect_req_free(&req);
  chromium_like(&k, "moq-lite-04, moql");
  assert_int_equal(parse_blk(&k, &req, &st), MOQC_H3_REQ_OK);
  assert_int_equal(req.n_protocols, 0);
  moqc_h3_connect_req_free(&req);
  chromium_like(&k, "\"a-protocol-name-that-is-way-too-long-to-use\", \"ok\"");
  assert_int_equal(parse_blk(&k, &req, &st), MOQC_H3_REQ_OK);
  assert_int_equal(req.n_protocols, 1);
  assert_string_equal(req.protocols[0], "ok");
  moqc_h3_connect_req_free(&req);
}

static void expect_verdict(void (*build)(blk *), moqc_h3_req_verdict v, uint16_t status) {
  blk k;
  build(&k);
  moqc_h3_connect_req req;
  uint16_t st = 0;
  assert_int_equal(parse_blk(&k, &req, &st), v);
  if (v == MOQC_H3_REQ_NOT_WT) assert_int_equal(st, status);
  moqc_h3_connect_req_free(&req);
}

static void b_classic(blk *k) { /* CONNECT without :protocol */
  blk_begin(k);
  indexed(k, 15);
  name_ref(k, 0, "example.com:443");
}
static void b_get(blk *k) {
  blk_begin(k);
  indexed(k, 17); /* :method GET */
  indexed(k, 23);
  name_ref(k, 0, "example.com");
  name_ref(k, 1, "/index.html");
}
static void b_upper(blk *k) {
  chromium_like(k, NULL);
  literal(k, "X-Upper", "1");
}
static void b_pseudo_late(blk *k) {
  chromium_like(k, NULL);
  literal(k, ":extra", "1");
}
static void b_dup_pseudo(blk *k) {
  blk_begin(k);
  indexed(k, 15);
  indexed(k, 15);
  literal(k, ":protocol", "webtransport");
  indexed(k, 23);
  name_ref(k, 0, "h");
  name_ref(k, 1, "/");
}
static void b_unknown_pseudo(blk *k) {
  blk_begin(k);
  indexed(k, 15);
  literal(k, ":protocol", "webtransport");
  literal(k, ":bogus", "x");
  indexed(k, 23);
  name_ref(k, 0, "h");
  name_ref(k, 1, "/");
}
static void b_http(blk *k) {
  blk_begin(k);
  indexed(k, 15);
  literal(k, ":protocol", "webtransport");
  indexed(k, 22); /* :scheme http */
  name_ref(k, 0, "h");
  name_ref(k, 1, "/");
}
static void b_other_proto(blk *k) {
  blk_begin(k);
  indexed(k, 15);
  literal(k, ":protocol", "websocket");
  indexed(k, 23);
  name_ref(k, 0, "h");
  name_ref(k, 1, "/");
}
static void b_no_authority(blk *k) {
  blk_begin(k);
  indexed(k, 15);
  literal(k, ":protocol", "webtransport");
  indexed(k, 23);
  name_ref(k, 1, "/");
}
static void b_bad_path(blk *k) {
  blk_begin(k);
  indexed(k, 15);
  literal(k, ":protocol", "webtransport");
  indexed(k, 23);
  name_ref(k, 0, "h");
  name_ref(k, 1, "nopath");
}
static void b_crlf(blk *k) {
  chromium_like(k, NULL);
  literal(k, "x-evil", "a\r\nb");
}
static void b_no_method(blk *k) {
  blk_begin(k);
  indexed(k, 23);
  name_ref(k, 1, "/");
}
static void b_status_in_request(blk *k) {
  blk_begin(k);
  indexed(k, 25); /* :status 200 */
  indexed(k, 15);
}

static void test_request_validation(void **state) {
  (void)state;
  expect_verdict(b_classic, MOQC_H3_REQ_NOT_WT, 501);
  expect_verdict(b_get, MOQC_H3_REQ_NOT_WT, 404);
  expect_verdict(b_http, MOQC_H3_REQ_NOT_WT, 501);
  expect_verdict(b_other_proto, MOQC_H3_REQ_NOT_WT, 501);
  expect_verdict(b_upper, MOQC_H3_REQ_MALFORMED, 0);
  expect_verdict(b_pseudo_late, MOQC_H3_REQ_MALFORMED, 0);
  expect_verdict(b_dup_pseudo, MOQC_H3_REQ_MALFORMED, 0);
  expect_verdict(b_unknown_pseudo, MOQC_H3_REQ_MALFORMED, 0);
  expect_verdict(b_no_authority, MOQC_H3_REQ_MALFORMED, 0);
  expect_verdict(b_bad_path, MOQC_H3_REQ_MALFORMED, 0);
  expect_verdict(b_crlf, MOQC_H3_REQ_MALFORMED, 0);
  expect_verdict(b_no_method, MOQC_H3_REQ_MALFORMED, 0);
  expect_verdict(b_status_in_request, MOQC_H3_REQ_MALFORMED, 0);
}

static void test_decode_errors(void **state) {
  (void)state;
  moqc_h3_fields f;
  uint64_t err = 0;
  /* references the dynamic table (required insert count 1) */
  const uint8_t dyn[] = {0x02, 0x00, 0x80};
  assert_int_equal(moqc_h3_qpack_decode(dyn, sizeof dyn, &f, &err), MOQC_ERR_DECODE);
  assert_int_equal(err, MOQC_H3_QPACK_DECOMPRESSION_FAILED);
  moqc_h3_fields_free(&f);
  /* truncated literal */
  blk k;
  chromium_like(&k, NULL);
  for (size_t cut = 1; cut < k.n; cut += 7) {
    int rc = moqc_h3_qpack_decode(k.b, cut, &f, &err);
    assert_true(rc == MOQC_ERR_DECODE || rc == MOQC_OK); /* a cut on a field boundary is valid */
    moqc_h3_fields_free(&f);
  }
  assert_int_equal(moqc_h3_qpack_decode(k.b, 1, &f, &err), MOQC_ERR_DECODE);
  moqc_h3_fields_free(&f);
  /* static index out of range */
  const uint8_t badidx[] = {0x00, 0x00, 0xff, 0x7f};
  assert_int_equal(moqc_h3_qpack_decode(badidx, sizeof badidx, &f, &err), MOQC_ERR_DECODE);
  moqc_h3_fields_free(&f);
  /* too many fields */
  blk_begin(&k);
  for (int i = 0; i < MOQC_H3_MAX_FIELDS + 1; i++) literal(&k, "a", "b");
  assert_int_equal(moqc_h3_qpack_decode(k.b, k.n, &f, &err), MOQC_ERR_TOO_LARGE);
  moqc_h3_fields_free(&f);
  /* too many bytes (decoded) */
  blk_begin(&k);
  char big[16001];
  memset(big, 'v', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  for (int i = 0; i < 4; i++) literal(&k, "x-big", big);
  assert_int_equal(moqc_h3_qpack_decode(k.b, k.n, &f, &err), MOQC_OK);
  moqc_h3_fields_free(&f);
  literal(&k, "x-big", big);
  assert_int_equal(moqc_h3_qpack_decode(k.b, k.n, &f, &err), MOQC_ERR_TOO_LARGE);
  moqc_h3_fields_free(&f);
  /* empty block (just the prefix) decodes to no fields */
  const uint8_t empty[] = {0x00, 0x00};
  assert_int_equal(moqc_h3_qpack_decode(empty, 2, &f, &err), MOQC_OK);
  assert_int_equal(f.n, 0);
  moqc_h3_fields_free(&f);
}

/* ---- byte-exact HEADERS frames ------------------------------------------------------ */

static const uint8_t k_resp200[] = {
    0x01, 0x35, /* HEADERS, 53 bytes */
    0x00, 0x00, /* RIC 0, base 0 */
    0xd9,       /* :status 200 (static 25) */
    0x2f, 0x0d, 0x41, 0x48, 0xb7, 0x82, 0xc6, 0x9b, 0x07, 0x52, 0x2b, 0x3d, 0x89, 0x5a, 0x74, 0xa6,
    0xb6, 0x56, 0x92, 0xc1, 0xca, 0x9f, 0x85, 0x92, 0xc1, 0xca, 0x90, 0x0b,
    /* sec-webtransport-http3-draft: draft02 (Huffman name and value) */
    0x2f, 0x01, 0xf0, 0x95, 0xab, 0xb0, 0xe9, 0x39, 0x0f, 0x47, 0x8b, 0xfe, 0x69, 0x3f, 0x65, 0xa8,
    0x32, 0x4a, 0xb0, 0x1a, 0xfe, 0x7f, /* wt-protocol: "moq-lite-04" */
};

static const uint8_t k_resp403[] = {
    0x01, 0x20, 0x00, 0x00, 0xff, 0x05, /* :status 403 (static 68) */
    0x2f, 0x0d, 0x41, 0x48, 0xb7, 0x82, 0xc6, 0x9b, 0x07, 0x52, 0x2b, 0x3d, 0x89, 0x5a,
    0x74, 0xa6, 0xb6, 0x56, 0x92, 0xc1, 0xca, 0x9f, 0x85, 0x92, 0xc1, 0xca, 0x90, 0x0b,
};

static const uint8_t k_req[] = {
    0x01, 0x40, 0x71, 0x00, 0x00, 0xcf, /* :method CONNECT (static 15) */
    0xd7,                               /* :scheme https (static 23) */
    0x50, 0x8a, 0xa0, 0xe4, 0x1d, 0x13, 0x9d, 0x09, 0xb8, 0xd3, 0x4d, 0x33, /* :authority */
    0x51, 0x89, 0x60, 0x75, 0x1e, 0xaf, 0xf3, 0xa7, 0x84, 0xc1, 0xe7,       /* :path /anon?jwt=x */
    0x2f, 0x00, 0xb9, 0x5d, 0x87, 0x49, 0xc8, 0x7a, 0x3f, 0x89, 0xf0, 0x58, 0xd3, 0x60,
    0xea, 0x45, 0x67, 0xb1, 0x3f, /* :protocol webtransport */
    0x2f, 0x0e, 0x41, 0x48, 0xb7, 0x82, 0xc6, 0x9b, 0x07, 0x52, 0x2b, 0x3d, 0x89, 0x5a,
    0x74, 0xa6, 0xb6, 0x56, 0x92, 0xc1, 0xca, 0x90, 0x0b, 0x01, 0x31, /* sec-...-draft02: 1 */
    0x2f, 0x09, 0xf0, 0x95, 0x87, 0xdc, 0x66, 0xa0, 0x71, 0xd0, 0x55, 0xab, 0xb0, 0xe9,
    0x39, 0x0f, 0x42, 0x3f, 0x97, 0xfe, 0x69, 0x3f, 0x65, 0xa8, 0x32, 0x4a, 0xb0, 0x1a,
    0xfe, 0x7e, 0x94, 0xfe, 0x69, 0x3f, 0x65, 0xa8, 0x32, 0x4a, 0xb0, 0x19, 0xfe, 0x7f,
    /* wt-available-protocols: "moq-lite-04", "moq-lite-03" */
};

static void test_headers_vectors(void **state) {
  (void)state;
  uint8_t b[512];
  ssize_t n = moqc_h3_connect_resp_encode(b, sizeof b, 200, "moq-lite-04");
  assert_int_equal(n, sizeof k_resp200);
  assert_memory_equal(b, k_resp200, sizeof k_resp200);
  n = moqc_h3_connect_resp_encode(b, sizeof b, 403, NULL);
  assert_int_equal(n, sizeof k_resp403);
  assert_memory_equal(b, k_resp403, sizeof k_resp403);
  const char *pr[] = {"moq-lite-04", "moq-lite-03"};
  n = moqc_h3_connect_req_encode(b, sizeof b, "localhost:4443", "/anon?jwt=x", NULL, pr, 2);
  assert_int_equal(n, sizeof k_req);
  assert_memory_equal(b, k_req, sizeof k_req);
  for (size_t cap = 0; cap < sizeof k_req; cap += 5)
    assert_int_equal(
        moqc_h3_connect_req_encode(b, cap, "localhost:4443", "/anon?jwt=x", NULL, pr, 2),
        MOQC_ERR_BUFSIZE);
  assert_int_equal(moqc_h3_connect_resp_encode(b, sizeof b, 99, NULL), MOQC_ERR_INVAL);
  const char *bad[] = {"bad\x01"};
  assert_int_equal(moqc_h3_connect_req_encode(b, sizeof b, "h", "/", NULL, bad, 1), MOQC_ERR_INVAL);
}

static void test_vectors_decode(void **state) {
  (void)state;
  /* The request vector decodes back into exactly what we asked for. */
  moqc_h3_frame_hdr h;
  ssize_t hl = moqc_h3_frame_hdr_decode(&h, k_req, sizeof k_req);
  assert_int_equal(h.type, MOQC_H3_FRAME_HEADERS);
  assert_int_equal((size_t)hl + h.len, sizeof k_req);
  moqc_h3_fields f;
  uint64_t err;
  assert_int_equal(moqc_h3_qpack_decode(k_req + hl, (size_t)h.len, &f, &err), MOQC_OK);
  moqc_h3_connect_req req;
  uint16_t st;
  assert_int_equal(moqc_h3_connect_req_parse(&req, &f, &st), MOQC_H3_REQ_OK);
  assert_string_equal(req.authority, "localhost:4443");
  assert_string_equal(req.path, "/anon?jwt=x");
  assert_null(req.origin);
  assert_true(req.draft02);
  assert_int_equal(req.n_protocols, 2);
  assert_string_equal(req.protocols[1], "moq-lite-03");
  moqc_h3_connect_req_free(&req);

  hl = moqc_h3_frame_hdr_decode(&h, k_resp200, sizeof k_resp200);
  assert_int_equal(moqc_h3_qpack_decode(k_resp200 + hl, (size_t)h.len, &f, &err), MOQC_OK);
  char proto[32];
  assert_int_equal(moqc_h3_connect_resp_parse(&f, &st, proto), MOQC_OK);
  assert_int_equal(st, 200);
  assert_string_equal(proto, "moq-lite-04");
  moqc_h3_fields_free(&f);

  hl = moqc_h3_frame_hdr_decode(&h, k_resp403, sizeof k_resp403);
  assert_int_equal(moqc_h3_qpack_decode(k_resp403 + hl, (size_t)h.len, &f, &err), MOQC_OK);
  assert_int_equal(moqc_h3_connect_resp_parse(&f, &st, proto), MOQC_OK);
  assert_int_equal(st, 403);
  assert_string_equal(proto, "");
  moqc_h3_fields_free(&f);
}

static void test_response_parse(void **state) {
  (void)state;
  blk k;
  moqc_h3_fields f;
  uint64_t err;
  uint16_t st = 0;
  char proto[32];
  /* literal :status with a wt-protocol that has parameters */
  blk_begin(&k);
  qint(&k, 0x50, 4, 24); /* name ref :status (static 24 = ":status 103") */
  qint(&k, 0x00, 7, 3);
  raw(&k, "299");
  literal(&k, "wt-protocol", "\"moql\";v=1");
  assert_int_equal(moqc_h3_qpack_decode(k.b, k.n, &f, &err), MOQC_OK);
  assert_int_equal(moqc_h3_connect_resp_parse(&f, &st, proto), MOQC_OK);
  assert_int_equal(st, 299);
  assert_string_equal(proto, "moql");
  moqc_h3_fields_free(&f);

  const char *bad_status[] = {"20", "2000", "abc", "099", "600"};
  for (size_t i = 0; i < sizeof bad_status / sizeof *bad_status; i++) {
    blk_begin(&k);
    qint(&k, 0x50, 4, 24);
    qint(&k, 0x00, 7, strlen(bad_status[i]));
    raw(&k, bad_status[i]);
    assert_int_equal(moqc_h3_qpack_decode(k.b, k.n, &f, &err), MOQC_OK);
    assert_int_equal(moqc_h3_connect_resp_parse(&f, &st, proto), MOQC_ERR_DECODE);
    moqc_h3_fields_free(&f);
  }
  /* request pseudo-header in a response; missing :status */
  blk_begin(&k);
  indexed(&k, 25);
  indexed(&k, 15);
  assert_int_equal(moqc_h3_qpack_decode(k.b, k.n, &f, &err), MOQC_OK);
  assert_int_equal(moqc_h3_connect_resp_parse(&f, &st, proto), MOQC_ERR_DECODE);
  moqc_h3_fields_free(&f);
  blk_begin(&k);
  literal(&k, "wt-protocol", "\"x\"");
  assert_int_equal(moqc_h3_qpack_decode(k.b, k.n, &f, &err), MOQC_OK);
  assert_int_equal(moqc_h3_connect_resp_parse(&f, &st, proto), MOQC_ERR_DECODE);
  moqc_h3_fields_free(&f);
  /* an unparsable wt-protocol is treated as absent */
  blk_begin(&k);
  indexed(&k, 25);
  literal(&k, "wt-protocol", "moql");
  assert_int_equal(moqc_h3_qpack_decode(k.b, k.n, &f, &err), MOQC_OK);
  assert_int_equal(moqc_h3_connect_resp_parse(&f, &st, proto), MOQC_OK);
  assert_string_equal(proto, "");
  moqc_h3_fields_free(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_decode_browser_request), cmocka_unit_test(test_request_validation),
      cmocka_unit_test(test_decode_errors),          cmocka_unit_test(test_headers_vectors),
      cmocka_unit_test(test_vectors_decode),         cmocka_unit_test(test_response_parse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
