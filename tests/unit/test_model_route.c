/* Unit tests: route selection in the origin (src/model/origin.c): several
 * sources of one broadcast (a relay hearing it from two cluster peers), the
 * best route served, failover without an end, restart announcements, link
 * cost views, and moq-relay's tie-break (vectors computed from
 * rs/moq-net/src/model/origin.rs `fnv_key`). */
#include <stdio.h>
#include <string.h>

#include "test_model_common.h"

#define SEC 1000000000ULL

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

static void pub_drop(pub *p) { /* abrupt: no finish */
  moqc_broadcast_consumer_del(p->bc);
  moqc_track_producer_del(p->tp);
  moqc_broadcast_producer_del(p->bp);
  memset(p, 0, sizeof *p);
}

static moqc_route route_of(const uint64_t *hops, size_t n, uint64_t cost) {
  moqc_route r;
  memset(&r, 0, sizeof r);
  for (size_t i = 0; i < n; i++) r.hops[i] = hops[i];
  r.n_hops = n;
  r.cost = cost;
  return r;
}

static moqc_origin *origin_new(moqc_env *env, uint64_t linger_ns) {
  moqc_origin_config cfg = {42, linger_ns};
  moqc_origin *o = moqc_origin_new(env, &cfg);
  assert_non_null(o);
  return o;
}

/* Next announcement: path, active, restart, and the route's last hop. */
static void expect(moqc_origin_consumer *c, bool active, bool restart, uint64_t last_hop) {
  moqc_announce a;
  assert_int_equal(moqc_origin_consumer_next(c, &a), MOQC_OK);
  assert_string_equal(a.path, "b");
  assert_int_equal(a.active, active);
  assert_int_equal(a.restart, restart);
  if (active) {
    assert_non_null(a.route);
    assert_true(a.route->n_hops > 0);
    assert_int_equal(a.route->hops[a.route->n_hops - 1], last_hop);
  }
}

static void expect_none(moqc_origin_consumer *c) {
  moqc_announce a;
  assert_int_equal(moqc_origin_consumer_next(c, &a), MOQC_ERR_AGAIN);
}

/* FNV-1a-64, seed 0x420C0DECB00B, path bytes then hop ids little-endian:
 * values computed independently from moq-relay's fnv_key. */
static void test_tiebreak_vectors(void **state) {
  (void)state;
  uint64_t h1[] = {5, 20}, h2[] = {5, 40}, h3[] = {7}, h4[] = {1};
  moqc_route a = route_of(h1, 2, 0), b = route_of(h2, 2, 0), c = route_of(h3, 1, 0);
  moqc_route none = route_of(NULL, 0, 0), d = route_of(h4, 1, 0);
  assert_true(moqc_route_tiebreak("test", &a) == 0xfb2f844fb3d77baeULL);
  assert_true(moqc_route_tiebreak("test", &b) == 0x97c1bf5281ab6012ULL);
  assert_true(moqc_route_tiebreak("room/cam", &none) == 0x3f7aeb14f09f2bb0ULL);
  assert_true(moqc_route_tiebreak("room/cam", &c) == 0x540901fefd008897ULL);
  assert_true(moqc_route_tiebreak("", &d) == 0xc4da34c6f3bb954aULL);
  /* moq-relay's test_deterministic_tiebreak: equal length, [5,40] wins
   * (lower key), whatever the order; a shorter chain always wins. */
  assert_true(moqc_route_compare("test", &b, &a) < 0);
  assert_true(moqc_route_compare("test", &a, &b) > 0);
  moqc_route short5 = route_of(h1, 1, 0);
  assert_true(moqc_route_compare("test", &short5, &b) < 0);
  assert_int_equal(moqc_route_compare("test", &a, &a), 0);
  /* cost before hops (moq-relay's order): a cheap long route beats a dear short one */
  moqc_route cheap = route_of(h1, 2, 0), dear = route_of(h1, 1, 5);
  assert_true(moqc_route_compare("test", &cheap, &dear) < 0);
  assert_true(moqc_route_has(&a, 20));
  assert_false(moqc_route_has(&a, 0));
  assert_false(moqc_route_has(&a, 21));
}

