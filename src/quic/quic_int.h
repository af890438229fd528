/* moqc transport — QUIC endpoint and connection internals.
 *
 * Files:
 *   quic_endpoint.c  sockets (uv_poll), routing by connection ID, server
 *                    accept, client dial, deferred work, teardown;
 *   quic_conn.c      the ONLY file calling ngtcp2: connection setup,
 *                    ngtcp2 callbacks, read / write (GSO batching) / timers /
 *                    close;
 *   quic_ops.c       the moqc_transport_ops of a raw QUIC connection;
 *   quic_stream.c    send queues, the priority scheduler, hash maps;
 *   tls.c, udp.c     GnuTLS and sockets.
 *
 * Threading and re-entrancy: one loop thread. Transport ops never perform I/O:
 * they change state and mark the connection dirty; the endpoint flushes dirty
 * connections at the end of every I/O callback and in a uv_prepare hook
 * (before the loop sleeps). Handler callbacks run from I/O processing only.
 * Memory is freed only from points where no connection frame is on the stack
 * (end of a libuv callback, or a uv_close callback).
 */
#ifndef MOQC_TRANSPORT_QUIC_INT_H
#define MOQC_TRANSPORT_QUIC_INT_H

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <uv.h>

#include "moqc/quic.h"
#include "quic/quic_stream.h"
#include "quic/tls.h"
#include "quic/udp.h"

#define QUIC_SCID_LEN 16
#define QUIC_MAX_PKT 1452       /* ngtcp2 0.12 max_tx_udp_payload_size */
#define QUIC_LOOPBACK_PKT 16200 /* default payload to loopback peers: 4 per GSO send */
#define QUIC_LOOPBACK_PKT_MAX 65000
#define QUIC_GSO_MAX_BYTES 65000 /* one GSO send stays under 64 KiB */
#define QUIC_MAX_PKTS_PER_FLUSH 64
/* ep->sendbuf and ep->pend.buf: one flush of full-size packets, or one GSO
 * send of loopback ones. */
#define QUIC_SENDBUF_SIZE (QUIC_MAX_PKTS_PER_FLUSH * QUIC_MAX_PKT)
_Static_assert(QUIC_SENDBUF_SIZE >= QUIC_GSO_MAX_BYTES &&
                   QUIC_GSO_MAX_BYTES >= QUIC_LOOPBACK_PKT_MAX,
               "a GSO batch or one loopback packet must fit the send buffer");
#define QUIC_REASON_MAX 1024

typedef struct moqc_quic_server quic_ep;
typedef struct quic_conn quic_conn;

/* Resolved limits (no zero "default" values left). */
typedef struct quic_lim {
  uint32_t max_connections, max_streams_bidi, max_streams_uni;
  uint32_t max_conns_per_addr, max_hs_per_addr; /* UINT32_MAX: no limit */
  uint32_t new_conns_per_addr_per_s;            /* 0: no limit */
  moqc_quic_retry retry;
  uint64_t idle_timeout_ns, keep_alive_ns, handshake_timeout_ns;
  bool keep_alive_auto; /* derive from the negotiated idle timeout */
  moqc_quic_cc cc;
  uint64_t max_window, max_stream_window, max_datagram_frame, send_lowat;
  bool no_gso, no_gro;
  size_t loopback_pkt; /* payload to loopback peers; 0: no special case */
} quic_lim;

void moqc_quic_lim_resolve(quic_lim *out, const moqc_quic_limits *in);

/* ---- endpoint --------------------------------------------------------------- */

/* Connections (and handshakes in progress) of one peer IP address on a server
 * endpoint, for the per-address limits. In ep->addrs by key; freed when its
 * last connection goes. */
typedef struct quic_addr {
  uint8_t key[16]; /* IPv6, or IPv4 as ::ffff:a.b.c.d */
  uint32_t conns, handshakes;
} quic_addr;

/* New-connection rate per address: a token bucket per slot of a fixed table
 * (an address hashing onto another's slot takes it over with a full bucket:
 * harmless, the table only needs to catch the busy ones). */
typedef struct quic_rate {
  uint8_t key[16];
  uint64_t last_ms;
  double tokens;
} quic_rate;
#define QUIC_RATE_SLOTS 4096

