/* Session tests for IETF moq-transport (drafts 14 to 19) over the
 * in-memory transport in virtual time: setup per draft, announce (namespace)
 * -> subscribe -> frames, both directions, late join, unsubscribe, publisher
 * end, malformed control input closing only that session with
 * PROTOCOL_VIOLATION. */
#include "core/ietf_wire.h"
#include "test_session_common.h"
#include "test_session_ietf_raw.h"

static int ietf_versions[6] = {14, 15, 16, 17, 18, 19};
#define IETF_TEST(fn)                                   \
  cmocka_unit_test_prestate(fn, &ietf_versions[0]),     \
      cmocka_unit_test_prestate(fn, &ietf_versions[1]), \
      cmocka_unit_test_prestate(fn, &ietf_versions[2]), \
      cmocka_unit_test_prestate(fn, &ietf_versions[3]), \
      cmocka_unit_test_prestate(fn, &ietf_versions[4]), \
      cmocka_unit_test_prestate(fn, &ietf_versions[5])

static const char *const F3[] = {"alpha", "", "gamma-gamma"};

/* Setup: both sides run the ALPN's draft; the server saw the request. */
static void t_setup(void **state) {
  ts_pair p;
  ts_pair_open(&p, ts_version(state), NULL);
  assert_int_equal(moqc_session_version(p.cli.s), ts_version(state));
  assert_int_equal(moqc_session_version(p.srv.s), ts_version(state));
  assert_int_equal(p.srv.req.version, ts_version(state));
  assert_string_equal(p.srv.req_path, "/anon");
  ts_run_for(p.env, 50 * MS);
  assert_false(p.cli.closed);
  assert_false(p.srv.closed);
  ts_pair_close(&p);
}

/* Server publishes; the client gets PUBLISH_NAMESPACE for its
 * SUBSCRIBE_NAMESPACE, subscribes, receives groups; a clean end finishes
 * the track (PUBLISH_DONE). */
static void t_subscribe_after_announce(void **state) {
  ts_pair p;
  ts_pair_open(&p, ts_version(state), NULL);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "room/a", "video", NULL);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "room/a", 100 * MS));

  moqc_track_consumer *tc = ts_subscribe(p.cli.sub, "room/a", "video", NULL, NULL);
  assert_true(ts_wait_serving(p.env, p.srv.s, 1, 100 * MS));
  ts_run_for(p.env, 20 * MS);
  uint64_t s0 = ts_group(pub.tp, F3, 3, true);
  ts_run_for(p.env, 20 * MS);
  uint64_t s1 = ts_group(pub.tp, F3 + 1, 2, true);
  ts_run_for(p.env, 20 * MS);
  ts_expect_group(tc, s0, F3, 3);
  ts_expect_group(tc, s1, F3 + 1, 2);
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_AGAIN);

  assert_int_equal(moqc_track_producer_finish(pub.tp), MOQC_OK);
  ts_run_for(p.env, 1 * SEC);
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_CLOSED);
  moqc_track_consumer_del(tc);
  assert_int_equal(moqc_session_get_stats(p.srv.s).groups_sent, 2);
  assert_int_equal(moqc_session_get_stats(p.cli.s).groups_received, 2);
  assert_int_equal(moqc_session_get_stats(p.cli.s).frames_received, 5);
  ts_pub_del(&pub);
  ts_run_for(p.env, 20 * MS);
  assert_false(p.cli.closed);
  assert_false(p.srv.closed);
  ts_pair_close(&p);
}

/* The client publishes after setup; the server (a relay-like subscriber)
 * sees the namespace and subscribes; the broadcast's end unannounces. */
