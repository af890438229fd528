/* The ordered track reader (include/moqc/ordered.h), in virtual time. */
#include <stdio.h>

#include "moqc/ordered.h"
#include "test_model_common.h"

typedef struct rec {
  char out[1024];   /* "seq.index=payload " per frame */
  char events[512]; /* "kind:lo-hi " per event */
  int ends, end_err;
  uint64_t end_code;
  size_t stop_after; /* on_frame returns false after this many frames (0 = never) */
  size_t frames;
  bool del_in_end, del_in_frame;
  moqc_ordered_reader *r;
} rec;

static bool on_frame(void *ctx, uint64_t group, size_t index, const moqc_frame *f) {
  rec *x = ctx;
  size_t n = strlen(x->out);
  snprintf(x->out + n, sizeof x->out - n, "%llu.%zu=%.*s ", (unsigned long long)group, index,
           (int)f->payload.len, (const char *)moqc_slice_ptr(&f->payload));
  x->frames++;
  if (x->del_in_frame && x->frames == x->stop_after) {
    moqc_ordered_reader_del(x->r);
    x->r = NULL;
    return true; /* deleted: no further callback may run anyway */
  }
  return !(x->stop_after && x->frames >= x->stop_after);
}

static void on_end(void *ctx, int err, uint64_t code) {
  rec *x = ctx;
  x->ends++;
  x->end_err = err;
  x->end_code = code;
  if (x->del_in_end) {
    moqc_ordered_reader_del(x->r);
    x->r = NULL;
  }
}

static void on_event(void *ctx, const moqc_ordered_event *ev) {
  rec *x = ctx;
  size_t n = strlen(x->events);
  snprintf(x->events + n, sizeof x->events - n, "%s:%llu-%llu ",
           moqc_ordered_event_kind_str(ev->kind), (unsigned long long)ev->lo,
           (unsigned long long)ev->hi);
}

typedef struct fx {
  moqc_env *env;
  moqc_track_producer *t;
  rec x;
} fx;

static void fx_init(fx *f, uint64_t start, uint64_t reorder_ms) {
  memset(f, 0, sizeof *f);
  f->env = tm_env(0);
  f->t = moqc_track_producer_new(f->env, "data", NULL);
  assert_non_null(f->t);
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  sub.ordered = true;
  sub.start = 0;
  moqc_track_consumer *tc = moqc_track_producer_consume(f->t, &sub);
  assert_non_null(tc);
  moqc_ordered_config cfg = {.start = start,
                             .reorder_ms = reorder_ms,
                             .on_frame = on_frame,
                             .on_end = on_end,
                             .on_event = on_event,
                             .ctx = &f->x};
  f->x.r = moqc_ordered_reader_new(tc, &cfg);
  assert_non_null(f->x.r);
}

static void fx_done(fx *f) {
  moqc_ordered_reader_del(f->x.r);
  moqc_track_producer_del(f->t);
  moqc_env_run(f->env);
  moqc_env_del(f->env);
}

static void run(fx *f) { moqc_env_run(f->env); }

static void advance_ms(fx *f, uint64_t ms) {
  moqc_clock *c = moqc_env_clock(f->env);
  moqc_clock_advance(c, moqc_clock_now(c) + ms * 1000000ull);
  run(f);
}

/* A finished group with the given frames (NULL-terminated). */
static void group(fx *f, uint64_t seq, const char *a, const char *b) {
  moqc_group_producer *g = NULL;
  assert_int_equal(moqc_track_producer_create_group(f->t, seq, &g), MOQC_OK);
  assert_int_equal(tm_write(g, a), MOQC_OK);
  if (b) assert_int_equal(tm_write(g, b), MOQC_OK);
  assert_int_equal(moqc_group_producer_finish(g), MOQC_OK);
  moqc_group_producer_del(g);
  run(f);
}

static void test_in_order(void **state) {
  (void)state;
  fx f;
  fx_init(&f, 0, 100);
  group(&f, 0, "a", "b");
  group(&f, 1, "c", NULL);
  assert_string_equal(f.x.out, "0.0=a 0.1=b 1.0=c ");
  assert_int_equal(f.x.ends, 0);
  group(&f, 2, "d", NULL);
  assert_int_equal(moqc_track_producer_finish(f.t), MOQC_OK);
  run(&f);
  assert_string_equal(f.x.out, "0.0=a 0.1=b 1.0=c 2.0=d ");
  assert_int_equal(f.x.ends, 1);
  assert_int_equal(f.x.end_err, MOQC_ERR_CLOSED);
  assert_string_equal(f.x.events, "");
  fx_done(&f);
}

