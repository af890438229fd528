/* moqc transport — QUIC connections over ngtcp2 0.12 (the only file that
 * calls ngtcp2). See quic_int.h for the overall design. */
#include <assert.h>
#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "moqc/error.h"
#include "quic/quic_int.h"

#define NS_PER_MS 1000000ULL
#define CLOSE_RESENDS_MAX 8

uint64_t moqc_quic_now(void) { return uv_hrtime(); }

/* ---- allocator + limits ------------------------------------------------------ */

static void *ng_malloc(size_t n, void *u) {
  (void)u;
  return moqc_malloc(n);
}
static void ng_free(void *p, void *u) {
  (void)u;
  moqc_free(p);
}
static void *ng_calloc(size_t m, size_t n, void *u) {
  (void)u;
  return moqc_calloc(m, n);
}
static void *ng_realloc(void *p, size_t n, void *u) {
  (void)u;
  return moqc_realloc(p, n);
}

void moqc_quic_mem_init(ngtcp2_mem *m) {
  m->user_data = NULL;
  m->malloc = ng_malloc;
  m->free = ng_free;
  m->calloc = ng_calloc;
  m->realloc = ng_realloc;
}

static uint64_t or_default(uint64_t v, uint64_t d) { return v ? v : d; }

void moqc_quic_lim_resolve(quic_lim *o, const moqc_quic_limits *in) {
  moqc_quic_limits z;
  if (!in) {
    memset(&z, 0, sizeof z);
    in = &z;
  }
  o->max_connections = in->max_connections ? in->max_connections : 10000;
  o->max_streams_bidi = in->max_streams_bidi ? in->max_streams_bidi : 1000;
  o->max_streams_uni = in->max_streams_uni ? in->max_streams_uni : 10000;
  o->max_conns_per_addr = in->max_connections_per_addr ? in->max_connections_per_addr : UINT32_MAX;
  o->max_hs_per_addr = in->max_handshakes_per_addr ? in->max_handshakes_per_addr : UINT32_MAX;
  o->new_conns_per_addr_per_s = in->new_connections_per_addr_per_s;
  o->retry = in->retry;
  o->idle_timeout_ns = or_default(in->idle_timeout_ms, 30000) * NS_PER_MS;
  o->keep_alive_auto = in->keep_alive_ms == 0;
  if (in->keep_alive_ms == UINT64_MAX) o->keep_alive_ns = 0;
  else
    o->keep_alive_ns = in->keep_alive_ms ? in->keep_alive_ms * NS_PER_MS : o->idle_timeout_ns / 3;
  o->handshake_timeout_ns = or_default(in->handshake_timeout_ms, 10000) * NS_PER_MS;
  o->cc = in->cc;
  o->max_window = or_default(in->max_window, 24ULL << 20);
  o->max_stream_window = or_default(in->max_stream_window, 8ULL << 20);
  if (o->max_window < (64u << 10)) o->max_window = 64u << 10;
  if (o->max_stream_window < (64u << 10)) o->max_stream_window = 64u << 10;
  if (in->max_datagram_frame == UINT64_MAX) o->max_datagram_frame = 0;
  else o->max_datagram_frame = or_default(in->max_datagram_frame, 65535);
  o->send_lowat = or_default(in->send_lowat, 1ULL << 20);
  o->no_gso = in->no_gso;
  o->no_gro = in->no_gro;
  uint64_t lb = or_default(in->loopback_udp_payload, QUIC_LOOPBACK_PKT);
  if (lb == UINT64_MAX || lb < 1200) o->loopback_pkt = 0;
  else o->loopback_pkt = lb > QUIC_LOOPBACK_PKT_MAX ? QUIC_LOOPBACK_PKT_MAX : (size_t)lb;
}

/* ---- small helpers ------------------------------------------------------------- */

/* Call a handler callback unless the user released the transport. The conn
 * is marked busy so a release() from inside cannot free it under us. */
#define EMIT(c, fn, ...)                                  \
  do {                                                    \
    const moqc_transport_handler *h_ = (c)->base.handler; \
    if (moqc__quic_owned(c) && h_ && h_->fn) {            \
      (c)->busy++;                                        \
      h_->fn((c)->base.handler_ctx, __VA_ARGS__);         \
      (c)->busy--;                                        \
    }                                                     \
  } while (0)

#define EMIT0(c, fn)                                      \
  do {                                                    \
    const moqc_transport_handler *h_ = (c)->base.handler; \
    if (moqc__quic_owned(c) && h_ && h_->fn) {            \
      (c)->busy++;                                        \
      h_->fn((c)->base.handler_ctx);                      \
      (c)->busy--;                                        \
    }                                                     \
  } while (0)

/* ---- lifecycle -------------------------------------------------------------------- */

const char *moqc__quic_state_str(enum quic_state st) {
  switch (st) {
    case QC_HANDSHAKE: return "handshake";
    case QC_OPEN: return "open";
    case QC_CONFIRMED: return "confirmed";
    case QC_CLOSE_REQ: return "close-requested";
    case QC_CLOSING: return "closing";
    case QC_DRAINING: return "draining";
    case QC_DEAD: return "dead";
  }
  return "?";
}

const char *moqc__quic_report_str(enum quic_report r) {
  switch (r) {
    case QR_NONE: return "none";
    case QR_PENDING: return "pending";
    case QR_DONE: return "done";
  }
  return "?";
}

const char *moqc__quic_owner_str(enum quic_owner o) {
  switch (o) {
    case QO_NONE: return "none";
    case QO_USER: return "user";
    case QO_RELEASED: return "released";
  }
  return "?";
}

const char *moqc__quic_timer_str(enum quic_timer t) {
  switch (t) {
    case QT_UNINIT: return "uninit";
    case QT_LIVE: return "live";
    case QT_CLOSING: return "closing";
    case QT_CLOSED: return "closed";
  }
  return "?";
}

bool moqc__quic_state_transition_ok(enum quic_state from, enum quic_state to) {
  switch (from) {
    case QC_HANDSHAKE:
    case QC_OPEN:
    case QC_CONFIRMED:
    case QC_CLOSE_REQ: return to > from && to <= QC_DEAD;
    case QC_CLOSING:
    case QC_DRAINING: return to == QC_DEAD;
    case QC_DEAD: return false;
  }
  return false;
}

bool moqc__quic_report_transition_ok(enum quic_report from, enum quic_report to) {
  return (from == QR_NONE && to == QR_PENDING) ||
         (from == QR_PENDING && (to == QR_DONE || to == QR_NONE));
}

bool moqc__quic_owner_transition_ok(enum quic_owner from, enum quic_owner to) {
  return (from == QO_NONE && to == QO_USER) || (from == QO_USER && to == QO_RELEASED);
}

bool moqc__quic_timer_transition_ok(enum quic_timer from, enum quic_timer to) {
  return (unsigned)from + 1 == (unsigned)to && to <= QT_CLOSED;
}

void moqc__quic_set_state(quic_conn *c, enum quic_state to) {
  bool ok = moqc__quic_state_transition_ok(c->state, to);
  assert(ok && "illegal QUIC connection state transition");
  (void)ok;
  c->state = to;
}

void moqc__quic_set_report(quic_conn *c, enum quic_report to) {
  bool ok = moqc__quic_report_transition_ok(c->report, to);
  assert(ok && "illegal QUIC `closed` report transition");
  (void)ok;
  c->report = to;
}

void moqc__quic_set_owner(quic_conn *c, enum quic_owner to) {
  bool ok = moqc__quic_owner_transition_ok(c->owner, to);
  assert(ok && "illegal QUIC handle ownership transition");
  (void)ok;
  c->owner = to;
}

void moqc__quic_set_timer(quic_conn *c, enum quic_timer to) {
  bool ok = moqc__quic_timer_transition_ok(c->timer_st, to);
  assert(ok && "illegal QUIC timer handle transition");
  (void)ok;
  c->timer_st = to;
}

static void set_close_info(quic_conn *c, uint64_t code, const char *reason, size_t rlen,
                           bool by_peer) {
  if (rlen > QUIC_REASON_MAX) rlen = QUIC_REASON_MAX;
  char *r = moqc_malloc(rlen + 1);
  if (r) {
    if (rlen) memcpy(r, reason, rlen);
    r[rlen] = '\0';
  }
  moqc_free(c->close_reason);
  c->close_reason = r;
  c->close_code = code;
  c->close_by_peer = by_peer;
}

