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

/* Make `latest` the track's live edge: its entries leave the env's LRU, the
 * entries of the previous live edge join it (at the back). */
static void cache_set_latest(moqc_tstate *t, uint64_t latest) {
  uint64_t old = t->cache_latest;
  if (old == latest) return;
  t->cache_latest = latest;
  for (size_t i = t->nents; i-- > 0;) {
    moqc_centry *e = t->ents[i];
    if (e->g->sequence == latest)
      moqc_list_remove(&e->lru);
    else if (e->g->sequence == old && !moqc_link_linked(&e->lru))
      moqc_list_push_back(&t->env->lru, &e->lru);
  }
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

int moqc_cache_insert(moqc_tstate *t, moqc_gstate *g) {
  if (t->nents == t->capents) {
    size_t ncap = t->capents ? t->capents * 2 : 8;
    moqc_centry **n = moqc_reallocarray(t->ents, ncap, sizeof *n);
    if (!n) return MOQC_ERR_NOMEM;
    t->ents = n;
    t->capents = ncap;
  }
  moqc_centry *e = moqc_malloc(sizeof *e);
  if (!e) return MOQC_ERR_NOMEM;
  /* Settle the budget first, so the newcomer is never the victim of its own
   * insertion. */
  moqc_env_enforce_budget(t->env);
  e->g = g;
  e->t = t;
  e->arrival = t->next_arrival++;
  moqc_gstate_ref(g);
  bool counted = !moqc_list_empty(&g->entries);
  moqc_list_push_back(&g->entries, &e->gnode);
  moqc_link_init(&e->lru);
  t->ents[t->nents++] = e;
  if (t->cache_latest == MOQC_GROUP_NONE || g->sequence > t->cache_latest)
    cache_set_latest(t, g->sequence); /* the previous live edge becomes evictable */
  else if (g->sequence != t->cache_latest)
    moqc_list_push_back(&t->env->lru, &e->lru); /* arrived below the live edge */
  if (!counted) moqc_gstate_account(g, g->bytes, 0);
  moqc_cache_expire(t);
  return MOQC_OK;
}

void moqc_cache_remove(moqc_centry *e) {
  moqc_tstate *t = e->t;
  moqc_gstate *g = e->g;
  size_t i = moqc_cache_lower_bound(t, e->arrival);
  memmove(&t->ents[i], &t->ents[i + 1], (t->nents - i - 1) * sizeof *t->ents);
  t->nents--;
  moqc_list_remove(&e->lru);
  moqc_list_remove(&e->gnode);
  if (moqc_list_empty(&g->entries)) t->env->cache_bytes -= g->bytes;
  if (g->sequence == t->cache_latest) cache_recompute_latest(t);
  moqc_free(e);
  moqc_gstate_unref(g);
}

void moqc_cache_clear(moqc_tstate *t) {
  while (t->nents) moqc_cache_remove(t->ents[t->nents - 1]);
  moqc_timer_stop(t->env->clock, &t->timer);
}

/* Expire cached groups and gaps (gaps.c) and re-arm the timer for the next
 * deadline of either. */
void moqc_cache_expire(moqc_tstate *t) {
  uint64_t now = moqc_clock_now(t->env->clock);
  uint64_t window = moqc_ms_to_ns(t->info.latency_max_ms);
  uint64_t next = UINT64_MAX;
  size_t i = 0;
  while (i < t->nents) {
    moqc_centry *e = t->ents[i];
    uint64_t deadline = moqc_sat_add(e->g->created_ns, window);
    if (e->g->sequence != t->cache_latest && now >= deadline) {
      moqc_cache_remove(e); /* shifts the array: stay at i */
      continue;
    }
    if (e->g->sequence != t->cache_latest && deadline < next) next = deadline;
    i++;
  }
  uint64_t gap_next = moqc_gaps_expire(t, now);
  if (gap_next < next) next = gap_next;
  if (next == UINT64_MAX) moqc_timer_stop(t->env->clock, &t->timer);
  else moqc_timer_start(t->env->clock, &t->timer, next); /* NOMEM: expiry waits for the next insert */
}

void moqc_cache_timer_cb(moqc_timer *tm, void *arg) {
  (void)tm;
  moqc_cache_expire((moqc_tstate *)arg);
}
