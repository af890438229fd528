/* moqc session — subscriber side: a FETCH issued to the peer
 * (moqc_session_fetch, lite-05; and FETCH upstream, moqc__sf_fetch_into, for
 * groups of a remote track the relay does not hold). The group arrives as
 * bare frames on the FETCH stream itself (group.c feeds them into the
 * group). */
#include <assert.h>
#include <string.h>

#include "core/mem.h"
#include "session/ietf_int.h"

static void sf_free(sobj *o) {
  sub_fetch *sf = (sub_fetch *)(void *)o;
  moqc_free(sf->path);
  moqc_free(sf->track);
  moqc_free(sf);
}

static void sf_destroy(sub_fetch *sf, uint64_t code) {
  moqc_session *s = sf->s;
  moqc__sess_open_cancel(&sf->op);
  moqc__frx_abort(&sf->rx, code); /* no-op once finished */
  if (moqc_link_linked(&sf->link)) {
    moqc_list_remove(&sf->link);
    assert(s->n_served > 0);
    s->n_served--;
  }
  if (sf->ss) {
    sstream *ss = sf->ss;
    sf->ss = NULL;
    moqc__ss_release(ss);
  }
  moqc__sess_bury(s, &sf->obj);
  rtrack *rt = sf->rt;
  sf->rt = NULL;
  if (rt) {
    assert(rt->fetches > 0);
    rt->fetches--;
    if (!sess_closing(s) && !rt->obj.dead) moqc__rt_fetch_done(rt);
  }
}

static void sf_end(sstream *ss, bool reset, uint64_t code) {
  sub_fetch *sf = ss->owner;
  if (!sf) {
    moqc__ss_release(ss);
    return;
  }
  if (reset) moqc__ss_abort(ss, MOQC_CODE_CANCEL);
  else moqc__ss_fin(ss);
  sf_destroy(sf, reset ? code : MOQC_CODE_WRONG_SIZE);
}

/* The response: the group's frames, then FIN. */
static void sf_data(sstream *ss, const uint8_t *p, size_t len, bool fin) {
  moqc_session *s = ss->s;
  sub_fetch *sf = ss->owner;
  if (!sf) return;
  int r = moqc__frx_stream_data(ss, &sf->rx, p, len, fin);
  if (r == FRX_MORE) return;
  if (r == FRX_FAILED) {
    if (!sess_closing(s)) sf_end(ss, true, MOQC_CODE_CANCEL);
    return;
  }
  moqc__ss_fin(ss);
  sf_destroy(sf, MOQC_CODE_CANCEL); /* a no-op on the finished group */
}

const moqc__stream_kind moqc__sk_fetch_out = {
    .name = "fetch-out", .data = sf_data, .end = sf_end, .request_out = true};

static void sf_opened(opener *op, int64_t id) {
  sub_fetch *sf = MOQC_CONTAINER_OF(op, sub_fetch, op);
  moqc_session *s = sf->s;
  sf->ss = moqc__ss_new(s, id, &moqc__sk_fetch_out, false, sf);
  if (!sf->ss) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  moqc_stream_prio prio = {.priority = sf->priority, .order = sf->seq};
  (void)s->t->ops->set_priority(s->t, id, &prio);
  struct moqc_lite_fetch m = {
      .broadcast = {(const uint8_t *)sf->path, strlen(sf->path)},
      .track = {(const uint8_t *)sf->track, strlen(sf->track)},
      .priority = sf->priority,
      .group = sf->seq,
  };
  wbuf w;
  moqc__wbuf_init(&w);
  moqc__wbuf_varint(&w, MOQC_LITE_BIDI_FETCH);
  WBUF_ENC(&w, moqc_lite_fetch_encode, s->version, &m);
  int rc = moqc__ss_write_wbuf(sf->ss, &w, false);
  moqc__wbuf_free(&w);
  if (rc < 0) sf_destroy(sf, rc == MOQC_ERR_NOMEM ? MOQC_CODE_TRANSPORT : MOQC_CODE_ENCODE);
}

static void sf_failed(opener *op, int err) {
  sub_fetch *sf = MOQC_CONTAINER_OF(op, sub_fetch, op);
  (void)err;
  sf_destroy(sf, MOQC_CODE_TRANSPORT);
}

static void sf_unused(void *arg);

/* A FETCH of group seq of path/track into gp (taken over; on failure it is
 * aborted). rt: FETCH upstream for that remote track, else NULL. */
