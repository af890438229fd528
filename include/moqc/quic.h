/* moqc — raw QUIC endpoints (server and client) and TLS certificates.
 *
 * A server endpoint owns one UDP socket (by default "[::]", dual-stack: IPv4
 * and IPv6 clients on the same port) and serves many connections, routed by
 * connection ID. A client connection owns its own UDP socket. Every
 * established connection is handed to the user as a moqc_transport
 * (include/moqc/transport.h) whose `protocol` is the negotiated ALPN:
 * "moq-lite-04", "h3" (give that one to the WebTransport adapter), ...
 *
 * Raw-QUIC mapping of the transport contract:
 *   - stream ids are QUIC stream ids; MoQ codes are passed verbatim as QUIC
 *     application error codes (RESET_STREAM, STOP_SENDING, CONNECTION_CLOSE);
 *   - write() is zero-copy: the transport keeps a reference to every slice
 *     until the peer acknowledges its bytes (or the stream closes);
 *   - the scheduler serves control streams (no priority set) first, then
 *     higher `priority`, then higher `order`, ties round-robin.
 *
 * Threading: everything here belongs to the thread running the uv_loop_t it
 * was created on. Callbacks run on that thread from libuv I/O processing;
 * they may call any function of this header and any transport op.
 *
 * Lifetimes follow libuv: deleting an endpoint closes its handles
 * asynchronously, so keep running the loop until it returns (every handle is
 * closed before memory is freed).
 */
#ifndef MOQC_QUIC_H
#define MOQC_QUIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "moqc/export.h"
#include "moqc/log.h"
#include "moqc/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- certificates --------------------------------------------------------- */

/* A certificate chain + private key for a server (refcounted, immutable). */
typedef struct moqc_cert moqc_cert;

/* Length of moqc_cert_fingerprint() without the NUL: 32 bytes as hex. */
#define MOQC_CERT_FINGERPRINT_LEN 64

/* Load a PEM certificate chain (leaf first) and its PEM private key.
 * *out receives a new reference. Returns MOQC_OK, MOQC_ERR_INVAL (NULL
 * argument), MOQC_ERR_IO (unreadable file), MOQC_ERR_TLS (not a valid
 * certificate / key, or the key does not match the leaf), MOQC_ERR_NOMEM. */
MOQC_API int moqc_cert_load(const char *cert_pem_path, const char *key_pem_path, moqc_cert **out);

/* Generate a self-signed ECDSA P-256 certificate valid 14 days in total
 * (from now - 1 day to now + 13 days: what Chromium's serverCertificateHashes
 * accepts). hosts[0..n) become DNS subject alternative names (an IP literal
 * becomes an IP SAN); "localhost" also adds IP SANs 127.0.0.1 and ::1. The
 * subject CN is hosts[0]. n must be >= 1. Returns MOQC_OK, MOQC_ERR_INVAL,
 * MOQC_ERR_TLS (GnuTLS failure), MOQC_ERR_NOMEM. */
MOQC_API int moqc_cert_self_signed(const char *const *hosts, size_t n, moqc_cert **out);

MOQC_API moqc_cert *moqc_cert_ref(moqc_cert *c);
/* Drop a reference; NULL is a no-op. */
MOQC_API void moqc_cert_unref(moqc_cert *c);

/* SHA-256 of the DER leaf certificate as MOQC_CERT_FINGERPRINT_LEN lower-case
 * hex digits without colons (the value a WebTransport client pins, and what
 * /certificate.sha256 serves). Owned by the cert; valid while it lives. */
MOQC_API const char *moqc_cert_fingerprint(const moqc_cert *c);

/* Write the certificate chain and the private key as PEM files (the key file
 * is created with mode 0600). Either path may be NULL to skip it.
 * Returns MOQC_OK, MOQC_ERR_IO, MOQC_ERR_TLS, MOQC_ERR_NOMEM. */
MOQC_API int moqc_cert_write_pem(const moqc_cert *c, const char *cert_path, const char *key_path);

/* ---- WebSocket accept key ---------------------------------------------------- */

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2): base64 of
 * SHA-1(key + GUID), computed with GnuTLS, into out[29] (28 chars + NUL).
 * Returns MOQC_OK; MOQC_ERR_INVAL when key or out is NULL or key is not 22
 * base64 characters and "==" (16 bytes); MOQC_ERR_NOMEM or MOQC_ERR_TLS when
 * GnuTLS fails (out is then unspecified). Pure and thread-safe: no state. */
MOQC_API int moqc_ws_accept_key(const char *key, char out[29]);

