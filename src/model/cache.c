/* moqc model — the track cache: which groups a track still serves.
 *
 * A track's cache is an array of moqc_centry in arrival order. Each entry
 * holds ONE reference on its group and sits on two more intrusive lists: the
 * env's LRU (insertion order, for the global byte budget) and the group's own
 * list of caches (a group inserted into several tracks by a relay is counted
 * once in the env's cache bytes).
 *
 * Eviction (by age, by budget, or by the group's abort) only removes the
 * entry and drops the cache's reference: a consumer that already received the
 * group holds its own reference and keeps reading it to the end. The entry with
 * the highest sequence (the live edge) is never evicted by age or budget, so
 * it is kept OUT of the env's LRU: an entry joins the LRU when it stops being
 * its track's live edge (or at insertion when it arrives below it). The LRU
 * therefore holds only evictable entries, in the order they became evictable,
 * and enforcing the budget never walks past the live edges of every track.
 */
#include <assert.h>
#include <string.h>

#include "core/mem.h"
#include "model/internal.h"
#include "moqc/error.h"

size_t moqc_cache_lower_bound(const moqc_tstate *t, uint64_t arrival) {
  size_t lo = 0, hi = t->nents;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (t->ents[mid]->arrival < arrival) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

moqc_centry *moqc_cache_find(const moqc_tstate *t, uint64_t sequence) {
  /* A new group (the common case: above everything cached) costs nothing;
   * otherwise look from the newest arrival back, where lookups usually hit. */
  if (t->cache_latest == MOQC_GROUP_NONE || sequence > t->cache_latest) return NULL;
  for (size_t i = t->nents; i-- > 0;)
    if (t->ents[i]->g->sequence == sequence) return t->ents[i];
  return NULL;
}

/* Make `latest` the track's live edge: its entry leaves the env's LRU, the
 * entry of the previous live edge (always lower) joins it (at the back). Both
 * lookups run after cache_latest moved, so moqc_cache_find sees them. */
static void cache_set_latest(moqc_tstate *t, uint64_t latest) {
  uint64_t old = t->cache_latest;
  if (old == latest) return;
  t->cache_latest = latest;
  moqc_centry *n = moqc_cache_find(t, latest);
  if (n) moqc_list_unlink(&n->lru);
  moqc_centry *o = old != MOQC_GROUP_NONE ? moqc_cache_find(t, old) : NULL;
  if (o && !moqc_link_linked(&o->lru)) moqc_list_push_back(moqc_cache_lru(o->g), &o->lru);
}

static void cache_recompute_latest(moqc_tstate *t) {
  uint64_t latest = MOQC_GROUP_NONE;
  for (size_t i = 0; i < t->nents; i++) {
    uint64_t s = t->ents[i]->g->sequence;
    if (latest == MOQC_GROUP_NONE || s > latest) latest = s;
  }
  t->cache_latest = MOQC_GROUP_NONE; /* the removed live edge has no entry left */
  cache_set_latest(t, latest);
}

static uint64_t entry_deadline(const moqc_tstate *t, const moqc_centry *e) {
  return moqc_sat_add(e->g->created_ns, moqc_ms_to_ns(moqc_tstate_window_ms(t)));
}

/* An insert can make at most two entries evictable by age: the newcomer (when
 * it is not the live edge) and the live edge it replaced. Arm the timer for
 * the earlier of their deadlines instead of rescanning the whole cache on
 * every insert (a 50 groups/s audio track caching 30 s scanned 1,500 entries
 * per group). The full scan still runs when anything is already due. */
static void expire_after_insert(moqc_tstate *t, const moqc_centry *e, uint64_t prev_latest) {
  uint64_t due = UINT64_MAX;
  if (e->g->sequence != t->cache_latest) due = entry_deadline(t, e);
  if (prev_latest != MOQC_GROUP_NONE && prev_latest != t->cache_latest) {
    const moqc_centry *p = moqc_cache_find(t, prev_latest);
    if (p && entry_deadline(t, p) < due) due = entry_deadline(t, p);
  }
  uint64_t now = moqc_clock_now(t->env->clock);
  bool armed = moqc_timer_armed(&t->timer);
  if (due <= now || (armed && t->timer.deadline <= now)) {
    moqc_cache_expire(t);
    return;
  }
  if (due != UINT64_MAX && (!armed || due < t->timer.deadline))
    (void)moqc_timer_start(t->env->clock, &t->timer, due); /* NOMEM: retried at the next insert */
}

/* Room for one more entry at the back of ents. Entries leave mostly from
 * the front (oldest first), which only moves ents_head up; the free slots
 * that leaves before ents are reclaimed here, by one shift down, only when
 * the back is full, and the array grows only when more than half of it is in
 * use: each entry is moved O(1) times on average. */
static int cache_reserve(moqc_tstate *t) {
  assert(t->ents_base ? t->ents == t->ents_base + t->ents_head : !t->ents && !t->capents);
  assert(t->ents_head + t->nents <= t->capents);
  if (t->ents_head + t->nents < t->capents) return MOQC_OK;
  if (t->ents_head && t->nents <= t->capents / 2) {
    memmove(t->ents_base, t->ents, t->nents * sizeof *t->ents);
    t->ents_head = 0;
    t->ents = t->ents_base;
    return MOQC_OK;
  }
  size_t ncap = t->capents ? t->capents * 2 : 8;
  moqc_centry **n = moqc_reallocarray(t->ents_base, ncap, sizeof *n);
  if (!n) return MOQC_ERR_NOMEM;
  if (t->ents_head) memmove(n, n + t->ents_head, t->nents * sizeof *n);
  t->ents_base = t->ents = n;
  t->ents_head = 0;
  t->capents = ncap;
  return MOQC_OK;
}

int moqc_cache_insert(moqc_tstate *t, moqc_gstate *g) {
  int rc = cache_reserve(t);
  if (rc != MOQC_OK) return rc;
  moqc_centry *e = moqc_malloc(sizeof *e);
  if (!e) return MOQC_ERR_NOMEM;
  /* Settle the budget first, so the newcomer is never the victim of its own
   * insertion. */
  moqc_env_enforce_budget(t->env);
  moqc_account *charge = moqc_list_empty(&g->entries) ? t->acct : g->acct;
  if (charge) moqc_account_enforce(charge);
  e->g = g;
  e->t = t;
  e->arrival = t->next_arrival++;
  moqc_gstate_ref(g);
  bool counted = !moqc_list_empty(&g->entries);
  if (!counted) { /* charged to this track's account until it leaves every cache */
    assert(!g->acct);
    g->acct = t->acct ? moqc_account_ref(t->acct) : NULL;
  }
  moqc_link_init(&e->gnode); /* fresh (malloc'd) node */
  moqc_list_push_back(&g->entries, &e->gnode);
  moqc_link_init(&e->lru);
  if (t->nents && g->created_ns < t->ents[t->nents - 1]->g->created_ns) t->cache_disorder = true;
  t->ents[t->nents++] = e;
  uint64_t prev_latest = t->cache_latest;
  if (t->cache_latest == MOQC_GROUP_NONE || g->sequence > t->cache_latest)
    cache_set_latest(t, g->sequence); /* the previous live edge becomes evictable */
  else if (g->sequence != t->cache_latest)
    moqc_list_push_back(moqc_cache_lru(g), &e->lru); /* arrived below the live edge */
  if (!counted) {
    assert(g->charged == 0);
    moqc_gstate_recharge(g); /* payload + overheads (group.c) */
  }
  expire_after_insert(t, e, prev_latest);
  return MOQC_OK;
}

void moqc_cache_remove(moqc_centry *e) {
  moqc_tstate *t = e->t;
  moqc_gstate *g = e->g;
  size_t i = moqc_cache_lower_bound(t, e->arrival);
  assert(i < t->nents && t->ents[i] == e);
  /* Close the hole from the shorter side: the oldest entry (expiry, budget)
   * costs nothing, where shifting the rest down cost the whole cache for
   * each one (a 30 s cache of 5,000 groups/s moved 1.2 MB per group). */
  if (i < t->nents / 2) {
    memmove(&t->ents[1], &t->ents[0], i * sizeof *t->ents);
    t->ents++;
    t->ents_head++;
  } else {
    memmove(&t->ents[i], &t->ents[i + 1], (t->nents - i - 1) * sizeof *t->ents);
  }
  t->nents--;
  if (!t->nents) {
    t->cache_disorder = false;
    t->ents = t->ents_base;
    t->ents_head = 0;
  }
  moqc_list_unlink(&e->lru);
  moqc_list_remove(&e->gnode);
  if (moqc_list_empty(&g->entries)) { /* uncharge */
    moqc_account *a = g->acct;
    size_t was = g->charged;
    assert(t->env->cache_bytes >= was);
    t->env->cache_bytes -= was;
    if (a) a->cache_bytes -= was;
    else t->env->dflt_bytes -= was;
    g->charged = 0;
    g->acct = NULL;
    moqc_account_unref(a);
  }
  if (g->sequence == t->cache_latest) cache_recompute_latest(t);
  moqc_free(e);
  moqc_gstate_unref(g);
}

void moqc_cache_clear(moqc_tstate *t) {
  /* Oldest first: each removal is O(1) (cache_remove), and the live edge,
   * whose removal rescans the cache for the next one, goes last. Newest
   * first rescanned the whole cache for every entry: a relay freeing a
   * 100,000-group cache at shutdown took minutes. */
  while (t->nents) moqc_cache_remove(t->ents[0]);
  moqc_timer_stop(t->env->clock, &t->timer);
}

/* Expire cached groups and gaps (gaps.c) and re-arm the timer for the next
 * deadline of either. Entries are in arrival order and a group is normally
 * created when it arrives, so deadlines (created + window) ascend along the
 * array and the scan stops at the first entry that is not due (the live edge
 * is skipped, never evicted). A group inserted with an older creation time
 * than its predecessor (a relay inserting a shared group into a second track)
 * marks the cache disordered: then every entry is looked at, as before. */
void moqc_cache_expire(moqc_tstate *t) {
  uint64_t now = moqc_clock_now(t->env->clock);
  uint64_t window = moqc_ms_to_ns(moqc_tstate_window_ms(t));
  uint64_t next = UINT64_MAX;
  size_t i = 0;
  while (i < t->nents) {
    moqc_centry *e = t->ents[i];
    uint64_t deadline = moqc_sat_add(e->g->created_ns, window);
    if (e->g->sequence != t->cache_latest && now >= deadline) {
      moqc_cache_remove(e); /* shifts the array: stay at i */
      continue;
    }
    if (e->g->sequence != t->cache_latest) {
      if (deadline < next) next = deadline;
      if (!t->cache_disorder) break;
    }
    i++;
  }
  uint64_t gap_next = moqc_gaps_expire(t, now);
  if (gap_next < next) next = gap_next;
  if (next == UINT64_MAX) moqc_timer_stop(t->env->clock, &t->timer);
  else
    moqc_timer_start(t->env->clock, &t->timer, next); /* NOMEM: expiry waits for the next insert */
}

void moqc_cache_timer_cb(moqc_timer *tm, void *arg) {
  (void)tm;
  moqc_cache_expire((moqc_tstate *)arg);
}
