/* moqc transport — HTTP/3 header blocks (QPACK, static table only) and the
 * WebTransport extended CONNECT request / response (internal).
 *
 * Only nghttp3's standalone QPACK encoder and decoder are used (never
 * nghttp3_conn). We advertise QPACK_MAX_TABLE_CAPACITY 0 and
 * QPACK_BLOCKED_STREAMS 0, so every header block we accept is decodable on
 * its own: a block that references the dynamic table is a
 * QPACK_DECOMPRESSION_FAILED error.
 *
 * Every size is bounded: a header block is at most MOQC_H3_MAX_HEADER_BLOCK
 * bytes (checked by the frame reader), decodes to at most
 * MOQC_H3_MAX_FIELDS fields and MOQC_H3_MAX_FIELD_BYTES bytes of names and
 * values.
 */
#ifndef MOQC_TRANSPORT_H3_QPACK_H
#define MOQC_TRANSPORT_H3_QPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "moqc/error.h"

#define MOQC_H3_MAX_FIELDS 64
#define MOQC_H3_MAX_FIELD_BYTES 65536
#define MOQC_H3_MAX_PROTOCOLS 32
#define MOQC_H3_PROTOCOL_MAX 31 /* fits moqc_transport.protocol[32] */

/* A field to encode (borrowed strings, not NUL-terminated). */
typedef struct moqc_h3_nv {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
} moqc_h3_nv;

#define MOQC_H3_NV(n, v) \
  { (n), sizeof(n) - 1, (v), sizeof(v) - 1 }

/* A decoded header list. Names and values are NUL-terminated and live in
 * one allocation owned by the list. */
typedef struct moqc_h3_field {
  const char *name;
  const char *value;
  size_t name_len;
  size_t value_len;
} moqc_h3_field;

typedef struct moqc_h3_fields {
  moqc_h3_field f[MOQC_H3_MAX_FIELDS];
  size_t n;
  char *arena; /* owned */
  size_t arena_len, arena_cap;
} moqc_h3_fields;

/* Encode a header block (prefix + field lines) with the static table and
 * literals only. Returns bytes written, MOQC_ERR_BUFSIZE or MOQC_ERR_NOMEM. */
ssize_t moqc_h3_qpack_encode(const moqc_h3_nv *nv, size_t n, uint8_t *out, size_t cap);

/* Decode a complete header block into `out` (initialised here; free it with
 * moqc_h3_fields_free even on error). Returns MOQC_OK, MOQC_ERR_DECODE
 * (QPACK decompression failed: *h3_err = QPACK_DECOMPRESSION_FAILED),
 * MOQC_ERR_TOO_LARGE (over MOQC_H3_MAX_FIELDS / MOQC_H3_MAX_FIELD_BYTES)
 * or MOQC_ERR_NOMEM. */
int moqc_h3_qpack_decode(const uint8_t *p, size_t len, moqc_h3_fields *out, uint64_t *h3_err);
void moqc_h3_fields_free(moqc_h3_fields *f);
/* First field named `name` (lower-case), or NULL. */
const moqc_h3_field *moqc_h3_fields_get(const moqc_h3_fields *f, const char *name);

/* ---- WebTransport extended CONNECT ---------------------------------------- */

typedef struct moqc_h3_connect_req {
  moqc_h3_fields fields; /* owns every string below */
  const char *authority;
  const char *path;   /* path + query */
  const char *origin; /* NULL if absent */
  bool draft02;       /* sec-webtransport-http3-draft02 present */
  size_t n_protocols;
  const char *protocols[MOQC_H3_MAX_PROTOCOLS]; /* offered, client order */
  char proto_store[MOQC_H3_MAX_PROTOCOLS][MOQC_H3_PROTOCOL_MAX + 1];
} moqc_h3_connect_req;

/* Outcome of parsing a request header block. */
typedef enum moqc_h3_req_verdict {
  MOQC_H3_REQ_OK = 0,    /* a WebTransport CONNECT */
  MOQC_H3_REQ_MALFORMED, /* stream error H3_MESSAGE_ERROR (RFC 9114 §4.1.2) */
  MOQC_H3_REQ_NOT_WT,    /* well-formed, not for us: answer `status` */
} moqc_h3_req_verdict;

/* Validate a decoded request header list as an extended CONNECT
 * (RFC 9220 + WebTransport). Takes ownership of *fields (moved into req; the
 * caller's copy is reset). On MOQC_H3_REQ_NOT_WT, *status is the status to
 * answer (404, 501). Free with moqc_h3_connect_req_free in every case. */
moqc_h3_req_verdict moqc_h3_connect_req_parse(moqc_h3_connect_req *req, moqc_h3_fields *fields,
                                              uint16_t *status);
void moqc_h3_connect_req_free(moqc_h3_connect_req *req);

/* Full HEADERS frame (frame header + block) of a CONNECT request. protocols
 * (n, preference order) go into wt-available-protocols; origin may be NULL.
 * Returns bytes written, MOQC_ERR_BUFSIZE, MOQC_ERR_INVAL (a protocol that
 * cannot be an sf-string) or MOQC_ERR_NOMEM. */
ssize_t moqc_h3_connect_req_encode(uint8_t *out, size_t cap, const char *authority,
                                   const char *path, const char *origin,
                                   const char *const *protocols, size_t n);

/* Full HEADERS frame of a response: :status, sec-webtransport-http3-draft:
 * draft02 and, if protocol != NULL, wt-protocol: "<protocol>". */
ssize_t moqc_h3_connect_resp_encode(uint8_t *out, size_t cap, uint16_t status,
                                    const char *protocol);

/* Parse a response header list: *status (100..599) and the wt-protocol
 * (protocol[0] = 0 when absent or unparsable). MOQC_OK or MOQC_ERR_DECODE
 * (malformed: no/invalid :status, request pseudo-headers, upper-case name). */
int moqc_h3_connect_resp_parse(const moqc_h3_fields *f, uint16_t *status,
                               char protocol[MOQC_H3_PROTOCOL_MAX + 1]);

#endif
