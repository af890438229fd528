/* moqc quic — the WebSocket handshake's accept key (RFC 6455 §4.2.2): SHA-1 and
 * base64 from GnuTLS, the one crypto library of libmoqc (no hand-written hash).
 * It lives here, not in src/qmux, because only src/quic and src/auth may use
 * GnuTLS (tests/check_layering.sh). Pure: no state, no I/O. */
#include <assert.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "moqc/error.h"
#include "moqc/quic.h"

/* One character of the standard base64 alphabet (RFC 4648 §4), without the
 * C locale's help: the library never depends on setlocale. */
static bool is_b64(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

int moqc_ws_accept_key(const char *key, char out[29]) {
  if (!key || !out) return MOQC_ERR_INVAL;
  /* A valid key is 16 random bytes in base64: 22 characters and "==". */
  if (strlen(key) != 24 || key[22] != '=' || key[23] != '=') return MOQC_ERR_INVAL;
  for (int i = 0; i < 22; i++)
    if (!is_b64(key[i])) return MOQC_ERR_INVAL;
  static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  char in[24 + sizeof guid - 1];
  memcpy(in, key, 24);
  memcpy(in + 24, guid, sizeof guid - 1);
  uint8_t md[20];
  assert(gnutls_hash_get_len(GNUTLS_DIG_SHA1) == sizeof md);
  if (gnutls_hash_fast(GNUTLS_DIG_SHA1, in, sizeof in, md) < 0) return MOQC_ERR_TLS;
  gnutls_datum_t raw = {.data = md, .size = sizeof md}, b64 = {0};
  if (gnutls_base64_encode2(&raw, &b64) < 0) return MOQC_ERR_NOMEM;
  /* 20 bytes -> 27 characters and one '=' (no line breaks, no terminator counted). */
  int rc = MOQC_OK;
  if (b64.size != 28 || b64.data[27] != '=') rc = MOQC_ERR_TLS;
  else {
    memcpy(out, b64.data, 28);
    out[28] = 0;
  }
  gnutls_free(b64.data);
  return rc;
}
