/* moqc auth — what a connection may do: claims reduced to its path (as
 * moq-relay's finalize does), key sets (one file and/or a <kid>.jwk
 * directory), public prefixes, and the `jwt` query parameter of URLs. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth_int.h"
#include "core/mem.h"
#include "core/redact.h"
#include "moqc/error.h"
#include "moqc/path.h"

bool moqc_auth_allows(char *const *prefixes, size_t n, const char *path) {
  for (size_t i = 0; path && i < n; i++)
    if (moqc_path_has_prefix(path, prefixes[i])) return true;
  return false;
}

/* Re-base a permission list (relative to the token root) onto the connection:
 * prepend `prefix` (the connection is a parent of the token root), then strip
 * `suffix` (the connection is under the token root); a permission the
 * connection path lies under becomes "" (all of it); others are dropped. */
static int rebase(char *const *in, size_t n, const char *prefix, const char *suffix, char ***out,
                  size_t *nout) {
  *out = NULL;
  *nout = 0;
  if (!n) return MOQC_OK;
  char **l = moqc_calloc(n, sizeof *l);
  if (!l) return MOQC_ERR_NOMEM;
  size_t k = 0;
  int rc = MOQC_OK;
  for (size_t i = 0; i < n && rc == MOQC_OK; i++) {
    char q[MOQC_PATH_MAX_LEN + 1], r[MOQC_PATH_MAX_LEN + 1];
    if (moqc_path_join(q, sizeof q, prefix, in[i]) < 0) continue; /* too long: drop */
    if (!*q) {
      r[0] = 0;
    } else if (moqc_path_has_prefix(q, suffix)) {
      if (moqc_path_strip_prefix(r, sizeof r, q, suffix) < 0) continue;
    } else if (moqc_path_has_prefix(suffix, q)) {
      r[0] = 0;
    } else {
      continue;
    }
    if (!(l[k] = moqc_strdup(r))) rc = MOQC_ERR_NOMEM;
    else k++;
  }
  assert(k <= n);
  if (rc != MOQC_OK || !k) {
    for (size_t i = 0; i < k; i++) moqc_free(l[i]);
    moqc_free(l);
    return rc;
  }
  *out = l;
  *nout = k;
  return MOQC_OK;
}

static size_t path_len(const char *p) { return strcspn(p, "?#"); }

int moqc_auth_claims_scope(const moqc_auth_claims *c, const char *conn_path, moqc_auth_claims *out,
                           moqc_auth_reason *why) {
  moqc_auth_reason tmp;
  if (!why) why = &tmp;
  *why = MOQC_AUTH_WRONG_ROOT;
  if (!c || !conn_path || !out) return MOQC_ERR_INVAL;
  memset(out, 0, sizeof *out);
  char root[MOQC_PATH_MAX_LEN + 1], fix[MOQC_PATH_MAX_LEN + 1];
  const char *croot = c->root ? c->root : "";
  if (moqc_path_normalize(root, sizeof root, conn_path, path_len(conn_path)) < 0)
    return MOQC_ERR_UNAUTHORIZED;
  const char *prefix = "", *suffix = "";
  if (moqc_path_has_prefix(root, croot)) {
    if (moqc_path_strip_prefix(fix, sizeof fix, root, croot) < 0) return MOQC_ERR_UNAUTHORIZED;
    suffix = fix;
  } else if (moqc_path_has_prefix(croot, root)) {
    if (moqc_path_strip_prefix(fix, sizeof fix, croot, root) < 0) return MOQC_ERR_UNAUTHORIZED;
    prefix = fix;
  } else {
    return MOQC_ERR_UNAUTHORIZED;
  }
  int rc = rebase(c->put, c->n_put, prefix, suffix, &out->put, &out->n_put);
  if (rc == MOQC_OK) rc = rebase(c->get, c->n_get, prefix, suffix, &out->get, &out->n_get);
  if (rc == MOQC_OK && !(out->root = moqc_strdup(root))) rc = MOQC_ERR_NOMEM;
  if (rc == MOQC_OK && !(out->tenant = moqc_strdup(croot))) rc = MOQC_ERR_NOMEM;
  if (rc == MOQC_OK && !out->n_put && !out->n_get) rc = MOQC_ERR_UNAUTHORIZED;
  if (rc != MOQC_OK) {
    moqc_auth_claims_clear(out);
    return rc;
  }
  out->exp = c->exp;
  out->nbf = c->nbf;
  out->iat = c->iat;
  out->has_exp = c->has_exp;
  out->has_nbf = c->has_nbf;
  out->has_iat = c->has_iat;
  *why = MOQC_AUTH_OK;
  return MOQC_OK;
}

