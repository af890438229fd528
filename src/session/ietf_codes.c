/* moqc session — the IETF binding's request error codes per draft.
 *
 * The binding names a refusal in draft-14's numbering, per message (SUBSCRIBE_,
 * FETCH_, TRACK_STATUS_ERROR: INTERNAL 0, UNAUTHORIZED 1, TIMEOUT 2,
 * NOT_SUPPORTED 3, DOES_NOT_EXIST 4, INVALID_RANGE 5, FETCH NO_OBJECTS 6,
 * INVALID_JOINING_REQUEST_ID 7, MALFORMED_AUTH_TOKEN 0x10, EXPIRED_AUTH_TOKEN
 * 0x12; PUBLISH_NAMESPACE_ / PUBLISH_ERROR and PUBLISH_NAMESPACE_CANCEL:
 * UNINTERESTED 4; SUBSCRIBE_NAMESPACE_ERROR: NAMESPACE_PREFIX_UNKNOWN 4,
 * PREFIX_OVERLAP 5). Draft 15 folded them into one REQUEST_ERROR registry and
 * renumbered from 0x4 up (MALFORMED_AUTH_TOKEN 0x4, DOES_NOT_EXIST 0x10,
 * INVALID_RANGE 0x11, UNINTERESTED 0x20, PREFIX_OVERLAP 0x30,
 * INVALID_JOINING_REQUEST_ID 0x32; 16-19 keep those; 17 added EXCESSIVE_LOAD
 * 0x9), so a draft-14 0x4 sent on 15+ read as MALFORMED_AUTH_TOKEN. Sent codes go through
 * moqc__ietf_reqerr_wire; received ones are read with moqc__ietf_reqerr_code. */
#include <assert.h>

#include "moqc/error.h"
#include "session/ietf_int.h"

/* REQUEST_ERROR codes, drafts 15-19. */
#define REQERR15_MALFORMED_AUTH_TOKEN 0x4u
#define REQERR15_EXPIRED_AUTH_TOKEN 0x5u
#define REQERR15_DOES_NOT_EXIST 0x10u
#define REQERR15_INVALID_RANGE 0x11u
#define REQERR15_UNINTERESTED 0x20u
#define REQERR15_PREFIX_OVERLAP 0x30u
#define REQERR15_INVALID_JOINING 0x32u
#define REQERR17_EXCESSIVE_LOAD 0x9u
/* moq-dev's relay answers with HTTP-style numbers on every draft. */
#define REQERR_MOQ_DEV_NOT_FOUND 404u

/* Draft-14 codes that differ per message. */
#define REQERR14_FOUR 0x4u /* DOES_NOT_EXIST; UNINTERESTED; NAMESPACE_PREFIX_UNKNOWN */
#define REQERR14_FIVE 0x5u /* INVALID_RANGE; PREFIX_OVERLAP (SUBSCRIBE_NAMESPACE) */
#define REQERR14_NO_OBJECTS 0x6u
#define REQERR14_INVALID_JOINING 0x7u
#define REQERR14_MALFORMED_AUTH_TOKEN 0x10u
#define REQERR14_EXPIRED_AUTH_TOKEN 0x12u

static bool is_v14(const moqc_session *s) { return s->version == MOQC_IETF_14; }

