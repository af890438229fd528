/* moqc session — publisher side: TRACK (lite-05) and FETCH (lite-05) served
 * from the publish origin. The FETCH we issue is in sub_fetch.c. */
#include <assert.h>
#include <string.h>

#include "core/mem.h"
#include "session/session_int.h"

static bool served_full(moqc_session *s, sstream *ss) {
  if (s->n_served < s->lim.max_subscriptions) return false;
  s->stats.streams_rejected++;
  s->stats.refused_subscriptions++;
  moqc__ss_abort(ss, MOQC_CODE_BOUNDS_EXCEEDED);
  moqc__ss_release(ss);
  return true;
}

/* Resolve the broadcast for a TRACK / FETCH request. NULL: the stream was
 * rejected (reset with the reason). *name_out: the track name (freed by the
 * caller), NULL if it is not a valid C string (embedded NUL). */
static moqc_broadcast_consumer *resolve_bcast(sstream *ss, moqc_bytes path, moqc_bytes name,
                                              char **name_out) {
  moqc_session *s = ss->s;
  uint64_t code = MOQC_CODE_UNROUTABLE;
  moqc_broadcast_consumer *bc = moqc__sess_resolve(s, path, &code);
  if (!bc) {
    moqc__ss_abort(ss, code);
    moqc__ss_release(ss);
    return NULL;
  }
  char *n = moqc__sess_strdup_bytes(name);
  if (n && strlen(n) != name.len) {
    moqc_free(n);
    n = NULL;
  }
  *name_out = n;
  return bc;
}

static void reject_resolved(sstream *ss, moqc_broadcast_consumer *bc, int err) {
  moqc_broadcast_consumer_del(bc);
  moqc__ss_abort(ss, moqc_code_from_err(err));
  moqc__ss_release(ss);
}

/* Resolve broadcast + track for a FETCH request. NULL: the stream was
 * rejected (reset with the reason). */
static moqc_track_consumer *resolve_track(sstream *ss, moqc_bytes path, moqc_bytes name,
                                          const moqc_subscription *sub,
                                          moqc_broadcast_consumer **bc_out) {
  char *n = NULL;
  moqc_broadcast_consumer *bc = resolve_bcast(ss, path, name, &n);
  if (!bc) return NULL;
  int err = MOQC_ERR_NOT_FOUND;
  moqc_track_consumer *tc = n ? moqc_broadcast_consumer_subscribe(bc, n, sub, &err) : NULL;
  moqc_free(n);
  if (!tc) {
    reject_resolved(ss, bc, err);
    return NULL;
  }
  *bc_out = bc;
  return tc;
}

/* ---- TRACK -> TRACK_INFO ---------------------------------------------------------- */
/* Answered from an info query on the track as seen through the publish origin:
 * a query is not a consumer, so answering TRACK adds nothing to the track's
 * demand (a publisher waiting for demand does not start producing, a relay
 * does not subscribe upstream). For a track still pending (on-demand, or a
 * relayed track whose source has not described it yet) the answer waits for
 * the real info (the query's waker). A track rejected / aborted before its
 * info was known resets the stream with its code. */

static void pt_free(sobj *o) { moqc_free(o); }

static void pt_destroy(pub_track *pt) {
  moqc_session *s = pt->ss->s;
  if (pt->q) moqc_track_info_query_del(pt->q);
  if (pt->bc) moqc_broadcast_consumer_del(pt->bc);
  pt->q = NULL;
  pt->bc = NULL;
  if (moqc_link_linked(&pt->link)) {
    moqc_list_remove(&pt->link);
    assert(s->n_served > 0);
    s->n_served--;
  }
  sstream *ss = pt->ss;
  moqc__sess_bury(s, &pt->obj);
  moqc__ss_release(ss);
}

static void pt_answer(pub_track *pt, const moqc_track_info *info) {
  moqc_session *s = pt->ss->s;
  struct moqc_lite_track_info ti = {
      .priority = info->priority,
      .ordered = info->ordered,
      .max_latency = info->latency_max_ms,
      .timescale = info->timescale ? info->timescale : 1000,
  };
  wbuf w;
  moqc__wbuf_init(&w);
  WBUF_ENC(&w, moqc_lite_track_info_encode, s->version, &ti);
  int rc = moqc__ss_write_wbuf(pt->ss, &w, true);
  moqc__wbuf_free(&w);
  if (rc == MOQC_ERR_NOMEM) moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
  /* Our half is done; the peer FINs its own. */
  pt_destroy(pt);
}

/* Answer once the info is known, or reset with the code of a track rejected /
 * aborted / ended before. */
static void pt_check(pub_track *pt) {
  moqc_track_info info;
  int rc = moqc_track_info_query_get(pt->q, &info);
  if (rc == MOQC_ERR_AGAIN) return;
  if (rc == MOQC_OK) {
    pt_answer(pt, &info);
    return;
  }
  uint64_t code = moqc_track_info_query_code(pt->q);
  if (code == MOQC_CODE_CANCEL) code = moqc_code_from_err(rc);
  if (rc == MOQC_ERR_CLOSED) code = MOQC_CODE_NOT_FOUND;
  moqc__ss_abort(pt->ss, code);
  pt_destroy(pt);
}

