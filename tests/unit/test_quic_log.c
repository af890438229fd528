/* The log callback (include/moqc/log.h): level names, and the QUIC layer's
 * ngtcp2 trace reaching a user callback only when it is set at TRACE. */
#include "test_quic_harness.h"

#include "moqc/log.h"

typedef struct log_sink {
  size_t lines, quic_lines, pkt_lines, bad_level, newline;
} log_sink;

static void sink_fn(void *ud, moqc_log_level lvl, const char *subsystem, const char *msg) {
  log_sink *s = ud;
  s->lines++;
  if (strcmp(subsystem, "quic") == 0) s->quic_lines++;
  if (strstr(msg, " pkt ")) s->pkt_lines++;
  if (lvl != MOQC_LOG_TRACE) s->bad_level++;
  if (strchr(msg, '\n')) s->newline++;
}

static void test_level_str(void **state) {
  (void)state;
  assert_string_equal(moqc_log_level_str(MOQC_LOG_ERROR), "error");
  assert_string_equal(moqc_log_level_str(MOQC_LOG_WARN), "warn");
  assert_string_equal(moqc_log_level_str(MOQC_LOG_INFO), "info");
  assert_string_equal(moqc_log_level_str(MOQC_LOG_DEBUG), "debug");
  assert_string_equal(moqc_log_level_str(MOQC_LOG_TRACE), "trace");
  assert_string_equal(moqc_log_level_str((moqc_log_level)99), "?");
}

/* A server and a client, each with its own logger, exchange a handshake and
 * one stream. */
static void run_pair(moqc_log_level level, log_sink *srv_sink, log_sink *cli_sink) {
  h_fx fx;
  h_init(&fx);
  moqc_quic_server_config sc;
  memset(&sc, 0, sizeof sc);
  sc.host = "127.0.0.1";
  sc.cert = fx.cert;
  sc.on_connection = h_on_connection;
  sc.ctx = &fx;
  sc.log = (moqc_logger){.fn = sink_fn, .ud = srv_sink, .level = level};
  assert_int_equal(moqc_quic_server_new(&fx.loop, &sc, &fx.srv), MOQC_OK);

  moqc_quic_client_config cc;
  memset(&cc, 0, sizeof cc);
  cc.host = "127.0.0.1";
  cc.port = moqc_quic_server_port(fx.srv);
  cc.sni = "localhost";
  cc.tls.pin_sha256 = moqc_cert_fingerprint(fx.cert);
  cc.log = (moqc_logger){.fn = sink_fn, .ud = cli_sink, .level = level};
  assert_int_equal(moqc_quic_connect(&fx.loop, &cc, h_on_connect, &fx, NULL), MOQC_OK);
  assert_true(H_RUN_UNTIL(&fx, fx.connect_done && fx.s.t, 5000));
  assert_int_equal(fx.connect_err, MOQC_OK);

  int64_t id;
  assert_int_equal(fx.c.t->ops->open_stream(fx.c.t, false, &id), MOQC_OK);
  h_write_pattern(fx.c.t, id, 0, 100, 100, true);
  assert_true(H_RUN_UNTIL(&fx, h_find(&fx.s, id)->fin, 5000));
  h_teardown(&fx);
}

static void test_quic_trace_reaches_callback(void **state) {
  (void)state;
  log_sink s = {0}, c = {0};
  run_pair(MOQC_LOG_TRACE, &s, &c);
  assert_true(s.lines > 0);
  assert_true(c.lines > 0);
  assert_int_equal(s.quic_lines, s.lines);
  assert_int_equal(c.quic_lines, c.lines);
  assert_true(s.pkt_lines > 0); /* ngtcp2's "pkt tx/rx" lines */
  assert_true(c.pkt_lines > 0);
  assert_int_equal(s.bad_level + c.bad_level, 0);
  assert_int_equal(s.newline + c.newline, 0);
}

static void test_quic_trace_off_below_trace(void **state) {
  (void)state;
  log_sink s = {0}, c = {0};
  run_pair(MOQC_LOG_DEBUG, &s, &c);
  assert_int_equal(s.lines + c.lines, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_level_str),
      cmocka_unit_test(test_quic_trace_reaches_callback),
      cmocka_unit_test(test_quic_trace_off_below_trace),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
