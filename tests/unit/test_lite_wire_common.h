/* Shared helpers for the test_lite_wire*.c cmocka suites: hex vectors and a
 * generic byte-exact check run on every (message, version, vector) triple. */
#ifndef MOQC_TEST_LITE_WIRE_COMMON_H
#define MOQC_TEST_LITE_WIRE_COMMON_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../fuzz/fuzz_lite_eq.h"
#include "core/lite_wire.h"

typedef ssize_t (*lt_enc_fn)(uint8_t *p, size_t cap, int v, const void *m);
typedef ssize_t (*lt_dec_fn)(void *m, int v, const uint8_t *p, size_t len);
typedef bool (*lt_eq_fn)(const void *a, const void *b);

struct lt_codec {
  const char *name;
  lt_enc_fn enc;
  lt_dec_fn dec;
  lt_eq_fn eq;
  size_t size;
  int lenoff; /* offset of the length varint (after a type prefix), -1 if none */
};

/* Declares LT_<msg>: type-safe wrappers around moqc_lite_<msg>_{encode,decode}. */
#define LT_CODEC(msg, lenoff)                                                             \
  static ssize_t lt_enc_##msg(uint8_t *p, size_t cap, int v, const void *m) {             \
    return moqc_lite_##msg##_encode(p, cap, v, m);                                        \
  }                                                                                       \
  static ssize_t lt_dec_##msg(void *m, int v, const uint8_t *p, size_t len) {             \
    return moqc_lite_##msg##_decode(m, v, p, len);                                        \
  }                                                                                       \
  static bool lt_eq_##msg(const void *a, const void *b) { return lite_##msg##_eq(a, b); } \
  static const struct lt_codec LT_##msg = {                                               \
      #msg, lt_enc_##msg, lt_dec_##msg, lt_eq_##msg, sizeof(struct moqc_lite_##msg), lenoff}

#define LT_MAX 2048

/* A borrowed moqc_bytes over a C string literal. */
static inline moqc_bytes lt_str(const char *s) {
  moqc_bytes b = {(const uint8_t *)s, strlen(s)};
  return b;
}

/* Parse hex digit pairs, ignoring anything else (spaces, '|'). */
static inline size_t lt_hex(uint8_t *out, size_t cap, const char *s) {
  size_t n = 0;
  int hi = -1;
  for (; *s; s++) {
    int d;
    if (*s >= '0' && *s <= '9') d = *s - '0';
    else if (*s >= 'a' && *s <= 'f') d = *s - 'a' + 10;
    else if (*s >= 'A' && *s <= 'F') d = *s - 'A' + 10;
    else continue;
    if (hi < 0) {
      hi = d;
    } else {
      assert_true(n < cap);
      out[n++] = (uint8_t)(hi << 4 | d);
      hi = -1;
    }
  }
  assert_int_equal(hi, -1);
  return n;
}

static _Alignas(max_align_t) unsigned char lt_scratch[1024];

/* Decode `in` and expect `want` (a moqc_err or a consumed count). */
static inline void lt_expect_decode(const struct lt_codec *c, int v, const uint8_t *in, size_t n,
                                    ssize_t want) {
  assert_true(c->size <= sizeof lt_scratch);
  memset(lt_scratch, 0xa5, sizeof lt_scratch);
  assert_int_equal(c->dec(lt_scratch, v, in, n), want);
}

/* The input stays in a static buffer so borrowed fields of the decoded
 * message (in lt_scratch) remain valid until the next call. */
static uint8_t lt_in[LT_MAX];
static inline void lt_expect_decode_hex(const struct lt_codec *c, int v, const char *hex,
                                        ssize_t want) {
  size_t n = lt_hex(lt_in, sizeof lt_in, hex);
  lt_expect_decode(c, v, lt_in, n, want);
}

/* The full byte-exact check of one vector:
 *   encode -> exactly `hex` (and p == NULL -> its size, every smaller cap ->
 *   BUFSIZE); decode -> n and fields equal to msg, also with a following
 *   message behind it; every strict prefix -> NEED_MORE; one byte of garbage
 *   inside the declared length -> DECODE. */
static inline void lt_check(const struct lt_codec *c, int v, const void *msg, const char *hex) {
  uint8_t want[LT_MAX], buf[LT_MAX + 8];
  size_t n = lt_hex(want, sizeof want, hex);
  assert_true(n > 0);

  assert_int_equal(c->enc(NULL, 0, v, msg), (ssize_t)n);
  memset(buf, 0xee, sizeof buf);
  assert_int_equal(c->enc(buf, sizeof buf, v, msg), (ssize_t)n);
  assert_memory_equal(buf, want, n);
  for (size_t cap = 0; cap < n; cap++) {
    assert_int_equal(c->enc(buf, cap, v, msg), MOQC_ERR_BUFSIZE);
  }

  assert_true(c->size <= sizeof lt_scratch);
  memset(lt_scratch, 0xa5, sizeof lt_scratch);
  assert_int_equal(c->dec(lt_scratch, v, want, n), (ssize_t)n);
  assert_true(c->eq(lt_scratch, msg));

  memcpy(buf, want, n);
  memcpy(buf + n, "\x01\x00\x02", 3); /* the start of whatever comes next */
  memset(lt_scratch, 0xa5, sizeof lt_scratch);
  assert_int_equal(c->dec(lt_scratch, v, buf, n + 3), (ssize_t)n);
  assert_true(c->eq(lt_scratch, msg));

  for (size_t k = 0; k < n; k++) lt_expect_decode(c, v, want, k, MOQC_ERR_NEED_MORE);

  if (c->lenoff >= 0) {
    size_t lo = (size_t)c->lenoff;
    uint64_t blen;
    ssize_t hl = moqc_varint_decode(&blen, want + lo, n - lo);
    assert_true(hl > 0);
    assert_int_equal(lo + (size_t)hl + blen, n);
    memcpy(buf, want, lo);
    ssize_t nl = moqc_varint_encode(buf + lo, 8, blen + 1);
    assert_true(nl > 0);
    size_t off = lo + (size_t)nl;
    memcpy(buf + off, want + lo + (size_t)hl, (size_t)blen);
    buf[off + blen] = 0x00;
    lt_expect_decode(c, v, buf, off + (size_t)blen + 1, MOQC_ERR_DECODE);
  }
}

/* Check the same vector on several versions (terminated by 0). */
static inline void lt_check_versions(const struct lt_codec *c, const int *versions, const void *msg,
                                     const char *hex) {
  for (; *versions; versions++) lt_check(c, *versions, msg, hex);
}

static const int LT_ALL[] = {MOQC_LITE_03, MOQC_LITE_04, MOQC_LITE_05, 0};
static const int LT_0304[] = {MOQC_LITE_03, MOQC_LITE_04, 0};
static const int LT_0405[] = {MOQC_LITE_04, MOQC_LITE_05, 0};

#endif
