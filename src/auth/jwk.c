/* moqc auth — keys: JWK (moq-token's JSON, or that JSON base64url-encoded),
 * PEM public keys, generation and JWK export. Key material is handled by
 * GnuTLS only; this file moves bytes between JSON fields and GnuTLS. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>

#include "auth/auth_int.h"
#include "core/mem.h"
#include "moqc/error.h"

static const struct {
  moqc_auth_alg alg;
  const char *name;
} alg_names[] = {
    {MOQC_AUTH_ALG_HS256, "HS256"}, {MOQC_AUTH_ALG_HS384, "HS384"}, {MOQC_AUTH_ALG_HS512, "HS512"},
    {MOQC_AUTH_ALG_RS256, "RS256"}, {MOQC_AUTH_ALG_RS384, "RS384"}, {MOQC_AUTH_ALG_RS512, "RS512"},
    {MOQC_AUTH_ALG_PS256, "PS256"}, {MOQC_AUTH_ALG_PS384, "PS384"}, {MOQC_AUTH_ALG_PS512, "PS512"},
    {MOQC_AUTH_ALG_ES256, "ES256"}, {MOQC_AUTH_ALG_ES384, "ES384"}, {MOQC_AUTH_ALG_EDDSA, "EdDSA"},
};

const char *moqc_auth_alg_str(moqc_auth_alg alg) {
  if (alg == MOQC_AUTH_ALG_NONE) return "none";
  for (size_t i = 0; i < sizeof alg_names / sizeof alg_names[0]; i++)
    if (alg_names[i].alg == alg) return alg_names[i].name;
  return "?";
}

moqc_auth_alg moqc_auth_alg_from_str(const char *name) {
  for (size_t i = 0; name && i < sizeof alg_names / sizeof alg_names[0]; i++)
    if (strcmp(alg_names[i].name, name) == 0) return alg_names[i].alg;
  return MOQC_AUTH_ALG_NONE;
}

void moqc_auth_free(void *p) { moqc_free(p); }

static bool alg_is_hs(moqc_auth_alg a) {
  return a >= MOQC_AUTH_ALG_HS256 && a <= MOQC_AUTH_ALG_HS512;
}
static bool alg_is_rsa(moqc_auth_alg a) {
  return a >= MOQC_AUTH_ALG_RS256 && a <= MOQC_AUTH_ALG_PS512;
}

bool moqc__key_accepts(const moqc_auth_key *k, moqc_auth_alg alg) {
  if (alg == MOQC_AUTH_ALG_NONE) return false;
  if (k->alg != MOQC_AUTH_ALG_NONE) return k->alg == alg;
  switch (k->kty) { /* a PEM key: any alg of its type */
    case MOQC__KTY_RSA: return alg_is_rsa(alg);
    case MOQC__KTY_EC:
      return k->curve == GNUTLS_ECC_CURVE_SECP256R1 ? alg == MOQC_AUTH_ALG_ES256
                                                    : alg == MOQC_AUTH_ALG_ES384;
    case MOQC__KTY_OKP: return alg == MOQC_AUTH_ALG_EDDSA;
    case MOQC__KTY_OCT: return alg_is_hs(alg);
  }
  return false;
}

void moqc_auth_key_del(moqc_auth_key *k) {
  if (!k) return;
  if (k->secret) gnutls_memset(k->secret, 0, k->secret_len);
  moqc_free(k->secret);
  moqc_free(k->kid);
  moqc_free(k->pub_pem);
  if (k->pub) gnutls_pubkey_deinit(k->pub);
  if (k->priv) gnutls_privkey_deinit(k->priv);
  moqc_free(k);
}

moqc_auth_alg moqc_auth_key_alg(const moqc_auth_key *k) { return k ? k->alg : MOQC_AUTH_ALG_NONE; }
const char *moqc_auth_key_kid(const moqc_auth_key *k) { return k ? k->kid : NULL; }
bool moqc_auth_key_can_sign(const moqc_auth_key *k) {
  return k && (k->kty == MOQC__KTY_OCT ? k->secret_len > 0 : k->priv != NULL);
}

/* ---- JWK fields --------------------------------------------------------------------------- */