static int add_cid(quic_conn *c, const uint8_t *cid, size_t len) {
  if (!c->ep->is_server) return MOQC_OK;
  if (c->ncids == c->capcids) {
    size_t cap = c->capcids ? c->capcids * 2 : 4;
    moqc_qcid *v = moqc_reallocarray(c->cids, cap, sizeof *v);
    if (!v) return MOQC_ERR_NOMEM;
    c->cids = v;
    c->capcids = cap;
  }
  if (moqc_quic_ep_add_cid(c->ep, c, cid, len) != MOQC_OK) return MOQC_ERR_NOMEM;
  c->cids[c->ncids].len = (uint8_t)len;
  memcpy(c->cids[c->ncids].data, cid, len);
  c->ncids++;
  return MOQC_OK;
}

static void del_cid(quic_conn *c, const uint8_t *cid, size_t len) {
  for (size_t i = 0; i < c->ncids; i++) {
    if (c->cids[i].len == len && memcmp(c->cids[i].data, cid, len) == 0) {
      moqc_quic_ep_del_cid(c->ep, cid, len);
      c->cids[i] = c->cids[--c->ncids];
      return;
    }
  }
}

/* Our send half is gone (reset by us or by the peer's STOP_SENDING). */
static void send_side_gone(quic_conn *c, moqc_qstream *s) {
  assert(!moqc__qs_send_gone(s));
  assert(s->acked <= s->sent && s->sent <= s->end);
  assert(c->unacked >= s->end - s->acked && c->unsent >= s->end - s->sent);
  c->unacked -= s->end - s->acked;
  c->unsent -= s->end - s->sent;
  moqc_qstream_drop_unsent(s);
  moqc_qsched_remove(&c->sched, s);
}

/* ---- ngtcp2 callbacks ----------------------------------------------------------- */

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref) {
  quic_conn *c = (quic_conn *)(void *)((uint8_t *)ref - offsetof(quic_conn, conn_ref));
  return c->nc;
}

static void cb_rand(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx) {
  (void)ctx;
  (void)gnutls_rnd(GNUTLS_RND_NONCE, dest, len);
}

