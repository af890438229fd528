/* IETF moq-transport wire primitives: versions and ALPNs, QUIC and
 * leading-ones varints (draft-17 Table 2 examples, moq-dev's vectors),
 * namespace tuples, parameter lists. */
#include "test_ietf_wire_common.h"

static void test_versions(void **state) {
  (void)state;
  assert_int_equal(moqc__ietf_version_code(14), 0xff00000e);
  assert_int_equal(moqc__ietf_version_code(19), 0xff000013);
  assert_int_equal(moqc__ietf_version_code(20), 0);
  assert_int_equal(moqc__ietf_version_from_code(0xff000010), 16);
  assert_int_equal(moqc__ietf_version_from_code(0xff0dad05), MOQC_ERR_VERSION);
  assert_int_equal(moqc__ietf_version_from_code(0xff00000d), MOQC_ERR_VERSION);
  assert_string_equal(moqc__ietf_version_alpn(14), "moq-00");
  assert_string_equal(moqc__ietf_version_alpn(18), "moqt-18");
  assert_null(moqc__ietf_version_alpn(13));
  assert_int_equal(moqc__ietf_version_from_alpn("moqt-17", 7), 17);
  assert_int_equal(moqc__ietf_version_from_alpn("moq-00", 6), 14);
  assert_int_equal(moqc__ietf_version_from_alpn("moqt-1", 6), MOQC_ERR_VERSION);
  assert_int_equal(moqc__ietf_version_from_alpn("moql", 4), MOQC_ERR_VERSION);
  assert_int_equal(moqc__ietf_version_from_alpn("moqt-20", 7), MOQC_ERR_VERSION);
}

struct vv {
  const char *hex;
  uint64_t x;
  bool minimal; /* the encoder writes exactly these bytes */
};

static void check_varints(int v, const struct vv *t, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint8_t want[16], got[16];
    size_t len = it_hex(want, sizeof want, t[i].hex);
    uint64_t x = 0;
    assert_int_equal(moqc__ietf_varint_decode(v, &x, want, len), (ssize_t)len);
    if (x != t[i].x) fprintf(stderr, "draft %d %s: got %llu\n", v, t[i].hex, (unsigned long long)x);
    assert_true(x == t[i].x);
    for (size_t j = 0; j < len; j++)
      assert_int_equal(moqc__ietf_varint_decode(v, &x, want, j), MOQC_ERR_NEED_MORE);
    if (t[i].minimal) {
      assert_int_equal(moqc__ietf_varint_len(v, t[i].x), len);
      ssize_t k = moqc__ietf_varint_encode(v, got, sizeof got, t[i].x);
      it_bytes_equal(got, (size_t)k, want, len);
      assert_int_equal(moqc__ietf_varint_encode(v, got, len - 1, t[i].x), MOQC_ERR_BUFSIZE);
    }
  }
}

static void test_quic_varints(void **state) {
  (void)state;
  /* RFC 9000 appendix A.1 */
  static const struct vv t[] = {
      {"25", 37, true},
      {"4025", 37, false},
      {"7bbd", 15293, true},
      {"9d7f3e7d", 494878333, true},
      {"c2197c5eff14e88c", 151288809941952652ull, true},
  };
  for (int v = 14; v <= 16; v++) check_varints(v, t, sizeof t / sizeof t[0]);
  uint8_t b[16];
  assert_int_equal(moqc__ietf_varint_encode(16, b, sizeof b, 1ull << 62), MOQC_ERR_OVERFLOW);
}

static void test_leading_ones(void **state) {
  (void)state;
  /* draft-ietf-moq-transport-17 Table 2 (less its example 4, which is
   * wrong in the draft; moq-dev varint.rs leading_ones_spec_examples). */
  static const struct vv spec[] = {
      {"25", 37, true},
      {"8025", 37, false},
      {"bbbd", 15293, true},
      {"faa1a0e403d8", 2893212287960ull, true},
      {"fefa318fa8e3ca11", 70423237261249041ull, true},
      {"ffffffffffffffffff", UINT64_MAX, true},
  };
  /* each length boundary (moq-dev leading_ones_boundaries_round_trip) */
  static const struct vv edges[] = {
      {"7f", 127, true},
      {"8080", 128, true},
      {"bfff", 16383, true},
      {"c04000", 16384, true},
      {"dfffff", (1ull << 21) - 1, true},
      {"e0200000", 1ull << 21, true},
      {"f010000000", 1ull << 28, true},
      {"f80800000000", 1ull << 35, true},
      {"fbffffffffff", (1ull << 42) - 1, true},
      {"fe00040000000000", 1ull << 42, true}, /* the 7-byte form is skipped */
      {"feffffffffffffff", (1ull << 56) - 1, true},
      {"ff0100000000000000", 1ull << 56, true},
      {"ff3fffffffffffffff", (1ull << 62) - 1, true},
  };
  for (int v = 17; v <= 19; v++) {
    check_varints(v, spec, sizeof spec / sizeof spec[0]);
    check_varints(v, edges, sizeof edges / sizeof edges[0]);
  }
  /* 1111110x: reserved on draft-17, the 7-byte form on 18+ (moq-dev
   * draft17_rejects_7_byte_varint / draft18_accepts_7_byte_varint) */
  uint8_t b[16];
  size_t n = it_hex(b, sizeof b, "fc123456789abc");
  uint64_t x;
  assert_int_equal(moqc__ietf_varint_decode(17, &x, b, n), MOQC_ERR_DECODE);
  assert_int_equal(moqc__ietf_varint_decode(17, &x, b, 1), MOQC_ERR_DECODE);
  assert_int_equal(moqc__ietf_varint_decode(18, &x, b, n), 7);
  assert_true(x == 0x123456789abcull);
  n = it_hex(b, sizeof b, "fd0000000000ff");
  assert_int_equal(moqc__ietf_varint_decode(19, &x, b, n), 7);
  assert_true(x == (1ull << 48) + 0xff);
}

