/* IETF sessions against peers that are not moq-dev (found with Meetecho's
 * imquic, docs/interop.md): announcing with unsolicited PUBLISH_NAMESPACE
 * unless the peer declared MoQ Solicit, and answering a SUBSCRIBE_NAMESPACE
 * without hearing a namespace twice. Drafts 14, 15, 16, a raw peer injected
 * on the memtransport. */
#include "test_session_ietf_raw.h"

static moqc__ietf_msg msgs[32];
static const char *const F3[] = {"alpha", "", "gamma-gamma"};

/* The server announces "cam/1" on its own after the setup when the client
 * declared no SOLICIT (imquic's relay never sends SUBSCRIBE_NAMESPACE); it
 * declares SOLICIT = 1 itself. */
static void t_unsolicited_announce(void **state) {
  int v = ts_version(state);
  ts_pair p;
  ir_server(&p, v);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "cam/1", "v", NULL);
  int64_t ctrl;
  ir_setup(&p, v, &ctrl, -1);
  ts_run_for(p.env, 20 * MS);
  assert_false(p.srv.closed);
  size_t n = ir_read(&p, v, ctrl, msgs, 32);
  assert_true(n >= 2);
  assert_int_equal(msgs[0].type, MOQC_IETF_SERVER_SETUP);
  const moqc__ietf_kvp *kv = moqc__ietf_params_find(&msgs[0].params, IR_SOLICIT);
  assert_non_null(kv);
  assert_int_equal(kv->v, 1);
  assert_int_equal(ir_count(msgs, n, MOQC_IETF_PUBLISH_NAMESPACE), 1);
  for (size_t i = 0; i < n; i++) {
    if (msgs[i].type != MOQC_IETF_PUBLISH_NAMESPACE) continue;
    char path[64];
    ssize_t k = moqc__ietf_tuple_to_path(&msgs[i].ns, path, sizeof path);
    assert_int_equal(k, 5);
    assert_memory_equal(path, "cam/1", 5);
    assert_int_equal(msgs[i].request_id % 2, 1); /* a server request id */
  }

  /* A later broadcast is announced too; its end sends PUBLISH_NAMESPACE_DONE. */
  ts_pub pub2;
  ts_publish(&pub2, p.env, p.srv.pub, "cam/2", "v", NULL);
  ts_run_for(p.env, 20 * MS);
  n = ir_read(&p, v, ctrl, msgs, 32);
  assert_int_equal(ir_count(msgs, n, MOQC_IETF_PUBLISH_NAMESPACE), 2);
  assert_int_equal(moqc_broadcast_producer_finish(pub2.bp), MOQC_OK);
  ts_run_for(p.env, 20 * MS);
  n = ir_read(&p, v, ctrl, msgs, 32);
  assert_int_equal(ir_count(msgs, n, MOQC_IETF_PUBLISH_NAMESPACE_DONE), 1);
  assert_false(p.srv.closed);
  ts_pub_del(&pub2);
  ts_pub_del(&pub);
  ir_close(&p);
}

/* PUBLISH_NAMESPACE_CANCEL (14/15 by tuple, 16 by request id): the server
 * stops announcing that namespace (no PUBLISH_NAMESPACE_DONE at its end, the
 * other one still gets its DONE); published again later, it is offered
 * again. */
