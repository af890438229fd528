/* moqc transport — the moqc_transport_ops of a raw QUIC connection.
 *
 * Ops never do I/O: they update the connection and mark it dirty; the
 * endpoint flushes it at the end of the current I/O callback or in its
 * prepare hook (so ops are safe inside handler callbacks, and never call a
 * handler back). */
#include <assert.h>
#include <string.h>

#include "core/mem.h"
#include "moqc/error.h"
#include "quic/quic_int.h"

#define DGRAM_QUEUE_MAX 1024

static bool alive(const quic_conn *c) { return moqc__quic_open(c); }

static moqc_qstream *stream_of(quic_conn *c, int64_t id) {
  return id < 0 ? NULL : moqc__imap_find(&c->streams, (uint64_t)id);
}

static void touch(quic_conn *c) { moqc_quic_ep_mark_dirty(c->ep, c); }

static int op_open_stream(moqc_transport *t, bool bidi, int64_t *id) {
  quic_conn *c = qc_of(t);
  if (!alive(c)) return MOQC_ERR_CLOSED;
  if (!id) return MOQC_ERR_INVAL;
  int rc = moqc_quic_conn_open_stream(c, bidi, id);
  if (rc == MOQC_OK) touch(c);
  return rc;
}

static int op_write(moqc_transport *t, int64_t id, const moqc_slice *s, size_t n, bool fin) {
  quic_conn *c = qc_of(t);
  if (!alive(c)) return MOQC_ERR_CLOSED;
  moqc_qstream *st = stream_of(c, id);
  if (st && st->send == QSS_PEER_STOP) return MOQC_ERR_CANCEL;
  if (!st || st->send != QSS_SEND) return MOQC_ERR_INVAL; /* none, finished or reset */
  if (n && !s) return MOQC_ERR_INVAL;
  uint64_t add = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i].len && (!s[i].buf || s[i].off > s[i].buf->len || s[i].len > s[i].buf->len - s[i].off))
      return MOQC_ERR_INVAL;
    add += s[i].len;
  }
  /* Reserve first so that nothing can fail after the slices are queued. */
  if (moqc_qsched_reserve(&c->sched) != MOQC_OK || moqc_qstream_append(st, s, n) != MOQC_OK)
    return MOQC_ERR_NOMEM;
  if (fin) moqc__qs_set_send(st, QSS_FIN_QUEUED);
  c->unsent += add;
  c->unacked += add;
  if (moqc_qstream_ready(st)) (void)moqc_qsched_push(&c->sched, st);
  touch(c);
  return MOQC_OK;
}

static int op_reset(moqc_transport *t, int64_t id, uint64_t code) {
  quic_conn *c = qc_of(t);
  if (!alive(c)) return MOQC_ERR_CLOSED;
  moqc_qstream *st = stream_of(c, id);
  if (!st || code > MOQC_CODE_MAX) return MOQC_ERR_INVAL;
  int rc = moqc_quic_conn_reset_stream(c, st, code);
  if (rc == MOQC_OK) touch(c);
  return rc;
}

static int op_stop_sending(moqc_transport *t, int64_t id, uint64_t code) {
  quic_conn *c = qc_of(t);
  if (!alive(c)) return MOQC_ERR_CLOSED;
  moqc_qstream *st = stream_of(c, id);
  if (!st || code > MOQC_CODE_MAX) return MOQC_ERR_INVAL;
  int rc = moqc_quic_conn_stop_stream(c, st, code);
  if (rc == MOQC_OK) touch(c);
  return rc;
}

static int op_set_priority(moqc_transport *t, int64_t id, const moqc_stream_prio *prio) {
  quic_conn *c = qc_of(t);
  if (!alive(c)) return MOQC_ERR_CLOSED;
  moqc_qstream *st = stream_of(c, id);
  if (!st || !prio) return MOQC_ERR_INVAL;
  st->prio = *prio;
  st->prio_set = true;
  moqc_qsched_update(&c->sched, st);
  return MOQC_OK;
}

static size_t op_max_datagram(moqc_transport *t) { return moqc_quic_conn_max_datagram(qc_of(t)); }

