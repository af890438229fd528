/* moqc model — shared state objects and internal functions (not public API).
 *
 * Every public handle (moqc_group_producer, moqc_track_consumer, ...) is a
 * small struct pointing at one shared, refcounted state object:
 *
 *   moqc_gstate   one group: a ring of frames (each a list of chunk slices)
 *   moqc_tstate   one track: its cache (moqc_centry array in arrival order),
 *                 consumers, open groups, demand waker, expiry timer
 *   moqc_bstate   one broadcast: its live tracks (weak list), requests
 *
 * Refcounts are plain integers (one env = one thread). Ownership points down:
 * a cache entry holds a gstate reference, a consumer holds a reference on the
 * state it reads; "up" links (gstate->owner, tstate->bcast) are weak pointers
 * that the upper object clears when it goes away. See docs/memory.md.
 */
#ifndef MOQC_MODEL_INTERNAL_H
#define MOQC_MODEL_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/list.h"
#include "moqc/clock.h"
#include "moqc/model.h"

/* ---- waiters: one per consumer (or producer-side waker) ------------------ */

/* A registration on the env's ready list. `want` is set when the owner
 * returned MOQC_ERR_AGAIN (and initially): moqc_waiter_wake only schedules
 * wanting waiters, which is what makes wakeups edge-triggered; moqc_waiter_kick
 * schedules regardless (producer-side wakers, status changes). */
typedef struct moqc_waiter {
  moqc_link link; /* in env->ready / env->running while scheduled */
  moqc_env *env;
  moqc_waker_fn fn;
  void *arg;
  bool want;
} moqc_waiter;

void moqc_waiter_init(moqc_waiter *w, moqc_env *env);
/* Install fn/arg; schedule it once now if ready_now. fn NULL unregisters. */
void moqc_waiter_set(moqc_waiter *w, moqc_waker_fn fn, void *arg, bool ready_now);
void moqc_waiter_wake(moqc_waiter *w);
void moqc_waiter_kick(moqc_waiter *w);
void moqc_waiter_fini(moqc_waiter *w);
static inline void moqc_waiter_park(moqc_waiter *w) { w->want = true; }

/* ---- cross-thread commands (proxy) ---------------------------------------- */

typedef struct moqc_cmd {
  struct moqc_cmd *next;
  moqc_track_proxy *p;
  int kind;
  moqc_buf *buf; /* FRAME: one reference, transferred to the loop thread */
  uint64_t ts;
} moqc_cmd;

/* ANY THREAD: append cmd to the env's queue and notify the driver. */
void moqc_env_post(moqc_env *env, moqc_cmd *cmd);
/* LOOP THREAD: apply one command and free it (proxy.c). */
void moqc_proxy_apply(moqc_cmd *cmd);

/* ---- env -------------------------------------------------------------------- */

struct moqc_env {
  moqc_clock *clock;
  moqc_link ready;   /* waiters scheduled for the next round */
  moqc_link running; /* the round being run */
  bool in_run;
  void (*notify)(void *ctx);
  void *notify_ctx;
  /* cache accounting across every track of the env */
  size_t cache_budget;
  size_t cache_bytes;           /* charged: payload + overheads (moqc_gstate_cost) */
  size_t cache_group_overhead;  /* charged per cached group (MOQC_CACHE_GROUP_OVERHEAD) */
  size_t cache_frame_overhead;  /* charged per frame of a cached group (..._FRAME_...) */
  uint64_t cache_window_max_ms; /* clamp of every track's cache window; 0 = none */
  moqc_link lru;                /* moqc_centry.lru: evictable entries of groups charged to no
                    account (no live edges), oldest first */
  size_t dflt_bytes;            /* cached bytes charged to no account */
  moqc_link accounts;           /* moqc_account.node */
  uint64_t evicted_budget;      /* groups evicted by cache_budget */
  uint64_t evicted_account;     /* groups evicted by an account's max_cache_bytes */
  bool evicting;
  /* proxy command queue (the only state touched by other threads) */
  pthread_mutex_t mu;
  moqc_cmd *cmd_head;
  moqc_cmd **cmd_tail;
};

