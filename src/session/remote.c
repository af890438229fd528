/* moqc session — the subscriber side: broadcasts the peer announced (rbcast)
 * and their tracks subscribed upstream on demand (rtrack).
 *
 * A local consumer subscribing to a track of a remote broadcast creates a
 * track request on our broadcast producer. We answer it (lite-05: after a
 * TRACK -> TRACK_INFO round trip; lite-03/04: at once with default info) and
 * then follow the track producer's demand: the first consumer opens SUBSCRIBE,
 * changes send SUBSCRIBE_UPDATE, the last one leaving FINs the subscription
 * and drops the track. On lite-05, groups a consumer asks for below what the
 * subscription delivers are fetched upstream (rt_fetch_check). */
#include <assert.h>
#include <string.h>

#include "core/mem.h"
#include "session/session_int.h"

static void rt_close(rtrack *rt, uint64_t code);
static void rb_destroy(rbcast *rb);
static void rt_fin_apply(rtrack *rt);
static int rt_info_process(sstream *ss);
static void rt_info_end(sstream *ss, bool reset, uint64_t code);
static int rt_sub_process(sstream *ss);
static void rt_sub_end(sstream *ss, bool reset, uint64_t code);
static bool rt_hold_drop(rtrack *rt);

/* TRACK -> TRACK_INFO (lite-05) and SUBSCRIBE -> responses, both ours. */
const moqc__stream_kind moqc__sk_track_out = {
    .name = "track-out", .process = rt_info_process, .end = rt_info_end, .request_out = true};
const moqc__stream_kind moqc__sk_subscribe_out = {
    .name = "subscribe-out", .process = rt_sub_process, .end = rt_sub_end, .request_out = true};

/* ---- remote broadcasts ---------------------------------------------------------- */

static rbcast *rb_find(moqc_session *s, const char *path) {
  return moqc__smap_find(&s->sub.rbcasts, path, strlen(path));
}

static void rb_unmap(rbcast *rb) {
  rbcast *was = moqc__smap_remove(&rb->s->sub.rbcasts, rb->path, strlen(rb->path));
  assert(was == rb);
  (void)was;
}

bool moqc__rb_has(moqc_session *s, const char *path) { return rb_find(s, path) != NULL; }

static void rb_wake(void *arg);

void moqc__rb_pump(moqc_session *s, const char *path) {
  rbcast *rb = rb_find(s, path);
  if (rb) rb_wake(rb);
}

int moqc__rb_announce_pushed(moqc_session *s, const char *path) {
  if (rb_find(s, path)) return MOQC_OK;
  moqc_route route = {0};
  int rc = moqc__rb_announce(s, path, &route, 0);
  rbcast *rb = rc == MOQC_OK ? rb_find(s, path) : NULL;
  if (rb) rb->pushed = true;
  return rc;
}

static void rb_free(sobj *o) {
  rbcast *rb = (rbcast *)(void *)o;
  moqc_free(rb->path);
  moqc_free(rb);
}

static void rt_new(rbcast *rb, moqc_track_request *req);
static void rt_fin_timeout(moqc_timer *tm, void *arg);

static void rb_wake(void *arg) {
  rbcast *rb = arg;
  moqc_session *s = rb->s;
  moqc__sess_enter(s);
  while (!sess_closing(s) && !rb->obj.dead && rb->bp) {
    moqc_track_request *req = NULL;
    int rc = moqc_broadcast_producer_next_request(rb->bp, &req);
    if (rc != MOQC_OK) break;
    if (s->proto->track_request) s->proto->track_request(rb, req);
    else rt_new(rb, req);
  }
  moqc__sess_exit(s);
}

