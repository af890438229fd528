/* Raw QUIC over loopback: handshakes, ALPN, streams, bulk transfer. */
#include "test_quic_harness.h"

static const char *const k_alpns[] = {"moq-lite-05", "moq-lite-04", "moq-lite-03",
                                      "moql",        "moq-00",      "h3"};

static void test_handshake_each_alpn(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof k_alpns / sizeof k_alpns[0]; i++) {
    h_fx fx;
    h_init(&fx);
    h_server(&fx, NULL, NULL, 0, NULL);
    h_connect(&fx, "127.0.0.1", &k_alpns[i], 1, NULL);
    assert_true(H_RUN_UNTIL(&fx, fx.connect_done && fx.s.t, 5000));
    assert_int_equal(fx.connect_err, MOQC_OK);
    assert_string_equal(fx.c.t->protocol, k_alpns[i]);
    assert_string_equal(fx.s.t->protocol, k_alpns[i]);
    assert_true(fx.s.t->is_server);
    assert_false(fx.c.t->is_server);
    assert_string_equal(fx.s.t->path, "");
    assert_false(fx.s.t->webtransport);
    h_teardown(&fx);
  }
}

/* The client's preference order wins among common ALPNs. */
static void test_alpn_client_preference(void **state) {
  (void)state;
  h_fx fx;
  h_init(&fx);
  h_server(&fx, NULL, NULL, 0, NULL);
  const char *const mine[] = {"h3", "moq-lite-04"};
  h_connect(&fx, "127.0.0.1", mine, 2, NULL);
  assert_true(H_RUN_UNTIL(&fx, fx.connect_done && fx.s.t, 5000));
  assert_string_equal(fx.c.t->protocol, "h3");
  h_teardown(&fx);
}

static void test_wrong_alpn_refused(void **state) {
  (void)state;
  h_fx fx;
  h_init(&fx);
  const char *const srv[] = {"moq-lite-04"};
  h_server(&fx, NULL, srv, 1, NULL);
  const char *const bad[] = {"moq-lite-03", "nope"};
  h_connect(&fx, "127.0.0.1", bad, 2, NULL);
  assert_true(H_RUN_UNTIL(&fx, fx.connect_done, 5000));
  assert_int_equal(fx.connect_err, MOQC_ERR_VERSION);
  assert_non_null(strstr(fx.connect_msg, "ALPN"));
  assert_null(fx.c.t);
  assert_int_equal(fx.server_conns, 0);
  /* The endpoint still serves the next, correct client. */
  h_connect(&fx, "127.0.0.1", srv, 1, NULL);
  assert_true(H_RUN_UNTIL(&fx, fx.connect_done && fx.s.t, 5000));
  assert_int_equal(fx.connect_err, MOQC_OK);
  assert_string_equal(fx.c.t->protocol, "moq-lite-04");
  h_teardown(&fx);
}

/* One bidi stream: client writes, server echoes, both FIN. */
static void test_stream_echo(void **state) {
  (void)state;
  h_fx fx;
  h_init(&fx);
  h_server(&fx, NULL, NULL, 0, NULL);
  h_establish(&fx, "127.0.0.1", NULL);
  fx.s.echo = true;
  moqc_transport *c = fx.c.t;
  int64_t id = -1;
  assert_int_equal(c->ops->open_stream(c, true, &id), MOQC_OK);
  assert_int_equal(id, 0);
  moqc_buf *b = moqc_buf_copy("hello, quic", 11);
  moqc_slice sl = {b, 0, 11};
  assert_int_equal(c->ops->write(c, id, &sl, 1, true), MOQC_OK);
  moqc_buf_unref(b);
  /* writing after fin is refused */
  assert_int_equal(c->ops->write(c, id, NULL, 0, false), MOQC_ERR_INVAL);
  h_stream *cs = h_find(&fx.c, id);
  H_RUN_UNTIL(&fx, cs->fin && cs->closed, 3000);
  fprintf(stderr, "c: fin=%d closed=%d len=%zu; s: opened=%d fin=%d len=%zu closed=%d\n", cs->fin, cs->closed, cs->len, h_find(&fx.s, id)->opened, h_find(&fx.s, id)->fin, h_find(&fx.s, id)->len, h_find(&fx.s,id)->closed);
  assert_true(cs->fin && cs->closed);
  assert_int_equal(cs->len, 11);
  assert_memory_equal(cs->data, "hello, quic", 11);
  h_stream *ss = h_find(&fx.s, id);
  assert_true(ss->opened);
  assert_true(ss->fin);
  assert_true(H_RUN_UNTIL(&fx, ss->closed, 5000));
  h_teardown(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_handshake_each_alpn),
      cmocka_unit_test(test_alpn_client_preference),
      cmocka_unit_test(test_wrong_alpn_refused),
      cmocka_unit_test(test_stream_echo),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
