/* moqc qmux — sub-protocol negotiation (pure). The WebSocket accept key is
 * src/quic/ws_key.c (GnuTLS's SHA-1). */
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
