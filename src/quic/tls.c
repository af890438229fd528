/* moqc transport — certificates and GnuTLS sessions for QUIC. See tls.h. */
#include <assert.h>
#include <limits.h>
#include "quic/tls.h"

#include <arpa/inet.h>
#include <assert.h>
#include <fcntl.h>
#include <pthread.h>
#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"
#include "moqc/error.h"

/* TLS 1.3 only, the QUIC cipher suites, no middlebox compatibility mode. */
static const char k_priority[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"
    "+CHACHA20-POLY1305:+AES-128-CCM:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:"
    "+GROUP-SECP384R1:+GROUP-SECP521R1:%DISABLE_TLS13_COMPAT_MODE";

/* One priority cache for every session of the process. gnutls_priority_set_direct
 * would parse the string and build a new cache per session (~8 KB each, which
 * adds up over thousands of idle subscribers); a gnutls_priority_t is immutable
 * once built and may be shared by any number of sessions and threads. It lives
 * until exit. */
static gnutls_priority_t g_priority;
static int g_priority_rc = -1;
static pthread_once_t g_priority_once = PTHREAD_ONCE_INIT;

static void priority_init(void) {
  g_priority_rc = gnutls_priority_init(&g_priority, k_priority, NULL);
}

static int set_priority(gnutls_session_t s) {
  pthread_once(&g_priority_once, priority_init);
  if (g_priority_rc < 0) return g_priority_rc;
  return gnutls_priority_set(s, g_priority);
}

#define DAY (24 * 60 * 60)
#define MAX_CHAIN 16

struct moqc_cert {
  uint32_t refcnt;
  gnutls_certificate_credentials_t cred;
  gnutls_x509_crt_t chain[MAX_CHAIN];
  unsigned nchain;
  gnutls_x509_privkey_t key;
  char fp[MOQC_CERT_FINGERPRINT_LEN + 1];
};

/* (moqc_strdup's strnlen(s, SIZE_MAX) trips gcc's -Wstringop-overread.) */
static char *dupstr(const char *s) {
  size_t n = strlen(s);
  char *d = moqc_malloc(n + 1);
  if (d) memcpy(d, s, n + 1);
  return d;
}

static void hex_encode(char *out, const uint8_t *p, size_t n) {
  static const char d[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = d[p[i] >> 4];
    out[2 * i + 1] = d[p[i] & 15];
  }
  out[2 * n] = '\0';
}

static void cert_free(moqc_cert *c) {
  if (c->cred) gnutls_certificate_free_credentials(c->cred);
  for (unsigned i = 0; i < c->nchain; i++) gnutls_x509_crt_deinit(c->chain[i]);
  if (c->key) gnutls_x509_privkey_deinit(c->key);
  moqc_free(c);
}

/* Build credentials + fingerprint once chain and key are set. */
static int cert_finish(moqc_cert *c) {
  if (gnutls_certificate_allocate_credentials(&c->cred) < 0) return MOQC_ERR_NOMEM;
  assert(c->nchain > 0 && c->nchain <= INT_MAX);
  if (gnutls_certificate_set_x509_key(c->cred, c->chain, (int)c->nchain, c->key) < 0)
    return MOQC_ERR_TLS;
  uint8_t md[32];
  size_t mdlen = sizeof md;
  if (gnutls_x509_crt_get_fingerprint(c->chain[0], GNUTLS_DIG_SHA256, md, &mdlen) < 0 ||
      mdlen != 32)
    return MOQC_ERR_TLS;
  hex_encode(c->fp, md, 32);
  return MOQC_OK;
}

int moqc_cert_load(const char *cert_pem_path, const char *key_pem_path, moqc_cert **out) {
  if (!cert_pem_path || !key_pem_path || !out) return MOQC_ERR_INVAL;
  *out = NULL;
  gnutls_datum_t cd = {NULL, 0}, kd = {NULL, 0};
  if (gnutls_load_file(cert_pem_path, &cd) < 0) return MOQC_ERR_IO;
  if (gnutls_load_file(key_pem_path, &kd) < 0) {
    gnutls_free(cd.data);
    return MOQC_ERR_IO;
  }
  int rc = MOQC_ERR_NOMEM;
  moqc_cert *c = moqc_calloc(1, sizeof *c);
  if (!c) goto out;
  c->refcnt = 1;
  rc = MOQC_ERR_TLS;
  unsigned n = MAX_CHAIN;
  if (gnutls_x509_crt_list_import(c->chain, &n, &cd, GNUTLS_X509_FMT_PEM,
                                  GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED) < 1)
    goto out;
  c->nchain = n;
  if (gnutls_x509_privkey_init(&c->key) < 0) goto out;
  if (gnutls_x509_privkey_import2(c->key, &kd, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN) < 0)
    goto out;
  rc = cert_finish(c);
out:
  gnutls_free(cd.data);
  gnutls_memset(kd.data, 0, kd.size);
  gnutls_free(kd.data);
  if (rc != MOQC_OK && c) cert_free(c);
  if (rc == MOQC_OK) *out = c;
  return rc;
}

static int add_san(gnutls_x509_crt_t crt, const char *host) {
  uint8_t ip[16];
  if (inet_pton(AF_INET, host, ip) == 1)
    return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 4,
                                                GNUTLS_FSAN_APPEND);
  if (inet_pton(AF_INET6, host, ip) == 1)
    return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 16,
                                                GNUTLS_FSAN_APPEND);
  int r = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, host,
                                               (unsigned)strlen(host), GNUTLS_FSAN_APPEND);
  if (r < 0 || strcmp(host, "localhost") != 0) return r;
  if ((r = add_san(crt, "127.0.0.1")) < 0) return r;
  return add_san(crt, "::1");
}

