/* A raw IETF peer for session tests: a moqc server alone on a memlink, and
 * control messages injected / read back by hand (what imquic or another
 * non-moq-dev peer would send). Shared by test_session_ietf_*.c. */
#ifndef MOQC_TEST_SESSION_IETF_RAW_H
#define MOQC_TEST_SESSION_IETF_RAW_H

#include "core/ietf_wire.h"
#include "test_session_common.h"

#define IR_SOLICIT 0x40B5Au /* moq-dev's MoQ Solicit setup parameter */

static int ir_versions[6] __attribute__((unused)) = {14, 15, 16, 17, 18, 19};
#define IR_TEST(fn)                                                                               \
  cmocka_unit_test_prestate(fn, &ir_versions[0]), cmocka_unit_test_prestate(fn, &ir_versions[1]), \
      cmocka_unit_test_prestate(fn, &ir_versions[2])
/* Drafts 17 to 19: a request stream per request (see ir_request). */
#define IR_TEST_REQ(fn)                                                                           \
  cmocka_unit_test_prestate(fn, &ir_versions[3]), cmocka_unit_test_prestate(fn, &ir_versions[4]), \
      cmocka_unit_test_prestate(fn, &ir_versions[5])
/* Drafts 14 to 19. */
#define IR_TEST_ALL(fn) IR_TEST(fn), IR_TEST_REQ(fn)

static inline size_t ir_enc(int v, const moqc__ietf_msg *m, uint8_t *buf, size_t cap) {
  ssize_t n = moqc__ietf_ctrl_encode(buf, cap, v, m);
  assert_true(n > 0);
  return (size_t)n;
}

/* A server session alone (no client session) on env (NULL: a new one) with
 * session limits lim (NULL: none), the publish origin pub (referenced; NULL:
 * a new one) and a new subscribe origin, its requests answered by on_request. */
static inline void ir_server_on(ts_pair *p, int v, const moqc_session_limits *lim, moqc_env *env,
                                moqc_origin *pub,
                                void (*on_request)(void *, moqc_session *,
                                                   const moqc_session_request *)) {
  memset(p, 0, sizeof *p);
  p->env = env ? env : ts_env_new();
  p->link = memlink_new(moqc_env_clock(p->env), NULL);
  char alpn[16];
  if (v == 14) snprintf(alpn, sizeof alpn, "moq-00");
  else snprintf(alpn, sizeof alpn, "moqt-%d", v);
  assert_int_equal(memlink_set_protocol(p->link, alpn), MOQC_OK);
  moqc_origin_config oc = {0, 0};
  p->srv.pub = pub ? moqc_origin_ref(pub) : moqc_origin_new(p->env, &oc);
  p->srv.sub = moqc_origin_new(p->env, &oc);
  moqc_session_config sc;
  memset(&sc, 0, sizeof sc);
  sc.env = p->env;
  sc.is_server = true;
  sc.ctx = &p->srv;
  sc.on_request = on_request;
  sc.on_closed = ts_on_closed;
  if (lim) sc.limits = *lim;
  p->srv.s = moqc_session_new(memlink_server(p->link), &sc);
  assert_non_null(p->srv.s);
}

/* ir_server_on on a new env, without limits, with new origins. */
static inline void ir_server_cb(ts_pair *p, int v,
                                void (*on_request)(void *, moqc_session *,
                                                   const moqc_session_request *)) {
  ir_server_on(p, v, NULL, NULL, NULL, on_request);
}

static inline void ir_server(ts_pair *p, int v) { ir_server_cb(p, v, ts_on_request); }

/* Tear down an ir_server_on session (its env is left alone). */
static inline void ir_close_env(ts_pair *p) {
  moqc_session_del(p->srv.s);
  ts_run_for(p->env, 10 * MS);
  moqc_origin_unref(p->srv.pub);
  moqc_origin_unref(p->srv.sub);
  ts_settle(p->env);
  memlink_del(p->link);
  ts_settle(p->env);
}

static inline void ir_close(ts_pair *p) {
  ir_close_env(p);
  moqc_env_del(p->env);
}

/* CLIENT_SETUP on a new control stream (*ctrl; 17+: SETUP on a uni stream),
 * declaring SOLICIT = solicit when solicit >= 0 (imquic declares nothing: -1). */
