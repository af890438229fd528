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
 * The HTTP/1.1 client and server of the dev bootstrap are in moqc/http.h.
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
  const char *authority;        /* :authority ("relay.example:4443") */
  const char *path;             /* :path with query ("/anon?jwt=...") */
  const char *origin;           /* origin header, NULL if absent */
  const char *const *protocols; /* wt-available-protocols, client order */
  size_t n_protocols;
  bool draft02;       /* sec-webtransport-http3-draft02 was sent */
  const char *remote; /* the connection's peer address ("1.2.3.4:5678"), "" if unknown */
  /* The client certificate the TLS handshake verified (mutual TLS), NULL if
   * the client presented none. */
  const moqc_peer_cert *peer_cert;
  const void *priv_; /* private */
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
  const char *authority;        /* required: "host:port" */
  const char *path;             /* required: "/path?query" (starts with '/') */
  const char *origin;           /* optional origin header */
  const char *const *protocols; /* offered, preference order (copied); may be empty */
  size_t n_protocols;
  moqc_wt_client_fn cb; /* required */
  void *ctx;
  moqc_clock *clock;   /* optional: connect timeout and close linger */
  uint64_t timeout_ns; /* 0 = none (needs clock) */
} moqc_wt_client_config;

/* Start the client side on h3conn (ALPN "h3", established). Sends SETTINGS,
 * waits for the server's, sends the CONNECT and reports through cfg->cb.
 * Returns MOQC_OK (the adapter owns h3conn), MOQC_ERR_INVAL (bad argument:
 * authority/path with CR/LF/NUL, a protocol that is not printable ASCII or
 * longer than 31 bytes...) or MOQC_ERR_NOMEM (the caller still owns h3conn). */
MOQC_API int moqc_wt_client_connect(moqc_transport *h3conn, const moqc_wt_client_config *cfg);

/* One-liner form of moqc_wt_client_connect without clock or origin. */
MOQC_API int moqc_wt_client_attach(moqc_transport *h3conn, const char *authority, const char *path,
                                   const char *const *protocols, size_t n, moqc_wt_client_fn cb,
                                   void *ctx);

/* ---- error-code mapping (pure) ------------------------------------------- */

/* MoQ code -> HTTP/3 application error code (codes > 0xffffffff clamp). */
MOQC_API uint64_t moqc_wt_error_to_h3(uint64_t code);
/* HTTP/3 code -> MoQ code. Returns false if h3 is not a WebTransport code. */
MOQC_API bool moqc_wt_error_from_h3(uint64_t h3, uint64_t *code);

#ifdef __cplusplus
}
#endif
#endif
