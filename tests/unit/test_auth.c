/* Unit tests: src/auth (JWK parsing, JWT verification, scopes, URLs).
 *
 * The token vectors are made at test time by an independent JOSE
 * implementation, the `jose` npm package (tests/interop/auth_vectors.mjs, run
 * with node; tests/interop/install.sh installs it). Without node or jose the
 * vector tests are skipped; the scope / URL / round-trip tests always run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "moqc/auth.h"
#include "moqc/error.h"

static json_t *vectors; /* array of {alg, kid, jwk, ok, ...} */
static char tmpdir[256];

static int64_t now_s(void) { return (int64_t)time(NULL); }

static int setup_vectors(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/moqc_test_auth.%d", (int)getpid());
  mkdir(tmpdir, 0700);
  char cmd[2048], out[512];
  snprintf(out, sizeof out, "%s/vectors.json", tmpdir);
  const char *idir = MOQC_SOURCE_DIR "/tests/interop";
  snprintf(cmd, sizeof cmd,
           "cd %s && { [ -d node_modules/jose ] || ./install.sh >/dev/null 2>&1; } && "
           "node auth_vectors.mjs %s 2>/dev/null",
           idir, out);
  if (system(cmd) == 0) vectors = json_load_file(out, 0, NULL);
  return 0;
}

static int teardown_vectors(void **state) {
  (void)state;
  json_decref(vectors);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd) != 0) return -1;
  return 0;
}

static json_t *vec(size_t i) { return json_array_get(vectors, i); }
static const char *vs(json_t *v, const char *k) { return json_string_value(json_object_get(v, k)); }
static size_t n_algs(void) { return vectors ? json_array_size(vectors) - 1 : 0; } /* last: none */

#define NEED_VECTORS()                                        \
  do {                                                        \
    if (!vectors) {                                           \
      print_message("no node / jose: vector test skipped\n"); \
      skip();                                                 \
    }                                                         \
  } while (0)

static moqc_auth_key *key_of(json_t *v) {
  moqc_auth_key *k = NULL;
  const char *jwk = vs(v, "jwk");
  int rc = moqc_auth_key_parse(jwk, strlen(jwk), &k);
  if (rc != MOQC_OK) fail_msg("%s: parse JWK: %s", vs(v, "alg"), moqc_err_str(rc));
  return k;
}

static moqc_auth_reason verify_reason(moqc_auth_key *k, const char *tok) {
  moqc_auth_claims c;
  moqc_auth_reason why = MOQC_AUTH_OK;
  int rc = moqc_auth_verify(k, tok, now_s(), &c, &why);
  if (rc == MOQC_OK) {
    moqc_auth_claims_clear(&c);
    return MOQC_AUTH_OK;
  }
  assert_int_equal(rc, MOQC_ERR_UNAUTHORIZED);
  assert_int_not_equal(why, MOQC_AUTH_OK);
  assert_null(c.root);
  return why;
}

/* ---- jose vectors ----------------------------------------------------------------------- */

static void test_jose_every_alg_verifies(void **state) {
  (void)state;
  NEED_VECTORS();
  assert_int_equal(n_algs(), 12);
  for (size_t i = 0; i < n_algs(); i++) {
    json_t *v = vec(i);
    moqc_auth_key *k = key_of(v);
    assert_string_equal(moqc_auth_alg_str(moqc_auth_key_alg(k)), vs(v, "alg"));
    assert_string_equal(moqc_auth_key_kid(k), vs(v, "kid"));
    moqc_auth_claims c;
    moqc_auth_reason why;
    int rc = moqc_auth_verify(k, vs(v, "ok"), now_s(), &c, &why);
    if (rc != MOQC_OK) fail_msg("%s: %s", vs(v, "alg"), moqc_auth_reason_str(why));
    assert_string_equal(c.root, "room");
    assert_int_equal(c.n_put, 1);
    assert_string_equal(c.put[0], "alice");
    assert_int_equal(c.n_get, 1);
    assert_string_equal(c.get[0], "");
    assert_true(c.has_exp && c.has_iat && !c.has_nbf);
    moqc_auth_claims_clear(&c);
    moqc_auth_key_del(k);
  }
}

