/* libFuzzer target: a server session (lite-03/04/05) fed random stream events
 * over a mock transport. Checks: no crash, no leak, no UB (ASan/UBSan/LSan).
 *
 * Input format (the seed corpus is written by this file's generator: build it
 * with -DFUZZ_SESSION_GEN and run it with the corpus directory):
 *   byte 0: version = 3 + (b % 3); bit 0x80: the server also publishes a
 *           broadcast "b" with a track "t" that has groups.
 *   then events, each an op byte: low 4 bits = op, bit 0x80 = FIN flag
 *     0 open a client bidi stream        1 open a client uni stream
 *     2 data: idx(1) len(2, BE) bytes    3 reset: idx(1) code(1)
 *     4 stop_sending: idx(1) code(1)     5 advance the clock: ms(1)
 *     6 datagram: len(1) bytes           7 writable
 *     8 stream_closed: idx(1)            9 queued bytes: kB(1)
 *    10 publisher writes a group (if publishing)
 *    11 a local consumer subscribes to "x"/"t" on the subscribe origin
 *   idx picks a stream among all known ones (client- and server-opened),
 *   modulo their count. Truncated events are ignored. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moqc/error.h"
#include "moqc/model.h"
#include "moqc/session.h"
#include "moqc/transport.h"

#define MAX_STREAMS 256

typedef struct mstream {
  int64_t id;
  bool client;    /* opened by the fuzzer (the client) */
  bool recv_done; /* server's receive half done (fin/reset delivered, or stopped) */
  bool send_done; /* server's send half done (fin/reset, or client stopped it) */
  bool closed;
} mstream;

typedef struct mock {
  moqc_transport base;
  mstream st[MAX_STREAMS];
  size_t n;
  uint64_t next_cbidi, next_cuni, next_sbidi, next_suni;
  size_t queued;
  bool closed, released;
} mock;

static mstream *find(mock *m, int64_t id) {
  for (size_t i = 0; i < m->n; i++)
    if (m->st[i].id == id) return &m->st[i];
  return NULL;
}

static mstream *add(mock *m, int64_t id, bool client) {
  if (m->n >= MAX_STREAMS) return NULL;
  mstream *s = &m->st[m->n++];
  memset(s, 0, sizeof *s);
  s->id = id;
  s->client = client;
  bool uni = MOQC_STREAM_IS_UNI(id);
  if (uni && client) s->send_done = true; /* no server send half */
  if (uni && !client) s->recv_done = true;
  return s;
}

static int op_open(moqc_transport *t, bool bidi, int64_t *id) {
  mock *m = (mock *)t;
  if (m->closed) return MOQC_ERR_CLOSED;
  if (m->n >= MAX_STREAMS - 8) return MOQC_ERR_AGAIN;
  int64_t sid = bidi ? (int64_t)(m->next_sbidi++ * 4 + 1) : (int64_t)(m->next_suni++ * 4 + 3);
  if (!add(m, sid, false)) return MOQC_ERR_AGAIN;
  *id = sid;
  return MOQC_OK;
}

static int op_write(moqc_transport *t, int64_t id, const moqc_slice *s, size_t n, bool fin) {
  mock *m = (mock *)t;
  if (m->closed) return MOQC_ERR_CLOSED;
  mstream *st = find(m, id);
  if (!st || st->send_done || (n && !s)) return MOQC_ERR_INVAL;
  for (size_t i = 0; i < n; i++) { /* touch the bytes (ASan checks them) */
    const uint8_t *p = moqc_slice_ptr(&s[i]);
    volatile uint8_t x = 0;
    for (size_t k = 0; k < s[i].len; k++) x ^= p[k];
    (void)x;
  }
  if (fin) st->send_done = true;
  return MOQC_OK;
}