static void t_client_publishes(void **state) {
  ts_pair p;
  ts_pair_open(&p, ts_version(state), NULL);
  ts_pub pub;
  ts_publish(&pub, p.env, p.cli.pub, "cam/1", "audio", NULL);
  assert_true(ts_wait_announce(p.env, p.srv.sub, "cam/1", 100 * MS));
  moqc_track_consumer *tc = ts_subscribe(p.srv.sub, "cam/1", "audio", NULL, NULL);
  assert_true(ts_wait_serving(p.env, p.cli.s, 1, 100 * MS));
  uint64_t s0 = ts_group(pub.tp, F3, 3, true);
  ts_run_for(p.env, 20 * MS);
  ts_expect_group(tc, s0, F3, 3);

  moqc_origin_consumer *oc = moqc_origin_consume(p.srv.sub, "");
  moqc_announce a;
  assert_int_equal(moqc_origin_consumer_next(oc, &a), MOQC_OK);
  assert_true(a.active);
  assert_int_equal(moqc_track_producer_finish(pub.tp), MOQC_OK);
  assert_int_equal(moqc_broadcast_producer_finish(pub.bp), MOQC_OK);
  ts_run_for(p.env, 1 * SEC);
  assert_int_equal(moqc_origin_consumer_next(oc, &a), MOQC_OK);
  assert_string_equal(a.path, "cam/1");
  assert_false(a.active);
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_CLOSED);
  moqc_origin_consumer_del(oc);
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

/* PUBLISH_NAMESPACE outside the server's subscribe scope (a token's put) gets
 * PUBLISH_NAMESPACE_ERROR (14) / REQUEST_ERROR (15) Unauthorized; on 16 the
 * client's namespaces travel as NAMESPACE entries of the server's
 * SUBSCRIBE_NAMESPACE, which have no per-entry answer: ignored and counted,
 * as on moq-lite. The session stays up and the allowed namespace is served. */
static void t_publish_outside_put(void **state) {
  moqc_env *env = ts_env_new();
  moqc_origin *all = moqc_origin_new(env, NULL);
  const char *put[] = {"alice"};
  moqc_origin *land = moqc_origin_scope(all, put, 1);
  ts_opts o;
  memset(&o, 0, sizeof o);
  o.srv_sub_shared = land;
  ts_pair p;
  ts_pair_open_env(&p, env, ts_version(state), &o);
  ts_pub bob, alice;
  ts_publish(&bob, env, p.cli.pub, "bob", "audio", NULL);
  ts_publish(&alice, env, p.cli.pub, "alice", "audio", NULL);
  assert_true(ts_wait_announce(env, all, "alice", 200 * MS));
  ts_run_for(env, 50 * MS);
  assert_false(p.srv.closed);
  assert_false(p.cli.closed);
  moqc_session_stats st = moqc_session_get_stats(p.srv.s);
  assert_int_equal(st.unauthorized_announces, 1);
  assert_int_equal(st.remote_broadcasts, 1);
  /* the publisher was told: Unauthorized (0x1) */
  if (ts_version(state) < 16) /* 16 announces as NAMESPACE entries: no per-entry refusal */
    assert_non_null(strstr(p.cli.debug_last, "refused: code 1, 'unauthorized'"));
  int err = 0;
  assert_null(moqc_origin_request(all, "bob", &err));
  moqc_track_consumer *tc = ts_subscribe(all, "alice", "audio", NULL, NULL);
  assert_true(ts_wait_serving(env, p.cli.s, 1, 100 * MS));
  uint64_t s0 = ts_group(alice.tp, F3, 3, true);
  ts_run_for(env, 20 * MS);
  ts_expect_group(tc, s0, F3, 3);
  moqc_track_consumer_del(tc);
  ts_pub_del(&bob);
  ts_pub_del(&alice);
  ts_pair_close_env(&p);
  moqc_origin_unref(land);
  moqc_origin_unref(all);
  ts_settle(env);
  moqc_env_del(env);
}

/* A late joiner starts at the largest group; the last consumer leaving
 * unsubscribes upstream. */
