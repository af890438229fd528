/* moqc-relay configuration: command-line flags and an INI file with the same
 * keys. The file (--config FILE) is read first; flags override it (a --version
 * flag replaces the file's version list). */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<ini.h>)
#include <ini.h>
#define RELAY_HAVE_INIH 1
#endif
#endif

#include "moqc/endpoint.h"
#include "moqc/path.h"
#include "relay.h"
#include "common/tool_util.h"

typedef struct parse_ctx {
  relay_config *cfg;
  bool from_flags;
  bool versions_from_flags;
  char *err;
  size_t err_cap;
} parse_ctx;

typedef int (*opt_set)(parse_ctx *p, const char *v);

static int bad(parse_ctx *p, const char *name, const char *v, const char *why) {
  snprintf(p->err, p->err_cap, "--%s: invalid value '%.200s' (%s)", name, v, why);
  return -1;
}

static int copy_str(parse_ctx *p, const char *name, char *dst, size_t cap, const char *v) {
  if (!*v) return bad(p, name, v, "empty");
  if (strlen(v) >= cap) return bad(p, name, v, "too long");
  memcpy(dst, v, strlen(v) + 1);
  return 0;
}

static int set_bind(parse_ctx *p, const char *v) {
  relay_config *c = p->cfg;
  if (moqc_tool_parse_hostport(v, c->bind_host, sizeof c->bind_host, &c->bind_port) != 0)
    return bad(p, "bind", v, "expected ADDR:PORT, e.g. [::]:4443 or 127.0.0.1:0");
  if (!c->bind_host[0]) snprintf(c->bind_host, sizeof c->bind_host, "::");
  return 0;
}

static int set_http_bind(parse_ctx *p, const char *v) {
  relay_config *c = p->cfg;
  c->http_set = true;
  c->http_none = strcmp(v, "none") == 0;
  if (c->http_none) return 0;
  if (moqc_tool_parse_hostport(v, c->http_host, sizeof c->http_host, &c->http_port) != 0)
    return bad(p, "http-bind", v, "expected ADDR:PORT or 'none'");
  if (!c->http_host[0]) snprintf(c->http_host, sizeof c->http_host, "::");
  return 0;
}

static int set_tls_cert(parse_ctx *p, const char *v) {
  return copy_str(p, "tls-cert", p->cfg->tls_cert, sizeof p->cfg->tls_cert, v);
}

static int set_tls_key(parse_ctx *p, const char *v) {
  return copy_str(p, "tls-key", p->cfg->tls_key, sizeof p->cfg->tls_key, v);
}

static int set_tls_generate(parse_ctx *p, const char *v) {
  if (copy_str(p, "tls-generate", p->cfg->tls_generate, sizeof p->cfg->tls_generate, v) != 0)
    return -1;
  /* Every comma-separated name must be non-empty. */
  const char *s = v;
  for (;;) {
    size_t n = strcspn(s, ",");
    if (n == 0) return bad(p, "tls-generate", v, "empty host name");
    if (!s[n]) break;
    s += n + 1;
  }
  return 0;
}

static int add_version(parse_ctx *p, const char *v, const char *s, size_t n) {
  relay_config *c = p->cfg;
  char one[32];
  if (n == 0 || n >= sizeof one)
    return bad(
        p, "version", v,
        "expected moq-lite-03, moq-lite-04, moq-lite-05, moql, moq-00 (IETF draft-14), moqt-15, "
        "moqt-16, moqt-17, moqt-18 or moqt-19");
  memcpy(one, s, n);
  one[n] = 0;
  if (!moqc_version_supported(one))
    return bad(
        p, "version", v,
        "expected moq-lite-03, moq-lite-04, moq-lite-05, moql, moq-00 (IETF draft-14), moqt-15, "
        "moqt-16, moqt-17, moqt-18 or moqt-19");
  for (size_t i = 0; i < c->n_versions; i++)
    if (strcmp(c->versions[i], one) == 0) return 0;
  if (c->n_versions >= RELAY_MAX_VERSIONS) return bad(p, "version", v, "too many");
  memcpy(c->versions[c->n_versions++], one, n + 1);
  return 0;
}

static int set_version(parse_ctx *p, const char *v) {
  if (p->from_flags && !p->versions_from_flags) {
    p->versions_from_flags = true;
    p->cfg->n_versions = 0; /* flags replace the config file's list */
  }
  const char *s = v;
  for (;;) {
    size_t n = strcspn(s, ",");
    if (add_version(p, v, s, n) != 0) return -1;
    if (!s[n]) break;
    s += n + 1;
  }
  return 0;
}