static inline void ir_setup(ts_pair *p, int v, int64_t *ctrl, int solicit) {
  static moqc__ietf_msg m;
  memset(&m, 0, sizeof m);
  m.type = v >= 17 ? MOQC_IETF_SETUP : MOQC_IETF_CLIENT_SETUP;
  if (v == 14) {
    m.nversions = 1;
    m.versions[0] = moqc__ietf_version_code(v);
  }
  assert_int_equal(moqc__ietf_params_put_varint(&m.params, MOQC_IETF_SETUP_MAX_REQUEST_ID, 100), 0);
  if (solicit >= 0)
    assert_int_equal(moqc__ietf_params_put_varint(&m.params, IR_SOLICIT, (uint64_t)solicit), 0);
  uint8_t buf[512];
  size_t n = ir_enc(v, &m, buf, sizeof buf);
  assert_int_equal(memlink_inject(p->link, memlink_server(p->link), v < 17, buf, n, false, ctrl),
                   MOQC_OK);
}

/* ir_server, then ir_setup (SOLICIT = solicit, -1: none) and 10 ms. */
static inline void ir_open(ts_pair *p, int v, int64_t *ctrl, int solicit) {
  ir_server(p, v);
  ir_setup(p, v, ctrl, solicit);
  ts_run_for(p->env, 10 * MS);
}

/* ir_open with the broadcast cam/1 (track v) published on the server before
 * the setup. */
static inline void ir_open_pub(ts_pair *p, int v, ts_pub *pub, int64_t *ctrl, int solicit) {
  ir_server(p, v);
  ts_publish(pub, p->env, p->srv.pub, "cam/1", "v", NULL);
  ir_setup(p, v, ctrl, solicit);
  ts_run_for(p->env, 10 * MS);
}

/* A raw server whose client side is handled by h, publishing cam/1 (track
 * v) with group 0 = frames[0..n), finished, and group 1 still being written
 * (returned: the caller deletes it), then ir_setup (SOLICIT 1) and 10 ms. */
static inline moqc_group_producer *ir_open_growing(ts_pair *p, int v,
                                                   const moqc_transport_handler *h, ts_pub *pub,
                                                   int64_t *ctrl, const char *const *frames,
                                                   size_t n) {
  ir_server(p, v);
  moqc_transport_set_handler(memlink_client(p->link), h, NULL);
  ts_publish(pub, p->env, p->srv.pub, "cam/1", "v", NULL);
  ts_group(pub->tp, frames, n, true);
  moqc_group_producer *open = moqc_track_producer_append_group(pub->tp);
  assert_non_null(open);
  ir_setup(p, v, ctrl, 1);
  ts_run_for(p->env, 10 * MS);
  return open;
}

/* Inject one control message on an injected stream. */
static inline void ir_send(ts_pair *p, int v, int64_t id, const moqc__ietf_msg *m) {
  uint8_t buf[1024];
  size_t n = ir_enc(v, m, buf, sizeof buf);
  assert_int_equal(memlink_inject_write(p->link, memlink_server(p->link), id, buf, n, false),
                   MOQC_OK);
}

/* The control messages the server sent back on stream id, decoded: up to
 * max into out (they borrow the link's buffer); returns how many. Every byte
 * must decode. */
static inline size_t ir_read(ts_pair *p, int v, int64_t id, moqc__ietf_msg *out, size_t max) {
  size_t len = 0, k = 0, off = 0;
  const uint8_t *b = memlink_inject_received(p->link, memlink_server(p->link), id, &len);
  while (off < len && k < max) {
    ssize_t n = moqc__ietf_ctrl_decode(&out[k], v, b + off, len - off);
    assert_true(n > 0);
    off += (size_t)n;
    k++;
  }
  assert_int_equal(off, len);
  return k;
}

/* Send a request: on the control stream ctrl (14-16), or as the first
 * message of a new bidi request stream (17+). Returns the stream it went on. */
static inline int64_t ir_request(ts_pair *p, int v, int64_t ctrl, const moqc__ietf_msg *m) {
  if (v < 17) {
    ir_send(p, v, ctrl, m);
    return ctrl;
  }
  uint8_t buf[1024];
  size_t n = ir_enc(v, m, buf, sizeof buf);
  int64_t id = -1;
  assert_int_equal(memlink_inject(p->link, memlink_server(p->link), true, buf, n, false, &id),
                   MOQC_OK);
  return id;
}

/* The request messages as the tests send them (m is cleared first; ns and
 * name are borrowed until m is encoded). */

