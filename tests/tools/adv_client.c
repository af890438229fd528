/* adv_client — hostile clients for tests/adversarial (loopback only).
 *
 *   adv_client hold HOST PORT COUNT HOLD_MS
 *       Dial COUNT raw QUIC connections at once (ALPN moq-lite-05, certificate
 *       not verified), complete the handshakes and never send a byte of MoQ
 *       (no SETUP). After HOLD_MS prints one line and exits 0:
 *         connected C refused R failed F closed K pending P overdue O
 *       (refused = CONNECTION_REFUSED; failed = any other connect error, e.g.
 *       a handshake that never finished; closed = connections the server
 *       closed while we held them; pending = still handshaking; overdue =
 *       connections up for more than 7 s that the server has not closed). HOLD_MS short (e.g. 80) abandons the
 *       handshakes half way: the process exits with them in flight.
 *   adv_client slowhttp HOST PORT COUNT SECONDS
 *       Slowloris: COUNT TCP connections that send "GET / HTTP/1.1\r\n" and
 *       then one more header byte every 200 ms, never ending the head. After
 *       SECONDS prints "opened O refused R closed C answered A" (refused =
 *       closed by the server within 1 s of connecting, closed = closed later,
 *       answered = got any response byte) and exits 0.
 *   adv_client greedy URL BROADCAST LATENCY_MS GROUP_BYTES GROUPS_PER_S SECONDS
 *       Publish BROADCAST with one track "t" whose TRACK_INFO asks the relay
 *       to cache LATENCY_MS, one-frame groups of GROUP_BYTES at GROUPS_PER_S
 *       for SECONDS, printing "group N" as each is written, then exit 0
 *       ("published N groups"). Exit 1 if the session could not be set up.
 *       Above 1,000 groups/s, GROUPS_PER_S/1000 groups every millisecond
 *       (rounded up): a flood of tiny groups (tests/adversarial/test_adv_tiny_groups.sh).
 *       ADV_VERSION=moqt-16 (say) offers only that version. The server's close
 *       is printed on stderr: "session closed: CODE REASON".
 *   adv_client announce URL COUNT SECONDS
 *       Publish COUNT empty broadcasts h<pid>-0 .. h<pid>-<COUNT-1> in one session, hold
 *       SECONDS, print "announced COUNT closed C code X reason R" (C = 1 if
 *       the server closed the session, with its code and reason) and exit 0;
 *       exit 1 if the session could not be set up.
 *   adv_client pubtracks URL BROADCAST TRACKS SECONDS
 *       Publish BROADCAST with TRACKS tracks t0 .. t<TRACKS-1>, one one-frame
 *       group per track every 200 ms, for SECONDS; exit 0.
 *   adv_client subtracks URL BROADCAST TRACKS SECONDS
 *       Once BROADCAST is announced, subscribe to its tracks t0 ..
 *       t<TRACKS-1> in one session; after SECONDS print "ok K refused R other
 *       O closed C" (ok: got a group; refused: ended with BoundsExceeded, 11;
 *       other: neither) and exit 0; exit 1 if the session could not be set up
 *       or the broadcast never came.
 *   adv_client prefixes HOST PORT COUNT SECONDS
 *       Raw moq-lite-03 over QUIC (no moqc session: the library opens one
 *       announce stream per session): open COUNT announce-prefix
 *       subscriptions (ANNOUNCE_PLEASE streams, prefix "p<i>") at once; after
 *       SECONDS print "opened O refused R closed C" (refused: streams the
 *       server reset or stopped with BoundsExceeded, 11; closed: the server
 *       closed the connection) and exit 0.
 *   adv_client ietfjunk HOST PORT
 *       Raw IETF moqt-16 over QUIC: CLIENT_SETUP on a control stream, then
 *       (300 ms later, the session accepted) a control message cut short
 *       inside its declared length. Prints "closed CODE REASON" once the
 *       server closes the connection (by_peer) and exits 0; exit 1 if it
 *       could not connect or nothing closed within 5 s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "moqc/endpoint.h"
#include "moqc/error.h"
#include "moqc/model.h"
#include "moqc/quic.h"
#include "moqc/runtime.h"
#include "core/ietf_wire.h" /* hand-made CLIENT_SETUP */
#include "core/lite_wire.h" /* hand-made ANNOUNCE_PLEASE */

