/* Unit tests: src/model/env.c (deferred wakers, rounds, notify). */
#include "test_model_common.h"

static void test_notify_on_first_pending(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  int notified = 0;
  moqc_env_set_notify(env, tm_count, &notified);
  moqc_group_producer *g = moqc_group_producer_new(env, 0);
  moqc_group_consumer *a = moqc_group_producer_consume(g);
  moqc_group_consumer *b = moqc_group_producer_consume(g);
  int na = 0, nb = 0;
  moqc_group_consumer_set_waker(a, tm_count, &na);
  moqc_group_consumer_set_waker(b, tm_count, &nb);
  assert_int_equal(notified, 0);
  tm_write(g, "x"); /* both scheduled: one notification */
  tm_write(g, "y");
  assert_int_equal(notified, 1);
  assert_true(moqc_env_pending(env));
  assert_int_equal(moqc_env_run(env), 2);
  assert_int_equal(na, 1);
  assert_int_equal(nb, 1);
  assert_false(moqc_env_pending(env));
  assert_int_equal(notified, 1); /* nothing left after the run */
  moqc_group_consumer_del(a);
  moqc_group_consumer_del(b);
  moqc_group_producer_del(g);
  moqc_env_del(env);
}

/* A waker that writes into a second group (chaining within one run). */
typedef struct chain {
  moqc_group_consumer *in;
  moqc_group_producer *out;
  int runs;
} chain;

static void chain_waker(void *arg) {
  chain *c = arg;
  c->runs++;
  moqc_frame f;
  while (moqc_group_consumer_read_frame(c->in, &f) == MOQC_OK) {
    moqc_group_producer_write_frame(c->out, &f.payload, f.info.timestamp);
    moqc_slice_release(&f.payload);
  }
}

static void test_rounds_chain_in_one_run(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_group_producer *g1 = moqc_group_producer_new(env, 1);
  moqc_group_producer *g2 = moqc_group_producer_new(env, 2);
  chain c = {moqc_group_producer_consume(g1), g2, 0};
  moqc_group_consumer *end = moqc_group_producer_consume(g2);
  int n = 0;
  moqc_group_consumer_set_waker(c.in, chain_waker, &c);
  moqc_group_consumer_set_waker(end, tm_count, &n);
  tm_write(g1, "hop");
  assert_int_equal(moqc_env_run(env), 2); /* chain in round 1, end in round 2 */
  assert_int_equal(c.runs, 1);
  assert_int_equal(n, 1);
  tm_expect_frame(end, "hop"); /* same buf, relayed by reference */
  moqc_group_consumer_del(end);
  moqc_group_consumer_del(c.in);
  moqc_group_producer_del(g1);
  moqc_group_producer_del(g2);
  moqc_env_del(env);
}

/* A waker that makes itself ready again forever. */
typedef struct loop {
  moqc_group_producer *g;
  moqc_group_consumer *c;
  int runs;
} loop;

static void loop_waker(void *arg) {
  loop *l = arg;
  l->runs++;
  moqc_frame f;
  while (moqc_group_consumer_read_frame(l->c, &f) == MOQC_OK) moqc_slice_release(&f.payload);
  tm_write(l->g, "again");
}

static void test_run_is_bounded(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  int notified = 0;
  moqc_env_set_notify(env, tm_count, &notified);
  loop l = {moqc_group_producer_new(env, 0), NULL, 0};
  moqc_group_producer_set_max_bytes(l.g, 64);
  l.c = moqc_group_producer_consume(l.g);
  moqc_group_consumer_set_waker(l.c, loop_waker, &l);
  tm_write(l.g, "go");
  notified = 0;
  assert_int_equal(moqc_env_run(env), 64);
  assert_int_equal(l.runs, 64);
  assert_true(moqc_env_pending(env));
  assert_int_equal(notified, 1); /* the driver is told to come back */
  moqc_group_consumer_del(l.c);
  assert_false(moqc_env_pending(env));
  moqc_group_producer_del(l.g);
  moqc_env_del(env);
}

