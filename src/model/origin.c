/* moqc model — origins: broadcasts by path, announcements, lingering sources.
 *
 * One shared core (the entries and the announcement consumers) and any number
 * of views (moqc_origin handles) onto it. A view has a root (its path "x" is
 * the core's "root/x") and optionally a set of allowed absolute prefixes
 * (scope). The core stores absolute paths; views translate on the way in and
 * out.
 *
 * Entries are listed in publish order (what a new consumer is told first) and
 * indexed by path in a hash table (relays hold thousands of broadcasts).
 *
 * Lifetime: views hold a strong reference on the core; announcement consumers
 * a weak one. When the last view goes the core closes (entries withdrawn,
 * consumers read MOQC_ERR_CLOSED) and it is freed with the last consumer.
 */
#include <assert.h>
#include <string.h>

#include "core/mem.h"
#include "model/internal.h"
#include "model/origin.h"
#include "moqc/error.h"
#include "moqc/path.h"
#include "moqc/time.h"

struct moqc_origin {
  moqc_ocore *core;
  uint32_t refs;
  moqc_oscope scope;
};

struct moqc_oentry {
  moqc_ocore *core;
  moqc_link node;               /* core->entries, publish order */
  char *path;                   /* absolute; key in core->index */
  moqc_broadcast_consumer *src; /* the origin's own clone; NULL while lingering */
  moqc_route route;
  moqc_front *front; /* stable consumer-facing broadcast, made on first request */
  bool lingering;
  moqc_timer timer;
};

enum entry_end { END_CLOSE, END_SOURCE_DONE, END_ABORT };

moqc_broadcast_consumer *moqc_oentry_source(const moqc_oentry *e) { return e->src; }
bool moqc_oentry_lingering(const moqc_oentry *e) { return e->lingering; }

/* ---- core ------------------------------------------------------------------------- */

static uint64_t origin_random_id(const void *salt) {
  uint64_t z = moqc_time_mono_ns() ^ (uint64_t)(uintptr_t)salt;
  z += 0x9e3779b97f4a7c15ULL; /* splitmix64 */
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  z %= MOQC_ORIGIN_ID_MAX - 1;
  return z + 1;
}

/* ---- path index ------------------------------------------------------------------- */

static moqc_oentry *core_find(const moqc_ocore *core, const char *abs) {
  return moqc__smap_find(&core->index, abs, strlen(abs));
}

static void core_index_remove(moqc_ocore *core, moqc_oentry *e) {
  moqc_oentry *was = moqc__smap_remove(&core->index, e->path, strlen(e->path));
  assert(was == e);
  (void)was;
}

static void core_emit(moqc_ocore *core, const char *abs, bool active, const moqc_route *route) {
  if (core->closed) return;
  moqc_link *it;
  for (it = core->consumers.next; it != &core->consumers; it = it->next)
    moqc_oconsumer_emit(MOQC_CONTAINER_OF(it, moqc_origin_consumer, node), abs, active, route);
}

void moqc_ocore_unref_weak(moqc_ocore *core) {
  assert(core->weak > 0);
  if (--core->weak > 0) return;
  moqc__smap_free(&core->index);
  moqc_free(core);
}

/* ---- entries ------------------------------------------------------------------------ */

static void entry_remove(moqc_oentry *e, enum entry_end how, uint64_t code) {
  moqc_list_remove(&e->node);
  core_index_remove(e->core, e);
  core_emit(e->core, e->path, false, NULL);
  moqc_timer_stop(e->core->env->clock, &e->timer);
  moqc_broadcast_consumer_del(e->src);
  e->src = NULL;
  if (e->front) {
    if (how == END_SOURCE_DONE) moqc_front_source_done(e->front);
    else if (how == END_ABORT) moqc_front_abort(e->front, code);
    else moqc_front_close(e->front);
  }
  moqc_free(e->path);
  moqc_free(e);
}

static void entry_linger_expired(moqc_timer *t, void *arg) {
  (void)t;
  entry_remove(arg, END_ABORT, MOQC_CODE_DROPPED);
}

