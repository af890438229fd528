/* moqc-relay core: one relay origin; every session gets the origin re-rooted at
 * its URL path as both its publish and its subscribe origin, so what others
 * publish under that root is offered, and what it announces lands there. One
 * upstream subscription per track and the cached fan-out come from the model. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "moqc/auth.h"
#include "moqc/error.h"
#include "moqc/path.h"
#include "relay.h"
#include "common/tool_util.h"

struct relay_sess {
  moqc_session *session;
  uint64_t id;
  int version;
  bool webtransport;
  bool by_cert;       /* authenticated by its client certificate (mTLS) */
  uv_timer_t *expiry; /* closes the session when its token (or certificate) expires (freed on
                         close) */
  char *tenant;       /* the token's root with auth, else the connection's root: counted in
                         r->tenants (--max-sessions-per-root with auth), whose slot holds the
                         tenant's moqc_account (--max-cache-per-root, --max-broadcasts-per-root) */
  relay_sess *prev, *next;
};

#define DRAIN_MS 1500  /* bounded wait for CONNECTION_CLOSEs to leave at shutdown */
#define GOAWAY_MS 1000 /* how long IETF peers told GOAWAY get to leave first */

static void free_timer(uv_handle_t *h) { free(h); }

static void on_expiry(uv_timer_t *t) {
  relay_sess *rs = t->data;
  const char *what = rs->by_cert ? "client certificate expired" : "token expired";
  moqc_log(MOQC_LOG_INFO, "session %llu: %s", (unsigned long long)rs->id, what);
  moqc_session_close(rs->session, MOQC_CODE_UNAUTHORIZED, what);
}

/* One session of tenant ends: the last one drops the relay's reference on the
 * tenant's account (what its groups and broadcasts hold keeps it alive). */
static void tenant_release(relay *r, const char *tenant) {
  if (moqc_tenants_count(r->tenants, tenant) == 1) {
    void **slot = moqc_tenants_slot(r->tenants, tenant);
    assert(slot);
    moqc_account_unref(*slot);
    *slot = NULL;
  }
  moqc_tenants_release(r->tenants, tenant);
}

static void unlink_sess(relay *r, relay_sess *rs) {
  if (rs->tenant) tenant_release(r, rs->tenant);
  free(rs->tenant);
  rs->tenant = NULL;
  if (rs->expiry) {
    uv_timer_stop(rs->expiry);
    uv_close((uv_handle_t *)rs->expiry, free_timer);
    rs->expiry = NULL;
  }
  if (rs->prev) rs->prev->next = rs->next;
  else r->sessions = rs->next;
  if (rs->next) rs->next->prev = rs->prev;
  r->n_live--;
}

moqc_session_stats relay_stats(const relay *r, uint64_t *serving_now, uint64_t *remote_tracks) {
  moqc_session_stats t = r->closed_stats;
  uint64_t serving = 0, tracks = 0;
  for (const relay_sess *it = r->sessions; it; it = it->next) {
    moqc_session_stats s = moqc_session_get_stats(it->session);
    moqc_session_stats_add(&t, &s);
    serving += s.serving;
    tracks += s.remote_tracks;
  }
  if (serving_now) *serving_now = serving;
  if (remote_tracks) *remote_tracks = tracks;
  return t;
}

static void count_error(relay *r, int version, uint64_t code) {
  for (size_t i = 0; i < r->n_errors; i++) {
    if (r->errors[i].code == code && r->errors[i].version == version) {
      r->errors[i].count++;
      return;
    }
  }
  if (r->n_errors < sizeof r->errors / sizeof r->errors[0]) {
    r->errors[r->n_errors++] = (relay_errcount){code, 1, version};
    return;
  }
  r->errors_other++;
}

/* The scope root of a connection: its URL path without the query, normalised. */
static int root_of(const char *path, char *root, size_t cap) {
  size_t n = strcspn(path ? path : "", "?#");
  ssize_t rv = moqc_path_normalize(root, cap, path ? path : "", n);
  return rv < 0 ? (int)rv : MOQC_OK;
}

#define DEFAULT_MAX_SESSIONS_PER_ROOT 256
#define DEFAULT_MAX_BROADCASTS_PER_ROOT 16384

