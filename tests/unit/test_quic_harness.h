/* Shared harness of the raw-QUIC loopback tests (test_quic*.c).
 *
 * A fixture owns a private uv loop, a self-signed certificate, a server
 * endpoint and one client connection. Every wait is bounded (run_until with
 * a deadline); teardown releases everything and checks that the loop has no
 * handle left (uv_loop_close succeeds) — ASan/LSan does the rest.
 */
#ifndef TEST_QUIC_HARNESS_H
#define TEST_QUIC_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "moqc/buf.h"
#include "moqc/error.h"
#include "moqc/quic.h"
#include "moqc/transport.h"

#define H_MAX_STREAMS 512

typedef struct h_stream {
  int64_t id;
  uint8_t *data;
  size_t len, cap;
  uint64_t total; /* bytes received (also when not stored) */
  bool opened, fin, reset, stopped, closed;
  unsigned acked;   /* stream_acked calls */
  bool acked_early; /* stream_acked with bytes still queued, or after closed */
  uint64_t reset_code, stop_code;
  bool verify_pattern; /* check bytes against h_pattern() instead of storing */
  bool pattern_ok;
} h_stream;

typedef struct h_peer {
  moqc_transport *t;
  h_stream st[H_MAX_STREAMS];
  size_t nst;
  bool store;   /* keep received bytes (small tests) */
  bool pattern; /* verify received bytes against h_pattern() */
  bool echo;    /* echo every bidi stream back (with fin) */
  int writable;
  bool closed, close_by_peer;
  uint64_t close_code;
  char close_reason[256];
  size_t dgrams;
  uint8_t last_dgram[1500];
  size_t last_dgram_len;  /* only the first 1500 bytes are kept */
  size_t last_dgram_full; /* the datagram's whole length */
  uint64_t bytes;
} h_peer;

typedef struct h_fx {
  uv_loop_t loop;
  uv_timer_t deadline;
  bool expired;
  moqc_cert *cert;
  moqc_quic_server *srv;
  h_peer s, c;
  size_t server_conns; /* on_connection calls */
  moqc_transport *extra_server[8];
  bool connect_done;
  int connect_err;
  char connect_msg[512];
  moqc_transport *extra_client; /* used by tests that connect twice */
  bool second_connect;
} h_fx;

/* Byte `off` of a deterministic stream pattern (differs per stream seed). */
static inline uint8_t h_pattern(uint64_t seed, uint64_t off) {
  uint64_t x = (off >> 3) * 0x9E3779B97F4A7C15ULL + seed * 0xD6E8FEB86659FD93ULL;
  x ^= x >> 29;
  return (uint8_t)(x >> ((off & 7) * 8));
}

static inline h_stream *h_find(h_peer *p, int64_t id) {
  for (size_t i = 0; i < p->nst; i++)
    if (p->st[i].id == id) return &p->st[i];
  if (p->nst == H_MAX_STREAMS) return NULL;
  h_stream *s = &p->st[p->nst++];
  memset(s, 0, sizeof *s);
  s->id = id;
  s->pattern_ok = true;
  return s;
}

static inline void h_on_opened(void *ctx, int64_t id) {
  h_stream *s = h_find(ctx, id);
  if (s) s->opened = true;
}

static inline void h_echo(h_peer *p, int64_t id, const uint8_t *d, size_t n, bool fin) {
  moqc_slice sl = MOQC_SLICE_EMPTY;
  if (n) {
    moqc_buf *b = moqc_buf_copy(d, n);
    assert_non_null(b);
    sl.buf = b;
    sl.len = n;
  }
  assert_int_equal(p->t->ops->write(p->t, id, &sl, n ? 1 : 0, fin), MOQC_OK);
  moqc_slice_release(&sl);
}

static inline void h_on_data(void *ctx, int64_t id, const uint8_t *d, size_t n, bool fin) {
  h_peer *p = ctx;
  h_stream *s = h_find(p, id);
  if (!s) return;
  if (p->pattern) {
    /* the seed of a stream is its id */
    for (size_t i = 0; i < n && s->pattern_ok; i++)
      if (d[i] != h_pattern((uint64_t)id, s->total + i)) s->pattern_ok = false;
  }
  if (p->store && n) {
    if (s->len + n > s->cap) {
      s->cap = (s->len + n) * 2;
      s->data = realloc(s->data, s->cap);
      assert_non_null(s->data);
    }
    memcpy(s->data + s->len, d, n);
    s->len += n;
  }
  s->total += n;
  p->bytes += n;
  if (fin) s->fin = true;
  if (p->echo && !MOQC_STREAM_IS_UNI(id) && (n || fin)) h_echo(p, id, d, n, fin);
}

