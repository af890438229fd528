/* Unit tests: src/model/origin*.c and front.c (announcements, routing,
 * replacement, lingering takeover, views). */
#include <stdio.h>
#include <stdlib.h>

#include "test_model_common.h"

#define SEC 1000000000ULL

/* A publisher: one broadcast with one track "v". */
typedef struct pub {
  moqc_broadcast_producer *bp;
  moqc_track_producer *tp;
  moqc_broadcast_consumer *bc;
} pub;

static pub pub_new(moqc_env *env) {
  pub p;
  p.bp = moqc_broadcast_producer_new(env);
  p.tp = moqc_broadcast_producer_create_track(p.bp, "v", NULL, NULL);
  p.bc = moqc_broadcast_producer_consume(p.bp);
  assert_non_null(p.tp);
  assert_non_null(p.bc);
  return p;
}

/* Drop the publisher abruptly (a disconnect). */
static void pub_drop(pub *p) {
  moqc_broadcast_consumer_del(p->bc);
  moqc_track_producer_del(p->tp);
  moqc_broadcast_producer_del(p->bp);
}

static void expect_ann(moqc_origin_consumer *c, const char *path, bool active) {
  moqc_announce a;
  assert_int_equal(moqc_origin_consumer_next(c, &a), MOQC_OK);
  assert_string_equal(a.path, path);
  assert_int_equal(a.active, active);
  if (active) assert_non_null(a.route);
  else assert_null(a.route);
}

static void expect_no_ann(moqc_origin_consumer *c) {
  moqc_announce a;
  assert_int_equal(moqc_origin_consumer_next(c, &a), MOQC_ERR_AGAIN);
}

static moqc_origin *origin_new(moqc_env *env, uint64_t linger_ns) {
  moqc_origin_config cfg = {42, linger_ns};
  moqc_origin *o = moqc_origin_new(env, &cfg);
  assert_non_null(o);
  assert_int_equal(moqc_origin_id(o), 42);
  return o;
}

static void test_announce_order_and_prefixes(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_origin *o = origin_new(env, 0);
  pub a = pub_new(env), b = pub_new(env), c = pub_new(env);
  moqc_origin_consumer *all = moqc_origin_consume(o, "");
  moqc_origin_consumer *foo = moqc_origin_consume(o, "/foo/");
  int n = 0;
  moqc_origin_consumer_set_waker(foo, tm_count, &n);
  moqc_route r = {{7, 8}, 2, 0};
  assert_int_equal(moqc_origin_publish(o, "/foo//a/", a.bc, &r), MOQC_OK);
  assert_int_equal(moqc_origin_publish(o, "foobar/b", b.bc, NULL), MOQC_OK);
  assert_int_equal(moqc_origin_publish(o, "foo", c.bc, NULL), MOQC_OK);
  moqc_env_run(env);
  assert_int_equal(n, 1);
  moqc_announce ann;
  assert_int_equal(moqc_origin_consumer_next(all, &ann), MOQC_OK);
  assert_string_equal(ann.path, "foo/a"); /* normalised */
  assert_int_equal(ann.route->n_hops, 2);
  assert_int_equal(ann.route->hops[1], 8);
  expect_ann(all, "foobar/b", true);
  expect_ann(all, "foo", true);
  expect_no_ann(all);
  expect_ann(foo, "foo/a", true); /* segment-aware: no foobar/b */
  expect_ann(foo, "foo", true);
  expect_no_ann(foo);
  /* a late consumer starts with the active set */
  moqc_origin_consumer *late = moqc_origin_consume(o, "foobar");
  expect_ann(late, "foobar/b", true);
  expect_no_ann(late);
  assert_int_equal(moqc_origin_unpublish(o, "foo/a"), MOQC_OK);
  assert_int_equal(moqc_origin_unpublish(o, "foo/a"), MOQC_ERR_NOT_FOUND);
  expect_ann(all, "foo/a", false);
  expect_ann(foo, "foo/a", false);
  expect_no_ann(late);
  /* active then ended before a consumer read: it never hears of it */
  assert_int_equal(moqc_origin_publish(o, "foo/a", a.bc, NULL), MOQC_OK);
  assert_int_equal(moqc_origin_unpublish(o, "foo/a"), MOQC_OK);
  expect_no_ann(foo);
  /* a finished source is unannounced */
  moqc_broadcast_producer_finish(b.bp);
  moqc_env_run(env);
  expect_ann(late, "foobar/b", false);
  expect_ann(all, "foobar/b", false);
  expect_no_ann(all);
  /* an already-ended broadcast is refused */
  assert_int_equal(moqc_origin_publish(o, "x", b.bc, NULL), MOQC_ERR_CLOSED);
  moqc_origin_consumer_del(late);
  moqc_origin_consumer_del(foo);
  moqc_origin_consumer_del(all);
  pub_drop(&a);
  pub_drop(&b);
  pub_drop(&c);
  moqc_origin_unref(o);
  moqc_env_run(env);
  moqc_env_del(env);
}

/* The pending queue of a consumer that does not read: per path the newest
 * event is indexed, an `ended` cancels its unread `active` (and only that
 * one), a path published again after its ended is queued again; 3,000 unread
 * paths cost one lookup each. */
static void test_consumer_queue_index(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_origin *o = moqc_origin_new(env, NULL);
  moqc_origin_consumer *c = moqc_origin_consume(o, "");
  enum { N = 3000 };
  moqc_broadcast_producer **bp = calloc(N, sizeof *bp);
  assert_non_null(bp);
  char path[32];
  for (int i = 0; i < N; i++) {
    snprintf(path, sizeof path, "p%d", i);
    bp[i] = moqc_broadcast_producer_new(env);
    moqc_broadcast_consumer *bc = moqc_broadcast_producer_consume(bp[i]);
    assert_int_equal(moqc_origin_publish(o, path, bc, NULL), MOQC_OK);
    moqc_broadcast_consumer_del(bc);
  }
  /* p1 ends unread: cancelled; then published again: one active */
  assert_int_equal(moqc_origin_unpublish(o, "p1"), MOQC_OK);
  moqc_broadcast_consumer *bc = moqc_broadcast_producer_consume(bp[1]);
  assert_int_equal(moqc_origin_publish(o, "p1", bc, NULL), MOQC_OK);
  /* and ends again: the second active is cancelled too */
  assert_int_equal(moqc_origin_unpublish(o, "p1"), MOQC_OK);
  assert_int_equal(moqc_origin_publish(o, "p1", bc, NULL), MOQC_OK);
  moqc_broadcast_consumer_del(bc);
  moqc_announce a;
  int n = 0, p1 = 0;
  while (moqc_origin_consumer_next(c, &a) == MOQC_OK) {
    assert_true(a.active);
    if (strcmp(a.path, "p1") == 0) p1++;
    n++;
  }
  assert_int_equal(n, N);
  assert_int_equal(p1, 1);
  /* read: an end is queued after the active it follows */
  assert_int_equal(moqc_origin_unpublish(o, "p2"), MOQC_OK);
  assert_int_equal(moqc_origin_consumer_next(c, &a), MOQC_OK);
  assert_string_equal(a.path, "p2");
  assert_false(a.active);
  assert_int_equal(moqc_origin_consumer_next(c, &a), MOQC_ERR_AGAIN);
  /* p5 was read: ended, active, ended (cancels that active only), active */
  bc = moqc_broadcast_producer_consume(bp[5]);
  for (int k = 0; k < 2; k++) {
    assert_int_equal(moqc_origin_unpublish(o, "p5"), MOQC_OK);
    assert_int_equal(moqc_origin_publish(o, "p5", bc, NULL), MOQC_OK);
  }
  moqc_broadcast_consumer_del(bc);
  assert_int_equal(moqc_origin_consumer_next(c, &a), MOQC_OK);
  assert_string_equal(a.path, "p5");
  assert_false(a.active);
  assert_int_equal(moqc_origin_consumer_next(c, &a), MOQC_OK);
  assert_string_equal(a.path, "p5");
  assert_true(a.active);
  assert_int_equal(moqc_origin_consumer_next(c, &a), MOQC_ERR_AGAIN);
  for (int i = 0; i < N; i++) moqc_broadcast_producer_del(bp[i]);
  free(bp);
  moqc_origin_consumer_del(c);
  moqc_origin_unref(o);
  moqc_env_run(env);
  moqc_env_del(env);
}