static int fill_cert(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, const char *const *hosts,
                     size_t n, time_t nb, time_t na) {
  uint8_t serial[16];
  if (gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial) < 0) return -1;
  serial[0] &= 0x7f; /* positive */
  serial[0] |= 0x01; /* no leading zero byte */
  if (gnutls_x509_crt_set_version(crt, 3) < 0 ||
      gnutls_x509_crt_set_serial(crt, serial, sizeof serial) < 0 ||
      gnutls_x509_crt_set_activation_time(crt, nb) < 0 ||
      gnutls_x509_crt_set_expiration_time(crt, na) < 0 ||
      gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, hosts[0],
                                    (unsigned)strlen(hosts[0])) < 0 ||
      gnutls_x509_crt_set_key(crt, key) < 0 ||
      gnutls_x509_crt_set_basic_constraints(crt, 0, -1) < 0 ||
      gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE) < 0 ||
      gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (add_san(crt, hosts[i]) < 0) return -1;
  uint8_t kid[64];
  size_t kidlen = sizeof kid;
  if (gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, kid, &kidlen) >= 0)
    (void)gnutls_x509_crt_set_subject_key_id(crt, kid, kidlen);
  return gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) < 0 ? -1 : 0;
}

int moqc_cert_generate(const char *const *hosts, size_t n, time_t not_before, time_t not_after,
                       moqc_cert **out) {
  if (!hosts || n == 0 || !out || not_after <= not_before) return MOQC_ERR_INVAL;
  for (size_t i = 0; i < n; i++)
    if (!hosts[i] || !*hosts[i]) return MOQC_ERR_INVAL;
  *out = NULL;
  moqc_cert *c = moqc_calloc(1, sizeof *c);
  if (!c) return MOQC_ERR_NOMEM;
  c->refcnt = 1;
  int rc = MOQC_ERR_TLS;
  if (gnutls_x509_privkey_init(&c->key) < 0) goto fail;
  if (gnutls_x509_privkey_generate2(c->key, GNUTLS_PK_ECDSA,
                                    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0, NULL,
                                    0) < 0)
    goto fail;
  if (gnutls_x509_crt_init(&c->chain[0]) < 0) goto fail;
  c->nchain = 1;
  if (fill_cert(c->chain[0], c->key, hosts, n, not_before, not_after) != 0) goto fail;
  rc = cert_finish(c);
  if (rc != MOQC_OK) goto fail;
  *out = c;
  return MOQC_OK;
fail:
  cert_free(c);
  return rc;
}

int moqc_cert_self_signed(const char *const *hosts, size_t n, moqc_cert **out) {
  time_t now = time(NULL);
  /* 14 days in total: Chromium's limit for serverCertificateHashes. */
  return moqc_cert_generate(hosts, n, now - DAY, now + 13 * DAY, out);
}

