/* moqc runtime — the WebSocket glue shared by both ends:
 *   a byte pipe (the server's moqc_http_upgraded or the client's
 *   moqc_http_upconn) <-> wslay (WebSocket framing) <-> moqc_qmux (QMux
 *   streams, a moqc_transport) <-> moqc_session.
 * ws_server.c vets an upgrade request and answers 101; ws_client.c sends one
 * and checks the answer; both then hand the connection to this file.
 * Keep-alive: a WebSocket Ping every 5 s; 30 s without any byte from the peer
 * closes the connection (as moq-relay does). */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>
#include <wslay/wslay.h>

#include "core/mem.h"
#include "moqc/endpoint.h"
#include "moqc/error.h"
#include "moqc/http.h"
#include "moqc/qmux.h"
#include "runtime/ws_int.h"

#define WS_PING_NS (5ull * 1000000000ull)
#define WS_IDLE_NS (30ull * 1000000000ull)

/* The byte pipe under wslay: the server's upgraded HTTP connection or the
 * client's (exactly one is set while the TCP connection lives). */
static int pipe_write(wsconn *w, const uint8_t *p, size_t n) {
  if (w->cu) return moqc_http_upconn_write(w->cu, p, n);
  return w->u ? moqc_http_upgraded_write(w->u, p, n) : MOQC_ERR_CLOSED;
}

static size_t pipe_pending(const wsconn *w) {
  return w->cu ? moqc_http_upconn_pending(w->cu) : moqc_http_upgraded_pending(w->u);
}

static void pipe_close(wsconn *w) {
  if (w->cu) moqc_http_upconn_close(w->cu);
  else if (w->u) moqc_http_upgraded_close(w->u);
  w->u = NULL;
  w->cu = NULL;
}

static bool pipe_live(const wsconn *w) { return w->u || w->cu; }

void moqc__ws_free_maybe(wsconn *w) {
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

void moqc__ws_close_tcp(wsconn *w) {
  if (w->closing || w->dead) return;
  w->closing = true;
  pipe_close(w); /* flushes, no callback follows */
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
    moqc__ws_close_tcp(w);
    return;
  }
  if (w->close_wanted && wslay_event_get_queued_msg_count(w->ws) == 0) {
    w->close_wanted = false; /* what QMux queued before its close is out: now the Close */
    if (!wslay_event_get_close_sent(w->ws))
      wslay_event_queue_close(w->ws, w->close_status, (const uint8_t *)w->close_reason,
                              w->close_len);
    if (wslay_event_send(w->ws) != 0) {
      moqc__ws_close_tcp(w);
      return;
    }
  }
  if (!wslay_event_want_read(w->ws) && !wslay_event_want_write(w->ws)) moqc__ws_close_tcp(w);
  else if (wslay_event_get_close_sent(w->ws) && !wslay_event_want_write(w->ws))
    moqc__ws_close_tcp(w);
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
  if (w->dead || !pipe_live(w) || pipe_write(w, data, len) != MOQC_OK) {
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
    default: /* ping (answered by wslay), pong */ break;
  }
}

/* ---- QMux I/O ---------------------------------------------------------------------- */

static int ws_io_send(void *ctx, const uint8_t *p, size_t len) {
  wsconn *w = ctx;
  if (w->dead || w->closing) return -1;
  struct wslay_event_msg m = {WSLAY_BINARY_FRAME, p, len};
  if (wslay_event_queue_msg(w->ws, &m) != 0) return -1;
  ws_push(w);
  return 0;
}

static size_t ws_io_pending(void *ctx) {
  wsconn *w = ctx;
  if (w->dead || !pipe_live(w)) return 0;
  return wslay_event_get_queued_msg_length(w->ws) + pipe_pending(w);
}

static void ws_io_close(void *ctx, uint16_t status, const char *reason) {
  wsconn *w = ctx;
  if (w->dead || w->closing || w->close_wanted) return;
  size_t rl = reason ? strlen(reason) : 0;
  if (rl > sizeof w->close_reason) rl = sizeof w->close_reason;
  memcpy(w->close_reason, reason ? reason : "", rl);
  w->close_len = (uint8_t)rl;
  w->close_status = status;
  w->close_wanted = true; /* queued by ws_flush behind QMux's last messages */
  ws_push(w);
  moqc_timer_start(w->clock, &w->flush, moqc_clock_now(w->clock));
}

