/* moq-lite SETUP / PROBE / GOAWAY codecs (src/core/lite_wire_setup.c).
 * Vectors: moq-wire.md §2.2 server SETUP, and the messages of moq-dev
 * rs/moq-net/src/lite/{setup,probe}.rs and js/net/src/lite/setup.test.ts. */
#include "test_lite_wire_common.h"

LT_CODEC(setup, 0);
LT_CODEC(probe, 0);
LT_CODEC(goaway, 0);

static const int LT_05[] = {MOQC_LITE_05, 0};

/* ---- SETUP ---------------------------------------------------------------- */

static void test_setup_vectors(void **state) {
  (void)state;
  /* moq-wire.md §2.2: server SETUP probe=Report, origin=7, after the 01 stream type */
  struct moqc_lite_setup m = {.probe = MOQC_LITE_PROBE_REPORT, .origin = 7};
  lt_check(&LT_setup, MOQC_LITE_05, &m, "07 02 01 01 01 05 01 07");
  uint8_t b[LT_MAX], want[LT_MAX];
  size_t n = lt_hex(want, sizeof want, "01 | 07 02 01 01 01 05 01 07");
  size_t k = (size_t)moqc_lite_stream_type_encode(b, sizeof b, MOQC_LITE_UNI_SETUP);
  k += (size_t)moqc_lite_setup_encode(b + k, sizeof b - k, MOQC_LITE_05, &m);
  assert_int_equal(k, n);
  assert_memory_equal(b, want, n);

  /* empty SETUP (empty_round_trip; js "Both is the wire default": size 1 + count 0) */
  m = (struct moqc_lite_setup){0};
  lt_check(&LT_setup, MOQC_LITE_05, &m, "01 00");
  /* client: probe Report, path /room/123, role Publisher (roles_round_trip) */
  m = (struct moqc_lite_setup){.probe = MOQC_LITE_PROBE_REPORT,
                               .has_path = true,
                               .path = lt_str("/room/123"),
                               .role = MOQC_LITE_ROLE_PUBLISHER};
  lt_check(&LT_setup, MOQC_LITE_05, &m, "12 03 01 01 01 02 09 2f 72 6f 6f 6d 2f 31 32 33 03 01 01");
  /* cost Some(0) survives (cost_round_trip) */
  m = (struct moqc_lite_setup){.has_cost = true, .cost = 0};
  lt_check(&LT_setup, MOQC_LITE_05, &m, "04 01 04 01 00");
  /* origin 42 (origin_round_trip) and a 2^53-1 origin (8-byte value) */
  m = (struct moqc_lite_setup){.origin = 42};
  lt_check(&LT_setup, MOQC_LITE_05, &m, "04 01 05 01 2a");
  m.origin = ((uint64_t)1 << 53) - 1;
  lt_check(&LT_setup, MOQC_LITE_05, &m, "0b 01 05 08 c0 1f ff ff ff ff ff ff");
  /* empty path is distinct from absent on the wire (empty_path_round_trips) */
  m = (struct moqc_lite_setup){.has_path = true, .path = lt_str("")};
  lt_check(&LT_setup, MOQC_LITE_05, &m, "03 01 02 00");
  /* every parameter, in id order */
  m = (struct moqc_lite_setup){
      MOQC_LITE_PROBE_INCREASE, true, lt_str("/x?jwt=a"), MOQC_LITE_ROLE_SUBSCRIBER, true, 300, 9};
  lt_check_versions(&LT_setup, LT_05, &m,
                    "18 05 01 01 02 02 08 2f 78 3f 6a 77 74 3d 61 03 01 02 04 02 41 2c 05 01 09");
}

static const struct moqc_lite_setup *decoded_setup(void) {
  return (const struct moqc_lite_setup *)(const void *)lt_scratch;
}

