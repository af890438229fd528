/* moqc session — IETF FETCH served from the cache (publisher side).
 *
 * FETCH (standalone, relative joining, absolute joining) is answered from
 * what the track's cache holds when it arrives: the groups of the range are
 * taken at once (moqc_track_consumer_fetch_group, which on a relay falls
 * through to the source's cache; at most IETF_FETCH_MAX_GROUPS), FETCH_OK
 * goes out on the control stream (group order ascending, end location = the
 * last group taken and its last frame), then one uni stream carries
 * FETCH_HEADER and every object (subgroup 0, object id = frame index,
 * priority 0, no extensions) in ascending order; a group still being written
 * is followed until it ends; FIN after the last. The range:
 *   standalone: [start, end] from the message (end object: the last object
 *               + 1, 0 = the whole group, as imquic sends it on 16 too);
 *   joining:    the subscription we serve with the joining request id: its
 *               track's latest group L; relative: [L - offset, L], absolute:
 *               [group, L].
 * Refused: unknown track (DOES_NOT_EXIST), start after end (INVALID_RANGE),
 * joining an unknown subscription (0x7 INVALID_JOINING_REQUEST_ID). FETCH_CANCEL
 * resets the stream. Drafts 17+: the FETCH comes on its own request stream,
 * FETCH_OK / REQUEST_ERROR go back on it; our FIN there follows the data
 * stream's close (its FIN acknowledged; imquic drops a FETCH at the request
 * stream's FIN); the peer's FIN, RESET or STOP_SENDING of it cancels (the
 * data stream and our half are reset, as the draft asks), and so does a
 * STOP_SENDING of the data stream. A range not all cached (standalone or
 * joining) waits (IETF_FETCH_WAIT_NS) on a [start, end] subscription, which on
 * a relay makes the upstream session fetch the missing groups (ietf.c
 * it_fetch_check, moqc__ietf_fetch_range; remote.c rt_fetch_check on
 * moq-lite-05).
 * Not yet: descending order. The FETCH we issue (one group, or a range into a
 * track) is below. */
#include <assert.h>
#include <string.h>

#include "core/mem.h"
#include "moqc/path.h"
#include "session/ietf_int.h"

#define IETF_FETCH_MAX_GROUPS 256u
#define IETF_FETCH_PROBE_MAX (4u * IETF_FETCH_MAX_GROUPS) /* sequences take_groups looks up */
#define IETF_FETCH_HDR_MAX 128u
#define IETF_REQERR_INVALID_JOINING 0x7u
#define IETF_FETCH_NO_OBJECTS 0x6u
#define IETF_FETCH_WAIT_NS (500u * 1000u * 1000u) /* a range not cached: wait for upstream */

typedef struct ifetch {
  sobj obj;
  moqc_link link; /* in moqc__ietf_fetch_list */
  moqc_session *s;
  uint64_t req;
  opener op;
  bool opening;
  sstream *ss;
  moqc_group_consumer *groups[IETF_FETCH_MAX_GROUPS];
  uint64_t first_object;        /* in groups[0] */
  uint64_t last_object;         /* in the last group, inclusive; UINT64_MAX: all */
  size_t n, cur;                /* groups taken / the one being written */
  uint64_t object;              /* next object id in groups[cur] */
  bool in_frame, skip, started; /* skip: a frame before first_object, read and dropped */
  bool done;                    /* the data stream's FIN is written */
  moqc__ietf_fetch_state fs;
  sstream *req_ss; /* 17+: the FETCH's request stream */
  /* Waiting for groups of a standalone range that the cache did not hold
   * (a relay fetches them upstream): a [g0, g1] subscription, until every
   * group arrived or IETF_FETCH_WAIT_NS passed; then FETCH_OK. */
  bool pending;
  bool standalone; /* else joining: an empty answer is FETCH_OK, not NO_OBJECTS */
  bool probed;     /* take_groups looked up the whole range (else again once the latest is known) */
  bool open_end;   /* joining before the track's latest group was known: g1 is a guess
                      until the range subscription sees one (if_pend_pump) */
  uint64_t g0, g1, want;
  moqc__ietf_loc ask_end; /* the asked end: group, last object (UINT64_MAX: all) */
  moqc_broadcast_consumer *pbc;
  moqc_track_consumer *ptc;
  moqc_timer timer;
  bool has_prio;         /* a REQUEST_UPDATE gave a Subscriber Priority: */
  moqc_stream_prio prio; /* the data stream's (moqc__ietf_fetch_update) */
} ifetch;

static void if_free(sobj *o) { moqc_free(o); }

static void if_pend_drop(ifetch *f) {
  moqc_timer_stop(f->s->clock, &f->timer);
  if (f->ptc) moqc_track_consumer_del(f->ptc);
  if (f->pbc) moqc_broadcast_consumer_del(f->pbc);
  f->ptc = NULL;
  f->pbc = NULL;
  f->pending = false;
}

static void if_destroy(ifetch *f) {
  moqc_session *s = f->s;
  if_pend_drop(f);
  if (f->opening) moqc__sess_open_cancel(&f->op);
  f->opening = false;
  for (size_t i = 0; i < f->n; i++)
    if (f->groups[i]) moqc_group_consumer_del(f->groups[i]);
  f->n = 0;
  if (f->ss) {
    f->ss->owner = NULL;
    moqc__ss_release(f->ss);
  }
  f->ss = NULL;
  if (f->req_ss) moqc__ietf_req_close(f->req_ss, !f->done);
  f->req_ss = NULL;
  if (moqc_link_linked(&f->link)) {
    moqc_list_remove(&f->link);
    assert(s->n_served > 0);
    s->n_served--;
  }
  moqc__sess_bury(s, &f->obj);
  moqc__ietf_req_complete(s);
}

