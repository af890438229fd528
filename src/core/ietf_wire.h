/* moqc core — IETF moq-transport wire codecs, drafts 14 to 19 (internal).
 *
 * Pure, sans-IO functions: no allocation, no session state, no clock. They
 * follow the conventions of core/codec.h and core/lite_wire.h:
 *
 * DECODE  ssize_t moqc__ietf_<x>_decode(<x> *dst, int version, const uint8_t *p, size_t len)
 *   returns the bytes consumed (bytes after the item are left alone),
 *     MOQC_ERR_NEED_MORE  p[0..len) is a valid prefix; call again with more,
 *     MOQC_ERR_DECODE     malformed: a field truncated inside a complete
 *                         control message, leftover bytes inside the declared
 *                         length, a count or length over its bound (below), an
 *                         unknown / reserved type, a duplicate parameter, a
 *                         value outside its enum, invalid UTF-8 in a name,
 *     MOQC_ERR_TOO_LARGE  an object payload over MOQC_IETF_OBJECT_MAX,
 *     MOQC_ERR_INVAL      unknown version or NULL arguments.
 *   moqc_bytes fields of *dst are BORROWED: they point into p. On error *dst
 *   is unspecified.
 *
 * ENCODE  ssize_t moqc__ietf_<x>_encode(uint8_t *p, size_t cap, int version, const <x> *src)
 *   single pass into the caller's buffer; returns the bytes written,
 *     MOQC_ERR_BUFSIZE   cap too small (p holds garbage),
 *     MOQC_ERR_INVAL     unknown version, a message / type not defined in that
 *                        version, a bound below exceeded, a field the version
 *                        cannot carry, unsorted or duplicate parameters,
 *     MOQC_ERR_OVERFLOW  a value the version's varint cannot carry (> 2^62-1 on
 *                        drafts 14-16).
 *   Encoders are deterministic and use minimal varints.
 *
 * Map MOQC_ERR_DECODE to the draft's PROTOCOL_VIOLATION (0x3) when closing a
 * session (KEY_VALUE_FORMATTING_ERROR 0x6 for a bad parameter is also legal).
 * Per-draft wire differences are listed in docs/wire.md. All functions are
 * pure and callable from any thread and any callback.
 */
#ifndef MOQC_CORE_IETF_WIRE_H
#define MOQC_CORE_IETF_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/codec.h"
#include "moqc/error.h"

/* ---- versions ------------------------------------------------------------ */

enum moqc_ietf_version {
  MOQC_IETF_14 = 14,
  MOQC_IETF_15 = 15,
  MOQC_IETF_16 = 16,
  MOQC_IETF_17 = 17,
  MOQC_IETF_18 = 18,
  MOQC_IETF_19 = 19,
};
#define MOQC_IETF_FIRST MOQC_IETF_14
#define MOQC_IETF_LAST MOQC_IETF_19

/* True for MOQC_IETF_14 .. MOQC_IETF_19. */
bool moqc__ietf_version_valid(int version);
/* The SETUP version code 0xff000000 + draft (0 for an invalid version). */
uint64_t moqc__ietf_version_code(int version);
/* The draft of a SETUP version code, or MOQC_ERR_VERSION. */
int moqc__ietf_version_from_code(uint64_t code);
/* ALPN / WebTransport protocol: "moq-00" (14), "moqt-15" .. "moqt-19"; NULL if invalid. */
const char *moqc__ietf_version_alpn(int version);
/* Draft for an ALPN (exact bytes, not NUL-terminated), or MOQC_ERR_VERSION. */
int moqc__ietf_version_from_alpn(const char *alpn, size_t len);