static void test_request_unroutable(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_origin *o = origin_new(env, 0);
  pub a = pub_new(env);
  int err = 0;
  assert_null(moqc_origin_request(o, "room/a", &err));
  assert_int_equal(err, MOQC_ERR_UNROUTABLE);
  assert_int_equal(moqc_origin_publish(o, "room/a", a.bc, NULL), MOQC_OK);
  moqc_origin_consumer *oc = moqc_origin_consume(o, "other");
  assert_null(moqc_origin_consumer_request(oc, "room/a", &err)); /* outside its prefix */
  assert_int_equal(err, MOQC_ERR_UNROUTABLE);
  assert_null(moqc_origin_request(o, "room", &err)); /* a prefix is not a broadcast */
  assert_int_equal(err, MOQC_ERR_UNROUTABLE);
  moqc_broadcast_consumer *bc = moqc_origin_request(o, "/room/a", &err);
  assert_non_null(bc);
  moqc_track_consumer *tc = moqc_broadcast_consumer_subscribe(bc, "v", NULL, &err);
  assert_non_null(tc);
  assert_null(moqc_broadcast_consumer_subscribe(bc, "nope", NULL, &err));
  assert_int_equal(err, MOQC_ERR_NOT_FOUND);
  tm_group1(a.tp, "data");
  moqc_env_run(env);
  moqc_group_consumer *g = tm_expect_group(tc, 0);
  tm_expect_frame(g, "data");
  moqc_group_consumer_del(g);
  /* source track finishes: the front track finishes too */
  moqc_track_producer_finish(a.tp);
  moqc_env_run(env);
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_CLOSED);
  moqc_track_consumer_del(tc);
  moqc_broadcast_consumer_del(bc);
  moqc_origin_consumer_del(oc);
  pub_drop(&a);
  moqc_origin_unref(o);
  moqc_env_run(env);
  moqc_env_del(env);
}

/* A front subscriber asking for start=0 must reach the upstream (on-demand)
 * track with start=0: the forwarder's demand updates keep the start the upstream
 * subscription was made with (regression: it used to overwrite it with
 * "latest", so a relay subscribing upstream late skipped the requested groups). */
static void test_front_demand_keeps_start(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_origin *o = origin_new(env, 0);
  moqc_broadcast_producer *bp = moqc_broadcast_producer_new(env);
  moqc_broadcast_producer_enable_requests(bp, true);
  moqc_broadcast_consumer *src = moqc_broadcast_producer_consume(bp);
  assert_int_equal(moqc_origin_publish(o, "room/a", src, NULL), MOQC_OK);
  int err = 0;
  moqc_broadcast_consumer *bc = moqc_origin_request(o, "room/a", &err);
  assert_non_null(bc);
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  sub.start = 0;
  sub.priority = 7;
  moqc_track_consumer *tc = moqc_broadcast_consumer_subscribe(bc, "v", &sub, &err);
  assert_non_null(tc);
  moqc_env_run(env);
  moqc_track_request *req = NULL;
  assert_int_equal(moqc_broadcast_producer_next_request(bp, &req), MOQC_OK);
  assert_string_equal(moqc_track_request_name(req), "v");
  moqc_track_producer *tp = moqc_track_request_accept(req, NULL);
  assert_non_null(tp);
  moqc_env_run(env);
  moqc_track_demand d = moqc_track_producer_demand(tp);
  assert_int_equal(d.consumers, 1);
  assert_int_equal(d.aggregate.start, 0);
  assert_int_equal(d.aggregate.priority, 7);
  tm_group1(tp, "g0");
  tm_group1(tp, "g1");
  moqc_env_run(env);
  moqc_group_consumer *g = tm_expect_group(tc, 0);
  tm_expect_frame(g, "g0");
  moqc_group_consumer_del(g);
  g = tm_expect_group(tc, 1);
  tm_expect_frame(g, "g1");
  moqc_group_consumer_del(g);
  moqc_track_consumer_del(tc);
  moqc_broadcast_consumer_del(bc);
  moqc_track_producer_finish(tp);
  moqc_track_producer_del(tp);
  moqc_broadcast_producer_finish(bp);
  moqc_broadcast_consumer_del(src);
  moqc_broadcast_producer_del(bp);
  moqc_origin_unref(o);
  moqc_env_run(env);
  moqc_env_del(env);
}

/* A path published right here (no hop, like a relay's own cluster
 * registration) is not replaced by a remote route to the same path: a peer
 * may still echo the previous incarnation's announcement. Both stay; the
 * local one is served; when the echo goes away nothing is announced. */
