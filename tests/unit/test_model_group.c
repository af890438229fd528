/* Unit tests: src/model/group.c (groups and chunked frames). */
#include "test_model_common.h"

static void test_write_read_close(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_group_producer *g = moqc_group_producer_new(env, 7);
  moqc_group_consumer *c = moqc_group_producer_consume(g);
  assert_int_equal(moqc_group_consumer_sequence(c), 7);
  moqc_frame f;
  assert_int_equal(moqc_group_consumer_read_frame(c, &f), MOQC_ERR_AGAIN);
  assert_int_equal(tm_write(g, "one"), MOQC_OK);
  assert_int_equal(tm_write(g, "two"), MOQC_OK);
  tm_expect_frame(c, "one");
  tm_expect_frame(c, "two");
  assert_int_equal(moqc_group_consumer_read_frame(c, &f), MOQC_ERR_AGAIN);
  assert_false(moqc_group_consumer_is_done(c));
  assert_int_equal(moqc_group_producer_finish(g), MOQC_OK);
  assert_int_equal(moqc_group_producer_finish(g), MOQC_OK); /* idempotent */
  assert_true(moqc_group_consumer_is_done(c));
  assert_int_equal(moqc_group_consumer_read_frame(c, &f), MOQC_ERR_CLOSED);
  assert_int_equal(tm_write(g, "late"), MOQC_ERR_STATE);
  assert_int_equal(moqc_group_consumer_frames_available(c), 2);
  moqc_group_consumer_del(c);
  moqc_group_producer_del(g);
  moqc_env_del(env);
}

static void test_late_joiner_reads_from_zero(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_group_producer *g = moqc_group_producer_new(env, 0);
  moqc_group_consumer *early = moqc_group_producer_consume(g);
  assert_int_equal(tm_write(g, "a"), MOQC_OK);
  assert_int_equal(tm_write(g, "b"), MOQC_OK);
  tm_expect_frame(early, "a");
  tm_expect_frame(early, "b");
  moqc_group_consumer *late = moqc_group_producer_consume(g);
  tm_expect_frame(late, "a"); /* from frame 0, not from where others are */
  moqc_group_consumer *twin = moqc_group_consumer_clone(late); /* same cursor */
  tm_expect_frame(twin, "b");
  tm_expect_frame(late, "b");
  moqc_group_producer_finish(g);
  moqc_frame f;
  assert_int_equal(moqc_group_consumer_read_frame(twin, &f), MOQC_ERR_CLOSED);
  moqc_group_consumer_del(twin);
  moqc_group_consumer_del(late);
  moqc_group_consumer_del(early);
  moqc_group_producer_del(g);
  moqc_env_del(env);
}

static void test_chunked_frame(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_group_producer *g = moqc_group_producer_new(env, 0);
  moqc_group_consumer *c = moqc_group_producer_consume(g);
  moqc_group_consumer *s = moqc_group_producer_consume(g);
  moqc_frame_info info = {6, 42};
  int err = -1;
  moqc_frame_producer *fp = moqc_group_producer_create_frame(g, &info, &err);
  assert_non_null(fp);
  assert_int_equal(err, MOQC_OK);
  /* only one frame open at a time, and no whole frames meanwhile */
  assert_null(moqc_group_producer_create_frame(g, &info, &err));
  assert_int_equal(err, MOQC_ERR_STATE);
  assert_int_equal(tm_write(g, "x"), MOQC_ERR_STATE);
  assert_int_equal(moqc_group_producer_finish(g), MOQC_ERR_STATE);

  assert_int_equal(moqc_frame_producer_write_copy(fp, "abc", 3), MOQC_OK);
  moqc_frame f;
  assert_int_equal(moqc_group_consumer_read_frame(c, &f), MOQC_ERR_AGAIN); /* incomplete */
  /* streaming reader sees the header and the first chunk already */
  moqc_frame_info got;
  assert_int_equal(moqc_group_consumer_next_frame(s, &got), MOQC_OK);
  assert_int_equal(got.size, 6);
  assert_int_equal(got.timestamp, 42);
  moqc_slice ch;
  assert_int_equal(moqc_group_consumer_read_chunk(s, &ch), MOQC_OK);
  assert_int_equal(ch.len, 3);
  moqc_slice_release(&ch);
  assert_int_equal(moqc_group_consumer_read_chunk(s, &ch), MOQC_ERR_AGAIN);

  assert_int_equal(moqc_frame_producer_write_copy(fp, "def", 3), MOQC_OK);
  assert_int_equal(moqc_frame_producer_finish(fp), MOQC_OK);
  moqc_frame_producer_del(fp);
  assert_int_equal(moqc_group_consumer_read_chunk(s, &ch), MOQC_OK);
  assert_memory_equal(moqc_slice_ptr(&ch), "def", 3);
  moqc_slice_release(&ch);
  assert_int_equal(moqc_group_consumer_read_chunk(s, &ch), MOQC_ERR_CLOSED); /* end of frame */
  tm_expect_frame(c, "abcdef"); /* joined into one buf */
  assert_int_equal(tm_write(g, "next"), MOQC_OK);
  tm_expect_frame(s, "next"); /* read_frame after a streamed frame moves on */
  moqc_group_consumer_del(s);
  moqc_group_consumer_del(c);
  moqc_group_producer_del(g);
  moqc_env_del(env);
}

