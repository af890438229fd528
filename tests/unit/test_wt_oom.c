/* Unit tests: the WebTransport adapter under allocation failure. The whole
 * client+server exchange (SETTINGS, CONNECT, streams, datagrams, close) runs
 * once per allocation point with the library allocator failing from that
 * point on. Whatever breaks, nothing may crash, leak or call back after
 * `closed`; the memlink itself uses plain malloc and is unaffected. */
#include "test_wt_common.h"

typedef struct failing {
  long budget; /* allocations left before failing; < 0 = never fail */
  long failures;
} failing;

static failing g_fail = {-1, 0};

static bool may(void) {
  if (g_fail.budget < 0) return true;
  if (g_fail.budget == 0) {
    g_fail.failures++;
    return false;
  }
  g_fail.budget--;
  return true;
}
static void *f_malloc(size_t n, void *u) {
  (void)u;
  return may() ? malloc(n) : NULL;
}
static void f_free(void *p, void *u) {
  (void)u;
  free(p);
}
static void *f_calloc(size_t n, size_t s, void *u) {
  (void)u;
  return may() ? calloc(n, s) : NULL;
}
static void *f_realloc(void *p, size_t n, void *u) {
  (void)u;
  return may() ? realloc(p, n) : NULL;
}
static const moqc_mem k_failing = {NULL, f_malloc, f_free, f_calloc, f_realloc};

static const char *const k_protos[] = {"moq-lite-04", "moq-lite-03"};

/* One scenario; returns true if it ran to a working session. */
static bool scenario(void) {
  fx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  long saved = g_fail.budget;
  g_fail.budget = -1; /* the clock and link are test infrastructure */
  f->clk = moqc_clock_new(1000 * MS);
  /* Grow the clock's timer heap now (it never shrinks), so arming the link's
   * timers later never allocates: the link aborts if it cannot. */
  static moqc_timer pre[256];
  for (size_t i = 0; i < 256; i++) {
    moqc_timer_init(&pre[i], NULL, NULL);
    moqc_timer_start(f->clk, &pre[i], UINT64_MAX);
  }
  for (size_t i = 0; i < 256; i++) moqc_timer_stop(f->clk, &pre[i]);
  memlink_config lc = MEMLINK_CONFIG_DEFAULT;
  lc.latency_ns = 2 * MS;
  f->l = memlink_new(f->clk, &lc);
  memlink_set_protocol(f->l, "h3");
  g_fail.budget = saved;
  f->s.status = 200;
  moqc_wt_server_config scfg = srv_cfg(f, k_protos, 2);
  int rs = moqc_wt_server_attach(memlink_server(f->l), &scfg);
  moqc_wt_client_config ccfg = {.authority = "h:1",
                                .path = "/p",
                                .protocols = k_protos,
                                .n_protocols = 2,
                                .cb = cli_cb,
                                .ctx = &f->c,
                                .clock = f->clk,
                                .timeout_ns = 1000 * MS};
  int rc = moqc_wt_client_connect(memlink_client(f->l), &ccfg);
  assert_true(rs == MOQC_OK || rs == MOQC_ERR_NOMEM || rs == MOQC_ERR_CLOSED);
  assert_true(rc == MOQC_OK || rc == MOQC_ERR_NOMEM || rc == MOQC_ERR_CLOSED);
  run(f, 100 * MS);
  bool ok = false;
  if (f->c.r.t && f->s.r.t) {
    moqc_transport *c = f->c.r.t, *s = f->s.r.t;
    int64_t id;
    if (c->ops->open_stream(c, true, &id) == MOQC_OK) put(c, id, "abc", 3, true);
    if (s->ops->open_stream(s, false, &id) == MOQC_OK) put(s, id, "xyz", 3, true);
    c->ops->send_datagram(c, (const uint8_t *)"d", 1);
    run(f, 50 * MS);
    c->ops->close(c, 5, "bye");
    run(f, 100 * MS);
    ok = true;
  }
  /* a session's `closed` comes at most once (the recorder counts) */
  assert_true(f->c.r.n_closed <= 1 && f->s.r.n_closed <= 1);
  if (rc != MOQC_OK) memlink_client(f->l)->ops->release(memlink_client(f->l));
  if (rs != MOQC_OK) memlink_server(f->l)->ops->release(memlink_server(f->l));
  g_fail.budget = -1;
  fx_del(f);
  return ok;
}

static void test_oom_sweep(void **state) {
  (void)state;
  moqc_set_mem(&k_failing);
  long n = 0;
  bool done = false;
  for (; n < 2000 && !done; n++) {
    g_fail.budget = n;
    g_fail.failures = 0;
    bool ok = scenario();
    /* once nothing failed any more, the sweep is complete */
    done = ok && g_fail.failures == 0;
  }
  assert_true(done);
  assert_true(n > 20); /* the scenario really allocates */
  print_message("allocation points swept: %ld\n", n);
  moqc_set_mem(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_oom_sweep)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
