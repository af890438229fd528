/* Unit tests: src/quic/tls.c (certificates, fingerprints, pins, ALPN). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "moqc/error.h"
#include "moqc/quic.h"
#include "quic/tls.h"

static char g_dir[64];

static int setup(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "/tmp/moqc-tls-XXXXXX");
  return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  const char *names[] = {"c.pem", "k.pem", "k2.pem", "junk.pem"};
  char p[128];
  for (size_t i = 0; i < 4; i++) {
    snprintf(p, sizeof p, "%s/%s", g_dir, names[i]);
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

static gnutls_x509_crt_t read_crt(const char *file) {
  gnutls_datum_t d;
  assert_int_equal(gnutls_load_file(file, &d), 0);
  gnutls_x509_crt_t crt;
  assert_int_equal(gnutls_x509_crt_init(&crt), 0);
  assert_int_equal(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM), 0);
  gnutls_free(d.data);
  return crt;
}

static bool has_san(gnutls_x509_crt_t crt, unsigned type, const void *v, size_t n) {
  for (unsigned i = 0;; i++) {
    uint8_t buf[256];
    size_t len = sizeof buf;
    unsigned critical;
    int t = gnutls_x509_crt_get_subject_alt_name(crt, i, buf, &len, &critical);
    if (t < 0) return false;
    if ((unsigned)t == type && len == n && memcmp(buf, v, n) == 0) return true;
  }
}

/* What Chromium's serverCertificateHashes requires: ECDSA P-256, <= 14 days. */
static void test_self_signed_properties(void **state) {
  (void)state;
  const char *hosts[] = {"localhost", "relay.example", "10.1.2.3"};
  moqc_cert *c = NULL;
  assert_int_equal(moqc_cert_self_signed(hosts, 3, &c), MOQC_OK);
  assert_int_equal(moqc_cert_write_pem(c, path("c.pem"), path("k.pem")), MOQC_OK);
  gnutls_x509_crt_t crt = read_crt(path("c.pem"));
  time_t nb = gnutls_x509_crt_get_activation_time(crt);
  time_t na = gnutls_x509_crt_get_expiration_time(crt);
  time_t now = time(NULL);
  assert_true(na - nb <= 14 * 86400);
  assert_true(na - nb >= 13 * 86400);
  assert_true(nb <= now && na > now + 12 * 86400);
  unsigned bits = 0;
  assert_int_equal(gnutls_x509_crt_get_pk_algorithm(crt, &bits), GNUTLS_PK_ECDSA);
  gnutls_ecc_curve_t curve;
  assert_int_equal(gnutls_x509_crt_get_pk_ecc_raw(crt, &curve, NULL, NULL), 0);
  assert_int_equal(curve, GNUTLS_ECC_CURVE_SECP256R1);
  assert_true(has_san(crt, GNUTLS_SAN_DNSNAME, "localhost", 9));
  assert_true(has_san(crt, GNUTLS_SAN_DNSNAME, "relay.example", 13));
  assert_true(has_san(crt, GNUTLS_SAN_IPADDRESS, "\x7f\0\0\1", 4));
  assert_true(has_san(crt, GNUTLS_SAN_IPADDRESS, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16));
  assert_true(has_san(crt, GNUTLS_SAN_IPADDRESS, "\x0a\x01\x02\x03", 4));
  assert_int_equal(gnutls_x509_crt_check_hostname(crt, "localhost"), 1);
  assert_int_equal(gnutls_x509_crt_check_hostname(crt, "other.example"), 0);

  /* the fingerprint is the SHA-256 of the DER leaf, lower-case hex */
  gnutls_datum_t der;
  assert_int_equal(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der), 0);
  uint8_t md[32];
  assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data, der.size, md), 0);
  gnutls_free(der.data);
  char hex[65];
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
  assert_string_equal(moqc_cert_fingerprint(c), hex);
  assert_int_equal(strlen(moqc_cert_fingerprint(c)), MOQC_CERT_FINGERPRINT_LEN);
  gnutls_x509_crt_deinit(crt);

  /* the key file is private */
  struct stat st;
  assert_int_equal(stat(path("k.pem"), &st), 0);
  assert_int_equal(st.st_mode & 077, 0);

  /* each generation is a new key */
  moqc_cert *c2 = NULL;
  assert_int_equal(moqc_cert_self_signed(hosts, 1, &c2), MOQC_OK);
  assert_string_not_equal(moqc_cert_fingerprint(c), moqc_cert_fingerprint(c2));
  assert_ptr_equal(moqc_cert_ref(c2), c2);
  moqc_cert_unref(c2);
  moqc_cert_unref(c2);
  moqc_cert_unref(c);
}

