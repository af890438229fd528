/* moqc transport — WebTransport adapter: lifecycle, h3 event dispatch and
 * stream prefixes. See wt_internal.h for the overall shape. */
#include <string.h>

#include "moqc/buf.h"
#include "transport/wt_internal.h"

/* ---- lifecycle ------------------------------------------------------------------- */

static void conn_free(wt_conn *c) {
  wt_stop_timer(c);
  wt_map_free(&c->streams);
  if (c->pending_req) {
    moqc_h3_connect_req_free(c->pending_req);
    wt_free(c->pending_req);
  }
  moqc_slice_release(&c->hdr_uni);
  moqc_slice_release(&c->hdr_bidi);
  for (size_t i = 0; i < c->n_protos; i++) wt_free(c->protos[i]);
  wt_free(c->protos);
  wt_free(c->authority);
  wt_free(c->path);
  wt_free(c->origin);
  wt_free(c);
}

void wt_enter(wt_conn *c) { c->depth++; }

void wt_leave(wt_conn *c) {
  if (--c->depth == 0 && c->free_pending) conn_free(c);
}

bool wt_dead(const wt_conn *c) { return c->free_pending || c->state == WT_ST_CLOSED; }

/* Drop the h3 connection for good and free us once no frame of ours is on
 * the stack. */
static void schedule_free(wt_conn *c) {
  if (c->free_pending) return;
  c->free_pending = true;
  c->state = WT_ST_CLOSED;
  if (!c->h3_released) {
    c->h3_released = true;
    c->h3->ops->release(c->h3);
  }
  if (c->depth == 0) conn_free(c);
}

void wt_h3_close(wt_conn *c, uint64_t h3_code, const char *reason) {
  if (c->close_sent || c->h3_closed || c->h3_released) return;
  c->close_sent = true;
  c->h3->ops->close(c->h3, h3_code, reason ? reason : "");
}

static void set_reason(wt_conn *c, const char *reason) {
  size_t n = reason ? strlen(reason) : 0;
  if (n > MOQC_WT_CLOSE_REASON_MAX) n = MOQC_WT_CLOSE_REASON_MAX;
  if (n) memmove(c->close_reason, reason, n);
  c->close_reason[n] = '\0';
}

void wt_setup_failed(wt_conn *c, int err, uint16_t status, uint64_t h3_code) {
  if (c->notified || c->handed) return;
  c->notified = true;
  c->state = WT_ST_CLOSED;
  wt_h3_close(c, h3_code ? h3_code : MOQC_H3_NO_ERROR, "");
  if (c->server) {
    if (c->scfg.on_error) c->scfg.on_error(c->scfg.ctx, err, h3_code);
  } else {
    c->ccfg.cb(c->ccfg.ctx, NULL, err, status);
  }
  schedule_free(c);
}

void wt_session_ended(wt_conn *c, uint64_t code, const char *reason, bool by_peer) {
  if (!c->handed) {
    wt_setup_failed(c, by_peer ? MOQC_ERR_CLOSED : MOQC_ERR_TRANSPORT, 0, 0);
    return;
  }
  if (c->notified) return;
  c->notified = true;
  c->state = WT_ST_CLOSED;
  wt_stop_timer(c);
  c->close_code = code;
  c->close_by_peer = by_peer;
  set_reason(c, reason);
  wt_h3_close(c, moqc_wt_code_to_h3(code), c->close_reason);
  if (!c->user_released) {
    const moqc_transport_handler *h = c->base.handler;
    if (h && h->closed) h->closed(c->base.handler_ctx, code, c->close_reason, by_peer);
  }
}

void wt_conn_error(wt_conn *c, uint64_t h3_code, const char *what) {
  if (c->state == WT_ST_CLOSED) return;
  wt_h3_close(c, h3_code, what);
  if (c->handed)
    wt_session_ended(c, MOQC_CODE_PROTOCOL_VIOLATION, what, false);
  else
    wt_setup_failed(c, MOQC_ERR_PROTOCOL, 0, h3_code);
}