/* SUBSCRIBE req for ns/name from the largest object, with Forward forward. */
static inline void ir_subscribe_msg(moqc__ietf_msg *m, uint64_t req, const char *ns,
                                    const char *name, uint8_t forward) {
  memset(m, 0, sizeof *m);
  m->type = MOQC_IETF_SUBSCRIBE;
  m->request_id = req;
  assert_int_equal(moqc__ietf_tuple_from_path(&m->ns, ns, strlen(ns)), MOQC_OK);
  m->name = (moqc_bytes){(const uint8_t *)name, strlen(name)};
  m->has = MOQC_IETF_HAS_FORWARD | MOQC_IETF_HAS_FILTER | MOQC_IETF_HAS_PRIORITY |
           MOQC_IETF_HAS_GROUP_ORDER;
  m->forward = forward;
  m->filter.type = MOQC_IETF_FILTER_LARGEST_OBJECT;
}

/* PUBLISH req of ns/name on track alias alias, ascending, Forward 1. */
static inline void ir_publish_msg(moqc__ietf_msg *m, uint64_t req, const char *ns, const char *name,
                                  uint64_t alias) {
  memset(m, 0, sizeof *m);
  m->type = MOQC_IETF_PUBLISH;
  m->request_id = req;
  assert_int_equal(moqc__ietf_tuple_from_path(&m->ns, ns, strlen(ns)), MOQC_OK);
  m->name = (moqc_bytes){(const uint8_t *)name, strlen(name)};
  m->track_alias = alias;
  m->has = MOQC_IETF_HAS_GROUP_ORDER | MOQC_IETF_HAS_FORWARD;
  m->group_order = 1;
  m->forward = 1;
}

/* ir_open, then a PUBLISH of cam/9 track v (request 0, alias 7) in m, until the
 * broadcast is announced on the server. Returns the request's stream. */
static inline int64_t ir_open_published(ts_pair *p, int v, int64_t *ctrl, moqc__ietf_msg *m) {
  ir_open(p, v, ctrl, -1);
  ir_publish_msg(m, 0, "cam/9", "v", 7);
  int64_t sid = ir_request(p, v, *ctrl, m);
  ts_run_for(p->env, 10 * MS);
  assert_true(ts_wait_announce(p->env, p->srv.sub, "cam/9", 100 * MS));
  return sid;
}

/* PUBLISH_NAMESPACE req of ns. */
static inline void ir_pns_msg(moqc__ietf_msg *m, uint64_t req, const char *ns) {
  memset(m, 0, sizeof *m);
  m->type = MOQC_IETF_PUBLISH_NAMESPACE;
  m->request_id = req;
  assert_int_equal(moqc__ietf_tuple_from_path(&m->ns, ns, strlen(ns)), MOQC_OK);
}

/* Standalone FETCH req of groups [g0, g1] of ns/name, ascending. */
static inline void ir_fetch_msg(moqc__ietf_msg *m, uint64_t req, const char *ns, const char *name,
                                uint64_t g0, uint64_t g1) {
  memset(m, 0, sizeof *m);
  m->type = MOQC_IETF_FETCH;
  m->request_id = req;
  m->has = MOQC_IETF_HAS_PRIORITY | MOQC_IETF_HAS_GROUP_ORDER;
  m->group_order = 1;
  m->fetch.type = MOQC_IETF_FETCH_STANDALONE;
  assert_int_equal(moqc__ietf_tuple_from_path(&m->ns, ns, strlen(ns)), MOQC_OK);
  m->name = (moqc_bytes){(const uint8_t *)name, strlen(name)};
  m->fetch.start = (moqc__ietf_loc){g0, 0};
  m->fetch.end = (moqc__ietf_loc){g1, 0};
}

/* ir_request of ir_fetch_msg; the stream it went on. */
static inline int64_t ir_fetch_range(ts_pair *p, int v, int64_t ctrl, uint64_t req, const char *ns,
                                     const char *name, uint64_t g0, uint64_t g1) {
  static moqc__ietf_msg m;
  ir_fetch_msg(&m, req, ns, name, g0, g1);
  return ir_request(p, v, ctrl, &m);
}

/* The answer to request req sent on stream sid (ir_request): 14-16 the
 * message on the control stream with that request id (not the setup);
 * 17+ the first message on the request stream. NULL if none yet. Valid
 * until the next ir_reply. */
static inline const moqc__ietf_msg *ir_reply(ts_pair *p, int v, int64_t sid, uint64_t req) {
  static moqc__ietf_msg got[32];
  size_t n = ir_read(p, v, sid, got, 32);
  if (v >= 17) return n ? &got[0] : NULL;
  for (size_t i = 0; i < n; i++)
    if (got[i].type != MOQC_IETF_SERVER_SETUP && got[i].request_id == req) return &got[i];
  return NULL;
}

