/* IETF FETCH served from the cache by a moqc session (drafts 14 to 19; 17+
 * each FETCH on its own request stream): a raw peer injected on the
 * memtransport sends FETCH (standalone, relative and absolute joining) and
 * reads FETCH_OK and the FETCH_HEADER stream back through a handler on its
 * side of the link; and moqc_session_fetch issuing one between two moqc
 * sessions (14-19; 17+ on a request stream of its own). */
#include "test_session_ietf_raw.h"

static const char *const F3[] = {"alpha", "", "gamma-gamma"};

/* Streams the server opened toward the raw peer. */
static ir_rx_stream rx[8];
static size_t nrx;

static void rx_data(void *ctx, int64_t id, const uint8_t *p, size_t len, bool fin) {
  (void)ctx;
  assert_true(ir_rx_add(rx, &nrx, 8, id, p, len, fin));
}
static const moqc_transport_handler rx_handler = {.stream_data = rx_data};

/* The FETCH stream for request req, or NULL. */
static ir_rx_stream *fetch_stream(int v, uint64_t req) { return ir_fetch_stream(rx, nrx, v, req); }

/* Check the objects of a finished FETCH stream: n (group, object) pairs,
 * payload F3[object] each. */
static void expect_objects(int v, ir_rx_stream *r, const uint64_t (*want)[2], size_t n) {
  ir_expect_fetch_objects(r, v, want, n, F3, 3);
}

/* The answer to request req (on stream sid), of this type. */
static const moqc__ietf_msg *answer(ts_pair *p, int v, int64_t sid, uint64_t req, uint64_t type) {
  const moqc__ietf_msg *m = ir_reply(p, v, sid, req);
  assert_non_null(m);
  assert_int_equal(m->type, type);
  return m;
}

/* Returns the stream the FETCH went on (ir_request). */
static int64_t fetch(ts_pair *p, int v, int64_t ctrl, uint64_t req, const char *name, uint64_t type,
                     uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  static moqc__ietf_msg m;
  memset(&m, 0, sizeof m);
  m.type = MOQC_IETF_FETCH;
  m.request_id = req;
  m.has = MOQC_IETF_HAS_PRIORITY | MOQC_IETF_HAS_GROUP_ORDER;
  m.group_order = 1;
  m.fetch.type = type;
  if (type == MOQC_IETF_FETCH_STANDALONE) {
    assert_int_equal(moqc__ietf_tuple_from_path(&m.ns, "cam/1", 5), MOQC_OK);
    m.name = (moqc_bytes){(const uint8_t *)name, strlen(name)};
    m.fetch.start = (moqc__ietf_loc){a, b};
    m.fetch.end = (moqc__ietf_loc){c, d};
  } else {
    m.fetch.joining_request = a;
    m.fetch.joining_start = b;
  }
  return ir_request(p, v, ctrl, &m);
}