static void test_chunk_over_size(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_group_producer *g = moqc_group_producer_new(env, 0);
  moqc_group_consumer *c = moqc_group_producer_consume(g);
  moqc_frame_info info = {4, 0};
  moqc_frame_producer *fp = moqc_group_producer_create_frame(g, &info, NULL);
  assert_int_equal(moqc_frame_producer_write_copy(fp, "abc", 3), MOQC_OK);
  /* 3 + 2 > 4: refused, nothing appended, the group stays healthy */
  assert_int_equal(moqc_frame_producer_write_copy(fp, "de", 2), MOQC_ERR_WRONG_SIZE);
  assert_false(moqc_group_consumer_is_done(c));
  assert_int_equal(moqc_frame_producer_write_copy(fp, "d", 1), MOQC_OK);
  assert_int_equal(moqc_frame_producer_write_copy(fp, "e", 1), MOQC_ERR_WRONG_SIZE);
  assert_int_equal(moqc_frame_producer_finish(fp), MOQC_OK);
  assert_int_equal(moqc_frame_producer_write_copy(fp, "", 0), MOQC_ERR_STATE); /* finished */
  moqc_frame_producer_del(fp);
  tm_expect_frame(c, "abcd");
  moqc_group_consumer_del(c);
  moqc_group_producer_del(g);
  moqc_env_del(env);
}

static void test_chunk_short_finish_aborts(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_group_producer *g = moqc_group_producer_new(env, 0);
  moqc_group_consumer *c = moqc_group_producer_consume(g);
  assert_int_equal(tm_write(g, "ok"), MOQC_OK);
  moqc_frame_info info = {10, 0};
  moqc_frame_producer *fp = moqc_group_producer_create_frame(g, &info, NULL);
  assert_int_equal(moqc_frame_producer_write_copy(fp, "short", 5), MOQC_OK);
  assert_int_equal(moqc_frame_producer_finish(fp), MOQC_ERR_WRONG_SIZE);
  moqc_frame_producer_del(fp);
  moqc_frame f;
  assert_int_equal(moqc_group_consumer_read_frame(c, &f), MOQC_ERR_WRONG_SIZE);
  assert_int_equal(moqc_group_consumer_code(c), MOQC_CODE_WRONG_SIZE);
  assert_true(moqc_group_consumer_is_done(c));
  assert_int_equal(tm_write(g, "more"), MOQC_ERR_STATE);
  assert_int_equal(moqc_group_producer_finish(g), MOQC_ERR_STATE);
  moqc_group_consumer_del(c);
  moqc_group_producer_del(g);
  moqc_env_del(env);
}

static void test_chunk_del_without_finish(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_group_producer *g = moqc_group_producer_new(env, 0);
  moqc_group_consumer *c = moqc_group_producer_consume(g);
  moqc_frame_info info = {3, 0};
  moqc_frame_producer *fp = moqc_group_producer_create_frame(g, &info, NULL);
  assert_int_equal(moqc_frame_producer_write_copy(fp, "abc", 3), MOQC_OK); /* full, unfinished */
  moqc_frame_producer_del(fp);
  moqc_frame f;
  assert_int_equal(moqc_group_consumer_read_frame(c, &f), MOQC_ERR_WRONG_SIZE);
  assert_int_equal(moqc_group_consumer_code(c), MOQC_CODE_WRONG_SIZE);
  moqc_group_consumer_del(c);
  moqc_group_producer_del(g);
  moqc_env_del(env);
}

