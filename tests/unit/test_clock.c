/* Unit tests: src/core/clock.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "moqc/clock.h"
#include "moqc/error.h"

#define MAX_LOG 4096

typedef struct fixture {
  moqc_clock *clk;
  int log[MAX_LOG];     /* ids of fired timers, in order */
  uint64_t at[MAX_LOG]; /* moqc_clock_now() seen by each callback */
  size_t n;
} fixture;

typedef struct tmr {
  moqc_timer t;
  fixture *f;
  int id;
  /* optional actions run from the callback */
  moqc_timer *stop_other;
  uint64_t rearm_after; /* re-arm self at now + this, while rearm_count > 0 */
  int rearm_count;
} tmr;

static void on_fire(moqc_timer *t, void *arg) {
  tmr *m = arg;
  assert_ptr_equal(t, &m->t);
  assert_false(moqc_timer_armed(t)); /* disarmed before its callback runs */
  fixture *f = m->f;
  if (f->n < MAX_LOG) {
    f->log[f->n] = m->id;
    f->at[f->n] = moqc_clock_now(f->clk);
    f->n++;
  }
  if (m->stop_other) moqc_timer_stop(f->clk, m->stop_other);
  if (m->rearm_count > 0) {
    m->rearm_count--;
    assert_int_equal(moqc_timer_start(f->clk, t, moqc_clock_now(f->clk) + m->rearm_after), MOQC_OK);
  }
}

static void tmr_init(tmr *m, fixture *f, int id) {
  memset(m, 0, sizeof *m);
  m->f = f;
  m->id = id;
  moqc_timer_init(&m->t, on_fire, m);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (!f) return -1;
  f->clk = moqc_clock_new(1000);
  if (!f->clk) {
    free(f);
    return -1;
  }
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  moqc_clock_del(f->clk);
  free(f);
  return 0;
}

static void test_now_and_advance(void **state) {
  fixture *f = *state;
  assert_int_equal(moqc_clock_now(f->clk), 1000);
  assert_int_equal(moqc_clock_next(f->clk), UINT64_MAX);
  assert_int_equal(moqc_clock_advance(f->clk, 5000), 0);
  assert_int_equal(moqc_clock_now(f->clk), 5000);
  assert_int_equal(moqc_clock_advance(f->clk, 10), 0); /* never backwards */
  assert_int_equal(moqc_clock_now(f->clk), 5000);
}

static void test_ordering(void **state) {
  fixture *f = *state;
  tmr m[5];
  static const uint64_t deadline[5] = {3000, 1500, 2000, 1500, 9000};
  for (int i = 0; i < 5; i++) {
    tmr_init(&m[i], f, i);
    assert_false(moqc_timer_armed(&m[i].t));
    assert_int_equal(moqc_timer_start(f->clk, &m[i].t, deadline[i]), MOQC_OK);
    assert_true(moqc_timer_armed(&m[i].t));
  }
  assert_int_equal(moqc_clock_next(f->clk), 1500);
  assert_int_equal(moqc_clock_advance(f->clk, 1499), 0);
  assert_int_equal(moqc_clock_advance(f->clk, 3000), 4);
  /* Equal deadlines fire in start order: 1 before 3. */
  static const int want[4] = {1, 3, 2, 0};
  assert_int_equal(f->n, 4);
  for (int i = 0; i < 4; i++) assert_int_equal(f->log[i], want[i]);
  /* Time steps through the deadlines. */
  assert_int_equal(f->at[0], 1500);
  assert_int_equal(f->at[1], 1500);
  assert_int_equal(f->at[2], 2000);
  assert_int_equal(f->at[3], 3000);
  assert_int_equal(moqc_clock_now(f->clk), 3000);
  assert_true(moqc_timer_armed(&m[4].t));
  assert_int_equal(moqc_clock_next(f->clk), 9000);
  moqc_timer_stop(f->clk, &m[4].t);
  assert_int_equal(moqc_clock_next(f->clk), UINT64_MAX);
  assert_int_equal(moqc_clock_advance(f->clk, 100000), 0);
}

