/* Shared fixture for the WebTransport adapter tests (test_wt_*.c): a memlink
 * pair in virtual time, event recorders for session transports, and server /
 * client applications. Header-only; included by each test file. */
#ifndef MOQC_TEST_WT_COMMON_H
#define MOQC_TEST_WT_COMMON_H

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
#include "moqc/webtransport.h"
#include "webtransport/h3_codec.h"
#include "webtransport/h3_qpack.h"

#define MS 1000000ULL

/* ---- recorder: what a transport's handler saw ---------------------------------- */

typedef struct rstream {
  int64_t id;
  uint8_t buf[16384];
  size_t len;
  bool opened, fin, reset, stopped, closed;
  unsigned acked; /* stream_acked calls */
  bool closed_before_acked;
  uint64_t reset_code, stop_code;
  unsigned calls; /* stream_data calls */
} rstream;

typedef struct rec {
  moqc_transport *t;
  rstream s[24];
  size_t ns;
  uint8_t dg[2048];
  size_t dg_len;
  int n_dg;
  int n_closed;
  uint64_t close_code;
  char reason[1100];
  bool by_peer;
  int n_writable;
  bool release_on_close;
} rec;

static inline rstream *rs_get(rec *r, int64_t id) {
  for (size_t i = 0; i < r->ns; i++)
    if (r->s[i].id == id) return &r->s[i];
  assert_true(r->ns < sizeof r->s / sizeof r->s[0]);
  rstream *s = &r->s[r->ns++];
  memset(s, 0, sizeof *s);
  s->id = id;
  return s;
}

static inline rstream *rs_find(rec *r, int64_t id) {
  for (size_t i = 0; i < r->ns; i++)
    if (r->s[i].id == id) return &r->s[i];
  return NULL;
}

static inline void h_opened(void *ctx, int64_t id) {
  rstream *s = rs_get(ctx, id);
  assert_false(s->opened);
  s->opened = true;
}
static inline void h_data(void *ctx, int64_t id, const uint8_t *p, size_t len, bool fin) {
  rstream *s = rs_get(ctx, id);
  assert_false(s->fin);
  assert_true(s->len + len <= sizeof s->buf);
  if (len) memcpy(s->buf + s->len, p, len);
  s->len += len;
  s->fin |= fin;
  s->calls++;
}
static inline void h_reset(void *ctx, int64_t id, uint64_t code) {
  rstream *s = rs_get(ctx, id);
  s->reset = true;
  s->reset_code = code;
}
static inline void h_stop(void *ctx, int64_t id, uint64_t code) {
  rstream *s = rs_get(ctx, id);
  s->stopped = true;
  s->stop_code = code;
}
static inline void h_closed_stream(void *ctx, int64_t id) { rs_get(ctx, id)->closed = true; }
static inline void h_acked(void *ctx, int64_t id) {
  rstream *s = rs_get(ctx, id);
  if (s->closed) s->closed_before_acked = true;
  s->acked++;
}
static inline void h_dg(void *ctx, const uint8_t *p, size_t len) {
  rec *r = ctx;
  assert_true(len <= sizeof r->dg);
  memcpy(r->dg, p, len);
  r->dg_len = len;
  r->n_dg++;
}
static inline void h_writable(void *ctx) { ((rec *)ctx)->n_writable++; }
static inline void h_closed(void *ctx, uint64_t code, const char *reason, bool by_peer) {
  rec *r = ctx;
  r->n_closed++;
  r->close_code = code;
  snprintf(r->reason, sizeof r->reason, "%s", reason ? reason : "");
  r->by_peer = by_peer;
  if (r->release_on_close && r->t) { /* release from inside the callback */
    r->t->ops->release(r->t);
    r->t = NULL;
  }
}

static const moqc_transport_handler k_rec_handler = {
    h_opened, h_data, h_reset, h_stop, h_closed_stream, h_dg, h_writable, h_closed, h_acked,
};

/* ---- applications ------------------------------------------------------------------------ */

typedef struct srv_app {
  rec r;
  uint16_t status; /* what on_request returns (0 = no on_request: default) */
  bool override;   /* replace the chosen protocol with `override_proto` */
  const char *override_proto;
  int n_req, n_session, n_err;
  int err;
  uint64_t h3_code;
  char path[256], authority[256], origin[256], ua[64];
  bool has_origin, draft02;
  char protos[8][32];
  size_t n_protos;
  char chosen[32];
} srv_app;

