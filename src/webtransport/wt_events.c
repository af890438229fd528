/* moqc transport — WebTransport adapter: the handler installed on the h3
 * connection. Every event enters/leaves the adapter (so a release from a
 * user callback frees only once our frames are off the stack) and is routed
 * to the stream machinery or passed through to the session's user. */
#include <stdio.h>

#include "webtransport/wt_internal.h"

/* ---- h3 handler --------------------------------------------------------------------- */

static bool is_peer_stream(const wt_conn *c, int64_t id) {
  return MOQC_STREAM_IS_SERVER(id) != c->server;
}

/* Our own streams that the user must never see. */
static bool is_internal_local(const wt_conn *c, int64_t id) {
  return id == c->control_out || id == c->session_id;
}

static wt_stream *peer_stream(wt_conn *c, int64_t id) {
  wt_stream *s = moqc__imap_find(&c->streams, (uint64_t)id);
  if (s || !is_peer_stream(c, id)) return s;
  s = moqc__wt_stream_new(c, id, WT_K_PENDING);
  if (!s) moqc__wt_conn_error(c, MOQC_H3_INTERNAL_ERROR, "out of memory");
  return s;
}

static void h3_stream_opened(void *ctx, int64_t id) {
  wt_conn *c = ctx;
  moqc__wt_enter(c);
  if (!moqc__wt_dead(c)) peer_stream(c, id);
  moqc__wt_leave(c);
}

static void h3_stream_data(void *ctx, int64_t id, const uint8_t *p, size_t len, bool fin) {
  wt_conn *c = ctx;
  moqc__wt_enter(c);
  if (!moqc__wt_dead(c)) {
    wt_stream *s = peer_stream(c, id);
    if (s) {
      moqc__wt_on_stream_bytes(c, s, p, len, fin);
    } else if (!moqc__wt_dead(c) && !is_peer_stream(c, id) && !is_internal_local(c, id) &&
               c->state == WT_ST_OPEN && moqc__wt_notify_ok(c)) {
      /* Peer's half of a bidi stream we opened. */
      const moqc_transport_handler *h = c->base.handler;
      if (h && h->stream_data && (len || fin)) h->stream_data(c->base.handler_ctx, id, p, len, fin);
    }
  }
  moqc__wt_leave(c);
}

static uint64_t map_code(uint64_t h3) {
  uint64_t code;
  if (moqc_wt_code_from_h3(h3, &code)) return code;
  if (h3 == MOQC_H3_NO_ERROR || h3 == MOQC_H3_REQUEST_CANCELLED) return MOQC_CODE_CANCEL;
  return MOQC_CODE_TRANSPORT;
}

/* A user-visible stream (peer's, or one we opened)? */
static bool user_stream(wt_conn *c, int64_t id, wt_stream *s) {
  if (s) return s->visible && s->kind == WT_K_WT;
  return !is_peer_stream(c, id) && !is_internal_local(c, id);
}

void moqc__wt_connect_gone(wt_conn *c, uint64_t code) {
  if (c->state == WT_ST_CLOSING) {
    moqc__wt_h3_close(c, moqc_wt_code_to_h3(c->close_code), c->close_reason);
  } else if (c->state == WT_ST_OPEN) {
    moqc__wt_session_ended(c, code, "", true);
  } else if (c->state == WT_ST_SETUP && !c->server) {
    moqc__wt_setup_failed(c, MOQC_ERR_CLOSED, 0, MOQC_H3_NO_ERROR);
  }
}

static void critical_gone(wt_conn *c, wt_stream *s) {
  if (s && (s->kind == WT_K_CONTROL || s->kind == WT_K_QPACK_ENC || s->kind == WT_K_QPACK_DEC))
    moqc__wt_conn_error(c, MOQC_H3_CLOSED_CRITICAL_STREAM, "h3: critical stream closed");
}

static void h3_stream_reset(void *ctx, int64_t id, uint64_t code) {
  wt_conn *c = ctx;
  moqc__wt_enter(c);
  wt_stream *s = moqc__imap_find(&c->streams, (uint64_t)id);
  if (moqc__wt_dead(c)) {
  } else if (id == c->session_id) {
    moqc__wt_connect_gone(c, map_code(code));
  } else if (user_stream(c, id, s)) {
    const moqc_transport_handler *h = c->base.handler;
    if (moqc__wt_notify_ok(c) && h && h->stream_reset)
      h->stream_reset(c->base.handler_ctx, id, map_code(code));
  } else if (s) {
    critical_gone(c, s);
    if (!moqc__wt_dead(c) && s->kind == WT_K_BUFFERED)
      moqc__wt_stream_error(c, s, MOQC_H3_NO_ERROR);
    if (!moqc__wt_dead(c) && id == c->pending_req_id && c->pending_req) {
      moqc_h3_connect_req_free(c->pending_req);
      moqc__wt_free(c->pending_req);
      c->pending_req = NULL;
    }
    if (!moqc__wt_dead(c)) s->kind = WT_K_IGNORE;
  }
  moqc__wt_leave(c);
}

