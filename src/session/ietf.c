/* moqc session — the IETF moq-transport binding (drafts 14-19): moqc__proto_ietf
 * (TRACK_STATUS in ietf_status.c, FETCH in ietf_fetch.c).
 *
 * Drafts 14-16: one bidirectional control stream, opened by the client:
 * CLIENT_SETUP / SERVER_SETUP (draft-14: with the version list; 15/16: the
 * version is the ALPN's), then control messages with request ids (client even
 * from 0, server odd from 1). Drafts 17+: each side writes SETUP on a uni
 * stream of its own, kept open (GOAWAY rides it; @moq/net closes the session
 * when it ends), and every request lives on its own bidi stream: SUBSCRIBE,
 * SUBSCRIBE_NAMESPACE, PUBLISH_NAMESPACE, FETCH, TRACK_STATUS, PUBLISH
 * (moqc__ietf_req_in reads the first message); the responses (no request id) and
 * PUBLISH_DONE come back on it, and a FIN / STOP_SENDING of the request
 * stream is the cancellation (UNSUBSCRIBE is gone). The code branches on the
 * draft where they differ (req_streams()). Mapped onto the shared model like
 * moq-dev's Rust (moq-wire.md §3):
 *   - SUBSCRIBE_NAMESPACE(prefix) from the peer: we answer OK and send one
 *     PUBLISH_NAMESPACE per broadcast of the publish origin under the prefix
 *     (PUBLISH_NAMESPACE_DONE when it ends); with a subscribe origin we send
 *     SUBSCRIBE_NAMESPACE("") once running and publish every
 *     PUBLISH_NAMESPACE received as a remote broadcast (remote.c rbcast).
 *     A namespace tuple is a broadcast path ("a/b" <-> ("a","b")).
 *   - SUBSCRIBE from the peer: served from the publish origin, one uni
 *     stream per group: SUBGROUP_HEADER type 0x19 (extensions, end of group,
 *     subgroup 0), track alias = the request id, then each frame as an
 *     object (id delta 0, a Timestamp 0x10 extension), header and first
 *     object in one write; PUBLISH_DONE once the track ended and every group
 *     stream was written. UNSUBSCRIBE resets the group streams.
 *   - Track requests on a remote broadcast: accepted with default info,
 *     SUBSCRIBE (largest object, forward 1, descending) on the first
 *     consumer, UNSUBSCRIBE when the last one leaves; SUBGROUP streams feed
 *     groups (subgroups other than 0 are stopped); PUBLISH_DONE finishes the
 *     track, SUBSCRIBE_ERROR / REQUEST_ERROR rejects it (NotFound).
 *   - SUBSCRIBE_UPDATE / REQUEST_UPDATE: Forward and Subscriber Priority of a
 *     served subscription (Forward 0 drops groups unsent); 16+ of every other
 *     request of the peer's too (req_update_in, on_request_update).
 *   - PUBLISH from the peer: PUBLISH_OK (18+: REQUEST_OK), its broadcast
 *     announced, the track consumed by the session itself and bound to the
 *     PUBLISH's alias (17+: its request stream becomes the subscription's).
 *   - PUBLISH_NAMESPACE_CANCEL: received (14-16; 17+ the peer's cancel of
 *     our PUBLISH_NAMESPACE's request stream, ipns_cancelled), we stop
 *     announcing that namespace; sent (17+: the request stream cancelled) when another
 *     publisher takes over the path of a namespace we accepted (nswatch).
 *   - Announcing: we declare MoQ Solicit (SETUP 0x40B5A = 1); a peer that
 *     declares nothing gets unsolicited PUBLISH_NAMESPACE (imquic, the drafts;
 *     17+: each on a request stream of its own, ipns) and, 17+, PUBLISH_DONE
 *     before the FIN of a cleanly ended track (a moq-dev peer: the FIN alone).
 * Malformed control messages close the session with PROTOCOL_VIOLATION (0x3).
 * Request ids (14-16): ours wait under the peer's MAX_REQUEST_ID (held
 * behind a REQUESTS_BLOCKED), the peer's are checked (parity, window, reuse).
 * Setup parameters PATH / AUTHORIZATION TOKEN / AUTHORITY / implementation
 * reach on_request; GOAWAY is sent with moqc_session_send_goaway.
 *   - OBJECT_DATAGRAM: received into groups (in-order rule, status forms;
 *     it_dg), datagram-flagged groups sent as one datagram per object when
 *     each fits (ig_dg_*); docs/wire.md.
 * Our MAX_REQUEST_ID window (14-16) is limits.max_requests open requests of
 * the peer, raised as they complete (req_window). SUBSCRIBE_UPDATE /
 * REQUEST_UPDATE is issued when a consumer's priority changes; a
 * consumer's explicit start below the live edge is fetched upstream
 * (it_fetch_check: relay FETCH upstream); TRACK_STATUS is issued in
 * ietf_issue.c; PUBLISH is issued by moqc_session_publish_track; an
 * open-ended explicit start subscribes with AbsoluteStart to a MoQ Solicit
 * peer, else at the live edge plus an absolute joining FETCH (17+: after
 * SUBSCRIBE_OK; it_write_subscribe, it_join). 17+: each request we issue opens a
 * bidi stream of its own (moqc__ietf_reqout: SUBSCRIBE, FETCH,
 * TRACK_STATUS, PUBLISH; REQUEST_UPDATE goes on its SUBSCRIBE's stream).
 * Not yet: relative joining FETCH (see docs/session.md). */
#include <assert.h>
#include <string.h>

#include "core/ietf_wire.h"
#include "core/mem.h"
#include "moqc/path.h"
#include "session/ietf_int.h"

#define IETF_VERSION_NEGOTIATION_FAILED SESS_WIRE(0x15u)
#define IETF_SUB_ERR_NOT_FOUND 0x4u
#define IETF_DONE_TRACK_ENDED 0x2u
#define IETF_DONE_INTERNAL_ERROR 0x0u /* what we send when the track aborted */
#define IETF_HDR_MAX 1100u            /* subgroup header / object header (with extensions) */
#define IETF_EXT_TIMESTAMP 0x10u
_Static_assert(IETF_EXT_TIMESTAMP < 64 && MOQC_IETF_STATUS_NORMAL < 64,
               "one-byte varints in moqc__ietf_obj_hdr");
#define IETF_DONE_LINGER_NS (200u * 1000u * 1000u)
#define IETF_SETUP_SOLICIT 0x40B5Au /* moq-dev's MoQ Solicit setup option */
#define IETF_MALFORMED_AUTH_TOKEN SESS_WIRE(0x16u)
#define IETF_INVALID_REQUEST_ID SESS_WIRE(0x4u)
#define IETF_TOO_MANY_REQUESTS SESS_WIRE(0x7u) /* 14-16 only */
#define IETF_UNKNOWN_AUTH_TOKEN_ALIAS SESS_WIRE(0x17u)
#define IETF_DUPLICATE_TRACK_ALIAS SESS_WIRE(0x5u)
#define IETF_TOKEN_REGISTER 0x1u /* AUTHORIZATION TOKEN alias types */
#define IETF_TOKEN_USE_VALUE 0x3u
#define IETF_REQ_UNSOLICITED UINT64_MAX   /* ins_sub.req of our unasked announcer */
#define IETF_UPSTREAM_FETCH_MAX 256u      /* groups in one FETCH upstream (it_fetch_check) */
#define IETF_PARAM_NAMESPACE_PREFIX 0x34u /* draft-18 TRACK_NAMESPACE_PREFIX (REQUEST_UPDATE) */

typedef struct ietf_state ietf_state;
typedef struct ins_sub ins_sub; /* SUBSCRIBE_NAMESPACE from the peer */
typedef struct isub isub;       /* SUBSCRIBE from the peer (served) */
typedef struct igroup igroup;   /* a group written on its uni stream */
typedef struct itrack itrack;   /* a remote track we subscribe to */
typedef struct igin igin;       /* a received subgroup stream */
typedef struct ipush {          /* a PUBLISH from the peer, until its track is bound */
  char *path, *name;
  uint64_t req, alias;
  moqc_broadcast_consumer *hold_bc; /* our own consumer of the track: the push */
  moqc_track_consumer *hold_tc;     /* is taken whether anyone else asks or not */
  sstream *ss; /* 17+: the PUBLISH's request stream (PUBLISH_DONE), until bound */
} ipush;

struct ins_sub {
  sobj obj;
  moqc_link link;
  moqc_session *s;
  uint64_t req;
  char *prefix;
  sstream *ss; /* draft-16: the SUBSCRIBE_NAMESPACE stream (NAMESPACE entries); else NULL */
  moqc_origin_consumer *oc;
  moqc_smap sent; /* path -> (uintptr) request id + 1 of our PUBLISH_NAMESPACE (17+: ipns *) */
};

/* In isub.groups from SUBSCRIBE's group arrival until its stream is
 * acknowledged in full, reset or gone (like moq-lite's group_out in flight):
 * until then it can expire (ietf_expire). */
struct igroup {
  sobj obj;
  moqc_link link; /* in isub.groups (oldest first) */
  opener op;
  isub *is;
  moqc_group_consumer *gc;       /* NULL once the FIN is written */
  moqc_group_consumer *dg_probe; /* a held datagram group: read ahead to its end */
  sstream *ss;
  uint64_t seq;
  uint64_t created_ns;
  uint64_t wr_bytes;      /* bytes written on the stream (header + objects) */
  uint64_t ck_off, ck_ns; /* staleness checkpoint (moqc__serve_stale_ns) */
  bool opening, in_frame, fin_sent, started;
};

struct isub {
  sobj obj;
  moqc_link link;
  moqc_session *s;
  sstream *ss;          /* 17+: the SUBSCRIBE's request stream (responses, PUBLISH_DONE) */
  moqc__ietf_reqout rq; /* 17+, pushed: opening our PUBLISH's stream (then it is ss) */
  uint64_t req;
  uint8_t priority; /* model priority (higher first) */
  bool ordered;
  bool forward; /* Forward 0 (SUBSCRIBE / REQUEST_UPDATE): groups are dropped unsent */
  moqc_broadcast_consumer *bc;
  moqc_track_consumer *tc;
  moqc_link groups;    /* igroup in flight, oldest first */
  size_t n_pending;    /* groups waiting for stream credit */
  uint64_t latency_ms; /* expiry window (moqc__serve_latency_ms) */
  uint64_t latest_seq; /* newest group served (MOQC_GROUP_NONE: none) */
  uint64_t streams;    /* group streams opened */
  bool track_done, done_sent, done_waiting;
  bool pushed;      /* our PUBLISH (moqc_session_publish_track), not the peer's SUBSCRIBE */
  bool awaiting_ok; /* pushed: no group leaves before PUBLISH_OK (they wait in the cache) */
  uint64_t done_code;
  moqc_timer done_timer;
};

struct itrack {
  sobj obj;
  moqc_link link;
  moqc_session *s;
  moqc__ietf_reqout rq; /* 17+: the SUBSCRIBE's request stream (rq.ss once open) */
  moqc_track_producer *tp;
  char *path, *name;
  uint64_t req, alias;
  bool subscribed, ok_seen, finished;
  bool sub_written;          /* our SUBSCRIBE went out (14-16: queued on the control stream) */
  uint8_t sent_priority;     /* wire subscriber priority of our SUBSCRIBE / last update */
  moqc__ietf_loc start;      /* 14: the start location our SUBSCRIBE_UPDATE repeats */
  uint64_t end_group;        /* 14: the end group + 1 (0: open-ended), likewise */
  uint64_t largest_group;    /* SUBSCRIBE_OK's largest location's group (NONE: not given) */
  uint64_t fetch_low;        /* lowest group asked upstream by FETCH (NONE: none) */
  uint64_t join_from;        /* 17+: the joining FETCH's start, held until SUBSCRIBE_OK (NONE) */
  uint64_t streams_seen;     /* subgroup streams accepted */
  uint64_t streams_expected; /* PUBLISH_DONE's stream count */
  moqc_timer fin_timer;      /* PUBLISH_DONE seen: give up waiting for streams */
  uint64_t fin_deadline;
  moqc_link groups;                 /* igin */
  moqc_group_producer *dg;          /* OBJECT_DATAGRAMs: the group they are appended to */
  uint64_t dg_group;                /* the newest datagram group seen (dg_seen) */
  uint64_t dg_next;                 /* the lowest object id dg still takes */
  bool dg_seen, dg_ended;           /* dg_ended: dg_group takes no more objects */
  moqc_broadcast_consumer *hold_bc; /* PUBLISHed by the peer: our own consumer ... */
  moqc_track_consumer *hold_tc;     /* ... (ipush), dropped with the track */
};

struct igin {
  sobj obj;
  moqc_link link;
  sstream *ss;
  itrack *it;
  moqc_group_producer *g;
  moqc_frame_producer *f;
  bool have_hdr, in_payload, extensions;
  uint64_t remaining;
};

struct ietf_state {
  moqc_session *s;
  sstream *ctrl;
  bool ctrl_seen;  /* server: the peer's control stream arrived */
  opener ns_op;    /* draft-16: our SUBSCRIBE_NAMESPACE stream ... */
  sstream *ns_out; /* ... once open */
  opener ctrl_op;
  opener setup_op;    /* 17+: our SETUP uni stream ... */
  sstream *setup_out; /* ... once open (never FIN'd: GOAWAY rides it) */
  bool setup_in_seen; /* 17+: the peer's SETUP stream arrived */
  bool goaway_sent;
  uint8_t *token_param; /* our AUTHORIZATION TOKEN parameter value (client) */
  bool setup_done;      /* SERVER_SETUP seen (client) / CLIENT_SETUP seen (server) */
  uint64_t next_req;
  uint64_t peer_max_req;  /* 14-16: our request ids must stay below (MAX_REQUEST_ID) */
  uint64_t our_max_req;   /* 14-16: what we allowed the peer (advertised; raised by
                             req_window as its requests complete) */
  uint64_t peer_next_req; /* the lowest request id the peer may use next (control stream);
                            17+: the highest it used + 2 */
  moqc_link blocked;      /* 14-16: control messages held behind a request over peer_max_req */
  uint64_t blocked_told;  /* REQUESTS_BLOCKED sent for this peer_max_req + 1 (0: none) */
  bool in_ctrl;           /* ctrl_process running: req_window waits for its end */
  size_t n_pushes;        /* isub of ours (PUBLISH) in subs and n_served */
  moqc_link ns_subs;      /* ins_sub */
  moqc_link subs;         /* isub */
  moqc_link tracks;       /* itrack */
  moqc_imap by_req;       /* itrack by our request id */
  moqc_imap by_alias;     /* itrack by track alias */
  moqc_imap pubns;        /* our PUBLISH_NAMESPACE request ids (value unused) */
  moqc_imap peer_ns;      /* the peer's PUBLISH_NAMESPACE: request id -> path (owned) */
  moqc_imap ns_watch;     /* ... and request id -> nswatch (its path served from here) */
  bool peer_solicit;      /* the peer's SETUP declared SOLICIT != 0 */
  ins_sub *unasked;       /* announcing with unsolicited PUBLISH_NAMESPACE (peer_solicit false) */
  moqc_link statuses;     /* TRACK_STATUS waiting for an answer (ietf_status.c) */
  moqc_link status_out;   /* TRACK_STATUS we issued, unanswered (ietf_issue.c) */
  moqc_link fetches;      /* FETCH served (ietf_fetch.c) */
  moqc_link fetch_in;     /* FETCH issued (ietf_fetch.c) */
  moqc_imap pushed;       /* the peer's PUBLISH not bound to a track yet: request id -> ipush */
};

static ietf_state *IS(moqc_session *s) { return s->ietf; }
static int V(const moqc_session *s) { return s->version; }
static bool req_streams(const moqc_session *s);
static ssize_t req_first(sstream *ss, moqc__ietf_msg **m);
static bool is_request(int v, uint64_t type);
static bool blocked_hold(moqc_session *s, sstream *ss, bool is_req, uint64_t req,
                         const uint8_t *buf, size_t n);

/* ---- control messages ----------------------------------------------------------- */

static moqc__ietf_msg *msg_new(uint64_t type) {
  moqc__ietf_msg *m = moqc_calloc(1, sizeof *m);
  if (m) m->type = type;
  return m;
}

/* A client's control stream (14-16) not open yet: a request the application
 * issued right after on_connected (moqc_session_fetch, track status). */
static bool ctrl_early(moqc_session *s) {
  const ietf_state *st = IS(s);
  return !req_streams(s) && !s->cfg.is_server && !st->ctrl && !st->setup_done;
}

/* Encode m (freed here) onto ss: the control stream, or a draft-16
 * SUBSCRIBE_NAMESPACE stream. Before the client's control stream is open
 * (ss NULL, ctrl_early) the message waits in the blocked queue, in order,
 * until SERVER_SETUP gives the peer's MAX_REQUEST_ID. */
static void msg_send(moqc_session *s, sstream *ss, moqc__ietf_msg *m) {
  if (!m) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  bool early = !ss && ctrl_early(s);
  if (sess_closing(s) || (!ss && !early) || (ss && ss_send_done(ss))) {
    moqc_free(m);
    return;
  }
  /* The codec writes in one pass into a buffer (no sizing call): try a
   * small one, then the largest message. */
  size_t cap = 1024;
  uint8_t *buf = moqc_malloc(cap);
  ssize_t n = buf ? moqc__ietf_ctrl_encode(buf, cap, V(s), m) : MOQC_ERR_NOMEM;
  if (n == MOQC_ERR_BUFSIZE) {
    moqc_free(buf);
    cap = MOQC_IETF_MSG_MAX + 16;
    buf = moqc_malloc(cap);
    n = buf ? moqc__ietf_ctrl_encode(buf, cap, V(s), m) : MOQC_ERR_NOMEM;
  }
  bool is_req = is_request(V(s), m->type);
  bool setup = m->type == MOQC_IETF_CLIENT_SETUP || m->type == MOQC_IETF_SERVER_SETUP;
  uint64_t req = m->request_id;
  moqc_free(m);
  if (!buf || n < 0) {
    moqc_free(buf);
    moqc__sess_fail(s, n < 0 ? MOQC_CODE_ENCODE : MOQC_CODE_TRANSPORT, "control message encode",
                    false);
    return;
  }
  assert(!(setup && early));
  if (setup || !blocked_hold(s, ss, is_req, req, buf, (size_t)n)) { /* SETUP goes first */
    assert(ss);
    (void)moqc__ss_write(ss, buf, (size_t)n, false);
  }
  moqc_free(buf);
}

static void ctrl_send(moqc_session *s, moqc__ietf_msg *m) { msg_send(s, IS(s)->ctrl, m); }

/* REQUEST_OK {req} on ss. */
static void req_ok(moqc_session *s, sstream *ss, uint64_t req) {
  moqc__ietf_msg *r = msg_new(MOQC_IETF_REQUEST_OK);
  if (r) r->request_id = req;
  msg_send(s, ss, r);
}

/* ---- request-id flow control (drafts 14-16) ---------------------------------------- */

/* A control message held back (encoded) until MAX_REQUEST_ID lets its request go. */
typedef struct qmsg {
  moqc_link link;
  uint64_t req;
  bool is_req;
  size_t len;
  uint8_t data[];
} qmsg;

/* Messages that open a request (with a new request id of the sender's). */
static bool is_request(int v, uint64_t type) {
  switch (type) {
    case MOQC_IETF_SUBSCRIBE:
    case MOQC_IETF_PUBLISH_NAMESPACE:
    case MOQC_IETF_SUBSCRIBE_NAMESPACE:
    case MOQC_IETF_FETCH:
    case MOQC_IETF_TRACK_STATUS:
    case MOQC_IETF_PUBLISH:
    case MOQC_IETF_REQUEST_UPDATE: return true;
    case MOQC_IETF_SUBSCRIBE_NAMESPACE_18: return v >= MOQC_IETF_18;
    default: return false;
  }
}

static void ctrl_write_raw(moqc_session *s, const moqc__ietf_msg *m) {
  uint8_t buf[64];
  ssize_t n = moqc__ietf_ctrl_encode(buf, sizeof buf, V(s), m);
  assert(n > 0);
  if (n > 0) (void)moqc__ss_write(IS(s)->ctrl, buf, (size_t)n, false);
}

/* REQUESTS_BLOCKED, once per maximum we are held at (past the queue). */
static void tell_blocked(moqc_session *s) {
  ietf_state *st = IS(s);
  if (!st->ctrl || !st->setup_done) return; /* nothing to tell before SERVER_SETUP */
  if (st->blocked_told == st->peer_max_req + 1) return;
  st->blocked_told = st->peer_max_req + 1;
  moqc__ietf_msg m;
  memset(&m, 0, sizeof m);
  m.type = MOQC_IETF_REQUESTS_BLOCKED;
  m.request_id = st->peer_max_req;
  if (sess_debug_on(s))
    moqc__sess_debug(s, "REQUESTS_BLOCKED at %llu", (unsigned long long)st->peer_max_req);
  ctrl_write_raw(s, &m);
}

/* Write what MAX_REQUEST_ID now lets through, in order. */
static void blocked_flush(moqc_session *s) {
  ietf_state *st = IS(s);
  while (!moqc_list_empty(&st->blocked) && !sess_closing(s)) {
    qmsg *q = MOQC_CONTAINER_OF(st->blocked.next, qmsg, link);
    if (q->is_req && q->req >= st->peer_max_req) {
      tell_blocked(s);
      return;
    }
    assert(!req_streams(s) && q->len > 0);
    moqc_list_remove(&q->link);
    if (st->ctrl && !ss_send_done(st->ctrl)) (void)moqc__ss_write(st->ctrl, q->data, q->len, false);
    moqc_free(q);
  }
}

static void blocked_free(ietf_state *st) {
  while (!moqc_list_empty(&st->blocked)) {
    qmsg *q = MOQC_CONTAINER_OF(st->blocked.next, qmsg, link);
    moqc_list_remove(&q->link);
    moqc_free(q);
  }
}

/* Hold an encoded control message if a request of ours is over the peer's
 * MAX_REQUEST_ID (it and everything after it, to keep the order). true:
 * held (buf still the caller's). */
static bool blocked_hold(moqc_session *s, sstream *ss, bool is_req, uint64_t req,
                         const uint8_t *buf, size_t n) {
  ietf_state *st = IS(s);
  assert(buf && n > 0);
  if (req_streams(s) || ss != st->ctrl) return false;
  if (st->ctrl && moqc_list_empty(&st->blocked) && !(is_req && req >= st->peer_max_req))
    return false; /* (no control stream yet: everything waits) */
  qmsg *q = moqc_malloc(sizeof *q + n);
  if (!q) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return true;
  }
  moqc_link_init(&q->link);
  q->req = req;
  q->is_req = is_req;
  q->len = n;
  memcpy(q->data, buf, n);
  moqc_list_push_back(&st->blocked, &q->link);
  if (is_req && req >= st->peer_max_req) tell_blocked(s);
  return true;
}

/* A request id the peer sent: its parity, our MAX_REQUEST_ID (14-16) and,
 * on the control stream (`ordered`), no reuse. false: the session failed. */
static bool peer_req_ok(moqc_session *s, uint64_t id, bool ordered) {
  ietf_state *st = IS(s);
  uint64_t parity = s->cfg.is_server ? 0 : 1; /* client even, server odd */
  if ((id & 1) != parity) {
    moqc__sess_fail(s, IETF_INVALID_REQUEST_ID, "request id of the wrong parity", false);
    return false;
  }
  if (!req_streams(s) && id >= st->our_max_req) {
    moqc__sess_fail(s, IETF_TOO_MANY_REQUESTS, "request id over MAX_REQUEST_ID", false);
    return false;
  }
  if (ordered) {
    if (id < st->peer_next_req) {
      moqc__sess_fail(s, IETF_INVALID_REQUEST_ID, "request id reused", false);
      return false;
    }
    st->peer_next_req = id + 2;
  } else if (req_streams(s) && id >= st->peer_next_req) {
    st->peer_next_req = id + 2; /* 17+: for the draft-18 GOAWAY's Request ID */
  }
  return true;
}

/* Drafts 17+: every request on its own bidi stream, no control stream. */
static bool req_streams(const moqc_session *s) { return moqc__ietf_has_request_streams(V(s)); }

