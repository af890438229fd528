/* Unit tests: src/core/error.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "moqc/error.h"

/* The moq-dev numbering, pinned: a renumbering must fail here. */
static const struct {
  uint64_t code;
  const char *name;
} k_names[] = {
    {0, "Cancel"},
    {1, "RequiredExtension"},
    {2, "Old"},
    {3, "Timeout"},
    {4, "Transport"},
    {5, "Decode"},
    {6, "Unauthorized"},
    {9, "Version"},
    {10, "UnexpectedStream"},
    {11, "BoundsExceeded"},
    {12, "Duplicate"},
    {13, "NotFound"},
    {14, "WrongSize"},
    {15, "ProtocolViolation"},
    {16, "UnexpectedMessage"},
    {17, "Unsupported"},
    {18, "Encode"},
    {19, "TooManyParameters"},
    {20, "InvalidRole"},
    {21, "UnknownAlpn"},
    {24, "Dropped"},
    {25, "Closed"},
    {26, "Lagged"},
    {27, "FrameTooLarge"},
    {29, "TimestampMismatch"},
    {30, "Unroutable"},
    {31, "Evicted"},
};

static void test_code_names(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof k_names / sizeof k_names[0]; i++)
    assert_string_equal(moqc_code_str(k_names[i].code), k_names[i].name);
}

static void test_code_app_and_remote(void **state) {
  (void)state;
  assert_string_equal(moqc_code_str(64), "App");
  assert_string_equal(moqc_code_str(64 + 3), "App");
  assert_string_equal(moqc_code_str(64 + 0xffff), "App");
  assert_string_equal(moqc_code_str(64 + 0x10000), "Remote");
  static const uint64_t gaps[] = {7, 8, 22, 23, 28, 32, 63, MOQC_CODE_MAX, UINT64_MAX};
  for (size_t i = 0; i < sizeof gaps / sizeof gaps[0]; i++)
    assert_string_equal(moqc_code_str(gaps[i]), "Remote");
}

static void test_enum_values(void **state) {
  (void)state;
  assert_int_equal(MOQC_CODE_CANCEL, 0);
  assert_int_equal(MOQC_CODE_VERSION, 9);
  assert_int_equal(MOQC_CODE_UNKNOWN_ALPN, 21);
  assert_int_equal(MOQC_CODE_DROPPED, 24);
  assert_int_equal(MOQC_CODE_TIMESTAMP_MISMATCH, 29);
  assert_int_equal(MOQC_CODE_EVICTED, 31);
  assert_int_equal(MOQC_CODE_APP_BASE, 64);
}

static void test_err_str(void **state) {
  (void)state;
  assert_string_equal(moqc_err_str(MOQC_OK), "MOQC_OK");
  assert_string_equal(moqc_err_str(MOQC_ERR_WRONG_SIZE), "wrong size");
  assert_string_equal(moqc_err_str(1), "unknown error");
  assert_string_equal(moqc_err_str(-1000), "unknown error");
  /* Every defined error has its own name. */
  for (int e = MOQC_ERR_NOMEM; e >= MOQC_ERR_UNEXPECTED; e--) {
    const char *s = moqc_err_str(e);
    assert_non_null(s);
    assert_string_not_equal(s, "unknown error");
    for (int f = e - 1; f >= MOQC_ERR_UNEXPECTED; f--) assert_string_not_equal(s, moqc_err_str(f));
  }
}

