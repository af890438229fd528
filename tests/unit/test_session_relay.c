/* Session tests: a relay. A publisher and a subscriber connect to a server
 * that uses ONE origin for both directions; tracks are subscribed upstream on
 * demand through it. Every test runs for lite-03, lite-04 and lite-05. */
#include "test_session_common.h"

static const char *const F2[] = {"relayed", "twice"};

typedef struct relay {
  moqc_env *env;
  moqc_origin *r;
  ts_pair pub, sub; /* pub: a publishing client; sub: a subscribing client */
} relay;

static void relay_open(relay *rl, int v, uint64_t linger_ns) {
  rl->env = ts_env_new();
  moqc_origin_config oc = {0, linger_ns};
  rl->r = moqc_origin_new(rl->env, &oc);
  ts_opts o;
  memset(&o, 0, sizeof o);
  o.srv_pub_shared = rl->r;
  o.srv_sub_shared = rl->r;
  ts_pair_open_env(&rl->pub, rl->env, v, &o);
  ts_pair_open_env(&rl->sub, rl->env, v, &o);
}

static void relay_close(relay *rl) {
  ts_pair_close_env(&rl->pub);
  ts_pair_close_env(&rl->sub);
  moqc_origin_unref(rl->r);
  ts_settle(rl->env);
  moqc_env_del(rl->env);
}

static void t_relay_end_to_end(void **state) {
  relay rl;
  relay_open(&rl, ts_version(state), 0);
  ts_pub pub;
  ts_publish(&pub, rl.env, rl.pub.cli.pub, "room", "v", NULL);
  assert_true(ts_wait_announce(rl.env, rl.sub.cli.sub, "room", 200 * MS));
  /* The publisher does not get its own broadcast back. */
  assert_false(ts_wait_announce(rl.env, rl.pub.cli.sub, "room", 20 * MS));
  moqc_track_consumer *tc = ts_subscribe(rl.sub.cli.sub, "room", "v", NULL, NULL);
  ts_run_for(rl.env, 50 * MS);
  assert_int_equal(moqc_session_get_stats(rl.pub.cli.s).serving, 1);
  uint64_t s0 = ts_group(pub.tp, F2, 2, true);
  ts_run_for(rl.env, 50 * MS);
  ts_expect_group(tc, s0, F2, 2);
  uint64_t s1 = ts_group(pub.tp, F2 + 1, 1, true);
  ts_run_for(rl.env, 50 * MS);
  ts_expect_group(tc, s1, F2 + 1, 1);

  /* The subscriber leaves: the relay's upstream subscription goes too. */
  moqc_track_consumer_del(tc);
  ts_run_for(rl.env, 50 * MS);
  assert_int_equal(moqc_session_get_stats(rl.pub.cli.s).serving, 0);
  assert_int_equal(moqc_session_get_stats(rl.pub.srv.s).remote_tracks, 0);

  /* Again, then a clean finish end to end. */
  tc = ts_subscribe(rl.sub.cli.sub, "room", "v", NULL, NULL);
  ts_run_for(rl.env, 50 * MS);
  uint64_t s2 = ts_group(pub.tp, F2, 1, true);
  ts_run_for(rl.env, 50 * MS);
  moqc_group_consumer *g = NULL;
  while (moqc_track_consumer_recv_group(tc, &g) == MOQC_OK) {
    uint64_t seq = moqc_group_consumer_sequence(g);
    moqc_group_consumer_del(g);
    if (seq == s2) break;
  }
  assert_int_equal(moqc_track_producer_finish(pub.tp), MOQC_OK);
  assert_int_equal(moqc_broadcast_producer_finish(pub.bp), MOQC_OK);
  /* lite-03/04: each hop's end is a FIN held SESS_PUB_FIN_LINGER_NS by the
   * publisher and answered after SESS_SUB_FIN_GRACE_NS by the subscriber. */
  ts_run_for(rl.env, 2 * SEC);
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_CLOSED);
  assert_false(ts_wait_announce(rl.env, rl.sub.cli.sub, "room", 10 * MS));
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  relay_close(&rl);
}

/* lite-05 FETCH through a relay: a subscriber keeps the track live (so the
 * relay caches its groups); a second client's FETCH of an older group is
 * served from the relay's cache, byte for byte, and a group that is not
 * cached is refused with NotFound. */
