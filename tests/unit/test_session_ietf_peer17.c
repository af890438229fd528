/* IETF sessions on drafts 17 and 18 against a peer that is not moq-dev:
 * what Meetecho's imquic found on those drafts (docs/interop.md). A moqc
 * server alone on the memtransport; the client's SETUP uni stream and its
 * requests are injected by hand, and what the server sends on its own uni
 * streams is captured by a handler on the client transport. */
#include "test_session_ietf_raw.h"

static int ir17_versions[2] = {17, 18};
#define IR17_TEST(fn) \
  cmocka_unit_test_prestate(fn, &ir17_versions[0]), cmocka_unit_test_prestate(fn, &ir17_versions[1])

/* The bytes the server sent on the one uni stream it opened (its SETUP
 * stream; QUIC stream ids, bit 1 set on uni streams), and on each bidi
 * stream it opened (its requests). */
typedef struct cap_bidi {
  int64_t id;
  uint8_t buf[512];
  size_t len;
  bool fin;
  bool reset; /* the server reset its half */
} cap_bidi;

typedef struct uni_cap {
  uint8_t buf[2048];
  size_t len;
  int64_t id;
  int streams;
  cap_bidi bidi[8];
  int nbidi;
  int64_t gid;     /* the first group stream (the second uni stream), -1: none */
  uint8_t g1[256]; /* its first chunk of data, as delivered */
  size_t g1_len;
  size_t g_chunks;
} uni_cap;

static void cap_opened(void *ctx, int64_t id) {
  uni_cap *c = ctx;
  if (!(id & 2)) {
    assert_true(c->nbidi < 8);
    c->bidi[c->nbidi++].id = id;
    return;
  }
  if (c->streams++ == 0) c->id = id;
  else if (c->streams == 2) c->gid = id;
}

static void cap_data(void *ctx, int64_t id, const uint8_t *p, size_t len, bool fin) {
  uni_cap *c = ctx;
  if (!(id & 2)) {
    for (int i = 0; i < c->nbidi; i++) {
      cap_bidi *b = &c->bidi[i];
      if (b->id != id) continue;
      assert_true(len <= sizeof b->buf - b->len);
      memcpy(b->buf + b->len, p, len);
      b->len += len;
      b->fin |= fin;
      return;
    }
    fail();
  }
  if (id != c->id) { /* a group stream */
    if (id == c->gid && len && c->g_chunks++ == 0) {
      assert_true(len <= sizeof c->g1);
      memcpy(c->g1, p, len);
      c->g1_len = len;
    }
    return;
  }
  assert_true(len <= sizeof c->buf - c->len);
  memcpy(c->buf + c->len, p, len);
  c->len += len;
}

static void cap_reset(void *ctx, int64_t id, uint64_t code) {
  (void)code;
  uni_cap *c = ctx;
  for (int i = 0; i < c->nbidi; i++)
    if (c->bidi[i].id == id) c->bidi[i].reset = true;
}

static const moqc_transport_handler cap_handler = {
    .stream_opened = cap_opened, .stream_data = cap_data, .stream_reset = cap_reset};

/* Decode every message in the capture (every byte must decode); returns how many. */
static size_t cap_read(const uni_cap *c, int v, moqc__ietf_msg *out, size_t max) {
  size_t off = 0, k = 0;
  while (off < c->len && k < max) {
    ssize_t n = moqc__ietf_ctrl_decode(&out[k], v, c->buf + off, c->len - off);
    assert_true(n > 0);
    off += (size_t)n;
    k++;
  }
  assert_int_equal(off, c->len);
  return k;
}

/* The client's SETUP on an injected uni stream (*id), declaring nothing
 * (imquic), or SOLICIT = 1 (solicit: moq-dev, moqc). */
static void setup17(ts_pair *p, int v, int64_t *id, bool solicit) {
  static moqc__ietf_msg m;
  memset(&m, 0, sizeof m);
  m.type = MOQC_IETF_SETUP;
  if (solicit) assert_int_equal(moqc__ietf_params_put_varint(&m.params, IR_SOLICIT, 1), 0);
  uint8_t buf[256];
  size_t n = ir_enc(v, &m, buf, sizeof buf);
  assert_int_equal(memlink_inject(p->link, memlink_server(p->link), false, buf, n, false, id),
                   MOQC_OK);
}

