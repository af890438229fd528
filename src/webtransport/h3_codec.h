/* moqc transport — HTTP/3 and WebTransport wire codecs (internal, sans-IO).
 *
 * Pure cursor functions in the style of src/core/codec.h: decoders take
 * (p, len) and return the number of bytes consumed, MOQC_ERR_NEED_MORE (the
 * input is a valid prefix: feed more bytes) or MOQC_ERR_DECODE (malformed).
 * They never allocate and keep no pointer into the input except where an
 * output field is a moqc_bytes (borrowed from the input). Encoders write into
 * a caller buffer and return the bytes written or MOQC_ERR_BUFSIZE.
 *
 * What is here:
 *   - HTTP/3 frame header (type varint, length varint), RFC 9114 §7.1;
 *   - SETTINGS payload encode/decode, RFC 9114 §7.2.4 (+ WebTransport ids);
 *   - stream prefixes: uni stream type (control 0x00, QPACK 0x02/0x03,
 *     WebTransport 0x54 + session id) and the WebTransport bidi signal
 *     0x41 + session id;
 *   - capsules (RFC 9297): CLOSE_WEBTRANSPORT_SESSION 0x2843, DRAIN 0x78ae;
 *   - the HTTP datagram quarter-stream-id prefix;
 *   - MoQ <-> HTTP/3 application error code mapping;
 *   - RFC 8941 structured-field strings (wt-available-protocols/wt-protocol);
 *   - a tiny accumulator that lets the pure decoders run on byte-by-byte
 *     fragmented input.
 */
#ifndef MOQC_TRANSPORT_H3_CODEC_H
#define MOQC_TRANSPORT_H3_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/codec.h"
#include "moqc/error.h"

/* ---- HTTP/3 frame types (RFC 9114 §7.2, RFC 9297, WebTransport) ---------- */
#define MOQC_H3_FRAME_DATA 0x00
#define MOQC_H3_FRAME_HEADERS 0x01
#define MOQC_H3_FRAME_CANCEL_PUSH 0x03
#define MOQC_H3_FRAME_SETTINGS 0x04
#define MOQC_H3_FRAME_PUSH_PROMISE 0x05
#define MOQC_H3_FRAME_GOAWAY 0x07
#define MOQC_H3_FRAME_MAX_PUSH_ID 0x0d
#define MOQC_H3_FRAME_WT_STREAM 0x41 /* bidi signal: 0x41 + session id, no length */

/* ---- unidirectional stream types ----------------------------------------- */
#define MOQC_H3_STREAM_CONTROL 0x00
#define MOQC_H3_STREAM_PUSH 0x01
#define MOQC_H3_STREAM_QPACK_ENCODER 0x02
#define MOQC_H3_STREAM_QPACK_DECODER 0x03
#define MOQC_H3_STREAM_WT_UNI 0x54

/* ---- SETTINGS identifiers ------------------------------------------------- */
#define MOQC_H3_SETTING_QPACK_MAX_TABLE_CAPACITY 0x01
#define MOQC_H3_SETTING_MAX_FIELD_SECTION_SIZE 0x06
#define MOQC_H3_SETTING_QPACK_BLOCKED_STREAMS 0x07
#define MOQC_H3_SETTING_ENABLE_CONNECT_PROTOCOL 0x08
#define MOQC_H3_SETTING_H3_DATAGRAM 0x33
#define MOQC_H3_SETTING_H3_DATAGRAM_DRAFT04 0xffd277
#define MOQC_H3_SETTING_WT_ENABLE_DRAFT02 0x2b603742
#define MOQC_H3_SETTING_WT_MAX_SESSIONS_DRAFT02 0x2b603743
#define MOQC_H3_SETTING_WT_MAX_SESSIONS 0xc671706aULL