/* Version features. */
static inline bool moqc__ietf_has_leading_ones(int v) { return v >= MOQC_IETF_17; }
/* SETUP rides a pair of uni streams (type 0x2F00) instead of the bidi control stream. */
static inline bool moqc__ietf_has_uni_setup(int v) { return v >= MOQC_IETF_17; }
/* Parameter / property types are delta-encoded. */
static inline bool moqc__ietf_has_delta_kvp(int v) { return v >= MOQC_IETF_16; }
/* Responses carry no Request ID (each request has its own bidi stream). */
static inline bool moqc__ietf_has_request_streams(int v) { return v >= MOQC_IETF_17; }

/* ---- bounds -------------------------------------------------------------- */

#define MOQC_IETF_MSG_MAX 65535u         /* control message body (u16 length) */
#define MOQC_IETF_TUPLE_MAX 32u          /* namespace tuple fields */
#define MOQC_IETF_NAME_MAX 4096u         /* one tuple field, a track name, their sum */
#define MOQC_IETF_REASON_MAX 1024u       /* reason phrase */
#define MOQC_IETF_URI_MAX 8192u          /* GOAWAY new session URI */
#define MOQC_IETF_PARAMS_MAX 64u         /* parameters / properties per list */
#define MOQC_IETF_KVP_VALUE_MAX 65535u   /* one odd-type KVP value */
#define MOQC_IETF_VERSIONS_MAX 16u       /* CLIENT_SETUP version list (draft-14) */
#define MOQC_IETF_EXT_MAX 65535u         /* object extension / property block */
#define MOQC_IETF_OBJECT_MAX (32u << 20) /* object payload (as moq-lite's frame) */

/* ---- varints ------------------------------------------------------------- */

/* Drafts 14-16: QUIC varints (RFC 9000 §16, max 2^62-1). Drafts 17+: the
 * "leading ones" varint: the count of leading 1 bits of the first byte gives
 * the length (0 -> 1 byte/7 bits, 1 -> 2/14, 2 -> 3/21, 3 -> 4/28, 4 -> 5/35,
 * 5 -> 6/42, 6 -> 7/49, 7 -> 8/56, 8 -> 9/64). The 7-byte form (0xFC/0xFD) is
 * invalid on draft-17 and is never emitted (moq-dev writes the 8-byte form). */
size_t moqc__ietf_varint_len(int version, uint64_t x); /* 0: not encodable */
ssize_t moqc__ietf_varint_encode(int version, uint8_t *p, size_t cap, uint64_t x);
ssize_t moqc__ietf_varint_decode(int version, uint64_t *x, const uint8_t *p, size_t len);

/* Cursor helpers (same contract as moqc_read_varint / moqc_write_varint). */
int moqc__ietf_read_vi(moqc_reader *r, int version, uint64_t *x);
void moqc__ietf_write_vi(moqc_writer *w, int version, uint64_t x);

/* ---- shared field types -------------------------------------------------- */

typedef struct moqc__ietf_loc {
  uint64_t group;
  uint64_t object;
} moqc__ietf_loc;

/* A namespace tuple: 0..32 fields (the empty tuple is the root). */
typedef struct moqc__ietf_tuple {
  uint32_t n;
  moqc_bytes f[MOQC_IETF_TUPLE_MAX];
} moqc__ietf_tuple;

/* One key-value pair: even key -> v (varint), odd key -> b (bytes). */
typedef struct moqc__ietf_kvp {
  uint64_t key;
  uint64_t v;
  moqc_bytes b;
} moqc__ietf_kvp;

/* A parameter / property list. Decoders fill it in wire order with absolute
 * keys; encoders need it sorted by key on delta-encoded drafts (16+), and
 * reject duplicate keys on every draft. */
typedef struct moqc__ietf_params {
  uint32_t n;
  moqc__ietf_kvp kv[MOQC_IETF_PARAMS_MAX];
} moqc__ietf_params;

/* Returns the entry for key, or NULL. */
const moqc__ietf_kvp *moqc__ietf_params_find(const moqc__ietf_params *ps, uint64_t key);
/* Appends an entry (kept sorted by key). MOQC_ERR_BOUNDS when full,
 * MOQC_ERR_DUPLICATE if the key is present. */
