/* moqc — refcounted immutable byte buffers and zero-copy slices.
 *
 * A moqc_buf is immutable once created (the bytes never change) and shared by
 * reference counting. Received payloads are copied exactly once into a buf;
 * caches, groups and every subscriber's send queue hold references to it.
 *
 * Threading: a buf's refcount is NOT atomic. A buf belongs to one event loop
 * thread at a time; hand it to another thread only by transferring a reference
 * through a synchronised queue (see model.h, moqc_proxy).
 *
 * Memory: all library allocations go through the allocator set with
 * moqc_set_mem() (default: malloc/free). The library never aborts on OOM.
 */
#ifndef MOQC_BUF_H
#define MOQC_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "moqc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- allocator ---------------------------------------------------------- */

typedef struct moqc_mem {
  void *user;
  void *(*malloc)(size_t size, void *user);
  void (*free)(void *ptr, void *user);
  void *(*calloc)(size_t nmemb, size_t size, void *user);
  void *(*realloc)(void *ptr, size_t size, void *user);
} moqc_mem;

/* Install a process-wide allocator (copied). NULL restores the default. Call it
 * before creating any moqc object; changing it while objects exist is undefined. */
MOQC_API void moqc_set_mem(const moqc_mem *mem);
/* The allocator in force. Never NULL. */
MOQC_API const moqc_mem *moqc_get_mem(void);

/* ---- buffers ----------------------------------------------------------- */

/* Release callback for moqc_buf_wrap: called once, when the last reference goes. */
typedef void (*moqc_buf_release_fn)(void *ctx, const uint8_t *data, size_t len);

typedef struct moqc_buf {
  /* Read-only for users. */
  const uint8_t *data;
  size_t len;
  /* Private. */
  uint32_t refcnt;
  uint32_t flags;
  moqc_buf_release_fn release;
  void *ctx;
} moqc_buf;

/* New buffer holding a copy of data[0..len) (the one ingest copy).
 * data may be NULL when len is 0. Returns a buf with refcount 1, or NULL on OOM.
 * The caller owns the returned reference. */
MOQC_API moqc_buf *moqc_buf_copy(const void *data, size_t len);

/* New buffer of len bytes, uninitialised; *wptr receives a writable pointer the
 * caller fills before sharing the buf (then it is immutable). NULL on OOM. */
MOQC_API moqc_buf *moqc_buf_alloc(size_t len, uint8_t **wptr);

/* Adopt caller memory without copying. release(ctx, data, len) is called when
 * the last reference is dropped (release may be NULL for static memory).
 * Returns NULL on OOM; in that case release is NOT called and the caller
 * still owns data. */
MOQC_API moqc_buf *moqc_buf_wrap(const void *data, size_t len, moqc_buf_release_fn release,
                                 void *ctx);

/* Add a reference; returns buf. buf may be NULL (returns NULL). */
MOQC_API moqc_buf *moqc_buf_ref(moqc_buf *buf);
/* Drop a reference; frees on the last one. NULL is a no-op. */
MOQC_API void moqc_buf_unref(moqc_buf *buf);

/* ---- slices ------------------------------------------------------------ */

/* A view of part of a buf. A slice with buf != NULL holds one reference. */
typedef struct moqc_slice {
  moqc_buf *buf;
  size_t off;
  size_t len;
} moqc_slice;

#define MOQC_SLICE_EMPTY ((moqc_slice){NULL, 0, 0})

/* Make a slice of buf[off..off+len), taking a new reference.
 * Returns MOQC_OK or MOQC_ERR_INVAL if the range is out of bounds. */
MOQC_API int moqc_slice_make(moqc_slice *dst, moqc_buf *buf, size_t off, size_t len);
/* Sub-slice of a slice, taking a new reference. MOQC_ERR_INVAL if out of range. */
MOQC_API int moqc_slice_sub(moqc_slice *dst, const moqc_slice *src, size_t off, size_t len);
/* Copy a slice value and take a reference for the copy. */
MOQC_API moqc_slice moqc_slice_dup(const moqc_slice *s);
/* Drop the slice's reference and reset it to empty. */
MOQC_API void moqc_slice_release(moqc_slice *s);
/* Pointer to the first byte of the slice (NULL for an empty slice without buf). */
static inline const uint8_t *moqc_slice_ptr(const moqc_slice *s) {
  return s->buf ? s->buf->data + s->off : NULL;
}

/* ---- statistics (for tests and metrics) ---------------------------------- */

typedef struct moqc_buf_stats {
  uint64_t bufs_live;    /* bufs currently allocated */
  uint64_t bytes_live;   /* payload bytes held by live copy/alloc bufs */
  uint64_t bytes_copied; /* total bytes ever copied by moqc_buf_copy */
} moqc_buf_stats;

/* Process-wide counters (not thread-safe; for tests and single-loop metrics). */
MOQC_API moqc_buf_stats moqc_buf_get_stats(void);

#ifdef __cplusplus
}
#endif
#endif