static int set_log_level(parse_ctx *p, const char *v) {
  int l = moqc_log_parse_level(v);
  if (l < 0) return bad(p, "log-level", v, "expected error, warn, info, debug or trace");
  p->cfg->log_level = l;
  return 0;
}

static int set_cache_budget(parse_ctx *p, const char *v) {
  uint64_t b;
  if (moqc_tool_parse_size(v, &b) != 0 || b > SIZE_MAX)
    return bad(p, "cache-budget", v, "expected bytes, e.g. 256M, 1G, 0 = unlimited");
  assert(b != RELAY_BUDGET_AUTO);
  p->cfg->cache_budget = b;
  return 0;
}

static int set_linger(parse_ctx *p, const char *v) {
  uint64_t ns;
  if (moqc_tool_parse_duration_ns(v, &ns) != 0)
    return bad(p, "linger", v, "expected a duration, e.g. 500ms, 5s, 1m");
  p->cfg->linger_ns = ns;
  return 0;
}

static int set_idle_timeout(parse_ctx *p, const char *v) {
  uint64_t ns;
  if (moqc_tool_parse_duration_ns(v, &ns) != 0 || ns < 1000000)
    return bad(p, "idle-timeout", v, "expected a duration, e.g. 10s, 30s");
  p->cfg->idle_timeout_ms = ns / 1000000;
  return 0;
}

static int set_fetch_timeout(parse_ctx *p, const char *v) {
  uint64_t ns;
  if (moqc_tool_parse_duration_ns(v, &ns) != 0 || ns < 1000000)
    return bad(p, "fetch-timeout", v, "expected a duration, e.g. 500ms, 10s");
  p->cfg->fetch_timeout_ms = ns / 1000000;
  return 0;
}

static int set_auth_key(parse_ctx *p, const char *v) {
  if (!*v || strlen(v) >= sizeof p->cfg->auth_key) return bad(p, "auth-key", v, "expected a file");
  snprintf(p->cfg->auth_key, sizeof p->cfg->auth_key, "%s", v);
  return 0;
}

static int set_auth_key_dir(parse_ctx *p, const char *v) {
  if (!*v || strlen(v) >= sizeof p->cfg->auth_key_dir)
    return bad(p, "auth-key-dir", v, "expected a directory");
  snprintf(p->cfg->auth_key_dir, sizeof p->cfg->auth_key_dir, "%s", v);
  return 0;
}

static int set_auth_public(parse_ctx *p, const char *v) {
  relay_config *c = p->cfg;
  if (c->n_auth_public >= RELAY_MAX_PUBLIC || strlen(v) >= sizeof c->auth_public[0])
    return bad(p, "auth-public", v, "at most 16 prefixes of at most 255 bytes");
  snprintf(c->auth_public[c->n_auth_public++], sizeof c->auth_public[0], "%s", v);
  return 0;
}

static int set_count(parse_ctx *p, const char *name, const char *v, uint64_t *out) {
  uint64_t n;
  if (moqc_tool_parse_u64(v, &n) != 0 || n > 1000000000ull)
    return bad(p, name, v, "expected a count (0 = default)");
  *out = n;
  return 0;
}

static int set_max_sessions_per_root(parse_ctx *p, const char *v) {
  return set_count(p, "max-sessions-per-root", v, &p->cfg->max_sessions_per_root);
}

#define SET_LIMIT(fn, name, field)                 \
  static int fn(parse_ctx *p, const char *v) {     \
    uint64_t n;                                    \
    if (set_count(p, name, v, &n) != 0) return -1; \
    p->cfg->session_limits.field = (size_t)n;      \
    return 0;                                      \
  }
SET_LIMIT(set_max_streams, "max-streams", max_streams)
SET_LIMIT(set_max_subscriptions, "max-subscriptions", max_subscriptions)
SET_LIMIT(set_max_broadcasts, "max-broadcasts", max_announced)
SET_LIMIT(set_max_tracks, "max-tracks", max_tracks)

/* ---- packaging: a generated certificate that survives restarts ---------- */
static int set_tls_generate_dir(parse_ctx *p, const char *v) {
  return copy_str(p, "tls-generate-dir", p->cfg->tls_generate_dir, sizeof p->cfg->tls_generate_dir,
                  v);
}
/* ---- end packaging --------------------------------------------------------- */

/* ---- limits (docs/relay.md "Limits") ------------------------------------------- */