typedef struct b64field {
  gnutls_datum_t d;
} b64field;

/* Decode the base64url string member name of obj into *f. Missing:
 * MOQC_ERR_NOT_FOUND (f zeroed). */
static int get_b64(json_t *obj, const char *name, gnutls_datum_t *f) {
  memset(f, 0, sizeof *f);
  json_t *v = json_object_get(obj, name);
  if (!v) return MOQC_ERR_NOT_FOUND;
  if (!json_is_string(v)) return MOQC_ERR_DECODE;
  unsigned char *p;
  size_t n;
  int rc = moqc__b64url_decode(json_string_value(v), json_string_length(v), &p, &n);
  if (rc) return rc;
  if (n > UINT32_MAX) {
    moqc_free(p);
    return MOQC_ERR_DECODE;
  }
  f->data = p;
  f->size = (unsigned)n;
  return MOQC_OK;
}

static void free_datum(gnutls_datum_t *f) {
  if (f->data) gnutls_memset(f->data, 0, f->size);
  moqc_free(f->data);
  memset(f, 0, sizeof *f);
}

static int export_pub_pem(moqc_auth_key *k) {
  gnutls_datum_t pem = {0};
  if (gnutls_pubkey_export2(k->pub, GNUTLS_X509_FMT_PEM, &pem) < 0) return MOQC_ERR_DECODE;
  k->pub_pem = moqc_strndup((const char *)pem.data, pem.size);
  gnutls_free(pem.data);
  return k->pub_pem ? MOQC_OK : MOQC_ERR_NOMEM;
}

static int jwk_oct(moqc_auth_key *k, json_t *obj) {
  gnutls_datum_t s;
  int rc = get_b64(obj, "k", &s);
  if (rc == MOQC_ERR_NOT_FOUND || (rc == MOQC_OK && s.size == 0)) rc = MOQC_ERR_DECODE;
  if (rc) return rc;
  if (!alg_is_hs(k->alg)) {
    free_datum(&s);
    return MOQC_ERR_UNSUPPORTED;
  }
  k->secret = s.data;
  k->secret_len = s.size;
  return MOQC_OK;
}

static int jwk_rsa(moqc_auth_key *k, json_t *obj) {
  if (!alg_is_rsa(k->alg)) return MOQC_ERR_UNSUPPORTED;
  gnutls_datum_t f[5]; /* n e d p q */
  static const char *const names[5] = {"n", "e", "d", "p", "q"};
  int rc = MOQC_OK;
  memset(f, 0, sizeof f);
  for (size_t i = 0; i < 5 && rc == MOQC_OK; i++) {
    rc = get_b64(obj, names[i], &f[i]);
    if (rc == MOQC_ERR_NOT_FOUND) rc = i < 2 ? MOQC_ERR_DECODE : MOQC_OK;
  }
  if (rc == MOQC_OK && gnutls_pubkey_init(&k->pub) < 0) rc = MOQC_ERR_NOMEM;
  if (rc == MOQC_OK && gnutls_pubkey_import_rsa_raw(k->pub, &f[0], &f[1]) < 0) rc = MOQC_ERR_DECODE;
  if (rc == MOQC_OK && f[2].data && f[3].data && f[4].data) {
    if (gnutls_privkey_init(&k->priv) < 0) rc = MOQC_ERR_NOMEM;
    else if (gnutls_privkey_import_rsa_raw(k->priv, &f[0], &f[1], &f[2], &f[3], &f[4], NULL, NULL,
                                           NULL) < 0)
      rc = MOQC_ERR_DECODE;
  }
  for (size_t i = 0; i < 5; i++) free_datum(&f[i]);
  return rc == MOQC_OK ? export_pub_pem(k) : rc;
}

