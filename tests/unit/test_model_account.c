/* Accounts (moqc_account): per-tenant cached bytes with their own cap, the
 * env budget evicting from the biggest pool first, and the per-account
 * broadcast cap of views bound with moqc_origin_with_account. */
#include "test_model_common.h"

/* A 10-byte one-frame group. */
static void group10(moqc_track_producer *t, char tag) {
  char b[10];
  memset(b, tag, sizeof b);
  moqc_group_producer *g = moqc_track_producer_append_group(t);
  assert_non_null(g);
  assert_int_equal(moqc_group_producer_write_frame_copy(g, b, sizeof b, 0), MOQC_OK);
  assert_int_equal(moqc_group_producer_finish(g), MOQC_OK);
  moqc_group_producer_del(g);
}

/* One tenant: a broadcast with track "t" published at path through a view of
 * root bound to a new account with lim. */
typedef struct tenant {
  moqc_account *acct;
  moqc_origin *view;
  moqc_broadcast_producer *bp;
  moqc_track_producer *tp;
} tenant;

static tenant tenant_new(moqc_env *env, moqc_origin *root, const char *path,
                         const moqc_account_limits *lim) {
  tenant tn;
  tn.acct = moqc_account_new(env, lim);
  assert_non_null(tn.acct);
  tn.view = moqc_origin_with_account(root, tn.acct);
  assert_non_null(tn.view);
  tn.bp = moqc_broadcast_producer_new(env);
  moqc_broadcast_consumer *bc = moqc_broadcast_producer_consume(tn.bp);
  assert_int_equal(moqc_origin_publish(tn.view, path, bc, NULL), MOQC_OK);
  moqc_broadcast_consumer_del(bc);
  int err = 0;
  /* created after the publish: charged through the broadcast */
  tn.tp = moqc_broadcast_producer_create_track(tn.bp, "t", NULL, &err);
  assert_non_null(tn.tp);
  return tn;
}

static void tenant_del(tenant *tn) {
  moqc_track_producer_del(tn->tp);
  moqc_broadcast_producer_del(tn->bp);
  moqc_origin_unref(tn->view);
  moqc_account_unref(tn->acct);
}

static bool cached(moqc_track_producer *tp, uint64_t seq) {
  moqc_track_consumer *c = moqc_track_producer_consume(tp, NULL);
  assert_non_null(c);
  moqc_group_consumer *g = NULL;
  int rc = moqc_track_consumer_fetch_group(c, seq, &g);
  moqc_group_consumer_del(g);
  moqc_track_consumer_del(c);
  return rc == MOQC_OK;
}

/* A tenant over its own cap evicts its own oldest groups, never another's;
 * the live edge stays. */
static void test_account_cap(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_origin *o = moqc_origin_new(env, NULL);
  moqc_account_limits capped = {.max_cache_bytes = 20}, none = {0};
  tenant a = tenant_new(env, o, "a", &capped);
  tenant b = tenant_new(env, o, "b", &none);
  group10(b.tp, 'x');
  group10(b.tp, 'y');
  for (int i = 0; i < 10; i++) group10(a.tp, (char)('0' + i));
  moqc_account_stats sa = moqc_account_get_stats(a.acct);
  moqc_account_stats sb = moqc_account_get_stats(b.acct);
  assert_int_equal(sa.cache_bytes, 20);
  assert_int_equal(sa.evicted_cap, 8);
  assert_int_equal(sa.broadcasts, 1);
  assert_int_equal(sb.cache_bytes, 20);
  assert_int_equal(sb.evicted_cap + sb.evicted_budget, 0);
  assert_int_equal(moqc_env_cache_bytes(env), 40);
  assert_false(cached(a.tp, 0));
  assert_true(cached(a.tp, 8));
  assert_true(cached(a.tp, 9));
  assert_true(cached(b.tp, 0)); /* the other tenant's late-join groups survive */
  uint64_t by_budget = 1, by_account = 0;
  moqc_env_cache_evictions(env, &by_budget, &by_account);
  assert_int_equal(by_budget, 0);
  assert_int_equal(by_account, 8);
  /* a lower cap applies at once */
  moqc_account_limits lower = {.max_cache_bytes = 10};
  moqc_account_set_limits(a.acct, &lower);
  assert_int_equal(moqc_account_get_stats(a.acct).cache_bytes, 10);
  tenant_del(&a);
  tenant_del(&b);
  assert_int_equal(moqc_env_cache_bytes(env), 0);
  moqc_origin_unref(o);
  moqc_env_del(env);
}