/* Two routes to the same content (first hop 5): the better one is served,
 * the other never subscribed; losing it fails over without an end. */
static void test_two_routes_failover(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_origin *o = origin_new(env, 5 * SEC);
  moqc_origin_consumer *oc = moqc_origin_consume(o, "");
  pub a = pub_new(env), b = pub_new(env);
  uint64_t ha[] = {5, 20}, hb[] = {5, 40};
  moqc_route ra = route_of(ha, 2, 1), rb = route_of(hb, 2, 1);
  assert_int_equal(moqc_origin_publish(o, "b", a.bc, &ra), MOQC_OK);
  assert_int_equal(moqc_origin_publish(o, "b", b.bc, &rb), MOQC_OK);
  /* unread active via a + restart via b (the tie-break winner) collapse:
   * one active with b's route; never an end */
  expect(oc, true, false, 40);
  expect_none(oc);
  moqc_broadcast_consumer *front = moqc_origin_request(o, "b", NULL);
  moqc_track_consumer *tc = moqc_broadcast_consumer_subscribe(front, "v", NULL, NULL);
  moqc_env_run(env);
  /* one upstream subscription, to the served source only */
  assert_int_equal(moqc_track_producer_demand(b.tp).consumers, 1);
  assert_int_equal(moqc_track_producer_demand(a.tp).consumers, 0);
  tm_group1(b.tp, "via-b");
  moqc_env_run(env);
  tm_expect_group_del(tc, 0);
  /* b's link dies: a takes over, the subscriber sees no end */
  pub_drop(&b);
  moqc_env_run(env);
  expect(oc, true, true, 20);
  expect_none(oc);
  assert_int_equal(moqc_track_producer_demand(a.tp).consumers, 1);
  assert_int_equal(moqc_broadcast_consumer_status(front), MOQC_OK);
  tm_group1(a.tp, "a0");
  tm_group1(a.tp, "a1");
  moqc_env_run(env);
  moqc_group_consumer *g = tm_expect_group(tc, 1); /* seq 0 already forwarded */
  tm_expect_frame(g, "a1");
  moqc_group_consumer_del(g);
  /* the last route goes: the path lingers (still announced), then ends */
  pub_drop(&a);
  moqc_env_run(env);
  expect_none(oc);
  moqc_clock *clk = moqc_env_clock(env);
  moqc_clock_advance(clk, moqc_clock_now(clk) + 6 * SEC);
  moqc_env_run(env);
  expect(oc, false, false, 0);
  moqc_track_consumer_del(tc);
  moqc_broadcast_consumer_del(front);
  moqc_origin_consumer_del(oc);
  moqc_origin_unref(o);
  moqc_env_run(env);
  moqc_env_del(env);
}

/* A worse second route changes nothing; a different first hop is new
 * content: it replaces (ended, then active). */
static void test_worse_route_and_replace(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_origin *o = origin_new(env, 0);
  moqc_origin_consumer *oc = moqc_origin_consume(o, "");
  pub a = pub_new(env), b = pub_new(env), c = pub_new(env);
  uint64_t ha[] = {5}, hb[] = {5, 7, 8}, hc[] = {9};
  moqc_route ra = route_of(ha, 1, 1), rb = route_of(hb, 3, 1), rc = route_of(hc, 1, 1);
  assert_int_equal(moqc_origin_publish(o, "b", a.bc, &ra), MOQC_OK);
  assert_int_equal(moqc_origin_publish(o, "b", b.bc, &rb), MOQC_OK);
  expect(oc, true, false, 5);
  expect_none(oc);
  /* the same broadcast on a new, better route: re-selected, restart */
  uint64_t hb2[] = {5};
  moqc_route rb2 = route_of(hb2, 1, 0);
  assert_int_equal(moqc_origin_publish(o, "b", b.bc, &rb2), MOQC_OK);
  moqc_announce an;
  assert_int_equal(moqc_origin_consumer_next(oc, &an), MOQC_OK);
  assert_true(an.restart);
  assert_int_equal(an.route->cost, 0);
  assert_int_equal(moqc_origin_publish(o, "b", c.bc, &rc), MOQC_OK);
  expect(oc, false, false, 0);
  expect(oc, true, false, 9);
  expect_none(oc);
  /* the replaced sources are gone: dropping them is silent */
  pub_drop(&a);
  pub_drop(&b);
  moqc_env_run(env);
  expect_none(oc);
  pub_drop(&c);
  moqc_env_run(env);
  expect(oc, false, false, 0);
  moqc_origin_consumer_del(oc);
  moqc_origin_unref(o);
  moqc_env_run(env);
  moqc_env_del(env);
}

