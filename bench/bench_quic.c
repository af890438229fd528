/* bench_quic — raw QUIC bulk transfer vs TCP + TLS 1.3 on loopback.
 *
 * Both runs move N bytes (default 1 GiB) over ONE stream / ONE TCP connection
 * between two threads of this process, each thread with its own event loop
 * (QUIC) or blocking socket (TCP): the sender and the receiver never share a
 * core-bound loop, and each thread's CPU time is measured on its own
 * (CLOCK_THREAD_CPUTIME_ID: user + system, so the kernel's UDP/TCP work done
 * in a thread's context counts for it).
 *
 *   QUIC: moqc client (sender) -> moqc server (receiver), ALPN moq-lite-04,
 *         TLS_AES_128_GCM_SHA256, GSO + GRO unless --no-gso / --no-gro.
 *         The sender writes zero-copy slices of one 1 MiB buffer, keeping at
 *         most 32 MiB unacknowledged, refilling on `writable`.
 *   TCP:  GnuTLS 1.3 client (sender) -> GnuTLS server (receiver), the same
 *         certificate, AES-128-GCM only, 16 KiB records.
 *
 * Reported per run: goodput MB/s (bytes / time from the first write to the
 * receiver seeing the last byte), CPU ns per byte for sender and receiver,
 * and the "cpu-bound" rate (bytes per second of the busier thread's CPU time:
 * what one free core per side would carry, independent of machine load);
 * then the QUIC/TCP ratios.
 *
 * QUIC packets to a loopback peer are 16,200 bytes by default (the library's
 * moqc_quic_limits.loopback_udp_payload); --loopback-pkt N sets that size and
 * --loopback-pkt off uses what any other path gets: at most 1,452 bytes.
 *
 *   bench_quic [--bytes N[K|M|G]] [--no-gso] [--no-gro] [--cc cubic|bbr|bbr2|reno]
 *              [--loopback-pkt N|off] [--quic-only] [--tcp-only]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "moqc/buf.h"
#include "moqc/error.h"
#include "moqc/quic.h"

#include "common/bench_util.h"

#define MIB (1024.0 * 1024.0)
#define CHUNK (1u << 20)
#define HIGH_WATER (32ULL << 20)

typedef struct result {
  double secs;
  uint64_t tx_cpu_ns, rx_cpu_ns;
  uint64_t bytes;
  bool ok;
} result;

static struct {
  uint64_t bytes;
  bool no_gso, no_gro;
  moqc_quic_cc cc;
  bool quic, tcp;
  uint64_t loopback_pkt; /* 0: library default; UINT64_MAX: off */
} g_opt = {1ULL << 30, false, false, MOQC_QUIC_CC_CUBIC, true, true, 0};

static bench_cert g_bc;

/* ---- QUIC ---------------------------------------------------------------------- */

typedef struct qrecv {
  uv_loop_t loop;
  moqc_quic_server *srv;
  moqc_transport *t;
  uv_sem_t ready;
  uint16_t port;
  uint64_t got, t_end, cpu0, cpu1;
  bool started, done;
  moqc_quic_conn_info info;
} qrecv;

typedef struct qsend {
  uv_loop_t loop;
  moqc_transport *t;
  moqc_buf *buf;
  int64_t id;
  uint64_t sent, t0, t_acked, cpu0, cpu1;
  bool fin, done, failed;
  moqc_quic_conn_info info;
} qsend;

static void rx_data(void *ctx, int64_t id, const uint8_t *p, size_t n, bool fin) {
  (void)id;
  (void)p;
  qrecv *r = ctx;
  if (!r->started) {
    r->started = true;
    r->cpu0 = bench_thread_cpu_ns();
  }
  r->got += n;
  if (fin) {
    r->t_end = uv_hrtime();
    r->cpu1 = bench_thread_cpu_ns();
    r->done = true;
    moqc_quic_conn_info_get(r->t, &r->info);
  }
}

static void rx_closed(void *ctx, uint64_t code, const char *reason, bool by_peer) {
  (void)code;
  (void)reason;
  (void)by_peer;
  qrecv *r = ctx;
  r->t->ops->release(r->t);
  r->t = NULL;
  moqc_quic_server_del(r->srv);
  r->srv = NULL;
}

