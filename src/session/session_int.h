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
 * exit. After any call that may fail the session, check s->closing.
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
#define DEF_MAX_ANNOUNCE_PREFIXES 64u

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

enum sk {
  SK_UNKNOWN, /* peer-opened, type not read yet */
  SK_DISCARD, /* rejected or abandoned: further data is dropped */
  SK_SETUP_IN,
  SK_SETUP_OUT,
  SK_ANNOUNCE_IN,  /* peer asked for our announcements */
  SK_ANNOUNCE_OUT, /* we asked for the peer's */
  SK_SUBSCRIBE_IN,
  SK_SUBSCRIBE_OUT,
  SK_TRACK_IN,
  SK_TRACK_OUT,
  SK_FETCH_IN,
  SK_FETCH_OUT,
  SK_PROBE_IN,
  SK_PROBE_OUT,
  SK_GOAWAY_IN,
  SK_GROUP_IN,
  SK_GROUP_OUT,
};

struct sstream {
  sobj obj;
  moqc_session *s;
  int64_t id; /* key in session.streams while in_table */
  uint8_t kind;    /* enum sk */
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
  moqc_smap active; /* suffixes sent as active (values: the map itself) */
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
  bool acked;   /* the transport reported the stream acknowledged in full */
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
  uint64_t groups_acked; /* group streams acknowledged in full */
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

enum sess_state { ST_IDLE, ST_WAIT_SETUP, ST_REQUEST, ST_RUNNING };

struct moqc_session {
  moqc_env *env;
  moqc_clock *clock;
  moqc_transport *t;
  moqc_session_config cfg;
  moqc_session_limits lim;
  char *cfg_path;
  int version;
  int state;
  unsigned depth;
  bool closing;      /* ended: no more protocol work */
  bool torn_down;
  bool del_pending;
  bool in_new;
  /* moqc_session_set_events */
  moqc_session_events ev;
  void *ev_ctx;
  bool ev_idle_sent; /* `idle` fired and the session has stayed idle since */
  bool transport_closed;
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

  moqc_imap streams; /* sstream by id */
  size_t peer_streams;
  slist parked;
  slist pending_open[2]; /* [0] bidi, [1] uni: openers waiting for credit */

  /* publisher side */
  slist pub_announces, pub_subs, pub_tracks, pub_fetches;
  size_t n_pub_announces; /* length of pub_announces (max_announce_prefixes) */
  slist inflight;
  size_t n_served;

  /* subscriber side */
  sub_announce *sann;
  moqc_smap rbcasts; /* rbcast by path (while announced) */
  slist rbcast_list;
  size_t n_rbcasts;
  moqc_imap rtracks; /* rtrack by subscribe id while subscribed */
  size_t n_rtracks;
  uint64_t next_sub_id;
  slist sub_fetches;