moqc_cert *moqc_cert_ref(moqc_cert *c) {
  if (c) {
    assert(c->refcnt > 0 && "certificate ref after free");
    c->refcnt++;
  }
  return c;
}

void moqc_cert_unref(moqc_cert *c) {
  if (!c) return;
  assert(c->refcnt > 0 && "certificate unref below zero");
  if (--c->refcnt == 0) cert_free(c);
}

const char *moqc_cert_fingerprint(const moqc_cert *c) { return c->fp; }

gnutls_certificate_credentials_t moqc_cert_credentials(const moqc_cert *c) { return c->cred; }

static int write_file(const char *path, const gnutls_datum_t *d, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return MOQC_ERR_IO;
  size_t off = 0;
  while (off < d->size) {
    ssize_t w = write(fd, d->data + off, d->size - off);
    if (w <= 0) {
      close(fd);
      return MOQC_ERR_IO;
    }
    off += (size_t)w;
  }
  return close(fd) == 0 ? MOQC_OK : MOQC_ERR_IO;
}

int moqc_cert_write_pem(const moqc_cert *c, const char *cert_path, const char *key_path) {
  if (!c) return MOQC_ERR_INVAL;
  int rc = MOQC_OK;
  if (cert_path) {
    /* Concatenate the chain, leaf first. */
    gnutls_datum_t all = {NULL, 0};
    for (unsigned i = 0; i < c->nchain && rc == MOQC_OK; i++) {
      gnutls_datum_t d;
      if (gnutls_x509_crt_export2(c->chain[i], GNUTLS_X509_FMT_PEM, &d) < 0) {
        rc = MOQC_ERR_TLS;
        break;
      }
      uint8_t *p = moqc_realloc(all.data, all.size + d.size);
      if (!p) {
        rc = MOQC_ERR_NOMEM;
      } else {
        memcpy(p + all.size, d.data, d.size);
        all.data = p;
        all.size += d.size;
      }
      gnutls_free(d.data);
    }
    if (rc == MOQC_OK) rc = write_file(cert_path, &all, 0644);
    moqc_free(all.data);
  }
  if (rc == MOQC_OK && key_path) {
    gnutls_datum_t d;
    if (gnutls_x509_privkey_export2_pkcs8(c->key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN,
                                          &d) < 0)
      return MOQC_ERR_TLS;
    rc = write_file(key_path, &d, 0600);
    gnutls_memset(d.data, 0, d.size);
    gnutls_free(d.data);
  }
  return rc;
}

/* ---- ALPN ------------------------------------------------------------------ */

int moqc_tls_alpn_init(moqc_tls_alpn *a, const char *const *names, size_t n) {
  a->v = NULL;
  a->n = 0;
  if (!names) names = moqc_quic_default_alpn(&n);
  if (n == 0 || n > MOQC_TLS_MAX_ALPN) return MOQC_ERR_INVAL;
  for (size_t i = 0; i < n; i++) {
    size_t l = names[i] ? strlen(names[i]) : 0;
    if (l == 0 || l > 31) return MOQC_ERR_INVAL;
  }
  a->v = moqc_calloc(n, sizeof *a->v);
  if (!a->v) return MOQC_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) {
    char *s = dupstr(names[i]);
    if (!s) {
      moqc_tls_alpn_free(a);
      return MOQC_ERR_NOMEM;
    }
    a->v[i].data = (unsigned char *)s;
    a->v[i].size = (unsigned)strlen(s);
    a->n = i + 1;
  }
  return MOQC_OK;
}

void moqc_tls_alpn_free(moqc_tls_alpn *a) {
  for (size_t i = 0; i < a->n; i++) moqc_free(a->v[i].data);
  moqc_free(a->v);
  a->v = NULL;
  a->n = 0;
}

bool moqc_tls_selected_alpn(gnutls_session_t s, char *out, size_t cap) {
  gnutls_datum_t d;
  if (gnutls_alpn_get_selected_protocol(s, &d) != 0 || d.size == 0 || d.size >= cap) return false;
  memcpy(out, d.data, d.size);
  out[d.size] = '\0';
  return true;
}

/* GnuTLS keeps at most 8 ALPN protocols per session (MAX_ALPN_PROTOCOLS). */
#define TLS_GNUTLS_ALPN_MAX 8u

static uint16_t rd16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

