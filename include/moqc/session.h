/* moqc — a moq-lite session (lite-03, lite-04, lite-05), sans-IO.
 *
 * A session binds one established connection (a moqc_transport) to two
 * origins of the pub/sub model (model.h):
 *   - the PUBLISH origin: everything it holds is offered to the peer. The
 *     session answers the peer's ANNOUNCE_PLEASE with the active set and its
 *     changes, and serves the peer's SUBSCRIBE / TRACK / FETCH from it;
 *   - the SUBSCRIBE origin: the session asks the peer for its announcements
 *     (ANNOUNCE_PLEASE, prefix "") and inserts every announced broadcast into
 *     this origin. The broadcast's tracks are subscribed upstream on demand:
 *     when a local consumer subscribes to a track of such a broadcast, the
 *     session sends SUBSCRIBE (lite-05: TRACK first, then SUBSCRIBE once
 *     TRACK_INFO arrived) and feeds the received groups into the track.
 * Either origin may be NULL. Both are already scoped / re-rooted by the caller
 * (the connection's URL path is their root), so every path on the wire is
 * relative to them.
 *
 * The session never touches a socket or a system clock. It talks only to the
 * transport's ops and handler, and reads time from the env's moqc_clock
 * (timers for PROBE reports and group expiry). Consumers in the model are
 * driven by wakers, so the embedding loop must run moqc_env_run() whenever
 * moqc_env_pending() (the libuv runtime does this; tests call it by hand).
 *
 * ---------------------------------------------------------------------------
 * Lifecycle
 * ---------------------------------------------------------------------------
 * Client:  s = moqc_session_new(t, &cfg /+is_server=false+/);
 *          moqc_session_start(s, publish, subscribe);    // lite-05: SETUP now
 * Server:  s = moqc_session_new(t, &cfg /+is_server=true+/);
 *          ... cfg.on_request(ctx, s, &req) fires, never from inside
 *          moqc_session_new: on lite-03/04 from a zero-delay timer on the
 *          env's clock (the next time it runs), after the client's SETUP on
 *          lite-05 ...
 *          moqc_session_accept(s, publish, subscribe) or
 *          moqc_session_reject(s, code, reason);
 * Either:  moqc_session_close(s, code, reason);   // optional
 *          moqc_session_del(s);                   // always, exactly once
 * on_closed fires exactly once when the session ends (local close, peer
 * close, transport loss, or a protocol error), unless moqc_session_del came
 * first. For a local end it runs before the call that caused it returns
 * (moqc_session_close, moqc_session_reject, or the handler call in which the
 * peer's input turned out malformed).
 *
 * When the session ends for any reason, every broadcast it inserted into the
 * subscribe origin that the peer had not ended with ANNOUNCE "ended" is
 * aborted with MOQC_CODE_DROPPED (the origin may linger on it, see model.h);
 * tracks being received read MOQC_ERR_DROPPED. A clean ANNOUNCE "ended"
 * finishes the broadcast instead, and a track whose upstream subscription
 * ended cleanly reads MOQC_ERR_CLOSED.
 *
 * ---------------------------------------------------------------------------
 * Threading and callbacks
 * ---------------------------------------------------------------------------
 * A session belongs to the thread of its env and its transport; nothing here is
 * thread-safe. Callbacks (on_request, on_closed) run from inside transport
 * handler calls, timers or wakers, never from inside moqc_session_new. Inside
 * them every function of this header may be called on the session, including
 * moqc_session_del (it is deferred until the callback returns).
 *
 * Unless stated otherwise, int-returning functions return MOQC_OK or a negative
 * moqc_err (error.h). Strings passed in are copied; strings returned are
 * borrowed from the session and valid until moqc_session_del.
 */
#ifndef MOQC_SESSION_H
#define MOQC_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "moqc/export.h"
#include "moqc/model.h"
#include "moqc/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct moqc_session moqc_session;

/* The moq-lite versions a session speaks (the number after "moq-lite-"). */
#define MOQC_SESSION_LITE_03 3
#define MOQC_SESSION_LITE_04 4
#define MOQC_SESSION_LITE_05 5
/* IETF moq-transport drafts (the draft number; ALPN moq-00 for 14, moqt-NN). */
#define MOQC_SESSION_IETF_14 14
#define MOQC_SESSION_IETF_15 15
#define MOQC_SESSION_IETF_16 16