static int cb_new_cid(ngtcp2_conn *nc, ngtcp2_cid *cid, uint8_t *token, size_t cidlen, void *ud) {
  (void)nc;
  quic_conn *c = ud;
  if (gnutls_rnd(GNUTLS_RND_RANDOM, cid->data, cidlen) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  cid->datalen = cidlen;
  if (ngtcp2_crypto_generate_stateless_reset_token(token, c->ep->sr_secret, sizeof c->ep->sr_secret,
                                                   cid) != 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  return add_cid(c, cid->data, cid->datalen) == MOQC_OK ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}

static int cb_remove_cid(ngtcp2_conn *nc, const ngtcp2_cid *cid, void *ud) {
  (void)nc;
  del_cid(ud, cid->data, cid->datalen);
  return 0;
}

static int cb_handshake_completed(ngtcp2_conn *nc, void *ud) {
  quic_conn *c = ud;
  if (!moqc_tls_selected_alpn(c->tls, c->base.protocol, sizeof c->base.protocol))
    return NGTCP2_ERR_CALLBACK_FAILURE; /* ALPN is mandatory on both sides */
  /* A close() cannot come before the handshake completes (nobody holds the
   * handle yet), so the connection is still handshaking here. */
  assert(c->state == QC_HANDSHAKE);
  moqc__quic_set_state(c, c->ep->is_server ? QC_CONFIRMED : QC_OPEN);
  /* Default keep-alive: a third of the idle timeout both sides agreed on. */
  const ngtcp2_transport_params *rp = ngtcp2_conn_get_remote_transport_params(nc);
  if (c->ep->lim.keep_alive_auto && rp && rp->max_idle_timeout &&
      rp->max_idle_timeout < c->ep->lim.idle_timeout_ns)
    ngtcp2_conn_set_keep_alive_timeout(nc, rp->max_idle_timeout / 3);
  c->busy++;
  if (c->ep->is_server) {
    assert(!c->peer.cert || c->ep->mtls); /* only a server that asks records one */
    c->base.peer_cert = c->peer.cert;     /* NULL: none presented (or none asked for) */
    moqc_quic_ep_addr_handshake_done(c->ep, c);
    /* ngtcp2 confirms a server's handshake on completion, without a callback:
     * the state went straight to CONFIRMED above. */
    moqc__quic_set_owner(c, QO_USER);
    c->ep->on_connection(c->ep->ctx, &c->base);
  } else if (c->dial) {
    moqc_quic_dial *d = c->dial;
    c->dial = NULL;
    moqc_quic_dial_done(d, MOQC_OK, NULL, c);
  }
  c->busy--;
  return 0;
}

/* Clients only (a server's handshake is confirmed when it completes). */
static int cb_handshake_confirmed(ngtcp2_conn *nc, void *ud) {
  (void)nc;
  quic_conn *c = ud;
  /* Confirmation matters only to an open connection (packet sizes): one that
   * is already asked to close stays so. */
  if (c->state == QC_OPEN) moqc__quic_set_state(c, QC_CONFIRMED);
  return 0;
}

/* Stream user data of peer streams we retired ourselves (see below). */
static moqc_qstream k_retired;
#define RETIRED(sud) ((sud) == (void *)&k_retired)

/* ngtcp2 0.12.1 never closes a stream the peer opened unidirectionally (its
 * stream_close never comes; fixed upstream in 0.13.1), so neither would
 * the stream credit come back. Once such a stream is done (FIN delivered or
 * reset received) we retire it ourselves: stream_closed, our state freed,
 * credit returned. Later callbacks for it carry the k_retired marker and
 * are ignored. ngtcp2 keeps its own per-stream object (193 B, measured by
 * test_quic's test_remote_uni_memory) until the connection ends: no public
 * 0.12.1 call frees it (docs/transport.md, "ngtcp2 0.12.1 quirks"). */
static void retire_remote_uni(quic_conn *c, moqc_qstream *s) {
  int64_t id = s->id;
  bool credit = s->open_cb;
  moqc_qsched_remove(&c->sched, s);
  moqc__imap_remove(&c->streams, (uint64_t)id);
  (void)ngtcp2_conn_set_stream_user_data(c->nc, id, &k_retired);
  moqc_qstream_free(s);
  if (credit) ngtcp2_conn_extend_max_streams_uni(c->nc, 1);
  EMIT(c, stream_closed, id);
}

static bool remote_uni(const moqc_qstream *s) { return s->remote && MOQC_STREAM_IS_UNI(s->id); }

/* A stream opened by the peer: create our side and announce it. */
static moqc_qstream *remote_stream(quic_conn *c, int64_t id) {
  moqc_qstream *s = moqc__imap_find(&c->streams, (uint64_t)id);
  if (s || ngtcp2_conn_is_local_stream(c->nc, id)) return s;
  uint32_t fl = QS_REMOTE | QS_RECV | (MOQC_STREAM_IS_UNI(id) ? 0 : QS_SEND);
  s = moqc_qstream_new(id, fl);
  if (!s) return NULL;
  if (moqc__imap_insert(&c->streams, (uint64_t)id, s) != MOQC_OK) {
    moqc_qstream_free(s);
    return NULL;
  }
  (void)ngtcp2_conn_set_stream_user_data(c->nc, id, s);
  EMIT(c, stream_opened, id);
  return s;
}

static int cb_stream_open(ngtcp2_conn *nc, int64_t id, void *ud) {
  (void)nc;
  moqc_qstream *s = remote_stream(ud, id);
  if (!s) return NGTCP2_ERR_CALLBACK_FAILURE;
  s->open_cb = true;
  return 0;
}

static int cb_recv_stream_data(ngtcp2_conn *nc, uint32_t flags, int64_t id, uint64_t offset,
                               const uint8_t *data, size_t len, void *ud, void *sud) {
  (void)offset;
  quic_conn *c = ud;
  if (RETIRED(sud)) return 0;
  moqc_qstream *s = sud ? sud : remote_stream(c, id);
  if (!s) return NGTCP2_ERR_CALLBACK_FAILURE;
  bool fin = (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0;
  bool stopped = s->recv == QSR_STOPPED;
  if (fin && (s->recv == QSR_RECV || stopped)) moqc__qs_set_recv(s, QSR_DATA_READ);
  if (!stopped) EMIT(c, stream_data, id, data, len, fin);
  /* The bytes were consumed (the handler copies what it keeps): give the
   * credit back right away; ngtcp2 auto-tunes the window sizes. */
  if (len) {
    (void)ngtcp2_conn_extend_max_stream_offset(nc, id, len);
    ngtcp2_conn_extend_max_offset(nc, len);
  }
  if (fin && remote_uni(s)) retire_remote_uni(c, s);
  return 0;
}

/* Our finished send half is acknowledged in full (FIN included): tell the
 * user, once. Callers guarantee s is not touched after this returns. */
static void send_acked(quic_conn *c, moqc_qstream *s) {
  if (s->send != QSS_DATA_SENT) return;
  assert(s->acked == s->end && s->sent == s->end);
  moqc__qs_set_send(s, QSS_DATA_RECVD);
  EMIT(c, stream_acked, s->id);
}

/* ngtcp2 reports the acknowledged prefix [0, offset + len) of a stream; a
 * FIN sent alone is reported as a 0-length range at the final offset. A FIN
 * that rode on the last bytes is acknowledged with them (a retransmission
 * carries the FIN on the piece holding the last byte), so reaching the end
 * offset means the FIN is acknowledged too. */
static int cb_acked(ngtcp2_conn *nc, int64_t id, uint64_t offset, uint64_t len, void *ud,
                    void *sud) {
  (void)nc;
  (void)id;
  quic_conn *c = ud;
  moqc_qstream *s = sud;
  if (!s || RETIRED(sud)) return 0;
  uint64_t n = moqc_qstream_ack(s, offset + len);
  if (!moqc__qs_send_gone(s)) {
    assert(c->unacked >= n);
    c->unacked -= n;
  }
  c->acked_since += n;
  bool fin_acked = !s->fin_bare || (len == 0 && offset == s->end);
  if (s->send == QSS_DATA_SENT && s->acked == s->end && fin_acked) send_acked(c, s);
  return 0;
}

static int cb_stream_reset(ngtcp2_conn *nc, int64_t id, uint64_t final_size, uint64_t code,
                           void *ud, void *sud) {
  (void)nc;
  (void)final_size;
  quic_conn *c = ud;
  if (RETIRED(sud)) return 0;
  moqc_qstream *s = sud ? sud : remote_stream(c, id);
  if (!s) return NGTCP2_ERR_CALLBACK_FAILURE;
  if (s->recv != QSR_NONE && s->recv != QSR_RESET_RECVD) moqc__qs_set_recv(s, QSR_RESET_RECVD);
  EMIT(c, stream_reset, id, code);
  if (remote_uni(s)) retire_remote_uni(c, s);
  return 0;
}

static int cb_stream_close(ngtcp2_conn *nc, uint32_t flags, int64_t id, uint64_t code, void *ud,
                           void *sud) {
  quic_conn *c = ud;
  if (RETIRED(sud)) return 0;
  moqc_qstream *s = sud ? sud : moqc__imap_find(&c->streams, (uint64_t)id);
  if (!s) return 0;
  bool has_code = (flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) != 0;
  /* ngtcp2 0.12 has no callback for a received STOP_SENDING: it resets our
   * send half itself. A send half that ends neither finished-and-acked nor
   * reset by us was stopped by the peer, and the close code is theirs. */
  if (s->send != QSS_NONE && s->send != QSS_RESET_SENT && has_code) {
    bool clean = (s->send == QSS_DATA_SENT || s->send == QSS_DATA_RECVD) && s->acked == s->end;
    if (!clean) {
      if (s->send != QSS_PEER_STOP) {
        send_side_gone(c, s);
        moqc__qs_set_send(s, QSS_PEER_STOP);
      }
      EMIT(c, stop_sending, id, code);
    }
  }
  /* A bare FIN whose ack ngtcp2 did not report on its own (it came before
   * the data's): the clean close of the send half is the proof. */
  if (s->send != QSS_NONE && s->acked == s->end) send_acked(c, s);
  if (!moqc__qs_send_gone(s)) {
    assert(c->unacked >= s->end - s->acked && c->unsent >= s->end - s->sent);
    c->unacked -= s->end - s->acked;
    c->unsent -= s->end - s->sent;
  }
  moqc_qsched_remove(&c->sched, s);
  moqc__imap_remove(&c->streams, (uint64_t)id);
  (void)ngtcp2_conn_set_stream_user_data(nc, id, NULL);
  bool remote_open = s->remote && s->open_cb;
  moqc_qstream_free(s);
  if (remote_open) {
    if (MOQC_STREAM_IS_UNI(id)) ngtcp2_conn_extend_max_streams_uni(nc, 1);
    else ngtcp2_conn_extend_max_streams_bidi(nc, 1);
  }
  EMIT(c, stream_closed, id);
  return 0;
}

static int cb_extend_local_streams(ngtcp2_conn *nc, uint64_t max, void *ud) {
  (void)nc;
  (void)max;
  quic_conn *c = ud;
  if (c->credit_wanted) {
    c->credit_wanted = false;
    c->credit_event = true;
  }
  return 0;
}

static int cb_extend_stream_data(ngtcp2_conn *nc, int64_t id, uint64_t max, void *ud, void *sud) {
  (void)nc;
  (void)id;
  (void)max;
  quic_conn *c = ud;
  moqc_qstream *s = RETIRED(sud) ? NULL : sud;
  if (s && s->blocked) {
    s->blocked = false;
    if (moqc_qstream_ready(s) && moqc_qsched_push(&c->sched, s) != MOQC_OK)
      return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

static int cb_recv_datagram(ngtcp2_conn *nc, uint32_t flags, const uint8_t *data, size_t len,
                            void *ud) {
  (void)nc;
  (void)flags;
  quic_conn *c = ud;
  EMIT(c, datagram, data, len);
  return 0;
}

/* ngtcp2's debug log (installed only when the endpoint's logger takes TRACE). */
__attribute__((format(printf, 2, 3))) static void log_cb(void *ud, const char *fmt, ...) {
  const quic_conn *c = ud;
  va_list ap;
  va_start(ap, fmt);
  moqc__logv(&c->ep->log, MOQC_LOG_TRACE, "quic", fmt, ap);
  va_end(ap);
}

static const ngtcp2_callbacks k_callbacks = {
    .client_initial = ngtcp2_crypto_client_initial_cb,
    .recv_client_initial = ngtcp2_crypto_recv_client_initial_cb,
    .recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb,
    .handshake_completed = cb_handshake_completed,
    .handshake_confirmed = cb_handshake_confirmed,
    .encrypt = ngtcp2_crypto_encrypt_cb,
    .decrypt = ngtcp2_crypto_decrypt_cb,
    .hp_mask = ngtcp2_crypto_hp_mask_cb,
    .recv_stream_data = cb_recv_stream_data,
    .acked_stream_data_offset = cb_acked,
    .stream_open = cb_stream_open,
    .stream_close = cb_stream_close,
    .recv_retry = ngtcp2_crypto_recv_retry_cb,
    .extend_max_local_streams_bidi = cb_extend_local_streams,
    .extend_max_local_streams_uni = cb_extend_local_streams,
    .rand = cb_rand,
    .get_new_connection_id = cb_new_cid,
    .remove_connection_id = cb_remove_cid,
    .update_key = ngtcp2_crypto_update_key_cb,
    .stream_reset = cb_stream_reset,
    .extend_max_stream_data = cb_extend_stream_data,
    .delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb,
    .delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb,
    .recv_datagram = cb_recv_datagram,
    .get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb,
    .version_negotiation = ngtcp2_crypto_version_negotiation_cb,
};

/* ---- creation --------------------------------------------------------------------- */

static void on_timer(uv_timer_t *t);

static quic_conn *conn_alloc(quic_ep *ep, bool server) {
  quic_conn *c = moqc_calloc(1, sizeof *c);
  if (!c) return NULL;
  c->base.ops = &moqc_quic_ops;
  c->base.path = "";
  c->base.is_server = server;
  c->ep = ep;
  c->conn_ref.get_conn = get_conn;
  /* owner QO_NONE: nobody owns it until on_connection / the dial is done;
   * timer_st QT_UNINIT until conn_setup. */
  ep->refs++;
  return c;
}

/* A peer on the loopback device: 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104. */
static bool is_loopback(const moqc_sockaddr *a) {
  if (a->sa.sa_family == AF_INET) return (ntohl(a->in.sin_addr.s_addr) >> 24) == 127;
  if (a->sa.sa_family != AF_INET6) return false;
  const struct in6_addr *x = &a->in6.sin6_addr;
  return IN6_IS_ADDR_LOOPBACK(x) || (IN6_IS_ADDR_V4MAPPED(x) && x->s6_addr[12] == 127);
}

static void fill_settings(const quic_conn *c, ngtcp2_settings *st, ngtcp2_transport_params *p) {
  const quic_ep *ep = c->ep;
  const quic_lim *l = &ep->lim;
  static const ngtcp2_cc_algo cc[] = {NGTCP2_CC_ALGO_CUBIC, NGTCP2_CC_ALGO_BBR, NGTCP2_CC_ALGO_BBR2,
                                      NGTCP2_CC_ALGO_RENO};
  ngtcp2_settings_default(st);
  st->initial_ts = moqc_quic_now();
  st->cc_algo = (unsigned)l->cc < 4 ? cc[l->cc] : NGTCP2_CC_ALGO_CUBIC;
  st->max_tx_udp_payload_size = QUIC_MAX_PKT;
  if (l->loopback_pkt && is_loopback(&c->remote)) {
    /* The path is the loopback device: its MTU is known, so no probing and
     * no 1200-byte start (ngtcp2 0.12's probes stop at 1454 bytes). */
    st->max_tx_udp_payload_size = l->loopback_pkt;
    st->no_tx_udp_payload_size_shaping = 1;
    st->no_pmtud = 1;
  }
  st->max_window = l->max_window;
  st->max_stream_window = l->max_stream_window;
  st->handshake_timeout = l->handshake_timeout_ns;
  if (moqc__log_enabled(&ep->log, MOQC_LOG_TRACE)) st->log_printf = log_cb;
  ngtcp2_transport_params_default(p);
  p->initial_max_streams_bidi = l->max_streams_bidi;
  p->initial_max_streams_uni = l->max_streams_uni;
  p->initial_max_data = l->max_window / 3;
  p->initial_max_stream_data_bidi_local = l->max_stream_window / 4;
  p->initial_max_stream_data_bidi_remote = l->max_stream_window / 4;
  p->initial_max_stream_data_uni = l->max_stream_window / 4;
  p->max_idle_timeout = l->idle_timeout_ns;
  p->max_datagram_frame_size = l->max_datagram_frame;
  p->active_connection_id_limit = 4;
}

/* Common tail of accept/dial: timer, TLS glue, list membership. */
static int conn_setup(quic_conn *c) {
  if (uv_timer_init(c->ep->loop, &c->timer) != 0) return MOQC_ERR_IO;
  c->timer.data = c;
  moqc__quic_set_timer(c, QT_LIVE);
  ngtcp2_conn_set_tls_native_handle(c->nc, c->tls);
  if (c->ep->lim.keep_alive_ns) ngtcp2_conn_set_keep_alive_timeout(c->nc, c->ep->lim.keep_alive_ns);
  moqc_quic_ep_link(c->ep, c);
  return MOQC_OK;
}

/* Undo a half-built connection (never linked, never handed out). */
static void conn_abort_new(quic_conn *c) {
  for (size_t i = 0; i < c->ncids; i++)
    moqc_quic_ep_del_cid(c->ep, c->cids[i].data, c->cids[i].len);
  c->ncids = 0;
  if (c->nc) ngtcp2_conn_del(c->nc);
  c->nc = NULL;
  if (c->tls) gnutls_deinit(c->tls);
  c->tls = NULL;
  assert(c->owner == QO_NONE);
  moqc__quic_set_state(c, QC_DEAD);
  assert(c->timer_st == QT_UNINIT || c->timer_st == QT_CLOSED);
  moqc_quic_conn_free(c);
}

int moqc_quic_conn_accept(quic_ep *ep, const moqc_udp_rx *rx, const uint8_t *p, size_t len,
                          const ngtcp2_cid *odcid, quic_conn **out) {
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, p, len) != 0) return MOQC_ERR_INVAL;
  quic_conn *c = conn_alloc(ep, true);
  if (!c) return MOQC_ERR_NOMEM;
  memcpy(&c->local, &rx->to, sizeof c->local);
  c->local_len = rx->to_len;
  memcpy(&c->remote, &rx->from, sizeof c->remote);
  c->remote_len = rx->from_len;
  moqc_sockaddr_format(&c->remote, c->base.remote, sizeof c->base.remote);
  int rc = moqc_tls_server_session(&c->tls, ep->cert, ep->mtls, &ep->alpn);
  if (rc != MOQC_OK) goto fail;
  if (ep->mtls) { /* the client-certificate check finds c->peer through conn_ref */
    c->peer.log = &ep->log;
    c->peer.remote = c->base.remote;
    c->conn_ref.user_data = &c->peer;
  }
  rc = MOQC_ERR_TLS;
  if (ngtcp2_crypto_gnutls_configure_server_session(c->tls) != 0) goto fail;
  gnutls_session_set_ptr(c->tls, &c->conn_ref);
  ngtcp2_settings st;
  ngtcp2_transport_params tp;
  fill_settings(c, &st, &tp);
  /* Only a token we verified marks the address validated (ngtcp2 then lifts
   * the 3x anti-amplification limit): an unverified one is not passed on. */
  if (odcid) {
    st.token = hd.token;
    tp.original_dcid = *odcid;
    tp.retry_scid = hd.dcid; /* the Retry's source CID, which the client now uses */
    tp.retry_scid_present = 1;
  } else {
    tp.original_dcid = hd.dcid;
  }
  ngtcp2_cid scid;
  scid.datalen = QUIC_SCID_LEN;
  if (gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen) != 0) goto fail;
  ngtcp2_path path = {{&c->local.sa, c->local_len}, {&c->remote.sa, c->remote_len}, NULL};
  rc = MOQC_ERR_NOMEM;
  if (ngtcp2_conn_server_new(&c->nc, &hd.scid, &scid, &path, hd.version, &k_callbacks, &st, &tp,
                             &ep->mem, c) != 0)
    goto fail;
  if (add_cid(c, hd.dcid.data, hd.dcid.datalen) != MOQC_OK ||
      add_cid(c, scid.data, scid.datalen) != MOQC_OK)
    goto fail;
  if ((rc = conn_setup(c)) != MOQC_OK) goto fail;
  *out = c;
  return MOQC_OK;
fail:
  conn_abort_new(c);
  return rc;
}

int moqc_quic_conn_dial(quic_ep *ep, const moqc_sockaddr *remote, socklen_t remote_len,
                        moqc_tls_client *tlsc, const moqc_tls_alpn *alpn, quic_conn **out) {
  quic_conn *c = conn_alloc(ep, false);
  if (!c) {
    moqc_tls_client_free(tlsc);
    moqc_free(tlsc);
    return MOQC_ERR_NOMEM;
  }
  c->tlsc = tlsc;
  c->conn_ref.user_data = tlsc;
  memcpy(&c->local, &ep->udp.local, sizeof c->local);
  c->local_len = ep->udp.local_len;
  memcpy(&c->remote, remote, sizeof c->remote);
  c->remote_len = remote_len;
  moqc_sockaddr_format(&c->remote, c->base.remote, sizeof c->base.remote);
  int rc = moqc_tls_client_session(&c->tls, tlsc, alpn);
  if (rc != MOQC_OK) goto fail;
  rc = MOQC_ERR_TLS;
  if (ngtcp2_crypto_gnutls_configure_client_session(c->tls) != 0) goto fail;
  gnutls_session_set_ptr(c->tls, &c->conn_ref);
  ngtcp2_settings st;
  ngtcp2_transport_params tp;
  fill_settings(c, &st, &tp);
  ngtcp2_cid dcid, scid;
  dcid.datalen = 18;
  scid.datalen = QUIC_SCID_LEN;
  if (gnutls_rnd(GNUTLS_RND_RANDOM, dcid.data, dcid.datalen) != 0 ||
      gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen) != 0)
    goto fail;
  ngtcp2_path path = {{&c->local.sa, c->local_len}, {&c->remote.sa, c->remote_len}, NULL};
  rc = MOQC_ERR_NOMEM;
  if (ngtcp2_conn_client_new(&c->nc, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &k_callbacks, &st,
                             &tp, &ep->mem, c) != 0)
    goto fail;
  if ((rc = conn_setup(c)) != MOQC_OK) goto fail;
  *out = c;
  return MOQC_OK;
fail:
  conn_abort_new(c);
  return rc;
}

/* ---- packets without a connection ------------------------------------------------- */

int moqc_quic_pkt_decode(quic_pkt_info *pi, const uint8_t *p, size_t len) {
  ngtcp2_version_cid vc;
  int rv = ngtcp2_pkt_decode_version_cid(&vc, p, len, QUIC_SCID_LEN);
  if (rv != 0 && rv != NGTCP2_ERR_VERSION_NEGOTIATION) return -1;
  pi->version = vc.version;
  pi->dcid = vc.dcid;
  pi->dcidlen = vc.dcidlen;
  pi->scid = vc.scid;
  pi->scidlen = vc.scidlen;
  return rv == 0 ? 0 : 1;
}

bool moqc_quic_pkt_is_initial(const uint8_t *p, size_t len) {
  ngtcp2_pkt_hd hd;
  return ngtcp2_accept(&hd, p, len) == 0;
}

ssize_t moqc_quic_write_version_neg(uint8_t *dst, size_t cap, const quic_pkt_info *pi) {
  static const uint32_t sv[] = {NGTCP2_PROTO_VER_V1};
  uint8_t r = 0;
  (void)gnutls_rnd(GNUTLS_RND_NONCE, &r, 1);
  return ngtcp2_pkt_write_version_negotiation(dst, cap, r, pi->scid, pi->scidlen, pi->dcid,
                                              pi->dcidlen, sv, 1);
}

ssize_t moqc_quic_write_refused(uint8_t *dst, size_t cap, const uint8_t *p, size_t len) {
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, p, len) != 0) return -1;
  return ngtcp2_crypto_write_connection_close(dst, cap, hd.version, &hd.scid, &hd.dcid,
                                              NGTCP2_CONNECTION_REFUSED, NULL, 0);
}

