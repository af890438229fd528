/* Session tests: flow over constrained links: a slow subscriber whose old
 * groups are reset while new ones flow, priorities between two tracks, and
 * zero copy on the publisher side. Every test runs for lite-03/04/05; those
 * of the group-stream writer and its expiry for IETF drafts 14/16/18 too. */
#include "test_session_common.h"

/* Write one group of `frames` frames of `size` bytes each (pattern by group). */
static uint64_t big_group(moqc_track_producer *tp, size_t frames, size_t size) {
  moqc_group_producer *g = moqc_track_producer_append_group(tp);
  assert_non_null(g);
  uint64_t seq = moqc_group_producer_sequence(g);
  uint8_t *buf = malloc(size);
  for (size_t f = 0; f < frames; f++) {
    memset(buf, (int)(seq * 31 + f), size);
    assert_int_equal(moqc_group_producer_write_frame_copy(g, buf, size, f), MOQC_OK);
  }
  free(buf);
  assert_int_equal(moqc_group_producer_finish(g), MOQC_OK);
  moqc_group_producer_del(g);
  return seq;
}

/* Reads every group of tc concurrently (like a player would): counts
 * complete / aborted groups and frames, checking every byte. */
#define READER_MAX 64
typedef struct reader {
  moqc_group_consumer *open[READER_MAX];
  size_t nopen;
  uint64_t frames;
  uint64_t complete, aborted, old;
  uint64_t last_complete;
  bool have_last;
  uint64_t last_frame_seq; /* group of the latest frame read */
} reader;

static void reader_poll(reader *r, moqc_track_consumer *tc) {
  moqc_group_consumer *g;
  while (r->nopen < READER_MAX && moqc_track_consumer_recv_group(tc, &g) == MOQC_OK)
    r->open[r->nopen++] = g;
  for (size_t i = 0; i < r->nopen;) {
    moqc_group_consumer *c = r->open[i];
    uint64_t seq = moqc_group_consumer_sequence(c);
    moqc_frame f;
    int rc;
    while ((rc = moqc_group_consumer_read_frame(c, &f)) == MOQC_OK) {
      const uint8_t *p = moqc_slice_ptr(&f.payload);
      for (size_t k = 0; k < f.payload.len; k++)
        if (p[k] != p[0]) fail_msg("frame corrupted in group %llu", (unsigned long long)seq);
      r->frames++;
      r->last_frame_seq = seq;
      moqc_slice_release(&f.payload);
    }
    if (rc == MOQC_ERR_AGAIN) {
      i++;
      continue;
    }
    if (rc == MOQC_ERR_CLOSED) {
      r->complete++;
      if (!r->have_last || seq > r->last_complete) r->last_complete = seq;
      r->have_last = true;
    } else {
      r->aborted++;
      if (moqc_group_consumer_code(c) == MOQC_CODE_OLD) r->old++;
    }
    moqc_group_consumer_del(c);
    r->open[i] = r->open[--r->nopen];
  }
}

static void reader_fini(reader *r) {
  for (size_t i = 0; i < r->nopen; i++) moqc_group_consumer_del(r->open[i]);
  r->nopen = 0;
}

/* A slow subscriber: the publisher produces twice what the link carries, each
 * group's frames written progressively. Newest-first scheduling keeps the
 * newest group's frames flowing promptly; the session resets the oldest
 * in-flight groups with Old so the transport queue stays bounded; and once
 * the publisher pauses the newest group arrives complete. */
