/* moqc qmux — a QMux connection: moqc_transport over WebSocket messages.
 *
 * Sending: write() only queues slices (references) on the stream and arms a
 * zero-delay tick; the tick hands STREAM frames to the WebSocket in priority
 * order (control streams, then priority, then order, round-robin among
 * equals) while the I/O layer holds less than io_high, within the peer's flow
 * control credit. Bytes count as delivered once handed over (TCP is reliable),
 * so references are dropped as soon as they are copied into a message.
 * Control frames (RESET, STOP_SENDING, MAX_*) are sent at once.
 *
 * Events to the session run only from moqc_qmux_recv, moqc_qmux_io_* and the
 * tick, never from inside an op (transport.h contract): what an op causes
 * (stream_closed, closed) is reaped on the next tick. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "moqc/error.h"
#include "qmux/qmux_int.h"

static const moqc_transport_ops qmux_ops;

/* ---- lifetime ---------------------------------------------------------------------- */

static void stream_free(qstream *s) {
  for (size_t i = s->qhead; i < s->qn; i++) moqc_slice_release(&s->q[i]);
  moqc_free(s->q);
  moqc_free(s);
}

static void qmux_free(moqc_qmux *q) {
  moqc_timer_stop(q->cfg.clock, &q->tick);
  moqc_imap_it it;
  void *v;
  moqc__imap_it_init(&q->streams, &it);
  while (moqc__imap_next(&q->streams, &it, NULL, &v)) stream_free(v);
  moqc__imap_free(&q->streams);
  moqc_free(q->path);
  moqc_free(q);
}

static void hold(moqc_qmux *q) { q->refs++; }
static void drop(moqc_qmux *q) {
  assert(q->refs > 0);
  if (--q->refs == 0) qmux_free(q);
}

static const moqc_transport_handler *handler(moqc_qmux *q) {
  if (q->user_gone || q->state == QMUX_CLOSED) return NULL;
  return q->base.handler;
}

static void on_tick(moqc_timer *t, void *arg);

static void arm(moqc_qmux *q) {
  if (!moqc_timer_armed(&q->tick))
    moqc_timer_start(q->cfg.clock, &q->tick, moqc_clock_now(q->cfg.clock));
}

/* ---- sending frames ---------------------------------------------------------------- */

static size_t io_pending(moqc_qmux *q) { return q->io_gone ? 0 : q->cfg.io.pending(q->cfg.io_ctx); }

static void send_msg(moqc_qmux *q, const moqc_writer *w) {
  assert(!w->err);
  if (q->io_gone || q->state == QMUX_CLOSED) return;
  q->cfg.io.send(q->cfg.io_ctx, w->p, w->pos);
}

static void send_ctl(moqc_qmux *q, void (*fill)(moqc_writer *w, void *a), void *a) {
  uint8_t buf[64];
  moqc_writer w = moqc_writer_make(buf, sizeof buf);
  fill(&w, a);
  send_msg(q, &w);
}

typedef struct ctl_arg {
  uint64_t type, id, value;
  moqc_qmux_version v;
} ctl_arg;

static void fill_value(moqc_writer *w, void *a) {
  ctl_arg *c = a;
  moqc__qmux_put_value(w, c->type, c->value);
}
static void fill_id_value(moqc_writer *w, void *a) {
  ctl_arg *c = a;
  moqc__qmux_put_id_value(w, c->type, c->id, c->value);
}
static void fill_reset(moqc_writer *w, void *a) {
  ctl_arg *c = a;
  moqc__qmux_put_reset(w, c->v, c->id, c->value, c->type);
}
static void fill_stop(moqc_writer *w, void *a) {
  ctl_arg *c = a;
  moqc__qmux_put_stop(w, c->id, c->value);
}

/* Begin closing: send a close frame (app: APPLICATION_CLOSE with a MoQ code,
 * else CONNECTION_CLOSE with a QUIC transport code), ask the WebSocket to
 * close, and report `closed` from the next tick. */
static void begin_close(moqc_qmux *q, bool app, uint64_t wire_code, uint64_t moq_code,
                        const char *reason, bool by_peer, uint16_t ws_status) {
  if (q->state != QMUX_OPEN) return;
  q->state = QMUX_CLOSING;
  q->close_code = moq_code;
  q->close_by_peer = by_peer;
  snprintf(q->close_reason, sizeof q->close_reason, "%s", reason ? reason : "");
  if (!by_peer && !q->io_gone) {
    uint8_t buf[256];
    moqc_writer w = moqc_writer_make(buf, sizeof buf);
    size_t rl = strlen(q->close_reason);
    moqc__qmux_put_close(&w, q->cfg.version, app, wire_code, q->close_reason, rl);
    send_msg(q, &w);
  }
  if (!q->io_gone) q->cfg.io.close(q->cfg.io_ctx, ws_status, q->close_reason);
  arm(q);
}

