/* moqc — the pub/sub model: Origin -> Broadcast -> Track -> Group -> Frame.
 *
 * Every level is a producer/consumer pair over one shared state object:
 *   - producers write; each consumer is an independent reader with its own
 *     cursor;
 *   - handles are cheap to clone (`_clone`) and each clone is released with
 *     `_del`;
 *   - `_finish` on a producer says "nothing more is coming" (a clean end);
 *     deleting the LAST producer handle without finishing is an abort with
 *     MOQC_CODE_DROPPED (consumers read MOQC_ERR_DROPPED), and `_abort(code)`
 *     aborts explicitly (consumers read moqc_err_from_code(code) and can fetch
 *     the exact code with the consumer's `_code()` getter).
 *
 * ---------------------------------------------------------------------------
 * Threading contract
 * ---------------------------------------------------------------------------
 * Every model object belongs to ONE moqc_env, and a moqc_env belongs to one
 * thread (normally an event-loop thread). Refcounts are plain integers: no
 * function in this header is thread-safe, EXCEPT the moqc_track_proxy_* calls
 * documented as "any thread", which exist so an application thread (an
 * encoder, say) can publish into a track owned by the loop thread.
 *
 * ---------------------------------------------------------------------------
 * Notification: consumers are notified, not polled
 * ---------------------------------------------------------------------------
 * Every consumer has a waker: moqc_<x>_consumer_set_waker(c, fn, arg). Reads
 * never block: they return data, MOQC_ERR_AGAIN ("would block"), MOQC_ERR_CLOSED
 * (clean end), or an error. When a consumer that returned MOQC_ERR_AGAIN may
 * make progress (new data, end, abort), its waker is scheduled. Wakers are
 * DEFERRED: they never run inside the producer call that caused them; they run
 * from moqc_env_run(), at most once per consumer per round even if many writes
 * happened (edge-coalesced). Inside a waker any model function may be called,
 * including deleting the consumer whose waker is running. A waker is also
 * scheduled once right after it is set if data is already readable.
 * Edge-triggered: after a wake, a consumer is scheduled again only once one of
 * its reads returned MOQC_ERR_AGAIN, so drain until AGAIN. (Producer-side
 * wakers -- demand, requests -- and broadcast status wakers fire on every
 * change.) A producer-side waker belongs to the handle that set it and is
 * unregistered when that handle is deleted.
 *
 * ---------------------------------------------------------------------------
 * Memory
 * ---------------------------------------------------------------------------
 * Frame payloads are moqc_slices of refcounted moqc_bufs. Writing a frame takes
 * a reference; reading one returns a new reference (zero copies). Ownership
 * points down only (track -> group -> frame chunks); waker registrations are
 * intrusive list nodes, so there are no refcount cycles. A cache eviction only
 * drops the cache's reference: a reader that holds a group keeps it readable.
 * Since any write can evict (and so free bufs), a moqc_buf release callback
 * must not call model functions. See docs/memory.md.
 *
 * Unless stated otherwise, functions returning int return MOQC_OK or a
 * negative moqc_err; functions returning a pointer return NULL on OOM (or on
 * the error named in their comment) and the caller owns the returned handle.
 * Every string argument is copied; every string returned is borrowed from the
 * object and valid as long as the handle it came from.
 */
#ifndef MOQC_MODEL_H
#define MOQC_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "moqc/buf.h"
#include "moqc/clock.h"
#include "moqc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*moqc_waker_fn)(void *arg);

/* Why a track or broadcast ended, as its consumers see it (the _end_reason()
 * getters). A consumer reads MOQC_ERR_CLOSED for FINISHED and an abort error
 * for ABORTED and REPLACED; the reason tells "its publisher ended it" from
 * "a new source took its place, follow the broadcast to it":
 *   MOQC_END_NONE      not ended (yet);
 *   MOQC_END_FINISHED  finished by its publisher (_finish: a clean end);
 *   MOQC_END_ABORTED   aborted (_abort, or the last producer went without
 *                      finishing: Dropped); the code says why;
 *   MOQC_END_REPLACED  a new source replaced it: an origin path published
 *                      again by a different publisher (moqc_origin_publish)
 *                      ends the old front's tracks and broadcast this way,
 *                      or a producer called _replace. Consumers read
 *                      MOQC_ERR_DROPPED (code MOQC_CODE_DROPPED, which is what
 *                      goes on the wire, as moq-relay sends it); the new
 *                      broadcast is announced at the same path (the origin
 *                      consumer reads "ended" then "active"), so a consumer
 *                      that wants the broadcast subscribes again there. */
typedef enum moqc_end_reason {
  MOQC_END_NONE = 0,
  MOQC_END_FINISHED = 1,
  MOQC_END_ABORTED = 2,
  MOQC_END_REPLACED = 3,
} moqc_end_reason;
/* "none", "finished", "aborted", "replaced" ("unknown" otherwise). Static. */
MOQC_API const char *moqc_end_reason_str(moqc_end_reason r);

/* ==========================================================================
 * Environment: one per thread / event loop.
 * ========================================================================== */

typedef struct moqc_env moqc_env;

typedef struct moqc_env_config {
  uint64_t now_ns;     /* initial clock time (virtual or monotonic) */
  size_t cache_budget; /* bytes of cached groups across all tracks; 0 = unlimited */
} moqc_env_config;

/* New environment with its own moqc_clock. NULL on OOM. */
MOQC_API moqc_env *moqc_env_new(const moqc_env_config *cfg);
/* Free the env. All model objects created in it must be deleted first.
 * Proxy commands still queued (a proxy deleted from another thread) are
 * applied first, so their references are released. */
MOQC_API void moqc_env_del(moqc_env *env);
/* The env's clock (owned by the env): advance it to make time pass. */
MOQC_API moqc_clock *moqc_env_clock(moqc_env *env);
/* Run pending work: deferred wakers and cross-thread proxy commands, until none
 * is left (bounded: work scheduled during the run beyond 64 rounds waits for
 * the next call, and notify is called again). A round runs every waker that
 * was pending when it started; wakers scheduled by them run in the next round.
 * Returns the number of wakers run. */
