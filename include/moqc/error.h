/* moqc — error codes.
 *
 * Two separate enums:
 *   - moqc_err:  library return codes. 0 is success, every error is negative.
 *   - moqc_code: MoQ wire error codes, as carried in RESET_STREAM, STOP_SENDING
 *                and CONNECTION_CLOSE on moq-lite sessions (numbering of
 *                moq-dev/moq, see docs/wire.md). Non-negative, 62-bit. IETF
 *                sessions carry the draft's codes instead: see "CONNECTION_CLOSE
 *                codes per protocol" below and docs/wire.md, "IETF error codes".
 * moqc_err_from_code() / moqc_code_from_err() map between them.
 * Every function here is pure and may be called from any thread and any callback.
 */
#ifndef MOQC_ERROR_H
#define MOQC_ERROR_H

#include <stdint.h>

#include "moqc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Library return codes. Keep in sync with moqc_err_str(). */
typedef enum moqc_err {
  MOQC_OK = 0,
  MOQC_ERR_NOMEM = -1,       /* allocation failed */
  MOQC_ERR_INVAL = -2,       /* invalid argument */
  MOQC_ERR_AGAIN = -3,       /* would block: nothing to read yet; a waker fires later */
  MOQC_ERR_CLOSED = -4,      /* ended cleanly: nothing more is coming */
  MOQC_ERR_NEED_MORE = -5,   /* decoder: input is a valid prefix; feed more bytes */
  MOQC_ERR_DECODE = -6,      /* decoder: input is malformed */
  MOQC_ERR_OVERFLOW = -7,    /* arithmetic or value range overflow (e.g. varint > 2^62-1) */
  MOQC_ERR_BUFSIZE = -8,     /* encoder: output buffer too small */
  MOQC_ERR_WRONG_SIZE = -9,  /* frame written/finished with a size other than declared */
  MOQC_ERR_DUPLICATE = -10,  /* duplicate sequence / path / id */
  MOQC_ERR_NOT_FOUND = -11,  /* no such track */
  MOQC_ERR_UNROUTABLE = -12, /* no such broadcast (path not announced) */
  MOQC_ERR_LAGGED = -13,     /* reader fell too far behind (group byte cap) */
  MOQC_ERR_OLD = -14,        /* group superseded or expired */
  MOQC_ERR_EVICTED = -15,    /* evicted from the cache under memory pressure */
  MOQC_ERR_CANCEL = -16,     /* cancelled (producer dropped without finishing, or peer cancelled) */
  MOQC_ERR_ABORTED =
      -17, /* aborted with an application / remote code: see the object's code getter */
  MOQC_ERR_PROTOCOL = -18,  /* peer violated the protocol */
  MOQC_ERR_TOO_LARGE = -19, /* frame or message over the size limit */
  MOQC_ERR_BOUNDS = -20,    /* a limit was exceeded (count, hops, segments, queue) */
  MOQC_ERR_TIMEOUT = -21,
  MOQC_ERR_UNSUPPORTED = -22,
  MOQC_ERR_UNAUTHORIZED = -23,
  MOQC_ERR_VERSION = -24,    /* no common protocol version */
  MOQC_ERR_TRANSPORT = -25,  /* the underlying connection failed */
  MOQC_ERR_TLS = -26,        /* TLS / certificate failure */
  MOQC_ERR_IO = -27,         /* system call failure (socket, file) */
  MOQC_ERR_DROPPED = -28,    /* source went away abruptly (disconnect, not a clean finish) */
  MOQC_ERR_STATE = -29,      /* call not valid in the object's current state */
  MOQC_ERR_TIMESTAMP = -30,  /* timestamp mismatch / not representable */
  MOQC_ERR_UNEXPECTED = -31, /* unexpected stream or message */
} moqc_err;

/* MoQ wire error codes (moq-dev/moq Error::to_code numbering). */
typedef enum moqc_code {
  MOQC_CODE_CANCEL = 0,
  MOQC_CODE_REQUIRED_EXTENSION = 1, /* also: session closed because transport died */
  MOQC_CODE_OLD = 2,
  MOQC_CODE_TIMEOUT = 3,
  MOQC_CODE_TRANSPORT = 4,
  MOQC_CODE_DECODE = 5,
  MOQC_CODE_UNAUTHORIZED = 6,
  MOQC_CODE_VERSION = 9,
  MOQC_CODE_UNEXPECTED_STREAM = 10,
  MOQC_CODE_BOUNDS_EXCEEDED = 11,
  MOQC_CODE_DUPLICATE = 12,
  MOQC_CODE_NOT_FOUND = 13,
  MOQC_CODE_WRONG_SIZE = 14,
  MOQC_CODE_PROTOCOL_VIOLATION = 15,
  MOQC_CODE_UNEXPECTED_MESSAGE = 16,
  MOQC_CODE_UNSUPPORTED = 17,
  MOQC_CODE_ENCODE = 18,
  MOQC_CODE_TOO_MANY_PARAMETERS = 19,
  MOQC_CODE_INVALID_ROLE = 20,
  MOQC_CODE_UNKNOWN_ALPN = 21,
  MOQC_CODE_DROPPED = 24,
  MOQC_CODE_CLOSED = 25,
  MOQC_CODE_LAGGED = 26,
  MOQC_CODE_FRAME_TOO_LARGE = 27,
  MOQC_CODE_TIMESTAMP_MISMATCH = 29,
  MOQC_CODE_UNROUTABLE = 30,
  MOQC_CODE_EVICTED = 31,
  MOQC_CODE_APP_BASE = 64 /* App(n) = 64 + n */
} moqc_code;

