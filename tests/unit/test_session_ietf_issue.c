/* IETF requests the library issues or grants (drafts 14, 15, 16), a raw
 * peer injected on the memtransport:
 *   - our MAX_REQUEST_ID window (limits.max_requests): advertised, raised as
 *     the peer's requests complete, never past max_requests open, and a
 *     request over it closes the session with TOO_MANY_REQUESTS;
 *   - SUBSCRIBE_OK's group order says what the group streams deliver;
 *   - SUBSCRIBE_UPDATE / REQUEST_UPDATE sent when a local consumer's
 *     priority changes the track's aggregate priority. */
#include "test_session_ietf_raw.h"

static moqc__ietf_msg msgs[64];

/* The raw peer publishes the namespace room (PUBLISH_NAMESPACE request 0,
 * 17+ on a request stream of its own) and the server's subscribe origin sees
 * it. */
static void announce_room(ts_pair *p, int v, int64_t ctrl) {
  static moqc__ietf_msg m;
  ir_pns_msg(&m, 0, "room");
  (void)ir_request(p, v, ctrl, &m);
  assert_true(ts_wait_announce(p->env, p->srv.sub, "room", 100 * MS));
}

static void subscribe(ts_pair *p, int v, int64_t ctrl, uint64_t req, const char *name,
                      uint8_t order) {
  static moqc__ietf_msg m;
  memset(&m, 0, sizeof m);
  m.type = MOQC_IETF_SUBSCRIBE;
  m.request_id = req;
  assert_int_equal(moqc__ietf_tuple_from_path(&m.ns, "b", 1), MOQC_OK);
  m.name = (moqc_bytes){(const uint8_t *)name, strlen(name)};
  m.priority = 128;
  m.group_order = order;
  m.forward = 1;
  m.filter.type = MOQC_IETF_FILTER_LARGEST_OBJECT;
  m.has = MOQC_IETF_HAS_PRIORITY | MOQC_IETF_HAS_FORWARD | MOQC_IETF_HAS_FILTER;
  if (v == 14 || order != 0xFF) m.has |= MOQC_IETF_HAS_GROUP_ORDER;
  if (order == 0xFF) m.group_order = 0;
  ir_send(p, v, ctrl, &m);
}

static void simple(ts_pair *p, int v, int64_t ctrl, uint64_t type, uint64_t req) {
  static moqc__ietf_msg m;
  memset(&m, 0, sizeof m);
  m.type = type;
  m.request_id = req;
  ir_send(p, v, ctrl, &m);
}

/* The last MAX_REQUEST_ID the server sent (its SERVER_SETUP parameter
 * first), and how many MAX_REQUEST_ID messages. */
static uint64_t server_max(ts_pair *p, int v, int64_t ctrl, size_t *count) {
  size_t n = ir_read(p, v, ctrl, msgs, 64);
  uint64_t max = 0;
  *count = 0;
  for (size_t i = 0; i < n; i++) {
    if (msgs[i].type == MOQC_IETF_SERVER_SETUP) {
      const moqc__ietf_kvp *kv =
          moqc__ietf_params_find(&msgs[i].params, MOQC_IETF_SETUP_MAX_REQUEST_ID);
      assert_non_null(kv);
      max = kv->v;
    } else if (msgs[i].type == MOQC_IETF_MAX_REQUEST_ID) {
      assert_true(msgs[i].request_id > max); /* never lowered */
      max = msgs[i].request_id;
      (*count)++;
    }
  }
  return max;
}

/* limits.max_requests = 4: SERVER_SETUP allows ids < 8; four open
 * subscriptions hold the window shut (no MAX_REQUEST_ID) and a fifth request
 * closes the session with TOO_MANY_REQUESTS; two UNSUBSCRIBEs reopen it by
 * two (MAX_REQUEST_ID 12), and id 12 is again one too many. */
static void t_window_cap(void **state) {
  int v = ts_version(state);
  moqc_session_limits lim = {0};
  lim.max_requests = 4;
  for (int overflow = 0; overflow < 2; overflow++) {
    ts_pair p;
    ir_server_on(&p, v, &lim, NULL, NULL, ts_on_request);
    ts_pub pub;
    ts_publish(&pub, p.env, p.srv.pub, "b", "t", NULL);
    int64_t ctrl;
    ir_setup(&p, v, &ctrl, 1);
    ts_run_for(p.env, 10 * MS);
    size_t count;
    assert_int_equal(server_max(&p, v, ctrl, &count), 8);
    for (uint64_t id = 0; id < 8; id += 2) subscribe(&p, v, ctrl, id, "t", 2);
    ts_run_for(p.env, 10 * MS);
    assert_false(p.srv.closed);
    assert_int_equal(moqc_session_get_stats(p.srv.s).serving, 4);
    assert_int_equal(server_max(&p, v, ctrl, &count), 8);
    assert_int_equal(count, 0);
    if (overflow) {
      subscribe(&p, v, ctrl, 8, "t", 2);
      ts_run_for(p.env, 10 * MS);
      assert_true(p.srv.closed);
      assert_int_equal(p.srv.code, 0x7);
    } else {
      /* REQUESTS_BLOCKED with everything still open: no grant. */
      simple(&p, v, ctrl, MOQC_IETF_REQUESTS_BLOCKED, 8);
      ts_run_for(p.env, 10 * MS);
      assert_int_equal(server_max(&p, v, ctrl, &count), 8);
      simple(&p, v, ctrl, MOQC_IETF_UNSUBSCRIBE, 0);
      simple(&p, v, ctrl, MOQC_IETF_UNSUBSCRIBE, 2);
      ts_run_for(p.env, 10 * MS);
      assert_int_equal(server_max(&p, v, ctrl, &count), 12);
      assert_int_equal(count, 1);
      subscribe(&p, v, ctrl, 8, "t", 2);
      subscribe(&p, v, ctrl, 10, "t", 2);
      ts_run_for(p.env, 10 * MS);
      assert_false(p.srv.closed);
      subscribe(&p, v, ctrl, 12, "t", 2);
      ts_run_for(p.env, 10 * MS);
      assert_true(p.srv.closed);
      assert_int_equal(p.srv.code, 0x7);
    }
    ts_pub_del(&pub);
    ir_close(&p);
  }
}

