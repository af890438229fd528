/* moqc core — moq-lite wire codecs: versions, stream types, message framing,
 * shared field helpers, and the data plane (GROUP, FRAME, DATAGRAM). */
#include <assert.h>
#include <limits.h>
#include <string.h>

#include "core/lite_wire_int.h"

/* ---- versions ------------------------------------------------------------ */

static const char *const lite_alpn[] = {"moq-lite-03", "moq-lite-04", "moq-lite-05"};

bool moqc_lite_version_valid(int version) {
  return version >= MOQC_LITE_03 && version <= MOQC_LITE_05;
}

int moqc_lite_version_from_alpn(const char *alpn, size_t len) {
  if (!alpn) return MOQC_ERR_VERSION;
  for (int v = MOQC_LITE_03; v <= MOQC_LITE_05; v++) {
    const char *a = lite_alpn[v - MOQC_LITE_03];
    if (strlen(a) == len && memcmp(a, alpn, len) == 0) return v;
  }
  return MOQC_ERR_VERSION;
}

const char *moqc_lite_version_alpn(int version) {
  return moqc_lite_version_valid(version) ? lite_alpn[version - MOQC_LITE_03] : NULL;
}

/* ---- stream types -------------------------------------------------------- */

ssize_t moqc_lite_stream_type_encode(uint8_t *p, size_t cap, uint64_t type) {
  if (type > MOQC_VARINT_MAX) return MOQC_ERR_OVERFLOW;
  if (!p) return (ssize_t)moqc_varint_len(type);
  return moqc_varint_encode(p, cap, type);
}

ssize_t moqc_lite_stream_type_decode(uint64_t *type, const uint8_t *p, size_t len) {
  if (!type || (!p && len)) return MOQC_ERR_INVAL;
  if (len == 0) return MOQC_ERR_NEED_MORE;
  return moqc_varint_decode(type, p, len);
}

bool moqc_lite_is_known_stream_type(int version, bool bidi, uint64_t type) {
  if (!moqc_lite_version_valid(version)) return false;
  if (!bidi) {
    return type == MOQC_LITE_UNI_GROUP || (type == MOQC_LITE_UNI_SETUP && moqc_lite_is_05(version));
  }
  switch (type) {
    case MOQC_LITE_BIDI_ANNOUNCE:
    case MOQC_LITE_BIDI_SUBSCRIBE:
    case MOQC_LITE_BIDI_FETCH:
    case MOQC_LITE_BIDI_PROBE: return true;
    case MOQC_LITE_BIDI_GOAWAY: return moqc_lite_has_goaway(version);
    case MOQC_LITE_BIDI_TRACK: return moqc_lite_is_05(version);
    default: return false;
  }
}

/* ---- framing ------------------------------------------------------------- */

ssize_t moqc_lite_peek_msg(const uint8_t *p, size_t len, size_t *body_off, size_t *body_len) {
  if (!p && len) return MOQC_ERR_INVAL;
  if (len == 0) return MOQC_ERR_NEED_MORE;
  uint64_t n;
  ssize_t k = moqc_varint_decode(&n, p, len);
  if (k < 0) return k;
  if (n > MOQC_LITE_MSG_MAX) return MOQC_ERR_DECODE;
  if (len - (size_t)k < n) return MOQC_ERR_NEED_MORE;
  if (body_off) *body_off = (size_t)k;
  if (body_len) *body_len = (size_t)n;
  return (ssize_t)((size_t)k + (size_t)n);
}

ssize_t moqc__lw_encode(uint8_t *p, size_t cap, int version, const void *m, lw_body_fn body,
                        unsigned flags, uint64_t type) {
  if (!moqc_lite_version_valid(version) || !m) return MOQC_ERR_INVAL;
  if ((flags & LW_TYPED) && type > MOQC_VARINT_MAX) return MOQC_ERR_OVERFLOW;

  lw c = {moqc_writer_make(NULL, 0)}; /* counting pass: validates and measures */
  body(&c, version, m);
  if (c.w.err) return c.w.err;
  size_t blen = c.w.pos, total = blen;
  if (flags & LW_FRAMED) {
    if (blen > MOQC_LITE_MSG_MAX) return MOQC_ERR_INVAL;
    total += moqc_varint_len(blen);
  }
  if (flags & LW_TYPED) total += moqc_varint_len(type);
  if (total > (size_t)SSIZE_MAX) return MOQC_ERR_INVAL;
  if (!p) return (ssize_t)total;
  if (cap < total) return MOQC_ERR_BUFSIZE;

  lw o = {moqc_writer_make(p, cap)};
  if (flags & LW_TYPED) lw_varint(&o, type);
  if (flags & LW_FRAMED) lw_varint(&o, blen);
  body(&o, version, m);
  if (o.w.err) return o.w.err;
  if (o.w.pos != total) return MOQC_ERR_INVAL; /* body not deterministic: a bug */
  return (ssize_t)total;
}

