/* moqc model — broadcasts: a named set of tracks from one publisher, plus
 * on-demand track requests.
 *
 * The broadcast's track list is WEAK: a track is listed while it has a
 * producer (or is a pending request) and not aborted; tracks are owned by
 * their producer / consumer handles. A request is a pending track (no
 * producer yet, info unknown) that consumers can already hold; accepting it
 * gives it a producer, rejecting it aborts it with the given code.
 */
#include <assert.h>
#include <string.h>

#include "core/mem.h"
#include "model/internal.h"
#include "moqc/error.h"

struct moqc_broadcast_producer {
  moqc_bstate *b;
};

struct moqc_broadcast_consumer {
  moqc_bstate *b;
  moqc_link node;
  moqc_waiter w;
};

struct moqc_track_request {
  moqc_tstate *t; /* one reference */
  moqc_link node; /* in b->reqs while queued */
};

moqc_bstate *moqc_broadcast_producer_state(const moqc_broadcast_producer *p) { return p->b; }
moqc_bstate *moqc_broadcast_consumer_state(const moqc_broadcast_consumer *c) { return c->b; }

/* ---- state -------------------------------------------------------------------------- */

void moqc_tstate_detach(moqc_tstate *t) {
  moqc_list_unlink(&t->bnode);
  t->bcast = NULL;
}

static void bstate_wake(moqc_bstate *b) {
  moqc_link *it;
  for (it = b->consumers.next; it != &b->consumers; it = it->next)
    moqc_waiter_kick(&MOQC_CONTAINER_OF(it, moqc_broadcast_consumer, node)->w);
  moqc_waiter_kick(&b->pw);
}

static void request_free(moqc_track_request *r) {
  moqc_list_unlink(&r->node);
  moqc_tstate_unref(r->t);
  moqc_free(r);
}

/* Fail every queued request's pending track with code. */
static void bstate_drop_requests(moqc_bstate *b, uint64_t code) {
  while (!moqc_list_empty(&b->reqs)) {
    moqc_track_request *r = MOQC_CONTAINER_OF(b->reqs.next, moqc_track_request, node);
    moqc_list_remove(&r->node);
    if (r->t->pending) {
      r->t->pending = false;
      moqc_tstate_abort(r->t, code);
    }
    request_free(r);
  }
}

static void bstate_unref(moqc_bstate *b) {
  assert(b->refs > 0 && "broadcast state unref below zero");
  if (--b->refs > 0) return;
  bstate_drop_requests(b, MOQC_CODE_DROPPED);
  while (!moqc_list_empty(&b->tracks))
    moqc_tstate_detach(MOQC_CONTAINER_OF(b->tracks.next, moqc_tstate, bnode));
  moqc_waiter_fini(&b->pw);
  moqc_account_unref(b->acct);
  moqc_free(b);
}

static moqc_tstate *bstate_find(const moqc_bstate *b, const char *name) {
  const moqc_link *it;
  for (it = b->tracks.next; it != &b->tracks; it = it->next) {
    moqc_tstate *t = MOQC_CONTAINER_OF(it, moqc_tstate, bnode);
    if (strcmp(t->name, name) == 0) return t;
  }
  return NULL;
}

static void bstate_list(moqc_bstate *b, moqc_tstate *t) {
  t->bcast = b;
  if (b->acct && !t->acct) t->acct = moqc_account_ref(b->acct);
  moqc_list_push_back(&b->tracks, &t->bnode);
}

void moqc_bstate_set_account(moqc_bstate *b, moqc_account *a) {
  if (b->acct || !a) return; /* the first account stays */
  b->acct = moqc_account_ref(a);
  moqc_link *it;
  for (it = b->tracks.next; it != &b->tracks; it = it->next) {
    moqc_tstate *t = MOQC_CONTAINER_OF(it, moqc_tstate, bnode);
    if (!t->acct) t->acct = moqc_account_ref(a);
  }
}