/* Requests that complete when answered (SUBSCRIBE to an unknown track: an
 * error) never exhaust the window: 40 of them through a window of 4 keep
 * the session up, with MAX_REQUEST_ID raised along the way. */
static void t_window_raised(void **state) {
  int v = ts_version(state);
  moqc_session_limits lim = {0};
  lim.max_requests = 4;
  ts_pair p;
  ir_server_on(&p, v, &lim, NULL, NULL, ts_on_request);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "b", "t", NULL);
  int64_t ctrl;
  ir_setup(&p, v, &ctrl, 1);
  ts_run_for(p.env, 10 * MS);
  for (uint64_t id = 0; id < 80; id += 2) {
    subscribe(&p, v, ctrl, id, "nope", 2);
    ts_run_for(p.env, 2 * MS);
    assert_false(p.srv.closed);
  }
  size_t count;
  uint64_t max = server_max(&p, v, ctrl, &count);
  assert_true(max > 80);
  assert_true(count >= 18); /* batches of half a window: about one per 2 requests */
  assert_true(count <= 40);
  ts_pub_del(&pub);
  ir_close(&p);
}

/* SUBSCRIBE_OK's group order is the one the group streams are prioritised
 * by: ascending asked -> 1, descending -> 2, publisher's choice (0 / absent)
 * -> the track's own preference. */
static void t_subscribe_ok_order(void **state) {
  int v = ts_version(state);
  ts_pair p;
  ir_server(&p, v);
  ts_pub pub, pub2;
  ts_publish(&pub, p.env, p.srv.pub, "b", "t", NULL);
  moqc_track_info info = MOQC_TRACK_INFO_DEFAULT;
  info.ordered = true;
  int err = 0;
  memset(&pub2, 0, sizeof pub2);
  pub2.tp = moqc_broadcast_producer_create_track(pub.bp, "o", &info, &err);
  assert_non_null(pub2.tp);
  int64_t ctrl;
  ir_setup(&p, v, &ctrl, 1);
  ts_run_for(p.env, 10 * MS);
  static const struct {
    const char *track;
    uint8_t asked; /* 0xFF: none (15+) */
    uint8_t want;
  } cases[] = {{"t", 1, 1}, {"t", 2, 2}, {"t", 0, 2}, {"o", 0, 1}, {"o", 2, 2}, {"o", 0xFF, 1}};
  size_t nc = sizeof cases / sizeof cases[0];
  for (size_t i = 0; i < nc; i++) subscribe(&p, v, ctrl, 2 * i, cases[i].track, cases[i].asked);
  ts_run_for(p.env, 10 * MS);
  size_t n = ir_read(&p, v, ctrl, msgs, 64);
  size_t seen = 0;
  for (size_t i = 0; i < n; i++) {
    if (msgs[i].type != MOQC_IETF_SUBSCRIBE_OK) continue;
    uint64_t k = msgs[i].request_id / 2;
    assert_true(k < nc);
    assert_true(msgs[i].has & MOQC_IETF_HAS_GROUP_ORDER);
    assert_int_equal(msgs[i].group_order, cases[k].want);
    seen++;
  }
  assert_int_equal(seen, nc);
  assert_false(p.srv.closed);
  moqc_track_producer_del(pub2.tp);
  ts_pub_del(&pub);
  ir_close(&p);
}

/* The server subscribes to a track the raw peer announced; local consumers'
 * priorities drive SUBSCRIBE_UPDATE / REQUEST_UPDATE: raised by a new
 * consumer above the aggregate, none for one below it, lowered back when
 * the high one leaves; each with a new request id naming the SUBSCRIBE. */
static void t_update_issued(void **state) {
  int v = ts_version(state);
  ts_pair p;
  int64_t ctrl;
  ir_open(&p, v, &ctrl, 1);
  announce_room(&p, v, ctrl);

  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  sub.priority = 10;
  moqc_track_consumer *a = ts_subscribe(p.srv.sub, "room", "t", &sub, NULL);
  ts_run_for(p.env, 10 * MS);
  size_t n = ir_read(&p, v, ctrl, msgs, 64);
  const moqc__ietf_msg *s0 = NULL;
  for (size_t i = 0; i < n; i++)
    if (msgs[i].type == MOQC_IETF_SUBSCRIBE) s0 = &msgs[i];
  assert_non_null(s0);
  uint64_t sub_req = s0->request_id;
  assert_int_equal(s0->priority, 245);
  assert_int_equal(ir_count(msgs, n, MOQC_IETF_REQUEST_UPDATE), 0);

  sub.priority = 200; /* a second consumer, higher: the aggregate rises */
  moqc_track_consumer *b = ts_subscribe(p.srv.sub, "room", "t", &sub, NULL);
  ts_run_for(p.env, 10 * MS);
  sub.priority = 5; /* a third, lower: no change */
  moqc_track_consumer *c = ts_subscribe(p.srv.sub, "room", "t", &sub, NULL);
  ts_run_for(p.env, 10 * MS);
  n = ir_read(&p, v, ctrl, msgs, 64);
  assert_int_equal(ir_count(msgs, n, MOQC_IETF_SUBSCRIBE), 1);
  assert_int_equal(ir_count(msgs, n, MOQC_IETF_REQUEST_UPDATE), 1);
  moqc_track_consumer_del(b); /* back to 10 */
  ts_run_for(p.env, 10 * MS);
  n = ir_read(&p, v, ctrl, msgs, 64);
  assert_int_equal(ir_count(msgs, n, MOQC_IETF_REQUEST_UPDATE), 2);
  uint8_t want[2] = {55, 245};
  size_t k = 0;
  uint64_t last_req = sub_req;
  for (size_t i = 0; i < n; i++) {
    if (msgs[i].type != MOQC_IETF_REQUEST_UPDATE) continue;
    assert_int_equal(msgs[i].update_id, sub_req);
    assert_true(msgs[i].request_id > last_req); /* a new request id of the server's */
    assert_int_equal(msgs[i].request_id & 1, 1);
    last_req = msgs[i].request_id;
    assert_true(msgs[i].has & MOQC_IETF_HAS_PRIORITY);
    assert_int_equal(msgs[i].priority, want[k]);
    if (v == 14) assert_int_equal(msgs[i].forward, 1);
    k++;
  }
  /* Draft-14 SUBSCRIBE_UPDATE, byte for byte: type 0x02, length, request id,
   * subscription id, start {0, 0}, end group 0, priority 245, forward 1, no
   * parameters. */
  if (v == 14) {
    size_t len = 0;
    const uint8_t *raw = memlink_inject_received(p.link, memlink_server(p.link), ctrl, &len);
    uint8_t want14[] = {0x02, 0x00, 0x08, (uint8_t)last_req, (uint8_t)sub_req, 0, 0, 0, 245, 1, 0};
    assert_true(len >= sizeof want14);
    assert_memory_equal(raw + len - sizeof want14, want14, sizeof want14);
  }
  assert_false(p.srv.closed);
  moqc_track_consumer_del(a);
  moqc_track_consumer_del(c);
  ts_run_for(p.env, 10 * MS);
  ir_close(&p);
}

