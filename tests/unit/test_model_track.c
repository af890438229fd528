/* Unit tests: src/model/track.c, track_consumer.c, cache.c. */
#include "test_model_common.h"
#include "model/internal.h"

#define MS 1000000ULL

static moqc_track_producer *track_new(moqc_env *env, uint64_t latency_ms) {
  moqc_track_info info = MOQC_TRACK_INFO_DEFAULT;
  info.latency_max_ms = latency_ms;
  moqc_track_producer *t = moqc_track_producer_new(env, "video", &info);
  assert_non_null(t);
  return t;
}

static void create1(moqc_track_producer *t, uint64_t seq, const char *s) {
  moqc_group_producer *g = NULL;
  assert_int_equal(moqc_track_producer_create_group(t, seq, &g), MOQC_OK);
  assert_int_equal(tm_write(g, s), MOQC_OK);
  assert_int_equal(moqc_group_producer_finish(g), MOQC_OK);
  moqc_group_producer_del(g);
}

static void expect_again(moqc_track_consumer *c) {
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(c, &g), MOQC_ERR_AGAIN);
}

static void test_out_of_order_arrival(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_track_producer *t = track_new(env, 5000);
  moqc_track_consumer *c = moqc_track_producer_consume(t, NULL);
  expect_again(c);
  create1(t, 5, "five");
  create1(t, 3, "three");
  moqc_group_consumer *g = tm_expect_group(c, 5);
  tm_expect_frame(g, "five");
  moqc_group_consumer_del(g);
  g = tm_expect_group(c, 3); /* arrival order, not sequence order */
  tm_expect_frame(g, "three");
  moqc_group_consumer_del(g);
  expect_again(c);
  assert_int_equal(moqc_track_producer_latest(t), 5);
  /* append continues from the highest sequence */
  tm_group1(t, "six");
  tm_expect_group_del(c, 6);
  moqc_track_consumer_del(c);
  moqc_track_producer_del(t);
  moqc_env_del(env);
}

static void test_late_joiner_starts_at_latest(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_track_producer *t = track_new(env, 5000);
  tm_group1(t, "g0");
  tm_group1(t, "g1");
  create1(t, 4, "g4");
  moqc_track_consumer *c = moqc_track_producer_consume(t, NULL);
  assert_int_equal(moqc_track_consumer_latest(c), 4);
  moqc_group_consumer *g = tm_expect_group(c, 4);
  tm_expect_frame(g, "g4");
  moqc_group_consumer_del(g);
  expect_again(c);
  int n = 0;
  moqc_track_consumer_set_waker(c, tm_count, &n);
  tm_group1(t, "g5");
  assert_int_equal(n, 0);
  moqc_env_run(env);
  assert_int_equal(n, 1);
  tm_expect_group_del(c, 5);
  /* an older group arriving late is below the start: skipped */
  create1(t, 3, "g3");
  expect_again(c);
  /* an early subscriber (start 0) gets everything in arrival order */
  moqc_track_consumer *all =
      moqc_track_producer_consume(t, &(moqc_subscription){0, false, 0, 0, MOQC_GROUP_NONE});
  tm_expect_group_del(all, 0);
  tm_expect_group_del(all, 1);
  tm_expect_group_del(all, 4);
  tm_expect_group_del(all, 5);
  tm_expect_group_del(all, 3);
  expect_again(all);
  moqc_track_consumer_del(all);
  moqc_track_consumer_del(c);
  moqc_track_producer_del(t);
  moqc_env_del(env);
}

static void test_start_end_subscription(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_track_producer *t = track_new(env, 5000);
  for (int i = 0; i < 5; i++) tm_group1(t, "x");
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  sub.start = 1;
  sub.end = 2;
  moqc_track_consumer *c = moqc_track_producer_consume(t, &sub);
  tm_expect_group_del(c, 1);
  tm_expect_group_del(c, 2);
  expect_again(c);   /* 3 and 4 held back */
  tm_group1(t, "x"); /* 5: also held */
  expect_again(c);
  sub.end = 3;
  assert_int_equal(moqc_track_consumer_update(c, &sub), MOQC_OK);
  tm_expect_group_del(c, 3);
  expect_again(c);
  sub.end = MOQC_GROUP_NONE;
  moqc_track_consumer_update(c, &sub);
  tm_expect_group_del(c, 4);
  tm_expect_group_del(c, 5);
  expect_again(c);
  /* finished but a group is still held: not closed until it is delivered */
  moqc_subscription sub2 = MOQC_SUBSCRIPTION_DEFAULT;
  sub2.start = 0;
  sub2.end = 0;
  moqc_track_consumer *d = moqc_track_producer_consume(t, &sub2);
  tm_expect_group_del(d, 0);
  assert_int_equal(moqc_track_producer_finish(t), MOQC_OK);
  expect_again(d);
  sub2.end = 1;
  moqc_track_consumer_update(d, &sub2);
  tm_expect_group_del(d, 1);
  moqc_group_consumer *g = NULL;
  sub2.end = MOQC_GROUP_NONE;
  moqc_track_consumer_update(d, &sub2);
  for (uint64_t s = 2; s <= 5; s++) tm_expect_group_del(d, s);
  assert_int_equal(moqc_track_consumer_recv_group(d, &g), MOQC_ERR_CLOSED);
  assert_int_equal(moqc_track_consumer_recv_group(c, &g), MOQC_ERR_CLOSED);
  moqc_track_consumer_del(d);
  moqc_track_consumer_del(c);
  moqc_track_producer_del(t);
  moqc_env_del(env);
}

