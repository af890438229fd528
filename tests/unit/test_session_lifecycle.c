/* Session tests: unsubscribe, publisher abort, publisher disconnect (DROPPED)
 * versus clean finish (CLOSED), close codes, reject, SETUP request details.
 * Every test runs for lite-03, lite-04 and lite-05. */
#include "test_session_common.h"

static const char *const F2[] = {"one", "two"};

/* The subscriber unsubscribes in the middle of a group: the publisher resets
 * the group stream and drops the subscription; nothing leaks. */
static void t_unsubscribe_mid_group(void **state) {
  ts_pair p;
  ts_pair_open(&p, ts_version(state), NULL);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "b", "t", NULL);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "b", 100 * MS));
  moqc_track_consumer *tc = ts_subscribe(p.cli.sub, "b", "t", NULL, NULL);
  ts_run_for(p.env, 20 * MS);

  moqc_group_producer *g = moqc_track_producer_append_group(pub.tp);
  assert_int_equal(moqc_group_producer_write_frame_copy(g, "first", 5, 0), MOQC_OK);
  ts_run_for(p.env, 20 * MS);
  moqc_group_consumer *gc = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &gc), MOQC_OK);
  moqc_frame f;
  assert_int_equal(moqc_group_consumer_read_frame(gc, &f), MOQC_OK);
  assert_memory_equal(moqc_slice_ptr(&f.payload), "first", 5);
  moqc_slice_release(&f.payload);
  assert_int_equal(moqc_session_get_stats(p.srv.s).serving, 1);
  assert_int_equal(moqc_session_get_stats(p.srv.s).groups_in_flight, 1);

  /* Unsubscribe mid-group. */
  moqc_group_consumer_del(gc);
  moqc_track_consumer_del(tc);
  ts_run_for(p.env, 20 * MS);
  moqc_session_stats st = moqc_session_get_stats(p.srv.s);
  assert_int_equal(st.serving, 0);
  assert_int_equal(st.groups_in_flight, 0);
  assert_int_equal(st.groups_sent, 0);
  assert_int_equal(moqc_session_get_stats(p.cli.s).remote_tracks, 0);

  /* The publisher keeps writing: nothing goes anywhere, nothing breaks. */
  assert_int_equal(moqc_group_producer_write_frame_copy(g, "second", 6, 0), MOQC_OK);
  assert_int_equal(moqc_group_producer_finish(g), MOQC_OK);
  moqc_group_producer_del(g);
  ts_run_for(p.env, 20 * MS);
  /* Streams of the subscription are gone on both sides (announce + probe-free). */
  assert_true(moqc_session_get_stats(p.srv.s).streams_live <= 2);
  assert_true(moqc_session_get_stats(p.cli.s).streams_live <= 2);

  /* Subscribing again works. */
  tc = ts_subscribe(p.cli.sub, "b", "t", NULL, NULL);
  ts_run_for(p.env, 20 * MS);
  uint64_t s1 = ts_group(pub.tp, F2, 2, true);
  ts_run_for(p.env, 20 * MS);
  moqc_group_consumer *first = NULL;
  /* The cached latest (group 0) comes first, then the new one. */
  assert_int_equal(moqc_track_consumer_recv_group(tc, &first), MOQC_OK);
  assert_int_equal(moqc_group_consumer_sequence(first), 0);
  moqc_group_consumer_del(first);
  ts_expect_group(tc, s1, F2, 2);
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

