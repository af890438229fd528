/* moqc qmux — frame codec (see qmux_frame.h). */
#include "qmux/qmux_frame.h"

#include <assert.h>
#include <string.h>

#include "moqc/error.h"

void moqc__qmux_params_default(moqc_qmux_params *p) {
  memset(p, 0, sizeof *p);
  p->max_record_size = MOQC_QMUX_DEFAULT_MAX_RECORD_SIZE;
}

/* Bit per recognised id, for the duplicate check. */
static int param_bit(uint64_t id) {
  switch (id) {
    case MOQC_QMUX_TP_MAX_IDLE_TIMEOUT: return 0;
    case MOQC_QMUX_TP_INITIAL_MAX_DATA: return 1;
    case MOQC_QMUX_TP_SD_BIDI_LOCAL: return 2;
    case MOQC_QMUX_TP_SD_BIDI_REMOTE: return 3;
    case MOQC_QMUX_TP_SD_UNI: return 4;
    case MOQC_QMUX_TP_STREAMS_BIDI: return 5;
    case MOQC_QMUX_TP_STREAMS_UNI: return 6;
    case MOQC_QMUX_TP_MAX_DATAGRAM_FRAME_SIZE: return 7;
    case MOQC_QMUX_TP_MAX_RECORD_SIZE: return 8;
    case MOQC_QMUX_TP_APPLICATION_PROTOCOLS: return 9;
    case MOQC_QMUX_TP_RESET_STREAM_AT: return 10;
    default: return -1;
  }
}

static uint64_t *param_slot(moqc_qmux_params *p, uint64_t id) {
  switch (id) {
    case MOQC_QMUX_TP_MAX_IDLE_TIMEOUT: return &p->max_idle_timeout;
    case MOQC_QMUX_TP_INITIAL_MAX_DATA: return &p->initial_max_data;
    case MOQC_QMUX_TP_SD_BIDI_LOCAL: return &p->sd_bidi_local;
    case MOQC_QMUX_TP_SD_BIDI_REMOTE: return &p->sd_bidi_remote;
    case MOQC_QMUX_TP_SD_UNI: return &p->sd_uni;
    case MOQC_QMUX_TP_STREAMS_BIDI: return &p->streams_bidi;
    case MOQC_QMUX_TP_STREAMS_UNI: return &p->streams_uni;
    case MOQC_QMUX_TP_MAX_DATAGRAM_FRAME_SIZE: return &p->max_datagram_frame_size;
    case MOQC_QMUX_TP_MAX_RECORD_SIZE: return &p->max_record_size;
    default: return NULL;
  }
}

int moqc__qmux_params_decode(moqc_qmux_params *out, const uint8_t *p, size_t len) {
  moqc_qmux_params tp;
  moqc__qmux_params_default(&tp);
  moqc_reader r = moqc_reader_make(p, len);
  uint32_t seen = 0;
  while (moqc_reader_left(&r) > 0) {
    uint64_t id;
    moqc_bytes val;
    if (moqc_read_varint(&r, &id) != MOQC_OK) return MOQC_ERR_DECODE;
    if (moqc_read_bytes(&r, moqc_reader_left(&r), &val) != MOQC_OK) return MOQC_ERR_DECODE;
    int bit = param_bit(id);
    if (bit >= 0) {
      if (seen & (1u << bit)) return MOQC_ERR_DECODE; /* duplicate */
      seen |= 1u << bit;
    }
    /* Negotiated by the WebSocket sub-protocol: never in-band here. */
    if (id == MOQC_QMUX_TP_APPLICATION_PROTOCOLS) return MOQC_ERR_DECODE;
    if (id == MOQC_QMUX_TP_RESET_STREAM_AT) {
      if (val.len != 0) return MOQC_ERR_DECODE;
      tp.reset_stream_at = true;
      continue;
    }
    /* QUIC v1 parameters QMux forbids. */
    if (id == 0x00 || id == 0x02 || id == 0x03 || (id >= 0x0a && id <= 0x10))
      return MOQC_ERR_DECODE;
    uint64_t *slot = param_slot(&tp, id);
    if (!slot) continue; /* unknown: ignorable extension */
    moqc_reader vr = moqc_reader_make(val.ptr, val.len);
    if (moqc_read_varint(&vr, slot) != MOQC_OK || moqc_reader_left(&vr) != 0)
      return MOQC_ERR_DECODE;
  }
  *out = tp;
  return MOQC_OK;
}

static void put_param(moqc_writer *w, uint64_t id, uint64_t v) {
  if (v == 0) return;
  moqc_write_varint(w, id);
  moqc_write_varint(w, moqc_varint_len(v));
  moqc_write_varint(w, v);
}

