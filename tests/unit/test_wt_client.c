/* Unit tests: the WebTransport client adapter against a raw server that
 * speaks hand-made HTTP/3: the CONNECT it sends, interim and final
 * responses, server SETTINGS without WebTransport, timeouts, malformed
 * responses, streams that overtake the response, server streams and
 * datagrams. */
#include "test_wt_common.h"

static const char *const k_offer[] = {"moq-lite-04", "moq-lite-03", "moql"};

typedef struct bytes {
  uint8_t b[2048];
  size_t n;
} bytes;

static void add(bytes *x, const void *p, size_t n) {
  assert_true(x->n + n <= sizeof x->b);
  memcpy(x->b + x->n, p, n);
  x->n += n;
}
static void add_vi(bytes *x, uint64_t v) {
  uint8_t t[8];
  ssize_t n = moqc_varint_encode(t, sizeof t, v);
  add(x, t, (size_t)n);
}

/* A client adapter and a raw server side. */
static fx *client_only(void) {
  fx *f = fx_new(NULL);
  moqc_transport_set_handler(memlink_server(f->l), &k_rec_handler, &f->raw);
  attach_client(f, "/room?x=1", k_offer, 3);
  return f;
}

static void server_settings(fx *f, bool wt) {
  bytes x = {.n = 0};
  add(&x, "\x00", 1);
  if (wt) {
    uint8_t b[80];
    ssize_t n = moqc_h3_settings_encode_frame(b, sizeof b, 1);
    add(&x, b, (size_t)n);
  } else {
    add(&x, "\x04\x02\x33\x01", 4); /* datagrams only */
  }
  int64_t id;
  assert_int_equal(memlink_inject(f->l, memlink_client(f->l), false, x.b, x.n, false, &id),
                   MOQC_OK);
}

static void respond(fx *f, uint16_t status, const char *proto, bool fin) {
  uint8_t b[256];
  ssize_t n = moqc_h3_connect_resp_encode(b, sizeof b, status, proto);
  assert_true(n > 0);
  moqc_transport *raw = memlink_server(f->l);
  /* in two pieces, split inside the frame header */
  moqc_buf *buf = moqc_buf_copy(b, (size_t)n);
  moqc_slice s1 = {buf, 0, 1}, s2 = {buf, 1, (size_t)n - 1};
  assert_int_equal(raw->ops->write(raw, 0, &s1, 1, false), MOQC_OK);
  assert_int_equal(raw->ops->write(raw, 0, &s2, 1, fin), MOQC_OK);
  moqc_buf_unref(buf);
}

static void test_timeout_and_unsupported(void **state) {
  (void)state;
  fx *f = client_only();
  run(f, 4900 * MS);
  assert_int_equal(f->c.n_cb, 0);
  run(f, 200 * MS);
  assert_int_equal(f->c.n_cb, 1);
  assert_int_equal(f->c.err, MOQC_ERR_TIMEOUT);
  assert_null(f->c.r.t);
  fx_del(f);

  f = client_only();
  server_settings(f, false);
  run(f, 100 * MS);
  assert_int_equal(f->c.n_cb, 1);
  assert_int_equal(f->c.err, MOQC_ERR_UNSUPPORTED);
  fx_del(f);
}