static uv_loop_t g_loop;

/* ---- hold ------------------------------------------------------------------- */

#define HOLD_MAX 4096

static struct {
  int dialled, connected, refused, failed, closed;
  moqc_transport *t[HOLD_MAX];
  uint64_t up_ms[HOLD_MAX];
  bool gone[HOLD_MAX];
  moqc_quic_dial *d[HOLD_MAX];
  bool done[HOLD_MAX];
} H;

static void h_closed(void *ctx, uint64_t code, const char *reason, bool by_peer) {
  (void)code, (void)reason, (void)by_peer;
  H.gone[(size_t)(uintptr_t)ctx] = true;
  H.closed++;
}

static const moqc_transport_handler k_hold_handler = {.closed = h_closed};

static void h_on_connect(void *ctx, int err, const char *msg, moqc_transport *t) {
  size_t i = (size_t)(uintptr_t)ctx;
  H.done[i] = true;
  if (err == MOQC_OK) {
    H.connected++;
    H.t[i] = t;
    H.up_ms[i] = uv_now(&g_loop);
    moqc_transport_set_handler(t, &k_hold_handler, ctx);
  } else if (err == MOQC_ERR_TRANSPORT && msg && strstr(msg, "refused")) {
    H.refused++;
  } else {
    H.failed++;
  }
}

static void h_stop(uv_timer_t *t) {
  (void)t;
  int overdue = 0;
  for (int i = 0; i < H.dialled; i++)
    if (H.t[i] && !H.gone[i] && uv_now(&g_loop) - H.up_ms[i] > 7000) overdue++;
  printf("connected %d refused %d failed %d closed %d pending %d overdue %d\n", H.connected,
         H.refused, H.failed, H.closed, H.dialled - H.connected - H.refused - H.failed, overdue);
  fflush(stdout);
  _exit(0); /* abandon everything in flight, as an attacker would */
}

/* A QUIC client config for host:port offering the one ALPN alpn[0] (static),
 * the relay's certificate not verified. */
static moqc_quic_client_config raw_client_config(const char *host, int port,
                                                 const char *const *alpn) {
  moqc_quic_client_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.host = host;
  cfg.port = (uint16_t)port;
  cfg.sni = "localhost";
  cfg.alpn = alpn;
  cfg.alpn_count = 1;
  cfg.tls.disable_verify = true;
  return cfg;
}

static int run_hold(const char *host, int port, int count, int hold_ms) {
  if (count < 1 || count > HOLD_MAX) return 2;
  static const char *alpn[] = {"moq-lite-05"};
  for (int i = 0; i < count; i++) {
    moqc_quic_client_config cfg = raw_client_config(host, port, alpn);
    cfg.limits.handshake_timeout_ms = 60000; /* the server must end it, not us */
    cfg.limits.idle_timeout_ms = 60000;
    if (moqc_quic_connect(&g_loop, &cfg, h_on_connect, (void *)(uintptr_t)i, &H.d[i]) == MOQC_OK)
      H.dialled++;
  }
  uv_timer_t stop;
  uv_timer_init(&g_loop, &stop);
  uv_timer_start(&stop, h_stop, (uint64_t)hold_ms, 0);
  uv_run(&g_loop, UV_RUN_DEFAULT);
  return 0;
}

/* ---- slowhttp ------------------------------------------------------------------ */

#define SLOW_MAX 1024

typedef struct slow {
  uv_tcp_t tcp;
  uv_connect_t conn;
  uint64_t t_open;
  bool open, closed, answered;
} slow;