/* Evict non-latest cached groups until under budget, oldest first from the
 * pool (account or unaccounted) holding the most bytes (account.c). */
void moqc_env_enforce_budget(moqc_env *env);

/* ---- accounts (account.c) ---------------------------------------------------- */

struct moqc_account {
  moqc_env *env;
  uint32_t refs;
  moqc_account_limits lim;
  size_t cache_bytes;
  size_t broadcasts;
  moqc_link lru;  /* moqc_centry.lru of groups charged to it, as env->lru */
  moqc_link node; /* env->accounts */
  uint64_t evicted_cap, evicted_budget, refused_broadcasts;
};

/* Over its max_cache_bytes: evict its oldest evictable groups. */
void moqc_account_enforce(moqc_account *a);

/* ---- group ------------------------------------------------------------------ */

typedef struct moqc_gframe {
  moqc_frame_info info;
  uint64_t written; /* bytes of chunks appended so far */
  moqc_slice first; /* first chunk (most frames have exactly one) */
  moqc_slice *more; /* further chunks */
  uint32_t nmore, capmore;
  bool complete;
} moqc_gframe;

typedef struct moqc_tstate moqc_tstate;

typedef struct moqc_gstate {
  moqc_env *env;
  uint32_t refs;      /* handles + frame producers + cache entries + parked */
  uint32_t producers; /* live moqc_group_producer handles */
  uint64_t sequence;
  uint64_t created_ns;
  /* frames: ring of `cap` (power of two); ring[head] is absolute index `offset` */
  moqc_gframe *ring;
  size_t cap, head, count, offset;
  size_t bytes;     /* payload bytes held by the ring */
  size_t max_bytes; /* byte cap */
  bool frame_open, finished, aborted;
  bool datagram; /* flagged: a one-frame group a session may send as a datagram */
  uint64_t code;
  moqc_link consumers; /* moqc_group_consumer.node */
  moqc_link entries;   /* moqc_centry.gnode: caches holding this group */
  moqc_account *acct;  /* charged to (one reference) while cached; NULL: none */
  size_t charged;      /* what the pool was charged for it (0 while not cached) */
  moqc_tstate *owner;  /* weak: track that created it, while open */
  moqc_link owner_node;
  struct moqc_gunused *unused; /* moqc_group_producer_set_unused_waker, or NULL */
} moqc_gstate;

/* An unused waker (allocated only when set: most groups have none): kicked
 * when the group's last consumer is deleted; it goes with the producer handle
 * that set it. */
typedef struct moqc_gunused {
  moqc_waiter w;
  const moqc_group_producer *owner;
} moqc_gunused;

moqc_gstate *moqc_gstate_new(moqc_env *env, uint64_t sequence);
void moqc_gstate_ref(moqc_gstate *g);
void moqc_gstate_unref(moqc_gstate *g);
void moqc_gstate_abort(moqc_gstate *g, uint64_t code);
/* New handles on g (NULL on OOM). */
moqc_group_producer *moqc_gstate_produce(moqc_gstate *g);
moqc_group_consumer *moqc_gstate_consume(moqc_gstate *g);
moqc_gstate *moqc_group_consumer_state(const moqc_group_consumer *c);
moqc_gstate *moqc_group_producer_state(const moqc_group_producer *p);
/* Frame records (frame.c) and group internals shared with it. */
moqc_gframe *moqc_gstate_frame(moqc_gstate *g, size_t abs_index);
size_t moqc_gframe_nchunks(const moqc_gframe *f);
const moqc_slice *moqc_gframe_chunk(const moqc_gframe *f, size_t i);
void moqc_gframe_release(moqc_gframe *f);
int moqc_gframe_push(moqc_gframe *f, const moqc_slice *chunk);
moqc_gframe *moqc_gstate_push_frame(moqc_gstate *g, const moqc_frame_info *info);
void moqc_gstate_add_bytes(moqc_gstate *g, size_t n);
void moqc_gstate_trim(moqc_gstate *g);
int moqc_gstate_writable(const moqc_gstate *g);
void moqc_gstate_wake(moqc_gstate *g);
/* What a cached g costs: its payload bytes plus the env's per-group and
 * per-frame overheads (the records and allocator headers behind them). */
