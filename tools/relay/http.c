/* moqc-relay HTTP endpoints (TCP, moqc_http_server, CORS on):
 *   GET /certificate.sha256          lower-case hex SHA-256 of the leaf, no newline
 *                                    (moq-relay: Rust hex::encode as the body)
 *   GET /announced[/<prefix>]        active broadcasts under prefix, relative to it,
 *                                    joined with "\n" (as moq-relay)
 *   GET /fetch/<broadcast>/<track>[?group=N|latest]
 *                                    the frames of one group, concatenated
 *   GET /health                      "ok\n"
 *   GET /metrics                     Prometheus text format
 *
 * The HTTP server answers from inside the route callback, so /fetch can only
 * serve what the relay has cached. A cold track is subscribed on the first
 * request (503 "not cached yet" then) and kept subscribed for WARM_MS after the
 * last request, so the next request is served from the cache. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moqc/error.h"
#include "moqc/path.h"
#include "relay.h"
#include "runtime/tool_util.h"

#define WARM_MS 30000
#define BODY_MAX ((size_t)32 << 20)

struct relay_warm {
  relay *r;
  char *bpath, *track;
  moqc_broadcast_consumer *bc;
  moqc_track_consumer *tc;
  uint64_t last_ms;
  int err; /* the track ended / failed: drop at the next look-up */
  relay_warm *next;
};

/* ---- response body -------------------------------------------------------- */

static bool body_reserve(relay *r, size_t extra) {
  if (r->body_len + extra + 1 <= r->body_cap) return true;
  if (r->body_len + extra + 1 > BODY_MAX) return false;
  size_t cap = r->body_cap ? r->body_cap : 4096;
  while (cap < r->body_len + extra + 1) cap *= 2;
  char *p = realloc(r->body, cap);
  if (!p) return false;
  r->body = p;
  r->body_cap = cap;
  return true;
}

static bool body_add(relay *r, const void *p, size_t n) {
  if (!body_reserve(r, n)) return false;
  if (n) memcpy(r->body + r->body_len, p, n);
  r->body_len += n;
  r->body[r->body_len] = 0;
  return true;
}

