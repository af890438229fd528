/* moqc — MoQ client and server builders (runtime layer).
 *
 * These bind the pieces together on a libuv loop:
 *   URL / UDP socket -> QUIC (quic.h) -> [WebTransport (webtransport.h)]
 *   -> moq-lite session (session.h) -> origins (model.h).
 *
 * Server: one UDP port serves raw QUIC (ALPN moq-lite-05/04/03) and
 * WebTransport (ALPN h3, sub-protocol moq-lite-0x from wt-available-protocols)
 * at once. For every client the application sees a moqc_server_request (path,
 * role, peer origin, version) and accepts it with the origins the session
 * should use, or rejects it.
 *
 * Client: a URL picks the transport:
 *   https://host[:port]/path   WebTransport (port default 443)
 *   http://host:port/path      development: GET /certificate.sha256 over TCP
 *                              first, then WebTransport pinning that hash
 *   moqt://host[:port]/path    raw QUIC (moq-lite ALPNs); the path travels in
 *   moql://host[:port]/path    the lite-05 SETUP (lite-03/04 cannot carry it)
 *   ws://host[:port]/path      QMux over WebSocket (TCP, port default 80)
 *   wss://host[:port]/path     the same over TLS (port default 443), the
 *                              certificate verified as for QUIC
 * https:// and http:// also race WebSocket (wss:// / ws://, the same host and
 * port on TCP) after a head start, unless websocket_disabled (docs/websocket.md).
 *
 * Threading: everything runs on the moqc_uv's loop thread; callbacks come
 * from libuv processing and may call any moqc function, including deleting
 * the object whose callback is running (deferred where needed).
 */
#ifndef MOQC_ENDPOINT_H
#define MOQC_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "moqc/export.h"
#include "moqc/http.h"
#include "moqc/model.h"
#include "moqc/quic.h"
#include "moqc/runtime.h"
#include "moqc/session.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The moq-lite versions we offer, most preferred first, as ALPN ids. */
MOQC_API const char *const *moqc_default_versions(size_t *n);
/* True if alpn is a version we speak ("moq-lite-03/04/05"). */
MOQC_API bool moqc_version_supported(const char *alpn);

/* ---- URL ------------------------------------------------------------------ */

typedef enum moqc_url_kind {
  MOQC_URL_WEBTRANSPORT = 1, /* https:// */
  MOQC_URL_HTTP_BOOTSTRAP,   /* http://: fetch /certificate.sha256, then WebTransport */
  MOQC_URL_QUIC,             /* moqt:// or moql:// */
  MOQC_URL_WEBSOCKET,        /* ws://: QMux over WebSocket (TCP, no TLS) */
  MOQC_URL_WEBSOCKET_TLS,    /* wss://: QMux over WebSocket over TLS */
} moqc_url_kind;

typedef struct moqc_url {
  moqc_url_kind kind;
  char host[256]; /* without brackets for IPv6 literals */
  uint16_t port;
  char path[2048]; /* "/path?query" ("/" when absent) */
} moqc_url;

/* Parse a URL. MOQC_OK, or MOQC_ERR_INVAL with a message in err (if given):
 * unknown scheme, missing host, bad port, over-long parts, control chars. */
MOQC_API int moqc_url_parse(const char *url, moqc_url *out, char *err, size_t err_cap);

/* ---- server --------------------------------------------------------------- */

typedef struct moqc_server moqc_server;
typedef struct moqc_server_request moqc_server_request;

/* What the application sees before accepting a client. Borrowed, valid until
 * accepted or rejected. */
struct moqc_server_request {
  moqc_session *session;
  int version;          /* MOQC_SESSION_LITE_0x */
  const char *protocol; /* "moq-lite-04" */
  bool webtransport;
  bool websocket;   /* QMux over a WebSocket on the HTTP port (moqc_server_ws_upgrade) */
  const char *path; /* URL path + query, or the lite-05 SETUP Path */
  moqc_session_role role;
  uint64_t peer_origin;
  const char *remote;     /* peer UDP address: "127.0.0.1:5000", "[::1]:5000" (an
                                IPv4-mapped address shown as IPv4); "" if unknown */
  const char *auth_token; /* IETF AUTHORIZATION TOKEN setup parameter (use it as
                                 a ?jwt=), AUTHORITY, implementation name; NULL if */
  const char *authority;  /* absent. Valid until accepted or rejected. */
  const char *implementation;
  /* The client certificate verified in the QUIC handshake (raw QUIC and
   * WebTransport; moqc_server_config.client_ca_files), NULL if none. Valid
   * until accepted or rejected. */
  const moqc_peer_cert *peer_cert;
};

