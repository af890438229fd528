/* moqc transport — WebTransport adapter: the session as a moqc_transport.
 * Streams we open start with a shared, refcounted prefix slice (0x54/0x41 +
 * session id), so user bytes are never copied; datagrams get the
 * quarter-stream-id prefix; reset/stop-sending codes are mapped into the
 * HTTP/3 range. */
#include <string.h>

#include "moqc/buf.h"
#include "webtransport/wt_internal.h"

static wt_conn *W(moqc_transport *t) { return (wt_conn *)t; }

static bool usable(const wt_conn *c) { return c->state == WT_ST_OPEN && !wt_h3_gone(c); }

static int make_prefix(moqc_slice *dst, bool bidi, uint64_t sid) {
  uint8_t b[MOQC_H3_HDR_MAX];
  ssize_t n = moqc_wt_prefix_encode(b, sizeof b, bidi, sid);
  if (n < 0) return (int)n;
  moqc_buf *buf = moqc_buf_copy(b, (size_t)n);
  if (!buf) return MOQC_ERR_NOMEM;
  dst->buf = buf;
  dst->off = 0;
  dst->len = (size_t)n;
  return MOQC_OK;
}

int moqc__wt_session_prepare(wt_conn *c) {
  uint64_t sid = (uint64_t)c->session_id;
  int rc = make_prefix(&c->hdr_uni, false, sid);
  if (rc == MOQC_OK) rc = make_prefix(&c->hdr_bidi, true, sid);
  if (rc != MOQC_OK) return rc;
  ssize_t n = moqc_wt_datagram_prefix_encode(c->dg_prefix, sizeof c->dg_prefix, sid);
  if (n < 0) return (int)n;
  c->dg_prefix_len = (size_t)n;
  return MOQC_OK;
}

/* May the user name this stream? Never our control/CONNECT streams, and a
 * peer stream only once it was reported as a session stream. */
static bool user_id(wt_conn *c, int64_t id) {
  if (id < 0 || id == c->control_out || id == c->session_id) return false;
  if (MOQC_STREAM_IS_SERVER(id) != c->server) {
    wt_stream *s = moqc__imap_find(&c->streams, (uint64_t)id);
    return s && s->kind == WT_K_WT && s->visible;
  }
  return true;
}

static int s_open_stream(moqc_transport *t, bool bidi, int64_t *id) {
  wt_conn *c = W(t);
  if (!id) return MOQC_ERR_INVAL;
  if (!usable(c)) return MOQC_ERR_CLOSED;
  int64_t nid;
  int rc = c->h3->ops->open_stream(c->h3, bidi, &nid);
  if (rc != MOQC_OK) return rc;
  rc = c->h3->ops->write(c->h3, nid, bidi ? &c->hdr_bidi : &c->hdr_uni, 1, false);
  if (rc != MOQC_OK) {
    c->h3->ops->reset(c->h3, nid, moqc_wt_code_to_h3(MOQC_CODE_CANCEL));
    return rc;
  }
  *id = nid;
  return MOQC_OK;
}

static int s_write(moqc_transport *t, int64_t id, const moqc_slice *s, size_t n, bool fin) {
  wt_conn *c = W(t);
  if (!usable(c)) return MOQC_ERR_CLOSED;
  if (!user_id(c, id) || (n && !s)) return MOQC_ERR_INVAL;
  return c->h3->ops->write(c->h3, id, s, n, fin);
}

static int s_reset(moqc_transport *t, int64_t id, uint64_t code) {
  wt_conn *c = W(t);
  if (!usable(c)) return MOQC_ERR_CLOSED;
  if (!user_id(c, id)) return MOQC_ERR_INVAL;
  return c->h3->ops->reset(c->h3, id, moqc_wt_code_to_h3(code));
}

static int s_stop_sending(moqc_transport *t, int64_t id, uint64_t code) {
  wt_conn *c = W(t);
  if (!usable(c)) return MOQC_ERR_CLOSED;
  if (!user_id(c, id)) return MOQC_ERR_INVAL;
  return c->h3->ops->stop_sending(c->h3, id, moqc_wt_code_to_h3(code));
}

static int s_set_priority(moqc_transport *t, int64_t id, const moqc_stream_prio *prio) {
  wt_conn *c = W(t);
  if (!usable(c)) return MOQC_ERR_CLOSED;
  if (!user_id(c, id) || !prio) return MOQC_ERR_INVAL;
  return c->h3->ops->set_priority(c->h3, id, prio);
}

static size_t s_max_datagram(moqc_transport *t) {
  wt_conn *c = W(t);
  if (!usable(c) || !moqc_h3_settings_datagrams(&c->peer)) return 0;
  size_t m = c->h3->ops->max_datagram(c->h3);
  return m > c->dg_prefix_len ? m - c->dg_prefix_len : 0;
}