  slist probes;
  moqc_timer tick;
  char *goaway_uri;
  bool have_estimate;
  uint64_t est_bitrate, est_rtt;
  moqc_session_stats stats;
  /* ingress token bucket (lim.max_ingress_rate != 0) */
  uint64_t ingress_tokens; /* bytes the peer may still send now */
  uint64_t ingress_at;     /* clock time of the last refill (ns) */
  sobj *graveyard;
};

/* ---- session.c ------------------------------------------------------------------ */

void sess_enter(moqc_session *s);
void sess_exit(moqc_session *s);
/* End the session (idempotent). by_peer: the peer/network ended it (no
 * CONNECTION_CLOSE is sent). */
void sess_fail(moqc_session *s, uint64_t code, const char *reason, bool by_peer);
void sess_bury(moqc_session *s, sobj *o);
uint64_t sess_now(const moqc_session *s);
/* Charge len received bytes to the ingress token bucket. false: the peer went
 * over lim.max_ingress_rate and the session is closing (drop the bytes). */
bool sess_ingress(moqc_session *s, size_t len);
/* Diagnostics to cfg.on_debug (formatted only when it is set). */
void sess_debug(moqc_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline bool sess_debug_on(const moqc_session *s) { return s->cfg.on_debug != NULL; }
void sess_tick_arm(moqc_session *s);
/* Start the running state (client start / server accept). */
void sess_run(moqc_session *s);

/* ---- stream.c ------------------------------------------------------------------- */

sstream *ss_find(moqc_session *s, int64_t id);
sstream *ss_new(moqc_session *s, int64_t id, uint8_t kind, bool peer, void *owner);
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

/* Open a stream now (opened() is called before this returns) or when credit
 * arrives (returns MOQC_ERR_AGAIN). Other errors: nothing is queued. */
int sess_open(moqc_session *s, opener *op);
void sess_open_cancel(opener *op);
void sess_drain_pending_open(moqc_session *s);
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
int setup_in_process(sstream *ss);
void setup_in_fin(sstream *ss);

/* ---- announce.c ----------------------------------------------------------------- */

int pa_process(sstream *ss);
void pa_end(sstream *ss, bool reset, uint64_t code);
void pa_destroy_all(moqc_session *s);
void sa_start(moqc_session *s);
int sa_process(sstream *ss);
void sa_end(sstream *ss, bool reset, uint64_t code);
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
int rt_info_process(sstream *ss);
void rt_info_end(sstream *ss, bool reset, uint64_t code);
int rt_sub_process(sstream *ss);
void rt_sub_end(sstream *ss, bool reset, uint64_t code);

/* ---- group.c --------------------------------------------------------------------- */

/* Data-mode input for SK_GROUP_IN and SK_FETCH_OUT streams. */
void gi_data(sstream *ss, const uint8_t *p, size_t len, bool fin);
void gi_reset(sstream *ss, uint64_t code);
/* Called when the rtrack lets go of its groups. */
void gi_cancel(group_in *gi, uint64_t code);
void sess_datagram(moqc_session *s, const uint8_t *p, size_t len);
void frx_init(frx *rx, moqc_group_producer *g, uint64_t timescale);
void frx_abort(frx *rx, uint64_t code);
/* Returns bytes consumed from p (or a negative error for the stream). */
int frx_feed(moqc_session *s, sstream *ss, frx *rx, const uint8_t *p, size_t len, size_t *used);
void sf_data_fin(sub_fetch *sf);

/* ---- serve.c ---------------------------------------------------------------------- */

int ps_process(sstream *ss);
void ps_end(sstream *ss, bool reset, uint64_t code);
void go_stream_gone(group_out *go, uint64_t code);
void go_pump(group_out *go);
void go_cancel(group_out *go, uint64_t code);
group_out *go_new(moqc_session *s, moqc_group_consumer *gc);
void go_start_fetch(group_out *go, sstream *ss, uint8_t priority);
/* Expiry only (Old by age, the queued-bytes cap); re-arms the tick while
 * something can expire. */
void serve_tick(moqc_session *s);
/* An in-flight group that could expire exists (the tick is worth arming). */
bool moqc__serve_can_expire(const moqc_session *s);
/* Transport event: stream id's send half is acknowledged in full. */
void moqc__serve_on_acked(moqc_session *s, int64_t id);
/* Nothing served and no group in flight (moqc_session_is_idle). */
bool moqc__sess_idle(const moqc_session *s);
void serve_destroy_all(moqc_session *s);

/* ---- track_fetch.c ------------------------------------------------------------------ */

int pt_process(sstream *ss);
void pt_end(sstream *ss, bool reset, uint64_t code);
int pf_process(sstream *ss);
void pf_end(sstream *ss, bool reset, uint64_t code);
void pf_group_done(pub_fetch *pf, bool ok, uint64_t code);
void sf_end(sstream *ss, bool reset, uint64_t code);
void tf_destroy_all(moqc_session *s);

/* ---- probe.c ------------------------------------------------------------------------ */

int probe_in_process(sstream *ss);
void probe_end(sstream *ss, bool reset, uint64_t code);
void probe_open(moqc_session *s);
int goaway_process(sstream *ss);
void goaway_end(sstream *ss, bool reset, uint64_t code);
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