static void test_handshake(void **state) {
  (void)state;
  fx *f = client_only();
  run(f, 50 * MS);
  /* nothing but SETTINGS until the server's SETTINGS arrive */
  assert_null(rs_find(&f->raw, 0));
  rstream *ctl = rs_find(&f->raw, 2);
  assert_non_null(ctl);
  assert_int_equal(ctl->buf[0], 0x00);
  assert_int_equal(ctl->buf[1], MOQC_H3_FRAME_SETTINGS);
  server_settings(f, true);
  run(f, 50 * MS);
  rstream *req = rs_find(&f->raw, 0);
  assert_non_null(req);
  assert_false(req->fin);
  /* what we sent is a valid WebTransport CONNECT */
  moqc_h3_frame_hdr h;
  ssize_t hl = moqc_h3_frame_hdr_decode(&h, req->buf, req->len);
  assert_true(hl > 0);
  assert_int_equal(h.type, MOQC_H3_FRAME_HEADERS);
  assert_int_equal((size_t)hl + h.len, req->len);
  moqc_h3_fields fl;
  uint64_t err;
  assert_int_equal(moqc_h3_qpack_decode(req->buf + hl, (size_t)h.len, &fl, &err), MOQC_OK);
  moqc_h3_connect_req cr;
  uint16_t st;
  assert_int_equal(moqc_h3_connect_req_parse(&cr, &fl, &st), MOQC_H3_REQ_OK);
  assert_string_equal(cr.path, "/room?x=1");
  assert_string_equal(cr.authority, "relay.test:4443");
  assert_string_equal(cr.origin, "https://app.test");
  assert_int_equal(cr.n_protocols, 3);
  assert_string_equal(cr.protocols[0], "moq-lite-04");
  moqc_h3_connect_req_free(&cr);

  /* a stream of the session overtakes the response */
  bytes u = {.n = 0};
  add_vi(&u, MOQC_H3_STREAM_WT_UNI);
  add_vi(&u, 0);
  add(&u, "before-200", 10);
  int64_t uid;
  assert_int_equal(memlink_inject(f->l, memlink_client(f->l), false, u.b, u.n, true, &uid),
                   MOQC_OK);
  run(f, 20 * MS);
  respond(f, 103, NULL, false); /* interim */
  run(f, 20 * MS);
  assert_int_equal(f->c.n_cb, 0);
  respond(f, 200, "moq-lite-03", false);
  run(f, 50 * MS);
  assert_int_equal(f->c.n_cb, 1);
  assert_int_equal(f->c.err, MOQC_OK);
  assert_int_equal(f->c.status, 200);
  moqc_transport *t = f->c.r.t;
  assert_string_equal(t->protocol, "moq-lite-03");
  assert_string_equal(t->path, "/room?x=1");
  rstream *r = rs_find(&f->c.r, uid);
  assert_true(r && r->opened && r->fin && r->closed);
  assert_memory_equal(r->buf, "before-200", 10);

  /* server bidi WT stream, then a datagram */
  bytes b = {.n = 0};
  add_vi(&b, MOQC_H3_FRAME_WT_STREAM);
  add_vi(&b, 0);
  add(&b, "srv-bidi", 8);
  int64_t bid;
  assert_int_equal(memlink_inject(f->l, memlink_client(f->l), true, b.b, b.n, false, &bid),
                   MOQC_OK);
  moqc_transport *raw = memlink_server(f->l);
  assert_int_equal(raw->ops->send_datagram(raw, (const uint8_t *)"\x00hey", 4), MOQC_OK);
  run(f, 50 * MS);
  r = rs_find(&f->c.r, bid);
  assert_true(r && r->opened);
  assert_memory_equal(r->buf, "srv-bidi", 8);
  assert_int_equal(f->c.r.n_dg, 1);
  assert_memory_equal(f->c.r.dg, "hey", 3);
  /* the client answers on it: the server sees exactly the bytes */
  assert_int_equal(put(t, bid, "reply", 5, true), MOQC_OK);
  run(f, 50 * MS);
  memlink_inject_info info;
  assert_int_equal(memlink_inject_state(f->l, memlink_client(f->l), bid, &info), MOQC_OK);
  assert_int_equal(info.received, 5);
  assert_true(info.fin);
  /* our uni stream starts with the prefix */
  int64_t mine;
  assert_int_equal(t->ops->open_stream(t, false, &mine), MOQC_OK);
  assert_int_equal(put(t, mine, "X", 1, true), MOQC_OK);
  run(f, 50 * MS);
  r = rs_find(&f->raw, mine);
  assert_non_null(r);
  assert_int_equal(r->len, 4);
  assert_memory_equal(r->buf, "\x40\x54\x00X", 4);
  /* the server FINs the CONNECT stream: the session is over */
  moqc_slice none = MOQC_SLICE_EMPTY;
  assert_int_equal(raw->ops->write(raw, 0, &none, 0, true), MOQC_OK);
  run(f, 50 * MS);
  assert_int_equal(f->c.r.n_closed, 1);
  assert_int_equal(f->c.r.close_code, 0);
  assert_true(f->c.r.by_peer);
  fx_del(f);
}

typedef void (*srv_act)(fx *f);

static void act_bad_protocol(fx *f) { respond(f, 200, "not-offered", false); }
static void act_fin_early(fx *f) {
  moqc_slice none = MOQC_SLICE_EMPTY;
  moqc_transport *raw = memlink_server(f->l);
  assert_int_equal(raw->ops->write(raw, 0, &none, 0, true), MOQC_OK);
}
static void act_bad_status(fx *f) {
  /* :status "xy" (literal with name reference to static 24) */
  static const uint8_t blk[] = {0x01, 0x07, 0x00, 0x00, 0x5f, 0x09, 0x02, 'x', 'y'};
  moqc_buf *b = moqc_buf_copy(blk, sizeof blk);
  moqc_slice s = {b, 0, sizeof blk};
  moqc_transport *raw = memlink_server(f->l);
  assert_int_equal(raw->ops->write(raw, 0, &s, 1, false), MOQC_OK);
  moqc_buf_unref(b);
}
static void act_server_bidi(fx *f) {
  int64_t id;
  assert_int_equal(memlink_inject(f->l, memlink_client(f->l), true, "\x01\x00", 2, false, &id),
                   MOQC_OK);
}
static void act_data_first(fx *f) {
  moqc_buf *b = moqc_buf_copy("\x00\x01z", 3);
  moqc_slice s = {b, 0, 3};
  moqc_transport *raw = memlink_server(f->l);
  assert_int_equal(raw->ops->write(raw, 0, &s, 1, false), MOQC_OK);
  moqc_buf_unref(b);
}
static void act_reject(fx *f) { respond(f, 401, NULL, true); }

static void failure_case(srv_act act, int err, uint64_t h3_code) {
  fx *f = client_only();
  server_settings(f, true);
  run(f, 50 * MS);
  act(f);
  run(f, 100 * MS);
  assert_int_equal(f->c.n_cb, 1);
  assert_int_equal(f->c.err, err);
  assert_null(f->c.r.t);
  assert_int_equal(f->raw.n_closed, 1);
  assert_true(f->raw.close_code == h3_code);
  fx_del(f);
}

static void test_failures(void **state) {
  (void)state;
  failure_case(act_bad_protocol, MOQC_ERR_PROTOCOL, MOQC_H3_NO_ERROR);
  failure_case(act_fin_early, MOQC_ERR_CLOSED, MOQC_H3_NO_ERROR);
  failure_case(act_bad_status, MOQC_ERR_PROTOCOL, MOQC_H3_MESSAGE_ERROR);
  failure_case(act_server_bidi, MOQC_ERR_PROTOCOL, MOQC_H3_STREAM_CREATION_ERROR);
  failure_case(act_data_first, MOQC_ERR_PROTOCOL, MOQC_H3_FRAME_UNEXPECTED);
  failure_case(act_reject, MOQC_ERR_UNAUTHORIZED, MOQC_H3_NO_ERROR);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_timeout_and_unsupported),
      cmocka_unit_test(test_handshake),
      cmocka_unit_test(test_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
