/* moqc session — small internal containers (see util.h). */
#include "session/util.h"

#include <string.h>

#include "core/codec.h"
#include "core/lite_wire.h"
#include "core/mem.h"
#include "moqc/error.h"

/* ---- hash map ------------------------------------------------------------- */

void hmap_init(hmap *m) {
  m->b = NULL;
  m->nb = 0;
  m->n = 0;
}

void hmap_free(hmap *m) {
  moqc_free(m->b);
  hmap_init(m);
}

static void hmap_grow(hmap *m) {
  size_t nb = m->nb * 2;
  hnode **b = moqc_calloc(nb, sizeof *b);
  if (!b) return; /* keep the old table: longer chains, still correct */
  for (size_t i = 0; i < m->nb; i++) {
    hnode *n = m->b[i];
    while (n) {
      hnode *next = n->next;
      size_t j = (size_t)n->h & (nb - 1);
      n->next = b[j];
      b[j] = n;
      n = next;
    }
  }
  moqc_free(m->b);
  m->b = b;
  m->nb = nb;
}

int hmap_insert(hmap *m, hnode *n, uint64_t h) {
  if (!m->b) {
    m->b = moqc_calloc(16, sizeof *m->b);
    if (!m->b) return MOQC_ERR_NOMEM;
    m->nb = 16;
  } else if (m->n >= m->nb * 2 && m->nb < ((size_t)1 << 24)) {
    hmap_grow(m);
  }
  n->h = h;
  size_t i = (size_t)h & (m->nb - 1);
  n->next = m->b[i];
  m->b[i] = n;
  m->n++;
  return MOQC_OK;
}

void hmap_remove(hmap *m, hnode *n) {
  if (!m->b) return;
  hnode **pp = &m->b[(size_t)n->h & (m->nb - 1)];
  while (*pp) {
    if (*pp == n) {
      *pp = n->next;
      n->next = NULL;
      m->n--;
      return;
    }
    pp = &(*pp)->next;
  }
}

hnode *hmap_first(const hmap *m, uint64_t h) {
  if (!m->b) return NULL;
  hnode *n = m->b[(size_t)h & (m->nb - 1)];
  while (n && n->h != h) n = n->next;
  return n;
}

hnode *hmap_next(const hnode *n, uint64_t h) {
  hnode *x = n->next;
  while (x && x->h != h) x = x->next;
  return x;
}

hnode *hmap_iter(const hmap *m, size_t *bucket, hnode *prev) {
  if (!m->b) return NULL;
  if (prev && prev->next) return prev->next;
  size_t i = prev ? *bucket + 1 : *bucket;
  for (; i < m->nb; i++) {
    if (m->b[i]) {
      *bucket = i;
      return m->b[i];
    }
  }
  *bucket = m->nb;
  return NULL;
}

uint64_t hash_u64(uint64_t v) {
  v ^= v >> 33;
  v *= 0xff51afd7ed558ccdULL;
  v ^= v >> 33;
  v *= 0xc4ceb9fe1a85ec53ULL;
  v ^= v >> 33;
  return v;
}

uint64_t hash_str(const char *s, size_t len) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < len; i++) {
    h ^= (uint8_t)s[i];
    h *= 0x100000001b3ULL;
  }
  return hash_u64(h);
}

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