/* The endpoint's lifecycle, one step at a time (asserted by
 * moqc__quic_ep_set_state):
 *   RUNNING -> CLOSING (moqc_quic_server_del called / client conn gone)
 *   -> TORN_DOWN (every conn shut down) -> HANDLES_CLOSED (uv_close called
 *   for poll + prepare; freed when the last reference goes). */
enum quic_ep_state {
  QE_RUNNING = 0,
  QE_CLOSING,
  QE_TORN_DOWN,
  QE_HANDLES_CLOSED,
};

const char *moqc__quic_ep_state_str(enum quic_ep_state st);
bool moqc__quic_ep_transition_ok(enum quic_ep_state from, enum quic_ep_state to);

struct moqc_quic_server {
  uv_loop_t *loop;
  uv_poll_t poll;
  uv_prepare_t prepare;
  moqc_udp udp;
  bool is_server;
  uint8_t state; /* enum quic_ep_state; change only through moqc__quic_ep_set_state */
  bool poll_inited, prepare_inited;
  bool poll_started, prepare_active, poll_writable;
  int busy;      /* I/O callback depth */
  uint32_t refs; /* owner + live conn objects + open handles */
  /* server configuration */
  moqc_cert *cert;
  gnutls_certificate_credentials_t mtls; /* cert + trusted client roots, or NULL */
  moqc_tls_alpn alpn;
  quic_lim lim;
  moqc_quic_on_connection on_connection;
  void *ctx;
  moqc_logger log; /* diagnostics (ngtcp2 trace); zeroed = none */
  /* connections */
  moqc_smap cids;   /* quic_conn by connection id (seeded) */
  quic_conn *conns; /* every conn with live I/O state (doubly linked) */
  size_t nconns;
  moqc_smap addrs;   /* server: quic_addr by its 16-byte key (seeded as cids) */
  quic_rate *rates;  /* server with a rate limit: QUIC_RATE_SLOTS buckets */
  uint64_t refused;  /* server: Initials answered CONNECTION_REFUSED by a limit */
  size_t handshakes; /* server: connections counted in an address's handshakes */
  uint64_t retries_sent, retry_bad_tokens;
  uint8_t retry_secret[32]; /* Retry token key material */
  quic_conn *dirty;         /* conns to flush (singly linked via dirty_next) */
  quic_conn *dirty_tail;
  ngtcp2_mem mem;
  uint8_t sr_secret[32]; /* stateless reset token secret */
  /* I/O buffers */
  uint8_t *sendbuf; /* QUIC_SENDBUF_SIZE */
  uint8_t *recvbuf; /* MOQC_UDP_RECV_BUF */
  /* a GSO batch the kernel refused with EAGAIN: retried when writable */
  struct {
    bool active;
    size_t len, segsize;
    unsigned ecn;
    moqc_sockaddr to, from;
    socklen_t tolen;
    bool has_from;
    uint8_t *buf;
  } pend;
};

/* ---- connection -------------------------------------------------------------- */

/* The connection's lifecycle. Legal transitions (asserted by
 * moqc__quic_set_state, see moqc__quic_state_transition_ok):
 *   HANDSHAKE -> OPEN | CONFIRMED | CLOSE_REQ | CLOSING | DRAINING | DEAD
 *   OPEN      -> CONFIRMED | CLOSE_REQ | CLOSING | DRAINING | DEAD
 *   CONFIRMED -> CLOSE_REQ | CLOSING | DRAINING | DEAD
 *   CLOSE_REQ -> CLOSING | DRAINING | DEAD
 *   CLOSING   -> DEAD
 *   DRAINING  -> DEAD
 * Order matters: HANDSHAKE..CLOSE_REQ is "live" (ngtcp2 reads and times out
 * the connection), OPEN and CONFIRMED are "open" (the application may use
 * it), states after CLOSE_REQ are "going away". */
enum quic_state {
  QC_HANDSHAKE = 0,
  QC_OPEN,      /* handshake completed, not yet confirmed (clients) */
  QC_CONFIRMED, /* handshake confirmed: no more Initial (padded) packets */
  QC_CLOSE_REQ, /* close() was called: CONNECTION_CLOSE goes out on the next flush */
  QC_CLOSING,   /* we sent CONNECTION_CLOSE; waiting 3 PTO */
  QC_DRAINING,  /* the peer closed; waiting 3 PTO */
  QC_DEAD,      /* I/O state freed, waiting for release / timer close */
};