int moqc__ietf_params_put_varint(moqc__ietf_params *ps, uint64_t key, uint64_t v);
int moqc__ietf_params_put_bytes(moqc__ietf_params *ps, uint64_t key, const void *p, size_t n);

/* Setup parameters (SETUP / CLIENT_SETUP / SERVER_SETUP). */
enum {
  MOQC_IETF_SETUP_PATH = 0x01,
  MOQC_IETF_SETUP_MAX_REQUEST_ID = 0x02, /* drafts 14-16 */
  MOQC_IETF_SETUP_AUTH_TOKEN = 0x03,
  MOQC_IETF_SETUP_MAX_AUTH_TOKEN_CACHE = 0x04,
  MOQC_IETF_SETUP_AUTHORITY = 0x05,
  MOQC_IETF_SETUP_IMPLEMENTATION = 0x07,
};

/* Message parameters that drafts 15+ carry where draft-14 had fixed fields:
 * the codec lifts them into moqc__ietf_msg fields (flag in msg.has). */
enum {
  MOQC_IETF_PARAM_DELIVERY_TIMEOUT = 0x02,
  MOQC_IETF_PARAM_AUTH_TOKEN = 0x03,
  MOQC_IETF_PARAM_EXPIRES = 0x08,
  MOQC_IETF_PARAM_LARGEST_OBJECT = 0x09,
  MOQC_IETF_PARAM_FORWARD = 0x10,
  MOQC_IETF_PARAM_SUBSCRIBER_PRIORITY = 0x20,
  MOQC_IETF_PARAM_SUBSCRIPTION_FILTER = 0x21,
  MOQC_IETF_PARAM_GROUP_ORDER = 0x22,
};

/* ---- control messages ----------------------------------------------------- */

/* Wire type codes. Several codes mean different messages in different drafts
 * (0x05, 0x07, 0x08, 0x0E, 0x0F): see moqc__ietf_ctrl_name. */
enum moqc_ietf_ctrl_type {
  MOQC_IETF_REQUEST_UPDATE = 0x02, /* SUBSCRIBE_UPDATE in 14-15 */
  MOQC_IETF_SUBSCRIBE = 0x03,
  MOQC_IETF_SUBSCRIBE_OK = 0x04,
  MOQC_IETF_SUBSCRIBE_ERROR = 0x05, /* REQUEST_ERROR in 15+ */
  MOQC_IETF_REQUEST_ERROR = 0x05,
  MOQC_IETF_PUBLISH_NAMESPACE = 0x06,
  MOQC_IETF_PUBLISH_NAMESPACE_OK = 0x07, /* REQUEST_OK in 15+ */
  MOQC_IETF_REQUEST_OK = 0x07,
  MOQC_IETF_PUBLISH_NAMESPACE_ERROR = 0x08, /* 14 only */
  MOQC_IETF_NAMESPACE = 0x08,               /* 16+ */
  MOQC_IETF_PUBLISH_NAMESPACE_DONE = 0x09,  /* 14-16 */
  MOQC_IETF_UNSUBSCRIBE = 0x0A,             /* 14-16 */
  MOQC_IETF_PUBLISH_DONE = 0x0B,
  MOQC_IETF_PUBLISH_NAMESPACE_CANCEL = 0x0C, /* 14-16 */
  MOQC_IETF_TRACK_STATUS = 0x0D,
  MOQC_IETF_TRACK_STATUS_OK = 0x0E,    /* 14 only */
  MOQC_IETF_NAMESPACE_DONE = 0x0E,     /* 16+ */
  MOQC_IETF_TRACK_STATUS_ERROR = 0x0F, /* 14 only */
  MOQC_IETF_PUBLISH_BLOCKED = 0x0F,    /* 17-18 */
  MOQC_IETF_PUBLISH_SKIPPED = 0x0F,    /* 19: the same fields */
  MOQC_IETF_GOAWAY = 0x10,
  MOQC_IETF_SUBSCRIBE_NAMESPACE = 0x11, /* 14-17 */
  MOQC_IETF_SUBSCRIBE_NAMESPACE_OK = 0x12,
  MOQC_IETF_SUBSCRIBE_NAMESPACE_ERROR = 0x13,
  MOQC_IETF_UNSUBSCRIBE_NAMESPACE = 0x14, /* 14-15 */
  MOQC_IETF_MAX_REQUEST_ID = 0x15,        /* 14-16 */
  MOQC_IETF_FETCH = 0x16,
  MOQC_IETF_FETCH_CANCEL = 0x17, /* 14-16 */
  MOQC_IETF_FETCH_OK = 0x18,
  MOQC_IETF_FETCH_ERROR = 0x19,      /* 14 only */
  MOQC_IETF_REQUESTS_BLOCKED = 0x1A, /* 14-16 */
  MOQC_IETF_PUBLISH = 0x1D,
  MOQC_IETF_PUBLISH_OK = 0x1E,
  MOQC_IETF_PUBLISH_ERROR = 0x1F,          /* 14 only */
  MOQC_IETF_CLIENT_SETUP = 0x20,           /* 14-16 */
  MOQC_IETF_SERVER_SETUP = 0x21,           /* 14-16 */
  MOQC_IETF_SUBSCRIBE_NAMESPACE_18 = 0x50, /* 18+ */
  MOQC_IETF_SETUP = 0x2F00,                /* 17+, on a uni stream */
};