static struct {
  slow c[SLOW_MAX];
  int n, opened, refused, closed, answered;
  uv_timer_t tick, stop;
} S;

static void s_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b) {
  (void)h, (void)sz;
  static char buf[4096];
  *b = uv_buf_init(buf, sizeof buf);
}

static void s_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b) {
  (void)b;
  slow *c = st->data;
  if (n > 0) c->answered = true;
  if (n >= 0 || c->closed) return;
  c->closed = true;
  if (uv_now(&g_loop) - c->t_open < 1000) S.refused++;
  else S.closed++;
  uv_close((uv_handle_t *)&c->tcp, NULL);
}

static void s_written(uv_write_t *w, int st) {
  (void)st;
  free(w);
}

static void s_send(slow *c, const char *p, size_t n) {
  uv_write_t *w = malloc(sizeof *w);
  uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
  if (!w || uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, s_written) != 0) free(w);
}

static void s_connected(uv_connect_t *req, int st) {
  slow *c = req->data;
  if (st != 0) {
    c->closed = true;
    S.refused++;
    uv_close((uv_handle_t *)&c->tcp, NULL);
    return;
  }
  c->open = true;
  c->t_open = uv_now(&g_loop);
  S.opened++;
  uv_read_start((uv_stream_t *)&c->tcp, s_alloc, s_read);
  static const char head[] = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  s_send(c, head, sizeof head - 1);
}

static void s_tick(uv_timer_t *t) {
  (void)t;
  for (int i = 0; i < S.n; i++)
    if (S.c[i].open && !S.c[i].closed) s_send(&S.c[i], "a", 1);
}

static void s_stop(uv_timer_t *t) {
  (void)t;
  for (int i = 0; i < S.n; i++) S.answered += S.c[i].answered;
  printf("opened %d refused %d closed %d answered %d\n", S.opened, S.refused, S.closed, S.answered);
  fflush(stdout);
  _exit(0);
}

static int run_slowhttp(const char *host, int port, int count, int seconds) {
  if (count < 1 || count > SLOW_MAX) return 2;
  struct sockaddr_storage sa;
  if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)&sa) != 0 &&
      uv_ip4_addr(host, port, (struct sockaddr_in *)&sa) != 0)
    return 2;
  S.n = count;
  for (int i = 0; i < count; i++) {
    slow *c = &S.c[i];
    uv_tcp_init(&g_loop, &c->tcp);
    c->tcp.data = c->conn.data = c;
    if (uv_tcp_connect(&c->conn, &c->tcp, (const struct sockaddr *)&sa, s_connected) != 0) {
      c->closed = true;
      S.refused++;
    }
  }
  uv_timer_init(&g_loop, &S.tick);
  uv_timer_start(&S.tick, s_tick, 200, 200);
  uv_timer_init(&g_loop, &S.stop);
  uv_timer_start(&S.stop, s_stop, (uint64_t)seconds * 1000, 0);
  uv_run(&g_loop, UV_RUN_DEFAULT);
  return 0;
}

/* ---- greedy ------------------------------------------------------------------ */

static struct {
  moqc_uv *uv;
  moqc_client *client;
  moqc_track_producer *track;
  uint8_t *payload;
  size_t size;
  uint64_t groups, end_ms;
  uint32_t per_tick; /* groups per 1 ms tick above 1,000 groups/s */
  bool up;
  int rc;
  uv_timer_t tick;
} G;

static void g_stop(void) {
  uv_timer_stop(&G.tick);
  uv_stop(&g_loop);
}

static void g_tick(uv_timer_t *t) {
  (void)t;
  if (uv_now(&g_loop) >= G.end_ms) {
    g_stop();
    return;
  }
  for (uint32_t i = 0; i < G.per_tick; i++) {
    moqc_group_producer *g = moqc_track_producer_append_group(G.track);
    if (!g) return;
    G.payload[0] = (uint8_t)G.groups;
    moqc_group_producer_write_frame_copy(g, G.payload, G.size, G.groups);
    moqc_group_producer_finish(g);
    moqc_group_producer_del(g);
    printf("group %llu\n", (unsigned long long)G.groups);
    G.groups++;
  }
  fflush(stdout);
}

