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
  bool has_cost; /* moqc_origin_with_link_cost */
  uint64_t link_cost;
  moqc_account *acct; /* moqc_origin_with_account (one reference), NULL: none */
  moqc_oscope scope;
};

/* One source of an entry: a publication of the same content (first hop). */
typedef struct osrc {
  moqc_link node; /* e->sources */
  moqc_oentry *e;
  moqc_broadcast_consumer *bc; /* the origin's own clone */
  moqc_route route;
  uint64_t seq;       /* attach order: the newest wins the last tie */
  moqc_account *acct; /* counts it in its broadcasts (one reference), NULL: none */
} osrc;

struct moqc_oentry {
  moqc_ocore *core;
  moqc_link node;    /* core->entries, publish order */
  char *path;        /* absolute; key in core->index */
  moqc_link sources; /* osrc.node; empty while lingering */
  osrc *active;      /* the served source (best route); NULL while lingering */
  moqc_route route;  /* the route announced (the served source's) */
  moqc_front *front; /* stable consumer-facing broadcast, made on first request */
  bool lingering;
  moqc_timer timer;
};

enum entry_end { END_CLOSE, END_SOURCE_DONE, END_ABORT, END_REPLACED };

moqc_broadcast_consumer *moqc_oentry_source(const moqc_oentry *e) {
  return e->active ? e->active->bc : NULL;
}
bool moqc_oentry_lingering(const moqc_oentry *e) { return e->lingering; }

/* ---- routes -------------------------------------------------------------------------- */

uint64_t moqc_route_tiebreak(const char *path, const moqc_route *r) {
  const uint64_t prime = 0x00000100000001b3ULL;
  uint64_t h = 0x420C0DECB00BULL; /* moq-relay's seed */
  for (const unsigned char *p = (const unsigned char *)path; p && *p; p++) h = (h ^ *p) * prime;
  size_t n = r->n_hops < MOQC_ORIGIN_MAX_HOPS ? r->n_hops : MOQC_ORIGIN_MAX_HOPS;
  for (size_t i = 0; i < n; i++)
    for (unsigned b = 0; b < 8; b++) h = (h ^ ((r->hops[i] >> (8 * b)) & 0xff)) * prime;
  return h;
}

int moqc_route_compare(const char *path, const moqc_route *a, const moqc_route *b) {
  if (a->cost != b->cost) return a->cost < b->cost ? -1 : 1;
  if (a->n_hops != b->n_hops) return a->n_hops < b->n_hops ? -1 : 1;
  uint64_t ka = moqc_route_tiebreak(path, a), kb = moqc_route_tiebreak(path, b);
  if (ka != kb) return ka < kb ? -1 : 1;
  return 0;
}

bool moqc_route_has(const moqc_route *r, uint64_t id) {
  if (!r || id == 0) return false;
  for (size_t i = 0; i < r->n_hops && i < MOQC_ORIGIN_MAX_HOPS; i++)
    if (r->hops[i] == id) return true;
  return false;
}

/* Same cost and hops (from hop `from` on). */
static bool route_same(const moqc_route *a, const moqc_route *b, size_t from) {
  if (a->n_hops != b->n_hops || a->cost != b->cost) return false;
  for (size_t i = from; i < a->n_hops && i < MOQC_ORIGIN_MAX_HOPS; i++)
    if (a->hops[i] != b->hops[i]) return false;
  return true;
}

/* Content identity: the original publisher (0 = unknown: a route-less local
 * publish is a new broadcast each time, it replaces). */
static uint64_t route_first_hop(const moqc_route *r) { return r->n_hops ? r->hops[0] : 0; }

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

static void core_emit(moqc_ocore *core, const char *abs, bool active, const moqc_route *route,
                      bool restart) {
  if (core->closed) return;
  moqc_link *it;
  for (it = core->consumers.next; it != &core->consumers; it = it->next)
    moqc_oconsumer_emit(MOQC_CONTAINER_OF(it, moqc_origin_consumer, node), abs, active, route,
                        restart);
}

