/* src/runtime/url.c: moqc_url_parse, moqc_default_versions, moqc_version_supported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "moqc/endpoint.h"
#include "moqc/error.h"

static void expect_ok(const char *s, moqc_url_kind kind, const char *host, uint16_t port,
                      const char *path) {
  moqc_url u;
  char err[256] = "untouched";
  assert_int_equal(moqc_url_parse(s, &u, err, sizeof err), MOQC_OK);
  assert_int_equal(u.kind, kind);
  assert_string_equal(u.host, host);
  assert_int_equal(u.port, port);
  assert_string_equal(u.path, path);
}

static void expect_bad(const char *s, const char *why) {
  moqc_url u;
  char err[256] = "";
  assert_int_equal(moqc_url_parse(s, &u, err, sizeof err), MOQC_ERR_INVAL);
  assert_non_null(strstr(err, why));
}

static void test_good(void **state) {
  (void)state;
  expect_ok("https://relay.example:4443/room?jwt=x", MOQC_URL_WEBTRANSPORT, "relay.example", 4443,
            "/room?jwt=x");
  expect_ok("https://relay.example", MOQC_URL_WEBTRANSPORT, "relay.example", 443, "/");
  expect_ok("HTTPS://h/", MOQC_URL_WEBTRANSPORT, "h", 443, "/");
  expect_ok("http://127.0.0.1:4443/a/b", MOQC_URL_HTTP_BOOTSTRAP, "127.0.0.1", 4443, "/a/b");
  expect_ok("moqt://[::1]:9000/x", MOQC_URL_QUIC, "::1", 9000, "/x");
  expect_ok("moql://[::1]", MOQC_URL_QUIC, "::1", 443, "/");
  expect_ok("moqt://h:1?q", MOQC_URL_QUIC, "h", 1, "/?q");
  expect_ok("moqt://h:65535/p#frag", MOQC_URL_QUIC, "h", 65535, "/p");
}

static void test_bad(void **state) {
  (void)state;
  expect_bad("ftp://h/", "scheme");
  expect_bad("h:443/", "scheme");
  expect_bad("", "scheme");
  expect_bad("https://", "bad host or port");
  expect_bad("https://:443/", "bad host or port");
  expect_bad("https://h:0/", "bad host or port");
  expect_bad("https://h:65536/", "bad host or port");
  expect_bad("https://h:123456/", "bad host or port");
  expect_bad("https://h:12a/", "bad host or port");
  expect_bad("https://h:/", "bad host or port");
  expect_bad("https://[::1/", "bad host or port");
  expect_bad("https://[::1]x/", "bad host or port");
  expect_bad("https://user@h/", "user info");
  expect_bad("http://h/", "explicit port");
  expect_bad("https://h/a b", "control character");
  expect_bad("https://h/\x01", "control character");
  char long_host[400];
  memset(long_host, 'a', sizeof long_host);
  memcpy(long_host, "https://", 8);
  long_host[sizeof long_host - 1] = 0;
  expect_bad(long_host, "bad host or port");
  static char long_path[3000];
  memset(long_path, 'p', sizeof long_path);
  memcpy(long_path, "https://h/", 10);
  long_path[sizeof long_path - 1] = 0;
  expect_bad(long_path, "path too long");
}

static void test_null_and_no_err_buffer(void **state) {
  (void)state;
  moqc_url u;
  char err[64] = "";
  assert_int_equal(moqc_url_parse(NULL, &u, err, sizeof err), MOQC_ERR_INVAL);
  assert_non_null(strstr(err, "(null)"));
  assert_int_equal(moqc_url_parse("https://h/", NULL, NULL, 0), MOQC_ERR_INVAL);
  assert_int_equal(moqc_url_parse("bogus", &u, NULL, 0), MOQC_ERR_INVAL);
  /* A short error buffer is truncated, never overrun. */
  char tiny[8];
  memset(tiny, 'x', sizeof tiny);
  assert_int_equal(moqc_url_parse("bogus", &u, tiny, 4), MOQC_ERR_INVAL);
  assert_int_equal(strlen(tiny), 3);
  assert_int_equal(tiny[4], 'x');
}

static void test_versions(void **state) {
  (void)state;
  size_t n = 0;
  const char *const *v = moqc_default_versions(&n);
  assert_int_equal(n, 10);
  /* moq-dev's preference order: moq-lite first, moql, then the IETF drafts, newest first. */
  assert_string_equal(v[0], "moq-lite-05");
  assert_string_equal(v[2], "moq-lite-03");
  assert_string_equal(v[3], "moql");
  assert_string_equal(v[4], "moqt-19");
  assert_string_equal(v[5], "moqt-18");
  assert_string_equal(v[6], "moqt-17");
  assert_string_equal(v[7], "moqt-16");
  assert_string_equal(v[9], "moq-00");
  assert_false(moqc_version_supported("moqt-20")); /* no codec */
  assert_non_null(moqc_default_versions(NULL));
  for (size_t i = 0; i < n; i++) assert_true(moqc_version_supported(v[i]));
  assert_false(moqc_version_supported("moq-lite-02"));
  assert_false(moqc_version_supported("h3"));
  assert_false(moqc_version_supported(""));
  assert_false(moqc_version_supported(NULL));
}

/* An error message names the URL, but never the ?jwt= token it carries (it
 * reaches the CLI's stderr). */
static void test_error_redacts_jwt(void **state) {
  (void)state;
  char err[256] = "";
  moqc_url u;
  assert_int_equal(
      moqc_url_parse("ftp://relay:443/room?a=1&jwt=eyJSECRET.x.y&b=2", &u, err, sizeof err),
      MOQC_ERR_INVAL);
  assert_null(strstr(err, "SECRET"));
  assert_non_null(strstr(err, "ftp://relay:443/room?a=1&jwt=<redacted>&b=2"));
  assert_int_equal(moqc_url_parse("https://relay/room?jwt=eyJSECRET x", &u, err, sizeof err),
                   MOQC_ERR_INVAL);
  assert_null(strstr(err, "SECRET"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_good),
      cmocka_unit_test(test_bad),
      cmocka_unit_test(test_null_and_no_err_buffer),
      cmocka_unit_test(test_versions),
      cmocka_unit_test(test_error_redacts_jwt),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
