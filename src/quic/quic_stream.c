/* moqc transport — stream send queues, scheduler heap, hash maps. See quic_stream.h. */
#include "quic/quic_stream.h"

#include <string.h>

#include "core/mem.h"
#include "moqc/error.h"

/* ---- stream send queue --------------------------------------------------- */

moqc_qstream *moqc_qstream_new(int64_t id, uint32_t flags) {
  moqc_qstream *s = moqc_calloc(1, sizeof *s);
  if (!s) return NULL;
  s->id = id;
  s->flags = flags;
  s->heap_idx = QS_NOT_IN_HEAP;
  return s;
}

static inline moqc_slice *qent(const moqc_qstream *s, size_t i) {
  return &s->q[(s->qhead + i) & (s->qcap - 1)];
}

void moqc_qstream_free(moqc_qstream *s) {
  if (!s) return;
  for (size_t i = 0; i < s->qlen; i++) moqc_slice_release(qent(s, i));
  moqc_free(s->q);
  moqc_free(s);
}

static int qgrow(moqc_qstream *s, size_t need) {
  if (need <= s->qcap) return MOQC_OK;
  size_t cap = s->qcap ? s->qcap : 8;
  while (cap < need) {
    if (cap > SIZE_MAX / 2 / sizeof(moqc_slice)) return MOQC_ERR_NOMEM;
    cap *= 2;
  }
  moqc_slice *q = moqc_calloc(cap, sizeof *q);
  if (!q) return MOQC_ERR_NOMEM;
  for (size_t i = 0; i < s->qlen; i++) q[i] = *qent(s, i);
  moqc_free(s->q);
  s->q = q;
  s->qcap = cap;
  s->qhead = 0;
  return MOQC_OK;
}

int moqc_qstream_append(moqc_qstream *s, const moqc_slice *sl, size_t n) {
  size_t add = 0;
  for (size_t i = 0; i < n; i++)
    if (sl[i].len) add++;
  if (add == 0) return MOQC_OK;
  if (s->qlen + add < s->qlen || qgrow(s, s->qlen + add) != MOQC_OK) return MOQC_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) {
    if (!sl[i].len) continue;
    *qent(s, s->qlen++) = moqc_slice_dup(&sl[i]);
    s->end += sl[i].len;
  }
  return MOQC_OK;
}

size_t moqc_qstream_peek(const moqc_qstream *s, moqc_qvec *v, size_t max, uint64_t *total) {
  size_t cnt = 0, off = s->wr_off;
  uint64_t t = 0;
  for (size_t i = s->wr_idx; i < s->qlen && cnt < max; i++) {
    const moqc_slice *e = qent(s, i);
    v[cnt].base = (uint8_t *)(uintptr_t)(moqc_slice_ptr(e) + off);
    v[cnt].len = e->len - off;
    t += v[cnt].len;
    cnt++;
    off = 0;
  }
  *total = t;
  return cnt;
}

void moqc_qstream_consume(moqc_qstream *s, uint64_t n) {
  s->sent += n;
  while (n > 0 && s->wr_idx < s->qlen) {
    size_t left = qent(s, s->wr_idx)->len - s->wr_off;
    if (n >= left) {
      n -= left;
      s->wr_idx++;
      s->wr_off = 0;
    } else {
      s->wr_off += (size_t)n;
      n = 0;
    }
  }
}

uint64_t moqc_qstream_ack(moqc_qstream *s, uint64_t offset) {
  if (offset > s->sent) offset = s->sent;
  if (offset <= s->acked) return 0;
  uint64_t delta = offset - s->acked;
  s->acked = offset;
  while (s->qlen && s->wr_idx > 0 && s->q_base + qent(s, 0)->len <= s->acked) {
    moqc_slice *e = qent(s, 0);
    s->q_base += e->len;
    moqc_slice_release(e);
    s->qhead = (s->qhead + 1) & (s->qcap - 1);
    s->qlen--;
    s->wr_idx--;
  }
  return delta;
}

uint64_t moqc_qstream_drop_unsent(moqc_qstream *s) {
  uint64_t dropped = s->end - s->sent;
  if (s->wr_idx < s->qlen && s->wr_off > 0) {
    qent(s, s->wr_idx)->len = s->wr_off; /* the sent head of a partly sent slice */
    s->wr_idx++;
    s->wr_off = 0;
  }
  for (size_t i = s->wr_idx; i < s->qlen; i++) moqc_slice_release(qent(s, i));
  s->qlen = s->wr_idx;
  s->end = s->sent;
  return dropped;
}

