/* moqc session — stream table, receive buffering, stream-type dispatch,
 * parking, stream opening with credit waits, send helpers. */
#include <assert.h>
#include <string.h>

#include "core/mem.h"
#include "session/session_int.h"

/* ---- table ------------------------------------------------------------------ */

sstream *moqc__ss_find(moqc_session *s, int64_t id) {
  return moqc__imap_find(&s->st.table, (uint64_t)id);
}

static void ss_destroy(sobj *o) {
  sstream *ss = (sstream *)(void *)o;
  moqc_free(ss->rbuf);
  moqc_free(ss);
}

sstream *moqc__ss_new(moqc_session *s, int64_t id, const moqc__stream_kind *kind, bool peer,
                      void *owner) {
  assert(kind && !moqc__ss_find(s, id)); /* one sstream per stream id */
  sstream *ss = moqc_calloc(1, sizeof *ss);
  if (!ss) return NULL;
  ss->obj.destroy = ss_destroy;
  ss->s = s;
  ss->id = id;
  ss->kind = kind;
  ss->peer = peer;
  ss->bidi = !MOQC_STREAM_IS_UNI(id);
  ss->owner = owner;
  moqc_link_init(&ss->park_link);
  if (!ss->bidi) {
    /* A uni stream has one half only. */
    if (peer) ss->tx = SS_TX_DONE;
    else ss->rx = SS_RX_DONE;
  }
  if (moqc__imap_insert(&s->st.table, (uint64_t)id, ss) < 0) {
    moqc_free(ss);
    return NULL;
  }
  ss->in_table = true;
  if (peer) s->st.n_peer++;
  return ss;
}

void moqc__ss_forget(sstream *ss) {
  moqc_session *s = ss->s;
  assert(!ss->in_table || moqc__ss_find(s, ss->id) == ss);
  if (ss->in_table) {
    sstream *was = moqc__imap_remove(&s->st.table, (uint64_t)ss->id);
    assert(was == ss);
    (void)was;
    ss->in_table = false;
    assert(!ss->peer || s->st.n_peer > 0);
    if (ss->peer) s->st.n_peer--;
  }
  if (ss_parked(ss)) moqc_list_remove(&ss->park_link);
  ss->owner = NULL;
  ss->kind = &moqc__sk_discard;
  moqc__sess_bury(s, &ss->obj);
}

void moqc__ss_maybe_forget(sstream *ss) {
  if (!ss->owner && ss_recv_done(ss) && ss_send_done(ss) && ss->in_table) moqc__ss_forget(ss);
}

void moqc__ss_release(sstream *ss) {
  ss->owner = NULL;
  ss->kind = &moqc__sk_discard;
  ss->rlen = ss->roff = 0;
  moqc__ss_maybe_forget(ss);
}

/* ---- receive buffer ------------------------------------------------------------ */

static int ss_append(sstream *ss, const uint8_t *p, size_t len) {
  if (len == 0) return MOQC_OK;
  if (ss->roff > 0 && ss->rlen + len > ss->rcap) {
    memmove(ss->rbuf, ss->rbuf + ss->roff, ss->rlen - ss->roff);
    ss->rlen -= ss->roff;
    ss->roff = 0;
  }
  if (ss->rlen + len > ss->rcap) {
    size_t cap = ss->rcap ? ss->rcap : 64;
    while (cap < ss->rlen + len) cap *= 2;
    uint8_t *b = moqc_realloc(ss->rbuf, cap);
    if (!b) return MOQC_ERR_NOMEM;
    ss->rbuf = b;
    ss->rcap = cap;
  }
  memcpy(ss->rbuf + ss->rlen, p, len);
  ss->rlen += len;
  return MOQC_OK;
}

void moqc__ss_consume(sstream *ss, size_t n) {
  ss->roff += n;
  if (ss->roff >= ss->rlen) {
    ss->roff = ss->rlen = 0;
    /* Give a big buffer back once it drained. */
    if (ss->rcap > 4096) {
      moqc_free(ss->rbuf);
      ss->rbuf = NULL;
      ss->rcap = 0;
    }
  }
}

int moqc__ss_hdr_parse(sstream *ss, const uint8_t *p, size_t len, size_t max, hdr_dec_fn fn,
                       void *ctx, size_t *used) {
  *used = 0;
  size_t old = ss_len(ss);
  if (old == 0) {
    ssize_t r = fn(ctx, p, len);
    if (r >= 0) {
      *used = (size_t)r;
      return 1;
    }
    if (r != MOQC_ERR_NEED_MORE) return (int)r;
    if (len > max) return MOQC_ERR_DECODE;
    int rc = ss_append(ss, p, len);
    if (rc < 0) return rc;
    *used = len;
    return 0;
  }
  size_t take = len;
  if (take > (max > old ? max - old : 0)) take = max > old ? max - old : 0;
  int rc = ss_append(ss, p, take);
  if (rc < 0) return rc;
  ssize_t r = fn(ctx, ss_data(ss), ss_len(ss));
  if (r >= 0) {
    if ((size_t)r >= old) {
      *used = (size_t)r - old;
      ss->rlen = ss->roff = 0;
    } else {
      ss->rlen -= take;
      moqc__ss_consume(ss, (size_t)r);
    }
    return 1;
  }
  if (r != MOQC_ERR_NEED_MORE) return (int)r;
  if (take < len) return MOQC_ERR_DECODE;
  *used = take;
  return 0;
}

