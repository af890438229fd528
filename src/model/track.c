/* moqc model — tracks, producer side: the shared track state, group creation
 * (append / explicit sequence / shared insert), finish, abort.
 * The consumer side (arrival-order cursors, demand) is in track_consumer.c,
 * the cache in cache.c.
 */
#include <assert.h>
#include <string.h>

#include "core/codec.h"
#include "core/mem.h"
#include "model/internal.h"
#include "moqc/error.h"

struct moqc_track_producer {
  moqc_tstate *t;
};

/* ---- state ----------------------------------------------------------------------- */

moqc_tstate *moqc_tstate_new(moqc_env *env, const char *name, const moqc_track_info *info) {
  moqc_track_info inf = info ? *info : MOQC_TRACK_INFO_DEFAULT;
  if (inf.timescale == 0) return NULL;
  moqc_tstate *t = moqc_calloc(1, sizeof *t);
  if (!t) return NULL;
  t->name = moqc_strdup(name ? name : "");
  if (!t->name) {
    moqc_free(t);
    return NULL;
  }
  t->env = env;
  t->refs = 1;
  t->info = inf;
  t->info_known = true;
  t->cache_latest = t->max_seq = t->final_seq = MOQC_GROUP_NONE;
  moqc_link_init(&t->consumers);
  moqc_link_init(&t->queries);
  moqc_link_init(&t->open_groups);
  moqc_link_init(&t->bnode);
  moqc_waiter_init(&t->pw, env);
  moqc_timer_init(&t->timer, moqc_cache_timer_cb, t);
  return t;
}

static void tstate_orphan_groups(moqc_tstate *t) {
  while (!moqc_list_empty(&t->open_groups)) {
    moqc_gstate *g = MOQC_CONTAINER_OF(t->open_groups.next, moqc_gstate, owner_node);
    moqc_list_remove(&g->owner_node);
    g->owner = NULL;
  }
}

void moqc_tstate_unref(moqc_tstate *t) {
  if (!t) return;
  assert(t->refs > 0 && "track state unref below zero");
  if (--t->refs > 0) return;
  moqc_cache_clear(t);
  moqc_timer_stop(t->env->clock, &t->timer);
  tstate_orphan_groups(t);
  moqc_tstate_detach(t);
  moqc_waiter_fini(&t->pw);
  moqc_account_unref(t->acct);
  moqc_gaps_clear(t);
  moqc_free(t->ents_base);
  moqc_free(t->name);
  moqc_free(t);
}

void moqc_tstate_abort(moqc_tstate *t, uint64_t code) {
  if (t->aborted) return;
  t->refs++;
  t->aborted = true;
  t->code = code;
  moqc_cache_clear(t);
  moqc_gaps_clear(t);
  /* Cascade to the groups this track is still writing. */
  while (!moqc_list_empty(&t->open_groups))
    moqc_gstate_abort(MOQC_CONTAINER_OF(t->open_groups.next, moqc_gstate, owner_node), code);
  moqc_tstate_detach(t);
  moqc_tstate_wake(t);
  moqc_tstate_info_wake(t);
  moqc_tstate_unref(t);
}

/* ---- producer handles ------------------------------------------------------------- */

moqc_track_producer *moqc_tstate_produce(moqc_tstate *t) {
  moqc_track_producer *p = moqc_malloc(sizeof *p);
  if (!p) return NULL;
  p->t = t;
  t->refs++;
  t->producers++;
  return p;
}

moqc_tstate *moqc_track_producer_state(const moqc_track_producer *p) { return p->t; }

moqc_track_producer *moqc_track_producer_new(moqc_env *env, const char *name,
                                             const moqc_track_info *info) {
  moqc_tstate *t = moqc_tstate_new(env, name, info);
  if (!t) return NULL;
  moqc_track_producer *p = moqc_tstate_produce(t);
  moqc_tstate_unref(t);
  return p;
}

moqc_track_producer *moqc_track_producer_clone(moqc_track_producer *p) {
  return moqc_tstate_produce(p->t);
}

