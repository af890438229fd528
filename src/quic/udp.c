/* moqc transport — UDP with GSO / GRO / ECN / pktinfo (Linux). See udp.h. */
#include "quic/udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "moqc/error.h"

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define SOCK_BUF_SIZE (8 * 1024 * 1024)

static void set_int(int fd, int level, int opt, int v) {
  (void)setsockopt(fd, level, opt, &v, sizeof v);
}

static void set_buffers(int fd) {
  int v = SOCK_BUF_SIZE;
  /* FORCE works with CAP_NET_ADMIN; otherwise the kernel caps at rmem_max. */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof v) != 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof v) != 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
}

static bool is_wildcard(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET)
    return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
  return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

int moqc_udp_open(moqc_udp *u, const struct sockaddr *addr, socklen_t len, bool no_gso,
                  bool no_gro) {
  memset(u, 0, sizeof *u);
  u->fd = -1;
  if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6) return MOQC_ERR_INVAL;
  int fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  struct sockaddr_in v4;
  if (fd < 0 && errno == EAFNOSUPPORT && addr->sa_family == AF_INET6 && is_wildcard(addr)) {
    /* No IPv6 on this host: the "[::]" default degrades to 0.0.0.0. */
    memset(&v4, 0, sizeof v4);
    v4.sin_family = AF_INET;
    v4.sin_port = ((const struct sockaddr_in6 *)addr)->sin6_port;
    addr = (const struct sockaddr *)&v4;
    len = sizeof v4;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  }
  if (fd < 0) return MOQC_ERR_IO;
  u->family = addr->sa_family;
  if (u->family == AF_INET6) {
    set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
    set_int(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, 1);
    set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
    set_int(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO);
  }
  /* IPv4 options also apply to IPv4 traffic of a dual-stack IPv6 socket. */
  set_int(fd, IPPROTO_IP, IP_RECVTOS, 1);
  set_int(fd, IPPROTO_IP, IP_PKTINFO, 1);
  set_int(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
  set_buffers(fd);
  if (!no_gso) {
    int v = 0;
    socklen_t vl = sizeof v;
    u->gso = getsockopt(fd, SOL_UDP, UDP_SEGMENT, &v, &vl) == 0;
  }
  if (!no_gro) {
    int v = 1;
    u->gro = setsockopt(fd, SOL_UDP, UDP_GRO, &v, sizeof v) == 0;
  }
  if (bind(fd, addr, len) != 0) {
    close(fd);
    return MOQC_ERR_IO;
  }
  u->local_len = sizeof u->local;
  if (getsockname(fd, &u->local.sa, &u->local_len) != 0) {
    close(fd);
    return MOQC_ERR_IO;
  }
  u->wildcard = is_wildcard(addr);
  u->fd = fd;
  return MOQC_OK;
}

int moqc_udp_connect(moqc_udp *u, const struct sockaddr *to, socklen_t tolen) {
  if (connect(u->fd, to, tolen) != 0) return MOQC_ERR_IO;
  u->local_len = sizeof u->local;
  if (getsockname(u->fd, &u->local.sa, &u->local_len) != 0) return MOQC_ERR_IO;
  u->connected = true;
  u->wildcard = false;
  return MOQC_OK;
}

void moqc_udp_close(moqc_udp *u) {
  if (u->fd >= 0) close(u->fd);
  u->fd = -1;
}

static void set_ecn(moqc_udp *u, unsigned ecn) {
  if ((int)ecn == u->cur_ecn) return;
  u->cur_ecn = (int)ecn;
  int v = (int)ecn;
  if (u->family == AF_INET6) set_int(u->fd, IPPROTO_IPV6, IPV6_TCLASS, v);
  set_int(u->fd, IPPROTO_IP, IP_TOS, v);
}

/* Append a source-address cmsg (wildcard sockets) at *pc; returns its size. */
static size_t put_pktinfo(moqc_udp *u, struct msghdr *m, const struct sockaddr *from) {
  struct cmsghdr *c = (struct cmsghdr *)((uint8_t *)m->msg_control + m->msg_controllen);
  if (from->sa_family == AF_INET6 && u->family == AF_INET6) {
    struct in6_pktinfo pi;
    memset(&pi, 0, sizeof pi);
    pi.ipi6_addr = ((const struct sockaddr_in6 *)from)->sin6_addr;
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof pi);
    memcpy(CMSG_DATA(c), &pi, sizeof pi);
    return CMSG_SPACE(sizeof pi);
  }
  if (from->sa_family == AF_INET) {
    struct in_pktinfo pi;
    memset(&pi, 0, sizeof pi);
    pi.ipi_spec_dst = ((const struct sockaddr_in *)from)->sin_addr;
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof pi);
    memcpy(CMSG_DATA(c), &pi, sizeof pi);
    return CMSG_SPACE(sizeof pi);
  }
  return 0;
}