int moqc__rb_announce(moqc_session *s, const char *path, const moqc_route *route, int status) {
  (void)status;
  rbcast *old = rb_find(s, path);
  if (old && old->pushed) { /* announced by a PUBLISH: the namespace takes it over */
    old->pushed = false;
    return MOQC_OK;
  }
  if (old) {
    if (!moqc_lite_is_05(s->version)) return MOQC_ERR_DUPLICATE;
    /* lite-05 restart. The same (known) original publisher: same content on a
     * new route, keep it. Otherwise a new broadcast replaced it. */
    if (route->n_hops && old->route.n_hops && route->hops[0] != 0 &&
        route->hops[0] == old->route.hops[0]) {
      old->route = *route;
      /* Tell the origin: the same source, a new route (it may re-select). */
      moqc_broadcast_consumer *bc = moqc_broadcast_producer_consume(old->bp);
      if (!bc) return MOQC_ERR_NOMEM;
      if (s->sub.origin) (void)moqc_origin_publish(s->sub.origin, path, bc, route);
      moqc_broadcast_consumer_del(bc);
      return MOQC_OK;
    }
    moqc__rb_ended(s, path);
  }
  if (!s->sub.origin) {
    s->stats.announces_dropped++;
    return MOQC_OK;
  }
  if (s->sub.n_rbcasts >= s->lim.max_announced) {
    /* Never silent: the peer is refused (the caller closes the session or
     * answers the request with an error), nobody else's broadcast is hidden. */
    s->stats.announces_dropped++;
    s->stats.refused_announces++;
    s->sub.refusal = "too many broadcasts announced in this session";
    return MOQC_ERR_BOUNDS;
  }
  rbcast *rb = moqc_calloc(1, sizeof *rb);
  if (!rb) return MOQC_ERR_NOMEM;
  rb->obj.destroy = rb_free;
  rb->s = s;
  rb->route = *route;
  moqc_link_init(&rb->tracks);
  rb->path = moqc_strdup(path);
  rb->bp = moqc_broadcast_producer_new(s->env);
  moqc_broadcast_consumer *bc = rb->bp ? moqc_broadcast_producer_consume(rb->bp) : NULL;
  if (!rb->path || !bc) {
    if (rb->bp) moqc_broadcast_producer_del(rb->bp);
    moqc_free(rb->path);
    moqc_free(rb);
    return MOQC_ERR_NOMEM;
  }
  moqc_broadcast_producer_enable_requests(rb->bp, true);
  moqc_broadcast_producer_set_waker(rb->bp, rb_wake, rb);
  int rc = moqc_origin_publish(s->sub.origin, path, bc, route);
  moqc_broadcast_consumer_del(bc);
  if (rc < 0 || moqc__smap_insert(&s->sub.rbcasts, path, strlen(path), rb) < 0) {
    moqc_broadcast_producer_abort(rb->bp, MOQC_CODE_CANCEL);
    moqc_broadcast_producer_del(rb->bp);
    moqc_free(rb->path);
    moqc_free(rb);
    if (rc == MOQC_ERR_NOMEM) return rc;
    s->stats.announces_dropped++;
    if (rc == MOQC_ERR_UNAUTHORIZED) { /* outside the origin's scope (a token's put) */
      s->stats.unauthorized_announces++;
      moqc__sess_debug(s, "announcement '%s' outside the publish scope: ignored", path);
      return MOQC_ERR_UNAUTHORIZED;
    }
    if (rc == MOQC_ERR_BOUNDS) { /* the origin's account (the relay's tenant) is full */
      s->stats.refused_announces_root++;
      s->sub.refusal = "too many broadcasts for this root";
      return MOQC_ERR_BOUNDS;
    }
    return MOQC_OK;
  }
  moqc_list_push_back(&s->sub.rbcast_list, &rb->link);
  s->sub.n_rbcasts++;
  s->stats.announces_received++;
  return MOQC_OK;
}

static void rb_destroy(rbcast *rb) {
  moqc_session *s = rb->s;
  if (!rb->ended) {
    rb_unmap(rb);
    rb->ended = true;
  }
  if (moqc_link_linked(&rb->link)) {
    moqc_list_remove(&rb->link);
    assert(s->sub.n_rbcasts > 0);
    s->sub.n_rbcasts--;
  }
  if (rb->bp) moqc_broadcast_producer_del(rb->bp);
  rb->bp = NULL;
  moqc__sess_bury(s, &rb->obj);
}

void moqc__rb_ended(moqc_session *s, const char *path) {
  rbcast *rb = rb_find(s, path);
  if (!rb) return;
  rb_unmap(rb);
  rb->ended = true;
  /* A deliberate unannounce: finish (the origin unannounces at once). Tracks
   * being received keep running until their subscription ends. */
  (void)moqc_broadcast_producer_finish(rb->bp);
  if (moqc_list_empty(&rb->tracks)) rb_destroy(rb);
}

void moqc__rb_drop_all(moqc_session *s, uint64_t code) {
  while (!moqc_list_empty(&s->sub.rbcast_list)) {
    rbcast *rb = MOQC_CONTAINER_OF(s->sub.rbcast_list.next, rbcast, link);
    while (!moqc_list_empty(&rb->tracks))
      rt_close(MOQC_CONTAINER_OF(rb->tracks.next, rtrack, link), code);
    if (!rb->ended && rb->bp) moqc_broadcast_producer_abort(rb->bp, code);
    rb_destroy(rb);
  }
}

