/* moqc quic layer — TLS over a byte stream (TCP), sans-IO (internal).
 *
 * GnuTLS lives in src/quic, so the TLS record layer for the TCP side (HTTPS
 * endpoints, wss://) lives here too, with no socket: received bytes are fed
 * in (moqc__tls_stream_feed), plaintext is read out (moqc__tls_stream_read),
 * plaintext to send is written in (moqc__tls_stream_write) and the records to
 * put on the wire are taken out (moqc__tls_stream_take). The runtime wires it
 * to libuv TCP through moqc_http_tls_ops (include/moqc/http.h).
 *
 * Server: the relay's certificate (the QUIC one), TLS 1.2 or 1.3, ALPN
 * "http/1.1" when the client offers ALPN (not required). Client: verification
 * exactly as the QUIC client (moqc_quic_tls_client: system or a CA file and
 * the host name, a pinned SHA-256, or disable_verify), ALPN "http/1.1".
 *
 * Bounds: at most TLS_STREAM_MAX_IN bytes of ciphertext are kept unread (a
 * peer that sends more than that without our reading it is an error), and the
 * plaintext written before the handshake completes is kept up to
 * TLS_STREAM_MAX_EARLY bytes.
 */
#ifndef MOQC_QUIC_TLS_STREAM_H
#define MOQC_QUIC_TLS_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "moqc/quic.h"

#define TLS_STREAM_MAX_IN (256u << 10)
#define TLS_STREAM_MAX_EARLY (64u << 10)

typedef struct moqc__tls_stream moqc__tls_stream;

/* A server side for one connection, with cert (referenced until del).
 * MOQC_OK, MOQC_ERR_INVAL, MOQC_ERR_NOMEM, MOQC_ERR_TLS. */
int moqc__tls_stream_server(moqc_cert *cert, moqc__tls_stream **out);
/* A client side for host (the name checked and sent as SNI when it is a DNS
 * name), verified as o says. The ClientHello is ready to take at once.
 * MOQC_OK, MOQC_ERR_INVAL, MOQC_ERR_NOMEM, MOQC_ERR_TLS (bad CA file or pin:
 * moqc__tls_stream_error says why; *out is still set and must be deleted). */
int moqc__tls_stream_client(const char *host, const moqc_quic_tls_client *o,
                            moqc__tls_stream **out);
void moqc__tls_stream_del(moqc__tls_stream *t);

/* Received bytes (copied); advances the handshake. MOQC_OK, MOQC_ERR_NOMEM,
 * MOQC_ERR_BOUNDS (over TLS_STREAM_MAX_IN unread), MOQC_ERR_TLS (handshake
 * failed or a fatal alert: see moqc__tls_stream_error). Records to send (the
 * handshake's answers, an alert) may be waiting afterwards: take them. */
int moqc__tls_stream_feed(moqc__tls_stream *t, const uint8_t *p, size_t n);
/* Plaintext received: > 0 bytes copied into dst, MOQC_ERR_AGAIN (nothing
 * yet), MOQC_ERR_CLOSED (the peer's close_notify), MOQC_ERR_TLS. */
ptrdiff_t moqc__tls_stream_read(moqc__tls_stream *t, uint8_t *dst, size_t cap);
/* Plaintext to send (copied): encrypted at once, or kept until the handshake
 * completes. MOQC_OK, MOQC_ERR_NOMEM, MOQC_ERR_BOUNDS, MOQC_ERR_TLS. */
int moqc__tls_stream_write(moqc__tls_stream *t, const uint8_t *p, size_t n);
/* Our close_notify (queued to take). */
void moqc__tls_stream_bye(moqc__tls_stream *t);
/* The records to send, moved to the caller (free with moqc_free), *n their
 * length; NULL when there is nothing. */
uint8_t *moqc__tls_stream_take(moqc__tls_stream *t, size_t *n);
/* Handshake complete. */
bool moqc__tls_stream_ready(const moqc__tls_stream *t);
/* Why it failed ("" if it did not). */
const char *moqc__tls_stream_error(const moqc__tls_stream *t);

#endif
