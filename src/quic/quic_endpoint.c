/* moqc transport — QUIC endpoints: the UDP socket (uv_poll), routing by
 * connection ID, server accept, client dial, deferred flushing, teardown.
 * No ngtcp2 call here (see quic_conn.c). */
#include <assert.h>
#include <gnutls/crypto.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "moqc/error.h"
#include "quic/quic_int.h"

static const char *const k_default_alpn[] = {"moq-lite-05", "moq-lite-04", "moq-lite-03",
                                             "moql",        "moq-00",      "h3"};

const char *const *moqc_quic_default_alpn(size_t *n) {
  if (n) *n = sizeof k_default_alpn / sizeof k_default_alpn[0];
  return k_default_alpn;
}

const char *moqc_quic_cc_str(moqc_quic_cc cc) {
  switch (cc) {
    case MOQC_QUIC_CC_CUBIC: return "cubic";
    case MOQC_QUIC_CC_BBR: return "bbr";
    case MOQC_QUIC_CC_BBR2: return "bbr2";
    case MOQC_QUIC_CC_RENO: return "reno";
    default: return "unknown";
  }
}

const char *moqc_quic_retry_str(moqc_quic_retry r) {
  switch (r) {
    case MOQC_QUIC_RETRY_AUTO: return "auto";
    case MOQC_QUIC_RETRY_ALWAYS: return "always";
    case MOQC_QUIC_RETRY_NEVER: return "never";
    default: return "unknown";
  }
}

int moqc_quic_retry_parse(const char *name, moqc_quic_retry *out) {
  static const moqc_quic_retry all[] = {MOQC_QUIC_RETRY_AUTO, MOQC_QUIC_RETRY_ALWAYS,
                                        MOQC_QUIC_RETRY_NEVER};
  for (size_t i = 0; name && i < sizeof all / sizeof all[0]; i++)
    if (strcmp(name, moqc_quic_retry_str(all[i])) == 0) {
      *out = all[i];
      return MOQC_OK;
    }
  return MOQC_ERR_INVAL;
}

/* ---- lifetime ---------------------------------------------------------------------- */

static void ep_free(quic_ep *ep) {
  assert(!ep->conns && ep->nconns == 0);
  assert(moqc__smap_size(&ep->addrs) == 0); /* every connection unlinked */
  moqc__smap_free(&ep->addrs);
  moqc_free(ep->rates);
  moqc_udp_close(&ep->udp);
  moqc__smap_free(&ep->cids);
  moqc_cert_unref(ep->cert);
  if (ep->mtls) gnutls_certificate_free_credentials(ep->mtls);
  moqc_tls_alpn_free(&ep->alpn);
  moqc_free(ep->sendbuf);
  moqc_free(ep->recvbuf);
  moqc_free(ep->pend.buf);
  moqc_free(ep);
}

void moqc_quic_ep_unref(quic_ep *ep) {
  assert(ep->refs > 0 && "QUIC endpoint unref below zero");
  if (--ep->refs == 0) ep_free(ep);
}

static quic_ep *ep_new(uv_loop_t *loop, bool server, const moqc_quic_limits *lim) {
  quic_ep *ep = moqc_calloc(1, sizeof *ep);
  if (!ep) return NULL;
  ep->udp.fd = -1;
  ep->loop = loop;
  ep->is_server = server;
  ep->refs = 1; /* the owner: the server handle, or the client connection's lifetime */
  moqc_quic_lim_resolve(&ep->lim, lim);
  moqc_quic_mem_init(&ep->mem);
  ep->sendbuf = moqc_malloc(QUIC_SENDBUF_SIZE);
  ep->pend.buf = moqc_malloc(QUIC_SENDBUF_SIZE);
  ep->recvbuf = moqc_malloc(MOQC_UDP_RECV_BUF);
  bool rated = server && ep->lim.new_conns_per_addr_per_s;
  if (rated) ep->rates = moqc_calloc(QUIC_RATE_SLOTS, sizeof *ep->rates);
  if (!ep->sendbuf || !ep->pend.buf || !ep->recvbuf || (rated && !ep->rates) ||
      gnutls_rnd(GNUTLS_RND_RANDOM, ep->sr_secret, sizeof ep->sr_secret) != 0 ||
      gnutls_rnd(GNUTLS_RND_RANDOM, ep->retry_secret, sizeof ep->retry_secret) != 0 ||
      gnutls_rnd(GNUTLS_RND_RANDOM, &ep->cids.seed, sizeof ep->cids.seed) != 0) {
    ep_free(ep);
    return NULL;
  }
  moqc__smap_init(&ep->addrs, ep->cids.seed); /* peers choose their addresses */
  return ep;
}

