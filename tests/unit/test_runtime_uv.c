/* src/runtime/uvenv.c: a moqc_uv drives its env from a libuv loop, and a
 * producer proxy on a second thread wakes that loop (uv_async) for every
 * batch of frames. Also runs under ThreadSanitizer (ctest label tsan). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "moqc/error.h"
#include "moqc/model.h"
#include "moqc/runtime.h"

#define N_FRAMES 2000
#define PER_GROUP 50

typedef struct rd {
  moqc_track_consumer *tc;
  moqc_group_consumer *cur;
  uint32_t next;
  int end, bad;
} rd;

static void rd_drain(void *arg) {
  rd *r = arg;
  for (;;) {
    if (r->cur) {
      moqc_frame f;
      int rc;
      while ((rc = moqc_group_consumer_read_frame(r->cur, &f)) == MOQC_OK) {
        uint32_t v = UINT32_MAX;
        if (f.payload.len == sizeof v) memcpy(&v, moqc_slice_ptr(&f.payload), sizeof v);
        if (v != r->next) r->bad++;
        r->next++;
        moqc_slice_release(&f.payload);
      }
      if (rc == MOQC_ERR_AGAIN) return;
      if (rc != MOQC_ERR_CLOSED) r->bad++;
      moqc_group_consumer_del(r->cur);
      r->cur = NULL;
    }
    int rc = moqc_track_consumer_recv_group(r->tc, &r->cur);
    if (rc == MOQC_ERR_AGAIN) return;
    if (rc != MOQC_OK) {
      r->end = rc;
      r->cur = NULL;
      return;
    }
    moqc_group_consumer_set_waker(r->cur, rd_drain, r);
  }
}

/* The env's handles do not keep a loop alive (sockets do, in a real program):
 * a ref'd timer stands in for them, so UV_RUN_ONCE blocks in poll until the
 * env's own handles wake it. The timer is also the deadline: when it fires,
 * the test has failed (it drives the env as a side effect, so it must not
 * fire before the condition would have been met through the env's handles). */
static bool g_expired;
static void keepalive_cb(uv_timer_t *t) {
  (void)t;
  g_expired = true;
}
static void keepalive_start(uv_loop_t *loop, uv_timer_t *t) {
  g_expired = false;
  assert_int_equal(uv_timer_init(loop, t), 0);
  assert_int_equal(uv_timer_start(t, keepalive_cb, 15000, 0), 0);
}

static void *writer(void *arg) {
  moqc_track_proxy *p = arg;
  for (uint32_t i = 0; i < N_FRAMES; i++) {
    if (i && i % PER_GROUP == 0 && moqc_track_proxy_new_group(p) != MOQC_OK) return (void *)1;
    if (moqc_track_proxy_write_frame(p, &i, sizeof i, i) != MOQC_OK) return (void *)2;
  }
  if (moqc_track_proxy_finish(p) != MOQC_OK) return (void *)3;
  moqc_track_proxy_del(p);
  return NULL;
}

static void test_proxy_wakes_loop(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  moqc_uv *u = moqc_uv_new(&loop, 0);
  assert_non_null(u);
  assert_ptr_equal(moqc_uv_loop(u), &loop);
  moqc_env *env = moqc_uv_env(u);
  moqc_track_producer *t = moqc_track_producer_new(env, "t", NULL);
  assert_non_null(t);
  rd r = {0};
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  sub.start = 0;
  sub.ordered = true;
  r.tc = moqc_track_producer_consume(t, &sub);
  assert_non_null(r.tc);
  moqc_track_consumer_set_waker(r.tc, rd_drain, &r);
  moqc_track_proxy *p = moqc_track_proxy_new(t);
  assert_non_null(p);
  moqc_track_producer_del(t);
  uv_timer_t ka;
  keepalive_start(&loop, &ka);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, writer, p), 0);
  /* The loop blocks in poll while idle: only the proxy's uv_async wakes it. */
  while (r.end == 0 && !g_expired) uv_run(&loop, UV_RUN_ONCE);
  assert_false(g_expired);
  void *ret = (void *)-1;
  pthread_join(th, &ret);
  assert_null(ret);
  assert_int_equal(r.end, MOQC_ERR_CLOSED);
  assert_int_equal(r.bad, 0);
  assert_int_equal(r.next, N_FRAMES);
  uv_close((uv_handle_t *)&ka, NULL);
  moqc_track_consumer_del(r.tc);
  moqc_uv_del(u);
  for (int i = 0; i < 1000 && uv_loop_alive(&loop); i++) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* Timers of the env fire from the loop's clock. */
static void on_timer(moqc_timer *t, void *arg) {
  (void)t;
  (*(int *)arg)++;
}

static void test_env_timer_from_loop(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  moqc_uv *u = moqc_uv_new(&loop, 0);
  assert_non_null(u);
  moqc_clock *c = moqc_env_clock(moqc_uv_env(u));
  int fired = 0;
  moqc_timer tm;
  moqc_timer_init(&tm, on_timer, &fired);
  assert_int_equal(moqc_timer_start(c, &tm, moqc_clock_now(c) + 20000000ull), MOQC_OK);
  moqc_uv_poll(u); /* re-arms the uv timer for the new deadline */
  uv_timer_t ka;
  keepalive_start(&loop, &ka);
  while (!fired && !g_expired) uv_run(&loop, UV_RUN_ONCE);
  assert_false(g_expired);
  assert_int_equal(fired, 1);
  uv_close((uv_handle_t *)&ka, NULL);
  moqc_uv_del(u);
  for (int i = 0; i < 1000 && uv_loop_alive(&loop); i++) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_proxy_wakes_loop),
      cmocka_unit_test(test_env_timer_from_loop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
