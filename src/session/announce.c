/* moqc session — announce streams.
 *
 * Publisher side (pa_*): the peer opened an Announce stream with
 * ANNOUNCE_PLEASE{prefix[, exclude hop]}; we answer with our publish origin's
 * active set under that prefix, then its changes (lite-05: ANNOUNCE_OK{our hop
 * id, count} first, the initial set right behind it in one write).
 *
 * Subscriber side (sa_*): we open one Announce stream with prefix "" and feed
 * what the peer announces into the subscribe origin (remote.c). */
#include <assert.h>
#include <string.h>

#include "core/mem.h"
#include "moqc/path.h"
#include "session/session_int.h"

/* The suffixes sent as active: a string set (the map's values are the map). */

static bool aset_has(const moqc_smap *m, const char *s, size_t len) {
  return moqc__smap_find(m, s, len) != NULL;
}

static int aset_add(moqc_smap *m, const char *s, size_t len) {
  return moqc__smap_insert(m, s, len, m);
}

static void aset_del(moqc_smap *m, const char *s, size_t len) { moqc__smap_remove(m, s, len); }

static void pa_free(sobj *o) {
  pub_announce *pa = (pub_announce *)(void *)o;
  moqc_free(pa->prefix);
  moqc_free(pa);
}

static void pa_destroy(pub_announce *pa) {
  moqc_session *s = pa->ss ? pa->ss->s : NULL;
  if (pa->oc) moqc_origin_consumer_del(pa->oc);
  pa->oc = NULL;
  moqc__smap_free(&pa->active);
  if (moqc_link_linked(&pa->link)) {
    moqc_list_remove(&pa->link);
    assert(s && s->pub.n_announces > 0);
    s->pub.n_announces--;
  }
  if (pa->ss) {
    sstream *ss = pa->ss;
    pa->ss = NULL;
    moqc__ss_release(ss);
  }
  if (s) moqc__sess_bury(s, &pa->obj);
}

static bool route_has(const moqc_route *r, uint64_t id) {
  if (!r || id == 0) return false;
  for (size_t i = 0; i < r->n_hops && i < MOQC_ORIGIN_MAX_HOPS; i++)
    if (r->hops[i] == id) return true;
  return false;
}

/* Encode one change into w. Returns 1 if a message was added, 0 if skipped,
 * <0 on OOM. */
static int pa_change(pub_announce *pa, const moqc_announce *a, wbuf *w) {
  moqc_session *s = pa->ss->s;
  int v = s->version;
  char suffix[MOQC_PATH_MAX_LEN + 1];
  ssize_t sl = moqc_path_strip_prefix(suffix, sizeof suffix, a->path, pa->prefix);
  if (sl < 0) return 0;
  bool have = aset_has(&pa->active, suffix, (size_t)sl);
  struct moqc_lite_announce m;
  memset(&m, 0, sizeof m);
  m.suffix.ptr = (const uint8_t *)suffix;
  m.suffix.len = (size_t)sl;
  if (!a->active) {
    if (!have) return 0;
    aset_del(&pa->active, suffix, (size_t)sl);
    m.status = MOQC_LITE_ANNOUNCE_ENDED;
    WBUF_ENC(w, moqc_lite_announce_encode, v, &m);
    return w->err ? w->err : 1;
  }
  /* Loop prevention: never send a chain through the peer or back to us. */
  bool filtered = route_has(a->route, pa->exclude_hop) || route_has(a->route, s->self_id);
  /* Split horizon: one origin for both directions (a relay) never offers the
   * peer what this very session received from it, when hop ids cannot tell
   * (lite-03, or a peer without an origin id). With them, the served route
   * decides: the origin may serve another route to what the peer also
   * announced (a cluster mesh), and that one is offered. */
  bool peer_known = moqc_lite_has_hop_ids(v) && (pa->exclude_hop != 0 || s->peer_id != 0);
  if (!peer_known && s->pub.origin && s->pub.origin == s->sub.origin && moqc__rb_has(s, a->path))
    filtered = true;
  if (peer_known && route_has(a->route, s->peer_id)) filtered = true;
  size_t n = a->route ? a->route->n_hops : 0;
  if (n > MOQC_LITE_MAX_HOPS) n = MOQC_LITE_MAX_HOPS;
  if (!moqc_lite_is_05(v)) {
    /* lite-03/04: the sender appends its own id; a full chain is dropped. */
    if (n >= MOQC_LITE_MAX_HOPS) filtered = true;
  }
  if (filtered) {
    if (!have) return 0;
    /* The route swung through the peer: retract. */
    aset_del(&pa->active, suffix, (size_t)sl);
    m.status = MOQC_LITE_ANNOUNCE_ENDED;
    WBUF_ENC(w, moqc_lite_announce_encode, v, &m);
    return w->err ? w->err : 1;
  }
  if (have && !moqc_lite_is_05(v)) return 0; /* never announce twice while active */
  for (size_t i = 0; i < n; i++) m.hops[i] = a->route->hops[i];
  m.hop_count = n;
  if (!moqc_lite_is_05(v)) m.hops[m.hop_count++] = s->self_id;
  if (!have && aset_add(&pa->active, suffix, (size_t)sl) < 0) return MOQC_ERR_NOMEM;
  m.status = MOQC_LITE_ANNOUNCE_ACTIVE; /* lite-05: a second active = restart */
  WBUF_ENC(w, moqc_lite_announce_encode, v, &m);
  return w->err ? w->err : 1;
}