/* The client's ALPN extension data in a ClientHello body, or NULL. */
static const uint8_t *hello_alpn(const uint8_t *p, size_t n, size_t *alen) {
  size_t o = 2 + 32; /* legacy_version, random */
  if (n < o + 1) return NULL;
  o += 1u + p[o]; /* session id */
  if (n < o + 2) return NULL;
  o += 2u + rd16(p + o); /* cipher suites */
  if (n < o + 1) return NULL;
  o += 1u + p[o]; /* compression methods */
  if (n < o + 2) return NULL;
  size_t end = o + 2u + rd16(p + o);
  if (end > n) return NULL;
  for (o += 2; o + 4 <= end;) {
    uint16_t type = rd16(p + o), len = rd16(p + o + 2);
    o += 4;
    if (o + len > end) return NULL;
    if (type == 16 /* application_layer_protocol_negotiation */) {
      *alen = len;
      return p + o;
    }
    o += len;
  }
  return NULL;
}

static bool alpn_offered(const uint8_t *e, size_t n, const gnutls_datum_t *d) {
  if (n < 2) return false;
  size_t end = 2u + rd16(e);
  if (end > n) end = n;
  for (size_t o = 2; o < end;) {
    size_t l = e[o++];
    if (o + l > end) return false;
    if (l == d->size && memcmp(e + o, d->data, l) == 0) return true;
    o += l;
  }
  return false;
}

/* Before the ClientHello is processed: a server with more ALPNs than GnuTLS
 * keeps narrows its list to the ones this client offers (our order; GnuTLS
 * then picks in the client's order, as with the full list). After it: refuse
 * a ClientHello whose ALPN list has nothing in common with ours (or that has
 * no ALPN at all): no_application_protocol. */
static int client_hello_hook(gnutls_session_t s, unsigned htype, unsigned when, unsigned incoming,
                             const gnutls_datum_t *msg) {
  (void)htype;
  (void)incoming;
  if (when == GNUTLS_HOOK_PRE) {
    const moqc_tls_alpn *a = gnutls_db_get_ptr(s);
    if (!a || a->n <= TLS_GNUTLS_ALPN_MAX || !msg || !msg->data) return 0;
    const uint8_t *p = msg->data;
    size_t n = msg->size;
    if (n >= 4 && p[0] == 1 && ((size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3]) == n - 4) {
      p += 4; /* with the handshake header */
      n -= 4;
    }
    size_t alen = 0;
    const uint8_t *e = hello_alpn(p, n, &alen);
    if (!e) return 0;
    gnutls_datum_t pick[TLS_GNUTLS_ALPN_MAX];
    unsigned np = 0;
    for (size_t i = 0; i < a->n && np < TLS_GNUTLS_ALPN_MAX; i++)
      if (alpn_offered(e, alen, &a->v[i])) pick[np++] = a->v[i];
    if (np && gnutls_alpn_set_protocols(s, pick, np, GNUTLS_ALPN_MANDATORY) < 0)
      return GNUTLS_E_NO_APPLICATION_PROTOCOL;
    return 0;
  }
  gnutls_datum_t d;
  if (gnutls_alpn_get_selected_protocol(s, &d) != 0) return GNUTLS_E_NO_APPLICATION_PROTOCOL;
  return 0;
}

int moqc_tls_server_session(gnutls_session_t *out, const moqc_cert *cert,
                            gnutls_certificate_credentials_t mtls, const moqc_tls_alpn *a) {
  gnutls_session_t s;
  if (gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NO_END_OF_EARLY_DATA | GNUTLS_NO_AUTO_SEND_TICKET) < 0)
    return MOQC_ERR_NOMEM;
  if (set_priority(s) < 0 ||
      gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, mtls ? mtls : cert->cred) < 0 ||
      gnutls_alpn_set_protocols(s, a->v,
                                a->n > TLS_GNUTLS_ALPN_MAX ? TLS_GNUTLS_ALPN_MAX : (unsigned)a->n,
                                GNUTLS_ALPN_MANDATORY) < 0) {
    gnutls_deinit(s);
    return MOQC_ERR_TLS;
  }
  if (mtls) {
    /* Optional client certificate, checked on receipt. No list of accepted
     * CA names in the request: a client with one certificate presents it, and
     * one we do not trust is refused with a reason rather than sent nothing. */
    gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUEST);
    gnutls_certificate_send_x509_rdn_sequence(s, 1);
    gnutls_session_set_verify_function(s, moqc__tls_verify_client);
  }
  /* The whole list, for the hook (the db pointer is otherwise unused: no
   * session cache). `a` outlives the session (the endpoint owns it). */
  gnutls_db_set_ptr(s, (void *)(uintptr_t)a);
  gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_CLIENT_HELLO, GNUTLS_HOOK_BOTH,
                                     client_hello_hook);
  *out = s;
  return MOQC_OK;
}