size_t moqc_gstate_cost(const moqc_gstate *g);
/* Cache bookkeeping hook: g's bytes or frame count changed. If g is cached,
 * its pool is charged the difference to moqc_gstate_cost (g->charged), and
 * the budget and its account's cap are enforced when it grew. */
void moqc_gstate_recharge(moqc_gstate *g);
static inline bool moqc_gstate_done(const moqc_gstate *g) { return g->finished || g->aborted; }

/* ---- track cache ------------------------------------------------------------ */

typedef struct moqc_centry {
  moqc_gstate *g; /* one reference */
  moqc_tstate *t; /* the cache it belongs to */
  uint64_t arrival;
  moqc_link lru;   /* env->lru, unlinked while the entry is its track's live edge */
  moqc_link gnode; /* g->entries */
} moqc_centry;

typedef struct moqc_bstate moqc_bstate;

/* Sequences a track is still waiting for (gaps.c): a run of sequences that a
 * higher group skipped over (or that lie between the live edge and a final
 * set by finish_at). Given up at deadline_ns (when it became known + the
 * track's latency_max) or when more than MOQC_TRACK_MAX_GAPS are open. */
typedef struct moqc_tgap {
  uint64_t lo, hi; /* inclusive */
  uint64_t deadline_ns;
} moqc_tgap;
#define MOQC_TRACK_MAX_GAPS 64
#define MOQC_TRACK_MAX_GAP_RUN 64 /* a longer run is a discontinuity: never opened */

/* Internal hooks on a track (origin forwarders), all with one ctx. */
typedef struct moqc_track_hooks {
  /* The last consumer went (nconsumers == 0; queries may remain), or the last
   * info query went while there is no consumer. Synchronous. */
  void (*unused)(void *ctx);
  /* The first consumer arrived through a broadcast subscribe (synchronous,
   * after the consumer is attached). */
  void (*used)(void *ctx, const moqc_subscription *sub);
  /* fetch_group missed the track's cache: look further (MOQC_ERR_NOT_FOUND
   * if nowhere). */
  int (*fetch)(void *ctx, uint64_t sequence, moqc_group_consumer **out);
} moqc_track_hooks;

struct moqc_tstate {
  moqc_env *env;
  uint32_t refs;      /* producer handles + consumers + requests */
  uint32_t producers; /* live moqc_track_producer handles */
  char *name;
  moqc_track_info info;
  /* cache, in arrival order (ents[i]->arrival strictly increasing). ents
   * points into the allocation ents_base[capents] at ents_base + ents_head:
   * removing the oldest entry (expiry and budget eviction, the common case)
   * moves ents up by one instead of shifting the whole array (cache.c) */
  moqc_centry **ents, **ents_base;
  size_t nents, capents, ents_head;
  uint64_t next_arrival;
  uint64_t cache_latest; /* highest cached sequence (never evicted), or NONE */
  bool cache_disorder;   /* an entry was inserted with an older created_ns than the one before it */
  uint64_t max_seq;      /* highest sequence ever, or NONE */
  uint64_t final_seq;    /* exclusive final, or NONE */
  bool aborted;
  bool replaced;   /* aborted because a new source replaced it (MOQC_END_REPLACED) */
  bool pending;    /* created by a request, not accepted yet */
  bool info_known; /* info is the real one (false: pending, or a front track
                      whose source has not told it yet) */
  uint64_t code;
  moqc_link consumers; /* moqc_track_consumer.node */
  size_t nconsumers;
  moqc_link queries; /* moqc_track_info_query.node */
  size_t nqueries;
  moqc_tgap *gaps; /* sorted by lo, disjoint, all below max_seq or final */
  size_t ngaps, capgaps;
  moqc_link open_groups; /* moqc_gstate.owner_node */
  moqc_waiter pw;        /* producer-side demand waker */
  const void *pw_owner;  /* the producer handle that registered pw */
  moqc_timer timer;      /* next age expiry */
  moqc_bstate *bcast;    /* weak, while listed in bcast->tracks */
  moqc_link bnode;
  const moqc_track_hooks *hooks; /* NULL: none */
  void *hooks_ctx;
  moqc_account *acct; /* groups it caches first are charged here (one reference) */
};

