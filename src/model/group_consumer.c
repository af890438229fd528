/* moqc model — group consumers: independent cursors over a group's frames,
 * whole-frame reads (zero-copy for frames written whole) and streaming reads
 * (next_frame / read_chunk) for forwarding.
 */
#include <string.h>

#include "core/mem.h"
#include "model/internal.h"
#include "moqc/error.h"

struct moqc_group_consumer {
  moqc_gstate *g;
  moqc_link node;
  moqc_waiter w;
  size_t index;   /* absolute index of the frame being / to be read */
  size_t chunk;   /* streaming read: next chunk of frame `index` */
  bool streaming; /* next_frame() returned this frame */
};

/* ---- group consumer --------------------------------------------------------------- */

moqc_gstate *moqc_group_consumer_state(const moqc_group_consumer *c) { return c->g; }

void moqc_gstate_wake(moqc_gstate *g) {
  moqc_link *it;
  for (it = g->consumers.next; it != &g->consumers; it = it->next)
    moqc_waiter_wake(&MOQC_CONTAINER_OF(it, moqc_group_consumer, node)->w);
}

static moqc_group_consumer *gc_new(moqc_gstate *g, size_t index) {
  moqc_group_consumer *c = moqc_calloc(1, sizeof *c);
  if (!c) return NULL;
  c->g = g;
  c->index = index;
  g->refs++;
  moqc_waiter_init(&c->w, g->env);
  moqc_link_init(&c->node); /* fresh (malloc'd) node */
  moqc_list_push_back(&g->consumers, &c->node);
  return c;
}

moqc_group_consumer *moqc_gstate_consume(moqc_gstate *g) { return gc_new(g, 0); }

moqc_group_consumer *moqc_group_producer_consume(moqc_group_producer *p) {
  return gc_new(moqc_group_producer_state(p), 0);
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
  moqc_gstate *g = c->g;
  if (g->unused && moqc_list_empty(&g->consumers)) moqc_waiter_kick(&g->unused->w);
  moqc_gstate_unref(g);
  moqc_free(c);
}

uint64_t moqc_group_consumer_sequence(const moqc_group_consumer *c) { return c->g->sequence; }
uint64_t moqc_group_consumer_created_ns(const moqc_group_consumer *c) { return c->g->created_ns; }
bool moqc_group_consumer_is_done(const moqc_group_consumer *c) { return moqc_gstate_done(c->g); }
bool moqc_group_consumer_is_datagram(const moqc_group_consumer *c) { return c->g->datagram; }

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
  size_t n = moqc_gframe_nchunks(f);
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
    const moqc_slice *s = moqc_gframe_chunk(f, i);
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
  moqc_gframe *f = NULL;
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
  moqc_gframe *f = NULL;
  int rc = gc_locate(c, &f);
  if (rc) return gc_result(c, rc);
  if (info) *info = f->info;
  c->streaming = true;
  c->chunk = 0;
  return MOQC_OK;
}

int moqc_group_consumer_read_chunk(moqc_group_consumer *c, moqc_slice *out) {
  if (!c->streaming) return MOQC_ERR_STATE;
  moqc_gframe *f = NULL;
  int rc = gc_locate(c, &f);
  if (rc == MOQC_ERR_CLOSED || rc == MOQC_ERR_AGAIN) rc = MOQC_ERR_LAGGED; /* cannot vanish */
  if (rc) return rc;
  if (c->chunk < moqc_gframe_nchunks(f)) {
    *out = moqc_slice_dup(moqc_gframe_chunk(f, c->chunk++));
    return MOQC_OK;
  }
  if (f->complete) return MOQC_ERR_CLOSED;
  return gc_result(c, MOQC_ERR_AGAIN);
}

static bool gc_readable(moqc_group_consumer *c) {
  moqc_gframe *f = NULL;
  int rc = gc_locate(c, &f);
  if (rc != MOQC_OK) return rc != MOQC_ERR_AGAIN;
  if (c->streaming) return c->chunk < moqc_gframe_nchunks(f) || f->complete;
  return f->complete;
}

void moqc_group_consumer_set_waker(moqc_group_consumer *c, moqc_waker_fn fn, void *arg) {
  moqc_waiter_set(&c->w, fn, arg, fn && gc_readable(c));
}