static void h3_stop_sending(void *ctx, int64_t id, uint64_t code) {
  wt_conn *c = ctx;
  moqc__wt_enter(c);
  wt_stream *s = moqc__imap_find(&c->streams, (uint64_t)id);
  if (moqc__wt_dead(c)) {
  } else if (id == c->control_out) {
    moqc__wt_conn_error(c, MOQC_H3_CLOSED_CRITICAL_STREAM, "h3: control stream stopped");
  } else if (id == c->session_id) {
    /* Before the response a server may stop reading the request and still
     * answer (RFC 9114 §4.1.1): wait for the response then. */
    if (c->state != WT_ST_SETUP) moqc__wt_connect_gone(c, map_code(code));
  } else if (user_stream(c, id, s)) {
    const moqc_transport_handler *h = c->base.handler;
    if (moqc__wt_notify_ok(c) && h && h->stop_sending)
      h->stop_sending(c->base.handler_ctx, id, map_code(code));
  }
  moqc__wt_leave(c);
}

static void h3_stream_closed(void *ctx, int64_t id) {
  wt_conn *c = ctx;
  moqc__wt_enter(c);
  wt_stream *s = moqc__imap_find(&c->streams, (uint64_t)id);
  bool user = user_stream(c, id, s);
  if (s && s->kind == WT_K_BUFFERED && !moqc__wt_dead(c)) {
    s->gone = true; /* keep its bytes until the session exists */
    moqc__wt_leave(c);
    return;
  }
  if (s) {
    moqc__imap_remove(&c->streams, (uint64_t)id);
    moqc__wt_stream_free(s);
  }
  if (moqc__wt_dead(c)) {
  } else if (id == c->session_id) {
    moqc__wt_connect_gone(c, MOQC_CODE_CANCEL);
  } else if (user && moqc__wt_notify_ok(c)) {
    const moqc_transport_handler *h = c->base.handler;
    if (h && h->stream_closed) h->stream_closed(c->base.handler_ctx, id);
  }
  moqc__wt_leave(c);
}

/* A stream of the session (prefix included) is acknowledged in full. */
static void h3_stream_acked(void *ctx, int64_t id) {
  wt_conn *c = ctx;
  moqc__wt_enter(c);
  wt_stream *s = moqc__imap_find(&c->streams, (uint64_t)id);
  if (!moqc__wt_dead(c) && user_stream(c, id, s) && moqc__wt_notify_ok(c)) {
    const moqc_transport_handler *h = c->base.handler;
    if (h && h->stream_acked) h->stream_acked(c->base.handler_ctx, id);
  }
  moqc__wt_leave(c);
}

static void h3_datagram(void *ctx, const uint8_t *p, size_t len) {
  wt_conn *c = ctx;
  moqc__wt_enter(c);
  uint64_t sid;
  ssize_t n;
  if (moqc__wt_notify_ok(c) && (n = moqc_wt_datagram_prefix_decode(&sid, p, len)) >= 0 &&
      (int64_t)sid == c->session_id) {
    const moqc_transport_handler *h = c->base.handler;
    if (h && h->datagram) h->datagram(c->base.handler_ctx, p + n, len - (size_t)n);
  }
  moqc__wt_leave(c);
}

static void h3_writable(void *ctx) {
  wt_conn *c = ctx;
  moqc__wt_enter(c);
  if (!moqc__wt_dead(c) && c->control_out < 0) moqc__wt_open_control(c);
  if (!moqc__wt_dead(c) && !c->server && c->state == WT_ST_SETUP) moqc__wt_client_try_connect(c);
  if (moqc__wt_notify_ok(c)) {
    const moqc_transport_handler *h = c->base.handler;
    if (h && h->writable) h->writable(c->base.handler_ctx);
  }
  moqc__wt_leave(c);
}

static void h3_closed(void *ctx, uint64_t code, const char *reason, bool by_peer) {
  wt_conn *c = ctx;
  moqc__wt_enter(c);
  if (!wt_h3_gone(c)) moqc__wt_set_h3(c, WT_H3_CLOSED); /* (released: stays so) */
  if (c->free_pending) {
  } else if (!wt_handed(c)) {
    moqc__wt_setup_failed(c, by_peer ? MOQC_ERR_CLOSED : MOQC_ERR_TRANSPORT, 0, code);
  } else if (c->state == WT_ST_CLOSING) {
    /* Our close() completed (or the peer closed during the linger). */
    moqc__wt_session_ended(c, c->close_code, c->close_reason, false);
  } else {
    /* The connection's code: a WebTransport one (the session's, mapped
     * back), H3_NO_ERROR, another HTTP/3 (or QPACK, or extension) error,
     * all >= 0x100, or our QUIC layer's own (timeout, transport: < 0x100). */
    uint64_t m;
    char why[MOQC_WT_CLOSE_REASON_MAX + 1];
    if (moqc_wt_code_from_h3(code, &m)) {
    } else if (code == MOQC_H3_NO_ERROR) {
      m = 0;
    } else if (code >= MOQC_H3_NO_ERROR) { /* not a MoQ code: name it in the reason */
      m = MOQC_CODE_TRANSPORT;
      c->base.close_code_local = true;
      snprintf(why, sizeof why, "HTTP/3 error 0x%llx%s%s", (unsigned long long)code,
               reason && *reason ? ": " : "", reason ? reason : "");
      reason = why;
    } else {
      m = code;
      c->base.close_code_local = c->h3->close_code_local; /* the QUIC layer's say */
    }
    moqc__wt_session_ended(c, m, reason, by_peer);
  }
  moqc__wt_leave(c);
}

const moqc_transport_handler moqc__wt_h3_handler = {
    .stream_opened = h3_stream_opened,
    .stream_data = h3_stream_data,
    .stream_reset = h3_stream_reset,
    .stop_sending = h3_stop_sending,
    .stream_closed = h3_stream_closed,
    .datagram = h3_datagram,
    .writable = h3_writable,
    .closed = h3_closed,
    .stream_acked = h3_stream_acked,
};
