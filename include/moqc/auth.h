/* moqc — authentication: JWK keys, JWT verification and path scopes, compatible
 * with moq-relay and its `moq-token` tool.
 *
 * A token is a compact JWS (header.payload.signature, base64url) whose payload
 * holds the claims moq-relay reads:
 *   root  the path the token is scoped to ("" when missing)
 *   put   path suffix(es) under root the holder may publish: a string or a list
 *         of strings; "" = everything under root; missing or [] = nothing
 *   get   the same for subscribing and seeing announcements
 *   exp, nbf, iat   NumericDate seconds (moqc_auth_verify checks them exactly;
 *                   moqc_auth_verify_leeway and a moqc_auth allow a leeway,
 *                   60 s by default as moq-token / jsonwebtoken do)
 *   pub, sub        older names of put and get, read when put / get are absent
 *
 * Algorithms: HS256/384/512, RS256/384/512, PS256/384/512, ES256/384, EdDSA
 * (Ed25519). HS*, RS* and ES* are verified by libjwt; PS* and EdDSA, which
 * libjwt 1.10 lacks, by GnuTLS directly. `alg: none`, an unknown algorithm and
 * any algorithm other than the key's are refused. No crypto is hand-written.
 *
 * Keys are JWK JSON as `moq-token generate` writes it (kty oct/RSA/EC/OKP, alg,
 * kid, key_ops; a missing kty means oct), the same JSON base64url-encoded (what
 * moq-token writes to files), or a PEM public key (SubjectPublicKeyInfo), which
 * accepts every algorithm of its type (RSA: RS* and PS*).
 *
 * Errors: functions return MOQC_OK or a negative moqc_err: MOQC_ERR_NOMEM,
 * MOQC_ERR_INVAL (NULL argument), MOQC_ERR_DECODE (malformed key / token),
 * MOQC_ERR_UNSUPPORTED (algorithm, key type or curve not supported),
 * MOQC_ERR_IO (file unreadable), MOQC_ERR_UNAUTHORIZED (a token refused; the
 * optional moqc_auth_reason says why), MOQC_ERR_BUFSIZE.
 *
 * Threads: keys are immutable after parsing and may be shared between threads
 * for verification. Nothing here logs, and no error text ever holds a token.
 * Strings returned in an allocated form are freed with moqc_auth_free().
 */
#ifndef MOQC_AUTH_H
#define MOQC_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "moqc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum moqc_auth_alg {
  MOQC_AUTH_ALG_NONE = 0, /* never accepted */
  MOQC_AUTH_ALG_HS256,
  MOQC_AUTH_ALG_HS384,
  MOQC_AUTH_ALG_HS512,
  MOQC_AUTH_ALG_RS256,
  MOQC_AUTH_ALG_RS384,
  MOQC_AUTH_ALG_RS512,
  MOQC_AUTH_ALG_PS256,
  MOQC_AUTH_ALG_PS384,
  MOQC_AUTH_ALG_PS512,
  MOQC_AUTH_ALG_ES256,
  MOQC_AUTH_ALG_ES384,
  MOQC_AUTH_ALG_EDDSA,
} moqc_auth_alg;

/* "HS256", ..., "EdDSA"; "none" for MOQC_AUTH_ALG_NONE; "?" otherwise. */
MOQC_API const char *moqc_auth_alg_str(moqc_auth_alg alg);
/* The JWA name (case-sensitive) -> alg; MOQC_AUTH_ALG_NONE if unknown or "none". */
MOQC_API moqc_auth_alg moqc_auth_alg_from_str(const char *name);

/* Why a token was refused (never holds the token itself). */
typedef enum moqc_auth_reason {
  MOQC_AUTH_OK = 0,
  MOQC_AUTH_MALFORMED,     /* not a compact JWS, bad base64url / JSON / claim types */
  MOQC_AUTH_UNSIGNED,      /* alg "none" (or missing) */
  MOQC_AUTH_ALG_UNKNOWN,   /* an algorithm this library does not verify */
  MOQC_AUTH_ALG_MISMATCH,  /* the token's alg is not the key's */
  MOQC_AUTH_BAD_SIGNATURE, /* the signature does not verify */
  MOQC_AUTH_EXPIRED,       /* now >= exp */
  MOQC_AUTH_NOT_YET_VALID, /* now < nbf */
  MOQC_AUTH_NO_KEY,        /* no key configured, or none for the token's kid */
  MOQC_AUTH_NO_TOKEN,      /* a token is needed and none was given */
  MOQC_AUTH_WRONG_ROOT,    /* the connection path and the token root do not overlap,
                              or nothing is left of put / get under the path */
} moqc_auth_reason;