/* A protocol error by the peer: CONNECTION_CLOSE with a QUIC error code. */
static int fail(moqc_qmux *q, uint64_t quic_code, const char *why) {
  begin_close(q, false, quic_code, MOQC_CODE_PROTOCOL_VIOLATION, why, false, 1002);
  return MOQC_ERR_PROTOCOL;
}

#define QERR_FLOW_CONTROL 0x03
#define QERR_STREAM_LIMIT 0x04
#define QERR_STREAM_STATE 0x05
#define QERR_FINAL_SIZE 0x06
#define QERR_FRAME_ENCODING 0x07
#define QERR_PARAMS 0x08
#define QERR_PROTOCOL 0x0a

/* ---- streams ----------------------------------------------------------------------- */

static bool flow(const moqc_qmux *q) { return q->cfg.version != MOQC_QMUX_WEBTRANSPORT; }

static qstream *find(moqc_qmux *q, int64_t id) {
  return id < 0 ? NULL : moqc__imap_find(&q->streams, (uint64_t)id);
}

static bool local_id(const moqc_qmux *q, int64_t id) {
  return MOQC_STREAM_IS_SERVER(id) == q->cfg.is_server;
}

static qstream *stream_new(moqc_qmux *q, int64_t id) {
  qstream *s = moqc_calloc(1, sizeof *s);
  if (!s) return NULL;
  s->id = id;
  bool uni = MOQC_STREAM_IS_UNI(id), local = local_id(q, id);
  s->can_send = !uni || local;
  s->can_recv = !uni || !local;
  s->send_done = !s->can_send;
  s->recv_done = !s->can_recv;
  if (!flow(q)) {
    s->send_max = QMUX_UNLIMITED;
    s->recv_max = QMUX_UNLIMITED;
  } else {
    s->send_max = uni ? q->peer.sd_uni : local ? q->peer.sd_bidi_remote : q->peer.sd_bidi_local;
    s->recv_window = uni ? q->ours.sd_uni : local ? q->ours.sd_bidi_local : q->ours.sd_bidi_remote;
    s->recv_max = s->recv_window;
  }
  assert(id >= 0);
  if (moqc__imap_insert(&q->streams, (uint64_t)id, s) != MOQC_OK) {
    moqc_free(s);
    return NULL;
  }
  return s;
}

static void drop_queue(moqc_qmux *q, qstream *s) {
  for (size_t i = s->qhead; i < s->qn; i++) moqc_slice_release(&s->q[i]);
  s->qn = s->qhead = s->qoff = 0;
  assert(q->unsent >= s->unsent);
  q->unsent -= s->unsent;
  s->unsent = 0;
}

/* Remove streams whose both halves are done and report them. */
static void reap_streams(moqc_qmux *q) {
  /* Unlink first (the map may only lose the entry just returned while
   * iterating), then report: handlers may open streams. */
  qstream *done = NULL;
  moqc_imap_it it;
  void *v;
  moqc__imap_it_init(&q->streams, &it);
  while (moqc__imap_next(&q->streams, &it, NULL, &v)) {
    qstream *s = v;
    if (!s->send_done || !s->recv_done) continue;
    void *r = moqc__imap_remove(&q->streams, (uint64_t)s->id);
    assert(r == s);
    (void)r;
    s->next = done;
    done = s;
  }
  while (done) {
    qstream *s = done;
    done = s->next;
    int64_t id = s->id;
    if (!local_id(q, id) && flow(q)) { /* give the peer its stream credit back */
      int d = MOQC_STREAM_IS_UNI(id) ? 1 : 0;
      q->peer_released[d]++;
      if (q->peer_next[d] + 2 * q->peer_released[d] > q->peer_max[d]) {
        q->peer_max[d] += q->peer_released[d];
        q->peer_released[d] = 0;
        ctl_arg a = {.type = d ? MOQC_QMUX_FT_MAX_STREAMS_UNI : MOQC_QMUX_FT_MAX_STREAMS_BIDI,
                     .value = q->peer_max[d]};
        send_ctl(q, fill_value, &a);
      }
    }
    drop_queue(q, s);
    stream_free(s);
    const moqc_transport_handler *h = handler(q);
    if (h && h->stream_closed) h->stream_closed(q->base.handler_ctx, id);
  }
}