/* ---- relay FETCH upstream -------------------------------------------------------- */

static const char *const F3[] = {"alpha", "", "gamma-gamma"};

/* Streams the downstream server opened toward the raw peer. */
static ir_rx_stream rx[16];
static size_t nrx;

static void rx_data(void *ctx, int64_t id, const uint8_t *p, size_t len, bool fin) {
  (void)ctx;
  assert_true(ir_rx_add(rx, &nrx, 16, id, p, len, fin));
}
static const moqc_transport_handler rx_handler = {.stream_data = rx_data};

/* The finished FETCH stream of request req holds exactly the groups
 * [g0, g1], each as the three objects of F3. */
static void expect_fetched(int v, uint64_t req, uint64_t g0, uint64_t g1) {
  ir_expect_fetched(rx, nrx, v, req, g0, g1, F3, 3);
}

/* A relay: an upstream moqc publisher (u.srv, groups 0-9 cached) reached by
 * the relay's client session u.cli, which holds a live subscription (from
 * group 9: SUBSCRIBE largest object); a downstream raw peer FETCHes through
 * a server session on the relay's origin. Groups not cached at the relay
 * are fetched upstream: two concurrent downstream FETCHes [3,5] and [3,4]
 * cost one upstream FETCH ([3, 9]: up to what the subscription delivered);
 * [4,6] is then served from the cache with none; [1,2] costs one more
 * ([1,2], below what was asked already). */
static void t_relay_fetch_upstream(void **state) {
  int v = ts_version(state);
  moqc_env *env = ts_env_new();
  ts_pair u;
  ts_pub pub;
  ts_up_open(&u, env, v, &pub, F3, 3, 10);
  moqc_track_consumer *live = ts_up_live(&u);
  assert_int_equal(moqc_session_get_stats(u.srv.s).subscribes_served, 1);

  ts_pair d;
  nrx = 0;
  int64_t ctrl;
  ir_server_rx_on(&d, v, env, u.cli.sub, &rx_handler, &ctrl, 1);
  int64_t f0 = ir_fetch_range(&d, v, ctrl, 0, "b", "t", 3, 5);
  int64_t f2 = ir_fetch_range(&d, v, ctrl, 2, "b", "t", 3, 4);
  ts_run_for(env, 50 * MS);
  ir_expect_fetch_ok(&d, v, f0, 0);
  ir_expect_fetch_ok(&d, v, f2, 2);
  expect_fetched(v, 0, 3, 5);
  expect_fetched(v, 2, 3, 4);
  assert_int_equal(moqc_session_get_stats(u.srv.s).subscribes_served, 2); /* + one FETCH */

  int64_t f4 = ir_fetch_range(&d, v, ctrl, 4, "b", "t", 4, 6);
  ts_run_for(env, 20 * MS);
  ir_expect_fetch_ok(&d, v, f4, 4);
  expect_fetched(v, 4, 4, 6);
  assert_int_equal(moqc_session_get_stats(u.srv.s).subscribes_served, 2);

  int64_t f6 = ir_fetch_range(&d, v, ctrl, 6, "b", "t", 1, 2);
  ts_run_for(env, 50 * MS);
  ir_expect_fetch_ok(&d, v, f6, 6);
  expect_fetched(v, 6, 1, 2);
  assert_int_equal(moqc_session_get_stats(u.srv.s).subscribes_served, 3);
  assert_false(d.srv.closed);
  assert_false(u.cli.closed);
  assert_false(u.srv.closed);
  assert_int_equal(moqc_session_get_stats(u.cli.s).serving, 0); /* upstream fetches done */

  ir_close_env(&d);
  moqc_track_consumer_del(live);
  ts_up_close(&u, &pub);
  moqc_env_del(env);
}

/* A moq-lite-05 client FETCHes one group through the relay (its FETCH waits
 * on a [seq, seq] subscription, pub_track_fetch.c): the relay's IETF
 * upstream session fetches it upstream, once, and the lite FETCH gets it. */
static void t_relay_fetch_upstream_lite(void **state) {
  int v = ts_version(state);
  moqc_env *env = ts_env_new();
  ts_pair u;
  ts_pub pub;
  ts_up_open(&u, env, v, &pub, F3, 3, 6);
  moqc_track_consumer *live = ts_up_live(&u);
  assert_int_equal(moqc_session_get_stats(u.srv.s).subscribes_served, 1);

  ts_lite_fetch_via(env, u.cli.sub, 2, F3, 3);
  assert_int_equal(moqc_session_get_stats(u.srv.s).subscribes_served, 2); /* + one FETCH */
  moqc_track_consumer_del(live);
  ts_up_close(&u, &pub);
  moqc_env_del(env);
}

