/* moqc core — QUIC varints (RFC 9000 §16), reader/writer cursors, UTF-8. */
#include "core/codec.h"

#include <string.h>

size_t moqc_varint_len(uint64_t v) {
  if (v < (1ull << 6)) return 1;
  if (v < (1ull << 14)) return 2;
  if (v < (1ull << 30)) return 4;
  if (v <= MOQC_VARINT_MAX) return 8;
  return 0;
}

ssize_t moqc_varint_encode(uint8_t *p, size_t cap, uint64_t v) {
  size_t n = moqc_varint_len(v);
  if (n == 0) return MOQC_ERR_OVERFLOW;
  if (cap < n) return MOQC_ERR_BUFSIZE;
  /* 2-bit length prefix: 00 = 1 byte, 01 = 2, 10 = 4, 11 = 8. */
  static const uint8_t prefix[9] = {0, 0x00, 0x40, 0, 0x80, 0, 0, 0, 0xc0};
  for (size_t i = n; i-- > 0;) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
  p[0] |= prefix[n];
  return (ssize_t)n;
}

ssize_t moqc_varint_decode(uint64_t *v, const uint8_t *p, size_t len) {
  if (len == 0) return MOQC_ERR_NEED_MORE;
  size_t n = (size_t)1 << (p[0] >> 6);
  if (len < n) return MOQC_ERR_NEED_MORE;
  uint64_t x = p[0] & 0x3f;
  for (size_t i = 1; i < n; i++) x = (x << 8) | p[i];
  if (v) *v = x;
  return (ssize_t)n;
}

/* ---- reader ------------------------------------------------------------- */

/* Current position; a NULL base with len 0 stays NULL (no offset on NULL). */
static const uint8_t *rd_cur(const moqc_reader *r) { return r->p ? r->p + r->pos : NULL; }

int moqc_read_varint(moqc_reader *r, uint64_t *v) {
  ssize_t n = moqc_varint_decode(v, rd_cur(r), moqc_reader_left(r));
  if (n < 0) return (int)n;
  r->pos += (size_t)n;
  return MOQC_OK;
}

int moqc_read_varint_max(moqc_reader *r, uint64_t max, uint64_t *v) {
  uint64_t x;
  ssize_t n = moqc_varint_decode(&x, rd_cur(r), moqc_reader_left(r));
  if (n < 0) return (int)n;
  if (x > max) return MOQC_ERR_DECODE;
  r->pos += (size_t)n;
  if (v) *v = x;
  return MOQC_OK;
}

int moqc_read_u8(moqc_reader *r, uint8_t *v) {
  if (moqc_reader_left(r) < 1) return MOQC_ERR_NEED_MORE;
  if (v) *v = r->p[r->pos];
  r->pos += 1;
  return MOQC_OK;
}

int moqc_read_u16be(moqc_reader *r, uint16_t *v) {
  if (moqc_reader_left(r) < 2) return MOQC_ERR_NEED_MORE;
  if (v) *v = (uint16_t)((unsigned)r->p[r->pos] << 8 | r->p[r->pos + 1]);
  r->pos += 2;
  return MOQC_OK;
}

int moqc_read_raw(moqc_reader *r, size_t n, moqc_bytes *out) {
  if (moqc_reader_left(r) < n) return MOQC_ERR_NEED_MORE;
  if (out) {
    out->ptr = rd_cur(r);
    out->len = n;
  }
  r->pos += n;
  return MOQC_OK;
}

int moqc_read_bytes(moqc_reader *r, size_t max, moqc_bytes *out) {
  uint64_t n;
  ssize_t hl = moqc_varint_decode(&n, rd_cur(r), moqc_reader_left(r));
  if (hl < 0) return (int)hl;
  if (n > max) return MOQC_ERR_DECODE;
  if (moqc_reader_left(r) - (size_t)hl < n) return MOQC_ERR_NEED_MORE;
  r->pos += (size_t)hl;
  return moqc_read_raw(r, (size_t)n, out);
}

int moqc_read_string(moqc_reader *r, size_t max, moqc_bytes *out) {
  moqc_reader tmp = *r;
  moqc_bytes b;
  int rc = moqc_read_bytes(&tmp, max, &b);
  if (rc < 0) return rc;
  if (!moqc_utf8_valid(b.ptr, b.len)) return MOQC_ERR_DECODE;
  *r = tmp;
  if (out) *out = b;
  return MOQC_OK;
}

/* ---- writer ------------------------------------------------------------- */

/* Reserve n bytes; poisons the writer if they do not fit. */
static uint8_t *writer_take(moqc_writer *w, size_t n) {
  if (w->err) return NULL;
  if (w->cap - w->pos < n) {
    w->err = MOQC_ERR_BUFSIZE;
    return NULL;
  }
  if (!w->p) return NULL; /* only reachable with n == 0 and cap == 0 */
  uint8_t *p = w->p + w->pos;
  w->pos += n;
  return p;
}

void moqc_write_varint(moqc_writer *w, uint64_t v) {
  if (w->err) return;
  size_t n = moqc_varint_len(v);
  if (n == 0) {
    w->err = MOQC_ERR_OVERFLOW;
    return;
  }
  uint8_t *p = writer_take(w, n);
  if (p) moqc_varint_encode(p, n, v);
}

void moqc_write_u8(moqc_writer *w, uint8_t v) {
  uint8_t *p = writer_take(w, 1);
  if (p) p[0] = v;
}

void moqc_write_u16be(moqc_writer *w, uint16_t v) {
  uint8_t *p = writer_take(w, 2);
  if (p) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
  }
}

void moqc_write_raw(moqc_writer *w, const void *src, size_t n) {
  uint8_t *p = writer_take(w, n);
  if (p && n) memcpy(p, src, n);
}

void moqc_write_bytes(moqc_writer *w, const void *src, size_t n) {
  moqc_write_varint(w, (uint64_t)n);
  moqc_write_raw(w, src, n);
}

/* ---- UTF-8 (Unicode 15, table 3-7: well-formed byte sequences) ----------- */

bool moqc_utf8_valid(const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = p[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t need;
    uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c == 0xe0) lo = 0xa0;      /* no overlongs */
      else if (c == 0xed) hi = 0x9f; /* no surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c == 0xf0) lo = 0x90;      /* no overlongs */
      else if (c == 0xf4) hi = 0x8f; /* <= U+10FFFF */
    } else {
      return false; /* continuation byte, overlong 0xc0/0xc1, or > 0xf4 */
    }
    if (n - i - 1 < need) return false;
    if (p[i + 1] < lo || p[i + 1] > hi) return false;
    for (size_t k = 2; k <= need; k++)
      if ((p[i + k] & 0xc0) != 0x80) return false;
    i += need + 1;
  }
  return true;
}
