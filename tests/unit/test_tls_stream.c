/* src/quic/tls_stream.c: TLS over a byte stream, sans-IO, client and server
 * back to back in memory (no socket): handshake, data both ways in pieces,
 * verification (pin, disable, untrusted), garbage, a stalled handshake, and
 * the bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/mem.h"
#include "moqc/error.h"
#include "quic/tls_stream.h"

static moqc_cert *g_cert;

static int setup(void **state) {
  (void)state;
  const char *hosts[] = {"localhost"};
  return moqc_cert_self_signed(hosts, 1, &g_cert) == MOQC_OK ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  moqc_cert_unref(g_cert);
  return 0;
}

/* Move what `from` has to send into `to`, in pieces of `chunk` bytes.
 * Returns the first feed error, MOQC_OK otherwise. */
static int pass(moqc__tls_stream *from, moqc__tls_stream *to, size_t chunk, size_t *moved) {
  size_t n = 0;
  uint8_t *p = moqc__tls_stream_take(from, &n);
  int rv = MOQC_OK;
  for (size_t o = 0; o < n && rv == MOQC_OK; o += chunk)
    rv = moqc__tls_stream_feed(to, p + o, n - o < chunk ? n - o : chunk);
  moqc_free(p);
  if (moved) *moved += n;
  return rv;
}

/* Run the handshake to the end (or a failure): the client's result. */
static int handshake(moqc__tls_stream *c, moqc__tls_stream *s, size_t chunk) {
  uint8_t junk[16];
  for (int i = 0; i < 20; i++) {
    int rv = pass(c, s, chunk, NULL);
    (void)moqc__tls_stream_read(s, junk, 0); /* drives the server, reads nothing */
    if (rv == MOQC_OK) rv = pass(s, c, chunk, NULL);
    if (rv != MOQC_OK) return rv;
    ptrdiff_t r = moqc__tls_stream_read(c, junk, 0);
    if (r < 0 && r != MOQC_ERR_AGAIN) return (int)r;
    if (moqc__tls_stream_ready(c) && moqc__tls_stream_ready(s)) return MOQC_OK;
  }
  return MOQC_ERR_TIMEOUT;
}

static moqc__tls_stream *client(const moqc_quic_tls_client *o) {
  moqc__tls_stream *c = NULL;
  assert_int_equal(moqc__tls_stream_client("localhost", o, &c), MOQC_OK);
  assert_non_null(c);
  return c;
}

static moqc__tls_stream *server(void) {
  moqc__tls_stream *s = NULL;
  assert_int_equal(moqc__tls_stream_server(g_cert, &s), MOQC_OK);
  return s;
}

/* Read everything b has for us into out (up to cap); the byte count. */
static size_t drain(moqc__tls_stream *b, uint8_t *out, size_t cap) {
  size_t n = 0;
  for (;;) {
    ptrdiff_t r = moqc__tls_stream_read(b, out + n, cap - n < 100 ? cap - n : 100);
    if (r <= 0) break;
    n += (size_t)r;
  }
  return n;
}

static void t_roundtrip(void **state) {
  (void)state;
  moqc_quic_tls_client o = {.pin_sha256 = moqc_cert_fingerprint(g_cert)};
  for (size_t chunk = 1; chunk <= 4096; chunk *= 64) { /* records split anywhere */
    moqc__tls_stream *c = client(&o), *s = server();
    /* written before the handshake: held, then sent */
    assert_int_equal(moqc__tls_stream_write(c, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18),
                     MOQC_OK);
    assert_int_equal(handshake(c, s, chunk), MOQC_OK);
    assert_string_equal(moqc__tls_stream_error(c), "");
    static uint8_t big[100000], got[100100];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(pass(c, s, chunk, NULL), MOQC_OK);
    assert_int_equal(drain(s, got, sizeof got), 18);
    assert_memory_equal(got, "GET / HTTP/1.1\r\n\r\n", 18);
    /* 100 kB server -> client, several records, fed in pieces */
    size_t off = 0;
    for (size_t w = 0; w < sizeof big; w += 30000) {
      size_t n = sizeof big - w < 30000 ? sizeof big - w : 30000;
      assert_int_equal(moqc__tls_stream_write(s, big + w, n), MOQC_OK);
      assert_int_equal(pass(s, c, chunk, NULL), MOQC_OK);
      off += drain(c, got + off, sizeof got - off);
    }
    assert_int_equal(off, sizeof big);
    assert_memory_equal(got, big, sizeof big);
    /* close_notify: the reader sees CLOSED */
    moqc__tls_stream_bye(s);
    assert_int_equal(pass(s, c, chunk, NULL), MOQC_OK);
    assert_int_equal(moqc__tls_stream_read(c, got, sizeof got), MOQC_ERR_CLOSED);
    moqc__tls_stream_del(c);
    moqc__tls_stream_del(s);
  }
}