static void t_relay_fetch(void **state) {
  int v = ts_version(state);
  if (v < 5) { /* FETCH exists on lite-05 only (moqc_session_fetch says so) */
    skip();
  }
  relay rl;
  relay_open(&rl, v, 0);
  ts_pub pub;
  ts_publish(&pub, rl.env, rl.pub.cli.pub, "room", "v", NULL);
  assert_true(ts_wait_announce(rl.env, rl.sub.cli.sub, "room", 200 * MS));
  moqc_track_consumer *tc = ts_subscribe(rl.sub.cli.sub, "room", "v", NULL, NULL);
  ts_run_for(rl.env, 50 * MS);
  uint64_t s0 = ts_group(pub.tp, F2, 2, true);
  uint64_t s1 = ts_group(pub.tp, F2 + 1, 1, true);
  ts_run_for(rl.env, 50 * MS);
  /* Both groups reached the live subscriber (in arrival order, whichever). */
  size_t got = 0;
  moqc_group_consumer *lg = NULL;
  while (moqc_track_consumer_recv_group(tc, &lg) == MOQC_OK) {
    uint64_t seq = moqc_group_consumer_sequence(lg);
    assert_true(seq == s0 || seq == s1);
    got++;
    moqc_group_consumer_del(lg);
  }
  assert_int_equal(got, 2);

  /* The subscribing client FETCHes the older group: the relay serves it from
   * its cache. */
  int err = 0;
  moqc_group_consumer *g = moqc_session_fetch(rl.sub.cli.s, "room", "v", s0, 0, &err);
  assert_non_null(g);
  ts_run_for(rl.env, 50 * MS);
  assert_int_equal(moqc_group_consumer_sequence(g), s0);
  for (size_t i = 0; i < 2; i++) {
    moqc_frame f;
    assert_int_equal(moqc_group_consumer_read_frame(g, &f), MOQC_OK);
    assert_int_equal(f.payload.len, strlen(F2[i]));
    assert_memory_equal(moqc_slice_ptr(&f.payload), F2[i], f.payload.len);
    moqc_slice_release(&f.payload);
  }
  moqc_frame f;
  assert_int_equal(moqc_group_consumer_read_frame(g, &f), MOQC_ERR_CLOSED);
  moqc_group_consumer_del(g);

  g = moqc_session_fetch(rl.sub.cli.s, "room", "v", 999, 0, &err);
  assert_non_null(g);
  ts_run_for(rl.env, 300 * MS);
  assert_int_equal(moqc_group_consumer_read_frame(g, &f), MOQC_ERR_NOT_FOUND);
  moqc_group_consumer_del(g);

  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  relay_close(&rl);
}

/* lite-05 TRACK through a relay: a client's TRACK_INFO reports the
 * publisher's real info (non-default timescale, priority, latency) even
 * though the relay only learns it from upstream, and a TRACK alone never
 * shows up as a subscriber at the publisher. */
static void on_demand_change(void *arg) {
  ts_pub *pub = arg;
  moqc_track_demand d = moqc_track_producer_demand(pub->tp);
  if (d.consumers > 0) pub->tp_saw_consumer = true;
}

static void t_relay_track_info(void **state) {
  int v = ts_version(state);
  if (v < 5) { /* TRACK exists on lite-05 only */
    skip();
  }
  relay rl;
  relay_open(&rl, v, 0);
  ts_pub pub;
  moqc_track_info info = {7, true, 1234, 90000};
  ts_publish(&pub, rl.env, rl.pub.cli.pub, "room", "v", &info);
  pub.tp_saw_consumer = false;
  moqc_track_producer_set_waker(pub.tp, on_demand_change, &pub);
  assert_true(ts_wait_announce(rl.env, rl.sub.cli.sub, "room", 200 * MS));
  int err = 0;
  moqc_broadcast_consumer *bc = moqc_origin_request(rl.sub.cli.sub, "room", &err);
  assert_non_null(bc);
  moqc_track_info_query *q = moqc_broadcast_consumer_query_info(bc, "v", &err);
  assert_non_null(q);
  ts_run_for(rl.env, 100 * MS);
  moqc_track_info got;
  assert_int_equal(moqc_track_info_query_get(q, &got), MOQC_OK);
  assert_int_equal(got.timescale, 90000);
  assert_int_equal(got.priority, 7);
  assert_true(got.ordered);
  assert_int_equal(got.latency_max_ms, 1234);
  assert_int_equal(moqc_track_producer_demand(pub.tp).consumers, 0);
  assert_false(pub.tp_saw_consumer);
  assert_int_equal(moqc_session_get_stats(rl.pub.cli.s).serving, 0);
  moqc_track_info_query_del(q);
  moqc_broadcast_consumer_del(bc);
  ts_run_for(rl.env, 50 * MS);
  assert_false(pub.tp_saw_consumer);
  moqc_track_producer_set_waker(pub.tp, NULL, NULL);
  ts_pub_del(&pub);
  relay_close(&rl);
}

