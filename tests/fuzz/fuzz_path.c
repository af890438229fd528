/* libFuzzer target: path normalisation, prefix, join, strip, resolve.
 * The input is split at its first 0xff byte (or in half) into two raw paths.
 * Invariants (abort() on violation):
 *   - normalise is idempotent and its output has no empty segments, no leading
 *     or trailing '/', at most MOQC_PATH_MAX_SEGMENTS segments and
 *     MOQC_PATH_MAX_LEN bytes;
 *   - a path is a segment-prefix of itself and "" of everything;
 *   - join(a, b) has a as a prefix, segments add up, strip(join(a, b), a) == b;
 *   - has_prefix(x, y) <=> strip_prefix(x, y) succeeds, and join(y, strip) == x;
 *   - resolve(a, raw_b) == join(a, normalise(raw_b)). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "moqc/error.h"
#include "moqc/path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)       \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

#define CAP (MOQC_PATH_MAX_LEN + 1)

static void check_shape(const char *p, ssize_t n) {
  CHECK(n >= 0 && (size_t)n == strlen(p) && n <= MOQC_PATH_MAX_LEN);
  if (n == 0) return;
  CHECK(p[0] != '/' && p[n - 1] != '/' && !strstr(p, "//"));
  CHECK(moqc_path_segments(p) <= MOQC_PATH_MAX_SEGMENTS);
}

/* Normalise raw[0..len) into out; returns the result or a negative error. */
static ssize_t norm(char *out, const uint8_t *raw, size_t len) {
  ssize_t n = moqc_path_normalize(out, CAP, (const char *)raw, len);
  CHECK(n >= 0 || n == MOQC_ERR_BOUNDS || n == MOQC_ERR_INVAL);
  if (n < 0) return n;
  check_shape(out, n);
  static char again[CAP];
  CHECK(moqc_path_normalize(again, CAP, out, (size_t)n) == n && strcmp(again, out) == 0);
  CHECK(moqc_path_has_prefix(out, out) && moqc_path_has_prefix(out, ""));
  /* A tight cap works; one byte less does not. */
  CHECK(moqc_path_normalize(again, (size_t)n + 1, (const char *)raw, len) == n);
  CHECK(moqc_path_normalize(again, (size_t)n, (const char *)raw, len) == MOQC_ERR_BUFSIZE);
  return n;
}

static void check_prefix_pair(const char *x, const char *y) {
  static char rest[CAP], back[CAP];
  ssize_t s = moqc_path_strip_prefix(rest, CAP, x, y);
  if (!moqc_path_has_prefix(x, y)) {
    CHECK(s == MOQC_ERR_NOT_FOUND);
    return;
  }
  CHECK(s >= 0);
  check_shape(rest, s);
  CHECK(moqc_path_segments(x) == moqc_path_segments(y) + moqc_path_segments(rest));
  ssize_t j = moqc_path_join(back, CAP, y, rest);
  CHECK(j >= 0 && strcmp(back, x) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char a[CAP], b[CAP], j[CAP], r[CAP], rest[CAP];
  const uint8_t *cut = memchr(data, 0xff, size);
  size_t la = cut ? (size_t)(cut - data) : size / 2;
  size_t off_b = cut ? la + 1 : la;
  ssize_t na = norm(a, data, la);
  ssize_t nb = norm(b, data + off_b, size - off_b);
  if (na < 0 || nb < 0) return 0;

  check_prefix_pair(a, b);
  check_prefix_pair(b, a);

  /* resolve() takes the raw second path (when it is a C string). */
  static char raw_b[1 << 16];
  size_t lb = size - off_b;
  const char *rel = b;
  if (lb < sizeof raw_b && !memchr(data + off_b, 0, lb)) {
    memcpy(raw_b, data + off_b, lb);
    raw_b[lb] = '\0';
    rel = raw_b;
  }
  ssize_t nj = moqc_path_join(j, CAP, a, b);
  ssize_t nr = moqc_path_resolve(r, CAP, a, rel);
  if (nj == MOQC_ERR_BOUNDS) {
    CHECK(nr == MOQC_ERR_BOUNDS);
    CHECK(moqc_path_segments(a) + moqc_path_segments(b) > MOQC_PATH_MAX_SEGMENTS ||
          (size_t)na + (size_t)nb + 1 > MOQC_PATH_MAX_LEN);
    return 0;
  }
  check_shape(j, nj);
  CHECK(nr == nj && strcmp(r, j) == 0);
  CHECK(moqc_path_has_prefix(j, a));
  CHECK(moqc_path_segments(j) == moqc_path_segments(a) + moqc_path_segments(b));
  ssize_t ns = moqc_path_strip_prefix(rest, CAP, j, a);
  CHECK(ns == nb && strcmp(rest, b) == 0);
  check_prefix_pair(j, b);
  return 0;
}
