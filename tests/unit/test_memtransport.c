/* Unit tests: tests/support/memtransport.c (in-memory transport, virtual time) */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "memtransport.h"
#include "moqc/buf.h"
#include "moqc/clock.h"
#include "moqc/error.h"

#define MS 1000000ull
#define US 1000ull

/* ---- event recorder ------------------------------------------------------------ */

typedef enum ev_type {
  EV_OPENED,
  EV_DATA,
  EV_RESET,
  EV_STOP,
  EV_STREAM_CLOSED,
  EV_DGRAM,
  EV_WRITABLE,
  EV_CLOSED,
  EV_ACKED
} ev_type;

typedef struct ev {
  ev_type type;
  int64_t id;
  uint64_t code;
  size_t len;
  bool fin;
  bool by_peer;
  uint64_t at;
} ev;

#define MAX_EVS 4096
#define MAX_STREAMS 64

typedef struct rx_stream {
  int64_t id;
  uint8_t *data;
  size_t len;
  bool fin;
} rx_stream;

typedef struct recorder recorder;
typedef void (*hook_fn)(recorder *r, const ev *e);

struct recorder {
  moqc_transport *t;
  moqc_clock *clk;
  ev evs[MAX_EVS];
  size_t n;
  rx_stream rx[MAX_STREAMS];
  size_t nrx;
  char reason[64];
  hook_fn hook; /* optional reaction, runs inside the callback */
  void *hook_arg;
};

/* Set while the test is inside a transport op: a callback then is re-entrant. */
static bool g_in_op;

static rx_stream *rx_of(recorder *r, int64_t id) {
  for (size_t i = 0; i < r->nrx; i++)
    if (r->rx[i].id == id) return &r->rx[i];
  assert_true(r->nrx < MAX_STREAMS);
  rx_stream *s = &r->rx[r->nrx++];
  memset(s, 0, sizeof *s);
  s->id = id;
  return s;
}

static void record(recorder *r, ev e) {
  if (g_in_op) fail_msg("handler called re-entrantly from inside an op");
  /* Nothing may follow `closed`. */
  if (r->n && r->evs[r->n - 1].type == EV_CLOSED) fail_msg("event after closed");
  e.at = moqc_clock_now(r->clk);
  assert_true(r->n < MAX_EVS);
  r->evs[r->n++] = e;
  if (r->hook) r->hook(r, &r->evs[r->n - 1]);
}

static void h_opened(void *ctx, int64_t id) { record(ctx, (ev){.type = EV_OPENED, .id = id}); }
static void h_data(void *ctx, int64_t id, const uint8_t *p, size_t len, bool fin) {
  recorder *r = ctx;
  rx_stream *s = rx_of(r, id);
  if (s->fin) fail_msg("data after fin on %lld", (long long)id);
  if (len) {
    s->data = realloc(s->data, s->len + len);
    assert_non_null(s->data);
    memcpy(s->data + s->len, p, len);
    s->len += len;
  }
  s->fin |= fin;
  record(r, (ev){.type = EV_DATA, .id = id, .len = len, .fin = fin});
}
static void h_reset(void *ctx, int64_t id, uint64_t code) {
  record(ctx, (ev){.type = EV_RESET, .id = id, .code = code});
}
static void h_stop(void *ctx, int64_t id, uint64_t code) {
  record(ctx, (ev){.type = EV_STOP, .id = id, .code = code});
}
static void h_stream_closed(void *ctx, int64_t id) {
  record(ctx, (ev){.type = EV_STREAM_CLOSED, .id = id});
}
static void h_dgram(void *ctx, const uint8_t *p, size_t len) {
  recorder *r = ctx;
  rx_stream *s = rx_of(r, -1);
  s->data = realloc(s->data, s->len + len + 1);
  assert_non_null(s->data);
  memcpy(s->data + s->len, p, len);
  s->len += len;
  record(r, (ev){.type = EV_DGRAM, .len = len});
}
static void h_writable(void *ctx) { record(ctx, (ev){.type = EV_WRITABLE}); }
static void h_closed(void *ctx, uint64_t code, const char *reason, bool by_peer) {
  recorder *r = ctx;
  snprintf(r->reason, sizeof r->reason, "%s", reason);
  record(r, (ev){.type = EV_CLOSED, .code = code, .by_peer = by_peer});
}

static void h_acked(void *ctx, int64_t id) {
  recorder *r = ctx;
  if (r->t->ops->queued(r->t, id) != 0) fail_msg("stream_acked with bytes outstanding");
  record(r, (ev){.type = EV_ACKED, .id = id});
}

static const moqc_transport_handler k_handler = {
    h_opened, h_data, h_reset, h_stop, h_stream_closed, h_dgram, h_writable, h_closed, h_acked,
};

static size_t count(const recorder *r, ev_type type, int64_t id) {
  size_t n = 0;
  for (size_t i = 0; i < r->n; i++)
    if (r->evs[i].type == type && (id == INT64_MIN || r->evs[i].id == id)) n++;
  return n;
}

static const ev *find_ev(const recorder *r, ev_type type, int64_t id) {
  for (size_t i = 0; i < r->n; i++)
    if (r->evs[i].type == type && (id == INT64_MIN || r->evs[i].id == id)) return &r->evs[i];
  return NULL;
}

/* ---- fixture --------------------------------------------------------------------- */

typedef struct fixture {
  moqc_clock *clk;
  memlink *l;
  moqc_transport *c, *s;
  recorder rc, rs;
  uint64_t bufs_before;
} fixture;

