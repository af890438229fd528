/* moqc_client: URL -> [certificate bootstrap] -> QUIC -> [WebTransport] ->
 * moq-lite session; ws:// and wss:// URLs: [TLS ->] WebSocket handshake ->
 * QMux -> session. https:// and http:// race the two, as moq-dev's clients
 * do: WebSocket (wss:// / ws:// on the same host and port) starts after a
 * head start (websocket_delay_ms, at once when the QUIC path has failed), and
 * the first transport up wins; the other attempt is cancelled, or closed with
 * Cancel if it comes up later. Every asynchronous step may outlive a
 * moqc_client_del: the client then lingers as a zombie until the step reports
 * back. */
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "moqc/endpoint.h"
#include "moqc/error.h"
#include "moqc/http.h"
#include "moqc/webtransport.h"
#include "runtime/ws_int.h"

enum { ST_BOOTSTRAP = 1, ST_DIAL, ST_WT, ST_WS, ST_UP, ST_FAILED };

struct moqc_client {
  moqc_client_config cfg;
  moqc_url url;
  int state;
  bool deleted; /* moqc_client_del was called */
  int pending;  /* async steps that will still call back */
  const char **versions;
  char *auth_token; /* cfg.auth_token, owned */
  char pin[80];
  char authority[300];
  moqc_quic_dial *dial;
  moqc__ws_dial *wsdial; /* ws:// handshake in progress */
  bool over_ws;          /* the session runs over QMux/WebSocket */
  moqc_session *session;
  uv_timer_t timer;
  bool timer_live;
  /* the https:// / http:// race */
  bool race;                 /* both paths may run */
  bool quic_alive, ws_alive; /* that path has not failed (yet) */
  uv_timer_t wstimer;        /* the WebSocket's head start */
  bool wstimer_live, wstimer_armed;
  char race_err[512]; /* the first path's failure, reported if both fail */
};

static void client_free_if_done(moqc_client *c);

static void on_timer_closed(uv_handle_t *h) {
  moqc_client *c = h->data;
  if (h == (uv_handle_t *)&c->wstimer) c->wstimer_live = false;
  else c->timer_live = false;
  client_free_if_done(c);
}

static void client_free_if_done(moqc_client *c) {
  if (!c->deleted || c->pending > 0) return;
  if (c->timer_live || c->wstimer_live) {
    if (c->timer_live && !uv_is_closing((uv_handle_t *)&c->timer))
      uv_close((uv_handle_t *)&c->timer, on_timer_closed);
    if (c->wstimer_live && !uv_is_closing((uv_handle_t *)&c->wstimer))
      uv_close((uv_handle_t *)&c->wstimer, on_timer_closed);
    return;
  }
  moqc_free(c->versions);
  moqc_free(c->auth_token);
  moqc_free(c);
}

static void report(moqc_client *c, int err, const char *msg) {
  if (c->state == ST_UP || c->state == ST_FAILED) return;
  c->state = err == MOQC_OK ? ST_UP : ST_FAILED;
  if (c->timer_live) uv_timer_stop(&c->timer);
  if (!c->deleted) c->cfg.on_connected(c->cfg.ctx, c, err, msg);
}

/* Report a failure: "<what>: <detail>". */
static void fail(moqc_client *c, int err, const char *what, const char *detail) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s: %s", what, detail ? detail : "");
  report(c, err, msg);
}

static int dial_ws(moqc_client *c, char *err, size_t err_cap);

/* The WebSocket attempt of a race starts now. */
static void race_start_ws(moqc_client *c) {
  if (!c->wstimer_armed) return;
  c->wstimer_armed = false;
  uv_timer_stop(&c->wstimer);
  if (c->deleted || c->state == ST_UP || c->state == ST_FAILED) return;
  char err[256] = "";
  int rv = dial_ws(c, err, sizeof err);
  if (rv != MOQC_OK) {
    c->ws_alive = false;
    if (!c->quic_alive) fail(c, rv, "WebSocket connection failed", err[0] ? err : moqc_err_str(rv));
  }
}

static void on_wstimer(uv_timer_t *t) { race_start_ws(t->data); }

/* One path failed: in a race, the other one may still win. */
static void path_fail(moqc_client *c, bool ws, int err, const char *what, const char *detail) {
  if (!c->race) {
    fail(c, err, what, detail);
    return;
  }
  bool *alive = ws ? &c->ws_alive : &c->quic_alive;
  bool other = ws ? c->quic_alive : c->ws_alive;
  *alive = false;
  char msg[512];
  snprintf(msg, sizeof msg, "%s: %s", what, detail ? detail : "");
  if (other) {
    snprintf(c->race_err, sizeof c->race_err, "%s", msg);
    if (!ws) race_start_ws(c); /* QUIC is out: no reason to wait */
    return;
  }
  char both[1100];
  snprintf(both, sizeof both, "%s; %s", c->race_err[0] ? c->race_err : "", msg);
  report(c, err, c->race_err[0] ? both : msg);
}

