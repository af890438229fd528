/* moqc session — what the IETF binding's parts share (ietf.c: setup, control
 * stream, namespaces, subscriptions; ietf_status.c: TRACK_STATUS;
 * ietf_fetch.c: FETCH). Internal to src/session. */
#ifndef MOQC_SESSION_IETF_INT_H
#define MOQC_SESSION_IETF_INT_H

#include "core/ietf_wire.h"
#include "session/session_int.h"

/* Request error codes, in draft-14's numbering (SUBSCRIBE / TRACK_STATUS /
 * FETCH errors); what goes on the wire is moqc__ietf_reqerr_wire's (15+:
 * REQUEST_ERROR renumbered, DOES_NOT_EXIST 0x10 ...; ietf_codes.c). */
#define MOQC_IETF_REQERR_INTERNAL 0x0u
#define MOQC_IETF_REQERR_NOT_SUPPORTED 0x3u
#define MOQC_IETF_REQERR_DOES_NOT_EXIST 0x4u
#define MOQC_IETF_REQERR_INVALID_RANGE 0x5u
/* Not in draft 14's registries: EXCESSIVE_LOAD on 17+, INTERNAL_ERROR before. */
#define MOQC_IETF_REQERR_EXCESSIVE_LOAD 0x9u
/* Session error PROTOCOL_VIOLATION (every draft), for moqc__sess_fail: a code
 * of the draft's registry, sent as it is (session_int.h SESS_WIRE). */
#define IETF_PROTOCOL_VIOLATION SESS_WIRE(0x3u)

/* The code to send for a refusal `code14` in draft-14's numbering for the
 * draft-14 message `type14` (SUBSCRIBE_ERROR, PUBLISH_NAMESPACE_ERROR,
 * PUBLISH_NAMESPACE_CANCEL ...): as it is on 14, the REQUEST_ERROR registry's
 * code on 15+. */
uint64_t moqc__ietf_reqerr_wire(const moqc_session *s, uint64_t type14, uint64_t code14);
/* The moqc_code a received REQUEST_ERROR (14: SUBSCRIBE_ / FETCH_ /
 * TRACK_STATUS_ERROR) code means: DOES_NOT_EXIST (and moq-dev's 404) ->
 * NotFound, UNAUTHORIZED / auth token -> Unauthorized, TIMEOUT -> Timeout,
 * NOT_SUPPORTED -> Unsupported, anything else -> Transport. */
uint64_t moqc__ietf_reqerr_code(const moqc_session *s, uint64_t wire);

/* RESET_STREAM codes on the IETF data streams (subgroup, datagram-less
 * groups): to a peer that declared MoQ Solicit (lite_peer: moq-dev and moqc,
 * which read moq-lite codes there) the moqc_code as it is; to the others the
 * draft's Data Stream Reset Error Code (Cancel -> CANCELLED, Old ->
 * DELIVERY_TIMEOUT, Dropped -> SESSION_CLOSED, Lagged -> TOO_FAR_BEHIND 17+,
 * malformed -> MALFORMED_TRACK 16+, else INTERNAL_ERROR). _code reads one
 * back as the moqc_code the group aborts with (docs/wire.md). */
uint64_t moqc__ietf_reset_wire(const moqc_session *s, bool lite_peer, uint64_t code);
uint64_t moqc__ietf_reset_code(const moqc_session *s, bool lite_peer, uint64_t wire);

/* A received PUBLISH_DONE status: MOQC_IETF_DONE_CLEAN for a clean end
 * (TRACK_ENDED, SUBSCRIPTION_ENDED, GOING_AWAY, EXPIRED, moq-dev's 200), else
 * the moqc_code the track aborts with: INTERNAL_ERROR, moq-dev's 500,
 * UPDATE_FAILED, EXCESSIVE_LOAD and unknown statuses (the drafts read those
 * as INTERNAL_ERROR) -> Dropped; UNAUTHORIZED -> Unauthorized; TOO_FAR_BEHIND
 * -> Lagged; MALFORMED_TRACK (14/15: 0x7, 16+: 0x12) -> ProtocolViolation. */
#define MOQC_IETF_DONE_CLEAN UINT64_MAX
uint64_t moqc__ietf_done_code(const moqc_session *s, uint64_t status);

/* A zeroed control message of this type; NULL when out of memory (the send
 * functions then fail the session). */
moqc__ietf_msg *moqc__ietf_msg_new(uint64_t type);
/* Encode m onto the control stream and free it (m may be NULL: out of memory). */
void moqc__ietf_ctrl_send(moqc_session *s, moqc__ietf_msg *m);
/* A request refused: SUBSCRIBE_ERROR-shaped `type14` on draft 14,
 * REQUEST_ERROR on 15+. why is borrowed until the call returns. */
void moqc__ietf_request_error(moqc_session *s, uint64_t type14, uint64_t req, uint64_t code,
                              const char *why);
