/* Unit tests: src/core/buf.c and src/core/mem.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_death.h"

#include "core/mem.h"
#include "moqc/buf.h"
#include "moqc/error.h"

/* ---- a counting allocator that can be told to fail ------------------------ */

typedef struct counting {
  size_t mallocs, callocs, reallocs, frees;
  long live;       /* blocks currently allocated */
  long fail_after; /* fail every allocation once this many succeeded; -1 never */
} counting;

static bool cnt_may_alloc(counting *c) {
  if (c->fail_after < 0) return true;
  if (c->fail_after == 0) return false;
  c->fail_after--;
  return true;
}
static void *cnt_malloc(size_t n, void *user) {
  counting *c = user;
  if (!cnt_may_alloc(c)) return NULL;
  void *p = malloc(n);
  if (p) {
    c->mallocs++;
    c->live++;
  }
  return p;
}
static void *cnt_calloc(size_t n, size_t sz, void *user) {
  counting *c = user;
  if (!cnt_may_alloc(c)) return NULL;
  void *p = calloc(n, sz);
  if (p) {
    c->callocs++;
    c->live++;
  }
  return p;
}
static void *cnt_realloc(void *ptr, size_t n, void *user) {
  counting *c = user;
  if (!cnt_may_alloc(c)) return NULL;
  void *p = realloc(ptr, n);
  if (p) c->reallocs++;
  return p;
}
static void cnt_free(void *ptr, void *user) {
  counting *c = user;
  if (ptr) {
    c->frees++;
    c->live--;
  }
  free(ptr);
}

static counting g_cnt;

static void install_counting(long fail_after) {
  memset(&g_cnt, 0, sizeof g_cnt);
  g_cnt.fail_after = fail_after;
  moqc_mem m = {&g_cnt, cnt_malloc, cnt_free, cnt_calloc, cnt_realloc};
  moqc_set_mem(&m);
}

static int teardown_mem(void **state) {
  (void)state;
  moqc_set_mem(NULL);
  return 0;
}

/* ---- wrap release recorder ------------------------------------------------ */

typedef struct released {
  int calls;
  const uint8_t *data;
  size_t len;
} released;

