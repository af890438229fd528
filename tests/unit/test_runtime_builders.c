/* src/runtime/server.c and client.c: the builders refuse bad input without
 * leaking or touching the loop, and a real client/server pair on loopback
 * carries the per-session user data (moqc_server_accept_ud) to on_closed,
 * and on_connect's verdict on a WebTransport CONNECT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "moqc/endpoint.h"
#include "moqc/error.h"

typedef struct fx {
  uv_loop_t loop;
  moqc_uv *uv;
  moqc_cert *cert;
  moqc_origin *origin;
  /* server side */
  int requests, closed, debug;
  void *closed_ud;
  moqc_session *srv_session;
  bool accept;
  uint16_t connect_status; /* on_connect's answer */
  int connects;
  char connect_path[64], connect_transport[16], connect_remote[64];
  bool connect_cert;
  /* client side */
  bool connected;
  int connect_err;
  char connect_msg[256];
} fx;

static void on_request(void *ctx, moqc_server_request *req) {
  fx *f = ctx;
  f->requests++;
  f->srv_session = req->session;
  if (f->accept) assert_int_equal(moqc_server_accept_ud(req, f->origin, f->origin, f), MOQC_OK);
  else assert_int_equal(moqc_server_reject(req, MOQC_CODE_CANCEL, "no"), MOQC_OK);
}

static uint16_t on_connect(void *ctx, const moqc_server_connect *req) {
  fx *f = ctx;
  f->connects++;
  snprintf(f->connect_path, sizeof f->connect_path, "%s", req->path);
  snprintf(f->connect_transport, sizeof f->connect_transport, "%s", req->transport);
  snprintf(f->connect_remote, sizeof f->connect_remote, "%s", req->remote);
  f->connect_cert = req->peer_cert != NULL;
  return f->connect_status;
}

static void on_srv_closed(void *ctx, moqc_session *s, void *ud, uint64_t code, const char *reason,
                          bool by_peer) {
  (void)s, (void)code, (void)reason, (void)by_peer;
  fx *f = ctx;
  f->closed++;
  f->closed_ud = ud;
}

static void on_connected(void *ctx, moqc_client *c, int err, const char *msg) {
  (void)c;
  fx *f = ctx;
  f->connected = true;
  f->connect_err = err;
  snprintf(f->connect_msg, sizeof f->connect_msg, "%s", msg ? msg : "");
}