static void test_past_deadline_runs_at_now(void **state) {
  fixture *f = *state;
  moqc_clock_advance(f->clk, 50000);
  tmr m;
  tmr_init(&m, f, 7);
  assert_int_equal(moqc_timer_start(f->clk, &m.t, 10), MOQC_OK);
  assert_int_equal(moqc_clock_advance(f->clk, 50000), 1); /* same now: still runs */
  assert_int_equal(f->at[0], 50000);                      /* time never goes back */
}

static void test_rearm(void **state) {
  fixture *f = *state;
  tmr a, b;
  tmr_init(&a, f, 1);
  tmr_init(&b, f, 2);
  assert_int_equal(moqc_timer_start(f->clk, &a.t, 2000), MOQC_OK);
  assert_int_equal(moqc_timer_start(f->clk, &b.t, 3000), MOQC_OK);
  /* Re-arm a later than b: b fires first. */
  assert_int_equal(moqc_timer_start(f->clk, &a.t, 4000), MOQC_OK);
  assert_int_equal(moqc_clock_next(f->clk), 3000);
  /* Re-arm to an equal deadline: counts as started last. */
  assert_int_equal(moqc_timer_start(f->clk, &a.t, 3000), MOQC_OK);
  assert_int_equal(moqc_clock_advance(f->clk, 10000), 2);
  assert_int_equal(f->log[0], 2);
  assert_int_equal(f->log[1], 1);
}

static void test_periodic_rearm_in_callback(void **state) {
  fixture *f = *state;
  tmr p;
  tmr_init(&p, f, 9);
  p.rearm_after = 100;
  p.rearm_count = 4;
  assert_int_equal(moqc_timer_start(f->clk, &p.t, 1100), MOQC_OK);
  /* One advance runs the whole chain, each at its own time. */
  assert_int_equal(moqc_clock_advance(f->clk, 1450), 4);
  assert_int_equal(f->at[0], 1100);
  assert_int_equal(f->at[1], 1200);
  assert_int_equal(f->at[2], 1300);
  assert_int_equal(f->at[3], 1400);
  assert_true(moqc_timer_armed(&p.t));
  assert_int_equal(moqc_clock_next(f->clk), 1500);
  assert_int_equal(moqc_clock_advance(f->clk, 2000), 1);
  assert_false(moqc_timer_armed(&p.t)); /* rearm_count exhausted */
}

static void test_stop_inside_callback(void **state) {
  fixture *f = *state;
  tmr a, b, c;
  tmr_init(&a, f, 1);
  tmr_init(&b, f, 2);
  tmr_init(&c, f, 3);
  a.stop_other = &b.t; /* a stops b, which is due at the same time */
  c.stop_other = &c.t; /* stopping oneself while running is a no-op */
  assert_int_equal(moqc_timer_start(f->clk, &a.t, 2000), MOQC_OK);
  assert_int_equal(moqc_timer_start(f->clk, &b.t, 2000), MOQC_OK);
  assert_int_equal(moqc_timer_start(f->clk, &c.t, 2500), MOQC_OK);
  assert_int_equal(moqc_clock_advance(f->clk, 3000), 2);
  assert_int_equal(f->n, 2);
  assert_int_equal(f->log[0], 1);
  assert_int_equal(f->log[1], 3);
  assert_false(moqc_timer_armed(&b.t));
  moqc_timer_stop(f->clk, &b.t); /* stop on a stopped timer: no-op */
  assert_int_equal(moqc_clock_next(f->clk), UINT64_MAX);
}

static void test_start_inside_callback_due_now(void **state) {
  fixture *f = *state;
  tmr a, b;
  tmr_init(&a, f, 1);
  tmr_init(&b, f, 2);
  a.rearm_count = 1;
  a.rearm_after = 0; /* re-arm at the current time: runs in the same advance */
  assert_int_equal(moqc_timer_start(f->clk, &a.t, 2000), MOQC_OK);
  assert_int_equal(moqc_timer_start(f->clk, &b.t, 2000), MOQC_OK);
  assert_int_equal(moqc_clock_advance(f->clk, 2000), 3);
  /* a's re-arm was started after b, so it fires after b. */
  assert_int_equal(f->log[0], 1);
  assert_int_equal(f->log[1], 2);
  assert_int_equal(f->log[2], 1);
}

static int g_notified;
static void on_notify(void *ctx) {
  (void)ctx;
  g_notified++;
}