static void t_fetch(void **state) {
  int v = ts_version(state);
  ts_pair p;
  ir_server(&p, v);
  nrx = 0;
  moqc_transport_set_handler(memlink_client(p.link), &rx_handler, NULL);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "cam/1", "v", NULL);
  ts_group(pub.tp, F3, 2, true);
  ts_group(pub.tp, F3, 3, true);
  ts_group(pub.tp, F3, 1, true);
  int64_t ctrl;
  ir_setup(&p, v, &ctrl, 1);
  ts_run_for(p.env, 10 * MS);
  uint64_t err = v == 14 ? MOQC_IETF_FETCH_ERROR : MOQC_IETF_REQUEST_ERROR;

  /* Standalone: from group 0 object 1 to the whole of group 1. */
  int64_t sid = fetch(&p, v, ctrl, 0, "v", MOQC_IETF_FETCH_STANDALONE, 0, 1, 1, 0);
  ts_run_for(p.env, 20 * MS);
  const moqc__ietf_msg *ok = answer(&p, v, sid, 0, MOQC_IETF_FETCH_OK);
  if (v == 14 || (ok->has & MOQC_IETF_HAS_GROUP_ORDER)) assert_int_equal(ok->group_order, 1);
  assert_int_equal(ok->largest.group, 1);
  assert_int_equal(ok->largest.object, 2);
  const uint64_t w0[][2] = {{0, 1}, {1, 0}, {1, 1}, {1, 2}};
  expect_objects(v, fetch_stream(v, 0), w0, 4);
  ir_expect_req_end(&p, v, sid, false);

  /* End object 2 (= up to object 1) of group 2..2: objects 0..0 exist. */
  fetch(&p, v, ctrl, 2, "v", MOQC_IETF_FETCH_STANDALONE, 1, 0, 1, 2);
  ts_run_for(p.env, 20 * MS);
  const uint64_t w2[][2] = {{1, 0}, {1, 1}};
  expect_objects(v, fetch_stream(v, 2), w2, 2);

  /* Refused: unknown track, start after end, joining nothing. */
  int64_t sids[3];
  sids[0] = fetch(&p, v, ctrl, 4, "nope", MOQC_IETF_FETCH_STANDALONE, 0, 0, 1, 0);
  sids[1] = fetch(&p, v, ctrl, 6, "v", MOQC_IETF_FETCH_STANDALONE, 2, 0, 1, 0);
  sids[2] = fetch(&p, v, ctrl, 8, NULL, MOQC_IETF_FETCH_RELATIVE_JOINING, 99, 1, 0, 0);
  ts_run_for(p.env, 20 * MS);
  /* DOES_NOT_EXIST, INVALID_RANGE, INVALID_JOINING_REQUEST_ID: draft-14's
   * FETCH_ERROR numbers, renumbered in 15+'s REQUEST_ERROR registry. */
  const uint64_t codes[3] = {v == 14 ? 0x4 : 0x10, v == 14 ? 0x5 : 0x11, v == 14 ? 0x7 : 0x32};
  for (int i = 0; i < 3; i++) {
    const moqc__ietf_msg *e = answer(&p, v, sids[i], 4 + 2 * (uint64_t)i, err);
    assert_int_equal(e->code, codes[i]);
    ir_expect_req_end(&p, v, sids[i], false);
  }

  /* Joining a subscription we serve: the latest group is 2. */
  static moqc__ietf_msg m;
  ir_subscribe_msg(&m, 10, "cam/1", "v", 1);
  (void)ir_request(&p, v, ctrl, &m);
  ts_run_for(p.env, 20 * MS);
  fetch(&p, v, ctrl, 12, NULL, MOQC_IETF_FETCH_RELATIVE_JOINING, 10, 1, 0, 0);
  fetch(&p, v, ctrl, 14, NULL, MOQC_IETF_FETCH_ABSOLUTE_JOINING, 10, 0, 0, 0);
  ts_run_for(p.env, 20 * MS);
  const uint64_t w12[][2] = {{1, 0}, {1, 1}, {1, 2}, {2, 0}};
  expect_objects(v, fetch_stream(v, 12), w12, 4);
  const uint64_t w14[][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}, {1, 2}, {2, 0}};
  expect_objects(v, fetch_stream(v, 14), w14, 6);
  assert_false(p.srv.closed);
  ts_pub_del(&pub);
  ir_close(&p);
}

/* 17+: a FETCH whose last group is still being written is cancelled by its
 * request stream's RESET, or FIN (as SUBSCRIBE): the data stream and our
 * half of the request stream are reset, the fetch is no longer served. */
static void t_fetch_cancel(void **state) {
  int v = ts_version(state);
  ts_pair p;
  nrx = 0;
  ts_pub pub;
  int64_t ctrl;
  moqc_group_producer *open = ir_open_growing(&p, v, &rx_handler, &pub, &ctrl, F3, 2);
  for (int how = 0; how < 2; how++) {
    uint64_t req = 2 * (uint64_t)how;
    int64_t sid = fetch(&p, v, ctrl, req, "v", MOQC_IETF_FETCH_STANDALONE, 0, 0, 1, 0);
    ts_run_for(p.env, 20 * MS);
    answer(&p, v, sid, req, MOQC_IETF_FETCH_OK);
    ir_rx_stream *r = fetch_stream(v, req);
    assert_non_null(r);
    assert_false(r->fin); /* group 1 is not finished */
    assert_int_equal(moqc_session_get_stats(p.srv.s).serving, 1);
    ir_end(&p, sid, how == 0, 0x0);
    ts_run_for(p.env, 20 * MS);
    assert_int_equal(moqc_session_get_stats(p.srv.s).serving, 0);
    ir_expect_req_end(&p, v, sid, true);
  }
  assert_false(p.srv.closed);
  moqc_group_producer_del(open);
  ts_pub_del(&pub);
  ir_close(&p);
}

/* moqc_session_fetch on an IETF session (moqc <-> moqc): one group by
 * sequence, byte for byte; a group the peer does not hold ends NotFound
 * (after the server's wait for groups not cached: its front track has seen
 * no group yet, so group 9 might still come from upstream). */