/* What the client intends to do (lite-05 SETUP Role). */
typedef enum moqc_session_role {
  MOQC_SESSION_ROLE_BOTH = 0,
  MOQC_SESSION_ROLE_PUBLISHER = 1,  /* only publishes */
  MOQC_SESSION_ROLE_SUBSCRIBER = 2, /* only subscribes */
} moqc_session_role;

/* What a server learns about a client before accepting it. All pointers are
 * borrowed, valid during the on_request call only. */
typedef struct moqc_session_request {
  int version;      /* MOQC_SESSION_LITE_0x or MOQC_SESSION_IETF_xx */
  const char *path; /* the lite-05 SETUP Path when present, else the
                           transport's path ("/anon?jwt=..."); "" if none */
  moqc_session_role role;
  uint64_t peer_origin; /* the client's origin (hop) id from SETUP; 0 = none
                           (always 0 on lite-03/04) */
  /* IETF only (NULL otherwise / when absent); valid during on_request: */
  const char *auth_token;     /* the AUTHORIZATION TOKEN setup parameter's value
                                 (USE_VALUE or REGISTER); authenticate with it as
                                 with a ?jwt= in the path */
  const char *authority;      /* the AUTHORITY setup parameter */
  const char *implementation; /* the peer's implementation name */
} moqc_session_request;

/* Per-session resource caps. 0 = the default in brackets. */
typedef struct moqc_session_limits {
  size_t max_streams;           /* peer-opened streams alive at once [1024]; more
                               are reset/stopped with BoundsExceeded */
  size_t max_subscriptions;     /* peer SUBSCRIBE/FETCH/TRACK requests served at
                               once [256]; more are reset with BoundsExceeded */
  size_t max_announced;         /* broadcasts the peer may announce to us at once
                               [server sessions 4096, client sessions unlimited];
                               one more refuses the peer: lite closes the session
                               with BoundsExceeded, IETF answers the
                               PUBLISH_NAMESPACE with an error. The same when the
                               subscribe origin's account (moqc_account) refuses
                               the broadcast. Never a silent drop. */
  size_t max_tracks;            /* tracks subscribed upstream at once [1024]; more
                               requests are rejected with BoundsExceeded */
  size_t max_queued_bytes;      /* when the transport holds more bytes not yet
                               sent (its backlog; unacknowledged bytes if it
                               reports no backlog) than this, the oldest in-flight groups
                               (never a subscription's newest) are reset with
                               Old so new groups keep flowing [4 MiB] */
  size_t max_pending_groups;    /* groups of one subscription waiting for stream
                               credit; the oldest beyond this are skipped [64] */
  size_t max_announce_prefixes; /* lite ANNOUNCE_PLEASE (announce-prefix
                               subscription) streams served at once [64]; more
                               are reset with BoundsExceeded */
  uint64_t max_ingress_rate;    /* bytes per second the peer may send (stream and
                               datagram bytes), a token bucket refilled at this
                               rate [0 = unlimited]; a peer that empties the
                               bucket is closed with BoundsExceeded */
  uint64_t ingress_burst;       /* the bucket's size in bytes [max_ingress_rate,
                               i.e. one second's worth] */
  uint64_t max_group_rate;      /* groups per second the peer may start, over all
                               its tracks (group streams and datagrams, counted at
                               the group header), a token bucket refilled at this
                               rate [0 = unlimited]; a peer that empties it is
                               closed with BoundsExceeded (moq-lite) or
                               TOO_MANY_REQUESTS (0x7, IETF), reason
                               "group rate over quota" */
  uint64_t group_burst;         /* the bucket's size in groups [max_group_rate,
                               i.e. one second's worth] */
  size_t max_requests;          /* IETF drafts 14-16: requests the peer may have
                               open at once, our MAX_REQUEST_ID window [1024].
                               Open: a SUBSCRIBE / FETCH we serve, a
                               SUBSCRIBE_NAMESPACE we follow, a TRACK_STATUS
                               not answered yet; any other request completes
                               when answered. We advertise 2 * max_requests and
                               raise it (MAX_REQUEST_ID) as requests complete,
                               by half a window at a time, or at once on the
                               peer's REQUESTS_BLOCKED; never past max_requests
                               open. A request id at or over what we allowed
                               closes the session with TOO_MANY_REQUESTS (0x7).
                               Drafts 17+ use QUIC's stream limit instead. */
} moqc_session_limits;

