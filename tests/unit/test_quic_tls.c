/* Raw QUIC over loopback: the client's certificate verification. */
#include <time.h>

#include "test_quic_harness.h"
#include "quic/tls.h"

static char g_dir[64];

static int setup(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "/tmp/moqc-quic-tls-XXXXXX");
  return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char p[128];
  snprintf(p, sizeof p, "%s/cert.pem", g_dir);
  unlink(p);
  snprintf(p, sizeof p, "%s/key.pem", g_dir);
  unlink(p);
  rmdir(g_dir);
  return 0;
}

/* Connect with tls options; returns the connect error. */
static int try_connect(h_fx *fx, const char *host, const char *sni,
                       const moqc_quic_tls_client *tls) {
  moqc_quic_client_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.host = host;
  cfg.port = moqc_quic_server_port(fx->srv);
  cfg.sni = sni;
  cfg.tls = *tls;
  fx->connect_done = false;
  assert_int_equal(moqc_quic_connect(&fx->loop, &cfg, h_on_connect, fx, NULL), MOQC_OK);
  assert_true(H_RUN_UNTIL(fx, fx->connect_done, 5000));
  if (getenv("MOQC_TEST_VERBOSE"))
    fprintf(stderr, "connect: %d %s\n", fx->connect_err, fx->connect_msg);
  if (fx->connect_err == MOQC_OK) {
    /* drop it again so the next attempt starts clean */
    fx->c.t->ops->release(fx->c.t);
    fx->c.t = NULL;
  }
  return fx->connect_err;
}

static const char *cert_path(void) {
  static char p[128];
  snprintf(p, sizeof p, "%s/cert.pem", g_dir);
  return p;
}

static void test_untrusted_refused_then_trusted(void **state) {
  (void)state;
  h_fx fx;
  h_init(&fx);
  h_server(&fx, NULL, NULL, 0, NULL);
  assert_int_equal(moqc_cert_write_pem(fx.cert, cert_path(), NULL), MOQC_OK);
  moqc_quic_tls_client tls = {0};

  /* default: system roots, which do not know our self-signed cert */
  assert_int_equal(try_connect(&fx, "127.0.0.1", "localhost", &tls), MOQC_ERR_TLS);
  assert_non_null(strstr(fx.connect_msg, "refused"));
  assert_int_equal(fx.server_conns, 0);

  /* trusting it through a CA file works, by host name and by IP SAN */
  tls.ca_file = cert_path();
  assert_int_equal(try_connect(&fx, "127.0.0.1", "localhost", &tls), MOQC_OK);
  assert_int_equal(try_connect(&fx, "127.0.0.1", NULL, &tls), MOQC_OK);
  assert_int_equal(try_connect(&fx, "::1", NULL, &tls), MOQC_OK);

  /* ...but not for a name the certificate does not carry */
  assert_int_equal(try_connect(&fx, "127.0.0.1", "example.com", &tls), MOQC_ERR_TLS);
  assert_non_null(strstr(fx.connect_msg, "example.com"));

  /* disable_verify accepts anything */
  moqc_quic_tls_client any = {.disable_verify = true};
  assert_int_equal(try_connect(&fx, "127.0.0.1", "example.com", &any), MOQC_OK);
  h_teardown(&fx);
}

static void test_pinned_fingerprint(void **state) {
  (void)state;
  h_fx fx;
  h_init(&fx);
  h_server(&fx, NULL, NULL, 0, NULL);
  const char *fp = moqc_cert_fingerprint(fx.cert);
  moqc_quic_tls_client tls = {.pin_sha256 = fp};
  assert_int_equal(try_connect(&fx, "127.0.0.1", "anything.invalid", &tls), MOQC_OK);

  /* upper case with colons is the same pin */
  char colons[3 * 32];
  for (int i = 0; i < 32; i++) {
    colons[3 * i] = (char)(fp[2 * i] >= 'a' ? fp[2 * i] - 32 : fp[2 * i]);
    colons[3 * i + 1] = (char)(fp[2 * i + 1] >= 'a' ? fp[2 * i + 1] - 32 : fp[2 * i + 1]);
    colons[3 * i + 2] = i == 31 ? '\0' : ':';
  }
  tls.pin_sha256 = colons;
  assert_int_equal(try_connect(&fx, "127.0.0.1", NULL, &tls), MOQC_OK);

  /* a different pin is refused with a clear message */
  char wrong[65];
  memcpy(wrong, fp, 65);
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  tls.pin_sha256 = wrong;
  assert_int_equal(try_connect(&fx, "127.0.0.1", NULL, &tls), MOQC_ERR_TLS);
  assert_non_null(strstr(fx.connect_msg, "does not match"));

  /* a malformed pin is refused up front */
  moqc_quic_client_config cfg = {.host = "127.0.0.1", .port = 1};
  cfg.tls.pin_sha256 = "abc";
  assert_int_equal(moqc_quic_connect(&fx.loop, &cfg, h_on_connect, &fx, NULL), MOQC_ERR_TLS);
  h_teardown(&fx);
}

static void test_expired_certificate(void **state) {
  (void)state;
  h_fx fx;
  h_init(&fx);
  /* replace the fixture's cert by one that expired yesterday */
  moqc_cert_unref(fx.cert);
  const char *hosts[] = {"localhost"};
  time_t now = time(NULL);
  assert_int_equal(moqc_cert_generate(hosts, 1, now - 10 * 86400, now - 86400, &fx.cert), MOQC_OK);
  h_server(&fx, NULL, NULL, 0, NULL);
  assert_int_equal(moqc_cert_write_pem(fx.cert, cert_path(), NULL), MOQC_OK);

  moqc_quic_tls_client tls = {.ca_file = cert_path()};
  assert_int_equal(try_connect(&fx, "127.0.0.1", "localhost", &tls), MOQC_ERR_TLS);
  assert_non_null(strstr(fx.connect_msg, "expired"));

  /* a pin does not excuse an expired certificate (as in browsers) */
  moqc_quic_tls_client pin = {.pin_sha256 = moqc_cert_fingerprint(fx.cert)};
  assert_int_equal(try_connect(&fx, "127.0.0.1", NULL, &pin), MOQC_ERR_TLS);
  assert_non_null(strstr(fx.connect_msg, "expired"));
  assert_int_equal(fx.server_conns, 0);
  h_teardown(&fx);
}

/* A certificate loaded from PEM files serves like a generated one. */
static void test_loaded_certificate(void **state) {
  (void)state;
  char key[128];
  snprintf(key, sizeof key, "%s/key.pem", g_dir);
  h_fx fx;
  h_init(&fx);
  assert_int_equal(moqc_cert_write_pem(fx.cert, cert_path(), key), MOQC_OK);
  moqc_cert *loaded = NULL;
  assert_int_equal(moqc_cert_load(cert_path(), key, &loaded), MOQC_OK);
  assert_string_equal(moqc_cert_fingerprint(loaded), moqc_cert_fingerprint(fx.cert));
  moqc_cert_unref(fx.cert);
  fx.cert = loaded;
  h_server(&fx, NULL, NULL, 0, NULL);
  moqc_quic_tls_client tls = {.ca_file = cert_path()};
  assert_int_equal(try_connect(&fx, "localhost", NULL, &tls), MOQC_OK);
  h_teardown(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_untrusted_refused_then_trusted),
      cmocka_unit_test(test_pinned_fingerprint),
      cmocka_unit_test(test_expired_certificate),
      cmocka_unit_test(test_loaded_certificate),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