static void t_publish_namespace_cancel_in(void **state) {
  int v = ts_version(state);
  ts_pair p;
  ir_server(&p, v);
  ts_pub a, b;
  ts_publish(&a, p.env, p.srv.pub, "cam/1", "v", NULL);
  ts_publish(&b, p.env, p.srv.pub, "cam/2", "v", NULL);
  int64_t ctrl;
  ir_setup(&p, v, &ctrl, -1);
  ts_run_for(p.env, 20 * MS);
  size_t n = ir_read(&p, v, ctrl, msgs, 32);
  assert_int_equal(ir_count(msgs, n, MOQC_IETF_PUBLISH_NAMESPACE), 2);
  uint64_t req = UINT64_MAX;
  for (size_t i = 0; i < n; i++) {
    char path[64];
    if (msgs[i].type == MOQC_IETF_PUBLISH_NAMESPACE &&
        moqc__ietf_tuple_to_path(&msgs[i].ns, path, sizeof path) == 5 &&
        memcmp(path, "cam/1", 5) == 0)
      req = msgs[i].request_id;
  }
  assert_true(req != UINT64_MAX);
  static moqc__ietf_msg m;
  memset(&m, 0, sizeof m);
  m.type = MOQC_IETF_PUBLISH_NAMESPACE_CANCEL;
  m.request_id = req;
  assert_int_equal(moqc__ietf_tuple_from_path(&m.ns, "cam/1", 5), MOQC_OK);
  m.code = 0x4; /* UNINTERESTED */
  ir_send(&p, v, ctrl, &m);
  ts_run_for(p.env, 10 * MS);
  assert_int_equal(moqc_broadcast_producer_finish(a.bp), MOQC_OK);
  assert_int_equal(moqc_broadcast_producer_finish(b.bp), MOQC_OK);
  ts_run_for(p.env, 20 * MS);
  n = ir_read(&p, v, ctrl, msgs, 32);
  assert_int_equal(ir_count(msgs, n, MOQC_IETF_PUBLISH_NAMESPACE_DONE), 1);
  for (size_t i = 0; i < n; i++) {
    if (msgs[i].type != MOQC_IETF_PUBLISH_NAMESPACE_DONE) continue;
    if (v >= 16) assert_int_not_equal(msgs[i].request_id, req);
    else assert_int_equal(msgs[i].ns.n, 2);
    if (v < 16) assert_memory_equal(msgs[i].ns.f[1].ptr, "2", 1);
  }
  ts_pub_del(&a);
  ts_publish(&a, p.env, p.srv.pub, "cam/1", "v", NULL);
  ts_run_for(p.env, 20 * MS);
  n = ir_read(&p, v, ctrl, msgs, 32);
  assert_int_equal(ir_count(msgs, n, MOQC_IETF_PUBLISH_NAMESPACE), 3);
  assert_false(p.srv.closed);
  ts_pub_del(&a);
  ts_pub_del(&b);
  ir_close(&p);
}

/* The peer's PUBLISH_NAMESPACE is accepted; when another publisher takes the
 * path over here, the server withdraws its acceptance: 14/15
 * PUBLISH_NAMESPACE_CANCEL {tuple}, 16 {request id}, 17+ the request stream
 * cancelled. The new publisher's broadcast stays. */