moqc_tstate *moqc_tstate_new(moqc_env *env, const char *name, const moqc_track_info *info);
/* The cache / gap window of t in ms: its info's latency_max_ms, clamped to
 * the env's cache_window_max_ms (the relay's --cache-duration) if set. A
 * publisher's own value is kept in info (and forwarded); only the cache obeys
 * the clamp. */
static inline uint64_t moqc_tstate_window_ms(const moqc_tstate *t) {
  uint64_t w = t->info.latency_max_ms, max = t->env->cache_window_max_ms;
  return max && w > max ? max : w;
}
void moqc_tstate_unref(moqc_tstate *t);
void moqc_tstate_abort(moqc_tstate *t, uint64_t code);
void moqc_tstate_wake(moqc_tstate *t);
moqc_track_producer *moqc_tstate_produce(moqc_tstate *t);
moqc_track_consumer *moqc_tstate_consume(moqc_tstate *t, const moqc_subscription *sub);
moqc_tstate *moqc_track_producer_state(const moqc_track_producer *p);
moqc_tstate *moqc_track_consumer_state(const moqc_track_consumer *c);
/* Internal: install hooks (see moqc_track_hooks; NULL clears them). */
void moqc_track_producer_set_hooks(moqc_track_producer *p, const moqc_track_hooks *h, void *ctx);
/* Internal: replace the track info and mark it known (forwarders learn it
 * late); info queries waiting for it are woken. */
void moqc_track_producer_set_info(moqc_track_producer *p, const moqc_track_info *info);
/* Internal: the track's info becomes unknown (a front track before its source
 * answered). */
void moqc_track_producer_forget_info(moqc_track_producer *p);
/* Wake info queries (info learned, or the track ended). */
void moqc_tstate_info_wake(moqc_tstate *t);
/* Run the unused hook if the track has no consumer left. */
void moqc_tstate_unused(moqc_tstate *t);
/* Info query handles on t (broadcast.c). */
moqc_track_info_query *moqc_tstate_query(moqc_tstate *t);

/* Gaps (gaps.c). note: a group with this sequence entered the track (call
 * before max_seq is updated). finish: the final was just set. expire: drop
 * gaps past their deadline (waking consumers if the track is finished) and
 * return the next deadline, UINT64_MAX if none. blocks: some gap is at or
 * above `start` (a consumer from `start` is not complete yet). */
void moqc_gaps_note(moqc_tstate *t, uint64_t sequence);
void moqc_gaps_finish(moqc_tstate *t);
uint64_t moqc_gaps_expire(moqc_tstate *t, uint64_t now);
void moqc_gaps_clear(moqc_tstate *t); /* every gap given up */
static inline bool moqc_gaps_block(const moqc_tstate *t, uint64_t start) {
  return t->ngaps > 0 && t->gaps[t->ngaps - 1].hi >= start;
}

