/* moqc session — received group data: group streams (uni, publisher ->),
 * FETCH responses (bare frames on our FETCH stream) and lite-05 datagrams.
 *
 * Payload bytes are copied exactly once, from the transport's borrowed buffer
 * into a moqc_buf (a whole frame in one buf when it arrived in one piece, else
 * one buf per chunk through a frame producer). Only headers (at most
 * SESS_HDR_MAX bytes) are ever buffered by the stream. */
#include <string.h>

#include "core/mem.h"
#include "moqc/time.h"
#include "session/session_int.h"

/* ---- frame receiver ----------------------------------------------------------- */

void moqc__frx_init(frx *rx, moqc_group_producer *g, uint64_t timescale) {
  memset(rx, 0, sizeof *rx);
  rx->g = g;
  rx->timescale = timescale ? timescale : 1000;
}

/* Abort the group with code and release everything. */
void moqc__frx_abort(frx *rx, uint64_t code) {
  if (rx->g) moqc_group_producer_abort(rx->g, code);
  if (rx->f) moqc_frame_producer_del(rx->f);
  rx->f = NULL;
  if (rx->g) moqc_group_producer_del(rx->g);
  rx->g = NULL;
}

/* Clean end at a frame boundary: finish the group. */
static int frx_finish(frx *rx) {
  int rc = moqc_group_producer_finish(rx->g);
  moqc_group_producer_del(rx->g);
  rx->g = NULL;
  return rc;
}

typedef struct frame_ctx {
  struct moqc_lite_frame *fr;
  int version;
  uint64_t prev_ts;
} frame_ctx;

static ssize_t dec_frame(void *ctx, const uint8_t *p, size_t len) {
  frame_ctx *c = ctx;
  return moqc_lite_frame_decode(c->fr, c->version, c->prev_ts, p, len);
}

static uint64_t arrival_ts(moqc_session *s, uint64_t timescale) {
  uint64_t out = 0;
  if (moqc_time_convert(moqc__sess_now(s), MOQC_TIMESCALE_NANO, timescale, &out) < 0) out = 0;
  return out;
}

int moqc__frx_feed(moqc_session *s, sstream *ss, frx *rx, const uint8_t *p, size_t len,
                   size_t *used) {
  size_t start = len;
  while (len > 0) {
    if (rx->in_payload) {
      size_t n = rx->remaining < len ? (size_t)rx->remaining : len;
      int rc;
      if (!rx->f && n == rx->remaining) {
        /* The whole frame is here: one buf, read back with zero copies. */
        rc = moqc_group_producer_write_frame_copy(rx->g, p, n, rx->cur_ts);
      } else {
        if (!rx->f) {
          moqc_frame_info fi = {.size = rx->remaining, .timestamp = rx->cur_ts};
          int err = MOQC_ERR_NOMEM;
          rx->f = moqc_group_producer_create_frame(rx->g, &fi, &err);
          if (!rx->f) return err < 0 ? err : MOQC_ERR_NOMEM;
        }
        rc = moqc_frame_producer_write_copy(rx->f, p, n);
      }
      if (rc < 0) return rc;
      s->stats.bytes_received += n;
      rx->remaining -= n;
      p += n;
      len -= n;
      if (rx->remaining == 0) {
        rx->in_payload = false;
        if (rx->f) {
          rc = moqc_frame_producer_finish(rx->f);
          moqc_frame_producer_del(rx->f);
          rx->f = NULL;
          if (rc < 0) return rc;
        }
        s->stats.frames_received++;
      }
      continue;
    }
    struct moqc_lite_frame fr;
    size_t u = 0;
    int r = 1;
    ssize_t d;
    /* Nothing buffered and the whole header here (the usual case): decode in
     * place; anything else (split, invalid) goes through the buffering parser,
     * which reports the error. */
    if (ss_len(ss) == 0 && len > 0 &&
        (d = moqc_lite_frame_decode(&fr, s->version, rx->prev_ts, p, len)) > 0) {
      u = (size_t)d;
    } else {
      frame_ctx c = {&fr, s->version, rx->prev_ts};
      r = moqc__ss_hdr_parse(ss, p, len, SESS_HDR_MAX, dec_frame, &c, &u);
    }
    p += u;
    len -= u;
    if (r == 0) break;
    if (r < 0) return r;
    uint64_t ts;
    if (moqc_lite_is_05(s->version)) {
      ts = fr.timestamp;
      rx->prev_ts = fr.timestamp;
    } else {
      ts = arrival_ts(s, rx->timescale); /* no timestamps on the wire */
    }
    if (fr.size == 0) {
      int rc = moqc_group_producer_write_frame_copy(rx->g, NULL, 0, ts);
      if (rc < 0) return rc;
      s->stats.frames_received++;
      continue;
    }
    rx->in_payload = true;
    rx->remaining = fr.size;
    rx->cur_ts = ts;
  }
  if (used) *used = start - len;
  return MOQC_OK;
}