/* A datagram through a relay (lite-05): it reaches the relay as a DATAGRAM
 * and is forwarded as one (the received group stays flagged); other versions
 * carry it on group streams. Either way the subscriber gets the frame. */
static void t_relay_datagram(void **state) {
  int v = ts_version(state);
  relay rl;
  relay_open(&rl, v, 0);
  ts_pub pub;
  ts_publish(&pub, rl.env, rl.pub.cli.pub, "room", "v", NULL);
  assert_true(ts_wait_announce(rl.env, rl.sub.cli.sub, "room", 200 * MS));
  moqc_track_consumer *tc = ts_subscribe(rl.sub.cli.sub, "room", "v", NULL, NULL);
  ts_run_for(rl.env, 50 * MS);
  uint64_t opened0 = moqc_session_get_stats(rl.sub.srv.s).streams_opened;
  moqc_buf *b = moqc_buf_copy("ping", 4);
  assert_non_null(b);
  moqc_slice sl;
  assert_int_equal(moqc_slice_make(&sl, b, 0, 4), MOQC_OK);
  moqc_buf_unref(b);
  assert_int_equal(moqc_track_producer_write_datagram(pub.tp, &sl, 4321), MOQC_OK);
  moqc_slice_release(&sl);
  ts_run_for(rl.env, 50 * MS);
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_OK);
  moqc_frame f;
  assert_int_equal(moqc_group_consumer_read_frame(g, &f), MOQC_OK);
  assert_int_equal(f.payload.len, 4);
  assert_memory_equal(moqc_slice_ptr(&f.payload), "ping", 4);
  if (v == 5) assert_int_equal(f.info.timestamp, 4321);
  moqc_slice_release(&f.payload);
  moqc_group_consumer_del(g);
  uint64_t dg = v == 5 ? 1 : 0;
  assert_int_equal(moqc_session_get_stats(rl.pub.cli.s).datagrams_sent, dg);
  assert_int_equal(moqc_session_get_stats(rl.sub.srv.s).datagrams_sent, dg);
  assert_int_equal(moqc_session_get_stats(rl.sub.cli.s).datagrams_received, dg);
  assert_int_equal(moqc_session_get_stats(rl.sub.srv.s).streams_opened, opened0 + (v == 5 ? 0 : 1));
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  relay_close(&rl);
}

/* The publisher's connection dies: downstream sees DROPPED, not CLOSED. */
static void t_relay_publisher_drop(void **state) {
  relay rl;
  relay_open(&rl, ts_version(state), 0);
  ts_pub pub;
  ts_publish(&pub, rl.env, rl.pub.cli.pub, "room", "v", NULL);
  assert_true(ts_wait_announce(rl.env, rl.sub.cli.sub, "room", 200 * MS));
  moqc_track_consumer *tc = ts_subscribe(rl.sub.cli.sub, "room", "v", NULL, NULL);
  ts_run_for(rl.env, 50 * MS);
  uint64_t s0 = ts_group(pub.tp, F2, 2, true);
  ts_run_for(rl.env, 50 * MS);
  ts_expect_group(tc, s0, F2, 2);
  memlink_disconnect(rl.pub.link, MOQC_CODE_TRANSPORT, "cable cut");
  ts_run_for(rl.env, 500 * MS); /* the relay's Dropped, held 250 ms for a re-announce */
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_DROPPED);
  assert_false(rl.sub.cli.closed); /* the subscriber's own session is fine */
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  relay_close(&rl);
}

/* A new publisher replaces a live broadcast at the relay (a publisher restarted
 * before the relay noticed the old one was gone): the subscriber's track is
 * not finished cleanly -- the relay ends it as moq-relay does, Dropped -- and
 * the broadcast is announced again, where a new subscription reaches the new
 * publisher. Finishing it later is a clean end. */
