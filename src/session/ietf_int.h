/* moqc session — what the IETF binding's parts share (ietf.c: setup, control
 * stream, namespaces, subscriptions; ietf_status.c: TRACK_STATUS;
 * ietf_fetch.c: FETCH). Internal to src/session. */
#ifndef MOQC_SESSION_IETF_INT_H
#define MOQC_SESSION_IETF_INT_H

#include "core/ietf_wire.h"
#include "session/session_int.h"

/* Request error codes (REQUEST_ERROR 15+, SUBSCRIBE / TRACK_STATUS / FETCH
 * errors on 14). */
#define MOQC_IETF_REQERR_INTERNAL 0x0u
#define MOQC_IETF_REQERR_NOT_SUPPORTED 0x3u
#define MOQC_IETF_REQERR_DOES_NOT_EXIST 0x4u
#define MOQC_IETF_REQERR_INVALID_RANGE 0x5u
/* Session error PROTOCOL_VIOLATION (every draft). */
#define IETF_PROTOCOL_VIOLATION 0x3u

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
 * stream: REQUEST_UPDATE is ignored, anything else goes to later() (NULL:
 * the session closes with PROTOCOL_VIOLATION). */
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
 * (test_session_ietf_fast.c); into p (at least MOQC__IETF_OBJ_HDR_MAX bytes).
 * Returns the length, or MOQC_ERR_INVAL (size over MOQC_IETF_OBJECT_MAX, or
 * not an IETF version). */
#define MOQC__IETF_OBJ_HDR_MAX 24u
ssize_t moqc__ietf_obj_hdr(uint8_t *p, int version, uint64_t ts, uint64_t size);

#endif
