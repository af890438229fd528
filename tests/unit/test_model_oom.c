/* Unit tests: allocation failure anywhere in the model (all of src/model).
 * A scenario touching every object runs once to count its allocations, then
 * again with the 1st, 2nd, ... Nth allocation failing. Each run must finish
 * without crashing (ASan/UBSan) and return every byte it allocated. */
#include <stdlib.h>

#include "test_model_common.h"

typedef struct oom {
  uint64_t calls;
  uint64_t fail_at; /* 1-based index of the allocation to fail; 0 = none */
  uint64_t failed;
  int64_t live;
} oom;

static oom g_oom;

static bool oom_fail(void) {
  g_oom.calls++;
  if (g_oom.fail_at && g_oom.calls == g_oom.fail_at) {
    g_oom.failed++;
    return true;
  }
  return false;
}

static void *o_malloc(size_t n, void *u) {
  (void)u;
  if (oom_fail()) return NULL;
  g_oom.live++;
  return malloc(n);
}
static void o_free(void *p, void *u) {
  (void)u;
  if (p) g_oom.live--;
  free(p);
}
static void *o_calloc(size_t a, size_t b, void *u) {
  (void)u;
  if (oom_fail()) return NULL;
  g_oom.live++;
  return calloc(a, b);
}
static void *o_realloc(void *p, size_t n, void *u) {
  (void)u;
  if (oom_fail()) return NULL;
  if (!p) g_oom.live++;
  return realloc(p, n);
}

static void drain_track(moqc_track_consumer *tc) {
  moqc_group_consumer *g = NULL;
  while (tc && moqc_track_consumer_recv_group(tc, &g) == MOQC_OK) {
    moqc_frame f;
    while (moqc_group_consumer_read_frame(g, &f) == MOQC_OK) moqc_slice_release(&f.payload);
    moqc_group_consumer_del(g);
  }
}

static void write_groups(moqc_track_producer *tp, int n) {
  for (int i = 0; tp && i < n; i++) {
    moqc_group_producer *g = moqc_track_producer_append_group(tp);
    if (!g) continue;
    moqc_group_producer_write_frame_copy(g, "whole", 5, (uint64_t)i);
    moqc_frame_info fi = {6, 0};
    moqc_frame_producer *fp = moqc_group_producer_create_frame(g, &fi, NULL);
    if (fp) {
      moqc_frame_producer_write_copy(fp, "abc", 3);
      moqc_frame_producer_write_copy(fp, "def", 3);
      moqc_frame_producer_finish(fp);
      moqc_frame_producer_del(fp);
    }
    moqc_group_producer_finish(g);
    moqc_group_producer_del(g);
  }
}

