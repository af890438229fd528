/* moqc auth — JWT (compact JWS) verification and signing, and claims.
 *
 * Verification: the header is parsed here first, so alg "none", unknown algs
 * and algs other than the key's are refused before any crypto runs. HS*, RS*
 * and ES* signatures are then checked by libjwt (jwt_decode with the secret or
 * the public key PEM), PS* and EdDSA, which libjwt 1.10 lacks, by
 * gnutls_pubkey_verify_data2. The payload is parsed here with jansson in
 * both cases, so both paths read claims the same way.
 * Signing (the `moqc token` tool) uses GnuTLS for every algorithm. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <jwt.h>

#include "auth/auth_int.h"
#include "core/mem.h"
#include "moqc/error.h"
#include "moqc/path.h"

static const char *const reason_names[] = {
    "ok",
    "malformed token",
    "alg none",
    "unsupported algorithm",
    "algorithm does not match the key",
    "bad signature",
    "expired",
    "not yet valid",
    "no key for the token",
    "token required",
    "path outside the token root",
};

const char *moqc_auth_reason_str(moqc_auth_reason r) {
  return (size_t)r < sizeof reason_names / sizeof reason_names[0] ? reason_names[r] : "?";
}

static void free_list(char **l, size_t n) {
  for (size_t i = 0; i < n; i++) moqc_free(l[i]);
  moqc_free(l);
}

void moqc_auth_claims_clear(moqc_auth_claims *c) {
  if (!c) return;
  moqc_free(c->root);
  moqc_free(c->tenant);
  free_list(c->put, c->n_put);
  free_list(c->get, c->n_get);
  memset(c, 0, sizeof *c);
}

/* ---- claims ------------------------------------------------------------------------------ */

static int norm_dup(const char *s, size_t len, char **out) {
  char buf[MOQC_PATH_MAX_LEN + 1];
  ssize_t n = moqc_path_normalize(buf, sizeof buf, s, len);
  if (n < 0) return MOQC_ERR_DECODE;
  *out = moqc_strdup(buf);
  return *out ? MOQC_OK : MOQC_ERR_NOMEM;
}

/* A string or a list of strings -> normalised list. Missing -> empty list. */
static int read_list(json_t *v, char ***out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (!v || json_is_null(v)) return MOQC_OK;
  size_t cnt = json_is_string(v) ? 1 : json_is_array(v) ? json_array_size(v) : SIZE_MAX;
  if (cnt == SIZE_MAX) return MOQC_ERR_DECODE;
  if (!cnt) return MOQC_OK;
  char **l = moqc_calloc(cnt, sizeof *l);
  if (!l) return MOQC_ERR_NOMEM;
  int rc = MOQC_OK;
  for (size_t i = 0; i < cnt && rc == MOQC_OK; i++) {
    json_t *e = json_is_string(v) ? v : json_array_get(v, i);
    if (!json_is_string(e)) rc = MOQC_ERR_DECODE;
    else rc = norm_dup(json_string_value(e), json_string_length(e), &l[i]);
  }
  if (rc != MOQC_OK) {
    free_list(l, cnt);
    return rc;
  }
  *out = l;
  *n = cnt;
  return MOQC_OK;
}

static int read_time(json_t *obj, const char *name, int64_t *t, bool *has) {
  json_t *v = json_object_get(obj, name);
  *has = false;
  if (!v || json_is_null(v)) return MOQC_OK;
  if (json_is_integer(v)) *t = (int64_t)json_integer_value(v);
  else if (json_is_real(v)) *t = (int64_t)json_real_value(v);
  else return MOQC_ERR_DECODE;
  *has = true;
  return MOQC_OK;
}

