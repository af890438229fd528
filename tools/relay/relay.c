/* moqc-relay core: one relay origin; every session gets the origin re-rooted at
 * its URL path as both its publish and its subscribe origin, so what others
 * publish under that root is offered, and what it announces lands there. One
 * upstream subscription per track and the cached fan-out come from the model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moqc/error.h"
#include "moqc/path.h"
#include "relay.h"
#include "common/tool_util.h"

struct relay_sess {
  moqc_session *session;
  uint64_t id;
  int version;
  bool webtransport;
  relay_sess *prev, *next;
};

#define DRAIN_MS 1500 /* bounded wait for CONNECTION_CLOSEs to leave at shutdown */

static relay_sess *find_sess(relay *r, const moqc_session *s) {
  for (relay_sess *it = r->sessions; it; it = it->next)
    if (it->session == s) return it;
  return NULL;
}

static void unlink_sess(relay *r, relay_sess *rs) {
  if (rs->prev) rs->prev->next = rs->next;
  else r->sessions = rs->next;
  if (rs->next) rs->next->prev = rs->prev;
  r->n_live--;
}

static void add_stats(moqc_session_stats *a, const moqc_session_stats *b) {
  a->streams_opened += b->streams_opened;
  a->streams_accepted += b->streams_accepted;
  a->streams_rejected += b->streams_rejected;
  a->subscribes_served += b->subscribes_served;
  a->groups_sent += b->groups_sent;
  a->groups_reset_old += b->groups_reset_old;
  a->groups_received += b->groups_received;
  a->frames_received += b->frames_received;
  a->bytes_received += b->bytes_received;
  a->announces_received += b->announces_received;
  a->announces_dropped += b->announces_dropped;
  a->datagrams_received += b->datagrams_received;
  a->probes_sent += b->probes_sent;
}

moqc_session_stats relay_stats(const relay *r, uint64_t *serving_now, uint64_t *remote_tracks) {
  moqc_session_stats t = r->closed_stats;
  uint64_t serving = 0, tracks = 0;
  for (const relay_sess *it = r->sessions; it; it = it->next) {
    moqc_session_stats s = moqc_session_get_stats(it->session);
    add_stats(&t, &s);
    serving += s.serving;
    tracks += s.remote_tracks;
  }
  if (serving_now) *serving_now = serving;
  if (remote_tracks) *remote_tracks = tracks;
  return t;
}

