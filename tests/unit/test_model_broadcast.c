/* Unit tests: src/model/broadcast.c (tracks by name, requests, end states). */
#include "test_model_common.h"

static void test_create_and_subscribe(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_broadcast_producer *b = moqc_broadcast_producer_new(env);
  int err = -1;
  moqc_track_info info = MOQC_TRACK_INFO_DEFAULT;
  info.priority = 4;
  moqc_track_producer *t = moqc_broadcast_producer_create_track(b, "audio", &info, &err);
  assert_non_null(t);
  assert_int_equal(err, MOQC_OK);
  assert_null(moqc_broadcast_producer_create_track(b, "audio", NULL, &err));
  assert_int_equal(err, MOQC_ERR_DUPLICATE);
  info.timescale = 0;
  assert_null(moqc_broadcast_producer_create_track(b, "bad", &info, &err));
  assert_int_equal(err, MOQC_ERR_INVAL);

  moqc_broadcast_consumer *c = moqc_broadcast_producer_consume(b);
  assert_int_equal(moqc_broadcast_consumer_status(c), MOQC_OK);
  moqc_track_consumer *tc = moqc_broadcast_consumer_subscribe(c, "audio", NULL, &err);
  assert_non_null(tc);
  assert_string_equal(moqc_track_consumer_name(tc), "audio");
  assert_int_equal(moqc_track_consumer_info(tc)->priority, 4);
  tm_group1(t, "hello");
  moqc_group_consumer *g = tm_expect_group(tc, 0);
  tm_expect_frame(g, "hello");
  moqc_group_consumer_del(g);
  /* unknown name, requests disabled */
  assert_null(moqc_broadcast_consumer_subscribe(c, "video", NULL, &err));
  assert_int_equal(err, MOQC_ERR_NOT_FOUND);
  /* a dropped track leaves the broadcast: its name can be created again */
  moqc_track_producer_del(t);
  assert_null(moqc_broadcast_consumer_subscribe(c, "audio", NULL, &err));
  assert_int_equal(err, MOQC_ERR_NOT_FOUND);
  t = moqc_broadcast_producer_create_track(b, "audio", NULL, &err);
  assert_non_null(t);
  moqc_track_producer_del(t);
  moqc_track_consumer_del(tc);
  moqc_broadcast_consumer_del(c);
  moqc_broadcast_producer_del(b);
  moqc_env_del(env);
}

static void test_requests_accept_reject(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_broadcast_producer *b = moqc_broadcast_producer_new(env);
  moqc_broadcast_producer_enable_requests(b, true);
  int wakes = 0;
  moqc_broadcast_producer_set_waker(b, tm_count, &wakes);
  moqc_broadcast_consumer *c = moqc_broadcast_producer_consume(b);
  moqc_track_request *r = NULL;
  assert_int_equal(moqc_broadcast_producer_next_request(b, &r), MOQC_ERR_AGAIN);

  int err = -1;
  moqc_track_consumer *v1 = moqc_broadcast_consumer_subscribe(c, "video", NULL, &err);
  assert_non_null(v1);
  moqc_track_consumer *v2 = moqc_broadcast_consumer_subscribe(c, "video", NULL, &err);
  moqc_track_consumer *x = moqc_broadcast_consumer_subscribe(c, "secret", NULL, &err);
  assert_non_null(x);
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(v1, &g), MOQC_ERR_AGAIN);
  int tw = 0;
  moqc_track_consumer_set_waker(v1, tm_count, &tw);
  assert_int_equal(wakes, 0);
  moqc_env_run(env);
  assert_int_equal(wakes, 1);

  /* two subscribers of one name share one request */
  assert_int_equal(moqc_broadcast_producer_next_request(b, &r), MOQC_OK);
  assert_string_equal(moqc_track_request_name(r), "video");
  moqc_track_info info = MOQC_TRACK_INFO_DEFAULT;
  info.timescale = 90000;
  moqc_track_producer *t = moqc_track_request_accept(r, &info);
  assert_non_null(t);
  assert_int_equal(moqc_track_consumer_info(v2)->timescale, 90000);
  tm_group1(t, "frame");
  moqc_env_run(env);
  assert_true(tw >= 1);
  tm_expect_group_del(v1, 0);
  tm_expect_group_del(v2, 0);

  assert_int_equal(moqc_broadcast_producer_next_request(b, &r), MOQC_OK);
  assert_string_equal(moqc_track_request_name(r), "secret");
  moqc_track_request_reject(r, MOQC_CODE_UNAUTHORIZED);
  assert_int_equal(moqc_track_consumer_recv_group(x, &g), MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(moqc_track_consumer_code(x), MOQC_CODE_UNAUTHORIZED);
  assert_int_equal(moqc_broadcast_producer_next_request(b, &r), MOQC_ERR_AGAIN);

  /* create_track adopts a still-queued request */
  moqc_track_consumer *a = moqc_broadcast_consumer_subscribe(c, "audio", NULL, &err);
  moqc_track_producer *ta = moqc_broadcast_producer_create_track(b, "audio", NULL, &err);
  assert_non_null(ta);
  assert_int_equal(moqc_broadcast_producer_next_request(b, &r), MOQC_ERR_AGAIN);
  tm_group1(ta, "pcm");
  tm_expect_group_del(a, 0);

  assert_int_equal(moqc_broadcast_producer_finish(b), MOQC_OK);
  assert_int_equal(moqc_broadcast_producer_next_request(b, &r), MOQC_ERR_CLOSED);
  moqc_track_producer_del(ta);
  moqc_track_producer_del(t);
  moqc_track_consumer_del(a);
  moqc_track_consumer_del(x);
  moqc_track_consumer_del(v2);
  moqc_track_consumer_del(v1);
  moqc_broadcast_consumer_del(c);
  moqc_broadcast_producer_del(b);
  moqc_env_del(env);
}