/* ---- closing ------------------------------------------------------------------------ */

static void arm_close_timer(quic_conn *c) {
  uint64_t ms = 3 * ngtcp2_conn_get_pto(c->nc) / NS_PER_MS + 1;
  c->timer_exp = UINT64_MAX;
  uv_timer_start(&c->timer, on_timer, ms, 0);
}

/* Send the CONNECTION_CLOSE described by ce; enter the closing period. */
static void send_close(quic_conn *c, const ngtcp2_connection_close_error *ce) {
  uint8_t buf[QUIC_MAX_PKT];
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi = {0};
  ngtcp2_ssize n = ngtcp2_conn_write_connection_close(c->nc, &ps.path, &pi, buf, sizeof buf, ce,
                                                      moqc_quic_now());
  moqc__quic_set_state(c, QC_CLOSING);
  if (n > 0) {
    memcpy(&c->local, ps.path.local.addr, ps.path.local.addrlen);
    c->local_len = ps.path.local.addrlen;
    memcpy(&c->remote, ps.path.remote.addr, ps.path.remote.addrlen);
    c->remote_len = ps.path.remote.addrlen;
    moqc_free(c->close_pkt);
    c->close_pkt = moqc_malloc((size_t)n);
    if (c->close_pkt) memcpy(c->close_pkt, buf, (size_t)n);
    c->close_pktlen = (size_t)n;
    c->pkts_sent++;
    c->bytes_sent += (size_t)n;
    (void)moqc_quic_ep_send(c->ep, c, &ps.path, buf, (size_t)n, (size_t)n, pi.ecn);
  }
  arm_close_timer(c);
}