/* ---- our MAX_REQUEST_ID window (drafts 14-16) ------------------------------------------ */

static size_t list_len(const moqc_link *l) {
  size_t n = 0;
  for (const moqc_link *it = l->next; it != l; it = it->next) n++;
  return n;
}

/* Requests of the peer still open: subscriptions and fetches we serve (not
 * our own fetches, which n_served counts too), SUBSCRIBE_NAMESPACEs we
 * follow, TRACK_STATUS not answered yet. The rest complete when answered
 * (PUBLISH_NAMESPACE and PUBLISH are capped by max_announced / max_tracks). */
static uint64_t peer_open_requests(moqc_session *s) {
  ietf_state *st = IS(s);
  size_t ours = list_len(&st->fetch_in);
  assert(s->n_served >= ours);
  size_t ns = list_len(&st->ns_subs) - (st->unasked ? 1 : 0);
  assert(s->n_served - ours >= st->n_pushes);
  return (uint64_t)(s->n_served - ours - st->n_pushes + ns + list_len(&st->statuses));
}

static void send_max_request_id(moqc_session *s, uint64_t max) {
  moqc__ietf_msg r;
  memset(&r, 0, sizeof r);
  r.type = MOQC_IETF_MAX_REQUEST_ID;
  r.request_id = max;
  if (sess_debug_on(s)) moqc__sess_debug(s, "MAX_REQUEST_ID %llu", (unsigned long long)max);
  ctrl_write_raw(s, &r); /* not held behind our own blocked requests */
}

/* Keep the peer's window at limits.max_requests open requests: ids up to
 * peer_next_req + 2 * (max_requests - open). Raised in batches of at least
 * half a window (or at once when the peer is blocked), never lowered. */
static void req_window(moqc_session *s, bool blocked) {
  ietf_state *st = IS(s);
  if (req_streams(s) || !st->setup_done || sess_closing(s) || !st->ctrl || ss_send_done(st->ctrl) ||
      (st->in_ctrl && !blocked))
    return;
  uint64_t w = s->lim.max_requests;
  assert(st->our_max_req >= st->peer_next_req || st->peer_next_req - st->our_max_req <= 1);
  uint64_t left = st->our_max_req > st->peer_next_req ? st->our_max_req - st->peer_next_req : 0;
  if (!blocked && left > w) return; /* over half the window still free: nothing to do */
  uint64_t open = peer_open_requests(s);
  if (open >= w) return; /* the cap: no more until some complete */
  uint64_t grant = st->peer_next_req + 2 * (w - open);
  if (grant <= st->our_max_req) return;
  if (!blocked && left > 0 && grant - st->our_max_req < w) return;
  st->our_max_req = grant;
  send_max_request_id(s, grant);
}

/* A response to a request: on its request stream (17+), else on the control stream. */
static void req_send(moqc_session *s, sstream *ss, moqc__ietf_msg *m) {
  assert(!ss || req_streams(s));
  msg_send(s, ss ? ss : IS(s)->ctrl, m);
}

/* Refuse a request that came on its own stream: the answer, then FIN. */
static void req_refuse(moqc_session *s, sstream *ss, moqc__ietf_msg *m) {
  assert(req_streams(s) && ss && ss->bidi);
  msg_send(s, ss, m);
  moqc__ss_fin(ss);
  moqc__ss_release(ss);
}

static uint64_t req_next(moqc_session *s) {
  ietf_state *st = IS(s);
  uint64_t id = st->next_req;
  st->next_req += 2;
  return id;
}

/* A path into a tuple (borrows path). */
static bool path_tuple(moqc__ietf_tuple *t, const char *path) {
  return moqc__ietf_tuple_from_path(t, path, strlen(path)) == MOQC_OK;
}

static bool tuple_path(const moqc__ietf_tuple *t, char *buf, size_t cap) {
  ssize_t n = moqc__ietf_tuple_to_path(t, buf, cap);
  if (n < 0 || (size_t)n >= cap) return false;
  buf[n] = 0;
  return true;
}

/* ietf_int.h: for ietf_status.c / ietf_fetch.c. */
void moqc__ietf_req_complete(moqc_session *s) { req_window(s, false); }
moqc_link *moqc__ietf_status_list(moqc_session *s) { return &IS(s)->statuses; }
moqc_link *moqc__ietf_status_out_list(moqc_session *s) { return &IS(s)->status_out; }
moqc_link *moqc__ietf_fetch_list(moqc_session *s) { return &IS(s)->fetches; }
moqc_link *moqc__ietf_fetch_in_list(moqc_session *s) { return &IS(s)->fetch_in; }
uint64_t moqc__ietf_req_next(moqc_session *s) { return req_next(s); }
moqc__ietf_msg *moqc__ietf_msg_new(uint64_t type) { return msg_new(type); }
void moqc__ietf_ctrl_send(moqc_session *s, moqc__ietf_msg *m) { ctrl_send(s, m); }
bool moqc__ietf_tuple_path(const moqc__ietf_tuple *t, char *buf, size_t cap) {
  return tuple_path(t, buf, cap);
}
void moqc__ietf_request_error(moqc_session *s, uint64_t type14, uint64_t req, uint64_t code,
                              const char *why) {
  moqc__ietf_request_refuse(s, NULL, type14, req, code, why);
}
void moqc__ietf_request_refuse(moqc_session *s, sstream *ss, uint64_t type14, uint64_t req,
                               uint64_t code, const char *why) {
  moqc__ietf_msg *r = msg_new(V(s) == MOQC_IETF_14 ? type14 : MOQC_IETF_REQUEST_ERROR);
  if (r) {
    r->request_id = req;
    r->code = moqc__ietf_reqerr_wire(s, type14, code);
    r->reason = (moqc_bytes){(const uint8_t *)why, strlen(why)};
  }
  if (ss) req_refuse(s, ss, r);
  else ctrl_send(s, r);
}
void moqc__ietf_reply(moqc_session *s, sstream *ss, moqc__ietf_msg *m) { req_send(s, ss, m); }
void moqc__ietf_req_close(sstream *ss, bool abort) {
  assert(ss && ss->bidi && req_streams(ss->s));
  ss->owner = NULL;
  if (abort) moqc__ss_abort(ss, MOQC_CODE_CANCEL);
  else moqc__ss_fin(ss);
  moqc__ss_release(ss);
}

static void reqout_opened(opener *op, int64_t id) {
  moqc__ietf_reqout *r = MOQC_CONTAINER_OF(op, moqc__ietf_reqout, op);
  assert(r->opening && !r->ss && req_streams(r->s));
  r->opening = false;
  r->ss = moqc__ss_new(r->s, id, r->kind, false, r->owner);
  if (!r->ss) {
    moqc__sess_fail(r->s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  if (r->pend) {
    if (sess_debug_on(r->s))
      moqc__sess_debug(r->s, "request stream %lld: %zu bytes", (long long)id, r->pend_len);
    (void)moqc__ss_write(r->ss, r->pend, r->pend_len, false);
    moqc_free(r->pend);
    r->pend = NULL;
  }
  if (r->opened) r->opened(r);
}

static void reqout_failed(opener *op, int err) {
  (void)err;
  moqc__ietf_reqout *r = MOQC_CONTAINER_OF(op, moqc__ietf_reqout, op);
  r->opening = false;
  r->failed(r);
}

void moqc__ietf_reqout_open(moqc__ietf_reqout *r) {
  assert(r->s && r->kind && r->owner && (r->opened || r->pend) && r->failed);
  assert(!r->opening && !r->ss && req_streams(r->s));
  moqc_link_init(&r->op.link);
  r->op.bidi = true;
  r->op.opened = reqout_opened;
  r->op.failed = reqout_failed;
  r->opening = true;
  moqc__sess_open(r->s, &r->op);
}

int moqc__ietf_reqout_start(moqc__ietf_reqout *r, moqc__ietf_msg *m) {
  assert(r->s && !r->pend);
  if (!m) return MOQC_ERR_NOMEM;
  size_t cap = MOQC_IETF_MSG_MAX + 16;
  uint8_t *buf = moqc_malloc(cap);
  ssize_t n = buf ? moqc__ietf_ctrl_encode(buf, cap, V(r->s), m) : MOQC_ERR_NOMEM;
  moqc_free(m);
  if (n <= 0) {
    moqc_free(buf);
    return n == MOQC_ERR_NOMEM ? MOQC_ERR_NOMEM : MOQC_ERR_INVAL;
  }
  r->pend = buf;
  r->pend_len = (size_t)n;
  moqc__ietf_reqout_open(r);
  return MOQC_OK;
}

int moqc__ietf_request_send(moqc_session *s, moqc__ietf_reqout *r, moqc__ietf_msg *m) {
  if (!req_streams(s)) {
    ctrl_send(s, m);
    return MOQC_OK;
  }
  assert(r->s == s);
  return moqc__ietf_reqout_start(r, m);
}

void moqc__ietf_reqout_close(moqc__ietf_reqout *r, bool cancel) {
  if (r->opening) moqc__sess_open_cancel(&r->op);
  r->opening = false;
  moqc_free(r->pend);
  r->pend = NULL;
  sstream *ss = r->ss;
  if (!ss) return;
  r->ss = NULL;
  ss->owner = NULL;
  if (cancel) moqc__ss_stop(ss, MOQC_CODE_CANCEL);
  moqc__ss_fin(ss);
  moqc__ss_release(ss);
}

int moqc__ietf_reqout_read(sstream *ss, void (*on)(void *owner, const moqc__ietf_msg *m)) {
  moqc_session *s = ss->s;
  moqc__ietf_msg *m = NULL;
  assert(ss->bidi); /* peer-opened too: a PUBLISH bound as a subscription */
  while (ss_len(ss) > 0 && !sess_closing(s) && !ss->obj.dead && ss->owner) {
    moqc_free(m);
    ssize_t n = req_first(ss, &m);
    if (n <= 0) break;
    void *owner = ss->owner;
    on(owner, m); /* m borrows the buffer: consume after */
    if (sess_closing(s) || ss->obj.dead || ss->owner != owner) break; /* let go: released */
    moqc__ss_consume(ss, (size_t)n);
  }
  moqc_free(m);
  return MOQC_OK;
}

/* ---- publisher side: namespaces --------------------------------------------------- */

/* 17+: one unasked PUBLISH_NAMESPACE of ours, on a request stream of its own
 * (there is no control stream to carry it); our FIN withdraws the namespace.
 * The value of the unasked ins_sub's `sent` map on 17+. The peer cancels it
 * (ipns_cancelled) with REQUEST_ERROR, its FIN or RESET_STREAM, or
 * STOP_SENDING on our half. */
typedef struct ipns {
  sobj obj;
  moqc_session *s;
  ins_sub *ns; /* the unasked announcer whose `sent` holds it */
  opener op;
  bool opening;
  bool answered; /* REQUEST_OK seen: a second answer is a protocol violation */
  sstream *ss;
  moqc__ietf_msg *m; /* the PUBLISH_NAMESPACE, until the stream is open (borrows path) */
  char *path;
} ipns;

static void ipns_free(sobj *o) {
  ipns *p = (ipns *)(void *)o;
  moqc_free(p->m);
  moqc_free(p->path);
  moqc_free(p);
}

/* Withdraw (FIN) and let go. */
static void ipns_end(ipns *p) {
  if (p->opening) moqc__sess_open_cancel(&p->op);
  p->opening = false;
  if (p->ss) {
    sstream *ss = p->ss;
    p->ss = NULL;
    ss->owner = NULL;
    moqc__ss_fin(ss);
    moqc__ss_release(ss);
  }
  moqc__sess_bury(p->s, &p->obj);
}

/* The peer refused or cancelled p (REQUEST_ERROR, the end of its half, or
 * STOP_SENDING on ours), as 14-16's PUBLISH_NAMESPACE_CANCEL does: our half
 * ends (FIN; after a RESET_STREAM or STOP_SENDING, abort) and p is freed, out
 * of its announcer's `sent`, so the namespace is offered to this peer again
 * only once it ends and is published again (ns_pump). */
static void ipns_cancelled(ipns *p, bool reset) {
  moqc_session *s = p->s;
  ins_sub *ns = p->ns;
  size_t plen = strlen(p->path);
  assert(req_streams(s) && ns && !ns->ss && !p->opening && p->ss);
  assert(moqc__smap_find(&ns->sent, p->path, plen) == p);
  moqc__sess_debug(s, "PUBLISH_NAMESPACE %s cancelled by the peer", p->path);
  (void)moqc__smap_remove(&ns->sent, p->path, plen);
  sstream *ss = p->ss;
  p->ss = NULL;
  ss->owner = NULL;
  if (reset) moqc__ss_abort(ss, MOQC_CODE_CANCEL);
  else moqc__ss_fin(ss);
  moqc__ss_release(ss);
  moqc__sess_bury(s, &p->obj);
}

/* One REQUEST_OK, or a REQUEST_ERROR (refused: ipns_cancelled); anything
 * else, or a second answer, is a protocol violation (17: "The publisher
 * SHOULD close the session with a protocol error if it receives more than
 * one"). */
static int pnsout_process(sstream *ss) {
  moqc_session *s = ss->s;
  moqc__ietf_msg *m = NULL;
  while (ss_len(ss) > 0 && !sess_closing(s) && !ss->obj.dead && ss->owner) {
    ipns *p = ss->owner;
    moqc_free(m);
    m = NULL;
    ssize_t n = req_first(ss, &m);
    if (n <= 0) break;
    if ((m->type != MOQC_IETF_REQUEST_OK && m->type != MOQC_IETF_REQUEST_ERROR) || p->answered) {
      moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "unexpected message on a namespace stream",
                      false);
      break;
    }
    moqc__ss_consume(ss, (size_t)n);
    if (m->type == MOQC_IETF_REQUEST_ERROR) {
      if (sess_debug_on(s))
        moqc__sess_debug(s, "PUBLISH_NAMESPACE refused: code %llu", (unsigned long long)m->code);
      ipns_cancelled(p, false);
      break;
    }
    p->answered = true;
  }
  moqc_free(m);
  return MOQC_OK;
}

/* The peer ended its half, or stopped ours (a cancel). */
static void pnsout_end(sstream *ss, bool reset, uint64_t code) {
  (void)code;
  ipns *p = ss->owner;
  if (p) {
    ipns_cancelled(p, reset);
    return;
  }
  if (reset) moqc__ss_abort(ss, MOQC_CODE_CANCEL);
  else moqc__ss_fin(ss);
  moqc__ss_release(ss);
}

/* Not request_out: a STOP_SENDING on our half cancels the PUBLISH_NAMESPACE
 * (17 "Request Cancellation"); only non-Solicit peers (imquic, libquicr) get
 * one, and they do not stop a request stream they keep answering on. */
static const moqc__stream_kind sk_ietf_pns_out = {
    .name = "ietf-publish-namespace-out", .process = pnsout_process, .end = pnsout_end};

static void ipns_opened(opener *op, int64_t id) {
  ipns *p = MOQC_CONTAINER_OF(op, ipns, op);
  moqc_session *s = p->s;
  p->opening = false;
  p->ss = moqc__ss_new(s, id, &sk_ietf_pns_out, false, p);
  if (!p->ss) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  moqc__ietf_msg *m = p->m;
  p->m = NULL;
  assert(m && m->type == MOQC_IETF_PUBLISH_NAMESPACE);
  msg_send(s, p->ss, m);
}

static void ipns_failed(opener *op, int err) {
  (void)err; /* not announced there, like a refused request */
  ipns *p = MOQC_CONTAINER_OF(op, ipns, op);
  p->opening = false;
}

/* Announce path (17+) on a new request stream; false: out of memory. */
static bool ipns_start(ins_sub *ns, const char *path, size_t plen) {
  moqc_session *s = ns->s;
  assert(req_streams(s) && !ns->ss);
  ipns *p = moqc_calloc(1, sizeof *p);
  if (!p) return false;
  p->obj.destroy = ipns_free;
  p->s = s;
  p->ns = ns;
  moqc_link_init(&p->op.link);
  p->path = moqc_strdup(path);
  p->m = msg_new(MOQC_IETF_PUBLISH_NAMESPACE);
  if (!p->path || !p->m || moqc__smap_insert(&ns->sent, path, plen, p) < 0) {
    ipns_free(&p->obj);
    return false;
  }
  if (!path_tuple(&p->m->ns, p->path)) { /* not expressible as a tuple: never announced */
    moqc_free(p->m);
    p->m = NULL;
    return true;
  }
  p->m->request_id = req_next(s);
  p->op.bidi = true;
  p->op.opened = ipns_opened;
  p->op.failed = ipns_failed;
  p->opening = true;
  moqc__sess_open(s, &p->op);
  return true;
}

static void ns_free(sobj *o) {
  ins_sub *ns = (ins_sub *)(void *)o;
  moqc_free(ns->prefix);
  moqc_free(ns);
}

static void ns_destroy(ins_sub *ns) {
  moqc_session *s = ns->s;
  if (req_streams(s) && !ns->ss) { /* 17+ unasked: `sent` holds our ipns */
    moqc_smap_it it;
    void *v;
    moqc__smap_it_init(&ns->sent, &it);
    while (moqc__smap_next(&ns->sent, &it, NULL, NULL, &v)) ipns_end(v);
  }
  if (ns->oc) moqc_origin_consumer_del(ns->oc);
  ns->oc = NULL;
  if (ns->ss) {
    sstream *ss = ns->ss;
    ns->ss = NULL;
    ss->owner = NULL;
    moqc__ss_release(ss);
  }
  moqc__smap_free(&ns->sent);
  if (IS(s)->unasked == ns) IS(s)->unasked = NULL;
  if (moqc_link_linked(&ns->link)) moqc_list_remove(&ns->link);
  moqc__sess_bury(s, &ns->obj);
}

static void ns_pump(ins_sub *ns) {
  moqc_session *s = ns->s;
  ietf_state *st = IS(s);
  assert(ns->oc);
  while (!sess_closing(s) && !ns->obj.dead) {
    moqc_announce a;
    int rc = moqc_origin_consumer_next(ns->oc, &a);
    if (rc != MOQC_OK) break;
    size_t plen = strlen(a.path);
    /* Split horizon: never offer back what this peer announced to us, also
     * when our publish and subscribe origins are two views of one tree (a
     * relay's): IETF carries no hop list to tell an echo by. */
    if (moqc__rb_has(s, a.path)) continue;
    void *was = moqc__smap_find(&ns->sent, a.path, plen);
    if (ns->ss) {
      /* Draft-16: NAMESPACE / NAMESPACE_DONE {suffix} on the request's stream. */
      size_t pl = strlen(ns->prefix);
      const char *suffix = a.path + pl;
      if (pl && *suffix == '/') suffix++;
      if (a.active == (was != NULL)) continue;
      moqc__ietf_msg *m = msg_new(a.active ? MOQC_IETF_NAMESPACE : MOQC_IETF_NAMESPACE_DONE);
      if (!m || !path_tuple(&m->ns, suffix)) {
        moqc_free(m);
        continue;
      }
      if (a.active) {
        if (moqc__smap_insert(&ns->sent, a.path, plen, ns) < 0) {
          moqc_free(m);
          moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
          return;
        }
      } else {
        (void)moqc__smap_remove(&ns->sent, a.path, plen);
      }
      msg_send(s, ns->ss, m);
      continue;
    }
    if (req_streams(s)) { /* 17+: a request stream per namespace */
      if (a.active && !was && !ipns_start(ns, a.path, plen)) {
        moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
        return;
      }
      if (!a.active && was) {
        (void)moqc__smap_remove(&ns->sent, a.path, plen);
        ipns_end(was);
      }
      continue;
    }
    if (a.active && !was) {
      moqc__ietf_msg *m = msg_new(MOQC_IETF_PUBLISH_NAMESPACE);
      if (!m || !path_tuple(&m->ns, a.path)) {
        moqc_free(m);
        continue;
      }
      m->request_id = req_next(s);
      if (moqc__smap_insert(&ns->sent, a.path, plen, (void *)(uintptr_t)(m->request_id + 1)) < 0) {
        moqc_free(m);
        moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
        return;
      }
      (void)moqc__imap_insert(&st->pubns, m->request_id, ns);
      ctrl_send(s, m);
    } else if (!a.active && was) {
      uint64_t req = (uint64_t)(uintptr_t)was - 1;
      (void)moqc__smap_remove(&ns->sent, a.path, plen);
      (void)moqc__imap_remove(&st->pubns, req);
      moqc__ietf_msg *m = msg_new(MOQC_IETF_PUBLISH_NAMESPACE_DONE);
      if (m && V(s) < MOQC_IETF_16 && !path_tuple(&m->ns, a.path)) {
        moqc_free(m);
        continue;
      }
      if (m) m->request_id = req;
      ctrl_send(s, m);
    }
  }
}

static void ns_wake(void *arg) {
  ins_sub *ns = arg;
  moqc_session *s = ns->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !ns->obj.dead) ns_pump(ns);
  moqc__sess_exit(s);
}

/* SUBSCRIBE_NAMESPACE: on the control stream (ss NULL; 14/15) or on its own
 * bidi stream (16). */
