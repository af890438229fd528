/* moqc session — the IETF moq-transport binding (drafts 14-16): moqc__proto_ietf.
 *
 * One bidirectional control stream, opened by the client: CLIENT_SETUP /
 * SERVER_SETUP (draft-14: with the version list; 15/16: the version is the
 * ALPN's), then control messages with request ids (client even from 0, server
 * odd from 1). Mapped onto the shared model like moq-dev's Rust (moq-wire.md
 * §3):
 *   - SUBSCRIBE_NAMESPACE(prefix) from the peer: we answer OK and send one
 *     PUBLISH_NAMESPACE per broadcast of the publish origin under the prefix
 *     (PUBLISH_NAMESPACE_DONE when it ends); with a subscribe origin we send
 *     SUBSCRIBE_NAMESPACE("") once running and publish every
 *     PUBLISH_NAMESPACE received as a remote broadcast (remote.c rbcast).
 *     A namespace tuple is a broadcast path ("a/b" <-> ("a","b")).
 *   - SUBSCRIBE from the peer: served from the publish origin, one uni
 *     stream per group: SUBGROUP_HEADER type 0x19 (extensions, end of group,
 *     subgroup 0), track alias = the request id, then each frame as an
 *     object (id delta 0, a Timestamp 0x10 extension), header and first
 *     object in one write; PUBLISH_DONE once the track ended and every group
 *     stream was written. UNSUBSCRIBE resets the group streams.
 *   - Track requests on a remote broadcast: accepted with default info,
 *     SUBSCRIBE (largest object, forward 1, descending) on the first
 *     consumer, UNSUBSCRIBE when the last one leaves; SUBGROUP streams feed
 *     groups (subgroups other than 0 are stopped); PUBLISH_DONE finishes the
 *     track, SUBSCRIBE_ERROR / REQUEST_ERROR rejects it (NotFound).
 * Malformed control messages close the session with PROTOCOL_VIOLATION (0x3).
 * Not yet: drafts 17+ (SETUP on uni streams, a bidi stream per request),
 * FETCH, TRACK_STATUS, PUBLISH, SUBSCRIBE_UPDATE, datagrams, request-id flow
 * control beyond advertising a large MAX_REQUEST_ID, expiry / slow-subscriber
 * resets on IETF group streams (see docs/session.md). */
#include <assert.h>
#include <string.h>

#include "core/ietf_wire.h"
#include "core/mem.h"
#include "moqc/path.h"
#include "session/session_int.h"

#define IETF_PROTOCOL_VIOLATION 0x3u
#define IETF_VERSION_NEGOTIATION_FAILED 0x15u
#define IETF_MAX_REQUEST_ID ((uint64_t)1 << 32)
#define IETF_SUB_ERR_NOT_FOUND 0x4u
#define IETF_DONE_TRACK_ENDED 0x2u
#define IETF_HDR_MAX 1100u /* subgroup header / object header (with extensions) */
#define IETF_EXT_TIMESTAMP 0x10u
#define IETF_DONE_LINGER_NS (200u * 1000u * 1000u)

typedef struct ietf_state ietf_state;
typedef struct ins_sub ins_sub; /* SUBSCRIBE_NAMESPACE from the peer */
typedef struct isub isub;       /* SUBSCRIBE from the peer (served) */
typedef struct igroup igroup;   /* a group written on its uni stream */
typedef struct itrack itrack;   /* a remote track we subscribe to */
typedef struct igin igin;       /* a received subgroup stream */

struct ins_sub {
  sobj obj;
  moqc_link link;
  moqc_session *s;
  uint64_t req;
  char *prefix;
  sstream *ss; /* draft-16: the SUBSCRIBE_NAMESPACE stream (NAMESPACE entries); else NULL */
  moqc_origin_consumer *oc;
  moqc_smap sent; /* path -> (uintptr) request id + 1 of our PUBLISH_NAMESPACE */
};

struct igroup {
  sobj obj;
  moqc_link link; /* in isub.groups */
  opener op;
  isub *is;
  moqc_group_consumer *gc;
  sstream *ss;
  uint64_t seq;
  bool opening, in_frame, fin_sent, started;
  uint64_t remaining;
};

struct isub {
  sobj obj;
  moqc_link link;
  moqc_session *s;
  uint64_t req;
  uint8_t priority; /* model priority (higher first) */
  bool ordered;
  moqc_broadcast_consumer *bc;
  moqc_track_consumer *tc;
  moqc_link groups;
  uint64_t streams; /* group streams opened */
  bool track_done, done_sent, done_waiting;
  uint64_t done_code;
  moqc_timer done_timer;
};

struct itrack {
  sobj obj;
  moqc_link link;
  moqc_session *s;
  moqc_track_producer *tp;
  char *path, *name;
  uint64_t req, alias;
  bool subscribed, ok_seen, finished;
  uint64_t streams_seen;     /* subgroup streams accepted */
  uint64_t streams_expected; /* PUBLISH_DONE's stream count */
  moqc_timer fin_timer;      /* PUBLISH_DONE seen: give up waiting for streams */
  uint64_t fin_deadline;
  moqc_link groups; /* igin */
};

struct igin {
  sobj obj;
  moqc_link link;
  sstream *ss;
  itrack *it;
  moqc_group_producer *g;
  moqc_frame_producer *f;
  bool have_hdr, in_payload, extensions;
  uint64_t remaining;
};

struct ietf_state {
  moqc_session *s;
  sstream *ctrl;
  bool ctrl_seen;  /* server: the peer's control stream arrived */
  opener ns_op;    /* draft-16: our SUBSCRIBE_NAMESPACE stream ... */
  sstream *ns_out; /* ... once open */
  opener ctrl_op;
  bool setup_done; /* SERVER_SETUP seen (client) / CLIENT_SETUP seen (server) */
  uint64_t next_req;
  uint64_t peer_max_req;
  moqc_link ns_subs;  /* ins_sub */
  moqc_link subs;     /* isub */
  moqc_link tracks;   /* itrack */
  moqc_imap by_req;   /* itrack by our request id */
  moqc_imap by_alias; /* itrack by track alias */
  moqc_imap pubns;    /* our PUBLISH_NAMESPACE request ids (value unused) */
  moqc_imap peer_ns;  /* the peer's PUBLISH_NAMESPACE: request id -> path (owned) */
};

static ietf_state *IS(moqc_session *s) { return s->ietf; }
static int V(const moqc_session *s) { return s->version; }

/* ---- control messages ----------------------------------------------------------- */

static moqc__ietf_msg *msg_new(uint64_t type) {
  moqc__ietf_msg *m = moqc_calloc(1, sizeof *m);
  if (m) m->type = type;
  return m;
}

/* Encode m (freed here) onto ss: the control stream, or a draft-16
 * SUBSCRIBE_NAMESPACE stream. */
static void msg_send(moqc_session *s, sstream *ss, moqc__ietf_msg *m) {
  if (!m) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  if (sess_closing(s) || !ss || ss_send_done(ss)) {
    moqc_free(m);
    return;
  }
  /* The codec writes in one pass into a buffer (no sizing call): try a
   * small one, then the largest message. */
  size_t cap = 1024;
  uint8_t *buf = moqc_malloc(cap);
  ssize_t n = buf ? moqc__ietf_ctrl_encode(buf, cap, V(s), m) : MOQC_ERR_NOMEM;
  if (n == MOQC_ERR_BUFSIZE) {
    moqc_free(buf);
    cap = MOQC_IETF_MSG_MAX + 16;
    buf = moqc_malloc(cap);
    n = buf ? moqc__ietf_ctrl_encode(buf, cap, V(s), m) : MOQC_ERR_NOMEM;
  }
  moqc_free(m);
  if (!buf || n < 0) {
    moqc_free(buf);
    moqc__sess_fail(s, n < 0 ? MOQC_CODE_ENCODE : MOQC_CODE_TRANSPORT, "control message encode",
                    false);
    return;
  }
  (void)moqc__ss_write(ss, buf, (size_t)n, false);
  moqc_free(buf);
}

static void ctrl_send(moqc_session *s, moqc__ietf_msg *m) { msg_send(s, IS(s)->ctrl, m); }

static uint64_t req_next(moqc_session *s) {
  ietf_state *st = IS(s);
  uint64_t id = st->next_req;
  st->next_req += 2;
  return id;
}

/* A path into a tuple (borrows path). */
static bool path_tuple(moqc__ietf_tuple *t, const char *path) {
  return moqc__ietf_tuple_from_path(t, path, strlen(path)) == MOQC_OK;
}

static bool tuple_path(const moqc__ietf_tuple *t, char *buf, size_t cap) {
  ssize_t n = moqc__ietf_tuple_to_path(t, buf, cap);
  if (n < 0 || (size_t)n >= cap) return false;
  buf[n] = 0;
  return true;
}