MOQC_API const char *moqc_auth_reason_str(moqc_auth_reason r);

/* Free a string or buffer this API allocated. NULL is a no-op. */
MOQC_API void moqc_auth_free(void *p);

/* ---- keys -------------------------------------------------------------------------------- */

typedef struct moqc_auth_key moqc_auth_key;

/* Parse a key from text[0..len) (JWK JSON, base64url JWK JSON, or PEM public
 * key). *out is owned by the caller (moqc_auth_key_del). Errors: INVAL,
 * NOMEM, DECODE, UNSUPPORTED (e.g. a P-521 key, alg not matching kty/crv). */
MOQC_API int moqc_auth_key_parse(const char *text, size_t len, moqc_auth_key **out);
/* moqc_auth_key_parse of a file's content (at most 1 MiB). Adds MOQC_ERR_IO. */
MOQC_API int moqc_auth_key_load(const char *file, moqc_auth_key **out);
MOQC_API void moqc_auth_key_del(moqc_auth_key *k);
/* The key's alg; MOQC_AUTH_ALG_NONE for a PEM key (any alg of its type). */
MOQC_API moqc_auth_alg moqc_auth_key_alg(const moqc_auth_key *k);
/* The key's kid, NULL if it has none (borrowed: lives as long as k). */
MOQC_API const char *moqc_auth_key_kid(const moqc_auth_key *k);
/* True if the key holds private material (can sign). */
MOQC_API bool moqc_auth_key_can_sign(const moqc_auth_key *k);

/* Generate a key for alg (HS*: random secret of the hash size, RS* / PS*:
 * RSA 2048, ES256 / ES384: P-256 / P-384, EdDSA: Ed25519). kid may be NULL. */
MOQC_API int moqc_auth_key_generate(moqc_auth_alg alg, const char *kid, moqc_auth_key **out);
/* The key as JWK JSON (moq-token's field names). public_only drops the private
 * parts (UNSUPPORTED for an oct key, which has no public half). *json_out is
 * freed with moqc_auth_free. */
MOQC_API int moqc_auth_key_to_jwk(const moqc_auth_key *k, bool public_only, char **json_out);

/* ---- claims and tokens -------------------------------------------------------------------- */

typedef struct moqc_auth_claims {
  char *root; /* normalised path, never NULL after a successful call */
  char **put; /* n_put normalised suffixes ("" = everything) */
  size_t n_put;
  char **get;
  size_t n_get;
  int64_t exp, nbf, iat; /* valid when the has_ flag is set */
  bool has_exp, has_nbf, has_iat;
  char *tenant; /* after moqc_auth_claims_scope / moqc_auth_check: the token's root (""
                   for public access), what per-tenant quotas count; NULL otherwise */
} moqc_auth_claims;

/* Free what a claims struct owns (not the struct) and zero it. */
MOQC_API void moqc_auth_claims_clear(moqc_auth_claims *c);

/* The kid of a token's header into kid[cap]. MOQC_ERR_NOT_FOUND if the header
 * has none, MOQC_ERR_DECODE if the token is malformed, BUFSIZE. */
MOQC_API int moqc_auth_token_kid(const char *jwt, char *kid, size_t cap);

/* Verify jwt with key at time now (Unix seconds) and fill *out (cleared first;
 * on error it is left empty). MOQC_ERR_UNAUTHORIZED with *why set (why may be
 * NULL) when the token is refused, NOMEM, INVAL. */
MOQC_API int moqc_auth_verify(const moqc_auth_key *key, const char *jwt, int64_t now,
                              moqc_auth_claims *out, moqc_auth_reason *why);
/* moqc_auth_verify with a clock-skew leeway in seconds: the token is expired
 * when now >= exp + leeway and not yet valid when now < nbf - leeway. */
MOQC_API int moqc_auth_verify_leeway(const moqc_auth_key *key, const char *jwt, int64_t now,
                                     uint32_t leeway, moqc_auth_claims *out, moqc_auth_reason *why);

/* Sign claims with key (which must hold private material; its alg is used and
 * its kid written to the header). *jwt_out is freed with moqc_auth_free. */
MOQC_API int moqc_auth_sign(const moqc_auth_key *key, const moqc_auth_claims *claims,
                            char **jwt_out);

/* ---- scopes (what a connection may do) ---------------------------------------------------- */

