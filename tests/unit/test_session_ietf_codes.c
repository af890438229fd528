/* IETF error codes on the data streams (drafts 14 to 19), a raw peer on the
 * memtransport: a peer that declared MoQ Solicit (moq-dev, moqc) gets and
 * sends moq-lite codes in RESET_STREAM, any other peer (imquic, the drafts)
 * the draft's Data Stream Reset Error Codes; either way a group reset ends
 * with a sensible model code (docs/wire.md). */
#include "test_session_ietf_raw.h"

static const char *const F3[] = {"alpha", "", "gamma-gamma"};

/* Resets the raw client saw on streams the server opened toward it. */
static struct {
  int64_t id;
  uint64_t code;
} resets[8];
static size_t nresets;

static void rx_data(void *ctx, int64_t id, const uint8_t *p, size_t len, bool fin) {
  (void)ctx, (void)id, (void)p, (void)len, (void)fin;
}
static void rx_reset(void *ctx, int64_t id, uint64_t code) {
  (void)ctx;
  assert_true(nresets < sizeof resets / sizeof resets[0]);
  resets[nresets].id = id;
  resets[nresets].code = code;
  nresets++;
}
static const moqc_transport_handler rx_handler = {.stream_data = rx_data, .stream_reset = rx_reset};

/* Group `group` of alias 7 on a new uni stream: its header and F3[0], no FIN.
 * Returns the stream. */
static int64_t inject_open_group(ts_pair *p, int v, uint64_t group) {
  uint8_t buf[256];
  moqc__ietf_subgroup h = {
      .has_priority = true, .sgid_mode = MOQC_IETF_SGID_ZERO, .track_alias = 7, .group = group};
  ssize_t k = moqc__ietf_subgroup_encode(buf, sizeof buf, v, &h);
  assert_true(k > 0);
  size_t len = (size_t)k;
  moqc__ietf_object o = {.size = strlen(F3[0])};
  k = moqc__ietf_object_encode(buf + len, sizeof buf - len, v, false, &o);
  assert_true(k > 0);
  len += (size_t)k;
  memcpy(buf + len, F3[0], o.size);
  len += o.size;
  int64_t id;
  assert_int_equal(memlink_inject(p->link, memlink_server(p->link), false, buf, len, false, &id),
                   MOQC_OK);
  return id;
}

/* A received RESET_STREAM on a group: from a peer without MoQ Solicit the
 * draft's code is read (CANCELLED 1 -> Cancel, DELIVERY_TIMEOUT 2 -> Old,
 * SESSION_CLOSED 3 -> Dropped, an unknown code -> Cancel); from a Solicit
 * peer the moq-lite code as it came (1 RequiredExtension, 2 Old, 3 Timeout). */
static void t_reset_received(void **state) {
  int v = ts_version(state);
  static const uint64_t sent[4] = {0x1, 0x2, 0x3, 0x77};
  static const uint64_t draft[4] = {MOQC_CODE_CANCEL, MOQC_CODE_OLD, MOQC_CODE_DROPPED,
                                    MOQC_CODE_CANCEL};
  for (int solicit = 0; solicit <= 1; solicit++) {
    ts_pair p;
    int64_t ctrl;
    ir_open(&p, v, &ctrl, solicit ? 1 : -1);
    static moqc__ietf_msg m;
    ir_publish_msg(&m, 0, "cam/9", "v", 7);
    (void)ir_request(&p, v, ctrl, &m);
    ts_run_for(p.env, 10 * MS);
    assert_true(ts_wait_announce(p.env, p.srv.sub, "cam/9", 100 * MS));
    moqc_track_consumer *tc = NULL;
    for (uint64_t i = 0; i < 4; i++) {
      int64_t id = inject_open_group(&p, v, i);
      ts_run_for(p.env, 10 * MS);
      if (!tc) {
        moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
        sub.start = 0;
        tc = ts_subscribe(p.srv.sub, "cam/9", "v", &sub, NULL);
        ts_run_for(p.env, 10 * MS);
      }
      moqc_group_consumer *g = NULL;
      assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_OK);
      assert_int_equal(moqc_group_consumer_sequence(g), i);
      moqc_frame fr;
      assert_int_equal(moqc_group_consumer_read_frame(g, &fr), MOQC_OK);
      moqc_slice_release(&fr.payload);
      assert_int_equal(memlink_inject_reset(p.link, memlink_server(p.link), id, sent[i]), MOQC_OK);
      ts_run_for(p.env, 10 * MS);
      int rc = moqc_group_consumer_read_frame(g, &fr);
      assert_true(rc < 0 && rc != MOQC_ERR_AGAIN && rc != MOQC_ERR_CLOSED);
      assert_int_equal(moqc_group_consumer_code(g), solicit ? sent[i] : draft[i]);
      moqc_group_consumer_del(g);
    }
    assert_false(p.srv.closed);
    moqc_track_consumer_del(tc);
    ir_close(&p);
  }
}