/* ---- publisher side: namespaces --------------------------------------------------- */

static void ns_free(sobj *o) {
  ins_sub *ns = (ins_sub *)(void *)o;
  moqc_free(ns->prefix);
  moqc_free(ns);
}

static void ns_destroy(ins_sub *ns) {
  moqc_session *s = ns->s;
  if (ns->oc) moqc_origin_consumer_del(ns->oc);
  ns->oc = NULL;
  if (ns->ss) {
    sstream *ss = ns->ss;
    ns->ss = NULL;
    ss->owner = NULL;
    moqc__ss_release(ss);
  }
  moqc__smap_free(&ns->sent);
  if (moqc_link_linked(&ns->link)) moqc_list_remove(&ns->link);
  moqc__sess_bury(s, &ns->obj);
}

static void ns_pump(ins_sub *ns) {
  moqc_session *s = ns->s;
  ietf_state *st = IS(s);
  while (!sess_closing(s) && !ns->obj.dead) {
    moqc_announce a;
    int rc = moqc_origin_consumer_next(ns->oc, &a);
    if (rc != MOQC_OK) break;
    size_t plen = strlen(a.path);
    /* Split horizon: never offer back what this peer announced to us. */
    if (s->pub.origin == s->sub.origin && moqc__rb_has(s, a.path)) continue;
    void *was = moqc__smap_find(&ns->sent, a.path, plen);
    if (ns->ss) {
      /* Draft-16: NAMESPACE / NAMESPACE_DONE {suffix} on the request's stream. */
      size_t pl = strlen(ns->prefix);
      const char *suffix = a.path + pl;
      if (pl && *suffix == '/') suffix++;
      if (a.active == (was != NULL)) continue;
      moqc__ietf_msg *m = msg_new(a.active ? MOQC_IETF_NAMESPACE : MOQC_IETF_NAMESPACE_DONE);
      if (!m || !path_tuple(&m->ns, suffix)) {
        moqc_free(m);
        continue;
      }
      if (a.active) {
        if (moqc__smap_insert(&ns->sent, a.path, plen, ns) < 0) {
          moqc_free(m);
          moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
          return;
        }
      } else {
        (void)moqc__smap_remove(&ns->sent, a.path, plen);
      }
      msg_send(s, ns->ss, m);
      continue;
    }
    if (a.active && !was) {
      moqc__ietf_msg *m = msg_new(MOQC_IETF_PUBLISH_NAMESPACE);
      if (!m || !path_tuple(&m->ns, a.path)) {
        moqc_free(m);
        continue;
      }
      m->request_id = req_next(s);
      if (moqc__smap_insert(&ns->sent, a.path, plen, (void *)(uintptr_t)(m->request_id + 1)) < 0) {
        moqc_free(m);
        moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
        return;
      }
      (void)moqc__imap_insert(&st->pubns, m->request_id, ns);
      ctrl_send(s, m);
    } else if (!a.active && was) {
      uint64_t req = (uint64_t)(uintptr_t)was - 1;
      (void)moqc__smap_remove(&ns->sent, a.path, plen);
      (void)moqc__imap_remove(&st->pubns, req);
      moqc__ietf_msg *m = msg_new(MOQC_IETF_PUBLISH_NAMESPACE_DONE);
      if (m && V(s) < MOQC_IETF_16 && !path_tuple(&m->ns, a.path)) {
        moqc_free(m);
        continue;
      }
      if (m) m->request_id = req;
      ctrl_send(s, m);
    }
  }
}

static void ns_wake(void *arg) {
  ins_sub *ns = arg;
  moqc_session *s = ns->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !ns->obj.dead) ns_pump(ns);
  moqc__sess_exit(s);
}

/* SUBSCRIBE_NAMESPACE: on the control stream (ss NULL; 14/15) or on its own
 * bidi stream (16). */
static void on_subscribe_namespace(moqc_session *s, const moqc__ietf_msg *m, sstream *ss) {
  ietf_state *st = IS(s);
  sstream *out = ss ? ss : st->ctrl;
  char path[MOQC_PATH_MAX_LEN + 1];
  bool ok = s->pub.origin && tuple_path(&m->ns, path, sizeof path);
  moqc__ietf_msg *r;
  if (!ok) {
    r = msg_new(V(s) == MOQC_IETF_14 ? MOQC_IETF_SUBSCRIBE_NAMESPACE_ERROR
                                     : MOQC_IETF_REQUEST_ERROR);
    if (r) {
      r->request_id = m->request_id;
      r->code = IETF_SUB_ERR_NOT_FOUND;
    }
    msg_send(s, out, r);
    if (ss) {
      moqc__ss_fin(ss);
      moqc__ss_release(ss);
    }
    return;
  }
  ins_sub *ns = moqc_calloc(1, sizeof *ns);
  if (!ns) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  ns->obj.destroy = ns_free;
  ns->s = s;
  ns->req = m->request_id;
  moqc__smap_init(&ns->sent, 0);
  ns->prefix = moqc_strdup(path);
  ns->oc = ns->prefix ? moqc_origin_consume(s->pub.origin, path) : NULL;
  if (!ns->oc) {
    moqc_free(ns->prefix);
    moqc_free(ns);
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  moqc_list_push_back(&st->ns_subs, &ns->link);
  r = msg_new(V(s) == MOQC_IETF_14 ? MOQC_IETF_SUBSCRIBE_NAMESPACE_OK : MOQC_IETF_REQUEST_OK);
  if (r) r->request_id = m->request_id;
  msg_send(s, out, r);
  if (ss) {
    ns->ss = ss;
    ss->owner = ns;
  }
  moqc_origin_consumer_set_waker(ns->oc, ns_wake, ns);
  ns_pump(ns);
}

static void on_unsubscribe_namespace(moqc_session *s, const moqc__ietf_msg *m) {
  ietf_state *st = IS(s);
  char path[MOQC_PATH_MAX_LEN + 1];
  bool have_path = V(s) < MOQC_IETF_16 && tuple_path(&m->ns, path, sizeof path);
  MOQC_LIST_FOREACH_SAFE_DECL(it, nxt, &st->ns_subs) {
    (void)nxt;
    ins_sub *ns = MOQC_CONTAINER_OF(it, ins_sub, link);
    if (V(s) >= MOQC_IETF_16 ? ns->req == m->request_id
                             : (have_path && strcmp(ns->prefix, path) == 0)) {
      ns_destroy(ns);
      return;
    }
  }
}

/* ---- publisher side: subscriptions ---------------------------------------------- */

static void ig_free(sobj *o) { moqc_free(o); }
static void isub_maybe_done(isub *is);

static void ig_destroy(igroup *g) {
  isub *is = g->is;
  if (g->opening) moqc__sess_open_cancel(&g->op);
  g->opening = false;
  if (g->gc) moqc_group_consumer_del(g->gc);
  g->gc = NULL;
  if (moqc_link_linked(&g->link)) moqc_list_remove(&g->link);
  if (g->ss) {
    g->ss->owner = NULL;
    moqc__ss_release(g->ss);
  }
  g->ss = NULL;
  moqc__sess_bury(is->s, &g->obj);
}

static void ig_reset(igroup *g, uint64_t code) {
  if (g->ss && !g->fin_sent) moqc__ss_reset(g->ss, code);
  ig_destroy(g);
}

/* Append one object header (and its Timestamp extension) to w. */
static void ig_obj_hdr(moqc_session *s, wbuf *w, uint64_t ts, uint64_t size) {
  uint8_t ext[24];
  ssize_t a = moqc__ietf_varint_encode(V(s), ext, sizeof ext, IETF_EXT_TIMESTAMP);
  ssize_t b = a > 0 ? moqc__ietf_varint_encode(V(s), ext + a, sizeof ext - (size_t)a, ts) : -1;
  moqc__ietf_object o = {.id_delta = 0, .size = size, .status = MOQC_IETF_STATUS_NORMAL};
  if (b > 0) o.ext = (moqc_bytes){ext, (size_t)(a + b)};
  uint8_t hdr[64];
  ssize_t n = moqc__ietf_object_encode(hdr, sizeof hdr, V(s), true, &o);
  if (n < 0) {
    if (!w->err) w->err = (int)n;
    return;
  }
  moqc__wbuf_append(w, hdr, (size_t)n);
}

/* Write what the group has, in one write; FIN when complete. */
static void ig_pump(igroup *g) {
  isub *is = g->is;
  moqc_session *s = is->s;
  wbuf w;
  moqc__wbuf_init(&w);
  if (!g->started) {
    g->started = true;
    moqc__ietf_subgroup h = {.extensions = true,
                             .end_of_group = true,
                             .has_priority = true,
                             .sgid_mode = MOQC_IETF_SGID_ZERO,
                             .track_alias = is->req,
                             .group = g->seq,
                             .priority = 0};
    uint8_t hdr[64];
    ssize_t n = moqc__ietf_subgroup_encode(hdr, sizeof hdr, V(s), &h);
    if (n < 0) {
      ig_reset(g, MOQC_CODE_ENCODE);
      return;
    }
    moqc__wbuf_append(&w, hdr, (size_t)n);
  }
  bool fin = false;
  uint64_t code = 0;
  bool failed = false;
  while (!w.err) {
    int rc;
    if (!g->in_frame) {
      moqc_frame_info fi;
      rc = moqc_group_consumer_next_frame(g->gc, &fi);
      if (rc == MOQC_ERR_AGAIN) break;
      if (rc == MOQC_ERR_CLOSED) {
        fin = true;
        break;
      }
      if (rc < 0) {
        failed = true;
        code = moqc_group_consumer_code(g->gc);
        break;
      }
      ig_obj_hdr(s, &w, fi.timestamp, fi.size);
      g->in_frame = true;
      g->remaining = fi.size;
    } else {
      moqc_slice sl;
      rc = moqc_group_consumer_read_chunk(g->gc, &sl);
      if (rc == MOQC_ERR_AGAIN) break;
      if (rc == MOQC_ERR_CLOSED) {
        g->in_frame = false;
        continue;
      }
      if (rc < 0) {
        failed = true;
        code = moqc_group_consumer_code(g->gc);
        break;
      }
      if (sl.len) moqc__wbuf_append(&w, moqc_slice_ptr(&sl), sl.len);
      moqc_slice_release(&sl);
    }
  }
  if (w.err) {
    moqc__wbuf_free(&w);
    ig_reset(g, MOQC_CODE_ENCODE);
    return;
  }
  if (w.len || fin) (void)moqc__ss_write(g->ss, w.p, w.len, fin);
  moqc__wbuf_free(&w);
  if (failed) {
    ig_reset(g, code);
    isub_maybe_done(is);
    return;
  }
  if (fin) {
    g->fin_sent = true;
    s->stats.groups_sent++;
    ig_destroy(g); /* the stream lingers in the table until acknowledged / closed */
    isub_maybe_done(is);
  }
}

static void ig_wake(void *arg) {
  igroup *g = arg;
  moqc_session *s = g->is->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !g->obj.dead) ig_pump(g);
  moqc__sess_exit(s);
}

