/* moqc session — stream table, receive buffering, stream-type dispatch,
 * parking, stream opening with credit waits, send helpers. */
#include <assert.h>
#include <string.h>

#include "core/mem.h"
#include "session/session_int.h"

/* ---- table ------------------------------------------------------------------ */

sstream *ss_find(moqc_session *s, int64_t id) {
  return moqc__imap_find(&s->streams, (uint64_t)id);
}

static void ss_destroy(sobj *o) {
  sstream *ss = (sstream *)(void *)o;
  moqc_free(ss->rbuf);
  moqc_free(ss);
}

sstream *ss_new(moqc_session *s, int64_t id, uint8_t kind, bool peer, void *owner) {
  sstream *ss = moqc_calloc(1, sizeof *ss);
  if (!ss) return NULL;
  ss->obj.destroy = ss_destroy;
  ss->s = s;
  ss->id = id;
  ss->kind = kind;
  ss->peer = peer;
  ss->bidi = !MOQC_STREAM_IS_UNI(id);
  ss->owner = owner;
  slist_init(&ss->park_link);
  if (!ss->bidi) {
    /* A uni stream has one half only. */
    if (peer) ss->send_done = true;
    else ss->recv_done = true;
  }
  if (moqc__imap_insert(&s->streams, (uint64_t)id, ss) < 0) {
    moqc_free(ss);
    return NULL;
  }
  ss->in_table = true;
  if (peer) s->peer_streams++;
  return ss;
}

void ss_forget(sstream *ss) {
  moqc_session *s = ss->s;
  if (ss->in_table) {
    sstream *was = moqc__imap_remove(&s->streams, (uint64_t)ss->id);
    assert(was == ss);
    (void)was;
    ss->in_table = false;
    if (ss->peer) s->peer_streams--;
  }
  if (slist_linked(&ss->park_link)) slist_remove(&ss->park_link);
  ss->parked = false;
  ss->owner = NULL;
  ss->kind = SK_DISCARD;
  sess_bury(s, &ss->obj);
}

void ss_maybe_forget(sstream *ss) {
  if (!ss->owner && ss->recv_done && ss->send_done && ss->in_table) ss_forget(ss);
}

void ss_release(sstream *ss) {
  ss->owner = NULL;
  ss->kind = SK_DISCARD;
  ss->rlen = ss->roff = 0;
  ss_maybe_forget(ss);
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

void ss_consume(sstream *ss, size_t n) {
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

int ss_hdr_parse(sstream *ss, const uint8_t *p, size_t len, size_t max, hdr_dec_fn fn, void *ctx,
                 size_t *used) {
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
      ss_consume(ss, (size_t)r);
    }
    return 1;
  }
  if (r != MOQC_ERR_NEED_MORE) return (int)r;
  if (take < len) return MOQC_ERR_DECODE;
  *used = take;
  return 0;
}

/* ---- send helpers ------------------------------------------------------------------ */

int ss_write_slices(sstream *ss, const moqc_slice *sl, size_t n, bool fin) {
  moqc_session *s = ss->s;
  if (ss->send_done || s->transport_closed) return MOQC_ERR_STATE;
  int rc = s->t->ops->write(s->t, ss->id, sl, n, fin);
  if (rc < 0 || fin) ss->send_done = true;
  if (rc == MOQC_OK && fin) ss->fin_sent = true;
  return rc;
}

int ss_write(sstream *ss, const uint8_t *p, size_t len, bool fin) {
  if (len == 0) return ss_write_slices(ss, NULL, 0, fin);
  uint8_t *w;
  moqc_buf *b = moqc_buf_alloc(len, &w);
  if (!b) return MOQC_ERR_NOMEM;
  memcpy(w, p, len);
  moqc_slice sl = {b, 0, len};
  int rc = ss_write_slices(ss, &sl, 1, fin);
  moqc_buf_unref(b);
  return rc;
}

int ss_write_wbuf(sstream *ss, wbuf *w, bool fin) {
  if (w->err) return w->err;
  return ss_write(ss, w->p, w->len, fin);
}

void ss_fin(sstream *ss) {
  if (!ss->send_done) (void)ss_write_slices(ss, NULL, 0, true);
}

void ss_reset(sstream *ss, uint64_t code) {
  moqc_session *s = ss->s;
  /* A RESET may follow our FIN (it releases what is still unacknowledged);
   * not after a RESET, nor once the peer stopped us. */
  if (ss->reset_sent || (ss->send_done && !ss->fin_sent)) return;
  ss->send_done = true;
  ss->reset_sent = true;
  if (!s->transport_closed) (void)s->t->ops->reset(s->t, ss->id, code);
}

