/* IETF TRACK_STATUS (drafts 14 to 19; 17+ on its own request stream) and
 * SUBSCRIBE_UPDATE / REQUEST_UPDATE (14, 15, 16) served by a moqc session, a
 * raw peer injected on the memtransport: what imquic-moq-sub -i / -u send
 * (docs/interop.md). */
#include "test_session_ietf_raw.h"

static const char *const F3[] = {"alpha", "", "gamma-gamma"};
static moqc__ietf_msg msgs[32];

/* The answer to request req among the messages read back, or NULL. */
static const moqc__ietf_msg *answer(size_t n, uint64_t req) {
  for (size_t i = 0; i < n; i++)
    if (msgs[i].type != MOQC_IETF_SERVER_SETUP && msgs[i].request_id == req) return &msgs[i];
  return NULL;
}

/* TRACK_STATUS: the largest location cached (latest group, its last frame);
 * no content when no group came within 100 ms; DOES_NOT_EXIST for an unknown track or
 * broadcast. 17+: each on its own request stream, answered there, then FIN. */
static void t_track_status(void **state) {
  int v = ts_version(state);
  ts_pair p;
  ts_pub pub;
  int64_t ctrl;
  ir_open_pub(&p, v, &pub, &ctrl, 1);
  uint64_t ok = v == 14 ? MOQC_IETF_TRACK_STATUS_OK : MOQC_IETF_REQUEST_OK;
  uint64_t err = v == 14 ? MOQC_IETF_TRACK_STATUS_ERROR : MOQC_IETF_REQUEST_ERROR;

  int64_t sid = ir_track_status(&p, v, ctrl, 0, "cam/1", "v");
  ts_run_for(p.env, 50 * MS);
  assert_null(ir_reply(&p, v, sid, 0)); /* waits for a group ... */
  ts_run_for(p.env, 100 * MS);          /* ... 100 ms at most */
  const moqc__ietf_msg *a = ir_reply(&p, v, sid, 0);
  assert_non_null(a);
  assert_int_equal(a->type, ok);
  assert_false(a->has & MOQC_IETF_HAS_LARGEST);
  ir_expect_req_end(&p, v, sid, false);

  ts_group(pub.tp, F3, 2, true);
  ts_group(pub.tp, F3, 3, true);
  sid = ir_track_status(&p, v, ctrl, 2, "cam/1", "v");
  ts_run_for(p.env, 20 * MS);
  a = ir_reply(&p, v, sid, 2);
  assert_non_null(a);
  assert_int_equal(a->type, ok);
  assert_true(a->has & MOQC_IETF_HAS_LARGEST);
  assert_int_equal(a->largest.group, 1);
  assert_int_equal(a->largest.object, 2);
  ir_expect_req_end(&p, v, sid, false);

  int64_t sids[2];
  sids[0] = ir_track_status(&p, v, ctrl, 4, "cam/1", "nope");
  sids[1] = ir_track_status(&p, v, ctrl, 6, "cam/2", "v");
  ts_run_for(p.env, 10 * MS);
  for (uint64_t req = 4; req <= 6; req += 2) {
    a = ir_reply(&p, v, sids[(req - 4) / 2], req);
    assert_non_null(a);
    assert_int_equal(a->type, err);
    assert_int_equal(a->code, v == 14 ? 0x4 : 0x10); /* DOES_NOT_EXIST */
    ir_expect_req_end(&p, v, sids[(req - 4) / 2], false);
  }
  assert_false(p.srv.closed);
  assert_int_equal(moqc_session_get_stats(p.srv.s).serving, 0);
  ts_pub_del(&pub);
  ir_close(&p);
}

/* 17+: a TRACK_STATUS still waiting for its answer is cancelled by a RESET
 * of its request stream (no answer, our half reset); its FIN alone is not a
 * cancel (the answer still comes). */
static void t_track_status_cancel(void **state) {
  int v = ts_version(state);
  ts_pair p;
  ts_pub pub;
  int64_t ctrl;
  ir_open_pub(&p, v, &pub, &ctrl, 1);
  int64_t a = ir_track_status(&p, v, ctrl, 0, "cam/1", "v");
  int64_t b = ir_track_status(&p, v, ctrl, 2, "cam/1", "v");
  ts_run_for(p.env, 20 * MS);
  ir_end(&p, a, true, 0x0);
  ir_end(&p, b, false, 0);
  ts_run_for(p.env, 200 * MS);
  memlink_inject_info ia = ir_state(&p, a);
  assert_true(ia.reset);
  assert_int_equal(ia.received, 0);
  assert_non_null(ir_reply(&p, v, b, 2));
  ir_expect_req_end(&p, v, b, false);
  assert_false(p.srv.closed);
  ts_pub_del(&pub);
  ir_close(&p);
}

/* SUBSCRIBE with Forward 0 sends no group; the update to Forward 1 lets the
 * next groups through (16: answered with REQUEST_OK; an update of an unknown
 * subscription: REQUEST_ERROR). */
static void t_forward_update(void **state) {
  int v = ts_version(state);
  ts_pair p;
  ts_pub pub;
  int64_t ctrl;
  ir_open_pub(&p, v, &pub, &ctrl, 1);
  static moqc__ietf_msg m;
  ir_subscribe_msg(&m, 0, "cam/1", "v", 0);
  ir_send(&p, v, ctrl, &m);
  ts_run_for(p.env, 10 * MS);
  assert_int_equal(moqc_session_get_stats(p.srv.s).serving, 1);
  ts_group(pub.tp, F3, 2, true);
  ts_run_for(p.env, 20 * MS);
  assert_int_equal(moqc_session_get_stats(p.srv.s).groups_sent, 0);

  memset(&m, 0, sizeof m);
  m.type = MOQC_IETF_REQUEST_UPDATE;
  m.request_id = 2;
  m.update_id = 0;
  m.has = MOQC_IETF_HAS_FORWARD | MOQC_IETF_HAS_PRIORITY;
  m.forward = 1;
  m.priority = 10;
  ir_send(&p, v, ctrl, &m);
  ts_run_for(p.env, 10 * MS);
  ts_group(pub.tp, F3, 3, true);
  ts_run_for(p.env, 20 * MS);
  assert_int_equal(moqc_session_get_stats(p.srv.s).groups_sent, 1);

  m.request_id = 4;
  m.update_id = 99; /* no such subscription */
  ir_send(&p, v, ctrl, &m);
  ts_run_for(p.env, 10 * MS);
  size_t n = ir_read(&p, v, ctrl, msgs, 32);
  const moqc__ietf_msg *a = answer(n, 2);
  const moqc__ietf_msg *e = answer(n, 4);
  if (v >= 16) {
    assert_non_null(a);
    assert_int_equal(a->type, MOQC_IETF_REQUEST_OK);
    assert_non_null(e);
    assert_int_equal(e->type, MOQC_IETF_REQUEST_ERROR);
  } else {
    assert_null(e); /* 14/15: no answer to SUBSCRIBE_UPDATE */
  }
  assert_false(p.srv.closed);
  ts_pub_del(&pub);
  ir_close(&p);
}

int main(void) {
  (void)ts_versions; /* the moq-lite matrix of test_session_common.h: not used here */
  const struct CMUnitTest tests[] = {
      IR_TEST_ALL(t_track_status),
      cmocka_unit_test_prestate(t_track_status_cancel, &ir_versions[3]),
      cmocka_unit_test_prestate(t_track_status_cancel, &ir_versions[4]),
      cmocka_unit_test_prestate(t_track_status_cancel, &ir_versions[5]),
      IR_TEST(t_forward_update),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