/* ---- key sets ---------------------------------------------------------------------------- */

typedef struct dir_key {
  char *kid;
  moqc_auth_key *key;
  struct dir_key *next;
} dir_key;

struct moqc_auth {
  moqc_auth_key *key; /* --auth-key */
  char *dir;          /* --auth-key-dir */
  dir_key *cache;
  size_t n_cache;
  char **pub; /* public prefixes */
  size_t n_pub;
  uint32_t leeway; /* exp / nbf, seconds */
};

void moqc_auth_del(moqc_auth *a) {
  if (!a) return;
  moqc_auth_key_del(a->key);
  moqc_free(a->dir);
  for (dir_key *d = a->cache, *n; d; d = n) {
    n = d->next;
    moqc_free(d->kid);
    moqc_auth_key_del(d->key);
    moqc_free(d);
  }
  for (size_t i = 0; i < a->n_pub; i++) moqc_free(a->pub[i]);
  moqc_free(a->pub);
  moqc_free(a);
}

int moqc_auth_new(const char *key_file, const char *key_dir, const char *const *public_prefixes,
                  size_t n_public, moqc_auth **out) {
  if (!out || (n_public && !public_prefixes)) return MOQC_ERR_INVAL;
  *out = NULL;
  moqc_auth *a = moqc_calloc(1, sizeof *a);
  if (!a) return MOQC_ERR_NOMEM;
  a->leeway = MOQC_AUTH_DEFAULT_LEEWAY;
  int rc = MOQC_OK;
  if (key_file && *key_file) rc = moqc_auth_key_load(key_file, &a->key);
  if (rc == MOQC_OK && key_dir && *key_dir && !(a->dir = moqc_strdup(key_dir))) rc = MOQC_ERR_NOMEM;
  if (rc == MOQC_OK && n_public && !(a->pub = moqc_calloc(n_public, sizeof *a->pub)))
    rc = MOQC_ERR_NOMEM;
  for (size_t i = 0; rc == MOQC_OK && i < n_public; i++) {
    char p[MOQC_PATH_MAX_LEN + 1];
    if (moqc_path_normalize(p, sizeof p, public_prefixes[i], strlen(public_prefixes[i])) < 0)
      rc = MOQC_ERR_INVAL;
    else if (!(a->pub[i] = moqc_strdup(p))) rc = MOQC_ERR_NOMEM;
    else a->n_pub++;
  }
  if (rc != MOQC_OK) {
    moqc_auth_del(a);
    return rc;
  }
  *out = a;
  return MOQC_OK;
}

bool moqc_auth_has_keys(const moqc_auth *a) { return a && (a->key || a->dir); }

void moqc_auth_set_leeway(moqc_auth *a, uint32_t seconds) {
  if (a) a->leeway = seconds;
}

uint32_t moqc_auth_leeway(const moqc_auth *a) { return a ? a->leeway : 0; }

static bool kid_ok(const char *kid) {
  if (!*kid || kid[0] == '.') return false;
  for (const char *p = kid; *p; p++) {
    char ch = *p;
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          ch == '-' || ch == '_' || ch == '.'))
      return false;
  }
  return true;
}

static const moqc_auth_key *dir_lookup(moqc_auth *a, const char *kid, int *rc) {
  *rc = MOQC_OK;
  for (dir_key *d = a->cache; d; d = d->next)
    if (strcmp(d->kid, kid) == 0) return d->key;
  char file[4096];
  if ((size_t)snprintf(file, sizeof file, "%s/%s.jwk", a->dir, kid) >= sizeof file) return NULL;
  moqc_auth_key *k = NULL;
  int lrc = moqc_auth_key_load(file, &k);
  if (lrc == MOQC_ERR_NOMEM) {
    *rc = lrc;
    return NULL;
  }
  /* Only files that exist are cached (a flood of made-up kids costs a failed
   * open each, never cache space); the cache is bounded by the directory. A
   * file that exists but does not parse is cached as NULL: not re-read (and
   * re-parsed) on every connection until SIGHUP makes a new moqc_auth. */
  if (!k && lrc == MOQC_ERR_IO) return NULL;
  dir_key *d = moqc_calloc(1, sizeof *d);
  if (!d || !(d->kid = moqc_strdup(kid))) {
    moqc_free(d);
    moqc_auth_key_del(k);
    *rc = MOQC_ERR_NOMEM;
    return NULL;
  }
  d->key = k;
  d->next = a->cache;
  a->cache = d;
  a->n_cache++;
  return k;
}

