/* moqc session — internal state shared by the session's source files.
 *
 * Internal headers, by concern (each .c includes this one, which has them all):
 *   base_int.h      constants, sobj (buried objects), opener
 *   stream_int.h    streams: table, kinds (handler tables), buffers, openers
 *   pub_int.h       publisher side: served announces/subscriptions/groups/fetches
 *   sub_int.h       subscriber side: remote announces/tracks/groups, issued fetches
 *   session_int.h   the core: struct moqc_session, lifecycle, setup, probe
 *
 * Source files (see docs/session.md):
 *   session.c       lifecycle, transport handler, close/teardown, re-entrancy
 *   stream.c        stream table, receive buffering, stream-kind dispatch,
 *                   parking, opening streams (with credit waits), send helpers
 *   lite.c          the moq-lite binding (moqc__proto_lite)
 *   setup.c         lite-05 SETUP stream (both directions), server request
 *   announce.c      ANNOUNCE_PLEASE answered (publisher) and issued (subscriber)
 *   remote.c        remote broadcasts and tracks (subscriber side: TRACK,
 *                   SUBSCRIBE, responses, on-demand track requests)
 *   group.c         received group streams, FETCH responses and datagrams
 *   serve.c         SUBSCRIBE served (publisher side), group streams written,
 *                   expiry and slow-subscriber resets
 *   pub_track_fetch.c  TRACK and FETCH served (publisher side)
 *   sub_fetch.c     FETCH issued (subscriber side)
 *   probe.c         PROBE (both directions) and GOAWAY
 *
 * Re-entrancy: every entry point (transport callback, waker, timer, public
 * call) brackets its work with moqc__sess_enter/moqc__sess_exit. Objects are never freed
 * while a call is in progress: they are unlinked and "buried", and the
 * graveyard is emptied when the outermost call returns. A fatal error only
 * marks the session closed (moqc__sess_fail); the teardown runs at the outermost
 * exit. After any call that may fail the session, check sess_closing(s).
 * Streams are opened at the outermost exit too (moqc__sess_open).
 */
#ifndef MOQC_SESSION_INT_H
#define MOQC_SESSION_INT_H

#include "session/base_int.h"
#include "session/pub_int.h"
#include "session/stream_int.h"
#include "session/sub_int.h"

/* A PROBE stream: served (peer opened it: we report) or issued (we read). */
struct probe {
  sobj obj;
  moqc_link link;
  opener op;
  moqc_session *s;
  sstream *ss;
  bool serving;
  moqc_timer timer;
  bool sent_any;
  uint64_t last_bitrate, last_rtt, last_at;
};

/* ---- the wire protocol ----------------------------------------------------------- */

/* What a wire protocol plugs into the shared session (chosen from the
 * version in moqc_session_new). Besides this: its stream kinds (each with its
 * handlers, stream_int.h) and its control-message handlers inside them. */
typedef struct moqc__sess_proto {
  const char *name;
  /* Decode a peer stream's type (moqc__ss_hdr_parse contract: bytes used, NEED_MORE,
   * or an error). ctx: uint64_t *type, holding the session's version on entry
   * (IETF 17+ types use another varint). */
  hdr_dec_fn stream_type_decode;
  /* The kind of a peer stream of this type; NULL: reject it with *code (or the
   * session failed: check sess_closing). */
  const moqc__stream_kind *(*peer_kind)(moqc_session *s, bool bidi, uint64_t type, uint64_t *code);
  /* RUNNING entered: queue our own streams (setup, announce interest, ...). */
  void (*run)(moqc_session *s);
  /* A datagram while RUNNING (NULL: dropped). */
  void (*datagram)(moqc_session *s, const uint8_t *p, size_t len);
  /* Optional: protocol state (s->ietf) created in moqc_session_new, released
   * at the teardown (before the shared parts), freed with the session. */
  int (*init)(moqc_session *s);
  void (*teardown)(moqc_session *s);
  void (*free)(moqc_session *s);
  /* Optional: a local consumer asked for a track of a broadcast the peer
   * announced (remote.c); NULL: moq-lite's TRACK / SUBSCRIBE. */
  void (*track_request)(rbcast *rb, moqc_track_request *req);
  /* The server learns the request from an in-band setup message (no
   * zero-delay request timer). */
  bool server_waits_setup;
  /* Optional: the protocol's own group streams can expire (arms the session
   * tick, like moq-lite's in-flight groups), and the tick's expiry pass over
   * them (serve.c moqc__serve_tick calls it before moq-lite's). */
  bool (*can_expire)(const moqc_session *s);
  void (*expire)(moqc_session *s);
  /* Optional: out of uni credit: cap the protocol's own groups waiting for it
   * (serve.c moqc__serve_trim_pending calls it). */
  void (*trim_pending)(moqc_session *s);
  /* Optional: the protocol's own group streams not acknowledged in full yet
   * (added to moqc_session_stats.groups_in_flight). */
  size_t (*groups_in_flight)(const moqc_session *s);
  /* Optional: the CONNECTION_CLOSE code for moqc__sess_fail's `code`, a
   * moqc_code (a SESS_WIRE(c) code is sent as c without asking); NULL: the
   * code as it is (moq-lite). */
  uint64_t (*close_code)(const moqc_session *s, uint64_t code);
} moqc__sess_proto;

