/* moqc transport — non-blocking UDP socket with GSO, GRO, ECN and pktinfo
 * (internal, Linux).
 *
 * Send: moqc_udp_send() takes a buffer of packets of equal size `segsize`
 * (the last one may be shorter) and sends them with ONE sendmsg carrying a
 * UDP_SEGMENT cmsg (GSO). Where GSO is unavailable (or refused at run time:
 * EIO/EINVAL) it falls back to one sendmmsg of individual datagrams.
 * Receive: moqc_udp_recv() returns one (possibly GRO-coalesced) buffer; the
 * caller splits it every `segsize` bytes.
 * ECN: the TOS/TCLASS codepoint of each send is set through setsockopt when it
 * changes; received codepoints come from IP_TOS / IPV6_TCLASS cmsgs.
 * The local (destination) address of each received datagram is reported
 * (IP_PKTINFO / IPV6_PKTINFO), and used as the source of replies when the
 * socket is bound to a wildcard address.
 */
#ifndef MOQC_TRANSPORT_UDP_H
#define MOQC_TRANSPORT_UDP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Largest number of packets one GSO send may carry. */
#define MOQC_UDP_MAX_GSO_SEGMENTS 64
/* Receive buffer size: the largest GRO-coalesced read. */
#define MOQC_UDP_RECV_BUF 65536

typedef union moqc_sockaddr {
  struct sockaddr sa;
  struct sockaddr_in in;
  struct sockaddr_in6 in6;
  struct sockaddr_storage ss;
} moqc_sockaddr;

typedef struct moqc_udp {
  int fd;
  int family;     /* AF_INET or AF_INET6 */
  bool gso;       /* UDP_SEGMENT usable */
  bool gro;       /* UDP_GRO enabled */
  bool wildcard;  /* bound to 0.0.0.0 / :: (replies carry a source address) */
  bool connected; /* connect()ed: sends carry no destination */
  int cur_ecn;    /* last ECN codepoint set on the socket */
  moqc_sockaddr local;
  socklen_t local_len;
  uint64_t gso_batches; /* statistics */
} moqc_udp;

/* Metadata of one received buffer. */
typedef struct moqc_udp_rx {
  moqc_sockaddr from;
  socklen_t from_len;
  moqc_sockaddr to; /* local address the datagram arrived on */
  socklen_t to_len;
  size_t segsize; /* GRO segment size (== returned length when not coalesced) */
  unsigned ecn;   /* 0..3 */
} moqc_udp_rx;

/* Open a non-blocking UDP socket bound to addr (an AF_INET6 wildcard is made
 * dual-stack). Buffers are enlarged, GSO probed, GRO / ECN / pktinfo
 * reception enabled unless disabled. Returns 0 or MOQC_ERR_IO. */
int moqc_udp_open(moqc_udp *u, const struct sockaddr *addr, socklen_t len, bool no_gso,
                  bool no_gro);

/* connect() the socket to a single peer (client sockets). 0 or MOQC_ERR_IO. */
int moqc_udp_connect(moqc_udp *u, const struct sockaddr *to, socklen_t tolen);

void moqc_udp_close(moqc_udp *u);

/* Send `len` bytes made of packets of `segsize` bytes (last may be shorter)
 * to `to` (ignored when connected), from `from` (NULL = let the kernel
 * choose; used only on wildcard sockets), with ECN codepoint ecn.
 * *sent receives the number of bytes (whole packets) handed to the kernel.
 * Returns 0 when everything was sent, MOQC_ERR_AGAIN when the socket buffer
 * is full (retry the rest when writable), or MOQC_ERR_IO for a hard error
 * (the packets are dropped; QUIC recovers). */
int moqc_udp_send(moqc_udp *u, const struct sockaddr *to, socklen_t tolen,
                  const struct sockaddr *from, const uint8_t *data, size_t len, size_t segsize,
                  unsigned ecn, size_t *sent);

/* Receive one buffer into buf (cap >= MOQC_UDP_RECV_BUF). Returns the length,
 * MOQC_ERR_AGAIN when nothing is pending, or MOQC_ERR_IO. */
ssize_t moqc_udp_recv(moqc_udp *u, uint8_t *buf, size_t cap, moqc_udp_rx *rx);

/* Read and clear the socket's pending error (SO_ERROR), i.e. what made poll
 * report POLLERR. Returns MOQC_OK when the error only means "a packet did not
 * get through" (an ICMP port/host unreachable reported on a connected socket:
 * the peer may well answer later) or when none was pending, MOQC_ERR_IO for
 * anything else. */
int moqc_udp_take_error(moqc_udp *u);

/* Parse a numeric host ("::", "127.0.0.1", NULL = "::") and port. 0 or
 * MOQC_ERR_INVAL. */
int moqc_sockaddr_parse(moqc_sockaddr *sa, socklen_t *len, const char *host, uint16_t port);

/* Port of an address (host order). */
uint16_t moqc_sockaddr_port(const moqc_sockaddr *sa);

/* "a.b.c.d:port" or "[v6]:port" (IPv4-mapped IPv6 shown as IPv4) into out;
 * "" for an unknown family or a too small buffer (64 bytes always fit). */
void moqc_sockaddr_format(const moqc_sockaddr *sa, char *out, size_t cap);

#endif