/* ---- timer: client connect timeout, close linger ------------------------------- */

static void on_timer(moqc_timer *t, void *arg) {
  (void)t;
  wt_conn *c = arg;
  c->timer_on = false;
  wt_enter(c);
  if (c->state == WT_ST_SETUP && !c->server)
    wt_setup_failed(c, MOQC_ERR_TIMEOUT, 0, MOQC_H3_NO_ERROR);
  else if (c->state == WT_ST_CLOSING)
    wt_h3_close(c, moqc_wt_code_to_h3(c->close_code), c->close_reason);
  wt_leave(c);
}

int wt_start_timer(wt_conn *c, uint64_t delay_ns) {
  moqc_clock *clk = c->server ? c->scfg.clock : c->ccfg.clock;
  if (!clk) return MOQC_ERR_UNSUPPORTED;
  moqc_timer_init(&c->timer, on_timer, c);
  int rc = moqc_timer_start(clk, &c->timer, moqc_clock_now(clk) + delay_ns);
  c->timer_on = rc == MOQC_OK;
  return rc;
}

void wt_stop_timer(wt_conn *c) {
  if (!c->timer_on) return;
  moqc_clock *clk = c->server ? c->scfg.clock : c->ccfg.clock;
  moqc_timer_stop(clk, &c->timer);
  c->timer_on = false;
}

/* ---- streams ---------------------------------------------------------------------- */

wt_frd *wt_frd_new(void) { return wt_alloc(sizeof(wt_frd)); }

wt_stream *wt_stream_new(wt_conn *c, int64_t id, wt_kind kind) {
  wt_stream *s = wt_alloc(sizeof *s);
  if (!s) return NULL;
  s->id = id;
  s->kind = (uint8_t)kind;
  if (wt_map_put(&c->streams, s) != MOQC_OK) {
    wt_free(s);
    return NULL;
  }
  return s;
}

void wt_stream_free(wt_stream *s) {
  if (s->frd) wt_free(s->frd->pay);
  wt_free(s->frd);
  wt_free(s->buf);
  wt_free(s);
}

static void stream_drop_state(wt_stream *s) {
  if (s->frd) wt_free(s->frd->pay);
  wt_free(s->frd);
  s->frd = NULL;
  wt_free(s->buf);
  s->buf = NULL;
  s->buf_len = s->buf_cap = 0;
}

void wt_stream_error(wt_conn *c, wt_stream *s, uint64_t h3_code) {
  if (s->kind == WT_K_BUFFERED && c->n_buffered) c->n_buffered--;
  s->kind = WT_K_IGNORE;
  stream_drop_state(s);
  if (c->h3_released) return;
  c->h3->ops->stop_sending(c->h3, s->id, h3_code);
  if (!MOQC_STREAM_IS_UNI(s->id)) c->h3->ops->reset(c->h3, s->id, h3_code);
}

static bool notify_ok(const wt_conn *c) {
  return c->handed && !c->notified && !c->user_released && !c->free_pending &&
         c->state == WT_ST_OPEN;
}

void wt_deliver(wt_conn *c, wt_stream *s, const uint8_t *p, size_t len, bool fin) {
  if ((!len && !fin) || !notify_ok(c)) return;
  const moqc_transport_handler *h = c->base.handler;
  if (h && h->stream_data) h->stream_data(c->base.handler_ctx, s->id, p, len, fin);
}

static void make_visible(wt_conn *c, wt_stream *s) {
  s->kind = WT_K_WT;
  s->visible = true;
  if (!notify_ok(c)) return;
  const moqc_transport_handler *h = c->base.handler;
  if (h && h->stream_opened) h->stream_opened(c->base.handler_ctx, s->id);
}

static void reject_wt_stream(wt_conn *c, wt_stream *s) {
  wt_stream_error(c, s, MOQC_WT_BUFFERED_STREAM_REJECTED);
}

