/* Unit tests of the core containers: the intrusive list (core/list.h), the
 * integer-keyed map (core/imap.h) and the string-keyed map (core/smap.h).
 * Basic operations, growth, many keys, colliding keys, removal during
 * iteration, and allocation failure through moqc_set_mem(). The random-op
 * comparison against a reference model is tests/fuzz/fuzz_containers.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_death.h"

#include "core/imap.h"
#include "core/list.h"
#include "core/smap.h"
#include "moqc/buf.h"
#include "moqc/error.h"

/* ---- allocator that fails on demand ----------------------------------------- */

static struct {
  int fail; /* fail every allocation while set */
  long live;
} g_mem;

static void *t_malloc(size_t n, void *u) {
  (void)u;
  if (g_mem.fail) return NULL;
  g_mem.live++;
  return malloc(n);
}

static void *t_calloc(size_t n, size_t s, void *u) {
  (void)u;
  if (g_mem.fail) return NULL;
  g_mem.live++;
  return calloc(n, s);
}

static void *t_realloc(void *p, size_t n, void *u) {
  (void)u;
  if (g_mem.fail) return NULL;
  if (!p) g_mem.live++;
  return realloc(p, n);
}

static void t_free(void *p, void *u) {
  (void)u;
  if (p) g_mem.live--;
  free(p);
}

static int setup_mem(void **state) {
  (void)state;
  static const moqc_mem m = {NULL, t_malloc, t_free, t_calloc, t_realloc};
  memset(&g_mem, 0, sizeof g_mem);
  moqc_set_mem(&m);
  return 0;
}

static int teardown_mem(void **state) {
  (void)state;
  moqc_set_mem(NULL);
  assert_int_equal(g_mem.live, 0); /* every table and key copy freed */
  return 0;
}

/* A distinct non-NULL pointer per integer (never dereferenced). */
static void *vp(uint64_t i) { return (void *)(uintptr_t)(i * 8 + 8); }

/* ---- list ---------------------------------------------------------------------- */

typedef struct item {
  int v;
  moqc_link node;
} item;

static void list_expect(moqc_link *h, const int *want, size_t n) {
  size_t i = 0;
  moqc_link *it, *nx;
  MOQC_LIST_FOREACH_SAFE(it, nx, h) {
    assert_true(i < n);
    assert_int_equal(MOQC_CONTAINER_OF(it, item, node)->v, want[i]);
    i++;
  }
  assert_int_equal(i, n);
}

static void test_list_ops(void **state) {
  (void)state;
  moqc_link h, h2;
  moqc_link_init(&h);
  moqc_link_init(&h2);
  item it[6];
  for (int i = 0; i < 6; i++) {
    it[i].v = i;
    moqc_link_init(&it[i].node);
    assert_false(moqc_link_linked(&it[i].node));
  }
  assert_true(moqc_list_empty(&h));
  assert_null(moqc_list_pop_front(&h));
  moqc_list_push_back(&h, &it[1].node);
  moqc_list_push_back(&h, &it[2].node);
  moqc_list_push_front(&h, &it[0].node);
  list_expect(&h, (const int[]){0, 1, 2}, 3);
  assert_true(moqc_link_linked(&it[1].node));
  moqc_list_remove(&it[1].node);
  assert_false(moqc_link_linked(&it[1].node));
  moqc_list_unlink(&it[1].node); /* unlinked: a no-op */
  list_expect(&h, (const int[]){0, 2}, 2);
  moqc_list_push_back(&h2, &it[3].node);
  moqc_list_push_back(&h2, &it[4].node);
  moqc_list_splice(&h, &h2);
  assert_true(moqc_list_empty(&h2));
  moqc_list_splice(&h, &h2); /* empty source: no-op */
  list_expect(&h, (const int[]){0, 2, 3, 4}, 4);
  assert_ptr_equal(moqc_list_pop_front(&h), &it[0].node);
  assert_false(moqc_link_linked(&it[0].node));
  list_expect(&h, (const int[]){2, 3, 4}, 3);
}

