/* moqc session — lifecycle, transport handler, close and teardown. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "moqc/path.h"
#include "moqc/time.h"
#include "core/ietf_wire.h"
#include "session/session_int.h"

/* ---- re-entrancy ------------------------------------------------------------ */

void moqc__sess_bury(moqc_session *s, sobj *o) {
  assert(s->depth > 0); /* freed at the outermost exit: there must be one */
  assert(o->destroy);
  if (o->dead) return;
  o->dead = true;
  o->grave_next = s->graveyard;
  s->graveyard = o;
}

static void sess_free(moqc_session *s);
static void sess_teardown(moqc_session *s);

void moqc__sess_enter(moqc_session *s) { s->depth++; }

/* Legal lifecycle transitions (see enum sess_state): bit `from` of legal[to]. */
#define STB(x) (1u << (x))
static const unsigned legal_from[] = {
    [ST_IDLE] = 0,
    [ST_WAIT_SETUP] = 0,
    [ST_REQUEST] = STB(ST_WAIT_SETUP),
    [ST_RUNNING] = STB(ST_IDLE) | STB(ST_REQUEST),
    [ST_CLOSING] = STB(ST_IDLE) | STB(ST_WAIT_SETUP) | STB(ST_REQUEST) | STB(ST_RUNNING),
    [ST_CLOSED] = STB(ST_CLOSING),
};

void moqc__sess_set_state(moqc_session *s, enum sess_state to) {
  assert((size_t)to < sizeof legal_from / sizeof legal_from[0]);
  assert(legal_from[to] & STB(s->state));
  (void)legal_from; /* NDEBUG */
  s->state = to;
}

void moqc__sess_exit(moqc_session *s) {
  assert(s->depth > 0);
  if (s->depth > 1) {
    s->depth--;
    return;
  }
  /* Outermost: finish deferred work while still "inside" (depth 1), so that
   * callbacks fired from here nest correctly. */
  assert(s->depth == 1);
  for (;;) {
    if (s->state == ST_CLOSING) {
      sess_teardown(s);
      continue;
    }
    if (sess_open_ready(s)) {
      moqc__sess_drain_pending_open(s);
      continue;
    }
    if (s->graveyard) {
      sobj *o = s->graveyard;
      s->graveyard = NULL;
      while (o) {
        sobj *next = o->grave_next;
        o->destroy(o);
        o = next;
      }
      continue;
    }
    /* Level-checked here, once all the work of this entry is done, so
     * `idle` fires on the transition however the session got there. */
    if (!sess_closing(s) && s->ev.idle) {
      bool idle = moqc__sess_idle(s);
      if (idle && !s->ev_idle_sent) {
        s->ev_idle_sent = true;
        s->ev.idle(s->ev_ctx, s);
        continue;
      }
      s->ev_idle_sent = idle;
    }
    break;
  }
  assert(s->depth == 1);
  s->depth = 0;
  if (s->del_pending) sess_free(s);
}

uint64_t moqc__sess_now(const moqc_session *s) { return moqc_clock_now(s->clock); }

/* Take n tokens from a bucket of `burst` refilled at `rate` per second;
 * false if fewer are left (nothing is taken then). */
static bool bucket_take(moqc_session *s, uint64_t rate, uint64_t burst, uint64_t *tokens,
                        uint64_t *at, uint64_t n) {
  uint64_t now = moqc__sess_now(s);
  if (now > *at) {
    /* rate * elapsed ns / 1e9, without overflowing for long idle gaps */
    uint64_t dt = now - *at;
    uint64_t add = dt >= 1000000000ull ? burst : moqc__rate_credit(rate, dt);
    if (add) {
      *tokens = burst - *tokens < add ? burst : *tokens + add;
      *at = now;
    }
  }
  assert(*tokens <= burst);
  if (n > *tokens) return false;
  *tokens -= n;
  return true;
}