static void test_duplicate_and_finish_rules(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_track_producer *t = track_new(env, 5000);
  moqc_group_producer *open = NULL, *g = NULL;
  assert_int_equal(moqc_track_producer_create_group(t, 4, &open), MOQC_OK);
  assert_int_equal(moqc_track_producer_create_group(t, 4, &g), MOQC_ERR_DUPLICATE);
  create1(t, 2, "two");
  assert_int_equal(moqc_track_producer_create_group(t, 2, &g), MOQC_ERR_DUPLICATE);
  assert_int_equal(moqc_track_producer_finish(t), MOQC_OK); /* final = 5 */
  assert_int_equal(moqc_track_producer_finish(t), MOQC_OK);
  moqc_track_consumer *c =
      moqc_track_producer_consume(t, &(moqc_subscription){0, false, 0, 0, MOQC_GROUP_NONE});
  assert_int_equal(moqc_track_consumer_final(c), 5);
  assert_int_equal(moqc_track_producer_create_group(t, 5, &g), MOQC_ERR_STATE);
  assert_null(moqc_track_producer_append_group(t));
  /* lower groups may still arrive after finish */
  create1(t, 3, "three");
  tm_expect_group_del(c, 4);
  tm_expect_group_del(c, 2);
  tm_expect_group_del(c, 3);
  moqc_group_consumer *x = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(c, &x), MOQC_ERR_CLOSED);
  assert_int_equal(moqc_track_producer_finish_at(t, 7), MOQC_ERR_STATE);
  moqc_group_producer_finish(open);
  moqc_group_producer_del(open);
  moqc_track_consumer_del(c);
  moqc_track_producer_del(t);

  /* finish_at ahead of the live edge: closed once the edge reaches it */
  t = track_new(env, 5000);
  tm_group1(t, "0");
  assert_int_equal(moqc_track_producer_finish_at(t, 0), MOQC_ERR_INVAL);
  assert_int_equal(moqc_track_producer_finish_at(t, 3), MOQC_OK);
  c = moqc_track_producer_consume(t, NULL);
  tm_expect_group_del(c, 0);
  expect_again(c);
  tm_group1(t, "1");
  tm_group1(t, "2");
  assert_null(moqc_track_producer_append_group(t));
  tm_expect_group_del(c, 1);
  tm_expect_group_del(c, 2);
  assert_int_equal(moqc_track_consumer_recv_group(c, &x), MOQC_ERR_CLOSED);
  moqc_track_consumer_del(c);
  moqc_track_producer_del(t);
  moqc_env_del(env);
}

static void test_eviction_by_age(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_clock *clk = moqc_env_clock(env);
  moqc_track_producer *t = track_new(env, 100);
  moqc_subscription from0 = {0, false, 0, 0, MOQC_GROUP_NONE};
  moqc_track_consumer *slow = moqc_track_producer_consume(t, &from0);
  moqc_track_consumer *holder = moqc_track_producer_consume(t, &from0);
  tm_group1(t, "g0");
  moqc_group_consumer *held = tm_expect_group(holder, 0);
  moqc_clock_advance(clk, moqc_clock_now(clk) + 10 * MS);
  tm_group1(t, "g1");
  tm_group1(t, "g2");
  size_t before = moqc_env_cache_bytes(env);
  assert_int_equal(before, 6);
  /* 90 ms later g0 (age 100 ms) expires by timer alone, no new group needed */
  moqc_clock_advance(clk, moqc_clock_now(clk) + 89 * MS);
  moqc_group_consumer *x = NULL;
  assert_int_equal(moqc_track_consumer_fetch_group(slow, 0, &x), MOQC_OK);
  moqc_group_consumer_del(x);
  moqc_clock_advance(clk, moqc_clock_now(clk) + 1 * MS);
  assert_int_equal(moqc_track_consumer_fetch_group(slow, 0, &x), MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_env_cache_bytes(env), 4);
  /* much later: g1 expires, g2 is the latest and stays */
  moqc_clock_advance(clk, moqc_clock_now(clk) + 1000 * MS);
  assert_int_equal(moqc_track_consumer_fetch_group(slow, 1, &x), MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_track_consumer_fetch_group(slow, 2, &x), MOQC_OK);
  moqc_group_consumer_del(x);
  assert_int_equal(moqc_env_cache_bytes(env), 2);
  /* the slow consumer skips what expired before it got there */
  tm_expect_group_del(slow, 2);
  /* the holder still reads its evicted group in full */
  tm_expect_frame(held, "g0");
  moqc_frame f;
  assert_int_equal(moqc_group_consumer_read_frame(held, &f), MOQC_ERR_CLOSED);
  moqc_group_consumer_del(held);
  /* an evicted sequence may be created again */
  create1(t, 0, "again");
  moqc_track_consumer_del(holder);
  moqc_track_consumer_del(slow);
  moqc_track_producer_del(t);
  assert_int_equal(moqc_env_cache_bytes(env), 0);
  moqc_env_del(env);
}

/* A sliding window over many groups (finding 6 of issue 17): expiry removes
 * the oldest entry (the array's head moves, nothing is shifted), inserts
 * reclaim the free head room or grow the array, and a group dropped from the
 * middle closes its hole from the shorter side. After every step the cache
 * holds exactly the groups of the last 10 ms, each found by its sequence. */
static void test_cache_sliding_window(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_clock *clk = moqc_env_clock(env);
  moqc_track_producer *t = track_new(env, 10);
  moqc_subscription latest = {0, false, 0, 0, MOQC_GROUP_NONE};
  moqc_track_consumer *c = moqc_track_producer_consume(t, &latest);
  moqc_group_consumer *x = NULL;
  moqc_group_producer *held = NULL;
  for (uint64_t seq = 0; seq < 3000; seq++) {
    create1(t, 2 * seq, "g"); /* even sequences: one 1-byte group per ms */
    if (seq % 97 == 50)       /* an odd one kept open, aborted 6 ms later: a hole in the middle */
      assert_int_equal(moqc_track_producer_create_group(t, 2 * seq + 1, &held), MOQC_OK);
    if (seq % 97 == 56) {
      moqc_group_producer_abort(held, 1);
      moqc_group_producer_del(held);
      held = NULL;
    }
    moqc_clock_advance(clk, moqc_clock_now(clk) + 1 * MS);
    if (seq % 10 != 9) continue;
    /* groups younger than 10 ms are cached, older ones are gone */
    for (uint64_t back = 0; back < 14 && back <= seq; back++) {
      int rc = moqc_track_consumer_fetch_group(c, 2 * (seq - back), &x);
      if (back < 9) { /* created 9 ms ago: due (created + 10 ms == now) */
        assert_int_equal(rc, MOQC_OK);
        moqc_group_consumer_del(x);
      } else {
        assert_int_equal(rc, MOQC_ERR_NOT_FOUND);
      }
    }
    assert_in_range(moqc_env_cache_bytes(env), 9, 10);
  }
  if (held) moqc_group_producer_del(held);
  moqc_track_consumer_del(c);
  moqc_track_producer_del(t);
  assert_int_equal(moqc_env_cache_bytes(env), 0);
  moqc_env_del(env);
}