static void on_subscribe_namespace(moqc_session *s, const moqc__ietf_msg *m, sstream *ss) {
  ietf_state *st = IS(s);
  sstream *out = ss ? ss : st->ctrl;
  char path[MOQC_PATH_MAX_LEN + 1];
  bool ok = s->pub.origin && tuple_path(&m->ns, path, sizeof path);
  moqc__ietf_msg *r;
  if (!ok) {
    r = msg_new(V(s) == MOQC_IETF_14 ? MOQC_IETF_SUBSCRIBE_NAMESPACE_ERROR
                                     : MOQC_IETF_REQUEST_ERROR);
    if (r) {
      r->request_id = m->request_id;
      r->code =
          moqc__ietf_reqerr_wire(s, MOQC_IETF_SUBSCRIBE_NAMESPACE_ERROR, IETF_SUB_ERR_NOT_FOUND);
    }
    msg_send(s, out, r);
    if (ss) {
      moqc__ss_fin(ss);
      moqc__ss_release(ss);
    }
    return;
  }
  ins_sub *ns = moqc_calloc(1, sizeof *ns);
  if (!ns) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  ns->obj.destroy = ns_free;
  ns->s = s;
  ns->req = m->request_id;
  moqc__smap_init(&ns->sent, 0);
  ns->prefix = moqc_strdup(path);
  /* Already announcing everything unasked (the peer did not declare
   * SOLICIT): answer OK only, or the peer would hear a namespace twice. */
  if (!st->unasked) ns->oc = ns->prefix ? moqc_origin_consume(s->pub.origin, path) : NULL;
  if (!ns->prefix || (!st->unasked && !ns->oc)) {
    moqc_free(ns->prefix);
    moqc_free(ns);
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  moqc_list_push_back(&st->ns_subs, &ns->link);
  r = msg_new(V(s) == MOQC_IETF_14 ? MOQC_IETF_SUBSCRIBE_NAMESPACE_OK : MOQC_IETF_REQUEST_OK);
  if (r) r->request_id = m->request_id;
  msg_send(s, out, r);
  if (ss) {
    ns->ss = ss;
    ss->owner = ns;
  }
  if (!ns->oc) return;
  moqc_origin_consumer_set_waker(ns->oc, ns_wake, ns);
  ns_pump(ns);
}

/* The peer did not declare SOLICIT: announce every broadcast of the publish
 * origin with PUBLISH_NAMESPACE on the control stream, unasked (what imquic
 * and the drafts expect; moq-dev's JS does the same). */
static void unasked_start(moqc_session *s) {
  ietf_state *st = IS(s);
  if (!s->pub.origin || st->peer_solicit || st->unasked) return;
  ins_sub *ns = moqc_calloc(1, sizeof *ns);
  if (ns) {
    ns->obj.destroy = ns_free;
    ns->s = s;
    ns->req = IETF_REQ_UNSOLICITED;
    moqc__smap_init(&ns->sent, 0);
    ns->prefix = moqc_strdup("");
    ns->oc = ns->prefix ? moqc_origin_consume(s->pub.origin, "") : NULL;
  }
  if (!ns || !ns->oc) {
    if (ns) {
      moqc__smap_free(&ns->sent);
      moqc_free(ns->prefix);
    }
    moqc_free(ns);
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  st->unasked = ns;
  moqc_list_push_back(&st->ns_subs, &ns->link);
  moqc_origin_consumer_set_waker(ns->oc, ns_wake, ns);
  ns_pump(ns);
}

/* PUBLISH_NAMESPACE_CANCEL (14-16): the peer no longer accepts one of our
 * PUBLISH_NAMESPACEs (14/15 name it by tuple, 16 by our request id). We stop
 * announcing it there: no PUBLISH_NAMESPACE_DONE follows, and it is offered
 * again only if it ends and comes back. (17+: the peer would cancel that
 * PUBLISH_NAMESPACE's request stream instead.) */
static void on_publish_namespace_cancel(moqc_session *s, const moqc__ietf_msg *m) {
  ietf_state *st = IS(s);
  char path[MOQC_PATH_MAX_LEN + 1];
  bool by_id = V(s) >= MOQC_IETF_16;
  if (!by_id && !tuple_path(&m->ns, path, sizeof path)) return;
  for (moqc_link *it = st->ns_subs.next; it != &st->ns_subs; it = it->next) {
    ins_sub *ns = MOQC_CONTAINER_OF(it, ins_sub, link);
    if (ns->ss) continue; /* NAMESPACE entries, not PUBLISH_NAMESPACE requests */
    moqc_smap_it si;
    const uint8_t *key;
    size_t klen;
    void *val;
    moqc__smap_it_init(&ns->sent, &si);
    while (moqc__smap_next(&ns->sent, &si, &key, &klen, &val)) {
      uint64_t req = (uint64_t)(uintptr_t)val - 1;
      if (by_id ? req != m->request_id : klen != strlen(path) || memcmp(key, path, klen) != 0)
        continue;
      moqc__sess_debug(s, "PUBLISH_NAMESPACE %llu cancelled: code %llu", (unsigned long long)req,
                       (unsigned long long)m->code);
      assert(klen < sizeof path);
      memcpy(path, key, klen); /* the key dies with the entry */
      (void)moqc__imap_remove(&st->pubns, req);
      (void)moqc__smap_remove(&ns->sent, path, klen);
      return;
    }
  }
}

static void on_unsubscribe_namespace(moqc_session *s, const moqc__ietf_msg *m) {
  ietf_state *st = IS(s);
  char path[MOQC_PATH_MAX_LEN + 1];
  bool have_path = V(s) < MOQC_IETF_16 && tuple_path(&m->ns, path, sizeof path);
  MOQC_LIST_FOREACH_SAFE_DECL(it, nxt, &st->ns_subs) {
    (void)nxt;
    ins_sub *ns = MOQC_CONTAINER_OF(it, ins_sub, link);
    if (ns == st->unasked) continue;
    if (V(s) >= MOQC_IETF_16 ? ns->req == m->request_id
                             : (have_path && strcmp(ns->prefix, path) == 0)) {
      ns_destroy(ns);
      return;
    }
  }
}

/* ---- publisher side: subscriptions ---------------------------------------------- */

static void ig_free(sobj *o) { moqc_free(o); }
static void isub_maybe_done(isub *is);

static void ig_destroy(igroup *g) {
  isub *is = g->is;
  if (g->opening) {
    moqc__sess_open_cancel(&g->op);
    assert(is->n_pending > 0);
    is->n_pending--;
  }
  g->opening = false;
  if (g->gc) moqc_group_consumer_del(g->gc);
  g->gc = NULL;
  if (g->dg_probe) moqc_group_consumer_del(g->dg_probe);
  g->dg_probe = NULL;
  if (moqc_link_linked(&g->link)) moqc_list_remove(&g->link);
  if (g->ss) {
    g->ss->owner = NULL;
    moqc__ss_release(g->ss);
  }
  g->ss = NULL;
  moqc__sess_bury(is->s, &g->obj);
}

/* Reset the stream with code unless its FIN is written (then it lingers
 * until delivered), and drop the group. */
static void ig_reset(igroup *g, uint64_t code) {
  moqc_session *s = g->is->s;
  if (g->ss && !g->fin_sent)
    moqc__ss_reset(g->ss, moqc__ietf_reset_wire(s, IS(s)->peer_solicit, code));
  ig_destroy(g);
}

/* The low n (1..8) bytes of v at p, big-endian; p has room for 8 (the bytes
 * past n are scratch, overwritten by what follows). */
static inline void obj_put_be(uint8_t *p, uint64_t v, size_t n) {
  assert(n >= 1 && n <= 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint64_t be = __builtin_bswap64(v << (8 * (8 - n)));
  memcpy(p, &be, 8);
#else
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
#endif
}

/* One varint at p in the draft's form (lo: 17+'s leading ones, else QUIC's);
 * p has room for 9 bytes. The hot path of every object written: no calls,
 * one store. Returns the bytes written, 0 if x has no QUIC form (>= 2^62). */
static inline size_t obj_vi(bool lo, uint8_t *p, uint64_t x) {
  if (x < 64) { /* one byte equal to the value in both forms */
    p[0] = (uint8_t)x;
    return 1;
  }
  size_t n;
  uint64_t v;
  if (!lo) {
    if (x < (1ull << 14)) n = 2, v = x | 0x4000u;
    else if (x < (1ull << 30)) n = 4, v = x | 0x80000000u;
    else if (x <= MOQC_VARINT_MAX) n = 8, v = x | 0xC000000000000000ull;
    else return 0;
  } else if (x < (1ull << 42)) {
    /* n-1 leading ones then a zero, the value's top bits in the same byte */
    n = x < (1ull << 7)    ? 1
        : x < (1ull << 14) ? 2
        : x < (1ull << 21) ? 3
        : x < (1ull << 28) ? 4
        : x < (1ull << 35) ? 5
                           : 6;
    v = x | (uint64_t)((0xFF00u >> (n - 1)) & 0xFFu) << (8 * (n - 1));
  } else if (x < (1ull << 56)) {
    n = 8, v = x | 0xFE00000000000000ull; /* 0xFE, then 7 bytes */
  } else {
    p[0] = 0xFF; /* then 8 bytes */
    obj_put_be(p + 1, x, 8);
    return 9;
  }
  obj_put_be(p, v, n);
  return n;
}

/* Never inlined: bench/instr.sh counts its calls (one per object written per
 * subscriber), as moq-lite's moqc__lite_frame_hdr. */
__attribute__((noinline)) ssize_t moqc__ietf_obj_hdr(uint8_t *p, int version, uint64_t ts,
                                                     uint64_t size) {
  if (size > MOQC_IETF_OBJECT_MAX || version < MOQC_IETF_FIRST || version > MOQC_IETF_LAST)
    return MOQC_ERR_INVAL;
  bool lo = moqc__ietf_has_leading_ones(version);
  /* Values under 64 are one byte equal to the value in both varint forms:
   * the delta 0, the key 0x10 and the extension block's length (at most
   * 1 + 9). Each obj_vi needs 9 bytes of room: ts at 3, size at most at 12
   * (21 <= MOQC__IETF_OBJ_HDR_MAX). */
  p[0] = 0; /* Object ID delta */
  p[2] = (uint8_t)IETF_EXT_TIMESTAMP;
  size_t n = obj_vi(lo, p + 3, ts);
  if (n == 0) return MOQC_ERR_OVERFLOW;
  p[1] = (uint8_t)(1 + n);
  uint8_t *q = p + 3 + n;
  q += obj_vi(lo, q, size); /* size <= MOQC_IETF_OBJECT_MAX: always encodable */
  if (size == 0) *q++ = MOQC_IETF_STATUS_NORMAL;
  assert((size_t)(q - p) <= MOQC__IETF_OBJ_HDR_MAX);
  return q - p;
}

/* Stage one object header (and its Timestamp extension). */
static int ig_obj_hdr(go_batch *b, int version, uint64_t ts, uint64_t size) {
  uint8_t hdr[MOQC__IETF_OBJ_HDR_MAX];
  ssize_t n = moqc__ietf_obj_hdr(hdr, version, ts, size);
  if (n < 0) return (int)n;
  return moqc__gb_bytes(b, hdr, (size_t)n);
}

/* Stage the SUBGROUP_HEADER: it goes out with the first objects, in one write. */
static int ig_stream_hdr(igroup *g, go_batch *b) {
  moqc_session *s = g->is->s;
  moqc__ietf_subgroup h = {.extensions = true,
                           .end_of_group = true,
                           .has_priority = true,
                           .sgid_mode = MOQC_IETF_SGID_ZERO,
                           /* 18+: the stream starts at the group's first object
                            * (@moq/net drops a group without it) */
                           .first_object = V(s) >= MOQC_IETF_18,
                           .track_alias = g->is->req,
                           .group = g->seq,
                           .priority = 0};
  uint8_t hdr[64];
  ssize_t n = moqc__ietf_subgroup_encode(hdr, sizeof hdr, V(s), &h);
  if (n < 0) return (int)n;
  g->ck_off = (uint64_t)n;
  g->ck_ns = moqc__sess_now(s);
  return moqc__gb_bytes(b, hdr, (size_t)n);
}

/* The stream is gone (a write failed, or the transport dropped it). */
static void ig_gone(igroup *g) {
  isub *is = g->is;
  ig_destroy(g);
  isub_maybe_done(is);
}

/* Write what the group has in one transport write (moq-lite's batched writer:
 * headers and small objects cut from the session's write arena, larger
 * payload chunks as the model's own slices, zero copy); FIN when complete. */
static void ig_pump(igroup *g) {
  isub *is = g->is;
  moqc_session *s = is->s;
  if (!g->ss || !g->gc) return;
  go_batch b;
  moqc__gb_init(&b, s, g->ss, &g->wr_bytes);
  int rc = MOQC_OK;
  size_t hdr_only = 0; /* the header's length while nothing follows it in b */
  if (!g->started) {
    g->started = true;
    rc = ig_stream_hdr(g, &b);
    if (rc < 0) {
      moqc__gb_drop(&b);
      ig_reset(g, MOQC_CODE_ENCODE);
      isub_maybe_done(is);
      return;
    }
    hdr_only = b.bytes;
  }
  bool fin = false, failed = false;
  uint64_t code = 0;
  int werr = MOQC_OK; /* the batch's (a write failed: the stream is gone) */
  while (werr >= 0 && !g->obj.dead && g->ss && !sess_closing(s)) {
    if (!g->in_frame) {
      moqc_frame_info fi;
      rc = moqc_group_consumer_next_frame(g->gc, &fi);
      if (rc == MOQC_ERR_AGAIN) break;
      if (rc == MOQC_ERR_CLOSED) {
        fin = true;
        break;
      }
      if (rc < 0) {
        failed = true;
        code = moqc_group_consumer_code(g->gc);
        break;
      }
      werr = ig_obj_hdr(&b, V(s), fi.timestamp, fi.size);
      if (werr == MOQC_ERR_INVAL) { /* over the draft's object size */
        werr = MOQC_OK;
        failed = true;
        code = MOQC_CODE_ENCODE;
        break;
      }
      g->in_frame = true;
    } else {
      moqc_slice sl;
      rc = moqc_group_consumer_read_chunk(g->gc, &sl);
      if (rc == MOQC_ERR_AGAIN) break;
      if (rc == MOQC_ERR_CLOSED) {
        g->in_frame = false;
        continue;
      }
      if (rc < 0) {
        failed = true;
        code = moqc_group_consumer_code(g->gc);
        break;
      }
      werr = moqc__gb_slice(&b, &sl);
    }
  }
  if (g->obj.dead || !g->ss || sess_closing(s)) {
    moqc__gb_drop(&b);
    return;
  }
  if (werr < 0) {
    moqc__gb_drop(&b);
    ig_gone(g);
    return;
  }
  if (hdr_only && b.bytes == hdr_only && b.n == 0 && !fin && !failed) {
    /* No object yet: the header waits to go with the first one, in one
     * write (imquic reads no object of a stream whose header came alone). */
    moqc__gb_drop(&b);
    g->started = false;
    return;
  }
  /* What is staged goes out (the objects before a failure too). */
  if (moqc__gb_flush(&b, fin) < 0) {
    ig_gone(g);
    return;
  }
  if (failed) {
    ig_reset(g, code);
    isub_maybe_done(is);
    return;
  }
  if (fin) {
    g->fin_sent = true;
    s->stats.groups_sent++;
    moqc_group_consumer_del(g->gc);
    g->gc = NULL;
    isub_maybe_done(is); /* the group stays in flight until acknowledged */
  }
}

static void ig_wake(void *arg) {
  igroup *g = arg;
  moqc_session *s = g->is->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !g->obj.dead) ig_pump(g);
  moqc__sess_exit(s);
}

static void ig_end(sstream *ss, bool reset, uint64_t code) {
  (void)reset;
  (void)code;
  igroup *g = ss->owner;
  if (g) ig_gone(g);
  else moqc__ss_maybe_forget(ss);
}

/* The peer acknowledged the whole stream: delivered, no longer in flight. */
static void ig_acked(sstream *ss) {
  igroup *g = ss->owner;
  assert(g && g->ss == ss);
  if (!g->fin_sent) return;
  moqc_session *s = g->is->s;
  ig_gone(g);
  if (!sess_closing(s) && moqc_list_empty(&s->pub.inflight)) {
    /* nothing of ours in flight any more: an idle session holds no arena */
    ietf_state *st = IS(s);
    bool any = false;
    for (moqc_link *it = st->subs.next; it != &st->subs && !any; it = it->next)
      any = !moqc_list_empty(&MOQC_CONTAINER_OF(it, isub, link)->groups);
    if (!any) moqc__serve_drop_arena(s);
  }
}

static const moqc__stream_kind sk_ietf_group_out = {
    .name = "ietf-group-out", .end = ig_end, .acked = ig_acked};

static void ig_opened(opener *op, int64_t id) {
  igroup *g = MOQC_CONTAINER_OF(op, igroup, op);
  isub *is = g->is;
  moqc_session *s = is->s;
  assert(g->opening && is->n_pending > 0);
  g->opening = false;
  is->n_pending--;
  g->ss = moqc__ss_new(s, id, &sk_ietf_group_out, false, g);
  if (!g->ss) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  is->streams++;
  moqc_stream_prio prio = {.priority = is->priority,
                           .order = is->ordered ? UINT64_MAX - g->seq : g->seq};
  (void)s->t->ops->set_priority(s->t, id, &prio);
  moqc_group_consumer_set_waker(g->gc, ig_wake, g);
  ig_pump(g);
}

static void ig_open_failed(opener *op, int err) {
  (void)err;
  igroup *g = MOQC_CONTAINER_OF(op, igroup, op);
  isub *is = g->is;
  assert(g->opening && is->n_pending > 0);
  g->opening = false;
  is->n_pending--;
  ig_destroy(g);
  isub_maybe_done(is);
}

/* ---- expiry (moq-lite's rules, serve.c): a group in flight that is not its
 * subscription's newest is reset with Old once its oldest unacknowledged byte
 * is older than the subscription's max latency, or, oldest first, while the
 * connection's backlog is over max_queued_bytes; one still waiting for stream
 * credit is dropped unsent. ---------------------------------------------------- */

static uint64_t ig_stale_ns(igroup *g, uint64_t now) {
  return moqc__serve_stale_ns(g->is->s, g->ss, g->opening, g->created_ns, g->wr_bytes, &g->ck_off,
                              &g->ck_ns, now);
}

/* Drop (never sent: waiting for credit, or a datagram group held until its
 * end) or reset (Old) an expired group. */
static void ig_expire_one(igroup *g) {
  if (g->ss) {
    /* also a group whose FIN is written but not delivered: frees the queue */
    assert(!g->opening && !g->dg_probe);
    moqc_session *s = g->is->s;
    s->stats.groups_reset_old++;
    moqc__ss_reset(g->ss, moqc__ietf_reset_wire(s, IS(s)->peer_solicit, MOQC_CODE_OLD));
  }
  ig_destroy(g);
}

static void isub_expire(isub *is) {
  moqc_session *s = is->s;
  uint64_t now = moqc__sess_now(s);
  MOQC_LIST_FOREACH_SAFE_DECL(it, nxt, &is->groups) {
    igroup *g = MOQC_CONTAINER_OF(it, igroup, link);
    uint64_t stale = ig_stale_ns(g, now); /* also advances the checkpoint */
    if (g->seq == is->latest_seq || stale <= is->latency_ms * 1000000ull) continue;
    if (sess_debug_on(s))
      moqc__sess_debug(s,
                       "IETF subscription %llu group %llu %s as Old: expired (oldest undelivered "
                       "byte %llu ms old > max latency %llu ms)",
                       (unsigned long long)is->req, (unsigned long long)g->seq,
                       g->opening ? "skipped" : "reset", (unsigned long long)(stale / 1000000),
                       (unsigned long long)is->latency_ms);
    ig_expire_one(g);
    if (sess_closing(s) || is->obj.dead) return;
    nxt = is->groups.next; /* restart: the list may have changed */
  }
}

/* Slow subscriber: while the backlog is over the cap, reset the oldest group
 * in flight (written to a stream) that is not its subscription's newest. */
static void ietf_slow_check(moqc_session *s) {
  ietf_state *st = IS(s);
  size_t cap = s->lim.max_queued_bytes;
  while (!sess_closing(s) && moqc__serve_backlog(s) > cap) {
    igroup *victim = NULL;
    for (moqc_link *i = st->subs.next; i != &st->subs; i = i->next) {
      isub *is = MOQC_CONTAINER_OF(i, isub, link);
      for (moqc_link *j = is->groups.next; j != &is->groups; j = j->next) {
        igroup *g = MOQC_CONTAINER_OF(j, igroup, link);
        if (!g->ss || g->seq == is->latest_seq) continue;
        if (!victim || g->created_ns < victim->created_ns) victim = g;
        break; /* the oldest of this subscription */
      }
    }
    if (!victim) return;
    if (sess_debug_on(s))
      moqc__sess_debug(s,
                       "IETF subscription %llu group %llu reset as Old: slow subscriber "
                       "(connection backlog %zu bytes > max_queued_bytes %zu)",
                       (unsigned long long)victim->is->req, (unsigned long long)victim->seq,
                       moqc__serve_backlog(s), cap);
    isub *is = victim->is;
    ig_expire_one(victim);
    if (!sess_closing(s) && !is->obj.dead) isub_maybe_done(is);
  }
}

static bool ietf_can_expire(const moqc_session *s) {
  const ietf_state *st = s->ietf;
  if (!st) return false;
  for (const moqc_link *i = st->subs.next; i != &st->subs; i = i->next) {
    const isub *is = MOQC_CONTAINER_OF(i, isub, link);
    for (const moqc_link *j = is->groups.next; j != &is->groups; j = j->next)
      if (MOQC_CONTAINER_OF(j, igroup, link)->seq != is->latest_seq) return true;
  }
  return false;
}

static size_t ietf_groups_in_flight(const moqc_session *s) {
  const ietf_state *st = s->ietf;
  size_t n = 0;
  if (!st) return 0;
  for (const moqc_link *i = st->subs.next; i != &st->subs; i = i->next) {
    const isub *is = MOQC_CONTAINER_OF(i, isub, link);
    for (const moqc_link *j = is->groups.next; j != &is->groups; j = j->next) n++;
  }
  return n;
}

static void ietf_expire(moqc_session *s) {
  ietf_state *st = IS(s);
  MOQC_LIST_FOREACH_SAFE_DECL(it, nxt, &st->subs) {
    (void)nxt;
    isub *is = MOQC_CONTAINER_OF(it, isub, link);
    isub_expire(is);
    if (sess_closing(s)) return;
    if (!is->obj.dead) isub_maybe_done(is);
    if (sess_closing(s)) return;
  }
  ietf_slow_check(s);
}

static void isub_free(sobj *o) { moqc_free(o); }

static void isub_destroy(isub *is) {
  moqc_session *s = is->s;
  moqc_timer_stop(s->clock, &is->done_timer);
  moqc__ietf_reqout_close(&is->rq, false); /* still opening; else handed over to ss */
  while (!moqc_list_empty(&is->groups))
    ig_reset(MOQC_CONTAINER_OF(is->groups.next, igroup, link), MOQC_CODE_CANCEL);
  if (is->tc) moqc_track_consumer_del(is->tc);
  is->tc = NULL;
  if (is->bc) moqc_broadcast_consumer_del(is->bc);
  is->bc = NULL;
  if (is->ss) {
    /* 17+: the request ends with our FIN (after PUBLISH_DONE, or the peer's cancel). */
    sstream *ss = is->ss;
    assert(req_streams(s) && ss->owner == is);
    is->ss = NULL;
    ss->owner = NULL;
    moqc__ss_fin(ss);
    moqc__ss_release(ss);
  }
  if (moqc_link_linked(&is->link)) {
    moqc_list_remove(&is->link);
    assert(s->n_served > 0);
    s->n_served--;
    if (is->pushed) {
      assert(IS(s)->n_pushes > 0);
      IS(s)->n_pushes--;
    }
  }
  moqc__sess_bury(s, &is->obj);
  req_window(s, false);
}

static void isub_send_done(isub *is) {
  moqc_session *s = is->s;
  is->done_sent = true;
  if (is->ss && is->done_code == IETF_DONE_TRACK_ENDED && IS(s)->peer_solicit) {
    /* 17+, clean end, to a moq-dev peer (it declares MoQ Solicit): the
     * request stream's FIN alone. @moq/net 0.3.4's subscriber waits for that
     * stream to close and never reads a PUBLISH_DONE there, and bytes left
     * unread keep it from ever closing; moq-dev's Rust ends the track on the
     * FIN too. Others (imquic) hear of the end only from PUBLISH_DONE: a FIN
     * alone drops the subscription silently (docs/interop.md). */
    isub_destroy(is);
    return;
  }
  moqc__ietf_msg *m = msg_new(MOQC_IETF_PUBLISH_DONE);
  if (m) {
    m->request_id = is->req;
    m->code = is->done_code;
    m->stream_count = is->streams;
  }
  req_send(s, is->ss, m);
  isub_destroy(is);
}

static void isub_done_timeout(moqc_timer *tm, void *arg) {
  (void)tm;
  isub *is = arg;
  moqc_session *s = is->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !is->obj.dead && !is->done_sent) isub_send_done(is);
  moqc__sess_exit(s);
}

/* PUBLISH_DONE once the track ended and every group stream is written; it
 * lingers like the lite subscribe FIN (subscribers drop unread groups at the
 * end of a subscription). */
static void isub_maybe_done(isub *is) {
  moqc_session *s = is->s;
  if (is->obj.dead || !is->track_done || is->done_sent || is->done_waiting) return;
  /* every group written (its FIN sent: it may still be in flight) */
  for (moqc_link *it = is->groups.next; it != &is->groups; it = it->next)
    if (!MOQC_CONTAINER_OF(it, igroup, link)->fin_sent) return;
  is->done_waiting = true;
  uint64_t rtt_ns = 0, rate = 0;
  if (s->t->ops->stats) s->t->ops->stats(s->t, &rtt_ns, &rate);
  if (moqc_timer_start(s->clock, &is->done_timer,
                       moqc__sess_now(s) + IETF_DONE_LINGER_NS + 2 * rtt_ns) < 0)
    isub_send_done(is);
}

/* Out of uni stream credit: skip the oldest groups waiting for it beyond
 * max_pending_groups (they never hit the wire), as moq-lite does. */
static void isub_trim_pending(isub *is) {
  moqc_session *s = is->s;
  while (is->n_pending > s->lim.max_pending_groups) {
    igroup *old = NULL;
    for (moqc_link *it = is->groups.next; it != &is->groups; it = it->next) {
      igroup *g = MOQC_CONTAINER_OF(it, igroup, link);
      if (g->opening) {
        old = g;
        break;
      }
    }
    assert(old); /* n_pending counts the opening groups of is */
    if (!old) break;
    ig_destroy(old);
  }
}

/* Open g's subgroup stream (deferred, waiting for credit: counted in
 * is->n_pending until opened), then the checks lite makes for a new group:
 * the pending cap while out of credit, the slow-subscriber cap, the tick.
 * Every group that goes on a stream opens through here. */
static void ig_open(igroup *g) {
  isub *is = g->is;
  moqc_session *s = is->s;
  assert(!g->opening && !g->ss);
  g->op.bidi = false;
  g->op.opened = ig_opened;
  g->op.failed = ig_open_failed;
  g->opening = true;
  is->n_pending++;
  moqc__sess_open(s, &g->op);
  if (sess_closing(s) || is->obj.dead) return;
  if (s->st.open_blocked[1]) isub_trim_pending(is);
  ietf_slow_check(s);
  moqc__sess_tick_arm(s);
}

static void ietf_trim_pending(moqc_session *s) {
  ietf_state *st = IS(s);
  for (moqc_link *it = st->subs.next; it != &st->subs; it = it->next)
    isub_trim_pending(MOQC_CONTAINER_OF(it, isub, link));
}

/* ---- publisher side: OBJECT_DATAGRAMs ------------------------------------------- */

/* A datagram-flagged group (moqc_track_producer_write_datagram, or received
 * as datagrams: moqc_group_producer_set_datagram) is held, no stream opened,
 * until it ends. Then each frame goes out as one OBJECT_DATAGRAM (object id =
 * frame index, priority 0, the Timestamp extension, the end-of-group bit on
 * the last) when every one of them fits the transport's max_datagram();
 * otherwise, or for an empty group, the group takes a subgroup stream as any
 * other. Unreliable: not retransmitted, not in PUBLISH_DONE's stream count.
 * A group aborted before its end is not sent. Held groups stay on is->groups
 * (no stream, not opening), so the ig_* teardown paths free them. */
static bool ig_dg_wanted(isub *is, moqc_group_consumer *gc) {
  moqc_session *s = is->s;
  const moqc_transport_ops *ops = s->t->ops;
  return moqc_group_consumer_is_datagram(gc) && ops->send_datagram && ops->max_datagram &&
         ops->max_datagram(s->t) > 0;
}

static ssize_t ig_dg_encode(igroup *g, uint64_t object, bool last, const moqc_frame *f,
                            uint8_t *buf, size_t cap) {
  moqc_session *s = g->is->s;
  uint8_t ext[24];
  ssize_t a = moqc__ietf_varint_encode(V(s), ext, sizeof ext, IETF_EXT_TIMESTAMP);
  ssize_t b =
      a > 0 ? moqc__ietf_varint_encode(V(s), ext + a, sizeof ext - (size_t)a, f->info.timestamp)
            : -1;
  if (b <= 0) return MOQC_ERR_INVAL;
  moqc__ietf_datagram d = {.end_of_group = last,
                           .has_priority = true,
                           .track_alias = g->is->req,
                           .group = g->seq,
                           .object = object,
                           .priority = 0,
                           .ext = {ext, (size_t)(a + b)},
                           .payload = {moqc_slice_ptr(&f->payload), f->payload.len}};
  return moqc__ietf_datagram_encode(buf, cap, V(s), &d);
}

/* One pass over a clone of the ended group: check (send false) or send
 * (send true) every frame. 1: all fit (and were sent), 0: one does not fit
 * or the group is empty, < 0: the group was aborted / lagged. */
static int ig_dg_pass(igroup *g, uint8_t *buf, size_t cap, bool send) {
  moqc_session *s = g->is->s;
  size_t n = moqc_group_consumer_frames_available(g->gc);
  if (n == 0) return 0;
  moqc_group_consumer *c = moqc_group_consumer_clone(g->gc);
  if (!c) return MOQC_ERR_NOMEM;
  int ret = 1;
  for (size_t i = 0; i < n && ret == 1; i++) {
    moqc_frame f;
    int rc = moqc_group_consumer_read_frame(c, &f);
    if (rc != MOQC_OK) {
      ret = rc == MOQC_ERR_CLOSED ? 0 : rc;
      break;
    }
    ssize_t k = ig_dg_encode(g, i, i + 1 == n, &f, buf, cap);
    moqc_slice_release(&f.payload);
    if (k < 0) {
      ret = 0;
    } else if (send) {
      /* unreliable: a datagram the transport refuses (or drops later) is lost */
      if (s->t->ops->send_datagram(s->t, buf, (size_t)k) == MOQC_OK) s->stats.datagrams_sent++;
    }
  }
  moqc_group_consumer_del(c);
  return ret;
}

static void ig_dg_try(igroup *g) {
  isub *is = g->is;
  moqc_session *s = is->s;
  assert(!g->ss && !g->opening && g->dg_probe);
  for (;;) { /* the probe reads ahead (AGAIN re-arms its waker) until the end */
    moqc_frame f;
    int rc = moqc_group_consumer_read_frame(g->dg_probe, &f);
    if (rc == MOQC_ERR_AGAIN) return;
    if (rc != MOQC_OK) break;
    moqc_slice_release(&f.payload);
  }
  moqc_group_consumer_del(g->dg_probe);
  g->dg_probe = NULL;
  size_t cap = s->t->ops->max_datagram(s->t);
  uint8_t *buf = cap ? moqc_malloc(cap) : NULL;
  int r = buf ? ig_dg_pass(g, buf, cap, false) : 0;
  if (r == 1) r = ig_dg_pass(g, buf, cap, true);
  moqc_free(buf);
  if (r != 0) { /* sent, or aborted: nothing more to do */
    ig_destroy(g);
    isub_maybe_done(is);
    return;
  }
  /* A subgroup stream, as for any other group. */
  ig_open(g);
}

static void ig_dg_wake(void *arg) {
  igroup *g = arg;
  moqc_session *s = g->is->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !g->obj.dead && g->dg_probe) ig_dg_try(g);
  moqc__sess_exit(s);
}