/* The publisher aborts a group and then the track with an application code. */
static void t_publisher_abort(void **state) {
  ts_pair p;
  ts_pair_open(&p, ts_version(state), NULL);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "b", "t", NULL);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "b", 100 * MS));
  moqc_track_consumer *tc = ts_subscribe(p.cli.sub, "b", "t", NULL, NULL);
  ts_run_for(p.env, 20 * MS);

  moqc_group_producer *g = moqc_track_producer_append_group(pub.tp);
  assert_int_equal(moqc_group_producer_write_frame_copy(g, "x", 1, 0), MOQC_OK);
  ts_run_for(p.env, 20 * MS);
  moqc_group_consumer *gc = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &gc), MOQC_OK);
  moqc_frame f;
  assert_int_equal(moqc_group_consumer_read_frame(gc, &f), MOQC_OK);
  moqc_slice_release(&f.payload);
  assert_int_equal(moqc_group_consumer_read_frame(gc, &f), MOQC_ERR_AGAIN);
  /* The group stream is reset with the publisher's code. */
  moqc_group_producer_abort(g, MOQC_CODE_APP_BASE + 3);
  moqc_group_producer_del(g);
  ts_run_for(p.env, 20 * MS);
  int rc = moqc_group_consumer_read_frame(gc, &f);
  assert_int_equal(rc, MOQC_ERR_ABORTED);
  assert_int_equal(moqc_group_consumer_code(gc), MOQC_CODE_APP_BASE + 3);
  moqc_group_consumer_del(gc);

  moqc_track_producer_abort(pub.tp, MOQC_CODE_APP_BASE + 7);
  ts_run_for(p.env, 20 * MS);
  assert_int_equal(moqc_track_consumer_recv_group(tc, &gc), MOQC_ERR_ABORTED);
  assert_int_equal(moqc_track_consumer_code(tc), MOQC_CODE_APP_BASE + 7);
  moqc_track_consumer_del(tc);
  assert_false(p.cli.closed);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

/* The publisher's connection dies: consumers see DROPPED (not CLOSED), and a
 * lingering subscribe origin keeps the path until the linger expires. */
static void t_publisher_disconnect(void **state) {
  ts_opts o;
  memset(&o, 0, sizeof o);
  o.sub_linger_ns = 2 * SEC;
  ts_pair p;
  ts_pair_open(&p, ts_version(state), &o);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "b", "t", NULL);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "b", 100 * MS));
  moqc_track_consumer *tc = ts_subscribe(p.cli.sub, "b", "t", NULL, NULL);
  ts_run_for(p.env, 20 * MS);
  uint64_t s0 = ts_group(pub.tp, F2, 2, true);
  ts_run_for(p.env, 20 * MS);
  ts_expect_group(tc, s0, F2, 2);

  memlink_disconnect(p.link, MOQC_CODE_TRANSPORT, "network down");
  ts_run_for(p.env, 20 * MS);
  assert_true(p.cli.closed);
  assert_true(p.srv.closed);
  assert_true(p.cli.by_peer);
  assert_true(moqc_session_is_closed(p.cli.s));

  /* Lingering: still announced, the track neither ended nor failed yet. */
  moqc_origin_consumer *oc = moqc_origin_consume(p.cli.sub, "");
  moqc_announce a;
  assert_int_equal(moqc_origin_consumer_next(oc, &a), MOQC_OK);
  assert_string_equal(a.path, "b");
  assert_true(a.active);
  moqc_group_consumer *gc = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &gc), MOQC_ERR_AGAIN);

  ts_run_for(p.env, 3 * SEC);
  assert_int_equal(moqc_origin_consumer_next(oc, &a), MOQC_OK);
  assert_false(a.active);
  assert_int_equal(moqc_track_consumer_recv_group(tc, &gc), MOQC_ERR_DROPPED);
  assert_int_equal(moqc_track_consumer_code(tc), MOQC_CODE_DROPPED);
  moqc_origin_consumer_del(oc);
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

/* Without linger the drop is immediate; a clean finish on another track of
 * the same session reads CLOSED. */
static void t_drop_vs_finish(void **state) {
  ts_pair p;
  ts_pair_open(&p, ts_version(state), NULL);
  ts_pub a, b;
  ts_publish(&a, p.env, p.srv.pub, "clean", "t", NULL);
  ts_publish(&b, p.env, p.srv.pub, "dirty", "t", NULL);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "dirty", 100 * MS));
  moqc_track_consumer *ta = ts_subscribe(p.cli.sub, "clean", "t", NULL, NULL);
  moqc_track_consumer *tb = ts_subscribe(p.cli.sub, "dirty", "t", NULL, NULL);
  ts_run_for(p.env, 20 * MS);
  ts_group(a.tp, F2, 1, true);
  ts_group(b.tp, F2, 1, true);
  assert_true(ts_wait_serving(p.env, p.srv.s, 2, 1 * SEC)); /* both subscriptions up */
  assert_int_equal(moqc_track_producer_finish(a.tp), MOQC_OK);
  assert_int_equal(moqc_broadcast_producer_finish(a.bp), MOQC_OK);
  /* lite-03/04: the end is the FIN, held SESS_PUB_FIN_LINGER_NS by the
   * publisher and answered after SESS_SUB_FIN_GRACE_NS by the subscriber. */
  ts_run_for(p.env, 1 * SEC);
  ts_expect_group(ta, 0, F2, 1);
  ts_expect_group(tb, 0, F2, 1);
  moqc_group_consumer *gc = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(ta, &gc), MOQC_ERR_CLOSED);

  memlink_disconnect(p.link, MOQC_CODE_TRANSPORT, "gone");
  ts_run_for(p.env, 20 * MS);
  assert_int_equal(moqc_track_consumer_recv_group(tb, &gc), MOQC_ERR_DROPPED);
  assert_int_equal(moqc_track_consumer_recv_group(ta, &gc), MOQC_ERR_CLOSED);
  moqc_track_consumer_del(ta);
  moqc_track_consumer_del(tb);
  ts_pub_del(&a);
  ts_pub_del(&b);
  ts_pair_close(&p);
}