static void test_notify(void **state) {
  fixture *f = *state;
  tmr a, b;
  tmr_init(&a, f, 1);
  tmr_init(&b, f, 2);
  g_notified = 0;
  moqc_clock_set_notify(f->clk, on_notify, f);
  assert_int_equal(moqc_timer_start(f->clk, &a.t, 5000), MOQC_OK);
  assert_int_equal(g_notified, 1); /* first deadline */
  assert_int_equal(moqc_timer_start(f->clk, &b.t, 6000), MOQC_OK);
  assert_int_equal(g_notified, 1); /* next unchanged */
  assert_int_equal(moqc_timer_start(f->clk, &b.t, 4000), MOQC_OK);
  assert_int_equal(g_notified, 2); /* earlier */
  moqc_timer_stop(f->clk, &a.t);
  assert_int_equal(g_notified, 2); /* a was not first */
  moqc_clock_set_notify(f->clk, NULL, NULL);
  moqc_timer_stop(f->clk, &b.t);
  assert_int_equal(g_notified, 2);
}

/* xorshift64: deterministic, no libc rand state. */
static uint64_t rnd(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

static void on_random(moqc_timer *t, void *arg) {
  fixture *f = arg;
  if (f->n < MAX_LOG) {
    f->at[f->n] = moqc_clock_now(f->clk);
    f->log[f->n] = (int)(t->deadline & 0x7fffffff);
    f->n++;
  }
  assert_int_equal(moqc_clock_now(f->clk), t->deadline);
}

static void test_random_1000(void **state) {
  fixture *f = *state;
  enum { N = 1000 };
  moqc_timer *ts = calloc(N, sizeof *ts);
  assert_non_null(ts);
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < N; i++) {
    moqc_timer_init(&ts[i], on_random, f);
    assert_int_equal(moqc_timer_start(f->clk, &ts[i], 2000 + rnd(&seed) % 100000), MOQC_OK);
  }
  /* Stop a third of them and re-arm another third. */
  size_t stopped = 0;
  for (int i = 0; i < N; i += 3) {
    moqc_timer_stop(f->clk, &ts[i]);
    stopped++;
  }
  for (int i = 1; i < N; i += 3)
    assert_int_equal(moqc_timer_start(f->clk, &ts[i], 2000 + rnd(&seed) % 100000), MOQC_OK);
  /* Advance in uneven steps. */
  size_t ran = 0;
  for (uint64_t now = 1000; now < 110000; now += 1 + rnd(&seed) % 7000)
    ran += moqc_clock_advance(f->clk, now);
  ran += moqc_clock_advance(f->clk, 200000);
  assert_int_equal(ran, N - stopped);
  assert_int_equal(f->n, N - stopped);
  for (size_t i = 1; i < f->n; i++) assert_true(f->at[i - 1] <= f->at[i]);
  for (int i = 0; i < N; i++) assert_false(moqc_timer_armed(&ts[i]));
  free(ts);
}

static void test_del_with_armed_timers(void **state) {
  (void)state;
  moqc_clock *c = moqc_clock_new(0);
  assert_non_null(c);
  moqc_timer t[40];
  for (int i = 0; i < 40; i++) {
    moqc_timer_init(&t[i], NULL, NULL);
    assert_int_equal(moqc_timer_start(c, &t[i], (uint64_t)(40 - i)), MOQC_OK);
  }
  moqc_clock_del(c); /* forgets them; nothing runs, nothing leaks */
  for (int i = 0; i < 40; i++) assert_false(moqc_timer_armed(&t[i]));
  moqc_clock_del(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_now_and_advance, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ordering, setup, teardown),
      cmocka_unit_test_setup_teardown(test_past_deadline_runs_at_now, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rearm, setup, teardown),
      cmocka_unit_test_setup_teardown(test_periodic_rearm_in_callback, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stop_inside_callback, setup, teardown),
      cmocka_unit_test_setup_teardown(test_start_inside_callback_due_now, setup, teardown),
      cmocka_unit_test_setup_teardown(test_notify, setup, teardown),
      cmocka_unit_test_setup_teardown(test_random_1000, setup, teardown),
      cmocka_unit_test(test_del_with_armed_timers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
