/* Unit tests: the WebTransport server adapter against a raw peer that injects
 * hand-made bytes (memlink raw injection): HTTP/3 connection and stream
 * errors with the right codes, garbage fed one byte at a time, streams that
 * arrive before their session, wrong session ids, codes on the wire,
 * datagram prefixes, and a peer CLOSE capsule. */
#include "test_wt_common.h"

static const char *const k_protos[] = {"moq-lite-04", "moq-lite-03"};
#define WT_TEST_EARLY 17 /* one more than the adapter buffers */

typedef struct bytes {
  uint8_t b[4096];
  size_t n;
} bytes;

static void add(bytes *x, const void *p, size_t n) {
  assert_true(x->n + n <= sizeof x->b);
  memcpy(x->b + x->n, p, n);
  x->n += n;
}
static void add_u8(bytes *x, uint8_t v) { add(x, &v, 1); }
static void add_vi(bytes *x, uint64_t v) {
  uint8_t t[8];
  ssize_t n = moqc_varint_encode(t, sizeof t, v);
  assert_true(n > 0);
  add(x, t, (size_t)n);
}
static void add_frame(bytes *x, uint64_t type, const void *p, size_t n) {
  add_vi(x, type);
  add_vi(x, n);
  add(x, p, n);
}
static void ctl_settings(bytes *x) {
  add_u8(x, 0x00);
  uint8_t b[80];
  ssize_t n = moqc_h3_settings_encode_frame(b, sizeof b, 1);
  add(x, b, (size_t)n);
}
static void connect_req(bytes *x, const char *path) {
  uint8_t b[1024];
  ssize_t n = moqc_h3_connect_req_encode(b, sizeof b, "h:1", path, NULL, k_protos, 2);
  assert_true(n > 0);
  add(x, b, (size_t)n);
}

/* A server adapter and a raw client side. */
static fx *server_only(void) {
  fx *f = fx_new(NULL);
  f->s.status = 200;
  attach_server(f, k_protos, 2);
  moqc_transport_set_handler(memlink_client(f->l), &k_rec_handler, &f->raw);
  return f;
}

static int64_t inject(fx *f, bool bidi, const bytes *x, bool fin) {
  int64_t id = -1;
  assert_int_equal(memlink_inject(f->l, memlink_server(f->l), bidi, x->b, x->n, fin, &id), MOQC_OK);
  return id;
}

static void inject_bytewise(fx *f, bool bidi, const bytes *x, bool fin, int64_t *out) {
  int64_t id = -1;
  assert_int_equal(memlink_inject(f->l, memlink_server(f->l), bidi, x->b, 1, false, &id), MOQC_OK);
  for (size_t i = 1; i < x->n; i++) {
    assert_int_equal(memlink_inject_write(f->l, memlink_server(f->l), id, x->b + i, 1, false),
                     MOQC_OK);
    run(f, 1 * MS);
  }
  if (fin)
    assert_int_equal(memlink_inject_write(f->l, memlink_server(f->l), id, NULL, 0, true), MOQC_OK);
  if (out) *out = id;
}

static memlink_inject_info state_of(fx *f, int64_t id) {
  memlink_inject_info info;
  assert_int_equal(memlink_inject_state(f->l, memlink_server(f->l), id, &info), MOQC_OK);
  return info;
}

static void expect_conn_error(fx *f, uint64_t code) {
  run(f, 100 * MS);
  assert_int_equal(f->raw.n_closed, 1);
  assert_true(f->raw.close_code == code);
  assert_int_equal(f->s.n_err, 1);
  assert_int_equal(f->s.err, MOQC_ERR_PROTOCOL);
  assert_true(f->s.h3_code == code);
}

/* ---- connection errors on the control stream ----------------------------------------------- */

typedef void (*build_fn)(bytes *);

