/* moqc transport — WebTransport adapter: HTTP/3 frame readers for the
 * control stream and request streams, and the capsule reader on the
 * CONNECT stream. Input may arrive in any fragmentation (down to 1 byte);
 * only frames we act on are buffered, each bounded. */
#include <string.h>

#include "webtransport/wt_internal.h"

/* Processing of this stream goes on only while this holds: a handler may
 * have ended the connection, or turned the stream into WT_K_IGNORE. */
static bool still(const wt_conn *c, const wt_stream *s, uint8_t kind) {
  return !moqc__wt_dead(c) && s->kind == kind && s->frd != NULL;
}

static bool is_h2_reserved(uint64_t t) { return t == 0x02 || t == 0x06 || t == 0x08 || t == 0x09; }

/* ---- control stream -------------------------------------------------------------- */

static bool control_start(wt_conn *c, wt_frd *f) {
  uint64_t t = f->hdr.type;
  f->nframes++;
  if (f->nframes == 1 && t != MOQC_H3_FRAME_SETTINGS) {
    moqc__wt_conn_error(c, MOQC_H3_MISSING_SETTINGS, "h3: first control frame not SETTINGS");
    return false;
  }
  switch (t) {
    case MOQC_H3_FRAME_SETTINGS:
      if (f->nframes != 1) break;
      if (f->hdr.len > MOQC_H3_MAX_SETTINGS_PAYLOAD) {
        moqc__wt_conn_error(c, MOQC_H3_EXCESSIVE_LOAD, "h3: SETTINGS too large");
        return false;
      }
      f->mode = WT_F_BUFFER;
      return true;
    case MOQC_H3_FRAME_MAX_PUSH_ID:
      if (!c->server) break; /* only a client sends it */
      /* fall through */
    case MOQC_H3_FRAME_GOAWAY:
    case MOQC_H3_FRAME_CANCEL_PUSH:
      if (f->hdr.len > 8) {
        moqc__wt_conn_error(c, MOQC_H3_FRAME_ERROR, "h3: control frame length");
        return false;
      }
      f->mode = WT_F_BUFFER;
      return true;
    case MOQC_H3_FRAME_DATA:
    case MOQC_H3_FRAME_HEADERS:
    case MOQC_H3_FRAME_PUSH_PROMISE:
    case MOQC_H3_FRAME_WT_STREAM: break;
    default:
      if (is_h2_reserved(t)) break;
      f->mode = WT_F_SKIP; /* unknown / grease / PRIORITY_UPDATE */
      return true;
  }
  moqc__wt_conn_error(c, MOQC_H3_FRAME_UNEXPECTED, "h3: unexpected frame on control stream");
  return false;
}

static void control_end(wt_conn *c, wt_frd *f) {
  if (f->hdr.type == MOQC_H3_FRAME_SETTINGS) {
    uint64_t err = MOQC_H3_SETTINGS_ERROR;
    moqc_h3_settings st;
    if (moqc_h3_settings_decode(&st, f->pay, f->pay_len, &err) < 0) {
      moqc__wt_conn_error(c, err, "h3: bad SETTINGS");
      return;
    }
    c->peer = st;
    c->have_peer_settings = true;
    moqc__wt_on_settings(c);
    return;
  }
  /* GOAWAY / MAX_PUSH_ID / CANCEL_PUSH: exactly one varint. We serve a single
   * session, so GOAWAY needs no action. */
  uint64_t v;
  ssize_t n = moqc_varint_decode(&v, f->pay, f->pay_len);
  if (n < 0 || (size_t)n != f->pay_len)
    moqc__wt_conn_error(c, MOQC_H3_FRAME_ERROR, "h3: malformed control frame");
}

/* ---- request / CONNECT stream ----------------------------------------------------- */