/* The answer to a peer's request: on its request stream ss (17+), or on the
 * control stream (ss NULL). m is freed (NULL: out of memory). */
void moqc__ietf_reply(moqc_session *s, sstream *ss, moqc__ietf_msg *m);
/* moqc__ietf_request_error on the request stream ss (17+: then our FIN, and
 * ss is let go), or on the control stream (ss NULL). */
void moqc__ietf_request_refuse(moqc_session *s, sstream *ss, uint64_t type14, uint64_t req,
                               uint64_t code, const char *why);
/* 17+: the request on ss is over; our half ends with FIN (abort false) or
 * RESET + STOP_SENDING (abort true, code CANCEL), and ss is let go. */
void moqc__ietf_req_close(sstream *ss, bool abort);
/* 17+: process() of a peer's request stream whose first message must be
 * `type`: it is decoded, its request id checked, and handed to first(s, m,
 * ss), which takes ss (ss->owner) or lets it go; later messages on the
 * stream: REQUEST_UPDATE is applied to the request where the draft lets
 * it be updated and answered there (ietf.c req_update_in), anything else
 * goes to later() (NULL: the session closes with PROTOCOL_VIOLATION). */
int moqc__ietf_req_in(sstream *ss, uint64_t type,
                      void (*first)(moqc_session *s, const moqc__ietf_msg *m, sstream *ss),
                      void (*later)(sstream *ss, const moqc__ietf_msg *m));
/* 17+: a request we issue on a bidi stream of its own (SUBSCRIBE, FETCH,
 * TRACK_STATUS), embedded in its owner (ietf.c). Fill s, kind, owner,
 * opened, failed, then moqc__ietf_reqout_open: the opening is queued; once
 * open, ss is created with `kind` and `owner`, and opened(r) writes the
 * request on it (moqc__ietf_reply(s, r->ss, m)); failed(r): it could not be
 * opened (the owner ends). */
typedef struct moqc__ietf_reqout moqc__ietf_reqout;
struct moqc__ietf_reqout {
  moqc_session *s;
  opener op;
  sstream *ss; /* once open */
  bool opening;
  const moqc__stream_kind *kind;
  void *owner;
  void (*opened)(moqc__ietf_reqout *r); /* NULL with moqc__ietf_reqout_start */
  void (*failed)(moqc__ietf_reqout *r);
  uint8_t *pend; /* moqc__ietf_reqout_start: the encoded request, until open */
  size_t pend_len;
};
void moqc__ietf_reqout_open(moqc__ietf_reqout *r);
/* moqc__ietf_reqout_open with the request m encoded now (so m may borrow
 * strings that do not outlive the call; m is freed) and written once the
 * stream is open (opened NULL). MOQC_ERR_NOMEM, MOQC_ERR_INVAL (encode):
 * nothing queued. */
int moqc__ietf_reqout_start(moqc__ietf_reqout *r, moqc__ietf_msg *m);
/* Our request m (freed) on the control stream (14-16: r is not used, held
 * under the peer's MAX_REQUEST_ID), or (17+) moqc__ietf_reqout_start(r, m)
 * with r filled in already. The caller ends its owner on an error. */
int moqc__ietf_request_send(moqc_session *s, moqc__ietf_reqout *r, moqc__ietf_msg *m);
/* The request is over: a queued opening is cancelled; an open stream gets
 * our FIN, after a STOP_SENDING when `cancel` (a FIN alone does not cancel a
 * SUBSCRIBE on 17+), and is let go (r->ss NULL). */
void moqc__ietf_reqout_close(moqc__ietf_reqout *r, bool cancel);
/* process() of a reqout stream: each message read goes to on(ss->owner, m)
 * (m borrowed for the call); reading stops once the stream is let go or
 * changes owner. */
int moqc__ietf_reqout_read(sstream *ss, void (*on)(void *owner, const moqc__ietf_msg *m));
/* A namespace tuple as a broadcast path in buf (false: it does not map). */
bool moqc__ietf_tuple_path(const moqc__ietf_tuple *t, char *buf, size_t cap);

/* Peer requests handled outside ietf.c: ss is the request stream (17+; the
 * handler takes it) or NULL (the control stream). */
void moqc__ietf_on_track_status(moqc_session *s, const moqc__ietf_msg *m, sstream *ss);
extern const moqc__stream_kind moqc__sk_ietf_status_req;
/* TRACK_STATUS requests waiting for their answer (ietf_status.c), kept in
 * the binding's state; the teardown drops them. */
moqc_link *moqc__ietf_status_list(moqc_session *s);
void moqc__ietf_status_teardown(moqc_session *s);
/* FETCH (ietf_fetch.c): served fetches are kept in the binding's state. */
int moqc__ietf_resolve_track(moqc_session *s, const moqc__ietf_msg *m,
                             moqc_broadcast_consumer **bc_out, moqc_track_consumer **tc_out);