void moqc_ocore_unref_weak(moqc_ocore *core) {
  assert(core->weak > 0);
  if (--core->weak > 0) return;
  moqc__smap_free(&core->index);
  moqc_free(core);
}

/* ---- entries ------------------------------------------------------------------------ */

static void src_del(osrc *src) {
  moqc_list_remove(&src->node);
  moqc_broadcast_consumer_del(src->bc);
  if (src->acct) {
    assert(src->acct->broadcasts > 0);
    src->acct->broadcasts--;
    moqc_account_unref(src->acct);
  }
  moqc_free(src);
}

static void entry_remove(moqc_oentry *e, enum entry_end how, uint64_t code) {
  moqc_list_unlink(&e->node);
  core_index_remove(e->core, e);
  core_emit(e->core, e->path, false, NULL, false);
  moqc_timer_stop(e->core->env->clock, &e->timer);
  e->active = NULL;
  while (!moqc_list_empty(&e->sources)) src_del(MOQC_CONTAINER_OF(e->sources.next, osrc, node));
  if (e->front) {
    if (how == END_SOURCE_DONE) moqc_front_source_done(e->front);
    else if (how == END_ABORT) moqc_front_abort(e->front, code);
    else if (how == END_REPLACED) moqc_front_replaced(e->front);
    else moqc_front_close(e->front);
  }
  moqc_free(e->path);
  moqc_free(e);
}

static void entry_linger_expired(moqc_timer *t, void *arg) {
  (void)t;
  entry_remove(arg, END_ABORT, MOQC_CODE_DROPPED);
}

/* Serve the best source; re-attach front subscribers if it changed, and tell
 * consumers (restart) if the served route changed. The entry has a source. */
static void entry_select(moqc_oentry *e) {
  assert(!moqc_list_empty(&e->sources));
  osrc *best = NULL;
  moqc_link *it;
  for (it = e->sources.next; it != &e->sources; it = it->next) {
    osrc *c = MOQC_CONTAINER_OF(it, osrc, node);
    int cmp = best ? moqc_route_compare(e->path, &c->route, &best->route) : -1;
    if (cmp < 0 || (cmp == 0 && c->seq > best->seq)) best = c;
  }
  if (best != e->active) {
    e->active = best;
    if (e->front) moqc_front_takeover(e->front, best->bc);
  }
  /* Only the original publisher changed (a publisher reconnecting into its
   * lingering path, with a new id): the relays on the path are the same, so
   * loop prevention has nothing to learn, and downstream would read a new
   * first hop as new content. Say nothing; later announcements carry it. */
  bool news = !route_same(&best->route, &e->route, 1);
  e->route = best->route;
  if (news) core_emit(e->core, e->path, true, &e->route, true);
}

/* Waker on the origin's clone of one source: finished or gone? */
static void src_watch(void *arg) {
  osrc *src = arg;
  moqc_oentry *e = src->e;
  int st = moqc_broadcast_consumer_status(src->bc);
  if (st == MOQC_OK) return;
  uint64_t code = moqc_broadcast_consumer_code(src->bc);
  moqc_end_reason reason = moqc_broadcast_consumer_end_reason(src->bc);
  bool was_active = e->active == src;
  src_del(src);
  if (!moqc_list_empty(&e->sources)) { /* another route to the same content */
    if (was_active) {
      e->active = NULL;
      entry_select(e);
    }
    return;
  }
  e->active = NULL;
  if (st == MOQC_ERR_CLOSED) {
    entry_remove(e, END_SOURCE_DONE, 0);
    return;
  }
  moqc_env *env = e->core->env;
  uint64_t deadline = moqc_sat_add(moqc_clock_now(env->clock), e->core->linger_ns);
  if (e->core->linger_ns == 0 || moqc_timer_start(env->clock, &e->timer, deadline) != MOQC_OK) {
    /* A source that was itself replaced upstream (a chained origin's front):
     * ours is replaced too, not aborted. */
    bool replaced = reason == MOQC_END_REPLACED;
    entry_remove(e, replaced ? END_REPLACED : END_ABORT, code);
    return;
  }
  e->lingering = true; /* keep the path announced; a publish before the timer takes over */
}