static void t_publish_namespace_cancel_out(void **state) {
  int v = ts_version(state);
  ts_pair p;
  int64_t ctrl;
  ir_open(&p, v, &ctrl, 1);
  static moqc__ietf_msg m;
  ir_pns_msg(&m, 4, "cam/7");
  int64_t sid = ir_request(&p, v, ctrl, &m);
  m.request_id = 6; /* another one, left alone */
  assert_int_equal(moqc__ietf_tuple_from_path(&m.ns, "cam/8", 5), MOQC_OK);
  int64_t sid8 = ir_request(&p, v, ctrl, &m);
  assert_true(ts_wait_announce(p.env, p.srv.sub, "cam/7", 100 * MS));
  const moqc__ietf_msg *ok = ir_reply(&p, v, sid, 4);
  assert_non_null(ok);
  assert_int_equal(ok->type, v == 14 ? MOQC_IETF_PUBLISH_NAMESPACE_OK : MOQC_IETF_REQUEST_OK);
  size_t n = ir_read(&p, v, ctrl, msgs, 32);
  assert_int_equal(ir_count(msgs, n, MOQC_IETF_PUBLISH_NAMESPACE_CANCEL), 0);

  ts_pub other;
  ts_publish(&other, p.env, p.srv.sub, "cam/7", "v", NULL);
  ts_run_for(p.env, 20 * MS);
  if (v >= 17) {
    memlink_inject_info info = ir_state(&p, sid);
    assert_true(info.reset);
    assert_true(info.stopped);
    assert_false(ir_state(&p, sid8).reset);
  } else {
    n = ir_read(&p, v, ctrl, msgs, 32);
    assert_int_equal(ir_count(msgs, n, MOQC_IETF_PUBLISH_NAMESPACE_CANCEL), 1);
    for (size_t i = 0; i < n; i++) {
      if (msgs[i].type != MOQC_IETF_PUBLISH_NAMESPACE_CANCEL) continue;
      assert_int_equal(msgs[i].code, v == 14 ? 0x4 : 0x20); /* UNINTERESTED */
      if (v == 16) {
        assert_int_equal(msgs[i].request_id, 4);
      } else {
        char path[64];
        assert_int_equal(moqc__ietf_tuple_to_path(&msgs[i].ns, path, sizeof path), 5);
        assert_memory_equal(path, "cam/7", 5);
      }
    }
  }
  /* The new publisher's track is what cam/7 serves now. */
  ts_group(other.tp, F3, 2, true);
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  sub.start = 0;
  moqc_track_consumer *tc = ts_subscribe(p.srv.sub, "cam/7", "v", &sub, NULL);
  ts_run_for(p.env, 20 * MS);
  ts_expect_group(tc, 0, F3, 2);
  moqc_track_consumer_del(tc);
  assert_false(p.srv.closed);
  ts_pub_del(&other);
  ir_close(&p);
}

/* A client that declared SOLICIT = 1 (moq-dev, moqc) hears nothing unasked. */
static void t_solicit_declared(void **state) {
  int v = ts_version(state);
  ts_pair p;
  ir_server(&p, v);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "cam/1", "v", NULL);
  int64_t ctrl;
  ir_setup(&p, v, &ctrl, 1);
  ts_run_for(p.env, 20 * MS);
  size_t n = ir_read(&p, v, ctrl, msgs, 32);
  assert_true(n >= 1);
  assert_int_equal(msgs[0].type, MOQC_IETF_SERVER_SETUP);
  assert_int_equal(ir_count(msgs, n, MOQC_IETF_PUBLISH_NAMESPACE), 0);
  assert_false(p.srv.closed);
  ts_pub_del(&pub);
  ir_close(&p);
}

/* Announcing unasked, a SUBSCRIBE_NAMESPACE gets its OK and no second
 * advertisement of the same namespace (neither PUBLISH_NAMESPACE nor a
 * draft-16 NAMESPACE entry); UNSUBSCRIBE_NAMESPACE does not stop the unasked
 * announcements. */
