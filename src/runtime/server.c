/* moqc_server: one UDP port, raw QUIC + WebTransport, a moq-lite session per
 * client, and the application deciding on each request. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "moqc/endpoint.h"
#include "moqc/error.h"
#include "moqc/webtransport.h"
#include "runtime/server_int.h"

typedef struct srv_conn srv_conn;
struct srv_conn {
  moqc_server *srv;
  moqc_session *session;
  moqc_server_request req;
  char protocol[32];
  char path[2048];
  char remote[sizeof(((moqc_transport *)0)->remote)]; /* the transport's peer address */
  moqc_peer_cert *peer_cert; /* copy of the transport's verified client certificate */
  bool webtransport;
  bool websocket;
  void *ud;         /* moqc_server_accept_ud's user data */
  bool requested;   /* its MoQ setup completed (on_request ran) */
  uint64_t born_ms; /* uv_now when the transport was handed to us */
  srv_conn *prev, *next;
};

struct moqc_server {
  moqc_server_config cfg;
  const char **versions; /* copied */
  moqc_quic_server *quic;
  srv_conn *conns;
  size_t n_conns;
  uv_timer_t *setup_timer; /* closes sessions that do not finish their setup */
  uint64_t setup_timeout_ms;
};

static void conn_free(srv_conn *c) {
  moqc_free(c->peer_cert);
  moqc_free(c);
}

static void link_conn(moqc_server *s, srv_conn *c) {
  c->next = s->conns;
  if (s->conns) s->conns->prev = c;
  s->conns = c;
  s->n_conns++;
}

static void unlink_conn(moqc_server *s, srv_conn *c) {
  if (c->prev) c->prev->next = c->next;
  else s->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  s->n_conns--;
}

static void sess_on_request(void *ctx, moqc_session *sess, const moqc_session_request *r) {
  srv_conn *c = ctx;
  c->session = sess;
  c->requested = true;
  snprintf(c->path, sizeof c->path, "%s", r->path ? r->path : "");
  c->req = (moqc_server_request){
      .session = sess,
      .version = r->version,
      .protocol = c->protocol,
      .webtransport = c->webtransport,
      .websocket = c->websocket,
      .path = c->path,
      .role = r->role,
      .peer_origin = r->peer_origin,
      .remote = c->remote,
      .auth_token = r->auth_token,
      .authority = r->authority,
      .implementation = r->implementation,
      .peer_cert = c->peer_cert,
  };
  c->srv->cfg.on_request(c->srv->cfg.ctx, &c->req);
}

static void sess_on_closed(void *ctx, moqc_session *sess, uint64_t code, const char *reason,
                           bool by_peer) {
  srv_conn *c = ctx;
  moqc_server *s = c->srv;
  if (s->cfg.on_closed) s->cfg.on_closed(s->cfg.ctx, sess, c->ud, code, reason, by_peer);
  c->ud = NULL; /* the application may have freed it */
  unlink_conn(s, c);
  moqc_session_del(sess); /* deferred by the session until this callback returns */
  conn_free(c);
}

static void sess_on_debug(void *ctx, moqc_session *sess, const char *msg) {
  srv_conn *c = ctx;
  if (c->srv->cfg.on_debug) c->srv->cfg.on_debug(c->srv->cfg.ctx, sess, c->ud, msg);
}

/* Bind a moq-lite session to an established transport (raw QUIC or WT). */
static void start_session(moqc_server *s, moqc_transport *t) {
  srv_conn *c = moqc_calloc(1, sizeof *c);
  if (!c) {
    t->ops->close(t, MOQC_CODE_TRANSPORT, "out of memory");
    t->ops->release(t);
    return;
  }
  c->srv = s;
  c->born_ms = uv_now(moqc_uv_loop(s->cfg.uv));
  c->webtransport = t->webtransport;
  c->websocket = t->websocket;
  snprintf(c->protocol, sizeof c->protocol, "%s", t->protocol);
  memcpy(c->remote, t->remote, sizeof c->remote);
  c->remote[sizeof c->remote - 1] = 0;
  if (t->peer_cert) {
    if (!(c->peer_cert = moqc_malloc(sizeof *c->peer_cert))) {
      conn_free(c);
      t->ops->close(t, MOQC_CODE_TRANSPORT, "out of memory");
      t->ops->release(t);
      return;
    }
    *c->peer_cert = *t->peer_cert;
    c->peer_cert->subject[sizeof c->peer_cert->subject - 1] = 0;
  }
  link_conn(s, c);
  moqc_session_config sc = {
      .env = moqc_uv_env(s->cfg.uv),
      .is_server = true,
      .origin_id = s->cfg.origin_id,
      .limits = s->cfg.session_limits,
      .ctx = c,
      .on_request = sess_on_request,
      .on_closed = sess_on_closed,
      .on_debug = s->cfg.on_debug ? sess_on_debug : NULL,
  };
  /* No callback (on_closed included) runs from inside moqc_session_new. */
  moqc_session *sess = moqc_session_new(t, &sc);
  if (!sess) {
    unlink_conn(s, c);
    conn_free(c);
    t->ops->close(t, MOQC_CODE_VERSION, "unsupported protocol");
    t->ops->release(t);
    return;
  }
  c->session = sess;
}

