/* moqc core — library error codes, MoQ wire codes and the mapping between them. */
#include "moqc/error.h"

#include <stdbool.h>
#include <stddef.h>

const char *moqc_err_str(int err) {
  switch (err) {
    case MOQC_OK: return "MOQC_OK";
    case MOQC_ERR_NOMEM: return "out of memory";
    case MOQC_ERR_INVAL: return "invalid argument";
    case MOQC_ERR_AGAIN: return "would block";
    case MOQC_ERR_CLOSED: return "closed";
    case MOQC_ERR_NEED_MORE: return "need more input";
    case MOQC_ERR_DECODE: return "malformed input";
    case MOQC_ERR_OVERFLOW: return "value out of range";
    case MOQC_ERR_BUFSIZE: return "buffer too small";
    case MOQC_ERR_WRONG_SIZE: return "wrong size";
    case MOQC_ERR_DUPLICATE: return "duplicate";
    case MOQC_ERR_NOT_FOUND: return "not found";
    case MOQC_ERR_UNROUTABLE: return "unroutable";
    case MOQC_ERR_LAGGED: return "lagged";
    case MOQC_ERR_OLD: return "old";
    case MOQC_ERR_EVICTED: return "evicted";
    case MOQC_ERR_CANCEL: return "cancelled";
    case MOQC_ERR_ABORTED: return "aborted";
    case MOQC_ERR_PROTOCOL: return "protocol violation";
    case MOQC_ERR_TOO_LARGE: return "too large";
    case MOQC_ERR_BOUNDS: return "bounds exceeded";
    case MOQC_ERR_TIMEOUT: return "timeout";
    case MOQC_ERR_UNSUPPORTED: return "unsupported";
    case MOQC_ERR_UNAUTHORIZED: return "unauthorized";
    case MOQC_ERR_VERSION: return "no common version";
    case MOQC_ERR_TRANSPORT: return "transport failure";
    case MOQC_ERR_TLS: return "TLS failure";
    case MOQC_ERR_IO: return "I/O failure";
    case MOQC_ERR_DROPPED: return "dropped";
    case MOQC_ERR_STATE: return "invalid state";
    case MOQC_ERR_TIMESTAMP: return "timestamp mismatch";
    case MOQC_ERR_UNEXPECTED: return "unexpected stream or message";
    default: return "unknown error";
  }
}

/* Wire codes that have a name, in one table: code, name, library error. */
typedef struct code_entry {
  uint64_t code;
  const char *name;
  int err;
} code_entry;

static const code_entry k_codes[] = {
    {MOQC_CODE_CANCEL, "Cancel", MOQC_ERR_CANCEL},
    {MOQC_CODE_REQUIRED_EXTENSION, "RequiredExtension", MOQC_ERR_UNSUPPORTED},
    {MOQC_CODE_OLD, "Old", MOQC_ERR_OLD},
    {MOQC_CODE_TIMEOUT, "Timeout", MOQC_ERR_TIMEOUT},
    {MOQC_CODE_TRANSPORT, "Transport", MOQC_ERR_TRANSPORT},
    {MOQC_CODE_DECODE, "Decode", MOQC_ERR_DECODE},
    {MOQC_CODE_UNAUTHORIZED, "Unauthorized", MOQC_ERR_UNAUTHORIZED},
    {MOQC_CODE_VERSION, "Version", MOQC_ERR_VERSION},
    {MOQC_CODE_UNEXPECTED_STREAM, "UnexpectedStream", MOQC_ERR_UNEXPECTED},
    {MOQC_CODE_BOUNDS_EXCEEDED, "BoundsExceeded", MOQC_ERR_BOUNDS},
    {MOQC_CODE_DUPLICATE, "Duplicate", MOQC_ERR_DUPLICATE},
    {MOQC_CODE_NOT_FOUND, "NotFound", MOQC_ERR_NOT_FOUND},
    {MOQC_CODE_WRONG_SIZE, "WrongSize", MOQC_ERR_WRONG_SIZE},
    {MOQC_CODE_PROTOCOL_VIOLATION, "ProtocolViolation", MOQC_ERR_PROTOCOL},
    {MOQC_CODE_UNEXPECTED_MESSAGE, "UnexpectedMessage", MOQC_ERR_UNEXPECTED},
    {MOQC_CODE_UNSUPPORTED, "Unsupported", MOQC_ERR_UNSUPPORTED},
    {MOQC_CODE_ENCODE, "Encode", MOQC_ERR_PROTOCOL},
    {MOQC_CODE_TOO_MANY_PARAMETERS, "TooManyParameters", MOQC_ERR_BOUNDS},
    {MOQC_CODE_INVALID_ROLE, "InvalidRole", MOQC_ERR_PROTOCOL},
    {MOQC_CODE_UNKNOWN_ALPN, "UnknownAlpn", MOQC_ERR_VERSION},
    {MOQC_CODE_DROPPED, "Dropped", MOQC_ERR_DROPPED},
    {MOQC_CODE_CLOSED, "Closed", MOQC_ERR_CLOSED},
    {MOQC_CODE_LAGGED, "Lagged", MOQC_ERR_LAGGED},
    {MOQC_CODE_FRAME_TOO_LARGE, "FrameTooLarge", MOQC_ERR_TOO_LARGE},
    {MOQC_CODE_TIMESTAMP_MISMATCH, "TimestampMismatch", MOQC_ERR_TIMESTAMP},
    {MOQC_CODE_UNROUTABLE, "Unroutable", MOQC_ERR_UNROUTABLE},
    {MOQC_CODE_EVICTED, "Evicted", MOQC_ERR_EVICTED},
};

