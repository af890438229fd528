/* udpfwd — a lossy UDP forwarder (loopback only), the one copy used by the
 * integration tests (tests/integration/lib.sh IT_LOSSY=1, test_lossy.sh) and
 * the benchmarks (bench/run.sh s3). After quicly's t/udpfw.c.
 *
 *   udpfwd --to 127.0.0.1:PORT [--listen 127.0.0.1:0] [--drop 0.02]
 *          [--reorder 0] [--delay 0] [--seed N] [--max-seconds 600]
 *
 * Any number of clients (a hash table of client addresses, each with its own
 * connected upstream socket, so replies find their way back), one epoll loop,
 * batched recvmmsg/sendmmsg. Every datagram, in either direction, is dropped
 * with probability --drop; with probability --reorder it is held back and sent
 * after the next datagram of the same client and direction (or after 5 ms),
 * i.e. swapped. With --delay MS every datagram let through leaves MS ms after
 * it arrived (a FIFO; this kernel has no sch_netem, so this is the tests' link
 * delay, test_cluster_partition). A seeded xorshift PRNG makes runs repeatable. Prints
 * "port N" on stdout once listening; counters on stderr at exit (SIGTERM /
 * SIGINT, or --max-seconds). Refuses non-loopback addresses. IPv4 only.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define PKT_MAX 65536
#define HOLD_MS 5
#define MAX_CLIENTS 65536

typedef struct held {
  bool full;
  uint64_t since_ms;
  size_t len;
  struct sockaddr_in to;
  uint8_t buf[2048]; /* only packets up to this size are reordered */
} held;

typedef struct client {
  struct sockaddr_in addr;
  int fd; /* upstream socket, connected to the target */
  bool used;
  held up, down;
} client;

/* --delay: datagrams waiting for their time, oldest first (constant delay, so
 * arrival order is departure order). A full queue drops (counted). */
#define DELAY_SLOTS 16384
typedef struct delayed {
  int fd;
  bool has_to;
  struct sockaddr_in to;
  uint64_t due_ms;
  size_t len;
  uint8_t *buf;
} delayed;
static delayed *g_dq;
static size_t g_dq_head, g_dq_len;
static uint64_t g_delay_ms;

static volatile sig_atomic_t g_stop;
static uint64_t g_rng = 88172645463325252ull;
static double g_drop = 0.02, g_reorder = 0;
static uint64_t n_in, n_out, n_drop, n_reorder, n_clients, n_delay_full;
static client *g_clients;
static uint32_t g_cap = 4096; /* hash slots (power of two) */
static int g_lfd, g_ep;
static struct sockaddr_in g_target;

static void on_sig(int s) {
  (void)s;
  g_stop = 1;
}

static double rnd(void) {
  g_rng ^= g_rng >> 12;
  g_rng ^= g_rng << 25;
  g_rng ^= g_rng >> 27;
  return (double)((g_rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool parse_addr(const char *s, struct sockaddr_in *a) {
  char host[64];
  const char *c = strrchr(s, ':');
  if (!c || (size_t)(c - s) >= sizeof host) return false;
  memcpy(host, s, (size_t)(c - s));
  host[c - s] = 0;
  memset(a, 0, sizeof *a);
  a->sin_family = AF_INET;
  a->sin_port = htons((uint16_t)atoi(c + 1));
  if (inet_pton(AF_INET, host, &a->sin_addr) != 1) return false;
  return (ntohl(a->sin_addr.s_addr) >> 24) == 127; /* loopback only */
}

static uint32_t hash_addr(const struct sockaddr_in *a) {
  uint64_t k = ((uint64_t)a->sin_addr.s_addr << 16) ^ a->sin_port;
  k *= 0x9e3779b97f4a7c15ull;
  return (uint32_t)(k >> 40);
}

static client *lookup(const struct sockaddr_in *a, bool create) {
  uint32_t i = hash_addr(a) & (g_cap - 1);
  for (uint32_t n = 0; n < g_cap; n++, i = (i + 1) & (g_cap - 1)) {
    client *c = &g_clients[i];
    if (!c->used) {
      if (!create || n_clients >= g_cap / 2) return NULL;
      c->used = true;
      c->addr = *a;
      c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
      int big = 4 << 20;
      setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
      setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
      if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&g_target, sizeof g_target) != 0) {
        if (c->fd >= 0) close(c->fd);
        c->used = false;
        return NULL;
      }
      struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i + 1};
      epoll_ctl(g_ep, EPOLL_CTL_ADD, c->fd, &ev);
      n_clients++;
      return c;
    }
    if (c->addr.sin_addr.s_addr == a->sin_addr.s_addr && c->addr.sin_port == a->sin_port) return c;
  }
  return NULL;
}

