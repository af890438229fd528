/* Unit tests: the lifecycle enums of src/quic — connection state, `closed`
 * report, handle ownership, timer handle, endpoint (quic_int.h) and the
 * stream halves (quic_stream.h): each transition table is checked against an
 * explicit list of legal pairs (every other pair must be refused), and every
 * value has a distinct _str(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_death.h"
#include "test_state_table.h"

#include "quic/quic_int.h"
#include "quic/quic_stream.h"

/* Adapters: the predicates take enums. */
static bool st_ok(int f, int t) {
  return moqc__quic_state_transition_ok((enum quic_state)f, (enum quic_state)t);
}
static bool rp_ok(int f, int t) {
  return moqc__quic_report_transition_ok((enum quic_report)f, (enum quic_report)t);
}
static bool ow_ok(int f, int t) {
  return moqc__quic_owner_transition_ok((enum quic_owner)f, (enum quic_owner)t);
}
static bool tm_ok(int f, int t) {
  return moqc__quic_timer_transition_ok((enum quic_timer)f, (enum quic_timer)t);
}
static bool ep_ok(int f, int t) {
  return moqc__quic_ep_transition_ok((enum quic_ep_state)f, (enum quic_ep_state)t);
}
static const char *ep_str(int v) { return moqc__quic_ep_state_str((enum quic_ep_state)v); }
static bool ss_ok(int f, int t) {
  return moqc__qs_send_transition_ok((enum qs_send)f, (enum qs_send)t);
}
static bool sr_ok(int f, int t) {
  return moqc__qs_recv_transition_ok((enum qs_recv)f, (enum qs_recv)t);
}
static const char *st_str(int v) { return moqc__quic_state_str((enum quic_state)v); }
static const char *rp_str(int v) { return moqc__quic_report_str((enum quic_report)v); }
static const char *ow_str(int v) { return moqc__quic_owner_str((enum quic_owner)v); }
static const char *tm_str(int v) { return moqc__quic_timer_str((enum quic_timer)v); }
static const char *ss_str(int v) { return moqc__qs_send_str((enum qs_send)v); }
static const char *sr_str(int v) { return moqc__qs_recv_str((enum qs_recv)v); }

static void test_conn_state(void **state) {
  (void)state;
  static const int legal[][2] = {
      {QC_HANDSHAKE, QC_OPEN},    {QC_HANDSHAKE, QC_CONFIRMED}, {QC_HANDSHAKE, QC_CLOSE_REQ},
      {QC_HANDSHAKE, QC_CLOSING}, {QC_HANDSHAKE, QC_DRAINING},  {QC_HANDSHAKE, QC_DEAD},
      {QC_OPEN, QC_CONFIRMED},    {QC_OPEN, QC_CLOSE_REQ},      {QC_OPEN, QC_CLOSING},
      {QC_OPEN, QC_DRAINING},     {QC_OPEN, QC_DEAD},           {QC_CONFIRMED, QC_CLOSE_REQ},
      {QC_CONFIRMED, QC_CLOSING}, {QC_CONFIRMED, QC_DRAINING},  {QC_CONFIRMED, QC_DEAD},
      {QC_CLOSE_REQ, QC_CLOSING}, {QC_CLOSE_REQ, QC_DRAINING},  {QC_CLOSE_REQ, QC_DEAD},
      {QC_CLOSING, QC_DEAD},      {QC_DRAINING, QC_DEAD},
  };
  check_table(st_ok, QC_DEAD + 1, legal, sizeof legal / sizeof legal[0]);
  check_str(st_str, QC_DEAD + 1);
  assert_string_equal(moqc__quic_state_str((enum quic_state)99), "?");
}

static void test_conn_report_owner_timer(void **state) {
  (void)state;
  static const int rp[][2] = {{QR_NONE, QR_PENDING}, {QR_PENDING, QR_DONE}, {QR_PENDING, QR_NONE}};
  check_table(rp_ok, QR_DONE + 1, rp, 3);
  check_str(rp_str, QR_DONE + 1);
  static const int ow[][2] = {{QO_NONE, QO_USER}, {QO_USER, QO_RELEASED}};
  check_table(ow_ok, QO_RELEASED + 1, ow, 2);
  check_str(ow_str, QO_RELEASED + 1);
  static const int tm[][2] = {{QT_UNINIT, QT_LIVE}, {QT_LIVE, QT_CLOSING}, {QT_CLOSING, QT_CLOSED}};
  check_table(tm_ok, QT_CLOSED + 1, tm, 3);
  check_str(tm_str, QT_CLOSED + 1);
}