static int check_token(moqc_auth *a, const char *token, const char *url_path, int64_t now,
                       moqc_auth_claims *out, moqc_auth_reason *why) {
  *why = MOQC_AUTH_NO_KEY;
  if (!moqc_auth_has_keys(a)) return MOQC_ERR_UNAUTHORIZED;
  const moqc_auth_key *key = a->key; /* a single key is used whatever the kid */
  if (!key) {
    char kid[256];
    int rc = moqc_auth_token_kid(token, kid, sizeof kid);
    if (rc == MOQC_ERR_DECODE) *why = MOQC_AUTH_MALFORMED;
    if (rc != MOQC_OK || !kid_ok(kid)) return MOQC_ERR_UNAUTHORIZED;
    key = dir_lookup(a, kid, &rc);
    if (rc != MOQC_OK) return rc;
    if (!key) return MOQC_ERR_UNAUTHORIZED;
  }
  moqc_auth_claims c;
  int rc = moqc_auth_verify_leeway(key, token, now, a->leeway, &c, why);
  if (rc != MOQC_OK) return rc;
  rc = moqc_auth_claims_scope(&c, url_path, out, why);
  moqc_auth_claims_clear(&c);
  return rc;
}

int moqc_auth_check(moqc_auth *a, const char *url_path, int64_t now, moqc_auth_claims *out,
                    moqc_auth_reason *why) {
  moqc_auth_reason tmp;
  if (!why) why = &tmp;
  *why = MOQC_AUTH_MALFORMED;
  if (!a || !out) return MOQC_ERR_INVAL;
  memset(out, 0, sizeof *out);
  if (!url_path) url_path = "";
  char token[8192];
  int n = moqc_auth_url_token(url_path, token, sizeof token);
  if (n < 0) return MOQC_ERR_UNAUTHORIZED;
  int rc;
  if (n > 0) {
    rc = check_token(a, token, url_path, now, out, why);
  } else {
    char root[MOQC_PATH_MAX_LEN + 1];
    *why = MOQC_AUTH_NO_TOKEN;
    if (moqc_path_normalize(root, sizeof root, url_path, path_len(url_path)) < 0)
      return MOQC_ERR_UNAUTHORIZED;
    bool overlap = false;
    for (size_t i = 0; i < a->n_pub && !overlap; i++)
      overlap = moqc_path_has_prefix(root, a->pub[i]) || moqc_path_has_prefix(a->pub[i], root);
    if (!overlap) return MOQC_ERR_UNAUTHORIZED;
    moqc_auth_claims c = {
        .root = (char *)"", .put = a->pub, .n_put = a->n_pub, .get = a->pub, .n_get = a->n_pub};
    rc = moqc_auth_claims_scope(&c, url_path, out, why);
  }
  gnutls_memset(token, 0, sizeof token);
  return rc;
}

/* ---- URLs -------------------------------------------------------------------------------- */

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int moqc_auth_url_token(const char *url, char *out, size_t cap) {
  if (!url || !out || !cap) return MOQC_ERR_INVAL;
  out[0] = 0;
  const char *q = strchr(url, '?');
  if (!q) return 0;
  const char *end = q + 1 + strcspn(q + 1, "#");
  int found = 0;
  for (const char *p = q + 1; p < end;) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *pe = amp ? amp : end;
    const char *eq = memchr(p, '=', (size_t)(pe - p));
    if (eq && eq - p == 3 && memcmp(p, "jwt", 3) == 0 && eq + 1 < pe) {
      size_t n = 0;
      for (const char *v = eq + 1; v < pe; v++) {
        char ch = *v;
        if (ch == '%' && pe - v >= 3 && hexval(v[1]) >= 0 && hexval(v[2]) >= 0) {
          ch = (char)(hexval(v[1]) * 16 + hexval(v[2]));
          v += 2;
        } else if (ch == '+') {
          ch = ' ';
        }
        if (n + 1 >= cap) {
          out[0] = 0;
          return MOQC_ERR_BUFSIZE;
        }
        out[n++] = ch;
      }
      out[n] = 0;
      found = (int)n; /* the last one wins */
    }
    p = amp ? amp + 1 : end;
  }
  return found;
}

void moqc_auth_redact_url(const char *url, char *out, size_t cap) {
  moqc__redact_jwt(url, out, cap);
}