/* The tenant's caps: cached bytes [a quarter of the budget] and broadcasts. */
static moqc_account_limits tenant_limits(const relay *r) {
  moqc_account_limits lim = {
      .max_cache_bytes =
          (size_t)(r->cfg.max_cache_per_root ? r->cfg.max_cache_per_root : r->cfg.cache_budget / 4),
      .max_broadcasts = (size_t)(r->cfg.max_broadcasts_per_root ? r->cfg.max_broadcasts_per_root
                                                                : DEFAULT_MAX_BROADCASTS_PER_ROOT),
  };
  return lim;
}

/* The account of a tenant that has a live session (acquired), made at its
 * first session. NULL on OOM. */
static moqc_account *tenant_account(relay *r, const char *tenant) {
  void **slot = moqc_tenants_slot(r->tenants, tenant);
  assert(slot);
  if (!*slot) {
    moqc_account_limits lim = tenant_limits(r);
    *slot = moqc_account_new(moqc_uv_env(r->uv), &lim);
  }
  return *slot;
}

static uint64_t max_per_root(const relay *r) {
  return r->cfg.max_sessions_per_root ? r->cfg.max_sessions_per_root
                                      : DEFAULT_MAX_SESSIONS_PER_ROOT;
}

/* Refuse the connection: its tenant has its quota of live sessions. */
static void refuse_tenant_full(relay *r, moqc_server_request *req, const char *tenant) {
  moqc_log(MOQC_LOG_WARN,
           "refusing %s session: root '%s' has %llu sessions (--max-sessions-per-root)",
           req->protocol, tenant, (unsigned long long)max_per_root(r));
  r->rejected++;
  r->quota_refused_sessions++;
  moqc_server_reject(req, MOQC_CODE_BOUNDS_EXCEEDED, "too many sessions for this root");
}

/* Check the connection's token (or the public prefixes). false: refused with
 * Unauthorized (the reason names the cause, never the token). */
/* A token for everything: root "", publish and subscribe "" (a cluster token). */
static bool has_everything(char *const *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (v[i] && v[i][0] == '\0') return true;
  return false;
}

static bool full_grant(const moqc_auth_claims *g) {
  return g->root && g->root[0] == '\0' && has_everything(g->put, g->n_put) &&
         has_everything(g->get, g->n_get);
}

static bool auth_request(relay *r, moqc_server_request *req, moqc_auth_claims *grant) {
  moqc_auth_reason why = MOQC_AUTH_OK;
  /* An IETF AUTHORIZATION TOKEN counts exactly like a ?jwt= on the path. */
  char *with_token = NULL;
  if (req->auth_token) {
    size_t n = strlen(req->path) + strlen(req->auth_token) + 6;
    with_token = malloc(n);
    if (with_token)
      snprintf(with_token, n, "%s%sjwt=%s", req->path, strchr(req->path, '?') ? "&" : "?",
               req->auth_token);
  }
  int rv = req->auth_token && !with_token
               ? MOQC_ERR_NOMEM
               : moqc_auth_check(r->auth, with_token ? with_token : req->path, (int64_t)time(NULL),
                                 grant, &why);
  free(with_token);
  const char *reason = rv == MOQC_OK ? NULL : moqc_auth_reason_str(why);
  if (rv == MOQC_OK && req->role == MOQC_SESSION_ROLE_PUBLISHER && !grant->n_put)
    reason = "the token allows no publishing";
  if (rv == MOQC_OK && req->role == MOQC_SESSION_ROLE_SUBSCRIBER && !grant->n_get)
    reason = "the token allows no subscribing";
  if (!reason) return true;
  char url[512];
  moqc_auth_redact_url(req->path, url, sizeof url);
  moqc_log(MOQC_LOG_WARN, "refusing %s session to '%s'%s%s: %s", req->protocol, url,
           req->remote && *req->remote ? " from " : "", req->remote ? req->remote : "", reason);
  moqc_auth_claims_clear(grant);
  r->rejected++;
  r->auth_refused++;
  moqc_server_reject(req, MOQC_CODE_UNAUTHORIZED, reason);
  return false;
}

/* Without keys or public prefixes only mTLS peers are let in. Said once for
 * the refusal before a session (on_connect) and at its setup (on_request). */
