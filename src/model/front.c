/* moqc model — origin fronts: the stable broadcast a request() returns.
 *
 * A front is an ordinary broadcast (its own bstate and tracks) owned by the
 * origin entry. Its tracks are fed by forwarders: one per subscribed track
 * name, each holding a consumer of the source's track (`in`) and the producer
 * of the front's track (`out`), and moving groups from one to the other BY
 * REFERENCE (moqc_track_producer_insert_group: the group state is shared, no
 * payload is copied).
 *
 * When the source is dropped the entry lingers and forwarders go dormant
 * (in = NULL) without ending `out`; a new publish re-attaches every forwarder
 * to the new source (takeover), so a subscriber of `out` never sees an end.
 * The new source is subscribed from its latest group; groups whose sequence
 * `out` still caches are skipped (a takeover is a reconnect of the same
 * content, so equal sequences are equal groups). If the linger expires, `out`
 * is aborted (Dropped). A different publisher taking the path (replace) aborts
 * `out` with Dropped and end reason REPLACED.
 *
 * Info: `out` is created with its info unknown and takes the source track's
 * info as soon as the source knows it (at once for an existing track, at the
 * accept of an on-demand one), before any group. An info query on the front
 * (moqc_broadcast_consumer_query_info) that finds no front track creates one
 * whose forwarder only *asks* upstream (`q`, an info query on the source:
 * no demand) instead of subscribing; the first consumer switches it to a
 * subscription (used hook), and a track left with queries but no consumer
 * before its info is known switches back.
 *
 * fetch_group on `out` falls through to the source's cache (fetch hook), so
 * a group cached upstream before `out` existed can still be fetched.
 *
 * Lifetime: the entry holds one reference on the front, each forwarder one.
 * A forwarder dies when its track ends, or when `out` has no consumer left
 * and no info query still waiting for the info (synchronous unused hook,
 * which also drops the upstream subscription at once).
 */
#include <assert.h>
#include <string.h>

#include "core/mem.h"
#include "model/internal.h"
#include "moqc/error.h"

struct moqc_front {
  moqc_env *env;
  uint32_t refs;
  moqc_oentry *e; /* NULL once detached from its entry */
  moqc_broadcast_producer *bp;
  moqc_link fwds;
};

typedef struct fwd {
  moqc_front *f;
  moqc_link node;
  moqc_track_producer *out;
  moqc_broadcast_consumer *src; /* the broadcast `in` / `q` came from */
  moqc_track_consumer *in;      /* subscribed upstream (out has consumers) */
  moqc_track_info_query *q;     /* asking upstream for the info (queries only) */
  bool learned;                 /* out's info was taken from the current source */
} fwd;

static void front_unref(moqc_front *f) {
  assert(f->refs > 0 && "front unref below zero");
  if (--f->refs > 0) return;
  moqc_broadcast_producer_del(f->bp);
  moqc_free(f);
}

static void front_detach(moqc_front *f) {
  f->e = NULL;
  moqc_broadcast_producer_state(f->bp)->resolve = NULL;
}

/* ---- forwarders ---------------------------------------------------------------------- */

static void fwd_release_source(fwd *w) {
  moqc_track_consumer_del(w->in);
  moqc_track_info_query_del(w->q);
  moqc_broadcast_consumer_del(w->src);
  w->in = NULL;
  w->q = NULL;
  w->src = NULL;
}

static void fwd_destroy(fwd *w) {
  moqc_list_unlink(&w->node);
  moqc_track_producer_set_hooks(w->out, NULL, NULL);
  moqc_track_producer_set_waker(w->out, NULL, NULL);
  fwd_release_source(w);
  moqc_track_producer_del(w->out); /* Dropped unless finished / aborted */
  moqc_front *f = w->f;
  moqc_free(w);
  front_unref(f);
}

static bool source_aborted(const moqc_broadcast_consumer *src) {
  int st = src ? moqc_broadcast_consumer_status(src) : MOQC_OK;
  return st != MOQC_OK && st != MOQC_ERR_CLOSED;
}

/* The entry's current source, NULL while lingering or once detached. */
static moqc_broadcast_consumer *fwd_source(const fwd *w) {
  return w->f->e ? moqc_oentry_source(w->f->e) : NULL;
}

static bool fwd_lingering(const fwd *w) { return w->f->e && moqc_oentry_lingering(w->f->e); }

static void fwd_learn(fwd *w, const moqc_track_info *info) {
  moqc_track_producer_set_info(w->out, info);
  w->learned = true;
}