/* Waker on the origin's clone of the source: finished or gone? */
static void entry_watch(void *arg) {
  moqc_oentry *e = arg;
  if (!e->src) return;
  int st = moqc_broadcast_consumer_status(e->src);
  if (st == MOQC_OK) return;
  if (st == MOQC_ERR_CLOSED) {
    entry_remove(e, END_SOURCE_DONE, 0);
    return;
  }
  uint64_t code = moqc_broadcast_consumer_code(e->src);
  moqc_env *env = e->core->env;
  uint64_t deadline = moqc_sat_add(moqc_clock_now(env->clock), e->core->linger_ns);
  if (e->core->linger_ns == 0 || moqc_timer_start(env->clock, &e->timer, deadline) != MOQC_OK) {
    entry_remove(e, END_ABORT, code);
    return;
  }
  /* Keep the path announced; a publish before the timer takes over. */
  moqc_broadcast_consumer_del(e->src);
  e->src = NULL;
  e->lingering = true;
}

static void entry_set_source(moqc_oentry *e, moqc_broadcast_consumer *src,
                             const moqc_route *route) {
  e->src = src;
  e->lingering = false;
  if (route) e->route = *route;
  else memset(&e->route, 0, sizeof e->route);
  moqc_broadcast_consumer_set_waker(src, entry_watch, e);
}

static int entry_new(moqc_ocore *core, const char *abs, moqc_broadcast_consumer *src,
                     const moqc_route *route) {
  moqc_oentry *e = moqc_calloc(1, sizeof *e);
  if (!e) return MOQC_ERR_NOMEM;
  e->path = moqc_strdup(abs);
  int rc = e->path ? moqc__smap_insert(&core->index, abs, strlen(abs), e) : MOQC_ERR_NOMEM;
  if (rc != MOQC_OK) {
    moqc_free(e->path);
    moqc_free(e);
    return rc;
  }
  e->core = core;
  moqc_timer_init(&e->timer, entry_linger_expired, e);
  moqc_list_push_back(&core->entries, &e->node);
  entry_set_source(e, src, route);
  core_emit(core, abs, true, &e->route);
  return MOQC_OK;
}

static void core_close(moqc_ocore *core) {
  core->closed = true;
  while (!moqc_list_empty(&core->entries))
    entry_remove(MOQC_CONTAINER_OF(core->entries.next, moqc_oentry, node), END_CLOSE, 0);
  moqc_link *it;
  for (it = core->consumers.next; it != &core->consumers; it = it->next)
    moqc_oconsumer_closed(MOQC_CONTAINER_OF(it, moqc_origin_consumer, node));
}

/* ---- views ---------------------------------------------------------------------------- */

static moqc_origin *view_new(moqc_ocore *core) {
  moqc_origin *o = moqc_calloc(1, sizeof *o);
  if (!o) return NULL;
  o->core = core;
  o->refs = 1;
  core->strong++;
  return o;
}

moqc_origin *moqc_origin_new(moqc_env *env, const moqc_origin_config *cfg) {
  if (cfg && cfg->id >= MOQC_ORIGIN_ID_MAX) return NULL;
  moqc_ocore *core = moqc_calloc(1, sizeof *core);
  if (!core) return NULL;
  core->env = env;
  core->weak = 1; /* held while any view exists */
  core->linger_ns = cfg ? cfg->linger_ns : 0;
  core->id = (cfg && cfg->id) ? cfg->id : origin_random_id(core);
  moqc_link_init(&core->entries);
  moqc_link_init(&core->consumers);
  moqc__smap_init(&core->index, 0);
  moqc_origin *o = view_new(core);
  if (o && moqc_oscope_init(&o->scope, "", NULL, 0, false) == MOQC_OK) return o;
  moqc_free(o);
  moqc_free(core);
  return NULL;
}

moqc_origin *moqc_origin_ref(moqc_origin *o) {
  o->refs++;
  return o;
}

void moqc_origin_unref(moqc_origin *o) {
  if (!o || --o->refs > 0) return;
  moqc_ocore *core = o->core;
  moqc_oscope_fini(&o->scope);
  moqc_free(o);
  if (--core->strong == 0) {
    core_close(core);
    moqc_ocore_unref_weak(core);
  }
}

uint64_t moqc_origin_id(const moqc_origin *o) { return o->core->id; }

moqc_origin *moqc_origin_scope(moqc_origin *o, const char *const *prefixes, size_t n) {
  moqc_origin *v = view_new(o->core);
  if (!v) return NULL;
  if (moqc_oscope_narrow(&v->scope, &o->scope, prefixes, n) == MOQC_OK) return v;
  v->core->strong--;
  moqc_free(v);
  return NULL;
}

