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

/* ir_server with session limits. */
static void server_lim(ts_pair *p, int v, const moqc_session_limits *lim) {
  memset(p, 0, sizeof *p);
  p->env = ts_env_new();
  p->link = memlink_new(moqc_env_clock(p->env), NULL);
  char alpn[16];
  if (v == 14) snprintf(alpn, sizeof alpn, "moq-00");
  else snprintf(alpn, sizeof alpn, "moqt-%d", v);
  assert_int_equal(memlink_set_protocol(p->link, alpn), MOQC_OK);
  moqc_origin_config oc = {0, 0};
  p->srv.pub = moqc_origin_new(p->env, &oc);
  p->srv.sub = moqc_origin_new(p->env, &oc);
  moqc_session_config sc;
  memset(&sc, 0, sizeof sc);
  sc.env = p->env;
  sc.is_server = true;
  sc.ctx = &p->srv;
  sc.on_request = ts_on_request;
  sc.on_closed = ts_on_closed;
  if (lim) sc.limits = *lim;
  p->srv.s = moqc_session_new(memlink_server(p->link), &sc);
  assert_non_null(p->srv.s);
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
    server_lim(&p, v, &lim);
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
  server_lim(&p, v, &lim);
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
  ir_server(&p, v);
  int64_t ctrl;
  ir_setup(&p, v, &ctrl, 1);
  ts_run_for(p.env, 10 * MS);
  static moqc__ietf_msg m;
  memset(&m, 0, sizeof m);
  m.type = MOQC_IETF_PUBLISH_NAMESPACE;
  m.request_id = 0;
  assert_int_equal(moqc__ietf_tuple_from_path(&m.ns, "room", 4), MOQC_OK);
  ir_send(&p, v, ctrl, &m);
  assert_true(ts_wait_announce(p.env, p.srv.sub, "room", 100 * MS));

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

int main(void) {
  (void)ts_versions;
  const struct CMUnitTest tests[] = {
      IR_TEST(t_window_cap),
      IR_TEST(t_window_raised),
      IR_TEST(t_subscribe_ok_order),
      IR_TEST(t_update_issued),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