static void t_slow_subscriber(void **state) {
  ts_opts o;
  memset(&o, 0, sizeof o);
  o.have_link = true;
  o.link = MEMLINK_CONFIG_DEFAULT;
  o.link.bandwidth = 100 * 1000; /* 100 kB/s */
  o.link.latency_ns = 10 * MS;
  o.srv_limits.max_queued_bytes = 64 * 1024;
  ts_pair p;
  ts_pair_open(&p, ts_version(state), &o);
  ts_pub pub;
  moqc_track_info info = MOQC_TRACK_INFO_DEFAULT;
  info.latency_max_ms = 60000; /* expiry by age is not what we test */
  ts_publish(&pub, p.env, p.srv.pub, "b", "t", &info);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "b", 200 * MS));
  moqc_track_consumer *tc = ts_subscribe(p.cli.sub, "b", "t", NULL, NULL);
  ts_run_for(p.env, 100 * MS);

  reader r;
  memset(&r, 0, sizeof r);
  uint8_t frame[10000];
  uint64_t last = 0, max_first_delay = 0;
  size_t max_q = 0;
  for (int i = 0; i < 20; i++) { /* 40 kB per 200 ms = 200 kB/s */
    moqc_group_producer *g = moqc_track_producer_append_group(pub.tp);
    last = moqc_group_producer_sequence(g);
    uint64_t written = moqc_clock_now(moqc_env_clock(p.env)), first = 0;
    for (int f = 0; f < 4; f++) {
      memset(frame, (int)(last * 31 + (uint64_t)f), sizeof frame);
      assert_int_equal(moqc_group_producer_write_frame_copy(g, frame, sizeof frame, 0), MOQC_OK);
      for (int k = 0; k < 50; k++) {
        ts_run_for(p.env, 1 * MS);
        uint64_t before = r.frames;
        reader_poll(&r, tc);
        if (!first && r.frames > before && r.last_frame_seq == last)
          first = moqc_clock_now(moqc_env_clock(p.env));
      }
      size_t q = memlink_server(p.link)->ops->queued(memlink_server(p.link), -1);
      if (q > max_q) max_q = q;
    }
    assert_int_equal(moqc_group_producer_finish(g), MOQC_OK);
    moqc_group_producer_del(g);
    assert_true(first > 0); /* the newest group's first frame got through ... */
    if (first - written > max_first_delay) max_first_delay = first - written;
  }
  /* ... promptly: one frame time plus latency, not behind the backlog. */
  assert_true(max_first_delay <= 150 * MS);
  /* The queue stayed near the cap: at most the cap plus the newest group. */
  assert_true(max_q <= 64 * 1024 + 40000 + 4096);
  /* The publisher pauses: the tail drains and the newest group completes. */
  for (int k = 0; k < 3000 && !(r.have_last && r.last_complete == last); k++) {
    ts_run_for(p.env, 1 * MS);
    reader_poll(&r, tc);
  }
  moqc_session_stats st = moqc_session_get_stats(p.srv.s);
  assert_true(st.groups_reset_old > 0);
  assert_true(r.old > 0); /* the subscriber saw them end with Old */
  /* Each reset was reported with its trigger and numbers. */
  assert_int_equal((uint64_t)p.srv.debug_old_slow, st.groups_reset_old);
  assert_non_null(strstr(p.srv.debug_last, "max_queued_bytes 65536"));
  assert_true(r.have_last);
  assert_int_equal(r.last_complete, last);
  reader_fini(&r);
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

/* A fast link with a large bandwidth-delay product is not a slow subscriber:
 * 50 MB/s over a 100 MB/s link with a 100 ms RTT keeps ~5 MB in flight, five
 * times the queue cap, yet nothing is waiting to be sent. The slow-subscriber
 * check must look at the backlog (unsent bytes), not at unacknowledged bytes,
 * so no group may be reset and every group must arrive complete. */
static void t_fast_link_no_reset(void **state) {
  ts_opts o;
  memset(&o, 0, sizeof o);
  o.have_link = true;
  o.link = MEMLINK_CONFIG_DEFAULT;
  o.link.bandwidth = 100 * 1000 * 1000; /* 100 MB/s */
  o.link.latency_ns = 50 * MS;
  o.srv_limits.max_queued_bytes = 1024 * 1024;
  ts_pair p;
  ts_pair_open(&p, ts_version(state), &o);
  ts_pub pub;
  moqc_track_info info = MOQC_TRACK_INFO_DEFAULT;
  info.latency_max_ms = 60000; /* expiry by age is not what we test */
  ts_publish(&pub, p.env, p.srv.pub, "b", "t", &info);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "b", 500 * MS));
  moqc_track_consumer *tc = ts_subscribe(p.cli.sub, "b", "t", NULL, NULL);
  ts_run_for(p.env, 300 * MS);

  reader r;
  memset(&r, 0, sizeof r);
  moqc_transport *st = memlink_server(p.link);
  size_t max_inflight = 0;
  const int groups = 60;
  uint64_t first = 0, last = 0;
  for (int i = 0; i < groups; i++) { /* 256 kB every 5 ms = ~51 MB/s */
    last = big_group(pub.tp, 4, 64 * 1024);
    if (i == 0) first = last;
    for (int k = 0; k < 5; k++) {
      ts_run_for(p.env, 1 * MS);
      reader_poll(&r, tc);
      size_t q = st->ops->queued(st, -1);
      if (q > max_inflight) max_inflight = q;
    }
  }
  for (int k = 0; k < 2000 && !(r.have_last && r.last_complete == last && r.nopen == 0); k++) {
    ts_run_for(p.env, 1 * MS);
    reader_poll(&r, tc);
  }
  /* The scenario really had far more in flight than the cap ... */
  assert_true(max_inflight > 4 * o.srv_limits.max_queued_bytes);
  /* ... and still nothing was treated as a slow subscriber. */
  moqc_session_stats stt = moqc_session_get_stats(p.srv.s);
  assert_int_equal(stt.groups_reset_old, 0);
  assert_int_equal(r.aborted, 0);
  assert_int_equal(r.complete, (uint64_t)groups);
  assert_int_equal(r.last_complete, last);
  assert_int_equal(r.frames, (uint64_t)groups * 4);
  (void)first;
  reader_fini(&r);
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

