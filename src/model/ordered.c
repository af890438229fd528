/* moqc model — the ordered track reader (include/moqc/ordered.h).
 *
 * State: the track consumer, the held groups sorted by sequence (except that
 * groups[0] may be the group being read, "head_started", which a late group
 * never overtakes), `next` (the sequence expected), and one timer on the env's
 * clock for the reorder window. pump() pulls every arrived group in, then hands
 * frames over while the head group is allowed to go; it runs from the wakers
 * (track consumer and every held group) and from the timer.
 *
 * Re-entrancy: callbacks may delete the reader. pump() sets `pumping`; a
 * delete from inside only marks the reader dead, and pump frees it on the way
 * out.
 */
#include <assert.h>
#include <string.h>

#include "core/mem.h"
#include "model/internal.h"
#include "moqc/error.h"
#include "moqc/ordered.h"

typedef struct og {
  moqc_group_consumer *gc;
  uint64_t seq;
  size_t index; /* frames handed over */
} og;

struct moqc_ordered_reader {
  moqc_env *env;
  moqc_track_consumer *tc;
  og *groups;
  size_t n, cap;
  uint64_t next;
  bool head_started;
  bool track_done;
  int track_err;
  bool stopped; /* on_frame said stop, or on_end ran */
  bool pumping;
  bool dead;        /* deleted while pumping */
  bool gap_open;    /* gap_timer armed */
  bool gap_expired; /* the window ran out: skip to the head group */
  moqc_timer gap_timer;
  moqc_ordered_config cfg;
};

static void pump(moqc_ordered_reader *r);
static void on_wake(void *arg) { pump(arg); }

const char *moqc_ordered_event_kind_str(moqc_ordered_event_kind k) {
  switch (k) {
    case MOQC_ORDERED_SKIPPED: return "skipped";
    case MOQC_ORDERED_NEVER: return "never";
    case MOQC_ORDERED_GROUP_LOST: return "group-lost";
  }
  return "?";
}

static void emit(moqc_ordered_reader *r, moqc_ordered_event ev) {
  if (r->cfg.on_event) r->cfg.on_event(r->cfg.ctx, &ev);
}

static int insert(moqc_ordered_reader *r, moqc_group_consumer *gc) {
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 8;
    og *g = moqc_reallocarray(r->groups, cap, sizeof *g);
    if (!g) return MOQC_ERR_NOMEM;
    r->groups = g;
    r->cap = cap;
  }
  uint64_t seq = moqc_group_consumer_sequence(gc);
  size_t at = r->head_started ? 1 : 0; /* never in front of the group being read */
  while (at < r->n && r->groups[at].seq <= seq) at++;
  memmove(&r->groups[at + 1], &r->groups[at], (r->n - at) * sizeof *r->groups);
  r->groups[at] = (og){gc, seq, 0};
  r->n++;
  if (r->next == MOQC_GROUP_NONE) r->next = seq;
  moqc_group_consumer_set_waker(gc, on_wake, r);
  return MOQC_OK;
}

static void pop(moqc_ordered_reader *r) {
  assert(r->n > 0);
  uint64_t seq = r->groups[0].seq;
  if (r->next == MOQC_GROUP_NONE || seq >= r->next) r->next = seq + 1;
  moqc_group_consumer_del(r->groups[0].gc);
  memmove(&r->groups[0], &r->groups[1], (r->n - 1) * sizeof *r->groups);
  r->n--;
  r->head_started = false;
}

/* Hand over the head group's frames; true once it is done. */
static bool read_head(moqc_ordered_reader *r) {
  og *h = &r->groups[0];
  moqc_frame f;
  int rv;
  while ((rv = moqc_group_consumer_read_frame(h->gc, &f)) == MOQC_OK) {
    r->head_started = true;
    bool more = r->cfg.on_frame(r->cfg.ctx, h->seq, h->index++, &f);
    moqc_slice_release(&f.payload);
    if (!more || r->dead) {
      r->stopped = true;
      return false;
    }
  }
  if (rv == MOQC_ERR_AGAIN) return false;
  if (rv != MOQC_ERR_CLOSED)
    emit(r, (moqc_ordered_event){.kind = MOQC_ORDERED_GROUP_LOST,
                                 .lo = h->seq,
                                 .hi = h->seq,
                                 .frames = h->index,
                                 .err = rv,
                                 .code = moqc_group_consumer_code(h->gc)});
  return !r->dead;
}

/* The reorder window ran out: pump() skips the gap (callbacks only ever run
 * under pump's re-entrancy guard). */