moqc_origin *moqc_origin_with_root(moqc_origin *o, const char *root) {
  moqc_origin *v = view_new(o->core);
  if (!v) return NULL;
  if (moqc_oscope_reroot(&v->scope, &o->scope, root) == MOQC_OK) return v;
  v->core->strong--;
  moqc_free(v);
  return NULL;
}

/* ---- publish ----------------------------------------------------------------------------- */

int moqc_origin_publish(moqc_origin *o, const char *path, moqc_broadcast_consumer *bc,
                        const moqc_route *route) {
  char abs[MOQC_PATH_MAX_LEN + 1];
  if (!path || !bc) return MOQC_ERR_INVAL;
  int rc = moqc_oscope_abs(&o->scope, path, abs, sizeof abs);
  if (rc) return rc;
  if (!moqc_oscope_allows(&o->scope, abs)) return MOQC_ERR_UNAUTHORIZED;
  if (route && route->n_hops > MOQC_ORIGIN_MAX_HOPS) return MOQC_ERR_BOUNDS;
  rc = moqc_broadcast_consumer_status(bc);
  if (rc) return rc; /* already ended: nothing to announce */
  moqc_broadcast_consumer *src = moqc_broadcast_consumer_clone(bc);
  if (!src) return MOQC_ERR_NOMEM;
  moqc_ocore *core = o->core;
  moqc_oentry *e = core_find(core, abs);
  if (!e) {
    rc = entry_new(core, abs, src, route);
    if (rc) moqc_broadcast_consumer_del(src);
    return rc;
  }
  if (e->lingering) { /* seamless takeover: no announcement */
    moqc_timer_stop(core->env->clock, &e->timer);
    entry_set_source(e, src, route);
    if (e->front) moqc_front_takeover(e->front, src);
    return MOQC_OK;
  }
  /* Replacing a live source: consumers see ended, then active. */
  if (e->front) moqc_front_close(e->front);
  e->front = NULL;
  moqc_broadcast_consumer_del(e->src);
  core_emit(core, abs, false, NULL);
  entry_set_source(e, src, route);
  core_emit(core, abs, true, &e->route);
  return MOQC_OK;
}

int moqc_origin_unpublish(moqc_origin *o, const char *path) {
  char abs[MOQC_PATH_MAX_LEN + 1];
  if (!path) return MOQC_ERR_INVAL;
  int rc = moqc_oscope_abs(&o->scope, path, abs, sizeof abs);
  if (rc) return rc;
  moqc_oentry *e = moqc_oscope_allows(&o->scope, abs) ? core_find(o->core, abs) : NULL;
  if (!e) return MOQC_ERR_NOT_FOUND;
  entry_remove(e, END_CLOSE, 0);
  return MOQC_OK;
}

/* ---- request ------------------------------------------------------------------------------ */

moqc_broadcast_consumer *moqc_ocore_request(moqc_ocore *core, const char *abs, int *err) {
  moqc_oentry *e = core->closed ? NULL : core_find(core, abs);
  moqc_broadcast_consumer *bc = NULL;
  int rc = MOQC_ERR_UNROUTABLE;
  if (e) {
    rc = MOQC_ERR_NOMEM;
    if (!e->front) e->front = moqc_front_new(core->env, e);
    if (e->front) bc = moqc_front_consume(e->front);
    if (bc) rc = MOQC_OK;
  }
  if (err) *err = rc;
  return bc;
}

moqc_broadcast_consumer *moqc_origin_request(moqc_origin *o, const char *path, int *err) {
  char abs[MOQC_PATH_MAX_LEN + 1];
  int rc = path ? moqc_oscope_abs(&o->scope, path, abs, sizeof abs) : MOQC_ERR_INVAL;
  if (rc == MOQC_OK && !moqc_oscope_allows(&o->scope, abs)) rc = MOQC_ERR_UNAUTHORIZED;
  if (rc) {
    if (err) *err = rc;
    return NULL;
  }
  return moqc_ocore_request(o->core, abs, err);
}

/* ---- consumers ------------------------------------------------------------------------------ */

moqc_origin_consumer *moqc_origin_consume(moqc_origin *o, const char *prefix) {
  moqc_origin_consumer *c = moqc_oconsumer_new(o->core, &o->scope, prefix ? prefix : "");
  if (!c) return NULL;
  const moqc_link *it;
  for (it = o->core->entries.next; it != &o->core->entries; it = it->next) {
    const moqc_oentry *e = MOQC_CONTAINER_OF(it, moqc_oentry, node);
    moqc_oconsumer_emit(c, e->path, true, &e->route);
  }
  return c;
}