static void t_fetch_issue(void **state) {
  int v = ts_version(state);
  ts_pair p;
  ts_pair_open(&p, v, NULL);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "room/a", "v", NULL);
  ts_group(pub.tp, F3, 2, true);
  ts_group(pub.tp, F3, 3, true);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "room/a", 100 * MS));
  int err = -1;
  moqc_group_consumer *gc = moqc_session_fetch(p.cli.s, "room/a", "v", 1, 0, &err);
  assert_non_null(gc);
  assert_int_equal(err, MOQC_OK);
  moqc_group_consumer *miss = moqc_session_fetch(p.cli.s, "room/a", "v", 9, 0, &err);
  assert_non_null(miss);
  ts_run_for(p.env, 50 * MS);
  int rc = moqc_group_consumer_read_frame(miss, &(moqc_frame){0});
  assert_int_equal(rc, MOQC_ERR_AGAIN); /* still waiting */
  ts_run_for(p.env, 500 * MS);
  assert_int_equal(moqc_group_consumer_sequence(gc), 1);
  ts_expect_frames(gc, F3, 3);
  rc = moqc_group_consumer_read_frame(miss, &(moqc_frame){0});
  assert_true(rc < 0 && rc != MOQC_ERR_AGAIN && rc != MOQC_ERR_CLOSED);
  assert_int_equal(moqc_group_consumer_code(miss), MOQC_CODE_NOT_FOUND);
  moqc_group_consumer_del(gc);
  moqc_group_consumer_del(miss);
  assert_int_equal(moqc_session_get_stats(p.srv.s).serving, 0);
  assert_int_equal(moqc_session_get_stats(p.cli.s).serving, 0); /* both fetches over */
  assert_false(p.cli.closed);
  assert_false(p.srv.closed);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

/* ---- 17+: the FETCH moqc issues, on its own request stream ------------------------- */

/* What the raw client saw of the server's streams, and whether the server
 * STOP_SENDING'd one of ours (stop_id). */
static int64_t stop_id;
static uint64_t stop_code;
static void rx_stop(void *ctx, int64_t id, uint64_t code) {
  (void)ctx;
  stop_id = id;
  stop_code = code;
}
static const moqc_transport_handler rx17_handler = {.stream_data = rx_data,
                                                    .stop_sending = rx_stop};

/* The server's newest bidi stream (server-initiated: id & 3 == 1) and the
 * FETCH on it, which must be the stream's only message. */
static ir_rx_stream *fetch_req(int v, moqc__ietf_msg *m) {
  ir_rx_stream *r = NULL;
  for (size_t i = 0; i < nrx; i++)
    if ((rx[i].id & 3) == 1) r = &rx[i];
  assert_non_null(r);
  assert_int_equal(moqc__ietf_ctrl_decode(m, v, r->buf, r->len), (ssize_t)r->len);
  assert_int_equal(m->type, MOQC_IETF_FETCH);
  return r;
}

/* A moqc server fetches group g from the raw client (drafts 17-19): the
 * FETCH goes on a bidi stream of its own (standalone, {g, 0} to the whole
 * group g, b/t, an odd request id), held open (no FIN) until the fetch is
 * over. FETCH_OK there + the FETCH_HEADER uni stream deliver the group and
 * then the server FINs its request stream. REQUEST_ERROR on the stream ends
 * the group NOT_FOUND, and so does its FIN with no answer; a RESET of it
 * aborts the group with the reset's code and the server STOP_SENDINGs the
 * data stream; each ends with the server's FIN too. Nothing is left served. */
