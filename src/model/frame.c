/* moqc model — frames: the per-frame chunk records of a group, and the
 * chunked frame producer. A frame's chunks are slices (references to the
 * writer's bufs); most frames have exactly one, stored inline.
 */
#include <string.h>

#include "core/mem.h"
#include "model/internal.h"
#include "moqc/error.h"

/* ---- frame records ------------------------------------------------------------- */

moqc_gframe *moqc_gstate_frame(moqc_gstate *g, size_t abs_index) {
  if (abs_index < g->offset || abs_index - g->offset >= g->count) return NULL;
  return &g->ring[(g->head + (abs_index - g->offset)) & (g->cap - 1)];
}

size_t moqc_gframe_nchunks(const moqc_gframe *f) { return (f->first.buf ? 1u : 0u) + f->nmore; }

const moqc_slice *moqc_gframe_chunk(const moqc_gframe *f, size_t i) {
  return i == 0 ? &f->first : &f->more[i - 1];
}

void moqc_gframe_release(moqc_gframe *f) {
  moqc_slice_release(&f->first);
  for (uint32_t i = 0; i < f->nmore; i++) moqc_slice_release(&f->more[i]);
  moqc_free(f->more);
  memset(f, 0, sizeof *f);
}

/* Append one chunk reference to f. */
int moqc_gframe_push(moqc_gframe *f, const moqc_slice *chunk) {
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
  int rc = moqc_gframe_push(f, chunk);
  if (rc) return rc;
  moqc_gstate_add_bytes(g, chunk->len);
  moqc_gstate_wake(g);
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
  moqc_gstate_trim(g);
  moqc_gstate_wake(g);
  return MOQC_OK;
}

void moqc_frame_producer_del(moqc_frame_producer *fp) {
  if (!fp) return;
  if (!fp->done) moqc_gstate_abort(fp->g, MOQC_CODE_WRONG_SIZE);
  moqc_gstate_unref(fp->g);
  moqc_free(fp);
}

moqc_frame_producer *moqc_group_producer_create_frame(moqc_group_producer *p,
                                                      const moqc_frame_info *info, int *err) {
  moqc_gstate *g = moqc_group_producer_state(p);
  int rc = moqc_gstate_writable(g);
  moqc_frame_producer *fp = NULL;
  if (rc) goto out;
  rc = MOQC_ERR_NOMEM;
  fp = moqc_malloc(sizeof *fp);
  if (!fp) goto out;
  if (!moqc_gstate_push_frame(g, info)) {
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
  moqc_gstate_wake(g); /* streaming readers can see the header */
out:
  if (err) *err = rc;
  return fp;
}