static void b_missing_settings(bytes *x) {
  add_u8(x, 0x00);
  add_frame(x, MOQC_H3_FRAME_HEADERS, "\0\0", 2);
}
static void b_grease_first(bytes *x) {
  add_u8(x, 0x00);
  add_frame(x, 0x21, "xx", 2);
}
static void b_dup_setting(bytes *x) {
  add_u8(x, 0x00);
  add_frame(x, MOQC_H3_FRAME_SETTINGS, "\x08\x01\x08\x01", 4);
}
static void b_h2_setting(bytes *x) {
  add_u8(x, 0x00);
  add_frame(x, MOQC_H3_FRAME_SETTINGS, "\x04\x01", 2);
}
static void b_trunc_setting(bytes *x) {
  add_u8(x, 0x00);
  add_frame(x, MOQC_H3_FRAME_SETTINGS, "\x08", 1);
}
static void b_settings_twice(bytes *x) {
  ctl_settings(x);
  add_frame(x, MOQC_H3_FRAME_SETTINGS, "", 0);
}
static void b_data_on_control(bytes *x) {
  ctl_settings(x);
  add_frame(x, MOQC_H3_FRAME_DATA, "abc", 3);
}
static void b_h2_frame(bytes *x) {
  ctl_settings(x);
  add_frame(x, 0x06, "12345678", 8); /* HTTP/2 PING */
}
static void b_huge_settings(bytes *x) {
  add_u8(x, 0x00);
  add_vi(x, MOQC_H3_FRAME_SETTINGS);
  add_vi(x, 1u << 20); /* declared, never sent */
}
static void b_bad_goaway(bytes *x) {
  ctl_settings(x);
  add_frame(x, MOQC_H3_FRAME_GOAWAY, "\x40", 1); /* truncated varint */
}
static void b_push_stream(bytes *x) { add_u8(x, 0x01); }
static void b_qpack_insert(bytes *x) {
  add_u8(x, 0x02);
  add_u8(x, 0x3f); /* Set Dynamic Table Capacity > 0 */
  add_u8(x, 0x01);
}

static void conn_error_case(build_fn b, bool fin, uint64_t code, bool bytewise) {
  fx *f = server_only();
  bytes x = {.n = 0};
  b(&x);
  if (bytewise) inject_bytewise(f, false, &x, fin, NULL);
  else inject(f, false, &x, fin);
  expect_conn_error(f, code);
  fx_del(f);
}

static void test_control_errors(void **state) {
  (void)state;
  for (int bw = 0; bw < 2; bw++) {
    conn_error_case(b_missing_settings, false, MOQC_H3_MISSING_SETTINGS, bw);
    conn_error_case(b_grease_first, false, MOQC_H3_MISSING_SETTINGS, bw);
    conn_error_case(b_dup_setting, false, MOQC_H3_SETTINGS_ERROR, bw);
    conn_error_case(b_h2_setting, false, MOQC_H3_SETTINGS_ERROR, bw);
    conn_error_case(b_trunc_setting, false, MOQC_H3_FRAME_ERROR, bw);
    conn_error_case(b_settings_twice, false, MOQC_H3_FRAME_UNEXPECTED, bw);
    conn_error_case(b_data_on_control, false, MOQC_H3_FRAME_UNEXPECTED, bw);
    conn_error_case(b_h2_frame, false, MOQC_H3_FRAME_UNEXPECTED, bw);
    conn_error_case(b_huge_settings, false, MOQC_H3_EXCESSIVE_LOAD, bw);
    conn_error_case(b_bad_goaway, false, MOQC_H3_FRAME_ERROR, bw);
    conn_error_case(b_push_stream, false, MOQC_H3_STREAM_CREATION_ERROR, bw);
    conn_error_case(b_qpack_insert, false, MOQC_H3_QPACK_ENCODER_STREAM_ERROR, bw);
    /* a critical stream must never end */
    conn_error_case(ctl_settings, true, MOQC_H3_CLOSED_CRITICAL_STREAM, bw);
  }
}

