/* libFuzzer target: the WebSocket handshake, both ends — what the relay does
 * with an upgrade request (moqc_server_ws_upgrade: the HTTP/1 request parser's
 * Upgrade / Connection / Sec-WebSocket-* fields, the accept key, the
 * sub-protocol choice and its split into QMux version + ALPN) and what the
 * moqc client checks in a 101 (the response parser's fields).
 * Invariants: every copied field is NUL-terminated within its buffer; an
 * accept key is 28 base64 characters; a chosen sub-protocol is one of the
 * tokens the client offered, parses, and names one of our ALPNs (or none for
 * the bare fall-backs); offering nothing selects the legacy "" format; the
 * choice does not depend on the output buffer beyond its size check. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http1/http_parse.h"
#include "moqc/http.h"
#include "moqc/qmux.h"
#include "moqc/quic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)       \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

static const char *const k_alpns[] = {"moq-lite-05", "moq-lite-04", "moq-lite-03"};

/* Is tok (len n) one of the comma-separated tokens of list? */
static int in_list(const char *list, const char *tok) {
  size_t n = strlen(tok);
  for (const char *p = list; *p;) {
    while (*p == ' ' || *p == ',' || *p == '\t') p++;
    size_t l = strcspn(p, ", \t");
    if (l == n && strncmp(p, tok, n) == 0) return 1;
    p += l;
  }
  return 0;
}

static void check_choice(const char *offered) {
  char sp[64], sp2[64];
  int rv = moqc_qmux_subprotocol_select(offered, k_alpns, 3, sp, sizeof sp);
  CHECK(rv == MOQC_OK || rv == MOQC_ERR_UNSUPPORTED || rv == MOQC_ERR_BUFSIZE);
  if (rv != MOQC_OK) return;
  CHECK(strlen(sp) < sizeof sp);
  int rv2 = moqc_qmux_subprotocol_select(offered, k_alpns, 3, sp2, sizeof sp2);
  CHECK(rv2 == MOQC_OK && strcmp(sp, sp2) == 0); /* pure */
  if (!sp[0]) { /* legacy: only when nothing usable was offered at all */
    CHECK(strspn(offered ? offered : "", " ,\t") == strlen(offered ? offered : ""));
    return;
  }
  CHECK(in_list(offered, sp));
  moqc_qmux_version v;
  char alpn[32];
  CHECK(moqc_qmux_subprotocol_parse(sp, &v, alpn, sizeof alpn) == MOQC_OK);
  CHECK(v == MOQC_QMUX_00 || v == MOQC_QMUX_01 || v == MOQC_QMUX_02 || v == MOQC_QMUX_WEBTRANSPORT);
  if (alpn[0]) {
    int ours = 0;
    for (int i = 0; i < 3; i++) ours |= strcmp(alpn, k_alpns[i]) == 0;
    CHECK(ours);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 32768) return 0;
  moqc_http1_req r;
  ssize_t h = moqc_http1_parse_request(&r, data, size, 16384);
  if (h > 0) {
    CHECK(memchr(r.ws_key, 0, sizeof r.ws_key) && memchr(r.ws_version, 0, sizeof r.ws_version));
    CHECK(memchr(r.ws_protocol, 0, sizeof r.ws_protocol));
    char accept[29];
    if (moqc_ws_accept_key(r.ws_key, accept) == MOQC_OK) {
      CHECK(strlen(r.ws_key) == 24 && strlen(accept) == 28);
      for (int i = 0; i < 28; i++)
        CHECK(
            accept[i] &&
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", accept[i]));
    }
    check_choice(r.ws_protocol[0] ? r.ws_protocol : NULL);
  }
  /* The same bytes as a raw Sec-WebSocket-Protocol value (bounded, NUL-free). */
  char raw[512];
  size_t n = size < sizeof raw - 1 ? size : sizeof raw - 1;
  memcpy(raw, data, n);
  raw[n] = 0;
  check_choice(raw);
  /* The client's view of a 101. */
  moqc_http1_resp resp;
  ssize_t rh = moqc_http1_parse_response(&resp, data, size, 16384);
  if (rh > 0) {
    CHECK(memchr(resp.ws_accept, 0, sizeof resp.ws_accept));
    CHECK(memchr(resp.ws_protocol, 0, sizeof resp.ws_protocol));
    moqc_qmux_version v;
    char alpn[32];
    int rv = moqc_qmux_subprotocol_parse(resp.ws_protocol, &v, alpn, sizeof alpn);
    CHECK(rv == MOQC_OK || rv == MOQC_ERR_UNSUPPORTED || rv == MOQC_ERR_TOO_LARGE);
  }
  return 0;
}