/* ir_server with the raw client's uni and bidi streams captured into *cap
 * (cleared). */
static void cap_server(ts_pair *p, int v, uni_cap *cap) {
  ir_server(p, v);
  memset(cap, 0, sizeof *cap);
  moqc_transport_set_handler(memlink_client(p->link), &cap_handler, cap);
}

/* cap_server, cam/1 (track v) published into *pub (if pub), then the
 * client's SETUP (setup17). */
static void cap_open(ts_pair *p, int v, uni_cap *cap, ts_pub *pub, bool solicit) {
  cap_server(p, v, cap);
  if (pub) ts_publish(pub, p->env, p->srv.pub, "cam/1", "v", NULL);
  int64_t setup;
  setup17(p, v, &setup, solicit);
}

/* A SUBSCRIBE_NAMESPACE for the empty prefix on a request stream of its own. */
static void subscribe_ns(ts_pair *p, int v, uint64_t req) {
  static moqc__ietf_msg m;
  memset(&m, 0, sizeof m);
  m.type = v >= 18 ? MOQC_IETF_SUBSCRIBE_NAMESPACE_18 : MOQC_IETF_SUBSCRIBE_NAMESPACE;
  m.request_id = req;
  m.options = 1;
  uint8_t buf[128];
  size_t n = ir_enc(v, &m, buf, sizeof buf);
  int64_t id;
  assert_int_equal(memlink_inject(p->link, memlink_server(p->link), true, buf, n, false, &id),
                   MOQC_OK);
}

/* The relay's GOAWAY at shutdown: on draft 18 it carries the Request ID (the
 * smallest of the client's not processed: 4 after requests 0 and 2), which
 * imquic requires on the control stream ("Broken GOAWAY" without it); on 17
 * it has none (every byte of it decodes as 17's GOAWAY). */
static void t_goaway_request_id(void **state) {
  int v = ts_version(state);
  ts_pair p;
  uni_cap cap;
  cap_open(&p, v, &cap, NULL, false);
  ts_run_for(p.env, 10 * MS);
  subscribe_ns(&p, v, 0);
  subscribe_ns(&p, v, 2);
  ts_run_for(p.env, 10 * MS);
  assert_false(p.srv.closed);
  assert_int_equal(moqc_session_send_goaway(p.srv.s, NULL), MOQC_OK);
  ts_run_for(p.env, 10 * MS);
  assert_int_equal(cap.streams, 1);
  static moqc__ietf_msg msgs[4];
  size_t n = cap_read(&cap, v, msgs, 4);
  assert_int_equal(n, 2);
  assert_int_equal(msgs[0].type, MOQC_IETF_SETUP);
  assert_int_equal(msgs[1].type, MOQC_IETF_GOAWAY);
  if (v == 18) {
    assert_true(msgs[1].has & MOQC_IETF_HAS_GOAWAY_ID);
    assert_int_equal(msgs[1].request_id, 4);
  } else {
    assert_false(msgs[1].has & MOQC_IETF_HAS_GOAWAY_ID);
  }
  ir_close(&p);
}

/* With no request yet, the draft-18 GOAWAY says 0 (the client's first id). */
static void t_goaway_request_id_none(void **state) {
  int v = ts_version(state);
  ts_pair p;
  uni_cap cap;
  cap_open(&p, v, &cap, NULL, false);
  ts_run_for(p.env, 10 * MS);
  assert_int_equal(moqc_session_send_goaway(p.srv.s, "moqt://other.example/"), MOQC_OK);
  ts_run_for(p.env, 10 * MS);
  static moqc__ietf_msg msgs[4];
  size_t n = cap_read(&cap, v, msgs, 4);
  assert_int_equal(n, 2);
  assert_int_equal(msgs[1].type, MOQC_IETF_GOAWAY);
  assert_int_equal(msgs[1].reason.len, strlen("moqt://other.example/"));
  assert_int_equal(!!(msgs[1].has & MOQC_IETF_HAS_GOAWAY_ID), v == 18);
  assert_int_equal(msgs[1].request_id, 0);
  ir_close(&p);
}

/* A draft-18 GOAWAY received with a Request ID of the wrong parity (one of
 * the receiver's own ids is expected: odd at a server) closes the session
 * with INVALID_REQUEST_ID; the right parity is accepted. */