static void on_poll(uv_poll_t *h, int status, int events);
static void on_prepare(uv_prepare_t *h);

static void on_poll_closed(uv_handle_t *h) {
  quic_ep *ep = h->data;
  moqc_udp_close(&ep->udp);
  moqc_quic_ep_unref(ep);
}

static void on_prepare_closed(uv_handle_t *h) { moqc_quic_ep_unref(h->data); }

const char *moqc__quic_ep_state_str(enum quic_ep_state st) {
  switch (st) {
    case QE_RUNNING: return "running";
    case QE_CLOSING: return "closing";
    case QE_TORN_DOWN: return "torn-down";
    case QE_HANDLES_CLOSED: return "handles-closed";
  }
  return "?";
}

bool moqc__quic_ep_transition_ok(enum quic_ep_state from, enum quic_ep_state to) {
  return (unsigned)to == (unsigned)from + 1 && to <= QE_HANDLES_CLOSED;
}

void moqc__quic_ep_set_state(quic_ep *ep, enum quic_ep_state to) {
  bool ok = moqc__quic_ep_transition_ok((enum quic_ep_state)ep->state, to);
  assert(ok && "illegal QUIC endpoint state transition");
  (void)ok;
  ep->state = (uint8_t)to;
}

static void ep_close_handles(quic_ep *ep) {
  if (ep->state == QE_HANDLES_CLOSED) return;
  moqc__quic_ep_set_state(ep, QE_HANDLES_CLOSED);
  if (ep->prepare_inited) uv_close((uv_handle_t *)&ep->prepare, on_prepare_closed);
  if (ep->poll_inited) uv_close((uv_handle_t *)&ep->poll, on_poll_closed);
  else moqc_udp_close(&ep->udp);
}

/* Bind the socket and start polling. On failure the caller still owns ep
 * (with possibly some handles to close: use ep_close_handles + unref). */
static int ep_start(quic_ep *ep, const moqc_sockaddr *sa, socklen_t len) {
  if (uv_prepare_init(ep->loop, &ep->prepare) != 0) return MOQC_ERR_IO;
  ep->prepare.data = ep;
  ep->prepare_inited = true;
  ep->refs++;
  int rc = moqc_udp_open(&ep->udp, &sa->sa, len, ep->lim.no_gso, ep->lim.no_gro);
  if (rc != MOQC_OK) return rc;
  if (uv_poll_init_socket(ep->loop, &ep->poll, ep->udp.fd) != 0) return MOQC_ERR_IO;
  ep->poll.data = ep;
  ep->poll_inited = true;
  ep->refs++;
  if (uv_poll_start(&ep->poll, UV_READABLE, on_poll) != 0) return MOQC_ERR_IO;
  ep->poll_started = true;
  return MOQC_OK;
}

static void ep_fail_start(quic_ep *ep) {
  moqc__quic_ep_set_state(ep, QE_CLOSING);
  moqc__quic_ep_set_state(ep, QE_TORN_DOWN);
  ep_close_handles(ep);
  moqc_quic_ep_unref(ep);
}

/* ---- dirty connections ---------------------------------------------------------------- */

void moqc_quic_ep_mark_dirty(quic_ep *ep, quic_conn *c) {
  if (c->dirty_flag) return;
  c->dirty_flag = true;
  c->dirty_next = NULL;
  if (ep->dirty_tail) ep->dirty_tail->dirty_next = c;
  else ep->dirty = c;
  ep->dirty_tail = c;
  if (!ep->busy && ep->state != QE_HANDLES_CLOSED && !ep->prepare_active) {
    uv_prepare_start(&ep->prepare, on_prepare);
    ep->prepare_active = true;
  }
}

static void flush_dirty(quic_ep *ep, int passes) {
  for (int pass = 0; ep->dirty && pass < passes; pass++) {
    quic_conn *list = ep->dirty;
    ep->dirty = ep->dirty_tail = NULL;
    while (list) {
      quic_conn *c = list;
      list = c->dirty_next;
      c->dirty_next = NULL;
      c->dirty_flag = false;
      moqc_quic_conn_flush(c);
      moqc_quic_conn_maybe_free(c);
    }
  }
}

static void ep_teardown(quic_ep *ep) {
  moqc__quic_ep_set_state(ep, QE_TORN_DOWN);
  while (ep->conns) moqc_quic_conn_shutdown(ep->conns, 0, "server shutdown");
  flush_dirty(ep, 1000);
  ep_close_handles(ep);
  moqc_quic_ep_unref(ep); /* the owner's reference */
}