/* ---- 17+: REQUEST_UPDATE on the SUBSCRIBE's request stream ---------------------------- */

/* The server's bidi stream (server-initiated: id & 3 == 1) that starts
 * with a message of this type (the newest), and its messages into msgs
 * (every byte must decode). */
static ir_rx_stream *srv_bidi(int v, uint64_t type, size_t *n) {
  ir_rx_stream *r = NULL;
  for (size_t i = 0; i < nrx; i++) {
    if ((rx[i].id & 3) != 1 || !rx[i].len) continue;
    if (moqc__ietf_ctrl_decode(&msgs[0], v, rx[i].buf, rx[i].len) <= 0) continue;
    if (msgs[0].type == type) r = &rx[i];
  }
  assert_non_null(r);
  size_t off = 0;
  *n = 0;
  while (off < r->len) {
    assert_true(*n < 64);
    ssize_t k = moqc__ietf_ctrl_decode(&msgs[*n], v, r->buf + off, r->len - off);
    assert_true(k > 0);
    off += (size_t)k;
    (*n)++;
  }
  return r;
}

/* Drafts 17-19: as t_update_issued, the REQUEST_UPDATEs go on the
 * SUBSCRIBE's own request stream after it (a new odd request id each, the
 * priority; no subscription id on the wire), the stream staying open; the
 * peer's REQUEST_OK there, and a REQUEST_ERROR after SUBSCRIBE_OK, are read
 * and ignored (session up, subscription on, a further update still sent). */
static void t_update_issued17(void **state) {
  int v = ts_version(state);
  ts_pair p;
  nrx = 0;
  int64_t ctrl;
  ir_server_rx(&p, v, &rx_handler, &ctrl);
  announce_room(&p, v, ctrl);

  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  sub.priority = 10;
  moqc_track_consumer *a = ts_subscribe(p.srv.sub, "room", "t", &sub, NULL);
  ts_run_for(p.env, 10 * MS);
  size_t n;
  ir_rx_stream *r = srv_bidi(v, MOQC_IETF_SUBSCRIBE, &n);
  assert_int_equal(n, 1);
  assert_int_equal(msgs[0].type, MOQC_IETF_SUBSCRIBE);
  uint64_t sub_req = msgs[0].request_id;
  assert_int_equal(msgs[0].priority, 245);
  static moqc__ietf_msg ok;
  memset(&ok, 0, sizeof ok);
  ok.type = MOQC_IETF_SUBSCRIBE_OK;
  ok.request_id = sub_req;
  ok.track_alias = 7;
  ok.group_order = 1;
  ir_msg_on(&p, v, r->id, &ok, false);
  ts_run_for(p.env, 10 * MS);

  sub.priority = 200; /* higher: the aggregate rises */
  moqc_track_consumer *b = ts_subscribe(p.srv.sub, "room", "t", &sub, NULL);
  ts_run_for(p.env, 10 * MS);
  static moqc__ietf_msg ans;
  memset(&ans, 0, sizeof ans);
  ans.type = MOQC_IETF_REQUEST_OK;
  ir_msg_on(&p, v, r->id, &ans, false);
  moqc_track_consumer_del(b); /* back to 10 */
  ts_run_for(p.env, 10 * MS);
  memset(&ans, 0, sizeof ans);
  ans.type = MOQC_IETF_REQUEST_ERROR;
  ans.code = 0x3;
  ir_msg_on(&p, v, r->id, &ans, false);
  ts_run_for(p.env, 10 * MS);
  sub.priority = 100; /* the subscription goes on: one more update */
  b = ts_subscribe(p.srv.sub, "room", "t", &sub, NULL);
  ts_run_for(p.env, 10 * MS);
  r = srv_bidi(v, MOQC_IETF_SUBSCRIBE, &n);
  assert_false(r->fin);
  assert_int_equal(n, 4);
  uint8_t want[3] = {55, 245, 155};
  uint64_t last_req = sub_req;
  for (size_t i = 1; i < n; i++) {
    assert_int_equal(msgs[i].type, MOQC_IETF_REQUEST_UPDATE);
    assert_true(msgs[i].request_id > last_req);
    assert_int_equal(msgs[i].request_id & 1, 1);
    last_req = msgs[i].request_id;
    assert_true(msgs[i].has & MOQC_IETF_HAS_PRIORITY);
    assert_int_equal(msgs[i].priority, want[i - 1]);
  }
  assert_false(p.srv.closed);
  assert_int_equal(moqc_session_get_stats(p.srv.s).subscribes_served, 0);
  moqc_track_consumer_del(a);
  moqc_track_consumer_del(b);
  ts_run_for(p.env, 10 * MS);
  assert_true(r->fin); /* unsubscribed: STOP_SENDING + FIN */
  ir_close(&p);
}

/* Drafts 17-19, as t_publish_refused: the PUBLISH goes on a bidi stream of
 * its own (odd request id = alias, b/t), held open; refused there with
 * REQUEST_ERROR it ends (no group sent, the server's FIN, the session up);
 * accepted (PUBLISH_OK on 17, REQUEST_OK on 18+), the waiting group flows;
 * the peer's FIN of the stream then ends the push. */
