/* moqc model — track info queries: a track's info without subscribing.
 *
 * A query holds a reference on the track state (not a consumer), so it adds
 * nothing to the producer's demand. It reads the info once it is known:
 * at once for an ordinary track, after accept for an on-demand request, after
 * the source answered for an origin front track. The info stays readable if
 * the track ends afterwards (a publisher that saw no demand may drop the track
 * right after accepting it).
 */
#include "core/mem.h"
#include "model/internal.h"
#include "moqc/error.h"

struct moqc_track_info_query {
  moqc_tstate *t; /* one reference */
  moqc_link node; /* t->queries */
  moqc_waiter w;
};

void moqc_tstate_info_wake(moqc_tstate *t) {
  moqc_link *it;
  for (it = t->queries.next; it != &t->queries; it = it->next)
    moqc_waiter_wake(&MOQC_CONTAINER_OF(it, moqc_track_info_query, node)->w);
}

moqc_track_info_query *moqc_tstate_query(moqc_tstate *t) {
  moqc_track_info_query *q = moqc_malloc(sizeof *q);
  if (!q) return NULL;
  q->t = t;
  t->refs++;
  moqc_waiter_init(&q->w, t->env);
  moqc_link_init(&q->node); /* fresh (malloc'd) node */
  moqc_list_push_back(&t->queries, &q->node);
  t->nqueries++;
  return q;
}

void moqc_track_info_query_del(moqc_track_info_query *q) {
  if (!q) return;
  moqc_tstate *t = q->t;
  moqc_waiter_fini(&q->w);
  moqc_list_remove(&q->node);
  t->nqueries--;
  moqc_free(q);
  /* q's reference keeps t alive through the hook (an origin forwarder kept
   * only for its queries tears itself down). */
  if (t->nqueries == 0) moqc_tstate_unused(t);
  moqc_tstate_unref(t);
}

const char *moqc_track_info_query_name(const moqc_track_info_query *q) { return q->t->name; }

static int query_state(const moqc_tstate *t) {
  if (t->info_known) return MOQC_OK;
  if (t->aborted) return moqc_err_from_code(t->code);
  if (!t->pending && t->producers == 0) return MOQC_ERR_CLOSED; /* ended, info never known */
  return MOQC_ERR_AGAIN;
}

int moqc_track_info_query_get(moqc_track_info_query *q, moqc_track_info *out) {
  int rc = query_state(q->t);
  if (rc == MOQC_OK && out) *out = q->t->info;
  if (rc == MOQC_ERR_AGAIN) moqc_waiter_park(&q->w);
  return rc;
}

uint64_t moqc_track_info_query_code(const moqc_track_info_query *q) {
  return !q->t->info_known && q->t->aborted ? q->t->code : MOQC_CODE_CANCEL;
}

void moqc_track_info_query_set_waker(moqc_track_info_query *q, moqc_waker_fn fn, void *arg) {
  moqc_waiter_set(&q->w, fn, arg, fn && query_state(q->t) != MOQC_ERR_AGAIN);
}