/* A close code already in the session's wire registry (IETF session codes
 * such as INVALID_REQUEST_ID that have no moqc_code), for moqc__sess_fail;
 * without the tag a code there is a moqc_code, the library's meaning, which the
 * protocol maps (close_code). Wire codes are 62-bit, so the tag bit is free. */
#define MOQC__CODE_WIRE (UINT64_C(1) << 63)
#define SESS_WIRE(c) ((uint64_t)(c) | MOQC__CODE_WIRE)

/* lite.c: moq-lite 03/04/05 */
extern const moqc__sess_proto moqc__proto_lite;
/* ietf.c: IETF moq-transport drafts 14-19 */
extern const moqc__sess_proto moqc__proto_ietf;
/* True for the IETF drafts a session speaks. */
static inline bool moqc__sess_ietf_version(int v) { return v >= 14 && v <= 19; }

/* ---- the session -------------------------------------------------------------- */

/* The session's one lifecycle (transitions asserted in moqc__sess_set_state):
 *   client: IDLE --start()--> RUNNING
 *   server: WAIT_SETUP --request known--> REQUEST --accept()--> RUNNING
 *   any of those --moqc__sess_fail--> CLOSING --teardown (outermost exit)--> CLOSED
 * CLOSING: ended, no more protocol work; model handles still held until the
 * teardown. CLOSED: everything released, on_closed fired; only _del remains. */
enum sess_state { ST_IDLE, ST_WAIT_SETUP, ST_REQUEST, ST_RUNNING, ST_CLOSING, ST_CLOSED };

struct moqc_session {
  /* core: setup, lifecycle, timers, limits, stats */
  moqc_env *env;
  moqc_clock *clock;
  moqc_transport *t;
  moqc_session_config cfg;
  moqc_session_limits lim;
  char *cfg_path;
  int version;
  const moqc__sess_proto *proto;
  struct ietf_state *ietf; /* ietf.c: IETF protocol state (NULL on moq-lite) */
  enum sess_state state;
  unsigned depth;   /* moqc__sess_enter nesting */
  bool del_pending; /* moqc_session_del called: free at the outermost exit */
  bool transport_closed;
  moqc_timer req_timer; /* lite-03/04 server: delivers on_request */
  uint64_t close_code;
  char *close_reason;
  bool close_by_peer;
  sobj *graveyard;
  /* moqc_session_set_events */
  moqc_session_events ev;
  void *ev_ctx;
  bool ev_idle_sent; /* `idle` fired and the session has stayed idle since */

  /* setup (lite-05 SETUP, server request) */
  uint64_t self_id, peer_id;
  bool peer_setup_seen;
  bool setup_in_seen;
  opener setup_op;
  uint8_t peer_probe, peer_role;
  char *req_path;
  char *req_token, *req_authority, *req_impl; /* IETF setup parameters (server) */
  bool moql;       /* draft-14 reached through `moql` / no WebTransport protocol */
  char *cfg_token; /* IETF AUTHORIZATION TOKEN to send (client) */

