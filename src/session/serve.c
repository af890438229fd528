/* moqc session — the publisher side of SUBSCRIBE: serving a track of the
 * publish origin to the peer, one uni stream per group (lite-05: a small
 * datagram-flagged group as one DATAGRAM instead, when the transport has them).
 *
 * A group stream is the per-subscriber header (stream type, GROUP, each
 * frame's header) plus the payload: chunks over 512 bytes are the model's
 * slices handed straight to transport->ops->write (zero copy), smaller ones
 * are copied next to their headers, one write per pump (see go_batch).
 * Groups are served in arrival order; the stream
 * priority is {subscriber priority, group order}: newest group first, or
 * oldest first when the subscription is `ordered`.
 *
 * A group is "in flight" until the transport holds none of its bytes. In-flight
 * groups that are not their subscription's newest are reset with Old when
 * their oldest unacknowledged byte is older than the subscription's max
 * latency (a group still flowing is never stale, however long it lasts), or,
 * oldest first, when the transport's backlog (bytes not yet sent) exceeds the
 * session's max_queued_bytes. Every Old reset is reported to cfg.on_debug
 * with its trigger and numbers. */
#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "core/mem.h"
#include "session/session_int.h"

static void ps_maybe_fin(pub_sub *ps);
static void ps_destroy(pub_sub *ps);
static int ps_process(sstream *ss);
static void ps_end(sstream *ss, bool reset, uint64_t code);

const moqc__stream_kind moqc__sk_subscribe_in = {
    .name = "subscribe-in", .process = ps_process, .end = ps_end, .wait_peer_setup = true};

/* ---- group streams ---------------------------------------------------------------- */

static void go_free(sobj *o) { moqc_free(o); }

static void go_destroy(group_out *go) {
  moqc_session *s = go->s;
  if (go->opening) {
    moqc__sess_open_cancel(&go->op);
    go->opening = false;
    assert(!go->ps || go->ps->n_pending > 0);
    if (go->ps) go->ps->n_pending--;
  }
  if (go->gc) moqc_group_consumer_del(go->gc);
  go->gc = NULL;
  if (moqc_link_linked(&go->link)) {
    moqc_list_remove(&go->link);
    assert(!go->ps || go->ps->n_groups > 0);
    if (go->ps) go->ps->n_groups--;
  }
  if (moqc_link_linked(&go->inflight)) moqc_list_remove(&go->inflight);
  if (go->ss && go->ps) {
    sstream *ss = go->ss;
    moqc__ss_release(ss);
  }
  go->ss = NULL;
  moqc__sess_bury(s, &go->obj);
}

group_out *moqc__go_new(moqc_session *s, moqc_group_consumer *gc) {
  group_out *go = moqc_calloc(1, sizeof *go);
  if (!go) return NULL;
  go->obj.destroy = go_free;
  go->s = s;
  go->gc = gc;
  go->seq = moqc_group_consumer_sequence(gc);
  go->created_ns = moqc_group_consumer_created_ns(gc);
  moqc_link_init(&go->link);
  moqc_link_init(&go->inflight);
  moqc_link_init(&go->op.link);
  return go;
}

/* The FIN is written. */
static void go_after(group_out *go) {
  if (go->pf) {
    pub_fetch *pf = go->pf;
    go->pf = NULL;
    go_destroy(go);
    moqc__pf_group_done(pf, true, MOQC_CODE_CANCEL);
    return;
  }
  if (go->ps && !go->ps->obj.dead) ps_maybe_fin(go->ps);
}

static void go_reset(group_out *go, uint64_t code) {
  moqc_session *s = go->s;
  if (code == MOQC_CODE_OLD) s->stats.groups_reset_old++;
  go->done = true;
  if (go->pf) {
    pub_fetch *pf = go->pf;
    go->pf = NULL;
    go_destroy(go);
    moqc__pf_group_done(pf, false, code);
    return;
  }
  if (go->ss) moqc__ss_reset(go->ss, code);
  pub_sub *ps = go->ps;
  go_destroy(go);
  if (ps && !ps->obj.dead) ps_maybe_fin(ps);
}

void moqc__go_cancel(group_out *go, uint64_t code) {
  if (go->ss && !go->fin_sent) moqc__ss_reset(go->ss, code);
  go->done = true;
  go_destroy(go);
}

static void go_stream_gone(group_out *go, uint64_t code) {
  (void)code;
  go->done = true;
  pub_sub *ps = go->ps;
  go_destroy(go);
  if (ps && !ps->obj.dead) ps_maybe_fin(ps);
}

/* Our group stream (uni: nothing to receive) ended: STOP_SENDING, or the
 * transport forgot it. */
static void go_end(sstream *ss, bool reset, uint64_t code) {
  (void)reset;
  if (ss->owner) go_stream_gone(ss->owner, code);
  else moqc__ss_maybe_forget(ss);
}

const moqc__stream_kind moqc__sk_group_out = {.name = "group-out", .end = go_end};