/* Take the info from `in` as soon as the source knows it (at subscribe for an
 * existing track, at accept for an on-demand one). */
static void fwd_learn_info(fwd *w) {
  if (w->learned || !moqc_track_consumer_info_known(w->in)) return;
  fwd_learn(w, moqc_track_consumer_info(w->in));
}

/* `in` ended with rc (not AGAIN). */
static void fwd_ended(fwd *w, int rc) {
  if (rc == MOQC_ERR_CLOSED) {
    /* Every group `in` could deliver was forwarded (the source's consumer
     * reads CLOSED only then, model.h), so `out` may end here. */
    uint64_t fin = moqc_track_consumer_final(w->in);
    if (fin == MOQC_GROUP_NONE || moqc_track_producer_finish_at(w->out, fin) != MOQC_OK)
      moqc_track_producer_finish(w->out);
    fwd_destroy(w);
    return;
  }
  if (w->f->e && source_aborted(w->src)) { /* the entry lingers: wait for a takeover */
    fwd_release_source(w);
    return;
  }
  if (moqc_track_consumer_end_reason(w->in) == MOQC_END_REPLACED) /* pass the reason on */
    moqc_track_producer_replace(w->out);
  else moqc_track_producer_abort(w->out, moqc_track_consumer_code(w->in));
  fwd_destroy(w);
}

static void fwd_pump(void *arg) {
  fwd *w = arg;
  if (w->in) fwd_learn_info(w); /* an accept wakes `in` before any group */
  while (w->in) {
    moqc_group_consumer *gc = NULL;
    int rc = moqc_track_consumer_recv_group(w->in, &gc);
    if (rc == MOQC_ERR_AGAIN || rc == MOQC_ERR_NOMEM) return;
    if (rc != MOQC_OK) {
      fwd_ended(w, rc);
      return;
    }
    fwd_learn_info(w);
    (void)moqc_track_producer_insert_group(w->out, gc); /* DUPLICATE: already have it */
    moqc_group_consumer_del(gc);
  }
}

/* The front track's demand changed: forward it upstream. */
static void fwd_demand(void *arg) {
  fwd *w = arg;
  if (!w->in) return;
  moqc_track_demand d = moqc_track_producer_demand(w->out);
  if (d.consumers == 0) return;
  /* Pass priority/order/latency/end upstream, but keep the start the upstream
   * subscription was made with: its cursor is not rewound, and overwriting it
   * with "latest" would make an upstream that has not subscribed yet (lite-05
   * waits for TRACK_INFO) skip the groups the first subscriber asked for.
   * An explicit start below the one it asked for ("latest" counts as the
   * highest) is passed on, never a higher one: the source sees it in its
   * demand (a relay's upstream session fetches the groups from there, for a
   * FETCH that waits on a [start, end] subscription here), and the groups
   * that reach the source later are forwarded; the source's cache is still
   * read through fetch_group for what it held already. */
  uint64_t start = d.aggregate.start;
  uint64_t asked = moqc_track_consumer_subscription(w->in)->start;
  if (start == MOQC_GROUP_NONE || start >= asked) d.aggregate.start = asked;
  moqc_track_consumer_update(w->in, &d.aggregate);
}

/* Subscribe w to its track on src. MOQC_OK, or the subscribe error. */
static int fwd_attach(fwd *w, moqc_broadcast_consumer *src, const moqc_subscription *sub) {
  int rc = MOQC_ERR_NOMEM;
  w->src = moqc_broadcast_consumer_clone(src);
  if (w->src)
    w->in = moqc_broadcast_consumer_subscribe(src, moqc_track_producer_name(w->out), sub, &rc);
  if (!w->in) {
    moqc_broadcast_consumer_del(w->src);
    w->src = NULL;
    return rc;
  }
  w->learned = false; /* a new source may describe the track differently */
  fwd_learn_info(w);
  moqc_track_consumer_set_waker(w->in, fwd_pump, w); /* runs now if readable */
  return MOQC_OK;
}

/* The upstream info query answered (or failed). */
static void fwd_probe_wake(void *arg) {
  fwd *w = arg;
  if (!w->q) return;
  moqc_track_info info;
  int rc = moqc_track_info_query_get(w->q, &info);
  if (rc == MOQC_ERR_AGAIN) return;
  if (rc == MOQC_OK) {
    fwd_learn(w, &info);
    fwd_release_source(w); /* idle until a consumer comes or the queries go */
    return;
  }
  if (w->f->e && source_aborted(w->src)) { /* the entry lingers: wait for a takeover */
    fwd_release_source(w);
    return;
  }
  if (rc == MOQC_ERR_CLOSED) moqc_track_producer_finish(w->out);
  else moqc_track_producer_abort(w->out, moqc_track_info_query_code(w->q));
  fwd_destroy(w);
}