static bool mtls_only_refuses(relay *r, bool has_cert, const char *what, const char *remote) {
  if (has_cert || r->auth || r->cfg.n_server_tls_root == 0) return false;
  moqc_log(MOQC_LOG_WARN,
           "refusing %s session%s%s: no client certificate (only mTLS peers are accepted: no "
           "--auth-key, --auth-key-dir or --auth-public)",
           what, remote && *remote ? " from " : "", remote ? remote : "");
  r->rejected++;
  r->auth_refused++;
  return true;
}

/* A WebTransport CONNECT or WebSocket upgrade: the refusals that need no
 * session are answered with an HTTP status, so the client never sees a
 * session come up (a cluster peer would count it up until the close). */
static uint16_t on_connect(void *ctx, const moqc_server_connect *req) {
  relay *r = ctx;
  return mtls_only_refuses(r, req->peer_cert != NULL, req->transport, req->remote) ? 401 : 200;
}

static void on_request(void *ctx, moqc_server_request *req) {
  relay *r = ctx;
  char root[MOQC_PATH_MAX_LEN + 1];
  int rv = root_of(req->path, root, sizeof root);
  if (rv != MOQC_OK || r->stopping) {
    moqc_log(MOQC_LOG_WARN, "rejecting %s session%s%s: %s", req->protocol,
             req->remote && *req->remote ? " from " : "", req->remote ? req->remote : "",
             r->stopping ? "shutting down" : "bad path");
    r->rejected++;
    moqc_server_reject(req, rv != MOQC_OK ? MOQC_CODE_BOUNDS_EXCEEDED : MOQC_CODE_CANCEL,
                       r->stopping ? "shutting down" : "bad path");
    return;
  }
  /* Auth first: a refused connection creates no model state. A client
   * certificate that chained to a --server-tls-root stands in for a token, as
   * in moq-relay: full publish and subscribe under the URL path (cluster
   * peers dial "/": everything), until the certificate expires. Without
   * keys or public prefixes, mTLS peers are the only ones let in. */
  moqc_auth_claims grant = {0};
  bool by_cert = req->peer_cert != NULL;
  assert(!by_cert || r->cfg.n_server_tls_root > 0);
  if (mtls_only_refuses(r, by_cert, req->protocol, req->remote)) { /* raw QUIC */
    moqc_server_reject(req, MOQC_CODE_UNAUTHORIZED, "a client certificate is required");
    return;
  }
  if (!by_cert && r->auth && !auth_request(r, req, &grant)) return;
  /* A peer relay on one session carries every broadcast it forwards, so the
   * per-session group-rate cap is lifted for a session with the full access a
   * cluster peer gets (an mTLS peer, or a token for root "" with put "" and
   * get "") dialing the whole tree; the relay's own dials are exempt likewise. */
  bool full_peer = root[0] == '\0' && (by_cert || (r->auth && full_grant(&grant)));
  if (by_cert && req->peer_cert->not_after != INT64_MAX) { /* INT64_MAX: unknown */
    grant.has_exp = true;
    grant.exp = req->peer_cert->not_after;
  }
  relay_sess *rs = calloc(1, sizeof *rs);
  /* The tenant: the token's root; without auth, the connection's root. */
  const char *tenant = grant.tenant ? grant.tenant : root;
  if (rs && !(rs->tenant = strdup(tenant))) {
    free(rs);
    rs = NULL;
  }
  /* --max-sessions-per-root (with auth): counted in r->tenants from here
   * until unlink_sess. */
  int qrv =
      rs ? moqc_tenants_acquire(r->tenants, rs->tenant, r->auth ? max_per_root(r) : UINT64_MAX)
         : MOQC_OK;
  if (qrv != MOQC_OK) {
    if (qrv == MOQC_ERR_BOUNDS) refuse_tenant_full(r, req, rs->tenant);
    free(rs->tenant);
    free(rs);
    rs = NULL;
    if (qrv == MOQC_ERR_BOUNDS) {
      moqc_auth_claims_clear(&grant);
      return;
    }
  }
  moqc_account *acct = rs && rs->tenant ? tenant_account(r, rs->tenant) : NULL;
  moqc_origin *view = acct ? moqc_origin_with_root(r->origin, root) : NULL;
  /* With auth: what the peer may see (get) and where its announcements may
   * land (put); an empty scope refuses everything with Unauthorized. */
  moqc_origin *offer = view, *land = view;
  if (view && r->auth && !by_cert) {
    offer = moqc_origin_scope(view, (const char *const *)grant.get, grant.n_get);
    land = moqc_origin_scope(view, (const char *const *)grant.put, grant.n_put);
  }
  /* What it publishes is charged to its tenant: broadcasts and cached bytes. */
  if (land) {
    moqc_origin *charged = moqc_origin_with_account(land, acct);
    if (land != view) moqc_origin_unref(land);
    land = charged;
  }
  bool timed = grant.has_exp;
  if (rs && timed && (rs->expiry = malloc(sizeof *rs->expiry)) != NULL) {
    /* closed when the token stops verifying: at exp + the leeway (a
     * certificate: at its notAfter, as moq-relay) */
    rs->by_cert = by_cert;
    int64_t left = grant.exp + (by_cert ? 0 : (int64_t)r->cfg.auth_leeway_s) - (int64_t)time(NULL);
    uv_timer_init(r->loop, rs->expiry);
    rs->expiry->data = rs;
    uv_timer_start(rs->expiry, on_expiry, left > 0 ? (uint64_t)left * 1000 : 0, 0);
  }
  moqc_auth_claims_clear(&grant);
  if (!view || !offer || !land || (timed && !rs->expiry)) {
    if (offer && offer != view) moqc_origin_unref(offer);
    if (land && land != view) moqc_origin_unref(land);
    if (view) moqc_origin_unref(view);
    if (rs && rs->expiry) uv_close((uv_handle_t *)rs->expiry, free_timer);
    if (rs && rs->tenant) tenant_release(r, rs->tenant);
    if (rs) free(rs->tenant);
    free(rs);
    r->rejected++;
    moqc_server_reject(req, MOQC_CODE_TRANSPORT, "out of memory");
    return;
  }
  /* lite-05 Role: a publish-only client needs no announcements from us, a
   * subscribe-only one announces nothing. */
  moqc_origin *pub = req->role == MOQC_SESSION_ROLE_PUBLISHER ? NULL : offer;
  moqc_origin *sub = req->role == MOQC_SESSION_ROLE_SUBSCRIBER ? NULL : land;
  rv = moqc_server_accept_ud(req, pub, sub, rs);
  if (offer != view) moqc_origin_unref(offer);
  if (land != view) moqc_origin_unref(land);
  moqc_origin_unref(view);
  if (rv != MOQC_OK) {
    moqc_log(MOQC_LOG_WARN, "accepting a %s session failed: %s", req->protocol, moqc_err_str(rv));
    if (rs->expiry) uv_close((uv_handle_t *)rs->expiry, free_timer);
    if (rs->tenant) tenant_release(r, rs->tenant);
    free(rs->tenant);
    free(rs);
    return;
  }
  rs->session = req->session;
  if (full_peer && r->cfg.session_limits.max_group_rate)
    (void)moqc_session_set_group_rate(req->session, 0, 0);
  rs->id = ++r->next_id;
  rs->version = req->version;
  rs->webtransport = req->webtransport;
  rs->next = r->sessions;
  if (r->sessions) r->sessions->prev = rs;
  r->sessions = rs;
  r->n_live++;
  if ((req->version >= 3 && req->version <= 5) || (req->version >= 14 && req->version <= 19))
    r->sessions_total[req->version]++;
  rs->by_cert = by_cert;
  moqc_log(MOQC_LOG_INFO, "session %llu: %s over %s, root '/%s'%s%s%s%s%s",
           (unsigned long long)rs->id, req->protocol,
           req->webtransport ? "WebTransport"
           : req->websocket  ? "WebSocket"
                             : "QUIC",
           root, req->remote && *req->remote ? " from " : "", req->remote ? req->remote : "",
           by_cert ? ", mTLS peer '" : "", by_cert ? req->peer_cert->subject : "",
           by_cert ? "' (full access)" : "");
}

