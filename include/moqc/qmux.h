/* moqc — QMux: QUIC-style streams over WebSocket (the fallback for clients
 * without WebTransport: Safari, Firefox, Node.js, networks that block UDP).
 *
 * A moqc_qmux is a sans-IO connection that implements moqc_transport, so a moq
 * session runs over it unchanged. It is fed the payloads of binary WebSocket
 * messages (moqc_qmux_recv) and hands the messages it wants sent to an I/O
 * layer through moqc_qmux_io (the runtime's WebSocket glue, or a test). It never
 * touches a socket; time comes from a moqc_clock.
 *
 * Wire formats (chosen by the WebSocket sub-protocol, docs/websocket.md):
 * the legacy `webtransport` binding, `qmux-00` and `qmux-01` (records). No
 * datagrams are offered (max_datagram() is 0), as moq-relay does over WebSocket.
 *
 * Threading: one loop thread; see moqc/transport.h for the handler contract.
 */
#ifndef MOQC_QMUX_H
#define MOQC_QMUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "moqc/clock.h"
#include "moqc/export.h"
#include "moqc/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum moqc_qmux_version {
  MOQC_QMUX_WEBTRANSPORT = 0, /* legacy web-transport-ws framing, no flow control */
  MOQC_QMUX_00 = 1,           /* draft-ietf-quic-qmux-00 */
  MOQC_QMUX_01 = 2,           /* draft-01: records, max_record_size, QX_PING */
  MOQC_QMUX_02 = 3,           /* draft-02 (as @moq/qmux 0.3.3): draft-01's records plus
                                 RESET_STREAM_AT (reset_stream_at parameter), stricter
                                 ordering (parameters first and once, QX_PING sequences) */
} moqc_qmux_version;

/* "webtransport", "qmux-00", "qmux-01", "qmux-02"; "?" otherwise. */
MOQC_API const char *moqc_qmux_version_str(moqc_qmux_version v);

/* Split a Sec-WebSocket-Protocol token: "qmux-01.moq-lite-05" -> QMUX_01 +
 * "moq-lite-05"; bare "qmux-02", "qmux-01", "qmux-00", "webtransport" -> that
 * version and "". An empty token is the legacy format with no ALPN. MOQC_OK,
 * MOQC_ERR_UNSUPPORTED (unknown prefix), MOQC_ERR_TOO_LARGE (ALPN
 * longer than cap-1), MOQC_ERR_INVAL (NULL). Pure. */
MOQC_API int moqc_qmux_subprotocol_parse(const char *token, moqc_qmux_version *v, char *alpn,
                                         size_t cap);

/* Choose the Sec-WebSocket-Protocol to answer, as moq-relay does: ours are,
 * per ALPN in alpns (server preference order), "qmux-02.<alpn>",
 * "qmux-01.<alpn>" then "qmux-00.<alpn>", then the bare "qmux-02", "qmux-01",
 * "qmux-00", "webtransport"; the
 * first of ours the client offered wins. offered is the raw header value
 * (comma-separated, may be NULL). Writes the token to out (NUL-terminated):
 *   MOQC_OK with out = "" when the client offered nothing (accept, legacy);
 *   MOQC_OK with the token;
 *   MOQC_ERR_UNSUPPORTED when it offered only unknown tokens (answer 400);
 *   MOQC_ERR_BUFSIZE when out is too small; MOQC_ERR_INVAL for NULL out. */
MOQC_API int moqc_qmux_subprotocol_select(const char *offered, const char *const *alpns,
                                          size_t n_alpns, char *out, size_t cap);

/* The WebSocket accept key, moqc_ws_accept_key(), is declared in moqc/quic.h:
 * it is computed with GnuTLS, which only the quic layer may use. */

typedef struct moqc_qmux moqc_qmux;

/* What the QMux connection needs from its WebSocket. */
typedef struct moqc_qmux_io {
  /* Queue one binary WebSocket message (copied). Nonzero: it could not be
   * queued (the WebSocket is failing; its close follows). */
  int (*send)(void *ctx, const uint8_t *p, size_t len);
  /* Bytes the I/O layer holds that are not on the socket yet. */
  size_t (*pending)(void *ctx);
  /* Close the WebSocket with a status (1000 normal, 1002 protocol error,
   * 1008 policy: send cap) once what was queued is written. */
  void (*close)(void *ctx, uint16_t status, const char *reason);
} moqc_qmux_io;

typedef struct moqc_qmux_config {
  moqc_qmux_version version;
  bool is_server;
  const char *protocol; /* the moq ALPN from the sub-protocol ("" if bare); copied */
  const char *path;     /* request path + query ("/anon?jwt=..."); copied */
  const char *remote;   /* peer TCP address for logs; copied; may be NULL */
  moqc_clock *clock;    /* required: deferred events run from a timer on it */
  size_t io_high;       /* produce no more while io.pending() >= this; 0 = 256 KiB */
  size_t send_cap;      /* unsent bytes (streams + I/O) beyond which the
                           connection is closed (a peer that stops reading); 0 = 16 MiB */
  moqc_qmux_io io;      /* required: send, pending, close */
  void *io_ctx;
} moqc_qmux_config;

/* New connection. For QMux drafts it queues its QX_TRANSPORT_PARAMETERS at
 * once (sent on the first tick). MOQC_OK, MOQC_ERR_INVAL, MOQC_ERR_NOMEM.
 * Two references: the transport user's (moqc_transport release()) and the I/O
 * layer's (moqc_qmux_io_closed); freed when both are gone. */
MOQC_API int moqc_qmux_new(const moqc_qmux_config *cfg, moqc_qmux **out);
/* The moqc_transport view (same object). */
MOQC_API moqc_transport *moqc_qmux_transport(moqc_qmux *q);
/* One binary WebSocket message arrived. Handler callbacks run from here.
 * MOQC_OK, or MOQC_ERR_PROTOCOL / MOQC_ERR_TOO_LARGE after which the
 * connection is closed (CONNECTION_CLOSE sent, io.close called, `closed`
 * reported), or MOQC_ERR_CLOSED. */
MOQC_API int moqc_qmux_recv(moqc_qmux *q, const uint8_t *msg, size_t len);
/* The I/O layer drained below its watermark: produce more. */
MOQC_API void moqc_qmux_io_writable(moqc_qmux *q);
/* The WebSocket is gone (closed by the peer, reset, or after io.close): no io
 * call follows; `closed` is reported if it was not yet; the I/O layer's
 * reference is dropped. */
MOQC_API void moqc_qmux_io_closed(moqc_qmux *q, uint16_t status, const char *reason);
/* The wire version of a connection. */
MOQC_API moqc_qmux_version moqc_qmux_get_version(const moqc_qmux *q);

#ifdef __cplusplus
}
#endif
#endif
