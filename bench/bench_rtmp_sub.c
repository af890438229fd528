/* bench_rtmp_sub — many light RTMP players in one process, for the nginx-rtmp
 * side-by-side (scenarios 2 and 3). Loopback only.
 *
 *   bench_rtmp_sub --port P [--app live] [--stream s] [--subs N]
 *                  [--warmup S] [--duration S] [--server-pid PID]
 *                  [--label L] [--json FILE]
 *
 * Each player: TCP connect, the plain RTMP handshake (C0/C1, echo S1 as C2),
 * then pipelined Set Chunk Size / connect / createStream / play (message
 * stream 1, which nginx-rtmp always hands out), then it only counts the bytes
 * it receives (and acknowledges them every 2.5 MB as RTMP asks). No parsing,
 * no decoding: the cheapest possible subscriber, so the server's cost is
 * what is measured. One epoll loop; connects are ramped (100 per 10 ms).
 *
 * Reported over the window (after --warmup): bytes delivered to all players,
 * the slowest/fastest player, this process's CPU, and the server's CPU and RSS
 * (/proc/PID). Output: a table and one JSON line (as moqc_bench).
 * No latency: the FLV carries no send timestamps (documented limitation).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/bench_util.h"

enum { ST_CONNECTING, ST_HANDSHAKE, ST_PLAYING, ST_DEAD };

#define HS_LEN 1536
#define ACK_WINDOW 2500000u

typedef struct player {
  int fd;
  int st;
  uint8_t hs[1 + 2 * HS_LEN];
  size_t hs_got;
  uint64_t rx_total, rx_win, acked_at;
} player;

static struct {
  uint16_t port;
  const char *app, *stream, *label, *json;
  int subs, server_pid;
  double warmup, duration;
} O = {1935, "live", "s", "rtmp", NULL, 10, 0, 2, 10};

static volatile sig_atomic_t g_stop;
static void on_sig(int s) {
  (void)s;
  g_stop = 1;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- AMF0 / chunk encoding ------------------------------------------------------- */

typedef struct wbuf {
  uint8_t b[4096];
  size_t n;
} wbuf;

static void w8(wbuf *w, uint8_t v) { w->b[w->n++] = v; }
static void w16(wbuf *w, uint16_t v) {
  w8(w, (uint8_t)(v >> 8));
  w8(w, (uint8_t)v);
}
static void w24(wbuf *w, uint32_t v) {
  w8(w, (uint8_t)(v >> 16));
  w16(w, (uint16_t)v);
}
static void w32(wbuf *w, uint32_t v) {
  w16(w, (uint16_t)(v >> 16));
  w16(w, (uint16_t)v);
}
static void wraw(wbuf *w, const void *p, size_t n) {
  memcpy(w->b + w->n, p, n);
  w->n += n;
}
static void amf_str(wbuf *w, const char *s) {
  w8(w, 0x02);
  w16(w, (uint16_t)strlen(s));
  wraw(w, s, strlen(s));
}
static void amf_num(wbuf *w, double d) {
  uint64_t u;
  memcpy(&u, &d, 8);
  w8(w, 0x00);
  for (int i = 7; i >= 0; i--) w8(w, (uint8_t)(u >> (8 * i)));
}
static void amf_key(wbuf *w, const char *k) {
  w16(w, (uint16_t)strlen(k));
  wraw(w, k, strlen(k));
}

/* One message in a single chunk (fmt 0); our chunk size is raised first. */
static void chunk(wbuf *out, uint8_t csid, uint8_t type, uint32_t msid, const wbuf *body) {
  w8(out, csid & 0x3f);
  w24(out, 0);
  w24(out, (uint32_t)body->n);
  w8(out, type);
  for (int i = 0; i < 4; i++) w8(out, (uint8_t)(msid >> (8 * i))); /* little-endian */
  wraw(out, body->b, body->n);
}

static void build_play(wbuf *out) {
  char tc[128];
  snprintf(tc, sizeof tc, "rtmp://127.0.0.1:%u/%s", O.port, O.app);
  wbuf m = {{0}, 0};
  w32(&m, 65536); /* Set Chunk Size */
  chunk(out, 2, 1, 0, &m);
  m.n = 0;
  amf_str(&m, "connect");
  amf_num(&m, 1);
  w8(&m, 0x03);
  amf_key(&m, "app");
  amf_str(&m, O.app);
  amf_key(&m, "flashVer");
  amf_str(&m, "LNX 9,0,124,2");
  amf_key(&m, "tcUrl");
  amf_str(&m, tc);
  amf_key(&m, "fpad");
  w8(&m, 0x01);
  w8(&m, 0);
  amf_key(&m, "capabilities");
  amf_num(&m, 15);
  amf_key(&m, "audioCodecs");
  amf_num(&m, 3191);
  amf_key(&m, "videoCodecs");
  amf_num(&m, 252);
  amf_key(&m, "videoFunction");
  amf_num(&m, 1);
  w16(&m, 0);
  w8(&m, 0x09);
  chunk(out, 3, 20, 0, &m);
  m.n = 0;
  amf_str(&m, "createStream");
  amf_num(&m, 2);
  w8(&m, 0x05);
  chunk(out, 3, 20, 0, &m);
  m.n = 0;
  amf_str(&m, "play");
  amf_num(&m, 0);
  w8(&m, 0x05);
  amf_str(&m, O.stream);
  amf_num(&m, -1000); /* live only */
  chunk(out, 8, 20, 1, &m);
}