bool moqc__sess_ingress(moqc_session *s, size_t len) {
  if (sess_closing(s)) return false;
  uint64_t rate = s->lim.max_ingress_rate;
  if (!rate) return true;
  if (bucket_take(s, rate, s->lim.ingress_burst, &s->ingress_tokens, &s->ingress_at, len))
    return true;
  s->stats.refused_ingress++;
  moqc__sess_fail(s, MOQC_CODE_BOUNDS_EXCEEDED, "ingress rate over quota", false);
  return false;
}

bool moqc__sess_group_rate(moqc_session *s) {
  if (sess_closing(s)) return false;
  uint64_t rate = s->lim.max_group_rate;
  if (!rate) return true;
  if (bucket_take(s, rate, s->lim.group_burst, &s->group_tokens, &s->group_at, 1)) return true;
  s->stats.refused_group_rate++;
  moqc__sess_fail(s, MOQC_CODE_BOUNDS_EXCEEDED, "group rate over quota", false);
  return false;
}

int moqc_session_set_group_rate(moqc_session *s, uint64_t rate, uint64_t burst) {
  if (!s) return MOQC_ERR_INVAL;
  s->lim.max_group_rate = rate;
  s->lim.group_burst = rate ? (burst ? burst : rate) : 0;
  s->group_tokens = s->lim.group_burst;
  assert(!s->lim.max_group_rate || s->lim.group_burst > 0);
  return MOQC_OK;
}

void moqc__sess_debug(moqc_session *s, const char *fmt, ...) {
  if (!s->cfg.on_debug) return;
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  (void)vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  s->cfg.on_debug(s->cfg.ctx, s, msg);
}

/* ---- close -------------------------------------------------------------------- */

/* The wire code for a moqc__sess_fail code: SESS_WIRE(c) is c, a moqc_code
 * what the protocol maps it to (session_int.h). */
static uint64_t sess_wire_code(const moqc_session *s, uint64_t code) {
  uint64_t wire;
  if (code & MOQC__CODE_WIRE) wire = code & ~MOQC__CODE_WIRE;
  else if (s->proto->close_code) wire = s->proto->close_code(s, code);
  else wire = code;
  assert(wire <= MOQC_CODE_MAX);
  return wire;
}

/* Ends the session with `wire`, the code on the wire (sent, or received). */
static void sess_end(moqc_session *s, uint64_t wire, const char *reason, bool by_peer) {
  if (sess_closing(s)) return;
  assert(!(wire & MOQC__CODE_WIRE));
  moqc__sess_set_state(s, ST_CLOSING);
  s->close_code = wire;
  s->close_by_peer = by_peer;
  s->close_reason = moqc_strdup(reason ? reason : "");
  if (!by_peer && !s->transport_closed) {
    s->transport_closed = true;
    s->t->ops->close(s->t, wire, reason ? reason : "");
  }
}

void moqc__sess_fail(moqc_session *s, uint64_t code, const char *reason, bool by_peer) {
  if (sess_closing(s)) return;
  sess_end(s, sess_wire_code(s, code), reason, by_peer);
}

static void tick_cb(moqc_timer *tm, void *arg) {
  (void)tm;
  moqc_session *s = arg;
  moqc__sess_enter(s);
  if (!sess_closing(s)) moqc__serve_tick(s);
  moqc__sess_exit(s);
}

/* Armed only while a group can expire: delivery itself is an event
 * (stream_acked), not something the tick looks for. */
void moqc__sess_tick_arm(moqc_session *s) {
  if (sess_closing(s) || moqc_timer_armed(&s->tick) || !moqc__serve_can_expire(s)) return;
  (void)moqc_timer_start(s->clock, &s->tick, moqc__sess_now(s) + SESS_TICK_NS);
}

