/* moqc model — groups: an ordered run of frames, fanned out to N consumers.
 *
 * Frames live in a ring (power-of-two capacity) of moqc_gframe records; each
 * record holds the frame's chunks as slices (references, never copies). A
 * consumer is just an absolute frame index into the ring. The byte cap drops
 * complete frames from the front (offset grows); a consumer whose index fell
 * below offset reads MOQC_ERR_LAGGED.
 */
#include <string.h>

#include "core/mem.h"
#include "model/internal.h"
#include "moqc/error.h"

struct moqc_group_producer {
  moqc_gstate *g;
};

struct moqc_group_consumer {
  moqc_gstate *g;
  moqc_link node;
  moqc_waiter w;
  size_t index;    /* absolute index of the frame being / to be read */
  size_t chunk;    /* streaming read: next chunk of frame `index` */
  bool streaming;  /* next_frame() returned this frame */
};

/* ---- frame records ------------------------------------------------------------- */

moqc_gframe *moqc_gstate_frame(moqc_gstate *g, size_t abs_index);

moqc_gframe *moqc_gstate_frame(moqc_gstate *g, size_t abs_index) {
  if (abs_index < g->offset || abs_index - g->offset >= g->count) return NULL;
  return &g->ring[(g->head + (abs_index - g->offset)) & (g->cap - 1)];
}

static size_t gframe_nchunks(const moqc_gframe *f) { return (f->first.buf ? 1u : 0u) + f->nmore; }

static const moqc_slice *gframe_chunk(const moqc_gframe *f, size_t i) {
  return i == 0 ? &f->first : &f->more[i - 1];
}

static void gframe_release(moqc_gframe *f) {
  moqc_slice_release(&f->first);
  for (uint32_t i = 0; i < f->nmore; i++) moqc_slice_release(&f->more[i]);
  moqc_free(f->more);
  memset(f, 0, sizeof *f);
}

/* Append one chunk reference to f. */
static int gframe_push(moqc_gframe *f, const moqc_slice *chunk) {
  if (!f->first.buf) {
    f->first = moqc_slice_dup(chunk);
  } else {
    if (f->nmore == f->capmore) {
      uint32_t ncap = f->capmore ? f->capmore * 2 : 4;
      moqc_slice *m = moqc_reallocarray(f->more, ncap, sizeof *m);
      if (!m) return MOQC_ERR_NOMEM;
      f->more = m;
      f->capmore = ncap;
    }
    f->more[f->nmore++] = moqc_slice_dup(chunk);
  }
  f->written += chunk->len;
  return MOQC_OK;
}

/* ---- state --------------------------------------------------------------------- */

static void gstate_wake(moqc_gstate *g) {
  moqc_link *it;
  for (it = g->consumers.next; it != &g->consumers; it = it->next)
    moqc_waiter_wake(&MOQC_CONTAINER_OF(it, moqc_group_consumer, node)->w);
}

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
  size_t dropped = g->bytes;
  for (size_t i = 0; i < g->count; i++) gframe_release(&g->ring[(g->head + i) & (g->cap - 1)]);
  g->offset += g->count;
  g->head = 0;
  g->count = 0;
  g->bytes = 0;
  moqc_gstate_account(g, 0, dropped);
}

void moqc_gstate_unref(moqc_gstate *g) {
  if (!g || --g->refs > 0) return;
  /* Only cache entries and consumers hold references, and both are gone. */
  moqc_list_remove(&g->owner_node);
  gstate_release_frames(g);
  moqc_free(g->ring);
  moqc_free(g);
}

void moqc_gstate_account(moqc_gstate *g, size_t added, size_t removed) {
  if (moqc_list_empty(&g->entries)) return; /* not cached: not counted */
  moqc_env *env = g->env;
  env->cache_bytes = env->cache_bytes + added - removed;
  if (added > removed) moqc_env_enforce_budget(env);
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
  moqc_list_remove(&g->owner_node);
  g->owner = NULL;
  gstate_release_frames(g);
  gstate_uncache(g);
  gstate_wake(g);
  moqc_gstate_unref(g);
}

/* Drop complete frames from the front while over the byte cap, always keeping
 * the newest frame so a reader that keeps up never lags. */