static void test_jose_old_claim_names(void **state) {
  (void)state;
  NEED_VECTORS();
  for (size_t i = 0; i < n_algs(); i++) {
    moqc_auth_key *k = key_of(vec(i));
    moqc_auth_claims c;
    assert_int_equal(moqc_auth_verify(k, vs(vec(i), "old_names"), now_s(), &c, NULL), MOQC_OK);
    assert_int_equal(c.n_put, 2);
    assert_string_equal(c.put[1], "carol");
    assert_int_equal(c.n_get, 1);
    assert_string_equal(c.get[0], "bob");
    moqc_auth_claims_clear(&c);
    moqc_auth_key_del(k);
  }
}

/* Change one character of part (0 header, 1 payload, 2 signature) of tok. */
static char *mutate(const char *tok, int part) {
  char *t = strdup(tok);
  char *p = t;
  for (int i = 0; i < part; i++) p = strchr(p, '.') + 1;
  size_t len = strcspn(p, ".");
  assert_true(len > 4);
  char *c = p + len / 2; /* middle: every bit of the character is used */
  *c = *c == 'A' ? 'B' : 'A';
  return t;
}

static void test_jose_payload_byte_changed(void **state) {
  (void)state;
  NEED_VECTORS();
  for (size_t i = 0; i < n_algs(); i++) {
    moqc_auth_key *k = key_of(vec(i));
    char *t = mutate(vs(vec(i), "ok"), 1);
    /* the signature is checked before the payload is parsed */
    moqc_auth_reason why = verify_reason(k, t);
    if (why != MOQC_AUTH_BAD_SIGNATURE)
      fail_msg("%s: %s", vs(vec(i), "alg"), moqc_auth_reason_str(why));
    free(t);
    moqc_auth_key_del(k);
  }
}

static void test_jose_signature_byte_changed(void **state) {
  (void)state;
  NEED_VECTORS();
  for (size_t i = 0; i < n_algs(); i++) {
    moqc_auth_key *k = key_of(vec(i));
    char *t = mutate(vs(vec(i), "ok"), 2);
    assert_int_equal(verify_reason(k, t), MOQC_AUTH_BAD_SIGNATURE);
    free(t);
    moqc_auth_key_del(k);
  }
}

static void test_jose_expired(void **state) {
  (void)state;
  NEED_VECTORS();
  for (size_t i = 0; i < n_algs(); i++) {
    moqc_auth_key *k = key_of(vec(i));
    assert_int_equal(verify_reason(k, vs(vec(i), "expired")), MOQC_AUTH_EXPIRED);
    moqc_auth_key_del(k);
  }
}

static void test_jose_not_yet_valid(void **state) {
  (void)state;
  NEED_VECTORS();
  for (size_t i = 0; i < n_algs(); i++) {
    moqc_auth_key *k = key_of(vec(i));
    assert_int_equal(verify_reason(k, vs(vec(i), "not_yet")), MOQC_AUTH_NOT_YET_VALID);
    moqc_auth_key_del(k);
  }
}

static void test_jose_alg_none(void **state) {
  (void)state;
  NEED_VECTORS();
  const char *none = vs(vec(n_algs()), "none");
  assert_non_null(none);
  for (size_t i = 0; i < n_algs(); i++) {
    moqc_auth_key *k = key_of(vec(i));
    assert_int_equal(verify_reason(k, none), MOQC_AUTH_UNSIGNED);
    moqc_auth_key_del(k);
  }
}

/* Key directory: <kid>.jwk files; a token naming another kid finds no key. */
static void test_jose_wrong_kid(void **state) {
  (void)state;
  NEED_VECTORS();
  char dir[512];
  snprintf(dir, sizeof dir, "%s/keys", tmpdir);
  mkdir(dir, 0700);
  for (size_t i = 0; i < n_algs(); i++) {
    char file[600];
    snprintf(file, sizeof file, "%s/%s.jwk", dir, vs(vec(i), "kid"));
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs(vs(vec(i), "jwk"), f);
    fclose(f);
  }
  moqc_auth *a;
  assert_int_equal(moqc_auth_new(NULL, dir, NULL, 0, &a), MOQC_OK);
  for (size_t i = 0; i < n_algs(); i++) {
    char url[4096];
    moqc_auth_claims c;
    moqc_auth_reason why;
    snprintf(url, sizeof url, "/room?jwt=%s", vs(vec(i), "ok"));
    assert_int_equal(moqc_auth_check(a, url, now_s(), &c, &why), MOQC_OK);
    assert_string_equal(c.root, "room");
    moqc_auth_claims_clear(&c);
    snprintf(url, sizeof url, "/room?jwt=%s", vs(vec(i), "wrong_kid"));
    assert_int_equal(moqc_auth_check(a, url, now_s(), &c, &why), MOQC_ERR_UNAUTHORIZED);
    assert_int_equal(why, MOQC_AUTH_NO_KEY);
  }
  moqc_auth_del(a);
}