static void sess_teardown(moqc_session *s) {
  moqc__sess_set_state(s, ST_CLOSED);
  moqc_timer_stop(s->clock, &s->tick);
  moqc_timer_stop(s->clock, &s->req_timer);
  if (s->proto->teardown) s->proto->teardown(s);
  /* Subscriber side first: everything the peer was feeding is DROPPED. */
  moqc__sa_destroy(s);
  moqc__rb_drop_all(s, MOQC_CODE_DROPPED);
  moqc__sf_destroy_all(s);
  /* Publisher side: release every consumer. */
  moqc__tf_destroy_all(s);
  moqc__pa_destroy_all(s);
  moqc__serve_destroy_all(s);
  moqc__probe_destroy_all(s);
  /* Streams. */
  for (int i = 0; i < 2; i++)
    while (!moqc_list_empty(&s->st.pending_open[i])) moqc_list_pop_front(&s->st.pending_open[i]);
  s->st.open_blocked[0] = s->st.open_blocked[1] = false;
  moqc_imap_it it;
  void *v;
  moqc__imap_it_init(&s->st.table, &it);
  while (moqc__imap_next(&s->st.table, &it, NULL, &v)) {
    sstream *ss = v;
    ss->owner = NULL;
    moqc__ss_forget(ss); /* removes the current entry only */
  }
  assert(moqc__imap_size(&s->st.table) == 0 && s->st.n_peer == 0);
  assert(moqc_list_empty(&s->pub.inflight) && moqc_list_empty(&s->st.parked));
  assert(s->n_served == 0 && s->sub.n_rbcasts == 0 && s->sub.n_rtracks == 0);
  if (s->cfg.on_closed) {
    s->cfg.on_closed(s->cfg.ctx, s, s->close_code, s->close_reason ? s->close_reason : "",
                     s->close_by_peer);
  }
}

/* ---- transport handler ---------------------------------------------------------- */

static void h_stream_opened(void *ctx, int64_t id) {
  moqc_session *s = ctx;
  moqc__sess_enter(s);
  if (!sess_closing(s)) moqc__ss_on_opened(s, id);
  moqc__sess_exit(s);
}

static void h_stream_data(void *ctx, int64_t id, const uint8_t *p, size_t len, bool fin) {
  moqc_session *s = ctx;
  moqc__sess_enter(s);
  if (!sess_closing(s)) moqc__ss_on_data(s, id, p, len, fin);
  moqc__sess_exit(s);
}

static void h_stream_reset(void *ctx, int64_t id, uint64_t code) {
  moqc_session *s = ctx;
  moqc__sess_enter(s);
  if (!sess_closing(s)) moqc__ss_on_reset(s, id, code);
  moqc__sess_exit(s);
}

static void h_stop_sending(void *ctx, int64_t id, uint64_t code) {
  moqc_session *s = ctx;
  moqc__sess_enter(s);
  if (!sess_closing(s)) moqc__ss_on_stop(s, id, code);
  moqc__sess_exit(s);
}

static void h_stream_closed(void *ctx, int64_t id) {
  moqc_session *s = ctx;
  moqc__sess_enter(s);
  if (!sess_closing(s)) moqc__ss_on_closed(s, id);
  moqc__sess_exit(s);
}

static void h_stream_acked(void *ctx, int64_t id) {
  moqc_session *s = ctx;
  moqc__sess_enter(s);
  if (!sess_closing(s)) moqc__serve_on_acked(s, id);
  moqc__sess_exit(s);
}

static void h_datagram(void *ctx, const uint8_t *p, size_t len) {
  moqc_session *s = ctx;
  moqc__sess_enter(s);
  if (s->state == ST_RUNNING && s->proto->datagram) s->proto->datagram(s, p, len);
  moqc__sess_exit(s);
}

static void h_writable(void *ctx) {
  moqc_session *s = ctx;
  moqc__sess_enter(s);
  if (!sess_closing(s)) {
    /* Stream credit may have arrived: retry the waiting openers first. */
    s->st.open_blocked[0] = s->st.open_blocked[1] = false;
    moqc__sess_drain_pending_open(s);
    if (!sess_closing(s)) moqc__serve_tick(s);
  }
  moqc__sess_exit(s);
}

static void h_closed(void *ctx, uint64_t code, const char *reason, bool by_peer) {
  moqc_session *s = ctx;
  moqc__sess_enter(s);
  s->transport_closed = true;
  /* The peer closed, or the connection died under us: either way the peer
   * went away (by_peer in the session's sense). A no-op once closing. */
  /* by_peer: the peer's code, as it came; else the transport died here, or
   * the peer ended it below MoQ (a QUIC transport error, a TLS alert), and
   * it reports a moqc_code (idle timeout: Timeout), which the protocol maps. */
  bool wire = by_peer && !s->t->close_code_local;
  sess_end(s, wire ? code : sess_wire_code(s, code), reason, true);
  moqc__sess_exit(s);
}