static void test_abort_cascades(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_broadcast_producer *b = moqc_broadcast_producer_new(env);
  moqc_broadcast_consumer *c = moqc_broadcast_producer_consume(b);
  moqc_track_producer *t1 = moqc_broadcast_producer_create_track(b, "a", NULL, NULL);
  moqc_track_producer *t2 = moqc_broadcast_producer_create_track(b, "b", NULL, NULL);
  moqc_track_consumer *c1 = moqc_broadcast_consumer_subscribe(c, "a", NULL, NULL);
  moqc_track_consumer *c2 = moqc_broadcast_consumer_subscribe(c, "b", NULL, NULL);
  tm_group1(t2, "fin");
  assert_int_equal(moqc_track_producer_finish(t2), MOQC_OK); /* finished: not aborted */
  moqc_group_producer *open = moqc_track_producer_append_group(t1);
  tm_write(open, "half");
  moqc_group_consumer *og = tm_expect_group(c1, 0);
  int n = 0;
  moqc_broadcast_consumer_set_waker(c, tm_count, &n);
  moqc_broadcast_producer_abort(b, MOQC_CODE_APP_BASE + 1);
  moqc_env_run(env);
  assert_int_equal(n, 1);
  assert_int_equal(moqc_broadcast_consumer_status(c), MOQC_ERR_ABORTED);
  assert_int_equal(moqc_broadcast_consumer_code(c), MOQC_CODE_APP_BASE + 1);
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(c1, &g), MOQC_ERR_ABORTED);
  assert_int_equal(moqc_track_consumer_code(c1), MOQC_CODE_APP_BASE + 1);
  moqc_frame f;
  assert_int_equal(moqc_group_consumer_read_frame(og, &f), MOQC_ERR_ABORTED); /* down to groups */
  tm_expect_group_del(c2, 0);
  assert_int_equal(moqc_track_consumer_recv_group(c2, &g), MOQC_ERR_CLOSED);
  int err = 0;
  assert_null(moqc_broadcast_consumer_subscribe(c, "zzz", NULL, &err));
  assert_int_equal(err, MOQC_ERR_ABORTED);
  moqc_group_consumer_del(og);
  moqc_group_producer_del(open);
  moqc_track_consumer_del(c1);
  moqc_track_consumer_del(c2);
  moqc_track_producer_del(t1);
  moqc_track_producer_del(t2);
  moqc_broadcast_consumer_del(c);
  moqc_broadcast_producer_del(b);
  moqc_env_del(env);
}

