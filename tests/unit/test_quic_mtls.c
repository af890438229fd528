/* Raw QUIC over loopback: mutual TLS. The server asks for an optional client
 * certificate and verifies it against its trusted client roots; the client
 * presents one from PEM files. */
#include <gnutls/x509.h>
#include <time.h>

#include "test_quic_harness.h"
#include "quic/tls.h"

static char g_dir[64];

static int setup(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "/tmp/moqc-quic-mtls-XXXXXX");
  return mkdtemp(g_dir) ? 0 : -1;
}

static const char *k_files[] = {"ca.pem",     "other-ca.pem", "leaf.pem",  "leaf.key",
                                "bad.pem",    "bad.key",      "old.pem",   "old.key",
                                "server.pem", "server.key",   "empty.pem", NULL};

static int teardown(void **state) {
  (void)state;
  char p[128];
  for (size_t i = 0; k_files[i]; i++) {
    snprintf(p, sizeof p, "%s/%s", g_dir, k_files[i]);
    unlink(p);
  }
  rmdir(g_dir);
  return 0;
}

static const char *path(const char *name) {
  static char p[4][128];
  static int i;
  i = (i + 1) % 4;
  snprintf(p[i], sizeof p[i], "%s/%s", g_dir, name);
  return p[i];
}

static void write_datum(const char *file, const gnutls_datum_t *d) {
  FILE *f = fopen(path(file), "w");
  assert_non_null(f);
  assert_int_equal(fwrite(d->data, 1, d->size, f), d->size);
  assert_int_equal(fclose(f), 0);
}

/* A key pair and a certificate: a CA when issuer is NULL (self-signed),
 * else a leaf signed by issuer for `purpose` (a GNUTLS_KP_* OID). */
typedef struct t_cert {
  gnutls_x509_crt_t crt;
  gnutls_x509_privkey_t key;
} t_cert;

static void make_cert(t_cert *out, const char *cn, const t_cert *issuer, const char *purpose,
                      time_t nb, time_t na) {
  assert_int_equal(gnutls_x509_privkey_init(&out->key), 0);
  assert_int_equal(
      gnutls_x509_privkey_generate2(out->key, GNUTLS_PK_ECDSA,
                                    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0, NULL, 0),
      0);
  assert_int_equal(gnutls_x509_crt_init(&out->crt), 0);
  gnutls_x509_crt_t c = out->crt;
  static uint8_t serial = 1;
  uint8_t ser[2] = {1, serial++};
  assert_int_equal(gnutls_x509_crt_set_version(c, 3), 0);
  assert_int_equal(gnutls_x509_crt_set_serial(c, ser, sizeof ser), 0);
  assert_int_equal(gnutls_x509_crt_set_activation_time(c, nb), 0);
  assert_int_equal(gnutls_x509_crt_set_expiration_time(c, na), 0);
  assert_int_equal(
      gnutls_x509_crt_set_dn_by_oid(c, GNUTLS_OID_X520_COMMON_NAME, 0, cn, (unsigned)strlen(cn)),
      0);
  assert_int_equal(gnutls_x509_crt_set_key(c, out->key), 0);
  if (!issuer) {
    assert_int_equal(gnutls_x509_crt_set_basic_constraints(c, 1, -1), 0);
    assert_int_equal(gnutls_x509_crt_set_key_usage(c, GNUTLS_KEY_KEY_CERT_SIGN), 0);
  } else {
    assert_int_equal(gnutls_x509_crt_set_basic_constraints(c, 0, -1), 0);
    assert_int_equal(gnutls_x509_crt_set_key_usage(c, GNUTLS_KEY_DIGITAL_SIGNATURE), 0);
    assert_int_equal(gnutls_x509_crt_set_key_purpose_oid(c, purpose, 0), 0);
  }
  uint8_t kid[64];
  size_t kidlen = sizeof kid;
  assert_true(gnutls_x509_crt_get_key_id(c, GNUTLS_KEYID_USE_SHA1, kid, &kidlen) >= 0);
  assert_int_equal(gnutls_x509_crt_set_subject_key_id(c, kid, kidlen), 0);
  if (issuer) {
    kidlen = sizeof kid;
    assert_true(gnutls_x509_crt_get_subject_key_id(issuer->crt, kid, &kidlen, NULL) >= 0);
    assert_int_equal(gnutls_x509_crt_set_authority_key_id(c, kid, kidlen), 0);
  }
  assert_int_equal(gnutls_x509_crt_sign2(c, issuer ? issuer->crt : c,
                                         issuer ? issuer->key : out->key, GNUTLS_DIG_SHA256, 0),
                   0);
}