static void fx_open(fixture *f, const memlink_config *cfg) {
  f->bufs_before = moqc_buf_get_stats().bufs_live;
  f->clk = moqc_clock_new(1000 * MS);
  assert_non_null(f->clk);
  f->l = memlink_new(f->clk, cfg);
  assert_non_null(f->l);
  f->c = memlink_client(f->l);
  f->s = memlink_server(f->l);
  f->rc.t = f->c;
  f->rs.t = f->s;
  f->rc.clk = f->rs.clk = f->clk;
  moqc_transport_set_handler(f->c, &k_handler, &f->rc);
  moqc_transport_set_handler(f->s, &k_handler, &f->rs);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (!f) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  if (f->l) memlink_del(f->l);
  if (f->clk) moqc_clock_del(f->clk);
  for (size_t i = 0; i < f->rc.nrx; i++) free(f->rc.rx[i].data);
  for (size_t i = 0; i < f->rs.nrx; i++) free(f->rs.rx[i].data);
  /* Whatever a test did, the link released every buf reference it took. */
  uint64_t after = moqc_buf_get_stats().bufs_live;
  uint64_t before = f->bufs_before;
  free(f);
  return after == before ? 0 : -1;
}

static void run(fixture *f, uint64_t dt) {
  moqc_clock_advance(f->clk, moqc_clock_now(f->clk) + dt);
}

/* Op wrappers that flag re-entrant callbacks. */
static int x_open(moqc_transport *t, bool bidi, int64_t *id) {
  g_in_op = true;
  int rc = t->ops->open_stream(t, bidi, id);
  g_in_op = false;
  return rc;
}
static int x_write_bytes(moqc_transport *t, int64_t id, const void *p, size_t len, bool fin) {
  moqc_slice sl = MOQC_SLICE_EMPTY;
  if (len) {
    moqc_buf *b = moqc_buf_copy(p, len);
    assert_non_null(b);
    sl.buf = b;
    sl.len = len;
  }
  g_in_op = true;
  int rc = t->ops->write(t, id, &sl, len ? 1 : 0, fin);
  g_in_op = false;
  moqc_slice_release(&sl);
  return rc;
}
static int x_write(moqc_transport *t, int64_t id, const moqc_slice *s, size_t n, bool fin) {
  g_in_op = true;
  int rc = t->ops->write(t, id, s, n, fin);
  g_in_op = false;
  return rc;
}
static int x_reset(moqc_transport *t, int64_t id, uint64_t code) {
  g_in_op = true;
  int rc = t->ops->reset(t, id, code);
  g_in_op = false;
  return rc;
}
static int x_stop(moqc_transport *t, int64_t id, uint64_t code) {
  g_in_op = true;
  int rc = t->ops->stop_sending(t, id, code);
  g_in_op = false;
  return rc;
}
static int x_prio(moqc_transport *t, int64_t id, uint8_t prio, uint64_t order) {
  moqc_stream_prio p = {prio, order};
  g_in_op = true;
  int rc = t->ops->set_priority(t, id, &p);
  g_in_op = false;
  return rc;
}
static void x_close(moqc_transport *t, uint64_t code, const char *reason) {
  g_in_op = true;
  t->ops->close(t, code, reason);
  g_in_op = false;
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_ids_and_identity(void **state) {
  fixture *f = *state;
  fx_open(f, NULL);
  assert_false(f->c->is_server);
  assert_true(f->s->is_server);
  assert_string_equal(f->c->protocol, "");
  assert_string_equal(f->c->path, "");
  assert_int_equal(memlink_set_protocol(f->l, "moq-lite-04"), MOQC_OK);
  assert_int_equal(memlink_set_path(f->l, "/anon?jwt=x"), MOQC_OK);
  assert_string_equal(f->c->protocol, "moq-lite-04");
  assert_string_equal(f->s->protocol, "moq-lite-04");
  assert_string_equal(f->s->path, "/anon?jwt=x");
  assert_int_equal(memlink_set_protocol(f->l, "0123456789012345678901234567890123"),
                   MOQC_ERR_INVAL);
  assert_string_equal(f->c->protocol, "moq-lite-04");

  int64_t id;
  static const struct {
    bool server, bidi;
    int64_t want;
  } seq[] = {
      {false, true, 0}, {false, true, 4}, {false, false, 2}, {false, false, 6}, {false, true, 8},
      {true, true, 1},  {true, false, 3}, {true, true, 5},   {true, false, 7},
  };
  for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
    assert_int_equal(x_open(seq[i].server ? f->s : f->c, seq[i].bidi, &id), MOQC_OK);
    assert_int_equal(id, seq[i].want);
    assert_int_equal(MOQC_STREAM_IS_UNI(id), !seq[i].bidi);
    assert_int_equal(MOQC_STREAM_IS_SERVER(id), seq[i].server);
  }
  assert_int_equal(x_open(f->c, true, NULL), MOQC_ERR_INVAL);
  /* Opening alone sends nothing: the peer learns of a stream from its first frame. */
  run(f, 10 * MS);
  assert_int_equal(f->rs.n, 0);
  assert_int_equal(f->rc.n, 0);
}