void moqc__qmux_params_encode(moqc_writer *w, const moqc_qmux_params *p) {
  put_param(w, MOQC_QMUX_TP_MAX_IDLE_TIMEOUT, p->max_idle_timeout);
  put_param(w, MOQC_QMUX_TP_INITIAL_MAX_DATA, p->initial_max_data);
  put_param(w, MOQC_QMUX_TP_SD_BIDI_LOCAL, p->sd_bidi_local);
  put_param(w, MOQC_QMUX_TP_SD_BIDI_REMOTE, p->sd_bidi_remote);
  put_param(w, MOQC_QMUX_TP_SD_UNI, p->sd_uni);
  put_param(w, MOQC_QMUX_TP_STREAMS_BIDI, p->streams_bidi);
  put_param(w, MOQC_QMUX_TP_STREAMS_UNI, p->streams_uni);
  put_param(w, MOQC_QMUX_TP_MAX_DATAGRAM_FRAME_SIZE, p->max_datagram_frame_size);
  put_param(w, MOQC_QMUX_TP_MAX_RECORD_SIZE, p->max_record_size);
  if (p->reset_stream_at) {
    moqc_write_varint(w, MOQC_QMUX_TP_RESET_STREAM_AT);
    moqc_write_varint(w, 0);
  }
}

/* ---- decode ------------------------------------------------------------------------ */

static ssize_t decode_legacy(moqc_qmux_frame *f, const uint8_t *p, size_t len) {
  moqc_reader r = moqc_reader_make(p, len);
  uint8_t t;
  if (moqc_read_u8(&r, &t) != MOQC_OK) return MOQC_ERR_DECODE;
  switch (t) {
    case 0x04:
    case 0x05:
      f->type = t == 0x04 ? MOQC_QF_RESET_STREAM : MOQC_QF_STOP_SENDING;
      if (moqc_read_varint(&r, &f->id) || moqc_read_varint(&r, &f->code)) return MOQC_ERR_DECODE;
      return (ssize_t)r.pos;
    case 0x08:
    case 0x09:
      f->type = MOQC_QF_STREAM;
      f->fin = t == 0x09;
      if (moqc_read_varint(&r, &f->id)) return MOQC_ERR_DECODE;
      f->data = (moqc_bytes){p + r.pos, len - r.pos};
      return (ssize_t)len;
    case 0x1c:
    case 0x1d:
      f->type = t == 0x1d ? MOQC_QF_APPLICATION_CLOSE : MOQC_QF_CONNECTION_CLOSE;
      if (moqc_read_varint(&r, &f->code)) return MOQC_ERR_DECODE;
      f->data = (moqc_bytes){p + r.pos, len - r.pos};
      return (ssize_t)len;
    default: return MOQC_ERR_DECODE;
  }
}

/* The frame types that are one varint after the type. */
static bool value_frame(uint64_t t, moqc_qmux_ftype *out) {
  switch (t) {
    case MOQC_QMUX_FT_MAX_DATA: *out = MOQC_QF_MAX_DATA; return true;
    case MOQC_QMUX_FT_MAX_STREAMS_BIDI: *out = MOQC_QF_MAX_STREAMS_BIDI; return true;
    case MOQC_QMUX_FT_MAX_STREAMS_UNI: *out = MOQC_QF_MAX_STREAMS_UNI; return true;
    case MOQC_QMUX_FT_DATA_BLOCKED: *out = MOQC_QF_DATA_BLOCKED; return true;
    case MOQC_QMUX_FT_STREAMS_BLOCKED_BIDI: *out = MOQC_QF_STREAMS_BLOCKED_BIDI; return true;
    case MOQC_QMUX_FT_STREAMS_BLOCKED_UNI: *out = MOQC_QF_STREAMS_BLOCKED_UNI; return true;
    default: return false;
  }
}

static int decode_stream(moqc_reader *r, uint64_t t, moqc_qmux_frame *f) {
  f->type = MOQC_QF_STREAM;
  f->fin = (t & 0x01) != 0;
  if (moqc_read_varint(r, &f->id)) return MOQC_ERR_DECODE;
  if ((t & 0x04) && moqc_read_varint(r, &f->offset)) return MOQC_ERR_DECODE;
  if (t & 0x02) {
    if (moqc_read_bytes(r, moqc_reader_left(r), &f->data)) return MOQC_ERR_DECODE;
  } else {
    f->data = (moqc_bytes){r->p + r->pos, moqc_reader_left(r)};
    r->pos = r->len;
  }
  if (f->offset + f->data.len > MOQC_VARINT_MAX) return MOQC_ERR_DECODE;
  return MOQC_OK;
}

