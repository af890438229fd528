/* bench_fanout — what the transport alone costs to fan one live stream out to
 * N subscribers on loopback: no MoQ session, no relay, no cache. It is the
 * floor under scenario 2 of bench/run.sh, and puts QUIC next to TCP with and
 * without TLS on the same traffic.
 *
 * One sender thread writes the video profile of moqc_bench (default 2 Mbit/s,
 * 30 fps, 60-frame groups whose first frame is 10x the others) to each of N
 * receivers, which run in a second thread. Only the sender's CPU time counts
 * (CLOCK_THREAD_CPUTIME_ID, user + system: on loopback the kernel's delivery
 * to the receiving socket runs in the sender's context, as it does for the
 * relay), over a window after a warm-up, divided by the bytes it sent in that
 * window. Every receiver must get every byte, or the run is marked FAILED.
 *
 *   quic     moqc's raw QUIC server: per receiver one uni stream per group,
 *            every frame a zero-copy slice of one refcounted buffer, as the
 *            relay writes them.
 *   tcp+tls  one TCP connection per receiver, GnuTLS TLS 1.3 AES-128-GCM,
 *            one gnutls_record_send per frame (16 KiB records).
 *   tcp      one TCP connection per receiver, one send() per frame: what
 *            nginx-rtmp does, less RTMP.
 *
 *   bench_fanout [--subs N] [--bitrate BPS] [--seconds S] [--warmup S]
 *                [--loopback-pkt N|off] [--only quic|tcp+tls|tcp]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "moqc/buf.h"
#include "moqc/error.h"
#include "moqc/quic.h"

#include "common/bench_util.h"

#define MAX_SUBS 4096

static struct {
  unsigned subs, fps, group;
  uint64_t bitrate;
  double seconds, warmup;
  uint64_t loopback_pkt; /* 0: library default; UINT64_MAX: off */
  const char *only;
  size_t frame, first; /* derived */
} g = {100, 30, 60, 2000000, 8, 2, 0, NULL, 0, 0};

static bench_cert g_bc;

typedef struct result {
  uint64_t cpu_ns, bytes; /* sender, over the window */
  uint64_t sent, got;     /* whole run: every byte sent must arrive */
  bool ok;
} result;

static size_t frame_size(uint64_t index) { return index % g.group == 0 ? g.first : g.frame; }

/* The sender's clock: which frame is due, and the measuring window. */
typedef struct pacer {
  uint64_t t0, frames;
  uint64_t cpu0, cpu1, bytes0, bytes1, sent;
  bool measuring, done;
} pacer;

/* When the next frame is due. */
static uint64_t pacer_next(const pacer *p) {
  return p->t0 + (uint64_t)((double)p->frames * 1e9 / g.fps);
}

/* Frames due by now (0 once the run is over). Opens and closes the window. */
static uint64_t pacer_due(pacer *p) {
  double el = (double)(bench_now_ns() - p->t0) / 1e9;
  if (!p->measuring && !p->done && el >= g.warmup) {
    p->measuring = true;
    p->cpu0 = bench_thread_cpu_ns();
    p->bytes0 = p->sent;
  }
  if (p->measuring && el >= g.warmup + g.seconds) {
    p->measuring = false;
    p->done = true;
    p->cpu1 = bench_thread_cpu_ns();
    p->bytes1 = p->sent;
  }
  if (p->done) return 0;
  uint64_t want = (uint64_t)(el * g.fps) + 1;
  return want > p->frames ? want - p->frames : 0;
}

/* ---- QUIC ---------------------------------------------------------------------- */

typedef struct qsender qsender;

typedef struct qsub {
  qsender *s;
  moqc_transport *t;
  int64_t id; /* current group's stream, -1 before the first */
} qsub;

struct qsender {
  uv_loop_t loop;
  moqc_quic_server *srv;
  uv_timer_t tick, guard;
  uv_sem_t ready;
  uint16_t port;
  qsub subs[MAX_SUBS];
  unsigned n, closed;
  moqc_buf *buf;
  pacer pc;
  bool failed, closing;
  uint64_t drain_until;
};

typedef struct qreceiver {
  uv_loop_t loop;
  uv_timer_t guard;
  uint16_t port; /* the sender's */
  unsigned closed;
  uint64_t got;
  bool failed;
} qreceiver;

static moqc_quic_limits limits(void) { return bench_quic_limits(g.loopback_pkt, MAX_SUBS + 16); }

