/* moqc tests — in-memory transport pair over a simulated link in virtual time.
 * See memtransport.h for the model. Layout of this file:
 *   packets and the FIFO pipe       (what travels, when it arrives)
 *   streams                         (per-side state, send queue of slices)
 *   events                          (the only place handler callbacks happen)
 *   receive path                    (a packet arriving at a side)
 *   sender: scheduler and pacing    (which stream's bytes go next)
 *   transport ops                   (never call the handler)
 *   link API, injection
 */
#include "memtransport.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moqc/error.h"

#define DGRAM_QUEUE_MAX 256
#define NSEC_PER_SEC 1000000000ull

/* ---- allocation (plain libc: tests' allocator counters see only the library) */

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) {
    fputs("memtransport: out of memory\n", stderr);
    abort();
  }
  return p;
}

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) {
    fputs("memtransport: out of memory\n", stderr);
    abort();
  }
  return q;
}

/* ---- types ------------------------------------------------------------------ */

typedef enum pk_type { PK_DATA, PK_ACK, PK_RESET, PK_STOP, PK_CREDIT, PK_CLOSE, PK_DGRAM } pk_type;

typedef struct packet {
  struct packet *next;
  uint64_t arrival;
  pk_type type;
  int64_t id;
  uint64_t off;  /* DATA: stream offset of data[0]; ACK: acknowledged up to */
  uint64_t code; /* RESET / STOP / CLOSE */
  bool fin;      /* DATA / ACK */
  bool bidi;     /* CREDIT */
  size_t len;
  uint8_t data[]; /* DATA / DGRAM payload; CLOSE reason (NUL-terminated) */
} packet;

/* A stream's send half (the QUIC transport's states, RFC 9000 3.1; the
 * peer's STOP_SENDING resets it like our own reset):
 *   SEND -> FIN_QUEUED | RESET;  FIN_QUEUED -> FIN_SENT | RESET;
 *   FIN_SENT -> FIN_ACKED | RESET;  NONE, FIN_ACKED, RESET are final. */
typedef enum msend {
  MS_NONE = 0,   /* no send half */
  MS_SEND,       /* open for writes */
  MS_FIN_QUEUED, /* write(fin) called */
  MS_FIN_SENT,   /* the FIN left in a DATA packet */
  MS_FIN_ACKED,  /* the ACK carrying the FIN came back */
  MS_RESET,      /* reset (by us, or through the peer's STOP) */
} msend;

/* A stream's receive half:
 *   RECV -> STOPPED | FIN | RESET;  STOPPED -> FIN | RESET;
 *   NONE, FIN, RESET are final. */
typedef enum mrecv {
  MR_NONE = 0, /* no receive half */
  MR_RECV,     /* open: data is delivered */
  MR_STOPPED,  /* we sent STOP: data is dropped */
  MR_FIN,      /* the FIN arrived */
  MR_RESET,    /* the peer reset it */
} mrecv;

static bool msend_ok(msend from, msend to) {
  switch (from) {
    case MS_SEND: return to == MS_FIN_QUEUED || to == MS_RESET;
    case MS_FIN_QUEUED: return to == MS_FIN_SENT || to == MS_RESET;
    case MS_FIN_SENT: return to == MS_FIN_ACKED || to == MS_RESET;
    case MS_NONE:
    case MS_FIN_ACKED:
    case MS_RESET: return false;
  }
  return false;
}

static bool mrecv_ok(mrecv from, mrecv to) {
  switch (from) {
    case MR_RECV: return to == MR_STOPPED || to == MR_FIN || to == MR_RESET;
    case MR_STOPPED: return to == MR_FIN || to == MR_RESET;
    case MR_NONE:
    case MR_FIN:
    case MR_RESET: return false;
  }
  return false;
}

typedef struct mstream {
  struct mstream *next;
  int64_t id;
  bool local; /* opened by this side */
  msend send; /* change only through set_send */
  mrecv recv; /* change only through set_recv */
  int rec;    /* injection record index (hidden stream), -1 if none */
  /* send half: queue of slice references, released when acknowledged */
  moqc_slice *q;
  size_t qhead, qlen, qcap;
  uint64_t qbase;    /* stream offset of q[qhead] */
  size_t sidx, soff; /* send cursor into q */
  uint64_t written, sent, acked;
  bool acked_ev; /* stream_acked delivered */
  bool prioritised;
  moqc_stream_prio prio;
  uint64_t served; /* round-robin stamp */
  /* receive half */
  uint64_t received;
} mstream;

static void set_send(mstream *st, msend to) {
  bool ok = msend_ok(st->send, to);
  assert(ok && "memtransport: illegal send-half transition");
  (void)ok;
  st->send = to;
}

static void set_recv(mstream *st, mrecv to) {
  bool ok = mrecv_ok(st->recv, to);
  assert(ok && "memtransport: illegal receive-half transition");
  (void)ok;
  st->recv = to;
}

/* Is the send half still able to be reset (not finished, not reset)? */
static bool send_live(const mstream *st) {
  return st->send == MS_SEND || st->send == MS_FIN_QUEUED || st->send == MS_FIN_SENT;
}

