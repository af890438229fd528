/* moqc session — internal state shared by the session's source files.
 *
 * Layout (see docs/session.md):
 *   session.c       lifecycle, transport handler, close/teardown, re-entrancy
 *   stream.c        stream table, receive buffering, stream-type dispatch,
 *                   parking, opening streams (with credit waits), send helpers
 *   setup.c         lite-05 SETUP stream (both directions), server request
 *   announce.c      ANNOUNCE_PLEASE answered (publisher) and issued (subscriber)
 *   remote.c        remote broadcasts and tracks (subscriber side: TRACK,
 *                   SUBSCRIBE, responses, on-demand track requests)
 *   group.c         received group streams, FETCH responses and datagrams
 *   serve.c         SUBSCRIBE served (publisher side), group streams written,
 *                   expiry and slow-subscriber resets
 *   track_fetch.c   TRACK and FETCH served (publisher side), FETCH issued
 *   probe.c         PROBE (both directions) and GOAWAY
 *
 * Re-entrancy: every entry point (transport callback, waker, timer, public
 * call) brackets its work with sess_enter/sess_exit. Objects are never freed
 * while a call is in progress: they are unlinked and "buried", and the
 * graveyard is emptied when the outermost call returns. A fatal error only
 * marks the session closed (sess_fail); the teardown runs at the outermost
 * exit. After any call that may fail the session, check sess_closing(s).
 * Streams are opened at the outermost exit too (sess_open).
 */
#ifndef MOQC_SESSION_INT_H
#define MOQC_SESSION_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/lite_wire.h"
#include "moqc/clock.h"
#include "moqc/error.h"
#include "moqc/model.h"
#include "moqc/session.h"
#include "moqc/transport.h"
#include "session/util.h"

/* ---- constants ------------------------------------------------------------ */

#define SESS_RBUF_MAX (MOQC_LITE_MSG_MAX + 64u) /* control receive buffer bound */
#define SESS_HDR_MAX 64u                        /* group / frame header bound */
#define SESS_DATAGRAM_MAX 1200u
#define SESS_TICK_NS (100u * 1000u * 1000u)     /* maintenance + probe cadence */
#define SESS_PROBE_MAX_AGE_NS (10ull * 1000u * 1000u * 1000u)
#define SESS_FETCH_WAIT_NS (100u * 1000u * 1000u)     /* FETCH: wait for the cache */
/* A clean end of a subscription without a known final group (lite-03/04 FIN):
 * group streams may still be on their way (the JS publishers FIN the subscribe
 * stream before they even open them), so the track is finished only once no
 * new group arrived for this long (+ 2 RTT), at most SESS_SUB_FIN_MAX_NS. */
#define SESS_SUB_FIN_GRACE_NS (250u * 1000u * 1000u)
#define SESS_SUB_FIN_MAX_NS (3ull * 1000u * 1000u * 1000u)
/* Publisher side: the subscribe stream's FIN (track end) waits this long (+ 2
 * RTT) after the last group was acknowledged. @moq/net (and @moq/lite) stop
 * reading a track's groups the moment they see that FIN, and an acknowledged
 * group stream may not have reached the application yet. */
#define SESS_PUB_FIN_LINGER_NS (200u * 1000u * 1000u)

#define DEF_MAX_STREAMS 1024u
#define DEF_MAX_SUBSCRIPTIONS 256u
#define DEF_MAX_ANNOUNCED 4096u
#define DEF_MAX_TRACKS 1024u
#define DEF_MAX_QUEUED ((size_t)4 << 20)
#define DEF_MAX_PENDING_GROUPS 64u

/* ---- forward declarations ----------------------------------------------- */

typedef struct sstream sstream;
typedef struct opener opener;
typedef struct sobj sobj;
typedef struct pub_announce pub_announce;
typedef struct pub_sub pub_sub;
typedef struct group_out group_out;
typedef struct pub_track pub_track;
typedef struct pub_fetch pub_fetch;
typedef struct sub_announce sub_announce;
typedef struct rbcast rbcast;
typedef struct rtrack rtrack;
typedef struct group_in group_in;
typedef struct sub_fetch sub_fetch;
typedef struct probe probe;

/* Everything that may be freed while a call is in progress starts with this. */
struct sobj {
  sobj *grave_next;
  void (*destroy)(sobj *o); /* frees the memory (model handles already released) */
  bool dead;
};

