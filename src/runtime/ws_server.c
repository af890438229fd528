/* moqc runtime — WebSocket (QMux) sessions on the HTTP listener.
 *
 * moqc_server_ws_upgrade vets an HTTP request that asks for a WebSocket
 * (RFC 6455 handshake, Sec-WebSocket-Protocol `qmux-01.<alpn>`, `qmux-00.<alpn>`
 * or the bare fall-backs, the application's on_connect check on the path),
 * answers 101 and glues three pieces together:
 *   moqc_http_upgraded (libuv TCP bytes) <-> wslay (WebSocket framing)
 *       <-> moqc_qmux (QMux streams, a moqc_transport) <-> moqc_session.
 * Keep-alive: a WebSocket Ping every 5 s; 30 s without any byte from the peer
 * closes the connection (as moq-relay does). */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <wslay/wslay.h>

#include "core/mem.h"
#include "moqc/endpoint.h"
#include "moqc/error.h"
#include "moqc/http.h"
#include "moqc/qmux.h"
#include "runtime/server_int.h"

#define WS_MAX_MESSAGE (64u << 10) /* larger than any QMux frame or record */
#define WS_PING_NS (5ull * 1000000000ull)
#define WS_IDLE_NS (30ull * 1000000000ull)

typedef struct wsconn {
  moqc_http_upgraded *u;
  wslay_event_context_ptr ws;
  moqc_qmux *q;
  moqc_clock *clock;
  moqc_timer ping;
  moqc_timer flush; /* zero-delay: close checks outside QMux's own calls */
  uint64_t last_recv;
  const uint8_t *in; /* bytes being fed to wslay_event_recv */
  size_t in_len;
  int busy;        /* nested calls in progress */
  bool in_recv;    /* inside wslay_event_recv: send after it returns */
  bool closing;    /* we asked the HTTP side to close */
  bool dead;       /* the TCP connection is gone: free when not busy */
  bool qmux_gone;  /* moqc_qmux_io_closed was called */
} wsconn;

static void ws_free_maybe(wsconn *w) {
  if (w->busy || !w->dead) return;
  moqc_timer_stop(w->clock, &w->ping);
  moqc_timer_stop(w->clock, &w->flush);
  if (w->ws) wslay_event_context_free(w->ws);
  moqc_free(w);
}

/* The connection is over: tell QMux (once), stop the timer. */
static void ws_end(wsconn *w, uint16_t status, const char *why) {
  moqc_timer_stop(w->clock, &w->ping);
  moqc_timer_stop(w->clock, &w->flush);
  if (!w->qmux_gone && w->q) {
    w->qmux_gone = true;
    moqc_qmux_io_closed(w->q, status, why);
  }
}

static void ws_close_tcp(wsconn *w) {
  if (w->closing || w->dead) return;
  w->closing = true;
  moqc_http_upgraded_close(w->u); /* flushes, no callback follows */
  w->u = NULL;
  w->dead = true;
  ws_end(w, wslay_event_get_status_code_sent(w->ws), "closed");
}

/* Push what wslay has queued without any callback into QMux (safe from inside
 * its calls); failures and close checks wait for the flush timer. */
static void ws_push(wsconn *w) {
  if (w->dead || w->closing) return;
  if (w->in_recv || wslay_event_send(w->ws) != 0 || wslay_event_get_close_sent(w->ws))
    moqc_timer_start(w->clock, &w->flush, moqc_clock_now(w->clock));
}

/* Push what wslay has queued, and close the TCP side once both directions of
 * the WebSocket are done. */
static void ws_flush(wsconn *w) {
  if (w->dead || w->closing) return;
  if (wslay_event_send(w->ws) != 0) {
    ws_close_tcp(w);
    return;
  }
  if (!wslay_event_want_read(w->ws) && !wslay_event_want_write(w->ws)) ws_close_tcp(w);
  else if (wslay_event_get_close_sent(w->ws) && !wslay_event_want_write(w->ws)) ws_close_tcp(w);
}

/* ---- wslay callbacks --------------------------------------------------------------- */

static ssize_t ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                          void *arg) {
  (void)flags;
  wsconn *w = arg;
  if (w->in_len == 0) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  size_t n = len < w->in_len ? len : w->in_len;
  memcpy(buf, w->in, n);
  w->in += n;
  w->in_len -= n;
  return (ssize_t)n;
}

static ssize_t ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                          void *arg) {
  (void)flags;
  wsconn *w = arg;
  if (w->dead || !w->u || moqc_http_upgraded_write(w->u, data, len) != MOQC_OK) {
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  return (ssize_t)len;
}

static void ws_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
                      void *arg) {
  wsconn *w = arg;
  switch (a->opcode) {
  case WSLAY_BINARY_FRAME:
    if (!w->qmux_gone) moqc_qmux_recv(w->q, a->msg, a->msg_length);
    break;
  case WSLAY_TEXT_FRAME: /* QMux is binary only */
    wslay_event_queue_close(ctx, WSLAY_CODE_UNSUPPORTED_DATA, (const uint8_t *)"text frame", 10);
    ws_end(w, WSLAY_CODE_UNSUPPORTED_DATA, "text frame");
    break;
  case WSLAY_CONNECTION_CLOSE: /* wslay answers the close; the session ends */
    ws_end(w, a->status_code, "closed by peer");
    break;
  default: /* ping (answered by wslay), pong */
    break;
  }
}

/* ---- QMux I/O ---------------------------------------------------------------------- */

static int io_send(void *ctx, const uint8_t *p, size_t len) {
  wsconn *w = ctx;
  if (w->dead || w->closing) return -1;
  struct wslay_event_msg m = {WSLAY_BINARY_FRAME, p, len};
  if (wslay_event_queue_msg(w->ws, &m) != 0) return -1;
  ws_push(w);
  return 0;
}

