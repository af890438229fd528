/* moqc_session_stats_add: every field of moqc_session_stats is summed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "moqc/session.h"

enum { N = sizeof(moqc_session_stats) / sizeof(uint64_t) };

static void test_every_field_summed(void **state) {
  (void)state;
  uint64_t a[N], b[N];
  for (size_t i = 0; i < N; i++) {
    a[i] = 1000 * (i + 1);
    b[i] = i + 1;
  }
  moqc_session_stats acc, one;
  memcpy(&acc, a, sizeof acc);
  memcpy(&one, b, sizeof one);
  moqc_session_stats_add(&acc, &one);
  moqc_session_stats_add(&acc, &one);
  memcpy(a, &acc, sizeof a);
  for (size_t i = 0; i < N; i++) assert_int_equal(a[i], 1000 * (i + 1) + 2 * (i + 1));
  memcpy(b, &one, sizeof b); /* the addend is untouched */
  for (size_t i = 0; i < N; i++) assert_int_equal(b[i], i + 1);
}

/* The fields the relay's /metrics reads by name, datagrams_sent among them. */
static void test_named_fields(void **state) {
  (void)state;
  moqc_session_stats acc = {0}, s = {0};
  s.datagrams_sent = 3;
  s.datagrams_received = 4;
  s.probes_sent = 5;
  s.bytes_received = 6;
  s.remote_tracks = 7;
  moqc_session_stats_add(&acc, &s);
  moqc_session_stats_add(&acc, &s);
  assert_int_equal(acc.datagrams_sent, 6);
  assert_int_equal(acc.datagrams_received, 8);
  assert_int_equal(acc.probes_sent, 10);
  assert_int_equal(acc.bytes_received, 12);
  assert_int_equal(acc.remote_tracks, 14);
  assert_int_equal(acc.streams_opened, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_field_summed),
      cmocka_unit_test(test_named_fields),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