/* Age eviction is armed per insert (the newcomer and the live edge it
 * replaced), not by rescanning: out-of-order arrivals and a long run of small
 * groups must still expire exactly at created + latency_max. */
static void test_eviction_by_age_out_of_order(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_clock *clk = moqc_env_clock(env);
  moqc_track_producer *t = track_new(env, 100);
  moqc_subscription from0 = {0, false, 0, 0, MOQC_GROUP_NONE};
  moqc_track_consumer *c = moqc_track_producer_consume(t, &from0);
  uint64_t t0 = moqc_clock_now(clk);
  create1(t, 5, "g5"); /* live edge at t0: never evicted while latest */
  moqc_clock_advance(clk, t0 + 50 * MS);
  create1(t, 3, "g3"); /* older arrival: due at t0 + 150 */
  moqc_clock_advance(clk, t0 + 60 * MS);
  create1(t, 7, "g7"); /* g5 stops being the edge: due at t0 + 100 */
  moqc_group_consumer *x = NULL;
  moqc_clock_advance(clk, t0 + 99 * MS);
  assert_int_equal(moqc_env_cache_bytes(env), 6);
  moqc_clock_advance(clk, t0 + 100 * MS);
  assert_int_equal(moqc_track_consumer_fetch_group(c, 5, &x), MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_track_consumer_fetch_group(c, 3, &x), MOQC_OK);
  moqc_group_consumer_del(x);
  moqc_clock_advance(clk, t0 + 149 * MS);
  assert_int_equal(moqc_env_cache_bytes(env), 4);
  moqc_clock_advance(clk, t0 + 150 * MS);
  assert_int_equal(moqc_track_consumer_fetch_group(c, 3, &x), MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_env_cache_bytes(env), 2); /* g7, the edge, stays */
  /* 1,000 groups 1 ms apart: exactly the last 100 ms stay cached */
  for (uint64_t i = 0; i < 1000; i++) {
    moqc_clock_advance(clk, t0 + (1000 + i) * MS);
    create1(t, 100 + i, "ab");
  }
  /* at t0 + 1999 ms the groups created at >= t0 + 1900 ms are younger than 100 ms */
  assert_int_equal(moqc_env_cache_bytes(env), 100 * 2);
  assert_int_equal(moqc_track_consumer_fetch_group(c, 100 + 899, &x), MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_track_consumer_fetch_group(c, 100 + 900, &x), MOQC_OK);
  moqc_group_consumer_del(x);
  moqc_track_consumer_del(c);
  moqc_track_producer_del(t);
  assert_int_equal(moqc_env_cache_bytes(env), 0);
  /* a shared group inserted after a younger one (relay): still expires on time */
  moqc_track_producer *src = track_new(env, 5000), *relay = track_new(env, 100);
  moqc_track_consumer *in = moqc_track_producer_consume(src, NULL);
  moqc_track_consumer *out = moqc_track_producer_consume(relay, &from0);
  uint64_t t1 = moqc_clock_now(clk);
  create1(src, 0, "s0"); /* created at t1 */
  moqc_group_consumer *gc = tm_expect_group(in, 0);
  moqc_clock_advance(clk, t1 + 50 * MS);
  create1(relay, 1, "r1");                                                /* created t1 + 50 */
  assert_int_equal(moqc_track_producer_insert_group(relay, gc), MOQC_OK); /* created t1 */
  moqc_group_consumer_del(gc);
  moqc_clock_advance(clk, t1 + 60 * MS);
  create1(relay, 2, "r2"); /* r1 due at t1 + 150, s0 at t1 + 100 */
  moqc_clock_advance(clk, t1 + 100 * MS);
  assert_int_equal(moqc_track_consumer_fetch_group(out, 0, &x), MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_track_consumer_fetch_group(out, 1, &x), MOQC_OK);
  moqc_group_consumer_del(x);
  moqc_track_consumer_del(in);
  moqc_track_consumer_del(out);
  moqc_track_producer_del(src);
  moqc_track_producer_del(relay);
  moqc_env_del(env);
}

static void write_kb(moqc_track_producer *t, moqc_group_producer **out, char fill) {
  char buf[1000];
  memset(buf, fill, sizeof buf);
  moqc_group_producer *g = moqc_track_producer_append_group(t);
  assert_non_null(g);
  assert_int_equal(moqc_group_producer_write_frame_copy(g, buf, sizeof buf, 0), MOQC_OK);
  if (out) {
    *out = g;
    return;
  }
  moqc_group_producer_finish(g);
  moqc_group_producer_del(g);
}

static void test_eviction_by_budget(void **state) {
  (void)state;
  moqc_env *env = tm_env(2500);
  moqc_track_producer *a = track_new(env, 60000);
  moqc_track_producer *b = track_new(env, 60000);
  moqc_track_consumer *ca = moqc_track_producer_consume(a, NULL);
  write_kb(a, NULL, 'a');                             /* a0 */
  moqc_group_consumer *slow = tm_expect_group(ca, 0); /* received, not read */
  write_kb(b, NULL, 'b');                             /* b0 */
  assert_int_equal(moqc_env_cache_bytes(env), 2000);
  write_kb(a, NULL, 'a'); /* a1: 3000 > 2500, the oldest non-latest (a0) goes */
  assert_int_equal(moqc_env_cache_bytes(env), 2000);
  moqc_group_consumer *x = NULL;
  assert_int_equal(moqc_track_consumer_fetch_group(ca, 0, &x), MOQC_ERR_NOT_FOUND);
  moqc_track_consumer *cb =
      moqc_track_producer_consume(b, &(moqc_subscription){0, false, 0, 0, MOQC_GROUP_NONE});
  write_kb(b, NULL, 'b'); /* b1: b0 is now the globally oldest non-latest */
  assert_int_equal(moqc_env_cache_bytes(env), 2000);
  assert_int_equal(moqc_track_consumer_fetch_group(cb, 0, &x), MOQC_ERR_NOT_FOUND);
  tm_expect_group_del(cb, 1); /* b0 skipped: evicted before cb reached it */
  /* the slow reader still reads its evicted group fully */
  moqc_frame f;
  assert_int_equal(moqc_group_consumer_read_frame(slow, &f), MOQC_OK);
  assert_int_equal(f.payload.len, 1000);
  assert_int_equal(moqc_slice_ptr(&f.payload)[999], 'a');
  moqc_slice_release(&f.payload);
  assert_int_equal(moqc_group_consumer_read_frame(slow, &f), MOQC_ERR_CLOSED);
  moqc_group_consumer_del(slow);
  /* the latest group of each track is kept even over budget */
  moqc_env_set_cache_budget(env, 500);
  assert_int_equal(moqc_env_cache_bytes(env), 2000);
  assert_int_equal(moqc_track_consumer_fetch_group(ca, 1, &x), MOQC_OK);
  moqc_group_consumer_del(x);
  /* growth of an open, cached group is charged too */
  moqc_env_set_cache_budget(env, 3500);
  moqc_group_producer *open = NULL;
  write_kb(a, &open, 'c'); /* a2: 3000 */
  assert_int_equal(moqc_env_cache_bytes(env), 3000);
  char more[1000] = {0};
  assert_int_equal(moqc_group_producer_write_frame_copy(open, more, sizeof more, 0), MOQC_OK);
  assert_int_equal(moqc_env_cache_bytes(env), 3000); /* 4000 > 3500: a1 evicted */
  assert_int_equal(moqc_track_consumer_fetch_group(ca, 1, &x), MOQC_ERR_NOT_FOUND);
  moqc_group_producer_finish(open);
  moqc_group_producer_del(open);
  moqc_track_consumer_del(cb);
  moqc_track_consumer_del(ca);
  moqc_track_producer_del(a);
  moqc_track_producer_del(b);
  assert_int_equal(moqc_env_cache_bytes(env), 0);
  moqc_env_del(env);
}