static void t_publish_refused17(void **state) {
  int v = ts_version(state);
  ts_pair p;
  nrx = 0;
  int64_t ctrl;
  ir_server_rx(&p, v, &rx_handler, &ctrl);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "b", "t", NULL);
  ts_group(pub.tp, F3, 2, true);
  for (int accept = 0; accept < 2; accept++) {
    assert_int_equal(moqc_session_publish_track(p.srv.s, "b", "t"), MOQC_OK);
    ts_run_for(p.env, 10 * MS);
    size_t n;
    ir_rx_stream *r = srv_bidi(v, MOQC_IETF_PUBLISH, &n);
    assert_int_equal(n, 1);
    const moqc__ietf_msg *pm = &msgs[0];
    assert_int_equal(pm->request_id & 1, 1);
    assert_int_equal(pm->track_alias, pm->request_id);
    assert_int_equal(pm->name.len, 1);
    assert_memory_equal(pm->name.ptr, "t", 1);
    assert_false(r->fin);
    assert_int_equal(moqc_session_get_stats(p.srv.s).serving, 1);
    ts_group(pub.tp, F3, 1, true); /* waits for the answer */
    ts_run_for(p.env, 10 * MS);
    assert_int_equal(moqc_session_get_stats(p.srv.s).groups_sent, 0);
    static moqc__ietf_msg a;
    memset(&a, 0, sizeof a);
    if (accept) {
      a.type = v == 17 ? MOQC_IETF_PUBLISH_OK : MOQC_IETF_REQUEST_OK;
    } else {
      a.type = MOQC_IETF_REQUEST_ERROR;
      a.code = 0x3;
      a.reason = (moqc_bytes){(const uint8_t *)"no", 2};
    }
    ir_msg_on(&p, v, r->id, &a, false);
    ts_run_for(p.env, 20 * MS);
    assert_false(p.srv.closed);
    if (!accept) {
      assert_true(r->fin);
      assert_int_equal(moqc_session_get_stats(p.srv.s).serving, 0);
      assert_int_equal(moqc_session_get_stats(p.srv.s).groups_sent, 0);
      assert_int_equal(moqc_session_get_stats(p.srv.s).pushes_accepted, 0);
    } else {
      assert_false(r->fin);
      assert_int_equal(moqc_session_get_stats(p.srv.s).serving, 1);
      assert_int_equal(moqc_session_get_stats(p.srv.s).pushes_accepted, 1);
      assert_true(moqc_session_get_stats(p.srv.s).groups_sent >= 1); /* the waiting group */
      ir_write_on(&p, r->id, NULL, 0, true); /* the raw peer's FIN: the end */
      ts_run_for(p.env, 20 * MS);
      assert_int_equal(moqc_session_get_stats(p.srv.s).serving, 0);
      assert_true(r->fin);
    }
  }
  assert_false(p.srv.closed);
  ts_pub_del(&pub);
  ir_close(&p);
}

/* ---- TRACK_STATUS issued ----------------------------------------------------------- */

typedef struct ts_answer {
  int calls;
  moqc_session_track_status_result st;
} ts_answer;

static void on_status(void *ctx, moqc_session *s, const moqc_session_track_status_result *st) {
  (void)s;
  ts_answer *a = ctx;
  a->calls++;
  a->st = *st;
}

/* moqc_session_track_status between two moqc sessions: the largest location
 * (group 1, its third frame), no content for an empty track (after the
 * server's 100 ms wait), NOT_FOUND for an unknown track; each callback
 * once. moq-lite: UNSUPPORTED. */
static void t_track_status_issued(void **state) {
  int v = ts_version(state);
  ts_pair p;
  ts_pair_open(&p, v, NULL);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "room/a", "v", NULL);
  int err = 0;
  moqc_track_producer *empty = moqc_broadcast_producer_create_track(pub.bp, "e", NULL, &err);
  assert_non_null(empty);
  ts_group(pub.tp, F3, 2, true);
  ts_group(pub.tp, F3, 3, true);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "room/a", 100 * MS));
  ts_answer a = {0}, b = {0}, c = {0};
  assert_int_equal(moqc_session_track_status(p.cli.s, "room/a", "v", on_status, &a), MOQC_OK);
  assert_int_equal(moqc_session_track_status(p.cli.s, "room/a", "nope", on_status, &b), MOQC_OK);
  assert_int_equal(moqc_session_track_status(p.cli.s, "room/a", "e", on_status, &c), MOQC_OK);
  assert_int_equal(moqc_session_track_status(p.cli.s, "room//a", "v", on_status, &c),
                   MOQC_ERR_INVAL);
  assert_int_equal(moqc_session_track_status(p.cli.s, "room/a", "v", NULL, NULL), MOQC_ERR_INVAL);
  ts_run_for(p.env, 20 * MS);
  assert_int_equal(a.calls, 1);
  assert_int_equal(a.st.status, MOQC_OK);
  assert_true(a.st.has_largest);
  assert_int_equal(a.st.largest_group, 1);
  assert_int_equal(a.st.largest_object, 2);
  assert_int_equal(b.calls, 1);
  assert_int_equal(b.st.status, MOQC_ERR_NOT_FOUND);
  /* DOES_NOT_EXIST: 0x4 on 14, 0x10 in 15+'s REQUEST_ERROR registry (0x4 is
   * MALFORMED_AUTH_TOKEN there). */
  assert_int_equal(b.st.code, v == 14 ? 0x4 : 0x10);
  assert_int_equal(c.calls, 0); /* the server waits up to 100 ms for a group */
  ts_run_for(p.env, 150 * MS);
  assert_int_equal(c.calls, 1);
  assert_int_equal(c.st.status, MOQC_OK);
  assert_false(c.st.has_largest);
  assert_int_equal(a.calls + b.calls, 2);
  assert_false(p.cli.closed);
  moqc_track_producer_del(empty);
  ts_pub_del(&pub);
  ts_pair_close(&p);

  ts_pair_open(&p, MOQC_SESSION_LITE_05, NULL);
  assert_int_equal(moqc_session_track_status(p.cli.s, "room/a", "v", on_status, &a),
                   MOQC_ERR_UNSUPPORTED);
  ts_pair_close(&p);
}