static void t_relay_replaced(void **state) {
  relay rl;
  relay_open(&rl, ts_version(state), 0);
  ts_pub a, b;
  ts_publish(&a, rl.env, rl.pub.cli.pub, "room", "v", NULL);
  assert_true(ts_wait_announce(rl.env, rl.sub.cli.sub, "room", 200 * MS));
  moqc_track_consumer *tc = ts_subscribe(rl.sub.cli.sub, "room", "v", NULL, NULL);
  ts_run_for(rl.env, 50 * MS);
  uint64_t s0 = ts_group(a.tp, F2, 2, true);
  ts_run_for(rl.env, 50 * MS);
  ts_expect_group(tc, s0, F2, 2);
  moqc_origin_consumer *oc = moqc_origin_consume(rl.sub.cli.sub, "");
  moqc_announce an;
  assert_int_equal(moqc_origin_consumer_next(oc, &an), MOQC_OK); /* room, active */
  ts_publish(&b, rl.env, rl.r, "room", "v", NULL); /* another publisher takes the path */
  ts_run_for(rl.env, 100 * MS);
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_DROPPED);
  assert_int_equal(moqc_track_consumer_code(tc), MOQC_CODE_DROPPED);
  assert_int_equal(moqc_track_consumer_end_reason(tc), MOQC_END_REPLACED);
  assert_false(rl.sub.cli.closed);
  moqc_track_consumer_del(tc);
  /* ended, then active again */
  assert_int_equal(moqc_origin_consumer_next(oc, &an), MOQC_OK);
  assert_false(an.active);
  assert_int_equal(moqc_origin_consumer_next(oc, &an), MOQC_OK);
  assert_true(an.active);
  assert_string_equal(an.path, "room");
  tc = ts_subscribe(rl.sub.cli.sub, "room", "v", NULL, NULL);
  ts_run_for(rl.env, 50 * MS);
  uint64_t s1 = ts_group(b.tp, F2 + 1, 1, true);
  ts_run_for(rl.env, 50 * MS);
  ts_expect_group(tc, s1, F2 + 1, 1);
  assert_int_equal(moqc_track_producer_finish(b.tp), MOQC_OK);
  assert_int_equal(moqc_broadcast_producer_finish(b.bp), MOQC_OK);
  ts_run_for(rl.env, 2 * SEC);
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_CLOSED);
  assert_int_equal(moqc_track_consumer_end_reason(tc), MOQC_END_FINISHED);
  moqc_track_consumer_del(tc);
  moqc_origin_consumer_del(oc);
  ts_pub_del(&a);
  ts_pub_del(&b);
  relay_close(&rl);
}

/* The relay's reset (Dropped) reaches the subscriber BEFORE the broadcast's
 * re-announce (they travel on different streams): the subscriber's track still
 * ends REPLACED, not ABORTED, because the session holds a Dropped abort a
 * moment for the re-announce. A Dropped that no re-announce follows aborts
 * after the hold. */
static void t_relay_reset_before_reannounce(void **state) {
  relay rl;
  relay_open(&rl, ts_version(state), 0);
  ts_pub a, b;
  ts_publish(&a, rl.env, rl.pub.cli.pub, "room", "v", NULL);
  assert_true(ts_wait_announce(rl.env, rl.sub.cli.sub, "room", 200 * MS));
  moqc_track_consumer *tc = ts_subscribe(rl.sub.cli.sub, "room", "v", NULL, NULL);
  ts_run_for(rl.env, 50 * MS);
  uint64_t s0 = ts_group(a.tp, F2, 2, true);
  ts_run_for(rl.env, 50 * MS);
  ts_expect_group(tc, s0, F2, 2);
  /* Dropped upstream: the relay resets the subscription, the broadcast stays. */
  moqc_track_producer_abort(a.tp, MOQC_CODE_DROPPED);
  ts_run_for(rl.env, 20 * MS);
  ts_publish(&b, rl.env, rl.r, "room", "v", NULL); /* then the replacement */
  ts_run_for(rl.env, 100 * MS);
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_DROPPED);
  assert_int_equal(moqc_track_consumer_end_reason(tc), MOQC_END_REPLACED);
  moqc_track_consumer_del(tc);
  /* A Dropped without a re-announce: aborted once the hold is over. */
  assert_true(ts_wait_announce(rl.env, rl.sub.cli.sub, "room", 200 * MS));
  tc = ts_subscribe(rl.sub.cli.sub, "room", "v", NULL, NULL);
  ts_run_for(rl.env, 50 * MS);
  uint64_t s1 = ts_group(b.tp, F2 + 1, 1, true);
  ts_run_for(rl.env, 50 * MS);
  ts_expect_group(tc, s1, F2 + 1, 1);
  moqc_track_producer_abort(b.tp, MOQC_CODE_DROPPED);
  ts_run_for(rl.env, 100 * MS);
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_AGAIN); /* held */
  ts_run_for(rl.env, 400 * MS);
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_DROPPED);
  assert_int_equal(moqc_track_consumer_end_reason(tc), MOQC_END_ABORTED);
  assert_int_equal(moqc_track_consumer_code(tc), MOQC_CODE_DROPPED);
  assert_false(rl.sub.cli.closed);
  moqc_track_consumer_del(tc);
  ts_pub_del(&a);
  ts_pub_del(&b);
  relay_close(&rl);
}