static void resend_close(quic_conn *c) {
  if (!c->close_pkt || c->close_resends >= CLOSE_RESENDS_MAX) return;
  c->close_resends++;
  ngtcp2_path path = {{&c->local.sa, c->local_len}, {&c->remote.sa, c->remote_len}, NULL};
  (void)moqc_quic_ep_send(c->ep, c, &path, c->close_pkt, c->close_pktlen, c->close_pktlen, 0);
}

/* The end of the connection, for whoever waits on it: the dialer (no
 * transport yet) gets err + msg; a handed-out transport gets `closed` with
 * code + reason on the next flush. */
static void report_end2(quic_conn *c, int err, const char *msg, uint64_t code, const char *reason,
                        size_t rlen, bool by_peer) {
  if (moqc__quic_reported(c)) return;
  if (c->dial && !moqc__quic_handed_out(c)) {
    moqc_quic_dial *d = c->dial;
    c->dial = NULL;
    c->busy++;
    moqc_quic_dial_done(d, err, msg, c);
    c->busy--;
    return;
  }
  if (!moqc__quic_handed_out(c)) return;
  set_close_info(c, code, reason, rlen, by_peer);
  moqc__quic_set_report(c, QR_PENDING);
}

static void report_end(quic_conn *c, int err, uint64_t code, const char *reason, bool by_peer) {
  report_end2(c, err, reason, code, reason, strlen(reason), by_peer);
}

/* A client whose handshake failed has nobody to keep state for: drop it now
 * instead of waiting out the closing / draining period. */
static void drop_failed_dial(quic_conn *c) {
  if (!moqc__quic_handed_out(c) && !c->ep->is_server) moqc_quic_conn_kill(c);
}

static void peer_closed(quic_conn *c) {
  ngtcp2_connection_close_error ce;
  ngtcp2_conn_get_connection_close_error(c->nc, &ce);
  const char *r = ce.reason ? (const char *)ce.reason : "";
  int rl = (int)(ce.reasonlen > QUIC_REASON_MAX ? QUIC_REASON_MAX : ce.reasonlen);
  char msg[QUIC_REASON_MAX + 128];
  moqc__quic_set_state(c, QC_DRAINING);
  arm_close_timer(c);
  if (ce.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION) {
    snprintf(msg, sizeof msg, "closed by the peer (code %llu): %.*s",
             (unsigned long long)ce.error_code, rl, r);
    report_end2(c, MOQC_ERR_TRANSPORT, msg, ce.error_code, r, (size_t)rl, true);
    drop_failed_dial(c);
    return;
  }
  int err = MOQC_ERR_TRANSPORT;
  c->base.close_code_local = true; /* MOQC_CODE_TRANSPORT below: ours, not the peer's */
  if ((ce.error_code & ~(uint64_t)0xff) == NGTCP2_CRYPTO_ERROR) {
    uint8_t alert = (uint8_t)(ce.error_code & 0xff);
    err = alert == 120 ? MOQC_ERR_VERSION : MOQC_ERR_TLS;
    if (alert == 120)
      snprintf(msg, sizeof msg, "the peer refused: no application protocol (ALPN) in common");
    else snprintf(msg, sizeof msg, "TLS alert from the peer: %s", moqc_tls_alert_str(alert));
  } else if (ce.error_code == NGTCP2_CONNECTION_REFUSED) {
    snprintf(msg, sizeof msg, "connection refused by the peer%s%.*s", rl ? ": " : "", rl, r);
  } else if (ce.error_code == NGTCP2_NO_ERROR) {
    report_end2(c, err, "closed by the peer", 0, r, (size_t)rl, true);
    drop_failed_dial(c);
    return;
  } else {
    snprintf(msg, sizeof msg, "closed by the peer with QUIC error 0x%llx%s%.*s",
             (unsigned long long)ce.error_code, rl ? ": " : "", rl, r);
  }
  report_end2(c, err, msg, MOQC_CODE_TRANSPORT, msg, strlen(msg), true);
  drop_failed_dial(c);
}

/* ngtcp2 said rv: end the connection accordingly. */
static void conn_fail(quic_conn *c, int rv) {
  char msg[320];
  ngtcp2_connection_close_error ce;
  switch (rv) {
    case NGTCP2_ERR_DRAINING: peer_closed(c); return;
    case NGTCP2_ERR_CLOSING: return;
    case NGTCP2_ERR_IDLE_CLOSE:
      report_end(c, MOQC_ERR_TIMEOUT, MOQC_CODE_TIMEOUT, "idle timeout", false);
      moqc_quic_conn_kill(c);
      return;
    case NGTCP2_ERR_HANDSHAKE_TIMEOUT:
      report_end(c, MOQC_ERR_TIMEOUT, MOQC_CODE_TIMEOUT, "handshake timeout", false);
      moqc_quic_conn_kill(c);
      return;
    case NGTCP2_ERR_DROP_CONN:
    case NGTCP2_ERR_RETRY:
      report_end(c, MOQC_ERR_TRANSPORT, MOQC_CODE_TRANSPORT, "connection dropped", false);
      moqc_quic_conn_kill(c);
      return;
    case NGTCP2_ERR_CRYPTO: {
      uint8_t alert = ngtcp2_conn_get_tls_alert(c->nc);
      if (c->tlsc && c->tlsc->err[0]) snprintf(msg, sizeof msg, "%s", c->tlsc->err);
      else snprintf(msg, sizeof msg, "TLS handshake failed (%s)", moqc_tls_alert_str(alert));
      ngtcp2_connection_close_error_set_transport_error_tls_alert(&ce, alert, NULL, 0);
      send_close(c, &ce);
      report_end(c, MOQC_ERR_TLS, MOQC_CODE_TRANSPORT, msg, false);
      drop_failed_dial(c);
      return;
    }
    default:
      snprintf(msg, sizeof msg, "QUIC error: %s", ngtcp2_strerror(rv));
      ngtcp2_connection_close_error_set_transport_error_liberr(&ce, rv, NULL, 0);
      send_close(c, &ce);
      report_end(c, rv == NGTCP2_ERR_NOMEM ? MOQC_ERR_NOMEM : MOQC_ERR_PROTOCOL,
                 rv <= NGTCP2_ERR_FATAL ? MOQC_CODE_TRANSPORT : MOQC_CODE_PROTOCOL_VIOLATION, msg,
                 false);
      drop_failed_dial(c);
      return;
  }
}

