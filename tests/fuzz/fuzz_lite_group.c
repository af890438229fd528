/* libFuzzer target: the moq-lite data plane and framing helpers: stream-type
 * varint, moqc_lite_peek_msg, GROUP header, FRAME headers walked the way a
 * session reads a group stream (running timestamp baseline, payload skipped
 * zero-copy), and DATAGRAM bodies; lite-03/04/05. */
#include "fuzz_lite_common.h"

static void fz_peek(const uint8_t *data, size_t size) {
  size_t off = 0, blen = 0;
  ssize_t t = moqc_lite_peek_msg(data, size, &off, &blen);
  if (t < 0) {
    fz_check(t == MOQC_ERR_NEED_MORE || t == MOQC_ERR_DECODE);
    return;
  }
  fz_check((size_t)t <= size && off + blen == (size_t)t && blen <= MOQC_LITE_MSG_MAX);
  fz_check(off == 1 || off == 2 || off == 4 || off == 8);
}

static void fz_stream_type(const uint8_t *data, size_t size) {
  uint64_t t, u;
  ssize_t n = moqc_lite_stream_type_decode(&t, data, size);
  if (n < 0) {
    fz_check(n == MOQC_ERR_NEED_MORE);
    return;
  }
  for (int v = MOQC_LITE_03; v <= MOQC_LITE_05; v++) {
    (void)moqc_lite_is_known_stream_type(v, true, t);
    (void)moqc_lite_is_known_stream_type(v, false, t);
  }
  ssize_t e = moqc_lite_stream_type_encode(fz_buf, sizeof fz_buf, t);
  fz_check(e > 0 && e <= n);
  fz_check(moqc_lite_stream_type_decode(&u, fz_buf, (size_t)e) == e && u == t);
}

static void fz_frames(const uint8_t *data, size_t size, int v) {
  uint64_t prev = 0;
  size_t off = 0;
  while (off < size) {
    struct moqc_lite_frame f, g;
    ssize_t n = moqc_lite_frame_decode(&f, v, prev, data + off, size - off);
    if (n < 0) {
      fz_check(n == MOQC_ERR_NEED_MORE || n == MOQC_ERR_DECODE || n == MOQC_ERR_TOO_LARGE);
      return;
    }
    fz_check(n > 0 && (size_t)n <= size - off && f.size <= MOQC_LITE_FRAME_MAX);
    fz_check(f.timestamp <= MOQC_VARINT_MAX && (v == MOQC_LITE_05 || f.timestamp == 0));
    ssize_t e = moqc_lite_frame_encode(fz_buf, sizeof fz_buf, v, prev, &f);
    fz_check(e > 0 && e <= n && moqc_lite_frame_encode(NULL, 0, v, prev, &f) == e);
    fz_check(moqc_lite_frame_decode(&g, v, prev, fz_buf, (size_t)e) == e && lite_frame_eq(&f, &g));
    for (size_t k = 0; k < (size_t)e; k++) {
      fz_check(moqc_lite_frame_decode(&g, v, prev, fz_buf, k) == MOQC_ERR_NEED_MORE);
    }
    off += (size_t)n;
    off += f.size < size - off ? (size_t)f.size : size - off; /* payload, zero-copy */
    prev = f.timestamp;
  }
}

static void fz_datagram(const uint8_t *data, size_t size) {
  for (int v = MOQC_LITE_03; v <= MOQC_LITE_05; v++) {
    struct moqc_lite_datagram a, b;
    ssize_t n = moqc_lite_datagram_decode(&a, v, data, size);
    if (v != MOQC_LITE_05) {
      fz_check(n == MOQC_ERR_INVAL);
      continue;
    }
    if (n < 0) {
      fz_check(n == MOQC_ERR_DECODE);
      continue;
    }
    fz_check((size_t)n == size && a.payload.ptr >= data && a.payload.len <= size);
    ssize_t e = moqc_lite_datagram_encode(NULL, 0, v, &a);
    fz_check(e > 0 && e <= n && (size_t)e <= sizeof fz_buf);
    fz_check(moqc_lite_datagram_encode(fz_buf, sizeof fz_buf, v, &a) == e);
    fz_check(moqc_lite_datagram_decode(&b, v, fz_buf, (size_t)e) == e);
    fz_check(lite_datagram_eq(&a, &b));
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_peek(data, size);
  fz_stream_type(data, size);
  FZ_ROUNDTRIP(group, data, size);
  for (int v = MOQC_LITE_03; v <= MOQC_LITE_05; v++) {
    struct moqc_lite_group g;
    ssize_t n = moqc_lite_group_decode(&g, v, data, size);
    fz_frames(data, size, v);                            /* a fetch response: bare frames */
    if (n > 0) fz_frames(data + n, size - (size_t)n, v); /* a group stream body */
  }
  if (size <= MOQC_LITE_MSG_MAX) fz_datagram(data, size);
  return 0;
}
