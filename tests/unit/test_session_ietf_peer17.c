/* IETF sessions on drafts 17 and 18 against a peer that is not moq-dev:
 * what Meetecho's imquic found on those drafts (docs/interop.md). A moqc
 * server alone on the memtransport; the client's SETUP uni stream and its
 * requests are injected by hand, and what the server sends on its own uni
 * streams is captured by a handler on the client transport. */
#include "test_session_ietf_raw.h"

static int ir17_versions[2] = {17, 18};
#define IR17_TEST(fn) \
  cmocka_unit_test_prestate(fn, &ir17_versions[0]), cmocka_unit_test_prestate(fn, &ir17_versions[1])

/* The bytes the server sent on the one uni stream it opened (its SETUP
 * stream; QUIC stream ids, bit 1 set on uni streams). Its bidi streams (a
 * SUBSCRIBE_NAMESPACE of its own) are not recorded. */
typedef struct uni_cap {
  uint8_t buf[2048];
  size_t len;
  int64_t id;
  int streams;
} uni_cap;

static void cap_opened(void *ctx, int64_t id) {
  uni_cap *c = ctx;
  if (!(id & 2)) return;
  if (c->streams++ == 0) c->id = id;
}

static void cap_data(void *ctx, int64_t id, const uint8_t *p, size_t len, bool fin) {
  uni_cap *c = ctx;
  (void)fin;
  if (!(id & 2)) return;
  assert_int_equal(id, c->id);
  assert_true(len <= sizeof c->buf - c->len);
  memcpy(c->buf + c->len, p, len);
  c->len += len;
}

static const moqc_transport_handler cap_handler = {.stream_opened = cap_opened,
                                                   .stream_data = cap_data};

/* Decode every message in the capture (every byte must decode); returns how many. */
static size_t cap_read(const uni_cap *c, int v, moqc__ietf_msg *out, size_t max) {
  size_t off = 0, k = 0;
  while (off < c->len && k < max) {
    ssize_t n = moqc__ietf_ctrl_decode(&out[k], v, c->buf + off, c->len - off);
    assert_true(n > 0);
    off += (size_t)n;
    k++;
  }
  assert_int_equal(off, c->len);
  return k;
}

/* The client's SETUP on an injected uni stream (*id). */
static void setup17(ts_pair *p, int v, int64_t *id) {
  static moqc__ietf_msg m;
  memset(&m, 0, sizeof m);
  m.type = MOQC_IETF_SETUP;
  uint8_t buf[256];
  size_t n = ir_enc(v, &m, buf, sizeof buf);
  assert_int_equal(memlink_inject(p->link, memlink_server(p->link), false, buf, n, false, id),
                   MOQC_OK);
}

/* A SUBSCRIBE_NAMESPACE for the empty prefix on a request stream of its own. */
static void subscribe_ns(ts_pair *p, int v, uint64_t req) {
  static moqc__ietf_msg m;
  memset(&m, 0, sizeof m);
  m.type = v >= 18 ? MOQC_IETF_SUBSCRIBE_NAMESPACE_18 : MOQC_IETF_SUBSCRIBE_NAMESPACE;
  m.request_id = req;
  m.options = 1;
  uint8_t buf[128];
  size_t n = ir_enc(v, &m, buf, sizeof buf);
  int64_t id;
  assert_int_equal(memlink_inject(p->link, memlink_server(p->link), true, buf, n, false, &id),
                   MOQC_OK);
}

/* The relay's GOAWAY at shutdown: on draft 18 it carries the Request ID (the
 * smallest of the client's not processed: 4 after requests 0 and 2), which
 * imquic requires on the control stream ("Broken GOAWAY" without it); on 17
 * it has none (every byte of it decodes as 17's GOAWAY). */
static void t_goaway_request_id(void **state) {
  int v = ts_version(state);
  ts_pair p;
  ir_server(&p, v);
  uni_cap cap;
  memset(&cap, 0, sizeof cap);
  moqc_transport_set_handler(memlink_client(p.link), &cap_handler, &cap);
  int64_t setup;
  setup17(&p, v, &setup);
  ts_run_for(p.env, 10 * MS);
  subscribe_ns(&p, v, 0);
  subscribe_ns(&p, v, 2);
  ts_run_for(p.env, 10 * MS);
  assert_false(p.srv.closed);
  assert_int_equal(moqc_session_send_goaway(p.srv.s, NULL), MOQC_OK);
  ts_run_for(p.env, 10 * MS);
  assert_int_equal(cap.streams, 1);
  static moqc__ietf_msg msgs[4];
  size_t n = cap_read(&cap, v, msgs, 4);
  assert_int_equal(n, 2);
  assert_int_equal(msgs[0].type, MOQC_IETF_SETUP);
  assert_int_equal(msgs[1].type, MOQC_IETF_GOAWAY);
  if (v == 18) {
    assert_true(msgs[1].has & MOQC_IETF_HAS_GOAWAY_ID);
    assert_int_equal(msgs[1].request_id, 4);
  } else {
    assert_false(msgs[1].has & MOQC_IETF_HAS_GOAWAY_ID);
  }
  ir_close(&p);
}

/* With no request yet, the draft-18 GOAWAY says 0 (the client's first id). */
static void t_goaway_request_id_none(void **state) {
  int v = ts_version(state);
  ts_pair p;
  ir_server(&p, v);
  uni_cap cap;
  memset(&cap, 0, sizeof cap);
  moqc_transport_set_handler(memlink_client(p.link), &cap_handler, &cap);
  int64_t setup;
  setup17(&p, v, &setup);
  ts_run_for(p.env, 10 * MS);
  assert_int_equal(moqc_session_send_goaway(p.srv.s, "moqt://other.example/"), MOQC_OK);
  ts_run_for(p.env, 10 * MS);
  static moqc__ietf_msg msgs[4];
  size_t n = cap_read(&cap, v, msgs, 4);
  assert_int_equal(n, 2);
  assert_int_equal(msgs[1].type, MOQC_IETF_GOAWAY);
  assert_int_equal(msgs[1].reason.len, strlen("moqt://other.example/"));
  assert_int_equal(!!(msgs[1].has & MOQC_IETF_HAS_GOAWAY_ID), v == 18);
  assert_int_equal(msgs[1].request_id, 0);
  ir_close(&p);
}

/* A draft-18 GOAWAY received with a Request ID of the wrong parity (one of
 * the receiver's own ids is expected: odd at a server) closes the session
 * with INVALID_REQUEST_ID; the right parity is accepted. */
static void t_goaway_request_id_parity(void **state) {
  int v = ts_version(state);
  if (v != 18) return;
  for (int bad = 0; bad < 2; bad++) {
    ts_pair p;
    ir_server(&p, v);
    int64_t setup;
    setup17(&p, v, &setup);
    ts_run_for(p.env, 10 * MS);
    static moqc__ietf_msg m;
    memset(&m, 0, sizeof m);
    m.type = MOQC_IETF_GOAWAY;
    m.has = MOQC_IETF_HAS_GOAWAY_ID;
    m.request_id = bad ? 2 : 1;
    ir_send(&p, v, setup, &m);
    ts_run_for(p.env, 10 * MS);
    assert_int_equal(p.srv.closed, bad);
    if (bad) assert_int_equal(p.srv.code, 0x4);
    ir_close(&p);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      IR17_TEST(t_goaway_request_id),
      IR17_TEST(t_goaway_request_id_none),
      IR17_TEST(t_goaway_request_id_parity),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