/* A flood of tiny groups is bounded by the budget like big groups are: each
 * cached group is charged its payload plus the default per-group and
 * per-frame overheads (counting payload only, 2,000 groups of 10 bytes fit in
 * a 64 KiB budget, while they really take about 2 MB). */
static void test_budget_charges_overhead(void **state) {
  (void)state;
  const size_t per = 10 + MOQC_CACHE_GROUP_OVERHEAD + MOQC_CACHE_FRAME_OVERHEAD;
  moqc_env_config cfg = {1000, 0};
  moqc_env *env = moqc_env_new(&cfg); /* the default overheads */
  assert_non_null(env);
  moqc_track_producer *t = track_new(env, 60000);
  for (int i = 0; i < 10; i++) tm_group1(t, "0123456789");
  assert_int_equal(moqc_env_cache_bytes(env), 10 * per);
  const size_t budget = 64 * 1024;
  moqc_env_set_cache_budget(env, budget);
  for (int i = 0; i < 2000; i++) tm_group1(t, "0123456789");
  assert_true(moqc_env_cache_bytes(env) <= budget);
  assert_true(moqc_env_cache_bytes(env) > budget - per);
  /* the oldest went: about budget / per groups are left */
  moqc_track_consumer *c = moqc_track_producer_consume(t, NULL);
  moqc_group_consumer *x = NULL;
  uint64_t last = moqc_track_producer_latest(t);
  assert_int_equal(moqc_track_consumer_fetch_group(c, last - budget / per, &x), MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_track_consumer_fetch_group(c, last - budget / per + 2, &x), MOQC_OK);
  moqc_group_consumer_del(x);
  /* a multi-frame group is charged per frame, and trimmed frames uncharged */
  moqc_env_set_cache_budget(env, 0);
  size_t before = moqc_env_cache_bytes(env);
  moqc_group_producer *g = moqc_track_producer_append_group(t);
  assert_non_null(g);
  for (int i = 0; i < 20; i++) assert_int_equal(tm_write(g, "abcd"), MOQC_OK);
  assert_int_equal(moqc_env_cache_bytes(env) - before,
                   20 * (4 + MOQC_CACHE_FRAME_OVERHEAD) + MOQC_CACHE_GROUP_OVERHEAD);
  moqc_group_producer_set_max_bytes(g, 8); /* keeps the newest 2 frames */
  assert_int_equal(moqc_env_cache_bytes(env) - before,
                   2 * (4 + MOQC_CACHE_FRAME_OVERHEAD) + MOQC_CACHE_GROUP_OVERHEAD);
  moqc_group_producer_finish(g);
  moqc_group_producer_del(g);
  /* a changed overhead leaves the totals exact: each group is uncharged what
   * it was charged */
  moqc_env_set_cache_overhead(env, 0, 0);
  tm_group1(t, "x");
  moqc_track_consumer_del(c);
  moqc_track_producer_del(t);
  assert_int_equal(moqc_env_cache_bytes(env), 0);
  moqc_env_del(env);
}

/* The default overheads cover what the records behind a cached group take
 * on 64-bit glibc (a chunk is the request + its 8-byte header, rounded up to
 * 16, at least 32): a struct that grows past them fails here. */
static size_t glibc_chunk(size_t n) {
  size_t c = (n + 8 + 15) & ~(size_t)15;
  return c < 32 ? 32 : c;
}

static void test_overhead_covers_structs(void **state) {
  (void)state;
  size_t group = glibc_chunk(sizeof(moqc_gstate)) + glibc_chunk(sizeof(moqc_centry)) +
                 2 * sizeof(moqc_centry *) + glibc_chunk(8 * sizeof(moqc_gframe));
  size_t frame = glibc_chunk(sizeof(moqc_buf) + 1) - 1; /* header + malloc, 1-byte payload */
  size_t frame_big = sizeof(moqc_gframe) + glibc_chunk(sizeof(moqc_buf) + 1000) - 1000;
  print_message("per group %zu B (charged %u), per frame %zu-%zu B (charged %u)\n", group,
                MOQC_CACHE_GROUP_OVERHEAD, frame, frame_big, MOQC_CACHE_FRAME_OVERHEAD);
  assert_true(group <= MOQC_CACHE_GROUP_OVERHEAD);
  assert_true(frame_big <= MOQC_CACHE_FRAME_OVERHEAD);
  /* and are not wildly above it (a budget that evicts for nothing) */
  assert_true(MOQC_CACHE_GROUP_OVERHEAD <= group + 64);
  assert_true(MOQC_CACHE_FRAME_OVERHEAD <= 2 * sizeof(moqc_gframe) + frame);
}

/* Entries in the env's LRU (internal): only evictable ones, never a live edge. */
static size_t lru_len(moqc_env *env) {
  size_t n = 0;
  for (moqc_link *l = env->lru.next; l != &env->lru; l = l->next) n++;
  return n;
}