static const moqc_transport_handler g_handler = {
    .stream_opened = h_stream_opened,
    .stream_data = h_stream_data,
    .stream_reset = h_stream_reset,
    .stop_sending = h_stop_sending,
    .stream_closed = h_stream_closed,
    .datagram = h_datagram,
    .writable = h_writable,
    .closed = h_closed,
    .stream_acked = h_stream_acked,
};

/* ---- public API ------------------------------------------------------------------ */

static void req_timer_cb(moqc_timer *tm, void *arg);

static size_t lim_or(size_t v, size_t def) { return v ? v : def; }

moqc_session *moqc_session_new(moqc_transport *t, const moqc_session_config *cfg) {
  if (!t || !cfg || !cfg->env) return NULL;
  if (cfg->is_server && !cfg->on_request) return NULL;
  int version = cfg->version;
  if (version == 0) {
    size_t plen = strnlen(t->protocol, sizeof t->protocol);
    version = moqc_lite_version_from_alpn(t->protocol, plen);
    if (!moqc_lite_version_valid(version))
      version = moqc__ietf_version_from_alpn(t->protocol, plen);
    /* `moql`, or WebTransport without a sub-protocol: moq-dev's in-band
     * SETUP negotiation; of its versions (lite-01, lite-02, IETF draft-14)
     * we speak draft-14 (the CLIENT_SETUP version list decides). */
    if (!moqc_lite_version_valid(version) && !moqc__sess_ietf_version(version) &&
        ((plen == 4 && memcmp(t->protocol, "moql", 4) == 0) || (plen == 0 && t->webtransport)))
      version = MOQC_IETF_14;
  }
  bool ietf = moqc__sess_ietf_version(version);
  if (!ietf && !moqc_lite_version_valid(version)) return NULL;
  if (cfg->origin_id >= MOQC_ORIGIN_ID_MAX) return NULL;

  moqc_session *s = moqc_calloc(1, sizeof *s);
  if (!s) return NULL;
  s->env = cfg->env;
  s->clock = moqc_env_clock(cfg->env);
  s->t = t;
  s->cfg = *cfg;
  s->version = version;
  s->moql = version == MOQC_IETF_14 && strncmp(t->protocol, "moq-00", sizeof t->protocol) != 0;
  s->proto = ietf ? &moqc__proto_ietf : &moqc__proto_lite;
  if (s->proto->init && s->proto->init(s) < 0) {
    moqc_free(s);
    return NULL;
  }
  if (cfg->path) {
    s->cfg_path = moqc_strdup(cfg->path);
    if (!s->cfg_path) {
      if (s->proto->free) s->proto->free(s);
      moqc_free(s);
      return NULL;
    }
  }
  s->cfg.path = s->cfg_path;
  if (cfg->auth_token && !(s->cfg_token = moqc_strdup(cfg->auth_token))) {
    moqc_free(s->cfg_path);
    if (s->proto->free) s->proto->free(s);
    moqc_free(s);
    return NULL;
  }
  s->cfg.auth_token = s->cfg_token;
  s->lim.max_streams = lim_or(cfg->limits.max_streams, DEF_MAX_STREAMS);
  s->lim.max_subscriptions = lim_or(cfg->limits.max_subscriptions, DEF_MAX_SUBSCRIPTIONS);
  /* A client takes every announcement of the server it chose (a relay has
   * its own caps per publisher and per root): a cap there would hide other
   * people's broadcasts. A server caps each publishing peer. */
  s->lim.max_announced =
      lim_or(cfg->limits.max_announced, cfg->is_server ? DEF_MAX_ANNOUNCED : SIZE_MAX);
  s->lim.max_tracks = lim_or(cfg->limits.max_tracks, DEF_MAX_TRACKS);
  s->lim.max_queued_bytes = lim_or(cfg->limits.max_queued_bytes, DEF_MAX_QUEUED);
  s->lim.max_pending_groups = lim_or(cfg->limits.max_pending_groups, DEF_MAX_PENDING_GROUPS);
  s->lim.max_announce_prefixes =
      lim_or(cfg->limits.max_announce_prefixes, DEF_MAX_ANNOUNCE_PREFIXES);
  s->lim.max_requests = lim_or(cfg->limits.max_requests, DEF_MAX_REQUESTS);
  if (s->lim.max_requests > DEF_MAX_REQUESTS_CAP) s->lim.max_requests = DEF_MAX_REQUESTS_CAP;
  s->lim.max_ingress_rate = cfg->limits.max_ingress_rate;
  s->lim.ingress_burst =
      cfg->limits.max_ingress_rate
          ? (cfg->limits.ingress_burst ? cfg->limits.ingress_burst : cfg->limits.max_ingress_rate)
          : 0;
  s->ingress_tokens = s->lim.ingress_burst;
  s->lim.max_group_rate = cfg->limits.max_group_rate;
  s->lim.group_burst =
      cfg->limits.max_group_rate
          ? (cfg->limits.group_burst ? cfg->limits.group_burst : cfg->limits.max_group_rate)
          : 0;
  s->group_tokens = s->lim.group_burst;
  moqc__imap_init(&s->st.table);
  moqc__smap_init(&s->sub.rbcasts, 0);
  moqc__imap_init(&s->sub.rtracks);
  moqc_link_init(&s->st.parked);
  moqc_link_init(&s->st.pending_open[0]);
  moqc_link_init(&s->st.pending_open[1]);
  moqc_link_init(&s->pub.announces);
  moqc_link_init(&s->pub.subs);
  moqc_link_init(&s->pub.tracks);
  moqc_link_init(&s->pub.fetches);
  moqc_link_init(&s->pub.inflight);
  moqc_link_init(&s->sub.rbcast_list);
  moqc_link_init(&s->sub.fetches);
  moqc_link_init(&s->probes);
  moqc_timer_init(&s->tick, tick_cb, s);
  moqc_timer_init(&s->req_timer, req_timer_cb, s);
  s->self_id = cfg->origin_id;

  moqc_transport_set_handler(t, &g_handler, s);

  s->state = cfg->is_server ? ST_WAIT_SETUP : ST_IDLE;
  /* lite-03/04 have no SETUP: the request is known now, but on_request never
   * runs from inside moqc_session_new; a zero-delay timer delivers it. */
  if (cfg->is_server && !moqc_lite_is_05(version) && !s->proto->server_waits_setup &&
      moqc_timer_start(s->clock, &s->req_timer, moqc__sess_now(s)) < 0) {
    moqc_transport_set_handler(t, NULL, NULL);
    if (s->proto->free) s->proto->free(s);
    moqc_free(s->cfg_path);
    moqc_free(s->cfg_token);
    moqc_free(s);
    return NULL;
  }
  return s;
}