MOQC_API size_t moqc_env_run(moqc_env *env);
/* True if moqc_env_run() has something to do. */
MOQC_API bool moqc_env_pending(const moqc_env *env);
/* fn(ctx) is called when work becomes pending (so a driver can schedule
 * moqc_env_run). It may be called FROM ANY THREAD (proxies), so it must be
 * thread-safe (the libuv runtime uses uv_async_send). */
MOQC_API void moqc_env_set_notify(moqc_env *env, void (*fn)(void *ctx), void *ctx);
/* Cache accounting: what the groups held by track caches cost (not counting
 * evicted groups still held by readers). A cached group costs its payload
 * bytes plus a per-group and a per-frame overhead, so that a flood of tiny
 * groups is bounded by the same budget as big ones (a one-frame group of 100
 * bytes really takes about 1 KB of heap). The defaults are what the records
 * behind a group take on 64-bit glibc (sizeof + malloc's 8-byte header and
 * 16-byte rounding, measured: docs/memory.md "What a cached group costs"):
 *   per group: its state (184 B, a 192 B chunk), its cache entry (64 B), its slot in the
 *     cache array (8 B, kept at most half empty: 16 B), and its first ring of
 *     8 frame records (592 B): 864 B;
 *   per frame: its buffer header (40 B) and allocator overhead (8-24 B), and
 *     a share of the frame-record ring past 8 frames (72 B per record, grown
 *     by doubling): 128 B.
 * A group cached in a second track by reference (a relay's front track) adds
 * a cache entry and a slot (about 80 B) that are not charged. */
#define MOQC_CACHE_GROUP_OVERHEAD 864u
#define MOQC_CACHE_FRAME_OVERHEAD 128u
MOQC_API size_t moqc_env_cache_bytes(const moqc_env *env);
MOQC_API void moqc_env_set_cache_budget(moqc_env *env, size_t bytes);
/* Change what a cached group is charged besides its payload (defaults
 * MOQC_CACHE_GROUP_OVERHEAD / MOQC_CACHE_FRAME_OVERHEAD; 0, 0 counts payload
 * bytes only). Groups cached now are recharged at their next change (what
 * each was charged is remembered, so the totals stay exact). Loop thread. */
MOQC_API void moqc_env_set_cache_overhead(moqc_env *env, size_t per_group, size_t per_frame);
/* Clamp every track's cache window (moqc_track_info.latency_max_ms, which a
 * remote publisher chooses) to at most ms; 0 = no clamp (the default). The
 * track info itself is unchanged (subscribers still see the publisher's
 * value); only how long groups and gaps stay cached obeys the clamp. Tracks
 * already cached obey it from their next insert or expiry. A relay sets it so
 * that no publisher decides how long the relay keeps its data. */
MOQC_API void moqc_env_set_cache_window_max(moqc_env *env, uint64_t ms);
MOQC_API uint64_t moqc_env_cache_window_max(const moqc_env *env);

/* ==========================================================================
 * Frame: a size declared up front, written contiguously or in chunks.
 * ========================================================================== */

typedef struct moqc_frame_info {
  uint64_t size;      /* payload bytes, declared up front */
  uint64_t timestamp; /* in the track's timescale */
} moqc_frame_info;

/* A complete frame as read by a consumer. */
typedef struct moqc_frame {
  moqc_frame_info info;
  moqc_slice payload; /* one reference, release with moqc_slice_release */
} moqc_frame;

typedef struct moqc_frame_producer moqc_frame_producer;

/* Append a chunk (takes its own reference). MOQC_ERR_WRONG_SIZE if the chunk
 * would go past the declared size (nothing is appended); MOQC_ERR_STATE if the
 * frame is finished or the group aborted. */
MOQC_API int moqc_frame_producer_write(moqc_frame_producer *f, const moqc_slice *chunk);
/* Copying convenience (the one ingest copy). Same errors, plus NOMEM. */
MOQC_API int moqc_frame_producer_write_copy(moqc_frame_producer *f, const void *p, size_t len);
/* Complete the frame. MOQC_ERR_WRONG_SIZE if fewer than `size` bytes were
 * written: the frame AND its group are then aborted with WrongSize.
 * MOQC_ERR_STATE if already finished or the group was aborted. */
MOQC_API int moqc_frame_producer_finish(moqc_frame_producer *f);
/* Release the handle. If not finished, the group is aborted with WrongSize. */
MOQC_API void moqc_frame_producer_del(moqc_frame_producer *f);

/* ==========================================================================
 * Group: frames in order.
 * ========================================================================== */

#define MOQC_GROUP_MAX_BYTES_DEFAULT ((size_t)32 << 20) /* 32 MiB */

typedef struct moqc_group_producer moqc_group_producer;
typedef struct moqc_group_consumer moqc_group_consumer;

/* A standalone group (tracks create theirs with append/create_group). */
MOQC_API moqc_group_producer *moqc_group_producer_new(moqc_env *env, uint64_t sequence);
MOQC_API moqc_group_producer *moqc_group_producer_clone(moqc_group_producer *g);
/* Release the handle; deleting the last unfinished producer aborts (Dropped). */
MOQC_API void moqc_group_producer_del(moqc_group_producer *g);
MOQC_API uint64_t moqc_group_producer_sequence(const moqc_group_producer *g);

/* Write a whole frame (takes a reference to payload). MOQC_ERR_STATE if a
 * chunked frame is open, the group finished or aborted. */
MOQC_API int moqc_group_producer_write_frame(moqc_group_producer *g, const moqc_slice *payload,
                                             uint64_t timestamp);
/* Copying convenience. */
MOQC_API int moqc_group_producer_write_frame_copy(moqc_group_producer *g, const void *p, size_t len,
                                                  uint64_t timestamp);
/* Start a chunked frame of `size` bytes. Returns a frame producer (NULL on
 * OOM or if another frame is open / the group is closed; *err gets the code
 * if err is non-NULL). */
MOQC_API moqc_frame_producer *moqc_group_producer_create_frame(moqc_group_producer *g,
                                                               const moqc_frame_info *info,
                                                               int *err);
/* Clean end. MOQC_ERR_STATE if a chunked frame is still open. Idempotent. */
MOQC_API int moqc_group_producer_finish(moqc_group_producer *g);
/* Abort with a wire code; every consumer sees moqc_err_from_code(code) on its
 * next read (unread frames are dropped with the abort). No-op once finished or
 * aborted: the first end wins. An aborted group leaves every track cache. */