/* An ordered subscriber (oldest group first) on a saturated link, with the
 * publisher flow-controlled end to end like moqc_bench's max-rate mode: it
 * writes while it is at most W frames ahead of the newest frame the
 * subscriber has read, groups back to back. Every group must arrive complete
 * and in order, with no Old reset, although the link is always busy and a
 * new group starts while the previous one's tail is still queued. (Served
 * newest-first, each group boundary strands the previous group's queued tail
 * behind the new group; the stranded tails pile up past max_queued_bytes and
 * are reset as Old: bench findings F4 and F8.) */
#define ORD_FRAMES 16
static void t_ordered_saturated(void **state) {
  ts_opts o;
  memset(&o, 0, sizeof o);
  o.have_link = true;
  o.link = MEMLINK_CONFIG_DEFAULT;
  o.link.bandwidth = 1000 * 1000; /* 1 MB/s: an 8 kB frame every 8 ms */
  o.link.latency_ns = 5 * MS;
  o.srv_limits.max_queued_bytes = 128 * 1024;
  ts_pair p;
  ts_pair_open(&p, ts_version(state), &o);
  ts_pub pub;
  moqc_track_info info = MOQC_TRACK_INFO_DEFAULT;
  info.latency_max_ms = 60000; /* expiry by age is not what we test */
  ts_publish(&pub, p.env, p.srv.pub, "b", "t", &info);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "b", 500 * MS));
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  sub.ordered = true;
  moqc_track_consumer *tc = ts_subscribe(p.cli.sub, "b", "t", &sub, NULL);
  ts_run_for(p.env, 100 * MS);

  enum { GROUPS = 30, W = 8, SIZE = 8192 };
  moqc_group_consumer *open[GROUPS];
  uint64_t got[GROUPS]; /* frames read per open group */
  size_t nopen = 0;
  uint64_t tx = 0, seen = 0, frames = 0, complete = 0, aborted = 0, done_below = 0;
  uint64_t base = UINT64_MAX;
  moqc_group_producer *g = NULL;
  uint8_t buf[SIZE];
  for (int step = 0; step < 20000 && complete + aborted < GROUPS; step++) {
    while (tx < (uint64_t)GROUPS * ORD_FRAMES && tx - seen < W) { /* the window */
      if (tx % ORD_FRAMES == 0) {
        if (g) {
          assert_int_equal(moqc_group_producer_finish(g), MOQC_OK);
          moqc_group_producer_del(g);
        }
        g = moqc_track_producer_append_group(pub.tp);
        assert_non_null(g);
        if (base == UINT64_MAX) base = moqc_group_producer_sequence(g);
      }
      memset(buf, (int)(tx & 0xff), sizeof buf);
      assert_int_equal(moqc_group_producer_write_frame_copy(g, buf, sizeof buf, tx), MOQC_OK);
      tx++;
    }
    if (tx == (uint64_t)GROUPS * ORD_FRAMES && g) {
      assert_int_equal(moqc_group_producer_finish(g), MOQC_OK);
      moqc_group_producer_del(g);
      g = NULL;
    }
    ts_run_for(p.env, 1 * MS);
    moqc_group_consumer *c;
    while (nopen < GROUPS && moqc_track_consumer_recv_group(tc, &c) == MOQC_OK) {
      got[nopen] = 0;
      open[nopen++] = c;
    }
    for (size_t i = 0; i < nopen;) {
      c = open[i];
      uint64_t idx = moqc_group_consumer_sequence(c) - base;
      moqc_frame f;
      int rc;
      while ((rc = moqc_group_consumer_read_frame(c, &f)) == MOQC_OK) {
        uint64_t n = idx * ORD_FRAMES + got[i]++;
        assert_int_equal(moqc_slice_ptr(&f.payload)[0], n & 0xff);
        assert_int_equal(f.payload.len, SIZE);
        /* Oldest first: nothing of a group before every older one is done. */
        assert_int_equal(done_below, idx);
        if (n + 1 > seen) seen = n + 1;
        frames++;
        moqc_slice_release(&f.payload);
      }
      if (rc == MOQC_ERR_AGAIN) {
        i++;
        continue;
      }
      if (rc == MOQC_ERR_CLOSED && got[i] == ORD_FRAMES) complete++;
      else aborted++;
      if (idx == done_below) done_below++;
      moqc_group_consumer_del(c);
      open[i] = open[--nopen];
      got[i] = got[nopen];
    }
  }
  if (g) moqc_group_producer_del(g);
  for (size_t i = 0; i < nopen; i++) moqc_group_consumer_del(open[i]);
  moqc_session_stats st = moqc_session_get_stats(p.srv.s);
  assert_int_equal(st.groups_reset_old, 0);
  assert_int_equal(p.srv.debug_old_slow + p.srv.debug_old_expired, 0);
  assert_int_equal(aborted, 0);
  assert_int_equal(complete, GROUPS);
  assert_int_equal(frames, (uint64_t)GROUPS * ORD_FRAMES);
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