/* A waker that deletes its own consumer and another scheduled one. */
typedef struct killer {
  moqc_group_consumer *self;
  moqc_group_consumer *victim;
  int runs;
} killer;

static void killer_waker(void *arg) {
  killer *k = arg;
  k->runs++;
  moqc_group_consumer_del(k->self);
  moqc_group_consumer_del(k->victim);
  k->self = k->victim = NULL;
}

static void test_delete_inside_waker(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_group_producer *g = moqc_group_producer_new(env, 0);
  killer k = {moqc_group_producer_consume(g), moqc_group_producer_consume(g), 0};
  int victim_runs = 0;
  moqc_group_consumer_set_waker(k.self, killer_waker, &k);
  moqc_group_consumer_set_waker(k.victim, tm_count, &victim_runs);
  tm_write(g, "x"); /* both scheduled, killer first */
  assert_int_equal(moqc_env_run(env), 1);
  assert_int_equal(k.runs, 1);
  assert_int_equal(victim_runs, 0); /* unlinked from the running round */
  moqc_group_producer_del(g);
  moqc_env_del(env);
}

static void test_cache_budget_accessors(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  assert_non_null(moqc_env_clock(env));
  assert_int_equal(moqc_clock_now(moqc_env_clock(env)), 1000);
  assert_int_equal(moqc_env_cache_bytes(env), 0);
  moqc_track_producer *t = moqc_track_producer_new(env, "t", NULL);
  tm_group1(t, "12345");
  tm_group1(t, "678");
  assert_int_equal(moqc_env_cache_bytes(env), 8);
  moqc_env_set_cache_budget(env, 4); /* group 0 goes, the latest stays */
  assert_int_equal(moqc_env_cache_bytes(env), 3);
  moqc_track_producer_del(t);
  assert_int_equal(moqc_env_cache_bytes(env), 0);
  moqc_env_del(env);
}

/* The env's window clamp (a relay's --cache-duration) overrides a publisher's
 * longer latency_max_ms for caching, and leaves the track info alone. */
static void test_cache_window_clamp(void **state) {
  (void)state;
  const uint64_t ms = 1000000;
  moqc_env *env = tm_env(0);
  moqc_clock *clk = moqc_env_clock(env);
  assert_int_equal(moqc_env_cache_window_max(env), 0);
  moqc_env_set_cache_window_max(env, 100);
  assert_int_equal(moqc_env_cache_window_max(env), 100);
  moqc_track_info info = MOQC_TRACK_INFO_DEFAULT;
  info.latency_max_ms = 3600 * 1000; /* the publisher asks for an hour */
  moqc_track_producer *t = moqc_track_producer_new(env, "t", &info);
  tm_group1(t, "12345");
  tm_group1(t, "678");
  assert_int_equal(moqc_env_cache_bytes(env), 8);
  moqc_clock_advance(clk, moqc_clock_now(clk) + 99 * ms);
  assert_int_equal(moqc_env_cache_bytes(env), 8);
  moqc_clock_advance(clk, moqc_clock_now(clk) + 1 * ms); /* 100 ms: group 0 is gone */
  assert_int_equal(moqc_env_cache_bytes(env), 3);
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  moqc_track_consumer *c = moqc_track_producer_consume(t, &sub);
  assert_non_null(c);
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_fetch_group(c, 0, &g), MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_track_consumer_info(c)->latency_max_ms, 3600 * 1000); /* unchanged */
  moqc_track_consumer_del(c);
  moqc_track_producer_del(t);
  moqc_env_del(env);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_notify_on_first_pending),
      cmocka_unit_test(test_rounds_chain_in_one_run),
      cmocka_unit_test(test_run_is_bounded),
      cmocka_unit_test(test_delete_inside_waker),
      cmocka_unit_test(test_cache_budget_accessors),
      cmocka_unit_test(test_cache_window_clamp),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
