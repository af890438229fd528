/* libFuzzer target: the QMux frame decoder and a QMux connection fed with it.
 * Input: byte 0 picks the wire version (webtransport / qmux-00 / -01 / -02) and
 * the role; the rest is split into WebSocket messages, each prefixed by a
 * one-byte length. Invariants (abort() on violation):
 *   - decode never reads past the message and consumes > 0 bytes or fails;
 *   - a decoded STREAM / RESET / STOP / MAX_* frame re-encodes and decodes back
 *     to the same values;
 *   - a connection fed any messages either keeps running or closes, never
 *     crashes or leaks (ASan), and the clock's tick drains it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qmux/qmux_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)       \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

static void roundtrip(moqc_qmux_version v, const moqc_qmux_frame *f) {
  uint8_t buf[128];
  moqc_writer w = moqc_writer_make(buf, sizeof buf);
  switch (f->type) {
    case MOQC_QF_STREAM:
      if (f->data.len > 64) return;
      moqc__qmux_put_stream(&w, v, f->id, f->offset, f->data.len, f->fin);
      moqc_write_raw(&w, f->data.ptr, f->data.len);
      break;
    case MOQC_QF_RESET_STREAM: moqc__qmux_put_reset(&w, v, f->id, f->code, f->final_size); break;
    case MOQC_QF_STOP_SENDING: moqc__qmux_put_stop(&w, f->id, f->code); break;
    case MOQC_QF_MAX_DATA: moqc__qmux_put_value(&w, MOQC_QMUX_FT_MAX_DATA, f->value); break;
    case MOQC_QF_MAX_STREAM_DATA:
      moqc__qmux_put_id_value(&w, MOQC_QMUX_FT_MAX_STREAM_DATA, f->id, f->value);
      break;
    default: return;
  }
  if (v == MOQC_QMUX_WEBTRANSPORT && f->type == MOQC_QF_STOP_SENDING)
    return; /* varint type == u8 */
  CHECK(w.err == 0);
  moqc_qmux_frame g;
  ssize_t n = moqc__qmux_frame_decode(v, &g, buf, w.pos);
  CHECK(n == (ssize_t)w.pos);
  CHECK(g.type == f->type && g.id == f->id && g.code == f->code && g.value == f->value);
  if (f->type == MOQC_QF_STREAM) {
    CHECK(g.fin == f->fin && g.data.len == f->data.len);
    CHECK(v == MOQC_QMUX_WEBTRANSPORT || g.offset == f->offset);
  }
}

static void decode_all(moqc_qmux_version v, const uint8_t *p, size_t n) {
  size_t off = 0;
  while (off < n) {
    moqc_qmux_frame f;
    ssize_t r = moqc__qmux_frame_decode(v, &f, p + off, n - off);
    if (r < 0) return;
    CHECK(r > 0 && (size_t)r <= n - off);
    roundtrip(v, &f);
    off += (size_t)r;
  }
}

static int io_send(void *ctx, const uint8_t *p, size_t len) {
  (void)ctx;
  (void)p;
  CHECK(len > 0);
  return 0;
}
static size_t io_pending(void *ctx) {
  (void)ctx;
  return 0;
}
static void io_close(void *ctx, uint16_t status, const char *reason) {
  (void)ctx;
  (void)status;
  (void)reason;
}

static void on_data(void *ctx, int64_t id, const uint8_t *p, size_t len, bool fin) {
  moqc_transport *t = ctx;
  (void)p;
  /* Echo a little on bidi streams so the send path runs too. */
  if (!MOQC_STREAM_IS_UNI(id) && len) {
    moqc_buf *b = moqc_buf_copy(p, len < 8 ? len : 8);
    if (!b) return;
    moqc_slice s = {b, 0, b->len};
    t->ops->write(t, id, &s, 1, fin);
    moqc_buf_unref(b);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  moqc_qmux_version v = (moqc_qmux_version)(data[0] % 4);
  bool server = (data[0] & 0x80) != 0;
  data++;
  size--;
  /* The codec on the whole input as one message. */
  decode_all(v, data, size);

  moqc_clock *clk = moqc_clock_new(1);
  if (!clk) return 0;
  moqc_qmux_config cfg = {.version = v,
                          .is_server = server,
                          .protocol = "moq-lite-04",
                          .path = "/",
                          .clock = clk,
                          .io = {io_send, io_pending, io_close}};
  moqc_qmux *q;
  if (moqc_qmux_new(&cfg, &q) != MOQC_OK) {
    moqc_clock_del(clk);
    return 0;
  }
  moqc_transport *t = moqc_qmux_transport(q);
  static const moqc_transport_handler h = {.stream_data = on_data};
  moqc_transport_set_handler(t, &h, t);
  size_t off = 0;
  while (off < size) {
    size_t n = data[off++];
    if (n > size - off) n = size - off;
    moqc_qmux_recv(q, data + off, n);
    moqc_clock_advance(clk, moqc_clock_now(clk) + 1);
    off += n;
  }
  moqc_qmux_io_closed(q, 1000, "");
  t->ops->release(t);
  moqc_clock_advance(clk, moqc_clock_now(clk) + 1);
  moqc_clock_del(clk);
  return 0;
}