static void t_late_join_unsubscribe(void **state) {
  ts_pair p;
  ts_pair_open(&p, ts_version(state), NULL);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "live", "v", NULL);
  for (int i = 0; i < 5; i++) ts_group(pub.tp, F3, 2, true);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "live", 100 * MS));
  moqc_track_consumer *tc = ts_subscribe(p.cli.sub, "live", "v", NULL, NULL);
  ts_run_for(p.env, 20 * MS);
  ts_expect_group(tc, 4, F3, 2);
  ts_group(pub.tp, F3, 1, true);
  ts_run_for(p.env, 20 * MS);
  ts_expect_group(tc, 5, F3, 1);
  assert_int_equal(moqc_session_get_stats(p.srv.s).serving, 1);
  moqc_track_consumer_del(tc);
  ts_run_for(p.env, 20 * MS);
  assert_int_equal(moqc_session_get_stats(p.srv.s).serving, 0);
  /* Groups after the UNSUBSCRIBE go nowhere. */
  ts_group(pub.tp, F3, 1, true);
  ts_run_for(p.env, 20 * MS);
  assert_int_equal(moqc_session_get_stats(p.srv.s).groups_sent, 2);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

/* Frames of many sizes, straddling packets, arrive byte for byte. */
static void t_frames_byte_for_byte(void **state) {
  ts_opts o;
  memset(&o, 0, sizeof o);
  o.have_link = true;
  o.link = MEMLINK_CONFIG_DEFAULT;
  o.link.mtu = 333;
  o.link.latency_ns = 5 * MS;
  ts_pair p;
  ts_pair_open(&p, ts_version(state), &o);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "b", "t", NULL);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "b", 100 * MS));
  moqc_track_consumer *tc = ts_subscribe(p.cli.sub, "b", "t", NULL, NULL);
  ts_run_for(p.env, 30 * MS);
  static const size_t sizes[] = {0, 1, 63, 64, 332, 333, 334, 1200, 16383, 16384, 100000};
  const size_t n = sizeof sizes / sizeof sizes[0];
  uint8_t *data[sizeof sizes / sizeof sizes[0]];
  srand(7);
  moqc_group_producer *g = moqc_track_producer_append_group(pub.tp);
  for (size_t i = 0; i < n; i++) {
    data[i] = malloc(sizes[i] + 1);
    for (size_t j = 0; j < sizes[i]; j++) data[i][j] = (uint8_t)rand();
    assert_int_equal(moqc_group_producer_write_frame_copy(g, data[i], sizes[i], 10 * i + 3),
                     MOQC_OK);
  }
  assert_int_equal(moqc_group_producer_finish(g), MOQC_OK);
  moqc_group_producer_del(g);
  ts_run_for(p.env, 300 * MS);
  moqc_group_consumer *gc = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &gc), MOQC_OK);
  for (size_t i = 0; i < n; i++) {
    moqc_frame f;
    assert_int_equal(moqc_group_consumer_read_frame(gc, &f), MOQC_OK);
    assert_int_equal(f.payload.len, sizes[i]);
    if (sizes[i]) assert_memory_equal(moqc_slice_ptr(&f.payload), data[i], sizes[i]);
    moqc_slice_release(&f.payload);
    free(data[i]);
  }
  moqc_frame f;
  assert_int_equal(moqc_group_consumer_read_frame(gc, &f), MOQC_ERR_CLOSED);
  moqc_group_consumer_del(gc);
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

/* Unknown broadcast / track: SUBSCRIBE_ERROR, the consumer's track ends
 * with NotFound, the session carries on. A publisher abort ends the
 * subscriber's track. */