/* Deliver everything deferred: stream closes, writable, closed. */
static void reap(moqc_qmux *q) {
  if (q->state == QMUX_OPEN) reap_streams(q);
  if (q->state == QMUX_CLOSING) {
    const moqc_transport_handler *h = handler(q);
    q->state = QMUX_CLOSED;
    moqc_imap_it it;
    void *v;
    moqc__imap_it_init(&q->streams, &it);
    while (moqc__imap_next(&q->streams, &it, NULL, &v)) {
      moqc__imap_remove(&q->streams, (uint64_t)((qstream *)v)->id);
      drop_queue(q, v);
      stream_free(v);
    }
    assert(moqc__imap_size(&q->streams) == 0);
    if (h && h->closed)
      h->closed(q->base.handler_ctx, q->close_code, q->close_reason, q->close_by_peer);
    return;
  }
  if (q->state == QMUX_OPEN && q->want_writable) {
    q->want_writable = false;
    const moqc_transport_handler *h = handler(q);
    if (h && h->writable) h->writable(q->base.handler_ctx);
  }
}

/* ---- scheduler --------------------------------------------------------------------- */

static uint64_t credit(const moqc_qmux *q, const qstream *s) {
  uint64_t a = s->send_max - s->send_off;
  if (!flow(q)) return a;
  uint64_t c = q->send_max_data - q->sent_data;
  return a < c ? a : c;
}

static bool sendable(const moqc_qmux *q, const qstream *s) {
  if (s->send_done) return false;
  if (s->unsent > 0) return credit(q, s) > 0;
  return s->fin_queued;
}

/* Does a go before b? Control streams first, then priority, order, round-robin. */
static bool before(const qstream *a, const qstream *b) {
  if (a->has_prio != b->has_prio) return !a->has_prio;
  if (a->has_prio) {
    if (a->prio.priority != b->prio.priority) return a->prio.priority > b->prio.priority;
    if (a->prio.order != b->prio.order) return a->prio.order > b->prio.order;
  }
  return a->served < b->served;
}

static qstream *pick(moqc_qmux *q) {
  qstream *best = NULL;
  moqc_imap_it it;
  void *v;
  moqc__imap_it_init(&q->streams, &it);
  while (moqc__imap_next(&q->streams, &it, NULL, &v)) {
    qstream *s = v;
    if (sendable(q, s) && (!best || before(s, best))) best = s;
  }
  return best;
}

static size_t frame_budget(const moqc_qmux *q) {
  if (q->cfg.version >= MOQC_QMUX_01) { /* records */
    uint64_t r = q->peer.max_record_size;
    return r < MOQC_QMUX_MAX_FRAME_SIZE ? (size_t)r : MOQC_QMUX_MAX_FRAME_SIZE;
  }
  return MOQC_QMUX_MAX_FRAME_SIZE;
}

/* Hand one STREAM frame of s to the WebSocket. */
static void emit(moqc_qmux *q, qstream *s) {
  uint8_t buf[MOQC_QMUX_MAX_FRAME_SIZE];
  size_t n =
      moqc__qmux_max_stream_payload(q->cfg.version, frame_budget(q), (uint64_t)s->id, s->send_off);
  if (n > MOQC_QMUX_MAX_FRAME_PAYLOAD) n = MOQC_QMUX_MAX_FRAME_PAYLOAD;
  uint64_t c = credit(q, s);
  if (n > s->unsent) n = s->unsent;
  if (n > c) n = (size_t)c;
  bool fin = s->fin_queued && n == s->unsent;
  moqc_writer w = moqc_writer_make(buf, sizeof buf);
  moqc__qmux_put_stream(&w, q->cfg.version, (uint64_t)s->id, s->send_off, n, fin);
  size_t left = n;
  while (left > 0) {
    assert(s->qhead < s->qn);
    moqc_slice *sl = &s->q[s->qhead];
    size_t take = sl->len - s->qoff;
    if (take > left) take = left;
    moqc_write_raw(&w, moqc_slice_ptr(sl) + s->qoff, take);
    s->qoff += take;
    left -= take;
    if (s->qoff == sl->len) {
      moqc_slice_release(sl);
      s->qhead++;
      s->qoff = 0;
    }
  }
  s->unsent -= n;
  q->unsent -= n;
  s->send_off += n;
  q->sent_data += n;
  s->served = ++q->moqc__serve_tick;
  if (fin) {
    s->send_done = true;
    s->fin_queued = false;
  }
  send_msg(q, &w);
}

static void send_params(moqc_qmux *q) {
  uint8_t buf[300];
  moqc_writer w = moqc_writer_make(buf, sizeof buf);
  moqc__qmux_put_params(&w, &q->ours);
  send_msg(q, &w);
  q->params_sent = true;
}