static void test_setup_decode_rules(void **state) {
  (void)state;
  /* unknown_probe_level_saturates_to_increase */
  lt_expect_decode_hex(&LT_setup, MOQC_LITE_05, "05 01 01 02 40 63", 6);
  assert_int_equal(decoded_setup()->probe, MOQC_LITE_PROBE_INCREASE);
  /* unknown_role_decodes_as_bidirectional: 0, 9, 250 */
  lt_expect_decode_hex(&LT_setup, MOQC_LITE_05, "04 01 03 01 00", 5);
  assert_int_equal(decoded_setup()->role, MOQC_LITE_ROLE_BOTH);
  lt_expect_decode_hex(&LT_setup, MOQC_LITE_05, "04 01 03 01 09", 5);
  assert_int_equal(decoded_setup()->role, MOQC_LITE_ROLE_BOTH);
  lt_expect_decode_hex(&LT_setup, MOQC_LITE_05, "05 01 03 02 40 fa", 6);
  assert_int_equal(decoded_setup()->role, MOQC_LITE_ROLE_BOTH);
  lt_expect_decode_hex(&LT_setup, MOQC_LITE_05, "04 01 03 01 02", 5);
  assert_int_equal(decoded_setup()->role, MOQC_LITE_ROLE_SUBSCRIBER);
  /* origin_zero_decodes_as_none */
  lt_expect_decode_hex(&LT_setup, MOQC_LITE_05, "04 01 05 01 00", 5);
  assert_int_equal(decoded_setup()->origin, 0);
  /* ignores_unknown_parameters: path /foo + 0xbeef "whatever" */
  lt_expect_decode_hex(&LT_setup, MOQC_LITE_05,
                       "14 02 02 04 2f 66 6f 6f 80 00 be ef 08 77 68 61 74 65 76 65 72", 0x15);
  assert_true(decoded_setup()->has_path);
  assert_true(lite_bytes_eq(decoded_setup()->path, lt_str("/foo")));
  assert_int_equal(decoded_setup()->probe, MOQC_LITE_PROBE_NONE);
  assert_false(decoded_setup()->has_cost);
  /* a non-minimal varint value is fine */
  lt_expect_decode_hex(&LT_setup, MOQC_LITE_05, "05 01 01 02 40 01", 6);
  assert_int_equal(decoded_setup()->probe, MOQC_LITE_PROBE_REPORT);
  /* duplicates (known and unknown) */
  lt_expect_decode_hex(&LT_setup, MOQC_LITE_05, "07 02 01 01 01 01 01 02", MOQC_ERR_DECODE);
  lt_expect_decode_hex(&LT_setup, MOQC_LITE_05, "05 02 09 00 09 00", MOQC_ERR_DECODE);
  lt_expect_decode_hex(&LT_setup, MOQC_LITE_05, "05 02 02 00 02 00", MOQC_ERR_DECODE);
  /* varint values must be exactly one varint */
  lt_expect_decode_hex(&LT_setup, MOQC_LITE_05, "05 01 01 02 01 00", MOQC_ERR_DECODE);
  lt_expect_decode_hex(&LT_setup, MOQC_LITE_05, "03 01 01 00", MOQC_ERR_DECODE);
  lt_expect_decode_hex(&LT_setup, MOQC_LITE_05, "04 01 04 01 40", MOQC_ERR_DECODE);
  /* unknown params are opaque: any value, even empty */
  lt_expect_decode_hex(&LT_setup, MOQC_LITE_05, "03 01 06 00", 4);
  /* path must be UTF-8; a value running past the body */
  lt_expect_decode_hex(&LT_setup, MOQC_LITE_05, "05 01 02 02 c3 28", MOQC_ERR_DECODE);
  lt_expect_decode_hex(&LT_setup, MOQC_LITE_05, "04 01 01 05 01", MOQC_ERR_DECODE);
  lt_expect_decode_hex(&LT_setup, MOQC_LITE_05, "02 02 01", MOQC_ERR_DECODE);
  /* lite-05 only (rejects_before_lite05) */
  for (int v = MOQC_LITE_03; v <= MOQC_LITE_04; v++) {
    struct moqc_lite_setup m = {0};
    assert_int_equal(moqc_lite_setup_encode(NULL, 0, v, &m), MOQC_ERR_INVAL);
    lt_expect_decode_hex(&LT_setup, v, "01 00", MOQC_ERR_INVAL);
  }
}

static void test_setup_param_count(void **state) {
  (void)state;
  uint8_t body[512], msg[600];
  for (unsigned count = MOQC_LITE_MAX_PARAMS; count <= MOQC_LITE_MAX_PARAMS + 1; count++) {
    moqc_writer w = moqc_writer_make(body, sizeof body);
    moqc_write_varint(&w, count);
    for (unsigned i = 0; i < count; i++) {
      moqc_write_varint(&w, 0x10 + i); /* unknown ids */
      moqc_write_bytes(&w, "v", 1);
    }
    moqc_writer o = moqc_writer_make(msg, sizeof msg);
    moqc_write_bytes(&o, body, w.pos);
    assert_int_equal(o.err, 0);
    lt_expect_decode(&LT_setup, MOQC_LITE_05, msg, o.pos,
                     count <= MOQC_LITE_MAX_PARAMS ? (ssize_t)o.pos : MOQC_ERR_DECODE);
  }
  /* a huge count is rejected without looking further */
  lt_expect_decode_hex(&LT_setup, MOQC_LITE_05, "08 ff ff ff ff ff ff ff ff", MOQC_ERR_DECODE);
}