/* ---- group streams ------------------------------------------------------------- */

static void gi_free(sobj *o) { moqc_free(o); }

static void gi_destroy(group_in *gi) {
  moqc_session *s = gi->ss ? gi->ss->s : gi->rt->s;
  bool linked = moqc_link_linked(&gi->link);
  if (linked) moqc_list_remove(&gi->link);
  moqc__frx_abort(&gi->rx, MOQC_CODE_CANCEL); /* no-op on a finished group */
  if (gi->ss) {
    sstream *ss = gi->ss;
    gi->ss = NULL;
    moqc__ss_release(ss);
  }
  moqc__sess_bury(s, &gi->obj);
  if (linked && !sess_closing(s)) moqc__rt_group_done(gi->rt);
}

void moqc__gi_cancel(group_in *gi, uint64_t code) {
  if (gi->ss) moqc__ss_stop(gi->ss, code);
  moqc__frx_abort(&gi->rx, code);
  gi_destroy(gi);
}

typedef struct group_ctx {
  struct moqc_lite_group *g;
  int version;
} group_ctx;

static ssize_t dec_group(void *ctx, const uint8_t *p, size_t len) {
  group_ctx *c = ctx;
  return moqc_lite_group_decode(c->g, c->version, p, len);
}

/* The group header arrived: bind the stream to its subscription. */
static group_in *gi_bind(sstream *ss, const struct moqc_lite_group *hdr) {
  moqc_session *s = ss->s;
  if (!moqc__sess_group_rate(s)) return NULL; /* closing: the stream goes with it */
  rtrack *rt = moqc__rt_by_id(s, hdr->subscribe);
  if (!rt || !rt->tp) {
    moqc__ss_stop(ss, MOQC_CODE_CANCEL); /* unknown (or finished) subscription */
    moqc__ss_release(ss);
    return NULL;
  }
  moqc_group_producer *g = NULL;
  int rc = moqc_track_producer_create_group(rt->tp, hdr->sequence, &g);
  if (rc < 0) {
    if (rc == MOQC_ERR_NOMEM) {
      moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
      return NULL;
    }
    moqc__ss_stop(ss, moqc_code_from_err(rc));
    moqc__ss_release(ss);
    return NULL;
  }
  group_in *gi = moqc_calloc(1, sizeof *gi);
  if (!gi) {
    moqc_group_producer_abort(g, MOQC_CODE_CANCEL);
    moqc_group_producer_del(g);
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return NULL;
  }
  gi->obj.destroy = gi_free;
  gi->ss = ss;
  gi->rt = rt;
  moqc__frx_init(&gi->rx, g, rt->info.timescale);
  moqc_list_push_back(&rt->groups, &gi->link);
  ss->owner = gi;
  moqc__rt_group_bound(rt); /* a group after a FIN: extend the grace */
  return gi;
}

/* A stream-level failure of received frames. */
static void rx_failed(sstream *ss, frx *rx, int err) {
  moqc_session *s = ss->s;
  if (err == MOQC_ERR_DECODE) {
    moqc__sess_fail(s, MOQC_CODE_DECODE, "malformed frame header", false);
    return;
  }
  if (err == MOQC_ERR_NOMEM) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  uint64_t code = err == MOQC_ERR_TOO_LARGE ? MOQC_CODE_FRAME_TOO_LARGE : moqc_code_from_err(err);
  moqc__ss_stop(ss, code);
  moqc__ss_reset(ss, code); /* a FETCH response (bidi); a no-op on a peer uni stream */
  moqc__frx_abort(rx, code);
}

