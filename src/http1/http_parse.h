/* moqc transport — a minimal HTTP/1.1 message parser (internal, pure).
 *
 * Enough for the dev bootstrap (GET /certificate.sha256, /health): request
 * heads for the embedded server, response heads and bodies for the client.
 * Cursor style: functions take (p, len) and return the bytes consumed or a
 * negative moqc_err; nothing allocates, nothing is kept. Line ends may be
 * CRLF or a bare LF (RFC 9112 §2.2). Every size is bounded.
 */
#ifndef MOQC_TRANSPORT_HTTP_PARSE_H
#define MOQC_TRANSPORT_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "moqc/error.h"

#define MOQC_HTTP_METHOD_MAX 16
#define MOQC_HTTP_TARGET_MAX 2048
#define MOQC_HTTP_HOST_MAX 256
#define MOQC_HTTP_MAX_HEADERS 64

typedef struct moqc_http1_req {
  char method[MOQC_HTTP_METHOD_MAX];
  char path[MOQC_HTTP_TARGET_MAX];  /* target up to '?' */
  char query[MOQC_HTTP_TARGET_MAX]; /* after '?' */
  bool has_query;
  char host[MOQC_HTTP_HOST_MAX];
  bool has_host;
  int minor;               /* HTTP/1.<minor> */
  uint64_t content_length; /* 0 if absent */
  bool keep_alive;         /* per version default and Connection header */
  /* WebSocket upgrade (RFC 6455 §4.2.1): Upgrade has the token "websocket" and
   * Connection the token "upgrade"; the Sec-WebSocket-* fields as sent
   * (several Sec-WebSocket-Protocol fields are joined with ", "). */
  bool upgrade_websocket;
  bool conn_upgrade;
  char ws_key[64];
  char ws_version[8];
  char ws_protocol[2048]; /* 3 qmux drafts x every moq version, as moqc and @moq/net offer */
} moqc_http1_req;

/* Parse a request head (request line + header fields + empty line) from
 * p[0..len). Returns the head length (the body, if any, follows), or
 *   MOQC_ERR_NEED_MORE  no complete head yet (and len <= max);
 *   MOQC_ERR_TOO_LARGE  the head is longer than max bytes  (answer 431);
 *   MOQC_ERR_DECODE     malformed: bad request line, bad field, obsolete
 *                       line folding, conflicting Content-Length, more than
 *                       MOQC_HTTP_MAX_HEADERS fields, Transfer-Encoding
 *                       (we accept no chunked bodies)        (answer 400);
 *   MOQC_ERR_VERSION    not HTTP/1.x                         (answer 505). */
ssize_t moqc_http1_parse_request(moqc_http1_req *r, const uint8_t *p, size_t len, size_t max);

typedef struct moqc_http1_resp {
  uint16_t status;
  int64_t content_length; /* -1 if absent */
  bool chunked;
  /* A WebSocket handshake answer (RFC 6455 §4.2.2), as for requests. */
  bool upgrade_websocket;
  bool conn_upgrade;
  char ws_accept[64];
  char ws_protocol[128];
} moqc_http1_resp;

/* Parse a response head. Same returns (no VERSION: any HTTP/1.x accepted,
 * other versions are DECODE). */
ssize_t moqc_http1_parse_response(moqc_http1_resp *r, const uint8_t *p, size_t len, size_t max);

/* Decode a chunked body in place from p[0..len) into out[0..cap). Returns the
 * bytes of p consumed (through the last chunk and trailers) with *out_len
 * set, MOQC_ERR_NEED_MORE, MOQC_ERR_DECODE, or MOQC_ERR_TOO_LARGE (body over
 * cap). */
ssize_t moqc_http1_dechunk(const uint8_t *p, size_t len, uint8_t *out, size_t cap, size_t *out_len);

/* Reason phrase for a status ("OK", "Not Found"...); never NULL. */
const char *moqc_http_reason(uint16_t status);

#endif
