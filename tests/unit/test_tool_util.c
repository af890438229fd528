/* Unit tests: tools/common/tool_util.c — the flag-value parsers shared by
 * moqc-relay and moqc (linked alone: moqc_tools_common needs no libmoqc). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/tool_util.h"

static void test_u64(void **state) {
  (void)state;
  uint64_t v = 7;
  assert_int_equal(moqc_tool_parse_u64("0", &v), 0);
  assert_int_equal(v, 0);
  assert_int_equal(moqc_tool_parse_u64("18446744073709551615", &v), 0);
  assert_true(v == UINT64_MAX);
  v = 7;
  assert_int_equal(moqc_tool_parse_u64("18446744073709551616", &v), -1);
  assert_int_equal(moqc_tool_parse_u64("", &v), -1);
  assert_int_equal(moqc_tool_parse_u64("-1", &v), -1);
  assert_int_equal(moqc_tool_parse_u64("12x", &v), -1);
  assert_int_equal(v, 7); /* untouched on error */
}

static void test_duration(void **state) {
  (void)state;
  uint64_t ns = 0;
  assert_int_equal(moqc_tool_parse_duration_ns("500ms", &ns), 0);
  assert_true(ns == 500000000ull);
  assert_int_equal(moqc_tool_parse_duration_ns("5", &ns), 0); /* bare: seconds */
  assert_true(ns == 5000000000ull);
  assert_int_equal(moqc_tool_parse_duration_ns("2m", &ns), 0);
  assert_true(ns == 120000000000ull);
  assert_int_equal(moqc_tool_parse_duration_ns("1h", &ns), 0);
  assert_true(ns == 3600000000000ull);
  assert_int_equal(moqc_tool_parse_duration_ns("3us", &ns), 0);
  assert_true(ns == 3000);
  assert_int_equal(moqc_tool_parse_duration_ns("1d", &ns), -1);
  assert_int_equal(moqc_tool_parse_duration_ns("ms", &ns), -1);
  assert_int_equal(moqc_tool_parse_duration_ns("99999999999999h", &ns), -1); /* overflow */
}

static void test_size(void **state) {
  (void)state;
  uint64_t b = 0;
  assert_int_equal(moqc_tool_parse_size("4096", &b), 0);
  assert_true(b == 4096);
  assert_int_equal(moqc_tool_parse_size("64M", &b), 0);
  assert_true(b == 64ull << 20);
  assert_int_equal(moqc_tool_parse_size("1GiB", &b), 0);
  assert_true(b == 1ull << 30);
  assert_int_equal(moqc_tool_parse_size("2kb", &b), 0);
  assert_true(b == 2048);
  assert_int_equal(moqc_tool_parse_size("1T", &b), 0);
  assert_true(b == 1ull << 40);
  assert_int_equal(moqc_tool_parse_size("1X", &b), -1);
  assert_int_equal(moqc_tool_parse_size("M", &b), -1);
  assert_int_equal(moqc_tool_parse_size("99999999999T", &b), -1); /* overflow */
}

static void test_hostport(void **state) {
  (void)state;
  char host[64];
  uint16_t port = 0;
  assert_int_equal(moqc_tool_parse_hostport("127.0.0.1:4443", host, sizeof host, &port), 0);
  assert_string_equal(host, "127.0.0.1");
  assert_int_equal(port, 4443);
  assert_int_equal(moqc_tool_parse_hostport("[::1]:0", host, sizeof host, &port), 0);
  assert_string_equal(host, "::1");
  assert_int_equal(port, 0);
  assert_int_equal(moqc_tool_parse_hostport(":80", host, sizeof host, &port), 0);
  assert_string_equal(host, "");
  assert_int_equal(port, 80);
  assert_int_equal(moqc_tool_parse_hostport("localhost", host, sizeof host, &port), -1);
  assert_int_equal(moqc_tool_parse_hostport("::1:80", host, sizeof host, &port), -1);
  assert_int_equal(moqc_tool_parse_hostport("[]:80", host, sizeof host, &port), -1);
  assert_int_equal(moqc_tool_parse_hostport("a:65536", host, sizeof host, &port), -1);
  assert_int_equal(moqc_tool_parse_hostport("a b:1", host, sizeof host, &port), -1);
  assert_int_equal(moqc_tool_parse_hostport("abcdef:1", host, 4, &port), -1); /* too long */
}

static void test_format_hostport(void **state) {
  (void)state;
  char s[64];
  moqc_tool_format_hostport(s, sizeof s, "::1", 443);
  assert_string_equal(s, "[::1]:443");
  moqc_tool_format_hostport(s, sizeof s, "127.0.0.1", 80);
  assert_string_equal(s, "127.0.0.1:80");
  moqc_tool_format_hostport(s, sizeof s, "", 1);
  assert_string_equal(s, "[::]:1");
}

static void test_log_level(void **state) {
  (void)state;
  assert_int_equal(moqc_log_parse_level("error"), MOQC_LOG_ERROR);
  assert_int_equal(moqc_log_parse_level("WARNING"), MOQC_LOG_WARN);
  assert_int_equal(moqc_log_parse_level("Info"), MOQC_LOG_INFO);
  assert_int_equal(moqc_log_parse_level("debug"), MOQC_LOG_DEBUG);
  assert_int_equal(moqc_log_parse_level("loud"), -1);
  moqc_log_init("test_tool_util", MOQC_LOG_WARN);
  assert_string_equal(moqc_log_prog(), "test_tool_util");
  assert_true(moqc_log_enabled(MOQC_LOG_ERROR));
  assert_false(moqc_log_enabled(MOQC_LOG_INFO));
  moqc_log_set_level(MOQC_LOG_DEBUG);
  assert_true(moqc_log_enabled(MOQC_LOG_DEBUG));
  assert_int_equal(moqc_log_parse_level("trace"), MOQC_LOG_TRACE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_u64),
      cmocka_unit_test(test_duration),
      cmocka_unit_test(test_size),
      cmocka_unit_test(test_hostport),
      cmocka_unit_test(test_format_hostport),
      cmocka_unit_test(test_log_level),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