/* ---- mutual TLS, server side ---------------------------------------------------- */

int moqc_tls_mtls_cred(const moqc_cert *cert, const char *const *roots, size_t n,
                       gnutls_certificate_credentials_t *out, char *err, size_t cap) {
  *out = NULL;
  if (!cert || !roots || n == 0) return MOQC_ERR_INVAL;
  gnutls_certificate_credentials_t cr;
  if (gnutls_certificate_allocate_credentials(&cr) < 0) return MOQC_ERR_NOMEM;
  assert(cert->nchain > 0 && cert->nchain <= INT_MAX);
  int rc = MOQC_ERR_TLS;
  if (gnutls_certificate_set_x509_key(cr, (gnutls_x509_crt_t *)(uintptr_t)cert->chain,
                                      (int)cert->nchain, cert->key) < 0) {
    snprintf(err, cap, "cannot use the server certificate");
    goto fail;
  }
  for (size_t i = 0; i < n; i++) {
    if (!roots[i] || !*roots[i]) {
      snprintf(err, cap, "empty client root file name");
      goto fail;
    }
    /* The number of certificates added; 0 or an error = nothing usable. */
    if (gnutls_certificate_set_x509_trust_file(cr, roots[i], GNUTLS_X509_FMT_PEM) <= 0) {
      snprintf(err, cap, "cannot read a certificate from client root file %s", roots[i]);
      goto fail;
    }
  }
  *out = cr;
  return MOQC_OK;
fail:
  gnutls_certificate_free_credentials(cr);
  return rc;
}

void moqc_tls_peer_free(moqc_tls_peer *p) {
  moqc_free(p->cert);
  p->cert = NULL;
}

static void peer_refused(moqc_tls_peer *p, const char *why, unsigned status) {
  gnutls_datum_t msg = {NULL, 0};
  int ml = 0;
  if (status &&
      gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &msg, 0) >= 0) {
    ml = (int)msg.size;
    while (ml > 0 && (msg.data[ml - 1] == ' ' || msg.data[ml - 1] == '\n' || !msg.data[ml - 1]))
      ml--;
  }
  moqc__log(p->log, MOQC_LOG_WARN, "tls", "client certificate from %s refused: %s%s%.*s",
            p->remote && *p->remote ? p->remote : "?", why, ml ? ": " : "", ml,
            ml ? (const char *)msg.data : "");
  gnutls_free(msg.data);
}

/* Record the verified leaf: subject DN and expiry. */
static int peer_record(moqc_tls_peer *p, const gnutls_datum_t *leaf) {
  gnutls_x509_crt_t crt;
  if (gnutls_x509_crt_init(&crt) < 0) return GNUTLS_E_MEMORY_ERROR;
  int rc = GNUTLS_E_CERTIFICATE_ERROR;
  moqc_peer_cert *pc = moqc_calloc(1, sizeof *pc);
  gnutls_datum_t dn = {NULL, 0};
  if (!pc) {
    rc = GNUTLS_E_MEMORY_ERROR;
    goto out;
  }
  if (gnutls_x509_crt_import(crt, leaf, GNUTLS_X509_FMT_DER) < 0) goto out;
  time_t na = gnutls_x509_crt_get_expiration_time(crt);
  /* (time_t)-1: GnuTLS could not tell (99991231235959Z, RFC 5280's "no
   * well-defined expiry", comes back as 2106 with GnuTLS 3.7) */
  pc->not_after = na == (time_t)-1 ? INT64_MAX : (int64_t)na;
  if (gnutls_x509_crt_get_dn3(crt, &dn, 0) >= 0 && dn.data) {
    size_t l = dn.size < sizeof pc->subject - 1 ? dn.size : sizeof pc->subject - 1;
    memcpy(pc->subject, dn.data, l);
    pc->subject[l] = '\0';
  }
  moqc_free(p->cert); /* a second Certificate message cannot come; be safe */
  p->cert = pc;
  pc = NULL;
  rc = 0;
out:
  gnutls_free(dn.data);
  moqc_free(pc);
  gnutls_x509_crt_deinit(crt);
  return rc;
}

