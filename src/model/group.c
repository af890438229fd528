/* moqc model — groups: the shared group state and the group producer.
 *
 * Frames live in a ring (power-of-two capacity) of moqc_gframe records (see
 * frame.c); a consumer (group_consumer.c) is just an absolute frame index
 * into the ring. The byte cap drops complete frames from the front (offset
 * grows); a consumer whose index fell below offset reads MOQC_ERR_LAGGED.
 */
#include <assert.h>
#include <string.h>

#include "core/mem.h"
#include "model/internal.h"
#include "moqc/error.h"

struct moqc_group_producer {
  moqc_gstate *g;
};

/* ---- state --------------------------------------------------------------------- */

moqc_gstate *moqc_gstate_new(moqc_env *env, uint64_t sequence) {
  moqc_gstate *g = moqc_calloc(1, sizeof *g);
  if (!g) return NULL;
  g->env = env;
  g->refs = 1;
  g->sequence = sequence;
  g->created_ns = moqc_clock_now(env->clock);
  g->max_bytes = MOQC_GROUP_MAX_BYTES_DEFAULT;
  moqc_link_init(&g->consumers);
  moqc_link_init(&g->entries);
  moqc_link_init(&g->owner_node);
  return g;
}

void moqc_gstate_ref(moqc_gstate *g) { g->refs++; }

static void gstate_release_frames(moqc_gstate *g) {
  for (size_t i = 0; i < g->count; i++) moqc_gframe_release(&g->ring[(g->head + i) & (g->cap - 1)]);
  g->offset += g->count;
  g->head = 0;
  g->count = 0;
  g->bytes = 0;
  moqc_gstate_recharge(g);
}

void moqc_gstate_unref(moqc_gstate *g) {
  if (!g) return;
  assert(g->refs > 0 && "group state unref below zero");
  if (--g->refs > 0) return;
  /* Only cache entries and consumers hold references, and both are gone. */
  assert(!g->unused); /* its producer handle held a reference */
  moqc_list_unlink(&g->owner_node);
  gstate_release_frames(g);
  moqc_free(g->ring);
  moqc_free(g);
}

size_t moqc_gstate_cost(const moqc_gstate *g) {
  const moqc_env *env = g->env;
  return g->bytes + env->cache_group_overhead + g->count * env->cache_frame_overhead;
}

void moqc_gstate_recharge(moqc_gstate *g) {
  if (moqc_list_empty(&g->entries)) { /* not cached: not counted */
    assert(g->charged == 0);
    return;
  }
  moqc_env *env = g->env;
  size_t was = g->charged, now = moqc_gstate_cost(g);
  if (now == was) return;
  g->charged = now;
  assert(env->cache_bytes >= was);
  env->cache_bytes = env->cache_bytes - was + now;
  if (g->acct) {
    assert(g->acct->cache_bytes >= was);
    g->acct->cache_bytes = g->acct->cache_bytes - was + now;
  } else {
    assert(env->dflt_bytes >= was);
    env->dflt_bytes = env->dflt_bytes - was + now;
  }
  if (now < was) return;
  moqc_env_enforce_budget(env);
  if (g->acct) moqc_account_enforce(g->acct);
}

static void gstate_uncache(moqc_gstate *g) {
  /* An aborted group is useless to later readers: drop it from every cache
   * (readers that already hold it see the abort). */
  while (!moqc_list_empty(&g->entries))
    moqc_cache_remove(MOQC_CONTAINER_OF(g->entries.next, moqc_centry, gnode));
}

void moqc_gstate_abort(moqc_gstate *g, uint64_t code) {
  if (moqc_gstate_done(g)) return;
  g->refs++; /* removing cache entries may drop the last other reference */
  g->aborted = true;
  g->code = code;
  g->frame_open = false;
  moqc_list_unlink(&g->owner_node);
  g->owner = NULL;
  gstate_release_frames(g);
  gstate_uncache(g);
  moqc_gstate_wake(g);
  moqc_gstate_unref(g);
}

/* Drop complete frames from the front while over the byte cap, always keeping
 * the newest frame so a reader that keeps up never lags. */
void moqc_gstate_trim(moqc_gstate *g) {
  size_t dropped = 0;
  while (g->bytes > g->max_bytes && g->count > 1) {
    moqc_gframe *f = &g->ring[g->head];
    if (!f->complete) break;
    size_t sz = (size_t)f->written;
    moqc_gframe_release(f);
    g->head = (g->head + 1) & (g->cap - 1);
    g->count--;
    g->offset++;
    g->bytes -= sz;
    dropped += sz;
  }
  if (dropped) moqc_gstate_recharge(g);
}

/* A new (empty) frame record at the tail. */
moqc_gframe *moqc_gstate_push_frame(moqc_gstate *g, const moqc_frame_info *info) {
  if (g->count == g->cap) {
    size_t ncap = g->cap ? g->cap * 2 : 8;
    /* Not zeroed: a slot is cleared when it is pushed, and no slot at or past
     * count is read. */
    moqc_gframe *r = moqc_reallocarray(NULL, ncap, sizeof *r);
    if (!r) return NULL;
    for (size_t i = 0; i < g->count; i++) r[i] = g->ring[(g->head + i) & (g->cap - 1)];
    moqc_free(g->ring);
    g->ring = r;
    g->cap = ncap;
    g->head = 0;
  }
  moqc_gframe *f = &g->ring[(g->head + g->count) & (g->cap - 1)];
  memset(f, 0, sizeof *f);
  f->info = *info;
  g->count++;
  moqc_gstate_recharge(g); /* one more frame record (may evict, never g's own record) */
  return f;
}

