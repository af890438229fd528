/* moqc session — IETF TRACK_STATUS, answered from the model.
 *
 * The track is looked up through the publish origin like a SUBSCRIBE (a
 * consumer is taken and dropped at once, so a relay may start an upstream
 * subscription for it); the answer says what the cache holds now:
 *   draft 14: TRACK_STATUS_OK {alias 0, expires 0, group order ascending,
 *             content exists + largest location};
 *   15+:      REQUEST_OK {LARGEST_OBJECT parameter when content exists}
 *             (draft-18's "TRACK_STATUS_OK" is a REQUEST_OK too);
 *   17+:      on the TRACK_STATUS's own request stream, then FIN; a RESET /
 *             STOP_SENDING of that stream cancels it (its FIN does not: the
 *             request is the stream's only message).
 * The largest location is the latest group and its last complete frame. A
 * new consumer of an origin front (a relay, a publish origin) does not see
 * the source's groups at once: the answer waits for the first group the
 * consumer receives (the latest cached one), at most IETF_STATUS_WAIT_NS,
 * then says "no content". A track that does not exist (or a namespace that
 * is no path) is refused with DOES_NOT_EXIST (TRACK_STATUS_ERROR /
 * REQUEST_ERROR). */
#include <assert.h>
#include <string.h>

#include "core/mem.h"
#include "moqc/path.h"
#include "session/ietf_int.h"

#define IETF_STATUS_WAIT_NS (100u * 1000u * 1000u)
#define IETF_STATUS_SETTLE_NS (1000u * 1000u)

typedef struct itstat {
  sobj obj;
  moqc_link link; /* in moqc__ietf_status_list */
  moqc_session *s;
  uint64_t req;
  moqc_broadcast_consumer *bc;
  moqc_track_consumer *tc;
  moqc_group_consumer *gc; /* the highest group seen so far */
  moqc_timer timer;
  sstream *ss; /* 17+: the request stream (the answer goes there) */
} itstat;

static void its_free(sobj *o) { moqc_free(o); }

static void its_destroy(itstat *t) {
  moqc_session *s = t->s;
  moqc_timer_stop(s->clock, &t->timer);
  if (t->gc) moqc_group_consumer_del(t->gc);
  t->gc = NULL;
  if (t->tc) moqc_track_consumer_del(t->tc);
  if (t->bc) moqc_broadcast_consumer_del(t->bc);
  t->tc = NULL;
  t->bc = NULL;
  if (t->ss) moqc__ietf_req_close(t->ss, true); /* cancelled, or the session ends */
  t->ss = NULL;
  if (moqc_link_linked(&t->link)) moqc_list_remove(&t->link);
  moqc__sess_bury(s, &t->obj);
  moqc__ietf_req_complete(s);
}

/* ss: the request stream (17+, ended here) or NULL. */
static void answer(moqc_session *s, sstream *ss, uint64_t req, const moqc__ietf_loc *largest) {
  moqc__ietf_msg *r = moqc__ietf_msg_new(s->version == MOQC_IETF_14 ? MOQC_IETF_TRACK_STATUS_OK
                                                                    : MOQC_IETF_REQUEST_OK);
  if (r) {
    r->request_id = req;
    if (s->version == MOQC_IETF_14) {
      r->group_order = 1;
      r->has = MOQC_IETF_HAS_GROUP_ORDER | MOQC_IETF_HAS_EXPIRES;
    }
    if (largest) {
      r->largest = *largest;
      r->has |= MOQC_IETF_HAS_LARGEST;
    }
  }
  moqc__ietf_reply(s, ss, r);
  if (ss) moqc__ietf_req_close(ss, false);
}

/* Keep the highest of *best and g (either may be NULL). */
static void keep_highest(moqc_group_consumer **best, moqc_group_consumer *g) {
  if (!g) return;
  if (*best && moqc_group_consumer_sequence(*best) >= moqc_group_consumer_sequence(g)) {
    moqc_group_consumer_del(g);
    return;
  }
  if (*best) moqc_group_consumer_del(*best);
  *best = g;
}

/* The highest group the consumer holds now (received or the track's latest,
 * into *best); returns the last receive code. */
static int collect(moqc_track_consumer *tc, moqc_group_consumer **best) {
  moqc_group_consumer *g = NULL;
  int rc;
  while ((rc = moqc_track_consumer_recv_group(tc, &g)) == MOQC_OK) keep_highest(best, g);
  uint64_t latest = moqc_track_consumer_latest(tc);
  if (latest != MOQC_GROUP_NONE && (!*best || latest > moqc_group_consumer_sequence(*best)) &&
      moqc_track_consumer_fetch_group(tc, latest, &g) == MOQC_OK)
    keep_highest(best, g);
  return rc;
}

/* Answer from gc (consumed; NULL: no content). */
static void answer_group(moqc_session *s, sstream *ss, uint64_t req, moqc_group_consumer *gc) {
  if (!gc) {
    answer(s, ss, req, NULL);
    return;
  }
  moqc__ietf_loc largest = {.group = moqc_group_consumer_sequence(gc), .object = 0};
  size_t n = moqc_group_consumer_frames_available(gc);
  if (n > 0) largest.object = n - 1;
  moqc_group_consumer_del(gc);
  answer(s, ss, req, &largest);
}

/* Answer t from what it holds, and drop it. */
static void its_answer(itstat *t) {
  sstream *ss = t->ss;
  moqc_group_consumer *gc = t->gc;
  t->ss = NULL; /* the answer ends it */
  t->gc = NULL;
  answer_group(t->s, ss, t->req, gc);
  its_destroy(t);
}