/* ---- scheduler ------------------------------------------------------------- */

/* True if a is served before b. */
static bool before(const moqc_qstream *a, const moqc_qstream *b) {
  bool ca = !(a->flags & QS_PRIO), cb = !(b->flags & QS_PRIO);
  if (ca != cb) return ca;
  if (!ca) {
    if (a->prio.priority != b->prio.priority) return a->prio.priority > b->prio.priority;
    if (a->prio.order != b->prio.order) return a->prio.order > b->prio.order;
  }
  return a->rr < b->rr;
}

static void hset(moqc_qsched *h, size_t i, moqc_qstream *s) {
  h->heap[i] = s;
  s->heap_idx = i;
}

static void sift_up(moqc_qsched *h, size_t i) {
  moqc_qstream *s = h->heap[i];
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!before(s, h->heap[p])) break;
    hset(h, i, h->heap[p]);
    i = p;
  }
  hset(h, i, s);
}

static void sift_down(moqc_qsched *h, size_t i) {
  moqc_qstream *s = h->heap[i];
  for (;;) {
    size_t l = 2 * i + 1, best = i;
    const moqc_qstream *bs = s;
    if (l < h->n && before(h->heap[l], bs)) best = l, bs = h->heap[l];
    if (l + 1 < h->n && before(h->heap[l + 1], bs)) best = l + 1;
    if (best == i) break;
    hset(h, i, h->heap[best]);
    i = best;
  }
  hset(h, i, s);
}

void moqc_qsched_free(moqc_qsched *h) {
  for (size_t i = 0; i < h->n; i++) h->heap[i]->heap_idx = QS_NOT_IN_HEAP;
  moqc_free(h->heap);
  memset(h, 0, sizeof *h);
}

int moqc_qsched_reserve(moqc_qsched *h) {
  if (h->n < h->cap) return MOQC_OK;
  size_t cap = h->cap ? h->cap * 2 : 16;
  moqc_qstream **v = moqc_reallocarray(h->heap, cap, sizeof *v);
  if (!v) return MOQC_ERR_NOMEM;
  h->heap = v;
  h->cap = cap;
  return MOQC_OK;
}

int moqc_qsched_push(moqc_qsched *h, moqc_qstream *s) {
  if (s->heap_idx != QS_NOT_IN_HEAP) return MOQC_OK;
  if (moqc_qsched_reserve(h) != MOQC_OK) return MOQC_ERR_NOMEM;
  s->rr = h->rr_next++;
  hset(h, h->n++, s);
  sift_up(h, s->heap_idx);
  return MOQC_OK;
}

void moqc_qsched_remove(moqc_qsched *h, moqc_qstream *s) {
  size_t i = s->heap_idx;
  if (i == QS_NOT_IN_HEAP) return;
  s->heap_idx = QS_NOT_IN_HEAP;
  moqc_qstream *last = h->heap[--h->n];
  if (i == h->n) return;
  hset(h, i, last);
  sift_up(h, i);
  sift_down(h, last->heap_idx);
}

void moqc_qsched_update(moqc_qsched *h, moqc_qstream *s) {
  if (s->heap_idx == QS_NOT_IN_HEAP) return;
  sift_up(h, s->heap_idx);
  sift_down(h, s->heap_idx);
}

void moqc_qsched_rotate(moqc_qsched *h, moqc_qstream *s) {
  if (s->heap_idx == QS_NOT_IN_HEAP) return;
  s->rr = h->rr_next++;
  sift_down(h, s->heap_idx);
}

/* ---- stream id map: open addressing, linear probing, backward-shift delete -- */

static inline uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

moqc_qstream *moqc_qsmap_get(const moqc_qsmap *m, int64_t id) {
  if (!m->cap) return NULL;
  size_t mask = m->cap - 1;
  for (size_t i = mix64((uint64_t)id) & mask;; i = (i + 1) & mask) {
    moqc_qstream *s = m->slots[i];
    if (!s) return NULL;
    if (s->id == id) return s;
  }
}

static void smap_insert(moqc_qstream **slots, size_t cap, moqc_qstream *s) {
  size_t mask = cap - 1;
  size_t i = mix64((uint64_t)s->id) & mask;
  while (slots[i]) i = (i + 1) & mask;
  slots[i] = s;
}