static int op_reset(moqc_transport *t, int64_t id, uint64_t code) {
  mock *m = (mock *)t;
  (void)code;
  if (m->closed) return MOQC_ERR_CLOSED;
  mstream *st = find(m, id);
  if (!st) return MOQC_ERR_INVAL;
  st->send_done = true;
  return MOQC_OK;
}

static int op_stop(moqc_transport *t, int64_t id, uint64_t code) {
  mock *m = (mock *)t;
  (void)code;
  if (m->closed) return MOQC_ERR_CLOSED;
  mstream *st = find(m, id);
  if (!st) return MOQC_ERR_INVAL;
  st->recv_done = true; /* further data is dropped */
  return MOQC_OK;
}

static int op_prio(moqc_transport *t, int64_t id, const moqc_stream_prio *p) {
  mock *m = (mock *)t;
  (void)p;
  if (m->closed) return MOQC_ERR_CLOSED;
  return find(m, id) ? MOQC_OK : MOQC_ERR_INVAL;
}

static int op_dgram(moqc_transport *t, const uint8_t *p, size_t len) {
  (void)t;
  (void)p;
  return len > 1200 ? MOQC_ERR_TOO_LARGE : MOQC_OK;
}

static size_t op_max_dgram(moqc_transport *t) {
  (void)t;
  return 1200;
}

static size_t op_queued(moqc_transport *t, int64_t id) {
  mock *m = (mock *)t;
  if (m->closed) return 0;
  if (id < 0) return m->queued;
  mstream *st = find(m, id);
  return (st && !st->send_done) ? m->queued / 4 : 0;
}

static void op_stats(moqc_transport *t, uint64_t *rtt, uint64_t *rate) {
  mock *m = (mock *)t;
  if (rtt) *rtt = 20000000;
  if (rate) *rate = 1000000 + m->queued;
}

static void op_close(moqc_transport *t, uint64_t code, const char *reason) {
  (void)code;
  (void)reason;
  ((mock *)t)->closed = true;
}

static void op_release(moqc_transport *t) { ((mock *)t)->released = true; }

static const moqc_transport_ops k_ops = {op_open,  op_write, op_reset,     op_stop,
                                         op_prio,  op_dgram, op_max_dgram, op_queued,
                                         op_stats, op_close, op_release};

typedef struct reader {
  const uint8_t *p;
  size_t len, pos;
} reader;

static bool rd(reader *r, size_t n, const uint8_t **out) {
  if (r->len - r->pos < n) return false;
  *out = r->p + r->pos;
  r->pos += n;
  return true;
}

static bool rd1(reader *r, uint8_t *v) {
  const uint8_t *p;
  if (!rd(r, 1, &p)) return false;
  *v = p[0];
  return true;
}

static void on_request(void *ctx, moqc_session *s, const moqc_session_request *req) {
  moqc_origin **o = ctx;
  (void)req;
  (void)moqc_session_accept(s, o[0], o[1]);
}

static bool h_ok(const mock *m) { return !m->closed && !m->released && m->base.handler; }