typedef struct moqc_session_config {
  moqc_env *env; /* required: clock and wakers */
  int version; /* 0: from transport->protocol ("moq-lite-0x", "moq-00", "moqt-15/16"); else forced */
  bool is_server;
  uint64_t origin_id;     /* our origin (hop) id, < 2^53; 0: the publish origin's
                          id, else the subscribe origin's, else none */
  const char *path;       /* client, lite-05: sent as the SETUP Path parameter when
                          the transport is not WebTransport (raw QUIC has no
                          URL); NULL = none. Copied. */
  const char *auth_token; /* client, IETF: sent as the AUTHORIZATION TOKEN setup
                          parameter (alias type USE_VALUE, token type 0);
                          NULL = none. Copied. */
  bool probe;             /* open a PROBE stream toward the peer to receive its
                          bandwidth / RTT estimates (lite-05: only if the peer's
                          SETUP advertises Probe >= Report) */
  moqc_session_limits limits;

  void *ctx; /* passed to the callbacks */
  /* Server: the client's request is known. Call moqc_session_accept or
   * moqc_session_reject (now or later). Required for servers. */
  void (*on_request)(void *ctx, moqc_session *s, const moqc_session_request *req);
  /* The session ended. code/reason: what was sent or received (reason
   * borrowed for the call), code in the version's registry (see
   * moqc_session_closed_code). by_peer: the peer (or the network) ended it. */
  void (*on_closed)(void *ctx, moqc_session *s, uint64_t code, const char *reason, bool by_peer);
  /* Optional diagnostics (debug level), one line without a newline, borrowed
   * for the call: e.g. why a group was reset with Old (which trigger, with
   * its numbers). Only formatted when set. Must not call back into s. */
  void (*on_debug)(void *ctx, moqc_session *s, const char *msg);
} moqc_session_config;

/* Create a session on an established transport and take ownership of it (the
 * session installs itself as the transport's handler; moqc_session_del
 * releases the transport). cfg is copied.
 * Returns NULL, leaving the transport to the caller, on OOM, on a missing
 * env, or when no version can be determined (cfg->version 0 and a
 * transport->protocol that is none of moq-lite-03/04/05, moq-00, moqt-15/16).
 * No callback of cfg runs from inside this call (on_request included: see
 * Lifecycle above). */
MOQC_API moqc_session *moqc_session_new(moqc_transport *t, const moqc_session_config *cfg);

/* Client: start with the given origins (either may be NULL; each is
 * referenced, not copied). lite-05: our SETUP stream is opened and written
 * right away. MOQC_ERR_STATE on a server or if already started; MOQC_ERR_CLOSED
 * if the session ended. */
MOQC_API int moqc_session_start(moqc_session *s, moqc_origin *publish, moqc_origin *subscribe);

/* Server: accept the request (see start for the origins). MOQC_ERR_STATE if no
 * request is pending (too early, or already answered); MOQC_ERR_CLOSED. */
MOQC_API int moqc_session_accept(moqc_session *s, moqc_origin *publish, moqc_origin *subscribe);
/* Server: refuse the request: the connection is closed with code/reason.
 * code is a moqc_code, sent as moqc_close_code_to_wire maps it for the
 * session's version (IETF: MOQC_CODE_UNAUTHORIZED goes out as UNAUTHORIZED
 * 0x2). MOQC_ERR_STATE if no request is pending; MOQC_ERR_INVAL if code is over
 * MOQC_CODE_MAX. */
MOQC_API int moqc_session_reject(moqc_session *s, uint64_t code, const char *reason);

/* Close the connection with a moqc_code (0 = clean) and reason (copied; may be
 * NULL). No-op once closed. on_closed fires (by_peer = false). On a moq-lite
 * session the code goes on the wire as it is; on an IETF session it is mapped
 * to the draft's session code (moqc_close_code_to_wire: Cancel -> NO_ERROR,
 * ProtocolViolation -> PROTOCOL_VIOLATION, App codes -> INTERNAL_ERROR).
 * A code over MOQC_CODE_MAX is sent as MOQC_CODE_TRANSPORT. */
MOQC_API void moqc_session_close(moqc_session *s, uint64_t code, const char *reason);

/* Close (code 0) if still open, release everything, release the transport, free.
 * NULL is a no-op. Safe from inside a session callback (deferred). */
MOQC_API void moqc_session_del(moqc_session *s);

