/* moqc transport — WebTransport adapter: attaching to an h3 connection
 * (config copies, SETTINGS on our control stream) and small helpers. */
#include <string.h>

#include "moqc/buf.h"
#include "webtransport/wt_internal.h"

/* ---- attach --------------------------------------------------------------------------- */

int moqc__wt_write_bytes(wt_conn *c, int64_t id, const uint8_t *p, size_t len, bool fin) {
  if (wt_h3_gone(c)) return MOQC_ERR_CLOSED;
  moqc_slice sl = MOQC_SLICE_EMPTY;
  size_t n = 0;
  if (len) {
    moqc_buf *b = moqc_buf_copy(p, len);
    if (!b) return MOQC_ERR_NOMEM;
    sl.buf = b;
    sl.len = len;
    n = 1;
  }
  int rc = c->h3->ops->write(c->h3, id, &sl, n, fin);
  moqc_slice_release(&sl);
  return rc;
}

/* Open our control stream and send SETTINGS. MOQC_OK, MOQC_ERR_AGAIN (no
 * stream credit: retried on `writable`) or another error. */
static int open_control(wt_conn *c) {
  int64_t id;
  int rc = c->h3->ops->open_stream(c->h3, false, &id);
  if (rc != MOQC_OK) return rc;
  uint8_t buf[80];
  buf[0] = MOQC_H3_STREAM_CONTROL;
  uint32_t max = c->server && c->scfg.max_sessions ? c->scfg.max_sessions : 1;
  ssize_t n = moqc_h3_settings_encode_frame(buf + 1, sizeof buf - 1, max);
  c->control_out = id;
  if (n < 0) return (int)n;
  return moqc__wt_write_bytes(c, id, buf, (size_t)n + 1, false);
}

void moqc__wt_open_control(wt_conn *c) {
  int rc = open_control(c);
  if (rc != MOQC_OK && rc != MOQC_ERR_AGAIN)
    moqc__wt_conn_error(c, MOQC_H3_INTERNAL_ERROR, "h3: cannot open control stream");
}

static char *dup_str(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s);
  char *d = moqc__wt_alloc(n + 1);
  if (d) memcpy(d, s, n + 1);
  return d;
}

bool moqc__wt_proto_ok(const char *p) {
  size_t n = p ? strlen(p) : 0;
  if (n == 0 || n > MOQC_H3_PROTOCOL_MAX) return false;
  for (size_t i = 0; i < n; i++)
    if (p[i] < 0x20 || p[i] > 0x7e) return false;
  return true;
}

static bool text_ok(const char *s) {
  if (!s) return false;
  for (; *s; s++)
    if (*s == '\r' || *s == '\n') return false;
  return true;
}

static wt_conn *conn_new(moqc_transport *h3, bool server, const char *const *protos, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!moqc__wt_proto_ok(protos[i])) return NULL;
  wt_conn *c = moqc__wt_alloc(sizeof *c);
  if (!c) return NULL;
  c->h3 = h3;
  c->server = server;
  c->control_out = c->control_in = c->qpack_enc_in = c->qpack_dec_in = -1;
  c->session_id = c->pending_req_id = -1;
  c->base.ops = &moqc__wt_session_ops;
  c->base.path = "";
  c->base.is_server = server;
  c->base.webtransport = true;
  memcpy(c->base.remote, h3->remote, sizeof c->base.remote);
  if (h3->peer_cert) {
    if (!(c->peer_cert = moqc__wt_alloc(sizeof *c->peer_cert))) goto oom;
    *c->peer_cert = *h3->peer_cert;
    c->base.peer_cert = c->peer_cert;
  }
  if (n && !(c->protos = moqc__wt_alloc(n * sizeof *c->protos))) goto oom;
  for (; c->n_protos < n; c->n_protos++)
    if (!(c->protos[c->n_protos] = dup_str(protos[c->n_protos]))) goto oom;
  return c;
oom:
  moqc__wt_conn_free(c);
  return NULL;
}

/* Send SETTINGS, then take over h3's events. On failure nothing was
 * handed over: c is freed and the caller keeps h3. */
static int start(wt_conn *c) {
  int rc = open_control(c);
  if (rc != MOQC_OK && rc != MOQC_ERR_AGAIN) {
    moqc__wt_conn_free(c);
    return rc == MOQC_ERR_NOMEM ? rc : MOQC_ERR_CLOSED;
  }
  moqc_transport_set_handler(c->h3, &moqc__wt_h3_handler, c);
  return MOQC_OK;
}

int moqc_wt_server_attach(moqc_transport *h3conn, const moqc_wt_server_config *cfg) {
  if (!h3conn || !cfg || !cfg->on_session) return MOQC_ERR_INVAL;
  if (cfg->n_protocols && !cfg->protocols) return MOQC_ERR_INVAL;
  for (size_t i = 0; i < cfg->n_protocols; i++)
    if (!moqc__wt_proto_ok(cfg->protocols[i])) return MOQC_ERR_INVAL;
  wt_conn *c = conn_new(h3conn, true, cfg->protocols, cfg->n_protocols);
  if (!c) return MOQC_ERR_NOMEM;
  c->scfg = *cfg;
  c->scfg.protocols = (const char *const *)c->protos;
  return start(c);
}

int moqc_wt_client_connect(moqc_transport *h3conn, const moqc_wt_client_config *cfg) {
  if (!h3conn || !cfg || !cfg->cb || !text_ok(cfg->authority) || !text_ok(cfg->path) ||
      !cfg->authority[0] || cfg->path[0] != '/' || (cfg->origin && !text_ok(cfg->origin)))
    return MOQC_ERR_INVAL;
  if (cfg->n_protocols && !cfg->protocols) return MOQC_ERR_INVAL;
  for (size_t i = 0; i < cfg->n_protocols; i++)
    if (!moqc__wt_proto_ok(cfg->protocols[i])) return MOQC_ERR_INVAL;
  wt_conn *c = conn_new(h3conn, false, cfg->protocols, cfg->n_protocols);
  if (!c) return MOQC_ERR_NOMEM;
  c->ccfg = *cfg;
  c->ccfg.protocols = (const char *const *)c->protos;
  c->authority = dup_str(cfg->authority);
  c->path = dup_str(cfg->path);
  c->origin = dup_str(cfg->origin);
  if (!c->authority || !c->path || (cfg->origin && !c->origin)) {
    moqc__wt_conn_free(c);
    return MOQC_ERR_NOMEM;
  }
  c->ccfg.authority = c->authority;
  c->ccfg.path = c->path;
  c->ccfg.origin = c->origin;
  c->base.path = c->path;
  int rc = start(c);
  if (rc == MOQC_OK && cfg->clock && cfg->timeout_ns) moqc__wt_start_timer(c, cfg->timeout_ns);
  return rc;
}

int moqc_wt_client_attach(moqc_transport *h3conn, const char *authority, const char *path,
                          const char *const *protocols, size_t n, moqc_wt_client_fn cb, void *ctx) {
  moqc_wt_client_config cfg = {.authority = authority,
                               .path = path,
                               .protocols = protocols,
                               .n_protocols = n,
                               .cb = cb,
                               .ctx = ctx};
  return moqc_wt_client_connect(h3conn, &cfg);
}

uint64_t moqc_wt_error_to_h3(uint64_t code) { return moqc_wt_code_to_h3(code); }

bool moqc_wt_error_from_h3(uint64_t h3, uint64_t *code) { return moqc_wt_code_from_h3(h3, code); }