static void test_ordering_fin_and_latency(void **state) {
  fixture *f = *state;
  memlink_config cfg = MEMLINK_CONFIG_DEFAULT;
  cfg.latency_ns = 10 * MS;
  fx_open(f, &cfg);
  uint64_t t0 = moqc_clock_now(f->clk);
  int64_t id;
  assert_int_equal(x_open(f->c, false, &id), MOQC_OK);
  /* Three slices of one buf, plus a separate fin-only write. */
  moqc_buf *b = moqc_buf_copy("hello world", 11);
  moqc_slice sl[3];
  assert_int_equal(moqc_slice_make(&sl[0], b, 0, 5), MOQC_OK);
  assert_int_equal(moqc_slice_make(&sl[1], b, 5, 1), MOQC_OK);
  assert_int_equal(moqc_slice_make(&sl[2], b, 6, 5), MOQC_OK);
  assert_int_equal(x_write(f->c, id, sl, 3, false), MOQC_OK);
  assert_int_equal(b->refcnt, 1 + 3 + 3); /* ours, the slices', the transport's */
  assert_int_equal(x_write(f->c, id, NULL, 0, true), MOQC_OK);
  assert_int_equal(x_write_bytes(f->c, id, "x", 1, false), MOQC_ERR_INVAL); /* finished */
  for (int i = 0; i < 3; i++) moqc_slice_release(&sl[i]);

  run(f, 10 * MS - 1);
  assert_int_equal(f->rs.n, 0); /* one latency not yet elapsed */
  run(f, 1);
  const ev *op = find_ev(&f->rs, EV_OPENED, id);
  assert_non_null(op);
  assert_int_equal(op->at, t0 + 10 * MS);
  assert_int_equal(f->rs.evs[0].type, EV_OPENED); /* opened before any data */
  rx_stream *rx = rx_of(&f->rs, id);
  assert_int_equal(rx->len, 11);
  assert_memory_equal(rx->data, "hello world", 11);
  assert_true(rx->fin);
  /* The transport's reference goes when the ACK is back (one more latency). */
  assert_int_equal(b->refcnt, 1 + 3); /* ours + the transport's, until the ACK is back */
  assert_int_equal(count(&f->rs, EV_STREAM_CLOSED, id), 1); /* uni: receiver done at fin */
  assert_int_equal(count(&f->rc, EV_STREAM_CLOSED, id), 0);
  run(f, 10 * MS);
  assert_int_equal(b->refcnt, 1);
  const ev *cl = find_ev(&f->rc, EV_STREAM_CLOSED, id);
  assert_non_null(cl);
  assert_int_equal(cl->at, t0 + 20 * MS); /* sender done when the fin is acknowledged */
  moqc_buf_unref(b);
  assert_int_equal(x_write_bytes(f->c, id, "x", 1, false), MOQC_ERR_INVAL); /* id gone */
}

static void test_large_transfer_byte_exact(void **state) {
  fixture *f = *state;
  memlink_config cfg = MEMLINK_CONFIG_DEFAULT;
  cfg.latency_ns = 5 * MS;
  cfg.bandwidth = 10 * 1000 * 1000; /* 10 MB/s */
  cfg.mtu = 1000;
  fx_open(f, &cfg);
  enum { N = 100000 };
  uint8_t *src = malloc(N);
  assert_non_null(src);
  uint32_t x = 12345;
  for (size_t i = 0; i < N; i++) {
    x = x * 1103515245u + 12345u;
    src[i] = (uint8_t)(x >> 16);
  }
  int64_t id;
  assert_int_equal(x_open(f->c, false, &id), MOQC_OK);
  /* Many uneven writes. */
  size_t off = 0, step = 1;
  while (off < N) {
    size_t n = step < N - off ? step : N - off;
    assert_int_equal(x_write_bytes(f->c, id, src + off, n, off + n == N), MOQC_OK);
    off += n;
    step = step * 3 % 4093 + 1;
  }
  assert_int_equal(f->c->ops->queued(f->c, id), N);
  assert_int_equal(f->c->ops->queued(f->c, -1), N);
  uint64_t t0 = moqc_clock_now(f->clk);
  run(f, 1000 * MS);
  rx_stream *rx = rx_of(&f->rs, id);
  assert_int_equal(rx->len, N);
  assert_memory_equal(rx->data, src, N);
  assert_true(rx->fin);
  /* 100 packets of 1000 bytes at 10 MB/s: the fin lands at 10 ms + latency. */
  const ev *last = NULL;
  for (size_t i = 0; i < f->rs.n; i++)
    if (f->rs.evs[i].type == EV_DATA) {
      assert_int_equal(f->rs.evs[i].len, 1000); /* mtu-sized packets */
      last = &f->rs.evs[i];
    }
  assert_non_null(last);
  assert_true(last->fin);
  assert_int_equal(last->at, t0 + 10 * MS + 5 * MS);
  assert_int_equal(count(&f->rs, EV_DATA, id), 100);
  memlink_stats st;
  memlink_get_stats(f->l, f->c, &st);
  assert_int_equal(st.packets, 100);
  assert_int_equal(st.stream_bytes, N);
  assert_int_equal(f->c->ops->queued(f->c, -1), 0);
  free(src);
}

/* The server answers every bidi request from inside its callback. */
static void echo_hook(recorder *r, const ev *e) {
  if (e->type == EV_DATA && e->fin) {
    rx_stream *rx = rx_of(r, e->id);
    moqc_buf *b = moqc_buf_copy(rx->data, rx->len);
    moqc_slice sl = {b, 0, rx->len};
    assert_int_equal(r->t->ops->write(r->t, e->id, &sl, 1, true), MOQC_OK);
    moqc_buf_unref(b);
  }
}

static void test_bidi_echo_from_callback(void **state) {
  fixture *f = *state;
  memlink_config cfg = MEMLINK_CONFIG_DEFAULT;
  cfg.latency_ns = 1 * MS;
  fx_open(f, &cfg);
  f->rs.hook = echo_hook;
  int64_t id;
  assert_int_equal(x_open(f->c, true, &id), MOQC_OK);
  assert_int_equal(x_write_bytes(f->c, id, "ping", 4, true), MOQC_OK);
  run(f, 100 * MS);
  rx_stream *back = rx_of(&f->rc, id);
  assert_int_equal(back->len, 4);
  assert_memory_equal(back->data, "ping", 4);
  assert_true(back->fin);
  assert_int_equal(count(&f->rc, EV_OPENED, INT64_MIN), 0); /* own stream: no opened */
  assert_int_equal(count(&f->rc, EV_STREAM_CLOSED, id), 1);
  assert_int_equal(count(&f->rs, EV_STREAM_CLOSED, id), 1);
  assert_int_equal(find_ev(&f->rc, EV_DATA, id)->at, 1000 * MS + 2 * MS); /* one RTT */
}

