/* moqc-relay clustering, as moq-relay does it (rs/moq-relay/src/cluster.rs,
 * doc/bin/relay/cluster.md; docs/cluster.md here).
 *
 * Peers are dialed with moqc_client; each outbound session both publishes the
 * relay origin to the peer and feeds what the peer announces into it (the same
 * origin, so the session's split horizon and hop lists apply). Routing is the
 * library's: every announcement carries its hop list, a session never offers a
 * route through the peer or back through us, and the origin serves the best of
 * several routes to the same broadcast (moqc_route_compare: cost, hops,
 * moq-relay's FNV tie-break) with one upstream subscription per track, failing
 * over to the next route without an end for the subscribers. `?cost=N` on a
 * peer URL prices that link (moqc_origin_with_link_cost).
 *
 * Peer sources, as moq-relay: static (--cluster-connect, never released),
 * connect-api (--cluster-connect-api, a JSON list of URLs re-read from a file
 * when it changes or from an http:// URL every 30 s; a bad list keeps the last
 * good one), gossip (--cluster-mesh: an empty broadcast at
 * .internal/origins/<node-url> registers this node; peers seen there are
 * dialed if their URL sorts after ours, so each pair opens one session).
 * Every peer is re-dialed forever with jittered exponential backoff (1 s .. 10 s;
 * reset once a session lasted 10 s).
 */
#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "moqc/auth.h"
#include "moqc/endpoint.h"
#include "moqc/error.h"
#include "moqc/path.h"
#include "relay.h"
#include "common/tool_util.h"

#define MESH_PREFIX ".internal/origins"
#define BACKOFF_BASE_MS 1000
#define BACKOFF_MAX_MS 10000
#define STABLE_MS 10000
#define GOSSIP_STALE_MS 60000
#define API_POLL_MS 30000
#define API_FILE_POLL_MS 1000

enum { SRC_STATIC = 1, SRC_GOSSIP = 2, SRC_API = 4 };

typedef struct peer {
  relay_cluster *cl;
  char key[1024]; /* identity: the URL without its query */
  char url[2048]; /* what we dial: ?cost= removed, the cluster token added */
  bool has_cost;
  uint64_t cost;
  unsigned sources;        /* SRC_* wanting this dial */
  uint64_t gossip_gone_at; /* ms; 0 = advertised (or not gossip) */
  moqc_client *client;
  moqc_origin *view; /* the relay origin, priced with the link cost */
  bool up;
  uint64_t conn_id;
  uint64_t connected_at; /* ms */
  uint64_t delay_ms;
  uint64_t dials, sessions;
  char last_error[160];
  uv_timer_t timer;
  struct peer *next;
} peer;

struct relay_cluster {
  relay *r;
  peer *peers;
  char token[4096];
  char self_key[1024];
  moqc_broadcast_producer *reg; /* our .internal/origins registration */
  moqc_origin_consumer *disco;  /* gossip discovery */
  uv_timer_t api_timer;
  bool api_timer_on;
  struct timespec api_mtime;
  off_t api_size;
  bool api_fetching;
  uint64_t next_conn;
  uint64_t dials_total;
  bool stopping;
};

static uint64_t now_ms(const relay_cluster *cl) { return uv_now(cl->r->loop); }

/* ---- URLs ------------------------------------------------------------------------ */

/* moq-relay's peer_url: a bare host or host:port means https://host/. */
static void peer_full_url(const char *in, char *out, size_t cap) {
  if (strstr(in, "://")) snprintf(out, cap, "%s", in);
  else snprintf(out, cap, "https://%s/", in);
}

/* Identity: scheme and host lower-cased, query dropped, "/" for an empty path. */
static void peer_key(const char *in, char *out, size_t cap) {
  char full[2048];
  peer_full_url(in, full, sizeof full);
  full[strcspn(full, "?#")] = 0;
  char *hs = strstr(full, "://");
  char *path = hs ? strchr(hs + 3, '/') : NULL;
  for (char *p = full; *p && (!path || p < path); p++) *p = (char)tolower((unsigned char)*p);
  if (snprintf(out, cap, "%s%s", full, path ? "" : "/") >= (int)cap) out[0] = 0; /* too long */
}