MOQC_API void moqc_group_producer_abort(moqc_group_producer *g, uint64_t code);
/* Byte cap of the group (default MOQC_GROUP_MAX_BYTES_DEFAULT). Once more bytes
 * than this were written, the oldest frames are dropped from memory and a
 * consumer whose cursor points at a dropped frame reads MOQC_ERR_LAGGED (and
 * keeps reading it). The newest complete frame and an open chunked frame are
 * never dropped, so a reader that keeps up never lags. */
MOQC_API void moqc_group_producer_set_max_bytes(moqc_group_producer *g, size_t max_bytes);
/* Flag the group as a datagram: a hint that its frames are small and a session
 * may send them unreliably instead of on a group stream: lite-05 sends a
 * group complete with one frame as one DATAGRAM (<= 1200 bytes encoded); IETF
 * sessions send a group, once it ended, as one OBJECT_DATAGRAM per frame when
 * each fits the transport's datagram size. Otherwise (too big, no datagrams on
 * the transport, lite-03/04) a group stream. Set it before writing; sessions
 * set it on groups that arrived as datagrams, so a relay forwards them as
 * datagrams too. Read with moqc_group_consumer_is_datagram. */
MOQC_API void moqc_group_producer_set_datagram(moqc_group_producer *g);

/* Waker fired (deferred, on the loop thread) each time the group's last
 * consumer is deleted, and at once if it has none now: whoever fills the
 * group can stop (moqc_session_fetch cancels its FETCH). One per group; it
 * goes with this producer handle (deleting the handle, or fn NULL, clears
 * it). MOQC_OK, or MOQC_ERR_NOMEM (nothing registered). */
MOQC_API int moqc_group_producer_set_unused_waker(moqc_group_producer *g, moqc_waker_fn fn,
                                                  void *arg);
/* True while the group has a consumer (a cache entry is not one). */
MOQC_API bool moqc_group_producer_has_consumers(const moqc_group_producer *g);
/* A new consumer reading from frame 0 (even if it joins late). */
MOQC_API moqc_group_consumer *moqc_group_producer_consume(moqc_group_producer *g);
MOQC_API moqc_group_consumer *moqc_group_consumer_clone(
    const moqc_group_consumer *c); /* same cursor */
MOQC_API void moqc_group_consumer_del(moqc_group_consumer *c);
MOQC_API uint64_t moqc_group_consumer_sequence(const moqc_group_consumer *c);
MOQC_API void moqc_group_consumer_set_waker(moqc_group_consumer *c, moqc_waker_fn fn, void *arg);

/* Read the next complete frame. If the frame arrived in several chunks they
 * are joined into one new buf (one copy); a frame written whole is returned
 * with zero copies. Returns MOQC_OK, MOQC_ERR_AGAIN (not complete yet),
 * MOQC_ERR_CLOSED (group finished, all read), MOQC_ERR_LAGGED, or the abort
 * error. */
MOQC_API int moqc_group_consumer_read_frame(moqc_group_consumer *c, moqc_frame *out);

/* Streaming read, for forwarding without waiting for whole frames:
 * next_frame() moves to the next frame and gives its info (AGAIN if not
 * started yet); then read_chunk() returns its chunks in order (zero-copy
 * references) and MOQC_ERR_CLOSED at the end of that frame. Same errors as
 * read_frame. Don't mix with read_frame in the middle of a frame. */
MOQC_API int moqc_group_consumer_next_frame(moqc_group_consumer *c, moqc_frame_info *info);
MOQC_API int moqc_group_consumer_read_chunk(moqc_group_consumer *c, moqc_slice *out);

/* Status without consuming: complete frames written to the group so far
 * (counting frames already read or dropped by the byte cap), and whether it
 * ended. */
MOQC_API size_t moqc_group_consumer_frames_available(const moqc_group_consumer *c);
/* The wire code the group was aborted with (valid once a read returned an
 * abort error), or MOQC_CODE_CANCEL. */
MOQC_API uint64_t moqc_group_consumer_code(const moqc_group_consumer *c);
/* When the group was created (env clock, ns): sessions use it to expire
 * in-flight groups older than a subscriber's max latency (reset with Old). */
MOQC_API uint64_t moqc_group_consumer_created_ns(const moqc_group_consumer *c);
/* True once the group finished or was aborted (all frames known). */
MOQC_API bool moqc_group_consumer_is_done(const moqc_group_consumer *c);
/* True if the group was flagged a datagram (moqc_group_producer_set_datagram). */
MOQC_API bool moqc_group_consumer_is_datagram(const moqc_group_consumer *c);

/* ==========================================================================
 * Track: groups, delivered in arrival order (out of order allowed), cached.
 * ========================================================================== */

typedef struct moqc_track_info {
  uint8_t priority;        /* publisher priority, higher first (tie-breaker only) */
  bool ordered;            /* publisher's preferred order */
  uint64_t latency_max_ms; /* cache / expiry window; default 5000 */
  uint64_t timescale;      /* timestamp units per second; default 1000; non-zero */
} moqc_track_info;

#define MOQC_TRACK_INFO_DEFAULT ((moqc_track_info){0, false, 5000, 1000})

/* What a subscriber asks for. start/end are absolute group sequences; use
 * MOQC_GROUP_NONE for "latest" (start) or "unbounded" (end). */
#define MOQC_GROUP_NONE UINT64_MAX
typedef struct moqc_subscription {
  uint8_t priority;        /* subscriber priority, higher first */
  bool ordered;            /* true: oldest group first; false: newest first */
  uint64_t latency_max_ms; /* 0 = the track's default */
  uint64_t start;          /* first group (MOQC_GROUP_NONE = the latest) */
  uint64_t end;            /* last group, inclusive (MOQC_GROUP_NONE = unbounded) */
} moqc_subscription;

#define MOQC_SUBSCRIPTION_DEFAULT \
  ((moqc_subscription){0, false, 0, MOQC_GROUP_NONE, MOQC_GROUP_NONE})

typedef struct moqc_track_producer moqc_track_producer;
typedef struct moqc_track_consumer moqc_track_consumer;

/* A standalone track (broadcasts create theirs with create_track). name is
 * copied. info may be NULL for defaults; MOQC_ERR_INVAL cases (timescale 0)
 * return NULL. */
MOQC_API moqc_track_producer *moqc_track_producer_new(moqc_env *env, const char *name,
                                                      const moqc_track_info *info);
