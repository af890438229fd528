/* udpfwd — a lossy UDP forwarder for integration tests (loopback only).
 *
 *   udpfwd --to 127.0.0.1:PORT [--listen 127.0.0.1:0] [--drop 0.05]
 *          [--reorder 0.05] [--seed N] [--max-seconds 120]
 *
 * Prints "port N" on stdout once listening. Every client address gets its own
 * upstream socket (so replies find their way back). Each datagram, in either
 * direction, is dropped with probability --drop; otherwise, with probability
 * --reorder it is held back and sent after the next datagram of the same
 * direction (or after 5 ms), i.e. swapped. A seeded xorshift PRNG makes runs
 * repeatable. Exits after --max-seconds, on SIGTERM/SIGINT, printing counters
 * on stderr. Refuses non-loopback addresses. (Idea after quicly's t/udpfw.c.)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 256
#define HOLD_MS 5

typedef struct held {
  int fd; /* -1: empty */
  struct sockaddr_storage to;
  socklen_t tolen;
  uint8_t buf[65536];
  size_t len;
  uint64_t since_ms;
} held;

typedef struct client {
  struct sockaddr_storage addr;
  socklen_t len;
  int up; /* connected to the target */
  held hold_up;   /* client -> target */
  held hold_down; /* target -> client */
} client;

static volatile sig_atomic_t g_stop;
static uint64_t g_rng = 88172645463325252ull;
static double g_drop = 0.05, g_reorder = 0.05;
static uint64_t n_in, n_out, n_drop, n_reorder;

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
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len) {
  char host[128];
  const char *colon = strrchr(s, ':');
  if (!colon || (size_t)(colon - s) >= sizeof host) return -1;
  memcpy(host, s, (size_t)(colon - s));
  host[colon - s] = 0;
  char *h = host;
  if (*h == '[') {
    h++;
    h[strlen(h) - 1] = 0;
  }
  int port = atoi(colon + 1);
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, h, &v4->sin_addr) == 1) {
    if ((ntohl(v4->sin_addr.s_addr) >> 24) != 127) return -2;
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    *len = sizeof *v4;
    return 0;
  }
  if (inet_pton(AF_INET6, h, &v6->sin6_addr) == 1) {
    if (!IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr)) return -2;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    *len = sizeof *v6;
    return 0;
  }
  return -1;
}

static void send_now(int fd, const struct sockaddr_storage *to, socklen_t tolen, const uint8_t *p,
                     size_t n) {
  ssize_t r = to ? sendto(fd, p, n, 0, (const struct sockaddr *)to, tolen) : send(fd, p, n, 0);
  if (r >= 0) n_out++;
}

static void flush_held(held *h) {
  if (h->fd < 0) return;
  send_now(h->fd, h->tolen ? &h->to : NULL, h->tolen, h->buf, h->len);
  h->fd = -1;
}

/* Forward one datagram with loss and reordering. to == NULL: fd is connected. */
static void forward(held *h, int fd, const struct sockaddr_storage *to, socklen_t tolen,
                    const uint8_t *p, size_t n) {
  n_in++;
  if (rnd() < g_drop) {
    n_drop++;
    return;
  }
  if (h->fd < 0 && rnd() < g_reorder) {
    n_reorder++;
    h->fd = fd;
    if (to) memcpy(&h->to, to, tolen);
    h->tolen = to ? tolen : 0;
    memcpy(h->buf, p, n);
    h->len = n;
    h->since_ms = now_ms();
    return;
  }
  send_now(fd, to, tolen, p, n);
  flush_held(h); /* the held one goes after: swapped */
}

static int usage(void) {
  fprintf(stderr, "usage: udpfwd --to ADDR:PORT [--listen ADDR:PORT] [--drop P] [--reorder P] "
                  "[--seed N] [--max-seconds S]   (loopback addresses only)\n");
  return 2;
}