static int op_send_datagram(moqc_transport *t, const uint8_t *p, size_t len) {
  quic_conn *c = qc_of(t);
  if (!alive(c)) return MOQC_ERR_CLOSED;
  size_t max = moqc_quic_conn_max_datagram(c);
  if (max == 0) return MOQC_ERR_UNSUPPORTED;
  if (len > max) return MOQC_ERR_TOO_LARGE;
  if (len && !p) return MOQC_ERR_INVAL;
  quic_dgram *d = moqc_malloc(sizeof *d + len);
  if (!d) return MOQC_ERR_NOMEM;
  d->next = NULL;
  d->len = len;
  if (len) memcpy(d->data, p, len);
  if (c->dg_count >= DGRAM_QUEUE_MAX) { /* unreliable anyway: drop the oldest */
    quic_dgram *old = c->dg_head;
    c->dg_head = old->next;
    if (!c->dg_head) c->dg_tail = NULL;
    c->dg_count--;
    moqc_free(old);
  }
  if (c->dg_tail) c->dg_tail->next = d;
  else c->dg_head = d;
  c->dg_tail = d;
  c->dg_count++;
  touch(c);
  return MOQC_OK;
}

static size_t op_queued(moqc_transport *t, int64_t id) {
  quic_conn *c = qc_of(t);
  if (id < 0) return (size_t)c->unacked;
  moqc_qstream *st = stream_of(c, id);
  if (!st || moqc__qs_send_gone(st)) return 0;
  return (size_t)(st->end - st->acked);
}

static size_t op_backlog(moqc_transport *t) { return (size_t)qc_of(t)->unsent; }

static void op_stats(moqc_transport *t, uint64_t *rtt_ns, uint64_t *rate_bps) {
  uint64_t r = 0, b = 0;
  moqc_quic_conn_stats(qc_of(t), &r, &b);
  if (rtt_ns) *rtt_ns = r;
  if (rate_bps) *rate_bps = b;
}

static void op_close(moqc_transport *t, uint64_t code, const char *reason) {
  quic_conn *c = qc_of(t);
  if (c->state >= QC_CLOSE_REQ || moqc__quic_reported(c)) return;
  if (code > MOQC_CODE_MAX) code = MOQC_CODE_MAX;
  if (!reason) reason = "";
  size_t rl = strlen(reason);
  if (rl > QUIC_REASON_MAX) rl = QUIC_REASON_MAX;
  char *r = moqc_malloc(rl + 1);
  if (r) {
    memcpy(r, reason, rl);
    r[rl] = '\0';
  }
  moqc_free(c->close_reason);
  c->close_reason = r;
  c->close_code = code;
  c->close_by_peer = false;
  moqc__quic_set_state(c, QC_CLOSE_REQ);
  touch(c);
}

static void op_release(moqc_transport *t) {
  quic_conn *c = qc_of(t);
  if (!moqc__quic_owned(c)) return;
  moqc__quic_set_owner(c, QO_RELEASED);
  c->base.handler = NULL;
  c->base.handler_ctx = NULL;
  if (moqc__quic_live(c)) {
    if (c->state != QC_CLOSE_REQ) op_close(t, 0, "");
    if (c->report == QR_PENDING) moqc__quic_set_report(c, QR_NONE); /* nobody to tell */
    return;
  }
  moqc_quic_conn_maybe_free(c);
}

const moqc_transport_ops moqc_quic_ops = {
    .open_stream = op_open_stream,
    .write = op_write,
    .reset = op_reset,
    .stop_sending = op_stop_sending,
    .set_priority = op_set_priority,
    .send_datagram = op_send_datagram,
    .max_datagram = op_max_datagram,
    .queued = op_queued,
    .stats = op_stats,
    .close = op_close,
    .release = op_release,
    .backlog = op_backlog,
};

int moqc_quic_conn_info_get(moqc_transport *t, moqc_quic_conn_info *info) {
  if (!t || !info || t->ops != &moqc_quic_ops) return MOQC_ERR_INVAL;
  moqc_quic_conn_get_info(qc_of(t), info);
  return MOQC_OK;
}