static void t_unsolicited_then_subscribe_namespace(void **state) {
  int v = ts_version(state);
  ts_pair p;
  ir_server(&p, v);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "cam/1", "v", NULL);
  int64_t ctrl;
  ir_setup(&p, v, &ctrl, -1);
  ts_run_for(p.env, 20 * MS);
  static moqc__ietf_msg m;
  memset(&m, 0, sizeof m);
  m.type = MOQC_IETF_SUBSCRIBE_NAMESPACE;
  m.request_id = 2;
  m.options = 1;
  int64_t nsid = ctrl;
  if (v >= 16) {
    uint8_t buf[128];
    size_t k = ir_enc(v, &m, buf, sizeof buf);
    assert_int_equal(memlink_inject(p.link, memlink_server(p.link), true, buf, k, false, &nsid),
                     MOQC_OK);
  } else {
    ir_send(&p, v, ctrl, &m);
  }
  ts_run_for(p.env, 20 * MS);
  assert_false(p.srv.closed);
  size_t n = ir_read(&p, v, ctrl, msgs, 32);
  assert_int_equal(ir_count(msgs, n, MOQC_IETF_PUBLISH_NAMESPACE), 1);
  size_t nn = v >= 16 ? ir_read(&p, v, nsid, msgs, 32) : n;
  uint64_t ok = v == 14 ? MOQC_IETF_SUBSCRIBE_NAMESPACE_OK : MOQC_IETF_REQUEST_OK;
  assert_int_equal(ir_count(msgs, nn, ok), 1);
  if (v >= 16) assert_int_equal(ir_count(msgs, nn, MOQC_IETF_NAMESPACE), 0);

  if (v < 16) {
    memset(&m, 0, sizeof m);
    m.type = MOQC_IETF_UNSUBSCRIBE_NAMESPACE;
    m.request_id = 2;
    ir_send(&p, v, ctrl, &m);
    ts_run_for(p.env, 20 * MS);
  }
  ts_pub pub2;
  ts_publish(&pub2, p.env, p.srv.pub, "cam/2", "v", NULL);
  ts_run_for(p.env, 20 * MS);
  n = ir_read(&p, v, ctrl, msgs, 32);
  assert_int_equal(ir_count(msgs, n, MOQC_IETF_PUBLISH_NAMESPACE), 2);
  assert_false(p.srv.closed);
  ts_pub_del(&pub2);
  ts_pub_del(&pub);
  ir_close(&p);
}

/* Inject one subgroup stream (alias, group) holding F3[0..n) as objects, FIN. */
static void inject_group(ts_pair *p, int v, uint64_t alias, uint64_t group, size_t n) {
  uint8_t buf[256];
  moqc__ietf_subgroup h = {.end_of_group = true,
                           .has_priority = true,
                           .sgid_mode = MOQC_IETF_SGID_ZERO,
                           .track_alias = alias,
                           .group = group};
  ssize_t k = moqc__ietf_subgroup_encode(buf, sizeof buf, v, &h);
  assert_true(k > 0);
  size_t len = (size_t)k;
  for (size_t i = 0; i < n; i++) {
    moqc__ietf_object o = {.size = strlen(F3[i])};
    k = moqc__ietf_object_encode(buf + len, sizeof buf - len, v, false, &o);
    assert_true(k > 0);
    len += (size_t)k;
    memcpy(buf + len, F3[i], o.size);
    len += o.size;
  }
  int64_t id;
  assert_int_equal(memlink_inject(p->link, memlink_server(p->link), false, buf, len, true, &id),
                   MOQC_OK);
}

/* PUBLISH (imquic-moq-pub -X): answered PUBLISH_OK (18+: REQUEST_OK), the
 * broadcast appears, the pushed groups reach the cache before any consumer
 * asked (a late consumer asking from group 0 gets them), PUBLISH_DONE ends
 * the track (a PUBLISH reusing a bound alias: test_session_ietf_codes). 17+: on its own
 * request stream, where the answer and PUBLISH_DONE travel and which we FIN
 * at the end. */
static void t_publish(void **state) {
  int v = ts_version(state);
  ts_pair p;
  int64_t ctrl;
  ir_open(&p, v, &ctrl, -1);
  static moqc__ietf_msg m;
  ir_publish_msg(&m, 0, "cam/9", "v", 7);
  int64_t sid = ir_request(&p, v, ctrl, &m);
  ts_run_for(p.env, 10 * MS);
  size_t n = ir_read(&p, v, sid, msgs, 32);
  uint64_t ok = v >= 18 ? MOQC_IETF_REQUEST_OK : MOQC_IETF_PUBLISH_OK;
  size_t found = 0;
  for (size_t i = 0; i < n; i++) found += msgs[i].type == ok && msgs[i].request_id == 0;
  assert_int_equal(found, 1);
  assert_true(ts_wait_announce(p.env, p.srv.sub, "cam/9", 100 * MS));

  inject_group(&p, v, 7, 0, 3);
  inject_group(&p, v, 7, 1, 2);
  ts_run_for(p.env, 20 * MS);
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  sub.start = 0;
  moqc_track_consumer *tc = ts_subscribe(p.srv.sub, "cam/9", "v", &sub, NULL);
  ts_run_for(p.env, 20 * MS);
  ts_expect_group(tc, 0, F3, 3);
  ts_expect_group(tc, 1, F3, 2);

  memset(&m, 0, sizeof m);
  m.type = MOQC_IETF_PUBLISH_DONE;
  m.request_id = 0;
  m.code = 0x2;
  m.stream_count = 2;
  ir_send(&p, v, sid, &m);
  ts_run_for(p.env, 1 * SEC);
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_CLOSED);
  moqc_track_consumer_del(tc);
  ir_expect_req_end(&p, v, sid, false); /* 17+: FIN */
  assert_false(p.srv.closed);
  ir_close(&p);
}