void ss_stop(sstream *ss, uint64_t code) {
  moqc_session *s = ss->s;
  if (ss->recv_done) return;
  ss->recv_done = true;
  ss->fin_pending = false;
  if (!s->transport_closed) (void)s->t->ops->stop_sending(s->t, ss->id, code);
}

void ss_abort(sstream *ss, uint64_t code) {
  ss_reset(ss, code);
  ss_stop(ss, code);
}

/* ---- opening streams --------------------------------------------------------------- */

int sess_open(moqc_session *s, opener *op) {
  if (s->closing) return MOQC_ERR_CLOSED;
  if (slist_linked(&op->link)) return MOQC_ERR_AGAIN;
  slist *q = &s->pending_open[op->bidi ? 0 : 1];
  if (!slist_empty(q)) {
    /* Keep FIFO order behind earlier waiters of the same direction. */
    slist_push_back(q, &op->link);
    return MOQC_ERR_AGAIN;
  }
  int64_t id = -1;
  int rc = s->t->ops->open_stream(s->t, op->bidi, &id);
  if (rc == MOQC_ERR_AGAIN) {
    slist_push_back(q, &op->link);
    return rc;
  }
  if (rc < 0) return rc;
  s->stats.streams_opened++;
  op->opened(op, id);
  return MOQC_OK;
}

void sess_open_cancel(opener *op) {
  if (slist_linked(&op->link)) slist_remove(&op->link);
}

void sess_drain_pending_open(moqc_session *s) {
  for (int dir = 0; dir < 2; dir++) {
    slist *q = &s->pending_open[dir];
    while (!s->closing && !slist_empty(q)) {
      slist *n = q->next;
      opener *op = SLIST_ENTRY(n, opener, link);
      int64_t id = -1;
      int rc = s->t->ops->open_stream(s->t, op->bidi, &id);
      if (rc == MOQC_ERR_AGAIN) break;
      slist_remove(n);
      if (rc < 0) {
        if (op->failed) op->failed(op, rc);
        continue;
      }
      s->stats.streams_opened++;
      op->opened(op, id);
    }
  }
}

/* ---- dispatch ------------------------------------------------------------------------ */

static bool is_msg_kind(uint8_t k) {
  switch (k) {
    case SK_SETUP_IN:
    case SK_ANNOUNCE_IN:
    case SK_ANNOUNCE_OUT:
    case SK_SUBSCRIBE_IN:
    case SK_SUBSCRIBE_OUT:
    case SK_TRACK_IN:
    case SK_TRACK_OUT:
    case SK_FETCH_IN:
    case SK_PROBE_IN:
    case SK_PROBE_OUT:
    case SK_GOAWAY_IN:
      return true;
    default:
      return false;
  }
}

/* Consume buffered complete messages. */
static int ss_process(sstream *ss) {
  switch (ss->kind) {
    case SK_SETUP_IN: return setup_in_process(ss);
    case SK_ANNOUNCE_IN: return pa_process(ss);
    case SK_ANNOUNCE_OUT: return sa_process(ss);
    case SK_SUBSCRIBE_IN: return ps_process(ss);
    case SK_SUBSCRIBE_OUT: return rt_sub_process(ss);
    case SK_TRACK_IN: return pt_process(ss);
    case SK_TRACK_OUT: return rt_info_process(ss);
    case SK_FETCH_IN: return pf_process(ss);
    case SK_PROBE_IN:
    case SK_PROBE_OUT: return probe_in_process(ss);
    case SK_GOAWAY_IN: return goaway_process(ss);
    default: ss->rlen = ss->roff = 0; return MOQC_OK;
  }
}

/* The receive half ended: FIN (reset = false) or RESET / STOP / closed. */
static void ss_end(sstream *ss, bool reset, uint64_t code) {
  switch (ss->kind) {
    case SK_SETUP_IN:
      if (!reset) setup_in_fin(ss);
      else ss_release(ss);
      return;
    case SK_ANNOUNCE_IN: pa_end(ss, reset, code); return;
    case SK_ANNOUNCE_OUT: sa_end(ss, reset, code); return;
    case SK_SUBSCRIBE_IN: ps_end(ss, reset, code); return;
    case SK_SUBSCRIBE_OUT: rt_sub_end(ss, reset, code); return;
    case SK_TRACK_IN: pt_end(ss, reset, code); return;
    case SK_TRACK_OUT: rt_info_end(ss, reset, code); return;
    case SK_FETCH_IN: pf_end(ss, reset, code); return;
    case SK_FETCH_OUT: sf_end(ss, reset, code); return;
    case SK_PROBE_IN:
    case SK_PROBE_OUT: probe_end(ss, reset, code); return;
    case SK_GOAWAY_IN: goaway_end(ss, reset, code); return;
    case SK_GROUP_IN: gi_reset(ss, reset ? code : MOQC_CODE_CANCEL); return;
    case SK_GROUP_OUT:
      if (ss->owner) go_stream_gone(ss->owner, code);
      else ss_maybe_forget(ss);
      return;
    default:
      ss_maybe_forget(ss);
      return;
  }
}