static size_t io_pending(void *ctx) {
  wsconn *w = ctx;
  if (w->dead || !w->u) return 0;
  return wslay_event_get_queued_msg_length(w->ws) + moqc_http_upgraded_pending(w->u);
}

static void io_close(void *ctx, uint16_t status, const char *reason) {
  wsconn *w = ctx;
  if (w->dead || w->closing) return;
  size_t rl = reason ? strlen(reason) : 0;
  if (rl > 123) rl = 123; /* a close frame's reason fits a control frame */
  if (!wslay_event_get_close_sent(w->ws))
    wslay_event_queue_close(w->ws, status, (const uint8_t *)reason, rl);
  ws_push(w);
  moqc_timer_start(w->clock, &w->flush, moqc_clock_now(w->clock));
}

/* ---- HTTP side --------------------------------------------------------------------- */

static void on_data(void *arg, const uint8_t *p, size_t n) {
  wsconn *w = arg;
  w->busy++;
  w->last_recv = moqc_clock_now(w->clock);
  w->in = p;
  w->in_len = n;
  w->in_recv = true;
  int rv = wslay_event_recv(w->ws);
  w->in_recv = false;
  w->in_len = 0;
  if (rv != 0) { /* malformed WebSocket framing or an oversized message */
    if (!wslay_event_get_close_sent(w->ws)) {
      uint16_t code = WSLAY_CODE_PROTOCOL_ERROR;
      wslay_event_queue_close(w->ws, code, NULL, 0);
    }
    ws_end(w, WSLAY_CODE_PROTOCOL_ERROR, "websocket protocol error");
  }
  ws_flush(w);
  w->busy--;
  ws_free_maybe(w);
}

static void on_drained(void *arg) {
  wsconn *w = arg;
  w->busy++;
  ws_flush(w);
  if (!w->qmux_gone) moqc_qmux_io_writable(w->q);
  w->busy--;
  ws_free_maybe(w);
}

static void on_closed(void *arg) {
  wsconn *w = arg;
  w->busy++;
  w->u = NULL;
  w->dead = true;
  ws_end(w, WSLAY_CODE_ABNORMAL_CLOSURE, "connection lost");
  w->busy--;
  ws_free_maybe(w);
}

static void on_flush(moqc_timer *t, void *arg) {
  (void)t;
  wsconn *w = arg;
  w->busy++;
  ws_flush(w);
  w->busy--;
  ws_free_maybe(w);
}

static void on_ping(moqc_timer *t, void *arg) {
  (void)t;
  wsconn *w = arg;
  if (w->dead) return;
  w->busy++;
  uint64_t now = moqc_clock_now(w->clock);
  if (now - w->last_recv >= WS_IDLE_NS) {
    io_close(w, WSLAY_CODE_GOING_AWAY, "idle timeout");
    ws_end(w, WSLAY_CODE_GOING_AWAY, "idle timeout");
  } else {
    struct wslay_event_msg m = {WSLAY_PING, (const uint8_t *)"", 0};
    wslay_event_queue_msg(w->ws, &m);
    ws_flush(w);
    if (!w->dead) moqc_timer_start(w->clock, &w->ping, now + WS_PING_NS);
  }
  w->busy--;
  ws_free_maybe(w);
}

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
  uint16_t st = moqc__server_on_connect(s, path);
  if (st != 200) {
    reply(resp, st, "refused\n");
    return true;
  }
  wsconn *w = moqc_calloc(1, sizeof *w);
  struct wslay_event_callbacks cb = {.recv_callback = ws_recv_cb, .send_callback = ws_send_cb,
                                     .on_msg_recv_callback = ws_msg_cb};
  if (!w || wslay_event_context_server_init(&w->ws, &cb, w) != 0) {
    moqc_free(w);
    reply(resp, 503, "out of memory\n");
    return true;
  }
  wslay_event_config_set_max_recv_msg_length(w->ws, WS_MAX_MESSAGE);
  w->clock = moqc__server_clock(s);
  moqc_timer_init(&w->ping, on_ping, w);
  moqc_timer_init(&w->flush, on_flush, w);
  char hdr[256];
  snprintf(hdr, sizeof hdr,
           "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s%s%s",
           accept, sp[0] ? "Sec-WebSocket-Protocol: " : "", sp, sp[0] ? "\r\n" : "");
  static const moqc_http_upgrade_cbs hcb = {on_data, on_drained, on_closed};
  w->u = moqc_http_response_upgrade(resp, hdr, &hcb, w);
  if (!w->u) {
    wslay_event_context_free(w->ws);
    moqc_free(w);
    reply(resp, 503, "cannot upgrade\n");
    return true;
  }
  moqc_qmux_config qc = {.version = qv, .is_server = true, .protocol = alpn, .path = path,
                         .remote = moqc_http_upgraded_remote(w->u), .clock = w->clock,
                         .io = {io_send, io_pending, io_close}, .io_ctx = w};
  w->busy++;
  w->in_recv = true; /* the 101 goes first: what QMux queues is flushed by the timer */
  int rv = moqc_qmux_new(&qc, &w->q);
  if (rv != MOQC_OK) {
    w->in_recv = false;
    w->busy--;
    ws_close_tcp(w); /* the 101 is queued; the socket just closes */
    ws_free_maybe(w);
    return true;
  }
  w->last_recv = moqc_clock_now(w->clock);
  moqc_timer_start(w->clock, &w->ping, w->last_recv + WS_PING_NS);
  moqc_timer_start(w->clock, &w->flush, w->last_recv);
  moqc__server_start_session(s, moqc_qmux_transport(w->q));
  w->in_recv = false;
  w->busy--;
  ws_free_maybe(w);
  return true;
}