MOQC_API moqc_track_producer *moqc_track_producer_clone(moqc_track_producer *t);
/* Deleting the last unfinished producer aborts the track with Dropped. */
MOQC_API void moqc_track_producer_del(moqc_track_producer *t);
MOQC_API const char *moqc_track_producer_name(const moqc_track_producer *t);
MOQC_API const moqc_track_info *moqc_track_producer_info(const moqc_track_producer *t);

/* New group with sequence = (highest sequence so far) + 1, or 0 for the first.
 * NULL on OOM or if the track is closed (finished at or below that sequence,
 * aborted). */
MOQC_API moqc_group_producer *moqc_track_producer_append_group(moqc_track_producer *t);
/* New group with an explicit sequence. MOQC_ERR_DUPLICATE if a group with that
 * sequence is live (cached or being written); an evicted sequence may be
 * created again. MOQC_ERR_STATE if closed, or if the sequence is at or beyond
 * a final sequence set by finish_at. MOQC_ERR_BOUNDS above 2^62-1. */
MOQC_API int moqc_track_producer_create_group(moqc_track_producer *t, uint64_t sequence,
                                              moqc_group_producer **out);
/* Insert a group written elsewhere (shares it by reference; no copy). Same
 * errors as create_group, plus MOQC_ERR_STATE if the group was aborted or
 * belongs to another env. Used by relays to splice sources. The group keeps
 * its creation time (expiry) and is counted once in the env's cache bytes
 * however many tracks hold it. */
MOQC_API int moqc_track_producer_insert_group(moqc_track_producer *t, moqc_group_consumer *g);
/* One-frame group convenience (append_group + write_frame + finish). */
MOQC_API int moqc_track_producer_write_frame(moqc_track_producer *t, const moqc_slice *payload,
                                             uint64_t timestamp);
/* The same, flagged a datagram (moqc_group_producer_set_datagram): sessions
 * send it as one lite-05 DATAGRAM / IETF OBJECT_DATAGRAM when the transport
 * has datagrams and it fits, else as an ordinary group stream. */
MOQC_API int moqc_track_producer_write_datagram(moqc_track_producer *t, const moqc_slice *payload,
                                                uint64_t timestamp);
/* Clean end: the final (exclusive) sequence becomes highest+1. Lower-numbered
 * groups may still be created (groups arrive out of order). Idempotent (keeps
 * a final already set). MOQC_ERR_STATE if aborted.
 *
 * When a finished track is complete (consumers read MOQC_ERR_CLOSED): groups
 * arrive out of order, so a sequence is *awaited* if it lies between the
 * track's first group and the final and has not arrived yet: a group arriving
 * above highest+1 makes the sequences it skipped awaited, and
 * finish_at(final) makes [highest+1, final) awaited (from 0 if the track has
 * no group). Sequences below the track's first group are never awaited, nor
 * is a run of more than 64 consecutive sequences skipped at once (that is a
 * discontinuity -- a publisher restarting at a new sequence, a relay taking
 * over from a new source -- not groups in flight). A consumer reads CLOSED
 * once it received every group that arrived (at or above its start, and not
 * expired / evicted before it got there) and no sequence at or above its
 * start is awaited. An awaited sequence is given up -- as if it had arrived
 * and expired -- once the track's latency_max_ms has passed since it became
 * awaited (a timer wakes the consumers; with latency_max_ms 0 nothing is
 * ever awaited), when more than 64 separate runs are awaited (the lowest
 * first), by moqc_track_producer_complete, or when the last producer is
 * deleted (nothing more can arrive). A given-up group that arrives anyway is
 * still delivered to consumers that did not read CLOSED yet. */
MOQC_API int moqc_track_producer_finish(moqc_track_producer *t);
/* Clean end at an explicit exclusive final sequence. MOQC_ERR_INVAL if it is
 * not above the highest sequence so far, MOQC_ERR_STATE if aborted or a
 * different final is already set. The sequences from highest+1 to the final
 * are awaited (see finish): consumers read MOQC_ERR_CLOSED once they arrived
 * (or are given up, or the last producer is deleted). */
MOQC_API int moqc_track_producer_finish_at(moqc_track_producer *t, uint64_t final_exclusive);
/* Nothing more will arrive: finish (if no final is set yet) and give up every
 * awaited sequence, so consumers read MOQC_ERR_CLOSED as soon as they read
 * what did arrive. For a producer that learns the end in two steps -- e.g. a
 * lite-05 subscriber: SUBSCRIBE_END gives the final while groups may still be
 * in flight (finish_at), the subscribe stream's FIN says they all arrived
 * (complete). MOQC_ERR_STATE if aborted (or a pending request). */
MOQC_API int moqc_track_producer_complete(moqc_track_producer *t);
/* Abort: the cache is dropped, groups this track created that are still open
 * are aborted with the same code, consumers read moqc_err_from_code(code).
 * Finished groups a consumer already received stay readable. */
MOQC_API void moqc_track_producer_abort(moqc_track_producer *t, uint64_t code);
/* Replaced by a new source: abort with MOQC_CODE_DROPPED and end reason
 * MOQC_END_REPLACED (see moqc_end_reason). For a producer that learns its
 * track was superseded (a relay whose path was taken over, a subscriber
 * session whose broadcast was re-announced by another publisher). No-op once
 * aborted; a finished track is aborted like by _abort. */
MOQC_API void moqc_track_producer_replace(moqc_track_producer *t);
/* Highest sequence so far (MOQC_GROUP_NONE if none). */
MOQC_API uint64_t moqc_track_producer_latest(const moqc_track_producer *t);

/* The aggregate of all live subscriptions, visible to the producer: highest
 * priority, ordered if any consumer is ordered, max latency_max (raw: 0 means
 * "the track's default"), minimum start, maximum end (MOQC_GROUP_NONE counts as
 * the highest value for both, so start is NONE only if every consumer asked
 * for the latest, and end is NONE if any consumer is unbounded); `consumers`
 * counts live consumers. With none: {0, {0, false, 0, NONE, NONE}}. */
typedef struct moqc_track_demand {
  size_t consumers;
  moqc_subscription aggregate;
} moqc_track_demand;
MOQC_API moqc_track_demand moqc_track_producer_demand(const moqc_track_producer *t);
/* Waker fired (deferred) when the demand changes (a consumer comes, goes, or
 * updates its subscription). */