void moqc_quic_ep_process(quic_ep *ep) {
  if (ep->busy) return;
  ep->busy++;
  ep->refs++;
  flush_dirty(ep, 8);
  if (ep->state == QE_CLOSING) ep_teardown(ep);
  if (ep->state != QE_HANDLES_CLOSED) {
    if (ep->dirty && !ep->prepare_active) {
      uv_prepare_start(&ep->prepare, on_prepare);
      ep->prepare_active = true;
    } else if (!ep->dirty && ep->prepare_active) {
      uv_prepare_stop(&ep->prepare);
      ep->prepare_active = false;
    }
  }
  ep->busy--;
  moqc_quic_ep_unref(ep);
}

static void on_prepare(uv_prepare_t *h) { moqc_quic_ep_process(h->data); }

/* ---- per-address limits ------------------------------------------------------------------ */

static void addr_key(uint8_t key[16], const moqc_sockaddr *sa) {
  memset(key, 0, 16);
  if (sa->sa.sa_family == AF_INET) {
    key[10] = key[11] = 0xff;
    memcpy(key + 12, &sa->in.sin_addr, 4);
  } else if (sa->sa.sa_family == AF_INET6) {
    memcpy(key, &sa->in6.sin6_addr, 16);
  }
}

static uint64_t addr_hash(const quic_ep *ep, const uint8_t key[16]) {
  return moqc__hash_bytes(ep->cids.seed, key, 16); /* keyed per endpoint */
}

/* Take a token from the address's bucket (rate per second, burst of one
 * second's worth, at least 8). False: over the rate. */
static bool rate_take(quic_ep *ep, const uint8_t key[16]) {
  if (!ep->rates) return true;
  double rate = ep->lim.new_conns_per_addr_per_s, burst = rate < 8 ? 8 : rate;
  uint64_t now = uv_now(ep->loop);
  quic_rate *r = &ep->rates[addr_hash(ep, key) % QUIC_RATE_SLOTS];
  if (memcmp(r->key, key, 16) != 0 || r->last_ms == 0) {
    memcpy(r->key, key, 16);
    r->tokens = burst;
  } else {
    r->tokens += (double)(now - r->last_ms) * rate / 1000.0;
    if (r->tokens > burst) r->tokens = burst;
  }
  r->last_ms = now ? now : 1;
  if (r->tokens < 1) return false;
  r->tokens -= 1;
  return true;
}

int moqc_quic_ep_addr_admits(quic_ep *ep, const moqc_sockaddr *from) {
  if (!ep->is_server) return QUIC_ADMIT;
  uint8_t key[16];
  addr_key(key, from);
  const quic_addr *a = moqc__smap_find(&ep->addrs, key, sizeof key);
  if (a && a->conns >= ep->lim.max_conns_per_addr) return QUIC_ADMIT_REFUSE;
  if (a && a->handshakes >= ep->lim.max_hs_per_addr) return QUIC_ADMIT_DROP;
  if (!rate_take(ep, key)) return QUIC_ADMIT_DROP; /* only attempts let through cost a token */
  return QUIC_ADMIT;
}

/* Count a new server connection (handshaking) for its address. Out of memory:
 * not counted (the limits are best-effort then, the connection still works). */
static void addr_add(quic_ep *ep, quic_conn *c) {
  uint8_t key[16];
  addr_key(key, &c->remote);
  quic_addr *a = moqc__smap_find(&ep->addrs, key, sizeof key);
  if (!a) {
    a = moqc_calloc(1, sizeof *a);
    if (!a) return;
    memcpy(a->key, key, sizeof key);
    if (moqc__smap_insert(&ep->addrs, a->key, sizeof a->key, a) != MOQC_OK) {
      moqc_free(a);
      return;
    }
  }
  c->addr = a;
  c->addr->conns++;
  c->addr->handshakes++;
  c->addr_hs = true;
  ep->handshakes++;
}

void moqc_quic_ep_addr_handshake_done(quic_ep *ep, quic_conn *c) {
  if (!c->addr || !c->addr_hs) return;
  assert(c->addr->handshakes > 0 && ep->handshakes > 0);
  c->addr->handshakes--;
  ep->handshakes--;
  c->addr_hs = false;
}