static void test_list_remove_while_iterating(void **state) {
  (void)state;
  moqc_link h;
  moqc_link_init(&h);
  item it[10];
  for (int i = 0; i < 10; i++) {
    it[i].v = i;
    moqc_link_init(&it[i].node);
    moqc_list_push_back(&h, &it[i].node);
  }
  int seen = 0;
  MOQC_LIST_FOREACH_SAFE_DECL(cur, nx, &h) {
    item *x = MOQC_CONTAINER_OF(cur, item, node);
    assert_int_equal(x->v, seen++);
    if (x->v % 2 == 0) moqc_list_remove(cur);
  }
  assert_int_equal(seen, 10);
  list_expect(&h, (const int[]){1, 3, 5, 7, 9}, 5);
}

/* ---- imap ---------------------------------------------------------------------- */

static void test_imap_basic(void **state) {
  (void)state;
  moqc_imap m;
  moqc__imap_init(&m);
  assert_null(moqc__imap_find(&m, 1));
  assert_null(moqc__imap_remove(&m, 1));
  assert_int_equal(moqc__imap_insert(&m, 0, vp(0)), MOQC_OK);
  assert_int_equal(moqc__imap_insert(&m, UINT64_MAX, vp(1)), MOQC_OK);
  assert_int_equal(moqc__imap_insert(&m, 0, vp(2)), MOQC_ERR_DUPLICATE);
  assert_int_equal(moqc__imap_insert(&m, 9, NULL), MOQC_ERR_INVAL);
  assert_int_equal(moqc__imap_size(&m), 2);
  assert_ptr_equal(moqc__imap_find(&m, 0), vp(0)); /* duplicate left it alone */
  assert_ptr_equal(moqc__imap_find(&m, UINT64_MAX), vp(1));
  assert_null(moqc__imap_find(&m, 7));
  assert_ptr_equal(moqc__imap_remove(&m, 0), vp(0));
  assert_null(moqc__imap_remove(&m, 0));
  assert_null(moqc__imap_find(&m, 0));
  assert_int_equal(moqc__imap_size(&m), 1);
  moqc__imap_free(&m);
  assert_int_equal(moqc__imap_size(&m), 0);
  /* reusable after free */
  assert_int_equal(moqc__imap_insert(&m, 5, vp(5)), MOQC_OK);
  moqc__imap_free(&m);
}

/* Stream-id shaped keys (4 types, growing), half removed (the old per-module
 * stream map test, now on the core map). */
static void test_imap_many(void **state) {
  (void)state;
  moqc_imap m = {0};
  enum { N = 3000 };
  for (uint64_t i = 0; i < N; i++) {
    assert_int_equal(moqc__imap_insert(&m, i * 4 + (i & 3), vp(i)), MOQC_OK);
    assert_true(m.n * 2 <= m.cap); /* grows at half full */
  }
  for (uint64_t i = 0; i < N; i += 2)
    assert_ptr_equal(moqc__imap_remove(&m, i * 4 + (i & 3)), vp(i));
  assert_null(moqc__imap_remove(&m, 123456789)); /* absent */
  for (uint64_t i = 0; i < N; i++)
    assert_ptr_equal(moqc__imap_find(&m, i * 4 + (i & 3)), i % 2 ? vp(i) : NULL);
  assert_int_equal(moqc__imap_size(&m), N / 2);
  moqc__imap_free(&m);
}

/* Keys that land on the same home slot (found by search): long probe
 * clusters, removal from the middle of a cluster, wrap-around at the end of
 * the table. */
