/* moqc session — streams: the stream table, stream kinds (the handler table
 * every kind provides), receive buffering, send helpers, stream opening
 * (stream.c). Protocol-neutral: a second wire protocol brings its own kinds. */
#ifndef MOQC_SESSION_STREAM_INT_H
#define MOQC_SESSION_STREAM_INT_H

#include <assert.h>

#include "session/base_int.h"

/* ---- streams ---------------------------------------------------------------- */

/* A stream kind: what a stream is for, and its handlers. One const instance
 * per kind, defined next to that kind's code; stream.c dispatches through it
 * and never switches on the kind. A second wire protocol brings its own set
 * of kinds (and its own peer_stream_kind(), see stream.c / docs/session.md).
 *
 * Receive modes: a kind with process() is a *message* stream (stream.c buffers
 * received bytes up to SESS_RBUF_MAX and process() consumes whole messages
 * from ss_data(); it is also called once with nothing buffered, for kinds that
 * act on the stream type alone). A kind with data() gets the transport's bytes
 * as they arrive (group streams, FETCH responses: headers are buffered by the
 * handler through moqc__ss_hdr_parse, payload never). Neither: received bytes are
 * dropped. A handler that lets go of the stream calls moqc__ss_release(), which
 * switches the stream to moqc__sk_discard; stream.c notices the change. */
typedef struct moqc__stream_kind {
  const char *name;
  int (*process)(sstream *ss);
  void (*data)(sstream *ss, const uint8_t *p, size_t len, bool fin);
  /* The receive half ended (FIN: reset false), or the stream failed: peer
   * RESET, peer STOP_SENDING on our half, or the transport forgot it (reset
   * true, with the code). Required. */
  void (*end)(sstream *ss, bool reset, uint64_t code);
  /* lite-05: a peer stream of this kind is parked until the peer's SETUP. */
  bool wait_peer_setup;
  /* Never parked (the IETF control stream carries the setup itself). */
  bool never_park;
  /* A request we sent (subscribe, announce, track, fetch, probe): it lives on
   * while the responder's half does, so a STOP_SENDING on our half only means
   * "no more updates, please" and does not end it (stream.c, ss_on_stop). */
  bool request_out;
  /* Optional: our send half is acknowledged in full (the transport's
   * stream_acked; a stream with an owner). moq-lite's group streams have their
   * own path (serve.c). */
  void (*acked)(sstream *ss);
} moqc__stream_kind;

/* stream.c */
extern const moqc__stream_kind moqc__sk_unknown; /* peer-opened, type not read yet */
extern const moqc__stream_kind moqc__sk_discard; /* rejected or let go: input dropped */
/* setup.c */
extern const moqc__stream_kind moqc__sk_setup_in, moqc__sk_setup_out;
/* announce.c: peer asked for our announcements (in) / we asked for the peer's (out) */
extern const moqc__stream_kind moqc__sk_announce_in, moqc__sk_announce_out;
/* serve.c */
extern const moqc__stream_kind moqc__sk_subscribe_in, moqc__sk_group_out;
/* remote.c */
extern const moqc__stream_kind moqc__sk_subscribe_out, moqc__sk_track_out;
/* pub_track_fetch.c */
extern const moqc__stream_kind moqc__sk_track_in, moqc__sk_fetch_in;
/* sub_fetch.c */
extern const moqc__stream_kind moqc__sk_fetch_out;
/* group.c */
extern const moqc__stream_kind moqc__sk_group_in;
/* probe.c */
extern const moqc__stream_kind moqc__sk_probe_in, moqc__sk_probe_out, moqc__sk_goaway_in;

/* The two halves of a stream, each only ever moving forward (asserted). */
enum ss_rx {
  SS_RX_OPEN,
  SS_RX_FIN_PARKED, /* FIN received while parked: delivered when unparked */
  SS_RX_DONE,       /* FIN / RESET received, STOP_SENDING sent, or no such half */
};
enum ss_tx {
  SS_TX_OPEN,
  SS_TX_FIN,  /* our FIN is written (a RESET may still follow: it releases
                 what is unacknowledged) */
  SS_TX_DONE, /* RESET sent, STOP_SENDING received, write failed, or no such half */
};

struct sstream {
  sobj obj;
  moqc_session *s;
  int64_t id; /* key in session.st.table while in_table */
  const moqc__stream_kind *kind;
  bool peer; /* opened by the peer */
  bool bidi;
  uint8_t rx; /* enum ss_rx: our receive half */
  uint8_t tx; /* enum ss_tx: our send half */
  bool in_table;
  moqc_link park_link;
  uint8_t *rbuf; /* received bytes not consumed yet */
  size_t rlen, rcap, roff;
  void *owner; /* kind-specific object, or NULL once it let go */
};