static void t_verify(void **state) {
  (void)state;
  /* system roots: a self-signed certificate is refused, with a reason */
  moqc_quic_tls_client sys = {0};
  moqc__tls_stream *c = client(&sys), *s = server();
  assert_int_equal(handshake(c, s, 1 << 20), MOQC_ERR_TLS);
  assert_non_null(strstr(moqc__tls_stream_error(c), "refused"));
  /* the server got our alert and fails too */
  int rv = pass(c, s, 1 << 20, NULL);
  uint8_t b[8];
  assert_true(rv == MOQC_ERR_TLS || moqc__tls_stream_read(s, b, sizeof b) == MOQC_ERR_TLS);
  moqc__tls_stream_del(c);
  moqc__tls_stream_del(s);
  /* a wrong pin */
  moqc_quic_tls_client pin = {
      .pin_sha256 = "0000000000000000000000000000000000000000000000000000000000000000"};
  c = client(&pin);
  s = server();
  assert_int_equal(handshake(c, s, 1 << 20), MOQC_ERR_TLS);
  assert_non_null(strstr(moqc__tls_stream_error(c), "does not match"));
  moqc__tls_stream_del(c);
  moqc__tls_stream_del(s);
  /* disable_verify */
  moqc_quic_tls_client any = {.disable_verify = true};
  c = client(&any);
  s = server();
  assert_int_equal(handshake(c, s, 1 << 20), MOQC_OK);
  moqc__tls_stream_del(c);
  moqc__tls_stream_del(s);
  /* a malformed pin: refused at once, with a reason */
  moqc_quic_tls_client bad = {.pin_sha256 = "zz"};
  c = NULL;
  assert_int_equal(moqc__tls_stream_client("localhost", &bad, &c), MOQC_ERR_TLS);
  assert_non_null(c);
  assert_non_null(strstr(moqc__tls_stream_error(c), "fingerprint"));
  moqc__tls_stream_del(c);
}

static void t_garbage(void **state) {
  (void)state;
  /* a handshake record holding a ClientHello of 4 junk bytes: an error, and
   * an alert to send */
  static const uint8_t junk[] = {0x16, 0x03, 0x01, 0x00, 0x08, 1, 0, 0, 4, 0xde, 0xad, 0xbe, 0xef};
  moqc__tls_stream *s = server();
  int rv = moqc__tls_stream_feed(s, junk, sizeof junk);
  assert_int_equal(rv, MOQC_ERR_TLS);
  assert_false(moqc__tls_stream_ready(s));
  assert_string_not_equal(moqc__tls_stream_error(s), "");
  size_t n = 0;
  uint8_t *alert = moqc__tls_stream_take(s, &n);
  assert_non_null(alert);
  assert_int_equal(alert[0], 0x15); /* an alert record */
  moqc_free(alert);
  assert_int_equal(moqc__tls_stream_feed(s, junk, 1), MOQC_ERR_TLS); /* stays failed */
  moqc__tls_stream_del(s);

  /* a ClientHello cut short: no error, no answer, not ready (the caller's
   * deadline bounds it) */
  moqc_quic_tls_client any = {.disable_verify = true};
  moqc__tls_stream *c = client(&any);
  s = server();
  uint8_t *hello = moqc__tls_stream_take(c, &n);
  assert_true(n > 10);
  assert_int_equal(moqc__tls_stream_feed(s, hello, n / 2), MOQC_OK);
  uint8_t b[8];
  assert_int_equal(moqc__tls_stream_read(s, b, sizeof b), MOQC_ERR_AGAIN);
  size_t out = 0;
  moqc_free(moqc__tls_stream_take(s, &out));
  assert_int_equal(out, 0);
  assert_false(moqc__tls_stream_ready(s));
  moqc_free(hello);
  moqc__tls_stream_del(c);
  moqc__tls_stream_del(s);
}

static void t_bounds(void **state) {
  (void)state;
  moqc_quic_tls_client any = {.disable_verify = true};
  moqc__tls_stream *c = client(&any), *s = server();
  assert_int_equal(handshake(c, s, 1 << 20), MOQC_OK);
  /* more than TLS_STREAM_MAX_IN unread: refused */
  static uint8_t chunk[16384];
  int rv = MOQC_OK;
  size_t total = 0;
  while (rv == MOQC_OK && total <= TLS_STREAM_MAX_IN + sizeof chunk) {
    assert_int_equal(moqc__tls_stream_write(c, chunk, sizeof chunk), MOQC_OK);
    rv = pass(c, s, 1 << 20, &total);
  }
  assert_int_equal(rv, MOQC_ERR_BOUNDS);
  /* plaintext held before the handshake is bounded too */
  moqc__tls_stream *c2 = client(&any);
  static uint8_t early[TLS_STREAM_MAX_EARLY];
  assert_int_equal(moqc__tls_stream_write(c2, early, sizeof early), MOQC_OK);
  assert_int_equal(moqc__tls_stream_write(c2, early, 1), MOQC_ERR_BOUNDS);
  moqc__tls_stream_del(c2);
  moqc__tls_stream_del(c);
  moqc__tls_stream_del(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_roundtrip),
      cmocka_unit_test(t_verify),
      cmocka_unit_test(t_garbage),
      cmocka_unit_test(t_bounds),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