/* Remove ?cost=N (consumed locally). -1 on a bad value. */
static int take_cost(char *url, bool *has, uint64_t *cost) {
  *has = false;
  char *q = strchr(url, '?');
  if (!q) return 0;
  char out[2048];
  size_t n = (size_t)(q - url);
  memcpy(out, url, n);
  out[n] = 0;
  char sep = '?';
  char *s = q + 1;
  while (*s) {
    size_t len = strcspn(s, "&");
    if (len > 5 && strncmp(s, "cost=", 5) == 0) {
      char num[32];
      snprintf(num, sizeof num, "%.*s", (int)(len - 5), s + 5);
      if (moqc_tool_parse_u64(num, cost) != 0) return -1;
      *has = true;
    } else if (len) {
      size_t o = strlen(out);
      snprintf(out + o, sizeof out - o, "%c%.*s", sep, (int)len, s);
      sep = '&';
    }
    s += len;
    if (*s == '&') s++;
  }
  memcpy(url, out, strlen(out) + 1);
  return 0;
}

static bool has_jwt(const char *url) {
  const char *q = strchr(url, '?');
  while (q) {
    q++;
    if (strncmp(q, "jwt=", 4) == 0 && q[4] && q[4] != '&') return true;
    q = strchr(q, '&');
  }
  return false;
}

/* .internal/origins/<advertised> -> a URL: the path collapsed "//". */
static void advertised_url(const char *path, char *out, size_t cap) {
  char adv[MOQC_PATH_MAX_LEN + 1];
  if (moqc_path_strip_prefix(adv, sizeof adv, path, MESH_PREFIX) < 0) adv[0] = 0;
  const char *slash = strchr(adv, '/');
  if (slash && slash > adv && slash[-1] == ':')
    snprintf(out, cap, "%.*s//%s", (int)(slash - adv), adv, slash + 1);
  else snprintf(out, cap, "%s", adv);
}

/* ---- dialing --------------------------------------------------------------------- */

#define CLUSTER_WEBSOCKET_DELAY_MS 2000u

static void dial(peer *p);

static void peer_timer_fired(uv_timer_t *t) { dial(t->data); }

static void schedule_redial(peer *p) {
  relay_cluster *cl = p->cl;
  if (cl->stopping) return;
  uint64_t wait = p->delay_ms / 2 + (uint64_t)rand() % (p->delay_ms / 2 + 1); /* jitter 0.5..1 */
  p->delay_ms = p->delay_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->delay_ms * 2;
  uv_timer_start(&p->timer, peer_timer_fired, wait, 0);
}

static void on_connected(void *ctx, moqc_client *c, int err, const char *msg) {
  peer *p = ctx;
  (void)c;
  if (err != MOQC_OK) {
    snprintf(p->last_error, sizeof p->last_error, "%s", msg && *msg ? msg : moqc_err_str(err));
    moqc_log(MOQC_LOG_WARN, "cluster peer %s error; will retry: %s", p->key, p->last_error);
    moqc_client_del(p->client);
    p->client = NULL;
    schedule_redial(p);
    return;
  }
  p->up = true;
  p->sessions++;
  p->connected_at = now_ms(p->cl);
  p->conn_id = ++p->cl->next_conn;
  p->last_error[0] = 0;
  moqc_log(MOQC_LOG_INFO, "cluster peer %s connected (conn %llu, peer origin %llu)", p->key,
           (unsigned long long)p->conn_id,
           (unsigned long long)moqc_session_peer_origin(moqc_client_session(p->client)));
}

static void on_closed(void *ctx, moqc_client *c, uint64_t code, const char *reason, bool by_peer) {
  peer *p = ctx;
  (void)c;
  (void)by_peer;
  bool stable = now_ms(p->cl) - p->connected_at >= STABLE_MS;
  if (stable) p->delay_ms = BACKOFF_BASE_MS;
  p->up = false;
  snprintf(p->last_error, sizeof p->last_error, "closed: code %llu %s", (unsigned long long)code,
           reason ? reason : "");
  moqc_log(MOQC_LOG_WARN, "cluster peer %s session closed (code %llu%s%s); reconnecting", p->key,
           (unsigned long long)code, reason && *reason ? ", " : "", reason ? reason : "");
  moqc_client_del(p->client);
  p->client = NULL;
  schedule_redial(p);
}