/* Drafts 17-19, a raw peer: the TRACK_STATUS goes on a bidi stream of its
 * own (b/t, an odd request id), held open until answered; REQUEST_OK with
 * LARGEST_OBJECT there gives the location, REQUEST_ERROR 0x10 (DOES_NOT_EXIST)
 * NOT_FOUND while 0x4 (MALFORMED_AUTH_TOKEN from 15 on) is not, and
 * the stream's FIN with no answer MOQC_ERR_UNEXPECTED; each callback once,
 * then the server's FIN. */
static void t_track_status_issued17(void **state) {
  int v = ts_version(state);
  ts_pair p;
  nrx = 0;
  int64_t ctrl;
  ir_server_rx(&p, v, &rx_handler, &ctrl);
  /* REQUEST_OK, REQUEST_ERROR 0x10, FIN unanswered, REQUEST_ERROR 0x4 */
  for (int mode = 0; mode < 4; mode++) {
    ts_answer a = {0};
    assert_int_equal(moqc_session_track_status(p.srv.s, "b", "t", on_status, &a), MOQC_OK);
    ts_run_for(p.env, 10 * MS);
    size_t n;
    ir_rx_stream *r = srv_bidi(v, MOQC_IETF_TRACK_STATUS, &n);
    assert_int_equal(n, 1);
    assert_int_equal(msgs[0].request_id & 1, 1);
    assert_int_equal(msgs[0].name.len, 1);
    assert_memory_equal(msgs[0].name.ptr, "t", 1);
    assert_false(r->fin);
    static moqc__ietf_msg m;
    memset(&m, 0, sizeof m);
    if (mode == 0) {
      m.type = MOQC_IETF_REQUEST_OK;
      m.largest = (moqc__ietf_loc){5, 2};
      m.has = MOQC_IETF_HAS_LARGEST;
      ir_msg_on(&p, v, r->id, &m, true);
    } else if (mode == 1 || mode == 3) {
      m.type = MOQC_IETF_REQUEST_ERROR;
      m.code = mode == 1 ? 0x10 : 0x4;
      ir_msg_on(&p, v, r->id, &m, true);
    } else {
      ir_write_on(&p, r->id, NULL, 0, true);
    }
    ts_run_for(p.env, 10 * MS);
    assert_int_equal(a.calls, 1);
    assert_true(r->fin);
    if (mode == 0) {
      assert_int_equal(a.st.status, MOQC_OK);
      assert_true(a.st.has_largest);
      assert_int_equal(a.st.largest_group, 5);
      assert_int_equal(a.st.largest_object, 2);
    } else {
      assert_int_equal(a.st.status, mode == 1 ? MOQC_ERR_NOT_FOUND : MOQC_ERR_UNEXPECTED);
      assert_int_equal(a.st.code, mode == 1 ? 0x10 : mode == 3 ? 0x4 : 0);
    }
  }
  assert_false(p.srv.closed);
  ir_close(&p);
}

/* ---- joining FETCH issued ---------------------------------------------------------- */

/* A consumer asking for past groups (an explicit open-ended start): to a
 * peer that declared no MoQ Solicit (imquic), SUBSCRIBE at the live edge
 * (largest object) plus an absolute joining FETCH from the start, naming the
 * SUBSCRIBE; to a Solicit peer (moq-dev, which resets FETCH streams; moqc)
 * SUBSCRIBE with AbsoluteStart = the start and no FETCH. moqc <-> moqc (Solicit):
 * the consumer reads groups 3..9 of 10 cached from that one SUBSCRIBE.
 * 17+: test_session_ietf_peer17.c t_past_start17. */
static void t_joining_fetch(void **state) {
  int v = ts_version(state);
  ts_pair p;
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  moqc_track_consumer *tc = NULL;
  if (v >= 17) goto moqc_peer; /* 17+: the requests on their streams, moqc <-> moqc below */
  for (int solicit = 0; solicit < 2; solicit++) {
    int64_t ctrl;
    ir_open(&p, v, &ctrl, solicit ? 1 : -1);
    announce_room(&p, v, ctrl);
    sub.start = 2;
    tc = ts_subscribe(p.srv.sub, "room", "t", &sub, NULL);
    ts_run_for(p.env, 10 * MS);
    size_t n = ir_read(&p, v, ctrl, msgs, 64);
    const moqc__ietf_msg *sm = NULL, *fm = NULL;
    for (size_t i = 0; i < n; i++) {
      if (msgs[i].type == MOQC_IETF_SUBSCRIBE) sm = &msgs[i];
      if (msgs[i].type == MOQC_IETF_FETCH) {
        assert_non_null(sm); /* after the SUBSCRIBE */
        fm = &msgs[i];
      }
    }
    assert_non_null(sm);
    if (solicit) {
      assert_null(fm);
      assert_int_equal(sm->filter.type, MOQC_IETF_FILTER_ABSOLUTE_START);
      assert_int_equal(sm->filter.start.group, 2);
      assert_int_equal(sm->filter.start.object, 0);
    } else {
      assert_non_null(fm);
      assert_int_equal(sm->filter.type, MOQC_IETF_FILTER_LARGEST_OBJECT);
      assert_int_equal(fm->fetch.type, MOQC_IETF_FETCH_ABSOLUTE_JOINING);
      assert_int_equal(fm->fetch.joining_request, sm->request_id);
      assert_int_equal(fm->fetch.joining_start, 2);
      assert_true(fm->request_id > sm->request_id);
    }
    moqc_track_consumer_del(tc);
    ts_run_for(p.env, 10 * MS);
    ir_close(&p);
  }

moqc_peer:
  ts_pair_open(&p, v, NULL);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "room/a", "v", NULL);
  for (int g = 0; g < 10; g++) ts_group(pub.tp, F3, 3, true);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "room/a", 100 * MS));
  sub.start = 3;
  tc = ts_subscribe(p.cli.sub, "room/a", "v", &sub, NULL);
  ts_run_for(p.env, 50 * MS);
  uint64_t seen = 0;
  moqc_group_consumer *g = NULL;
  while (moqc_track_consumer_recv_group(tc, &g) == MOQC_OK) {
    assert_int_equal(moqc_group_consumer_frames_available(g), 3);
    seen |= (uint64_t)1 << moqc_group_consumer_sequence(g);
    moqc_group_consumer_del(g);
  }
  assert_int_equal(seen, 0x3F8);                                          /* groups 3..9 */
  assert_int_equal(moqc_session_get_stats(p.srv.s).subscribes_served, 1); /* no FETCH */
  moqc_track_consumer_del(tc);
  assert_false(p.cli.closed);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