/* Reduce verified claims to a connection at path conn_path (normalised or
 * not), as moq-relay does: the path must equal the token root, lie under it or
 * be a parent of it; put / get are re-based to be relative to the connection
 * path, and those outside it dropped. out->root = the normalised connection
 * path; exp / nbf / iat are copied. MOQC_ERR_UNAUTHORIZED (WRONG_ROOT) when the
 * paths do not overlap or neither put nor get is left. */
MOQC_API int moqc_auth_claims_scope(const moqc_auth_claims *c, const char *conn_path,
                                    moqc_auth_claims *out, moqc_auth_reason *why);

/* True if path (relative to the connection root) is under one of the
 * prefixes (segment-wise; "" allows everything). */
MOQC_API bool moqc_auth_allows(char *const *prefixes, size_t n, const char *path);

/* Keys and public prefixes of a relay. Keys: one key file (used whatever the
 * token's kid), and/or a directory of <kid>.jwk files, read when first needed
 * and cached (a kid with characters other than [A-Za-z0-9_.-] or starting
 * with '.' is refused; a <kid>.jwk that exists but does not parse is
 * remembered as unusable, not re-read, until a new moqc_auth is made). Public prefixes are served without a token ("" =
 * everything); a connection path overlapping one gets put and get "". */
typedef struct moqc_auth moqc_auth;

MOQC_API int moqc_auth_new(const char *key_file, const char *key_dir,
                           const char *const *public_prefixes, size_t n_public, moqc_auth **out);
MOQC_API void moqc_auth_del(moqc_auth *a);
/* The exp / nbf leeway moqc_auth_check allows, in seconds (default
 * MOQC_AUTH_DEFAULT_LEEWAY, what moq-token's jsonwebtoken allows). */
#define MOQC_AUTH_DEFAULT_LEEWAY 60u
MOQC_API void moqc_auth_set_leeway(moqc_auth *a, uint32_t seconds);
MOQC_API uint32_t moqc_auth_leeway(const moqc_auth *a);
/* True when a key file or directory is configured (tokens are checked). */
MOQC_API bool moqc_auth_has_keys(const moqc_auth *a);

/* Check a connection. url_path is the request path with its query (the
 * token is the `jwt` query parameter; may be NULL/empty when none): verifies
 * the token or applies the public prefixes, then scopes the result to the
 * path. *out as for moqc_auth_claims_scope. Errors: UNAUTHORIZED with *why,
 * NOMEM, INVAL. */
MOQC_API int moqc_auth_check(moqc_auth *a, const char *url_path, int64_t now, moqc_auth_claims *out,
                             moqc_auth_reason *why);

/* ---- tenants (per-root session counts) ------------------------------------------------- */

/* Live sessions per tenant (the claims' tenant: a token root), for a
 * sessions-per-root quota: one hash lookup per connect and per close. Not
 * thread-safe (one loop). */
typedef struct moqc_tenants moqc_tenants;

MOQC_API moqc_tenants *moqc_tenants_new(void); /* NULL when out of memory */
MOQC_API void moqc_tenants_del(moqc_tenants *t);
/* Count one more session of tenant name if it has fewer than max: MOQC_OK;
 * MOQC_ERR_BOUNDS (nothing counted) when it has max already; NOMEM; INVAL. */
MOQC_API int moqc_tenants_acquire(moqc_tenants *t, const char *name, uint64_t max);
/* One session of name ended (must pair with a successful acquire). */
MOQC_API void moqc_tenants_release(moqc_tenants *t, const char *name);
MOQC_API uint64_t moqc_tenants_count(const moqc_tenants *t, const char *name);
/* Tenants with at least one live session. */
MOQC_API size_t moqc_tenants_size(const moqc_tenants *t);
/* The caller's pointer slot of a tenant with a live session (NULL if it has
 * none): per-tenant state kept with the count (a relay's moqc_account). Zeroed
 * at the first acquire; the caller must release what it holds before the
 * last release of the tenant, which forgets the slot. */
MOQC_API void **moqc_tenants_slot(moqc_tenants *t, const char *name);

/* The value of the `jwt` query parameter of url (percent-decoded) into
 * out[cap]: its length, 0 when there is none, or MOQC_ERR_BUFSIZE. */
MOQC_API int moqc_auth_url_token(const char *url, char *out, size_t cap);
/* Copy url into out[cap] with every `jwt` query value replaced by "<redacted>"
 * (truncated to fit, always NUL-terminated when cap > 0). */
MOQC_API void moqc_auth_redact_url(const char *url, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
