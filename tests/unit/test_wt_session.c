/* Unit tests: the WebTransport adapter end to end — our client adapter and
 * our server adapter talking over the in-memory memlink pair in virtual
 * time: negotiation, bidi/uni/datagram exchange, rejection, reset and
 * stop-sending codes, byte-by-byte fragmentation, close capsule, connection
 * loss, release from callbacks. */
#include "test_wt_common.h"

static const char *const k_srv_protos[] = {"moq-lite-04", "moq-lite-03", "moql"};
static const char *const k_cli_protos[] = {"moq-lite-05", "moq-lite-03", "moq-lite-04"};

static fx *connected(const memlink_config *lc, uint16_t status) {
  fx *f = fx_new(lc);
  f->s.status = status;
  attach_server(f, k_srv_protos, 3);
  attach_client(f, "/anon?jwt=abc", k_cli_protos, 3);
  run(f, 200 * MS);
  return f;
}

static void test_negotiation(void **state) {
  (void)state;
  fx *f = connected(NULL, 200);
  assert_int_equal(f->s.n_req, 1);
  assert_int_equal(f->s.n_session, 1);
  assert_int_equal(f->c.n_cb, 1);
  assert_int_equal(f->c.err, MOQC_OK);
  assert_int_equal(f->c.status, 200);
  assert_string_equal(f->s.path, "/anon?jwt=abc");
  assert_string_equal(f->s.authority, "relay.test:4443");
  assert_true(f->s.has_origin);
  assert_string_equal(f->s.origin, "https://app.test");
  assert_true(f->s.draft02);
  assert_int_equal(f->s.n_protos, 3);
  assert_string_equal(f->s.protos[0], "moq-lite-05");
  /* the first CLIENT-listed protocol we support */
  assert_string_equal(f->s.chosen, "moq-lite-03");
  moqc_transport *s = f->s.r.t, *c = f->c.r.t;
  assert_string_equal(s->protocol, "moq-lite-03");
  assert_string_equal(c->protocol, "moq-lite-03");
  assert_string_equal(s->path, "/anon?jwt=abc");
  assert_string_equal(c->path, "/anon?jwt=abc");
  assert_true(s->webtransport && c->webtransport);
  assert_true(s->is_server);
  assert_false(c->is_server);
  assert_true(s->ops->max_datagram(s) > 0);
  assert_true(s->ops->max_datagram(s) < 1200);
  fx_del(f);
}

static void test_default_accept_and_no_match(void **state) {
  (void)state;
  /* No on_request: default selection. */
  fx *f = connected(NULL, 0);
  assert_int_equal(f->s.n_session, 1);
  assert_string_equal(f->c.r.t->protocol, "moq-lite-03");
  fx_del(f);
  /* No common protocol: accepted without wt-protocol. */
  f = fx_new(NULL);
  static const char *const other[] = {"moqt-17"};
  attach_server(f, k_srv_protos, 3);
  attach_client(f, "/", other, 1);
  run(f, 200 * MS);
  assert_int_equal(f->c.err, MOQC_OK);
  assert_string_equal(f->c.r.t->protocol, "");
  assert_string_equal(f->s.r.t->protocol, "");
  fx_del(f);
  /* The application picks something the client did not offer: the client
   * refuses the session. */
  f = fx_new(NULL);
  f->s.status = 200;
  f->s.override = true;
  f->s.override_proto = "moq-lite-99";
  attach_server(f, k_srv_protos, 3);
  attach_client(f, "/", k_cli_protos, 3);
  run(f, 200 * MS);
  assert_int_equal(f->c.n_cb, 1);
  assert_int_equal(f->c.err, MOQC_ERR_PROTOCOL);
  assert_null(f->c.r.t);
  fx_del(f);
}