/* With the default overheads a tenant's cap bounds a flood of tiny groups by
 * what they cost, not by their payload: a 10 KiB cap holds 9 groups of 10
 * bytes (10 + 864 + 128 each), not 1,024. */
static void test_account_cap_charges_overhead(void **state) {
  (void)state;
  moqc_env_config cfg = {1000, 0};
  moqc_env *env = moqc_env_new(&cfg); /* default overheads */
  assert_non_null(env);
  moqc_origin *o = moqc_origin_new(env, NULL);
  const size_t per = 10 + MOQC_CACHE_GROUP_OVERHEAD + MOQC_CACHE_FRAME_OVERHEAD;
  moqc_account_limits capped = {.max_cache_bytes = 10 * 1024};
  tenant a = tenant_new(env, o, "a", &capped);
  for (int i = 0; i < 100; i++) group10(a.tp, 'f');
  moqc_account_stats sa = moqc_account_get_stats(a.acct);
  assert_int_equal(sa.cache_bytes, (10 * 1024 / per) * per);
  assert_int_equal(sa.evicted_cap, 100 - 10 * 1024 / per);
  assert_int_equal(moqc_env_cache_bytes(env), sa.cache_bytes);
  assert_false(cached(a.tp, 100 - 10 * 1024 / per - 1));
  assert_true(cached(a.tp, 100 - 10 * 1024 / per));
  tenant_del(&a);
  assert_int_equal(moqc_env_cache_bytes(env), 0);
  moqc_origin_unref(o);
  moqc_env_del(env);
}

/* The global budget evicts from the biggest pool first: a flooding tenant
 * (no cap of its own) loses its groups, a small tenant and the unaccounted
 * pool keep theirs. */
static void test_budget_fair(void **state) {
  (void)state;
  moqc_env *env = tm_env(60);
  moqc_origin *o = moqc_origin_new(env, NULL);
  moqc_account_limits none = {0};
  tenant big = tenant_new(env, o, "big", &none);
  tenant small = tenant_new(env, o, "small", &none);
  moqc_track_producer *plain = moqc_track_producer_new(env, "plain", NULL);
  group10(small.tp, 's');
  group10(small.tp, 't');
  group10(plain, 'p');
  group10(plain, 'q');
  for (int i = 0; i < 20; i++) group10(big.tp, (char)('a' + i));
  assert_true(moqc_env_cache_bytes(env) <= 60);
  assert_true(cached(small.tp, 0));
  assert_true(cached(plain, 0));
  assert_true(cached(big.tp, 19));
  assert_false(cached(big.tp, 0));
  moqc_account_stats sb = moqc_account_get_stats(big.acct);
  assert_int_equal(sb.cache_bytes, 20);
  assert_int_equal(sb.evicted_budget, 18);
  assert_int_equal(moqc_account_get_stats(small.acct).evicted_budget, 0);
  uint64_t by_budget = 0;
  moqc_env_cache_evictions(env, &by_budget, NULL);
  assert_int_equal(by_budget, 18);
  moqc_track_producer_del(plain);
  tenant_del(&big);
  tenant_del(&small);
  moqc_origin_unref(o);
  moqc_env_del(env);
}

/* A relay's front track caches the source's groups by reference: charged
 * once, to the source's account, and evicted from both caches together. */