/* A key of another type (or another alg of the same type) refuses the token. */
static void test_jose_key_of_other_type(void **state) {
  (void)state;
  NEED_VECTORS();
  for (size_t i = 0; i < n_algs(); i++) {
    size_t j = (i + 3) % n_algs(); /* HS256 <- RS256 key, ..., ES256 <- HS256 key */
    moqc_auth_key *k = key_of(vec(j));
    assert_int_equal(verify_reason(k, vs(vec(i), "ok")), MOQC_AUTH_ALG_MISMATCH);
    moqc_auth_key_del(k);
  }
}

static void test_jose_other_root(void **state) {
  (void)state;
  NEED_VECTORS();
  for (size_t i = 0; i < n_algs(); i++) {
    moqc_auth_key *k = key_of(vec(i));
    moqc_auth_claims c, s;
    moqc_auth_reason why;
    assert_int_equal(moqc_auth_verify(k, vs(vec(i), "other_root"), now_s(), &c, NULL), MOQC_OK);
    assert_int_equal(moqc_auth_claims_scope(&c, "/room", &s, &why), MOQC_ERR_UNAUTHORIZED);
    assert_int_equal(why, MOQC_AUTH_WRONG_ROOT);
    assert_int_equal(moqc_auth_claims_scope(&c, "/elsewhere/x", &s, &why), MOQC_OK);
    moqc_auth_claims_clear(&s);
    moqc_auth_claims_clear(&c);
    moqc_auth_key_del(k);
  }
}

/* A PEM public key (SubjectPublicKeyInfo) accepts every alg of its type. */
static void test_jose_pem_keys(void **state) {
  (void)state;
  NEED_VECTORS();
  size_t n = 0;
  for (size_t i = 0; i < n_algs(); i++) {
    const char *pem = vs(vec(i), "pem");
    if (!pem) continue; /* HS: no public key */
    moqc_auth_key *k;
    int rc = moqc_auth_key_parse(pem, strlen(pem), &k);
    if (rc != MOQC_OK) fail_msg("%s: PEM: %s", vs(vec(i), "alg"), moqc_err_str(rc));
    assert_int_equal(moqc_auth_key_alg(k), MOQC_AUTH_ALG_NONE);
    assert_int_equal(verify_reason(k, vs(vec(i), "ok")), MOQC_AUTH_OK);
    char *t = mutate(vs(vec(i), "ok"), 2);
    assert_int_equal(verify_reason(k, t), MOQC_AUTH_BAD_SIGNATURE);
    free(t);
    /* an HS token against it: another key type */
    assert_int_equal(verify_reason(k, vs(vec(0), "ok")), MOQC_AUTH_ALG_MISMATCH);
    moqc_auth_key_del(k);
    n++;
  }
  assert_int_equal(n, 9);
}

/* ---- without node ------------------------------------------------------------------------ */