static void cancel_ws(moqc_client *c);

/* The winner is up: the other attempt stops. */
static void race_over(moqc_client *c) {
  if (c->wstimer_armed) {
    c->wstimer_armed = false;
    uv_timer_stop(&c->wstimer);
  }
  cancel_ws(c);
  if (c->dial) {
    moqc_quic_dial_cancel(c->dial);
    c->dial = NULL;
    c->pending--;
  }
}

static void on_session_closed(void *ctx, moqc_session *s, uint64_t code, const char *reason,
                              bool by_peer) {
  moqc_client *c = ctx;
  if (c->state != ST_UP) {
    char msg[300];
    snprintf(msg, sizeof msg, "session closed during setup: %s (code %llu)",
             reason && *reason ? reason : moqc_close_code_str(moqc_session_version(s), code),
             (unsigned long long)code);
    report(c, MOQC_ERR_CLOSED, msg);
    return;
  }
  if (!c->deleted && c->cfg.on_closed) c->cfg.on_closed(c->cfg.ctx, c, code, reason, by_peer);
}

static void start_session(moqc_client *c, moqc_transport *t) {
  if (c->deleted || c->state == ST_FAILED || c->session) { /* gone, or lost the race */
    t->ops->close(t, MOQC_CODE_CANCEL, "cancelled");
    t->ops->release(t);
    return;
  }
  moqc_session_config sc = {
      .env = moqc_uv_env(c->cfg.uv),
      .is_server = false,
      .origin_id = c->cfg.origin_id,
      /* WebTransport and WebSocket carry the path in their request. */
      .path = t->webtransport || c->over_ws ? NULL : c->url.path,
      .auth_token = c->auth_token,
      .limits = c->cfg.session_limits,
      .ctx = c,
      .on_closed = on_session_closed,
  };
  race_over(c);
  c->session = moqc_session_new(t, &sc);
  if (!c->session) {
    t->ops->close(t, MOQC_CODE_VERSION, "unsupported protocol");
    t->ops->release(t);
    fail(c, MOQC_ERR_VERSION, "server chose an unsupported protocol", t->protocol);
    return;
  }
  int rv = moqc_session_start(c->session, c->cfg.publish, c->cfg.subscribe);
  if (rv != MOQC_OK) {
    fail(c, rv, "session start failed", moqc_err_str(rv));
    return;
  }
  report(c, MOQC_OK, "connected");
}

static void on_wt(void *ctx, moqc_transport *session, int err, uint16_t status) {
  moqc_client *c = ctx;
  c->pending--;
  if (err != MOQC_OK) {
    char st[64];
    if (status) snprintf(st, sizeof st, "%s (HTTP status %u)", moqc_err_str(err), status);
    else snprintf(st, sizeof st, "%s before any response", moqc_err_str(err));
    /* status 0: the connection went first (e.g. the server's TLS refused
     * our client certificate after the handshake completed on our side) */
    path_fail(c, false, err,
              status ? "WebTransport CONNECT refused" : "WebTransport CONNECT failed", st);
  } else {
    start_session(c, session);
  }
  client_free_if_done(c);
}

static void on_quic(void *ctx, int err, const char *msg, moqc_transport *conn) {
  moqc_client *c = ctx;
  c->pending--;
  c->dial = NULL;
  if (err != MOQC_OK) {
    path_fail(c, false, err, "connection failed", msg ? msg : moqc_err_str(err));
  } else if (c->deleted || c->state == ST_FAILED || c->session) {
    conn->ops->close(conn, MOQC_CODE_CANCEL, "cancelled");
    conn->ops->release(conn);
  } else if (c->url.kind == MOQC_URL_QUIC) {
    start_session(c, conn);
  } else {
    c->state = ST_WT;
    moqc_wt_client_config wc = {
        .authority = c->authority,
        .path = c->url.path,
        .protocols = c->versions,
        .n_protocols = c->cfg.n_versions,
        .cb = on_wt,
        .ctx = c,
    };
    c->pending++;
    int rv = moqc_wt_client_connect(conn, &wc);
    if (rv != MOQC_OK) {
      c->pending--;
      conn->ops->close(conn, MOQC_CODE_TRANSPORT, "webtransport setup failed");
      conn->ops->release(conn);
      path_fail(c, false, rv, "WebTransport setup failed", moqc_err_str(rv));
    }
  }
  client_free_if_done(c);
}

