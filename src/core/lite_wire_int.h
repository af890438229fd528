/* moqc core — private helpers shared by the lite_wire*.c codecs.
 *
 * Encoding is two-pass over the same body function: a counting pass (no
 * output; validates and measures) then, if the caller gave a buffer, a
 * writing pass. The counting writer is a moqc_writer with p == NULL whose pos
 * only accumulates sizes; the lw_* wrappers below never touch p in that mode.
 */
#ifndef MOQC_CORE_LITE_WIRE_INT_H
#define MOQC_CORE_LITE_WIRE_INT_H

#include "core/lite_wire.h"

typedef struct lw {
  moqc_writer w; /* w.p == NULL: counting pass */
} lw;

static inline bool lw_counting(const lw *w) { return w->w.p == NULL; }

/* Poison the writer with err (first error wins). */
static inline void lw_fail(lw *w, int err) {
  if (!w->w.err) w->w.err = err;
}

static inline void lw_varint(lw *w, uint64_t v) {
  if (w->w.err) return;
  if (v > MOQC_VARINT_MAX) {
    lw_fail(w, MOQC_ERR_OVERFLOW);
  } else if (lw_counting(w)) {
    w->w.pos += moqc_varint_len(v);
  } else {
    moqc_write_varint(&w->w, v);
  }
}

static inline void lw_u8(lw *w, uint8_t v) {
  if (w->w.err) return;
  if (lw_counting(w)) {
    w->w.pos += 1;
  } else {
    moqc_write_u8(&w->w, v);
  }
}

static inline void lw_raw(lw *w, const void *p, size_t n) {
  if (w->w.err) return;
  if (n == 0) return; /* never hand a possibly-NULL pointer to memcpy */
  if (!p) {
    lw_fail(w, MOQC_ERR_INVAL);
  } else if (lw_counting(w)) {
    w->w.pos += n;
  } else {
    moqc_write_raw(&w->w, p, n);
  }
}

/* varint length + raw bytes. */
static inline void lw_bytes(lw *w, moqc_bytes b) {
  lw_varint(w, b.len);
  lw_raw(w, b.ptr, b.len);
}

/* Optional group: NONE -> 0, g -> g+1 (OVERFLOW if g+1 > 2^62-1). */
static inline void lw_opt_group(lw *w, uint64_t g) {
  if (g == MOQC_LITE_GROUP_NONE) {
    lw_varint(w, 0);
  } else if (g >= MOQC_VARINT_MAX) {
    lw_fail(w, MOQC_ERR_OVERFLOW);
  } else {
    lw_varint(w, g + 1);
  }
}

/* A UTF-8 string of at most max bytes (INVAL otherwise). */
void moqc__lw_string(lw *w, moqc_bytes s, size_t max);
/* A broadcast path / prefix / suffix: UTF-8, <= MOQC_LITE_PATH_MAX bytes,
 * <= MOQC_LITE_PATH_SEGMENTS non-empty segments (INVAL otherwise). */
void moqc__lw_path(lw *w, moqc_bytes s);

/* A body encoder: writes the message body (no length) for `version`. */
typedef void (*lw_body_fn)(lw *w, int version, const void *m);

/* moqc__lw_encode flags */
#define LW_TYPED 1u  /* a `type` varint precedes the message */
#define LW_FRAMED 2u /* the body is length-prefixed (bounded by MOQC_LITE_MSG_MAX) */

/* Encode `[type varint] | [length varint] | body` per flags. Checks the
 * version is valid (not that the message exists in it: callers do). Returns
 * bytes written (the size if p == NULL) or a negative moqc_err. */
ssize_t moqc__lw_encode(uint8_t *p, size_t cap, int version, const void *m, lw_body_fn body,
                        unsigned flags, uint64_t type);

/* ---- decoding ---------------------------------------------------------- */

/* Read an optional group (0 -> NONE, v -> v-1). */
int moqc__lr_opt_group(moqc_reader *r, uint64_t *g);
/* Read a UTF-8 string of at most max bytes (borrowed). */
int moqc__lr_string(moqc_reader *r, size_t max, moqc_bytes *out);
/* Read a path: UTF-8, <= MOQC_LITE_PATH_MAX bytes, <= 32 segments. */
int moqc__lr_path(moqc_reader *r, moqc_bytes *out);

/* Number of non-empty '/'-separated segments in s. */
size_t moqc__lite_path_segments(const uint8_t *s, size_t n);

/* A body decoder over exactly the declared body. Any error is reported as
 * MOQC_ERR_DECODE by moqc__lr_decode_msg (a complete body cannot "need more"). */
typedef int (*lr_body_fn)(moqc_reader *r, int version, void *m);

/* Decode `length varint | body` at p (no type prefix): NEED_MORE / DECODE /
 * total consumed. Leftover body bytes are DECODE. */
ssize_t moqc__lr_decode_msg(void *m, int version, const uint8_t *p, size_t len, lr_body_fn body);

#endif