/* Keep bytes of a stream whose session is not established yet. */
static void buffer_bytes(wt_conn *c, wt_stream *s, const uint8_t *p, size_t len, bool fin) {
  if (s->buf_len + len > WT_MAX_BUFFERED_BYTES) {
    reject_wt_stream(c, s);
    return;
  }
  if (s->buf_len + len > s->buf_cap) {
    size_t cap = s->buf_cap ? s->buf_cap : 256;
    while (cap < s->buf_len + len) cap *= 2;
    uint8_t *b = wt_alloc(cap);
    if (!b) {
      reject_wt_stream(c, s);
      return;
    }
    if (s->buf_len) memcpy(b, s->buf, s->buf_len);
    wt_free(s->buf);
    s->buf = b;
    s->buf_cap = cap;
  }
  if (len) memcpy(s->buf + s->buf_len, p, len);
  s->buf_len += len;
  s->fin |= fin;
}

/* The prefix named session `sid`: route the stream. */
static void wt_stream_start(wt_conn *c, wt_stream *s, uint64_t sid, const uint8_t *p, size_t len,
                            bool fin) {
  if ((sid & 3) != 0) { /* must be a client-initiated bidi stream */
    wt_conn_error(c, MOQC_H3_ID_ERROR, "h3: bad session id");
    return;
  }
  s->session_id = sid;
  if (c->state == WT_ST_OPEN && (int64_t)sid == c->session_id) {
    make_visible(c, s);
    wt_deliver(c, s, p, len, fin);
  } else if (c->state == WT_ST_SETUP && c->n_buffered < WT_MAX_BUFFERED_STREAMS) {
    s->kind = WT_K_BUFFERED;
    c->n_buffered++;
    buffer_bytes(c, s, p, len, fin);
  } else {
    reject_wt_stream(c, s);
  }
}

/* Hand a buffered stream to the user (or refuse it) once the session exists. */
static void flush_buffered(wt_conn *c, wt_stream *s) {
  if ((int64_t)s->session_id != c->session_id || c->state != WT_ST_OPEN) {
    reject_wt_stream(c, s);
  } else {
    make_visible(c, s);
    uint8_t *buf = s->buf;
    size_t n = s->buf_len;
    bool fin = s->fin;
    s->buf = NULL;
    s->buf_len = s->buf_cap = 0;
    wt_deliver(c, s, buf, n, fin);
    wt_free(buf);
    if (s->gone && notify_ok(c)) {
      const moqc_transport_handler *h = c->base.handler;
      if (h && h->stream_closed) h->stream_closed(c->base.handler_ctx, s->id);
    }
  }
  if (s->gone) { /* h3 forgot it already: so do we */
    wt_map_del(&c->streams, s->id);
    wt_stream_free(s);
  }
}

void wt_established(wt_conn *c) {
  c->state = WT_ST_OPEN;
  c->handed = true;
  if (c->server)
    c->scfg.on_session(c->scfg.ctx, &c->base);
  else
    c->ccfg.cb(c->ccfg.ctx, &c->base, MOQC_OK, c->status);
  /* Streams that arrived before the session existed (collected first: the
   * table changes while we deliver). */
  wt_stream *list[WT_MAX_BUFFERED_STREAMS];
  size_t n = 0;
  for (size_t i = 0; i < c->streams.cap && n < WT_MAX_BUFFERED_STREAMS; i++) {
    wt_stream *s = c->streams.slot[i];
    if (s && s->kind == WT_K_BUFFERED) list[n++] = s;
  }
  c->n_buffered = 0;
  for (size_t i = 0; i < n && !c->free_pending; i++) flush_buffered(c, list[i]);
}