static inline void h_on_reset(void *ctx, int64_t id, uint64_t code) {
  h_stream *s = h_find(ctx, id);
  if (!s) return;
  s->reset = true;
  s->reset_code = code;
}

static inline void h_on_stop(void *ctx, int64_t id, uint64_t code) {
  h_stream *s = h_find(ctx, id);
  if (!s) return;
  s->stopped = true;
  s->stop_code = code;
}

static inline void h_on_closed_stream(void *ctx, int64_t id) {
  h_stream *s = h_find(ctx, id);
  if (s) s->closed = true;
}

static inline void h_on_acked(void *ctx, int64_t id) {
  h_peer *p = ctx;
  h_stream *s = h_find(p, id);
  if (!s) return;
  if (s->closed || p->t->ops->queued(p->t, id) != 0) s->acked_early = true;
  s->acked++;
}

static inline void h_on_dgram(void *ctx, const uint8_t *d, size_t n) {
  h_peer *p = ctx;
  p->dgrams++;
  p->last_dgram_full = n;
  p->last_dgram_len = n < sizeof p->last_dgram ? n : sizeof p->last_dgram;
  memcpy(p->last_dgram, d, p->last_dgram_len);
}

static inline void h_on_writable(void *ctx) { ((h_peer *)ctx)->writable++; }

static inline void h_on_closed(void *ctx, uint64_t code, const char *reason, bool by_peer) {
  h_peer *p = ctx;
  p->closed = true;
  p->close_code = code;
  p->close_by_peer = by_peer;
  snprintf(p->close_reason, sizeof p->close_reason, "%s", reason);
}

static const moqc_transport_handler h_handler = {
    .stream_opened = h_on_opened,
    .stream_data = h_on_data,
    .stream_reset = h_on_reset,
    .stop_sending = h_on_stop,
    .stream_closed = h_on_closed_stream,
    .datagram = h_on_dgram,
    .writable = h_on_writable,
    .closed = h_on_closed,
    .stream_acked = h_on_acked,
};

static inline void h_on_connection(void *ctx, moqc_transport *t) {
  h_fx *fx = ctx;
  if (!fx->s.t) {
    fx->s.t = t;
    moqc_transport_set_handler(t, &h_handler, &fx->s);
  } else if (fx->server_conns - 1 < sizeof fx->extra_server / sizeof fx->extra_server[0]) {
    fx->extra_server[fx->server_conns - 1] = t;
  } else {
    t->ops->release(t);
  }
  fx->server_conns++;
}

static inline void h_on_connect(void *ctx, int err, const char *msg, moqc_transport *t) {
  h_fx *fx = ctx;
  fx->connect_done = true;
  fx->connect_err = err;
  snprintf(fx->connect_msg, sizeof fx->connect_msg, "%s", msg ? msg : "");
  if (!t) return;
  if (!fx->c.t) {
    fx->c.t = t;
    moqc_transport_set_handler(t, &h_handler, &fx->c);
  } else {
    fx->extra_client = t;
  }
}

static inline void h_deadline_cb(uv_timer_t *t) { ((h_fx *)t->data)->expired = true; }

static inline void h_init(h_fx *fx) {
  memset(fx, 0, sizeof *fx);
  assert_int_equal(uv_loop_init(&fx->loop), 0);
  assert_int_equal(uv_timer_init(&fx->loop, &fx->deadline), 0);
  fx->deadline.data = fx;
  uv_unref((uv_handle_t *)&fx->deadline);
  const char *hosts[] = {"localhost"};
  assert_int_equal(moqc_cert_self_signed(hosts, 1, &fx->cert), MOQC_OK);
  fx->s.store = fx->c.store = true;
}

/* Run the loop until *flag becomes true (or the deadline). Returns *flag. */
#define H_RUN_UNTIL(fx, cond, ms)                                                \
  ({                                                                             \
    bool met_ = false;                                                           \
    (fx)->expired = false;                                                       \
    uv_timer_start(&(fx)->deadline, h_deadline_cb, (ms), 0);                     \
    while (!(met_ = (cond)) && !(fx)->expired) uv_run(&(fx)->loop, UV_RUN_ONCE); \
    uv_timer_stop(&(fx)->deadline);                                              \
    met_;                                                                        \
  })

