/* bench_udp_gso: what the kernel charges per UDP packet on loopback, by GSO
 * batch size. No QUIC, no crypto: the floor under any QUIC sender here.
 *
 * One sender socket sends 1400-byte segments to 64 receiver sockets (round
 * robin, as a relay fans out to 64 subscribers) with UDP_SEGMENT batches of
 * 1, 5 (a 7 KB video frame) and 40 segments (bulk), and with sendmmsg of 64
 * five-segment batches (one syscall for every subscriber). The same thread
 * drains the receivers, so each figure is CPU time (user + system, getrusage)
 * per packet for send + loopback delivery + receive, and is printed as a
 * ratio against the 40-segment batch measured in the same run.
 *
 *   bench_udp_gso [--packets N]     (default 200000 per case)
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/bench_util.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

enum { NRX = 64, SEG = 1400, MAXSEG = 40 };

static int rx[NRX];
static struct sockaddr_in dst[NRX];
static uint8_t payload[MAXSEG * SEG];
static uint8_t sink[65536];

static void drain(void) {
  for (int i = 0; i < NRX; i++)
    while (recv(rx[i], sink, sizeof sink, MSG_DONTWAIT) > 0) {}
}

typedef struct {
  struct msghdr m;
  struct iovec iov;
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } ctl;
} gso_msg;

static void gso_init(gso_msg *g, int to, size_t nseg) {
  memset(g, 0, sizeof *g);
  g->iov.iov_base = payload;
  g->iov.iov_len = nseg * SEG;
  g->m.msg_name = &dst[to];
  g->m.msg_namelen = sizeof dst[to];
  g->m.msg_iov = &g->iov;
  g->m.msg_iovlen = 1;
  if (nseg > 1) {
    g->m.msg_control = g->ctl.buf;
    g->m.msg_controllen = sizeof g->ctl.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&g->m);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t s = SEG;
    memcpy(CMSG_DATA(c), &s, sizeof s);
  }
}

/* CPU µs per packet, sendmsg with nseg segments per call. */
static double run_sendmsg(int tx, size_t nseg, long packets) {
  long calls = packets / (long)nseg;
  double t0 = bench_self_cpu_s();
  for (long k = 0; k < calls; k++) {
    gso_msg g;
    gso_init(&g, (int)(k % NRX), nseg);
    if (sendmsg(tx, &g.m, 0) < 0 && errno != EAGAIN && errno != ENOBUFS) {
      perror("sendmsg");
      exit(1);
    }
    if (k % NRX == NRX - 1) drain();
  }
  drain();
  return (bench_self_cpu_s() - t0) / (double)(calls * (long)nseg) * 1e6;
}

/* CPU µs per packet, sendmmsg of NRX five-segment batches per call. */
static double run_sendmmsg(int tx, long packets) {
  static gso_msg g[NRX];
  struct mmsghdr mm[NRX];
  long calls = packets / (5 * NRX);
  double t0 = bench_self_cpu_s();
  for (long k = 0; k < calls; k++) {
    for (int j = 0; j < NRX; j++) {
      gso_init(&g[j], j, 5);
      mm[j].msg_hdr = g[j].m;
      mm[j].msg_len = 0;
    }
    if (sendmmsg(tx, mm, NRX, 0) < 0 && errno != EAGAIN && errno != ENOBUFS) {
      perror("sendmmsg");
      exit(1);
    }
    drain();
  }
  return (bench_self_cpu_s() - t0) / (double)(calls * 5 * NRX) * 1e6;
}

int main(int argc, char **argv) {
  long packets = 200000;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--packets") && i + 1 < argc) {
      packets = strtol(argv[++i], NULL, 10);
    } else {
      fprintf(stderr, "usage: bench_udp_gso [--packets N]\n");
      return 2;
    }
  }
  if (packets < NRX * MAXSEG) packets = NRX * MAXSEG;
  for (int i = 0; i < NRX; i++) {
    rx[i] = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int big = 8 << 20;
    setsockopt(rx[i], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    socklen_t l = sizeof dst[i];
    if (rx[i] < 0 || bind(rx[i], (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(rx[i], (struct sockaddr *)&dst[i], &l) < 0) {
      perror("receiver socket");
      return 1;
    }
  }
  int tx = socket(AF_INET, SOCK_DGRAM, 0);
  if (tx < 0) {
    perror("socket");
    return 1;
  }
  double bulk = run_sendmsg(tx, MAXSEG, packets);
  double frame = run_sendmsg(tx, 5, packets);
  double single = run_sendmsg(tx, 1, packets);
  double mm = run_sendmmsg(tx, packets);
  printf(
      "bench_udp_gso: %d-byte UDP packets over loopback to %d sockets, CPU per packet "
      "(send + delivery + receive)\n",
      SEG, NRX);
  printf("sendmsg, 40-segment GSO (bulk)        %6.2f us/pkt  %5.2f ns/B  x1.00\n", bulk,
         bulk * 1000.0 / SEG);
  printf("sendmsg, 5-segment GSO (7 KB frame)   %6.2f us/pkt  %5.2f ns/B  x%.2f\n", frame,
         frame * 1000.0 / SEG, frame / bulk);
  printf("sendmmsg of 64 x 5-segment GSO        %6.2f us/pkt  %5.2f ns/B  x%.2f\n", mm,
         mm * 1000.0 / SEG, mm / bulk);
  printf("sendmsg, no GSO                       %6.2f us/pkt  %5.2f ns/B  x%.2f\n", single,
         single * 1000.0 / SEG, single / bulk);
  for (int i = 0; i < NRX; i++) close(rx[i]);
  close(tx);
  return 0;
}
