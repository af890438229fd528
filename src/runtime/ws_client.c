/* moqc runtime — the client side of QMux over WebSocket: the RFC 6455
 * handshake over moqc_http_upgrade_connect (the HTTP/1 code in src/http1),
 * offering `qmux-02.<alpn>`, `qmux-01.<alpn>` then `qmux-00.<alpn>` for each moq version, a
 * check of the 101 (Upgrade, Connection, Sec-WebSocket-Accept, one of the
 * offered sub-protocols), then the glue in ws_conn.c in client mode (masked
 * frames). */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "core/mem.h"
#include "moqc/error.h"
#include "moqc/http.h"
#include "moqc/qmux.h"
#include "moqc/quic.h"
#include "moqc/endpoint.h"
#include "quic/tls_stream.h"
#include "runtime/ws_int.h"

#define WS_OFFER_MAX 2048 /* 3 qmux drafts x every version (10 by default) */

struct moqc__ws_dial {
  wsconn *w;
  moqc_http_upconn *u;
  moqc__ws_dial_fn cb;
  void *ctx;
  char *target;
  char offer[WS_OFFER_MAX];
  char accept[29];
  char err[256];
};

static void dial_free(moqc__ws_dial *d) {
  moqc_free(d->target);
  moqc_free(d);
}

/* Is token one of the comma-separated tokens of the offer? */
static bool offered(const char *offer, const char *token) {
  size_t tl = strlen(token);
  for (const char *p = offer; *p;) {
    while (*p == ' ' || *p == ',') p++;
    size_t n = strcspn(p, ", ");
    if (n == tl && n && strncmp(p, token, n) == 0) return true;
    p += n;
  }
  return false;
}

static void dial_done(moqc__ws_dial *d, int err, const char *msg, moqc_transport *t) {
  d->cb(d->ctx, err, msg, t);
  dial_free(d);
}

static void on_head(void *arg, moqc_http_upconn *u, int err, const moqc_http_upgrade_resp *r) {
  wsconn *w = arg;
  moqc__ws_dial *d = w->dial;
  assert(d && d->u == u);
  w->dial = NULL;
  char msg[300];
  if (err != MOQC_OK) { /* u is freed by http1 */
    if (r) snprintf(msg, sizeof msg, "websocket handshake refused: HTTP status %u", r->status);
    else if (err == MOQC_ERR_TLS)
      snprintf(msg, sizeof msg, "wss: %s",
               moqc_http_upconn_error(u)[0] ? moqc_http_upconn_error(u) : "TLS failed");
    else snprintf(msg, sizeof msg, "websocket connect failed: %s", moqc_err_str(err));
    w->dead = true;
    moqc__ws_free_maybe(w);
    dial_done(d, err, msg, NULL);
    return;
  }
  moqc_qmux_version qv;
  char alpn[32];
  const char *bad = NULL;
  int berr = MOQC_ERR_PROTOCOL;
  if (!r->upgrade_websocket || !r->conn_upgrade) {
    bad = "the 101 lacks Upgrade: websocket / Connection: upgrade";
  } else if (strcmp(r->ws_accept, d->accept) != 0) {
    bad = "wrong Sec-WebSocket-Accept";
  } else if (!r->ws_protocol[0] || !offered(d->offer, r->ws_protocol) ||
             moqc_qmux_subprotocol_parse(r->ws_protocol, &qv, alpn, sizeof alpn) != MOQC_OK ||
             !alpn[0]) {
    bad = "the server chose no offered sub-protocol";
    berr = MOQC_ERR_VERSION;
  }
  if (bad) {
    moqc_http_upconn_close(u);
    w->dead = true;
    moqc__ws_free_maybe(w);
    snprintf(msg, sizeof msg, "websocket handshake failed: %s", bad);
    dial_done(d, berr, msg, NULL);
    return;
  }
  w->cu = u;
  moqc_transport *t = NULL;
  w->busy++;
  int rv = moqc__ws_start(w, qv, alpn, d->target, moqc_http_upconn_remote(u), false, &t);
  if (rv != MOQC_OK) {
    moqc__ws_close_tcp(w);
    w->busy--;
    moqc__ws_free_maybe(w);
    dial_done(d, rv, "websocket: cannot start QMux", NULL);
    return;
  }
  w->busy--;
  dial_done(d, MOQC_OK, r->ws_protocol, t);
}