void moqc__sess_request(moqc_session *s, const moqc_session_request *req) {
  moqc__sess_set_state(s, ST_REQUEST);
  s->cfg.on_request(s->cfg.ctx, s, req);
}

static void req_timer_cb(moqc_timer *tm, void *arg) {
  (void)tm;
  moqc_session *s = arg;
  moqc__sess_enter(s);
  if (s->state == ST_WAIT_SETUP) {
    moqc_session_request req = {
        .version = s->version,
        .path = s->t->path ? s->t->path : "",
        .role = MOQC_SESSION_ROLE_BOTH,
        .peer_origin = 0,
    };
    moqc__sess_request(s, &req);
  }
  moqc__sess_exit(s);
}

static void set_origins(moqc_session *s, moqc_origin *publish, moqc_origin *subscribe) {
  s->pub.origin = publish ? moqc_origin_ref(publish) : NULL;
  s->sub.origin = subscribe ? moqc_origin_ref(subscribe) : NULL;
  if (s->self_id == 0) {
    if (s->pub.origin) s->self_id = moqc_origin_id(s->pub.origin);
    else if (s->sub.origin) s->self_id = moqc_origin_id(s->sub.origin);
  }
  if (s->self_id >= MOQC_ORIGIN_ID_MAX) s->self_id = 0;
}

