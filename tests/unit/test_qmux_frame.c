/* QMux frame codec: byte-exact vectors (produced by @moq/qmux 0.3.3's own
 * encoder, the version @moq/net 0.3.4 uses), decode of each, malformed input,
 * transport parameters and sub-protocol negotiation. (The WebSocket accept key:
 * test_quic_ws_key.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "moqc/error.h"
#include "qmux/qmux_frame.h"

static size_t unhex(const char *h, uint8_t *out) {
  size_t n = strlen(h) / 2;
  for (size_t i = 0; i < n; i++) sscanf(h + 2 * i, "%2hhx", &out[i]);
  return n;
}

static void expect(const moqc_writer *w, const char *hex) {
  uint8_t want[256];
  size_t n = unhex(hex, want);
  assert_int_equal(w->err, 0);
  assert_int_equal(w->pos, n);
  assert_memory_equal(w->p, want, n);
}

#define W()         \
  uint8_t buf[256]; \
  moqc_writer w = moqc_writer_make(buf, sizeof buf)

static void test_encode_legacy(void **st) {
  (void)st;
  {
    W();
    moqc__qmux_put_stream(&w, MOQC_QMUX_WEBTRANSPORT, 2, 0, 3, true);
    moqc_write_raw(&w, "abc", 3);
    expect(&w, "0902616263");
  }
  {
    W();
    moqc__qmux_put_reset(&w, MOQC_QMUX_WEBTRANSPORT, 3, 7, 99);
    expect(&w, "040307");
  }
  {
    W();
    moqc__qmux_put_close(&w, MOQC_QMUX_WEBTRANSPORT, true, 6, "no", 2);
    expect(&w, "1d066e6f");
  }
}

static void test_encode_qmux(void **st) {
  (void)st;
  {
    W();
    moqc__qmux_put_stream(&w, MOQC_QMUX_01, 4, 300, 3, false);
    moqc_write_raw(&w, "abc", 3);
    expect(&w, "0e04412c03616263");
  }
  {
    W();
    moqc__qmux_put_reset(&w, MOQC_QMUX_01, 2, 13, 70000);
    expect(&w, "04020d80011170");
  }
  {
    W();
    moqc__qmux_put_stop(&w, 2, 0);
    expect(&w, "050200");
  }
  {
    W();
    moqc__qmux_put_close(&w, MOQC_QMUX_01, false, 10, "x", 1);
    expect(&w, "1c0a000178");
  }
  {
    W();
    moqc__qmux_put_close(&w, MOQC_QMUX_01, true, 64, "bye", 3);
    expect(&w, "1d404003627965");
  }
  {
    W();
    moqc__qmux_put_value(&w, MOQC_QMUX_FT_MAX_DATA, 1048576);
    expect(&w, "1080100000");
  }
  {
    W();
    moqc__qmux_put_id_value(&w, MOQC_QMUX_FT_MAX_STREAM_DATA, 6, 262144);
    expect(&w, "110680040000");
  }
  {
    W();
    moqc__qmux_put_value(&w, MOQC_QMUX_FT_PING, 5);
    expect(&w, "f48c67529ef8c7bd05");
  }
}

/* Our parameters are @moq/qmux's RECOMMENDED_TRANSPORT_PARAMS without datagrams. */
static void test_encode_params(void **st) {
  (void)st;
  W();
  moqc_qmux_params p;
  moqc__qmux_params_default(&p);
  p.max_idle_timeout = 30000;
  p.initial_max_data = 1048576;
  p.sd_bidi_local = p.sd_bidi_remote = p.sd_uni = 262144;
  p.streams_bidi = p.streams_uni = 100;
  moqc__qmux_put_params(&w, &p);
  expect(&w,
         "ff5153300d0a0d0a310104800075300404801000000504800400000604800400000704800400000802"
         "406409024064c571c59429cd0845027ffe");
  /* qmux-02 adds reset_stream_at (0x1d, empty): @moq/qmux 0.3.3's encode() of
   * these parameters with resetStreamAt: true on "qmux-02". */
  w = moqc_writer_make(buf, sizeof buf);
  p.reset_stream_at = true;
  moqc__qmux_put_params(&w, &p);
  expect(&w,
         "ff5153300d0a0d0a330104800075300404801000000504800400000604800400000704800400000802"
         "406409024064c571c59429cd0845027ffe1d00");
}

static moqc_qmux_frame dec(moqc_qmux_version v, const char *hex, ssize_t want) {
  static uint8_t b[256];
  size_t n = unhex(hex, b);
  moqc_qmux_frame f;
  ssize_t got = moqc__qmux_frame_decode(v, &f, b, n);
  assert_int_equal(got, want < 0 ? want : (ssize_t)n);
  return f;
}