static void send_now(int fd, const struct sockaddr_in *to, const uint8_t *p, size_t len) {
  ssize_t r =
      to ? sendto(fd, p, len, 0, (const struct sockaddr *)to, sizeof *to) : send(fd, p, len, 0);
  if (r >= 0) n_out++;
}

/* Send one datagram: fd connected (to NULL) or the listen socket (to addr);
 * with --delay, queue it for g_delay_ms. */
static void out(int fd, const struct sockaddr_in *to, const uint8_t *p, size_t len) {
  if (g_delay_ms == 0) {
    send_now(fd, to, p, len);
    return;
  }
  uint8_t *copy = g_dq_len < DELAY_SLOTS ? malloc(len ? len : 1) : NULL;
  if (!copy) {
    n_delay_full++;
    return;
  }
  memcpy(copy, p, len);
  delayed *d = &g_dq[(g_dq_head + g_dq_len++) % DELAY_SLOTS];
  *d = (delayed){
      .fd = fd, .has_to = to != NULL, .due_ms = now_ms() + g_delay_ms, .len = len, .buf = copy};
  if (to) d->to = *to;
}

/* Send the queued datagrams whose time has come. */
static void flush_delayed(void) {
  uint64_t now = now_ms();
  while (g_dq_len > 0 && g_dq[g_dq_head].due_ms <= now) {
    delayed *d = &g_dq[g_dq_head];
    send_now(d->fd, d->has_to ? &d->to : NULL, d->buf, d->len);
    free(d->buf);
    g_dq_head = (g_dq_head + 1) % DELAY_SLOTS;
    g_dq_len--;
  }
}

static void flush_held(int fd, held *h, bool to_client) {
  if (!h->full) return;
  h->full = false;
  out(fd, to_client ? &h->to : NULL, h->buf, h->len);
}

/* Forward with loss and reordering. */
static void forward(int fd, held *h, const struct sockaddr_in *to, const uint8_t *p, size_t len) {
  n_in++;
  if (rnd() < g_drop) {
    n_drop++;
    return;
  }
  if (g_reorder > 0 && !h->full && len <= sizeof h->buf && rnd() < g_reorder) {
    h->full = true;
    h->len = len;
    h->since_ms = now_ms();
    if (to) h->to = *to;
    memcpy(h->buf, p, len);
    n_reorder++;
    return;
  }
  out(fd, to, p, len);
  flush_held(fd, h, to != NULL);
}

static uint8_t g_bufs[BATCH][PKT_MAX];

