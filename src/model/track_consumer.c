/* moqc model — tracks, consumer side.
 *
 * A consumer is an arrival-order cursor over the track's cache: `cursor` is
 * the next arrival number to look at, found by binary search, so an evicted
 * entry simply disappears from under it (the group is skipped). `start` is the
 * lowest sequence delivered (the latest group at subscribe time unless the
 * subscription names one). Groups above the subscription's end are parked
 * (with a reference) until the end is raised.
 */
#include <assert.h>
#include <string.h>

#include "core/mem.h"
#include "model/internal.h"
#include "moqc/error.h"

struct moqc_track_consumer {
  moqc_tstate *t;
  moqc_link node;
  moqc_waiter w;
  moqc_subscription sub;
  uint64_t start;  /* resolved first sequence */
  uint64_t cursor; /* next arrival number */
  moqc_gstate **parked;
  size_t nparked, capparked;
};

moqc_tstate *moqc_track_consumer_state(const moqc_track_consumer *c) { return c->t; }

void moqc_tstate_wake(moqc_tstate *t) {
  moqc_link *it;
  for (it = t->consumers.next; it != &t->consumers; it = it->next)
    moqc_waiter_wake(&MOQC_CONTAINER_OF(it, moqc_track_consumer, node)->w);
}

/* ---- demand ------------------------------------------------------------------------ */

moqc_track_demand moqc_track_producer_demand(const moqc_track_producer *p) {
  const moqc_tstate *t = moqc_track_producer_state(p);
  moqc_track_demand d = {0, {0, false, 0, MOQC_GROUP_NONE, MOQC_GROUP_NONE}};
  const moqc_link *it;
  for (it = t->consumers.next; it != &t->consumers; it = it->next) {
    const moqc_subscription *s = &MOQC_CONTAINER_OF(it, moqc_track_consumer, node)->sub;
    if (d.consumers == 0 || s->priority > d.aggregate.priority) d.aggregate.priority = s->priority;
    d.aggregate.ordered = d.aggregate.ordered || s->ordered;
    if (s->latency_max_ms > d.aggregate.latency_max_ms)
      d.aggregate.latency_max_ms = s->latency_max_ms;
    if (s->start < d.aggregate.start) d.aggregate.start = s->start;
    if (d.consumers == 0 || s->end > d.aggregate.end) d.aggregate.end = s->end;
    d.consumers++;
  }
  return d;
}

/* ---- lifecycle --------------------------------------------------------------------- */

static uint64_t tc_resolve_start(const moqc_tstate *t, uint64_t start) {
  if (start != MOQC_GROUP_NONE) return start;
  if (t->cache_latest != MOQC_GROUP_NONE) return t->cache_latest;
  return t->max_seq != MOQC_GROUP_NONE ? t->max_seq : 0;
}

static moqc_track_consumer *tc_new(moqc_tstate *t, const moqc_subscription *sub) {
  moqc_track_consumer *c = moqc_calloc(1, sizeof *c);
  if (!c) return NULL;
  c->t = t;
  c->sub = sub ? *sub : MOQC_SUBSCRIPTION_DEFAULT;
  c->start = tc_resolve_start(t, c->sub.start);
  t->refs++;
  moqc_waiter_init(&c->w, t->env);
  moqc_link_init(&c->node); /* fresh (malloc'd) node */
  moqc_list_push_back(&t->consumers, &c->node);
  t->nconsumers++;
  moqc_waiter_kick(&t->pw); /* demand changed */
  return c;
}

moqc_track_consumer *moqc_tstate_consume(moqc_tstate *t, const moqc_subscription *sub) {
  return tc_new(t, sub);
}

moqc_track_consumer *moqc_track_producer_consume(moqc_track_producer *p,
                                                 const moqc_subscription *sub) {
  return tc_new(moqc_track_producer_state(p), sub);
}

