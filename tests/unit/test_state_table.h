/* Checks for the lifecycle transition tables (docs/transport.md "Lifecycles"):
 * check_table walks every (from, to) pair of an enum and compares the pure
 * predicate with the list of legal pairs; check_str wants a distinct, known
 * name for every value. Include after <cmocka.h>. */
#ifndef MOQC_TEST_STATE_TABLE_H
#define MOQC_TEST_STATE_TABLE_H

#include <stdbool.h>
#include <stddef.h>

typedef bool (*trans_fn)(int from, int to);
typedef const char *(*str_fn)(int v);

/* pairs: n legal (from, to) pairs; every pair over [0, nvals)^2 not listed
 * must be illegal. */
static inline void check_table(trans_fn ok, int nvals, const int (*pairs)[2], size_t n) {
  for (int f = 0; f < nvals; f++) {
    for (int t = 0; t < nvals; t++) {
      bool want = false;
      for (size_t i = 0; i < n; i++)
        if (pairs[i][0] == f && pairs[i][1] == t) want = true;
      if (ok(f, t) != want) fail_msg("transition %d -> %d: got %d, want %d", f, t, !want, want);
    }
  }
}

static inline void check_str(str_fn str, int nvals) {
  for (int a = 0; a < nvals; a++) {
    assert_non_null(str(a));
    assert_string_not_equal(str(a), "?");
    for (int b = 0; b < a; b++) assert_string_not_equal(str(a), str(b));
  }
}

#endif
