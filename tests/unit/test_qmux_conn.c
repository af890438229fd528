/* QMux connection (moqc_qmux) over a fake WebSocket: two ends wired back to
 * back in virtual time, and bad input fed by hand (flow-control violation, a
 * frame for a stream never opened, data before the transport parameters, an
 * oversized record, a peer that stops reading). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/mem.h"
#include "moqc/error.h"
#include "qmux/qmux_frame.h"

typedef struct end {
  moqc_qmux *q;
  moqc_transport *t;
  struct end *peer;
  uint8_t *out[256]; /* messages sent, not yet delivered */
  size_t outlen[256];
  size_t n_out;
  size_t pending; /* what the fake socket claims to hold */
  uint16_t ws_close;
  /* events */
  int64_t opened;
  char data[1024];
  size_t data_len;
  bool fin, closed, by_peer;
  uint64_t close_code;
  int writable;
} end;

static moqc_clock *clk;

static int io_send(void *ctx, const uint8_t *p, size_t len) {
  end *e = ctx;
  assert_true(e->n_out < 256);
  e->out[e->n_out] = moqc_malloc(len);
  memcpy(e->out[e->n_out], p, len);
  e->outlen[e->n_out++] = len;
  return 0;
}
static size_t io_pending(void *ctx) { return ((end *)ctx)->pending; }
static void io_close(void *ctx, uint16_t status, const char *reason) {
  (void)reason;
  ((end *)ctx)->ws_close = status;
}

static void h_opened(void *ctx, int64_t id) { ((end *)ctx)->opened = id; }
static void h_data(void *ctx, int64_t id, const uint8_t *p, size_t len, bool fin) {
  (void)id;
  end *e = ctx;
  memcpy(e->data + e->data_len, p, len);
  e->data_len += len;
  e->fin |= fin;
}
static void h_closed(void *ctx, uint64_t code, const char *reason, bool by_peer) {
  (void)reason;
  end *e = ctx;
  e->closed = true;
  e->close_code = code;
  e->by_peer = by_peer;
}
static void h_writable(void *ctx) { ((end *)ctx)->writable++; }
static const moqc_transport_handler H = {
    .stream_opened = h_opened, .stream_data = h_data, .closed = h_closed, .writable = h_writable};

static void mk(end *e, moqc_qmux_version v, bool server) {
  memset(e, 0, sizeof *e);
  e->opened = -1;
  moqc_qmux_config c = {.version = v,
                        .is_server = server,
                        .protocol = "moq-lite-04",
                        .path = "/anon?jwt=x",
                        .clock = clk,
                        .io = {io_send, io_pending, io_close},
                        .io_ctx = e};
  assert_int_equal(moqc_qmux_new(&c, &e->q), MOQC_OK);
  e->t = moqc_qmux_transport(e->q);
  moqc_transport_set_handler(e->t, &H, e);
}

static void drop_out(end *e) {
  for (size_t i = 0; i < e->n_out; i++) moqc_free(e->out[i]);
  e->n_out = 0;
}

/* Run ticks and deliver messages both ways until quiet. */
static void pump(end *a, end *b) {
  for (int round = 0; round < 50; round++) {
    moqc_clock_advance(clk, moqc_clock_now(clk) + 1000);
    size_t moved = 0;
    end *ends[2] = {a, b};
    for (int k = 0; k < 2; k++) {
      end *e = ends[k];
      for (size_t i = 0; i < e->n_out; i++) {
        if (e->peer && e->peer->q) moqc_qmux_recv(e->peer->q, e->out[i], e->outlen[i]);
        moved++;
      }
      drop_out(e);
    }
    if (!moved) break;
  }
}

static void teardown_end(end *e) {
  drop_out(e);
  moqc_qmux_io_closed(e->q, 1000, "");
  e->t->ops->release(e->t);
}