/* Only info queries want out: ask src for the info without subscribing.
 * MOQC_OK (learned already, or waiting), or the query error. */
static int fwd_probe(fwd *w, moqc_broadcast_consumer *src) {
  int rc = MOQC_ERR_NOMEM;
  w->src = moqc_broadcast_consumer_clone(src);
  if (w->src) w->q = moqc_broadcast_consumer_query_info(src, moqc_track_producer_name(w->out), &rc);
  if (!w->q) {
    moqc_broadcast_consumer_del(w->src);
    w->src = NULL;
    return rc;
  }
  moqc_track_info info;
  if (moqc_track_info_query_get(w->q, &info) == MOQC_OK) { /* known already: no wait */
    fwd_learn(w, &info);
    fwd_release_source(w);
    return MOQC_OK;
  }
  moqc_track_info_query_set_waker(w->q, fwd_probe_wake, w); /* runs if it failed meanwhile */
  return MOQC_OK;
}

/* `out` failed to reach the source with rc: end it (lingering: wait). */
static void fwd_failed(fwd *w, int rc, moqc_broadcast_consumer *src) {
  if (source_aborted(src)) return; /* dormant until a takeover */
  moqc_track_producer_abort(w->out, moqc_code_from_err(rc));
  fwd_destroy(w);
}

/* The last consumer of out went, or its last info query. */
static void fwd_unused(void *arg) {
  fwd *w = arg;
  const moqc_tstate *t = moqc_track_producer_state(w->out);
  if (t->nconsumers > 0) return;
  if (t->nqueries == 0 || t->info_known) {
    fwd_destroy(w); /* also drops the upstream subscription at once */
    return;
  }
  /* Queries still wait for the info: stop subscribing, ask instead. */
  if (w->q) return;
  fwd_release_source(w);
  moqc_broadcast_consumer *src = fwd_source(w);
  if (!src) return; /* lingering: a takeover probes */
  int rc = fwd_probe(w, src);
  if (rc) fwd_failed(w, rc, src);
}

/* The first consumer came to a track kept for info queries (or dormant). */
static void fwd_used(void *arg, const moqc_subscription *sub) {
  fwd *w = arg;
  if (w->in) return;
  moqc_broadcast_consumer *src = fwd_source(w);
  if (!src) {
    if (fwd_lingering(w)) return;       /* a takeover attaches */
    moqc_track_producer_finish(w->out); /* the source is gone: nothing will come */
    fwd_destroy(w);
    return;
  }
  fwd_release_source(w);
  int rc = fwd_attach(w, src, sub);
  if (rc) fwd_failed(w, rc, src);
}

/* fetch_group missed out's cache: the source's cache may still have it. */
static int fwd_fetch(void *arg, uint64_t sequence, moqc_group_consumer **out) {
  fwd *w = arg;
  if (!w->in) return MOQC_ERR_NOT_FOUND;
  return moqc_track_consumer_fetch_group(w->in, sequence, out);
}

static const moqc_track_hooks fwd_hooks = {fwd_unused, fwd_used, fwd_fetch};

/* bstate resolve hook: a front subscriber (or info query) asked for a track
 * it has not got. */
static int front_resolve(void *ctx, const char *name, const moqc_subscription *sub,
                         bool info_only) {
  moqc_front *f = ctx;
  moqc_broadcast_consumer *src = f->e ? moqc_oentry_source(f->e) : NULL;
  if (!src && !(f->e && moqc_oentry_lingering(f->e))) return MOQC_ERR_NOT_FOUND;
  fwd *w = moqc_calloc(1, sizeof *w);
  if (!w) return MOQC_ERR_NOMEM;
  int rc;
  w->f = f;
  w->out = moqc_broadcast_producer_create_track(f->bp, name, NULL, &rc);
  if (!w->out) {
    moqc_free(w);
    return rc;
  }
  moqc_track_producer_forget_info(w->out); /* until the source tells */
  f->refs++;
  moqc_link_init(&w->node); /* fresh (malloc'd) node */
  moqc_list_push_back(&f->fwds, &w->node);
  if (src) {
    rc = info_only ? fwd_probe(w, src) : fwd_attach(w, src, sub);
    if (rc && !source_aborted(src)) {
      moqc_track_producer_finish(w->out);
      fwd_destroy(w);
      return rc;
    }
  }
  moqc_track_producer_set_hooks(w->out, &fwd_hooks, w);
  moqc_track_producer_set_waker(w->out, fwd_demand, w);
  return MOQC_OK;
}