static void body_printf(relay *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void body_printf(relay *r, const char *fmt, ...) {
  char tmp[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) body_add(r, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void reply(relay *r, moqc_http_response *resp, uint16_t status, const char *type) {
  resp->status = status;
  resp->content_type = type;
  resp->body = r->body;
  resp->body_len = r->body_len;
}

static void reply_text(relay *r, moqc_http_response *resp, uint16_t status, const char *text) {
  r->body_len = 0;
  body_add(r, text, strlen(text));
  reply(r, resp, status, "text/plain; charset=utf-8");
}

/* ---- /announced ------------------------------------------------------------ */

static void serve_announced(relay *r, const char *prefix, moqc_http_response *resp) {
  char norm[MOQC_PATH_MAX_LEN + 1];
  if (moqc_path_normalize(norm, sizeof norm, prefix, strlen(prefix)) < 0) {
    reply_text(r, resp, 400, "bad prefix\n");
    return;
  }
  moqc_origin *view = moqc_origin_with_root(r->origin, norm);
  moqc_origin_consumer *c = view ? moqc_origin_consume(view, "") : NULL;
  if (!c) {
    moqc_origin_unref(view);
    reply_text(r, resp, 500, "out of memory\n");
    return;
  }
  r->body_len = 0;
  body_add(r, "", 0);
  moqc_announce a;
  bool first = true;
  /* A fresh consumer reports exactly the active set, then AGAIN. */
  while (moqc_origin_consumer_next(c, &a) == MOQC_OK) {
    if (!a.active) continue;
    if (!first) body_add(r, "\n", 1);
    body_add(r, a.path, strlen(a.path));
    first = false;
  }
  moqc_origin_consumer_del(c);
  moqc_origin_unref(view);
  reply(r, resp, 200, "text/plain; charset=utf-8");
}

/* ---- /fetch ------------------------------------------------------------------- */

static void warm_free(relay_warm *w) {
  moqc_track_consumer_del(w->tc);
  moqc_broadcast_consumer_del(w->bc);
  free(w->bpath);
  free(w->track);
  free(w);
}

/* Keep the subscription moving: drop the groups (the cache keeps them). */
static void warm_wake(void *arg) {
  relay_warm *w = arg;
  moqc_group_consumer *g;
  int rv;
  while ((rv = moqc_track_consumer_recv_group(w->tc, &g)) == MOQC_OK) moqc_group_consumer_del(g);
  if (rv != MOQC_ERR_AGAIN) w->err = rv;
}

static relay_warm *warm_find(relay *r, const char *bpath, const char *track) {
  relay_warm **pp = &r->warm;
  while (*pp) {
    relay_warm *w = *pp;
    if (strcmp(w->bpath, bpath) == 0 && strcmp(w->track, track) == 0) {
      if (!w->err) return w;
      *pp = w->next; /* ended or failed: subscribe again */
      warm_free(w);
      continue;
    }
    pp = &w->next;
  }
  return NULL;
}

/* Subscribe (kept warm). NULL with *status 404 (no broadcast / track) or 500. */
static relay_warm *warm_new(relay *r, const char *bpath, const char *track, uint64_t start,
                            uint16_t *status) {
  int err = 0;
  relay_warm *w = calloc(1, sizeof *w);
  *status = 500;
  if (!w) return NULL;
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
    if (w->err || now - w->last_ms > WARM_MS) {
      *pp = w->next;
      warm_free(w);
    } else {
      pp = &w->next;
    }
  }
}

/* Append the frames of g available now. Returns the read error that stopped
 * it (CLOSED = complete, AGAIN = still being written). */
static int read_group(relay *r, moqc_group_consumer *g) {
  moqc_frame f;
  int rv;
  while ((rv = moqc_group_consumer_read_frame(g, &f)) == MOQC_OK) {
    bool ok = body_add(r, moqc_slice_ptr(&f.payload), f.payload.len);
    moqc_slice_release(&f.payload);
    if (!ok) return MOQC_ERR_TOO_LARGE;
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

static void serve_fetch(relay *r, const char *rest, const char *query,
                        moqc_http_response *resp) {
  const char *slash = strrchr(rest, '/');
  uint64_t seq;
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
  const char *track = slash + 1;
  relay_warm *w = warm_find(r, bpath, track);
  bool fresh = false;
  if (!w) {
    uint16_t st;
    w = warm_new(r, bpath, track, seq, &st);
    if (!w) {
      reply_text(r, resp, st, st == 404 ? "not found\n" : "subscribe failed\n");
      return;
    }
    fresh = true;
  }
  w->last_ms = uv_now(r->loop);
  if (seq == MOQC_GROUP_NONE) seq = moqc_track_consumer_latest(w->tc);
  moqc_group_consumer *g = NULL;
  int rv = seq == MOQC_GROUP_NONE ? MOQC_ERR_NOT_FOUND
                                  : moqc_track_consumer_fetch_group(w->tc, seq, &g);
  if (rv != MOQC_OK) {
    bool waiting = fresh && !w->err && rv == MOQC_ERR_NOT_FOUND;
    reply_text(r, resp, waiting ? 503 : 404,
               waiting ? "not cached yet, retry\n" : "group not found\n");
    return;
  }
  r->body_len = 0;
  body_add(r, "", 0);
  rv = read_group(r, g);
  moqc_group_consumer_del(g);
  if (rv != MOQC_ERR_CLOSED && rv != MOQC_ERR_AGAIN) {
    char msg[128];
    snprintf(msg, sizeof msg, "group failed: %s\n", moqc_err_str(rv));
    reply_text(r, resp, rv == MOQC_ERR_TOO_LARGE ? 413 : 502, msg);
    return;
  }
  reply(r, resp, 200, "application/octet-stream");
}

/* ---- /metrics --------------------------------------------------------------- */

static void metric(relay *r, const char *name, const char *type, const char *help, uint64_t v) {
  body_printf(r, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
              (unsigned long long)v);
}

static void serve_metrics(relay *r, moqc_http_response *resp) {
  uint64_t serving = 0, tracks = 0;
  moqc_session_stats st = relay_stats(r, &serving, &tracks);
  r->body_len = 0;
  body_add(r, "", 0);
  metric(r, "moqc_relay_connections", "gauge", "Sessions open now.", r->n_live);
  metric(r, "moqc_relay_connections_total", "counter", "Sessions accepted.",
         r->sessions_total[3] + r->sessions_total[4] + r->sessions_total[5]);
  metric(r, "moqc_relay_connections_rejected_total", "counter", "Sessions refused.",
         r->rejected);
  body_printf(r, "# HELP moqc_relay_sessions_total Sessions accepted, by version.\n"
                 "# TYPE moqc_relay_sessions_total counter\n");
  for (int v = 3; v <= 5; v++)
    body_printf(r, "moqc_relay_sessions_total{version=\"moq-lite-0%d\"} %llu\n", v,
                (unsigned long long)r->sessions_total[v]);
  metric(r, "moqc_relay_broadcasts", "gauge", "Broadcasts announced now.", r->broadcasts);
  metric(r, "moqc_relay_subscriptions", "gauge",
         "Downstream subscriptions (SUBSCRIBE/FETCH) served now.", serving);
  metric(r, "moqc_relay_subscriptions_total", "counter", "Downstream SUBSCRIBEs accepted.",
         st.subscribes_served);
  metric(r, "moqc_relay_upstream_tracks", "gauge", "Tracks received from publishers now.",
         tracks);
  metric(r, "moqc_relay_bytes_in_total", "counter", "Frame payload bytes received.",
         st.bytes_received);
  metric(r, "moqc_relay_frames_in_total", "counter", "Frames received.", st.frames_received);
  metric(r, "moqc_relay_groups_in_total", "counter", "Groups received.", st.groups_received);
  metric(r, "moqc_relay_groups_out_total", "counter", "Group streams sent completely.",
         st.groups_sent);
  metric(r, "moqc_relay_groups_reset_old_total", "counter",
         "Group streams reset (expired or slow subscriber).", st.groups_reset_old);
  metric(r, "moqc_relay_streams_rejected_total", "counter", "Peer streams refused.",
         st.streams_rejected);
  metric(r, "moqc_relay_announces_dropped_total", "counter",
         "Announcements ignored (loops, hops, caps).", st.announces_dropped);
  metric(r, "moqc_relay_cache_bytes", "gauge", "Bytes held by track caches.",
         moqc_env_cache_bytes(moqc_uv_env(r->uv)));
  metric(r, "moqc_relay_http_requests_total", "counter", "HTTP requests.", r->http_requests);
  body_printf(r, "# HELP moqc_relay_session_errors_total Sessions that ended with a non-zero "
                 "code, by code.\n# TYPE moqc_relay_session_errors_total counter\n");
  for (size_t i = 0; i < r->n_errors; i++)
    body_printf(r, "moqc_relay_session_errors_total{code=\"%llu\",name=\"%s\"} %llu\n",
                (unsigned long long)r->errors[i].code, moqc_code_str(r->errors[i].code),
                (unsigned long long)r->errors[i].count);
  if (r->errors_other)
    body_printf(r, "moqc_relay_session_errors_total{code=\"other\",name=\"other\"} %llu\n",
                (unsigned long long)r->errors_other);
  reply(r, resp, 200, "text/plain; version=0.0.4; charset=utf-8");
}

/* ---- routing ------------------------------------------------------------------ */

static void route(void *ctx, const moqc_http_request *req, moqc_http_response *resp) {
  relay *r = ctx;
  r->http_requests++;
  const char *p = req->path;
  moqc_log(MOQC_LOG_DEBUG, "http %s %s%s%s", req->method, p, req->query ? "?" : "",
           req->query ? req->query : "");
  if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
    reply_text(r, resp, 405, "method not allowed\n");
  } else if (strcmp(p, "/certificate.sha256") == 0) {
    reply_text(r, resp, 200, moqc_cert_fingerprint(r->cert));
  } else if (strcmp(p, "/health") == 0) {
    reply_text(r, resp, 200, "ok\n");
  } else if (strcmp(p, "/metrics") == 0) {
    serve_metrics(r, resp);
  } else if (strcmp(p, "/announced") == 0 || strncmp(p, "/announced/", 11) == 0) {
    serve_announced(r, p[10] ? p + 11 : "", resp);
  } else if (strncmp(p, "/fetch/", 7) == 0) {
    serve_fetch(r, p + 7, req->query, resp);
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
  if (c->http_none) return 0;
  const char *host = c->http_set ? c->http_host : c->bind_host;
  uint16_t port = c->http_set ? c->http_port : moqc_server_port(r->server);
  moqc_http_server_config hc = {
      .route = route,
      .ctx = r,
      .keep_alive = true,
      .cors = true,
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
  moqc_http_server_del(r->http);
  r->http = NULL;
  while (r->warm) {
    relay_warm *w = r->warm;
    r->warm = w->next;
    warm_free(w);
  }
  if (r->warm_timer.data && !uv_is_closing((uv_handle_t *)&r->warm_timer))
    uv_close((uv_handle_t *)&r->warm_timer, NULL);
  free(r->body);
  r->body = NULL;
  r->body_len = r->body_cap = 0;
}