static void bstate_abort(moqc_bstate *b, uint64_t code) {
  if (b->aborted) return;
  b->refs++;
  b->aborted = true;
  b->code = code;
  bstate_drop_requests(b, code);
  /* Cascade to every track still open (finished tracks end on their own). */
  moqc_link *it, *nx;
  MOQC_LIST_FOREACH_SAFE(it, nx, &b->tracks) {
    moqc_tstate *t = MOQC_CONTAINER_OF(it, moqc_tstate, bnode);
    if (t->final_seq == MOQC_GROUP_NONE) {
      t->pending = false;
      moqc_tstate_abort(t, code);
    }
  }
  bstate_wake(b);
  bstate_unref(b);
}

/* ---- producer ------------------------------------------------------------------------- */

static moqc_broadcast_producer *bp_new(moqc_bstate *b) {
  moqc_broadcast_producer *p = moqc_malloc(sizeof *p);
  if (!p) return NULL;
  p->b = b;
  b->refs++;
  b->producers++;
  return p;
}

moqc_broadcast_producer *moqc_broadcast_producer_new(moqc_env *env) {
  moqc_bstate *b = moqc_calloc(1, sizeof *b);
  if (!b) return NULL;
  b->env = env;
  moqc_link_init(&b->tracks);
  moqc_link_init(&b->reqs);
  moqc_link_init(&b->consumers);
  moqc_waiter_init(&b->pw, env);
  moqc_broadcast_producer *p = bp_new(b);
  if (!p) moqc_free(b);
  return p;
}

moqc_broadcast_producer *moqc_broadcast_producer_clone(moqc_broadcast_producer *p) {
  return bp_new(p->b);
}

void moqc_broadcast_producer_del(moqc_broadcast_producer *p) {
  if (!p) return;
  moqc_bstate *b = p->b;
  if (b->pw_owner == p) { /* the waker registration goes with its handle */
    moqc_waiter_set(&b->pw, NULL, NULL, false);
    b->pw_owner = NULL;
  }
  moqc_free(p);
  assert(b->producers > 0);
  if (--b->producers == 0 && !b->finished) bstate_abort(b, MOQC_CODE_DROPPED);
  bstate_unref(b);
}

/* A pending track gets its producer: queued requests for it are moot. */
static void bstate_adopt(moqc_bstate *b, moqc_tstate *t, const moqc_track_info *info) {
  moqc_link *it, *nx;
  MOQC_LIST_FOREACH_SAFE(it, nx, &b->reqs) {
    moqc_track_request *r = MOQC_CONTAINER_OF(it, moqc_track_request, node);
    if (r->t == t) request_free(r);
  }
  t->pending = false;
  t->info = info ? *info : MOQC_TRACK_INFO_DEFAULT;
  t->info_known = true;
  moqc_tstate_info_wake(t);
}

moqc_track_producer *moqc_broadcast_producer_create_track(moqc_broadcast_producer *p,
                                                          const char *name,
                                                          const moqc_track_info *info, int *err) {
  moqc_bstate *b = p->b;
  moqc_track_producer *tp = NULL;
  int rc = MOQC_ERR_STATE;
  if (b->finished || b->aborted) goto out;
  rc = MOQC_ERR_INVAL;
  if (!name || (info && info->timescale == 0)) goto out;
  moqc_tstate *t = bstate_find(b, name);
  if (t && !t->pending) {
    rc = MOQC_ERR_DUPLICATE;
    goto out;
  }
  rc = MOQC_ERR_NOMEM;
  if (t) { /* a subscriber asked for it first: it becomes this track */
    tp = moqc_tstate_produce(t);
    if (tp) bstate_adopt(b, t, info);
    if (tp) moqc_tstate_wake(t);
  } else if ((t = moqc_tstate_new(b->env, name, info)) != NULL) {
    tp = moqc_tstate_produce(t);
    if (tp) bstate_list(b, t);
    moqc_tstate_unref(t);
  }
  if (tp) rc = MOQC_OK;
out:
  if (err) *err = rc;
  return tp;
}

int moqc_broadcast_producer_finish(moqc_broadcast_producer *p) {
  moqc_bstate *b = p->b;
  if (b->aborted) return MOQC_ERR_STATE;
  if (b->finished) return MOQC_OK;
  b->finished = true;
  bstate_drop_requests(b, MOQC_CODE_NOT_FOUND);
  bstate_wake(b);
  return MOQC_OK;
}