/* A side's lifecycle: OPEN -> CLOSING (shut down: no more I/O; the `closed`
 * event waits for the defer timer) -> CLOSED (event delivered). */
typedef enum mside_state {
  MSS_OPEN = 0,
  MSS_CLOSING,
  MSS_CLOSED,
} mside_state;

typedef struct mside {
  moqc_transport base; /* first: moqc_transport * <-> mside * */
  memlink *link;
  struct mside *peer;
  int idx; /* 0 client, 1 server */
  mstream *streams, *streams_tail;
  uint64_t next_idx[2]; /* [0] bidi, [1] uni: next local stream index */
  uint64_t open_cnt[2]; /* local streams the peer has not closed yet */
  bool blocked;         /* open returned AGAIN: fire writable on credit */
  uint8_t *seen[2];     /* bitmap of peer stream indices already opened */
  size_t seen_cap[2];
  packet *dq_head, *dq_tail; /* datagrams waiting for the scheduler */
  size_t dq_len;
  packet *pipe_head, *pipe_tail; /* in flight toward the peer */
  moqc_timer pace, pipe, defer;
  uint64_t link_free; /* when the sender's link is idle again */
  uint64_t unacked;   /* stream bytes written and not yet acknowledged */
  uint64_t rr;
  mside_state state; /* change only through side_set_state */
  bool released, close_by_peer;
  uint64_t close_code;
  char *close_reason;
  memlink_stats stats;
} mside;

/* Shut down (CLOSING or CLOSED): no more I/O. */
static inline bool side_closed(const mside *s) { return s->state != MSS_OPEN; }

static void side_set_state(mside *s, mside_state to) {
  bool ok = (unsigned)to == (unsigned)s->state + 1 && to <= MSS_CLOSED;
  assert(ok && "memtransport: illegal side transition");
  (void)ok;
  s->state = to;
}

typedef struct inject_rec {
  int side; /* the injecting side */
  int64_t id;
  memlink_inject_info info;
  uint8_t *rx; /* the bytes `to` sent back (info.received of them) */
} inject_rec;

struct memlink {
  moqc_clock *clk;
  memlink_config cfg;
  mside side[2];
  char *path;
  inject_rec *recs;
  size_t nrecs, caprecs;
};

static const moqc_transport_ops k_ops;

static uint64_t now_of(const memlink *l) { return moqc_clock_now(l->clk); }

static void arm(memlink *l, moqc_timer *t, uint64_t deadline) {
  if (moqc_timer_start(l->clk, t, deadline) != MOQC_OK) {
    fputs("memtransport: cannot arm timer (out of memory)\n", stderr);
    abort();
  }
}

static void arm_defer(mside *s) {
  if (!moqc_timer_armed(&s->defer)) arm(s->link, &s->defer, now_of(s->link));
}

/* ---- packets and the pipe ------------------------------------------------------ */

static packet *pk_new(pk_type type, int64_t id, size_t len) {
  packet *pk = xcalloc(1, sizeof *pk + len + 1);
  pk->type = type;
  pk->id = id;
  pk->len = len;
  return pk;
}

static void pk_free_list(packet *pk) {
  while (pk) {
    packet *next = pk->next;
    free(pk);
    pk = next;
  }
}

/* Put pk on s's wire toward the peer: it arrives after `tx` (time on the link)
 * plus the latency, and never before a packet sent earlier (FIFO). */
static void pipe_send(mside *s, packet *pk, uint64_t tx) {
  memlink *l = s->link;
  uint64_t arrival = now_of(l) + tx + l->cfg.latency_ns;
  if (s->pipe_tail && s->pipe_tail->arrival > arrival) arrival = s->pipe_tail->arrival;
  pk->arrival = arrival;
  pk->next = NULL;
  if (s->pipe_tail) s->pipe_tail->next = pk;
  else s->pipe_head = pk;
  s->pipe_tail = pk;
  if (!moqc_timer_armed(&s->pipe)) arm(l, &s->pipe, s->pipe_head->arrival);
}

static void send_ctrl(mside *s, pk_type type, int64_t id, uint64_t code) {
  packet *pk = pk_new(type, id, 0);
  pk->code = code;
  pipe_send(s, pk, 0);
}

/* ---- streams ------------------------------------------------------------------ */

static int kind_of(int64_t id) { return MOQC_STREAM_IS_UNI(id) ? 1 : 0; }

static mstream *stream_find(const mside *s, int64_t id) {
  for (mstream *st = s->streams; st; st = st->next)
    if (st->id == id) return st;
  return NULL;
}

static mstream *stream_add(mside *s, int64_t id, bool local) {
  mstream *st = xcalloc(1, sizeof *st);
  st->id = id;
  st->local = local;
  st->rec = -1;
  bool uni = MOQC_STREAM_IS_UNI(id);
  st->send = local || !uni ? MS_SEND : MS_NONE;
  st->recv = !local || !uni ? MR_RECV : MR_NONE;
  if (s->streams_tail) s->streams_tail->next = st;
  else s->streams = st;
  s->streams_tail = st;
  return st;
}