/* Write what is available; FIN after the last group. */
static void if_pump(ifetch *f) {
  moqc_session *s = f->s;
  wbuf w;
  moqc__wbuf_init(&w);
  if (!f->started) {
    f->started = true;
    uint8_t hdr[32];
    ssize_t k = moqc__ietf_fetch_header_encode(hdr, sizeof hdr, s->version, f->req);
    if (k > 0) moqc__wbuf_append(&w, hdr, (size_t)k);
    else w.err = (int)k;
  }
  bool fin = false;
  while (!w.err) {
    if (f->cur >= f->n) {
      fin = true;
      break;
    }
    moqc_group_consumer *gc = f->groups[f->cur];
    bool last = f->cur + 1 == f->n;
    if (!f->in_frame) {
      moqc_frame_info fi;
      int rc = moqc_group_consumer_next_frame(gc, &fi);
      if (rc == MOQC_ERR_AGAIN) break;
      bool past_end = last && f->last_object != UINT64_MAX && f->object > f->last_object;
      if (rc < 0 || past_end) { /* the group ended (or aborted): the next one */
        moqc_group_consumer_del(gc);
        f->groups[f->cur++] = NULL;
        f->object = 0;
        continue;
      }
      f->in_frame = true;
      f->skip = f->cur == 0 && f->object < f->first_object;
      if (f->skip) continue;
      moqc__ietf_fetch_object o = {.kind = MOQC_IETF_FETCH_OBJECT,
                                   .group = moqc_group_consumer_sequence(gc),
                                   .object = f->object,
                                   .size = fi.size};
      uint8_t hdr[IETF_FETCH_HDR_MAX];
      ssize_t k = moqc__ietf_fetch_object_encode(hdr, sizeof hdr, s->version, &f->fs, &o);
      if (k < 0) {
        w.err = (int)k;
        break;
      }
      moqc__wbuf_append(&w, hdr, (size_t)k);
    } else {
      moqc_slice sl;
      int rc = moqc_group_consumer_read_chunk(gc, &sl);
      if (rc == MOQC_ERR_AGAIN) break;
      if (rc == MOQC_ERR_CLOSED) {
        f->in_frame = f->skip = false;
        f->object++;
        continue;
      }
      if (rc < 0) {
        w.err = MOQC_ERR_CLOSED; /* aborted inside a frame: the object cannot be finished */
        break;
      }
      if (sl.len && !f->skip) moqc__wbuf_append(&w, moqc_slice_ptr(&sl), sl.len);
      moqc_slice_release(&sl);
    }
  }
  if (w.err) {
    moqc__wbuf_free(&w);
    moqc__ss_reset(f->ss, MOQC_CODE_ENCODE);
    if_destroy(f);
    return;
  }
  if (w.len || fin) (void)moqc__ss_write(f->ss, w.p, w.len, fin);
  moqc__wbuf_free(&w);
  if (fin) {
    f->done = true;
    /* 17+: the request stream ends once the data stream is closed (its FIN
     * acknowledged, if_end): imquic forgets a FETCH at the request
     * stream's FIN and then cannot place a FETCH_HEADER still in flight. */
    if (!f->req_ss) if_destroy(f); /* the stream lingers in the table until acknowledged */
    return;
  }
}

static void if_wake(void *arg) {
  ifetch *f = arg;
  moqc_session *s = f->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !f->obj.dead && f->ss && !f->done) if_pump(f);
  moqc__sess_exit(s);
}

static void if_end(sstream *ss, bool reset, uint64_t code) {
  (void)reset;
  (void)code;
  ifetch *f = ss->owner;
  if (f) if_destroy(f);
  else moqc__ss_maybe_forget(ss);
}

static const moqc__stream_kind sk_ietf_fetch_out = {.name = "ietf-fetch-out", .end = if_end};

static void if_opened(opener *op, int64_t id) {
  ifetch *f = MOQC_CONTAINER_OF(op, ifetch, op);
  moqc_session *s = f->s;
  f->opening = false;
  f->ss = moqc__ss_new(s, id, &sk_ietf_fetch_out, false, f);
  if (!f->ss) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  if (f->has_prio) (void)s->t->ops->set_priority(s->t, id, &f->prio);
  for (size_t i = 0; i < f->n; i++)
    if (f->groups[i]) moqc_group_consumer_set_waker(f->groups[i], if_wake, f);
  if_pump(f);
}

static void if_open_failed(opener *op, int err) {
  (void)err;
  if_destroy(MOQC_CONTAINER_OF(op, ifetch, op));
}

static void if_pend_add(ifetch *f, moqc_group_consumer *gc);

/* How many groups an answer for [g0, g1] holds at most. */
static uint64_t fetch_want(uint64_t g0, uint64_t g1) {
  assert(g0 <= g1);
  return g1 - g0 >= IETF_FETCH_MAX_GROUPS ? IETF_FETCH_MAX_GROUPS : g1 - g0 + 1;
}

/* Take the groups [g0, g1] the cache holds, ascending, at most
 * IETF_FETCH_MAX_GROUPS (FETCH_OK's end location says where it stopped).
 * At most IETF_FETCH_PROBE_MAX sequences are looked up: the range ends at the
 * track's latest group if that is inside it, and a longer one is looked up
 * in its last IETF_FETCH_PROBE_MAX sequences only (a hostile [0, 2^62] must
 * not cost 2^62 lookups). false: the track's latest group is not known and
 * the range was too long to look up whole (if_pend_pump looks again once it
 * is known). */
static bool take_groups(ifetch *f, moqc_track_consumer *tc, uint64_t g0, uint64_t g1) {
  assert(g0 <= g1);
  uint64_t latest = moqc_track_consumer_latest(tc);
  if (latest != MOQC_GROUP_NONE && latest >= g0 && latest < g1) g1 = latest;
  bool all = true;
  if (g1 - g0 >= IETF_FETCH_PROBE_MAX) {
    g0 = g1 - (IETF_FETCH_PROBE_MAX - 1);
    all = latest != MOQC_GROUP_NONE;
  }
  for (uint64_t g = g0; g <= g1 && f->n < IETF_FETCH_MAX_GROUPS; g++) {
    moqc_group_consumer *gc = NULL;
    if (moqc_track_consumer_fetch_group(tc, g, &gc) == MOQC_OK) if_pend_add(f, gc);
    if (g == UINT64_MAX) break;
  }
  return all;
}