static int tc_park(moqc_track_consumer *c, moqc_gstate *g) {
  if (c->nparked == c->capparked) {
    size_t ncap = c->capparked ? c->capparked * 2 : 4;
    moqc_gstate **n = moqc_reallocarray(c->parked, ncap, sizeof *n);
    if (!n) return MOQC_ERR_NOMEM;
    c->parked = n;
    c->capparked = ncap;
  }
  moqc_gstate_ref(g);
  c->parked[c->nparked++] = g;
  return MOQC_OK;
}

static void tc_unpark_all(moqc_track_consumer *c) {
  for (size_t i = 0; i < c->nparked; i++) moqc_gstate_unref(c->parked[i]);
  c->nparked = 0;
}

moqc_track_consumer *moqc_track_consumer_clone(const moqc_track_consumer *c) {
  moqc_track_consumer *n = tc_new(c->t, &c->sub);
  if (!n) return NULL;
  n->start = c->start;
  n->cursor = c->cursor;
  for (size_t i = 0; i < c->nparked; i++) {
    if (tc_park(n, c->parked[i])) {
      moqc_track_consumer_del(n);
      return NULL;
    }
  }
  return n;
}

void moqc_track_consumer_del(moqc_track_consumer *c) {
  if (!c) return;
  moqc_tstate *t = c->t;
  moqc_waiter_fini(&c->w);
  moqc_list_remove(&c->node);
  t->nconsumers--;
  tc_unpark_all(c);
  moqc_free(c->parked);
  moqc_free(c);
  /* c's reference keeps t alive through the hook (which may drop the
   * producer, e.g. an origin forwarder tearing itself down). */
  if (t->nconsumers == 0) moqc_tstate_unused(t);
  moqc_waiter_kick(&t->pw);
  moqc_tstate_unref(t);
}

const char *moqc_track_consumer_name(const moqc_track_consumer *c) { return c->t->name; }
const moqc_track_info *moqc_track_consumer_info(const moqc_track_consumer *c) {
  return &c->t->info;
}
bool moqc_track_consumer_info_known(const moqc_track_consumer *c) { return c->t->info_known; }
const moqc_subscription *moqc_track_consumer_subscription(const moqc_track_consumer *c) {
  return &c->sub;
}
uint64_t moqc_track_consumer_latest(const moqc_track_consumer *c) { return c->t->max_seq; }
uint64_t moqc_track_consumer_final(const moqc_track_consumer *c) { return c->t->final_seq; }
uint64_t moqc_track_consumer_code(const moqc_track_consumer *c) {
  return c->t->aborted ? c->t->code : MOQC_CODE_CANCEL;
}
moqc_end_reason moqc_track_consumer_end_reason(const moqc_track_consumer *c) {
  const moqc_tstate *t = c->t;
  assert(!t->replaced || t->aborted);
  if (t->aborted) return t->replaced ? MOQC_END_REPLACED : MOQC_END_ABORTED;
  return t->final_seq != MOQC_GROUP_NONE ? MOQC_END_FINISHED : MOQC_END_NONE;
}

/* ---- reading ------------------------------------------------------------------------ */

static bool tc_above_end(const moqc_track_consumer *c, uint64_t sequence) {
  return c->sub.end != MOQC_GROUP_NONE && sequence > c->sub.end;
}

/* Index of the lowest parked group now inside [start, end], or SIZE_MAX. */
static size_t tc_parked_ready(const moqc_track_consumer *c) {
  size_t best = SIZE_MAX;
  for (size_t i = 0; i < c->nparked; i++) {
    uint64_t s = c->parked[i]->sequence;
    if (tc_above_end(c, s) || s < c->start) continue;
    if (best == SIZE_MAX || s < c->parked[best]->sequence) best = i;
  }
  return best;
}

/* Nothing more can reach c: the track is finished and no sequence at or
 * above c's start is still awaited (gaps.c), or no producer is left. */
static bool tc_complete(const moqc_track_consumer *c) {
  const moqc_tstate *t = c->t;
  if (t->final_seq == MOQC_GROUP_NONE || t->pending) return false;
  return t->producers == 0 || !moqc_gaps_block(t, c->start);
}

