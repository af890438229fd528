/* moqc model — the environment: deferred wakers, the proxy command queue and
 * the cache budget shared by every track of one event loop.
 *
 * Wakers are never run inside the producer call that caused them. A producer
 * puts the consumer's waiter on env->ready (idempotent: a linked waiter is not
 * queued twice, which is the coalescing); moqc_env_run() moves the whole ready
 * list into env->running and calls each waiter, in rounds, up to 64 rounds.
 * Because lists are intrusive and self-unlinking, deleting a consumer from
 * inside any waker removes it from whichever of the two lists holds it.
 */
#include <string.h>

#include "core/mem.h"
#include "model/internal.h"
#include "moqc/error.h"

#define ENV_MAX_ROUNDS 64

/* ---- waiters ---------------------------------------------------------------- */

void moqc_waiter_init(moqc_waiter *w, moqc_env *env) {
  moqc_link_init(&w->link);
  w->env = env;
  w->fn = NULL;
  w->arg = NULL;
  w->want = true;
}

static void env_schedule(moqc_env *env, moqc_waiter *w) {
  if (moqc_link_linked(&w->link)) return; /* already queued this round */
  bool was_empty = moqc_list_empty(&env->ready);
  moqc_list_push_back(&env->ready, &w->link);
  if (was_empty && !env->in_run && env->notify) env->notify(env->notify_ctx);
}

void moqc_waiter_kick(moqc_waiter *w) {
  if (!w->fn) return;
  w->want = false;
  env_schedule(w->env, w);
}

void moqc_waiter_wake(moqc_waiter *w) {
  if (w->fn && w->want) moqc_waiter_kick(w);
}

void moqc_waiter_set(moqc_waiter *w, moqc_waker_fn fn, void *arg, bool ready_now) {
  w->fn = fn;
  w->arg = arg;
  w->want = true;
  if (!fn) {
    moqc_list_unlink(&w->link);
    return;
  }
  if (ready_now) moqc_waiter_kick(w);
}

void moqc_waiter_fini(moqc_waiter *w) {
  moqc_list_unlink(&w->link);
  w->fn = NULL;
}

/* ---- env ---------------------------------------------------------------------- */

moqc_env *moqc_env_new(const moqc_env_config *cfg) {
  moqc_env *env = moqc_calloc(1, sizeof *env);
  if (!env) return NULL;
  env->clock = moqc_clock_new(cfg ? cfg->now_ns : 0);
  if (!env->clock) goto fail;
  if (pthread_mutex_init(&env->mu, NULL) != 0) goto fail_clock;
  moqc_link_init(&env->ready);
  moqc_link_init(&env->running);
  moqc_link_init(&env->lru);
  moqc_link_init(&env->accounts);
  env->cache_budget = cfg ? cfg->cache_budget : 0;
  env->cache_group_overhead = MOQC_CACHE_GROUP_OVERHEAD;
  env->cache_frame_overhead = MOQC_CACHE_FRAME_OVERHEAD;
  env->cmd_tail = &env->cmd_head;
  return env;
fail_clock:
  moqc_clock_del(env->clock);
fail:
  moqc_free(env);
  return NULL;
}

static moqc_cmd *env_take_cmds(moqc_env *env) {
  pthread_mutex_lock(&env->mu);
  moqc_cmd *head = env->cmd_head;
  env->cmd_head = NULL;
  env->cmd_tail = &env->cmd_head;
  pthread_mutex_unlock(&env->mu);
  return head;
}

static size_t env_apply_cmds(moqc_env *env) {
  size_t n = 0;
  moqc_cmd *c = env_take_cmds(env);
  while (c) {
    moqc_cmd *next = c->next;
    moqc_proxy_apply(c);
    c = next;
    n++;
  }
  return n;
}

void moqc_env_del(moqc_env *env) {
  if (!env) return;
  /* Pending proxy commands (a proxy deleted from another thread) still apply,
   * so their producer references are released. */
  while (env_apply_cmds(env)) {}
  pthread_mutex_destroy(&env->mu);
  moqc_clock_del(env->clock);
  moqc_free(env);
}

moqc_clock *moqc_env_clock(moqc_env *env) { return env->clock; }

static bool env_cmds_pending(const moqc_env *env) {
  moqc_env *m = (moqc_env *)env; /* the mutex is not logically part of the state */
  pthread_mutex_lock(&m->mu);
  bool any = m->cmd_head != NULL;
  pthread_mutex_unlock(&m->mu);
  return any;
}

bool moqc_env_pending(const moqc_env *env) {
  return !moqc_list_empty(&env->ready) || env_cmds_pending(env);
}

static size_t env_run_round(moqc_env *env) {
  size_t ran = 0;
  moqc_list_splice(&env->running, &env->ready);
  while (!moqc_list_empty(&env->running)) {
    moqc_waiter *w = MOQC_CONTAINER_OF(env->running.next, moqc_waiter, link);
    moqc_list_remove(&w->link);
    ran++;
    if (w->fn) w->fn(w->arg); /* may delete w's owner */
  }
  return ran;
}

size_t moqc_env_run(moqc_env *env) {
  size_t ran = 0;
  bool outer = !env->in_run;
  env->in_run = true;
  for (int round = 0; round < ENV_MAX_ROUNDS; round++) {
    size_t cmds = env_apply_cmds(env);
    if (moqc_list_empty(&env->ready) && !cmds) break;
    ran += env_run_round(env);
  }
  if (!outer) return ran; /* re-entered from a waker: the outer run continues */
  env->in_run = false;
  if (moqc_env_pending(env) && env->notify) env->notify(env->notify_ctx);
  return ran;
}

void moqc_env_set_notify(moqc_env *env, void (*fn)(void *ctx), void *ctx) {
  pthread_mutex_lock(&env->mu);
  env->notify = fn;
  env->notify_ctx = ctx;
  pthread_mutex_unlock(&env->mu);
}

void moqc_env_post(moqc_env *env, moqc_cmd *cmd) {
  cmd->next = NULL;
  pthread_mutex_lock(&env->mu);
  bool was_empty = env->cmd_head == NULL;
  *env->cmd_tail = cmd;
  env->cmd_tail = &cmd->next;
  void (*fn)(void *) = env->notify;
  void *ctx = env->notify_ctx;
  pthread_mutex_unlock(&env->mu);
  if (was_empty && fn) fn(ctx);
}

/* ---- cache budget ------------------------------------------------------------ */

size_t moqc_env_cache_bytes(const moqc_env *env) { return env->cache_bytes; }

void moqc_env_set_cache_budget(moqc_env *env, size_t bytes) {
  env->cache_budget = bytes;
  moqc_env_enforce_budget(env);
}

void moqc_env_set_cache_overhead(moqc_env *env, size_t per_group, size_t per_frame) {
  env->cache_group_overhead = per_group; /* groups cached now are recharged when they change */
  env->cache_frame_overhead = per_frame;
}

void moqc_env_set_cache_window_max(moqc_env *env, uint64_t ms) {
  env->cache_window_max_ms = ms; /* existing caches obey it from their next expiry */
}

uint64_t moqc_env_cache_window_max(const moqc_env *env) { return env->cache_window_max_ms; }