/* ---- HTTP side --------------------------------------------------------------------- */

static void ws_on_data(void *arg, const uint8_t *p, size_t n) {
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
  moqc__ws_free_maybe(w);
}

static void ws_on_drained(void *arg) {
  wsconn *w = arg;
  w->busy++;
  ws_flush(w);
  if (!w->qmux_gone) moqc_qmux_io_writable(w->q);
  w->busy--;
  moqc__ws_free_maybe(w);
}

static void ws_on_closed(void *arg) {
  wsconn *w = arg;
  w->busy++;
  w->u = NULL;
  w->cu = NULL;
  w->dead = true;
  ws_end(w, WSLAY_CODE_ABNORMAL_CLOSURE, "connection lost");
  w->busy--;
  moqc__ws_free_maybe(w);
}

static void on_flush(moqc_timer *t, void *arg) {
  (void)t;
  wsconn *w = arg;
  w->busy++;
  ws_flush(w);
  w->busy--;
  moqc__ws_free_maybe(w);
}

static void on_ping(moqc_timer *t, void *arg) {
  (void)t;
  wsconn *w = arg;
  if (w->dead) return;
  w->busy++;
  uint64_t now = moqc_clock_now(w->clock);
  if (now - w->last_recv >= WS_IDLE_NS) {
    /* A silent peer is not waited for: our Close goes out, then the TCP
     * connection is closed. */
    ws_io_close(w, WSLAY_CODE_GOING_AWAY, "idle timeout");
    ws_end(w, WSLAY_CODE_GOING_AWAY, "idle timeout");
    ws_flush(w);
    moqc__ws_close_tcp(w);
  } else {
    struct wslay_event_msg m = {WSLAY_PING, (const uint8_t *)"", 0};
    wslay_event_queue_msg(w->ws, &m);
    ws_flush(w);
    if (!w->dead) moqc_timer_start(w->clock, &w->ping, now + WS_PING_NS);
  }
  w->busy--;
  moqc__ws_free_maybe(w);
}

/* ---- setup ------------------------------------------------------------------------- */

const moqc_http_upgrade_cbs moqc__ws_pipe_cbs = {ws_on_data, ws_on_drained, ws_on_closed};

/* Client frames are masked with fresh random keys (RFC 6455 §5.3). */
static int ws_genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *arg) {
  (void)ctx;
  (void)arg;
  return uv_random(NULL, NULL, buf, len, 0, NULL) == 0 ? 0 : -1;
}

wsconn *moqc__ws_new(moqc_clock *clock, bool server) {
  wsconn *w = moqc_calloc(1, sizeof *w);
  if (!w) return NULL;
  struct wslay_event_callbacks cb = {.recv_callback = ws_recv_cb,
                                     .send_callback = ws_send_cb,
                                     .genmask_callback = ws_genmask_cb,
                                     .on_msg_recv_callback = ws_msg_cb};
  int rv = server ? wslay_event_context_server_init(&w->ws, &cb, w)
                  : wslay_event_context_client_init(&w->ws, &cb, w);
  if (rv != 0) {
    moqc_free(w);
    return NULL;
  }
  wslay_event_config_set_max_recv_msg_length(w->ws, WS_MAX_MESSAGE);
  w->clock = clock;
  moqc_timer_init(&w->ping, on_ping, w);
  moqc_timer_init(&w->flush, on_flush, w);
  return w;
}

int moqc__ws_start(wsconn *w, moqc_qmux_version qv, const char *alpn, const char *path,
                   const char *remote, bool server, moqc_transport **t) {
  moqc_qmux_config qc = {.version = qv,
                         .is_server = server,
                         .protocol = alpn,
                         .path = path,
                         .remote = remote,
                         .clock = w->clock,
                         .io = {ws_io_send, ws_io_pending, ws_io_close},
                         .io_ctx = w};
  int rv = moqc_qmux_new(&qc, &w->q);
  if (rv != MOQC_OK) return rv;
  w->last_recv = moqc_clock_now(w->clock);
  moqc_timer_start(w->clock, &w->ping, w->last_recv + WS_PING_NS);
  moqc_timer_start(w->clock, &w->flush, w->last_recv);
  *t = moqc_qmux_transport(w->q);
  (*t)->websocket = true;
  return MOQC_OK;
}
