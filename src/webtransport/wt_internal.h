/* moqc transport — WebTransport-over-HTTP/3 adapter internals.
 *
 * A wt_conn wraps one established h3 moqc_transport (the raw QUIC connection,
 * application error codes verbatim) and exposes its single WebTransport
 * session as another moqc_transport (`base`, first member). It only uses the
 * moqc_transport interface, so it is sans-IO and testable over an in-memory
 * pair in virtual time.
 *
 * Files: wt_conn.c (lifecycle, stream prefixes, buffering), wt_events.c
 *        (the h3 handler), wt_attach.c (attach, SETTINGS, helpers),
 *        wt_frames.c (control / request / CONNECT stream frame readers,
 *        capsules), wt_request.c (server accept/reject, client CONNECT),
 *        wt_session.c (the session transport ops), wt_map.c (stream table teardown).
 */
#ifndef MOQC_TRANSPORT_WT_INTERNAL_H
#define MOQC_TRANSPORT_WT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/imap.h"
#include "moqc/clock.h"
#include "moqc/transport.h"
#include "moqc/webtransport.h"
#include "webtransport/h3_codec.h"
#include "webtransport/h3_qpack.h"

/* ---- limits ----------------------------------------------------------------- */
#define WT_MAX_BUFFERED_STREAMS 16  /* streams waiting for their session */
#define WT_MAX_BUFFERED_BYTES 65536 /* per buffered stream */
#define WT_MAX_REQUESTS 8           /* requests (rejected or not) per connection */
#define WT_CLOSE_LINGER_MIN_NS 100000000ULL
#define WT_CLOSE_LINGER_MAX_NS 2000000000ULL

/* ---- allocation (all through moqc_get_mem()) --------------------------------- */
void *moqc__wt_alloc(size_t n); /* zeroed */
void moqc__wt_free(void *p);

/* ---- per-stream state ---------------------------------------------------------- */

typedef enum wt_kind {
  WT_K_PENDING = 0, /* peer stream, prefix not complete */
  WT_K_CONTROL,     /* peer control stream */
  WT_K_QPACK_ENC,   /* peer QPACK encoder stream */
  WT_K_QPACK_DEC,   /* peer QPACK decoder stream */
  WT_K_IGNORE,      /* discard everything (unknown type, rejected request...) */
  WT_K_REQUEST,     /* request stream (server: incoming; client: our CONNECT) */
  WT_K_WT,          /* a stream of our session: passthrough */
  WT_K_BUFFERED,    /* a WebTransport stream waiting for its session */
} wt_kind;

/* What the frame reader does with the payload of the current frame. */
typedef enum wt_fmode {
  WT_F_SKIP = 0, /* discard */
  WT_F_BUFFER,   /* collect, then handle as a whole (bounded) */
  WT_F_CAPSULES, /* DATA on the CONNECT stream: feed the capsule reader */
} wt_fmode;

typedef struct wt_frd {
  moqc_h3_acc acc;
  bool in_payload;
  uint8_t mode;
  moqc_h3_frame_hdr hdr;
  uint64_t left;
  uint8_t *pay; /* WT_F_BUFFER */
  size_t pay_len;
  uint32_t nframes;
  bool headers_done; /* request streams: final HEADERS seen */
  /* capsule reader over the DATA payload */
  moqc_h3_acc cacc;
  bool c_in_payload;
  bool c_buffer;
  moqc_h3_frame_hdr chdr;
  uint64_t cleft;
  size_t cbuf_len;
  uint8_t cbuf[4 + MOQC_WT_CLOSE_REASON_MAX];
} wt_frd;

typedef struct wt_stream {
  int64_t id;
  uint8_t kind;
  bool visible; /* reported to the user (stream_opened) */
  bool fin;     /* peer FIN seen (buffered streams) */
  bool gone;    /* h3 already reported stream_closed (buffered streams) */
  moqc_h3_acc acc;
  wt_frd *frd; /* control and request streams */
  uint64_t session_id;
  uint8_t *buf; /* WT_K_BUFFERED data */
  size_t buf_len, buf_cap;
} wt_stream;

/* Peer-initiated streams (and our CONNECT stream) are kept by stream id in a
 * core/imap.h map (wt_conn.streams). This frees every stream and the table. */
void moqc__wt_streams_free(moqc_imap *m);

