/* moqc — a tiny HTTP/1.1 server and client over libuv TCP, for the dev
 * bootstrap: the relay serves GET /certificate.sha256 and /health, and a
 * client fetches the certificate hash before it dials QUIC or WebTransport
 * with that hash pinned.
 *
 * Just enough HTTP/1.1 for that; not a general-purpose HTTP stack. TLS comes
 * from outside through moqc_http_tls_ops (the server peeks at the first byte,
 * so one port serves http:// and https://).
 *
 * Threading: every object belongs to the libuv loop it was created on; call
 * everything from that loop's thread. Callbacks run from libuv processing.
 */
#ifndef MOQC_HTTP_H
#define MOQC_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "moqc/buf.h"
#include "moqc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

struct uv_loop_s;

typedef struct moqc_http_server moqc_http_server;

/* A TLS byte layer (HTTPS, wss://) for the server and the upgrade client,
 * sans-IO: one object per connection, created by server_new (server side) or
 * by the caller (client side). The library's, over GnuTLS and the QUIC
 * certificate, is moqc_tls_http_ops() (include/moqc/endpoint.h).
 *   feed   received bytes; MOQC_OK or an error (the connection is closed)
 *   read   plaintext: > 0 bytes, MOQC_ERR_AGAIN (nothing yet), MOQC_ERR_CLOSED
 *          (the peer's close_notify), another error (closed)
 *   write  plaintext to send (copied); MOQC_OK or an error
 *   take   what to put on the wire now, moved to the caller (freed with the
 *          library's allocator), NULL if nothing
 *   bye    queue our close_notify (optional)
 *   error  why it failed, "" if it did not */
typedef struct moqc_http_tls_ops {
  void *(*server_new)(void *ctx); /* NULL on failure; unused on the client side */
  void (*del)(void *t);
  int (*feed)(void *t, const uint8_t *p, size_t n);
  ptrdiff_t (*read)(void *t, uint8_t *dst, size_t cap);
  int (*write)(void *t, const uint8_t *p, size_t n);
  uint8_t *(*take)(void *t, size_t *n);
  void (*bye)(void *t);
  const char *(*error)(const void *t);
} moqc_http_tls_ops;