static const moqc_transport_handler rx_handler = {.stream_data = rx_data, .closed = rx_closed};

static void rx_on_conn(void *ctx, moqc_transport *t) {
  qrecv *r = ctx;
  r->t = t;
  moqc_transport_set_handler(t, &rx_handler, r);
}

static moqc_quic_limits bench_limits(void) {
  moqc_quic_limits l = bench_quic_limits(g_opt.loopback_pkt, 0);
  l.no_gso = g_opt.no_gso;
  l.no_gro = g_opt.no_gro;
  l.cc = g_opt.cc;
  return l;
}

static void rx_thread(void *arg) {
  qrecv *r = arg;
  uv_loop_init(&r->loop);
  moqc_quic_limits l = bench_limits();
  r->port = bench_quic_listen(&r->loop, &g_bc, &l, rx_on_conn, r, &r->srv);
  uv_sem_post(&r->ready);
  if (!r->srv) return;
  uv_run(&r->loop, UV_RUN_DEFAULT);
  uv_loop_close(&r->loop);
}

static void tx_pump(qsend *s) {
  moqc_transport *t = s->t;
  while (!s->fin && t->ops->queued(t, -1) < HIGH_WATER) {
    uint64_t left = g_opt.bytes - s->sent;
    size_t n = left < CHUNK ? (size_t)left : CHUNK;
    moqc_slice sl = {s->buf, 0, n};
    bool fin = s->sent + n == g_opt.bytes;
    if (t->ops->write(t, s->id, &sl, 1, fin) != MOQC_OK) {
      s->failed = true;
      return;
    }
    s->sent += n;
    s->fin = fin;
  }
  if (s->fin && !s->done && t->ops->queued(t, -1) == 0) {
    s->done = true;
    s->t_acked = uv_hrtime();
    s->cpu1 = bench_thread_cpu_ns();
    moqc_quic_conn_info_get(t, &s->info);
    t->ops->close(t, 0, "done");
  }
}

static void tx_writable(void *ctx) { tx_pump(ctx); }

static void tx_closed(void *ctx, uint64_t code, const char *reason, bool by_peer) {
  (void)code;
  (void)reason;
  (void)by_peer;
  qsend *s = ctx;
  if (!s->done) s->failed = true;
  s->t->ops->release(s->t);
  s->t = NULL;
}

static const moqc_transport_handler tx_handler = {.writable = tx_writable, .closed = tx_closed};

static void tx_on_connect(void *ctx, int err, const char *msg, moqc_transport *t) {
  qsend *s = ctx;
  if (err != MOQC_OK) {
    fprintf(stderr, "connect failed: %s\n", msg);
    s->failed = true;
    return;
  }
  s->t = t;
  moqc_transport_set_handler(t, &tx_handler, s);
  if (t->ops->open_stream(t, false, &s->id) != MOQC_OK) {
    s->failed = true;
    t->ops->close(t, 1, "open");
    return;
  }
  s->t0 = uv_hrtime();
  s->cpu0 = bench_thread_cpu_ns();
  tx_pump(s);
}

static result run_quic(moqc_quic_conn_info *info, moqc_quic_conn_info *rinfo) {
  result res = {0};
  qrecv r;
  memset(&r, 0, sizeof r);
  uv_sem_init(&r.ready, 0);
  uv_thread_t th;
  uv_thread_create(&th, rx_thread, &r);
  uv_sem_wait(&r.ready);
  qsend s;
  memset(&s, 0, sizeof s);
  uint8_t *w;
  s.buf = moqc_buf_alloc(CHUNK, &w);
  for (size_t i = 0; i < CHUNK; i++) w[i] = (uint8_t)(i * 7);
  uv_loop_init(&s.loop);
  moqc_quic_limits l = bench_limits();
  if (r.port && bench_quic_dial(&s.loop, r.port, &g_bc, &l, tx_on_connect, &s) == MOQC_OK)
    uv_run(&s.loop, UV_RUN_DEFAULT);
  uv_loop_close(&s.loop);
  uv_thread_join(&th);
  uv_sem_destroy(&r.ready);
  moqc_buf_unref(s.buf);
  res.ok = !s.failed && s.done && r.done && r.got == g_opt.bytes;
  res.bytes = r.got;
  res.secs = (double)(r.t_end - s.t0) / 1e9;
  res.tx_cpu_ns = s.cpu1 - s.cpu0;
  res.rx_cpu_ns = r.cpu1 - r.cpu0;
  *info = s.info;
  *rinfo = r.info;
  return res;
}