/* ---- limits and tuning ---------------------------------------------------- */

typedef enum moqc_quic_cc {
  MOQC_QUIC_CC_CUBIC = 0, /* default */
  MOQC_QUIC_CC_BBR = 1,
  MOQC_QUIC_CC_BBR2 = 2,
  MOQC_QUIC_CC_RENO = 3,
} moqc_quic_cc;

/* Static name ("cubic", "bbr", ...). Never NULL. */
MOQC_API const char *moqc_quic_cc_str(moqc_quic_cc cc);

/* Server address validation (moqc_quic_limits.retry). */
typedef enum moqc_quic_retry {
  MOQC_QUIC_RETRY_AUTO = 0,
  MOQC_QUIC_RETRY_ALWAYS = 1,
  MOQC_QUIC_RETRY_NEVER = 2,
} moqc_quic_retry;
#define MOQC_QUIC_RETRY_AUTO_PER_ADDR 4
#define MOQC_QUIC_RETRY_AUTO_TOTAL 64
/* "auto", "always", "never" ("unknown" otherwise). */
MOQC_API const char *moqc_quic_retry_str(moqc_quic_retry r);
/* Parse one of those names. MOQC_OK, or MOQC_ERR_INVAL. */
MOQC_API int moqc_quic_retry_parse(const char *name, moqc_quic_retry *out);

/* Every field: 0 means "the default" (so a zeroed struct is the defaults). */
typedef struct moqc_quic_limits {
  /* Server: concurrent connections (handshaking ones included); a client
   * over the limit gets CONNECTION_REFUSED. Default 10000. */
  uint32_t max_connections;
  /* Server: concurrent connections from one IP address (the port does not
   * count; IPv4 and IPv4-mapped IPv6 are the same address): a new one over it
   * gets CONNECTION_REFUSED. And how many of those may be handshaking at once:
   * an Initial over that is ignored, so the client retransmits it and gets in
   * once earlier handshakes finished (or its handshake timeout ends it): a
   * burst of clients behind one address is paced, not refused. Default: no
   * per-address limit (moqc-relay sets 256 and 32). */
  uint32_t max_connections_per_addr;
  uint32_t max_handshakes_per_addr;
  /* Server: new connections one IP address may start per second (a token
   * bucket holding one second's worth, at least 8). An Initial over the rate
   * is ignored, like one over max_handshakes_per_addr: it costs the server no
   * handshake (a flood of Initial look-alikes or real ClientHellos from one
   * address stops costing crypto), and a real client retransmits it. Default
   * 0: no limit (moqc-relay sets 100). */
  uint32_t new_connections_per_addr_per_s;
  /* Concurrent streams the PEER may open, per direction. Default 1000 bidi,
   * 10000 uni. Closed streams give their credit back. */
  uint32_t max_streams_bidi;
  uint32_t max_streams_uni;
  /* Idle timeout in ms. Default 30000. The effective timeout is the smaller
   * of both sides'. */
  uint64_t idle_timeout_ms;
  /* Send a PING after this long without activity. Default: a third of the
   * idle timeout both sides agreed on; UINT64_MAX disables keep-alive. */
  uint64_t keep_alive_ms;
  /* Handshake must complete within this, separately from the idle timeout
   * (a peer that goes quiet mid-handshake is dropped after this). Default
   * 10000. */
  uint64_t handshake_timeout_ms;
  moqc_quic_cc cc;
  /* Receive windows, auto-tuned up to these values (starting at 1/3 of
   * max_window per connection and 1/4 of max_stream_window per stream).
   * Default 24 MiB per connection, 8 MiB per stream. Minimum 64 KiB. */
  uint64_t max_window;
  uint64_t max_stream_window;
  /* Largest DATAGRAM frame accepted from the peer. Default 65535;
   * UINT64_MAX disables datagrams. */
  uint64_t max_datagram_frame;
  /* `writable` fires (after acknowledgements) while fewer than this many
   * written bytes wait to be sent. Default 1 MiB. */
  uint64_t send_lowat;
  /* Disable UDP GSO / GRO (for benchmarks and broken drivers). Both are also
   * switched off at run time when the kernel refuses them. */
  bool no_gso;
  bool no_gro;
  /* Largest UDP payload sent to a peer on a loopback address (127.0.0.0/8,
   * ::1, ::ffff:127.0.0.0/104). Such a path is the loopback device, whose MTU
   * is 64 KiB and known without probing, so packets skip Path MTU Discovery
   * and are this large: fewer packets, ACKs and encryptions per byte.
   * Default 16200 (four fill one 64 KiB GSO send); the peer's
   * max_udp_payload_size transport parameter still caps it. Larger values
   * are cut to 65000; UINT64_MAX (or any value below 1200) treats loopback
   * peers like any other: 1200 bytes, raised by Path MTU Discovery to at
   * most 1452. */
  uint64_t loopback_udp_payload;
  /* Server: address validation with Retry (RFC 9000 section 8.1.2); last in
   * the struct, so the fields above keep their offsets. A new
   * connection's Initial without a valid Retry token is answered with a Retry
   * packet instead of starting a handshake: stateless (no connection, no TLS,
   * one AEAD seal), and smaller than the Initial, so a spoofed source address
   * costs the server nothing and is not amplified. A real client repeats its
   * Initial with the token (one round trip more), which proves it receives
   * at its address; the server then accepts it with the original connection
   * ID and the Retry's source connection ID in its transport parameters. A
   * Retry token that does not verify (forged, from another address, older
   * than 10 s) is dropped silently. MOQC_QUIC_RETRY_AUTO (the default): only
   * under load, when the handshakes in progress from the Initial's address
   * reach MOQC_QUIC_RETRY_AUTO_PER_ADDR, or all handshakes in progress reach
   * MOQC_QUIC_RETRY_AUTO_TOTAL, so a normal connection costs no extra round
   * trip; ALWAYS: every new connection; NEVER: no Retry (a Retry token is then
   * ignored, and the connection is not treated as validated). */
  moqc_quic_retry retry;
} moqc_quic_limits;