static void test_remote_echo_keeps_local(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_origin *o = origin_new(env, 5 * SEC);
  pub a = pub_new(env), b = pub_new(env);
  moqc_origin_consumer *oc = moqc_origin_consume(o, "");
  assert_int_equal(moqc_origin_publish(o, "reg", a.bc, NULL), MOQC_OK);
  expect_ann(oc, "reg", true);
  moqc_route echo;
  memset(&echo, 0, sizeof echo);
  echo.hops[0] = 77; /* the previous incarnation's origin id */
  echo.hops[1] = 88; /* the peer that echoes it */
  echo.n_hops = 2;
  assert_int_equal(moqc_origin_publish(o, "reg", b.bc, &echo), MOQC_OK);
  moqc_env_run(env);
  expect_no_ann(oc); /* no ended + active: the local source stays */
  moqc_broadcast_consumer *front = moqc_origin_request(o, "reg", NULL);
  moqc_track_consumer *tc = moqc_broadcast_consumer_subscribe(front, "v", NULL, NULL);
  tm_group1(a.tp, "local");
  moqc_env_run(env);
  moqc_group_consumer *g = tm_expect_group(tc, 0);
  tm_expect_frame(g, "local");
  moqc_group_consumer_del(g);
  moqc_broadcast_producer_abort(b.bp, MOQC_CODE_DROPPED); /* the echo lingers out */
  moqc_env_run(env);
  expect_no_ann(oc);
  assert_int_equal(moqc_broadcast_consumer_status(front), MOQC_OK);
  moqc_track_consumer_del(tc);
  moqc_broadcast_consumer_del(front);
  moqc_origin_consumer_del(oc);
  pub_drop(&a);
  pub_drop(&b);
  moqc_origin_unref(o);
  moqc_env_run(env);
  moqc_env_del(env);
}

static void test_replace_live_source(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_origin *o = origin_new(env, 5 * SEC);
  pub a = pub_new(env), b = pub_new(env);
  moqc_origin_consumer *oc = moqc_origin_consume(o, "");
  assert_int_equal(moqc_origin_publish(o, "live", a.bc, NULL), MOQC_OK);
  expect_ann(oc, "live", true);
  moqc_broadcast_consumer *front = moqc_origin_request(o, "live", NULL);
  moqc_track_consumer *tc = moqc_broadcast_consumer_subscribe(front, "v", NULL, NULL);
  tm_group1(a.tp, "from-a");
  moqc_env_run(env);
  tm_expect_group_del(tc, 0);
  assert_int_equal(moqc_origin_publish(o, "live", b.bc, NULL), MOQC_OK);
  moqc_env_run(env);
  expect_ann(oc, "live", false); /* ended, then active: never two actives */
  expect_ann(oc, "live", true);
  expect_no_ann(oc);
  /* the old front ends as moq-relay ends it (Dropped), with the reason
   * "replaced" (not "finished": the publisher did not end it); a new request
   * reaches the new source */
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_DROPPED);
  assert_int_equal(moqc_track_consumer_code(tc), MOQC_CODE_DROPPED);
  assert_int_equal(moqc_track_consumer_end_reason(tc), MOQC_END_REPLACED);
  assert_int_equal(moqc_broadcast_consumer_status(front), MOQC_ERR_DROPPED);
  assert_int_equal(moqc_broadcast_consumer_end_reason(front), MOQC_END_REPLACED);
  assert_string_equal(moqc_end_reason_str(MOQC_END_REPLACED), "replaced");
  moqc_broadcast_consumer *front2 = moqc_origin_request(o, "live", NULL);
  moqc_track_consumer *tc2 = moqc_broadcast_consumer_subscribe(front2, "v", NULL, NULL);
  tm_group1(b.tp, "from-b");
  moqc_env_run(env);
  g = tm_expect_group(tc2, 0);
  tm_expect_frame(g, "from-b");
  moqc_group_consumer_del(g);
  /* The displaced publisher going away later (its session timing out) is
   * invisible: no announcement, the new subscription flows on. */
  moqc_broadcast_producer_abort(a.bp, MOQC_CODE_DROPPED);
  moqc_env_run(env);
  expect_no_ann(oc);
  tm_group1(b.tp, "again");
  moqc_env_run(env);
  g = tm_expect_group(tc2, 1);
  tm_expect_frame(g, "again");
  moqc_group_consumer_del(g);
  assert_int_equal(moqc_track_consumer_end_reason(tc2), MOQC_END_NONE);
  moqc_track_consumer_del(tc2);
  moqc_broadcast_consumer_del(front2);
  moqc_track_consumer_del(tc);
  moqc_broadcast_consumer_del(front);
  moqc_origin_consumer_del(oc);
  pub_drop(&a);
  pub_drop(&b);
  moqc_origin_unref(o);
  moqc_env_run(env);
  moqc_env_del(env);
}

static void test_linger_takeover(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_clock *clk = moqc_env_clock(env);
  moqc_origin *o = origin_new(env, 5 * SEC);
  moqc_origin_consumer *oc = moqc_origin_consume(o, "");
  pub a = pub_new(env);
  assert_int_equal(moqc_origin_publish(o, "live", a.bc, NULL), MOQC_OK);
  expect_ann(oc, "live", true);
  moqc_broadcast_consumer *front = moqc_origin_request(o, "live", NULL);
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  sub.priority = 5;
  moqc_track_consumer *tc = moqc_broadcast_consumer_subscribe(front, "v", &sub, NULL);
  assert_non_null(tc);
  /* the subscriber's demand reaches the source */
  assert_int_equal(moqc_track_producer_demand(a.tp).consumers, 1);
  assert_int_equal(moqc_track_producer_demand(a.tp).aggregate.priority, 5);
  int wakes = 0;
  moqc_track_consumer_set_waker(tc, tm_count, &wakes);
  tm_group1(a.tp, "a0");
  tm_group1(a.tp, "a1");
  moqc_env_run(env);
  tm_expect_group_del(tc, 0);
  tm_expect_group_del(tc, 1);
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_AGAIN);

  /* the source vanishes: the path lingers, the subscriber sees nothing */
  pub_drop(&a);
  moqc_env_run(env);
  moqc_clock_advance(clk, moqc_clock_now(clk) + 4 * SEC);
  moqc_env_run(env);
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_AGAIN);
  assert_int_equal(moqc_broadcast_consumer_status(front), MOQC_OK);
  expect_no_ann(oc);
  /* still routable while lingering */
  moqc_broadcast_consumer *front_b = moqc_origin_request(o, "live", NULL);
  assert_non_null(front_b);
  moqc_broadcast_consumer_del(front_b);

  /* a new source takes over within the window */
  pub b = pub_new(env);
  tm_group1(b.tp, "b0");
  tm_group1(b.tp, "b1");
  tm_group1(b.tp, "b2");
  assert_int_equal(moqc_origin_publish(o, "live", b.bc, NULL), MOQC_OK);
  wakes = 0;
  moqc_env_run(env);
  assert_int_equal(wakes, 1);
  /* new source's latest arrives; b0 and b1 are already cached as 0, 1 */
  g = tm_expect_group(tc, 2);
  tm_expect_frame(g, "b2");
  moqc_group_consumer_del(g);
  tm_group1(b.tp, "b3");
  moqc_env_run(env);
  g = tm_expect_group(tc, 3);
  tm_expect_frame(g, "b3");
  moqc_group_consumer_del(g);
  assert_int_equal(moqc_track_producer_demand(b.tp).aggregate.priority, 5);
  /* past the old deadline: nothing expires, no announcement */
  moqc_clock_advance(clk, moqc_clock_now(clk) + 10 * SEC);
  moqc_env_run(env);
  expect_no_ann(oc);
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_AGAIN);
  /* the subscriber leaving drops the upstream subscription at once */
  moqc_track_consumer_del(tc);
  assert_int_equal(moqc_track_producer_demand(b.tp).consumers, 0);
  moqc_broadcast_consumer_del(front);
  moqc_origin_consumer_del(oc);
  pub_drop(&b);
  moqc_origin_unref(o);
  moqc_env_run(env);
  moqc_env_del(env);
}