/* A parsed request, borrowed for the duration of the route callback. */
typedef struct moqc_http_request {
  const char *method; /* "GET" */
  const char *path;   /* "/certificate.sha256" (without query) */
  const char *query;  /* text after '?', NULL if none */
  const char *host;   /* Host header, NULL if absent */
  /* WebSocket upgrade fields (RFC 6455 §4.2.1): websocket is true when the
   * request asks for one (Upgrade: websocket and Connection: upgrade); the
   * Sec-WebSocket-* values as sent, NULL if absent. */
  bool websocket;
  const char *ws_key;
  const char *ws_version;
  const char *ws_protocol; /* several fields joined with ", " */
  const char *remote;      /* peer "1.2.3.4:5678" or "[::1]:5678" (IPv4-mapped shown as
                         IPv4); "" if unknown */
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

/* A connection the route callback switched to another protocol (101): a raw
 * byte pipe. Owned by the server; valid until its `closed` callback returns or
 * moqc_http_upgraded_close is called. */
typedef struct moqc_http_upgraded moqc_http_upgraded;

typedef struct moqc_http_upgrade_cbs {
  /* Bytes after the request head (borrowed, during the call). */
  void (*data)(void *arg, const uint8_t *p, size_t n);
  /* Every queued write reached the socket. Optional. */
  void (*drained)(void *arg);
  /* The peer closed, the socket failed, or moqc_http_server_del: u is freed
   * when this returns. Not called after moqc_http_upgraded_close. */
  void (*closed)(void *arg);
} moqc_http_upgrade_cbs;

/* Only from inside the route callback: answer "101 Switching Protocols" with
 * extra_headers (complete "Name: value\r\n" lines, copied) and hand the
 * connection over to cbs (arg passed back). Bytes the client already sent
 * after the head are delivered through cbs->data after the route callback
 * returns. The idle timeout, the head deadline and eviction no longer apply
 * (the protocol keeps itself alive); it still counts towards the server's
 * connection caps. Returns NULL (bad arguments, out of memory, already
 * answered): answer through resp as usual. */
MOQC_API moqc_http_upgraded *moqc_http_response_upgrade(moqc_http_response *resp,
                                                        const char *extra_headers,
                                                        const moqc_http_upgrade_cbs *cbs,
                                                        void *arg);
/* Queue bytes for the socket (copied). MOQC_OK, MOQC_ERR_NOMEM, MOQC_ERR_CLOSED. */
MOQC_API int moqc_http_upgraded_write(moqc_http_upgraded *u, const uint8_t *p, size_t n);
/* Bytes queued and not yet written to the socket. */
MOQC_API size_t moqc_http_upgraded_pending(const moqc_http_upgraded *u);
/* Close once queued bytes are written: then our FIN goes out and what the
 * peer still sends is read and dropped until its EOF (a lingering close, so
 * the kernel does not answer unread bytes with a reset that would lose our
 * last bytes, such as a WebSocket close frame); 2 s bound the whole. No
 * callback follows; u must not be used again. */
MOQC_API void moqc_http_upgraded_close(moqc_http_upgraded *u);
/* The peer's address, "" if unknown ("127.0.0.1:5000", "[::1]:5000"; as
 * moqc_http_request.remote). */
MOQC_API const char *moqc_http_upgraded_remote(const moqc_http_upgraded *u);
/* Send the deferred response with a body made of n slices, written by
 * reference (no copy): the bytes are those of the slices' bufs, which stay
 * referenced until the kernel took them. The slices' references MOVE to the
 * server (each parts[i] is left empty); the array stays the caller's.
 * Content-Length is their total. Frees p. Out of memory closes the
 * connection instead (gone is not called). MOQC_OK, or MOQC_ERR_INVAL (NULL
 * p, or parts NULL with n > 0: nothing is taken). */
MOQC_API int moqc_http_pending_finish_slices(moqc_http_pending *p, uint16_t status,
                                             const char *content_type, moqc_slice *parts, size_t n);

typedef void (*moqc_http_route_fn)(void *ctx, const moqc_http_request *req,
                                   moqc_http_response *resp);

typedef struct moqc_http_server_config {
  moqc_http_route_fn route; /* required */
  void *ctx;
  /* Connections in all; 0 = 1024. When full, the connection that has waited
   * longest for its next request (none being answered) is closed to make room;
   * if every connection is being answered, the new one is closed at once.
   * Upgraded (101) connections (moqc_http_response_upgrade) do not count
   * against this cap (their protocol bounds them: the relay's session limits)
   * and are never closed to make room. */
  size_t max_connections;
  /* Connections per peer IP address; 0 = 16. Over it, a new connection is
   * accepted and closed at once (the client sees the connection close or
   * reset before any response). Upgraded connections count: this also bounds
   * the WebSocket sessions one address holds. */
  size_t max_connections_per_addr;
  size_t max_request_bytes; /* request line + headers; 0 = 8192 (431 beyond) */
  /* A connection waiting for a request with nothing received is closed after
   * this; 0 = 10000. */
  uint64_t idle_timeout_ms;
  /* A request head (and its body, dropped) must be complete this long after
   * its first byte, however slowly it trickles in; else the connection is
   * closed without a response. 0 = 5000. */
  uint64_t head_timeout_ms;
  /* TLS on the same port (optional): a connection whose first byte is 0x16
   * (a TLS handshake record) is served over tls->server_new(tls_ctx), every
   * other one as plain HTTP. The same limits apply to both; the TLS handshake
   * counts as part of the first request head (head_timeout_ms from its first
   * byte). tls (static) and tls_ctx must outlive the server. */
  const moqc_http_tls_ops *tls;
  void *tls_ctx;
  bool keep_alive; /* serve several requests per connection */
  bool cors;       /* add Access-Control-Allow-Origin: * (browsers fetch
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
/* Connections closed by the limits so far (over the per-address cap, or
 * evicted / refused when full). 0 for NULL. */
MOQC_API uint64_t moqc_http_server_limited(const moqc_http_server *s);
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
                           const char *path, uint64_t timeout_ms, moqc_http_get_fn cb, void *ctx);

/* Result of the certificate bootstrap: hex is the lower-case hex SHA-256 (64
 * chars + NUL) and sha256 the raw digest. err as moqc_http_get, plus
 * MOQC_ERR_DECODE when the body is not 64 hex digits (surrounding whitespace
 * allowed) and MOQC_ERR_NOT_FOUND for a non-200 status. */
typedef void (*moqc_http_cert_fn)(void *ctx, int err, const char *hex, const uint8_t *sha256);

/* GET http://host:port/certificate.sha256 and validate the body. */
MOQC_API int moqc_http_fetch_cert_hash(struct uv_loop_s *loop, const char *host, uint16_t port,
                                       uint64_t timeout_ms, moqc_http_cert_fn cb, void *ctx);

/* ---- client side of an upgrade (WebSocket clients) -------------------------------- */

/* A client connection that asked to switch protocols: while dialing, then
 * (after a 101) a raw byte pipe. Owned by the caller until
 * moqc_http_upconn_close or its `closed` callback. */
typedef struct moqc_http_upconn moqc_http_upconn;

/* The answer to the upgrade request (fields borrowed, during the call). */
typedef struct moqc_http_upgrade_resp {
  uint16_t status;         /* 101 when switched */
  bool upgrade_websocket;  /* Upgrade: websocket */
  bool conn_upgrade;       /* Connection: upgrade */
  const char *ws_accept;   /* Sec-WebSocket-Accept ("" if absent) */
  const char *ws_protocol; /* Sec-WebSocket-Protocol ("" if absent) */
} moqc_http_upgrade_resp;

/* The head of the answer arrived (err MOQC_OK, resp set), or the attempt
 * failed: MOQC_ERR_TIMEOUT, MOQC_ERR_IO (resolve, connect, reset),
 * MOQC_ERR_DECODE (malformed answer), MOQC_ERR_TOO_LARGE (head over 16 KiB),
 * MOQC_ERR_UNSUPPORTED (an answer other than 101; resp set). Called exactly once,
 * from the loop. Unless err is MOQC_OK and resp->status is 101, u is freed when
 * this returns. After a 101, the caller either keeps u (bytes that followed the
 * head arrive through cbs->data after this returns) or closes it. */
typedef void (*moqc_http_upgrade_fn)(void *arg, moqc_http_upconn *u, int err,
                                     const moqc_http_upgrade_resp *resp);

typedef struct moqc_http_upgrade_config {
  const char *host; /* name or address; "[::1]" allowed */
  uint16_t port;
  const char *target;        /* "/path?query"; must start with '/' */
  const char *extra_headers; /* complete "Name: value\r\n" lines (copied) */
  uint64_t timeout_ms;       /* until the head of the answer; 0 = 10 s */
  /* TLS (wss://): ops and a client-side object made for host, owned by the
   * connection from the call on, whatever it returns. NULL = plain TCP. A TLS
   * failure reports MOQC_ERR_TLS (moqc_http_upconn_error says why). */
  const moqc_http_tls_ops *tls;
  void *tls_conn;
} moqc_http_upgrade_config;

/* GET target with extra_headers (Host is added) on a new TCP connection to
 * host:port (every resolved address in turn). on_head reports the answer; cbs
 * (data required; drained, closed optional) then carry the switched
 * connection. MOQC_OK with *out set, MOQC_ERR_INVAL, MOQC_ERR_NOMEM,
 * MOQC_ERR_IO. Loop thread only. */
MOQC_API int moqc_http_upgrade_connect(struct uv_loop_s *loop, const moqc_http_upgrade_config *cfg,
                                       moqc_http_upgrade_fn on_head,
                                       const moqc_http_upgrade_cbs *cbs, void *arg,
                                       moqc_http_upconn **out);
/* Queue bytes (copied) after the 101. MOQC_OK, MOQC_ERR_NOMEM, MOQC_ERR_CLOSED
 * (closed, not switched, or the socket failed). */
MOQC_API int moqc_http_upconn_write(moqc_http_upconn *u, const uint8_t *p, size_t n);
/* Bytes queued and not yet written to the socket. */
MOQC_API size_t moqc_http_upconn_pending(const moqc_http_upconn *u);
/* Cancel the attempt or close once queued bytes are written (bounded by a
 * short timeout). No callback follows; u must not be used again. */
MOQC_API void moqc_http_upconn_close(moqc_http_upconn *u);
/* Why a TLS connection failed ("" if it did not, or no TLS). */
MOQC_API const char *moqc_http_upconn_error(const moqc_http_upconn *u);
/* The server's address ("127.0.0.1:443"), "" before connecting. */
MOQC_API const char *moqc_http_upconn_remote(const moqc_http_upconn *u);

/* Parse a hex SHA-256 (64 hex digits, either case, surrounding ASCII
 * whitespace allowed) into out[32] and lower-case hex[65]. MOQC_OK or
 * MOQC_ERR_DECODE. Pure. */
MOQC_API int moqc_http_parse_cert_hash(const char *body, size_t len, uint8_t out[32], char hex[65]);

#ifdef __cplusplus
}
#endif
#endif
