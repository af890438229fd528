/* libFuzzer target: the WebTransport server adapter fed random HTTP/3 from a
 * raw peer over the in-memory link in virtual time. The input is a script:
 *   byte 0 bit 0: preload a valid control stream + SETTINGS,
 *          bit 1: preload a valid CONNECT (so the session is reachable);
 *   then ops: [op][arg][len][bytes...] — inject a uni/bidi stream, append to
 *   one (optionally FIN), reset one, send a datagram, advance time, and have
 *   the application open/write/reset/close on the session.
 * Invariants: no crash, UB or leak; for peer streams the application never
 * sees data before stream_opened, and nothing after `closed`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "memtransport.h"
#include "moqc/buf.h"
#include "moqc/webtransport.h"
#include "webtransport/h3_codec.h"
#include "webtransport/h3_qpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)       \
  do {                 \
    if (!(c)) abort(); \
  } while (0)
#define MAXS 32

typedef struct app {
  moqc_transport *t;
  bool closed;
  int64_t opened[MAXS];
  size_t n_opened;
} app;

static bool seen(app *a, int64_t id) {
  for (size_t i = 0; i < a->n_opened; i++)
    if (a->opened[i] == id) return true;
  return false;
}
static void h_opened(void *ctx, int64_t id) {
  app *a = ctx;
  CHECK(!a->closed);
  if (a->n_opened < MAXS) a->opened[a->n_opened++] = id;
}
static void h_data(void *ctx, int64_t id, const uint8_t *p, size_t len, bool fin) {
  app *a = ctx;
  (void)p, (void)len, (void)fin;
  CHECK(!a->closed);
  if (MOQC_STREAM_IS_SERVER(id) == false && a->n_opened < MAXS) CHECK(seen(a, id));
}
static void h_any(void *ctx, int64_t id, uint64_t code) {
  (void)id, (void)code;
  CHECK(!((app *)ctx)->closed);
}
static void h_closed_stream(void *ctx, int64_t id) {
  (void)id;
  CHECK(!((app *)ctx)->closed);
}
static void h_dg(void *ctx, const uint8_t *p, size_t len) {
  (void)p, (void)len;
  CHECK(!((app *)ctx)->closed);
}
static void h_closed(void *ctx, uint64_t code, const char *reason, bool by_peer) {
  (void)code, (void)by_peer;
  app *a = ctx;
  CHECK(!a->closed && reason);
  a->closed = true;
}
static const moqc_transport_handler k_h = {h_opened, h_data, h_any,    h_any, h_closed_stream,
                                           h_dg,     NULL,   h_closed, NULL};

static void on_session(void *ctx, moqc_transport *t) {
  app *a = ctx;
  a->t = t;
  moqc_transport_set_handler(t, &k_h, a);
}

static int put(moqc_transport *t, int64_t id, const uint8_t *p, size_t len, bool fin) {
  moqc_buf *b = len ? moqc_buf_copy(p, len) : NULL;
  moqc_slice s = {b, 0, len};
  int rc = t->ops->write(t, id, &s, b ? 1 : 0, fin);
  moqc_buf_unref(b);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0 || size > 8192) return 0;
  moqc_clock *clk = moqc_clock_new(1000000000ULL);
  memlink_config lc = MEMLINK_CONFIG_DEFAULT;
  lc.latency_ns = 1000000;
  lc.max_streams_bidi = lc.max_streams_uni = 64;
  memlink *l = memlink_new(clk, &lc);
  if (!clk || !l) abort();
  memlink_set_protocol(l, "h3");
  app a = {0};
  static const char *const protos[] = {"moq-lite-04", "moq-lite-03"};
  moqc_wt_server_config cfg = {
      .protocols = protos, .n_protocols = 2, .on_session = on_session, .ctx = &a, .clock = clk};
  moqc_transport *srv = memlink_server(l);
  CHECK(moqc_wt_server_attach(srv, &cfg) == MOQC_OK);
  int64_t ids[MAXS];
  size_t n_ids = 0;
  int64_t id;
  if (data[0] & 1) {
    uint8_t b[80] = {0};
    ssize_t n = moqc_h3_settings_encode_frame(b + 1, sizeof b - 1, 1);
    if (memlink_inject(l, srv, false, b, (size_t)n + 1, false, &id) == MOQC_OK) ids[n_ids++] = id;
  }
  if (data[0] & 2) {
    uint8_t b[256];
    ssize_t n = moqc_h3_connect_req_encode(b, sizeof b, "h:1", "/f", NULL, protos, 2);
    if (memlink_inject(l, srv, true, b, (size_t)n, false, &id) == MOQC_OK) ids[n_ids++] = id;
  }
  size_t pos = 1;
  while (pos + 3 <= size) {
    uint8_t op = data[pos], arg = data[pos + 1];
    size_t len = data[pos + 2];
    pos += 3;
    if (len > size - pos) len = size - pos;
    const uint8_t *p = data + pos;
    switch (op % 8) {
      case 0: /* new injected stream */
        if (n_ids < MAXS && memlink_inject(l, srv, arg & 1, p, len, arg & 2, &id) == MOQC_OK)
          ids[n_ids++] = id;
        pos += len;
        break;
      case 1: /* append */
        if (n_ids) memlink_inject_write(l, srv, ids[arg % n_ids], p, len, op & 8);
        pos += len;
        break;
      case 2:
        if (n_ids) memlink_inject_reset(l, srv, ids[arg % n_ids], moqc_wt_error_to_h3(arg));
        break;
      case 3: {
        moqc_transport *raw = memlink_client(l);
        raw->ops->send_datagram(raw, p, len);
        pos += len;
        break;
      }
      case 4: moqc_clock_advance(clk, moqc_clock_now(clk) + 1000000ULL * (1 + arg % 16)); break;
      case 5: /* the application writes */
        if (a.t && !a.closed && a.t->ops->open_stream(a.t, arg & 1, &id) == MOQC_OK)
          put(a.t, id, p, len, arg & 2);
        pos += len;
        break;
      case 6:
        if (a.t && !a.closed && a.n_opened) {
          int64_t sid = a.opened[arg % a.n_opened];
          if (arg & 1) a.t->ops->reset(a.t, sid, arg);
          else a.t->ops->stop_sending(a.t, sid, arg);
          if (arg & 2) a.t->ops->send_datagram(a.t, p, len < 64 ? len : 64);
        }
        break;
      case 7:
        if (a.t && !a.closed && (arg & 7) == 0) a.t->ops->close(a.t, arg, "fuzz");
        break;
    }
  }
  moqc_clock_advance(clk, moqc_clock_now(clk) + 100000000ULL);
  if (a.t) a.t->ops->release(a.t);
  memlink_disconnect(l, 0, "end");
  moqc_clock_advance(clk, moqc_clock_now(clk) + 1000000000ULL);
  memlink_del(l);
  moqc_clock_del(clk);
  return 0;
}
