/* Unit tests: src/core/path.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "moqc/error.h"
#include "moqc/path.h"

static void check_norm(const char *in, const char *want) {
  char out[256];
  memset(out, 'x', sizeof out);
  ssize_t n = moqc_path_normalize(out, sizeof out, in, strlen(in));
  if (n < 0) fail_msg("normalize(\"%s\") = %zd", in, n);
  assert_int_equal((size_t)n, strlen(want));
  assert_string_equal(out, want);
}

static void test_normalize_table(void **state) {
  (void)state;
  static const char *const cases[][2] = {
      {"", ""},
      {"/", ""},
      {"//", ""},
      {"a", "a"},
      {"/a", "a"},
      {"a/", "a"},
      {"/a/", "a"},
      {"a/b", "a/b"},
      {"//a///b/", "a/b"},
      {"///a//b//c///", "a/b/c"},
      {"foo/bar/baz", "foo/bar/baz"},
      {"..", ".."}, /* ".." is an ordinary name */
      {"a/../b", "a/../b"},
      {"./a", "./a"},
      {" a / b ", " a / b "}, /* spaces are kept */
      {"caf\xc3\xa9/\xf0\x9f\x8e\xa5", "caf\xc3\xa9/\xf0\x9f\x8e\xa5"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_norm(cases[i][0], cases[i][1]);
}

static void test_normalize_idempotent(void **state) {
  (void)state;
  const char *in = "//x//y/z//";
  char a[64], b[64];
  ssize_t n1 = moqc_path_normalize(a, sizeof a, in, strlen(in));
  ssize_t n2 = moqc_path_normalize(b, sizeof b, a, (size_t)n1);
  assert_int_equal(n1, n2);
  assert_string_equal(a, b);
  assert_string_equal(a, "x/y/z");
}

static void test_normalize_len_not_nul(void **state) {
  (void)state;
  char out[32];
  /* Only src[0..len) is read. */
  assert_int_equal(moqc_path_normalize(out, sizeof out, "abc/def", 5), 5);
  assert_string_equal(out, "abc/d");
  assert_int_equal(moqc_path_normalize(out, sizeof out, NULL, 0), 0);
  assert_string_equal(out, "");
}

static void test_normalize_errors(void **state) {
  (void)state;
  char out[8];
  assert_int_equal(moqc_path_normalize(NULL, 8, "a", 1), MOQC_ERR_INVAL);
  assert_int_equal(moqc_path_normalize(out, sizeof out, NULL, 1), MOQC_ERR_INVAL);
  /* Embedded NUL and invalid UTF-8 cannot be a path. */
  assert_int_equal(moqc_path_normalize(out, sizeof out, "a\0b", 3), MOQC_ERR_INVAL);
  assert_int_equal(moqc_path_normalize(out, sizeof out, "a/\xc0\xaf", 4), MOQC_ERR_INVAL);
  assert_string_equal(out, ""); /* never a half-written path */
  /* cap: "abcdefg" needs 8 bytes with the NUL. */
  assert_int_equal(moqc_path_normalize(out, 8, "abcdefg", 7), 7);
  assert_int_equal(moqc_path_normalize(out, 7, "abcdefg", 7), MOQC_ERR_BUFSIZE);
  assert_int_equal(moqc_path_normalize(out, 7, "//abc//def//", 12), MOQC_ERR_BUFSIZE);
  assert_int_equal(moqc_path_normalize(out, 8, "//abc//def//", 12), 7);
  assert_string_equal(out, "abc/def");
  assert_int_equal(moqc_path_normalize(out, 0, "", 0), MOQC_ERR_BUFSIZE);
  assert_int_equal(moqc_path_normalize(out, 1, "///", 3), 0);
}