static void isub_new_group(isub *is, moqc_group_consumer *gc) {
  moqc_session *s = is->s;
  igroup *g = moqc_calloc(1, sizeof *g);
  if (!g) {
    moqc_group_consumer_del(gc);
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  g->obj.destroy = ig_free;
  g->is = is;
  g->gc = gc;
  g->seq = moqc_group_consumer_sequence(gc);
  g->created_ns = moqc_group_consumer_created_ns(gc);
  if (is->latest_seq == MOQC_GROUP_NONE || g->seq > is->latest_seq) is->latest_seq = g->seq;
  moqc_link_init(&g->op.link);
  moqc_list_push_back(&is->groups, &g->link);
  isub_expire(is); /* a newer group: older ones may be stale now */
  if (sess_closing(s) || is->obj.dead || g->obj.dead) return;
  if (ig_dg_wanted(is, gc) && (g->dg_probe = moqc_group_consumer_clone(gc)) != NULL) {
    moqc_group_consumer_set_waker(g->dg_probe, ig_dg_wake, g);
    ig_dg_try(g);
    return;
  }
  ig_open(g);
}

static void isub_pump(isub *is) {
  moqc_session *s = is->s;
  if (is->awaiting_ok) return;
  while (!sess_closing(s) && !is->obj.dead && !is->track_done) {
    moqc_group_consumer *gc = NULL;
    int rc = moqc_track_consumer_recv_group(is->tc, &gc);
    if (rc == MOQC_OK) {
      if (is->forward) isub_new_group(is, gc);
      else moqc_group_consumer_del(gc);
      continue;
    }
    if (rc == MOQC_ERR_AGAIN) return;
    is->track_done = true;
    is->done_code = rc == MOQC_ERR_CLOSED ? IETF_DONE_TRACK_ENDED : 0x0 /* INTERNAL_ERROR */;
    if (rc != MOQC_ERR_CLOSED) {
      while (!moqc_list_empty(&is->groups))
        ig_reset(MOQC_CONTAINER_OF(is->groups.next, igroup, link),
                 moqc_track_consumer_code(is->tc));
    }
  }
  if (!sess_closing(s) && !is->obj.dead) isub_maybe_done(is);
}

static void isub_wake(void *arg) {
  isub *is = arg;
  moqc_session *s = is->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !is->obj.dead) isub_pump(is);
  moqc__sess_exit(s);
}

/* SUBSCRIBE_ERROR / REQUEST_ERROR; 17+: on the request stream ss, which ends. */
static void sub_error(moqc_session *s, sstream *ss, uint64_t req, uint64_t code, const char *why) {
  moqc__ietf_request_refuse(s, ss, MOQC_IETF_SUBSCRIBE_ERROR, req, code, why);
}

/* SUBSCRIBE: on the control stream (ss NULL; 14-16) or on its own request
 * stream (17+), which the subscription then owns. */
static void on_subscribe(moqc_session *s, const moqc__ietf_msg *m, sstream *ss) {
  ietf_state *st = IS(s);
  if (s->n_served >= s->lim.max_subscriptions) {
    s->stats.streams_rejected++;
    sub_error(s, ss, m->request_id, MOQC_IETF_REQERR_EXCESSIVE_LOAD, "too many subscriptions");
    return;
  }
  char path[MOQC_PATH_MAX_LEN + 1];
  if (!tuple_path(&m->ns, path, sizeof path)) {
    sub_error(s, ss, m->request_id, IETF_SUB_ERR_NOT_FOUND, "bad namespace");
    return;
  }
  uint64_t code = MOQC_CODE_NOT_FOUND;
  moqc_broadcast_consumer *bc =
      moqc__sess_resolve(s, (moqc_bytes){(const uint8_t *)path, strlen(path)}, &code);
  if (!bc) {
    sub_error(s, ss, m->request_id, IETF_SUB_ERR_NOT_FOUND, "broadcast not found");
    return;
  }
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  if (m->has & MOQC_IETF_HAS_PRIORITY) sub.priority = (uint8_t)(255 - m->priority);
  if (m->has & MOQC_IETF_HAS_GROUP_ORDER) sub.ordered = m->group_order == 1;
  if (m->has & MOQC_IETF_HAS_FILTER) {
    if (m->filter.type == MOQC_IETF_FILTER_ABSOLUTE_START ||
        m->filter.type == MOQC_IETF_FILTER_ABSOLUTE_RANGE)
      sub.start = m->filter.start.group;
    if (m->filter.type == MOQC_IETF_FILTER_ABSOLUTE_RANGE) sub.end = m->filter.end_group;
  }
  char *name = moqc__sess_strdup_bytes(m->name);
  int err = MOQC_ERR_NOT_FOUND;
  moqc_track_consumer *tc = NULL;
  if (name && strlen(name) == m->name.len)
    tc = moqc_broadcast_consumer_subscribe(bc, name, &sub, &err);
  moqc_free(name);
  isub *is = tc ? moqc_calloc(1, sizeof *is) : NULL;
  if (!is) {
    if (tc) moqc_track_consumer_del(tc);
    moqc_broadcast_consumer_del(bc);
    sub_error(s, ss, m->request_id, IETF_SUB_ERR_NOT_FOUND, "track not found");
    return;
  }
  is->obj.destroy = isub_free;
  is->s = s;
  is->req = m->request_id;
  is->priority = sub.priority;
  is->ordered = sub.ordered;
  /* Group order 0 (or none): the publisher's choice, its track's preference
   * when known. */
  bool pub_choice = !(m->has & MOQC_IETF_HAS_GROUP_ORDER) || m->group_order == 0;
  if (pub_choice && moqc_track_consumer_info_known(tc))
    is->ordered = moqc_track_consumer_info(tc)->ordered;
  is->forward = !(m->has & MOQC_IETF_HAS_FORWARD) || m->forward;
  is->latency_ms = moqc__serve_latency_ms(&sub, tc);
  is->latest_seq = MOQC_GROUP_NONE;
  is->bc = bc;
  is->tc = tc;
  moqc_link_init(&is->groups);
  moqc_timer_init(&is->done_timer, isub_done_timeout, is);
  moqc_list_push_back(&st->subs, &is->link);
  s->n_served++;
  s->stats.subscribes_served++;
  moqc__ietf_msg *r = msg_new(MOQC_IETF_SUBSCRIBE_OK);
  if (r) {
    r->request_id = m->request_id;
    r->track_alias = m->request_id;
    r->expires = 0;
    /* What the group streams' priorities deliver (ig_opened): oldest first
     * when ordered (asked ascending, or the publisher's choice on an ordered
     * track), else newest first. */
    r->group_order = is->ordered ? 1 : 2;
    r->has = MOQC_IETF_HAS_GROUP_ORDER | MOQC_IETF_HAS_EXPIRES;
  }
  if (ss) {
    is->ss = ss;
    ss->owner = is;
  }
  req_send(s, ss, r);
  if (sess_closing(s)) return;
  moqc_track_consumer_set_waker(tc, isub_wake, is);
  isub_pump(is);
}

static isub *isub_find(moqc_session *s, uint64_t req) {
  ietf_state *st = IS(s);
  for (moqc_link *it = st->subs.next; it != &st->subs; it = it->next) {
    isub *is = MOQC_CONTAINER_OF(it, isub, link);
    if (is->req == req) return is;
  }
  return NULL;
}

/* SUBSCRIBE_UPDATE (14/15) / REQUEST_UPDATE (16; 17+ on the SUBSCRIBE's
 * request stream, subin_process) of a subscription we serve: Forward and
 * Subscriber Priority apply from now on (open group streams are
 * re-prioritised); a start / end is not narrowed (the model serves from the
 * live edge). 16+ answers REQUEST_OK, 16 REQUEST_ERROR for an unknown
 * subscription; 14/15 have no answer. */
static void isub_update(isub *is, const moqc__ietf_msg *m) {
  moqc_session *s = is->s;
  if (m->has & MOQC_IETF_HAS_PRIORITY) {
    is->priority = (uint8_t)(255 - m->priority);
    for (moqc_link *it = is->groups.next; it != &is->groups; it = it->next) {
      igroup *g = MOQC_CONTAINER_OF(it, igroup, link);
      if (!g->ss) continue;
      moqc_stream_prio prio = {.priority = is->priority,
                               .order = is->ordered ? UINT64_MAX - g->seq : g->seq};
      (void)s->t->ops->set_priority(s->t, g->ss->id, &prio);
    }
  }
  if (m->has & MOQC_IETF_HAS_FORWARD) is->forward = m->forward != 0;
}

/* Draft-16: is update_id a live request of the peer's that an update may
 * name and that has nothing we change: its PUBLISH_NAMESPACE, its
 * SUBSCRIBE_NAMESPACE (16 updates no prefix), its PUBLISH (bound to a track
 * or not)? */
static bool peer_req_plain(moqc_session *s, uint64_t id) {
  ietf_state *st = IS(s);
  if (moqc__imap_find(&st->peer_ns, id) || moqc__imap_find(&st->pushed, id)) return true;
  itrack *t = moqc__imap_find(&st->by_req, id);
  if (t && t->hold_tc) return true;
  for (moqc_link *it = st->ns_subs.next; it != &st->ns_subs; it = it->next) {
    ins_sub *ns = MOQC_CONTAINER_OF(it, ins_sub, link);
    if (ns != st->unasked && ns->req == id) return true;
  }
  return false;
}

static void on_request_update(moqc_session *s, const moqc__ietf_msg *m) {
  isub *is = isub_find(s, m->update_id);
  if (!is) {
    /* 16: REQUEST_UPDATE names any request: a served FETCH takes its
     * Subscriber Priority; a TRACK_STATUS is not updated (a one-shot
     * answer: REQUEST_ERROR NOT_SUPPORTED, the status still answered);
     * the others are acknowledged unchanged. 14/15: SUBSCRIBE_UPDATE only. */
    if (V(s) < MOQC_IETF_16) return;
    uint64_t code = MOQC_IETF_REQERR_DOES_NOT_EXIST;
    const char *why = "no such request";
    if (moqc__ietf_status_update(s, NULL, m->update_id)) {
      code = MOQC_IETF_REQERR_NOT_SUPPORTED;
      why = "a TRACK_STATUS cannot be updated";
    } else if (moqc__ietf_fetch_update(s, NULL, m->update_id, m) ||
               peer_req_plain(s, m->update_id)) {
      why = NULL;
    }
    if (why) {
      moqc__ietf_request_error(s, MOQC_IETF_REQUEST_ERROR, m->request_id, code, why);
      return;
    }
  } else {
    isub_update(is, m);
  }
  if (V(s) >= MOQC_IETF_16) {
    req_ok(s, IS(s)->ctrl, m->request_id);
  }
}

moqc_track_consumer *moqc__ietf_served_track(moqc_session *s, uint64_t req,
                                             moqc_broadcast_consumer **bc_out) {
  isub *is = isub_find(s, req);
  if (bc_out) *bc_out = is ? is->bc : NULL;
  return is ? is->tc : NULL;
}

/* ---- publisher side: PUBLISH (a track pushed without a SUBSCRIBE) ---------------- */

static const moqc__stream_kind sk_ietf_publish_out;

/* 17+: our PUBLISH's stream is open (the PUBLISH written): it becomes the
 * push's request stream (PUBLISH_DONE goes there; isub_destroy FINs it). */
static void pub_out_opened(moqc__ietf_reqout *r) {
  isub *is = MOQC_CONTAINER_OF(r, isub, rq);
  assert(!is->ss && r->ss && r->ss->owner == is);
  is->ss = r->ss;
  r->ss = NULL;
}

static void pub_out_failed(moqc__ietf_reqout *r) { isub_destroy(MOQC_CONTAINER_OF(r, isub, rq)); }

int moqc_session_publish_track(moqc_session *s, const char *path, const char *track) {
  if (!s || !path || !track) return MOQC_ERR_INVAL;
  if (sess_closing(s)) return MOQC_ERR_CLOSED;
  if (!moqc__sess_ietf_version(V(s))) return MOQC_ERR_UNSUPPORTED;
  if (s->state != ST_RUNNING || !s->pub.origin) return MOQC_ERR_STATE;
  if (s->n_served >= s->lim.max_subscriptions) return MOQC_ERR_BOUNDS;
  ietf_state *st = IS(s);
  moqc__ietf_msg *m = msg_new(MOQC_IETF_PUBLISH);
  if (!m) return MOQC_ERR_NOMEM;
  if (!path_tuple(&m->ns, path)) {
    moqc_free(m);
    return MOQC_ERR_INVAL;
  }
  uint64_t code = MOQC_CODE_UNROUTABLE;
  moqc_broadcast_consumer *bc =
      moqc__sess_resolve(s, (moqc_bytes){(const uint8_t *)path, strlen(path)}, &code);
  if (!bc) {
    moqc_free(m);
    return MOQC_ERR_UNROUTABLE;
  }
  int err = MOQC_ERR_NOT_FOUND;
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  moqc_track_consumer *tc = moqc_broadcast_consumer_subscribe(bc, track, &sub, &err);
  isub *is = tc ? moqc_calloc(1, sizeof *is) : NULL;
  if (!is) {
    if (tc) moqc_track_consumer_del(tc);
    moqc_broadcast_consumer_del(bc);
    moqc_free(m);
    return tc ? MOQC_ERR_NOMEM : err;
  }
  moqc__sess_enter(s);
  is->obj.destroy = isub_free;
  is->s = s;
  is->req = req_next(s); /* also the track alias, like the peer's SUBSCRIBEs */
  is->priority = sub.priority;
  is->latency_ms = moqc__serve_latency_ms(&sub, tc); /* as a served SUBSCRIBE's (was 0) */
  is->forward = true;
  is->pushed = is->awaiting_ok = true;
  is->bc = bc;
  is->tc = tc;
  moqc_link_init(&is->groups);
  moqc_timer_init(&is->done_timer, isub_done_timeout, is);
  moqc_list_push_back(&st->subs, &is->link);
  s->n_served++;
  st->n_pushes++;
  m->request_id = is->req;
  m->name = (moqc_bytes){(const uint8_t *)track, strlen(track)};
  m->track_alias = is->req;
  m->group_order = 2; /* what the group streams deliver (not ordered) */
  m->forward = 1;
  m->has = MOQC_IETF_HAS_GROUP_ORDER | MOQC_IETF_HAS_FORWARD;
  uint64_t latest = moqc_track_consumer_latest(tc);
  moqc_group_consumer *lg = NULL;
  if (latest != MOQC_GROUP_NONE && V(s) == MOQC_IETF_14 &&
      moqc_track_consumer_fetch_group(tc, latest, &lg) == MOQC_OK) {
    /* 14 carries Content Exists + the largest location: the latest group
     * and the last frame it has. */
    size_t k = moqc_group_consumer_frames_available(lg);
    moqc_group_consumer_del(lg);
    if (k) {
      m->largest = (moqc__ietf_loc){latest, (uint64_t)k - 1};
      m->has |= MOQC_IETF_HAS_LARGEST;
    }
  }
  if (sess_debug_on(s))
    moqc__sess_debug(s, "PUBLISH %llu %s/%s", (unsigned long long)is->req, path, track);
  is->rq = (moqc__ietf_reqout){.s = s,
                               .kind = &sk_ietf_publish_out,
                               .owner = is,
                               .opened = pub_out_opened,
                               .failed = pub_out_failed};
  int rc = moqc__ietf_request_send(s, &is->rq, m);
  if (rc != MOQC_OK) isub_destroy(is);
  if (rc == MOQC_OK && !sess_closing(s)) moqc_track_consumer_set_waker(tc, isub_wake, is);
  moqc__sess_exit(s);
  return rc;
}

static void publish_accepted(isub *is, const moqc__ietf_msg *m);

/* 14-16: PUBLISH_OK on the control stream, by request id. */
static void on_publish_ok(moqc_session *s, const moqc__ietf_msg *m) {
  isub *is = isub_find(s, m->request_id);
  if (is) publish_accepted(is, m);
}

/* Our PUBLISH accepted: its groups go (those that waited in the cache first). */
static void publish_accepted(isub *is, const moqc__ietf_msg *m) {
  if (!is->pushed || !is->awaiting_ok) return;
  is->awaiting_ok = false;
  is->s->stats.pushes_accepted++;
  if ((m->has & MOQC_IETF_HAS_FORWARD) && !m->forward) is->forward = false;
  if (m->has & MOQC_IETF_HAS_PRIORITY) is->priority = (uint8_t)(255 - m->priority);
  if ((m->has & MOQC_IETF_HAS_GROUP_ORDER) && m->group_order) is->ordered = m->group_order == 1;
  isub_pump(is);
}

/* Our PUBLISH refused (moq-dev's relay declines every PUBLISH): the push
 * ends; the track stays reachable the usual way, through the namespace we
 * announce (PUBLISH_NAMESPACE) and the peer's SUBSCRIBE. true: it was ours. */
static bool publish_refused(moqc_session *s, const moqc__ietf_msg *m) {
  isub *is = isub_find(s, m->request_id);
  if (!is || !is->pushed) return false;
  if (sess_debug_on(s))
    moqc__sess_debug(s, "PUBLISH %llu refused: code %llu", (unsigned long long)m->request_id,
                     (unsigned long long)m->code);
  isub_destroy(is);
  return true;
}

/* 17+: what comes back on our PUBLISH's stream: PUBLISH_OK (17; 18+
 * REQUEST_OK, either taken) starts the groups, REQUEST_ERROR refuses the
 * push, a later REQUEST_UPDATE is applied and answered REQUEST_OK there. */
static void pub_out_on(void *owner, const moqc__ietf_msg *m) {
  isub *is = owner;
  moqc_session *s = is->s;
  assert(is->pushed && is->ss && is->ss->owner == is);
  switch (m->type) {
    case MOQC_IETF_PUBLISH_OK:
    case MOQC_IETF_REQUEST_OK: publish_accepted(is, m); break;
    case MOQC_IETF_REQUEST_ERROR:
      if (sess_debug_on(s))
        moqc__sess_debug(s, "PUBLISH %llu refused: code %llu", (unsigned long long)is->req,
                         (unsigned long long)m->code);
      isub_destroy(is);
      break;
    case MOQC_IETF_REQUEST_UPDATE: {
      if (!peer_req_ok(s, m->request_id, false)) break;
      isub_update(is, m);
      req_ok(s, is->ss, m->request_id);
      break;
    }
    default:
      moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "unexpected message on a PUBLISH stream", false);
      break;
  }
}

static int pub_out_process(sstream *ss) { return moqc__ietf_reqout_read(ss, pub_out_on); }

/* The subscriber ended the stream (FIN, RESET, STOP_SENDING): the push ends. */
static void pub_out_end(sstream *ss, bool reset, uint64_t code) {
  (void)reset;
  (void)code;
  isub *is = ss->owner;
  if (is) isub_destroy(is); /* releases ss */
  else moqc__ss_release(ss);
}

static const moqc__stream_kind sk_ietf_publish_out = {.name = "ietf-publish-out",
                                                      .process = pub_out_process,
                                                      .end = pub_out_end,
                                                      .request_out = true};

