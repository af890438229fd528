/* moqc tests — an in-memory, virtual-time implementation of moqc_transport.
 *
 * memlink_new() creates a connected pair of transports (client and server) that
 * exchange packets over a simulated link driven ONLY by moqc_clock timers: bytes
 * move when the test advances the clock (moqc_clock_advance), so a whole session
 * runs deterministically in microseconds of real time.
 *
 * The link model, per direction:
 *   - a sender-side scheduler picks, each time the link is free, the next
 *     packet: queued datagrams first, then stream data in moqc_stream_prio order
 *     (streams without a priority first, then higher priority, then higher
 *     order, ties round-robin). A packet carries at most `mtu` stream bytes.
 *   - bandwidth > 0 paces packets: a packet of n payload bytes occupies the link
 *     for ceil(n * 1e9 / bandwidth) ns. Only payload bytes are counted, so
 *     tests can compute exact delivery times. Control frames are free.
 *   - every packet then travels `latency_ns`; the pipe is strictly FIFO (no
 *     loss, no reordering).
 *   - the receiver acknowledges each data packet; the ACK travels back one
 *     latency and only then are the written slices released (so queued()
 *     stays non-zero for about one RTT, like QUIC).
 *   - stream limits: each side may have at most max_streams_{bidi,uni} streams
 *     open that the peer has not fully closed; open_stream returns
 *     MOQC_ERR_AGAIN beyond that and `writable` fires when the peer's credit
 *     (sent when it closes a stream) arrives.
 *   - writes never block; `writable` also fires when acknowledgements drain
 *     queued(-1) below `writable_below`, for sessions that throttle on queued().
 *
 * Transport semantics (see moqc/transport.h): the peer learns of a stream when
 * its first frame arrives (stream_opened, then data / reset). STOP_SENDING makes
 * the sender's transport reset its send half with the same code (it then sees
 * stop_sending) and the stopper later sees stream_reset with that code. A
 * stream is reported closed (stream_closed) once our send half is done (fin
 * acknowledged or reset) and our receive half is done (fin delivered or reset
 * received). Handler callbacks run only from timer callbacks, never from inside
 * an op. close() drops unsent data and all stream state at once (every slice
 * reference is released); the local `closed` event follows from a timer, the
 * peer's one latency later. release() implies close(MOQC_CODE_CANCEL, "") if
 * the transport is still open, and silences the handler.
 *
 * Memory: the link uses plain malloc (not the moqc allocator), so allocator
 * counters in tests see only library allocations; it aborts on real OOM.
 * Threading: one thread, the clock's.
 */
#ifndef MOQC_TESTS_MEMTRANSPORT_H
#define MOQC_TESTS_MEMTRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "moqc/clock.h"
#include "moqc/transport.h"

typedef struct memlink memlink;

typedef struct memlink_config {
  uint64_t latency_ns;       /* one-way delay */
  uint64_t bandwidth;        /* bytes per second, each direction; 0 = infinite */
  size_t mtu;                /* max stream payload per packet; 0 = 1200 */
  size_t max_datagram;       /* largest datagram payload; 0 = datagrams unsupported */
  uint64_t max_streams_bidi; /* concurrent bidi streams each side may open; 0 = unlimited */
  uint64_t max_streams_uni;  /* concurrent uni streams each side may open; 0 = unlimited */
  bool webtransport;         /* value of moqc_transport.webtransport on both sides */
  size_t writable_below;     /* `writable` fires when ACKs bring queued(-1) from at or
                                above this to below it; 0 = 64 KiB, SIZE_MAX = never */
} memlink_config;

/* Used when memlink_new() gets cfg == NULL: zero latency, infinite bandwidth,
 * 1200-byte packets and datagrams, no stream limits, 64 KiB watermark. */
#define MEMLINK_CONFIG_DEFAULT ((memlink_config){0, 0, 1200, 1200, 0, 0, false, 0})