/* ---- remote tracks --------------------------------------------------------------- */

rtrack *moqc__rt_by_id(moqc_session *s, uint64_t id) {
  return moqc__imap_find(&s->sub.rtracks, id);
}

static void rt_free(sobj *o) {
  rtrack *rt = (rtrack *)(void *)o;
  moqc_free(rt->name);
  moqc_free(rt);
}

static void rt_unsubscribe(rtrack *rt, uint64_t code) {
  moqc_session *s = rt->s;
  while (!moqc_list_empty(&rt->groups))
    moqc__gi_cancel(MOQC_CONTAINER_OF(rt->groups.next, group_in, link), code);
  if (rt->subscribed) {
    rtrack *was = moqc__imap_remove(&s->sub.rtracks, rt->sub_id);
    assert(was == rt);
    (void)was;
    rt->subscribed = false;
  }
  moqc__sess_open_cancel(&rt->op);
  rt->opening = false;
  if (rt->sub_ss) {
    sstream *ss = rt->sub_ss;
    rt->sub_ss = NULL;
    moqc__ss_fin(ss); /* unsubscribe = FIN; the publisher resets its groups and FINs */
    moqc__ss_release(ss);
  }
}

/* The FETCH upstream queue [fq_next, fq_end] made empty. */
static void rt_fq_clear(rtrack *rt) {
  rt->fq_next = 1;
  rt->fq_end = 0;
}

/* No consumer asks for the queued groups any more: the queue is dropped (the
 * FETCHes in flight finish) and a later demand queues again. */
static void rt_fq_drop(rtrack *rt) {
  rt_fq_clear(rt);
  rt->fetch_low = MOQC_GROUP_NONE;
}

/* Drop the track: unsubscribe, end the track producer with code (if it did
 * not end already), free. */
static void rt_close(rtrack *rt, uint64_t code) {
  moqc_session *s = rt->s;
  rbcast *rb = rt->rb;
  rt->draining = false;               /* no re-entry from the groups cancelled below */
  if (rt->fin_wait) rt_fin_apply(rt); /* the publisher did end it cleanly */
  if (rt->drop_hold) {
    rt->drop_hold = false;
    moqc_timer_stop(s->clock, &rt->fin_timer);
  }
  rt_fq_clear(rt); /* the queue is dropped with the track */
  if (rt->fetches) moqc__sf_cancel_track(rt);
  rt_unsubscribe(rt, code);
  if (rt->info_ss) {
    sstream *ss = rt->info_ss;
    rt->info_ss = NULL;
    moqc__ss_abort(ss, MOQC_CODE_CANCEL);
    moqc__ss_release(ss);
  }
  if (rt->req) moqc_track_request_reject(rt->req, code);
  rt->req = NULL;
  if (rt->tp) {
    if (rt->state != RT_DONE) moqc_track_producer_abort(rt->tp, code);
    moqc_track_producer_del(rt->tp);
    rt->tp = NULL;
  }
  moqc_list_remove(&rt->link);
  assert(s->sub.n_rtracks > 0);
  s->sub.n_rtracks--;
  moqc__sess_bury(s, &rt->obj);
  if (rb->ended && moqc_list_empty(&rb->tracks)) rb_destroy(rb);
}

static void rt_send_subscribe(rtrack *rt) {
  moqc_session *s = rt->s;
  struct moqc_lite_subscribe m = {
      .id = rt->sub_id,
      .broadcast = {(const uint8_t *)rt->rb->path, strlen(rt->rb->path)},
      .track = {(const uint8_t *)rt->name, strlen(rt->name)},
      .priority = rt->sent.priority,
      .ordered = rt->sent.ordered,
      .max_latency = rt->sent.latency_max_ms,
      .start_group = rt->sent.start,
      .end_group = rt->sent.end,
  };
  wbuf w;
  moqc__wbuf_init(&w);
  moqc__wbuf_varint(&w, MOQC_LITE_BIDI_SUBSCRIBE);
  WBUF_ENC(&w, moqc_lite_subscribe_encode, s->version, &m);
  int rc = moqc__ss_write_wbuf(rt->sub_ss, &w, false);
  moqc__wbuf_free(&w);
  if (rc == MOQC_ERR_NOMEM) moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
  else if (rc < 0) rt_close(rt, MOQC_CODE_ENCODE);
}

