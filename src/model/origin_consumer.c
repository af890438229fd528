/* moqc model — origin announcement consumers.
 *
 * Each consumer has its own queue of announcements. The origin only ever
 * emits alternating active / ended per path, and the consumer starts with the
 * active set, so the queue alternates too. To keep the queue bounded for a
 * consumer that does not read, an `ended` cancels a still-queued `active` of
 * the same path (the consumer never hears of it): per path at most
 * [ended, active] is pending. The newest pending event of each path is
 * indexed (c->last), so an emit costs one lookup, not a scan of the queue (a
 * consumer that has not read 4,096 announcements yet made each new one cost
 * 4,096 string compares).
 */
#include <string.h>

#include "core/mem.h"
#include "model/origin.h"
#include "moqc/error.h"
#include "moqc/path.h"

moqc_origin_consumer *moqc_oconsumer_new(moqc_ocore *core, const moqc_oscope *scope,
                                         const char *prefix) {
  char abs[MOQC_PATH_MAX_LEN + 1];
  if (moqc_oscope_abs(scope, prefix, abs, sizeof abs) != MOQC_OK) return NULL;
  moqc_origin_consumer *c = moqc_calloc(1, sizeof *c);
  if (!c) return NULL;
  c->prefix = moqc_strdup(abs);
  if (!c->prefix || moqc_oscope_copy(&c->scope, scope) != MOQC_OK) {
    moqc_free(c->prefix);
    moqc_free(c);
    return NULL;
  }
  c->core = core;
  core->weak++;
  moqc_link_init(&c->events);
  moqc__smap_init(&c->last, 0);
  moqc_waiter_init(&c->w, core->env);
  moqc_link_init(&c->node); /* fresh (malloc'd) node */
  moqc_list_push_back(&core->consumers, &c->node);
  return c;
}

static void event_free(moqc_oevent *ev) {
  if (!ev) return;
  moqc_list_unlink(&ev->node);
  moqc_free(ev->path);
  moqc_free(ev);
}

/* ev leaves the queue: unindex it. The newest of its path: its predecessor
 * (if any) becomes the newest; the oldest (popped by next): the one after it
 * forgets it. */
static void event_unqueue(moqc_origin_consumer *c, moqc_oevent *ev) {
  size_t len = strlen(ev->path);
  moqc_oevent *newest = moqc__smap_find(&c->last, ev->path, len);
  if (newest == ev) {
    moqc__smap_remove(&c->last, ev->path, len);
    /* OOM (a long path's key copy): the predecessor stays queued, unindexed */
    if (ev->prev_same) (void)moqc__smap_insert(&c->last, ev->path, len, ev->prev_same);
  } else {
    for (moqc_oevent *it = newest; it; it = it->prev_same) {
      if (it->prev_same != ev) continue;
      it->prev_same = ev->prev_same;
      break;
    }
  }
  ev->prev_same = NULL;
}

void moqc_origin_consumer_del(moqc_origin_consumer *c) {
  if (!c) return;
  moqc_waiter_fini(&c->w);
  moqc_list_remove(&c->node);
  while (!moqc_list_empty(&c->events))
    event_free(MOQC_CONTAINER_OF(c->events.next, moqc_oevent, node));
  moqc__smap_free(&c->last);
  event_free(c->cur);
  moqc_oscope_fini(&c->scope);
  moqc_free(c->prefix);
  moqc_ocore_unref_weak(c->core);
  moqc_free(c);
}

/* The last queued event for path, or NULL. */
static moqc_oevent *events_last(moqc_origin_consumer *c, const char *rel) {
  return moqc__smap_find(&c->last, rel, strlen(rel));
}

void moqc_oconsumer_emit(moqc_origin_consumer *c, const char *abs, bool active,
                         const moqc_route *route, bool restart) {
  char rel[MOQC_PATH_MAX_LEN + 1];
  if (!moqc_path_has_prefix(abs, c->prefix) || !moqc_oscope_allows(&c->scope, abs)) return;
  if (moqc_oscope_rel(&c->scope, abs, rel, sizeof rel) != MOQC_OK) return;
  moqc_oevent *last = events_last(c, rel);
  if (!active && last && last->active) {
    if (last->restart) { /* the consumer knows the path: it must hear the end */
      last->active = last->restart = false;
      return;
    }
    event_unqueue(c, last);
    event_free(last); /* never seen: cancel */
    return;
  }
  if (active && restart && last && last->active) { /* collapse: newest route */
    if (route) last->route = *route;
    return;
  }
  moqc_oevent *ev = moqc_calloc(1, sizeof *ev);
  if (!ev) return;
  ev->path = moqc_strdup(rel);
  if (!ev->path) {
    moqc_free(ev);
    return;
  }
  ev->active = active;
  ev->restart = active && restart;
  if (active && route) ev->route = *route;
  size_t len = strlen(rel);
  if (last) moqc__smap_remove(&c->last, rel, len);
  if (moqc__smap_insert(&c->last, rel, len, ev) != MOQC_OK) { /* OOM drops it */
    if (last) (void)moqc__smap_insert(&c->last, rel, len, last);
    moqc_free(ev->path);
    moqc_free(ev);
    return;
  }
  ev->prev_same = last;
  moqc_link_init(&ev->node); /* fresh (malloc'd) node */
  moqc_list_push_back(&c->events, &ev->node);
  moqc_waiter_wake(&c->w);
}

void moqc_oconsumer_closed(moqc_origin_consumer *c) { moqc_waiter_kick(&c->w); }

void moqc_origin_consumer_set_waker(moqc_origin_consumer *c, moqc_waker_fn fn, void *arg) {
  bool ready = !moqc_list_empty(&c->events) || c->core->closed;
  moqc_waiter_set(&c->w, fn, arg, fn && ready);
}

int moqc_origin_consumer_next(moqc_origin_consumer *c, moqc_announce *out) {
  event_free(c->cur);
  c->cur = NULL;
  if (moqc_list_empty(&c->events)) {
    if (c->core->closed) return MOQC_ERR_CLOSED;
    moqc_waiter_park(&c->w);
    return MOQC_ERR_AGAIN;
  }
  moqc_oevent *ev = MOQC_CONTAINER_OF(c->events.next, moqc_oevent, node);
  moqc_list_remove(&ev->node);
  event_unqueue(c, ev);
  c->cur = ev;
  out->path = ev->path;
  out->active = ev->active;
  out->route = ev->active ? &ev->route : NULL;
  out->restart = ev->restart;
  return MOQC_OK;
}

moqc_broadcast_consumer *moqc_origin_consumer_request(moqc_origin_consumer *c, const char *path,
                                                      int *err) {
  char abs[MOQC_PATH_MAX_LEN + 1];
  int rc = path ? moqc_oscope_abs(&c->scope, path, abs, sizeof abs) : MOQC_ERR_INVAL;
  if (rc == MOQC_OK &&
      (!moqc_path_has_prefix(abs, c->prefix) || !moqc_oscope_allows(&c->scope, abs)))
    rc = MOQC_ERR_UNROUTABLE;
  if (rc) {
    if (err) *err = rc;
    return NULL;
  }
  return moqc_ocore_request(c->core, abs, err);
}