static void roundtrip(moqc_qmux_version v) {
  end c, s;
  mk(&c, v, false);
  mk(&s, v, true);
  c.peer = &s;
  s.peer = &c;
  assert_string_equal(s.t->path, "/anon?jwt=x");
  assert_string_equal(s.t->protocol, "moq-lite-04");
  assert_int_equal(s.t->ops->max_datagram(s.t), 0);
  pump(&c, &s); /* parameters */
  int64_t id;
  assert_int_equal(c.t->ops->open_stream(c.t, true, &id), MOQC_OK);
  assert_int_equal(id, 0);
  moqc_buf *b = moqc_buf_copy("hello world", 11);
  moqc_slice sl[2] = {{b, 0, 5}, {b, 5, 6}};
  assert_int_equal(c.t->ops->write(c.t, id, sl, 2, true), MOQC_OK);
  moqc_buf_unref(b);
  assert_int_equal(c.t->ops->queued(c.t, id), 11);
  pump(&c, &s);
  assert_int_equal(s.opened, 0);
  assert_int_equal(s.data_len, 11);
  assert_memory_equal(s.data, "hello world", 11);
  assert_true(s.fin);
  assert_int_equal(c.t->ops->queued(c.t, id), 0);
  /* The server answers on the same stream; close from the client. */
  moqc_buf *r = moqc_buf_copy("ok", 2);
  moqc_slice rs = {r, 0, 2};
  assert_int_equal(s.t->ops->write(s.t, 0, &rs, 1, true), MOQC_OK);
  moqc_buf_unref(r);
  pump(&c, &s);
  assert_int_equal(c.data_len, 2);
  assert_true(c.fin);
  c.t->ops->close(c.t, 64 + 3, "bye");
  pump(&c, &s);
  assert_true(c.closed);
  assert_false(c.by_peer);
  assert_true(s.closed);
  assert_true(s.by_peer);
  assert_int_equal(s.close_code, 67);
  assert_false(s.t->close_code_local); /* the peer application's code */
  teardown_end(&c);
  teardown_end(&s);
}

/* The WebSocket ends under QMux, or the peer sends a transport
 * CONNECTION_CLOSE: by_peer, with the transport's own Transport code
 * (close_code_local), not a code the peer's application chose. */
static void test_closed_below_moq(void **st) {
  (void)st;
  for (int how = 0; how < 2; how++) {
    end c, s;
    mk(&c, MOQC_QMUX_02, false);
    mk(&s, MOQC_QMUX_02, true);
    c.peer = &s;
    s.peer = &c;
    pump(&c, &s); /* parameters */
    if (how == 0) {
      moqc_qmux_io_closed(s.q, 1006, "connection lost");
    } else {
      uint8_t buf[64];
      moqc_writer w = moqc_writer_make(buf, sizeof buf);
      moqc__qmux_put_close(&w, MOQC_QMUX_02, false, 0x0a, "", 0);
      assert_int_equal(moqc_qmux_recv(s.q, buf, w.pos), MOQC_OK);
    }
    moqc_clock_advance(clk, moqc_clock_now(clk) + 1000);
    assert_true(s.closed && s.by_peer);
    assert_int_equal(s.close_code, MOQC_CODE_TRANSPORT);
    assert_true(s.t->close_code_local);
    drop_out(&c);
    drop_out(&s);
    if (how == 1) moqc_qmux_io_closed(s.q, 1000, "");
    s.t->ops->release(s.t);
    teardown_end(&c);
  }
}

static void test_roundtrip_qmux01(void **st) {
  (void)st;
  roundtrip(MOQC_QMUX_01);
}
static void test_roundtrip_qmux02(void **st) {
  (void)st;
  roundtrip(MOQC_QMUX_02);
}
static void test_roundtrip_qmux00(void **st) {
  (void)st;
  roundtrip(MOQC_QMUX_00);
}
static void test_roundtrip_legacy(void **st) {
  (void)st;
  roundtrip(MOQC_QMUX_WEBTRANSPORT);
}