static int decode_close(moqc_reader *r, uint64_t t, moqc_qmux_frame *f) {
  f->type =
      t == MOQC_QMUX_FT_APPLICATION_CLOSE ? MOQC_QF_APPLICATION_CLOSE : MOQC_QF_CONNECTION_CLOSE;
  if (moqc_read_varint(r, &f->code)) return MOQC_ERR_DECODE;
  if (t == MOQC_QMUX_FT_CONNECTION_CLOSE && moqc_read_varint(r, &f->value)) return MOQC_ERR_DECODE;
  if (moqc_read_bytes(r, moqc_reader_left(r), &f->data)) return MOQC_ERR_DECODE;
  return MOQC_OK;
}

static int decode_qmux(moqc_qmux_version v, moqc_reader *r, moqc_qmux_frame *f) {
  uint64_t t;
  if (moqc_read_varint(r, &t)) return MOQC_ERR_DECODE;
  moqc_qmux_ftype vt;
  if (t == MOQC_QMUX_FT_PADDING) {
    f->type = MOQC_QF_PADDING;
    return MOQC_OK;
  }
  if (t >= 0x08 && t <= 0x0f) return decode_stream(r, t, f);
  if (value_frame(t, &vt)) {
    f->type = vt;
    return moqc_read_varint(r, &f->value) ? MOQC_ERR_DECODE : MOQC_OK;
  }
  switch (t) {
    case MOQC_QMUX_FT_RESET_STREAM:
    case MOQC_QMUX_FT_RESET_STREAM_AT: {
      f->type = MOQC_QF_RESET_STREAM;
      if (moqc_read_varint(r, &f->id) || moqc_read_varint(r, &f->code) ||
          moqc_read_varint(r, &f->final_size))
        return MOQC_ERR_DECODE;
      if (t == MOQC_QMUX_FT_RESET_STREAM_AT) {
        uint64_t reliable;
        if (moqc_read_varint(r, &reliable) || reliable > f->final_size) return MOQC_ERR_DECODE;
      }
      return MOQC_OK;
    }
    case MOQC_QMUX_FT_STOP_SENDING:
      f->type = MOQC_QF_STOP_SENDING;
      return moqc_read_varint(r, &f->id) || moqc_read_varint(r, &f->code) ? MOQC_ERR_DECODE
                                                                          : MOQC_OK;
    case MOQC_QMUX_FT_CONNECTION_CLOSE:
    case MOQC_QMUX_FT_APPLICATION_CLOSE: return decode_close(r, t, f);
    case MOQC_QMUX_FT_MAX_STREAM_DATA:
    case MOQC_QMUX_FT_STREAM_DATA_BLOCKED:
      f->type =
          t == MOQC_QMUX_FT_MAX_STREAM_DATA ? MOQC_QF_MAX_STREAM_DATA : MOQC_QF_STREAM_DATA_BLOCKED;
      return moqc_read_varint(r, &f->id) || moqc_read_varint(r, &f->value) ? MOQC_ERR_DECODE
                                                                           : MOQC_OK;
    case MOQC_QMUX_FT_TRANSPORT_PARAMETERS: {
      moqc_bytes b;
      f->type = MOQC_QF_TRANSPORT_PARAMETERS;
      if (moqc_read_bytes(r, moqc_reader_left(r), &b)) return MOQC_ERR_DECODE;
      return moqc__qmux_params_decode(&f->params, b.ptr, b.len);
    }
    default: break;
  }
  if (v == MOQC_QMUX_00) return MOQC_ERR_DECODE; /* the rest are draft-01 */
  switch (t) {
    case MOQC_QMUX_FT_PING:
    case MOQC_QMUX_FT_PONG:
      f->type = t == MOQC_QMUX_FT_PING ? MOQC_QF_PING : MOQC_QF_PONG;
      return moqc_read_varint(r, &f->value) ? MOQC_ERR_DECODE : MOQC_OK;
    case MOQC_QMUX_FT_DATAGRAM:
      f->type = MOQC_QF_DATAGRAM;
      f->data = (moqc_bytes){r->p + r->pos, moqc_reader_left(r)};
      r->pos = r->len;
      return MOQC_OK;
    case MOQC_QMUX_FT_DATAGRAM | 1:
      f->type = MOQC_QF_DATAGRAM;
      return moqc_read_bytes(r, moqc_reader_left(r), &f->data) ? MOQC_ERR_DECODE : MOQC_OK;
    default: return MOQC_ERR_DECODE;
  }
}