/* The session's streams (moqc_session.st). */
typedef struct sess_streams {
  moqc_imap table;           /* sstream by id */
  size_t n_peer;             /* peer-opened streams in the table (max_streams) */
  moqc_link parked;          /* peer requests waiting for RUNNING / the peer's SETUP */
  moqc_link pending_open[2]; /* [0] bidi, [1] uni: openers, FIFO */
  bool open_blocked[2];      /* the transport said AGAIN: wait for writable */
} sess_streams;

/* ---- stream.c ------------------------------------------------------------------- */

sstream *moqc__ss_find(moqc_session *s, int64_t id);
sstream *moqc__ss_new(moqc_session *s, int64_t id, const moqc__stream_kind *kind, bool peer,
                      void *owner);
/* Drop the stream from the table (the object is buried). */
void moqc__ss_forget(sstream *ss);
/* The owner lets go: further input is discarded, and the stream is forgotten
 * once both halves are done. */
void moqc__ss_release(sstream *ss);
/* Parse a header from (buffered bytes + p) without copying payload: at most
 * `max` bytes are ever buffered. Returns 1 (parsed; *used bytes of p taken),
 * 0 (need more; all of p buffered, *used = len) or a negative decode error. */
typedef ssize_t (*hdr_dec_fn)(void *ctx, const uint8_t *p, size_t len);
int moqc__ss_hdr_parse(sstream *ss, const uint8_t *p, size_t len, size_t max, hdr_dec_fn fn,
                       void *ctx, size_t *used);
/* Forget the stream if both halves are done and nobody owns it. */
void moqc__ss_maybe_forget(sstream *ss);
void moqc__ss_consume(sstream *ss, size_t n);
/* An end() for kinds with nothing to do but forget the stream when done. */
void moqc__ss_end_forget(sstream *ss, bool reset, uint64_t code);
static inline bool ss_recv_done(const sstream *ss) { return ss->rx == SS_RX_DONE; }
static inline bool ss_send_done(const sstream *ss) { return ss->tx != SS_TX_OPEN; }
/* Waiting for RUNNING / the peer's SETUP (in moqc_session.st.parked). */
static inline bool ss_parked(const sstream *ss) { return moqc_link_linked(&ss->park_link); }
static inline void ss_set_rx(sstream *ss, enum ss_rx to) {
  assert(to >= ss->rx);
  ss->rx = (uint8_t)to;
}
static inline void ss_set_tx(sstream *ss, enum ss_tx to) {
  assert(to >= ss->tx);
  ss->tx = (uint8_t)to;
}
/* NULL when nothing is buffered (no pointer arithmetic on a NULL rbuf). */
static inline const uint8_t *ss_data(const sstream *ss) {
  return ss->rbuf ? ss->rbuf + ss->roff : NULL;
}
static inline size_t ss_len(const sstream *ss) { return ss->rlen - ss->roff; }

/* Send helpers: they take care of closed transports and never fail the
 * session on a transport error (the stream is simply gone). */
int moqc__ss_write(sstream *ss, const uint8_t *p, size_t len, bool fin);
int moqc__ss_write_wbuf(sstream *ss, wbuf *w, bool fin);
int moqc__ss_write_slices(sstream *ss, const moqc_slice *sl, size_t n, bool fin);
void moqc__ss_fin(sstream *ss);
/* RESET our send half (if still open) and STOP_SENDING the peer's (bidi/peer
 * uni, if still open). */
void moqc__ss_abort(sstream *ss, uint64_t code);
void moqc__ss_reset(sstream *ss, uint64_t code);
void moqc__ss_stop(sstream *ss, uint64_t code);

/* Queue a stream opening. It is never synchronous: the queue is drained at
 * the end of the current event-handling pass (the outermost moqc__sess_exit), in
 * FIFO order per direction, and, when the transport is out of stream credit,
 * on its writable event. opened() or failed() (an open error other than
 * AGAIN) is called from there. A no-op on a closing session (the teardown
 * destroys the owner) or if op is queued already. */
void moqc__sess_open(moqc_session *s, opener *op);
void moqc__sess_open_cancel(opener *op);
void moqc__sess_drain_pending_open(moqc_session *s);
/* Resume parked streams whose wait is over. */
void moqc__sess_unpark(moqc_session *s);

/* Handler entry points used by session.c. */
void moqc__ss_on_opened(moqc_session *s, int64_t id);
void moqc__ss_on_data(moqc_session *s, int64_t id, const uint8_t *p, size_t len, bool fin);
void moqc__ss_on_reset(moqc_session *s, int64_t id, uint64_t code);
void moqc__ss_on_stop(moqc_session *s, int64_t id, uint64_t code);
void moqc__ss_on_closed(moqc_session *s, int64_t id);

#endif