static bool request_start(wt_conn *c, wt_stream *s, wt_frd *f) {
  uint64_t t = f->hdr.type;
  switch (t) {
    case MOQC_H3_FRAME_HEADERS:
      if (f->headers_done) { /* trailers: not used by WebTransport */
        f->mode = WT_F_SKIP;
        return true;
      }
      if (f->hdr.len > MOQC_H3_MAX_HEADER_BLOCK) {
        if (c->server) moqc__wt_stream_error(c, s, MOQC_H3_EXCESSIVE_LOAD);
        else moqc__wt_conn_error(c, MOQC_H3_EXCESSIVE_LOAD, "h3: response headers too large");
        return false;
      }
      f->mode = WT_F_BUFFER;
      return true;
    case MOQC_H3_FRAME_DATA:
      if (!f->headers_done) break;
      f->mode = WT_F_CAPSULES;
      return true;
    case MOQC_H3_FRAME_PUSH_PROMISE:
      moqc__wt_conn_error(c, c->server ? MOQC_H3_FRAME_UNEXPECTED : MOQC_H3_ID_ERROR,
                          "h3: PUSH_PROMISE");
      return false;
    case MOQC_H3_FRAME_SETTINGS:
    case MOQC_H3_FRAME_GOAWAY:
    case MOQC_H3_FRAME_MAX_PUSH_ID:
    case MOQC_H3_FRAME_CANCEL_PUSH:
    case MOQC_H3_FRAME_WT_STREAM: break;
    default:
      if (is_h2_reserved(t)) break;
      f->mode = WT_F_SKIP;
      return true;
  }
  moqc__wt_conn_error(c, MOQC_H3_FRAME_UNEXPECTED, "h3: unexpected frame on request stream");
  return false;
}

static void request_end(wt_conn *c, wt_stream *s, wt_frd *f) {
  if (f->hdr.type != MOQC_H3_FRAME_HEADERS || f->headers_done) return;
  if (c->server) {
    f->headers_done = true;
    moqc__wt_server_on_headers(c, s, f->pay, f->pay_len);
  } else {
    moqc__wt_client_on_headers(c, s, f->pay,
                               f->pay_len); /* sets headers_done on a final response */
  }
}

/* ---- capsules (RFC 9297) ------------------------------------------------------------ */

static void on_close_capsule(wt_conn *c, const moqc_capsule *cap) {
  char reason[MOQC_WT_CLOSE_REASON_MAX + 1];
  memcpy(reason, cap->reason.ptr, cap->reason.len);
  reason[cap->reason.len] = '\0';
  if (c->state == WT_ST_OPEN) {
    /* Answer with our FIN; the session is over. */
    moqc__wt_write_bytes(c, c->session_id, NULL, 0, true);
    moqc__wt_session_ended(c, cap->code, reason, true);
  } else if (c->state == WT_ST_CLOSING) {
    moqc__wt_h3_close(c, moqc_wt_code_to_h3(c->close_code), c->close_reason);
  }
}

static bool capsule_end(wt_conn *c, wt_frd *f) {
  f->c_in_payload = false;
  if (!f->c_buffer) return true;
  moqc_capsule cap;
  if (moqc_capsule_parse_payload(&cap, f->chdr.type, f->cbuf, f->cbuf_len) != MOQC_OK) {
    moqc__wt_conn_error(c, MOQC_H3_MESSAGE_ERROR, "wt: malformed capsule");
    return false;
  }
  if (cap.type == MOQC_CAPSULE_CLOSE_WT_SESSION) on_close_capsule(c, &cap);
  /* DRAIN: we serve one session on this connection; nothing to do. */
  return !moqc__wt_dead(c);
}

static bool capsules_feed(wt_conn *c, wt_frd *f, const uint8_t *p, size_t len) {
  while (len > 0) {
    if (!f->c_in_payload) {
      size_t used, rlen;
      uint8_t replay[MOQC_H3_HDR_MAX];
      ssize_t r =
          moqc_h3_acc_feed(&f->cacc, moqc_h3_dec_frame_hdr, &f->chdr, p, len, &used, replay, &rlen);
      if (r == MOQC_ERR_NEED_MORE) return true;
      if (r < 0) {
        moqc__wt_conn_error(c, MOQC_H3_MESSAGE_ERROR, "wt: bad capsule header");
        return false;
      }
      p += used;
      len -= used;
      f->c_in_payload = true;
      f->cleft = f->chdr.len;
      f->cbuf_len = 0;
      f->c_buffer = f->chdr.type == MOQC_CAPSULE_CLOSE_WT_SESSION ||
                    f->chdr.type == MOQC_CAPSULE_DRAIN_WT_SESSION;
      if (f->c_buffer && f->chdr.len > sizeof f->cbuf) {
        moqc__wt_conn_error(c, MOQC_H3_MESSAGE_ERROR, "wt: capsule too large");
        return false;
      }
      if (f->cleft == 0 && !capsule_end(c, f)) return false;
      continue;
    }
    size_t n = f->cleft < len ? (size_t)f->cleft : len;
    if (f->c_buffer) {
      memcpy(f->cbuf + f->cbuf_len, p, n);
      f->cbuf_len += n;
    }
    p += n;
    len -= n;
    f->cleft -= n;
    if (f->cleft == 0 && !capsule_end(c, f)) return false;
  }
  return true;
}

