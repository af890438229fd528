/* Helpers shared by the session tests (tests/unit/test_session_*.c): a pair
 * of sessions over the in-memory transport, driven in virtual time. */
#ifndef MOQC_TEST_SESSION_COMMON_H
#define MOQC_TEST_SESSION_COMMON_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "memtransport.h"
#include "moqc/error.h"
#include "moqc/model.h"
#include "moqc/session.h"

#define MS ((uint64_t)1000000)
#define SEC ((uint64_t)1000000000)

/* Every test runs once per version: the version rides in cmocka's state. */
static int ts_versions[3] = {3, 4, 5};
#define TS_TEST3(fn)                                                                              \
  cmocka_unit_test_prestate(fn, &ts_versions[0]), cmocka_unit_test_prestate(fn, &ts_versions[1]), \
      cmocka_unit_test_prestate(fn, &ts_versions[2])
static inline int ts_version(void **state) { return *(int *)*state; }

/* ---- driving time ------------------------------------------------------------------- */

static inline void ts_settle(moqc_env *env) {
  for (int i = 0; i < 1000 && moqc_env_pending(env); i++) moqc_env_run(env);
}

/* Run timers and wakers until virtual time `until`. */
static inline void ts_run_until(moqc_env *env, uint64_t until) {
  moqc_clock *c = moqc_env_clock(env);
  for (int i = 0; i < 10000000; i++) {
    ts_settle(env);
    uint64_t next = moqc_clock_next(c);
    if (next > until) break;
    moqc_clock_advance(c, next);
  }
  moqc_clock_advance(c, until);
  ts_settle(env);
}

static inline void ts_run_for(moqc_env *env, uint64_t ns) {
  ts_run_until(env, moqc_clock_now(moqc_env_clock(env)) + ns);
}

/* ---- a client/server pair ------------------------------------------------------------- */

typedef struct ts_side {
  moqc_session *s;
  moqc_origin *pub, *sub;
  bool closed, by_peer;
  uint64_t code;
  char reason[128];
  int requests;
  moqc_session_request req;
  char req_path[256];
  int debug_n;           /* on_debug messages received */
  int debug_old_slow;    /* ... reporting an Old reset of a slow subscriber */
  int debug_old_expired; /* ... reporting an Old reset by expiry */
  char debug_last[256];
} ts_side;

typedef struct ts_pair {
  moqc_env *env;
  memlink *link;
  int version;
  ts_side cli, srv;
  bool auto_accept;
} ts_pair;

static inline void ts_on_closed(void *ctx, moqc_session *s, uint64_t code, const char *reason,
                                bool by_peer) {
  ts_side *side = ctx;
  (void)s;
  side->closed = true;
  side->code = code;
  side->by_peer = by_peer;
  snprintf(side->reason, sizeof side->reason, "%s", reason ? reason : "");
}

static inline void ts_on_debug(void *ctx, moqc_session *s, const char *msg) {
  ts_side *side = ctx;
  (void)s;
  assert_non_null(msg);
  side->debug_n++;
  if (strstr(msg, "as Old: slow subscriber")) side->debug_old_slow++;
  if (strstr(msg, "as Old: expired")) side->debug_old_expired++;
  snprintf(side->debug_last, sizeof side->debug_last, "%s", msg);
}

static inline void ts_on_request(void *ctx, moqc_session *s, const moqc_session_request *req) {
  ts_side *side = ctx;
  side->requests++;
  side->req = *req;
  snprintf(side->req_path, sizeof side->req_path, "%s", req->path ? req->path : "");
  side->req.path = side->req_path;
  assert_int_equal(moqc_session_accept(s, side->pub, side->sub), MOQC_OK);
}

typedef struct ts_opts {
  memlink_config link;
  bool have_link;
  moqc_session_limits cli_limits, srv_limits;
  bool cli_probe;
  const char *cli_path;
  bool no_cli_pub, no_cli_sub, no_srv_pub, no_srv_sub;
  moqc_origin *srv_pub_shared; /* use this (referenced) as the server's publish origin */
  moqc_origin *srv_sub_shared; /* ... and this as its subscribe origin */
  uint64_t sub_linger_ns;      /* linger of both subscribe origins */
} ts_opts;