static void stream_unlink(mside *s, mstream *st) {
  mstream **pp = &s->streams, *prev = NULL;
  while (*pp && *pp != st) {
    prev = *pp;
    pp = &(*pp)->next;
  }
  if (!*pp) return;
  *pp = st->next;
  if (s->streams_tail == st) s->streams_tail = prev;
}

static void queue_release(mstream *st) {
  for (size_t i = st->qhead; i < st->qlen; i++) moqc_slice_release(&st->q[i]);
  st->qhead = st->qlen = st->sidx = st->soff = 0;
}

static void stream_free(mstream *st) {
  queue_release(st);
  free(st->q);
  free(st);
}

static void free_all_streams(mside *s) {
  mstream *st = s->streams;
  while (st) {
    mstream *next = st->next;
    stream_free(st);
    st = next;
  }
  s->streams = s->streams_tail = NULL;
}

static bool stream_done(const mstream *st) {
  bool send_done = st->send == MS_NONE || st->send == MS_RESET || st->send == MS_FIN_ACKED;
  bool recv_done = st->recv == MR_NONE || st->recv == MR_FIN || st->recv == MR_RESET;
  return send_done && recv_done;
}

static void check_done(mside *s, mstream *st) {
  if (stream_done(st)) arm_defer(s);
}

/* Release the slices the peer has acknowledged in full. */
static void release_acked(mstream *st) {
  while (st->qhead < st->qlen && st->qbase + st->q[st->qhead].len <= st->acked) {
    st->qbase += st->q[st->qhead].len;
    moqc_slice_release(&st->q[st->qhead]);
    st->qhead++;
  }
  if (st->qhead == st->qlen) {
    st->qhead = st->qlen = st->sidx = st->soff = 0;
  } else if (st->qhead >= 64 && st->qhead * 2 >= st->qlen) {
    memmove(st->q, st->q + st->qhead, (st->qlen - st->qhead) * sizeof *st->q);
    st->qlen -= st->qhead;
    st->sidx -= st->qhead;
    st->qhead = 0;
  }
}

/* Was peer stream `id` opened before? Marks it as seen. */
static bool seen_test_set(mside *s, int64_t id) {
  int k = kind_of(id);
  uint64_t idx = (uint64_t)id >> 2;
  size_t byte = (size_t)(idx / 8);
  if (byte >= s->seen_cap[k]) {
    size_t ncap = s->seen_cap[k] ? s->seen_cap[k] : 64;
    while (ncap <= byte) ncap *= 2;
    s->seen[k] = xrealloc(s->seen[k], ncap);
    memset(s->seen[k] + s->seen_cap[k], 0, ncap - s->seen_cap[k]);
    s->seen_cap[k] = ncap;
  }
  uint8_t bit = (uint8_t)(1u << (idx % 8));
  bool was = (s->seen[k][byte] & bit) != 0;
  s->seen[k][byte] |= bit;
  return was;
}

/* The stream a received frame refers to; creates peer streams on first sight.
 * NULL for streams already closed and forgotten. */
static mstream *stream_for_frame(mside *s, int64_t id, bool *is_new) {
  *is_new = false;
  mstream *st = stream_find(s, id);
  if (st) return st;
  if (MOQC_STREAM_IS_SERVER(id) == s->base.is_server) return NULL; /* ours, closed */
  if (seen_test_set(s, id)) return NULL;
  *is_new = true;
  return stream_add(s, id, false);
}

/* ---- events: every handler call goes through here, from timer callbacks ------ */

static const moqc_transport_handler *handler_of(const mside *s) {
  return (!s->released && !side_closed(s)) ? s->base.handler : NULL;
}

static inject_rec *rec_of(mside *s, const mstream *st) {
  return st->rec >= 0 ? &s->link->recs[st->rec] : NULL;
}

static void ev_opened(mside *s, mstream *st) {
  const moqc_transport_handler *h = handler_of(s);
  if (h && h->stream_opened) h->stream_opened(s->base.handler_ctx, st->id);
}

static void ev_data(mside *s, mstream *st, const uint8_t *p, size_t len, bool fin) {
  inject_rec *r = rec_of(s, st);
  if (r) {
    if (len) {
      r->rx = xrealloc(r->rx, r->info.received + len);
      memcpy(r->rx + r->info.received, p, len);
    }
    r->info.received += len;
    r->info.fin |= fin;
    return;
  }
  const moqc_transport_handler *h = handler_of(s);
  if (h && h->stream_data) h->stream_data(s->base.handler_ctx, st->id, p, len, fin);
}

static void ev_reset(mside *s, mstream *st, uint64_t code) {
  inject_rec *r = rec_of(s, st);
  if (r) {
    r->info.reset = true;
    r->info.reset_code = code;
    return;
  }
  const moqc_transport_handler *h = handler_of(s);
  if (h && h->stream_reset) h->stream_reset(s->base.handler_ctx, st->id, code);
}

static void ev_stop(mside *s, mstream *st, uint64_t code) {
  inject_rec *r = rec_of(s, st);
  if (r) {
    r->info.stopped = true;
    r->info.stop_code = code;
    return;
  }
  const moqc_transport_handler *h = handler_of(s);
  if (h && h->stop_sending) h->stop_sending(s->base.handler_ctx, st->id, code);
}

