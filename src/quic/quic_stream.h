/* moqc transport — QUIC stream send queues, the priority scheduler, and the
 * hash maps of the QUIC endpoint (internal, no ngtcp2 here).
 *
 * Send queue (zero copy): write() appends slice references. Three offsets
 * move forward through the stream:
 *      acked <= sent <= end
 *   [acked, sent)  handed to ngtcp2, not yet acknowledged: must stay valid
 *                  (ngtcp2 retransmits from this memory);
 *   [sent, end)    waiting for the scheduler.
 * A slice is released as soon as `acked` passes its last byte, or when the
 * stream goes away.
 *
 * Scheduler: a binary max-heap of the streams that have something to send
 * and are not flow-control blocked. Key, most important first:
 *   1. control stream (no priority ever set) before prioritised ones,
 *   2. higher priority, 3. higher order (newer group),
 *   4. lower round-robin sequence (served least recently).
 * Serving a stream re-keys it with a fresh sequence number, so equal streams
 * take turns packet by packet. Every operation is O(log n).
 */
#ifndef MOQC_TRANSPORT_QUIC_STREAM_H
#define MOQC_TRANSPORT_QUIC_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/imap.h"
#include "core/smap.h"
#include "moqc/buf.h"
#include "moqc/transport.h"

#define QS_NOT_IN_HEAP SIZE_MAX

/* What a new stream has (moqc_qstream_new). */
enum {
  QS_SEND = 1u << 0,   /* we have a send half */
  QS_RECV = 1u << 1,   /* we have a receive half */
  QS_REMOTE = 1u << 2, /* opened by the peer */
};

/* The send half's lifecycle (after RFC 9000 section 3.1). Legal transitions
 * (moqc__qs_send_transition_ok, asserted by moqc__qs_set_send):
 *   SEND       -> FIN_QUEUED | RESET_SENT | PEER_STOP
 *   FIN_QUEUED -> DATA_SENT | RESET_SENT | PEER_STOP
 *   DATA_SENT  -> DATA_RECVD | RESET_SENT | PEER_STOP
 *   NONE, DATA_RECVD, RESET_SENT, PEER_STOP are final. */
enum qs_send {
  QSS_NONE = 0,   /* no send half (a unidirectional stream of the peer) */
  QSS_SEND,       /* open: write() may queue bytes */
  QSS_FIN_QUEUED, /* write(fin) was called; bytes and the FIN wait for the scheduler */
  QSS_DATA_SENT,  /* the FIN (and so every byte) was handed to ngtcp2 */
  QSS_DATA_RECVD, /* everything incl. the FIN acknowledged: stream_acked fired */
  QSS_RESET_SENT, /* we reset the send half */
  QSS_PEER_STOP,  /* the peer's STOP_SENDING reset our send half */
};

/* The receive half's lifecycle (RFC 9000 section 3.2, as far as the code
 * tells them apart: data is delivered as it arrives, so "size known", "data
 * recvd" and "data read" are one state here). Legal transitions
 * (moqc__qs_recv_transition_ok, asserted by moqc__qs_set_recv):
 *   RECV      -> DATA_READ | RESET_RECVD | STOPPED
 *   STOPPED   -> DATA_READ | RESET_RECVD
 *   DATA_READ -> RESET_RECVD (a RESET_STREAM after the FIN: RFC 9000 3.2)
 *   NONE, RESET_RECVD are final. */
enum qs_recv {
  QSR_NONE = 0,    /* no receive half (a unidirectional stream of ours) */
  QSR_RECV,        /* open: data is delivered as it arrives */
  QSR_STOPPED,     /* we sent STOP_SENDING: data is dropped */
  QSR_DATA_READ,   /* the FIN arrived, every byte was delivered */
  QSR_RESET_RECVD, /* the peer reset its send half */
};

const char *moqc__qs_send_str(enum qs_send st);
const char *moqc__qs_recv_str(enum qs_recv st);
/* The transition tables (pure): is from -> to legal? */
bool moqc__qs_send_transition_ok(enum qs_send from, enum qs_send to);
bool moqc__qs_recv_transition_ok(enum qs_recv from, enum qs_recv to);

