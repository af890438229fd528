/* moqc transport — HTTP/3 and WebTransport wire codecs. See h3_codec.h. */
#include "webtransport/h3_codec.h"

#include <string.h>

/* ---- frame header --------------------------------------------------------- */

ssize_t moqc_h3_frame_hdr_decode(moqc_h3_frame_hdr *h, const uint8_t *p, size_t len) {
  ssize_t a = moqc_varint_decode(&h->type, p, len);
  if (a < 0) return a;
  ssize_t b = moqc_varint_decode(&h->len, p + a, len - (size_t)a);
  if (b < 0) return b;
  return a + b;
}

ssize_t moqc_h3_frame_hdr_encode(uint8_t *p, size_t cap, uint64_t type, uint64_t len) {
  moqc_writer w = moqc_writer_make(p, cap);
  moqc_write_varint(&w, type);
  moqc_write_varint(&w, len);
  return w.err ? w.err : (ssize_t)w.pos;
}

ssize_t moqc_h3_dec_frame_hdr(void *out, const uint8_t *p, size_t len) {
  return moqc_h3_frame_hdr_decode(out, p, len);
}

/* ---- SETTINGS --------------------------------------------------------------- */

typedef struct setting_slot {
  uint64_t id;
  uint32_t bit;
  size_t off;
  bool boolean; /* value must be 0 or 1 */
} setting_slot;

#define SLOT(id, bit, field, b) \
  { id, bit, offsetof(moqc_h3_settings, field), b }
static const setting_slot k_slots[] = {
    SLOT(MOQC_H3_SETTING_QPACK_MAX_TABLE_CAPACITY, MOQC_H3_SEEN_QPACK_CAP, qpack_max_table_capacity,
         false),
    SLOT(MOQC_H3_SETTING_MAX_FIELD_SECTION_SIZE, MOQC_H3_SEEN_MAX_FIELD_SECTION,
         max_field_section_size, false),
    SLOT(MOQC_H3_SETTING_QPACK_BLOCKED_STREAMS, MOQC_H3_SEEN_QPACK_BLOCKED, qpack_blocked_streams,
         false),
    SLOT(MOQC_H3_SETTING_ENABLE_CONNECT_PROTOCOL, MOQC_H3_SEEN_CONNECT_PROTOCOL,
         enable_connect_protocol, true),
    SLOT(MOQC_H3_SETTING_H3_DATAGRAM, MOQC_H3_SEEN_DATAGRAM, h3_datagram, true),
    SLOT(MOQC_H3_SETTING_H3_DATAGRAM_DRAFT04, MOQC_H3_SEEN_DATAGRAM_DRAFT04, h3_datagram_draft04,
         true),
    SLOT(MOQC_H3_SETTING_WT_ENABLE_DRAFT02, MOQC_H3_SEEN_WT_ENABLE_DRAFT02, wt_enable_draft02,
         false),
    SLOT(MOQC_H3_SETTING_WT_MAX_SESSIONS_DRAFT02, MOQC_H3_SEEN_WT_MAX_SESSIONS_DRAFT02,
         wt_max_sessions_draft02, false),
    SLOT(MOQC_H3_SETTING_WT_MAX_SESSIONS, MOQC_H3_SEEN_WT_MAX_SESSIONS, wt_max_sessions, false),
};
#undef SLOT

static int settings_put(moqc_h3_settings *s, uint64_t id, uint64_t v, uint64_t *seen_other,
                        size_t *n_other, uint64_t *h3_err) {
  /* HTTP/2 settings without an HTTP/3 meaning (RFC 9114 §7.2.4.1). */
  if (id >= 0x02 && id <= 0x05) goto bad;
  for (size_t i = 0; i < sizeof k_slots / sizeof k_slots[0]; i++) {
    const setting_slot *sl = &k_slots[i];
    if (sl->id != id) continue;
    if (s->seen & sl->bit) goto bad;
    if (sl->boolean && v > 1) goto bad;
    s->seen |= sl->bit;
    memcpy((char *)s + sl->off, &v, sizeof v);
    return MOQC_OK;
  }
  /* Unknown or grease: ignored, but a duplicate is still an error. Only a
   * small window of recent unknown ids is kept, enough to catch the obvious. */
  for (size_t i = 0; i < *n_other && i < 8; i++)
    if (seen_other[i] == id) goto bad;
  if (*n_other < 8) seen_other[*n_other] = id;
  (*n_other)++;
  return MOQC_OK;
bad:
  *h3_err = MOQC_H3_SETTINGS_ERROR;
  return MOQC_ERR_DECODE;
}