static void ig_end(sstream *ss, bool reset, uint64_t code) {
  (void)reset;
  (void)code;
  igroup *g = ss->owner;
  if (g) {
    isub *is = g->is;
    ig_destroy(g);
    isub_maybe_done(is);
  } else {
    moqc__ss_maybe_forget(ss);
  }
}

static const moqc__stream_kind sk_ietf_group_out = {.name = "ietf-group-out", .end = ig_end};

static void ig_opened(opener *op, int64_t id) {
  igroup *g = MOQC_CONTAINER_OF(op, igroup, op);
  isub *is = g->is;
  moqc_session *s = is->s;
  g->opening = false;
  g->ss = moqc__ss_new(s, id, &sk_ietf_group_out, false, g);
  if (!g->ss) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  is->streams++;
  moqc_stream_prio prio = {.priority = is->priority,
                           .order = is->ordered ? UINT64_MAX - g->seq : g->seq};
  (void)s->t->ops->set_priority(s->t, id, &prio);
  moqc_group_consumer_set_waker(g->gc, ig_wake, g);
  ig_pump(g);
}

static void ig_open_failed(opener *op, int err) {
  (void)err;
  igroup *g = MOQC_CONTAINER_OF(op, igroup, op);
  isub *is = g->is;
  g->opening = false;
  ig_destroy(g);
  isub_maybe_done(is);
}

static void isub_free(sobj *o) { moqc_free(o); }

static void isub_destroy(isub *is) {
  moqc_session *s = is->s;
  moqc_timer_stop(s->clock, &is->done_timer);
  while (!moqc_list_empty(&is->groups))
    ig_reset(MOQC_CONTAINER_OF(is->groups.next, igroup, link), MOQC_CODE_CANCEL);
  if (is->tc) moqc_track_consumer_del(is->tc);
  is->tc = NULL;
  if (is->bc) moqc_broadcast_consumer_del(is->bc);
  is->bc = NULL;
  if (moqc_link_linked(&is->link)) {
    moqc_list_remove(&is->link);
    assert(s->n_served > 0);
    s->n_served--;
  }
  moqc__sess_bury(s, &is->obj);
}

static void isub_send_done(isub *is) {
  moqc_session *s = is->s;
  is->done_sent = true;
  moqc__ietf_msg *m = msg_new(MOQC_IETF_PUBLISH_DONE);
  if (m) {
    m->request_id = is->req;
    m->code = is->done_code;
    m->stream_count = is->streams;
  }
  ctrl_send(s, m);
  isub_destroy(is);
}

static void isub_done_timeout(moqc_timer *tm, void *arg) {
  (void)tm;
  isub *is = arg;
  moqc_session *s = is->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !is->obj.dead && !is->done_sent) isub_send_done(is);
  moqc__sess_exit(s);
}

/* PUBLISH_DONE once the track ended and every group stream is written; it
 * lingers like the lite subscribe FIN (subscribers drop unread groups at the
 * end of a subscription). */
static void isub_maybe_done(isub *is) {
  moqc_session *s = is->s;
  if (is->obj.dead || !is->track_done || is->done_sent || is->done_waiting) return;
  if (!moqc_list_empty(&is->groups)) return;
  is->done_waiting = true;
  uint64_t rtt_ns = 0, rate = 0;
  if (s->t->ops->stats) s->t->ops->stats(s->t, &rtt_ns, &rate);
  if (moqc_timer_start(s->clock, &is->done_timer,
                       moqc__sess_now(s) + IETF_DONE_LINGER_NS + 2 * rtt_ns) < 0)
    isub_send_done(is);
}

static void isub_new_group(isub *is, moqc_group_consumer *gc) {
  moqc_session *s = is->s;
  igroup *g = moqc_calloc(1, sizeof *g);
  if (!g) {
    moqc_group_consumer_del(gc);
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  g->obj.destroy = ig_free;
  g->is = is;
  g->gc = gc;
  g->seq = moqc_group_consumer_sequence(gc);
  moqc_link_init(&g->op.link);
  moqc_list_push_back(&is->groups, &g->link);
  g->op.bidi = false;
  g->op.opened = ig_opened;
  g->op.failed = ig_open_failed;
  g->opening = true;
  moqc__sess_open(s, &g->op);
}

static void isub_pump(isub *is) {
  moqc_session *s = is->s;
  while (!sess_closing(s) && !is->obj.dead && !is->track_done) {
    moqc_group_consumer *gc = NULL;
    int rc = moqc_track_consumer_recv_group(is->tc, &gc);
    if (rc == MOQC_OK) {
      isub_new_group(is, gc);
      continue;
    }
    if (rc == MOQC_ERR_AGAIN) return;
    is->track_done = true;
    is->done_code = rc == MOQC_ERR_CLOSED ? IETF_DONE_TRACK_ENDED : 0x0 /* INTERNAL_ERROR */;
    if (rc != MOQC_ERR_CLOSED) {
      while (!moqc_list_empty(&is->groups))
        ig_reset(MOQC_CONTAINER_OF(is->groups.next, igroup, link),
                 moqc_track_consumer_code(is->tc));
    }
  }
  if (!sess_closing(s) && !is->obj.dead) isub_maybe_done(is);
}

static void isub_wake(void *arg) {
  isub *is = arg;
  moqc_session *s = is->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !is->obj.dead) isub_pump(is);
  moqc__sess_exit(s);
}

static void sub_error(moqc_session *s, uint64_t req, uint64_t code, const char *why) {
  moqc__ietf_msg *r = msg_new(MOQC_IETF_SUBSCRIBE_ERROR);
  if (r) {
    r->request_id = req;
    r->code = code;
    r->reason = (moqc_bytes){(const uint8_t *)why, strlen(why)};
  }
  ctrl_send(s, r);
}

