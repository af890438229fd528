/* moqc model — accounts: per-tenant cache bytes and broadcast counts, and the
 * fair enforcement of the env's global cache budget.
 *
 * Every cached group is charged to one pool: the account of the first track
 * that cached it (g->acct), or the env's unaccounted pool. Each pool has its
 * own LRU of evictable entries (env->lru for the unaccounted pool); an entry
 * sits on the LRU of its group's pool, so evicting from one pool removes
 * every cache entry of a group before touching another pool.
 *
 * - An account over its max_cache_bytes evicts from its own LRU only: a
 *   tenant that floods the cache evicts itself, never another tenant.
 * - Over the env budget, the pool holding the most bytes loses its oldest
 *   evictable entry first (one scan of the accounts per eviction: the number
 *   of accounts is the number of tenants with something cached).
 */
#include <assert.h>

#include "core/mem.h"
#include "model/internal.h"
#include "moqc/error.h"

moqc_account *moqc_account_new(moqc_env *env, const moqc_account_limits *lim) {
  if (!env) return NULL;
  moqc_account *a = moqc_calloc(1, sizeof *a);
  if (!a) return NULL;
  a->env = env;
  a->refs = 1;
  if (lim) a->lim = *lim;
  moqc_link_init(&a->lru);
  moqc_link_init(&a->node);
  moqc_list_push_back(&env->accounts, &a->node);
  return a;
}

moqc_account *moqc_account_ref(moqc_account *a) {
  assert(a->refs > 0);
  a->refs++;
  return a;
}

void moqc_account_unref(moqc_account *a) {
  if (!a) return;
  assert(a->refs > 0 && "account unref below zero");
  if (--a->refs > 0) return;
  /* Cached groups hold references: nothing can be charged to it any more. */
  assert(a->cache_bytes == 0 && moqc_list_empty(&a->lru) && a->broadcasts == 0);
  moqc_list_remove(&a->node);
  moqc_free(a);
}

moqc_account_stats moqc_account_get_stats(const moqc_account *a) {
  moqc_account_stats st = {
      .cache_bytes = a->cache_bytes,
      .broadcasts = a->broadcasts,
      .evicted_cap = a->evicted_cap,
      .evicted_budget = a->evicted_budget,
      .refused_broadcasts = a->refused_broadcasts,
  };
  return st;
}

void moqc_account_set_limits(moqc_account *a, const moqc_account_limits *lim) {
  moqc_account_limits none = {0};
  a->lim = lim ? *lim : none;
  moqc_account_enforce(a);
}

void moqc_env_cache_evictions(const moqc_env *env, uint64_t *by_budget, uint64_t *by_account) {
  if (by_budget) *by_budget = env->evicted_budget;
  if (by_account) *by_account = env->evicted_account;
}

/* Remove the oldest evictable entry of lru; true if its group left every
 * cache (one group evicted). */
static bool evict_front(moqc_link *lru) {
  assert(!moqc_list_empty(lru));
  moqc_centry *e = MOQC_CONTAINER_OF(lru->next, moqc_centry, lru);
  const moqc_link *ents = &e->g->entries;
  bool last = ents->next == &e->gnode && ents->prev == &e->gnode;
  moqc_cache_remove(e); /* may free e and its group */
  return last;
}

static bool account_over(const moqc_account *a) {
  return a->lim.max_cache_bytes && a->cache_bytes > a->lim.max_cache_bytes;
}

void moqc_account_enforce(moqc_account *a) {
  moqc_env *env = a->env;
  if (env->evicting || !account_over(a)) return;
  env->evicting = true;
  a->refs++; /* the last charged group may hold the last reference */
  while (account_over(a) && !moqc_list_empty(&a->lru)) {
    if (evict_front(&a->lru)) {
      a->evicted_cap++;
      env->evicted_account++;
    }
  }
  env->evicting = false;
  moqc_account_unref(a);
}

/* ---- the env's budget ----------------------------------------------------------- */

static bool env_over_budget(const moqc_env *env) {
  return env->cache_budget && env->cache_bytes > env->cache_budget;
}

/* The pool with something evictable that holds the most cached bytes (its
 * LRU; *acct its account, NULL for the unaccounted pool), NULL if none. */
static moqc_link *pick_pool(moqc_env *env, moqc_account **acct) {
  moqc_link *lru = NULL;
  size_t most = 0;
  *acct = NULL;
  if (!moqc_list_empty(&env->lru)) {
    lru = &env->lru;
    most = env->dflt_bytes;
  }
  moqc_link *it;
  for (it = env->accounts.next; it != &env->accounts; it = it->next) {
    moqc_account *a = MOQC_CONTAINER_OF(it, moqc_account, node);
    if (moqc_list_empty(&a->lru) || (lru && a->cache_bytes <= most)) continue;
    lru = &a->lru;
    most = a->cache_bytes;
    *acct = a;
  }
  return lru;
}

void moqc_env_enforce_budget(moqc_env *env) {
  if (env->evicting || !env_over_budget(env)) return;
  env->evicting = true;
  /* Each LRU holds only evictable entries (live edges stay out of it, see
   * cache.c). Removing a non-live entry never changes a live edge. */
  while (env_over_budget(env)) {
    moqc_account *a;
    moqc_link *lru = pick_pool(env, &a);
    if (!lru) break;
    if (a) a->refs++;
    if (evict_front(lru)) {
      env->evicted_budget++;
      if (a) a->evicted_budget++;
    }
    if (a) moqc_account_unref(a);
  }
  env->evicting = false;
}
