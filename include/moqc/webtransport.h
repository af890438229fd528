/* moqc — WebTransport over HTTP/3, as an adapter over a moqc_transport.
 *
 * The adapter takes an established QUIC connection whose ALPN is "h3" (a
 * moqc_transport that passes QUIC application error codes verbatim) and
 * speaks HTTP/3 + WebTransport on it: SETTINGS, the extended CONNECT,
 * sub-protocol negotiation (wt-available-protocols / wt-protocol), stream
 * prefixes, datagram prefixes, error-code mapping and the
 * CLOSE_WEBTRANSPORT_SESSION capsule. The session it yields is itself a
 * moqc_transport:
 *   protocol     = the negotiated wt-protocol ("" if none was agreed)
 *   path         = the CONNECT :path including the query ("/anon?jwt=...")
 *   webtransport = true, is_server as the underlying connection.
 * Stream ids are the QUIC stream ids (prefixes stripped); reset and
 * stop-sending codes are MoQ codes (mapped into the HTTP/3 range on the wire:
 * h3 = 0x52e4a40fa8db + code + code/0x1e; WebTransport carries 32-bit codes,
 * larger ones are clamped to 0xffffffff).
 *
 * The adapter is sans-IO: it never touches a socket or a clock of its own
 * (an optional moqc_clock enables timeouts and a graceful close linger).
 * One WebTransport session per connection (the relay / browser case).
 *
 * Ownership: after a successful *_attach the adapter owns h3conn (it sets
 * its handler and releases it). The session transport handed to the
 * application must be released with t->ops->release(t) exactly once.
 *
 * Threading: everything belongs to the loop thread of h3conn. Callbacks run
 * from h3conn's event processing (never from inside an ops call).
 *
 * Also here: a tiny HTTP/1.1 client and server over libuv TCP for the dev
 * bootstrap (GET /certificate.sha256, /health).
 */
#ifndef MOQC_WEBTRANSPORT_H
#define MOQC_WEBTRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "moqc/clock.h"
#include "moqc/export.h"
#include "moqc/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- server -------------------------------------------------------------- */

/* A validated WebTransport CONNECT request. All strings are NUL-terminated
 * and borrowed: valid only during the on_request callback. */
typedef struct moqc_wt_request {
  const char *authority;  /* :authority ("relay.example:4443") */
  const char *path;       /* :path with query ("/anon?jwt=...") */
  const char *origin;     /* origin header, NULL if absent */
  const char *const *protocols; /* wt-available-protocols, client order */
  size_t n_protocols;
  bool draft02;           /* sec-webtransport-http3-draft02 was sent */
  const void *priv_;      /* private */
} moqc_wt_request;

/* Value of any request header (lower-case name), or NULL. Valid during the
 * on_request callback only. */
MOQC_API const char *moqc_wt_request_header(const moqc_wt_request *req, const char *name);

/* Default negotiation: the first protocol in the CLIENT's list that appears
 * in supported[0..n). Returns a pointer into req->protocols, or NULL. */
MOQC_API const char *moqc_wt_select_protocol(const moqc_wt_request *req,
                                             const char *const *supported, size_t n);

/* Decide on a request. Return 200 to accept; then *protocol (initially the
 * default selection, may be changed to any string of at most 31 printable
 * ASCII bytes, or NULL for none) is sent as wt-protocol. Return any other
 * status (401, 403, 404, 429...) to reject: the stream gets that status and
 * no session exists. */
typedef uint16_t (*moqc_wt_request_fn)(void *ctx, const moqc_wt_request *req,
                                       const char **protocol);

/* The session is established. The application now owns `session`: set its
 * handler here (moqc_transport_set_handler), release it when done. Streams
 * the peer opened early are delivered right after this returns. */
typedef void (*moqc_wt_session_fn)(void *ctx, moqc_transport *session);

/* The connection ended before a session was handed out (peer closed, HTTP/3
 * error, every request rejected...). err: MOQC_ERR_CLOSED (peer/clean close),
 * MOQC_ERR_PROTOCOL (HTTP/3 violation; h3_code is what we sent), or
 * MOQC_ERR_TRANSPORT. h3conn is already released. */
typedef void (*moqc_wt_error_fn)(void *ctx, int err, uint64_t h3_code);

typedef struct moqc_wt_server_config {
  const char *const *protocols; /* sub-protocols we support, our preference (copied) */
  size_t n_protocols;
  moqc_wt_request_fn on_request; /* optional: NULL accepts with the default selection */
  moqc_wt_session_fn on_session; /* required */
  moqc_wt_error_fn on_error;     /* optional */
  void *ctx;
  moqc_clock *clock;     /* optional: enables the graceful close linger */
  uint32_t max_sessions; /* advertised in SETTINGS; 0 = 1. Only one is served. */
} moqc_wt_server_config;

