/* moqc core — moq-lite wire codecs for lite-03, lite-04 and lite-05 (internal).
 *
 * Pure, sans-IO functions: no allocation, no session state, no clock. Every
 * message has one struct and an encode/decode pair. See docs/wire.md for the
 * per-version table and /work/shared/protocol/moq-wire.md §2 for semantics.
 *
 * ENCODE  ssize_t moqc_lite_<msg>_encode(uint8_t *p, size_t cap, int version,
 *                                        const struct moqc_lite_<msg> *m)
 *   Writes the complete message (type prefix where the message has one, the
 *   varint length prefix, the body) and returns the number of bytes written.
 *   p == NULL computes the encoded size without writing (cap is ignored): use
 *   it to size a buffer. Errors:
 *     MOQC_ERR_BUFSIZE   cap is smaller than the encoded size (nothing usable
 *                        is left in p),
 *     MOQC_ERR_INVAL     unknown version, message/field not defined in that
 *                        version, a NULL pointer with a non-zero length, a
 *                        string that is not UTF-8, a bound below exceeded
 *                        (path/name length or segments, hops, body > 64 KiB),
 *                        or a field value the wire cannot carry (timescale 0),
 *     MOQC_ERR_OVERFLOW  an integer above 2^62-1 (after +1 for optional
 *                        groups; timestamp deltas outside [-2^61, 2^61)).
 *   Encoders are deterministic and always use minimal varints.
 *
 * DECODE  ssize_t moqc_lite_<msg>_decode(struct moqc_lite_<msg> *m, int version,
 *                                        const uint8_t *p, size_t len)
 *   Decodes one message from the start of p and returns the bytes consumed
 *   (bytes after the message are left alone: they belong to the next one).
 *     MOQC_ERR_NEED_MORE  p[0..len) is a valid prefix; call again with more,
 *     MOQC_ERR_DECODE     malformed: leftover bytes inside the declared length,
 *                         a field truncated inside a complete body, a length
 *                         over its bound, invalid UTF-8, an unknown status or
 *                         response type, a zero timescale, more than 32 hops /
 *                         64 params, a duplicate SETUP parameter,
 *     MOQC_ERR_INVAL      unknown version, or the message does not exist in it.
 *   On error *m is unspecified. moqc_bytes fields in *m are BORROWED: they
 *   point into p and are valid only as long as p is.
 *   Map MOQC_ERR_DECODE to wire code MOQC_CODE_DECODE (5) when resetting.
 *
 * All functions are pure and callable from any thread and any callback.
 */
#ifndef MOQC_CORE_LITE_WIRE_H
#define MOQC_CORE_LITE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/codec.h"
#include "moqc/error.h"

/* ---- versions ------------------------------------------------------------ */

enum moqc_lite_version { MOQC_LITE_03 = 3, MOQC_LITE_04 = 4, MOQC_LITE_05 = 5 };

/* True for MOQC_LITE_03/04/05. */
bool moqc_lite_version_valid(int version);

/* Version for an ALPN / WebTransport protocol string ("moq-lite-03",
 * "moq-lite-04", "moq-lite-05"; exact bytes, not NUL-terminated). Returns the
 * version or MOQC_ERR_VERSION for anything else (incl. "moql", "moq-lite-06-wip"). */
int moqc_lite_version_from_alpn(const char *alpn, size_t len);

/* Static NUL-terminated ALPN of a version, or NULL if the version is invalid. */
const char *moqc_lite_version_alpn(int version);

/* Version features (false for invalid versions). */
static inline bool moqc_lite_has_hop_ids(int v) { return v == MOQC_LITE_04 || v == MOQC_LITE_05; }
static inline bool moqc_lite_has_exclude_hop(int v) {
  return v == MOQC_LITE_04 || v == MOQC_LITE_05;
}
static inline bool moqc_lite_has_probe_rtt(int v) { return v == MOQC_LITE_04 || v == MOQC_LITE_05; }
static inline bool moqc_lite_has_goaway(int v) { return v == MOQC_LITE_04 || v == MOQC_LITE_05; }
/* lite-05: SETUP stream, TRACK stream, ANNOUNCE_OK, SUBSCRIBE_START/END,
 * frame timestamps, datagrams, announce restart status. */
static inline bool moqc_lite_is_05(int v) { return v == MOQC_LITE_05; }

/* ---- bounds -------------------------------------------------------------- */