ssize_t moqc__qmux_frame_decode(moqc_qmux_version v, moqc_qmux_frame *f, const uint8_t *p,
                                size_t len) {
  if (!f || !p || len == 0) return MOQC_ERR_DECODE;
  memset(f, 0, sizeof *f);
  if (v == MOQC_QMUX_WEBTRANSPORT) return decode_legacy(f, p, len);
  moqc_reader r = moqc_reader_make(p, len);
  if (decode_qmux(v, &r, f) != MOQC_OK) return MOQC_ERR_DECODE;
  assert(r.pos > 0 && r.pos <= len);
  return (ssize_t)r.pos;
}

/* ---- encode ------------------------------------------------------------------------ */

void moqc__qmux_put_stream(moqc_writer *w, moqc_qmux_version v, uint64_t id, uint64_t offset,
                           size_t len, bool fin) {
  if (v == MOQC_QMUX_WEBTRANSPORT) {
    moqc_write_u8(w, fin ? 0x09 : 0x08);
    moqc_write_varint(w, id);
    return;
  }
  moqc_write_varint(w, 0x0e | (fin ? 1u : 0u));
  moqc_write_varint(w, id);
  moqc_write_varint(w, offset);
  moqc_write_varint(w, len);
}

void moqc__qmux_put_reset(moqc_writer *w, moqc_qmux_version v, uint64_t id, uint64_t code,
                          uint64_t final_size) {
  moqc_write_varint(w, MOQC_QMUX_FT_RESET_STREAM);
  moqc_write_varint(w, id);
  moqc_write_varint(w, code);
  if (v != MOQC_QMUX_WEBTRANSPORT) moqc_write_varint(w, final_size);
}

void moqc__qmux_put_stop(moqc_writer *w, uint64_t id, uint64_t code) {
  moqc_write_varint(w, MOQC_QMUX_FT_STOP_SENDING);
  moqc_write_varint(w, id);
  moqc_write_varint(w, code);
}

void moqc__qmux_put_close(moqc_writer *w, moqc_qmux_version v, bool app, uint64_t code,
                          const char *reason, size_t rlen) {
  moqc_write_varint(w, app ? MOQC_QMUX_FT_APPLICATION_CLOSE : MOQC_QMUX_FT_CONNECTION_CLOSE);
  moqc_write_varint(w, code);
  if (v == MOQC_QMUX_WEBTRANSPORT) { /* the reason runs to the end of the message */
    moqc_write_raw(w, reason, rlen);
    return;
  }
  if (!app) moqc_write_varint(w, 0); /* causing frame type: unknown (PADDING) */
  moqc_write_bytes(w, reason, rlen);
}

void moqc__qmux_put_value(moqc_writer *w, uint64_t type, uint64_t value) {
  moqc_write_varint(w, type);
  moqc_write_varint(w, value);
}

void moqc__qmux_put_id_value(moqc_writer *w, uint64_t type, uint64_t id, uint64_t value) {
  moqc_write_varint(w, type);
  moqc_write_varint(w, id);
  moqc_write_varint(w, value);
}

void moqc__qmux_put_params(moqc_writer *w, const moqc_qmux_params *p) {
  uint8_t tmp[256];
  moqc_writer pw = moqc_writer_make(tmp, sizeof tmp);
  moqc__qmux_params_encode(&pw, p);
  if (pw.err) {
    w->err = pw.err;
    return;
  }
  moqc_write_varint(w, MOQC_QMUX_FT_TRANSPORT_PARAMETERS);
  moqc_write_bytes(w, tmp, pw.pos);
}

void moqc__qmux_put_datagram(moqc_writer *w, const uint8_t *p, size_t len) {
  moqc_write_varint(w, MOQC_QMUX_FT_DATAGRAM | 1);
  moqc_write_bytes(w, p, len);
}

size_t moqc__qmux_max_stream_payload(moqc_qmux_version v, size_t budget, uint64_t id,
                                     uint64_t offset) {
  size_t hdr = 1 + moqc_varint_len(id);
  if (v == MOQC_QMUX_WEBTRANSPORT) return budget > hdr ? budget - hdr : 0;
  hdr += moqc_varint_len(offset);
  if (budget <= hdr + 1) return 0;
  size_t avail = budget - hdr;
  /* Largest n with n + varint_len(n) <= avail. */
  size_t n = avail - 1;
  while (n > 0 && n + moqc_varint_len(n) > avail) n--;
  return n;
}