void moqc__sess_run(moqc_session *s) {
  moqc__sess_set_state(s, ST_RUNNING);
  s->proto->run(s);
  moqc__sess_unpark(s);
}

int moqc_session_start(moqc_session *s, moqc_origin *publish, moqc_origin *subscribe) {
  if (!s) return MOQC_ERR_INVAL;
  if (sess_closing(s)) return MOQC_ERR_CLOSED;
  if (s->cfg.is_server || s->state != ST_IDLE) return MOQC_ERR_STATE;
  moqc__sess_enter(s);
  set_origins(s, publish, subscribe);
  moqc__sess_run(s);
  moqc__sess_exit(s);
  return MOQC_OK;
}

int moqc_session_accept(moqc_session *s, moqc_origin *publish, moqc_origin *subscribe) {
  if (!s) return MOQC_ERR_INVAL;
  if (sess_closing(s)) return MOQC_ERR_CLOSED;
  if (!s->cfg.is_server || s->state != ST_REQUEST) return MOQC_ERR_STATE;
  moqc__sess_enter(s);
  set_origins(s, publish, subscribe);
  moqc__sess_run(s);
  moqc__sess_exit(s);
  return MOQC_OK;
}

int moqc_session_reject(moqc_session *s, uint64_t code, const char *reason) {
  if (!s || code > MOQC_CODE_MAX) return MOQC_ERR_INVAL;
  if (sess_closing(s)) return MOQC_ERR_CLOSED;
  if (!s->cfg.is_server || s->state != ST_REQUEST) return MOQC_ERR_STATE;
  moqc__sess_enter(s);
  moqc__sess_fail(s, code, reason, false);
  moqc__sess_exit(s);
  return MOQC_OK;
}

void moqc_session_close(moqc_session *s, uint64_t code, const char *reason) {
  if (!s || sess_closing(s)) return;
  if (code > MOQC_CODE_MAX) code = MOQC_CODE_TRANSPORT; /* not a wire code: a local fault */
  moqc__sess_enter(s);
  moqc__sess_fail(s, code, reason, false);
  moqc__sess_exit(s);
}

static void sess_free(moqc_session *s) {
  moqc__serve_drop_arena(s);
  moqc__imap_free(&s->st.table);
  moqc__smap_free(&s->sub.rbcasts);
  moqc__imap_free(&s->sub.rtracks);
  if (s->pub.origin) moqc_origin_unref(s->pub.origin);
  if (s->sub.origin) moqc_origin_unref(s->sub.origin);
  moqc_transport_set_handler(s->t, NULL, NULL);
  s->t->ops->release(s->t);
  moqc_free(s->close_reason);
  moqc_free(s->req_path);
  moqc_free(s->req_token);
  moqc_free(s->req_authority);
  moqc_free(s->req_impl);
  moqc_free(s->cfg_token);
  moqc_free(s->cfg_path);
  moqc_free(s->goaway_uri);
  if (s->proto->free) s->proto->free(s);
  moqc_free(s);
}

void moqc_session_del(moqc_session *s) {
  if (!s) return;
  moqc__sess_enter(s);
  if (!sess_closing(s)) {
    /* No on_closed after del: the application is gone. */
    s->cfg.on_closed = NULL;
    moqc__sess_fail(s, MOQC_CODE_CANCEL, "", false);
  }
  s->cfg.on_closed = NULL;
  s->del_pending = true;
  moqc__sess_exit(s);
}

int moqc_session_version(const moqc_session *s) { return s->version; }

const char *moqc_session_protocol(const moqc_session *s) {
  if (s && s->moql) return "moql";
  switch (s ? s->version : 0) {
    case 3: return "moq-lite-03";
    case 4: return "moq-lite-04";
    case 5: return "moq-lite-05";
    default: break;
  }
  const char *a = s ? moqc__ietf_version_alpn(s->version) : NULL;
  return a ? a : "";
}

