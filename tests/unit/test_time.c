/* Unit tests: src/core/time.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "moqc/error.h"
#include "moqc/time.h"

#define WIRE_MAX ((uint64_t)0x3fffffffffffffffULL)

static void test_convert_basic(void **state) {
  (void)state;
  uint64_t out = 0;
  assert_int_equal(moqc_time_convert(1500, MOQC_TIMESCALE_MILLI, MOQC_TIMESCALE_MICRO, &out),
                   MOQC_OK);
  assert_int_equal(out, 1500000);
  assert_int_equal(moqc_time_convert(1500, MOQC_TIMESCALE_MILLI, MOQC_TIMESCALE_SECOND, &out),
                   MOQC_OK);
  assert_int_equal(out, 1); /* rounds toward zero */
  assert_int_equal(moqc_time_convert(1999, MOQC_TIMESCALE_MILLI, MOQC_TIMESCALE_SECOND, &out),
                   MOQC_OK);
  assert_int_equal(out, 1);
  /* 90 kHz video clock to ms: 3003 ticks = 33.366... ms */
  assert_int_equal(moqc_time_convert(3003, 90000, MOQC_TIMESCALE_MILLI, &out), MOQC_OK);
  assert_int_equal(out, 33);
  /* 48 kHz audio to 90 kHz: 1024 samples = 1920 ticks exactly */
  assert_int_equal(moqc_time_convert(1024, 48000, 90000, &out), MOQC_OK);
  assert_int_equal(out, 1920);
  assert_int_equal(moqc_time_convert(0, 7, 13, &out), MOQC_OK);
  assert_int_equal(out, 0);
  assert_int_equal(moqc_time_convert(12345, 77, 77, &out), MOQC_OK);
  assert_int_equal(out, 12345);
}

static void test_convert_needs_128_bits(void **state) {
  (void)state;
  uint64_t out = 0;
  /* value * to overflows 64 bits but the result fits. */
  uint64_t v = 1ull << 60;
  assert_int_equal(moqc_time_convert(v, MOQC_TIMESCALE_NANO, MOQC_TIMESCALE_NANO, &out), MOQC_OK);
  assert_int_equal(out, v);
  assert_int_equal(moqc_time_convert(UINT64_MAX, UINT64_MAX, 1000, &out), MOQC_OK);
  assert_int_equal(out, 1000);
  assert_int_equal(moqc_time_convert(UINT64_MAX, 1ull << 40, 1ull << 38, &out), MOQC_OK);
  assert_int_equal(out, UINT64_MAX >> 2); /* = 2^62 - 1, the wire maximum exactly */
  assert_int_equal(out, WIRE_MAX);
}

static void test_convert_overflow(void **state) {
  (void)state;
  uint64_t out = 99;
  assert_int_equal(moqc_time_convert(WIRE_MAX, 1, 1, &out), MOQC_OK);
  assert_int_equal(out, WIRE_MAX);
  assert_int_equal(moqc_time_convert(WIRE_MAX + 1, 1, 1, &out), MOQC_ERR_OVERFLOW);
  assert_int_equal(moqc_time_convert(WIRE_MAX, 1, 2, &out), MOQC_ERR_OVERFLOW);
  assert_int_equal(moqc_time_convert(UINT64_MAX, 1, UINT64_MAX, &out), MOQC_ERR_OVERFLOW);
  assert_int_equal(moqc_time_convert(1ull << 40, MOQC_TIMESCALE_SECOND, MOQC_TIMESCALE_NANO, &out),
                   MOQC_ERR_OVERFLOW);
  assert_int_equal(out, WIRE_MAX); /* untouched on error */
}

static void test_convert_inval(void **state) {
  (void)state;
  uint64_t out = 5;
  assert_int_equal(moqc_time_convert(1, 0, 1, &out), MOQC_ERR_INVAL);
  assert_int_equal(moqc_time_convert(1, 1, 0, &out), MOQC_ERR_INVAL);
  assert_int_equal(moqc_time_convert(1, 1, 1, NULL), MOQC_ERR_INVAL);
  assert_int_equal(out, 5);
}

static void test_timestamp_convert(void **state) {
  (void)state;
  moqc_timestamp ts = {90000 * 10 + 45000, 90000}; /* 10.5 s */
  moqc_timestamp out = {0, 0};
  assert_int_equal(moqc_timestamp_convert(ts, MOQC_TIMESCALE_MILLI, &out), MOQC_OK);
  assert_int_equal(out.value, 10500);
  assert_int_equal(out.scale, MOQC_TIMESCALE_MILLI);
  moqc_timestamp zero = {1, 0};
  assert_int_equal(moqc_timestamp_convert(zero, 1000, &out), MOQC_ERR_INVAL);
  assert_int_equal(moqc_timestamp_convert(ts, 0, &out), MOQC_ERR_INVAL);
  assert_int_equal(moqc_timestamp_convert(ts, 1000, NULL), MOQC_ERR_INVAL);
  moqc_timestamp big = {WIRE_MAX, 1};
  assert_int_equal(moqc_timestamp_convert(big, 1000, &out), MOQC_ERR_OVERFLOW);
}

static void test_wall_clock(void **state) {
  (void)state;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t sec = moqc_time_now(MOQC_TIMESCALE_SECOND);
  uint64_t ms = moqc_time_now(MOQC_TIMESCALE_MILLI);
  assert_in_range(sec, (uint64_t)ts.tv_sec, (uint64_t)ts.tv_sec + 5);
  assert_in_range(ms / 1000, sec, sec + 5);
  assert_true(sec > 1600000000u); /* after 2020 */
  assert_int_equal(moqc_time_now(0), 0);
}

static void test_mono_clock(void **state) {
  (void)state;
  uint64_t a = moqc_time_mono_ns();
  struct timespec d = {0, 2000000};
  nanosleep(&d, NULL);
  uint64_t b = moqc_time_mono_ns();
  assert_true(b >= a + 2000000);
  assert_true(b - a < 5000000000ull);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_convert_basic),     cmocka_unit_test(test_convert_needs_128_bits),
      cmocka_unit_test(test_convert_overflow),  cmocka_unit_test(test_convert_inval),
      cmocka_unit_test(test_timestamp_convert), cmocka_unit_test(test_wall_clock),
      cmocka_unit_test(test_mono_clock),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