static void test_reset_delivers_code(void **state) {
  fixture *f = *state;
  memlink_config cfg = MEMLINK_CONFIG_DEFAULT;
  cfg.latency_ns = 2 * MS;
  cfg.bandwidth = 1000 * 1000;
  cfg.mtu = 100;
  fx_open(f, &cfg);
  int64_t id;
  assert_int_equal(x_open(f->c, false, &id), MOQC_OK);
  uint8_t big[5000];
  memset(big, 7, sizeof big);
  moqc_buf *b = moqc_buf_copy(big, sizeof big);
  moqc_slice sl = {b, 0, sizeof big};
  assert_int_equal(x_write(f->c, id, &sl, 1, false), MOQC_OK);
  assert_int_equal(b->refcnt, 2);
  run(f, 3 * MS); /* some packets delivered, most still queued */
  assert_int_equal(x_reset(f->c, id, 77), MOQC_OK);
  assert_int_equal(b->refcnt, 1); /* queued data released at reset */
  assert_int_equal(f->c->ops->queued(f->c, id), 0);
  assert_int_equal(x_reset(f->c, id, 78), MOQC_OK); /* idempotent */
  assert_int_equal(x_write_bytes(f->c, id, "z", 1, false), MOQC_ERR_INVAL);
  size_t got_before = rx_of(&f->rs, id)->len;
  assert_true(got_before > 0 && got_before < sizeof big);
  run(f, 50 * MS);
  const ev *r = find_ev(&f->rs, EV_RESET, id);
  assert_non_null(r);
  assert_int_equal(r->code, 77);
  assert_int_equal(count(&f->rs, EV_RESET, id), 1);
  assert_true(rx_of(&f->rs, id)->len < sizeof big); /* nothing past the reset */
  assert_false(rx_of(&f->rs, id)->fin);
  assert_int_equal(count(&f->rs, EV_STREAM_CLOSED, id), 1);
  assert_int_equal(count(&f->rc, EV_STREAM_CLOSED, id), 1);
  assert_int_equal(x_reset(f->c, id, 1), MOQC_ERR_INVAL); /* gone */
  moqc_buf_unref(b);
}

static void test_stop_sending_delivers_code(void **state) {
  fixture *f = *state;
  memlink_config cfg = MEMLINK_CONFIG_DEFAULT;
  cfg.latency_ns = 3 * MS;
  fx_open(f, &cfg);
  int64_t id;
  assert_int_equal(x_open(f->c, false, &id), MOQC_OK);
  assert_int_equal(x_write_bytes(f->c, id, "abc", 3, false), MOQC_OK);
  run(f, 3 * MS);
  assert_int_equal(rx_of(&f->rs, id)->len, 3);
  assert_int_equal(x_stop(f->s, id, 42), MOQC_OK);
  assert_int_equal(x_stop(f->s, id, 43), MOQC_OK);       /* idempotent */
  assert_int_equal(x_stop(f->c, id, 1), MOQC_ERR_INVAL); /* client has no receive half */
  /* Data written before the STOP arrives is dropped at the receiver. */
  assert_int_equal(x_write_bytes(f->c, id, "def", 3, false), MOQC_OK);
  run(f, 3 * MS);
  const ev *st = find_ev(&f->rc, EV_STOP, id);
  assert_non_null(st);
  assert_int_equal(st->code, 42);
  /* The transport already reset the send half with the same code. */
  assert_int_equal(x_write_bytes(f->c, id, "ghi", 3, false), MOQC_ERR_INVAL);
  run(f, 3 * MS);
  const ev *rs = find_ev(&f->rs, EV_RESET, id);
  assert_non_null(rs);
  assert_int_equal(rs->code, 42);
  assert_int_equal(rx_of(&f->rs, id)->len, 3);
  assert_int_equal(count(&f->rs, EV_STREAM_CLOSED, id), 1);
  assert_int_equal(count(&f->rc, EV_STREAM_CLOSED, id), 1);
}

/* Data events on the server, in arrival order, as stream ids. */
static size_t data_order(const recorder *r, int64_t *ids, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < r->n && n < cap; i++)
    if (r->evs[i].type == EV_DATA && r->evs[i].len) ids[n++] = r->evs[i].id;
  return n;
}

static void test_priorities_under_bandwidth(void **state) {
  fixture *f = *state;
  memlink_config cfg = MEMLINK_CONFIG_DEFAULT;
  cfg.latency_ns = 1 * MS;
  cfg.bandwidth = 1000 * 1000; /* 1 byte/us */
  cfg.mtu = 1000;
  fx_open(f, &cfg);
  int64_t a, b, c, d;
  assert_int_equal(x_open(f->c, false, &a), MOQC_OK);
  assert_int_equal(x_open(f->c, false, &b), MOQC_OK);
  assert_int_equal(x_open(f->c, false, &c), MOQC_OK);
  assert_int_equal(x_open(f->c, false, &d), MOQC_OK);
  assert_int_equal(x_prio(f->c, a, 1, 0), MOQC_OK);
  assert_int_equal(x_prio(f->c, b, 2, 0), MOQC_OK);
  assert_int_equal(x_prio(f->c, c, 2, 5), MOQC_OK); /* same priority, newer group */
  /* d has no priority: a control stream, served first. */
  uint8_t blob[3000];
  memset(blob, 1, sizeof blob);
  int64_t ids[4] = {a, b, c, d};
  for (int i = 0; i < 4; i++)
    assert_int_equal(x_write_bytes(f->c, ids[i], blob, 3000, true), MOQC_OK);
  run(f, 100 * MS);
  int64_t got[64];
  size_t n = data_order(&f->rs, got, 64);
  assert_int_equal(n, 12);
  int64_t want[12] = {d, d, d, c, c, c, b, b, b, a, a, a};
  for (size_t i = 0; i < 12; i++) assert_int_equal(got[i], want[i]);
  /* 12 ms of link time plus 1 ms latency. */
  const ev *fin_a = NULL;
  for (size_t i = 0; i < f->rs.n; i++)
    if (f->rs.evs[i].type == EV_DATA && f->rs.evs[i].fin && f->rs.evs[i].id == a)
      fin_a = &f->rs.evs[i];
  assert_non_null(fin_a);
  assert_int_equal(fin_a->at, 1000 * MS + 12 * MS + 1 * MS);
}