/* ---- batched writes --------------------------------------------------------------
 * One moqc__go_pump call gathers everything it can write into ONE transport write:
 * headers and small payload chunks (up to GO_COPY_MAX bytes) are copied into a
 * staging area, which becomes one slice per write (cut from the session's write
 * arena, sess_pub.arena); larger chunks go out as the model's own slices (zero
 * copy). The FIN rides on the last write when the
 * group is complete. A 100-byte frame then costs a memcpy instead of a header
 * buf of its own, two queued slices and two refcount round trips on ACK. */

#define GO_COPY_MAX 512u /* payload chunks up to this are copied */
#define GO_ARENA 8192u   /* bytes of the buf sealed stages are cut from (sess_pub.arena) */
_Static_assert(GO_ARENA >= GO_STAGE, "a full stage fits a fresh arena");

void moqc__gb_init(go_batch *b, moqc_session *s, sstream *ss, uint64_t *wr_bytes) {
  assert(s && ss && wr_bytes);
  b->s = s;
  b->ss = ss;
  b->wr_bytes = wr_bytes;
  b->slen = 0;
  b->n = 0;
  b->bytes = 0;
}

void moqc__gb_drop(go_batch *b) {
  for (size_t i = 0; i < b->n; i++) moqc_slice_release(&b->sl[i]);
  b->slen = 0;
  b->n = 0;
  b->bytes = 0;
}

void moqc__serve_drop_arena(moqc_session *s) {
  moqc_buf_unref(s->pub.arena);
  s->pub.arena = NULL;
  s->pub.arena_w = NULL;
  s->pub.arena_used = 0;
}

/* Turn the staged bytes into a slice of the session's arena (a new one when
 * the rest of the current one is too short). Bytes once handed out are never
 * written again; the arena is freed when its last slice is released. */
static int gb_seal(go_batch *b) {
  if (b->slen == 0) return MOQC_OK;
  moqc_session *s = b->s;
  sess_pub *p = &s->pub;
  if (!p->arena || GO_ARENA - p->arena_used < b->slen) {
    moqc__serve_drop_arena(s);
    p->arena = moqc_buf_alloc(GO_ARENA, &p->arena_w);
    if (!p->arena) return MOQC_ERR_NOMEM;
  }
  assert(b->slen <= GO_ARENA - p->arena_used);
  memcpy(p->arena_w + p->arena_used, b->stage, b->slen);
  b->sl[b->n++] = (moqc_slice){moqc_buf_ref(p->arena), p->arena_used, b->slen};
  p->arena_used += b->slen;
  b->slen = 0;
  return MOQC_OK;
}

/* Write the batch (and the FIN if fin). The stream is gone on error. */
int moqc__gb_flush(go_batch *b, bool fin) {
  int rc = gb_seal(b);
  if (rc == MOQC_OK && (b->n > 0 || fin)) {
    rc = moqc__ss_write_slices(b->ss, b->sl, b->n, fin);
    if (rc >= 0) *b->wr_bytes += b->bytes;
  }
  moqc__gb_drop(b);
  return rc;
}

int moqc__gb_bytes(go_batch *b, const uint8_t *p, size_t n) {
  assert(n <= GO_STAGE);
  if (b->slen + n > GO_STAGE || (b->slen == 0 && b->n == GO_SLICES)) {
    int rc = moqc__gb_flush(b, false);
    if (rc < 0) return rc;
  }
  memcpy(b->stage + b->slen, p, n);
  b->slen += n;
  b->bytes += n;
  return MOQC_OK;
}

int moqc__gb_slice(go_batch *b, moqc_slice *sl) {
  if (sl->len <= GO_COPY_MAX) {
    int rc = sl->len ? moqc__gb_bytes(b, moqc_slice_ptr(sl), sl->len) : MOQC_OK;
    moqc_slice_release(sl);
    return rc;
  }
  /* Room for the sealed stage and this slice. */
  if (b->n + (b->slen ? 2u : 1u) > GO_SLICES) {
    int rc = moqc__gb_flush(b, false);
    if (rc < 0) {
      moqc_slice_release(sl);
      return rc;
    }
  }
  int rc = gb_seal(b);
  if (rc < 0) {
    moqc_slice_release(sl);
    return rc;
  }
  b->sl[b->n++] = *sl;
  b->bytes += sl->len;
  *sl = MOQC_SLICE_EMPTY;
  return MOQC_OK;
}

/* Send order of a group's stream: newest first, or oldest first for an
 * ordered subscription (lite SUBSCRIBE Ordered = 1). Without this an ordered
 * subscriber's older groups starve behind newer ones on a saturated link and
 * end up reset as Old although it reads everything in time. */
static moqc_stream_prio go_prio(const pub_sub *ps, uint64_t seq) {
  moqc_stream_prio prio = {.priority = ps->sub.priority,
                           .order = ps->sub.ordered ? UINT64_MAX - seq : seq};
  return prio;
}

static uint64_t go_err_code(group_out *go, int rc) {
  uint64_t code = moqc_group_consumer_code(go->gc);
  if (code == MOQC_CODE_CANCEL && rc != MOQC_ERR_CANCEL) code = moqc_code_from_err(rc);
  return code;
}

/* Send what the batch already holds (frames before the failure), then reset
 * the stream with code. */