/* Negotiated version (MOQC_SESSION_LITE_0x or MOQC_SESSION_IETF_xx). */
MOQC_API int moqc_session_version(const moqc_session *s);
/* Its protocol identifier (the ALPN): "moq-lite-05", "moq-00" (IETF
 * draft-14), "moqt-16", ... Static string; never NULL. */
MOQC_API const char *moqc_session_protocol(const moqc_session *s);
/* True if the session runs IETF moq-transport (not moq-lite). */
MOQC_API bool moqc_session_is_ietf(const moqc_session *s);
/* True once the session ended. */
MOQC_API bool moqc_session_is_closed(const moqc_session *s);
/* Close code / reason ("" if none) / who closed; meaningful once closed.
 * The code is the one on the wire (sent or received), in the registry of the
 * session's version: a moqc_code on moq-lite, the draft's Session Termination
 * Error Code on IETF (0x3 is PROTOCOL_VIOLATION there, Timeout on lite). Name it
 * with moqc_close_code_str(moqc_session_version(s), code) and read it with
 * moqc_close_code_err; on_closed gets the same code. */
MOQC_API uint64_t moqc_session_closed_code(const moqc_session *s);
MOQC_API const char *moqc_session_closed_reason(const moqc_session *s);
MOQC_API bool moqc_session_closed_by_peer(const moqc_session *s);
/* The peer's origin (hop) id: from its lite-05 SETUP or its lite-05
 * ANNOUNCE_OK; 0 if unknown. */
MOQC_API uint64_t moqc_session_peer_origin(const moqc_session *s);
/* The URI of a GOAWAY received from the peer (lite-04+, IETF), or NULL
 * ("" when the GOAWAY named none). */
MOQC_API const char *moqc_session_goaway(const moqc_session *s);
/* IETF: send GOAWAY (draft 14-16 on the control stream, 17+ on our SETUP
 * stream) naming `uri` (NULL or "": none, i.e. reconnect to the same place),
 * telling the peer to move before we close; timeout 0 on 17+. Once per
 * session. MOQC_ERR_UNSUPPORTED on moq-lite, MOQC_ERR_STATE if the session is
 * not running or a GOAWAY was sent already, MOQC_ERR_INVAL for a URI over
 * 8192 bytes. Loop thread, any callback. */
MOQC_API int moqc_session_send_goaway(moqc_session *s, const char *uri);

/* lite-05 FETCH (or, on IETF, a standalone FETCH of that one group; drafts
 * 17+ on a request stream of its own, FINned once the group arrived) of one group of a track of the peer's broadcast `path` (as it
 * appears in the subscribe origin). Returns a group consumer (caller owns)
 * that fills as the frames arrive and ends CLOSED, or with the peer's reset
 * code (NOT_FOUND when the group is not cached there, UNROUTABLE for an
 * unknown broadcast), or DROPPED if the session ends first. Deleting every
 * consumer of the group (this one and its clones) before it ends cancels the
 * fetch on the wire (lite: the FETCH stream reset; IETF: FETCH_CANCEL, 17+
 * its request stream cancelled). Counts against limits.max_subscriptions
 * while in progress. May be called as soon as the session started (IETF
 * 14-16: the FETCH waits for SERVER_SETUP). NULL with *err:
 * MOQC_ERR_UNSUPPORTED (lite-03/04),
 * MOQC_ERR_STATE (not started),
 * MOQC_ERR_CLOSED, MOQC_ERR_BOUNDS (too many requests), MOQC_ERR_INVAL,
 * MOQC_ERR_NOMEM. */
MOQC_API moqc_group_consumer *moqc_session_fetch(moqc_session *s, const char *path,
                                                 const char *track, uint64_t sequence,
                                                 uint8_t priority, int *err);

/* The answer to moqc_session_track_status. Borrowed for the callback. */
typedef struct moqc_session_track_status_result {
  int status;              /* MOQC_OK; MOQC_ERR_NOT_FOUND (the peer has no such
                              track: DOES_NOT_EXIST); MOQC_ERR_UNEXPECTED (any
                              other refusal, its wire code in `code`) */
  uint64_t code;           /* the peer's request error code (0 when OK) */
  bool has_largest;        /* the track has content: its largest location */
  uint64_t largest_group;  /* ... the group */
  uint64_t largest_object; /* ... and the object (moqc: frame index) in it */
} moqc_session_track_status_result;
typedef void (*moqc_session_track_status_fn)(void *ctx, moqc_session *s,
                                             const moqc_session_track_status_result *st);