ssize_t moqc__lr_decode_msg(void *m, int version, const uint8_t *p, size_t len, lr_body_fn body) {
  if (!m || (!p && len)) return MOQC_ERR_INVAL;
  size_t off = 0, blen = 0;
  ssize_t total = moqc_lite_peek_msg(p, len, &off, &blen);
  if (total < 0) return total;
  moqc_reader r = moqc_reader_make(p + off, blen);
  if (body(&r, version, m) != MOQC_OK) return MOQC_ERR_DECODE;
  if (moqc_reader_left(&r) != 0) return MOQC_ERR_DECODE;
  return total;
}

/* ---- field helpers -------------------------------------------------------- */

size_t moqc__lite_path_segments(const uint8_t *s, size_t n) {
  size_t segs = 0;
  bool in = false;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '/') {
      in = false;
    } else if (!in) {
      in = true;
      segs++;
    }
  }
  return segs;
}

void moqc__lw_string(lw *w, moqc_bytes s, size_t max) {
  if (s.len && !s.ptr) {
    lw_fail(w, MOQC_ERR_INVAL);
  } else if (s.len > max || !moqc_utf8_valid(s.ptr, s.len)) {
    lw_fail(w, MOQC_ERR_INVAL);
  }
  lw_bytes(w, s);
}

void moqc__lw_path(lw *w, moqc_bytes s) {
  if (s.ptr && moqc__lite_path_segments(s.ptr, s.len) > MOQC_LITE_PATH_SEGMENTS) {
    lw_fail(w, MOQC_ERR_INVAL);
  }
  moqc__lw_string(w, s, MOQC_LITE_PATH_MAX);
}

int moqc__lr_opt_group(moqc_reader *r, uint64_t *g) {
  uint64_t v;
  int rc = moqc_read_varint(r, &v);
  if (rc) return rc;
  *g = v ? v - 1 : MOQC_LITE_GROUP_NONE;
  return MOQC_OK;
}

int moqc__lr_string(moqc_reader *r, size_t max, moqc_bytes *out) {
  return moqc_read_string(r, max, out);
}

int moqc__lr_path(moqc_reader *r, moqc_bytes *out) {
  int rc = moqc_read_string(r, MOQC_LITE_PATH_MAX, out);
  if (rc) return rc;
  if (moqc__lite_path_segments(out->ptr, out->len) > MOQC_LITE_PATH_SEGMENTS)
    return MOQC_ERR_DECODE;
  return MOQC_OK;
}

/* ---- GROUP header ----------------------------------------------------------- */

/* Single-pass header writers: validate and write in one go into a buffer of
 * the fixed maximum size (the per-subscriber, per-group / per-frame hot path,
 * and the codec entry points below). */

/* Varint at p; v is known to be <= MOQC_VARINT_MAX and p to have room. The
 * one- and two-byte forms (every frame size up to 16 KiB) are written inline:
 * this runs once per frame per subscriber. */
static inline size_t put_varint(uint8_t *p, uint64_t v) {
  if (v < (1u << 6)) {
    p[0] = (uint8_t)v;
    return 1;
  }
  if (v < (1u << 14)) {
    p[0] = (uint8_t)(0x40u | (v >> 8));
    p[1] = (uint8_t)v;
    return 2;
  }
  size_t n = moqc_varint_len(v);
  assert(n > 0);
  (void)moqc_varint_encode(p, n, v);
  return n;
}

/* Length | Subscribe | Sequence (the GROUP message without the stream type). */
static ssize_t group_msg(uint8_t *out, uint64_t subscribe, uint64_t sequence) {
  if (subscribe > MOQC_VARINT_MAX || sequence > MOQC_VARINT_MAX) return MOQC_ERR_OVERFLOW;
  size_t body = put_varint(out + 1, subscribe);
  body += put_varint(out + 1 + body, sequence);
  assert(body <= 16);
  out[0] = (uint8_t)body; /* <= 16: a one-byte length prefix */
  return (ssize_t)(1 + body);
}

ssize_t moqc__lite_group_hdr(uint8_t *out, uint64_t subscribe, uint64_t sequence) {
  out[0] = (uint8_t)MOQC_LITE_UNI_GROUP; /* stream type, one byte */
  ssize_t n = group_msg(out + 1, subscribe, sequence);
  return n < 0 ? n : n + 1;
}

ssize_t moqc_lite_group_encode(uint8_t *p, size_t cap, int version,
                               const struct moqc_lite_group *m) {
  if (!moqc_lite_version_valid(version) || !m) return MOQC_ERR_INVAL;
  uint8_t tmp[MOQC_LITE_GROUP_HDR_MAX];
  ssize_t n = group_msg(tmp, m->subscribe, m->sequence);
  if (n < 0 || !p) return n;
  if (cap < (size_t)n) return MOQC_ERR_BUFSIZE;
  memcpy(p, tmp, (size_t)n);
  return n;
}