/* A group we serve that aborts mid-way is reset: with the draft's code to a
 * peer without MoQ Solicit (Dropped -> SESSION_CLOSED 0x3, Cancel -> CANCELLED
 * 0x1), with the moq-lite code (24, 0) to a Solicit peer. */
static void t_reset_sent(void **state) {
  int v = ts_version(state);
  static const uint64_t abort_code[2] = {MOQC_CODE_DROPPED, MOQC_CODE_CANCEL};
  static const uint64_t draft[2] = {0x3, 0x1};
  for (int solicit = 0; solicit <= 1; solicit++) {
    ts_pair p;
    ir_server(&p, v);
    moqc_transport_set_handler(memlink_client(p.link), &rx_handler, NULL);
    nresets = 0;
    ts_pub pub;
    ts_publish(&pub, p.env, p.srv.pub, "cam/1", "v", NULL);
    int64_t ctrl;
    ir_setup(&p, v, &ctrl, solicit ? 1 : -1);
    ts_run_for(p.env, 10 * MS);
    static moqc__ietf_msg m;
    ir_subscribe_msg(&m, 0, "cam/1", "v", 1);
    (void)ir_request(&p, v, ctrl, &m);
    ts_run_for(p.env, 10 * MS);
    assert_int_equal(moqc_session_get_stats(p.srv.s).serving, 1);
    for (size_t i = 0; i < 2; i++) {
      moqc_group_producer *g = moqc_track_producer_append_group(pub.tp);
      assert_non_null(g);
      assert_int_equal(moqc_group_producer_write_frame_copy(g, "x", 1, 1000), MOQC_OK);
      ts_run_for(p.env, 10 * MS);
      assert_int_equal(nresets, i);
      moqc_group_producer_abort(g, abort_code[i]);
      moqc_group_producer_del(g);
      ts_run_for(p.env, 10 * MS);
      assert_int_equal(nresets, i + 1);
      assert_int_equal(resets[i].code, solicit ? abort_code[i] : draft[i]);
    }
    assert_false(p.srv.closed);
    ts_pub_del(&pub);
    ir_close(&p);
  }
}

/* A SUBSCRIBE or FETCH over max_subscriptions (1) is refused with the draft's code:
 * INTERNAL_ERROR 0x0 on 14-16, EXCESSIVE_LOAD 0x9 from 17 on (before the
 * track is looked up: an unknown track over the cap gets it too). */