static void go_flush_reset(group_out *go, go_batch *b, uint64_t code) {
  if (moqc__gb_flush(b, false) < 0) {
    go_stream_gone(go, MOQC_CODE_CANCEL);
    return;
  }
  go_reset(go, code);
}

/* Write what the group has (after `pre`, the stream's own header when it was
 * just opened) in one transport write; FIN when the group is complete. */
static void go_pump_pre(group_out *go, const uint8_t *pre, size_t pre_len) {
  moqc_session *s = go->s;
  go_batch b;
  if (!go->ss) return;
  moqc__gb_init(&b, s, go->ss, &go->wr_bytes);
  if (pre_len && moqc__gb_bytes(&b, pre, pre_len) < 0) {
    go_stream_gone(go, MOQC_CODE_CANCEL);
    return;
  }
  while (!go->done && !go->obj.dead && !sess_closing(s) && go->ss) {
    int rc;
    if (!go->in_frame) {
      moqc_frame_info fi;
      rc = moqc_group_consumer_next_frame(go->gc, &fi);
      if (rc == MOQC_ERR_AGAIN) break;
      if (rc == MOQC_ERR_CLOSED) {
        go->fin_sent = true;
        go->done = true;
        (void)moqc__gb_flush(&b, true); /* an error: the stream is gone anyway */
        if (go->ps) s->stats.groups_sent++;
        moqc_group_consumer_del(go->gc);
        go->gc = NULL;
        go_after(go);
        return;
      }
      if (rc < 0) {
        go_flush_reset(go, &b, go_err_code(go, rc));
        return;
      }
      uint8_t hdr[MOQC_LITE_FRAME_HDR_MAX];
      ssize_t n = moqc__lite_frame_hdr(hdr, s->version, go->prev_ts, fi.timestamp, fi.size);
      if (n <= 0) {
        go_flush_reset(
            go, &b, n == MOQC_ERR_INVAL ? MOQC_CODE_FRAME_TOO_LARGE : MOQC_CODE_TIMESTAMP_MISMATCH);
        return;
      }
      go->prev_ts = fi.timestamp;
      go->in_frame = true;
      rc = moqc__gb_bytes(&b, hdr, (size_t)n);
    } else {
      moqc_slice sl;
      rc = moqc_group_consumer_read_chunk(go->gc, &sl);
      if (rc == MOQC_ERR_AGAIN) break;
      if (rc == MOQC_ERR_CLOSED) {
        go->in_frame = false;
        continue;
      }
      if (rc < 0) {
        go_flush_reset(go, &b, go_err_code(go, rc));
        return;
      }
      rc = moqc__gb_slice(&b, &sl);
    }
    if (rc < 0) {
      moqc__gb_drop(&b);
      go_stream_gone(go, MOQC_CODE_CANCEL);
      return;
    }
  }
  if (go->done || go->obj.dead || sess_closing(s) || !go->ss) {
    moqc__gb_drop(&b);
    return;
  }
  if (moqc__gb_flush(&b, false) < 0) go_stream_gone(go, MOQC_CODE_CANCEL);
}

void moqc__go_pump(group_out *go) { go_pump_pre(go, NULL, 0); }

static void go_wake(void *arg) {
  group_out *go = arg;
  moqc_session *s = go->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !go->obj.dead) moqc__go_pump(go);
  moqc__sess_exit(s);
}

static void go_opened(opener *op, int64_t id) {
  group_out *go = MOQC_CONTAINER_OF(op, group_out, op);
  moqc_session *s = go->s;
  pub_sub *ps = go->ps;
  assert(go->opening && ps->n_pending > 0);
  go->opening = false;
  ps->n_pending--;
  go->ss = moqc__ss_new(s, id, &moqc__sk_group_out, false, go);
  if (!go->ss) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  moqc_stream_prio prio = go_prio(ps, go->seq);
  (void)s->t->ops->set_priority(s->t, id, &prio);
  uint8_t hdr[MOQC_LITE_GROUP_HDR_MAX];
  ssize_t n = moqc__lite_group_hdr(hdr, ps->id, go->seq);
  if (n <= 0) {
    go_reset(go, MOQC_CODE_ENCODE);
    return;
  }
  size_t off = (size_t)n;
  go->ck_off = off;
  go->ck_ns = moqc__sess_now(s);
  moqc_group_consumer_set_waker(go->gc, go_wake, go);
  go_pump_pre(go, hdr, off); /* the header goes out with the first frames */
}

static void go_open_failed(opener *op, int err) {
  group_out *go = MOQC_CONTAINER_OF(op, group_out, op);
  (void)err;
  assert(go->opening && go->ps->n_pending > 0);
  go->opening = false;
  go->ps->n_pending--;
  go_reset(go, MOQC_CODE_CANCEL);
}

/* FETCH: the group goes on the FETCH stream itself (bare frames). */
void moqc__go_start_fetch(group_out *go, sstream *ss, uint8_t priority) {
  moqc_session *s = go->s;
  go->ss = ss;
  moqc_stream_prio prio = {.priority = priority, .order = go->seq};
  (void)s->t->ops->set_priority(s->t, ss->id, &prio);
  moqc_group_consumer_set_waker(go->gc, go_wake, go);
  moqc__go_pump(go);
}

/* ---- subscriptions ---------------------------------------------------------------- */