/* ---- players ------------------------------------------------------------------------ */

static player *P;
static int g_ep;
static int n_up, n_dead, n_started;
static bool g_in_window;

static void kill_player(player *p) {
  if (p->st == ST_DEAD) return;
  if (p->st == ST_PLAYING) n_up--;
  p->st = ST_DEAD;
  n_dead++;
  close(p->fd);
}

static bool send_all(int fd, const uint8_t *b, size_t n) {
  while (n) {
    ssize_t r = send(fd, b, n, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false; /* tiny control writes: the socket buffer has room */
    b += r;
    n -= (size_t)r;
  }
  return true;
}

static void start_player(player *p, int i) {
  p->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(O.port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  int one = 1;
  setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  p->st = ST_CONNECTING;
  if (connect(p->fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) {
    kill_player(p);
    return;
  }
  struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u32 = (uint32_t)i};
  epoll_ctl(g_ep, EPOLL_CTL_ADD, p->fd, &ev);
}

static void on_writable(player *p, int i) {
  int err = 0;
  socklen_t el = sizeof err;
  getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &el);
  if (err) {
    kill_player(p);
    return;
  }
  uint8_t c01[1 + HS_LEN];
  c01[0] = 3;
  memset(c01 + 1, 0, 8); /* time 0, version 0: the plain handshake */
  for (int k = 9; k < 1 + HS_LEN; k++) c01[k] = (uint8_t)rand();
  if (!send_all(p->fd, c01, sizeof c01)) {
    kill_player(p);
    return;
  }
  p->st = ST_HANDSHAKE;
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
  epoll_ctl(g_ep, EPOLL_CTL_MOD, p->fd, &ev);
}

static void send_ack(player *p) {
  wbuf m = {{0}, 0}, out = {{0}, 0};
  w32(&m, (uint32_t)p->rx_total);
  chunk(&out, 2, 3, 0, &m);
  if (!send_all(p->fd, out.b, out.n)) kill_player(p);
  p->acked_at = p->rx_total;
}

static uint8_t g_rbuf[1 << 18];

static void on_readable(player *p) {
  for (int rounds = 0; rounds < 16; rounds++) {
    if (p->st == ST_HANDSHAKE) {
      ssize_t r = recv(p->fd, p->hs + p->hs_got, sizeof p->hs - p->hs_got, 0);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        kill_player(p);
        return;
      }
      if (r < 0) return;
      p->hs_got += (size_t)r;
      if (p->hs_got < sizeof p->hs) continue;
      wbuf out = {{0}, 0};
      static uint8_t c2_cmds[HS_LEN + 4096];
      memcpy(c2_cmds, p->hs + 1, HS_LEN); /* C2 = S1 */
      build_play(&out);
      memcpy(c2_cmds + HS_LEN, out.b, out.n);
      if (!send_all(p->fd, c2_cmds, HS_LEN + out.n)) {
        kill_player(p);
        return;
      }
      p->st = ST_PLAYING;
      n_up++;
      continue;
    }
    ssize_t r = recv(p->fd, g_rbuf, sizeof g_rbuf, 0);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
      kill_player(p);
      return;
    }
    if (r < 0) return;
    p->rx_total += (uint64_t)r;
    if (g_in_window) p->rx_win += (uint64_t)r;
    if (p->rx_total - p->acked_at >= ACK_WINDOW) send_ack(p);
    if ((size_t)r < sizeof g_rbuf) return;
  }
}