#define MOQC_CODE_MAX ((uint64_t)0x3fffffffffffffffULL)

/* Static human-readable name of a library code ("MOQC_OK", "wrong size"...).
 * Never NULL; unknown values give "unknown error". */
MOQC_API const char *moqc_err_str(int err);

/* Static name of a wire code ("Cancel", "Unroutable", "App(3)" is rendered
 * as "App"; unknown codes give "Remote"). Never NULL. */
MOQC_API const char *moqc_code_str(uint64_t code);

/* Map a wire code to the library code a reader sees. Unknown / App codes map
 * to MOQC_ERR_ABORTED (keep the wire code alongside to report it). */
MOQC_API int moqc_err_from_code(uint64_t code);

/* Map a library error to the wire code to send. MOQC_OK and MOQC_ERR_CLOSED map
 * to MOQC_CODE_CANCEL; errors without a wire equivalent map to
 * MOQC_CODE_PROTOCOL_VIOLATION (peer fault) or MOQC_CODE_TRANSPORT (local fault). */
MOQC_API uint64_t moqc_code_from_err(int err);

/* ---- CONNECTION_CLOSE codes per protocol ----------------------------------------
 *
 * A session's close code (on_closed, moqc_session_closed_code) is the code on the
 * wire, in the registry of the session's protocol (version: moqc_session_version):
 *   - moq-lite (3, 4, 5): moqc_code above;
 *   - IETF moq-transport drafts 14 to 19: the draft's Session Termination Error
 *     Codes (NO_ERROR 0x0, INTERNAL_ERROR 0x1, UNAUTHORIZED 0x2,
 *     PROTOCOL_VIOLATION 0x3, ...; 0x7 is TOO_MANY_REQUESTS on 14-16,
 *     INVALID_REQUIRED_REQUEST_ID on 17 and unassigned from 18 on).
 * The same number means different things in the two (lite Timeout 3 is IETF
 * PROTOCOL_VIOLATION 0x3), so name and read a close code with these, never with
 * moqc_code_str / moqc_err_from_code alone. moq-dev's IETF stack closes with its
 * lite codes even on IETF sessions: such a peer's code reads with the draft's
 * meaning here (docs/wire.md). Other versions read as moq-lite. */

/* Static name of close code `code` on a session of `version` ("Timeout",
 * "PROTOCOL_VIOLATION"; unknown IETF codes give "unknown"). Never NULL. */
MOQC_API const char *moqc_close_code_str(int version, uint64_t code);

/* The library error a close code of a session of `version` means
 * (IETF PROTOCOL_VIOLATION -> MOQC_ERR_PROTOCOL, NO_ERROR -> MOQC_ERR_CLOSED;
 * unknown codes -> MOQC_ERR_ABORTED). */
MOQC_API int moqc_close_code_err(int version, uint64_t code);

/* The CONNECTION_CLOSE code a session of `version` sends for the moqc_code
 * `code` (what moqc_session_close / moqc_session_reject do with their code):
 * moq-lite sends it as it is; IETF sends the draft's nearest session code
 * (Cancel / Closed -> NO_ERROR; Decode, ProtocolViolation, UnexpectedMessage,
 * Duplicate ... -> PROTOCOL_VIOLATION; Unauthorized -> UNAUTHORIZED; Timeout ->
 * CONTROL_MESSAGE_TIMEOUT; Version / UnknownAlpn -> VERSION_NEGOTIATION_FAILED;
 * BoundsExceeded -> TOO_MANY_REQUESTS on 14-16, INTERNAL_ERROR from 17 on (no
 * such code there); everything else, App codes included -> INTERNAL_ERROR). */
MOQC_API uint64_t moqc_close_code_to_wire(int version, uint64_t code);

#ifdef __cplusplus
}
#endif
#endif