static void test_front_charged_once(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_origin *o = moqc_origin_new(env, NULL);
  moqc_account_limits capped = {.max_cache_bytes = 30};
  tenant a = tenant_new(env, o, "a", &capped);
  int err = 0;
  moqc_broadcast_consumer *front = moqc_origin_request(o, "a", &err);
  assert_non_null(front);
  moqc_track_consumer *sub = moqc_broadcast_consumer_subscribe(front, "t", NULL, &err);
  assert_non_null(sub);
  moqc_env_run(env);
  for (int i = 0; i < 8; i++) {
    group10(a.tp, (char)('0' + i));
    moqc_env_run(env); /* the forwarder moves it into the front's cache */
    moqc_group_consumer *g = NULL;
    while (moqc_track_consumer_recv_group(sub, &g) == MOQC_OK) moqc_group_consumer_del(g);
  }
  assert_int_equal(moqc_account_get_stats(a.acct).cache_bytes, moqc_env_cache_bytes(env));
  assert_true(moqc_env_cache_bytes(env) <= 30);
  moqc_track_consumer_del(sub);
  moqc_broadcast_consumer_del(front);
  tenant_del(&a);
  moqc_env_run(env);
  assert_int_equal(moqc_env_cache_bytes(env), 0);
  moqc_origin_unref(o);
  moqc_env_del(env);
}

/* max_broadcasts: a publish over it is MOQC_ERR_BOUNDS and counted; an
 * unpublish makes room. Views derived from a bound view keep the account. */
static void test_broadcast_cap(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_origin *o = moqc_origin_new(env, NULL);
  moqc_account_limits two = {.max_broadcasts = 2};
  moqc_account *acct = moqc_account_new(env, &two);
  moqc_origin *bound = moqc_origin_with_account(o, acct);
  moqc_origin *sub = moqc_origin_with_root(bound, "room");
  moqc_broadcast_producer *bp[3];
  moqc_broadcast_consumer *bc[3];
  const char *paths[3] = {"x", "y", "z"};
  for (int i = 0; i < 3; i++) {
    bp[i] = moqc_broadcast_producer_new(env);
    bc[i] = moqc_broadcast_producer_consume(bp[i]);
  }
  assert_int_equal(moqc_origin_publish(sub, paths[0], bc[0], NULL), MOQC_OK);
  assert_int_equal(moqc_origin_publish(sub, paths[1], bc[1], NULL), MOQC_OK);
  assert_int_equal(moqc_origin_publish(sub, paths[2], bc[2], NULL), MOQC_ERR_BOUNDS);
  /* the same broadcast again (a new route) is not a new one */
  assert_int_equal(moqc_origin_publish(sub, paths[0], bc[0], NULL), MOQC_OK);
  moqc_origin_publish(o, "free", bc[2], NULL); /* an unbound view is not counted */
  moqc_account_stats st = moqc_account_get_stats(acct);
  assert_int_equal(st.broadcasts, 2);
  assert_int_equal(st.refused_broadcasts, 1);
  assert_int_equal(moqc_origin_unpublish(sub, paths[1]), MOQC_OK);
  assert_int_equal(moqc_account_get_stats(acct).broadcasts, 1);
  assert_int_equal(moqc_origin_publish(sub, paths[2], bc[2], NULL), MOQC_OK);
  /* a source that ends leaves the count (the origin sees it at the next run) */
  moqc_broadcast_producer_finish(bp[0]);
  moqc_env_run(env);
  assert_int_equal(moqc_account_get_stats(acct).broadcasts, 1);
  for (int i = 0; i < 3; i++) {
    moqc_broadcast_consumer_del(bc[i]);
    moqc_broadcast_producer_del(bp[i]);
  }
  moqc_origin_unref(sub);
  moqc_origin_unref(bound);
  moqc_account_unref(acct); /* the sources still hold it until the origin goes */
  moqc_origin_unref(o);
  moqc_env_run(env);
  moqc_env_del(env);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_account_cap),   cmocka_unit_test(test_account_cap_charges_overhead),
      cmocka_unit_test(test_budget_fair),   cmocka_unit_test(test_front_charged_once),
      cmocka_unit_test(test_broadcast_cap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