static void test_priority_preempts_and_round_robin(void **state) {
  fixture *f = *state;
  memlink_config cfg = MEMLINK_CONFIG_DEFAULT;
  cfg.latency_ns = 1 * MS;
  cfg.bandwidth = 1000 * 1000;
  cfg.mtu = 1000;
  fx_open(f, &cfg);
  uint8_t blob[10000];
  memset(blob, 2, sizeof blob);
  int64_t low, high, x, y;
  assert_int_equal(x_open(f->c, false, &low), MOQC_OK);
  assert_int_equal(x_prio(f->c, low, 1, 0), MOQC_OK);
  assert_int_equal(x_write_bytes(f->c, low, blob, 10000, true), MOQC_OK);
  run(f, 3 * MS + 500 * US); /* low is mid-transfer */
  assert_int_equal(x_open(f->c, false, &high), MOQC_OK);
  assert_int_equal(x_prio(f->c, high, 9, 0), MOQC_OK);
  assert_int_equal(x_write_bytes(f->c, high, blob, 2000, true), MOQC_OK);
  run(f, 100 * MS);
  int64_t got[64];
  size_t n = data_order(&f->rs, got, 64);
  assert_int_equal(n, 12);
  /* By 3.5 ms four low packets had been put on the link; the fifth slot goes to high. */
  int64_t want[12] = {low, low, low, low, high, high, low, low, low, low, low, low};
  for (size_t i = 0; i < 12; i++) assert_int_equal(got[i], want[i]);

  /* Equal priority and order: round-robin, packet by packet. */
  f->rs.n = 0;
  assert_int_equal(x_open(f->c, false, &x), MOQC_OK);
  assert_int_equal(x_open(f->c, false, &y), MOQC_OK);
  assert_int_equal(x_prio(f->c, x, 3, 3), MOQC_OK);
  assert_int_equal(x_prio(f->c, y, 3, 3), MOQC_OK);
  assert_int_equal(x_write_bytes(f->c, x, blob, 3000, true), MOQC_OK);
  assert_int_equal(x_write_bytes(f->c, y, blob, 3000, true), MOQC_OK);
  run(f, 100 * MS);
  n = data_order(&f->rs, got, 64);
  assert_int_equal(n, 6);
  int64_t rr[6] = {x, y, x, y, x, y};
  for (size_t i = 0; i < 6; i++) assert_int_equal(got[i], rr[i]);
}

static void test_stream_limit_and_writable(void **state) {
  fixture *f = *state;
  memlink_config cfg = MEMLINK_CONFIG_DEFAULT;
  cfg.latency_ns = 5 * MS;
  cfg.max_streams_uni = 2;
  cfg.max_streams_bidi = 1;
  fx_open(f, &cfg);
  int64_t u1, u2, u3, b1, b2;
  assert_int_equal(x_open(f->c, false, &u1), MOQC_OK);
  assert_int_equal(x_open(f->c, false, &u2), MOQC_OK);
  assert_int_equal(x_open(f->c, false, &u3), MOQC_ERR_AGAIN);
  assert_int_equal(x_open(f->c, true, &b1), MOQC_OK);
  assert_int_equal(x_open(f->c, true, &b2), MOQC_ERR_AGAIN);
  /* The limit is per side: the server still has its own credit. */
  int64_t su;
  assert_int_equal(x_open(f->s, false, &su), MOQC_OK);
  assert_int_equal(count(&f->rc, EV_WRITABLE, INT64_MIN), 0); /* not from inside the op */

  assert_int_equal(x_write_bytes(f->c, u1, "done", 4, true), MOQC_OK);
  run(f, 5 * MS); /* fin arrives, server closes the stream, credit leaves */
  assert_int_equal(count(&f->rs, EV_STREAM_CLOSED, u1), 1);
  assert_int_equal(x_open(f->c, false, &u3), MOQC_ERR_AGAIN); /* credit still in flight */
  assert_int_equal(count(&f->rc, EV_WRITABLE, INT64_MIN), 0);
  run(f, 5 * MS);
  assert_int_equal(count(&f->rc, EV_WRITABLE, INT64_MIN), 1);
  assert_int_equal(find_ev(&f->rc, EV_WRITABLE, INT64_MIN)->at, 1000 * MS + 10 * MS);
  assert_int_equal(x_open(f->c, false, &u3), MOQC_OK);
  assert_int_equal(u3, 10);
  assert_int_equal(x_open(f->c, false, &u3), MOQC_ERR_AGAIN);
  /* An unused stream never frees credit. */
  run(f, 100 * MS);
  assert_int_equal(count(&f->rc, EV_WRITABLE, INT64_MIN), 1);
}