static void fetch_error(moqc_session *s, sstream *ss, uint64_t req, uint64_t code,
                        const char *why) {
  moqc__ietf_request_refuse(s, ss, MOQC_IETF_FETCH_ERROR, req, code, why);
}

/* FETCH_OK (or NO_OBJECTS for an empty standalone range) for the groups
 * taken, then the FETCH_HEADER stream. f is in the fetch list. */
static void if_answer(ifetch *f) {
  moqc_session *s = f->s;
  assert(!f->pending && !f->opening && !f->ss);
  if (f->n == 0 && f->standalone) {
    sstream *rs = f->req_ss; /* 17+: REQUEST_ERROR and FIN there, not a cancel */
    if (rs) rs->owner = NULL;
    f->req_ss = NULL;
    uint64_t req = f->req;
    if_destroy(f);
    fetch_error(s, rs, req, IETF_FETCH_NO_OBJECTS, "nothing cached in the range");
    return;
  }
  s->stats.subscribes_served++;
  uint64_t last_object = f->ask_end.object;
  /* The first object applies only if the first group taken is g0. */
  if (!(f->n && moqc_group_consumer_sequence(f->groups[0]) == f->g0)) f->first_object = 0;
  if (f->n && moqc_group_consumer_sequence(f->groups[f->n - 1]) != f->g1) last_object = UINT64_MAX;
  f->last_object = last_object;
  moqc__ietf_loc end = {.group = f->g0, .object = 0};
  if (f->n) {
    moqc_group_consumer *lg = f->groups[f->n - 1];
    size_t k = moqc_group_consumer_frames_available(lg);
    end.group = moqc_group_consumer_sequence(lg);
    end.object = k ? (uint64_t)k - 1 : 0;
    if (last_object != UINT64_MAX && end.object > last_object) end.object = last_object;
  }
  moqc__ietf_msg *r = moqc__ietf_msg_new(MOQC_IETF_FETCH_OK);
  if (r) {
    r->request_id = f->req;
    r->group_order = 1;
    r->end_of_track = 0;
    r->largest = end;
    r->has = MOQC_IETF_HAS_GROUP_ORDER;
  }
  moqc__ietf_reply(s, f->req_ss, r);
  if (sess_closing(s)) return;
  f->op.bidi = false;
  f->op.opened = if_opened;
  f->op.failed = if_open_failed;
  f->opening = true;
  moqc__sess_open(s, &f->op);
}

/* A group of the waited range arrived: into f->groups, ascending, once; the
 * lowest IETF_FETCH_MAX_GROUPS are kept (a lower one evicts the highest:
 * groups arrive in any order, and the answer must be a prefix of the range,
 * FETCH_OK's end location saying where it stopped). */
static void if_pend_add(ifetch *f, moqc_group_consumer *gc) {
  uint64_t seq = moqc_group_consumer_sequence(gc);
  size_t at = f->n;
  for (size_t i = 0; i < f->n; i++) {
    uint64_t q = moqc_group_consumer_sequence(f->groups[i]);
    if (q == seq) {
      moqc_group_consumer_del(gc);
      return;
    }
    if (q > seq) {
      at = i;
      break;
    }
  }
  if (seq < f->g0 || seq > f->g1 || at == IETF_FETCH_MAX_GROUPS) {
    moqc_group_consumer_del(gc);
    return;
  }
  if (f->n == IETF_FETCH_MAX_GROUPS) moqc_group_consumer_del(f->groups[--f->n]);
  memmove(&f->groups[at + 1], &f->groups[at], (f->n - at) * sizeof f->groups[0]);
  f->groups[at] = gc;
  f->n++;
}

/* Every group the answer can hold is there: f->want groups, contiguous
 * from g0 (so none can still come below them). */
static bool if_pend_full(const ifetch *f) {
  return f->n >= f->want && moqc_group_consumer_sequence(f->groups[f->n - 1]) == f->g0 + f->n - 1;
}

/* Take what the range subscription delivered; answer when complete. */
static void if_pend_pump(ifetch *f) {
  int rc = MOQC_OK;
  uint64_t latest = f->open_end ? moqc_track_consumer_latest(f->ptc) : MOQC_GROUP_NONE;
  if (latest != MOQC_GROUP_NONE && latest >= f->g0 && latest < f->g1) {
    /* A joining FETCH ends at the latest group: now known. */
    f->open_end = false;
    f->g1 = latest;
    f->ask_end = (moqc__ietf_loc){latest, UINT64_MAX};
    f->want = fetch_want(f->g0, f->g1);
    while (f->n && moqc_group_consumer_sequence(f->groups[f->n - 1]) > f->g1)
      moqc_group_consumer_del(f->groups[--f->n]);
  }
  if (!f->probed && moqc_track_consumer_latest(f->ptc) != MOQC_GROUP_NONE) {
    /* The range was too long to look up before the latest group was known:
     * now up to it (a source's cache is reached through fetch_group only). */
    f->probed = true;
    (void)take_groups(f, f->ptc, f->g0, f->g1);
  }
  while (!if_pend_full(f)) {
    moqc_group_consumer *gc = NULL;
    rc = moqc_track_consumer_recv_group(f->ptc, &gc);
    if (rc != MOQC_OK) break;
    if_pend_add(f, gc);
  }
  if (rc == MOQC_ERR_AGAIN) return;
  if (rc == MOQC_ERR_NOMEM) {
    moqc__sess_fail(f->s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  if_pend_drop(f); /* all there, or the track ended: answer with what came */
  if_answer(f);
}

static void if_pend_wake(void *arg) {
  ifetch *f = arg;
  moqc_session *s = f->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !f->obj.dead && f->pending) if_pend_pump(f);
  moqc__sess_exit(s);
}

static void if_timeout(moqc_timer *tm, void *arg) {
  (void)tm;
  ifetch *f = arg;
  moqc_session *s = f->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !f->obj.dead && f->pending) {
    if_pend_drop(f);
    if_answer(f);
  }
  moqc__sess_exit(s);
}