static void test_budget_lru_holds_no_live_edge(void **state) {
  (void)state;
  enum { NT = 64 };
  moqc_env *env = tm_env(0);
  moqc_track_producer *t[NT];
  for (int i = 0; i < NT; i++) {
    t[i] = track_new(env, 60000);
    write_kb(t[i], NULL, 'a'); /* every track: one live group of 1000 bytes */
  }
  assert_int_equal(lru_len(env), 0);
  /* far over budget with live edges only: nothing to evict, nothing queued */
  moqc_env_set_cache_budget(env, 1000);
  assert_int_equal(moqc_env_cache_bytes(env), NT * 1000);
  assert_int_equal(lru_len(env), 0);
  /* a group below the live edge is evictable at once (out-of-order arrival) */
  moqc_env_set_cache_budget(env, 0);
  create1(t[0], 7, "seven"); /* group 7 is t[0]'s live edge, group 0 joins the LRU */
  assert_int_equal(lru_len(env), 1);
  create1(t[0], 3, "three"); /* below the live edge (7) */
  assert_int_equal(lru_len(env), 2);
  /* aborting the live edge makes the next-highest group (7) the live edge again,
   * out of the LRU */
  moqc_group_producer *g9 = NULL;
  assert_int_equal(moqc_track_producer_create_group(t[0], 9, &g9), MOQC_OK);
  assert_int_equal(lru_len(env), 3);
  moqc_group_producer_abort(g9, 1);
  moqc_group_producer_del(g9);
  assert_int_equal(lru_len(env), 2);
  moqc_env_set_cache_budget(env, 1);
  assert_int_equal(lru_len(env), 0); /* 0 and 3 evicted, 7 stays */
  assert_int_equal(moqc_env_cache_bytes(env), 5 + (NT - 1) * 1000);
  moqc_env_set_cache_budget(env, 0);
  /* budget: the oldest evictable entries go first, live edges stay */
  for (int i = 1; i < NT; i++) write_kb(t[i], NULL, 'b'); /* each track's group 0 evictable */
  assert_int_equal(lru_len(env), NT - 1);
  assert_int_equal(moqc_env_cache_bytes(env), 5 + (2 * NT - 2) * 1000);
  moqc_env_set_cache_budget(env, 5 + (2 * NT - 2) * 1000 - 1500); /* two go: t[1], t[2] */
  assert_int_equal(lru_len(env), NT - 3);
  assert_int_equal(moqc_env_cache_bytes(env), 5 + (2 * NT - 4) * 1000);
  moqc_track_consumer *c =
      moqc_track_producer_consume(t[2], &(moqc_subscription){0, false, 0, 0, MOQC_GROUP_NONE});
  moqc_group_consumer *x = NULL;
  assert_int_equal(moqc_track_consumer_fetch_group(c, 0, &x), MOQC_ERR_NOT_FOUND);
  moqc_track_consumer_del(c);
  c = moqc_track_producer_consume(t[3], &(moqc_subscription){0, false, 0, 0, MOQC_GROUP_NONE});
  assert_int_equal(moqc_track_consumer_fetch_group(c, 0, &x), MOQC_OK); /* t[3]'s still cached */
  moqc_group_consumer_del(x);
  moqc_track_consumer_del(c);
  moqc_env_set_cache_budget(env, 1);
  assert_int_equal(lru_len(env), 0);
  assert_int_equal(moqc_env_cache_bytes(env), 5 + (NT - 1) * 1000); /* the live edges */
  for (int i = 0; i < NT; i++) moqc_track_producer_del(t[i]);
  assert_int_equal(moqc_env_cache_bytes(env), 0);
  moqc_env_del(env);
}

static void test_abort_reaches_every_level(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_track_producer *t = track_new(env, 5000);
  moqc_subscription from0 = {0, false, 0, 0, MOQC_GROUP_NONE};
  moqc_track_consumer *c1 = moqc_track_producer_consume(t, &from0);
  moqc_track_consumer *c2 = moqc_track_producer_consume(t, &from0);
  tm_group1(t, "done");
  moqc_group_producer *open = moqc_track_producer_append_group(t);
  assert_int_equal(tm_write(open, "partial"), MOQC_OK);
  moqc_group_consumer *d1 = tm_expect_group(c1, 0);
  moqc_group_consumer *o1 = tm_expect_group(c1, 1);
  moqc_group_consumer *o2 = moqc_group_consumer_clone(o1);
  tm_expect_group_del(c2, 0);
  tm_expect_group_del(c2, 1);
  expect_again(c2);
  int n = 0;
  moqc_track_consumer_set_waker(c2, tm_count, &n);
  moqc_track_producer_abort(t, MOQC_CODE_APP_BASE + 9);
  moqc_env_run(env);
  assert_int_equal(n, 1);
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(c1, &g), MOQC_ERR_ABORTED);
  assert_int_equal(moqc_track_consumer_recv_group(c2, &g), MOQC_ERR_ABORTED);
  assert_int_equal(moqc_track_consumer_code(c2), MOQC_CODE_APP_BASE + 9);
  moqc_frame f;
  /* the open group's consumers see it */
  assert_int_equal(moqc_group_consumer_read_frame(o1, &f), MOQC_ERR_ABORTED);
  assert_int_equal(moqc_group_consumer_read_frame(o2, &f), MOQC_ERR_ABORTED);
  assert_int_equal(moqc_group_consumer_code(o2), MOQC_CODE_APP_BASE + 9);
  assert_int_equal(tm_write(open, "more"), MOQC_ERR_STATE);
  /* a finished group already received stays readable */
  tm_expect_frame(d1, "done");
  assert_null(moqc_track_producer_append_group(t));
  assert_int_equal(moqc_env_cache_bytes(env), 0);
  moqc_group_consumer_del(d1);
  moqc_group_consumer_del(o1);
  moqc_group_consumer_del(o2);
  moqc_group_producer_del(open);
  moqc_track_consumer_del(c1);
  moqc_track_consumer_del(c2);
  moqc_track_producer_del(t);
  moqc_env_del(env);
}