static void t_not_found_and_abort(void **state) {
  ts_pair p;
  ts_pair_open(&p, ts_version(state), NULL);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "x", "t", NULL);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "x", 100 * MS));
  moqc_track_consumer *bad = ts_subscribe(p.cli.sub, "x", "nope", NULL, NULL);
  ts_run_for(p.env, 30 * MS);
  moqc_group_consumer *g = NULL;
  int rc = moqc_track_consumer_recv_group(bad, &g);
  assert_true(rc < 0 && rc != MOQC_ERR_AGAIN && rc != MOQC_ERR_CLOSED);
  moqc_track_consumer_del(bad);

  moqc_track_consumer *tc = ts_subscribe(p.cli.sub, "x", "t", NULL, NULL);
  ts_run_for(p.env, 30 * MS);
  uint64_t s0 = ts_group(pub.tp, F3, 1, true);
  ts_run_for(p.env, 30 * MS);
  ts_expect_group(tc, s0, F3, 1);
  moqc_track_producer_abort(pub.tp, MOQC_CODE_APP_BASE + 7);
  ts_run_for(p.env, 1 * SEC);
  rc = moqc_track_consumer_recv_group(tc, &g);
  /* PUBLISH_DONE INTERNAL_ERROR: an abort, not a clean end (IETF carries no
   * lite code: Dropped, like moq-relay's reset of a lite subscription). */
  assert_int_equal(rc, MOQC_ERR_DROPPED);
  assert_int_equal(moqc_track_consumer_end_reason(tc), MOQC_END_ABORTED);
  moqc_track_consumer_del(tc);
  assert_false(p.cli.closed);
  assert_false(p.srv.closed);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

/* ---- malformed control input: a raw peer on the injection API ---------------- */

static size_t enc(int v, const moqc__ietf_msg *m, uint8_t *buf, size_t cap) {
  ssize_t n = moqc__ietf_ctrl_encode(buf, cap, v, m);
  assert_true(n > 0);
  return (size_t)n;
}

/* The client's setup: CLIENT_SETUP on the bidi control stream (14-16), or
 * SETUP on a uni stream (17+); *ctrl is that stream. */
static void raw_setup(ts_pair *p, int v, int64_t *ctrl, bool second_malformed) {
  (void)p;
  static moqc__ietf_msg m;
  memset(&m, 0, sizeof m);
  m.type = v >= 17 ? MOQC_IETF_SETUP : MOQC_IETF_CLIENT_SETUP;
  if (v == 14) {
    m.nversions = 1;
    m.versions[0] = moqc__ietf_version_code(v);
  }
  assert_int_equal(moqc__ietf_params_put_varint(&m.params, MOQC_IETF_SETUP_MAX_REQUEST_ID, 100), 0);
  uint8_t buf[512];
  size_t n = enc(v, &m, buf, sizeof buf);
  if (second_malformed) {
    /* SUBSCRIBE_NAMESPACE whose body is cut short inside its declared length. */
    buf[n++] = MOQC_IETF_SUBSCRIBE_NAMESPACE;
    buf[n++] = 0;
    buf[n++] = 2;
    buf[n++] = 0; /* request id */
    buf[n++] = 5; /* tuple count 5, no fields */
  }
  assert_int_equal(memlink_inject(p->link, memlink_server(p->link), v < 17, buf, n, false, ctrl),
                   MOQC_OK);
}

static void t_malformed_control(void **state) {
  int v = ts_version(state);
  ts_pair p;
  ir_server(&p, v);
  int64_t ctrl;
  raw_setup(&p, v, &ctrl, false);
  ts_run_for(p.env, 10 * MS);
  assert_int_equal(p.srv.requests, 1);
  assert_false(p.srv.closed);
  /* A message whose body is cut short inside its declared length: on the
   * control stream (14-16), or as the request of a new stream (17+). */
  uint8_t bad[] = {MOQC_IETF_SUBSCRIBE_NAMESPACE, 0, 2, 0, 5};
  if (v >= 18) bad[0] = MOQC_IETF_SUBSCRIBE_NAMESPACE_18; /* one byte on 17+'s varint */
  if (v < 17) {
    memlink_inject_info info;
    assert_int_equal(memlink_inject_state(p.link, memlink_server(p.link), ctrl, &info), MOQC_OK);
    assert_true(info.received > 0); /* SERVER_SETUP (+ SUBSCRIBE_NAMESPACE) */
    assert_int_equal(
        memlink_inject_write(p.link, memlink_server(p.link), ctrl, bad, sizeof bad, false),
        MOQC_OK);
  } else {
    int64_t req;
    assert_int_equal(
        memlink_inject(p.link, memlink_server(p.link), true, bad, sizeof bad, false, &req),
        MOQC_OK);
  }
  ts_run_for(p.env, 10 * MS);
  assert_true(p.srv.closed);
  assert_int_equal(p.srv.code, 0x3);
  ir_close(&p);
}