/* EC (P-256 / P-384) and OKP (Ed25519). */
static int jwk_curve(moqc_auth_key *k, json_t *obj) {
  const char *crv = json_string_value(json_object_get(obj, "crv"));
  if (!crv) return MOQC_ERR_DECODE;
  size_t coord;
  if (k->kty == MOQC__KTY_EC && strcmp(crv, "P-256") == 0 && k->alg == MOQC_AUTH_ALG_ES256) {
    k->curve = GNUTLS_ECC_CURVE_SECP256R1;
    coord = 32;
  } else if (k->kty == MOQC__KTY_EC && strcmp(crv, "P-384") == 0 && k->alg == MOQC_AUTH_ALG_ES384) {
    k->curve = GNUTLS_ECC_CURVE_SECP384R1;
    coord = 48;
  } else if (k->kty == MOQC__KTY_OKP && strcmp(crv, "Ed25519") == 0 &&
             k->alg == MOQC_AUTH_ALG_EDDSA) {
    k->curve = GNUTLS_ECC_CURVE_ED25519;
    coord = 32;
  } else {
    return MOQC_ERR_UNSUPPORTED;
  }
  gnutls_datum_t x, y = {0}, d;
  int rc = get_b64(obj, "x", &x);
  if (rc == MOQC_OK && k->kty == MOQC__KTY_EC) rc = get_b64(obj, "y", &y);
  if (rc == MOQC_ERR_NOT_FOUND) rc = MOQC_ERR_DECODE;
  if (rc == MOQC_OK && (x.size != coord || (k->kty == MOQC__KTY_EC && y.size != coord)))
    rc = MOQC_ERR_DECODE;
  int drc = rc == MOQC_OK ? get_b64(obj, "d", &d) : MOQC_ERR_NOT_FOUND;
  if (drc != MOQC_ERR_NOT_FOUND && drc != MOQC_OK) rc = drc;
  const gnutls_datum_t *yp = k->kty == MOQC__KTY_EC ? &y : NULL;
  if (rc == MOQC_OK && gnutls_pubkey_init(&k->pub) < 0) rc = MOQC_ERR_NOMEM;
  if (rc == MOQC_OK && gnutls_pubkey_import_ecc_raw(k->pub, k->curve, &x, yp) < 0)
    rc = MOQC_ERR_DECODE;
  if (rc == MOQC_OK && drc == MOQC_OK) {
    if (gnutls_privkey_init(&k->priv) < 0) rc = MOQC_ERR_NOMEM;
    else if (gnutls_privkey_import_ecc_raw(k->priv, k->curve, &x, yp, &d) < 0) rc = MOQC_ERR_DECODE;
  }
  free_datum(&x);
  free_datum(&y);
  if (drc == MOQC_OK) free_datum(&d);
  if (rc == MOQC_OK && k->kty == MOQC__KTY_EC) rc = export_pub_pem(k);
  return rc;
}

static int key_from_json(json_t *obj, moqc_auth_key *k) {
  if (!json_is_object(obj)) return MOQC_ERR_DECODE;
  const char *alg = json_string_value(json_object_get(obj, "alg"));
  const char *kty = json_string_value(json_object_get(obj, "kty"));
  const char *kid = json_string_value(json_object_get(obj, "kid"));
  if (!alg) return MOQC_ERR_DECODE;
  k->alg = moqc_auth_alg_from_str(alg);
  if (k->alg == MOQC_AUTH_ALG_NONE) return MOQC_ERR_UNSUPPORTED;
  if (kid && !(k->kid = moqc_strdup(kid))) return MOQC_ERR_NOMEM;
  if (!kty || strcmp(kty, "oct") == 0) { /* moq-token: a missing kty means oct */
    k->kty = MOQC__KTY_OCT;
    return jwk_oct(k, obj);
  }
  if (strcmp(kty, "RSA") == 0) {
    k->kty = MOQC__KTY_RSA;
    return jwk_rsa(k, obj);
  }
  if (strcmp(kty, "EC") == 0 || strcmp(kty, "OKP") == 0) {
    k->kty = kty[0] == 'E' ? MOQC__KTY_EC : MOQC__KTY_OKP;
    return jwk_curve(k, obj);
  }
  return MOQC_ERR_UNSUPPORTED;
}

