/* moqc core — QUIC varints and cursor-style codecs (internal).
 *
 * Decoders are pure: they take (p, len) and return
 *   > 0 / >= 0  number of bytes consumed,
 *   MOQC_ERR_NEED_MORE  the input is a valid prefix; call again with more bytes,
 *   MOQC_ERR_DECODE     the input is malformed.
 * They never allocate and never keep pointers into the input unless the output
 * type says so (moqc_bytes points INTO the input).
 *
 * The reader/writer cursors below are the building blocks every wire message
 * codec uses.
 */
#ifndef MOQC_CORE_CODEC_H
#define MOQC_CORE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "moqc/error.h"

#define MOQC_VARINT_MAX ((uint64_t)0x3fffffffffffffffULL)

/* Bytes needed to encode v minimally (1, 2, 4 or 8); 0 if v > MOQC_VARINT_MAX. */
size_t moqc_varint_len(uint64_t v);

/* Encode v minimally into p (cap bytes). Returns bytes written,
 * MOQC_ERR_OVERFLOW if v > 2^62-1, MOQC_ERR_BUFSIZE if cap is too small. */
ssize_t moqc_varint_encode(uint8_t *p, size_t cap, uint64_t v);

/* Decode a varint (non-minimal encodings accepted). Returns bytes consumed
 * or MOQC_ERR_NEED_MORE. Never MOQC_ERR_DECODE (every prefix is valid). */
ssize_t moqc_varint_decode(uint64_t *v, const uint8_t *p, size_t len);

/* A borrowed byte range (points into someone else's memory). */
typedef struct moqc_bytes {
  const uint8_t *ptr;
  size_t len;
} moqc_bytes;

/* ---- reader cursor ----------------------------------------------------- */

/* A reader over [p, p+len). All getters return MOQC_OK, MOQC_ERR_NEED_MORE
 * (not enough bytes: the reader is left unchanged) or MOQC_ERR_DECODE.
 * Once a getter fails the caller should stop; pos is only advanced on success. */
typedef struct moqc_reader {
  const uint8_t *p;
  size_t len;
  size_t pos;
} moqc_reader;

static inline moqc_reader moqc_reader_make(const uint8_t *p, size_t len) {
  moqc_reader r = {p, len, 0};
  return r;
}
static inline size_t moqc_reader_left(const moqc_reader *r) { return r->len - r->pos; }

int moqc_read_varint(moqc_reader *r, uint64_t *v);
/* Read a varint that must fit the given maximum, else MOQC_ERR_DECODE. */
int moqc_read_varint_max(moqc_reader *r, uint64_t max, uint64_t *v);
int moqc_read_u8(moqc_reader *r, uint8_t *v);
int moqc_read_u16be(moqc_reader *r, uint16_t *v);
/* Read exactly n raw bytes (borrowed). */
int moqc_read_raw(moqc_reader *r, size_t n, moqc_bytes *out);
/* Read varint length + bytes (borrowed); length > max is MOQC_ERR_DECODE. */
int moqc_read_bytes(moqc_reader *r, size_t max, moqc_bytes *out);
/* Like moqc_read_bytes, and the bytes must be valid UTF-8. */
int moqc_read_string(moqc_reader *r, size_t max, moqc_bytes *out);

/* ---- writer cursor ----------------------------------------------------- */

/* A writer into [p, p+cap). Once an operation fails (buffer too small, value
 * out of range) the writer is poisoned (err set) and further writes are no-ops,
 * so a message encoder can check once at the end. */
typedef struct moqc_writer {
  uint8_t *p;
  size_t cap;
  size_t pos;
  int err;
} moqc_writer;

static inline moqc_writer moqc_writer_make(uint8_t *p, size_t cap) {
  moqc_writer w = {p, cap, 0, 0};
  return w;
}

void moqc_write_varint(moqc_writer *w, uint64_t v);
void moqc_write_u8(moqc_writer *w, uint8_t v);
void moqc_write_u16be(moqc_writer *w, uint16_t v);
void moqc_write_raw(moqc_writer *w, const void *p, size_t n);
/* varint length + bytes */
void moqc_write_bytes(moqc_writer *w, const void *p, size_t n);

/* True if p[0..n) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool moqc_utf8_valid(const uint8_t *p, size_t n);

/* zigzag for signed deltas (lite-05 frame timestamps). */
static inline uint64_t moqc_zigzag_encode(int64_t n) {
  return ((uint64_t)n << 1) ^ (uint64_t)(n >> 63);
}
static inline int64_t moqc_zigzag_decode(uint64_t u) {
  return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

#endif