static void pt_wake(void *arg) {
  pub_track *pt = arg;
  moqc_session *s = pt->ss->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !pt->obj.dead) pt_check(pt);
  moqc__sess_exit(s);
}

static int pt_process(sstream *ss) {
  moqc_session *s = ss->s;
  if (ss->owner || ss_len(ss) == 0) {
    if (ss->owner) moqc__ss_consume(ss, ss_len(ss));
    return MOQC_OK;
  }
  struct moqc_lite_track m;
  ssize_t n = moqc_lite_track_decode(&m, s->version, ss_data(ss), ss_len(ss));
  if (n == MOQC_ERR_NEED_MORE) return MOQC_OK;
  if (moqc__sess_decode_failed(s, n, "malformed TRACK")) return MOQC_ERR_DECODE;
  if (served_full(s, ss)) return MOQC_OK;
  char *name = NULL;
  moqc_broadcast_consumer *bc = resolve_bcast(ss, m.broadcast, m.track, &name);
  if (!bc) return MOQC_OK;
  int err = MOQC_ERR_NOT_FOUND;
  moqc_track_info_query *q = name ? moqc_broadcast_consumer_query_info(bc, name, &err) : NULL;
  moqc_free(name);
  if (!q) {
    reject_resolved(ss, bc, err);
    return MOQC_OK;
  }
  moqc__ss_consume(ss, (size_t)n);
  pub_track *pt = moqc_calloc(1, sizeof *pt);
  if (!pt) {
    moqc_track_info_query_del(q);
    moqc_broadcast_consumer_del(bc);
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return MOQC_ERR_NOMEM;
  }
  pt->obj.destroy = pt_free;
  pt->ss = ss;
  pt->bc = bc;
  pt->q = q;
  ss->owner = pt;
  moqc_list_push_back(&s->pub.tracks, &pt->link);
  s->n_served++;
  pt_check(pt);
  if (sess_closing(s) || pt->obj.dead) return MOQC_OK;
  moqc_track_info_query_set_waker(pt->q, pt_wake, pt);
  return MOQC_OK;
}

static void pt_end(sstream *ss, bool reset, uint64_t code) {
  (void)code;
  pub_track *pt = ss->owner;
  if (!pt && ss_len(ss) > 0 && !reset) {
    moqc__sess_fail(ss->s, MOQC_CODE_DECODE, "TRACK stream ended inside a message", false);
    return;
  }
  if (pt && !reset) return; /* the request half is done; the answer follows */
  /* FIN before any TRACK, or a reset: nothing to answer. */
  if (reset) moqc__ss_abort(ss, MOQC_CODE_CANCEL);
  else moqc__ss_fin(ss);
  if (pt) pt_destroy(pt);
  else moqc__ss_release(ss);
}

/* ---- FETCH served ------------------------------------------------------------------ */
/* The group is taken from the cache of the track as seen through the publish
 * origin. The origin's per-request view of a track only holds what it
 * forwarded since it was created, so we subscribe at [seq, seq] (which makes
 * the origin forward that group from its source's cache) and wait briefly for
 * it; absent after SESS_FETCH_WAIT_NS, the FETCH is reset with NotFound. */

static void pf_free(sobj *o) { moqc_free(o); }

static void pf_destroy(pub_fetch *pf) {
  moqc_session *s = pf->ss->s;
  moqc_timer_stop(s->clock, &pf->timer);
  if (pf->go) {
    group_out *go = pf->go;
    pf->go = NULL;
    go->pf = NULL;
    moqc__go_cancel(go, MOQC_CODE_CANCEL);
  }
  if (pf->tc) moqc_track_consumer_del(pf->tc);
  if (pf->bc) moqc_broadcast_consumer_del(pf->bc);
  pf->tc = NULL;
  pf->bc = NULL;
  if (moqc_link_linked(&pf->link)) {
    moqc_list_remove(&pf->link);
    assert(s->n_served > 0);
    s->n_served--;
  }
  sstream *ss = pf->ss;
  moqc__sess_bury(s, &pf->obj);
  moqc__ss_release(ss);
}

void moqc__pf_group_done(pub_fetch *pf, bool ok, uint64_t code) {
  pf->go = NULL; /* gone already */
  if (!ok) moqc__ss_abort(pf->ss, code);
  pf_destroy(pf);
}

static void pf_not_found(pub_fetch *pf) {
  moqc__ss_abort(pf->ss, MOQC_CODE_NOT_FOUND);
  pf_destroy(pf);
}