static void pa_pump(pub_announce *pa) {
  moqc_session *s = pa->ss->s;
  wbuf w;
  moqc__wbuf_init(&w);
  bool closed = false;
  while (pa->oc) {
    moqc_announce a;
    int rc = moqc_origin_consumer_next(pa->oc, &a);
    if (rc == MOQC_ERR_AGAIN) break;
    if (rc < 0) {
      closed = true;
      break;
    }
    if (pa_change(pa, &a, &w) < 0) break;
  }
  int rc = w.err;
  if (!rc && w.len) rc = moqc__ss_write_wbuf(pa->ss, &w, false);
  moqc__wbuf_free(&w);
  if (rc == MOQC_ERR_NOMEM) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  if (closed) {
    moqc__ss_fin(pa->ss);
    if (pa->oc) moqc_origin_consumer_del(pa->oc);
    pa->oc = NULL;
  }
}

static void pa_wake(void *arg) {
  pub_announce *pa = arg;
  moqc_session *s = pa->ss->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !pa->obj.dead) pa_pump(pa);
  moqc__sess_exit(s);
}

/* lite-05: ANNOUNCE_OK{our hop id, count} + the initial set, in one write. */
static void pa_start_05(pub_announce *pa) {
  moqc_session *s = pa->ss->s;
  wbuf init;
  moqc__wbuf_init(&init);
  uint64_t count = 0;
  while (pa->oc) {
    moqc_announce a;
    int rc = moqc_origin_consumer_next(pa->oc, &a);
    if (rc < 0) break; /* AGAIN: the initial set is complete; CLOSED: pa_pump FINs */
    int r = pa_change(pa, &a, &init);
    if (r < 0) break;
    count += (uint64_t)r;
  }
  struct moqc_lite_announce_ok ok = {.hop_id = s->self_id, .active = count};
  wbuf w;
  moqc__wbuf_init(&w);
  WBUF_ENC(&w, moqc_lite_announce_ok_encode, s->version, &ok);
  if (!init.err) moqc__wbuf_append(&w, init.p, init.len);
  int rc = w.err ? w.err : init.err;
  if (!rc) rc = moqc__ss_write_wbuf(pa->ss, &w, false);
  moqc__wbuf_free(&w);
  moqc__wbuf_free(&init);
  if (rc == MOQC_ERR_NOMEM) moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
}

static void pa_start(pub_announce *pa) {
  moqc_session *s = pa->ss->s;
  if (s->pub.origin) pa->oc = moqc_origin_consume(s->pub.origin, pa->prefix);
  pa->started = true;
  if (moqc_lite_is_05(s->version)) {
    pa_start_05(pa);
    if (sess_closing(s)) return;
  }
  if (pa->oc) {
    moqc_origin_consumer_set_waker(pa->oc, pa_wake, pa);
    pa_pump(pa);
  }
}