static int tc_take_parked(moqc_track_consumer *c, moqc_group_consumer **out) {
  size_t i = tc_parked_ready(c);
  if (i == SIZE_MAX) return MOQC_ERR_AGAIN;
  moqc_gstate *g = c->parked[i];
  *out = moqc_gstate_consume(g);
  if (!*out) return MOQC_ERR_NOMEM;
  c->parked[i] = c->parked[--c->nparked];
  moqc_gstate_unref(g);
  return MOQC_OK;
}

/* Scan the cache from the cursor for the next deliverable group. */
static int tc_scan(moqc_track_consumer *c, moqc_group_consumer **out) {
  moqc_tstate *t = c->t;
  for (size_t i = moqc_cache_lower_bound(t, c->cursor); i < t->nents; i++) {
    moqc_centry *e = t->ents[i];
    moqc_gstate *g = e->g;
    if (g->aborted || g->sequence < c->start) {
      c->cursor = e->arrival + 1;
      continue;
    }
    if (tc_above_end(c, g->sequence)) {
      if (tc_park(c, g)) return MOQC_ERR_NOMEM;
      c->cursor = e->arrival + 1;
      continue;
    }
    *out = moqc_gstate_consume(g);
    if (!*out) return MOQC_ERR_NOMEM;
    c->cursor = e->arrival + 1;
    return MOQC_OK;
  }
  return MOQC_ERR_AGAIN;
}

int moqc_track_consumer_recv_group(moqc_track_consumer *c, moqc_group_consumer **out) {
  moqc_tstate *t = c->t;
  if (t->aborted) {
    tc_unpark_all(c);
    return moqc_err_from_code(t->code);
  }
  int rc = tc_take_parked(c, out);
  if (rc != MOQC_ERR_AGAIN) return rc;
  rc = tc_scan(c, out);
  if (rc != MOQC_ERR_AGAIN) return rc;
  if (c->nparked == 0 && tc_complete(c)) return MOQC_ERR_CLOSED;
  moqc_waiter_park(&c->w);
  return MOQC_ERR_AGAIN;
}

int moqc_track_consumer_fetch_group(moqc_track_consumer *c, uint64_t sequence,
                                    moqc_group_consumer **out) {
  moqc_tstate *t = c->t;
  moqc_centry *e = moqc_cache_find(t, sequence);
  if (!e) {
    /* An origin front track falls through to its source's cache. */
    if (!t->aborted && t->hooks && t->hooks->fetch)
      return t->hooks->fetch(t->hooks_ctx, sequence, out);
    return MOQC_ERR_NOT_FOUND;
  }
  *out = moqc_gstate_consume(e->g);
  return *out ? MOQC_OK : MOQC_ERR_NOMEM;
}

static bool tc_readable(const moqc_track_consumer *c) {
  const moqc_tstate *t = c->t;
  if (t->aborted || tc_parked_ready(c) != SIZE_MAX) return true;
  if (moqc_cache_lower_bound(t, c->cursor) < t->nents) return true;
  return tc_complete(c);
}

void moqc_track_consumer_set_waker(moqc_track_consumer *c, moqc_waker_fn fn, void *arg) {
  moqc_waiter_set(&c->w, fn, arg, fn && tc_readable(c));
}

int moqc_track_consumer_update(moqc_track_consumer *c, const moqc_subscription *sub) {
  moqc_subscription s = sub ? *sub : MOQC_SUBSCRIPTION_DEFAULT;
  c->sub = s;
  if (s.start != MOQC_GROUP_NONE) c->start = s.start;
  /* Parked groups now below the start are dropped. */
  for (size_t i = 0; i < c->nparked;) {
    if (c->parked[i]->sequence < c->start) {
      moqc_gstate_unref(c->parked[i]);
      c->parked[i] = c->parked[--c->nparked];
    } else {
      i++;
    }
  }
  moqc_waiter_kick(&c->t->pw);
  if (tc_parked_ready(c) != SIZE_MAX) moqc_waiter_wake(&c->w);
  return c->t->aborted ? MOQC_ERR_CLOSED : MOQC_OK;
}