static void test_imap_collisions(void **state) {
  (void)state;
  moqc_imap m = {0};
  const size_t mask = 7; /* the first table has 8 slots */
  uint64_t keys[3], other = 0;
  size_t nk = 0;
  for (uint64_t k = 0; nk < 3; k++)
    if ((moqc__mix64(k) & mask) == mask) keys[nk++] = k; /* home: the last slot */
  while ((moqc__mix64(other) & mask) != 0) other++;      /* home: slot 0 */
  for (size_t i = 0; i < nk; i++)
    assert_int_equal(moqc__imap_insert(&m, keys[i], vp(i + 1)), MOQC_OK);
  assert_int_equal(moqc__imap_insert(&m, other, vp(0)), MOQC_OK);
  assert_int_equal(m.cap, 8); /* 4 of 8: no growth yet */
  /* the cluster wraps: 7, 0, 1, then other (home 0) at 2 */
  assert_ptr_equal(m.slots[7].val, vp(1));
  assert_ptr_equal(m.slots[0].val, vp(2));
  assert_ptr_equal(m.slots[2].val, vp(0));
  for (size_t i = 0; i < nk; i++) assert_ptr_equal(moqc__imap_find(&m, keys[i]), vp(i + 1));
  /* remove the head of the wrapped cluster: everything shifts back one */
  assert_ptr_equal(moqc__imap_remove(&m, keys[0]), vp(1));
  assert_ptr_equal(m.slots[7].val, vp(2));
  assert_ptr_equal(m.slots[0].val, vp(3));
  assert_ptr_equal(m.slots[1].val, vp(0));
  assert_null(m.slots[2].val);
  assert_ptr_equal(moqc__imap_find(&m, keys[1]), vp(2));
  assert_ptr_equal(moqc__imap_find(&m, keys[2]), vp(3));
  assert_ptr_equal(moqc__imap_find(&m, other), vp(0));
  assert_null(moqc__imap_find(&m, keys[0]));
  moqc__imap_free(&m);
  /* a hole at the end of the table; the wrapped entry at slot 0 is at home
   * there and must not move up into the hole */
  assert_int_equal(moqc__imap_insert(&m, keys[0], vp(1)), MOQC_OK);
  assert_int_equal(moqc__imap_insert(&m, other, vp(0)), MOQC_OK);
  assert_ptr_equal(m.slots[7].val, vp(1));
  assert_ptr_equal(m.slots[0].val, vp(0));
  assert_ptr_equal(moqc__imap_remove(&m, keys[0]), vp(1));
  assert_ptr_equal(m.slots[0].val, vp(0));
  assert_ptr_equal(moqc__imap_find(&m, other), vp(0));
  moqc__imap_free(&m);
}

static void test_imap_iterate_remove(void **state) {
  (void)state;
  enum { N = 500 };
  moqc_imap m = {0};
  for (uint64_t i = 0; i < N; i++) assert_int_equal(moqc__imap_insert(&m, i * 7, vp(i)), MOQC_OK);
  /* visit each once, removing every other one as we go */
  static unsigned char seen[N];
  memset(seen, 0, sizeof seen);
  moqc_imap_it it;
  uint64_t k;
  void *v;
  size_t visits = 0;
  moqc__imap_it_init(&m, &it);
  while (moqc__imap_next(&m, &it, &k, &v)) {
    assert_int_equal(k % 7, 0);
    assert_ptr_equal(v, vp(k / 7));
    assert_int_equal(seen[k / 7]++, 0);
    visits++;
    if ((k / 7) % 2 == 0) assert_ptr_equal(moqc__imap_remove(&m, k), v);
  }
  assert_int_equal(visits, N);
  assert_int_equal(moqc__imap_size(&m), N / 2);
  /* drain completely while iterating (teardown pattern) */
  visits = 0;
  moqc__imap_it_init(&m, &it);
  while (moqc__imap_next(&m, &it, &k, NULL)) {
    assert_int_equal((k / 7) % 2, 1);
    assert_non_null(moqc__imap_remove(&m, k));
    visits++;
  }
  assert_int_equal(visits, N / 2);
  assert_int_equal(moqc__imap_size(&m), 0);
  moqc__imap_it_init(&m, &it); /* empty map */
  assert_false(moqc__imap_next(&m, &it, NULL, NULL));
  moqc__imap_free(&m);
  moqc__imap_it_init(&m, &it); /* never-allocated map */
  assert_false(moqc__imap_next(&m, &it, NULL, NULL));
}