static int pa_process(sstream *ss) {
  moqc_session *s = ss->s;
  if (ss->owner) {
    /* Nothing else is defined on this half: ignore. */
    moqc__ss_consume(ss, ss_len(ss));
    return MOQC_OK;
  }
  if (ss_len(ss) == 0) return MOQC_OK;
  struct moqc_lite_announce_please m;
  ssize_t n = moqc_lite_announce_please_decode(&m, s->version, ss_data(ss), ss_len(ss));
  if (n == MOQC_ERR_NEED_MORE) return MOQC_OK;
  if (moqc__sess_decode_failed(s, n, "malformed ANNOUNCE_PLEASE")) return MOQC_ERR_DECODE;
  char prefix[MOQC_PATH_MAX_LEN + 1];
  if (moqc__sess_norm_path(m.prefix, prefix, sizeof prefix) < 0) {
    moqc__sess_fail(s, MOQC_CODE_DECODE, "invalid announce prefix", false);
    return MOQC_ERR_DECODE;
  }
  if (s->pub.n_announces >= s->lim.max_announce_prefixes) {
    s->stats.streams_rejected++;
    s->stats.refused_announce_prefixes++;
    moqc__ss_abort(ss, MOQC_CODE_BOUNDS_EXCEEDED);
    moqc__ss_release(ss);
    return MOQC_OK;
  }
  pub_announce *pa = moqc_calloc(1, sizeof *pa);
  if (pa) pa->prefix = moqc_strdup(prefix);
  if (!pa || !pa->prefix) {
    moqc_free(pa);
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return MOQC_ERR_NOMEM;
  }
  pa->obj.destroy = pa_free;
  pa->ss = ss;
  pa->exclude_hop = m.exclude_hop;
  moqc__smap_init(&pa->active, 0);
  moqc_list_push_back(&s->pub.announces, &pa->link);
  s->pub.n_announces++;
  ss->owner = pa;
  moqc__ss_consume(ss, (size_t)n);
  pa_start(pa);
  if (!sess_closing(s) && !pa->obj.dead && ss_len(ss)) moqc__ss_consume(ss, ss_len(ss));
  return MOQC_OK;
}

static void pa_end(sstream *ss, bool reset, uint64_t code) {
  (void)code;
  pub_announce *pa = ss->owner;
  if (reset) moqc__ss_abort(ss, MOQC_CODE_CANCEL);
  else moqc__ss_fin(ss);
  if (pa) pa_destroy(pa);
  else moqc__ss_release(ss);
}

const moqc__stream_kind moqc__sk_announce_in = {
    .name = "announce-in", .process = pa_process, .end = pa_end};

void moqc__pa_destroy_all(moqc_session *s) {
  while (!moqc_list_empty(&s->pub.announces)) {
    pub_announce *pa = MOQC_CONTAINER_OF(s->pub.announces.next, pub_announce, link);
    pa_destroy(pa);
  }
}

/* ---- subscriber side ------------------------------------------------------------ */

static void sa_free(sobj *o) { moqc_free(o); }

static int sa_process(sstream *ss);
static void sa_end(sstream *ss, bool reset, uint64_t code);

const moqc__stream_kind moqc__sk_announce_out = {
    .name = "announce-out", .process = sa_process, .end = sa_end, .request_out = true};

static void sa_opened(opener *op, int64_t id) {
  sub_announce *sa = MOQC_CONTAINER_OF(op, sub_announce, op);
  moqc_session *s = sa->s;
  sstream *ss = moqc__ss_new(s, id, &moqc__sk_announce_out, false, sa);
  if (!ss) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  sa->ss = ss;
  struct moqc_lite_announce_please m = {.prefix = {(const uint8_t *)"", 0},
                                        .exclude_hop = s->self_id};
  wbuf w;
  moqc__wbuf_init(&w);
  moqc__wbuf_varint(&w, MOQC_LITE_BIDI_ANNOUNCE);
  WBUF_ENC(&w, moqc_lite_announce_please_encode, s->version, &m);
  int rc = moqc__ss_write_wbuf(ss, &w, false);
  moqc__wbuf_free(&w);
  if (rc == MOQC_ERR_NOMEM) moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
}

static void sa_failed(opener *op, int err) {
  sub_announce *sa = MOQC_CONTAINER_OF(op, sub_announce, op);
  (void)err;
  moqc__sess_fail(sa->s, MOQC_CODE_TRANSPORT, "cannot open announce stream", false);
}

void moqc__sa_start(moqc_session *s) {
  if (s->sub.ann) return;
  sub_announce *sa = moqc_calloc(1, sizeof *sa);
  if (!sa) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  sa->obj.destroy = sa_free;
  sa->s = s;
  sa->op.bidi = true;
  sa->op.opened = sa_opened;
  sa->op.failed = sa_failed;
  moqc_link_init(&sa->op.link);
  s->sub.ann = sa;
  moqc__sess_open(s, &sa->op);
}

void moqc__sa_destroy(moqc_session *s) {
  sub_announce *sa = s->sub.ann;
  if (!sa) return;
  s->sub.ann = NULL;
  moqc__sess_open_cancel(&sa->op);
  if (sa->ss) {
    sstream *ss = sa->ss;
    sa->ss = NULL;
    moqc__ss_release(ss);
  }
  moqc__sess_bury(s, &sa->obj);
}