static void dial(peer *p) {
  relay_cluster *cl = p->cl;
  relay *r = cl->r;
  if (cl->stopping || p->client) return;
  if (p->sources == SRC_GOSSIP && p->gossip_gone_at &&
      now_ms(cl) - p->gossip_gone_at >= GOSSIP_STALE_MS) {
    p->sources = 0; /* released; freed by the next sweep */
    return;
  }
  if (!p->sources) return;
  moqc_client_config cc = {
      .uv = r->uv,
      .url = p->url,
      .publish = p->view,
      .subscribe = p->view,
      /* --client-tls-cert/--client-tls-key: the certificate a peer with
       * --server-tls-root takes as a cluster credential (mTLS). */
      .tls = {.cert_file = r->cfg.client_tls_cert[0] ? r->cfg.client_tls_cert : NULL,
              .key_file = r->cfg.client_tls_key[0] ? r->cfg.client_tls_key : NULL},
      .limits = {.idle_timeout_ms = r->cfg.idle_timeout_ms},
      .session_limits = r->cfg.session_limits,
      /* A relay-to-relay link is long-lived: prefer QUIC. WebSocket starts
       * only if QUIC is not up after CLUSTER_WEBSOCKET_DELAY_MS (a client's
       * 200 ms head start would hand a lossy, high-RTT link to TCP). */
      .websocket_delay_ms = CLUSTER_WEBSOCKET_DELAY_MS,
      .on_connected = on_connected,
      .on_closed = on_closed,
      .ctx = p,
      .log = moqc_tool_logger(),
  };
  /* A link carries every broadcast of the peer: --max-group-rate is a cap
   * per publisher, not on the sum of a cluster's (docs/relay.md Limits). */
  cc.session_limits.max_group_rate = 0;
  char msg[256] = "";
  p->dials++;
  cl->dials_total++;
  int rv = moqc_client_connect(&cc, &p->client, msg, sizeof msg);
  if (rv != MOQC_OK) {
    p->client = NULL;
    snprintf(p->last_error, sizeof p->last_error, "%s", msg[0] ? msg : moqc_err_str(rv));
    moqc_log(MOQC_LOG_WARN, "cluster peer %s error; will retry: %s", p->key, p->last_error);
    schedule_redial(p);
    return;
  }
  char shown[1024];
  moqc_auth_redact_url(p->url, shown, sizeof shown);
  moqc_log(MOQC_LOG_INFO, "dialing cluster peer %s", shown);
}

static void peer_close_cb(uv_handle_t *h) { free(h->data); }

static void peer_free(peer *p) {
  uv_timer_stop(&p->timer);
  if (p->client) moqc_client_del(p->client);
  p->client = NULL;
  moqc_origin_unref(p->view);
  p->view = NULL;
  uv_close((uv_handle_t *)&p->timer, peer_close_cb);
}

static peer *peer_find(relay_cluster *cl, const char *key) {
  for (peer *p = cl->peers; p; p = p->next)
    if (strcmp(p->key, key) == 0) return p;
  return NULL;
}

/* Drop peers no source wants any more. */
static void sweep(relay_cluster *cl) {
  peer **pp = &cl->peers;
  while (*pp) {
    peer *p = *pp;
    if (p->sources) {
      pp = &p->next;
      continue;
    }
    moqc_log(MOQC_LOG_INFO, "cluster peer %s released", p->key);
    *pp = p->next;
    peer_free(p);
  }
}

/* Want a dial to spec (a URL, ?cost= / ?jwt= allowed) from source src. A new
 * URL for a peer owned by the same source replaces its session. */
static int want_peer(relay_cluster *cl, const char *spec, unsigned src, char *err, size_t cap) {
  char url[2048], key[1024];
  peer_full_url(spec, url, sizeof url);
  bool has_cost = false;
  uint64_t cost = 0;
  if (take_cost(url, &has_cost, &cost) != 0) {
    snprintf(err, cap, "invalid cost on cluster peer URL '%.200s'", spec);
    return -1;
  }
  peer_key(url, key, sizeof key);
  if (strcmp(key, cl->self_key) == 0) return 0; /* never dial ourselves */
  if (cl->token[0] && !has_jwt(url)) {
    size_t n = strlen(url);
    if (snprintf(url + n, sizeof url - n, "%cjwt=%s", strchr(url, '?') ? '&' : '?', cl->token) >=
        (int)(sizeof url - n)) {
      snprintf(err, cap, "cluster peer URL + token too long");
      return -1;
    }
  }
  peer *p = peer_find(cl, key);
  if (p) {
    p->sources |= src;
    if (src == SRC_GOSSIP) p->gossip_gone_at = 0;
    if (strcmp(p->url, url) == 0 && p->has_cost == has_cost && p->cost == cost) return 0;
    if (src != SRC_API || (p->sources & SRC_STATIC)) return 0; /* static config wins */
    moqc_log(MOQC_LOG_INFO, "cluster peer %s changed; redialing", key);
    if (p->client) moqc_client_del(p->client);
    p->client = NULL;
    p->up = false;
    moqc_origin_unref(p->view);
    p->view = NULL;
  } else {
    p = calloc(1, sizeof *p);
    if (!p) {
      snprintf(err, cap, "out of memory");
      return -1;
    }
    p->cl = cl;
    p->sources = src;
    snprintf(p->key, sizeof p->key, "%s", key);
    uv_timer_init(cl->r->loop, &p->timer);
    p->timer.data = p;
    p->next = cl->peers;
    cl->peers = p;
  }
  snprintf(p->url, sizeof p->url, "%s", url);
  p->has_cost = has_cost;
  p->cost = cost;
  p->delay_ms = BACKOFF_BASE_MS;
  p->view =
      has_cost ? moqc_origin_with_link_cost(cl->r->origin, cost) : moqc_origin_ref(cl->r->origin);
  if (!p->view) {
    snprintf(err, cap, "out of memory");
    return -1;
  }
  uv_timer_stop(&p->timer);
  dial(p);
  return 0;
}