static void on_release(void *ctx, const uint8_t *data, size_t len) {
  released *r = ctx;
  r->calls++;
  r->data = data;
  r->len = len;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_copy_refcount(void **state) {
  (void)state;
  moqc_buf_stats s0 = moqc_buf_get_stats();
  char src[] = "hello world";
  moqc_buf *b = moqc_buf_copy(src, 11);
  assert_non_null(b);
  assert_int_equal(b->len, 11);
  assert_int_equal(b->refcnt, 1);
  assert_ptr_not_equal(b->data, (const uint8_t *)src); /* a copy */
  src[0] = 'J';
  assert_memory_equal(b->data, "hello world", 11);

  moqc_buf_stats s1 = moqc_buf_get_stats();
  assert_int_equal(s1.bufs_live, s0.bufs_live + 1);
  assert_int_equal(s1.bytes_live, s0.bytes_live + 11);
  assert_int_equal(s1.bytes_copied, s0.bytes_copied + 11);

  assert_ptr_equal(moqc_buf_ref(b), b);
  assert_int_equal(b->refcnt, 2);
  moqc_buf_unref(b);
  assert_int_equal(b->refcnt, 1);
  moqc_buf_unref(b);
  moqc_buf_stats s2 = moqc_buf_get_stats();
  assert_int_equal(s2.bufs_live, s0.bufs_live);
  assert_int_equal(s2.bytes_live, s0.bytes_live);
  assert_int_equal(s2.bytes_copied, s0.bytes_copied + 11); /* cumulative */

  assert_null(moqc_buf_ref(NULL));
  moqc_buf_unref(NULL);
}

static void test_copy_empty_and_invalid(void **state) {
  (void)state;
  moqc_buf *b = moqc_buf_copy(NULL, 0);
  assert_non_null(b);
  assert_int_equal(b->len, 0);
  moqc_buf_unref(b);
  assert_null(moqc_buf_copy(NULL, 5));
  assert_null(moqc_buf_wrap(NULL, 5, NULL, NULL));
}

static void test_single_allocation(void **state) {
  (void)state;
  install_counting(-1);
  moqc_buf *b = moqc_buf_copy("abcdef", 6);
  assert_non_null(b);
  assert_int_equal(g_cnt.mallocs + g_cnt.callocs, 1); /* header + data together */
  assert_ptr_equal(b->data, (const uint8_t *)(b + 1));
  uint8_t *w = NULL;
  moqc_buf *a = moqc_buf_alloc(100, &w);
  assert_non_null(a);
  assert_ptr_equal(w, a->data);
  memset(w, 0x5a, 100);
  assert_int_equal(a->data[99], 0x5a);
  assert_int_equal(g_cnt.mallocs + g_cnt.callocs, 2);
  moqc_buf_unref(b);
  moqc_buf_unref(a);
  assert_int_equal(g_cnt.frees, 2);
  assert_int_equal(g_cnt.live, 0);
}

static void test_wrap_release_once(void **state) {
  (void)state;
  static const uint8_t payload[] = {1, 2, 3, 4, 5};
  released r = {0, NULL, 0};
  moqc_buf_stats s0 = moqc_buf_get_stats();
  moqc_buf *b = moqc_buf_wrap(payload, sizeof payload, on_release, &r);
  assert_non_null(b);
  assert_ptr_equal(b->data, payload); /* not copied */
  assert_int_equal(moqc_buf_get_stats().bytes_copied, s0.bytes_copied);
  assert_int_equal(moqc_buf_get_stats().bufs_live, s0.bufs_live + 1);
  moqc_slice s1, s2;
  assert_int_equal(moqc_slice_make(&s1, b, 1, 3), MOQC_OK);
  assert_int_equal(moqc_slice_sub(&s2, &s1, 1, 1), MOQC_OK);
  moqc_buf_unref(b);
  assert_int_equal(r.calls, 0);
  moqc_slice_release(&s1);
  assert_int_equal(r.calls, 0);
  assert_int_equal(*moqc_slice_ptr(&s2), 3);
  moqc_slice_release(&s2);
  assert_int_equal(r.calls, 1);
  assert_ptr_equal(r.data, payload);
  assert_int_equal(r.len, sizeof payload);
  moqc_slice_release(&s2); /* already empty: no second release */
  assert_int_equal(r.calls, 1);
  assert_int_equal(moqc_buf_get_stats().bufs_live, s0.bufs_live);

  /* A NULL release (static memory) is fine. */
  b = moqc_buf_wrap("static", 6, NULL, NULL);
  assert_non_null(b);
  moqc_buf_unref(b);
}

static void test_slices(void **state) {
  (void)state;
  moqc_buf *b = moqc_buf_copy("0123456789", 10);
  assert_non_null(b);
  moqc_slice s = MOQC_SLICE_EMPTY;
  assert_int_equal(moqc_slice_make(&s, b, 2, 5), MOQC_OK);
  assert_int_equal(b->refcnt, 2);
  assert_ptr_equal(s.buf, b);
  assert_int_equal(s.off, 2);
  assert_int_equal(s.len, 5);
  assert_memory_equal(moqc_slice_ptr(&s), "23456", 5);

  moqc_slice sub;
  assert_int_equal(moqc_slice_sub(&sub, &s, 1, 3), MOQC_OK);
  assert_int_equal(b->refcnt, 3);
  assert_memory_equal(moqc_slice_ptr(&sub), "345", 3);
  assert_int_equal(moqc_slice_sub(&sub, &s, 0, 6), MOQC_ERR_INVAL);
  assert_int_equal(moqc_slice_sub(&sub, &s, 6, 0), MOQC_ERR_INVAL);
  assert_int_equal(moqc_slice_sub(&sub, &s, 3, SIZE_MAX), MOQC_ERR_INVAL);
  assert_int_equal(b->refcnt, 3); /* failures take no reference */

  moqc_slice d = moqc_slice_dup(&sub);
  assert_int_equal(b->refcnt, 4);
  assert_int_equal(d.off, 3);
  assert_int_equal(d.len, 3);

  /* Out-of-range makes, including overflow of off + len. */
  moqc_slice bad;
  assert_int_equal(moqc_slice_make(&bad, b, 11, 0), MOQC_ERR_INVAL);
  assert_int_equal(moqc_slice_make(&bad, b, 5, 6), MOQC_ERR_INVAL);
  assert_int_equal(moqc_slice_make(&bad, b, 1, SIZE_MAX), MOQC_ERR_INVAL);
  assert_int_equal(moqc_slice_make(&bad, b, SIZE_MAX, 2), MOQC_ERR_INVAL);
  assert_int_equal(moqc_slice_make(NULL, b, 0, 1), MOQC_ERR_INVAL);
  assert_int_equal(b->refcnt, 4);
  /* Boundaries: the full buf and an empty tail are fine. */
  moqc_slice full, tail;
  assert_int_equal(moqc_slice_make(&full, b, 0, 10), MOQC_OK);
  assert_int_equal(moqc_slice_make(&tail, b, 10, 0), MOQC_OK);
  assert_int_equal(b->refcnt, 6);

  moqc_slice_release(&full);
  moqc_slice_release(&tail);
  moqc_slice_release(&d);
  moqc_slice_release(&sub);
  moqc_slice_release(&s);
  assert_null(s.buf);
  assert_int_equal(s.len, 0);
  assert_int_equal(b->refcnt, 1);
  moqc_buf_unref(b);

  /* Empty slices without a buf. */
  moqc_slice e;
  assert_int_equal(moqc_slice_make(&e, NULL, 0, 0), MOQC_OK);
  assert_null(e.buf);
  assert_null(moqc_slice_ptr(&e));
  assert_int_equal(moqc_slice_make(&e, NULL, 0, 1), MOQC_ERR_INVAL);
  moqc_slice e2 = moqc_slice_dup(&e);
  assert_null(e2.buf);
  moqc_slice_release(&e2);
  moqc_slice_release(NULL);
}

static void test_allocator_counts(void **state) {
  (void)state;
  install_counting(-1);
  assert_ptr_equal(moqc_get_mem()->user, &g_cnt);
  void *p = moqc_malloc(10);
  void *q = moqc_calloc(4, 8);
  assert_non_null(p);
  assert_non_null(q);
  for (size_t i = 0; i < 32; i++) assert_int_equal(((uint8_t *)q)[i], 0);
  p = moqc_realloc(p, 1000);
  assert_non_null(p);
  void *z = moqc_malloc(0); /* never a NULL "success" */
  assert_non_null(z);
  char *dup = moqc_strdup("moq");
  assert_string_equal(dup, "moq");
  char *dupn = moqc_strndup("moqc-relay", 4);
  assert_string_equal(dupn, "moqc");
  assert_int_equal(g_cnt.mallocs, 4);
  assert_int_equal(g_cnt.callocs, 1);
  assert_int_equal(g_cnt.reallocs, 1);
  assert_int_equal(g_cnt.live, 5);
  moqc_free(p);
  moqc_free(q);
  moqc_free(z);
  moqc_free(dup);
  moqc_free(dupn);
  moqc_free(NULL); /* no call */
  assert_int_equal(g_cnt.frees, 5);
  assert_int_equal(g_cnt.live, 0);
  /* Overflowing array sizes fail without calling the allocator. */
  size_t before = g_cnt.callocs;
  assert_null(moqc_calloc(SIZE_MAX / 2, 4));
  assert_null(moqc_reallocarray(NULL, SIZE_MAX / 2, 4));
  assert_int_equal(g_cnt.callocs, before);
}

static void test_set_mem_null_restores_default(void **state) {
  (void)state;
  install_counting(-1);
  moqc_set_mem(NULL);
  assert_null(moqc_get_mem()->user);
  moqc_buf *b = moqc_buf_copy("x", 1);
  assert_non_null(b);
  moqc_buf_unref(b);
  assert_int_equal(g_cnt.mallocs, 0);
  /* An allocator without malloc/free is refused (default kept). */
  moqc_mem partial = {&g_cnt, NULL, cnt_free, NULL, NULL};
  moqc_set_mem(&partial);
  assert_null(moqc_get_mem()->user);
  /* Missing calloc is emulated through the user's malloc. */
  moqc_mem nocalloc = {&g_cnt, cnt_malloc, cnt_free, NULL, NULL};
  moqc_set_mem(&nocalloc);
  uint8_t *c = moqc_calloc(3, 5);
  assert_non_null(c);
  for (size_t i = 0; i < 15; i++) assert_int_equal(c[i], 0);
  assert_int_equal(g_cnt.mallocs, 1);
  /* Missing realloc fails cleanly, the old block is untouched. */
  assert_null(moqc_realloc(c, 100));
  moqc_free(c);
  assert_int_equal(g_cnt.live, 0);
}

static void test_oom(void **state) {
  (void)state;
  moqc_buf_stats s0 = moqc_buf_get_stats();
  install_counting(0); /* every allocation fails */
  uint8_t *w = (uint8_t *)1;
  assert_null(moqc_buf_copy("abc", 3));
  assert_null(moqc_buf_alloc(3, &w));
  assert_null(w);
  released r = {0, NULL, 0};
  assert_null(moqc_buf_wrap("abc", 3, on_release, &r));
  assert_int_equal(r.calls, 0); /* caller still owns data: release NOT called */
  assert_null(moqc_malloc(1));
  assert_null(moqc_calloc(1, 1));
  assert_null(moqc_strdup("x"));
  assert_int_equal(g_cnt.live, 0);
  moqc_buf_stats s1 = moqc_buf_get_stats();
  assert_int_equal(s1.bufs_live, s0.bufs_live);
  assert_int_equal(s1.bytes_live, s0.bytes_live);
  assert_int_equal(s1.bytes_copied, s0.bytes_copied);

  /* Fail the second allocation: the first buf is intact and freeable. */
  install_counting(1);
  moqc_buf *ok = moqc_buf_copy("ok", 2);
  assert_non_null(ok);
  assert_null(moqc_buf_copy("no", 2));
  moqc_buf_unref(ok);
  assert_int_equal(g_cnt.live, 0);

  /* Size overflow never reaches the allocator. */
  install_counting(-1);
  assert_null(moqc_buf_alloc(SIZE_MAX - 4, &w));
  assert_int_equal(g_cnt.mallocs, 0);
}

static void unref_below_zero(void) {
  moqc_buf *b = moqc_buf_copy("x", 1);
  moqc_buf_ref(b);
  moqc_buf_unref(b);
  b->refcnt = 0; /* as if one unref too many had happened on a live buf */
  moqc_buf_unref(b);
}

static void dup_out_of_bounds(void) {
  moqc_buf *b = moqc_buf_copy("abc", 3);
  moqc_slice s = {b, 2, 2}; /* hand-made, past the end */
  moqc_slice d = moqc_slice_dup(&s);
  (void)d;
}

static void release_len_without_buf(void) {
  moqc_slice s = {NULL, 0, 5};
  moqc_slice_release(&s);
}

static void test_invariant_asserts(void **state) {
  (void)state;
  expect_abort(unref_below_zero);
  expect_abort(dup_out_of_bounds);
  expect_abort(release_len_without_buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_copy_refcount),
      cmocka_unit_test(test_copy_empty_and_invalid),
      cmocka_unit_test_teardown(test_single_allocation, teardown_mem),
      cmocka_unit_test(test_wrap_release_once),
      cmocka_unit_test(test_slices),
      cmocka_unit_test(test_invariant_asserts),
      cmocka_unit_test_teardown(test_allocator_counts, teardown_mem),
      cmocka_unit_test_teardown(test_set_mem_null_restores_default, teardown_mem),
      cmocka_unit_test_teardown(test_oom, teardown_mem),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
