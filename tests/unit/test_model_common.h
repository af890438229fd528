/* Helpers shared by the model unit tests (tests/unit/test_model_*.c). */
#ifndef MOQC_TEST_MODEL_COMMON_H
#define MOQC_TEST_MODEL_COMMON_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "moqc/error.h"
#include "moqc/model.h"

/* An env whose cache counts payload bytes only (no per-group / per-frame
 * overhead), so the byte-exact budget tests read simply; tm_env_default
 * keeps the real overheads. */
static inline moqc_env *tm_env(uint64_t budget) {
  moqc_env_config cfg = {1000, budget};
  moqc_env *env = moqc_env_new(&cfg);
  assert_non_null(env);
  moqc_env_set_cache_overhead(env, 0, 0);
  return env;
}

/* A waker that counts its calls. */
static inline void tm_count(void *arg) { (*(int *)arg)++; }

static inline int tm_write(moqc_group_producer *g, const char *s) {
  return moqc_group_producer_write_frame_copy(g, s, strlen(s), 0);
}

/* Read one frame and compare it with s. */
static inline void tm_expect_frame(moqc_group_consumer *c, const char *s) {
  moqc_frame f;
  assert_int_equal(moqc_group_consumer_read_frame(c, &f), MOQC_OK);
  assert_int_equal(f.payload.len, strlen(s));
  if (f.payload.len) assert_memory_equal(moqc_slice_ptr(&f.payload), s, f.payload.len);
  moqc_slice_release(&f.payload);
}

/* Receive the next group and check its sequence; returns it (caller deletes). */
static inline moqc_group_consumer *tm_expect_group(moqc_track_consumer *c, uint64_t seq) {
  moqc_group_consumer *g = NULL;
  assert_int_equal(moqc_track_consumer_recv_group(c, &g), MOQC_OK);
  assert_non_null(g);
  assert_int_equal(moqc_group_consumer_sequence(g), seq);
  return g;
}

static inline void tm_expect_group_del(moqc_track_consumer *c, uint64_t seq) {
  moqc_group_consumer_del(tm_expect_group(c, seq));
}

/* append_group + one frame + finish. */
static inline void tm_group1(moqc_track_producer *t, const char *s) {
  moqc_group_producer *g = moqc_track_producer_append_group(t);
  assert_non_null(g);
  assert_int_equal(tm_write(g, s), MOQC_OK);
  assert_int_equal(moqc_group_producer_finish(g), MOQC_OK);
  moqc_group_producer_del(g);
}

#endif
