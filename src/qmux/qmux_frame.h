/* moqc qmux — the QMux frame codec (internal, pure).
 *
 * Three wire formats share one decoder, chosen by the negotiated WebSocket
 * sub-protocol (docs/websocket.md):
 *   MOQC_QMUX_WEBTRANSPORT  legacy web-transport-ws: one frame per WebSocket
 *                           message; STREAM 0x08/0x09 + id + data to the end;
 *                           RESET 0x04 + id + code; STOP 0x05 + id + code;
 *                           CLOSE 0x1c/0x1d + code + reason to the end.
 *   MOQC_QMUX_00            draft-ietf-quic-qmux-00: QUIC frames (RFC 9000
 *                           encodings), QX_TRANSPORT_PARAMETERS first, flow control.
 *   MOQC_QMUX_01            draft-01: a WebSocket message is one record holding
 *                           one or more frames; adds DATAGRAM, QX_PING and the
 *                           max_record_size transport parameter.
 * Byte layouts match @moq/qmux 0.3.3 (the version @moq/net 0.3.4 uses) and
 * moq-dev's Rust qmux crate.
 *
 * Cursor style: decode(f, p, len) returns bytes consumed or a negative
 * moqc_err; the frame borrows from p. Nothing allocates.
 */
#ifndef MOQC_QMUX_FRAME_H
#define MOQC_QMUX_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/codec.h"
#include "moqc/qmux.h"

#define MOQC_QMUX_FT_PADDING 0x00
#define MOQC_QMUX_FT_RESET_STREAM 0x04
#define MOQC_QMUX_FT_STOP_SENDING 0x05
#define MOQC_QMUX_FT_STREAM 0x08 /* | 0x04 OFF | 0x02 LEN | 0x01 FIN */
#define MOQC_QMUX_FT_MAX_DATA 0x10
#define MOQC_QMUX_FT_MAX_STREAM_DATA 0x11
#define MOQC_QMUX_FT_MAX_STREAMS_BIDI 0x12
#define MOQC_QMUX_FT_MAX_STREAMS_UNI 0x13
#define MOQC_QMUX_FT_DATA_BLOCKED 0x14
#define MOQC_QMUX_FT_STREAM_DATA_BLOCKED 0x15
#define MOQC_QMUX_FT_STREAMS_BLOCKED_BIDI 0x16
#define MOQC_QMUX_FT_STREAMS_BLOCKED_UNI 0x17
#define MOQC_QMUX_FT_CONNECTION_CLOSE 0x1c
#define MOQC_QMUX_FT_APPLICATION_CLOSE 0x1d
#define MOQC_QMUX_FT_RESET_STREAM_AT 0x24
#define MOQC_QMUX_FT_DATAGRAM 0x30 /* | 0x01 LEN */
#define MOQC_QMUX_FT_TRANSPORT_PARAMETERS 0x3f5153300d0a0d0aULL
#define MOQC_QMUX_FT_PING 0x348c67529ef8c7bdULL
#define MOQC_QMUX_FT_PONG 0x348c67529ef8c7beULL

/* Transport parameter ids (QUIC v1 subset QMux allows, plus QMux's own). */
#define MOQC_QMUX_TP_MAX_IDLE_TIMEOUT 0x01
#define MOQC_QMUX_TP_INITIAL_MAX_DATA 0x04
#define MOQC_QMUX_TP_SD_BIDI_LOCAL 0x05
#define MOQC_QMUX_TP_SD_BIDI_REMOTE 0x06
#define MOQC_QMUX_TP_SD_UNI 0x07
#define MOQC_QMUX_TP_STREAMS_BIDI 0x08
#define MOQC_QMUX_TP_STREAMS_UNI 0x09
#define MOQC_QMUX_TP_RESET_STREAM_AT 0x1d
#define MOQC_QMUX_TP_MAX_DATAGRAM_FRAME_SIZE 0x20
#define MOQC_QMUX_TP_MAX_RECORD_SIZE 0x0571c59429cd0845ULL
#define MOQC_QMUX_TP_APPLICATION_PROTOCOLS 0x3d4f9c2a8b1e6075ULL

/* draft-00 max_frame_size (bounds a whole frame) and draft-01's default
 * (and minimum) max_record_size. */
#define MOQC_QMUX_MAX_FRAME_SIZE 16384
#define MOQC_QMUX_DEFAULT_MAX_RECORD_SIZE 16382
/* Largest STREAM payload we send: released peers enforce it on receive. */
#define MOQC_QMUX_MAX_FRAME_PAYLOAD (MOQC_QMUX_MAX_FRAME_SIZE - 32)

typedef struct moqc_qmux_params {
  uint64_t max_idle_timeout; /* ms, 0 = none */
  uint64_t initial_max_data;
  uint64_t sd_bidi_local;  /* initial_max_stream_data_bidi_local */
  uint64_t sd_bidi_remote; /* initial_max_stream_data_bidi_remote */
  uint64_t sd_uni;         /* initial_max_stream_data_uni */
  uint64_t streams_bidi;   /* initial_max_streams_bidi */
  uint64_t streams_uni;    /* initial_max_streams_uni */
  uint64_t max_datagram_frame_size;
  uint64_t max_record_size; /* default MOQC_QMUX_DEFAULT_MAX_RECORD_SIZE */
  bool reset_stream_at;
} moqc_qmux_params;