static void rt_demand(rtrack *rt);

/* ---- FETCH upstream (lite-05) ------------------------------------------------------ */

/* FETCH the queued groups, at most SESS_UPSTREAM_FETCH_INFLIGHT at once, each
 * into a group of the track created now with its sequence (a group the track
 * has already is skipped: no request). */
static void rt_fetch_issue(rtrack *rt) {
  moqc_session *s = rt->s;
  while (rt->fetches < SESS_UPSTREAM_FETCH_INFLIGHT && rt->fq_next <= rt->fq_end && rt->tp &&
         !sess_closing(s) && !rt->obj.dead) {
    uint64_t seq = rt->fq_next++;
    moqc_group_producer *gp = NULL;
    int rc = moqc_track_producer_create_group(rt->tp, seq, &gp);
    if (rc == MOQC_ERR_NOMEM) {
      moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
      return;
    }
    if (rc != MOQC_OK) continue; /* DUPLICATE: the track has it; STATE: it ended */
    uint8_t prio = moqc_track_producer_demand(rt->tp).aggregate.priority;
    rc = moqc__sf_fetch_into(rt, gp, seq, prio);
    if (sess_debug_on(s))
      moqc__sess_debug(s, "FETCH upstream %s/%s group %llu: %d", rt->rb->path, rt->name,
                       (unsigned long long)seq, rc);
    if (rc == MOQC_ERR_NOMEM) {
      moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
      return;
    }
    if (rc != MOQC_OK) { /* the session's request cap: the rest of the queue is dropped
                            (fq_end kept: rt_fetch_check does not queue that range again) */
      rt->fq_next = rt->fq_end + 1;
      return;
    }
  }
}

void moqc__rt_fetch_done(rtrack *rt) {
  rt_fetch_issue(rt);
  moqc__rt_group_done(rt); /* draining: the last FETCH in flight may end it */
}

/* A consumer asked for groups from `start` (a FETCH waiting on a [start, end]
 * subscription at a relay, or a subscription with a past start): the groups
 * below the first one the subscription delivers (SUBSCRIBE_START), else up
 * to the consumer's end, are queued for FETCH (lite-05 has FETCH; 03/04 only
 * carry the start in SUBSCRIBE / SUBSCRIBE_UPDATE, which moq-dev ignores),
 * at most SESS_UPSTREAM_FETCH_SPAN of them (the newest). Later demands queue
 * only what is below the lowest start asked already (fetch_low), so
 * concurrent downstream fetches share the upstream requests. */
static void rt_fetch_check(rtrack *rt, const moqc_track_demand *d) {
  moqc_session *s = rt->s;
  uint64_t lo = d->aggregate.start;
  if (rt->fetch_low != MOQC_GROUP_NONE && (lo == MOQC_GROUP_NONE || lo > rt->fq_end)) {
    /* The FETCH waiting on the queued groups was answered or went: at most
     * SESS_UPSTREAM_FETCH_INFLIGHT finish (groups the track got meanwhile
     * cost a later demand no request). */
    rt_fq_drop(rt);
  }
  if (!moqc_lite_is_05(s->version) || rt->state != RT_LIVE || !rt->subscribed ||
      lo == MOQC_GROUP_NONE)
    return;
  uint64_t hi = MOQC_GROUP_NONE;
  if (rt->start_seen) {
    if (rt->start_group == 0) return;
    hi = rt->start_group - 1;
  }
  if (d->aggregate.end != MOQC_GROUP_NONE && (hi == MOQC_GROUP_NONE || d->aggregate.end < hi))
    hi = d->aggregate.end;
  if (hi == MOQC_GROUP_NONE) return; /* SUBSCRIBE_START tells where the subscription begins */
  if (rt->fetch_low != MOQC_GROUP_NONE) {
    if (rt->fetch_low <= lo) return;
    if (rt->fetch_low - 1 < hi) hi = rt->fetch_low - 1;
  }
  if (lo > hi) return;
  /* fetch_low is the start asked, not the clipped one: a range too long for
   * one queue is not walked down by later demand changes (each would queue
   * SESS_UPSTREAM_FETCH_SPAN more); only a lower start queues again. */
  rt->fetch_low = lo;
  if (hi - lo >= SESS_UPSTREAM_FETCH_SPAN) lo = hi - (SESS_UPSTREAM_FETCH_SPAN - 1);
  /* Below a queue still running: take it from lo on (groups asked already
   * exist in the track and are skipped), at most SESS_UPSTREAM_FETCH_SPAN. */
  uint64_t end = rt->fq_next <= rt->fq_end && rt->fq_end > hi ? rt->fq_end : hi;
  if (end - lo >= SESS_UPSTREAM_FETCH_SPAN) end = lo + (SESS_UPSTREAM_FETCH_SPAN - 1);
  rt->fq_next = lo;
  rt->fq_end = end;
  rt_fetch_issue(rt);
}