/* FETCH_OK came back for request req sent on sid. */
static inline void ir_expect_fetch_ok(ts_pair *p, int v, int64_t sid, uint64_t req) {
  const moqc__ietf_msg *r = ir_reply(p, v, sid, req);
  assert_non_null(r);
  assert_int_equal(r->type, MOQC_IETF_FETCH_OK);
}

/* 17+: what the server did to request stream sid: reset (reset), or FIN and
 * no reset. Nothing on 14-16 (the control stream carries the request). */
static inline void ir_expect_req_end(ts_pair *p, int v, int64_t sid, bool reset) {
  if (v < 17) return;
  memlink_inject_info info;
  assert_int_equal(memlink_inject_state(p->link, memlink_server(p->link), sid, &info), MOQC_OK);
  assert_int_equal(info.reset, reset);
  if (!reset) assert_true(info.fin);
}

/* TRACK_STATUS req of path/name (14: with the subscription fields it
 * carries there); the stream it went on (ir_request). */
static inline int64_t ir_track_status(ts_pair *p, int v, int64_t ctrl, uint64_t req,
                                      const char *path, const char *name) {
  static moqc__ietf_msg m;
  memset(&m, 0, sizeof m);
  m.type = MOQC_IETF_TRACK_STATUS;
  m.request_id = req;
  assert_int_equal(moqc__ietf_tuple_from_path(&m.ns, path, strlen(path)), MOQC_OK);
  m.name = (moqc_bytes){(const uint8_t *)name, strlen(name)};
  if (v == 14) {
    m.has = MOQC_IETF_HAS_PRIORITY | MOQC_IETF_HAS_GROUP_ORDER | MOQC_IETF_HAS_FORWARD |
            MOQC_IETF_HAS_FILTER;
    m.forward = 1;
    m.filter.type = MOQC_IETF_FILTER_LARGEST_OBJECT;
  }
  return ir_request(p, v, ctrl, &m);
}

/* The raw peer ends its half of injected stream sid: RESET with code
 * (reset), or FIN. */
static inline void ir_end(ts_pair *p, int64_t sid, bool reset, uint64_t code) {
  int rc = reset ? memlink_inject_reset(p->link, memlink_server(p->link), sid, code)
                 : memlink_inject_write(p->link, memlink_server(p->link), sid, NULL, 0, true);
  assert_int_equal(rc, MOQC_OK);
}

/* What the server did to an injected stream (FIN, reset, stop). */
static inline memlink_inject_info ir_state(ts_pair *p, int64_t sid) {
  memlink_inject_info info;
  assert_int_equal(memlink_inject_state(p->link, memlink_server(p->link), sid, &info), MOQC_OK);
  return info;
}

/* ir_server_on (no limits) with handler h on the raw client's transport (it
 * sees what the server opens toward it), then ir_setup (SOLICIT = solicit,
 * -1: none) and 10 ms. */
static inline void ir_server_rx_on(ts_pair *p, int v, moqc_env *env, moqc_origin *pub,
                                   const moqc_transport_handler *h, int64_t *ctrl, int solicit) {
  ir_server_on(p, v, NULL, env, pub, ts_on_request);
  moqc_transport_set_handler(memlink_client(p->link), h, NULL);
  ir_setup(p, v, ctrl, solicit);
  ts_run_for(p->env, 10 * MS);
}

/* ir_server_rx_on on a new env with new origins, SOLICIT 1. */
static inline void ir_server_rx(ts_pair *p, int v, const moqc_transport_handler *h, int64_t *ctrl) {
  ir_server_rx_on(p, v, NULL, NULL, h, ctrl, 1);
}

/* The raw client writes on stream id of its own transport (a stream it
 * opened there, or one the server opened toward it). */
static inline void ir_write_on(ts_pair *p, int64_t id, const void *b, size_t n, bool fin) {
  moqc_transport *t = memlink_client(p->link);
  moqc_slice sl = MOQC_SLICE_EMPTY;
  if (n) {
    sl.buf = moqc_buf_copy(b, n);
    assert_non_null(sl.buf);
    sl.len = n;
  }
  assert_int_equal(t->ops->write(t, id, &sl, n ? 1 : 0, fin), MOQC_OK);
  moqc_slice_release(&sl);
}

/* ir_write_on with the message m. */
static inline void ir_msg_on(ts_pair *p, int v, int64_t id, const moqc__ietf_msg *m, bool fin) {
  uint8_t buf[1024];
  ir_write_on(p, id, buf, ir_enc(v, m, buf, sizeof buf), fin);
}