static void g_connected(void *ctx, moqc_client *c, int err, const char *msg) {
  (void)ctx, (void)c;
  if (err != MOQC_OK) {
    fprintf(stderr, "adv_client greedy: connect failed: %s\n", msg ? msg : moqc_err_str(err));
    G.rc = 1;
    uv_stop(&g_loop);
    return;
  }
  G.up = true;
}

static void g_closed(void *ctx, moqc_client *c, uint64_t code, const char *reason, bool by_peer) {
  (void)ctx, (void)c, (void)by_peer;
  fprintf(stderr, "adv_client greedy: session closed: %llu %s\n", (unsigned long long)code,
          reason ? reason : "");
}

static int run_greedy(const char *url, const char *bpath, uint64_t latency_ms, size_t size,
                      int per_s, int seconds) {
  if (!size || per_s < 1 || seconds < 1) return 2;
  G.uv = moqc_uv_new(&g_loop, 0);
  moqc_env *env = moqc_uv_env(G.uv);
  moqc_origin *origin = moqc_origin_new(env, NULL);
  moqc_broadcast_producer *b = moqc_broadcast_producer_new(env);
  moqc_track_info info = MOQC_TRACK_INFO_DEFAULT;
  info.latency_max_ms = latency_ms;
  int err = 0;
  G.track = moqc_broadcast_producer_create_track(b, "t", &info, &err);
  moqc_broadcast_consumer *bc = moqc_broadcast_producer_consume(b);
  G.payload = calloc(1, size);
  G.size = size;
  if (!origin || !G.track || !bc || !G.payload ||
      moqc_origin_publish(origin, bpath, bc, NULL) != MOQC_OK)
    return 1;
  moqc_client_config cc = {
      .uv = G.uv,
      .url = url,
      .publish = origin,
      .on_connected = g_connected,
      .on_closed = g_closed,
      .timeout_ms = 10000,
  };
  cc.tls.disable_verify = true;
  const char *version = getenv("ADV_VERSION"); /* e.g. moqt-16: greedy over IETF */
  if (version && *version) {
    cc.versions = &version;
    cc.n_versions = 1;
  }
  char msg[256];
  if (moqc_client_connect(&cc, &G.client, msg, sizeof msg) != MOQC_OK) {
    fprintf(stderr, "adv_client greedy: %s\n", msg);
    return 1;
  }
  uv_timer_init(&g_loop, &G.tick);
  G.end_ms = uv_now(&g_loop) + (uint64_t)seconds * 1000;
  uint64_t every = 1000 / (uint64_t)per_s;
  G.per_tick = per_s > 1000 ? (uint32_t)((per_s + 999) / 1000) : 1;
  uv_timer_start(&G.tick, g_tick, every ? every : 1, every ? every : 1);
  uv_run(&g_loop, UV_RUN_DEFAULT);
  printf("published %llu groups\n", (unsigned long long)G.groups);
  fflush(stdout);
  _exit(G.rc ? G.rc : (G.up ? 0 : 1)); /* the relay sees an abrupt end; fine */
}

/* ---- announce / pubtracks / subtracks --------------------------------------- */

#define MANY_MAX 8192

static struct {
  moqc_uv *uv;
  moqc_env *env;
  moqc_client *client;
  moqc_origin *origin;
  bool up, closed;
  uint64_t code;
  char reason[160];
  moqc_broadcast_producer *bp[MANY_MAX];
  moqc_track_producer *tp[MANY_MAX];
  moqc_track_consumer *tc[MANY_MAX];
  bool got[MANY_MAX];
  int n;
  const char *bpath;
  moqc_origin_consumer *watch;
  moqc_broadcast_consumer *bc;
  uint64_t seq;
  uv_timer_t tick, stop;
} M;

