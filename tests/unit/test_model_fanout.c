/* Unit tests: zero-copy fan-out through the model (group.c, track*.c, cache.c).
 * One track, 100 consumers, 1,000 frames of 1 KB written whole. An injected
 * allocator counts every byte the library allocates; moqc_buf_get_stats()
 * counts every byte copied into a buf. */
#include <stdlib.h>

#include "test_model_common.h"

#define N_CONSUMERS 100
#define N_FRAMES 1000
#define PER_GROUP 100
#define FRAME_SIZE 1024

/* ---- counting allocator: a 16-byte header remembers each block's size ------------ */

typedef struct counters {
  uint64_t calls;
  uint64_t bytes; /* cumulative bytes requested */
  int64_t live;
} counters;

static counters g_mem;

static void *cnt_malloc(size_t n, void *user) {
  (void)user;
  uint8_t *p = malloc(n + 16);
  if (!p) return NULL;
  memcpy(p, &n, sizeof n);
  g_mem.calls++;
  g_mem.bytes += n;
  g_mem.live += (int64_t)n;
  return p + 16;
}

static void cnt_free(void *ptr, void *user) {
  (void)user;
  if (!ptr) return;
  uint8_t *p = (uint8_t *)ptr - 16;
  size_t n;
  memcpy(&n, p, sizeof n);
  g_mem.live -= (int64_t)n;
  free(p);
}

static void *cnt_calloc(size_t nmemb, size_t size, void *user) {
  void *p = cnt_malloc(nmemb * size, user);
  if (p) memset(p, 0, nmemb * size);
  return p;
}

static void *cnt_realloc(void *ptr, size_t n, void *user) {
  void *q = cnt_malloc(n, user);
  if (!q || !ptr) return q;
  size_t old;
  memcpy(&old, (uint8_t *)ptr - 16, sizeof old);
  memcpy(q, ptr, old < n ? old : n);
  cnt_free(ptr, user);
  return q;
}

/* ---- readers ------------------------------------------------------------------------ */

typedef struct reader {
  moqc_track_consumer *tc;
  moqc_group_consumer *cur;
  uint32_t frames;
  uint32_t not_shared; /* frames whose bytes are not the producer's buf */
  moqc_buf **src;      /* the ingest bufs, to check identity */
} reader;

static void reader_drain(void *arg) {
  reader *r = arg;
  for (;;) {
    if (r->cur) {
      moqc_frame f;
      int rc;
      while ((rc = moqc_group_consumer_read_frame(r->cur, &f)) == MOQC_OK) {
        if (f.payload.buf != r->src[r->frames] || f.payload.len != FRAME_SIZE) r->not_shared++;
        r->frames++;
        moqc_slice_release(&f.payload);
      }
      if (rc == MOQC_ERR_AGAIN) return;
      moqc_group_consumer_del(r->cur);
      r->cur = NULL;
    }
    if (moqc_track_consumer_recv_group(r->tc, &r->cur) != MOQC_OK) {
      r->cur = NULL;
      return;
    }
    moqc_group_consumer_set_waker(r->cur, reader_drain, r);
  }
}

static void test_zero_copy_fanout(void **state) {
  (void)state;
  moqc_mem mem = {NULL, cnt_malloc, cnt_free, cnt_calloc, cnt_realloc};
  moqc_set_mem(&mem);
  memset(&g_mem, 0, sizeof g_mem);

  moqc_env *env = tm_env(0);
  moqc_track_producer *t = moqc_track_producer_new(env, "fan", NULL);
  static reader readers[N_CONSUMERS];
  static moqc_buf *src[N_FRAMES];
  for (int i = 0; i < N_CONSUMERS; i++) {
    readers[i] = (reader){moqc_track_producer_consume(t, NULL), NULL, 0, 0, src};
    assert_non_null(readers[i].tc);
    moqc_track_consumer_set_waker(readers[i].tc, reader_drain, &readers[i]);
  }

  /* Ingest: the one copy of every payload. */
  uint8_t payload[FRAME_SIZE];
  uint64_t copied0 = moqc_buf_get_stats().bytes_copied;
  for (int i = 0; i < N_FRAMES; i++) {
    memset(payload, i & 0xff, sizeof payload);
    src[i] = moqc_buf_copy(payload, sizeof payload);
    assert_non_null(src[i]);
  }
  uint64_t copied_ingest = moqc_buf_get_stats().bytes_copied;
  assert_int_equal(copied_ingest - copied0, (uint64_t)N_FRAMES * FRAME_SIZE);
  uint64_t bytes_before = g_mem.bytes;
  uint64_t calls_before = g_mem.calls;

  /* Fan-out: write whole frames, consumers read as they arrive. */
  moqc_group_producer *g = NULL;
  for (int i = 0; i < N_FRAMES; i++) {
    if (i % PER_GROUP == 0) {
      if (g) {
        moqc_group_producer_finish(g);
        moqc_group_producer_del(g);
      }
      g = moqc_track_producer_append_group(t);
      assert_non_null(g);
    }
    moqc_slice s = {src[i], 0, FRAME_SIZE};
    assert_int_equal(moqc_group_producer_write_frame(g, &s, (uint64_t)i), MOQC_OK);
    moqc_env_run(env);
  }
  moqc_group_producer_finish(g);
  moqc_group_producer_del(g);
  moqc_env_run(env);

  uint64_t payload_bytes = (uint64_t)N_FRAMES * FRAME_SIZE;
  uint64_t fanout_bytes = g_mem.bytes - bytes_before;
  for (int i = 0; i < N_CONSUMERS; i++) {
    assert_int_equal(readers[i].frames, N_FRAMES);
    assert_int_equal(readers[i].not_shared, 0);
  }
  /* No payload byte was copied after ingest... */
  assert_int_equal(moqc_buf_get_stats().bytes_copied - copied_ingest, 0);
  /* ...and 100 consumers x 1 MB of reads allocated far less than 100 x payload:
   * only group consumers (one per consumer per group) and frame rings. */
  print_message("fan-out: %llu bytes in %llu allocations for %llu payload bytes read\n",
                (unsigned long long)fanout_bytes, (unsigned long long)(g_mem.calls - calls_before),
                (unsigned long long)(payload_bytes * N_CONSUMERS));
  assert_true(fanout_bytes < payload_bytes / 2);
  assert_true(fanout_bytes < payload_bytes * N_CONSUMERS / 100);

  for (int i = 0; i < N_FRAMES; i++) moqc_buf_unref(src[i]);
  for (int i = 0; i < N_CONSUMERS; i++) {
    moqc_group_consumer_del(readers[i].cur);
    moqc_track_consumer_del(readers[i].tc);
  }
  moqc_track_producer_del(t);
  moqc_env_del(env);
  assert_int_equal(g_mem.live, 0); /* every library allocation was returned */
  moqc_set_mem(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_zero_copy_fanout),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