static int set_limit(parse_ctx *p, const char *name, const char *v, uint64_t *dst, uint64_t max) {
  uint64_t n;
  if (moqc_tool_parse_u64(v, &n) != 0 || n > max)
    return bad(p, name, v, "expected a count, 0 = no limit");
  *dst = n;
  return 0;
}

static int set_ms(parse_ctx *p, const char *name, const char *v, uint64_t *dst) {
  uint64_t ns;
  if (moqc_tool_parse_duration_ns(v, &ns) != 0 || ns < 1000000)
    return bad(p, name, v, "expected a duration, e.g. 500ms, 5s, 1m");
  *dst = ns / 1000000;
  return 0;
}

static int set_cache_duration(parse_ctx *p, const char *v) {
  return set_ms(p, "cache-duration", v, &p->cfg->cache_duration_ms);
}
static int set_max_conns(parse_ctx *p, const char *v) {
  return set_limit(p, "max-conns", v, &p->cfg->max_conns, UINT32_MAX);
}
static int set_max_conns_per_addr(parse_ctx *p, const char *v) {
  return set_limit(p, "max-conns-per-addr", v, &p->cfg->max_conns_per_addr, UINT32_MAX);
}
static int set_max_handshakes_per_addr(parse_ctx *p, const char *v) {
  return set_limit(p, "max-handshakes-per-addr", v, &p->cfg->max_handshakes_per_addr, UINT32_MAX);
}
static int set_new_conns_per_addr(parse_ctx *p, const char *v) {
  return set_limit(p, "new-conns-per-addr", v, &p->cfg->new_conns_per_addr_per_s, UINT32_MAX);
}
static int set_handshake_timeout(parse_ctx *p, const char *v) {
  return set_ms(p, "handshake-timeout", v, &p->cfg->handshake_timeout_ms);
}
static int set_quic_retry(parse_ctx *p, const char *v) {
  if (moqc_quic_retry_parse(v, &p->cfg->quic_retry) != 0)
    return bad(p, "quic-retry", v, "expected auto, always or never");
  return 0;
}
static int set_setup_timeout(parse_ctx *p, const char *v) {
  return set_ms(p, "setup-timeout", v, &p->cfg->setup_timeout_ms);
}
static int set_http_max_conns(parse_ctx *p, const char *v) {
  return set_limit(p, "http-max-conns", v, &p->cfg->http_max_conns, 1000000);
}
static int set_http_max_conns_per_addr(parse_ctx *p, const char *v) {
  return set_limit(p, "http-max-conns-per-addr", v, &p->cfg->http_max_conns_per_addr, 1000000);
}
static int set_http_head_timeout(parse_ctx *p, const char *v) {
  return set_ms(p, "http-head-timeout", v, &p->cfg->http_head_timeout_ms);
}
static int set_fetch_max_per_addr(parse_ctx *p, const char *v) {
  return set_limit(p, "fetch-max-per-addr", v, &p->cfg->fetch_max_per_addr, 1000000);
}
static int set_fetch_max_tracks(parse_ctx *p, const char *v) {
  return set_limit(p, "fetch-max-tracks", v, &p->cfg->fetch_max_tracks, 1000000);
}
static int set_fetch_hold(parse_ctx *p, const char *v) {
  return set_ms(p, "fetch-hold", v, &p->cfg->fetch_hold_ms);
}

/* ---- auth leeway and quotas (auth2) ---- */

static int set_auth_leeway(parse_ctx *p, const char *v) {
  uint64_t ns;
  if (moqc_tool_parse_duration_ns(v, &ns) != 0 || ns / 1000000000ull > 86400)
    return bad(p, "auth-leeway", v, "expected a duration of at most 1 day, e.g. 0, 30s, 1m");
  p->cfg->auth_leeway_s = ns / 1000000000ull;
  return 0;
}

static int set_rate(parse_ctx *p, const char *name, const char *v, uint64_t *out) {
  uint64_t b;
  if (moqc_tool_parse_size(v, &b) != 0 || b > ((uint64_t)1 << 40))
    return bad(p, name, v, "expected bytes, e.g. 512K, 32M, 0 = unlimited");
  *out = b;
  return 0;
}

static int set_max_ingress_rate(parse_ctx *p, const char *v) {
  return set_rate(p, "max-ingress-rate", v, &p->cfg->session_limits.max_ingress_rate);
}

static int set_ingress_burst(parse_ctx *p, const char *v) {
  return set_rate(p, "ingress-burst", v, &p->cfg->session_limits.ingress_burst);
}

static int set_max_group_rate(parse_ctx *p, const char *v) {
  return set_count(p, "max-group-rate", v, &p->cfg->session_limits.max_group_rate);
}