/* How many server bidi streams start with a message of this type. */
static size_t srv_bidi_count(int v, uint64_t type) {
  size_t k = 0;
  static moqc__ietf_msg m;
  for (size_t i = 0; i < nrx; i++) {
    if ((rx[i].id & 3) != 1 || !rx[i].len) continue;
    if (moqc__ietf_ctrl_decode(&m, v, rx[i].buf, rx[i].len) > 0 && m.type == type) k++;
  }
  return k;
}

/* 17+, t_joining_fetch's bytes: a consumer's past start (group 2) to a peer
 * that declared no Solicit is a SUBSCRIBE at the live edge, and the absolute
 * joining FETCH naming it goes out only after that SUBSCRIBE's SUBSCRIBE_OK
 * (on its own request stream it could otherwise reach the peer first); to a
 * Solicit peer a SUBSCRIBE with AbsoluteStart 2 and never a FETCH. Before,
 * both peers got the FETCH, right behind the SUBSCRIBE. A SUBSCRIBE_OK whose
 * largest group (1) is below the start: no FETCH (nothing to join). */
static void t_past_start17(void **state) {
  int v = ts_version(state);
  for (int solicit = 0; solicit < 3; solicit++) { /* 2: no Solicit, largest group 1 < 2 */
    ts_pair p;
    nrx = 0;
    int64_t ctrl;
    ir_server_rx_on(&p, v, NULL, NULL, &rx_handler, &ctrl, solicit == 1 ? 1 : -1);
    announce_room(&p, v, ctrl);
    moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
    sub.start = 2;
    moqc_track_consumer *tc = ts_subscribe(p.srv.sub, "room", "t", &sub, NULL);
    ts_run_for(p.env, 20 * MS);
    size_t n;
    ir_rx_stream *r = srv_bidi(v, MOQC_IETF_SUBSCRIBE, &n);
    assert_int_equal(n, 1);
    uint64_t sub_req = msgs[0].request_id;
    if (solicit == 1) {
      assert_int_equal(msgs[0].filter.type, MOQC_IETF_FILTER_ABSOLUTE_START);
      assert_int_equal(msgs[0].filter.start.group, 2);
    } else {
      assert_int_equal(msgs[0].filter.type, MOQC_IETF_FILTER_LARGEST_OBJECT);
    }
    assert_int_equal(srv_bidi_count(v, MOQC_IETF_FETCH), 0); /* not before SUBSCRIBE_OK */
    static moqc__ietf_msg ok;
    memset(&ok, 0, sizeof ok);
    ok.type = MOQC_IETF_SUBSCRIBE_OK;
    ok.request_id = sub_req;
    ok.track_alias = 7;
    ok.group_order = 1;
    ok.has = MOQC_IETF_HAS_LARGEST;
    ok.largest = (moqc__ietf_loc){solicit == 2 ? 1 : 5, 0};
    ir_msg_on(&p, v, r->id, &ok, false);
    ts_run_for(p.env, 20 * MS);
    assert_false(p.srv.closed);
    assert_int_equal(srv_bidi_count(v, MOQC_IETF_FETCH), solicit == 0);
    if (solicit == 0) {
      (void)srv_bidi(v, MOQC_IETF_FETCH, &n);
      assert_int_equal(msgs[0].fetch.type, MOQC_IETF_FETCH_ABSOLUTE_JOINING);
      assert_int_equal(msgs[0].fetch.joining_request, sub_req);
      assert_int_equal(msgs[0].fetch.joining_start, 2);
      assert_true(msgs[0].request_id > sub_req);
    }
    moqc_track_consumer_del(tc);
    ts_run_for(p.env, 10 * MS);
    ir_close(&p);
  }
}

/* ---- PUBLISH issued ----------------------------------------------------------------- */

/* moqc <-> moqc: the client pushes a track with PUBLISH; the server takes
 * its groups into its cache with no subscriber of its own asking (a
 * SUBSCRIBE-driven track would get none), and a later subscriber from group
 * 0 reads them; the track's end ends the push (serving 0 on the client). */
static void t_publish_issued(void **state) {
  int v = ts_version(state);
  ts_pair p;
  ts_pair_open(&p, v, NULL);
  ts_run_for(p.env, 10 * MS);
  ts_pub pub;
  ts_publish(&pub, p.env, p.cli.pub, "room/a", "v", NULL);
  assert_true(ts_wait_announce(p.env, p.srv.sub, "room/a", 100 * MS));
  assert_int_equal(moqc_session_publish_track(p.cli.s, "room/a", "v"), MOQC_OK);
  assert_int_equal(moqc_session_publish_track(p.cli.s, "room/b", "v"), MOQC_ERR_UNROUTABLE);
  assert_int_equal(moqc_session_publish_track(p.cli.s, "room/a", "nope"), MOQC_ERR_NOT_FOUND);
  ts_run_for(p.env, 20 * MS);
  ts_group(pub.tp, F3, 3, true);
  ts_group(pub.tp, F3, 3, true);
  ts_run_for(p.env, 20 * MS);
  assert_int_equal(moqc_session_get_stats(p.srv.s).groups_received, 2);
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  sub.start = 0;
  moqc_track_consumer *tc = ts_subscribe(p.srv.sub, "room/a", "v", &sub, NULL);
  ts_run_for(p.env, 10 * MS);
  uint64_t seen = 0; /* both groups, newest first (the push is not ordered) */
  for (int i = 0; i < 2; i++) {
    moqc_group_consumer *g = NULL;
    assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_OK);
    seen |= (uint64_t)1 << moqc_group_consumer_sequence(g);
    assert_int_equal(moqc_group_consumer_frames_available(g), 3);
    moqc_group_consumer_del(g);
  }
  assert_int_equal(seen, 3);
  assert_int_equal(moqc_session_get_stats(p.srv.s).groups_received, 2); /* no SUBSCRIBE needed */
  assert_int_equal(moqc_track_producer_finish(pub.tp), MOQC_OK);
  ts_run_for(p.env, 1000 * MS);
  assert_int_equal(moqc_session_get_stats(p.cli.s).serving, 0);
  moqc_group_consumer *gc = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &gc), MOQC_ERR_CLOSED);
  moqc_track_consumer_del(tc);
  assert_false(p.cli.closed);
  assert_false(p.srv.closed);
  ts_pub_del(&pub);
  ts_pair_close(&p);

  ts_pair_open(&p, MOQC_SESSION_LITE_05, NULL);
  assert_int_equal(moqc_session_publish_track(p.cli.s, "room/a", "v"), MOQC_ERR_UNSUPPORTED);
  ts_pair_close(&p);
}