/* Classify a peer stream from its prefix, then continue with the rest. */
static void classify(wt_conn *c, wt_stream *s, const moqc_wt_prefix *pf, const uint8_t *p,
                     size_t len, bool fin) {
  bool uni = MOQC_STREAM_IS_UNI(s->id);
  int64_t *slot = NULL;
  wt_kind kind = WT_K_IGNORE;
  if (!uni) {
    if (pf->type == MOQC_H3_FRAME_WT_STREAM) {
      wt_stream_start(c, s, pf->session_id, p, len, fin);
      return;
    }
    if (!c->server) {
      wt_conn_error(c, MOQC_H3_STREAM_CREATION_ERROR, "h3: server bidi stream");
      return;
    }
    if (++c->n_requests > WT_MAX_REQUESTS) {
      wt_stream_error(c, s, MOQC_H3_REQUEST_REJECTED);
      return;
    }
    s->kind = WT_K_REQUEST;
    if (!(s->frd = wt_frd_new())) {
      wt_conn_error(c, MOQC_H3_INTERNAL_ERROR, "out of memory");
      return;
    }
    wt_frames_feed(c, s, p, len, fin);
    return;
  }
  switch (pf->type) {
  case MOQC_H3_STREAM_WT_UNI:
    wt_stream_start(c, s, pf->session_id, p, len, fin);
    return;
  case MOQC_H3_STREAM_CONTROL: slot = &c->control_in; kind = WT_K_CONTROL; break;
  case MOQC_H3_STREAM_QPACK_ENCODER: slot = &c->qpack_enc_in; kind = WT_K_QPACK_ENC; break;
  case MOQC_H3_STREAM_QPACK_DECODER: slot = &c->qpack_dec_in; kind = WT_K_QPACK_DEC; break;
  case MOQC_H3_STREAM_PUSH:
    /* We never send MAX_PUSH_ID; a client must not push at all. */
    wt_conn_error(c, c->server ? MOQC_H3_STREAM_CREATION_ERROR : MOQC_H3_ID_ERROR,
                  "h3: push stream");
    return;
  default: /* unknown or grease: abort reading (RFC 9114 §6.2) */
    wt_stream_error(c, s, MOQC_H3_STREAM_CREATION_ERROR);
    return;
  }
  if (*slot >= 0) {
    wt_conn_error(c, MOQC_H3_STREAM_CREATION_ERROR, "h3: duplicate critical stream");
    return;
  }
  *slot = s->id;
  s->kind = (uint8_t)kind;
  if (kind == WT_K_CONTROL && !(s->frd = wt_frd_new())) {
    wt_conn_error(c, MOQC_H3_INTERNAL_ERROR, "out of memory");
    return;
  }
  wt_on_stream_bytes(c, s, p, len, fin);
}

static void feed_pending(wt_conn *c, wt_stream *s, const uint8_t *p, size_t len, bool fin) {
  bool uni = MOQC_STREAM_IS_UNI(s->id);
  moqc_wt_prefix pf;
  size_t used = 0, rlen = 0;
  uint8_t replay[MOQC_H3_HDR_MAX];
  ssize_t r = moqc_h3_acc_feed(&s->acc, uni ? moqc_wt_dec_prefix_uni : moqc_wt_dec_prefix_bidi,
                               &pf, p, len, &used, replay, &rlen);
  if (r == MOQC_ERR_NEED_MORE) {
    if (fin) s->kind = WT_K_IGNORE; /* ended before its type: ignore */
    return;
  }
  if (r < 0) {
    wt_conn_error(c, MOQC_H3_FRAME_ERROR, "h3: bad stream prefix");
    return;
  }
  if (rlen) {
    /* Non-consuming decode (a bidi request stream): the held bytes go first. */
    classify(c, s, &pf, replay, rlen, false);
    if (wt_dead(c) || s->kind != WT_K_REQUEST) return;
    wt_frames_feed(c, s, p + used, len - used, fin);
    return;
  }
  classify(c, s, &pf, p + used, len - used, fin);
}

