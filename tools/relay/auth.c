/* moqc-relay: auth keys and public prefixes (src/auth does the work). The
 * keys are read at start-up and again on SIGHUP; live sessions keep the scope
 * they were given. Tokens never reach a log line: connection paths are logged
 * with the jwt value replaced (moqc_auth_redact_url). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "moqc/auth.h"
#include "moqc/error.h"
#include "relay.h"
#include "common/tool_util.h"

static int auth_load(const relay_config *c, moqc_auth **out) {
  const char *pub[RELAY_MAX_PUBLIC];
  for (size_t i = 0; i < c->n_auth_public; i++) pub[i] = c->auth_public[i];
  int rv = moqc_auth_new(c->auth_key, c->auth_key_dir, pub, c->n_auth_public, out);
  if (rv == MOQC_OK) moqc_auth_set_leeway(*out, (uint32_t)c->auth_leeway_s);
  return rv;
}

static void on_sighup(uv_signal_t *h, int signum) {
  (void)signum;
  relay *r = h->data;
  if (!r->auth) { /* open relay: SIGHUP (systemctl reload) must not kill it */
    moqc_log(MOQC_LOG_INFO, "SIGHUP: no auth keys configured, nothing to re-read");
    return;
  }
  moqc_auth *a = NULL;
  int rv = auth_load(&r->cfg, &a);
  if (rv != MOQC_OK) {
    moqc_log(MOQC_LOG_WARN, "SIGHUP: cannot re-read the auth keys (%s); keeping the old ones",
             moqc_err_str(rv));
    return;
  }
  moqc_auth_del(r->auth);
  r->auth = a;
  moqc_log(MOQC_LOG_INFO, "SIGHUP: auth keys re-read");
}

int relay_auth_start(relay *r, char *err, size_t cap) {
  const relay_config *c = &r->cfg;
  if (!c->auth_key[0] && !c->auth_key_dir[0] && !c->n_auth_public && c->n_server_tls_root) {
    moqc_log(MOQC_LOG_WARN,
             "no --auth-key, --auth-key-dir or --auth-public: only mTLS peers "
             "(a client certificate from --server-tls-root) are accepted");
  } else if (!c->auth_key[0] && !c->auth_key_dir[0] && !c->n_auth_public) {
    moqc_log(MOQC_LOG_WARN,
             "no --auth-key, --auth-key-dir or --auth-public: anyone can "
             "publish and subscribe on this relay");
  } else {
    int rv = auth_load(c, &r->auth);
    if (rv != MOQC_OK) {
      snprintf(err, cap, "cannot load the auth key%s%s: %s", c->auth_key[0] ? " " : "", c->auth_key,
               rv == MOQC_ERR_IO ? "file missing or unreadable" : moqc_err_str(rv));
      return -1;
    }
  }
  /* Handled with or without keys: the default action of SIGHUP ends the process. */
  uv_signal_init(r->loop, &r->sighup);
  r->sighup.data = r;
  uv_signal_start(&r->sighup, on_sighup, SIGHUP);
  return 0;
}

void relay_auth_stop(relay *r) {
  if (r->sighup.loop && !uv_is_closing((uv_handle_t *)&r->sighup))
    uv_close((uv_handle_t *)&r->sighup, NULL);
  moqc_auth_del(r->auth);
  r->auth = NULL;
}