static void q_sender_close_all(qsender *s) {
  if (s->closing) return;
  s->closing = true;
  uv_timer_stop(&s->tick);
  for (unsigned i = 0; i < s->n; i++)
    if (s->subs[i].t) s->subs[i].t->ops->close(s->subs[i].t, 0, "done");
}

static void q_send_frame(qsender *s) {
  uint64_t idx = s->pc.frames++;
  size_t sz = frame_size(idx);
  moqc_slice sl = {s->buf, 0, sz};
  for (unsigned i = 0; i < s->n; i++) {
    qsub *q = &s->subs[i];
    if (!q->t) continue;
    moqc_transport *t = q->t;
    if (idx % g.group == 0) {
      if (q->id >= 0) (void)t->ops->write(t, q->id, NULL, 0, true);
      if (t->ops->open_stream(t, false, &q->id) != MOQC_OK) {
        s->failed = true;
        continue;
      }
    }
    if (t->ops->write(t, q->id, &sl, 1, false) != MOQC_OK) {
      s->failed = true;
      continue;
    }
    s->pc.sent += sz;
  }
}

/* Wakes when the next frame is due (like a relay woken by its publisher),
 * then every 10 ms while the last bytes drain. */
static void q_on_tick(uv_timer_t *h) {
  qsender *s = h->data;
  uint64_t due = pacer_due(&s->pc);
  for (uint64_t i = 0; i < due && i < 4; i++) q_send_frame(s);
  if (!s->pc.done) {
    uint64_t next = pacer_next(&s->pc), now = bench_now_ns();
    uv_timer_start(&s->tick, q_on_tick, next > now ? (next - now + 999999) / 1000000 : 0, 0);
    return;
  }
  uv_timer_start(&s->tick, q_on_tick, 10, 0);
  /* Window over: end each stream, let the data drain (bounded), close. */
  bool idle = true;
  for (unsigned i = 0; i < s->n; i++) {
    qsub *q = &s->subs[i];
    if (!q->t) continue;
    if (q->id >= 0) {
      (void)q->t->ops->write(q->t, q->id, NULL, 0, true);
      q->id = -2; /* ended */
    }
    if (q->t->ops->queued(q->t, -1) > 0) idle = false;
  }
  if (!s->drain_until) s->drain_until = bench_now_ns() + 5000000000ULL;
  if (idle || bench_now_ns() > s->drain_until) q_sender_close_all(s);
}

static void q_sub_closed(void *ctx, uint64_t code, const char *reason, bool by_peer) {
  (void)code;
  (void)reason;
  (void)by_peer;
  qsub *q = ctx;
  qsender *s = q->s;
  q->t->ops->release(q->t);
  q->t = NULL;
  if (++s->closed == s->n && s->closing) uv_stop(&s->loop);
}

static const moqc_transport_handler q_sub_handler = {.closed = q_sub_closed};

static void q_on_conn(void *ctx, moqc_transport *t) {
  qsender *s = ctx;
  if (s->n == g.subs || s->closing) {
    t->ops->close(t, 1, "full");
    t->ops->release(t);
    return;
  }
  qsub *q = &s->subs[s->n++];
  q->s = s;
  q->t = t;
  q->id = -1;
  moqc_transport_set_handler(t, &q_sub_handler, q);
  if (s->n == g.subs) {
    s->pc.t0 = bench_now_ns();
    uv_timer_start(&s->tick, q_on_tick, 0, 0);
  }
}

/* Bounds the whole run: whatever is left is torn down. */
static void q_sender_guard(uv_timer_t *h) {
  qsender *s = h->data;
  fprintf(stderr, "quic sender: time limit (%u of %u connected)\n", s->n, g.subs);
  s->failed = true;
  uv_stop(&s->loop);
}

static void q_sender_thread(void *arg) {
  qsender *s = arg;
  uv_loop_init(&s->loop);
  uv_timer_init(&s->loop, &s->tick);
  uv_timer_init(&s->loop, &s->guard);
  s->tick.data = s->guard.data = s;
  uv_timer_start(&s->guard, q_sender_guard, (uint64_t)((g.warmup + g.seconds + 60) * 1000), 0);
  moqc_quic_limits l = limits();
  s->port = bench_quic_listen(&s->loop, &g_bc, &l, q_on_conn, s, &s->srv);
  if (!s->srv) s->failed = true;
  uv_sem_post(&s->ready);
  if (s->srv) uv_run(&s->loop, UV_RUN_DEFAULT);
  for (unsigned i = 0; i < s->n; i++)
    if (s->subs[i].t) s->subs[i].t->ops->release(s->subs[i].t);
  moqc_quic_server_del(s->srv);
  s->srv = NULL;
  if (!uv_is_closing((uv_handle_t *)&s->tick)) uv_close((uv_handle_t *)&s->tick, NULL);
  if (!uv_is_closing((uv_handle_t *)&s->guard)) uv_close((uv_handle_t *)&s->guard, NULL);
  bench_loop_close(&s->loop);
}

