/* moqc auth — base64url (RFC 4648 section 5) without padding, as JWS uses it. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "auth/auth_int.h"
#include "core/mem.h"
#include "moqc/error.h"

static const char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64url_val(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

int moqc__b64url_decode(const char *s, size_t len, unsigned char **out, size_t *out_len) {
  while (len && s[len - 1] == '=') len--; /* tolerate padding */
  if (len % 4 == 1) return MOQC_ERR_DECODE;
  unsigned char *p = moqc_malloc(len / 4 * 3 + 3);
  if (!p) return MOQC_ERR_NOMEM;
  size_t n = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; i++) {
    int v = b64url_val((unsigned char)s[i]);
    if (v < 0) {
      moqc_free(p);
      return MOQC_ERR_DECODE;
    }
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      p[n++] = (unsigned char)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  assert(n <= len / 4 * 3 + 2);
  p[n] = 0;
  *out = p;
  *out_len = n;
  return MOQC_OK;
}

int moqc__b64url_encode(const unsigned char *p, size_t len, char **out) {
  char *s = moqc_malloc(len / 3 * 4 + 4 + 1);
  if (!s) return MOQC_ERR_NOMEM;
  size_t n = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; i++) {
    acc = (acc << 8) | p[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      s[n++] = b64url_chars[(acc >> bits) & 63];
    }
    acc &= (1u << bits) - 1;
  }
  if (bits) s[n++] = b64url_chars[(acc << (6 - bits)) & 63];
  s[n] = 0;
  *out = s;
  return MOQC_OK;
}