static void m_connected(void *ctx, moqc_client *c, int err, const char *msg) {
  (void)ctx, (void)c;
  if (err != MOQC_OK) {
    fprintf(stderr, "adv_client: connect failed: %s\n", msg ? msg : moqc_err_str(err));
    _exit(1);
  }
  M.up = true;
}

static void m_closed(void *ctx, moqc_client *c, uint64_t code, const char *reason, bool by_peer) {
  (void)ctx, (void)c;
  M.closed = by_peer;
  M.code = code;
  snprintf(M.reason, sizeof M.reason, "%s", reason && *reason ? reason : "-");
  fprintf(stderr, "adv_client: session closed: %llu %s\n", (unsigned long long)code, M.reason);
}

static int m_connect(const char *url, bool publish) {
  M.uv = moqc_uv_new(&g_loop, 0);
  M.env = moqc_uv_env(M.uv);
  M.origin = moqc_origin_new(M.env, NULL);
  if (!M.origin) return 1;
  moqc_client_config cc = {
      .uv = M.uv,
      .url = url,
      .publish = publish ? M.origin : NULL,
      .subscribe = publish ? NULL : M.origin,
      .on_connected = m_connected,
      .on_closed = m_closed,
      .timeout_ms = 10000,
  };
  cc.tls.disable_verify = true;
  char msg[256];
  if (moqc_client_connect(&cc, &M.client, msg, sizeof msg) != MOQC_OK) {
    fprintf(stderr, "adv_client: %s\n", msg);
    return 1;
  }
  return 0;
}

static void m_stop_cb(uv_timer_t *t) {
  (void)t;
  uv_stop(&g_loop);
}

static void m_run(int seconds) {
  uv_timer_init(&g_loop, &M.stop);
  uv_timer_start(&M.stop, m_stop_cb, (uint64_t)seconds * 1000, 0);
  uv_run(&g_loop, UV_RUN_DEFAULT);
}

static int run_announce(const char *url, int count, int seconds) {
  if (count < 1 || count > MANY_MAX || seconds < 1) return 2;
  if (m_connect(url, true)) return 1;
  for (int i = 0; i < count; i++) {
    char path[32];
    snprintf(path, sizeof path, "h%d-%d", (int)getpid(), i);
    M.bp[i] = moqc_broadcast_producer_new(M.env);
    moqc_broadcast_consumer *bc = M.bp[i] ? moqc_broadcast_producer_consume(M.bp[i]) : NULL;
    if (!bc || moqc_origin_publish(M.origin, path, bc, NULL) != MOQC_OK) return 1;
    moqc_broadcast_consumer_del(bc);
  }
  m_run(seconds);
  printf("announced %d closed %d code %llu reason %s\n", count, M.closed ? 1 : 0,
         (unsigned long long)M.code, M.closed ? M.reason : "-");
  fflush(stdout);
  _exit(M.up ? 0 : 1);
}

static void pt_tick(uv_timer_t *t) {
  (void)t;
  uint8_t payload[64] = {0};
  for (int i = 0; i < M.n; i++) {
    moqc_group_producer *g = moqc_track_producer_append_group(M.tp[i]);
    if (!g) continue;
    moqc_group_producer_write_frame_copy(g, payload, sizeof payload, M.seq);
    moqc_group_producer_finish(g);
    moqc_group_producer_del(g);
  }
  M.seq++;
}