/* "s0/s1/.../s{n-1}" */
static size_t make_segments(char *buf, size_t cap, int n) {
  size_t len = 0;
  for (int i = 0; i < n; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%ss%d", i ? "/" : "", i);
  return len;
}

static void test_segment_limit(void **state) {
  (void)state;
  char in[512], out[512];
  size_t len = make_segments(in, sizeof in, 32);
  ssize_t n = moqc_path_normalize(out, sizeof out, in, len);
  assert_int_equal(n, (ssize_t)len);
  assert_int_equal(moqc_path_segments(out), 32);
  len = make_segments(in, sizeof in, 33);
  assert_int_equal(moqc_path_normalize(out, sizeof out, in, len), MOQC_ERR_BOUNDS);
  /* BOUNDS wins over BUFSIZE. */
  assert_int_equal(moqc_path_normalize(out, 4, in, len), MOQC_ERR_BOUNDS);
  /* Empty segments do not count. */
  char slashy[1024];
  size_t k = 0;
  for (int i = 0; i < 32; i++) k += (size_t)snprintf(slashy + k, sizeof slashy - k, "///x");
  assert_int_equal(moqc_path_normalize(out, sizeof out, slashy, k), 32 * 2 - 1);
}

static void test_length_limit(void **state) {
  (void)state;
  static char in[MOQC_PATH_MAX_LEN + 8], out[MOQC_PATH_MAX_LEN + 8];
  memset(in, 'a', sizeof in);
  assert_int_equal(moqc_path_normalize(out, sizeof out, in, MOQC_PATH_MAX_LEN), MOQC_PATH_MAX_LEN);
  assert_int_equal(moqc_path_normalize(out, sizeof out, in, MOQC_PATH_MAX_LEN + 1),
                   MOQC_ERR_BOUNDS);
  /* Slashes that normalise away do not count toward the limit. */
  in[0] = '/';
  in[MOQC_PATH_MAX_LEN + 1] = '/';
  assert_int_equal(moqc_path_normalize(out, sizeof out, in, MOQC_PATH_MAX_LEN + 2),
                   MOQC_PATH_MAX_LEN);
}

static void test_has_prefix(void **state) {
  (void)state;
  assert_true(moqc_path_has_prefix("foo", "foo"));
  assert_true(moqc_path_has_prefix("foo/bar", "foo"));
  assert_true(moqc_path_has_prefix("foo/bar/baz", "foo/bar"));
  assert_false(moqc_path_has_prefix("foobar", "foo"));
  assert_false(moqc_path_has_prefix("foo", "foobar"));
  assert_false(moqc_path_has_prefix("foo/barbaz", "foo/bar"));
  assert_false(moqc_path_has_prefix("fo", "foo"));
  assert_false(moqc_path_has_prefix("bar/foo", "foo"));
  assert_true(moqc_path_has_prefix("anything/at/all", ""));
  assert_true(moqc_path_has_prefix("", ""));
  assert_false(moqc_path_has_prefix("", "a"));
  assert_false(moqc_path_has_prefix(NULL, ""));
  assert_false(moqc_path_has_prefix("a", NULL));
}

static void test_join(void **state) {
  (void)state;
  char out[64];
  assert_int_equal(moqc_path_join(out, sizeof out, "a", "b/c"), 5);
  assert_string_equal(out, "a/b/c");
  assert_int_equal(moqc_path_join(out, sizeof out, "", "b"), 1);
  assert_string_equal(out, "b");
  assert_int_equal(moqc_path_join(out, sizeof out, "a", ""), 1);
  assert_string_equal(out, "a");
  assert_int_equal(moqc_path_join(out, sizeof out, "", ""), 0);
  assert_string_equal(out, "");
  /* Sloppy inputs still give a normalised result. */
  assert_int_equal(moqc_path_join(out, sizeof out, "/a/", "//b//"), 3);
  assert_string_equal(out, "a/b");
  assert_int_equal(moqc_path_join(out, 3, "a", "b"), MOQC_ERR_BUFSIZE);
  assert_int_equal(moqc_path_join(out, 4, "a", "b"), 3);
  assert_int_equal(moqc_path_join(NULL, 4, "a", "b"), MOQC_ERR_INVAL);
  assert_int_equal(moqc_path_join(out, 4, NULL, "b"), MOQC_ERR_INVAL);
  /* 16 + 16 segments fit, 16 + 17 do not. */
  char a[256], b[256], big[512];
  make_segments(a, sizeof a, 16);
  make_segments(b, sizeof b, 16);
  assert_true(moqc_path_join(big, sizeof big, a, b) > 0);
  assert_int_equal(moqc_path_segments(big), 32);
  make_segments(b, sizeof b, 17);
  assert_int_equal(moqc_path_join(big, sizeof big, a, b), MOQC_ERR_BOUNDS);
}

static void test_strip_prefix(void **state) {
  (void)state;
  char out[64];
  assert_int_equal(moqc_path_strip_prefix(out, sizeof out, "a/b/c", "a"), 3);
  assert_string_equal(out, "b/c");
  assert_int_equal(moqc_path_strip_prefix(out, sizeof out, "a/b/c", "a/b"), 1);
  assert_string_equal(out, "c");
  assert_int_equal(moqc_path_strip_prefix(out, sizeof out, "a", "a"), 0);
  assert_string_equal(out, "");
  assert_int_equal(moqc_path_strip_prefix(out, sizeof out, "a/b", ""), 3);
  assert_string_equal(out, "a/b");
  assert_int_equal(moqc_path_strip_prefix(out, sizeof out, "foobar", "foo"), MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_path_strip_prefix(out, sizeof out, "a", "a/b"), MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_path_strip_prefix(out, 3, "a/b/c", "a"), MOQC_ERR_BUFSIZE);
  assert_int_equal(moqc_path_strip_prefix(out, sizeof out, NULL, "a"), MOQC_ERR_INVAL);
}

static void test_resolve(void **state) {
  (void)state;
  char out[64];
  assert_int_equal(moqc_path_resolve(out, sizeof out, "anon", "room/cam"), 13);
  assert_string_equal(out, "anon/room/cam");
  /* A leading '/' does not escape the root. */
  assert_int_equal(moqc_path_resolve(out, sizeof out, "anon", "/room"), 9);
  assert_string_equal(out, "anon/room");
  /* ".." is an ordinary segment, never a parent. */
  assert_int_equal(moqc_path_resolve(out, sizeof out, "anon", "../secret"), 14);
  assert_string_equal(out, "anon/../secret");
  assert_true(moqc_path_has_prefix(out, "anon"));
  assert_int_equal(moqc_path_resolve(out, sizeof out, "", "//x//"), 1);
  assert_string_equal(out, "x");
  assert_int_equal(moqc_path_resolve(out, sizeof out, "root", ""), 4);
  assert_string_equal(out, "root");
}

static void test_segments(void **state) {
  (void)state;
  assert_int_equal(moqc_path_segments(""), 0);
  assert_int_equal(moqc_path_segments("a"), 1);
  assert_int_equal(moqc_path_segments("a/b"), 2);
  assert_int_equal(moqc_path_segments("a/b/c"), 3);
  assert_int_equal(moqc_path_segments("//a//b//"), 2);
  assert_int_equal(moqc_path_segments(NULL), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_normalize_table),
      cmocka_unit_test(test_normalize_idempotent),
      cmocka_unit_test(test_normalize_len_not_nul),
      cmocka_unit_test(test_normalize_errors),
      cmocka_unit_test(test_segment_limit),
      cmocka_unit_test(test_length_limit),
      cmocka_unit_test(test_has_prefix),
      cmocka_unit_test(test_join),
      cmocka_unit_test(test_strip_prefix),
      cmocka_unit_test(test_resolve),
      cmocka_unit_test(test_segments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