/* ---- HTTP/3 + WebTransport error codes ----------------------------------- */
#define MOQC_H3_NO_ERROR 0x100
#define MOQC_H3_GENERAL_PROTOCOL_ERROR 0x101
#define MOQC_H3_INTERNAL_ERROR 0x102
#define MOQC_H3_STREAM_CREATION_ERROR 0x103
#define MOQC_H3_CLOSED_CRITICAL_STREAM 0x104
#define MOQC_H3_FRAME_UNEXPECTED 0x105
#define MOQC_H3_FRAME_ERROR 0x106
#define MOQC_H3_EXCESSIVE_LOAD 0x107
#define MOQC_H3_ID_ERROR 0x108
#define MOQC_H3_SETTINGS_ERROR 0x109
#define MOQC_H3_MISSING_SETTINGS 0x10a
#define MOQC_H3_REQUEST_REJECTED 0x10b
#define MOQC_H3_REQUEST_CANCELLED 0x10c
#define MOQC_H3_REQUEST_INCOMPLETE 0x10d
#define MOQC_H3_MESSAGE_ERROR 0x10e
#define MOQC_H3_CONNECT_ERROR 0x10f
#define MOQC_H3_QPACK_DECOMPRESSION_FAILED 0x200
#define MOQC_H3_QPACK_ENCODER_STREAM_ERROR 0x201
#define MOQC_H3_QPACK_DECODER_STREAM_ERROR 0x202
#define MOQC_H3_DATAGRAM_ERROR 0x33
#define MOQC_WT_BUFFERED_STREAM_REJECTED 0x3994bd84ULL
#define MOQC_WT_SESSION_GONE 0x170d7b68ULL

/* ---- capsules ------------------------------------------------------------ */
#define MOQC_CAPSULE_CLOSE_WT_SESSION 0x2843
#define MOQC_CAPSULE_DRAIN_WT_SESSION 0x78ae
#define MOQC_WT_CLOSE_REASON_MAX 1024 /* draft-ietf-webtrans-http3: reason <= 1024 bytes */

/* ---- limits (every size read from the wire is bounded) ------------------- */
#define MOQC_H3_MAX_HEADER_BLOCK 65536 /* HEADERS payload */
#define MOQC_H3_MAX_SETTINGS_PAYLOAD 16384
#define MOQC_H3_MAX_CONTROL_FRAME 64 /* GOAWAY, MAX_PUSH_ID, CANCEL_PUSH */
#define MOQC_H3_MAX_SETTINGS_COUNT 64
/* Largest encoded prefix we ever need to see at once: two 8-byte varints. */
#define MOQC_H3_HDR_MAX 16

/* ---- frame header --------------------------------------------------------- */

typedef struct moqc_h3_frame_hdr {
  uint64_t type;
  uint64_t len; /* payload length */
} moqc_h3_frame_hdr;

/* Decode "type varint, length varint". Returns consumed or NEED_MORE (never
 * DECODE: any two varints are a valid header; limits are the caller's). */
ssize_t moqc_h3_frame_hdr_decode(moqc_h3_frame_hdr *h, const uint8_t *p, size_t len);
/* Encode a frame header. Returns bytes written or MOQC_ERR_BUFSIZE/OVERFLOW. */
ssize_t moqc_h3_frame_hdr_encode(uint8_t *p, size_t cap, uint64_t type, uint64_t len);

/* Reserved ("grease") frame, stream, setting and error code points:
 * 0x1f * N + 0x21. */
static inline bool moqc_h3_is_grease(uint64_t v) { return v >= 0x21 && (v - 0x21) % 0x1f == 0; }

/* ---- SETTINGS ------------------------------------------------------------- */

/* Decoded SETTINGS. Only the settings we act on are kept; `seen` tells which
 * were present (bit per MOQC_H3_SEEN_*). */
enum {
  MOQC_H3_SEEN_QPACK_CAP = 1u << 0,
  MOQC_H3_SEEN_MAX_FIELD_SECTION = 1u << 1,
  MOQC_H3_SEEN_QPACK_BLOCKED = 1u << 2,
  MOQC_H3_SEEN_CONNECT_PROTOCOL = 1u << 3,
  MOQC_H3_SEEN_DATAGRAM = 1u << 4,
  MOQC_H3_SEEN_DATAGRAM_DRAFT04 = 1u << 5,
  MOQC_H3_SEEN_WT_ENABLE_DRAFT02 = 1u << 6,
  MOQC_H3_SEEN_WT_MAX_SESSIONS_DRAFT02 = 1u << 7,
  MOQC_H3_SEEN_WT_MAX_SESSIONS = 1u << 8,
};

typedef struct moqc_h3_settings {
  uint32_t seen;
  uint64_t qpack_max_table_capacity;
  uint64_t max_field_section_size;
  uint64_t qpack_blocked_streams;
  uint64_t enable_connect_protocol;
  uint64_t h3_datagram;
  uint64_t h3_datagram_draft04;
  uint64_t wt_enable_draft02;
  uint64_t wt_max_sessions_draft02;
  uint64_t wt_max_sessions;
} moqc_h3_settings;