int moqc_cache_insert(moqc_tstate *t, moqc_gstate *g);
void moqc_cache_remove(moqc_centry *e);
void moqc_cache_clear(moqc_tstate *t);
moqc_centry *moqc_cache_find(const moqc_tstate *t, uint64_t sequence);
/* Index of the first entry with arrival >= arrival (nents if none). */
size_t moqc_cache_lower_bound(const moqc_tstate *t, uint64_t arrival);
/* Evict expired non-latest groups and re-arm the expiry timer. */
void moqc_cache_expire(moqc_tstate *t);
void moqc_cache_timer_cb(moqc_timer *tm, void *arg);
/* The LRU an evictable entry of g sits on: its account's, or the env's. */
static inline moqc_link *moqc_cache_lru(const moqc_gstate *g) {
  return g->acct ? &g->acct->lru : &g->env->lru;
}

/* ---- broadcast -------------------------------------------------------------- */

/* info_only: the name is asked for by an info query, not a subscriber. */
typedef int (*moqc_bresolve_fn)(void *ctx, const char *name, const moqc_subscription *sub,
                                bool info_only);

struct moqc_bstate {
  moqc_env *env;
  uint32_t refs;
  uint32_t producers;
  moqc_link tracks; /* live moqc_tstate.bnode (weak) */
  bool finished, aborted, requests_on;
  bool replaced; /* aborted because a new source replaced it (MOQC_END_REPLACED) */
  uint64_t code;
  moqc_link reqs; /* queued moqc_track_request.node */
  moqc_waiter pw; /* producer-side request waker */
  const void *pw_owner;
  moqc_link consumers;
  /* Internal hook (origin fronts): called for a name not in `tracks` (by a
   * subscribe or an info query); it may create the track (returns MOQC_OK) or
   * fail with an error. */
  moqc_bresolve_fn resolve;
  void *resolve_ctx;
  moqc_account *acct; /* its tracks' account (one reference), set when published */
};

/* Charge b's tracks (and those it creates later) to a, if it has no account. */
void moqc_bstate_set_account(moqc_bstate *b, moqc_account *a);

moqc_bstate *moqc_broadcast_producer_state(const moqc_broadcast_producer *p);
moqc_bstate *moqc_broadcast_consumer_state(const moqc_broadcast_consumer *c);
void moqc_tstate_detach(moqc_tstate *t);

/* ---- origin fronts (front.c) ------------------------------------------------ */

typedef struct moqc_front moqc_front;
typedef struct moqc_oentry moqc_oentry;

moqc_front *moqc_front_new(moqc_env *env, moqc_oentry *e);
moqc_broadcast_consumer *moqc_front_consume(moqc_front *f);
/* The entry's source changed (takeover): re-attach every forwarder. */
void moqc_front_takeover(moqc_front *f, moqc_broadcast_consumer *src);
/* The entry is going away. close: unpublished, tracks finished.
 * replaced: a different publisher took the path, tracks not finished yet are
 * aborted with Dropped and end reason MOQC_END_REPLACED (as moq-relay does).
 * source_done: the source finished cleanly, tracks keep flowing to their end.
 * abort: linger expired, tracks aborted with code. Each drops the entry's ref. */
void moqc_front_close(moqc_front *f);
void moqc_front_replaced(moqc_front *f);
void moqc_front_source_done(moqc_front *f);
void moqc_front_abort(moqc_front *f, uint64_t code);

/* What a front needs from its origin entry. */
moqc_broadcast_consumer *moqc_oentry_source(const moqc_oentry *e);
bool moqc_oentry_lingering(const moqc_oentry *e);

/* ---- helpers ---------------------------------------------------------------- */

#define MOQC_NS_PER_MS 1000000ULL
static inline uint64_t moqc_ms_to_ns(uint64_t ms) {
  return ms > UINT64_MAX / MOQC_NS_PER_MS ? UINT64_MAX : ms * MOQC_NS_PER_MS;
}
static inline uint64_t moqc_sat_add(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

#endif
