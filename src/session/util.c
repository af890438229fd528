/* moqc session — byte builder and hot-path header encoders (see util.h). */
#include "session/util.h"

#include <string.h>

#include "core/codec.h"
#include "core/lite_wire.h"
#include "core/mem.h"
#include "moqc/error.h"

/* ---- byte builder --------------------------------------------------------- */

void wbuf_init(wbuf *w) {
  w->p = w->small;
  w->len = 0;
  w->cap = sizeof w->small;
  w->err = 0;
}

void wbuf_free(wbuf *w) {
  if (w->p != w->small) moqc_free(w->p);
  wbuf_init(w);
}

uint8_t *wbuf_reserve(wbuf *w, size_t n) {
  if (w->err) return NULL;
  if (n > SIZE_MAX / 2 - w->len) {
    w->err = MOQC_ERR_NOMEM;
    return NULL;
  }
  if (w->len + n > w->cap) {
    size_t cap = w->cap * 2;
    while (cap < w->len + n) cap *= 2;
    uint8_t *p = moqc_malloc(cap);
    if (!p) {
      w->err = MOQC_ERR_NOMEM;
      return NULL;
    }
    memcpy(p, w->p, w->len);
    if (w->p != w->small) moqc_free(w->p);
    w->p = p;
    w->cap = cap;
  }
  return w->p + w->len;
}

void wbuf_append(wbuf *w, const void *p, size_t n) {
  uint8_t *d = wbuf_reserve(w, n);
  if (!d) return;
  if (n) memcpy(d, p, n);
  w->len += n;
}

void wbuf_varint(wbuf *w, uint64_t v) {
  uint8_t *d = wbuf_reserve(w, 8);
  if (!d) return;
  ssize_t n = moqc_varint_encode(d, 8, v);
  if (n < 0) {
    w->err = (int)n;
    return;
  }
  w->len += (size_t)n;
}

/* ---- hot-path header encoders ------------------------------------------------ */

/* Values are range-checked by the callers, so the core encoder cannot fail. */
static size_t put_varint(uint8_t *p, size_t cap, uint64_t v) {
  return (size_t)moqc_varint_encode(p, cap, v);
}

size_t sess_frame_hdr(uint8_t *out, int version, uint64_t prev_ts, uint64_t timestamp,
                      uint64_t size) {
  if (size > MOQC_LITE_FRAME_MAX || !moqc_lite_version_valid(version)) return 0;
  size_t n = 0;
  if (moqc_lite_is_05(version)) {
    if (timestamp > MOQC_VARINT_MAX || prev_ts > MOQC_VARINT_MAX) return 0;
    int64_t delta = (int64_t)timestamp - (int64_t)prev_ts;
    const int64_t range = (int64_t)1 << 61;
    if (delta < -range || delta >= range) return 0;
    n = put_varint(out, SESS_FRAME_HDR_MAX, moqc_zigzag_encode(delta));
  }
  return n + put_varint(out + n, SESS_FRAME_HDR_MAX - n, size);
}

size_t sess_group_hdr(uint8_t *out, uint64_t subscribe, uint64_t sequence) {
  if (subscribe > MOQC_VARINT_MAX || sequence > MOQC_VARINT_MAX) return 0;
  out[0] = (uint8_t)MOQC_LITE_UNI_GROUP; /* stream type, one byte */
  size_t body = put_varint(out + 2, SESS_GROUP_HDR_MAX - 2, subscribe);
  body += put_varint(out + 2 + body, SESS_GROUP_HDR_MAX - 2 - body, sequence);
  out[1] = (uint8_t)body; /* <= 16: a one-byte length prefix */
  return 2 + body;
}

/* Varint at p (non-minimal encodings accepted); 0 if cut. */
static size_t get_varint(const uint8_t *p, size_t len, uint64_t *v) {
  ssize_t n = moqc_varint_decode(v, p, len);
  return n > 0 ? (size_t)n : 0;
}

size_t sess_frame_hdr_decode(const uint8_t *p, size_t len, int version, uint64_t prev_ts,
                             uint64_t *timestamp, uint64_t *size) {
  if (!p || len == 0 || prev_ts > MOQC_VARINT_MAX) return 0;
  size_t n = 0;
  uint64_t ts = 0;
  if (moqc_lite_is_05(version)) {
    uint64_t zz;
    n = get_varint(p, len, &zz);
    if (n == 0) return 0;
    int64_t t = (int64_t)prev_ts + moqc_zigzag_decode(zz);
    if (t < 0 || (uint64_t)t > MOQC_VARINT_MAX) return 0;
    ts = (uint64_t)t;
  } else if (!moqc_lite_version_valid(version)) {
    return 0;
  }
  uint64_t sz;
  size_t m = get_varint(p + n, len - n, &sz);
  if (m == 0 || sz > MOQC_LITE_FRAME_MAX) return 0;
  *timestamp = ts;
  *size = sz;
  return n + m;
}