static void test_reject_403(void **state) {
  (void)state;
  fx *f = connected(NULL, 403);
  assert_int_equal(f->s.n_req, 1);
  assert_int_equal(f->s.n_session, 0);
  assert_int_equal(f->c.n_cb, 1);
  assert_int_equal(f->c.err, MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(f->c.status, 403);
  assert_null(f->c.r.t);
  run(f, 200 * MS);
  /* the client dropped the connection: the server adapter reports and frees */
  assert_int_equal(f->s.n_err, 1);
  assert_int_equal(f->s.err, MOQC_ERR_CLOSED);
  fx_del(f);

  f = connected(NULL, 404);
  assert_int_equal(f->c.err, MOQC_ERR_NOT_FOUND);
  assert_int_equal(f->c.status, 404);
  fx_del(f);
  f = connected(NULL, 429);
  assert_int_equal(f->c.err, MOQC_ERR_TRANSPORT);
  assert_int_equal(f->c.status, 429);
  fx_del(f);
}

static void exchange(fx *f) {
  moqc_transport *s = f->s.r.t, *c = f->c.r.t;
  /* client bidi */
  int64_t bid;
  assert_int_equal(c->ops->open_stream(c, true, &bid), MOQC_OK);
  assert_false(MOQC_STREAM_IS_UNI(bid));
  assert_false(MOQC_STREAM_IS_SERVER(bid));
  assert_int_equal(put(c, bid, "hello", 5, true), MOQC_OK);
  /* server uni */
  int64_t uid;
  assert_int_equal(s->ops->open_stream(s, false, &uid), MOQC_OK);
  assert_true(MOQC_STREAM_IS_UNI(uid) && MOQC_STREAM_IS_SERVER(uid));
  moqc_stream_prio prio = {3, 42};
  assert_int_equal(s->ops->set_priority(s, uid, &prio), MOQC_OK);
  uint8_t big[5000];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 7);
  assert_int_equal(put(s, uid, big, sizeof big, true), MOQC_OK);
  assert_true(s->ops->queued(s, uid) >= sizeof big);
  /* datagrams both ways */
  assert_int_equal(c->ops->send_datagram(c, (const uint8_t *)"dg-up", 5), MOQC_OK);
  assert_int_equal(s->ops->send_datagram(s, (const uint8_t *)"dg-down", 7), MOQC_OK);
  run(f, 500 * MS);

  rstream *sb = rs_find(&f->s.r, bid);
  assert_non_null(sb);
  assert_true(sb->opened && sb->fin);
  assert_int_equal(sb->len, 5);
  assert_memory_equal(sb->buf, "hello", 5);
  assert_int_equal(put(s, bid, "world!", 6, true), MOQC_OK);
  rstream *cu = rs_find(&f->c.r, uid);
  assert_non_null(cu);
  assert_true(cu->opened && cu->fin);
  assert_int_equal(cu->len, sizeof big);
  assert_memory_equal(cu->buf, big, sizeof big);
  assert_int_equal(f->s.r.n_dg, 1);
  assert_int_equal(f->s.r.dg_len, 5);
  assert_memory_equal(f->s.r.dg, "dg-up", 5);
  assert_int_equal(f->c.r.n_dg, 1);
  assert_memory_equal(f->c.r.dg, "dg-down", 7);
  run(f, 500 * MS);
  rstream *cb = rs_find(&f->c.r, bid);
  assert_non_null(cb);
  assert_false(cb->opened); /* we opened it: no stream_opened */
  assert_true(cb->fin);
  assert_int_equal(cb->len, 6);
  assert_memory_equal(cb->buf, "world!", 6);
  /* both halves done: closed everywhere */
  assert_true(cb->closed && sb->closed && cu->closed);
  assert_true(rs_find(&f->s.r, uid)->closed);
  assert_int_equal(s->ops->queued(s, -1), 0);
  /* stream_acked: once per finished send half (prefix included), before
   * stream_closed, and only for the session's own streams. */
  assert_int_equal(rs_find(&f->s.r, uid)->acked, 1);
  assert_false(rs_find(&f->s.r, uid)->closed_before_acked);
  assert_int_equal(sb->acked, 1);
  assert_int_equal(cb->acked, 1);
  assert_false(cb->closed_before_acked);
  assert_int_equal(cu->acked, 0); /* the peer's uni: nothing sent by us */
  unsigned total = 0;
  for (size_t i = 0; i < f->s.r.ns; i++) total += f->s.r.s[i].acked;
  for (size_t i = 0; i < f->c.r.ns; i++) total += f->c.r.s[i].acked;
  assert_int_equal(total, 3); /* no control / QPACK / CONNECT stream */
}