static void produce(moqc_qmux *q) {
  size_t high = q->cfg.io_high ? q->cfg.io_high : 256u << 10;
  while (q->state == QMUX_OPEN && !q->io_gone && io_pending(q) < high) {
    qstream *s = pick(q);
    if (!s) break;
    emit(q, s);
  }
  size_t cap = q->cfg.send_cap ? q->cfg.send_cap : 16u << 20;
  if (q->state == QMUX_OPEN && q->unsent + io_pending(q) > cap)
    begin_close(q, true, MOQC_CODE_BOUNDS_EXCEEDED, MOQC_CODE_BOUNDS_EXCEEDED,
                "send cap exceeded (peer not reading)", false, 1008);
  if (q->unsent + io_pending(q) >= high) q->blocked = true;
  if (q->state == QMUX_OPEN && q->blocked && io_pending(q) < high / 2 && q->unsent < high / 2) {
    q->blocked = false;
    q->want_writable = true;
  }
}

static void on_tick(moqc_timer *t, void *arg) {
  (void)t;
  moqc_qmux *q = arg;
  hold(q);
  produce(q);
  reap(q);
  drop(q);
}

/* ---- receiving --------------------------------------------------------------------- */

/* Credit the peer again for bytes the session has taken (it copies them). */
static void consumed(moqc_qmux *q, qstream *s, uint64_t n) {
  if (!flow(q) || n == 0) return;
  q->recv_consumed += n;
  if (q->recv_max_data - q->recv_consumed <= q->ours.initial_max_data / 2) {
    q->recv_max_data = q->recv_consumed + q->ours.initial_max_data;
    ctl_arg a = {.type = MOQC_QMUX_FT_MAX_DATA, .value = q->recv_max_data};
    send_ctl(q, fill_value, &a);
  }
  if (s && !s->recv_done && s->recv_max - s->recv_off <= s->recv_window / 2) {
    s->recv_max = s->recv_off + s->recv_window;
    ctl_arg a = {.type = MOQC_QMUX_FT_MAX_STREAM_DATA, .id = (uint64_t)s->id, .value = s->recv_max};
    send_ctl(q, fill_id_value, &a);
  }
}

/* The stream a frame names, opening peer streams (and the lower ones QUIC
 * opens implicitly). *s = NULL: a stream that is gone (ignore the frame).
 * Returns MOQC_OK or an error after which the connection is failing. */
static int stream_for(moqc_qmux *q, uint64_t id, bool recv, qstream **out) {
  *out = NULL;
  if (id > (uint64_t)INT64_MAX) return fail(q, QERR_FRAME_ENCODING, "bad stream id");
  int64_t sid = (int64_t)id;
  bool uni = MOQC_STREAM_IS_UNI(sid);
  int d = uni ? 1 : 0;
  uint64_t idx = id >> 2;
  if (local_id(q, sid)) {
    if (recv && uni) return fail(q, QERR_STREAM_STATE, "data on our uni stream");
    if (idx >= q->local_next[d])
      return fail(q, QERR_STREAM_STATE, "frame for a stream never opened");
    *out = find(q, sid);
    return MOQC_OK;
  }
  if (!recv && uni) return fail(q, QERR_STREAM_STATE, "send-side frame for a peer uni stream");
  if (idx < q->peer_next[d]) {
    *out = find(q, sid);
    return MOQC_OK;
  }
  if (flow(q) && idx >= q->peer_max[d]) return fail(q, QERR_STREAM_LIMIT, "stream limit exceeded");
  if (idx - q->peer_next[d] > 4 * QMUX_MAX_STREAMS)
    return fail(q, QERR_STREAM_LIMIT, "stream id jumps too far");
  while (q->peer_next[d] <= idx) {
    int64_t nid = (int64_t)(q->peer_next[d] << 2) | (uni ? 2 : 0) | (q->cfg.is_server ? 0 : 1);
    qstream *s = stream_new(q, nid);
    if (!s) {
      begin_close(q, false, 0x01, MOQC_CODE_TRANSPORT, "out of memory", false, 1011);
      return MOQC_ERR_NOMEM;
    }
    q->peer_next[d]++;
    const moqc_transport_handler *h = handler(q);
    if (h && h->stream_opened) h->stream_opened(q->base.handler_ctx, nid);
    if (q->state != QMUX_OPEN) return MOQC_ERR_CLOSED;
    *out = s;
  }
  *out = find(q, sid); /* the handler may have reset it meanwhile */
  return MOQC_OK;
}