/* ---- gossip ------------------------------------------------------------------------ */

static void on_disco(void *arg) {
  relay_cluster *cl = arg;
  moqc_announce a;
  while (moqc_origin_consumer_next(cl->disco, &a) == MOQC_OK) {
    if (a.restart) continue;
    char url[2048], key[1024], err[256];
    advertised_url(a.path, url, sizeof url);
    peer_key(url, key, sizeof key);
    /* The tie-break: only dial peers that sort after us; they dial us otherwise. */
    if (strcmp(key, cl->self_key) <= 0) continue;
    if (a.active) {
      if (want_peer(cl, url, SRC_GOSSIP, err, sizeof err) != 0)
        moqc_log(MOQC_LOG_WARN, "invalid gossiped cluster peer '%s': %s", url, err);
    } else {
      peer *p = peer_find(cl, key);
      if (p && (p->sources & SRC_GOSSIP) && !p->gossip_gone_at) p->gossip_gone_at = now_ms(cl);
    }
  }
}

/* ---- connect-api ---------------------------------------------------------------------- */

/* Parse a JSON array of strings (no escapes other than \" \\ \/). Returns the
 * count, or -1 if it is not one. */
static int parse_list(const char *s, char out[][1024], int max) {
  int n = 0;
  while (isspace((unsigned char)*s)) s++;
  if (*s++ != '[') return -1;
  for (;;) {
    while (isspace((unsigned char)*s)) s++;
    if (*s == ']' && n == 0) return 0;
    if (*s++ != '"') return -1;
    if (n >= max) return -1;
    size_t k = 0;
    while (*s && *s != '"') {
      char ch = *s++;
      if (ch == '\\') {
        ch = *s++;
        if (ch != '"' && ch != '\\' && ch != '/') return -1;
      }
      if (k + 1 >= 1024) return -1;
      out[n][k++] = ch;
    }
    if (*s++ != '"') return -1;
    out[n++][k] = 0;
    while (isspace((unsigned char)*s)) s++;
    if (*s == ',') {
      s++;
      continue;
    }
    if (*s++ != ']') return -1;
    while (isspace((unsigned char)*s)) s++;
    return *s ? -1 : n;
  }
}

#define API_MAX 64

static void apply_list(relay_cluster *cl, const char *body) {
  static char list[API_MAX][1024];
  int n = parse_list(body, list, API_MAX);
  if (n < 0) {
    moqc_log(MOQC_LOG_WARN,
             "cluster connect-api: not a JSON array of peer URLs; keeping "
             "current peers");
    return;
  }
  char keys[API_MAX][1024];
  for (int i = 0; i < n; i++) { /* validate everything first: all or nothing */
    char url[2048];
    bool has;
    uint64_t cost;
    peer_full_url(list[i], url, sizeof url);
    if (take_cost(url, &has, &cost) != 0) {
      moqc_log(MOQC_LOG_WARN, "cluster connect-api: invalid entry '%s'; keeping current peers",
               list[i]);
      return;
    }
    peer_key(url, keys[i], sizeof keys[i]);
  }
  for (peer *p = cl->peers; p; p = p->next) {
    if (!(p->sources & SRC_API)) continue;
    bool listed = false;
    for (int i = 0; i < n && !listed; i++) listed = strcmp(keys[i], p->key) == 0;
    if (!listed) p->sources &= ~(unsigned)SRC_API;
  }
  char err[256];
  for (int i = 0; i < n; i++)
    if (want_peer(cl, list[i], SRC_API, err, sizeof err) != 0)
      moqc_log(MOQC_LOG_WARN, "cluster connect-api: %s", err);
  sweep(cl);
}