static void on_subscribe(moqc_session *s, const moqc__ietf_msg *m) {
  ietf_state *st = IS(s);
  if (s->n_served >= s->lim.max_subscriptions) {
    s->stats.streams_rejected++;
    sub_error(s, m->request_id, 0x0 /* INTERNAL_ERROR */, "too many subscriptions");
    return;
  }
  char path[MOQC_PATH_MAX_LEN + 1];
  if (!tuple_path(&m->ns, path, sizeof path)) {
    sub_error(s, m->request_id, IETF_SUB_ERR_NOT_FOUND, "bad namespace");
    return;
  }
  uint64_t code = MOQC_CODE_NOT_FOUND;
  moqc_broadcast_consumer *bc =
      moqc__sess_resolve(s, (moqc_bytes){(const uint8_t *)path, strlen(path)}, &code);
  if (!bc) {
    sub_error(s, m->request_id, IETF_SUB_ERR_NOT_FOUND, "broadcast not found");
    return;
  }
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  if (m->has & MOQC_IETF_HAS_PRIORITY) sub.priority = (uint8_t)(255 - m->priority);
  if (m->has & MOQC_IETF_HAS_GROUP_ORDER) sub.ordered = m->group_order == 1;
  if (m->has & MOQC_IETF_HAS_FILTER) {
    if (m->filter.type == MOQC_IETF_FILTER_ABSOLUTE_START ||
        m->filter.type == MOQC_IETF_FILTER_ABSOLUTE_RANGE)
      sub.start = m->filter.start.group;
    if (m->filter.type == MOQC_IETF_FILTER_ABSOLUTE_RANGE) sub.end = m->filter.end_group;
  }
  char *name = moqc__sess_strdup_bytes(m->name);
  int err = MOQC_ERR_NOT_FOUND;
  moqc_track_consumer *tc = NULL;
  if (name && strlen(name) == m->name.len)
    tc = moqc_broadcast_consumer_subscribe(bc, name, &sub, &err);
  moqc_free(name);
  isub *is = tc ? moqc_calloc(1, sizeof *is) : NULL;
  if (!is) {
    if (tc) moqc_track_consumer_del(tc);
    moqc_broadcast_consumer_del(bc);
    sub_error(s, m->request_id, IETF_SUB_ERR_NOT_FOUND, "track not found");
    return;
  }
  is->obj.destroy = isub_free;
  is->s = s;
  is->req = m->request_id;
  is->priority = sub.priority;
  is->ordered = sub.ordered;
  is->bc = bc;
  is->tc = tc;
  moqc_link_init(&is->groups);
  moqc_timer_init(&is->done_timer, isub_done_timeout, is);
  moqc_list_push_back(&st->subs, &is->link);
  s->n_served++;
  s->stats.subscribes_served++;
  moqc__ietf_msg *r = msg_new(MOQC_IETF_SUBSCRIBE_OK);
  if (r) {
    r->request_id = m->request_id;
    r->track_alias = m->request_id;
    r->expires = 0;
    r->group_order = 2;
    r->has = MOQC_IETF_HAS_GROUP_ORDER | MOQC_IETF_HAS_EXPIRES;
  }
  ctrl_send(s, r);
  if (sess_closing(s)) return;
  moqc_track_consumer_set_waker(tc, isub_wake, is);
  isub_pump(is);
}

static isub *isub_find(moqc_session *s, uint64_t req) {
  ietf_state *st = IS(s);
  for (moqc_link *it = st->subs.next; it != &st->subs; it = it->next) {
    isub *is = MOQC_CONTAINER_OF(it, isub, link);
    if (is->req == req) return is;
  }
  return NULL;
}

static void on_unsubscribe(moqc_session *s, const moqc__ietf_msg *m) {
  isub *is = isub_find(s, m->request_id);
  if (is) isub_destroy(is);
}

/* ---- subscriber side: remote tracks --------------------------------------------- */

static void it_free(sobj *o) {
  itrack *t = (itrack *)(void *)o;
  moqc_free(t->path);
  moqc_free(t->name);
  moqc_free(t);
}

static void gin_close(igin *gi, bool ok, uint64_t code);

static void it_destroy(itrack *t, uint64_t code, bool finish) {
  moqc_session *s = t->s;
  ietf_state *st = IS(s);
  moqc_timer_stop(s->clock, &t->fin_timer);
  if (sess_debug_on(s))
    moqc__sess_debug(s, "track %s/%s (request %llu) %s (code %llu, %llu of %llu streams)", t->path,
                     t->name, (unsigned long long)t->req, finish ? "finished" : "ended",
                     (unsigned long long)code, (unsigned long long)t->streams_seen,
                     (unsigned long long)t->streams_expected);
  while (!moqc_list_empty(&t->groups)) {
    igin *gi = MOQC_CONTAINER_OF(t->groups.next, igin, link);
    if (gi->ss) moqc__ss_stop(gi->ss, MOQC_CODE_CANCEL);
    gin_close(gi, false, MOQC_CODE_CANCEL);
  }
  if (t->subscribed) {
    (void)moqc__imap_remove(&st->by_req, t->req);
    if (t->ok_seen) (void)moqc__imap_remove(&st->by_alias, t->alias);
    assert(s->sub.n_rtracks > 0);
    s->sub.n_rtracks--;
    t->subscribed = false;
  }
  if (t->tp) {
    if (finish) (void)moqc_track_producer_complete(t->tp);
    else moqc_track_producer_abort(t->tp, code);
    moqc_track_producer_del(t->tp);
  }
  t->tp = NULL;
  if (moqc_link_linked(&t->link)) moqc_list_remove(&t->link);
  moqc__sess_bury(s, &t->obj);
}

static void it_send_subscribe(itrack *t) {
  moqc_session *s = t->s;
  ietf_state *st = IS(s);
  moqc_track_demand d = moqc_track_producer_demand(t->tp);
  moqc__ietf_msg *m = msg_new(MOQC_IETF_SUBSCRIBE);
  if (!m || !path_tuple(&m->ns, t->path)) {
    moqc_free(m);
    it_destroy(t, MOQC_CODE_NOT_FOUND, false);
    return;
  }
  t->req = req_next(s);
  if (moqc__imap_insert(&st->by_req, t->req, t) < 0) {
    moqc_free(m);
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  t->subscribed = true;
  s->sub.n_rtracks++;
  if (sess_debug_on(s))
    moqc__sess_debug(s, "SUBSCRIBE %llu %s/%s", (unsigned long long)t->req, t->path, t->name);
  m->request_id = t->req;
  m->name = (moqc_bytes){(const uint8_t *)t->name, strlen(t->name)};
  m->priority = (uint8_t)(255 - d.aggregate.priority);
  m->group_order = 2;
  m->forward = 1;
  /* The live edge unless a consumer asked for an earlier start (moq-dev's
   * Rust ignores the start and serves from the live edge anyway). */
  m->filter.type = MOQC_IETF_FILTER_LARGEST_OBJECT;
  if (d.aggregate.start != MOQC_GROUP_NONE) {
    m->filter.type = MOQC_IETF_FILTER_ABSOLUTE_START;
    m->filter.start.group = d.aggregate.start;
    if (d.aggregate.end != MOQC_GROUP_NONE) {
      m->filter.type = MOQC_IETF_FILTER_ABSOLUTE_RANGE;
      m->filter.end_group = d.aggregate.end;
    }
  }
  m->has = MOQC_IETF_HAS_PRIORITY | MOQC_IETF_HAS_GROUP_ORDER | MOQC_IETF_HAS_FORWARD |
           MOQC_IETF_HAS_FILTER;
  ctrl_send(s, m);
}

static void it_demand(itrack *t) {
  moqc_session *s = t->s;
  moqc_track_demand d = moqc_track_producer_demand(t->tp);
  if (d.consumers > 0 && !t->subscribed && !t->finished) {
    it_send_subscribe(t);
  } else if (d.consumers == 0 && t->subscribed) {
    moqc__ietf_msg *m = msg_new(MOQC_IETF_UNSUBSCRIBE);
    if (m) m->request_id = t->req;
    ctrl_send(s, m);
    it_destroy(t, MOQC_CODE_CANCEL, false);
  }
}

static void it_wake(void *arg) {
  itrack *t = arg;
  moqc_session *s = t->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !t->obj.dead && t->tp) it_demand(t);
  moqc__sess_exit(s);
}

/* PUBLISH_DONE was seen: the track completes once the streams it counted
 * arrived and ended (or this timer gave up on them). */
static void it_maybe_finish(itrack *t) {
  if (!t->finished || t->obj.dead || !moqc_list_empty(&t->groups)) return;
  if (t->streams_seen >= t->streams_expected || !moqc_timer_armed(&t->fin_timer))
    it_destroy(t, 0, true);
}

static void it_fin_arm(itrack *t) {
  moqc_session *s = t->s;
  uint64_t rtt_ns = 0, rate = 0;
  if (s->t->ops->stats) s->t->ops->stats(s->t, &rtt_ns, &rate);
  uint64_t at = moqc__sess_now(s) + SESS_SUB_FIN_GRACE_NS + 2 * rtt_ns;
  if (at > t->fin_deadline) at = t->fin_deadline;
  moqc_timer_stop(s->clock, &t->fin_timer);
  if (moqc_timer_start(s->clock, &t->fin_timer, at) < 0) t->streams_expected = 0;
}