int main(int argc, char **argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--port")) O.port = (uint16_t)atoi(v);
    else if (!strcmp(k, "--app")) O.app = v;
    else if (!strcmp(k, "--stream")) O.stream = v;
    else if (!strcmp(k, "--subs")) O.subs = atoi(v);
    else if (!strcmp(k, "--warmup")) O.warmup = atof(v);
    else if (!strcmp(k, "--duration")) O.duration = atof(v);
    else if (!strcmp(k, "--server-pid")) O.server_pid = atoi(v);
    else if (!strcmp(k, "--label")) O.label = v;
    else if (!strcmp(k, "--json")) O.json = v;
    else {
      fprintf(stderr,
              "usage: bench_rtmp_sub --port P [--app A] [--stream S] [--subs N] "
              "[--warmup S] [--duration S] [--server-pid PID] [--label L] [--json F]\n");
      return 2;
    }
  }
  if (O.subs <= 0 || O.duration <= 0) return 2;
  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, on_sig);
  signal(SIGTERM, on_sig);
  P = calloc((size_t)O.subs, sizeof *P);
  g_ep = epoll_create1(0);
  if (!P || g_ep < 0) return 1;
  double t0 = now_s(), t_win0 = 0, t_win1 = 0;
  double cpu0 = 0, cpu1 = 0, scpu0 = -1, scpu1 = -1, last_ramp = 0;
  long rss_max = -1;
  int phase = 0; /* 0 ramp+warmup, 1 window, 2 done */
  struct epoll_event evs[512];
  while (!g_stop && phase < 2) {
    double now = now_s();
    if (n_started < O.subs && now - last_ramp >= 0.01) {
      last_ramp = now;
      for (int k = 0; k < 100 && n_started < O.subs; k++, n_started++)
        start_player(&P[n_started], n_started);
    }
    if (phase == 0 && n_started == O.subs && t_win0 == 0) t_win0 = now + O.warmup;
    if (phase == 0 && t_win0 > 0 && now >= t_win0) {
      phase = 1;
      g_in_window = true;
      cpu0 = bench_self_cpu_s();
      scpu0 = bench_proc_cpu_s(O.server_pid);
      t_win0 = now;
      t_win1 = now + O.duration;
    }
    if (phase == 1 && now >= t_win1) {
      phase = 2;
      g_in_window = false;
      cpu1 = bench_self_cpu_s();
      scpu1 = bench_proc_cpu_s(O.server_pid);
      t_win1 = now;
    }
    if (O.server_pid > 0) {
      long kb = bench_proc_rss_kb(O.server_pid);
      if (kb > rss_max) rss_max = kb;
    }
    if (now - t0 > O.warmup + O.duration + 120) break; /* bounded */
    int n = epoll_wait(g_ep, evs, 512, 5);
    for (int i = 0; i < n; i++) {
      player *p = &P[evs[i].data.u32];
      if (p->st == ST_CONNECTING && (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
        on_writable(p, (int)evs[i].data.u32);
      else if (p->st == ST_HANDSHAKE || p->st == ST_PLAYING) on_readable(p);
    }
  }
  double win = t_win1 > t_win0 ? t_win1 - t_win0 : 0;
  uint64_t bytes = 0, mn = UINT64_MAX, mx = 0;
  int starved = 0;
  for (int i = 0; i < O.subs; i++) {
    bytes += P[i].rx_win;
    if (P[i].rx_win < mn) mn = P[i].rx_win;
    if (P[i].rx_win > mx) mx = P[i].rx_win;
  }
  double avg = (double)bytes / O.subs;
  for (int i = 0; i < O.subs; i++)
    if ((double)P[i].rx_win < 0.5 * avg) starved++;
  double cpu = cpu1 - cpu0, scpu = scpu0 >= 0 && scpu1 >= 0 ? scpu1 - scpu0 : -1;
  double gb = (double)bytes / 1e9;
  printf("\nbench_rtmp_sub %s  %d players on rtmp://127.0.0.1:%u/%s/%s\n", O.label, O.subs, O.port,
         O.app, O.stream);
  printf("  window       %.2f s; players up %d, dead %d, starved (<50%% of mean) %d\n", win, n_up,
         n_dead, starved);
  printf(
      "  delivered    %.2f MB -> %.2f MB/s (%.1f Mbit/s); per player %.2f Mbit/s (min %.2f, max "
      "%.2f)\n",
      (double)bytes / 1e6, win > 0 ? (double)bytes / win / 1e6 : 0,
      win > 0 ? (double)bytes * 8 / win / 1e6 : 0, win > 0 ? avg * 8 / win / 1e6 : 0,
      win > 0 ? (double)mn * 8 / win / 1e6 : 0, win > 0 ? (double)mx * 8 / win / 1e6 : 0);
  printf(
      "  cpu          self %.2f s; server %.2f s = %.0f%% of a core; %.2f CPU-s per delivered GB\n",
      cpu, scpu, win > 0 ? scpu / win * 100 : 0, gb > 0 ? scpu / gb : 0);
  printf("  server RSS   max %ld KiB\n", rss_max);
  char j[1024];
  snprintf(
      j, sizeof j,
      "{\"bench\":\"bench_rtmp_sub\",\"label\":\"%s\",\"subs\":%d,\"subs_up\":%d,\"subs_dead\":%d,"
      "\"starved\":%d,\"window_s\":%.3f,\"bytes_rx\":%llu,\"MBps\":%.3f,\"cpu_s\":%.3f,"
      "\"relay_cpu_s\":%.3f,\"relay_rss_max_kb\":%ld,\"ok\":%s}",
      O.label, O.subs, n_up, n_dead, starved, win, (unsigned long long)bytes,
      win > 0 ? (double)bytes / win / 1e6 : 0, cpu, scpu, rss_max,
      n_up == O.subs && win > 0 ? "true" : "false");
  printf("%s\n", j);
  if (O.json) {
    FILE *f = fopen(O.json, "w");
    if (f) {
      fprintf(f, "%s\n", j);
      fclose(f);
    }
  }
  for (int i = 0; i < O.subs; i++)
    if (P[i].st != ST_DEAD) close(P[i].fd);
  return n_up == O.subs ? 0 : 1;
}