static int sf_start(moqc_session *s, const char *path, const char *track, uint64_t seq,
                    uint8_t priority, moqc_group_producer *gp, uint64_t timescale, rtrack *rt) {
  sub_fetch *sf = moqc_calloc(1, sizeof *sf);
  if (sf) {
    sf->path = moqc_strdup(path);
    sf->track = moqc_strdup(track);
  }
  if (!sf || !sf->path || !sf->track) {
    if (sf) {
      moqc_free(sf->path);
      moqc_free(sf->track);
    }
    moqc_free(sf);
    moqc_group_producer_abort(gp, MOQC_CODE_TRANSPORT);
    moqc_group_producer_del(gp);
    return MOQC_ERR_NOMEM;
  }
  sf->obj.destroy = sf_free;
  sf->s = s;
  sf->seq = seq;
  sf->priority = priority;
  sf->rt = rt;
  if (rt) rt->fetches++;
  moqc__frx_init(&sf->rx, gp, timescale);
  moqc_link_init(&sf->op.link);
  moqc_list_push_back(&s->sub.fetches, &sf->link);
  s->n_served++;
  sf->op.bidi = true;
  sf->op.opened = sf_opened;
  sf->op.failed = sf_failed;
  /* An application's group: dropping its consumer cancels (FETCH upstream:
   * the track's demand governs, remote.c). Without the waker (out of
   * memory) the fetch simply runs to its end. */
  if (!rt) (void)moqc_group_producer_set_unused_waker(gp, sf_unused, sf);
  moqc__sess_open(s, &sf->op);
  return MOQC_OK;
}

/* The application deleted the last consumer of the group: the FETCH is
 * cancelled (its stream reset and stopped, or its opening dropped). */
static void sf_unused(void *arg) {
  sub_fetch *sf = arg;
  moqc_session *s = sf->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !sf->obj.dead) {
    if (sess_debug_on(s))
      moqc__sess_debug(s, "FETCH %s/%s group %llu cancelled: no consumer", sf->path, sf->track,
                       (unsigned long long)sf->seq);
    if (sf->ss) moqc__ss_abort(sf->ss, MOQC_CODE_CANCEL);
    sf_destroy(sf, MOQC_CODE_CANCEL);
  }
  moqc__sess_exit(s);
}

moqc_group_consumer *moqc_session_fetch(moqc_session *s, const char *path, const char *track,
                                        uint64_t sequence, uint8_t priority, int *err) {
  int rc = MOQC_OK;
  moqc_group_consumer *gc = NULL;
  if (!s || !path || !track) rc = MOQC_ERR_INVAL;
  else if (sess_closing(s)) rc = MOQC_ERR_CLOSED;
  else if (s->proto == &moqc__proto_ietf)
    return moqc__ietf_fetch_issue(s, path, track, sequence, priority, err);
  else if (!moqc_lite_is_05(s->version)) rc = MOQC_ERR_UNSUPPORTED;
  else if (s->state != ST_RUNNING) rc = MOQC_ERR_STATE;
  else if (s->n_served >= s->lim.max_subscriptions) rc = MOQC_ERR_BOUNDS;
  if (rc) {
    if (err) *err = rc;
    return NULL;
  }
  moqc__sess_enter(s);
  moqc_group_producer *gp = moqc_group_producer_new(s->env, sequence);
  gc = gp ? moqc_group_producer_consume(gp) : NULL;
  if (!gc) {
    if (gp) moqc_group_producer_del(gp);
    rc = MOQC_ERR_NOMEM;
  } else {
    rc = sf_start(s, path, track, sequence, priority, gp, 1000, NULL);
    if (rc) {
      moqc_group_consumer_del(gc);
      gc = NULL;
    }
  }
  moqc__sess_exit(s);
  if (err) *err = rc;
  return gc;
}

int moqc__sf_fetch_into(rtrack *rt, moqc_group_producer *gp, uint64_t seq, uint8_t priority) {
  moqc_session *s = rt->s;
  assert(moqc_lite_is_05(s->version) && rt->tp);
  if (s->n_served >= s->lim.max_subscriptions) {
    moqc_group_producer_abort(gp, MOQC_CODE_BOUNDS_EXCEEDED);
    moqc_group_producer_del(gp);
    return MOQC_ERR_BOUNDS;
  }
  return sf_start(s, rt->rb->path, rt->name, seq, priority, gp, rt->info.timescale, rt);
}

void moqc__sf_cancel_track(rtrack *rt) {
  moqc_session *s = rt->s;
  assert(rt->fq_next > rt->fq_end);
  moqc_link *it, *nx;
  MOQC_LIST_FOREACH_SAFE(it, nx, &s->sub.fetches) {
    sub_fetch *sf = MOQC_CONTAINER_OF(it, sub_fetch, link);
    if (sf->rt != rt) continue;
    /* sf_destroy counts it out of rt->fetches; its moqc__rt_fetch_done
     * issues nothing, the queue being empty (remote.c rt_close) */
    if (sf->ss) moqc__ss_abort(sf->ss, MOQC_CODE_CANCEL);
    sf_destroy(sf, MOQC_CODE_CANCEL);
  }
  assert(rt->fetches == 0);
}

void moqc__sf_destroy_all(moqc_session *s) {
  while (!moqc_list_empty(&s->sub.fetches))
    sf_destroy(MOQC_CONTAINER_OF(s->sub.fetches.next, sub_fetch, link), MOQC_CODE_DROPPED);
}