int moqc_qsmap_put(moqc_qsmap *m, moqc_qstream *s) {
  if ((m->n + 1) * 2 > m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 16;
    moqc_qstream **slots = moqc_calloc(cap, sizeof *slots);
    if (!slots) return MOQC_ERR_NOMEM;
    for (size_t i = 0; i < m->cap; i++)
      if (m->slots[i]) smap_insert(slots, cap, m->slots[i]);
    moqc_free(m->slots);
    m->slots = slots;
    m->cap = cap;
  }
  smap_insert(m->slots, m->cap, s);
  m->n++;
  return MOQC_OK;
}

void moqc_qsmap_del(moqc_qsmap *m, int64_t id) {
  if (!m->cap) return;
  size_t mask = m->cap - 1, i = mix64((uint64_t)id) & mask;
  while (m->slots[i] && m->slots[i]->id != id) i = (i + 1) & mask;
  if (!m->slots[i]) return;
  m->slots[i] = NULL;
  m->n--;
  /* Shift back the entries of the cluster that follows. */
  for (size_t j = (i + 1) & mask; m->slots[j]; j = (j + 1) & mask) {
    size_t home = mix64((uint64_t)m->slots[j]->id) & mask;
    /* Move j to i if its home is not in the cyclic range (i, j]. */
    bool in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!in_range) {
      m->slots[i] = m->slots[j];
      m->slots[j] = NULL;
      i = j;
    }
  }
}

void moqc_qsmap_free(moqc_qsmap *m) {
  moqc_free(m->slots);
  memset(m, 0, sizeof *m);
}

/* ---- connection-id map ------------------------------------------------------- */

static uint64_t cid_hash(uint64_t key, const uint8_t *p, size_t n) {
  uint64_t h = key ^ (0xcbf29ce484222325ULL + n);
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
  return mix64(h ^ key);
}

static bool cid_eq(const moqc_qcid *c, const uint8_t *p, size_t n) {
  return c->len == n && memcmp(c->data, p, n) == 0;
}

static size_t cid_find(const moqc_qcidmap *m, const uint8_t *p, size_t n) {
  size_t mask = m->cap - 1;
  size_t i = cid_hash(m->key, p, n) & mask;
  while (m->slots[i].val && !cid_eq(&m->slots[i].cid, p, n)) i = (i + 1) & mask;
  return i;
}

void *moqc_qcidmap_get(const moqc_qcidmap *m, const uint8_t *cid, size_t len) {
  if (!m->cap || len > MOQC_QCID_MAX) return NULL;
  return m->slots[cid_find(m, cid, len)].val;
}

static int cidmap_grow(moqc_qcidmap *m) {
  size_t cap = m->cap ? m->cap * 2 : 64;
  moqc_qcid_ent *slots = moqc_calloc(cap, sizeof *slots);
  if (!slots) return MOQC_ERR_NOMEM;
  moqc_qcidmap nm = {slots, cap, 0, m->key};
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->slots[i].val) continue;
    size_t j = cid_find(&nm, m->slots[i].cid.data, m->slots[i].cid.len);
    slots[j] = m->slots[i];
  }
  moqc_free(m->slots);
  m->slots = slots;
  m->cap = cap;
  return MOQC_OK;
}

int moqc_qcidmap_put(moqc_qcidmap *m, const uint8_t *cid, size_t len, void *val) {
  if (len > MOQC_QCID_MAX || !val) return MOQC_ERR_INVAL;
  if ((m->n + 1) * 2 > m->cap && cidmap_grow(m) != MOQC_OK) return MOQC_ERR_NOMEM;
  size_t i = cid_find(m, cid, len);
  if (!m->slots[i].val) {
    m->n++;
    m->slots[i].cid.len = (uint8_t)len;
    memcpy(m->slots[i].cid.data, cid, len);
  }
  m->slots[i].val = val;
  return MOQC_OK;
}

void moqc_qcidmap_del(moqc_qcidmap *m, const uint8_t *cid, size_t len) {
  if (!m->cap || len > MOQC_QCID_MAX) return;
  size_t mask = m->cap - 1, i = cid_find(m, cid, len);
  if (!m->slots[i].val) return;
  m->slots[i].val = NULL;
  m->n--;
  for (size_t j = (i + 1) & mask; m->slots[j].val; j = (j + 1) & mask) {
    size_t home = cid_hash(m->key, m->slots[j].cid.data, m->slots[j].cid.len) & mask;
    bool in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!in_range) {
      m->slots[i] = m->slots[j];
      m->slots[j].val = NULL;
      i = j;
    }
  }
}

void moqc_qcidmap_free(moqc_qcidmap *m) {
  moqc_free(m->slots);
  m->slots = NULL;
  m->cap = m->n = 0;
}