static void on_unsubscribe(moqc_session *s, const moqc__ietf_msg *m) {
  isub *is = isub_find(s, m->request_id);
  if (is) isub_destroy(is);
}

/* ---- subscriber side: remote tracks --------------------------------------------- */

static void it_free(sobj *o) {
  itrack *t = (itrack *)(void *)o;
  moqc_free(t->path);
  moqc_free(t->name);
  moqc_free(t);
}

static void gin_close(igin *gi, bool ok, uint64_t code);
static void it_dg_close(itrack *t, bool ok);

static void it_destroy(itrack *t, uint64_t code, bool finish) {
  moqc_session *s = t->s;
  ietf_state *st = IS(s);
  moqc_timer_stop(s->clock, &t->fin_timer);
  assert(!t->rq.ss || t->rq.ss->owner == t);
  moqc__ietf_reqout_close(&t->rq, !finish); /* 17+: STOP_SENDING + FIN cancels */
  if (sess_debug_on(s))
    moqc__sess_debug(s, "track %s/%s (request %llu) %s (code %llu, %llu of %llu streams)", t->path,
                     t->name, (unsigned long long)t->req, finish ? "finished" : "ended",
                     (unsigned long long)code, (unsigned long long)t->streams_seen,
                     (unsigned long long)t->streams_expected);
  while (!moqc_list_empty(&t->groups)) {
    igin *gi = MOQC_CONTAINER_OF(t->groups.next, igin, link);
    if (gi->ss) moqc__ss_stop(gi->ss, MOQC_CODE_CANCEL);
    gin_close(gi, false, MOQC_CODE_CANCEL);
  }
  it_dg_close(t, finish);
  if (t->subscribed) {
    (void)moqc__imap_remove(&st->by_req, t->req);
    if (t->ok_seen) (void)moqc__imap_remove(&st->by_alias, t->alias);
    assert(s->sub.n_rtracks > 0);
    s->sub.n_rtracks--;
    t->subscribed = false;
  }
  if (t->tp) {
    if (finish) (void)moqc_track_producer_complete(t->tp);
    else moqc_track_producer_abort(t->tp, code);
    moqc_track_producer_del(t->tp);
  }
  t->tp = NULL;
  if (moqc_link_linked(&t->link)) moqc_list_remove(&t->link);
  moqc__sess_bury(s, &t->obj);
  if (t->hold_tc) moqc_track_consumer_del(t->hold_tc);
  if (t->hold_bc) moqc_broadcast_consumer_del(t->hold_bc);
  t->hold_tc = NULL;
  t->hold_bc = NULL;
}

static const moqc__stream_kind sk_ietf_sub_out;

/* The absolute joining FETCH of t's SUBSCRIBE from group `from` (a consumer's
 * open-ended past start): it_write_subscribe on 14-16, behind the SUBSCRIBE
 * on the control stream; 17+ once SUBSCRIBE_OK arrived (it_ok: the FETCH's
 * request stream could reach the peer before the SUBSCRIBE's, which the
 * joining FETCH names). */
static void it_join(itrack *t, uint64_t from) {
  moqc_session *s = t->s;
  assert(from != MOQC_GROUP_NONE && t->subscribed && t->sub_written);
  moqc_track_demand d = moqc_track_producer_demand(t->tp);
  int rc = moqc__ietf_fetch_range(s, t->path, t->tp, from, MOQC_GROUP_NONE - 1,
                                  d.aggregate.priority, t->req);
  if (sess_debug_on(s))
    moqc__sess_debug(s, "joining FETCH %s/%s from %llu: %d", t->path, t->name,
                     (unsigned long long)from, rc);
  if (rc == MOQC_ERR_NOMEM) moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
  else if (rc == MOQC_OK) t->fetch_low = from; /* it_fetch_check: asked already */
}

/* Write the SUBSCRIBE of t (registered under t->req): on the control
 * stream, or (17+) on t's request stream. An open-ended past start: to a
 * peer that declared MoQ Solicit (moq-dev, moqc) the SUBSCRIBE's
 * AbsoluteStart asks for it (they serve it from their cache and reset a
 * FETCH: @moq/net 0.3.4, moq-relay); to others the live edge plus an
 * absolute joining FETCH (it_join). */
static void it_write_subscribe(itrack *t) {
  moqc_session *s = t->s;
  moqc_track_demand d = moqc_track_producer_demand(t->tp);
  moqc__ietf_msg *m = msg_new(MOQC_IETF_SUBSCRIBE);
  if (!m || !path_tuple(&m->ns, t->path)) {
    moqc_free(m);
    it_destroy(t, MOQC_CODE_NOT_FOUND, false);
    return;
  }
  m->request_id = t->req;
  m->name = (moqc_bytes){(const uint8_t *)t->name, strlen(t->name)};
  m->priority = (uint8_t)(255 - d.aggregate.priority);
  m->group_order = d.aggregate.ordered ? 1 : 2;
  m->forward = 1;
  /* The live edge unless a consumer asked for an earlier start. */
  m->filter.type = MOQC_IETF_FILTER_LARGEST_OBJECT;
  /* An open-ended start: the live edge plus an absolute joining FETCH
   * from that start (below), the drafts' way to join with the past (a
   * publisher may ignore a past start in SUBSCRIBE); a Solicit peer gets
   * the start in the SUBSCRIBE. */
  bool joining = d.aggregate.start != MOQC_GROUP_NONE && d.aggregate.end == MOQC_GROUP_NONE &&
                 !IS(s)->peer_solicit;
  if (d.aggregate.start != MOQC_GROUP_NONE && !joining) {
    m->filter.type = MOQC_IETF_FILTER_ABSOLUTE_START;
    m->filter.start.group = d.aggregate.start;
    if (d.aggregate.end != MOQC_GROUP_NONE) {
      m->filter.type = MOQC_IETF_FILTER_ABSOLUTE_RANGE;
      m->filter.end_group = d.aggregate.end;
    }
  }
  m->has = MOQC_IETF_HAS_PRIORITY | MOQC_IETF_HAS_GROUP_ORDER | MOQC_IETF_HAS_FORWARD |
           MOQC_IETF_HAS_FILTER;
  t->sub_written = true;
  t->sent_priority = m->priority;
  uint64_t join_from = joining ? d.aggregate.start : MOQC_GROUP_NONE;
  if (m->filter.type != MOQC_IETF_FILTER_LARGEST_OBJECT) t->start.group = m->filter.start.group;
  if (m->filter.type == MOQC_IETF_FILTER_ABSOLUTE_RANGE) t->end_group = m->filter.end_group + 1;
  /* A Solicit peer sends the past from the SUBSCRIBE's start: it_fetch_check
   * asks no FETCH for it (the peer would reset it). */
  if (IS(s)->peer_solicit && m->filter.type != MOQC_IETF_FILTER_LARGEST_OBJECT)
    t->fetch_low = m->filter.start.group;
  req_send(s, t->rq.ss, m);
  if (join_from == MOQC_GROUP_NONE || sess_closing(s) || t->obj.dead) return;
  if (req_streams(s)) {
    t->join_from = join_from;
    t->fetch_low = join_from; /* it_fetch_check: asked already (it_ok) */
    return;
  }
  it_join(t, join_from);
}

/* SUBSCRIBE_UPDATE (14/15) / REQUEST_UPDATE (16+): a local consumer's
 * priority changed the track's aggregate subscriber priority. A new request
 * id of ours (held under the peer's MAX_REQUEST_ID like any request); the
 * peer's REQUEST_OK (16+) is ignored, its REQUEST_ERROR too (the
 * subscription goes on at the old priority). 17+: on the SUBSCRIBE's own
 * request stream (no subscription id on the wire; the answer comes back
 * there too, subout_on). Group order cannot be updated
 * in any draft; a start / end change is not sent (the publisher would only
 * widen it on 14, and 15+ drops the fields). */
static void it_send_update(itrack *t, uint8_t wire_priority) {
  moqc_session *s = t->s;
  assert(t->subscribed && t->sub_written && (!req_streams(s) || t->rq.ss));
  moqc__ietf_msg *m = msg_new(MOQC_IETF_REQUEST_UPDATE);
  if (!m) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  m->request_id = req_next(s);
  m->update_id = t->req;
  m->priority = wire_priority;
  m->forward = 1;
  m->has = MOQC_IETF_HAS_PRIORITY;
  if (V(s) == MOQC_IETF_14) {
    m->filter.start = t->start;
    m->filter.end_group = t->end_group;
    m->has |= MOQC_IETF_HAS_FORWARD;
  }
  t->sent_priority = wire_priority;
  if (sess_debug_on(s))
    moqc__sess_debug(s, "REQUEST_UPDATE %llu of %llu: priority %u",
                     (unsigned long long)m->request_id, (unsigned long long)t->req,
                     (unsigned)wire_priority);
  req_send(s, t->rq.ss, m);
}

static void it_sub_opened(moqc__ietf_reqout *r) {
  it_write_subscribe(MOQC_CONTAINER_OF(r, itrack, rq));
}

static void it_sub_open_failed(moqc__ietf_reqout *r) {
  it_destroy(MOQC_CONTAINER_OF(r, itrack, rq), MOQC_CODE_TRANSPORT, false);
}

static void it_send_subscribe(itrack *t) {
  moqc_session *s = t->s;
  ietf_state *st = IS(s);
  t->req = req_next(s);
  if (moqc__imap_insert(&st->by_req, t->req, t) < 0) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  t->subscribed = true;
  s->sub.n_rtracks++;
  if (sess_debug_on(s))
    moqc__sess_debug(s, "SUBSCRIBE %llu %s/%s", (unsigned long long)t->req, t->path, t->name);
  if (!req_streams(s)) {
    it_write_subscribe(t);
    return;
  }
  t->rq = (moqc__ietf_reqout){.s = s,
                              .kind = &sk_ietf_sub_out,
                              .owner = t,
                              .opened = it_sub_opened,
                              .failed = it_sub_open_failed};
  moqc__ietf_reqout_open(&t->rq);
}

/* Relay FETCH upstream (17+: each FETCH on its own request stream): a consumer asked for groups from `start`
 * (a downstream FETCH waiting on a [start, end] subscription, or a SUBSCRIBE
 * with an absolute start) below what the subscription delivers. The groups
 * up to the subscription's first (SUBSCRIBE_OK's largest group, else the
 * newest received, else the consumer's end) are fetched upstream with one
 * FETCH, at most IETF_UPSTREAM_FETCH_MAX groups (the newest of the range),
 * and fed into the track; later demands fetch only below what was asked
 * already (fetch_low), so concurrent downstream fetches share one upstream
 * request per missing range. Groups the track has already are skipped. */
static void it_fetch_check(itrack *t, const moqc_track_demand *d) {
  moqc_session *s = t->s;
  uint64_t lo = d->aggregate.start;
  if (t->finished || !t->subscribed || lo == MOQC_GROUP_NONE) return;
  uint64_t hi = t->largest_group;
  if (hi == MOQC_GROUP_NONE) hi = moqc_track_producer_latest(t->tp);
  if (hi == MOQC_GROUP_NONE) hi = d->aggregate.end;
  if (hi == MOQC_GROUP_NONE) return; /* nothing known upstream yet: the SUBSCRIBE's start asks */
  if (d->aggregate.end != MOQC_GROUP_NONE && d->aggregate.end < hi) hi = d->aggregate.end;
  if (t->fetch_low != MOQC_GROUP_NONE) {
    if (t->fetch_low <= lo) return;
    if (t->fetch_low - 1 < hi) hi = t->fetch_low - 1;
  }
  if (lo > hi) return;
  if (hi - lo >= IETF_UPSTREAM_FETCH_MAX) lo = hi - (IETF_UPSTREAM_FETCH_MAX - 1);
  int rc =
      moqc__ietf_fetch_range(s, t->path, t->tp, lo, hi, d->aggregate.priority, MOQC_GROUP_NONE);
  if (sess_debug_on(s))
    moqc__sess_debug(s, "FETCH upstream %s/%s [%llu, %llu]: %d", t->path, t->name,
                     (unsigned long long)lo, (unsigned long long)hi, rc);
  if (rc == MOQC_ERR_NOMEM) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  if (rc == MOQC_OK) t->fetch_low = lo;
}

static void it_demand(itrack *t) {
  moqc_session *s = t->s;
  moqc_track_demand d = moqc_track_producer_demand(t->tp);
  if (d.consumers > 0 && !t->subscribed && !t->finished) {
    it_send_subscribe(t);
  } else if (d.consumers > 0 && t->subscribed && t->sub_written && !t->finished && !t->hold_tc &&
             (!req_streams(s) || t->rq.ss)) {
    uint8_t wire = (uint8_t)(255 - d.aggregate.priority);
    if (wire != t->sent_priority) it_send_update(t, wire);
  } else if (d.consumers == 0 && t->subscribed) {
    if (!req_streams(s)) { /* 17+: it_destroy stops the request stream */
      moqc__ietf_msg *m = msg_new(MOQC_IETF_UNSUBSCRIBE);
      if (m) m->request_id = t->req;
      ctrl_send(s, m);
    }
    it_destroy(t, MOQC_CODE_CANCEL, false);
    return;
  }
  if (d.consumers > 0 && !sess_closing(s) && !t->obj.dead) it_fetch_check(t, &d);
}

static void it_wake(void *arg) {
  itrack *t = arg;
  moqc_session *s = t->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !t->obj.dead && t->tp) it_demand(t);
  moqc__sess_exit(s);
}

/* PUBLISH_DONE was seen: the track completes once the streams it counted
 * arrived and ended (or this timer gave up on them). */
static void it_maybe_finish(itrack *t) {
  if (!t->finished || t->obj.dead || !moqc_list_empty(&t->groups)) return;
  if (t->streams_seen >= t->streams_expected || !moqc_timer_armed(&t->fin_timer))
    it_destroy(t, 0, true);
}

static void it_fin_arm(itrack *t) {
  moqc_session *s = t->s;
  uint64_t rtt_ns = 0, rate = 0;
  if (s->t->ops->stats) s->t->ops->stats(s->t, &rtt_ns, &rate);
  uint64_t at = moqc__sess_now(s) + SESS_SUB_FIN_GRACE_NS + 2 * rtt_ns;
  if (at > t->fin_deadline) at = t->fin_deadline;
  moqc_timer_stop(s->clock, &t->fin_timer);
  if (moqc_timer_start(s->clock, &t->fin_timer, at) < 0) t->streams_expected = 0;
}

static void it_fin_timeout(moqc_timer *tm, void *arg) {
  (void)tm;
  itrack *t = arg;
  moqc_session *s = t->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !t->obj.dead) {
    t->streams_expected = 0;
    it_maybe_finish(t);
  }
  moqc__sess_exit(s);
}

static void push_free(ipush *p) {
  if (p->ss) {
    /* 17+: nobody took the pushed track (or the session ends): stop it. */
    assert(p->ss->owner == p);
    moqc__ss_stop(p->ss, MOQC_CODE_CANCEL);
    moqc__ietf_req_close(p->ss, false);
    p->ss = NULL;
  }
  if (p->hold_tc) moqc_track_consumer_del(p->hold_tc);
  if (p->hold_bc) moqc_broadcast_consumer_del(p->hold_bc);
  moqc_free(p->path);
  moqc_free(p->name);
  moqc_free(p);
}

/* The peer PUBLISHed this track: it is already subscribed (no SUBSCRIBE),
 * its streams carry the PUBLISH's alias. */
static void push_bind(itrack *t) {
  moqc_session *s = t->s;
  ietf_state *st = IS(s);
  moqc_imap_it it;
  void *v;
  uint64_t key;
  moqc__imap_it_init(&st->pushed, &it);
  while (moqc__imap_next(&st->pushed, &it, &key, &v)) {
    ipush *p = v;
    if (strcmp(p->path, t->path) != 0 || strcmp(p->name, t->name) != 0) continue;
    (void)moqc__imap_remove(&st->pushed, key);
    t->req = p->req;
    t->alias = p->alias;
    t->hold_bc = p->hold_bc;
    t->hold_tc = p->hold_tc;
    p->hold_bc = NULL;
    p->hold_tc = NULL;
    if (p->ss) {
      /* 17+: the request stream goes on as a subscription's (PUBLISH_DONE,
       * FIN / RESET end the track; it_destroy stops it). */
      t->rq.ss = p->ss;
      t->rq.ss->owner = t;
      t->rq.ss->kind = &sk_ietf_sub_out;
      p->ss = NULL;
    }
    push_free(p);
    if (moqc__imap_insert(&st->by_req, t->req, t) < 0 ||
        moqc__imap_insert(&st->by_alias, t->alias, t) < 0) {
      moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
      return;
    }
    t->subscribed = t->ok_seen = true;
    s->sub.n_rtracks++;
    return;
  }
}

/* PUBLISH: the peer pushes a track without a SUBSCRIBE (imquic-moq-pub -X,
 * libquicr). Its broadcast is announced (as if by PUBLISH_NAMESPACE) and the
 * session itself consumes the track (push_bind binds it to the PUBLISH's
 * alias instead of sending SUBSCRIBE), so its groups reach the cache whether
 * a consumer asked yet or not; the track ends with PUBLISH_DONE (17+: or the
 * request stream's end, ss). Answered with PUBLISH_OK (18+: REQUEST_OK, as
 * the draft and imquic). */