static void ev_stream_closed(mside *s, int64_t id, int rec) {
  if (rec >= 0) {
    s->link->recs[rec].info.closed = true;
    return;
  }
  const moqc_transport_handler *h = handler_of(s);
  if (h && h->stream_closed) h->stream_closed(s->base.handler_ctx, id);
}

/* Deferred events of side s: stream closures, then the local `closed`. */
static void on_defer(moqc_timer *t, void *arg) {
  (void)t;
  mside *s = arg;
  while (!side_closed(s)) {
    mstream *st = s->streams;
    while (st && !stream_done(st)) st = st->next;
    if (!st) break;
    stream_unlink(s, st);
    int64_t id = st->id;
    int rec = st->rec;
    bool peer_opened = !st->local;
    stream_free(st);
    if (peer_opened) { /* give the peer its stream credit back */
      packet *pk = pk_new(PK_CREDIT, id, 0);
      pk->bidi = !MOQC_STREAM_IS_UNI(id);
      pipe_send(s, pk, 0);
    }
    ev_stream_closed(s, id, rec);
  }
  if (s->state == MSS_CLOSING) {
    side_set_state(s, MSS_CLOSED);
    const moqc_transport_handler *h = s->released ? NULL : s->base.handler;
    if (h && h->closed)
      h->closed(s->base.handler_ctx, s->close_code, s->close_reason ? s->close_reason : "",
                s->close_by_peer);
  }
}

/* Close side s now: all stream state and queued data go, the `closed` event is
 * delivered from the defer timer. */
static void side_shutdown(mside *s, uint64_t code, const char *reason, bool by_peer) {
  if (side_closed(s)) return;
  side_set_state(s, MSS_CLOSING);
  s->close_code = code;
  s->close_by_peer = by_peer;
  free(s->close_reason);
  s->close_reason = strdup(reason ? reason : "");
  if (!s->close_reason) abort();
  free_all_streams(s);
  s->unacked = 0;
  pk_free_list(s->dq_head);
  s->dq_head = s->dq_tail = NULL;
  s->dq_len = 0;
  moqc_timer_stop(s->link->clk, &s->pace);
  arm_defer(s);
}

/* ---- receive path: packet pk (sent by s->peer) arrives at s ------------------ */

static void rx_data(mside *s, packet *pk) {
  packet *ack = pk_new(PK_ACK, pk->id, 0); /* acknowledge first, whatever happens */
  ack->off = pk->off + pk->len;
  ack->fin = pk->fin;
  pipe_send(s, ack, 0);

  bool is_new;
  mstream *st = stream_for_frame(s, pk->id, &is_new);
  if (!st) return;
  if (is_new) {
    ev_opened(s, st);
    if (side_closed(s)) return;
  }
  if (st->recv != MR_RECV && st->recv != MR_STOPPED) return;
  st->received += pk->len;
  bool stopped = st->recv == MR_STOPPED;
  if (pk->fin) set_recv(st, MR_FIN);
  if (!stopped && (pk->len || pk->fin)) {
    ev_data(s, st, pk->data, pk->len, pk->fin);
    if (side_closed(s)) return;
  }
  if (pk->fin) check_done(s, st);
}

static void ev_acked(mside *s, mstream *st) {
  inject_rec *r = rec_of(s, st);
  if (r) return;
  const moqc_transport_handler *h = handler_of(s);
  if (h && h->stream_acked) h->stream_acked(s->base.handler_ctx, st->id);
}

/* The pipe is FIFO: the ACK carrying the FIN is the last one of the stream. */
static void rx_ack(mside *s, packet *pk) {
  mstream *st = stream_find(s, pk->id);
  if (!st || st->send == MS_RESET) return;
  if (pk->fin) {
    set_send(st, MS_FIN_ACKED);
    check_done(s, st);
  }
  bool writable = false;
  if (pk->off > st->acked) {
    uint64_t before = s->unacked, mark = s->link->cfg.writable_below;
    s->unacked -= pk->off - st->acked;
    st->acked = pk->off;
    release_acked(st);
    writable = before >= mark && s->unacked < mark;
  }
  /* Streams are freed only from the defer timer, unless a handler closes
   * the side: check that between the two events. */
  bool all_acked = st->send == MS_FIN_ACKED && st->acked == st->written && !st->acked_ev;
  if (all_acked) st->acked_ev = true;
  if (all_acked) ev_acked(s, st);
  if (writable && !side_closed(s)) {
    const moqc_transport_handler *h = handler_of(s);
    if (h && h->writable) h->writable(s->base.handler_ctx);
  }
}

static void do_reset(mside *s, mstream *st, uint64_t code) {
  assert(s->unacked >= st->written - st->acked);
  s->unacked -= st->written - st->acked;
  queue_release(st);
  set_send(st, MS_RESET);
  send_ctrl(s, PK_RESET, st->id, code);
  check_done(s, st);
}