MOQC_API void moqc_track_producer_set_waker(moqc_track_producer *t, moqc_waker_fn fn, void *arg);

/* Subscribe. sub may be NULL for MOQC_SUBSCRIPTION_DEFAULT. The consumer
 * receives cached groups with sequence >= start (start = the latest group
 * when unspecified), then new groups as they arrive, in arrival order.
 * An unspecified start is resolved once, here: the highest cached sequence
 * (0 if the track is empty). Groups below the start are never delivered,
 * including ones that arrive later. */
MOQC_API moqc_track_consumer *moqc_track_producer_consume(moqc_track_producer *t,
                                                          const moqc_subscription *sub);
MOQC_API moqc_track_consumer *moqc_track_consumer_clone(const moqc_track_consumer *c);
MOQC_API void moqc_track_consumer_del(moqc_track_consumer *c);
MOQC_API const char *moqc_track_consumer_name(const moqc_track_consumer *c);
MOQC_API const moqc_track_info *moqc_track_consumer_info(const moqc_track_consumer *c);
/* False while the info above is a placeholder (defaults): the track is an
 * on-demand request not accepted yet, or an origin front track whose source
 * has not described it yet. It becomes true (and the consumer's waker is
 * scheduled) as soon as the info is known, before any group. */
MOQC_API bool moqc_track_consumer_info_known(const moqc_track_consumer *c);
MOQC_API void moqc_track_consumer_set_waker(moqc_track_consumer *c, moqc_waker_fn fn, void *arg);
/* Change the subscription (priority, order, latency, start/end). A start other
 * than MOQC_GROUP_NONE replaces the resolved start (the arrival cursor is not
 * rewound: groups already passed are not offered again); raising end releases
 * held-back groups. MOQC_ERR_CLOSED if the track was aborted. */
MOQC_API int moqc_track_consumer_update(moqc_track_consumer *c, const moqc_subscription *sub);
MOQC_API const moqc_subscription *moqc_track_consumer_subscription(const moqc_track_consumer *c);

/* Next group in arrival order. *out is a new group consumer (caller owns).
 * Returns MOQC_OK, MOQC_ERR_AGAIN, MOQC_ERR_CLOSED (finished and every group
 * from the start up to the final sequence delivered or given up: see
 * moqc_track_producer_finish), or the abort error (Dropped when the last
 * producer vanished without finishing). Groups above `end` are held back
 * until the subscription's end is raised (a held-back group also keeps
 * CLOSED away). Groups that expired (older than latency_max) or were evicted
 * before this consumer reached them are skipped. */
MOQC_API int moqc_track_consumer_recv_group(moqc_track_consumer *c, moqc_group_consumer **out);
/* Fetch one group by sequence from the cache: a new group consumer reading
 * from frame 0, or MOQC_ERR_NOT_FOUND. On a track of an origin front
 * (moqc_origin_request) a miss falls through to the current source's track
 * cache (recursively through chained origins), so a group cached upstream
 * before the front track existed can be fetched; while the source is
 * lingering there is nothing to fall through to. */
MOQC_API int moqc_track_consumer_fetch_group(moqc_track_consumer *c, uint64_t sequence,
                                             moqc_group_consumer **out);
MOQC_API uint64_t moqc_track_consumer_latest(const moqc_track_consumer *c);
/* Final exclusive sequence once known (finish), else MOQC_GROUP_NONE. */
MOQC_API uint64_t moqc_track_consumer_final(const moqc_track_consumer *c);
MOQC_API uint64_t moqc_track_consumer_code(const moqc_track_consumer *c);
/* Why the track ended (moqc_end_reason): FINISHED once a final sequence is
 * known (consumers may still have groups to read before CLOSED), ABORTED or
 * REPLACED once aborted, NONE while live. Read it after a read returned
 * CLOSED or an abort error. */
MOQC_API moqc_end_reason moqc_track_consumer_end_reason(const moqc_track_consumer *c);

/* ---- cross-thread publishing --------------------------------------------- */

/* A thread-safe front for one track producer, for publishing from an
 * application thread (an encoder, say) while the track lives on the loop
 * thread. Commands are queued under a mutex and applied by moqc_env_run() on
 * the loop thread (the env's notify function is called to wake the loop).
 * Frames are copied once into a moqc_buf on the calling thread (or wrapped
 * zero-copy with write_frame_wrap), so the allocator installed with
 * moqc_set_mem must be thread-safe when proxies are used.
 * The ANY THREAD calls return MOQC_OK (queued), MOQC_ERR_NOMEM, MOQC_ERR_INVAL,
 * or the sticky error of an earlier command that failed on the loop thread
 * (MOQC_ERR_STATE once the track is closed). Calls on one proxy must not race
 * each other (one writer thread per proxy). */
typedef struct moqc_track_proxy moqc_track_proxy;
/* LOOP THREAD: create a proxy for t (takes a producer clone). */
MOQC_API moqc_track_proxy *moqc_track_proxy_new(moqc_track_producer *t);
/* ANY THREAD: finish the current group; the next frame starts a new one
 * (sequence = latest+1). */
MOQC_API int moqc_track_proxy_new_group(moqc_track_proxy *p);
/* ANY THREAD: append a frame to the current group (starting one if none). */
MOQC_API int moqc_track_proxy_write_frame(moqc_track_proxy *p, const void *data, size_t len,
                                          uint64_t timestamp);
/* ANY THREAD: as above, adopting caller memory; release(ctx,data,len) runs on
 * the loop thread when the last reference goes. On an error return release is
 * not called and the caller keeps the memory. */
MOQC_API int moqc_track_proxy_write_frame_wrap(moqc_track_proxy *p, const void *data, size_t len,
                                               uint64_t timestamp, moqc_buf_release_fn release,
                                               void *ctx);
/* ANY THREAD: finish the current group / the track. */
MOQC_API int moqc_track_proxy_finish_group(moqc_track_proxy *p);
MOQC_API int moqc_track_proxy_finish(moqc_track_proxy *p);
/* ANY THREAD: drop the proxy; pending commands still apply, the current group
 * is finished, then the producer clone is released on the loop thread (if it
 * was the last producer of an unfinished track, the track is Dropped). */