static int set_group_burst(parse_ctx *p, const char *v) {
  return set_count(p, "group-burst", v, &p->cfg->session_limits.group_burst);
}

SET_LIMIT(set_max_announce_prefixes, "max-announce-prefixes", max_announce_prefixes)

static int set_max_cache_per_root(parse_ctx *p, const char *v) {
  uint64_t b;
  if (moqc_tool_parse_size(v, &b) != 0 || b > SIZE_MAX)
    return bad(p, "max-cache-per-root", v, "expected bytes, e.g. 64M, 0 = default");
  p->cfg->max_cache_per_root = b;
  return 0;
}

static int set_max_broadcasts_per_root(parse_ctx *p, const char *v) {
  return set_count(p, "max-broadcasts-per-root", v, &p->cfg->max_broadcasts_per_root);
}

static void auth2_defaults(relay_config *c) {
  c->auth_leeway_s = RELAY_DEFAULT_LEEWAY_S;
  c->session_limits.max_ingress_rate = RELAY_DEFAULT_INGRESS_RATE;
  c->session_limits.max_group_rate = RELAY_DEFAULT_GROUP_RATE;
  c->session_limits.max_announce_prefixes = RELAY_DEFAULT_ANNOUNCE_PREFIXES;
}

/* ---- cluster (docs/cluster.md) ---- */

static int set_cluster_connect(parse_ctx *p, const char *v) {
  relay_config *c = p->cfg;
  const char *s = v;
  if (!*v) return bad(p, "cluster-connect", v, "empty");
  for (;;) { /* comma-separated, or repeat the flag */
    size_t n = strcspn(s, ",");
    if (n == 0) return bad(p, "cluster-connect", v, "empty URL");
    if (c->n_cluster_connect >= RELAY_MAX_PEERS || n >= sizeof c->cluster_connect[0])
      return bad(p, "cluster-connect", v, "at most 32 peers of at most 1023 bytes");
    snprintf(c->cluster_connect[c->n_cluster_connect++], sizeof c->cluster_connect[0], "%.*s",
             (int)n, s);
    if (!s[n]) return 0;
    s += n + 1;
  }
}

/* ---- mutual TLS ---- */

static int set_server_tls_root(parse_ctx *p, const char *v) {
  relay_config *c = p->cfg;
  const char *s = v;
  if (!*v) return bad(p, "server-tls-root", v, "empty");
  for (;;) { /* comma-separated (moq-relay's value_delimiter), or repeat the flag */
    size_t n = strcspn(s, ",");
    if (n == 0) return bad(p, "server-tls-root", v, "empty file name");
    if (c->n_server_tls_root >= RELAY_MAX_TLS_ROOTS || n >= sizeof c->server_tls_root[0])
      return bad(p, "server-tls-root", v, "at most 16 files of at most 1023 bytes");
    snprintf(c->server_tls_root[c->n_server_tls_root++], sizeof c->server_tls_root[0], "%.*s",
             (int)n, s);
    if (!s[n]) return 0;
    s += n + 1;
  }
}

static int set_client_tls_cert(parse_ctx *p, const char *v) {
  return copy_str(p, "client-tls-cert", p->cfg->client_tls_cert, sizeof p->cfg->client_tls_cert, v);
}

static int set_client_tls_key(parse_ctx *p, const char *v) {
  return copy_str(p, "client-tls-key", p->cfg->client_tls_key, sizeof p->cfg->client_tls_key, v);
}

static int set_cluster_connect_api(parse_ctx *p, const char *v) {
  if (strncmp(v, "https://", 8) == 0)
    return bad(p, "cluster-connect-api", v, "https is not supported yet: http:// URL or a file");
  return copy_str(p, "cluster-connect-api", p->cfg->cluster_connect_api,
                  sizeof p->cfg->cluster_connect_api, v);
}

static int set_cluster_node(parse_ctx *p, const char *v) {
  if (strstr(v, "jwt=")) return bad(p, "cluster-node", v, "never put a token in the node URL");
  return copy_str(p, "cluster-node", p->cfg->cluster_node, sizeof p->cfg->cluster_node, v);
}

static int set_cluster_mesh(parse_ctx *p, const char *v) {
  if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0) p->cfg->cluster_mesh = true;
  else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0) p->cfg->cluster_mesh = false;
  else return bad(p, "cluster-mesh", v, "expected true or false (the URL is --cluster-node)");
  return 0;
}