/* A long group that flows fine (frames written over 1 s, each delivered
 * within milliseconds) is not Old when the next group starts, although it
 * was created longer ago than the subscriber's 300 ms max latency: staleness
 * is the age of the data still undelivered, not of the group. */
static void t_long_group_not_old(void **state) {
  ts_opts o;
  memset(&o, 0, sizeof o);
  o.have_link = true;
  o.link = MEMLINK_CONFIG_DEFAULT;
  o.link.bandwidth = 1000 * 1000;
  o.link.latency_ns = 10 * MS;
  ts_pair p;
  ts_pair_open(&p, ts_version(state), &o);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "b", "t", NULL);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "b", 200 * MS));
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  sub.latency_max_ms = 300;
  moqc_track_consumer *tc = ts_subscribe(p.cli.sub, "b", "t", &sub, NULL);
  ts_run_for(p.env, 100 * MS);
  reader r;
  memset(&r, 0, sizeof r);
  moqc_group_producer *g = moqc_track_producer_append_group(pub.tp);
  uint64_t first = moqc_group_producer_sequence(g);
  uint8_t frame[1000];
  for (int f = 0; f < 20; f++) { /* one frame every 50 ms: 1 s */
    memset(frame, (int)(first * 31 + (uint64_t)f), sizeof frame);
    assert_int_equal(moqc_group_producer_write_frame_copy(g, frame, sizeof frame, 0), MOQC_OK);
    if (f < 19) ts_run_for(p.env, 50 * MS);
    reader_poll(&r, tc);
  }
  assert_int_equal(moqc_group_producer_finish(g), MOQC_OK);
  moqc_group_producer_del(g);
  /* The next group starts while the last frame is still on the wire. */
  uint64_t next = big_group(pub.tp, 1, 1000);
  for (int k = 0; k < 1000 && !(r.complete == 2 && r.nopen == 0); k++) {
    ts_run_for(p.env, 1 * MS);
    reader_poll(&r, tc);
  }
  moqc_session_stats st = moqc_session_get_stats(p.srv.s);
  assert_int_equal(st.groups_reset_old, 0);
  assert_int_equal(p.srv.debug_old_expired, 0);
  assert_int_equal(r.old, 0);
  assert_int_equal(r.complete, 2);
  assert_int_equal(r.last_complete, next);
  assert_int_equal(r.frames, 21);
  reader_fini(&r);
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

/* A group is in flight (moqc_session_stats.groups_in_flight) from its arrival
 * until its stream is acknowledged in full: over a slow link the groups
 * written wait there, and once everything is delivered none is left. */