static int on_stream(moqc_qmux *q, const moqc_qmux_frame *f) {
  qstream *s;
  int rv = stream_for(q, f->id, true, &s);
  if (rv != MOQC_OK) return rv;
  uint64_t end = f->offset + f->data.len;
  if (flow(q)) {
    uint64_t fresh = s ? (end > s->recv_off ? end - s->recv_off : 0) : 0;
    if (q->recv_data + fresh > q->recv_max_data)
      return fail(q, QERR_FLOW_CONTROL, "connection flow control exceeded");
    if (s && end > s->recv_max) return fail(q, QERR_FLOW_CONTROL, "stream flow control exceeded");
    q->recv_data += fresh;
  }
  if (!s || s->recv_done) { /* gone or stopped: drop, but keep the credit moving */
    if (s && end > s->recv_off) {
      consumed(q, NULL, end - s->recv_off);
      s->recv_off = end;
    }
    return MOQC_OK;
  }
  if (flow(q) && f->offset > s->recv_off) return fail(q, QERR_PROTOCOL, "stream data out of order");
  uint64_t skip = flow(q) ? s->recv_off - f->offset : 0; /* an overlapping prefix */
  const uint8_t *p = f->data.ptr;
  size_t n = f->data.len;
  if (skip > n) skip = n;
  p += skip;
  n -= (size_t)skip;
  if (n == 0 && !f->fin) return MOQC_OK;
  s->recv_off += n;
  if (f->fin) s->recv_done = true;
  const moqc_transport_handler *h = handler(q);
  if (h && h->stream_data && (n > 0 || f->fin))
    h->stream_data(q->base.handler_ctx, s->id, p, n, f->fin);
  if (q->state != QMUX_OPEN) return MOQC_OK;
  consumed(q, find(q, (int64_t)f->id), n);
  return MOQC_OK;
}

static int on_reset(moqc_qmux *q, const moqc_qmux_frame *f) {
  qstream *s;
  int rv = stream_for(q, f->id, true, &s);
  if (rv != MOQC_OK || !s || s->recv_done) return rv;
  if (flow(q) && f->final_size > s->recv_off) { /* the unseen tail counts against credit */
    uint64_t extra = f->final_size - s->recv_off;
    if (q->recv_data + extra > q->recv_max_data || f->final_size > s->recv_max)
      return fail(q, QERR_FLOW_CONTROL, "reset final size over the limit");
    q->recv_data += extra;
    consumed(q, NULL, extra);
  }
  s->recv_done = true;
  const moqc_transport_handler *h = handler(q);
  if (h && h->stream_reset) h->stream_reset(q->base.handler_ctx, s->id, f->code);
  return MOQC_OK;
}

/* Our send half ends with RESET_STREAM(code); queued data is dropped. */
static void reset_send(moqc_qmux *q, qstream *s, uint64_t code) {
  drop_queue(q, s);
  s->fin_queued = false;
  s->send_done = true;
  ctl_arg a = {.v = q->cfg.version, .id = (uint64_t)s->id, .value = code, .type = s->send_off};
  send_ctl(q, fill_reset, &a);
}

static int on_stop(moqc_qmux *q, const moqc_qmux_frame *f) {
  qstream *s;
  int rv = stream_for(q, f->id, false, &s);
  if (rv != MOQC_OK || !s || s->send_done) return rv;
  reset_send(q, s, f->code);
  const moqc_transport_handler *h = handler(q);
  if (h && h->stop_sending) h->stop_sending(q->base.handler_ctx, s->id, f->code);
  return MOQC_OK;
}

static int on_params(moqc_qmux *q, const moqc_qmux_frame *f) {
  if (!flow(q) || q->params_recv) return fail(q, QERR_PROTOCOL, "unexpected transport parameters");
  const moqc_qmux_params *p = &f->params;
  if (q->cfg.version >= MOQC_QMUX_01 && p->max_record_size < MOQC_QMUX_DEFAULT_MAX_RECORD_SIZE)
    return fail(q, QERR_PARAMS, "max_record_size below the minimum");
  q->params_recv = true;
  q->peer = *p;
  q->send_max_data = p->initial_max_data;
  q->local_max[0] = p->streams_bidi;
  q->local_max[1] = p->streams_uni;
  moqc_imap_it it;
  void *v;
  moqc__imap_it_init(&q->streams, &it);
  while (moqc__imap_next(&q->streams, &it, NULL, &v)) { /* streams opened before the params */
    qstream *s = v;
    if (local_id(q, s->id)) s->send_max = MOQC_STREAM_IS_UNI(s->id) ? p->sd_uni : p->sd_bidi_remote;
  }
  q->want_writable = true;
  arm(q);
  return MOQC_OK;
}

static void raise_to(moqc_qmux *q, uint64_t *lim, uint64_t v) {
  if (v > *lim) {
    *lim = v;
    arm(q);
    q->want_writable = true;
  }
}

