/* catalog.json.z: the DEFLATE-compressed catalog sibling, through Debian's zlib.
 *
 * Wire form (moq-dev's @moq/flate and Rust moq-flate, read by @moq/json's snapshot
 * consumer with compression on): each group is one raw DEFLATE stream (RFC 1951, no
 * zlib header), each frame of the group one Z_SYNC_FLUSH'ed slice of it, with the
 * flush's fixed 4-byte tail 00 00 ff ff dropped (as RFC 7692 does). moqc publishes one
 * frame per group (a full snapshot), so every frame starts a cold window. */
#include <assert.h>
#include <limits.h>
#include <string.h>
#include <zlib.h>

#include "core/mem.h"
#include "moqc/error.h"
#include "moqc/hang.h"

static const uint8_t k_sync_tail[4] = {0x00, 0x00, 0xff, 0xff};

int moqc_hang_deflate_frame(const void *p, size_t n, uint8_t **out, size_t *out_len) {
  if (!out || !out_len || (!p && n) || n > UINT_MAX / 2) return MOQC_ERR_INVAL;
  *out = NULL;
  *out_len = 0;
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  /* -15: raw DEFLATE with a 32 KiB window; level 6 as @moq/flate's default. */
  if (deflateInit2(&zs, MOQC_HANG_DEFLATE_LEVEL, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return MOQC_ERR_NOMEM;
  /* A sync flush needs at most the bound plus a few bytes for the empty stored block. */
  size_t cap = (size_t)deflateBound(&zs, (uLong)n) + 16;
  uint8_t *buf = moqc_malloc(cap);
  if (!buf) {
    deflateEnd(&zs);
    return MOQC_ERR_NOMEM;
  }
  zs.next_in = (Bytef *)(uintptr_t)p;
  zs.avail_in = (uInt)n;
  zs.next_out = buf;
  zs.avail_out = (uInt)cap;
  int zr = deflate(&zs, Z_SYNC_FLUSH);
  size_t len = cap - zs.avail_out;
  bool ok = zr == Z_OK && zs.avail_in == 0 && zs.avail_out > 0 && len >= sizeof k_sync_tail &&
            memcmp(buf + len - sizeof k_sync_tail, k_sync_tail, sizeof k_sync_tail) == 0;
  deflateEnd(&zs);
  if (!ok) {
    moqc_free(buf);
    return MOQC_ERR_STATE; /* zlib refused its own output: not expected */
  }
  *out = buf;
  *out_len = len - sizeof k_sync_tail;
  assert(*out_len <= cap);
  return MOQC_OK;
}

int moqc_hang_inflate_frame(const uint8_t *p, size_t n, size_t max, uint8_t **out,
                            size_t *out_len) {
  if (!out || !out_len || (!p && n) || n > UINT_MAX - sizeof k_sync_tail) return MOQC_ERR_INVAL;
  *out = NULL;
  *out_len = 0;
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (inflateInit2(&zs, -15) != Z_OK) return MOQC_ERR_NOMEM;
  size_t cap = max < 4096 ? max + 1 : 4096, len = 0;
  uint8_t *buf = moqc_malloc(cap);
  int rv = buf ? MOQC_OK : MOQC_ERR_NOMEM;
  /* The slice, then the re-appended sync-flush tail, as @moq/flate's decoder does. */
  for (int part = 0; part < 2 && rv == MOQC_OK; part++) {
    zs.next_in = part ? (Bytef *)(uintptr_t)k_sync_tail : (Bytef *)(uintptr_t)p;
    zs.avail_in = part ? (uInt)sizeof k_sync_tail : (uInt)n;
    while (rv == MOQC_OK) {
      if (len == cap) {
        if (cap > max) {
          rv = MOQC_ERR_TOO_LARGE;
          break;
        }
        size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
        uint8_t *nb = moqc_realloc(buf, ncap);
        if (!nb) {
          rv = MOQC_ERR_NOMEM;
          break;
        }
        buf = nb, cap = ncap;
      }
      zs.next_out = buf + len;
      zs.avail_out = (uInt)(cap - len);
      int zr = inflate(&zs, Z_SYNC_FLUSH);
      len = cap - zs.avail_out;
      if (zr == Z_STREAM_END || zr == Z_NEED_DICT || zr == Z_DATA_ERROR) {
        /* A slice of a stream never ends it (the publisher only sync-flushes). */
        rv = MOQC_ERR_DECODE;
      } else if (zr == Z_MEM_ERROR) {
        rv = MOQC_ERR_NOMEM;
      } else if (zs.avail_in == 0 && zs.avail_out > 0) {
        break; /* this part consumed and flushed */
      } else if (zr == Z_BUF_ERROR && zs.avail_out > 0) {
        rv = MOQC_ERR_DECODE;
      }
    }
  }
  inflateEnd(&zs);
  if (rv == MOQC_OK && len > max) rv = MOQC_ERR_TOO_LARGE;
  if (rv != MOQC_OK) {
    moqc_free(buf);
    return rv;
  }
  assert(len <= max);
  *out = buf;
  *out_len = len;
  return MOQC_OK;
}
