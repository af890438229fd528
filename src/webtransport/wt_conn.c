/* moqc transport — WebTransport adapter: lifecycle (errors, session end,
 * deferred free), the timer, and peer streams (prefixes, classification,
 * buffering before the session exists). See wt_internal.h. */
#include <assert.h>
#include <string.h>

#include "moqc/buf.h"
#include "webtransport/wt_internal.h"

/* ---- lifecycle ------------------------------------------------------------------- */

void moqc__wt_conn_free(wt_conn *c) {
  moqc__wt_stop_timer(c);
  moqc__wt_streams_free(&c->streams);
  if (c->pending_req) {
    moqc_h3_connect_req_free(c->pending_req);
    moqc__wt_free(c->pending_req);
  }
  moqc_slice_release(&c->hdr_uni);
  moqc_slice_release(&c->hdr_bidi);
  for (size_t i = 0; i < c->n_protos; i++) moqc__wt_free(c->protos[i]);
  moqc__wt_free(c->protos);
  moqc__wt_free(c->authority);
  moqc__wt_free(c->path);
  moqc__wt_free(c->origin);
  moqc__wt_free(c->peer_cert);
  moqc__wt_free(c);
}

void moqc__wt_enter(wt_conn *c) { c->depth++; }

void moqc__wt_leave(wt_conn *c) {
  if (--c->depth == 0 && c->free_pending) moqc__wt_conn_free(c);
}

const char *moqc__wt_state_str(wt_state st) {
  switch (st) {
    case WT_ST_SETUP: return "setup";
    case WT_ST_OPEN: return "open";
    case WT_ST_CLOSING: return "closing";
    case WT_ST_CLOSED: return "closed";
  }
  return "?";
}

const char *moqc__wt_owner_str(wt_owner o) {
  switch (o) {
    case WT_OWN_NONE: return "none";
    case WT_OWN_USER: return "user";
    case WT_OWN_RELEASED: return "released";
  }
  return "?";
}

const char *moqc__wt_h3_str(wt_h3 h) {
  switch (h) {
    case WT_H3_LIVE: return "live";
    case WT_H3_CLOSE_SENT: return "close-sent";
    case WT_H3_CLOSED: return "closed";
    case WT_H3_RELEASED: return "released";
  }
  return "?";
}

bool moqc__wt_state_transition_ok(wt_state from, wt_state to) {
  return (from == WT_ST_SETUP && (to == WT_ST_OPEN || to == WT_ST_CLOSED)) ||
         (from == WT_ST_OPEN && (to == WT_ST_CLOSING || to == WT_ST_CLOSED)) ||
         (from == WT_ST_CLOSING && to == WT_ST_CLOSED) ||
         (from == WT_ST_CLOSED && to == WT_ST_CLOSED);
}

bool moqc__wt_owner_transition_ok(wt_owner from, wt_owner to) {
  return (from == WT_OWN_NONE && to == WT_OWN_USER) ||
         (from == WT_OWN_USER && to == WT_OWN_RELEASED);
}

bool moqc__wt_h3_transition_ok(wt_h3 from, wt_h3 to) { return to > from && to <= WT_H3_RELEASED; }

void moqc__wt_set_state(wt_conn *c, wt_state to) {
  bool ok = moqc__wt_state_transition_ok((wt_state)c->state, to);
  assert(ok && "illegal WebTransport session state transition");
  (void)ok;
  c->state = (uint8_t)to;
}

void moqc__wt_set_owner(wt_conn *c, wt_owner to) {
  bool ok = moqc__wt_owner_transition_ok((wt_owner)c->owner, to);
  assert(ok && "illegal WebTransport handle ownership transition");
  (void)ok;
  c->owner = (uint8_t)to;
}

void moqc__wt_set_h3(wt_conn *c, wt_h3 to) {
  bool ok = moqc__wt_h3_transition_ok((wt_h3)c->h3_st, to);
  assert(ok && "illegal WebTransport h3 hold transition");
  (void)ok;
  c->h3_st = (uint8_t)to;
}

bool moqc__wt_dead(const wt_conn *c) { return c->free_pending || c->state == WT_ST_CLOSED; }

/* Drop the h3 connection for good and free us once no frame of ours is on
 * the stack. */
static void schedule_free(wt_conn *c) {
  if (c->free_pending) return;
  c->free_pending = true;
  moqc__wt_set_state(c, WT_ST_CLOSED);
  if (!wt_h3_released(c)) {
    moqc__wt_set_h3(c, WT_H3_RELEASED);
    c->h3->ops->release(c->h3);
  }
  if (c->depth == 0) moqc__wt_conn_free(c);
}