/* Close codes travel; on_closed fires once on each side. */
static void t_close_codes(void **state) {
  ts_pair p;
  ts_pair_open(&p, ts_version(state), NULL);
  moqc_session_close(p.cli.s, MOQC_CODE_APP_BASE + 5, "bye");
  assert_true(p.cli.closed);
  assert_false(p.cli.by_peer);
  assert_int_equal(p.cli.code, MOQC_CODE_APP_BASE + 5);
  ts_run_for(p.env, 20 * MS);
  assert_true(p.srv.closed);
  assert_true(p.srv.by_peer);
  assert_int_equal(p.srv.code, MOQC_CODE_APP_BASE + 5);
  assert_string_equal(p.srv.reason, "bye");
  assert_int_equal(moqc_session_closed_code(p.srv.s), MOQC_CODE_APP_BASE + 5);
  assert_string_equal(moqc_session_closed_reason(p.srv.s), "bye");
  assert_true(moqc_session_closed_by_peer(p.srv.s));
  /* Closed sessions refuse work. */
  int err = 0;
  assert_null(moqc_session_fetch(p.cli.s, "b", "t", 0, 0, &err));
  assert_int_equal(err, MOQC_ERR_CLOSED);
  ts_pair_close(&p);
}

/* Server rejects the request; the client sees the code. */
static int g_reject_requests;
static void on_request_reject(void *ctx, moqc_session *s, const moqc_session_request *req) {
  (void)ctx;
  (void)req;
  g_reject_requests++;
  assert_int_equal(moqc_session_reject(s, MOQC_CODE_UNAUTHORIZED, "no"), MOQC_OK);
}

static void on_closed_flag(void *ctx, moqc_session *s, uint64_t code, const char *reason,
                           bool by_peer) {
  (void)s;
  (void)reason;
  (void)by_peer;
  *(uint64_t *)ctx = code + 1;
}

static void t_reject(void **state) {
  moqc_env *env = ts_env_new();
  memlink *l = memlink_new(moqc_env_clock(env), NULL);
  char alpn[32];
  snprintf(alpn, sizeof alpn, "moq-lite-%02d", ts_version(state));
  memlink_set_protocol(l, alpn);
  g_reject_requests = 0;
  uint64_t srv_closed = 0, cli_closed = 0;
  moqc_session_config sc;
  memset(&sc, 0, sizeof sc);
  sc.env = env;
  sc.is_server = true;
  sc.on_request = on_request_reject;
  sc.on_closed = on_closed_flag;
  sc.ctx = &srv_closed;
  moqc_session *srv = moqc_session_new(memlink_server(l), &sc);
  assert_non_null(srv);
  memset(&sc, 0, sizeof sc);
  sc.env = env;
  sc.on_closed = on_closed_flag;
  sc.ctx = &cli_closed;
  moqc_session *cli = moqc_session_new(memlink_client(l), &sc);
  assert_non_null(cli);
  moqc_origin *o = moqc_origin_new(env, NULL);
  assert_int_equal(moqc_session_start(cli, NULL, o), MOQC_OK);
  assert_int_equal(moqc_session_start(cli, NULL, o), MOQC_ERR_STATE);
  ts_run_for(env, 20 * MS);
  assert_int_equal(g_reject_requests, 1);
  assert_int_equal(srv_closed, MOQC_CODE_UNAUTHORIZED + 1);
  assert_int_equal(cli_closed, MOQC_CODE_UNAUTHORIZED + 1);
  assert_int_equal(moqc_session_accept(srv, NULL, NULL), MOQC_ERR_CLOSED);
  moqc_session_del(cli);
  moqc_session_del(srv);
  moqc_origin_unref(o);
  ts_run_for(env, 20 * MS);
  memlink_del(l);
  moqc_env_del(env);
}