static void on_closed(void *ctx, moqc_session *s, void *ud, uint64_t code, const char *reason,
                      bool by_peer) {
  relay *r = ctx;
  relay_sess *rs = ud;
  int version = moqc_session_version(s);
  if (code != 0) count_error(r, version, code);
  if (!rs) return; /* ended before it was accepted */
  assert(rs->session == s);
  moqc_session_stats st = moqc_session_get_stats(s);
  moqc_session_stats_add(&r->closed_stats, &st);
  if (st.unauthorized_announces) /* moq-lite cannot refuse one announcement */
    moqc_log(MOQC_LOG_INFO,
             "session %llu: %llu announcement(s) outside the token's put were ignored",
             (unsigned long long)rs->id, (unsigned long long)st.unauthorized_announces);
  if (st.refused_group_rate)
    moqc_log(MOQC_LOG_WARN, "session %llu: started groups faster than --max-group-rate (%llu/s)",
             (unsigned long long)rs->id, (unsigned long long)r->cfg.session_limits.max_group_rate);
  r->sessions_closed++;
  /* The code in the session's registry: IETF 0x3 is PROTOCOL_VIOLATION (hex,
   * as the drafts write them), lite 3 is Timeout. */
  char num[24];
  snprintf(num, sizeof num, moqc_session_is_ietf(s) ? "0x%llx" : "%llu", (unsigned long long)code);
  moqc_log(code && !r->stopping ? MOQC_LOG_INFO : MOQC_LOG_DEBUG,
           "session %llu closed by %s: code %s (%s)%s%s", (unsigned long long)rs->id,
           by_peer ? "peer" : "relay", num, moqc_close_code_str(version, code),
           reason && *reason ? ": " : "", reason ? reason : "");
  unlink_sess(r, rs);
  free(rs);
}