/* Default ALPN list, in preference order:
 * moq-lite-05, moq-lite-04, moq-lite-03, moql, moq-00, h3. */
MOQC_API const char *const *moqc_quic_default_alpn(size_t *n);

/* ---- server --------------------------------------------------------------- */

typedef struct moqc_quic_server moqc_quic_server;

/* A connection finished its handshake. conn->protocol is the negotiated ALPN,
 * conn->is_server is true, conn->path is "". The callee owns conn: attach a
 * handler (moqc_transport_set_handler) and eventually call
 * conn->ops->release(conn). */
typedef void (*moqc_quic_on_connection)(void *ctx, moqc_transport *conn);

typedef struct moqc_quic_server_config {
  /* Address to bind: NULL or "::" = every IPv4 + IPv6 address (dual-stack),
   * "0.0.0.0", "127.0.0.1", "::1", ... (numeric only). */
  const char *host;
  uint16_t port; /* 0 = an ephemeral port (see moqc_quic_server_port) */
  /* Accepted ALPNs (1..8 names of 1..31 bytes). NULL = moqc_quic_default_alpn().
   * The client's preference order decides among common ones. */
  const char *const *alpn;
  size_t alpn_count;
  moqc_cert *cert; /* required; the server takes its own reference */
  /* Optional mutual TLS: PEM files of the roots trusted for client
   * certificates (read at moqc_quic_server_new). With any, the server asks
   * every client for a certificate; presenting one is optional. A client that
   * presents none is anonymous (conn->peer_cert NULL). A presented chain that
   * does not verify (unknown issuer, expired, not for TLS client use) fails
   * the handshake with a bad_certificate alert, logged at MOQC_LOG_WARN. A
   * verified one is reported as conn->peer_cert. Borrowed during the call. */
  const char *const *client_ca_files;
  size_t n_client_ca_files;
  moqc_quic_limits limits;
  moqc_quic_on_connection on_connection; /* required */
  void *ctx;
  /* Optional diagnostics: at MOQC_LOG_TRACE, ngtcp2's per-packet debug log of
   * every connection ("quic" subsystem). Zeroed = nothing is logged. */
  moqc_logger log;
} moqc_quic_server_config;

/* Bind and start serving. Returns MOQC_OK, MOQC_ERR_INVAL (bad config),
 * MOQC_ERR_IO (socket/bind failed, e.g. port in use), MOQC_ERR_TLS (a
 * client_ca_files entry is unreadable or holds no certificate),
 * MOQC_ERR_NOMEM. */
MOQC_API int moqc_quic_server_new(uv_loop_t *loop, const moqc_quic_server_config *cfg,
                                  moqc_quic_server **out);

/* The bound UDP port (useful after binding port 0). */
MOQC_API uint16_t moqc_quic_server_port(const moqc_quic_server *s);

/* Connections currently alive on the endpoint (handshaking ones included). */
MOQC_API size_t moqc_quic_server_connections(const moqc_quic_server *s);
/* Server counters: Retry packets sent, and Initials dropped because their
 * Retry token did not verify. */