ssize_t moqc_h3_settings_decode(moqc_h3_settings *s, const uint8_t *p, size_t len,
                                uint64_t *h3_err) {
  memset(s, 0, sizeof *s);
  uint64_t other[8];
  size_t n_other = 0, count = 0;
  moqc_reader r = moqc_reader_make(p, len);
  while (moqc_reader_left(&r) > 0) {
    uint64_t id, v;
    if (moqc_read_varint(&r, &id) != MOQC_OK || moqc_read_varint(&r, &v) != MOQC_OK) {
      *h3_err = MOQC_H3_FRAME_ERROR;
      return MOQC_ERR_DECODE;
    }
    if (++count > MOQC_H3_MAX_SETTINGS_COUNT) {
      *h3_err = MOQC_H3_SETTINGS_ERROR;
      return MOQC_ERR_DECODE;
    }
    if (settings_put(s, id, v, other, &n_other, h3_err) != MOQC_OK) return MOQC_ERR_DECODE;
  }
  return (ssize_t)len;
}

ssize_t moqc_h3_settings_encode_frame(uint8_t *p, size_t cap, uint64_t max_sessions) {
  const uint64_t pairs[][2] = {
      {MOQC_H3_SETTING_QPACK_MAX_TABLE_CAPACITY, 0},
      {MOQC_H3_SETTING_QPACK_BLOCKED_STREAMS, 0},
      {MOQC_H3_SETTING_ENABLE_CONNECT_PROTOCOL, 1},
      {MOQC_H3_SETTING_H3_DATAGRAM, 1},
      {MOQC_H3_SETTING_H3_DATAGRAM_DRAFT04, 1},
      {MOQC_H3_SETTING_WT_ENABLE_DRAFT02, 1},
      {MOQC_H3_SETTING_WT_MAX_SESSIONS_DRAFT02, max_sessions},
      {MOQC_H3_SETTING_WT_MAX_SESSIONS, max_sessions},
  };
  uint8_t tmp[96];
  moqc_writer w = moqc_writer_make(tmp, sizeof tmp);
  for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
    moqc_write_varint(&w, pairs[i][0]);
    moqc_write_varint(&w, pairs[i][1]);
  }
  if (w.err) return w.err;
  moqc_writer o = moqc_writer_make(p, cap);
  moqc_write_varint(&o, MOQC_H3_FRAME_SETTINGS);
  moqc_write_varint(&o, w.pos);
  moqc_write_raw(&o, tmp, w.pos);
  return o.err ? o.err : (ssize_t)o.pos;
}

bool moqc_h3_settings_datagrams(const moqc_h3_settings *s) {
  return ((s->seen & MOQC_H3_SEEN_DATAGRAM) && s->h3_datagram == 1) ||
         ((s->seen & MOQC_H3_SEEN_DATAGRAM_DRAFT04) && s->h3_datagram_draft04 == 1);
}

uint64_t moqc_h3_settings_wt_sessions(const moqc_h3_settings *s) {
  if (!moqc_h3_settings_datagrams(s)) return 0;
  if (s->seen & MOQC_H3_SEEN_WT_MAX_SESSIONS) return s->wt_max_sessions;
  if (!(s->seen & MOQC_H3_SEEN_WT_ENABLE_DRAFT02) || s->wt_enable_draft02 != 1) return 0;
  /* Draft-02: only a server limits sessions; absent means one. */
  if (s->seen & MOQC_H3_SEEN_WT_MAX_SESSIONS_DRAFT02) return s->wt_max_sessions_draft02;
  return 1;
}