void moqc__server_start_session(moqc_server *s, moqc_transport *t) { start_session(s, t); }

const char *const *moqc__server_versions(const moqc_server *s, size_t *n) {
  *n = s->cfg.n_versions;
  return s->versions;
}

uint16_t moqc__server_on_connect(moqc_server *s, const moqc_server_connect *req) {
  return s->cfg.on_connect ? s->cfg.on_connect(s->cfg.ctx, req) : 200;
}

moqc_clock *moqc__server_clock(moqc_server *s) { return moqc_env_clock(moqc_uv_env(s->cfg.uv)); }

static uint16_t wt_on_request(void *ctx, const moqc_wt_request *req, const char **protocol) {
  moqc_server *s = ctx;
  moqc_server_connect sc = {.path = req->path,
                            .transport = "WebTransport",
                            .remote = req->remote ? req->remote : "",
                            .peer_cert = req->peer_cert};
  uint16_t st = moqc__server_on_connect(s, &sc);
  if (st != 200) return st;
  if (!*protocol) {
    /* No version in common: as moq-dev, answer without wt-protocol when we
     * speak `moql`, and the client falls back to its in-band SETUP (draft-14
     * for us); else refuse. */
    for (size_t i = 0; i < s->cfg.n_versions; i++)
      if (strcmp(s->versions[i], "moql") == 0) return 200;
    return 400;
  }
  return 200;
}

static void wt_on_session(void *ctx, moqc_transport *t) { start_session(ctx, t); }

static void quic_on_connection(void *ctx, moqc_transport *conn) {
  moqc_server *s = ctx;
  if (strcmp(conn->protocol, "h3") == 0) {
    moqc_wt_server_config wc = {
        .protocols = s->versions,
        .n_protocols = s->cfg.n_versions,
        .on_request = wt_on_request,
        .on_session = wt_on_session,
        .ctx = s,
        .clock = moqc_env_clock(moqc_uv_env(s->cfg.uv)),
    };
    if (moqc_wt_server_attach(conn, &wc) != MOQC_OK) {
      conn->ops->close(conn, MOQC_CODE_TRANSPORT, "webtransport setup failed");
      conn->ops->release(conn);
    }
    return;
  }
  if (!moqc_version_supported(conn->protocol)) {
    conn->ops->close(conn, MOQC_CODE_UNKNOWN_ALPN, "unsupported ALPN");
    conn->ops->release(conn);
    return;
  }
  start_session(s, conn);
}

/* Once a second: close every session whose MoQ setup has not completed within
 * setup_timeout_ms of its transport (a client that completes the QUIC
 * handshake and then says nothing, or too little, holds no slot for long). */
static void on_setup_sweep(uv_timer_t *t) {
  moqc_server *s = t->data;
  uint64_t now = uv_now(moqc_uv_loop(s->cfg.uv));
  srv_conn *c = s->conns;
  while (c) {
    srv_conn *next = c->next; /* closing may free c */
    if (!c->requested && c->session && now - c->born_ms >= s->setup_timeout_ms)
      moqc_session_close(c->session, MOQC_CODE_TIMEOUT, "setup timeout");
    c = next;
  }
}

static void setup_timer_closed(uv_handle_t *h) { moqc_free(h); }