static void rt_sub_opened(opener *op, int64_t id) {
  rtrack *rt = MOQC_CONTAINER_OF(op, rtrack, op);
  moqc_session *s = rt->s;
  rt->opening = false;
  rt->sub_ss = moqc__ss_new(s, id, &moqc__sk_subscribe_out, false, rt);
  if (!rt->sub_ss) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  rt_send_subscribe(rt);
  if (!sess_closing(s) && !rt->obj.dead) rt_demand(rt); /* it may have changed meanwhile */
}

static void rt_open_failed(opener *op, int err) {
  rtrack *rt = MOQC_CONTAINER_OF(op, rtrack, op);
  (void)err;
  rt->opening = false;
  rt_close(rt, MOQC_CODE_TRANSPORT);
}

static void rt_subscribe(rtrack *rt, const moqc_subscription *sub) {
  moqc_session *s = rt->s;
  rt->sub_id = s->sub.next_id++;
  rt->sent = *sub;
  rt->ok_seen = false;
  rt->start_seen = false;
  rt->n_bound = 0;
  /* Register before any SUBSCRIBE byte leaves: the publisher may answer with a
   * group stream the instant it reads the request. */
  if (moqc__imap_insert(&s->sub.rtracks, rt->sub_id, rt) < 0) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  rt->subscribed = true;
  rt->opening = true;
  rt->op.bidi = true;
  rt->op.opened = rt_sub_opened;
  rt->op.failed = rt_open_failed;
  moqc__sess_open(s, &rt->op);
}

static bool sub_eq(const moqc_subscription *a, const moqc_subscription *b) {
  return a->priority == b->priority && a->ordered == b->ordered &&
         a->latency_max_ms == b->latency_max_ms && a->start == b->start && a->end == b->end;
}

static void rt_update(rtrack *rt, const moqc_subscription *sub) {
  moqc_session *s = rt->s;
  rt->sent = *sub;
  struct moqc_lite_subscribe_update m = {
      .priority = sub->priority,
      .ordered = sub->ordered,
      .max_latency = sub->latency_max_ms,
      .start_group = sub->start,
      .end_group = sub->end,
  };
  wbuf w;
  moqc__wbuf_init(&w);
  WBUF_ENC(&w, moqc_lite_subscribe_update_encode, s->version, &m);
  int rc = moqc__ss_write_wbuf(rt->sub_ss, &w, false);
  moqc__wbuf_free(&w);
  if (rc == MOQC_ERR_NOMEM) moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
}

/* A complete track (the publisher FIN'd) keeps receiving its last groups even
 * without consumers: they were already forwarded by reference. So does one
 * with FETCHes upstream in flight: a downstream FETCH takes a group as soon
 * as it exists and may still be reading it after its own subscription went
 * (closing now would abort the group under it). */
static bool rt_drain_pending(const rtrack *rt) {
  if (rt->fetches > 0) return true;
  return rt->state == RT_DONE && !moqc_list_empty(&rt->groups);
}

void moqc__rt_group_done(rtrack *rt) {
  if (rt->draining && !rt->obj.dead && !rt_drain_pending(rt)) rt_close(rt, MOQC_CODE_CANCEL);
}

/* Follow the track producer's demand. */
static void rt_demand(rtrack *rt) {
  if (!rt->tp) return;
  moqc_track_demand d = moqc_track_producer_demand(rt->tp);
  if (d.consumers == 0) {
    if (rt_drain_pending(rt)) {
      rt->draining = true;
      rt_fq_drop(rt);
      return;
    }
    rt_close(rt, MOQC_CODE_CANCEL);
    return;
  }
  rt->draining = false;
  if (rt->state == RT_DONE) return;
  if (!rt->subscribed) {
    rt_subscribe(rt, &d.aggregate);
  } else if (!rt->opening && rt->sub_ss && !sub_eq(&rt->sent, &d.aggregate)) {
    rt_update(rt, &d.aggregate);
  }
  if (!sess_closing(rt->s) && !rt->obj.dead) rt_fetch_check(rt, &d);
}