void moqc_broadcast_producer_abort(moqc_broadcast_producer *p, uint64_t code) {
  bstate_abort(p->b, code);
}

void moqc_broadcast_producer_replace(moqc_broadcast_producer *p) {
  moqc_bstate *b = p->b;
  if (b->aborted || b->finished) return; /* the first end wins */
  b->replaced = true;
  moqc_link *it;
  for (it = b->tracks.next; it != &b->tracks; it = it->next) {
    moqc_tstate *t = MOQC_CONTAINER_OF(it, moqc_tstate, bnode);
    if (t->final_seq == MOQC_GROUP_NONE && !t->aborted) t->replaced = true; /* aborted below */
  }
  bstate_abort(b, MOQC_CODE_DROPPED);
  assert(b->aborted);
}

/* ---- requests --------------------------------------------------------------------------- */

void moqc_broadcast_producer_enable_requests(moqc_broadcast_producer *p, bool on) {
  p->b->requests_on = on;
}

void moqc_broadcast_producer_set_waker(moqc_broadcast_producer *p, moqc_waker_fn fn, void *arg) {
  moqc_bstate *b = p->b;
  b->pw_owner = fn ? p : NULL;
  moqc_waiter_set(&b->pw, fn, arg, fn && !moqc_list_empty(&b->reqs));
}

int moqc_broadcast_producer_next_request(moqc_broadcast_producer *p, moqc_track_request **out) {
  moqc_bstate *b = p->b;
  if (!moqc_list_empty(&b->reqs)) {
    moqc_track_request *r = MOQC_CONTAINER_OF(b->reqs.next, moqc_track_request, node);
    moqc_list_remove(&r->node);
    *out = r;
    return MOQC_OK;
  }
  if (b->finished || b->aborted) return MOQC_ERR_CLOSED;
  moqc_waiter_park(&b->pw);
  return MOQC_ERR_AGAIN;
}

const char *moqc_track_request_name(const moqc_track_request *r) { return r->t->name; }

moqc_track_producer *moqc_track_request_accept(moqc_track_request *r, const moqc_track_info *info) {
  moqc_tstate *t = r->t;
  if (info && info->timescale == 0) info = NULL;
  moqc_track_producer *tp = moqc_tstate_produce(t);
  if (!tp) return NULL; /* the request stays valid: retry or reject */
  if (t->pending) {
    t->pending = false;
    t->info = info ? *info : MOQC_TRACK_INFO_DEFAULT;
    t->info_known = true;
    moqc_tstate_wake(t);
    moqc_tstate_info_wake(t);
  }
  request_free(r);
  return tp;
}

void moqc_track_request_reject(moqc_track_request *r, uint64_t code) {
  moqc_tstate *t = r->t;
  if (t->pending) {
    t->pending = false;
    moqc_tstate_abort(t, code);
  }
  request_free(r);
}

/* Create a pending track for name and queue a request for it. */
static moqc_tstate *bstate_request(moqc_bstate *b, const char *name) {
  moqc_tstate *t = moqc_tstate_new(b->env, name, NULL);
  if (!t) return NULL;
  moqc_track_request *r = moqc_malloc(sizeof *r);
  if (!r) {
    moqc_tstate_unref(t);
    return NULL;
  }
  t->pending = true;
  t->info_known = false;
  bstate_list(b, t);
  r->t = t;                 /* takes the creation reference */
  moqc_link_init(&r->node); /* fresh (malloc'd) node */
  moqc_list_push_back(&b->reqs, &r->node);
  moqc_waiter_kick(&b->pw);
  return t;
}

/* ---- consumer ---------------------------------------------------------------------------- */

static moqc_broadcast_consumer *bc_new(moqc_bstate *b) {
  moqc_broadcast_consumer *c = moqc_malloc(sizeof *c);
  if (!c) return NULL;
  c->b = b;
  b->refs++;
  moqc_waiter_init(&c->w, b->env);
  moqc_link_init(&c->node); /* fresh (malloc'd) node */
  moqc_list_push_back(&b->consumers, &c->node);
  return c;
}

moqc_broadcast_consumer *moqc_broadcast_producer_consume(moqc_broadcast_producer *p) {
  return bc_new(p->b);
}

