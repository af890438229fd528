/* Session tests: the publisher's batched group-stream writes (serve.c
 * moqc__go_pump): headers and small payload chunks are copied into one staging
 * buffer per write, large chunks go out as the model's slices, the FIN rides
 * on the last write. Frames of every size class, more than a staging buffer
 * and more slices than one write holds, chunked frames and frames that arrive
 * while the stream is already open must all reach the subscriber byte for
 * byte, in order, with their timestamps (lite-05). Every test runs for
 * lite-03/04/05. */
#include "test_session_common.h"

/* Payload byte k of frame i. */
static uint8_t pat(size_t i, size_t k) { return (uint8_t)(i * 37u + k * 11u + 1u); }

static void fill(uint8_t *p, size_t i, size_t n) {
  for (size_t k = 0; k < n; k++) p[k] = pat(i, k);
}

/* Sizes around the copy threshold (512) and the staging size (4096), many
 * small frames (more than one staging buffer) and many large ones (more
 * slices than one write carries). */
#define NSIZES 112
static void sizes_init(size_t *sz) {
  static const size_t head[] = {0, 1, 100, 511, 512, 513, 4095, 4096, 4097, 5000, 0, 63, 64, 12000};
  size_t n = 0;
  for (size_t i = 0; i < sizeof head / sizeof head[0]; i++) sz[n++] = head[i];
  while (n < 60) sz[n++] = 100;                        /* 47 x 100 B: > 4096 staged bytes */
  while (n < 90) sz[n++] = 600;                        /* 30 slices of 600 B: > 16 per write */
  for (; n < NSIZES; n++) sz[n] = (n % 2) ? 20 : 1500; /* alternate copy / slice */
}

/* Frame timestamps that exercise the lite-05 zigzag deltas (up, down, big). */
static uint64_t ts_of(size_t i) {
  static const uint64_t t[] = {1000, 5, 5, 1ull << 40, 7, 64, 63, 8192, 8191, 1ull << 30};
  return i < sizeof t / sizeof t[0] ? t[i] : 2000 + i;
}

static void write_frame(moqc_group_producer *g, size_t i, size_t size, bool chunked) {
  uint8_t *buf = malloc(size ? size : 1);
  fill(buf, i, size);
  if (size >= 12000) {
    /* 600-byte chunks: more zero-copy slices in a row than one write holds. */
    moqc_frame_info fi = {.size = size, .timestamp = ts_of(i)};
    int err = 0;
    moqc_frame_producer *f = moqc_group_producer_create_frame(g, &fi, &err);
    assert_non_null(f);
    for (size_t off = 0; off < size; off += 600)
      assert_int_equal(
          moqc_frame_producer_write_copy(f, buf + off, size - off < 600 ? size - off : 600),
          MOQC_OK);
    assert_int_equal(moqc_frame_producer_finish(f), MOQC_OK);
    moqc_frame_producer_del(f);
  } else if (!chunked || size < 3) {
    assert_int_equal(moqc_group_producer_write_frame_copy(g, buf, size, ts_of(i)), MOQC_OK);
  } else {
    /* Three chunks: small, rest-minus-one, one byte. */
    moqc_frame_info fi = {.size = size, .timestamp = ts_of(i)};
    int err = 0;
    moqc_frame_producer *f = moqc_group_producer_create_frame(g, &fi, &err);
    assert_non_null(f);
    size_t a = size / 7 + 1, b = size - a - 1;
    assert_int_equal(moqc_frame_producer_write_copy(f, buf, a), MOQC_OK);
    assert_int_equal(moqc_frame_producer_write_copy(f, buf + a, b), MOQC_OK);
    assert_int_equal(moqc_frame_producer_write_copy(f, buf + a + b, 1), MOQC_OK);
    assert_int_equal(moqc_frame_producer_finish(f), MOQC_OK);
    moqc_frame_producer_del(f);
  }
  free(buf);
}