static int on_frame(moqc_qmux *q, const moqc_qmux_frame *f) {
  if (flow(q) && !q->params_recv && f->type != MOQC_QF_TRANSPORT_PARAMETERS &&
      f->type != MOQC_QF_PADDING)
    return fail(q, QERR_PROTOCOL, "QX_TRANSPORT_PARAMETERS must come first");
  switch (f->type) {
    case MOQC_QF_PADDING: return MOQC_OK;
    case MOQC_QF_STREAM: return on_stream(q, f);
    case MOQC_QF_RESET_STREAM: return on_reset(q, f);
    case MOQC_QF_STOP_SENDING: return on_stop(q, f);
    case MOQC_QF_TRANSPORT_PARAMETERS: return on_params(q, f);
    case MOQC_QF_CONNECTION_CLOSE:
    case MOQC_QF_APPLICATION_CLOSE: {
      char reason[128];
      size_t n = f->data.len < sizeof reason - 1 ? f->data.len : sizeof reason - 1;
      memcpy(reason, f->data.ptr, n);
      reason[n] = 0;
      bool app = f->type == MOQC_QF_APPLICATION_CLOSE;
      if (!app) q->base.close_code_local = true; /* a QUIC transport code: Transport */
      begin_close(q, app, f->code, app ? f->code : MOQC_CODE_TRANSPORT, reason, true, 1000);
      return MOQC_OK;
    }
    case MOQC_QF_MAX_DATA: raise_to(q, &q->send_max_data, f->value); return MOQC_OK;
    case MOQC_QF_MAX_STREAMS_BIDI: raise_to(q, &q->local_max[0], f->value); return MOQC_OK;
    case MOQC_QF_MAX_STREAMS_UNI: raise_to(q, &q->local_max[1], f->value); return MOQC_OK;
    case MOQC_QF_MAX_STREAM_DATA: {
      qstream *s;
      int rv = stream_for(q, f->id, false, &s);
      if (rv == MOQC_OK && s) raise_to(q, &s->send_max, f->value);
      return rv;
    }
    case MOQC_QF_PING: {
      if (q->cfg.version == MOQC_QMUX_02) { /* draft-02: request sequences strictly increase */
        if (q->ping_seen && f->value <= q->ping_last)
          return fail(q, QERR_PROTOCOL, "QX_PING request sequence must strictly increase");
        q->ping_seen = true;
        q->ping_last = f->value;
      }
      ctl_arg a = {.type = MOQC_QMUX_FT_PONG, .value = f->value};
      send_ctl(q, fill_value, &a);
      return MOQC_OK;
    }
    case MOQC_QF_PONG: /* draft-02: must echo a request we sent; we send none */
      if (q->cfg.version == MOQC_QMUX_02)
        return fail(q, QERR_PROTOCOL, "QX_PING response to a request never sent");
      return MOQC_OK;
    case MOQC_QF_DATAGRAM: /* we advertise max_datagram_frame_size 0 */
      return fail(q, QERR_PROTOCOL, "datagram not negotiated");
    default: return MOQC_OK; /* *_BLOCKED, PONG: informational */
  }
}

int moqc_qmux_recv(moqc_qmux *q, const uint8_t *msg, size_t len) {
  if (!q || (!msg && len)) return MOQC_ERR_INVAL;
  if (q->state != QMUX_OPEN) return MOQC_ERR_CLOSED;
  hold(q);
  int rv = MOQC_OK;
  size_t max = q->cfg.version >= MOQC_QMUX_01   ? (size_t)q->ours.max_record_size
               : q->cfg.version == MOQC_QMUX_00 ? MOQC_QMUX_MAX_FRAME_SIZE
                                                : 0;
  if (len == 0) {
    rv = fail(q, QERR_FRAME_ENCODING, "empty message");
  } else if (max && len > max) {
    fail(q, QERR_FRAME_ENCODING, "message over the record size");
    rv = MOQC_ERR_TOO_LARGE;
  }
  size_t off = 0;
  while (rv == MOQC_OK && off < len && q->state == QMUX_OPEN) {
    moqc_qmux_frame f;
    ssize_t n = moqc__qmux_frame_decode(q->cfg.version, &f, msg + off, len - off);
    if (n <= 0) {
      rv = fail(q, QERR_FRAME_ENCODING, "malformed frame");
      break;
    }
    off += (size_t)n;
    if (q->cfg.version < MOQC_QMUX_01 && off != len) { /* one frame per message */
      rv = fail(q, QERR_FRAME_ENCODING, "trailing bytes after the frame");
      break;
    }
    rv = on_frame(q, &f);
  }
  if (rv == MOQC_OK) produce(q);
  reap(q);
  drop(q);
  return rv;
}