static void test_err_from_code(void **state) {
  (void)state;
  assert_int_equal(moqc_err_from_code(MOQC_CODE_CANCEL), MOQC_ERR_CANCEL);
  assert_int_equal(moqc_err_from_code(MOQC_CODE_OLD), MOQC_ERR_OLD);
  assert_int_equal(moqc_err_from_code(MOQC_CODE_TIMEOUT), MOQC_ERR_TIMEOUT);
  assert_int_equal(moqc_err_from_code(MOQC_CODE_TRANSPORT), MOQC_ERR_TRANSPORT);
  assert_int_equal(moqc_err_from_code(MOQC_CODE_DECODE), MOQC_ERR_DECODE);
  assert_int_equal(moqc_err_from_code(MOQC_CODE_UNAUTHORIZED), MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(moqc_err_from_code(MOQC_CODE_VERSION), MOQC_ERR_VERSION);
  assert_int_equal(moqc_err_from_code(MOQC_CODE_NOT_FOUND), MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_err_from_code(MOQC_CODE_WRONG_SIZE), MOQC_ERR_WRONG_SIZE);
  assert_int_equal(moqc_err_from_code(MOQC_CODE_PROTOCOL_VIOLATION), MOQC_ERR_PROTOCOL);
  assert_int_equal(moqc_err_from_code(MOQC_CODE_DROPPED), MOQC_ERR_DROPPED);
  assert_int_equal(moqc_err_from_code(MOQC_CODE_CLOSED), MOQC_ERR_CLOSED);
  assert_int_equal(moqc_err_from_code(MOQC_CODE_LAGGED), MOQC_ERR_LAGGED);
  assert_int_equal(moqc_err_from_code(MOQC_CODE_FRAME_TOO_LARGE), MOQC_ERR_TOO_LARGE);
  assert_int_equal(moqc_err_from_code(MOQC_CODE_TIMESTAMP_MISMATCH), MOQC_ERR_TIMESTAMP);
  assert_int_equal(moqc_err_from_code(MOQC_CODE_UNROUTABLE), MOQC_ERR_UNROUTABLE);
  assert_int_equal(moqc_err_from_code(MOQC_CODE_EVICTED), MOQC_ERR_EVICTED);
  assert_int_equal(moqc_err_from_code(MOQC_CODE_BOUNDS_EXCEEDED), MOQC_ERR_BOUNDS);
  assert_int_equal(moqc_err_from_code(MOQC_CODE_DUPLICATE), MOQC_ERR_DUPLICATE);
  /* App and unknown codes are "aborted, see the code". */
  assert_int_equal(moqc_err_from_code(64), MOQC_ERR_ABORTED);
  assert_int_equal(moqc_err_from_code(64 + 7), MOQC_ERR_ABORTED);
  assert_int_equal(moqc_err_from_code(7), MOQC_ERR_ABORTED);
  assert_int_equal(moqc_err_from_code(28), MOQC_ERR_ABORTED);
  assert_int_equal(moqc_err_from_code(UINT64_MAX), MOQC_ERR_ABORTED);
  /* Every named code maps to a real error, never MOQC_OK. */
  for (size_t i = 0; i < sizeof k_names / sizeof k_names[0]; i++)
    assert_true(moqc_err_from_code(k_names[i].code) < 0);
}

static void test_code_from_err(void **state) {
  (void)state;
  assert_int_equal(moqc_code_from_err(MOQC_OK), MOQC_CODE_CANCEL);
  assert_int_equal(moqc_code_from_err(MOQC_ERR_CLOSED), MOQC_CODE_CANCEL);
  assert_int_equal(moqc_code_from_err(MOQC_ERR_CANCEL), MOQC_CODE_CANCEL);
  assert_int_equal(moqc_code_from_err(MOQC_ERR_DECODE), MOQC_CODE_DECODE);
  assert_int_equal(moqc_code_from_err(MOQC_ERR_PROTOCOL), MOQC_CODE_PROTOCOL_VIOLATION);
  assert_int_equal(moqc_code_from_err(MOQC_ERR_TOO_LARGE), MOQC_CODE_FRAME_TOO_LARGE);
  assert_int_equal(moqc_code_from_err(MOQC_ERR_TIMESTAMP), MOQC_CODE_TIMESTAMP_MISMATCH);
  assert_int_equal(moqc_code_from_err(MOQC_ERR_UNROUTABLE), MOQC_CODE_UNROUTABLE);
  assert_int_equal(moqc_code_from_err(MOQC_ERR_BOUNDS), MOQC_CODE_BOUNDS_EXCEEDED);
  /* No wire equivalent: peer faults vs local faults. */
  assert_int_equal(moqc_code_from_err(MOQC_ERR_OVERFLOW), MOQC_CODE_PROTOCOL_VIOLATION);
  assert_int_equal(moqc_code_from_err(MOQC_ERR_NEED_MORE), MOQC_CODE_PROTOCOL_VIOLATION);
  assert_int_equal(moqc_code_from_err(MOQC_ERR_NOMEM), MOQC_CODE_TRANSPORT);
  assert_int_equal(moqc_code_from_err(MOQC_ERR_IO), MOQC_CODE_TRANSPORT);
  assert_int_equal(moqc_code_from_err(MOQC_ERR_STATE), MOQC_CODE_TRANSPORT);
  assert_int_equal(moqc_code_from_err(-1000), MOQC_CODE_TRANSPORT);
}

/* err -> code -> err is the identity for every error with an exact wire twin. */
static void test_round_trip(void **state) {
  (void)state;
  static const int exact[] = {
      MOQC_ERR_CANCEL,      MOQC_ERR_OLD,          MOQC_ERR_TIMEOUT,    MOQC_ERR_TRANSPORT,
      MOQC_ERR_DECODE,      MOQC_ERR_UNAUTHORIZED, MOQC_ERR_VERSION,    MOQC_ERR_BOUNDS,
      MOQC_ERR_DUPLICATE,   MOQC_ERR_NOT_FOUND,    MOQC_ERR_WRONG_SIZE, MOQC_ERR_PROTOCOL,
      MOQC_ERR_UNSUPPORTED, MOQC_ERR_DROPPED,      MOQC_ERR_LAGGED,     MOQC_ERR_TOO_LARGE,
      MOQC_ERR_TIMESTAMP,   MOQC_ERR_UNROUTABLE,   MOQC_ERR_EVICTED,    MOQC_ERR_UNEXPECTED,
  };
  for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
    assert_int_equal(moqc_err_from_code(moqc_code_from_err(exact[i])), exact[i]);
  /* Every mapped code is a valid 62-bit wire value. */
  for (int e = 0; e >= -40; e--) assert_true(moqc_code_from_err(e) <= MOQC_CODE_MAX);
}

/* Close codes per version: IETF drafts name and read their Session
 * Termination registry (0x7 per draft), moq-lite its own; the moqc_code a
 * session is closed with goes out as the draft's nearest session code. */
static void test_close_codes(void **state) {
  (void)state;
  /* The same number, two registries. */
  assert_string_equal(moqc_close_code_str(5, 3), "Timeout");
  assert_string_equal(moqc_close_code_str(16, 3), "PROTOCOL_VIOLATION");
  assert_string_equal(moqc_close_code_str(3, 17), "Unsupported");
  assert_string_equal(moqc_close_code_str(14, 0x0), "NO_ERROR");
  assert_string_equal(moqc_close_code_str(19, 0x4), "INVALID_REQUEST_ID");
  assert_string_equal(moqc_close_code_str(14, 0x11), "CONTROL_MESSAGE_TIMEOUT");
  assert_string_equal(moqc_close_code_str(18, 0x15), "VERSION_NEGOTIATION_FAILED");
  assert_string_equal(moqc_close_code_str(17, 0x1A), "MALFORMED_AUTHORITY");
  assert_string_equal(moqc_close_code_str(17, 0xA), "unknown");
  assert_string_equal(moqc_close_code_str(14, 0x7), "TOO_MANY_REQUESTS");
  assert_string_equal(moqc_close_code_str(16, 0x7), "TOO_MANY_REQUESTS");
  assert_string_equal(moqc_close_code_str(17, 0x7), "INVALID_REQUIRED_REQUEST_ID");
  assert_string_equal(moqc_close_code_str(18, 0x7), "unknown");
  assert_string_equal(moqc_close_code_str(19, 0x7), "unknown");
  /* Read back as library errors. */
  assert_int_equal(moqc_close_code_err(5, 3), MOQC_ERR_TIMEOUT);
  assert_int_equal(moqc_close_code_err(15, 3), MOQC_ERR_PROTOCOL);
  assert_int_equal(moqc_close_code_err(15, 0), MOQC_ERR_CLOSED);
  assert_int_equal(moqc_close_code_err(15, 0x2), MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(moqc_close_code_err(16, 0x7), MOQC_ERR_BOUNDS);
  assert_int_equal(moqc_close_code_err(17, 0x7), MOQC_ERR_PROTOCOL);
  assert_int_equal(moqc_close_code_err(18, 0x7), MOQC_ERR_ABORTED);
  assert_int_equal(moqc_close_code_err(14, 0x11), MOQC_ERR_TIMEOUT);
  assert_int_equal(moqc_close_code_err(14, 69), MOQC_ERR_ABORTED);
  /* Sent: lite as it is, IETF mapped. */
  for (uint64_t c = 0; c < 100; c++) assert_int_equal(moqc_close_code_to_wire(5, c), c);
  assert_int_equal(moqc_close_code_to_wire(14, MOQC_CODE_CANCEL), 0x0);
  assert_int_equal(moqc_close_code_to_wire(14, MOQC_CODE_CLOSED), 0x0);
  assert_int_equal(moqc_close_code_to_wire(14, MOQC_CODE_TRANSPORT), 0x1); /* out of memory */
  assert_int_equal(moqc_close_code_to_wire(19, MOQC_CODE_UNAUTHORIZED), 0x2);
  assert_int_equal(moqc_close_code_to_wire(15, MOQC_CODE_DECODE), 0x3);
  assert_int_equal(moqc_close_code_to_wire(17, MOQC_CODE_PROTOCOL_VIOLATION), 0x3);
  assert_int_equal(moqc_close_code_to_wire(18, MOQC_CODE_UNEXPECTED_STREAM), 0x3);
  assert_int_equal(moqc_close_code_to_wire(16, MOQC_CODE_BOUNDS_EXCEEDED), 0x7);
  assert_int_equal(moqc_close_code_to_wire(17, MOQC_CODE_BOUNDS_EXCEEDED), 0x1);
  assert_int_equal(moqc_close_code_to_wire(16, MOQC_CODE_TIMEOUT), 0x11);
  assert_int_equal(moqc_close_code_to_wire(16, MOQC_CODE_VERSION), 0x15);
  assert_int_equal(moqc_close_code_to_wire(16, MOQC_CODE_APP_BASE + 3), 0x1);
  /* Every moqc_code maps to a code the draft names (never a raw lite number). */
  for (int v = 14; v <= 19; v++)
    for (uint64_t c = 0; c < 200; c++)
      assert_string_not_equal(moqc_close_code_str(v, moqc_close_code_to_wire(v, c)), "unknown");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_code_names),    cmocka_unit_test(test_code_app_and_remote),
      cmocka_unit_test(test_enum_values),   cmocka_unit_test(test_err_str),
      cmocka_unit_test(test_err_from_code), cmocka_unit_test(test_code_from_err),
      cmocka_unit_test(test_round_trip),    cmocka_unit_test(test_close_codes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