/* Objects split across reads, as QUIC may hand them over: a pushed group
 * stream (with Timestamp extensions, an empty object, one-, two- and
 * three-byte sizes) delivered in pieces of 1, 2, 5, 13 bytes and whole. Every
 * object arrives byte-exact, whether its payload came in one read (written
 * whole) or several (a chunked frame). */
static void t_publish_split(void **state) {
  int v = ts_version(state);
  static char big[20000], mid[301];
  for (size_t i = 0; i + 1 < sizeof big; i++) big[i] = (char)('a' + i % 26);
  for (size_t i = 0; i + 1 < sizeof mid; i++) mid[i] = (char)('A' + i % 26);
  const char *const objs[] = {"x", mid, "", "tail", big};
  const size_t n_obj = sizeof objs / sizeof objs[0];
  static const size_t piece[] = {1, 2, 5, 13, SIZE_MAX};
  const size_t n_piece = sizeof piece / sizeof piece[0];
  ts_pair p;
  int64_t ctrl;
  static moqc__ietf_msg m;
  (void)ir_open_published(&p, v, &ctrl, &m);
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  sub.start = 0;
  moqc_track_consumer *tc = ts_subscribe(p.srv.sub, "cam/9", "v", &sub, NULL);
  ts_run_for(p.env, 10 * MS);
  static uint8_t buf[24000];
  for (size_t g = 0; g < n_piece; g++) {
    moqc__ietf_subgroup h = {.extensions = true,
                             .end_of_group = true,
                             .has_priority = true,
                             .sgid_mode = MOQC_IETF_SGID_ZERO,
                             .track_alias = 7,
                             .group = g};
    ssize_t k = moqc__ietf_subgroup_encode(buf, sizeof buf, v, &h);
    assert_true(k > 0);
    size_t len = (size_t)k;
    for (size_t i = 0; i < n_obj; i++) {
      uint8_t ext[16];
      ssize_t a = moqc__ietf_varint_encode(v, ext, sizeof ext, 0x10);
      ssize_t b =
          moqc__ietf_varint_encode(v, ext + a, sizeof ext - (size_t)a, 1764000000000ull + i);
      assert_true(a > 0 && b > 0);
      moqc__ietf_object o = {.size = strlen(objs[i]),
                             .status = MOQC_IETF_STATUS_NORMAL,
                             .ext = {ext, (size_t)(a + b)}};
      k = moqc__ietf_object_encode(buf + len, sizeof buf - len, v, true, &o);
      assert_true(k > 0);
      len += (size_t)k;
      memcpy(buf + len, objs[i], o.size);
      len += o.size;
    }
    size_t step = piece[g] < len ? piece[g] : len;
    int64_t id;
    assert_int_equal(
        memlink_inject(p.link, memlink_server(p.link), false, buf, step, step == len, &id),
        MOQC_OK);
    for (size_t off = step; off < len; off += step) {
      size_t n = len - off < step ? len - off : step;
      ts_run_for(p.env, 1 * MS); /* one read per piece */
      assert_int_equal(
          memlink_inject_write(p.link, memlink_server(p.link), id, buf + off, n, off + n == len),
          MOQC_OK);
    }
    ts_run_for(p.env, 10 * MS);
    ts_expect_group(tc, g, objs, n_obj);
  }
  moqc_track_consumer_del(tc);
  assert_false(p.srv.closed);
  ir_close(&p);
}