static void test_bidi_uni_datagram(void **state) {
  (void)state;
  fx *f = connected(NULL, 200);
  exchange(f);
  /* a datagram over the limit */
  moqc_transport *c = f->c.r.t;
  size_t max = c->ops->max_datagram(c);
  uint8_t big[1300] = {0};
  assert_int_equal(c->ops->send_datagram(c, big, max + 1), MOQC_ERR_TOO_LARGE);
  assert_int_equal(c->ops->send_datagram(c, big, max), MOQC_OK);
  run(f, 100 * MS);
  assert_int_equal(f->s.r.n_dg, 2);
  assert_int_equal(f->s.r.dg_len, max);
  /* internal streams are not usable through the session */
  assert_int_equal(put(c, 0, "x", 1, false), MOQC_ERR_INVAL);
  assert_int_equal(put(c, 2, "x", 1, false), MOQC_ERR_INVAL);
  assert_int_equal(c->ops->reset(c, 3, 0), MOQC_ERR_INVAL);
  fx_del(f);
}

/* Every stream byte arrives alone: SETTINGS, HEADERS, prefixes, capsules. */
static void test_fragmented_one_byte(void **state) {
  (void)state;
  memlink_config lc = MEMLINK_CONFIG_DEFAULT;
  lc.mtu = 1;
  lc.latency_ns = 1 * MS;
  fx *f = connected(&lc, 200);
  assert_int_equal(f->c.err, MOQC_OK);
  assert_string_equal(f->c.r.t->protocol, "moq-lite-03");
  exchange(f);
  rstream *sb = rs_find(&f->s.r, 0 + 4); /* the first client bidi after CONNECT (id 0) */
  assert_non_null(sb);
  assert_int_equal(sb->calls, 5); /* one call per payload byte: prefix fully stripped */
  /* close capsule, one byte at a time too */
  f->c.r.t->ops->close(f->c.r.t, 77, "bye");
  run(f, 500 * MS);
  assert_int_equal(f->s.r.n_closed, 1);
  assert_int_equal(f->s.r.close_code, 77);
  assert_string_equal(f->s.r.reason, "bye");
  assert_true(f->s.r.by_peer);
  fx_del(f);
}

static void test_reset_codes(void **state) {
  (void)state;
  fx *f = connected(NULL, 200);
  moqc_transport *s = f->s.r.t, *c = f->c.r.t;
  int64_t u1, b1, b2;
  assert_int_equal(c->ops->open_stream(c, false, &u1), MOQC_OK);
  assert_int_equal(put(c, u1, "abc", 3, false), MOQC_OK);
  assert_int_equal(c->ops->open_stream(c, true, &b1), MOQC_OK);
  assert_int_equal(put(c, b1, "q", 1, false), MOQC_OK);
  assert_int_equal(c->ops->open_stream(c, true, &b2), MOQC_OK);
  assert_int_equal(put(c, b2, "r", 1, false), MOQC_OK);
  run(f, 100 * MS);
  assert_int_equal(c->ops->reset(c, u1, MOQC_CODE_OLD), MOQC_OK);
  assert_int_equal(s->ops->stop_sending(s, b1, 0x1e), MOQC_OK); /* the skipped point */
  assert_int_equal(s->ops->reset(s, b2, 0xfffffffeULL), MOQC_OK);
  run(f, 100 * MS);
  rstream *r = rs_find(&f->s.r, u1);
  assert_true(r && r->reset);
  assert_int_equal(r->reset_code, MOQC_CODE_OLD);
  r = rs_find(&f->c.r, b1);
  assert_true(r && r->stopped);
  assert_int_equal(r->stop_code, 0x1e);
  r = rs_find(&f->c.r, b2);
  assert_true(r && r->reset);
  assert_true(r->reset_code == 0xfffffffeULL);
  /* STOP_SENDING made the client's transport reset b1: the server sees it */
  r = rs_find(&f->s.r, b1);
  assert_true(r && r->reset);
  assert_int_equal(r->reset_code, 0x1e);
  fx_del(f);
}