MOQC_API void moqc_track_proxy_del(moqc_track_proxy *p);

/* ==========================================================================
 * Broadcast: a set of tracks from one publisher.
 * ========================================================================== */

typedef struct moqc_broadcast_producer moqc_broadcast_producer;
typedef struct moqc_broadcast_consumer moqc_broadcast_consumer;

MOQC_API moqc_broadcast_producer *moqc_broadcast_producer_new(moqc_env *env);
MOQC_API moqc_broadcast_producer *moqc_broadcast_producer_clone(moqc_broadcast_producer *b);
/* Deleting the last unfinished producer aborts the broadcast (Dropped) and
 * every track it created that is still open. */
MOQC_API void moqc_broadcast_producer_del(moqc_broadcast_producer *b);
/* Create a track. NULL with *err = MOQC_ERR_DUPLICATE if the name is live
 * (a track of that name still has a producer and is not aborted; a finished
 * track stays live -- and subscribable -- until its last producer goes),
 * MOQC_ERR_STATE if the broadcast ended, MOQC_ERR_INVAL (timescale 0). If a
 * subscriber's request for that name is pending, the new track is that one:
 * the waiting consumers are attached and the queued request is dropped. */
MOQC_API moqc_track_producer *moqc_broadcast_producer_create_track(moqc_broadcast_producer *b,
                                                                   const char *name,
                                                                   const moqc_track_info *info,
                                                                   int *err);
/* Clean end (announce "ended"); open tracks are left to finish on their own. */
MOQC_API int moqc_broadcast_producer_finish(moqc_broadcast_producer *b);
MOQC_API void moqc_broadcast_producer_abort(moqc_broadcast_producer *b, uint64_t code);
/* Replaced by a new source: abort with MOQC_CODE_DROPPED, end reason
 * MOQC_END_REPLACED for the broadcast and every track still open (finished
 * tracks flow on to their end). No-op once the broadcast ended. */
MOQC_API void moqc_broadcast_producer_replace(moqc_broadcast_producer *b);

/* On-demand tracks. A consumer subscribing to an unknown track name creates a
 * request; the producer takes it with next_request() (waker fires when one is
 * pending) and either accepts it (a track producer is created and the waiting
 * consumer is attached) or rejects it with a code (the consumer's track reads
 * moqc_err_from_code(code)). Without any request handling enabled, unknown
 * names fail immediately with MOQC_ERR_NOT_FOUND. */
typedef struct moqc_track_request moqc_track_request;
MOQC_API void moqc_broadcast_producer_enable_requests(moqc_broadcast_producer *b, bool on);
MOQC_API void moqc_broadcast_producer_set_waker(moqc_broadcast_producer *b, moqc_waker_fn fn,
                                                void *arg);
/* MOQC_OK with *out, MOQC_ERR_AGAIN, or MOQC_ERR_CLOSED. A request taken here
 * belongs to the caller, who must accept or reject it (requests still queued
 * when the broadcast finishes are rejected with NotFound, when it aborts with
 * its code). Several subscribers of one name share one request. */
MOQC_API int moqc_broadcast_producer_next_request(moqc_broadcast_producer *b,
                                                  moqc_track_request **out);
MOQC_API const char *moqc_track_request_name(const moqc_track_request *r);
/* Accept: returns the new track producer (and frees the request). info may be
 * NULL (defaults). NULL on OOM, in which case the request stays valid. If the
 * broadcast aborted meanwhile, the returned producer's track is aborted. */
MOQC_API moqc_track_producer *moqc_track_request_accept(moqc_track_request *r,
                                                        const moqc_track_info *info);
/* Reject with a wire code (frees the request). */
MOQC_API void moqc_track_request_reject(moqc_track_request *r, uint64_t code);

MOQC_API moqc_broadcast_consumer *moqc_broadcast_producer_consume(moqc_broadcast_producer *b);
MOQC_API moqc_broadcast_consumer *moqc_broadcast_consumer_clone(const moqc_broadcast_consumer *c);
MOQC_API void moqc_broadcast_consumer_del(moqc_broadcast_consumer *c);
/* Subscribe to a track by name. NULL with *err set: MOQC_ERR_NOT_FOUND (no
 * such track and requests disabled), the broadcast's abort error, or
 * MOQC_ERR_CLOSED. With requests enabled an unknown name returns a consumer
 * that reads MOQC_ERR_AGAIN until the producer accepts or rejects. */
MOQC_API moqc_track_consumer *moqc_broadcast_consumer_subscribe(moqc_broadcast_consumer *c,
                                                                const char *name,
                                                                const moqc_subscription *sub,
                                                                int *err);
/* Track info without subscribing. A query adds nothing to the track's demand
 * (it is not a consumer), so a publisher acting on demand -- or a relay that
 * subscribes upstream on demand -- does not start sending for it; answering
 * a lite-05 TRACK with TRACK_INFO is the use. The name is resolved like
 * subscribe: NULL with *err = MOQC_ERR_NOT_FOUND (no such track, requests
 * disabled), MOQC_ERR_CLOSED / the abort error (broadcast ended),
 * MOQC_ERR_INVAL, MOQC_ERR_NOMEM. An unknown name with requests enabled
 * creates (or joins) the on-demand request, exactly as a subscriber would;
 * on an origin front it asks the current source, without subscribing. */
typedef struct moqc_track_info_query moqc_track_info_query;
MOQC_API moqc_track_info_query *moqc_broadcast_consumer_query_info(moqc_broadcast_consumer *c,
                                                                   const char *name, int *err);
/* MOQC_OK with *out (out may be NULL) once the info is known -- and from then
 * on, even if the track ends later; MOQC_ERR_AGAIN while it is not (a pending
 * request, a front track whose source has not answered); the track's abort
 * error if it ended before (a rejected request: the code from _code());
 * MOQC_ERR_CLOSED if it finished without its info ever being known (e.g. an
 * origin path unpublished meanwhile). */
MOQC_API int moqc_track_info_query_get(moqc_track_info_query *q, moqc_track_info *out);
/* The abort code once _get returned an abort error, else MOQC_CODE_CANCEL. */
MOQC_API uint64_t moqc_track_info_query_code(const moqc_track_info_query *q);
MOQC_API const char *moqc_track_info_query_name(const moqc_track_info_query *q);
/* Edge-triggered like a consumer's waker: scheduled once _get may return
 * something other than AGAIN after it returned AGAIN (and once at once if it
 * already would). */