/* A pair on an existing env (several pairs may share one env). */
static inline void ts_pair_open_env(ts_pair *p, moqc_env *env, int version, const ts_opts *o) {
  memset(p, 0, sizeof *p);
  ts_opts def;
  memset(&def, 0, sizeof def);
  if (!o) o = &def;
  p->env = env;
  p->version = version;
  memlink_config lc = MEMLINK_CONFIG_DEFAULT;
  if (o->have_link) lc = o->link;
  p->link = memlink_new(moqc_env_clock(env), &lc);
  assert_non_null(p->link);
  char alpn[32];
  if (version == 14) snprintf(alpn, sizeof alpn, "moq-00"); /* IETF drafts: their ALPNs */
  else if (version > 14) snprintf(alpn, sizeof alpn, "moqt-%d", version);
  else snprintf(alpn, sizeof alpn, "moq-lite-%02d", version);
  assert_int_equal(memlink_set_protocol(p->link, alpn), MOQC_OK);
  assert_int_equal(memlink_set_path(p->link, "/anon"), MOQC_OK);

  moqc_origin_config oc = {0, 0};
  moqc_origin_config soc = {0, o->sub_linger_ns};
  if (!o->no_cli_pub) p->cli.pub = moqc_origin_new(env, &oc);
  if (!o->no_cli_sub) p->cli.sub = moqc_origin_new(env, &soc);
  if (o->srv_pub_shared) p->srv.pub = moqc_origin_ref(o->srv_pub_shared);
  else if (!o->no_srv_pub) p->srv.pub = moqc_origin_new(env, &oc);
  if (o->srv_sub_shared) p->srv.sub = moqc_origin_ref(o->srv_sub_shared);
  else if (!o->no_srv_sub) p->srv.sub = moqc_origin_new(env, &soc);

  moqc_session_config sc;
  memset(&sc, 0, sizeof sc);
  sc.env = env;
  sc.is_server = true;
  sc.ctx = &p->srv;
  sc.on_request = ts_on_request;
  sc.on_closed = ts_on_closed;
  sc.on_debug = ts_on_debug;
  sc.limits = o->srv_limits;
  p->srv.s = moqc_session_new(memlink_server(p->link), &sc);
  assert_non_null(p->srv.s);

  memset(&sc, 0, sizeof sc);
  sc.env = env;
  sc.is_server = false;
  sc.ctx = &p->cli;
  sc.on_closed = ts_on_closed;
  sc.on_debug = ts_on_debug;
  sc.limits = o->cli_limits;
  sc.probe = o->cli_probe;
  sc.path = o->cli_path;
  p->cli.s = moqc_session_new(memlink_client(p->link), &sc);
  assert_non_null(p->cli.s);
  assert_int_equal(moqc_session_start(p->cli.s, p->cli.pub, p->cli.sub), MOQC_OK);
  for (int i = 0; i < 500 && p->srv.requests == 0; i++) ts_run_for(env, 1 * MS);
  assert_int_equal(p->srv.requests, 1);
}

static inline moqc_env *ts_env_new(void) {
  moqc_env_config ec = {1 * SEC, 0};
  moqc_env *env = moqc_env_new(&ec);
  assert_non_null(env);
  return env;
}

static inline void ts_pair_open(ts_pair *p, int version, const ts_opts *o) {
  ts_pair_open_env(p, ts_env_new(), version, o);
}

/* Tear down a pair (the env is left alone). */
static inline void ts_pair_close_env(ts_pair *p) {
  moqc_session_del(p->cli.s);
  moqc_session_del(p->srv.s);
  ts_run_for(p->env, 10 * MS);
  if (p->cli.pub) moqc_origin_unref(p->cli.pub);
  if (p->cli.sub) moqc_origin_unref(p->cli.sub);
  if (p->srv.pub) moqc_origin_unref(p->srv.pub);
  if (p->srv.sub) moqc_origin_unref(p->srv.sub);
  ts_settle(p->env);
  memlink_del(p->link);
  ts_settle(p->env);
}

static inline void ts_pair_close(ts_pair *p) {
  moqc_env *env = p->env;
  ts_pair_close_env(p);
  moqc_env_del(env);
}

/* ---- publishing / consuming ---------------------------------------------------------------- */

