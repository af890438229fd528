/* Unit tests: src/core/codec.c (varints, reader/writer cursors, UTF-8, zigzag) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/codec.h"

typedef struct vec {
  uint64_t v;
  size_t len;
  uint8_t bytes[8];
} vec;

/* Minimal encodings at every length boundary, plus the RFC 9000 A.1 samples. */
static const vec k_vecs[] = {
    {0, 1, {0x00}},
    {63, 1, {0x3f}},
    {64, 2, {0x40, 0x40}},
    {16383, 2, {0x7f, 0xff}},
    {16384, 4, {0x80, 0x00, 0x40, 0x00}},
    {(1ull << 30) - 1, 4, {0xbf, 0xff, 0xff, 0xff}},
    {1ull << 30, 8, {0xc0, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00}},
    {(1ull << 62) - 1, 8, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
    {37, 1, {0x25}},
    {15293, 2, {0x7b, 0xbd}},
    {494878333, 4, {0x9d, 0x7f, 0x3e, 0x7d}},
    {151288809941952652ull, 8, {0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c}},
};
#define NVECS (sizeof k_vecs / sizeof k_vecs[0])

static void test_len(void **state) {
  (void)state;
  for (size_t i = 0; i < NVECS; i++) assert_int_equal(moqc_varint_len(k_vecs[i].v), k_vecs[i].len);
  assert_int_equal(moqc_varint_len(MOQC_VARINT_MAX + 1), 0);
  assert_int_equal(moqc_varint_len(UINT64_MAX), 0);
}

static void test_encode_exact(void **state) {
  (void)state;
  for (size_t i = 0; i < NVECS; i++) {
    uint8_t out[9];
    memset(out, 0xaa, sizeof out);
    ssize_t n = moqc_varint_encode(out, sizeof out, k_vecs[i].v);
    assert_int_equal(n, (ssize_t)k_vecs[i].len);
    assert_memory_equal(out, k_vecs[i].bytes, k_vecs[i].len);
    assert_int_equal(out[k_vecs[i].len], 0xaa); /* nothing written past the end */
  }
}

static void test_encode_errors(void **state) {
  (void)state;
  uint8_t out[8] = {0};
  assert_int_equal(moqc_varint_encode(out, sizeof out, MOQC_VARINT_MAX + 1), MOQC_ERR_OVERFLOW);
  assert_int_equal(moqc_varint_encode(out, sizeof out, UINT64_MAX), MOQC_ERR_OVERFLOW);
  for (size_t i = 0; i < NVECS; i++) {
    memset(out, 0, sizeof out);
    assert_int_equal(moqc_varint_encode(out, k_vecs[i].len - 1, k_vecs[i].v), MOQC_ERR_BUFSIZE);
    for (size_t k = 0; k < sizeof out; k++) assert_int_equal(out[k], 0);
  }
  assert_int_equal(moqc_varint_encode(NULL, 0, 0), MOQC_ERR_BUFSIZE);
}

static void test_decode_exact(void **state) {
  (void)state;
  for (size_t i = 0; i < NVECS; i++) {
    uint64_t v = 12345;
    assert_int_equal(moqc_varint_decode(&v, k_vecs[i].bytes, k_vecs[i].len),
                     (ssize_t)k_vecs[i].len);
    assert_int_equal(v, k_vecs[i].v);
    /* Extra trailing bytes are not consumed. */
    uint8_t longer[16] = {0};
    memcpy(longer, k_vecs[i].bytes, k_vecs[i].len);
    assert_int_equal(moqc_varint_decode(&v, longer, sizeof longer), (ssize_t)k_vecs[i].len);
    assert_int_equal(v, k_vecs[i].v);
  }
}

static void test_decode_truncated(void **state) {
  (void)state;
  for (size_t i = 0; i < NVECS; i++) {
    for (size_t cut = 0; cut < k_vecs[i].len; cut++) {
      uint64_t v = 777;
      assert_int_equal(moqc_varint_decode(&v, k_vecs[i].bytes, cut), MOQC_ERR_NEED_MORE);
      assert_int_equal(v, 777); /* untouched */
    }
  }
  assert_int_equal(moqc_varint_decode(NULL, NULL, 0), MOQC_ERR_NEED_MORE);
}

static void test_decode_non_minimal(void **state) {
  (void)state;
  static const struct {
    uint8_t b[8];
    size_t len;
    uint64_t v;
  } nm[] = {
      {{0x40, 0x25}, 2, 37},
      {{0x40, 0x00}, 2, 0},
      {{0x80, 0x00, 0x00, 0x00}, 4, 0},
      {{0x80, 0x00, 0x00, 0x3f}, 4, 63},
      {{0xc0, 0, 0, 0, 0, 0, 0, 0x01}, 8, 1},
      {{0xc0, 0, 0, 0, 0x3f, 0xff, 0xff, 0xff}, 8, (1ull << 30) - 1},
  };
  for (size_t i = 0; i < sizeof nm / sizeof nm[0]; i++) {
    uint64_t v = 0;
    assert_int_equal(moqc_varint_decode(&v, nm[i].b, nm[i].len), (ssize_t)nm[i].len);
    assert_int_equal(v, nm[i].v);
  }
}

static void test_round_trip_sweep(void **state) {
  (void)state;
  /* Every power of two and its neighbours up to 2^62-1. */
  for (int bit = 0; bit < 62; bit++) {
    uint64_t base = 1ull << bit;
    uint64_t vals[3] = {base - 1, base, base + 1};
    for (int k = 0; k < 3; k++) {
      uint8_t buf[8];
      uint64_t got = 0;
      ssize_t n = moqc_varint_encode(buf, sizeof buf, vals[k]);
      assert_true(n > 0);
      assert_int_equal((size_t)n, moqc_varint_len(vals[k]));
      assert_int_equal(moqc_varint_decode(&got, buf, (size_t)n), n);
      assert_int_equal(got, vals[k]);
    }
  }
}

static void test_reader(void **state) {
  (void)state;
  static const uint8_t msg[] = {0x25, 0x40, 0x40, 0xab, 0x12, 0x34, 0x03, 'a', 'b', 'c', 0x01};
  moqc_reader r = moqc_reader_make(msg, sizeof msg);
  uint64_t v;
  uint8_t u8;
  uint16_t u16;
  moqc_bytes b;
  assert_int_equal(moqc_read_varint(&r, &v), MOQC_OK);
  assert_int_equal(v, 37);
  assert_int_equal(moqc_read_varint_max(&r, 63, &v), MOQC_ERR_DECODE); /* 64 > 63 */
  assert_int_equal(r.pos, 1);                                          /* not advanced */
  assert_int_equal(moqc_read_varint_max(&r, 64, &v), MOQC_OK);
  assert_int_equal(v, 64);
  assert_int_equal(moqc_read_u8(&r, &u8), MOQC_OK);
  assert_int_equal(u8, 0xab);
  assert_int_equal(moqc_read_u16be(&r, &u16), MOQC_OK);
  assert_int_equal(u16, 0x1234);
  assert_int_equal(moqc_read_bytes(&r, 2, &b), MOQC_ERR_DECODE); /* 3 > max 2 */
  assert_int_equal(moqc_read_string(&r, 3, &b), MOQC_OK);
  assert_int_equal(b.len, 3);
  assert_ptr_equal(b.ptr, msg + 7); /* borrowed, not copied */
  assert_memory_equal(b.ptr, "abc", 3);
  assert_int_equal(moqc_reader_left(&r), 1);
  assert_int_equal(moqc_read_u16be(&r, &u16), MOQC_ERR_NEED_MORE);
  assert_int_equal(moqc_read_raw(&r, 2, &b), MOQC_ERR_NEED_MORE);
  assert_int_equal(moqc_read_raw(&r, 1, &b), MOQC_OK);
  assert_int_equal(b.ptr[0], 0x01);
  assert_int_equal(moqc_read_u8(&r, &u8), MOQC_ERR_NEED_MORE);
  assert_int_equal(moqc_read_varint(&r, &v), MOQC_ERR_NEED_MORE);
  assert_int_equal(r.pos, sizeof msg);
}

static void test_reader_bytes_truncated(void **state) {
  (void)state;
  static const uint8_t msg[] = {0x05, 'h', 'e', 'l', 'l', 'o'};
  for (size_t cut = 0; cut < sizeof msg; cut++) {
    moqc_reader r = moqc_reader_make(msg, cut);
    moqc_bytes b;
    assert_int_equal(moqc_read_bytes(&r, 100, &b), MOQC_ERR_NEED_MORE);
    assert_int_equal(r.pos, 0);
    assert_int_equal(moqc_read_string(&r, 100, &b), MOQC_ERR_NEED_MORE);
    assert_int_equal(r.pos, 0);
  }
  moqc_reader r = moqc_reader_make(msg, sizeof msg);
  moqc_bytes b;
  assert_int_equal(moqc_read_bytes(&r, 5, &b), MOQC_OK);
  assert_int_equal(b.len, 5);
  assert_int_equal(r.pos, 6);
  /* A huge declared length fails as DECODE as soon as the length is known. */
  static const uint8_t huge[] = {0xc0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
  r = moqc_reader_make(huge, sizeof huge);
  assert_int_equal(moqc_read_bytes(&r, 1024, &b), MOQC_ERR_DECODE);
  assert_int_equal(r.pos, 0);
  /* An empty reader over NULL is fine. */
  r = moqc_reader_make(NULL, 0);
  assert_int_equal(moqc_read_varint(&r, NULL), MOQC_ERR_NEED_MORE);
  assert_int_equal(moqc_read_raw(&r, 0, &b), MOQC_OK);
  assert_int_equal(b.len, 0);
}

static void test_reader_string_utf8(void **state) {
  (void)state;
  static const uint8_t bad[] = {0x02, 0xc0, 0x80}; /* overlong NUL */
  moqc_reader r = moqc_reader_make(bad, sizeof bad);
  moqc_bytes b;
  assert_int_equal(moqc_read_string(&r, 10, &b), MOQC_ERR_DECODE);
  assert_int_equal(r.pos, 0);
  static const uint8_t good[] = {0x03, 0xe2, 0x82, 0xac}; /* EURO SIGN */
  r = moqc_reader_make(good, sizeof good);
  assert_int_equal(moqc_read_string(&r, 10, &b), MOQC_OK);
  assert_int_equal(b.len, 3);
}

static void test_writer(void **state) {
  (void)state;
  uint8_t buf[32];
  moqc_writer w = moqc_writer_make(buf, sizeof buf);
  moqc_write_varint(&w, 37);
  moqc_write_varint(&w, 16384);
  moqc_write_u8(&w, 0xab);
  moqc_write_u16be(&w, 0x1234);
  moqc_write_bytes(&w, "abc", 3);
  moqc_write_raw(&w, NULL, 0);
  assert_int_equal(w.err, 0);
  static const uint8_t want[] = {0x25, 0x80, 0x00, 0x40, 0x00, 0xab,
                                 0x12, 0x34, 0x03, 'a',  'b',  'c'};
  assert_int_equal(w.pos, sizeof want);
  assert_memory_equal(buf, want, sizeof want);
}

static void test_writer_poison(void **state) {
  (void)state;
  uint8_t buf[4];
  moqc_writer w = moqc_writer_make(buf, sizeof buf);
  moqc_write_u16be(&w, 1);
  moqc_write_varint(&w, 16384); /* needs 4, 2 left */
  assert_int_equal(w.err, MOQC_ERR_BUFSIZE);
  assert_int_equal(w.pos, 2);
  moqc_write_u8(&w, 7); /* would fit, but the writer is poisoned */
  assert_int_equal(w.pos, 2);
  assert_int_equal(w.err, MOQC_ERR_BUFSIZE);

  w = moqc_writer_make(buf, sizeof buf);
  moqc_write_varint(&w, MOQC_VARINT_MAX + 1);
  assert_int_equal(w.err, MOQC_ERR_OVERFLOW);
  assert_int_equal(w.pos, 0);
  moqc_write_u8(&w, 1);
  assert_int_equal(w.pos, 0);

  w = moqc_writer_make(buf, sizeof buf);
  moqc_write_bytes(&w, "abcd", 4); /* 1 + 4 > 4 */
  assert_int_equal(w.err, MOQC_ERR_BUFSIZE);

  w = moqc_writer_make(NULL, 0);
  moqc_write_raw(&w, NULL, 0);
  assert_int_equal(w.err, 0);
  moqc_write_u8(&w, 1);
  assert_int_equal(w.err, MOQC_ERR_BUFSIZE);
}

static void test_utf8(void **state) {
  (void)state;
  static const struct {
    const char *s;
    size_t n;
    bool ok;
  } cases[] = {
      {"", 0, true},
      {"plain ascii/path", 16, true},
      {"\xc3\xa9", 2, true},          /* é */
      {"\xe2\x82\xac", 3, true},      /* € */
      {"\xf0\x9f\x8e\xa5", 4, true},  /* 🎥 */
      {"\xf4\x8f\xbf\xbf", 4, true},  /* U+10FFFF */
      {"\xed\x9f\xbf", 3, true},      /* U+D7FF */
      {"\xee\x80\x80", 3, true},      /* U+E000 */
      {"\x00", 1, true},              /* NUL is valid UTF-8 */
      {"\x80", 1, false},             /* lone continuation */
      {"\xc0\xaf", 2, false},         /* overlong '/' */
      {"\xc1\xbf", 2, false},         /* overlong */
      {"\xe0\x80\xaf", 3, false},     /* overlong */
      {"\xe0\x9f\xbf", 3, false},     /* overlong */
      {"\xed\xa0\x80", 3, false},     /* surrogate D800 */
      {"\xed\xbf\xbf", 3, false},     /* surrogate DFFF */
      {"\xf0\x8f\xbf\xbf", 4, false}, /* overlong */
      {"\xf4\x90\x80\x80", 4, false}, /* > U+10FFFF */
      {"\xf5\x80\x80\x80", 4, false},
      {"\xff", 1, false},
      {"\xc3", 1, false},         /* truncated */
      {"\xe2\x82", 2, false},     /* truncated */
      {"\xf0\x9f\x8e", 3, false}, /* truncated */
      {"\xe2\x28\xa1", 3, false}, /* bad continuation */
      {"a\xc3\xa9z\xe2\x82\xac", 7, true},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (moqc_utf8_valid((const uint8_t *)cases[i].s, cases[i].n) != cases[i].ok)
      fail_msg("utf8 case %zu", i);
  }
  assert_true(moqc_utf8_valid(NULL, 0));
}

static void test_zigzag(void **state) {
  (void)state;
  assert_int_equal(moqc_zigzag_encode(0), 0);
  assert_int_equal(moqc_zigzag_encode(-1), 1);
  assert_int_equal(moqc_zigzag_encode(1), 2);
  assert_int_equal(moqc_zigzag_encode(-2), 3);
  assert_int_equal(moqc_zigzag_encode(INT64_MAX), UINT64_MAX - 1);
  assert_int_equal(moqc_zigzag_encode(INT64_MIN), UINT64_MAX);
  static const int64_t vals[] = {0, 1, -1, 1000, -1000, INT64_MAX, INT64_MIN, 1ll << 40};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
    assert_true(moqc_zigzag_decode(moqc_zigzag_encode(vals[i])) == vals[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_len),
      cmocka_unit_test(test_encode_exact),
      cmocka_unit_test(test_encode_errors),
      cmocka_unit_test(test_decode_exact),
      cmocka_unit_test(test_decode_truncated),
      cmocka_unit_test(test_decode_non_minimal),
      cmocka_unit_test(test_round_trip_sweep),
      cmocka_unit_test(test_reader),
      cmocka_unit_test(test_reader_bytes_truncated),
      cmocka_unit_test(test_reader_string_utf8),
      cmocka_unit_test(test_writer),
      cmocka_unit_test(test_writer_poison),
      cmocka_unit_test(test_utf8),
      cmocka_unit_test(test_zigzag),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