/* 17+: a PUBLISH's request stream reset by the publisher aborts the pushed
 * track (Dropped), its FIN without PUBLISH_DONE ends it cleanly; a
 * PUBLISH_DONE right behind the PUBLISH ends the push (the track is bound
 * while the PUBLISH is read, so the end waits for group streams as any
 * PUBLISH_DONE does), and we FIN the stream. */
static void t_publish_stream_end(void **state) {
  int v = ts_version(state);
  for (int how = 0; how < 3; how++) {
    ts_pair p;
    int64_t ctrl;
    ir_open(&p, v, &ctrl, -1);
    static moqc__ietf_msg m;
    memset(&m, 0, sizeof m);
    m.type = MOQC_IETF_PUBLISH;
    assert_int_equal(moqc__ietf_tuple_from_path(&m.ns, "cam/9", 5), MOQC_OK);
    m.name = (moqc_bytes){(const uint8_t *)"v", 1};
    m.track_alias = 3;
    int64_t sid = ir_request(&p, v, ctrl, &m);
    if (how == 2) {
      memset(&m, 0, sizeof m);
      m.type = MOQC_IETF_PUBLISH_DONE;
      m.code = 0x2;
      ir_send(&p, v, sid, &m);
      ts_run_for(p.env, 1 * SEC); /* bound at once: the end waits out the streams' grace */
      memlink_inject_info info = ir_state(&p, sid);
      assert_true(info.fin);
      assert_false(p.srv.closed);
      ir_close(&p);
      continue;
    }
    assert_true(ts_wait_announce(p.env, p.srv.sub, "cam/9", 100 * MS));
    inject_group(&p, v, 3, 0, 3);
    ts_run_for(p.env, 20 * MS);
    moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
    sub.start = 0;
    moqc_track_consumer *tc = ts_subscribe(p.srv.sub, "cam/9", "v", &sub, NULL);
    ts_run_for(p.env, 20 * MS);
    ts_expect_group(tc, 0, F3, 3);
    ir_end(&p, sid, how == 0, MOQC_CODE_DROPPED);
    ts_run_for(p.env, 1 * SEC);
    moqc_group_consumer *g = NULL;
    int rc = moqc_track_consumer_recv_group(tc, &g);
    if (how == 0) {
      assert_true(rc < 0 && rc != MOQC_ERR_AGAIN && rc != MOQC_ERR_CLOSED);
      assert_int_equal(moqc_track_consumer_code(tc), MOQC_CODE_DROPPED);
    } else {
      assert_int_equal(rc, MOQC_ERR_CLOSED);
      assert_true(ir_state(&p, sid).fin);
    }
    moqc_track_consumer_del(tc);
    assert_false(p.srv.closed);
    ir_close(&p);
  }
}

int main(void) {
  (void)ts_versions; /* the moq-lite matrix of test_session_common.h: not used here */
  const struct CMUnitTest tests[] = {
      IR_TEST(t_unsolicited_announce),
      IR_TEST(t_solicit_declared),
      IR_TEST(t_publish_namespace_cancel_in),
      IR_TEST_ALL(t_publish_namespace_cancel_out),
      IR_TEST(t_unsolicited_then_subscribe_namespace),
      IR_TEST_ALL(t_publish),
      IR_TEST_ALL(t_publish_split),
      cmocka_unit_test_prestate(t_publish_stream_end, &ir_versions[3]),
      cmocka_unit_test_prestate(t_publish_stream_end, &ir_versions[4]),
      cmocka_unit_test_prestate(t_publish_stream_end, &ir_versions[5]),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