static void test_control_misc(void **state) {
  (void)state;
  /* ends inside a frame */
  fx *f = server_only();
  bytes x = {.n = 0};
  ctl_settings(&x);
  add_vi(&x, 0x21);
  add_vi(&x, 10);
  add(&x, "abc", 3);
  inject(f, false, &x, true);
  expect_conn_error(f, MOQC_H3_FRAME_ERROR);
  fx_del(f);
  /* a second control stream */
  f = server_only();
  x.n = 0;
  ctl_settings(&x);
  inject(f, false, &x, false);
  run(f, 10 * MS);
  inject(f, false, &x, false);
  expect_conn_error(f, MOQC_H3_STREAM_CREATION_ERROR);
  fx_del(f);
  /* the peer resets its control stream */
  f = server_only();
  int64_t id = inject(f, false, &x, false);
  run(f, 10 * MS);
  assert_int_equal(memlink_inject_reset(f->l, memlink_server(f->l), id, 0x100), MOQC_OK);
  expect_conn_error(f, MOQC_H3_CLOSED_CRITICAL_STREAM);
  fx_del(f);
  /* unknown frames, GOAWAY and grease are fine; so are QPACK streams with
   * only "capacity 0" instructions, and unknown stream types are stopped */
  f = server_only();
  x.n = 0;
  ctl_settings(&x);
  add_frame(&x, 0x21 + 0x1f * 3, "grease", 6);
  add_frame(&x, 0xf0700, "\x00\x01", 2); /* PRIORITY_UPDATE */
  add_frame(&x, MOQC_H3_FRAME_GOAWAY, "\x00", 1);
  add_frame(&x, MOQC_H3_FRAME_MAX_PUSH_ID, "\x05", 1);
  inject(f, false, &x, false);
  bytes q = {.n = 0};
  add_u8(&q, 0x02);
  add_u8(&q, 0x20);
  inject(f, false, &q, false);
  q.n = 0;
  add_u8(&q, 0x03);
  add_u8(&q, 0x41);
  inject(f, false, &q, false);
  q.n = 0;
  add_vi(&q, 0x21 + 0x1f * 7); /* grease stream type */
  add(&q, "junk", 4);
  int64_t gid = inject(f, false, &q, false);
  run(f, 100 * MS);
  assert_int_equal(f->raw.n_closed, 0);
  assert_int_equal(f->s.n_err, 0);
  memlink_inject_info info = state_of(f, gid);
  assert_true(info.stopped);
  assert_true(info.stop_code == MOQC_H3_STREAM_CREATION_ERROR);
  fx_del(f);
}

/* ---- requests ----------------------------------------------------------------------------------- */

static int64_t send_connect(fx *f, const char *path, bool bytewise) {
  bytes x = {.n = 0};
  connect_req(&x, path);
  int64_t id;
  if (bytewise) inject_bytewise(f, true, &x, false, &id);
  else id = inject(f, true, &x, false);
  return id;
}

static void test_request_errors(void **state) {
  (void)state;
  fx *f = server_only();
  bytes x = {.n = 0};
  ctl_settings(&x);
  inject(f, false, &x, false);
  /* malformed: upper-case header name (hand-built block) */
  static const uint8_t upper[] = {0x00, 0x00, 0xcf, 0xd7, 0x50, 0x01, 'h',  0x51, 0x01, '/',
                                  0x27, 0x02, ':',  'p',  'r',  'o',  't',  'o',  'c',  'o',
                                  'l',  0x0c, 'w',  'e',  'b',  't',  'r',  'a',  'n',  's',
                                  'p',  'o',  'r',  't',  0x21, 'X',  0x01, '1'};
  bytes m = {.n = 0};
  add_frame(&m, MOQC_H3_FRAME_HEADERS, upper, sizeof upper);
  int64_t bad = inject(f, true, &m, false);
  /* oversized HEADERS */
  bytes big = {.n = 0};
  add_vi(&big, MOQC_H3_FRAME_HEADERS);
  add_vi(&big, 70000);
  int64_t huge = inject(f, true, &big, false);
  /* a GET: answered 404, not an error */
  static const uint8_t get[] = {0x00, 0x00, 0xd1, 0xd7, 0x50, 0x01, 'h', 0x51, 0x01, '/'};
  bytes g = {.n = 0};
  add_frame(&g, MOQC_H3_FRAME_HEADERS, get, sizeof get);
  int64_t gid = inject(f, true, &g, true);
  /* DATA before HEADERS would be a connection error: checked separately */
  run(f, 100 * MS);
  memlink_inject_info i = state_of(f, bad);
  assert_true(i.stopped && i.reset);
  assert_true(i.stop_code == MOQC_H3_MESSAGE_ERROR && i.reset_code == MOQC_H3_MESSAGE_ERROR);
  i = state_of(f, huge);
  assert_true(i.stopped && i.reset);
  assert_true(i.reset_code == MOQC_H3_EXCESSIVE_LOAD);
  i = state_of(f, gid);
  assert_true(i.received > 2 && i.fin);
  assert_int_equal(f->raw.n_closed, 0);
  assert_int_equal(f->s.n_req, 0);
  /* the connection is still good: a valid CONNECT is accepted */
  send_connect(f, "/ok", false);
  run(f, 100 * MS);
  assert_int_equal(f->s.n_session, 1);
  assert_string_equal(f->s.r.t->path, "/ok");
  /* a second CONNECT on the same connection: 429 */
  int64_t second = send_connect(f, "/again", false);
  run(f, 100 * MS);
  i = state_of(f, second);
  assert_true(i.fin && i.received > 0);
  assert_int_equal(f->s.n_req, 1);
  fx_del(f);

  /* DATA before HEADERS, QPACK dynamic reference: connection errors */
  f = server_only();
  m.n = 0;
  add_frame(&m, MOQC_H3_FRAME_DATA, "x", 1);
  inject(f, true, &m, false);
  expect_conn_error(f, MOQC_H3_FRAME_UNEXPECTED);
  fx_del(f);
  f = server_only();
  m.n = 0;
  add_frame(&m, MOQC_H3_FRAME_HEADERS, "\x02\x00\x80", 3);
  inject(f, true, &m, false);
  expect_conn_error(f, MOQC_H3_QPACK_DECOMPRESSION_FAILED);
  fx_del(f);
}