static void init_msg(moqc_udp *u, struct msghdr *m, struct iovec *iov, const struct sockaddr *to,
                     socklen_t tolen, const struct sockaddr *from, uint8_t *ctrl) {
  memset(m, 0, sizeof *m);
  if (!u->connected) {
    m->msg_name = (void *)(uintptr_t)to;
    m->msg_namelen = tolen;
  }
  m->msg_iov = iov;
  m->msg_iovlen = 1;
  m->msg_control = ctrl;
  m->msg_controllen = 0;
  if (u->wildcard && from) m->msg_controllen += put_pktinfo(u, m, from);
  if (m->msg_controllen == 0) m->msg_control = NULL;
}

/* Errors that only mean "this packet did not get through": QUIC treats the
 * packet as lost and retransmits. EMSGSIZE: a PMTU probe too big for the path.
 * ECONNREFUSED / EHOSTUNREACH / ENETUNREACH: an earlier ICMP error reported on
 * this socket (e.g. a client that dialled before the server was listening);
 * the next retransmission may well reach the peer. */
static bool send_error_is_loss(int err) {
  return err == EMSGSIZE || err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH;
}

/* Plain path: one datagram per packet, as few syscalls as possible. */
static int send_segments(moqc_udp *u, const struct sockaddr *to, socklen_t tolen,
                         const struct sockaddr *from, const uint8_t *data, size_t len,
                         size_t segsize, size_t *sent) {
  struct mmsghdr mm[MOQC_UDP_MAX_GSO_SEGMENTS];
  struct iovec iov[MOQC_UDP_MAX_GSO_SEGMENTS];
  uint8_t ctrl[MOQC_UDP_MAX_GSO_SEGMENTS][CMSG_SPACE(sizeof(struct in6_pktinfo))];
  size_t off = 0;
  *sent = 0;
  while (off < len) {
    unsigned n = 0;
    for (size_t o = off; o < len && n < MOQC_UDP_MAX_GSO_SEGMENTS; o += segsize, n++) {
      size_t l = len - o < segsize ? len - o : segsize;
      iov[n].iov_base = (void *)(uintptr_t)(data + o);
      iov[n].iov_len = l;
      init_msg(u, &mm[n].msg_hdr, &iov[n], to, tolen, from, ctrl[n]);
      mm[n].msg_len = 0;
    }
    int r;
    do {
      r = sendmmsg(u->fd, mm, n, 0);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return MOQC_ERR_AGAIN;
      if (send_error_is_loss(errno)) {
        *sent = len;
        return MOQC_OK;
      }
      return MOQC_ERR_IO;
    }
    for (int i = 0; i < r; i++) off += iov[i].iov_len;
    *sent = off;
    if ((unsigned)r < n) return MOQC_ERR_AGAIN;
  }
  return MOQC_OK;
}

int moqc_udp_send(moqc_udp *u, const struct sockaddr *to, socklen_t tolen,
                  const struct sockaddr *from, const uint8_t *data, size_t len, size_t segsize,
                  unsigned ecn, size_t *sent) {
  *sent = 0;
  set_ecn(u, ecn);
  if (segsize == 0 || segsize > len) segsize = len;
  if (len > segsize && !u->gso) return send_segments(u, to, tolen, from, data, len, segsize, sent);
  struct msghdr m;
  struct iovec iov = {(void *)(uintptr_t)data, len};
  uint8_t ctrl[CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(struct in6_pktinfo))];
  memset(ctrl, 0, sizeof ctrl);
  init_msg(u, &m, &iov, to, tolen, from, ctrl);
  m.msg_control = ctrl;
  if (len > segsize) {
    struct cmsghdr *c = (struct cmsghdr *)(ctrl + m.msg_controllen);
    uint16_t seg = (uint16_t)segsize;
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof seg);
    memcpy(CMSG_DATA(c), &seg, sizeof seg);
    m.msg_controllen += CMSG_SPACE(sizeof seg);
  }
  if (m.msg_controllen == 0) m.msg_control = NULL;
  ssize_t r;
  do {
    r = sendmsg(u->fd, &m, 0);
  } while (r < 0 && errno == EINTR);
  if (r >= 0) {
    if (len > segsize) u->gso_batches++;
    *sent = len;
    return MOQC_OK;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK) return MOQC_ERR_AGAIN;
  if (len > segsize && (errno == EIO || errno == EINVAL || errno == EOPNOTSUPP)) {
    /* The device or kernel refuses segmentation offload: fall back for good. */
    u->gso = false;
    return send_segments(u, to, tolen, from, data, len, segsize, sent);
  }
  if (send_error_is_loss(errno)) {
    *sent = len;
    return MOQC_OK;
  }
  return MOQC_ERR_IO;
}