static void t_goaway_request_id_parity(void **state) {
  int v = ts_version(state);
  if (v != 18) return;
  for (int bad = 0; bad < 2; bad++) {
    ts_pair p;
    ir_server(&p, v);
    int64_t setup;
    setup17(&p, v, &setup, false);
    ts_run_for(p.env, 10 * MS);
    static moqc__ietf_msg m;
    memset(&m, 0, sizeof m);
    m.type = MOQC_IETF_GOAWAY;
    m.has = MOQC_IETF_HAS_GOAWAY_ID;
    m.request_id = bad ? 2 : 1;
    ir_send(&p, v, setup, &m);
    ts_run_for(p.env, 10 * MS);
    assert_int_equal(p.srv.closed, bad);
    if (bad) assert_int_equal(p.srv.code, 0x4);
    ir_close(&p);
  }
}

/* A clean track end, 17+: to a peer that declared no SOLICIT (imquic) the
 * request stream carries PUBLISH_DONE (TRACK_ENDED, the stream count) before
 * its FIN: imquic-moq-sub on a FIN alone dropped the subscription without
 * telling its application. To a moq-dev peer (SOLICIT declared) the FIN alone
 * (@moq/net 0.3.4 never reads a PUBLISH_DONE there). */
static void t_publish_done_track_end(void **state) {
  int v = ts_version(state);
  for (int solicit = 0; solicit < 2; solicit++) {
    ts_pair p;
    ir_server(&p, v);
    ts_pub pub;
    ts_publish(&pub, p.env, p.srv.pub, "cam/1", "v", NULL);
    int64_t setup;
    setup17(&p, v, &setup, solicit);
    ts_run_for(p.env, 10 * MS);
    static moqc__ietf_msg m;
    ir_subscribe_msg(&m, 0, "cam/1", "v", 1);
    int64_t req = ir_request(&p, v, -1, &m); /* 17+: its own request stream */
    ts_run_for(p.env, 20 * MS);
    static const char *const fr[] = {"a", "b"};
    ts_group(pub.tp, fr, 2, true);
    ts_run_for(p.env, 20 * MS);
    assert_int_equal(moqc_track_producer_finish(pub.tp), MOQC_OK);
    ts_run_for(p.env, 1 * SEC);
    assert_false(p.srv.closed);
    static moqc__ietf_msg msgs[8];
    size_t k = ir_read(&p, v, req, msgs, 8);
    assert_true(k >= 1);
    assert_int_equal(msgs[0].type, MOQC_IETF_SUBSCRIBE_OK);
    assert_int_equal(ir_count(msgs, k, MOQC_IETF_PUBLISH_DONE), solicit ? 0 : 1);
    if (!solicit) {
      assert_int_equal(msgs[k - 1].type, MOQC_IETF_PUBLISH_DONE);
      assert_int_equal(msgs[k - 1].code, 0x2);
      assert_int_equal(msgs[k - 1].stream_count, 1);
    }
    ir_expect_req_end(&p, v, req, false);
    ts_pub_del(&pub);
    ir_close(&p);
  }
}

/* The first message on each server-opened bidi stream: how many have this
 * type (*last, *m: the last of them). */
static int cap_count_first(const uni_cap *c, int v, uint64_t type, const cap_bidi **last,
                           moqc__ietf_msg *m) {
  int k = 0;
  for (int i = 0; i < c->nbidi; i++) {
    if (c->bidi[i].len == 0) continue;
    static moqc__ietf_msg t;
    ssize_t n = moqc__ietf_ctrl_decode(&t, v, c->bidi[i].buf, c->bidi[i].len);
    assert_true(n > 0);
    if (t.type != type) continue;
    *m = t; /* borrows c's buffer */
    k++;
    if (last) *last = &c->bidi[i];
  }
  return k;
}

/* Announcing to a peer that declared no SOLICIT (imquic's relay never sends
 * SUBSCRIBE_NAMESPACE), 17+: each broadcast is announced with PUBLISH_NAMESPACE
 * on a request stream of its own (a server request id), and its end FINs
 * that stream. moqc-relay and `moqc publish` on 17/18 were never announced
 * to imquic's relay: the unasked PUBLISH_NAMESPACE went to the control
 * stream, which 17+ does not have. A peer that declared SOLICIT hears
 * nothing unasked. */