typedef struct moqc_qstream {
  int64_t id;
  enum qs_send send; /* change only through moqc__qs_set_send */
  enum qs_recv recv; /* change only through moqc__qs_set_recv */
  bool remote;       /* opened by the peer */
  bool open_cb;      /* ngtcp2 reported the peer's stream_open (a credit to give back) */
  bool blocked;      /* stream flow-control blocked */
  bool prio_set;     /* set_priority was called */
  bool fin_bare;     /* the FIN went out alone (a 0-length STREAM frame) */
  /* send queue: ring of slices */
  moqc_slice *q;
  size_t qcap, qhead, qlen;
  uint64_t q_base; /* stream offset of the first byte of q[qhead] */
  uint64_t acked, sent, end;
  size_t wr_idx; /* entry (relative to qhead) holding offset `sent` */
  size_t wr_off; /* offset of `sent` inside that entry */
  /* scheduler */
  size_t heap_idx;
  uint64_t rr;
  moqc_stream_prio prio;
} moqc_qstream;

/* Half-state transitions, asserted legal. */
void moqc__qs_set_send(moqc_qstream *s, enum qs_send to);
void moqc__qs_set_recv(moqc_qstream *s, enum qs_recv to);
/* The send half was reset (by us or through the peer's STOP_SENDING): its
 * queued bytes no longer count. */
static inline bool moqc__qs_send_gone(const moqc_qstream *s) {
  return s->send == QSS_RESET_SENT || s->send == QSS_PEER_STOP;
}

/* flags: QS_SEND / QS_RECV / QS_REMOTE. */
moqc_qstream *moqc_qstream_new(int64_t id, uint32_t flags);
/* Release every slice and free the stream. */
void moqc_qstream_free(moqc_qstream *s);

/* Append n slices (new references; empty slices are skipped). Returns MOQC_OK
 * or MOQC_ERR_NOMEM (nothing appended). */
int moqc_qstream_append(moqc_qstream *s, const moqc_slice *sl, size_t n);

/* Fill up to max vectors (base/len pairs, layout-compatible with
 * ngtcp2_vec/iovec) with unsent bytes from `sent` onward. Returns the count;
 * *total receives the byte count. */
typedef struct moqc_qvec {
  uint8_t *base;
  size_t len;
} moqc_qvec;
size_t moqc_qstream_peek(const moqc_qstream *s, moqc_qvec *v, size_t max, uint64_t *total);

/* n bytes from `sent` were handed to the QUIC stack. */
void moqc_qstream_consume(moqc_qstream *s, uint64_t n);

/* The peer acknowledged everything below `offset`: release covered slices.
 * Returns the number of newly acknowledged bytes. */
uint64_t moqc_qstream_ack(moqc_qstream *s, uint64_t offset);

/* Drop the unsent tail [sent, end): slices entirely beyond `sent` are
 * released; end = sent. Returns the number of bytes dropped. */
uint64_t moqc_qstream_drop_unsent(moqc_qstream *s);

/* Something to hand to the stack (bytes or a FIN) and allowed to send. */
static inline bool moqc_qstream_ready(const moqc_qstream *s) {
  if (s->blocked) return false;
  if (s->send == QSS_FIN_QUEUED) return true; /* at least the FIN */
  return s->send == QSS_SEND && s->sent < s->end;
}

/* ---- scheduler ---------------------------------------------------------- */

typedef struct moqc_qsched {
  moqc_qstream **heap;
  size_t n, cap;
  uint64_t rr_next;
} moqc_qsched;

void moqc_qsched_free(moqc_qsched *h);
/* Make room so that the next push cannot fail. MOQC_OK or MOQC_ERR_NOMEM. */
int moqc_qsched_reserve(moqc_qsched *h);
/* Insert (no-op if already in). MOQC_OK or MOQC_ERR_NOMEM. */
int moqc_qsched_push(moqc_qsched *h, moqc_qstream *s);
void moqc_qsched_remove(moqc_qsched *h, moqc_qstream *s);
static inline moqc_qstream *moqc_qsched_top(const moqc_qsched *h) {
  return h->n ? h->heap[0] : NULL;
}
/* The stream's priority changed: restore the heap order. */
void moqc_qsched_update(moqc_qsched *h, moqc_qstream *s);
/* Move the stream behind its equals (round-robin), after serving it. */
void moqc_qsched_rotate(moqc_qsched *h, moqc_qstream *s);

/* Streams by id and connections by connection id live in the core maps:
 * core/imap.h (quic_conn.streams) and core/smap.h (quic_ep.cids, seeded with a
 * random key because peers choose connection ids). */

#define MOQC_QCID_MAX 20

typedef struct moqc_qcid {
  uint8_t len;
  uint8_t data[MOQC_QCID_MAX];
} moqc_qcid;

#endif