static int key_from_pem(const char *text, size_t len, moqc_auth_key *k) {
  gnutls_datum_t d = {(unsigned char *)(uintptr_t)text, (unsigned)len};
  if (gnutls_pubkey_init(&k->pub) < 0) return MOQC_ERR_NOMEM;
  if (gnutls_pubkey_import(k->pub, &d, GNUTLS_X509_FMT_PEM) < 0) return MOQC_ERR_DECODE;
  unsigned bits = 0;
  int pk = gnutls_pubkey_get_pk_algorithm(k->pub, &bits);
  k->alg = MOQC_AUTH_ALG_NONE;
  if (pk == GNUTLS_PK_RSA) {
    k->kty = MOQC__KTY_RSA;
  } else if (pk == GNUTLS_PK_EC) {
    k->kty = MOQC__KTY_EC;
    if (gnutls_pubkey_export_ecc_raw2(k->pub, &k->curve, NULL, NULL, 0) < 0) return MOQC_ERR_DECODE;
    if (k->curve != GNUTLS_ECC_CURVE_SECP256R1 && k->curve != GNUTLS_ECC_CURVE_SECP384R1)
      return MOQC_ERR_UNSUPPORTED;
  } else if (pk == GNUTLS_PK_EDDSA_ED25519) {
    k->kty = MOQC__KTY_OKP;
    k->curve = GNUTLS_ECC_CURVE_ED25519;
    return MOQC_OK;
  } else {
    return MOQC_ERR_UNSUPPORTED;
  }
  return export_pub_pem(k);
}

int moqc_auth_key_parse(const char *text, size_t len, moqc_auth_key **out) {
  if (!text || !out) return MOQC_ERR_INVAL;
  *out = NULL;
  while (len && (text[0] == ' ' || text[0] == '\n' || text[0] == '\r' || text[0] == '\t')) {
    text++;
    len--;
  }
  while (len && (text[len - 1] == ' ' || text[len - 1] == '\n' || text[len - 1] == '\r' ||
                 text[len - 1] == '\t'))
    len--;
  if (!len || len > UINT32_MAX) return MOQC_ERR_DECODE;
  moqc_auth_key *k = moqc_calloc(1, sizeof *k);
  if (!k) return MOQC_ERR_NOMEM;
  int rc;
  if (text[0] == '-') {
    rc = key_from_pem(text, len, k);
  } else {
    unsigned char *dec = NULL;
    size_t dlen = len;
    const char *json = text;
    rc = MOQC_OK;
    if (text[0] != '{') { /* base64url-encoded JSON, as moq-token writes files */
      rc = moqc__b64url_decode(text, len, &dec, &dlen);
      json = (const char *)dec;
    }
    if (rc == MOQC_OK) {
      json_t *obj = json_loadb(json, dlen, JSON_REJECT_DUPLICATES, NULL);
      rc = obj ? key_from_json(obj, k) : MOQC_ERR_DECODE;
      json_decref(obj);
    }
    moqc_free(dec);
  }
  if (rc != MOQC_OK) {
    moqc_auth_key_del(k);
    return rc;
  }
  *out = k;
  return MOQC_OK;
}

int moqc_auth_key_load(const char *file, moqc_auth_key **out) {
  if (!file || !out) return MOQC_ERR_INVAL;
  *out = NULL;
  FILE *f = fopen(file, "rb");
  if (!f) return MOQC_ERR_IO;
  size_t cap = 1 << 20;
  char *buf = moqc_malloc(cap + 1);
  if (!buf) {
    fclose(f);
    return MOQC_ERR_NOMEM;
  }
  size_t n = fread(buf, 1, cap + 1, f);
  int bad = ferror(f);
  fclose(f);
  int rc = bad ? MOQC_ERR_IO : n > cap ? MOQC_ERR_DECODE : moqc_auth_key_parse(buf, n, out);
  gnutls_memset(buf, 0, n);
  moqc_free(buf);
  return rc;
}

/* ---- generation and export --------------------------------------------------------------- */

static size_t hs_len(moqc_auth_alg a) {
  return a == MOQC_AUTH_ALG_HS256 ? 32 : a == MOQC_AUTH_ALG_HS384 ? 48 : 64;
}