moqc_broadcast_consumer *moqc_broadcast_consumer_clone(const moqc_broadcast_consumer *c) {
  return bc_new(c->b);
}

void moqc_broadcast_consumer_del(moqc_broadcast_consumer *c) {
  if (!c) return;
  moqc_waiter_fini(&c->w);
  moqc_list_remove(&c->node);
  bstate_unref(c->b);
  moqc_free(c);
}

int moqc_broadcast_consumer_status(const moqc_broadcast_consumer *c) {
  const moqc_bstate *b = c->b;
  if (b->aborted) return moqc_err_from_code(b->code);
  return b->finished ? MOQC_ERR_CLOSED : MOQC_OK;
}

uint64_t moqc_broadcast_consumer_code(const moqc_broadcast_consumer *c) {
  return c->b->aborted ? c->b->code : MOQC_CODE_CANCEL;
}

moqc_end_reason moqc_broadcast_consumer_end_reason(const moqc_broadcast_consumer *c) {
  const moqc_bstate *b = c->b;
  assert(!b->replaced || b->aborted);
  if (b->aborted) return b->replaced ? MOQC_END_REPLACED : MOQC_END_ABORTED;
  return b->finished ? MOQC_END_FINISHED : MOQC_END_NONE;
}

const char *moqc_end_reason_str(moqc_end_reason r) {
  switch (r) {
    case MOQC_END_NONE: return "none";
    case MOQC_END_FINISHED: return "finished";
    case MOQC_END_ABORTED: return "aborted";
    case MOQC_END_REPLACED: return "replaced";
  }
  return "unknown";
}

void moqc_broadcast_consumer_set_waker(moqc_broadcast_consumer *c, moqc_waker_fn fn, void *arg) {
  moqc_waiter_set(&c->w, fn, arg, fn && moqc_broadcast_consumer_status(c) != MOQC_OK);
}

static moqc_tstate *bc_lookup(moqc_bstate *b, const char *name, const moqc_subscription *sub,
                              bool info_only, int *rc) {
  moqc_tstate *t = bstate_find(b, name);
  if (t) return t;
  if (b->resolve) {
    *rc = b->resolve(b->resolve_ctx, name, sub, info_only);
    if (*rc) return NULL;
    if ((t = bstate_find(b, name)) != NULL) return t;
  }
  if (b->aborted) *rc = moqc_err_from_code(b->code);
  else if (b->finished) *rc = MOQC_ERR_CLOSED;
  else if (!b->requests_on) *rc = MOQC_ERR_NOT_FOUND;
  else if ((t = bstate_request(b, name)) == NULL) *rc = MOQC_ERR_NOMEM;
  return t;
}

moqc_track_consumer *moqc_broadcast_consumer_subscribe(moqc_broadcast_consumer *c, const char *name,
                                                       const moqc_subscription *sub, int *err) {
  int rc = MOQC_ERR_INVAL;
  moqc_track_consumer *tc = NULL;
  moqc_tstate *t = name ? bc_lookup(c->b, name, sub, false, &rc) : NULL;
  if (t) {
    t->refs++; /* a failed consume may run the unused hook, which can drop t */
    tc = moqc_tstate_consume(t, sub);
    rc = tc ? MOQC_OK : MOQC_ERR_NOMEM;
    if (!tc) moqc_tstate_unused(t);
    else if (t->nconsumers == 1 && t->hooks && t->hooks->used)
      t->hooks->used(t->hooks_ctx, sub); /* may end the track: tc reads it */
    moqc_tstate_unref(t);
  }
  if (err) *err = rc;
  return tc;
}

moqc_track_info_query *moqc_broadcast_consumer_query_info(moqc_broadcast_consumer *c,
                                                          const char *name, int *err) {
  int rc = MOQC_ERR_INVAL;
  moqc_track_info_query *q = NULL;
  moqc_tstate *t = name ? bc_lookup(c->b, name, NULL, true, &rc) : NULL;
  if (t) {
    t->refs++;
    q = moqc_tstate_query(t);
    rc = q ? MOQC_OK : MOQC_ERR_NOMEM;
    if (!q && t->nqueries == 0) moqc_tstate_unused(t);
    moqc_tstate_unref(t);
  }
  if (err) *err = rc;
  return q;
}