/* ---- front ------------------------------------------------------------------------------ */

moqc_front *moqc_front_new(moqc_env *env, moqc_oentry *e) {
  moqc_front *f = moqc_calloc(1, sizeof *f);
  if (!f) return NULL;
  f->bp = moqc_broadcast_producer_new(env);
  if (!f->bp) {
    moqc_free(f);
    return NULL;
  }
  f->env = env;
  f->refs = 1;
  f->e = e;
  moqc_link_init(&f->fwds);
  moqc_bstate *b = moqc_broadcast_producer_state(f->bp);
  b->resolve = front_resolve;
  b->resolve_ctx = f;
  return f;
}

moqc_broadcast_consumer *moqc_front_consume(moqc_front *f) {
  return moqc_broadcast_producer_consume(f->bp);
}

void moqc_front_takeover(moqc_front *f, moqc_broadcast_consumer *src) {
  moqc_link *it, *nx;
  MOQC_LIST_FOREACH_SAFE(it, nx, &f->fwds) {
    fwd *w = MOQC_CONTAINER_OF(it, fwd, node);
    fwd_release_source(w); /* a stale subscription to the dead source */
    moqc_track_demand d = moqc_track_producer_demand(w->out);
    d.aggregate.start = MOQC_GROUP_NONE; /* the new source's latest */
    int rc = MOQC_OK;
    if (d.consumers) rc = fwd_attach(w, src, &d.aggregate);
    else if (!moqc_track_producer_state(w->out)->info_known) rc = fwd_probe(w, src);
    if (rc) {
      moqc_track_producer_abort(w->out, moqc_code_from_err(rc));
      fwd_destroy(w);
    }
  }
}

/* Unpublished: every front track ends cleanly where it is. */
void moqc_front_close(moqc_front *f) {
  front_detach(f);
  moqc_link *it, *nx;
  MOQC_LIST_FOREACH_SAFE(it, nx, &f->fwds) {
    fwd *w = MOQC_CONTAINER_OF(it, fwd, node);
    moqc_track_producer_finish(w->out);
    fwd_destroy(w);
  }
  moqc_broadcast_producer_finish(f->bp);
  front_unref(f);
}

/* Replaced by a different publisher (moq-relay: the displaced front closes
 * and its logical tracks abort with Dropped): tracks that did not finish yet
 * are aborted with reason REPLACED, so their consumers tell "follow the
 * broadcast to its new source" from "finished by its publisher". A track
 * already finished (waiting for stragglers) ends cleanly where it is. */
void moqc_front_replaced(moqc_front *f) {
  front_detach(f);
  moqc_link *it, *nx;
  MOQC_LIST_FOREACH_SAFE(it, nx, &f->fwds) {
    fwd *w = MOQC_CONTAINER_OF(it, fwd, node);
    moqc_tstate *t = moqc_track_producer_state(w->out);
    if (t->final_seq != MOQC_GROUP_NONE) moqc_track_producer_finish(w->out);
    else moqc_track_producer_replace(w->out);
    assert(t->aborted || t->final_seq != MOQC_GROUP_NONE);
    fwd_destroy(w);
  }
  moqc_broadcast_producer_replace(f->bp);
  front_unref(f);
}

/* The source finished: live tracks flow on to their own end. */
void moqc_front_source_done(moqc_front *f) {
  front_detach(f);
  moqc_broadcast_producer_finish(f->bp);
  moqc_link *it, *nx;
  MOQC_LIST_FOREACH_SAFE(it, nx, &f->fwds) {
    fwd *w = MOQC_CONTAINER_OF(it, fwd, node);
    if (w->in || w->q) continue; /* still receiving / still asking */
    moqc_track_producer_finish(w->out);
    fwd_destroy(w);
  }
  front_unref(f);
}

void moqc_front_abort(moqc_front *f, uint64_t code) {
  front_detach(f);
  moqc_link *it, *nx; /* the entry's reference keeps f alive through the loop */
  MOQC_LIST_FOREACH_SAFE(it, nx, &f->fwds) {
    fwd *w = MOQC_CONTAINER_OF(it, fwd, node);
    moqc_track_producer_abort(w->out, code);
    fwd_destroy(w);
  }
  moqc_broadcast_producer_abort(f->bp, code);
  front_unref(f);
}