/* A WebTransport CONNECT or WebSocket upgrade, for moqc_server_config's
 * on_connect. Everything is borrowed for the callback's duration. */
typedef struct moqc_server_connect {
  const char *path;                /* the request path with its query */
  const char *transport;           /* "WebTransport" or "WebSocket" */
  const char *remote;              /* peer address ("1.2.3.4:5678"), "" if unknown */
  const moqc_peer_cert *peer_cert; /* verified client certificate (mTLS), NULL if none */
} moqc_server_connect;

typedef struct moqc_server_config {
  moqc_uv *uv;      /* required */
  const char *host; /* bind address; NULL = "::" (dual-stack) */
  uint16_t port;    /* 0 = ephemeral */
  moqc_cert *cert;  /* required (referenced) */
  /* Optional mutual TLS on QUIC and WebTransport: PEM files of the roots
   * trusted for client certificates, as moqc_quic_server_config's (a verified
   * one is moqc_server_request.peer_cert). Read in moqc_server_new. */
  const char *const *client_ca_files;
  size_t n_client_ca_files;
  const char *const *versions; /* NULL = moqc_default_versions() */
  size_t n_versions;
  moqc_quic_limits limits;
  moqc_session_limits session_limits;
  uint64_t origin_id; /* our hop id for sessions (0 = none) */
  /* A session whose MoQ SETUP exchange has not completed this long after its
   * transport came up (raw QUIC: the handshake; WebTransport: the CONNECT) is
   * closed with MOQC_CODE_TIMEOUT, "setup timeout". 0 = 10000. */
  uint64_t setup_timeout_ms;
  /* Optional: vet a WebTransport CONNECT or a WebSocket upgrade before any
   * session exists. Return 200 to continue or an HTTP status (401/403/404) to
   * refuse: the client sees the status and never has a session to lose.
   * (Raw QUIC has no such request: on_request decides there.) */
  uint16_t (*on_connect)(void *ctx, const moqc_server_connect *req);
  /* Required: call moqc_server_accept(_ud) or moqc_server_reject (now or later). */
  void (*on_request)(void *ctx, moqc_server_request *req);
  /* Optional: a session ended; it is freed after this returns. session_ud is
   * what moqc_server_accept_ud attached (NULL if it was never accepted). */
  void (*on_closed)(void *ctx, moqc_session *s, void *session_ud, uint64_t code, const char *reason,
                    bool by_peer);
  /* Optional: a session's debug diagnostics (moqc_session_config.on_debug). */
  void (*on_debug)(void *ctx, moqc_session *s, void *session_ud, const char *msg);
  void *ctx;
  /* Optional: library diagnostics (the QUIC layer's trace, include/moqc/log.h). */
  moqc_logger log;
} moqc_server_config;

/* Bind and serve. MOQC_OK, MOQC_ERR_INVAL, MOQC_ERR_IO (e.g. port in use; msg
 * says which), MOQC_ERR_TLS (unreadable client_ca_files), MOQC_ERR_NOMEM. */
MOQC_API int moqc_server_new(const moqc_server_config *cfg, moqc_server **out, char *msg,
                             size_t msg_cap);
MOQC_API uint16_t moqc_server_port(const moqc_server *s);
/* Sessions alive right now. */
MOQC_API size_t moqc_server_sessions(const moqc_server *s);
/* The QUIC server underneath (owned by s): for its counters, e.g.
 * moqc_quic_server_retry_stats. */
MOQC_API const moqc_quic_server *moqc_server_quic(const moqc_server *s);
/* Accept: the session publishes `publish` and fills `subscribe` (either may be
 * NULL; both referenced). */
MOQC_API int moqc_server_accept(moqc_server_request *req, moqc_origin *publish,
                                moqc_origin *subscribe);
/* Accept and attach per-session user data: on_closed and on_debug get it back
 * for this session (no lookup by session pointer needed), as does
 * moqc_server_session_ud. The server never dereferences it; the application
 * owns it and may free it in on_closed. On failure nothing is attached.
 * Returns what moqc_server_accept returns. */
MOQC_API int moqc_server_accept_ud(moqc_server_request *req, moqc_origin *publish,
                                   moqc_origin *subscribe, void *session_ud);
/* The user data attached to s by moqc_server_accept_ud, NULL if none or if s
 * is not a live session of srv. Linear in the number of sessions. */