static void drive(moqc_env *env) {
  for (int i = 0; i < 64 && moqc_env_pending(env); i++) moqc_env_run(env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  reader r = {data, size, 1};
#ifdef FUZZ_SESSION_IETF /* fuzz_session_ietf.c: IETF drafts 14-19 */
  int version = 14 + (data[0] & 0x7f) % 6;
#else
  int version = 3 + (data[0] & 0x7f) % 3;
#endif
  bool publish = (data[0] & 0x80) != 0;

  moqc_env_config ec = {1000000000ull, 1 << 20};
  moqc_env *env = moqc_env_new(&ec);
  if (!env) return 0;
  moqc_clock *clk = moqc_env_clock(env);
  moqc_origin *origins[2] = {moqc_origin_new(env, NULL), moqc_origin_new(env, NULL)};
  mock *m = calloc(1, sizeof *m);
  m->base.ops = &k_ops;
  m->base.is_server = true;
  m->base.path = "/fuzz";
  if (version >= 14)
    snprintf(m->base.protocol, sizeof m->base.protocol, version == 14 ? "moq-00" : "moqt-%d",
             version);
  else snprintf(m->base.protocol, sizeof m->base.protocol, "moq-lite-%02d", version);

  moqc_broadcast_producer *bp = NULL;
  moqc_track_producer *tp = NULL;
  if (publish) {
    bp = moqc_broadcast_producer_new(env);
    int err;
    tp = moqc_broadcast_producer_create_track(bp, "t", NULL, &err);
    moqc_broadcast_consumer *bc = moqc_broadcast_producer_consume(bp);
    (void)moqc_origin_publish(origins[0], "b", bc, NULL);
    moqc_broadcast_consumer_del(bc);
    for (int i = 0; i < 3; i++) {
      moqc_group_producer *g = moqc_track_producer_append_group(tp);
      (void)moqc_group_producer_write_frame_copy(g, "frame", 5, (uint64_t)i);
      (void)moqc_group_producer_finish(g);
      moqc_group_producer_del(g);
    }
  }

  moqc_session_config sc;
  memset(&sc, 0, sizeof sc);
  sc.env = env;
  sc.is_server = true;
  sc.on_request = on_request;
  sc.ctx = origins;
  sc.limits.max_streams = 64;
  sc.limits.max_queued_bytes = 100000;
  moqc_session *s = moqc_session_new(&m->base, &sc);
  moqc_track_consumer *tcs[4] = {0};
  size_t ntcs = 0;

  uint8_t op;
  while (s && rd1(&r, &op)) {
    bool fin = (op & 0x80) != 0;
    uint8_t idx = 0, code = 0, b = 0;
    const uint8_t *p = NULL;
    switch (op & 0x0f) {
      case 0:
      case 1: {
        bool bidi = (op & 0x0f) == 0;
        int64_t id = bidi ? (int64_t)(m->next_cbidi++ * 4) : (int64_t)(m->next_cuni++ * 4 + 2);
        if (!add(m, id, true)) break;
        if (h_ok(m) && m->base.handler->stream_opened)
          m->base.handler->stream_opened(m->base.handler_ctx, id);
        break;
      }
      case 2: {
        const uint8_t *lp;
        if (!rd1(&r, &idx) || !rd(&r, 2, &lp)) break;
        size_t len = ((size_t)lp[0] << 8) | lp[1];
        if (r.len - r.pos < len) len = r.len - r.pos;
        (void)rd(&r, len, &p);
        if (m->n == 0) break;
        mstream *st = &m->st[idx % m->n];
        if (st->recv_done || st->closed) break;
        if (fin) st->recv_done = true;
        if (h_ok(m) && m->base.handler->stream_data)
          m->base.handler->stream_data(m->base.handler_ctx, st->id, p, len, fin);
        break;
      }
      case 3:
      case 4: {
        if (!rd1(&r, &idx) || !rd1(&r, &code) || m->n == 0) break;
        mstream *st = &m->st[idx % m->n];
        if (st->closed) break;
        if ((op & 0x0f) == 3) {
          if (st->recv_done) break;
          st->recv_done = true;
          if (h_ok(m) && m->base.handler->stream_reset)
            m->base.handler->stream_reset(m->base.handler_ctx, st->id, code);
        } else {
          if (st->send_done) break;
          st->send_done = true;
          if (h_ok(m) && m->base.handler->stop_sending)
            m->base.handler->stop_sending(m->base.handler_ctx, st->id, code);
        }
        break;
      }
      case 5:
        if (!rd1(&r, &b)) break;
        moqc_clock_advance(clk, moqc_clock_now(clk) + (uint64_t)b * 1000000u);
        break;
      case 6: {
        if (!rd1(&r, &b)) break;
        size_t len = b;
        if (r.len - r.pos < len) len = r.len - r.pos;
        (void)rd(&r, len, &p);
        if (h_ok(m) && m->base.handler->datagram)
          m->base.handler->datagram(m->base.handler_ctx, p, len);
        break;
      }
      case 7:
        if (h_ok(m) && m->base.handler->writable) m->base.handler->writable(m->base.handler_ctx);
        break;
      case 8: {
        if (!rd1(&r, &idx) || m->n == 0) break;
        mstream *st = &m->st[idx % m->n];
        if (st->closed || !st->recv_done || !st->send_done) break;
        st->closed = true;
        if (h_ok(m) && m->base.handler->stream_closed)
          m->base.handler->stream_closed(m->base.handler_ctx, st->id);
        break;
      }
      case 9:
        if (rd1(&r, &b)) m->queued = (size_t)b * 1000u;
        break;
      case 10:
        if (tp) {
          moqc_group_producer *g = moqc_track_producer_append_group(tp);
          if (g) {
            (void)moqc_group_producer_write_frame_copy(g, "0123456789", 10, 7);
            if (!fin) (void)moqc_group_producer_finish(g);
            moqc_group_producer_del(g);
          }
        }
        break;
      case 11:
        if (ntcs < 4) {
          int err;
          moqc_broadcast_consumer *bc = moqc_origin_request(origins[1], "x", &err);
          if (bc) {
            tcs[ntcs] = moqc_broadcast_consumer_subscribe(bc, "t", NULL, &err);
            if (tcs[ntcs]) ntcs++;
            moqc_broadcast_consumer_del(bc);
          }
        }
        break;
      default: break;
    }
    drive(env);
  }

  if (getenv("FUZZ_SESSION_VERBOSE") && s) {
    moqc_session_stats st = moqc_session_get_stats(s);
    fprintf(stderr,
            "v%d closed=%d code=%llu accepted=%llu rejected=%llu served=%llu groups_sent=%llu "
            "groups_rx=%llu frames_rx=%llu ann=%llu dgram=%llu probes=%llu consumers=%zu\n",
            version, moqc_session_is_closed(s), (unsigned long long)moqc_session_closed_code(s),
            (unsigned long long)st.streams_accepted, (unsigned long long)st.streams_rejected,
            (unsigned long long)st.subscribes_served, (unsigned long long)st.groups_sent,
            (unsigned long long)st.groups_received, (unsigned long long)st.frames_received,
            (unsigned long long)st.announces_received, (unsigned long long)st.datagrams_received,
            (unsigned long long)st.probes_sent, ntcs);
  }
  /* Drain what the consumers got, then tear everything down. */
  for (size_t i = 0; i < ntcs; i++) {
    moqc_group_consumer *g;
    while (moqc_track_consumer_recv_group(tcs[i], &g) == MOQC_OK) {
      moqc_frame f;
      while (moqc_group_consumer_read_frame(g, &f) == MOQC_OK) moqc_slice_release(&f.payload);
      moqc_group_consumer_del(g);
    }
  }
  if (m->closed && !m->released && s && m->base.handler && m->base.handler->closed)
    m->base.handler->closed(m->base.handler_ctx, 0, "", false);
  moqc_session_del(s);
  drive(env);
  for (size_t i = 0; i < ntcs; i++) moqc_track_consumer_del(tcs[i]);
  if (tp) moqc_track_producer_del(tp);
  if (bp) moqc_broadcast_producer_del(bp);
  moqc_origin_unref(origins[0]);
  moqc_origin_unref(origins[1]);
  drive(env);
  moqc_env_del(env);
  if (!s) { /* the session never took the transport */
  }
  free(m);
  return 0;
}

#ifdef FUZZ_SESSION_GEN
/* ---- seed corpus generator: real exchanges in the event format ---------------- */

typedef struct seed {
  uint8_t b[4096];
  size_t n;
} seed;

static void put(seed *s, const void *p, size_t n) {
  if (!n) return;
  memcpy(s->b + s->n, p, n);
  s->n += n;
}
static void put1(seed *s, uint8_t v) { s->b[s->n++] = v; }
static void ev_open(seed *s, bool bidi) { put1(s, bidi ? 0 : 1); }
static void ev_data(seed *s, uint8_t idx, const uint8_t *p, size_t n, bool fin) {
  put1(s, (uint8_t)(2 | (fin ? 0x80 : 0)));
  put1(s, idx);
  put1(s, (uint8_t)(n >> 8));
  put1(s, (uint8_t)n);
  put(s, p, n);
}
static void ev_adv(seed *s, uint8_t ms) {
  put1(s, 5);
  put1(s, ms);
}
#define DATA(s, idx, fin, ...)                 \
  do {                                         \
    static const uint8_t d_[] = {__VA_ARGS__}; \
    ev_data(s, idx, d_, sizeof d_, fin);       \
  } while (0)

static void save(const char *dir, const char *name, const seed *s) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) return;
  fwrite(s->b, 1, s->n, f);
  fclose(f);
}