static void t_in_flight_until_acked(void **state) {
  ts_opts o;
  memset(&o, 0, sizeof o);
  o.have_link = true;
  o.link = MEMLINK_CONFIG_DEFAULT;
  o.link.bandwidth = 100 * 1000; /* 100 kB/s: 3 x 20 kB take 0.6 s */
  o.link.latency_ns = 10 * MS;
  ts_pair p;
  ts_pair_open(&p, ts_version(state), &o);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "b", "t", NULL);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "b", 200 * MS));
  moqc_track_consumer *tc = ts_subscribe(p.cli.sub, "b", "t", NULL, NULL);
  ts_run_for(p.env, 100 * MS);
  assert_int_equal(moqc_session_get_stats(p.srv.s).groups_in_flight, 0);
  reader r;
  memset(&r, 0, sizeof r);
  for (int i = 0; i < 3; i++) big_group(pub.tp, 2, 10000);
  ts_run_for(p.env, 50 * MS);
  moqc_session_stats st = moqc_session_get_stats(p.srv.s);
  assert_int_equal(st.groups_in_flight, 3);
  for (int k = 0; k < 2000 && r.complete < 3; k++) {
    ts_run_for(p.env, 1 * MS);
    reader_poll(&r, tc);
  }
  assert_int_equal(r.complete, 3);
  ts_run_for(p.env, 100 * MS); /* the last ACKs */
  st = moqc_session_get_stats(p.srv.s);
  assert_int_equal(st.groups_sent, 3);
  assert_int_equal(st.groups_in_flight, 0);
  assert_int_equal(st.groups_reset_old, 0);
  reader_fini(&r);
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

/* Groups older than the subscriber's max latency are reset with Old (never the
 * newest) even without queue pressure. */
static void t_expiry_by_latency(void **state) {
  ts_opts o;
  memset(&o, 0, sizeof o);
  o.have_link = true;
  o.link = MEMLINK_CONFIG_DEFAULT;
  o.link.bandwidth = 20 * 1000; /* 20 kB/s: a 30 kB group takes 1.5 s */
  ts_pair p;
  ts_pair_open(&p, ts_version(state), &o);
  ts_pub pub;
  /* An IETF SUBSCRIBE carries no max latency (moqc sends no DELIVERY_TIMEOUT):
   * there the track's own applies. */
  bool ietf = ts_version(state) >= 14;
  moqc_track_info info = MOQC_TRACK_INFO_DEFAULT;
  info.latency_max_ms = 300;
  ts_publish(&pub, p.env, p.srv.pub, "b", "t", ietf ? &info : NULL);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "b", 200 * MS));
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  sub.latency_max_ms = 300;
  moqc_track_consumer *tc = ts_subscribe(p.cli.sub, "b", "t", &sub, NULL);
  ts_run_for(p.env, 100 * MS);
  reader r;
  memset(&r, 0, sizeof r);
  big_group(pub.tp, 3, 10000);
  ts_run_for(p.env, 200 * MS);
  big_group(pub.tp, 1, 1000); /* newer: group 0 is now old once 300 ms pass */
  for (int k = 0; k < 3000; k++) {
    ts_run_for(p.env, 1 * MS);
    reader_poll(&r, tc);
  }
  moqc_session_stats st = moqc_session_get_stats(p.srv.s);
  assert_int_equal(st.groups_reset_old, 1);
  assert_int_equal(p.srv.debug_old_expired, 1);
  assert_int_equal(p.srv.debug_old_slow, 0);
  assert_non_null(strstr(p.srv.debug_last, "max latency 300 ms"));
  assert_int_equal(r.old, 1);
  assert_int_equal(r.complete, 1);
  assert_int_equal(r.last_complete, 1);
  reader_fini(&r);
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

/* Two tracks over a narrow link: the higher-priority subscription's group
 * arrives first although it was written second. */