void moqc_track_producer_del(moqc_track_producer *p) {
  if (!p) return;
  moqc_tstate *t = p->t;
  if (t->pw_owner == p) { /* the waker registration goes with its handle */
    moqc_waiter_set(&t->pw, NULL, NULL, false);
    t->pw_owner = NULL;
  }
  moqc_free(p);
  assert(t->producers > 0);
  if (--t->producers == 0 && !t->pending) {
    if (!t->aborted && t->final_seq == MOQC_GROUP_NONE) {
      moqc_tstate_abort(t, MOQC_CODE_DROPPED);
    } else {
      /* Finished: nothing below the final sequence can arrive any more. */
      moqc_tstate_detach(t);
      moqc_tstate_wake(t);
      moqc_tstate_info_wake(t);
    }
  }
  moqc_tstate_unref(t);
}

const char *moqc_track_producer_name(const moqc_track_producer *p) { return p->t->name; }
const moqc_track_info *moqc_track_producer_info(const moqc_track_producer *p) {
  return &p->t->info;
}
uint64_t moqc_track_producer_latest(const moqc_track_producer *p) { return p->t->max_seq; }

void moqc_track_producer_set_hooks(moqc_track_producer *p, const moqc_track_hooks *h, void *ctx) {
  p->t->hooks = h;
  p->t->hooks_ctx = h ? ctx : NULL;
}

void moqc_tstate_unused(moqc_tstate *t) {
  if (t->nconsumers == 0 && t->hooks && t->hooks->unused) t->hooks->unused(t->hooks_ctx);
}

void moqc_track_producer_set_info(moqc_track_producer *p, const moqc_track_info *info) {
  moqc_tstate *t = p->t;
  if (!info->timescale) return;
  t->info = *info;
  if (t->info_known) return;
  t->info_known = true;
  moqc_tstate_info_wake(t);
  moqc_tstate_wake(t); /* a forwarder reading this track learns it too */
}

void moqc_track_producer_forget_info(moqc_track_producer *p) { p->t->info_known = false; }

/* ---- groups ------------------------------------------------------------------------- */

static bool tstate_open_has(const moqc_tstate *t, uint64_t sequence) {
  const moqc_link *it;
  for (it = t->open_groups.next; it != &t->open_groups; it = it->next)
    if (MOQC_CONTAINER_OF(it, moqc_gstate, owner_node)->sequence == sequence) return true;
  return false;
}

/* May a group with this sequence enter the track? */
static int tstate_claim(const moqc_tstate *t, uint64_t sequence) {
  if (t->aborted || t->pending) return MOQC_ERR_STATE;
  if (sequence > MOQC_VARINT_MAX) return MOQC_ERR_BOUNDS;
  if (t->final_seq != MOQC_GROUP_NONE && sequence >= t->final_seq) return MOQC_ERR_STATE;
  if (moqc_cache_find(t, sequence) || tstate_open_has(t, sequence)) return MOQC_ERR_DUPLICATE;
  return MOQC_OK;
}

/* Cache g and tell the consumers. */
static int tstate_admit(moqc_tstate *t, moqc_gstate *g) {
  int rc = moqc_cache_insert(t, g);
  if (rc) return rc;
  moqc_gaps_note(t, g->sequence);
  if (t->max_seq == MOQC_GROUP_NONE || g->sequence > t->max_seq) t->max_seq = g->sequence;
  moqc_tstate_wake(t);
  return MOQC_OK;
}

int moqc_track_producer_create_group(moqc_track_producer *p, uint64_t sequence,
                                     moqc_group_producer **out) {
  moqc_tstate *t = p->t;
  int rc = tstate_claim(t, sequence);
  if (rc) return rc;
  moqc_gstate *g = moqc_gstate_new(t->env, sequence);
  if (!g) return MOQC_ERR_NOMEM;
  moqc_group_producer *gp = moqc_gstate_produce(g);
  moqc_gstate_unref(g);
  if (!gp) return MOQC_ERR_NOMEM;
  rc = tstate_admit(t, g);
  if (rc) {
    moqc_group_producer_del(gp);
    return rc;
  }
  g->owner = t;
  moqc_list_push_back(&t->open_groups, &g->owner_node);
  *out = gp;
  return MOQC_OK;
}

moqc_group_producer *moqc_track_producer_append_group(moqc_track_producer *p) {
  const moqc_tstate *t = p->t;
  uint64_t seq = t->max_seq == MOQC_GROUP_NONE ? 0 : t->max_seq + 1;
  moqc_group_producer *gp = NULL;
  if (moqc_track_producer_create_group(p, seq, &gp) != MOQC_OK) return NULL;
  return gp;
}

