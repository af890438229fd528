/* moqc auth — internals shared by the files of src/auth.
 *
 *   b64.c    base64url (RFC 4648 section 5, no padding) and small helpers
 *   jwk.c    JWK / PEM parsing, key generation, JWK export
 *   jwt.c    token verification (libjwt for HS/RS/ES, GnuTLS for PS/EdDSA),
 *            signing (GnuTLS), claims
 *   scope.c  claims -> connection scope, key sets, public prefixes, URLs
 */
#ifndef MOQC_AUTH_INT_H
#define MOQC_AUTH_INT_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <jansson.h>

#include "moqc/auth.h"

typedef enum moqc__kty {
  MOQC__KTY_OCT = 1,
  MOQC__KTY_RSA,
  MOQC__KTY_EC,
  MOQC__KTY_OKP,
} moqc__kty;

struct moqc_auth_key {
  moqc_auth_alg alg; /* NONE: a PEM key, any alg of its type */
  moqc__kty kty;
  gnutls_ecc_curve_t curve; /* EC / OKP */
  char *kid;
  unsigned char *secret; /* oct */
  size_t secret_len;
  gnutls_pubkey_t pub;   /* RSA / EC / OKP */
  gnutls_privkey_t priv; /* when the key can sign (asymmetric) */
  char *pub_pem;         /* public key PEM handed to libjwt (RSA / EC) */
};

/* base64url without padding. decode: *out allocated (moqc_free), NUL-terminated
 * for convenience; MOQC_ERR_DECODE on a bad character. */
int moqc__b64url_decode(const char *s, size_t len, unsigned char **out, size_t *out_len);
/* encode: *out allocated, NUL-terminated. */
int moqc__b64url_encode(const unsigned char *p, size_t len, char **out);

/* True if alg is one the key accepts. */
bool moqc__key_accepts(const moqc_auth_key *k, moqc_auth_alg alg);

/* Claims from a JSON payload object (clears *out first). MOQC_ERR_DECODE on
 * a claim of the wrong type. */
int moqc__claims_from_json(json_t *obj, moqc_auth_claims *out);

#endif