void moqc_quic_conn_shutdown(quic_conn *c, uint64_t code, const char *reason) {
  if (moqc__quic_live(c)) {
    ngtcp2_connection_close_error ce;
    ngtcp2_connection_close_error_set_application_error(&ce, code, (const uint8_t *)reason,
                                                        strlen(reason));
    send_close(c, &ce);
    report_end(c, MOQC_ERR_CLOSED, code, reason, false);
  }
  moqc_quic_conn_kill(c);
}

/* ---- reading ----------------------------------------------------------------------- */

void moqc_quic_conn_read(quic_conn *c, const moqc_udp_rx *rx, const uint8_t *p, size_t len) {
  c->pkts_recv++;
  c->bytes_recv += len;
  if (c->state == QC_CLOSING) {
    resend_close(c);
    return;
  }
  if (!moqc__quic_live(c)) return;
  ngtcp2_path path = {{(ngtcp2_sockaddr *)&rx->to.sa, rx->to_len},
                      {(ngtcp2_sockaddr *)&rx->from.sa, rx->from_len},
                      NULL};
  ngtcp2_pkt_info pi = {rx->ecn};
  c->busy++;
  int rv = ngtcp2_conn_read_pkt(c->nc, &path, &pi, p, len, moqc_quic_now());
  if (rv != 0) conn_fail(c, rv);
  c->busy--;
  moqc_quic_ep_mark_dirty(c->ep, c);
}

/* ---- writing ----------------------------------------------------------------------- */

static void after_serve(quic_conn *c, moqc_qstream *s) {
  if (moqc_qstream_ready(s)) moqc_qsched_rotate(&c->sched, s);
  else moqc_qsched_remove(&c->sched, s);
}

static void peer_stopped(quic_conn *c, moqc_qstream *s) {
  if (moqc__qs_send_gone(s)) return;
  send_side_gone(c, s);
  moqc__qs_set_send(s, QSS_PEER_STOP);
}

/* Datagrams first: returns 1 if the caller should loop, else *n is final. */
static int write_dgram(quic_conn *c, ngtcp2_path *path, ngtcp2_pkt_info *pi, uint8_t *dst,
                       size_t cap, ngtcp2_tstamp ts, ngtcp2_ssize *n) {
  quic_dgram *d = c->dg_head;
  ngtcp2_vec v = {d->data, d->len};
  int accepted = 0;
  *n = ngtcp2_conn_writev_datagram(c->nc, path, pi, dst, cap, &accepted,
                                   NGTCP2_WRITE_DATAGRAM_FLAG_MORE, 0, &v, 1, ts);
  bool drop = *n == NGTCP2_ERR_INVALID_ARGUMENT || *n == NGTCP2_ERR_INVALID_STATE;
  if (accepted || drop) {
    c->dg_head = d->next;
    if (!c->dg_head) c->dg_tail = NULL;
    c->dg_count--;
    moqc_free(d);
  }
  return *n == NGTCP2_ERR_WRITE_MORE || drop;
}

/* At most this many data vectors per ngtcp2_conn_writev_stream call.
 * ngtcp2 0.12.1 stores a STREAM frame's vectors inline in a pooled frame chain
 * when they fit (3 with this version's struct sizes: sizeof(ngtcp2_frame) 88,
 * sizeof(ngtcp2_stream) 48, sizeof(ngtcp2_vec) 16) and mallocs a larger chain
 * otherwise; but it decides how to free a chain from its CURRENT vector count,
 * so a malloc'ed chain that shrank when a lost frame was split for
 * retransmission is pushed into the pool and leaked (upstream issue #1244,
 * fixed in ngtcp2 1.x by PR #1245). Never passing more than 3 vectors keeps
 * every chain in the pool. More frames per packet are still produced through
 * NGTCP2_WRITE_STREAM_FLAG_MORE. */
#define QC_MAX_STREAM_VECS 3

/* Produce one packet into dst (0 = nothing to send / limited, < 0 = error).
 * *ours is set when the packet was started by our stream data or datagram
 * (ngtcp2 said WRITE_MORE) and then closed by this call: ngtcp2 put what it
 * had pending (ACK, control frames, retransmissions) at the start of it. */
static ngtcp2_ssize write_one(quic_conn *c, ngtcp2_path *path, ngtcp2_pkt_info *pi, uint8_t *dst,
                              size_t cap, ngtcp2_tstamp ts, bool *ours) {
  bool app = moqc__quic_open(c);
  *ours = false;
  for (;;) {
    ngtcp2_ssize n;
    if (app && c->dg_head) {
      if (write_dgram(c, path, pi, dst, cap, ts, &n)) {
        *ours = true;
        continue;
      }
      return n;
    }
    moqc_qstream *s = app && !c->conn_blocked ? moqc_qsched_top(&c->sched) : NULL;
    if (!s)
      return ngtcp2_conn_writev_stream(c->nc, path, pi, dst, cap, NULL,
                                       NGTCP2_WRITE_STREAM_FLAG_NONE, -1, NULL, 0, ts);
    moqc_qvec v[QC_MAX_STREAM_VECS];
    uint64_t total;
    size_t nv = moqc_qstream_peek(s, v, QC_MAX_STREAM_VECS, &total);
    bool fin = s->send == QSS_FIN_QUEUED && total == s->end - s->sent;
    uint32_t fl = NGTCP2_WRITE_STREAM_FLAG_MORE | (fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0);
    ngtcp2_ssize nd = -1;
    n = ngtcp2_conn_writev_stream(c->nc, path, pi, dst, cap, &nd, fl, s->id,
                                  (const ngtcp2_vec *)(const void *)v, nv, ts);
    if (nd >= 0) {
      moqc_qstream_consume(s, (uint64_t)nd);
      c->unsent -= (uint64_t)nd;
      if (fin && (uint64_t)nd == total) {
        moqc__qs_set_send(s, QSS_DATA_SENT);
        s->fin_bare = total == 0;
      }
    }
    switch (n) {
      case NGTCP2_ERR_WRITE_MORE:
        *ours = true;
        after_serve(c, s);
        continue;
      case NGTCP2_ERR_STREAM_DATA_BLOCKED:
        if (ngtcp2_conn_get_max_stream_data_left(c->nc, s->id) == 0) {
          s->blocked = true;
          moqc_qsched_remove(&c->sched, s);
        } else {
          c->conn_blocked = true; /* connection-level credit: retry on the next flush */
        }
        continue;
      case NGTCP2_ERR_STREAM_SHUT_WR: peer_stopped(c, s); continue;
      case NGTCP2_ERR_STREAM_NOT_FOUND: moqc_qsched_remove(&c->sched, s); continue;
      default:
        if (n >= 0) after_serve(c, s);
        return n;
    }
  }
}

typedef struct batch {
  size_t off, n, seg;
  unsigned ecn;
  ngtcp2_path_storage ps;
} batch;

static int batch_send(quic_conn *c, batch *b, const uint8_t *buf) {
  if (!b->n) return MOQC_OK;
  c->pkts_sent += b->n;
  c->bytes_sent += b->off;
  if (b->n > 1) c->gso_batches++;
  int rc = moqc_quic_ep_send(c->ep, c, &b->ps.path, buf, b->off, b->seg, b->ecn);
  b->off = b->n = 0;
  return rc;
}

/* No datagram queued and no stream we could serve now (none ready, or the
 * connection is out of flow-control credit). */
static bool nothing_queued(quic_conn *c) {
  return !c->dg_head && (c->conn_blocked || !moqc_qsched_top(&c->sched));
}

/* A packet of ours this much shorter than the path allows had room for
 * everything ngtcp2 had pending (ACK ranges, control frames, pieces of lost
 * STREAM frames, which ngtcp2 splits to fit). */
#define QC_SHORT_PKT_MARGIN 128