static int run_pubtracks(const char *url, const char *bpath, int n, int seconds) {
  if (n < 1 || n > MANY_MAX || seconds < 1) return 2;
  if (m_connect(url, true)) return 1;
  M.n = n;
  M.bp[0] = moqc_broadcast_producer_new(M.env);
  if (!M.bp[0]) return 1;
  for (int i = 0; i < n; i++) {
    char name[32];
    snprintf(name, sizeof name, "t%d", i);
    int err = 0;
    M.tp[i] = moqc_broadcast_producer_create_track(M.bp[0], name, NULL, &err);
    if (!M.tp[i]) return 1;
  }
  moqc_broadcast_consumer *bc = moqc_broadcast_producer_consume(M.bp[0]);
  if (!bc || moqc_origin_publish(M.origin, bpath, bc, NULL) != MOQC_OK) return 1;
  moqc_broadcast_consumer_del(bc);
  uv_timer_init(&g_loop, &M.tick);
  uv_timer_start(&M.tick, pt_tick, 200, 200);
  m_run(seconds);
  printf("published %d tracks\n", n);
  fflush(stdout);
  _exit(M.up ? 0 : 1);
}

static void st_track(void *arg) {
  int i = (int)(intptr_t)arg;
  moqc_group_consumer *g = NULL;
  while (moqc_track_consumer_recv_group(M.tc[i], &g) == MOQC_OK) {
    M.got[i] = true;
    moqc_group_consumer_del(g);
  }
}

static void st_watch(void *arg) {
  (void)arg;
  moqc_announce a;
  while (!M.bc && moqc_origin_consumer_next(M.watch, &a) == MOQC_OK) {
    if (!a.active || strcmp(a.path, M.bpath) != 0) continue;
    int err = 0;
    M.bc = moqc_origin_consumer_request(M.watch, M.bpath, &err);
    for (int i = 0; M.bc && i < M.n; i++) {
      char name[32];
      snprintf(name, sizeof name, "t%d", i);
      M.tc[i] = moqc_broadcast_consumer_subscribe(M.bc, name, NULL, &err);
      if (M.tc[i]) moqc_track_consumer_set_waker(M.tc[i], st_track, (void *)(intptr_t)i);
    }
  }
}

static int run_subtracks(const char *url, const char *bpath, int n, int seconds) {
  if (n < 1 || n > MANY_MAX || seconds < 1) return 2;
  if (m_connect(url, false)) return 1;
  M.n = n;
  M.bpath = bpath;
  M.watch = moqc_origin_consume(M.origin, "");
  if (!M.watch) return 1;
  moqc_origin_consumer_set_waker(M.watch, st_watch, NULL);
  m_run(seconds);
  if (!M.bc) {
    fprintf(stderr, "adv_client subtracks: %s was never announced\n", bpath);
    _exit(1);
  }
  int ok = 0, refused = 0, other = 0;
  for (int i = 0; i < n; i++) {
    if (M.got[i]) ok++;
    else if (M.tc[i] && moqc_track_consumer_code(M.tc[i]) == MOQC_CODE_BOUNDS_EXCEEDED) refused++;
    else other++;
  }
  printf("ok %d refused %d other %d closed %d\n", ok, refused, other, M.closed ? 1 : 0);
  fflush(stdout);
  _exit(M.up ? 0 : 1);
}

/* ---- prefixes ---------------------------------------------------------------- */

#define PFX_MAX 1024

static struct {
  moqc_transport *t;
  int n, opened, refused;
  bool closed;
  bool hit[PFX_MAX]; /* stream i refused */
  int64_t ids[PFX_MAX];
  uv_timer_t start, stop;
} PX;

static void px_refused(int64_t id, uint64_t code) {
  for (int i = 0; i < PX.opened; i++) {
    if (PX.ids[i] != id || PX.hit[i] || code != MOQC_CODE_BOUNDS_EXCEEDED) continue;
    PX.hit[i] = true;
    PX.refused++;
  }
}
static void px_reset(void *ctx, int64_t id, uint64_t code) {
  (void)ctx;
  px_refused(id, code);
}
static void px_closed(void *ctx, uint64_t code, const char *reason, bool by_peer) {
  (void)ctx, (void)code, (void)reason;
  PX.closed = by_peer;
}
static const moqc_transport_handler k_px_handler = {
    .stream_reset = px_reset, .stop_sending = px_reset, .closed = px_closed};