/* Subscription filter types (SUBSCRIBE, PUBLISH_OK). */
enum {
  MOQC_IETF_FILTER_NEXT_GROUP = 0x1,
  MOQC_IETF_FILTER_LARGEST_OBJECT = 0x2,
  MOQC_IETF_FILTER_ABSOLUTE_START = 0x3,
  MOQC_IETF_FILTER_ABSOLUTE_RANGE = 0x4,
};
/* FETCH types. */
enum {
  MOQC_IETF_FETCH_STANDALONE = 0x1,
  MOQC_IETF_FETCH_RELATIVE_JOINING = 0x2,
  MOQC_IETF_FETCH_ABSOLUTE_JOINING = 0x3,
};

/* Which optional fields of moqc__ietf_msg are present (msg.has). On draft-14
 * the fixed fields are always present in the messages that have them; on 15+
 * each is a message parameter. */
#define MOQC_IETF_HAS_PRIORITY 0x01u    /* priority (param 0x20) */
#define MOQC_IETF_HAS_GROUP_ORDER 0x02u /* group_order (param 0x22) */
#define MOQC_IETF_HAS_FORWARD 0x04u     /* forward (param 0x10) */
#define MOQC_IETF_HAS_FILTER 0x08u      /* filter (param 0x21) */
#define MOQC_IETF_HAS_LARGEST 0x10u     /* largest (draft-14 Content Exists = 1; param 0x09) */
#define MOQC_IETF_HAS_EXPIRES 0x20u     /* expires (param 0x08 on 15+) */
#define MOQC_IETF_HAS_GOAWAY_ID 0x40u   /* draft-18 GOAWAY: optional request_id */
/* draft-17: read without the Required Request ID Delta (imquic's
 * TRACK_STATUS); the encoder then leaves it out too. */
#define MOQC_IETF_HAS_NO_DELTA 0x80u

typedef struct moqc__ietf_filter {
  uint64_t type;        /* MOQC_IETF_FILTER_* */
  moqc__ietf_loc start; /* ABSOLUTE_START / ABSOLUTE_RANGE */
  uint64_t end_group;   /* ABSOLUTE_RANGE */
} moqc__ietf_filter;

