/* moqc-relay: internal interfaces between the relay's files.
 *
 *   config.c   flags + INI config file -> relay_config
 *   relay.c    the server: sessions, scope roots, counters, shutdown
 *   http.c     the TCP HTTP endpoints (/certificate.sha256, /announced,
 *              /fetch, /health, /metrics)
 *   main.c     start-up and the event loop
 *   cluster.c  clustering: peer dials, gossip, connect-api, /nodes, cluster
 *              metrics (docs/cluster.md)
 */
#ifndef MOQC_TOOLS_RELAY_H
#define MOQC_TOOLS_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "moqc/endpoint.h"
#include "moqc/model.h"
#include "moqc/quic.h"
#include "moqc/http.h"

#define RELAY_MAX_VERSIONS 16
#define RELAY_HOST_MAX 256
#define RELAY_MAX_PUBLIC 16
#define RELAY_MAX_PEERS 32
#define RELAY_MAX_TLS_ROOTS 16

typedef struct relay_config {
  char bind_host[RELAY_HOST_MAX];
  uint16_t bind_port;
  char tls_cert[1024];
  char tls_key[1024];
  char tls_generate[1024];     /* comma-separated host names */
  char tls_generate_dir[1024]; /* --tls-generate-dir: keep the generated cert here */
  /* mutual TLS (docs/cluster.md "mTLS"): moq-relay's server.tls.root and
   * client.tls.cert / client.tls.key */
  char server_tls_root[RELAY_MAX_TLS_ROOTS][1024]; /* --server-tls-root FILE (repeatable) */
  size_t n_server_tls_root;
  char client_tls_cert[1024]; /* --client-tls-cert FILE: presented on cluster dials */
  char client_tls_key[1024];  /* --client-tls-key FILE */
  bool http_none;             /* --http-bind none */
  bool http_set;              /* --http-bind given (else: the UDP address + port) */
  char http_host[RELAY_HOST_MAX];
  uint16_t http_port;
  char versions[RELAY_MAX_VERSIONS][32];
  size_t n_versions; /* 0 = every supported version */
  int log_level;
  uint64_t cache_budget; /* bytes, 0 = unlimited */
  uint64_t linger_ns;
  uint64_t idle_timeout_ms;                /* 0 = the QUIC default (30 s) */
  uint64_t fetch_timeout_ms;               /* how long GET /fetch waits for its group */
  char auth_key[1024];                     /* --auth-key FILE: one JWK / PEM key */
  char auth_key_dir[1024];                 /* --auth-key-dir DIR: <kid>.jwk files */
  char auth_public[RELAY_MAX_PUBLIC][256]; /* --auth-public PREFIX (repeatable) */
  size_t n_auth_public;
  /* quotas (0 = the library default / unlimited, see docs/relay.md) */
  uint64_t max_sessions_per_root;     /* live sessions per token root (tenant), with auth */
  uint64_t max_cache_per_root;        /* cached bytes per tenant [cache_budget / 4] */
  uint64_t max_broadcasts_per_root;   /* broadcasts per tenant [16384] */
  moqc_session_limits session_limits; /* per session: streams, subscriptions, broadcasts, tracks,
                                         announce prefixes, ingress rate + burst */
  /* Limits (docs/relay.md "Limits"); counts: 0 = no limit. */
  uint64_t cache_duration_ms; /* clamp of every track's cache window */
  uint64_t max_conns, max_conns_per_addr, max_handshakes_per_addr, new_conns_per_addr_per_s;
  uint64_t handshake_timeout_ms, setup_timeout_ms;
  moqc_quic_retry quic_retry; /* --quic-retry */
  uint64_t http_max_conns, http_max_conns_per_addr, http_head_timeout_ms;
  uint64_t fetch_max_per_addr, fetch_max_tracks, fetch_hold_ms;
  /* auth2 block: leeway (see config.c "auth leeway and quotas") */
  uint64_t auth_leeway_s; /* exp / nbf leeway in seconds [60, moq-token's] */
  /* cluster (cluster.c, docs/cluster.md): moq-relay's [cluster] keys */
  char cluster_connect[RELAY_MAX_PEERS][1024]; /* --cluster-connect URL (repeatable) */
  size_t n_cluster_connect;
  char cluster_connect_api[1024]; /* --cluster-connect-api URL|FILE */
  char cluster_node[1024];        /* --cluster-node URL: this relay's own */
  bool cluster_mesh;              /* --cluster-mesh: gossip */
  char cluster_token[1024];       /* --cluster-token FILE: JWT for outbound dials */
  uint64_t cluster_id;            /* --cluster-id N: the origin (hop) id, 0 = random */
  uint64_t cluster_linger_ns;     /* --cluster-linger DURATION (overrides --linger) */
  bool cluster_linger_set;
} relay_config;

/* cache_budget when neither flag nor file set it: 1/8 of the RAM, at most 1 GiB. */
#define RELAY_BUDGET_AUTO UINT64_MAX
uint64_t relay_default_cache_budget(void);