/* Control messages before the setup, or a second bidi stream: the session
 * closes with PROTOCOL_VIOLATION; another session on the same env is not
 * affected. */
static void t_protocol_violations(void **state) {
  int v = ts_version(state);
  ts_pair other;
  ts_pair_open(&other, v, NULL);
  ts_pair p;
  ir_server(&p, v);
  int64_t ctrl;
  raw_setup(&p, v, &ctrl, true); /* CLIENT_SETUP and a malformed message at once */
  ts_run_for(p.env, 10 * MS);
  assert_true(p.srv.closed);
  assert_int_equal(p.srv.code, 0x3);
  ir_close(&p);

  ir_server(&p, v);
  /* A valid message, but before the setup (draft-16: SUBSCRIBE_NAMESPACE has
   * its own stream, which may race ahead of the setup: use SUBSCRIBE; 17+:
   * requests wait for the setup, so a SETUP whose parameter is cut short). */
  uint8_t sub[] = {MOQC_IETF_SUBSCRIBE_NAMESPACE, 0, 2, 0, 0};
  if (v >= 16) sub[0] = MOQC_IETF_SUBSCRIBE;
  if (v >= 17) {
    /* 0x2F00 as a leading-ones varint, length 1, odd key 5 without its length */
    const uint8_t gb[] = {0xAF, 0x00, 0x00, 0x01, 0x05};
    assert_int_equal(
        memlink_inject(p.link, memlink_server(p.link), false, gb, sizeof gb, false, &ctrl),
        MOQC_OK);
  } else {
    assert_int_equal(
        memlink_inject(p.link, memlink_server(p.link), true, sub, sizeof sub, false, &ctrl),
        MOQC_OK);
  }
  ts_run_for(p.env, 10 * MS);
  assert_true(p.srv.closed);
  assert_int_equal(p.srv.code, 0x3);
  ir_close(&p);

  ir_server(&p, v);
  raw_setup(&p, v, &ctrl, false);
  ts_run_for(p.env, 10 * MS);
  assert_false(p.srv.closed);
  int64_t second;
  raw_setup(&p, v, &second, false);
  ts_run_for(p.env, 10 * MS);
  assert_true(p.srv.closed);
  assert_int_equal(p.srv.code, 0x3);
  ir_close(&p);

  ts_run_for(other.env, 20 * MS);
  assert_false(other.cli.closed);
  assert_false(other.srv.closed);
  ts_pair_close(&other);
}

/* ---- setup parameters: AUTHORIZATION TOKEN, AUTHORITY, implementation -------- */

static char g_token[64], g_authority[64], g_impl[64];
static int g_requests;

static void params_on_request(void *ctx, moqc_session *s, const moqc_session_request *req) {
  (void)ctx;
  g_requests++;
  snprintf(g_token, sizeof g_token, "%s", req->auth_token ? req->auth_token : "(none)");
  snprintf(g_authority, sizeof g_authority, "%s", req->authority ? req->authority : "(none)");
  snprintf(g_impl, sizeof g_impl, "%s", req->implementation ? req->implementation : "(none)");
  assert_int_equal(moqc_session_reject(s, MOQC_CODE_UNAUTHORIZED, "checked"), MOQC_OK);
}

/* A raw client's setup carrying `token` (AUTHORIZATION TOKEN bytes) and
 * unknown parameters of both parities, which must be skipped. */
