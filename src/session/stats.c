/* moqc session — summing moqc_session_stats (moqc_session_stats_add). */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "moqc/session.h"

/* The sum walks the struct as an array of uint64_t: every field must be one. */
_Static_assert(sizeof(moqc_session_stats) % sizeof(uint64_t) == 0,
               "moqc_session_stats must hold only uint64_t fields");
void moqc_session_stats_add(moqc_session_stats *acc, const moqc_session_stats *s) {
  assert(acc && s);
  enum { N = sizeof(moqc_session_stats) / sizeof(uint64_t) };
  uint64_t a[N], b[N];
  memcpy(a, acc, sizeof a);
  memcpy(b, s, sizeof b);
  for (size_t i = 0; i < N; i++) a[i] += b[i];
  memcpy(acc, a, sizeof a);
}