/* ---- generic frame loop ------------------------------------------------------------------ */

static bool frame_start(wt_conn *c, wt_stream *s) {
  wt_frd *f = s->frd;
  f->in_payload = true;
  f->left = f->hdr.len;
  f->mode = WT_F_SKIP;
  bool ok = s->kind == WT_K_CONTROL ? control_start(c, f) : request_start(c, s, f);
  if (!ok || !still(c, s, s->kind)) return false;
  if (f->mode == WT_F_BUFFER) {
    f->pay_len = 0;
    f->pay = moqc__wt_alloc(f->hdr.len ? (size_t)f->hdr.len : 1);
    if (!f->pay) {
      moqc__wt_conn_error(c, MOQC_H3_INTERNAL_ERROR, "out of memory");
      return false;
    }
  }
  return true;
}

static bool frame_end(wt_conn *c, wt_stream *s) {
  wt_frd *f = s->frd;
  uint8_t kind = s->kind;
  f->in_payload = false;
  if (f->mode == WT_F_BUFFER) {
    if (kind == WT_K_CONTROL) control_end(c, f);
    else request_end(c, s, f);
    /* The handler may have dropped the frame reader. */
    if (s->frd) {
      moqc__wt_free(s->frd->pay);
      s->frd->pay = NULL;
      s->frd->pay_len = 0;
    }
  }
  return still(c, s, kind);
}

bool moqc__wt_frames_feed(wt_conn *c, wt_stream *s, const uint8_t *p, size_t len, bool fin) {
  uint8_t kind = s->kind;
  while (len > 0) {
    if (!still(c, s, kind)) return false;
    wt_frd *f = s->frd;
    if (!f->in_payload) {
      size_t used, rlen;
      uint8_t replay[MOQC_H3_HDR_MAX];
      ssize_t r =
          moqc_h3_acc_feed(&f->acc, moqc_h3_dec_frame_hdr, &f->hdr, p, len, &used, replay, &rlen);
      if (r == MOQC_ERR_NEED_MORE) break;
      if (r < 0) {
        moqc__wt_conn_error(c, MOQC_H3_FRAME_ERROR, "h3: bad frame header");
        return false;
      }
      p += used;
      len -= used;
      if (!frame_start(c, s)) return false;
      if (s->frd->left == 0 && !frame_end(c, s)) return false;
      continue;
    }
    size_t n = f->left < len ? (size_t)f->left : len;
    if (f->mode == WT_F_BUFFER) {
      memcpy(f->pay + f->pay_len, p, n);
      f->pay_len += n;
    } else if (f->mode == WT_F_CAPSULES) {
      if (!capsules_feed(c, f, p, n)) return false;
      if (!still(c, s, kind)) return false;
    }
    p += n;
    len -= n;
    f->left -= n;
    if (f->left == 0 && !frame_end(c, s)) return false;
  }
  if (!still(c, s, kind)) return false;
  if (!fin) return true;
  wt_frd *f = s->frd;
  if (f->in_payload || f->acc.len) {
    moqc__wt_conn_error(c, MOQC_H3_FRAME_ERROR, "h3: stream ended inside a frame");
    return false;
  }
  if (f->c_in_payload || f->cacc.len) {
    moqc__wt_conn_error(c, MOQC_H3_MESSAGE_ERROR, "wt: stream ended inside a capsule");
    return false;
  }
  if (kind == WT_K_REQUEST) moqc__wt_request_fin(c, s);
  return true;
}