void moqc_gstate_add_bytes(moqc_gstate *g, size_t n) {
  g->bytes += n;
  if (n) moqc_gstate_recharge(g);
}

int moqc_gstate_writable(const moqc_gstate *g) {
  return (g->aborted || g->finished || g->frame_open) ? MOQC_ERR_STATE : MOQC_OK;
}

/* ---- group producer -------------------------------------------------------------- */

moqc_group_producer *moqc_gstate_produce(moqc_gstate *g) {
  moqc_group_producer *p = moqc_malloc(sizeof *p);
  if (!p) return NULL;
  p->g = g;
  g->refs++;
  g->producers++;
  return p;
}

moqc_gstate *moqc_group_producer_state(const moqc_group_producer *p) { return p->g; }

moqc_group_producer *moqc_group_producer_new(moqc_env *env, uint64_t sequence) {
  moqc_gstate *g = moqc_gstate_new(env, sequence);
  if (!g) return NULL;
  moqc_group_producer *p = moqc_gstate_produce(g);
  moqc_gstate_unref(g);
  return p;
}

moqc_group_producer *moqc_group_producer_clone(moqc_group_producer *p) {
  return moqc_gstate_produce(p->g);
}

void moqc_group_producer_del(moqc_group_producer *p) {
  if (!p) return;
  moqc_gstate *g = p->g;
  assert(g->producers > 0);
  if (g->unused && g->unused->owner == p) (void)moqc_group_producer_set_unused_waker(p, NULL, NULL);
  if (--g->producers == 0 && !moqc_gstate_done(g)) moqc_gstate_abort(g, MOQC_CODE_DROPPED);
  moqc_gstate_unref(g);
  moqc_free(p);
}

uint64_t moqc_group_producer_sequence(const moqc_group_producer *p) { return p->g->sequence; }

int moqc_group_producer_set_unused_waker(moqc_group_producer *p, moqc_waker_fn fn, void *arg) {
  moqc_gstate *g = p->g;
  if (!fn) {
    if (g->unused) {
      moqc_waiter_fini(&g->unused->w);
      moqc_free(g->unused);
      g->unused = NULL;
    }
    return MOQC_OK;
  }
  if (!g->unused) {
    g->unused = moqc_calloc(1, sizeof *g->unused);
    if (!g->unused) return MOQC_ERR_NOMEM;
    moqc_waiter_init(&g->unused->w, g->env);
  }
  g->unused->owner = p;
  moqc_waiter_set(&g->unused->w, fn, arg, moqc_list_empty(&g->consumers));
  return MOQC_OK;
}

bool moqc_group_producer_has_consumers(const moqc_group_producer *p) {
  return !moqc_list_empty(&p->g->consumers);
}

int moqc_group_producer_write_frame(moqc_group_producer *p, const moqc_slice *payload,
                                    uint64_t timestamp) {
  moqc_gstate *g = p->g;
  int rc = moqc_gstate_writable(g);
  if (rc) return rc;
  moqc_frame_info info = {payload->len, timestamp};
  moqc_gframe *f = moqc_gstate_push_frame(g, &info);
  if (!f) return MOQC_ERR_NOMEM;
  if (payload->len) {
    f->first = moqc_slice_dup(payload); /* a reference, not a copy */
    f->written = payload->len;
  }
  f->complete = true;
  moqc_gstate_add_bytes(g, payload->len);
  moqc_gstate_trim(g);
  moqc_gstate_wake(g);
  return MOQC_OK;
}

int moqc_group_producer_write_frame_copy(moqc_group_producer *p, const void *data, size_t len,
                                         uint64_t timestamp) {
  int rc = moqc_gstate_writable(p->g);
  if (rc) return rc;
  moqc_slice s = {moqc_buf_copy(data, len), 0, len};
  if (!s.buf) return MOQC_ERR_NOMEM;
  rc = moqc_group_producer_write_frame(p, &s, timestamp);
  moqc_slice_release(&s);
  return rc;
}

int moqc_group_producer_finish(moqc_group_producer *p) {
  moqc_gstate *g = p->g;
  if (g->aborted || g->frame_open) return MOQC_ERR_STATE;
  if (g->finished) return MOQC_OK;
  g->finished = true;
  moqc_list_unlink(&g->owner_node);
  g->owner = NULL;
  moqc_gstate_wake(g);
  return MOQC_OK;
}

void moqc_group_producer_abort(moqc_group_producer *p, uint64_t code) {
  moqc_gstate_abort(p->g, code);
}

void moqc_group_producer_set_datagram(moqc_group_producer *p) { p->g->datagram = true; }

void moqc_group_producer_set_max_bytes(moqc_group_producer *p, size_t max_bytes) {
  p->g->max_bytes = max_bytes;
  moqc_gstate_trim(p->g);
}