static void test_datagrams(void **state) {
  fixture *f = *state;
  memlink_config cfg = MEMLINK_CONFIG_DEFAULT;
  cfg.latency_ns = 1 * MS;
  cfg.max_datagram = 100;
  fx_open(f, &cfg);
  assert_int_equal(f->c->ops->max_datagram(f->c), 100);
  uint8_t big[101] = {0};
  assert_int_equal(f->c->ops->send_datagram(f->c, big, 101), MOQC_ERR_TOO_LARGE);
  assert_int_equal(f->c->ops->send_datagram(f->c, (const uint8_t *)"one", 3), MOQC_OK);
  assert_int_equal(f->c->ops->send_datagram(f->c, (const uint8_t *)"two", 3), MOQC_OK);
  assert_int_equal(f->rs.n, 0);
  run(f, 1 * MS);
  assert_int_equal(count(&f->rs, EV_DGRAM, INT64_MIN), 2);
  rx_stream *d = rx_of(&f->rs, -1);
  assert_int_equal(d->len, 6);
  assert_memory_equal(d->data, "onetwo", 6);
  /* Overflowing the send queue drops silently. */
  for (int i = 0; i < 300; i++) assert_int_equal(f->s->ops->send_datagram(f->s, big, 10), MOQC_OK);
  memlink_stats st;
  memlink_get_stats(f->l, f->s, &st);
  assert_int_equal(st.datagrams_dropped, 300 - 256);
  run(f, 1 * MS);
  assert_int_equal(count(&f->rc, EV_DGRAM, INT64_MIN), 256);

  memlink_del(f->l);
  cfg.max_datagram = 0;
  f->l = memlink_new(f->clk, &cfg);
  moqc_transport *c = memlink_client(f->l);
  assert_int_equal(c->ops->max_datagram(c), 0);
  assert_int_equal(c->ops->send_datagram(c, big, 1), MOQC_ERR_UNSUPPORTED);
}

static void test_close_and_closed_ops(void **state) {
  fixture *f = *state;
  memlink_config cfg = MEMLINK_CONFIG_DEFAULT;
  cfg.latency_ns = 4 * MS;
  cfg.webtransport = true;
  fx_open(f, &cfg);
  assert_true(f->c->webtransport);
  int64_t id, sid;
  assert_int_equal(x_open(f->c, true, &id), MOQC_OK);
  assert_int_equal(x_open(f->s, false, &sid), MOQC_OK);
  moqc_buf *b = moqc_buf_copy("pending", 7);
  moqc_slice sl = {b, 0, 7};
  assert_int_equal(x_write(f->c, id, &sl, 1, false), MOQC_OK);
  assert_int_equal(b->refcnt, 2);
  x_close(f->c, 5, "bye");
  assert_int_equal(b->refcnt, 1); /* everything the transport held is released */
  assert_int_equal(f->rc.n, 0);   /* the closed event is not delivered from inside close */
  int64_t x;
  assert_int_equal(x_open(f->c, true, &x), MOQC_ERR_CLOSED);
  assert_int_equal(x_write(f->c, id, &sl, 1, false), MOQC_ERR_CLOSED);
  assert_int_equal(x_reset(f->c, id, 1), MOQC_ERR_CLOSED);
  assert_int_equal(x_stop(f->c, id, 1), MOQC_ERR_CLOSED);
  assert_int_equal(x_prio(f->c, id, 1, 1), MOQC_ERR_CLOSED);
  assert_int_equal(f->c->ops->send_datagram(f->c, (const uint8_t *)"x", 1), MOQC_ERR_CLOSED);
  assert_int_equal(f->c->ops->max_datagram(f->c), 0);
  assert_int_equal(f->c->ops->queued(f->c, -1), 0);
  x_close(f->c, 6, "again"); /* no-op */
  /* The server keeps writing until it hears about the close. */
  assert_int_equal(x_write_bytes(f->s, sid, "late", 4, true), MOQC_OK);
  run(f, 1);
  assert_int_equal(count(&f->rc, EV_CLOSED, INT64_MIN), 1);
  assert_false(f->rc.evs[0].by_peer);
  assert_int_equal(f->rc.evs[0].code, 5);
  assert_string_equal(f->rc.reason, "bye");
  run(f, 4 * MS);
  const ev *sc = find_ev(&f->rs, EV_CLOSED, INT64_MIN);
  assert_non_null(sc);
  assert_true(sc->by_peer);
  assert_int_equal(sc->code, 5);
  assert_string_equal(f->rs.reason, "bye");
  assert_int_equal(count(&f->rc, EV_DATA, INT64_MIN), 0); /* "late" dropped at the closed client */
  assert_int_equal(x_write_bytes(f->s, sid, "x", 1, false), MOQC_ERR_CLOSED);
  run(f, 100 * MS);
  assert_int_equal(count(&f->rc, EV_CLOSED, INT64_MIN), 1);
  assert_int_equal(count(&f->rs, EV_CLOSED, INT64_MIN), 1);
  moqc_buf_unref(b);
}

static void test_release_drops_everything(void **state) {
  fixture *f = *state;
  memlink_config cfg = MEMLINK_CONFIG_DEFAULT;
  cfg.latency_ns = 1 * MS;
  cfg.bandwidth = 1000;
  fx_open(f, &cfg);
  moqc_buf *b = moqc_buf_copy("0123456789", 10);
  int64_t ids[10];
  for (int i = 0; i < 10; i++) {
    moqc_slice sl = {b, (size_t)i, 1};
    assert_int_equal(x_open(f->c, false, &ids[i]), MOQC_OK);
    assert_int_equal(x_write(f->c, ids[i], &sl, 1, i % 2 == 0), MOQC_OK);
  }
  assert_int_equal(b->refcnt, 11);
  g_in_op = true;
  f->c->ops->release(f->c);
  g_in_op = false;
  assert_int_equal(b->refcnt, 1);
  run(f, 50 * MS);
  assert_int_equal(f->rc.n, 0); /* no handler call after release */
  assert_int_equal(count(&f->rs, EV_CLOSED, INT64_MIN), 1);
  assert_int_equal(find_ev(&f->rs, EV_CLOSED, INT64_MIN)->code, MOQC_CODE_CANCEL);
  g_in_op = true;
  f->s->ops->release(f->s);
  g_in_op = false;
  moqc_buf_unref(b);
}

