/* IETF sessions against peers that are not moq-dev (found with Meetecho's
 * imquic, docs/interop.md): announcing with unsolicited PUBLISH_NAMESPACE
 * unless the peer declared MoQ Solicit, and answering a SUBSCRIBE_NAMESPACE
 * without hearing a namespace twice. Drafts 14, 15, 16, a raw peer injected
 * on the memtransport. */
#include "test_session_ietf_raw.h"

static moqc__ietf_msg msgs[32];

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

int main(void) {
  (void)ts_versions; /* the moq-lite matrix of test_session_common.h: not used here */
  const struct CMUnitTest tests[] = {
      IR_TEST(t_unsolicited_announce),
      IR_TEST(t_solicit_declared),
      IR_TEST(t_unsolicited_then_subscribe_namespace),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
