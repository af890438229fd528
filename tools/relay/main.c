/* moqc-relay: start-up, the event loop, exit. See relay.h for the layout and
 * `moqc-relay --help` / docs/relay.md for usage. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "moqc/quic.h"
#include "relay.h"
#include "common/tool_util.h"

#ifndef MOQC_VERSION_STRING
#define MOQC_VERSION_STRING "0.1.0"
#endif

/* Run the loop until every handle is closed, bounded (a stuck handle must not
 * hang the exit). Returns true if the loop ran dry. */
static bool run_dry(uv_loop_t *loop, int max_ms) {
  for (int i = 0; i < max_ms; i++) {
    if (!uv_run(loop, UV_RUN_NOWAIT)) return true;
    usleep(1000);
  }
  return false;
}

static void print_banner(const relay *r) {
  const relay_config *c = &r->cfg;
  printf("moqc-relay %s\n", MOQC_VERSION_STRING);
  printf("quic: %s (raw QUIC + WebTransport; versions", r->udp_addr);
  if (c->n_versions) {
    for (size_t i = 0; i < c->n_versions; i++) printf(" %s", c->versions[i]);
  } else {
    size_t n;
    const char *const *v = moqc_default_versions(&n);
    for (size_t i = 0; i < n; i++) printf(" %s", v[i]);
  }
  printf(")\n");
  if (r->http) printf("http: %s\n", r->http_addr);
  else printf("http: none\n");
  printf("certificate sha256: %s\n", moqc_cert_fingerprint(r->cert));
  printf("ready\n");
  fflush(stdout);
}

int main(int argc, char **argv) {
  static relay r; /* zeroed */
  char err[768];
  signal(SIGPIPE, SIG_IGN);
  moqc_log_init("moqc-relay", MOQC_LOG_INFO);
  int rv = relay_config_parse(&r.cfg, argc, argv, err, sizeof err);
  if (rv == 1) {
    relay_config_usage(stdout);
    return 0;
  }
  if (rv != 0) {
    fprintf(stderr, "moqc-relay: %s\n", err);
    return 2;
  }
  moqc_log_set_level(r.cfg.log_level);
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) {
    fprintf(stderr, "moqc-relay: cannot create the event loop\n");
    return 1;
  }
  r.loop = &loop;
  int code = 0;
  if (relay_start(&r, err, sizeof err) != 0) {
    fprintf(stderr, "moqc-relay: %s\n", err);
    relay_abort_start(&r);
    code = 1;
  } else {
    print_banner(&r);
    moqc_log(MOQC_LOG_INFO, "serving on udp %s, http %s", r.udp_addr,
             r.http ? r.http_addr : "none");
    uv_run(&loop, UV_RUN_DEFAULT);
    moqc_log(MOQC_LOG_INFO, "stopped");
  }
  if (!run_dry(&loop, 3000)) {
    fprintf(stderr, "moqc-relay: some handles did not close at exit\n");
    if (!code) code = 1;
  }
  if (uv_loop_close(&loop) != 0 && !code) {
    fprintf(stderr, "moqc-relay: event loop still busy at exit\n");
    code = 1;
  }
  moqc_log_flush();
  return code;
}