static void t_subscribe_refused(void **state) {
  int v = ts_version(state);
  moqc_session_limits lim;
  memset(&lim, 0, sizeof lim);
  lim.max_subscriptions = 1;
  ts_pair p;
  ir_server_on(&p, v, &lim, NULL, NULL, ts_on_request);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "cam/1", "v", NULL);
  int64_t ctrl;
  ir_setup(&p, v, &ctrl, -1);
  ts_run_for(p.env, 10 * MS);
  static const char *const names[3] = {"v", "v", "nope"};
  int64_t sids[3];
  for (uint64_t i = 0; i < 3; i++) {
    static moqc__ietf_msg m;
    ir_subscribe_msg(&m, 2 * i, "cam/1", names[i], 1);
    sids[i] = ir_request(&p, v, ctrl, &m);
    ts_run_for(p.env, 10 * MS);
    if (i == 1) {
      const moqc__ietf_msg *e = ir_reply(&p, v, sids[1], 2);
      assert_non_null(e);
      assert_int_equal(e->type, MOQC_IETF_REQUEST_ERROR); /* 14: SUBSCRIBE_ERROR, same type */
      assert_int_equal(e->code, v >= 17 ? 0x9 : 0x0);
    }
  }
  assert_int_equal(moqc_session_get_stats(p.srv.s).serving, 1);
  const moqc__ietf_msg *e = ir_reply(&p, v, sids[2], 4);
  assert_non_null(e);
  assert_int_equal(e->code, v >= 17 ? 0x9 : 0x0);
  /* A FETCH over the cap: the same code (FETCH_ERROR on 14). */
  static moqc__ietf_msg f;
  ir_fetch_msg(&f, 6, "cam/1", "v", 0, 1);
  int64_t fsid = ir_request(&p, v, ctrl, &f);
  ts_run_for(p.env, 10 * MS);
  e = ir_reply(&p, v, fsid, 6);
  assert_non_null(e);
  assert_int_equal(e->type, v == 14 ? MOQC_IETF_FETCH_ERROR : MOQC_IETF_REQUEST_ERROR);
  assert_int_equal(e->code, v >= 17 ? 0x9 : 0x0);
  assert_false(p.srv.closed);
  ts_pub_del(&pub);
  ir_close(&p);
}

/* PUBLISH_DONE's status decides how a pushed track ends: TRACK_ENDED 0x2 and
 * moq-dev's 200 finish it; INTERNAL_ERROR 0x0, moq-dev's 500 and an unknown
 * status abort it Dropped; UNAUTHORIZED 0x1 -> Unauthorized, TOO_FAR_BEHIND
 * 0x6 -> Lagged, MALFORMED_TRACK (0x7 on 14/15, 0x12 on 16+) ->
 * ProtocolViolation. */
static void t_publish_done_status(void **state) {
  int v = ts_version(state);
  const struct {
    uint64_t status;
    int rc;
    uint64_t code;
  } cases[] = {
      {0x2, MOQC_ERR_CLOSED, 0},
      {200, MOQC_ERR_CLOSED, 0},
      {0x0, MOQC_ERR_DROPPED, MOQC_CODE_DROPPED},
      {500, MOQC_ERR_DROPPED, MOQC_CODE_DROPPED},
      {0x77, MOQC_ERR_DROPPED, MOQC_CODE_DROPPED},
      {0x1, MOQC_ERR_UNAUTHORIZED, MOQC_CODE_UNAUTHORIZED},
      {0x6, MOQC_ERR_LAGGED, MOQC_CODE_LAGGED},
      {v <= 15 ? 0x7 : 0x12, MOQC_ERR_PROTOCOL, MOQC_CODE_PROTOCOL_VIOLATION},
  };
  ts_pair p;
  int64_t ctrl;
  ir_open(&p, v, &ctrl, -1);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char path[16];
    snprintf(path, sizeof path, "cam/%zu", i);
    static moqc__ietf_msg m;
    ir_publish_msg(&m, 2 * i, path, "v", 100 + i);
    int64_t sid = ir_request(&p, v, ctrl, &m);
    ts_run_for(p.env, 10 * MS);
    assert_true(ts_wait_announce(p.env, p.srv.sub, path, 100 * MS));
    moqc_track_consumer *tc = ts_subscribe(p.srv.sub, path, "v", NULL, NULL);
    ts_run_for(p.env, 10 * MS);
    memset(&m, 0, sizeof m);
    m.type = MOQC_IETF_PUBLISH_DONE;
    m.request_id = 2 * i;
    m.code = cases[i].status;
    ir_send(&p, v, sid, &m);
    ts_run_for(p.env, 1 * SEC); /* a clean end waits for straggling streams */
    moqc_group_consumer *g = NULL;
    assert_int_equal(moqc_track_consumer_recv_group(tc, &g), cases[i].rc);
    if (cases[i].rc != MOQC_ERR_CLOSED)
      assert_int_equal(moqc_track_consumer_code(tc), cases[i].code);
    moqc_track_consumer_del(tc);
  }
  assert_false(p.srv.closed);
  ir_close(&p);
}

