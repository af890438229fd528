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
 *    after the last group was acknowledged (SESS_PUB_FIN_LINGER_NS).
 *  - @moq/net publishers send STOP_SENDING on a SUBSCRIBE stream as soon as
 *    they have read the request (QMux delivers that at once; ngtcp2 0.12 only
 *    when the stream closes): the subscription must go on.
 *  - lite-05 over QMux: @moq/net writes SUBSCRIBE_START/END and the FIN of
 *    the subscribe stream before the data of the groups (nothing waits for
 *    acknowledgements there): groups between START and END that are still
 *    missing at the FIN are waited for. */
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
  moqc_track_consumer *tc = ts_publish_subscribe(&p, &pub, "b", "t");
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
  moqc_track_consumer *tc = ts_publish_subscribe(&p, &pub, "b", "t");
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
  moqc_track_consumer *tc = ts_publish_subscribe(&p, &pub, "b", "t");
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

/* ---- a publisher that stops reading the SUBSCRIBE stream ---------------------------- */

/* The server's handler is wrapped: the first byte of each client bidi stream
 * tells which one is the SUBSCRIBE, and the RESET_STREAM the client's
 * transport answers our STOP_SENDING with is hidden from the server session
 * (as a JS publisher, which no longer reads that half, ignores it). */
typedef struct stop_shim {
  moqc_transport_handler h;
  const moqc_transport_handler *orig;
  void *orig_ctx;
  int64_t sub_id; /* the client's SUBSCRIBE stream, -1 until seen */
} stop_shim;

static stop_shim g_shim;

static void shim_data(void *ctx, int64_t id, const uint8_t *p, size_t len, bool fin) {
  (void)ctx;
  if (g_shim.sub_id < 0 && !MOQC_STREAM_IS_UNI(id) && len > 0 && p[0] == MOQC_LITE_BIDI_SUBSCRIBE)
    g_shim.sub_id = id;
  g_shim.orig->stream_data(g_shim.orig_ctx, id, p, len, fin);
}

static void shim_reset(void *ctx, int64_t id, uint64_t code) {
  (void)ctx;
  if (id == g_shim.sub_id) return;
  g_shim.orig->stream_reset(g_shim.orig_ctx, id, code);
}

static void t_publisher_stops_request(void **state) {
  int v = ts_version(state);
  ts_pair p;
  ts_pair_open(&p, v, NULL);
  moqc_transport *srv_t = memlink_server(p.link);
  g_shim.orig = srv_t->handler;
  g_shim.orig_ctx = srv_t->handler_ctx;
  g_shim.h = *srv_t->handler;
  g_shim.h.stream_data = shim_data;
  g_shim.h.stream_reset = shim_reset;
  g_shim.sub_id = -1;
  moqc_transport_set_handler(srv_t, &g_shim.h, g_shim.orig_ctx);

  ts_pub pub;
  moqc_track_consumer *tc = ts_publish_subscribe(&p, &pub, "b", "t");
  assert_true(g_shim.sub_id >= 0);
  uint64_t s0 = ts_group(pub.tp, F1, 1, true);
  ts_run_for(p.env, 20 * MS);
  ts_expect_group(tc, s0, F1, 1);

  /* The publisher stops reading the request; the subscriber's transport
   * resets its send half and tells the session. */
  assert_int_equal(srv_t->ops->stop_sending(srv_t, g_shim.sub_id, 0), MOQC_OK);
  ts_run_for(p.env, 20 * MS);
  static const char *const F2[] = {"second", "more"};
  uint64_t s1 = ts_group(pub.tp, F2, 2, true);
  ts_run_for(p.env, 20 * MS);
  ts_expect_group(tc, s1, F2, 2);

  /* The track still ends cleanly, by the publisher's FIN. */
  assert_int_equal(moqc_track_producer_finish(pub.tp), MOQC_OK);
  ts_run_for(p.env, 2 * SEC);
  moqc_group_consumer *gc = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &gc), MOQC_ERR_CLOSED);
  assert_false(p.cli.closed);
  assert_false(p.srv.closed);
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  moqc_transport_set_handler(srv_t, g_shim.orig, g_shim.orig_ctx);
  ts_pair_close(&p);
}