/* Bytes for a classified peer stream. */
void wt_on_stream_bytes(wt_conn *c, wt_stream *s, const uint8_t *p, size_t len, bool fin) {
  switch (s->kind) {
  case WT_K_PENDING: feed_pending(c, s, p, len, fin); return;
  case WT_K_CONTROL:
    if (!wt_frames_feed(c, s, p, len, fin)) return;
    if (fin) wt_conn_error(c, MOQC_H3_CLOSED_CRITICAL_STREAM, "h3: control stream closed");
    return;
  case WT_K_REQUEST: wt_frames_feed(c, s, p, len, fin); return;
  case WT_K_QPACK_ENC:
    /* With capacity 0 the only valid instruction is Set Dynamic Table
     * Capacity 0, i.e. the byte 0x20. */
    for (size_t i = 0; i < len; i++)
      if (p[i] != 0x20) {
        wt_conn_error(c, MOQC_H3_QPACK_ENCODER_STREAM_ERROR, "qpack: encoder stream");
        return;
      }
    if (fin) wt_conn_error(c, MOQC_H3_CLOSED_CRITICAL_STREAM, "h3: qpack stream closed");
    return;
  case WT_K_QPACK_DEC:
    if (fin) wt_conn_error(c, MOQC_H3_CLOSED_CRITICAL_STREAM, "h3: qpack stream closed");
    return;
  case WT_K_WT: wt_deliver(c, s, p, len, fin); return;
  case WT_K_BUFFERED: buffer_bytes(c, s, p, len, fin); return;
  default: return;
  }
}

/* ---- h3 handler --------------------------------------------------------------------- */

static bool is_peer_stream(const wt_conn *c, int64_t id) {
  return MOQC_STREAM_IS_SERVER(id) != c->server;
}

/* Our own streams that the user must never see. */
static bool is_internal_local(const wt_conn *c, int64_t id) {
  return id == c->control_out || id == c->session_id;
}

static wt_stream *peer_stream(wt_conn *c, int64_t id) {
  wt_stream *s = wt_map_get(&c->streams, id);
  if (s || !is_peer_stream(c, id)) return s;
  s = wt_stream_new(c, id, WT_K_PENDING);
  if (!s) wt_conn_error(c, MOQC_H3_INTERNAL_ERROR, "out of memory");
  return s;
}

static void h3_stream_opened(void *ctx, int64_t id) {
  wt_conn *c = ctx;
  wt_enter(c);
  if (!wt_dead(c)) peer_stream(c, id);
  wt_leave(c);
}