static void test_imap_oom(void **state) {
  (void)state;
  moqc_imap m = {0};
  g_mem.fail = 1;
  assert_int_equal(moqc__imap_insert(&m, 1, vp(1)), MOQC_ERR_NOMEM); /* first table */
  assert_int_equal(moqc__imap_size(&m), 0);
  g_mem.fail = 0;
  for (uint64_t i = 0; i < 4; i++) assert_int_equal(moqc__imap_insert(&m, i, vp(i)), MOQC_OK);
  assert_int_equal(m.cap, 8);
  /* cannot grow: fills to three quarters, then NOMEM, map intact */
  g_mem.fail = 1;
  assert_int_equal(moqc__imap_insert(&m, 4, vp(4)), MOQC_OK);
  assert_int_equal(moqc__imap_insert(&m, 5, vp(5)), MOQC_OK);
  assert_int_equal(moqc__imap_insert(&m, 6, vp(6)), MOQC_ERR_NOMEM);
  assert_int_equal(m.cap, 8);
  assert_int_equal(moqc__imap_size(&m), 6);
  for (uint64_t i = 0; i < 6; i++) assert_ptr_equal(moqc__imap_find(&m, i), vp(i));
  assert_null(moqc__imap_find(&m, 6));
  g_mem.fail = 0;
  assert_int_equal(moqc__imap_insert(&m, 6, vp(6)), MOQC_OK); /* grows now */
  assert_int_equal(m.cap, 16);
  moqc__imap_free(&m);
}

/* ---- smap ---------------------------------------------------------------------- */

static void test_smap_basic(void **state) {
  (void)state;
  moqc_smap m;
  moqc__smap_init(&m, 0);
  static const char long_key[] = "a/rather/long/broadcast/path/that/is/not/inline";
  assert_null(moqc__smap_find(&m, "x", 1));
  assert_int_equal(moqc__smap_insert(&m, "", 0, vp(0)), MOQC_OK); /* empty key */
  assert_int_equal(moqc__smap_insert(&m, "ab", 2, vp(1)), MOQC_OK);
  assert_int_equal(moqc__smap_insert(&m, "ab\0c", 4, vp(2)), MOQC_OK); /* NUL inside */
  assert_int_equal(moqc__smap_insert(&m, long_key, strlen(long_key), vp(3)), MOQC_OK);
  assert_int_equal(moqc__smap_insert(&m, "ab", 2, vp(9)), MOQC_ERR_DUPLICATE);
  assert_int_equal(moqc__smap_insert(&m, "zz", 2, NULL), MOQC_ERR_INVAL);
  assert_int_equal(moqc__smap_size(&m), 4);
  /* the map owns copies: the caller's buffer may change */
  char buf[64];
  strcpy(buf, long_key);
  assert_ptr_equal(moqc__smap_find(&m, buf, strlen(buf)), vp(3));
  buf[0] = 'b';
  assert_null(moqc__smap_find(&m, buf, strlen(buf)));
  assert_ptr_equal(moqc__smap_find(&m, "", 0), vp(0));
  assert_ptr_equal(moqc__smap_find(&m, "ab", 2), vp(1));
  assert_null(moqc__smap_find(&m, "ab", 3)); /* same bytes + NUL: another key */
  assert_null(moqc__smap_find(&m, "a", 1));
  assert_ptr_equal(moqc__smap_find(&m, "ab\0c", 4), vp(2));
  assert_ptr_equal(moqc__smap_remove(&m, long_key, strlen(long_key)), vp(3));
  assert_null(moqc__smap_remove(&m, long_key, strlen(long_key)));
  assert_int_equal(moqc__smap_size(&m), 3);
  /* free releases the remaining key copies (the teardown checks it) */
  assert_int_equal(moqc__smap_insert(&m, long_key, strlen(long_key), vp(3)), MOQC_OK);
  moqc__smap_free(&m);
  assert_int_equal(moqc__smap_size(&m), 0);
}

/* Connection-id shaped keys: random bytes, lengths 8..20, seeded (the old
 * per-module CID map test, now on the core map), plus long keys. */