/* Raw writes by the server's transport on behalf of a hand-played publisher. */
static void raw_write(moqc_transport *t, int64_t id, const uint8_t *p, size_t n, bool fin) {
  moqc_buf *b = moqc_buf_copy(p, n);
  assert_non_null(b);
  moqc_slice sl;
  assert_int_equal(moqc_slice_make(&sl, b, 0, n), MOQC_OK);
  moqc_buf_unref(b);
  assert_int_equal(t->ops->write(t, id, &sl, 1, fin), MOQC_OK);
  moqc_slice_release(&sl);
}

static void shim_data_swallow(void *ctx, int64_t id, const uint8_t *p, size_t len, bool fin) {
  (void)ctx;
  if (g_shim.sub_id < 0 && !MOQC_STREAM_IS_UNI(id) && len > 0 && p[0] == MOQC_LITE_BIDI_SUBSCRIBE)
    g_shim.sub_id = id;
  if (id == g_shim.sub_id) return; /* the test answers this SUBSCRIBE itself */
  g_shim.orig->stream_data(g_shim.orig_ctx, id, p, len, fin);
}

/* lite-05: group 0 arrives after END{2} and the FIN (group 1 before them):
 * it still reaches the subscriber, then the track ends. */
static void t_lite05_groups_after_end(void **state) {
  int v = ts_version(state);
  if (v != 5) skip();
  ts_pair p;
  ts_pair_open(&p, v, NULL);
  moqc_transport *srv_t = memlink_server(p.link);
  g_shim.orig = srv_t->handler;
  g_shim.orig_ctx = srv_t->handler_ctx;
  g_shim.h = *srv_t->handler;
  g_shim.h.stream_data = shim_data_swallow;
  g_shim.sub_id = -1;
  moqc_transport_set_handler(srv_t, &g_shim.h, g_shim.orig_ctx);

  ts_pub pub; /* answers the TRACK request; the SUBSCRIBE is ours */
  ts_publish(&pub, p.env, p.srv.pub, "b", "t", NULL);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "b", 100 * MS));
  moqc_track_consumer *tc = ts_subscribe(p.cli.sub, "b", "t", NULL, NULL);
  for (int i = 0; i < 100 && g_shim.sub_id < 0; i++) ts_run_for(p.env, 1 * MS);
  assert_true(g_shim.sub_id >= 0);

  /* START{0}, then group 1 (newest first), then END{2} and the FIN, and
   * only then group 0. */
  uint8_t buf[64];
  struct moqc_lite_subscribe_resp r = {.kind = MOQC_LITE_SUBSCRIBE_START};
  r.u.group = 0;
  ssize_t k = moqc_lite_subscribe_resp_encode(buf, sizeof buf, v, &r);
  assert_true(k > 0);
  raw_write(srv_t, g_shim.sub_id, buf, (size_t)k, false);
  static const char *const G1[] = {"one"}, *const G0[] = {"zero"};
  int64_t id;
  assert_int_equal(srv_t->ops->open_stream(srv_t, false, &id), MOQC_OK);
  size_t n = group_bytes(buf, v, 1, "one");
  raw_write(srv_t, id, buf, n, true);
  ts_run_for(p.env, 20 * MS);
  ts_expect_group(tc, 1, G1, 1);

  r.kind = MOQC_LITE_SUBSCRIBE_END;
  r.u.group = 2;
  k = moqc_lite_subscribe_resp_encode(buf, sizeof buf, v, &r);
  assert_true(k > 0);
  raw_write(srv_t, g_shim.sub_id, buf, (size_t)k, true);
  ts_run_for(p.env, 50 * MS);
  moqc_group_consumer *gc = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &gc), MOQC_ERR_AGAIN); /* group 0 is due */

  assert_int_equal(srv_t->ops->open_stream(srv_t, false, &id), MOQC_OK);
  n = group_bytes(buf, v, 0, "zero");
  raw_write(srv_t, id, buf, n, true);
  ts_run_for(p.env, 20 * MS); /* the last announced group: no grace to wait for */
  ts_expect_group(tc, 0, G0, 1);
  assert_int_equal(moqc_track_consumer_recv_group(tc, &gc), MOQC_ERR_CLOSED);
  assert_false(p.cli.closed);
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  moqc_transport_set_handler(srv_t, g_shim.orig, g_shim.orig_ctx);
  ts_pair_close(&p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      TS_TEST3(t_groups_after_fin),
      TS_TEST3(t_close_during_grace),
      TS_TEST3(t_fin_lingers),
      TS_TEST3(t_publisher_stops_request),
      TS_TEST3(t_lite05_groups_after_end),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