static void raw_setup_params(ts_pair *p, int v, const uint8_t *token, size_t tlen) {
  static moqc__ietf_msg m;
  memset(&m, 0, sizeof m);
  m.type = v >= 17 ? MOQC_IETF_SETUP : MOQC_IETF_CLIENT_SETUP;
  if (v == 14) {
    m.nversions = 1;
    m.versions[0] = moqc__ietf_version_code(v);
  }
  assert_int_equal(moqc__ietf_params_put_bytes(&m.params, MOQC_IETF_SETUP_AUTH_TOKEN, token, tlen),
                   0);
  assert_int_equal(
      moqc__ietf_params_put_bytes(&m.params, MOQC_IETF_SETUP_AUTHORITY, "relay.example:443", 17),
      0);
  assert_int_equal(moqc__ietf_params_put_bytes(&m.params, MOQC_IETF_SETUP_IMPLEMENTATION, "raw", 3),
                   0);
  assert_int_equal(moqc__ietf_params_put_varint(&m.params, 0x42, 12345), 0);  /* unknown, even */
  assert_int_equal(moqc__ietf_params_put_bytes(&m.params, 0x43, "??", 2), 0); /* unknown, odd */
  uint8_t buf[512];
  size_t n = enc(v, &m, buf, sizeof buf);
  int64_t id;
  assert_int_equal(memlink_inject(p->link, memlink_server(p->link), v < 17, buf, n, false, &id),
                   MOQC_OK);
}

static void t_setup_params(void **state) {
  int v = ts_version(state);
  static const struct {
    uint8_t b[16];
    size_t n;
    uint64_t code; /* 0: accepted, the request sees "jwt.x.y" */
  } cases[] = {
      {{3, 0, 'j', 'w', 't', '.', 'x', '.', 'y'}, 9, 0},     /* USE_VALUE, type 0 */
      {{1, 7, 0, 'j', 'w', 't', '.', 'x', '.', 'y'}, 10, 0}, /* REGISTER alias 7 */
      {{2, 7}, 2, 0x17},                                     /* USE_ALIAS: no cache */
      {{3}, 1, 0x16},                                        /* no token type */
      {{3, 0, 'a', 0, 'b'}, 5, 0x16},                        /* NUL inside */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ts_pair p;
    ir_server_cb(&p, v, params_on_request);
    g_requests = 0;
    raw_setup_params(&p, v, cases[i].b, cases[i].n);
    ts_run_for(p.env, 10 * MS);
    if (cases[i].code == 0) {
      assert_int_equal(g_requests, 1);
      assert_string_equal(g_token, "jwt.x.y");
      assert_string_equal(g_authority, "relay.example:443");
      assert_string_equal(g_impl, "raw");
    } else {
      assert_int_equal(g_requests, 0);
      assert_true(p.srv.closed);
      assert_int_equal(p.srv.code, cases[i].code);
    }
    ir_close(&p);
  }
}

/* A client session with cfg.auth_token: the server's on_request gets the
 * token (and the client's implementation name) on every draft. */
static void t_client_token(void **state) {
  int v = ts_version(state);
  ts_pair p;
  ir_server_cb(&p, v, params_on_request);
  g_requests = 0;
  char token[64];
  snprintf(token, sizeof token, "hdr.claims-%d.sig", v);
  moqc_session_config sc;
  memset(&sc, 0, sizeof sc);
  sc.env = p.env;
  sc.ctx = &p.cli;
  sc.on_closed = ts_on_closed;
  sc.auth_token = token;
  p.cli.s = moqc_session_new(memlink_client(p.link), &sc);
  assert_non_null(p.cli.s);
  memset(token, 'x', sizeof token - 1); /* the session keeps its own copy */
  assert_int_equal(moqc_session_start(p.cli.s, NULL, NULL), MOQC_OK);
  ts_run_for(p.env, 20 * MS);
  assert_int_equal(g_requests, 1);
  char want[64];
  snprintf(want, sizeof want, "hdr.claims-%d.sig", v);
  assert_string_equal(g_token, want);
  assert_string_equal(g_impl, "moqc");
  assert_string_equal(g_authority, "(none)");
  moqc_session_del(p.cli.s);
  ir_close(&p);
}

/* ---- request ids: the peer's checked, ours held under the peer's MAX_REQUEST_ID ---- */