/* A request to open a stream that waits for stream credit if needed. */
struct opener {
  slist link;
  bool bidi;
  void (*opened)(opener *op, int64_t id);
  void (*failed)(opener *op, int err);
};

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
 * handler through ss_hdr_parse, payload never). Neither: received bytes are
 * dropped. A handler that lets go of the stream calls ss_release(), which
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

struct sstream {
  sobj obj;
  hnode node;
  moqc_session *s;
  int64_t id;
  const moqc__stream_kind *kind;
  bool peer;       /* opened by the peer */
  bool bidi;
  bool recv_done;  /* FIN or RESET received (or STOP_SENDING sent) */
  bool send_done;  /* FIN or RESET sent (or STOP_SENDING received) */
  bool fin_sent;   /* our FIN is written (a RESET may still follow) */
  bool reset_sent;
  bool fin_pending;/* FIN received but not processed yet (parked) */
  bool parked;
  bool in_table;
  slist park_link;
  uint8_t *rbuf;   /* received bytes not consumed yet */
  size_t rlen, rcap, roff;
  void *owner;     /* kind-specific object, or NULL once it let go */
};

/* ---- frame receiver (group streams, FETCH responses) ----------------------- */

typedef struct frx {
  moqc_group_producer *g;
  moqc_frame_producer *f; /* chunked frame in progress */
  uint64_t remaining;     /* payload bytes left in the current frame */
  uint64_t cur_ts;
  uint64_t prev_ts;
  uint64_t timescale;
  bool in_payload;
} frx;

/* ---- publisher side ---------------------------------------------------------- */

struct pub_announce {
  sobj obj;
  slist link;
  sstream *ss;
  moqc_origin_consumer *oc;
  char *prefix;
  uint64_t exclude_hop;
  hmap active; /* suffixes sent as active (nodes: struct astr) */
  bool started;
};

/* A group being written on its own stream (subscription) or a FETCH stream. */
struct group_out {
  sobj obj;
  slist link;     /* in pub_sub.groups */
  slist inflight; /* in session.inflight (oldest first) */
  opener op;
  moqc_session *s;
  pub_sub *ps;    /* NULL for a FETCH */
  pub_fetch *pf;  /* NULL for a subscription */
  moqc_group_consumer *gc;
  sstream *ss;
  uint64_t seq;
  uint64_t created_ns;
  uint64_t prev_ts;
  uint64_t wr_bytes; /* bytes written on the stream (headers + payload) */
  uint64_t ck_off;   /* staleness checkpoint: every byte below ck_off ... */
  uint64_t ck_ns;    /* ... was written at or before ck_ns (see go_stale_ns) */
  bool opening; /* waiting for stream credit */
  bool in_frame;
  bool fin_sent;
  bool done;    /* reset or fully written: nothing more to do but wait for acks */
};

struct pub_sub {
  sobj obj;
  slist link;
  sstream *ss;
  uint64_t id;
  moqc_subscription sub;
  moqc_broadcast_consumer *bc;
  moqc_track_consumer *tc;
  uint64_t latency_ms; /* effective expiry window */
  uint64_t latest_seq; /* newest group served (MOQC_GROUP_NONE: none) */
  slist groups;        /* group_out */
  size_t n_groups, n_pending;
  bool start_sent, end_sent, track_done, fin_sent;
  bool fin_waiting;    /* everything delivered; the FIN waits for fin_timer */
  moqc_timer fin_timer;
};

struct pub_track {
  sobj obj;
  slist link;
  sstream *ss;
  moqc_broadcast_consumer *bc;
  moqc_track_info_query *q;
};

struct pub_fetch {
  sobj obj;
  slist link;
  sstream *ss;
  moqc_broadcast_consumer *bc;
  moqc_track_consumer *tc; /* subscribed at [seq, seq] */
  group_out *go;
  moqc_timer timer; /* give up waiting for the group */
  uint64_t seq;
  uint8_t priority;
};

/* ---- subscriber side ---------------------------------------------------------- */

struct sub_announce {
  sobj obj;
  opener op;
  moqc_session *s;
  sstream *ss;
  uint64_t responder; /* lite-05 ANNOUNCE_OK hop id */
  bool ok_seen;
};

struct rbcast {
  sobj obj;
  hnode node; /* in session.rbcasts by path (while announced) */
  slist link; /* in session.rbcast_list */
  moqc_session *s;
  char *path;
  moqc_broadcast_producer *bp;
  moqc_route route;
  slist tracks; /* rtrack */
  bool ended;   /* peer ended it (finished), removed from the map */
};

