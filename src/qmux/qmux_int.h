/* moqc qmux — connection internals shared by qmux_conn.c and qmux_stream.c. */
#ifndef MOQC_QMUX_INT_H
#define MOQC_QMUX_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/imap.h"
#include "moqc/qmux.h"
#include "qmux/qmux_frame.h"

/* Our receive windows and stream limits (the @moq/qmux and Rust defaults). */
#define QMUX_WINDOW_DATA (1u << 20)
#define QMUX_WINDOW_STREAM (256u << 10)
#define QMUX_MAX_STREAMS 100
#define QMUX_IDLE_TIMEOUT_MS 30000
#define QMUX_UNLIMITED UINT64_MAX

typedef struct qstream {
  int64_t id;
  struct qstream *next; /* only while being reaped (a local list) */
  /* send half */
  moqc_slice *q; /* queued slices, q[qhead..qn) */
  size_t qn, qcap, qhead;
  size_t qoff;       /* bytes of q[qhead] already sent */
  size_t unsent;     /* bytes queued, not yet handed to the WebSocket */
  uint64_t send_off; /* bytes sent */
  uint64_t send_max; /* peer's MAX_STREAM_DATA */
  bool can_send, fin_queued, send_done;
  /* receive half */
  bool can_recv, recv_done;
  uint64_t recv_off, recv_max, recv_window;
  /* scheduling */
  moqc_stream_prio prio;
  bool has_prio;
  uint64_t served; /* tick of the last send, round-robin among equals */
} qstream;

typedef enum qmux_state {
  QMUX_OPEN,    /* running */
  QMUX_CLOSING, /* a close was sent or received; `closed` not reported yet */
  QMUX_CLOSED,  /* `closed` reported: no handler call follows */
} qmux_state;

struct moqc_qmux {
  moqc_transport base; /* first: the transport view */
  moqc_qmux_config cfg;
  char *path;
  int refs; /* user + I/O + calls in progress */
  bool user_gone, io_gone;
  qmux_state state;
  uint64_t close_code;
  char close_reason[128];
  bool close_by_peer;
  moqc_timer tick;
  bool want_writable;
  bool blocked; /* the session was refused (AGAIN, queue high): tell it `writable` */
  bool params_sent, params_recv;
  bool ping_seen;     /* qmux-02: a QX_PING request was received */
  uint64_t ping_last; /* ... and the highest sequence so far */
  moqc_qmux_params ours, peer;
  moqc_imap streams; /* stream id -> qstream */
  /* stream counts: [0] bidi, [1] uni */
  uint64_t local_next[2]; /* streams we opened */
  uint64_t local_max[2];  /* peer's MAX_STREAMS */
  uint64_t peer_next[2];  /* peer streams seen (highest index + 1) */
  uint64_t peer_max[2];   /* what we allow */
  uint64_t peer_released[2];
  /* connection flow control */
  uint64_t sent_data, send_max_data;
  uint64_t recv_data, recv_consumed, recv_max_data;
  size_t unsent; /* over all streams */
  uint64_t moqc__serve_tick;
};

#endif