static int set_cluster_token(parse_ctx *p, const char *v) {
  return copy_str(p, "cluster-token", p->cfg->cluster_token, sizeof p->cfg->cluster_token, v);
}

static int set_cluster_id(parse_ctx *p, const char *v) {
  uint64_t id;
  if (moqc_tool_parse_u64(v, &id) != 0 || id == 0 || id >= MOQC_ORIGIN_ID_MAX)
    return bad(p, "cluster-id", v, "expected a non-zero id below 2^53");
  p->cfg->cluster_id = id;
  return 0;
}

static int set_cluster_linger(parse_ctx *p, const char *v) {
  uint64_t ns;
  if (moqc_tool_parse_duration_ns(v, &ns) != 0)
    return bad(p, "cluster-linger", v, "expected a duration, e.g. 500ms, 5s, 0");
  p->cfg->cluster_linger_ns = ns;
  p->cfg->cluster_linger_set = true;
  return 0;
}

typedef struct relay_opt {
  const char *name;
  const char *arg; /* NULL: no value */
  const char *help;
  opt_set set;
} relay_opt;

static const relay_opt k_opts[] = {
    {"bind", "ADDR:PORT", "UDP address for raw QUIC and WebTransport [default [::]:4443]",
     set_bind},
    {"tls-cert", "FILE", "PEM certificate chain (leaf first); needs --tls-key", set_tls_cert},
    {"tls-key", "FILE", "PEM private key of --tls-cert", set_tls_key},
    {"tls-generate", "HOST[,HOST...]",
     "generate a self-signed 14-day ECDSA certificate for these names [default localhost]",
     set_tls_generate},
    {"tls-generate-dir", "DIR",
     "keep the generated certificate in DIR/cert.pem + DIR/key.pem and reuse it across "
     "restarts until it is 12 days old (e.g. a systemd StateDirectory)",
     set_tls_generate_dir},
    {"server-tls-root", "FILE[,FILE...]",
     "mutual TLS: ask QUIC/WebTransport clients for an optional certificate; one that chains "
     "to these PEM roots gets a cluster peer's rights (full access under its URL path), "
     "an untrusted one fails the handshake (repeatable)",
     set_server_tls_root},
    {"client-tls-cert", "FILE",
     "mutual TLS: PEM certificate chain presented on cluster dials; needs --client-tls-key",
     set_client_tls_cert},
    {"client-tls-key", "FILE", "PEM private key of --client-tls-cert", set_client_tls_key},
    {"http-bind", "ADDR:PORT|none",
     "TCP address of the HTTP endpoints [default: the UDP address and port]", set_http_bind},
    {"version", "ALPN",
     "offer only this version (repeatable or comma-separated): moq-lite-03, moq-lite-04, "
     "moq-lite-05, moql (in-band, IETF draft-14), moq-00 (IETF draft-14), moqt-15, moqt-16, "
     "moqt-17, moqt-18, moqt-19 [default all]",
     set_version},
    {"log-level", "LEVEL", "error, warn, info, debug or trace [default info]", set_log_level},
    {"cache-budget", "BYTES",
     "bytes of cached groups across all tracks, K/M/G suffixes; 0 = "
     "unlimited [default: 1/8 of the RAM, at most 1G]",
     set_cache_budget},
    {"linger", "DURATION",
     "keep a broadcast whose publisher vanished this long, so a reconnect resumes it "
     "[default 5s]",
     set_linger},
    {"idle-timeout", "DURATION",
     "close a connection silent for this long (a vanished client is noticed after it; live "
     "ones are kept alive with PINGs) [default 30s]",
     set_idle_timeout},
    {"fetch-timeout", "DURATION",
     "how long GET /fetch waits for a group that is not there or not complete yet "
     "(then 504) [default 10s]",
     set_fetch_timeout},
    {"auth-key", "FILE",
     "verify tokens (?jwt= in the connection URL) with this JWK or PEM public key "
     "(moq-token's format); without a key the relay is open to everyone",
     set_auth_key},
    {"auth-key-dir", "DIR", "verify tokens with DIR/<kid>.jwk, chosen by the token's kid",
     set_auth_key_dir},
    {"auth-public", "PREFIX",
     "serve this path prefix without a token (repeatable; \"\" = everything)", set_auth_public},
    {"max-sessions-per-root", "N",
     "with auth: live sessions per token root (tenant); more are refused with BoundsExceeded "
     "[default 256; 0 = default]",
     set_max_sessions_per_root},
    {"max-streams", "N", "per session: peer-opened streams at once [default 1024]",
     set_max_streams},
    {"max-subscriptions", "N", "per session: subscriptions / fetches served at once [default 256]",
     set_max_subscriptions},
    {"max-broadcasts", "N",
     "per session: broadcasts it may announce; one more closes it with BoundsExceeded (IETF: "
     "PUBLISH_NAMESPACE error) [default 4096]",
     set_max_broadcasts},
    {"max-tracks", "N", "per session: tracks it may subscribe to at once [default 1024]",
     set_max_tracks},

    /* limits: docs/relay.md "Limits" */
    {"cache-duration", "DURATION",
     "longest a track's groups stay cached, whatever its publisher asks [default 30s]",
     set_cache_duration},
    {"max-conns", "N", "QUIC connections in all [default 10000]", set_max_conns},
    {"max-conns-per-addr", "N",
     "QUIC connections per client IP address; 0 = no limit "
     "[default 256]",
     set_max_conns_per_addr},
    {"max-handshakes-per-addr", "N",
     "QUIC handshakes in progress per client IP address; "
     "0 = no limit [default 32]",
     set_max_handshakes_per_addr},
    {"new-conns-per-addr", "N",
     "new QUIC connections one client IP address may start per "
     "second; 0 = no limit [default 100]",
     set_new_conns_per_addr},
    {"handshake-timeout", "DURATION",
     "a QUIC handshake must complete within this "
     "[default 5s]",
     set_handshake_timeout},
    {"quic-retry", "MODE",
     "QUIC address validation with Retry: auto (when a client address has 4 or the "
     "relay 64 handshakes in progress), always or never [default auto]",
     set_quic_retry},
    {"setup-timeout", "DURATION",
     "a connection must complete its MoQ setup within this "
     "[default 5s]",
     set_setup_timeout},
    {"http-max-conns", "N",
     "HTTP connections in all; when full the one waiting longest "
     "for its request is closed [default 1024]",
     set_http_max_conns},
    {"http-max-conns-per-addr", "N", "HTTP connections per client IP address [default 16]",
     set_http_max_conns_per_addr},
    {"http-head-timeout", "DURATION",
     "an HTTP request head must be complete this long "
     "after its first byte [default 5s]",
     set_http_head_timeout},
    {"fetch-max-per-addr", "N",
     "GET /fetch requests waiting at once per client IP address "
     "(then 429) [default 8]",
     set_fetch_max_per_addr},
    {"fetch-max-tracks", "N",
     "tracks GET /fetch subscribes upstream at once (then 503) "
     "[default 64]",
     set_fetch_max_tracks},
    {"fetch-hold", "DURATION",
     "keep a track GET /fetch subscribed this long after its last "
     "request [default 10s]",
     set_fetch_hold},
    /* auth leeway and quotas (auth2) */
    {"auth-leeway", "DURATION",
     "accept a token this long after its exp / before its nbf (clock skew), as moq-token "
     "does; a session is closed at exp + leeway [default 60s]",
     set_auth_leeway},
    {"max-ingress-rate", "BYTES",
     "per session: bytes per second it may send (token bucket; K/M/G); a session over it is "
     "closed with BoundsExceeded; 0 = unlimited [default 32M]",
     set_max_ingress_rate},
    {"ingress-burst", "BYTES",
     "per session: the bucket of --max-ingress-rate, bytes it may send at once [default: one "
     "second of --max-ingress-rate]",
     set_ingress_burst},
    {"max-group-rate", "N",
     "per session: groups per second it may start, over all its tracks (token bucket); a "
     "session over it is closed with BoundsExceeded (IETF: TOO_MANY_REQUESTS); 0 = unlimited "
     "[default 4000]",
     set_max_group_rate},
    {"group-burst", "N",
     "per session: the bucket of --max-group-rate, groups it may start at once [default: one "
     "second of --max-group-rate]",
     set_group_burst},
    {"max-announce-prefixes", "N",
     "per session: announce-prefix subscriptions (ANNOUNCE_PLEASE) at once; more are reset "
     "with BoundsExceeded [default 64]",
     set_max_announce_prefixes},
    {"max-cache-per-root", "BYTES",
     "per root (tenant: the token root, or the connection path without auth): bytes of its "
     "groups cached; over it, its own oldest groups are evicted (K/M/G) "
     "[default: a quarter of --cache-budget]",
     set_max_cache_per_root},
    {"max-broadcasts-per-root", "N",
     "per root (tenant): broadcasts announced at once; a publisher over it is refused "
     "(lite: session closed with BoundsExceeded; IETF: PUBLISH_NAMESPACE error) [default 16384]",
     set_max_broadcasts_per_root},
    {"cluster-connect", "URL",
     "dial this cluster peer (repeatable or comma-separated; ?jwt=TOKEN and ?cost=N inline)",
     set_cluster_connect},
    {"cluster-connect-api", "URL|FILE",
     "dial the peers listed (a JSON array of URLs) by this http:// URL (every 30 s) or file "
     "(when it changes)",
     set_cluster_connect_api},
    {"cluster-node", "URL", "this relay's own URL, advertised with --cluster-mesh",
     set_cluster_node},
    {"cluster-mesh", NULL,
     "gossip: register --cluster-node under .internal/origins and dial the nodes seen there "
     "(=false to turn off)",
     set_cluster_mesh},
    {"cluster-token", "FILE",
     "JWT presented on cluster dials whose URL has no ?jwt=", set_cluster_token},
    {"cluster-id", "N", "this relay's origin (hop) id, 1 .. 2^53-1 [default random per start]",
     set_cluster_id},
    {"cluster-linger", "DURATION",
     "keep a broadcast that lost its last route this long (overrides --linger) [default 5s]",
     set_cluster_linger},
};