static int gen_asym(moqc_auth_key *k) {
  gnutls_pk_algorithm_t pk;
  unsigned bits;
  if (alg_is_rsa(k->alg)) {
    k->kty = MOQC__KTY_RSA;
    pk = GNUTLS_PK_RSA;
    bits = 2048;
  } else if (k->alg == MOQC_AUTH_ALG_EDDSA) {
    k->kty = MOQC__KTY_OKP;
    k->curve = GNUTLS_ECC_CURVE_ED25519;
    pk = GNUTLS_PK_EDDSA_ED25519;
    bits = GNUTLS_CURVE_TO_BITS(k->curve);
  } else {
    k->kty = MOQC__KTY_EC;
    k->curve =
        k->alg == MOQC_AUTH_ALG_ES256 ? GNUTLS_ECC_CURVE_SECP256R1 : GNUTLS_ECC_CURVE_SECP384R1;
    pk = GNUTLS_PK_EC;
    bits = GNUTLS_CURVE_TO_BITS(k->curve);
  }
  if (gnutls_privkey_init(&k->priv) < 0 || gnutls_pubkey_init(&k->pub) < 0) return MOQC_ERR_NOMEM;
  if (gnutls_privkey_generate2(k->priv, pk, bits, 0, NULL, 0) < 0) return MOQC_ERR_UNSUPPORTED;
  if (gnutls_pubkey_import_privkey(k->pub, k->priv, 0, 0) < 0) return MOQC_ERR_UNSUPPORTED;
  return k->kty == MOQC__KTY_OKP ? MOQC_OK : export_pub_pem(k);
}

int moqc_auth_key_generate(moqc_auth_alg alg, const char *kid, moqc_auth_key **out) {
  if (!out || moqc_auth_alg_str(alg)[0] == '?' || alg == MOQC_AUTH_ALG_NONE) return MOQC_ERR_INVAL;
  *out = NULL;
  moqc_auth_key *k = moqc_calloc(1, sizeof *k);
  if (!k) return MOQC_ERR_NOMEM;
  k->alg = alg;
  int rc = MOQC_OK;
  if (kid && !(k->kid = moqc_strdup(kid))) rc = MOQC_ERR_NOMEM;
  if (rc == MOQC_OK && alg_is_hs(alg)) {
    k->kty = MOQC__KTY_OCT;
    k->secret_len = hs_len(alg);
    k->secret = moqc_malloc(k->secret_len);
    if (!k->secret) rc = MOQC_ERR_NOMEM;
    else if (gnutls_rnd(GNUTLS_RND_KEY, k->secret, k->secret_len) < 0) rc = MOQC_ERR_TLS;
  } else if (rc == MOQC_OK) {
    rc = gen_asym(k);
  }
  if (rc != MOQC_OK) {
    moqc_auth_key_del(k);
    return rc;
  }
  *out = k;
  return MOQC_OK;
}

/* Set obj[name] = base64url(d), left-padded with zeros to width (0 = as is). */
static int put_b64(json_t *obj, const char *name, const gnutls_datum_t *d, size_t width) {
  size_t n = d->size > width ? d->size : width;
  unsigned char *p = moqc_calloc(1, n ? n : 1);
  if (!p) return MOQC_ERR_NOMEM;
  memcpy(p + (n - d->size), d->data, d->size);
  char *s;
  int rc = moqc__b64url_encode(p, n, &s);
  gnutls_memset(p, 0, n);
  moqc_free(p);
  if (rc) return rc;
  rc = json_object_set_new(obj, name, json_string(s)) ? MOQC_ERR_NOMEM : MOQC_OK;
  moqc_free(s);
  return rc;
}

static int export_rsa(const moqc_auth_key *k, json_t *o, bool pub_only) {
  gnutls_datum_t f[8];
  memset(f, 0, sizeof f);
  int rc = MOQC_OK;
  if (pub_only || !k->priv) {
    if (gnutls_pubkey_export_rsa_raw2(k->pub, &f[0], &f[1], GNUTLS_EXPORT_FLAG_NO_LZ) < 0)
      return MOQC_ERR_DECODE;
    rc = put_b64(o, "n", &f[0], 0);
    if (!rc) rc = put_b64(o, "e", &f[1], 0);
    gnutls_free(f[0].data);
    gnutls_free(f[1].data);
    return rc;
  }
  /* n e d p q u(=qi) e1(=dp) e2(=dq) */
  if (gnutls_privkey_export_rsa_raw2(k->priv, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6],
                                     &f[7], GNUTLS_EXPORT_FLAG_NO_LZ) < 0)
    return MOQC_ERR_DECODE;
  static const char *const names[8] = {"n", "e", "d", "p", "q", "qi", "dp", "dq"};
  for (size_t i = 0; i < 8 && !rc; i++) rc = put_b64(o, names[i], &f[i], 0);
  for (size_t i = 0; i < 8; i++) {
    if (f[i].data) gnutls_memset(f[i].data, 0, f[i].size);
    gnutls_free(f[i].data);
  }
  return rc;
}