static void test_byte_cap_lagged(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_group_producer *g = moqc_group_producer_new(env, 0);
  moqc_group_producer_set_max_bytes(g, 100);
  moqc_group_consumer *fast = moqc_group_producer_consume(g);
  moqc_group_consumer *slow = moqc_group_producer_consume(g);
  char buf[41];
  moqc_frame f;
  for (int i = 0; i < 10; i++) {
    memset(buf, 'a' + i, 40);
    buf[40] = 0;
    assert_int_equal(tm_write(g, buf), MOQC_OK);
    tm_expect_frame(fast, buf); /* keeps up */
  }
  assert_int_equal(moqc_group_consumer_read_frame(slow, &f), MOQC_ERR_LAGGED);
  assert_int_equal(moqc_group_consumer_read_frame(slow, &f), MOQC_ERR_LAGGED); /* sticky */
  /* a late joiner starts at frame 0, which is gone too */
  moqc_group_consumer *late = moqc_group_producer_consume(g);
  assert_int_equal(moqc_group_consumer_read_frame(late, &f), MOQC_ERR_LAGGED);
  assert_int_equal(moqc_group_producer_finish(g), MOQC_OK);
  assert_int_equal(moqc_group_consumer_read_frame(fast, &f), MOQC_ERR_CLOSED);
  assert_int_equal(moqc_group_consumer_frames_available(fast), 10);
  moqc_group_consumer_del(late);
  moqc_group_consumer_del(slow);
  moqc_group_consumer_del(fast);
  moqc_group_producer_del(g);
  moqc_env_del(env);
}

static void test_abort_and_drop(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  /* explicit abort: every consumer sees the code */
  moqc_group_producer *g = moqc_group_producer_new(env, 0);
  moqc_group_consumer *a = moqc_group_producer_consume(g);
  moqc_group_consumer *b = moqc_group_producer_consume(g);
  assert_int_equal(tm_write(g, "x"), MOQC_OK);
  moqc_group_producer_abort(g, MOQC_CODE_APP_BASE + 5);
  moqc_frame f;
  assert_int_equal(moqc_group_consumer_read_frame(a, &f), MOQC_ERR_ABORTED);
  assert_int_equal(moqc_group_consumer_read_frame(b, &f), MOQC_ERR_ABORTED);
  assert_int_equal(moqc_group_consumer_code(b), MOQC_CODE_APP_BASE + 5);
  moqc_group_consumer_del(a);
  moqc_group_consumer_del(b);
  moqc_group_producer_del(g);

  /* last producer (of two clones) dropped without finish: Dropped */
  g = moqc_group_producer_new(env, 1);
  moqc_group_producer *g2 = moqc_group_producer_clone(g);
  a = moqc_group_producer_consume(g);
  moqc_group_producer_del(g);
  assert_int_equal(moqc_group_consumer_read_frame(a, &f), MOQC_ERR_AGAIN); /* one left */
  moqc_group_producer_del(g2);
  assert_int_equal(moqc_group_consumer_read_frame(a, &f), MOQC_ERR_DROPPED);
  assert_int_equal(moqc_group_consumer_code(a), MOQC_CODE_DROPPED);
  moqc_group_consumer_del(a);

  /* finished then dropped: a clean end */
  g = moqc_group_producer_new(env, 2);
  a = moqc_group_producer_consume(g);
  assert_int_equal(tm_write(g, "y"), MOQC_OK);
  moqc_group_producer_finish(g);
  moqc_group_producer_del(g);
  tm_expect_frame(a, "y");
  assert_int_equal(moqc_group_consumer_read_frame(a, &f), MOQC_ERR_CLOSED);
  assert_int_equal(moqc_group_consumer_code(a), MOQC_CODE_CANCEL);
  moqc_group_consumer_del(a);
  moqc_env_del(env);
}