void moqc__wt_h3_close(wt_conn *c, uint64_t h3_code, const char *reason) {
  if (c->h3_st != WT_H3_LIVE) return;
  moqc__wt_set_h3(c, WT_H3_CLOSE_SENT);
  c->h3->ops->close(c->h3, h3_code, reason ? reason : "");
}

static void set_reason(wt_conn *c, const char *reason) {
  size_t n = reason ? strlen(reason) : 0;
  if (n > MOQC_WT_CLOSE_REASON_MAX) n = MOQC_WT_CLOSE_REASON_MAX;
  if (n) memmove(c->close_reason, reason, n);
  c->close_reason[n] = '\0';
}

void moqc__wt_setup_failed(wt_conn *c, int err, uint16_t status, uint64_t h3_code) {
  if (c->notified || wt_handed(c)) return;
  c->notified = true;
  moqc__wt_set_state(c, WT_ST_CLOSED);
  moqc__wt_h3_close(c, h3_code ? h3_code : MOQC_H3_NO_ERROR, "");
  if (c->server) {
    if (c->scfg.on_error) c->scfg.on_error(c->scfg.ctx, err, h3_code);
  } else {
    c->ccfg.cb(c->ccfg.ctx, NULL, err, status);
  }
  schedule_free(c);
}

void moqc__wt_session_ended(wt_conn *c, uint64_t code, const char *reason, bool by_peer) {
  if (!wt_handed(c)) {
    moqc__wt_setup_failed(c, by_peer ? MOQC_ERR_CLOSED : MOQC_ERR_TRANSPORT, 0, 0);
    return;
  }
  if (c->notified) return;
  c->notified = true;
  moqc__wt_set_state(c, WT_ST_CLOSED);
  moqc__wt_stop_timer(c);
  c->close_code = code;
  c->close_by_peer = by_peer;
  set_reason(c, reason);
  moqc__wt_h3_close(c, moqc_wt_code_to_h3(code), c->close_reason);
  if (c->owner == WT_OWN_USER) {
    const moqc_transport_handler *h = c->base.handler;
    if (h && h->closed) h->closed(c->base.handler_ctx, code, c->close_reason, by_peer);
  }
}

void moqc__wt_conn_error(wt_conn *c, uint64_t h3_code, const char *what) {
  if (c->state == WT_ST_CLOSED) return;
  moqc__wt_h3_close(c, h3_code, what);
  if (wt_handed(c)) moqc__wt_session_ended(c, MOQC_CODE_PROTOCOL_VIOLATION, what, false);
  else moqc__wt_setup_failed(c, MOQC_ERR_PROTOCOL, 0, h3_code);
}

/* ---- timer: client connect timeout, close linger ------------------------------- */

static void on_timer(moqc_timer *t, void *arg) {
  (void)t;
  wt_conn *c = arg;
  c->timer_on = false;
  moqc__wt_enter(c);
  if (c->state == WT_ST_SETUP && !c->server)
    moqc__wt_setup_failed(c, MOQC_ERR_TIMEOUT, 0, MOQC_H3_NO_ERROR);
  else if (c->state == WT_ST_CLOSING)
    moqc__wt_h3_close(c, moqc_wt_code_to_h3(c->close_code), c->close_reason);
  moqc__wt_leave(c);
}

int moqc__wt_start_timer(wt_conn *c, uint64_t delay_ns) {
  moqc_clock *clk = c->server ? c->scfg.clock : c->ccfg.clock;
  if (!clk) return MOQC_ERR_UNSUPPORTED;
  moqc_timer_init(&c->timer, on_timer, c);
  int rc = moqc_timer_start(clk, &c->timer, moqc_clock_now(clk) + delay_ns);
  c->timer_on = rc == MOQC_OK;
  return rc;
}

void moqc__wt_stop_timer(wt_conn *c) {
  if (!c->timer_on) return;
  moqc_clock *clk = c->server ? c->scfg.clock : c->ccfg.clock;
  moqc_timer_stop(clk, &c->timer);
  c->timer_on = false;
}

/* ---- streams ---------------------------------------------------------------------- */

wt_frd *moqc__wt_frd_new(void) { return moqc__wt_alloc(sizeof(wt_frd)); }

wt_stream *moqc__wt_stream_new(wt_conn *c, int64_t id, wt_kind kind) {
  wt_stream *s = moqc__wt_alloc(sizeof *s);
  if (!s) return NULL;
  s->id = id;
  s->kind = (uint8_t)kind;
  if (moqc__imap_insert(&c->streams, (uint64_t)id, s) != MOQC_OK) {
    moqc__wt_free(s);
    return NULL;
  }
  return s;
}

void moqc__wt_stream_free(wt_stream *s) {
  if (s->frd) moqc__wt_free(s->frd->pay);
  moqc__wt_free(s->frd);
  moqc__wt_free(s->buf);
  moqc__wt_free(s);
}