static void save_cert(const t_cert *c, const char *crt_file, const char *key_file) {
  gnutls_datum_t d;
  assert_int_equal(gnutls_x509_crt_export2(c->crt, GNUTLS_X509_FMT_PEM, &d), 0);
  write_datum(crt_file, &d);
  gnutls_free(d.data);
  if (!key_file) return;
  assert_int_equal(
      gnutls_x509_privkey_export2_pkcs8(c->key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &d),
      0);
  write_datum(key_file, &d);
  gnutls_free(d.data);
}

static void free_cert(t_cert *c) {
  gnutls_x509_crt_deinit(c->crt);
  gnutls_x509_privkey_deinit(c->key);
}

static time_t g_leaf_not_after;

/* ca.pem signs leaf (CN=node-a, TLS client), old (expired) and server (TLS
 * server only); other-ca.pem signs bad (CN=intruder). */
static void make_pki(void) {
  time_t now = time(NULL);
  t_cert ca, other, leaf, bad, old, srv, forever;
  make_cert(&ca, "moqc test cluster CA", NULL, NULL, now - 86400, now + 30 * 86400);
  make_cert(&other, "someone else's CA", NULL, NULL, now - 86400, now + 30 * 86400);
  g_leaf_not_after = now + 7 * 86400;
  make_cert(&leaf, "node-a", &ca, GNUTLS_KP_TLS_WWW_CLIENT, now - 3600, g_leaf_not_after);
  make_cert(&bad, "intruder", &other, GNUTLS_KP_TLS_WWW_CLIENT, now - 3600, now + 86400);
  make_cert(&old, "node-old", &ca, GNUTLS_KP_TLS_WWW_CLIENT, now - 10 * 86400, now - 86400);
  make_cert(&srv, "node-srv", &ca, GNUTLS_KP_TLS_WWW_SERVER, now - 3600, now + 86400);
  make_cert(&forever, "node-forever", &ca, GNUTLS_KP_TLS_WWW_CLIENT, now - 3600,
            GNUTLS_X509_NO_WELL_DEFINED_EXPIRATION);
  save_cert(&ca, "ca.pem", NULL);
  save_cert(&other, "other-ca.pem", NULL);
  save_cert(&leaf, "leaf.pem", "leaf.key");
  save_cert(&bad, "bad.pem", "bad.key");
  save_cert(&old, "old.pem", "old.key");
  save_cert(&srv, "server.pem", "server.key");
  save_cert(&forever, "forever.pem", "forever.key");
  t_cert *all[] = {&ca, &other, &leaf, &bad, &old, &srv, &forever};
  for (size_t i = 0; i < 7; i++) free_cert(all[i]);
}

/* The server's log lines (WARN and up). */
static char g_log[2048];

static void on_log(void *ud, moqc_log_level lvl, const char *sub, const char *msg) {
  (void)ud;
  (void)lvl;
  size_t n = strlen(g_log);
  snprintf(g_log + n, sizeof g_log - n, "[%s] %s\n", sub, msg);
}

