/* moqc model — origin views: root translation and scope (allowed prefixes).
 *
 * Everything here works on normalised absolute paths (the core's namespace).
 * A scope's allowed prefixes are stored absolute, so narrowing a view and then
 * re-rooting it (or the reverse) composes without re-translation.
 */
#include <string.h>

#include "core/mem.h"
#include "model/origin.h"
#include "moqc/error.h"
#include "moqc/path.h"

static int path_rc(ssize_t n) { return n < 0 ? (int)n : MOQC_OK; }

void moqc_oscope_fini(moqc_oscope *s) {
  for (size_t i = 0; i < s->nallow; i++) moqc_free(s->allow[i]);
  moqc_free(s->allow);
  moqc_free(s->root);
  memset(s, 0, sizeof *s);
}

int moqc_oscope_init(moqc_oscope *s, const char *root, const char *const *allow, size_t n,
                     bool scoped) {
  memset(s, 0, sizeof *s);
  s->scoped = scoped;
  s->root = moqc_strdup(root);
  if (!s->root) return MOQC_ERR_NOMEM;
  if (n) {
    s->allow = moqc_calloc(n, sizeof *s->allow);
    if (!s->allow) goto fail;
  }
  for (size_t i = 0; i < n; i++) {
    s->allow[i] = moqc_strdup(allow[i]);
    if (!s->allow[i]) goto fail;
    s->nallow++;
  }
  return MOQC_OK;
fail:
  moqc_oscope_fini(s);
  return MOQC_ERR_NOMEM;
}

int moqc_oscope_copy(moqc_oscope *dst, const moqc_oscope *src) {
  return moqc_oscope_init(dst, src->root, (const char *const *)src->allow, src->nallow,
                          src->scoped);
}

int moqc_oscope_abs(const moqc_oscope *s, const char *rel, char *out, size_t cap) {
  return path_rc(moqc_path_join(out, cap, s->root, rel));
}

int moqc_oscope_rel(const moqc_oscope *s, const char *abs, char *out, size_t cap) {
  return path_rc(moqc_path_strip_prefix(out, cap, abs, s->root));
}

bool moqc_oscope_allows(const moqc_oscope *s, const char *abs) {
  if (!moqc_path_has_prefix(abs, s->root)) return false;
  if (!s->scoped) return true;
  for (size_t i = 0; i < s->nallow; i++)
    if (moqc_path_has_prefix(abs, s->allow[i])) return true;
  return false;
}

/* Append a copy of p to a growing allow list (capacity cap). */
static int allow_push(char ***list, size_t *n, size_t cap, const char *p) {
  if (!*list) {
    *list = moqc_calloc(cap ? cap : 1, sizeof **list);
    if (!*list) return MOQC_ERR_NOMEM;
  }
  (*list)[*n] = moqc_strdup(p);
  if (!(*list)[*n]) return MOQC_ERR_NOMEM;
  (*n)++;
  return MOQC_OK;
}

int moqc_oscope_narrow(moqc_oscope *dst, const moqc_oscope *parent, const char *const *prefixes,
                       size_t n) {
  char abs[MOQC_PATH_MAX_LEN + 1];
  int rc = moqc_oscope_init(dst, parent->root, NULL, 0, true);
  if (rc) return rc;
  /* The intersection of the two prefix sets: at most n * max(1, nallow). */
  size_t cap = n * (parent->nallow ? parent->nallow : 1);
  for (size_t i = 0; i < n && !rc; i++) {
    rc = moqc_oscope_abs(parent, prefixes[i] ? prefixes[i] : "", abs, sizeof abs);
    if (rc) break;
    if (!parent->scoped) {
      rc = allow_push(&dst->allow, &dst->nallow, cap, abs);
      continue;
    }
    for (size_t j = 0; j < parent->nallow && !rc; j++) {
      if (moqc_path_has_prefix(abs, parent->allow[j]))
        rc = allow_push(&dst->allow, &dst->nallow, cap, abs);
      else if (moqc_path_has_prefix(parent->allow[j], abs))
        rc = allow_push(&dst->allow, &dst->nallow, cap, parent->allow[j]);
    }
  }
  if (rc) moqc_oscope_fini(dst);
  return rc;
}

int moqc_oscope_reroot(moqc_oscope *dst, const moqc_oscope *parent, const char *root) {
  char abs[MOQC_PATH_MAX_LEN + 1];
  int rc = moqc_oscope_abs(parent, root ? root : "", abs, sizeof abs);
  if (rc) return rc;
  rc = moqc_oscope_init(dst, abs, (const char *const *)parent->allow, parent->nallow,
                        parent->scoped);
  return rc;
}