/* ---- send helpers ------------------------------------------------------------------ */

int moqc__ss_write_slices(sstream *ss, const moqc_slice *sl, size_t n, bool fin) {
  moqc_session *s = ss->s;
  if (ss_send_done(ss) || s->transport_closed) return MOQC_ERR_STATE;
  int rc = s->t->ops->write(s->t, ss->id, sl, n, fin);
  if (fin && rc == MOQC_OK) ss_set_tx(ss, SS_TX_FIN);
  else if (rc < 0 || fin) ss_set_tx(ss, SS_TX_DONE); /* the stream is gone */
  return rc;
}

int moqc__ss_write(sstream *ss, const uint8_t *p, size_t len, bool fin) {
  if (len == 0) return moqc__ss_write_slices(ss, NULL, 0, fin);
  uint8_t *w;
  moqc_buf *b = moqc_buf_alloc(len, &w);
  if (!b) return MOQC_ERR_NOMEM;
  memcpy(w, p, len);
  moqc_slice sl = {b, 0, len};
  int rc = moqc__ss_write_slices(ss, &sl, 1, fin);
  moqc_buf_unref(b);
  return rc;
}

int moqc__ss_write_wbuf(sstream *ss, wbuf *w, bool fin) {
  if (w->err) return w->err;
  return moqc__ss_write(ss, w->p, w->len, fin);
}

void moqc__ss_fin(sstream *ss) {
  if (!ss_send_done(ss)) (void)moqc__ss_write_slices(ss, NULL, 0, true);
}

void moqc__ss_reset(sstream *ss, uint64_t code) {
  moqc_session *s = ss->s;
  /* A RESET may follow our FIN (it releases what is still unacknowledged);
   * not after a RESET, nor once the peer stopped us. */
  if (ss->tx == SS_TX_DONE) return;
  ss_set_tx(ss, SS_TX_DONE);
  if (!s->transport_closed) (void)s->t->ops->reset(s->t, ss->id, code);
}

void moqc__ss_stop(sstream *ss, uint64_t code) {
  moqc_session *s = ss->s;
  if (ss_recv_done(ss)) return;
  ss_set_rx(ss, SS_RX_DONE);
  if (!s->transport_closed) (void)s->t->ops->stop_sending(s->t, ss->id, code);
}

void moqc__ss_abort(sstream *ss, uint64_t code) {
  moqc__ss_reset(ss, code);
  moqc__ss_stop(ss, code);
}

/* ---- opening streams --------------------------------------------------------------- */

void moqc__sess_open(moqc_session *s, opener *op) {
  if (sess_closing(s) || moqc_link_linked(&op->link)) return;
  int dir = op->bidi ? 0 : 1;
  moqc_link *q = &s->st.pending_open[dir];
  /* An empty queue cannot be waiting for credit: try at the next drain. */
  if (moqc_list_empty(q)) s->st.open_blocked[dir] = false;
  moqc_list_push_back(q, &op->link);
}

void moqc__sess_open_cancel(opener *op) {
  if (moqc_link_linked(&op->link)) moqc_list_remove(&op->link);
}

void moqc__sess_drain_pending_open(moqc_session *s) {
  assert(s->depth > 0);
  for (int dir = 0; dir < 2; dir++) {
    moqc_link *q = &s->st.pending_open[dir];
    while (!sess_closing(s) && !s->st.open_blocked[dir] && !moqc_list_empty(q)) {
      moqc_link *n = q->next;
      opener *op = MOQC_CONTAINER_OF(n, opener, link);
      assert(op->bidi == (dir == 0));
      int64_t id = -1;
      int rc = s->t->ops->open_stream(s->t, op->bidi, &id);
      if (rc == MOQC_ERR_AGAIN) {
        s->st.open_blocked[dir] = true;
        break;
      }
      moqc_list_remove(n);
      if (rc < 0) {
        if (op->failed) op->failed(op, rc);
        continue;
      }
      assert(MOQC_STREAM_IS_UNI(id) == !op->bidi && !moqc__ss_find(s, id));
      s->stats.streams_opened++;
      op->opened(op, id);
    }
  }
  /* Out of uni credit: cap the groups waiting for it. */
  if (!sess_closing(s) && s->st.open_blocked[1]) moqc__serve_trim_pending(s);
}