static void ps_free(sobj *o) { moqc_free(o); }

static uint64_t ps_latency_ns(const pub_sub *ps) { return ps->latency_ms * 1000000ull; }

/* Bytes of go's stream not acknowledged yet. */
static size_t go_unacked(const group_out *go) {
  moqc_session *s = go->s;
  return go->ss ? s->t->ops->queued(s->t, go->ss->id) : 0;
}

/* How long go's oldest unacknowledged byte has been waiting, at least (0 when
 * everything written is acknowledged). Checkpoints, not per-byte times: every
 * byte below ck_off was written at or before ck_ns; once the peer has
 * acknowledged past ck_off a new checkpoint (all bytes written so far, now)
 * is taken. So a group whose bytes keep being acknowledged is never stale
 * however long it lasts, while bytes stuck behind newer groups or a slow link
 * age from the moment they were written (detected up to one check late). A
 * group still waiting for stream credit has had data waiting since it was
 * created. */
uint64_t moqc__serve_stale_ns(moqc_session *s, const sstream *ss, bool opening, uint64_t created_ns,
                              uint64_t wr_bytes, uint64_t *ck_off, uint64_t *ck_ns, uint64_t now) {
  if (opening || !ss) return now > created_ns ? now - created_ns : 0;
  size_t q = s->t->ops->queued(s->t, ss->id);
  uint64_t acked = q >= wr_bytes ? 0 : wr_bytes - q;
  if (acked >= *ck_off) {
    *ck_off = wr_bytes;
    *ck_ns = now;
  }
  if (acked >= *ck_off) return 0;
  return now > *ck_ns ? now - *ck_ns : 0;
}

static uint64_t go_stale_ns(group_out *go, uint64_t now) {
  return moqc__serve_stale_ns(go->s, go->ss, go->opening, go->created_ns, go->wr_bytes, &go->ck_off,
                              &go->ck_ns, now);
}

/* Reset in-flight groups of ps whose undelivered data is older than the max
 * latency (never the newest group). */
static void ps_expire(pub_sub *ps) {
  moqc_session *s = ps->ss ? ps->ss->s : NULL;
  if (!s) return;
  uint64_t now = moqc__sess_now(s);
  MOQC_LIST_FOREACH_SAFE_DECL(it, nxt, &ps->groups) {
    (void)nxt;
    group_out *go = MOQC_CONTAINER_OF(it, group_out, link);
    uint64_t stale = go_stale_ns(go, now); /* also advances the checkpoint */
    if (go->seq == ps->latest_seq || stale <= ps_latency_ns(ps)) continue;
    if (sess_debug_on(s))
      moqc__sess_debug(s,
                       "subscription %" PRIu64 " group %" PRIu64
                       " %s as Old: expired (oldest "
                       "undelivered byte %" PRIu64 " ms old > max latency %" PRIu64
                       " ms; newest "
                       "group %" PRIu64 "; this group: %zu bytes unacked of %" PRIu64
                       " written, created %" PRIu64 " ms ago)",
                       ps->id, go->seq, go->opening ? "skipped" : "reset", stale / 1000000,
                       ps->latency_ms, ps->latest_seq, go_unacked(go), go->wr_bytes,
                       (now - go->created_ns) / 1000000);
    if (go->opening) {
      go_destroy(go); /* never hit the wire */
      continue;
    }
    go_reset(go, MOQC_CODE_OLD);
    if (sess_closing(s) || ps->obj.dead) return;
    nxt = ps->groups.next; /* restart: the list may have changed */
  }
}

/* Bytes waiting to be sent on the connection. Bytes already in flight are not
 * a sign of a slow subscriber (on a fast path they are the whole congestion
 * window), so prefer the transport's backlog; fall back to its unacked count. */
size_t moqc__serve_backlog(moqc_session *s) {
  if (s->t->ops->backlog) return s->t->ops->backlog(s->t);
  return s->t->ops->queued(s->t, -1);
}

/* Slow subscriber: while the connection's backlog is over the cap, reset the
 * oldest in-flight group that is not its subscription's newest. */
static void serve_slow_check(moqc_session *s) {
  size_t cap = s->lim.max_queued_bytes;
  while (!sess_closing(s) && moqc__serve_backlog(s) > cap) {
    group_out *victim = NULL;
    for (moqc_link *it = s->pub.inflight.next; it != &s->pub.inflight; it = it->next) {
      group_out *go = MOQC_CONTAINER_OF(it, group_out, inflight);
      if (!go->ps || !go->ss || go->seq == go->ps->latest_seq) continue;
      victim = go;
      break;
    }
    if (!victim) return;
    if (sess_debug_on(s))
      moqc__sess_debug(s,
                       "subscription %" PRIu64 " group %" PRIu64
                       " reset as Old: slow subscriber "
                       "(connection backlog %zu bytes > max_queued_bytes %zu; %zu unacked; newest "
                       "group %" PRIu64 "; this group: %zu bytes unacked, created %" PRIu64
                       " ms ago)",
                       victim->ps->id, victim->seq, moqc__serve_backlog(s), cap,
                       s->t->ops->queued(s->t, -1), victim->ps->latest_seq, go_unacked(victim),
                       (moqc__sess_now(s) - victim->created_ns) / 1000000);
    if (victim->fin_sent) {
      /* Written but not delivered: reset to free the queue. */
      s->stats.groups_reset_old++;
      moqc__ss_reset(victim->ss, MOQC_CODE_OLD);
      go_destroy(victim);
    } else {
      go_reset(victim, MOQC_CODE_OLD);
    }
  }
}