/* Run the server side on h3conn (ALPN "h3", established, is_server). The
 * config is copied. Returns MOQC_OK (the adapter owns h3conn from now on),
 * MOQC_ERR_INVAL (NULL argument, no on_session, a protocol name > 31 bytes)
 * or MOQC_ERR_NOMEM (the caller still owns h3conn). */
MOQC_API int moqc_wt_server_attach(moqc_transport *h3conn, const moqc_wt_server_config *cfg);

/* ---- client -------------------------------------------------------------- */

/* Result of a client CONNECT, called exactly once. On success session is
 * the established session (owned by the application from now on), err is
 * MOQC_OK and status the 2xx status. On failure session is NULL, h3conn is
 * already released and err is one of:
 *   MOQC_ERR_UNAUTHORIZED (401/403), MOQC_ERR_NOT_FOUND (404),
 *   MOQC_ERR_UNSUPPORTED (the server has no WebTransport, or 501),
 *   MOQC_ERR_PROTOCOL (HTTP/3 violation, or a wt-protocol we did not offer),
 *   MOQC_ERR_TIMEOUT, MOQC_ERR_CLOSED (connection closed first),
 *   MOQC_ERR_TRANSPORT (any other status; `status` tells which). */
typedef void (*moqc_wt_client_fn)(void *ctx, moqc_transport *session, int err, uint16_t status);

typedef struct moqc_wt_client_config {
  const char *authority; /* required: "host:port" */
  const char *path;      /* required: "/path?query" (starts with '/') */
  const char *origin;    /* optional origin header */
  const char *const *protocols; /* offered, preference order (copied); may be empty */
  size_t n_protocols;
  moqc_wt_client_fn cb;  /* required */
  void *ctx;
  moqc_clock *clock;     /* optional: connect timeout and close linger */
  uint64_t timeout_ns;   /* 0 = none (needs clock) */
} moqc_wt_client_config;

/* Start the client side on h3conn (ALPN "h3", established). Sends SETTINGS,
 * waits for the server's, sends the CONNECT and reports through cfg->cb.
 * Returns MOQC_OK (the adapter owns h3conn), MOQC_ERR_INVAL (bad argument:
 * authority/path with CR/LF/NUL, a protocol that is not printable ASCII or
 * longer than 31 bytes...) or MOQC_ERR_NOMEM (the caller still owns h3conn). */
MOQC_API int moqc_wt_client_connect(moqc_transport *h3conn, const moqc_wt_client_config *cfg);

/* One-liner form of moqc_wt_client_connect without clock or origin. */
MOQC_API int moqc_wt_client_attach(moqc_transport *h3conn, const char *authority,
                                   const char *path, const char *const *protocols, size_t n,
                                   moqc_wt_client_fn cb, void *ctx);

/* ---- error-code mapping (pure) ------------------------------------------- */

/* MoQ code -> HTTP/3 application error code (codes > 0xffffffff clamp). */
MOQC_API uint64_t moqc_wt_error_to_h3(uint64_t code);
/* HTTP/3 code -> MoQ code. Returns false if h3 is not a WebTransport code. */
MOQC_API bool moqc_wt_error_from_h3(uint64_t h3, uint64_t *code);

/* ---- HTTP/1.1 over TCP (libuv): dev bootstrap ----------------------------- */

struct uv_loop_s;

typedef struct moqc_http_server moqc_http_server;

/* A parsed request, borrowed for the duration of the route callback. */
typedef struct moqc_http_request {
  const char *method; /* "GET" */
  const char *path;   /* "/certificate.sha256" (without query) */
  const char *query;  /* text after '?', NULL if none */
  const char *host;   /* Host header, NULL if absent */
} moqc_http_request;

/* The route callback fills this. body is copied after the callback returns
 * (it must stay valid until then). Defaults: 404, "text/plain", empty. Or
 * the callback defers the answer (moqc_http_response_defer) and finishes it
 * later; then the fields are ignored. */
typedef struct moqc_http_response {
  uint16_t status;
  const char *content_type;
  const void *body;
  size_t body_len;
  void *server_private; /* set by the server: leave it alone */
} moqc_http_response;

/* A response the route callback deferred. */
typedef struct moqc_http_pending moqc_http_pending;

/* The connection of a deferred response closed before it was finished: the
 * client went away (EOF or reset), a socket error, or moqc_http_server_del.
 * Runs at most once, from libuv processing or from inside
 * moqc_http_server_del; p is freed when it returns (do not finish it). */
typedef void (*moqc_http_gone_fn)(void *arg, moqc_http_pending *p);

