/* moq-lite subscribe / track / fetch codecs (src/core/lite_wire_subscribe.c).
 * Vectors: moq-wire.md §2.4/§2.7 and the messages of moq-dev
 * rs/moq-net/src/lite/{subscribe,track,fetch}.rs and js/net/src/lite/subscribe.test.ts. */
#include "test_lite_wire_common.h"

LT_CODEC(subscribe, 0);
LT_CODEC(subscribe_update, 0);
LT_CODEC(subscribe_resp, 1);
LT_CODEC(track, 0);
LT_CODEC(track_info, 0);
LT_CODEC(fetch, 0);

#define ROOM "04 72 6f 6f 6d"
#define VIDEO "05 76 69 64 65 6f"
#define NONE MOQC_LITE_GROUP_NONE

/* ---- SUBSCRIBE -------------------------------------------------------------- */

static void test_subscribe_vectors(void **state) {
  (void)state;
  /* moq-wire.md §2.4: lite-04 SUBSCRIBE id 0, room/video, priority 0, defaults,
   * `02` being the stream type. The body is the same on lite-03 and lite-05. */
  struct moqc_lite_subscribe m = {0, lt_str("room"), lt_str("video"), 0, false, 0, NONE, NONE};
  lt_check_versions(&LT_subscribe, LT_ALL, &m, "11 00 " ROOM " " VIDEO " 00 00 00 00 00");
  uint8_t b[LT_MAX], want[LT_MAX];
  size_t n =
      lt_hex(want, sizeof want, "02 | 11 00 04 72 6f 6f 6d 05 76 69 64 65 6f 00 00 00 00 00");
  size_t k = (size_t)moqc_lite_stream_type_encode(b, sizeof b, MOQC_LITE_BIDI_SUBSCRIBE);
  k += (size_t)moqc_lite_subscribe_encode(b + k, sizeof b - k, MOQC_LITE_04, &m);
  assert_int_equal(k, n);
  assert_memory_equal(b, want, n);

  /* subscribe.test.ts: id 4, test/video, priority 7, ordered, 250 ms, start 0, end 9 */
  m = (struct moqc_lite_subscribe){4, lt_str("test"), lt_str("video"), 7, true, 250, 0, 9};
  lt_check_versions(&LT_subscribe, LT_ALL, &m, "12 04 04 74 65 73 74 " VIDEO " 07 01 40 fa 01 0a");
  /* any non-zero ordered byte is true */
  lt_expect_decode_hex(&LT_subscribe, MOQC_LITE_04,
                       "12 04 04 74 65 73 74 " VIDEO " 07 05 40 fa 01 0a", 0x13);
  assert_true(((struct moqc_lite_subscribe *)(void *)lt_scratch)->ordered);

  /* optional group edge: 2^62-2 is the largest encodable group */
  m = (struct moqc_lite_subscribe){0,     lt_str(""), lt_str(""),          0,
                                   false, 0,          MOQC_VARINT_MAX - 1, NONE};
  lt_check(&LT_subscribe, MOQC_LITE_05, &m, "0f 00 00 00 00 00 00 ff ff ff ff ff ff ff ff 00");
  m.start_group = MOQC_VARINT_MAX;
  assert_int_equal(moqc_lite_subscribe_encode(b, sizeof b, MOQC_LITE_05, &m), MOQC_ERR_OVERFLOW);
  m.start_group = NONE;
  m.end_group = MOQC_VARINT_MAX;
  assert_int_equal(moqc_lite_subscribe_encode(b, sizeof b, MOQC_LITE_05, &m), MOQC_ERR_OVERFLOW);
  m.end_group = NONE;
  m.max_latency = MOQC_VARINT_MAX + 1;
  assert_int_equal(moqc_lite_subscribe_encode(b, sizeof b, MOQC_LITE_05, &m), MOQC_ERR_OVERFLOW);

  /* a track name over 4096 bytes, invalid UTF-8, missing fields */
  static char big[MOQC_LITE_PATH_MAX + 1];
  static uint8_t bigbuf[2 * MOQC_LITE_PATH_MAX];
  memset(big, 't', sizeof big);
  m.max_latency = 0;
  m.track = (moqc_bytes){(const uint8_t *)big, sizeof big};
  assert_int_equal(moqc_lite_subscribe_encode(b, sizeof b, MOQC_LITE_05, &m), MOQC_ERR_INVAL);
  m.track.len--;
  ssize_t e = moqc_lite_subscribe_encode(bigbuf, sizeof bigbuf, MOQC_LITE_05, &m);
  assert_int_equal(e, 2 + 1 + 1 + 2 + MOQC_LITE_PATH_MAX + 5);
  lt_expect_decode(&LT_subscribe, MOQC_LITE_05, bigbuf, (size_t)e, e);
  bigbuf[1] = (uint8_t)(bigbuf[1] + 1); /* body length +1 */
  bigbuf[5] = (uint8_t)(bigbuf[5] + 1); /* track length +1: 4097 */
  lt_expect_decode(&LT_subscribe, MOQC_LITE_05, bigbuf, (size_t)e + 1, MOQC_ERR_DECODE);
  lt_expect_decode_hex(&LT_subscribe, MOQC_LITE_04, "08 00 00 02 ff fe 00 00 00", MOQC_ERR_DECODE);
  lt_expect_decode_hex(&LT_subscribe, MOQC_LITE_04, "0a 00 00 02 c3 a9 00 00 00 00 00", 11);
  lt_expect_decode_hex(&LT_subscribe, MOQC_LITE_03, "04 00 00 00 00", MOQC_ERR_DECODE);
  lt_expect_decode_hex(&LT_subscribe, 1, "09 00 00 00 00 00 00 00 00 00", MOQC_ERR_INVAL);
}