static void test_dropped_vs_finished(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  /* dropping the last producer = Dropped, cascading to open tracks */
  moqc_broadcast_producer *b = moqc_broadcast_producer_new(env);
  moqc_broadcast_producer *b2 = moqc_broadcast_producer_clone(b);
  moqc_broadcast_consumer *c = moqc_broadcast_producer_consume(b);
  moqc_track_producer *t = moqc_broadcast_producer_create_track(b, "v", NULL, NULL);
  moqc_track_consumer *tc = moqc_broadcast_consumer_subscribe(c, "v", NULL, NULL);
  moqc_broadcast_producer_del(b);
  assert_int_equal(moqc_broadcast_consumer_status(c), MOQC_OK);
  moqc_broadcast_producer_del(b2);
  assert_int_equal(moqc_broadcast_consumer_status(c), MOQC_ERR_DROPPED);
  assert_int_equal(moqc_broadcast_consumer_code(c), MOQC_CODE_DROPPED);
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &g), MOQC_ERR_DROPPED);
  moqc_track_consumer_del(tc);
  moqc_track_producer_del(t);
  moqc_broadcast_consumer_del(c);

  /* finish = Closed; open tracks go on */
  b = moqc_broadcast_producer_new(env);
  c = moqc_broadcast_producer_consume(b);
  t = moqc_broadcast_producer_create_track(b, "v", NULL, NULL);
  tc = moqc_broadcast_consumer_subscribe(c, "v", NULL, NULL);
  assert_int_equal(moqc_broadcast_producer_finish(b), MOQC_OK);
  moqc_broadcast_producer_del(b);
  assert_int_equal(moqc_broadcast_consumer_status(c), MOQC_ERR_CLOSED);
  tm_group1(t, "after");
  tm_expect_group_del(tc, 0);
  int err = 0;
  assert_null(moqc_broadcast_consumer_subscribe(c, "other", NULL, &err));
  assert_int_equal(err, MOQC_ERR_CLOSED);
  moqc_track_consumer_del(tc);
  moqc_track_producer_del(t);
  moqc_broadcast_consumer_del(c);
  moqc_env_del(env);
}

/* Track info without subscribing: known at once for an ordinary track, after
 * accept / create_track for a request, an error after reject; never demand. */