/* App(n) carries a 16-bit n (moq-dev: App(u16)); larger codes are Remote. */
#define APP_CODE_LAST ((uint64_t)MOQC_CODE_APP_BASE + 0xffffu)

static const code_entry *find_code(uint64_t code) {
  for (size_t i = 0; i < sizeof k_codes / sizeof k_codes[0]; i++)
    if (k_codes[i].code == code) return &k_codes[i];
  return NULL;
}

const char *moqc_code_str(uint64_t code) {
  const code_entry *e = find_code(code);
  if (e) return e->name;
  if (code >= MOQC_CODE_APP_BASE && code <= APP_CODE_LAST) return "App";
  return "Remote";
}

int moqc_err_from_code(uint64_t code) {
  const code_entry *e = find_code(code);
  return e ? e->err : MOQC_ERR_ABORTED;
}

uint64_t moqc_code_from_err(int err) {
  switch (err) {
    case MOQC_OK:
    case MOQC_ERR_CLOSED:
    case MOQC_ERR_CANCEL: return MOQC_CODE_CANCEL;
    case MOQC_ERR_OLD: return MOQC_CODE_OLD;
    case MOQC_ERR_TIMEOUT: return MOQC_CODE_TIMEOUT;
    case MOQC_ERR_TRANSPORT: return MOQC_CODE_TRANSPORT;
    case MOQC_ERR_DECODE: return MOQC_CODE_DECODE;
    case MOQC_ERR_UNAUTHORIZED: return MOQC_CODE_UNAUTHORIZED;
    case MOQC_ERR_VERSION: return MOQC_CODE_VERSION;
    case MOQC_ERR_UNEXPECTED: return MOQC_CODE_UNEXPECTED_MESSAGE;
    case MOQC_ERR_BOUNDS: return MOQC_CODE_BOUNDS_EXCEEDED;
    case MOQC_ERR_DUPLICATE: return MOQC_CODE_DUPLICATE;
    case MOQC_ERR_NOT_FOUND: return MOQC_CODE_NOT_FOUND;
    case MOQC_ERR_WRONG_SIZE: return MOQC_CODE_WRONG_SIZE;
    case MOQC_ERR_PROTOCOL: return MOQC_CODE_PROTOCOL_VIOLATION;
    case MOQC_ERR_UNSUPPORTED: return MOQC_CODE_UNSUPPORTED;
    case MOQC_ERR_DROPPED: return MOQC_CODE_DROPPED;
    case MOQC_ERR_LAGGED: return MOQC_CODE_LAGGED;
    case MOQC_ERR_TOO_LARGE: return MOQC_CODE_FRAME_TOO_LARGE;
    case MOQC_ERR_TIMESTAMP: return MOQC_CODE_TIMESTAMP_MISMATCH;
    case MOQC_ERR_UNROUTABLE: return MOQC_CODE_UNROUTABLE;
    case MOQC_ERR_EVICTED: return MOQC_CODE_EVICTED;
    /* Malformed or out-of-range input came from the peer. */
    case MOQC_ERR_NEED_MORE:
    case MOQC_ERR_OVERFLOW: return MOQC_CODE_PROTOCOL_VIOLATION;
    /* Everything else is a local fault (NOMEM, INVAL, AGAIN, BUFSIZE, TLS, IO,
   * STATE, ABORTED without its code, unknown values). */
    default: return MOQC_CODE_TRANSPORT;
  }
}

/* ---- CONNECTION_CLOSE codes per protocol ------------------------------------------ */

/* IETF Session Termination Error Codes (drafts 14 - 19; 0x7 per draft below). */
#define IETF_NO_ERROR 0x0u
#define IETF_INTERNAL_ERROR 0x1u
#define IETF_UNAUTHORIZED 0x2u
#define IETF_PROTOCOL_VIOLATION 0x3u
#define IETF_TOO_MANY_REQUESTS 0x7u /* 14 - 16 only */
#define IETF_CONTROL_MESSAGE_TIMEOUT 0x11u
#define IETF_VERSION_NEGOTIATION_FAILED 0x15u