static void on_publish(moqc_session *s, const moqc__ietf_msg *m, sstream *ss) {
  ietf_state *st = IS(s);
  char path[MOQC_PATH_MAX_LEN + 1];
  if (moqc__imap_find(&st->by_alias, m->track_alias)) {
    /* The drafts: the same alias for two tracks closes the session. */
    moqc__sess_fail(s, IETF_DUPLICATE_TRACK_ALIAS, "PUBLISH with a track alias in use", false);
    return;
  }
  char *name = moqc__sess_strdup_bytes(m->name);
  bool ok =
      s->sub.origin && tuple_path(&m->ns, path, sizeof path) && name && strlen(name) == m->name.len;
  if (!ok) {
    moqc_free(name);
    moqc__ietf_request_refuse(s, ss, MOQC_IETF_PUBLISH_ERROR, m->request_id,
                              MOQC_IETF_REQERR_NOT_SUPPORTED, "publish refused");
    return;
  }
  if (moqc__rb_announce_pushed(s, path) == MOQC_ERR_NOMEM) {
    moqc_free(name);
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  ipush *p = moqc_calloc(1, sizeof *p);
  if (p) p->path = moqc_strdup(path);
  if (!p || !p->path || moqc__imap_insert(&st->pushed, m->request_id, p) < 0) {
    if (p) moqc_free(p->path);
    moqc_free(p);
    moqc_free(name);
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  p->name = name;
  p->req = m->request_id;
  p->alias = m->track_alias;
  if (ss) {
    p->ss = ss;
    ss->owner = p;
  }
  int err = 0;
  p->hold_bc = moqc_origin_request(s->sub.origin, path, &err);
  if (p->hold_bc) {
    moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
    p->hold_tc = moqc_broadcast_consumer_subscribe(p->hold_bc, name, &sub, &err);
  }
  /* Bind the push (push_bind) before PUBLISH_OK goes: the peer's group
   * streams may follow the OK at once, and a stream whose alias is not bound
   * yet is stopped. p is freed once bound. */
  if (!sess_closing(s)) moqc__rb_pump(s, path);
  p = NULL;
  if (sess_closing(s)) return;
  moqc__ietf_msg *r = msg_new(V(s) >= MOQC_IETF_18 ? MOQC_IETF_REQUEST_OK : MOQC_IETF_PUBLISH_OK);
  if (r) {
    r->request_id = m->request_id;
    r->forward = 1;
    r->has = MOQC_IETF_HAS_FORWARD;
    if (V(s) == MOQC_IETF_14) {
      r->priority = 128;
      r->group_order = 1;
      r->filter.type = MOQC_IETF_FILTER_LARGEST_OBJECT;
      r->has |= MOQC_IETF_HAS_PRIORITY | MOQC_IETF_HAS_GROUP_ORDER | MOQC_IETF_HAS_FILTER;
    }
  }
  req_send(s, ss, r);
}

/* remote.c: a local consumer asked for a track of a broadcast the peer announced. */
static void ietf_track_request(rbcast *rb, moqc_track_request *req) {
  moqc_session *s = rb->s;
  ietf_state *st = IS(s);
  if (s->sub.n_rtracks >= s->lim.max_tracks) {
    moqc_track_request_reject(req, MOQC_CODE_BOUNDS_EXCEEDED);
    return;
  }
  itrack *t = moqc_calloc(1, sizeof *t);
  if (t) {
    t->path = moqc_strdup(rb->path);
    t->name = moqc_strdup(moqc_track_request_name(req));
  }
  moqc_track_info info =
      MOQC_TRACK_INFO_DEFAULT; /* IETF carries no track info (draft 16 properties: not read yet) */
  if (t && t->path && t->name) t->tp = moqc_track_request_accept(req, &info);
  else moqc_track_request_reject(req, MOQC_CODE_TRANSPORT);
  if (!t || !t->tp) {
    if (t) {
      moqc_free(t->path);
      moqc_free(t->name);
      moqc_free(t);
    }
    return;
  }
  t->obj.destroy = it_free;
  t->s = s;
  t->largest_group = t->fetch_low = t->join_from = MOQC_GROUP_NONE;
  moqc_link_init(&t->rq.op.link);
  moqc_link_init(&t->groups);
  moqc_timer_init(&t->fin_timer, it_fin_timeout, t);
  moqc_list_push_back(&st->tracks, &t->link);
  moqc_track_producer_set_waker(t->tp, it_wake, t);
  push_bind(t);
  if (sess_closing(s) || t->obj.dead) return;
  it_demand(t);
}

static void it_ok(itrack *t, const moqc__ietf_msg *m) {
  moqc_session *s = t->s;
  ietf_state *st = IS(s);
  if (t->ok_seen) return;
  if (moqc__imap_find(&st->by_alias, m->track_alias)) {
    moqc__sess_fail(s, IETF_DUPLICATE_TRACK_ALIAS, "duplicate track alias", false);
    return;
  }
  t->alias = m->track_alias;
  if (m->has & MOQC_IETF_HAS_LARGEST) t->largest_group = m->largest.group;
  if ((m->has & MOQC_IETF_HAS_LARGEST) && t->start.group == 0 && t->start.object == 0)
    t->start = (moqc__ietf_loc){m->largest.group, m->largest.object + 1}; /* 14: where it began */
  if (moqc__imap_insert(&st->by_alias, t->alias, t) < 0) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  t->ok_seen = true;
  if (t->join_from != MOQC_GROUP_NONE) { /* 17+: held for the SUBSCRIBE to go first */
    uint64_t from = t->join_from;
    t->join_from = t->fetch_low = MOQC_GROUP_NONE;
    /* Nothing from `from` up to the largest location: the subscription
     * carries it all (the peer would refuse the FETCH, INVALID_RANGE). */
    if ((m->has & MOQC_IETF_HAS_LARGEST) && m->largest.group < from) t->fetch_low = from;
    else it_join(t, from);
    if (sess_closing(s) || t->obj.dead) return;
  }
  moqc_track_demand d = moqc_track_producer_demand(t->tp);
  if (d.consumers > 0) it_fetch_check(t, &d); /* the largest location bounds the gap */
}

static void on_subscribe_ok(moqc_session *s, const moqc__ietf_msg *m) {
  itrack *t = moqc__imap_find(&IS(s)->by_req, m->request_id);
  if (t && !t->rq.ss) it_ok(t, m);
}

/* Our PUBLISH_NAMESPACE was refused (a relay: outside the token's put, or
 * over a cap): the namespace is not served there; the session goes on. */
static void on_publish_namespace_error(moqc_session *s, const moqc__ietf_msg *m) {
  moqc__sess_debug(s, "PUBLISH_NAMESPACE %llu refused: code %llu, '%.*s'",
                   (unsigned long long)m->request_id, (unsigned long long)m->code,
                   (int)(m->reason.len < 100 ? m->reason.len : 100), (const char *)m->reason.ptr);
}

static void on_subscribe_error(moqc_session *s, const moqc__ietf_msg *m) {
  ietf_state *st = IS(s);
  itrack *t = moqc__imap_find(&st->by_req, m->request_id);
  if (t) it_destroy(t, MOQC_CODE_NOT_FOUND, false);
  else if (moqc__imap_find(&st->pubns, m->request_id)) on_publish_namespace_error(s, m);
  else if (moqc__ietf_fetch_in_error(s, m)) return;
  else if (!publish_refused(s, m)) (void)moqc__ietf_status_out_answer(s, m, false);
}

/* PUBLISH_DONE (or, 17+, the request stream's FIN: stream_count 0,
 * MOQC_IETF_DONE_CLEAN); abort: what moqc__ietf_done_code made of its status. */
static void it_done(itrack *t, uint64_t stream_count, uint64_t abort) {
  moqc_session *s = t->s;
  if (t->finished) return;
  if (abort != MOQC_IETF_DONE_CLEAN) {
    /* The publisher's track ended without finishing (aborted, or replaced by
     * a new publisher: moqc-relay and @moq/net send INTERNAL_ERROR, moq-relay
     * 500): not a clean end. Dropped, like the lite subscription reset, or
     * the status's own meaning (UNAUTHORIZED, TOO_FAR_BEHIND ...). */
    it_destroy(t, abort, false);
    return;
  }
  t->finished = true;
  /* The data streams travel apart from the control stream: PUBLISH_DONE
   * may overtake them. Its stream count says how many to wait for (at most
   * SESS_SUB_FIN_MAX_NS). */
  /* moq-dev sends a stream count of 0 whatever it sent, so a count we have
   * not reached, or none, means: wait until no new stream came for
   * SESS_SUB_FIN_GRACE_NS (+ 2 RTT), at most SESS_SUB_FIN_MAX_NS (like a
   * lite-03/04 subscribe FIN). */
  t->streams_expected = stream_count;
  if (t->streams_expected == 0 || t->streams_seen < t->streams_expected) {
    t->streams_expected = UINT64_MAX;
    t->fin_deadline = moqc__sess_now(s) + SESS_SUB_FIN_MAX_NS;
    it_fin_arm(t);
  }
  it_maybe_finish(t);
}

static void on_publish_done(moqc_session *s, const moqc__ietf_msg *m) {
  ietf_state *st = IS(s);
  ipush *p = moqc__imap_remove(&st->pushed, m->request_id);
  if (p) push_free(p); /* a PUBLISH nobody consumed */
  itrack *t = moqc__imap_find(&st->by_req, m->request_id);
  if (t) it_done(t, m->stream_count, moqc__ietf_done_code(s, m->code));
}

/* ---- subscriber side: received subgroup streams ---------------------------------- */

static void gin_free(sobj *o) { moqc_free(o); }

static void gin_close(igin *gi, bool ok, uint64_t code) {
  itrack *t = gi->it;
  moqc_session *s = t->s;
  /* The group aborts with code before a frame cut short is dropped (that
   * alone would abort it with WRONG_SIZE), as moq-lite's frx_abort. */
  if (gi->g && !ok) moqc_group_producer_abort(gi->g, code);
  if (gi->f) moqc_frame_producer_del(gi->f);
  gi->f = NULL;
  if (gi->g) {
    if (ok) (void)moqc_group_producer_finish(gi->g);
    moqc_group_producer_del(gi->g);
  }
  gi->g = NULL;
  if (moqc_link_linked(&gi->link)) moqc_list_remove(&gi->link);
  if (gi->ss) {
    sstream *ss = gi->ss;
    gi->ss = NULL;
    ss->owner = NULL;
    moqc__ss_release(ss);
  }
  moqc__sess_bury(s, &gi->obj);
  if (ok) s->stats.groups_received++;
  it_maybe_finish(t);
}

typedef struct sg_ctx {
  int version;
  moqc__ietf_subgroup h;
} sg_ctx;

static ssize_t sg_dec(void *ctx, const uint8_t *p, size_t len) {
  sg_ctx *c = ctx;
  return moqc__ietf_subgroup_decode(&c->h, c->version, p, len);
}

typedef struct ob_ctx {
  int version;
  bool ext;
  moqc__ietf_object o;
} ob_ctx;

static ssize_t ob_dec(void *ctx, const uint8_t *p, size_t len) {
  ob_ctx *c = ctx;
  return moqc__ietf_object_decode(&c->o, c->version, c->ext, p, len);
}

static void gin_stream_stop(sstream *ss, uint64_t code, const char *why) {
  if (sess_debug_on(ss->s))
    moqc__sess_debug(ss->s, "subgroup stream %lld stopped (code %llu): %s", (long long)ss->id,
                     (unsigned long long)code, why);
  moqc__ss_stop(ss, code);
  moqc__ss_release(ss);
}

static uint64_t now_ms(moqc_session *s) { return moqc__sess_now(s) / 1000000u; }

static void gin_data(sstream *ss, const uint8_t *p, size_t len, bool fin) {
  moqc_session *s = ss->s;
  ietf_state *st = IS(s);
  igin *gi = ss->owner;
  if (!gi) {
    sg_ctx c = {.version = V(s)};
    size_t used = 0;
    int r = moqc__ss_hdr_parse(ss, p, len, IETF_HDR_MAX, sg_dec, &c, &used);
    if (r < 0) {
      gin_stream_stop(ss, MOQC_CODE_DECODE, "malformed SUBGROUP_HEADER");
      return;
    }
    if (r == 0) {
      if (fin) gin_stream_stop(ss, MOQC_CODE_DECODE, "FIN inside the SUBGROUP_HEADER");
      return;
    }
    itrack *t = moqc__imap_find(&st->by_alias, c.h.track_alias);
    if (!t) {
      /* The stream raced ahead of the SUBSCRIBE_OK that binds the alias (it
       * travels on another stream). moq-dev uses alias = request id, and so
       * do we: take the pending subscription with that request id. */
      t = moqc__imap_find(&st->by_req, c.h.track_alias);
      if (t && t->ok_seen) t = NULL;
    }
    if (!t || !t->tp) {
      if (sess_debug_on(s))
        moqc__sess_debug(s, "alias %llu type 0x%llx group %llu: %s",
                         (unsigned long long)c.h.track_alias, (unsigned long long)c.h.type,
                         (unsigned long long)c.h.group, t ? "track gone" : "no subscription");
      gin_stream_stop(ss, MOQC_CODE_CANCEL, "unknown track alias");
      return;
    }
    if (c.h.sgid_mode == MOQC_IETF_SGID_FIELD && c.h.subgroup != 0) {
      gin_stream_stop(ss, MOQC_CODE_UNSUPPORTED,
                      "subgroup other than 0"); /* only subgroup 0 maps onto a group */
      return;
    }
    if (!moqc__sess_group_rate(s)) return; /* closing (docs/relay.md Limits) */
    moqc_group_producer *g = NULL;
    int rc = moqc_track_producer_create_group(t->tp, c.h.group, &g);
    if (rc < 0) {
      gin_stream_stop(ss, moqc_code_from_err(rc), "group refused by the track");
      return;
    }
    gi = moqc_calloc(1, sizeof *gi);
    if (!gi) {
      moqc_group_producer_abort(g, MOQC_CODE_TRANSPORT);
      moqc_group_producer_del(g);
      moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
      return;
    }
    gi->obj.destroy = gin_free;
    gi->ss = ss;
    gi->it = t;
    gi->g = g;
    gi->extensions = c.h.extensions;
    ss->owner = gi;
    t->streams_seen++;
    if (t->finished && t->streams_expected == UINT64_MAX) it_fin_arm(t); /* still coming */
    moqc_list_push_back(&t->groups, &gi->link);
    if (t->streams_seen == 1 && t->largest_group == MOQC_GROUP_NONE) {
      /* SUBSCRIBE_OK gave no largest location (the publisher had none, or a
       * relay answered before its upstream did): the first group bounds a
       * gap below it that a consumer waits for (it_fetch_check). */
      moqc_track_demand d = moqc_track_producer_demand(t->tp);
      if (d.consumers > 0) it_fetch_check(t, &d);
      if (sess_closing(s) || gi->obj.dead) return;
    }
    p += used;
    len -= used;
  }
  while (gi->ss && !gi->obj.dead) {
    if (gi->in_payload) {
      size_t take = len < gi->remaining ? len : (size_t)gi->remaining;
      if (take) {
        if (moqc_frame_producer_write_copy(gi->f, p, take) < 0) {
          moqc__ss_stop(ss, MOQC_CODE_CANCEL);
          gin_close(gi, false, MOQC_CODE_CANCEL);
          return;
        }
        p += take;
        len -= take;
        gi->remaining -= take;
        s->stats.bytes_received += take;
      }
      if (gi->remaining == 0) {
        (void)moqc_frame_producer_finish(gi->f);
        s->stats.frames_received++;
        moqc_frame_producer_del(gi->f);
        gi->f = NULL;
        gi->in_payload = false;
        continue;
      }
      break; /* need more payload */
    }
    if (len == 0 && ss_len(ss) == 0) break;
    ob_ctx c = {.version = V(s), .ext = gi->extensions};
    size_t used = 0;
    int r = moqc__ss_hdr_parse(ss, p, len, IETF_HDR_MAX, ob_dec, &c, &used);
    if (r < 0) {
      if (sess_debug_on(s))
        moqc__sess_debug(s, "subgroup stream %lld: malformed object (%d)", (long long)ss->id, r);
      moqc__ss_stop(ss, MOQC_CODE_DECODE);
      gin_close(gi, false, r == MOQC_ERR_TOO_LARGE ? MOQC_CODE_FRAME_TOO_LARGE : MOQC_CODE_DECODE);
      return;
    }
    if (r == 0) {
      len = 0;
      break;
    }
    p += used;
    len -= used;
    if (c.o.size == 0 && c.o.status != MOQC_IETF_STATUS_NORMAL)
      continue; /* end of group / track, absent */
    moqc_frame_info fi = {.size = c.o.size, .timestamp = now_ms(s)};
    if (len >= c.o.size) {
      /* The whole object is here (the usual case): one buf, read back with
       * zero copies, and no frame producer. */
      size_t n = (size_t)c.o.size;
      int rc = moqc_group_producer_write_frame_copy(gi->g, n ? p : NULL, n, fi.timestamp);
      if (rc < 0) {
        moqc__ss_stop(ss, MOQC_CODE_CANCEL);
        gin_close(gi, false, moqc_code_from_err(rc));
        return;
      }
      p += n;
      len -= n;
      s->stats.bytes_received += n;
      s->stats.frames_received++;
      continue;
    }
    int err = 0;
    gi->f = moqc_group_producer_create_frame(gi->g, &fi, &err);
    if (!gi->f) {
      moqc__ss_stop(ss, MOQC_CODE_CANCEL);
      gin_close(gi, false, err ? moqc_code_from_err(err) : MOQC_CODE_TRANSPORT);
      return;
    }
    gi->in_payload = true;
    gi->remaining = c.o.size;
  }
  if (fin && gi->ss && !gi->obj.dead) {
    ss_set_rx(ss, SS_RX_DONE);
    if (gi->in_payload) gin_close(gi, false, MOQC_CODE_WRONG_SIZE);
    else gin_close(gi, true, 0);
  }
}

static void gin_end(sstream *ss, bool reset, uint64_t code) {
  igin *gi = ss->owner;
  moqc_session *s = ss->s;
  if (gi) gin_close(gi, !reset, reset ? moqc__ietf_reset_code(s, IS(s)->peer_solicit, code) : 0);
  else moqc__ss_maybe_forget(ss);
}

static const moqc__stream_kind sk_ietf_group_in = {
    .name = "ietf-group-in", .data = gin_data, .end = gin_end};

/* ---- subscriber side: OBJECT_DATAGRAMs ------------------------------------------ */

/* What the model sees (docs/wire.md): the objects of one group that arrive
 * as datagrams become one group (flagged a datagram, so a relay forwards it
 * as datagrams again), their frames appended in arrival order. An object
 * whose id is below one already appended, or of a group older than the
 * newest datagram group, arrived too late for the in-order rule and is
 * dropped (counted); lost objects are simply missing. The group finishes
 * with the end-of-group bit or status, END_OF_TRACK, the first datagram of
 * a newer group, or the track's end. */
static void it_dg_close(itrack *t, bool ok) {
  if (!t->dg) return;
  if (ok) {
    (void)moqc_group_producer_finish(t->dg);
    t->s->stats.groups_received++;
  } else {
    moqc_group_producer_abort(t->dg, MOQC_CODE_CANCEL);
  }
  moqc_group_producer_del(t->dg);
  t->dg = NULL;
}

static void dg_drop(moqc_session *s, const moqc__ietf_datagram *d, const char *why) {
  s->stats.datagrams_dropped++;
  if (sess_debug_on(s))
    moqc__sess_debug(s, "OBJECT_DATAGRAM alias %llu group %llu object %llu dropped: %s",
                     (unsigned long long)d->track_alias, (unsigned long long)d->group,
                     (unsigned long long)d->object, why);
}

/* Apply one datagram to its track. May end the track (END_OF_TRACK). */
static void it_dg(itrack *t, const moqc__ietf_datagram *d) {
  moqc_session *s = t->s;
  if (t->dg_seen && d->group < t->dg_group) {
    dg_drop(s, d, "older group");
    return;
  }
  if (!t->dg_seen || d->group > t->dg_group) {
    it_dg_close(t, true); /* a newer group arrived: the previous one is finished */
    t->dg_seen = true;
    t->dg_group = d->group;
    t->dg_next = 0;
    t->dg_ended = false;
  }
  if (t->dg_ended || d->object < t->dg_next) {
    dg_drop(s, d, t->dg_ended ? "group ended" : "older than the last object appended");
    return;
  }
  s->stats.datagrams_received++;
  if (d->is_status && d->status != MOQC_IETF_STATUS_NORMAL) {
    if (d->status == MOQC_IETF_STATUS_DOES_NOT_EXIST) {
      t->dg_next = d->object + 1;
      return;
    }
    assert(d->status == MOQC_IETF_STATUS_END_OF_GROUP ||
           d->status == MOQC_IETF_STATUS_END_OF_TRACK);
    it_dg_close(t, true);
    t->dg_ended = true;
    if (d->status == MOQC_IETF_STATUS_END_OF_TRACK) it_done(t, 0, MOQC_IETF_DONE_CLEAN);
    return;
  }
  if (!t->dg) {
    if (!moqc__sess_group_rate(s)) return; /* closing: a datagram group counts as a group */
    int rc = moqc_track_producer_create_group(t->tp, d->group, &t->dg);
    if (rc < 0) { /* already there (sent on a stream too) or refused */
      t->dg = NULL;
      t->dg_ended = true;
      return;
    }
    moqc_group_producer_set_datagram(t->dg);
  }
  size_t n = d->is_status ? 0 : d->payload.len;
  if (moqc_group_producer_write_frame_copy(t->dg, n ? d->payload.ptr : NULL, n, now_ms(s)) < 0) {
    it_dg_close(t, false);
    t->dg_ended = true;
    return;
  }
  s->stats.frames_received++;
  s->stats.bytes_received += n;
  t->dg_next = d->object + 1;
  if (d->end_of_group) {
    it_dg_close(t, true);
    t->dg_ended = true;
  }
}

/* A QUIC / WebTransport datagram while running. Malformed: the session
 * closes with PROTOCOL_VIOLATION. Unknown alias (also one the SUBSCRIBE_OK
 * has not bound yet and that is no request id of ours): dropped, counted. */
static void ietf_datagram(moqc_session *s, const uint8_t *p, size_t len) {
  ietf_state *st = IS(s);
  if (!moqc__sess_ingress(s, len)) return;
  moqc__ietf_datagram d;
  if (moqc__ietf_datagram_decode(&d, V(s), p, len) < 0) {
    moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "malformed OBJECT_DATAGRAM", false);
    return;
  }
  itrack *t = moqc__imap_find(&st->by_alias, d.track_alias);
  if (!t) { /* raced ahead of the SUBSCRIBE_OK, as a subgroup stream may */
    t = moqc__imap_find(&st->by_req, d.track_alias);
    if (t && t->ok_seen) t = NULL;
  }
  if (!t || !t->tp || t->obj.dead) {
    dg_drop(s, &d, "unknown track alias");
    return;
  }
  it_dg(t, &d);
}

/* ---- namespaces from the peer (subscriber side) --------------------------------- */

/* An accepted PUBLISH_NAMESPACE of the peer, watched: a front of its path
 * on our subscribe origin, which ends REPLACED when another publisher takes
 * the path over (on a relay: the namespace is no longer served from this
 * peer), and then we withdraw our acceptance (ns_withdraw). */
typedef struct nswatch {
  moqc_session *s;
  uint64_t req;
  sstream *ss; /* 17+: the PUBLISH_NAMESPACE's request stream (borrowed) */
  moqc_broadcast_consumer *front;
} nswatch;

static void nsw_free(nswatch *w) {
  if (w->front) moqc_broadcast_consumer_del(w->front);
  moqc_free(w);
}

/* The peer's namespace request req is over: forget its watch; returns its
 * path (the caller frees it) or NULL. */
static char *peer_ns_take(moqc_session *s, uint64_t req) {
  ietf_state *st = IS(s);
  nswatch *w = moqc__imap_remove(&st->ns_watch, req);
  if (w) nsw_free(w);
  return moqc__imap_remove(&st->peer_ns, req);
}

/* Withdraw our acceptance of the peer's namespace req: 14/15
 * PUBLISH_NAMESPACE_CANCEL {tuple}, 16 {request id}, 17+ its request stream
 * cancelled (RESET + STOP_SENDING); its remote broadcast ends here. */
static void ns_withdraw(moqc_session *s, uint64_t req, uint64_t code, const char *why) {
  ietf_state *st = IS(s);
  nswatch *w = moqc__imap_find(&st->ns_watch, req);
  char *path = moqc__imap_find(&st->peer_ns, req);
  if (!w || !path) return;
  moqc__sess_debug(s, "withdrawing namespace '%s' (request %llu): %s", path,
                   (unsigned long long)req, why);
  if (w->ss) {
    assert(req_streams(s) && w->ss->owner == path);
    moqc__ietf_req_close(w->ss, true);
  } else {
    moqc__ietf_msg *m = msg_new(MOQC_IETF_PUBLISH_NAMESPACE_CANCEL);
    if (m) {
      m->request_id = req;
      m->code = moqc__ietf_reqerr_wire(s, MOQC_IETF_PUBLISH_NAMESPACE_CANCEL, code);
      m->reason = (moqc_bytes){(const uint8_t *)why, strlen(why)};
      if (V(s) < MOQC_IETF_16 && !path_tuple(&m->ns, path)) m->ns.n = 0; /* it mapped once */
    }
    ctrl_send(s, m);
  }
  moqc__rb_ended(s, path);
  moqc_free(peer_ns_take(s, req));
}

static void nsw_wake(void *arg) {
  nswatch *w = arg;
  moqc_session *s = w->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && moqc_broadcast_consumer_status(w->front) != MOQC_OK &&
      moqc_broadcast_consumer_end_reason(w->front) == MOQC_END_REPLACED)
    ns_withdraw(s, w->req, 0x4 /* UNINTERESTED */, "replaced by another publisher");
  moqc__sess_exit(s);
}

/* Watch the peer's accepted namespace req at path (ss: 17+ its stream). */
static void nsw_start(moqc_session *s, uint64_t req, const char *path, sstream *ss) {
  ietf_state *st = IS(s);
  int err = 0;
  moqc_broadcast_consumer *front = moqc_origin_request(s->sub.origin, path, &err);
  if (!front) return; /* not visible here (a scoped origin): nothing to watch */
  nswatch *w = moqc_calloc(1, sizeof *w);
  if (!w || moqc__imap_insert(&st->ns_watch, req, w) < 0) {
    moqc_free(w);
    moqc_broadcast_consumer_del(front);
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  w->s = s;
  w->req = req;
  w->ss = ss;
  w->front = front;
  moqc_broadcast_consumer_set_waker(front, nsw_wake, w);
}

/* PUBLISH_NAMESPACE: on the control stream (ss NULL; 14-16), or on its own
 * request stream (17+), whose end withdraws it (ss->owner: the path). */
static void on_publish_namespace(moqc_session *s, const moqc__ietf_msg *m, sstream *ss) {
  char path[MOQC_PATH_MAX_LEN + 1];
  moqc__ietf_msg *r;
  if (!s->sub.origin || !tuple_path(&m->ns, path, sizeof path)) {
    moqc__ietf_request_refuse(s, ss, MOQC_IETF_PUBLISH_NAMESPACE_ERROR, m->request_id,
                              0x4 /* UNINTERESTED */, "");
    return;
  }
  if (ss && moqc__imap_find(&IS(s)->peer_ns, m->request_id)) {
    moqc__sess_fail(s, IETF_INVALID_REQUEST_ID, "duplicate request id", false);
    return;
  }
  moqc_route route = {0};
  int rc = moqc__rb_announce(s, path, &route, 0);
  if (rc == MOQC_ERR_UNAUTHORIZED || rc == MOQC_ERR_BOUNDS) {
    /* Outside the token's put, or over a cap: this namespace is refused, the
     * session and the others carry on. */
    r = msg_new(V(s) == MOQC_IETF_14 ? MOQC_IETF_PUBLISH_NAMESPACE_ERROR : MOQC_IETF_REQUEST_ERROR);
    if (r) {
      r->request_id = m->request_id;
      r->code = rc == MOQC_ERR_UNAUTHORIZED ? 0x1 /* UNAUTHORIZED */ : 0x0 /* INTERNAL_ERROR */;
      const char *why = rc == MOQC_ERR_UNAUTHORIZED ? "unauthorized" : s->sub.refusal;
      r->reason = (moqc_bytes){(const uint8_t *)why, strlen(why)};
    }
    ctrl_send(s, r);
    return;
  }
  char *copy = rc == MOQC_OK ? moqc_strdup(path) : NULL;
  if (rc == MOQC_ERR_NOMEM || (rc == MOQC_OK && !copy)) {
    moqc_free(copy);
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  if (rc == MOQC_ERR_DUPLICATE) {
    moqc_free(copy);
    moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "duplicate PUBLISH_NAMESPACE", false);
    return;
  }
  ietf_state *st = IS(s);
  moqc_free(peer_ns_take(s, m->request_id));
  if (copy && moqc__imap_insert(&st->peer_ns, m->request_id, copy) < 0) {
    moqc_free(copy);
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  if (ss) ss->owner = copy; /* 17+: the stream's end withdraws it */
  r = msg_new(MOQC_IETF_PUBLISH_NAMESPACE_OK);
  if (r) r->request_id = m->request_id;
  req_send(s, ss, r);
  if (copy && !sess_closing(s)) nsw_start(s, m->request_id, copy, ss);
}

static void on_publish_namespace_done(moqc_session *s, const moqc__ietf_msg *m) {
  ietf_state *st = IS(s);
  char path[MOQC_PATH_MAX_LEN + 1];
  if (V(s) >= MOQC_IETF_16) {
    char *p = peer_ns_take(s, m->request_id);
    if (p) moqc__rb_ended(s, p);
    moqc_free(p);
    return;
  }
  if (!tuple_path(&m->ns, path, sizeof path)) return;
  moqc__rb_ended(s, path);
  /* Forget the request that announced it. */
  moqc_imap_it it;
  void *v;
  uint64_t key;
  moqc__imap_it_init(&st->peer_ns, &it);
  while (moqc__imap_next(&st->peer_ns, &it, &key, &v)) {
    if (strcmp(v, path) == 0) {
      moqc_free(peer_ns_take(s, key));
      break;
    }
  }
}

/* ---- draft-16 SUBSCRIBE_NAMESPACE streams ------------------------------------------ */

/* Decode the next whole message buffered on ss into *m: its size, 0 when
 * more bytes are needed, or <0 after failing the session. */
static ssize_t msg_next(sstream *ss, moqc__ietf_msg *m) {
  moqc_session *s = ss->s;
  uint64_t type;
  size_t off, blen;
  ssize_t n = moqc__ietf_ctrl_peek(V(s), ss_data(ss), ss_len(ss), &type, &off, &blen);
  if (n == MOQC_ERR_NEED_MORE) return 0;
  if (n >= 0) n = moqc__ietf_ctrl_decode(m, V(s), ss_data(ss), ss_len(ss));
  if (n <= 0) {
    moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "malformed control message", false);
    return MOQC_ERR_DECODE;
  }
  return n;
}

/* 17+: a REQUEST_UPDATE of the peer's SUBSCRIBE_NAMESPACE. Without a new
 * prefix nothing changes: REQUEST_OK. A new prefix (draft-18
 * TRACK_NAMESPACE_PREFIX) is not supported: REQUEST_ERROR NOT_SUPPORTED, and
 * the subscription ends with our FIN, as 18 asks of a failed update (false:
 * ns is gone, its stream let go). */
static bool ns_update(ins_sub *ns, const moqc__ietf_msg *m) {
  moqc_session *s = ns->s;
  sstream *ss = ns->ss;
  assert(ss && ss->owner == ns);
  if (moqc__ietf_params_find(&m->params, IETF_PARAM_NAMESPACE_PREFIX)) {
    ns->ss = NULL;
    ss->owner = NULL;
    ns_destroy(ns); /* ss is not its any more: refused below */
    moqc__ietf_request_refuse(s, ss, MOQC_IETF_REQUEST_ERROR, m->request_id,
                              MOQC_IETF_REQERR_NOT_SUPPORTED, "namespace prefix update");
    return false;
  }
  req_ok(s, ss, m->request_id);
  return true;
}

/* Peer-opened (publisher side): SUBSCRIBE_NAMESPACE, then its REQUEST_UPDATEs
 * (17+, ns_update); nothing else we act on. */
static int nsin_process(sstream *ss) {
  moqc_session *s = ss->s;
  moqc__ietf_msg *m = moqc_malloc(sizeof *m);
  if (!m) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return MOQC_ERR_NOMEM;
  }
  while (ss_len(ss) > 0 && !sess_closing(s) && !ss->obj.dead) {
    ssize_t n = msg_next(ss, m);
    if (n <= 0) break;
    bool first = !ss->owner;
    if (first && m->type != MOQC_IETF_SUBSCRIBE_NAMESPACE &&
        m->type != MOQC_IETF_SUBSCRIBE_NAMESPACE_18) {
      moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "unexpected message on a namespace stream",
                      false);
      break;
    }
    if (first && !peer_req_ok(s, m->request_id, false)) break;
    if (first) on_subscribe_namespace(s, m, ss);
    else if (m->type == MOQC_IETF_REQUEST_UPDATE && req_streams(s)) {
      if (!peer_req_ok(s, m->request_id, false)) break;
      if (!ns_update(ss->owner, m)) break; /* refused: the stream is let go */
    }
    if (sess_closing(s) || ss->obj.dead) break;
    moqc__ss_consume(ss, (size_t)n);
    if (!ss->owner) break; /* rejected: released */
  }
  moqc_free(m);
  return MOQC_OK;
}