void relay_config_usage(FILE *out) {
  fprintf(out,
          "Usage: moqc-relay [OPTIONS]\n"
          "\n"
          "A Media-over-QUIC relay (moq-lite 03/04/05). One UDP port serves raw QUIC\n"
          "(ALPN moq-lite-0x) and WebTransport (HTTP/3); a TCP port serves HTTP. The\n"
          "URL path of a connection is its scope: broadcasts a client publishes at 'x'\n"
          "on /room appear as 'room/x' to the relay and as 'x' to every client on /room.\n"
          "\n"
          "Options:\n");
  for (size_t i = 0; i < sizeof k_opts / sizeof k_opts[0]; i++) {
    char left[64];
    snprintf(left, sizeof left, "--%s %s", k_opts[i].name, k_opts[i].arg ? k_opts[i].arg : "");
    fprintf(out, "  %-34s %s\n", left, k_opts[i].help);
  }
  fprintf(out, "  %-34s %s\n", "--config FILE",
          "read options from an INI file: 'key = value' lines with the option names as keys "
          "(sections are ignored; command-line flags override the file)");
  fprintf(out, "  %-34s %s\n", "--help", "show this help");
  fprintf(out,
          "\n"
          "HTTP endpoints: GET /certificate.sha256, /announced/<prefix>,\n"
          "/fetch/<broadcast>/<track>[?group=N], /health, /metrics.\n"
          "SIGINT/SIGTERM close every session (code 0, \"shutdown\") and exit 0.\n");
}