static void test_dropped_vs_finished(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_track_producer *t = track_new(env, 5000);
  moqc_track_producer *t2 = moqc_track_producer_clone(t);
  moqc_track_consumer *c = moqc_track_producer_consume(t, NULL);
  tm_group1(t, "x");
  moqc_track_producer_del(t);
  tm_expect_group_del(c, 0);
  expect_again(c); /* one producer left */
  moqc_track_producer_del(t2);
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(c, &g), MOQC_ERR_DROPPED);
  assert_int_equal(moqc_track_consumer_code(c), MOQC_CODE_DROPPED);
  moqc_track_consumer_del(c);

  t = track_new(env, 5000);
  c = moqc_track_producer_consume(t, NULL);
  tm_group1(t, "y");
  assert_int_equal(moqc_track_producer_finish(t), MOQC_OK);
  moqc_track_producer_del(t);
  g = tm_expect_group(c, 0); /* still delivered after the producer went */
  tm_expect_frame(g, "y");
  moqc_group_consumer_del(g);
  assert_int_equal(moqc_track_consumer_recv_group(c, &g), MOQC_ERR_CLOSED);
  assert_int_equal(moqc_track_consumer_code(c), MOQC_CODE_CANCEL);
  moqc_track_consumer_del(c);
  moqc_env_del(env);
}

static void test_demand_aggregate(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_track_producer *t = track_new(env, 5000);
  int n = 0;
  moqc_track_producer_set_waker(t, tm_count, &n);
  moqc_track_demand d = moqc_track_producer_demand(t);
  assert_int_equal(d.consumers, 0);
  moqc_subscription s1 = {3, false, 100, 10, 20};
  moqc_subscription s2 = {7, true, 50, 5, MOQC_GROUP_NONE};
  moqc_track_consumer *c1 = moqc_track_producer_consume(t, &s1);
  moqc_env_run(env);
  assert_int_equal(n, 1);
  d = moqc_track_producer_demand(t);
  assert_int_equal(d.consumers, 1);
  assert_int_equal(d.aggregate.priority, 3);
  assert_false(d.aggregate.ordered);
  assert_int_equal(d.aggregate.end, 20);
  moqc_track_consumer *c2 = moqc_track_producer_consume(t, &s2);
  moqc_env_run(env);
  assert_int_equal(n, 2);
  d = moqc_track_producer_demand(t);
  assert_int_equal(d.consumers, 2);
  assert_int_equal(d.aggregate.priority, 7);
  assert_true(d.aggregate.ordered);
  assert_int_equal(d.aggregate.latency_max_ms, 100);
  assert_int_equal(d.aggregate.start, 5);
  assert_int_equal(d.aggregate.end, MOQC_GROUP_NONE);
  s1.priority = 9;
  moqc_track_consumer_update(c1, &s1);
  moqc_env_run(env);
  assert_int_equal(n, 3);
  assert_int_equal(moqc_track_producer_demand(t).aggregate.priority, 9);
  moqc_track_consumer_del(c2);
  moqc_env_run(env);
  assert_int_equal(n, 4);
  d = moqc_track_producer_demand(t);
  assert_int_equal(d.consumers, 1);
  assert_int_equal(d.aggregate.end, 20);
  moqc_track_consumer_del(c1);
  moqc_env_run(env);
  assert_int_equal(n, 5);
  assert_int_equal(moqc_track_producer_demand(t).consumers, 0);
  /* the registration goes with the handle that made it */
  moqc_track_producer *t2 = moqc_track_producer_clone(t);
  moqc_track_producer_del(t);
  c1 = moqc_track_producer_consume(t2, &s1);
  moqc_env_run(env);
  assert_int_equal(n, 5);
  assert_false(moqc_env_pending(env));
  moqc_track_consumer_del(c1);
  moqc_track_producer_del(t2);
  moqc_env_del(env);
}

static void test_insert_shared_group(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_track_producer *src = track_new(env, 5000);
  moqc_track_producer *relay = track_new(env, 5000);
  moqc_track_consumer *in = moqc_track_producer_consume(src, NULL);
  moqc_track_consumer *out = moqc_track_producer_consume(relay, NULL);
  moqc_group_producer *g = moqc_track_producer_append_group(src);
  moqc_group_consumer *gc = tm_expect_group(in, 0);
  assert_int_equal(moqc_track_producer_insert_group(relay, gc), MOQC_OK);
  assert_int_equal(moqc_track_producer_insert_group(relay, gc), MOQC_ERR_DUPLICATE);
  moqc_group_consumer_del(gc);
  moqc_group_consumer *r = tm_expect_group(out, 0);
  assert_int_equal(tm_write(g, "live"), MOQC_OK); /* written after the insert */
  tm_expect_frame(r, "live");
  assert_int_equal(moqc_env_cache_bytes(env), 4); /* one group, two caches: counted once */
  moqc_group_producer_finish(g);
  moqc_group_producer_del(g);
  moqc_group_consumer_del(r);
  moqc_track_consumer_del(in);
  moqc_track_consumer_del(out);
  moqc_track_producer_del(src);
  moqc_track_producer_del(relay);
  moqc_env_del(env);
}

static void expect_closed(moqc_track_consumer *c) {
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(c, &g), MOQC_ERR_CLOSED);
}

/* finish_at(5) after 0, 1, 4: CLOSED only once 2 and 3 arrived (model.h:
 * "every group below the final delivered"); gaps below a consumer's start do
 * not hold it. */