static void drain_fd(int fd, bool from_clients, client *c) {
  struct mmsghdr m[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_in from[BATCH];
  for (int rounds = 0; rounds < 64; rounds++) {
    for (int i = 0; i < BATCH; i++) {
      iov[i] = (struct iovec){g_bufs[i], PKT_MAX};
      m[i].msg_hdr = (struct msghdr){
          .msg_name = &from[i], .msg_namelen = sizeof from[i], .msg_iov = &iov[i], .msg_iovlen = 1};
    }
    int n = recvmmsg(fd, m, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) return;
    for (int i = 0; i < n; i++) {
      if (from_clients) {
        client *k = lookup(&from[i], true);
        if (k) forward(k->fd, &k->up, NULL, g_bufs[i], m[i].msg_len);
      } else {
        forward(g_lfd, &c->down, &c->addr, g_bufs[i], m[i].msg_len);
      }
    }
    if (n < BATCH) return;
  }
}

static void expire_held(void) {
  uint64_t now = now_ms();
  for (uint32_t i = 0; i < g_cap; i++) {
    client *c = &g_clients[i];
    if (!c->used) continue;
    if (c->up.full && now - c->up.since_ms >= HOLD_MS) flush_held(c->fd, &c->up, false);
    if (c->down.full && now - c->down.since_ms >= HOLD_MS) flush_held(g_lfd, &c->down, true);
  }
}

int main(int argc, char **argv) {
  const char *listen_s = "127.0.0.1:0", *to_s = NULL;
  double max_s = 600;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--to")) to_s = argv[i + 1];
    else if (!strcmp(argv[i], "--listen")) listen_s = argv[i + 1];
    else if (!strcmp(argv[i], "--drop")) g_drop = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--reorder")) g_reorder = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--delay")) g_delay_ms = strtoull(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--seed")) g_rng = strtoull(argv[i + 1], NULL, 10) | 1;
    else if (!strcmp(argv[i], "--max-seconds")) max_s = atof(argv[i + 1]);
    else {
      fprintf(stderr, "udpfwd: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  struct sockaddr_in la;
  if (!to_s || !parse_addr(to_s, &g_target) || !parse_addr(listen_s, &la)) {
    fprintf(stderr,
            "usage: udpfwd --to 127.0.0.1:PORT [--listen 127.0.0.1:0] "
            "[--drop P] [--reorder P] [--delay MS] [--seed N] [--max-seconds S] (loopback only)\n");
    return 2;
  }
  while (g_cap < MAX_CLIENTS) g_cap *= 2;
  g_clients = calloc(g_cap, sizeof *g_clients);
  g_dq = g_delay_ms ? calloc(DELAY_SLOTS, sizeof *g_dq) : NULL;
  if (g_delay_ms && !g_dq) return 1;
  g_lfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  int big = 8 << 20;
  setsockopt(g_lfd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  setsockopt(g_lfd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  socklen_t sl = sizeof la;
  if (!g_clients || g_lfd < 0 || bind(g_lfd, (struct sockaddr *)&la, sizeof la) != 0 ||
      getsockname(g_lfd, (struct sockaddr *)&la, &sl) != 0) {
    perror("udpfwd: bind");
    return 1;
  }
  g_ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 0};
  epoll_ctl(g_ep, EPOLL_CTL_ADD, g_lfd, &ev);
  signal(SIGTERM, on_sig);
  signal(SIGINT, on_sig);
  printf("port %u\n", ntohs(la.sin_port));
  fflush(stdout);
  uint64_t t_end = now_ms() + (uint64_t)(max_s * 1000);
  struct epoll_event evs[256];
  while (!g_stop && now_ms() < t_end) {
    int n = epoll_wait(g_ep, evs, 256, g_dq_len ? 1 : g_reorder > 0 ? HOLD_MS : 100);
    for (int i = 0; i < n; i++) {
      uint32_t k = evs[i].data.u32;
      if (k == 0) drain_fd(g_lfd, true, NULL);
      else drain_fd(g_clients[k - 1].fd, false, &g_clients[k - 1]);
    }
    if (g_reorder > 0) expire_held();
    flush_delayed();
  }
  fprintf(
      stderr,
      "udpfwd: clients %llu in %llu out %llu dropped %llu reordered %llu delayed-overflow %llu\n",
      (unsigned long long)n_clients, (unsigned long long)n_in, (unsigned long long)n_out,
      (unsigned long long)n_drop, (unsigned long long)n_reorder, (unsigned long long)n_delay_full);
  return 0;
}