static void it_fin_timeout(moqc_timer *tm, void *arg) {
  (void)tm;
  itrack *t = arg;
  moqc_session *s = t->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !t->obj.dead) {
    t->streams_expected = 0;
    it_maybe_finish(t);
  }
  moqc__sess_exit(s);
}

/* remote.c: a local consumer asked for a track of a broadcast the peer announced. */
static void ietf_track_request(rbcast *rb, moqc_track_request *req) {
  moqc_session *s = rb->s;
  ietf_state *st = IS(s);
  if (s->sub.n_rtracks >= s->lim.max_tracks) {
    moqc_track_request_reject(req, MOQC_CODE_BOUNDS_EXCEEDED);
    return;
  }
  itrack *t = moqc_calloc(1, sizeof *t);
  if (t) {
    t->path = moqc_strdup(rb->path);
    t->name = moqc_strdup(moqc_track_request_name(req));
  }
  moqc_track_info info =
      MOQC_TRACK_INFO_DEFAULT; /* IETF carries no track info (draft 16 properties: not read yet) */
  if (t && t->path && t->name) t->tp = moqc_track_request_accept(req, &info);
  else moqc_track_request_reject(req, MOQC_CODE_TRANSPORT);
  if (!t || !t->tp) {
    if (t) {
      moqc_free(t->path);
      moqc_free(t->name);
      moqc_free(t);
    }
    return;
  }
  t->obj.destroy = it_free;
  t->s = s;
  moqc_link_init(&t->groups);
  moqc_timer_init(&t->fin_timer, it_fin_timeout, t);
  moqc_list_push_back(&st->tracks, &t->link);
  moqc_track_producer_set_waker(t->tp, it_wake, t);
  it_demand(t);
}

static void on_subscribe_ok(moqc_session *s, const moqc__ietf_msg *m) {
  ietf_state *st = IS(s);
  itrack *t = moqc__imap_find(&st->by_req, m->request_id);
  if (!t || t->ok_seen) return;
  if (moqc__imap_find(&st->by_alias, m->track_alias)) {
    moqc__sess_fail(s, 0x5 /* DUPLICATE_TRACK_ALIAS */, "duplicate track alias", false);
    return;
  }
  t->alias = m->track_alias;
  if (moqc__imap_insert(&st->by_alias, t->alias, t) < 0) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  t->ok_seen = true;
}

/* Our PUBLISH_NAMESPACE was refused (a relay: outside the token's put, or
 * over a cap): the namespace is not served there; the session goes on. */
static void on_publish_namespace_error(moqc_session *s, const moqc__ietf_msg *m) {
  moqc__sess_debug(s, "PUBLISH_NAMESPACE %llu refused: code %llu, '%.*s'",
                   (unsigned long long)m->request_id, (unsigned long long)m->code,
                   (int)(m->reason.len < 100 ? m->reason.len : 100), (const char *)m->reason.ptr);
}

static void on_subscribe_error(moqc_session *s, const moqc__ietf_msg *m) {
  ietf_state *st = IS(s);
  itrack *t = moqc__imap_find(&st->by_req, m->request_id);
  if (t) it_destroy(t, MOQC_CODE_NOT_FOUND, false);
  else if (moqc__imap_find(&st->pubns, m->request_id)) on_publish_namespace_error(s, m);
}

static void on_publish_done(moqc_session *s, const moqc__ietf_msg *m) {
  ietf_state *st = IS(s);
  itrack *t = moqc__imap_find(&st->by_req, m->request_id);
  if (!t) return;
  if (t->finished) return;
  t->finished = true;
  /* The data streams travel apart from the control stream: PUBLISH_DONE
   * may overtake them. Its stream count says how many to wait for (at most
   * SESS_SUB_FIN_MAX_NS). */
  /* moq-dev sends a stream count of 0 whatever it sent, so a count we have
   * not reached, or none, means: wait until no new stream came for
   * SESS_SUB_FIN_GRACE_NS (+ 2 RTT), at most SESS_SUB_FIN_MAX_NS (like a
   * lite-03/04 subscribe FIN). */
  t->streams_expected = m->stream_count;
  if (t->streams_expected == 0 || t->streams_seen < t->streams_expected) {
    t->streams_expected = UINT64_MAX;
    t->fin_deadline = moqc__sess_now(s) + SESS_SUB_FIN_MAX_NS;
    it_fin_arm(t);
  }
  it_maybe_finish(t);
}

/* ---- subscriber side: received subgroup streams ---------------------------------- */

static void gin_free(sobj *o) { moqc_free(o); }

static void gin_close(igin *gi, bool ok, uint64_t code) {
  itrack *t = gi->it;
  moqc_session *s = t->s;
  if (gi->f) moqc_frame_producer_del(gi->f);
  gi->f = NULL;
  if (gi->g) {
    if (ok) (void)moqc_group_producer_finish(gi->g);
    else moqc_group_producer_abort(gi->g, code);
    moqc_group_producer_del(gi->g);
  }
  gi->g = NULL;
  if (moqc_link_linked(&gi->link)) moqc_list_remove(&gi->link);
  if (gi->ss) {
    sstream *ss = gi->ss;
    gi->ss = NULL;
    ss->owner = NULL;
    moqc__ss_release(ss);
  }
  moqc__sess_bury(s, &gi->obj);
  if (ok) s->stats.groups_received++;
  it_maybe_finish(t);
}

typedef struct sg_ctx {
  int version;
  moqc__ietf_subgroup h;
} sg_ctx;

static ssize_t sg_dec(void *ctx, const uint8_t *p, size_t len) {
  sg_ctx *c = ctx;
  return moqc__ietf_subgroup_decode(&c->h, c->version, p, len);
}

typedef struct ob_ctx {
  int version;
  bool ext;
  moqc__ietf_object o;
} ob_ctx;

static ssize_t ob_dec(void *ctx, const uint8_t *p, size_t len) {
  ob_ctx *c = ctx;
  return moqc__ietf_object_decode(&c->o, c->version, c->ext, p, len);
}

static void gin_stream_stop(sstream *ss, uint64_t code, const char *why) {
  if (sess_debug_on(ss->s))
    moqc__sess_debug(ss->s, "subgroup stream %lld stopped (code %llu): %s", (long long)ss->id,
                     (unsigned long long)code, why);
  moqc__ss_stop(ss, code);
  moqc__ss_release(ss);
}

static uint64_t now_ms(moqc_session *s) { return moqc__sess_now(s) / 1000000u; }