static void pf_serve(pub_fetch *pf, moqc_group_consumer *gc) {
  moqc_session *s = pf->ss->s;
  moqc_timer_stop(s->clock, &pf->timer);
  moqc_track_consumer_set_waker(pf->tc, NULL, NULL);
  group_out *go = moqc__go_new(s, gc);
  if (!go) {
    moqc_group_consumer_del(gc);
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  pf->go = go;
  go->pf = pf;
  moqc__go_start_fetch(go, pf->ss, pf->priority);
}

/* Look for the group: in the cache, or arriving on the [seq, seq] cursor. */
static void pf_try(pub_fetch *pf) {
  moqc_group_consumer *gc = NULL;
  int rc = moqc_track_consumer_fetch_group(pf->tc, pf->seq, &gc);
  if (rc == MOQC_OK) {
    pf_serve(pf, gc);
    return;
  }
  for (;;) {
    rc = moqc_track_consumer_recv_group(pf->tc, &gc);
    if (rc == MOQC_ERR_AGAIN) return;
    if (rc != MOQC_OK) break;
    if (moqc_group_consumer_sequence(gc) == pf->seq) {
      pf_serve(pf, gc);
      return;
    }
    moqc_group_consumer_del(gc);
  }
  if (rc == MOQC_ERR_NOMEM) moqc__sess_fail(pf->ss->s, MOQC_CODE_TRANSPORT, "out of memory", false);
  else pf_not_found(pf);
}

static void pf_wake(void *arg) {
  pub_fetch *pf = arg;
  moqc_session *s = pf->ss->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !pf->obj.dead && !pf->go) pf_try(pf);
  moqc__sess_exit(s);
}

static void pf_timeout(moqc_timer *tm, void *arg) {
  (void)tm;
  pub_fetch *pf = arg;
  moqc_session *s = pf->ss->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !pf->obj.dead && !pf->go) pf_not_found(pf);
  moqc__sess_exit(s);
}

static int pf_process(sstream *ss) {
  moqc_session *s = ss->s;
  if (ss->owner || ss_len(ss) == 0) {
    if (ss->owner) moqc__ss_consume(ss, ss_len(ss));
    return MOQC_OK;
  }
  struct moqc_lite_fetch m;
  ssize_t n = moqc_lite_fetch_decode(&m, s->version, ss_data(ss), ss_len(ss));
  if (n == MOQC_ERR_NEED_MORE) return MOQC_OK;
  if (moqc__sess_decode_failed(s, n, "malformed FETCH")) return MOQC_ERR_DECODE;
  if (served_full(s, ss)) return MOQC_OK;
  moqc_subscription sub = {m.priority, false, 0, m.group, m.group};
  if (m.group >= MOQC_GROUP_NONE - 1) sub.start = sub.end = MOQC_GROUP_NONE - 2;
  moqc_broadcast_consumer *bc = NULL;
  moqc_track_consumer *tc = resolve_track(ss, m.broadcast, m.track, &sub, &bc);
  if (!tc) return MOQC_OK;
  moqc__ss_consume(ss, (size_t)n);
  pub_fetch *pf = moqc_calloc(1, sizeof *pf);
  if (!pf) {
    moqc_track_consumer_del(tc);
    moqc_broadcast_consumer_del(bc);
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return MOQC_ERR_NOMEM;
  }
  pf->obj.destroy = pf_free;
  pf->ss = ss;
  pf->bc = bc;
  pf->tc = tc;
  pf->seq = m.group;
  pf->priority = m.priority;
  moqc_timer_init(&pf->timer, pf_timeout, pf);
  ss->owner = pf;
  moqc_list_push_back(&s->pub.fetches, &pf->link);
  s->n_served++;
  pf_try(pf);
  if (sess_closing(s) || pf->obj.dead || pf->go) return MOQC_OK;
  moqc_track_consumer_set_waker(tc, pf_wake, pf);
  (void)moqc_timer_start(s->clock, &pf->timer, moqc__sess_now(s) + SESS_FETCH_WAIT_NS);
  return MOQC_OK;
}

static void pf_end(sstream *ss, bool reset, uint64_t code) {
  (void)code;
  pub_fetch *pf = ss->owner;
  if (!reset) return; /* the request half is done; keep serving */
  moqc__ss_abort(ss, MOQC_CODE_CANCEL);
  if (pf) pf_destroy(pf);
  else moqc__ss_release(ss);
}

const moqc__stream_kind moqc__sk_track_in = {
    .name = "track-in", .process = pt_process, .end = pt_end, .wait_peer_setup = true};
const moqc__stream_kind moqc__sk_fetch_in = {
    .name = "fetch-in", .process = pf_process, .end = pf_end, .wait_peer_setup = true};

void moqc__tf_destroy_all(moqc_session *s) {
  while (!moqc_list_empty(&s->pub.tracks))
    pt_destroy(MOQC_CONTAINER_OF(s->pub.tracks.next, pub_track, link));
  while (!moqc_list_empty(&s->pub.fetches))
    pf_destroy(MOQC_CONTAINER_OF(s->pub.fetches.next, pub_fetch, link));
}