int moqc__tls_verify_client(gnutls_session_t s) {
  ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(s);
  moqc_tls_peer *p = ref ? ref->user_data : NULL;
  if (!p) return GNUTLS_E_CERTIFICATE_ERROR;
  unsigned n = 0;
  const gnutls_datum_t *certs = gnutls_certificate_get_peers(s, &n);
  if (!certs || n == 0) return 0; /* anonymous: the application's usual auth applies */
  /* Chain to a trusted client root, within its validity, and (if the
   * certificates say what they are for) meant for TLS client use. */
  gnutls_typed_vdata_st vd = {.type = GNUTLS_DT_KEY_PURPOSE_OID,
                              .data = (unsigned char *)(uintptr_t)GNUTLS_KP_TLS_WWW_CLIENT,
                              .size = 0};
  unsigned status = 0;
  if (gnutls_certificate_verify_peers(s, &vd, 1, &status) < 0) {
    peer_refused(p, "verification failed", 0);
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
  if (status != 0) {
    peer_refused(p, "untrusted", status);
    return GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR;
  }
  return peer_record(p, &certs[0]);
}

/* ---- client verification ------------------------------------------------------ */

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool moqc_tls_parse_fingerprint(const char *hex, uint8_t out[32]) {
  size_t n = 0;
  int hi = -1;
  for (const char *p = hex; *p; p++) {
    if (*p == ':') {
      if (hi >= 0) return false;
      continue;
    }
    int v = hexval(*p);
    if (v < 0) return false;
    if (hi < 0) {
      hi = v;
    } else {
      if (n == 32) return false;
      out[n++] = (uint8_t)(hi << 4 | v);
      hi = -1;
    }
  }
  return n == 32 && hi < 0;
}

int moqc_tls_client_init(moqc_tls_client *c, const char *hostname, const moqc_quic_tls_client *o) {
  memset(c, 0, sizeof *c);
  uint8_t ip[16];
  c->sni = inet_pton(AF_INET, hostname, ip) != 1 && inet_pton(AF_INET6, hostname, ip) != 1;
  c->hostname = dupstr(hostname);
  if (!c->hostname) return MOQC_ERR_NOMEM;
  c->disable_verify = o->disable_verify;
  if (o->pin_sha256) {
    if (!moqc_tls_parse_fingerprint(o->pin_sha256, c->pin)) {
      snprintf(c->err, sizeof c->err, "malformed pinned SHA-256 fingerprint");
      return MOQC_ERR_TLS;
    }
    c->has_pin = true;
  }
  if (gnutls_certificate_allocate_credentials(&c->cred) < 0) return MOQC_ERR_NOMEM;
  if (!o->cert_file != !o->key_file) {
    snprintf(c->err, sizeof c->err, "a client certificate needs both a certificate and a key file");
    return MOQC_ERR_TLS;
  }
  if (o->cert_file) {
    int kr = gnutls_certificate_set_x509_key_file2(c->cred, o->cert_file, o->key_file,
                                                   GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN);
    if (kr < 0) {
      snprintf(c->err, sizeof c->err, "cannot load the client certificate %s (key %s): %s",
               o->cert_file, o->key_file, gnutls_strerror(kr));
      return MOQC_ERR_TLS;
    }
  }
  if (c->disable_verify || c->has_pin) return MOQC_OK;
  int r = o->ca_file
              ? gnutls_certificate_set_x509_trust_file(c->cred, o->ca_file, GNUTLS_X509_FMT_PEM)
              : gnutls_certificate_set_x509_system_trust(c->cred);
  if (r <= 0) {
    snprintf(c->err, sizeof c->err, "cannot load trusted roots from %s",
             o->ca_file ? o->ca_file : "the system store");
    return MOQC_ERR_TLS;
  }
  return MOQC_OK;
}

void moqc_tls_client_free(moqc_tls_client *c) {
  if (c->cred) gnutls_certificate_free_credentials(c->cred);
  c->cred = NULL;
  moqc_free(c->hostname);
  c->hostname = NULL;
}

static int check_pin(moqc_tls_client *c, const gnutls_datum_t *leaf) {
  uint8_t md[32];
  if (gnutls_hash_fast(GNUTLS_DIG_SHA256, leaf->data, leaf->size, md) < 0) return -1;
  if (memcmp(md, c->pin, 32) != 0) {
    char got[65], want[65];
    hex_encode(got, md, 32);
    hex_encode(want, c->pin, 32);
    snprintf(c->err, sizeof c->err,
             "certificate SHA-256 %s does not match the pinned fingerprint %s", got, want);
    return -1;
  }
  /* Like browsers with serverCertificateHashes: the validity period counts. */
  gnutls_x509_crt_t crt;
  if (gnutls_x509_crt_init(&crt) < 0) return -1;
  int rc = -1;
  if (gnutls_x509_crt_import(crt, leaf, GNUTLS_X509_FMT_DER) >= 0) {
    time_t now = time(NULL);
    if (gnutls_x509_crt_get_expiration_time(crt) < now)
      snprintf(c->err, sizeof c->err, "pinned certificate has expired");
    else if (gnutls_x509_crt_get_activation_time(crt) > now)
      snprintf(c->err, sizeof c->err, "pinned certificate is not yet valid");
    else rc = 0;
  } else {
    snprintf(c->err, sizeof c->err, "cannot parse the server certificate");
  }
  gnutls_x509_crt_deinit(crt);
  return rc;
}

static int verify_cb(gnutls_session_t s) {
  ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(s);
  moqc_tls_client *c = ref ? ref->user_data : NULL;
  if (!c) return GNUTLS_E_CERTIFICATE_ERROR;
  if (c->disable_verify) return 0;
  unsigned n = 0;
  const gnutls_datum_t *certs = gnutls_certificate_get_peers(s, &n);
  if (!certs || n == 0) {
    snprintf(c->err, sizeof c->err, "the server sent no certificate");
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
  if (c->has_pin) return check_pin(c, &certs[0]) == 0 ? 0 : GNUTLS_E_CERTIFICATE_ERROR;
  unsigned status = 0;
  if (gnutls_certificate_verify_peers3(s, c->hostname, &status) < 0) {
    snprintf(c->err, sizeof c->err, "certificate verification failed");
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
  if (status == 0) return 0;
  gnutls_datum_t msg = {NULL, 0};
  if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &msg, 0) >= 0) {
    int ml = (int)msg.size;
    while (ml > 0 && (msg.data[ml - 1] == ' ' || msg.data[ml - 1] == '\n' || !msg.data[ml - 1]))
      ml--;
    snprintf(c->err, sizeof c->err, "certificate for %s refused: %.*s", c->hostname, ml,
             (const char *)msg.data);
    gnutls_free(msg.data);
  } else {
    snprintf(c->err, sizeof c->err, "certificate for %s refused (status 0x%x)", c->hostname,
             status);
  }
  return GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR;
}

int moqc__tls_verify(gnutls_session_t s) { return verify_cb(s); }

int moqc_tls_client_session(gnutls_session_t *out, moqc_tls_client *c, const moqc_tls_alpn *a) {
  gnutls_session_t s;
  if (gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NO_END_OF_EARLY_DATA | GNUTLS_KEY_SHARE_TOP) < 0)
    return MOQC_ERR_NOMEM;
  if (set_priority(s) < 0 || gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, c->cred) < 0 ||
      /* GnuTLS sends at most 8: the first 8 of ours (preference order). */
      gnutls_alpn_set_protocols(s, a->v,
                                a->n > TLS_GNUTLS_ALPN_MAX ? TLS_GNUTLS_ALPN_MAX : (unsigned)a->n,
                                GNUTLS_ALPN_MANDATORY) < 0 ||
      (c->sni &&
       gnutls_server_name_set(s, GNUTLS_NAME_DNS, c->hostname, strlen(c->hostname)) < 0)) {
    gnutls_deinit(s);
    return MOQC_ERR_TLS;
  }
  gnutls_session_set_verify_function(s, verify_cb);
  *out = s;
  return MOQC_OK;
}

const char *moqc_tls_alert_str(uint8_t alert) {
  const char *n = gnutls_alert_get_name((gnutls_alert_description_t)alert);
  return n ? n : "unknown alert";
}