/* Read the group: every frame with its size, bytes and (lite-05) timestamp. */
static void check_group(int v, moqc_track_consumer *tc, const size_t *sz, size_t n) {
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_OK);
  for (size_t i = 0; i < n; i++) {
    moqc_frame f;
    int rc = moqc_group_consumer_read_frame(g, &f);
    if (rc != MOQC_OK) fail_msg("frame %zu: %d", i, rc);
    if (f.payload.len != sz[i]) fail_msg("frame %zu: %zu bytes, want %zu", i, f.payload.len, sz[i]);
    const uint8_t *p = moqc_slice_ptr(&f.payload);
    for (size_t k = 0; k < sz[i]; k++)
      if (p[k] != pat(i, k)) fail_msg("frame %zu byte %zu corrupted", i, k);
    if (v == 5) assert_int_equal(f.info.timestamp, ts_of(i));
    moqc_slice_release(&f.payload);
  }
  moqc_frame f;
  assert_int_equal(moqc_group_consumer_read_frame(g, &f), MOQC_ERR_CLOSED);
  moqc_group_consumer_del(g);
}

typedef struct fixture {
  ts_pair p;
  ts_pub pub;
  moqc_track_consumer *tc;
} fixture;

static void fx_open(fixture *x, int v) {
  ts_opts o;
  memset(&o, 0, sizeof o);
  o.have_link = true;
  o.link = MEMLINK_CONFIG_DEFAULT;
  o.link.latency_ns = 1 * MS;
  ts_pair_open(&x->p, v, &o);
  ts_publish(&x->pub, x->p.env, x->p.srv.pub, "b", "t", NULL);
  assert_true(ts_wait_announce(x->p.env, x->p.cli.sub, "b", 100 * MS));
  x->tc = ts_subscribe(x->p.cli.sub, "b", "t", NULL, NULL);
  assert_true(ts_wait_serving(x->p.env, x->p.srv.s, 1, 100 * MS));
  ts_run_for(x->p.env, 10 * MS);
}

static void fx_close(fixture *x) {
  moqc_track_consumer_del(x->tc);
  ts_pub_del(&x->pub);
  ts_pair_close(&x->p);
}

/* The whole group is written before the session sees it: one pump, every
 * size class in one go. */
static void t_batch_whole_group(void **state) {
  int v = ts_version(state);
  fixture x;
  fx_open(&x, v);
  size_t sz[NSIZES];
  sizes_init(sz);
  for (int chunked = 0; chunked < 2; chunked++) {
    moqc_group_producer *g = moqc_track_producer_append_group(x.pub.tp);
    assert_non_null(g);
    for (size_t i = 0; i < NSIZES; i++) write_frame(g, i, sz[i], chunked && i % 3 == 0);
    assert_int_equal(moqc_group_producer_finish(g), MOQC_OK);
    moqc_group_producer_del(g);
    ts_run_for(x.p.env, 50 * MS);
    check_group(v, x.tc, sz, NSIZES);
  }
  moqc_session_stats st = moqc_session_get_stats(x.p.srv.s);
  assert_int_equal(st.groups_sent, 2);
  fx_close(&x);
}

/* Frames trickle in while the stream is open: pumps end mid-group and mid-frame
 * (a chunked frame's chunks straddle pumps), the FIN comes alone. */