static void t_priorities(void **state) {
  ts_opts o;
  memset(&o, 0, sizeof o);
  o.have_link = true;
  o.link = MEMLINK_CONFIG_DEFAULT;
  o.link.bandwidth = 100 * 1000; /* 100 kB/s */
  o.link.latency_ns = 5 * MS;
  ts_pair p;
  ts_pair_open(&p, ts_version(state), &o);
  moqc_broadcast_producer *bp = moqc_broadcast_producer_new(p.env);
  int err = 0;
  moqc_track_producer *lo = moqc_broadcast_producer_create_track(bp, "lo", NULL, &err);
  moqc_track_producer *hi = moqc_broadcast_producer_create_track(bp, "hi", NULL, &err);
  moqc_broadcast_consumer *bc = moqc_broadcast_producer_consume(bp);
  assert_int_equal(moqc_origin_publish(p.srv.pub, "b", bc, NULL), MOQC_OK);
  moqc_broadcast_consumer_del(bc);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "b", 200 * MS));
  moqc_subscription s_lo = MOQC_SUBSCRIPTION_DEFAULT, s_hi = MOQC_SUBSCRIPTION_DEFAULT;
  s_lo.priority = 1;
  s_hi.priority = 200;
  moqc_track_consumer *tlo = ts_subscribe(p.cli.sub, "b", "lo", &s_lo, NULL);
  moqc_track_consumer *thi = ts_subscribe(p.cli.sub, "b", "hi", &s_hi, NULL);
  ts_run_for(p.env, 100 * MS);

  big_group(lo, 5, 10000); /* 50 kB each: 0.5 s on the link */
  big_group(hi, 5, 10000);
  reader rlo, rhi;
  memset(&rlo, 0, sizeof rlo);
  memset(&rhi, 0, sizeof rhi);
  uint64_t t0 = moqc_clock_now(moqc_env_clock(p.env)), t_lo = 0, t_hi = 0;
  for (int k = 0; k < 3000 && !(t_lo && t_hi); k++) {
    ts_run_for(p.env, 1 * MS);
    reader_poll(&rlo, tlo);
    reader_poll(&rhi, thi);
    uint64_t now = moqc_clock_now(moqc_env_clock(p.env)) - t0;
    if (!t_lo && rlo.complete) t_lo = now;
    if (!t_hi && rhi.complete) t_hi = now;
  }
  assert_true(t_hi > 0 && t_lo > 0);
  assert_true(t_hi < t_lo);
  assert_true(t_hi < 600 * MS); /* hi went first, about 0.5 s */
  assert_true(t_lo >= 1000 * MS);

  /* SUBSCRIBE_UPDATE: swap the priorities; the next pair of groups swaps too. */
  s_lo.priority = 250;
  assert_int_equal(moqc_track_consumer_update(tlo, &s_lo), MOQC_OK);
  ts_run_for(p.env, 100 * MS);
  big_group(hi, 5, 10000);
  big_group(lo, 5, 10000);
  t0 = moqc_clock_now(moqc_env_clock(p.env));
  t_lo = t_hi = 0;
  uint64_t lo0 = rlo.complete, hi0 = rhi.complete;
  for (int k = 0; k < 3000 && !(t_lo && t_hi); k++) {
    ts_run_for(p.env, 1 * MS);
    reader_poll(&rlo, tlo);
    reader_poll(&rhi, thi);
    uint64_t now = moqc_clock_now(moqc_env_clock(p.env)) - t0;
    if (!t_lo && rlo.complete > lo0) t_lo = now;
    if (!t_hi && rhi.complete > hi0) t_hi = now;
  }
  assert_true(t_lo > 0 && t_hi > 0);
  assert_true(t_lo < t_hi);

  reader_fini(&rlo);
  reader_fini(&rhi);
  moqc_track_consumer_del(tlo);
  moqc_track_consumer_del(thi);
  moqc_track_producer_del(lo);
  moqc_track_producer_del(hi);
  moqc_broadcast_producer_del(bp);
  ts_pair_close(&p);
}

/* Zero copy on the publisher side: with frames written by reference, the only
 * payload copies are each subscriber's single ingest copy. */
static void wrap_release(void *ctx, const uint8_t *data, size_t len) {
  (void)len;
  (void)data;
  free(ctx);
}