static int export_curve(const moqc_auth_key *k, json_t *o, bool pub_only) {
  gnutls_datum_t x = {0}, y = {0}, d = {0};
  gnutls_ecc_curve_t c;
  int grc = pub_only || !k->priv ? gnutls_pubkey_export_ecc_raw2(
                                       k->pub, &c, &x, k->kty == MOQC__KTY_EC ? &y : NULL, 0)
                                 : gnutls_privkey_export_ecc_raw2(
                                       k->priv, &c, &x, k->kty == MOQC__KTY_EC ? &y : NULL, &d, 0);
  if (grc < 0) return MOQC_ERR_DECODE;
  size_t w = k->curve == GNUTLS_ECC_CURVE_SECP384R1 ? 48 : 32;
  /* GnuTLS may prepend a zero byte to a coordinate: drop what exceeds the width. */
  gnutls_datum_t *all[3] = {&x, &y, &d};
  for (size_t i = 0; i < 3; i++) {
    gnutls_datum_t *v = all[i];
    if (v->size > w) {
      memmove(v->data, v->data + (v->size - w), w);
      v->size = (unsigned)w;
    }
  }
  json_object_set_new(o, "crv",
                      json_string(k->kty == MOQC__KTY_OKP ? "Ed25519"
                                  : w == 48               ? "P-384"
                                                          : "P-256"));
  int rc = put_b64(o, "x", &x, w);
  if (!rc && k->kty == MOQC__KTY_EC) rc = put_b64(o, "y", &y, w);
  if (!rc && d.data) rc = put_b64(o, "d", &d, w);
  if (d.data) gnutls_memset(d.data, 0, d.size);
  gnutls_free(x.data);
  gnutls_free(y.data);
  gnutls_free(d.data);
  return rc;
}

int moqc_auth_key_to_jwk(const moqc_auth_key *k, bool public_only, char **json_out) {
  if (!k || !json_out) return MOQC_ERR_INVAL;
  *json_out = NULL;
  if (k->kty == MOQC__KTY_OCT && public_only) return MOQC_ERR_UNSUPPORTED;
  if (k->alg == MOQC_AUTH_ALG_NONE) return MOQC_ERR_UNSUPPORTED; /* PEM: no alg to write */
  json_t *o = json_object();
  if (!o) return MOQC_ERR_NOMEM;
  static const char *const kty_names[] = {"", "oct", "RSA", "EC", "OKP"};
  json_object_set_new(o, "kty", json_string(kty_names[k->kty]));
  json_object_set_new(o, "alg", json_string(moqc_auth_alg_str(k->alg)));
  json_t *ops = json_array();
  if (!public_only && moqc_auth_key_can_sign(k)) json_array_append_new(ops, json_string("sign"));
  json_array_append_new(ops, json_string("verify"));
  json_object_set_new(o, "key_ops", ops);
  if (k->kid) json_object_set_new(o, "kid", json_string(k->kid));
  int rc;
  if (k->kty == MOQC__KTY_OCT) {
    gnutls_datum_t s = {k->secret, (unsigned)k->secret_len};
    rc = put_b64(o, "k", &s, 0);
  } else if (k->kty == MOQC__KTY_RSA) {
    rc = export_rsa(k, o, public_only);
  } else {
    rc = export_curve(k, o, public_only);
  }
  char *s = rc == MOQC_OK ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if (rc == MOQC_OK && !s) rc = MOQC_ERR_NOMEM;
  if (rc == MOQC_OK) {
    *json_out = moqc_strdup(s);
    if (!*json_out) rc = MOQC_ERR_NOMEM;
  }
  if (s) {
    gnutls_memset(s, 0, strlen(s));
    free(s);
  }
  return rc;
}