int moqc__ws_dial_start(uv_loop_t *loop, moqc_clock *clock, const char *host, uint16_t port,
                        const moqc_quic_tls_client *tls, const char *target,
                        const char *const *versions, size_t n_versions, uint64_t timeout_ms,
                        moqc__ws_dial_fn cb, void *ctx, moqc__ws_dial **out, char *err,
                        size_t err_cap) {
  if (!loop || !clock || !host || !target || !versions || !n_versions || !cb || !out)
    return MOQC_ERR_INVAL;
  moqc__ws_dial *d = moqc_calloc(1, sizeof *d);
  if (!d) return MOQC_ERR_NOMEM;
  d->cb = cb;
  d->ctx = ctx;
  d->target = moqc_strdup(target);
  size_t o = 0;
  static const char *const drafts[] = {"qmux-02", "qmux-01", "qmux-00"};
  for (size_t k = 0; k < 3; k++)
    for (size_t i = 0; i < n_versions; i++) {
      int n = snprintf(d->offer + o, sizeof d->offer - o, "%s%s.%s", o ? ", " : "", drafts[k],
                       versions[i]);
      if (n < 0 || (size_t)n >= sizeof d->offer - o) {
        if (err && err_cap) snprintf(err, err_cap, "too many versions for the WebSocket offer");
        dial_free(d);
        return MOQC_ERR_INVAL;
      }
      o += (size_t)n;
    }
  /* Sec-WebSocket-Key: 16 random bytes in base64 (RFC 6455 §4.1). */
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  uint8_t rnd[18] = {0};
  char key[25];
  if (uv_random(NULL, NULL, rnd, 16, 0, NULL) != 0) {
    dial_free(d);
    return MOQC_ERR_IO;
  }
  for (int i = 0, k = 0; i < 18; i += 3) {
    uint32_t v = (uint32_t)rnd[i] << 16 | (uint32_t)rnd[i + 1] << 8 | rnd[i + 2];
    key[k++] = b64[(v >> 18) & 63];
    key[k++] = b64[(v >> 12) & 63];
    key[k++] = b64[(v >> 6) & 63];
    key[k++] = b64[v & 63];
  }
  key[22] = key[23] = '=';
  key[24] = 0;
  wsconn *w = d->target ? moqc__ws_new(clock, false) : NULL;
  if (!w || moqc_ws_accept_key(key, d->accept) != MOQC_OK) {
    if (w) {
      w->dead = true;
      moqc__ws_free_maybe(w);
    }
    dial_free(d);
    return MOQC_ERR_NOMEM;
  }
  char hdr[WS_OFFER_MAX + 200];
  snprintf(hdr, sizeof hdr,
           "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Protocol: %s\r\n",
           key, d->offer);
  moqc_http_upgrade_config uc = {
      .host = host, .port = port, .target = target, .extra_headers = hdr, .timeout_ms = timeout_ms};
  if (tls) { /* wss://: verified as the QUIC client would */
    moqc__tls_stream *t = NULL;
    int trv = moqc__tls_stream_client(host, tls, &t);
    if (trv != MOQC_OK) {
      snprintf(d->err, sizeof d->err, "%s", moqc__tls_stream_error(t));
      moqc__tls_stream_del(t);
      w->dead = true;
      moqc__ws_free_maybe(w);
      if (err && err_cap) snprintf(err, err_cap, "%s", d->err);
      dial_free(d);
      return trv;
    }
    uc.tls = moqc_tls_http_ops();
    uc.tls_conn = t;
  }
  w->dial = d;
  d->w = w;
  int rv = moqc_http_upgrade_connect(loop, &uc, on_head, &moqc__ws_pipe_cbs, w, &d->u);
  if (rv != MOQC_OK) {
    w->dead = true;
    moqc__ws_free_maybe(w);
    dial_free(d);
    return rv;
  }
  *out = d;
  return MOQC_OK;
}

void moqc__ws_dial_cancel(moqc__ws_dial *d) {
  if (!d) return;
  moqc_http_upconn_close(d->u);
  d->w->dial = NULL;
  d->w->dead = true;
  moqc__ws_free_maybe(d->w);
  dial_free(d);
}