static const relay_opt *find_opt(const char *name, size_t n) {
  for (size_t i = 0; i < sizeof k_opts / sizeof k_opts[0]; i++)
    if (strlen(k_opts[i].name) == n && strncmp(k_opts[i].name, name, n) == 0) return &k_opts[i];
  return NULL;
}

static void defaults(relay_config *c) {
  memset(c, 0, sizeof *c);
  snprintf(c->bind_host, sizeof c->bind_host, "::");
  c->bind_port = 4443;
  c->log_level = MOQC_LOG_INFO;
  c->linger_ns = 5000000000ull;
  c->fetch_timeout_ms = 10000;
  c->cache_budget = RELAY_BUDGET_AUTO;
  c->cache_duration_ms = 30000;
  c->max_conns = 10000;
  c->max_conns_per_addr = 256;
  c->max_handshakes_per_addr = 32;
  c->new_conns_per_addr_per_s = 100;
  c->handshake_timeout_ms = 5000;
  c->setup_timeout_ms = 5000;
  c->http_max_conns = 1024;
  c->http_max_conns_per_addr = 16;
  c->http_head_timeout_ms = 5000;
  c->fetch_max_per_addr = 8;
  c->fetch_max_tracks = 64;
  c->fetch_hold_ms = 10000;
  auth2_defaults(c);
}

#ifdef RELAY_HAVE_INIH
typedef struct ini_ctx {
  parse_ctx *p;
  const char *path;
  bool failed;
} ini_ctx;

static int on_ini_line(void *user, const char *section, const char *name, const char *value) {
  (void)section;
  ini_ctx *ic = user;
  if (ic->failed) return 0;
  char key[64];
  snprintf(key, sizeof key, "%s", name);
  for (char *k = key; *k; k++)
    if (*k == '_') *k = '-';
  const relay_opt *o = find_opt(key, strlen(key));
  if (!o) {
    snprintf(ic->p->err, ic->p->err_cap, "%s: unknown key '%s'", ic->path, name);
    ic->failed = true;
    return 0;
  }
  char sub[512];
  if (o->set(ic->p, value) != 0) {
    snprintf(sub, sizeof sub, "%s", ic->p->err);
    snprintf(ic->p->err, ic->p->err_cap, "%s: %s", ic->path, sub);
    ic->failed = true;
    return 0;
  }
  return 1;
}
#endif