static void test_linger_expiry(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_clock *clk = moqc_env_clock(env);
  moqc_origin *o = origin_new(env, 2 * SEC);
  moqc_origin_consumer *oc = moqc_origin_consume(o, "");
  pub a = pub_new(env);
  moqc_origin_publish(o, "live", a.bc, NULL);
  expect_ann(oc, "live", true);
  moqc_broadcast_consumer *front = moqc_origin_request(o, "live", NULL);
  moqc_track_consumer *tc = moqc_broadcast_consumer_subscribe(front, "v", NULL, NULL);
  tm_group1(a.tp, "a0");
  moqc_env_run(env);
  tm_expect_group_del(tc, 0);
  pub_drop(&a);
  moqc_env_run(env);
  moqc_clock_advance(clk, moqc_clock_now(clk) + 2 * SEC - 1);
  moqc_env_run(env);
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_AGAIN);
  expect_no_ann(oc);
  moqc_clock_advance(clk, moqc_clock_now(clk) + 1);
  moqc_env_run(env);
  expect_ann(oc, "live", false);
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_DROPPED);
  assert_int_equal(moqc_track_consumer_code(tc), MOQC_CODE_DROPPED);
  assert_int_equal(moqc_broadcast_consumer_status(front), MOQC_ERR_DROPPED);
  int err = 0;
  assert_null(moqc_origin_request(o, "live", &err));
  assert_int_equal(err, MOQC_ERR_UNROUTABLE);

  /* an explicit abort lingers too; expiry ends the front tracks with Dropped */
  pub b = pub_new(env);
  moqc_origin_publish(o, "now", b.bc, NULL);
  expect_ann(oc, "now", true);
  moqc_broadcast_consumer *f2 = moqc_origin_request(o, "now", NULL);
  moqc_track_consumer *t2 = moqc_broadcast_consumer_subscribe(f2, "v", NULL, NULL);
  moqc_broadcast_producer_abort(b.bp, MOQC_CODE_APP_BASE + 2);
  moqc_env_run(env);
  moqc_clock_advance(clk, moqc_clock_now(clk) + 2 * SEC);
  moqc_env_run(env);
  expect_ann(oc, "now", false);
  assert_int_equal(moqc_track_consumer_recv_group(t2, &g), MOQC_ERR_DROPPED);
  moqc_track_consumer_del(t2);
  moqc_broadcast_consumer_del(f2);
  pub_drop(&b);
  moqc_track_consumer_del(tc);
  moqc_broadcast_consumer_del(front);
  moqc_origin_consumer_del(oc);
  moqc_origin_unref(o);
  moqc_env_run(env);
  moqc_env_del(env);
}

static void test_linger_zero_propagates_code(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_origin *o = origin_new(env, 0);
  moqc_origin_consumer *oc = moqc_origin_consume(o, "");
  pub a = pub_new(env);
  moqc_origin_publish(o, "p", a.bc, NULL);
  expect_ann(oc, "p", true);
  moqc_broadcast_consumer *front = moqc_origin_request(o, "p", NULL);
  moqc_track_consumer *tc = moqc_broadcast_consumer_subscribe(front, "v", NULL, NULL);
  moqc_broadcast_producer_abort(a.bp, MOQC_CODE_APP_BASE + 2);
  moqc_env_run(env);
  expect_ann(oc, "p", false);
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_ABORTED);
  assert_int_equal(moqc_track_consumer_code(tc), MOQC_CODE_APP_BASE + 2);
  moqc_track_consumer_del(tc);
  moqc_broadcast_consumer_del(front);
  moqc_origin_consumer_del(oc);
  pub_drop(&a);
  moqc_origin_unref(o);
  moqc_env_del(env);
}