static void t_fetch_issue17(void **state) {
  int v = ts_version(state);
  ts_pair p;
  nrx = 0;
  stop_id = -1;
  int64_t ctrl;
  ir_server_rx(&p, v, &rx17_handler, &ctrl);
  for (int mode = 0; mode < 4; mode++) { /* delivered, REQUEST_ERROR, RESET, FIN unanswered */
    uint64_t g = 4 + (uint64_t)mode;
    stop_id = -1;
    int err = -1;
    moqc_group_consumer *gc = moqc_session_fetch(p.srv.s, "b", "t", g, 0, &err);
    assert_non_null(gc);
    assert_int_equal(err, MOQC_OK);
    ts_run_for(p.env, 10 * MS);
    static moqc__ietf_msg m;
    ir_rx_stream *r = fetch_req(v, &m);
    assert_int_equal(m.request_id & 1, 1);
    assert_int_equal(m.fetch.type, MOQC_IETF_FETCH_STANDALONE);
    assert_int_equal(m.fetch.start.group, g);
    assert_int_equal(m.fetch.start.object, 0);
    assert_int_equal(m.fetch.end.group, g);
    assert_int_equal(m.fetch.end.object, 0);
    assert_int_equal(m.name.len, 1);
    assert_memory_equal(m.name.ptr, "t", 1);
    char path[8];
    assert_int_equal(moqc__ietf_tuple_to_path(&m.ns, path, sizeof path), 1);
    assert_false(r->fin); /* open while the fetch runs */
    int64_t rid = r->id;
    uint64_t req = m.request_id;
    assert_int_equal(moqc_session_get_stats(p.srv.s).serving, 1);
    static moqc__ietf_msg a;
    memset(&a, 0, sizeof a);
    moqc_transport *t = memlink_client(p.link);
    int64_t uni = -1;
    if (mode == 0) {
      a.type = MOQC_IETF_FETCH_OK;
      a.request_id = req;
      a.group_order = 1;
      a.largest = (moqc__ietf_loc){g, 3};
      ir_msg_on(&p, v, rid, &a, false);
      uint8_t buf[256];
      ssize_t k = moqc__ietf_fetch_header_encode(buf, sizeof buf, v, req);
      assert_true(k > 0);
      size_t off = (size_t)k;
      moqc__ietf_fetch_state st;
      memset(&st, 0, sizeof st);
      st.group_order = 1;
      for (uint64_t o = 0; o < 3; o++) {
        moqc__ietf_fetch_object fo;
        memset(&fo, 0, sizeof fo);
        fo.kind = MOQC_IETF_FETCH_OBJECT;
        fo.group = g;
        fo.object = o;
        fo.size = strlen(F3[o]);
        k = moqc__ietf_fetch_object_encode(buf + off, sizeof buf - off, v, &st, &fo);
        assert_true(k > 0);
        off += (size_t)k;
        memcpy(buf + off, F3[o], fo.size);
        off += fo.size;
      }
      assert_int_equal(t->ops->open_stream(t, false, &uni), MOQC_OK);
      ir_write_on(&p, uni, buf, off, true);
    } else if (mode == 1) {
      a.type = MOQC_IETF_REQUEST_ERROR;
      a.request_id = req;
      a.code = 0x4;
      a.reason = (moqc_bytes){(const uint8_t *)"no", 2};
      ir_msg_on(&p, v, rid, &a, true);
    } else if (mode == 3) {
      ir_write_on(&p, rid, NULL, 0, true);
    } else {
      uint8_t buf[16];
      ssize_t k = moqc__ietf_fetch_header_encode(buf, sizeof buf, v, req);
      assert_int_equal(t->ops->open_stream(t, false, &uni), MOQC_OK);
      ir_write_on(&p, uni, buf, (size_t)k, false); /* the data stream, then the RESET */
      ts_run_for(p.env, 5 * MS);
      assert_int_equal(t->ops->reset(t, rid, MOQC_CODE_CANCEL + 7), MOQC_OK);
    }
    ts_run_for(p.env, 20 * MS);
    assert_true(r->fin); /* our FIN: the request is over */
    moqc_frame fr;
    if (mode == 0) {
      assert_int_equal(moqc_group_consumer_sequence(gc), g);
      ts_expect_frames(gc, F3, 3);
    } else {
      int rc = moqc_group_consumer_read_frame(gc, &fr);
      assert_true(rc < 0 && rc != MOQC_ERR_AGAIN && rc != MOQC_ERR_CLOSED);
      assert_int_equal(moqc_group_consumer_code(gc),
                       mode == 2 ? MOQC_CODE_CANCEL + 7 : MOQC_CODE_NOT_FOUND);
    }
    if (mode == 2) assert_int_equal(stop_id, uni); /* the data stream stopped */
    else assert_int_equal(stop_id, -1);
    moqc_group_consumer_del(gc);
    assert_int_equal(moqc_session_get_stats(p.srv.s).serving, 0);
    assert_false(p.srv.closed);
  }
  ir_close(&p);
}

int main(void) {
  (void)ts_versions; /* the moq-lite matrix of test_session_common.h: not used here */
  const struct CMUnitTest tests[] = {
      IR_TEST_ALL(t_fetch),
      IR_TEST_REQ(t_fetch_cancel),
      IR_TEST_ALL(t_fetch_issue),
      IR_TEST_REQ(t_fetch_issue17),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
