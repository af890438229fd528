/* moqc-relay HTTP endpoints (TCP, moqc_http_server, CORS on; plain HTTP and
 * HTTPS with the QUIC certificate on the same port, the first byte decides):
 *   GET /certificate.sha256          lower-case hex SHA-256 of the leaf, no newline
 *                                    (moq-relay: Rust hex::encode as the body)
 *   GET /announced[/<prefix>]        active broadcasts under prefix, relative to it,
 *                                    joined with "\n" (as moq-relay)
 *   GET /fetch/<broadcast>/<track>[?group=N|latest]
 *                                    the frames of one group, concatenated
 *   GET /health                      "ok\n"
 *   GET /metrics                     Prometheus text format
 *
 * /fetch answers a complete cached group at once. Otherwise it defers the
 * response (moqc_http_response_defer) and waits, up to --fetch-timeout (10 s),
 * for the group to arrive (latest: the next group to arrive when none is
 * cached) and to end, then answers 200 with its frames, 504 on timeout, 404
 * if the track ends first. The body is the frames' own payload slices, written
 * by reference (moqc_http_pending_finish_slices): nothing is copied. A cold
 * track is subscribed on the first request and kept subscribed for
 * --fetch-hold (10 s) after the last request, so later requests are served
 * from the cache. A client that leaves while waiting just drops its waiter.
 *
 * Limits: at most --fetch-max-per-addr requests wait at once per client IP
 * (429 beyond), at most --fetch-max-tracks tracks are held subscribed for
 * /fetch (an idle one is dropped to make room, else 503), a group over
 * BODY_MAX bytes or FRAMES_MAX frames is 413. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "moqc/auth.h"
#include "moqc/error.h"
#include "moqc/path.h"
#include "relay.h"
#include "common/tool_util.h"

#define BODY_MAX ((size_t)32 << 20)
#define FRAMES_MAX 65536

struct relay_warm {
  relay *r;
  char *bpath, *track;
  moqc_broadcast_consumer *bc;
  moqc_track_consumer *tc;
  uint64_t last_ms;
  int err;        /* the track ended / failed: drop at the next look-up */
  size_t waiters; /* relay_fetch entries on this track (kept while > 0) */
  relay_warm *next;
};

/* A deferred GET /fetch: waiting for its group to arrive and to end. */
struct relay_fetch {
  relay *r;
  relay_warm *w;
  moqc_http_pending *p;
  uint64_t seq;           /* wanted group; MOQC_GROUP_NONE = the next to arrive */
  moqc_group_consumer *g; /* the group, once it is there */
  uint64_t deadline_ms;
  moqc_slice *parts; /* the frames read so far (one reference each) */
  size_t nparts, capparts, bytes;
  char ip[64]; /* the client's address without the port */
  relay_fetch *prev, *next;
};

/* ---- response body -------------------------------------------------------- */

static bool body_add(relay_body *b, const void *p, size_t n) {
  if (b->len + n + 1 > b->cap) {
    if (b->len + n + 1 > BODY_MAX) return false;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1) cap *= 2;
    char *q = realloc(b->p, cap);
    if (!q) return false;
    b->p = q;
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->len, p, n);
  b->len += n;
  b->p[b->len] = 0;
  return true;
}