static void test_scope_and_root(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_origin *o = origin_new(env, 0);
  moqc_origin *room = moqc_origin_with_root(o, "room/1");
  const char *only_bob[] = {"bob"};
  moqc_origin *bob = moqc_origin_scope(room, only_bob, 1);
  const char *rooms[] = {"room/2", "room/1/alice"};
  moqc_origin *sc = moqc_origin_scope(o, rooms, 2);
  assert_non_null(room);
  assert_non_null(bob);
  assert_non_null(sc);
  assert_int_equal(moqc_origin_id(room), 42); /* shared state */
  moqc_origin_consumer *top = moqc_origin_consume(o, "");
  moqc_origin_consumer *rc = moqc_origin_consume(room, "");
  moqc_origin_consumer *bc = moqc_origin_consume(bob, "");
  moqc_origin_consumer *scc = moqc_origin_consume(sc, "");
  pub alice = pub_new(env), bobp = pub_new(env), other = pub_new(env);
  assert_int_equal(moqc_origin_publish(room, "alice", alice.bc, NULL), MOQC_OK);
  assert_int_equal(moqc_origin_publish(bob, "bob/cam", bobp.bc, NULL), MOQC_OK);
  assert_int_equal(moqc_origin_publish(bob, "carol", other.bc, NULL), MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(moqc_origin_publish(o, "room/2/x", other.bc, NULL), MOQC_OK);
  expect_ann(top, "room/1/alice", true);
  expect_ann(top, "room/1/bob/cam", true);
  expect_ann(top, "room/2/x", true);
  expect_ann(rc, "alice", true); /* root stripped */
  expect_ann(rc, "bob/cam", true);
  expect_no_ann(rc);
  expect_ann(bc, "bob/cam", true);
  expect_no_ann(bc);
  expect_ann(scc, "room/1/alice", true);
  expect_ann(scc, "room/2/x", true);
  expect_no_ann(scc);
  int err = 0;
  moqc_broadcast_consumer *f = moqc_origin_request(room, "alice", &err);
  assert_non_null(f);
  moqc_broadcast_consumer_del(f);
  f = moqc_origin_request(o, "room/1/alice", &err);
  assert_non_null(f);
  moqc_broadcast_consumer_del(f);
  assert_null(moqc_origin_request(bob, "alice", &err)); /* outside the scope */
  assert_int_equal(err, MOQC_ERR_UNAUTHORIZED);
  assert_null(moqc_origin_request(sc, "room/1/bob/cam", &err));
  assert_int_equal(err, MOQC_ERR_UNAUTHORIZED);
  f = moqc_origin_consumer_request(bc, "bob/cam", &err);
  assert_non_null(f);
  moqc_broadcast_consumer_del(f);
  assert_int_equal(moqc_origin_unpublish(room, "bob/cam"), MOQC_OK);
  expect_ann(bc, "bob/cam", false);
  expect_ann(top, "room/1/bob/cam", false);
  expect_ann(rc, "bob/cam", false);
  /* dropping the parent view does not close the shared state */
  moqc_origin_unref(o);
  expect_no_ann(rc);
  moqc_origin_consumer_del(scc);
  moqc_origin_consumer_del(bc);
  moqc_origin_consumer_del(rc);
  moqc_origin_unref(sc);
  moqc_origin_unref(bob);
  moqc_announce a;
  assert_int_equal(moqc_origin_consumer_next(top, &a), MOQC_ERR_AGAIN);
  moqc_origin_unref(room); /* the last view: consumers see the origin close */
  assert_int_equal(moqc_origin_consumer_next(top, &a), MOQC_ERR_CLOSED);
  moqc_origin_consumer_del(top);
  pub_drop(&alice);
  pub_drop(&bobp);
  pub_drop(&other);
  moqc_env_run(env);
  moqc_env_del(env);
}

/* An on-demand source: a broadcast with requests enabled, published at path. */
typedef struct odpub {
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *bc;
} odpub;

static odpub odpub_new(moqc_env *env, moqc_origin *o, const char *path) {
  odpub p;
  p.bp = moqc_broadcast_producer_new(env);
  assert_non_null(p.bp);
  moqc_broadcast_producer_enable_requests(p.bp, true);
  p.bc = moqc_broadcast_producer_consume(p.bp);
  assert_int_equal(moqc_origin_publish(o, path, p.bc, NULL), MOQC_OK);
  return p;
}

static void odpub_del(odpub *p) {
  moqc_broadcast_consumer_del(p->bc);
  moqc_broadcast_producer_del(p->bp);
}

static moqc_track_request *next_req(moqc_broadcast_producer *bp, const char *name) {
  moqc_track_request *r = NULL;
  assert_int_equal(moqc_broadcast_producer_next_request(bp, &r), MOQC_OK);
  assert_string_equal(moqc_track_request_name(r), name);
  return r;
}

static const moqc_track_info k_info = {9, true, 700, 90000};

static void expect_info(moqc_track_info_query *q, const moqc_track_info *want) {
  moqc_track_info got;
  assert_int_equal(moqc_track_info_query_get(q, &got), MOQC_OK);
  assert_int_equal(got.priority, want->priority);
  assert_int_equal(got.ordered, want->ordered);
  assert_int_equal(got.latency_max_ms, want->latency_max_ms);
  assert_int_equal(got.timescale, want->timescale);
}

/* A front track learns the source's info at the accept, before any group. */
static void test_front_info_on_accept(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_origin *o = origin_new(env, 0);
  odpub p = odpub_new(env, o, "room/a");
  moqc_broadcast_consumer *bc = moqc_origin_request(o, "room/a", NULL);
  moqc_track_consumer *tc = moqc_broadcast_consumer_subscribe(bc, "v", NULL, NULL);
  assert_non_null(tc);
  assert_false(moqc_track_consumer_info_known(tc));
  int n = 0;
  moqc_track_consumer_set_waker(tc, tm_count, &n);
  moqc_env_run(env);
  moqc_track_producer *tp = moqc_track_request_accept(next_req(p.bp, "v"), &k_info);
  moqc_env_run(env);
  assert_true(moqc_track_consumer_info_known(tc));
  assert_int_equal(moqc_track_consumer_info(tc)->timescale, 90000);
  assert_int_equal(moqc_track_consumer_info(tc)->latency_max_ms, 700);
  assert_int_equal(n, 1); /* woken: the info is news */
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_AGAIN);
  /* an existing source track: known at subscribe */
  moqc_track_consumer *tc2 = moqc_broadcast_consumer_subscribe(bc, "v", NULL, NULL);
  assert_true(moqc_track_consumer_info_known(tc2));
  moqc_track_consumer_del(tc2);
  moqc_track_consumer_del(tc);
  moqc_broadcast_consumer_del(bc);
  moqc_broadcast_consumer *bc2 = moqc_origin_request(o, "room/a", NULL);
  tc = moqc_broadcast_consumer_subscribe(bc2, "v", NULL, NULL);
  assert_true(moqc_track_consumer_info_known(tc));
  assert_int_equal(moqc_track_consumer_info(tc)->timescale, 90000);
  moqc_track_consumer_del(tc);
  moqc_broadcast_consumer_del(bc2);
  moqc_track_producer_del(tp);
  odpub_del(&p);
  moqc_origin_unref(o);
  moqc_env_run(env);
  moqc_env_del(env);
}

/* Info queries through the origin: no demand upstream, answered at accept,
 * and switching to a subscription when a consumer comes. */