static void test_decode(void **st) {
  (void)st;
  moqc_qmux_frame f = dec(MOQC_QMUX_WEBTRANSPORT, "0902616263", 1);
  assert_int_equal(f.type, MOQC_QF_STREAM);
  assert_int_equal(f.id, 2);
  assert_true(f.fin);
  assert_int_equal(f.data.len, 3);
  assert_memory_equal(f.data.ptr, "abc", 3);
  f = dec(MOQC_QMUX_WEBTRANSPORT, "1d066e6f", 1);
  assert_int_equal(f.type, MOQC_QF_APPLICATION_CLOSE);
  assert_int_equal(f.code, 6);
  assert_int_equal(f.data.len, 2);
  f = dec(MOQC_QMUX_01, "0e04412c03616263", 1);
  assert_int_equal(f.type, MOQC_QF_STREAM);
  assert_int_equal(f.id, 4);
  assert_int_equal(f.offset, 300);
  assert_false(f.fin);
  assert_int_equal(f.data.len, 3);
  f = dec(MOQC_QMUX_01, "04020d80011170", 1);
  assert_int_equal(f.type, MOQC_QF_RESET_STREAM);
  assert_int_equal(f.code, 13);
  assert_int_equal(f.final_size, 70000);
  f = dec(MOQC_QMUX_00, "1c0a000178", 1);
  assert_int_equal(f.type, MOQC_QF_CONNECTION_CLOSE);
  assert_int_equal(f.code, 10);
  assert_int_equal(f.data.len, 1);
  f = dec(MOQC_QMUX_01, "110680040000", 1);
  assert_int_equal(f.type, MOQC_QF_MAX_STREAM_DATA);
  assert_int_equal(f.id, 6);
  assert_int_equal(f.value, 262144);
  f = dec(MOQC_QMUX_01, "f48c67529ef8c7bd05", 1);
  assert_int_equal(f.type, MOQC_QF_PING);
  assert_int_equal(f.value, 5);
  /* The full @moq/qmux parameter block, datagrams included. */
  f = dec(MOQC_QMUX_01,
          "ff5153300d0a0d0a35010480007530040480100000050480040000060480040000070480040000080240"
          "640902406420027ffec571c59429cd0845027ffe",
          1);
  assert_int_equal(f.type, MOQC_QF_TRANSPORT_PARAMETERS);
  assert_int_equal(f.params.max_idle_timeout, 30000);
  assert_int_equal(f.params.initial_max_data, 1048576);
  assert_int_equal(f.params.sd_uni, 262144);
  assert_int_equal(f.params.streams_bidi, 100);
  assert_int_equal(f.params.max_datagram_frame_size, 16382);
  assert_int_equal(f.params.max_record_size, 16382);
  /* STREAM without OFF/LEN: the rest of the record. */
  f = dec(MOQC_QMUX_01, "0904616263", 1);
  assert_int_equal(f.data.len, 3);
  assert_true(f.fin);
  /* Records hold several frames: the first is consumed alone. */
  uint8_t two[] = {0x10, 0x05, 0x12, 0x07};
  assert_int_equal(moqc__qmux_frame_decode(MOQC_QMUX_01, &f, two, sizeof two), 2);
}

static void test_decode_bad(void **st) {
  (void)st;
  dec(MOQC_QMUX_WEBTRANSPORT, "0e04", MOQC_ERR_DECODE);     /* not a legacy type */
  dec(MOQC_QMUX_01, "0e04412c05616263", MOQC_ERR_DECODE);   /* length past the end */
  dec(MOQC_QMUX_01, "1d4040056279", MOQC_ERR_DECODE);       /* reason truncated */
  dec(MOQC_QMUX_01, "40", MOQC_ERR_DECODE);                 /* truncated varint type */
  dec(MOQC_QMUX_01, "21", MOQC_ERR_DECODE);                 /* unknown type */
  dec(MOQC_QMUX_00, "f48c67529ef8c7bd05", MOQC_ERR_DECODE); /* QX_PING is draft-01 */
  dec(MOQC_QMUX_01, "2402000405", MOQC_ERR_DECODE);         /* reliable > final size */
  /* Parameters: duplicate, forbidden id, application_protocols, bad value. */
  dec(MOQC_QMUX_01, "ff5153300d0a0d0a06040105040105", MOQC_ERR_DECODE);
  dec(MOQC_QMUX_01, "ff5153300d0a0d0a03000100", MOQC_ERR_DECODE);
  dec(MOQC_QMUX_01, "ff5153300d0a0d0a0ac571c59429cd0845ffff", MOQC_ERR_DECODE);
  dec(MOQC_QMUX_01, "ff5153300d0a0d0a0404020101", MOQC_ERR_DECODE);
  /* An unknown parameter is skipped. */
  moqc_qmux_frame f = dec(MOQC_QMUX_01, "ff5153300d0a0d0a084021020102040101", 1);
  assert_int_equal(f.params.initial_max_data, 1);
}