/* Our own generate + sign + verify, for every alg, and the JWK export round trip. */
static void test_generate_sign_verify(void **state) {
  (void)state;
  for (int a = MOQC_AUTH_ALG_HS256; a <= MOQC_AUTH_ALG_EDDSA; a++) {
    moqc_auth_key *k, *pubk;
    assert_int_equal(moqc_auth_key_generate((moqc_auth_alg)a, "k1", &k), MOQC_OK);
    char *puts_[1] = {(char *)"alice"}, *gets[2] = {(char *)"", (char *)"x"};
    moqc_auth_claims c = {.root = (char *)"room",
                          .put = puts_,
                          .n_put = 1,
                          .get = gets,
                          .n_get = 2,
                          .exp = now_s() + 60,
                          .has_exp = true};
    char *tok, *jwk;
    assert_int_equal(moqc_auth_sign(k, &c, &tok), MOQC_OK);
    bool sym = a <= MOQC_AUTH_ALG_HS512;
    assert_int_equal(moqc_auth_key_to_jwk(k, !sym, &jwk), MOQC_OK);
    assert_int_equal(moqc_auth_key_parse(jwk, strlen(jwk), &pubk), MOQC_OK);
    moqc_auth_claims out;
    moqc_auth_reason why = MOQC_AUTH_OK;
    int rc = moqc_auth_verify(pubk, tok, now_s(), &out, &why);
    if (rc != MOQC_OK)
      fail_msg("%s: %s", moqc_auth_alg_str((moqc_auth_alg)a), moqc_auth_reason_str(why));
    assert_string_equal(out.root, "room");
    assert_int_equal(out.n_get, 2);
    moqc_auth_claims_clear(&out);
    /* the private JWK signs too after a round trip */
    char *priv;
    moqc_auth_key *k2;
    assert_int_equal(moqc_auth_key_to_jwk(k, false, &priv), MOQC_OK);
    assert_int_equal(moqc_auth_key_parse(priv, strlen(priv), &k2), MOQC_OK);
    assert_true(moqc_auth_key_can_sign(k2));
    char *tok2;
    assert_int_equal(moqc_auth_sign(k2, &c, &tok2), MOQC_OK);
    assert_int_equal(moqc_auth_verify(pubk, tok2, now_s(), &out, NULL), MOQC_OK);
    moqc_auth_claims_clear(&out);
    moqc_auth_free(tok2);
    moqc_auth_free(priv);
    moqc_auth_key_del(k2);
    moqc_auth_free(tok);
    moqc_auth_free(jwk);
    moqc_auth_key_del(pubk);
    moqc_auth_key_del(k);
  }
}

static void test_jwk_malformed(void **state) {
  (void)state;
  static const char *const bad[] = {
      "",
      "{",
      "[]",
      "{\"kty\":\"oct\"}",
      "{\"kty\":\"oct\",\"alg\":\"HS256\"}",
      "{\"kty\":\"oct\",\"alg\":\"none\",\"k\":\"AAAA\"}",
      "{\"kty\":\"oct\",\"alg\":\"RS256\",\"k\":\"AAAA\"}",
      "{\"kty\":\"EC\",\"alg\":\"ES256\",\"crv\":\"P-521\",\"x\":\"AA\",\"y\":\"AA\"}",
      "{\"kty\":\"EC\",\"alg\":\"ES384\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}",
      "{\"kty\":\"EC\",\"alg\":\"ES256\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}",
      "{\"kty\":\"RSA\",\"alg\":\"RS256\",\"n\":\"AQAB\"}",
      "{\"kty\":\"OKP\",\"alg\":\"EdDSA\",\"crv\":\"Ed448\",\"x\":\"AA\"}",
      "{\"kty\":\"oct\",\"alg\":\"HS256\",\"k\":\"!!\"}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    moqc_auth_key *k = (moqc_auth_key *)1;
    int rc = moqc_auth_key_parse(bad[i], strlen(bad[i]), &k);
    if (rc == MOQC_OK) fail_msg("accepted: %s", bad[i]);
    assert_null(k);
  }
  /* a missing kty means oct (moq-token); base64url-wrapped JSON is read too */
  const char *j = "{\"alg\":\"HS256\",\"k\":\"c2VjcmV0\"}";
  moqc_auth_key *k;
  assert_int_equal(moqc_auth_key_parse(j, strlen(j), &k), MOQC_OK);
  moqc_auth_key_del(k);
  const char *b = "eyJhbGciOiJIUzI1NiIsImsiOiJjMlZqY21WMCJ9"; /* the same JSON */
  assert_int_equal(moqc_auth_key_parse(b, strlen(b), &k), MOQC_OK);
  moqc_auth_key_del(k);
}