static void t_unsolicited_announce17(void **state) {
  int v = ts_version(state);
  for (int solicit = 0; solicit < 2; solicit++) {
    ts_pair p;
    uni_cap cap;
    ts_pub pub;
    cap_open(&p, v, &cap, &pub, solicit);
    ts_run_for(p.env, 20 * MS);
    assert_false(p.srv.closed);
    static moqc__ietf_msg m;
    const cap_bidi *b = NULL;
    assert_int_equal(cap_count_first(&cap, v, MOQC_IETF_PUBLISH_NAMESPACE, &b, &m), !solicit);
    if (!solicit) {
      char path[64];
      assert_int_equal(moqc__ietf_tuple_to_path(&m.ns, path, sizeof path), 5);
      assert_memory_equal(path, "cam/1", 5);
      assert_int_equal(m.request_id % 2, 1); /* a server request id */
      assert_false(b->fin);
    }
    ts_pub pub2;
    ts_publish(&pub2, p.env, p.srv.pub, "cam/2", "v", NULL);
    ts_run_for(p.env, 20 * MS);
    assert_int_equal(cap_count_first(&cap, v, MOQC_IETF_PUBLISH_NAMESPACE, &b, &m),
                     solicit ? 0 : 2);
    assert_int_equal(moqc_broadcast_producer_finish(pub2.bp), MOQC_OK);
    ts_run_for(p.env, 20 * MS);
    if (!solicit) {
      assert_true(b->fin); /* cam/2's stream, withdrawn */
      int fins = 0;
      for (int i = 0; i < cap.nbidi; i++) fins += cap.bidi[i].fin;
      assert_int_equal(fins, 1);
    }
    assert_false(p.srv.closed);
    ts_pub_del(&pub2);
    ts_pub_del(&pub);
    ir_close(&p);
  }
}

/* The peer cancels our unasked PUBLISH_NAMESPACE (17+, a peer that declared
 * no SOLICIT), after its REQUEST_OK, by: 0 REQUEST_ERROR instead (our FIN
 * follows before the peer's), 1 its FIN, 2 RESET_STREAM, 3 STOP_SENDING on
 * our half (2, 3: our half reset). Each ends our half and frees
 * the stream (streams_live back), the session stays open, the namespace is
 * not offered again while it stays published, and is offered again once it
 * ends and is published again. 4: a second REQUEST_OK closes the session
 * with PROTOCOL_VIOLATION. Before, a REQUEST_ERROR or a STOP_SENDING was not
 * acted on (the stream stayed open) and a second answer was read. */
static void t_announce_cancel17(void **state) {
  int v = ts_version(state);
  for (int mode = 0; mode < 5; mode++) {
    ts_pair p;
    uni_cap cap;
    ts_pub pub;
    cap_open(&p, v, &cap, &pub, false);
    ts_run_for(p.env, 20 * MS);
    static moqc__ietf_msg m;
    const cap_bidi *b = NULL;
    assert_int_equal(cap_count_first(&cap, v, MOQC_IETF_PUBLISH_NAMESPACE, &b, &m), 1);
    int64_t sid = b->id;
    uint64_t live = moqc_session_get_stats(p.srv.s).streams_live;
    static moqc__ietf_msg r;
    memset(&r, 0, sizeof r);
    r.type = mode == 0 ? MOQC_IETF_REQUEST_ERROR : MOQC_IETF_REQUEST_OK;
    r.code = 0x3;
    ir_msg_on(&p, v, sid, &r, false);
    ts_run_for(p.env, 20 * MS);
    assert_int_equal(b->fin, mode == 0); /* refused: withdrawn at once */
    moqc_transport *t = memlink_client(p.link);
    if (mode == 0 || mode == 1) ir_write_on(&p, sid, NULL, 0, true);
    if (mode == 2) assert_int_equal(t->ops->reset(t, sid, 0x1), MOQC_OK);
    if (mode == 3) assert_int_equal(t->ops->stop_sending(t, sid, 0x1), MOQC_OK);
    if (mode == 4) ir_msg_on(&p, v, sid, &r, false);
    ts_run_for(p.env, 50 * MS);
    if (mode == 4) {
      assert_true(p.srv.closed);
      assert_int_equal(p.srv.code, 0x3);
      ts_pub_del(&pub);
      ir_close(&p);
      continue;
    }
    assert_false(p.srv.closed);
    if (mode >= 2) assert_true(b->reset); /* cancelled abruptly: abruptly */
    else assert_true(b->fin);
    ts_run_for(p.env, 50 * MS);
    assert_int_equal(moqc_session_get_stats(p.srv.s).streams_live, live - 1);
    ts_pub pub2; /* announcing goes on; cam/1 is not offered again */
    ts_publish(&pub2, p.env, p.srv.pub, "cam/2", "v", NULL);
    ts_run_for(p.env, 20 * MS);
    assert_int_equal(cap_count_first(&cap, v, MOQC_IETF_PUBLISH_NAMESPACE, &b, &m), 2);
    char path[64];
    assert_int_equal(moqc__ietf_tuple_to_path(&m.ns, path, sizeof path), 5);
    assert_memory_equal(path, "cam/2", 5);
    ts_pub_del(&pub); /* cam/1 ends, and comes back: offered again */
    ts_run_for(p.env, 20 * MS);
    ts_publish(&pub, p.env, p.srv.pub, "cam/1", "v", NULL);
    ts_run_for(p.env, 20 * MS);
    assert_int_equal(cap_count_first(&cap, v, MOQC_IETF_PUBLISH_NAMESPACE, &b, &m), 3);
    assert_int_equal(moqc__ietf_tuple_to_path(&m.ns, path, sizeof path), 5);
    assert_memory_equal(path, "cam/1", 5);
    assert_false(b->fin);
    assert_false(p.srv.closed);
    ts_pub_del(&pub2);
    ts_pub_del(&pub);
    ir_close(&p);
  }
}