/* Written completely and acknowledged completely (the transport's
 * stream_acked event; a group stream the transport closed is gone at once). */
static bool go_delivered(const group_out *go) { return go->fin_sent && (!go->ss || go->acked); }

/* Only in-flight groups that are not their subscription's newest are ever
 * reset (by age or by the queued-bytes cap); the newest one becomes
 * expirable when a newer group arrives, which arms the tick itself. */
bool moqc__serve_can_expire(const moqc_session *s) {
  for (const moqc_link *it = s->pub.inflight.next; it != &s->pub.inflight; it = it->next) {
    const group_out *go = MOQC_CONTAINER_OF(it, group_out, inflight);
    if (go->ps && go->seq != go->ps->latest_seq) return true;
  }
  return s->proto->can_expire && s->proto->can_expire(s);
}

void moqc__serve_tick(moqc_session *s) {
  MOQC_LIST_FOREACH_SAFE_DECL(it, nxt, &s->pub.subs) {
    pub_sub *ps = MOQC_CONTAINER_OF(it, pub_sub, link);
    (void)nxt;
    ps_expire(ps);
    if (sess_closing(s)) return;
  }
  if (s->proto->expire) {
    s->proto->expire(s);
    if (sess_closing(s)) return;
  }
  serve_slow_check(s);
  moqc__sess_tick_arm(s);
}

/* Tell the user that every group ps has sent so far is acknowledged. */
static void ps_delivered(pub_sub *ps) {
  moqc_session *s = ps->ss->s;
  if (!s->ev.delivered) return;
  moqc_session_delivery d = {
      .subscribe_id = ps->id,
      .track = ps->tc ? moqc_track_consumer_name(ps->tc) : "",
      .groups_acked = ps->groups_acked,
      .track_done = ps->track_done,
  };
  s->ev.delivered(s->ev_ctx, s, &d);
}

void moqc__serve_on_acked(moqc_session *s, int64_t id) {
  sstream *ss = moqc__ss_find(s, id);
  if (ss && ss->owner && ss->kind->acked) {
    ss->kind->acked(ss);
    return;
  }
  if (!ss || ss->kind != &moqc__sk_group_out || !ss->owner) return;
  group_out *go = ss->owner;
  assert(go->ss == ss && go->fin_sent && !go->acked);
  go->acked = true;
  pub_sub *ps = go->ps;
  if (!ps) return; /* a FETCH group leaves at its FIN */
  ps->groups_acked++;
  go_destroy(go); /* leaves the in-flight list: delivered */
  if (moqc_list_empty(&s->pub.inflight)) moqc__serve_drop_arena(s);
  if (ps->obj.dead) return;
  ps_maybe_fin(ps);
  if (!sess_closing(s) && !ps->obj.dead && moqc_list_empty(&ps->groups)) ps_delivered(ps);
}

/* lite-05: a datagram-flagged group, complete with exactly one frame, goes out
 * as one DATAGRAM (sub id, sequence, absolute timestamp, payload) when the
 * transport has datagrams and the encoding fits max_datagram() and 1200
 * bytes. Read through a clone of the consumer, so on false (send it as a
 * group stream) nothing was consumed. Unreliable by design: no retransmit,
 * no in-flight accounting. */
static bool ps_send_datagram(pub_sub *ps, moqc_group_consumer *gc) {
  moqc_session *s = ps->ss->s;
  if (!moqc_lite_is_05(s->version) || !moqc_group_consumer_is_datagram(gc)) return false;
  if (!moqc_group_consumer_is_done(gc) || moqc_group_consumer_frames_available(gc) != 1)
    return false;
  if (!s->t->ops->max_datagram || !s->t->ops->send_datagram) return false;
  size_t cap = s->t->ops->max_datagram(s->t);
  if (cap > SESS_DATAGRAM_MAX) cap = SESS_DATAGRAM_MAX;
  if (cap == 0) return false;
  moqc_group_consumer *peek = moqc_group_consumer_clone(gc);
  if (!peek) return false;
  moqc_frame f;
  int rc = moqc_group_consumer_read_frame(peek, &f);
  moqc_group_consumer_del(peek);
  if (rc != MOQC_OK) return false;
  uint8_t buf[SESS_DATAGRAM_MAX];
  struct moqc_lite_datagram d = {
      .subscribe = ps->id,
      .sequence = moqc_group_consumer_sequence(gc),
      .timestamp = f.info.timestamp,
      .payload = {moqc_slice_ptr(&f.payload), f.payload.len},
  };
  ssize_t n = moqc_lite_datagram_encode(buf, cap, s->version, &d);
  moqc_slice_release(&f.payload);
  if (n < 0) return false;
  if (s->t->ops->send_datagram(s->t, buf, (size_t)n) != MOQC_OK) return false;
  s->stats.datagrams_sent++;
  return true;
}