typedef enum moqc_qmux_ftype {
  MOQC_QF_PADDING,
  MOQC_QF_STREAM,
  MOQC_QF_RESET_STREAM, /* also RESET_STREAM_AT (reliable_size checked, then a plain reset) */
  MOQC_QF_STOP_SENDING,
  MOQC_QF_CONNECTION_CLOSE,
  MOQC_QF_APPLICATION_CLOSE,
  MOQC_QF_MAX_DATA,
  MOQC_QF_MAX_STREAM_DATA,
  MOQC_QF_MAX_STREAMS_BIDI,
  MOQC_QF_MAX_STREAMS_UNI,
  MOQC_QF_DATA_BLOCKED,
  MOQC_QF_STREAM_DATA_BLOCKED,
  MOQC_QF_STREAMS_BLOCKED_BIDI,
  MOQC_QF_STREAMS_BLOCKED_UNI,
  MOQC_QF_TRANSPORT_PARAMETERS,
  MOQC_QF_PING,
  MOQC_QF_PONG,
  MOQC_QF_DATAGRAM,
} moqc_qmux_ftype;

typedef struct moqc_qmux_frame {
  moqc_qmux_ftype type;
  uint64_t id;         /* stream id (STREAM, RESET, STOP, MAX_STREAM_DATA, STREAM_DATA_BLOCKED) */
  uint64_t offset;     /* STREAM */
  uint64_t code;       /* RESET, STOP, CLOSE */
  uint64_t final_size; /* RESET (0 on the legacy format) */
  uint64_t value;      /* MAX_* / *_BLOCKED limit, PING/PONG sequence, CLOSE frame type */
  bool fin;            /* STREAM */
  moqc_bytes data;     /* STREAM / DATAGRAM payload, CLOSE reason (borrowed) */
  moqc_qmux_params params; /* TRANSPORT_PARAMETERS */
} moqc_qmux_frame;

/* Default (absent) parameters: all zero, max_record_size 16382. */
void moqc__qmux_params_default(moqc_qmux_params *p);

/* Decode one transport-parameter block. MOQC_OK or MOQC_ERR_DECODE (truncated,
 * duplicate recognised id, forbidden QUIC v1 id, application_protocols over
 * WebSocket, trailing bytes in a value, non-empty reset_stream_at). Unknown
 * ids are skipped. */
int moqc__qmux_params_decode(moqc_qmux_params *out, const uint8_t *p, size_t len);
/* Encode (zero values omitted, as @moq/qmux does). */
void moqc__qmux_params_encode(moqc_writer *w, const moqc_qmux_params *p);

/* Decode the frame at p[0..len) (one WebSocket message on the legacy format and
 * draft-00, the rest of a record on draft-01). Returns the bytes consumed (>0),
 * MOQC_ERR_DECODE (malformed, truncated, unknown type, a frame the version does
 * not have). The legacy STREAM and CLOSE frames run to the end of the message. */
ssize_t moqc__qmux_frame_decode(moqc_qmux_version v, moqc_qmux_frame *f, const uint8_t *p,
                                size_t len);

/* Encoders: append one frame to w (poisoned on overflow: check w->err). */
/* STREAM header; the len payload bytes follow (appended by the caller). The
 * legacy format has no offset and no length (the payload ends the message). */
void moqc__qmux_put_stream(moqc_writer *w, moqc_qmux_version v, uint64_t id, uint64_t offset,
                           size_t len, bool fin);
void moqc__qmux_put_reset(moqc_writer *w, moqc_qmux_version v, uint64_t id, uint64_t code,
                          uint64_t final_size);
void moqc__qmux_put_stop(moqc_writer *w, uint64_t id, uint64_t code);
/* CONNECTION_CLOSE (app=false; frame type 0) or APPLICATION_CLOSE (app=true). */
void moqc__qmux_put_close(moqc_writer *w, moqc_qmux_version v, bool app, uint64_t code,
                          const char *reason, size_t rlen);
/* MAX_DATA, MAX_STREAMS_*, DATA_BLOCKED, STREAMS_BLOCKED_*, PING, PONG: type + value. */
void moqc__qmux_put_value(moqc_writer *w, uint64_t type, uint64_t value);
/* MAX_STREAM_DATA, STREAM_DATA_BLOCKED: type + id + value. */
void moqc__qmux_put_id_value(moqc_writer *w, uint64_t type, uint64_t id, uint64_t value);
void moqc__qmux_put_params(moqc_writer *w, const moqc_qmux_params *p);
/* DATAGRAM with length (0x31). */
void moqc__qmux_put_datagram(moqc_writer *w, const uint8_t *p, size_t len);

/* Largest STREAM payload for a frame of at most budget bytes (header included). */
size_t moqc__qmux_max_stream_payload(moqc_qmux_version v, size_t budget, uint64_t id,
                                     uint64_t offset);

#endif