static void stream_drop_state(wt_stream *s) {
  if (s->frd) moqc__wt_free(s->frd->pay);
  moqc__wt_free(s->frd);
  s->frd = NULL;
  moqc__wt_free(s->buf);
  s->buf = NULL;
  s->buf_len = s->buf_cap = 0;
}

void moqc__wt_stream_error(wt_conn *c, wt_stream *s, uint64_t h3_code) {
  if (s->kind == WT_K_BUFFERED && c->n_buffered) c->n_buffered--;
  s->kind = WT_K_IGNORE;
  stream_drop_state(s);
  if (wt_h3_released(c)) return;
  c->h3->ops->stop_sending(c->h3, s->id, h3_code);
  if (!MOQC_STREAM_IS_UNI(s->id)) c->h3->ops->reset(c->h3, s->id, h3_code);
}

bool moqc__wt_notify_ok(const wt_conn *c) {
  return c->owner == WT_OWN_USER && !c->notified && !c->free_pending && c->state == WT_ST_OPEN;
}

void moqc__wt_deliver(wt_conn *c, wt_stream *s, const uint8_t *p, size_t len, bool fin) {
  if ((!len && !fin) || !moqc__wt_notify_ok(c)) return;
  const moqc_transport_handler *h = c->base.handler;
  if (h && h->stream_data) h->stream_data(c->base.handler_ctx, s->id, p, len, fin);
}

static void make_visible(wt_conn *c, wt_stream *s) {
  s->kind = WT_K_WT;
  s->visible = true;
  if (!moqc__wt_notify_ok(c)) return;
  const moqc_transport_handler *h = c->base.handler;
  if (h && h->stream_opened) h->stream_opened(c->base.handler_ctx, s->id);
}

static void reject_wt_stream(wt_conn *c, wt_stream *s) {
  moqc__wt_stream_error(c, s, MOQC_WT_BUFFERED_STREAM_REJECTED);
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
    uint8_t *b = moqc__wt_alloc(cap);
    if (!b) {
      reject_wt_stream(c, s);
      return;
    }
    if (s->buf_len) memcpy(b, s->buf, s->buf_len);
    moqc__wt_free(s->buf);
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
    moqc__wt_conn_error(c, MOQC_H3_ID_ERROR, "h3: bad session id");
    return;
  }
  s->session_id = sid;
  if (c->state == WT_ST_OPEN && (int64_t)sid == c->session_id) {
    make_visible(c, s);
    moqc__wt_deliver(c, s, p, len, fin);
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
    moqc__wt_deliver(c, s, buf, n, fin);
    moqc__wt_free(buf);
    if (s->gone && moqc__wt_notify_ok(c)) {
      const moqc_transport_handler *h = c->base.handler;
      if (h && h->stream_closed) h->stream_closed(c->base.handler_ctx, s->id);
    }
  }
  if (s->gone) { /* h3 forgot it already: so do we */
    moqc__imap_remove(&c->streams, (uint64_t)s->id);
    moqc__wt_stream_free(s);
  }
}

void moqc__wt_established(wt_conn *c) {
  moqc__wt_set_state(c, WT_ST_OPEN);
  moqc__wt_set_owner(c, WT_OWN_USER);
  if (c->server) c->scfg.on_session(c->scfg.ctx, &c->base);
  else c->ccfg.cb(c->ccfg.ctx, &c->base, MOQC_OK, c->status);
  /* Streams that arrived before the session existed (collected first: the
   * table changes while we deliver). */
  wt_stream *list[WT_MAX_BUFFERED_STREAMS];
  size_t n = 0;
  moqc_imap_it it;
  void *v;
  moqc__imap_it_init(&c->streams, &it);
  while (n < WT_MAX_BUFFERED_STREAMS && moqc__imap_next(&c->streams, &it, NULL, &v)) {
    wt_stream *s = v;
    if (s->kind == WT_K_BUFFERED) list[n++] = s;
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
      moqc__wt_conn_error(c, MOQC_H3_STREAM_CREATION_ERROR, "h3: server bidi stream");
      return;
    }
    if (++c->n_requests > WT_MAX_REQUESTS) {
      moqc__wt_stream_error(c, s, MOQC_H3_REQUEST_REJECTED);
      return;
    }
    s->kind = WT_K_REQUEST;
    if (!(s->frd = moqc__wt_frd_new())) {
      moqc__wt_conn_error(c, MOQC_H3_INTERNAL_ERROR, "out of memory");
      return;
    }
    moqc__wt_frames_feed(c, s, p, len, fin);
    return;
  }
  switch (pf->type) {
    case MOQC_H3_STREAM_WT_UNI: wt_stream_start(c, s, pf->session_id, p, len, fin); return;
    case MOQC_H3_STREAM_CONTROL:
      slot = &c->control_in;
      kind = WT_K_CONTROL;
      break;
    case MOQC_H3_STREAM_QPACK_ENCODER:
      slot = &c->qpack_enc_in;
      kind = WT_K_QPACK_ENC;
      break;
    case MOQC_H3_STREAM_QPACK_DECODER:
      slot = &c->qpack_dec_in;
      kind = WT_K_QPACK_DEC;
      break;
    case MOQC_H3_STREAM_PUSH:
      /* We never send MAX_PUSH_ID; a client must not push at all. */
      moqc__wt_conn_error(c, c->server ? MOQC_H3_STREAM_CREATION_ERROR : MOQC_H3_ID_ERROR,
                          "h3: push stream");
      return;
    default: /* unknown or grease: abort reading (RFC 9114 §6.2) */
      moqc__wt_stream_error(c, s, MOQC_H3_STREAM_CREATION_ERROR);
      return;
  }
  if (*slot >= 0) {
    moqc__wt_conn_error(c, MOQC_H3_STREAM_CREATION_ERROR, "h3: duplicate critical stream");
    return;
  }
  *slot = s->id;
  s->kind = (uint8_t)kind;
  if (kind == WT_K_CONTROL && !(s->frd = moqc__wt_frd_new())) {
    moqc__wt_conn_error(c, MOQC_H3_INTERNAL_ERROR, "out of memory");
    return;
  }
  moqc__wt_on_stream_bytes(c, s, p, len, fin);
}

