/* Session tests: IETF OBJECT_DATAGRAMs (drafts 14 to 19) over the in-memory
 * transport in virtual time. Datagram-flagged groups go out as
 * OBJECT_DATAGRAMs and come back as groups; raw datagrams in (out of order,
 * late, lost, status forms, unknown alias) give the model what docs/wire.md
 * says; a malformed one closes the session with PROTOCOL_VIOLATION; through a
 * relay an IETF datagram track reaches lite-04 (groups), lite-05 (DATAGRAMs)
 * and IETF (OBJECT_DATAGRAMs) subscribers. */
#include "core/ietf_wire.h"
#include "test_session_common.h"

static int dg_versions[6] = {14, 15, 16, 17, 18, 19};
#define DG_TEST(fn)                                                                               \
  cmocka_unit_test_prestate(fn, &dg_versions[0]), cmocka_unit_test_prestate(fn, &dg_versions[1]), \
      cmocka_unit_test_prestate(fn, &dg_versions[2]),                                             \
      cmocka_unit_test_prestate(fn, &dg_versions[3]),                                             \
      cmocka_unit_test_prestate(fn, &dg_versions[4]),                                             \
      cmocka_unit_test_prestate(fn, &dg_versions[5])

static ts_opts dg_opts(size_t max_datagram) {
  ts_opts o;
  memset(&o, 0, sizeof o);
  o.have_link = true;
  o.link = MEMLINK_CONFIG_DEFAULT;
  o.link.max_datagram = max_datagram;
  return o;
}

static void write_dgram(moqc_track_producer *tp, const char *payload, size_t len) {
  moqc_buf *b = moqc_buf_copy(payload, len);
  assert_non_null(b);
  moqc_slice sl;
  assert_int_equal(moqc_slice_make(&sl, b, 0, len), MOQC_OK);
  moqc_buf_unref(b);
  assert_int_equal(moqc_track_producer_write_datagram(tp, &sl, 77), MOQC_OK);
  moqc_slice_release(&sl);
}

/* A datagram-flagged group of n frames, finished. */
static uint64_t dgram_group(moqc_track_producer *tp, const char *const *frames, size_t n) {
  moqc_group_producer *g = moqc_track_producer_append_group(tp);
  assert_non_null(g);
  moqc_group_producer_set_datagram(g);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(moqc_group_producer_write_frame_copy(g, frames[i], strlen(frames[i]), 5),
                     MOQC_OK);
  assert_int_equal(moqc_group_producer_finish(g), MOQC_OK);
  uint64_t seq = moqc_group_producer_sequence(g);
  moqc_group_producer_del(g);
  return seq;
}

static const char *const F3[] = {"one", "", "three"};

/* Sending: a datagram group leaves as one OBJECT_DATAGRAM per frame, no
 * stream; the receiving session rebuilds the group (the end-of-group bit
 * finishes it). A frame too big for max_datagram: the group takes a stream. */
static void t_dgram_round_trip(void **state) {
  int v = ts_version(state);
  ts_opts o = dg_opts(1000);
  ts_pair p;
  ts_pair_open(&p, v, &o);
  ts_pub pub;
  moqc_track_consumer *tc = ts_publish_subscribe(&p, &pub, "b", "t");
  ts_run_for(p.env, 20 * MS);
  uint64_t opened0 = moqc_session_get_stats(p.srv.s).streams_opened;

  write_dgram(pub.tp, "ping", 4);
  ts_run_for(p.env, 20 * MS);
  const char *const ping[] = {"ping"};
  ts_expect_group(tc, 0, ping, 1);
  uint64_t s1 = dgram_group(pub.tp, F3, 3);
  ts_run_for(p.env, 20 * MS);
  ts_expect_group(tc, s1, F3, 3);
  moqc_session_stats ss = moqc_session_get_stats(p.srv.s), cs = moqc_session_get_stats(p.cli.s);
  assert_int_equal(ss.datagrams_sent, 4);
  assert_int_equal(ss.streams_opened, opened0);
  assert_int_equal(cs.datagrams_received, 4);
  assert_int_equal(cs.datagrams_dropped, 0);
  assert_int_equal(cs.groups_received, 2);
  assert_int_equal(cs.frames_received, 4);

  /* Too big for one datagram: a subgroup stream. */
  char big[1200];
  memset(big, 'x', sizeof big);
  write_dgram(pub.tp, big, sizeof big);
  ts_run_for(p.env, 20 * MS);
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_OK);
  moqc_frame f;
  assert_int_equal(moqc_group_consumer_read_frame(g, &f), MOQC_OK);
  assert_int_equal(f.payload.len, sizeof big);
  moqc_slice_release(&f.payload);
  moqc_group_consumer_del(g);
  assert_int_equal(moqc_session_get_stats(p.srv.s).datagrams_sent, 4);
  assert_int_equal(moqc_session_get_stats(p.srv.s).streams_opened, opened0 + 1);

  /* A datagram group still being written is held until it ends. */
  moqc_group_producer *gp = moqc_track_producer_append_group(pub.tp);
  assert_non_null(gp);
  moqc_group_producer_set_datagram(gp);
  assert_int_equal(moqc_group_producer_write_frame_copy(gp, "a", 1, 1), MOQC_OK);
  ts_run_for(p.env, 20 * MS);
  assert_int_equal(moqc_session_get_stats(p.srv.s).datagrams_sent, 4);
  assert_int_equal(moqc_group_producer_write_frame_copy(gp, "b", 1, 2), MOQC_OK);
  assert_int_equal(moqc_group_producer_finish(gp), MOQC_OK);
  uint64_t s3 = moqc_group_producer_sequence(gp);
  moqc_group_producer_del(gp);
  ts_run_for(p.env, 20 * MS);
  const char *const ab[] = {"a", "b"};
  ts_expect_group(tc, s3, ab, 2);
  assert_int_equal(moqc_session_get_stats(p.srv.s).datagrams_sent, 6);

  /* The track's end crosses (PUBLISH_DONE counts the one stream). */
  assert_int_equal(moqc_track_producer_finish(pub.tp), MOQC_OK);
  ts_run_for(p.env, 1 * SEC);
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_CLOSED);
  assert_false(p.cli.closed);
  assert_false(p.srv.closed);
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

