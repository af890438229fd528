/* bench_nats — a minimal NATS load client for the chat-bus side-by-side
 * (scenario 5): P publishers x S subscribers, every subscriber receives every
 * publisher (subject bench.<i>, subscription bench.>), plain TCP or TLS.
 *
 *   bench_nats --port P [--tls] [--pubs 10] [--subs 10] [--size 100]
 *              [--window 256] [--warmup S] [--duration S] [--server-pid PID]
 *              [--label L] [--json FILE]
 *
 * Same traffic shape and flow control as `moqc_bench --profile chat`: each
 * message carries (publisher, sequence, CLOCK_MONOTONIC send time); a
 * publisher keeps at most --window messages ahead of its slowest subscriber.
 * The NATS text protocol is tiny: CONNECT, SUB, PUB, PING/PONG, MSG. One
 * thread per connection with blocking sockets (GnuTLS for TLS: the server
 * sends INFO in clear, then the client upgrades). Loopback only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/bench_util.h"

#define MAXN 64
#define HB 20 /* payload header: pub u32, seq u64, send_ns u64 */

static struct {
  uint16_t port;
  bool tls;
  int pubs, subs;
  size_t size;
  uint64_t window;
  double warmup, duration;
  int server_pid;
  const char *label, *json;
} O = {4222, false, 10, 10, 100, 256, 2, 10, 0, "nats", NULL};

static gnutls_certificate_credentials_t g_cred;
static _Atomic uint64_t g_highest[MAXN][MAXN]; /* [sub][pub] */
static _Atomic uint64_t g_win0, g_win1;        /* window, CLOCK_MONOTONIC ns */
static atomic_bool g_stop_pub, g_stop_sub;
static _Atomic uint64_t g_tx_win, g_rx_win, g_rx_all;

/* ---- latency histogram (as moqc_bench: 64 buckets per octave) ------------------- */
#define H_BUCKETS (128 + 57 * 64)
typedef struct hist {
  uint64_t b[H_BUCKETS], n, max;
} hist;
static size_t h_index(uint64_t v) {
  if (v < 128) return (size_t)v;
  int e = 63 - __builtin_clzll(v);
  return (size_t)(128 + (uint64_t)(e - 7) * 64 + ((v >> (e - 6)) - 64));
}
static uint64_t h_value(size_t i) {
  if (i < 128) return i;
  size_t e = (i - 128) / 64 + 7;
  uint64_t m = (i - 128) % 64 + 64;
  return (m << (e - 6)) + ((uint64_t)1 << (e - 6)) / 2;
}
static uint64_t h_pct(const hist *h, double p) {
  if (!h->n) return 0;
  uint64_t want = (uint64_t)(p / 100.0 * (double)h->n), acc = 0;
  if (want >= h->n) want = h->n - 1;
  for (size_t i = 0; i < H_BUCKETS; i++)
    if ((acc += h->b[i]) > want) return h_value(i) > h->max ? h->max : h_value(i);
  return h->max;
}

/* ---- connection ------------------------------------------------------------------ */

typedef struct conn {
  int fd;
  gnutls_session_t tls;
  bool has_tls;
} conn;

static ssize_t c_send(conn *c, const void *p, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = c->has_tls ? gnutls_record_send(c->tls, (const char *)p + done, n - done)
                           : send(c->fd, (const char *)p + done, n - done, MSG_NOSIGNAL);
    if (r < 0) {
      if (c->has_tls ? (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) : errno == EINTR)
        continue;
      return -1;
    }
    done += (size_t)r;
  }
  return (ssize_t)n;
}

static ssize_t c_recv(conn *c, void *p, size_t n) {
  for (;;) {
    ssize_t r = c->has_tls ? gnutls_record_recv(c->tls, p, n) : recv(c->fd, p, n, 0);
    if (r < 0 && (c->has_tls ? r == GNUTLS_E_INTERRUPTED : errno == EINTR)) continue;
    if (r < 0 && (c->has_tls ? r == GNUTLS_E_AGAIN : (errno == EAGAIN || errno == EWOULDBLOCK)))
      return -2; /* receive timeout: the caller checks whether to stop */
    return r;
  }
}

/* Read one line (the INFO greeting) byte by byte, before any TLS. */
static int read_line_raw(int fd, char *buf, size_t cap) {
  size_t n = 0;
  while (n + 1 < cap) {
    char ch;
    ssize_t r = recv(fd, &ch, 1, 0);
    if (r <= 0) return -1;
    buf[n++] = ch;
    if (ch == '\n') break;
  }
  buf[n] = 0;
  return (int)n;
}