int moqc__frx_stream_data(sstream *ss, frx *rx, const uint8_t *p, size_t len, bool fin) {
  int rc = moqc__frx_feed(ss->s, ss, rx, p, len, NULL);
  if (rc < 0) {
    rx_failed(ss, rx, rc);
    return FRX_FAILED;
  }
  if (!fin) return FRX_MORE;
  ss_set_rx(ss, SS_RX_DONE);
  if (rx->in_payload || ss_len(ss) > 0) {
    /* FIN inside a frame (header or payload). */
    moqc__frx_abort(rx, MOQC_CODE_WRONG_SIZE);
    return FRX_END_BAD;
  }
  return frx_finish(rx) == MOQC_OK ? FRX_END_OK : FRX_END_BAD;
}

static void gi_data(sstream *ss, const uint8_t *p, size_t len, bool fin) {
  moqc_session *s = ss->s;
  group_in *gi = ss->owner;
  if (!gi) {
    struct moqc_lite_group hdr;
    group_ctx c = {&hdr, s->version};
    size_t used = 0;
    int r = moqc__ss_hdr_parse(ss, p, len, SESS_HDR_MAX, dec_group, &c, &used);
    if (r == 0) {
      if (fin) moqc__sess_fail(s, MOQC_CODE_DECODE, "group stream ended in its header", false);
      return;
    }
    if (r < 0) {
      moqc__sess_fail(s, MOQC_CODE_DECODE, "malformed GROUP header", false);
      return;
    }
    p += used;
    len -= used;
    gi = gi_bind(ss, &hdr);
    if (!gi) return;
  }
  int r = moqc__frx_stream_data(ss, &gi->rx, p, len, fin);
  if (r == FRX_MORE) return;
  if (r == FRX_END_OK) s->stats.groups_received++;
  gi_destroy(gi);
}

/* The peer reset its group stream or the transport forgot it (a FIN arrives
 * through gi_data): the group aborts with the code. */
static void gi_end(sstream *ss, bool reset, uint64_t code) {
  group_in *gi = ss->owner;
  if (!gi) {
    moqc__ss_release(ss);
    return;
  }
  moqc__frx_abort(&gi->rx, reset ? code : MOQC_CODE_CANCEL);
  gi_destroy(gi);
}

const moqc__stream_kind moqc__sk_group_in = {.name = "group-in", .data = gi_data, .end = gi_end};

/* ---- datagrams (lite-05) ----------------------------------------------------------- */

void moqc__sess_datagram(moqc_session *s, const uint8_t *p, size_t len) {
  if (!moqc__sess_ingress(s, len)) return;
  if (!moqc_lite_is_05(s->version) || len > SESS_DATAGRAM_MAX) return;
  if (!moqc__sess_group_rate(s)) return;
  struct moqc_lite_datagram d;
  if (moqc_lite_datagram_decode(&d, s->version, p, len) < 0) return;
  rtrack *rt = moqc__rt_by_id(s, d.subscribe);
  if (!rt || !rt->tp || rt->state != RT_LIVE) return; /* unknown: dropped */
  moqc_group_producer *g = NULL;
  if (moqc_track_producer_create_group(rt->tp, d.sequence, &g) < 0) return; /* dedupe */
  moqc_group_producer_set_datagram(g); /* a relay forwards it as a datagram too */
  if (moqc_group_producer_write_frame_copy(g, d.payload.ptr, d.payload.len, d.timestamp) ==
          MOQC_OK &&
      moqc_group_producer_finish(g) == MOQC_OK) {
    s->stats.datagrams_received++;
    s->stats.frames_received++;
    s->stats.bytes_received += d.payload.len;
  } else {
    moqc_group_producer_abort(g, MOQC_CODE_CANCEL);
  }
  moqc_group_producer_del(g);
}