/* Too many groups waiting for stream credit: skip the oldest ones (they never
 * hit the wire). Only while the transport is out of uni credit: a group
 * queued in a pass with credit opens at the end of that pass. */
static void ps_trim_pending(pub_sub *ps) {
  moqc_session *s = ps->ss->s;
  while (ps->n_pending > s->lim.max_pending_groups) {
    group_out *old = NULL;
    for (moqc_link *it = ps->groups.next; it != &ps->groups; it = it->next) {
      group_out *g = MOQC_CONTAINER_OF(it, group_out, link);
      if (g->opening) {
        old = g;
        break;
      }
    }
    assert(old); /* n_pending counts the opening groups of ps */
    if (!old) break;
    go_destroy(old);
  }
}

static void ps_new_group(pub_sub *ps, moqc_group_consumer *gc) {
  moqc_session *s = ps->ss->s;
  uint64_t seq = moqc_group_consumer_sequence(gc);
  if (moqc_lite_is_05(s->version) && !ps->start_sent) {
    ps->start_sent = true;
    struct moqc_lite_subscribe_resp r = {.kind = MOQC_LITE_SUBSCRIBE_START};
    r.u.group = seq;
    wbuf w;
    moqc__wbuf_init(&w);
    WBUF_ENC(&w, moqc_lite_subscribe_resp_encode, s->version, &r);
    (void)moqc__ss_write_wbuf(ps->ss, &w, false);
    moqc__wbuf_free(&w);
  }
  if (ps->latest_seq == MOQC_GROUP_NONE || seq > ps->latest_seq) ps->latest_seq = seq;
  if (ps_send_datagram(ps, gc)) {
    moqc_group_consumer_del(gc);
    return;
  }
  group_out *go = moqc__go_new(s, gc);
  if (!go) {
    moqc_group_consumer_del(gc);
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  go->ps = ps;
  moqc_list_push_back(&ps->groups, &go->link);
  ps->n_groups++;
  moqc_list_push_back(&s->pub.inflight, &go->inflight);
  ps_expire(ps);
  if (sess_closing(s) || go->obj.dead) return;
  go->op.bidi = false;
  go->op.opened = go_opened;
  go->op.failed = go_open_failed;
  go->opening = true;
  ps->n_pending++;
  moqc__sess_open(s, &go->op);
  if (s->st.open_blocked[1]) ps_trim_pending(ps);
  serve_slow_check(s);
  moqc__sess_tick_arm(s);
}

void moqc__serve_trim_pending(moqc_session *s) {
  for (moqc_link *it = s->pub.subs.next; it != &s->pub.subs; it = it->next)
    ps_trim_pending(MOQC_CONTAINER_OF(it, pub_sub, link));
  if (s->proto->trim_pending) s->proto->trim_pending(s);
}

static void ps_send_end(pub_sub *ps, uint64_t final) {
  moqc_session *s = ps->ss->s;
  ps->end_sent = true;
  struct moqc_lite_subscribe_resp r = {.kind = MOQC_LITE_SUBSCRIBE_END};
  r.u.group = final;
  wbuf w;
  moqc__wbuf_init(&w);
  WBUF_ENC(&w, moqc_lite_subscribe_resp_encode, s->version, &r);
  (void)moqc__ss_write_wbuf(ps->ss, &w, false);
  moqc__wbuf_free(&w);
}

/* FIN the subscribe stream once the track ended and every group is accounted
 * for: reset, or written AND acknowledged (like moq-dev, which awaits each
 * group stream's close before FIN; otherwise the FIN, on a control stream sent
 * ahead of data, would overtake the last groups). */
static void ps_maybe_fin(pub_sub *ps) {
  if (!ps->track_done || ps->fin_sent || ps->fin_waiting || !ps->ss) return;
  for (moqc_link *it = ps->groups.next; it != &ps->groups; it = it->next) {
    group_out *go = MOQC_CONTAINER_OF(it, group_out, link);
    if (!go_delivered(go)) return;
  }
  moqc_session *s = ps->ss->s;
  if (moqc_lite_is_05(s->version) && !ps->end_sent) {
    uint64_t final = moqc_track_consumer_final(ps->tc);
    if (final == MOQC_GROUP_NONE)
      final = ps->latest_seq == MOQC_GROUP_NONE ? 0 : ps->latest_seq + 1;
    ps_send_end(ps, final);
  }
  /* The FIN itself lingers (SESS_PUB_FIN_LINGER_NS): the JS clients drop
   * whatever they have not read yet of a track once its FIN arrives. */
  uint64_t rtt_ns = 0, rate = 0;
  if (s->t->ops->stats) s->t->ops->stats(s->t, &rtt_ns, &rate);
  ps->fin_waiting = true;
  uint64_t at = moqc__sess_now(s) + SESS_PUB_FIN_LINGER_NS + 2 * rtt_ns;
  if (moqc_timer_start(s->clock, &ps->fin_timer, at) < 0) {
    ps->fin_sent = true;
    moqc__ss_fin(ps->ss);
  }
}

static void ps_fin_timeout(moqc_timer *tm, void *arg) {
  (void)tm;
  pub_sub *ps = arg;
  moqc_session *s = ps->ss->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !ps->obj.dead && !ps->fin_sent) {
    ps->fin_sent = true;
    moqc__ss_fin(ps->ss);
  }
  moqc__sess_exit(s);
}