static void h3_stream_data(void *ctx, int64_t id, const uint8_t *p, size_t len, bool fin) {
  wt_conn *c = ctx;
  wt_enter(c);
  if (!wt_dead(c)) {
    wt_stream *s = peer_stream(c, id);
    if (s) {
      wt_on_stream_bytes(c, s, p, len, fin);
    } else if (!wt_dead(c) && !is_peer_stream(c, id) && !is_internal_local(c, id) &&
               c->state == WT_ST_OPEN && notify_ok(c)) {
      /* Peer's half of a bidi stream we opened. */
      const moqc_transport_handler *h = c->base.handler;
      if (h && h->stream_data && (len || fin)) h->stream_data(c->base.handler_ctx, id, p, len, fin);
    }
  }
  wt_leave(c);
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

void wt_connect_gone(wt_conn *c, uint64_t code) {
  if (c->state == WT_ST_CLOSING) {
    wt_h3_close(c, moqc_wt_code_to_h3(c->close_code), c->close_reason);
  } else if (c->state == WT_ST_OPEN) {
    wt_session_ended(c, code, "", true);
  } else if (c->state == WT_ST_SETUP && !c->server) {
    wt_setup_failed(c, MOQC_ERR_CLOSED, 0, MOQC_H3_NO_ERROR);
  }
}

static void critical_gone(wt_conn *c, wt_stream *s) {
  if (s && (s->kind == WT_K_CONTROL || s->kind == WT_K_QPACK_ENC || s->kind == WT_K_QPACK_DEC))
    wt_conn_error(c, MOQC_H3_CLOSED_CRITICAL_STREAM, "h3: critical stream closed");
}

static void h3_stream_reset(void *ctx, int64_t id, uint64_t code) {
  wt_conn *c = ctx;
  wt_enter(c);
  wt_stream *s = wt_map_get(&c->streams, id);
  if (wt_dead(c)) {
  } else if (id == c->session_id) {
    wt_connect_gone(c, map_code(code));
  } else if (user_stream(c, id, s)) {
    const moqc_transport_handler *h = c->base.handler;
    if (notify_ok(c) && h && h->stream_reset) h->stream_reset(c->base.handler_ctx, id, map_code(code));
  } else if (s) {
    critical_gone(c, s);
    if (!wt_dead(c) && s->kind == WT_K_BUFFERED) wt_stream_error(c, s, MOQC_H3_NO_ERROR);
    if (!wt_dead(c) && id == c->pending_req_id && c->pending_req) {
      moqc_h3_connect_req_free(c->pending_req);
      wt_free(c->pending_req);
      c->pending_req = NULL;
    }
    if (!wt_dead(c)) s->kind = WT_K_IGNORE;
  }
  wt_leave(c);
}

static void h3_stop_sending(void *ctx, int64_t id, uint64_t code) {
  wt_conn *c = ctx;
  wt_enter(c);
  wt_stream *s = wt_map_get(&c->streams, id);
  if (wt_dead(c)) {
  } else if (id == c->control_out) {
    wt_conn_error(c, MOQC_H3_CLOSED_CRITICAL_STREAM, "h3: control stream stopped");
  } else if (id == c->session_id) {
    /* Before the response a server may stop reading the request and still
     * answer (RFC 9114 §4.1.1): wait for the response then. */
    if (c->state != WT_ST_SETUP) wt_connect_gone(c, map_code(code));
  } else if (user_stream(c, id, s)) {
    const moqc_transport_handler *h = c->base.handler;
    if (notify_ok(c) && h && h->stop_sending) h->stop_sending(c->base.handler_ctx, id, map_code(code));
  }
  wt_leave(c);
}

static void h3_stream_closed(void *ctx, int64_t id) {
  wt_conn *c = ctx;
  wt_enter(c);
  wt_stream *s = wt_map_get(&c->streams, id);
  bool user = user_stream(c, id, s);
  if (s && s->kind == WT_K_BUFFERED && !wt_dead(c)) {
    s->gone = true; /* keep its bytes until the session exists */
    wt_leave(c);
    return;
  }
  if (s) {
    wt_map_del(&c->streams, id);
    wt_stream_free(s);
  }
  if (wt_dead(c)) {
  } else if (id == c->session_id) {
    wt_connect_gone(c, MOQC_CODE_CANCEL);
  } else if (user && notify_ok(c)) {
    const moqc_transport_handler *h = c->base.handler;
    if (h && h->stream_closed) h->stream_closed(c->base.handler_ctx, id);
  }
  wt_leave(c);
}

static void h3_datagram(void *ctx, const uint8_t *p, size_t len) {
  wt_conn *c = ctx;
  wt_enter(c);
  uint64_t sid;
  ssize_t n;
  if (notify_ok(c) && (n = moqc_wt_datagram_prefix_decode(&sid, p, len)) >= 0 &&
      (int64_t)sid == c->session_id) {
    const moqc_transport_handler *h = c->base.handler;
    if (h && h->datagram) h->datagram(c->base.handler_ctx, p + n, len - (size_t)n);
  }
  wt_leave(c);
}

static void h3_writable(void *ctx) {
  wt_conn *c = ctx;
  wt_enter(c);
  if (!wt_dead(c) && c->control_out < 0) wt_open_control(c);
  if (!wt_dead(c) && !c->server && c->state == WT_ST_SETUP) wt_client_try_connect(c);
  if (notify_ok(c)) {
    const moqc_transport_handler *h = c->base.handler;
    if (h && h->writable) h->writable(c->base.handler_ctx);
  }
  wt_leave(c);
}

static void h3_closed(void *ctx, uint64_t code, const char *reason, bool by_peer) {
  wt_conn *c = ctx;
  wt_enter(c);
  c->h3_closed = true;
  if (c->free_pending) {
  } else if (!c->handed) {
    wt_setup_failed(c, by_peer ? MOQC_ERR_CLOSED : MOQC_ERR_TRANSPORT, 0, code);
  } else if (c->state == WT_ST_CLOSING) {
    /* Our close() completed (or the peer closed during the linger). */
    wt_session_ended(c, c->close_code, c->close_reason, false);
  } else {
    uint64_t m;
    if (!moqc_wt_code_from_h3(code, &m)) m = code == MOQC_H3_NO_ERROR ? 0 : code;
    wt_session_ended(c, m, reason, by_peer);
  }
  wt_leave(c);
}

static const moqc_transport_handler k_h3_handler = {
    .stream_opened = h3_stream_opened,
    .stream_data = h3_stream_data,
    .stream_reset = h3_stream_reset,
    .stop_sending = h3_stop_sending,
    .stream_closed = h3_stream_closed,
    .datagram = h3_datagram,
    .writable = h3_writable,
    .closed = h3_closed,
};

/* ---- user release (called by wt_session.c) ----------------------------------------- */

void wt_user_release(wt_conn *c) {
  if (c->user_released) return;
  c->user_released = true;
  schedule_free(c);
}

/* ---- attach --------------------------------------------------------------------------- */

int wt_write_bytes(wt_conn *c, int64_t id, const uint8_t *p, size_t len, bool fin) {
  if (c->h3_released || c->h3_closed) return MOQC_ERR_CLOSED;
  moqc_slice sl = MOQC_SLICE_EMPTY;
  size_t n = 0;
  if (len) {
    moqc_buf *b = moqc_buf_copy(p, len);
    if (!b) return MOQC_ERR_NOMEM;
    sl.buf = b;
    sl.len = len;
    n = 1;
  }
  int rc = c->h3->ops->write(c->h3, id, &sl, n, fin);
  moqc_slice_release(&sl);
  return rc;
}

/* Open our control stream and send SETTINGS. MOQC_OK, MOQC_ERR_AGAIN (no
 * stream credit: retried on `writable`) or another error. */
static int open_control(wt_conn *c) {
  int64_t id;
  int rc = c->h3->ops->open_stream(c->h3, false, &id);
  if (rc != MOQC_OK) return rc;
  uint8_t buf[80];
  buf[0] = MOQC_H3_STREAM_CONTROL;
  uint32_t max = c->server && c->scfg.max_sessions ? c->scfg.max_sessions : 1;
  ssize_t n = moqc_h3_settings_encode_frame(buf + 1, sizeof buf - 1, max);
  c->control_out = id;
  if (n < 0) return (int)n;
  return wt_write_bytes(c, id, buf, (size_t)n + 1, false);
}

void wt_open_control(wt_conn *c) {
  int rc = open_control(c);
  if (rc != MOQC_OK && rc != MOQC_ERR_AGAIN)
    wt_conn_error(c, MOQC_H3_INTERNAL_ERROR, "h3: cannot open control stream");
}

static char *dup_str(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s);
  char *d = wt_alloc(n + 1);
  if (d) memcpy(d, s, n + 1);
  return d;
}