static void cl_maybe_free(relay_cluster *cl);

static void api_got(void *ctx, int err, uint16_t status, const uint8_t *body, size_t len) {
  relay_cluster *cl = ctx;
  cl->api_fetching = false;
  if (cl->stopping) {
    cl_maybe_free(cl);
    return;
  }
  if (err != MOQC_OK || status != 200 || len > 60000) {
    moqc_log(MOQC_LOG_WARN,
             "cluster connect-api fetch failed (%s, status %u); keeping current "
             "peers",
             moqc_err_str(err), status);
    return;
  }
  char *s = malloc(len + 1);
  if (!s) return;
  memcpy(s, body, len);
  s[len] = 0;
  apply_list(cl, s);
  free(s);
}

static void api_tick(uv_timer_t *t) {
  relay_cluster *cl = t->data;
  const char *src = cl->r->cfg.cluster_connect_api;
  if (strncmp(src, "http://", 7) == 0) {
    if (cl->api_fetching) return;
    char host[RELAY_HOST_MAX], path[2048];
    uint16_t port = 80;
    const char *hp = src + 7, *slash = strchr(hp, '/');
    char hostport[300];
    snprintf(hostport, sizeof hostport, "%.*s", (int)(slash ? (size_t)(slash - hp) : strlen(hp)),
             hp);
    if (moqc_tool_parse_hostport(hostport, host, sizeof host, &port) != 0) { /* no port */
      port = 80;
      if (snprintf(host, sizeof host, "%s", hostport) >= (int)sizeof host) return;
    }
    snprintf(path, sizeof path, "%s", slash ? slash : "/");
    if (cl->r->cfg.cluster_node[0]) {
      size_t n = strlen(path);
      snprintf(path + n, sizeof path - n, "%cnode=%s", strchr(path, '?') ? '&' : '?',
               cl->r->cfg.cluster_node);
    }
    if (moqc_http_get(cl->r->loop, host, port, path, 10000, api_got, cl) == MOQC_OK)
      cl->api_fetching = true;
    return;
  }
  const char *file = strncmp(src, "file://", 7) == 0 ? src + 7 : src;
  struct stat st;
  if (stat(file, &st) != 0) return; /* keep the last good list */
  if (st.st_mtim.tv_sec == cl->api_mtime.tv_sec && st.st_mtim.tv_nsec == cl->api_mtime.tv_nsec &&
      st.st_size == cl->api_size)
    return;
  cl->api_mtime = st.st_mtim;
  cl->api_size = st.st_size;
  FILE *f = fopen(file, "r");
  if (!f) return;
  char *body = calloc(1, 65537);
  size_t n = body ? fread(body, 1, 65536, f) : 0;
  fclose(f);
  if (body) {
    body[n] = 0;
    apply_list(cl, body);
  }
  free(body);
}

/* ---- start / stop -------------------------------------------------------------------- */

