/* moqc session — the publisher side: what we serve to the peer from the
 * publish origin (announcements, subscriptions and their group streams,
 * TRACK and FETCH requests). announce.c (pa_*), serve.c, pub_track_fetch.c. */
#ifndef MOQC_SESSION_PUB_INT_H
#define MOQC_SESSION_PUB_INT_H

#include "session/stream_int.h"

/* ---- publisher side ---------------------------------------------------------- */

struct pub_announce {
  sobj obj;
  moqc_link link;
  sstream *ss;
  moqc_origin_consumer *oc;
  char *prefix;
  uint64_t exclude_hop;
  moqc_smap active; /* suffixes sent as active (values: the map itself) */
  bool started;
};

/* A group being written on its own stream (subscription) or a FETCH stream. */
struct group_out {
  sobj obj;
  moqc_link link;     /* in pub_sub.groups */
  moqc_link inflight; /* in session.inflight (oldest first) */
  opener op;
  moqc_session *s;
  pub_sub *ps;   /* NULL for a FETCH */
  pub_fetch *pf; /* NULL for a subscription */
  moqc_group_consumer *gc;
  sstream *ss;
  uint64_t seq;
  uint64_t created_ns;
  uint64_t prev_ts;
  uint64_t wr_bytes; /* bytes written on the stream (headers + payload) */
  uint64_t ck_off;   /* staleness checkpoint: every byte below ck_off ... */
  uint64_t ck_ns;    /* ... was written at or before ck_ns (see go_stale_ns) */
  bool opening;      /* waiting for stream credit */
  bool in_frame;
  bool fin_sent;
  bool acked; /* the transport reported the stream acknowledged in full */
  bool done;  /* reset or fully written: nothing more to do but wait for acks */
};

struct pub_sub {
  sobj obj;
  moqc_link link;
  sstream *ss;
  uint64_t id;
  moqc_subscription sub;
  moqc_broadcast_consumer *bc;
  moqc_track_consumer *tc;
  uint64_t latency_ms; /* effective expiry window */
  uint64_t latest_seq; /* newest group served (MOQC_GROUP_NONE: none) */
  moqc_link groups;    /* group_out */
  size_t n_groups, n_pending;
  bool start_sent, end_sent, track_done, fin_sent;
  bool fin_waiting;      /* everything delivered; the FIN waits for fin_timer */
  uint64_t groups_acked; /* group streams acknowledged in full */
  moqc_timer fin_timer;
};

struct pub_track {
  sobj obj;
  moqc_link link;
  sstream *ss;
  moqc_broadcast_consumer *bc;
  moqc_track_info_query *q;
};

struct pub_fetch {
  sobj obj;
  moqc_link link;
  sstream *ss;
  moqc_broadcast_consumer *bc;
  moqc_track_consumer *tc; /* subscribed at [seq, seq] */
  group_out *go;
  moqc_timer timer; /* give up waiting for the group */
  uint64_t seq;
  uint8_t priority;
};

/* The publisher side of a session (moqc_session.pub). */
typedef struct sess_pub {
  moqc_origin *origin; /* publish origin (referenced), NULL: nothing to serve */
  moqc_link announces; /* pub_announce */
  size_t n_announces;  /* length of announces (max_announce_prefixes) */
  moqc_link subs;      /* pub_sub */
  moqc_link tracks;    /* pub_track */
  moqc_link fetches;   /* pub_fetch */
  moqc_link inflight;  /* group_out not acknowledged in full, oldest first */
  /* serve.c: the staged bytes of group writes are cut from this buf, each
   * write a slice holding a reference, so one allocation serves many writes.
   * Dropped when nothing is in flight (an idle session holds none). */
  moqc_buf *arena;
  uint8_t *arena_w;  /* its writable bytes */
  size_t arena_used; /* bytes handed out (< GO_ARENA) */
} sess_pub;

/* ---- announce.c ----------------------------------------------------------------- */

void moqc__pa_destroy_all(moqc_session *s);

/* ---- serve.c ---------------------------------------------------------------------- */

void moqc__go_pump(group_out *go);
void moqc__go_cancel(group_out *go, uint64_t code);
group_out *moqc__go_new(moqc_session *s, moqc_group_consumer *gc);
void moqc__go_start_fetch(group_out *go, sstream *ss, uint8_t priority);
/* Expiry only (Old by age, the queued-bytes cap); re-arms the tick while
 * something can expire. */
void moqc__serve_tick(moqc_session *s);
/* An in-flight group that could expire exists (the tick is worth arming). */
bool moqc__serve_can_expire(const moqc_session *s);
/* Transport event: stream id's send half is acknowledged in full. */
void moqc__serve_on_acked(moqc_session *s, int64_t id);
/* The uni queue is out of credit: skip each subscription's oldest waiting
 * groups beyond max_pending_groups. */
void moqc__serve_trim_pending(moqc_session *s);
void moqc__serve_destroy_all(moqc_session *s);
/* Release the write arena (session free; nothing writes after this). */
void moqc__serve_drop_arena(moqc_session *s);

/* Batched group-stream writes (serve.c; the lite and the IETF group writers):
 * headers and small payload chunks are staged and cut from the session's write
 * arena, larger chunks are the model's own slices (zero copy); one transport
 * write per flush. */
#define GO_STAGE 4096u /* staging bytes per write */
#define GO_SLICES 16u  /* slices per write */
typedef struct go_batch {
  moqc_session *s;
  sstream *ss;        /* written on flush */
  uint64_t *wr_bytes; /* += the bytes of every successful flush */
  size_t slen;        /* staged bytes not yet sealed into a slice */
  size_t n;           /* slices (each holds a reference) */
  uint64_t bytes;     /* total bytes in sl[] + stage */
  moqc_slice sl[GO_SLICES];
  uint8_t stage[GO_STAGE];
} go_batch;
void moqc__gb_init(go_batch *b, moqc_session *s, sstream *ss, uint64_t *wr_bytes);
/* Stage n (<= GO_STAGE) bytes (a flush first when the stage is full). */
int moqc__gb_bytes(go_batch *b, const uint8_t *p, size_t n);
/* Add a payload chunk; takes over sl's reference (released on error too). */
int moqc__gb_slice(go_batch *b, moqc_slice *sl);
/* Write everything batched (and the FIN if fin) in one write; the batch is
 * empty afterwards. An error: the stream is gone. */
int moqc__gb_flush(go_batch *b, bool fin);
/* Release what the batch holds, unwritten. */
void moqc__gb_drop(go_batch *b);

/* Staleness of a group stream's data (see serve.c go_stale_ns): how long its
 * oldest unacknowledged byte has waited. ss NULL or opening: since created_ns.
 * Advances the checkpoint *ck_off / *ck_ns. */
uint64_t moqc__serve_stale_ns(moqc_session *s, const sstream *ss, bool opening, uint64_t created_ns,
                              uint64_t wr_bytes, uint64_t *ck_off, uint64_t *ck_ns, uint64_t now);
/* The expiry window of a subscription: its own max latency, else the track's,
 * else 5 s. */
uint64_t moqc__serve_latency_ms(const moqc_subscription *sub, moqc_track_consumer *tc);
/* Bytes waiting to be sent on the connection (the slow-subscriber measure). */
size_t moqc__serve_backlog(moqc_session *s);

/* ---- pub_track_fetch.c ---------------------------------------------------------------- */

void moqc__pf_group_done(pub_fetch *pf, bool ok, uint64_t code);
void moqc__tf_destroy_all(moqc_session *s);

#endif
