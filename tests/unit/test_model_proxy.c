/* Unit tests: src/model/proxy.c and the env's cross-thread command queue.
 * A second pthread publishes through a proxy while this thread runs the env. */
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <time.h>

#include "test_model_common.h"

#define N_FRAMES 10000
#define PER_GROUP 100

typedef struct driver {
  sem_t sem;
  atomic_int notifies;
} driver;

static void drv_notify(void *ctx) {
  driver *d = ctx;
  atomic_fetch_add(&d->notifies, 1);
  sem_post(&d->sem);
}

static void drv_wait(driver *d) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_nsec += 50 * 1000 * 1000;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  sem_timedwait(&d->sem, &ts);
}

/* ---- the reader: runs in wakers on the loop thread ---------------------------------- */

typedef struct reader {
  moqc_track_consumer *tc;
  moqc_group_consumer *cur;
  uint32_t next;     /* next expected frame counter */
  uint64_t groups;   /* groups seen */
  uint64_t last_seq; /* sequence of the last group */
  int end;           /* track end result, 0 while live */
  int bad;           /* frames out of order / malformed */
} reader;

static void reader_drain(void *arg);

static bool reader_frames(reader *r) {
  moqc_frame f;
  int rc;
  while ((rc = moqc_group_consumer_read_frame(r->cur, &f)) == MOQC_OK) {
    uint32_t v = 0;
    if (f.payload.len == 64) memcpy(&v, moqc_slice_ptr(&f.payload), 4);
    if (f.payload.len != 64 || v != r->next || f.info.timestamp != v) r->bad++;
    r->next++;
    moqc_slice_release(&f.payload);
  }
  if (rc == MOQC_ERR_AGAIN) return false;
  if (rc != MOQC_ERR_CLOSED) r->bad++;
  moqc_group_consumer_del(r->cur);
  r->cur = NULL;
  return true;
}

static void reader_drain(void *arg) {
  reader *r = arg;
  for (;;) {
    if (r->cur && !reader_frames(r)) return;
    moqc_group_consumer *g = NULL;
    int rc = moqc_track_consumer_recv_group(r->tc, &g);
    if (rc == MOQC_ERR_AGAIN) return;
    if (rc != MOQC_OK) {
      r->end = rc;
      return;
    }
    if (r->groups && moqc_group_consumer_sequence(g) != r->last_seq + 1) r->bad++;
    r->last_seq = moqc_group_consumer_sequence(g);
    r->groups++;
    r->cur = g;
    moqc_group_consumer_set_waker(g, reader_drain, r);
  }
}

/* ---- the writer thread ---------------------------------------------------------------- */

static void *writer_main(void *arg) {
  moqc_track_proxy *p = arg;
  uint8_t buf[64] = {0};
  for (uint32_t i = 0; i < N_FRAMES; i++) {
    if (i && i % PER_GROUP == 0 && moqc_track_proxy_new_group(p) != MOQC_OK) return (void *)1;
    memcpy(buf, &i, 4);
    if (moqc_track_proxy_write_frame(p, buf, sizeof buf, i) != MOQC_OK) return (void *)2;
  }
  if (moqc_track_proxy_finish(p) != MOQC_OK) return (void *)3;
  moqc_track_proxy_del(p);
  return NULL;
}

static void test_proxy_from_second_thread(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  driver d;
  sem_init(&d.sem, 0, 0);
  atomic_init(&d.notifies, 0);
  moqc_env_set_notify(env, drv_notify, &d);
  moqc_track_producer *t = moqc_track_producer_new(env, "enc", NULL);
  reader r = {0};
  r.tc = moqc_track_producer_consume(t, NULL);
  moqc_track_consumer_set_waker(r.tc, reader_drain, &r);
  moqc_track_proxy *p = moqc_track_proxy_new(t);
  assert_non_null(p);
  moqc_track_producer_del(t); /* the proxy's clone keeps the track open */
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, writer_main, p), 0);
  for (int spins = 0; r.end == 0 && spins < 100000; spins++) {
    drv_wait(&d);
    moqc_env_run(env);
  }
  void *ret = (void *)-1;
  pthread_join(th, &ret);
  assert_null(ret);
  moqc_env_run(env);
  assert_int_equal(r.bad, 0);
  assert_int_equal(r.next, N_FRAMES);
  assert_int_equal(r.groups, N_FRAMES / PER_GROUP);
  assert_int_equal(r.end, MOQC_ERR_CLOSED);
  assert_true(atomic_load(&d.notifies) > 0);
  moqc_track_consumer_del(r.tc);
  moqc_env_del(env);
  sem_destroy(&d.sem);
}