static void test_smap_many(void **state) {
  (void)state;
  enum { N = 2000 };
  static uint8_t keys[N][40];
  moqc_smap m;
  moqc__smap_init(&m, 0x1234);
  srand(3);
  for (int i = 0; i < N; i++) {
    for (int k = 0; k < 40; k++) keys[i][k] = (uint8_t)rand();
    size_t len = i % 5 ? 8 + (size_t)(i % 13) : 25 + (size_t)(i % 15); /* some > inline */
    assert_int_equal(moqc__smap_insert(&m, keys[i], len, vp((uint64_t)i)), MOQC_OK);
    assert_true(m.n * 2 <= m.cap);
  }
  for (int i = 0; i < N; i += 3) {
    size_t len = i % 5 ? 8 + (size_t)(i % 13) : 25 + (size_t)(i % 15);
    assert_ptr_equal(moqc__smap_remove(&m, keys[i], len), vp((uint64_t)i));
  }
  for (int i = 0; i < N; i++) {
    size_t len = i % 5 ? 8 + (size_t)(i % 13) : 25 + (size_t)(i % 15);
    assert_ptr_equal(moqc__smap_find(&m, keys[i], len), i % 3 ? vp((uint64_t)i) : NULL);
    if (i % 3) assert_null(moqc__smap_find(&m, keys[i], len - 1)); /* a prefix: another key */
  }
  moqc__smap_free(&m);
}

/* Same hash is not enough: keys whose slots collide still compare bytes.
 * Forced by a table of 8 slots and keys chosen to share a home slot. */
static void test_smap_collisions(void **state) {
  (void)state;
  moqc_smap m;
  moqc__smap_init(&m, 42);
  char keys[3][8];
  size_t nk = 0;
  for (unsigned k = 0; nk < 3; k++) {
    char s[8];
    int n = snprintf(s, sizeof s, "k%u", k);
    if ((moqc__hash_bytes(42, s, (size_t)n) & 7) == 7) memcpy(keys[nk++], s, sizeof s);
  }
  for (size_t i = 0; i < nk; i++)
    assert_int_equal(moqc__smap_insert(&m, keys[i], strlen(keys[i]), vp(i)), MOQC_OK);
  assert_int_equal(m.cap, 8);
  for (size_t i = 0; i < nk; i++)
    assert_ptr_equal(moqc__smap_find(&m, keys[i], strlen(keys[i])), vp(i));
  assert_ptr_equal(moqc__smap_remove(&m, keys[0], strlen(keys[0])), vp(0));
  assert_ptr_equal(moqc__smap_find(&m, keys[1], strlen(keys[1])), vp(1));
  assert_ptr_equal(moqc__smap_find(&m, keys[2], strlen(keys[2])), vp(2));
  moqc__smap_free(&m);
}

static void test_smap_iterate_remove(void **state) {
  (void)state;
  enum { N = 300 };
  moqc_smap m = {0};
  char key[48];
  for (int i = 0; i < N; i++) {
    int n = snprintf(key, sizeof key, i % 2 ? "p/%d" : "a/longer/path/to/broadcast/%d", i);
    assert_int_equal(moqc__smap_insert(&m, key, (size_t)n, vp((uint64_t)i)), MOQC_OK);
  }
  static unsigned char seen[N];
  memset(seen, 0, sizeof seen);
  moqc_smap_it it;
  const uint8_t *k;
  size_t len;
  void *v;
  size_t visits = 0;
  moqc__smap_it_init(&m, &it);
  while (moqc__smap_next(&m, &it, &k, &len, &v)) {
    size_t i = (uintptr_t)v / 8 - 1;
    assert_true(i < N);
    int n = snprintf(key, sizeof key, i % 2 ? "p/%d" : "a/longer/path/to/broadcast/%d", (int)i);
    assert_int_equal(len, (size_t)n);
    assert_memory_equal(k, key, len);
    assert_int_equal(seen[i]++, 0);
    visits++;
    if (i % 3 == 0) {
      memcpy(key, k, len); /* the key pointer dies with the entry */
      assert_ptr_equal(moqc__smap_remove(&m, key, len), v);
    }
  }
  assert_int_equal(visits, N);
  assert_int_equal(moqc__smap_size(&m), N - (N + 2) / 3);
  moqc__smap_free(&m);
}

