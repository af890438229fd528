/* moqc core — sans-IO clock and timer queue.
 *
 * A binary min-heap of timer pointers ordered by (deadline, start sequence):
 * timers with equal deadlines fire in the order they were (re)started. The
 * sequence lives in the heap entry, so moqc_timer stays four fields. Each
 * timer records its heap index, so stop and re-arm are O(log n).
 *
 * moqc_clock_advance() steps time through the deadlines it runs: during a
 * callback moqc_clock_now() is that timer's deadline (or the earlier "now" if
 * the deadline had already passed), so a chain of timers armed relative to
 * now runs in virtual time exactly as it would in real time. Timers started
 * from a callback with a deadline <= the target run in the same call.
 */
#include "moqc/clock.h"

#include <stdbool.h>

#include "core/mem.h"
#include "moqc/error.h"

#define NOT_ARMED ((size_t)-1)

typedef struct heap_entry {
  moqc_timer *t;
  uint64_t seq;
} heap_entry;

struct moqc_clock {
  uint64_t now;
  heap_entry *heap;
  size_t len, cap;
  uint64_t seq;
  void (*notify)(void *ctx);
  void *notify_ctx;
};

moqc_clock *moqc_clock_new(uint64_t now_ns) {
  moqc_clock *c = moqc_calloc(1, sizeof *c);
  if (c) c->now = now_ns;
  return c;
}

void moqc_clock_del(moqc_clock *c) {
  if (!c) return;
  for (size_t i = 0; i < c->len; i++) c->heap[i].t->heap_idx = NOT_ARMED;
  moqc_free(c->heap);
  moqc_free(c);
}

uint64_t moqc_clock_now(const moqc_clock *c) { return c->now; }

uint64_t moqc_clock_next(const moqc_clock *c) {
  return c->len ? c->heap[0].t->deadline : UINT64_MAX;
}

void moqc_clock_set_notify(moqc_clock *c, void (*fn)(void *ctx), void *ctx) {
  c->notify = fn;
  c->notify_ctx = ctx;
}

/* ---- heap --------------------------------------------------------------- */

static bool entry_less(const heap_entry *a, const heap_entry *b) {
  if (a->t->deadline != b->t->deadline) return a->t->deadline < b->t->deadline;
  return a->seq < b->seq;
}

static void heap_set(moqc_clock *c, size_t i, heap_entry e) {
  c->heap[i] = e;
  e.t->heap_idx = i;
}

static void sift_up(moqc_clock *c, size_t i) {
  heap_entry e = c->heap[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!entry_less(&e, &c->heap[parent])) break;
    heap_set(c, i, c->heap[parent]);
    i = parent;
  }
  heap_set(c, i, e);
}

static void sift_down(moqc_clock *c, size_t i) {
  heap_entry e = c->heap[i];
  for (;;) {
    size_t l = 2 * i + 1, best = i;
    const heap_entry *bv = &e;
    if (l < c->len && entry_less(&c->heap[l], bv)) {
      best = l;
      bv = &c->heap[l];
    }
    if (l + 1 < c->len && entry_less(&c->heap[l + 1], bv)) best = l + 1;
    if (best == i) break;
    heap_set(c, i, c->heap[best]);
    i = best;
  }
  heap_set(c, i, e);
}

/* Remove the entry at index i (the timer is left disarmed). */
static void heap_remove(moqc_clock *c, size_t i) {
  moqc_timer *t = c->heap[i].t;
  t->heap_idx = NOT_ARMED;
  c->len--;
  if (i == c->len) return;
  heap_set(c, i, c->heap[c->len]);
  /* The moved entry may belong above or below i. */
  if (i > 0 && entry_less(&c->heap[i], &c->heap[(i - 1) / 2])) sift_up(c, i);
  else sift_down(c, i);
}

static bool timer_in(const moqc_clock *c, const moqc_timer *t) {
  return t->heap_idx != NOT_ARMED && t->heap_idx < c->len && c->heap[t->heap_idx].t == t;
}

static void notify_if_changed(moqc_clock *c, uint64_t before) {
  if (c->notify && moqc_clock_next(c) != before) c->notify(c->notify_ctx);
}

/* ---- timers ------------------------------------------------------------- */

void moqc_timer_init(moqc_timer *t, moqc_timer_fn cb, void *arg) {
  t->deadline = 0;
  t->heap_idx = NOT_ARMED;
  t->cb = cb;
  t->arg = arg;
}

int moqc_timer_start(moqc_clock *c, moqc_timer *t, uint64_t deadline_ns) {
  uint64_t before = moqc_clock_next(c);
  if (timer_in(c, t)) {
    /* Re-arm in place: it now counts as started last among equal deadlines. */
    size_t i = t->heap_idx;
    t->deadline = deadline_ns;
    c->heap[i].seq = c->seq++;
    if (i > 0 && entry_less(&c->heap[i], &c->heap[(i - 1) / 2])) sift_up(c, i);
    else sift_down(c, i);
  } else {
    if (c->len == c->cap) {
      size_t ncap = c->cap ? c->cap * 2 : 16;
      heap_entry *nh = moqc_reallocarray(c->heap, ncap, sizeof *nh);
      if (!nh) return MOQC_ERR_NOMEM;
      c->heap = nh;
      c->cap = ncap;
    }
    t->deadline = deadline_ns;
    c->heap[c->len].t = t;
    c->heap[c->len].seq = c->seq++;
    c->len++;
    sift_up(c, c->len - 1);
  }
  notify_if_changed(c, before);
  return MOQC_OK;
}

void moqc_timer_stop(moqc_clock *c, moqc_timer *t) {
  if (!timer_in(c, t)) return;
  uint64_t before = moqc_clock_next(c);
  heap_remove(c, t->heap_idx);
  notify_if_changed(c, before);
}

size_t moqc_clock_advance(moqc_clock *c, uint64_t now_ns) {
  size_t ran = 0;
  uint64_t target = now_ns > c->now ? now_ns : c->now;
  while (c->len && c->heap[0].t->deadline <= target) {
    moqc_timer *t = c->heap[0].t;
    if (t->deadline > c->now) c->now = t->deadline;
    heap_remove(c, 0);
    ran++;
    if (t->cb) t->cb(t, t->arg);
  }
  c->now = target;
  return ran;
}
