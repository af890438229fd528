/* moqc — the abstract transport a MoQ session runs on.
 *
 * One moqc_transport is one established connection: a raw QUIC connection, a
 * WebTransport session over HTTP/3, an in-memory test pipe, and later QMux over
 * WebSocket. The session layer (src/session) only ever sees this interface, so
 * it never includes ngtcp2, GnuTLS or socket headers and can be driven by an
 * in-memory implementation in virtual time.
 *
 * Streams are named by int64 ids (QUIC numbering; for WebTransport the
 * 0x41/0x54 prefixes are already stripped). Bit 0x2 of the id set = uni,
 * bit 0x1 set = opened by the server.
 *
 * Sending is zero-copy: write() takes references to slices of refcounted bufs
 * and releases them once the peer has acknowledged the bytes or the stream is
 * reset/closed. Receiving hands the session borrowed bytes, valid only during
 * the callback (the session copies them once into a moqc_buf).
 *
 * Threading: a transport and its handler belong to one loop thread. Handler
 * callbacks are never invoked re-entrantly from inside an ops call; they run
 * from the transport's own I/O processing. Ops may be called from inside
 * handler callbacks.
 */
#ifndef MOQC_TRANSPORT_H
#define MOQC_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "moqc/buf.h"
#include "moqc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct moqc_transport moqc_transport;

#define MOQC_STREAM_IS_UNI(id) (((id)&0x2) != 0)
#define MOQC_STREAM_IS_SERVER(id) (((id)&0x1) != 0)

/* Send priority of a stream. The transport's scheduler serves streams in this
 * order: control streams (never given a priority) first; then higher
 * `priority`; then higher `order` (the session passes the group sequence, so
 * newer groups go first); ties round-robin. */
typedef struct moqc_stream_prio {
  uint8_t priority;
  uint64_t order;
} moqc_stream_prio;

/* Events from the transport to its user (the session). ctx is the pointer given
 * to moqc_transport_set_handler(). Every callback is optional (may be NULL). */
typedef struct moqc_transport_handler {
  /* The peer opened a stream. Data for it follows in stream_data. */
  void (*stream_opened)(void *ctx, int64_t id);
  /* Bytes arrived in order (borrowed, valid only during the call). fin=true
   * marks the end of the peer's send half (len may be 0). */
  void (*stream_data)(void *ctx, int64_t id, const uint8_t *p, size_t len, bool fin);
  /* The peer reset its send half (RESET_STREAM) with a MoQ code. */
  void (*stream_reset)(void *ctx, int64_t id, uint64_t code);
  /* The peer asked us to stop sending (STOP_SENDING) with a MoQ code. The
   * transport has already reset our send half with the same code. */
  void (*stop_sending)(void *ctx, int64_t id, uint64_t code);
  /* Both halves of the stream are done; the id will not be reported again and
   * pending sends on it are released. */
  void (*stream_closed)(void *ctx, int64_t id);
  /* A datagram (payload only; WebTransport prefixes stripped), borrowed. */
  void (*datagram)(void *ctx, const uint8_t *p, size_t len);
  /* Room again: stream credit (open_* returned MOQC_ERR_AGAIN before) or the
   * send queue drained below its low watermark. */
  void (*writable)(void *ctx);
  /* The connection is closed (by us or the peer, or it died). code/reason as
   * received or sent (reason borrowed). No callback follows. */
  void (*closed)(void *ctx, uint64_t code, const char *reason, bool by_peer);
  /* Everything written on our send half of the stream, FIN included, has been
   * acknowledged by the peer: queued(id) is 0 and stays 0. Fired at most once
   * per stream, only for a send half that was finished with write(fin) (never
   * after reset() or the peer's STOP_SENDING), and before that stream's
   * stream_closed. For WebTransport the stream prefix bytes count too. This is
   * the event to use instead of polling queued() for "delivered". */
  void (*stream_acked)(void *ctx, int64_t id);
} moqc_transport_handler;

/* The operations every transport implements. All return MOQC_OK or a negative
 * moqc_err; on a closed transport every op returns MOQC_ERR_CLOSED. */