/* A server fed by hand: parameters from a "client", then one bad message. */
static void feed_bad_v(moqc_qmux_version v, const char *what, const uint8_t *msg, size_t len,
                       int want_rv, bool with_params) {
  end s;
  mk(&s, v, true);
  drop_out(&s);
  if (with_params) {
    uint8_t buf[128];
    moqc_writer w = moqc_writer_make(buf, sizeof buf);
    moqc_qmux_params p;
    moqc__qmux_params_default(&p);
    p.initial_max_data = 1 << 20;
    p.sd_bidi_local = p.sd_bidi_remote = p.sd_uni = 1000;
    p.streams_bidi = p.streams_uni = 4;
    moqc__qmux_put_params(&w, &p);
    assert_int_equal(moqc_qmux_recv(s.q, buf, w.pos), MOQC_OK);
  }
  int rv = moqc_qmux_recv(s.q, msg, len);
  if (rv != want_rv) fail_msg("%s: rv %d, want %d", what, rv, want_rv);
  moqc_clock_advance(clk, moqc_clock_now(clk) + 1000);
  assert_true(s.closed);
  assert_int_equal(s.close_code, MOQC_CODE_PROTOCOL_VIOLATION);
  assert_int_equal(s.ws_close, 1002);
  /* The last message sent is a CONNECTION_CLOSE. */
  assert_true(s.n_out > 0);
  moqc_qmux_frame f;
  assert_true(moqc__qmux_frame_decode(v, &f, s.out[s.n_out - 1], s.outlen[s.n_out - 1]) > 0);
  assert_int_equal(f.type, MOQC_QF_CONNECTION_CLOSE);
  /* Every op now reports the connection closed. */
  int64_t id;
  assert_int_equal(s.t->ops->open_stream(s.t, true, &id), MOQC_ERR_CLOSED);
  teardown_end(&s);
}

static void feed_bad(const char *what, const uint8_t *msg, size_t len, int want_rv,
                     bool with_params) {
  feed_bad_v(MOQC_QMUX_01, what, msg, len, want_rv, with_params);
}

/* QX_PING request (seq 5) twice, and a QX_PING response: bytes from @moq/qmux
 * 0.3.3's encoder ("f48c67529ef8c7bd05", "f48c67529ef8c7be05"). */
static const uint8_t k_ping5[] = {0xf4, 0x8c, 0x67, 0x52, 0x9e, 0xf8, 0xc7, 0xbd, 0x05};
static const uint8_t k_pong5[] = {0xf4, 0x8c, 0x67, 0x52, 0x9e, 0xf8, 0xc7, 0xbe, 0x05};

/* draft-02: QX_PING request sequences strictly increase; a response must echo
 * a request we sent (we send none); the parameters come once. On qmux-01 the
 * same pings and pong are fine. */
static void test_qmux02_strict(void **st) {
  (void)st;
  uint8_t two[2 * sizeof k_ping5];
  memcpy(two, k_ping5, sizeof k_ping5);
  memcpy(two + sizeof k_ping5, k_ping5, sizeof k_ping5);
  feed_bad_v(MOQC_QMUX_02, "ping order", two, sizeof two, MOQC_ERR_PROTOCOL, true);
  feed_bad_v(MOQC_QMUX_02, "pong", k_pong5, sizeof k_pong5, MOQC_ERR_PROTOCOL, true);
  uint8_t buf[128];
  moqc_writer w = moqc_writer_make(buf, sizeof buf);
  moqc_qmux_params p;
  moqc__qmux_params_default(&p);
  moqc__qmux_put_params(&w, &p);
  feed_bad_v(MOQC_QMUX_02, "params twice", buf, w.pos, MOQC_ERR_PROTOCOL, true);
  /* qmux-01: both pings answered, the pong ignored, still open */
  end s;
  mk(&s, MOQC_QMUX_01, true);
  drop_out(&s);
  w = moqc_writer_make(buf, sizeof buf);
  p.initial_max_data = 1 << 20;
  moqc__qmux_put_params(&w, &p);
  assert_int_equal(moqc_qmux_recv(s.q, buf, w.pos), MOQC_OK);
  assert_int_equal(moqc_qmux_recv(s.q, two, sizeof two), MOQC_OK);
  assert_int_equal(moqc_qmux_recv(s.q, k_pong5, sizeof k_pong5), MOQC_OK);
  assert_false(s.closed);
  teardown_end(&s);
  /* qmux-02: increasing sequences are answered */
  mk(&s, MOQC_QMUX_02, true);
  drop_out(&s);
  w = moqc_writer_make(buf, sizeof buf);
  moqc__qmux_put_params(&w, &p);
  assert_int_equal(moqc_qmux_recv(s.q, buf, w.pos), MOQC_OK);
  uint8_t ping6[sizeof k_ping5];
  memcpy(ping6, k_ping5, sizeof ping6);
  ping6[8] = 6;
  assert_int_equal(moqc_qmux_recv(s.q, k_ping5, sizeof k_ping5), MOQC_OK);
  assert_int_equal(moqc_qmux_recv(s.q, ping6, sizeof ping6), MOQC_OK);
  assert_false(s.closed);
  teardown_end(&s);
}

