/* moqc quic layer — TLS over a byte stream, sans-IO. See tls_stream.h.
 *
 * GnuTLS does the record layer through our push/pull functions on two memory
 * buffers: pull takes from `in` (GNUTLS_E_AGAIN when it is empty, so a record
 * that arrives in pieces is resumed on the next feed), push appends to `out`.
 */
#include "quic/tls_stream.h"

#include <assert.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "core/mem.h"
#include "moqc/error.h"
#include "quic/tls.h"

/* TLS 1.2 and 1.3 on TCP: browsers and curl speak both; GnuTLS's defaults
 * otherwise (its NORMAL already excludes SSL 3 and TLS 1.0/1.1 on Debian 12). */
static const char k_tcp_priority[] = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";

static gnutls_priority_t g_prio;
static int g_prio_rc = -1;
static pthread_once_t g_prio_once = PTHREAD_ONCE_INIT;

static void prio_init(void) { g_prio_rc = gnutls_priority_init(&g_prio, k_tcp_priority, NULL); }

static const gnutls_datum_t k_alpn = {(unsigned char *)"http/1.1", 8};

typedef struct tbuf {
  uint8_t *p;
  size_t len, cap, off; /* bytes [off, len) are unread */
} tbuf;

struct moqc__tls_stream {
  ngtcp2_crypto_conn_ref ref; /* first: tls.c's verify callback reads user_data */
  gnutls_session_t s;
  moqc_cert *cert;    /* server */
  moqc_tls_client vc; /* client verification */
  bool server, vc_init;
  bool ready, failed, eof;
  tbuf in, out, early;
  char err[256];
};

static int tbuf_add(tbuf *b, const uint8_t *p, size_t n, size_t max) {
  if (b->off && b->off == b->len) b->off = b->len = 0;
  if (b->len - b->off + n > max) return MOQC_ERR_BOUNDS;
  if (b->len + n > b->cap) {
    if (b->off) { /* compact first */
      memmove(b->p, b->p + b->off, b->len - b->off);
      b->len -= b->off;
      b->off = 0;
    }
    if (b->len + n > b->cap) {
      size_t cap = b->cap ? b->cap : 4096;
      while (cap < b->len + n) cap *= 2;
      uint8_t *np = moqc_realloc(b->p, cap);
      if (!np) return MOQC_ERR_NOMEM;
      b->p = np;
      b->cap = cap;
    }
  }
  memcpy(b->p + b->len, p, n);
  b->len += n;
  return MOQC_OK;
}

static ssize_t pull(gnutls_transport_ptr_t ptr, void *dst, size_t n) {
  moqc__tls_stream *t = ptr;
  size_t have = t->in.len - t->in.off;
  if (have == 0) {
    gnutls_transport_set_errno(t->s, t->eof ? 0 : EAGAIN);
    return t->eof ? 0 : -1;
  }
  if (n > have) n = have;
  memcpy(dst, t->in.p + t->in.off, n);
  t->in.off += n;
  return (ssize_t)n;
}

static ssize_t push(gnutls_transport_ptr_t ptr, const void *p, size_t n) {
  moqc__tls_stream *t = ptr;
  if (tbuf_add(&t->out, p, n, SIZE_MAX / 2) != MOQC_OK) {
    gnutls_transport_set_errno(t->s, ENOMEM);
    return -1;
  }
  return (ssize_t)n;
}

static int fail(moqc__tls_stream *t, int grc, const char *what) {
  if (!t->failed) {
    t->failed = true;
    if (!t->err[0] && t->vc_init && t->vc.err[0]) snprintf(t->err, sizeof t->err, "%s", t->vc.err);
    else if (!t->err[0] && grc == GNUTLS_E_FATAL_ALERT_RECEIVED)
      snprintf(t->err, sizeof t->err, "%s: alert from the peer: %s", what,
               gnutls_alert_get_name(gnutls_alert_get(t->s)));
    else if (!t->err[0]) snprintf(t->err, sizeof t->err, "%s: %s", what, gnutls_strerror(grc));
    /* Tell the peer why, if the error has an alert (ignored otherwise). */
    if (grc < 0 && gnutls_error_is_fatal(grc)) (void)gnutls_alert_send_appropriate(t->s, grc);
  }
  return MOQC_ERR_TLS;
}

static int session_common(moqc__tls_stream *t, unsigned flags) {
  pthread_once(&g_prio_once, prio_init);
  if (g_prio_rc < 0) return MOQC_ERR_TLS;
  if (gnutls_init(&t->s, flags | GNUTLS_NONBLOCK) < 0) return MOQC_ERR_NOMEM;
  gnutls_transport_set_ptr(t->s, t);
  gnutls_transport_set_pull_function(t->s, pull);
  gnutls_transport_set_push_function(t->s, push);
  gnutls_session_set_ptr(t->s, &t->ref);
  t->ref.user_data = &t->vc;
  if (gnutls_priority_set(t->s, g_prio) < 0 || gnutls_alpn_set_protocols(t->s, &k_alpn, 1, 0) < 0)
    return MOQC_ERR_TLS;
  return MOQC_OK;
}

int moqc__tls_stream_server(moqc_cert *cert, moqc__tls_stream **out) {
  if (!cert || !out) return MOQC_ERR_INVAL;
  *out = NULL;
  moqc__tls_stream *t = moqc_calloc(1, sizeof *t);
  if (!t) return MOQC_ERR_NOMEM;
  t->server = true;
  t->cert = moqc_cert_ref(cert);
  int rv = session_common(t, GNUTLS_SERVER | GNUTLS_NO_TICKETS);
  if (rv == MOQC_OK &&
      gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE, moqc_cert_credentials(cert)) < 0)
    rv = MOQC_ERR_TLS;
  if (rv != MOQC_OK) {
    moqc__tls_stream_del(t);
    return rv;
  }
  *out = t;
  return MOQC_OK;
}

