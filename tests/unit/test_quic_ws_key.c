/* Unit tests: src/quic/ws_key.c, the WebSocket accept key (RFC 6455 §4.2.2)
 * computed with GnuTLS's SHA-1 and base64. The vectors are RFC 6455 §1.3's
 * example, MDN's/Wikipedia's example, and keys whose answers Python's hashlib
 * and base64 computed (independent of GnuTLS). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "moqc/error.h"
#include "moqc/quic.h"

static void test_vectors(void **st) {
  (void)st;
  static const struct {
    const char *key, *accept;
  } v[] = {
      {"dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}, /* RFC 6455 §1.3 */
      {"x3JJHMbDL1EzLkh9GBhXDw==", "HSmrc0sMlYUkAGmm5OPpG2HaGWk="},
      {"AAAAAAAAAAAAAAAAAAAAAA==", "ICX+Yqv66kxgM0FcWaLWlFLwTAI="},
      {"/////////////////////w==", "XXpj4jYzLM2yUE0C7TIgMwTQh2g="},
      {"AQIDBAUGBwgJCgsMDQ4PEA==", "C/0nmHhBztSRGR1CwL6Tf4ZjwpY="},
  };
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    char out[29];
    memset(out, 'x', sizeof out);
    assert_int_equal(moqc_ws_accept_key(v[i].key, out), MOQC_OK);
    assert_int_equal(out[28], 0);
    assert_string_equal(out, v[i].accept);
  }
}

static void test_invalid(void **st) {
  (void)st;
  char out[29];
  assert_int_equal(moqc_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=", out), MOQC_ERR_INVAL);   /* 23 */
  assert_int_equal(moqc_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ===", out), MOQC_ERR_INVAL); /* 25 */
  assert_int_equal(moqc_ws_accept_key("dGhlIHNhbXBsZSBub25jZ!==", out), MOQC_ERR_INVAL);
  assert_int_equal(moqc_ws_accept_key("dGhlIHNhbXBsZSBub25j Q==", out), MOQC_ERR_INVAL);
  assert_int_equal(moqc_ws_accept_key("-GhlIHNhbXBsZSBub25jZQ==", out), MOQC_ERR_INVAL);
  assert_int_equal(moqc_ws_accept_key("dGhlIHNhbXBsZSBub25jZQA=", out), MOQC_ERR_INVAL);
  assert_int_equal(moqc_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=A", out), MOQC_ERR_INVAL);
  assert_int_equal(moqc_ws_accept_key("", out), MOQC_ERR_INVAL);
  assert_int_equal(moqc_ws_accept_key(NULL, out), MOQC_ERR_INVAL);
  assert_int_equal(moqc_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", NULL), MOQC_ERR_INVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vectors),
      cmocka_unit_test(test_invalid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