/* The track a FETCH or TRACK_STATUS names: new consumers into *bc_out and
 * *tc_out. MOQC_ERR_INVAL: the namespace is not a broadcast path;
 * MOQC_ERR_NOT_FOUND: no such broadcast or track. */
int moqc__ietf_resolve_track(moqc_session *s, const moqc__ietf_msg *m,
                             moqc_broadcast_consumer **bc_out, moqc_track_consumer **tc_out) {
  char path[MOQC_PATH_MAX_LEN + 1];
  if (!moqc__ietf_tuple_path(&m->ns, path, sizeof path)) return MOQC_ERR_INVAL;
  uint64_t code = MOQC_CODE_NOT_FOUND;
  moqc_broadcast_consumer *bc =
      moqc__sess_resolve(s, (moqc_bytes){(const uint8_t *)path, strlen(path)}, &code);
  char *name = bc ? moqc__sess_strdup_bytes(m->name) : NULL;
  moqc_track_consumer *tc = NULL;
  if (name && strlen(name) == m->name.len) {
    moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
    int err = MOQC_ERR_NOT_FOUND;
    tc = moqc_broadcast_consumer_subscribe(bc, name, &sub, &err);
  }
  moqc_free(name);
  if (!tc) {
    if (bc) moqc_broadcast_consumer_del(bc);
    return MOQC_ERR_NOT_FOUND;
  }
  *bc_out = bc;
  *tc_out = tc;
  return MOQC_OK;
}

