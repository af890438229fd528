/* bench_util — shared helpers of the benchmark programs (see bench_util.h). */
#include "bench_util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "moqc/error.h"

/* ---- time and CPU --------------------------------------------------------- */

static uint64_t clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t bench_now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

uint64_t bench_thread_cpu_ns(void) { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }

double bench_self_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

double bench_proc_cpu_s(int pid) {
  if (pid <= 0) return -1;
  char path[64], buf[2048];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  p += 2; /* field 3 (state) */
  unsigned long long ut = 0, st = 0;
  for (int field = 3; field <= 15 && *p; field++) {
    unsigned long long v = strtoull(p, NULL, 10);
    if (field == 14) ut = v;
    if (field == 15) st = v;
    p = strchr(p, ' ');
    if (!p) break;
    p++;
  }
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

long bench_proc_rss_kb(int pid) {
  char path[64], line[256];
  if (pid > 0) snprintf(path, sizeof path, "/proc/%d/status", pid);
  else snprintf(path, sizeof path, "/proc/self/status");
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  long kb = -1;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "VmRSS:", 6) == 0) {
      kb = strtol(line + 6, NULL, 10);
      break;
    }
  }
  fclose(f);
  return kb;
}

/* ---- certificate, TLS ----------------------------------------------------- */

int bench_cert_init(bench_cert *c) {
  memset(c, 0, sizeof *c);
  const char *hosts[] = {"localhost"};
  if (moqc_cert_self_signed(hosts, 1, &c->cert) != MOQC_OK) {
    fprintf(stderr, "bench: cannot generate a certificate\n");
    return -1;
  }
  /* The same certificate and key for GnuTLS: through a private scratch dir. */
  char dir[] = "/tmp/moqc-bench-XXXXXX", crt[64], key[64];
  if (!mkdtemp(dir)) {
    perror("bench: mkdtemp");
    bench_cert_free(c);
    return -1;
  }
  snprintf(crt, sizeof crt, "%s/cert.pem", dir);
  snprintf(key, sizeof key, "%s/key.pem", dir);
  int rc = moqc_cert_write_pem(c->cert, crt, key) == MOQC_OK &&
                   gnutls_certificate_allocate_credentials(&c->cred) == GNUTLS_E_SUCCESS &&
                   gnutls_certificate_set_x509_key_file(c->cred, crt, key, GNUTLS_X509_FMT_PEM) >= 0
               ? 0
               : -1;
  unlink(crt);
  unlink(key);
  rmdir(dir);
  if (rc != 0) {
    fprintf(stderr, "bench: cannot load the certificate into GnuTLS\n");
    bench_cert_free(c);
  }
  return rc;
}

void bench_cert_free(bench_cert *c) {
  if (c->cred) gnutls_certificate_free_credentials(c->cred);
  if (c->cert) moqc_cert_unref(c->cert);
  memset(c, 0, sizeof *c);
}

static const char k_tls_priority[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:-GROUP-ALL:+GROUP-X25519";

int bench_tls_session(gnutls_session_t *s, bool server, int fd, const bench_cert *c,
                      gnutls_certificate_credentials_t client_cred) {
  if (gnutls_init(s, server ? GNUTLS_SERVER : GNUTLS_CLIENT) != GNUTLS_E_SUCCESS) return -1;
  gnutls_priority_set_direct(*s, k_tls_priority, NULL);
  gnutls_credentials_set(*s, GNUTLS_CRD_CERTIFICATE, server ? c->cred : client_cred);
  if (!server) gnutls_server_name_set(*s, GNUTLS_NAME_DNS, "localhost", 9);
  gnutls_transport_set_int(*s, fd);
  return 0;
}

bool bench_tls_handshake(gnutls_session_t s) {
  int rc;
  do {
    rc = gnutls_handshake(s);
  } while (rc < 0 && !gnutls_error_is_fatal(rc));
  return rc == 0;
}

/* ---- QUIC and TCP on loopback ------------------------------------------------ */

moqc_quic_limits bench_quic_limits(uint64_t loopback_pkt, uint32_t max_connections) {
  moqc_quic_limits l;
  memset(&l, 0, sizeof l);
  l.loopback_udp_payload = loopback_pkt;
  l.max_connections = max_connections;
  return l;
}

bool bench_parse_loopback_pkt(const char *v, uint64_t *out) {
  if (!strcmp(v, "off")) {
    *out = UINT64_MAX;
    return true;
  }
  char *end;
  unsigned long long n = strtoull(v, &end, 10);
  if (*end || end == v || n < 1200 || n > 65000) return false;
  *out = n;
  return true;
}

uint16_t bench_quic_listen(uv_loop_t *loop, const bench_cert *c, const moqc_quic_limits *l,
                           moqc_quic_on_connection on_connection, void *ctx,
                           moqc_quic_server **out) {
  moqc_quic_server_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.host = "127.0.0.1";
  cfg.cert = c->cert;
  cfg.limits = *l;
  cfg.on_connection = on_connection;
  cfg.ctx = ctx;
  *out = NULL;
  if (moqc_quic_server_new(loop, &cfg, out) != MOQC_OK) {
    fprintf(stderr, "bench: quic server failed\n");
    *out = NULL;
    return 0;
  }
  return moqc_quic_server_port(*out);
}

int bench_quic_dial(uv_loop_t *loop, uint16_t port, const bench_cert *c, const moqc_quic_limits *l,
                    moqc_quic_on_connect cb, void *ctx) {
  static const char *const alpn[] = {"moq-lite-04"};
  moqc_quic_client_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.host = "127.0.0.1";
  cfg.port = port;
  cfg.alpn = alpn;
  cfg.alpn_count = 1;
  cfg.tls.pin_sha256 = moqc_cert_fingerprint(c->cert);
  cfg.limits = *l;
  return moqc_quic_connect(loop, &cfg, cb, ctx, NULL);
}

int bench_tcp_listen(struct sockaddr_in *addr, int backlog) {
  memset(addr, 0, sizeof *addr);
  addr->sin_family = AF_INET;
  addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof *addr;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)addr, sizeof *addr) != 0 || listen(fd, backlog) != 0 ||
      getsockname(fd, (struct sockaddr *)addr, &al) != 0) {
    perror("bench: tcp listen");
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

void bench_loop_close(uv_loop_t *loop) {
  for (int i = 0; i < 1000 && uv_loop_alive(loop); i++) uv_run(loop, UV_RUN_NOWAIT);
  uv_loop_close(loop);
}