/* Through the relay, an early subscriber gets everything; a late joiner at the
 * latest group follows live; a late joiner asking for group 0 gets the relay's
 * cached groups first. */
static void t_relay_late_join(void **state) {
  relay rl;
  relay_open(&rl, ts_version(state), 0);
  ts_pub pub;
  ts_publish(&pub, rl.env, rl.pub.cli.pub, "live", "t", NULL);
  assert_true(ts_wait_announce(rl.env, rl.sub.cli.sub, "live", 200 * MS));
  moqc_subscription from0 = MOQC_SUBSCRIPTION_DEFAULT;
  from0.start = 0;
  moqc_track_consumer *early = ts_subscribe(rl.sub.cli.sub, "live", "t", &from0, NULL);
  ts_run_for(rl.env, 50 * MS);
  for (int i = 0; i < 30; i++) {
    ts_group(pub.tp, (const char *const[]){"tick"}, 1, true);
    ts_run_for(rl.env, 50 * MS);
  }
  /* A second subscriber session joins late. */
  ts_opts o;
  memset(&o, 0, sizeof o);
  o.srv_pub_shared = rl.r;
  o.srv_sub_shared = rl.r;
  ts_pair late;
  ts_pair_open_env(&late, rl.env, ts_version(state), &o);
  assert_true(ts_wait_announce(rl.env, late.cli.sub, "live", 200 * MS));
  moqc_track_consumer *l0 = ts_subscribe(late.cli.sub, "live", "t", &from0, NULL);
  moqc_track_consumer *ll = ts_subscribe(late.cli.sub, "live", "t", NULL, NULL);
  ts_run_for(rl.env, 200 * MS);
  for (int i = 30; i < 40; i++) {
    ts_group(pub.tp, (const char *const[]){"tick"}, 1, true);
    ts_run_for(rl.env, 50 * MS);
  }
  ts_run_for(rl.env, 200 * MS);
  bool seen_e[40] = {0}, seen_0[40] = {0};
  moqc_group_consumer *g;
  while (moqc_track_consumer_recv_group(early, &g) == MOQC_OK) {
    uint64_t q = moqc_group_consumer_sequence(g);
    if (q < 40) seen_e[q] = true;
    moqc_group_consumer_del(g);
  }
  while (moqc_track_consumer_recv_group(l0, &g) == MOQC_OK) {
    uint64_t q = moqc_group_consumer_sequence(g);
    if (q < 40) seen_0[q] = true;
    moqc_group_consumer_del(g);
  }
  int ne = 0, n0 = 0;
  for (int i = 0; i < 40; i++) {
    ne += seen_e[i];
    n0 += seen_0[i];
  }
  assert_int_equal(ne, 40);
  assert_int_equal(n0, 40);
  /* The live late joiner starts at (or after) the join point. */
  assert_int_equal(moqc_track_consumer_recv_group(ll, &g), MOQC_OK);
  assert_true(moqc_group_consumer_sequence(g) >= 29);
  moqc_group_consumer_del(g);
  moqc_track_consumer_del(early);
  moqc_track_consumer_del(l0);
  moqc_track_consumer_del(ll);
  ts_pair_close_env(&late);
  ts_pub_del(&pub);
  relay_close(&rl);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      TS_TEST3(t_relay_end_to_end), TS_TEST3(t_relay_publisher_drop),
      TS_TEST3(t_relay_late_join),  TS_TEST3(t_relay_fetch),
      TS_TEST3(t_relay_track_info), TS_TEST3(t_relay_datagram),
      TS_TEST3(t_relay_replaced),   TS_TEST3(t_relay_reset_before_reannounce),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