static void nsin_end(sstream *ss, bool reset, uint64_t code) {
  (void)code;
  ins_sub *ns = ss->owner;
  if (reset) moqc__ss_abort(ss, MOQC_CODE_CANCEL);
  else moqc__ss_fin(ss);
  if (ns) ns_destroy(ns); /* releases ss */
  else moqc__ss_release(ss);
}

static const moqc__stream_kind sk_ietf_ns_in = {
    .name = "ietf-subscribe-namespace-in", .process = nsin_process, .end = nsin_end};

/* Ours (subscriber side): REQUEST_OK / REQUEST_ERROR, then NAMESPACE and
 * NAMESPACE_DONE entries (suffixes of the empty prefix: full paths). */
static int nsout_process(sstream *ss) {
  moqc_session *s = ss->s;
  moqc__ietf_msg *m = moqc_malloc(sizeof *m);
  if (!m) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return MOQC_ERR_NOMEM;
  }
  while (ss_len(ss) > 0 && !sess_closing(s) && !ss->obj.dead) {
    ssize_t n = msg_next(ss, m);
    if (n <= 0) break;
    char path[MOQC_PATH_MAX_LEN + 1];
    if ((m->type == MOQC_IETF_NAMESPACE || m->type == MOQC_IETF_NAMESPACE_DONE) &&
        tuple_path(&m->ns, path, sizeof path)) {
      if (m->type == MOQC_IETF_NAMESPACE_DONE) {
        moqc__rb_ended(s, path);
      } else {
        moqc_route route = {0};
        int rc = moqc__rb_announce(s, path, &route, 0);
        if (rc == MOQC_ERR_NOMEM) moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
        else if (rc == MOQC_ERR_DUPLICATE)
          moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "duplicate NAMESPACE", false);
        else if (rc == MOQC_ERR_BOUNDS) /* over a cap: no per-entry refusal here */
          moqc__sess_fail(s, MOQC_CODE_BOUNDS_EXCEEDED, s->sub.refusal, false);
      }
    }
    /* REQUEST_OK / REQUEST_ERROR: nothing to do (an error leaves us without
     * the peer's namespaces, as a refused lite ANNOUNCE_PLEASE would). */
    if (sess_closing(s) || ss->obj.dead) break;
    moqc__ss_consume(ss, (size_t)n);
  }
  moqc_free(m);
  return MOQC_OK;
}

static void nsout_end(sstream *ss, bool reset, uint64_t code) {
  (void)code;
  ietf_state *st = IS(ss->s);
  if (reset) moqc__ss_abort(ss, MOQC_CODE_CANCEL);
  else moqc__ss_fin(ss);
  if (st->ns_out == ss) st->ns_out = NULL;
  moqc__ss_release(ss);
}

static const moqc__stream_kind sk_ietf_ns_out = {.name = "ietf-subscribe-namespace-out",
                                                 .process = nsout_process,
                                                 .end = nsout_end,
                                                 .request_out = true};

static moqc__ietf_msg *subscribe_namespace_msg(moqc_session *s) {
  moqc__ietf_msg *m = msg_new(V(s) >= MOQC_IETF_18 ? MOQC_IETF_SUBSCRIBE_NAMESPACE_18
                                                   : MOQC_IETF_SUBSCRIBE_NAMESPACE);
  if (m) {
    m->request_id = req_next(s);
    m->options = 1; /* draft-16: NAMESPACE entries (not tracks) */
  }
  return m;
}

static void ns_out_opened(opener *op, int64_t id) {
  ietf_state *st = MOQC_CONTAINER_OF(op, ietf_state, ns_op);
  moqc_session *s = st->s;
  st->ns_out = moqc__ss_new(s, id, &sk_ietf_ns_out, false, st);
  if (!st->ns_out) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  msg_send(s, st->ns_out, subscribe_namespace_msg(s));
}

static void ns_out_failed(opener *op, int err) {
  (void)op;
  (void)err; /* no namespaces from the peer: like a refused request */
}

/* ---- draft-17+ request streams ------------------------------------------------------ */

/* Decode the first message of a peer's request stream into a fresh *m (the
 * caller frees it): its size, 0 when more bytes are needed, <0 on failure
 * (the session failed). */
static ssize_t req_first(sstream *ss, moqc__ietf_msg **m) {
  moqc_session *s = ss->s;
  *m = moqc_malloc(sizeof **m);
  if (!*m) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return MOQC_ERR_NOMEM;
  }
  return msg_next(ss, *m);
}

/* 17+: a REQUEST_UPDATE on the peer's request stream ss, whose first
 * message (taken: ss->owner) was a request of `type`. The drafts let the
 * sender of SUBSCRIBE, PUBLISH, FETCH, PUBLISH_NAMESPACE and
 * SUBSCRIBE_NAMESPACE update it, each answered with one REQUEST_OK or
 * REQUEST_ERROR on that stream: a served SUBSCRIBE takes Forward and
 * Subscriber Priority (isub_update), a served FETCH its Subscriber Priority
 * (moqc__ietf_fetch_update); the peer's PUBLISH (not yet bound) has nothing we
 * keep: REQUEST_OK. A TRACK_STATUS cannot be updated (17: "the subscriber
 * cannot send REQUEST_UPDATE"): REQUEST_ERROR NOT_SUPPORTED, which is also
 * the TRACK_STATUS's answer and ends it (answers carry no request id on 17+,
 * so a second one could not be told apart). */
static void req_update_in(sstream *ss, uint64_t type, const moqc__ietf_msg *m) {
  moqc_session *s = ss->s;
  assert(ss->owner && m->type == MOQC_IETF_REQUEST_UPDATE);
  if (type == MOQC_IETF_TRACK_STATUS) {
    bool was = moqc__ietf_status_update(s, ss, m->request_id);
    assert(was);
    (void)was;
    return;
  }
  if (type == MOQC_IETF_SUBSCRIBE) isub_update(ss->owner, m);
  else if (type == MOQC_IETF_FETCH) (void)moqc__ietf_fetch_update(s, ss, m->request_id, m);
  req_ok(s, ss, m->request_id);
}

int moqc__ietf_req_in(sstream *ss, uint64_t type,
                      void (*first)(moqc_session *s, const moqc__ietf_msg *m, sstream *ss),
                      void (*later)(sstream *ss, const moqc__ietf_msg *m)) {
  moqc_session *s = ss->s;
  const moqc__stream_kind *kind = ss->kind;
  moqc__ietf_msg *m = NULL;
  assert(req_streams(s) && ss->bidi && ss->peer);
  while (ss_len(ss) > 0 && !sess_closing(s) && !ss->obj.dead && ss->kind == kind) {
    moqc_free(m);
    ssize_t n = req_first(ss, &m);
    if (n <= 0) break;
    if (!ss->owner) {
      if (m->type != type) {
        moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "request stream of another type", false);
        break;
      }
      if (!peer_req_ok(s, m->request_id, false)) break;
      first(s, m, ss); /* m borrows the buffer: consume after */
      if (sess_closing(s) || ss->obj.dead || !ss->owner) break; /* let go */
      moqc__ss_consume(ss, (size_t)n);
      if (ss->kind != kind) { /* handed on (push_bind): the new kind reads the rest */
        moqc_free(m);
        return ss_len(ss) > 0 ? ss->kind->process(ss) : MOQC_OK;
      }
      continue;
    }
    if (m->type != MOQC_IETF_REQUEST_UPDATE) {
      if (!later) {
        moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "unexpected message on a request stream",
                        false);
        break;
      }
      later(ss, m);
      if (sess_closing(s) || ss->obj.dead || ss->kind != kind || !ss->owner) break; /* let go */
    } else {
      if (!peer_req_ok(s, m->request_id, false)) break;
      req_update_in(ss, type, m);
      if (sess_closing(s) || ss->obj.dead || ss->kind != kind || !ss->owner) break; /* let go */
    }
    moqc__ss_consume(ss, (size_t)n);
  }
  moqc_free(m);
  return MOQC_OK;
}

/* Peer-opened SUBSCRIBE stream (publisher side): the SUBSCRIBE, then
 * REQUEST_UPDATEs (applied, each answered REQUEST_OK there). Its end
 * cancels the subscription. */
static int subin_process(sstream *ss) {
  return moqc__ietf_req_in(ss, MOQC_IETF_SUBSCRIBE, on_subscribe, NULL);
}

static void subin_end(sstream *ss, bool reset, uint64_t code) {
  (void)reset;
  (void)code;
  isub *is = ss->owner;
  if (is) isub_destroy(is); /* FIN / RESET / STOP_SENDING: cancelled; releases ss */
  else moqc__ss_release(ss);
}

static const moqc__stream_kind sk_ietf_sub_in = {
    .name = "ietf-subscribe-in", .process = subin_process, .end = subin_end};

/* Ours (subscriber side): SUBSCRIBE_OK / REQUEST_ERROR, then PUBLISH_DONE;
 * the answers to our REQUEST_UPDATEs (REQUEST_OK / REQUEST_ERROR) read and
 * ignored. */
static void subout_on(void *owner, const moqc__ietf_msg *m) {
  itrack *t = owner;
  assert(t->rq.ss && t->rq.ss->owner == t);
  switch (m->type) {
    case MOQC_IETF_SUBSCRIBE_OK: it_ok(t, m); break;
    case MOQC_IETF_REQUEST_OK: break; /* our REQUEST_UPDATE applied */
    case MOQC_IETF_REQUEST_ERROR:
      /* after SUBSCRIBE_OK: our REQUEST_UPDATE refused, the subscription goes on */
      if (!t->ok_seen) it_destroy(t, MOQC_CODE_NOT_FOUND, false);
      break;
    case MOQC_IETF_PUBLISH_DONE:
      it_done(t, m->stream_count, moqc__ietf_done_code(t->s, m->code));
      break;
    case MOQC_IETF_REQUEST_UPDATE:
      /* the peer's PUBLISH bound as this track (its stream, not ours): its
       * sender may update it; nothing in it changes what we do */
      if (t->rq.ss->peer && peer_req_ok(t->s, m->request_id, false)) {
        req_ok(t->s, t->rq.ss, m->request_id);
        break;
      }
      if (!sess_closing(t->s))
        moqc__sess_fail(t->s, IETF_PROTOCOL_VIOLATION, "REQUEST_UPDATE of our SUBSCRIBE", false);
      break;
    default:
      moqc__sess_fail(t->s, IETF_PROTOCOL_VIOLATION, "unexpected message on a SUBSCRIBE stream",
                      false);
      break;
  }
}

static int subout_process(sstream *ss) { return moqc__ietf_reqout_read(ss, subout_on); }

static void subout_end(sstream *ss, bool reset, uint64_t code) {
  itrack *t = ss->owner;
  if (!t) {
    moqc__ss_release(ss);
  } else if (t->finished) {
    /* PUBLISH_DONE / FIN seen: the request is over (a late STOP_SENDING of
     * our half changes nothing); the track waits for its streams. */
    t->rq.ss = NULL;
    ss->owner = NULL;
    moqc__ss_fin(ss);
    moqc__ss_release(ss);
  } else if (reset) {
    it_destroy(t, code, false);
  } else {
    it_done(t, 0, MOQC_IETF_DONE_CLEAN); /* FIN: the publisher ended the request */
  }
}

/* request_out: @moq/net stops reading a request stream once it has the
 * request; our SUBSCRIBE ends with the publisher's FIN or RESET. */
static const moqc__stream_kind sk_ietf_sub_out = {.name = "ietf-subscribe-out",
                                                  .process = subout_process,
                                                  .end = subout_end,
                                                  .request_out = true};

/* Peer-opened PUBLISH stream (subscriber side), until its track is bound
 * (push_bind: then it is a subscription's stream, sk_ietf_sub_out): the
 * PUBLISH, then PUBLISH_DONE; its end (FIN or RESET) ends the push too. */
static void pub_first(moqc_session *s, const moqc__ietf_msg *m, sstream *ss) {
  on_publish(s, m, ss);
}

static void pubin_end(sstream *ss, bool reset, uint64_t code) {
  (void)code;
  ipush *p = ss->owner;
  if (!p) {
    moqc__ietf_req_close(ss, false);
    return;
  }
  assert(p->ss == ss);
  p->ss = NULL;
  moqc__ietf_req_close(ss, reset);
  (void)moqc__imap_remove(&IS(ss->s)->pushed, p->req);
  push_free(p);
}

/* PUBLISH_DONE before anyone took the track: the push is over. */
static void pub_later(sstream *ss, const moqc__ietf_msg *m) {
  if (m->type == MOQC_IETF_PUBLISH_DONE) pubin_end(ss, false, 0);
  else
    moqc__sess_fail(ss->s, IETF_PROTOCOL_VIOLATION, "unexpected message on a PUBLISH stream",
                    false);
}

static int pubin_process(sstream *ss) {
  return moqc__ietf_req_in(ss, MOQC_IETF_PUBLISH, pub_first, pub_later);
}

static const moqc__stream_kind sk_ietf_pub_in = {
    .name = "ietf-publish-in", .process = pubin_process, .end = pubin_end};

static const moqc__stream_kind sk_ietf_pns_in;

/* After the PUBLISH_NAMESPACE: a REQUEST_UPDATE of it (the drafts let its
 * sender update it; nothing in it changes what we do) is answered REQUEST_OK
 * there; any other whole message is skipped (none is defined). */
static void pnsin_later(sstream *ss) {
  moqc_session *s = ss->s;
  while (ss_len(ss) > 0 && !sess_closing(s) && !ss->obj.dead && ss->owner) {
    uint64_t type;
    size_t off, blen;
    ssize_t n = moqc__ietf_ctrl_peek(V(s), ss_data(ss), ss_len(ss), &type, &off, &blen);
    if (n == MOQC_ERR_NEED_MORE) return;
    if (n <= 0) {
      moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "malformed control message", false);
      return;
    }
    if (type == MOQC_IETF_REQUEST_UPDATE) {
      moqc__ietf_msg *m = NULL;
      n = req_first(ss, &m);
      bool ok = n > 0 && peer_req_ok(s, m->request_id, false);
      uint64_t req = ok ? m->request_id : 0;
      moqc_free(m);
      if (!ok) return;
      req_ok(s, ss, req);
      if (sess_closing(s) || ss->obj.dead || !ss->owner) return;
    }
    moqc__ss_consume(ss, (size_t)n);
  }
}

/* Peer-opened PUBLISH_NAMESPACE stream (subscriber side): its end withdraws
 * the namespace. */
static int pnsin_process(sstream *ss) {
  moqc_session *s = ss->s;
  moqc__ietf_msg *m = NULL;
  ssize_t n = ss->owner ? 0 : req_first(ss, &m);
  if (n > 0) {
    if (m->type != MOQC_IETF_PUBLISH_NAMESPACE)
      moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "unexpected message on a namespace stream",
                      false);
    else if (peer_req_ok(s, m->request_id, false)) on_publish_namespace(s, m, ss);
    if (!sess_closing(s) && !ss->obj.dead && ss->kind == &sk_ietf_pns_in) {
      if (ss->owner) moqc__ss_consume(ss, (size_t)n);
      else moqc__ss_release(ss);
    }
  }
  moqc_free(m);
  if (!sess_closing(s) && !ss->obj.dead && ss->kind == &sk_ietf_pns_in && ss->owner)
    pnsin_later(ss);
  return MOQC_OK;
}

static void pnsin_end(sstream *ss, bool reset, uint64_t code) {
  (void)reset;
  (void)code;
  ietf_state *st = IS(ss->s);
  char *path = ss->owner; /* owned by st->peer_ns */
  ss->owner = NULL;
  if (path) {
    moqc__rb_ended(ss->s, path);
    moqc_imap_it it;
    void *v;
    uint64_t key;
    moqc__imap_it_init(&st->peer_ns, &it);
    while (moqc__imap_next(&st->peer_ns, &it, &key, &v)) {
      if (v == path) {
        moqc_free(peer_ns_take(ss->s, key));
        break;
      }
    }
  }
  moqc__ss_fin(ss);
  moqc__ss_release(ss);
}

static const moqc__stream_kind sk_ietf_pns_in = {
    .name = "ietf-publish-namespace-in", .process = pnsin_process, .end = pnsin_end};

/* ---- control stream -------------------------------------------------------------- */

static void run_after_setup(moqc_session *s) {
  ietf_state *st = IS(s);
  unasked_start(s);
  if (sess_closing(s) || !s->sub.origin) return;
  if (V(s) >= MOQC_IETF_16) {
    st->ns_op.bidi = true;
    st->ns_op.opened = ns_out_opened;
    st->ns_op.failed = ns_out_failed;
    moqc__sess_open(s, &st->ns_op);
    return;
  }
  ctrl_send(s, subscribe_namespace_msg(s));
}

static void add_setup_params(moqc_session *s, moqc__ietf_msg *m) {
  if (!moqc__ietf_has_uni_setup(V(s))) /* 17+: no request-id flow control */
    (void)moqc__ietf_params_put_varint(&m->params, MOQC_IETF_SETUP_MAX_REQUEST_ID,
                                       IS(s)->our_max_req);
  /* We ask with SUBSCRIBE_NAMESPACE for whatever we want to hear about: no
   * unsolicited PUBLISH_NAMESPACE to us (moq-dev's MoQ Solicit). */
  (void)moqc__ietf_params_put_varint(&m->params, IETF_SETUP_SOLICIT, 1);
  if (!s->cfg.is_server && s->cfg_path && !s->t->webtransport)
    (void)moqc__ietf_params_put_bytes(&m->params, MOQC_IETF_SETUP_PATH, s->cfg_path,
                                      strlen(s->cfg_path));
  (void)moqc__ietf_params_put_bytes(&m->params, MOQC_IETF_SETUP_IMPLEMENTATION, "moqc", 4);
  ietf_state *st = IS(s);
  if (!s->cfg.is_server && s->cfg_token) {
    /* AUTHORIZATION TOKEN { Alias Type = USE_VALUE, Token Type = 0, Token Value };
     * m borrows the bytes: they live in st until the session is freed. */
    size_t tl = strlen(s->cfg_token);
    if (!st->token_param && tl <= MOQC_IETF_KVP_VALUE_MAX - 2)
      st->token_param = moqc_malloc(tl + 2);
    if (st->token_param) {
      st->token_param[0] = IETF_TOKEN_USE_VALUE; /* one byte in either varint */
      st->token_param[1] = 0;
      memcpy(st->token_param + 2, s->cfg_token, tl);
      (void)moqc__ietf_params_put_bytes(&m->params, MOQC_IETF_SETUP_AUTH_TOKEN, st->token_param,
                                        tl + 2);
    }
  }
}

/* A setup parameter's bytes as a C string (NULL: absent). false: out of
 * memory, or a NUL inside (not a name / token). */
static bool setup_str(moqc_session *s, const moqc__ietf_msg *m, uint64_t key, char **out) {
  const moqc__ietf_kvp *kv = moqc__ietf_params_find(&m->params, key);
  if (!kv) return true;
  if (kv->b.len && memchr(kv->b.ptr, 0, kv->b.len)) return false;
  *out = moqc__sess_strdup_bytes(kv->b);
  if (!*out) moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
  return *out != NULL;
}

/* The client's AUTHORIZATION TOKEN: its value, for the request callback.
 * We advertise no token cache, so only USE_VALUE and REGISTER carry one. */
static bool setup_token(moqc_session *s, const moqc__ietf_msg *m) {
  const moqc__ietf_kvp *kv = moqc__ietf_params_find(&m->params, MOQC_IETF_SETUP_AUTH_TOKEN);
  if (!kv) return true;
  const uint8_t *p = kv->b.ptr;
  size_t n = kv->b.len;
  uint64_t alias_type = 0, alias = 0, type = 0;
  ssize_t k = moqc__ietf_varint_decode(V(s), &alias_type, p, n);
  if (k > 0 && alias_type == IETF_TOKEN_REGISTER) {
    p += k;
    n -= (size_t)k;
    k = moqc__ietf_varint_decode(V(s), &alias, p, n);
  } else if (k > 0 && alias_type != IETF_TOKEN_USE_VALUE) {
    moqc__sess_fail(s, IETF_UNKNOWN_AUTH_TOKEN_ALIAS, "no token cache", false);
    return false;
  }
  if (k > 0) {
    p += k;
    n -= (size_t)k;
    k = moqc__ietf_varint_decode(V(s), &type, p, n);
  }
  if (k <= 0 || (n > (size_t)k && memchr(p + k, 0, n - (size_t)k))) {
    moqc__sess_fail(s, IETF_MALFORMED_AUTH_TOKEN, "malformed AUTHORIZATION TOKEN", false);
    return false;
  }
  (void)type; /* moqc's tokens are JWTs whatever the registry type says */
  s->req_token = moqc__sess_strdup_bytes((moqc_bytes){p + k, n - (size_t)k});
  if (!s->req_token) moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
  return s->req_token != NULL;
}

static bool setup_solicit(const moqc__ietf_msg *m) {
  const moqc__ietf_kvp *kv = moqc__ietf_params_find(&m->params, IETF_SETUP_SOLICIT);
  return kv && kv->v != 0;
}