/* The `closed` event of a handed-out connection, a lifecycle of its own:
 *   NONE -> PENDING (the end is known; emitted on the next flush)
 *   PENDING -> DONE (emitted) | NONE (the user released first: never emitted)
 *   NONE -> DONE is not allowed; DONE is final. */
enum quic_report {
  QR_NONE = 0,
  QR_PENDING,
  QR_DONE,
};

/* Who holds the transport handle (independent of the connection state):
 *   NONE -> USER (handed out: on_connection / the connect callback)
 *   USER -> RELEASED (the user called release())
 * NONE and RELEASED mean nobody will call into it: no handler callbacks, and
 * the object may be freed once dead. */
enum quic_owner {
  QO_NONE = 0,
  QO_USER,
  QO_RELEASED,
};

/* The expiry timer's libuv handle:
 *   UNINIT -> LIVE (uv_timer_init) -> CLOSING (uv_close) -> CLOSED (close cb)
 * The object can be freed only with the handle UNINIT or CLOSED. */
enum quic_timer {
  QT_UNINIT = 0,
  QT_LIVE,
  QT_CLOSING,
  QT_CLOSED,
};

const char *moqc__quic_state_str(enum quic_state st);
const char *moqc__quic_report_str(enum quic_report r);
const char *moqc__quic_owner_str(enum quic_owner o);
const char *moqc__quic_timer_str(enum quic_timer t);
/* The transition tables (pure): is from -> to legal? */
bool moqc__quic_state_transition_ok(enum quic_state from, enum quic_state to);
bool moqc__quic_report_transition_ok(enum quic_report from, enum quic_report to);
bool moqc__quic_owner_transition_ok(enum quic_owner from, enum quic_owner to);
bool moqc__quic_timer_transition_ok(enum quic_timer from, enum quic_timer to);

typedef struct quic_dgram {
  struct quic_dgram *next;
  size_t len;
  uint8_t data[];
} quic_dgram;

struct quic_conn {
  moqc_transport base; /* first: moqc_transport * <-> quic_conn * */
  quic_ep *ep;
  ngtcp2_conn *nc;
  gnutls_session_t tls;
  ngtcp2_crypto_conn_ref conn_ref;
  moqc_tls_client *tlsc; /* clients only */
  moqc_tls_peer peer;    /* servers with mutual TLS: the client certificate */
  moqc_sockaddr local, remote;
  socklen_t local_len, remote_len;
  uv_timer_t timer;
  enum quic_state state;    /* change only through moqc__quic_set_state */
  enum quic_report report;  /* change only through moqc__quic_set_report */
  enum quic_owner owner;    /* change only through moqc__quic_set_owner */
  enum quic_timer timer_st; /* change only through moqc__quic_set_timer */
  bool dirty_flag;          /* in ep->dirty */
  bool linked;              /* in ep->conns */
  bool credit_wanted;       /* open_stream returned AGAIN */
  bool credit_event;
  bool conn_blocked;      /* connection-level flow control blocked (this flush) */
  bool timer_fire;        /* this flush comes from the expiry timer */
  bool fired_no_progress; /* the last timer fire sent nothing */
  int busy;               /* frames of this conn on the stack */
  uint64_t close_code;
  char *close_reason; /* NUL-terminated, owned */
  bool close_by_peer;
  uint64_t timer_exp; /* the ngtcp2 expiry the timer was last armed for */
  /* streams */
  moqc_imap streams; /* moqc_qstream by stream id */
  moqc_qsched sched;
  uint64_t unsent;      /* queued bytes not yet handed to ngtcp2 */
  uint64_t unacked;     /* queued bytes not yet acknowledged (queued()) */
  uint64_t acked_since; /* bytes acknowledged since the last writable */
  /* datagrams waiting for a packet */
  quic_dgram *dg_head, *dg_tail;
  size_t dg_count;
  /* CONNECTION_CLOSE packet, resent while closing */
  uint8_t *close_pkt;
  size_t close_pktlen;
  unsigned close_resends;
  /* connection IDs routed to this conn (server) */
  moqc_qcid *cids;
  size_t ncids, capcids;
  /* client dial */
  moqc_quic_dial *dial;
  /* statistics */
  uint64_t pkts_sent, pkts_recv, bytes_sent, bytes_recv, gso_batches;
  /* lists */
  quic_conn *prev, *next; /* ep->conns */
  quic_conn *dirty_next;
  /* per-address limits (server) */
  quic_addr *addr; /* counted in this entry while linked */
  bool addr_hs;    /* also counted there as a handshake in progress */
};