/* Session diagnostics (why a group was reset as Old, ...), at debug level. */
static void on_debug(void *ctx, moqc_session *s, void *ud, const char *msg) {
  (void)ctx;
  (void)s;
  if (!moqc_log_enabled(MOQC_LOG_DEBUG)) return;
  const relay_sess *rs = ud;
  moqc_log(MOQC_LOG_DEBUG, "session %llu: %s", rs ? (unsigned long long)rs->id : 0ull, msg);
}

static void on_watch(void *arg) {
  relay *r = arg;
  moqc_announce a;
  int rv;
  while ((rv = moqc_origin_consumer_next(r->watch, &a)) == MOQC_OK) {
    if (a.restart) continue; /* a new route, still announced */
    if (a.active) r->broadcasts++;
    else if (r->broadcasts) r->broadcasts--;
    moqc_log(MOQC_LOG_INFO, "broadcast %s '%s'", a.active ? "announced" : "ended", a.path);
  }
}

static int load_cert(relay *r, char *err, size_t cap) {
  relay_config *c = &r->cfg;
  int rv;
  if (c->client_tls_cert[0]) { /* checked now rather than at the first cluster dial */
    moqc_cert *cc = NULL;
    rv = moqc_cert_load(c->client_tls_cert, c->client_tls_key, &cc);
    moqc_cert_unref(cc);
    if (rv != MOQC_OK) {
      snprintf(err, cap, "cannot load --client-tls-cert '%s' / --client-tls-key '%s': %s",
               c->client_tls_cert, c->client_tls_key,
               rv == MOQC_ERR_IO    ? "file missing or unreadable"
               : rv == MOQC_ERR_TLS ? "not a valid PEM certificate/key pair"
                                    : moqc_err_str(rv));
      return rv;
    }
  }
  if (c->tls_cert[0]) {
    rv = moqc_cert_load(c->tls_cert, c->tls_key, &r->cert);
    if (rv != MOQC_OK)
      snprintf(err, cap, "cannot load certificate '%s' / key '%s': %s", c->tls_cert, c->tls_key,
               rv == MOQC_ERR_IO    ? "file missing or unreadable"
               : rv == MOQC_ERR_TLS ? "not a valid PEM certificate/key pair"
                                    : moqc_err_str(rv));
    return rv;
  }
  if (c->tls_generate_dir[0]) return relay_cert_from_dir(r, err, cap);
  char buf[sizeof c->tls_generate];
  const char *hosts[32];
  size_t n = 0;
  snprintf(buf, sizeof buf, "%s", c->tls_generate);
  for (char *save = NULL, *h = strtok_r(buf, ",", &save); h && n < 32;
       h = strtok_r(NULL, ",", &save))
    hosts[n++] = h;
  rv = n ? moqc_cert_self_signed(hosts, n, &r->cert) : MOQC_ERR_INVAL;
  if (rv != MOQC_OK)
    snprintf(err, cap, "cannot generate a certificate for '%s': %s", c->tls_generate,
             moqc_err_str(rv));
  return rv;
}