/* ---- TCP + TLS 1.3 ------------------------------------------------------------------ */

typedef struct trecv {
  int lfd;
  uint64_t got, t_end, cpu0, cpu1;
  bool ok;
} trecv;

static void tcp_rx_thread(void *arg) {
  trecv *r = arg;
  int fd = accept(r->lfd, NULL, NULL);
  if (fd < 0) return;
  gnutls_session_t s;
  if (bench_tls_session(&s, true, fd, &g_bc, NULL) != 0) {
    close(fd);
    return;
  }
  if (bench_tls_handshake(s)) {
    static uint8_t buf[1 << 16];
    bool first = true;
    while (r->got < g_opt.bytes) {
      ssize_t n = gnutls_record_recv(s, buf, sizeof buf);
      if (first) {
        r->cpu0 = bench_thread_cpu_ns();
        first = false;
      }
      if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) continue;
      if (n <= 0) break;
      r->got += (uint64_t)n;
    }
    r->t_end = uv_hrtime();
    r->cpu1 = bench_thread_cpu_ns();
    r->ok = r->got == g_opt.bytes;
    gnutls_bye(s, GNUTLS_SHUT_WR);
  }
  gnutls_deinit(s);
  close(fd);
}

static result run_tcp(const char **cipher) {
  result res = {0};
  trecv r;
  memset(&r, 0, sizeof r);
  struct sockaddr_in a;
  r.lfd = bench_tcp_listen(&a, 1);
  if (r.lfd < 0) return res;
  uv_thread_t th;
  uv_thread_create(&th, tcp_rx_thread, &r);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    perror("tcp connect");
    return res;
  }
  gnutls_certificate_credentials_t cred;
  gnutls_certificate_allocate_credentials(&cred);
  gnutls_session_t s;
  bench_tls_session(&s, false, fd, &g_bc, cred);
  uint64_t t0 = 0, cpu0 = 0, cpu1 = 0;
  if (bench_tls_handshake(s)) {
    *cipher = gnutls_cipher_get_name(gnutls_cipher_get(s));
    uint8_t *data = malloc(CHUNK);
    for (size_t i = 0; i < CHUNK; i++) data[i] = (uint8_t)(i * 7);
    t0 = uv_hrtime();
    cpu0 = bench_thread_cpu_ns();
    uint64_t sent = 0;
    while (sent < g_opt.bytes) {
      uint64_t left = g_opt.bytes - sent;
      size_t off = (size_t)(sent % CHUNK);
      size_t n = CHUNK - off < left ? CHUNK - off : (size_t)left;
      ssize_t w = gnutls_record_send(s, data + off, n);
      if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED) continue;
      if (w <= 0) break;
      sent += (uint64_t)w;
    }
    cpu1 = bench_thread_cpu_ns();
    free(data);
  }
  uv_thread_join(&th);
  gnutls_deinit(s);
  gnutls_certificate_free_credentials(cred);
  close(fd);
  close(r.lfd);
  res.ok = r.ok;
  res.bytes = r.got;
  res.secs = (double)(r.t_end - t0) / 1e9;
  res.tx_cpu_ns = cpu1 - cpu0;
  res.rx_cpu_ns = r.cpu1 - r.cpu0;
  return res;
}

/* ---- main -------------------------------------------------------------------------- */

static uint64_t parse_size(const char *s) {
  char *end;
  double v = strtod(s, &end);
  switch (*end) {
    case 'k':
    case 'K': v *= 1024; break;
    case 'm':
    case 'M': v *= 1024 * 1024; break;
    case 'g':
    case 'G': v *= 1024 * 1024 * 1024; break;
    default: break;
  }
  return (uint64_t)v;
}

static void usage(void) {
  fprintf(stderr,
          "usage: bench_quic [--bytes N[K|M|G]] [--no-gso] [--no-gro] "
          "[--cc cubic|bbr|bbr2|reno] [--loopback-pkt N|off] [--quic-only] [--tcp-only]\n");
  exit(2);
}

