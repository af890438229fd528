/* moqc — sans-IO time: a clock plus a timer queue, one per event loop.
 *
 * The model and session layers never read a system clock and never arm an OS
 * timer. They read moqc_clock_now() and start moqc_timers on a moqc_clock. Who
 * drives the clock decides what time is:
 *   - the runtime (libuv) sets it from the monotonic clock and arms one uv_timer
 *     for moqc_clock_next();
 *   - tests advance it by hand ("virtual time"), so whole sessions run in
 *     microseconds of real time, deterministically.
 *
 * Threading: a clock and its timers belong to one thread.
 * Timer callbacks run from moqc_clock_advance(); inside them it is allowed to
 * start/stop any timer (including the one running) and to call any model or
 * session function.
 */
#ifndef MOQC_CLOCK_H
#define MOQC_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "moqc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct moqc_clock moqc_clock;
typedef struct moqc_timer moqc_timer;
typedef void (*moqc_timer_fn)(moqc_timer *t, void *arg);

/* Caller-owned timer (embed it in your object). Fields are private. */
struct moqc_timer {
  uint64_t deadline;
  size_t heap_idx; /* SIZE_MAX when not armed */
  moqc_timer_fn cb;
  void *arg;
};

/* New clock at time now_ns. NULL on OOM. Owned by the caller; moqc_clock_del
 * frees it (armed timers are simply forgotten, their callbacks never run). */
MOQC_API moqc_clock *moqc_clock_new(uint64_t now_ns);
MOQC_API void moqc_clock_del(moqc_clock *c);

/* Current time, nanoseconds, monotonic. */
MOQC_API uint64_t moqc_clock_now(const moqc_clock *c);

/* Move time forward to now_ns (never backwards: an earlier value is ignored)
 * and run every timer whose deadline <= now, in deadline order (equal deadlines
 * in the order they were started). Time steps through the deadlines: inside a
 * callback moqc_clock_now() is that timer's deadline (or the previous now if
 * the deadline had already passed), and only reaches now_ns at the end, so a
 * chain of timers armed relative to now runs as it would in real time. Timers
 * started from a callback with a deadline <= now_ns run in the same call.
 * Returns the number of callbacks run. */
MOQC_API size_t moqc_clock_advance(moqc_clock *c, uint64_t now_ns);

/* Earliest armed deadline, or UINT64_MAX if no timer is armed. */
MOQC_API uint64_t moqc_clock_next(const moqc_clock *c);

/* Called (from start/stop) whenever moqc_clock_next() may have become earlier,
 * so a driver can re-arm its OS timer. Optional. */
MOQC_API void moqc_clock_set_notify(moqc_clock *c, void (*fn)(void *ctx), void *ctx);

MOQC_API void moqc_timer_init(moqc_timer *t, moqc_timer_fn cb, void *arg);
/* Arm (or re-arm) t for deadline_ns. MOQC_OK or MOQC_ERR_NOMEM. */
MOQC_API int moqc_timer_start(moqc_clock *c, moqc_timer *t, uint64_t deadline_ns);
/* Disarm; no-op if not armed. */
MOQC_API void moqc_timer_stop(moqc_clock *c, moqc_timer *t);
static inline int moqc_timer_armed(const moqc_timer *t) { return t->heap_idx != (size_t)-1; }

#ifdef __cplusplus
}
#endif
#endif