static size_t subscribe_bytes(int v, uint64_t req, uint8_t *buf, size_t cap) {
  static moqc__ietf_msg m;
  memset(&m, 0, sizeof m);
  m.type = MOQC_IETF_SUBSCRIBE;
  m.request_id = req;
  assert_int_equal(moqc__ietf_tuple_from_path(&m.ns, "b", 1), MOQC_OK);
  m.name = (moqc_bytes){(const uint8_t *)"t", 1};
  m.group_order = 2;
  m.forward = 1;
  m.filter.type = MOQC_IETF_FILTER_LARGEST_OBJECT;
  m.has = MOQC_IETF_HAS_PRIORITY | MOQC_IETF_HAS_GROUP_ORDER | MOQC_IETF_HAS_FORWARD |
          MOQC_IETF_HAS_FILTER;
  return enc(v, &m, buf, cap);
}

/* Peer requests: wrong parity (all drafts), over our MAX_REQUEST_ID and a
 * reused id (14-16) close the session with the draft's code. */
static void t_request_ids(void **state) {
  int v = ts_version(state);
  static const struct {
    uint64_t first, second; /* the client's two SUBSCRIBE request ids */
    uint64_t code;
  } cases[] = {
      {1, 0, 0x4},    /* odd: a server's id */
      {2048, 0, 0x7}, /* at our MAX_REQUEST_ID (2 * max_requests 1024) */
      {4, 2, 0x4},    /* lower than one already used */
      {0, 0, 0x4},    /* the same twice */
      {0, 2, 0},      /* in order: fine (track not found only) */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (v >= 17 && cases[i].code != 0 && cases[i].first != 1) continue; /* 17+: no window */
    ts_pair p;
    ir_server(&p, v);
    int64_t ctrl;
    raw_setup(&p, v, &ctrl, false);
    ts_run_for(p.env, 10 * MS);
    assert_false(p.srv.closed);
    uint8_t buf[256];
    for (int k = 0; k < 2 && !p.srv.closed; k++) {
      size_t n = subscribe_bytes(v, k ? cases[i].second : cases[i].first, buf, sizeof buf);
      int64_t id;
      if (v >= 17)
        assert_int_equal(memlink_inject(p.link, memlink_server(p.link), true, buf, n, false, &id),
                         MOQC_OK);
      else
        assert_int_equal(memlink_inject_write(p.link, memlink_server(p.link), ctrl, buf, n, false),
                         MOQC_OK);
      ts_run_for(p.env, 10 * MS);
    }
    if (cases[i].code) {
      assert_true(p.srv.closed);
      assert_int_equal(p.srv.code, cases[i].code);
    } else {
      assert_false(p.srv.closed);
    }
    ir_close(&p);
  }
}

/* Our requests (14-16): the raw client allows request ids < 2, so the
 * server's SUBSCRIBE_NAMESPACE (1) goes and its SUBSCRIBE (3) waits behind a
 * REQUESTS_BLOCKED until MAX_REQUEST_ID raises the limit; the peer's
 * REQUESTS_BLOCKED gets a larger MAX_REQUEST_ID (our window, counted from
 * its next request id). */
