/* Unit tests: session delivery events (moqc_session_set_events) over the
 * in-memory transport in virtual time: `delivered` when a subscription's
 * groups are acknowledged, `idle` when nothing is served or in flight, and
 * the expiry tick left unarmed while nothing can expire. */
#include "test_session_common.h"

typedef struct ev_rec {
  moqc_env *env;
  moqc_session *s;
  int delivered, idle;
  uint64_t delivered_at, idle_at;
  moqc_session_delivery last;
  char track[32];
  uint64_t in_flight_at_delivery;
  bool idle_at_idle;
} ev_rec;

static void on_delivered(void *ctx, moqc_session *s, const moqc_session_delivery *d) {
  ev_rec *r = ctx;
  assert_ptr_equal(s, r->s);
  r->delivered++;
  r->delivered_at = moqc_clock_now(moqc_env_clock(r->env));
  r->last = *d;
  snprintf(r->track, sizeof r->track, "%s", d->track);
  r->last.track = r->track;
  r->in_flight_at_delivery = moqc_session_get_stats(s).groups_in_flight;
}

static void on_idle(void *ctx, moqc_session *s) {
  ev_rec *r = ctx;
  r->idle++;
  r->idle_at = moqc_clock_now(moqc_env_clock(r->env));
  r->idle_at_idle = moqc_session_is_idle(s);
}

static const moqc_session_events k_events = {on_delivered, on_idle};

static ts_opts link_opts(void) {
  ts_opts o;
  memset(&o, 0, sizeof o);
  o.have_link = true;
  o.link = MEMLINK_CONFIG_DEFAULT;
  o.link.latency_ns = 10 * MS; /* RTT 20 ms */
  return o;
}

/* A group is complete the moment its last ACK is back (one RTT), not on the
 * next 100 ms tick; with only the newest group in flight no tick is armed;
 * dropping the subscription makes the publisher idle, once. */
static void t_delivered_and_idle(void **state) {
  ts_opts o = link_opts();
  ts_pair p;
  ts_pair_open(&p, ts_version(state), &o);
  moqc_clock *clk = moqc_env_clock(p.env);
  ev_rec r;
  memset(&r, 0, sizeof r);
  r.env = p.env;
  r.s = p.srv.s;
  moqc_session_set_events(p.srv.s, &k_events, &r);
  assert_true(moqc_session_is_idle(p.srv.s));
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "b", "t", NULL);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "b", 200 * MS));
  moqc_track_consumer *tc = ts_subscribe(p.cli.sub, "b", "t", NULL, NULL);
  assert_true(ts_wait_serving(p.env, p.srv.s, 1, 200 * MS));
  ts_run_for(p.env, 100 * MS);
  assert_false(moqc_session_is_idle(p.srv.s));
  assert_int_equal(r.idle, 0);

  static const char *const fr[] = {"one", "two"};
  uint64_t t0 = moqc_clock_now(clk);
  ts_group(pub.tp, fr, 2, true);
  for (int i = 0; i < 300 && r.delivered == 0; i++) ts_run_for(p.env, 1 * MS);
  assert_int_equal(r.delivered, 1);
  /* One RTT (+ the session's own round trip of wakers), far below a tick. */
  assert_true(r.delivered_at - t0 <= 30 * MS);
  assert_int_equal(r.last.groups_acked, 1);
  assert_string_equal(r.last.track, "t");
  assert_false(r.last.track_done);
  assert_int_equal(r.in_flight_at_delivery, 0);
  /* Nothing can expire: no timer at all is left armed (the expiry tick
   * used to run every 100 ms while a group was in flight). */
  ts_run_for(p.env, 1 * MS);
  assert_int_equal(moqc_clock_next(clk), UINT64_MAX);
  assert_int_equal(r.idle, 0); /* still serving the subscription */

  ts_group(pub.tp, fr, 1, true);
  ts_run_for(p.env, 200 * MS);
  assert_int_equal(r.delivered, 2);
  assert_int_equal(r.last.groups_acked, 2);
  ts_expect_group(tc, 0, fr, 2);
  ts_expect_group(tc, 1, fr, 1);

  moqc_track_consumer_del(tc);
  for (int i = 0; i < 300 && r.idle == 0; i++) ts_run_for(p.env, 1 * MS);
  assert_int_equal(r.idle, 1);
  assert_true(r.idle_at_idle);
  assert_true(moqc_session_is_idle(p.srv.s));
  ts_run_for(p.env, 500 * MS);
  assert_int_equal(r.idle, 1); /* edge-triggered */
  assert_int_equal(r.delivered, 2);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