static void test_queued_until_acked(void **state) {
  fixture *f = *state;
  memlink_config cfg = MEMLINK_CONFIG_DEFAULT;
  cfg.latency_ns = 10 * MS;
  cfg.writable_below = 1000;
  fx_open(f, &cfg);
  uint64_t rtt = 0, rate = 1;
  f->c->ops->stats(f->c, &rtt, &rate);
  assert_int_equal(rtt, 20 * MS);
  assert_int_equal(rate, 0);
  int64_t a, b;
  assert_int_equal(x_open(f->c, false, &a), MOQC_OK);
  assert_int_equal(x_open(f->c, true, &b), MOQC_OK);
  uint8_t blob[3000] = {0};
  assert_int_equal(x_write_bytes(f->c, a, blob, 3000, false), MOQC_OK);
  assert_int_equal(x_write_bytes(f->c, b, blob, 500, false), MOQC_OK);
  assert_int_equal(f->c->ops->queued(f->c, a), 3000);
  assert_int_equal(f->c->ops->queued(f->c, b), 500);
  assert_int_equal(f->c->ops->queued(f->c, -1), 3500);
  assert_int_equal(f->c->ops->queued(f->c, 12345), 0);
  run(f, 19 * MS);
  assert_int_equal(f->c->ops->queued(f->c, -1), 3500); /* delivered, not yet acknowledged */
  assert_int_equal(count(&f->rc, EV_WRITABLE, INT64_MIN), 0);
  run(f, 1 * MS);
  assert_int_equal(f->c->ops->queued(f->c, -1), 0);
  /* Draining below the watermark says so, once. */
  assert_int_equal(count(&f->rc, EV_WRITABLE, INT64_MIN), 1);
  assert_int_equal(find_ev(&f->rc, EV_WRITABLE, INT64_MIN)->at, 1000 * MS + 20 * MS);
  assert_int_equal(x_write_bytes(f->c, a, blob, 500, false), MOQC_OK); /* stays below */
  run(f, 30 * MS);
  assert_int_equal(count(&f->rc, EV_WRITABLE, INT64_MIN), 1);
}

/* stream_acked: once per stream, when the ACK of the last byte and the FIN
 * is back (one RTT after the FIN went out), before stream_closed; never for a
 * stream that was reset, stopped, or not finished. */
static void test_stream_acked_once(void **state) {
  fixture *f = *state;
  memlink_config cfg = MEMLINK_CONFIG_DEFAULT;
  cfg.latency_ns = 10 * MS;
  fx_open(f, &cfg);
  int64_t a, b, c, d, e;
  assert_int_equal(x_open(f->c, false, &a), MOQC_OK);
  assert_int_equal(x_open(f->c, false, &b), MOQC_OK);
  assert_int_equal(x_open(f->c, false, &c), MOQC_OK);
  assert_int_equal(x_open(f->c, false, &d), MOQC_OK);
  assert_int_equal(x_open(f->c, true, &e), MOQC_OK);
  uint8_t blob[5000] = {0};
  assert_int_equal(x_write_bytes(f->c, a, blob, 5000, false), MOQC_OK);
  assert_int_equal(x_write_bytes(f->c, a, NULL, 0, true), MOQC_OK); /* FIN alone */
  assert_int_equal(x_write_bytes(f->c, b, blob, 100, true), MOQC_OK);
  assert_int_equal(x_write_bytes(f->c, c, blob, 100, false), MOQC_OK); /* never finished */
  assert_int_equal(x_write_bytes(f->c, d, blob, 100, true), MOQC_OK);
  assert_int_equal(x_reset(f->c, d, 7), MOQC_OK);                  /* reset before the ACK */
  assert_int_equal(x_write_bytes(f->c, e, "q", 1, true), MOQC_OK); /* bidi: peer half open */
  run(f, 20 * MS - 1);
  assert_int_equal(count(&f->rc, EV_ACKED, INT64_MIN), 0); /* ACKs one RTT away */
  run(f, 1 * MS);
  assert_int_equal(count(&f->rc, EV_ACKED, a), 1);
  assert_int_equal(count(&f->rc, EV_ACKED, b), 1);
  assert_int_equal(count(&f->rc, EV_ACKED, e), 1);
  assert_int_equal(count(&f->rc, EV_ACKED, INT64_MIN), 3);
  assert_int_equal(find_ev(&f->rc, EV_ACKED, a)->at, 1000 * MS + 20 * MS);
  /* Before stream_closed. */
  assert_true(find_ev(&f->rc, EV_ACKED, b) < find_ev(&f->rc, EV_STREAM_CLOSED, b));
  run(f, 100 * MS);
  assert_int_equal(count(&f->rc, EV_ACKED, INT64_MIN), 3); /* never again */
  assert_int_equal(count(&f->rc, EV_ACKED, c), 0);
  assert_int_equal(count(&f->rc, EV_ACKED, d), 0);
  assert_int_equal(f->c->ops->queued(f->c, c), 0);
}

static void test_invalid_ops(void **state) {
  fixture *f = *state;
  fx_open(f, NULL);
  int64_t id;
  assert_int_equal(x_write_bytes(f->c, 0, "x", 1, false), MOQC_ERR_INVAL); /* never opened */
  assert_int_equal(x_reset(f->c, 4, 0), MOQC_ERR_INVAL);
  assert_int_equal(x_stop(f->c, 4, 0), MOQC_ERR_INVAL);
  assert_int_equal(x_prio(f->c, 4, 0, 0), MOQC_ERR_INVAL);
  assert_int_equal(x_open(f->c, false, &id), MOQC_OK);
  moqc_buf *b = moqc_buf_copy("abc", 3);
  moqc_slice bad = {b, 2, 2}; /* past the end of the buf */
  assert_int_equal(x_write(f->c, id, &bad, 1, false), MOQC_ERR_INVAL);
  moqc_slice nobuf = {NULL, 0, 1};
  assert_int_equal(x_write(f->c, id, &nobuf, 1, false), MOQC_ERR_INVAL);
  assert_int_equal(x_write(f->c, id, NULL, 1, false), MOQC_ERR_INVAL);
  assert_int_equal(b->refcnt, 1); /* a refused write takes no reference */
  moqc_buf_unref(b);
  assert_int_equal(x_write_bytes(f->c, id, "abc", 3, true), MOQC_OK);
  run(f, 1);
  /* The server cannot write on the client's uni stream. */
  assert_int_equal(x_write_bytes(f->s, id, "x", 1, false), MOQC_ERR_INVAL);
  assert_int_equal(x_reset(f->s, id, 0), MOQC_ERR_INVAL);
}