static inline quic_conn *qc_of(moqc_transport *t) { return (quic_conn *)t; }

/* Lifecycle transitions, asserted legal (see the enums above). */
void moqc__quic_set_state(quic_conn *c, enum quic_state to);
void moqc__quic_set_report(quic_conn *c, enum quic_report to);
void moqc__quic_set_owner(quic_conn *c, enum quic_owner to);
void moqc__quic_set_timer(quic_conn *c, enum quic_timer to);
/* The user was or will be told that the connection ended. */
static inline bool moqc__quic_reported(const quic_conn *c) { return c->report != QR_NONE; }
/* ngtcp2 still runs the connection: it reads packets and handles expiry. */
static inline bool moqc__quic_live(const quic_conn *c) { return c->state <= QC_CLOSE_REQ; }
/* The handshake completed and no close was asked for or happened. */
static inline bool moqc__quic_open(const quic_conn *c) {
  return c->state == QC_OPEN || c->state == QC_CONFIRMED;
}
/* The user holds the handle: handler callbacks go out. */
static inline bool moqc__quic_owned(const quic_conn *c) { return c->owner == QO_USER; }
/* Given to the user at some point (held or released since). */
static inline bool moqc__quic_handed_out(const quic_conn *c) { return c->owner != QO_NONE; }

/* ---- quic_conn.c (ngtcp2) ------------------------------------------------------- */

/* What the endpoint should do with a datagram for no known connection. */
enum quic_pkt_kind { QP_DROP, QP_INITIAL, QP_VERSION_NEG };

typedef struct quic_pkt_info {
  uint32_t version;
  const uint8_t *dcid, *scid;
  size_t dcidlen, scidlen;
} quic_pkt_info;

/* Extract version and connection IDs. 0 on success, -1 to drop,
 * 1 when a Version Negotiation is due. */
int moqc_quic_pkt_decode(quic_pkt_info *pi, const uint8_t *p, size_t len);
/* Is this the first Initial of a new connection? */
bool moqc_quic_pkt_is_initial(const uint8_t *p, size_t len);
/* Write a Version Negotiation / CONNECTION_REFUSED answer. Bytes or < 0. */
ssize_t moqc_quic_write_version_neg(uint8_t *dst, size_t cap, const quic_pkt_info *pi);
ssize_t moqc_quic_write_refused(uint8_t *dst, size_t cap, const uint8_t *p, size_t len);

/* Per-address accounting (quic_endpoint.c). May a new connection from `from`
 * start? QUIC_ADMIT; QUIC_ADMIT_REFUSE (max_conns_per_addr: answer
 * CONNECTION_REFUSED); QUIC_ADMIT_DROP (max_hs_per_addr: ignore the Initial,
 * the client retransmits it, so handshakes from one address are paced). */
enum { QUIC_ADMIT = 0, QUIC_ADMIT_REFUSE, QUIC_ADMIT_DROP };
/* (Over new_conns_per_addr_per_s, an Initial is dropped too: QUIC_ADMIT_DROP.) */
int moqc_quic_ep_addr_admits(quic_ep *ep, const moqc_sockaddr *from);
/* A server connection's handshake completed: it no longer counts as one in
 * progress. */
void moqc_quic_ep_addr_handshake_done(quic_ep *ep, quic_conn *c);

/* New server connection for the Initial p[0..len). odcid: the original
 * destination connection ID recovered from a verified Retry token (the
 * client's address is then validated), or NULL. MOQC_OK or an error. */
int moqc_quic_conn_accept(quic_ep *ep, const moqc_udp_rx *rx, const uint8_t *p, size_t len,
                          const ngtcp2_cid *odcid, quic_conn **out);
