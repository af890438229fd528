/* Raw QUIC over loopback: lifetimes — deleting the server under live
 * connections, releasing from inside callbacks, cancelling dials, unreachable
 * servers. Everything must end with no handle and no byte leaked. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "test_quic_harness.h"

static void test_server_del_with_live_connections(void **state) {
  (void)state;
  h_fx fx;
  h_init(&fx);
  h_server(&fx, NULL, NULL, 0, NULL);
  h_establish(&fx, "127.0.0.1", NULL);
  int64_t id;
  assert_int_equal(fx.c.t->ops->open_stream(fx.c.t, false, &id), MOQC_OK);
  h_write_pattern(fx.c.t, id, 0, 100000, 10000, false);
  moqc_quic_server_del(fx.srv);
  fx.srv = NULL;
  assert_true(fx.s.closed); /* synchronous outside callbacks */
  assert_int_equal(fx.s.close_code, 0);
  assert_string_equal(fx.s.close_reason, "server shutdown");
  assert_false(fx.s.close_by_peer);
  /* every op on the dead transport says CLOSED, until release */
  assert_int_equal(fx.s.t->ops->open_stream(fx.s.t, true, &id), MOQC_ERR_CLOSED);
  assert_int_equal(fx.s.t->ops->queued(fx.s.t, -1), 0);
  assert_true(H_RUN_UNTIL(&fx, fx.c.closed, 5000));
  assert_true(fx.c.close_by_peer);
  assert_string_equal(fx.c.close_reason, "server shutdown");
  h_teardown(&fx);
}

/* ---- a server whose handlers release / delete from inside callbacks ------- */

typedef struct chaos {
  h_fx *fx;
  int mode;
  moqc_transport *t;
} chaos;

static void chaos_data(void *ctx, int64_t id, const uint8_t *p, size_t n, bool fin) {
  (void)id;
  (void)p;
  (void)n;
  (void)fin;
  chaos *c = ctx;
  if (!c->t) return;
  if (c->mode == 1) { /* release while data is being delivered */
    c->t->ops->release(c->t);
    c->t = NULL;
  } else if (c->mode == 2) { /* delete the whole server from a stream callback */
    c->t->ops->close(c->t, 7, "bye");
    moqc_quic_server_del(c->fx->srv);
    c->fx->srv = NULL;
  }
}

static void chaos_closed(void *ctx, uint64_t code, const char *reason, bool by_peer) {
  (void)code;
  (void)reason;
  (void)by_peer;
  chaos *c = ctx;
  if (c->t) c->t->ops->release(c->t); /* release from inside `closed` */
  c->t = NULL;
}

static const moqc_transport_handler chaos_handler = {.stream_data = chaos_data,
                                                     .closed = chaos_closed};

static void chaos_on_conn(void *ctx, moqc_transport *t) {
  chaos *c = ctx;
  c->fx->server_conns++;
  if (c->mode == 0) { /* refuse right away, from on_connection */
    t->ops->close(t, 99, "not today");
    t->ops->release(t);
    return;
  }
  c->t = t;
  moqc_transport_set_handler(t, &chaos_handler, c);
}

static void run_chaos(int mode) {
  h_fx fx;
  h_init(&fx);
  chaos ch = {&fx, mode, NULL};
  moqc_quic_server_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.cert = fx.cert;
  cfg.on_connection = chaos_on_conn;
  cfg.ctx = &ch;
  assert_int_equal(moqc_quic_server_new(&fx.loop, &cfg, &fx.srv), MOQC_OK);
  h_connect(&fx, "127.0.0.1", NULL, 0, NULL);
  assert_true(H_RUN_UNTIL(&fx, fx.connect_done, 5000));
  assert_int_equal(fx.connect_err, MOQC_OK);
  if (mode != 0) {
    int64_t id;
    assert_int_equal(fx.c.t->ops->open_stream(fx.c.t, false, &id), MOQC_OK);
    h_write_pattern(fx.c.t, id, 0, 5000, 1000, true);
  }
  assert_true(H_RUN_UNTIL(&fx, fx.c.closed, 5000));
  assert_true(fx.c.close_by_peer);
  if (mode == 0) {
    assert_int_equal(fx.c.close_code, 99);
    assert_string_equal(fx.c.close_reason, "not today");
  }
  if (mode == 1) assert_int_equal(fx.c.close_code, 0);
  if (mode == 2) assert_int_equal(fx.c.close_code, 7);
  assert_null(ch.t);
  h_teardown(&fx);
}