static void test_info_query(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_broadcast_producer *b = moqc_broadcast_producer_new(env);
  moqc_broadcast_consumer *c = moqc_broadcast_producer_consume(b);
  moqc_track_info info = {3, true, 250, 48000};
  moqc_track_producer *t = moqc_broadcast_producer_create_track(b, "audio", &info, NULL);
  int err = -1;
  moqc_track_info_query *q = moqc_broadcast_consumer_query_info(c, "audio", &err);
  assert_non_null(q);
  assert_int_equal(err, MOQC_OK);
  moqc_track_info got;
  assert_int_equal(moqc_track_info_query_get(q, &got), MOQC_OK);
  assert_int_equal(got.timescale, 48000);
  assert_int_equal(got.latency_max_ms, 250);
  assert_int_equal(moqc_track_producer_demand(t).consumers, 0);
  int n = 0;
  moqc_track_info_query_set_waker(q, tm_count, &n); /* readable: scheduled once */
  moqc_env_run(env);
  assert_int_equal(n, 1);
  moqc_track_info_query_del(q);
  assert_null(moqc_broadcast_consumer_query_info(c, "video", &err));
  assert_int_equal(err, MOQC_ERR_NOT_FOUND);
  assert_null(moqc_broadcast_consumer_query_info(c, NULL, &err));
  assert_int_equal(err, MOQC_ERR_INVAL);

  /* on demand: the query makes (or joins) the request */
  moqc_broadcast_producer_enable_requests(b, true);
  int rw = 0;
  moqc_broadcast_producer_set_waker(b, tm_count, &rw);
  q = moqc_broadcast_consumer_query_info(c, "video", &err);
  assert_non_null(q);
  assert_int_equal(moqc_track_info_query_get(q, &got), MOQC_ERR_AGAIN);
  n = 0;
  moqc_track_info_query_set_waker(q, tm_count, &n);
  moqc_track_consumer *tc = moqc_broadcast_consumer_subscribe(c, "video", NULL, &err);
  assert_false(moqc_track_consumer_info_known(tc));
  moqc_env_run(env);
  assert_int_equal(rw, 1);
  assert_int_equal(n, 0);
  moqc_track_request *r = NULL, *r2 = NULL;
  assert_int_equal(moqc_broadcast_producer_next_request(b, &r), MOQC_OK);
  assert_int_equal(moqc_broadcast_producer_next_request(b, &r2), MOQC_ERR_AGAIN); /* shared */
  moqc_track_consumer_del(tc);
  moqc_env_run(env);
  assert_int_equal(n, 0);
  moqc_track_info_query_del(q);
  moqc_track_request_reject(r, MOQC_CODE_NOT_FOUND); /* nobody left to tell */
  info.timescale = 90000;

  /* accept answers the query; the info outlives the track */
  q = moqc_broadcast_consumer_query_info(c, "cam", &err);
  moqc_track_info_query_set_waker(q, tm_count, &n);
  assert_int_equal(moqc_track_info_query_get(q, NULL), MOQC_ERR_AGAIN);
  moqc_env_run(env);
  assert_int_equal(moqc_broadcast_producer_next_request(b, &r), MOQC_OK);
  assert_string_equal(moqc_track_request_name(r), "cam");
  moqc_track_producer *tcam = moqc_track_request_accept(r, &info);
  assert_int_equal(moqc_track_producer_demand(tcam).consumers, 0);
  moqc_env_run(env);
  assert_int_equal(n, 1);
  assert_int_equal(moqc_track_info_query_get(q, &got), MOQC_OK);
  assert_int_equal(got.timescale, 90000);
  moqc_track_producer_del(tcam); /* dropped */
  assert_int_equal(moqc_track_info_query_get(q, &got), MOQC_OK);
  assert_int_equal(moqc_track_info_query_code(q), MOQC_CODE_CANCEL);
  moqc_track_info_query_del(q);

  /* create_track adopting the request answers it too */
  q = moqc_broadcast_consumer_query_info(c, "mic", &err);
  moqc_track_producer *tmic = moqc_broadcast_producer_create_track(b, "mic", &info, &err);
  assert_non_null(tmic);
  assert_int_equal(moqc_track_info_query_get(q, &got), MOQC_OK);
  moqc_track_info_query_del(q);

  /* reject: the code */
  q = moqc_broadcast_consumer_query_info(c, "secret", &err);
  assert_int_equal(moqc_broadcast_producer_next_request(b, &r), MOQC_OK);
  n = 0;
  moqc_track_info_query_set_waker(q, tm_count, &n);
  moqc_track_request_reject(r, MOQC_CODE_UNAUTHORIZED);
  moqc_env_run(env);
  assert_int_equal(n, 1);
  assert_int_equal(moqc_track_info_query_get(q, &got), MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(moqc_track_info_query_code(q), MOQC_CODE_UNAUTHORIZED);
  moqc_track_info_query_del(q);

  /* still queued when the broadcast finishes: NotFound; then CLOSED */
  q = moqc_broadcast_consumer_query_info(c, "late", &err);
  assert_int_equal(moqc_broadcast_producer_finish(b), MOQC_OK);
  assert_int_equal(moqc_track_info_query_get(q, &got), MOQC_ERR_NOT_FOUND);
  moqc_track_info_query_del(q);
  assert_null(moqc_broadcast_consumer_query_info(c, "later", &err));
  assert_int_equal(err, MOQC_ERR_CLOSED);
  /* existing tracks stay queryable */
  q = moqc_broadcast_consumer_query_info(c, "audio", &err);
  assert_int_equal(moqc_track_info_query_get(q, &got), MOQC_OK);
  moqc_track_info_query_del(q);
  moqc_track_producer_del(tmic);
  moqc_track_producer_del(t);
  moqc_broadcast_consumer_del(c);
  moqc_broadcast_producer_del(b);
  moqc_env_del(env);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_and_subscribe), cmocka_unit_test(test_requests_accept_reject),
      cmocka_unit_test(test_abort_cascades),       cmocka_unit_test(test_dropped_vs_finished),
      cmocka_unit_test(test_info_query),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