static void on_gap(moqc_timer *t, void *arg) {
  (void)t;
  moqc_ordered_reader *r = arg;
  r->gap_open = false;
  r->gap_expired = true;
  pump(r);
}

/* May the head group be handed over now? */
static bool head_ready(moqc_ordered_reader *r) {
  const og *h = &r->groups[0];
  if (r->head_started || h->seq <= r->next) return true;
  bool ended = r->track_done && r->track_err == MOQC_ERR_CLOSED; /* nothing else comes */
  if (ended || r->gap_expired || r->cfg.reorder_ms == 0) {
    uint64_t lo = r->next;
    r->next = h->seq;
    r->gap_expired = false;
    emit(r, (moqc_ordered_event){.kind = ended ? MOQC_ORDERED_NEVER : MOQC_ORDERED_SKIPPED,
                                 .lo = lo,
                                 .hi = h->seq - 1,
                                 .waited_ms = r->cfg.reorder_ms});
    return !r->dead;
  }
  if (!r->gap_open) {
    moqc_clock *clk = moqc_env_clock(r->env);
    uint64_t at = moqc_sat_add(moqc_clock_now(clk), moqc_ms_to_ns(r->cfg.reorder_ms));
    if (moqc_timer_start(clk, &r->gap_timer, at) == MOQC_OK) r->gap_open = true;
    else return true; /* no timer (OOM): skip rather than wait forever */
  }
  return false;
}

static void pull_groups(moqc_ordered_reader *r) {
  moqc_group_consumer *gc;
  int rv = MOQC_ERR_AGAIN;
  while (!r->track_done && (rv = moqc_track_consumer_recv_group(r->tc, &gc)) == MOQC_OK) {
    if (insert(r, gc) != MOQC_OK) {
      moqc_group_consumer_del(gc);
      rv = MOQC_ERR_NOMEM;
      break;
    }
  }
  if (!r->track_done && rv != MOQC_ERR_AGAIN) {
    r->track_done = true;
    r->track_err = rv;
  }
}

static void reader_free(moqc_ordered_reader *r) {
  moqc_timer_stop(moqc_env_clock(r->env), &r->gap_timer);
  for (size_t i = 0; i < r->n; i++) moqc_group_consumer_del(r->groups[i].gc);
  moqc_free(r->groups);
  moqc_track_consumer_del(r->tc);
  moqc_free(r);
}

static void pump(moqc_ordered_reader *r) {
  if (r->stopped || r->pumping) return;
  r->pumping = true;
  pull_groups(r);
  /* An aborted track ends the reader at once; a clean end flushes first. */
  bool aborted = r->track_done && r->track_err != MOQC_ERR_CLOSED;
  while (!aborted && !r->stopped && !r->dead && r->n > 0 && head_ready(r) && read_head(r)) pop(r);
  if (!r->dead && (r->n == 0 || r->groups[0].seq <= r->next)) {
    moqc_timer_stop(moqc_env_clock(r->env), &r->gap_timer);
    r->gap_open = false;
    r->gap_expired = false;
  }
  if (!r->dead && !r->stopped && r->track_done && (r->n == 0 || aborted)) {
    r->stopped = true;
    r->cfg.on_end(r->cfg.ctx, r->track_err, moqc_track_consumer_code(r->tc));
  }
  r->pumping = false;
  if (r->dead) reader_free(r);
}

moqc_ordered_reader *moqc_ordered_reader_new(moqc_track_consumer *tc,
                                             const moqc_ordered_config *cfg) {
  if (!tc) return NULL;
  moqc_ordered_reader *r = NULL;
  if (cfg && cfg->on_frame && cfg->on_end) r = moqc_calloc(1, sizeof *r);
  if (!r) {
    moqc_track_consumer_del(tc);
    return NULL;
  }
  r->env = moqc_track_consumer_state(tc)->env;
  r->tc = tc;
  r->cfg = *cfg;
  r->next = cfg->start;
  moqc_timer_init(&r->gap_timer, on_gap, r);
  moqc_track_consumer_set_waker(tc, on_wake, r); /* deferred: fires at once if data is there */
  return r;
}

uint64_t moqc_ordered_reader_next(const moqc_ordered_reader *r) { return r->next; }
size_t moqc_ordered_reader_held(const moqc_ordered_reader *r) { return r->n; }
const moqc_track_consumer *moqc_ordered_reader_track(const moqc_ordered_reader *r) { return r->tc; }

void moqc_ordered_reader_del(moqc_ordered_reader *r) {
  if (!r || r->dead) return;
  if (r->pumping) {
    r->dead = true; /* freed when pump() unwinds */
    r->stopped = true;
    return;
  }
  reader_free(r);
}