static void scope_case(const char *root, const char *put, const char *path, int want_rc,
                       const char *want_put) {
  char *p[1] = {(char *)put};
  moqc_auth_claims c = {.root = (char *)root, .put = p, .n_put = 1}, s;
  moqc_auth_reason why;
  int rc = moqc_auth_claims_scope(&c, path, &s, &why);
  if (rc != want_rc) fail_msg("root '%s' put '%s' path '%s': %d", root, put, path, rc);
  if (rc != MOQC_OK) return;
  assert_int_equal(s.n_put, 1);
  assert_string_equal(s.put[0], want_put);
  assert_string_equal(s.tenant, root);
  moqc_auth_claims_clear(&s);
}

/* moq-relay's finalize: equal, under, or parent of the root; suffix matching. */
static void test_scope_rules(void **state) {
  (void)state;
  scope_case("room", "alice", "/room", MOQC_OK, "alice");
  scope_case("room", "alice", "/room/alice/cam", MOQC_OK, "");         /* under the put */
  scope_case("room", "alice", "/room/bob", MOQC_ERR_UNAUTHORIZED, ""); /* nothing left */
  scope_case("room", "", "/room/bob", MOQC_OK, "");
  scope_case("room/123", "alice", "/", MOQC_OK, "room/123/alice"); /* parent */
  scope_case("room/123", "alice", "/room", MOQC_OK, "123/alice");
  scope_case("room", "alice", "/roomy", MOQC_ERR_UNAUTHORIZED, "");
  scope_case("room", "alice", "/other", MOQC_ERR_UNAUTHORIZED, "");
  scope_case("", "a/b", "/a", MOQC_OK, "b");
  scope_case("room", "alice", "/room?jwt=x", MOQC_OK, "alice");
  char *l[2] = {(char *)"alice", (char *)""};
  assert_true(moqc_auth_allows(l, 1, "alice"));
  assert_true(moqc_auth_allows(l, 1, "alice/cam"));
  assert_false(moqc_auth_allows(l, 1, "alicex"));
  assert_false(moqc_auth_allows(l, 1, "bob"));
  assert_false(moqc_auth_allows(l, 0, "alice"));
  assert_true(moqc_auth_allows(l + 1, 1, "anything"));
}