static void addr_remove(quic_ep *ep, quic_conn *c) {
  quic_addr *a = c->addr;
  if (!a) return;
  moqc_quic_ep_addr_handshake_done(ep, c);
  assert(a->conns > 0);
  c->addr = NULL;
  if (--a->conns) return;
  assert(a->handshakes == 0);
  quic_addr *gone = moqc__smap_remove(&ep->addrs, a->key, sizeof a->key);
  assert(gone == a);
  (void)gone;
  moqc_free(a);
}

/* ---- connection bookkeeping -------------------------------------------------------------- */

void moqc_quic_ep_link(quic_ep *ep, quic_conn *c) {
  if (c->linked) return;
  if (ep->is_server) addr_add(ep, c);
  c->linked = true;
  c->prev = NULL;
  c->next = ep->conns;
  if (ep->conns) ep->conns->prev = c;
  ep->conns = c;
  ep->nconns++;
}

void moqc_quic_ep_unlink(quic_ep *ep, quic_conn *c) {
  if (!c->linked) return;
  c->linked = false;
  addr_remove(ep, c);
  if (c->prev) c->prev->next = c->next;
  else ep->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  c->prev = c->next = NULL;
  ep->nconns--;
}

int moqc_quic_ep_add_cid(quic_ep *ep, quic_conn *c, const uint8_t *cid, size_t len) {
  if (len > MOQC_QCID_MAX) return MOQC_ERR_INVAL;
  void *cur = moqc__smap_find(&ep->cids, cid, len);
  if (cur) return cur == c ? MOQC_OK : MOQC_ERR_DUPLICATE; /* a peer reusing another conn's CID */
  return moqc__smap_insert(&ep->cids, cid, len, c);
}

void moqc_quic_ep_del_cid(quic_ep *ep, const uint8_t *cid, size_t len) {
  moqc__smap_remove(&ep->cids, cid, len);
}

void moqc_quic_ep_conn_dead(quic_ep *ep, quic_conn *c) {
  (void)c;
  if (ep->is_server || moqc__quic_ep_closing(ep)) return;
  moqc__quic_ep_set_state(ep, QE_CLOSING); /* a client endpoint lives as long as its connection */
  if (!ep->busy) {
    ep->busy++;
    ep->refs++;
    ep_teardown(ep);
    ep->busy--;
    moqc_quic_ep_unref(ep);
  }
}

/* ---- sending --------------------------------------------------------------------------------- */

int moqc_quic_ep_send(quic_ep *ep, quic_conn *c, const ngtcp2_path *path, const uint8_t *data,
                      size_t len, size_t segsize, unsigned ecn) {
  (void)c;
  if (ep->pend.active || ep->udp.fd < 0) return MOQC_ERR_AGAIN;
  const struct sockaddr *from = ep->udp.wildcard ? (const struct sockaddr *)path->local.addr : NULL;
  size_t sent = 0;
  int rc = moqc_udp_send(&ep->udp, (const struct sockaddr *)path->remote.addr, path->remote.addrlen,
                         from, data, len, segsize, ecn, &sent);
  if (rc != MOQC_ERR_AGAIN) return MOQC_OK; /* hard errors drop the packets: QUIC recovers */
  /* The socket is full: keep the rest, wait for POLLOUT, stop writing. */
  size_t rest = len - sent;
  memcpy(ep->pend.buf, data + sent, rest);
  ep->pend.len = rest;
  ep->pend.segsize = segsize;
  ep->pend.ecn = ecn;
  memcpy(&ep->pend.to, path->remote.addr, path->remote.addrlen);
  ep->pend.tolen = path->remote.addrlen;
  ep->pend.has_from = from != NULL;
  if (from) memcpy(&ep->pend.from, from, path->local.addrlen);
  ep->pend.active = true;
  if (ep->poll_started) uv_poll_start(&ep->poll, UV_READABLE | UV_WRITABLE, on_poll);
  return MOQC_ERR_AGAIN;
}

static void ep_on_writable(quic_ep *ep) {
  if (!ep->pend.active) {
    uv_poll_start(&ep->poll, UV_READABLE, on_poll);
    return;
  }
  size_t sent = 0;
  int rc = moqc_udp_send(&ep->udp, &ep->pend.to.sa, ep->pend.tolen,
                         ep->pend.has_from ? &ep->pend.from.sa : NULL, ep->pend.buf, ep->pend.len,
                         ep->pend.segsize, ep->pend.ecn, &sent);
  if (rc == MOQC_ERR_AGAIN) {
    memmove(ep->pend.buf, ep->pend.buf + sent, ep->pend.len - sent);
    ep->pend.len -= sent;
    return;
  }
  ep->pend.active = false;
  uv_poll_start(&ep->poll, UV_READABLE, on_poll);
  for (quic_conn *c = ep->conns; c; c = c->next) moqc_quic_ep_mark_dirty(ep, c);
}