/* ---- dispatch ------------------------------------------------------------------------ */

static void ss_end(sstream *ss, bool reset, uint64_t code) {
  assert(ss->kind && ss->kind->end);
  ss->kind->end(ss, reset, code);
}

/* Consume buffered complete messages (a kind without process(): drop them). */
static int ss_process(sstream *ss) {
  if (!ss->kind->process) {
    ss->rlen = ss->roff = 0;
    return MOQC_OK;
  }
  return ss->kind->process(ss);
}

static bool needs_park(moqc_session *s, const moqc__stream_kind *kind) {
  if (kind->never_park) return false;
  if (s->state != ST_RUNNING) return true;
  return kind->wait_peer_setup && moqc_lite_is_05(s->version) && !s->peer_setup_seen;
}

static void ss_reject(sstream *ss, uint64_t code) {
  ss->s->stats.streams_rejected++;
  moqc__ss_abort(ss, code);
  moqc__ss_release(ss);
}

static void feed(sstream *ss, const uint8_t *p, size_t len, bool fin);

/* The stream type of a peer stream arrived: pick the kind. */
static void ss_typed(sstream *ss, uint64_t type) {
  moqc_session *s = ss->s;
  uint64_t code = MOQC_CODE_UNEXPECTED_STREAM;
  const moqc__stream_kind *kind = s->proto->peer_kind(s, ss->bidi, type, &code);
  if (sess_closing(s)) return;
  if (!kind) {
    ss_reject(ss, code);
    return;
  }
  ss->kind = kind;
  /* Only bidi requests are parked: the SETUP is what a server waits for, and
   * group streams are rejected before RUNNING (above). */
  if (ss->bidi && needs_park(s, kind)) {
    moqc_list_push_back(&s->st.parked, &ss->park_link);
  }
}

static void feed_msgs(sstream *ss, const uint8_t *p, size_t len, bool fin) {
  moqc_session *s = ss->s;
  bool processed = false;
  while (len > 0) {
    size_t room = SESS_RBUF_MAX - ss_len(ss);
    size_t take = len < room ? len : room;
    if (take == 0) {
      moqc__sess_fail(s, MOQC_CODE_DECODE, "message too large", false);
      return;
    }
    if (ss_append(ss, p, take) < 0) {
      moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
      return;
    }
    p += take;
    len -= take;
    if (ss_parked(ss)) continue;
    const moqc__stream_kind *kind = ss->kind;
    processed = true;
    (void)ss_process(ss);
    if (sess_closing(s) || ss->obj.dead) return;
    if (ss->kind != kind) {
      /* The owner let go: drop the rest. */
      feed(ss, p, len, fin);
      return;
    }
  }
  if (!processed && !ss_parked(ss)) {
    /* Some streams act on their type alone (PROBE). */
    const moqc__stream_kind *kind = ss->kind;
    (void)ss_process(ss);
    if (sess_closing(s) || ss->obj.dead) return;
    if (ss->kind != kind) {
      feed(ss, NULL, 0, fin);
      return;
    }
  }
  if (fin) {
    if (ss_parked(ss)) {
      ss_set_rx(ss, SS_RX_FIN_PARKED);
      return;
    }
    ss_set_rx(ss, SS_RX_DONE);
    ss_end(ss, false, 0);
  }
}

/* moqc__sk_unknown: the stream type (the protocol's codec and kinds). */
static void unknown_data(sstream *ss, const uint8_t *p, size_t len, bool fin) {
  moqc_session *s = ss->s;
  uint64_t type = (uint64_t)s->version; /* in: the version (its varint); out: the type */
  size_t used = 0;
  int r = moqc__ss_hdr_parse(ss, p, len, 8, s->proto->stream_type_decode, &type, &used);
  if (r == 0) {
    if (fin) {
      /* FIN before a stream type: nothing to do with it. */
      ss_set_rx(ss, SS_RX_DONE);
      ss_reject(ss, MOQC_CODE_UNEXPECTED_STREAM);
    }
    return;
  }
  if (r < 0) {
    ss_reject(ss, MOQC_CODE_DECODE);
    return;
  }
  ss_typed(ss, type);
  if (sess_closing(s) || ss->obj.dead) return;
  feed(ss, p + used, len - used, fin);
}

/* A stream nobody wants yet (untyped, or parked) failed: answer in kind. */
static void abandon_end(sstream *ss, bool reset, uint64_t code) {
  (void)reset;
  (void)code;
  moqc__ss_abort(ss, MOQC_CODE_CANCEL); /* only the half still open */
  moqc__ss_release(ss);
}

static void discard_data(sstream *ss, const uint8_t *p, size_t len, bool fin) {
  (void)p;
  (void)len;
  if (fin) {
    ss_set_rx(ss, SS_RX_DONE);
    moqc__ss_maybe_forget(ss);
  }
}