static void feed_pending(wt_conn *c, wt_stream *s, const uint8_t *p, size_t len, bool fin) {
  bool uni = MOQC_STREAM_IS_UNI(s->id);
  moqc_wt_prefix pf;
  size_t used = 0, rlen = 0;
  uint8_t replay[MOQC_H3_HDR_MAX];
  ssize_t r = moqc_h3_acc_feed(&s->acc, uni ? moqc_wt_dec_prefix_uni : moqc_wt_dec_prefix_bidi, &pf,
                               p, len, &used, replay, &rlen);
  if (r == MOQC_ERR_NEED_MORE) {
    if (fin) s->kind = WT_K_IGNORE; /* ended before its type: ignore */
    return;
  }
  if (r < 0) {
    moqc__wt_conn_error(c, MOQC_H3_FRAME_ERROR, "h3: bad stream prefix");
    return;
  }
  if (rlen) {
    /* Non-consuming decode (a bidi request stream): the held bytes go first. */
    classify(c, s, &pf, replay, rlen, false);
    if (moqc__wt_dead(c) || s->kind != WT_K_REQUEST) return;
    moqc__wt_frames_feed(c, s, p + used, len - used, fin);
    return;
  }
  classify(c, s, &pf, p + used, len - used, fin);
}

/* Bytes for a classified peer stream. */
void moqc__wt_on_stream_bytes(wt_conn *c, wt_stream *s, const uint8_t *p, size_t len, bool fin) {
  switch (s->kind) {
    case WT_K_PENDING: feed_pending(c, s, p, len, fin); return;
    case WT_K_CONTROL:
      if (!moqc__wt_frames_feed(c, s, p, len, fin)) return;
      if (fin) moqc__wt_conn_error(c, MOQC_H3_CLOSED_CRITICAL_STREAM, "h3: control stream closed");
      return;
    case WT_K_REQUEST: moqc__wt_frames_feed(c, s, p, len, fin); return;
    case WT_K_QPACK_ENC:
      /* With capacity 0 the only valid instruction is Set Dynamic Table
     * Capacity 0, i.e. the byte 0x20. */
      for (size_t i = 0; i < len; i++)
        if (p[i] != 0x20) {
          moqc__wt_conn_error(c, MOQC_H3_QPACK_ENCODER_STREAM_ERROR, "qpack: encoder stream");
          return;
        }
      if (fin) moqc__wt_conn_error(c, MOQC_H3_CLOSED_CRITICAL_STREAM, "h3: qpack stream closed");
      return;
    case WT_K_QPACK_DEC:
      if (fin) moqc__wt_conn_error(c, MOQC_H3_CLOSED_CRITICAL_STREAM, "h3: qpack stream closed");
      return;
    case WT_K_WT: moqc__wt_deliver(c, s, p, len, fin); return;
    case WT_K_BUFFERED: buffer_bytes(c, s, p, len, fin); return;
    default: return;
  }
}

/* ---- user release (called by wt_session.c) ----------------------------------------- */

void moqc__wt_user_release(wt_conn *c) {
  if (c->owner == WT_OWN_RELEASED) return;
  moqc__wt_set_owner(c, WT_OWN_RELEASED);
  schedule_free(c);
}