enum rt_state { RT_INFO, RT_LIVE, RT_DONE };

struct rtrack {
  sobj obj;
  slist link;    /* in rbcast.tracks */
  hnode node;    /* in session.rtracks by subscribe id while subscribed */
  opener op;
  moqc_session *s;
  rbcast *rb;
  char *name;
  moqc_track_request *req;   /* until accepted */
  moqc_track_producer *tp;
  moqc_track_info info;
  int state;                 /* enum rt_state */
  sstream *info_ss;          /* TRACK stream (lite-05) */
  sstream *sub_ss;           /* SUBSCRIBE stream */
  uint64_t sub_id;
  bool subscribed;           /* id registered */
  bool opening;              /* SUBSCRIBE/TRACK stream waiting for credit */
  bool ok_seen;              /* lite-03/04 SUBSCRIBE_OK */
  bool end_seen;             /* lite-05 SUBSCRIBE_END received ... */
  uint64_t end_group;        /* ... with this exclusive end */
  bool draining;             /* no consumer left, but the track is complete:
                                let the last groups land, then close */
  bool fin_wait;             /* clean FIN without a final: groups may still come */
  uint64_t fin_deadline;     /* ... until this (SESS_SUB_FIN_MAX_NS after the FIN) */
  moqc_timer fin_timer;
  moqc_subscription sent;    /* last parameters sent upstream */
  slist groups;              /* group_in */
};

struct group_in {
  sobj obj;
  slist link; /* in rtrack.groups */
  sstream *ss;
  rtrack *rt;
  frx rx;
};

struct sub_fetch {
  sobj obj;
  slist link;
  opener op;
  moqc_session *s;
  sstream *ss;
  char *path, *track;
  uint64_t seq;
  uint8_t priority;
  frx rx;
};

/* A PROBE stream: served (peer opened it: we report) or issued (we read). */
struct probe {
  sobj obj;
  slist link;
  opener op;
  moqc_session *s;
  sstream *ss;
  bool serving;
  moqc_timer timer;
  bool sent_any;
  uint64_t last_bitrate, last_rtt, last_at;
};

/* ---- the session -------------------------------------------------------------- */

/* The session's one lifecycle (transitions asserted in sess_set_state):
 *   client: IDLE --start()--> RUNNING
 *   server: WAIT_SETUP --request known--> REQUEST --accept()--> RUNNING
 *   any of those --sess_fail--> CLOSING --teardown (outermost exit)--> CLOSED
 * CLOSING: ended, no more protocol work; model handles still held until the
 * teardown. CLOSED: everything released, on_closed fired; only _del remains. */
enum sess_state { ST_IDLE, ST_WAIT_SETUP, ST_REQUEST, ST_RUNNING, ST_CLOSING, ST_CLOSED };

struct moqc_session {
  moqc_env *env;
  moqc_clock *clock;
  moqc_transport *t;
  moqc_session_config cfg;
  moqc_session_limits lim;
  char *cfg_path;
  int version;
  enum sess_state state;
  unsigned depth;    /* sess_enter nesting */
  bool del_pending;  /* moqc_session_del called: free at the outermost exit */
  bool transport_closed;
  moqc_timer req_timer; /* lite-03/04 server: delivers on_request */
  uint64_t close_code;
  char *close_reason;
  bool close_by_peer;

  moqc_origin *pub, *sub;
  uint64_t self_id, peer_id;
  bool peer_setup_seen;
  bool setup_in_seen;
  opener setup_op;
  uint8_t peer_probe, peer_role;
  char *req_path;

  hmap streams;
  size_t peer_streams;
  slist parked;
  slist pending_open[2]; /* [0] bidi, [1] uni: openers, FIFO */
  bool open_blocked[2];  /* the transport said AGAIN: wait for writable */

  /* publisher side */
  slist pub_announces, pub_subs, pub_tracks, pub_fetches;
  slist inflight;
  size_t n_served;

  /* subscriber side */
  sub_announce *sann;
  hmap rbcasts;
  slist rbcast_list;
  size_t n_rbcasts;
  hmap rtracks;
  size_t n_rtracks;
  uint64_t next_sub_id;
  slist sub_fetches;