static void test_load_roundtrip_and_errors(void **state) {
  (void)state;
  const char *hosts[] = {"a.example"};
  moqc_cert *a = NULL, *b = NULL, *l = NULL;
  assert_int_equal(moqc_cert_self_signed(hosts, 1, &a), MOQC_OK);
  assert_int_equal(moqc_cert_self_signed(hosts, 1, &b), MOQC_OK);
  assert_int_equal(moqc_cert_write_pem(a, path("c.pem"), path("k.pem")), MOQC_OK);
  assert_int_equal(moqc_cert_write_pem(b, NULL, path("k2.pem")), MOQC_OK);
  assert_int_equal(moqc_cert_load(path("c.pem"), path("k.pem"), &l), MOQC_OK);
  assert_string_equal(moqc_cert_fingerprint(l), moqc_cert_fingerprint(a));
  moqc_cert_unref(l);
  l = NULL;
  /* key of another certificate */
  assert_int_equal(moqc_cert_load(path("c.pem"), path("k2.pem"), &l), MOQC_ERR_TLS);
  assert_null(l);
  /* missing file */
  assert_int_equal(moqc_cert_load(path("nope.pem"), path("k.pem"), &l), MOQC_ERR_IO);
  /* not PEM */
  FILE *f = fopen(path("junk.pem"), "w");
  assert_non_null(f);
  fputs("hello\n", f);
  fclose(f);
  assert_int_equal(moqc_cert_load(path("junk.pem"), path("k.pem"), &l), MOQC_ERR_TLS);
  assert_int_equal(moqc_cert_load(path("c.pem"), path("junk.pem"), &l), MOQC_ERR_TLS);
  assert_int_equal(moqc_cert_load(NULL, path("k.pem"), &l), MOQC_ERR_INVAL);
  /* unwritable destination */
  assert_int_equal(moqc_cert_write_pem(a, "/nonexistent/dir/c.pem", NULL), MOQC_ERR_IO);
  moqc_cert_unref(a);
  moqc_cert_unref(b);
  moqc_cert_unref(NULL);
}

static void test_generate_args(void **state) {
  (void)state;
  moqc_cert *c = NULL;
  const char *hosts[] = {"x", ""};
  assert_int_equal(moqc_cert_self_signed(hosts, 0, &c), MOQC_ERR_INVAL);
  assert_int_equal(moqc_cert_self_signed(hosts, 2, &c), MOQC_ERR_INVAL);
  assert_int_equal(moqc_cert_self_signed(NULL, 1, &c), MOQC_ERR_INVAL);
  assert_int_equal(moqc_cert_generate(hosts, 1, 100, 100, &c), MOQC_ERR_INVAL);
  assert_null(c);
}

static void test_parse_fingerprint(void **state) {
  (void)state;
  uint8_t out[32];
  const char *hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
  assert_true(moqc_tls_parse_fingerprint(hex, out));
  assert_int_equal(out[0], 0x00);
  assert_int_equal(out[10], 0xaa);
  assert_int_equal(out[31], 0xff);
  assert_true(moqc_tls_parse_fingerprint(
      "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:"
      "ee:ff",
      out));
  assert_false(moqc_tls_parse_fingerprint("", out));
  assert_false(moqc_tls_parse_fingerprint("0011", out));
  assert_false(moqc_tls_parse_fingerprint(
      "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00", out));
  assert_false(moqc_tls_parse_fingerprint(
      "0g112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", out));
  assert_false(moqc_tls_parse_fingerprint(
      "0:0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", out));
}

static void test_alpn_list(void **state) {
  (void)state;
  size_t n = 0;
  const char *const *d = moqc_quic_default_alpn(&n);
  assert_int_equal(n, 6);
  assert_string_equal(d[0], "moq-lite-05");
  assert_string_equal(d[5], "h3");
  moqc_tls_alpn a;
  assert_int_equal(moqc_tls_alpn_init(&a, NULL, 0), MOQC_OK);
  assert_int_equal(a.n, 6);
  assert_int_equal(a.v[4].size, 6);
  moqc_tls_alpn_free(&a);
  const char *bad[] = {"ok", ""};
  assert_int_equal(moqc_tls_alpn_init(&a, bad, 2), MOQC_ERR_INVAL);
  const char *longname[] = {"0123456789012345678901234567890123"};
  assert_int_equal(moqc_tls_alpn_init(&a, longname, 1), MOQC_ERR_INVAL);
  /* up to 16 (GnuTLS keeps 8 per session: tls.c narrows per ClientHello) */
  const char *many[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i",
                        "j", "k", "l", "m", "n", "o", "p", "q"};
  assert_int_equal(moqc_tls_alpn_init(&a, many, 16), MOQC_OK);
  assert_int_equal(a.n, 16);
  moqc_tls_alpn_free(&a);
  assert_int_equal(moqc_tls_alpn_init(&a, many, 17), MOQC_ERR_INVAL);
  assert_non_null(strstr(moqc_tls_alert_str(120), "application protocol"));
  assert_string_equal(moqc_tls_alert_str(250), "unknown alert");
  assert_string_equal(moqc_quic_cc_str(MOQC_QUIC_CC_BBR), "bbr");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_self_signed_properties),
      cmocka_unit_test(test_load_roundtrip_and_errors),
      cmocka_unit_test(test_generate_args),
      cmocka_unit_test(test_parse_fingerprint),
      cmocka_unit_test(test_alpn_list),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
