/* Drives a moqc_env (clock + deferred work) from a libuv loop. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "core/mem.h"
#include "moqc/runtime.h"

struct moqc_uv {
  uv_loop_t *loop;
  moqc_env *env;
  uv_timer_t timer; /* fires at moqc_clock_next() */
  uv_idle_t idle;   /* active while env work is pending: poll must not block */
  uv_check_t check; /* after I/O: run work scheduled by I/O callbacks */
  uv_async_t async; /* cross-thread wakeup from proxies */
  pthread_t thread;
  int closing; /* handles still to close */
  atomic_bool idle_on;
};

static void drive(moqc_uv *u);
static void on_timer(uv_timer_t *t);

static void arm_timer(moqc_uv *u) {
  moqc_clock *c = moqc_env_clock(u->env);
  uint64_t next = moqc_clock_next(c);
  if (next == UINT64_MAX) {
    uv_timer_stop(&u->timer);
    return;
  }
  uint64_t now = moqc_clock_now(c);
  uint64_t delay_ms = next > now ? (next - now + 999999) / 1000000 : 0;
  uv_timer_start(&u->timer, on_timer, delay_ms, 0);
}

static void on_timer(uv_timer_t *t) { drive(t->data); }
static void on_idle(uv_idle_t *h) { drive(h->data); }
static void on_check(uv_check_t *h) { drive(h->data); }
static void on_async(uv_async_t *h) { drive(h->data); }

static void set_idle(moqc_uv *u, bool on) {
  bool was = atomic_exchange(&u->idle_on, on);
  if (on && !was) uv_idle_start(&u->idle, on_idle);
  if (!on && was) uv_idle_stop(&u->idle);
}

/* Advance time, run due timers and pending work; re-arm. Bounded per call:
 * moqc_env_run itself caps its rounds, leftover work keeps the idle handle on. */
static void drive(moqc_uv *u) {
  if (u->closing) return;
  moqc_clock *c = moqc_env_clock(u->env);
  for (int round = 0; round < 4; round++) {
    moqc_clock_advance(c, uv_hrtime());
    moqc_env_run(u->env);
    if (!moqc_env_pending(u->env)) break;
  }
  set_idle(u, moqc_env_pending(u->env));
  arm_timer(u);
}

static void on_notify(void *ctx) {
  moqc_uv *u = ctx;
  if (pthread_equal(pthread_self(), u->thread)) {
    set_idle(u, true);
  } else {
    uv_async_send(&u->async);
  }
}

static void on_clock_change(void *ctx) {
  moqc_uv *u = ctx;
  if (!u->closing) arm_timer(u);
}

moqc_uv *moqc_uv_new(uv_loop_t *loop, size_t cache_budget) {
  moqc_uv *u = moqc_calloc(1, sizeof *u);
  if (!u) return NULL;
  moqc_env_config cfg = {uv_hrtime(), cache_budget};
  u->env = moqc_env_new(&cfg);
  if (!u->env) {
    moqc_free(u);
    return NULL;
  }
  u->loop = loop;
  u->thread = pthread_self();
  uv_timer_init(loop, &u->timer);
  uv_idle_init(loop, &u->idle);
  uv_check_init(loop, &u->check);
  uv_async_init(loop, &u->async, on_async);
  u->timer.data = u->idle.data = u->check.data = u->async.data = u;
  uv_check_start(&u->check, on_check);
  uv_unref((uv_handle_t *)&u->check);
  /* A lone env does not keep the loop alive: sockets and the app's own
   * handles do. (Idle stays referenced: pending work must run.) */
  uv_unref((uv_handle_t *)&u->async);
  uv_unref((uv_handle_t *)&u->timer);
  moqc_env_set_notify(u->env, on_notify, u);
  moqc_clock_set_notify(moqc_env_clock(u->env), on_clock_change, u);
  return u;
}

moqc_env *moqc_uv_env(moqc_uv *u) { return u->env; }
uv_loop_t *moqc_uv_loop(moqc_uv *u) { return u->loop; }
void moqc_uv_poll(moqc_uv *u) { drive(u); }

static void on_closed(uv_handle_t *h) {
  moqc_uv *u = h->data;
  if (--u->closing == 0) {
    moqc_env_del(u->env);
    moqc_free(u);
  }
}

void moqc_uv_del(moqc_uv *u) {
  if (!u || u->closing) return;
  moqc_env_set_notify(u->env, NULL, NULL);
  moqc_clock_set_notify(moqc_env_clock(u->env), NULL, NULL);
  u->closing = 4;
  uv_close((uv_handle_t *)&u->timer, on_closed);
  uv_close((uv_handle_t *)&u->idle, on_closed);
  uv_close((uv_handle_t *)&u->check, on_closed);
  uv_close((uv_handle_t *)&u->async, on_closed);
}