static void on_client_setup(moqc_session *s, const moqc__ietf_msg *m) {
  ietf_state *st = IS(s);
  if (!s->cfg.is_server || st->setup_done || s->state != ST_WAIT_SETUP) {
    moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "unexpected CLIENT_SETUP", false);
    return;
  }
  if (V(s) == MOQC_IETF_14) {
    bool found = false;
    for (uint32_t i = 0; i < m->nversions; i++)
      if (m->versions[i] == moqc__ietf_version_code(V(s))) found = true;
    if (!found) {
      moqc__sess_fail(s, IETF_VERSION_NEGOTIATION_FAILED, "no common version", false);
      return;
    }
  }
  st->setup_done = true;
  st->peer_solicit = setup_solicit(m);
  const moqc__ietf_kvp *kv = moqc__ietf_params_find(&m->params, MOQC_IETF_SETUP_MAX_REQUEST_ID);
  if (kv) st->peer_max_req = kv->v;
  kv = moqc__ietf_params_find(&m->params, MOQC_IETF_SETUP_PATH);
  if (kv) {
    s->req_path = moqc__sess_strdup_bytes(kv->b);
    if (!s->req_path) {
      moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
      return;
    }
  }
  if (!setup_token(s, m)) return;
  if (!setup_str(s, m, MOQC_IETF_SETUP_AUTHORITY, &s->req_authority) ||
      !setup_str(s, m, MOQC_IETF_SETUP_IMPLEMENTATION, &s->req_impl)) {
    if (!sess_closing(s))
      moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "malformed setup parameter", false);
    return;
  }
  moqc_session_request req = {
      .version = s->version,
      .path = s->req_path ? s->req_path : (s->t->path ? s->t->path : ""),
      .role = MOQC_SESSION_ROLE_BOTH,
      .peer_origin = 0,
      .auth_token = s->req_token,
      .authority = s->req_authority,
      .implementation = s->req_impl,
  };
  moqc__sess_request(s, &req);
}

static void on_server_setup(moqc_session *s, const moqc__ietf_msg *m) {
  ietf_state *st = IS(s);
  if (s->cfg.is_server || st->setup_done) {
    moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "unexpected SERVER_SETUP", false);
    return;
  }
  if (V(s) == MOQC_IETF_14 &&
      (m->nversions != 1 || m->versions[0] != moqc__ietf_version_code(V(s)))) {
    moqc__sess_fail(s, IETF_VERSION_NEGOTIATION_FAILED, "server selected another version", false);
    return;
  }
  st->setup_done = true;
  st->peer_solicit = setup_solicit(m);
  const moqc__ietf_kvp *kv = moqc__ietf_params_find(&m->params, MOQC_IETF_SETUP_MAX_REQUEST_ID);
  if (kv) st->peer_max_req = kv->v;
  /* A request issued before SERVER_SETUP (the session runs once CLIENT_SETUP
   * is out, e.g. moqc_session_publish_track) waited for this window. */
  blocked_flush(s);
  if (sess_closing(s)) return;
  run_after_setup(s);
}

static void on_goaway(moqc_session *s, const moqc__ietf_msg *m) {
  /* Draft 18: the Request ID names one of ours, so it has our parity. */
  uint64_t ours = s->cfg.is_server ? 1 : 0;
  if ((m->has & MOQC_IETF_HAS_GOAWAY_ID) && (m->request_id & 1) != ours) {
    moqc__sess_fail(s, IETF_INVALID_REQUEST_ID, "GOAWAY request id of the wrong parity", false);
    return;
  }
  moqc_free(s->goaway_uri);
  s->goaway_uri = moqc__sess_strdup_bytes(m->reason);
  if (!s->goaway_uri) moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
  else if (sess_debug_on(s)) moqc__sess_debug(s, "GOAWAY '%s'", s->goaway_uri);
}

int moqc_session_send_goaway(moqc_session *s, const char *uri) {
  if (!s) return MOQC_ERR_INVAL;
  if (!moqc__sess_ietf_version(s->version)) return MOQC_ERR_UNSUPPORTED;
  ietf_state *st = IS(s);
  size_t ul = uri ? strlen(uri) : 0;
  if (ul > MOQC_IETF_URI_MAX) return MOQC_ERR_INVAL;
  sstream *ss = moqc__ietf_has_uni_setup(V(s)) ? st->setup_out : st->ctrl;
  if (s->state != ST_RUNNING || st->goaway_sent || !ss || ss_send_done(ss)) return MOQC_ERR_STATE;
  moqc__ietf_msg *m = msg_new(MOQC_IETF_GOAWAY);
  if (!m) return MOQC_ERR_NOMEM;
  m->reason = (moqc_bytes){(const uint8_t *)uri, ul};
  if (V(s) == MOQC_IETF_18) {
    /* Draft 18 only (removed in 19): the smallest peer request id not
     * processed, which the peer's parity starts at (imquic requires it). */
    uint64_t first = s->cfg.is_server ? 0 : 1;
    m->has |= MOQC_IETF_HAS_GOAWAY_ID;
    m->request_id = st->peer_next_req > first ? st->peer_next_req : first;
    assert((m->request_id & 1) == first);
  }
  st->goaway_sent = true;
  moqc__sess_enter(s);
  msg_send(s, ss, m);
  moqc__sess_exit(s);
  return MOQC_OK;
}

static void ctrl_dispatch(moqc_session *s, const moqc__ietf_msg *m) {
  ietf_state *st = IS(s);
  bool setup = m->type == MOQC_IETF_CLIENT_SETUP || m->type == MOQC_IETF_SERVER_SETUP;
  if (!setup && (!st->setup_done || s->state != ST_RUNNING)) {
    moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "control message before setup", false);
    return;
  }
  int v = V(s);
  if (!setup && is_request(v, m->type) && !peer_req_ok(s, m->request_id, true)) return;
  switch (m->type) {
    case MOQC_IETF_CLIENT_SETUP: on_client_setup(s, m); return;
    case MOQC_IETF_SERVER_SETUP: on_server_setup(s, m); return;
    case MOQC_IETF_SUBSCRIBE_NAMESPACE:
      if (v >= MOQC_IETF_16) {
        moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "SUBSCRIBE_NAMESPACE on the control stream",
                        false);
        return;
      }
      on_subscribe_namespace(s, m, NULL);
      return;
    case MOQC_IETF_UNSUBSCRIBE_NAMESPACE: on_unsubscribe_namespace(s, m); return;
    case MOQC_IETF_PUBLISH_NAMESPACE: on_publish_namespace(s, m, NULL); return;
    case MOQC_IETF_PUBLISH_NAMESPACE_DONE: on_publish_namespace_done(s, m); return;
    case MOQC_IETF_PUBLISH_NAMESPACE_CANCEL: on_publish_namespace_cancel(s, m); return;
    case MOQC_IETF_SUBSCRIBE: on_subscribe(s, m, NULL); return;
    case MOQC_IETF_SUBSCRIBE_OK: on_subscribe_ok(s, m); return;
    case MOQC_IETF_SUBSCRIBE_ERROR: /* REQUEST_ERROR on 15+ */ on_subscribe_error(s, m); return;
    case MOQC_IETF_PUBLISH_NAMESPACE_ERROR: on_publish_namespace_error(s, m); return;
    case MOQC_IETF_UNSUBSCRIBE: on_unsubscribe(s, m); return;
    case MOQC_IETF_PUBLISH_DONE: on_publish_done(s, m); return;
    case MOQC_IETF_TRACK_STATUS: moqc__ietf_on_track_status(s, m, NULL); return;
    case MOQC_IETF_REQUEST_UPDATE: on_request_update(s, m); return;
    case MOQC_IETF_FETCH: moqc__ietf_on_fetch(s, m, NULL); return;
    case MOQC_IETF_PUBLISH: on_publish(s, m, NULL); return;
    case MOQC_IETF_PUBLISH_OK: on_publish_ok(s, m); return;
    case MOQC_IETF_PUBLISH_ERROR: /* 14; REQUEST_ERROR on 15+ */
      (void)publish_refused(s, m);
      return;
    case MOQC_IETF_FETCH_ERROR: (void)moqc__ietf_fetch_in_error(s, m); return;
    case MOQC_IETF_FETCH_CANCEL: moqc__ietf_on_fetch_cancel(s, m); return;
    case MOQC_IETF_MAX_REQUEST_ID:
      if (m->request_id < st->peer_max_req) {
        moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "MAX_REQUEST_ID decreased", false);
        return;
      }
      st->peer_max_req = m->request_id;
      blocked_flush(s);
      return;
    case MOQC_IETF_GOAWAY: on_goaway(s, m); return;
    case MOQC_IETF_REQUEST_OK: /* 15/16 (PUBLISH_NAMESPACE_OK on 14): ours answered */
      (void)moqc__ietf_status_out_answer(s, m, true);
      return;
    case MOQC_IETF_TRACK_STATUS_OK: /* 0x0E: NAMESPACE_DONE on 16 (not on this stream) */
    case MOQC_IETF_TRACK_STATUS_ERROR:
      if (v == MOQC_IETF_14)
        (void)moqc__ietf_status_out_answer(s, m, m->type == MOQC_IETF_TRACK_STATUS_OK);
      return;
    case MOQC_IETF_REQUESTS_BLOCKED:
      /* Whatever maximum it names: the window from what is open now. */
      req_window(s, true);
      return;
    default:
      /* OKs of our namespace requests (0x07, 0x12), their errors, and
       * messages not handled yet are ignored; the codec already rejected
       * types the draft does not define. */
      (void)v;
      return;
  }
}

static int ctrl_process(sstream *ss) {
  moqc_session *s = ss->s;
  ietf_state *st = IS(s);
  if (!st->ctrl) st->ctrl = ss;
  assert(st->ctrl == ss);
  moqc__ietf_msg *m = NULL;
  st->in_ctrl = true; /* completions in this batch: one window check at its end */
  while (ss_len(ss) > 0 && !sess_closing(s) && !ss->obj.dead) {
    uint64_t type;
    size_t off, blen;
    ssize_t n = moqc__ietf_ctrl_peek(V(s), ss_data(ss), ss_len(ss), &type, &off, &blen);
    if (n == MOQC_ERR_NEED_MORE) break;
    if (!m) m = moqc_malloc(sizeof *m);
    if (!m) {
      moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
      break;
    }
    if (n >= 0) n = moqc__ietf_ctrl_decode(m, V(s), ss_data(ss), ss_len(ss));
    if (n < 0) {
      moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "malformed control message", false);
      break;
    }
    ctrl_dispatch(s, m); /* m borrows the buffer: consume after */
    if (sess_closing(s) || ss->obj.dead) break;
    moqc__ss_consume(ss, (size_t)n);
  }
  moqc_free(m);
  st->in_ctrl = false;
  req_window(s, false);
  return MOQC_OK;
}

static void ctrl_end(sstream *ss, bool reset, uint64_t code) {
  (void)reset;
  (void)code;
  moqc__sess_fail(ss->s, IETF_PROTOCOL_VIOLATION, "control stream closed", true);
}

static const moqc__stream_kind sk_ietf_ctrl = {
    .name = "ietf-control", .process = ctrl_process, .end = ctrl_end, .never_park = true};

/* ---- draft-17+ SETUP streams ------------------------------------------------------- */

/* The peer's SETUP uni stream: SETUP, then (at most) GOAWAY. */
static int setupin_process(sstream *ss) {
  moqc_session *s = ss->s;
  ietf_state *st = IS(s);
  moqc__ietf_msg *m = moqc_malloc(sizeof *m);
  if (!m) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return MOQC_ERR_NOMEM;
  }
  while (ss_len(ss) > 0 && !sess_closing(s) && !ss->obj.dead) {
    ssize_t n = msg_next(ss, m);
    if (n <= 0) break;
    if (!st->setup_done && m->type == MOQC_IETF_SETUP) {
      if (s->cfg.is_server) on_client_setup(s, m);
      else on_server_setup(s, m);
    } else if (st->setup_done && m->type == MOQC_IETF_GOAWAY) {
      on_goaway(s, m);
    } else {
      moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "unexpected message on the SETUP stream", false);
    }
    if (sess_closing(s) || ss->obj.dead) break;
    moqc__ss_consume(ss, (size_t)n);
  }
  moqc_free(m);
  return MOQC_OK;
}

static void setupin_end(sstream *ss, bool reset, uint64_t code) {
  (void)reset;
  (void)code;
  moqc__ss_release(ss); /* moq-dev tolerates its end; only GOAWAY matters */
}

static const moqc__stream_kind sk_ietf_setup_in = {
    .name = "ietf-setup-in", .process = setupin_process, .end = setupin_end, .never_park = true};

static void setupout_end(sstream *ss, bool reset, uint64_t code) {
  (void)reset;
  (void)code;
  ietf_state *st = IS(ss->s);
  if (st->setup_out == ss) st->setup_out = NULL;
  moqc__ss_release(ss);
}

static const moqc__stream_kind sk_ietf_setup_out = {.name = "ietf-setup-out", .end = setupout_end};

/* ---- the binding --------------------------------------------------------------- */

static ssize_t ietf_type_peek(void *ctx, const uint8_t *p, size_t len) {
  /* Peek only: the kinds decode their whole header / message, type included.
   * *type holds the session's version on entry (its varint: 17+ differ). */
  uint64_t *type = ctx;
  assert(moqc__ietf_version_valid((int)*type));
  uint64_t t = 0;
  ssize_t n = moqc__ietf_varint_decode((int)*type, &t, p, len);
  if (n < 0) return n;
  *type = t;
  return 0;
}

static const moqc__stream_kind *ietf_peer_kind(moqc_session *s, bool bidi, uint64_t type,
                                               uint64_t *code) {
  ietf_state *st = IS(s);
  *code = MOQC_CODE_UNEXPECTED_STREAM;
  if (bidi && req_streams(s)) {
    /* 17+: a request stream (parked on a server until accept()). */
    if (type == MOQC_IETF_SUBSCRIBE) return &sk_ietf_sub_in;
    if (type ==
        (V(s) >= MOQC_IETF_18 ? MOQC_IETF_SUBSCRIBE_NAMESPACE_18 : MOQC_IETF_SUBSCRIBE_NAMESPACE))
      return &sk_ietf_ns_in;
    if (type == MOQC_IETF_PUBLISH_NAMESPACE) return &sk_ietf_pns_in;
    if (type == MOQC_IETF_FETCH) return &moqc__sk_ietf_fetch_req;
    if (type == MOQC_IETF_TRACK_STATUS) return &moqc__sk_ietf_status_req;
    if (type == MOQC_IETF_PUBLISH) return &sk_ietf_pub_in;
    *code = MOQC_CODE_UNSUPPORTED;
    return NULL;
  }
  if (bidi) {
    /* Draft-16: a SUBSCRIBE_NAMESPACE stream. It may overtake the
     * SERVER_SETUP on a client; on a server it is parked until accept(). */
    if (V(s) >= MOQC_IETF_16 && type == MOQC_IETF_SUBSCRIBE_NAMESPACE) return &sk_ietf_ns_in;
    if (!s->cfg.is_server || st->ctrl_seen || type != MOQC_IETF_CLIENT_SETUP) {
      moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "unexpected bidirectional stream", false);
      return NULL;
    }
    st->ctrl_seen = true;
    return &sk_ietf_ctrl; /* st->ctrl is set by its first process() */
  }
  if (moqc__ietf_uni_kind(V(s), type) == MOQC_IETF_UNI_SETUP) {
    if (st->setup_in_seen) {
      moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "second SETUP stream", false);
      return NULL;
    }
    st->setup_in_seen = true;
    return &sk_ietf_setup_in;
  }
  if (moqc__ietf_uni_kind(V(s), type) == MOQC_IETF_UNI_FETCH)
    return s->state == ST_RUNNING ? &moqc__sk_ietf_fetch_in : NULL;
  if (moqc__ietf_uni_kind(V(s), type) != MOQC_IETF_UNI_SUBGROUP) return NULL;
  return s->state == ST_RUNNING ? &sk_ietf_group_in : NULL;
}

static moqc__ietf_msg *setup_msg(moqc_session *s) {
  moqc__ietf_msg *m =
      msg_new(moqc__ietf_has_uni_setup(V(s))
                  ? MOQC_IETF_SETUP
                  : (s->cfg.is_server ? MOQC_IETF_SERVER_SETUP : MOQC_IETF_CLIENT_SETUP));
  if (m) {
    if (V(s) == MOQC_IETF_14) {
      m->nversions = 1;
      m->versions[0] = moqc__ietf_version_code(V(s));
    }
    add_setup_params(s, m);
  }
  return m;
}

static void ietf_setup_opened(opener *op, int64_t id) {
  ietf_state *st = MOQC_CONTAINER_OF(op, ietf_state, setup_op);
  moqc_session *s = st->s;
  assert(!st->setup_out);
  st->setup_out = moqc__ss_new(s, id, &sk_ietf_setup_out, false, st);
  if (!st->setup_out) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  msg_send(s, st->setup_out, setup_msg(s)); /* no FIN: GOAWAY may follow */
}

static void ietf_setup_failed(opener *op, int err) {
  (void)err;
  ietf_state *st = MOQC_CONTAINER_OF(op, ietf_state, setup_op);
  moqc__sess_fail(st->s, MOQC_CODE_TRANSPORT, "cannot open the SETUP stream", false);
}

/* Our SETUP: 14-16 on the control stream, 17+ on a uni stream of its own. */
static void ietf_send_setup(moqc_session *s) {
  ietf_state *st = IS(s);
  if (!moqc__ietf_has_uni_setup(V(s))) {
    ctrl_send(s, setup_msg(s));
    return;
  }
  st->setup_op.bidi = false;
  st->setup_op.opened = ietf_setup_opened;
  st->setup_op.failed = ietf_setup_failed;
  moqc__sess_open(s, &st->setup_op);
}

static void ietf_ctrl_opened(opener *op, int64_t id);
static void ietf_ctrl_failed(opener *op, int err);

static void ietf_run(moqc_session *s) {
  ietf_state *st = IS(s);
  if (s->cfg.is_server) {
    ietf_send_setup(s);
    run_after_setup(s);
    return;
  }
  if (moqc__ietf_has_uni_setup(V(s))) {
    ietf_send_setup(s); /* the rest runs on the server's SETUP */
    return;
  }
  st->ctrl_op.bidi = true;
  st->ctrl_op.opened = ietf_ctrl_opened;
  st->ctrl_op.failed = ietf_ctrl_failed;
  moqc__sess_open(s, &st->ctrl_op);
}

/* The session that owns an opener embedded in its ietf_state. */
static moqc_session *op_session(opener *op) {
  return MOQC_CONTAINER_OF(op, ietf_state, ctrl_op)->s;
}

static void ietf_ctrl_opened(opener *op, int64_t id) {
  moqc_session *s = op_session(op);
  ietf_state *st = IS(s);
  st->ctrl = moqc__ss_new(s, id, &sk_ietf_ctrl, false, st);
  if (!st->ctrl) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  ietf_send_setup(s);
}

static void ietf_ctrl_failed(opener *op, int err) {
  (void)err;
  moqc__sess_fail(op_session(op), MOQC_CODE_TRANSPORT, "cannot open the control stream", false);
}

static int ietf_init(moqc_session *s) {
  ietf_state *st = moqc_calloc(1, sizeof *st);
  if (!st) return MOQC_ERR_NOMEM;
  st->s = s;
  st->next_req = s->cfg.is_server ? 1 : 0;
  /* Advertised in our setup: a window of limits.max_requests (s->lim is not
   * filled in yet). */
  size_t w = s->cfg.limits.max_requests ? s->cfg.limits.max_requests : DEF_MAX_REQUESTS;
  st->our_max_req = 2 * (uint64_t)(w < DEF_MAX_REQUESTS_CAP ? w : DEF_MAX_REQUESTS_CAP);
  moqc_link_init(&st->blocked);
  moqc_link_init(&st->ctrl_op.link);
  moqc_link_init(&st->setup_op.link);
  moqc_link_init(&st->ns_op.link);
  moqc_link_init(&st->ns_subs);
  moqc_link_init(&st->subs);
  moqc_link_init(&st->tracks);
  moqc_link_init(&st->statuses);
  moqc_link_init(&st->status_out);
  moqc_link_init(&st->fetches);
  moqc_link_init(&st->fetch_in);
  moqc__imap_init(&st->pushed);
  moqc__imap_init(&st->by_req);
  moqc__imap_init(&st->by_alias);
  moqc__imap_init(&st->pubns);
  moqc__imap_init(&st->peer_ns);
  moqc__imap_init(&st->ns_watch);
  s->ietf = st;
  return MOQC_OK;
}

/* Release everything (the session's teardown; subscriber side first). */
static void ietf_teardown(moqc_session *s) {
  ietf_state *st = IS(s);
  if (!st) return;
  moqc__sess_open_cancel(&st->ctrl_op);
  moqc__sess_open_cancel(&st->setup_op);
  moqc__sess_open_cancel(&st->ns_op);
  st->ns_out = NULL;
  st->setup_out = NULL;
  while (!moqc_list_empty(&st->tracks)) {
    /* A track whose publisher already ended it (PUBLISH_DONE, or the 17+
     * request stream's FIN) with no group stream in flight is complete: the
     * publisher may close right after (its count-less end leaves us waiting
     * out the stream grace period). Anything else was dropped. */
    itrack *t = MOQC_CONTAINER_OF(st->tracks.next, itrack, link);
    bool done = t->finished && moqc_list_empty(&t->groups);
    it_destroy(t, done ? 0 : MOQC_CODE_DROPPED, done);
  }
  while (!moqc_list_empty(&st->subs)) isub_destroy(MOQC_CONTAINER_OF(st->subs.next, isub, link));
  moqc__ietf_status_teardown(s);
  moqc__ietf_status_out_teardown(s);
  moqc__ietf_fetch_teardown(s);
  moqc__ietf_fetch_in_teardown(s);
  {
    moqc_imap_it it;
    void *v;
    moqc__imap_it_init(&st->pushed, &it);
    while (moqc__imap_next(&st->pushed, &it, NULL, &v)) push_free(v);
    moqc__imap_free(&st->pushed);
    moqc__imap_init(&st->pushed);
  }
  while (!moqc_list_empty(&st->ns_subs))
    ns_destroy(MOQC_CONTAINER_OF(st->ns_subs.next, ins_sub, link));
  {
    moqc_imap_it it;
    void *v;
    moqc__imap_it_init(&st->ns_watch, &it);
    while (moqc__imap_next(&st->ns_watch, &it, NULL, &v)) nsw_free(v);
    moqc__imap_free(&st->ns_watch);
    moqc__imap_init(&st->ns_watch);
  }
  st->ctrl = NULL;
}

static void ietf_free(moqc_session *s) {
  ietf_state *st = IS(s);
  if (!st) return;
  moqc__imap_free(&st->by_req);
  moqc__imap_free(&st->by_alias);
  moqc__imap_free(&st->pubns);
  moqc_imap_it it;
  void *v;
  moqc__imap_it_init(&st->peer_ns, &it);
  while (moqc__imap_next(&st->peer_ns, &it, NULL, &v)) moqc_free(v);
  moqc__imap_free(&st->peer_ns);
  assert(moqc__imap_size(&st->ns_watch) == 0); /* the teardown freed them */
  moqc__imap_free(&st->ns_watch);
  blocked_free(st);
  moqc_free(st->token_param);
  moqc__imap_it_init(&st->pushed, &it);
  while (moqc__imap_next(&st->pushed, &it, NULL, &v)) push_free(v);
  moqc__imap_free(&st->pushed);
  moqc_free(st);
  s->ietf = NULL;
}

/* The CONNECTION_CLOSE code for a moqc_code: the draft's nearest session code
 * (a call site naming one uses SESS_WIRE, which session.c sends as it is;
 * moqc_close_code_to_wire: Decode -> PROTOCOL_VIOLATION, out of memory
 * (Transport) -> INTERNAL_ERROR, BoundsExceeded -> TOO_MANY_REQUESTS on 14-16). */
static uint64_t ietf_close_code(const moqc_session *s, uint64_t code) {
  assert(code <= MOQC_CODE_MAX);
  return moqc_close_code_to_wire(s->version, code);
}

const moqc__sess_proto moqc__proto_ietf = {
    .name = "moq-transport",
    .stream_type_decode = ietf_type_peek,
    .peer_kind = ietf_peer_kind,
    .run = ietf_run,
    .datagram = ietf_datagram,
    .init = ietf_init,
    .teardown = ietf_teardown,
    .free = ietf_free,
    .track_request = ietf_track_request,
    .server_waits_setup = true,
    .can_expire = ietf_can_expire,
    .expire = ietf_expire,
    .trim_pending = ietf_trim_pending,
    .groups_in_flight = ietf_groups_in_flight,
    .close_code = ietf_close_code,
};