typedef struct moqc__ietf_fetch_spec {
  uint64_t type;            /* MOQC_IETF_FETCH_* */
  moqc__ietf_loc start;     /* standalone (namespace and name are msg.ns / msg.name) */
  moqc__ietf_loc end;       /* standalone */
  uint64_t joining_request; /* joining: the subscription's request id */
  uint64_t joining_start;   /* relative: group offset; absolute: group id */
} moqc__ietf_fetch_spec;

/* One control message of any type: which fields matter depends on (version,
 * type); docs/wire.md has the per-draft layout of each. Unused fields are
 * ignored by the encoder and zeroed by the decoder. */
typedef struct moqc__ietf_msg {
  uint64_t type;           /* MOQC_IETF_* type code */
  uint32_t has;            /* MOQC_IETF_HAS_* */
  uint64_t request_id;     /* request id; MAX_REQUEST_ID / REQUESTS_BLOCKED: the maximum */
  uint64_t required_delta; /* draft-17 Required Request ID Delta */
  uint64_t update_id;      /* 14-16 SUBSCRIBE_UPDATE: the subscription's request id */
  moqc__ietf_tuple ns;     /* namespace or namespace prefix */
  moqc_bytes name;         /* track name */
  uint64_t track_alias;
  uint64_t code;               /* error code / PUBLISH_DONE status code */
  uint64_t retry_interval;     /* REQUEST_ERROR 16+ */
  uint64_t stream_count;       /* PUBLISH_DONE */
  moqc_bytes reason;           /* reason phrase; GOAWAY: new session URI */
  uint64_t timeout;            /* GOAWAY 17+ */
  uint64_t options;            /* SUBSCRIBE_NAMESPACE 16-17: subscribe options */
  uint64_t expires;            /* HAS_EXPIRES */
  uint8_t priority;            /* HAS_PRIORITY: subscriber priority */
  uint8_t group_order;         /* HAS_GROUP_ORDER: 0 publisher's, 1 ascending, 2 descending */
  uint8_t forward;             /* HAS_FORWARD: 0 / 1 */
  uint8_t end_of_track;        /* FETCH_OK */
  moqc__ietf_filter filter;    /* HAS_FILTER; 14 SUBSCRIBE_UPDATE: start + end_group */
  moqc__ietf_loc largest;      /* HAS_LARGEST; FETCH_OK: end location */
  moqc__ietf_fetch_spec fetch; /* FETCH */
  uint32_t nversions;          /* CLIENT_SETUP (14): offered; SERVER_SETUP (14): 1, selected */
  uint64_t versions[MOQC_IETF_VERSIONS_MAX];
  moqc__ietf_params params; /* setup parameters, or the message parameters not lifted above */
  moqc__ietf_params props;  /* track properties (SUBSCRIBE_OK, PUBLISH, FETCH_OK; 16+) */
} moqc__ietf_msg;

/* True if `type` is a control message of `version`. */
bool moqc__ietf_ctrl_known(int version, uint64_t type);
/* Static name of a control message type in a version ("SUBSCRIBE", "REQUEST_ERROR"), or NULL. */
const char *moqc__ietf_ctrl_name(int version, uint64_t type);

/* Locate one `type | u16 length | body` message at p: NEED_MORE, or the total
 * size with *type / *body_off / *body_len set. */
ssize_t moqc__ietf_ctrl_peek(int version, const uint8_t *p, size_t len, uint64_t *type,
                             size_t *body_off, size_t *body_len);
/* Decode one framed control message (an unknown type is MOQC_ERR_DECODE). */
ssize_t moqc__ietf_ctrl_decode(moqc__ietf_msg *m, int version, const uint8_t *p, size_t len);
/* Encode one framed control message (m->type selects the layout). */
ssize_t moqc__ietf_ctrl_encode(uint8_t *p, size_t cap, int version, const moqc__ietf_msg *m);