/* A PUBLISH whose track alias is bound to another track closes the session
 * with DUPLICATE_TRACK_ALIAS (0x5), as the drafts say; a PUBLISH refused for
 * another reason (a name that is not UTF-8-clean here: an embedded NUL) only
 * gets its REQUEST_ERROR (PUBLISH_ERROR on 14) NOT_SUPPORTED 0x3. */
static void t_publish_alias_in_use(void **state) {
  int v = ts_version(state);
  ts_pair p;
  int64_t ctrl;
  static moqc__ietf_msg m;
  (void)ir_open_published(&p, v, &ctrl, &m);
  m.request_id = 2; /* a name with a NUL: refused, the session goes on */
  m.track_alias = 8;
  m.name = (moqc_bytes){(const uint8_t *)"a\0b", 3};
  int64_t sid = ir_request(&p, v, ctrl, &m);
  ts_run_for(p.env, 10 * MS);
  const moqc__ietf_msg *e = ir_reply(&p, v, sid, 2);
  assert_non_null(e);
  assert_int_equal(e->type, v == 14 ? MOQC_IETF_PUBLISH_ERROR : MOQC_IETF_REQUEST_ERROR);
  assert_int_equal(e->code, 0x3);
  assert_false(p.srv.closed);
  m.request_id = 4; /* another track on alias 7 */
  m.track_alias = 7;
  m.name = (moqc_bytes){(const uint8_t *)"a", 1};
  (void)ir_request(&p, v, ctrl, &m);
  ts_run_for(p.env, 10 * MS);
  assert_true(p.srv.closed);
  assert_false(p.srv.by_peer);
  assert_int_equal(p.srv.code, 0x5);
  assert_string_equal(moqc_close_code_str(v, p.srv.code), "DUPLICATE_TRACK_ALIAS");
  ir_close(&p);
}

/* The library allocator, failing on demand (budget: allocations left; < 0:
 * never fails). The memlink uses plain malloc and is unaffected. */
static long g_budget = -1;
static bool may_alloc(void) {
  if (g_budget < 0) return true;
  if (g_budget == 0) return false;
  g_budget--;
  return true;
}
static void *f_malloc(size_t n, void *u) {
  (void)u;
  return may_alloc() ? malloc(n) : NULL;
}
static void f_free(void *p, void *u) {
  (void)u;
  free(p);
}
static void *f_calloc(size_t n, size_t sz, void *u) {
  (void)u;
  return may_alloc() ? calloc(n, sz) : NULL;
}
static void *f_realloc(void *p, size_t n, void *u) {
  (void)u;
  return may_alloc() ? realloc(p, n) : NULL;
}
static const moqc_mem k_failing = {NULL, f_malloc, f_free, f_calloc, f_realloc};

/* Out of memory while serving a request closes the session with the draft's
 * INTERNAL_ERROR (0x1), not moq-lite's Transport (4: INVALID_REQUEST_ID to an
 * IETF peer). */
static void t_oom_close(void **state) {
  int v = ts_version(state);
  ts_pair p;
  ts_pub pub;
  int64_t ctrl;
  ir_open_pub(&p, v, &pub, &ctrl, -1);
  assert_false(p.srv.closed);
  static moqc__ietf_msg m;
  ir_subscribe_msg(&m, 0, "cam/1", "v", 1);
  (void)ir_request(&p, v, ctrl, &m); /* queued on the link (its delivery allocates nothing) */
  g_budget = 0;                      /* every library allocation fails from here */
  ts_run_for(p.env, 10 * MS);
  g_budget = -1;
  assert_true(p.srv.closed);
  assert_false(p.srv.by_peer);
  assert_int_equal(p.srv.code, 0x1);
  assert_string_equal(moqc_close_code_str(v, p.srv.code), "INTERNAL_ERROR");
  ts_pub_del(&pub);
  ir_close(&p);
}

int main(void) {
  moqc_set_mem(&k_failing);
  (void)ts_versions; /* the moq-lite matrix of test_session_common.h: not used here */
  const struct CMUnitTest tests[] = {
      IR_TEST_ALL(t_reset_received),       IR_TEST_ALL(t_reset_sent),
      IR_TEST_ALL(t_subscribe_refused),    IR_TEST_ALL(t_publish_done_status),
      IR_TEST_ALL(t_publish_alias_in_use), IR_TEST_ALL(t_oom_close),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