int moqc_track_producer_insert_group(moqc_track_producer *p, moqc_group_consumer *gc) {
  moqc_tstate *t = p->t;
  moqc_gstate *g = moqc_group_consumer_state(gc);
  if (g->env != t->env || g->aborted) return MOQC_ERR_STATE;
  int rc = tstate_claim(t, g->sequence);
  if (rc) return rc;
  return tstate_admit(t, g);
}

int moqc_track_producer_write_frame(moqc_track_producer *p, const moqc_slice *payload,
                                    uint64_t timestamp) {
  moqc_group_producer *gp = NULL;
  const moqc_tstate *t = p->t;
  int rc =
      moqc_track_producer_create_group(p, t->max_seq == MOQC_GROUP_NONE ? 0 : t->max_seq + 1, &gp);
  if (rc) return rc;
  rc = moqc_group_producer_write_frame(gp, payload, timestamp);
  if (!rc) rc = moqc_group_producer_finish(gp);
  moqc_group_producer_del(gp); /* aborts it if the write failed */
  return rc;
}

int moqc_track_producer_write_datagram(moqc_track_producer *p, const moqc_slice *payload,
                                       uint64_t timestamp) {
  moqc_group_producer *gp = NULL;
  const moqc_tstate *t = p->t;
  int rc =
      moqc_track_producer_create_group(p, t->max_seq == MOQC_GROUP_NONE ? 0 : t->max_seq + 1, &gp);
  if (rc) return rc;
  moqc_group_producer_set_datagram(gp); /* before any consumer can look at it */
  rc = moqc_group_producer_write_frame(gp, payload, timestamp);
  if (!rc) rc = moqc_group_producer_finish(gp);
  moqc_group_producer_del(gp); /* aborts it if the write failed */
  return rc;
}

/* ---- end ---------------------------------------------------------------------------- */

int moqc_track_producer_finish(moqc_track_producer *p) {
  moqc_tstate *t = p->t;
  if (t->aborted || t->pending) return MOQC_ERR_STATE;
  if (t->final_seq != MOQC_GROUP_NONE) return MOQC_OK;
  t->final_seq = t->max_seq == MOQC_GROUP_NONE ? 0 : t->max_seq + 1;
  moqc_tstate_wake(t); /* complete once the gaps below are filled or given up */
  return MOQC_OK;
}

int moqc_track_producer_finish_at(moqc_track_producer *p, uint64_t final_exclusive) {
  moqc_tstate *t = p->t;
  if (t->aborted || t->pending) return MOQC_ERR_STATE;
  if (t->final_seq != MOQC_GROUP_NONE)
    return t->final_seq == final_exclusive ? MOQC_OK : MOQC_ERR_STATE;
  if (final_exclusive > MOQC_VARINT_MAX + 1) return MOQC_ERR_BOUNDS;
  if (t->max_seq != MOQC_GROUP_NONE && final_exclusive <= t->max_seq) return MOQC_ERR_INVAL;
  t->final_seq = final_exclusive;
  moqc_gaps_finish(t); /* [highest+1, final) is now awaited */
  moqc_tstate_wake(t);
  return MOQC_OK;
}

int moqc_track_producer_complete(moqc_track_producer *p) {
  moqc_tstate *t = p->t;
  int rc = moqc_track_producer_finish(p);
  if (rc) return rc;
  if (t->ngaps) {
    moqc_gaps_clear(t);
    moqc_tstate_wake(t);
  }
  return MOQC_OK;
}

void moqc_track_producer_abort(moqc_track_producer *p, uint64_t code) {
  moqc_tstate_abort(p->t, code);
}

void moqc_track_producer_replace(moqc_track_producer *p) {
  moqc_tstate *t = p->t;
  if (t->aborted) return; /* the first end wins */
  t->replaced = true;
  moqc_tstate_abort(t, MOQC_CODE_DROPPED);
  assert(t->aborted && t->code == MOQC_CODE_DROPPED);
}

void moqc_track_producer_set_waker(moqc_track_producer *p, moqc_waker_fn fn, void *arg) {
  p->t->pw_owner = fn ? p : NULL;
  moqc_waiter_set(&p->t->pw, fn, arg, fn && p->t->nconsumers > 0);
}
