/* moqc transport — stream send queues, scheduler heap. See quic_stream.h. */
#include "quic/quic_stream.h"

#include <assert.h>
#include <string.h>

#include "core/mem.h"
#include "moqc/error.h"

/* ---- stream send queue --------------------------------------------------- */

moqc_qstream *moqc_qstream_new(int64_t id, uint32_t flags) {
  moqc_qstream *s = moqc_calloc(1, sizeof *s);
  if (!s) return NULL;
  s->id = id;
  s->send = (flags & QS_SEND) ? QSS_SEND : QSS_NONE;
  s->recv = (flags & QS_RECV) ? QSR_RECV : QSR_NONE;
  s->remote = (flags & QS_REMOTE) != 0;
  s->heap_idx = QS_NOT_IN_HEAP;
  return s;
}

/* ---- half states ----------------------------------------------------------- */

const char *moqc__qs_send_str(enum qs_send st) {
  switch (st) {
    case QSS_NONE: return "none";
    case QSS_SEND: return "send";
    case QSS_FIN_QUEUED: return "fin-queued";
    case QSS_DATA_SENT: return "data-sent";
    case QSS_DATA_RECVD: return "data-recvd";
    case QSS_RESET_SENT: return "reset-sent";
    case QSS_PEER_STOP: return "peer-stop";
  }
  return "?";
}

const char *moqc__qs_recv_str(enum qs_recv st) {
  switch (st) {
    case QSR_NONE: return "none";
    case QSR_RECV: return "recv";
    case QSR_STOPPED: return "stopped";
    case QSR_DATA_READ: return "data-read";
    case QSR_RESET_RECVD: return "reset-recvd";
  }
  return "?";
}

bool moqc__qs_send_transition_ok(enum qs_send from, enum qs_send to) {
  bool gone = to == QSS_RESET_SENT || to == QSS_PEER_STOP;
  switch (from) {
    case QSS_SEND: return to == QSS_FIN_QUEUED || gone;
    case QSS_FIN_QUEUED: return to == QSS_DATA_SENT || gone;
    case QSS_DATA_SENT: return to == QSS_DATA_RECVD || gone;
    case QSS_NONE:
    case QSS_DATA_RECVD:
    case QSS_RESET_SENT:
    case QSS_PEER_STOP: return false;
  }
  return false;
}

bool moqc__qs_recv_transition_ok(enum qs_recv from, enum qs_recv to) {
  switch (from) {
    case QSR_RECV: return to == QSR_DATA_READ || to == QSR_RESET_RECVD || to == QSR_STOPPED;
    case QSR_STOPPED: return to == QSR_DATA_READ || to == QSR_RESET_RECVD;
    case QSR_DATA_READ: return to == QSR_RESET_RECVD;
    case QSR_NONE:
    case QSR_RESET_RECVD: return false;
  }
  return false;
}

void moqc__qs_set_send(moqc_qstream *s, enum qs_send to) {
  bool ok = moqc__qs_send_transition_ok(s->send, to);
  assert(ok && "illegal QUIC stream send-half transition");
  (void)ok;
  s->send = to;
}

void moqc__qs_set_recv(moqc_qstream *s, enum qs_recv to) {
  bool ok = moqc__qs_recv_transition_ok(s->recv, to);
  assert(ok && "illegal QUIC stream receive-half transition");
  (void)ok;
  s->recv = to;
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
  bool ca = !a->prio_set, cb = !b->prio_set;
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