typedef struct ts_pub {
  moqc_broadcast_producer *bp;
  moqc_track_producer *tp;
  bool tp_saw_consumer; /* for tests that watch the track's demand */
} ts_pub;

/* Publish broadcast `path` with one track `name` into origin o. */
static inline void ts_publish(ts_pub *pub, moqc_env *env, moqc_origin *o, const char *path,
                              const char *name, const moqc_track_info *info) {
  pub->bp = moqc_broadcast_producer_new(env);
  assert_non_null(pub->bp);
  int err = 0;
  pub->tp = name ? moqc_broadcast_producer_create_track(pub->bp, name, info, &err) : NULL;
  if (name) assert_non_null(pub->tp);
  moqc_broadcast_consumer *bc = moqc_broadcast_producer_consume(pub->bp);
  assert_int_equal(moqc_origin_publish(o, path, bc, NULL), MOQC_OK);
  moqc_broadcast_consumer_del(bc);
}

static inline void ts_pub_del(ts_pub *pub) {
  if (pub->tp) moqc_track_producer_del(pub->tp);
  if (pub->bp) moqc_broadcast_producer_del(pub->bp);
  memset(pub, 0, sizeof *pub);
}

/* Subscribe to path/name on the subscribe origin o. */
static inline moqc_track_consumer *ts_subscribe(moqc_origin *o, const char *path, const char *name,
                                                const moqc_subscription *sub,
                                                moqc_broadcast_consumer **bc_out) {
  int err = 0;
  moqc_broadcast_consumer *bc = moqc_origin_request(o, path, &err);
  assert_non_null(bc);
  moqc_track_consumer *tc = moqc_broadcast_consumer_subscribe(bc, name, sub, &err);
  assert_non_null(tc);
  if (bc_out) *bc_out = bc;
  else moqc_broadcast_consumer_del(bc);
  return tc;
}

/* Write one group of frames (each a NUL-terminated string). */
static inline uint64_t ts_group(moqc_track_producer *tp, const char *const *frames, size_t n,
                                bool finish) {
  moqc_group_producer *g = moqc_track_producer_append_group(tp);
  assert_non_null(g);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(
        moqc_group_producer_write_frame_copy(g, frames[i], strlen(frames[i]), 1000 + i), MOQC_OK);
  if (finish) assert_int_equal(moqc_group_producer_finish(g), MOQC_OK);
  uint64_t seq = moqc_group_producer_sequence(g);
  moqc_group_producer_del(g);
  return seq;
}

/* Group g holds exactly these frames (each a NUL-terminated string), finished. */
static inline void ts_expect_frames(moqc_group_consumer *g, const char *const *frames, size_t n) {
  for (size_t i = 0; i < n; i++) {
    moqc_frame f;
    assert_int_equal(moqc_group_consumer_read_frame(g, &f), MOQC_OK);
    assert_int_equal(f.payload.len, strlen(frames[i]));
    if (f.payload.len) assert_memory_equal(moqc_slice_ptr(&f.payload), frames[i], f.payload.len);
    moqc_slice_release(&f.payload);
  }
  moqc_frame f;
  assert_int_equal(moqc_group_consumer_read_frame(g, &f), MOQC_ERR_CLOSED);
}

/* Receive the next group and check it holds exactly these frames, finished. */
static inline void ts_expect_group(moqc_track_consumer *tc, uint64_t seq, const char *const *frames,
                                   size_t n) {
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_OK);
  assert_int_equal(moqc_group_consumer_sequence(g), seq);
  ts_expect_frames(g, frames, n);
  moqc_group_consumer_del(g);
}

/* Wait (in virtual time, at most max_ns) until session s accepted n SUBSCRIBEs
 * in total. */
static inline bool ts_wait_serving(moqc_env *env, moqc_session *s, uint64_t n, uint64_t max_ns) {
  for (uint64_t t = 0; t < max_ns; t += MS) {
    if (moqc_session_get_stats(s).subscribes_served >= n) return true;
    ts_run_for(env, 1 * MS);
  }
  return moqc_session_get_stats(s).subscribes_served >= n;
}

