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

#endif