void moqc__ietf_on_fetch(moqc_session *s, const moqc__ietf_msg *m, sstream *ss) {
  assert(m->type == MOQC_IETF_FETCH);
  const moqc__ietf_fetch_spec *fs = &m->fetch;
  if (s->n_served >= s->lim.max_subscriptions) {
    s->stats.streams_rejected++;
    fetch_error(s, ss, m->request_id, MOQC_IETF_REQERR_EXCESSIVE_LOAD, "too many subscriptions");
    return;
  }
  moqc_broadcast_consumer *bc = NULL;  /* owned (standalone) */
  moqc_broadcast_consumer *jbc = NULL; /* borrowed (joining: the served subscription's) */
  moqc_track_consumer *tc = NULL;      /* owned (standalone) or borrowed (joining) */
  uint64_t g0, g1, first_object = 0, last_object = UINT64_MAX;
  bool standalone = fs->type == MOQC_IETF_FETCH_STANDALONE;
  bool end_unknown = false; /* a relative join before the track's latest group is known */
  bool open_end = false;    /* an absolute one: g1 a guess (ifetch.open_end) */
  if (standalone) {
    if (moqc__ietf_resolve_track(s, m, &bc, &tc) != MOQC_OK) {
      fetch_error(s, ss, m->request_id, MOQC_IETF_REQERR_DOES_NOT_EXIST, "track not found");
      return;
    }
    g0 = fs->start.group;
    g1 = fs->end.group;
    first_object = fs->start.object;
    if (fs->end.object) last_object = fs->end.object - 1;
  } else {
    tc = moqc__ietf_served_track(s, fs->joining_request, &jbc);
    uint64_t latest = tc ? moqc_track_consumer_latest(tc) : MOQC_GROUP_NONE;
    if (!tc) {
      fetch_error(s, ss, m->request_id, IETF_REQERR_INVALID_JOINING, "no such subscription");
      return;
    }
    /* A subscription that arrived with this FETCH (pipelined, as moqc
     * sends them) may have seen no group yet (a relay's front fills
     * asynchronously): an absolute join then takes what is cached from its
     * start on (at most IETF_FETCH_MAX_GROUPS; the subscriber skips groups
     * it also gets on the subscription). */
    bool unknown = latest == MOQC_GROUP_NONE;
    if (unknown) latest = 0;
    end_unknown = unknown && fs->type == MOQC_IETF_FETCH_RELATIVE_JOINING;
    g1 = latest;
    if (unknown && fs->type == MOQC_IETF_FETCH_ABSOLUTE_JOINING &&
        fs->joining_start <= MOQC_GROUP_NONE - IETF_FETCH_MAX_GROUPS) {
      g1 = fs->joining_start + (IETF_FETCH_MAX_GROUPS - 1);
      open_end = true;
    }
    if (fs->type == MOQC_IETF_FETCH_RELATIVE_JOINING)
      g0 = fs->joining_start > latest ? 0 : latest - fs->joining_start;
    else g0 = fs->joining_start;
  }
  if (g0 > g1 || (g0 == g1 && last_object != UINT64_MAX && first_object > last_object)) {
    if (bc) {
      moqc_track_consumer_del(tc);
      moqc_broadcast_consumer_del(bc);
    }
    fetch_error(s, ss, m->request_id, MOQC_IETF_REQERR_INVALID_RANGE, "start after end");
    return;
  }
  ifetch *f = moqc_calloc(1, sizeof *f);
  if (!f) {
    if (bc) {
      moqc_track_consumer_del(tc);
      moqc_broadcast_consumer_del(bc);
    }
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  f->obj.destroy = if_free;
  f->s = s;
  f->req = m->request_id;
  f->fs.group_order = 1;
  f->fs.explicit_subgroup = true; /* imquic reads the field whatever the flags say */
  f->g0 = g0;
  f->g1 = g1;
  f->standalone = standalone;
  f->open_end = open_end;
  f->first_object = first_object;
  f->ask_end = (moqc__ietf_loc){g1, last_object};
  moqc_link_init(&f->op.link);
  moqc_timer_init(&f->timer, if_timeout, f);
  f->probed = take_groups(f, tc, g0, g1);
  f->want = fetch_want(g0, g1);
  moqc_list_push_back(moqc__ietf_fetch_list(s), &f->link);
  s->n_served++;
  if (ss) { /* 17+: the request stream is the fetch's until it ends */
    f->req_ss = ss;
    ss->owner = f;
  }
  uint64_t latest = moqc_track_consumer_latest(tc);
  moqc_broadcast_consumer *src = bc ? bc : jbc;
  if (src && !end_unknown && f->n < f->want && (latest == MOQC_GROUP_NONE || g0 <= latest)) {
    /* Not all cached, and the range is not all in the future (nothing seen
     * yet, or it starts at or below the latest group): subscribe [g0, g1],
     * which asks the track's source for them (a relay's upstream session
     * fetches them: ietf.c it_fetch_check, remote.c rt_fetch_check), and
     * answer once they came or the wait ended. A joining FETCH waits the
     * same way, on the broadcast of the subscription it joins. */
    moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
    sub.start = g0;
    sub.end = g1;
    sub.priority = (uint8_t)(255 - m->priority);
    int err = 0;
    const char *name = moqc_track_consumer_name(tc);
    moqc_broadcast_consumer *pbc = bc ? bc : moqc_broadcast_consumer_clone(jbc);
    f->ptc = pbc ? moqc_broadcast_consumer_subscribe(pbc, name, &sub, &err) : NULL;
    if (f->ptc &&
        moqc_timer_start(s->clock, &f->timer, moqc__sess_now(s) + IETF_FETCH_WAIT_NS) == 0) {
      f->pbc = pbc;
      if (pbc == bc) bc = NULL;
      f->pending = true;
      moqc_track_consumer_set_waker(f->ptc, if_pend_wake, f);
    } else {
      if (f->ptc) moqc_track_consumer_del(f->ptc);
      f->ptc = NULL;
      if (pbc && pbc != bc) moqc_broadcast_consumer_del(pbc);
    }
  }
  if (bc) {
    moqc_track_consumer_del(tc);
    moqc_broadcast_consumer_del(bc);
  } else if (standalone) {
    moqc_track_consumer_del(tc); /* its broadcast consumer went to f->pbc */
  }
  if (f->pending) if_pend_pump(f);
  else if_answer(f);
}

void moqc__ietf_on_fetch_cancel(moqc_session *s, const moqc__ietf_msg *m) {
  moqc_link *l = moqc__ietf_fetch_list(s);
  for (moqc_link *it = l->next; it != l; it = it->next) {
    ifetch *f = MOQC_CONTAINER_OF(it, ifetch, link);
    if (f->req != m->request_id) continue;
    if (f->ss && !ss_send_done(f->ss)) moqc__ss_reset(f->ss, MOQC_CODE_CANCEL);
    if_destroy(f);
    return;
  }
}

bool moqc__ietf_fetch_update(moqc_session *s, sstream *ss, uint64_t req, const moqc__ietf_msg *m) {
  ifetch *f = ss ? ss->owner : NULL;
  moqc_link *l = moqc__ietf_fetch_list(s);
  for (moqc_link *it = l->next; !ss && it != l; it = it->next) {
    ifetch *c = MOQC_CONTAINER_OF(it, ifetch, link);
    if (c->req == req) f = c;
  }
  if (!f) return false;
  assert(!ss || f->req_ss == ss);
  if (m->has & MOQC_IETF_HAS_PRIORITY) {
    f->has_prio = true;
    f->prio = (moqc_stream_prio){.priority = (uint8_t)(255 - m->priority), .order = 0};
    if (f->ss && !ss_send_done(f->ss)) (void)s->t->ops->set_priority(s->t, f->ss->id, &f->prio);
  }
  return true;
}

/* 17+: the FETCH request stream. */
static int freq_process(sstream *ss) {
  return moqc__ietf_req_in(ss, MOQC_IETF_FETCH, moqc__ietf_on_fetch, NULL);
}

static void freq_end(sstream *ss, bool reset, uint64_t code) {
  (void)reset;
  (void)code;
  ifetch *f = ss->owner;
  if (!f) {
    moqc__ietf_req_close(ss, false);
    return;
  }
  assert(f->req_ss == ss);
  /* Cancelled (FIN, as SUBSCRIBE on 17+; RESET; STOP_SENDING), unless all
   * was sent: then the request simply ends. */
  if (!f->done && f->ss && !ss_send_done(f->ss)) moqc__ss_reset(f->ss, MOQC_CODE_CANCEL);
  if_destroy(f);
}

const moqc__stream_kind moqc__sk_ietf_fetch_req = {
    .name = "ietf-fetch-req-in", .process = freq_process, .end = freq_end};

void moqc__ietf_fetch_teardown(moqc_session *s) {
  moqc_link *l = moqc__ietf_fetch_list(s);
  while (!moqc_list_empty(l)) if_destroy(MOQC_CONTAINER_OF(l->next, ifetch, link));
}

/* ---- the FETCH we issue (moqc_session_fetch on an IETF session) ------------------ */
/* One group by sequence: a standalone FETCH [{seq, 0}, {seq, whole group}]
 * on the control stream (17+: on a request stream of its own, fi_send);
 * FETCH_OK is noted, FETCH_ERROR / REQUEST_ERROR aborts the group NotFound
 * (17+: so does the request stream's RESET, or its FIN before FETCH_OK);
 * the peer's FETCH_HEADER stream with our request id feeds the objects of
 * that group as frames (stamped with the arrival time), FIN finishes it. */

typedef struct ifetch_in {
  sobj obj;
  moqc_link link; /* in moqc__ietf_fetch_in_list */
  moqc_session *s;
  uint64_t req, seq;       /* seq: the one group (tp NULL), else the group being fed */
  moqc_track_producer *tp; /* a range fetched upstream into a track (owned clone), or NULL */
  uint64_t lo, hi;         /* tp: the range's groups */
  moqc_group_producer *g;
  moqc_frame_producer *f;
  sstream *ss;
  bool in_payload, skip; /* skip: the object's payload is read and dropped */
  uint64_t remaining;
  moqc__ietf_fetch_state fs;
  moqc__ietf_reqout rq; /* 17+: the FETCH's request stream (FETCH_OK / REQUEST_ERROR) */
  bool ok_seen;         /* 17+: FETCH_OK read there */
} ifetch_in;

static void fi_free(sobj *o) { moqc_free(o); }

static void fi_destroy(ifetch_in *fi, bool ok, uint64_t code) {
  moqc_session *s = fi->s;
  if (fi->f) moqc_frame_producer_del(fi->f);
  fi->f = NULL;
  if (fi->g) {
    if (ok) (void)moqc_group_producer_finish(fi->g);
    else moqc_group_producer_abort(fi->g, code);
    moqc_group_producer_del(fi->g);
  }
  fi->g = NULL;
  if (fi->tp) moqc_track_producer_del(fi->tp); /* a clone: the track lives on */
  fi->tp = NULL;
  /* 17+: our FIN once every object arrived; STOP_SENDING + FIN cancels */
  moqc__ietf_reqout_close(&fi->rq, !ok);
  if (fi->ss) {
    sstream *ss = fi->ss;
    fi->ss = NULL;
    ss->owner = NULL;
    moqc__ss_release(ss);
  }
  if (moqc_link_linked(&fi->link)) {
    moqc_list_remove(&fi->link);
    assert(s->n_served > 0);
    s->n_served--;
  }
  moqc__sess_bury(s, &fi->obj);
}

static ifetch_in *fi_find(moqc_session *s, uint64_t req) {
  moqc_link *l = moqc__ietf_fetch_in_list(s);
  for (moqc_link *it = l->next; it != l; it = it->next) {
    ifetch_in *fi = MOQC_CONTAINER_OF(it, ifetch_in, link);
    if (fi->req == req) return fi;
  }
  return NULL;
}

bool moqc__ietf_fetch_in_error(moqc_session *s, const moqc__ietf_msg *m) {
  ifetch_in *fi = fi_find(s, m->request_id);
  if (!fi) return false;
  fi_destroy(fi, false, MOQC_CODE_NOT_FOUND);
  return true;
}

static ssize_t fh_dec(void *ctx, const uint8_t *p, size_t len) {
  uint64_t *req = ctx;
  return moqc__ietf_fetch_header_decode(req, (int)req[1], p, len);
}

typedef struct fo_ctx {
  int version;
  moqc__ietf_fetch_state st; /* a copy: committed only once an object decoded */
  moqc__ietf_fetch_object o;
} fo_ctx;

static ssize_t fo_dec(void *ctx, const uint8_t *p, size_t len) {
  fo_ctx *c = ctx;
  return moqc__ietf_fetch_object_decode(&c->o, c->version, &c->st, p, len);
}

static void fin_stop(sstream *ss, uint64_t code) {
  moqc__ss_stop(ss, code);
  moqc__ss_release(ss);
}

/* A range fetch (fi->tp) reached an object of `group`: a new group of the
 * track when it changes (the previous one finished); a group the track
 * already has (cached, or arriving on the subscription) is skipped (fi->g
 * NULL). Groups come in ascending order. false: fi was destroyed. */
static bool fi_range_group(ifetch_in *fi, uint64_t group) {
  if (fi->g && fi->seq == group) return true;
  if (fi->g && group < fi->seq) { /* not ascending */
    moqc__ss_stop(fi->ss, MOQC_CODE_DECODE);
    fi_destroy(fi, false, MOQC_CODE_DECODE);
    return false;
  }
  if (fi->g) {
    (void)moqc_group_producer_finish(fi->g);
    moqc_group_producer_del(fi->g);
    fi->g = NULL;
    fi->s->stats.groups_received++;
  }
  if (fi->seq == group && fi->seq != MOQC_GROUP_NONE) return true; /* a skipped group goes on */
  fi->seq = group;
  int rc = moqc_track_producer_create_group(fi->tp, group, &fi->g);
  if (rc == MOQC_ERR_NOMEM) {
    moqc__ss_stop(fi->ss, MOQC_CODE_CANCEL);
    fi_destroy(fi, false, MOQC_CODE_CANCEL);
    moqc__sess_fail(fi->s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return false;
  }
  if (rc != MOQC_OK) fi->g = NULL; /* DUPLICATE (have it), STATE (track ended): skipped */
  return true;
}

static void fin_data(sstream *ss, const uint8_t *p, size_t len, bool fin) {
  moqc_session *s = ss->s;
  ifetch_in *fi = ss->owner;
  if (!fi) {
    uint64_t ctx[2] = {0, (uint64_t)s->version};
    size_t used = 0;
    int r = moqc__ss_hdr_parse(ss, p, len, IETF_FETCH_HDR_MAX, fh_dec, ctx, &used);
    if (r < 0 || (r == 0 && fin)) {
      fin_stop(ss, MOQC_CODE_DECODE);
      return;
    }
    if (r == 0) return;
    fi = fi_find(s, ctx[0]);
    if (!fi || fi->ss) {
      fin_stop(ss, MOQC_CODE_CANCEL);
      return;
    }
    fi->ss = ss;
    ss->owner = fi;
    p += used;
    len -= used;
  }
  while (fi->ss && !fi->obj.dead) {
    if (fi->in_payload) {
      size_t take = len < fi->remaining ? len : (size_t)fi->remaining;
      if (take && fi->skip) {
        p += take;
        len -= take;
        fi->remaining -= take;
      } else if (take) {
        if (moqc_frame_producer_write_copy(fi->f, p, take) < 0) {
          moqc__ss_stop(ss, MOQC_CODE_CANCEL);
          fi_destroy(fi, false, MOQC_CODE_CANCEL);
          return;
        }
        p += take;
        len -= take;
        fi->remaining -= take;
        s->stats.bytes_received += take;
      }
      if (fi->remaining) break;
      if (fi->f) {
        (void)moqc_frame_producer_finish(fi->f);
        s->stats.frames_received++;
        moqc_frame_producer_del(fi->f);
      }
      fi->f = NULL;
      fi->in_payload = fi->skip = false;
      continue;
    }
    if (len == 0 && ss_len(ss) == 0) break;
    fo_ctx c = {.version = s->version, .st = fi->fs};
    size_t used = 0;
    int r = moqc__ss_hdr_parse(ss, p, len, IETF_FETCH_HDR_MAX + 1024, fo_dec, &c, &used);
    bool in_range = fi->tp ? c.o.group >= fi->lo && c.o.group <= fi->hi : c.o.group == fi->seq;
    if (r < 0 || (r > 0 && c.o.kind == MOQC_IETF_FETCH_OBJECT && !in_range)) {
      moqc__ss_stop(ss, MOQC_CODE_DECODE);
      fi_destroy(fi, false, MOQC_CODE_DECODE);
      return;
    }
    if (r == 0) {
      len = 0;
      break;
    }
    fi->fs = c.st;
    p += used;
    len -= used;
    if (c.o.kind != MOQC_IETF_FETCH_OBJECT) continue; /* end of a range */
    if (fi->tp && !fi_range_group(fi, c.o.group)) return;
    if (c.o.size == 0 && c.o.status != MOQC_IETF_STATUS_NORMAL) continue;
    if (!fi->g || (fi->tp && c.o.subgroup != 0)) { /* cached already, or not subgroup 0 */
      fi->in_payload = fi->skip = true;
      fi->remaining = c.o.size;
      continue;
    }
    moqc_frame_info info = {.size = c.o.size, .timestamp = moqc__sess_now(s) / 1000000u};
    int err = 0;
    fi->f = moqc_group_producer_create_frame(fi->g, &info, &err);
    if (!fi->f) {
      moqc__ss_stop(ss, MOQC_CODE_CANCEL);
      fi_destroy(fi, false, err ? moqc_code_from_err(err) : MOQC_CODE_TRANSPORT);
      return;
    }
    fi->in_payload = true;
    fi->remaining = c.o.size;
  }
  if (fin && fi->ss && !fi->obj.dead) {
    ss_set_rx(ss, SS_RX_DONE);
    if (fi->in_payload) fi_destroy(fi, false, MOQC_CODE_WRONG_SIZE);
    else fi_destroy(fi, true, 0);
  }
}

static void fin_end(sstream *ss, bool reset, uint64_t code) {
  ifetch_in *fi = ss->owner;
  if (fi) fi_destroy(fi, !reset, reset ? code : 0);
  else moqc__ss_maybe_forget(ss);
}

const moqc__stream_kind moqc__sk_ietf_fetch_in = {
    .name = "ietf-fetch-in", .data = fin_data, .end = fin_end};

/* 17+: what comes back on our FETCH's request stream. FETCH_OK: noted (the
 * objects come on the FETCH_HEADER stream); REQUEST_ERROR: the fetch fails
 * NOT_FOUND. */
static void fro_on(void *owner, const moqc__ietf_msg *m) {
  ifetch_in *fi = owner;
  if (m->type == MOQC_IETF_FETCH_OK) {
    fi->ok_seen = true;
    return;
  }
  if (m->type == MOQC_IETF_REQUEST_ERROR) {
    if (fi->ss) moqc__ss_stop(fi->ss, MOQC_CODE_CANCEL);
    fi_destroy(fi, false, MOQC_CODE_NOT_FOUND);
    return;
  }
  moqc__sess_fail(fi->s, IETF_PROTOCOL_VIOLATION, "unexpected message on a FETCH stream", false);
}

static int fro_process(sstream *ss) { return moqc__ietf_reqout_read(ss, fro_on); }

/* The publisher's FIN after FETCH_OK ends the request's answers only (the
 * objects go on); its RESET, or a FIN with no answer, ends the fetch. */
static void fro_end(sstream *ss, bool reset, uint64_t code) {
  ifetch_in *fi = ss->owner;
  if (!fi) {
    moqc__ss_release(ss);
    return;
  }
  assert(fi->rq.ss == ss);
  if (!reset && fi->ok_seen) return;
  if (fi->ss) moqc__ss_stop(fi->ss, MOQC_CODE_CANCEL);
  fi_destroy(fi, false, reset ? code : MOQC_CODE_NOT_FOUND);
}

static const moqc__stream_kind sk_ietf_fetch_req_out = {
    .name = "ietf-fetch-req-out", .process = fro_process, .end = fro_end, .request_out = true};

static void fi_open_failed(moqc__ietf_reqout *r) {
  fi_destroy(MOQC_CONTAINER_OF(r, ifetch_in, rq), false, MOQC_CODE_TRANSPORT);
}

/* Our FETCH m (freed): on the control stream (14-16), or (17+) on a request
 * stream of its own. fi may be gone on return (MOQC_OK all the same). */
static int fi_send(ifetch_in *fi, moqc__ietf_msg *m) {
  fi->rq = (moqc__ietf_reqout){
      .s = fi->s, .kind = &sk_ietf_fetch_req_out, .owner = fi, .failed = fi_open_failed};
  int rc = moqc__ietf_request_send(fi->s, &fi->rq, m);
  if (rc != MOQC_OK) fi_destroy(fi, false, MOQC_CODE_TRANSPORT);
  return rc;
}

/* What every FETCH we issue shares: fi gets its request id and joins the
 * session's list (counted as served until it ends); m gets the request id,
 * the track name, the priority and ascending order. */
static void fi_start(moqc_session *s, ifetch_in *fi, moqc__ietf_msg *m, const char *track,
                     uint8_t priority) {
  fi->obj.destroy = fi_free;
  fi->s = s;
  fi->req = moqc__ietf_req_next(s);
  fi->fs.group_order = 1;
  moqc_list_push_back(moqc__ietf_fetch_in_list(s), &fi->link);
  s->n_served++;
  m->request_id = fi->req;
  m->name = (moqc_bytes){(const uint8_t *)track, strlen(track)};
  m->priority = (uint8_t)(255 - priority);
  m->group_order = 1;
  m->has = MOQC_IETF_HAS_PRIORITY | MOQC_IETF_HAS_GROUP_ORDER;
}

/* The application deleted the last consumer of moqc_session_fetch's group:
 * the FETCH is cancelled: FETCH_CANCEL (14-16) or our request stream's
 * STOP_SENDING + FIN (17+, fi_destroy), and STOP_SENDING on the objects'
 * stream if it came. */
static void fi_unused(void *arg) {
  ifetch_in *fi = arg;
  moqc_session *s = fi->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !fi->obj.dead) {
    if (sess_debug_on(s))
      moqc__sess_debug(s, "FETCH %llu (group %llu) cancelled: no consumer",
                       (unsigned long long)fi->req, (unsigned long long)fi->seq);
    if (!moqc__ietf_has_request_streams(s->version)) {
      moqc__ietf_msg *m = moqc__ietf_msg_new(MOQC_IETF_FETCH_CANCEL);
      if (m) m->request_id = fi->req;
      moqc__ietf_ctrl_send(s, m);
    }
    if (!sess_closing(s) && !fi->obj.dead) {
      if (fi->ss) moqc__ss_stop(fi->ss, MOQC_CODE_CANCEL);
      fi_destroy(fi, false, MOQC_CODE_CANCEL);
    }
  }
  moqc__sess_exit(s);
}

moqc_group_consumer *moqc__ietf_fetch_issue(moqc_session *s, const char *path, const char *track,
                                            uint64_t sequence, uint8_t priority, int *err) {
  int rc = MOQC_OK;
  if (s->state != ST_RUNNING) rc = MOQC_ERR_STATE;
  else if (s->n_served >= s->lim.max_subscriptions) rc = MOQC_ERR_BOUNDS;
  moqc__ietf_msg *m = rc ? NULL : moqc__ietf_msg_new(MOQC_IETF_FETCH);
  if (!rc && (!m || moqc__ietf_tuple_from_path(&m->ns, path, strlen(path)) != MOQC_OK))
    rc = m ? MOQC_ERR_INVAL : MOQC_ERR_NOMEM;
  if (rc) {
    moqc_free(m);
    if (err) *err = rc;
    return NULL;
  }
  moqc__sess_enter(s);
  ifetch_in *fi = moqc_calloc(1, sizeof *fi);
  moqc_group_producer *gp = fi ? moqc_group_producer_new(s->env, sequence) : NULL;
  moqc_group_consumer *gc = gp ? moqc_group_producer_consume(gp) : NULL;
  if (!gc) {
    if (gp) moqc_group_producer_del(gp);
    moqc_free(fi);
    moqc_free(m);
    moqc__sess_exit(s);
    if (err) *err = MOQC_ERR_NOMEM;
    return NULL;
  }
  fi->seq = sequence;
  fi->g = gp;
  fi_start(s, fi, m, track, priority);
  (void)moqc_group_producer_set_unused_waker(gp, fi_unused, fi); /* NOMEM: runs to its end */
  m->fetch.type = MOQC_IETF_FETCH_STANDALONE;
  m->fetch.start = (moqc__ietf_loc){sequence, 0};
  m->fetch.end = (moqc__ietf_loc){sequence, 0}; /* end object 0: the whole group */
  rc = fi_send(fi, m);                          /* on failure fi is gone (its group aborted) */
  moqc__sess_exit(s);
  if (rc != MOQC_OK) {
    moqc_group_consumer_del(gc);
    if (err) *err = rc;
    return NULL;
  }
  if (err) *err = MOQC_OK;
  return gc;
}

int moqc__ietf_fetch_range(moqc_session *s, const char *path, moqc_track_producer *tp, uint64_t lo,
                           uint64_t hi, uint8_t priority, uint64_t joining) {
  assert(lo <= hi && hi != MOQC_GROUP_NONE);
  assert(joining == MOQC_GROUP_NONE || hi == MOQC_GROUP_NONE - 1);
  if (s->state != ST_RUNNING) return MOQC_ERR_STATE;
  if (s->n_served >= s->lim.max_subscriptions) return MOQC_ERR_BOUNDS;
  moqc__ietf_msg *m = moqc__ietf_msg_new(MOQC_IETF_FETCH);
  if (!m) return MOQC_ERR_NOMEM;
  if (moqc__ietf_tuple_from_path(&m->ns, path, strlen(path)) != MOQC_OK) {
    moqc_free(m);
    return MOQC_ERR_INVAL;
  }
  ifetch_in *fi = moqc_calloc(1, sizeof *fi);
  moqc_track_producer *clone = fi ? moqc_track_producer_clone(tp) : NULL;
  if (!clone) {
    moqc_free(fi);
    moqc_free(m);
    return MOQC_ERR_NOMEM;
  }
  fi->tp = clone;
  fi->lo = lo;
  fi->hi = hi;
  fi->seq = MOQC_GROUP_NONE;
  fi_start(s, fi, m, moqc_track_producer_name(tp), priority);
  if (joining != MOQC_GROUP_NONE) { /* from group lo up to where the subscription starts */
    m->fetch.type = MOQC_IETF_FETCH_ABSOLUTE_JOINING;
    m->fetch.joining_request = joining;
    m->fetch.joining_start = lo;
  } else {
    m->fetch.type = MOQC_IETF_FETCH_STANDALONE;
    m->fetch.start = (moqc__ietf_loc){lo, 0};
    m->fetch.end = (moqc__ietf_loc){hi, 0}; /* end object 0: the whole last group */
  }
  return fi_send(fi, m);
}

void moqc__ietf_fetch_in_teardown(moqc_session *s) {
  moqc_link *l = moqc__ietf_fetch_in_list(s);
  while (!moqc_list_empty(l))
    fi_destroy(MOQC_CONTAINER_OF(l->next, ifetch_in, link), false, MOQC_CODE_DROPPED);
}