static int src_add(moqc_oentry *e, moqc_broadcast_consumer *bc, const moqc_route *route,
                   moqc_account *acct) {
  osrc *src = moqc_calloc(1, sizeof *src);
  if (!src) return MOQC_ERR_NOMEM;
  if (acct) { /* counted from here until src_del */
    src->acct = moqc_account_ref(acct);
    acct->broadcasts++;
    moqc_bstate_set_account(moqc_broadcast_consumer_state(bc), acct);
  }
  src->e = e;
  src->bc = bc;
  src->route = *route;
  src->seq = ++e->core->seq;
  moqc_list_push_back(&e->sources, &src->node);
  moqc_broadcast_consumer_set_waker(bc, src_watch, src);
  return MOQC_OK;
}

static osrc *src_find(moqc_oentry *e, const moqc_broadcast_consumer *bc) {
  const moqc_bstate *b = moqc_broadcast_consumer_state(bc);
  moqc_link *it;
  for (it = e->sources.next; it != &e->sources; it = it->next) {
    osrc *c = MOQC_CONTAINER_OF(it, osrc, node);
    if (moqc_broadcast_consumer_state(c->bc) == b) return c;
  }
  return NULL;
}

static int entry_new(moqc_ocore *core, const char *abs, moqc_broadcast_consumer *bc,
                     const moqc_route *route, moqc_account *acct) {
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
  moqc_link_init(&e->sources);
  moqc_timer_init(&e->timer, entry_linger_expired, e);
  if (src_add(e, bc, route, acct) != MOQC_OK) {
    core_index_remove(core, e);
    moqc_free(e->path);
    moqc_free(e);
    return MOQC_ERR_NOMEM;
  }
  moqc_link_init(&e->node); /* fresh (malloc'd) node */
  moqc_list_push_back(&core->entries, &e->node);
  e->active = MOQC_CONTAINER_OF(e->sources.next, osrc, node);
  e->route = *route;
  core_emit(core, abs, true, &e->route, false);
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

static moqc_origin *view_alloc(moqc_ocore *core) {
  moqc_origin *o = moqc_calloc(1, sizeof *o);
  if (!o) return NULL;
  o->core = core;
  o->refs = 1;
  core->strong++;
  return o;
}

/* A new view of parent's core with parent's cost and account (scope unset). */
static moqc_origin *view_new(const moqc_origin *parent) {
  moqc_origin *v = view_alloc(parent->core);
  if (!v) return NULL;
  v->has_cost = parent->has_cost;
  v->link_cost = parent->link_cost;
  v->acct = parent->acct ? moqc_account_ref(parent->acct) : NULL;
  return v;
}

/* Free a view whose scope was never set. */
static void view_drop(moqc_origin *v) {
  v->core->strong--;
  moqc_account_unref(v->acct);
  moqc_free(v);
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
  moqc_origin *o = view_alloc(core);
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
  if (!o) return;
  assert(o->refs > 0 && "origin unref below zero");
  if (--o->refs > 0) return;
  moqc_ocore *core = o->core;
  moqc_oscope_fini(&o->scope);
  moqc_account_unref(o->acct);
  moqc_free(o);
  if (--core->strong == 0) {
    core_close(core);
    moqc_ocore_unref_weak(core);
  }
}

uint64_t moqc_origin_id(const moqc_origin *o) { return o->core->id; }

moqc_origin *moqc_origin_scope(moqc_origin *o, const char *const *prefixes, size_t n) {
  moqc_origin *v = view_new(o);
  if (!v) return NULL;
  if (moqc_oscope_narrow(&v->scope, &o->scope, prefixes, n) == MOQC_OK) return v;
  view_drop(v);
  return NULL;
}

moqc_origin *moqc_origin_with_link_cost(moqc_origin *o, uint64_t cost) {
  moqc_origin *v = moqc_origin_with_root(o, "");
  if (!v) return NULL;
  v->has_cost = true;
  v->link_cost = cost;
  return v;
}

moqc_origin *moqc_origin_with_account(moqc_origin *o, moqc_account *a) {
  moqc_origin *v = moqc_origin_with_root(o, "");
  if (!v || !a) return v;
  moqc_account_unref(v->acct);
  v->acct = moqc_account_ref(a);
  return v;
}

moqc_origin *moqc_origin_with_root(moqc_origin *o, const char *root) {
  moqc_origin *v = view_new(o);
  if (!v) return NULL;
  if (moqc_oscope_reroot(&v->scope, &o->scope, root) == MOQC_OK) return v;
  view_drop(v);
  return NULL;
}

/* ---- publish ----------------------------------------------------------------------------- */

/* A different original publisher at a live path: drop every other source;
 * consumers see ended, then active; the old front ends REPLACED. */
static int entry_replace(moqc_oentry *e, moqc_broadcast_consumer *bc, const moqc_route *route,
                         moqc_account *acct) {
  int rc = src_add(e, bc, route, acct);
  if (rc) return rc;
  osrc *n = MOQC_CONTAINER_OF(e->sources.prev, osrc, node);
  if (e->front) moqc_front_replaced(e->front);
  e->front = NULL;
  while (e->sources.next != &n->node) src_del(MOQC_CONTAINER_OF(e->sources.next, osrc, node));
  core_emit(e->core, e->path, false, NULL, false);
  e->active = n;
  e->route = *route;
  core_emit(e->core, e->path, true, &e->route, false);
  return MOQC_OK;
}

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
  moqc_route r;
  if (route) r = *route;
  else memset(&r, 0, sizeof r);
  if (o->has_cost) r.cost = o->link_cost;
  moqc_ocore *core = o->core;
  moqc_oentry *e = core_find(core, abs);
  osrc *same = e ? src_find(e, bc) : NULL;
  if (same) { /* the same broadcast on a new route */
    same->route = r;
    entry_select(e);
    return MOQC_OK;
  }
  moqc_account *acct = o->acct;
  if (acct && acct->lim.max_broadcasts && acct->broadcasts >= acct->lim.max_broadcasts) {
    acct->refused_broadcasts++;
    return MOQC_ERR_BOUNDS;
  }
  moqc_broadcast_consumer *src = moqc_broadcast_consumer_clone(bc);
  if (!src) return MOQC_ERR_NOMEM;
  if (!e) rc = entry_new(core, abs, src, &r, acct);
  else if (e->lingering) { /* seamless takeover, whatever the first hop */
    rc = src_add(e, src, &r, acct);
    if (rc == MOQC_OK) {
      moqc_timer_stop(core->env->clock, &e->timer);
      e->lingering = false;
      entry_select(e);
    }
  } else {
    assert(e->active);
    uint64_t first = route_first_hop(&r);
    uint64_t cur = route_first_hop(&e->active->route);
    /* Another route to the same content (same first hop); or a remote route
     * to a path published right here (no hop: e.g. a relay's own cluster
     * registration): a peer may still echo the previous incarnation's
     * announcement (another origin id, so no loop is seen), and it must not
     * replace the local one. Both stay; entry_select serves the best. */
    if ((first != 0 && first == cur) || (cur == 0 && first != 0)) {
      rc = src_add(e, src, &r, acct);
      if (rc == MOQC_OK) entry_select(e);
    } else {
      rc = entry_replace(e, src, &r, acct);
    }
  }
  if (rc) moqc_broadcast_consumer_del(src);
  return rc;
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
    moqc_oconsumer_emit(c, e->path, true, &e->route, false);
  }
  return c;
}
