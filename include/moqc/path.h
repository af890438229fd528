/* moqc — broadcast paths.
 *
 * A path is a '/'-separated UTF-8 string, normalised: no leading or trailing
 * '/', no empty segments ("//" collapsed), at most MOQC_PATH_MAX_SEGMENTS
 * segments. The empty path "" is the root. Prefix matching is by segment:
 * "foo" is a prefix of "foo" and "foo/bar" but not of "foobar"; "" is a prefix
 * of everything.
 *
 * Functions that produce a path write a NUL-terminated string into a caller
 * buffer (dst, cap) and return its length (excluding the NUL), or a negative
 * moqc_err: MOQC_ERR_BUFSIZE (cap too small), MOQC_ERR_BOUNDS (more than
 * MOQC_PATH_MAX_SEGMENTS segments or longer than MOQC_PATH_MAX_LEN),
 * MOQC_ERR_INVAL (NULL argument, or input holding a NUL byte or invalid UTF-8,
 * which a NUL-terminated result could not represent faithfully). They never
 * allocate. dst may alias no input. On error dst holds "" if cap > 0.
 * All are pure and callable from any thread or callback.
 */
#ifndef MOQC_PATH_H
#define MOQC_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "moqc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOQC_PATH_MAX_SEGMENTS 32
#define MOQC_PATH_MAX_LEN 4096

/* Normalise src[0..len) into dst. */
MOQC_API ssize_t moqc_path_normalize(char *dst, size_t cap, const char *src, size_t len);

/* True if the (normalised) path has (normalised) prefix, segment-wise. */
MOQC_API bool moqc_path_has_prefix(const char *path, const char *prefix);

/* Join two normalised paths: "a" + "b/c" = "a/b/c"; either may be "". */
MOQC_API ssize_t moqc_path_join(char *dst, size_t cap, const char *a, const char *b);

/* Strip a segment prefix: ("a/b/c", "a") -> "b/c"; ("a", "a") -> "".
 * Returns MOQC_ERR_NOT_FOUND if prefix is not a segment prefix of path. */
MOQC_API ssize_t moqc_path_strip_prefix(char *dst, size_t cap, const char *path,
                                        const char *prefix);

/* Resolve a session-relative path against a connection root: the same as
 * join(root, normalize(rel)). A rel path is always relative (a leading '/'
 * does not escape the root) and ".." is an ordinary segment name. */
MOQC_API ssize_t moqc_path_resolve(char *dst, size_t cap, const char *root, const char *rel);

/* Number of segments in a normalised path ("" has 0). */
MOQC_API size_t moqc_path_segments(const char *path);

#ifdef __cplusplus
}
#endif
#endif