static bool needs_park(moqc_session *s, uint8_t kind) {
  if (s->state != ST_RUNNING) return true;
  if (moqc_lite_is_05(s->version) && !s->peer_setup_seen &&
      (kind == SK_SUBSCRIBE_IN || kind == SK_TRACK_IN || kind == SK_FETCH_IN))
    return true;
  return false;
}

static void ss_reject(sstream *ss, uint64_t code) {
  ss->s->stats.streams_rejected++;
  ss_abort(ss, code);
  ss_release(ss);
}

static void feed(sstream *ss, const uint8_t *p, size_t len, bool fin);

static ssize_t dec_type(void *ctx, const uint8_t *p, size_t len) {
  return moqc_lite_stream_type_decode(ctx, p, len);
}

/* The stream type of a peer stream arrived: pick the kind. */
static void ss_typed(sstream *ss, uint64_t type) {
  moqc_session *s = ss->s;
  int v = s->version;
  if (!moqc_lite_is_known_stream_type(v, ss->bidi, type)) {
    ss_reject(ss, MOQC_CODE_UNEXPECTED_STREAM);
    return;
  }
  if (!ss->bidi) {
    if (type == MOQC_LITE_UNI_SETUP) {
      if (s->setup_in_seen) {
        sess_fail(s, MOQC_CODE_PROTOCOL_VIOLATION, "second SETUP stream", false);
        return;
      }
      s->setup_in_seen = true;
      ss->kind = SK_SETUP_IN;
      return;
    }
    /* A group needs a subscription: impossible before we run (the lite-05
     * server STOP_SENDINGs any uni stream racing ahead of the SETUP). */
    if (s->state != ST_RUNNING) {
      ss_reject(ss, MOQC_CODE_UNEXPECTED_STREAM);
      return;
    }
    ss->kind = SK_GROUP_IN;
    return;
  }
  switch (type) {
    case MOQC_LITE_BIDI_ANNOUNCE: ss->kind = SK_ANNOUNCE_IN; break;
    case MOQC_LITE_BIDI_SUBSCRIBE: ss->kind = SK_SUBSCRIBE_IN; break;
    case MOQC_LITE_BIDI_FETCH:
      /* moq-dev only serves FETCH on lite-05. */
      if (!moqc_lite_is_05(v)) {
        ss_reject(ss, MOQC_CODE_UNEXPECTED_STREAM);
        return;
      }
      ss->kind = SK_FETCH_IN;
      break;
    case MOQC_LITE_BIDI_PROBE: ss->kind = SK_PROBE_IN; break;
    case MOQC_LITE_BIDI_GOAWAY: ss->kind = SK_GOAWAY_IN; break;
    case MOQC_LITE_BIDI_TRACK: ss->kind = SK_TRACK_IN; break;
    default: ss_reject(ss, MOQC_CODE_UNEXPECTED_STREAM); return;
  }
  if (needs_park(s, ss->kind)) {
    ss->parked = true;
    slist_push_back(&s->parked, &ss->park_link);
  }
}

static void feed_msgs(sstream *ss, const uint8_t *p, size_t len, bool fin) {
  moqc_session *s = ss->s;
  bool processed = false;
  while (len > 0) {
    size_t room = SESS_RBUF_MAX - ss_len(ss);
    size_t take = len < room ? len : room;
    if (take == 0) {
      sess_fail(s, MOQC_CODE_DECODE, "message too large", false);
      return;
    }
    if (ss_append(ss, p, take) < 0) {
      sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
      return;
    }
    p += take;
    len -= take;
    if (ss->parked) continue;
    uint8_t kind = ss->kind;
    processed = true;
    (void)ss_process(ss);
    if (s->closing || ss->obj.dead) return;
    if (ss->kind != kind) {
      /* The owner let go: drop the rest. */
      feed(ss, p, len, fin);
      return;
    }
  }
  if (!processed && !ss->parked) {
    /* Some streams act on their type alone (PROBE). */
    uint8_t kind = ss->kind;
    (void)ss_process(ss);
    if (s->closing || ss->obj.dead) return;
    if (ss->kind != kind) {
      feed(ss, NULL, 0, fin);
      return;
    }
  }
  if (fin) {
    if (ss->parked) {
      ss->fin_pending = true;
      return;
    }
    ss->recv_done = true;
    ss_end(ss, false, 0);
  }
}