static int group_read(moqc_reader *r, int version, void *mp) {
  struct moqc_lite_group *m = mp;
  (void)version;
  int rc = moqc_read_varint(r, &m->subscribe);
  if (!rc) rc = moqc_read_varint(r, &m->sequence);
  return rc;
}

ssize_t moqc_lite_group_decode(struct moqc_lite_group *m, int version, const uint8_t *p,
                               size_t len) {
  if (!moqc_lite_version_valid(version)) return MOQC_ERR_INVAL;
  return moqc__lr_decode_msg(m, version, p, len, group_read);
}

/* ---- FRAME header ------------------------------------------------------------ */

ssize_t moqc__lite_frame_hdr(uint8_t *out, int version, uint64_t prev_ts, uint64_t timestamp,
                             uint64_t size) {
  if (!moqc_lite_version_valid(version) || size > MOQC_LITE_FRAME_MAX) return MOQC_ERR_INVAL;
  size_t n = 0;
  if (moqc_lite_is_05(version)) {
    if (timestamp > MOQC_VARINT_MAX || prev_ts > MOQC_VARINT_MAX) return MOQC_ERR_OVERFLOW;
    /* Both are < 2^62, so the difference fits an int64. */
    int64_t delta = (int64_t)timestamp - (int64_t)prev_ts;
    const int64_t range = (int64_t)1 << 61;
    if (delta < -range || delta >= range) return MOQC_ERR_OVERFLOW;
    n = put_varint(out, moqc_zigzag_encode(delta));
  }
  n += put_varint(out + n, size);
  assert(n <= MOQC_LITE_FRAME_HDR_MAX);
  return (ssize_t)n;
}

ssize_t moqc_lite_frame_encode(uint8_t *p, size_t cap, int version, uint64_t prev_ts,
                               const struct moqc_lite_frame *m) {
  if (!m) return MOQC_ERR_INVAL;
  uint8_t tmp[MOQC_LITE_FRAME_HDR_MAX];
  ssize_t n = moqc__lite_frame_hdr(tmp, version, prev_ts, m->timestamp, m->size);
  if (n < 0 || !p) return n;
  if (cap < (size_t)n) return MOQC_ERR_BUFSIZE;
  memcpy(p, tmp, (size_t)n);
  return n;
}

ssize_t moqc_lite_frame_decode(struct moqc_lite_frame *m, int version, uint64_t prev_ts,
                               const uint8_t *p, size_t len) {
  if (!moqc_lite_version_valid(version) || !m || (!p && len)) return MOQC_ERR_INVAL;
  if (prev_ts > MOQC_VARINT_MAX) return MOQC_ERR_INVAL;
  moqc_reader r = moqc_reader_make(p, len);
  m->timestamp = 0;
  if (moqc_lite_is_05(version)) {
    uint64_t zz;
    int rc = moqc_read_varint(&r, &zz);
    if (rc) return rc;
    /* zz < 2^62 so delta is in [-2^61, 2^61); the sum cannot overflow int64. */
    int64_t ts = (int64_t)prev_ts + moqc_zigzag_decode(zz);
    if (ts < 0 || (uint64_t)ts > MOQC_VARINT_MAX) return MOQC_ERR_DECODE;
    m->timestamp = (uint64_t)ts;
  }
  int rc = moqc_read_varint(&r, &m->size);
  if (rc) return rc;
  if (m->size > MOQC_LITE_FRAME_MAX) return MOQC_ERR_TOO_LARGE;
  return (ssize_t)r.pos;
}

/* ---- DATAGRAM ------------------------------------------------------------------ */

static void datagram_body(lw *w, int version, const void *mp) {
  const struct moqc_lite_datagram *m = mp;
  (void)version;
  lw_varint(w, m->subscribe);
  lw_varint(w, m->sequence);
  lw_varint(w, m->timestamp);
  lw_raw(w, m->payload.ptr, m->payload.len);
}

ssize_t moqc_lite_datagram_encode(uint8_t *p, size_t cap, int version,
                                  const struct moqc_lite_datagram *m) {
  if (!moqc_lite_is_05(version)) return MOQC_ERR_INVAL;
  return moqc__lw_encode(p, cap, version, m, datagram_body, 0, 0);
}

ssize_t moqc_lite_datagram_decode(struct moqc_lite_datagram *m, int version, const uint8_t *p,
                                  size_t len) {
  if (!moqc_lite_is_05(version) || !m || (!p && len)) return MOQC_ERR_INVAL;
  if (len > (size_t)SSIZE_MAX) return MOQC_ERR_INVAL;
  moqc_reader r = moqc_reader_make(p, len);
  if (moqc_read_varint(&r, &m->subscribe) || moqc_read_varint(&r, &m->sequence) ||
      moqc_read_varint(&r, &m->timestamp)) {
    return MOQC_ERR_DECODE; /* datagrams arrive whole: a short header is malformed */
  }
  m->payload.ptr = p + r.pos;
  m->payload.len = len - r.pos;
  return (ssize_t)len;
}