/* ---- the connection / session ---------------------------------------------------- */

/* The session's lifecycle. Legal transitions (asserted by moqc__wt_set_state):
 *   SETUP -> OPEN | CLOSED;  OPEN -> CLOSING | CLOSED;  CLOSING -> CLOSED;
 *   CLOSED -> CLOSED (idempotent: several paths end a session). */
typedef enum wt_state {
  WT_ST_SETUP = 0, /* waiting for SETTINGS / CONNECT / response */
  WT_ST_OPEN,      /* session established and handed to the user */
  WT_ST_CLOSING,   /* we sent CLOSE capsule; waiting for the peer / linger */
  WT_ST_CLOSED,    /* over (h3 closed or being closed) */
} wt_state;

/* Who holds the session handle (base):
 *   NONE -> USER (moqc__wt_established: on_session / the connect callback)
 *   USER -> RELEASED (the user called release()) */
typedef enum wt_owner {
  WT_OWN_NONE = 0,
  WT_OWN_USER,
  WT_OWN_RELEASED,
} wt_owner;

/* Our hold on the HTTP/3 connection underneath:
 *   LIVE -> CLOSE_SENT | CLOSED | RELEASED
 *   CLOSE_SENT -> CLOSED | RELEASED   (we called h3 close())
 *   CLOSED -> RELEASED                (h3 reported `closed`)
 *   RELEASED is final                 (we called h3 release()) */
typedef enum wt_h3 {
  WT_H3_LIVE = 0,
  WT_H3_CLOSE_SENT,
  WT_H3_CLOSED,
  WT_H3_RELEASED,
} wt_h3;

const char *moqc__wt_state_str(wt_state st);
const char *moqc__wt_owner_str(wt_owner o);
const char *moqc__wt_h3_str(wt_h3 h);
/* The transition tables (pure): is from -> to legal? */
bool moqc__wt_state_transition_ok(wt_state from, wt_state to);
bool moqc__wt_owner_transition_ok(wt_owner from, wt_owner to);
bool moqc__wt_h3_transition_ok(wt_h3 from, wt_h3 to);

typedef struct wt_conn {
  moqc_transport base; /* the session transport the user sees */
  moqc_transport *h3;
  moqc_peer_cert *peer_cert; /* copy of h3's (base.peer_cert), which may go first */
  bool server;
  uint8_t state; /* wt_state; change only through moqc__wt_set_state */

  /* configuration (copied) */
  moqc_wt_server_config scfg;
  moqc_wt_client_config ccfg;
  char **protos; /* server: supported, client: offered (owned copies) */
  size_t n_protos;
  char *authority, *path, *origin; /* client request; path also for base.path */

  /* HTTP/3 state */
  moqc_h3_settings peer;
  bool have_peer_settings;
  int64_t control_out; /* -1 until opened */
  int64_t control_in, qpack_enc_in, qpack_dec_in;
  int64_t session_id; /* CONNECT stream, -1 until known */
  bool connect_sent;  /* client */
  unsigned n_requests;
  uint16_t status;                  /* final response status (client) / 200 (server) */
  moqc_h3_connect_req *pending_req; /* server: parsed, waiting for SETTINGS */
  int64_t pending_req_id;
  moqc_imap streams; /* wt_stream by stream id */
  size_t n_buffered;

  /* session */
  moqc_slice hdr_uni, hdr_bidi; /* shared stream prefixes */
  uint8_t dg_prefix[8];
  size_t dg_prefix_len;
  uint8_t owner; /* wt_owner; change only through moqc__wt_set_owner */
  uint8_t h3_st; /* wt_h3; change only through moqc__wt_set_h3 */
  bool notified; /* `closed` delivered (or setup failure reported) */
  uint64_t close_code;
  bool close_by_peer;
  char close_reason[MOQC_WT_CLOSE_REASON_MAX + 1];

  moqc_timer timer; /* client connect timeout, close linger */
  bool timer_on;

  unsigned depth; /* nesting of our callbacks */
  bool free_pending;
} wt_conn;