/* A raw peer: the PUBLISH as sent (alias = request id, the namespace and
 * name); refused (what moq-dev's relay
 * answers) it ends with no group sent and the session up; accepted, groups
 * flow only after PUBLISH_OK. */
static void t_publish_refused(void **state) {
  int v = ts_version(state);
  ts_pair p;
  ir_server(&p, v);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "b", "t", NULL);
  ts_group(pub.tp, F3, 2, true);
  ts_group(pub.tp, F3, 3, true);
  int64_t ctrl;
  ir_setup(&p, v, &ctrl, 1);
  ts_run_for(p.env, 10 * MS);
  for (int accept = 0; accept < 2; accept++) {
    assert_int_equal(moqc_session_publish_track(p.srv.s, "b", "t"), MOQC_OK);
    ts_run_for(p.env, 10 * MS);
    size_t n = ir_read(&p, v, ctrl, msgs, 64);
    const moqc__ietf_msg *pm = NULL;
    for (size_t i = 0; i < n; i++)
      if (msgs[i].type == MOQC_IETF_PUBLISH) pm = &msgs[i];
    assert_non_null(pm);
    assert_int_equal(ir_count(msgs, n, MOQC_IETF_PUBLISH), accept + 1);
    assert_int_equal(pm->request_id & 1, 1);
    assert_int_equal(pm->track_alias, pm->request_id);
    assert_int_equal(pm->name.len, 1);
    assert_memory_equal(pm->name.ptr, "t", 1);
    char path[16];
    assert_int_equal(moqc__ietf_tuple_to_path(&pm->ns, path, sizeof path), 1);
    if (pm->has & MOQC_IETF_HAS_LARGEST) { /* 14, once the track's latest is known */
      assert_int_equal(v, 14);
      assert_int_equal(pm->largest.group, 1 + (uint64_t)accept);
      assert_int_equal(pm->largest.object, accept ? 0 : 2);
    }
    uint64_t req = pm->request_id;
    assert_int_equal(moqc_session_get_stats(p.srv.s).serving, 1);
    ts_group(pub.tp, F3, 1, true); /* waits for the answer */
    ts_run_for(p.env, 10 * MS);
    assert_int_equal(moqc_session_get_stats(p.srv.s).groups_sent, 0);
    static moqc__ietf_msg r;
    memset(&r, 0, sizeof r);
    r.request_id = req;
    if (accept) {
      r.type = MOQC_IETF_PUBLISH_OK;
      r.forward = 1;
      r.has = MOQC_IETF_HAS_FORWARD;
      if (v == 14) {
        r.priority = 128;
        r.group_order = 1;
        r.filter.type = MOQC_IETF_FILTER_LARGEST_OBJECT;
        r.has |= MOQC_IETF_HAS_PRIORITY | MOQC_IETF_HAS_GROUP_ORDER | MOQC_IETF_HAS_FILTER;
      }
    } else {
      r.type = v == 14 ? MOQC_IETF_PUBLISH_ERROR : MOQC_IETF_REQUEST_ERROR;
      r.code = 0x3;
      r.reason = (moqc_bytes){(const uint8_t *)"no", 2};
    }
    ir_send(&p, v, ctrl, &r);
    ts_run_for(p.env, 20 * MS);
    assert_false(p.srv.closed);
    if (!accept) {
      assert_int_equal(moqc_session_get_stats(p.srv.s).serving, 0);
      assert_int_equal(moqc_session_get_stats(p.srv.s).groups_sent, 0);
      assert_int_equal(moqc_session_get_stats(p.srv.s).pushes_accepted, 0);
    } else {
      assert_int_equal(moqc_session_get_stats(p.srv.s).serving, 1);
      assert_true(moqc_session_get_stats(p.srv.s).groups_sent >= 1); /* the waiting group */
      assert_int_equal(moqc_session_get_stats(p.srv.s).pushes_accepted, 1);
    }
  }
  ts_pub_del(&pub);
  ir_close(&p);
}

int main(void) {
  (void)ts_versions;
  const struct CMUnitTest tests[] = {
      IR_TEST(t_window_cap),
      IR_TEST(t_window_raised),
      IR_TEST(t_subscribe_ok_order),
      IR_TEST(t_update_issued),
      IR_TEST_REQ(t_update_issued17),
      IR_TEST_ALL(t_relay_fetch_upstream),
      IR_TEST_ALL(t_track_status_issued),
      IR_TEST_REQ(t_track_status_issued17),
      IR_TEST_ALL(t_publish_issued),
      IR_TEST(t_publish_refused),
      IR_TEST_REQ(t_publish_refused17),
      IR_TEST_ALL(t_joining_fetch),
      IR_TEST_REQ(t_past_start17),
      IR_TEST_ALL(t_relay_fetch_upstream_lite),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