static void test_inject_raw(void **state) {
  fixture *f = *state;
  memlink_config cfg = MEMLINK_CONFIG_DEFAULT;
  cfg.latency_ns = 1 * MS;
  fx_open(f, &cfg);
  int64_t id, bid;
  static const uint8_t junk[] = {0xff, 0xfe, 0x00, 0x42};
  assert_int_equal(memlink_inject(f->l, f->s, false, junk, sizeof junk, false, &id), MOQC_OK);
  assert_int_equal(id, 2); /* a client uni stream */
  run(f, 1 * MS);
  rx_stream *rx = rx_of(&f->rs, id);
  assert_int_equal(rx->len, sizeof junk);
  assert_memory_equal(rx->data, junk, sizeof junk);
  /* The server rejects it: the result is visible through inject_state, and the
   * client's handler never hears about the hidden stream. */
  assert_int_equal(x_stop(f->s, id, MOQC_CODE_DECODE), MOQC_OK);
  run(f, 5 * MS);
  memlink_inject_info info;
  assert_int_equal(memlink_inject_state(f->l, f->s, id, &info), MOQC_OK);
  assert_true(info.stopped);
  assert_int_equal(info.stop_code, MOQC_CODE_DECODE);
  assert_true(info.closed);
  assert_int_equal(f->rc.n, 0);
  assert_int_equal(find_ev(&f->rs, EV_RESET, id)->code, MOQC_CODE_DECODE);
  assert_int_equal(memlink_inject_write(f->l, f->s, id, "x", 1, false), MOQC_ERR_INVAL);

  /* A bidi injection the server answers and resets. */
  assert_int_equal(memlink_inject(f->l, f->s, true, "req", 3, false, &bid), MOQC_OK);
  assert_int_equal(memlink_inject_write(f->l, f->s, bid, "uest", 4, true), MOQC_OK);
  run(f, 1 * MS);
  rx = rx_of(&f->rs, bid);
  assert_int_equal(rx->len, 7);
  assert_memory_equal(rx->data, "request", 7);
  assert_true(rx->fin);
  assert_int_equal(x_write_bytes(f->s, bid, "answer", 6, false), MOQC_OK);
  run(f, 0); /* let the scheduler put it on the wire before the reset */
  assert_int_equal(x_reset(f->s, bid, 64 + 3), MOQC_OK);
  run(f, 5 * MS);
  assert_int_equal(memlink_inject_state(f->l, f->s, bid, &info), MOQC_OK);
  assert_int_equal(info.received, 6);
  assert_true(info.reset);
  assert_int_equal(info.reset_code, 64 + 3);
  assert_false(info.fin);
  assert_true(info.closed);
  assert_int_equal(f->rc.n, 0);
  assert_int_equal(memlink_inject_state(f->l, f->s, 999, &info), MOQC_ERR_NOT_FOUND);

  /* Injecting toward the client works the same way; inject_reset resets. */
  assert_int_equal(memlink_inject(f->l, f->c, false, "s", 1, false, &id), MOQC_OK);
  assert_int_equal(id, 3);
  assert_int_equal(memlink_inject_reset(f->l, f->c, id, 11), MOQC_OK);
  run(f, 5 * MS);
  assert_int_equal(find_ev(&f->rc, EV_RESET, id)->code, 11);
  assert_int_equal(count(&f->rs, EV_STREAM_CLOSED, id), 0); /* hidden on the server */
}

static void test_disconnect(void **state) {
  fixture *f = *state;
  memlink_config cfg = MEMLINK_CONFIG_DEFAULT;
  cfg.latency_ns = 1 * MS;
  fx_open(f, &cfg);
  int64_t id;
  assert_int_equal(x_open(f->c, false, &id), MOQC_OK);
  assert_int_equal(x_write_bytes(f->c, id, "lost", 4, false), MOQC_OK);
  memlink_disconnect(f->l, MOQC_CODE_TRANSPORT, "link down");
  run(f, 10 * MS);
  assert_int_equal(f->rc.n, 1);
  assert_int_equal(f->rs.n, 1); /* nothing but closed: the in-flight data died too */
  assert_int_equal(f->rc.evs[0].type, EV_CLOSED);
  assert_int_equal(f->rs.evs[0].code, MOQC_CODE_TRANSPORT);
  assert_false(f->rs.evs[0].by_peer);
  assert_string_equal(f->rs.reason, "link down");
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_ids_and_identity),
      T(test_ordering_fin_and_latency),
      T(test_large_transfer_byte_exact),
      T(test_bidi_echo_from_callback),
      T(test_reset_delivers_code),
      T(test_stop_sending_delivers_code),
      T(test_priorities_under_bandwidth),
      T(test_priority_preempts_and_round_robin),
      T(test_stream_limit_and_writable),
      T(test_datagrams),
      T(test_close_and_closed_ops),
      T(test_release_drops_everything),
      T(test_queued_until_acked),
      T(test_stream_acked_once),
      T(test_invalid_ops),
      T(test_inject_raw),
      T(test_disconnect),
  };
#undef T
  return cmocka_run_group_tests(tests, NULL, NULL);
}
