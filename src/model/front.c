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
 * is aborted (Dropped).
 *
 * Lifetime: the entry holds one reference on the front, each forwarder one.
 * A forwarder dies when its track ends or when `out` loses its last consumer
 * (synchronous on_unused hook, which also drops the upstream subscription).
 */
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
  moqc_track_consumer *in;      /* NULL while dormant */
  moqc_broadcast_consumer *src; /* the broadcast `in` came from */
  bool info_known;
} fwd;

static void front_unref(moqc_front *f) {
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
  moqc_broadcast_consumer_del(w->src);
  w->in = NULL;
  w->src = NULL;
}

static void fwd_destroy(fwd *w) {
  moqc_list_remove(&w->node);
  moqc_track_producer_on_unused(w->out, NULL, NULL);
  moqc_track_producer_set_waker(w->out, NULL, NULL);
  fwd_release_source(w);
  moqc_track_producer_del(w->out); /* Dropped unless finished / aborted */
  moqc_front *f = w->f;
  moqc_free(w);
  front_unref(f);
}

static void fwd_unused(void *arg) { fwd_destroy(arg); }

static bool source_aborted(const moqc_broadcast_consumer *src) {
  int st = src ? moqc_broadcast_consumer_status(src) : MOQC_OK;
  return st != MOQC_OK && st != MOQC_ERR_CLOSED;
}

static void fwd_learn_info(fwd *w) {
  if (w->info_known || moqc_track_consumer_state(w->in)->pending) return;
  moqc_track_producer_set_info(w->out, moqc_track_consumer_info(w->in));
  w->info_known = true;
}

/* `in` ended with rc (not AGAIN). */
static void fwd_ended(fwd *w, int rc) {
  if (rc == MOQC_ERR_CLOSED) {
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
  moqc_track_producer_abort(w->out, moqc_track_consumer_code(w->in));
  fwd_destroy(w);
}

static void fwd_pump(void *arg) {
  fwd *w = arg;
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
   * waits for TRACK_INFO) skip the groups the first subscriber asked for. */
  d.aggregate.start = moqc_track_consumer_subscription(w->in)->start;
  moqc_track_consumer_update(w->in, &d.aggregate);
}

/* Subscribe w to its track on src. MOQC_OK, or the subscribe error. */
static int fwd_attach(fwd *w, moqc_broadcast_consumer *src, const moqc_subscription *sub) {
  int rc = MOQC_ERR_NOMEM;
  w->src = moqc_broadcast_consumer_clone(src);
  if (w->src) w->in = moqc_broadcast_consumer_subscribe(src, moqc_track_producer_name(w->out),
                                                        sub, &rc);
  if (!w->in) {
    moqc_broadcast_consumer_del(w->src);
    w->src = NULL;
    return rc;
  }
  w->info_known = false;
  fwd_learn_info(w);
  moqc_track_consumer_set_waker(w->in, fwd_pump, w); /* runs now if readable */
  return MOQC_OK;
}

/* bstate resolve hook: a front subscriber asked for a track it has not got. */
static int front_resolve(void *ctx, const char *name, const moqc_subscription *sub) {
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
  f->refs++;
  moqc_list_push_back(&f->fwds, &w->node);
  if (src) {
    rc = fwd_attach(w, src, sub);
    if (rc && !source_aborted(src)) {
      moqc_track_producer_finish(w->out);
      fwd_destroy(w);
      return rc;
    }
  }
  moqc_track_producer_on_unused(w->out, fwd_unused, w);
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
    int rc = fwd_attach(w, src, d.consumers ? &d.aggregate : NULL);
    if (rc) {
      moqc_track_producer_abort(w->out, moqc_code_from_err(rc));
      fwd_destroy(w);
    }
  }
}

/* Unpublished or replaced: every front track ends cleanly where it is. */
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

/* The source finished: live tracks flow on to their own end. */
void moqc_front_source_done(moqc_front *f) {
  front_detach(f);
  moqc_broadcast_producer_finish(f->bp);
  moqc_link *it, *nx;
  MOQC_LIST_FOREACH_SAFE(it, nx, &f->fwds) {
    fwd *w = MOQC_CONTAINER_OF(it, fwd, node);
    if (w->in) continue;
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