static void its_wake(void *arg) {
  itstat *t = arg;
  moqc_session *s = t->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !t->obj.dead) {
    bool had = t->gc != NULL;
    int rc = collect(t->tc, &t->gc);
    if (rc != MOQC_ERR_AGAIN && !t->gc && rc != MOQC_ERR_CLOSED &&
        moqc_track_consumer_code(t->tc) == MOQC_CODE_NOT_FOUND) {
      sstream *ss = t->ss;
      t->ss = NULL;
      moqc__ietf_request_refuse(s, ss, MOQC_IETF_TRACK_STATUS_ERROR, t->req,
                                MOQC_IETF_REQERR_DOES_NOT_EXIST, "track not found");
      its_destroy(t);
    } else if (rc != MOQC_ERR_AGAIN || (t->gc && !had)) {
      /* Ended, or the first groups came: the groups handed over in this
       * round all arrive before the next tick; answer then. */
      moqc_timer_stop(s->clock, &t->timer);
      if (moqc_timer_start(s->clock, &t->timer, moqc__sess_now(s) + IETF_STATUS_SETTLE_NS) < 0)
        its_answer(t);
    }
  }
  moqc__sess_exit(s);
}

static void its_timeout(moqc_timer *tm, void *arg) {
  (void)tm;
  itstat *t = arg;
  moqc_session *s = t->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !t->obj.dead) {
    (void)collect(t->tc, &t->gc);
    its_answer(t);
  }
  moqc__sess_exit(s);
}

void moqc__ietf_status_teardown(moqc_session *s) {
  moqc_link *l = moqc__ietf_status_list(s);
  while (!moqc_list_empty(l)) its_destroy(MOQC_CONTAINER_OF(l->next, itstat, link));
}

void moqc__ietf_on_track_status(moqc_session *s, const moqc__ietf_msg *m, sstream *ss) {
  assert(m->type == MOQC_IETF_TRACK_STATUS);
  moqc_broadcast_consumer *bc = NULL;
  moqc_track_consumer *tc = NULL;
  int rv = moqc__ietf_resolve_track(s, m, &bc, &tc);
  if (rv != MOQC_OK) {
    moqc__ietf_request_refuse(s, ss, MOQC_IETF_TRACK_STATUS_ERROR, m->request_id,
                              MOQC_IETF_REQERR_DOES_NOT_EXIST,
                              rv == MOQC_ERR_INVAL ? "bad namespace" : "track not found");
    return;
  }
  /* A track produced here knows its latest group: answer at once. */
  if (moqc_track_consumer_latest(tc) != MOQC_GROUP_NONE) {
    moqc_group_consumer *gc = NULL;
    (void)collect(tc, &gc);
    moqc_track_consumer_del(tc);
    moqc_broadcast_consumer_del(bc);
    answer_group(s, ss, m->request_id, gc);
    return;
  }
  itstat *t = moqc_calloc(1, sizeof *t);
  if (!t) {
    moqc_track_consumer_del(tc);
    moqc_broadcast_consumer_del(bc);
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  t->obj.destroy = its_free;
  t->s = s;
  t->req = m->request_id;
  t->bc = bc;
  t->tc = tc;
  moqc_timer_init(&t->timer, its_timeout, t);
  moqc_list_push_back(moqc__ietf_status_list(s), &t->link);
  if (ss) {
    t->ss = ss;
    ss->owner = t;
  }
  if (moqc_timer_start(s->clock, &t->timer, moqc__sess_now(s) + IETF_STATUS_WAIT_NS) < 0) {
    its_answer(t);
    return;
  }
  moqc_track_consumer_set_waker(tc, its_wake, t);
  its_wake(t); /* what the consumer already holds */
}

bool moqc__ietf_status_update(moqc_session *s, sstream *ss, uint64_t req) {
  itstat *t = ss ? ss->owner : NULL;
  moqc_link *l = moqc__ietf_status_list(s);
  for (moqc_link *it = l->next; !ss && it != l; it = it->next) {
    itstat *c = MOQC_CONTAINER_OF(it, itstat, link);
    if (c->req == req) t = c;
  }
  if (!t || !ss) return t != NULL;
  assert(t->ss == ss);
  t->ss = NULL;
  moqc__ietf_request_refuse(s, ss, MOQC_IETF_TRACK_STATUS_ERROR, t->req,
                            MOQC_IETF_REQERR_NOT_SUPPORTED, "a TRACK_STATUS cannot be updated");
  its_destroy(t);
  return true;
}

/* ---- 17+: the TRACK_STATUS request stream ---------------------------------------- */

static int tsreq_process(sstream *ss) {
  return moqc__ietf_req_in(ss, MOQC_IETF_TRACK_STATUS, moqc__ietf_on_track_status, NULL);
}

static void tsreq_end(sstream *ss, bool reset, uint64_t code) {
  (void)code;
  itstat *t = ss->owner;
  if (t && !reset) return; /* the request's FIN: the answer is still due */
  if (t) {
    assert(t->ss == ss);
    its_destroy(t); /* RESET / STOP_SENDING: cancelled */
    return;
  }
  moqc__ietf_req_close(ss, false);
}

const moqc__stream_kind moqc__sk_ietf_status_req = {
    .name = "ietf-track-status-in", .process = tsreq_process, .end = tsreq_end};