static void test_front_info_query(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_origin *o = origin_new(env, 0);
  odpub p = odpub_new(env, o, "room/a");
  moqc_broadcast_consumer *bc = moqc_origin_request(o, "room/a", NULL);
  int err = 0;
  moqc_track_info_query *q = moqc_broadcast_consumer_query_info(bc, "v", &err);
  assert_non_null(q);
  assert_int_equal(err, MOQC_OK);
  assert_string_equal(moqc_track_info_query_name(q), "v");
  assert_int_equal(moqc_track_info_query_get(q, NULL), MOQC_ERR_AGAIN);
  int n = 0;
  moqc_track_info_query_set_waker(q, tm_count, &n);
  moqc_env_run(env);
  assert_int_equal(n, 0);
  moqc_track_request *r = next_req(p.bp, "v");
  moqc_track_producer *tp = moqc_track_request_accept(r, &k_info);
  assert_int_equal(moqc_track_producer_demand(tp).consumers, 0); /* nobody subscribed */
  moqc_env_run(env);
  assert_int_equal(n, 1);
  expect_info(q, &k_info);
  /* a second query is answered at once (the front track has it) */
  moqc_track_info_query *q2 = moqc_broadcast_consumer_query_info(bc, "v", &err);
  expect_info(q2, &k_info);
  moqc_track_info_query_del(q2);
  /* a subscriber while the query is held: now the source sees demand */
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  sub.priority = 4;
  moqc_track_consumer *tc = moqc_broadcast_consumer_subscribe(bc, "v", &sub, &err);
  assert_non_null(tc);
  assert_int_equal(moqc_track_producer_demand(tp).consumers, 1);
  assert_int_equal(moqc_track_producer_demand(tp).aggregate.priority, 4);
  tm_group1(tp, "g0");
  moqc_env_run(env);
  tm_expect_group_del(tc, 0);
  moqc_track_consumer_del(tc);
  assert_int_equal(moqc_track_producer_demand(tp).consumers, 0);
  expect_info(q, &k_info);
  moqc_track_info_query_del(q);
  /* queries on an existing source track: known at once, never any demand */
  int dw = 0;
  moqc_track_producer_set_waker(tp, tm_count, &dw);
  moqc_env_run(env);
  dw = 0;
  q = moqc_broadcast_consumer_query_info(bc, "v", &err);
  expect_info(q, &k_info);
  moqc_track_info_query_del(q);
  moqc_env_run(env);
  assert_int_equal(dw, 0);
  /* a query then a subscriber then the subscriber leaving, all before the
   * accept: the upstream subscription comes and goes, the query stays */
  q = moqc_broadcast_consumer_query_info(bc, "w", &err);
  assert_non_null(q);
  tc = moqc_broadcast_consumer_subscribe(bc, "w", NULL, &err);
  assert_non_null(tc);
  moqc_track_consumer_del(tc);
  moqc_env_run(env);
  r = next_req(p.bp, "w");
  moqc_track_producer *tw = moqc_track_request_accept(r, &k_info);
  assert_int_equal(moqc_track_producer_demand(tw).consumers, 0);
  moqc_env_run(env);
  expect_info(q, &k_info);
  /* the publisher drops the track it saw no demand for: the info stays */
  moqc_track_producer_del(tw);
  moqc_env_run(env);
  expect_info(q, &k_info);
  moqc_track_info_query_del(q);
  /* rejected upstream: the query reads the code */
  q = moqc_broadcast_consumer_query_info(bc, "x", &err);
  moqc_env_run(env);
  moqc_track_request_reject(next_req(p.bp, "x"), MOQC_CODE_APP_BASE + 3);
  moqc_env_run(env);
  assert_int_equal(moqc_track_info_query_get(q, NULL), MOQC_ERR_ABORTED);
  assert_int_equal(moqc_track_info_query_code(q), MOQC_CODE_APP_BASE + 3);
  moqc_track_info_query_del(q);
  /* unpublished while asking: CLOSED */
  q = moqc_broadcast_consumer_query_info(bc, "y", &err);
  assert_int_equal(moqc_track_info_query_get(q, NULL), MOQC_ERR_AGAIN);
  assert_int_equal(moqc_origin_unpublish(o, "room/a"), MOQC_OK);
  assert_int_equal(moqc_track_info_query_get(q, NULL), MOQC_ERR_CLOSED);
  moqc_track_info_query_del(q);
  assert_null(moqc_broadcast_consumer_query_info(bc, "z", &err));
  assert_int_equal(err, MOQC_ERR_CLOSED);
  moqc_broadcast_consumer_del(bc);
  moqc_track_producer_del(tp);
  odpub_del(&p);
  moqc_origin_unref(o);
  moqc_env_run(env);
  moqc_env_del(env);
}

/* A query made while the path lingers is answered by the takeover source. */
static void test_front_info_query_linger(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_origin *o = origin_new(env, 5 * SEC);
  pub a = pub_new(env);
  assert_int_equal(moqc_origin_publish(o, "live", a.bc, NULL), MOQC_OK);
  moqc_broadcast_consumer *bc = moqc_origin_request(o, "live", NULL);
  int err = 0;
  assert_null(moqc_broadcast_consumer_query_info(bc, "nope", &err));
  assert_int_equal(err, MOQC_ERR_NOT_FOUND);
  pub_drop(&a);
  moqc_env_run(env);
  moqc_track_info_query *q = moqc_broadcast_consumer_query_info(bc, "v", &err);
  assert_non_null(q);
  int n = 0;
  moqc_track_info_query_set_waker(q, tm_count, &n);
  assert_int_equal(moqc_track_info_query_get(q, NULL), MOQC_ERR_AGAIN);
  moqc_broadcast_producer *bp = moqc_broadcast_producer_new(env);
  moqc_track_producer *tp = moqc_broadcast_producer_create_track(bp, "v", &k_info, NULL);
  moqc_broadcast_consumer *src = moqc_broadcast_producer_consume(bp);
  assert_int_equal(moqc_origin_publish(o, "live", src, NULL), MOQC_OK);
  moqc_env_run(env);
  assert_int_equal(n, 1);
  expect_info(q, &k_info);
  assert_int_equal(moqc_track_producer_demand(tp).consumers, 0);
  moqc_track_info_query_del(q);
  moqc_broadcast_consumer_del(bc);
  moqc_broadcast_consumer_del(src);
  moqc_track_producer_del(tp);
  moqc_broadcast_producer_del(bp);
  moqc_origin_unref(o);
  moqc_env_run(env);
  moqc_env_del(env);
}

/* fetch_group on a front track falls through to the source's cache, also
 * through a chain of two origins. */
/* Each way a front track ends has its own reason: finished by the publisher,
 * aborted (linger 0), unpublished (a clean end where it is), replaced; a track
 * already finished when its path is replaced still ends cleanly. */
static void test_end_reasons(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_origin *o = origin_new(env, 0);
  const char *paths[] = {"fin", "abort", "unpub", "repl", "repl-done"};
  pub p[5];
  moqc_broadcast_consumer *f[5];
  moqc_track_consumer *tc[5];
  for (int i = 0; i < 5; i++) {
    p[i] = pub_new(env);
    assert_int_equal(moqc_origin_publish(o, paths[i], p[i].bc, NULL), MOQC_OK);
    f[i] = moqc_origin_request(o, paths[i], NULL);
    tc[i] = moqc_broadcast_consumer_subscribe(f[i], "v", NULL, NULL);
    assert_non_null(tc[i]);
    tm_group1(p[i].tp, "x");
  }
  moqc_env_run(env);
  for (int i = 0; i < 5; i++) {
    tm_expect_group_del(tc[i], 0);
    assert_int_equal(moqc_track_consumer_end_reason(tc[i]), MOQC_END_NONE);
    assert_int_equal(moqc_broadcast_consumer_end_reason(f[i]), MOQC_END_NONE);
  }
  moqc_track_producer_finish(p[0].tp);
  moqc_broadcast_producer_finish(p[0].bp);
  moqc_broadcast_producer_abort(p[1].bp, MOQC_CODE_APP_BASE + 1);
  assert_int_equal(moqc_origin_unpublish(o, "unpub"), MOQC_OK);
  pub n3 = pub_new(env), n4 = pub_new(env);
  assert_int_equal(moqc_origin_publish(o, "repl", n3.bc, NULL), MOQC_OK);
  moqc_track_producer_finish(p[4].tp);
  moqc_env_run(env);
  assert_int_equal(moqc_origin_publish(o, "repl-done", n4.bc, NULL), MOQC_OK);
  moqc_env_run(env);
  const int want_rc[] = {MOQC_ERR_CLOSED, MOQC_ERR_ABORTED, MOQC_ERR_CLOSED, MOQC_ERR_DROPPED,
                         MOQC_ERR_CLOSED};
  const moqc_end_reason want[] = {MOQC_END_FINISHED, MOQC_END_ABORTED, MOQC_END_FINISHED,
                                  MOQC_END_REPLACED, MOQC_END_FINISHED};
  for (int i = 0; i < 5; i++) {
    moqc_group_consumer *g = NULL;
    assert_int_equal(moqc_track_consumer_recv_group(tc[i], &g), want_rc[i]);
    assert_int_equal(moqc_track_consumer_end_reason(tc[i]), want[i]);
  }
  assert_int_equal(moqc_broadcast_consumer_end_reason(f[0]), MOQC_END_FINISHED);
  assert_int_equal(moqc_broadcast_consumer_end_reason(f[1]), MOQC_END_ABORTED);
  assert_int_equal(moqc_broadcast_consumer_end_reason(f[3]), MOQC_END_REPLACED);
  assert_int_equal(moqc_broadcast_consumer_end_reason(f[4]), MOQC_END_REPLACED);
  for (int i = 0; i < 5; i++) {
    moqc_track_consumer_del(tc[i]);
    moqc_broadcast_consumer_del(f[i]);
    pub_drop(&p[i]);
  }
  pub_drop(&n3);
  pub_drop(&n4);
  moqc_origin_unref(o);
  moqc_env_run(env);
  moqc_env_del(env);
}