static void test_flow_control_violation(void **st) {
  (void)st;
  /* RESET_STREAM of client stream 0 declaring a final size of 1 MB: past our
   * 256 KiB stream window (the unseen tail counts against the credit). */
  uint8_t m[16];
  moqc_writer w = moqc_writer_make(m, sizeof m);
  moqc__qmux_put_reset(&w, MOQC_QMUX_01, 0, 0, 1000000);
  feed_bad("flow control", m, w.pos, MOQC_ERR_PROTOCOL, true);
}

static void test_out_of_order(void **st) {
  (void)st;
  /* Stream 0 at offset 1000 with nothing before it: WebSocket is in order. */
  uint8_t m[16];
  moqc_writer w = moqc_writer_make(m, sizeof m);
  moqc__qmux_put_stream(&w, MOQC_QMUX_01, 0, 1000, 1, false);
  moqc_write_u8(&w, 'x');
  feed_bad("out of order", m, w.pos, MOQC_ERR_PROTOCOL, true);
}

static void test_unknown_stream(void **st) {
  (void)st;
  /* MAX_STREAM_DATA / STREAM for server stream 1, which the server never opened. */
  uint8_t m[16];
  moqc_writer w = moqc_writer_make(m, sizeof m);
  moqc__qmux_put_stream(&w, MOQC_QMUX_01, 1, 0, 1, false);
  moqc_write_u8(&w, 'x');
  feed_bad("unknown stream", m, w.pos, MOQC_ERR_PROTOCOL, true);
}

static void test_stream_limit(void **st) {
  (void)st;
  /* Client uni stream index 100: over the 100 we allow. */
  uint8_t m[16];
  moqc_writer w = moqc_writer_make(m, sizeof m);
  moqc__qmux_put_stream(&w, MOQC_QMUX_01, 100 * 4 + 2, 0, 1, false);
  moqc_write_u8(&w, 'x');
  feed_bad("stream limit", m, w.pos, MOQC_ERR_PROTOCOL, true);
}

static void test_data_before_params(void **st) {
  (void)st;
  uint8_t m[] = {0x0f, 0x00, 0x00, 0x01, 'x'};
  feed_bad("before params", m, sizeof m, MOQC_ERR_PROTOCOL, false);
}

static void test_oversized_record(void **st) {
  (void)st;
  static uint8_t big[MOQC_QMUX_DEFAULT_MAX_RECORD_SIZE + 1];
  feed_bad("oversized", big, sizeof big, MOQC_ERR_TOO_LARGE, true);
}

static void test_malformed(void **st) {
  (void)st;
  uint8_t m[] = {0x21, 0x00};
  feed_bad("malformed", m, sizeof m, MOQC_ERR_PROTOCOL, true);
}

/* A peer that stops reading: the socket holds more and more; past the send cap
 * the connection closes (1008) instead of buffering without bound. */
