/* Unit tests: src/quic/quic_stream.c — zero-copy send queues, the
 * priority scheduler, the stream and connection-id maps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "moqc/buf.h"
#include "moqc/error.h"
#include "quic/quic_stream.h"

static moqc_slice mk(const char *s) {
  moqc_buf *b = moqc_buf_copy(s, strlen(s));
  assert_non_null(b);
  moqc_slice sl = {b, 0, strlen(s)};
  return sl;
}

static void test_queue_peek_consume_ack(void **state) {
  (void)state;
  uint64_t base = moqc_buf_get_stats().bufs_live;
  moqc_qstream *s = moqc_qstream_new(2, QS_SEND);
  moqc_slice sl[3] = {mk("hello "), mk("zero-copy "), mk("world")};
  moqc_slice empty = MOQC_SLICE_EMPTY;
  assert_int_equal(moqc_qstream_append(s, sl, 3), MOQC_OK);
  assert_int_equal(moqc_qstream_append(s, &empty, 1), MOQC_OK); /* skipped */
  for (int i = 0; i < 3; i++) moqc_slice_release(&sl[i]);
  assert_int_equal(moqc_buf_get_stats().bufs_live, base + 3); /* the queue's refs */
  assert_int_equal(s->end, 21);
  assert_true(moqc_qstream_ready(s));

  moqc_qvec v[4];
  uint64_t total;
  assert_int_equal(moqc_qstream_peek(s, v, 4, &total), 3);
  assert_int_equal(total, 21);
  assert_memory_equal(v[1].base, "zero-copy ", 10);
  moqc_qstream_consume(s, 8); /* "hello ze" */
  assert_int_equal(moqc_qstream_peek(s, v, 4, &total), 2);
  assert_int_equal(total, 13);
  assert_memory_equal(v[0].base, "ro-copy ", 8);
  assert_int_equal(moqc_qstream_peek(s, v, 1, &total), 1);
  assert_int_equal(total, 8);

  /* acking the first slice releases it, the partly acked second stays */
  assert_int_equal(moqc_qstream_ack(s, 7), 7);
  assert_int_equal(moqc_buf_get_stats().bufs_live, base + 2);
  assert_int_equal(moqc_qstream_ack(s, 7), 0);
  /* acks never pass what was sent */
  assert_int_equal(moqc_qstream_ack(s, 100), 1);
  assert_int_equal(s->acked, 8);

  /* dropping the unsent tail keeps the sent head of a partly sent slice */
  assert_int_equal(moqc_qstream_drop_unsent(s), 13);
  assert_int_equal(s->end, 8);
  assert_false(moqc_qstream_ready(s));
  assert_int_equal(moqc_buf_get_stats().bufs_live, base + 1);
  moqc_qstream_free(s);
  assert_int_equal(moqc_buf_get_stats().bufs_live, base);
}

static void test_queue_grows(void **state) {
  (void)state;
  uint64_t base = moqc_buf_get_stats().bufs_live;
  moqc_qstream *s = moqc_qstream_new(0, QS_SEND);
  moqc_slice one = mk("x");
  for (int i = 0; i < 1000; i++) {
    assert_int_equal(moqc_qstream_append(s, &one, 1), MOQC_OK);
    if (i % 3 == 0) { /* interleave send + ack so the ring wraps */
      moqc_qvec v[2];
      uint64_t t;
      moqc_qstream_peek(s, v, 2, &t);
      moqc_qstream_consume(s, t);
      moqc_qstream_ack(s, s->sent);
    }
  }
  moqc_slice_release(&one);
  assert_int_equal(s->end, 1000);
  moqc_qvec v[8];
  uint64_t t;
  moqc_qstream_peek(s, v, 8, &t);
  assert_int_equal(t, 8 < s->end - s->sent ? 8 : s->end - s->sent);
  moqc_qstream_free(s);
  assert_int_equal(moqc_buf_get_stats().bufs_live, base);
}

static moqc_qstream *mkst(int64_t id, int prio, uint64_t order) {
  moqc_qstream *s = moqc_qstream_new(id, QS_SEND);
  if (prio >= 0) {
    s->prio_set = true;
    s->prio.priority = (uint8_t)prio;
    s->prio.order = order;
  }
  return s;
}

/* Control first, then priority, then order (newest group), ties round-robin. */
static void test_scheduler_order(void **state) {
  (void)state;
  moqc_qsched h = {0};
  moqc_qstream *ctl = mkst(0, -1, 0), *lo = mkst(2, 1, 5), *hi_old = mkst(6, 9, 1),
               *hi_new = mkst(10, 9, 2), *tie = mkst(14, 9, 2);
  moqc_qstream *all[] = {lo, hi_old, tie, ctl, hi_new};
  for (int i = 0; i < 5; i++) assert_int_equal(moqc_qsched_push(&h, all[i]), MOQC_OK);
  assert_int_equal(moqc_qsched_push(&h, lo), MOQC_OK); /* already in: no-op */
  assert_int_equal(h.n, 5);
  assert_ptr_equal(moqc_qsched_top(&h), ctl);
  moqc_qsched_remove(&h, ctl);
  /* tie (pushed first) and hi_new take turns */
  assert_ptr_equal(moqc_qsched_top(&h), tie);
  moqc_qsched_rotate(&h, tie);
  assert_ptr_equal(moqc_qsched_top(&h), hi_new);
  moqc_qsched_rotate(&h, hi_new);
  assert_ptr_equal(moqc_qsched_top(&h), tie);
  moqc_qsched_remove(&h, tie);
  moqc_qsched_remove(&h, hi_new);
  assert_ptr_equal(moqc_qsched_top(&h), hi_old);
  /* a priority change re-sorts */
  lo->prio.priority = 200;
  moqc_qsched_update(&h, lo);
  assert_ptr_equal(moqc_qsched_top(&h), lo);
  moqc_qsched_remove(&h, lo);
  moqc_qsched_remove(&h, lo); /* not in: no-op */
  assert_ptr_equal(moqc_qsched_top(&h), hi_old);
  moqc_qsched_free(&h);
  assert_int_equal(hi_old->heap_idx, QS_NOT_IN_HEAP);
  for (int i = 0; i < 5; i++) moqc_qstream_free(all[i]);
}

/* Many streams: the heap always yields the best one. */
static void test_scheduler_heap_property(void **state) {
  (void)state;
  enum { N = 500 };
  moqc_qsched h = {0};
  moqc_qstream *st[N];
  srand(7);
  for (int i = 0; i < N; i++) {
    st[i] = mkst(4 * i, rand() % 4, (uint64_t)(rand() % 10));
    assert_int_equal(moqc_qsched_push(&h, st[i]), MOQC_OK);
  }
  int last_p = 256;
  uint64_t last_o = UINT64_MAX;
  for (int i = 0; i < N; i++) {
    moqc_qstream *t = moqc_qsched_top(&h);
    assert_true(t->prio.priority < last_p ||
                (t->prio.priority == last_p && t->prio.order <= last_o));
    last_p = t->prio.priority;
    last_o = t->prio.order;
    moqc_qsched_remove(&h, t);
  }
  assert_null(moqc_qsched_top(&h));
  moqc_qsched_free(&h);
  for (int i = 0; i < N; i++) moqc_qstream_free(st[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_queue_peek_consume_ack),
      cmocka_unit_test(test_queue_grows),
      cmocka_unit_test(test_scheduler_order),
      cmocka_unit_test(test_scheduler_heap_property),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