static void test_setup_encode_errors(void **state) {
  (void)state;
  struct moqc_lite_setup m = {.probe = 3};
  assert_int_equal(moqc_lite_setup_encode(NULL, 0, MOQC_LITE_05, &m), MOQC_ERR_INVAL);
  m = (struct moqc_lite_setup){.role = 3};
  assert_int_equal(moqc_lite_setup_encode(NULL, 0, MOQC_LITE_05, &m), MOQC_ERR_INVAL);
  m = (struct moqc_lite_setup){.origin = MOQC_VARINT_MAX + 1};
  assert_int_equal(moqc_lite_setup_encode(NULL, 0, MOQC_LITE_05, &m), MOQC_ERR_OVERFLOW);
  m = (struct moqc_lite_setup){.has_cost = true, .cost = MOQC_VARINT_MAX + 1};
  assert_int_equal(moqc_lite_setup_encode(NULL, 0, MOQC_LITE_05, &m), MOQC_ERR_OVERFLOW);
  m = (struct moqc_lite_setup){.has_path = true, .path = {NULL, 3}};
  assert_int_equal(moqc_lite_setup_encode(NULL, 0, MOQC_LITE_05, &m), MOQC_ERR_INVAL);
  m.path = (moqc_bytes){(const uint8_t *)"\xff", 1};
  assert_int_equal(moqc_lite_setup_encode(NULL, 0, MOQC_LITE_05, &m), MOQC_ERR_INVAL);
  assert_int_equal(moqc_lite_setup_encode(NULL, 0, MOQC_LITE_05, NULL), MOQC_ERR_INVAL);
  /* a long path (JWT query) is bounded by the message size, not 4096 */
  static char path[MOQC_LITE_MSG_MAX];
  static uint8_t b[MOQC_LITE_MSG_MAX + 16];
  memset(path, 'j', sizeof path);
  m.path = (moqc_bytes){(const uint8_t *)path, 8000};
  ssize_t n = moqc_lite_setup_encode(b, sizeof b, MOQC_LITE_05, &m);
  assert_int_equal(n, 2 + 1 + 1 + 2 + 8000);
  lt_expect_decode(&LT_setup, MOQC_LITE_05, b, (size_t)n, n);
  m.path.len = MOQC_LITE_MSG_MAX - 8; /* body = 1 + 1 + 4 + len = 65534 */
  n = moqc_lite_setup_encode(b, sizeof b, MOQC_LITE_05, &m);
  assert_int_equal(n, 4 + MOQC_LITE_MSG_MAX - 2);
  lt_expect_decode(&LT_setup, MOQC_LITE_05, b, (size_t)n, n);
  m.path.len = MOQC_LITE_MSG_MAX - 4; /* body 65538 */
  assert_int_equal(moqc_lite_setup_encode(b, sizeof b, MOQC_LITE_05, &m), MOQC_ERR_INVAL);
}

/* ---- PROBE ----------------------------------------------------------------------------- */

static void test_probe(void **state) {
  (void)state;
  struct moqc_lite_probe m = {1000000, 40}; /* probe.rs each_field_is_independently_unknown */
  lt_check_versions(&LT_probe, LT_0405, &m, "05 80 0f 42 40 28");
  m.rtt = 0;
  lt_check_versions(&LT_probe, LT_0405, &m, "05 80 0f 42 40 00");
  lt_check(&LT_probe, MOQC_LITE_03, &m, "04 80 0f 42 40"); /* lite03_carries_bitrate_only */
  m = (struct moqc_lite_probe){0, 40};
  lt_check_versions(&LT_probe, LT_0405, &m, "02 00 28");
  m = (struct moqc_lite_probe){0, 0};
  lt_check(&LT_probe, MOQC_LITE_03, &m, "01 00");
  lt_check_versions(&LT_probe, LT_0405, &m, "02 00 00");
  /* the RTT is not encoded on lite-03 */
  uint8_t b[16];
  m = (struct moqc_lite_probe){1, 40};
  assert_int_equal(moqc_lite_probe_encode(b, sizeof b, MOQC_LITE_03, &m), 2);
  assert_memory_equal(b, "\x01\x01", 2);
  lt_expect_decode_hex(&LT_probe, MOQC_LITE_03, "05 80 0f 42 40 28", MOQC_ERR_DECODE);
  lt_expect_decode_hex(&LT_probe, MOQC_LITE_04, "04 80 0f 42 40", MOQC_ERR_DECODE);
}

/* ---- GOAWAY ------------------------------------------------------------------------------ */

static void test_goaway(void **state) {
  (void)state;
  struct moqc_lite_goaway m = {lt_str("")};
  lt_check_versions(&LT_goaway, LT_0405, &m, "01 00");
  m.uri = lt_str("moqt://a");
  lt_check_versions(&LT_goaway, LT_0405, &m, "09 08 6d 6f 71 74 3a 2f 2f 61");
  assert_int_equal(moqc_lite_goaway_encode(NULL, 0, MOQC_LITE_03, &m), MOQC_ERR_INVAL);
  lt_expect_decode_hex(&LT_goaway, MOQC_LITE_03, "01 00", MOQC_ERR_INVAL);
  lt_expect_decode_hex(&LT_goaway, MOQC_LITE_04, "02 01 80", MOQC_ERR_DECODE);
  m.uri = (moqc_bytes){(const uint8_t *)"\x80", 1};
  assert_int_equal(moqc_lite_goaway_encode(NULL, 0, MOQC_LITE_05, &m), MOQC_ERR_INVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_setup_vectors),
      cmocka_unit_test(test_setup_decode_rules),
      cmocka_unit_test(test_setup_param_count),
      cmocka_unit_test(test_setup_encode_errors),
      cmocka_unit_test(test_probe),
      cmocka_unit_test(test_goaway),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