static void rt_wake(void *arg) {
  rtrack *rt = arg;
  moqc_session *s = rt->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !rt->obj.dead) rt_demand(rt);
  moqc__sess_exit(s);
}

static void rt_accept(rtrack *rt, const moqc_track_info *info) {
  moqc_track_request *req = rt->req;
  rt->req = NULL;
  rt->info = *info;
  rt->tp = moqc_track_request_accept(req, info);
  if (!rt->tp) {
    rt_close(rt, MOQC_CODE_TRANSPORT);
    return;
  }
  rt->state = RT_LIVE;
  moqc_track_producer_set_waker(rt->tp, rt_wake, rt);
  rt_demand(rt);
}

static void rt_info_opened(opener *op, int64_t id) {
  rtrack *rt = MOQC_CONTAINER_OF(op, rtrack, op);
  moqc_session *s = rt->s;
  rt->opening = false;
  rt->info_ss = moqc__ss_new(s, id, &moqc__sk_track_out, false, rt);
  if (!rt->info_ss) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  struct moqc_lite_track m = {
      .broadcast = {(const uint8_t *)rt->rb->path, strlen(rt->rb->path)},
      .track = {(const uint8_t *)rt->name, strlen(rt->name)},
  };
  wbuf w;
  moqc__wbuf_init(&w);
  moqc__wbuf_varint(&w, MOQC_LITE_BIDI_TRACK);
  WBUF_ENC(&w, moqc_lite_track_encode, s->version, &m);
  int rc = moqc__ss_write_wbuf(rt->info_ss, &w, false);
  moqc__wbuf_free(&w);
  if (rc == MOQC_ERR_NOMEM) moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
  else if (rc < 0) rt_close(rt, MOQC_CODE_NOT_FOUND);
}

static void rt_new(rbcast *rb, moqc_track_request *req) {
  moqc_session *s = rb->s;
  if (s->sub.n_rtracks >= s->lim.max_tracks) {
    s->stats.refused_tracks++;
    moqc_track_request_reject(req, MOQC_CODE_BOUNDS_EXCEEDED);
    return;
  }
  rtrack *rt = moqc_calloc(1, sizeof *rt);
  const char *name = moqc_track_request_name(req);
  if (rt) rt->name = moqc_strdup(name ? name : "");
  if (!rt || !rt->name) {
    moqc_free(rt);
    moqc_track_request_reject(req, MOQC_CODE_TRANSPORT);
    return;
  }
  rt->obj.destroy = rt_free;
  rt->s = s;
  rt->rb = rb;
  rt->req = req;
  rt->state = RT_INFO;
  rt->fetch_low = MOQC_GROUP_NONE;
  rt_fq_clear(rt);
  moqc_timer_init(&rt->fin_timer, rt_fin_timeout, rt);
  moqc_link_init(&rt->groups);
  moqc_link_init(&rt->op.link);
  moqc_list_push_back(&rb->tracks, &rt->link);
  s->sub.n_rtracks++;
  if (!moqc_lite_is_05(s->version)) {
    /* No TRACK stream: the wire carries no properties, defaults apply. */
    moqc_track_info info = MOQC_TRACK_INFO_DEFAULT;
    rt_accept(rt, &info);
    return;
  }
  rt->opening = true;
  rt->op.bidi = true;
  rt->op.opened = rt_info_opened;
  rt->op.failed = rt_open_failed;
  moqc__sess_open(s, &rt->op);
}

static int rt_info_process(sstream *ss) {
  moqc_session *s = ss->s;
  rtrack *rt = ss->owner;
  if (!rt || !rt->req) {
    moqc__ss_consume(ss, ss_len(ss));
    return MOQC_OK;
  }
  struct moqc_lite_track_info m;
  ssize_t n = moqc_lite_track_info_decode(&m, s->version, ss_data(ss), ss_len(ss));
  if (n == MOQC_ERR_NEED_MORE) return MOQC_OK;
  if (moqc__sess_decode_failed(s, n, "malformed TRACK_INFO")) return MOQC_ERR_DECODE;
  moqc__ss_consume(ss, (size_t)n);
  /* The publisher FINs after TRACK_INFO; FIN ours and let the stream go. */
  rt->info_ss = NULL;
  moqc__ss_fin(ss);
  moqc__ss_release(ss);
  moqc_track_info info = {
      .priority = m.priority,
      .ordered = m.ordered,
      .latency_max_ms = m.max_latency,
      .timescale = m.timescale,
  };
  rt_accept(rt, &info);
  return MOQC_OK;
}