static inline uint16_t srv_on_request(void *ctx, const moqc_wt_request *req,
                                      const char **protocol) {
  srv_app *a = ctx;
  a->n_req++;
  snprintf(a->path, sizeof a->path, "%s", req->path);
  snprintf(a->authority, sizeof a->authority, "%s", req->authority);
  a->has_origin = req->origin != NULL;
  if (req->origin) snprintf(a->origin, sizeof a->origin, "%s", req->origin);
  a->draft02 = req->draft02;
  const char *ua = moqc_wt_request_header(req, "user-agent");
  snprintf(a->ua, sizeof a->ua, "%s", ua ? ua : "");
  a->n_protos = req->n_protocols < 8 ? req->n_protocols : 8;
  for (size_t i = 0; i < a->n_protos; i++)
    snprintf(a->protos[i], sizeof a->protos[i], "%s", req->protocols[i]);
  snprintf(a->chosen, sizeof a->chosen, "%s", *protocol ? *protocol : "");
  if (a->override) *protocol = a->override_proto;
  return a->status;
}

static inline void srv_on_session(void *ctx, moqc_transport *t) {
  srv_app *a = ctx;
  a->n_session++;
  a->r.t = t;
  moqc_transport_set_handler(t, &k_rec_handler, &a->r);
}

static inline void srv_on_error(void *ctx, int err, uint64_t h3_code) {
  srv_app *a = ctx;
  a->n_err++;
  a->err = err;
  a->h3_code = h3_code;
}

typedef struct cli_app {
  rec r;
  int n_cb;
  int err;
  uint16_t status;
} cli_app;

static inline void cli_cb(void *ctx, moqc_transport *t, int err, uint16_t status) {
  cli_app *a = ctx;
  a->n_cb++;
  a->err = err;
  a->status = status;
  if (t) {
    a->r.t = t;
    moqc_transport_set_handler(t, &k_rec_handler, &a->r);
  }
}

/* ---- fixture ------------------------------------------------------------------------------ */

typedef struct fx {
  moqc_clock *clk;
  memlink *l;
  srv_app s;
  cli_app c;
  rec raw; /* handler for a raw (adapter-less) side */
} fx;

static inline fx *fx_new(const memlink_config *lc) {
  fx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->clk = moqc_clock_new(1000 * MS);
  assert_non_null(f->clk);
  memlink_config cfg = lc ? *lc : MEMLINK_CONFIG_DEFAULT;
  if (!lc) cfg.latency_ns = 5 * MS;
  f->l = memlink_new(f->clk, &cfg);
  assert_non_null(f->l);
  assert_int_equal(memlink_set_protocol(f->l, "h3"), MOQC_OK);
  return f;
}

static inline void run(fx *f, uint64_t ns) {
  moqc_clock_advance(f->clk, moqc_clock_now(f->clk) + ns);
}

static inline moqc_wt_server_config srv_cfg(fx *f, const char *const *protos, size_t n) {
  moqc_wt_server_config cfg = {.protocols = protos,
                               .n_protocols = n,
                               .on_request = f->s.status ? srv_on_request : NULL,
                               .on_session = srv_on_session,
                               .on_error = srv_on_error,
                               .ctx = &f->s,
                               .clock = f->clk};
  return cfg;
}

static inline void attach_server(fx *f, const char *const *protos, size_t n) {
  moqc_wt_server_config cfg = srv_cfg(f, protos, n);
  assert_int_equal(moqc_wt_server_attach(memlink_server(f->l), &cfg), MOQC_OK);
}

static inline void attach_client(fx *f, const char *path, const char *const *protos, size_t n) {
  moqc_wt_client_config cfg = {.authority = "relay.test:4443",
                               .path = path,
                               .origin = "https://app.test",
                               .protocols = protos,
                               .n_protocols = n,
                               .cb = cli_cb,
                               .ctx = &f->c,
                               .clock = f->clk,
                               .timeout_ns = 5000 * MS};
  assert_int_equal(moqc_wt_client_connect(memlink_client(f->l), &cfg), MOQC_OK);
}

/* Tear down: release held sessions, kill the link so adapters without a
 * session free themselves, then free everything. */
static inline void fx_del(fx *f) {
  if (f->s.r.t) f->s.r.t->ops->release(f->s.r.t);
  if (f->c.r.t) f->c.r.t->ops->release(f->c.r.t);
  f->s.r.t = f->c.r.t = NULL;
  memlink_disconnect(f->l, 0, "teardown");
  run(f, 1000 * MS);
  memlink_del(f->l);
  moqc_clock_del(f->clk);
  free(f);
}

/* Write a copied buffer on a transport. */
static inline int put(moqc_transport *t, int64_t id, const void *p, size_t len, bool fin) {
  moqc_buf *b = len ? moqc_buf_copy(p, len) : NULL;
  moqc_slice s = {b, 0, len};
  int rc = t->ops->write(t, id, &s, b ? 1 : 0, fin);
  moqc_buf_unref(b);
  return rc;
}

#endif