/* --max-group-rate counts a datagram group like a group stream: a receiving
 * session allowed 3 groups (bucket 3) is closed at the fourth datagram group in
 * a burst: TOO_MANY_REQUESTS (0x7) on 14-16, INTERNAL_ERROR (0x1) from 17 on,
 * where the draft has no session code for it. */
static void t_dgram_group_rate(void **state) {
  int v = ts_version(state);
  ts_opts o = dg_opts(1000);
  o.cli_limits.max_group_rate = 3;
  o.cli_limits.group_burst = 3;
  ts_pair p;
  ts_pair_open(&p, v, &o);
  ts_pub pub;
  moqc_track_consumer *tc = ts_publish_subscribe(&p, &pub, "b", "t");
  ts_run_for(p.env, 2 * SEC); /* the bucket is full */
  for (int i = 0; i < 3; i++) write_dgram(pub.tp, "d", 1);
  ts_run_for(p.env, 20 * MS);
  assert_false(p.cli.closed);
  assert_int_equal(moqc_session_get_stats(p.cli.s).datagrams_received, 3);
  write_dgram(pub.tp, "e", 1);
  ts_run_for(p.env, 20 * MS);
  assert_true(p.cli.closed);
  assert_int_equal(p.cli.code, v <= 16 ? 0x7 : 0x1);
  assert_non_null(strstr(p.cli.reason, "group rate over quota"));
  assert_int_equal(moqc_session_get_stats(p.cli.s).refused_group_rate, 1);
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

/* A transport without datagrams: datagram groups go on streams. */
static void t_dgram_no_transport(void **state) {
  int v = ts_version(state);
  ts_opts o = dg_opts(0);
  ts_pair p;
  ts_pair_open(&p, v, &o);
  ts_pub pub;
  moqc_track_consumer *tc = ts_publish_subscribe(&p, &pub, "b", "t");
  ts_run_for(p.env, 20 * MS);
  uint64_t s0 = dgram_group(pub.tp, F3, 3);
  ts_run_for(p.env, 20 * MS);
  ts_expect_group(tc, s0, F3, 3);
  assert_int_equal(moqc_session_get_stats(p.srv.s).datagrams_sent, 0);
  assert_int_equal(moqc_session_get_stats(p.srv.s).groups_sent, 1);
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

/* ---- raw datagrams into the client ------------------------------------------------ */

static void raw_dgram(ts_pair *p, const moqc__ietf_datagram *d) {
  uint8_t buf[512];
  ssize_t n = moqc__ietf_datagram_encode(buf, sizeof buf, p->version, d);
  assert_true(n > 0);
  moqc_transport *t = memlink_server(p->link);
  assert_int_equal(t->ops->send_datagram(t, buf, (size_t)n), MOQC_OK);
}

static void raw_obj(ts_pair *p, uint64_t alias, uint64_t group, uint64_t object, const char *pl,
                    bool eog) {
  moqc__ietf_datagram d = {.end_of_group = eog,
                           .has_priority = true,
                           .track_alias = alias,
                           .group = group,
                           .object = object,
                           .priority = 7,
                           .payload = {(const uint8_t *)pl, strlen(pl)}};
  raw_dgram(p, &d);
}

static void raw_status(ts_pair *p, uint64_t alias, uint64_t group, uint64_t object,
                       uint64_t status) {
  moqc__ietf_datagram d = {.is_status = true,
                           .has_priority = p->version == 14,
                           .track_alias = alias,
                           .group = group,
                           .object = object,
                           .status = status};
  raw_dgram(p, &d);
}

/* The client's track alias: the request id of its SUBSCRIBE, found by
 * sending one datagram per candidate (the others are unknown: dropped). */
static uint64_t find_alias(ts_pair *p, moqc_track_consumer *tc) {
  for (uint64_t a = 0; a < 8; a++) raw_obj(p, a, 100 + a, 0, "probe", true);
  ts_run_for(p->env, 20 * MS);
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_OK);
  uint64_t alias = moqc_group_consumer_sequence(g) - 100;
  assert_true(moqc_group_consumer_is_datagram(g)); /* flagged: a relay forwards it as such */
  moqc_group_consumer_del(g);
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_AGAIN);
  moqc_session_stats cs = moqc_session_get_stats(p->cli.s);
  assert_int_equal(cs.datagrams_received, 1);
  assert_int_equal(cs.datagrams_dropped, 7); /* unknown aliases */
  return alias;
}