static int conn_open(conn *c) {
  memset(c, 0, sizeof *c);
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(O.port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct timeval tv = {10, 0};
  setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) return -1;
  char line[4096];
  if (read_line_raw(c->fd, line, sizeof line) <= 0 || strncmp(line, "INFO", 4) != 0) return -1;
  if (O.tls) {
    if (gnutls_init(&c->tls, GNUTLS_CLIENT) != 0) return -1;
    gnutls_set_default_priority(c->tls);
    gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, g_cred);
    gnutls_transport_set_int(c->tls, c->fd);
    int rv;
    do rv = gnutls_handshake(c->tls);
    while (rv < 0 && !gnutls_error_is_fatal(rv));
    if (rv < 0) {
      fprintf(stderr, "bench_nats: TLS handshake: %s\n", gnutls_strerror(rv));
      return -1;
    }
    c->has_tls = true;
  }
  char cmd[256];
  int n = snprintf(cmd, sizeof cmd,
                   "CONNECT {\"verbose\":false,\"pedantic\":false,\"tls_required\":%s,"
                   "\"name\":\"bench_nats\",\"lang\":\"c\",\"version\":\"0.1\",\"protocol\":1}\r\n",
                   O.tls ? "true" : "false");
  return c_send(c, cmd, (size_t)n) < 0 ? -1 : 0;
}

static void conn_close(conn *c) {
  if (c->has_tls) gnutls_deinit(c->tls);
  if (c->fd >= 0) close(c->fd);
}

/* ---- subscriber ------------------------------------------------------------------ */

typedef struct sub {
  int idx;
  conn c;
  pthread_t th;
  hist h;
  bool ok;
  atomic_bool subscribed;
} sub;

static void on_msg(sub *s, const uint8_t *p, size_t len) {
  atomic_fetch_add_explicit(&g_rx_all, 1, memory_order_relaxed);
  if (len < HB) return;
  uint32_t pub;
  uint64_t seq, ts;
  memcpy(&pub, p, 4);
  memcpy(&seq, p + 4, 8);
  memcpy(&ts, p + 12, 8);
  if (pub < MAXN) atomic_store_explicit(&g_highest[s->idx][pub], seq, memory_order_relaxed);
  uint64_t w0 = atomic_load_explicit(&g_win0, memory_order_relaxed);
  uint64_t w1 = atomic_load_explicit(&g_win1, memory_order_relaxed);
  if (w0 && ts >= w0 && (!w1 || ts < w1)) {
    uint64_t now = bench_now_ns(), lat = now > ts ? now - ts : 0;
    s->h.b[h_index(lat)]++;
    s->h.n++;
    if (lat > s->h.max) s->h.max = lat;
    atomic_fetch_add_explicit(&g_rx_win, 1, memory_order_relaxed);
  }
}

/* Parse what is buffered; returns bytes consumed. */
static size_t parse(sub *s, uint8_t *b, size_t n) {
  size_t off = 0;
  for (;;) {
    uint8_t *nl = memchr(b + off, '\n', n - off);
    if (!nl) return off;
    size_t ll = (size_t)(nl - (b + off)) + 1;
    char *line = (char *)b + off;
    if (ll >= 4 && !memcmp(line, "MSG ", 4)) {
      /* MSG <subject> <sid> [reply] <len>\r\n */
      char *end = (char *)nl;
      while (end > line && (end[-1] == '\r' || end[-1] == '\n')) end--;
      char *sp = end;
      while (sp > line && sp[-1] != ' ') sp--;
      size_t len = strtoul(sp, NULL, 10);
      if (off + ll + len + 2 > n) return off; /* payload not complete */
      on_msg(s, b + off + ll, len);
      off += ll + len + 2;
    } else {
      if (ll >= 4 && !memcmp(line, "PING", 4)) c_send(&s->c, "PONG\r\n", 6);
      if (ll >= 4 && !memcmp(line, "PONG", 4)) atomic_store(&s->subscribed, true);
      if (ll >= 4 && !memcmp(line, "-ERR", 4)) fprintf(stderr, "bench_nats: %.*s", (int)ll, line);
      off += ll;
    }
  }
}