static void test_release_in_on_connection(void **state) {
  (void)state;
  run_chaos(0);
}

static void test_release_in_stream_data(void **state) {
  (void)state;
  run_chaos(1);
}

static void test_server_del_in_callback(void **state) {
  (void)state;
  run_chaos(2);
}

/* ---- dials -------------------------------------------------------------------------- */

static void never_called(void *ctx, int err, const char *msg, moqc_transport *t) {
  (void)ctx;
  (void)err;
  (void)msg;
  (void)t;
  fail_msg("cancelled dial called back");
}

static void test_dial_cancel(void **state) {
  (void)state;
  h_fx fx;
  h_init(&fx);
  h_server(&fx, NULL, NULL, 0, NULL);
  moqc_quic_client_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.port = moqc_quic_server_port(fx.srv);
  cfg.tls.pin_sha256 = moqc_cert_fingerprint(fx.cert);
  const char *hosts[] = {"127.0.0.1", "localhost"}; /* literal, then a resolved name */
  for (size_t i = 0; i < 2; i++) {
    cfg.host = hosts[i];
    moqc_quic_dial *d = NULL;
    assert_int_equal(moqc_quic_connect(&fx.loop, &cfg, never_called, &fx, &d), MOQC_OK);
    assert_non_null(d);
    moqc_quic_dial_cancel(d); /* before anything happened */
    for (int k = 0; k < 20; k++) uv_run(&fx.loop, UV_RUN_NOWAIT);
  }
  /* mid-handshake: a peer that never answers (a plain UDP socket) */
  int hole = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  assert_int_equal(bind(hole, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(getsockname(hole, (struct sockaddr *)&a, &al), 0);
  moqc_quic_dial *d = NULL;
  cfg.host = "127.0.0.1";
  cfg.port = ntohs(a.sin_port);
  assert_int_equal(moqc_quic_connect(&fx.loop, &cfg, never_called, &fx, &d), MOQC_OK);
  for (int k = 0; k < 5; k++) uv_run(&fx.loop, UV_RUN_NOWAIT);
  uint8_t buf[2000];
  assert_true(recv(hole, buf, sizeof buf, MSG_DONTWAIT) >= 1200); /* the Initial went out */
  moqc_quic_dial_cancel(d);
  for (int k = 0; k < 50; k++) uv_run(&fx.loop, UV_RUN_NOWAIT);
  close(hole);
  moqc_quic_dial_cancel(NULL);
  h_teardown(&fx);
}

static void test_unreachable_and_bad_config(void **state) {
  (void)state;
  h_fx fx;
  h_init(&fx);
  h_server(&fx, NULL, NULL, 0, NULL);
  uint16_t port = moqc_quic_server_port(fx.srv);
  moqc_quic_server_del(fx.srv); /* nobody listens there any more */
  fx.srv = NULL;
  moqc_quic_client_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.host = "127.0.0.1";
  cfg.port = port;
  cfg.tls.disable_verify = true;
  cfg.limits.handshake_timeout_ms = 300;
  fx.connect_done = false;
  assert_int_equal(moqc_quic_connect(&fx.loop, &cfg, h_on_connect, &fx, NULL), MOQC_OK);
  assert_true(H_RUN_UNTIL(&fx, fx.connect_done, 5000));
  assert_int_equal(fx.connect_err, MOQC_ERR_TIMEOUT);
  /* unresolvable name */
  cfg.host = "no-such-host.invalid";
  fx.connect_done = false;
  assert_int_equal(moqc_quic_connect(&fx.loop, &cfg, h_on_connect, &fx, NULL), MOQC_OK);
  assert_true(H_RUN_UNTIL(&fx, fx.connect_done, 10000));
  assert_int_equal(fx.connect_err, MOQC_ERR_IO);
  assert_non_null(strstr(fx.connect_msg, "resolve"));
  /* synchronous refusals */
  cfg.host = "";
  assert_int_equal(moqc_quic_connect(&fx.loop, &cfg, h_on_connect, &fx, NULL), MOQC_ERR_INVAL);
  cfg.host = "127.0.0.1";
  const char *bad_alpn[] = {""};
  cfg.alpn = bad_alpn;
  cfg.alpn_count = 1;
  assert_int_equal(moqc_quic_connect(&fx.loop, &cfg, h_on_connect, &fx, NULL), MOQC_ERR_INVAL);
  cfg.alpn = NULL;
  cfg.tls.disable_verify = false;
  cfg.tls.ca_file = "/nonexistent.pem";
  assert_int_equal(moqc_quic_connect(&fx.loop, &cfg, h_on_connect, &fx, NULL), MOQC_ERR_TLS);
  /* server: bad address, missing cert, port in use */
  moqc_quic_server_config sc;
  memset(&sc, 0, sizeof sc);
  sc.on_connection = h_on_connection;
  moqc_quic_server *s = NULL;
  assert_int_equal(moqc_quic_server_new(&fx.loop, &sc, &s), MOQC_ERR_INVAL);
  sc.cert = fx.cert;
  sc.host = "not-an-address";
  assert_int_equal(moqc_quic_server_new(&fx.loop, &sc, &s), MOQC_ERR_INVAL);
  sc.host = "127.0.0.1";
  assert_int_equal(moqc_quic_server_new(&fx.loop, &sc, &s), MOQC_OK);
  moqc_quic_server *s2 = NULL;
  sc.port = moqc_quic_server_port(s);
  assert_int_equal(moqc_quic_server_new(&fx.loop, &sc, &s2), MOQC_ERR_IO);
  assert_null(s2);
  moqc_quic_server_del(s);
  h_teardown(&fx);
}

/* F7: a client that dials before the server listens. Its first Initial draws
 * an ICMP port unreachable (POLLERR on its connected socket, which makes
 * libuv stop the poll handle); once a server listens there, a retransmitted
 * Initial must get through and the handshake complete. */
static void test_dial_before_listen(void **state) {
  (void)state;
  h_fx fx;
  h_init(&fx);
  /* A free port, closed synchronously (a deleted server's socket closes
   * only on a later loop turn and would swallow the first Initial). */
  int hole = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  assert_int_equal(bind(hole, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(getsockname(hole, (struct sockaddr *)&a, &al), 0);
  close(hole); /* nobody listens there for now */
  uint16_t port = ntohs(a.sin_port);
  moqc_quic_client_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.host = "127.0.0.1";
  cfg.port = port;
  cfg.sni = "localhost";
  cfg.tls.pin_sha256 = moqc_cert_fingerprint(fx.cert);
  fx.connect_done = false;
  assert_int_equal(moqc_quic_connect(&fx.loop, &cfg, h_on_connect, &fx, NULL), MOQC_OK);
  /* The Initial is refused (ICMP) while nothing listens. */
  assert_false(H_RUN_UNTIL(&fx, fx.connect_done, 300));
  moqc_quic_server_config sc;
  memset(&sc, 0, sizeof sc);
  sc.host = "127.0.0.1";
  sc.port = port;
  sc.cert = fx.cert;
  sc.on_connection = h_on_connection;
  sc.ctx = &fx;
  assert_int_equal(moqc_quic_server_new(&fx.loop, &sc, &fx.srv), MOQC_OK);
  /* The next PTO retransmission (~1 s after the first Initial) reaches it;
   * the handshake timeout is 10 s. */
  assert_true(H_RUN_UNTIL(&fx, fx.connect_done && fx.s.t, 8000));
  assert_int_equal(fx.connect_err, MOQC_OK);
  assert_non_null(fx.c.t);
  /* and the connection works */
  int64_t id = -1;
  assert_int_equal(fx.c.t->ops->open_stream(fx.c.t, true, &id), MOQC_OK);
  fx.s.echo = true;
  h_write_pattern(fx.c.t, id, 0, 5000, 1000, true);
  h_stream *cs = h_find(&fx.c, id);
  assert_non_null(cs);
  assert_true(H_RUN_UNTIL(&fx, cs->fin, 5000));
  assert_int_equal(cs->len, 5000);
  for (size_t i = 0; i < cs->len; i++) assert_int_equal(cs->data[i], h_pattern((uint64_t)id, i));
  h_teardown(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_server_del_with_live_connections),
      cmocka_unit_test(test_release_in_on_connection),
      cmocka_unit_test(test_release_in_stream_data),
      cmocka_unit_test(test_server_del_in_callback),
      cmocka_unit_test(test_dial_cancel),
      cmocka_unit_test(test_unreachable_and_bad_config),
      cmocka_unit_test(test_dial_before_listen),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