static uint64_t copied_for(int version, int nsubs) {
  moqc_env *env = ts_env_new();
  moqc_origin *pub_o = moqc_origin_new(env, NULL);
  ts_opts o;
  memset(&o, 0, sizeof o);
  o.srv_pub_shared = pub_o;
  ts_pair pairs[8];
  for (int i = 0; i < nsubs; i++) ts_pair_open_env(&pairs[i], env, version, &o);
  ts_pub pub;
  ts_publish(&pub, env, pub_o, "b", "t", NULL);
  moqc_track_consumer *tcs[8];
  for (int i = 0; i < nsubs; i++) {
    assert_true(ts_wait_announce(env, pairs[i].cli.sub, "b", 100 * MS));
    tcs[i] = ts_subscribe(pairs[i].cli.sub, "b", "t", NULL, NULL);
  }
  ts_run_for(env, 20 * MS);

  uint64_t before = moqc_buf_get_stats().bytes_copied;
  const size_t frame = 5000, frames = 20;
  for (int grp = 0; grp < 5; grp++) {
    moqc_group_producer *g = moqc_track_producer_append_group(pub.tp);
    for (size_t f = 0; f < frames; f++) {
      uint8_t *mem = malloc(frame);
      memset(mem, (int)(f + 1), frame);
      moqc_buf *b = moqc_buf_wrap(mem, frame, wrap_release, mem);
      moqc_slice sl = {b, 0, frame};
      assert_int_equal(moqc_group_producer_write_frame(g, &sl, f), MOQC_OK);
      moqc_buf_unref(b);
    }
    moqc_group_producer_finish(g);
    moqc_group_producer_del(g);
    ts_run_for(env, 20 * MS);
  }
  ts_run_for(env, 100 * MS);
  uint64_t copied = moqc_buf_get_stats().bytes_copied - before;
  for (int i = 0; i < nsubs; i++) {
    reader r;
    memset(&r, 0, sizeof r);
    reader_poll(&r, tcs[i]);
    assert_int_equal(r.complete, 5);
    reader_fini(&r);
    moqc_track_consumer_del(tcs[i]);
  }
  ts_pub_del(&pub);
  for (int i = 0; i < nsubs; i++) ts_pair_close_env(&pairs[i]);
  moqc_origin_unref(pub_o);
  ts_settle(env);
  moqc_env_del(env);
  assert_int_equal(copied, (uint64_t)nsubs * 5 * frames * frame);
  return copied / (uint64_t)(5 * frames * frame);
}

static void t_zero_copy(void **state) {
  int v = ts_version(state);
  /* One ingest copy per subscriber, none per subscriber on the publisher. */
  assert_int_equal(copied_for(v, 1), 1);
  assert_int_equal(copied_for(v, 4), 4);
}

/* Tight stream limits: group streams and control streams wait for credit
 * (separately), and everything still arrives. */
static void t_stream_credit(void **state) {
  ts_opts o;
  memset(&o, 0, sizeof o);
  o.have_link = true;
  o.link = MEMLINK_CONFIG_DEFAULT;
  o.link.latency_ns = 2 * MS;
  o.link.max_streams_uni = 2;  /* SETUP (lite-05) + 1 group at a time */
  o.link.max_streams_bidi = 4; /* announce (+ probe) + a couple of requests */
  ts_pair p;
  ts_pair_open(&p, ts_version(state), &o);
  moqc_broadcast_producer *bp = moqc_broadcast_producer_new(p.env);
  int err = 0;
  moqc_track_producer *tp[3];
  const char *names[3] = {"a", "b", "c"};
  for (int i = 0; i < 3; i++)
    tp[i] = moqc_broadcast_producer_create_track(bp, names[i], NULL, &err);
  moqc_broadcast_consumer *bc = moqc_broadcast_producer_consume(bp);
  assert_int_equal(moqc_origin_publish(p.srv.pub, "b", bc, NULL), MOQC_OK);
  moqc_broadcast_consumer_del(bc);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "b", 200 * MS));
  moqc_track_consumer *tc[3];
  for (int i = 0; i < 3; i++) {
    tc[i] = ts_subscribe(p.cli.sub, "b", names[i], NULL, NULL);
    big_group(tp[i], 1, 100);
  }
  reader r[3];
  memset(r, 0, sizeof r);
  for (int g = 0; g < 4; g++) {
    for (int i = 0; i < 3; i++) big_group(tp[i], 2, 3000);
    for (int k = 0; k < 100; k++) {
      ts_run_for(p.env, 1 * MS);
      for (int i = 0; i < 3; i++) reader_poll(&r[i], tc[i]);
    }
  }
  for (int k = 0; k < 1500; k++) {
    ts_run_for(p.env, 1 * MS);
    for (int i = 0; i < 3; i++) reader_poll(&r[i], tc[i]);
  }
  for (int i = 0; i < 3; i++) {
    assert_true(r[i].complete >= 4); /* every later group of every track */
    assert_int_equal(r[i].last_complete, 4);
    reader_fini(&r[i]);
    moqc_track_consumer_del(tc[i]);
    moqc_track_producer_del(tp[i]);
  }
  assert_false(p.cli.closed);
  assert_false(p.srv.closed);
  moqc_broadcast_producer_del(bp);
  ts_pair_close(&p);
}