  size_t n_served; /* requests counted against max_subscriptions (both sides) */
  moqc_timer tick;
  moqc_link probes; /* PROBE streams, both directions */
  char *goaway_uri;
  bool have_estimate;
  uint64_t est_bitrate, est_rtt;
  moqc_session_stats stats;
  /* ingress token bucket (lim.max_ingress_rate != 0) */
  uint64_t ingress_tokens; /* bytes the peer may still send now */
  uint64_t ingress_at;     /* clock time of the last refill (ns) */
  /* group-rate token bucket (lim.max_group_rate != 0) */
  uint64_t group_tokens; /* groups the peer may still start now */
  uint64_t group_at;     /* clock time of the last refill (ns) */

  sess_streams st;
  sess_pub pub;
  sess_sub sub;
};

/* ---- session.c ------------------------------------------------------------------ */

/* Ended (CLOSING or CLOSED): no more protocol work. After any call that may
 * fail the session, check this (or the object's own `dead`). */
static inline bool sess_closing(const moqc_session *s) { return s->state >= ST_CLOSING; }
void moqc__sess_set_state(moqc_session *s, enum sess_state to);
/* WAIT_SETUP -> REQUEST, and on_request. */
void moqc__sess_request(moqc_session *s, const moqc_session_request *req);
void moqc__sess_enter(moqc_session *s);
void moqc__sess_exit(moqc_session *s);
/* End the session (idempotent). code: a moqc_code (the library's meaning; the
 * protocol picks the wire code, IETF: the draft's session code) or SESS_WIRE(c)
 * (c goes on the wire as it is). by_peer: the peer/network ended it (no
 * CONNECTION_CLOSE is sent; the code is still mapped). */
void moqc__sess_fail(moqc_session *s, uint64_t code, const char *reason, bool by_peer);
void moqc__sess_bury(moqc_session *s, sobj *o);
uint64_t moqc__sess_now(const moqc_session *s);
/* Charge len received bytes to the ingress token bucket. false: the peer went
 * over lim.max_ingress_rate and the session is closing (drop the bytes). */
bool moqc__sess_ingress(moqc_session *s, size_t len);
/* Charge one group started by the peer (a group stream's header, a datagram)
 * to the group-rate token bucket. false: the peer went over
 * lim.max_group_rate and the session is closing (drop the group). */
bool moqc__sess_group_rate(moqc_session *s);
/* Diagnostics to cfg.on_debug (formatted only when it is set). */
void moqc__sess_debug(moqc_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline bool sess_debug_on(const moqc_session *s) { return s->cfg.on_debug != NULL; }
void moqc__sess_tick_arm(moqc_session *s);
/* Start the running state (client start / server accept). */
void moqc__sess_run(moqc_session *s);
/* Nothing served and no group in flight (moqc_session_is_idle). */
bool moqc__sess_idle(const moqc_session *s);

/* Openers queued that are not waiting for credit. */
static inline bool sess_open_ready(const moqc_session *s) {
  if (sess_closing(s)) return false;
  return (!moqc_list_empty(&s->st.pending_open[0]) && !s->st.open_blocked[0]) ||
         (!moqc_list_empty(&s->st.pending_open[1]) && !s->st.open_blocked[1]);
}

/* ---- setup.c -------------------------------------------------------------------- */

void moqc__setup_send(moqc_session *s);

/* ---- probe.c ------------------------------------------------------------------------ */

void moqc__probe_open(moqc_session *s);
void moqc__probe_destroy_all(moqc_session *s);

/* ---- shared helpers -------------------------------------------------------------------- */

/* Resolve a broadcast of the publish origin for a peer request (path from the
 * wire, normalised here). NULL with *code set to the reset code. */
moqc_broadcast_consumer *moqc__sess_resolve(moqc_session *s, moqc_bytes path, uint64_t *code);
/* Copy wire bytes into a NUL-terminated string (NULL on OOM). */
char *moqc__sess_strdup_bytes(moqc_bytes b);
/* Normalise a wire path into dst (cap MOQC_PATH_MAX_LEN + 1). <0 on error. */
int moqc__sess_norm_path(moqc_bytes b, char *dst, size_t cap);
/* Map a decode return to a fatal session error; returns true if it failed. */
bool moqc__sess_decode_failed(moqc_session *s, ssize_t rc, const char *what);

#endif