int relay_cluster_start(relay *r, char *err, size_t cap) {
  relay_config *c = &r->cfg;
  bool outbound = c->n_cluster_connect || c->cluster_connect_api[0];
  if (c->cluster_mesh && !c->cluster_node[0]) {
    snprintf(err, cap,
             "--cluster-mesh (gossip) requires --cluster-node <self-url>, the address "
             "to advertise");
    return -1;
  }
  if (!outbound && !c->cluster_mesh) return 0; /* standalone */
  relay_cluster *cl = calloc(1, sizeof *cl);
  if (!cl) {
    snprintf(err, cap, "out of memory");
    return -1;
  }
  cl->r = r;
  r->cluster = cl;
  srand((unsigned)(uv_hrtime() ^ moqc_origin_id(r->origin)));
  if (c->cluster_node[0]) peer_key(c->cluster_node, cl->self_key, sizeof cl->self_key);
  if (c->cluster_token[0]) {
    FILE *f = fopen(c->cluster_token, "r");
    size_t n = f ? fread(cl->token, 1, sizeof cl->token - 1, f) : 0;
    if (f) fclose(f);
    if (!f || !n) {
      snprintf(err, cap, "--cluster-token: cannot read '%s'", c->cluster_token);
      return -1;
    }
    cl->token[n] = 0;
    while (n && isspace((unsigned char)cl->token[n - 1])) cl->token[--n] = 0;
  }
  moqc_log(MOQC_LOG_INFO, "cluster: origin id %llu%s%s",
           (unsigned long long)moqc_origin_id(r->origin), c->cluster_node[0] ? ", node " : "",
           c->cluster_node);
  if (c->cluster_mesh) { /* registration: an empty broadcast at .internal/origins/<node> */
    char path[MOQC_PATH_MAX_LEN + 1];
    cl->reg = moqc_broadcast_producer_new(moqc_uv_env(r->uv));
    moqc_broadcast_consumer *bc = cl->reg ? moqc_broadcast_producer_consume(cl->reg) : NULL;
    int rv =
        bc ? (int)moqc_path_join(path, sizeof path, MESH_PREFIX, c->cluster_node) : MOQC_ERR_NOMEM;
    if (rv >= 0) rv = moqc_origin_publish(r->origin, path, bc, NULL);
    moqc_broadcast_consumer_del(bc);
    if (rv < 0) {
      snprintf(err, cap, "--cluster-node '%s': cannot register: %s", c->cluster_node,
               moqc_err_str(rv));
      return -1;
    }
    moqc_log(MOQC_LOG_INFO, "advertising cluster node %s at %s", c->cluster_node, path);
    cl->disco = moqc_origin_consume(r->origin, MESH_PREFIX);
    if (!cl->disco) {
      snprintf(err, cap, "out of memory");
      return -1;
    }
  }
  for (size_t i = 0; i < c->n_cluster_connect; i++)
    if (want_peer(cl, c->cluster_connect[i], SRC_STATIC, err, cap) != 0) return -1;
  if (c->cluster_connect_api[0]) {
    uv_timer_init(r->loop, &cl->api_timer);
    cl->api_timer.data = cl;
    cl->api_timer_on = true;
    uint64_t every =
        strncmp(c->cluster_connect_api, "http://", 7) == 0 ? API_POLL_MS : API_FILE_POLL_MS;
    uv_timer_start(&cl->api_timer, api_tick, 0, every);
  }
  if (cl->disco) moqc_origin_consumer_set_waker(cl->disco, on_disco, cl);
  return 0;
}

static void cl_maybe_free(relay_cluster *cl) {
  if (cl->stopping && !cl->api_fetching && !cl->api_timer_on) free(cl);
}

static void api_closed(uv_handle_t *h) {
  relay_cluster *cl = h->data;
  cl->api_timer_on = false;
  cl_maybe_free(cl);
}

void relay_cluster_stop(relay *r) {
  relay_cluster *cl = r->cluster;
  if (!cl) return;
  r->cluster = NULL;
  cl->stopping = true;
  while (cl->peers) {
    peer *p = cl->peers;
    cl->peers = p->next;
    peer_free(p);
  }
  moqc_origin_consumer_del(cl->disco);
  cl->disco = NULL;
  if (cl->reg) {
    moqc_broadcast_producer_finish(cl->reg);
    moqc_broadcast_producer_del(cl->reg);
    cl->reg = NULL;
  }
  if (cl->api_timer_on) uv_close((uv_handle_t *)&cl->api_timer, api_closed);
  else cl_maybe_free(cl); /* or when the connect-api fetch in flight answers */
}

/* ---- observability ------------------------------------------------------------------- */

static void out_printf(relay_body *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(relay_body *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char tmp[4096];
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof tmp) n = (int)sizeof tmp - 1;
  if (b->len + (size_t)n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + (size_t)n + 1) cap *= 2;
    if (cap > ((size_t)32 << 20)) return;
    char *p = realloc(b->p, cap);
    if (!p) return;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, tmp, (size_t)n);
  b->len += (size_t)n;
  b->p[b->len] = 0;
}

/* A JSON string (the characters URLs and paths hold; others escaped). */
static void out_json_str(relay_body *b, const char *s) {
  out_printf(b, "\"");
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') out_printf(b, "\\%c", ch);
    else if (ch < 0x20) out_printf(b, "\\u%04x", ch);
    else out_printf(b, "%c", ch);
  }
  out_printf(b, "\"");
}