static void rx_reset(mside *s, packet *pk) {
  bool is_new;
  mstream *st = stream_for_frame(s, pk->id, &is_new);
  if (!st) return;
  if (is_new) {
    ev_opened(s, st);
    if (side_closed(s)) return;
  }
  if (st->recv != MR_RECV && st->recv != MR_STOPPED) return;
  set_recv(st, MR_RESET);
  ev_reset(s, st, pk->code);
  if (side_closed(s)) return;
  check_done(s, st);
}

static void rx_stop(mside *s, packet *pk) {
  bool is_new;
  mstream *st = stream_for_frame(s, pk->id, &is_new);
  if (!st) return;
  if (is_new) {
    ev_opened(s, st);
    if (side_closed(s)) return;
  }
  if (!send_live(st)) return;
  do_reset(s, st, pk->code); /* the transport resets first, then tells the user */
  ev_stop(s, st, pk->code);
}

static void rx_credit(mside *s, packet *pk) {
  int k = pk->bidi ? 0 : 1;
  if (s->open_cnt[k]) s->open_cnt[k]--;
  if (!s->blocked) return;
  s->blocked = false;
  const moqc_transport_handler *h = handler_of(s);
  if (h && h->writable) h->writable(s->base.handler_ctx);
}

static void rx_packet(mside *s, packet *pk) {
  switch (pk->type) {
    case PK_DATA: rx_data(s, pk); break;
    case PK_ACK: rx_ack(s, pk); break;
    case PK_RESET: rx_reset(s, pk); break;
    case PK_STOP: rx_stop(s, pk); break;
    case PK_CREDIT: rx_credit(s, pk); break;
    case PK_CLOSE: side_shutdown(s, pk->code, (const char *)pk->data, true); break;
    case PK_DGRAM: {
      const moqc_transport_handler *h = handler_of(s);
      if (h && h->datagram) h->datagram(s->base.handler_ctx, pk->data, pk->len);
      break;
    }
  }
}

/* The pipe of sender s delivers everything due to s->peer. */
static void on_pipe(moqc_timer *t, void *arg) {
  (void)t;
  mside *s = arg;
  memlink *l = s->link;
  while (s->pipe_head && s->pipe_head->arrival <= now_of(l)) {
    packet *pk = s->pipe_head;
    s->pipe_head = pk->next;
    if (!s->pipe_head) s->pipe_tail = NULL;
    if (!side_closed(s->peer)) rx_packet(s->peer, pk);
    free(pk);
  }
  if (s->pipe_head) arm(l, &s->pipe, s->pipe_head->arrival);
}

/* ---- sender: scheduler and pacing ---------------------------------------------- */

static bool sendable(const mstream *st) {
  return (st->send == MS_SEND && st->sent < st->written) || st->send == MS_FIN_QUEUED;
}

/* Does a go before b? Unprioritised first, then priority, then order
 * (both higher first), then least recently served, then creation order. */
static bool goes_before(const mstream *a, const mstream *b) {
  if (a->prioritised != b->prioritised) return !a->prioritised;
  if (a->prioritised) {
    if (a->prio.priority != b->prio.priority) return a->prio.priority > b->prio.priority;
    if (a->prio.order != b->prio.order) return a->prio.order > b->prio.order;
  }
  return a->served < b->served;
}

static void copy_out(mstream *st, uint8_t *dst, size_t n) {
  while (n) {
    const moqc_slice *sl = &st->q[st->sidx];
    size_t take = sl->len - st->soff;
    if (take > n) take = n;
    memcpy(dst, moqc_slice_ptr(sl) + st->soff, take);
    dst += take;
    n -= take;
    st->soff += take;
    if (st->soff == sl->len) {
      st->sidx++;
      st->soff = 0;
    }
  }
}

static packet *next_packet(mside *s) {
  if (s->dq_head) {
    packet *pk = s->dq_head;
    s->dq_head = pk->next;
    if (!s->dq_head) s->dq_tail = NULL;
    s->dq_len--;
    s->stats.packets++;
    s->stats.datagrams++;
    return pk;
  }
  mstream *best = NULL;
  for (mstream *st = s->streams; st; st = st->next)
    if (sendable(st) && (!best || goes_before(st, best))) best = st;
  if (!best) return NULL;
  uint64_t left = best->written - best->sent;
  size_t n = left < s->link->cfg.mtu ? (size_t)left : s->link->cfg.mtu;
  packet *pk = pk_new(PK_DATA, best->id, n);
  pk->off = best->sent;
  copy_out(best, pk->data, n);
  best->sent += n;
  if (best->sent == best->written && best->send == MS_FIN_QUEUED) {
    pk->fin = true;
    set_send(best, MS_FIN_SENT);
  }
  best->served = ++s->rr;
  s->stats.packets++;
  s->stats.stream_bytes += n;
  return pk;
}

static uint64_t tx_time(const memlink *l, size_t len) {
  if (l->cfg.bandwidth == 0) return 0;
  unsigned __int128 ns = (unsigned __int128)len * NSEC_PER_SEC + l->cfg.bandwidth - 1;
  return (uint64_t)(ns / l->cfg.bandwidth);
}