static void expect_frames(moqc_track_consumer *tc, uint64_t seq, const char *const *frames,
                          size_t n) {
  ts_expect_group(tc, seq, frames, n);
}

/* Datagrams out of order, late, lost; status forms. */
static void t_dgram_receive(void **state) {
  int v = ts_version(state);
  ts_opts o = dg_opts(1200);
  ts_pair p;
  ts_pair_open(&p, v, &o);
  ts_pub pub;
  moqc_track_consumer *tc = ts_publish_subscribe(&p, &pub, "b", "t");
  ts_run_for(p.env, 20 * MS);
  uint64_t a = find_alias(&p, tc);

  /* Group 200: 0, 2, then 1 (late: dropped), END_OF_GROUP at 3. */
  raw_obj(&p, a, 200, 0, "a", false);
  raw_obj(&p, a, 200, 2, "c", false);
  raw_obj(&p, a, 200, 1, "b", false);
  ts_run_for(p.env, 10 * MS);
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_OK);
  assert_int_equal(moqc_group_consumer_sequence(g), 200);
  assert_false(moqc_group_consumer_is_done(g)); /* open until its end */
  raw_status(&p, a, 200, 3, MOQC_IETF_STATUS_END_OF_GROUP);
  raw_obj(&p, a, 200, 4, "after the end", false); /* dropped */
  ts_run_for(p.env, 10 * MS);
  assert_true(moqc_group_consumer_is_done(g));
  moqc_frame f;
  assert_int_equal(moqc_group_consumer_read_frame(g, &f), MOQC_OK);
  assert_memory_equal(moqc_slice_ptr(&f.payload), "a", 1);
  moqc_slice_release(&f.payload);
  assert_int_equal(moqc_group_consumer_read_frame(g, &f), MOQC_OK);
  assert_memory_equal(moqc_slice_ptr(&f.payload), "c", 1);
  moqc_slice_release(&f.payload);
  assert_int_equal(moqc_group_consumer_read_frame(g, &f), MOQC_ERR_CLOSED);
  moqc_group_consumer_del(g);

  /* Group 201 ends when 202 starts; 200 again: an older group, dropped. */
  raw_obj(&p, a, 201, 0, "x", false);
  raw_obj(&p, a, 202, 0, "y", false);
  raw_obj(&p, a, 200, 5, "old", false);
  raw_obj(&p, a, 201, 1, "old too", false);
  /* 202: object 1 does not exist; a copy of 1 is late; 2 ends the group. */
  raw_status(&p, a, 202, 1, MOQC_IETF_STATUS_DOES_NOT_EXIST);
  raw_obj(&p, a, 202, 1, "late", false);
  raw_obj(&p, a, 202, 2, "w", true);
  ts_run_for(p.env, 10 * MS);
  const char *const x[] = {"x"};
  const char *const yw[] = {"y", "w"};
  expect_frames(tc, 201, x, 1);
  expect_frames(tc, 202, yw, 2);
  moqc_session_stats cs = moqc_session_get_stats(p.cli.s);
  /* received: probe, a, c, status, x, y, dne, w; dropped: 7 + b, after the end, old, old too,
   * late */
  assert_int_equal(cs.datagrams_received, 8);
  assert_int_equal(cs.datagrams_dropped, 12);
  assert_int_equal(cs.frames_received, 6);

  /* END_OF_TRACK: the track finishes (after the grace for late streams). */
  raw_status(&p, a, 203, 0, MOQC_IETF_STATUS_NORMAL); /* an empty object */
  raw_obj(&p, a, 203, 1, "z", false);
  raw_status(&p, a, 203, 2, MOQC_IETF_STATUS_END_OF_TRACK);
  ts_run_for(p.env, 1 * SEC);
  const char *const z[] = {"", "z"};
  expect_frames(tc, 203, z, 2);
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_CLOSED);
  assert_false(p.cli.closed);
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