int moqc__claims_from_json(json_t *obj, moqc_auth_claims *out) {
  memset(out, 0, sizeof *out);
  if (!json_is_object(obj)) return MOQC_ERR_DECODE;
  json_t *root = json_object_get(obj, "root");
  int rc = MOQC_OK;
  if (root && !json_is_null(root) && !json_is_string(root)) rc = MOQC_ERR_DECODE;
  else if (json_is_string(root))
    rc = norm_dup(json_string_value(root), json_string_length(root), &out->root);
  else if (!(out->root = moqc_strdup(""))) rc = MOQC_ERR_NOMEM;
  json_t *put = json_object_get(obj, "put"), *get = json_object_get(obj, "get");
  if (!put) put = json_object_get(obj, "pub"); /* older names */
  if (!get) get = json_object_get(obj, "sub");
  if (rc == MOQC_OK) rc = read_list(put, &out->put, &out->n_put);
  if (rc == MOQC_OK) rc = read_list(get, &out->get, &out->n_get);
  if (rc == MOQC_OK) rc = read_time(obj, "exp", &out->exp, &out->has_exp);
  if (rc == MOQC_OK) rc = read_time(obj, "nbf", &out->nbf, &out->has_nbf);
  if (rc == MOQC_OK) rc = read_time(obj, "iat", &out->iat, &out->has_iat);
  if (rc != MOQC_OK) moqc_auth_claims_clear(out);
  return rc;
}

/* ---- compact JWS ------------------------------------------------------------------------- */

typedef struct jws {
  const char *h, *p, *s; /* the three parts */
  size_t hlen, plen, slen;
  json_t *header;
  moqc_auth_alg alg;
  bool alg_none;
} jws;

static int jws_split(const char *jwt, jws *j) {
  memset(j, 0, sizeof *j);
  const char *d1 = strchr(jwt, '.');
  const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
  if (!d1 || !d2 || strchr(d2 + 1, '.')) return MOQC_ERR_DECODE;
  j->h = jwt;
  j->hlen = (size_t)(d1 - jwt);
  j->p = d1 + 1;
  j->plen = (size_t)(d2 - j->p);
  j->s = d2 + 1;
  j->slen = strlen(j->s);
  unsigned char *hb;
  size_t hn;
  int rc = moqc__b64url_decode(j->h, j->hlen, &hb, &hn);
  if (rc) return rc;
  j->header = json_loadb((const char *)hb, hn, JSON_REJECT_DUPLICATES, NULL);
  moqc_free(hb);
  if (!json_is_object(j->header)) {
    json_decref(j->header);
    j->header = NULL;
    return MOQC_ERR_DECODE;
  }
  const char *alg = json_string_value(json_object_get(j->header, "alg"));
  j->alg = moqc_auth_alg_from_str(alg);
  j->alg_none = !alg || strcmp(alg, "none") == 0;
  return MOQC_OK;
}

int moqc_auth_token_kid(const char *jwt, char *kid, size_t cap) {
  if (!jwt || !kid || !cap) return MOQC_ERR_INVAL;
  kid[0] = 0;
  jws j;
  int rc = jws_split(jwt, &j);
  if (rc) return rc == MOQC_ERR_NOMEM ? rc : MOQC_ERR_DECODE;
  json_t *v = json_object_get(j.header, "kid");
  if (!v) rc = MOQC_ERR_NOT_FOUND;
  else if (!json_is_string(v)) rc = MOQC_ERR_DECODE;
  else if (json_string_length(v) >= cap) rc = MOQC_ERR_BUFSIZE;
  else memcpy(kid, json_string_value(v), json_string_length(v) + 1);
  json_decref(j.header);
  return rc;
}

static jwt_alg_t libjwt_alg(moqc_auth_alg a) {
  switch (a) {
    case MOQC_AUTH_ALG_HS256: return JWT_ALG_HS256;
    case MOQC_AUTH_ALG_HS384: return JWT_ALG_HS384;
    case MOQC_AUTH_ALG_HS512: return JWT_ALG_HS512;
    case MOQC_AUTH_ALG_RS256: return JWT_ALG_RS256;
    case MOQC_AUTH_ALG_RS384: return JWT_ALG_RS384;
    case MOQC_AUTH_ALG_RS512: return JWT_ALG_RS512;
    case MOQC_AUTH_ALG_ES256: return JWT_ALG_ES256;
    case MOQC_AUTH_ALG_ES384: return JWT_ALG_ES384;
    default: return JWT_ALG_NONE;
  }
}