bool wt_proto_ok(const char *p) {
  size_t n = p ? strlen(p) : 0;
  if (n == 0 || n > MOQC_H3_PROTOCOL_MAX) return false;
  for (size_t i = 0; i < n; i++)
    if (p[i] < 0x20 || p[i] > 0x7e) return false;
  return true;
}

static bool text_ok(const char *s) {
  if (!s) return false;
  for (; *s; s++)
    if (*s == '\r' || *s == '\n') return false;
  return true;
}

static wt_conn *conn_new(moqc_transport *h3, bool server, const char *const *protos, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!wt_proto_ok(protos[i])) return NULL;
  wt_conn *c = wt_alloc(sizeof *c);
  if (!c) return NULL;
  c->h3 = h3;
  c->server = server;
  c->control_out = c->control_in = c->qpack_enc_in = c->qpack_dec_in = -1;
  c->session_id = c->pending_req_id = -1;
  c->base.ops = &wt_session_ops;
  c->base.path = "";
  c->base.is_server = server;
  c->base.webtransport = true;
  if (n && !(c->protos = wt_alloc(n * sizeof *c->protos))) goto oom;
  for (; c->n_protos < n; c->n_protos++)
    if (!(c->protos[c->n_protos] = dup_str(protos[c->n_protos]))) goto oom;
  return c;