#define MOQC_LITE_MSG_MAX 65536u        /* max body of any length-prefixed message */
#define MOQC_LITE_PATH_MAX 4096u        /* broadcast paths, prefixes, suffixes, track names */
#define MOQC_LITE_PATH_SEGMENTS 32u     /* non-empty '/'-separated segments in a path */
#define MOQC_LITE_MAX_HOPS 32u          /* hop list entries (and lite-03 hop count) */
#define MOQC_LITE_MAX_PARAMS 64u        /* SETUP parameters */
#define MOQC_LITE_FRAME_MAX (32u << 20) /* frame payload (moq-dev MAX_GROUP_CACHE) */

/* "Optional group" fields (start/end group): none. On the wire 0 = none and
 * any other value is group+1, so the largest encodable group is 2^62-2. */
#define MOQC_LITE_GROUP_NONE UINT64_MAX

/* ---- stream types -------------------------------------------------------- */

enum moqc_lite_bidi_type {
  MOQC_LITE_BIDI_ANNOUNCE = 1,
  MOQC_LITE_BIDI_SUBSCRIBE = 2,
  MOQC_LITE_BIDI_FETCH = 3,
  MOQC_LITE_BIDI_PROBE = 4,
  MOQC_LITE_BIDI_GOAWAY = 5, /* lite-04+ */
  MOQC_LITE_BIDI_TRACK = 6,  /* lite-05+ */
};
enum moqc_lite_uni_type {
  MOQC_LITE_UNI_GROUP = 0,
  MOQC_LITE_UNI_SETUP = 1, /* lite-05+ */
};

/* The stream-type varint that opens every stream. Encode: bytes written,
 * BUFSIZE or OVERFLOW (p == NULL: size). Decode: consumed or NEED_MORE. */
ssize_t moqc_lite_stream_type_encode(uint8_t *p, size_t cap, uint64_t type);
ssize_t moqc_lite_stream_type_decode(uint64_t *type, const uint8_t *p, size_t len);

/* True if `type` opens a stream of that direction in `version`:
 *   bidi: 1 Announce, 2 Subscribe, 3 Fetch (wire since lite-03; moq-dev only
 *         serves it on lite-05), 4 Probe, 5 Goaway (04+), 6 Track (05+);
 *   uni:  0 Group, 1 Setup (05+).
 * False otherwise (incl. the lite-01/02 Session type 0 and invalid versions).
 * An unknown type is NOT a session error on lite-03+: reset a bidi stream /
 * STOP_SENDING a uni stream with MOQC_CODE_UNEXPECTED_STREAM and carry on. */
bool moqc_lite_is_known_stream_type(int version, bool bidi, uint64_t type);

/* ---- length-prefixed message framing ------------------------------------- */

/* Locate one `varint length | body` message at the start of p.
 * Returns the total size (prefix + body) and sets *body_off / *body_len,
 * MOQC_ERR_NEED_MORE if the prefix or body is incomplete, or MOQC_ERR_DECODE
 * if the declared length is over MOQC_LITE_MSG_MAX (detected as soon as the
 * prefix is complete). body_off / body_len may be NULL. */
ssize_t moqc_lite_peek_msg(const uint8_t *p, size_t len, size_t *body_off, size_t *body_len);

/* ---- announce stream (bidi 1) -------------------------------------------- */

/* ANNOUNCE_PLEASE (a.k.a. ANNOUNCE_INTEREST / ANNOUNCE_REQUEST), subscriber ->. */
struct moqc_lite_announce_please {
  moqc_bytes prefix;    /* path prefix (not normalised here) */
  uint64_t exclude_hop; /* lite-04/05 only; 0 = none. Ignored when encoding lite-03,
                           decoded as 0 there */
};
ssize_t moqc_lite_announce_please_encode(uint8_t *p, size_t cap, int version,
                                         const struct moqc_lite_announce_please *m);
ssize_t moqc_lite_announce_please_decode(struct moqc_lite_announce_please *m, int version,
                                         const uint8_t *p, size_t len);

enum moqc_lite_announce_status {
  MOQC_LITE_ANNOUNCE_ENDED = 0,
  MOQC_LITE_ANNOUNCE_ACTIVE = 1,
  MOQC_LITE_ANNOUNCE_RESTART = 2, /* lite-05 only; treat as ACTIVE (replace) */
};

/* ANNOUNCE (ANNOUNCE_BROADCAST), publisher ->. Status is a raw u8 on the wire.
 * Hops: lite-03 carries only a count (decoded ids are 0); lite-04/05 carry the
 * id list. No allocation: the list is a fixed array. */