static int dial(moqc_client *c) {
  c->state = ST_DIAL;
  static const char *const h3[] = {"h3"};
  moqc_quic_client_config qc = {
      .host = c->url.host,
      .port = c->url.port,
      .alpn = c->url.kind == MOQC_URL_QUIC ? c->versions : h3,
      .alpn_count = c->url.kind == MOQC_URL_QUIC ? c->cfg.n_versions : 1,
      .tls = c->cfg.tls,
      .limits = c->cfg.limits,
      .log = c->cfg.log,
  };
  if (c->pin[0]) qc.tls.pin_sha256 = c->pin;
  c->pending++;
  int rv = moqc_quic_connect(moqc_uv_loop(c->cfg.uv), &qc, on_quic, c, &c->dial);
  if (rv != MOQC_OK) c->pending--;
  return rv;
}

static void on_cert(void *ctx, int err, const char *hex, const uint8_t *sha256) {
  (void)sha256;
  moqc_client *c = ctx;
  c->pending--;
  if (c->deleted || c->state == ST_FAILED || c->session) {
    client_free_if_done(c);
    return;
  }
  if (err != MOQC_OK) {
    char d[300];
    snprintf(d, sizeof d, "http://%s:%u/certificate.sha256: %s", c->url.host, c->url.port,
             moqc_err_str(err));
    path_fail(c, false, err, "certificate bootstrap failed", d);
  } else {
    snprintf(c->pin, sizeof c->pin, "%s", hex);
    int rv = dial(c);
    if (rv != MOQC_OK) path_fail(c, false, rv, "cannot connect", moqc_err_str(rv));
  }
  client_free_if_done(c);
}

static void on_ws(void *ctx, int err, const char *msg, moqc_transport *t) {
  moqc_client *c = ctx;
  c->pending--;
  c->wsdial = NULL;
  if (err != MOQC_OK) {
    path_fail(c, true, err, "WebSocket connection failed", msg);
  } else {
    if (!c->session) c->over_ws = true;
    start_session(c, t);
  }
  client_free_if_done(c);
}

/* ws:// and http:// go plain, wss:// and https:// over TLS verified as QUIC. */
static int dial_ws(moqc_client *c, char *err, size_t err_cap) {
  if (!c->race) c->state = ST_WS;
  bool tls = c->url.kind == MOQC_URL_WEBSOCKET_TLS || c->url.kind == MOQC_URL_WEBTRANSPORT;
  c->pending++;
  int rv = moqc__ws_dial_start(
      moqc_uv_loop(c->cfg.uv), moqc_env_clock(moqc_uv_env(c->cfg.uv)), c->url.host, c->url.port,
      tls ? &c->cfg.tls : NULL, c->url.path, c->versions, c->cfg.n_versions,
      c->cfg.timeout_ms ? c->cfg.timeout_ms : 10000, on_ws, c, &c->wsdial, err, err_cap);
  if (rv != MOQC_OK) c->pending--;
  return rv;
}

static void cancel_ws(moqc_client *c) {
  if (!c->wsdial) return;
  moqc__ws_dial_cancel(c->wsdial);
  c->wsdial = NULL;
  c->pending--;
}

static void on_timeout(uv_timer_t *t) {
  moqc_client *c = t->data;
  if (c->wstimer_armed) {
    c->wstimer_armed = false;
    uv_timer_stop(&c->wstimer);
  }
  cancel_ws(c);
  if (c->dial) {
    moqc_quic_dial_cancel(c->dial);
    c->dial = NULL;
    c->pending--;
  }
  char d[32];
  snprintf(d, sizeof d, "after %llu ms",
           (unsigned long long)(c->cfg.timeout_ms ? c->cfg.timeout_ms : 10000));
  fail(c, MOQC_ERR_TIMEOUT, "connect timed out", d);
  client_free_if_done(c);
}