/* A link-cost view prices what is published through it; cost ranks first. */
static void test_link_cost_view(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_origin *o = origin_new(env, 0);
  moqc_origin *cheap = moqc_origin_with_link_cost(o, 0);
  moqc_origin *scoped = moqc_origin_with_root(cheap, "r"); /* keeps the cost */
  assert_non_null(scoped);
  moqc_origin *rv = moqc_origin_with_root(o, "r");
  moqc_origin_consumer *oc = moqc_origin_consume(rv, "");
  pub a = pub_new(env), b = pub_new(env);
  uint64_t ha[] = {5}, hb[] = {5, 6, 7};
  moqc_route ra = route_of(ha, 1, 1), rb = route_of(hb, 3, 1);
  assert_int_equal(moqc_origin_publish(o, "r/b", a.bc, &ra), MOQC_OK);
  expect(oc, true, false, 5);
  assert_int_equal(moqc_origin_publish(scoped, "b", b.bc, &rb), MOQC_OK);
  moqc_announce an;
  assert_int_equal(moqc_origin_consumer_next(oc, &an), MOQC_OK);
  assert_true(an.restart);
  assert_int_equal(an.route->n_hops, 3);
  assert_int_equal(an.route->cost, 0);
  moqc_origin_consumer_del(oc);
  pub_drop(&a);
  pub_drop(&b);
  moqc_origin_unref(scoped);
  moqc_origin_unref(rv);
  moqc_origin_unref(cheap);
  moqc_origin_unref(o);
  moqc_env_run(env);
  moqc_env_del(env);
}

/* Queue bounds: restarts collapse; an end after an unread restart is still
 * heard (the consumer knew the path). */
static void test_restart_queue(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_origin *o = origin_new(env, 0);
  moqc_origin_consumer *oc = moqc_origin_consume(o, "");
  pub p[4];
  for (int i = 0; i < 4; i++) p[i] = pub_new(env);
  uint64_t h[4][4] = {{5, 1, 2, 3}, {5, 1, 2}, {5, 1}, {5}};
  moqc_route r0 = route_of(h[0], 4, 1);
  assert_int_equal(moqc_origin_publish(o, "b", p[0].bc, &r0), MOQC_OK);
  expect(oc, true, false, 3);
  for (int i = 1; i < 4; i++) {
    moqc_route r = route_of(h[i], (size_t)(4 - i), 1);
    assert_int_equal(moqc_origin_publish(o, "b", p[i].bc, &r), MOQC_OK);
  }
  expect(oc, true, true, 5); /* three restarts, one event: the newest route */
  expect_none(oc);
  moqc_route r1 = route_of(h[1], 3, 0);
  assert_int_equal(moqc_origin_publish(o, "b", p[1].bc, &r1), MOQC_OK); /* restart, unread */
  assert_int_equal(moqc_origin_unpublish(o, "b"), MOQC_OK);
  expect(oc, false, false, 0);
  expect_none(oc);
  for (int i = 0; i < 4; i++) pub_drop(&p[i]);
  moqc_origin_consumer_del(oc);
  moqc_origin_unref(o);
  moqc_env_run(env);
  moqc_env_del(env);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tiebreak_vectors),        cmocka_unit_test(test_two_routes_failover),
      cmocka_unit_test(test_worse_route_and_replace), cmocka_unit_test(test_link_cost_view),
      cmocka_unit_test(test_restart_queue),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
