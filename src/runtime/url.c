/* URL parsing for moqc_client: https / http / moqt / moql / ws / wss. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moqc/endpoint.h"
#include "moqc/error.h"
#include "core/redact.h"

/* moq-dev's preference order (Rust ALPNS): moq-lite first, then the IETF
 * drafts, newest first. */
static const char *const k_versions[] = {"moq-lite-05", "moq-lite-04", "moq-lite-03", "moql",
                                         "moqt-19",     "moqt-18",     "moqt-17",     "moqt-16",
                                         "moqt-15",     "moq-00"};

const char *const *moqc_default_versions(size_t *n) {
  if (n) *n = sizeof k_versions / sizeof k_versions[0];
  return k_versions;
}

bool moqc_version_supported(const char *alpn) {
  if (!alpn) return false;
  for (size_t i = 0; i < sizeof k_versions / sizeof k_versions[0]; i++)
    if (strcmp(alpn, k_versions[i]) == 0) return true;
  return false;
}

/* The message names the URL with any ?jwt= token value redacted: it reaches
 * the CLI's stderr and log lines. */
static int fail(char *err, size_t cap, const char *msg, const char *url) {
  char shown[201];
  moqc__redact_jwt(url ? url : "(null)", shown, sizeof shown);
  if (err && cap) snprintf(err, cap, "invalid URL '%s': %s", shown, msg);
  return MOQC_ERR_INVAL;
}

static int parse_port(const char *p, size_t n, uint16_t *out) {
  if (n == 0 || n > 5) return -1;
  unsigned v = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return -1;
    v = v * 10 + (unsigned)(p[i] - '0');
  }
  if (v == 0 || v > 65535) return -1;
  *out = (uint16_t)v;
  return 0;
}

/* Split "host[:port]" or "[v6]:port" into out->host / out->port. */
static int parse_authority(const char *a, size_t n, moqc_url *out) {
  const char *host = a, *port = NULL;
  size_t hlen = n, plen = 0;
  if (n && a[0] == '[') {
    const char *close = memchr(a, ']', n);
    if (!close) return -1;
    host = a + 1;
    hlen = (size_t)(close - a) - 1;
    size_t rest = n - (size_t)(close - a) - 1;
    if (rest) {
      if (close[1] != ':') return -1;
      port = close + 2;
      plen = rest - 1;
    }
  } else {
    const char *colon = memchr(a, ':', n);
    if (colon) {
      hlen = (size_t)(colon - a);
      port = colon + 1;
      plen = n - hlen - 1;
    }
  }
  if (hlen == 0 || hlen >= sizeof out->host) return -1;
  memcpy(out->host, host, hlen);
  out->host[hlen] = 0;
  if (port && parse_port(port, plen, &out->port) != 0) return -1;
  return 0;
}

int moqc_url_parse(const char *url, moqc_url *out, char *err, size_t err_cap) {
  if (!url || !out) return fail(err, err_cap, "missing", url);
  memset(out, 0, sizeof *out);
  for (const char *c = url; *c; c++)
    if ((unsigned char)*c <= 0x20 || *c == 0x7f)
      return fail(err, err_cap, "control character or space", url);
  static const struct {
    const char *scheme;
    moqc_url_kind kind;
    uint16_t port;
  } schemes[] = {
      {"https://", MOQC_URL_WEBTRANSPORT, 443}, {"http://", MOQC_URL_HTTP_BOOTSTRAP, 0},
      {"moqt://", MOQC_URL_QUIC, 443},          {"moql://", MOQC_URL_QUIC, 443},
      {"ws://", MOQC_URL_WEBSOCKET, 80},        {"wss://", MOQC_URL_WEBSOCKET_TLS, 443},
  };
  const char *rest = NULL;
  uint16_t def_port = 0;
  for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
    size_t sl = strlen(schemes[i].scheme);
    if (strncasecmp(url, schemes[i].scheme, sl) == 0) {
      out->kind = schemes[i].kind;
      def_port = schemes[i].port;
      rest = url + sl;
      break;
    }
  }
  if (!rest) return fail(err, err_cap, "scheme must be https, http, moqt, moql, ws or wss", url);
  size_t alen = strcspn(rest, "/?#");
  if (memchr(rest, '@', alen)) return fail(err, err_cap, "user info is not supported", url);
  if (parse_authority(rest, alen, out) != 0) return fail(err, err_cap, "bad host or port", url);
  if (out->port == 0) {
    if (!def_port) return fail(err, err_cap, "http:// URLs need an explicit port", url);
    out->port = def_port;
  }
  const char *path = rest + alen;
  size_t plen = strcspn(path, "#");
  if (plen == 0 || path[0] != '/') {
    if (plen + 2 > sizeof out->path) return fail(err, err_cap, "path too long", url);
    out->path[0] = '/';
    memcpy(out->path + 1, path, plen);
    out->path[plen + 1] = 0;
  } else {
    if (plen + 1 > sizeof out->path) return fail(err, err_cap, "path too long", url);
    memcpy(out->path, path, plen);
    out->path[plen] = 0;
  }
  return MOQC_OK;
}