void relay_cluster_metrics(relay *r, relay_body *b) {
  relay_cluster *cl = r->cluster;
  size_t n = 0, up = 0;
  uint64_t routes = 0, tracks = 0;
  for (peer *p = cl ? cl->peers : NULL; p; p = p->next) {
    n++;
    if (!p->up || !p->client) continue;
    up++;
    moqc_session_stats s = moqc_session_get_stats(moqc_client_session(p->client));
    routes += s.remote_broadcasts;
    tracks += s.remote_tracks;
  }
  out_printf(b,
             "# HELP moqc_relay_cluster_origin_id This relay's origin (hop) id.\n"
             "# TYPE moqc_relay_cluster_origin_id gauge\nmoqc_relay_cluster_origin_id %llu\n",
             (unsigned long long)moqc_origin_id(r->origin));
  out_printf(b,
             "# HELP moqc_relay_cluster_peers Cluster peers this relay dials.\n"
             "# TYPE moqc_relay_cluster_peers gauge\nmoqc_relay_cluster_peers %zu\n",
             n);
  out_printf(b,
             "# HELP moqc_relay_cluster_peers_up Dialed cluster peers with a live session.\n"
             "# TYPE moqc_relay_cluster_peers_up gauge\nmoqc_relay_cluster_peers_up %zu\n",
             up);
  out_printf(b,
             "# HELP moqc_relay_cluster_dials_total Cluster dial attempts.\n"
             "# TYPE moqc_relay_cluster_dials_total counter\n"
             "moqc_relay_cluster_dials_total %llu\n",
             (unsigned long long)(cl ? cl->dials_total : 0));
  out_printf(b,
             "# HELP moqc_relay_cluster_routes Broadcasts announced to us by dialed peers.\n"
             "# TYPE moqc_relay_cluster_routes gauge\nmoqc_relay_cluster_routes %llu\n",
             (unsigned long long)routes);
  out_printf(b,
             "# HELP moqc_relay_cluster_upstream_tracks Tracks subscribed from dialed peers "
             "(inbound peers count in moqc_relay_upstream_tracks).\n"
             "# TYPE moqc_relay_cluster_upstream_tracks gauge\n"
             "moqc_relay_cluster_upstream_tracks %llu\n",
             (unsigned long long)tracks);
  if (!cl || !cl->peers) return;
  out_printf(b,
             "# HELP moqc_relay_cluster_peer_up 1 if the session to this peer is up.\n"
             "# TYPE moqc_relay_cluster_peer_up gauge\n");
  for (peer *p = cl->peers; p; p = p->next)
    out_printf(b, "moqc_relay_cluster_peer_up{peer=\"%s\"} %d\n", p->key, p->up ? 1 : 0);
  out_printf(b,
             "# HELP moqc_relay_cluster_peer_upstream_tracks Tracks subscribed from this peer.\n"
             "# TYPE moqc_relay_cluster_peer_upstream_tracks gauge\n");
  for (peer *p = cl->peers; p; p = p->next) {
    uint64_t t = 0;
    if (p->up && p->client)
      t = moqc_session_get_stats(moqc_client_session(p->client)).remote_tracks;
    out_printf(b, "moqc_relay_cluster_peer_upstream_tracks{peer=\"%s\"} %llu\n", p->key,
               (unsigned long long)t);
  }
  out_printf(b,
             "# HELP moqc_relay_cluster_peer_routes Broadcasts this peer announced to us.\n"
             "# TYPE moqc_relay_cluster_peer_routes gauge\n");
  for (peer *p = cl->peers; p; p = p->next) {
    uint64_t t = 0;
    if (p->up && p->client)
      t = moqc_session_get_stats(moqc_client_session(p->client)).remote_broadcasts;
    out_printf(b, "moqc_relay_cluster_peer_routes{peer=\"%s\"} %llu\n", p->key,
               (unsigned long long)t);
  }
}

static void out_route(relay_body *b, const moqc_route *rt) {
  out_printf(b, "{\"hops\":[");
  for (size_t i = 0; i < rt->n_hops; i++)
    out_printf(b, "%s\"%llu\"", i ? "," : "", (unsigned long long)rt->hops[i]);
  out_printf(b, "],\"hop_count\":%zu,\"cost\":%llu}", rt->n_hops, (unsigned long long)rt->cost);
}

/* moq-relay's /nodes: {"nodes":[{node, origin_id, announced{hops,hop_count,cost},
 * connections[{id, direction}]}]}, from the registrations under
 * .internal/origins and our outbound sessions; plus "broadcasts": the served
 * route of every other broadcast (what this relay pulls, from where). */