/* New client connection to remote on ep's socket. Takes ownership of tlsc
 * (even on failure). The Initial goes out on the next flush. */
int moqc_quic_conn_dial(quic_ep *ep, const moqc_sockaddr *remote, socklen_t remote_len,
                        moqc_tls_client *tlsc, const moqc_tls_alpn *alpn, quic_conn **out);

/* Feed one datagram. */
void moqc_quic_conn_read(quic_conn *c, const moqc_udp_rx *rx, const uint8_t *p, size_t len);
/* Flush: pending close, packets, timer, deferred events. */
void moqc_quic_conn_flush(quic_conn *c);
/* Close now with CONNECTION_CLOSE(app code) (used by server teardown). */
void moqc_quic_conn_shutdown(quic_conn *c, uint64_t code, const char *reason);
/* Free the I/O state (CIDs, ngtcp2, TLS, streams) and close the timer. */
void moqc_quic_conn_kill(quic_conn *c);
/* Final free (only when released and the timer is closed). */
void moqc_quic_conn_free(quic_conn *c);
/* Free c if it is dead, released, its timer closed and nothing references
 * it (not busy, not queued for a flush). Returns true if freed. */
bool moqc_quic_conn_maybe_free(quic_conn *c);

/* Stream helpers used by the ops (quic_conn.c owns every ngtcp2 call). */
int moqc_quic_conn_open_stream(quic_conn *c, bool bidi, int64_t *id);
int moqc_quic_conn_reset_stream(quic_conn *c, moqc_qstream *s, uint64_t code);
int moqc_quic_conn_stop_stream(quic_conn *c, moqc_qstream *s, uint64_t code);
size_t moqc_quic_conn_max_datagram(quic_conn *c);
void moqc_quic_conn_stats(quic_conn *c, uint64_t *rtt_ns, uint64_t *rate_bps);
void moqc_quic_conn_get_info(quic_conn *c, moqc_quic_conn_info *info);

extern const moqc_transport_ops moqc_quic_ops;

/* ---- quic_endpoint.c ------------------------------------------------------------- */

/* Flush every dirty connection, run deferred teardown (end of every I/O
 * callback and the prepare hook). No-op when called re-entrantly. */
void moqc_quic_ep_process(quic_ep *ep);
/* Queue c for a flush (and start the prepare hook). */
void moqc_quic_ep_mark_dirty(quic_ep *ep, quic_conn *c);
/* Route: register / unregister a connection ID for c. */
int moqc_quic_ep_add_cid(quic_ep *ep, quic_conn *c, const uint8_t *cid, size_t len);
void moqc_quic_ep_del_cid(quic_ep *ep, const uint8_t *cid, size_t len);
/* Send one batch (GSO) from c's perspective. Returns MOQC_OK, or MOQC_ERR_AGAIN
 * when the socket is full (the batch was kept and will be retried). */
int moqc_quic_ep_send(quic_ep *ep, quic_conn *c, const ngtcp2_path *path, const uint8_t *data,
                      size_t len, size_t segsize, unsigned ecn);
void moqc__quic_ep_set_state(quic_ep *ep, enum quic_ep_state to);
static inline bool moqc__quic_ep_closing(const quic_ep *ep) { return ep->state >= QE_CLOSING; }
/* The send path is blocked on EAGAIN: don't write more now. */
static inline bool moqc_quic_ep_blocked(const quic_ep *ep) { return ep->pend.active; }
/* Conn list membership and lifetime. */
void moqc_quic_ep_link(quic_ep *ep, quic_conn *c);
void moqc_quic_ep_unlink(quic_ep *ep, quic_conn *c);
void moqc_quic_ep_unref(quic_ep *ep);
/* A conn died (I/O freed): a client endpoint closes with it. */
void moqc_quic_ep_conn_dead(quic_ep *ep, quic_conn *c);
/* The dial of c finished (err = MOQC_OK: c is handed out). */
void moqc_quic_dial_done(moqc_quic_dial *d, int err, const char *msg, quic_conn *c);

uint64_t moqc_quic_now(void);
void moqc_quic_mem_init(ngtcp2_mem *m);

#endif