static void body_printf(relay *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void body_printf(relay *r, const char *fmt, ...) {
  char tmp[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) body_add(&r->body, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void reply(relay *r, moqc_http_response *resp, uint16_t status, const char *type) {
  resp->status = status;
  resp->content_type = type;
  resp->body = r->body.p;
  resp->body_len = r->body.len;
}

static void reply_text(relay *r, moqc_http_response *resp, uint16_t status, const char *text) {
  r->body.len = 0;
  body_add(&r->body, text, strlen(text));
  reply(r, resp, status, "text/plain; charset=utf-8");
}

/* ---- /announced ------------------------------------------------------------ */

/* With auth: check ?jwt= (or the public prefixes) for a "connection" at
 * path; *grant gets the get / put prefixes relative to path. false: 401 sent. */
static bool http_auth(relay *r, const char *path, const char *query, moqc_auth_claims *grant,
                      moqc_http_response *resp) {
  memset(grant, 0, sizeof *grant);
  if (!r->auth) return true;
  char url[MOQC_PATH_MAX_LEN + 8192];
  snprintf(url, sizeof url, "/%s%s%s", path, query ? "?" : "", query ? query : "");
  moqc_auth_reason why = MOQC_AUTH_OK;
  int rv = moqc_auth_check(r->auth, url, (int64_t)time(NULL), grant, &why);
  if (rv == MOQC_OK && grant->n_get) return true;
  moqc_auth_claims_clear(grant);
  r->auth_refused++;
  char text[128];
  snprintf(text, sizeof text, "unauthorized: %s\n",
           rv == MOQC_OK ? "the token allows no subscribing" : moqc_auth_reason_str(why));
  reply_text(r, resp, 401, text);
  return false;
}

static void serve_announced(relay *r, const char *prefix, const char *query,
                            moqc_http_response *resp) {
  char norm[MOQC_PATH_MAX_LEN + 1];
  if (moqc_path_normalize(norm, sizeof norm, prefix, strlen(prefix)) < 0) {
    reply_text(r, resp, 400, "bad prefix\n");
    return;
  }
  moqc_auth_claims grant;
  if (!http_auth(r, norm, query, &grant, resp)) return;
  moqc_origin *view = moqc_origin_with_root(r->origin, norm);
  moqc_origin_consumer *c = view ? moqc_origin_consume(view, "") : NULL;
  if (!c) {
    moqc_origin_unref(view);
    reply_text(r, resp, 500, "out of memory\n");
    return;
  }
  r->body.len = 0;
  body_add(&r->body, "", 0);
  moqc_announce a;
  bool first = true;
  /* A fresh consumer reports exactly the active set, then AGAIN. */
  while (moqc_origin_consumer_next(c, &a) == MOQC_OK) {
    if (!a.active) continue;
    if (r->auth && !moqc_auth_allows(grant.get, grant.n_get, a.path)) continue;
    if (!first) body_add(&r->body, "\n", 1);
    body_add(&r->body, a.path, strlen(a.path));
    first = false;
  }
  moqc_origin_consumer_del(c);
  moqc_origin_unref(view);
  moqc_auth_claims_clear(&grant);
  reply(r, resp, 200, "text/plain; charset=utf-8");
}

/* ---- /fetch ------------------------------------------------------------------- */

static void warm_free(relay_warm *w) {
  assert(w->waiters == 0 && w->r->n_warm > 0);
  w->r->n_warm--;
  moqc_track_consumer_del(w->tc);
  moqc_broadcast_consumer_del(w->bc);
  free(w->bpath);
  free(w->track);
  free(w);
}

static void fetch_track_changed(relay *r, relay_warm *w);

/* Keep the subscription moving: drop the groups (the cache keeps them), and
 * tell the /fetch requests waiting on this track. */
static void warm_wake(void *arg) {
  relay_warm *w = arg;
  moqc_group_consumer *g;
  int rv;
  while ((rv = moqc_track_consumer_recv_group(w->tc, &g)) == MOQC_OK) moqc_group_consumer_del(g);
  if (rv != MOQC_ERR_AGAIN) w->err = rv;
  if (w->waiters) fetch_track_changed(w->r, w);
}

static relay_warm *warm_find(relay *r, const char *bpath, const char *track) {
  relay_warm **pp = &r->warm;
  while (*pp) {
    relay_warm *w = *pp;
    if (strcmp(w->bpath, bpath) == 0 && strcmp(w->track, track) == 0) {
      if (!w->err) return w;
      if (!w->waiters) { /* ended or failed: subscribe again */
        *pp = w->next;
        warm_free(w);
        continue;
      } /* else still read by waiters: the sweep frees it once they are done */
    }
    pp = &w->next;
  }
  return NULL;
}

/* Make room for one more held track: drop the idle one (no waiters) unused
 * longest. False if every held track has waiters. */
static bool warm_make_room(relay *r) {
  uint64_t max = r->cfg.fetch_max_tracks;
  if (!max || r->n_warm < max) return true;
  relay_warm **victim = NULL;
  for (relay_warm **pp = &r->warm; *pp; pp = &(*pp)->next)
    if (!(*pp)->waiters && (!victim || (*pp)->last_ms < (*victim)->last_ms)) victim = pp;
  if (!victim) return false;
  relay_warm *w = *victim;
  *victim = w->next;
  warm_free(w);
  return true;
}

/* Subscribe (kept warm). NULL with *status 404 (no broadcast / track), 503
 * (--fetch-max-tracks held, all in use) or 500. */
static relay_warm *warm_new(relay *r, const char *bpath, const char *track, uint64_t start,
                            uint16_t *status) {
  int err = 0;
  *status = 503;
  if (!warm_make_room(r)) return NULL;
  relay_warm *w = calloc(1, sizeof *w);
  *status = 500;
  if (!w) return NULL;
  r->n_warm++;
  w->r = r;
  w->bpath = strdup(bpath);
  w->track = strdup(track);
  w->bc = moqc_origin_request(r->origin, bpath, &err);
  if (!w->bc && (err == MOQC_ERR_UNROUTABLE || err == MOQC_ERR_NOT_FOUND)) *status = 404;
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  sub.start = start;
  if (w->bc) w->tc = moqc_broadcast_consumer_subscribe(w->bc, track, &sub, &err);
  if (w->bc && !w->tc && err == MOQC_ERR_NOT_FOUND) *status = 404;
  if (!w->bpath || !w->track || !w->tc) {
    warm_free(w);
    return NULL;
  }
  moqc_track_consumer_set_waker(w->tc, warm_wake, w);
  w->next = r->warm;
  r->warm = w;
  return w;
}

static void warm_sweep(uv_timer_t *t) {
  relay *r = t->data;
  uint64_t now = uv_now(r->loop);
  relay_warm **pp = &r->warm;
  while (*pp) {
    relay_warm *w = *pp;
    if (w->waiters) w->last_ms = now;
    if (!w->waiters && (w->err || now - w->last_ms > r->cfg.fetch_hold_ms)) {
      *pp = w->next;
      warm_free(w);
    } else {
      pp = &w->next;
    }
  }
}

/* Keep (by reference) the frames of f's group available now. Returns the
 * read error that stopped it (CLOSED = complete, AGAIN = still being
 * written, TOO_LARGE over BODY_MAX / FRAMES_MAX, NOMEM). */
static int read_group(relay_fetch *f) {
  moqc_frame fr;
  int rv;
  while ((rv = moqc_group_consumer_read_frame(f->g, &fr)) == MOQC_OK) {
    if (f->nparts == f->capparts) {
      size_t cap = f->capparts ? f->capparts * 2 : 16;
      moqc_slice *q = cap > FRAMES_MAX ? NULL : realloc(f->parts, cap * sizeof *q);
      if (!q) {
        moqc_slice_release(&fr.payload);
        return cap > FRAMES_MAX ? MOQC_ERR_TOO_LARGE : MOQC_ERR_NOMEM;
      }
      f->parts = q;
      f->capparts = cap;
    }
    f->bytes += fr.payload.len;
    f->parts[f->nparts++] = fr.payload; /* the reference moves */
    if (f->bytes > BODY_MAX) return MOQC_ERR_TOO_LARGE;
  }
  return rv;
}

static int parse_group(const char *query, uint64_t *seq) {
  *seq = MOQC_GROUP_NONE;
  if (!query) return 0;
  for (const char *q = query; *q;) {
    size_t n = strcspn(q, "&");
    if (n > 6 && strncmp(q, "group=", 6) == 0) {
      char v[32];
      if (n - 6 >= sizeof v) return -1;
      memcpy(v, q + 6, n - 6);
      v[n - 6] = 0;
      if (strcmp(v, "latest") == 0) *seq = MOQC_GROUP_NONE;
      else if (moqc_tool_parse_u64(v, seq) != 0 || *seq == MOQC_GROUP_NONE) return -1;
    }
    q += n;
    if (*q) q++;
  }
  return 0;
}

/* ---- deferred /fetch ---------------------------------------------------------- */

static void fetch_free(relay_fetch *f) {
  relay *r = f->r;
  if (f->prev) f->prev->next = f->next;
  else r->fetches = f->next;
  if (f->next) f->next->prev = f->prev;
  assert(f->w->waiters > 0);
  f->w->waiters--;
  f->w->last_ms = uv_now(r->loop);
  moqc_group_consumer_del(f->g);
  for (size_t i = 0; i < f->nparts; i++) moqc_slice_release(&f->parts[i]);
  free(f->parts);
  free(f);
  if (!r->fetches) uv_timer_stop(&r->fetch_timer);
}

static void fetch_done(relay_fetch *f, uint16_t status, const char *type, const void *body,
                       size_t len) {
  moqc_http_pending_finish(f->p, status, type, body, len);
  fetch_free(f);
}

static void fetch_fail(relay_fetch *f, uint16_t status, const char *msg) {
  fetch_done(f, status, "text/plain; charset=utf-8", msg, strlen(msg));
}

/* The client went away (or the server is being deleted). */
static void fetch_gone(void *arg, moqc_http_pending *p) {
  (void)p;
  relay_fetch *f = arg;
  moqc_log(MOQC_LOG_DEBUG, "http /fetch %s/%s: the client left before the answer", f->w->bpath,
           f->w->track);
  fetch_free(f);
}

/* Read what the group has; answer once it ended. Returns true if answered
 * (f freed). */
static bool fetch_read(relay_fetch *f) {
  int rv = read_group(f);
  if (rv == MOQC_ERR_TOO_LARGE) {
    fetch_fail(f, 413, "group too large\n");
    return true;
  }
  if (rv == MOQC_ERR_AGAIN) return false;
  if (rv == MOQC_ERR_CLOSED) { /* the payload slices go out by reference */
    moqc_http_pending_finish_slices(f->p, 200, "application/octet-stream", f->parts, f->nparts);
    fetch_free(f);
    return true;
  }
  char msg[128];
  snprintf(msg, sizeof msg, "group failed: %s\n", moqc_err_str(rv));
  fetch_fail(f, 502, msg);
  return true;
}

static void fetch_group_wake(void *arg) { fetch_read(arg); }

/* Take the group if it is there now. Returns true if f was answered. */
static bool fetch_try_group(relay_fetch *f) {
  relay_warm *w = f->w;
  uint64_t seq = f->seq != MOQC_GROUP_NONE ? f->seq : moqc_track_consumer_latest(w->tc);
  if (seq == MOQC_GROUP_NONE || moqc_track_consumer_fetch_group(w->tc, seq, &f->g) != MOQC_OK)
    return false;
  moqc_group_consumer_set_waker(f->g, fetch_group_wake, f);
  return fetch_read(f);
}

/* New groups, or the track ended: move the waiters of w on. */
static void fetch_track_changed(relay *r, relay_warm *w) {
  relay_fetch *f = r->fetches;
  while (f) {
    relay_fetch *next = f->next; /* f may be freed */
    if (f->w == w && !f->g && !fetch_try_group(f) && w->err) {
      char msg[160];
      snprintf(msg, sizeof msg, "track ended before the group arrived (%s)\n",
               w->err == MOQC_ERR_CLOSED ? "finished" : moqc_err_str(w->err));
      fetch_fail(f, 404, msg);
    }
    f = next;
  }
}

static void fetch_tick(uv_timer_t *t) {
  relay *r = t->data;
  uint64_t now = uv_now(r->loop);
  relay_fetch *f = r->fetches;
  while (f) {
    relay_fetch *next = f->next;
    if (now >= f->deadline_ms) {
      char msg[160];
      if (f->g)
        snprintf(msg, sizeof msg, "timed out waiting for group %llu to end\n",
                 (unsigned long long)moqc_group_consumer_sequence(f->g));
      else if (f->seq != MOQC_GROUP_NONE)
        snprintf(msg, sizeof msg, "timed out waiting for group %llu\n", (unsigned long long)f->seq);
      else snprintf(msg, sizeof msg, "timed out waiting for a group\n");
      fetch_fail(f, 504, msg);
    }
    f = next;
  }
}

/* Wait for group seq (or the next one) on w: defer the response. */
static void fetch_wait(relay *r, relay_warm *w, uint64_t seq, moqc_group_consumer *g,
                       const char *ip, moqc_http_response *resp) {
  relay_fetch *f = calloc(1, sizeof *f);
  if (f) f->p = moqc_http_response_defer(resp, fetch_gone, f);
  if (!f || !f->p) {
    moqc_group_consumer_del(g);
    free(f);
    reply_text(r, resp, 500, "out of memory\n");
    return;
  }
  f->r = r;
  f->w = w;
  f->seq = seq;
  f->g = g;
  snprintf(f->ip, sizeof f->ip, "%s", ip);
  f->deadline_ms = uv_now(r->loop) + r->cfg.fetch_timeout_ms;
  f->next = r->fetches;
  if (r->fetches) r->fetches->prev = f;
  r->fetches = f;
  w->waiters++;
  if (!uv_is_active((uv_handle_t *)&r->fetch_timer))
    uv_timer_start(&r->fetch_timer, fetch_tick, 100, 100);
  if (g) {
    moqc_group_consumer_set_waker(g, fetch_group_wake, f);
    fetch_read(f); /* may answer (from inside the route callback) */
  } else {
    fetch_try_group(f);
  }
}

/* The client's address without the port ("1.2.3.4", "[::1]"). */
static void ip_of(const char *remote, char *ip, size_t cap) {
  const char *colon = remote ? strrchr(remote, ':') : NULL;
  size_t n = colon ? (size_t)(colon - remote) : 0;
  if (n >= cap) n = cap - 1;
  memcpy(ip, remote ? remote : "", n);
  ip[n] = 0;
}

static size_t fetches_from(const relay *r, const char *ip) {
  size_t n = 0;
  for (const relay_fetch *f = r->fetches; f; f = f->next)
    if (strcmp(f->ip, ip) == 0) n++;
  return n;
}

static void serve_fetch(relay *r, const char *rest, const moqc_http_request *req,
                        moqc_http_response *resp) {
  const char *query = req->query;
  const char *slash = strrchr(rest, '/');
  uint64_t seq;
  char ip[64];
  ip_of(req->remote, ip, sizeof ip);
  if (r->cfg.fetch_max_per_addr && fetches_from(r, ip) >= r->cfg.fetch_max_per_addr) {
    r->fetch_refused++;
    reply_text(r, resp, 429, "too many /fetch requests waiting from your address\n");
    return;
  }
  if (!slash || slash == rest || !slash[1]) {
    reply_text(r, resp, 400, "expected /fetch/<broadcast>/<track>\n");
    return;
  }
  if (parse_group(query, &seq) != 0) {
    reply_text(r, resp, 400, "invalid group (expected ?group=N or ?group=latest)\n");
    return;
  }
  char bpath[MOQC_PATH_MAX_LEN + 1];
  if (moqc_path_normalize(bpath, sizeof bpath, rest, (size_t)(slash - rest)) <= 0) {
    reply_text(r, resp, 400, "bad broadcast path\n");
    return;
  }
  moqc_auth_claims grant;
  if (!http_auth(r, "", query, &grant, resp)) return;
  bool allowed = !r->auth || moqc_auth_allows(grant.get, grant.n_get, bpath);
  moqc_auth_claims_clear(&grant);
  if (!allowed) {
    r->auth_refused++;
    reply_text(r, resp, 401, "unauthorized: outside the token's get\n");
    return;
  }
  const char *track = slash + 1;
  relay_warm *w = warm_find(r, bpath, track);
  if (!w) {
    uint16_t st;
    /* Always from the latest group: a subscription started at a requested
     * group (possibly far ahead) would receive nothing until then and blind
     * /fetch of this track for every other client while it is held. */
    w = warm_new(r, bpath, track, MOQC_GROUP_NONE, &st);
    if (!w) {
      if (st == 503) r->fetch_refused++;
      reply_text(r, resp, st,
                 st == 404   ? "not found\n"
                 : st == 503 ? "too many tracks being fetched, try again later\n"
                             : "subscribe failed\n");
      return;
    }
  }
  w->last_ms = uv_now(r->loop);
  uint64_t latest = moqc_track_consumer_latest(w->tc);
  uint64_t want = seq == MOQC_GROUP_NONE ? latest : seq;
  moqc_group_consumer *g = NULL;
  int rv = want == MOQC_GROUP_NONE ? MOQC_ERR_NOT_FOUND
                                   : moqc_track_consumer_fetch_group(w->tc, want, &g);
  if (rv != MOQC_OK) {
    /* A group at or before the newest one that is not cached will not come. */
    if (seq != MOQC_GROUP_NONE && latest != MOQC_GROUP_NONE && seq <= latest) {
      reply_text(r, resp, 404, "group not found\n");
      return;
    }
    if (w->err) {
      reply_text(r, resp, 404, "track ended\n");
      return;
    }
    fetch_wait(r, w, seq, NULL, ip, resp); /* not there yet */
    return;
  }
  /* There: answered from inside this callback when complete, else once it ends. */
  fetch_wait(r, w, want, g, ip, resp);
}

/* ---- /metrics --------------------------------------------------------------- */

static void metric(relay *r, const char *name, const char *type, const char *help, uint64_t v) {
  body_printf(r, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
              (unsigned long long)v);
}

static void serve_metrics(relay *r, moqc_http_response *resp) {
  uint64_t serving = 0, tracks = 0;
  moqc_session_stats st = relay_stats(r, &serving, &tracks);
  r->body.len = 0;
  body_add(&r->body, "", 0);
  metric(r, "moqc_relay_connections", "gauge", "Sessions open now.", r->n_live);
  metric(r, "moqc_relay_connections_total", "counter", "Sessions accepted.",
         r->sessions_total[3] + r->sessions_total[4] + r->sessions_total[5] +
             r->sessions_total[14] + r->sessions_total[15] + r->sessions_total[16] +
             r->sessions_total[17] + r->sessions_total[18] + r->sessions_total[19]);
  metric(r, "moqc_relay_connections_rejected_total", "counter", "Sessions refused.", r->rejected);
  uint64_t retries = 0, bad_tokens = 0;
  if (r->server) moqc_quic_server_retry_stats(moqc_server_quic(r->server), &retries, &bad_tokens);
  metric(r, "moqc_relay_quic_retries_total", "counter",
         "QUIC Retry packets sent (address validation, --quic-retry).", retries);
  metric(r, "moqc_relay_quic_retry_bad_tokens_total", "counter",
         "QUIC Initials dropped: their Retry token did not verify.", bad_tokens);
  metric(r, "moqc_relay_auth_refused_total", "counter",
         "Sessions and HTTP requests refused by auth (no / bad / expired token, wrong root).",
         r->auth_refused);
  body_printf(r,
              "# HELP moqc_relay_quota_refused_total Requests refused by a quota, by cause.\n"
              "# TYPE moqc_relay_quota_refused_total counter\n"
              "moqc_relay_quota_refused_total{cause=\"sessions_per_root\"} %llu\n",
              (unsigned long long)r->quota_refused_sessions);
  /* The per-session caps, as the sessions counted them (live + closed). */
  const struct {
    const char *cause;
    uint64_t n;
  } causes[] = {
      {"streams", st.refused_streams},      {"subscriptions", st.refused_subscriptions},
      {"broadcasts", st.refused_announces}, {"broadcasts_per_root", st.refused_announces_root},
      {"tracks", st.refused_tracks},        {"announce_prefixes", st.refused_announce_prefixes},
      {"ingress_rate", st.refused_ingress}, {"group_rate", st.refused_group_rate},
  };
  for (size_t i = 0; i < sizeof causes / sizeof causes[0]; i++)
    body_printf(r, "moqc_relay_quota_refused_total{cause=\"%s\"} %llu\n", causes[i].cause,
                (unsigned long long)causes[i].n);
  body_printf(r,
              "# HELP moqc_relay_sessions_total Sessions accepted, by version.\n"
              "# TYPE moqc_relay_sessions_total counter\n");
  for (int v = 3; v <= 5; v++)
    body_printf(r, "moqc_relay_sessions_total{version=\"moq-lite-0%d\"} %llu\n", v,
                (unsigned long long)r->sessions_total[v]);
  for (int v = 14; v <= 19; v++) {
    char alpn[16];
    if (v == 14) snprintf(alpn, sizeof alpn, "moq-00");
    else snprintf(alpn, sizeof alpn, "moqt-%d", v);
    body_printf(r, "moqc_relay_sessions_total{version=\"%s\"} %llu\n", alpn,
                (unsigned long long)r->sessions_total[v]);
  }
  metric(r, "moqc_relay_broadcasts", "gauge", "Broadcasts announced now.", r->broadcasts);
  metric(r, "moqc_relay_subscriptions", "gauge",
         "Downstream subscriptions (SUBSCRIBE/FETCH) served now.", serving);
  metric(r, "moqc_relay_subscriptions_total", "counter", "Downstream SUBSCRIBEs accepted.",
         st.subscribes_served);
  metric(r, "moqc_relay_upstream_tracks", "gauge", "Tracks received from publishers now.", tracks);
  metric(r, "moqc_relay_bytes_in_total", "counter", "Frame payload bytes received.",
         st.bytes_received);
  metric(r, "moqc_relay_frames_in_total", "counter", "Frames received.", st.frames_received);
  metric(r, "moqc_relay_groups_in_total", "counter", "Groups received.", st.groups_received);
  metric(r, "moqc_relay_groups_out_total", "counter", "Group streams sent completely.",
         st.groups_sent);
  metric(r, "moqc_relay_datagrams_in_total", "counter",
         "lite-05 DATAGRAMs and IETF OBJECT_DATAGRAMs received.", st.datagrams_received);
  metric(r, "moqc_relay_datagrams_out_total", "counter",
         "lite-05 DATAGRAMs and IETF OBJECT_DATAGRAMs sent.", st.datagrams_sent);
  metric(r, "moqc_relay_groups_reset_old_total", "counter",
         "Group streams reset (expired or slow subscriber).", st.groups_reset_old);
  metric(r, "moqc_relay_streams_rejected_total", "counter", "Peer streams refused.",
         st.streams_rejected);
  metric(r, "moqc_relay_announces_dropped_total", "counter",
         "Announcements ignored (loops, hops, caps).", st.announces_dropped);
  metric(r, "moqc_relay_announces_unauthorized_total", "counter",
         "Announcements outside the token's put, ignored (moq-lite has no refusal for one).",
         st.unauthorized_announces);
  metric(r, "moqc_relay_cache_bytes", "gauge",
         "What track caches hold: payload bytes plus per-group and per-frame records.",
         moqc_env_cache_bytes(moqc_uv_env(r->uv)));
  uint64_t ev_budget = 0, ev_root = 0;
  moqc_env_cache_evictions(moqc_uv_env(r->uv), &ev_budget, &ev_root);
  body_printf(r,
              "# HELP moqc_relay_cache_evicted_total Cached groups evicted, by cause.\n"
              "# TYPE moqc_relay_cache_evicted_total counter\n"
              "moqc_relay_cache_evicted_total{cause=\"budget\"} %llu\n"
              "moqc_relay_cache_evicted_total{cause=\"root_cap\"} %llu\n",
              (unsigned long long)ev_budget, (unsigned long long)ev_root);
  metric(r, "moqc_relay_http_requests_total", "counter", "HTTP requests.", r->http_requests);
  /* limits (docs/relay.md "Limits") */
  metric(r, "moqc_relay_transport_sessions", "gauge",
         "Connections with a session object now, MoQ setup done or not.",
         r->server ? moqc_server_sessions(r->server) : 0);
  metric(r, "moqc_relay_cache_budget_bytes", "gauge", "The cache budget (0 = unlimited).",
         r->cfg.cache_budget);
  metric(r, "moqc_relay_http_limited_total", "counter",
         "HTTP connections closed by the per-address or total limits.",
         moqc_http_server_limited(r->http));
  metric(r, "moqc_relay_fetch_refused_total", "counter",
         "GET /fetch answered 429 or 503 by the fetch limits.", r->fetch_refused);
  body_printf(r,
              "# HELP moqc_relay_session_errors_total Sessions that ended with a non-zero "
              "code, by code and session version (the code's registry).\n# TYPE "
              "moqc_relay_session_errors_total counter\n");
  for (size_t i = 0; i < r->n_errors; i++)
    body_printf(r,
                "moqc_relay_session_errors_total{code=\"%llu\",name=\"%s\",version=\"%d\"} %llu\n",
                (unsigned long long)r->errors[i].code,
                moqc_close_code_str(r->errors[i].version, r->errors[i].code), r->errors[i].version,
                (unsigned long long)r->errors[i].count);
  if (r->errors_other)
    body_printf(r, "moqc_relay_session_errors_total{code=\"other\",name=\"other\"} %llu\n",
                (unsigned long long)r->errors_other);
  relay_cluster_metrics(r, &r->body);
  reply(r, resp, 200, "text/plain; version=0.0.4; charset=utf-8");
}

/* ---- routing ------------------------------------------------------------------ */

static void route(void *ctx, const moqc_http_request *req, moqc_http_response *resp) {
  relay *r = ctx;
  r->http_requests++;
  const char *p = req->path;
  if (moqc_log_enabled(MOQC_LOG_DEBUG)) {
    char url[1024];
    snprintf(url, sizeof url, "%s%s%s", p, req->query ? "?" : "", req->query ? req->query : "");
    char shown[1024];
    moqc_auth_redact_url(url, shown, sizeof shown);
    moqc_log(MOQC_LOG_DEBUG, "http %s %s", req->method, shown);
  }
  if (moqc_server_ws_upgrade(r->server, req, resp)) { /* QMux over WebSocket, any path */
  } else if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
    reply_text(r, resp, 405, "method not allowed\n");
  } else if (strcmp(p, "/certificate.sha256") == 0) {
    reply_text(r, resp, 200, moqc_cert_fingerprint(r->cert));
  } else if (strcmp(p, "/health") == 0) {
    reply_text(r, resp, 200, "ok\n");
  } else if (strcmp(p, "/metrics") == 0) {
    serve_metrics(r, resp);
  } else if (strcmp(p, "/nodes") == 0) { /* cluster topology (cluster.c) */
    r->body.len = 0;
    body_add(&r->body, "", 0);
    relay_cluster_nodes(r, &r->body);
    reply(r, resp, 200, "application/json");
  } else if (strcmp(p, "/announced") == 0 || strncmp(p, "/announced/", 11) == 0) {
    serve_announced(r, p[10] ? p + 11 : "", req->query, resp);
  } else if (strncmp(p, "/fetch/", 7) == 0) {
    serve_fetch(r, p + 7, req, resp);
  } else {
    reply_text(r, resp, 404, "not found\n");
  }
}

int relay_http_start(relay *r, char *err, size_t cap) {
  relay_config *c = &r->cfg;
  uv_timer_init(r->loop, &r->warm_timer);
  r->warm_timer.data = r;
  uv_timer_start(&r->warm_timer, warm_sweep, 5000, 5000);
  uv_unref((uv_handle_t *)&r->warm_timer);
  uv_timer_init(r->loop, &r->fetch_timer);
  r->fetch_timer.data = r;
  if (c->http_none) return 0;
  const char *host = c->http_set ? c->http_host : c->bind_host;
  uint16_t port = c->http_set ? c->http_port : moqc_server_port(r->server);
  moqc_http_server_config hc = {
      .route = route,
      .ctx = r,
      .keep_alive = true,
      .cors = true,
      /* limits: a count of 0 means none */
      .max_connections = c->http_max_conns ? (size_t)c->http_max_conns : SIZE_MAX,
      .max_connections_per_addr =
          c->http_max_conns_per_addr ? (size_t)c->http_max_conns_per_addr : SIZE_MAX,
      .head_timeout_ms = c->http_head_timeout_ms,
      /* https:// and wss:// on the same port (the first byte tells), with
       * the QUIC certificate */
      .tls = moqc_tls_http_ops(),
      .tls_ctx = r->cert,
  };
  int rv = moqc_http_server_new(r->loop, &hc, &r->http);
  if (rv == MOQC_OK) rv = moqc_http_server_listen(r->http, host, port);
  if (rv != MOQC_OK) {
    char where[300];
    moqc_tool_format_hostport(where, sizeof where, host, port);
    snprintf(err, cap, "cannot serve HTTP on TCP %s: %s", where,
             rv == MOQC_ERR_IO ? "address in use or not available" : moqc_err_str(rv));
    return -1;
  }
  moqc_tool_format_hostport(r->http_addr, sizeof r->http_addr, host,
                            moqc_http_server_port(r->http));
  return 0;
}

void relay_http_stop(relay *r) {
  moqc_http_server_del(r->http); /* every waiting /fetch is gone (fetch_gone) */
  r->http = NULL;
  while (r->fetches) fetch_free(r->fetches);
  if (r->fetch_timer.data && !uv_is_closing((uv_handle_t *)&r->fetch_timer))
    uv_close((uv_handle_t *)&r->fetch_timer, NULL);
  while (r->warm) {
    relay_warm *w = r->warm;
    r->warm = w->next;
    warm_free(w);
  }
  if (r->warm_timer.data && !uv_is_closing((uv_handle_t *)&r->warm_timer))
    uv_close((uv_handle_t *)&r->warm_timer, NULL);
  free(r->body.p);
  r->body = (relay_body){0};
}