oom:
  conn_free(c);
  return NULL;
}

/* Send SETTINGS, then take over h3's events. On failure nothing was
 * handed over: c is freed and the caller keeps h3. */
static int start(wt_conn *c) {
  int rc = open_control(c);
  if (rc != MOQC_OK && rc != MOQC_ERR_AGAIN) {
    conn_free(c);
    return rc == MOQC_ERR_NOMEM ? rc : MOQC_ERR_CLOSED;
  }
  moqc_transport_set_handler(c->h3, &k_h3_handler, c);
  return MOQC_OK;
}

int moqc_wt_server_attach(moqc_transport *h3conn, const moqc_wt_server_config *cfg) {
  if (!h3conn || !cfg || !cfg->on_session) return MOQC_ERR_INVAL;
  if (cfg->n_protocols && !cfg->protocols) return MOQC_ERR_INVAL;
  for (size_t i = 0; i < cfg->n_protocols; i++)
    if (!wt_proto_ok(cfg->protocols[i])) return MOQC_ERR_INVAL;
  wt_conn *c = conn_new(h3conn, true, cfg->protocols, cfg->n_protocols);
  if (!c) return MOQC_ERR_NOMEM;
  c->scfg = *cfg;
  c->scfg.protocols = (const char *const *)c->protos;
  return start(c);
}

int moqc_wt_client_connect(moqc_transport *h3conn, const moqc_wt_client_config *cfg) {
  if (!h3conn || !cfg || !cfg->cb || !text_ok(cfg->authority) || !text_ok(cfg->path) ||
      !cfg->authority[0] || cfg->path[0] != '/' || (cfg->origin && !text_ok(cfg->origin)))
    return MOQC_ERR_INVAL;
  if (cfg->n_protocols && !cfg->protocols) return MOQC_ERR_INVAL;
  for (size_t i = 0; i < cfg->n_protocols; i++)
    if (!wt_proto_ok(cfg->protocols[i])) return MOQC_ERR_INVAL;
  wt_conn *c = conn_new(h3conn, false, cfg->protocols, cfg->n_protocols);
  if (!c) return MOQC_ERR_NOMEM;
  c->ccfg = *cfg;
  c->ccfg.protocols = (const char *const *)c->protos;
  c->authority = dup_str(cfg->authority);
  c->path = dup_str(cfg->path);
  c->origin = dup_str(cfg->origin);
  if (!c->authority || !c->path || (cfg->origin && !c->origin)) {
    conn_free(c);
    return MOQC_ERR_NOMEM;
  }
  c->ccfg.authority = c->authority;
  c->ccfg.path = c->path;
  c->ccfg.origin = c->origin;
  c->base.path = c->path;
  int rc = start(c);
  if (rc == MOQC_OK && cfg->clock && cfg->timeout_ns) wt_start_timer(c, cfg->timeout_ns);
  return rc;
}

int moqc_wt_client_attach(moqc_transport *h3conn, const char *authority, const char *path,
                          const char *const *protocols, size_t n, moqc_wt_client_fn cb,
                          void *ctx) {
  moqc_wt_client_config cfg = {.authority = authority,
                               .path = path,
                               .protocols = protocols,
                               .n_protocols = n,
                               .cb = cb,
                               .ctx = ctx};
  return moqc_wt_client_connect(h3conn, &cfg);
}

uint64_t moqc_wt_error_to_h3(uint64_t code) { return moqc_wt_code_to_h3(code); }

bool moqc_wt_error_from_h3(uint64_t h3, uint64_t *code) { return moqc_wt_code_from_h3(h3, code); }