/* Decode a complete SETTINGS frame payload (without the frame header).
 * Unknown and grease identifiers are ignored. Returns len on success, or
 * MOQC_ERR_DECODE with *h3_err set to the connection error to send:
 * H3_FRAME_ERROR (truncated pair), H3_SETTINGS_ERROR (duplicate identifier,
 * an HTTP/2-only identifier 0x02..0x05, a boolean setting not 0/1, more than
 * MOQC_H3_MAX_SETTINGS_COUNT pairs). */
ssize_t moqc_h3_settings_decode(moqc_h3_settings *s, const uint8_t *p, size_t len,
                                uint64_t *h3_err);

/* Encode the full SETTINGS frame (header + payload) we send on our control
 * stream: QPACK capacity 0, blocked streams 0, ENABLE_CONNECT_PROTOCOL=1,
 * H3_DATAGRAM=1 (+ draft-04 id), WebTransport enable (draft-02) = 1 and
 * max sessions (draft-02 and current ids) = max_sessions. Returns bytes
 * written or MOQC_ERR_BUFSIZE. 64 bytes always suffice. */
ssize_t moqc_h3_settings_encode_frame(uint8_t *p, size_t cap, uint64_t max_sessions);

/* Does this peer speak WebTransport: datagrams on and (max sessions > 0, or
 * draft-02 enable = 1)? Returns the number of sessions it allows (0 = none). */
uint64_t moqc_h3_settings_wt_sessions(const moqc_h3_settings *s);
/* Peer accepts HTTP datagrams (0x33 or 0xffd277 = 1). */
bool moqc_h3_settings_datagrams(const moqc_h3_settings *s);

/* ---- stream prefixes --------------------------------------------------- */

typedef struct moqc_wt_prefix {
  uint64_t type;       /* uni: stream type; bidi: first frame type (0x41 = WT) */
  uint64_t session_id; /* valid when type is 0x54 (uni) or 0x41 (bidi) */
} moqc_wt_prefix;

/* Decode the start of a peer-initiated stream.
 *   uni:  type varint; if type == 0x54 a session id varint follows (consumed).
 *   bidi: first varint; if 0x41 a session id follows and both are consumed;
 *         otherwise the stream is an HTTP request stream and NOTHING is
 *         consumed (returns 0, type = the first frame type), so the caller
 *         hands the same bytes to its frame reader.
 * Returns consumed or NEED_MORE; never DECODE (validation is the caller's). */
ssize_t moqc_wt_prefix_decode(moqc_wt_prefix *out, bool bidi, const uint8_t *p, size_t len);

/* Encode the prefix of a WebTransport stream we open: 0x54 + id (uni) or
 * 0x41 + id (bidi). Returns bytes written (<= 16) or MOQC_ERR_BUFSIZE. */
ssize_t moqc_wt_prefix_encode(uint8_t *p, size_t cap, bool bidi, uint64_t session_id);

/* ---- datagrams ------------------------------------------------------------ */

/* Datagram prefix: quarter stream id = session_id / 4. */
ssize_t moqc_wt_datagram_prefix_encode(uint8_t *p, size_t cap, uint64_t session_id);
/* Decode the quarter stream id; *session_id = qsid * 4. Returns consumed or
 * DECODE (a datagram is never fragmented: a truncated varint is malformed;
 * a qsid whose *4 overflows 62 bits is malformed too). */
ssize_t moqc_wt_datagram_prefix_decode(uint64_t *session_id, const uint8_t *p, size_t len);

/* ---- capsules (RFC 9297 §3.2) ------------------------------------------ */

typedef struct moqc_capsule {
  uint64_t type;
  moqc_bytes payload; /* borrowed from the input */
  /* CLOSE_WEBTRANSPORT_SESSION only: */
  uint32_t code;
  moqc_bytes reason; /* UTF-8, <= 1024 bytes, borrowed */
} moqc_capsule;

/* Decode one capsule (type varint, length varint, payload). Payloads over
 * max_payload are MOQC_ERR_DECODE (a streaming reader skips big unknown
 * capsules instead: see moqc_capsule_hdr_decode). A CLOSE capsule must have
 * >= 4 bytes, a reason <= 1024 bytes of valid UTF-8; DRAIN must be empty. */
ssize_t moqc_capsule_decode(moqc_capsule *c, const uint8_t *p, size_t len, size_t max_payload);
/* Just the capsule header (same shape as a frame header). */
static inline ssize_t moqc_capsule_hdr_decode(moqc_h3_frame_hdr *h, const uint8_t *p, size_t len) {
  return moqc_h3_frame_hdr_decode(h, p, len);
}
/* Validate a complete capsule payload of the given type and fill c. Returns
 * MOQC_OK or MOQC_ERR_DECODE. */