/* A group that streams in frame by frame is handed over as it comes. */
static void test_streaming_head(void **state) {
  (void)state;
  fx f;
  fx_init(&f, 0, 100);
  moqc_group_producer *g = NULL;
  assert_int_equal(moqc_track_producer_create_group(f.t, 0, &g), MOQC_OK);
  assert_int_equal(tm_write(g, "a"), MOQC_OK);
  run(&f);
  assert_string_equal(f.x.out, "0.0=a ");
  group(&f, 1, "x", NULL); /* waits behind the open group 0 */
  assert_string_equal(f.x.out, "0.0=a ");
  assert_int_equal(tm_write(g, "b"), MOQC_OK);
  assert_int_equal(moqc_group_producer_finish(g), MOQC_OK);
  moqc_group_producer_del(g);
  run(&f);
  assert_string_equal(f.x.out, "0.0=a 0.1=b 1.0=x ");
  fx_done(&f);
}

static void test_out_of_order_within_window(void **state) {
  (void)state;
  fx f;
  fx_init(&f, 0, 100);
  group(&f, 0, "a", NULL);
  group(&f, 2, "c", NULL);
  group(&f, 3, "d", NULL);
  assert_string_equal(f.x.out, "0.0=a ");
  assert_int_equal(moqc_ordered_reader_held(f.x.r), 2);
  assert_int_equal(moqc_ordered_reader_next(f.x.r), 1);
  advance_ms(&f, 99);
  assert_string_equal(f.x.out, "0.0=a ");
  group(&f, 1, "b", NULL);
  assert_string_equal(f.x.out, "0.0=a 1.0=b 2.0=c 3.0=d ");
  advance_ms(&f, 1000); /* the window timer was stopped: nothing skipped */
  assert_string_equal(f.x.events, "");
  fx_done(&f);
}

static void test_gap_skipped_after_window(void **state) {
  (void)state;
  fx f;
  fx_init(&f, 0, 100);
  group(&f, 0, "a", NULL);
  group(&f, 3, "d", NULL);
  advance_ms(&f, 99);
  assert_string_equal(f.x.out, "0.0=a ");
  advance_ms(&f, 1);
  assert_string_equal(f.x.events, "skipped:1-2 ");
  assert_string_equal(f.x.out, "0.0=a 3.0=d ");
  assert_int_equal(moqc_ordered_reader_next(f.x.r), 4);
  group(&f, 1, "late", NULL); /* below next: handed over at once */
  assert_string_equal(f.x.out, "0.0=a 3.0=d 1.0=late ");
  group(&f, 4, "e", NULL);
  assert_string_equal(f.x.out, "0.0=a 3.0=d 1.0=late 4.0=e ");
  fx_done(&f);
}

static void test_zero_window_skips_at_once(void **state) {
  (void)state;
  fx f;
  fx_init(&f, 0, 0);
  group(&f, 0, "a", NULL);
  group(&f, 2, "c", NULL);
  assert_string_equal(f.x.out, "0.0=a 2.0=c ");
  assert_string_equal(f.x.events, "skipped:1-1 ");
  fx_done(&f);
}

/* The first group sets `next` when no start is given; a start waits for it. */
static void test_start(void **state) {
  (void)state;
  fx f;
  fx_init(&f, MOQC_GROUP_NONE, 100);
  group(&f, 5, "f", NULL);
  assert_string_equal(f.x.out, "5.0=f ");
  fx_done(&f);
  fx_init(&f, 4, 100);
  group(&f, 5, "f", NULL);
  assert_string_equal(f.x.out, "");
  group(&f, 4, "e", NULL);
  assert_string_equal(f.x.out, "4.0=e 5.0=f ");
  fx_done(&f);
}

/* The track ends while a group is missing: once the model gives it up
 * (complete), what is held is flushed and the end follows. */