void moqc_qmux_io_writable(moqc_qmux *q) {
  if (!q) return;
  hold(q);
  produce(q);
  reap(q);
  drop(q);
}

void moqc_qmux_io_closed(moqc_qmux *q, uint16_t status, const char *reason) {
  if (!q || q->io_gone) return;
  hold(q);
  q->io_gone = true;
  if (q->state == QMUX_OPEN) {
    char why[96];
    snprintf(why, sizeof why, "websocket closed (%u%s%s)", (unsigned)status,
             reason && *reason ? ": " : "", reason ? reason : "");
    q->base.close_code_local = true;
    begin_close(q, false, 0, MOQC_CODE_TRANSPORT, why, true, 1000);
  }
  reap(q);
  q->refs--; /* the I/O layer's reference */
  drop(q);
}

moqc_qmux_version moqc_qmux_get_version(const moqc_qmux *q) { return q->cfg.version; }
moqc_transport *moqc_qmux_transport(moqc_qmux *q) { return q ? &q->base : NULL; }

/* ---- moqc_transport ops ------------------------------------------------------------ */

#define Q(t) ((moqc_qmux *)(t))

static int op_open_stream(moqc_transport *t, bool bidi, int64_t *id) {
  moqc_qmux *q = Q(t);
  if (q->state != QMUX_OPEN) return MOQC_ERR_CLOSED;
  int d = bidi ? 0 : 1;
  if (flow(q) && q->local_next[d] >= q->local_max[d]) {
    q->blocked = true;
    return MOQC_ERR_AGAIN;
  }
  int64_t sid = (int64_t)(q->local_next[d] << 2) | (bidi ? 0 : 2) | (q->cfg.is_server ? 1 : 0);
  qstream *s = stream_new(q, sid);
  if (!s) return MOQC_ERR_NOMEM;
  q->local_next[d]++;
  *id = sid;
  return MOQC_OK;
}

static int op_write(moqc_transport *t, int64_t id, const moqc_slice *sl, size_t n, bool fin) {
  moqc_qmux *q = Q(t);
  if (q->state != QMUX_OPEN) return MOQC_ERR_CLOSED;
  qstream *s = find(q, id);
  if (!s || s->send_done || s->fin_queued || (n && !sl)) return MOQC_ERR_INVAL;
  if (s->qn + n > s->qcap) {
    if (s->qhead > 0) { /* compact */
      memmove(s->q, s->q + s->qhead, (s->qn - s->qhead) * sizeof *s->q);
      s->qn -= s->qhead;
      s->qhead = 0;
    }
    if (s->qn + n > s->qcap) {
      size_t cap = s->qcap ? s->qcap * 2 : 8;
      while (cap < s->qn + n) cap *= 2;
      moqc_slice *nq = moqc_reallocarray(s->q, cap, sizeof *nq);
      if (!nq) return MOQC_ERR_NOMEM;
      s->q = nq;
      s->qcap = cap;
    }
  }
  for (size_t i = 0; i < n; i++) {
    if (sl[i].len == 0) continue;
    s->q[s->qn++] = moqc_slice_dup(&sl[i]);
    s->unsent += sl[i].len;
    q->unsent += sl[i].len;
  }
  if (fin) s->fin_queued = true;
  arm(q);
  return MOQC_OK;
}

static int op_reset(moqc_transport *t, int64_t id, uint64_t code) {
  moqc_qmux *q = Q(t);
  if (q->state != QMUX_OPEN) return MOQC_ERR_CLOSED;
  qstream *s = find(q, id);
  if (!s || !s->can_send) return MOQC_ERR_INVAL;
  if (!s->send_done) reset_send(q, s, code);
  arm(q); /* the stream may be done now: reaped on the tick */
  return MOQC_OK;
}

static int op_stop_sending(moqc_transport *t, int64_t id, uint64_t code) {
  moqc_qmux *q = Q(t);
  if (q->state != QMUX_OPEN) return MOQC_ERR_CLOSED;
  qstream *s = find(q, id);
  if (!s || !s->can_recv) return MOQC_ERR_INVAL;
  if (!s->recv_done) {
    s->recv_done = true; /* further data is dropped (and credited) */
    ctl_arg a = {.id = (uint64_t)id, .value = code};
    send_ctl(q, fill_stop, &a);
    arm(q);
  }
  return MOQC_OK;
}

static int op_set_priority(moqc_transport *t, int64_t id, const moqc_stream_prio *prio) {
  moqc_qmux *q = Q(t);
  if (q->state != QMUX_OPEN) return MOQC_ERR_CLOSED;
  qstream *s = find(q, id);
  if (!s || !prio) return MOQC_ERR_INVAL;
  s->prio = *prio;
  s->has_prio = true;
  return MOQC_OK;
}