static void test_wakers_deferred_and_coalesced(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_group_producer *g = moqc_group_producer_new(env, 0);
  moqc_group_consumer *c = moqc_group_producer_consume(g);
  int n = 0;
  moqc_group_consumer_set_waker(c, tm_count, &n);
  assert_false(moqc_env_pending(env)); /* nothing readable: not scheduled */
  moqc_frame f;
  assert_int_equal(moqc_group_consumer_read_frame(c, &f), MOQC_ERR_AGAIN);
  tm_write(g, "1");
  tm_write(g, "2");
  tm_write(g, "3");
  assert_int_equal(n, 0); /* never inside the producer call */
  assert_true(moqc_env_pending(env));
  assert_int_equal(moqc_env_run(env), 1); /* three writes, one wake */
  assert_int_equal(n, 1);
  /* no AGAIN since: edge-triggered, no new wake */
  tm_write(g, "4");
  assert_int_equal(moqc_env_run(env), 0);
  /* setting a waker while data is readable schedules it once */
  int m = 0;
  moqc_group_consumer *d = moqc_group_producer_consume(g);
  moqc_group_consumer_set_waker(d, tm_count, &m);
  assert_int_equal(moqc_env_run(env), 1);
  assert_int_equal(m, 1);
  /* a scheduled consumer deleted before the run is unlinked */
  while (moqc_group_consumer_read_frame(d, &f) == MOQC_OK) moqc_slice_release(&f.payload);
  tm_write(g, "5");
  assert_true(moqc_env_pending(env));
  moqc_group_consumer_del(d);
  assert_false(moqc_env_pending(env));
  assert_int_equal(moqc_env_run(env), 0);
  assert_int_equal(m, 1);
  moqc_group_consumer_del(c);
  moqc_group_producer_del(g);
  moqc_env_del(env);
}

/* The unused waker: deferred, each time the last consumer goes (a clone
 * counts as a consumer), at once when set with none; it goes with the
 * handle that set it (another producer handle's delete keeps it). */
static void test_unused_waker(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_group_producer *g = moqc_group_producer_new(env, 3);
  moqc_group_consumer *a = moqc_group_producer_consume(g);
  moqc_group_consumer *b = moqc_group_consumer_clone(a);
  int n = 0;
  assert_int_equal(moqc_group_producer_set_unused_waker(g, tm_count, &n), MOQC_OK);
  assert_true(moqc_group_producer_has_consumers(g));
  assert_false(moqc_env_pending(env));
  moqc_group_consumer_del(a);
  assert_int_equal(moqc_env_run(env), 0); /* b is left */
  moqc_group_consumer_del(b);
  assert_int_equal(n, 0); /* never inside the delete */
  assert_false(moqc_group_producer_has_consumers(g));
  assert_int_equal(moqc_env_run(env), 1);
  assert_int_equal(n, 1);
  a = moqc_group_producer_consume(g); /* again */
  moqc_group_consumer_del(a);
  assert_int_equal(moqc_env_run(env), 1);
  assert_int_equal(n, 2);
  moqc_group_producer *g2 = moqc_group_producer_clone(g);
  moqc_group_producer_del(g2); /* not the handle that set it */
  int m = 0;
  assert_int_equal(moqc_group_producer_set_unused_waker(g, tm_count, &m), MOQC_OK);
  assert_int_equal(moqc_env_run(env), 1); /* no consumer now: at once */
  assert_int_equal(m, 1);
  a = moqc_group_producer_consume(g);
  assert_int_equal(moqc_group_producer_set_unused_waker(g, NULL, NULL), MOQC_OK);
  moqc_group_consumer_del(a);
  assert_int_equal(moqc_env_run(env), 0); /* cleared */
  assert_int_equal(moqc_group_producer_set_unused_waker(g, tm_count, &m), MOQC_OK);
  assert_int_equal(moqc_env_run(env), 1);
  a = moqc_group_producer_consume(g);
  moqc_group_consumer_del(a); /* scheduled ... */
  moqc_group_producer_del(g); /* ... and unlinked with its handle */
  assert_false(moqc_env_pending(env));
  assert_int_equal(m, 2);
  assert_int_equal(n, 2);
  moqc_env_del(env);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_write_read_close),
      cmocka_unit_test(test_late_joiner_reads_from_zero),
      cmocka_unit_test(test_chunked_frame),
      cmocka_unit_test(test_chunk_over_size),
      cmocka_unit_test(test_chunk_short_finish_aborts),
      cmocka_unit_test(test_chunk_del_without_finish),
      cmocka_unit_test(test_byte_cap_lagged),
      cmocka_unit_test(test_abort_and_drop),
      cmocka_unit_test(test_wakers_deferred_and_coalesced),
      cmocka_unit_test(test_unused_waker),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