/* Only from inside the route callback: answer this request later with
 * moqc_http_pending_finish. Until then the connection handles no further
 * request (pipelined ones wait), its idle timeout is suspended (the
 * application bounds the wait), and a client closing its side of the
 * connection counts as gone. gone is required. The request is still borrowed:
 * copy what is needed later. Returns NULL (out of memory, bad argument, already
 * deferred): answer through resp as usual. */
MOQC_API moqc_http_pending *moqc_http_response_defer(moqc_http_response *resp,
                                                     moqc_http_gone_fn gone, void *arg);
/* Send the deferred response (body copied; NULL content_type = "text/plain";
 * a status outside 100..599 becomes 500) and free p. May be called from inside
 * the route callback that deferred it. MOQC_OK, or MOQC_ERR_INVAL for NULL. */
MOQC_API int moqc_http_pending_finish(moqc_http_pending *p, uint16_t status,
                                      const char *content_type, const void *body, size_t len);

typedef void (*moqc_http_route_fn)(void *ctx, const moqc_http_request *req,
                                   moqc_http_response *resp);

typedef struct moqc_http_server_config {
  moqc_http_route_fn route; /* required */
  void *ctx;
  size_t max_connections;   /* 0 = 64; beyond that new connections are closed */
  size_t max_request_bytes; /* request line + headers; 0 = 8192 (431 beyond) */
  uint64_t idle_timeout_ms; /* 0 = 10000 */
  bool keep_alive;          /* serve several requests per connection */
  bool cors;                /* add Access-Control-Allow-Origin: * (browsers fetch
                               /certificate.sha256 cross-origin) */
} moqc_http_server_config;

/* New server on loop (config copied). MOQC_OK, MOQC_ERR_INVAL, MOQC_ERR_NOMEM. */
MOQC_API int moqc_http_server_new(struct uv_loop_s *loop, const moqc_http_server_config *cfg,
                                  moqc_http_server **out);
/* Listen on host:port (IPv4 or IPv6 literal, "::" is dual-stack; port 0 picks
 * one). May be called several times. MOQC_OK, MOQC_ERR_INVAL (bad address),
 * MOQC_ERR_IO (bind/listen failed), MOQC_ERR_NOMEM. */
MOQC_API int moqc_http_server_listen(moqc_http_server *s, const char *host, uint16_t port);
/* Port of the most recent listener (useful with port 0), 0 if none. */
MOQC_API uint16_t moqc_http_server_port(const moqc_http_server *s);
/* Stop: closes listeners and connections; memory is freed from libuv close
 * callbacks, so run the loop afterwards. NULL is a no-op. */
MOQC_API void moqc_http_server_del(moqc_http_server *s);

/* Result of an HTTP GET: err MOQC_OK with the status and body (borrowed,
 * during the call), or MOQC_ERR_TIMEOUT / MOQC_ERR_IO (resolve, connect,
 * reset) / MOQC_ERR_DECODE (malformed response) / MOQC_ERR_TOO_LARGE. */
typedef void (*moqc_http_get_fn)(void *ctx, int err, uint16_t status, const uint8_t *body,
                                 size_t len);

/* GET http://host:port<path> (HTTP/1.1, Connection: close). The body is
 * limited to 64 KiB. cb is called exactly once, from the loop (never from
 * inside this call). Returns MOQC_OK, MOQC_ERR_INVAL, MOQC_ERR_NOMEM. */
MOQC_API int moqc_http_get(struct uv_loop_s *loop, const char *host, uint16_t port,
                           const char *path, uint64_t timeout_ms, moqc_http_get_fn cb,
                           void *ctx);

/* Result of the certificate bootstrap: hex is the lower-case hex SHA-256 (64
 * chars + NUL) and sha256 the raw digest. err as moqc_http_get, plus
 * MOQC_ERR_DECODE when the body is not 64 hex digits (surrounding whitespace
 * allowed) and MOQC_ERR_NOT_FOUND for a non-200 status. */
typedef void (*moqc_http_cert_fn)(void *ctx, int err, const char *hex, const uint8_t *sha256);

/* GET http://host:port/certificate.sha256 and validate the body. */
MOQC_API int moqc_http_fetch_cert_hash(struct uv_loop_s *loop, const char *host, uint16_t port,
                                       uint64_t timeout_ms, moqc_http_cert_fn cb, void *ctx);

/* Parse a hex SHA-256 (64 hex digits, either case, surrounding ASCII
 * whitespace allowed) into out[32] and lower-case hex[65]. MOQC_OK or
 * MOQC_ERR_DECODE. Pure. */
MOQC_API int moqc_http_parse_cert_hash(const char *body, size_t len, uint8_t out[32],
                                       char hex[65]);

#ifdef __cplusplus
}
#endif
#endif