int moqc_capsule_parse_payload(moqc_capsule *c, uint64_t type, const uint8_t *p, size_t len);

/* Encode CLOSE_WEBTRANSPORT_SESSION wrapped in an HTTP/3 DATA frame (the way
 * capsules travel on the CONNECT stream). A reason longer than 1024 bytes is
 * cut at a UTF-8 character boundary. Returns bytes written or BUFSIZE;
 * MOQC_WT_CLOSE_REASON_MAX + 32 bytes always suffice. */
ssize_t moqc_capsule_close_encode_data_frame(uint8_t *p, size_t cap, uint32_t code,
                                             const char *reason);
/* DRAIN_WEBTRANSPORT_SESSION in a DATA frame (4 bytes). */
ssize_t moqc_capsule_drain_encode_data_frame(uint8_t *p, size_t cap);

/* ---- error-code mapping -------------------------------------------------- */

#define MOQC_WT_H3_ERROR_FIRST 0x52e4a40fa8dbULL
#define MOQC_WT_H3_ERROR_LAST 0x52e5ac983162ULL

/* MoQ (WebTransport application) code -> HTTP/3 code for RESET_STREAM and
 * STOP_SENDING: 0x52e4a40fa8db + code + code / 0x1e. WebTransport carries
 * 32-bit codes: codes above UINT32_MAX are clamped to UINT32_MAX. */
uint64_t moqc_wt_code_to_h3(uint64_t code);
/* Inverse. Returns true and sets *code when h3 is in the WebTransport range
 * and not a reserved (grease) code point. */
bool moqc_wt_code_from_h3(uint64_t h3, uint64_t *code);

/* ---- RFC 8941 structured-field strings ----------------------------------- */

/* Parse a List whose members are Strings (parameters are skipped). For each
 * member calls fn(arg, s, n) with the unescaped string (a scratch buffer
 * valid during the call). Returns the member count, or MOQC_ERR_DECODE for a
 * malformed list / a non-string member / more than max_items members, or the
 * first negative value fn returns. */
int moqc_sf_parse_string_list(const char *v, size_t len, size_t max_items,
                              int (*fn)(void *arg, const char *s, size_t n), void *arg);
/* Parse a single String Item (parameters skipped) into out (NUL-terminated).
 * Returns its length, MOQC_ERR_DECODE, or MOQC_ERR_BUFSIZE. */
ssize_t moqc_sf_parse_string_item(const char *v, size_t len, char *out, size_t cap);
/* Serialize s as an sf-string ("..." with \" and \\ escaped) into out (NUL-
 * terminated). Returns the length, MOQC_ERR_BUFSIZE, or MOQC_ERR_INVAL if s
 * has a byte outside 0x20..0x7e. */
ssize_t moqc_sf_write_string(char *out, size_t cap, const char *s, size_t n);

/* ---- accumulator for fragmented prefixes ------------------------------- */

/* Runs one of the header decoders above over input that arrives in pieces
 * (down to one byte at a time), holding at most MOQC_H3_HDR_MAX bytes. */
typedef ssize_t (*moqc_h3_hdr_dec_fn)(void *out, const uint8_t *p, size_t len);
typedef struct moqc_h3_acc {
  uint8_t buf[MOQC_H3_HDR_MAX];
  uint8_t len; /* bytes held from earlier calls */
} moqc_h3_acc;

/* Feed p[0..len). Returns
 *   >= 0       decoded (out filled); the accumulator is empty again. Continue
 *              with replay[0..*replay_len) (held bytes the decoder did not
 *              consume: only for a non-consuming decode such as a bidi request
 *              stream) and then p[*used .. len).
 *   NEED_MORE  all of p was taken (*used = len);
 *   DECODE     the decoder said so, or 16 bytes never formed a header.
 * replay must have room for MOQC_H3_HDR_MAX bytes. */
ssize_t moqc_h3_acc_feed(moqc_h3_acc *a, moqc_h3_hdr_dec_fn dec, void *out, const uint8_t *p,
                         size_t len, size_t *used, uint8_t *replay, size_t *replay_len);

/* Adapters with the moqc_h3_hdr_dec_fn signature. */
ssize_t moqc_h3_dec_frame_hdr(void *out, const uint8_t *p, size_t len);   /* moqc_h3_frame_hdr */
ssize_t moqc_wt_dec_prefix_uni(void *out, const uint8_t *p, size_t len);  /* moqc_wt_prefix */
ssize_t moqc_wt_dec_prefix_bidi(void *out, const uint8_t *p, size_t len); /* moqc_wt_prefix */

#endif