static int op_send_datagram(moqc_transport *t, const uint8_t *p, size_t len) {
  (void)p;
  (void)len;
  return Q(t)->state != QMUX_OPEN ? MOQC_ERR_CLOSED : MOQC_ERR_UNSUPPORTED;
}

static size_t op_max_datagram(moqc_transport *t) {
  (void)t;
  return 0;
}

static size_t op_queued(moqc_transport *t, int64_t id) {
  moqc_qmux *q = Q(t);
  if (id < 0) return q->unsent + io_pending(q);
  qstream *s = find(q, id);
  return s ? s->unsent : 0;
}

static size_t op_backlog(moqc_transport *t) { return op_queued(t, -1); }

static void op_stats(moqc_transport *t, uint64_t *rtt_ns, uint64_t *rate) {
  (void)t;
  if (rtt_ns) *rtt_ns = 0;
  if (rate) *rate = 0;
}

static void op_close(moqc_transport *t, uint64_t code, const char *reason) {
  moqc_qmux *q = Q(t);
  begin_close(q, true, code, code, reason, false, 1000);
}

static void op_release(moqc_transport *t) {
  moqc_qmux *q = Q(t);
  assert(!q->user_gone);
  q->user_gone = true;
  if (q->state == QMUX_OPEN) begin_close(q, true, 0, 0, "", false, 1000);
  drop(q);
}

static const moqc_transport_ops qmux_ops = {
    .open_stream = op_open_stream,
    .write = op_write,
    .reset = op_reset,
    .stop_sending = op_stop_sending,
    .set_priority = op_set_priority,
    .send_datagram = op_send_datagram,
    .max_datagram = op_max_datagram,
    .queued = op_queued,
    .stats = op_stats,
    .close = op_close,
    .release = op_release,
    .backlog = op_backlog,
};

int moqc_qmux_new(const moqc_qmux_config *cfg, moqc_qmux **out) {
  if (!cfg || !out || !cfg->clock || !cfg->io.send || !cfg->io.pending || !cfg->io.close)
    return MOQC_ERR_INVAL;
  if (cfg->version > MOQC_QMUX_02) return MOQC_ERR_INVAL;
  moqc_qmux *q = moqc_calloc(1, sizeof *q);
  if (!q) return MOQC_ERR_NOMEM;
  q->path = moqc_strdup(cfg->path ? cfg->path : "");
  if (!q->path) {
    moqc_free(q);
    return MOQC_ERR_NOMEM;
  }
  q->cfg = *cfg;
  q->cfg.protocol = q->cfg.path = q->cfg.remote = NULL; /* copied below */
  q->base.ops = &qmux_ops;
  q->base.path = q->path;
  q->base.is_server = cfg->is_server;
  snprintf(q->base.protocol, sizeof q->base.protocol, "%s", cfg->protocol ? cfg->protocol : "");
  snprintf(q->base.remote, sizeof q->base.remote, "%s", cfg->remote ? cfg->remote : "");
  q->refs = 2;
  moqc_timer_init(&q->tick, on_tick, q);
  moqc__qmux_params_default(&q->ours);
  moqc__qmux_params_default(&q->peer);
  if (flow(q)) {
    q->ours.max_idle_timeout = QMUX_IDLE_TIMEOUT_MS;
    q->ours.initial_max_data = QMUX_WINDOW_DATA;
    q->ours.sd_bidi_local = q->ours.sd_bidi_remote = q->ours.sd_uni = QMUX_WINDOW_STREAM;
    q->ours.streams_bidi = q->ours.streams_uni = QMUX_MAX_STREAMS;
    if (cfg->version == MOQC_QMUX_00) q->ours.max_record_size = 0; /* a draft-01 parameter */
    /* draft-02 permits RESET_STREAM_AT: say we accept it (we take it as a reset:
     * the session reads every byte it is given at once, so nothing is lost). */
    q->ours.reset_stream_at = cfg->version == MOQC_QMUX_02;
    q->recv_max_data = QMUX_WINDOW_DATA;
    q->peer_max[0] = q->peer_max[1] = QMUX_MAX_STREAMS;
    send_params(q); /* the first frame, before anything else */
  } else {
    q->send_max_data = QMUX_UNLIMITED;
    q->recv_max_data = QMUX_UNLIMITED;
    q->local_max[0] = q->local_max[1] = QMUX_UNLIMITED;
    q->peer_max[0] = q->peer_max[1] = QMUX_UNLIMITED;
  }
  *out = q;
  return MOQC_OK;
}