static void test_send_cap(void **st) {
  (void)st;
  end c, s;
  mk(&c, MOQC_QMUX_WEBTRANSPORT, false);
  mk(&s, MOQC_QMUX_WEBTRANSPORT, true);
  int64_t id;
  assert_int_equal(s.t->ops->open_stream(s.t, false, &id), MOQC_OK);
  assert_int_equal(id, 3);
  static uint8_t chunk[64 << 10];
  moqc_buf *b = moqc_buf_copy(chunk, sizeof chunk);
  moqc_slice sl = {b, 0, sizeof chunk};
  for (int i = 0; i < 8; i++) assert_int_equal(s.t->ops->write(s.t, id, &sl, 1, false), MOQC_OK);
  s.pending = 300 << 10; /* over io_high: nothing more is produced */
  moqc_clock_advance(clk, moqc_clock_now(clk) + 1000);
  assert_false(s.closed);
  assert_int_equal(s.n_out, 0);
  assert_true(s.t->ops->backlog(s.t) >= 8 * sizeof chunk);
  s.pending = 17 << 20; /* the socket keeps growing: over the 16 MiB cap */
  assert_int_equal(s.t->ops->write(s.t, id, &sl, 1, false), MOQC_OK);
  moqc_clock_advance(clk, moqc_clock_now(clk) + 1000);
  assert_true(s.closed);
  assert_int_equal(s.close_code, MOQC_CODE_BOUNDS_EXCEEDED);
  assert_int_equal(s.ws_close, 1008);
  moqc_buf_unref(b);
  teardown_end(&c);
  teardown_end(&s);
}

/* Priorities: with room for one message at a time, the higher priority stream
 * goes first, then the newer group (higher order). */
static void test_priority(void **st) {
  (void)st;
  end s;
  mk(&s, MOQC_QMUX_WEBTRANSPORT, true);
  int64_t a, b2, c2;
  s.t->ops->open_stream(s.t, false, &a);
  s.t->ops->open_stream(s.t, false, &b2);
  s.t->ops->open_stream(s.t, false, &c2);
  moqc_stream_prio pa = {1, 5}, pb = {2, 1}, pc = {1, 9};
  s.t->ops->set_priority(s.t, a, &pa);
  s.t->ops->set_priority(s.t, b2, &pb);
  s.t->ops->set_priority(s.t, c2, &pc);
  moqc_buf *buf = moqc_buf_copy("x", 1);
  moqc_slice sl = {buf, 0, 1};
  s.t->ops->write(s.t, a, &sl, 1, true);
  s.t->ops->write(s.t, b2, &sl, 1, true);
  s.t->ops->write(s.t, c2, &sl, 1, true);
  moqc_buf_unref(buf);
  moqc_clock_advance(clk, moqc_clock_now(clk) + 1000);
  assert_int_equal(s.n_out, 3);
  moqc_qmux_frame f;
  int64_t want[3] = {b2, c2, a};
  for (int i = 0; i < 3; i++) {
    assert_true(moqc__qmux_frame_decode(MOQC_QMUX_WEBTRANSPORT, &f, s.out[i], s.outlen[i]) > 0);
    assert_int_equal(f.id, (uint64_t)want[i]);
  }
  teardown_end(&s);
}

static int setup(void **st) {
  (void)st;
  clk = moqc_clock_new(1000);
  return clk ? 0 : -1;
}
static int teardown(void **st) {
  (void)st;
  moqc_clock_del(clk);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_closed_below_moq),
      cmocka_unit_test(test_roundtrip_qmux01),
      cmocka_unit_test(test_roundtrip_qmux00),
      cmocka_unit_test(test_roundtrip_legacy),
      cmocka_unit_test(test_flow_control_violation),
      cmocka_unit_test(test_out_of_order),
      cmocka_unit_test(test_unknown_stream),
      cmocka_unit_test(test_stream_limit),
      cmocka_unit_test(test_data_before_params),
      cmocka_unit_test(test_oversized_record),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_send_cap),
      cmocka_unit_test(test_priority),
      cmocka_unit_test(test_roundtrip_qmux02),
      cmocka_unit_test(test_qmux02_strict),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
