/* REQUEST_UPDATE of every request type a moqc session serves (drafts 16 to
 * 19; 16 on the control stream by Existing Request ID, 17+ on the request's
 * own stream): a served FETCH takes the new Subscriber Priority, the peer's
 * PUBLISH_NAMESPACE and SUBSCRIBE_NAMESPACE are acknowledged unchanged, a
 * TRACK_STATUS is refused NOT_SUPPORTED (17+: that refusal is its answer),
 * a draft-18 namespace prefix change is refused and ends the namespace
 * subscription. None of them closes the session. A raw peer injected on the
 * memtransport. */
#include "session/ietf_int.h"
#include "test_session_ietf_raw.h"

static const char *const F3[] = {"alpha", "", "gamma-gamma"};
static moqc__ietf_msg msgs[32];

/* Streams the server opened toward the raw peer (their first bytes). */
typedef struct rx_stream {
  int64_t id;
  uint8_t first;
} rx_stream;
static rx_stream rx[8];
static size_t nrx;

static void rx_data(void *ctx, int64_t id, const uint8_t *p, size_t len, bool fin) {
  (void)ctx;
  (void)fin;
  for (size_t i = 0; i < nrx; i++)
    if (rx[i].id == id) return;
  if (!len) return;
  assert_true(nrx < 8);
  rx[nrx].id = id;
  rx[nrx].first = p[0];
  nrx++;
}
static const moqc_transport_handler rx_handler = {.stream_data = rx_data};

/* A REQUEST_UPDATE (request id req) of the request `of` sent on stream sid:
 * 16 on the control stream naming it, 17+ on sid. */
static void update(ts_pair *p, int v, int64_t ctrl, int64_t sid, uint64_t req, uint64_t of,
                   const moqc__ietf_msg *with) {
  static moqc__ietf_msg m;
  if (with) m = *with;
  else memset(&m, 0, sizeof m);
  m.type = MOQC_IETF_REQUEST_UPDATE;
  m.request_id = req;
  m.update_id = of;
  ir_send(p, v, v < 17 ? ctrl : sid, &m);
}

/* The answer to the update req: 16 by request id on the control stream,
 * 17+ message k on the request stream sid. */
static const moqc__ietf_msg *update_answer(ts_pair *p, int v, int64_t ctrl, int64_t sid,
                                           uint64_t req, size_t k) {
  if (v < 17) return ir_reply(p, v, ctrl, req);
  size_t n = ir_read(p, v, sid, msgs, 32);
  return k < n ? &msgs[k] : NULL;
}

/* A FETCH served from the cache takes a REQUEST_UPDATE's Subscriber
 * Priority: its data stream is re-prioritised (model priority 255 - wire
 * priority), and the update is answered REQUEST_OK (17+ after FETCH_OK on
 * the FETCH's stream). Before, 17+ read the update and answered nothing; 16
 * answered REQUEST_ERROR DOES_NOT_EXIST ("no such subscription"). */
static void t_update_fetch(void **state) {
  int v = ts_version(state);
  ts_pair p;
  nrx = 0;
  ts_pub pub;
  int64_t ctrl;
  /* group 1 stays open: the fetch stays served */
  moqc_group_producer *open = ir_open_growing(&p, v, &rx_handler, &pub, &ctrl, F3, 2);
  static moqc__ietf_msg m;
  ir_fetch_msg(&m, 0, "cam/1", "v", 0, 1);
  m.priority = 128;
  int64_t sid = ir_request(&p, v, ctrl, &m);
  ts_run_for(p.env, 20 * MS);
  int64_t data = -1; /* the FETCH_HEADER stream */
  for (size_t i = 0; i < nrx; i++)
    if (rx[i].first == MOQC_IETF_FETCH_HEADER) data = rx[i].id;
  assert_true(data >= 0);
  assert_int_equal(moqc_session_get_stats(p.srv.s).serving, 1);

  static moqc__ietf_msg u;
  memset(&u, 0, sizeof u);
  u.has = MOQC_IETF_HAS_PRIORITY;
  u.priority = 10;
  update(&p, v, ctrl, sid, 2, 0, &u);
  ts_run_for(p.env, 10 * MS);
  const moqc__ietf_msg *a = update_answer(&p, v, ctrl, sid, 2, 1);
  assert_non_null(a);
  assert_int_equal(a->type, MOQC_IETF_REQUEST_OK);
  moqc_stream_prio prio;
  assert_int_equal(memlink_stream_priority(memlink_server(p.link), data, &prio), MOQC_OK);
  assert_int_equal(prio.priority, 255 - 10);
  assert_int_equal(moqc_session_get_stats(p.srv.s).serving, 1);
  assert_false(p.srv.closed);
  moqc_group_producer_del(open);
  ts_pub_del(&pub);
  ir_close(&p);
}

/* A TRACK_STATUS waiting for its answer (the track has no group yet) is not
 * updatable: 17+ REQUEST_ERROR NOT_SUPPORTED on its stream, then FIN, and no
 * second answer (17+ answers carry no request id); 16 REQUEST_ERROR to the
 * update, and the status is still answered. Before, 17+ ignored the update. */