uint64_t moqc__ietf_reqerr_wire(const moqc_session *s, uint64_t type14, uint64_t code14) {
  assert(moqc__sess_ietf_version(s->version));
  if (code14 == MOQC_IETF_REQERR_EXCESSIVE_LOAD)
    return s->version >= MOQC_IETF_17 ? REQERR17_EXCESSIVE_LOAD : MOQC_IETF_REQERR_INTERNAL;
  if (is_v14(s)) return code14;
  bool uninterested = type14 == MOQC_IETF_PUBLISH_NAMESPACE_ERROR ||
                      type14 == MOQC_IETF_PUBLISH_ERROR ||
                      type14 == MOQC_IETF_PUBLISH_NAMESPACE_CANCEL;
  switch (code14) {
    case MOQC_IETF_REQERR_INTERNAL:
    case 0x1: /* UNAUTHORIZED */
    case 0x2: /* TIMEOUT */
    case MOQC_IETF_REQERR_NOT_SUPPORTED: return code14;
    case REQERR14_FOUR: return uninterested ? REQERR15_UNINTERESTED : REQERR15_DOES_NOT_EXIST;
    case REQERR14_FIVE:
      return type14 == MOQC_IETF_SUBSCRIBE_NAMESPACE_ERROR ? REQERR15_PREFIX_OVERLAP
                                                           : REQERR15_INVALID_RANGE;
    /* 15+ has no NO_OBJECTS: the range cannot be served. */
    case REQERR14_NO_OBJECTS: return REQERR15_INVALID_RANGE;
    case REQERR14_INVALID_JOINING: return REQERR15_INVALID_JOINING;
    case REQERR14_MALFORMED_AUTH_TOKEN: return REQERR15_MALFORMED_AUTH_TOKEN;
    case REQERR14_EXPIRED_AUTH_TOKEN: return REQERR15_EXPIRED_AUTH_TOKEN;
    default: return MOQC_IETF_REQERR_INTERNAL;
  }
}

uint64_t moqc__ietf_reqerr_code(const moqc_session *s, uint64_t wire) {
  assert(moqc__sess_ietf_version(s->version));
  switch (wire) {
    case REQERR_MOQ_DEV_NOT_FOUND: return MOQC_CODE_NOT_FOUND;
    case 0x1: return MOQC_CODE_UNAUTHORIZED;
    case 0x2: return MOQC_CODE_TIMEOUT;
    case MOQC_IETF_REQERR_NOT_SUPPORTED: return MOQC_CODE_UNSUPPORTED;
    default: break;
  }
  if (is_v14(s)) {
    if (wire == REQERR14_FOUR) return MOQC_CODE_NOT_FOUND;
    if (wire == REQERR14_MALFORMED_AUTH_TOKEN || wire == REQERR14_EXPIRED_AUTH_TOKEN)
      return MOQC_CODE_UNAUTHORIZED;
  } else {
    if (wire == REQERR15_DOES_NOT_EXIST) return MOQC_CODE_NOT_FOUND;
    if (wire == REQERR15_MALFORMED_AUTH_TOKEN || wire == REQERR15_EXPIRED_AUTH_TOKEN)
      return MOQC_CODE_UNAUTHORIZED;
  }
  return MOQC_CODE_TRANSPORT; /* INTERNAL_ERROR, or a code we do not read */
}

/* ---- data-stream resets ------------------------------------------------------------- */

/* Data Stream Reset Error Codes (14-19; TOO_FAR_BEHIND, EXCESSIVE_LOAD 17+). */
#define RESET_INTERNAL_ERROR 0x0u
#define RESET_CANCELLED 0x1u
#define RESET_DELIVERY_TIMEOUT 0x2u
#define RESET_SESSION_CLOSED 0x3u
#define RESET_UNKNOWN_OBJECT_STATUS 0x4u /* 16+ */
#define RESET_TOO_FAR_BEHIND 0x5u        /* 17+ */
#define RESET_EXCESSIVE_LOAD 0x9u        /* 17+ */
#define RESET_MALFORMED_TRACK 0x12u      /* 16+ */