static void ps_abort(pub_sub *ps, uint64_t code) {
  while (!moqc_list_empty(&ps->groups))
    moqc__go_cancel(MOQC_CONTAINER_OF(ps->groups.next, group_out, link), MOQC_CODE_CANCEL);
  if (ps->ss) moqc__ss_abort(ps->ss, code);
  ps_destroy(ps);
}

static void ps_pump(pub_sub *ps) {
  moqc_session *s = ps->ss->s;
  while (!sess_closing(s) && !ps->obj.dead && !ps->track_done) {
    moqc_group_consumer *gc = NULL;
    int rc = moqc_track_consumer_recv_group(ps->tc, &gc);
    if (rc == MOQC_OK) {
      ps_new_group(ps, gc);
      continue;
    }
    if (rc == MOQC_ERR_AGAIN) break;
    if (rc == MOQC_ERR_CLOSED) {
      ps->track_done = true;
      break;
    }
    uint64_t code = moqc_track_consumer_code(ps->tc);
    if (code == MOQC_CODE_CANCEL && rc != MOQC_ERR_CANCEL) code = moqc_code_from_err(rc);
    ps_abort(ps, code);
    return;
  }
  if (sess_closing(s) || ps->obj.dead) return;
  if (moqc_lite_is_05(s->version) && !ps->end_sent) {
    uint64_t final = moqc_track_consumer_final(ps->tc);
    if (final != MOQC_GROUP_NONE) ps_send_end(ps, final);
  }
  ps_maybe_fin(ps);
}

static void ps_wake(void *arg) {
  pub_sub *ps = arg;
  moqc_session *s = ps->ss->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !ps->obj.dead) ps_pump(ps);
  moqc__sess_exit(s);
}

static void ps_destroy(pub_sub *ps) {
  moqc_session *s = ps->ss->s;
  moqc_timer_stop(s->clock, &ps->fin_timer);
  while (!moqc_list_empty(&ps->groups))
    moqc__go_cancel(MOQC_CONTAINER_OF(ps->groups.next, group_out, link), MOQC_CODE_CANCEL);
  if (ps->tc) moqc_track_consumer_del(ps->tc);
  ps->tc = NULL;
  if (ps->bc) moqc_broadcast_consumer_del(ps->bc);
  ps->bc = NULL;
  if (moqc_link_linked(&ps->link)) {
    moqc_list_remove(&ps->link);
    assert(s->n_served > 0);
    s->n_served--;
  }
  sstream *ss = ps->ss;
  moqc__sess_bury(s, &ps->obj);
  moqc__ss_release(ss);
}

uint64_t moqc__serve_latency_ms(const moqc_subscription *sub, moqc_track_consumer *tc) {
  if (sub->latency_max_ms) return sub->latency_max_ms;
  const moqc_track_info *info = moqc_track_consumer_info(tc);
  if (info && info->latency_max_ms) return info->latency_max_ms;
  return 5000;
}

static void ps_update(pub_sub *ps, const struct moqc_lite_subscribe_update *u) {
  moqc_session *s = ps->ss->s;
  moqc_subscription sub = {
      .priority = u->priority,
      .ordered = u->ordered,
      .latency_max_ms = u->max_latency,
      .start = u->start_group,
      .end = u->end_group,
  };
  bool prio_changed = sub.priority != ps->sub.priority || sub.ordered != ps->sub.ordered;
  ps->sub = sub;
  ps->latency_ms = moqc__serve_latency_ms(&sub, ps->tc);
  (void)moqc_track_consumer_update(ps->tc, &sub);
  if (prio_changed) {
    for (moqc_link *it = ps->groups.next; it != &ps->groups; it = it->next) {
      group_out *go = MOQC_CONTAINER_OF(it, group_out, link);
      if (!go->ss || go->fin_sent) continue;
      moqc_stream_prio prio = go_prio(ps, go->seq);
      (void)s->t->ops->set_priority(s->t, go->ss->id, &prio);
    }
  }
  ps_pump(ps); /* a raised end may release held groups */
}