static void test_subscribe_update(void **state) {
  (void)state;
  struct moqc_lite_subscribe_update m = {8, true, 500, 0, 12}; /* subscribe.test.ts */
  lt_check_versions(&LT_subscribe_update, LT_ALL, &m, "06 08 01 41 f4 01 0d");
  m = (struct moqc_lite_subscribe_update){255, false, 0, NONE, NONE};
  lt_check_versions(&LT_subscribe_update, LT_ALL, &m, "05 ff 00 00 00 00");
  m.start_group = MOQC_VARINT_MAX;
  assert_int_equal(moqc_lite_subscribe_update_encode(NULL, 0, MOQC_LITE_04, &m), MOQC_ERR_OVERFLOW);
}

/* ---- responses ----------------------------------------------------------------- */

static void test_subscribe_ok(void **state) {
  (void)state;
  struct moqc_lite_subscribe_resp r = {MOQC_LITE_SUBSCRIBE_OK, {.ok = {7, false, 0, NONE, NONE}}};
  /* what the Rust publisher sends on lite-03/04: subscriber's priority, rest zero */
  lt_check_versions(&LT_subscribe_resp, LT_0304, &r, "00 05 07 00 00 00 00");
  /* subscribe.test.ts: priority 7, ordered, 250 ms, start 3 */
  r.u.ok = (struct moqc_lite_subscribe_ok){7, true, 250, 3, NONE};
  lt_check_versions(&LT_subscribe_resp, LT_0304, &r, "00 06 07 01 40 fa 04 00");
  /* SUBSCRIBE_OK does not exist on lite-05 (subscribe_ok_rejected_on_lite05) */
  assert_int_equal(moqc_lite_subscribe_resp_encode(NULL, 0, MOQC_LITE_05, &r), MOQC_ERR_INVAL);
}

static void test_subscribe_drop(void **state) {
  (void)state;
  struct moqc_lite_subscribe_resp r = {MOQC_LITE_SUBSCRIBE_DROP, {.drop = {1, 3, 0}}};
  /* subscribe_drop_is_type_1_on_lite04 / _type_2_on_lite05 */
  lt_check_versions(&LT_subscribe_resp, LT_0304, &r, "01 03 01 03 00");
  lt_check(&LT_subscribe_resp, MOQC_LITE_05, &r, "02 03 01 03 00");
  r.u.drop = (struct moqc_lite_subscribe_drop){100, 200, 64 + 3};
  lt_check(&LT_subscribe_resp, MOQC_LITE_05, &r, "02 06 40 64 40 c8 40 43");
}

static void test_subscribe_start_end(void **state) {
  (void)state;
  struct moqc_lite_subscribe_resp r = {MOQC_LITE_SUBSCRIBE_START, {.group = 42}};
  lt_check(&LT_subscribe_resp, MOQC_LITE_05, &r, "00 01 2a");
  r = (struct moqc_lite_subscribe_resp){MOQC_LITE_SUBSCRIBE_END, {.group = 7}};
  lt_check(&LT_subscribe_resp, MOQC_LITE_05, &r, "01 01 07");
  r.u.group = 0; /* the track ended before producing any group */
  lt_check(&LT_subscribe_resp, MOQC_LITE_05, &r, "01 01 00");
  for (int v = MOQC_LITE_03; v <= MOQC_LITE_04; v++) {
    assert_int_equal(moqc_lite_subscribe_resp_encode(NULL, 0, v, &r), MOQC_ERR_INVAL);
    r.kind = MOQC_LITE_SUBSCRIBE_START;
    assert_int_equal(moqc_lite_subscribe_resp_encode(NULL, 0, v, &r), MOQC_ERR_INVAL);
    r.kind = MOQC_LITE_SUBSCRIBE_END;
  }
  r.kind = 0;
  assert_int_equal(moqc_lite_subscribe_resp_encode(NULL, 0, MOQC_LITE_05, &r), MOQC_ERR_INVAL);
  r.kind = 99;
  assert_int_equal(moqc_lite_subscribe_resp_encode(NULL, 0, MOQC_LITE_04, &r), MOQC_ERR_INVAL);
}