/* Put packets on the wire while the link is free. */
static void on_pace(moqc_timer *t, void *arg) {
  (void)t;
  mside *s = arg;
  memlink *l = s->link;
  while (!side_closed(s)) {
    uint64_t now = now_of(l);
    if (s->link_free > now) {
      arm(l, &s->pace, s->link_free);
      return;
    }
    packet *pk = next_packet(s);
    if (!pk) return;
    uint64_t tx = tx_time(l, pk->len);
    s->link_free = now + tx;
    pipe_send(s, pk, tx);
  }
}

static void pace_kick(mside *s) {
  if (moqc_timer_armed(&s->pace)) return;
  uint64_t now = now_of(s->link);
  arm(s->link, &s->pace, s->link_free > now ? s->link_free : now);
}

/* ---- transport ops (never call the handler) ------------------------------------ */

static mside *side_of(moqc_transport *t) { return (mside *)t; }

static int open_local(mside *s, bool bidi, int64_t *id, mstream **out) {
  if (side_closed(s)) return MOQC_ERR_CLOSED;
  if (!id) return MOQC_ERR_INVAL;
  int k = bidi ? 0 : 1;
  uint64_t limit = bidi ? s->link->cfg.max_streams_bidi : s->link->cfg.max_streams_uni;
  if (limit && s->open_cnt[k] >= limit) {
    s->blocked = true;
    return MOQC_ERR_AGAIN;
  }
  int64_t sid = (int64_t)(s->next_idx[k]++ << 2) | (bidi ? 0 : 2) | (s->base.is_server ? 1 : 0);
  s->open_cnt[k]++;
  mstream *st = stream_add(s, sid, true);
  if (out) *out = st;
  *id = sid;
  return MOQC_OK;
}

static int op_open_stream(moqc_transport *t, bool bidi, int64_t *id) {
  return open_local(side_of(t), bidi, id, NULL);
}

static int op_write(moqc_transport *t, int64_t id, const moqc_slice *sl, size_t n, bool fin) {
  mside *s = side_of(t);
  if (side_closed(s)) return MOQC_ERR_CLOSED;
  mstream *st = stream_find(s, id);
  if (!st || st->send != MS_SEND) return MOQC_ERR_INVAL; /* none, finished or reset */
  if (n && !sl) return MOQC_ERR_INVAL;
  for (size_t i = 0; i < n; i++) {
    if (!sl[i].buf ? sl[i].len != 0
                   : (sl[i].off > sl[i].buf->len || sl[i].len > sl[i].buf->len - sl[i].off))
      return MOQC_ERR_INVAL;
  }
  if (st->qlen + n > st->qcap) {
    size_t ncap = st->qcap ? st->qcap : 8;
    while (ncap < st->qlen + n) ncap *= 2;
    st->q = xrealloc(st->q, ncap * sizeof *st->q);
    st->qcap = ncap;
  }
  for (size_t i = 0; i < n; i++) {
    if (sl[i].len == 0) continue;
    st->q[st->qlen++] = moqc_slice_dup(&sl[i]);
    st->written += sl[i].len;
    s->unacked += sl[i].len;
  }
  if (fin) set_send(st, MS_FIN_QUEUED);
  if (sendable(st)) pace_kick(s);
  return MOQC_OK;
}

static int op_reset(moqc_transport *t, int64_t id, uint64_t code) {
  mside *s = side_of(t);
  if (side_closed(s)) return MOQC_ERR_CLOSED;
  mstream *st = stream_find(s, id);
  if (!st || st->send == MS_NONE) return MOQC_ERR_INVAL;
  if (send_live(st)) do_reset(s, st, code);
  return MOQC_OK;
}

static int op_stop_sending(moqc_transport *t, int64_t id, uint64_t code) {
  mside *s = side_of(t);
  if (side_closed(s)) return MOQC_ERR_CLOSED;
  mstream *st = stream_find(s, id);
  if (!st || st->recv == MR_NONE) return MOQC_ERR_INVAL;
  if (st->recv != MR_RECV) return MOQC_OK;
  set_recv(st, MR_STOPPED);
  send_ctrl(s, PK_STOP, id, code);
  return MOQC_OK;
}

static int op_set_priority(moqc_transport *t, int64_t id, const moqc_stream_prio *prio) {
  mside *s = side_of(t);
  if (side_closed(s)) return MOQC_ERR_CLOSED;
  mstream *st = stream_find(s, id);
  if (!st) return MOQC_ERR_INVAL;
  st->prioritised = prio != NULL;
  if (prio) st->prio = *prio;
  return MOQC_OK;
}

int memlink_stream_priority(moqc_transport *t, int64_t id, moqc_stream_prio *out) {
  if (!t || !out) return MOQC_ERR_INVAL;
  mstream *st = stream_find(side_of(t), id);
  if (!st || !st->prioritised) return MOQC_ERR_NOT_FOUND;
  *out = st->prio;
  return MOQC_OK;
}