/* What one core per side could carry: bytes per second of the busier
 * thread's CPU time. Unlike wall-clock goodput it does not depend on what
 * else runs on the machine. */
static double capacity(const result *r) {
  uint64_t busy = r->tx_cpu_ns > r->rx_cpu_ns ? r->tx_cpu_ns : r->rx_cpu_ns;
  return busy ? (double)r->bytes / MIB / ((double)busy / 1e9) : 0;
}

static void print(const char *name, const result *r) {
  double mbs = (double)r->bytes / MIB / r->secs;
  printf(
      "%-10s %9.1f MB/s  %7.3f s  sender %6.2f ns/B  receiver %6.2f ns/B  cpu-bound %6.0f MB/s%s\n",
      name, mbs, r->secs, (double)r->tx_cpu_ns / (double)r->bytes,
      (double)r->rx_cpu_ns / (double)r->bytes, capacity(r), r->ok ? "" : "  (FAILED)");
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--bytes") && i + 1 < argc) g_opt.bytes = parse_size(argv[++i]);
    else if (!strcmp(argv[i], "--no-gso")) g_opt.no_gso = true;
    else if (!strcmp(argv[i], "--no-gro")) g_opt.no_gro = true;
    else if (!strcmp(argv[i], "--quic-only")) g_opt.tcp = false;
    else if (!strcmp(argv[i], "--tcp-only")) g_opt.quic = false;
    else if (!strcmp(argv[i], "--loopback-pkt") && i + 1 < argc) {
      if (!bench_parse_loopback_pkt(argv[++i], &g_opt.loopback_pkt)) usage();
    } else if (!strcmp(argv[i], "--cc") && i + 1 < argc) {
      const char *c = argv[++i];
      g_opt.cc = !strcmp(c, "bbr")    ? MOQC_QUIC_CC_BBR
                 : !strcmp(c, "bbr2") ? MOQC_QUIC_CC_BBR2
                 : !strcmp(c, "reno") ? MOQC_QUIC_CC_RENO
                                      : MOQC_QUIC_CC_CUBIC;
    } else usage();
  }
  if (g_opt.bytes == 0) usage();
  if (bench_cert_init(&g_bc) != 0) return 1;
  printf("bench_quic: %.0f MiB over one stream, loopback, sender and receiver on two threads\n",
         (double)g_opt.bytes / MIB);
  result q = {0}, t = {0};
  int rc = 0;
  if (g_opt.quic) {
    moqc_quic_conn_info info, rinfo;
    memset(&info, 0, sizeof info);
    memset(&rinfo, 0, sizeof rinfo);
    q = run_quic(&info, &rinfo);
    printf(
        "QUIC: cc %s, GSO %s (%llu batched sends), GRO %s, %llu packets sent, "
        "%llu received (ACKs), %.0f B per packet, rtt %.0f us\n",
        info.cc, info.gso ? "on" : "off", (unsigned long long)info.gso_batches,
        rinfo.gro ? "on" : "off", (unsigned long long)info.pkts_sent,
        (unsigned long long)info.pkts_recv,
        info.pkts_sent ? (double)info.bytes_sent / (double)info.pkts_sent : 0.0,
        (double)info.rtt_ns / 1e3);
    print("quic", &q);
    rc |= !q.ok;
  }
  if (g_opt.tcp) {
    const char *cipher = "?";
    t = run_tcp(&cipher);
    printf("TCP: TLS 1.3 %s, 16 KiB records\n", cipher);
    print("tcp+tls", &t);
    rc |= !t.ok;
  }
  if (g_opt.quic && g_opt.tcp && q.ok && t.ok)
    printf("ratio quic/tcp: %.2f (goodput), %.2f (cpu-bound), cpu/B sender %.2f, receiver %.2f\n",
           ((double)q.bytes / q.secs) / ((double)t.bytes / t.secs), capacity(&q) / capacity(&t),
           ((double)q.tx_cpu_ns / (double)q.bytes) / ((double)t.tx_cpu_ns / (double)t.bytes),
           ((double)q.rx_cpu_ns / (double)q.bytes) / ((double)t.rx_cpu_ns / (double)t.bytes));
  bench_cert_free(&g_bc);
  return rc;
}