/* ---- zero-copy wrap: release runs on the loop thread -------------------------------- */

typedef struct wrap_ctx {
  pthread_t loop;
  atomic_int released;
  atomic_int wrong_thread;
  moqc_track_proxy *p;
} wrap_ctx;

static const char k_payload[] = "zero-copy";

static void wrap_release(void *ctx, const uint8_t *data, size_t len) {
  wrap_ctx *w = ctx;
  if (!pthread_equal(pthread_self(), w->loop) || data != (const uint8_t *)k_payload ||
      len != sizeof k_payload)
    atomic_fetch_add(&w->wrong_thread, 1);
  atomic_fetch_add(&w->released, 1);
}

static void *wrap_writer(void *arg) {
  wrap_ctx *w = arg;
  for (int i = 0; i < 3; i++)
    moqc_track_proxy_write_frame_wrap(w->p, k_payload, sizeof k_payload, (uint64_t)i, wrap_release,
                                      w);
  moqc_track_proxy_finish_group(w->p);
  moqc_track_proxy_del(w->p);
  return NULL;
}

static void test_proxy_wrap_and_del(void **state) {
  (void)state;
  moqc_env *env = tm_env(0);
  moqc_track_producer *t = moqc_track_producer_new(env, "raw", NULL);
  moqc_track_consumer *tc = moqc_track_producer_consume(t, NULL);
  wrap_ctx w;
  w.loop = pthread_self();
  atomic_init(&w.released, 0);
  atomic_init(&w.wrong_thread, 0);
  w.p = moqc_track_proxy_new(t);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, wrap_writer, &w), 0);
  pthread_join(th, NULL);
  assert_true(moqc_env_pending(env));
  moqc_env_run(env);
  assert_false(moqc_env_pending(env));
  moqc_group_consumer *g = tm_expect_group(tc, 0);
  moqc_frame f;
  assert_int_equal(moqc_group_consumer_read_frame(g, &f), MOQC_OK);
  assert_ptr_equal(moqc_slice_ptr(&f.payload), k_payload); /* the caller's memory itself */
  moqc_slice_release(&f.payload);
  assert_int_equal(moqc_group_consumer_frames_available(g), 3);
  moqc_group_consumer_del(g);
  /* the proxy was deleted but its track clone is released: t still open */
  moqc_group_consumer *x = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(tc, &x), MOQC_ERR_AGAIN);
  assert_int_equal(atomic_load(&w.released), 0); /* the cache still holds them */
  moqc_track_producer_del(t);                    /* Dropped: the cache is cleared */
  assert_int_equal(atomic_load(&w.released), 3);
  assert_int_equal(atomic_load(&w.wrong_thread), 0);
  assert_int_equal(moqc_track_consumer_recv_group(tc, &x), MOQC_ERR_DROPPED);
  moqc_track_consumer_del(tc);

  /* commands still queued when the env goes are applied, not leaked */
  t = moqc_track_producer_new(env, "late", NULL);
  moqc_track_proxy *p = moqc_track_proxy_new(t);
  moqc_track_producer_del(t);
  assert_int_equal(moqc_track_proxy_write_frame(p, "abc", 3, 0), MOQC_OK);
  moqc_track_proxy_del(p);
  moqc_env_del(env);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_proxy_from_second_thread),
      cmocka_unit_test(test_proxy_wrap_and_del),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