static void rt_info_end(sstream *ss, bool reset, uint64_t code) {
  rtrack *rt = ss->owner;
  if (!rt) {
    moqc__ss_release(ss);
    return;
  }
  /* No TRACK_INFO: the track does not exist there (or the stream failed). */
  rt->info_ss = NULL;
  if (reset) moqc__ss_abort(ss, MOQC_CODE_CANCEL);
  else moqc__ss_fin(ss);
  moqc__ss_release(ss);
  rt_close(rt, reset ? code : MOQC_CODE_NOT_FOUND);
}

/* ---- end without a final: grace for groups in flight ------------------------------ */

/* Finish the track: at the lite-05 final sequence if known (an end the
 * model refuses, at or below the live edge, becomes a plain finish), else at
 * its live edge (the FIN's meaning on lite-03/04). */
static void rt_fin_apply(rtrack *rt) {
  rt->fin_wait = false;
  moqc_timer_stop(rt->s->clock, &rt->fin_timer);
  if (rt->tp && rt->state != RT_DONE) {
    if (!rt->end_seen || moqc_track_producer_finish_at(rt->tp, rt->end_group) != MOQC_OK)
      (void)moqc_track_producer_finish(rt->tp);
  }
  rt->state = RT_DONE;
}

/* lite-05: have all the groups SUBSCRIBE_START..SUBSCRIBE_END announced
 * arrived? (No START: the publisher served no group.) */
static bool rt_all_groups_in(const rtrack *rt) {
  assert(rt->end_seen);
  if (!rt->start_seen || rt->end_group <= rt->start_group) return true;
  return rt->n_bound >= rt->end_group - rt->start_group;
}

static void rt_fin_timeout(moqc_timer *tm, void *arg) {
  (void)tm;
  rtrack *rt = arg;
  moqc_session *s = rt->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !rt->obj.dead && rt->fin_wait) {
    rt_fin_apply(rt);
    moqc__rt_group_done(rt);
  } else if (!sess_closing(s) && !rt->obj.dead && rt->drop_hold) {
    rt_close(rt, MOQC_CODE_DROPPED); /* no re-announce came: aborted, Dropped */
  }
  moqc__sess_exit(s);
}

/* The subscription was reset with Dropped. moq-relay (and moqc-relay) reset a
 * replaced broadcast's subscriptions with Dropped and announce it ended, then
 * active, on another stream: the reset may come first. Aborting the track now
 * would tell its consumers ABORTED; held for SESS_SUB_FIN_GRACE_NS + 2 RTT
 * while the broadcast is still announced, the re-announce replaces it in the
 * origin first and they read REPLACED (then the abort reaches no one). A
 * Dropped that no re-announce follows (a publisher gone) aborts after the
 * hold. true: held. */
static bool rt_hold_drop(rtrack *rt) {
  moqc_session *s = rt->s;
  if (!rt->tp || rt->state == RT_DONE || rt->rb->ended || rt->fin_wait) return false;
  assert(!rt->drop_hold && !moqc_timer_armed(&rt->fin_timer));
  uint64_t rtt_ns = 0, rate = 0;
  if (s->t->ops->stats) s->t->ops->stats(s->t, &rtt_ns, &rate);
  if (moqc_timer_start(s->clock, &rt->fin_timer,
                       moqc__sess_now(s) + SESS_SUB_FIN_GRACE_NS + 2 * rtt_ns) != MOQC_OK)
    return false;
  rt->drop_hold = true;
  return true;
}

/* (Re)arm the end of the grace after a FIN: SESS_SUB_FIN_GRACE_NS + 2 RTT
 * from now, at most fin_deadline; at once when every announced group is in. */
static void rt_fin_arm(rtrack *rt) {
  if (!rt->fin_wait) return;
  moqc_session *s = rt->s;
  if (rt->end_seen && rt_all_groups_in(rt)) { /* the last one: end from the timer */
    moqc_timer_stop(s->clock, &rt->fin_timer);
    (void)moqc_timer_start(s->clock, &rt->fin_timer, moqc__sess_now(s));
    return;
  }
  uint64_t rtt_ns = 0, rate = 0;
  if (s->t->ops->stats) s->t->ops->stats(s->t, &rtt_ns, &rate);
  uint64_t at = moqc__sess_now(s) + SESS_SUB_FIN_GRACE_NS + 2 * rtt_ns;
  if (at > rt->fin_deadline) at = rt->fin_deadline;
  moqc_timer_stop(s->clock, &rt->fin_timer);
  (void)moqc_timer_start(s->clock, &rt->fin_timer, at);
}

