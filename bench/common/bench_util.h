/* bench_util — what the benchmark programs share (bench/common, a static
 * library linked by every bench/<name>.c program).
 *
 * Benchmarks use libmoqc through its public headers only (include/moqc); the
 * TCP + TLS baselines use GnuTLS directly, with the same certificate the QUIC
 * side serves (written out with moqc_cert_write_pem and loaded back).
 *
 * Everything here is for benchmarks: failures print to stderr, nothing is
 * thread-safe beyond what is noted, and every function may be called from any
 * thread unless it takes a uv_loop_t (then: that loop's thread).
 */
#ifndef MOQC_BENCH_UTIL_H
#define MOQC_BENCH_UTIL_H

#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "moqc/quic.h"

/* ---- time and CPU --------------------------------------------------------- */

/* Monotonic wall clock, ns (CLOCK_MONOTONIC, as uv_hrtime). */
uint64_t bench_now_ns(void);
/* CPU time of the calling thread, user + system, ns (CLOCK_THREAD_CPUTIME_ID). */
uint64_t bench_thread_cpu_ns(void);
/* CPU time of this process, user + system, seconds (getrusage). */
double bench_self_cpu_s(void);
/* utime + stime of process pid in seconds (/proc/<pid>/stat), or -1. */
double bench_proc_cpu_s(int pid);
/* VmRSS of process pid in KiB (pid 0: this process), or -1. */
long bench_proc_rss_kb(int pid);

/* ---- certificate, TLS ----------------------------------------------------- */

/* A self-signed certificate for "localhost": the moqc_cert the QUIC side
 * serves, and GnuTLS server credentials with the same certificate and key for
 * the TCP + TLS baselines. */
typedef struct bench_cert {
  moqc_cert *cert;
  gnutls_certificate_credentials_t cred;
} bench_cert;

/* 0, or -1 (message on stderr; nothing to free). */
int bench_cert_init(bench_cert *c);
void bench_cert_free(bench_cert *c);

/* A GnuTLS session on connected socket fd: TLS 1.3, AES-128-GCM, X25519 (what
 * the QUIC side negotiates). Servers use c->cred; clients get cred (which
 * verifies nothing: the baselines measure cost, not trust) and SNI localhost. */
int bench_tls_session(gnutls_session_t *s, bool server, int fd, const bench_cert *c,
                      gnutls_certificate_credentials_t client_cred);
/* Blocking handshake (retried on GNUTLS_E_AGAIN / INTERRUPTED). */
bool bench_tls_handshake(gnutls_session_t s);

/* ---- QUIC and TCP on loopback ------------------------------------------------ */

/* Library defaults, but for the loopback packet size (0: library default;
 * UINT64_MAX: off, loopback peers get what any path gets) and the connection
 * cap (0: library default). */
moqc_quic_limits bench_quic_limits(uint64_t loopback_pkt, uint32_t max_connections);
/* "off" -> UINT64_MAX, or a number in 1200..65000. false if neither. */
bool bench_parse_loopback_pkt(const char *v, uint64_t *out);

/* A raw QUIC server on 127.0.0.1, ephemeral port, serving c. Returns its port,
 * or 0 (message on stderr; *out is NULL). */
uint16_t bench_quic_listen(uv_loop_t *loop, const bench_cert *c, const moqc_quic_limits *l,
                           moqc_quic_on_connection on_connection, void *ctx,
                           moqc_quic_server **out);
/* Dial 127.0.0.1:port with ALPN moq-lite-04, pinning c's certificate.
 * MOQC_OK or what moqc_quic_connect returns. */
int bench_quic_dial(uv_loop_t *loop, uint16_t port, const bench_cert *c, const moqc_quic_limits *l,
                    moqc_quic_on_connect cb, void *ctx);

/* A TCP listener on 127.0.0.1, ephemeral port; *addr is its address. The fd,
 * or -1 (message on stderr). */
int bench_tcp_listen(struct sockaddr_in *addr, int backlog);

/* Close loop once the handles the caller (and the library) closed are gone:
 * runs it without waiting, at most 1000 times, then uv_loop_close. */
void bench_loop_close(uv_loop_t *loop);

#endif