/* lite-05 client SETUP on the first stream (index 0); the server then opens
 * its SETUP (index 1) and its announce stream (index 2). */
static void setup05(seed *s) {
  ev_open(s, false);
  DATA(s, 0, true, 0x01, 0x01, 0x00);
}

static void gen_pub(const char *dir, int v) {
  seed s = {{0}, 0};
  put1(&s, (uint8_t)(0x80 | (v - 3)));
  uint8_t base = 0;
  if (v == 5) {
    setup05(&s);
    base = 3;
  } else {
    base = 1; /* the server's announce stream is index 0 */
  }
  /* Open the client streams first: server-opened group streams take the
   * following indices. */
  ev_open(&s, true); /* base: ANNOUNCE_PLEASE "" */
  ev_open(&s, true); /* base+1: SUBSCRIBE 0 b/t */
  ev_open(&s, true); /* base+2: PROBE */
  if (v == 5) {
    ev_open(&s, true); /* base+3: TRACK b/t */
    ev_open(&s, true); /* base+4: FETCH b/t group 1 */
  }
  if (v == 3) DATA(&s, base, false, 0x01, 0x01, 0x00);
  else DATA(&s, base, false, 0x01, 0x02, 0x00, 0x00);
  DATA(&s, (uint8_t)(base + 2), false, 0x04);
  DATA(&s, (uint8_t)(base + 1), false, 0x02, 0x0a, 0x00, 0x01, 'b', 0x01, 't', 0x00, 0x00, 0x00,
       0x00, 0x00);
  ev_adv(&s, 5);
  put1(&s, 10); /* a new group */
  ev_adv(&s, 5);
  put1(&s, 0x8a); /* a group left open */
  ev_adv(&s, 5);
  /* SUBSCRIBE_UPDATE: priority 9, end group 5 */
  DATA(&s, (uint8_t)(base + 1), false, 0x05, 0x09, 0x00, 0x00, 0x00, 0x06);
  if (v == 5) {
    DATA(&s, (uint8_t)(base + 3), true, 0x06, 0x04, 0x01, 'b', 0x01, 't');
    DATA(&s, (uint8_t)(base + 4), true, 0x03, 0x06, 0x01, 'b', 0x01, 't', 0x00, 0x01);
  }
  ev_adv(&s, 200);
  put1(&s, 9);
  put1(&s, 200); /* queue pressure */
  put1(&s, 7);   /* writable */
  ev_adv(&s, 200);
  /* unsubscribe */
  ev_data(&s, (uint8_t)(base + 1), NULL, 0, true);
  ev_adv(&s, 50);
  char name[64];
  snprintf(name, sizeof name, "pub-lite0%d", v);
  save(dir, name, &s);
}