static void test_smap_oom(void **state) {
  (void)state;
  moqc_smap m = {0};
  static const char long_key[] = "a/rather/long/broadcast/path/that/is/not/inline";
  g_mem.fail = 1;
  assert_int_equal(moqc__smap_insert(&m, "a", 1, vp(1)), MOQC_ERR_NOMEM);
  g_mem.fail = 0;
  assert_int_equal(moqc__smap_insert(&m, "a", 1, vp(1)), MOQC_OK);
  g_mem.fail = 1; /* the key copy cannot be made; the map is unchanged */
  assert_int_equal(moqc__smap_insert(&m, long_key, strlen(long_key), vp(2)), MOQC_ERR_NOMEM);
  assert_int_equal(moqc__smap_size(&m), 1);
  assert_null(moqc__smap_find(&m, long_key, strlen(long_key)));
  /* short keys need no allocation until the table must grow */
  char k[4];
  for (int i = 0; i < 5; i++) {
    int n = snprintf(k, sizeof k, "%d", i);
    assert_int_equal(moqc__smap_insert(&m, k, (size_t)n, vp(10 + (uint64_t)i)), MOQC_OK);
  }
  assert_int_equal(m.cap, 8);
  assert_int_equal(moqc__smap_insert(&m, "x", 1, vp(20)), MOQC_ERR_NOMEM); /* 3/4 */
  assert_int_equal(moqc__smap_size(&m), 6);
  g_mem.fail = 0;
  assert_int_equal(moqc__smap_insert(&m, long_key, strlen(long_key), vp(2)), MOQC_OK);
  assert_int_equal(m.cap, 16);
  moqc__smap_free(&m);
}

static void push_linked_node(void) {
  moqc_link a, b, n;
  moqc_link_init(&a);
  moqc_link_init(&b);
  moqc_link_init(&n);
  moqc_list_push_back(&a, &n);
  moqc_list_push_front(&b, &n); /* still in a: refused */
}

static void push_stale_node(void) {
  moqc_link h, n;
  moqc_link_init(&h);
  memset(&n, 0xbe, sizeof n); /* uninitialised (malloc'd) memory */
  moqc_list_push_back(&h, &n);
}

static void remove_unlinked_node(void) {
  moqc_link n;
  moqc_link_init(&n);
  moqc_list_remove(&n); /* moqc_list_unlink is the tolerant form */
}

static void test_list_asserts(void **state) {
  (void)state;
  /* What is allowed: a zeroed node may be pushed; unlink tolerates both. */
  moqc_link h, z;
  moqc_link_init(&h);
  memset(&z, 0, sizeof z);
  moqc_list_push_back(&h, &z);
  moqc_list_unlink(&z);
  moqc_list_unlink(&z);
  assert_true(moqc_list_empty(&h));
  expect_abort(push_linked_node);
  expect_abort(push_stale_node);
  expect_abort(remove_unlinked_node);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_list_ops),
      cmocka_unit_test(test_list_remove_while_iterating),
      cmocka_unit_test(test_list_asserts),
      cmocka_unit_test_setup_teardown(test_imap_basic, setup_mem, teardown_mem),
      cmocka_unit_test_setup_teardown(test_imap_many, setup_mem, teardown_mem),
      cmocka_unit_test_setup_teardown(test_imap_collisions, setup_mem, teardown_mem),
      cmocka_unit_test_setup_teardown(test_imap_iterate_remove, setup_mem, teardown_mem),
      cmocka_unit_test_setup_teardown(test_imap_oom, setup_mem, teardown_mem),
      cmocka_unit_test_setup_teardown(test_smap_basic, setup_mem, teardown_mem),
      cmocka_unit_test_setup_teardown(test_smap_many, setup_mem, teardown_mem),
      cmocka_unit_test_setup_teardown(test_smap_collisions, setup_mem, teardown_mem),
      cmocka_unit_test_setup_teardown(test_smap_iterate_remove, setup_mem, teardown_mem),
      cmocka_unit_test_setup_teardown(test_smap_oom, setup_mem, teardown_mem),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