struct moqc_lite_announce {
  uint8_t status; /* enum moqc_lite_announce_status */
  moqc_bytes suffix;
  size_t hop_count; /* <= MOQC_LITE_MAX_HOPS */
  uint64_t hops[MOQC_LITE_MAX_HOPS];
};
ssize_t moqc_lite_announce_encode(uint8_t *p, size_t cap, int version,
                                  const struct moqc_lite_announce *m);
ssize_t moqc_lite_announce_decode(struct moqc_lite_announce *m, int version, const uint8_t *p,
                                  size_t len);

/* ANNOUNCE_OK (lite-05 only): first message from the publisher. */
struct moqc_lite_announce_ok {
  uint64_t hop_id; /* responder origin id (0 accepted) */
  uint64_t active; /* number of ANNOUNCEs that follow as the initial set */
};
ssize_t moqc_lite_announce_ok_encode(uint8_t *p, size_t cap, int version,
                                     const struct moqc_lite_announce_ok *m);
ssize_t moqc_lite_announce_ok_decode(struct moqc_lite_announce_ok *m, int version, const uint8_t *p,
                                     size_t len);

/* ---- subscribe stream (bidi 2) ------------------------------------------- */

struct moqc_lite_subscribe {
  uint64_t id;
  moqc_bytes broadcast;
  moqc_bytes track;
  uint8_t priority;
  bool ordered;         /* wire u8; any non-zero decodes as true */
  uint64_t max_latency; /* ms */
  uint64_t start_group; /* MOQC_LITE_GROUP_NONE = latest */
  uint64_t end_group;   /* MOQC_LITE_GROUP_NONE = unbounded; else inclusive */
};
ssize_t moqc_lite_subscribe_encode(uint8_t *p, size_t cap, int version,
                                   const struct moqc_lite_subscribe *m);
ssize_t moqc_lite_subscribe_decode(struct moqc_lite_subscribe *m, int version, const uint8_t *p,
                                   size_t len);

struct moqc_lite_subscribe_update {
  uint8_t priority;
  bool ordered;
  uint64_t max_latency;
  uint64_t start_group; /* MOQC_LITE_GROUP_NONE = none */
  uint64_t end_group;   /* MOQC_LITE_GROUP_NONE = none */
};
ssize_t moqc_lite_subscribe_update_encode(uint8_t *p, size_t cap, int version,
                                          const struct moqc_lite_subscribe_update *m);
ssize_t moqc_lite_subscribe_update_decode(struct moqc_lite_subscribe_update *m, int version,
                                          const uint8_t *p, size_t len);

/* Responses: `type varint | length | body`. Kinds are logical (not wire) values:
 *   lite-03/04: wire 0 OK, 1 DROP.  lite-05: wire 0 START, 1 END, 2 DROP. */
enum moqc_lite_subscribe_resp_kind {
  MOQC_LITE_SUBSCRIBE_OK = 1,    /* lite-03/04 */
  MOQC_LITE_SUBSCRIBE_START = 2, /* lite-05 */
  MOQC_LITE_SUBSCRIBE_END = 3,   /* lite-05 */
  MOQC_LITE_SUBSCRIBE_DROP = 4,  /* all */
};
struct moqc_lite_subscribe_ok {
  uint8_t priority;
  bool ordered;
  uint64_t max_latency;
  uint64_t start_group; /* MOQC_LITE_GROUP_NONE = unknown */
  uint64_t end_group;   /* MOQC_LITE_GROUP_NONE = none */
};
struct moqc_lite_subscribe_drop {
  uint64_t start; /* first dropped group */
  uint64_t end;   /* last dropped group, inclusive */
  uint64_t error; /* 0 = just unavailable */
};
struct moqc_lite_subscribe_resp {
  int kind; /* enum moqc_lite_subscribe_resp_kind */
  union {
    struct moqc_lite_subscribe_ok ok;
    uint64_t group; /* START: first group served; END: exclusive end (0 = none) */
    struct moqc_lite_subscribe_drop drop;
  } u;
};
ssize_t moqc_lite_subscribe_resp_encode(uint8_t *p, size_t cap, int version,
                                        const struct moqc_lite_subscribe_resp *m);
/* An unknown response type is MOQC_ERR_DECODE. */
ssize_t moqc_lite_subscribe_resp_decode(struct moqc_lite_subscribe_resp *m, int version,
                                        const uint8_t *p, size_t len);

