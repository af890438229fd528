/* moqc <-> moqc PUBLISH in the shape `moqc publish --push` -> moqc-relay
 * gives it (drafts 14-19): the relay's session has one origin as both its
 * publish and subscribe origin, and the client pushes its track as soon as
 * its session runs, before the relay heard the namespace (PUBLISH_NAMESPACE
 * on 14-16, a NAMESPACE entry answering the relay's SUBSCRIBE_NAMESPACE on
 * 17+, which may arrive after the PUBLISH), and writes its first groups at
 * once, so they follow the relay's PUBLISH_OK without a pause. The push is
 * accepted, both sessions stay up, and the relay's cache takes every group
 * with nobody subscribed to it there. Regressions: the namespace after the
 * PUBLISH closed the session (duplicate NAMESPACE / PUBLISH_NAMESPACE); the
 * push was bound to its alias only on the broadcast's waker, after group
 * streams that followed the OK at once were stopped (unknown track alias);
 * 17+, the PUBLISH was read again by the stream's new kind (unexpected
 * message on a SUBSCRIBE stream); the push's expiry window was 0 ms, so
 * every group but the newest, waiting in the cache for PUBLISH_OK, was
 * dropped as Old when it came. */
#include "test_session_common.h"

static int push_versions[6] = {14, 15, 16, 17, 18, 19};
#define PUSH_TEST(fn)                                   \
  cmocka_unit_test_prestate(fn, &push_versions[0]),     \
      cmocka_unit_test_prestate(fn, &push_versions[1]), \
      cmocka_unit_test_prestate(fn, &push_versions[2]), \
      cmocka_unit_test_prestate(fn, &push_versions[3]), \
      cmocka_unit_test_prestate(fn, &push_versions[4]), \
      cmocka_unit_test_prestate(fn, &push_versions[5])

static const char *const F3[] = {"a", "bb", "ccc"};

/* after_announce: the client pushes once the relay has its namespace
 * instead (what t_publish_issued in test_session_ietf_issue.c does, but
 * with the relay's one origin and no pause before the first group). */
static void push_run(int v, bool after_announce) {
  moqc_env *env = ts_env_new();
  moqc_origin_config oc = {0, 0};
  moqc_origin *relay = moqc_origin_new(env, &oc);
  assert_non_null(relay);
  ts_opts o;
  memset(&o, 0, sizeof o);
  o.srv_pub_shared = relay;
  o.srv_sub_shared = relay;
  o.have_link = true; /* 5 ms each way: the groups are 10 ms old at PUBLISH_OK */
  o.link = MEMLINK_CONFIG_DEFAULT;
  o.link.latency_ns = 5 * MS;
  ts_pair p;
  ts_pair_open_env(&p, env, v, &o);
  ts_pub pub;
  ts_publish(&pub, env, p.cli.pub, "room/a", "v", NULL);
  if (after_announce) assert_true(ts_wait_announce(env, relay, "room/a", 100 * MS));
  /* Push the moment the client session runs (what the CLI does). */
  int rc = MOQC_ERR_STATE;
  for (int i = 0; i < 200 && rc == MOQC_ERR_STATE; i++) {
    rc = moqc_session_publish_track(p.cli.s, "room/a", "v");
    if (rc == MOQC_ERR_STATE) ts_run_for(env, 1 * MS);
  }
  assert_int_equal(rc, MOQC_OK);
  for (int i = 0; i < 3; i++) ts_group(pub.tp, F3, 3, true);
  ts_run_for(env, 100 * MS);
  assert_false(p.srv.closed);
  assert_false(p.cli.closed);
  assert_int_equal(moqc_session_get_stats(p.cli.s).pushes_accepted, 1);
  assert_int_equal(moqc_session_get_stats(p.srv.s).groups_received, 3);
  assert_true(ts_wait_announce(env, relay, "room/a", 50 * MS));
  /* A subscriber on the relay from group 0 reads both from its cache. */
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  sub.start = 0;
  moqc_track_consumer *tc = ts_subscribe(relay, "room/a", "v", &sub, NULL);
  ts_run_for(env, 20 * MS);
  for (int i = 0; i < 3; i++) {
    moqc_group_consumer *g = NULL;
    assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_OK);
    assert_int_equal(moqc_group_consumer_frames_available(g), 3);
    moqc_group_consumer_del(g);
  }
  assert_int_equal(moqc_session_get_stats(p.srv.s).groups_received, 3);
  moqc_track_consumer_del(tc);
  assert_false(p.srv.closed);
  assert_false(p.cli.closed);
  ts_pub_del(&pub);
  ts_pair_close_env(&p);
  moqc_origin_unref(relay);
  ts_settle(env);
  moqc_env_del(env);
}

static void t_push_first(void **state) { push_run(*(int *)*state, false); }
static void t_push_after_announce(void **state) { push_run(*(int *)*state, true); }

int main(void) {
  (void)ts_versions;
  const struct CMUnitTest tests[] = {PUSH_TEST(t_push_first), PUSH_TEST(t_push_after_announce)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