  slist probes;
  moqc_timer tick;
  char *goaway_uri;
  bool have_estimate;
  uint64_t est_bitrate, est_rtt;
  moqc_session_stats stats;
  sobj *graveyard;
};

/* ---- session.c ------------------------------------------------------------------ */

/* Ended (CLOSING or CLOSED): no more protocol work. After any call that may
 * fail the session, check this (or the object's own `dead`). */
static inline bool sess_closing(const moqc_session *s) { return s->state >= ST_CLOSING; }
void sess_set_state(moqc_session *s, enum sess_state to);
/* WAIT_SETUP -> REQUEST, and on_request. */
void sess_request(moqc_session *s, const moqc_session_request *req);
void sess_enter(moqc_session *s);
void sess_exit(moqc_session *s);
/* End the session (idempotent). by_peer: the peer/network ended it (no
 * CONNECTION_CLOSE is sent). */
void sess_fail(moqc_session *s, uint64_t code, const char *reason, bool by_peer);
void sess_bury(moqc_session *s, sobj *o);
uint64_t sess_now(const moqc_session *s);
/* Diagnostics to cfg.on_debug (formatted only when it is set). */
void sess_debug(moqc_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline bool sess_debug_on(const moqc_session *s) { return s->cfg.on_debug != NULL; }
void sess_tick_arm(moqc_session *s);
/* Start the running state (client start / server accept). */
void sess_run(moqc_session *s);

/* ---- stream.c ------------------------------------------------------------------- */

sstream *ss_find(moqc_session *s, int64_t id);
sstream *ss_new(moqc_session *s, int64_t id, const moqc__stream_kind *kind, bool peer, void *owner);
/* Drop the stream from the table (the object is buried). */
void ss_forget(sstream *ss);
/* The owner lets go: further input is discarded, and the stream is forgotten
 * once both halves are done. */
void ss_release(sstream *ss);
/* Parse a header from (buffered bytes + p) without copying payload: at most
 * `max` bytes are ever buffered. Returns 1 (parsed; *used bytes of p taken),
 * 0 (need more; all of p buffered, *used = len) or a negative decode error. */
typedef ssize_t (*hdr_dec_fn)(void *ctx, const uint8_t *p, size_t len);
int ss_hdr_parse(sstream *ss, const uint8_t *p, size_t len, size_t max, hdr_dec_fn fn, void *ctx,
                 size_t *used);
/* Forget the stream if both halves are done and nobody owns it. */
void ss_maybe_forget(sstream *ss);
void ss_consume(sstream *ss, size_t n);
/* An end() for kinds with nothing to do but forget the stream when done. */
void moqc__ss_end_forget(sstream *ss, bool reset, uint64_t code);
/* NULL when nothing is buffered (no pointer arithmetic on a NULL rbuf). */
static inline const uint8_t *ss_data(const sstream *ss) { return ss->rbuf ? ss->rbuf + ss->roff : NULL; }
static inline size_t ss_len(const sstream *ss) { return ss->rlen - ss->roff; }

/* Send helpers: they take care of closed transports and never fail the
 * session on a transport error (the stream is simply gone). */
int ss_write(sstream *ss, const uint8_t *p, size_t len, bool fin);
int ss_write_wbuf(sstream *ss, wbuf *w, bool fin);
int ss_write_slices(sstream *ss, const moqc_slice *sl, size_t n, bool fin);
void ss_fin(sstream *ss);
/* RESET our send half (if still open) and STOP_SENDING the peer's (bidi/peer
 * uni, if still open). */
void ss_abort(sstream *ss, uint64_t code);
void ss_reset(sstream *ss, uint64_t code);
void ss_stop(sstream *ss, uint64_t code);

/* Queue a stream opening. It is never synchronous: the queue is drained at
 * the end of the current event-handling pass (the outermost sess_exit), in
 * FIFO order per direction, and, when the transport is out of stream credit,
 * on its writable event. opened() or failed() (an open error other than
 * AGAIN) is called from there. A no-op on a closing session (the teardown
 * destroys the owner) or if op is queued already. */
void sess_open(moqc_session *s, opener *op);
void sess_open_cancel(opener *op);
void sess_drain_pending_open(moqc_session *s);
/* Openers queued that are not waiting for credit. */
static inline bool sess_open_ready(const moqc_session *s) {
  if (sess_closing(s)) return false;
  return (!slist_empty(&s->pending_open[0]) && !s->open_blocked[0]) ||
         (!slist_empty(&s->pending_open[1]) && !s->open_blocked[1]);
}
/* Resume parked streams whose wait is over. */
void sess_unpark(moqc_session *s);

/* Handler entry points used by session.c. */
void ss_on_opened(moqc_session *s, int64_t id);
void ss_on_data(moqc_session *s, int64_t id, const uint8_t *p, size_t len, bool fin);
void ss_on_reset(moqc_session *s, int64_t id, uint64_t code);
void ss_on_stop(moqc_session *s, int64_t id, uint64_t code);
void ss_on_closed(moqc_session *s, int64_t id);

/* ---- setup.c -------------------------------------------------------------------- */

void setup_send(moqc_session *s);

/* ---- announce.c ----------------------------------------------------------------- */

void pa_destroy_all(moqc_session *s);
void sa_start(moqc_session *s);
void sa_destroy(moqc_session *s);

/* ---- remote.c ------------------------------------------------------------------- */

int rb_announce(moqc_session *s, const char *path, const moqc_route *route, int status);
/* True if the peer announced path to us (and has not ended it). */
bool rb_has(moqc_session *s, const char *path);
void rb_ended(moqc_session *s, const char *path);
void rb_drop_all(moqc_session *s, uint64_t code);
rtrack *rt_by_id(moqc_session *s, uint64_t id);
/* A group of rt ended: a draining track may close now. */
void rt_group_done(rtrack *rt);
/* A group stream of this subscription was bound to a new group. */
void rt_group_bound(rtrack *rt);

/* ---- group.c --------------------------------------------------------------------- */

/* Called when the rtrack lets go of its groups. */
void gi_cancel(group_in *gi, uint64_t code);
void sess_datagram(moqc_session *s, const uint8_t *p, size_t len);
void frx_init(frx *rx, moqc_group_producer *g, uint64_t timescale);
void frx_abort(frx *rx, uint64_t code);
/* Returns bytes consumed from p (or a negative error for the stream). */
int frx_feed(moqc_session *s, sstream *ss, frx *rx, const uint8_t *p, size_t len, size_t *used);
/* Feed a data-mode stream's bytes into rx: FRX_MORE (keep going), FRX_FAILED
 * (the stream was stopped / reset and rx aborted, or the session failed),
 * FRX_END_OK / FRX_END_BAD (FIN: rx finished / aborted with WrongSize). */
enum { FRX_MORE, FRX_FAILED, FRX_END_OK, FRX_END_BAD };
int frx_stream_data(sstream *ss, frx *rx, const uint8_t *p, size_t len, bool fin);

/* ---- serve.c ---------------------------------------------------------------------- */

void go_pump(group_out *go);
void go_cancel(group_out *go, uint64_t code);
group_out *go_new(moqc_session *s, moqc_group_consumer *gc);
void go_start_fetch(group_out *go, sstream *ss, uint8_t priority);
void serve_tick(moqc_session *s);
/* The uni queue is out of credit: skip each subscription's oldest waiting
 * groups beyond max_pending_groups. */
void serve_trim_pending(moqc_session *s);
void serve_destroy_all(moqc_session *s);

/* ---- pub_track_fetch.c ---------------------------------------------------------------- */

void pf_group_done(pub_fetch *pf, bool ok, uint64_t code);
void tf_destroy_all(moqc_session *s);

/* ---- sub_fetch.c ------------------------------------------------------------------------ */

void sf_destroy_all(moqc_session *s);

/* ---- probe.c ------------------------------------------------------------------------ */

void probe_open(moqc_session *s);
void probe_destroy_all(moqc_session *s);

/* ---- shared helpers -------------------------------------------------------------------- */

/* Resolve a broadcast of the publish origin for a peer request (path from the
 * wire, normalised here). NULL with *code set to the reset code. */
moqc_broadcast_consumer *sess_resolve(moqc_session *s, moqc_bytes path, uint64_t *code);
/* Copy wire bytes into a NUL-terminated string (NULL on OOM). */
char *sess_strdup_bytes(moqc_bytes b);
/* Normalise a wire path into dst (cap MOQC_PATH_MAX_LEN + 1). <0 on error. */
int sess_norm_path(moqc_bytes b, char *dst, size_t cap);
/* Map a decode return to a fatal session error; returns true if it failed. */
bool sess_decode_failed(moqc_session *s, ssize_t rc, const char *what);

#endif