/* ---- receiving --------------------------------------------------------------------------------- */

static void send_raw(quic_ep *ep, const moqc_udp_rx *rx, const uint8_t *p, size_t len) {
  size_t sent;
  (void)moqc_udp_send(&ep->udp, &rx->from.sa, rx->from_len, ep->udp.wildcard ? &rx->to.sa : NULL, p,
                      len, len, 0, &sent);
}

/* ---- Retry (address validation, RFC 9000 8.1.2) ------------------------------------------------- */

#define RETRY_TOKEN_TIMEOUT (10 * NGTCP2_SECONDS)

enum retry_token { TOKEN_NONE, TOKEN_VALID, TOKEN_BAD };

/* A Retry token in the Initial: verified (odcid recovered), forged / expired /
 * from another address (BAD), or none. Other tokens (NEW_TOKEN: we issue none)
 * and any token with Retry off count as none. */
static enum retry_token retry_token_check(quic_ep *ep, const moqc_udp_rx *rx,
                                          const ngtcp2_pkt_hd *hd, ngtcp2_cid *odcid) {
  if (ep->lim.retry == MOQC_QUIC_RETRY_NEVER || hd->token.len == 0 ||
      hd->token.base[0] != NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY)
    return TOKEN_NONE;
  if (ngtcp2_crypto_verify_retry_token(odcid, hd->token.base, hd->token.len, ep->retry_secret,
                                       sizeof ep->retry_secret, hd->version, &rx->from.sa,
                                       rx->from_len, &hd->dcid, RETRY_TOKEN_TIMEOUT,
                                       moqc_quic_now()) != 0)
    return TOKEN_BAD;
  return TOKEN_VALID;
}

/* Should a new connection from `from` be validated first? */
static bool retry_wanted(const quic_ep *ep, const moqc_sockaddr *from) {
  if (ep->lim.retry == MOQC_QUIC_RETRY_ALWAYS) return true;
  if (ep->lim.retry != MOQC_QUIC_RETRY_AUTO) return false;
  if (ep->handshakes >= MOQC_QUIC_RETRY_AUTO_TOTAL) return true;
  uint8_t key[16];
  addr_key(key, from);
  const quic_addr *a = moqc__smap_find(&ep->addrs, key, sizeof key);
  return a && a->handshakes >= MOQC_QUIC_RETRY_AUTO_PER_ADDR;
}

/* Answer the Initial with a Retry carrying a token bound to the client's
 * address, the original destination CID and the time. Nothing is kept. */
static void retry_send(quic_ep *ep, const moqc_udp_rx *rx, const ngtcp2_pkt_hd *hd) {
  uint8_t token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN];
  uint8_t out[QUIC_MAX_PKT];
  ngtcp2_cid scid;
  scid.datalen = QUIC_SCID_LEN;
  if (gnutls_rnd(GNUTLS_RND_NONCE, scid.data, scid.datalen) != 0) return;
  ngtcp2_ssize tl = ngtcp2_crypto_generate_retry_token(
      token, ep->retry_secret, sizeof ep->retry_secret, hd->version, &rx->from.sa, rx->from_len,
      &scid, &hd->dcid, moqc_quic_now());
  if (tl < 0) return;
  assert((size_t)tl <= sizeof token && token[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY);
  ngtcp2_ssize n = ngtcp2_crypto_write_retry(out, sizeof out, hd->version, &hd->scid, &scid,
                                             &hd->dcid, token, (size_t)tl);
  if (n <= 0) return;
  assert((size_t)n <= sizeof out);
  ep->retries_sent++;
  send_raw(ep, rx, out, (size_t)n);
}

/* A new connection's Initial: admit (the per-address caps and rate drop a
 * flood from one address before it costs any crypto), validate (a Retry
 * token: verify it; none: answer with a Retry when wanted), then accept. A
 * connection through Retry takes two rate tokens (its two Initials). */