static void test_endpoint_state(void **state) {
  (void)state;
  static const int legal[][2] = {
      {QE_RUNNING, QE_CLOSING}, {QE_CLOSING, QE_TORN_DOWN}, {QE_TORN_DOWN, QE_HANDLES_CLOSED}};
  check_table(ep_ok, QE_HANDLES_CLOSED + 1, legal, 3);
  check_str(ep_str, QE_HANDLES_CLOSED + 1);
}

static void test_stream_halves(void **state) {
  (void)state;
  static const int send[][2] = {
      {QSS_SEND, QSS_FIN_QUEUED},       {QSS_SEND, QSS_RESET_SENT},
      {QSS_SEND, QSS_PEER_STOP},        {QSS_FIN_QUEUED, QSS_DATA_SENT},
      {QSS_FIN_QUEUED, QSS_RESET_SENT}, {QSS_FIN_QUEUED, QSS_PEER_STOP},
      {QSS_DATA_SENT, QSS_DATA_RECVD},  {QSS_DATA_SENT, QSS_RESET_SENT},
      {QSS_DATA_SENT, QSS_PEER_STOP},
  };
  check_table(ss_ok, QSS_PEER_STOP + 1, send, sizeof send / sizeof send[0]);
  check_str(ss_str, QSS_PEER_STOP + 1);
  static const int recv[][2] = {
      {QSR_RECV, QSR_DATA_READ},      {QSR_RECV, QSR_RESET_RECVD},
      {QSR_RECV, QSR_STOPPED},        {QSR_STOPPED, QSR_DATA_READ},
      {QSR_STOPPED, QSR_RESET_RECVD}, {QSR_DATA_READ, QSR_RESET_RECVD},
  };
  check_table(sr_ok, QSR_RESET_RECVD + 1, recv, sizeof recv / sizeof recv[0]);
  check_str(sr_str, QSR_RESET_RECVD + 1);
}

/* A new stream starts in the states its halves call for, and the setters
 * walk a legal path. */
static void test_stream_new_and_walk(void **state) {
  (void)state;
  moqc_qstream *uni_in = moqc_qstream_new(3, QS_RECV | QS_REMOTE);
  assert_non_null(uni_in);
  assert_int_equal(uni_in->send, QSS_NONE);
  assert_int_equal(uni_in->recv, QSR_RECV);
  assert_true(uni_in->remote);
  moqc__qs_set_recv(uni_in, QSR_DATA_READ);
  moqc__qs_set_recv(uni_in, QSR_RESET_RECVD);
  moqc_qstream_free(uni_in);

  moqc_qstream *bidi = moqc_qstream_new(0, QS_SEND | QS_RECV);
  assert_non_null(bidi);
  assert_int_equal(bidi->send, QSS_SEND);
  assert_false(bidi->remote);
  assert_false(moqc_qstream_ready(bidi)); /* nothing queued */
  moqc__qs_set_send(bidi, QSS_FIN_QUEUED);
  assert_true(moqc_qstream_ready(bidi)); /* the FIN alone */
  bidi->blocked = true;
  assert_false(moqc_qstream_ready(bidi));
  bidi->blocked = false;
  moqc__qs_set_send(bidi, QSS_DATA_SENT);
  assert_false(moqc_qstream_ready(bidi));
  assert_false(moqc__qs_send_gone(bidi));
  moqc__qs_set_send(bidi, QSS_PEER_STOP);
  assert_true(moqc__qs_send_gone(bidi));
  moqc_qstream_free(bidi);
}

static void send_after_reset(void) {
  moqc_qstream *s = moqc_qstream_new(0, QS_SEND);
  moqc__qs_set_send(s, QSS_RESET_SENT);
  moqc__qs_set_send(s, QSS_DATA_SENT);
}

static void recv_on_send_only(void) {
  moqc_qstream *s = moqc_qstream_new(2, QS_SEND);
  moqc__qs_set_recv(s, QSR_DATA_READ);
}

static void test_setters_assert(void **state) {
  (void)state;
  expect_abort(send_after_reset);
  expect_abort(recv_on_send_only);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conn_state),          cmocka_unit_test(test_conn_report_owner_timer),
      cmocka_unit_test(test_endpoint_state),      cmocka_unit_test(test_stream_halves),
      cmocka_unit_test(test_stream_new_and_walk), cmocka_unit_test(test_setters_assert),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