typedef struct qrx_conn {
  qreceiver *r;
  moqc_transport *t;
} qrx_conn;

static void q_rx_data(void *ctx, int64_t id, const uint8_t *p, size_t n, bool fin) {
  (void)id;
  (void)p;
  (void)fin;
  ((qrx_conn *)ctx)->r->got += n;
}

static void q_rx_closed(void *ctx, uint64_t code, const char *reason, bool by_peer) {
  (void)code;
  (void)reason;
  (void)by_peer;
  qrx_conn *c = ctx;
  qreceiver *r = c->r;
  c->t->ops->release(c->t);
  c->t = NULL;
  if (++r->closed == g.subs) uv_stop(&r->loop);
}

static const moqc_transport_handler q_rx_handler = {.stream_data = q_rx_data,
                                                    .closed = q_rx_closed};

static qrx_conn g_rxc[MAX_SUBS];

static void q_rx_on_connect(void *ctx, int err, const char *msg, moqc_transport *t) {
  qrx_conn *c = ctx;
  if (err != MOQC_OK) {
    fprintf(stderr, "quic connect failed: %s\n", msg);
    c->r->failed = true;
    if (++c->r->closed == g.subs) uv_stop(&c->r->loop);
    return;
  }
  c->t = t;
  moqc_transport_set_handler(t, &q_rx_handler, c);
}

static void q_rx_guard(uv_timer_t *h) {
  qreceiver *r = h->data;
  r->failed = true;
  uv_stop(&r->loop);
}

static void q_receiver_thread(void *arg) {
  qreceiver *r = arg;
  uv_loop_init(&r->loop);
  uv_timer_init(&r->loop, &r->guard);
  r->guard.data = r;
  uv_timer_start(&r->guard, q_rx_guard, (uint64_t)((g.warmup + g.seconds + 70) * 1000), 0);
  moqc_quic_limits l = limits();
  for (unsigned i = 0; i < g.subs; i++) {
    g_rxc[i].r = r;
    if (bench_quic_dial(&r->loop, r->port, &g_bc, &l, q_rx_on_connect, &g_rxc[i]) != MOQC_OK) {
      r->failed = true;
      r->closed++;
    }
  }
  if (r->closed < g.subs) uv_run(&r->loop, UV_RUN_DEFAULT);
  for (unsigned i = 0; i < g.subs; i++)
    if (g_rxc[i].t) {
      g_rxc[i].t->ops->release(g_rxc[i].t);
      g_rxc[i].t = NULL;
    }
  uv_close((uv_handle_t *)&r->guard, NULL);
  bench_loop_close(&r->loop);
}

static result run_quic(void) {
  result res = {0};
  static qsender s;
  static qreceiver r;
  memset(&s, 0, sizeof s);
  memset(&r, 0, sizeof r);
  uint8_t *w;
  s.buf = moqc_buf_alloc(g.first, &w);
  for (size_t i = 0; i < g.first; i++) w[i] = (uint8_t)(i * 13);
  uv_sem_init(&s.ready, 0);
  uv_thread_t ts, tr;
  uv_thread_create(&ts, q_sender_thread, &s);
  uv_sem_wait(&s.ready);
  r.port = s.port;
  if (s.port) {
    uv_thread_create(&tr, q_receiver_thread, &r);
    uv_thread_join(&tr);
  }
  uv_thread_join(&ts);
  uv_sem_destroy(&s.ready);
  moqc_buf_unref(s.buf);
  res.cpu_ns = s.pc.cpu1 - s.pc.cpu0;
  res.bytes = s.pc.bytes1 - s.pc.bytes0;
  res.sent = s.pc.sent;
  res.got = r.got;
  res.ok = s.pc.done && !s.failed && !r.failed && r.got == s.pc.sent && res.bytes > 0;
  return res;
}

/* ---- TCP, with and without TLS ------------------------------------------------------ */