static int op_send_datagram(moqc_transport *t, const uint8_t *p, size_t len) {
  mside *s = side_of(t);
  if (side_closed(s)) return MOQC_ERR_CLOSED;
  if (s->link->cfg.max_datagram == 0) return MOQC_ERR_UNSUPPORTED;
  if (len > s->link->cfg.max_datagram) return MOQC_ERR_TOO_LARGE;
  if (!p && len) return MOQC_ERR_INVAL;
  if (s->dq_len >= DGRAM_QUEUE_MAX) { /* datagrams may be dropped silently */
    s->stats.datagrams_dropped++;
    return MOQC_OK;
  }
  packet *pk = pk_new(PK_DGRAM, -1, len);
  if (len) memcpy(pk->data, p, len);
  if (s->dq_tail) s->dq_tail->next = pk;
  else s->dq_head = pk;
  s->dq_tail = pk;
  s->dq_len++;
  pace_kick(s);
  return MOQC_OK;
}

static size_t op_max_datagram(moqc_transport *t) {
  mside *s = side_of(t);
  return side_closed(s) ? 0 : s->link->cfg.max_datagram;
}

static size_t unacked(const mstream *st) {
  return st->send == MS_RESET ? 0 : (size_t)(st->written - st->acked);
}

static size_t op_queued(moqc_transport *t, int64_t id) {
  mside *s = side_of(t);
  if (side_closed(s)) return 0;
  if (id >= 0) {
    mstream *st = stream_find(s, id);
    return st ? unacked(st) : 0;
  }
  return (size_t)s->unacked;
}

/* Bytes written and not yet put on the link (excludes bytes in flight). */
static size_t op_backlog(moqc_transport *t) {
  mside *s = side_of(t);
  if (side_closed(s)) return 0;
  uint64_t n = 0;
  for (const mstream *st = s->streams; st; st = st->next)
    if (st->send != MS_RESET) n += st->written - st->sent;
  return (size_t)n;
}

static void op_stats(moqc_transport *t, uint64_t *rtt_ns, uint64_t *send_rate_bps) {
  const memlink *l = side_of(t)->link;
  if (rtt_ns) *rtt_ns = 2 * l->cfg.latency_ns;
  if (send_rate_bps) *send_rate_bps = 8 * l->cfg.bandwidth;
}

static void op_close(moqc_transport *t, uint64_t code, const char *reason) {
  mside *s = side_of(t);
  if (side_closed(s)) return;
  if (!reason) reason = "";
  size_t rlen = strlen(reason);
  packet *pk = pk_new(PK_CLOSE, -1, rlen);
  memcpy(pk->data, reason, rlen + 1);
  pk->code = code;
  pipe_send(s, pk, 0);
  side_shutdown(s, code, reason, false);
}

static void op_release(moqc_transport *t) {
  mside *s = side_of(t);
  if (s->released) return;
  s->released = true;
  op_close(t, MOQC_CODE_CANCEL, "");
}

static const moqc_transport_ops k_ops = {
    op_open_stream,  op_write,  op_reset, op_stop_sending, op_set_priority, op_send_datagram,
    op_max_datagram, op_queued, op_stats, op_close,        op_release,      op_backlog,
};

/* ---- link API ------------------------------------------------------------------- */

memlink *memlink_new(moqc_clock *clk, const memlink_config *cfg) {
  if (!clk) return NULL;
  memlink *l = calloc(1, sizeof *l);
  if (!l) return NULL;
  l->clk = clk;
  l->cfg = cfg ? *cfg : MEMLINK_CONFIG_DEFAULT;
  if (l->cfg.mtu == 0) l->cfg.mtu = 1200;
  if (l->cfg.writable_below == 0) l->cfg.writable_below = 64 * 1024;
  for (int i = 0; i < 2; i++) {
    mside *s = &l->side[i];
    s->base.ops = &k_ops;
    s->base.path = "";
    s->base.is_server = i == 1;
    s->base.webtransport = l->cfg.webtransport;
    s->link = l;
    s->peer = &l->side[1 - i];
    s->idx = i;
    moqc_timer_init(&s->pace, on_pace, s);
    moqc_timer_init(&s->pipe, on_pipe, s);
    moqc_timer_init(&s->defer, on_defer, s);
  }
  return l;
}

void memlink_del(memlink *l) {
  if (!l) return;
  for (int i = 0; i < 2; i++) {
    mside *s = &l->side[i];
    moqc_timer_stop(l->clk, &s->pace);
    moqc_timer_stop(l->clk, &s->pipe);
    moqc_timer_stop(l->clk, &s->defer);
    free_all_streams(s);
    pk_free_list(s->dq_head);
    pk_free_list(s->pipe_head);
    free(s->seen[0]);
    free(s->seen[1]);
    free(s->close_reason);
  }
  for (size_t i = 0; i < l->nrecs; i++) free(l->recs[i].rx);
  free(l->recs);
  free(l->path);
  free(l);
}

moqc_transport *memlink_client(memlink *l) { return &l->side[0].base; }
moqc_transport *memlink_server(memlink *l) { return &l->side[1].base; }

int memlink_set_protocol(memlink *l, const char *proto) {
  if (!proto || strlen(proto) >= sizeof l->side[0].base.protocol) return MOQC_ERR_INVAL;
  for (int i = 0; i < 2; i++) strcpy(l->side[i].base.protocol, proto);
  return MOQC_OK;
}

