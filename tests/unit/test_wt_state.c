/* Unit tests: the lifecycle enums of the WebTransport session
 * (src/webtransport/wt_internal.h): session state, handle ownership and our
 * hold on the h3 connection. Each transition table is checked against an
 * explicit list of legal pairs (every other pair must be refused), and every
 * value has a distinct _str(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include "test_state_table.h"

#include "webtransport/wt_internal.h"

static bool st_ok(int f, int t) { return moqc__wt_state_transition_ok((wt_state)f, (wt_state)t); }
static bool ow_ok(int f, int t) { return moqc__wt_owner_transition_ok((wt_owner)f, (wt_owner)t); }
static bool h3_ok(int f, int t) { return moqc__wt_h3_transition_ok((wt_h3)f, (wt_h3)t); }
static const char *st_str(int v) { return moqc__wt_state_str((wt_state)v); }
static const char *ow_str(int v) { return moqc__wt_owner_str((wt_owner)v); }
static const char *h3_str(int v) { return moqc__wt_h3_str((wt_h3)v); }

static void test_session_state(void **state) {
  (void)state;
  static const int legal[][2] = {
      {WT_ST_SETUP, WT_ST_OPEN},  {WT_ST_SETUP, WT_ST_CLOSED},   {WT_ST_OPEN, WT_ST_CLOSING},
      {WT_ST_OPEN, WT_ST_CLOSED}, {WT_ST_CLOSING, WT_ST_CLOSED}, {WT_ST_CLOSED, WT_ST_CLOSED},
  };
  check_table(st_ok, WT_ST_CLOSED + 1, legal, sizeof legal / sizeof legal[0]);
  check_str(st_str, WT_ST_CLOSED + 1);
}

static void test_owner_and_h3(void **state) {
  (void)state;
  static const int ow[][2] = {{WT_OWN_NONE, WT_OWN_USER}, {WT_OWN_USER, WT_OWN_RELEASED}};
  check_table(ow_ok, WT_OWN_RELEASED + 1, ow, 2);
  check_str(ow_str, WT_OWN_RELEASED + 1);
  static const int h3[][2] = {
      {WT_H3_LIVE, WT_H3_CLOSE_SENT},     {WT_H3_LIVE, WT_H3_CLOSED},
      {WT_H3_LIVE, WT_H3_RELEASED},       {WT_H3_CLOSE_SENT, WT_H3_CLOSED},
      {WT_H3_CLOSE_SENT, WT_H3_RELEASED}, {WT_H3_CLOSED, WT_H3_RELEASED},
  };
  check_table(h3_ok, WT_H3_RELEASED + 1, h3, sizeof h3 / sizeof h3[0]);
  check_str(h3_str, WT_H3_RELEASED + 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_session_state),
      cmocka_unit_test(test_owner_and_h3),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