/* IETF (drafts 14-19): ask the peer for the status of track `track` of its
 * broadcast `path` (TRACK_STATUS): cb(ctx, s, status) fires once, from
 * inside a transport handler call, when the answer arrives (every function of
 * this header may be called from it, moqc_session_del included), and never
 * once the session ended first (watch on_closed). Strings are copied. Held
 * under the peer's MAX_REQUEST_ID like any request (14-16); 17+: on a
 * request stream of its own (the stream ending unanswered fires cb with
 * MOQC_ERR_UNEXPECTED, code 0). Returns MOQC_OK, or:
 * MOQC_ERR_INVAL (NULL argument, a path that is no namespace tuple),
 * MOQC_ERR_UNSUPPORTED (moq-lite: its TRACK answers the track's info, not a
 * location, see moqc_track_info_query_new in model.h),
 * MOQC_ERR_CLOSED, MOQC_ERR_STATE (not running yet), MOQC_ERR_NOMEM. Loop
 * thread. */
MOQC_API int moqc_session_track_status(moqc_session *s, const char *path, const char *track,
                                       moqc_session_track_status_fn cb, void *ctx);

/* IETF (drafts 14-19): push track `track` of broadcast `path` (as it appears
 * in the publish origin) to the peer with PUBLISH, without waiting for its
 * SUBSCRIBE (how libquicr publishes). The track is consumed from its latest
 * group on; groups start flowing once the peer's PUBLISH_OK arrives (those
 * produced meanwhile wait in the cache) and PUBLISH_DONE ends the push with
 * the track, as for a served SUBSCRIBE. If the peer refuses (PUBLISH_ERROR /
 * REQUEST_ERROR: moq-dev's relay declines every PUBLISH), the push just
 * ends: the track stays reachable the usual way, through the namespace
 * announced with PUBLISH_NAMESPACE and the peer's SUBSCRIBE. 17+: on a
 * request stream of its own (PUBLISH_OK on 17, REQUEST_OK on 18+; the
 * peer's FIN or RESET of it ends the push). Counts against
 * limits.max_subscriptions. Returns MOQC_OK, or MOQC_ERR_INVAL (NULL
 * argument, a path that is no namespace tuple), MOQC_ERR_UNSUPPORTED
 * (moq-lite, which has no push), MOQC_ERR_STATE (not
 * running, or no publish origin), MOQC_ERR_CLOSED, MOQC_ERR_UNROUTABLE (no
 * such broadcast), MOQC_ERR_NOT_FOUND (no such track), MOQC_ERR_BOUNDS,
 * MOQC_ERR_NOMEM. Strings are copied. Loop thread, any callback. */
MOQC_API int moqc_session_publish_track(moqc_session *s, const char *path, const char *track);

/* The latest PROBE report received from the peer (cfg.probe): bits/s and ms,
 * 0 = unknown. Returns false if none arrived yet. */
MOQC_API bool moqc_session_peer_estimate(const moqc_session *s, uint64_t *bitrate_bps,
                                         uint64_t *rtt_ms);

/* ---------------------------------------------------------------------------
 * Delivery events (publisher side)
 * ---------------------------------------------------------------------------
 * The transport reports when a stream is acknowledged in full
 * (moqc_transport_handler.stream_acked); the session passes that on, so an
 * application waits for delivery instead of polling moqc_session_get_stats. */

/* One subscription of the peer has every group it was sent so far
 * acknowledged. Borrowed for the call. */
typedef struct moqc_session_delivery {
  uint64_t subscribe_id; /* the peer's SUBSCRIBE id */
  const char *track;     /* track name */
  uint64_t groups_acked; /* group streams of this subscription acknowledged
                            in full so far (datagrams are not counted) */
  bool track_done;       /* the track ended: no further group will follow
                            (the subscription's FIN follows after a linger) */
} moqc_session_delivery;

typedef struct moqc_session_events {
  /* Fired each time a group stream is acknowledged and no other group of its
   * subscription is left in flight (every group written so far is
   * delivered, or was reset). Optional. */
  void (*delivered)(void *ctx, moqc_session *s, const moqc_session_delivery *d);
  /* Fired when the publisher side becomes idle: no peer SUBSCRIBE/FETCH is
   * being served and no group is in flight (stats.serving == 0 and
   * stats.groups_in_flight == 0), i.e. moqc_session_is_idle() turned true.
   * Edge-triggered: once per transition, not at registration (ask
   * moqc_session_is_idle() then). Never fires after the session ended.
   * Optional. */
  void (*idle)(void *ctx, moqc_session *s);
} moqc_session_events;