MOQC_API void *moqc_server_session_ud(const moqc_server *srv, const moqc_session *s);
MOQC_API int moqc_server_reject(moqc_server_request *req, uint64_t code, const char *reason);
/* Close every session with code/reason (e.g. on SIGTERM); the server keeps
 * its socket until deleted. */
MOQC_API void moqc_server_close_all(moqc_server *s, uint64_t code, const char *reason);
/* Stop and free (handles close asynchronously: keep running the loop). */
MOQC_API void moqc_server_del(moqc_server *s);
/* From an HTTP route callback (moqc_http_server on the same loop): if req asks
 * for a WebSocket, answer it and return true: a QMux session (docs/websocket.md)
 * on 101, or 400 (bad handshake, only unknown sub-protocols offered), or the
 * on_connect verdict for the path. Returns false for any other request (route
 * it as usual). The session is the server's like a WebTransport one; its path
 * is the request path + query. Delete the HTTP server before the moqc_server. */
MOQC_API bool moqc_server_ws_upgrade(moqc_server *s, const moqc_http_request *req,
                                     moqc_http_response *resp);

/* The library's TLS layer for moqc_http_server_config.tls (HTTPS and wss://
 * on the HTTP port, beside plain HTTP): GnuTLS with the certificate passed as
 * tls_ctx (a moqc_cert *, the same as QUIC's; the caller keeps it alive as
 * long as the HTTP server). TLS 1.2 and 1.3, ALPN http/1.1. Static. */
MOQC_API const moqc_http_tls_ops *moqc_tls_http_ops(void);

/* ---- client --------------------------------------------------------------- */

typedef struct moqc_client moqc_client;

/* The WebSocket attempt's head start for QUIC, as moq-native's
 * --websocket-delay default (@moq/net waits 500 ms). */
#define MOQC_WEBSOCKET_DELAY_MS 200

typedef struct moqc_client_config {
  moqc_uv *uv;                 /* required */
  const char *url;             /* required */
  moqc_quic_tls_client tls;    /* verification on by default */
  const char *const *versions; /* offered, preference order; NULL = default */
  size_t n_versions;
  moqc_origin *publish;   /* optional */
  moqc_origin *subscribe; /* optional */
  moqc_quic_limits limits;
  moqc_session_limits session_limits;
  uint64_t origin_id;  /* 0 = the publish/subscribe origin's id */
  uint64_t timeout_ms; /* whole connect, 0 = 10000 */
  /* https:// and http:// URLs: no WebSocket fallback (moq-dev's
   * websocket.enabled = false). Otherwise WebSocket (https -> wss, http -> ws,
   * the same host and port) starts websocket_delay_ms after QUIC (at once if
   * QUIC fails first) and the first transport to come up carries the session;
   * the other attempt is cancelled or closed with Cancel. */
  bool websocket_disabled;
  uint64_t websocket_delay_ms; /* 0 = MOQC_WEBSOCKET_DELAY_MS */
  const char *auth_token;      /* IETF sessions: sent as the SETUP AUTHORIZATION TOKEN
                             (a relay checks it like ?jwt=); NULL = none. Copied. */
  /* Required: the session is up (err == MOQC_OK) or connecting failed (err <
   * 0, msg says why). Called exactly once unless the client is deleted first. */
  void (*on_connected)(void *ctx, moqc_client *c, int err, const char *msg);
  /* Optional: the established session ended. */
  void (*on_closed)(void *ctx, moqc_client *c, uint64_t code, const char *reason, bool by_peer);
  void *ctx;
  moqc_logger log; /* optional, as in moqc_server_config */
} moqc_client_config;

/* Start connecting. MOQC_OK (on_connected follows, never from inside this
 * call), or MOQC_ERR_INVAL (bad URL / config: msg says why), MOQC_ERR_NOMEM. */
MOQC_API int moqc_client_connect(const moqc_client_config *cfg, moqc_client **out, char *msg,
                                 size_t msg_cap);
/* The session once connected, else NULL. Owned by the client. */
MOQC_API moqc_session *moqc_client_session(moqc_client *c);
/* What carries the session once connected: "quic", "webtransport",
 * "websocket" (ws://, or http:// that fell back) or "websocket-tls" (wss://,
 * or https:// that fell back); "" before. Static strings. */
MOQC_API const char *moqc_client_transport(const moqc_client *c);
/* Close (code 0) and free. Safe from inside the client's callbacks. */
MOQC_API void moqc_client_del(moqc_client *c);

#ifdef __cplusplus
}
#endif
#endif