static gnutls_sign_algorithm_t gnutls_sign_of(moqc_auth_alg a) {
  switch (a) {
    case MOQC_AUTH_ALG_RS256: return GNUTLS_SIGN_RSA_SHA256;
    case MOQC_AUTH_ALG_RS384: return GNUTLS_SIGN_RSA_SHA384;
    case MOQC_AUTH_ALG_RS512: return GNUTLS_SIGN_RSA_SHA512;
    case MOQC_AUTH_ALG_PS256: return GNUTLS_SIGN_RSA_PSS_RSAE_SHA256;
    case MOQC_AUTH_ALG_PS384: return GNUTLS_SIGN_RSA_PSS_RSAE_SHA384;
    case MOQC_AUTH_ALG_PS512: return GNUTLS_SIGN_RSA_PSS_RSAE_SHA512;
    case MOQC_AUTH_ALG_ES256: return GNUTLS_SIGN_ECDSA_SHA256;
    case MOQC_AUTH_ALG_ES384: return GNUTLS_SIGN_ECDSA_SHA384;
    case MOQC_AUTH_ALG_EDDSA: return GNUTLS_SIGN_EDDSA_ED25519;
    default: return GNUTLS_SIGN_UNKNOWN;
  }
}

static gnutls_mac_algorithm_t hmac_of(moqc_auth_alg a) {
  return a == MOQC_AUTH_ALG_HS256   ? GNUTLS_MAC_SHA256
         : a == MOQC_AUTH_ALG_HS384 ? GNUTLS_MAC_SHA384
                                    : GNUTLS_MAC_SHA512;
}

/* libjwt: HS*, RS*, ES*. */
static bool verify_libjwt(const moqc_auth_key *k, const char *token, moqc_auth_alg alg) {
  const unsigned char *key;
  int klen;
  if (k->kty == MOQC__KTY_OCT) {
    key = k->secret;
    klen = (int)k->secret_len;
  } else {
    assert(k->pub_pem);
    key = (const unsigned char *)k->pub_pem;
    klen = (int)strlen(k->pub_pem);
  }
  jwt_t *j = NULL;
  int rc = jwt_decode(&j, token, key, klen);
  bool ok = rc == 0 && j && jwt_get_alg(j) == libjwt_alg(alg);
  jwt_free(j);
  return ok;
}

/* GnuTLS: PS*, EdDSA. */
static bool verify_gnutls(const moqc_auth_key *k, const jws *j, moqc_auth_alg alg) {
  unsigned char *sig;
  size_t slen;
  if (moqc__b64url_decode(j->s, j->slen, &sig, &slen) != MOQC_OK) return false;
  gnutls_datum_t data = {(unsigned char *)(uintptr_t)j->h, (unsigned)(j->hlen + 1 + j->plen)};
  gnutls_datum_t s = {sig, (unsigned)slen};
  int rc = gnutls_pubkey_verify_data2(k->pub, gnutls_sign_of(alg), 0, &data, &s);
  moqc_free(sig);
  return rc >= 0;
}

int moqc_auth_verify(const moqc_auth_key *key, const char *jwt, int64_t now, moqc_auth_claims *out,
                     moqc_auth_reason *why) {
  return moqc_auth_verify_leeway(key, jwt, now, 0, out, why);
}