static void gin_data(sstream *ss, const uint8_t *p, size_t len, bool fin) {
  moqc_session *s = ss->s;
  ietf_state *st = IS(s);
  igin *gi = ss->owner;
  if (!gi) {
    sg_ctx c = {.version = V(s)};
    size_t used = 0;
    int r = moqc__ss_hdr_parse(ss, p, len, IETF_HDR_MAX, sg_dec, &c, &used);
    if (r < 0) {
      gin_stream_stop(ss, MOQC_CODE_DECODE, "malformed SUBGROUP_HEADER");
      return;
    }
    if (r == 0) {
      if (fin) gin_stream_stop(ss, MOQC_CODE_DECODE, "FIN inside the SUBGROUP_HEADER");
      return;
    }
    itrack *t = moqc__imap_find(&st->by_alias, c.h.track_alias);
    if (!t) {
      /* The stream raced ahead of the SUBSCRIBE_OK that binds the alias (it
       * travels on another stream). moq-dev uses alias = request id, and so
       * do we: take the pending subscription with that request id. */
      t = moqc__imap_find(&st->by_req, c.h.track_alias);
      if (t && t->ok_seen) t = NULL;
    }
    if (!t || !t->tp) {
      if (sess_debug_on(s))
        moqc__sess_debug(s, "alias %llu type 0x%llx group %llu: %s",
                         (unsigned long long)c.h.track_alias, (unsigned long long)c.h.type,
                         (unsigned long long)c.h.group, t ? "track gone" : "no subscription");
      gin_stream_stop(ss, MOQC_CODE_CANCEL, "unknown track alias");
      return;
    }
    if (c.h.sgid_mode == MOQC_IETF_SGID_FIELD && c.h.subgroup != 0) {
      gin_stream_stop(ss, MOQC_CODE_UNSUPPORTED,
                      "subgroup other than 0"); /* only subgroup 0 maps onto a group */
      return;
    }
    moqc_group_producer *g = NULL;
    int rc = moqc_track_producer_create_group(t->tp, c.h.group, &g);
    if (rc < 0) {
      gin_stream_stop(ss, moqc_code_from_err(rc), "group refused by the track");
      return;
    }
    gi = moqc_calloc(1, sizeof *gi);
    if (!gi) {
      moqc_group_producer_abort(g, MOQC_CODE_TRANSPORT);
      moqc_group_producer_del(g);
      moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
      return;
    }
    gi->obj.destroy = gin_free;
    gi->ss = ss;
    gi->it = t;
    gi->g = g;
    gi->extensions = c.h.extensions;
    ss->owner = gi;
    t->streams_seen++;
    if (t->finished && t->streams_expected == UINT64_MAX) it_fin_arm(t); /* still coming */
    moqc_list_push_back(&t->groups, &gi->link);
    p += used;
    len -= used;
  }
  while (gi->ss && !gi->obj.dead) {
    if (gi->in_payload) {
      size_t take = len < gi->remaining ? len : (size_t)gi->remaining;
      if (take) {
        if (moqc_frame_producer_write_copy(gi->f, p, take) < 0) {
          moqc__ss_stop(ss, MOQC_CODE_CANCEL);
          gin_close(gi, false, MOQC_CODE_CANCEL);
          return;
        }
        p += take;
        len -= take;
        gi->remaining -= take;
        s->stats.bytes_received += take;
      }
      if (gi->remaining == 0) {
        (void)moqc_frame_producer_finish(gi->f);
        s->stats.frames_received++;
        moqc_frame_producer_del(gi->f);
        gi->f = NULL;
        gi->in_payload = false;
        continue;
      }
      break; /* need more payload */
    }
    if (len == 0 && ss_len(ss) == 0) break;
    ob_ctx c = {.version = V(s), .ext = gi->extensions};
    size_t used = 0;
    int r = moqc__ss_hdr_parse(ss, p, len, IETF_HDR_MAX, ob_dec, &c, &used);
    if (r < 0) {
      if (sess_debug_on(s))
        moqc__sess_debug(s, "subgroup stream %lld: malformed object (%d)", (long long)ss->id, r);
      moqc__ss_stop(ss, MOQC_CODE_DECODE);
      gin_close(gi, false, r == MOQC_ERR_TOO_LARGE ? MOQC_CODE_FRAME_TOO_LARGE : MOQC_CODE_DECODE);
      return;
    }
    if (r == 0) {
      len = 0;
      break;
    }
    p += used;
    len -= used;
    if (c.o.size == 0 && c.o.status != MOQC_IETF_STATUS_NORMAL)
      continue; /* end of group / track, absent */
    moqc_frame_info fi = {.size = c.o.size, .timestamp = now_ms(s)};
    int err = 0;
    gi->f = moqc_group_producer_create_frame(gi->g, &fi, &err);
    if (!gi->f) {
      moqc__ss_stop(ss, MOQC_CODE_CANCEL);
      gin_close(gi, false, err ? moqc_code_from_err(err) : MOQC_CODE_TRANSPORT);
      return;
    }
    gi->in_payload = true;
    gi->remaining = c.o.size;
  }
  if (fin && gi->ss && !gi->obj.dead) {
    ss_set_rx(ss, SS_RX_DONE);
    if (gi->in_payload) gin_close(gi, false, MOQC_CODE_WRONG_SIZE);
    else gin_close(gi, true, 0);
  }
}

static void gin_end(sstream *ss, bool reset, uint64_t code) {
  igin *gi = ss->owner;
  if (gi) gin_close(gi, !reset, reset ? code : 0);
  else moqc__ss_maybe_forget(ss);
}

static const moqc__stream_kind sk_ietf_group_in = {
    .name = "ietf-group-in", .data = gin_data, .end = gin_end};

/* ---- namespaces from the peer (subscriber side) --------------------------------- */

static void on_publish_namespace(moqc_session *s, const moqc__ietf_msg *m) {
  char path[MOQC_PATH_MAX_LEN + 1];
  moqc__ietf_msg *r;
  if (!s->sub.origin || !tuple_path(&m->ns, path, sizeof path)) {
    r = msg_new(V(s) == MOQC_IETF_14 ? MOQC_IETF_PUBLISH_NAMESPACE_ERROR : MOQC_IETF_REQUEST_ERROR);
    if (r) {
      r->request_id = m->request_id;
      r->code = 0x4; /* UNINTERESTED */
    }
    ctrl_send(s, r);
    return;
  }
  moqc_route route = {0};
  int rc = moqc__rb_announce(s, path, &route, 0);
  if (rc == MOQC_ERR_UNAUTHORIZED || rc == MOQC_ERR_BOUNDS) {
    /* Outside the token's put, or over a cap: this namespace is refused, the
     * session and the others carry on. */
    r = msg_new(V(s) == MOQC_IETF_14 ? MOQC_IETF_PUBLISH_NAMESPACE_ERROR : MOQC_IETF_REQUEST_ERROR);
    if (r) {
      r->request_id = m->request_id;
      r->code = rc == MOQC_ERR_UNAUTHORIZED ? 0x1 /* UNAUTHORIZED */ : 0x0 /* INTERNAL_ERROR */;
      const char *why = rc == MOQC_ERR_UNAUTHORIZED ? "unauthorized" : s->sub.refusal;
      r->reason = (moqc_bytes){(const uint8_t *)why, strlen(why)};
    }
    ctrl_send(s, r);
    return;
  }
  char *copy = rc == MOQC_OK ? moqc_strdup(path) : NULL;
  if (rc == MOQC_ERR_NOMEM || (rc == MOQC_OK && !copy)) {
    moqc_free(copy);
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  if (rc == MOQC_ERR_DUPLICATE) {
    moqc_free(copy);
    moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "duplicate PUBLISH_NAMESPACE", false);
    return;
  }
  ietf_state *st = IS(s);
  char *old = moqc__imap_remove(&st->peer_ns, m->request_id);
  moqc_free(old);
  if (copy && moqc__imap_insert(&st->peer_ns, m->request_id, copy) < 0) {
    moqc_free(copy);
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  r = msg_new(MOQC_IETF_PUBLISH_NAMESPACE_OK);
  if (r) r->request_id = m->request_id;
  ctrl_send(s, r);
}

static void on_publish_namespace_done(moqc_session *s, const moqc__ietf_msg *m) {
  ietf_state *st = IS(s);
  char path[MOQC_PATH_MAX_LEN + 1];
  if (V(s) >= MOQC_IETF_16) {
    char *p = moqc__imap_remove(&st->peer_ns, m->request_id);
    if (p) moqc__rb_ended(s, p);
    moqc_free(p);
    return;
  }
  if (!tuple_path(&m->ns, path, sizeof path)) return;
  moqc__rb_ended(s, path);
  /* Forget the request that announced it. */
  moqc_imap_it it;
  void *v;
  uint64_t key;
  moqc__imap_it_init(&st->peer_ns, &it);
  while (moqc__imap_next(&st->peer_ns, &it, &key, &v)) {
    if (strcmp(v, path) == 0) {
      moqc_free(moqc__imap_remove(&st->peer_ns, key));
      break;
    }
  }
}

/* ---- draft-16 SUBSCRIBE_NAMESPACE streams ------------------------------------------ */

/* Decode the next whole message buffered on ss into *m: its size, 0 when
 * more bytes are needed, or <0 after failing the session. */
static ssize_t msg_next(sstream *ss, moqc__ietf_msg *m) {
  moqc_session *s = ss->s;
  uint64_t type;
  size_t off, blen;
  ssize_t n = moqc__ietf_ctrl_peek(V(s), ss_data(ss), ss_len(ss), &type, &off, &blen);
  if (n == MOQC_ERR_NEED_MORE) return 0;
  if (n >= 0) n = moqc__ietf_ctrl_decode(m, V(s), ss_data(ss), ss_len(ss));
  if (n <= 0) {
    moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "malformed control message", false);
    return MOQC_ERR_DECODE;
  }
  return n;
}

/* Peer-opened (publisher side): SUBSCRIBE_NAMESPACE, then nothing we act on. */
static int nsin_process(sstream *ss) {
  moqc_session *s = ss->s;
  moqc__ietf_msg *m = moqc_malloc(sizeof *m);
  if (!m) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return MOQC_ERR_NOMEM;
  }
  while (ss_len(ss) > 0 && !sess_closing(s) && !ss->obj.dead) {
    ssize_t n = msg_next(ss, m);
    if (n <= 0) break;
    bool first = !ss->owner;
    if (first && m->type != MOQC_IETF_SUBSCRIBE_NAMESPACE) {
      moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "unexpected message on a namespace stream",
                      false);
      break;
    }
    if (first) on_subscribe_namespace(s, m, ss);
    if (sess_closing(s) || ss->obj.dead) break;
    moqc__ss_consume(ss, (size_t)n);
    if (!ss->owner) break; /* rejected: released */
  }
  moqc_free(m);
  return MOQC_OK;
}