static const code_entry k_ietf_close[] = {
    {IETF_NO_ERROR, "NO_ERROR", MOQC_ERR_CLOSED},
    {IETF_INTERNAL_ERROR, "INTERNAL_ERROR", MOQC_ERR_TRANSPORT},
    {IETF_UNAUTHORIZED, "UNAUTHORIZED", MOQC_ERR_UNAUTHORIZED},
    {IETF_PROTOCOL_VIOLATION, "PROTOCOL_VIOLATION", MOQC_ERR_PROTOCOL},
    {0x4, "INVALID_REQUEST_ID", MOQC_ERR_PROTOCOL},
    {0x5, "DUPLICATE_TRACK_ALIAS", MOQC_ERR_DUPLICATE},
    {0x6, "KEY_VALUE_FORMATTING_ERROR", MOQC_ERR_DECODE},
    {0x8, "INVALID_PATH", MOQC_ERR_UNROUTABLE},
    {0x9, "MALFORMED_PATH", MOQC_ERR_DECODE},
    {0x10, "GOAWAY_TIMEOUT", MOQC_ERR_TIMEOUT},
    {IETF_CONTROL_MESSAGE_TIMEOUT, "CONTROL_MESSAGE_TIMEOUT", MOQC_ERR_TIMEOUT},
    {0x12, "DATA_STREAM_TIMEOUT", MOQC_ERR_TIMEOUT},
    {0x13, "AUTH_TOKEN_CACHE_OVERFLOW", MOQC_ERR_BOUNDS},
    {0x14, "DUPLICATE_AUTH_TOKEN_ALIAS", MOQC_ERR_DUPLICATE},
    {IETF_VERSION_NEGOTIATION_FAILED, "VERSION_NEGOTIATION_FAILED", MOQC_ERR_VERSION},
    {0x16, "MALFORMED_AUTH_TOKEN", MOQC_ERR_UNAUTHORIZED},
    {0x17, "UNKNOWN_AUTH_TOKEN_ALIAS", MOQC_ERR_UNAUTHORIZED},
    {0x18, "EXPIRED_AUTH_TOKEN", MOQC_ERR_UNAUTHORIZED},
    {0x19, "INVALID_AUTHORITY", MOQC_ERR_UNROUTABLE},
    {0x1A, "MALFORMED_AUTHORITY", MOQC_ERR_DECODE},
};
/* 0x7: drafts 14 - 16 TOO_MANY_REQUESTS, 17 INVALID_REQUIRED_REQUEST_ID, 18+ unassigned. */
static const code_entry k_ietf_close_7[2] = {
    {IETF_TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS", MOQC_ERR_BOUNDS},
    {0x7, "INVALID_REQUIRED_REQUEST_ID", MOQC_ERR_PROTOCOL},
};

/* Drafts 14 - 19 (core/ietf_wire.h MOQC_IETF_FIRST .. LAST; not included here:
 * error.c stays free of the codecs). */
static bool close_is_ietf(int version) { return version >= 14 && version <= 19; }

static const code_entry *find_ietf_close(int version, uint64_t code) {
  if (code == 0x7) {
    if (version <= 16) return &k_ietf_close_7[0];
    return version == 17 ? &k_ietf_close_7[1] : NULL;
  }
  for (size_t i = 0; i < sizeof k_ietf_close / sizeof k_ietf_close[0]; i++)
    if (k_ietf_close[i].code == code) return &k_ietf_close[i];
  return NULL;
}

const char *moqc_close_code_str(int version, uint64_t code) {
  if (!close_is_ietf(version)) return moqc_code_str(code);
  const code_entry *e = find_ietf_close(version, code);
  return e ? e->name : "unknown";
}

int moqc_close_code_err(int version, uint64_t code) {
  if (!close_is_ietf(version)) return moqc_err_from_code(code);
  const code_entry *e = find_ietf_close(version, code);
  return e ? e->err : MOQC_ERR_ABORTED;
}

uint64_t moqc_close_code_to_wire(int version, uint64_t code) {
  if (!close_is_ietf(version)) return code;
  switch (code) {
    case MOQC_CODE_CANCEL:
    case MOQC_CODE_CLOSED: return IETF_NO_ERROR;
    case MOQC_CODE_UNAUTHORIZED: return IETF_UNAUTHORIZED;
    case MOQC_CODE_TIMEOUT: return IETF_CONTROL_MESSAGE_TIMEOUT;
    case MOQC_CODE_VERSION:
    case MOQC_CODE_UNKNOWN_ALPN: return IETF_VERSION_NEGOTIATION_FAILED;
    case MOQC_CODE_BOUNDS_EXCEEDED:
      return version <= 16 ? IETF_TOO_MANY_REQUESTS : IETF_INTERNAL_ERROR;
    case MOQC_CODE_DECODE:
    case MOQC_CODE_UNEXPECTED_STREAM:
    case MOQC_CODE_DUPLICATE:
    case MOQC_CODE_WRONG_SIZE:
    case MOQC_CODE_PROTOCOL_VIOLATION:
    case MOQC_CODE_UNEXPECTED_MESSAGE:
    case MOQC_CODE_TOO_MANY_PARAMETERS:
    case MOQC_CODE_INVALID_ROLE:
    case MOQC_CODE_FRAME_TOO_LARGE:
    case MOQC_CODE_TIMESTAMP_MISMATCH: return IETF_PROTOCOL_VIOLATION;
    /* Local faults and what has no session code (Transport, Encode, Old,
     * NotFound, Unsupported, Dropped, Lagged, Unroutable, Evicted, App(n)). */
    default: return IETF_INTERNAL_ERROR;
  }
}