MOQC_API void moqc_track_info_query_set_waker(moqc_track_info_query *q, moqc_waker_fn fn,
                                              void *arg);
MOQC_API void moqc_track_info_query_del(moqc_track_info_query *q);

/* MOQC_OK while live, MOQC_ERR_CLOSED after finish, or the abort error. Its
 * waker fires when that changes. */
MOQC_API int moqc_broadcast_consumer_status(const moqc_broadcast_consumer *c);
MOQC_API void moqc_broadcast_consumer_set_waker(moqc_broadcast_consumer *c, moqc_waker_fn fn,
                                                void *arg);
MOQC_API uint64_t moqc_broadcast_consumer_code(const moqc_broadcast_consumer *c);
/* Why the broadcast ended (moqc_end_reason); NONE while live. */
MOQC_API moqc_end_reason moqc_broadcast_consumer_end_reason(const moqc_broadcast_consumer *c);

/* ==========================================================================
 * Origin: broadcasts by path, from one or more sources.
 * ========================================================================== */

typedef struct moqc_origin moqc_origin;
typedef struct moqc_origin_consumer moqc_origin_consumer;

#define MOQC_ORIGIN_MAX_HOPS 32
#define MOQC_ORIGIN_ID_MAX ((uint64_t)1 << 53) /* ids stay below 2^53 (JS numbers) */

typedef struct moqc_origin_config {
  uint64_t id;        /* this origin's hop id (0 = random, 1 .. 2^53-1) */
  uint64_t linger_ns; /* keep an abruptly dropped source this long (default 0) */
} moqc_origin_config;

/* Route of a published broadcast: the chain of origin ids it came through
 * (oldest first), for loop prevention, and its cost (the price of pulling it
 * this way: 0 for a local publisher; moq-lite <= 05 carries no cost, so a
 * session stamps the link's price, 1 when unpriced, see
 * moqc_origin_with_link_cost). */
typedef struct moqc_route {
  uint64_t hops[MOQC_ORIGIN_MAX_HOPS];
  size_t n_hops;
  uint64_t cost;
} moqc_route;

/* Route selection, as moq-relay's origin does it (rs/moq-net model/origin.rs),
 * so every node of a cluster converges on the same route: lower cost first,
 * then fewer hops, then the deterministic tie-break below (lower wins).
 * Returns <0 if a is better than b, >0 if b is better, 0 if they are equal.
 * path is the broadcast's absolute, normalised path. */
MOQC_API int moqc_route_compare(const char *path, const moqc_route *a, const moqc_route *b);
/* The tie-break key: FNV-1a-64 with moq-relay's seed 0x420C0DECB00B over the
 * path's bytes, then each hop id as 8 little-endian bytes. Build-stable. */
MOQC_API uint64_t moqc_route_tiebreak(const char *path, const moqc_route *r);
/* True if r's hop list contains id (id 0 never matches). */
MOQC_API bool moqc_route_has(const moqc_route *r, uint64_t id);

/* cfg may be NULL (random id, no linger). NULL on OOM or id >= MOQC_ORIGIN_ID_MAX. */
MOQC_API moqc_origin *moqc_origin_new(moqc_env *env, const moqc_origin_config *cfg);
/* Refcounted: an origin is shared by the sessions that publish into it. */
MOQC_API moqc_origin *moqc_origin_ref(moqc_origin *o);
MOQC_API void moqc_origin_unref(moqc_origin *o);
MOQC_API uint64_t moqc_origin_id(const moqc_origin *o);

/* Publish broadcast bc at path (normalised; copied). The origin keeps its own
 * consumer clone and watches it.
 *
 * A path has one or more sources. The first hop of a route (the original
 * publisher) is the content's identity: a publish with the same first hop as the path's current source
 * joins as another source of the same content (a relay hearing it from two
 * peers), and the best route (moqc_route_compare) is served; a publish with a
 * different or unknown first hop (0, or no hops: a route-less local
 * publish) replaces every source: consumers see
 * "ended" then "active", and fronts of the old one end with
 * MOQC_END_REPLACED (see moqc_origin_consumer_request). Publishing bc again
 * (the same broadcast) updates its route. When the served source changes, front subscribers are re-attached to
 * the new one without seeing an end (one upstream subscription per track,
 * always to the served source), and, if the served route changed, consumers
 * see "active" again with restart set.
 *
 * When a source finishes it is dropped; when it is aborted/dropped it is
 * dropped too, and when it was the last one the path is kept for linger_ns
 * (after a finish it is unannounced at once). A new publish of the path in
 * that window takes over seamlessly whatever its first hop (existing track
 * subscribers are re-attached to the new source without seeing an end).
 * route may be NULL (local, no hops, cost 0); it is stored as given, except
 * for the link cost of a view made by moqc_origin_with_link_cost (the origin
 * does not append its own id). Errors: MOQC_ERR_BOUNDS (path too long /
 * too many hops), MOQC_ERR_INVAL, MOQC_ERR_UNAUTHORIZED (outside a scoped
 * view), or bc's own end (MOQC_ERR_CLOSED / abort error) if it already ended.
 * The origin reacts to bc's end from its waker, i.e. at the next
 * moqc_env_run(). With linger_ns 0 an abort unannounces at once and front
 * subscribers' tracks end with the source's abort code. */
MOQC_API int moqc_origin_publish(moqc_origin *o, const char *path, moqc_broadcast_consumer *bc,
                                 const moqc_route *route);
/* Withdraw whatever is published at path (clean "ended"), also a lingering
 * one. NOT_FOUND if none. */
MOQC_API int moqc_origin_unpublish(moqc_origin *o, const char *path);

/* Consume broadcasts under prefix ("" = everything). The consumer first
 * reports every path already active, then changes as they happen. */
MOQC_API moqc_origin_consumer *moqc_origin_consume(moqc_origin *o, const char *prefix);
MOQC_API void moqc_origin_consumer_del(moqc_origin_consumer *c);
MOQC_API void moqc_origin_consumer_set_waker(moqc_origin_consumer *c, moqc_waker_fn fn, void *arg);