static int load_file(parse_ctx *p, const char *path) {
#ifdef RELAY_HAVE_INIH
  ini_ctx ic = {p, path, false};
  int rv = ini_parse(path, on_ini_line, &ic);
  if (ic.failed) return -1;
  if (rv == -1) {
    snprintf(p->err, p->err_cap, "--config: cannot read '%s': %s", path, strerror(errno));
    return -1;
  }
  if (rv != 0) {
    snprintf(p->err, p->err_cap, "%s:%d: syntax error (expected 'key = value')", path, rv);
    return -1;
  }
  return 0;
#else
  snprintf(p->err, p->err_cap, "--config %s: built without inih (INI support)", path);
  return -1;
#endif
}

/* "--name value" or "--name=value". Returns the option, sets *value and
 * advances *i past what it consumed; NULL with p->err set on error. */
static const relay_opt *next_flag(parse_ctx *p, int argc, char **argv, int *i, const char **value,
                                  bool *is_config) {
  const char *a = argv[*i];
  *is_config = false;
  if (strncmp(a, "--", 2) != 0) {
    snprintf(p->err, p->err_cap, "unexpected argument '%.200s' (see --help)", a);
    return NULL;
  }
  const char *name = a + 2, *eq = strchr(name, '=');
  size_t n = eq ? (size_t)(eq - name) : strlen(name);
  const relay_opt *o = find_opt(name, n);
  static const relay_opt config_opt = {"config", "FILE", "", NULL};
  if (!o && n == 6 && strncmp(name, "config", 6) == 0) {
    o = &config_opt;
    *is_config = true;
  }
  if (!o) {
    snprintf(p->err, p->err_cap, "unknown option '%.*s' (see --help)", (int)(n + 2), a);
    return NULL;
  }
  if (eq) {
    *value = eq + 1;
  } else if (!o->arg) { /* a boolean flag: --cluster-mesh */
    *value = "true";
  } else if (*i + 1 < argc) {
    *value = argv[++*i];
  } else {
    snprintf(p->err, p->err_cap, "--%s needs a value (%s)", o->name, o->arg);
    return NULL;
  }
  return o;
}

int relay_config_parse(relay_config *cfg, int argc, char **argv, char *err, size_t err_cap) {
  defaults(cfg);
  parse_ctx p = {cfg, false, false, err, err_cap};
  err[0] = 0;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
  /* Pass 1: the config file. */
  for (int i = 1; i < argc; i++) {
    const char *v;
    bool is_config;
    if (!next_flag(&p, argc, argv, &i, &v, &is_config)) return -1;
    if (is_config && load_file(&p, v) != 0) return -1;
  }
  /* Pass 2: flags override. */
  p.from_flags = true;
  for (int i = 1; i < argc; i++) {
    const char *v;
    bool is_config;
    const relay_opt *o = next_flag(&p, argc, argv, &i, &v, &is_config);
    if (!o) return -1;
    if (!is_config && o->set(&p, v) != 0) return -1;
  }
  if (!cfg->client_tls_cert[0] != !cfg->client_tls_key[0]) {
    snprintf(err, err_cap, "--client-tls-cert and --client-tls-key go together");
    return -1;
  }
  if (cfg->tls_cert[0] && !cfg->tls_key[0]) {
    snprintf(err, err_cap, "--tls-cert needs --tls-key");
    return -1;
  }
  if (cfg->tls_key[0] && !cfg->tls_cert[0]) {
    snprintf(err, err_cap, "--tls-key needs --tls-cert");
    return -1;
  }
  if (cfg->tls_cert[0] && cfg->tls_generate_dir[0]) {
    snprintf(err, err_cap, "--tls-cert and --tls-generate-dir are mutually exclusive");
    return -1;
  }
  if (cfg->tls_cert[0] && cfg->tls_generate[0]) {
    snprintf(err, err_cap, "--tls-cert and --tls-generate are mutually exclusive");
    return -1;
  }
  if (!cfg->tls_cert[0] && !cfg->tls_generate[0])
    snprintf(cfg->tls_generate, sizeof cfg->tls_generate, "localhost");
  return 0;
}