uint64_t moqc__ietf_reset_wire(const moqc_session *s, bool lite_peer, uint64_t code) {
  assert(moqc__sess_ietf_version(s->version) && code <= MOQC_CODE_MAX);
  if (lite_peer) return code;
  switch (code) {
    case MOQC_CODE_CANCEL:
    case MOQC_CODE_CLOSED: return RESET_CANCELLED;
    case MOQC_CODE_OLD:
    case MOQC_CODE_EVICTED: return RESET_DELIVERY_TIMEOUT; /* given up on, like an expiry */
    case MOQC_CODE_DROPPED: return RESET_SESSION_CLOSED;   /* the publisher went away */
    case MOQC_CODE_LAGGED:
      return s->version >= MOQC_IETF_17 ? RESET_TOO_FAR_BEHIND : RESET_CANCELLED;
    case MOQC_CODE_DECODE:
    case MOQC_CODE_WRONG_SIZE:
    case MOQC_CODE_PROTOCOL_VIOLATION:
    case MOQC_CODE_TIMESTAMP_MISMATCH:
      return s->version >= MOQC_IETF_16 ? RESET_MALFORMED_TRACK : RESET_INTERNAL_ERROR;
    default: return RESET_INTERNAL_ERROR; /* Encode, Transport, App(n) ... */
  }
}

uint64_t moqc__ietf_reset_code(const moqc_session *s, bool lite_peer, uint64_t wire) {
  assert(moqc__sess_ietf_version(s->version));
  (void)s; /* the asserts only */
  if (lite_peer) return wire;
  switch (wire) {
    case RESET_INTERNAL_ERROR:
    case RESET_CANCELLED: return MOQC_CODE_CANCEL;
    case RESET_DELIVERY_TIMEOUT: return MOQC_CODE_OLD;
    case RESET_SESSION_CLOSED: return MOQC_CODE_DROPPED;
    case RESET_UNKNOWN_OBJECT_STATUS: return MOQC_CODE_TRANSPORT;
    case RESET_TOO_FAR_BEHIND: return MOQC_CODE_LAGGED;
    case RESET_EXCESSIVE_LOAD: return MOQC_CODE_DROPPED;
    case RESET_MALFORMED_TRACK: return MOQC_CODE_PROTOCOL_VIOLATION;
    default: return MOQC_CODE_CANCEL; /* unknown: INTERNAL_ERROR (draft 18 §14) */
  }
}

/* ---- PUBLISH_DONE ----------------------------------------------------------------- */

/* PUBLISH_DONE status codes (14-19; MALFORMED_TRACK 0x7 on 14/15, 0x12 from 16;
 * UPDATE_FAILED 0x8 15+; EXCESSIVE_LOAD 0x9 17+). */
#define DONE_INTERNAL_ERROR 0x0u
#define DONE_UNAUTHORIZED 0x1u
#define DONE_TRACK_ENDED 0x2u
#define DONE_SUBSCRIPTION_ENDED 0x3u
#define DONE_GOING_AWAY 0x4u
#define DONE_EXPIRED 0x5u
#define DONE_TOO_FAR_BEHIND 0x6u
#define DONE_MALFORMED_TRACK_14 0x7u
#define DONE_MALFORMED_TRACK 0x12u
/* moq-relay's statuses on every draft: 200 OK, 500 any error. */
#define DONE_MOQ_DEV_OK 200u

uint64_t moqc__ietf_done_code(const moqc_session *s, uint64_t status) {
  assert(moqc__sess_ietf_version(s->version));
  switch (status) {
    case DONE_TRACK_ENDED:
    case DONE_SUBSCRIPTION_ENDED:
    case DONE_GOING_AWAY:
    case DONE_EXPIRED:
    case DONE_MOQ_DEV_OK: return MOQC_IETF_DONE_CLEAN;
    case DONE_UNAUTHORIZED: return MOQC_CODE_UNAUTHORIZED;
    case DONE_TOO_FAR_BEHIND: return MOQC_CODE_LAGGED;
    case DONE_MALFORMED_TRACK_14:
      return s->version <= MOQC_IETF_15 ? MOQC_CODE_PROTOCOL_VIOLATION : MOQC_CODE_DROPPED;
    case DONE_MALFORMED_TRACK:
      return s->version >= MOQC_IETF_16 ? MOQC_CODE_PROTOCOL_VIOLATION : MOQC_CODE_DROPPED;
    case DONE_INTERNAL_ERROR:
    default: return MOQC_CODE_DROPPED;
  }
}