/* Wait (in virtual time) for path to be announced in origin o. */
static inline bool ts_wait_announce(moqc_env *env, moqc_origin *o, const char *path,
                                    uint64_t max_ns) {
  moqc_origin_consumer *c = moqc_origin_consume(o, "");
  assert_non_null(c);
  uint64_t end = moqc_clock_now(moqc_env_clock(env)) + max_ns;
  bool found = false;
  for (;;) {
    moqc_announce a;
    int rc;
    while ((rc = moqc_origin_consumer_next(c, &a)) == MOQC_OK) {
      if (strcmp(a.path, path) == 0) found = a.active;
    }
    if (found || moqc_clock_now(moqc_env_clock(env)) >= end) break;
    ts_run_for(env, 1 * MS);
  }
  moqc_origin_consumer_del(c);
  return found;
}

/* Publish path/name on p's server and subscribe to it (default subscription)
 * from p's client: the announce arrives within 100 ms, the server serves the
 * SUBSCRIBE within 1 s. Returns the client's consumer. */
static inline moqc_track_consumer *ts_publish_subscribe(ts_pair *p, ts_pub *pub, const char *path,
                                                        const char *name) {
  ts_publish(pub, p->env, p->srv.pub, path, name, NULL);
  assert_true(ts_wait_announce(p->env, p->cli.sub, path, 100 * MS));
  moqc_track_consumer *tc = ts_subscribe(p->cli.sub, path, name, NULL, NULL);
  assert_true(ts_wait_serving(p->env, p->srv.s, 1, 1 * SEC));
  return tc;
}

/* ---- relays: a pair whose server publishes another pair's origin ------------------------- */

/* An upstream pair (version v) on env whose publisher holds groups
 * 0..ngroups-1 of b/t, each the frames[0..n); b is announced at its client
 * (u->cli.sub, the relay's origin). */
static inline void ts_up_open_opts(ts_pair *u, moqc_env *env, int v, ts_pub *pub,
                                   const char *const *frames, size_t n, int ngroups,
                                   const ts_opts *o) {
  ts_pair_open_env(u, env, v, o);
  ts_publish(pub, env, u->srv.pub, "b", "t", NULL);
  for (int g = 0; g < ngroups; g++) ts_group(pub->tp, frames, n, true);
  assert_true(ts_wait_announce(env, u->cli.sub, "b", 100 * MS));
}

static inline void ts_up_open(ts_pair *u, moqc_env *env, int v, ts_pub *pub,
                              const char *const *frames, size_t n, int ngroups) {
  ts_up_open_opts(u, env, v, pub, frames, n, ngroups, NULL);
}

/* The relay's live subscription to b/t: u's client subscribes (default
 * subscription), then 20 ms. */
static inline moqc_track_consumer *ts_up_live(ts_pair *u) {
  moqc_track_consumer *live = ts_subscribe(u->cli.sub, "b", "t", NULL, NULL);
  ts_run_for(u->env, 20 * MS);
  return live;
}

static inline void ts_up_close(ts_pair *u, ts_pub *pub) {
  ts_pub_del(pub);
  ts_pair_close_env(u);
  ts_settle(u->env);
}

/* A moq-lite-05 client FETCHes group seq of b/t from a server publishing the
 * origin relay (moqc_session_fetch): it gets exactly frames[0..n), finished,
 * within 60 ms, and its session stays open. */
static inline void ts_lite_fetch_via(moqc_env *env, moqc_origin *relay, uint64_t seq,
                                     const char *const *frames, size_t n) {
  ts_opts o;
  memset(&o, 0, sizeof o);
  o.srv_pub_shared = relay;
  ts_pair d;
  ts_pair_open_env(&d, env, MOQC_SESSION_LITE_05, &o);
  assert_true(ts_wait_announce(env, d.cli.sub, "b", 100 * MS));
  int err = -1;
  moqc_group_consumer *gc = moqc_session_fetch(d.cli.s, "b", "t", seq, 0, &err);
  assert_non_null(gc);
  ts_run_for(env, 60 * MS);
  assert_int_equal(moqc_group_consumer_sequence(gc), seq);
  ts_expect_frames(gc, frames, n);
  moqc_group_consumer_del(gc);
  assert_false(d.cli.closed);
  ts_pair_close_env(&d);
}

#endif