static void t_update_status(void **state) {
  int v = ts_version(state);
  ts_pair p;
  ts_pub pub;
  int64_t ctrl;
  ir_open_pub(&p, v, &pub, &ctrl, 1);
  int64_t sid = ir_track_status(&p, v, ctrl, 0, "cam/1", "v");
  ts_run_for(p.env, 10 * MS);
  assert_null(update_answer(&p, v, ctrl, sid, 0, 0)); /* still waiting */
  update(&p, v, ctrl, sid, 2, 0, NULL);
  ts_run_for(p.env, 300 * MS);
  assert_false(p.srv.closed);
  if (v >= 17) {
    size_t n = ir_read(&p, v, sid, msgs, 32);
    assert_int_equal(n, 1);
    assert_int_equal(msgs[0].type, MOQC_IETF_REQUEST_ERROR);
    assert_int_equal(msgs[0].code, MOQC_IETF_REQERR_NOT_SUPPORTED);
    ir_expect_req_end(&p, v, sid, false);
  } else {
    const moqc__ietf_msg *e = ir_reply(&p, v, ctrl, 2);
    assert_non_null(e);
    assert_int_equal(e->type, MOQC_IETF_REQUEST_ERROR);
    assert_int_equal(e->code, MOQC_IETF_REQERR_NOT_SUPPORTED);
    const moqc__ietf_msg *a = ir_reply(&p, v, ctrl, 0);
    assert_non_null(a);
    assert_int_equal(a->type, MOQC_IETF_REQUEST_OK);
  }
  ts_pub_del(&pub);
  ir_close(&p);
}

/* The peer's PUBLISH_NAMESPACE and SUBSCRIBE_NAMESPACE, each updated: both
 * answered REQUEST_OK (17+ on their streams, after the request's own
 * REQUEST_OK), the namespace still announced, the session open. 18+: an
 * update with a new namespace prefix (TRACK_NAMESPACE_PREFIX 0x34) is refused
 * NOT_SUPPORTED and the SUBSCRIBE_NAMESPACE stream ends with our FIN. 16: an
 * update of a request that does not exist: REQUEST_ERROR DOES_NOT_EXIST.
 * Before, 17+ answered neither update. */
static void t_update_namespaces(void **state) {
  int v = ts_version(state);
  ts_pair p;
  int64_t ctrl;
  ir_open(&p, v, &ctrl, 1);
  static moqc__ietf_msg m;
  ir_pns_msg(&m, 0, "cam/1");
  int64_t pns = ir_request(&p, v, ctrl, &m);
  memset(&m, 0, sizeof m);
  m.type = v >= 18 ? MOQC_IETF_SUBSCRIBE_NAMESPACE_18 : MOQC_IETF_SUBSCRIBE_NAMESPACE;
  m.request_id = 2;
  m.options = 1;
  int64_t sns;
  if (v < 17) { /* 16: on a bidi stream of its own too */
    uint8_t buf[128];
    size_t n = ir_enc(v, &m, buf, sizeof buf);
    assert_int_equal(memlink_inject(p.link, memlink_server(p.link), true, buf, n, false, &sns),
                     MOQC_OK);
  } else {
    sns = ir_request(&p, v, ctrl, &m);
  }
  ts_run_for(p.env, 20 * MS);
  assert_non_null(update_answer(&p, v, ctrl, pns, 0, 0));
  assert_int_equal(ir_read(&p, v, sns, msgs, 32), 1);
  assert_int_equal(msgs[0].type, MOQC_IETF_REQUEST_OK);

  update(&p, v, ctrl, pns, 4, 0, NULL);
  update(&p, v, ctrl, sns, 6, 2, NULL);
  ts_run_for(p.env, 20 * MS);
  assert_false(p.srv.closed);
  const moqc__ietf_msg *a = update_answer(&p, v, ctrl, pns, 4, 1);
  assert_non_null(a);
  assert_int_equal(a->type, MOQC_IETF_REQUEST_OK);
  a = update_answer(&p, v, ctrl, v < 17 ? ctrl : sns, 6, 1);
  assert_non_null(a);
  assert_int_equal(a->type, MOQC_IETF_REQUEST_OK);
  int err = 0;
  moqc_broadcast_consumer *bc = moqc_origin_request(p.srv.sub, "cam/1", &err);
  assert_non_null(bc); /* still announced */
  moqc_broadcast_consumer_del(bc);

  if (v < 17) {
    update(&p, v, ctrl, ctrl, 8, 98, NULL); /* nothing of that id */
    ts_run_for(p.env, 10 * MS);
    const moqc__ietf_msg *e = ir_reply(&p, v, ctrl, 8);
    assert_non_null(e);
    assert_int_equal(e->type, MOQC_IETF_REQUEST_ERROR);
    assert_int_equal(e->code, 0x10 /* DOES_NOT_EXIST, 15+ */);
  } else if (v >= 18) {
    static moqc__ietf_msg u;
    memset(&u, 0, sizeof u);
    assert_int_equal(moqc__ietf_params_put_varint(&u.params, 0x34, 1), 0);
    update(&p, v, ctrl, sns, 8, 2, &u);
    ts_run_for(p.env, 10 * MS);
    size_t n = ir_read(&p, v, sns, msgs, 32);
    assert_int_equal(n, 3);
    assert_int_equal(msgs[2].type, MOQC_IETF_REQUEST_ERROR);
    assert_int_equal(msgs[2].code, MOQC_IETF_REQERR_NOT_SUPPORTED);
    assert_true(ir_state(&p, sns).fin);
  }
  assert_false(p.srv.closed);
  ir_close(&p);
}

int main(void) {
  (void)ts_versions; /* the moq-lite matrix of test_session_common.h: not used here */
  const struct CMUnitTest tests[] = {
#define IR_16_19(fn)                                                                              \
  cmocka_unit_test_prestate(fn, &ir_versions[2]), cmocka_unit_test_prestate(fn, &ir_versions[3]), \
      cmocka_unit_test_prestate(fn, &ir_versions[4]),                                             \
      cmocka_unit_test_prestate(fn, &ir_versions[5])
      IR_16_19(t_update_fetch),
      IR_16_19(t_update_status),
      IR_16_19(t_update_namespaces),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