static int s_send_datagram(moqc_transport *t, const uint8_t *p, size_t len) {
  wt_conn *c = W(t);
  if (!usable(c)) return MOQC_ERR_CLOSED;
  if (!moqc_h3_settings_datagrams(&c->peer)) return MOQC_ERR_UNSUPPORTED;
  if (len && !p) return MOQC_ERR_INVAL;
  size_t max = s_max_datagram(t);
  if (max == 0) return MOQC_ERR_UNSUPPORTED;
  if (len > max) return MOQC_ERR_TOO_LARGE;
  uint8_t stack[1600];
  size_t total = c->dg_prefix_len + len;
  uint8_t *b = total <= sizeof stack ? stack : moqc__wt_alloc(total);
  if (!b) return MOQC_ERR_NOMEM;
  memcpy(b, c->dg_prefix, c->dg_prefix_len);
  if (len) memcpy(b + c->dg_prefix_len, p, len);
  int rc = c->h3->ops->send_datagram(c->h3, b, total);
  if (b != stack) moqc__wt_free(b);
  return rc;
}

static size_t s_queued(moqc_transport *t, int64_t id) {
  wt_conn *c = W(t);
  if (wt_h3_released(c)) return 0;
  return c->h3->ops->queued(c->h3, id);
}

/* The underlying connection's backlog (its queued() if it has none). */
static size_t s_backlog(moqc_transport *t) {
  wt_conn *c = W(t);
  if (wt_h3_released(c)) return 0;
  if (!c->h3->ops->backlog) return c->h3->ops->queued(c->h3, -1);
  return c->h3->ops->backlog(c->h3);
}

static void s_stats(moqc_transport *t, uint64_t *rtt_ns, uint64_t *send_rate_bps) {
  wt_conn *c = W(t);
  uint64_t r = 0, b = 0;
  if (!wt_h3_released(c) && c->h3->ops->stats) c->h3->ops->stats(c->h3, &r, &b);
  if (rtt_ns) *rtt_ns = r;
  if (send_rate_bps) *send_rate_bps = b;
}

/* Send CLOSE_WEBTRANSPORT_SESSION + FIN on the CONNECT stream. */
static void send_capsule(wt_conn *c, uint64_t code, const char *reason) {
  uint8_t buf[MOQC_WT_CLOSE_REASON_MAX + 32];
  uint32_t c32 = code > UINT32_MAX ? UINT32_MAX : (uint32_t)code;
  ssize_t n = moqc_capsule_close_encode_data_frame(buf, sizeof buf, c32, reason);
  if (n > 0) moqc__wt_write_bytes(c, c->session_id, buf, (size_t)n, true);
  c->close_code = code;
  size_t rl = reason ? strlen(reason) : 0;
  if (rl > MOQC_WT_CLOSE_REASON_MAX) rl = MOQC_WT_CLOSE_REASON_MAX;
  if (rl) memcpy(c->close_reason, reason, rl);
  c->close_reason[rl] = '\0';
  moqc__wt_set_state(c, WT_ST_CLOSING);
}

static void s_close(moqc_transport *t, uint64_t code, const char *reason) {
  wt_conn *c = W(t);
  if (c->state != WT_ST_OPEN) return;
  send_capsule(c, code, reason);
  if (wt_h3_gone(c)) return;
  /* Give the capsule time to arrive: wait for the peer's FIN (or its own
   * capsule) up to 3 RTT (100 ms .. 2 s). Without a clock, close at once. */
  uint64_t rtt = 0;
  s_stats(t, &rtt, NULL);
  uint64_t d = rtt * 3;
  if (d < WT_CLOSE_LINGER_MIN_NS) d = WT_CLOSE_LINGER_MIN_NS;
  if (d > WT_CLOSE_LINGER_MAX_NS) d = WT_CLOSE_LINGER_MAX_NS;
  if (moqc__wt_start_timer(c, d) != MOQC_OK)
    moqc__wt_h3_close(c, moqc_wt_code_to_h3(code), c->close_reason);
}

static void s_release(moqc_transport *t) {
  wt_conn *c = W(t);
  if (c->state == WT_ST_OPEN && !wt_h3_gone(c)) send_capsule(c, MOQC_CODE_CANCEL, "");
  moqc__wt_h3_close(c, moqc_wt_code_to_h3(c->close_code), c->close_reason);
  moqc__wt_user_release(c);
}

const moqc_transport_ops moqc__wt_session_ops = {
    .open_stream = s_open_stream,
    .write = s_write,
    .reset = s_reset,
    .stop_sending = s_stop_sending,
    .set_priority = s_set_priority,
    .send_datagram = s_send_datagram,
    .max_datagram = s_max_datagram,
    .queued = s_queued,
    .stats = s_stats,
    .close = s_close,
    .release = s_release,
    .backlog = s_backlog,
};