static void test_close_capsule(void **state) {
  (void)state;
  fx *f = connected(NULL, 200);
  moqc_transport *s = f->s.r.t, *c = f->c.r.t;
  s->ops->close(s, 0x1234, "going away");
  /* close() never calls back synchronously; ops are now CLOSED */
  assert_int_equal(f->s.r.n_closed, 0);
  int64_t id;
  assert_int_equal(s->ops->open_stream(s, false, &id), MOQC_ERR_CLOSED);
  assert_int_equal(s->ops->send_datagram(s, (const uint8_t *)"x", 1), MOQC_ERR_CLOSED);
  run(f, 500 * MS);
  assert_int_equal(f->c.r.n_closed, 1);
  assert_int_equal(f->c.r.close_code, 0x1234);
  assert_string_equal(f->c.r.reason, "going away");
  assert_true(f->c.r.by_peer);
  assert_int_equal(f->s.r.n_closed, 1);
  assert_int_equal(f->s.r.close_code, 0x1234);
  assert_false(f->s.r.by_peer);
  assert_int_equal(c->ops->open_stream(c, true, &id), MOQC_ERR_CLOSED);
  run(f, 500 * MS);
  assert_int_equal(f->c.r.n_closed, 1); /* exactly once */
  assert_int_equal(f->s.r.n_closed, 1);
  fx_del(f);
}

static void test_connection_loss(void **state) {
  (void)state;
  fx *f = connected(NULL, 200);
  memlink_disconnect(f->l, moqc_wt_error_to_h3(31), "network");
  run(f, 100 * MS);
  assert_int_equal(f->c.r.n_closed, 1);
  assert_int_equal(f->c.r.close_code, 31); /* mapped back from the h3 range */
  assert_int_equal(f->s.r.n_closed, 1);
  assert_string_equal(f->s.r.reason, "network");
  fx_del(f);
}

/* A connection closed with an HTTP/3 error is no MoQ code: Transport, and the
 * H3 code in the reason; our QUIC layer's own codes pass as they are. */
static void test_connection_h3_error(void **state) {
  (void)state;
  fx *f = connected(NULL, 200);
  memlink_disconnect(f->l, 0x10c /* H3_REQUEST_CANCELLED */, "gone");
  run(f, 100 * MS);
  assert_int_equal(f->c.r.n_closed, 1);
  assert_int_equal(f->c.r.close_code, MOQC_CODE_TRANSPORT);
  assert_string_equal(f->c.r.reason, "HTTP/3 error 0x10c: gone");
  assert_true(f->c.r.t->close_code_local); /* ours, not the peer application's */
  assert_int_equal(f->s.r.close_code, MOQC_CODE_TRANSPORT);
  fx_del(f);
  f = connected(NULL, 200);
  memlink_disconnect(f->l, MOQC_CODE_TIMEOUT, "idle timeout");
  run(f, 100 * MS);
  assert_int_equal(f->c.r.close_code, MOQC_CODE_TIMEOUT);
  assert_string_equal(f->c.r.reason, "idle timeout");
  fx_del(f);
}

static void test_release_paths(void **state) {
  (void)state;
  /* The server releases without close(): the client sees a clean close. */
  fx *f = connected(NULL, 200);
  f->s.r.t->ops->release(f->s.r.t);
  f->s.r.t = NULL;
  run(f, 500 * MS);
  assert_int_equal(f->c.r.n_closed, 1);
  assert_int_equal(f->c.r.close_code, 0);
  assert_int_equal(f->s.r.n_closed, 0); /* no callback after release */
  fx_del(f);
  /* Release from inside the closed callback. */
  f = connected(NULL, 200);
  f->c.r.release_on_close = true;
  f->s.r.t->ops->close(f->s.r.t, 9, "x");
  run(f, 500 * MS);
  assert_int_equal(f->c.r.n_closed, 1);
  assert_null(f->c.r.t);
  fx_del(f);
  /* Release before the session is used at all, and close twice. */
  f = connected(NULL, 200);
  f->c.r.t->ops->close(f->c.r.t, 1, "a");
  f->c.r.t->ops->close(f->c.r.t, 2, "b");
  f->c.r.t->ops->release(f->c.r.t);
  f->c.r.t = NULL;
  run(f, 500 * MS);
  assert_int_equal(f->s.r.n_closed, 1);
  assert_int_equal(f->s.r.close_code, 1);
  fx_del(f);
}

