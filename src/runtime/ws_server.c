/* moqc runtime — WebSocket (QMux) sessions on the HTTP listener.
 *
 * moqc_server_ws_upgrade vets an HTTP request that asks for a WebSocket
 * (RFC 6455 handshake, Sec-WebSocket-Protocol `qmux-02.<alpn>`, `qmux-01.<alpn>`, `qmux-00.<alpn>`
 * or the bare fall-backs, the application's on_connect check on the path),
 * answers 101 and hands the connection to the glue in ws_conn.c. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "moqc/endpoint.h"
#include "moqc/error.h"
#include "moqc/http.h"
#include "moqc/qmux.h"
#include "moqc/quic.h"
#include "runtime/server_int.h"
#include "runtime/ws_int.h"

/* ---- the upgrade ------------------------------------------------------------------- */

static void reply(moqc_http_response *resp, uint16_t status, const char *body) {
  resp->status = status;
  resp->content_type = "text/plain";
  resp->body = body;
  resp->body_len = strlen(body);
}

bool moqc_server_ws_upgrade(moqc_server *s, const moqc_http_request *req,
                            moqc_http_response *resp) {
  if (!s || !req || !resp || !req->websocket) return false;
  char accept[29];
  if (strcmp(req->method, "GET") != 0 || !req->ws_version || strcmp(req->ws_version, "13") != 0 ||
      !req->ws_key || moqc_ws_accept_key(req->ws_key, accept) != MOQC_OK) {
    reply(resp, 400, "bad websocket handshake\n");
    return true;
  }
  size_t nv;
  const char *const *vers = moqc__server_versions(s, &nv);
  char sp[64];
  if (moqc_qmux_subprotocol_select(req->ws_protocol, vers, nv, sp, sizeof sp) != MOQC_OK) {
    reply(resp, 400, "no supported websocket sub-protocol\n");
    return true;
  }
  moqc_qmux_version qv;
  char alpn[32];
  if (moqc_qmux_subprotocol_parse(sp, &qv, alpn, sizeof alpn) != MOQC_OK) {
    reply(resp, 400, "no supported websocket sub-protocol\n");
    return true;
  }
  char path[2 * 2048 + 2];
  snprintf(path, sizeof path, "%s%s%s", req->path, req->query ? "?" : "",
           req->query ? req->query : "");
  /* No client certificates over TCP: mutual TLS is QUIC's (docs/cluster.md). */
  moqc_server_connect sc = {
      .path = path, .transport = "WebSocket", .remote = req->remote ? req->remote : ""};
  uint16_t st = moqc__server_on_connect(s, &sc);
  if (st != 200) {
    reply(resp, st, "refused\n");
    return true;
  }
  wsconn *w = moqc__ws_new(moqc__server_clock(s), true);
  if (!w) {
    reply(resp, 503, "out of memory\n");
    return true;
  }
  char hdr[256];
  snprintf(hdr, sizeof hdr,
           "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s%s%s",
           accept, sp[0] ? "Sec-WebSocket-Protocol: " : "", sp, sp[0] ? "\r\n" : "");
  w->u = moqc_http_response_upgrade(resp, hdr, &moqc__ws_pipe_cbs, w);
  if (!w->u) {
    w->dead = true;
    moqc__ws_free_maybe(w);
    reply(resp, 503, "cannot upgrade\n");
    return true;
  }
  w->busy++;
  w->in_recv = true; /* the 101 goes first: what QMux queues is flushed by the timer */
  moqc_transport *t = NULL;
  int rv = moqc__ws_start(w, qv, alpn, path, moqc_http_upgraded_remote(w->u), true, &t);
  if (rv != MOQC_OK) {
    w->in_recv = false;
    w->busy--;
    moqc__ws_close_tcp(w); /* the 101 is queued; the socket just closes */
    moqc__ws_free_maybe(w);
    return true;
  }
  moqc__server_start_session(s, t);
  w->in_recv = false;
  w->busy--;
  moqc__ws_free_maybe(w);
  return true;
}