/* A malformed datagram (a type no draft defines, or a truncated header)
 * closes the session with PROTOCOL_VIOLATION (0x3). */
static void t_dgram_malformed(void **state) {
  int v = ts_version(state);
  for (int k = 0; k < 2; k++) {
    ts_opts o = dg_opts(1200);
    ts_pair p;
    ts_pair_open(&p, v, &o);
    ts_run_for(p.env, 20 * MS);
    static const uint8_t bad_type[] = {0x10, 0x01, 0x02, 0x03, 0x80, 'x'};
    static const uint8_t truncated[] = {0x00, 0x01};
    moqc_transport *t = memlink_server(p.link);
    if (k == 0) assert_int_equal(t->ops->send_datagram(t, bad_type, sizeof bad_type), MOQC_OK);
    else assert_int_equal(t->ops->send_datagram(t, truncated, sizeof truncated), MOQC_OK);
    ts_run_for(p.env, 50 * MS);
    assert_true(p.cli.closed);
    assert_int_equal(p.cli.code, 0x3);
    assert_true(p.srv.closed);
    assert_true(p.srv.by_peer);
    ts_pair_close(&p);
  }
}

/* ---- through a relay ---------------------------------------------------------------- */

/* An IETF publisher's datagram track through one origin (a relay) to a
 * lite-04 subscriber (ordinary groups), a lite-05 one (a single-frame group
 * as one DATAGRAM, a longer one on a stream) and an IETF one (OBJECT_DATAGRAMs). */
static void t_dgram_relay(void **state) {
  int v = ts_version(state);
  moqc_env *env = ts_env_new();
  moqc_origin_config oc = {0, 0};
  moqc_origin *r = moqc_origin_new(env, &oc);
  ts_opts o = dg_opts(1200);
  o.srv_pub_shared = r;
  o.srv_sub_shared = r;
  ts_pair pub, l4, l5, ie;
  ts_pair_open_env(&pub, env, v, &o);
  ts_pair_open_env(&l4, env, 4, &o);
  ts_pair_open_env(&l5, env, 5, &o);
  ts_pair_open_env(&ie, env, v, &o);
  ts_pub tp;
  ts_publish(&tp, env, pub.cli.pub, "room", "v", NULL);
  ts_pair *subs[3] = {&l4, &l5, &ie};
  moqc_track_consumer *tc[3];
  for (int i = 0; i < 3; i++) {
    assert_true(ts_wait_announce(env, subs[i]->cli.sub, "room", 200 * MS));
    tc[i] = ts_subscribe(subs[i]->cli.sub, "room", "v", NULL, NULL);
  }
  ts_run_for(env, 100 * MS);
  assert_int_equal(moqc_session_get_stats(pub.cli.s).subscribes_served, 1); /* one upstream */
  write_dgram(tp.tp, "ping", 4);
  ts_run_for(env, 50 * MS);
  uint64_t s1 = dgram_group(tp.tp, F3, 3);
  ts_run_for(env, 50 * MS);
  const char *const ping[] = {"ping"};
  for (int i = 0; i < 3; i++) {
    ts_expect_group(tc[i], 0, ping, 1);
    ts_expect_group(tc[i], s1, F3, 3);
  }
  assert_int_equal(moqc_session_get_stats(pub.cli.s).datagrams_sent, 4);
  assert_int_equal(moqc_session_get_stats(pub.srv.s).datagrams_received, 4);
  assert_int_equal(moqc_session_get_stats(l4.srv.s).datagrams_sent, 0);
  assert_int_equal(moqc_session_get_stats(l5.srv.s).datagrams_sent, 1);
  assert_int_equal(moqc_session_get_stats(l5.cli.s).datagrams_received, 1);
  assert_int_equal(moqc_session_get_stats(ie.srv.s).datagrams_sent, 4);
  assert_int_equal(moqc_session_get_stats(ie.cli.s).datagrams_received, 4);
  for (int i = 0; i < 3; i++) moqc_track_consumer_del(tc[i]);
  ts_pub_del(&tp);
  ts_pair_close_env(&pub);
  for (int i = 0; i < 3; i++) ts_pair_close_env(subs[i]);
  moqc_origin_unref(r);
  ts_settle(env);
  moqc_env_del(env);
}

int main(void) {
  (void)ts_versions; /* the lite versions of test_session_common.h: unused here */
  const struct CMUnitTest tests[] = {
      DG_TEST(t_dgram_round_trip), DG_TEST(t_dgram_no_transport), DG_TEST(t_dgram_receive),
      DG_TEST(t_dgram_malformed),  DG_TEST(t_dgram_relay),        DG_TEST(t_dgram_group_rate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