static void ps_start(sstream *ss, const struct moqc_lite_subscribe *m) {
  moqc_session *s = ss->s;
  if (s->n_served >= s->lim.max_subscriptions) {
    s->stats.streams_rejected++;
    s->stats.refused_subscriptions++;
    moqc__ss_abort(ss, MOQC_CODE_BOUNDS_EXCEEDED);
    moqc__ss_release(ss);
    return;
  }
  uint64_t code = MOQC_CODE_NOT_FOUND;
  moqc_broadcast_consumer *bc = moqc__sess_resolve(s, m->broadcast, &code);
  if (!bc) {
    moqc__ss_abort(ss, code);
    moqc__ss_release(ss);
    return;
  }
  char *name = moqc__sess_strdup_bytes(m->track);
  moqc_subscription sub = {
      .priority = m->priority,
      .ordered = m->ordered,
      .latency_max_ms = m->max_latency,
      .start = m->start_group,
      .end = m->end_group,
  };
  int err = MOQC_ERR_NOT_FOUND;
  moqc_track_consumer *tc = NULL;
  if (name && strlen(name) == m->track.len)
    tc = moqc_broadcast_consumer_subscribe(bc, name, &sub, &err);
  moqc_free(name);
  pub_sub *ps = tc ? moqc_calloc(1, sizeof *ps) : NULL;
  if (!ps) {
    if (tc) moqc_track_consumer_del(tc);
    moqc_broadcast_consumer_del(bc);
    moqc__ss_abort(ss, tc ? MOQC_CODE_TRANSPORT : moqc_code_from_err(err));
    moqc__ss_release(ss);
    return;
  }
  ps->obj.destroy = ps_free;
  ps->ss = ss;
  ps->id = m->id;
  ps->sub = sub;
  ps->bc = bc;
  ps->tc = tc;
  ps->latest_seq = MOQC_GROUP_NONE;
  ps->latency_ms = moqc__serve_latency_ms(&sub, tc);
  moqc_timer_init(&ps->fin_timer, ps_fin_timeout, ps);
  moqc_link_init(&ps->groups);
  moqc_list_push_back(&s->pub.subs, &ps->link);
  s->n_served++;
  s->stats.subscribes_served++;
  ss->owner = ps;
  if (!moqc_lite_is_05(s->version)) {
    /* Exactly one SUBSCRIBE_OK, like moq-dev: the subscriber's priority,
     * everything else unknown. */
    struct moqc_lite_subscribe_resp r = {.kind = MOQC_LITE_SUBSCRIBE_OK};
    r.u.ok.priority = m->priority;
    r.u.ok.ordered = false;
    r.u.ok.max_latency = 0;
    r.u.ok.start_group = MOQC_LITE_GROUP_NONE;
    r.u.ok.end_group = MOQC_LITE_GROUP_NONE;
    wbuf w;
    moqc__wbuf_init(&w);
    WBUF_ENC(&w, moqc_lite_subscribe_resp_encode, s->version, &r);
    (void)moqc__ss_write_wbuf(ss, &w, false);
    moqc__wbuf_free(&w);
  }
  moqc_track_consumer_set_waker(tc, ps_wake, ps);
  ps_pump(ps);
}

static int ps_process(sstream *ss) {
  moqc_session *s = ss->s;
  while (ss_len(ss) > 0 && !sess_closing(s) && !ss->obj.dead) {
    if (!ss->owner) {
      if (ss->kind != &moqc__sk_subscribe_in) return MOQC_OK;
      struct moqc_lite_subscribe m;
      ssize_t n = moqc_lite_subscribe_decode(&m, s->version, ss_data(ss), ss_len(ss));
      if (n == MOQC_ERR_NEED_MORE) return MOQC_OK;
      if (moqc__sess_decode_failed(s, n, "malformed SUBSCRIBE")) return MOQC_ERR_DECODE;
      ps_start(ss, &m); /* m borrows the buffer: consume after */
      if (!ss->obj.dead && ss->kind == &moqc__sk_subscribe_in) moqc__ss_consume(ss, (size_t)n);
      else return MOQC_OK;
      continue;
    }
    struct moqc_lite_subscribe_update u;
    ssize_t n = moqc_lite_subscribe_update_decode(&u, s->version, ss_data(ss), ss_len(ss));
    if (n == MOQC_ERR_NEED_MORE) return MOQC_OK;
    if (moqc__sess_decode_failed(s, n, "malformed SUBSCRIBE_UPDATE")) return MOQC_ERR_DECODE;
    moqc__ss_consume(ss, (size_t)n);
    ps_update(ss->owner, &u);
  }
  return MOQC_OK;
}

static void ps_end(sstream *ss, bool reset, uint64_t code) {
  moqc_session *s = ss->s;
  pub_sub *ps = ss->owner;
  (void)code;
  if (!ps) {
    if (!reset && ss_len(ss) > 0) {
      moqc__sess_fail(s, MOQC_CODE_DECODE, "subscribe stream ended inside a message", false);
      return;
    }
    if (reset) moqc__ss_abort(ss, MOQC_CODE_CANCEL);
    else moqc__ss_fin(ss);
    moqc__ss_release(ss);
    return;
  }
  /* Unsubscribe (FIN) or cancel (reset / STOP_SENDING): drop in-flight groups. */
  while (!moqc_list_empty(&ps->groups))
    moqc__go_cancel(MOQC_CONTAINER_OF(ps->groups.next, group_out, link), MOQC_CODE_CANCEL);
  if (reset) moqc__ss_abort(ss, MOQC_CODE_CANCEL);
  else moqc__ss_fin(ss);
  ps_destroy(ps);
}

void moqc__serve_destroy_all(moqc_session *s) {
  while (!moqc_list_empty(&s->pub.subs))
    ps_destroy(MOQC_CONTAINER_OF(s->pub.subs.next, pub_sub, link));
  while (!moqc_list_empty(&s->pub.inflight))
    go_destroy(MOQC_CONTAINER_OF(s->pub.inflight.next, group_out, inflight));
  moqc__serve_drop_arena(s);
}