static quic_conn *server_new_conn(quic_ep *ep, const moqc_udp_rx *rx, const uint8_t *p,
                                  size_t len) {
  uint8_t out[QUIC_MAX_PKT];
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, p, len) != 0) return NULL; /* not an acceptable first Initial */
  int admit = moqc_quic_ep_addr_admits(ep, &rx->from);
  if (admit == QUIC_ADMIT_DROP) { /* too many handshakes from there: the client */
    ep->refused++;                /* retransmits its Initial later (a rate limit) */
    return NULL;
  }
  if (ep->nconns >= ep->lim.max_connections || admit == QUIC_ADMIT_REFUSE) {
    ep->refused++;
    ssize_t n = moqc_quic_write_refused(out, sizeof out, p, len);
    if (n > 0) send_raw(ep, rx, out, (size_t)n);
    return NULL;
  }
  ngtcp2_cid odcid;
  enum retry_token tok = retry_token_check(ep, rx, &hd, &odcid);
  if (tok == TOKEN_BAD) { /* forged or stale: no answer, no state */
    ep->retry_bad_tokens++;
    return NULL;
  }
  if (tok == TOKEN_NONE && retry_wanted(ep, &rx->from)) {
    retry_send(ep, rx, &hd);
    return NULL;
  }
  quic_conn *c = NULL;
  if (moqc_quic_conn_accept(ep, rx, p, len, tok == TOKEN_VALID ? &odcid : NULL, &c) != MOQC_OK)
    return NULL;
  return c;
}

static void server_datagram(quic_ep *ep, const moqc_udp_rx *rx, const uint8_t *p, size_t len) {
  quic_pkt_info pi;
  uint8_t out[QUIC_MAX_PKT];
  int r = moqc_quic_pkt_decode(&pi, p, len);
  if (r < 0) return;
  if (r == 1) { /* unknown version: offer ours (only to full-size Initials) */
    if (len < 1200) return;
    ssize_t n = moqc_quic_write_version_neg(out, sizeof out, &pi);
    if (n > 0) send_raw(ep, rx, out, (size_t)n);
    return;
  }
  quic_conn *c = moqc__smap_find(&ep->cids, pi.dcid, pi.dcidlen);
  if (!c) {
    if (moqc__quic_ep_closing(ep) || !moqc_quic_pkt_is_initial(p, len)) return;
    if (!(c = server_new_conn(ep, rx, p, len))) return;
  }
  bool handshaking = c->state == QC_HANDSHAKE;
  moqc_quic_conn_read(c, rx, p, len);
  /* Answer a handshake step at once instead of after the whole read batch
   * (up to 64 datagrams): a ClientHello costs ~300 us of crypto, so with many
   * handshakes arriving together the first ServerHello used to wait for all
   * the others and the clients sat idle meanwhile (F6). Handshake flights
   * are one connection's packets, so this loses no GSO batching; the
   * connection stays on the dirty list and is flushed again (a no-op) later. */
  if (handshaking) moqc_quic_conn_flush(c);
}

static void ep_datagram(quic_ep *ep, const moqc_udp_rx *rx, const uint8_t *p, size_t len) {
  if (ep->is_server) server_datagram(ep, rx, p, len);
  else if (ep->conns) moqc_quic_conn_read(ep->conns, rx, p, len);
}

static void ep_read(quic_ep *ep) {
  for (int i = 0; i < 64 && ep->state < QE_TORN_DOWN; i++) {
    moqc_udp_rx rx;
    ssize_t n = moqc_udp_recv(&ep->udp, ep->recvbuf, MOQC_UDP_RECV_BUF, &rx);
    if (n == MOQC_ERR_AGAIN) break;
    if (n <= 0) continue;
    size_t total = (size_t)n, seg = rx.segsize ? rx.segsize : total;
    for (size_t off = 0; off < total && ep->state < QE_TORN_DOWN; off += seg)
      ep_datagram(ep, &rx, ep->recvbuf + off, total - off < seg ? total - off : seg);
  }
}

/* POLLERR: libuv has *stopped* the poll handle and reports UV_EBADF. On a
 * connected client socket that is an ICMP error (port unreachable: a client
 * that dialled before the server listened). Clear it and poll again, or the
 * connection never reads another datagram and its handshake times out even
 * though the server answers its retransmitted Initials (F7). */
static void ep_on_poll_error(quic_ep *ep) {
  if (moqc_udp_take_error(&ep->udp) != MOQC_OK || ep->state == QE_HANDLES_CLOSED) return;
  int flags = UV_READABLE | (ep->pend.active ? UV_WRITABLE : 0);
  if (uv_poll_start(&ep->poll, flags, on_poll) != 0) ep->poll_started = false;
}

static void on_poll(uv_poll_t *h, int status, int events) {
  quic_ep *ep = h->data;
  ep->busy++;
  ep->refs++;
  if (status < 0) ep_on_poll_error(ep);
  if (events & UV_WRITABLE) ep_on_writable(ep);
  if ((events & UV_READABLE) || status < 0) ep_read(ep);
  ep->busy--;
  moqc_quic_ep_process(ep);
  moqc_quic_ep_unref(ep);
}