MOQC_API void moqc_quic_server_retry_stats(const moqc_quic_server *s, uint64_t *retries_sent,
                                           uint64_t *bad_tokens);

/* Stop serving: every connection is closed (code 0, "server shutdown"; the
 * `closed` handlers of handed-out connections run, they still need their
 * release()), the socket is closed, memory is freed once the loop has closed
 * the handles and every connection was released. NULL is a no-op. */
MOQC_API void moqc_quic_server_del(moqc_quic_server *s);

/* ---- client --------------------------------------------------------------- */

typedef struct moqc_quic_tls_client {
  /* Verify the server against this PEM file of trusted roots instead of the
   * system trust store. */
  const char *ca_file;
  /* Accept exactly this leaf certificate: SHA-256 of its DER as hex, colons
   * allowed ("ab:cd:..." or "abcd..."). Replaces chain and host name checks
   * (the validity period is still checked, as browsers do). */
  const char *pin_sha256;
  /* Accept any certificate. For tests only. */
  bool disable_verify;
  /* Optional mutual TLS: present this client certificate (PEM chain, leaf
   * first) and its PEM private key when the server asks for one. Both or
   * neither; read when the connection starts (an unreadable file or a key
   * that does not match is MOQC_ERR_TLS then). Borrowed: the strings must
   * stay valid while connections use this configuration. */
  const char *cert_file;
  const char *key_file;
} moqc_quic_tls_client;

typedef struct moqc_quic_client_config {
  const char *host; /* DNS name or IP literal; resolved asynchronously */
  uint16_t port;
  /* TLS server name and the name checked against the certificate. NULL =
   * host. IP literals are not sent as SNI but are checked against IP SANs. */
  const char *sni;
  /* ALPNs to offer (1..8), most preferred first. NULL = moqc_quic_default_alpn(). */
  const char *const *alpn;
  size_t alpn_count;
  moqc_quic_tls_client tls;
  moqc_quic_limits limits;
  moqc_logger log; /* optional, as in moqc_quic_server_config */
} moqc_quic_client_config;

/* A pending connect. */
typedef struct moqc_quic_dial moqc_quic_dial;

/* Connect result, called exactly once (unless cancelled first). On success
 * err is MOQC_OK and the callee owns conn (conn->protocol = the ALPN the
 * server chose). On failure conn is NULL, err is MOQC_ERR_TLS (certificate
 * refused by us, or a TLS alert from the server), MOQC_ERR_VERSION (no ALPN in
 * common), MOQC_ERR_TIMEOUT (no answer / handshake timeout), MOQC_ERR_IO
 * (resolution or socket failure), MOQC_ERR_TRANSPORT (closed by the peer) or
 * MOQC_ERR_NOMEM, and msg says why (borrowed, valid during the call). */
typedef void (*moqc_quic_on_connect)(void *ctx, int err, const char *msg, moqc_transport *conn);

/* Start connecting. Returns MOQC_OK (the callback follows later, never from
 * inside this call), MOQC_ERR_INVAL (bad config), MOQC_ERR_TLS (unreadable
 * ca_file, malformed pin, unreadable or mismatched cert_file/key_file),
 * MOQC_ERR_NOMEM. *dial (may be NULL) receives a
 * handle valid until the callback runs. */
MOQC_API int moqc_quic_connect(uv_loop_t *loop, const moqc_quic_client_config *cfg,
                               moqc_quic_on_connect cb, void *ctx, moqc_quic_dial **dial);

/* Abandon a pending connect: the callback will not run. Only valid before the
 * callback has run. */
MOQC_API void moqc_quic_dial_cancel(moqc_quic_dial *dial);

/* ---- per-connection information ------------------------------------------ */

typedef struct moqc_quic_conn_info {
  uint64_t rtt_ns, min_rtt_ns, cwnd, bytes_in_flight;
  uint64_t pkts_sent, pkts_recv, bytes_sent, bytes_recv; /* UDP payload */
  uint64_t gso_batches; /* sendmsg calls that carried several packets */
  bool gso, gro;        /* in use right now on the connection's socket */
  char cc[8];           /* "cubic", "bbr", ... */
} moqc_quic_conn_info;

/* Statistics of a raw QUIC transport (one returned by this header).
 * MOQC_ERR_INVAL if t is not a raw QUIC connection. */
MOQC_API int moqc_quic_conn_info_get(moqc_transport *t, moqc_quic_conn_info *info);

#ifdef __cplusplus
}
#endif
#endif