int main(int argc, char **argv) {
  const char *listen_s = "127.0.0.1:0", *to_s = NULL;
  long max_s = 120;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--to")) to_s = argv[i + 1];
    else if (!strcmp(argv[i], "--listen")) listen_s = argv[i + 1];
    else if (!strcmp(argv[i], "--drop")) g_drop = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--reorder")) g_reorder = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--seed")) g_rng = strtoull(argv[i + 1], NULL, 10) * 2654435761ull + 1;
    else if (!strcmp(argv[i], "--max-seconds")) max_s = atol(argv[i + 1]);
    else return usage();
  }
  if (!to_s || (argc % 2) != 1) return usage();
  struct sockaddr_storage la, ta;
  socklen_t ll, tl;
  if (parse_addr(listen_s, &la, &ll) != 0 || parse_addr(to_s, &ta, &tl) != 0) {
    fprintf(stderr, "udpfwd: addresses must be numeric loopback ADDR:PORT\n");
    return 2;
  }
  int lfd = socket(la.ss_family, SOCK_DGRAM, 0);
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&la, ll) != 0) {
    fprintf(stderr, "udpfwd: bind %s: %s\n", listen_s, strerror(errno));
    return 1;
  }
  struct sockaddr_storage bound;
  socklen_t bl = sizeof bound;
  getsockname(lfd, (struct sockaddr *)&bound, &bl);
  int port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                              : ((struct sockaddr_in6 *)&bound)->sin6_port);
  printf("port %d\n", port);
  fflush(stdout);
  signal(SIGTERM, on_sig);
  signal(SIGINT, on_sig);

  static client clients[MAX_CLIENTS];
  size_t nc = 0;
  static uint8_t buf[65536];
  uint64_t deadline = now_ms() + (uint64_t)max_s * 1000;
  while (!g_stop && now_ms() < deadline) {
    struct pollfd pf[MAX_CLIENTS + 1];
    pf[0] = (struct pollfd){lfd, POLLIN, 0};
    for (size_t i = 0; i < nc; i++) pf[i + 1] = (struct pollfd){clients[i].up, POLLIN, 0};
    int pr = poll(pf, nc + 1, HOLD_MS);
    if (pr < 0 && errno != EINTR) break;
    uint64_t now = now_ms();
    for (size_t i = 0; i < nc; i++) { /* release held datagrams that waited long enough */
      if (clients[i].hold_up.fd >= 0 && now - clients[i].hold_up.since_ms >= HOLD_MS)
        flush_held(&clients[i].hold_up);
      if (clients[i].hold_down.fd >= 0 && now - clients[i].hold_down.since_ms >= HOLD_MS)
        flush_held(&clients[i].hold_down);
    }
    if (pr <= 0) continue;
    if (pf[0].revents & POLLIN) {
      struct sockaddr_storage from;
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom(lfd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
      if (n >= 0) {
        client *c = NULL;
        for (size_t i = 0; i < nc && !c; i++)
          if (clients[i].len == fl && !memcmp(&clients[i].addr, &from, fl)) c = &clients[i];
        if (!c && nc < MAX_CLIENTS) {
          int up = socket(ta.ss_family, SOCK_DGRAM, 0);
          if (up >= 0 && connect(up, (struct sockaddr *)&ta, tl) == 0) {
            c = &clients[nc++];
            memcpy(&c->addr, &from, fl);
            c->len = fl;
            c->up = up;
            c->hold_up.fd = c->hold_down.fd = -1;
          } else if (up >= 0) {
            close(up);
          }
        }
        if (c) forward(&c->hold_up, c->up, NULL, 0, buf, (size_t)n);
      }
    }
    for (size_t i = 0; i < nc; i++) {
      if (!(pf[i + 1].revents & POLLIN)) continue;
      ssize_t n = recv(clients[i].up, buf, sizeof buf, 0);
      if (n >= 0) forward(&clients[i].hold_down, lfd, &clients[i].addr, clients[i].len, buf, (size_t)n);
    }
  }
  for (size_t i = 0; i < nc; i++) close(clients[i].up);
  close(lfd);
  fprintf(stderr, "udpfwd: %llu in, %llu out, %llu dropped, %llu reordered, %zu client(s)\n",
          (unsigned long long)n_in, (unsigned long long)n_out, (unsigned long long)n_drop,
          (unsigned long long)n_reorder, nc);
  return 0;
}