void moqc__rt_group_bound(rtrack *rt) {
  rt->n_bound++;
  rt_fin_arm(rt);
}

/* ---- subscribe responses ------------------------------------------------------------ */

static int rt_sub_process(sstream *ss) {
  moqc_session *s = ss->s;
  rtrack *rt = ss->owner;
  while (ss_len(ss) > 0 && !sess_closing(s)) {
    struct moqc_lite_subscribe_resp m;
    ssize_t n = moqc_lite_subscribe_resp_decode(&m, s->version, ss_data(ss), ss_len(ss));
    if (n == MOQC_ERR_NEED_MORE) return MOQC_OK;
    if (moqc__sess_decode_failed(s, n, "malformed subscribe response")) return MOQC_ERR_DECODE;
    moqc__ss_consume(ss, (size_t)n);
    if (!rt || rt->obj.dead) continue;
    if (!moqc_lite_is_05(s->version)) {
      if (!rt->ok_seen && m.kind != MOQC_LITE_SUBSCRIBE_OK) {
        moqc__sess_fail(s, MOQC_CODE_PROTOCOL_VIOLATION, "expected SUBSCRIBE_OK", false);
        return MOQC_ERR_PROTOCOL;
      }
      rt->ok_seen = true;
      continue; /* later OK / DROP: informational */
    }
    if (m.kind == MOQC_LITE_SUBSCRIBE_START && !rt->start_seen) {
      rt->start_seen = true;
      rt->start_group = m.u.group;
      if (rt->tp && rt->state == RT_LIVE) { /* where the subscription begins: below it, FETCH */
        moqc_track_demand d = moqc_track_producer_demand(rt->tp);
        if (d.consumers) rt_fetch_check(rt, &d);
        if (sess_closing(s)) return MOQC_OK;
      }
    }
    if (m.kind == MOQC_LITE_SUBSCRIBE_END && !rt->end_seen) {
      /* Applied at the FIN, not now: groups below the end may still be on
       * their way (newest first), and the model reports a track complete once
       * its highest group reaches the end. */
      rt->end_seen = true;
      rt->end_group = m.u.group;
    }
  }
  return MOQC_OK;
}

static void rt_sub_end(sstream *ss, bool reset, uint64_t code) {
  moqc_session *s = ss->s;
  rtrack *rt = ss->owner;
  if (!rt) {
    moqc__ss_release(ss);
    return;
  }
  if (!reset && ss_len(ss) > 0) {
    moqc__sess_fail(s, MOQC_CODE_DECODE, "subscribe stream ended inside a message", false);
    return;
  }
  if (reset) {
    /* Rejected (Unroutable / NotFound ...) or aborted upstream. */
    rt->sub_ss = NULL;
    moqc__ss_abort(ss, MOQC_CODE_CANCEL);
    moqc__ss_release(ss);
    if (code == MOQC_CODE_DROPPED && rt_hold_drop(rt)) return;
    rt_close(rt, code);
    return;
  }
  /* Clean end: every group is accounted for. Groups still arriving on their
   * own streams keep their registration until the track goes. */
  rt->sub_ss = NULL;
  moqc__ss_fin(ss);
  moqc__ss_release(ss);
  if ((!rt->end_seen || !rt_all_groups_in(rt)) && rt->tp && rt->state != RT_DONE) {
    /* No final sequence (lite-03/04): "every group is accounted for" does
     * not hold for every publisher -- @moq/lite and @moq/net FIN the
     * subscribe stream as soon as their track closes, before the group
     * streams are even opened. Keep accepting groups for a grace period.
     * lite-05: the same when groups between SUBSCRIBE_START and _END are
     * missing (@moq/net over QMux writes the FIN before the group data;
     * no acknowledgement holds it back there); the last one ends the wait. */
    rt->fin_wait = true;
    rt->fin_deadline = moqc__sess_now(s) + SESS_SUB_FIN_MAX_NS;
    rt_fin_arm(rt);
    return;
  }
  if (rt->tp && rt->state != RT_DONE) {
    /* An end the model refuses (at or below the live edge): plain finish. */
    if (!rt->end_seen || moqc_track_producer_finish_at(rt->tp, rt->end_group) != MOQC_OK)
      (void)moqc_track_producer_finish(rt->tp);
  }
  rt->state = RT_DONE;
  moqc__rt_group_done(rt);
}
