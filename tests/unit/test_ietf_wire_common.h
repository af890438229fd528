/* Shared helpers for the test_ietf_wire*.c cmocka suites. */
#ifndef MOQC_TEST_IETF_WIRE_COMMON_H
#define MOQC_TEST_IETF_WIRE_COMMON_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../fuzz/fuzz_ietf_eq.h"
#include "core/ietf_wire.h"

#define IT_MAX 4096

/* A borrowed moqc_bytes over a string literal. */
#define B(s) \
  { (const uint8_t *)(s), sizeof(s) - 1 }

/* Parse hex digit pairs, ignoring anything else (spaces, '|'). */
static inline size_t it_hex(uint8_t *out, size_t cap, const char *s) {
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

static inline void it_dump(const char *what, const uint8_t *p, size_t n) {
  fprintf(stderr, "%s (%zu):", what, n);
  for (size_t i = 0; i < n; i++) fprintf(stderr, " %02x", p[i]);
  fprintf(stderr, "\n");
}

/* Byte-exact compare with a dump of both sides on mismatch. */
static inline void it_bytes_equal(const uint8_t *got, size_t ng, const uint8_t *want, size_t nw) {
  if (ng != nw || memcmp(got, want, nw) != 0) {
    it_dump("got ", got, ng);
    it_dump("want", want, nw);
    fail();
  }
}

#endif