/* A chain of origins (a relay's front published into the next one): a
 * replacement upstream reaches the far end as "replaced", not "aborted". */
static void test_replace_through_chain(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_origin *o1 = origin_new(env, 0);
  moqc_origin *o2 = origin_new(env, 0);
  pub a = pub_new(env), b = pub_new(env);
  assert_int_equal(moqc_origin_publish(o1, "p", a.bc, NULL), MOQC_OK);
  moqc_broadcast_consumer *f1 = moqc_origin_request(o1, "p", NULL);
  assert_int_equal(moqc_origin_publish(o2, "p", f1, NULL), MOQC_OK);
  moqc_broadcast_consumer *f2 = moqc_origin_request(o2, "p", NULL);
  moqc_track_consumer *tc = moqc_broadcast_consumer_subscribe(f2, "v", NULL, NULL);
  tm_group1(a.tp, "a");
  moqc_env_run(env);
  tm_expect_group_del(tc, 0);
  assert_int_equal(moqc_origin_publish(o1, "p", b.bc, NULL), MOQC_OK);
  moqc_env_run(env);
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_DROPPED);
  assert_int_equal(moqc_track_consumer_end_reason(tc), MOQC_END_REPLACED);
  assert_int_equal(moqc_broadcast_consumer_end_reason(f2), MOQC_END_REPLACED);
  moqc_track_consumer_del(tc);
  moqc_broadcast_consumer_del(f2);
  moqc_broadcast_consumer_del(f1);
  pub_drop(&a);
  pub_drop(&b);
  moqc_origin_unref(o2);
  moqc_origin_unref(o1);
  moqc_env_run(env);
  moqc_env_del(env);
}

static void test_front_fetch_falls_through(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_origin *o1 = origin_new(env, 0);
  moqc_origin *o2 = origin_new(env, 0);
  pub a = pub_new(env);
  for (int i = 0; i < 5; i++) tm_group1(a.tp, i == 1 ? "one" : "x");
  assert_int_equal(moqc_origin_publish(o1, "p", a.bc, NULL), MOQC_OK);
  moqc_broadcast_consumer *f1 = moqc_origin_request(o1, "p", NULL);
  assert_int_equal(moqc_origin_publish(o2, "p", f1, NULL), MOQC_OK);
  moqc_broadcast_consumer *f2 = moqc_origin_request(o2, "p", NULL);
  moqc_track_consumer *tc = moqc_broadcast_consumer_subscribe(f2, "v", NULL, NULL);
  moqc_env_run(env);
  tm_expect_group_del(tc, 4); /* the latest only */
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_fetch_group(tc, 1, &g), MOQC_OK);
  assert_int_equal(moqc_group_consumer_sequence(g), 1);
  tm_expect_frame(g, "one");
  moqc_group_consumer_del(g);
  assert_int_equal(moqc_track_consumer_fetch_group(tc, 4, &g), MOQC_OK); /* its own */
  moqc_group_consumer_del(g);
  assert_int_equal(moqc_track_consumer_fetch_group(tc, 9, &g), MOQC_ERR_NOT_FOUND);
  moqc_track_consumer_del(tc);
  moqc_broadcast_consumer_del(f2);
  moqc_broadcast_consumer_del(f1);
  pub_drop(&a);
  moqc_origin_unref(o2);
  moqc_origin_unref(o1);
  moqc_env_run(env);
  moqc_env_del(env);
}

/* The source finishing at 5 with 2 and 3 still on their way: the front track
 * does not end before they are forwarded. */
static void test_front_finish_at_waits(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_origin *o = origin_new(env, 0);
  pub a = pub_new(env);
  assert_int_equal(moqc_origin_publish(o, "p", a.bc, NULL), MOQC_OK);
  moqc_broadcast_consumer *f = moqc_origin_request(o, "p", NULL);
  moqc_subscription from0 = {0, false, 0, 0, MOQC_GROUP_NONE};
  moqc_track_consumer *tc = moqc_broadcast_consumer_subscribe(f, "v", &from0, NULL);
  moqc_group_producer *gp = NULL;
  for (uint64_t s = 0; s < 5; s++) {
    if (s == 2 || s == 3) continue;
    assert_int_equal(moqc_track_producer_create_group(a.tp, s, &gp), MOQC_OK);
    moqc_group_producer_finish(gp);
    moqc_group_producer_del(gp);
  }
  assert_int_equal(moqc_track_producer_finish_at(a.tp, 5), MOQC_OK);
  moqc_env_run(env);
  tm_expect_group_del(tc, 0);
  tm_expect_group_del(tc, 1);
  tm_expect_group_del(tc, 4);
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_AGAIN);
  assert_int_equal(moqc_track_producer_create_group(a.tp, 3, &gp), MOQC_OK);
  moqc_group_producer_finish(gp);
  moqc_group_producer_del(gp);
  assert_int_equal(moqc_track_producer_create_group(a.tp, 2, &gp), MOQC_OK);
  moqc_group_producer_finish(gp);
  moqc_group_producer_del(gp);
  moqc_env_run(env);
  tm_expect_group_del(tc, 3);
  tm_expect_group_del(tc, 2);
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_CLOSED);
  assert_int_equal(moqc_track_consumer_final(tc), 5);
  moqc_track_consumer_del(tc);
  moqc_broadcast_consumer_del(f);
  pub_drop(&a);
  moqc_origin_unref(o);
  moqc_env_run(env);
  moqc_env_del(env);
}