/* How many of msgs[0..n) have this type. */
static inline size_t ir_count(const moqc__ietf_msg *msgs, size_t n, uint64_t type) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++) c += msgs[i].type == type;
  return c;
}

/* A stream the server opened toward the raw peer, captured whole. */
typedef struct ir_rx_stream {
  int64_t id;
  uint8_t buf[8192];
  size_t len;
  bool fin;
} ir_rx_stream;

/* Appends p to the capture of stream id in rx[0..*n) (a new entry while
 * fewer than cap are held; false when the stream or its bytes do not fit). */
static inline bool ir_rx_add(ir_rx_stream *rx, size_t *n, size_t cap, int64_t id, const uint8_t *p,
                             size_t len, bool fin) {
  ir_rx_stream *r = NULL;
  for (size_t i = 0; i < *n; i++)
    if (rx[i].id == id) r = &rx[i];
  if (!r) {
    if (*n == cap) return false;
    r = &rx[(*n)++];
    memset(r, 0, sizeof *r);
    r->id = id;
  }
  if (r->len + len > sizeof r->buf) return false;
  memcpy(r->buf + r->len, p, len);
  r->len += len;
  r->fin |= fin;
  return true;
}

/* The FETCH stream of request req among rx[0..n) (the newest), or NULL. */
static inline ir_rx_stream *ir_fetch_stream(ir_rx_stream *rx, size_t n, int v, uint64_t req) {
  ir_rx_stream *r = NULL;
  for (size_t i = 0; i < n; i++) {
    uint64_t id = UINT64_MAX;
    if (rx[i].len && rx[i].buf[0] == MOQC_IETF_FETCH_HEADER &&
        moqc__ietf_fetch_header_decode(&id, v, rx[i].buf, rx[i].len) > 0 && id == req)
      r = &rx[i];
  }
  return r;
}

/* FETCH stream r is finished and holds exactly the objects want[0..n)
 * ((group, object) pairs, in order), each in subgroup 0 with the payload
 * objs[object] (objs has nobj entries); 15+: the Subgroup ID is always
 * written (flags low bits 3), as imquic reads it. */
static inline void ir_expect_fetch_objects(const ir_rx_stream *r, int v, const uint64_t (*want)[2],
                                           size_t n, const char *const *objs, size_t nobj) {
  assert_non_null(r);
  assert_true(r->fin);
  uint64_t id;
  ssize_t k = moqc__ietf_fetch_header_decode(&id, v, r->buf, r->len);
  assert_true(k > 0);
  size_t off = (size_t)k, got = 0;
  if (v >= 15 && n > 0) assert_int_equal(r->buf[off] & 0x03, 0x03);
  moqc__ietf_fetch_state st;
  memset(&st, 0, sizeof st);
  st.group_order = 1;
  while (off < r->len) {
    moqc__ietf_fetch_object o;
    k = moqc__ietf_fetch_object_decode(&o, v, &st, r->buf + off, r->len - off);
    assert_true(k > 0);
    off += (size_t)k;
    assert_true(got < n);
    assert_int_equal(o.group, want[got][0]);
    assert_int_equal(o.object, want[got][1]);
    assert_int_equal(o.subgroup, 0);
    assert_true(o.object < nobj);
    assert_int_equal(o.size, strlen(objs[o.object]));
    assert_true(off + o.size <= r->len);
    assert_memory_equal(r->buf + off, objs[o.object], o.size);
    off += o.size;
    got++;
  }
  assert_int_equal(got, n);
}

/* The finished FETCH stream of request req among rx[0..n) holds exactly the
 * groups [g0, g1], each as the objects objs[0..nobj) in order
 * (ir_expect_fetch_objects). */
static inline void ir_expect_fetched(ir_rx_stream *rx, size_t n, int v, uint64_t req, uint64_t g0,
                                     uint64_t g1, const char *const *objs, size_t nobj) {
  assert_true(g0 <= g1 && nobj > 0);
  size_t count = (size_t)(g1 - g0 + 1) * nobj;
  uint64_t(*want)[2] = calloc(count, sizeof *want);
  assert_non_null(want);
  for (size_t i = 0; i < count; i++) {
    want[i][0] = g0 + i / nobj;
    want[i][1] = i % nobj;
  }
  ir_expect_fetch_objects(ir_fetch_stream(rx, n, v, req), v, (const uint64_t(*)[2])want, count,
                          objs, nobj);
  free(want);
}

#endif