/* ---- track stream (bidi 6, lite-05) -------------------------------------- */

struct moqc_lite_track {
  moqc_bytes broadcast;
  moqc_bytes track;
};
ssize_t moqc_lite_track_encode(uint8_t *p, size_t cap, int version,
                               const struct moqc_lite_track *m);
ssize_t moqc_lite_track_decode(struct moqc_lite_track *m, int version, const uint8_t *p,
                               size_t len);

struct moqc_lite_track_info {
  uint8_t priority;
  bool ordered;
  uint64_t max_latency; /* ms */
  uint64_t timescale;   /* units per second, never 0 */
};
ssize_t moqc_lite_track_info_encode(uint8_t *p, size_t cap, int version,
                                    const struct moqc_lite_track_info *m);
ssize_t moqc_lite_track_info_decode(struct moqc_lite_track_info *m, int version, const uint8_t *p,
                                    size_t len);

/* ---- fetch stream (bidi 3) ----------------------------------------------- */

/* Wire format since lite-03 (moq-dev only issues/serves it on lite-05). The
 * response is bare lite-05 FRAMEs with timestamp baseline 0, then FIN. */
struct moqc_lite_fetch {
  moqc_bytes broadcast;
  moqc_bytes track;
  uint8_t priority;
  uint64_t group;
};
ssize_t moqc_lite_fetch_encode(uint8_t *p, size_t cap, int version,
                               const struct moqc_lite_fetch *m);
ssize_t moqc_lite_fetch_decode(struct moqc_lite_fetch *m, int version, const uint8_t *p,
                               size_t len);

/* ---- probe (bidi 4), goaway (bidi 5) -------------------------------------- */

struct moqc_lite_probe {
  uint64_t bitrate; /* bits/s, 0 = unknown */
  uint64_t rtt;     /* ms, 0 = unknown; lite-04+ (ignored encoding lite-03, decoded as 0) */
};
ssize_t moqc_lite_probe_encode(uint8_t *p, size_t cap, int version,
                               const struct moqc_lite_probe *m);
ssize_t moqc_lite_probe_decode(struct moqc_lite_probe *m, int version, const uint8_t *p,
                               size_t len);

/* GOAWAY (lite-04+). */
struct moqc_lite_goaway {
  moqc_bytes uri; /* UTF-8, empty = just close */
};
ssize_t moqc_lite_goaway_encode(uint8_t *p, size_t cap, int version,
                                const struct moqc_lite_goaway *m);
ssize_t moqc_lite_goaway_decode(struct moqc_lite_goaway *m, int version, const uint8_t *p,
                                size_t len);

/* ---- setup stream (uni 1, lite-05) ----------------------------------------- */

enum moqc_lite_probe_level {
  MOQC_LITE_PROBE_NONE = 0,
  MOQC_LITE_PROBE_REPORT = 1,
  MOQC_LITE_PROBE_INCREASE = 2, /* unknown levels decode as this */
};
enum moqc_lite_role {
  MOQC_LITE_ROLE_BOTH = 0, /* parameter absent; unknown codes decode as this */
  MOQC_LITE_ROLE_PUBLISHER = 1,
  MOQC_LITE_ROLE_SUBSCRIBER = 2,
};
enum moqc_lite_setup_param {
  MOQC_LITE_PARAM_PROBE = 0x1,
  MOQC_LITE_PARAM_PATH = 0x2,
  MOQC_LITE_PARAM_ROLE = 0x3,
  MOQC_LITE_PARAM_COST = 0x4,
  MOQC_LITE_PARAM_ORIGIN = 0x5,
};

/* SETUP. Encoding writes the present parameters in id order and omits
 * defaults (probe NONE, no path, role BOTH, no cost, origin 0), so an empty
 * SETUP is `01 00`. Decoding: varint-valued params must hold exactly one
 * varint (else DECODE); unknown ids are skipped; duplicates (even unknown) and
 * more than 64 params are DECODE. The path value may carry `?query` and is
 * bounded by the message size, not MOQC_LITE_PATH_MAX. */
struct moqc_lite_setup {
  uint8_t probe; /* enum moqc_lite_probe_level */
  bool has_path;
  moqc_bytes path; /* UTF-8 */
  uint8_t role;    /* enum moqc_lite_role */
  bool has_cost;
  uint64_t cost;
  uint64_t origin; /* 0 = none (a wire 0 decodes as none) */
};
ssize_t moqc_lite_setup_encode(uint8_t *p, size_t cap, int version,
                               const struct moqc_lite_setup *m);