void moqc__ss_end_forget(sstream *ss, bool reset, uint64_t code) {
  (void)reset;
  (void)code;
  moqc__ss_maybe_forget(ss);
}

const moqc__stream_kind moqc__sk_unknown = {
    .name = "unknown", .data = unknown_data, .end = abandon_end};
const moqc__stream_kind moqc__sk_discard = {
    .name = "discard", .data = discard_data, .end = moqc__ss_end_forget};

static void feed(sstream *ss, const uint8_t *p, size_t len, bool fin) {
  const moqc__stream_kind *k = ss->kind;
  if (k->data) k->data(ss, p, len, fin);
  else if (k->process) feed_msgs(ss, p, len, fin);
  /* else: data on a stream that has no receive half for us: ignore. */
}

/* ---- handler entry points -------------------------------------------------------------- */

void moqc__ss_on_opened(moqc_session *s, int64_t id) {
  if (moqc__ss_find(s, id)) return;
  if (s->st.n_peer >= s->lim.max_streams) {
    s->stats.streams_rejected++;
    s->stats.refused_streams++;
    if (!MOQC_STREAM_IS_UNI(id)) (void)s->t->ops->reset(s->t, id, MOQC_CODE_BOUNDS_EXCEEDED);
    (void)s->t->ops->stop_sending(s->t, id, MOQC_CODE_BOUNDS_EXCEEDED);
    return;
  }
  sstream *ss = moqc__ss_new(s, id, &moqc__sk_unknown, true, NULL);
  if (!ss) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  s->stats.streams_accepted++;
}

void moqc__ss_on_data(moqc_session *s, int64_t id, const uint8_t *p, size_t len, bool fin) {
  sstream *ss = moqc__ss_find(s, id);
  if (!ss || ss->rx != SS_RX_OPEN) return;
  assert(ss->in_table && !ss->obj.dead && ss->kind);
  if (!moqc__sess_ingress(s, len)) return;
  feed(ss, p, len, fin);
}

void moqc__ss_on_reset(moqc_session *s, int64_t id, uint64_t code) {
  sstream *ss = moqc__ss_find(s, id);
  if (!ss || ss_recv_done(ss)) return;
  ss_set_rx(ss, SS_RX_DONE); /* a FIN still parked is overtaken */
  if (ss_parked(ss)) {
    abandon_end(ss, true, code);
    return;
  }
  ss_end(ss, true, code);
}

void moqc__ss_on_stop(moqc_session *s, int64_t id, uint64_t code) {
  sstream *ss = moqc__ss_find(s, id);
  if (!ss || ss_send_done(ss)) return;
  ss_set_tx(ss, SS_TX_DONE); /* the transport already reset our half */
  /* A peer uni stream has no send half: SS_TX_DONE from the start. */
  assert(ss->bidi || !ss->peer);
  if (ss_parked(ss)) {
    abandon_end(ss, true, code);
    return;
  }
  /* Our own request ends with the responder's FIN or RESET_STREAM, not with a
   * STOP_SENDING on our half (@moq/net publishers stop reading a SUBSCRIBE
   * stream once they have the request; over QMux that arrives at once, while
   * ngtcp2 0.12 reports it only when the stream closes). */
  if (ss->kind->request_out && !ss_recv_done(ss)) return;
  ss_end(ss, true, code);
}

void moqc__ss_on_closed(moqc_session *s, int64_t id) {
  sstream *ss = moqc__ss_find(s, id);
  if (!ss) return;
  bool had_owner = ss->owner != NULL;
  ss_set_rx(ss, SS_RX_DONE);
  ss_set_tx(ss, SS_TX_DONE);
  if (had_owner) {
    assert(ss->kind != &moqc__sk_discard);
    ss_end(ss, true, MOQC_CODE_CANCEL);
  }
  if (!ss->obj.dead) moqc__ss_forget(ss);
}

void moqc__sess_unpark(moqc_session *s) {
  MOQC_LIST_FOREACH_SAFE_DECL(it, nxt, &s->st.parked) {
    (void)nxt;
    if (sess_closing(s)) return;
    sstream *ss = MOQC_CONTAINER_OF(it, sstream, park_link);
    assert(ss->in_table && ss->bidi);
    if (needs_park(s, ss->kind)) continue;
    moqc_list_remove(&ss->park_link);
    const moqc__stream_kind *kind = ss->kind;
    (void)ss_process(ss);
    if (sess_closing(s)) return;
    if (!ss->obj.dead && ss->kind == kind && ss->rx == SS_RX_FIN_PARKED) {
      ss_set_rx(ss, SS_RX_DONE);
      ss_end(ss, false, 0);
    }
    /* The list may have changed under us: restart from the head. */
    nxt = s->st.parked.next;
  }
}