bool moqc_session_is_ietf(const moqc_session *s) {
  return s && moqc__sess_ietf_version(s->version);
}
bool moqc_session_is_closed(const moqc_session *s) { return sess_closing(s); }
uint64_t moqc_session_closed_code(const moqc_session *s) { return s->close_code; }
const char *moqc_session_closed_reason(const moqc_session *s) {
  return s->close_reason ? s->close_reason : "";
}
bool moqc_session_closed_by_peer(const moqc_session *s) { return s->close_by_peer; }
uint64_t moqc_session_peer_origin(const moqc_session *s) { return s->peer_id; }
const char *moqc_session_goaway(const moqc_session *s) { return s->goaway_uri; }

bool moqc_session_peer_estimate(const moqc_session *s, uint64_t *bitrate_bps, uint64_t *rtt_ms) {
  if (bitrate_bps) *bitrate_bps = s->est_bitrate;
  if (rtt_ms) *rtt_ms = s->est_rtt;
  return s->have_estimate;
}

void moqc_session_set_events(moqc_session *s, const moqc_session_events *ev, void *ctx) {
  if (!s) return;
  if (ev) s->ev = *ev;
  else memset(&s->ev, 0, sizeof s->ev);
  s->ev_ctx = ctx;
  s->ev_idle_sent = moqc__sess_idle(s); /* edge-triggered from now on */
}

bool moqc__sess_idle(const moqc_session *s) {
  return s->n_served == 0 && moqc_list_empty(&s->pub.inflight);
}

bool moqc_session_is_idle(const moqc_session *s) { return moqc__sess_idle(s); }

moqc_session_stats moqc_session_get_stats(const moqc_session *s) {
  moqc_session_stats st = s->stats;
  st.streams_live = moqc__imap_size(&s->st.table);
  st.serving = s->n_served;
  size_t n = 0;
  for (const moqc_link *it = s->pub.inflight.next; it != &s->pub.inflight; it = it->next) n++;
  if (s->proto->groups_in_flight) n += s->proto->groups_in_flight(s);
  st.groups_in_flight = n;
  st.remote_broadcasts = s->sub.n_rbcasts;
  st.remote_tracks = s->sub.n_rtracks;
  return st;
}

/* ---- shared helpers ----------------------------------------------------------------- */

char *moqc__sess_strdup_bytes(moqc_bytes b) {
  char *d = moqc_malloc(b.len + 1);
  if (!d) return NULL;
  if (b.len) memcpy(d, b.ptr, b.len);
  d[b.len] = '\0';
  return d;
}

int moqc__sess_norm_path(moqc_bytes b, char *dst, size_t cap) {
  if (b.len > MOQC_PATH_MAX_LEN) return MOQC_ERR_BOUNDS;
  ssize_t n = moqc_path_normalize(dst, cap, (const char *)b.ptr, b.len);
  return n < 0 ? (int)n : MOQC_OK;
}

bool moqc__sess_decode_failed(moqc_session *s, ssize_t rc, const char *what) {
  if (rc >= 0 || rc == MOQC_ERR_NEED_MORE) return false;
  if (rc == MOQC_ERR_DECODE || rc == MOQC_ERR_TOO_LARGE || rc == MOQC_ERR_BOUNDS) {
    moqc__sess_fail(s, MOQC_CODE_DECODE, what, false);
  } else if (rc == MOQC_ERR_NOMEM) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
  } else {
    moqc__sess_fail(s, MOQC_CODE_PROTOCOL_VIOLATION, what, false);
  }
  return true;
}

moqc_broadcast_consumer *moqc__sess_resolve(moqc_session *s, moqc_bytes path, uint64_t *code) {
  char p[MOQC_PATH_MAX_LEN + 1];
  if (!s->pub.origin || moqc__sess_norm_path(path, p, sizeof p) < 0) {
    *code = MOQC_CODE_UNROUTABLE;
    return NULL;
  }
  int err = MOQC_ERR_UNROUTABLE;
  moqc_broadcast_consumer *bc = moqc_origin_request(s->pub.origin, p, &err);
  if (!bc) *code = err == MOQC_ERR_NOMEM ? MOQC_CODE_TRANSPORT : moqc_code_from_err(err);
  return bc;
}