static void parse_cmsgs(struct msghdr *m, moqc_udp_rx *rx, size_t len) {
  rx->segsize = len;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
      int seg;
      memcpy(&seg, CMSG_DATA(c), sizeof seg);
      if (seg > 0) rx->segsize = (size_t)seg;
    } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) {
      uint8_t tos;
      memcpy(&tos, CMSG_DATA(c), 1);
      rx->ecn = tos & 0x3u;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS) {
      int tc;
      memcpy(&tc, CMSG_DATA(c), sizeof tc);
      rx->ecn = (unsigned)tc & 0x3u;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      struct in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      rx->to.in6.sin6_addr = pi.ipi6_addr;
      rx->to.in6.sin6_family = AF_INET6;
    } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
               rx->to.sa.sa_family == AF_INET) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      rx->to.in.sin_addr = pi.ipi_addr;
    }
  }
}

ssize_t moqc_udp_recv(moqc_udp *u, uint8_t *buf, size_t cap, moqc_udp_rx *rx) {
  uint8_t ctrl[CMSG_SPACE(sizeof(int)) * 3 + CMSG_SPACE(sizeof(struct in6_pktinfo)) +
               CMSG_SPACE(sizeof(struct in_pktinfo))];
  struct iovec iov = {buf, cap};
  struct msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_name = &rx->from;
  m.msg_namelen = sizeof rx->from;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctrl;
  m.msg_controllen = sizeof ctrl;
  ssize_t r;
  do {
    r = recvmsg(u->fd, &m, 0);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    /* ICMP errors (ECONNREFUSED...) are reported once and leave nothing to
     * read: not a socket failure. */
    if (errno == EAGAIN || errno == EWOULDBLOCK || send_error_is_loss(errno)) return MOQC_ERR_AGAIN;
    return MOQC_ERR_IO;
  }
  rx->from_len = m.msg_namelen;
  rx->to = u->local;
  rx->to_len = u->local_len;
  rx->ecn = 0;
  if (m.msg_flags & MSG_TRUNC) return 0;
  parse_cmsgs(&m, rx, (size_t)r);
  return r;
}

int moqc_udp_take_error(moqc_udp *u) {
  int err = 0;
  socklen_t l = sizeof err;
  if (u->fd < 0 || getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0) return MOQC_ERR_IO;
  return err == 0 || send_error_is_loss(err) ? MOQC_OK : MOQC_ERR_IO;
}

int moqc_sockaddr_parse(moqc_sockaddr *sa, socklen_t *len, const char *host, uint16_t port) {
  memset(sa, 0, sizeof *sa);
  if (!host || !*host) host = "::";
  if (inet_pton(AF_INET6, host, &sa->in6.sin6_addr) == 1) {
    sa->in6.sin6_family = AF_INET6;
    sa->in6.sin6_port = htons(port);
    *len = sizeof sa->in6;
    return MOQC_OK;
  }
  if (inet_pton(AF_INET, host, &sa->in.sin_addr) == 1) {
    sa->in.sin_family = AF_INET;
    sa->in.sin_port = htons(port);
    *len = sizeof sa->in;
    return MOQC_OK;
  }
  return MOQC_ERR_INVAL;
}

void moqc_sockaddr_format(const moqc_sockaddr *sa, char *out, size_t cap) {
  char ip[INET6_ADDRSTRLEN];
  int n = -1;
  if (!cap) return;
  out[0] = 0;
  if (sa->sa.sa_family == AF_INET) {
    if (inet_ntop(AF_INET, &sa->in.sin_addr, ip, sizeof ip))
      n = snprintf(out, cap, "%s:%u", ip, (unsigned)ntohs(sa->in.sin_port));
  } else if (sa->sa.sa_family == AF_INET6) {
    const struct in6_addr *a = &sa->in6.sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a)) {
      if (inet_ntop(AF_INET, a->s6_addr + 12, ip, sizeof ip))
        n = snprintf(out, cap, "%s:%u", ip, (unsigned)ntohs(sa->in6.sin6_port));
    } else if (inet_ntop(AF_INET6, a, ip, sizeof ip)) {
      n = snprintf(out, cap, "[%s]:%u", ip, (unsigned)ntohs(sa->in6.sin6_port));
    }
  }
  if (n < 0 || (size_t)n >= cap) out[0] = 0;
}

uint16_t moqc_sockaddr_port(const moqc_sockaddr *sa) {
  if (sa->sa.sa_family == AF_INET) return ntohs(sa->in.sin_port);
  if (sa->sa.sa_family == AF_INET6) return ntohs(sa->in6.sin6_port);
  return 0;
}