/* ---- server API ------------------------------------------------------------------------------- */

int moqc_quic_server_new(uv_loop_t *loop, const moqc_quic_server_config *cfg,
                         moqc_quic_server **out) {
  if (!loop || !cfg || !out || !cfg->cert || !cfg->on_connection) return MOQC_ERR_INVAL;
  *out = NULL;
  moqc_sockaddr sa;
  socklen_t sl;
  if (moqc_sockaddr_parse(&sa, &sl, cfg->host, cfg->port) != MOQC_OK) return MOQC_ERR_INVAL;
  quic_ep *ep = ep_new(loop, true, &cfg->limits);
  if (!ep) return MOQC_ERR_NOMEM;
  int rc = moqc_tls_alpn_init(&ep->alpn, cfg->alpn, cfg->alpn_count);
  if (rc != MOQC_OK) {
    ep_free(ep);
    return rc;
  }
  ep->cert = moqc_cert_ref(cfg->cert);
  if (cfg->n_client_ca_files) {
    char err[256] = "";
    rc = moqc_tls_mtls_cred(cfg->cert, cfg->client_ca_files, cfg->n_client_ca_files, &ep->mtls, err,
                            sizeof err);
    if (rc != MOQC_OK) {
      moqc__log(&cfg->log, MOQC_LOG_ERROR, "tls", "%s", err[0] ? err : moqc_err_str(rc));
      ep_free(ep);
      return rc;
    }
  }
  ep->on_connection = cfg->on_connection;
  ep->ctx = cfg->ctx;
  ep->log = cfg->log;
  rc = ep_start(ep, &sa, sl);
  if (rc != MOQC_OK) {
    ep_fail_start(ep);
    return rc;
  }
  *out = ep;
  return MOQC_OK;
}

uint16_t moqc_quic_server_port(const moqc_quic_server *s) {
  return moqc_sockaddr_port(&s->udp.local);
}

size_t moqc_quic_server_connections(const moqc_quic_server *s) { return s->nconns; }

void moqc_quic_server_retry_stats(const moqc_quic_server *s, uint64_t *retries_sent,
                                  uint64_t *bad_tokens) {
  if (retries_sent) *retries_sent = s->retries_sent;
  if (bad_tokens) *bad_tokens = s->retry_bad_tokens;
}

void moqc_quic_server_del(moqc_quic_server *s) {
  if (!s || moqc__quic_ep_closing(s)) return;
  moqc__quic_ep_set_state(s, QE_CLOSING);
  if (s->busy) return; /* torn down at the end of the current I/O callback */
  s->busy++;
  s->refs++;
  ep_teardown(s);
  s->busy--;
  moqc_quic_ep_unref(s);
}

/* ---- client API ------------------------------------------------------------------------------- */

struct moqc_quic_dial {
  uv_loop_t *loop;
  uv_getaddrinfo_t gai;
  bool resolving, cancelled;
  moqc_quic_on_connect cb;
  void *ctx;
  moqc_tls_client *tlsc; /* until handed to the connection */
  moqc_tls_alpn alpn;
  moqc_quic_limits limits;
  moqc_logger log;
  uint16_t port;
  quic_conn *conn;
};

static void dial_free(moqc_quic_dial *d) {
  if (d->tlsc) {
    moqc_tls_client_free(d->tlsc);
    moqc_free(d->tlsc);
  }
  moqc_tls_alpn_free(&d->alpn);
  moqc_free(d);
}

void moqc_quic_dial_done(moqc_quic_dial *d, int err, const char *msg, quic_conn *c) {
  d->conn = NULL;
  if (err == MOQC_OK) {
    moqc__quic_set_owner(c, QO_USER);
    d->cb(d->ctx, MOQC_OK, NULL, &c->base);
  } else {
    d->cb(d->ctx, err, msg ? msg : moqc_err_str(err), NULL);
  }
  dial_free(d);
}