static void test_finish_at_waits_for_gaps(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_track_producer *t = track_new(env, 5000);
  moqc_subscription from0 = {0, false, 0, 0, MOQC_GROUP_NONE};
  moqc_track_consumer *c = moqc_track_producer_consume(t, &from0);
  create1(t, 0, "0");
  create1(t, 1, "1");
  create1(t, 4, "4");
  assert_int_equal(moqc_track_producer_finish_at(t, 5), MOQC_OK);
  moqc_track_consumer *late = moqc_track_producer_consume(t, NULL); /* start 4 */
  tm_expect_group_del(late, 4);
  expect_closed(late);
  tm_expect_group_del(c, 0);
  tm_expect_group_del(c, 1);
  tm_expect_group_del(c, 4);
  expect_again(c); /* 2 and 3 are still on their way */
  int n = 0;
  moqc_track_consumer_set_waker(c, tm_count, &n);
  create1(t, 3, "3");
  moqc_env_run(env);
  assert_int_equal(n, 1);
  tm_expect_group_del(c, 3);
  expect_again(c);
  /* a consumer joining now from 3 has nothing left to wait for */
  moqc_track_consumer *from3 =
      moqc_track_producer_consume(t, &(moqc_subscription){0, false, 0, 3, MOQC_GROUP_NONE});
  tm_expect_group_del(from3, 4); /* arrival order */
  tm_expect_group_del(from3, 3);
  expect_closed(from3);
  create1(t, 2, "2");
  moqc_env_run(env);
  assert_int_equal(n, 2);
  tm_expect_group_del(c, 2);
  expect_closed(c);
  moqc_track_consumer_del(from3);
  moqc_track_consumer_del(late);
  moqc_track_consumer_del(c);

  /* plain finish with a gap below the live edge: same rule */
  moqc_track_producer_del(t);
  t = track_new(env, 5000);
  c = moqc_track_producer_consume(t, &from0);
  create1(t, 0, "0");
  create1(t, 2, "2");
  assert_int_equal(moqc_track_producer_finish(t), MOQC_OK);
  tm_expect_group_del(c, 0);
  tm_expect_group_del(c, 2);
  expect_again(c);
  create1(t, 1, "1");
  tm_expect_group_del(c, 1);
  expect_closed(c);
  moqc_track_consumer_del(c);
  moqc_track_producer_del(t);

  /* finish_at on an empty track awaits everything below the final */
  t = track_new(env, 5000);
  c = moqc_track_producer_consume(t, &from0);
  assert_int_equal(moqc_track_producer_finish_at(t, 2), MOQC_OK);
  expect_again(c);
  create1(t, 1, "1");
  tm_expect_group_del(c, 1);
  expect_again(c);
  create1(t, 0, "0");
  tm_expect_group_del(c, 0);
  expect_closed(c);
  moqc_track_consumer_del(c);
  moqc_track_producer_del(t);
  moqc_env_del(env);
}

/* Awaited groups are given up after latency_max (from when they became
 * awaited), by timer; deleting the last producer or aborting ends the wait. */
static void test_finish_gaps_given_up(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_clock *clk = moqc_env_clock(env);
  moqc_track_producer *t = track_new(env, 100);
  moqc_subscription from0 = {0, false, 0, 0, MOQC_GROUP_NONE};
  moqc_track_consumer *c = moqc_track_producer_consume(t, &from0);
  create1(t, 0, "0");
  create1(t, 1, "1");
  create1(t, 4, "4"); /* 2, 3 awaited from now */
  moqc_clock_advance(clk, moqc_clock_now(clk) + 50 * MS);
  assert_int_equal(moqc_track_producer_finish_at(t, 6), MOQC_OK); /* 5 from now */
  tm_expect_group_del(c, 0);
  tm_expect_group_del(c, 1);
  tm_expect_group_del(c, 4);
  expect_again(c);
  int n = 0;
  moqc_track_consumer_set_waker(c, tm_count, &n);
  moqc_clock_advance(clk, moqc_clock_now(clk) + 49 * MS);
  moqc_env_run(env);
  assert_int_equal(n, 0);
  moqc_clock_advance(clk, moqc_clock_now(clk) + 1 * MS); /* 2, 3 given up; 5 not yet */
  moqc_env_run(env);
  assert_int_equal(n, 1);
  expect_again(c);
  moqc_track_consumer *from5 =
      moqc_track_producer_consume(t, &(moqc_subscription){0, false, 0, 5, MOQC_GROUP_NONE});
  expect_again(from5);
  moqc_clock_advance(clk, moqc_clock_now(clk) + 50 * MS); /* 5 given up */
  moqc_env_run(env);
  assert_int_equal(n, 2);
  expect_closed(c);
  expect_closed(from5);
  /* a given-up group arriving late is still delivered; the end stays */
  create1(t, 3, "3");
  moqc_track_consumer_del(from5);
  moqc_track_consumer_del(c);
  moqc_track_producer_del(t);

  /* the last producer going ends the wait at once */
  t = track_new(env, 100);
  moqc_track_producer *t2 = moqc_track_producer_clone(t);
  c = moqc_track_producer_consume(t, &from0);
  create1(t, 0, "0");
  assert_int_equal(moqc_track_producer_finish_at(t, 3), MOQC_OK);
  tm_expect_group_del(c, 0);
  expect_again(c);
  moqc_track_producer_del(t);
  expect_again(c);
  moqc_track_producer_del(t2);
  expect_closed(c);
  moqc_track_consumer_del(c);

  /* an abort ends it with the abort error */
  t = track_new(env, 100);
  c = moqc_track_producer_consume(t, &from0);
  create1(t, 0, "0");
  assert_int_equal(moqc_track_producer_finish_at(t, 3), MOQC_OK);
  tm_expect_group_del(c, 0);
  moqc_track_producer_abort(t, MOQC_CODE_APP_BASE + 1);
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(c, &g), MOQC_ERR_ABORTED);
  moqc_track_consumer_del(c);
  moqc_track_producer_del(t);

  /* latency_max 0: nothing is awaited (the old "live edge" rule) */
  t = track_new(env, 0);
  c = moqc_track_producer_consume(t, &from0);
  create1(t, 0, "0");
  tm_expect_group_del(c, 0); /* (expires as soon as 2 arrives) */
  create1(t, 2, "2");
  assert_int_equal(moqc_track_producer_finish_at(t, 4), MOQC_OK);
  tm_expect_group_del(c, 2);
  expect_closed(c);
  moqc_track_consumer_del(c);
  moqc_track_producer_del(t);
  moqc_env_del(env);
}

/* At most 64 awaited runs: the lowest is given up first. */
static void test_finish_gaps_bounded(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_track_producer *t = track_new(env, 60000);
  moqc_subscription from0 = {0, false, 0, 0, MOQC_GROUP_NONE};
  moqc_track_consumer *c = moqc_track_producer_consume(t, &from0);
  for (uint64_t s = 0; s <= 130; s += 2) create1(t, s, "e"); /* 65 runs: 1, 3 .. 129 */
  assert_int_equal(moqc_track_producer_finish(t), MOQC_OK);
  for (uint64_t s = 0; s <= 130; s += 2) tm_expect_group_del(c, s);
  for (uint64_t s = 129; s >= 5; s -= 2) {
    expect_again(c);
    create1(t, s, "o");
    tm_expect_group_del(c, s);
  }
  expect_again(c); /* 3 still awaited */
  create1(t, 3, "o");
  tm_expect_group_del(c, 3);
  expect_closed(c); /* 1 was given up */
  moqc_track_consumer_del(c);
  moqc_track_producer_del(t);
  moqc_env_del(env);
}

/* complete() ends the wait at once; a jump over more than 64 sequences is a
 * discontinuity, not groups in flight. */