/* lifecycle / helpers (wt_conn.c) */
/* The only way c->state changes; asserts the transition is legal. */
void moqc__wt_set_state(wt_conn *c, wt_state to);
void moqc__wt_set_owner(wt_conn *c, wt_owner to);
void moqc__wt_set_h3(wt_conn *c, wt_h3 to);
/* Handed to the user at some point (held or released since). */
static inline bool wt_handed(const wt_conn *c) { return c->owner != WT_OWN_NONE; }
/* h3 is gone for our purposes: it reported `closed`, or we released it. */
static inline bool wt_h3_gone(const wt_conn *c) { return c->h3_st >= WT_H3_CLOSED; }
static inline bool wt_h3_released(const wt_conn *c) { return c->h3_st == WT_H3_RELEASED; }
void moqc__wt_conn_free(wt_conn *c);
/* May user callbacks run (session open, not released / notified)? */
bool moqc__wt_notify_ok(const wt_conn *c);
/* The handler we install on the h3 connection (wt_events.c). */
extern const moqc_transport_handler moqc__wt_h3_handler;
void moqc__wt_enter(wt_conn *c);
void moqc__wt_leave(wt_conn *c);
bool moqc__wt_dead(const wt_conn *c); /* stop processing: freed soon or closed */
/* Connection error: close h3 with an HTTP/3 code; report to the user. */
void moqc__wt_conn_error(wt_conn *c, uint64_t h3_code, const char *what);
/* Stream error on a peer stream: reset + stop_sending with h3_code; the
 * stream's further data is discarded. */
void moqc__wt_stream_error(wt_conn *c, wt_stream *s, uint64_t h3_code);
/* The session ended (peer capsule/FIN, h3 closed, local error). Notifies
 * the user once (or the setup callback), then closes h3 if needed. */
void moqc__wt_session_ended(wt_conn *c, uint64_t code, const char *reason, bool by_peer);
/* Setup failed before any session existed. */
void moqc__wt_setup_failed(wt_conn *c, int err, uint16_t status, uint64_t h3_code);
/* Close h3 now (once). */
void moqc__wt_h3_close(wt_conn *c, uint64_t h3_code, const char *reason);
void moqc__wt_stop_timer(wt_conn *c);
int moqc__wt_start_timer(wt_conn *c, uint64_t delay_ns);
/* Session is established: hand it out and deliver buffered streams. */
void moqc__wt_established(wt_conn *c);
/* Deliver WebTransport stream bytes to the user. */
void moqc__wt_deliver(wt_conn *c, wt_stream *s, const uint8_t *p, size_t len, bool fin);
/* Allocate + register a stream entry. */
wt_stream *moqc__wt_stream_new(wt_conn *c, int64_t id, wt_kind kind);
void moqc__wt_stream_free(wt_stream *s);
wt_frd *moqc__wt_frd_new(void);

/* Bytes for a peer stream (any kind). */
void moqc__wt_on_stream_bytes(wt_conn *c, wt_stream *s, const uint8_t *p, size_t len, bool fin);
/* (Re)try opening our control stream. */
void moqc__wt_open_control(wt_conn *c);
/* The user released the session transport. */
void moqc__wt_user_release(wt_conn *c);

/* frame readers (wt_frames.c); return false when processing must stop */
bool moqc__wt_frames_feed(wt_conn *c, wt_stream *s, const uint8_t *p, size_t len, bool fin);

/* requests (wt_request.c) */
void moqc__wt_server_on_headers(wt_conn *c, wt_stream *s, const uint8_t *block, size_t len);
void moqc__wt_server_try_pending(wt_conn *c);
void moqc__wt_client_on_headers(wt_conn *c, wt_stream *s, const uint8_t *block, size_t len);
void moqc__wt_client_try_connect(wt_conn *c);
void moqc__wt_on_settings(wt_conn *c);
/* Peer FIN on a request stream (after its last frame). */
void moqc__wt_request_fin(wt_conn *c, wt_stream *s);
/* The CONNECT stream is gone (FIN, reset, stop-sending, closed). */
void moqc__wt_connect_gone(wt_conn *c, uint64_t code);
bool moqc__wt_proto_ok(const char *p);
int moqc__wt_write_bytes(wt_conn *c, int64_t id, const uint8_t *p, size_t len, bool fin);

/* session ops (wt_session.c) */
extern const moqc_transport_ops moqc__wt_session_ops;
int moqc__wt_session_prepare(wt_conn *c); /* prefixes; MOQC_OK / NOMEM */

#endif