static int sa_announce(sub_announce *sa, const struct moqc_lite_announce *m) {
  moqc_session *s = sa->s;
  char path[MOQC_PATH_MAX_LEN + 1];
  if (moqc__sess_norm_path(m->suffix, path, sizeof path) < 0) {
    moqc__sess_fail(s, MOQC_CODE_DECODE, "invalid announce path", false);
    return MOQC_ERR_DECODE;
  }
  if (m->status == MOQC_LITE_ANNOUNCE_ENDED) {
    moqc__rb_ended(s, path);
    return MOQC_OK;
  }
  moqc_route route;
  memset(&route, 0, sizeof route);
  size_t n = m->hop_count;
  if (n > MOQC_ORIGIN_MAX_HOPS) n = MOQC_ORIGIN_MAX_HOPS;
  for (size_t i = 0; i < n; i++) route.hops[i] = moqc_lite_has_hop_ids(s->version) ? m->hops[i] : 0;
  route.n_hops = n;
  if (moqc_lite_is_05(s->version)) {
    /* The receiver stamps the responder's id (ANNOUNCE_OK). */
    if (route.n_hops >= MOQC_ORIGIN_MAX_HOPS) {
      s->stats.announces_dropped++;
      return MOQC_OK;
    }
    route.hops[route.n_hops++] = sa->responder;
  }
  route.cost = 1; /* an unpriced link; a moqc_origin_with_link_cost view sets its price */
  if (route_has(&route, s->self_id)) {
    s->stats.announces_dropped++; /* reflected: it passed through us */
    moqc__rb_ended(s, path);      /* a restart whose route now swings through us */
    return MOQC_OK;
  }
  int rc = moqc__rb_announce(s, path, &route, m->status);
  if (rc == MOQC_ERR_DUPLICATE) {
    moqc__sess_fail(s, MOQC_CODE_DUPLICATE, "duplicate announce", false);
    return rc;
  }
  if (rc == MOQC_ERR_NOMEM) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return rc;
  }
  if (rc == MOQC_ERR_BOUNDS) {
    /* moq-lite has no per-announcement refusal: the publisher over its cap
     * (or over its root's) is closed, with the cause as the reason. */
    moqc__sess_fail(s, MOQC_CODE_BOUNDS_EXCEEDED, s->sub.refusal, false);
    return rc;
  }
  /* MOQC_ERR_UNAUTHORIZED (outside the publish scope): ignored and counted,
   * the session and its other broadcasts carry on, as moq-relay does
   * (moq-lite's publish_broadcast returns false, the subscriber drops it). */
  return MOQC_OK;
}

static int sa_process(sstream *ss) {
  moqc_session *s = ss->s;
  sub_announce *sa = ss->owner;
  if (!sa) {
    moqc__ss_consume(ss, ss_len(ss));
    return MOQC_OK;
  }
  while (ss_len(ss) > 0 && !sess_closing(s)) {
    if (moqc_lite_is_05(s->version) && !sa->ok_seen) {
      struct moqc_lite_announce_ok ok;
      ssize_t n = moqc_lite_announce_ok_decode(&ok, s->version, ss_data(ss), ss_len(ss));
      if (n == MOQC_ERR_NEED_MORE) return MOQC_OK;
      if (moqc__sess_decode_failed(s, n, "malformed ANNOUNCE_OK")) return MOQC_ERR_DECODE;
      sa->ok_seen = true;
      sa->responder = ok.hop_id < MOQC_ORIGIN_ID_MAX ? ok.hop_id : 0;
      if (sa->responder == 0) sa->responder = s->peer_id;
      else if (s->peer_id == 0) s->peer_id = sa->responder;
      moqc__ss_consume(ss, (size_t)n);
      continue;
    }
    struct moqc_lite_announce m;
    ssize_t n = moqc_lite_announce_decode(&m, s->version, ss_data(ss), ss_len(ss));
    if (n == MOQC_ERR_NEED_MORE) return MOQC_OK;
    if (moqc__sess_decode_failed(s, n, "malformed ANNOUNCE")) return MOQC_ERR_DECODE;
    if (sa_announce(sa, &m) < 0) return MOQC_ERR_PROTOCOL;
    moqc__ss_consume(ss, (size_t)n);
  }
  return MOQC_OK;
}

static void sa_end(sstream *ss, bool reset, uint64_t code) {
  moqc_session *s = ss->s;
  (void)code;
  if (!reset && ss_len(ss) > 0) {
    moqc__sess_fail(s, MOQC_CODE_DECODE, "announce stream ended inside a message", false);
    return;
  }
  /* The peer has nothing (more) to announce. What it announced is dropped
   * abruptly (not "ended"): the origin may linger on it. */
  if (reset) moqc__ss_abort(ss, MOQC_CODE_CANCEL);
  else moqc__ss_fin(ss);
  moqc__sa_destroy(s);
  moqc__rb_drop_all(s, MOQC_CODE_DROPPED);
}