static void test_finish_complete_and_discontinuity(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_track_producer *t = track_new(env, 5000);
  moqc_subscription from0 = {0, false, 0, 0, MOQC_GROUP_NONE};
  moqc_track_consumer *c = moqc_track_producer_consume(t, &from0);
  create1(t, 0, "0");
  create1(t, 2, "2");
  assert_int_equal(moqc_track_producer_finish_at(t, 3), MOQC_OK);
  tm_expect_group_del(c, 0);
  tm_expect_group_del(c, 2);
  expect_again(c);
  int n = 0;
  moqc_track_consumer_set_waker(c, tm_count, &n);
  assert_int_equal(moqc_track_producer_complete(t), MOQC_OK);
  assert_int_equal(moqc_track_producer_complete(t), MOQC_OK);
  moqc_env_run(env);
  assert_int_equal(n, 1);
  expect_closed(c);
  assert_int_equal(moqc_track_consumer_final(c), 3);
  moqc_track_consumer_del(c);
  moqc_track_producer_abort(t, MOQC_CODE_CANCEL);
  assert_int_equal(moqc_track_producer_complete(t), MOQC_ERR_STATE);
  moqc_track_producer_del(t);

  /* complete without a final: finish + nothing awaited */
  t = track_new(env, 5000);
  c = moqc_track_producer_consume(t, &from0);
  create1(t, 0, "0");
  create1(t, 3, "3");
  assert_int_equal(moqc_track_producer_complete(t), MOQC_OK);
  assert_int_equal(moqc_track_consumer_final(c), 4);
  tm_expect_group_del(c, 0);
  tm_expect_group_del(c, 3);
  expect_closed(c);
  moqc_track_consumer_del(c);
  moqc_track_producer_del(t);

  /* 0..19 then 1000..1002 (a restart at a new sequence): 20..999 are not
   * awaited, a small gap after the jump still is */
  t = track_new(env, 5000);
  c = moqc_track_producer_consume(t, &from0);
  for (uint64_t s = 0; s < 20; s++) create1(t, s, "a");
  create1(t, 1000, "b");
  create1(t, 1002, "b");
  assert_int_equal(moqc_track_producer_finish_at(t, 1003), MOQC_OK);
  for (uint64_t s = 0; s < 20; s++) tm_expect_group_del(c, s);
  tm_expect_group_del(c, 1000);
  tm_expect_group_del(c, 1002);
  expect_again(c); /* 1001 */
  create1(t, 1001, "b");
  tm_expect_group_del(c, 1001);
  expect_closed(c);
  moqc_track_consumer_del(c);
  moqc_track_producer_del(t);

  /* the same bound for the tail of finish_at: 64 awaited, 65 not */
  t = track_new(env, 5000);
  c = moqc_track_producer_consume(t, &from0);
  create1(t, 0, "0");
  assert_int_equal(moqc_track_producer_finish_at(t, 65), MOQC_OK);
  tm_expect_group_del(c, 0);
  expect_again(c);
  moqc_track_consumer_del(c);
  moqc_track_producer_del(t);
  t = track_new(env, 5000);
  c = moqc_track_producer_consume(t, &from0);
  create1(t, 0, "0");
  assert_int_equal(moqc_track_producer_finish_at(t, 66), MOQC_OK);
  tm_expect_group_del(c, 0);
  expect_closed(c);
  moqc_track_consumer_del(c);
  moqc_track_producer_del(t);
  moqc_env_del(env);
}

/* write_datagram: a one-frame finished group flagged datagram; ordinary
 * groups are not flagged. */
static void test_write_datagram(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_track_producer *t = track_new(env, 5000);
  moqc_track_consumer *c = moqc_track_producer_consume(t, NULL);
  tm_group1(t, "plain");
  moqc_buf *b = moqc_buf_copy("dg", 2);
  assert_non_null(b);
  moqc_slice sl;
  assert_int_equal(moqc_slice_make(&sl, b, 0, 2), MOQC_OK);
  moqc_buf_unref(b);
  assert_int_equal(moqc_track_producer_write_datagram(t, &sl, 77), MOQC_OK);
  moqc_slice_release(&sl);
  moqc_group_consumer *g = tm_expect_group(c, 0);
  assert_false(moqc_group_consumer_is_datagram(g));
  moqc_group_consumer_del(g);
  g = tm_expect_group(c, 1);
  assert_true(moqc_group_consumer_is_datagram(g));
  assert_true(moqc_group_consumer_is_done(g));
  assert_int_equal(moqc_group_consumer_frames_available(g), 1);
  moqc_frame f;
  assert_int_equal(moqc_group_consumer_read_frame(g, &f), MOQC_OK);
  assert_int_equal(f.info.timestamp, 77);
  assert_int_equal(f.payload.len, 2);
  assert_memory_equal(moqc_slice_ptr(&f.payload), "dg", 2);
  moqc_slice_release(&f.payload);
  assert_int_equal(moqc_group_consumer_read_frame(g, &f), MOQC_ERR_CLOSED);
  moqc_group_consumer_del(g);
  moqc_track_consumer_del(c);
  moqc_track_producer_del(t);
  moqc_env_del(env);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_out_of_order_arrival),
      cmocka_unit_test(test_write_datagram),
      cmocka_unit_test(test_late_joiner_starts_at_latest),
      cmocka_unit_test(test_start_end_subscription),
      cmocka_unit_test(test_duplicate_and_finish_rules),
      cmocka_unit_test(test_eviction_by_age),
      cmocka_unit_test(test_cache_sliding_window),
      cmocka_unit_test(test_eviction_by_age_out_of_order),
      cmocka_unit_test(test_eviction_by_budget),
      cmocka_unit_test(test_budget_charges_overhead),
      cmocka_unit_test(test_overhead_covers_structs),
      cmocka_unit_test(test_budget_lru_holds_no_live_edge),
      cmocka_unit_test(test_abort_reaches_every_level),
      cmocka_unit_test(test_dropped_vs_finished),
      cmocka_unit_test(test_demand_aggregate),
      cmocka_unit_test(test_insert_shared_group),
      cmocka_unit_test(test_finish_at_waits_for_gaps),
      cmocka_unit_test(test_finish_gaps_given_up),
      cmocka_unit_test(test_finish_gaps_bounded),
      cmocka_unit_test(test_finish_complete_and_discontinuity),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
