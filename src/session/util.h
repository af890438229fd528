/* moqc session — the core containers under the session's names, a growable
 * byte builder for message encoding. */
#ifndef MOQC_SESSION_UTIL_H
#define MOQC_SESSION_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/imap.h"
#include "core/list.h"
#include "core/smap.h"

/* ---- lists and maps: the core containers ------------------------------------
 * The session spells the core list (core/list.h) with its historic slist_
 * names; these are aliases, not a second list (the lead's global rename folds
 * them away). Maps: core/imap.h (by id) and core/smap.h (by path). */

typedef moqc_link slist;

#define SLIST_ENTRY MOQC_CONTAINER_OF
#define SLIST_FOREACH_SAFE MOQC_LIST_FOREACH_SAFE_DECL
#define slist_init moqc_link_init
#define slist_empty moqc_list_empty
#define slist_linked moqc_link_linked
#define slist_push_back moqc_list_push_back
#define slist_push_front moqc_list_push_front
#define slist_remove moqc_list_remove
#define slist_pop_front moqc_list_pop_front

/* ---- byte builder -------------------------------------------------------- */

typedef struct wbuf {
  uint8_t *p;
  size_t len, cap;
  int err; /* first error (NOMEM, encode error); later appends are no-ops */
  uint8_t small[256];
} wbuf;

void wbuf_init(wbuf *w);
void wbuf_free(wbuf *w);
/* Room for n more bytes at p + len; returns the pointer or NULL (err set). */
uint8_t *wbuf_reserve(wbuf *w, size_t n);
void wbuf_append(wbuf *w, const void *p, size_t n);
void wbuf_varint(wbuf *w, uint64_t v);

/* Append one encoded message: fn(NULL,0,...) sizes it, then it is written. */
#define WBUF_ENC(w, fn, ver, msg)                                   \
  do {                                                              \
    if ((w)->err) break;                                            \
    ssize_t n_ = fn(NULL, 0, (ver), (msg));                         \
    if (n_ < 0) {                                                   \
      (w)->err = (int)n_;                                           \
      break;                                                        \
    }                                                               \
    uint8_t *p_ = wbuf_reserve((w), (size_t)n_);                    \
    if (!p_) break;                                                 \
    n_ = fn(p_, (size_t)n_, (ver), (msg));                          \
    if (n_ < 0) {                                                   \
      (w)->err = (int)n_;                                           \
      break;                                                        \
    }                                                               \
    (w)->len += (size_t)n_;                                         \
  } while (0)

/* ---- hot-path header encoders -------------------------------------------------
 * Byte-identical to moqc_lite_frame_encode / moqc_lite_stream_type_encode +
 * moqc_lite_group_encode for valid input, without the codec's two-pass
 * sizing (they run once per frame / group on every subscriber's stream).
 * Return the length (out needs SESS_FRAME_HDR_MAX / SESS_GROUP_HDR_MAX bytes),
 * or 0 when the input needs the full codec (which then reports the error). */

#define SESS_FRAME_HDR_MAX 16u
#define SESS_GROUP_HDR_MAX 24u

size_t sess_frame_hdr(uint8_t *out, int version, uint64_t prev_ts, uint64_t timestamp,
                      uint64_t size);
size_t sess_group_hdr(uint8_t *out, uint64_t subscribe, uint64_t sequence);
/* The receiving side of sess_frame_hdr: a whole, valid frame header at p
 * (same result as moqc_lite_frame_decode) -> its length; 0 when the header is
 * incomplete or invalid (the codec then buffers it or reports the error). */
size_t sess_frame_hdr_decode(const uint8_t *p, size_t len, int version, uint64_t prev_ts,
                             uint64_t *timestamp, uint64_t *size);

#endif