typedef struct moqc_announce {
  const char *path;        /* full path (borrowed until the next call on the consumer) */
  bool active;             /* true: announced; false: ended */
  const moqc_route *route; /* the route it arrived by (borrowed); NULL when ended */
  bool restart;            /* active again: still announced, its route changed */
} moqc_announce;

/* Next announcement. MOQC_OK, MOQC_ERR_AGAIN, or MOQC_ERR_CLOSED (the last
 * view of the origin was unref'd). A path alternates active/ended, except that
 * an active path may report "active" again with restart set (its served route
 * changed; counters must skip those). An "active" followed by "ended" before
 * the consumer read either is dropped (the consumer never hears of it), and
 * queued restarts of a path collapse into one, which bounds the queue per path. */
MOQC_API int moqc_origin_consumer_next(moqc_origin_consumer *c, moqc_announce *out);

/* Request the broadcast at path (must be inside the consumer's prefix/scope).
 * Returns a broadcast consumer that stays valid across a seamless source
 * takeover. NULL with *err = MOQC_ERR_UNROUTABLE when not announced (a
 * lingering path is still announced).
 * The consumer is a "front": its tracks are fed from the current source by
 * reference (no payload copy). When the path is unpublished, the front's
 * status becomes MOQC_ERR_CLOSED and its tracks finish cleanly where they
 * are; when a different publisher replaces the source (moqc_origin_publish),
 * the front and its tracks not finished yet are aborted with Dropped and end
 * reason MOQC_END_REPLACED (a new request gets the new broadcast); when the
 * source finishes, status CLOSED and the
 * tracks flow on to their own end; when a linger expires, status and tracks
 * end with MOQC_ERR_DROPPED. Subscribers' demand is forwarded to the source,
 * and deleting a front track's last consumer drops the upstream subscription
 * at once. A front track's info is the source track's, known as soon as the
 * source knows it (moqc_track_consumer_info_known); info queries on the front
 * ask the source without subscribing; fetch_group falls through to the
 * source's cache. */
MOQC_API moqc_broadcast_consumer *moqc_origin_consumer_request(moqc_origin_consumer *c,
                                                               const char *path, int *err);
/* Same, directly on the origin. */
MOQC_API moqc_broadcast_consumer *moqc_origin_request(moqc_origin *o, const char *path, int *err);

/* Scope: a view of the origin limited to a set of prefixes (copied; a consumer
 * of the view only sees paths under one of them, and requests outside them are
 * MOQC_ERR_UNAUTHORIZED from moqc_origin_request), and re-rooted: with root "a/b", the view's path "x"
 * is the origin's "a/b/x" (publish, consume and request all translate). A view
 * is itself a moqc_origin (unref it when done); it shares the parent's state. */
MOQC_API moqc_origin *moqc_origin_scope(moqc_origin *o, const char *const *prefixes, size_t n);
MOQC_API moqc_origin *moqc_origin_with_root(moqc_origin *o, const char *root);
/* ---- accounts (per-tenant quotas) --------------------------------------------
 *
 * An account groups what one tenant (a relay's token root) holds in an env:
 * the bytes its groups occupy in track caches and the broadcasts published
 * through views bound to it (moqc_origin_with_account). Each may be capped:
 *
 * - max_cache_bytes: when the account's cached bytes go over it, the account's
 *   own oldest evictable groups (never a track's live edge) leave the caches,
 *   so a tenant that floods only evicts itself. A group is charged to the
 *   account of the first track that cached it (a relay's front track caches
 *   the same group by reference and is not charged twice).
 * - max_broadcasts: a publish through a bound view beyond it fails with
 *   MOQC_ERR_BOUNDS (counted in refused_broadcasts).
 *
 * The env's budget (moqc_env_set_cache_budget) stays global but is fair: when
 * it is exceeded, groups are evicted from the pool (an account, or the groups
 * charged to no account) holding the most cached bytes first.
 *
 * Tracks of a broadcast published through a bound view (its source) are
 * charged to the account, also tracks created later. Accounts are refcounted
 * (the views, sources, tracks and cached groups charged to it hold
 * references); all on the env's thread; the env must outlive them. */
typedef struct moqc_account moqc_account;

typedef struct moqc_account_limits {
  size_t max_cache_bytes; /* 0 = no cap of its own (the env budget still applies) */
  size_t max_broadcasts;  /* 0 = no cap */
} moqc_account_limits;

typedef struct moqc_account_stats {
  size_t cache_bytes;          /* what its cached groups cost now (as moqc_env_cache_bytes) */
  size_t broadcasts;           /* sources published through its views now */
  uint64_t evicted_cap;        /* groups evicted by max_cache_bytes */
  uint64_t evicted_budget;     /* groups evicted by the env budget */
  uint64_t refused_broadcasts; /* publishes refused by max_broadcasts */
} moqc_account_stats;

/* lim may be NULL (no caps). NULL on OOM. */
MOQC_API moqc_account *moqc_account_new(moqc_env *env, const moqc_account_limits *lim);
MOQC_API moqc_account *moqc_account_ref(moqc_account *a);
MOQC_API void moqc_account_unref(moqc_account *a);
/* Change the caps; a lower max_cache_bytes is enforced at once. */
MOQC_API void moqc_account_set_limits(moqc_account *a, const moqc_account_limits *lim);
MOQC_API moqc_account_stats moqc_account_get_stats(const moqc_account *a);
/* Groups the env evicted to stay within its budget / within an account's
 * max_cache_bytes, since it was created (either pointer may be NULL). */
MOQC_API void moqc_env_cache_evictions(const moqc_env *env, uint64_t *by_budget,
                                       uint64_t *by_account);
/* A view (as moqc_origin_scope with no narrowing) whose publishes are charged
 * to a (referenced by the view): the broadcast count and max_broadcasts, and
 * the cache bytes of the published broadcasts' tracks. Views derived from it
 * keep the account. NULL on OOM. */
MOQC_API moqc_origin *moqc_origin_with_account(moqc_origin *o, moqc_account *a);

/* A view (as moqc_origin_scope with no narrowing) that stamps cost on the
 * route of everything published through it (a route-less local publish
 * included): the price of the link a session's announcements arrive over
 * (moq-relay's ?cost=N). Views derived from it keep the cost. NULL on OOM. */
MOQC_API moqc_origin *moqc_origin_with_link_cost(moqc_origin *o, uint64_t cost);

#ifdef __cplusplus
}
#endif
#endif
