/* moqc core — normalised '/'-separated broadcast paths.
 *
 * Every producing function runs its inputs through one builder that splits on
 * '/', drops empty segments and appends the rest with single separators, so
 * join / strip / resolve also normalise and enforce the same limits.
 * Error precedence: INVAL (bad bytes) > BOUNDS (limits) > BUFSIZE (cap).
 */
#include "moqc/path.h"

#include <string.h>

#include "core/codec.h"
#include "moqc/error.h"

typedef struct path_builder {
  char *dst;
  size_t cap;
  size_t len; /* length of the normalised result so far (counted even past cap) */
  size_t segs;
  int err;   /* first error by precedence, 0 if none */
  bool full; /* a segment did not fit: stop writing, keep counting */
} path_builder;

static void pb_init(path_builder *b, char *dst, size_t cap) {
  b->dst = dst;
  b->cap = cap;
  b->len = 0;
  b->segs = 0;
  b->err = 0;
  b->full = false;
}

static int err_rank(int err) {
  return err == MOQC_ERR_INVAL ? 3 : err == MOQC_ERR_BOUNDS ? 2 : err ? 1 : 0;
}

/* Record err unless an error of higher precedence is already recorded. */
static void pb_fail(path_builder *b, int err) {
  if (err_rank(err) > err_rank(b->err)) b->err = err;
}

static void pb_segment(path_builder *b, const char *seg, size_t n) {
  if (memchr(seg, '\0', n) || !moqc_utf8_valid((const uint8_t *)seg, n)) {
    pb_fail(b, MOQC_ERR_INVAL);
    return;
  }
  size_t add = n + (b->len ? 1 : 0);
  if (++b->segs > MOQC_PATH_MAX_SEGMENTS || add > MOQC_PATH_MAX_LEN - b->len) {
    pb_fail(b, MOQC_ERR_BOUNDS);
    b->full = true;
    return;
  }
  /* Room for the segment plus the final NUL. */
  if (!b->full && b->cap > b->len && add < b->cap - b->len) {
    if (b->len) b->dst[b->len] = '/';
    memcpy(b->dst + b->len + (b->len ? 1 : 0), seg, n);
  } else {
    b->full = true;
  }
  b->len += add;
}

static void pb_append(path_builder *b, const char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    while (i < n && s[i] == '/') i++;
    size_t start = i;
    while (i < n && s[i] != '/') i++;
    if (i > start) pb_segment(b, s + start, i - start);
  }
}

static ssize_t pb_finish(path_builder *b) {
  if (!b->err && b->len >= b->cap) b->err = MOQC_ERR_BUFSIZE;
  if (b->err) {
    if (b->cap) b->dst[0] = '\0';
    return b->err;
  }
  b->dst[b->len] = '\0';
  return (ssize_t)b->len;
}

ssize_t moqc_path_normalize(char *dst, size_t cap, const char *src, size_t len) {
  if (!dst || (!src && len)) return MOQC_ERR_INVAL;
  path_builder b;
  pb_init(&b, dst, cap);
  if (len) pb_append(&b, src, len);
  return pb_finish(&b);
}

bool moqc_path_has_prefix(const char *path, const char *prefix) {
  if (!path || !prefix) return false;
  size_t plen = strlen(prefix);
  if (plen == 0) return true;
  if (strncmp(path, prefix, plen) != 0) return false;
  return path[plen] == '\0' || path[plen] == '/';
}

ssize_t moqc_path_join(char *dst, size_t cap, const char *a, const char *b) {
  if (!dst || !a || !b) return MOQC_ERR_INVAL;
  path_builder pb;
  pb_init(&pb, dst, cap);
  pb_append(&pb, a, strlen(a));
  pb_append(&pb, b, strlen(b));
  return pb_finish(&pb);
}

ssize_t moqc_path_strip_prefix(char *dst, size_t cap, const char *path, const char *prefix) {
  if (!dst || !path || !prefix) return MOQC_ERR_INVAL;
  if (!moqc_path_has_prefix(path, prefix)) return MOQC_ERR_NOT_FOUND;
  const char *rest = path + strlen(prefix);
  path_builder pb;
  pb_init(&pb, dst, cap);
  pb_append(&pb, rest, strlen(rest));
  return pb_finish(&pb);
}

ssize_t moqc_path_resolve(char *dst, size_t cap, const char *root, const char *rel) {
  /* join(root, normalize(rel)): the builder normalises both as it appends. */
  return moqc_path_join(dst, cap, root, rel);
}

size_t moqc_path_segments(const char *path) {
  if (!path) return 0;
  size_t n = 0;
  bool in_seg = false;
  for (const char *p = path; *p; p++) {
    if (*p == '/') {
      in_seg = false;
    } else if (!in_seg) {
      in_seg = true;
      n++;
    }
  }
  return n;
}