void relay_cluster_nodes(relay *r, relay_body *b) {
  relay_cluster *cl = r->cluster;
  out_printf(b, "{\"origin_id\":\"%llu\",\"nodes\":[",
             (unsigned long long)moqc_origin_id(r->origin));
  bool first = true;
  moqc_origin_consumer *c = moqc_origin_consume(r->origin, MESH_PREFIX);
  moqc_announce a;
  while (c && moqc_origin_consumer_next(c, &a) == MOQC_OK) {
    if (!a.active) continue;
    char url[2048], key[1024];
    advertised_url(a.path, url, sizeof url);
    peer_key(url, key, sizeof key);
    uint64_t oid = a.route->n_hops ? a.route->hops[0] : moqc_origin_id(r->origin);
    out_printf(b, "%s{\"node\":", first ? "" : ",");
    out_json_str(b, key);
    out_printf(b, ",\"origin_id\":\"%llu\",\"announced\":", (unsigned long long)oid);
    out_route(b, a.route);
    out_printf(b, ",\"connections\":[");
    peer *p = cl ? peer_find(cl, key) : NULL;
    if (p && p->up)
      out_printf(b, "{\"id\":%llu,\"direction\":\"outbound\"}", (unsigned long long)p->conn_id);
    out_printf(b, "]}");
    first = false;
  }
  moqc_origin_consumer_del(c);
  /* dialed peers that have not registered (no --cluster-mesh there) */
  for (peer *p = cl ? cl->peers : NULL; p; p = p->next) {
    char path[MOQC_PATH_MAX_LEN + 1];
    char adv[1024];
    snprintf(adv, sizeof adv, "%s", p->key);
    bool registered = false;
    if (moqc_path_join(path, sizeof path, MESH_PREFIX, adv) >= 0) {
      int err = 0;
      moqc_broadcast_consumer *bc = moqc_origin_request(r->origin, path, &err);
      registered = bc != NULL;
      moqc_broadcast_consumer_del(bc);
    }
    if (registered) continue;
    out_printf(b, "%s{\"node\":", first ? "" : ",");
    out_json_str(b, p->key);
    uint64_t oid = p->up ? moqc_session_peer_origin(moqc_client_session(p->client)) : 0;
    if (oid) out_printf(b, ",\"origin_id\":\"%llu\"", (unsigned long long)oid);
    else out_printf(b, ",\"origin_id\":null");
    out_printf(b, ",\"announced\":null,\"connections\":[");
    if (p->up)
      out_printf(b, "{\"id\":%llu,\"direction\":\"outbound\"}", (unsigned long long)p->conn_id);
    out_printf(b, "]}");
    first = false;
  }
  out_printf(b, "],\"peers\":[");
  first = true;
  for (peer *p = cl ? cl->peers : NULL; p; p = p->next) {
    out_printf(b, "%s{\"peer\":", first ? "" : ",");
    out_json_str(b, p->key);
    out_printf(b, ",\"up\":%s,\"cost\":", p->up ? "true" : "false");
    if (p->has_cost) out_printf(b, "%llu", (unsigned long long)p->cost);
    else out_printf(b, "null");
    out_printf(b, ",\"sources\":[%s%s%s%s%s],\"dials\":%llu,\"sessions\":%llu,\"last_error\":",
               p->sources & SRC_STATIC ? "\"connect\"" : "",
               (p->sources & SRC_STATIC) && (p->sources & ~(unsigned)SRC_STATIC) ? "," : "",
               p->sources & SRC_API ? "\"connect_api\"" : "",
               (p->sources & SRC_API) && (p->sources & SRC_GOSSIP) ? "," : "",
               p->sources & SRC_GOSSIP ? "\"gossip\"" : "", (unsigned long long)p->dials,
               (unsigned long long)p->sessions);
    out_json_str(b, p->last_error);
    out_printf(b, "}");
    first = false;
  }
  out_printf(b, "],\"broadcasts\":[");
  first = true;
  c = moqc_origin_consume(r->origin, "");
  while (c && moqc_origin_consumer_next(c, &a) == MOQC_OK) {
    if (!a.active || moqc_path_has_prefix(a.path, ".internal")) continue;
    out_printf(b, "%s{\"path\":", first ? "" : ",");
    out_json_str(b, a.path);
    out_printf(b, ",\"route\":");
    out_route(b, a.route);
    out_printf(b, "}");
    first = false;
  }
  moqc_origin_consumer_del(c);
  out_printf(b, "]}\n");
}