/* ---- streams before / beside the session ------------------------------------------------------ */

static void test_early_streams(void **state) {
  (void)state;
  fx *f = server_only();
  /* CONNECT first, SETTINGS last: the request waits, WT streams are buffered */
  int64_t sid = send_connect(f, "/early", false);
  bytes u = {.n = 0};
  add_vi(&u, MOQC_H3_STREAM_WT_UNI);
  add_vi(&u, (uint64_t)sid);
  add(&u, "early-uni", 9);
  int64_t uid = inject(f, false, &u, true);
  bytes b = {.n = 0};
  add_vi(&b, MOQC_H3_FRAME_WT_STREAM);
  add_vi(&b, (uint64_t)sid);
  add(&b, "early-bidi", 10);
  int64_t bid = inject(f, true, &b, false);
  run(f, 50 * MS);
  assert_int_equal(f->s.n_req, 0); /* waiting for SETTINGS */
  bytes x = {.n = 0};
  ctl_settings(&x);
  inject(f, false, &x, false);
  run(f, 50 * MS);
  assert_int_equal(f->s.n_session, 1);
  rstream *r = rs_find(&f->s.r, uid);
  assert_true(r && r->opened && r->fin);
  assert_int_equal(r->len, 9);
  assert_memory_equal(r->buf, "early-uni", 9);
  r = rs_find(&f->s.r, bid);
  assert_true(r && r->opened && !r->fin);
  assert_memory_equal(r->buf, "early-bidi", 10);

  /* after the session: a stream for another session is refused, and its
   * codes on the wire are HTTP/3 ones */
  u.n = 0;
  add_vi(&u, MOQC_H3_STREAM_WT_UNI);
  add_vi(&u, (uint64_t)sid + 400);
  add(&u, "x", 1);
  int64_t other = inject(f, false, &u, false);
  /* the user resets / stops a peer bidi: mapped codes on the wire */
  moqc_transport *t = f->s.r.t;
  assert_int_equal(t->ops->reset(t, bid, 17), MOQC_OK);
  assert_int_equal(t->ops->stop_sending(t, bid, 18), MOQC_OK);
  /* the peer resets a uni stream with an h3-mapped code */
  u.n = 0;
  add_vi(&u, MOQC_H3_STREAM_WT_UNI);
  add_vi(&u, (uint64_t)sid);
  int64_t u2 = inject(f, false, &u, false);
  run(f, 50 * MS);
  assert_int_equal(memlink_inject_reset(f->l, memlink_server(f->l), u2, moqc_wt_code_to_h3(5)),
                   MOQC_OK);
  run(f, 50 * MS);
  memlink_inject_info i = state_of(f, other);
  assert_true(i.stopped && i.stop_code == MOQC_WT_BUFFERED_STREAM_REJECTED);
  i = state_of(f, bid);
  assert_true(i.reset && i.reset_code == moqc_wt_code_to_h3(17));
  assert_true(i.stopped && i.stop_code == moqc_wt_code_to_h3(18));
  r = rs_find(&f->s.r, u2);
  assert_true(r && r->opened && r->reset);
  assert_int_equal(r->reset_code, 5);
  assert_null(rs_find(&f->s.r, other));

  /* datagrams: the quarter stream id is checked and stripped */
  moqc_transport *raw = memlink_client(f->l);
  uint8_t dg[16];
  ssize_t n = moqc_wt_datagram_prefix_encode(dg, sizeof dg, (uint64_t)sid);
  memcpy(dg + n, "ping", 4);
  assert_int_equal(raw->ops->send_datagram(raw, dg, (size_t)n + 4), MOQC_OK);
  n = moqc_wt_datagram_prefix_encode(dg, sizeof dg, (uint64_t)sid + 4);
  memcpy(dg + n, "lost", 4);
  assert_int_equal(raw->ops->send_datagram(raw, dg, (size_t)n + 4), MOQC_OK);
  run(f, 50 * MS);
  assert_int_equal(f->s.r.n_dg, 1);
  assert_int_equal(f->s.r.dg_len, 4);
  assert_memory_equal(f->s.r.dg, "ping", 4);

  /* a CLOSE capsule from the peer, byte by byte (DATA frame on CONNECT) */
  uint8_t cap[64];
  ssize_t cl = moqc_capsule_close_encode_data_frame(cap, sizeof cap, 4242, "done");
  for (ssize_t k = 0; k < cl; k++) {
    assert_int_equal(memlink_inject_write(f->l, memlink_server(f->l), sid, cap + k, 1, false),
                     MOQC_OK);
    run(f, 1 * MS);
  }
  run(f, 50 * MS);
  assert_int_equal(f->s.r.n_closed, 1);
  assert_int_equal(f->s.r.close_code, 4242);
  assert_string_equal(f->s.r.reason, "done");
  assert_true(f->s.r.by_peer);
  /* ... and closed the connection with the capsule's code, mapped */
  assert_int_equal(f->raw.n_closed, 1);
  assert_true(f->raw.close_code == moqc_wt_code_to_h3(4242));
  fx_del(f);
}