/* A server trusting `roots` for client certificates (none: no mTLS). */
static void mtls_server(h_fx *fx, const char *const *roots, size_t n) {
  moqc_quic_server_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.cert = fx->cert;
  cfg.client_ca_files = roots;
  cfg.n_client_ca_files = n;
  cfg.on_connection = h_on_connection;
  cfg.ctx = fx;
  cfg.log = (moqc_logger){.fn = on_log, .level = MOQC_LOG_WARN};
  assert_int_equal(moqc_quic_server_new(&fx->loop, &cfg, &fx->srv), MOQC_OK);
  g_log[0] = 0;
}

/* Connect presenting cert/key (NULL: none). MOQC_OK once the server has
 * the connection, else MOQC_ERR_TLS: the connect failed, or (TLS 1.3: the
 * client is done with its handshake before the server has checked its
 * certificate) the server closed it right after with a TLS alert. */
static int mtls_connect(h_fx *fx, const char *cert, const char *key) {
  moqc_quic_tls_client tls = {.pin_sha256 = moqc_cert_fingerprint(fx->cert),
                              .cert_file = cert ? path(cert) : NULL,
                              .key_file = key ? path(key) : NULL};
  h_connect_tls(fx, "127.0.0.1", NULL, 0, &tls, NULL);
  assert_true(H_RUN_UNTIL(fx, fx->connect_done, 5000));
  if (fx->connect_err != MOQC_OK) return fx->connect_err;
  assert_true(H_RUN_UNTIL(fx, fx->s.t != NULL || fx->c.closed, 5000));
  if (fx->s.t) return MOQC_OK;
  assert_true(fx->c.close_by_peer);
  if (getenv("MOQC_TEST_VERBOSE"))
    fprintf(stderr, "closed: 0x%llx %s\n", (unsigned long long)fx->c.close_code,
            fx->c.close_reason);
  fx->c.t->ops->release(fx->c.t);
  fx->c.t = NULL;
  fx->c.closed = fx->c.close_by_peer = false;
  return MOQC_ERR_TLS;
}

static void test_valid_client_cert(void **state) {
  (void)state;
  h_fx fx;
  h_init(&fx);
  const char *roots[] = {path("other-ca.pem"), path("ca.pem")};
  mtls_server(&fx, roots, 2);
  assert_int_equal(mtls_connect(&fx, "leaf.pem", "leaf.key"), MOQC_OK);
  const moqc_peer_cert *pc = fx.s.t->peer_cert;
  assert_non_null(pc);
  assert_string_equal(pc->subject, "CN=node-a");
  assert_int_equal(pc->not_after, (int64_t)g_leaf_not_after);
  assert_null(fx.c.t->peer_cert); /* the client side never has one */
  assert_string_equal(g_log, "");
  h_teardown(&fx);
}

/* notAfter 99991231235959Z (RFC 5280: no well-defined expiry): accepted, and
 * its expiry is far in the future (a session is not closed at once). */
static void test_cert_without_expiry(void **state) {
  (void)state;
  h_fx fx;
  h_init(&fx);
  const char *roots[] = {path("ca.pem")};
  mtls_server(&fx, roots, 1);
  assert_int_equal(mtls_connect(&fx, "forever.pem", "forever.key"), MOQC_OK);
  assert_non_null(fx.s.t->peer_cert);
  assert_string_equal(fx.s.t->peer_cert->subject, "CN=node-forever");
  /* GnuTLS 3.7 reports 99991231235959Z as 4294197631 (2106): far enough */
  assert_true(fx.s.t->peer_cert->not_after > 4102444800); /* 2100-01-01 */
  h_teardown(&fx);
}

static void test_no_cert_is_anonymous(void **state) {
  (void)state;
  h_fx fx;
  h_init(&fx);
  const char *roots[] = {path("ca.pem")};
  mtls_server(&fx, roots, 1);
  assert_int_equal(mtls_connect(&fx, NULL, NULL), MOQC_OK);
  assert_null(fx.s.t->peer_cert);
  assert_int_equal(fx.server_conns, 1);
  assert_string_equal(g_log, "");
  h_teardown(&fx);
}

/* A presented chain that does not verify fails the handshake, with a line
 * saying why; the application never sees the connection. */
