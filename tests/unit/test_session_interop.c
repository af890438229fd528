/* Session tests: track-end timing the moq-dev JS clients depend on
 * (found with tests/interop/test_interop_*.sh). Every test runs for lite-03,
 * lite-04 and lite-05 over the in-memory transport in virtual time.
 *
 *  - @moq/lite and @moq/net publishers FIN the subscribe stream as soon as
 *    their track closes, before they even open the streams of its last
 *    groups. On lite-03/04 (no final sequence on the wire) a subscriber must
 *    keep accepting groups for a grace period after that FIN.
 *  - @moq/net and @moq/lite subscribers stop reading a track's groups the
 *    moment its subscribe stream FINs; a publisher holds that FIN a little
 *    after the last group was acknowledged (SESS_PUB_FIN_LINGER_NS). */
#include "core/lite_wire.h"
#include "test_session_common.h"

static const char *const F1[] = {"first"};

/* A group stream (subscription 0, sequence seq) with one frame, as the
 * publisher would open it. */
static size_t group_bytes(uint8_t *p, int v, uint64_t seq, const char *payload) {
  size_t n = 0, len = strlen(payload);
  p[n++] = MOQC_LITE_UNI_GROUP;
  struct moqc_lite_group g = {0, seq};
  ssize_t r = moqc_lite_group_encode(p + n, 32, v, &g);
  assert_true(r > 0);
  n += (size_t)r;
  if (v == 5) p[n++] = 0; /* timestamp delta */
  assert_true(len < 64);
  p[n++] = (uint8_t)len; /* 1-byte varint size */
  memcpy(p + n, payload, len);
  return n + len;
}

/* lite-03/04: a group that arrives after the (clean) subscribe FIN is still
 * delivered while the grace runs; the track then ends cleanly; a group after
 * the grace is refused. */
static void t_groups_after_fin(void **state) {
  int v = ts_version(state);
  if (v == 5) skip(); /* lite-05 carries the final in SUBSCRIBE_END */
  ts_pair p;
  ts_pair_open(&p, v, NULL);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "b", "t", NULL);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "b", 100 * MS));
  moqc_track_consumer *tc = ts_subscribe(p.cli.sub, "b", "t", NULL, NULL);
  assert_true(ts_wait_serving(p.env, p.srv.s, 1, 1 * SEC));
  uint64_t s0 = ts_group(pub.tp, F1, 1, true);
  ts_run_for(p.env, 20 * MS);
  ts_expect_group(tc, s0, F1, 1);

  /* The publisher ends the track: its FIN leaves once group 0 is
   * acknowledged (next tick, <= 100 ms) plus the linger (200 ms). */
  assert_int_equal(moqc_track_producer_finish(pub.tp), MOQC_OK);
  ts_run_for(p.env, 350 * MS);
  moqc_group_consumer *gc = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &gc), MOQC_ERR_AGAIN);

  /* A group stream opened after that FIN (what the JS publishers do). */
  moqc_transport *cli_t = memlink_client(p.link);
  uint8_t buf[64];
  size_t n = group_bytes(buf, v, s0 + 1, "late");
  int64_t late;
  assert_int_equal(memlink_inject(p.link, cli_t, false, buf, n, true, &late), MOQC_OK);
  ts_run_for(p.env, 20 * MS);
  static const char *const LATE[] = {"late"};
  ts_expect_group(tc, s0 + 1, LATE, 1);
  memlink_inject_info info;
  assert_int_equal(memlink_inject_state(p.link, cli_t, late, &info), MOQC_OK);
  assert_false(info.stopped);

  /* The grace ends: a clean end (CLOSED, not DROPPED). */
  ts_run_for(p.env, 1 * SEC);
  assert_int_equal(moqc_track_consumer_recv_group(tc, &gc), MOQC_ERR_CLOSED);

  /* Too late now: refused. */
  n = group_bytes(buf, v, s0 + 2, "later");
  int64_t later; /* (no FIN: a finished stream cannot be stopped any more) */
  assert_int_equal(memlink_inject(p.link, cli_t, false, buf, n, false, &later), MOQC_OK);
  ts_run_for(p.env, 20 * MS);
  assert_int_equal(memlink_inject_state(p.link, cli_t, later, &info), MOQC_OK);
  assert_true(info.stopped);
  assert_int_equal(moqc_track_consumer_recv_group(tc, &gc), MOQC_ERR_CLOSED);

  assert_false(p.cli.closed);
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

/* The session ends while the grace runs: the track still ends cleanly (the
 * publisher did FIN), not DROPPED. */
static void t_close_during_grace(void **state) {
  int v = ts_version(state);
  if (v == 5) skip();
  ts_pair p;
  ts_pair_open(&p, v, NULL);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "b", "t", NULL);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "b", 100 * MS));
  moqc_track_consumer *tc = ts_subscribe(p.cli.sub, "b", "t", NULL, NULL);
  assert_true(ts_wait_serving(p.env, p.srv.s, 1, 1 * SEC));
  uint64_t s0 = ts_group(pub.tp, F1, 1, true);
  ts_run_for(p.env, 20 * MS);
  assert_int_equal(moqc_track_producer_finish(pub.tp), MOQC_OK);
  ts_run_for(p.env, 350 * MS); /* FIN received, grace running */
  memlink_disconnect(p.link, MOQC_CODE_TRANSPORT, "gone");
  ts_run_for(p.env, 20 * MS);
  ts_expect_group(tc, s0, F1, 1);
  moqc_group_consumer *gc = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &gc), MOQC_ERR_CLOSED);
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

/* Every version: the end of a track reaches the subscriber only after the
 * publisher's FIN linger -- and then for sure. */
static void t_fin_lingers(void **state) {
  ts_pair p;
  ts_pair_open(&p, ts_version(state), NULL);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "b", "t", NULL);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "b", 100 * MS));
  moqc_track_consumer *tc = ts_subscribe(p.cli.sub, "b", "t", NULL, NULL);
  assert_true(ts_wait_serving(p.env, p.srv.s, 1, 1 * SEC));
  uint64_t s0 = ts_group(pub.tp, F1, 1, true);
  assert_int_equal(moqc_track_producer_finish(pub.tp), MOQC_OK);
  ts_run_for(p.env, 150 * MS);
  ts_expect_group(tc, s0, F1, 1);
  moqc_group_consumer *gc = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &gc), MOQC_ERR_AGAIN);
  ts_run_for(p.env, 1 * SEC);
  assert_int_equal(moqc_track_consumer_recv_group(tc, &gc), MOQC_ERR_CLOSED);
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      TS_TEST3(t_groups_after_fin),
      TS_TEST3(t_close_during_grace),
      TS_TEST3(t_fin_lingers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
