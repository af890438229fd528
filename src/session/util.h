/* moqc session — small internal containers: intrusive lists, an intrusive
 * hash map, a growable byte builder for message encoding. */
#ifndef MOQC_SESSION_UTIL_H
#define MOQC_SESSION_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- intrusive doubly-linked list (circular, with a head node) ----------- */

typedef struct slist {
  struct slist *prev, *next;
} slist;

#define SLIST_ENTRY(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static inline void slist_init(slist *l) { l->prev = l->next = l; }
static inline bool slist_empty(const slist *l) { return l->next == l; }
/* True if n is linked into some list (nodes are initialised unlinked). */
static inline bool slist_linked(const slist *n) { return n->next != n; }
static inline void slist_push_back(slist *head, slist *n) {
  n->prev = head->prev;
  n->next = head;
  head->prev->next = n;
  head->prev = n;
}
static inline void slist_push_front(slist *head, slist *n) {
  n->next = head->next;
  n->prev = head;
  head->next->prev = n;
  head->next = n;
}
static inline void slist_remove(slist *n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  slist_init(n);
}
static inline slist *slist_pop_front(slist *head) {
  if (slist_empty(head)) return NULL;
  slist *n = head->next;
  slist_remove(n);
  return n;
}

/* Safe iteration (the current node may be removed). */
#define SLIST_FOREACH_SAFE(it, nxt, head) \
  for (slist *it = (head)->next, *nxt = it->next; it != (head); it = nxt, nxt = it->next)

/* ---- intrusive hash map (chained, power-of-two buckets) ------------------ */

typedef struct hnode {
  struct hnode *next;
  uint64_t h;
} hnode;

typedef struct hmap {
  hnode **b;
  size_t nb; /* power of two, or 0 before the first insert */
  size_t n;
} hmap;

void hmap_init(hmap *m);
void hmap_free(hmap *m); /* frees the bucket array only */
/* Insert n with hash h (duplicates allowed; the caller checks first).
 * MOQC_ERR_NOMEM only if the very first bucket array cannot be allocated. */
int hmap_insert(hmap *m, hnode *n, uint64_t h);
void hmap_remove(hmap *m, hnode *n);
/* First node with hash h, then hmap_next for the following ones. */
hnode *hmap_first(const hmap *m, uint64_t h);
hnode *hmap_next(const hnode *n, uint64_t h);
/* Iterate every node: i starts at 0; returns NULL at the end. Not safe
 * against removal of other nodes; collect first if needed. */
hnode *hmap_iter(const hmap *m, size_t *bucket, hnode *prev);

uint64_t hash_u64(uint64_t v);
uint64_t hash_str(const char *s, size_t len);

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