/* New connected pair on clk (which must outlive the link). NULL on OOM. */
memlink *memlink_new(moqc_clock *clk, const memlink_config *cfg);
/* Free the link, both transports and everything they hold, whether or not they
 * were released or closed. No callback runs. Not from inside a callback. */
void memlink_del(memlink *l);

moqc_transport *memlink_client(memlink *l);
moqc_transport *memlink_server(memlink *l);

/* Set moqc_transport.protocol on both sides (e.g. "moq-lite-04").
 * MOQC_ERR_INVAL if NULL or longer than 31 bytes. */
int memlink_set_protocol(memlink *l, const char *proto);
/* Set moqc_transport.path on both sides (e.g. "/anon"); copied. */
int memlink_set_path(memlink *l, const char *path);

/* Kill the connection from outside (as if the network died): both sides get
 * `closed(code, reason, by_peer=false)` from a timer; nothing else follows. */
void memlink_disconnect(memlink *l, uint64_t code, const char *reason);
/* The same, reported as the peer's doing (by_peer = true), with
 * moqc_transport.close_code_local = local: local = true is a transport-level
 * failure (the transport's own moqc_code), false the peer application's code. */
void memlink_disconnect_by_peer(memlink *l, uint64_t code, const char *reason, bool local);

/* ---- raw injection (malformed-input tests) ---------------------------------
 * Open a stream toward `to` from its peer WITHOUT involving the peer's handler:
 * the stream is hidden on the sending side (no events reach the peer's
 * handler for it); what `to` does with it is recorded and can be read with
 * memlink_inject_state(). The bytes are copied. Returns MOQC_OK, MOQC_ERR_AGAIN
 * (stream limit), MOQC_ERR_CLOSED, MOQC_ERR_INVAL. */
int memlink_inject(memlink *l, moqc_transport *to, bool bidi, const void *p, size_t len, bool fin,
                   int64_t *id);
/* Append more bytes (and/or fin) to an injected stream. */
int memlink_inject_write(memlink *l, moqc_transport *to, int64_t id, const void *p, size_t len,
                         bool fin);
/* Reset an injected stream's send half. */
int memlink_inject_reset(memlink *l, moqc_transport *to, int64_t id, uint64_t code);

typedef struct memlink_inject_info {
  bool stopped;        /* `to` sent STOP_SENDING ... */
  uint64_t stop_code;  /* ... with this code */
  bool reset;          /* `to` reset its send half (bidi) ... */
  uint64_t reset_code; /* ... with this code */
  size_t received;     /* bytes `to` sent back on a bidi stream */
  bool fin;            /* `to` finished its send half */
  bool closed;         /* the stream is fully closed on the injecting side */
} memlink_inject_info;

/* What happened to an injected stream so far. MOQC_ERR_NOT_FOUND if unknown. */
int memlink_inject_state(memlink *l, moqc_transport *to, int64_t id, memlink_inject_info *out);
/* The bytes `to` sent back on an injected bidi stream so far (*len of them;
 * owned by the link, valid until the next event or memlink_del). NULL if none
 * or unknown. */
const uint8_t *memlink_inject_received(memlink *l, moqc_transport *to, int64_t id, size_t *len);

/* The priority `t` last set on its stream id (moqc_transport_ops.set_priority).
 * MOQC_OK, MOQC_ERR_NOT_FOUND (none set, or the stream is gone), MOQC_ERR_INVAL. */
int memlink_stream_priority(moqc_transport *t, int64_t id, moqc_stream_prio *out);

/* ---- counters --------------------------------------------------------------- */
typedef struct memlink_stats {
  uint64_t packets;           /* data + datagram packets put on the wire by this side */
  uint64_t stream_bytes;      /* stream payload bytes sent */
  uint64_t datagrams;         /* datagrams sent */
  uint64_t datagrams_dropped; /* datagrams dropped because the send queue was full */
} memlink_stats;

/* Counters of what `from` sent. */
void memlink_get_stats(memlink *l, const moqc_transport *from, memlink_stats *out);

#endif