static void test_public_prefixes(void **state) {
  (void)state;
  const char *pub[1] = {"anon"};
  moqc_auth *a;
  assert_int_equal(moqc_auth_new(NULL, NULL, pub, 1, &a), MOQC_OK);
  moqc_auth_claims c;
  moqc_auth_reason why;
  assert_int_equal(moqc_auth_check(a, "/anon/room", now_s(), &c, &why), MOQC_OK);
  assert_int_equal(c.n_get, 1);
  assert_string_equal(c.get[0], "");
  moqc_auth_claims_clear(&c);
  assert_int_equal(moqc_auth_check(a, "/secret", now_s(), &c, &why), MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(why, MOQC_AUTH_NO_TOKEN);
  /* a token with no key configured */
  assert_int_equal(moqc_auth_check(a, "/anon?jwt=a.b.c", now_s(), &c, &why), MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(why, MOQC_AUTH_NO_KEY);
  moqc_auth_del(a);
}

static void test_url_token_and_redact(void **state) {
  (void)state;
  char t[64], r[128];
  assert_int_equal(moqc_auth_url_token("/room", t, sizeof t), 0);
  assert_int_equal(moqc_auth_url_token("/room?x=1&jwt=ab%2Ec&y", t, sizeof t), 4);
  assert_string_equal(t, "ab.c");
  assert_int_equal(moqc_auth_url_token("/room?jwt=", t, sizeof t), 0);
  assert_int_equal(moqc_auth_url_token("/room?jwtx=1", t, sizeof t), 0);
  assert_int_equal(moqc_auth_url_token("/r?jwt=0123456789", t, 4), MOQC_ERR_BUFSIZE);
  moqc_auth_redact_url("/room?a=1&jwt=SECRET&b=2", r, sizeof r);
  assert_string_equal(r, "/room?a=1&jwt=<redacted>&b=2");
  moqc_auth_redact_url("/room?jwt=SECRET", r, sizeof r);
  assert_string_equal(r, "/room?jwt=<redacted>");
  moqc_auth_redact_url("/jwt=x?njwt=SECRET", r, sizeof r);
  assert_string_equal(r, "/jwt=x?njwt=SECRET");
  moqc_auth_redact_url("/room?jwt=SECRET", r, 8);
  assert_string_equal(r, "/room?j");
}

/* exp / nbf leeway: moqc_auth_verify is exact, moqc_auth_verify_leeway and a
 * moqc_auth (60 s by default, moq-token's) accept a token that far past exp
 * or before nbf, and no further. */
static char *sign_times(moqc_auth_key *k, int64_t exp, int64_t nbf) {
  char *gets[1] = {(char *)""};
  moqc_auth_claims c = {.root = (char *)"room",
                        .get = gets,
                        .n_get = 1,
                        .exp = exp,
                        .has_exp = exp != 0,
                        .nbf = nbf,
                        .has_nbf = nbf != 0};
  char *tok;
  assert_int_equal(moqc_auth_sign(k, &c, &tok), MOQC_OK);
  return tok;
}

static void test_leeway(void **state) {
  (void)state;
  moqc_auth_key *k;
  assert_int_equal(moqc_auth_key_generate(MOQC_AUTH_ALG_HS256, NULL, &k), MOQC_OK);
  int64_t now = now_s();
  char *past = sign_times(k, now - 30, 0), *future = sign_times(k, now + 3600, now + 30);
  char *old = sign_times(k, now - 61, 0);
  moqc_auth_claims c;
  moqc_auth_reason why;
  assert_int_equal(moqc_auth_verify(k, past, now, &c, &why), MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(why, MOQC_AUTH_EXPIRED);
  assert_int_equal(moqc_auth_verify_leeway(k, past, now, 30, &c, &why), MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(moqc_auth_verify_leeway(k, past, now, 31, &c, &why), MOQC_OK);
  moqc_auth_claims_clear(&c);
  assert_int_equal(moqc_auth_verify(k, future, now, &c, &why), MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(why, MOQC_AUTH_NOT_YET_VALID);
  assert_int_equal(moqc_auth_verify_leeway(k, future, now, 29, &c, &why), MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(moqc_auth_verify_leeway(k, future, now, 30, &c, &why), MOQC_OK);
  moqc_auth_claims_clear(&c);
  /* through a moqc_auth: 60 s by default, configurable */
  char file[600], url[4096];
  snprintf(file, sizeof file, "%s/leeway.jwk", tmpdir);
  char *jwk;
  assert_int_equal(moqc_auth_key_to_jwk(k, false, &jwk), MOQC_OK);
  FILE *f = fopen(file, "w");
  assert_non_null(f);
  fputs(jwk, f);
  fclose(f);
  moqc_auth *a;
  assert_int_equal(moqc_auth_new(file, NULL, NULL, 0, &a), MOQC_OK);
  assert_int_equal(moqc_auth_leeway(a), 60);
  snprintf(url, sizeof url, "/room?jwt=%s", past);
  assert_int_equal(moqc_auth_check(a, url, now, &c, &why), MOQC_OK);
  moqc_auth_claims_clear(&c);
  snprintf(url, sizeof url, "/room?jwt=%s", future);
  assert_int_equal(moqc_auth_check(a, url, now, &c, &why), MOQC_OK);
  moqc_auth_claims_clear(&c);
  snprintf(url, sizeof url, "/room?jwt=%s", old);
  assert_int_equal(moqc_auth_check(a, url, now, &c, &why), MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(why, MOQC_AUTH_EXPIRED);
  moqc_auth_set_leeway(a, 0);
  snprintf(url, sizeof url, "/room?jwt=%s", past);
  assert_int_equal(moqc_auth_check(a, url, now, &c, &why), MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(why, MOQC_AUTH_EXPIRED);
  moqc_auth_del(a);
  moqc_auth_free(jwk);
  moqc_auth_free(past);
  moqc_auth_free(future);
  moqc_auth_free(old);
  moqc_auth_key_del(k);
}

/* A <kid>.jwk that exists but does not parse is remembered: fixing the file
 * changes nothing until a new moqc_auth (SIGHUP in the relay) reads it. */
static void test_broken_key_cached(void **state) {
  (void)state;
  char dir[512], file[600], url[4096];
  snprintf(dir, sizeof dir, "%s/broken", tmpdir);
  mkdir(dir, 0700);
  snprintf(file, sizeof file, "%s/k9.jwk", dir);
  FILE *f = fopen(file, "w");
  assert_non_null(f);
  fputs("{\"kty\": \"oct\", \"k\": ", f); /* truncated JSON */
  fclose(f);
  moqc_auth_key *k;
  assert_int_equal(moqc_auth_key_generate(MOQC_AUTH_ALG_HS256, "k9", &k), MOQC_OK);
  char *tok = sign_times(k, now_s() + 3600, 0), *jwk;
  assert_int_equal(moqc_auth_key_to_jwk(k, false, &jwk), MOQC_OK);
  snprintf(url, sizeof url, "/room?jwt=%s", tok);
  moqc_auth *a;
  moqc_auth_claims c;
  moqc_auth_reason why;
  assert_int_equal(moqc_auth_new(NULL, dir, NULL, 0, &a), MOQC_OK);
  assert_int_equal(moqc_auth_check(a, url, now_s(), &c, &why), MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(why, MOQC_AUTH_NO_KEY);
  f = fopen(file, "w"); /* fixed on disk: still refused (not re-read) */
  assert_non_null(f);
  fputs(jwk, f);
  fclose(f);
  assert_int_equal(moqc_auth_check(a, url, now_s(), &c, &why), MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(why, MOQC_AUTH_NO_KEY);
  moqc_auth_del(a);
  assert_int_equal(moqc_auth_new(NULL, dir, NULL, 0, &a), MOQC_OK); /* "SIGHUP" */
  assert_int_equal(moqc_auth_check(a, url, now_s(), &c, &why), MOQC_OK);
  moqc_auth_claims_clear(&c);
  moqc_auth_del(a);
  moqc_auth_free(jwk);
  moqc_auth_free(tok);
  moqc_auth_key_del(k);
}

/* moqc_tenants: per-root counts with a cap, released back to empty. */
static void test_tenants(void **state) {
  (void)state;
  moqc_tenants *t = moqc_tenants_new();
  assert_non_null(t);
  assert_int_equal(moqc_tenants_acquire(t, "room", 2), MOQC_OK);
  assert_int_equal(moqc_tenants_acquire(t, "room", 2), MOQC_OK);
  assert_int_equal(moqc_tenants_acquire(t, "room", 2), MOQC_ERR_BOUNDS);
  assert_int_equal(moqc_tenants_acquire(t, "other", 2), MOQC_OK);
  assert_int_equal(moqc_tenants_acquire(t, "", 0), MOQC_ERR_BOUNDS);
  assert_int_equal(moqc_tenants_count(t, "room"), 2);
  assert_int_equal(moqc_tenants_count(t, "other"), 1);
  assert_int_equal(moqc_tenants_size(t), 2);
  moqc_tenants_release(t, "room");
  assert_int_equal(moqc_tenants_acquire(t, "room", 2), MOQC_OK);
  moqc_tenants_release(t, "room");
  moqc_tenants_release(t, "room");
  moqc_tenants_release(t, "other");
  assert_int_equal(moqc_tenants_size(t), 0);
  assert_int_equal(moqc_tenants_count(t, "room"), 0);
  assert_int_equal(moqc_tenants_acquire(t, "room", 1), MOQC_OK); /* left in: del frees it */
  moqc_tenants_del(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_jose_every_alg_verifies),
      cmocka_unit_test(test_jose_old_claim_names),
      cmocka_unit_test(test_jose_payload_byte_changed),
      cmocka_unit_test(test_jose_signature_byte_changed),
      cmocka_unit_test(test_jose_expired),
      cmocka_unit_test(test_jose_not_yet_valid),
      cmocka_unit_test(test_jose_alg_none),
      cmocka_unit_test(test_jose_wrong_kid),
      cmocka_unit_test(test_jose_key_of_other_type),
      cmocka_unit_test(test_jose_other_root),
      cmocka_unit_test(test_jose_pem_keys),
      cmocka_unit_test(test_generate_sign_verify),
      cmocka_unit_test(test_jwk_malformed),
      cmocka_unit_test(test_scope_rules),
      cmocka_unit_test(test_public_prefixes),
      cmocka_unit_test(test_url_token_and_redact),
      cmocka_unit_test(test_leeway),
      cmocka_unit_test(test_broken_key_cached),
      cmocka_unit_test(test_tenants),
  };
  return cmocka_run_group_tests(tests, setup_vectors, teardown_vectors);
}