typedef struct moqc_transport_ops {
  /* Open a stream. MOQC_ERR_AGAIN if the peer's stream limit is reached (a
   * `writable` event follows when credit arrives). */
  int (*open_stream)(moqc_transport *t, bool bidi, int64_t *id);
  /* Queue n slices (taking a new reference on each; the caller keeps its
   * own) and, if fin, end the send half after them. n may be 0 with fin.
   * MOQC_ERR_INVAL for an unknown id or a finished send half. Never blocks:
   * the bytes are queued; queued() tells how much is waiting. */
  int (*write)(moqc_transport *t, int64_t id, const moqc_slice *s, size_t n, bool fin);
  /* RESET_STREAM our send half with a MoQ code; queued data is released. */
  int (*reset)(moqc_transport *t, int64_t id, uint64_t code);
  /* STOP_SENDING the peer's send half with a MoQ code. Further data is dropped. */
  int (*stop_sending)(moqc_transport *t, int64_t id, uint64_t code);
  int (*set_priority)(moqc_transport *t, int64_t id, const moqc_stream_prio *prio);
  /* Send one datagram (copied). MOQC_ERR_TOO_LARGE over max_datagram();
   * MOQC_ERR_UNSUPPORTED if datagrams are off. May be dropped silently. */
  int (*send_datagram)(moqc_transport *t, const uint8_t *p, size_t len);
  /* Largest datagram payload that can be sent now (0 = none). */
  size_t (*max_datagram)(moqc_transport *t);
  /* Bytes written but not yet acknowledged: on stream id, or on the whole
   * connection when id < 0. */
  size_t (*queued)(moqc_transport *t, int64_t id);
  /* Smoothed RTT and estimated send rate, 0 if unknown. */
  void (*stats)(moqc_transport *t, uint64_t *rtt_ns, uint64_t *send_rate_bps);
  /* Close the connection with a MoQ code and reason (copied). The `closed`
   * event follows (possibly later, after draining). */
  void (*close)(moqc_transport *t, uint64_t code, const char *reason);
  /* The user drops its reference. No handler call happens after this; the
   * transport frees itself when the connection is gone. Call exactly once. */
  void (*release)(moqc_transport *t);
  /* Optional (may be NULL): bytes written on the whole connection that have
   * not been sent yet (the backlog behind congestion control and pacing).
   * Unlike queued(), this excludes bytes in flight, so on a fast path with a
   * large bandwidth-delay product it stays small; sessions use it to detect a
   * subscriber that cannot keep up. */
  size_t (*backlog)(moqc_transport *t);
} moqc_transport_ops;

/* A client certificate the server verified (mutual TLS): the peer presented a
 * chain that leads to one of the server's trusted client roots
 * (moqc_quic_server_config.client_ca_files). Nothing else in it was checked:
 * the fields are for logs and decisions of the application. */
#define MOQC_PEER_CERT_SUBJECT_MAX 256
typedef struct moqc_peer_cert {
  /* The leaf's subject DN, RFC 4514 ("CN=node-a,O=cluster"); truncated to
   * MOQC_PEER_CERT_SUBJECT_MAX - 1 bytes. */
  char subject[MOQC_PEER_CERT_SUBJECT_MAX];
  /* The leaf's expiry, Unix seconds; INT64_MAX if it cannot be told. */
  int64_t not_after;
} moqc_peer_cert;

/* Base struct every transport embeds first. */
struct moqc_transport {
  const moqc_transport_ops *ops;
  const moqc_transport_handler *handler;
  void *handler_ctx;
  /* Negotiated protocol: the ALPN ("moq-lite-04") for raw QUIC, the
   * WebTransport sub-protocol (wt-protocol) for WebTransport, "" if none.
   * NUL-terminated, owned by the transport. */
  char protocol[32];
  /* Request path + query from the URL ("/anon?jwt=..."), "" for raw QUIC
   * (then lite-05 SETUP may carry it). Owned by the transport, NUL-terminated. */
  const char *path;
  bool is_server;    /* we accepted this connection */
  bool webtransport; /* carried over WebTransport (affects error-code mapping) */
  bool websocket;    /* carried by QMux over a WebSocket (TCP), ws:// / wss:// */
  /* The peer's UDP address when the connection was set up: "127.0.0.1:5000",
   * "[::1]:5000" (an IPv4-mapped IPv6 address is shown as IPv4). A
   * WebTransport session has its QUIC connection's. "" if unknown (in-memory
   * transports). Owned by the transport, NUL-terminated. */
  char remote[64];
  /* Server side: the client certificate verified in the handshake, NULL if
   * the client presented none (or the server asks for none). Owned by the
   * transport, valid until it is released; set before the transport is
   * handed out. */
  const moqc_peer_cert *peer_cert;
  /* Set by the transport before it calls `closed` with by_peer: true when
   * the code is the transport's own moqc_code (a QUIC transport error or TLS
   * alert from the peer, the WebSocket or an HTTP/3 error ending the
   * connection), false when it is what the peer's application sent. The
   * session maps an own code to its protocol's (IETF: 4 is not Transport). */
  bool close_code_local;
};

/* Attach the event handler (replaces any previous one). */
static inline void moqc_transport_set_handler(moqc_transport *t, const moqc_transport_handler *h,
                                              void *ctx) {
  t->handler = h;
  t->handler_ctx = ctx;
}

#ifdef __cplusplus
}
#endif
#endif