static inline void h_server(h_fx *fx, const char *host, const char *const *alpn, size_t nalpn,
                            const moqc_quic_limits *lim) {
  moqc_quic_server_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.host = host;
  cfg.alpn = alpn;
  cfg.alpn_count = nalpn;
  cfg.cert = fx->cert;
  if (lim) cfg.limits = *lim;
  cfg.on_connection = h_on_connection;
  cfg.ctx = fx;
  assert_int_equal(moqc_quic_server_new(&fx->loop, &cfg, &fx->srv), MOQC_OK);
  assert_true(moqc_quic_server_port(fx->srv) != 0);
}

/* Start a client connection with the given TLS options (pin by default). */
static inline void h_connect_tls(h_fx *fx, const char *host, const char *const *alpn, size_t nalpn,
                                 const moqc_quic_tls_client *tls, const moqc_quic_limits *lim) {
  moqc_quic_client_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.host = host;
  cfg.port = moqc_quic_server_port(fx->srv);
  cfg.sni = "localhost";
  cfg.alpn = alpn;
  cfg.alpn_count = nalpn;
  if (tls) cfg.tls = *tls;
  else cfg.tls.pin_sha256 = moqc_cert_fingerprint(fx->cert);
  if (lim) cfg.limits = *lim;
  fx->connect_done = false;
  assert_int_equal(moqc_quic_connect(&fx->loop, &cfg, h_on_connect, fx, NULL), MOQC_OK);
}

static inline void h_connect(h_fx *fx, const char *host, const char *const *alpn, size_t nalpn,
                             const moqc_quic_limits *lim) {
  h_connect_tls(fx, host, alpn, nalpn, NULL, lim);
}

/* Connect and wait for both ends. */
static inline void h_establish(h_fx *fx, const char *host, const moqc_quic_limits *lim) {
  h_connect(fx, host, NULL, 0, lim);
  assert_true(H_RUN_UNTIL(fx, fx->connect_done && fx->s.t, 5000));
  assert_int_equal(fx->connect_err, MOQC_OK);
  assert_non_null(fx->c.t);
}

static inline void h_free_peer(h_peer *p) {
  for (size_t i = 0; i < p->nst; i++) free(p->st[i].data);
  if (p->t) p->t->ops->release(p->t);
  p->t = NULL;
}

static inline void h_teardown(h_fx *fx) {
  h_free_peer(&fx->c);
  h_free_peer(&fx->s);
  if (fx->extra_client) fx->extra_client->ops->release(fx->extra_client);
  for (size_t i = 0; i < sizeof fx->extra_server / sizeof fx->extra_server[0]; i++)
    if (fx->extra_server[i]) fx->extra_server[i]->ops->release(fx->extra_server[i]);
  moqc_quic_server_del(fx->srv);
  fx->srv = NULL;
  moqc_cert_unref(fx->cert);
  fx->cert = NULL;
  /* Let every handle close; fail rather than hang. */
  uv_close((uv_handle_t *)&fx->deadline, NULL);
  for (int i = 0; i < 5000 && uv_loop_alive(&fx->loop); i++) uv_run(&fx->loop, UV_RUN_ONCE);
  assert_int_equal(uv_loop_close(&fx->loop), 0);
}

/* Write `len` pattern bytes (seed = stream id) in bufs of `chunk` bytes,
 * starting at stream offset `off`. */
static inline void h_write_pattern(moqc_transport *t, int64_t id, uint64_t off, size_t len,
                                   size_t chunk, bool fin) {
  if (len == 0 && fin) assert_int_equal(t->ops->write(t, id, NULL, 0, true), MOQC_OK);
  while (len > 0) {
    size_t n = len < chunk ? len : chunk;
    uint8_t *w;
    moqc_buf *b = moqc_buf_alloc(n, &w);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) w[i] = h_pattern((uint64_t)id, off + i);
    moqc_slice sl = {b, 0, n};
    len -= n;
    off += n;
    assert_int_equal(t->ops->write(t, id, &sl, 1, fin && len == 0), MOQC_OK);
    moqc_buf_unref(b);
  }
}

#endif