int moqc_server_new(const moqc_server_config *cfg, moqc_server **out, char *msg, size_t msg_cap) {
  if (msg && msg_cap) msg[0] = 0;
  if (!cfg || !out || !cfg->uv || !cfg->cert || !cfg->on_request) return MOQC_ERR_INVAL;
  moqc_server *s = moqc_calloc(1, sizeof *s);
  if (!s) return MOQC_ERR_NOMEM;
  s->cfg = *cfg;
  const char *const *vers = cfg->versions;
  size_t nv = cfg->n_versions;
  if (!vers || !nv) vers = moqc_default_versions(&nv);
  s->versions = moqc_calloc(nv, sizeof *s->versions);
  if (!s->versions) {
    moqc_free(s);
    return MOQC_ERR_NOMEM;
  }
  for (size_t i = 0; i < nv; i++) {
    if (!moqc_version_supported(vers[i])) {
      if (msg) snprintf(msg, msg_cap, "unsupported version '%s'", vers[i]);
      moqc_free(s->versions);
      moqc_free(s);
      return MOQC_ERR_INVAL;
    }
    s->versions[i] = vers[i]; /* static strings from moqc_default_versions or caller */
  }
  s->cfg.versions = s->versions;
  s->cfg.n_versions = nv;
  /* ALPNs: the moq-lite versions for raw QUIC, plus h3 for WebTransport. */
  const char *alpn[16]; /* MOQC_TLS_MAX_ALPN (quic/tls.h) */
  size_t na = 0;
  for (size_t i = 0; i < nv && na < 15; i++) alpn[na++] = s->versions[i];
  alpn[na++] = "h3";
  moqc_quic_server_config qc = {
      .host = cfg->host,
      .port = cfg->port,
      .alpn = alpn,
      .alpn_count = na,
      .cert = cfg->cert,
      .client_ca_files = cfg->client_ca_files,
      .n_client_ca_files = cfg->n_client_ca_files,
      .limits = cfg->limits,
      .on_connection = quic_on_connection,
      .ctx = s,
      .log = cfg->log,
  };
  int rv = moqc_quic_server_new(moqc_uv_loop(cfg->uv), &qc, &s->quic);
  if (rv != MOQC_OK) {
    if (msg && rv == MOQC_ERR_TLS)
      snprintf(msg, msg_cap,
               "cannot read the trusted client roots (a file is unreadable or "
               "holds no certificate)");
    else if (msg)
      snprintf(msg, msg_cap, "cannot listen on UDP %s port %u: %s",
               cfg->host ? cfg->host : "::", cfg->port, moqc_err_str(rv));
    moqc_free(s->versions);
    moqc_free(s);
    return rv;
  }
  s->setup_timeout_ms = cfg->setup_timeout_ms ? cfg->setup_timeout_ms : 10000;
  s->setup_timer = moqc_calloc(1, sizeof *s->setup_timer);
  if (s->setup_timer) { /* out of memory: no setup deadline (the idle timeout still applies) */
    uv_timer_init(moqc_uv_loop(cfg->uv), s->setup_timer);
    s->setup_timer->data = s;
    uint64_t every = s->setup_timeout_ms < 1000 ? s->setup_timeout_ms : 1000;
    uv_timer_start(s->setup_timer, on_setup_sweep, every, every);
    uv_unref((uv_handle_t *)s->setup_timer);
  }
  *out = s;
  return MOQC_OK;
}

uint16_t moqc_server_port(const moqc_server *s) { return moqc_quic_server_port(s->quic); }
const moqc_quic_server *moqc_server_quic(const moqc_server *s) { return s->quic; }
size_t moqc_server_sessions(const moqc_server *s) { return s->n_conns; }

static srv_conn *conn_of(moqc_server_request *req) {
  return (srv_conn *)((char *)req - offsetof(srv_conn, req));
}

int moqc_server_accept(moqc_server_request *req, moqc_origin *publish, moqc_origin *subscribe) {
  return moqc_server_accept_ud(req, publish, subscribe, NULL);
}

int moqc_server_accept_ud(moqc_server_request *req, moqc_origin *publish, moqc_origin *subscribe,
                          void *session_ud) {
  if (!req) return MOQC_ERR_INVAL;
  srv_conn *c = conn_of(req);
  assert(c->session == req->session);
  c->ud = session_ud; /* before accepting: a callback from inside may want it */
  int rv = moqc_session_accept(c->session, publish, subscribe);
  if (rv != MOQC_OK) c->ud = NULL;
  return rv;
}

void *moqc_server_session_ud(const moqc_server *srv, const moqc_session *s) {
  if (!srv || !s) return NULL;
  for (const srv_conn *c = srv->conns; c; c = c->next)
    if (c->session == s) return c->ud;
  return NULL;
}

int moqc_server_reject(moqc_server_request *req, uint64_t code, const char *reason) {
  if (!req) return MOQC_ERR_INVAL;
  return moqc_session_reject(conn_of(req)->session, code, reason);
}

void moqc_server_close_all(moqc_server *s, uint64_t code, const char *reason) {
  srv_conn *c = s->conns;
  while (c) {
    srv_conn *next = c->next; /* on_closed may free c */
    if (c->session) moqc_session_close(c->session, code, reason);
    c = next;
  }
}

void moqc_server_del(moqc_server *s) {
  if (!s) return;
  if (s->setup_timer) uv_close((uv_handle_t *)s->setup_timer, setup_timer_closed);
  s->setup_timer = NULL;
  while (s->conns) {
    srv_conn *c = s->conns;
    unlink_conn(s, c);
    moqc_session_del(c->session);
    conn_free(c);
  }
  moqc_quic_server_del(s->quic);
  moqc_free(s->versions);
  moqc_free(s);
}