#define RELAY_DEFAULT_LEEWAY_S 60
#define RELAY_DEFAULT_INGRESS_RATE ((uint64_t)32 << 20) /* bytes/s per session */
#define RELAY_DEFAULT_ANNOUNCE_PREFIXES 64
/* groups/s per session: a 1080p60 publisher with one group per video frame
 * and a few 50 groups/s audio tracks starts about 200; 4000 leaves room for
 * many renditions and catch-up bursts, and bounds a flood of tiny groups
 * (docs/relay.md Limits). */
#define RELAY_DEFAULT_GROUP_RATE 4000

/* Parse argv (and the --config file it names) into cfg. Returns 0 on success,
 * 1 if --help was printed (exit 0), or -1 with a one-line message in err. */
int relay_config_parse(relay_config *cfg, int argc, char **argv, char *err, size_t err_cap);
void relay_config_usage(FILE *out);

/* Sessions closed with `code`, a close code in the registry of `version`
 * (moqc_close_code_str: lite Timeout 3 and IETF PROTOCOL_VIOLATION 0x3 are
 * counted apart). */
typedef struct relay_errcount {
  uint64_t code;
  uint64_t count;
  int version;
} relay_errcount;

typedef struct relay_sess relay_sess;
typedef struct relay_cluster relay_cluster;
typedef struct relay_warm relay_warm;
typedef struct relay_fetch relay_fetch;

/* A growable, NUL-terminated HTTP response body (at most 32 MiB). */
typedef struct relay_body {
  char *p;
  size_t len, cap;
} relay_body;

typedef struct relay {
  relay_config cfg;
  uv_loop_t *loop;
  moqc_uv *uv;
  moqc_cert *cert;
  moqc_server *server;
  moqc_http_server *http;
  moqc_origin *origin;
  moqc_origin_consumer *watch; /* every announcement, for logs and the gauge */
  char udp_addr[300];
  char http_addr[300];

  relay_sess *sessions;
  uint64_t next_id;
  size_t n_live;
  uint64_t sessions_total[20]; /* by version (index 3..5 moq-lite, 14..19 IETF) */
  uint64_t sessions_closed;
  uint64_t rejected;
  relay_errcount errors[32];
  size_t n_errors;
  uint64_t errors_other;
  moqc_session_stats closed_stats; /* summed over sessions that ended */
  uint64_t broadcasts;             /* announced now */
  uint64_t http_requests;

  relay_body body;  /* response being built (the HTTP server copies it) */
  relay_warm *warm; /* /fetch subscriptions kept warm */
  size_t n_warm;
  uint64_t fetch_refused; /* /fetch answered 429/503 by the limits */
  uv_timer_t warm_timer;
  relay_fetch *fetches; /* /fetch requests waiting for their group */
  uv_timer_t fetch_timer;

  struct moqc_auth *auth; /* NULL: no key and no public prefix (open relay) */
  uv_signal_t sighup;     /* re-reads the auth keys */
  uint64_t auth_refused;
  uint64_t quota_refused_sessions; /* over --max-sessions-per-root */
  struct moqc_tenants *tenants;    /* live sessions per tenant; the slot: its moqc_account */

  relay_cluster *cluster; /* NULL: standalone */

  uv_signal_t sigint, sigterm;
  uv_timer_t drain;
  uint64_t drain_deadline;
  uint64_t goaway_until; /* shutdown: GOAWAY sent, close everything at this time (0: done) */
  bool handles;          /* signals + drain timer initialised */
  bool stopping;
  bool torn_down;
} relay;

/* relay.c */
int relay_start(relay *r, char *err, size_t err_cap);
/* Close sessions, drain briefly, free everything; the loop then ends. */
void relay_stop(relay *r);
/* Start-up failed half way: free what exists (then run the loop dry). */
void relay_abort_start(relay *r);
/* Aggregate stats over live + closed sessions. */
moqc_session_stats relay_stats(const relay *r, uint64_t *serving_now, uint64_t *remote_tracks);

/* certdir.c: --tls-generate-dir. Load DIR/cert.pem + DIR/key.pem if they
 * exist and are younger than 12 days, else generate a certificate for
 * cfg.tls_generate and write it there. MOQC_OK with r->cert set, or an error
 * code with a one-line message in err. */
int relay_cert_from_dir(relay *r, char *err, size_t err_cap);

/* auth.c: keys and public prefixes from the config (one warning line when
 * none is configured), SIGHUP reloads them; relay_auth_stop frees them. */
int relay_auth_start(relay *r, char *err, size_t err_cap);
void relay_auth_stop(relay *r);

/* cluster.c: start dialing / registering (nothing without cluster flags);
 * stop closes every peer session. Metrics and /nodes append to b. */
int relay_cluster_start(relay *r, char *err, size_t err_cap);
void relay_cluster_stop(relay *r);
void relay_cluster_metrics(relay *r, relay_body *b);
void relay_cluster_nodes(relay *r, relay_body *b);

/* http.c */
int relay_http_start(relay *r, char *err, size_t err_cap);
void relay_http_stop(relay *r);

#endif