typedef struct trun {
  bool tls;
  struct sockaddr_in addr;
  uint64_t got;
  bool rx_failed;
} trun;

/* Receivers: connect (and handshake) one by one, then read everything with
 * epoll until every sender socket has ended. */
static void t_receiver_thread(void *arg) {
  trun *t = arg;
  static int fds[MAX_SUBS];
  static gnutls_session_t ss[MAX_SUBS];
  gnutls_certificate_credentials_t cred = NULL;
  if (t->tls) gnutls_certificate_allocate_credentials(&cred);
  int ep = epoll_create1(0);
  unsigned open = 0;
  for (unsigned i = 0; i < g.subs; i++) {
    fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&t->addr, sizeof t->addr) != 0) {
      t->rx_failed = true;
      break;
    }
    if (t->tls) {
      if (bench_tls_session(&ss[i], false, fds[i], &g_bc, cred) != 0) {
        close(fds[i]);
        t->rx_failed = true;
        break;
      }
      if (!bench_tls_handshake(ss[i])) {
        t->rx_failed = true;
        break;
      }
    }
    fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    open++;
  }
  static uint8_t buf[1 << 16];
  uint64_t deadline = bench_now_ns() + (uint64_t)((g.warmup + g.seconds + 60) * 1e9);
  unsigned live = open;
  while (live > 0 && bench_now_ns() < deadline) {
    struct epoll_event evs[64];
    int n = epoll_wait(ep, evs, 64, 200);
    for (int k = 0; k < n; k++) {
      unsigned i = evs[k].data.u32;
      for (;;) {
        ssize_t r =
            t->tls ? gnutls_record_recv(ss[i], buf, sizeof buf) : recv(fds[i], buf, sizeof buf, 0);
        if (r > 0) {
          t->got += (uint64_t)r;
          continue;
        }
        bool again = t->tls ? (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
                            : (r < 0 && (errno == EAGAIN || errno == EINTR));
        if (!again) {
          epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
          live--;
        }
        break;
      }
    }
  }
  if (live) t->rx_failed = true;
  for (unsigned i = 0; i < open; i++) {
    if (t->tls) gnutls_deinit(ss[i]);
    close(fds[i]);
  }
  close(ep);
  if (cred) gnutls_certificate_free_credentials(cred);
}

static bool send_all(gnutls_session_t s, int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = s ? gnutls_record_send(s, p, n) : send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && (s ? (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED) : errno == EINTR))
      continue;
    if (w <= 0) return false;
    p += w;
    n -= (size_t)w;
  }
  return true;
}