static void test_untrusted_cert_refused(void **state) {
  (void)state;
  h_fx fx;
  h_init(&fx);
  const char *roots[] = {path("ca.pem")};
  mtls_server(&fx, roots, 1);
  assert_int_equal(mtls_connect(&fx, "bad.pem", "bad.key"), MOQC_ERR_TLS);
  assert_int_equal(fx.server_conns, 0);
  assert_non_null(strstr(g_log, "client certificate from 127.0.0.1:"));
  assert_non_null(strstr(g_log, "refused: untrusted"));
  if (getenv("MOQC_TEST_VERBOSE")) fprintf(stderr, "%s", g_log);

  /* expired, although from the trusted CA */
  g_log[0] = 0;
  assert_int_equal(mtls_connect(&fx, "old.pem", "old.key"), MOQC_ERR_TLS);
  assert_non_null(strstr(g_log, "expired"));

  /* from the trusted CA, but for TLS servers only */
  g_log[0] = 0;
  assert_int_equal(mtls_connect(&fx, "server.pem", "server.key"), MOQC_ERR_TLS);
  assert_non_null(strstr(g_log, "refused"));
  assert_int_equal(fx.server_conns, 0);

  /* the server still serves good ones */
  assert_int_equal(mtls_connect(&fx, "leaf.pem", "leaf.key"), MOQC_OK);
  assert_non_null(fx.s.t->peer_cert);
  h_teardown(&fx);
}

/* Without trusted client roots a server asks for no certificate: one the
 * client has is not sent, and the connection is anonymous. */
static void test_server_without_roots(void **state) {
  (void)state;
  h_fx fx;
  h_init(&fx);
  mtls_server(&fx, NULL, 0);
  assert_int_equal(mtls_connect(&fx, "bad.pem", "bad.key"), MOQC_OK);
  assert_null(fx.s.t->peer_cert);
  h_teardown(&fx);
}

static void test_bad_config(void **state) {
  (void)state;
  h_fx fx;
  h_init(&fx);
  moqc_quic_server_config sc = {.cert = fx.cert, .on_connection = h_on_connection, .ctx = &fx};
  const char *missing[] = {path("nope.pem")};
  sc.client_ca_files = missing;
  sc.n_client_ca_files = 1;
  moqc_quic_server *s = NULL;
  assert_int_equal(moqc_quic_server_new(&fx.loop, &sc, &s), MOQC_ERR_TLS);
  assert_null(s);
  FILE *f = fopen(path("empty.pem"), "w");
  assert_non_null(f);
  fclose(f);
  const char *empty[] = {path("empty.pem")};
  sc.client_ca_files = empty;
  assert_int_equal(moqc_quic_server_new(&fx.loop, &sc, &s), MOQC_ERR_TLS);

  /* a client certificate needs its key, and a key that matches */
  moqc_quic_client_config cc = {.host = "127.0.0.1", .port = 1};
  cc.tls.cert_file = path("leaf.pem");
  assert_int_equal(moqc_quic_connect(&fx.loop, &cc, h_on_connect, &fx, NULL), MOQC_ERR_TLS);
  cc.tls.key_file = path("bad.key");
  assert_int_equal(moqc_quic_connect(&fx.loop, &cc, h_on_connect, &fx, NULL), MOQC_ERR_TLS);
  cc.tls.key_file = path("nope.key");
  assert_int_equal(moqc_quic_connect(&fx.loop, &cc, h_on_connect, &fx, NULL), MOQC_ERR_TLS);
  h_teardown(&fx);
}

int main(void) {
  assert_int_equal(setup(NULL), 0);
  make_pki();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_client_cert),    cmocka_unit_test(test_cert_without_expiry),
      cmocka_unit_test(test_no_cert_is_anonymous), cmocka_unit_test(test_untrusted_cert_refused),
      cmocka_unit_test(test_server_without_roots), cmocka_unit_test(test_bad_config),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  teardown(NULL);
  return rc;
}
