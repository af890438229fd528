/* moqc qmux — sub-protocol negotiation and the WebSocket accept key (pure). */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "moqc/error.h"
#include "moqc/qmux.h"

const char *moqc_qmux_version_str(moqc_qmux_version v) {
  switch (v) {
    case MOQC_QMUX_WEBTRANSPORT: return "webtransport";
    case MOQC_QMUX_00: return "qmux-00";
    case MOQC_QMUX_01: return "qmux-01";
    case MOQC_QMUX_02: return "qmux-02";
  }
  return "?";
}

int moqc_qmux_subprotocol_parse(const char *token, moqc_qmux_version *v, char *alpn, size_t cap) {
  if (!token || !v || !alpn || cap == 0) return MOQC_ERR_INVAL;
  static const struct {
    const char *name;
    moqc_qmux_version v;
  } pre[] = {{"qmux-02", MOQC_QMUX_02}, {"qmux-01", MOQC_QMUX_01}, {"qmux-00", MOQC_QMUX_00}};
  alpn[0] = 0;
  if (token[0] == 0 || strcmp(token, "webtransport") == 0) {
    *v = MOQC_QMUX_WEBTRANSPORT;
    return MOQC_OK;
  }
  for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++) {
    size_t n = strlen(pre[i].name);
    if (strncmp(token, pre[i].name, n) != 0) continue;
    if (token[n] == 0) {
      *v = pre[i].v;
      return MOQC_OK;
    }
    if (token[n] != '.' || token[n + 1] == 0) return MOQC_ERR_UNSUPPORTED;
    if (strlen(token + n + 1) >= cap) return MOQC_ERR_TOO_LARGE;
    *v = pre[i].v;
    snprintf(alpn, cap, "%s", token + n + 1);
    return MOQC_OK;
  }
  return MOQC_ERR_UNSUPPORTED;
}

/* Is tok (len n) one of the comma-separated, space-padded tokens of offered? */
static bool offered_has(const char *offered, const char *tok) {
  size_t n = strlen(tok);
  const char *p = offered;
  while (*p) {
    while (*p == ' ' || *p == '\t' || *p == ',') p++;
    const char *s = p;
    while (*p && *p != ',') p++;
    const char *e = p;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
    if ((size_t)(e - s) == n && memcmp(s, tok, n) == 0) return true;
  }
  return false;
}

static bool offered_empty(const char *offered) {
  if (!offered) return true;
  for (const char *p = offered; *p; p++)
    if (*p != ' ' && *p != '\t' && *p != ',') return false;
  return true;
}

static int put(char *out, size_t cap, const char *a, const char *b) {
  int n = snprintf(out, cap, "%s%s", a, b);
  return n < 0 || (size_t)n >= cap ? MOQC_ERR_BUFSIZE : MOQC_OK;
}

int moqc_qmux_subprotocol_select(const char *offered, const char *const *alpns, size_t n_alpns,
                                 char *out, size_t cap) {
  if (!out || cap == 0) return MOQC_ERR_INVAL;
  out[0] = 0;
  if (offered_empty(offered)) return MOQC_OK;
  static const char *const prefixes[] = {"qmux-02.", "qmux-01.", "qmux-00."};
  char tok[128];
  for (size_t i = 0; i < n_alpns; i++) {
    if (!alpns[i]) continue;
    for (size_t j = 0; j < 3; j++) {
      if (put(tok, sizeof tok, prefixes[j], alpns[i]) != MOQC_OK) continue;
      if (offered_has(offered, tok)) return put(out, cap, tok, "");
    }
  }
  static const char *const bare[] = {"qmux-02", "qmux-01", "qmux-00", "webtransport"};
  for (size_t j = 0; j < 4; j++)
    if (offered_has(offered, bare[j])) return put(out, cap, bare[j], "");
  return MOQC_ERR_UNSUPPORTED;
}

/* ---- SHA-1 (FIPS 180-4), only for the handshake's accept key ----------------------- */

typedef struct sha1 {
  uint32_t h[5];
  uint8_t block[64];
  size_t n;
  uint64_t bits;
} sha1;

static uint32_t rol(uint32_t x, unsigned k) { return (x << k) | (x >> (32 - k)); }

static void sha1_block(sha1 *s) {
  uint32_t w[80];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)s->block[4 * i] << 24 | (uint32_t)s->block[4 * i + 1] << 16 |
           (uint32_t)s->block[4 * i + 2] << 8 | s->block[4 * i + 3];
  for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4];
  for (int i = 0; i < 80; i++) {
    uint32_t f, k;
    if (i < 20) f = (b & c) | (~b & d), k = 0x5a827999;
    else if (i < 40) f = b ^ c ^ d, k = 0x6ed9eba1;
    else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8f1bbcdc;
    else f = b ^ c ^ d, k = 0xca62c1d6;
    uint32_t t = rol(a, 5) + f + e + k + w[i];
    e = d, d = c, c = rol(b, 30), b = a, a = t;
  }
  s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d, s->h[4] += e;
}

static void sha1_update(sha1 *s, const uint8_t *p, size_t len) {
  for (size_t i = 0; i < len; i++) {
    s->block[s->n++] = p[i];
    s->bits += 8;
    if (s->n == 64) {
      sha1_block(s);
      s->n = 0;
    }
  }
}

static void sha1_final(sha1 *s, uint8_t out[20]) {
  uint64_t bits = s->bits;
  uint8_t pad = 0x80;
  sha1_update(s, &pad, 1);
  pad = 0;
  while (s->n != 56) sha1_update(s, &pad, 1);
  uint8_t len[8];
  for (int i = 0; i < 8; i++) len[i] = (uint8_t)(bits >> (56 - 8 * i));
  sha1_update(s, len, 8);
  assert(s->n == 0);
  for (int i = 0; i < 20; i++) out[i] = (uint8_t)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int moqc_ws_accept_key(const char *key, char out[29]) {
  if (!key || !out) return MOQC_ERR_INVAL;
  /* A valid key is 16 random bytes in base64: 22 characters and "==". */
  if (strlen(key) != 24 || key[22] != '=' || key[23] != '=') return MOQC_ERR_INVAL;
  for (int i = 0; i < 22; i++)
    if (!strchr(b64, key[i]) || key[i] == 0) return MOQC_ERR_INVAL;
  static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  sha1 s = {.h = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0}};
  sha1_update(&s, (const uint8_t *)key, 24);
  sha1_update(&s, (const uint8_t *)guid, sizeof guid - 1);
  uint8_t d[21] = {0};
  sha1_final(&s, d);
  size_t o = 0;
  for (size_t i = 0; i < 21; i += 3) {
    uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
    out[o++] = b64[(v >> 18) & 63];
    out[o++] = b64[(v >> 12) & 63];
    out[o++] = b64[(v >> 6) & 63];
    out[o++] = b64[v & 63];
  }
  /* 20 bytes -> 27 characters + one '=' (the 21st byte was padding). */
  out[27] = '=';
  out[28] = 0;
  return MOQC_OK;
}