static void test_end_of_track(void **state) {
  (void)state;
  fx f;
  fx_init(&f, 0, 10000);
  group(&f, 0, "a", NULL);
  group(&f, 2, "c", NULL);
  assert_int_equal(moqc_track_producer_finish(f.t), MOQC_OK);
  run(&f);
  assert_int_equal(f.x.ends, 0); /* group 1 is still awaited by the track */
  assert_string_equal(f.x.out, "0.0=a ");
  assert_int_equal(moqc_track_producer_complete(f.t), MOQC_OK);
  run(&f);
  assert_string_equal(f.x.out, "0.0=a 2.0=c ");
  assert_string_equal(f.x.events, "never:1-1 ");
  assert_int_equal(f.x.ends, 1);
  assert_int_equal(f.x.end_err, MOQC_ERR_CLOSED);
  fx_done(&f);
}

/* An aborted track ends the reader at once; held groups are dropped. */
static void test_abort(void **state) {
  (void)state;
  fx f;
  fx_init(&f, 0, 10000);
  f.x.del_in_end = true;
  group(&f, 0, "a", NULL);
  group(&f, 2, "c", NULL);
  moqc_track_producer_abort(f.t, MOQC_CODE_CANCEL);
  run(&f);
  assert_int_equal(f.x.ends, 1);
  assert_int_equal(f.x.end_err, moqc_err_from_code(MOQC_CODE_CANCEL));
  assert_int_equal(f.x.end_code, MOQC_CODE_CANCEL);
  assert_null(f.x.r); /* deleted from inside on_end */
  assert_string_equal(f.x.out, "0.0=a ");
  advance_ms(&f, 20000); /* the window timer is gone with the reader */
  fx_done(&f);
}

/* A group aborted mid-way is reported after its frames; the reader moves on. */
static void test_group_lost(void **state) {
  (void)state;
  fx f;
  fx_init(&f, 0, 100);
  moqc_group_producer *g = NULL;
  assert_int_equal(moqc_track_producer_create_group(f.t, 0, &g), MOQC_OK);
  assert_int_equal(tm_write(g, "a"), MOQC_OK);
  run(&f);
  moqc_group_producer_abort(g, MOQC_CODE_CANCEL);
  moqc_group_producer_del(g);
  group(&f, 1, "b", NULL);
  assert_string_equal(f.x.out, "0.0=a 1.0=b ");
  assert_string_equal(f.x.events, "group-lost:0-0 ");
  fx_done(&f);
}

/* on_frame returning false stops everything: no more frames, no on_end. */
static void test_stop_and_delete_inside(void **state) {
  (void)state;
  fx f;
  fx_init(&f, 0, 100);
  f.x.stop_after = 2;
  group(&f, 0, "a", "b");
  group(&f, 1, "c", NULL);
  assert_int_equal(moqc_track_producer_finish(f.t), MOQC_OK);
  run(&f);
  assert_string_equal(f.x.out, "0.0=a 0.1=b ");
  assert_int_equal(f.x.ends, 0);
  fx_done(&f);
  fx_init(&f, 0, 100);
  f.x.stop_after = 1;
  f.x.del_in_frame = true;
  group(&f, 0, "a", "b");
  assert_null(f.x.r);
  assert_string_equal(f.x.out, "0.0=a ");
  group(&f, 1, "c", NULL);
  fx_done(&f);
}

static void test_bad_args(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_track_producer *t = moqc_track_producer_new(env, "data", NULL);
  moqc_ordered_config cfg = {.on_frame = on_frame}; /* no on_end */
  assert_null(moqc_ordered_reader_new(NULL, &cfg));
  assert_null(
      moqc_ordered_reader_new(moqc_track_producer_consume(t, NULL), &cfg)); /* consumer freed */
  assert_null(moqc_ordered_reader_new(moqc_track_producer_consume(t, NULL), NULL));
  moqc_ordered_reader_del(NULL);
  assert_string_equal(moqc_ordered_event_kind_str(MOQC_ORDERED_SKIPPED), "skipped");
  assert_string_equal(moqc_ordered_event_kind_str((moqc_ordered_event_kind)0), "?");
  moqc_track_producer_del(t);
  moqc_env_run(env);
  moqc_env_del(env);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_in_order),
      cmocka_unit_test(test_streaming_head),
      cmocka_unit_test(test_out_of_order_within_window),
      cmocka_unit_test(test_gap_skipped_after_window),
      cmocka_unit_test(test_zero_window_skips_at_once),
      cmocka_unit_test(test_start),
      cmocka_unit_test(test_end_of_track),
      cmocka_unit_test(test_abort),
      cmocka_unit_test(test_group_lost),
      cmocka_unit_test(test_stop_and_delete_inside),
      cmocka_unit_test(test_bad_args),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