static void t_requests_blocked(void **state) {
  int v = ts_version(state);
  if (v >= 17) return; /* no request-id flow control from draft-17 on */
  ts_pair p;
  ir_server(&p, v);
  static moqc__ietf_msg m;
  memset(&m, 0, sizeof m);
  m.type = MOQC_IETF_CLIENT_SETUP;
  if (v == 14) {
    m.nversions = 1;
    m.versions[0] = moqc__ietf_version_code(v);
  }
  assert_int_equal(moqc__ietf_params_put_varint(&m.params, MOQC_IETF_SETUP_MAX_REQUEST_ID, 2), 0);
  uint8_t buf[256];
  size_t n = enc(v, &m, buf, sizeof buf);
  int64_t ctrl;
  assert_int_equal(memlink_inject(p.link, memlink_server(p.link), true, buf, n, false, &ctrl),
                   MOQC_OK);
  ts_run_for(p.env, 10 * MS);
  memset(&m, 0, sizeof m);
  m.type = MOQC_IETF_PUBLISH_NAMESPACE;
  m.request_id = 0;
  assert_int_equal(moqc__ietf_tuple_from_path(&m.ns, "room", 4), MOQC_OK);
  n = enc(v, &m, buf, sizeof buf);
  assert_int_equal(memlink_inject_write(p.link, memlink_server(p.link), ctrl, buf, n, false),
                   MOQC_OK);
  assert_true(ts_wait_announce(p.env, p.srv.sub, "room", 100 * MS));
  memlink_inject_info info;
  assert_int_equal(memlink_inject_state(p.link, memlink_server(p.link), ctrl, &info), MOQC_OK);
  size_t r0 = info.received;

  moqc_track_consumer *tc = ts_subscribe(p.srv.sub, "room", "t", NULL, NULL);
  assert_non_null(tc);
  ts_run_for(p.env, 20 * MS);
  assert_int_equal(memlink_inject_state(p.link, memlink_server(p.link), ctrl, &info), MOQC_OK);
  size_t r1 = info.received;
  assert_int_equal(r1 - r0, 4); /* REQUESTS_BLOCKED {2}: type, u16 length, 2; no SUBSCRIBE */

  memset(&m, 0, sizeof m);
  m.type = MOQC_IETF_MAX_REQUEST_ID;
  m.request_id = 10;
  n = enc(v, &m, buf, sizeof buf);
  assert_int_equal(memlink_inject_write(p.link, memlink_server(p.link), ctrl, buf, n, false),
                   MOQC_OK);
  ts_run_for(p.env, 20 * MS);
  assert_int_equal(memlink_inject_state(p.link, memlink_server(p.link), ctrl, &info), MOQC_OK);
  size_t r2 = info.received;
  assert_true(r2 - r1 >= 10); /* the SUBSCRIBE went */

  memset(&m, 0, sizeof m);
  m.type = MOQC_IETF_REQUESTS_BLOCKED;
  m.request_id = 100;
  n = enc(v, &m, buf, sizeof buf);
  assert_int_equal(memlink_inject_write(p.link, memlink_server(p.link), ctrl, buf, n, false),
                   MOQC_OK);
  ts_run_for(p.env, 20 * MS);
  assert_int_equal(memlink_inject_state(p.link, memlink_server(p.link), ctrl, &info), MOQC_OK);
  /* MAX_REQUEST_ID {2 + 2 * 1024}: the next id (2) plus the default window of
   * limits.max_requests (nothing open): type, u16 length, a 2-byte varint. */
  assert_int_equal(info.received - r2, 5);
  size_t rlen = 0;
  const uint8_t *rb = memlink_inject_received(p.link, memlink_server(p.link), ctrl, &rlen);
  assert_int_equal(rlen, info.received);
  static const uint8_t want[] = {0x15, 0x00, 0x02, 0x48, 0x02}; /* 0x4802 = 2050 */
  assert_memory_equal(rb + r2, want, sizeof want);
  assert_false(p.srv.closed);
  moqc_track_consumer_del(tc);
  ir_close(&p);
}

int main(void) {
  (void)ts_versions; /* the moq-lite matrix of test_session_common.h: not used here */
  const struct CMUnitTest tests[] = {
      IETF_TEST(t_setup),
      IETF_TEST(t_subscribe_after_announce),
      IETF_TEST(t_client_publishes),
      IETF_TEST(t_publish_outside_put),
      IETF_TEST(t_late_join_unsubscribe),
      IETF_TEST(t_frames_byte_for_byte),
      IETF_TEST(t_not_found_and_abort),
      IETF_TEST(t_malformed_control),
      IETF_TEST(t_protocol_violations),
      IETF_TEST(t_setup_params),
      IETF_TEST(t_client_token),
      IETF_TEST(t_request_ids),
      IETF_TEST(t_requests_blocked),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