static void test_max_payload(void **st) {
  (void)st;
  /* 16384-byte budget, id 4, offset 0: 1 + 1 + 1 + 2 + 16379 = 16384. */
  assert_int_equal(moqc__qmux_max_stream_payload(MOQC_QMUX_01, 16384, 4, 0), 16379);
  assert_int_equal(moqc__qmux_max_stream_payload(MOQC_QMUX_WEBTRANSPORT, 100, 4, 0), 98);
  assert_int_equal(moqc__qmux_max_stream_payload(MOQC_QMUX_01, 3, 4, 0), 0);
  /* 66 bytes: 3 header, 63 left: 62 + 1-byte length fits, 63 would need 2. */
  assert_int_equal(moqc__qmux_max_stream_payload(MOQC_QMUX_01, 66, 4, 0), 62);
}

static void test_subprotocol(void **st) {
  (void)st;
  const char *alpns[] = {"moq-lite-05", "moq-lite-04", "moq-lite-03"};
  char out[64];
  /* @moq/net's offer order is the client's: we pick by our preference. */
  assert_int_equal(moqc_qmux_subprotocol_select("qmux-01.moq-lite-03, qmux-00.moq-lite-04, "
                                                "qmux-01.moq-lite-04, qmux-01, webtransport",
                                                alpns, 3, out, sizeof out),
                   MOQC_OK);
  assert_string_equal(out, "qmux-01.moq-lite-04");
  /* @moq/net 0.3.4's offer (qmux-02 first, then -01, -00, then bare): qmux-02. */
  assert_int_equal(
      moqc_qmux_subprotocol_select("qmux-02.moq-lite-05, qmux-01.moq-lite-05, qmux-00.moq-lite-05, "
                                   "qmux-02.moq-lite-04, qmux-02, qmux-01, qmux-00, webtransport",
                                   alpns, 3, out, sizeof out),
      MOQC_OK);
  assert_string_equal(out, "qmux-02.moq-lite-05");
  assert_int_equal(moqc_qmux_subprotocol_select("foo, qmux-02", alpns, 3, out, sizeof out),
                   MOQC_OK);
  assert_string_equal(out, "qmux-02");
  assert_int_equal(moqc_qmux_subprotocol_select("qmux-00.moq-lite-05", alpns, 3, out, sizeof out),
                   MOQC_OK);
  assert_string_equal(out, "qmux-00.moq-lite-05");
  assert_int_equal(moqc_qmux_subprotocol_select("foo, qmux-00", alpns, 3, out, sizeof out),
                   MOQC_OK);
  assert_string_equal(out, "qmux-00");
  assert_int_equal(moqc_qmux_subprotocol_select(NULL, alpns, 3, out, sizeof out), MOQC_OK);
  assert_string_equal(out, "");
  assert_int_equal(moqc_qmux_subprotocol_select(" , ", alpns, 3, out, sizeof out), MOQC_OK);
  assert_int_equal(
      moqc_qmux_subprotocol_select("foo, qmux-01.moq-lite-99x", alpns, 3, out, sizeof out),
      MOQC_ERR_UNSUPPORTED);
  /* A prefix of a token is not the token. */
  assert_int_equal(moqc_qmux_subprotocol_select("qmux-01.moq-lite-0", alpns, 3, out, sizeof out),
                   MOQC_ERR_UNSUPPORTED);
  assert_int_equal(moqc_qmux_subprotocol_select("webtransport", alpns, 3, out, 4),
                   MOQC_ERR_BUFSIZE);

  moqc_qmux_version v;
  char a[32];
  assert_int_equal(moqc_qmux_subprotocol_parse("qmux-01.moq-lite-05", &v, a, sizeof a), MOQC_OK);
  assert_int_equal(v, MOQC_QMUX_01);
  assert_string_equal(a, "moq-lite-05");
  assert_int_equal(moqc_qmux_subprotocol_parse("qmux-00", &v, a, sizeof a), MOQC_OK);
  assert_int_equal(v, MOQC_QMUX_00);
  assert_string_equal(a, "");
  assert_int_equal(moqc_qmux_subprotocol_parse("", &v, a, sizeof a), MOQC_OK);
  assert_int_equal(v, MOQC_QMUX_WEBTRANSPORT);
  assert_int_equal(moqc_qmux_subprotocol_parse("qmux-02.moq-lite-05", &v, a, sizeof a), MOQC_OK);
  assert_int_equal(v, MOQC_QMUX_02);
  assert_string_equal(a, "moq-lite-05");
  assert_int_equal(moqc_qmux_subprotocol_parse("qmux-03.moq-lite-05", &v, a, sizeof a),
                   MOQC_ERR_UNSUPPORTED);
  assert_int_equal(moqc_qmux_subprotocol_parse("qmux-01.", &v, a, sizeof a), MOQC_ERR_UNSUPPORTED);
  assert_int_equal(moqc_qmux_subprotocol_parse("qmux-01.moq-lite-05", &v, a, 4),
                   MOQC_ERR_TOO_LARGE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_encode_legacy), cmocka_unit_test(test_encode_qmux),
      cmocka_unit_test(test_encode_params), cmocka_unit_test(test_decode),
      cmocka_unit_test(test_decode_bad),    cmocka_unit_test(test_max_payload),
      cmocka_unit_test(test_subprotocol),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