int memlink_set_path(memlink *l, const char *path) {
  if (!path) return MOQC_ERR_INVAL;
  char *copy = strdup(path);
  if (!copy) return MOQC_ERR_NOMEM;
  free(l->path);
  l->path = copy;
  for (int i = 0; i < 2; i++) l->side[i].base.path = copy;
  return MOQC_OK;
}

static void disconnect(memlink *l, uint64_t code, const char *reason, bool by_peer, bool local) {
  for (int i = 0; i < 2; i++) {
    mside *s = &l->side[i];
    s->base.close_code_local = local;
    side_shutdown(s, code, reason, by_peer);
    moqc_timer_stop(l->clk, &s->pipe);
    pk_free_list(s->pipe_head);
    s->pipe_head = s->pipe_tail = NULL;
  }
}

void memlink_disconnect(memlink *l, uint64_t code, const char *reason) {
  disconnect(l, code, reason, false, false);
}

void memlink_disconnect_by_peer(memlink *l, uint64_t code, const char *reason, bool local) {
  disconnect(l, code, reason, true, local);
}

void memlink_get_stats(memlink *l, const moqc_transport *from, memlink_stats *out) {
  const mside *s = (const mside *)from;
  (void)l;
  *out = s->stats;
}

/* ---- injection ------------------------------------------------------------------- */

/* The side that sends toward `to`, or NULL if `to` is not part of l. */
static mside *injector(memlink *l, moqc_transport *to) {
  if (to == &l->side[0].base) return &l->side[1];
  if (to == &l->side[1].base) return &l->side[0];
  return NULL;
}

static mstream *hidden_stream(memlink *l, moqc_transport *to, int64_t id, mside **sp) {
  mside *s = injector(l, to);
  if (!s) return NULL;
  mstream *st = stream_find(s, id);
  if (!st || st->rec < 0) return NULL;
  *sp = s;
  return st;
}

int memlink_inject_write(memlink *l, moqc_transport *to, int64_t id, const void *p, size_t len,
                         bool fin) {
  mside *s = NULL;
  if (!p && len) return MOQC_ERR_INVAL;
  if (injector(l, to) && side_closed(injector(l, to))) return MOQC_ERR_CLOSED;
  mstream *st = hidden_stream(l, to, id, &s);
  if (!st) return MOQC_ERR_INVAL;
  moqc_slice sl = MOQC_SLICE_EMPTY;
  if (len) {
    moqc_buf *b = moqc_buf_copy(p, len);
    if (!b) return MOQC_ERR_NOMEM;
    sl.buf = b; /* our reference, dropped below: the transport takes its own */
    sl.len = len;
  }
  int rc = op_write(&s->base, id, &sl, len ? 1 : 0, fin);
  moqc_slice_release(&sl);
  return rc;
}

int memlink_inject(memlink *l, moqc_transport *to, bool bidi, const void *p, size_t len, bool fin,
                   int64_t *id) {
  mside *s = injector(l, to);
  if (!s || !id || (!p && len)) return MOQC_ERR_INVAL;
  mstream *st;
  int64_t sid;
  int rc = open_local(s, bidi, &sid, &st);
  if (rc < 0) return rc;
  if (l->nrecs == l->caprecs) {
    l->caprecs = l->caprecs ? l->caprecs * 2 : 8;
    l->recs = xrealloc(l->recs, l->caprecs * sizeof *l->recs);
  }
  inject_rec *r = &l->recs[l->nrecs];
  memset(r, 0, sizeof *r);
  r->side = s->idx;
  r->id = sid;
  st->rec = (int)l->nrecs++;
  *id = sid;
  if (len == 0 && !fin) return MOQC_OK;
  return memlink_inject_write(l, to, sid, p, len, fin);
}

int memlink_inject_reset(memlink *l, moqc_transport *to, int64_t id, uint64_t code) {
  mside *s = NULL;
  if (injector(l, to) && side_closed(injector(l, to))) return MOQC_ERR_CLOSED;
  if (!hidden_stream(l, to, id, &s)) return MOQC_ERR_INVAL;
  return op_reset(&s->base, id, code);
}

int memlink_inject_state(memlink *l, moqc_transport *to, int64_t id, memlink_inject_info *out) {
  mside *s = injector(l, to);
  if (!s || !out) return MOQC_ERR_INVAL;
  for (size_t i = 0; i < l->nrecs; i++) {
    if (l->recs[i].side == s->idx && l->recs[i].id == id) {
      *out = l->recs[i].info;
      return MOQC_OK;
    }
  }
  return MOQC_ERR_NOT_FOUND;
}

const uint8_t *memlink_inject_received(memlink *l, moqc_transport *to, int64_t id, size_t *len) {
  mside *s = injector(l, to);
  *len = 0;
  if (!s) return NULL;
  for (size_t i = 0; i < l->nrecs; i++) {
    if (l->recs[i].side == s->idx && l->recs[i].id == id) {
      *len = l->recs[i].info.received;
      return l->recs[i].rx;
    }
  }
  return NULL;
}