/* ---- stream prefixes -------------------------------------------------------- */

ssize_t moqc_wt_prefix_decode(moqc_wt_prefix *out, bool bidi, const uint8_t *p, size_t len) {
  ssize_t a = moqc_varint_decode(&out->type, p, len);
  if (a < 0) return a;
  out->session_id = 0;
  uint64_t want = bidi ? MOQC_H3_FRAME_WT_STREAM : MOQC_H3_STREAM_WT_UNI;
  if (out->type != want) return bidi ? 0 : a;
  ssize_t b = moqc_varint_decode(&out->session_id, p + a, len - (size_t)a);
  if (b < 0) return b;
  return a + b;
}

ssize_t moqc_wt_dec_prefix_uni(void *out, const uint8_t *p, size_t len) {
  return moqc_wt_prefix_decode(out, false, p, len);
}

ssize_t moqc_wt_dec_prefix_bidi(void *out, const uint8_t *p, size_t len) {
  return moqc_wt_prefix_decode(out, true, p, len);
}

ssize_t moqc_wt_prefix_encode(uint8_t *p, size_t cap, bool bidi, uint64_t session_id) {
  return moqc_h3_frame_hdr_encode(p, cap, bidi ? MOQC_H3_FRAME_WT_STREAM : MOQC_H3_STREAM_WT_UNI,
                                  session_id);
}

/* ---- datagrams ------------------------------------------------------------- */

ssize_t moqc_wt_datagram_prefix_encode(uint8_t *p, size_t cap, uint64_t session_id) {
  moqc_writer w = moqc_writer_make(p, cap);
  moqc_write_varint(&w, session_id / 4);
  return w.err ? w.err : (ssize_t)w.pos;
}

ssize_t moqc_wt_datagram_prefix_decode(uint64_t *session_id, const uint8_t *p, size_t len) {
  uint64_t q;
  ssize_t a = moqc_varint_decode(&q, p, len);
  if (a < 0) return MOQC_ERR_DECODE;
  if (q > MOQC_VARINT_MAX / 4) return MOQC_ERR_DECODE;
  *session_id = q * 4;
  return a;
}

/* ---- capsules ---------------------------------------------------------------- */

int moqc_capsule_parse_payload(moqc_capsule *c, uint64_t type, const uint8_t *p, size_t len) {
  memset(c, 0, sizeof *c);
  c->type = type;
  c->payload.ptr = p;
  c->payload.len = len;
  if (type == MOQC_CAPSULE_CLOSE_WT_SESSION) {
    if (len < 4 || len - 4 > MOQC_WT_CLOSE_REASON_MAX) return MOQC_ERR_DECODE;
    c->code = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    c->reason.ptr = p + 4;
    c->reason.len = len - 4;
    if (!moqc_utf8_valid(c->reason.ptr, c->reason.len)) return MOQC_ERR_DECODE;
  } else if (type == MOQC_CAPSULE_DRAIN_WT_SESSION) {
    if (len != 0) return MOQC_ERR_DECODE;
  }
  return MOQC_OK;
}

ssize_t moqc_capsule_decode(moqc_capsule *c, const uint8_t *p, size_t len, size_t max_payload) {
  moqc_h3_frame_hdr h;
  ssize_t a = moqc_h3_frame_hdr_decode(&h, p, len);
  if (a < 0) return a;
  if (h.len > max_payload) return MOQC_ERR_DECODE;
  if (h.len > len - (size_t)a) return MOQC_ERR_NEED_MORE;
  if (moqc_capsule_parse_payload(c, h.type, p + a, (size_t)h.len) != MOQC_OK)
    return MOQC_ERR_DECODE;
  return a + (ssize_t)h.len;
}

/* Longest prefix of s[0..n) that ends on a UTF-8 character boundary. */
static size_t utf8_cut(const char *s, size_t n, size_t max) {
  if (n <= max) return n;
  size_t k = max;
  while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80) k--;
  return k;
}