/* Socket + connection for a resolved address. */
static int dial_start(moqc_quic_dial *d, const moqc_sockaddr *sa, socklen_t len) {
  quic_ep *ep = ep_new(d->loop, false, &d->limits);
  if (!ep) return MOQC_ERR_NOMEM;
  ep->log = d->log;
  moqc_sockaddr any;
  memset(&any, 0, sizeof any);
  any.sa.sa_family = sa->sa.sa_family;
  socklen_t anylen = sa->sa.sa_family == AF_INET ? sizeof any.in : sizeof any.in6;
  int rc = ep_start(ep, &any, anylen);
  if (rc == MOQC_OK) rc = moqc_udp_connect(&ep->udp, &sa->sa, len);
  if (rc != MOQC_OK) {
    ep_fail_start(ep);
    return rc;
  }
  quic_conn *c;
  moqc_tls_client *tlsc = d->tlsc;
  d->tlsc = NULL;
  rc = moqc_quic_conn_dial(ep, sa, len, tlsc, &d->alpn, &c);
  if (rc != MOQC_OK) {
    ep_fail_start(ep);
    return rc;
  }
  assert(c->owner == QO_NONE); /* the user owns it only once connected */
  c->dial = d;
  d->conn = c;
  moqc_quic_ep_mark_dirty(ep, c);
  return MOQC_OK;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  moqc_quic_dial *d = req->data;
  d->resolving = false;
  if (d->cancelled) {
    if (res) uv_freeaddrinfo(res);
    dial_free(d);
    return;
  }
  char msg[256];
  int rc = MOQC_ERR_IO;
  if (status < 0 || !res) {
    snprintf(msg, sizeof msg, "cannot resolve the host: %s", uv_strerror(status));
  } else {
    moqc_sockaddr sa;
    memset(&sa, 0, sizeof sa);
    memcpy(&sa, res->ai_addr, res->ai_addrlen);
    socklen_t len = (socklen_t)res->ai_addrlen;
    if (sa.sa.sa_family == AF_INET) sa.in.sin_port = htons(d->port);
    else sa.in6.sin6_port = htons(d->port);
    rc = dial_start(d, &sa, len);
    snprintf(msg, sizeof msg, "cannot start the connection: %s", moqc_err_str(rc));
  }
  if (res) uv_freeaddrinfo(res);
  if (rc != MOQC_OK) {
    d->cb(d->ctx, rc, msg, NULL);
    dial_free(d);
  }
}

int moqc_quic_connect(uv_loop_t *loop, const moqc_quic_client_config *cfg, moqc_quic_on_connect cb,
                      void *ctx, moqc_quic_dial **dial) {
  if (dial) *dial = NULL;
  if (!loop || !cfg || !cfg->host || !*cfg->host || !cb) return MOQC_ERR_INVAL;
  moqc_quic_dial *d = moqc_calloc(1, sizeof *d);
  if (!d) return MOQC_ERR_NOMEM;
  d->loop = loop;
  d->cb = cb;
  d->ctx = ctx;
  d->port = cfg->port;
  d->limits = cfg->limits;
  d->log = cfg->log;
  d->gai.data = d;
  int rc = moqc_tls_alpn_init(&d->alpn, cfg->alpn, cfg->alpn_count);
  if (rc == MOQC_OK) {
    d->tlsc = moqc_calloc(1, sizeof *d->tlsc);
    rc = d->tlsc ? moqc_tls_client_init(d->tlsc, cfg->sni ? cfg->sni : cfg->host, &cfg->tls)
                 : MOQC_ERR_NOMEM;
  }
  if (rc == MOQC_OK) {
    moqc_sockaddr sa;
    socklen_t len;
    if (moqc_sockaddr_parse(&sa, &len, cfg->host, cfg->port) == MOQC_OK) {
      rc = dial_start(d, &sa, len);
    } else {
      struct addrinfo hints;
      memset(&hints, 0, sizeof hints);
      hints.ai_family = AF_UNSPEC;
      hints.ai_socktype = SOCK_DGRAM;
      hints.ai_protocol = IPPROTO_UDP;
      d->resolving = true;
      if (uv_getaddrinfo(loop, &d->gai, on_resolved, cfg->host, NULL, &hints) != 0) {
        d->resolving = false;
        rc = MOQC_ERR_IO;
      }
    }
  }
  if (rc != MOQC_OK) {
    dial_free(d);
    return rc;
  }
  if (dial) *dial = d;
  return MOQC_OK;
}

void moqc_quic_dial_cancel(moqc_quic_dial *d) {
  if (!d) return;
  if (d->resolving) {
    d->cancelled = true; /* on_resolved frees it */
    (void)uv_cancel((uv_req_t *)&d->gai);
    return;
  }
  quic_conn *c = d->conn;
  d->conn = NULL;
  dial_free(d);
  if (c) {
    c->dial = NULL;
    moqc_quic_conn_shutdown(c, 0, "cancelled");
  }
}