static void test_tuple_path(void **state) {
  (void)state;
  moqc__ietf_tuple t;
  char buf[64];
  assert_int_equal(moqc__ietf_tuple_from_path(&t, "a/bc/d", 6), MOQC_OK);
  assert_int_equal(t.n, 3);
  assert_int_equal(t.f[1].len, 2);
  assert_int_equal(moqc__ietf_tuple_to_path(&t, buf, sizeof buf), 6);
  assert_memory_equal(buf, "a/bc/d", 6);
  assert_int_equal(moqc__ietf_tuple_to_path(&t, buf, 5), MOQC_ERR_BUFSIZE);
  assert_int_equal(moqc__ietf_tuple_from_path(&t, "", 0), MOQC_OK);
  assert_int_equal(t.n, 0);
  assert_int_equal(moqc__ietf_tuple_to_path(&t, buf, sizeof buf), 0);
  assert_int_equal(moqc__ietf_tuple_from_path(&t, "a//b", 4), MOQC_ERR_INVAL);
  assert_int_equal(moqc__ietf_tuple_from_path(&t, "/a", 2), MOQC_ERR_INVAL);
  assert_int_equal(moqc__ietf_tuple_from_path(&t, "a/", 2), MOQC_ERR_INVAL);
  char many[80];
  size_t k = 0;
  for (int i = 0; i < 33; i++) {
    if (i) many[k++] = '/';
    many[k++] = 'x';
  }
  assert_int_equal(moqc__ietf_tuple_from_path(&t, many, k), MOQC_ERR_INVAL);
  assert_int_equal(moqc__ietf_tuple_from_path(&t, many, k - 2), MOQC_OK);
  assert_int_equal(t.n, 32);
  /* a field that would not round-trip */
  moqc__ietf_tuple bad = {2, {B("a/b"), B("c")}};
  assert_int_equal(moqc__ietf_tuple_to_path(&bad, buf, sizeof buf), MOQC_ERR_INVAL);
  moqc__ietf_tuple empty = {1, {B("")}};
  assert_int_equal(moqc__ietf_tuple_to_path(&empty, buf, sizeof buf), MOQC_ERR_INVAL);
}

static void test_params(void **state) {
  (void)state;
  moqc__ietf_params ps = {0};
  assert_int_equal(moqc__ietf_params_put_bytes(&ps, 0x07, "moqc", 4), MOQC_OK);
  assert_int_equal(moqc__ietf_params_put_varint(&ps, 0x02, 100), MOQC_OK);
  assert_int_equal(moqc__ietf_params_put_bytes(&ps, 0x01, "/", 1), MOQC_OK);
  assert_int_equal(ps.n, 3);
  assert_int_equal(ps.kv[0].key, 1); /* kept sorted */
  assert_int_equal(ps.kv[1].key, 2);
  assert_int_equal(ps.kv[2].key, 7);
  assert_int_equal(moqc__ietf_params_put_varint(&ps, 0x02, 5), MOQC_ERR_DUPLICATE);
  assert_int_equal(moqc__ietf_params_put_varint(&ps, 0x03, 5), MOQC_ERR_INVAL); /* odd = bytes */
  assert_int_equal(moqc__ietf_params_put_bytes(&ps, 0x04, "x", 1), MOQC_ERR_INVAL);
  assert_int_equal(moqc__ietf_params_find(&ps, 2)->v, 100);
  assert_null(moqc__ietf_params_find(&ps, 4));
  for (uint64_t k = 0; ps.n < MOQC_IETF_PARAMS_MAX; k += 2)
    moqc__ietf_params_put_varint(&ps, 0x100 + k, k);
  assert_int_equal(moqc__ietf_params_put_varint(&ps, 0x1000, 1), MOQC_ERR_BOUNDS);
  /* the setup parameter encodings per draft (16: count + delta; 17+: no count) */
  moqc__ietf_msg m;
  memset(&m, 0, sizeof m);
  m.type = MOQC_IETF_SETUP;
  moqc__ietf_params_put_bytes(&m.params, 0x01, "/x", 2);
  moqc__ietf_params_put_bytes(&m.params, 0x07, "i", 1);
  uint8_t got[64], want[64];
  size_t n = it_hex(want, sizeof want, "af00 0007 01 02 2f78 06 01 69");
  ssize_t k = moqc__ietf_ctrl_encode(got, sizeof got, 17, &m);
  it_bytes_equal(got, (size_t)k, want, n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_versions),     cmocka_unit_test(test_quic_varints),
      cmocka_unit_test(test_leading_ones), cmocka_unit_test(test_tuple_path),
      cmocka_unit_test(test_params),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