/* Whether the packet just written ends the flush without asking ngtcp2 once
 * more: it was ours (stream data / datagram) and short, and we have nothing
 * else to send. The extra ngtcp2_conn_writev_stream call would only run
 * ngtcp2's whole packet-building path to return 0 (about one such call per
 * flush, i.e. per burst of each subscriber). Never after a timer: that is
 * when ngtcp2 may owe PTO probes. */
static bool flush_done(quic_conn *c, bool ours, size_t len, size_t limit) {
  return ours && moqc__quic_open(c) && len + QC_SHORT_PKT_MARGIN <= limit && nothing_queued(c);
}

/* A packet size as it applies now. Until the handshake is confirmed, packets
 * stay at most QUIC_MAX_PKT even to a loopback peer: ngtcp2 pads every client
 * datagram that carries an Initial packet to the whole buffer, and the
 * receiver keeps a decryption buffer as large as the largest packet it has
 * had, for the connection's lifetime (16 KB more per idle session). */
static size_t handshake_cap(const quic_conn *c, size_t n) {
  return c->state != QC_CONFIRMED && n > QUIC_MAX_PKT ? QUIC_MAX_PKT : n;
}

/* Write up to one send quantum of packets, batched for GSO: a batch is a
 * run of equal-size packets on one path with one ECN mark; a shorter packet
 * ends it. */
static void write_pkts(quic_conn *c, bool from_timer) {
  quic_ep *ep = c->ep;
  if (moqc_quic_ep_blocked(ep)) return;
  ngtcp2_tstamp ts = moqc_quic_now();
  size_t maxpl = handshake_cap(c, ngtcp2_conn_get_max_tx_udp_payload_size(c->nc));
  size_t pathpl = handshake_cap(c, ngtcp2_conn_get_path_max_tx_udp_payload_size(c->nc));
  size_t maxpkts = ngtcp2_conn_get_send_quantum(c->nc) / (pathpl ? pathpl : 1);
  if (maxpkts < 1) maxpkts = 1;
  if (maxpkts > QUIC_MAX_PKTS_PER_FLUSH) maxpkts = QUIC_MAX_PKTS_PER_FLUSH;
  size_t limit = pathpl && pathpl < maxpl ? pathpl : maxpl;
  size_t batch_max = ep->udp.gso ? QUIC_GSO_MAX_BYTES / maxpl : 1;
  if (batch_max < 1) batch_max = 1;
  if (batch_max > MOQC_UDP_MAX_GSO_SEGMENTS) batch_max = MOQC_UDP_MAX_GSO_SEGMENTS;
  uint8_t *buf = ep->sendbuf;
  batch b = {0};
  ngtcp2_path_storage_zero(&b.ps);
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi = {0};
  c->conn_blocked = false;
  for (size_t npk = 0; npk < maxpkts; npk++) {
    bool ours;
    ngtcp2_ssize n = write_one(c, &ps.path, &pi, buf + b.off, maxpl, ts, &ours);
    if (n < 0) {
      (void)batch_send(c, &b, buf);
      conn_fail(c, (int)n);
      return;
    }
    if (n == 0) break;
    size_t len = (size_t)n;
    if (b.n && (len > b.seg || pi.ecn != b.ecn || !ngtcp2_path_eq(&b.ps.path, &ps.path))) {
      size_t at = b.off;
      if (batch_send(c, &b, buf) != MOQC_OK) {
        /* Socket full: the new packet is already built; keep it for later. */
        (void)moqc_quic_ep_send(ep, c, &ps.path, buf + at, len, len, pi.ecn);
        break;
      }
      memmove(buf, buf + at, len);
    }
    if (b.n == 0) {
      b.seg = len;
      b.ecn = pi.ecn;
      ngtcp2_path_copy(&b.ps.path, &ps.path);
    }
    b.off += len;
    b.n++;
    if ((len < b.seg || b.n >= batch_max) && batch_send(c, &b, buf) != MOQC_OK) break;
    if (!from_timer && flush_done(c, ours, len, limit)) break;
  }
  (void)batch_send(c, &b, buf);
  /* No pacing during the handshake: before the first RTT sample ngtcp2
   * paces with the 333 ms default RTT, which holds the client's Finished
   * back ~20 ms behind its Initial. The bytes still count at the first
   * update after the handshake. */
  if (moqc__quic_open(c)) ngtcp2_conn_update_pkt_tx_time(c->nc, ts);
}

/* ---- timers, flush ------------------------------------------------------------------ */

static void arm_timer(quic_conn *c) {
  ngtcp2_tstamp exp = ngtcp2_conn_get_expiry(c->nc);
  if (exp == UINT64_MAX) {
    uv_timer_stop(&c->timer);
    return;
  }
  /* Most flushes that send nothing leave the deadline where it was:
   * re-inserting the timer into libuv's heap each time is measurable. */
  if (exp == c->timer_exp && !c->fired_no_progress && uv_is_active((uv_handle_t *)&c->timer))
    return;
  c->timer_exp = exp;
  uint64_t now = moqc_quic_now();
  uint64_t delta = exp > now ? exp - now : 0;
  /* libuv timers have millisecond resolution. ngtcp2 lets a paced packet go
   * up to 1 ms early, so round down; but never spin on a timer that just
   * fired without making progress, nor while the socket is full. */
  uint64_t ms = delta / NS_PER_MS;
  if (ms == 0 && ((delta > 0 && c->fired_no_progress) || moqc_quic_ep_blocked(c->ep))) ms = 1;
  uv_timer_start(&c->timer, on_timer, ms, 0);
}

static void do_local_close(quic_conn *c) {
  assert(c->state == QC_CLOSE_REQ);
  ngtcp2_connection_close_error ce;
  const char *r = c->close_reason ? c->close_reason : "";
  ngtcp2_connection_close_error_set_application_error(&ce, c->close_code, (const uint8_t *)r,
                                                      strlen(r));
  send_close(c, &ce);
  if (moqc__quic_handed_out(c) && c->report == QR_NONE) {
    c->close_by_peer = false;
    moqc__quic_set_report(c, QR_PENDING);
  }
}

static void emit_events(quic_conn *c) {
  if (c->report == QR_PENDING) {
    moqc__quic_set_report(c, QR_DONE);
    EMIT(c, closed, c->close_code, c->close_reason ? c->close_reason : "", c->close_by_peer);
    return;
  }
  if (!moqc__quic_open(c) || c->report == QR_DONE) return;
  if (c->credit_event || (c->acked_since && c->unsent < c->ep->lim.send_lowat)) {
    c->credit_event = false;
    c->acked_since = 0;
    EMIT0(c, writable);
  }
}

/* After a burst that emptied our queues, ngtcp2's deadline is usually the
 * pacing mark of that burst, well under a millisecond away (ngtcp2 lets a
 * packet go up to 1 ms early): armed as a 0 ms timer it costs a loop turn, a
 * timer fire and an empty write pass per burst and connection, only for
 * ngtcp2 to clear the mark. Do what the timer would do right away. Only after
 * a flush that sent something with nothing of ours left queued, so pacing of
 * large bursts (a send quantum per flush) is unchanged. Returns whether it
 * stood in for a timer fire. */
static bool expire_now(quic_conn *c) {
  if (!moqc__quic_open(c) || !nothing_queued(c) || moqc_quic_ep_blocked(c->ep)) return false;
  ngtcp2_tstamp exp = ngtcp2_conn_get_expiry(c->nc);
  ngtcp2_tstamp now = moqc_quic_now();
  if (exp == UINT64_MAX || exp > now + NS_PER_MS) return false;
  int rv = ngtcp2_conn_handle_expiry(c->nc, now);
  if (rv != 0) conn_fail(c, rv);
  else if (exp <= now) write_pkts(c, true); /* something may be due (ACK delay, loss timer...) */
  /* else only the pacing mark was within reach: nothing else is due yet */
  return true;
}

void moqc_quic_conn_flush(quic_conn *c) {
  c->busy++;
  bool from_timer = c->timer_fire;
  c->timer_fire = false;
  uint64_t before = c->pkts_sent;
  if (moqc__quic_live(c)) {
    if (c->state == QC_CLOSE_REQ) {
      do_local_close(c);
    } else {
      write_pkts(c, from_timer);
      uint64_t mid = c->pkts_sent;
      if (!from_timer && mid != before && expire_now(c)) {
        from_timer = true; /* the no-progress rule applies to the inline expiry */
        before = mid;
      }
    }
  }
  if (moqc__quic_live(c)) {
    c->fired_no_progress = from_timer && c->pkts_sent == before;
    arm_timer(c);
  }
  emit_events(c);
  c->busy--;
}

