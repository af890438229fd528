/* moqc session — internal base types shared by every part of the session:
 * constants, the buried-object header (sobj), stream openers. See
 * session_int.h for the layout of the internal headers. */
#ifndef MOQC_SESSION_BASE_INT_H
#define MOQC_SESSION_BASE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/lite_wire.h"
#include "moqc/clock.h"
#include "moqc/error.h"
#include "moqc/model.h"
#include "moqc/session.h"
#include "moqc/transport.h"
#include "session/util.h"

/* ---- constants ------------------------------------------------------------ */

#define SESS_RBUF_MAX (MOQC_LITE_MSG_MAX + 64u) /* control receive buffer bound */
#define SESS_HDR_MAX 64u                        /* group / frame header bound */
#define SESS_DATAGRAM_MAX 1200u
#define SESS_TICK_NS (100u * 1000u * 1000u) /* maintenance + probe cadence */
#define SESS_PROBE_MAX_AGE_NS (10ull * 1000u * 1000u * 1000u)
#define SESS_FETCH_WAIT_NS (100u * 1000u * 1000u) /* FETCH: wait for the cache */
/* FETCH upstream on moq-lite-05 (remote.c): one group per FETCH; at most this
 * many in flight per track, and at most SESS_UPSTREAM_FETCH_SPAN groups
 * queued (the newest of a range asked for). */
#define SESS_UPSTREAM_FETCH_INFLIGHT 4u
#define SESS_UPSTREAM_FETCH_SPAN 256u
/* A clean end of a subscription without a known final group (lite-03/04 FIN):
 * group streams may still be on their way (the JS publishers FIN the subscribe
 * stream before they even open them), so the track is finished only once no
 * new group arrived for this long (+ 2 RTT), at most SESS_SUB_FIN_MAX_NS. */
#define SESS_SUB_FIN_GRACE_NS (250u * 1000u * 1000u)
#define SESS_SUB_FIN_MAX_NS (3ull * 1000u * 1000u * 1000u)
/* Publisher side: the subscribe stream's FIN (track end) waits this long (+ 2
 * RTT) after the last group was acknowledged. @moq/net (and @moq/lite) stop
 * reading a track's groups the moment they see that FIN, and an acknowledged
 * group stream may not have reached the application yet. */
#define SESS_PUB_FIN_LINGER_NS (200u * 1000u * 1000u)

#define DEF_MAX_STREAMS 1024u
#define DEF_MAX_SUBSCRIPTIONS 256u
#define DEF_MAX_ANNOUNCED 4096u
#define DEF_MAX_TRACKS 1024u
#define DEF_MAX_QUEUED ((size_t)4 << 20)
#define DEF_MAX_PENDING_GROUPS 64u
#define DEF_MAX_ANNOUNCE_PREFIXES 64u
#define DEF_MAX_REQUESTS 1024u
#define DEF_MAX_REQUESTS_CAP ((size_t)1 << 30) /* limits.max_requests is clamped to it */

/* ---- forward declarations ----------------------------------------------- */

typedef struct sstream sstream;
typedef struct opener opener;
typedef struct sobj sobj;
typedef struct pub_announce pub_announce;
typedef struct pub_sub pub_sub;
typedef struct group_out group_out;
typedef struct pub_track pub_track;
typedef struct pub_fetch pub_fetch;
typedef struct sub_announce sub_announce;
typedef struct rbcast rbcast;
typedef struct rtrack rtrack;
typedef struct group_in group_in;
typedef struct sub_fetch sub_fetch;
typedef struct probe probe;

/* Everything that may be freed while a call is in progress starts with this. */
struct sobj {
  sobj *grave_next;
  void (*destroy)(sobj *o); /* frees the memory (model handles already released) */
  bool dead;
};

/* A request to open a stream that waits for stream credit if needed. */
struct opener {
  moqc_link link;
  bool bidi;
  void (*opened)(opener *op, int64_t id);
  void (*failed)(opener *op, int err);
};

#endif