/* Tuple ⇄ path: "a/b/c" ⇄ ("a","b","c"); "" ⇄ (). A path with an empty
 * segment or more than 32 segments is MOQC_ERR_INVAL. The tuple borrows path. */
int moqc__ietf_tuple_from_path(moqc__ietf_tuple *t, const char *path, size_t len);
/* Writes the '/'-joined fields into buf; returns the length, BUFSIZE, or
 * INVAL if a field contains '/' or is empty (it would not round-trip). */
ssize_t moqc__ietf_tuple_to_path(const moqc__ietf_tuple *t, char *buf, size_t cap);

/* ---- data streams ---------------------------------------------------------- */

/* Uni stream type of a data stream's first varint. */
enum moqc_ietf_uni_kind {
  MOQC_IETF_UNI_UNKNOWN = 0,
  MOQC_IETF_UNI_SUBGROUP = 1,
  MOQC_IETF_UNI_FETCH = 2,
  MOQC_IETF_UNI_SETUP = 3, /* 17+ */
};
int moqc__ietf_uni_kind(int version, uint64_t type);

#define MOQC_IETF_FETCH_HEADER 0x05u

enum moqc_ietf_subgroup_id_mode {
  MOQC_IETF_SGID_ZERO = 0,  /* subgroup id 0, not on the wire */
  MOQC_IETF_SGID_FIRST = 1, /* subgroup id = first object id, not on the wire */
  MOQC_IETF_SGID_FIELD = 2, /* explicit subgroup id field */
};

/* SUBGROUP_HEADER. Type bits: 0x01 extensions, 0x06 subgroup id mode, 0x08
 * end of group, 0x10 always, 0x20 default priority (no priority byte; 15+),
 * 0x40 first object (18+). */
typedef struct moqc__ietf_subgroup {
  uint64_t type;     /* decode: the wire type; encode: derived from the flags */
  bool extensions;   /* every object carries an extension length */
  bool end_of_group; /* this subgroup holds the group's last object */
  bool has_priority; /* false: inherit the subscription's (15+) */
  bool first_object; /* 18+: starts at the subgroup's first object */
  int sgid_mode;     /* MOQC_IETF_SGID_* */
  uint64_t track_alias;
  uint64_t group;
  uint64_t subgroup; /* SGID_FIELD only (0 otherwise) */
  uint8_t priority;  /* has_priority only */
} moqc__ietf_subgroup;

ssize_t moqc__ietf_subgroup_encode(uint8_t *p, size_t cap, int version,
                                   const moqc__ietf_subgroup *h);
ssize_t moqc__ietf_subgroup_decode(moqc__ietf_subgroup *h, int version, const uint8_t *p,
                                   size_t len);

/* Object status (payload length 0). */
enum {
  MOQC_IETF_STATUS_NORMAL = 0x0,
  MOQC_IETF_STATUS_DOES_NOT_EXIST = 0x1,
  MOQC_IETF_STATUS_END_OF_GROUP = 0x3,
  MOQC_IETF_STATUS_END_OF_TRACK = 0x4,
};

/* One object header on a subgroup stream. The payload (size bytes) follows
 * and is NOT part of what encode writes / decode consumes, so a session can
 * take it zero-copy. `extensions` is the header's flag. */
typedef struct moqc__ietf_object {
  uint64_t id_delta; /* object id = previous + delta + 1 (first object: = delta) */
  moqc_bytes ext;    /* extension / property KVP block (validated; borrowed) */
  uint64_t size;     /* payload length */
  uint64_t status;   /* size == 0 only */
} moqc__ietf_object;

ssize_t moqc__ietf_object_encode(uint8_t *p, size_t cap, int version, bool extensions,
                                 const moqc__ietf_object *o);
ssize_t moqc__ietf_object_decode(moqc__ietf_object *o, int version, bool extensions,
                                 const uint8_t *p, size_t len);

/* Iterate an object extension / property block (validated by the decoders):
 * returns 1 with *kv set, 0 at the end, MOQC_ERR_DECODE if malformed.
 * *prev_key must start at 0 / *pos at 0. */