static void px_open(uv_timer_t *t) {
  (void)t;
  for (int i = 0; i < PX.n; i++) {
    int64_t id;
    if (PX.t->ops->open_stream(PX.t, true, &id) != MOQC_OK) break;
    char prefix[16];
    int plen = snprintf(prefix, sizeof prefix, "p%d", i);
    struct moqc_lite_announce_please m = {.prefix = {(const uint8_t *)prefix, (size_t)plen}};
    uint8_t buf[64];
    buf[0] = MOQC_LITE_BIDI_ANNOUNCE;
    ssize_t n = moqc_lite_announce_please_encode(buf + 1, sizeof buf - 1, 3, &m);
    if (n <= 0) break;
    moqc_buf *b = moqc_buf_copy(buf, (size_t)n + 1);
    moqc_slice sl = MOQC_SLICE_EMPTY;
    if (!b || moqc_slice_make(&sl, b, 0, (size_t)n + 1) != MOQC_OK) break;
    moqc_buf_unref(b);
    PX.t->ops->write(PX.t, id, &sl, 1, false);
    moqc_slice_release(&sl);
    PX.ids[PX.opened++] = id;
  }
}

static void px_stop(uv_timer_t *t) {
  (void)t;
  printf("opened %d refused %d closed %d\n", PX.opened, PX.refused, PX.closed ? 1 : 0);
  fflush(stdout);
  _exit(0);
}

static void px_connected(void *ctx, int err, const char *msg, moqc_transport *t) {
  (void)ctx;
  if (err != MOQC_OK) {
    fprintf(stderr, "adv_client prefixes: connect failed: %s\n", msg ? msg : moqc_err_str(err));
    _exit(1);
  }
  PX.t = t;
  moqc_transport_set_handler(t, &k_px_handler, NULL);
  uv_timer_start(&PX.start, px_open, 300, 0); /* lite-03: the server's session starts at once */
}

static int run_prefixes(const char *host, int port, int count, int seconds) {
  if (count < 1 || count > PFX_MAX || seconds < 1) return 2;
  PX.n = count;
  static const char *alpn[] = {"moq-lite-03"};
  moqc_quic_client_config cfg = raw_client_config(host, port, alpn);
  moqc_quic_dial *d = NULL;
  uv_timer_init(&g_loop, &PX.start);
  uv_timer_init(&g_loop, &PX.stop);
  if (moqc_quic_connect(&g_loop, &cfg, px_connected, NULL, &d) != MOQC_OK) return 1;
  uv_timer_start(&PX.stop, px_stop, (uint64_t)seconds * 1000, 0);
  uv_run(&g_loop, UV_RUN_DEFAULT);
  return 1;
}

/* ---- ietfjunk: a malformed control message on an IETF session ------------ */

static struct {
  moqc_transport *t;
  int64_t ctrl;
  uv_timer_t junk, stop;
} JK;

static void jk_write(const uint8_t *p, size_t n) {
  moqc_buf *b = moqc_buf_copy(p, n);
  moqc_slice sl = MOQC_SLICE_EMPTY;
  if (!b || moqc_slice_make(&sl, b, 0, n) != MOQC_OK) _exit(1);
  moqc_buf_unref(b);
  JK.t->ops->write(JK.t, JK.ctrl, &sl, 1, false);
  moqc_slice_release(&sl);
}
static void jk_closed(void *ctx, uint64_t code, const char *reason, bool by_peer) {
  (void)ctx;
  if (!by_peer) return;
  printf("closed %llu %s\n", (unsigned long long)code, reason ? reason : "");
  fflush(stdout);
  _exit(0);
}
static void jk_data(void *ctx, int64_t id, const uint8_t *p, size_t len, bool fin) {
  (void)ctx, (void)id, (void)p, (void)len, (void)fin;
}
static const moqc_transport_handler k_jk_handler = {.stream_data = jk_data, .closed = jk_closed};