/* Groups waiting for stream credit are capped per subscription
 * (max_pending_groups: the oldest are skipped), but only while the transport
 * is actually out of credit: a burst of groups in one pass on a link with
 * credit all go out (stream opening is deferred to the end of the pass, so
 * every group of the burst is "pending" for a moment). */
static void pending_burst(int v, uint64_t max_uni, uint64_t open_first, uint64_t expect) {
  ts_opts o;
  memset(&o, 0, sizeof o);
  o.have_link = true;
  o.link = MEMLINK_CONFIG_DEFAULT;
  o.link.latency_ns = 1 * MS;
  o.link.max_streams_uni = max_uni;
  o.srv_limits.max_pending_groups = 4;
  ts_pair p;
  ts_pair_open(&p, v, &o);
  ts_pub pub;
  ts_publish(&pub, p.env, p.srv.pub, "b", "t", NULL);
  assert_true(ts_wait_announce(p.env, p.cli.sub, "b", 200 * MS));
  moqc_track_consumer *tc = ts_subscribe(p.cli.sub, "b", "t", NULL, NULL);
  assert_true(ts_wait_serving(p.env, p.srv.s, 1, 200 * MS));
  ts_run_for(p.env, 20 * MS);
  /* Groups left open hold stream credit. */
  moqc_group_producer *held[4];
  assert_true(open_first <= 4);
  for (uint64_t i = 0; i < open_first; i++) {
    held[i] = moqc_track_producer_append_group(pub.tp);
    assert_non_null(held[i]);
    assert_int_equal(moqc_group_producer_write_frame_copy(held[i], "x", 1, 1), MOQC_OK);
  }
  ts_run_for(p.env, 20 * MS);
  static const char *const one[] = {"frame"};
  for (int i = 0; i < 20; i++) ts_group(pub.tp, one, 1, true); /* one pass */
  ts_run_for(p.env, 20 * MS);
  for (uint64_t i = 0; i < open_first; i++) {
    assert_int_equal(moqc_group_producer_finish(held[i]), MOQC_OK);
    moqc_group_producer_del(held[i]);
  }
  ts_run_for(p.env, 300 * MS);
  assert_int_equal(moqc_session_get_stats(p.cli.s).groups_received, expect);
  assert_false(p.cli.closed);
  assert_false(p.srv.closed);
  moqc_track_consumer_del(tc);
  ts_pub_del(&pub);
  ts_pair_close(&p);
}

static void t_pending_groups(void **state) {
  int v = ts_version(state);
  /* Unlimited credit: all 20 of the burst arrive. */
  pending_burst(v, 0, 0, 20);
  /* Two streams, both held: the burst waits, capped at the newest 4 (IETF
   * 17+: the SETUP stream holds one of the two, so the second held group
   * waits too and is the oldest one skipped). */
  pending_burst(v, 2, 2, (v >= 17 ? 1 : 2) + 4);
}

/* IETF group streams share moq-lite's writer and expiry (issue 12): the same
 * tests for drafts 14, 16 and 18 (varint forms and first-object headers differ). */
static int flow_ietf_versions[3] = {14, 16, 18};
#define TS_TEST_IETF(fn)                                     \
  cmocka_unit_test_prestate(fn, &flow_ietf_versions[0]),     \
      cmocka_unit_test_prestate(fn, &flow_ietf_versions[1]), \
      cmocka_unit_test_prestate(fn, &flow_ietf_versions[2])

int main(void) {
  const struct CMUnitTest tests[] = {
      TS_TEST3(t_slow_subscriber),
      TS_TEST3(t_fast_link_no_reset),
      TS_TEST3(t_ordered_saturated),
      TS_TEST3(t_long_group_not_old),
      TS_TEST3(t_expiry_by_latency),
      TS_TEST3(t_priorities),
      TS_TEST3(t_zero_copy),
      TS_TEST3(t_stream_credit),
      TS_TEST3(t_pending_groups),
      TS_TEST_IETF(t_slow_subscriber),
      TS_TEST_IETF(t_fast_link_no_reset),
      TS_TEST_IETF(t_long_group_not_old),
      TS_TEST_IETF(t_expiry_by_latency),
      TS_TEST_IETF(t_zero_copy),
      TS_TEST_IETF(t_stream_credit),
      TS_TEST_IETF(t_pending_groups),
      TS_TEST3(t_in_flight_until_acked),
      TS_TEST_IETF(t_in_flight_until_acked),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