static void fx_init(fx *f) {
  memset(f, 0, sizeof *f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  f->uv = moqc_uv_new(&f->loop, 0);
  assert_non_null(f->uv);
  const char *hosts[] = {"localhost"};
  assert_int_equal(moqc_cert_self_signed(hosts, 1, &f->cert), MOQC_OK);
  moqc_origin_config oc = {0};
  f->origin = moqc_origin_new(moqc_uv_env(f->uv), &oc);
  assert_non_null(f->origin);
}

static void fx_done(fx *f) {
  moqc_origin_unref(f->origin);
  moqc_cert_unref(f->cert);
  moqc_uv_del(f->uv);
  for (int i = 0; i < 1000 && uv_loop_alive(&f->loop); i++) uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* Run the loop until cond or ~5 s. */
#define RUN_UNTIL(f, cond)                                                     \
  do {                                                                         \
    uint64_t until_ = uv_hrtime() + 5000000000ull;                             \
    while (!(cond) && uv_hrtime() < until_) uv_run(&(f)->loop, UV_RUN_NOWAIT); \
  } while (0)

static moqc_server_config server_cfg(fx *f) {
  moqc_server_config sc = {.uv = f->uv,
                           .host = "127.0.0.1",
                           .cert = f->cert,
                           .on_request = on_request,
                           .on_closed = on_srv_closed,
                           .ctx = f};
  return sc;
}

static void test_server_bad_config(void **state) {
  (void)state;
  fx f;
  fx_init(&f);
  moqc_server *s = NULL;
  char msg[256];
  assert_int_equal(moqc_server_new(NULL, &s, msg, sizeof msg), MOQC_ERR_INVAL);
  moqc_server_config sc = server_cfg(&f);
  assert_int_equal(moqc_server_new(&sc, NULL, msg, sizeof msg), MOQC_ERR_INVAL);
  sc.uv = NULL;
  assert_int_equal(moqc_server_new(&sc, &s, msg, sizeof msg), MOQC_ERR_INVAL);
  sc = server_cfg(&f);
  sc.cert = NULL;
  assert_int_equal(moqc_server_new(&sc, &s, msg, sizeof msg), MOQC_ERR_INVAL);
  sc = server_cfg(&f);
  sc.on_request = NULL;
  assert_int_equal(moqc_server_new(&sc, &s, msg, sizeof msg), MOQC_ERR_INVAL);
  /* Unsupported version: named in msg. */
  sc = server_cfg(&f);
  const char *vers[] = {"moq-lite-05", "moq-lite-99"};
  sc.versions = vers;
  sc.n_versions = 2;
  assert_int_equal(moqc_server_new(&sc, &s, msg, sizeof msg), MOQC_ERR_INVAL);
  assert_non_null(strstr(msg, "moq-lite-99"));
  /* Bad bind address. */
  sc = server_cfg(&f);
  sc.host = "not-an-address";
  assert_int_equal(moqc_server_new(&sc, &s, msg, sizeof msg), MOQC_ERR_INVAL);
  assert_non_null(strstr(msg, "not-an-address"));
  /* Port in use: a second server on the first one's port. */
  sc = server_cfg(&f);
  moqc_server *a = NULL;
  assert_int_equal(moqc_server_new(&sc, &a, msg, sizeof msg), MOQC_OK);
  sc.port = moqc_server_port(a);
  assert_int_equal(moqc_server_new(&sc, &s, msg, sizeof msg), MOQC_ERR_IO);
  assert_non_null(strstr(msg, "cannot listen"));
  assert_null(s);
  assert_int_equal(moqc_server_sessions(a), 0);
  moqc_server_del(a);
  fx_done(&f);
}

static void test_cert_bad_paths(void **state) {
  (void)state;
  moqc_cert *c = NULL;
  assert_int_equal(moqc_cert_load(NULL, NULL, &c), MOQC_ERR_INVAL);
  assert_int_equal(moqc_cert_load("/nonexistent/cert.pem", "/nonexistent/key.pem", &c),
                   MOQC_ERR_IO);
  assert_null(c);
  /* A readable file that is not PEM. */
  assert_int_equal(moqc_cert_load("/etc/hostname", "/etc/hostname", &c) < 0, true);
  assert_null(c);
}

static void test_client_bad_config(void **state) {
  (void)state;
  fx f;
  fx_init(&f);
  moqc_client *c = NULL;
  char msg[256];
  moqc_client_config cc = {
      .uv = f.uv, .url = "moqt://127.0.0.1:1/", .on_connected = on_connected, .ctx = &f};
  assert_int_equal(moqc_client_connect(NULL, &c, msg, sizeof msg), MOQC_ERR_INVAL);
  assert_int_equal(moqc_client_connect(&cc, NULL, msg, sizeof msg), MOQC_ERR_INVAL);
  moqc_client_config bad = cc;
  bad.uv = NULL;
  assert_int_equal(moqc_client_connect(&bad, &c, msg, sizeof msg), MOQC_ERR_INVAL);
  bad = cc;
  bad.url = NULL;
  assert_int_equal(moqc_client_connect(&bad, &c, msg, sizeof msg), MOQC_ERR_INVAL);
  bad = cc;
  bad.on_connected = NULL;
  assert_int_equal(moqc_client_connect(&bad, &c, msg, sizeof msg), MOQC_ERR_INVAL);
  static const char *const bad_urls[] = {"ftp://h/",  "moqt://h:0/", "moqt://h:99999/",
                                         "http://h/", "https://",    "moqt://[::1"};
  for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++) {
    bad = cc;
    bad.url = bad_urls[i];
    msg[0] = 0;
    assert_int_equal(moqc_client_connect(&bad, &c, msg, sizeof msg), MOQC_ERR_INVAL);
    assert_non_null(strstr(msg, "invalid URL"));
  }
  bad = cc;
  const char *vers[] = {"moq-lite-01"};
  bad.versions = vers;
  bad.n_versions = 1;
  assert_int_equal(moqc_client_connect(&bad, &c, msg, sizeof msg), MOQC_ERR_INVAL);
  assert_non_null(strstr(msg, "moq-lite-01"));
  moqc_client_del(NULL);
  assert_null(moqc_client_session(NULL));
  assert_false(f.connected); /* never called for a refused config */
  fx_done(&f);
}

/* Nobody listens: the connect times out (or is refused), reported once. */
static void test_client_timeout(void **state) {
  (void)state;
  fx f;
  fx_init(&f);
  moqc_server_config sc = server_cfg(&f);
  moqc_server *s = NULL;
  assert_int_equal(moqc_server_new(&sc, &s, NULL, 0), MOQC_OK);
  uint16_t port = moqc_server_port(s);
  moqc_server_del(s); /* the port is free again: nothing answers there */
  char url[64];
  snprintf(url, sizeof url, "moqt://127.0.0.1:%u/", port);
  moqc_client_config cc = {
      .uv = f.uv, .url = url, .timeout_ms = 300, .on_connected = on_connected, .ctx = &f};
  moqc_client *c = NULL;
  assert_int_equal(moqc_client_connect(&cc, &c, NULL, 0), MOQC_OK);
  assert_false(f.connected); /* never from inside connect */
  RUN_UNTIL(&f, f.connected);
  assert_true(f.connected);
  assert_true(f.connect_err < 0);
  assert_null(moqc_client_session(c));
  moqc_client_del(c);
  fx_done(&f);
}

static void connect_pair(fx *f, bool accept) {
  f->accept = accept;
  moqc_server_config sc = server_cfg(f);
  moqc_server *s = NULL;
  char msg[256];
  assert_int_equal(moqc_server_new(&sc, &s, msg, sizeof msg), MOQC_OK);
  char url[64];
  snprintf(url, sizeof url, "moqt://127.0.0.1:%u/room", moqc_server_port(s));
  moqc_client_config cc = {.uv = f->uv, .url = url, .on_connected = on_connected, .ctx = f};
  cc.tls.pin_sha256 = moqc_cert_fingerprint(f->cert);
  cc.subscribe = f->origin;
  moqc_client *c = NULL;
  assert_int_equal(moqc_client_connect(&cc, &c, msg, sizeof msg), MOQC_OK);
  RUN_UNTIL(f, f->connected && f->requests > 0);
  assert_int_equal(f->requests, 1);
  if (accept) {
    assert_int_equal(f->connect_err, MOQC_OK);
    assert_non_null(moqc_client_session(c));
    assert_int_equal(moqc_server_sessions(s), 1);
    assert_ptr_equal(moqc_server_session_ud(s, f->srv_session), f);
    assert_null(moqc_server_session_ud(s, (moqc_session *)f)); /* not a session of s */
    assert_int_equal(f->closed, 0);
    moqc_client_del(c); /* the server sees the session end */
    RUN_UNTIL(f, f->closed > 0);
    assert_int_equal(f->closed, 1);
    assert_ptr_equal(f->closed_ud, f); /* the data given to moqc_server_accept_ud */
  } else {
    RUN_UNTIL(f, f->closed > 0);
    assert_ptr_equal(f->closed_ud, NULL); /* never accepted: no user data */
    moqc_client_del(c);
  }
  moqc_server_del(s);
}

static void test_accept_user_data(void **state) {
  (void)state;
  fx f;
  fx_init(&f);
  connect_pair(&f, true);
  fx_done(&f);
}

static void test_reject_has_no_user_data(void **state) {
  (void)state;
  fx f;
  fx_init(&f);
  connect_pair(&f, false);
  fx_done(&f);
}

/* on_connect vets a WebTransport CONNECT before any session exists: a refusal
 * reaches the client as the HTTP status and on_request never runs; 200 goes
 * on to the session. */
static void connect_vetted(uint16_t status) {
  fx f;
  fx_init(&f);
  f.accept = true;
  f.connect_status = status;
  moqc_server_config sc = server_cfg(&f);
  sc.on_connect = on_connect;
  moqc_server *s = NULL;
  assert_int_equal(moqc_server_new(&sc, &s, NULL, 0), MOQC_OK);
  char url[80];
  snprintf(url, sizeof url, "https://127.0.0.1:%u/room?x=1", moqc_server_port(s));
  moqc_client_config cc = {
      .uv = f.uv, .url = url, .websocket_disabled = true, .on_connected = on_connected, .ctx = &f};
  cc.tls.pin_sha256 = moqc_cert_fingerprint(f.cert);
  cc.subscribe = f.origin;
  moqc_client *c = NULL;
  assert_int_equal(moqc_client_connect(&cc, &c, NULL, 0), MOQC_OK);
  RUN_UNTIL(&f, f.connected && (status != 200 || f.requests > 0));
  assert_true(f.connected);
  assert_int_equal(f.connects, 1);
  assert_string_equal(f.connect_path, "/room?x=1");
  assert_string_equal(f.connect_transport, "WebTransport");
  assert_memory_equal(f.connect_remote, "127.0.0.1:", 10);
  assert_false(f.connect_cert); /* no client certificate offered */
  if (status == 200) {
    assert_int_equal(f.connect_err, MOQC_OK);
    assert_int_equal(f.requests, 1);
    assert_non_null(moqc_client_session(c));
  } else {
    char want[32];
    snprintf(want, sizeof want, "HTTP status %u", status);
    assert_true(f.connect_err < 0);
    assert_non_null(strstr(f.connect_msg, want));
    assert_int_equal(f.requests, 0);
    assert_null(moqc_client_session(c));
    assert_int_equal(moqc_server_sessions(s), 0);
  }
  moqc_client_del(c);
  moqc_server_del(s);
  fx_done(&f);
}

static void test_on_connect_refuses(void **state) {
  (void)state;
  connect_vetted(403);
}

static void test_on_connect_admits(void **state) {
  (void)state;
  connect_vetted(200);
}

static void test_null_requests(void **state) {
  (void)state;
  assert_int_equal(moqc_server_accept(NULL, NULL, NULL), MOQC_ERR_INVAL);
  assert_int_equal(moqc_server_accept_ud(NULL, NULL, NULL, NULL), MOQC_ERR_INVAL);
  assert_int_equal(moqc_server_reject(NULL, 0, NULL), MOQC_ERR_INVAL);
  assert_null(moqc_server_session_ud(NULL, NULL));
  moqc_server_del(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_server_bad_config), cmocka_unit_test(test_cert_bad_paths),
      cmocka_unit_test(test_client_bad_config), cmocka_unit_test(test_client_timeout),
      cmocka_unit_test(test_accept_user_data),  cmocka_unit_test(test_reject_has_no_user_data),
      cmocka_unit_test(test_null_requests),     cmocka_unit_test(test_on_connect_refuses),
      cmocka_unit_test(test_on_connect_admits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