int moqc_client_connect(const moqc_client_config *cfg, moqc_client **out, char *msg,
                        size_t msg_cap) {
  if (msg && msg_cap) msg[0] = 0;
  if (!cfg || !out || !cfg->uv || !cfg->url || !cfg->on_connected) return MOQC_ERR_INVAL;
  moqc_client *c = moqc_calloc(1, sizeof *c);
  if (!c) return MOQC_ERR_NOMEM;
  c->cfg = *cfg;
  int rv = moqc_url_parse(cfg->url, &c->url, msg, msg_cap);
  if (rv == MOQC_OK && cfg->auth_token && !(c->auth_token = moqc_strdup(cfg->auth_token)))
    rv = MOQC_ERR_NOMEM;
  c->cfg.auth_token = c->auth_token;
  const char *const *vers = cfg->versions;
  size_t nv = cfg->n_versions;
  if (!vers || !nv) vers = moqc_default_versions(&nv);
  if (rv == MOQC_OK) {
    c->versions = moqc_calloc(nv, sizeof *c->versions);
    if (!c->versions) rv = MOQC_ERR_NOMEM;
  }
  for (size_t i = 0; rv == MOQC_OK && i < nv; i++) {
    if (!moqc_version_supported(vers[i])) {
      if (msg) snprintf(msg, msg_cap, "unsupported version '%s'", vers[i]);
      rv = MOQC_ERR_INVAL;
    } else {
      c->versions[i] = vers[i];
    }
  }
  if (rv != MOQC_OK) {
    moqc_free(c->versions);
    moqc_free(c->auth_token);
    moqc_free(c);
    return rv;
  }
  c->cfg.versions = c->versions;
  c->cfg.n_versions = nv;
  bool v6 = strchr(c->url.host, ':') != NULL;
  snprintf(c->authority, sizeof c->authority, v6 ? "[%s]:%u" : "%s:%u", c->url.host, c->url.port);
  uv_timer_init(moqc_uv_loop(cfg->uv), &c->timer);
  c->timer.data = c;
  c->timer_live = true;
  uv_timer_start(&c->timer, on_timeout, cfg->timeout_ms ? cfg->timeout_ms : 10000, 0);
  if ((c->url.kind == MOQC_URL_HTTP_BOOTSTRAP || c->url.kind == MOQC_URL_WEBTRANSPORT) &&
      !cfg->websocket_disabled) {
    c->race = c->quic_alive = c->ws_alive = true;
    uv_timer_init(moqc_uv_loop(cfg->uv), &c->wstimer);
    c->wstimer.data = c;
    c->wstimer_live = c->wstimer_armed = true;
    uv_timer_start(&c->wstimer, on_wstimer,
                   cfg->websocket_delay_ms ? cfg->websocket_delay_ms : MOQC_WEBSOCKET_DELAY_MS, 0);
  }
  if (c->url.kind == MOQC_URL_HTTP_BOOTSTRAP) {
    c->state = ST_BOOTSTRAP;
    c->pending++;
    rv = moqc_http_fetch_cert_hash(moqc_uv_loop(cfg->uv), c->url.host, c->url.port,
                                   cfg->timeout_ms ? cfg->timeout_ms : 10000, on_cert, c);
    if (rv != MOQC_OK) {
      c->pending--;
      c->deleted = true;
      client_free_if_done(c);
      if (msg) snprintf(msg, msg_cap, "certificate bootstrap failed: %s", moqc_err_str(rv));
      return rv;
    }
  } else if (c->url.kind == MOQC_URL_WEBSOCKET || c->url.kind == MOQC_URL_WEBSOCKET_TLS) {
    char err[256] = "";
    if ((rv = dial_ws(c, err, sizeof err)) != MOQC_OK) {
      c->deleted = true;
      client_free_if_done(c);
      if (msg)
        snprintf(msg, msg_cap, "cannot connect to %s: %s", cfg->url,
                 err[0] ? err : moqc_err_str(rv));
      return rv;
    }
  } else if ((rv = dial(c)) != MOQC_OK) {
    c->deleted = true;
    client_free_if_done(c);
    if (msg) snprintf(msg, msg_cap, "cannot connect to %s: %s", cfg->url, moqc_err_str(rv));
    return rv;
  }
  *out = c;
  return MOQC_OK;
}

const char *moqc_client_transport(const moqc_client *c) {
  if (!c || c->state != ST_UP || !c->session) return "";
  if (c->over_ws)
    return c->url.kind == MOQC_URL_WEBSOCKET_TLS || c->url.kind == MOQC_URL_WEBTRANSPORT
               ? "websocket-tls"
               : "websocket";
  return c->url.kind == MOQC_URL_QUIC ? "quic" : "webtransport";
}

moqc_session *moqc_client_session(moqc_client *c) {
  return c && c->state == ST_UP ? c->session : NULL;
}

void moqc_client_del(moqc_client *c) {
  if (!c || c->deleted) return;
  c->deleted = true;
  cancel_ws(c);
  if (c->dial) {
    moqc_quic_dial_cancel(c->dial);
    c->dial = NULL;
    c->pending--;
  }
  if (c->session) {
    moqc_session_del(c->session);
    c->session = NULL;
  }
  client_free_if_done(c);
}