static void count_error(relay *r, uint64_t code) {
  for (size_t i = 0; i < r->n_errors; i++) {
    if (r->errors[i].code == code) {
      r->errors[i].count++;
      return;
    }
  }
  if (r->n_errors < sizeof r->errors / sizeof r->errors[0]) {
    r->errors[r->n_errors++] = (relay_errcount){code, 1};
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
  relay_sess *rs = calloc(1, sizeof *rs);
  moqc_origin *view = rs ? moqc_origin_with_root(r->origin, root) : NULL;
  if (!view) {
    free(rs);
    r->rejected++;
    moqc_server_reject(req, MOQC_CODE_TRANSPORT, "out of memory");
    return;
  }
  /* lite-05 Role: a publish-only client needs no announcements from us, a
   * subscribe-only one announces nothing. */
  moqc_origin *pub = req->role == MOQC_SESSION_ROLE_PUBLISHER ? NULL : view;
  moqc_origin *sub = req->role == MOQC_SESSION_ROLE_SUBSCRIBER ? NULL : view;
  rv = moqc_server_accept(req, pub, sub);
  moqc_origin_unref(view);
  if (rv != MOQC_OK) {
    moqc_log(MOQC_LOG_WARN, "accepting a %s session failed: %s", req->protocol, moqc_err_str(rv));
    free(rs);
    return;
  }
  rs->session = req->session;
  rs->id = ++r->next_id;
  rs->version = req->version;
  rs->webtransport = req->webtransport;
  rs->next = r->sessions;
  if (r->sessions) r->sessions->prev = rs;
  r->sessions = rs;
  r->n_live++;
  if (req->version >= 3 && req->version <= 5) r->sessions_total[req->version]++;
  moqc_log(MOQC_LOG_INFO, "session %llu: %s over %s, root '/%s'%s%s",
           (unsigned long long)rs->id, req->protocol,
           req->webtransport ? "WebTransport" : "QUIC", root,
           req->remote && *req->remote ? " from " : "", req->remote ? req->remote : "");
}

static void on_closed(void *ctx, moqc_session *s, uint64_t code, const char *reason, bool by_peer) {
  relay *r = ctx;
  relay_sess *rs = find_sess(r, s);
  if (code != 0) count_error(r, code);
  if (!rs) return; /* ended before it was accepted */
  moqc_session_stats st = moqc_session_get_stats(s);
  add_stats(&r->closed_stats, &st);
  r->sessions_closed++;
  moqc_log(code && !r->stopping ? MOQC_LOG_INFO : MOQC_LOG_DEBUG,
           "session %llu closed by %s: code %llu (%s)%s%s", (unsigned long long)rs->id,
           by_peer ? "peer" : "relay", (unsigned long long)code, moqc_code_str(code),
           reason && *reason ? ": " : "", reason ? reason : "");
  unlink_sess(r, rs);
  free(rs);
}

/* Session diagnostics (why a group was reset as Old, ...), at debug level. */
static void on_debug(void *ctx, moqc_session *s, const char *msg) {
  relay *r = ctx;
  if (!moqc_log_enabled(MOQC_LOG_DEBUG)) return;
  relay_sess *rs = find_sess(r, s);
  moqc_log(MOQC_LOG_DEBUG, "session %llu: %s", rs ? (unsigned long long)rs->id : 0ull, msg);
}

static void on_watch(void *arg) {
  relay *r = arg;
  moqc_announce a;
  int rv;
  while ((rv = moqc_origin_consumer_next(r->watch, &a)) == MOQC_OK) {
    if (a.active) r->broadcasts++;
    else if (r->broadcasts) r->broadcasts--;
    moqc_log(MOQC_LOG_INFO, "broadcast %s '%s'", a.active ? "announced" : "ended", a.path);
  }
}

static int load_cert(relay *r, char *err, size_t cap) {
  relay_config *c = &r->cfg;
  int rv;
  if (c->tls_cert[0]) {
    rv = moqc_cert_load(c->tls_cert, c->tls_key, &r->cert);
    if (rv != MOQC_OK)
      snprintf(err, cap, "cannot load certificate '%s' / key '%s': %s", c->tls_cert, c->tls_key,
               rv == MOQC_ERR_IO ? "file missing or unreadable"
               : rv == MOQC_ERR_TLS ? "not a valid PEM certificate/key pair"
                                    : moqc_err_str(rv));
    return rv;
  }
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
static uint32_t limit_u32(uint64_t v) { return v == 0 || v > UINT32_MAX ? UINT32_MAX : (uint32_t)v; }

int relay_start(relay *r, char *err, size_t cap) {
  relay_config *c = &r->cfg;
  if (load_cert(r, err, cap) != MOQC_OK) return -1;
  if (c->cache_budget == RELAY_BUDGET_AUTO) c->cache_budget = relay_default_cache_budget();
  r->uv = moqc_uv_new(r->loop, (size_t)c->cache_budget);
  if (!r->uv) {
    snprintf(err, cap, "out of memory");
    return -1;
  }
  /* No publisher decides how long we keep its groups. */
  moqc_env_set_cache_window_max(moqc_uv_env(r->uv), c->cache_duration_ms);
  moqc_origin_config oc = {.id = 0, .linger_ns = c->linger_ns};
  r->origin = moqc_origin_new(moqc_uv_env(r->uv), &oc);
  r->watch = r->origin ? moqc_origin_consume(r->origin, "") : NULL;
  if (!r->watch) {
    snprintf(err, cap, "out of memory");
    return -1;
  }
  moqc_origin_consumer_set_waker(r->watch, on_watch, r);
  const char *vers[RELAY_MAX_VERSIONS];
  for (size_t i = 0; i < c->n_versions; i++) vers[i] = c->versions[i];
  moqc_server_config sc = {
      .uv = r->uv,
      .host = c->bind_host,
      .port = c->bind_port,
      .cert = r->cert,
      .versions = c->n_versions ? vers : NULL,
      .n_versions = c->n_versions,
      .limits = {.idle_timeout_ms = c->idle_timeout_ms,
                 .max_connections = limit_u32(c->max_conns),
                 .max_connections_per_addr = limit_u32(c->max_conns_per_addr),
                 .max_handshakes_per_addr = limit_u32(c->max_handshakes_per_addr),
                 .new_connections_per_addr_per_s = c->new_conns_per_addr_per_s > UINT32_MAX
                                                       ? UINT32_MAX
                                                       : (uint32_t)c->new_conns_per_addr_per_s,
                 .handshake_timeout_ms = c->handshake_timeout_ms},
      .setup_timeout_ms = c->setup_timeout_ms,
      .on_request = on_request,
      .on_closed = on_closed,
      .on_debug = on_debug,
      .ctx = r,
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
  relay_http_stop(r);
  moqc_server_del(r->server); /* deletes any session left (no on_closed) */
  r->server = NULL;
  while (r->sessions) {
    relay_sess *rs = r->sessions;
    unlink_sess(r, rs);
    free(rs);
  }
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
  if (r->server) moqc_server_close_all(r->server, 0, "shutdown");
  r->drain_deadline = uv_now(r->loop) + DRAIN_MS;
  uv_timer_start(&r->drain, on_drain, 20, 20);
}

void relay_abort_start(relay *r) {
  r->stopping = true;
  teardown(r);
}