static void test_subscribe_resp_errors(void **state) {
  (void)state;
  /* unknown response types */
  lt_expect_decode_hex(&LT_subscribe_resp, MOQC_LITE_05, "03 01 00", MOQC_ERR_DECODE);
  lt_expect_decode_hex(&LT_subscribe_resp, MOQC_LITE_04, "02 03 01 03 00", MOQC_ERR_DECODE);
  lt_expect_decode_hex(&LT_subscribe_resp, MOQC_LITE_03, "40 00 01 00", MOQC_ERR_DECODE);
  /* a lite-05 START read as lite-04 OK is short */
  lt_expect_decode_hex(&LT_subscribe_resp, MOQC_LITE_04, "00 01 2a", MOQC_ERR_DECODE);
  /* 2-byte type varint for type 0 (non-minimal) is still 0 */
  lt_expect_decode_hex(&LT_subscribe_resp, MOQC_LITE_05, "40 00 01 2a", 4);
  /* an over-long body is rejected once the length is known */
  lt_expect_decode_hex(&LT_subscribe_resp, MOQC_LITE_05, "00 80 01 00 01", MOQC_ERR_DECODE);
  lt_expect_decode_hex(&LT_subscribe_resp, MOQC_LITE_05, "", MOQC_ERR_NEED_MORE);
  lt_expect_decode_hex(&LT_subscribe_resp, 2, "00 01 2a", MOQC_ERR_INVAL);
}

/* ---- TRACK / TRACK_INFO -------------------------------------------------------------- */

static void test_track(void **state) {
  (void)state;
  struct moqc_lite_track m = {lt_str("room"), lt_str("video")}; /* track.rs */
  lt_check(&LT_track, MOQC_LITE_05, &m, "0b " ROOM " " VIDEO);
  for (int v = MOQC_LITE_03; v <= MOQC_LITE_04; v++) {
    assert_int_equal(moqc_lite_track_encode(NULL, 0, v, &m), MOQC_ERR_INVAL);
    lt_expect_decode_hex(&LT_track, v, "0b " ROOM " " VIDEO, MOQC_ERR_INVAL);
  }
}

static void test_track_info(void **state) {
  (void)state;
  /* track_info_defaults_match_cross_language_wire_bytes (also js track.test.ts):
   * the leading 06 is the message length; priority 0, ordered 0, 5000 ms, 1000/s */
  struct moqc_lite_track_info m = {0, false, 5000, 1000};
  lt_check(&LT_track_info, MOQC_LITE_05, &m, "06 00 00 53 88 43 e8");
  /* track.rs info_sample: priority 7, 2000 ms, microseconds */
  m = (struct moqc_lite_track_info){7, false, 2000, 1000000};
  lt_check(&LT_track_info, MOQC_LITE_05, &m, "08 07 00 47 d0 80 0f 42 40");
  m = (struct moqc_lite_track_info){255, true, 0, 1};
  lt_check(&LT_track_info, MOQC_LITE_05, &m, "04 ff 01 00 01");
  /* timescale 0 is invalid both ways */
  lt_expect_decode_hex(&LT_track_info, MOQC_LITE_05, "04 00 00 00 00", MOQC_ERR_DECODE);
  m.timescale = 0;
  assert_int_equal(moqc_lite_track_info_encode(NULL, 0, MOQC_LITE_05, &m), MOQC_ERR_INVAL);
  m.timescale = 1000;
  assert_int_equal(moqc_lite_track_info_encode(NULL, 0, MOQC_LITE_04, &m), MOQC_ERR_INVAL);
  lt_expect_decode_hex(&LT_track_info, MOQC_LITE_04, "06 00 00 53 88 43 e8", MOQC_ERR_INVAL);
}

/* ---- FETCH ---------------------------------------------------------------------------------- */

static void test_fetch(void **state) {
  (void)state;
  struct moqc_lite_fetch m = {lt_str("room"), lt_str("video"), 3, 7}; /* fetch.rs sample */
  lt_check_versions(&LT_fetch, LT_ALL, &m, "0d " ROOM " " VIDEO " 03 07");
  m = (struct moqc_lite_fetch){lt_str("a/b"), lt_str(""), 0, MOQC_VARINT_MAX};
  lt_check_versions(&LT_fetch, LT_ALL, &m, "0e 03 61 2f 62 00 00 ff ff ff ff ff ff ff ff");
  m.group = MOQC_VARINT_MAX + 1;
  assert_int_equal(moqc_lite_fetch_encode(NULL, 0, MOQC_LITE_05, &m), MOQC_ERR_OVERFLOW);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_subscribe_vectors),
      cmocka_unit_test(test_subscribe_update),
      cmocka_unit_test(test_subscribe_ok),
      cmocka_unit_test(test_subscribe_drop),
      cmocka_unit_test(test_subscribe_start_end),
      cmocka_unit_test(test_subscribe_resp_errors),
      cmocka_unit_test(test_track),
      cmocka_unit_test(test_track_info),
      cmocka_unit_test(test_fetch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