int moqc_auth_verify_leeway(const moqc_auth_key *key, const char *jwt, int64_t now, uint32_t leeway,
                            moqc_auth_claims *out, moqc_auth_reason *why) {
  moqc_auth_reason tmp;
  if (!why) why = &tmp;
  *why = MOQC_AUTH_MALFORMED;
  if (!key || !jwt || !out) return MOQC_ERR_INVAL;
  memset(out, 0, sizeof *out);
  jws j;
  int rc = jws_split(jwt, &j);
  if (rc == MOQC_ERR_NOMEM) return rc;
  if (rc) return MOQC_ERR_UNAUTHORIZED;
  json_decref(j.header);
  j.header = NULL;
  if (j.alg_none) {
    *why = MOQC_AUTH_UNSIGNED;
    return MOQC_ERR_UNAUTHORIZED;
  }
  if (j.alg == MOQC_AUTH_ALG_NONE) {
    *why = MOQC_AUTH_ALG_UNKNOWN;
    return MOQC_ERR_UNAUTHORIZED;
  }
  if (!moqc__key_accepts(key, j.alg)) {
    *why = MOQC_AUTH_ALG_MISMATCH;
    return MOQC_ERR_UNAUTHORIZED;
  }
  bool ok = libjwt_alg(j.alg) != JWT_ALG_NONE ? verify_libjwt(key, jwt, j.alg)
                                              : verify_gnutls(key, &j, j.alg);
  if (!ok) {
    *why = MOQC_AUTH_BAD_SIGNATURE;
    return MOQC_ERR_UNAUTHORIZED;
  }
  unsigned char *pb;
  size_t pn;
  rc = moqc__b64url_decode(j.p, j.plen, &pb, &pn);
  if (rc == MOQC_ERR_NOMEM) return rc;
  if (rc) return MOQC_ERR_UNAUTHORIZED;
  json_t *payload = json_loadb((const char *)pb, pn, JSON_REJECT_DUPLICATES, NULL);
  moqc_free(pb);
  rc = payload ? moqc__claims_from_json(payload, out) : MOQC_ERR_DECODE;
  json_decref(payload);
  if (rc == MOQC_ERR_NOMEM) return rc;
  if (rc) return MOQC_ERR_UNAUTHORIZED;
  if (out->has_exp && now >= out->exp && now - out->exp >= (int64_t)leeway)
    *why = MOQC_AUTH_EXPIRED;
  else if (out->has_nbf && now < out->nbf && out->nbf - now > (int64_t)leeway)
    *why = MOQC_AUTH_NOT_YET_VALID;
  else *why = MOQC_AUTH_OK;
  if (*why != MOQC_AUTH_OK) {
    moqc_auth_claims_clear(out);
    return MOQC_ERR_UNAUTHORIZED;
  }
  return MOQC_OK;
}

/* ---- signing ----------------------------------------------------------------------------- */

static json_t *list_json(char *const *l, size_t n) {
  if (n == 1) return json_string(l[0]);
  json_t *a = json_array();
  for (size_t i = 0; a && i < n; i++) json_array_append_new(a, json_string(l[i]));
  return a;
}

static int b64_json(json_t *o, char **out) {
  char *s = json_dumps(o, JSON_COMPACT);
  if (!s) return MOQC_ERR_NOMEM;
  int rc = moqc__b64url_encode((const unsigned char *)s, strlen(s), out);
  free(s);
  return rc;
}