/* SUBSCRIBE with Forward 0, then REQUEST_UPDATE Forward 1 on the same
 * request stream (imquic-moq-sub -u): nothing is sent before the update,
 * groups after it, and the update is answered REQUEST_OK on that stream.
 * 17/18 ignored the update (imquic got no object and no answer). */
static void t_request_update17(void **state) {
  int v = ts_version(state);
  ts_pair p;
  ir_server(&p, v);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "cam/1", "v", NULL);
  int64_t setup;
  setup17(&p, v, &setup, false);
  ts_run_for(p.env, 10 * MS);
  static moqc__ietf_msg m;
  ir_subscribe_msg(&m, 0, "cam/1", "v", 0);
  int64_t req = ir_request(&p, v, -1, &m); /* 17+: its own request stream */
  ts_run_for(p.env, 20 * MS);
  static const char *const fr[] = {"a", "b"};
  ts_group(pub.tp, fr, 2, true);
  ts_run_for(p.env, 20 * MS);
  assert_int_equal(moqc_session_get_stats(p.srv.s).groups_sent, 0);

  memset(&m, 0, sizeof m);
  m.type = MOQC_IETF_REQUEST_UPDATE;
  m.request_id = 2;
  m.has = MOQC_IETF_HAS_FORWARD | MOQC_IETF_HAS_PRIORITY;
  m.forward = 1;
  m.priority = 10;
  ir_send(&p, v, req, &m);
  ts_run_for(p.env, 10 * MS);
  ts_group(pub.tp, fr, 2, true);
  ts_run_for(p.env, 20 * MS);
  assert_int_equal(moqc_session_get_stats(p.srv.s).groups_sent, 1);
  assert_false(p.srv.closed);
  static moqc__ietf_msg msgs[8];
  size_t k = ir_read(&p, v, req, msgs, 8);
  assert_int_equal(k, 2);
  assert_int_equal(msgs[0].type, MOQC_IETF_SUBSCRIBE_OK);
  assert_int_equal(msgs[1].type, MOQC_IETF_REQUEST_OK);
  ts_pub_del(&pub);
  ir_close(&p);
}

/* A group stream opened before its first object is ready: the header waits
 * and goes out with that object in one write, so the first data the peer
 * gets holds both. moqc-relay, relaying imquic-moq-pub to imquic-moq-sub on
 * 17, sent the 4-byte header alone when the downstream group began before
 * its first object; imquic then read no object of that stream. */