/* What the server learns: the path (transport path, or lite-05 SETUP Path on
 * a raw-QUIC-like transport), role, and the client's origin id. */
static void t_request_details(void **state) {
  int v = ts_version(state);
  ts_opts o;
  memset(&o, 0, sizeof o);
  o.cli_path = "/room?jwt=abc";
  o.no_cli_pub = true; /* subscribe-only client */
  ts_pair p;
  ts_pair_open(&p, v, &o);
  if (v == 5) {
    assert_string_equal(p.srv.req_path, "/room?jwt=abc");
    assert_int_equal(p.srv.req.role, MOQC_SESSION_ROLE_SUBSCRIBER);
    assert_int_equal(p.srv.req.peer_origin, moqc_origin_id(p.cli.sub));
    ts_run_for(p.env, 10 * MS);
    assert_int_equal(moqc_session_peer_origin(p.cli.s), moqc_origin_id(p.srv.pub));
  } else {
    assert_string_equal(p.srv.req_path, "/anon");
    assert_int_equal(p.srv.req.role, MOQC_SESSION_ROLE_BOTH);
    assert_int_equal(p.srv.req.peer_origin, 0);
  }
  assert_int_equal(p.srv.req.version, v);
  ts_pair_close(&p);
}

/* A session deleted from inside its own callbacks: on_closed (peer close) and
 * on_request (accept, then delete). */
static void on_closed_del(void *ctx, moqc_session *s, uint64_t code, const char *reason,
                          bool by_peer) {
  (void)code;
  (void)reason;
  (void)by_peer;
  moqc_session_del(s);
  *(moqc_session **)ctx = NULL;
}

static moqc_origin *g_srv_pub;
static void on_request_accept(void *ctx, moqc_session *s, const moqc_session_request *req) {
  (void)req;
  (void)ctx;
  assert_int_equal(moqc_session_accept(s, g_srv_pub, NULL), MOQC_OK);
}

static void t_del_from_callback(void **state) {
  moqc_env *env = ts_env_new();
  memlink *l = memlink_new(moqc_env_clock(env), NULL);
  char alpn[32];
  snprintf(alpn, sizeof alpn, "moq-lite-%02d", ts_version(state));
  memlink_set_protocol(l, alpn);
  moqc_origin *pub_o = moqc_origin_new(env, NULL);
  moqc_origin *sub_o = moqc_origin_new(env, NULL);
  moqc_session *srv = NULL, *cli = NULL;
  g_srv_pub = pub_o;
  moqc_session_config sc;
  memset(&sc, 0, sizeof sc);
  sc.env = env;
  sc.is_server = true;
  sc.on_request = on_request_accept;
  sc.on_closed = on_closed_del;
  sc.ctx = &srv;
  srv = moqc_session_new(memlink_server(l), &sc);
  assert_non_null(srv);
  memset(&sc, 0, sizeof sc);
  sc.env = env;
  cli = moqc_session_new(memlink_client(l), &sc);
  assert_int_equal(moqc_session_start(cli, NULL, sub_o), MOQC_OK);
  ts_pub pub;
  ts_publish(&pub, env, pub_o, "b", "t", NULL);
  ts_run_for(env, 20 * MS);
  moqc_track_consumer *tc = ts_subscribe(sub_o, "b", "t", NULL, NULL);
  ts_run_for(env, 20 * MS);
  ts_group(pub.tp, F2, 2, false); /* a group left open: in flight at close */
  ts_run_for(env, 1 * MS);
  moqc_session_close(cli, 0, "");
  ts_run_for(env, 20 * MS);
  assert_null(srv); /* deleted itself from on_closed */
  moqc_session_del(cli);
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  moqc_origin_unref(pub_o);
  moqc_origin_unref(sub_o);
  ts_run_for(env, 20 * MS);
  memlink_del(l);
  moqc_env_del(env);
}

/* on_request never runs from inside moqc_session_new (lite-03/04 know the
 * request at once, but deliver it from a zero-delay timer), and a server may
 * delete itself from it. */
static bool g_in_new;
static int g_requests_seen;
static void on_request_del(void *ctx, moqc_session *s, const moqc_session_request *req) {
  (void)req;
  assert_false(g_in_new);
  g_requests_seen++;
  *(moqc_session **)ctx = NULL;
  moqc_session_del(s);
}