static void feed(sstream *ss, const uint8_t *p, size_t len, bool fin) {
  moqc_session *s = ss->s;
  switch (ss->kind) {
    case SK_UNKNOWN: {
      uint64_t type = 0;
      size_t used = 0;
      int r = ss_hdr_parse(ss, p, len, 8, dec_type, &type, &used);
      if (r == 0) {
        if (fin) {
          /* FIN before a stream type: nothing to do with it. */
          ss->recv_done = true;
          ss_reject(ss, MOQC_CODE_UNEXPECTED_STREAM);
        }
        return;
      }
      if (r < 0) {
        ss_reject(ss, MOQC_CODE_DECODE);
        return;
      }
      ss_typed(ss, type);
      if (s->closing || ss->obj.dead) return;
      feed(ss, p + used, len - used, fin);
      return;
    }
    case SK_DISCARD:
      if (fin) {
        ss->recv_done = true;
        ss_maybe_forget(ss);
      }
      return;
    case SK_GROUP_IN:
    case SK_FETCH_OUT:
      gi_data(ss, p, len, fin);
      return;
    default:
      if (is_msg_kind(ss->kind)) {
        feed_msgs(ss, p, len, fin);
        return;
      }
      /* Data on a stream that has no receive half for us: ignore. */
      (void)s;
      return;
  }
}

/* ---- handler entry points -------------------------------------------------------------- */

void ss_on_opened(moqc_session *s, int64_t id) {
  if (ss_find(s, id)) return;
  if (s->peer_streams >= s->lim.max_streams) {
    s->stats.streams_rejected++;
    s->stats.refused_streams++;
    if (!MOQC_STREAM_IS_UNI(id)) (void)s->t->ops->reset(s->t, id, MOQC_CODE_BOUNDS_EXCEEDED);
    (void)s->t->ops->stop_sending(s->t, id, MOQC_CODE_BOUNDS_EXCEEDED);
    return;
  }
  sstream *ss = ss_new(s, id, SK_UNKNOWN, true, NULL);
  if (!ss) {
    sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  s->stats.streams_accepted++;
}

void ss_on_data(moqc_session *s, int64_t id, const uint8_t *p, size_t len, bool fin) {
  sstream *ss = ss_find(s, id);
  if (!ss || ss->recv_done) return;
  if (!sess_ingress(s, len)) return;
  feed(ss, p, len, fin);
}

void ss_on_reset(moqc_session *s, int64_t id, uint64_t code) {
  sstream *ss = ss_find(s, id);
  if (!ss || ss->recv_done) return;
  ss->recv_done = true;
  ss->fin_pending = false;
  if (ss->parked || ss->kind == SK_UNKNOWN) {
    ss_reset(ss, MOQC_CODE_CANCEL);
    ss_release(ss);
    return;
  }
  ss_end(ss, true, code);
}

void ss_on_stop(moqc_session *s, int64_t id, uint64_t code) {
  sstream *ss = ss_find(s, id);
  if (!ss || ss->send_done) return;
  ss->send_done = true; /* the transport already reset our half */
  ss->reset_sent = true;
  if (ss->parked || ss->kind == SK_UNKNOWN) {
    ss_stop(ss, MOQC_CODE_CANCEL);
    ss_release(ss);
    return;
  }
  if (ss->kind == SK_DISCARD) {
    ss_maybe_forget(ss);
    return;
  }
  if (ss->kind == SK_GROUP_IN) return; /* no send half */
  ss_end(ss, true, code);
}

void ss_on_closed(moqc_session *s, int64_t id) {
  sstream *ss = ss_find(s, id);
  if (!ss) return;
  bool had_owner = ss->owner != NULL;
  ss->recv_done = ss->send_done = ss->reset_sent = true;
  if (had_owner && ss->kind != SK_DISCARD) ss_end(ss, true, MOQC_CODE_CANCEL);
  if (!ss->obj.dead) ss_forget(ss);
}

void sess_unpark(moqc_session *s) {
  SLIST_FOREACH_SAFE(it, nxt, &s->parked) {
    (void)nxt;
    if (s->closing) return;
    sstream *ss = SLIST_ENTRY(it, sstream, park_link);
    if (needs_park(s, ss->kind)) continue;
    slist_remove(&ss->park_link);
    ss->parked = false;
    uint8_t kind = ss->kind;
    (void)ss_process(ss);
    if (s->closing) return;
    if (!ss->obj.dead && ss->kind == kind && ss->fin_pending) {
      ss->fin_pending = false;
      ss->recv_done = true;
      ss_end(ss, false, 0);
    }
    /* The list may have changed under us: restart from the head. */
    nxt = s->parked.next;
  }
}