static void on_timer(uv_timer_t *t) {
  quic_conn *c = t->data;
  quic_ep *ep = c->ep;
  ep->busy++;
  c->busy++;
  if (c->state == QC_CLOSING || c->state == QC_DRAINING) {
    moqc_quic_conn_kill(c);
  } else if (moqc__quic_live(c)) {
    int rv = ngtcp2_conn_handle_expiry(c->nc, moqc_quic_now());
    if (rv != 0) conn_fail(c, rv);
    c->timer_fire = true;
    moqc_quic_ep_mark_dirty(ep, c);
  }
  c->busy--;
  ep->busy--;
  moqc_quic_ep_process(ep);
}

/* ---- teardown -------------------------------------------------------------------------- */

static void on_timer_closed(uv_handle_t *h) {
  quic_conn *c = h->data;
  moqc__quic_set_timer(c, QT_CLOSED);
  moqc_quic_conn_maybe_free(c);
}

void moqc_quic_conn_kill(quic_conn *c) {
  if (c->state == QC_DEAD) return;
  moqc__quic_set_state(c, QC_DEAD);
  quic_ep *ep = c->ep;
  if (c->dial) report_end(c, MOQC_ERR_TRANSPORT, MOQC_CODE_TRANSPORT, "connection closed", false);
  for (size_t i = 0; i < c->ncids; i++) moqc_quic_ep_del_cid(ep, c->cids[i].data, c->cids[i].len);
  c->ncids = 0;
  if (c->nc) ngtcp2_conn_del(c->nc);
  c->nc = NULL;
  if (c->tls) gnutls_deinit(c->tls);
  c->tls = NULL;
  moqc_qsched_free(&c->sched);
  moqc_imap_it it;
  void *s;
  moqc__imap_it_init(&c->streams, &it);
  while (moqc__imap_next(&c->streams, &it, NULL, &s)) moqc_qstream_free(s);
  moqc__imap_free(&c->streams);
  while (c->dg_head) {
    quic_dgram *d = c->dg_head;
    c->dg_head = d->next;
    moqc_free(d);
  }
  c->dg_tail = NULL;
  c->dg_count = 0;
  c->unsent = c->unacked = 0;
  if (c->timer_st == QT_LIVE) {
    uv_timer_stop(&c->timer);
    moqc__quic_set_timer(c, QT_CLOSING);
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
  }
  moqc_quic_ep_unlink(ep, c);
  moqc_quic_ep_mark_dirty(ep, c);
  moqc_quic_ep_conn_dead(ep, c);
}

bool moqc_quic_conn_maybe_free(quic_conn *c) {
  bool timer_gone = c->timer_st == QT_UNINIT || c->timer_st == QT_CLOSED;
  if (c->state != QC_DEAD || moqc__quic_owned(c) || !timer_gone || c->busy || c->dirty_flag)
    return false;
  moqc_quic_conn_free(c);
  return true;
}

void moqc_quic_conn_free(quic_conn *c) {
  quic_ep *ep = c->ep;
  if (c->tlsc) {
    moqc_tls_client_free(c->tlsc);
    moqc_free(c->tlsc);
  }
  c->base.peer_cert = NULL;
  moqc_tls_peer_free(&c->peer);
  moqc_free(c->close_reason);
  moqc_free(c->close_pkt);
  moqc_free(c->cids);
  moqc_free(c);
  moqc_quic_ep_unref(ep);
}

/* ---- stream and connection operations (called by quic_ops.c) --------------------------- */

int moqc_quic_conn_open_stream(quic_conn *c, bool bidi, int64_t *id) {
  moqc_qstream *s = moqc_qstream_new(-1, QS_SEND | (bidi ? QS_RECV : 0));
  if (!s) return MOQC_ERR_NOMEM;
  int rv =
      bidi ? ngtcp2_conn_open_bidi_stream(c->nc, id, s) : ngtcp2_conn_open_uni_stream(c->nc, id, s);
  if (rv != 0) {
    moqc_qstream_free(s);
    if (rv != NGTCP2_ERR_STREAM_ID_BLOCKED) return MOQC_ERR_NOMEM;
    c->credit_wanted = true;
    return MOQC_ERR_AGAIN;
  }
  s->id = *id;
  if (moqc__imap_insert(&c->streams, (uint64_t)*id, s) != MOQC_OK) {
    (void)ngtcp2_conn_set_stream_user_data(c->nc, *id, NULL);
    (void)ngtcp2_conn_shutdown_stream(c->nc, *id, 0);
    moqc_qstream_free(s);
    return MOQC_ERR_NOMEM;
  }
  return MOQC_OK;
}

int moqc_quic_conn_reset_stream(quic_conn *c, moqc_qstream *s, uint64_t code) {
  if (s->send == QSS_NONE) return MOQC_ERR_INVAL;
  /* Already gone, or finished and acknowledged: nothing left to abandon. */
  if (moqc__qs_send_gone(s) || s->send == QSS_DATA_RECVD) return MOQC_OK;
  int rv = ngtcp2_conn_shutdown_stream_write(c->nc, s->id, code);
  if (rv != 0) return rv == NGTCP2_ERR_NOMEM ? MOQC_ERR_NOMEM : MOQC_ERR_INVAL;
  /* Unsent bytes go now. Bytes already handed to ngtcp2 stay referenced
   * until the stream closes: 0.12 may still retransmit a lost frame of a
   * reset stream from that memory. */
  send_side_gone(c, s);
  moqc__qs_set_send(s, QSS_RESET_SENT);
  return MOQC_OK;
}

int moqc_quic_conn_stop_stream(quic_conn *c, moqc_qstream *s, uint64_t code) {
  if (s->recv == QSR_NONE) return MOQC_ERR_INVAL;
  if (s->recv != QSR_RECV) return MOQC_OK; /* stopped, finished or reset already */
  int rv = ngtcp2_conn_shutdown_stream_read(c->nc, s->id, code);
  if (rv != 0) return rv == NGTCP2_ERR_NOMEM ? MOQC_ERR_NOMEM : MOQC_ERR_INVAL;
  moqc__qs_set_recv(s, QSR_STOPPED);
  return MOQC_OK;
}

size_t moqc_quic_conn_max_datagram(quic_conn *c) {
  if (!moqc__quic_open(c) || c->ep->lim.max_datagram_frame == 0) return 0;
  const ngtcp2_transport_params *rp = ngtcp2_conn_get_remote_transport_params(c->nc);
  if (!rp || rp->max_datagram_frame_size < 4) return 0;
  /* short header + packet number + AEAD tag, then the frame type + length */
  size_t overhead = 1 + ngtcp2_conn_get_dcid(c->nc)->datalen + 4 + 16 + 1 + 2;
  size_t path = handshake_cap(c, ngtcp2_conn_get_path_max_tx_udp_payload_size(c->nc));
  size_t m = path > overhead ? path - overhead : 0;
  uint64_t peer = rp->max_datagram_frame_size - 3;
  return peer < m ? (size_t)peer : m;
}

void moqc_quic_conn_stats(quic_conn *c, uint64_t *rtt_ns, uint64_t *rate_bps) {
  ngtcp2_conn_stat st;
  if (!c->nc) {
    *rtt_ns = *rate_bps = 0;
    return;
  }
  ngtcp2_conn_get_conn_stat(c->nc, &st);
  *rtt_ns = st.smoothed_rtt;
  *rate_bps = st.delivery_rate_sec * 8;
}

void moqc_quic_conn_get_info(quic_conn *c, moqc_quic_conn_info *info) {
  memset(info, 0, sizeof *info);
  if (c->nc) {
    ngtcp2_conn_stat st;
    ngtcp2_conn_get_conn_stat(c->nc, &st);
    info->rtt_ns = st.smoothed_rtt;
    info->min_rtt_ns = st.min_rtt == UINT64_MAX ? 0 : st.min_rtt;
    info->cwnd = st.cwnd;
    info->bytes_in_flight = st.bytes_in_flight;
  }
  info->pkts_sent = c->pkts_sent;
  info->pkts_recv = c->pkts_recv;
  info->bytes_sent = c->bytes_sent;
  info->bytes_recv = c->bytes_recv;
  info->gso_batches = c->gso_batches;
  info->gso = c->ep->udp.gso;
  info->gro = c->ep->udp.gro;
  snprintf(info->cc, sizeof info->cc, "%s", moqc_quic_cc_str(c->ep->lim.cc));
}