static void test_bad_session_id(void **state) {
  (void)state;
  fx *f = server_only();
  bytes x = {.n = 0};
  ctl_settings(&x);
  inject(f, false, &x, false);
  bytes u = {.n = 0};
  add_vi(&u, MOQC_H3_STREAM_WT_UNI);
  add_vi(&u, 2); /* not a client-initiated bidi stream id */
  inject(f, false, &u, false);
  expect_conn_error(f, MOQC_H3_ID_ERROR);
  fx_del(f);
  /* too many early streams: the extra ones are refused */
  f = server_only();
  int64_t ids[WT_TEST_EARLY];
  for (int k = 0; k < WT_TEST_EARLY; k++) {
    u.n = 0;
    add_vi(&u, MOQC_H3_STREAM_WT_UNI);
    add_vi(&u, 0);
    ids[k] = inject(f, false, &u, false);
  }
  run(f, 50 * MS);
  memlink_inject_info i = state_of(f, ids[WT_TEST_EARLY - 1]);
  assert_true(i.stopped && i.stop_code == MOQC_WT_BUFFERED_STREAM_REJECTED);
  i = state_of(f, ids[0]);
  assert_false(i.stopped);
  fx_del(f);
}

/* Malformed capsules and a truncated capsule at FIN end the session. */
static void test_bad_capsules(void **state) {
  (void)state;
  for (int variant = 0; variant < 3; variant++) {
    fx *f = server_only();
    bytes x = {.n = 0};
    ctl_settings(&x);
    inject(f, false, &x, false);
    int64_t sid = send_connect(f, "/c", variant == 2);
    run(f, 50 * MS);
    assert_int_equal(f->s.n_session, 1);
    bytes c = {.n = 0};
    bool fin = false;
    if (variant == 0) { /* CLOSE with 2-byte payload */
      add_frame(&c, MOQC_H3_FRAME_DATA, "\x68\x43\x02\x00\x00", 5);
    } else if (variant == 1) { /* capsule cut by FIN */
      add_frame(&c, MOQC_H3_FRAME_DATA, "\x68\x43\x08\x00", 4);
      fin = true;
    } else { /* unknown capsule + FIN: a clean close without capsule */
      add_frame(&c, MOQC_H3_FRAME_DATA, "\x17\x02zz", 4);
      fin = true;
    }
    assert_int_equal(memlink_inject_write(f->l, memlink_server(f->l), sid, c.b, c.n, fin), MOQC_OK);
    run(f, 100 * MS);
    assert_int_equal(f->s.r.n_closed, 1);
    if (variant < 2) {
      assert_int_equal(f->s.r.close_code, MOQC_CODE_PROTOCOL_VIOLATION);
      assert_true(f->raw.close_code == MOQC_H3_MESSAGE_ERROR);
    } else {
      assert_int_equal(f->s.r.close_code, 0);
      assert_true(f->s.r.by_peer);
    }
    fx_del(f);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_control_errors), cmocka_unit_test(test_control_misc),
      cmocka_unit_test(test_request_errors), cmocka_unit_test(test_early_streams),
      cmocka_unit_test(test_bad_session_id), cmocka_unit_test(test_bad_capsules),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
