/* moqc token: make keys and tokens for moqc-relay / moq-relay (moq-token's
 * JWK format and claims), and show what a token allows.
 *
 *   moqc token generate --algorithm ALG --out KEY.jwk [--public PUB.jwk] [--id KID]
 *   moqc token sign --key KEY.jwk [--root PATH] [--put PATH]... [--get PATH]...
 *                   [--expires DURATION]            (token on stdout)
 *   moqc token verify --key KEY.jwk [--path PATH] < TOKEN   (claims on stdout) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "moqc/auth.h"
#include "moqc/error.h"
#include "common/tool_util.h"

#define TOKEN_MAX_PATHS 32

typedef struct token_args {
  const char *alg, *out, *pub, *id, *key, *root, *expires, *path;
  char *put[TOKEN_MAX_PATHS], *get[TOKEN_MAX_PATHS];
  size_t n_put, n_get;
} token_args;

static void token_usage(FILE *f) {
  fprintf(f,
          "Usage:\n"
          "  moqc token generate --algorithm ALG --out KEY.jwk [--public PUB.jwk] [--id KID]\n"
          "      ALG: HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA\n"
          "  moqc token sign --key KEY.jwk [--root PATH] [--put PATH]... [--get PATH]...\n"
          "                  [--expires DURATION]     prints the token\n"
          "      --put / --get: path suffixes under --root (\"\" = all); repeatable\n"
          "  moqc token verify --key KEY.jwk [--path PATH]   reads the token on stdin,\n"
          "      prints its claims (and, with --path, what a connection to PATH may do)\n");
}

static int write_file(const char *file, const char *text, mode_t mode) {
  int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, mode);
  if (fd < 0) return -1;
  size_t n = strlen(text);
  bool ok = write(fd, text, n) == (ssize_t)n && write(fd, "\n", 1) == 1;
  return close(fd) == 0 && ok ? 0 : -1;
}

static int cmd_generate(const token_args *a) {
  moqc_auth_alg alg = moqc_auth_alg_from_str(a->alg);
  if (alg == MOQC_AUTH_ALG_NONE || !a->out) {
    fprintf(stderr, "moqc token generate: needs --algorithm (a JWA name) and --out\n");
    return 2;
  }
  moqc_auth_key *k;
  int rv = moqc_auth_key_generate(alg, a->id, &k);
  char *priv = NULL, *pub = NULL;
  if (rv == MOQC_OK) rv = moqc_auth_key_to_jwk(k, false, &priv);
  if (rv == MOQC_OK && a->pub) rv = moqc_auth_key_to_jwk(k, true, &pub);
  moqc_auth_key_del(k);
  if (rv != MOQC_OK) {
    fprintf(stderr, "moqc token generate: %s\n",
            rv == MOQC_ERR_UNSUPPORTED ? "an HS key has no public half" : moqc_err_str(rv));
  } else if (write_file(a->out, priv, 0600) != 0 || (pub && write_file(a->pub, pub, 0644) != 0)) {
    fprintf(stderr, "moqc token generate: cannot write the key file\n");
    rv = MOQC_ERR_IO;
  }
  moqc_auth_free(priv);
  moqc_auth_free(pub);
  return rv == MOQC_OK ? 0 : 1;
}

static int load_key(const char *file, moqc_auth_key **k) {
  int rv = file ? moqc_auth_key_load(file, k) : MOQC_ERR_INVAL;
  if (rv != MOQC_OK)
    fprintf(stderr, "moqc token: cannot load --key %s: %s\n", file ? file : "(missing)",
            moqc_err_str(rv));
  return rv;
}

static int cmd_sign(const token_args *a) {
  moqc_auth_key *k;
  if (load_key(a->key, &k) != MOQC_OK) return 1;
  moqc_auth_claims c = {.root = (char *)(a->root ? a->root : ""),
                        .put = (char **)a->put,
                        .n_put = a->n_put,
                        .get = (char **)a->get,
                        .n_get = a->n_get};
  c.iat = (int64_t)time(NULL);
  c.has_iat = true;
  if (a->expires) {
    uint64_t ns;
    if (moqc_tool_parse_duration_ns(a->expires, &ns) != 0) {
      fprintf(stderr, "moqc token sign: --expires: expected a duration, e.g. 30s, 1h\n");
      moqc_auth_key_del(k);
      return 2;
    }
    c.exp = c.iat + (int64_t)(ns / 1000000000ull);
    c.has_exp = true;
  }
  char *tok;
  int rv = moqc_auth_sign(k, &c, &tok);
  moqc_auth_key_del(k);
  if (rv != MOQC_OK) {
    fprintf(stderr, "moqc token sign: %s\n",
            rv == MOQC_ERR_INVAL ? "the key cannot sign (a public key?)" : moqc_err_str(rv));
    return 1;
  }
  printf("%s\n", tok);
  moqc_auth_free(tok);
  return 0;
}

static void print_list(const char *name, char **l, size_t n) {
  printf("%s:", name);
  if (!n) printf(" (none)");
  for (size_t i = 0; i < n; i++) printf(" \"%s\"", l[i]);
  printf("\n");
}

static int cmd_verify(const token_args *a) {
  moqc_auth_key *k;
  if (load_key(a->key, &k) != MOQC_OK) return 1;
  static char tok[16384];
  size_t n = fread(tok, 1, sizeof tok - 1, stdin);
  tok[n] = 0;
  tok[strcspn(tok, " \r\n\t")] = 0;
  moqc_auth_claims c, s;
  moqc_auth_reason why;
  int rv = moqc_auth_verify(k, tok, (int64_t)time(NULL), &c, &why);
  moqc_auth_key_del(k);
  if (rv != MOQC_OK) {
    printf("refused: %s\n",
           rv == MOQC_ERR_UNAUTHORIZED ? moqc_auth_reason_str(why) : moqc_err_str(rv));
    return 1;
  }
  printf("root: \"%s\"\n", c.root);
  print_list("put", c.put, c.n_put);
  print_list("get", c.get, c.n_get);
  if (c.has_exp)
    printf("exp: %lld (in %llds)\n", (long long)c.exp, (long long)(c.exp - time(NULL)));
  if (c.has_nbf) printf("nbf: %lld\n", (long long)c.nbf);
  if (c.has_iat) printf("iat: %lld\n", (long long)c.iat);
  int code = 0;
  if (a->path) {
    rv = moqc_auth_claims_scope(&c, a->path, &s, &why);
    if (rv != MOQC_OK) {
      printf("path '%s': refused: %s\n", a->path, moqc_auth_reason_str(why));
      code = 1;
    } else {
      printf("path '%s':\n  ", a->path);
      print_list("put", s.put, s.n_put);
      printf("  ");
      print_list("get", s.get, s.n_get);
      moqc_auth_claims_clear(&s);
    }
  }
  moqc_auth_claims_clear(&c);
  return code;
}

int cli_token_main(int argc, char **argv) {
  token_args a = {0};
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    token_usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (int i = 2; i < argc; i++) {
    const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(o, "--help") == 0) {
      token_usage(stdout);
      return 0;
    }
    if (!v) {
      fprintf(stderr, "moqc token: %s needs a value\n", o);
      return 2;
    }
    i++;
    if (strcmp(o, "--algorithm") == 0) a.alg = v;
    else if (strcmp(o, "--out") == 0) a.out = v;
    else if (strcmp(o, "--public") == 0) a.pub = v;
    else if (strcmp(o, "--id") == 0) a.id = v;
    else if (strcmp(o, "--key") == 0) a.key = v;
    else if (strcmp(o, "--root") == 0) a.root = v;
    else if (strcmp(o, "--expires") == 0) a.expires = v;
    else if (strcmp(o, "--path") == 0) a.path = v;
    else if (strcmp(o, "--put") == 0 && a.n_put < TOKEN_MAX_PATHS) a.put[a.n_put++] = (char *)v;
    else if (strcmp(o, "--get") == 0 && a.n_get < TOKEN_MAX_PATHS) a.get[a.n_get++] = (char *)v;
    else {
      fprintf(stderr, "moqc token: unknown option '%s' (see moqc token --help)\n", o);
      return 2;
    }
  }
  if (strcmp(argv[1], "generate") == 0) return cmd_generate(&a);
  if (strcmp(argv[1], "sign") == 0) return cmd_sign(&a);
  if (strcmp(argv[1], "verify") == 0) return cmd_verify(&a);
  fprintf(stderr, "moqc token: unknown command '%s' (generate, sign, verify)\n", argv[1]);
  return 2;
}