/* Queries through two chained origins, and a source that finishes while a
 * query is pending (taken request: answered; queued request: NotFound). */
static void test_front_info_query_chain_and_end(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_origin *o1 = origin_new(env, 0);
  moqc_origin *o2 = origin_new(env, 0);
  odpub p = odpub_new(env, o1, "p");
  moqc_broadcast_consumer *f1 = moqc_origin_request(o1, "p", NULL);
  assert_int_equal(moqc_origin_publish(o2, "p", f1, NULL), MOQC_OK);
  moqc_broadcast_consumer *f2 = moqc_origin_request(o2, "p", NULL);
  int err = 0;
  moqc_track_info_query *q = moqc_broadcast_consumer_query_info(f2, "v", &err);
  moqc_track_info_query *qx = moqc_broadcast_consumer_query_info(f2, "x", &err);
  assert_non_null(q);
  assert_non_null(qx);
  int n = 0;
  moqc_track_info_query_set_waker(q, tm_count, &n);
  moqc_track_info_query_set_waker(qx, tm_count, &n);
  moqc_env_run(env);
  moqc_track_request *r = next_req(p.bp, "v"); /* taken; "x" stays queued */
  moqc_broadcast_producer_finish(p.bp);        /* "x" is rejected with NotFound */
  moqc_env_run(env);
  assert_int_equal(n, 1);
  assert_int_equal(moqc_track_info_query_get(qx, NULL), MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_track_info_query_get(q, NULL), MOQC_ERR_AGAIN);
  moqc_track_producer *tp = moqc_track_request_accept(r, &k_info);
  assert_non_null(tp);
  moqc_env_run(env);
  assert_int_equal(n, 2);
  expect_info(q, &k_info);
  assert_int_equal(moqc_track_producer_demand(tp).consumers, 0);
  moqc_track_info_query_del(qx);
  moqc_track_info_query_del(q);
  moqc_track_producer_del(tp);
  moqc_broadcast_consumer_del(f2);
  moqc_broadcast_consumer_del(f1);
  odpub_del(&p);
  moqc_origin_unref(o2);
  moqc_origin_unref(o1);
  moqc_env_run(env);
  moqc_env_del(env);
}

/* Many paths: publish, route, unpublish in any order (the path index grows
 * and chains stay consistent). */
static void test_many_paths(void **state) {
  (void)state;
  enum { N = 600 };
  moqc_env *env = tm_env(0);
  moqc_origin *o = origin_new(env, 0);
  moqc_broadcast_producer *bp = moqc_broadcast_producer_new(env);
  moqc_broadcast_consumer *bc = moqc_broadcast_producer_consume(bp);
  char path[64];
  for (int i = 0; i < N; i++) {
    snprintf(path, sizeof path, "room/%d/cam", i);
    assert_int_equal(moqc_origin_publish(o, path, bc, NULL), MOQC_OK);
  }
  /* every path is routable, its neighbours are not */
  int err = 0;
  for (int i = 0; i < N; i++) {
    snprintf(path, sizeof path, "room/%d/cam", i);
    moqc_broadcast_consumer *f = moqc_origin_request(o, path, &err);
    assert_non_null(f);
    moqc_broadcast_consumer_del(f);
    snprintf(path, sizeof path, "room/%d/mic", i);
    assert_null(moqc_origin_request(o, path, &err));
    assert_int_equal(err, MOQC_ERR_UNROUTABLE);
  }
  /* unpublish every third, from the end */
  for (int i = N - 1; i >= 0; i--) {
    if (i % 3) continue;
    snprintf(path, sizeof path, "room/%d/cam", i);
    assert_int_equal(moqc_origin_unpublish(o, path), MOQC_OK);
    assert_int_equal(moqc_origin_unpublish(o, path), MOQC_ERR_NOT_FOUND);
  }
  for (int i = 0; i < N; i++) {
    snprintf(path, sizeof path, "room/%d/cam", i);
    moqc_broadcast_consumer *f = moqc_origin_request(o, path, &err);
    if (i % 3 == 0) {
      assert_null(f);
    } else {
      assert_non_null(f);
      moqc_broadcast_consumer_del(f);
    }
  }
  /* a late consumer hears the rest in publish order */
  moqc_origin_consumer *oc = moqc_origin_consume(o, "room");
  for (int i = 0; i < N; i++) {
    if (i % 3 == 0) continue;
    snprintf(path, sizeof path, "room/%d/cam", i);
    expect_ann(oc, path, true);
  }
  expect_no_ann(oc);
  /* re-publishing an unpublished path works; replacing a live one too */
  assert_int_equal(moqc_origin_publish(o, "room/0/cam", bc, NULL), MOQC_OK);
  /* the same broadcast again is a route update (nothing to say: same route);
   * another broadcast replaces it */
  assert_int_equal(moqc_origin_publish(o, "room/1/cam", bc, NULL), MOQC_OK);
  moqc_broadcast_producer *bp2 = moqc_broadcast_producer_new(env);
  moqc_broadcast_consumer *bc2 = moqc_broadcast_producer_consume(bp2);
  assert_int_equal(moqc_origin_publish(o, "room/1/cam", bc2, NULL), MOQC_OK);
  expect_ann(oc, "room/0/cam", true);
  expect_ann(oc, "room/1/cam", false);
  expect_ann(oc, "room/1/cam", true);
  expect_no_ann(oc);
  moqc_broadcast_consumer_del(bc2);
  moqc_broadcast_producer_del(bp2);
  moqc_origin_consumer_del(oc);
  moqc_broadcast_consumer_del(bc);
  moqc_broadcast_producer_del(bp);
  moqc_origin_unref(o); /* withdraws everything left */
  moqc_env_run(env);
  moqc_env_del(env);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_announce_order_and_prefixes),
      cmocka_unit_test(test_request_unroutable),
      cmocka_unit_test(test_consumer_queue_index),
      cmocka_unit_test(test_front_demand_keeps_start),
      cmocka_unit_test(test_replace_live_source),
      cmocka_unit_test(test_remote_echo_keeps_local),
      cmocka_unit_test(test_end_reasons),
      cmocka_unit_test(test_replace_through_chain),
      cmocka_unit_test(test_linger_takeover),
      cmocka_unit_test(test_linger_expiry),
      cmocka_unit_test(test_linger_zero_propagates_code),
      cmocka_unit_test(test_scope_and_root),
      cmocka_unit_test(test_front_info_on_accept),
      cmocka_unit_test(test_front_info_query),
      cmocka_unit_test(test_front_info_query_linger),
      cmocka_unit_test(test_front_fetch_falls_through),
      cmocka_unit_test(test_front_finish_at_waits),
      cmocka_unit_test(test_front_info_query_chain_and_end),
      cmocka_unit_test(test_many_paths),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