static void jk_junk(uv_timer_t *t) {
  (void)t;
  /* SUBSCRIBE_NAMESPACE, length 2, its body: request id 0, then a tuple of 5
   * fields where the length ends. */
  static const uint8_t bad[] = {MOQC_IETF_SUBSCRIBE_NAMESPACE, 0, 2, 0, 5};
  jk_write(bad, sizeof bad);
}
static void jk_stop(uv_timer_t *t) {
  (void)t;
  fprintf(stderr, "adv_client ietfjunk: not closed within 5 s\n");
  _exit(1);
}
static void jk_connected(void *ctx, int err, const char *msg, moqc_transport *t) {
  (void)ctx;
  if (err != MOQC_OK) {
    fprintf(stderr, "adv_client ietfjunk: connect failed: %s\n", msg ? msg : moqc_err_str(err));
    _exit(1);
  }
  JK.t = t;
  moqc_transport_set_handler(t, &k_jk_handler, NULL);
  if (t->ops->open_stream(t, true, &JK.ctrl) != MOQC_OK) _exit(1);
  static moqc__ietf_msg m; /* CLIENT_SETUP, no parameters (draft-16: no version list) */
  m.type = MOQC_IETF_CLIENT_SETUP;
  uint8_t buf[64];
  ssize_t n = moqc__ietf_ctrl_encode(buf, sizeof buf, 16, &m);
  if (n <= 0) _exit(1);
  jk_write(buf, (size_t)n);
  uv_timer_start(&JK.junk, jk_junk, 300, 0);
}

static int run_ietfjunk(const char *host, int port) {
  static const char *alpn[] = {"moqt-16"};
  moqc_quic_client_config cfg = raw_client_config(host, port, alpn);
  moqc_quic_dial *d = NULL;
  uv_timer_init(&g_loop, &JK.junk);
  uv_timer_init(&g_loop, &JK.stop);
  if (moqc_quic_connect(&g_loop, &cfg, jk_connected, NULL, &d) != MOQC_OK) return 1;
  uv_timer_start(&JK.stop, jk_stop, 5000, 0);
  uv_run(&g_loop, UV_RUN_DEFAULT);
  return 1;
}

int main(int argc, char **argv) {
  uv_loop_init(&g_loop);
  if (argc == 6 && strcmp(argv[1], "hold") == 0)
    return run_hold(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
  if (argc == 6 && strcmp(argv[1], "slowhttp") == 0)
    return run_slowhttp(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
  if (argc == 8 && strcmp(argv[1], "greedy") == 0)
    return run_greedy(argv[2], argv[3], strtoull(argv[4], NULL, 10),
                      (size_t)strtoull(argv[5], NULL, 10), atoi(argv[6]), atoi(argv[7]));
  if (argc == 6 && strcmp(argv[1], "prefixes") == 0)
    return run_prefixes(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
  if (argc == 4 && strcmp(argv[1], "ietfjunk") == 0) return run_ietfjunk(argv[2], atoi(argv[3]));
  if (argc == 5 && strcmp(argv[1], "announce") == 0)
    return run_announce(argv[2], atoi(argv[3]), atoi(argv[4]));
  if (argc == 6 && strcmp(argv[1], "pubtracks") == 0)
    return run_pubtracks(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
  if (argc == 6 && strcmp(argv[1], "subtracks") == 0)
    return run_subtracks(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
  fprintf(stderr,
          "usage: adv_client hold HOST PORT COUNT HOLD_MS\n"
          "       adv_client slowhttp HOST PORT COUNT SECONDS\n"
          "       adv_client greedy URL BROADCAST LATENCY_MS GROUP_BYTES GROUPS_PER_S "
          "SECONDS\n"
          "       adv_client announce URL COUNT SECONDS\n"
          "       adv_client pubtracks URL BROADCAST TRACKS SECONDS\n"
          "       adv_client subtracks URL BROADCAST TRACKS SECONDS\n"
          "       adv_client prefixes HOST PORT COUNT SECONDS\n"
          "       adv_client ietfjunk HOST PORT\n");
  return 2;
}