static int handshake(moqc__tls_stream *t);

int moqc__tls_stream_client(const char *host, const moqc_quic_tls_client *o,
                            moqc__tls_stream **out) {
  if (!host || !*host || !o || !out) return MOQC_ERR_INVAL;
  *out = NULL;
  moqc__tls_stream *t = moqc_calloc(1, sizeof *t);
  if (!t) return MOQC_ERR_NOMEM;
  *out = t;
  int rv = moqc_tls_client_init(&t->vc, host, o);
  t->vc_init = true;
  if (rv != MOQC_OK) {
    snprintf(t->err, sizeof t->err, "%s", t->vc.err[0] ? t->vc.err : moqc_err_str(rv));
    t->failed = true;
    return rv;
  }
  rv = session_common(t, GNUTLS_CLIENT);
  if (rv == MOQC_OK && (gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE, t->vc.cred) < 0 ||
                        (t->vc.sni && gnutls_server_name_set(t->s, GNUTLS_NAME_DNS, t->vc.hostname,
                                                             strlen(t->vc.hostname)) < 0)))
    rv = MOQC_ERR_TLS;
  if (rv == MOQC_OK) {
    gnutls_session_set_verify_function(t->s, moqc__tls_verify);
    rv = handshake(t); /* the ClientHello goes to `out` */
  }
  if (rv != MOQC_OK) {
    moqc__tls_stream_del(t);
    *out = NULL;
    return rv;
  }
  return MOQC_OK;
}

void moqc__tls_stream_del(moqc__tls_stream *t) {
  if (!t) return;
  if (t->s) gnutls_deinit(t->s);
  if (t->vc_init) moqc_tls_client_free(&t->vc);
  moqc_cert_unref(t->cert);
  moqc_free(t->in.p);
  moqc_free(t->out.p);
  if (t->early.p) memset(t->early.p, 0, t->early.cap);
  moqc_free(t->early.p);
  moqc_free(t);
}

static int send_all(moqc__tls_stream *t, const uint8_t *p, size_t n) {
  while (n) {
    ssize_t w = gnutls_record_send(t->s, p, n);
    if (w == GNUTLS_E_INTERRUPTED || w == GNUTLS_E_AGAIN) continue; /* push never blocks */
    if (w < 0) return fail(t, (int)w, "TLS send");
    assert((size_t)w <= n);
    p += w;
    n -= (size_t)w;
  }
  return MOQC_OK;
}

static int handshake(moqc__tls_stream *t) {
  if (t->ready) return MOQC_OK;
  int r = gnutls_handshake(t->s);
  if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) return MOQC_OK;
  if (r < 0 && !gnutls_error_is_fatal(r)) return MOQC_OK; /* a warning alert: go on */
  if (r < 0) return fail(t, r, "TLS handshake");
  t->ready = true;
  size_t n = t->early.len - t->early.off;
  int rv = n ? send_all(t, t->early.p + t->early.off, n) : MOQC_OK;
  t->early.off = t->early.len = 0;
  return rv;
}

int moqc__tls_stream_feed(moqc__tls_stream *t, const uint8_t *p, size_t n) {
  assert(t);
  if (t->failed) return MOQC_ERR_TLS;
  if (n == 0) return MOQC_OK;
  int rv = tbuf_add(&t->in, p, n, TLS_STREAM_MAX_IN);
  if (rv != MOQC_OK) return rv;
  return handshake(t);
}

ptrdiff_t moqc__tls_stream_read(moqc__tls_stream *t, uint8_t *dst, size_t cap) {
  assert(t && dst);
  if (t->failed) return MOQC_ERR_TLS;
  if (!t->ready) {
    int rv = handshake(t);
    if (rv != MOQC_OK) return rv;
    if (!t->ready) return MOQC_ERR_AGAIN;
  }
  if (cap == 0) return MOQC_ERR_AGAIN;
  /* Non-fatal results (a warning alert, a ticket, a HelloRequest) each consume
   * a record; bounded all the same, the rest waits for the next call. */
  for (int i = 0; i < 64; i++) {
    ssize_t r = gnutls_record_recv(t->s, dst, cap);
    if (r > 0) return (ptrdiff_t)r;
    if (r == 0) return MOQC_ERR_CLOSED;
    if (r == GNUTLS_E_AGAIN) return MOQC_ERR_AGAIN;
    if (r == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal((int)r)) continue;
    return fail(t, (int)r, "TLS receive");
  }
  return MOQC_ERR_AGAIN;
}

int moqc__tls_stream_write(moqc__tls_stream *t, const uint8_t *p, size_t n) {
  assert(t && (p || !n));
  if (t->failed) return MOQC_ERR_TLS;
  if (!t->ready) return tbuf_add(&t->early, p, n, TLS_STREAM_MAX_EARLY);
  return send_all(t, p, n);
}

void moqc__tls_stream_bye(moqc__tls_stream *t) {
  if (t && t->ready && !t->failed) (void)gnutls_bye(t->s, GNUTLS_SHUT_WR);
}

uint8_t *moqc__tls_stream_take(moqc__tls_stream *t, size_t *n) {
  assert(t && n);
  *n = t->out.len - t->out.off;
  if (*n == 0) return NULL;
  uint8_t *p = t->out.p;
  if (t->out.off) memmove(p, p + t->out.off, *n);
  t->out = (tbuf){0};
  return p;
}

bool moqc__tls_stream_ready(const moqc__tls_stream *t) { return t && t->ready; }

const char *moqc__tls_stream_error(const moqc__tls_stream *t) { return t ? t->err : ""; }