static void gen_sub(const char *dir, int v) {
  seed s = {{0}, 0};
  put1(&s, (uint8_t)(v - 3));
  uint8_t ann, next;
  if (v == 5) {
    setup05(&s);
    ann = 2;
    next = 3;
    /* ANNOUNCE_OK{7, 1} + ANNOUNCE active "x" (no hops) */
    DATA(&s, ann, false, 0x02, 0x07, 0x01, 0x04, 0x01, 0x01, 'x', 0x00);
  } else {
    ann = 0;
    next = 1;
    if (v == 3) DATA(&s, ann, false, 0x04, 0x01, 0x01, 'x', 0x01);
    else DATA(&s, ann, false, 0x05, 0x01, 0x01, 'x', 0x01, 0x09);
  }
  put1(&s, 11); /* a local consumer subscribes x/t */
  uint8_t sub = next;
  if (v == 5) {
    /* the server opened TRACK: answer TRACK_INFO{0,0,0,1000} + FIN */
    DATA(&s, next, true, 0x05, 0x00, 0x00, 0x00, 0x43, 0xe8);
    sub = (uint8_t)(next + 1);
    DATA(&s, sub, false, 0x00, 0x01, 0x00); /* SUBSCRIBE_START 0 */
  } else {
    DATA(&s, sub, false, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00); /* SUBSCRIBE_OK */
  }
  ev_open(&s, false); /* group 0 */
  uint8_t g = (uint8_t)(sub + 1);
  if (v == 5)
    DATA(&s, g, true, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 'a', 'b', 'c', 0x02, 0x02, 'd', 'e');
  else DATA(&s, g, true, 0x00, 0x02, 0x00, 0x00, 0x03, 'a', 'b', 'c', 0x02, 'd', 'e');
  ev_open(&s, false); /* group 1, cut */
  if (v == 5) DATA(&s, (uint8_t)(g + 1), true, 0x00, 0x02, 0x00, 0x01, 0x00, 0x09, 'a');
  else DATA(&s, (uint8_t)(g + 1), true, 0x00, 0x02, 0x00, 0x01, 0x09, 'a');
  if (v == 5) {
    put1(&s, 6); /* datagram sub 0 group 7 ts 1 "dg" */
    put1(&s, 5);
    put(&s,
        "\x00\x07\x01"
        "dg",
        5);
    DATA(&s, sub, true, 0x01, 0x01, 0x09); /* SUBSCRIBE_END 9, FIN */
  } else {
    ev_data(&s, sub, NULL, 0, true);
  }
  ev_adv(&s, 20);
  /* the announcement ends */
  if (v == 3) DATA(&s, ann, false, 0x04, 0x00, 0x01, 'x', 0x00);
  else DATA(&s, ann, false, 0x04, 0x00, 0x01, 'x', 0x00);
  ev_adv(&s, 20);
  char name[64];
  snprintf(name, sizeof name, "sub-lite0%d", v);
  save(dir, name, &s);
}

static void gen_misc(const char *dir, int v) {
  seed s = {{0}, 0};
  put1(&s, (uint8_t)(0x80 | (v - 3)));
  if (v == 5) setup05(&s);
  ev_open(&s, true);
  DATA(&s, (uint8_t)(v == 5 ? 3 : 1), false, 0x3f, 0x01, 0x02); /* unknown type */
  ev_open(&s, false);
  DATA(&s, (uint8_t)(v == 5 ? 4 : 2), false, 0x00, 0x02, 0x63, 0x00); /* unknown sub id */
  ev_open(&s, true);
  DATA(&s, (uint8_t)(v == 5 ? 5 : 3), true, 0x02, 0x03, 0x00, 0x05, 'x'); /* malformed */
  ev_adv(&s, 10);
  char name[64];
  snprintf(name, sizeof name, "misc-lite0%d", v);
  save(dir, name, &s);
}

#ifndef FUZZ_SESSION_IETF
int main(int argc, char **argv) {
  if (argc < 2) return 1;
  for (int v = 3; v <= 5; v++) {
    gen_pub(argv[1], v);
    gen_sub(argv[1], v);
    gen_misc(argv[1], v);
  }
  return 0;
}
#endif
#endif