static void gstate_trim(moqc_gstate *g) {
  size_t dropped = 0;
  while (g->bytes > g->max_bytes && g->count > 1) {
    moqc_gframe *f = &g->ring[g->head];
    if (!f->complete) break;
    size_t sz = (size_t)f->written;
    gframe_release(f);
    g->head = (g->head + 1) & (g->cap - 1);
    g->count--;
    g->offset++;
    g->bytes -= sz;
    dropped += sz;
  }
  if (dropped) moqc_gstate_account(g, 0, dropped);
}

/* A new (empty) frame record at the tail. */
static moqc_gframe *gstate_push_frame(moqc_gstate *g, const moqc_frame_info *info) {
  if (g->count == g->cap) {
    size_t ncap = g->cap ? g->cap * 2 : 8;
    moqc_gframe *r = moqc_calloc(ncap, sizeof *r);
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
  return f;
}

static void gstate_add_bytes(moqc_gstate *g, size_t n) {
  g->bytes += n;
  moqc_gstate_account(g, n, 0);
}

static int gstate_writable(const moqc_gstate *g) {
  return (g->aborted || g->finished || g->frame_open) ? MOQC_ERR_STATE : MOQC_OK;
}

/* ---- frame producer -------------------------------------------------------------- */

struct moqc_frame_producer {
  moqc_gstate *g;
  size_t index;
  bool done;
};

int moqc_frame_producer_write(moqc_frame_producer *fp, const moqc_slice *chunk) {
  moqc_gstate *g = fp->g;
  if (fp->done || g->aborted) return MOQC_ERR_STATE;
  moqc_gframe *f = moqc_gstate_frame(g, fp->index);
  if (!f) return MOQC_ERR_STATE;
  if (chunk->len > f->info.size - f->written) return MOQC_ERR_WRONG_SIZE;
  if (chunk->len == 0) return MOQC_OK;
  int rc = gframe_push(f, chunk);
  if (rc) return rc;
  gstate_add_bytes(g, chunk->len);
  gstate_wake(g);
  return MOQC_OK;
}

int moqc_frame_producer_write_copy(moqc_frame_producer *fp, const void *p, size_t len) {
  if (fp->done || fp->g->aborted) return MOQC_ERR_STATE;
  moqc_gframe *f = moqc_gstate_frame(fp->g, fp->index);
  if (!f) return MOQC_ERR_STATE;
  if (len > f->info.size - f->written) return MOQC_ERR_WRONG_SIZE;
  if (len == 0) return MOQC_OK;
  moqc_slice s = {moqc_buf_copy(p, len), 0, len};
  if (!s.buf) return MOQC_ERR_NOMEM;
  int rc = moqc_frame_producer_write(fp, &s);
  moqc_slice_release(&s);
  return rc;
}

int moqc_frame_producer_finish(moqc_frame_producer *fp) {
  moqc_gstate *g = fp->g;
  if (fp->done || g->aborted) return MOQC_ERR_STATE;
  moqc_gframe *f = moqc_gstate_frame(g, fp->index);
  if (!f) return MOQC_ERR_STATE;
  fp->done = true;
  if (f->written != f->info.size) {
    moqc_gstate_abort(g, MOQC_CODE_WRONG_SIZE);
    return MOQC_ERR_WRONG_SIZE;
  }
  f->complete = true;
  g->frame_open = false;
  gstate_trim(g);
  gstate_wake(g);
  return MOQC_OK;
}

void moqc_frame_producer_del(moqc_frame_producer *fp) {
  if (!fp) return;
  if (!fp->done) moqc_gstate_abort(fp->g, MOQC_CODE_WRONG_SIZE);
  moqc_gstate_unref(fp->g);
  moqc_free(fp);
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
  if (--g->producers == 0 && !moqc_gstate_done(g)) moqc_gstate_abort(g, MOQC_CODE_DROPPED);
  moqc_gstate_unref(g);
  moqc_free(p);
}

uint64_t moqc_group_producer_sequence(const moqc_group_producer *p) { return p->g->sequence; }

int moqc_group_producer_write_frame(moqc_group_producer *p, const moqc_slice *payload,
                                    uint64_t timestamp) {
  moqc_gstate *g = p->g;
  int rc = gstate_writable(g);
  if (rc) return rc;
  moqc_frame_info info = {payload->len, timestamp};
  moqc_gframe *f = gstate_push_frame(g, &info);
  if (!f) return MOQC_ERR_NOMEM;
  if (payload->len) {
    f->first = moqc_slice_dup(payload); /* a reference, not a copy */
    f->written = payload->len;
  }
  f->complete = true;
  gstate_add_bytes(g, payload->len);
  gstate_trim(g);
  gstate_wake(g);
  return MOQC_OK;
}

int moqc_group_producer_write_frame_copy(moqc_group_producer *p, const void *data, size_t len,
                                         uint64_t timestamp) {
  int rc = gstate_writable(p->g);
  if (rc) return rc;
  moqc_slice s = {moqc_buf_copy(data, len), 0, len};
  if (!s.buf) return MOQC_ERR_NOMEM;
  rc = moqc_group_producer_write_frame(p, &s, timestamp);
  moqc_slice_release(&s);
  return rc;
}

moqc_frame_producer *moqc_group_producer_create_frame(moqc_group_producer *p,
                                                      const moqc_frame_info *info, int *err) {
  moqc_gstate *g = p->g;
  int rc = gstate_writable(g);
  moqc_frame_producer *fp = NULL;
  if (rc) goto out;
  rc = MOQC_ERR_NOMEM;
  fp = moqc_malloc(sizeof *fp);
  if (!fp) goto out;
  if (!gstate_push_frame(g, info)) {
    moqc_free(fp);
    fp = NULL;
    goto out;
  }
  fp->g = g;
  fp->index = g->offset + g->count - 1;
  fp->done = false;
  g->refs++;
  g->frame_open = true;
  rc = MOQC_OK;
  gstate_wake(g); /* streaming readers can see the header */
out:
  if (err) *err = rc;
  return fp;
}

int moqc_group_producer_finish(moqc_group_producer *p) {
  moqc_gstate *g = p->g;
  if (g->aborted || g->frame_open) return MOQC_ERR_STATE;
  if (g->finished) return MOQC_OK;
  g->finished = true;
  moqc_list_remove(&g->owner_node);
  g->owner = NULL;
  gstate_wake(g);
  return MOQC_OK;
}

void moqc_group_producer_abort(moqc_group_producer *p, uint64_t code) {
  moqc_gstate_abort(p->g, code);
}

void moqc_group_producer_set_max_bytes(moqc_group_producer *p, size_t max_bytes) {
  p->g->max_bytes = max_bytes;
  gstate_trim(p->g);
}

/* ---- group consumer --------------------------------------------------------------- */

moqc_gstate *moqc_group_consumer_state(const moqc_group_consumer *c) { return c->g; }

static moqc_group_consumer *gc_new(moqc_gstate *g, size_t index) {
  moqc_group_consumer *c = moqc_calloc(1, sizeof *c);
  if (!c) return NULL;
  c->g = g;
  c->index = index;
  g->refs++;
  moqc_waiter_init(&c->w, g->env);
  moqc_list_push_back(&g->consumers, &c->node);
  return c;
}

moqc_group_consumer *moqc_gstate_consume(moqc_gstate *g) { return gc_new(g, 0); }

moqc_group_consumer *moqc_group_producer_consume(moqc_group_producer *p) {
  return gc_new(p->g, 0);
}

moqc_group_consumer *moqc_group_consumer_clone(const moqc_group_consumer *c) {
  moqc_group_consumer *n = gc_new(c->g, c->index);
  if (n) {
    n->chunk = c->chunk;
    n->streaming = c->streaming;
  }
  return n;
}

void moqc_group_consumer_del(moqc_group_consumer *c) {
  if (!c) return;
  moqc_waiter_fini(&c->w);
  moqc_list_remove(&c->node);
  moqc_gstate_unref(c->g);
  moqc_free(c);
}

uint64_t moqc_group_consumer_sequence(const moqc_group_consumer *c) { return c->g->sequence; }
uint64_t moqc_group_consumer_created_ns(const moqc_group_consumer *c) { return c->g->created_ns; }
bool moqc_group_consumer_is_done(const moqc_group_consumer *c) { return moqc_gstate_done(c->g); }

uint64_t moqc_group_consumer_code(const moqc_group_consumer *c) {
  return c->g->aborted ? c->g->code : MOQC_CODE_CANCEL;
}

size_t moqc_group_consumer_frames_available(const moqc_group_consumer *c) {
  const moqc_gstate *g = c->g;
  return g->offset + g->count - (g->frame_open ? 1u : 0u);
}

/* Resolve the frame at the cursor: MOQC_OK with *out (possibly incomplete),
 * or the terminal / would-block result. */
static int gc_locate(moqc_group_consumer *c, moqc_gframe **out) {
  moqc_gstate *g = c->g;
  if (g->aborted) return moqc_err_from_code(g->code);
  if (c->index < g->offset) return MOQC_ERR_LAGGED;
  *out = moqc_gstate_frame(g, c->index);
  if (*out) return MOQC_OK;
  return g->finished ? MOQC_ERR_CLOSED : MOQC_ERR_AGAIN;
}

static int gc_result(moqc_group_consumer *c, int rc) {
  if (rc == MOQC_ERR_AGAIN) moqc_waiter_park(&c->w);
  return rc;
}

/* Join a chunked frame into one new buf (the one copy on this path). */
static int gframe_join(const moqc_gframe *f, moqc_slice *out) {
  size_t n = gframe_nchunks(f);
  if (n == 0) {
    *out = MOQC_SLICE_EMPTY;
    return MOQC_OK;
  }
  if (n == 1) {
    *out = moqc_slice_dup(&f->first);
    return MOQC_OK;
  }
  uint8_t *w;
  moqc_buf *b = moqc_buf_alloc((size_t)f->info.size, &w);
  if (!b) return MOQC_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) {
    const moqc_slice *s = gframe_chunk(f, i);
    memcpy(w, moqc_slice_ptr(s), s->len);
    w += s->len;
  }
  *out = (moqc_slice){b, 0, (size_t)f->info.size};
  return MOQC_OK;
}