static void nsin_end(sstream *ss, bool reset, uint64_t code) {
  (void)code;
  ins_sub *ns = ss->owner;
  if (reset) moqc__ss_abort(ss, MOQC_CODE_CANCEL);
  else moqc__ss_fin(ss);
  if (ns) ns_destroy(ns); /* releases ss */
  else moqc__ss_release(ss);
}

static const moqc__stream_kind sk_ietf_ns_in = {
    .name = "ietf-subscribe-namespace-in", .process = nsin_process, .end = nsin_end};

/* Ours (subscriber side): REQUEST_OK / REQUEST_ERROR, then NAMESPACE and
 * NAMESPACE_DONE entries (suffixes of the empty prefix: full paths). */
static int nsout_process(sstream *ss) {
  moqc_session *s = ss->s;
  moqc__ietf_msg *m = moqc_malloc(sizeof *m);
  if (!m) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return MOQC_ERR_NOMEM;
  }
  while (ss_len(ss) > 0 && !sess_closing(s) && !ss->obj.dead) {
    ssize_t n = msg_next(ss, m);
    if (n <= 0) break;
    char path[MOQC_PATH_MAX_LEN + 1];
    if ((m->type == MOQC_IETF_NAMESPACE || m->type == MOQC_IETF_NAMESPACE_DONE) &&
        tuple_path(&m->ns, path, sizeof path)) {
      if (m->type == MOQC_IETF_NAMESPACE_DONE) {
        moqc__rb_ended(s, path);
      } else {
        moqc_route route = {0};
        int rc = moqc__rb_announce(s, path, &route, 0);
        if (rc == MOQC_ERR_NOMEM) moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
        else if (rc == MOQC_ERR_DUPLICATE)
          moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "duplicate NAMESPACE", false);
        else if (rc == MOQC_ERR_BOUNDS) /* over a cap: no per-entry refusal here */
          moqc__sess_fail(s, MOQC_CODE_BOUNDS_EXCEEDED, s->sub.refusal, false);
      }
    }
    /* REQUEST_OK / REQUEST_ERROR: nothing to do (an error leaves us without
     * the peer's namespaces, as a refused lite ANNOUNCE_PLEASE would). */
    if (sess_closing(s) || ss->obj.dead) break;
    moqc__ss_consume(ss, (size_t)n);
  }
  moqc_free(m);
  return MOQC_OK;
}

static void nsout_end(sstream *ss, bool reset, uint64_t code) {
  (void)code;
  ietf_state *st = IS(ss->s);
  if (reset) moqc__ss_abort(ss, MOQC_CODE_CANCEL);
  else moqc__ss_fin(ss);
  if (st->ns_out == ss) st->ns_out = NULL;
  moqc__ss_release(ss);
}

static const moqc__stream_kind sk_ietf_ns_out = {
    .name = "ietf-subscribe-namespace-out", .process = nsout_process, .end = nsout_end};

static moqc__ietf_msg *subscribe_namespace_msg(moqc_session *s) {
  moqc__ietf_msg *m = msg_new(MOQC_IETF_SUBSCRIBE_NAMESPACE);
  if (m) {
    m->request_id = req_next(s);
    m->options = 1; /* draft-16: NAMESPACE entries (not tracks) */
  }
  return m;
}

static void ns_out_opened(opener *op, int64_t id) {
  ietf_state *st = MOQC_CONTAINER_OF(op, ietf_state, ns_op);
  moqc_session *s = st->s;
  st->ns_out = moqc__ss_new(s, id, &sk_ietf_ns_out, false, st);
  if (!st->ns_out) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  msg_send(s, st->ns_out, subscribe_namespace_msg(s));
}

static void ns_out_failed(opener *op, int err) {
  (void)op;
  (void)err; /* no namespaces from the peer: like a refused request */
}

/* ---- control stream -------------------------------------------------------------- */

static void run_after_setup(moqc_session *s) {
  ietf_state *st = IS(s);
  if (!s->sub.origin) return;
  if (V(s) >= MOQC_IETF_16) {
    st->ns_op.bidi = true;
    st->ns_op.opened = ns_out_opened;
    st->ns_op.failed = ns_out_failed;
    moqc__sess_open(s, &st->ns_op);
    return;
  }
  ctrl_send(s, subscribe_namespace_msg(s));
}

static void add_setup_params(moqc_session *s, moqc__ietf_msg *m) {
  (void)moqc__ietf_params_put_varint(&m->params, MOQC_IETF_SETUP_MAX_REQUEST_ID,
                                     IETF_MAX_REQUEST_ID);
  if (!s->cfg.is_server && s->cfg_path && !s->t->webtransport)
    (void)moqc__ietf_params_put_bytes(&m->params, MOQC_IETF_SETUP_PATH, s->cfg_path,
                                      strlen(s->cfg_path));
  (void)moqc__ietf_params_put_bytes(&m->params, MOQC_IETF_SETUP_IMPLEMENTATION, "moqc", 4);
}

static void on_client_setup(moqc_session *s, const moqc__ietf_msg *m) {
  ietf_state *st = IS(s);
  if (!s->cfg.is_server || st->setup_done || s->state != ST_WAIT_SETUP) {
    moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "unexpected CLIENT_SETUP", false);
    return;
  }
  if (V(s) == MOQC_IETF_14) {
    bool found = false;
    for (uint32_t i = 0; i < m->nversions; i++)
      if (m->versions[i] == moqc__ietf_version_code(V(s))) found = true;
    if (!found) {
      moqc__sess_fail(s, IETF_VERSION_NEGOTIATION_FAILED, "no common version", false);
      return;
    }
  }
  st->setup_done = true;
  const moqc__ietf_kvp *kv = moqc__ietf_params_find(&m->params, MOQC_IETF_SETUP_MAX_REQUEST_ID);
  if (kv) st->peer_max_req = kv->v;
  kv = moqc__ietf_params_find(&m->params, MOQC_IETF_SETUP_PATH);
  if (kv) {
    s->req_path = moqc__sess_strdup_bytes(kv->b);
    if (!s->req_path) {
      moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
      return;
    }
  }
  moqc_session_request req = {
      .version = s->version,
      .path = s->req_path ? s->req_path : (s->t->path ? s->t->path : ""),
      .role = MOQC_SESSION_ROLE_BOTH,
      .peer_origin = 0,
  };
  moqc__sess_request(s, &req);
}

static void on_server_setup(moqc_session *s, const moqc__ietf_msg *m) {
  ietf_state *st = IS(s);
  if (s->cfg.is_server || st->setup_done) {
    moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "unexpected SERVER_SETUP", false);
    return;
  }
  if (V(s) == MOQC_IETF_14 &&
      (m->nversions != 1 || m->versions[0] != moqc__ietf_version_code(V(s)))) {
    moqc__sess_fail(s, IETF_VERSION_NEGOTIATION_FAILED, "server selected another version", false);
    return;
  }
  st->setup_done = true;
  const moqc__ietf_kvp *kv = moqc__ietf_params_find(&m->params, MOQC_IETF_SETUP_MAX_REQUEST_ID);
  if (kv) st->peer_max_req = kv->v;
  run_after_setup(s);
}

static void ctrl_dispatch(moqc_session *s, const moqc__ietf_msg *m) {
  ietf_state *st = IS(s);
  bool setup = m->type == MOQC_IETF_CLIENT_SETUP || m->type == MOQC_IETF_SERVER_SETUP;
  if (!setup && (!st->setup_done || s->state != ST_RUNNING)) {
    moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "control message before setup", false);
    return;
  }
  int v = V(s);
  switch (m->type) {
    case MOQC_IETF_CLIENT_SETUP: on_client_setup(s, m); return;
    case MOQC_IETF_SERVER_SETUP: on_server_setup(s, m); return;
    case MOQC_IETF_SUBSCRIBE_NAMESPACE:
      if (v >= MOQC_IETF_16) {
        moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "SUBSCRIBE_NAMESPACE on the control stream",
                        false);
        return;
      }
      on_subscribe_namespace(s, m, NULL);
      return;
    case MOQC_IETF_UNSUBSCRIBE_NAMESPACE: on_unsubscribe_namespace(s, m); return;
    case MOQC_IETF_PUBLISH_NAMESPACE: on_publish_namespace(s, m); return;
    case MOQC_IETF_PUBLISH_NAMESPACE_DONE: on_publish_namespace_done(s, m); return;
    case MOQC_IETF_SUBSCRIBE: on_subscribe(s, m); return;
    case MOQC_IETF_SUBSCRIBE_OK: on_subscribe_ok(s, m); return;
    case MOQC_IETF_SUBSCRIBE_ERROR: /* REQUEST_ERROR on 15+ */ on_subscribe_error(s, m); return;
    case MOQC_IETF_PUBLISH_NAMESPACE_ERROR: on_publish_namespace_error(s, m); return;
    case MOQC_IETF_UNSUBSCRIBE: on_unsubscribe(s, m); return;
    case MOQC_IETF_PUBLISH_DONE: on_publish_done(s, m); return;
    case MOQC_IETF_MAX_REQUEST_ID:
      if (m->request_id > st->peer_max_req) st->peer_max_req = m->request_id;
      return;
    case MOQC_IETF_GOAWAY:
      moqc_free(s->goaway_uri);
      s->goaway_uri = moqc__sess_strdup_bytes(m->reason);
      return;
    case MOQC_IETF_REQUESTS_BLOCKED: {
      moqc__ietf_msg *r = msg_new(MOQC_IETF_MAX_REQUEST_ID);
      if (r) r->request_id = m->request_id + IETF_MAX_REQUEST_ID;
      ctrl_send(s, r);
      return;
    }
    default:
      /* OKs of our namespace requests (0x07, 0x12), their errors, and
       * messages not handled yet are ignored; the codec already rejected
       * types the draft does not define. */
      (void)v;
      return;
  }
}