static void t_request_not_in_new(void **state) {
  moqc_env *env = ts_env_new();
  memlink *l = memlink_new(moqc_env_clock(env), NULL);
  char alpn[32];
  snprintf(alpn, sizeof alpn, "moq-lite-%02d", ts_version(state));
  memlink_set_protocol(l, alpn);
  moqc_session *srv = NULL;
  g_requests_seen = 0;
  moqc_session_config sc;
  memset(&sc, 0, sizeof sc);
  sc.env = env;
  sc.is_server = true;
  sc.on_request = on_request_del;
  sc.ctx = &srv;
  g_in_new = true;
  srv = moqc_session_new(memlink_server(l), &sc);
  g_in_new = false;
  assert_non_null(srv);
  assert_int_equal(g_requests_seen, 0);
  memset(&sc, 0, sizeof sc);
  sc.env = env;
  moqc_session *cli = moqc_session_new(memlink_client(l), &sc);
  assert_non_null(cli);
  assert_int_equal(moqc_session_start(cli, NULL, NULL), MOQC_OK);
  ts_run_for(env, 20 * MS);
  assert_int_equal(g_requests_seen, 1);
  assert_null(srv); /* deleted itself from on_request */
  moqc_session_del(cli);
  ts_run_for(env, 20 * MS);
  memlink_del(l);
  moqc_env_del(env);
}

/* Stream opening is never synchronous, and never waits for a timer: streams
 * queued by a call open when the outermost call returns (inside a callback:
 * when the event-handling pass that runs it ends). */
static moqc_origin *g_accept_sub;
static uint64_t g_opened_in_cb;
static void on_request_accept_count(void *ctx, moqc_session *s, const moqc_session_request *req) {
  (void)ctx;
  (void)req;
  assert_int_equal(moqc_session_accept(s, NULL, g_accept_sub), MOQC_OK);
  g_opened_in_cb = moqc_session_get_stats(s).streams_opened;
}

static void t_open_deferred(void **state) {
  int v = ts_version(state);
  moqc_env *env = ts_env_new();
  memlink *l = memlink_new(moqc_env_clock(env), NULL);
  char alpn[32];
  snprintf(alpn, sizeof alpn, "moq-lite-%02d", v);
  memlink_set_protocol(l, alpn);
  moqc_origin *cli_sub = moqc_origin_new(env, NULL);
  g_accept_sub = moqc_origin_new(env, NULL);
  g_opened_in_cb = 99;
  moqc_session_config sc;
  memset(&sc, 0, sizeof sc);
  sc.env = env;
  sc.is_server = true;
  sc.on_request = on_request_accept_count;
  moqc_session *srv = moqc_session_new(memlink_server(l), &sc);
  assert_non_null(srv);
  memset(&sc, 0, sizeof sc);
  sc.env = env;
  moqc_session *cli = moqc_session_new(memlink_client(l), &sc);
  assert_non_null(cli);
  assert_int_equal(moqc_session_get_stats(cli).streams_opened, 0);
  assert_int_equal(moqc_session_start(cli, NULL, cli_sub), MOQC_OK);
  /* Opened by the time start() returns, with no time passing: the Announce
   * stream (+ SETUP on lite-05). */
  assert_int_equal(moqc_session_get_stats(cli).streams_opened, v == 5 ? 2 : 1);
  ts_run_for(env, 20 * MS);
  /* Inside on_request, accept() only queued the server's streams ... */
  assert_int_equal(g_opened_in_cb, 0);
  /* ... which opened when that pass ended. */
  assert_int_equal(moqc_session_get_stats(srv).streams_opened, v == 5 ? 2 : 1);
  moqc_session_del(cli);
  moqc_session_del(srv);
  moqc_origin_unref(cli_sub);
  moqc_origin_unref(g_accept_sub);
  ts_run_for(env, 20 * MS);
  memlink_del(l);
  moqc_env_del(env);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      TS_TEST3(t_unsubscribe_mid_group), TS_TEST3(t_publisher_abort),
      TS_TEST3(t_publisher_disconnect),  TS_TEST3(t_drop_vs_finish),
      TS_TEST3(t_close_codes),           TS_TEST3(t_reject),
      TS_TEST3(t_request_details),       TS_TEST3(t_del_from_callback),
      TS_TEST3(t_request_not_in_new),    TS_TEST3(t_open_deferred),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