ssize_t moqc_lite_setup_decode(struct moqc_lite_setup *m, int version, const uint8_t *p,
                               size_t len);

/* ---- group stream (uni 0) -------------------------------------------------- */

/* GROUP header (length-prefixed), after the stream type. */
struct moqc_lite_group {
  uint64_t subscribe;
  uint64_t sequence;
};
ssize_t moqc_lite_group_encode(uint8_t *p, size_t cap, int version,
                               const struct moqc_lite_group *m);
ssize_t moqc_lite_group_decode(struct moqc_lite_group *m, int version, const uint8_t *p,
                               size_t len);

/* FRAME header. Frames have no length prefix: the header is followed by
 * `size` payload bytes, then the next header or FIN.
 *   lite-03/04: Size (i)                        (timestamp is always 0)
 *   lite-05:    Timestamp Delta (i, zigzag), Size (i)
 * `prev_ts` is the running timestamp baseline: 0 for the first frame of a
 * group (or fetch), then the previous frame's timestamp.
 * Encode writes only the header (p == NULL: size); the caller sends the
 * payload. OVERFLOW if timestamp > 2^62-1 or the delta is out of range;
 * INVAL if size > MOQC_LITE_FRAME_MAX.
 * Decode returns the HEADER bytes consumed (the payload starts at p + ret and
 * is not required to be present), NEED_MORE, MOQC_ERR_DECODE if the resulting
 * timestamp is negative or > 2^62-1, or MOQC_ERR_TOO_LARGE if size >
 * MOQC_LITE_FRAME_MAX (reset with MOQC_CODE_FRAME_TOO_LARGE). A FIN right
 * where a header would start ends the group; a FIN inside a header or payload
 * is MOQC_CODE_WRONG_SIZE / DECODE for the session to report. */
struct moqc_lite_frame {
  uint64_t timestamp; /* absolute, in the track timescale (lite-05) */
  uint64_t size;
};
ssize_t moqc_lite_frame_encode(uint8_t *p, size_t cap, int version, uint64_t prev_ts,
                               const struct moqc_lite_frame *m);
ssize_t moqc_lite_frame_decode(struct moqc_lite_frame *m, int version, uint64_t prev_ts,
                               const uint8_t *p, size_t len);

/* ---- single-pass group / frame headers (the per-subscriber hot path) ----------
 * Validate and write in one pass into out, which needs MOQC_LITE_GROUP_HDR_MAX
 * / MOQC_LITE_FRAME_HDR_MAX bytes; moqc_lite_group_encode and
 * moqc_lite_frame_encode are built on them, so the bytes are the same.
 * moqc__lite_group_hdr writes the whole start of a group stream: stream type
 * (MOQC_LITE_UNI_GROUP), length, subscribe, sequence. Return the length, or
 * MOQC_ERR_OVERFLOW (a value > 2^62-1, a timestamp delta out of range) /
 * MOQC_ERR_INVAL (invalid version, size > MOQC_LITE_FRAME_MAX) as the codec. */
#define MOQC_LITE_FRAME_HDR_MAX 16u
#define MOQC_LITE_GROUP_HDR_MAX 24u
ssize_t moqc__lite_group_hdr(uint8_t *out, uint64_t subscribe, uint64_t sequence);
ssize_t moqc__lite_frame_hdr(uint8_t *out, int version, uint64_t prev_ts, uint64_t timestamp,
                             uint64_t size);

/* ---- datagram (lite-05) ---------------------------------------------------- */

/* One QUIC datagram: Subscribe ID | Group Sequence | Timestamp (absolute, not
 * zigzag) | payload to the end. No length prefix. Decode always consumes len
 * (a truncated header is DECODE, never NEED_MORE: datagrams arrive whole).
 * The size limit is the transport's (max datagram size), not checked here. */
struct moqc_lite_datagram {
  uint64_t subscribe;
  uint64_t sequence;
  uint64_t timestamp;
  moqc_bytes payload;
};
ssize_t moqc_lite_datagram_encode(uint8_t *p, size_t cap, int version,
                                  const struct moqc_lite_datagram *m);
ssize_t moqc_lite_datagram_decode(struct moqc_lite_datagram *m, int version, const uint8_t *p,
                                  size_t len);

#endif