static ssize_t capsule_data_frame(uint8_t *p, size_t cap, uint64_t type, const uint8_t *pre,
                                  size_t pre_len, const char *body, size_t body_len) {
  size_t clen = pre_len + body_len;
  size_t inner = moqc_varint_len(type) + moqc_varint_len(clen) + clen;
  moqc_writer w = moqc_writer_make(p, cap);
  moqc_write_varint(&w, MOQC_H3_FRAME_DATA);
  moqc_write_varint(&w, inner);
  moqc_write_varint(&w, type);
  moqc_write_varint(&w, clen);
  moqc_write_raw(&w, pre, pre_len);
  moqc_write_raw(&w, body, body_len);
  return w.err ? w.err : (ssize_t)w.pos;
}

ssize_t moqc_capsule_close_encode_data_frame(uint8_t *p, size_t cap, uint32_t code,
                                             const char *reason) {
  size_t n = reason ? strlen(reason) : 0;
  n = utf8_cut(reason, n, MOQC_WT_CLOSE_REASON_MAX);
  uint8_t be[4] = {(uint8_t)(code >> 24), (uint8_t)(code >> 16), (uint8_t)(code >> 8),
                   (uint8_t)code};
  return capsule_data_frame(p, cap, MOQC_CAPSULE_CLOSE_WT_SESSION, be, 4, reason, n);
}

ssize_t moqc_capsule_drain_encode_data_frame(uint8_t *p, size_t cap) {
  return capsule_data_frame(p, cap, MOQC_CAPSULE_DRAIN_WT_SESSION, NULL, 0, NULL, 0);
}

/* ---- error-code mapping -------------------------------------------------------- */

uint64_t moqc_wt_code_to_h3(uint64_t code) {
  if (code > UINT32_MAX) code = UINT32_MAX;
  return MOQC_WT_H3_ERROR_FIRST + code + code / 0x1e;
}

bool moqc_wt_code_from_h3(uint64_t h3, uint64_t *code) {
  if (h3 < MOQC_WT_H3_ERROR_FIRST || h3 > MOQC_WT_H3_ERROR_LAST) return false;
  uint64_t c = h3 - MOQC_WT_H3_ERROR_FIRST;
  if (c % 0x1f == 0x1e) return false; /* reserved (grease) code point */
  *code = c - c / 0x1f;
  return true;
}

/* ---- accumulator ------------------------------------------------------------- */

ssize_t moqc_h3_acc_feed(moqc_h3_acc *a, moqc_h3_hdr_dec_fn dec, void *out, const uint8_t *p,
                         size_t len, size_t *used, uint8_t *replay, size_t *replay_len) {
  *replay_len = 0;
  if (a->len == 0) {
    ssize_t r = dec(out, p, len);
    if (r >= 0) {
      *used = (size_t)r;
      return r;
    }
    if (r != MOQC_ERR_NEED_MORE) return r;
    if (len >= MOQC_H3_HDR_MAX) return MOQC_ERR_DECODE;
    memcpy(a->buf, p, len);
    a->len = (uint8_t)len;
    *used = len;
    return MOQC_ERR_NEED_MORE;
  }
  size_t held = a->len;
  size_t k = len < MOQC_H3_HDR_MAX - held ? len : MOQC_H3_HDR_MAX - held;
  memcpy(a->buf + held, p, k);
  ssize_t r = dec(out, a->buf, held + k);
  if (r == MOQC_ERR_NEED_MORE) {
    if (held + k >= MOQC_H3_HDR_MAX) return MOQC_ERR_DECODE;
    a->len = (uint8_t)(held + k);
    *used = len;
    return r;
  }
  if (r < 0) return r;
  a->len = 0;
  if ((size_t)r >= held) {
    *used = (size_t)r - held;
  } else {
    *replay_len = held - (size_t)r;
    memcpy(replay, a->buf + r, *replay_len);
    *used = 0;
  }
  return r;
}
