/* moqc core — refcounted immutable buffers and slices.
 *
 * Layout: moqc_buf_copy / moqc_buf_alloc make ONE allocation, the header
 * followed by the bytes (data points just past the header). moqc_buf_wrap
 * allocates only the header and points data at the caller's memory.
 * Refcounts are plain (one loop thread owns a buf); the statistics counters
 * are C11 atomics so that reading them from a metrics thread is not a race.
 */
#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "core/mem.h"
#include "moqc/buf.h"
#include "moqc/error.h"

#define BUF_F_INLINE 0x1u /* bytes live in the same allocation as the header */
#define BUF_F_WRAP 0x2u   /* bytes belong to the caller; release() on last unref */

static _Atomic uint64_t g_bufs_live;
static _Atomic uint64_t g_bytes_live;
static _Atomic uint64_t g_bytes_copied;

static moqc_buf *buf_new_inline(size_t len) {
  if (len > SIZE_MAX - sizeof(moqc_buf)) return NULL;
  moqc_buf *b = moqc_malloc(sizeof(moqc_buf) + len);
  if (!b) return NULL;
  b->data = (const uint8_t *)(b + 1);
  b->len = len;
  b->refcnt = 1;
  b->flags = BUF_F_INLINE;
  b->release = NULL;
  b->ctx = NULL;
  atomic_fetch_add_explicit(&g_bufs_live, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&g_bytes_live, len, memory_order_relaxed);
  return b;
}

moqc_buf *moqc_buf_copy(const void *data, size_t len) {
  if (!data && len) return NULL;
  moqc_buf *b = buf_new_inline(len);
  if (!b) return NULL;
  if (len) memcpy((uint8_t *)(b + 1), data, len);
  atomic_fetch_add_explicit(&g_bytes_copied, len, memory_order_relaxed);
  return b;
}

moqc_buf *moqc_buf_alloc(size_t len, uint8_t **wptr) {
  moqc_buf *b = buf_new_inline(len);
  if (wptr) *wptr = b ? (uint8_t *)(b + 1) : NULL;
  return b;
}

moqc_buf *moqc_buf_wrap(const void *data, size_t len, moqc_buf_release_fn release, void *ctx) {
  if (!data && len) return NULL;
  moqc_buf *b = moqc_malloc(sizeof *b);
  if (!b) return NULL;
  b->data = data;
  b->len = len;
  b->refcnt = 1;
  b->flags = BUF_F_WRAP;
  b->release = release;
  b->ctx = ctx;
  atomic_fetch_add_explicit(&g_bufs_live, 1, memory_order_relaxed);
  return b;
}

moqc_buf *moqc_buf_ref(moqc_buf *buf) {
  if (buf) {
    assert(buf->refcnt > 0 && buf->refcnt < UINT32_MAX);
    buf->refcnt++;
  }
  return buf;
}

void moqc_buf_unref(moqc_buf *buf) {
  if (!buf) return;
  assert(buf->refcnt > 0);
  if (--buf->refcnt > 0) return;
  if (buf->flags & BUF_F_WRAP) {
    if (buf->release) buf->release(buf->ctx, buf->data, buf->len);
  } else {
    atomic_fetch_sub_explicit(&g_bytes_live, buf->len, memory_order_relaxed);
  }
  atomic_fetch_sub_explicit(&g_bufs_live, 1, memory_order_relaxed);
  moqc_free(buf);
}

/* off/len lie within [0, total) without overflowing. */
static int range_ok(size_t total, size_t off, size_t len) {
  return off <= total && len <= total - off;
}

#ifndef NDEBUG
/* A slice in a consistent state: within its buf (or empty without one). */
static bool slice_ok(const moqc_slice *s) {
  return s->buf ? s->buf->refcnt > 0 && range_ok(s->buf->len, s->off, s->len) != 0 : s->len == 0;
}
#endif

int moqc_slice_make(moqc_slice *dst, moqc_buf *buf, size_t off, size_t len) {
  if (!dst) return MOQC_ERR_INVAL;
  if (!buf) {
    if (off || len) return MOQC_ERR_INVAL;
    *dst = MOQC_SLICE_EMPTY;
    return MOQC_OK;
  }
  if (!range_ok(buf->len, off, len)) return MOQC_ERR_INVAL;
  dst->buf = moqc_buf_ref(buf);
  dst->off = off;
  dst->len = len;
  return MOQC_OK;
}

int moqc_slice_sub(moqc_slice *dst, const moqc_slice *src, size_t off, size_t len) {
  if (!dst || !src) return MOQC_ERR_INVAL;
  assert(slice_ok(src) && "sub-slice of a slice out of its buf's bounds");
  if (!range_ok(src->len, off, len)) return MOQC_ERR_INVAL;
  if (!src->buf) {
    *dst = MOQC_SLICE_EMPTY;
    return MOQC_OK;
  }
  dst->buf = moqc_buf_ref(src->buf);
  dst->off = src->off + off;
  dst->len = len;
  return MOQC_OK;
}

moqc_slice moqc_slice_dup(const moqc_slice *s) {
  assert(slice_ok(s) && "duplicating a slice out of its buf's bounds");
  moqc_slice d = *s;
  moqc_buf_ref(d.buf);
  return d;
}

void moqc_slice_release(moqc_slice *s) {
  if (!s) return;
  assert(slice_ok(s) && "releasing a slice out of its buf's bounds");
  moqc_buf_unref(s->buf);
  *s = MOQC_SLICE_EMPTY;
}

moqc_buf_stats moqc_buf_get_stats(void) {
  moqc_buf_stats st;
  st.bufs_live = atomic_load_explicit(&g_bufs_live, memory_order_relaxed);
  st.bytes_live = atomic_load_explicit(&g_bytes_live, memory_order_relaxed);
  st.bytes_copied = atomic_load_explicit(&g_bytes_copied, memory_order_relaxed);
  return st;
}
