/* moqc transport — TLS 1.3 for QUIC with GnuTLS (internal).
 *
 * - moqc_cert (public type, include/moqc/quic.h): a certificate chain + key
 *   and the server credentials built from them.
 * - Server sessions: QUIC-ready GnuTLS server sessions that accept exactly
 *   one of the configured ALPNs (no common ALPN = no_application_protocol).
 * - Client sessions: verification is ON by default (system roots or a CA
 *   file, host name checked); alternatives are a pinned SHA-256 of the leaf
 *   and disable_verify. A refusal leaves a readable message in
 *   moqc_tls_client.err.
 *
 * The QUIC glue (ngtcp2_crypto_gnutls_configure_*_session, the session's
 * ngtcp2_crypto_conn_ref) is done by the caller (quic_conn.c). The session
 * pointer (gnutls_session_get_ptr) must be an ngtcp2_crypto_conn_ref whose
 * user_data points to the moqc_tls_client used for verification (clients).
 */
#ifndef MOQC_TRANSPORT_TLS_H
#define MOQC_TRANSPORT_TLS_H

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/log.h"
#include "moqc/quic.h"
#include "moqc/transport.h"

/* Generate a self-signed ECDSA P-256 certificate with an explicit validity
 * window (tests use it for expired certificates). Same rules as
 * moqc_cert_self_signed otherwise. */
int moqc_cert_generate(const char *const *hosts, size_t n, time_t not_before, time_t not_after,
                       moqc_cert **out);

/* Server credentials of a cert (owned by the cert). */
gnutls_certificate_credentials_t moqc_cert_credentials(const moqc_cert *c);

/* ALPN list in GnuTLS form (owned copies of the names). */
typedef struct moqc_tls_alpn {
  gnutls_datum_t *v;
  size_t n;
} moqc_tls_alpn;

/* ALPN protocols per list. GnuTLS keeps at most 8 per session: a client
 * offers its first 8; a server narrows its list to what the ClientHello
 * offers (tls.c). */
#define MOQC_TLS_MAX_ALPN 16

/* Copy names[0..n) (NULL = the default list). MOQC_ERR_INVAL for an empty
 * list, more than MOQC_TLS_MAX_ALPN names, or a name of 0 or more than 31
 * bytes. */
int moqc_tls_alpn_init(moqc_tls_alpn *a, const char *const *names, size_t n);
void moqc_tls_alpn_free(moqc_tls_alpn *a);

/* Mutual TLS, server side: new credentials holding cert's chain and key (as
 * moqc_cert_credentials) plus the client roots read from roots[0..n) (PEM
 * files; each must hold at least one certificate). MOQC_OK, MOQC_ERR_INVAL
 * (n == 0), MOQC_ERR_TLS (unreadable or empty file: err says which) or
 * MOQC_ERR_NOMEM. The caller frees *out (gnutls_certificate_free_credentials)
 * after the last session using it. */
int moqc_tls_mtls_cred(const moqc_cert *cert, const char *const *roots, size_t n,
                       gnutls_certificate_credentials_t *out, char *err, size_t cap);

/* Per-connection state of a server session with mutual TLS. The session
 * pointer (gnutls_session_get_ptr) must be an ngtcp2_crypto_conn_ref whose
 * user_data points to it. */
typedef struct moqc_tls_peer {
  moqc_peer_cert *cert;   /* owned: the verified client certificate, or NULL */
  const moqc_logger *log; /* where a refused certificate is reported (WARN) */
  const char *remote;     /* the peer's address for that line */
} moqc_tls_peer;

void moqc_tls_peer_free(moqc_tls_peer *p);

/* New QUIC server session for cert accepting the ALPNs in a (which must
 * outlive the session). With mtls (from moqc_tls_mtls_cred, outliving the
 * session) the session uses it instead of cert's credentials and asks the
 * client for an optional certificate, verified on receipt (see
 * moqc_tls_peer). MOQC_OK, MOQC_ERR_TLS or MOQC_ERR_NOMEM. */
int moqc_tls_server_session(gnutls_session_t *out, const moqc_cert *cert,
                            gnutls_certificate_credentials_t mtls, const moqc_tls_alpn *a);

/* The server's client-certificate check (as gnutls_session_set_verify_function
 * wants it). No certificate: accepted (anonymous). A chain that verifies
 * against the trusted client roots for TLS client use: accepted, recorded in
 * the moqc_tls_peer. Anything else: refused (logged). */
int moqc__tls_verify_client(gnutls_session_t s);

/* Client side verification state (embedded in a client connection). */
typedef struct moqc_tls_client {
  gnutls_certificate_credentials_t cred;
  char *hostname; /* name checked against the certificate */
  bool sni;       /* hostname is a DNS name: send it as SNI */
  bool disable_verify;
  bool has_pin;
  uint8_t pin[32];
  char err[256]; /* why the certificate was refused ("" if not) */
} moqc_tls_client;

/* Prepare verification: load the trust (CA file or system), parse the pin,
 * load the client certificate if o has one. MOQC_OK, MOQC_ERR_TLS
 * (unreadable CA file, malformed pin, client certificate or key unreadable,
 * mismatched or given alone; err says why) or MOQC_ERR_NOMEM. */
int moqc_tls_client_init(moqc_tls_client *c, const char *hostname, const moqc_quic_tls_client *o);
void moqc_tls_client_free(moqc_tls_client *c);

/* New QUIC client session offering the ALPNs in a (most preferred first).
 * MOQC_OK, MOQC_ERR_TLS or MOQC_ERR_NOMEM. */
int moqc_tls_client_session(gnutls_session_t *out, moqc_tls_client *c, const moqc_tls_alpn *a);

/* The client's certificate check (as gnutls_session_set_verify_function
 * wants it): the session pointer must be an ngtcp2_crypto_conn_ref whose
 * user_data is the moqc_tls_client. Also used by tls_stream.c (TCP). */
int moqc__tls_verify(gnutls_session_t s);

/* The ALPN negotiated on session into out (NUL-terminated, cap bytes).
 * Returns false if none. */
bool moqc_tls_selected_alpn(gnutls_session_t s, char *out, size_t cap);

/* Parse a hex SHA-256 (64 digits, optional ':' separators). */
bool moqc_tls_parse_fingerprint(const char *hex, uint8_t out[32]);

/* Human-readable description of a TLS alert ("Certificate is bad"...). */
const char *moqc_tls_alert_str(uint8_t alert);

#endif