static result run_tcp(bool tls) {
  result res = {0};
  static trun t;
  memset(&t, 0, sizeof t);
  t.tls = tls;
  static int fds[MAX_SUBS];
  static gnutls_session_t ss[MAX_SUBS];
  int lfd = bench_tcp_listen(&t.addr, (int)g.subs);
  if (lfd < 0) return res;
  uv_thread_t th;
  uv_thread_create(&th, t_receiver_thread, &t);
  unsigned n = 0;
  bool failed = false;
  for (; n < g.subs; n++) {
    fds[n] = accept(lfd, NULL, NULL);
    if (fds[n] < 0) {
      failed = true;
      break;
    }
    int one = 1;
    setsockopt(fds[n], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (tls) {
      if (bench_tls_session(&ss[n], true, fds[n], &g_bc, NULL) != 0 ||
          !bench_tls_handshake(ss[n])) {
        close(fds[n]);
        failed = true;
        break;
      }
    }
  }
  uint8_t *data = malloc(g.first);
  for (size_t i = 0; i < g.first; i++) data[i] = (uint8_t)(i * 13);
  pacer pc = {.t0 = bench_now_ns()};
  while (!failed) {
    uint64_t due = pacer_due(&pc);
    if (pc.done) break;
    for (uint64_t d = 0; d < due && d < 4; d++) {
      size_t sz = frame_size(pc.frames++);
      for (unsigned i = 0; i < n; i++) {
        if (!send_all(tls ? ss[i] : NULL, fds[i], data, sz)) failed = true;
        pc.sent += sz;
      }
    }
    uint64_t next = pacer_next(&pc);
    uint64_t now = bench_now_ns();
    if (next > now) {
      struct timespec ts = {(time_t)((next - now) / 1000000000ULL),
                            (long)((next - now) % 1000000000ULL)};
      nanosleep(&ts, NULL);
    }
  }
  for (unsigned i = 0; i < n; i++) {
    if (tls) {
      gnutls_bye(ss[i], GNUTLS_SHUT_WR);
      gnutls_deinit(ss[i]);
    }
    shutdown(fds[i], SHUT_WR);
  }
  uv_thread_join(&th);
  for (unsigned i = 0; i < n; i++) close(fds[i]);
  close(lfd);
  free(data);
  res.cpu_ns = pc.cpu1 - pc.cpu0;
  res.bytes = pc.bytes1 - pc.bytes0;
  res.sent = pc.sent;
  res.got = t.got;
  res.ok = !failed && !t.rx_failed && pc.done && t.got == pc.sent && res.bytes > 0;
  return res;
}

/* ---- main -------------------------------------------------------------------------- */

static void usage(void) {
  fprintf(stderr,
          "usage: bench_fanout [--subs N] [--bitrate BPS] [--seconds S] [--warmup S]\n"
          "                    [--loopback-pkt N|off] [--only quic|tcp+tls|tcp]\n");
  exit(2);
}

static double num(const char *s, double lo, double hi) {
  char *end;
  double v = strtod(s, &end);
  if (*end || v < lo || v > hi) usage();
  return v;
}

static double nsb(const result *r) { return r->bytes ? (double)r->cpu_ns / (double)r->bytes : 0; }

static void print(const char *name, const result *r) {
  printf(
      "%-8s sender %6.2f ns/B  (%.3f CPU-s for %.1f MB in %.0f s = %4.1f%% of a core)  "
      "delivered %llu of %llu bytes%s\n",
      name, nsb(r), (double)r->cpu_ns / 1e9, (double)r->bytes / 1e6, g.seconds,
      (double)r->cpu_ns / 1e9 / g.seconds * 100, (unsigned long long)r->got,
      (unsigned long long)r->sent, r->ok ? "" : "  (FAILED)");
}

static bool want(const char *name) { return !g.only || !strcmp(g.only, name); }

int main(int argc, char **argv) {
  if ((argc - 1) % 2) usage(); /* every option takes a value */
  for (int i = 1; i < argc; i += 2) {
    const char *a = argv[i], *v = argv[i + 1];
    if (!strcmp(a, "--subs")) g.subs = (unsigned)num(v, 1, MAX_SUBS);
    else if (!strcmp(a, "--bitrate")) g.bitrate = (uint64_t)num(v, 10000, 1e9);
    else if (!strcmp(a, "--seconds")) g.seconds = num(v, 1, 600);
    else if (!strcmp(a, "--warmup")) g.warmup = num(v, 0, 60);
    else if (!strcmp(a, "--loopback-pkt")) {
      if (!bench_parse_loopback_pkt(v, &g.loopback_pkt)) usage();
    } else if (!strcmp(a, "--only")) {
      if (strcmp(v, "quic") && strcmp(v, "tcp+tls") && strcmp(v, "tcp")) usage();
      g.only = v;
    } else usage();
  }
  /* moqc_bench's video profile: bytes per group = bitrate/8 x group duration,
   * the first frame 10x the others. */
  double per_group = (double)g.bitrate / 8 * g.group / g.fps;
  g.frame = (size_t)(per_group / (10 + g.group - 1));
  g.first = g.frame * 10;
  if (bench_cert_init(&g_bc) != 0) return 1;
  printf(
      "bench_fanout: %u subscribers, %.2f Mbit/s video (%u fps, %u-frame groups, frames %zu B, "
      "first %zu B), %.0f s window after %.0f s warm-up; sender CPU per byte sent\n",
      g.subs, (double)g.bitrate / 1e6, g.fps, g.group, g.frame, g.first, g.seconds, g.warmup);
  result q = {0}, tt = {0}, tp = {0};
  int rc = 0;
  if (want("quic")) {
    q = run_quic();
    print("quic", &q);
    rc |= !q.ok;
  }
  if (want("tcp+tls")) {
    tt = run_tcp(true);
    print("tcp+tls", &tt);
    rc |= !tt.ok;
  }
  if (want("tcp")) {
    tp = run_tcp(false);
    print("tcp", &tp);
    rc |= !tp.ok;
  }
  if (q.ok && tt.ok && tp.ok)
    printf("ratio quic/tcp+tls %.2f, quic/tcp %.2f, tcp+tls/tcp %.2f\n", nsb(&q) / nsb(&tt),
           nsb(&q) / nsb(&tp), nsb(&tt) / nsb(&tp));
  bench_cert_free(&g_bc);
  return rc;
}
