/* moqc model — gaps: which sequences a finished track is still waiting for.
 *
 * Groups may arrive out of order, so when a track is finished (finish /
 * finish_at) some sequences below the final may still be on their way. A
 * consumer reads MOQC_ERR_CLOSED only once none is missing at or above its
 * start. "Missing" is tracked as a short sorted list of runs:
 *
 *   - a group arriving above highest+1 opens a gap [highest+1, seq-1] (the
 *     first group of a track opens none: what lies below it is history, not
 *     something the track waits for);
 *   - finish_at(final) above highest+1 opens the tail [highest+1, final-1];
 *   - a group arriving inside a gap shrinks or splits it.
 *
 * A gap is given up (as if its groups had come and expired) once it is older
 * than the track's latency_max (measured from when it opened), when more than
 * MOQC_TRACK_MAX_GAPS are open (the lowest goes first), on OOM, or by
 * moqc_track_producer_complete. Expiry runs from the track's cache timer.
 * With latency_max 0 no gap is ever kept.
 *
 * A run longer than MOQC_TRACK_MAX_GAP_RUN is never opened: stragglers are
 * groups sent concurrently, so a jump over that many sequences at once is a
 * discontinuity (a publisher restarting at a new sequence, a relay taking
 * over from a new source, a subscription moved ahead), not groups in flight.
 */
#include <string.h>

#include "core/mem.h"
#include "model/internal.h"
#include "moqc/error.h"

static void gaps_erase(moqc_tstate *t, size_t i) {
  memmove(&t->gaps[i], &t->gaps[i + 1], (t->ngaps - i - 1) * sizeof *t->gaps);
  t->ngaps--;
}

/* Insert g at index i (order is the caller's business). Best effort: on OOM
 * the gap is given up. */
static void gaps_insert(moqc_tstate *t, size_t i, moqc_tgap g) {
  if (t->ngaps == MOQC_TRACK_MAX_GAPS) { /* give up the lowest */
    gaps_erase(t, 0);
    if (i > 0) i--;
  }
  if (t->ngaps == t->capgaps) {
    size_t ncap = t->capgaps ? t->capgaps * 2 : 2;
    if (ncap > MOQC_TRACK_MAX_GAPS) ncap = MOQC_TRACK_MAX_GAPS;
    moqc_tgap *n = moqc_reallocarray(t->gaps, ncap, sizeof *n);
    if (!n) return;
    t->gaps = n;
    t->capgaps = ncap;
  }
  memmove(&t->gaps[i + 1], &t->gaps[i], (t->ngaps - i) * sizeof *t->gaps);
  t->gaps[i] = g;
  t->ngaps++;
}

/* Open [lo, hi] above every existing gap; arm the timer for its deadline. */
static void gaps_open(moqc_tstate *t, uint64_t lo, uint64_t hi) {
  uint64_t window_ms = moqc_tstate_window_ms(t);
  if (window_ms == 0 || hi - lo >= MOQC_TRACK_MAX_GAP_RUN) return;
  moqc_clock *clk = t->env->clock;
  moqc_tgap g = {lo, hi, moqc_sat_add(moqc_clock_now(clk), moqc_ms_to_ns(window_ms))};
  gaps_insert(t, t->ngaps, g);
  if (!moqc_timer_armed(&t->timer) || g.deadline_ns < t->timer.deadline)
    (void)moqc_timer_start(clk, &t->timer, g.deadline_ns); /* NOMEM: given up at the next expiry */
}

void moqc_gaps_note(moqc_tstate *t, uint64_t seq) {
  /* The last gap starting at or below seq. */
  size_t lo = 0, hi = t->ngaps;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (t->gaps[mid].lo <= seq) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && t->gaps[lo - 1].hi >= seq) {
    moqc_tgap *g = &t->gaps[lo - 1];
    if (g->lo == g->hi) {
      gaps_erase(t, lo - 1);
    } else if (seq == g->lo) {
      g->lo++;
    } else if (seq == g->hi) {
      g->hi--;
    } else {
      moqc_tgap upper = {seq + 1, g->hi, g->deadline_ns};
      g->hi = seq - 1;
      gaps_insert(t, lo, upper);
    }
    return;
  }
  /* Above the live edge: what it skipped is now missing (once finished, the
   * tail gap already covers it, or it was given up). */
  if (t->final_seq == MOQC_GROUP_NONE && t->max_seq != MOQC_GROUP_NONE && seq > t->max_seq + 1)
    gaps_open(t, t->max_seq + 1, seq - 1);
}

void moqc_gaps_finish(moqc_tstate *t) {
  uint64_t lo = t->max_seq == MOQC_GROUP_NONE ? 0 : t->max_seq + 1;
  if (lo < t->final_seq) gaps_open(t, lo, t->final_seq - 1);
}

uint64_t moqc_gaps_expire(moqc_tstate *t, uint64_t now) {
  uint64_t next = UINT64_MAX;
  bool dropped = false;
  for (size_t i = 0; i < t->ngaps;) {
    if (now >= t->gaps[i].deadline_ns) {
      gaps_erase(t, i);
      dropped = true;
      continue;
    }
    if (t->gaps[i].deadline_ns < next) next = t->gaps[i].deadline_ns;
    i++;
  }
  if (dropped && t->final_seq != MOQC_GROUP_NONE) moqc_tstate_wake(t);
  return next;
}

void moqc_gaps_clear(moqc_tstate *t) {
  moqc_free(t->gaps);
  t->gaps = NULL;
  t->ngaps = t->capgaps = 0;
}