static void test_stream_credit(void **state) {
  (void)state;
  memlink_config lc = MEMLINK_CONFIG_DEFAULT;
  lc.latency_ns = 2 * MS;
  lc.max_streams_uni = 4; /* control stream + 3 */
  fx *f = connected(&lc, 200);
  moqc_transport *c = f->c.r.t;
  int64_t ids[8];
  int n = 0;
  while (n < 8 && c->ops->open_stream(c, false, &ids[n]) == MOQC_OK) n++;
  assert_int_equal(n, 3);
  for (int i = 0; i < n; i++) assert_int_equal(put(c, ids[i], "z", 1, true), MOQC_OK);
  run(f, 100 * MS);
  assert_true(f->c.r.n_writable > 0);
  assert_int_equal(c->ops->open_stream(c, false, &ids[0]), MOQC_OK);
  fx_del(f);
}

static void test_attach_args(void **state) {
  (void)state;
  fx *f = fx_new(NULL);
  moqc_wt_server_config cfg = srv_cfg(f, k_srv_protos, 3);
  cfg.on_session = NULL;
  assert_int_equal(moqc_wt_server_attach(memlink_server(f->l), &cfg), MOQC_ERR_INVAL);
  static const char *const longp[] = {"a-protocol-name-longer-than-31-bytes"};
  cfg = srv_cfg(f, longp, 1);
  assert_int_equal(moqc_wt_server_attach(memlink_server(f->l), &cfg), MOQC_ERR_INVAL);
  assert_int_equal(moqc_wt_server_attach(NULL, &cfg), MOQC_ERR_INVAL);
  assert_int_equal(
      moqc_wt_client_attach(memlink_client(f->l), "h", "nopath", NULL, 0, cli_cb, &f->c),
      MOQC_ERR_INVAL);
  assert_int_equal(
      moqc_wt_client_attach(memlink_client(f->l), "h\r\nx: y", "/", NULL, 0, cli_cb, &f->c),
      MOQC_ERR_INVAL);
  assert_int_equal(moqc_wt_client_attach(memlink_client(f->l), "", "/", NULL, 0, cli_cb, &f->c),
                   MOQC_ERR_INVAL);
  assert_int_equal(moqc_wt_client_attach(memlink_client(f->l), "h", "/", NULL, 0, NULL, NULL),
                   MOQC_ERR_INVAL);
  /* the one-liner works */
  attach_server(f, k_srv_protos, 3);
  assert_int_equal(
      moqc_wt_client_attach(memlink_client(f->l), "h:1", "/x", k_cli_protos, 3, cli_cb, &f->c),
      MOQC_OK);
  run(f, 200 * MS);
  assert_int_equal(f->c.err, MOQC_OK);
  assert_string_equal(f->s.path, ""); /* no on_request (default accept) */
  assert_string_equal(f->s.r.t->path, "/x");
  fx_del(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_negotiation),
      cmocka_unit_test(test_default_accept_and_no_match),
      cmocka_unit_test(test_reject_403),
      cmocka_unit_test(test_bidi_uni_datagram),
      cmocka_unit_test(test_fragmented_one_byte),
      cmocka_unit_test(test_reset_codes),
      cmocka_unit_test(test_close_capsule),
      cmocka_unit_test(test_connection_h3_error),
      cmocka_unit_test(test_connection_loss),
      cmocka_unit_test(test_release_paths),
      cmocka_unit_test(test_stream_credit),
      cmocka_unit_test(test_attach_args),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