/* Install (ev copied; NULL removes) the delivery events with their ctx. The
 * callbacks run on the session's thread, from inside transport handler calls,
 * timers or wakers, like on_closed, with the same rules: every function of
 * this header may be called from them, moqc_session_del included (deferred).
 * Replaces any previous set. s NULL: no-op. */
MOQC_API void moqc_session_set_events(moqc_session *s, const moqc_session_events *ev, void *ctx);
/* Nothing served and no group in flight (see moqc_session_events.idle). */
MOQC_API bool moqc_session_is_idle(const moqc_session *s);

/* Counters, for tests and metrics. */
typedef struct moqc_session_stats {
  uint64_t streams_opened;    /* by us */
  uint64_t streams_accepted;  /* by the peer */
  uint64_t streams_rejected;  /* peer streams reset/stopped (unknown type, caps) */
  uint64_t subscribes_served; /* peer SUBSCRIBEs accepted */
  uint64_t groups_sent;       /* group streams completed (FIN) */
  uint64_t groups_reset_old;  /* group streams reset with Old (expired / slow) */
  uint64_t groups_received;   /* group streams completed from the peer */
  uint64_t frames_received;
  uint64_t bytes_received;     /* frame payload bytes */
  uint64_t announces_received; /* ANNOUNCE active accepted */
  uint64_t announces_dropped;  /* loops, > 32 hops, caps */
  uint64_t datagrams_received; /* lite-05 DATAGRAMs / IETF OBJECT_DATAGRAMs taken */
  uint64_t datagrams_sent;     /* lite-05: groups sent as one DATAGRAM; IETF: OBJECT_DATAGRAMs */
  uint64_t datagrams_dropped;  /* IETF OBJECT_DATAGRAMs dropped: unknown track alias, or too
                                  late for their group (docs/wire.md) */
  uint64_t probes_sent;
  /* Current values. */
  uint64_t streams_live;      /* streams the session still tracks */
  uint64_t serving;           /* peer SUBSCRIBE/FETCH served + our FETCHes */
  uint64_t groups_in_flight;  /* group streams not yet acknowledged in full */
  uint64_t remote_broadcasts; /* announced by the peer, live */
  uint64_t remote_tracks;     /* tracks we receive from the peer */
  /* Refusals by the cap of moqc_session_limits that caused them (counters). */
  uint64_t refused_streams;           /* max_streams (also in streams_rejected) */
  uint64_t refused_subscriptions;     /* max_subscriptions (also in streams_rejected) */
  uint64_t refused_announces;         /* max_announced (also in announces_dropped) */
  uint64_t refused_tracks;            /* max_tracks */
  uint64_t refused_announce_prefixes; /* max_announce_prefixes */
  uint64_t refused_ingress;           /* max_ingress_rate: 1 when the session was closed */
  uint64_t refused_group_rate;        /* max_group_rate: 1 when the session was closed */
  uint64_t refused_announces_root;    /* the subscribe origin's account (moqc_account
                                         max_broadcasts: a relay's per-root cap) was full */
  uint64_t unauthorized_announces;    /* outside the subscribe origin's scope (also in
                                         announces_dropped) */
  uint64_t pushes_accepted;           /* IETF: our PUBLISHes (moqc_session_publish_track)
                                         the peer accepted (PUBLISH_OK / REQUEST_OK) */
} moqc_session_stats;
MOQC_API moqc_session_stats moqc_session_get_stats(const moqc_session *s);
/* Replace the session's group-rate cap (moqc_session_limits.max_group_rate /
 * group_burst, same meaning; rate 0 = unlimited). The bucket starts full.
 * Meant for a server deciding per peer in its request callback (a relay lifts
 * it for a peer relay that carries many broadcasts on one session); callable
 * any time from the session's loop thread. MOQC_ERR_INVAL if s is NULL. */
MOQC_API int moqc_session_set_group_rate(moqc_session *s, uint64_t rate, uint64_t burst);

/* acc += s, field by field, for every field (counters and current values
 * alike: the sum over sessions). Every field of moqc_session_stats is a
 * uint64_t, so a field added later is summed too. Pure; any thread. */
MOQC_API void moqc_session_stats_add(moqc_session_stats *acc, const moqc_session_stats *s);

#ifdef __cplusplus
}
#endif
#endif