static void t_batch_trickle(void **state) {
  int v = ts_version(state);
  fixture x;
  fx_open(&x, v);
  size_t sz[NSIZES];
  sizes_init(sz);
  moqc_group_producer *g = moqc_track_producer_append_group(x.pub.tp);
  assert_non_null(g);
  for (size_t i = 0; i < NSIZES; i++) {
    if (i % 5 == 4 && sz[i] >= 3 && sz[i] < 12000) {
      moqc_frame_info fi = {.size = sz[i], .timestamp = ts_of(i)};
      int err = 0;
      moqc_frame_producer *f = moqc_group_producer_create_frame(g, &fi, &err);
      assert_non_null(f);
      uint8_t *buf = malloc(sz[i]);
      fill(buf, i, sz[i]);
      size_t half = sz[i] / 2;
      assert_int_equal(moqc_frame_producer_write_copy(f, buf, half), MOQC_OK);
      ts_run_for(x.p.env, 1 * MS);
      assert_int_equal(moqc_frame_producer_write_copy(f, buf + half, sz[i] - half), MOQC_OK);
      assert_int_equal(moqc_frame_producer_finish(f), MOQC_OK);
      moqc_frame_producer_del(f);
      free(buf);
    } else {
      write_frame(g, i, sz[i], false);
    }
    if (i % 3 == 0) ts_run_for(x.p.env, 1 * MS);
  }
  ts_run_for(x.p.env, 5 * MS);
  assert_int_equal(moqc_group_producer_finish(g), MOQC_OK);
  moqc_group_producer_del(g);
  ts_run_for(x.p.env, 50 * MS);
  check_group(v, x.tc, sz, NSIZES);
  fx_close(&x);
}

/* Many one-frame groups (audio): header, frame and FIN in one write each,
 * all delivered; the subscription ends cleanly after the last one. */
static void t_batch_small_groups(void **state) {
  int v = ts_version(state);
  fixture x;
  fx_open(&x, v);
  size_t sz[1] = {160};
  for (int n = 0; n < 50; n++) {
    moqc_group_producer *g = moqc_track_producer_append_group(x.pub.tp);
    write_frame(g, 0, sz[0], false);
    assert_int_equal(moqc_group_producer_finish(g), MOQC_OK);
    moqc_group_producer_del(g);
    ts_run_for(x.p.env, 20 * MS);
    check_group(v, x.tc, sz, 1);
  }
  moqc_session_stats st = moqc_session_get_stats(x.p.srv.s);
  assert_int_equal(st.groups_sent, 50);
  assert_int_equal(st.groups_reset_old, 0);
  fx_close(&x);
}

/* A group aborted after more frames were staged in the same pump: the
 * stream is reset with the group's code (nothing leaks, the session goes on). */
static void t_batch_abort_after_frames(void **state) {
  int v = ts_version(state);
  fixture x;
  fx_open(&x, v);
  moqc_group_producer *g = moqc_track_producer_append_group(x.pub.tp);
  write_frame(g, 0, 100, false);
  ts_run_for(x.p.env, 10 * MS); /* the stream is open, frame 0 delivered */
  moqc_group_consumer *gc = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(x.tc, &gc), MOQC_OK);
  for (size_t i = 1; i < 5; i++) write_frame(g, i, 100, false);
  write_frame(g, 5, 2000, false);
  moqc_group_producer_abort(g, MOQC_CODE_APP_BASE + 5);
  moqc_group_producer_del(g);
  ts_run_for(x.p.env, 50 * MS);
  moqc_frame f;
  int rc;
  while ((rc = moqc_group_consumer_read_frame(gc, &f)) == MOQC_OK) moqc_slice_release(&f.payload);
  assert_int_equal(rc, MOQC_ERR_ABORTED);
  assert_int_equal(moqc_group_consumer_code(gc), MOQC_CODE_APP_BASE + 5);
  moqc_group_consumer_del(gc);
  /* The next group flows normally. */
  size_t sz[1] = {300};
  g = moqc_track_producer_append_group(x.pub.tp);
  write_frame(g, 0, sz[0], false);
  assert_int_equal(moqc_group_producer_finish(g), MOQC_OK);
  moqc_group_producer_del(g);
  ts_run_for(x.p.env, 50 * MS);
  check_group(v, x.tc, sz, 1);
  fx_close(&x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      TS_TEST3(t_batch_whole_group),
      TS_TEST3(t_batch_trickle),
      TS_TEST3(t_batch_small_groups),
      TS_TEST3(t_batch_abort_after_frames),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