int moqc_group_consumer_read_frame(moqc_group_consumer *c, moqc_frame *out) {
  if (c->streaming) { /* finish a streamed frame: move past it */
    c->index++;
    c->streaming = false;
    c->chunk = 0;
  }
  moqc_gframe *f;
  int rc = gc_locate(c, &f);
  if (rc) return gc_result(c, rc);
  if (!f->complete) return gc_result(c, MOQC_ERR_AGAIN);
  rc = gframe_join(f, &out->payload);
  if (rc) return rc;
  out->info = f->info;
  c->index++;
  return MOQC_OK;
}

int moqc_group_consumer_next_frame(moqc_group_consumer *c, moqc_frame_info *info) {
  if (c->streaming) {
    c->index++;
    c->streaming = false;
    c->chunk = 0;
  }
  moqc_gframe *f;
  int rc = gc_locate(c, &f);
  if (rc) return gc_result(c, rc);
  if (info) *info = f->info;
  c->streaming = true;
  c->chunk = 0;
  return MOQC_OK;
}

int moqc_group_consumer_read_chunk(moqc_group_consumer *c, moqc_slice *out) {
  if (!c->streaming) return MOQC_ERR_STATE;
  moqc_gframe *f;
  int rc = gc_locate(c, &f);
  if (rc == MOQC_ERR_CLOSED || rc == MOQC_ERR_AGAIN) rc = MOQC_ERR_LAGGED; /* cannot vanish */
  if (rc) return rc;
  if (c->chunk < gframe_nchunks(f)) {
    *out = moqc_slice_dup(gframe_chunk(f, c->chunk++));
    return MOQC_OK;
  }
  if (f->complete) return MOQC_ERR_CLOSED;
  return gc_result(c, MOQC_ERR_AGAIN);
}

static bool gc_readable(moqc_group_consumer *c) {
  moqc_gframe *f;
  int rc = gc_locate(c, &f);
  if (rc != MOQC_OK) return rc != MOQC_ERR_AGAIN;
  if (c->streaming) return c->chunk < gframe_nchunks(f) || f->complete;
  return f->complete;
}

void moqc_group_consumer_set_waker(moqc_group_consumer *c, moqc_waker_fn fn, void *arg) {
  moqc_waiter_set(&c->w, fn, arg, fn && gc_readable(c));
}