static void on_signal(uv_signal_t *h, int signum) {
  relay *r = h->data;
  if (r->stopping) {
    moqc_log(MOQC_LOG_WARN, "second signal: stopping now");
    r->drain_deadline = 0;
    return;
  }
  moqc_log(MOQC_LOG_INFO, "%s: closing %zu session(s)", signum == SIGINT ? "SIGINT" : "SIGTERM",
           r->n_live);
  relay_stop(r);
}

uint64_t relay_default_cache_budget(void) {
  uint64_t ram = uv_get_total_memory(), gib = (uint64_t)1 << 30;
  if (ram == 0) return gib / 4; /* unknown: 256 MiB */
  return ram / 8 < gib ? ram / 8 : gib;
}

/* A count flag: 0 = no limit. */
static uint32_t limit_u32(uint64_t v) {
  return v == 0 || v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

int relay_start(relay *r, char *err, size_t cap) {
  relay_config *c = &r->cfg;
  if (load_cert(r, err, cap) != MOQC_OK) return -1;
  if (relay_auth_start(r, err, cap) != 0) return -1;
  if (c->cache_budget == RELAY_BUDGET_AUTO) c->cache_budget = relay_default_cache_budget();
  r->tenants = moqc_tenants_new();
  if (!r->tenants) {
    snprintf(err, cap, "out of memory");
    return -1;
  }
  r->uv = moqc_uv_new(r->loop, (size_t)c->cache_budget);
  if (!r->uv) {
    snprintf(err, cap, "out of memory");
    return -1;
  }
  /* No publisher decides how long we keep its groups. */
  moqc_env_set_cache_window_max(moqc_uv_env(r->uv), c->cache_duration_ms);
  moqc_origin_config oc = {
      .id = c->cluster_id,
      .linger_ns = c->cluster_linger_set ? c->cluster_linger_ns : c->linger_ns};
  r->origin = moqc_origin_new(moqc_uv_env(r->uv), &oc);
  r->watch = r->origin ? moqc_origin_consume(r->origin, "") : NULL;
  if (!r->watch) {
    snprintf(err, cap, "out of memory");
    return -1;
  }
  moqc_origin_consumer_set_waker(r->watch, on_watch, r);
  const char *vers[RELAY_MAX_VERSIONS];
  for (size_t i = 0; i < c->n_versions; i++) vers[i] = c->versions[i];
  const char *roots[RELAY_MAX_TLS_ROOTS];
  for (size_t i = 0; i < c->n_server_tls_root; i++) roots[i] = c->server_tls_root[i];
  moqc_server_config sc = {
      .uv = r->uv,
      .host = c->bind_host,
      .port = c->bind_port,
      .cert = r->cert,
      .client_ca_files = c->n_server_tls_root ? roots : NULL,
      .n_client_ca_files = c->n_server_tls_root,
      .versions = c->n_versions ? vers : NULL,
      .n_versions = c->n_versions,
      .session_limits = c->session_limits,
      .limits = {.idle_timeout_ms = c->idle_timeout_ms,
                 .max_connections = limit_u32(c->max_conns),
                 .max_connections_per_addr = limit_u32(c->max_conns_per_addr),
                 .max_handshakes_per_addr = limit_u32(c->max_handshakes_per_addr),
                 .new_connections_per_addr_per_s = c->new_conns_per_addr_per_s > UINT32_MAX
                                                       ? UINT32_MAX
                                                       : (uint32_t)c->new_conns_per_addr_per_s,
                 .handshake_timeout_ms = c->handshake_timeout_ms,
                 .retry = c->quic_retry},
      .setup_timeout_ms = c->setup_timeout_ms,
      .on_connect = on_connect,
      .on_request = on_request,
      .on_closed = on_closed,
      .on_debug = on_debug,
      .ctx = r,
      .log = moqc_tool_logger(),
  };
  char msg[256] = "";
  int rv = moqc_server_new(&sc, &r->server, msg, sizeof msg);
  if (rv != MOQC_OK) {
    char where[300];
    moqc_tool_format_hostport(where, sizeof where, c->bind_host, c->bind_port);
    snprintf(err, cap, "cannot serve UDP %s: %s", where, msg[0] ? msg : moqc_err_str(rv));
    return -1;
  }
  moqc_tool_format_hostport(r->udp_addr, sizeof r->udp_addr, c->bind_host,
                            moqc_server_port(r->server));
  if (relay_http_start(r, err, cap) != 0) return -1;
  if (relay_cluster_start(r, err, cap) != 0) return -1;
  uv_signal_init(r->loop, &r->sigint);
  uv_signal_init(r->loop, &r->sigterm);
  r->sigint.data = r->sigterm.data = r;
  uv_signal_start(&r->sigint, on_signal, SIGINT);
  uv_signal_start(&r->sigterm, on_signal, SIGTERM);
  uv_timer_init(r->loop, &r->drain);
  r->drain.data = r;
  r->handles = true;
  return 0;
}

static void teardown(relay *r) {
  if (r->torn_down) return;
  r->torn_down = true;
  relay_cluster_stop(r);
  relay_http_stop(r);
  relay_auth_stop(r);
  moqc_server_del(r->server); /* deletes any session left (no on_closed) */
  r->server = NULL;
  while (r->sessions) {
    relay_sess *rs = r->sessions;
    unlink_sess(r, rs);
    free(rs);
  }
  assert(moqc_tenants_size(r->tenants) == 0);
  moqc_tenants_del(r->tenants);
  r->tenants = NULL;
  moqc_origin_consumer_del(r->watch);
  r->watch = NULL;
  moqc_origin_unref(r->origin);
  r->origin = NULL;
  moqc_cert_unref(r->cert);
  r->cert = NULL;
  if (r->handles) {
    uv_close((uv_handle_t *)&r->sigint, NULL);
    uv_close((uv_handle_t *)&r->sigterm, NULL);
    uv_close((uv_handle_t *)&r->drain, NULL);
    r->handles = false;
  }
  moqc_uv_del(r->uv);
  r->uv = NULL;
}

static void on_drain(uv_timer_t *t) {
  relay *r = t->data;
  if (r->goaway_until) {
    /* IETF peers were told GOAWAY: give them GOAWAY_MS to leave by themselves. */
    if (r->n_live > 0 && uv_now(r->loop) < r->goaway_until && r->drain_deadline) return;
    r->goaway_until = 0;
    if (r->server) moqc_server_close_all(r->server, 0, "shutdown");
    if (r->drain_deadline) r->drain_deadline = uv_now(r->loop) + DRAIN_MS; /* 0: second signal */
  }
  bool empty = !r->server || moqc_server_sessions(r->server) == 0;
  if ((empty && uv_now(r->loop) >= r->drain_deadline - DRAIN_MS + 100) ||
      uv_now(r->loop) >= r->drain_deadline) {
    uv_timer_stop(t);
    if (!empty) moqc_log(MOQC_LOG_WARN, "%zu session(s) still open at exit", r->n_live);
    teardown(r);
  }
}

void relay_stop(relay *r) {
  if (r->stopping) return;
  r->stopping = true;
  relay_cluster_stop(r); /* close the peer sessions we dialed */
  /* IETF sessions get GOAWAY first (no new URI: the same relay, later), then
   * the close once they left or GOAWAY_MS passed. */
  size_t told = 0;
  for (relay_sess *rs = r->sessions; rs; rs = rs->next)
    if (rs->session && moqc_session_send_goaway(rs->session, NULL) == MOQC_OK) told++;
  if (told) {
    moqc_log(MOQC_LOG_INFO, "GOAWAY sent to %zu IETF session(s)", told);
    r->goaway_until = uv_now(r->loop) + GOAWAY_MS;
  } else if (r->server) {
    moqc_server_close_all(r->server, 0, "shutdown");
  }
  r->drain_deadline = uv_now(r->loop) + DRAIN_MS;
  uv_timer_start(&r->drain, on_drain, 20, 20);
}

void relay_abort_start(relay *r) {
  r->stopping = true;
  teardown(r);
}