static void t_group_header_with_first_object(void **state) {
  int v = ts_version(state);
  ts_pair p;
  uni_cap cap;
  cap_server(&p, v, &cap);
  cap.gid = -1;
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "cam/1", "v", NULL);
  int64_t setup;
  setup17(&p, v, &setup, false);
  ts_run_for(p.env, 10 * MS);
  static moqc__ietf_msg m;
  ir_subscribe_msg(&m, 0, "cam/1", "v", 1);
  m.group_order = 1;
  (void)ir_request(&p, v, -1, &m); /* 17+: its own request stream */
  ts_run_for(p.env, 20 * MS);
  moqc_group_producer *g = NULL;
  assert_int_equal(moqc_track_producer_create_group(pub.tp, 1, &g), MOQC_OK);
  ts_run_for(p.env, 20 * MS); /* the group is out, its first object is not */
  assert_int_equal(cap.g_chunks, 0);
  assert_int_equal(moqc_group_producer_write_frame_copy(g, "2026-12-07 04:52:", 17, 1), MOQC_OK);
  ts_run_for(p.env, 20 * MS);
  assert_int_equal(moqc_group_producer_write_frame_copy(g, "56", 2, 2), MOQC_OK);
  ts_run_for(p.env, 20 * MS);
  assert_true(cap.gid >= 0);
  assert_true(cap.g_chunks >= 1);
  /* The first chunk: the header, then a whole first object. */
  moqc__ietf_subgroup h;
  ssize_t k = moqc__ietf_subgroup_decode(&h, v, cap.g1, cap.g1_len);
  assert_true(k > 0);
  assert_int_equal(h.group, 1);
  moqc__ietf_object o;
  ssize_t ko = moqc__ietf_object_decode(&o, v, h.extensions, cap.g1 + k, cap.g1_len - (size_t)k);
  assert_true(ko > 0);
  assert_int_equal(o.size, 17);
  assert_true(cap.g1_len >= (size_t)k + (size_t)ko + 17);
  assert_memory_equal(cap.g1 + k + ko, "2026-12-07 04:52:", 17);
  assert_false(p.srv.closed);
  moqc_group_producer_del(g);
  ts_pub_del(&pub);
  ir_close(&p);
}

/* A namespace the peer announced is never announced back to it, also when
 * the session's publish and subscribe origins are two views of one tree (as
 * moqc-relay gives every session): moqc-relay sent imquic-moq-pub's own
 * "clock" back to it unasked (imquic refused it, code 3). */
static void t_no_echo17(void **state) {
  int v = ts_version(state);
  ts_pair p;
  ir_server(&p, v);
  moqc_origin_unref(p.srv.sub);
  p.srv.sub = moqc_origin_with_root(p.srv.pub, "");
  assert_non_null(p.srv.sub);
  assert_ptr_not_equal(p.srv.sub, p.srv.pub);
  uni_cap cap;
  memset(&cap, 0, sizeof cap);
  moqc_transport_set_handler(memlink_client(p.link), &cap_handler, &cap);
  int64_t setup;
  setup17(&p, v, &setup, false);
  ts_run_for(p.env, 10 * MS);
  static moqc__ietf_msg m;
  ir_pns_msg(&m, 0, "cam/9");
  (void)ir_request(&p, v, -1, &m); /* 17+: its own request stream */
  ts_run_for(p.env, 20 * MS);
  assert_true(ts_wait_announce(p.env, p.srv.pub, "cam/9", 100 * MS)); /* in the shared tree */
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "cam/1", "v", NULL); /* ours: announced */
  ts_run_for(p.env, 20 * MS);
  assert_false(p.srv.closed);
  static moqc__ietf_msg pm;
  const cap_bidi *b = NULL;
  assert_int_equal(cap_count_first(&cap, v, MOQC_IETF_PUBLISH_NAMESPACE, &b, &pm), 1);
  char path[64];
  assert_int_equal(moqc__ietf_tuple_to_path(&pm.ns, path, sizeof path), 5);
  assert_memory_equal(path, "cam/1", 5);
  ts_pub_del(&pub);
  ir_close(&p);
}

int main(void) {
  (void)ts_versions; /* the moq-lite matrix of test_session_common.h: not used here */
  (void)ir_versions; /* the 14-16 matrix of test_session_ietf_raw.h: nor this one */
  const struct CMUnitTest tests[] = {
      IR17_TEST(t_goaway_request_id),
      IR17_TEST(t_goaway_request_id_none),
      IR17_TEST(t_goaway_request_id_parity),
      IR17_TEST(t_publish_done_track_end),
      IR17_TEST(t_unsolicited_announce17),
      IR17_TEST(t_announce_cancel17),
      IR17_TEST(t_request_update17),
      IR17_TEST(t_group_header_with_first_object),
      IR17_TEST(t_no_echo17),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