static int ctrl_process(sstream *ss) {
  moqc_session *s = ss->s;
  ietf_state *st = IS(s);
  if (!st->ctrl) st->ctrl = ss;
  assert(st->ctrl == ss);
  moqc__ietf_msg *m = NULL;
  while (ss_len(ss) > 0 && !sess_closing(s) && !ss->obj.dead) {
    uint64_t type;
    size_t off, blen;
    ssize_t n = moqc__ietf_ctrl_peek(V(s), ss_data(ss), ss_len(ss), &type, &off, &blen);
    if (n == MOQC_ERR_NEED_MORE) break;
    if (!m) m = moqc_malloc(sizeof *m);
    if (!m) {
      moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
      break;
    }
    if (n >= 0) n = moqc__ietf_ctrl_decode(m, V(s), ss_data(ss), ss_len(ss));
    if (n < 0) {
      moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "malformed control message", false);
      break;
    }
    ctrl_dispatch(s, m); /* m borrows the buffer: consume after */
    if (sess_closing(s) || ss->obj.dead) break;
    moqc__ss_consume(ss, (size_t)n);
  }
  moqc_free(m);
  return MOQC_OK;
}

static void ctrl_end(sstream *ss, bool reset, uint64_t code) {
  (void)reset;
  (void)code;
  moqc__sess_fail(ss->s, IETF_PROTOCOL_VIOLATION, "control stream closed", true);
}

static const moqc__stream_kind sk_ietf_ctrl = {
    .name = "ietf-control", .process = ctrl_process, .end = ctrl_end, .never_park = true};

/* ---- the binding --------------------------------------------------------------- */

static ssize_t ietf_type_peek(void *ctx, const uint8_t *p, size_t len) {
  /* Peek only: the kinds decode their whole header / message, type included. */
  uint64_t *type = ctx;
  ssize_t n = moqc__ietf_varint_decode(MOQC_IETF_14, type, p, len);
  return n < 0 ? n : 0;
}

static const moqc__stream_kind *ietf_peer_kind(moqc_session *s, bool bidi, uint64_t type,
                                               uint64_t *code) {
  ietf_state *st = IS(s);
  *code = MOQC_CODE_UNEXPECTED_STREAM;
  if (bidi) {
    /* Draft-16: a SUBSCRIBE_NAMESPACE stream. It may overtake the
     * SERVER_SETUP on a client; on a server it is parked until accept(). */
    if (V(s) >= MOQC_IETF_16 && type == MOQC_IETF_SUBSCRIBE_NAMESPACE) return &sk_ietf_ns_in;
    if (!s->cfg.is_server || st->ctrl_seen || type != MOQC_IETF_CLIENT_SETUP) {
      moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "unexpected bidirectional stream", false);
      return NULL;
    }
    st->ctrl_seen = true;
    return &sk_ietf_ctrl; /* st->ctrl is set by its first process() */
  }
  if (moqc__ietf_uni_kind(V(s), type) != MOQC_IETF_UNI_SUBGROUP) return NULL; /* FETCH: not yet */
  return s->state == ST_RUNNING ? &sk_ietf_group_in : NULL;
}

static void ietf_send_setup(moqc_session *s) {
  moqc__ietf_msg *m = msg_new(s->cfg.is_server ? MOQC_IETF_SERVER_SETUP : MOQC_IETF_CLIENT_SETUP);
  if (m) {
    if (V(s) == MOQC_IETF_14) {
      m->nversions = 1;
      m->versions[0] = moqc__ietf_version_code(V(s));
    }
    add_setup_params(s, m);
  }
  ctrl_send(s, m);
}

static void ietf_ctrl_opened(opener *op, int64_t id);
static void ietf_ctrl_failed(opener *op, int err);

static void ietf_run(moqc_session *s) {
  ietf_state *st = IS(s);
  if (s->cfg.is_server) {
    ietf_send_setup(s);
    run_after_setup(s);
    return;
  }
  st->ctrl_op.bidi = true;
  st->ctrl_op.opened = ietf_ctrl_opened;
  st->ctrl_op.failed = ietf_ctrl_failed;
  moqc__sess_open(s, &st->ctrl_op);
}

/* The session that owns an opener embedded in its ietf_state. */
static moqc_session *op_session(opener *op) {
  return MOQC_CONTAINER_OF(op, ietf_state, ctrl_op)->s;
}

static void ietf_ctrl_opened(opener *op, int64_t id) {
  moqc_session *s = op_session(op);
  ietf_state *st = IS(s);
  st->ctrl = moqc__ss_new(s, id, &sk_ietf_ctrl, false, st);
  if (!st->ctrl) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  ietf_send_setup(s);
}

static void ietf_ctrl_failed(opener *op, int err) {
  (void)err;
  moqc__sess_fail(op_session(op), MOQC_CODE_TRANSPORT, "cannot open the control stream", false);
}

static int ietf_init(moqc_session *s) {
  ietf_state *st = moqc_calloc(1, sizeof *st);
  if (!st) return MOQC_ERR_NOMEM;
  st->s = s;
  st->next_req = s->cfg.is_server ? 1 : 0;
  moqc_link_init(&st->ctrl_op.link);
  moqc_link_init(&st->ns_op.link);
  moqc_link_init(&st->ns_subs);
  moqc_link_init(&st->subs);
  moqc_link_init(&st->tracks);
  moqc__imap_init(&st->by_req);
  moqc__imap_init(&st->by_alias);
  moqc__imap_init(&st->pubns);
  moqc__imap_init(&st->peer_ns);
  s->ietf = st;
  return MOQC_OK;
}

/* Release everything (the session's teardown; subscriber side first). */
static void ietf_teardown(moqc_session *s) {
  ietf_state *st = IS(s);
  if (!st) return;
  moqc__sess_open_cancel(&st->ctrl_op);
  moqc__sess_open_cancel(&st->ns_op);
  st->ns_out = NULL;
  while (!moqc_list_empty(&st->tracks))
    it_destroy(MOQC_CONTAINER_OF(st->tracks.next, itrack, link), MOQC_CODE_DROPPED, false);
  while (!moqc_list_empty(&st->subs)) isub_destroy(MOQC_CONTAINER_OF(st->subs.next, isub, link));
  while (!moqc_list_empty(&st->ns_subs))
    ns_destroy(MOQC_CONTAINER_OF(st->ns_subs.next, ins_sub, link));
  st->ctrl = NULL;
}

static void ietf_free(moqc_session *s) {
  ietf_state *st = IS(s);
  if (!st) return;
  moqc__imap_free(&st->by_req);
  moqc__imap_free(&st->by_alias);
  moqc__imap_free(&st->pubns);
  moqc_imap_it it;
  void *v;
  moqc__imap_it_init(&st->peer_ns, &it);
  while (moqc__imap_next(&st->peer_ns, &it, NULL, &v)) moqc_free(v);
  moqc__imap_free(&st->peer_ns);
  moqc_free(st);
  s->ietf = NULL;
}

const moqc__sess_proto moqc__proto_ietf = {
    .name = "moq-transport",
    .stream_type_decode = ietf_type_peek,
    .peer_kind = ietf_peer_kind,
    .run = ietf_run,
    .datagram = NULL,
    .init = ietf_init,
    .teardown = ietf_teardown,
    .free = ietf_free,
    .track_request = ietf_track_request,
    .server_waits_setup = true,
};