void moqc__ietf_on_fetch(moqc_session *s, const moqc__ietf_msg *m, sstream *ss);
extern const moqc__stream_kind moqc__sk_ietf_fetch_req;
void moqc__ietf_on_fetch_cancel(moqc_session *s, const moqc__ietf_msg *m);
moqc_link *moqc__ietf_fetch_list(moqc_session *s);
void moqc__ietf_fetch_teardown(moqc_session *s);
/* A REQUEST_UPDATE m of a FETCH we serve: 17+ on its request stream ss (the
 * fetch is ss->owner), 16 by request id req (ss NULL). Its Subscriber
 * Priority applies to the fetch's data stream. false: no such fetch. */
bool moqc__ietf_fetch_update(moqc_session *s, sstream *ss, uint64_t req, const moqc__ietf_msg *m);
/* A REQUEST_UPDATE of a TRACK_STATUS waiting for its answer: 17+ on its
 * request stream ss (ss->owner), answered there REQUEST_ERROR NOT_SUPPORTED,
 * which ends the request; 16 by request id req (ss NULL), left to the caller
 * to refuse (the status is still answered). false: no such request. */
bool moqc__ietf_status_update(moqc_session *s, sstream *ss, uint64_t req);
/* The track consumer of the subscription we serve with request id req
 * (borrowed), or NULL: what a joining FETCH reads; *bc_out (if not NULL) gets
 * its broadcast consumer (borrowed; NULL with it). */
moqc_track_consumer *moqc__ietf_served_track(moqc_session *s, uint64_t req,
                                             moqc_broadcast_consumer **bc_out);
/* The FETCH we issue (moqc_session_fetch): ietf_fetch.c. */
moqc_group_consumer *moqc__ietf_fetch_issue(moqc_session *s, const char *path, const char *track,
                                            uint64_t sequence, uint8_t priority, int *err);
/* Relay FETCH upstream (17+ on a request stream): a standalone FETCH of the groups [lo, hi]
 * of tp's track (named like tp) in the peer's broadcast `path`, or (joining
 * = our SUBSCRIBE's request id, hi = MOQC_GROUP_NONE - 1) an absolute
 * joining FETCH from group lo up to where that subscription starts; each
 * object fed into tp as a group created with its sequence (groups tp
 * already has are skipped). tp is cloned, so it may go first. Counts
 * against max_subscriptions. MOQC_ERR_STATE (not running),
 * MOQC_ERR_BOUNDS, MOQC_ERR_INVAL (path), MOQC_ERR_NOMEM. */
int moqc__ietf_fetch_range(moqc_session *s, const char *path, moqc_track_producer *tp, uint64_t lo,
                           uint64_t hi, uint8_t priority, uint64_t joining);
/* FETCH_ERROR / REQUEST_ERROR for one of our fetches: true if it was one. */
bool moqc__ietf_fetch_in_error(moqc_session *s, const moqc__ietf_msg *m);
moqc_link *moqc__ietf_fetch_in_list(moqc_session *s);
void moqc__ietf_fetch_in_teardown(moqc_session *s);
extern const moqc__stream_kind moqc__sk_ietf_fetch_in;
/* A request of the peer completed outside a control message (a served
 * subscription or fetch ended, a TRACK_STATUS was answered late): raise our
 * MAX_REQUEST_ID if due (drafts 14-16; no-op otherwise or while closing). */
void moqc__ietf_req_complete(moqc_session *s);
/* TRACK_STATUS we issue (ietf_issue.c): moqc_session_track_status on IETF;
 * an answer (ok: TRACK_STATUS_OK / REQUEST_OK, else an error) to one of
 * them fires its callback (true), else false. */
int moqc__ietf_track_status_issue(moqc_session *s, const char *path, const char *track,
                                  moqc_session_track_status_fn cb, void *ctx);
bool moqc__ietf_status_out_answer(moqc_session *s, const moqc__ietf_msg *m, bool ok);
moqc_link *moqc__ietf_status_out_list(moqc_session *s);
void moqc__ietf_status_out_teardown(moqc_session *s);
/* Our next request id. */
uint64_t moqc__ietf_req_next(moqc_session *s);
/* The subgroup object header moqc writes for every object (ietf.c, the group
 * writer's fast path): Object ID delta 0, an extension block holding only the
 * Timestamp (0x10) = ts, the payload length (and status Normal when size is
 * 0). Byte-for-byte what moqc__ietf_object_encode gives for the same object
 * (test_session_ietf_obj.c); into p, MOQC__IETF_OBJ_HDR_MAX bytes (those
 * past the header are scratch: written without calls, as whole words).
 * Returns the length, MOQC_ERR_INVAL (size over MOQC_IETF_OBJECT_MAX, or not
 * an IETF version) or MOQC_ERR_OVERFLOW (ts >= 2^62 before draft 17). */
#define MOQC__IETF_OBJ_HDR_MAX 24u
ssize_t moqc__ietf_obj_hdr(uint8_t *p, int version, uint64_t ts, uint64_t size);

#endif
