/* hang: hex and base64 for the catalog's "description" and cmaf "init". */
#include <assert.h>
#include <string.h>

#include "hang/hang_int.h"

static const char k_hex[] = "0123456789abcdef";
static const char k_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void moqc__hang_hex_encode(char *out, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = k_hex[p[i] >> 4];
    out[2 * i + 1] = k_hex[p[i] & 15];
  }
  out[2 * n] = 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int moqc__hang_hex_decode(uint8_t *out, const char *s, size_t slen) {
  if (slen % 2) return -1;
  for (size_t i = 0; i < slen / 2; i++) {
    int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return -1;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return 0;
}

size_t moqc__hang_b64_len(size_t n) { return (n + 2) / 3 * 4; }

size_t moqc__hang_b64_encode(char *out, const uint8_t *p, size_t n) {
  size_t o = 0, i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    out[o++] = k_b64[v >> 18];
    out[o++] = k_b64[(v >> 12) & 63];
    out[o++] = k_b64[(v >> 6) & 63];
    out[o++] = k_b64[v & 63];
  }
  if (i < n) {
    uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
    out[o++] = k_b64[v >> 18];
    out[o++] = k_b64[(v >> 12) & 63];
    out[o++] = i + 1 < n ? k_b64[(v >> 6) & 63] : '=';
    out[o++] = '=';
  }
  assert(o == moqc__hang_b64_len(n));
  out[o] = 0;
  return o;
}

static int b64val(char c) {
  const char *q = c ? strchr(k_b64, c) : NULL;
  return q ? (int)(q - k_b64) : -1;
}

int moqc__hang_b64_decode(uint8_t *out, size_t *outlen, const char *s, size_t slen) {
  while (slen > 0 && s[slen - 1] == '=') slen--;
  if (slen % 4 == 1) return -1;
  uint32_t acc = 0;
  int bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < slen; i++) {
    int v = b64val(s[i]);
    if (v < 0) return -1;
    acc = (acc << 6 | (uint32_t)v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (uint8_t)(acc >> bits);
    }
  }
  *outlen = o;
  return 0;
}