static void *sub_main(void *arg) {
  sub *s = arg;
  static const char subcmd[] = "SUB bench.> 1\r\nPING\r\n";
  if (c_send(&s->c, subcmd, sizeof subcmd - 1) < 0) return NULL;
  size_t cap = 1 << 20, have = 0;
  uint8_t *buf = malloc(cap);
  if (!buf) return NULL;
  struct timeval tv = {0, 200000};
  setsockopt(s->c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  while (!atomic_load(&g_stop_sub)) {
    ssize_t r = c_recv(&s->c, buf + have, cap - have);
    if (r == -2) continue;
    if (r <= 0) break;
    have += (size_t)r;
    size_t used = parse(s, buf, have);
    memmove(buf, buf + used, have - used);
    have -= used;
  }
  s->ok = true;
  free(buf);
  return NULL;
}

/* ---- publisher -------------------------------------------------------------------- */

typedef struct pub {
  int idx;
  conn c;
  pthread_t th;
  uint64_t seq;
} pub;

static void *pub_main(void *arg) {
  pub *p = arg;
  char hdr[64];
  int hl = snprintf(hdr, sizeof hdr, "PUB bench.%d %zu\r\n", p->idx, O.size);
  size_t msg_len = (size_t)hl + O.size + 2;
  size_t batch_max = 256;
  uint8_t *buf = calloc(batch_max, msg_len);
  if (!buf) return NULL;
  while (!atomic_load(&g_stop_pub)) {
    uint64_t lo = UINT64_MAX;
    for (int s = 0; s < O.subs; s++) {
      uint64_t h = atomic_load_explicit(&g_highest[s][p->idx], memory_order_relaxed);
      if (h < lo) lo = h;
    }
    uint64_t out = p->seq > lo ? p->seq - lo : 0;
    uint64_t n = out >= O.window ? 0 : O.window - out;
    if (n > batch_max) n = batch_max;
    if (n == 0) {
      struct timespec ts = {0, 20000};
      nanosleep(&ts, NULL);
      continue;
    }
    size_t off = 0;
    uint64_t t = bench_now_ns();
    uint64_t w0 = atomic_load(&g_win0), w1 = atomic_load(&g_win1);
    for (uint64_t k = 0; k < n; k++) {
      memcpy(buf + off, hdr, (size_t)hl);
      uint8_t *pl = buf + off + hl;
      uint32_t pi = (uint32_t)p->idx;
      uint64_t seq = ++p->seq;
      memcpy(pl, &pi, 4);
      memcpy(pl + 4, &seq, 8);
      memcpy(pl + 12, &t, 8);
      memcpy(pl + O.size, "\r\n", 2);
      off += msg_len;
      if (w0 && t >= w0 && (!w1 || t < w1))
        atomic_fetch_add_explicit(&g_tx_win, 1, memory_order_relaxed);
    }
    if (c_send(&p->c, buf, off) < 0) break;
  }
  free(buf);
  return NULL;
}

/* ---- main -------------------------------------------------------------------------- */

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
    if (!strcmp(k, "--tls")) {
      O.tls = true;
      continue;
    }
    i++;
    if (!strcmp(k, "--port")) O.port = (uint16_t)atoi(v);
    else if (!strcmp(k, "--pubs")) O.pubs = atoi(v);
    else if (!strcmp(k, "--subs")) O.subs = atoi(v);
    else if (!strcmp(k, "--size")) O.size = strtoul(v, NULL, 10);
    else if (!strcmp(k, "--window")) O.window = strtoull(v, NULL, 10);
    else if (!strcmp(k, "--warmup")) O.warmup = atof(v);
    else if (!strcmp(k, "--duration")) O.duration = atof(v);
    else if (!strcmp(k, "--server-pid")) O.server_pid = atoi(v);
    else if (!strcmp(k, "--label")) O.label = v;
    else if (!strcmp(k, "--json")) O.json = v;
    else {
      fprintf(stderr,
              "usage: bench_nats --port P [--tls] [--pubs N] [--subs N] [--size B] "
              "[--window N] [--warmup S] [--duration S] [--server-pid PID] [--label L] "
              "[--json F]\n");
      return 2;
    }
  }
  if (O.pubs < 1 || O.pubs > MAXN || O.subs < 1 || O.subs > MAXN || O.size < HB) return 2;
  signal(SIGPIPE, SIG_IGN);
  gnutls_global_init();
  gnutls_certificate_allocate_credentials(&g_cred);
  static sub S[MAXN];
  static pub P[MAXN];
  int fails = 0;
  for (int i = 0; i < O.subs; i++) {
    S[i].idx = i;
    if (conn_open(&S[i].c) != 0) fails++;
    else pthread_create(&S[i].th, NULL, sub_main, &S[i]);
  }
  for (int i = 0; i < O.pubs; i++) {
    P[i].idx = i;
    if (conn_open(&P[i].c) != 0) fails++;
  }
  if (fails) {
    fprintf(stderr, "bench_nats: %d connection(s) failed\n", fails);
    return 1;
  }
  for (int w = 0; w < 500; w++) { /* every SUB acknowledged (PONG), bounded */
    bool all = true;
    for (int i = 0; i < O.subs; i++) all = all && atomic_load(&S[i].subscribed);
    if (all) break;
    sleep_s(0.01);
  }
  for (int i = 0; i < O.pubs; i++) pthread_create(&P[i].th, NULL, pub_main, &P[i]);
  sleep_s(O.warmup);
  double cpu0 = bench_self_cpu_s(), scpu0 = bench_proc_cpu_s(O.server_pid);
  uint64_t t0 = bench_now_ns();
  atomic_store(&g_win0, t0);
  sleep_s(O.duration);
  uint64_t t1 = bench_now_ns();
  atomic_store(&g_win1, t1);
  double cpu1 = bench_self_cpu_s(), scpu1 = bench_proc_cpu_s(O.server_pid);
  atomic_store(&g_stop_pub, true);
  for (int i = 0; i < O.pubs; i++) pthread_join(P[i].th, NULL);
  sleep_s(1.0); /* let in-window messages arrive */
  atomic_store(&g_stop_sub, true);
  for (int i = 0; i < O.subs; i++) pthread_join(S[i].th, NULL);
  hist h;
  memset(&h, 0, sizeof h);
  for (int i = 0; i < O.subs; i++) {
    for (size_t b = 0; b < H_BUCKETS; b++) h.b[b] += S[i].h.b[b];
    h.n += S[i].h.n;
    if (S[i].h.max > h.max) h.max = S[i].h.max;
  }
  double win = (double)(t1 - t0) / 1e9;
  uint64_t rx = atomic_load(&g_rx_win), tx = atomic_load(&g_tx_win);
  double cpu = cpu1 - cpu0, scpu = scpu0 >= 0 && scpu1 >= 0 ? scpu1 - scpu0 : -1;
  double bytes = (double)rx * (double)O.size;
  printf("\nbench_nats %s  %d pub x %d sub, %zu-byte messages, %s\n", O.label, O.pubs, O.subs,
         O.size, O.tls ? "TLS" : "plain TCP");
  printf("  window       %.2f s\n", win);
  printf("  sent         %llu msgs (%.0f/s)\n", (unsigned long long)tx, (double)tx / win);
  printf("  delivered    %llu msgs -> %.0f msgs/s, %.2f MB/s; expected %llu\n",
         (unsigned long long)rx, (double)rx / win, bytes / win / 1e6,
         (unsigned long long)(tx * (uint64_t)O.subs));
  printf("  latency      p50 %.3f ms  p99 %.3f ms  max %.3f ms\n", (double)h_pct(&h, 50) / 1e6,
         (double)h_pct(&h, 99) / 1e6, (double)h.max / 1e6);
  printf("  cpu          self %.2f s; server %.2f s = %.0f%% of a core\n", cpu, scpu,
         scpu / win * 100);
  char j[1024];
  snprintf(
      j, sizeof j,
      "{\"bench\":\"bench_nats\",\"label\":\"%s\",\"tls\":%s,\"pubs\":%d,\"subs\":%d,\"size\":%zu,"
      "\"window_s\":%.3f,\"frames_tx\":%llu,\"frames_rx\":%llu,\"frames_per_s\":%.1f,"
      "\"lat_p50_ms\":%.4f,\"lat_p99_ms\":%.4f,\"lat_max_ms\":%.4f,\"cpu_s\":%.3f,"
      "\"relay_cpu_s\":%.3f,\"ok\":true}",
      O.label, O.tls ? "true" : "false", O.pubs, O.subs, O.size, win, (unsigned long long)tx,
      (unsigned long long)rx, (double)rx / win, (double)h_pct(&h, 50) / 1e6,
      (double)h_pct(&h, 99) / 1e6, (double)h.max / 1e6, cpu, scpu);
  printf("%s\n", j);
  if (O.json) {
    FILE *f = fopen(O.json, "w");
    if (f) {
      fprintf(f, "%s\n", j);
      fclose(f);
    }
  }
  for (int i = 0; i < O.pubs; i++) conn_close(&P[i].c);
  for (int i = 0; i < O.subs; i++) conn_close(&S[i].c);
  gnutls_certificate_free_credentials(g_cred);
  gnutls_global_deinit();
  return 0;
}