static void scenario(void) {
  moqc_env_config cfg = {0, 64};
  moqc_env *env = moqc_env_new(&cfg);
  if (!env) return;
  moqc_clock *clk = moqc_env_clock(env);
  moqc_origin_config ocfg = {1, 1000};
  moqc_origin *o = moqc_origin_new(env, &ocfg);
  const char *pre[] = {"a"};
  moqc_origin *view = o ? moqc_origin_scope(o, pre, 1) : NULL;
  moqc_broadcast_producer *bp = moqc_broadcast_producer_new(env);
  if (bp) moqc_broadcast_producer_enable_requests(bp, true);
  moqc_track_producer *tp = bp ? moqc_broadcast_producer_create_track(bp, "v", NULL, NULL) : NULL;
  moqc_broadcast_consumer *bc = bp ? moqc_broadcast_producer_consume(bp) : NULL;
  if (view && bc) moqc_origin_publish(view, "a/b", bc, NULL);
  moqc_origin_consumer *oc = o ? moqc_origin_consume(o, "a") : NULL;
  moqc_broadcast_consumer *front = o ? moqc_origin_request(o, "a/b", NULL) : NULL;
  moqc_track_consumer *tc =
      front ? moqc_broadcast_consumer_subscribe(front, "v", NULL, NULL) : NULL;
  moqc_track_consumer *rq = bc ? moqc_broadcast_consumer_subscribe(bc, "r", NULL, NULL) : NULL;
  /* info queries: through the front (asks the source) and on the source */
  moqc_track_info_query *iq = front ? moqc_broadcast_consumer_query_info(front, "r", NULL) : NULL;
  moqc_track_info_query *iq2 = bc ? moqc_broadcast_consumer_query_info(bc, "v", NULL) : NULL;
  moqc_env_run(env);
  write_groups(tp, 3);
  moqc_env_run(env);
  drain_track(tc);
  moqc_track_request *req = NULL;
  if (bp && moqc_broadcast_producer_next_request(bp, &req) == MOQC_OK) {
    moqc_track_producer *rt = moqc_track_request_accept(req, NULL);
    if (!rt) moqc_track_request_reject(req, MOQC_CODE_NOT_FOUND);
    write_groups(rt, 1);
    moqc_group_producer *gp = NULL;
    if (rt && moqc_track_producer_create_group(rt, 3, &gp) == MOQC_OK) { /* a gap: 1, 2 */
      moqc_group_producer_finish(gp);
      moqc_group_producer_del(gp);
    }
    if (rt) moqc_track_producer_finish_at(rt, 6); /* awaits 4, 5 too */
    moqc_env_run(env);
    drain_track(rq);
    moqc_track_producer_del(rt);
  }
  moqc_track_proxy *px = tp ? moqc_track_proxy_new(tp) : NULL;
  if (px) {
    moqc_track_proxy_write_frame(px, "proxied", 7, 9);
    moqc_track_proxy_finish_group(px);
    moqc_track_proxy_del(px);
  }
  moqc_env_run(env);
  drain_track(tc);
  moqc_track_info info;
  if (iq) moqc_track_info_query_get(iq, &info);
  moqc_group_consumer *fg = NULL; /* falls through to the source's cache */
  if (tc && moqc_track_consumer_fetch_group(tc, 0, &fg) == MOQC_OK) moqc_group_consumer_del(fg);
  /* the source drops; another takes over within the linger */
  moqc_broadcast_consumer_del(bc);
  moqc_track_producer_del(tp);
  moqc_broadcast_producer_del(bp);
  moqc_env_run(env);
  bp = moqc_broadcast_producer_new(env);
  tp = bp ? moqc_broadcast_producer_create_track(bp, "v", NULL, NULL) : NULL;
  bc = bp ? moqc_broadcast_producer_consume(bp) : NULL;
  write_groups(tp, 2);
  if (o && bc) moqc_origin_publish(o, "a/b", bc, NULL);
  moqc_env_run(env);
  drain_track(tc);
  moqc_clock_advance(clk, 10ULL * 1000 * 1000 * 1000);
  moqc_env_run(env);
  moqc_announce ann;
  while (oc && moqc_origin_consumer_next(oc, &ann) == MOQC_OK) {}
  moqc_track_info_query_del(iq);
  moqc_track_info_query_del(iq2);
  moqc_track_consumer_del(rq);
  moqc_track_consumer_del(tc);
  moqc_broadcast_consumer_del(front);
  moqc_origin_consumer_del(oc);
  moqc_broadcast_consumer_del(bc);
  moqc_track_producer_del(tp);
  moqc_broadcast_producer_del(bp);
  moqc_origin_unref(view);
  moqc_origin_unref(o);
  moqc_env_run(env);
  moqc_env_del(env);
}

static void test_every_allocation_can_fail(void **state) {
  (void)state;
  moqc_mem mem = {NULL, o_malloc, o_free, o_calloc, o_realloc};
  moqc_set_mem(&mem);
  memset(&g_oom, 0, sizeof g_oom);
  scenario();
  uint64_t total = g_oom.calls;
  assert_int_equal(g_oom.live, 0);
  assert_true(total > 50); /* the scenario really exercises the model */
  for (uint64_t k = 1; k <= total; k++) {
    memset(&g_oom, 0, sizeof g_oom);
    g_oom.fail_at = k;
    scenario();
    assert_int_equal(g_oom.failed, 1);
    if (g_oom.live != 0)
      fail_msg("allocation %llu failing leaks %lld blocks", (unsigned long long)k,
               (long long)g_oom.live);
  }
  moqc_set_mem(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_allocation_can_fail),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