int moqc__ietf_ext_next(int version, moqc_bytes block, size_t *pos, uint64_t *prev_key,
                        moqc__ietf_kvp *kv);

/* FETCH_HEADER: type 0x05, request id. */
ssize_t moqc__ietf_fetch_header_encode(uint8_t *p, size_t cap, int version, uint64_t request_id);
ssize_t moqc__ietf_fetch_header_decode(uint64_t *request_id, int version, const uint8_t *p,
                                       size_t len);

/* Objects on a FETCH stream. Drafts 15+ elide fields that equal the prior
 * object's, so encode and decode carry a per-stream state (zero it first;
 * group_order is the FETCH_OK's, needed on 18+ where group ids are deltas). */
typedef struct moqc__ietf_fetch_state {
  bool have_prior;    /* a real object was seen */
  bool have_location; /* a group / object was seen (object or end of range) */
  uint64_t group, subgroup, object;
  uint8_t priority;
  uint8_t group_order; /* 1 ascending (default), 2 descending */
  /* Encoder only: always write the Subgroup ID field (flags low bits 3), never
   * the zero / prior / prior + 1 forms: imquic (ce5f0713) reads the field
   * unless the low bits are 2. Decoders ignore it. */
  bool explicit_subgroup;
} moqc__ietf_fetch_state;

enum {
  MOQC_IETF_FETCH_OBJECT = 0,
  MOQC_IETF_FETCH_END_NONEXISTENT = 1, /* 16+: flags 0x8C */
  MOQC_IETF_FETCH_END_UNKNOWN = 2,     /* 16+: flags 0x10C */
};

typedef struct moqc__ietf_fetch_object {
  int kind;       /* MOQC_IETF_FETCH_OBJECT / _END_* */
  uint64_t flags; /* decode: the wire serialization flags (15+) */
  bool datagram;  /* 16+: forwarding preference datagram (no subgroup id) */
  uint64_t group, subgroup, object;
  uint8_t priority;
  moqc_bytes ext;  /* extension / property block, may be empty */
  uint64_t size;   /* payload length; the payload follows */
  uint64_t status; /* size == 0, drafts 14-15 only */
} moqc__ietf_fetch_object;

ssize_t moqc__ietf_fetch_object_encode(uint8_t *p, size_t cap, int version,
                                       moqc__ietf_fetch_state *st,
                                       const moqc__ietf_fetch_object *o);
ssize_t moqc__ietf_fetch_object_decode(moqc__ietf_fetch_object *o, int version,
                                       moqc__ietf_fetch_state *st, const uint8_t *p, size_t len);

/* OBJECT_DATAGRAM (payload form and status form). Type bits: 0x01
 * extensions, 0x02 end of group, 0x04 object id 0 (not on the wire), 0x08
 * default priority (15+), 0x20 status. Decode consumes the whole datagram.
 * 17+: a status datagram with extensions must carry status Normal (0). */
typedef struct moqc__ietf_datagram {
  uint64_t type; /* decode: the wire type; encode: derived from the flags */
  bool end_of_group;
  bool has_priority; /* false: inherit (15+) */
  bool is_status;    /* status form: no payload */
  uint64_t track_alias;
  uint64_t group;
  uint64_t object; /* 0 is sent in the short form where the draft has one */
  uint8_t priority;
  moqc_bytes ext;     /* non-empty => extensions bit */
  uint64_t status;    /* is_status */
  moqc_bytes payload; /* !is_status (borrowed) */
} moqc__ietf_datagram;

ssize_t moqc__ietf_datagram_encode(uint8_t *p, size_t cap, int version,
                                   const moqc__ietf_datagram *d);
ssize_t moqc__ietf_datagram_decode(moqc__ietf_datagram *d, int version, const uint8_t *p,
                                   size_t len);

#endif