/* Group writes are cut from a per-session arena buf (serve.c, 8 KiB); once
 * every group is acknowledged the publisher holds none: live buf bytes go
 * back to about what the cached frames take, not 8 KiB more. */
static void t_delivered_frees_write_arena(void **state) {
  ts_opts o = link_opts();
  ts_pair p;
  ts_pair_open(&p, ts_version(state), &o);
  ev_rec r;
  memset(&r, 0, sizeof r);
  r.env = p.env;
  r.s = p.srv.s;
  moqc_session_set_events(p.srv.s, &k_events, &r);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "b", "t", NULL);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "b", 200 * MS));
  moqc_track_consumer *tc = ts_subscribe(p.cli.sub, "b", "t", NULL, NULL);
  assert_true(ts_wait_serving(p.env, p.srv.s, 1, 200 * MS));
  ts_run_for(p.env, 100 * MS);
  uint64_t live0 = moqc_buf_get_stats().bytes_live;
  static const char *const fr[] = {"one", "two", "three"};
  for (int g = 0; g < 3; g++) {
    ts_group(pub.tp, fr, 3, true);
    for (int i = 0; i < 300 && r.delivered == g; i++) ts_run_for(p.env, 1 * MS);
    assert_int_equal(r.delivered, g + 1);
  }
  assert_int_equal(moqc_session_get_stats(p.srv.s).groups_in_flight, 0);
  for (uint64_t g = 0; g < 3; g++) ts_expect_group(tc, g, fr, 3);
  uint64_t live1 = moqc_buf_get_stats().bytes_live;
  assert_true(live1 >= live0);
  assert_true(live1 - live0 < 1024); /* the frames, cached on both sides */
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

/* Over a slow link, with a newer group queued behind an older one, the tick
 * is armed (the older group can expire) and expiry still works; delivery of
 * the newest group is still an event. */
static void t_tick_armed_only_when_expirable(void **state) {
  ts_opts o = link_opts();
  o.link.bandwidth = 20 * 1000; /* 20 kB/s */
  ts_pair p;
  ts_pair_open(&p, ts_version(state), &o);
  moqc_clock *clk = moqc_env_clock(p.env);
  ev_rec r;
  memset(&r, 0, sizeof r);
  r.env = p.env;
  r.s = p.srv.s;
  moqc_session_set_events(p.srv.s, &k_events, &r);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "b", "t", NULL);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "b", 200 * MS));
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  sub.latency_max_ms = 300;
  moqc_track_consumer *tc = ts_subscribe(p.cli.sub, "b", "t", &sub, NULL);
  assert_true(ts_wait_serving(p.env, p.srv.s, 1, 200 * MS));
  ts_run_for(p.env, 100 * MS);
  /* 30 kB alone: newest, nothing can expire; the link is busy 1.5 s. */
  static char big[10001];
  memset(big, 'x', sizeof big - 1);
  const char *const fb[] = {big, big, big};
  ts_group(pub.tp, fb, 3, true);
  ts_run_for(p.env, 50 * MS);
  uint64_t now = moqc_clock_now(clk);
  moqc_session_stats st = moqc_session_get_stats(p.srv.s);
  assert_int_equal(st.groups_in_flight, 1);
  /* The only timers are the link's own (pacing, pipe): none 100 ms out. */
  uint64_t next = moqc_clock_next(clk);
  assert_true(next < now + 100 * MS - 1 * MS || next == UINT64_MAX);
  /* A newer group: the old one becomes expirable and is reset as Old. */
  static const char *const fs[] = {"small"};
  ts_group(pub.tp, fs, 1, true);
  ts_run_for(p.env, 3 * SEC);
  st = moqc_session_get_stats(p.srv.s);
  assert_int_equal(st.groups_reset_old, 1);
  assert_int_equal(st.groups_in_flight, 0);
  /* The small group was acknowledged while the big one was still in flight,
   * and a reset group is not delivered: no event yet. */
  assert_int_equal(r.delivered, 0);
  ts_group(pub.tp, fs, 1, true);
  ts_run_for(p.env, 200 * MS);
  assert_int_equal(r.delivered, 1);
  assert_int_equal(r.last.groups_acked, 2); /* both small ones; the big one was reset */
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      TS_TEST3(t_delivered_and_idle),
      TS_TEST3(t_tick_armed_only_when_expirable),
      TS_TEST3(t_delivered_frees_write_arena),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