/* Sign data, producing the JWS signature bytes (*sig allocated with gnutls_malloc). */
static int sign_data(const moqc_auth_key *k, const gnutls_datum_t *data, gnutls_datum_t *sig) {
  if (k->kty == MOQC__KTY_OCT) {
    size_t n = gnutls_hmac_get_len(hmac_of(k->alg));
    sig->data = gnutls_malloc(n);
    sig->size = (unsigned)n;
    if (!sig->data) return MOQC_ERR_NOMEM;
    return gnutls_hmac_fast(hmac_of(k->alg), k->secret, k->secret_len, data->data, data->size,
                            sig->data) < 0
               ? MOQC_ERR_TLS
               : MOQC_OK;
  }
  gnutls_datum_t der = {0};
  if (gnutls_privkey_sign_data2(k->priv, gnutls_sign_of(k->alg), 0, data, &der) < 0)
    return MOQC_ERR_TLS;
  if (k->kty != MOQC__KTY_EC) {
    *sig = der;
    return MOQC_OK;
  }
  /* ECDSA: GnuTLS gives DER (r, s); JWS wants r || s, each the field width. */
  gnutls_datum_t r = {0}, s = {0};
  int rc = gnutls_decode_rs_value(&der, &r, &s) < 0 ? MOQC_ERR_TLS : MOQC_OK;
  gnutls_free(der.data);
  size_t w = k->curve == GNUTLS_ECC_CURVE_SECP384R1 ? 48 : 32;
  if (rc == MOQC_OK) {
    sig->data = gnutls_calloc(1, 2 * w);
    sig->size = (unsigned)(2 * w);
    if (!sig->data) rc = MOQC_ERR_NOMEM;
  }
  gnutls_datum_t *parts[2] = {&r, &s};
  for (size_t i = 0; rc == MOQC_OK && i < 2; i++) {
    const unsigned char *p = parts[i]->data;
    size_t n = parts[i]->size;
    while (n > w && *p == 0) p++, n--;
    if (n > w) rc = MOQC_ERR_TLS;
    else memcpy(sig->data + i * w + (w - n), p, n);
  }
  gnutls_free(r.data);
  gnutls_free(s.data);
  return rc;
}

int moqc_auth_sign(const moqc_auth_key *key, const moqc_auth_claims *c, char **jwt_out) {
  if (!key || !c || !jwt_out) return MOQC_ERR_INVAL;
  *jwt_out = NULL;
  if (!moqc_auth_key_can_sign(key) || key->alg == MOQC_AUTH_ALG_NONE) return MOQC_ERR_INVAL;
  json_t *h = json_object(), *p = json_object();
  json_object_set_new(h, "alg", json_string(moqc_auth_alg_str(key->alg)));
  json_object_set_new(h, "typ", json_string("JWT"));
  if (key->kid) json_object_set_new(h, "kid", json_string(key->kid));
  if (c->root && *c->root) json_object_set_new(p, "root", json_string(c->root));
  if (c->n_put) json_object_set_new(p, "put", list_json(c->put, c->n_put));
  if (c->n_get) json_object_set_new(p, "get", list_json(c->get, c->n_get));
  if (c->has_exp) json_object_set_new(p, "exp", json_integer(c->exp));
  if (c->has_nbf) json_object_set_new(p, "nbf", json_integer(c->nbf));
  if (c->has_iat) json_object_set_new(p, "iat", json_integer(c->iat));
  char *hb = NULL, *pb = NULL, *sb = NULL, *input = NULL;
  int rc = h && p ? b64_json(h, &hb) : MOQC_ERR_NOMEM;
  if (!rc) rc = b64_json(p, &pb);
  json_decref(h);
  json_decref(p);
  size_t hl = hb ? strlen(hb) : 0, pl = pb ? strlen(pb) : 0;
  if (!rc && !(input = moqc_malloc(hl + 1 + pl + 1))) rc = MOQC_ERR_NOMEM;
  gnutls_datum_t sig = {0};
  if (!rc) {
    memcpy(input, hb, hl);
    input[hl] = '.';
    memcpy(input + hl + 1, pb, pl + 1);
    gnutls_datum_t data = {(unsigned char *)input, (unsigned)(hl + 1 + pl)};
    rc = sign_data(key, &data, &sig);
  }
  if (!rc) rc = moqc__b64url_encode(sig.data, sig.size, &sb);
  gnutls_free(sig.data);
  if (!rc) {
    size_t il = strlen(input), sl = strlen(sb);
    char *t = moqc_malloc(il + 1 + sl + 1);
    if (!t) {
      rc = MOQC_ERR_NOMEM;
    } else {
      memcpy(t, input, il);
      t[il] = '.';
      memcpy(t + il + 1, sb, sl + 1);
      *jwt_out = t;
    }
  }
  moqc_free(hb);
  moqc_free(pb);
  moqc_free(sb);
  moqc_free(input);
  return rc;
}
