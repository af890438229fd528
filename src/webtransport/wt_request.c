/* moqc transport — WebTransport adapter: the extended CONNECT exchange.
 * Server: validate the request, ask the application, answer 2xx (+
 * wt-protocol) or reject with a status. Client: send CONNECT once the
 * server's SETTINGS allow it, read the response. */
#include <string.h>

#include "webtransport/wt_internal.h"

/* ---- public helpers ---------------------------------------------------------------- */

const char *moqc_wt_request_header(const moqc_wt_request *req, const char *name) {
  if (!req || !name || !req->priv_) return NULL;
  const moqc_h3_connect_req *r = req->priv_;
  const moqc_h3_field *f = moqc_h3_fields_get(&r->fields, name);
  return f ? f->value : NULL;
}

const char *moqc_wt_select_protocol(const moqc_wt_request *req, const char *const *supported,
                                    size_t n) {
  if (!req) return NULL;
  for (size_t i = 0; i < req->n_protocols; i++)
    for (size_t k = 0; k < n; k++)
      if (supported[k] && strcmp(req->protocols[i], supported[k]) == 0) return req->protocols[i];
  return NULL;
}

/* ---- server ------------------------------------------------------------------------- */

static int respond(wt_conn *c, wt_stream *s, uint16_t status, const char *proto, bool fin) {
  uint8_t buf[256];
  ssize_t n = moqc_h3_connect_resp_encode(buf, sizeof buf, status, proto);
  if (n < 0) return (int)n;
  return moqc__wt_write_bytes(c, s->id, buf, (size_t)n, fin);
}

/* Answer a request we do not serve, then stop reading it. */
static void reject(wt_conn *c, wt_stream *s, uint16_t status) {
  if (status < 100 || status > 599) status = 500;
  respond(c, s, status, NULL, true);
  if (moqc__wt_dead(c)) return;
  s->kind = WT_K_IGNORE;
  if (s->frd) moqc__wt_free(s->frd->pay);
  moqc__wt_free(s->frd);
  s->frd = NULL;
  c->h3->ops->stop_sending(c->h3, s->id, MOQC_H3_NO_ERROR);
}

static void free_req(moqc_h3_connect_req *req) {
  if (!req) return;
  moqc_h3_connect_req_free(req);
  moqc__wt_free(req);
}

void moqc__wt_server_on_headers(wt_conn *c, wt_stream *s, const uint8_t *block, size_t len) {
  moqc_h3_fields fields;
  uint64_t h3err = MOQC_H3_QPACK_DECOMPRESSION_FAILED;
  int rc = moqc_h3_qpack_decode(block, len, &fields, &h3err);
  if (rc != MOQC_OK) {
    moqc_h3_fields_free(&fields);
    if (rc == MOQC_ERR_TOO_LARGE) reject(c, s, 431);
    else if (rc == MOQC_ERR_NOMEM) moqc__wt_stream_error(c, s, MOQC_H3_INTERNAL_ERROR);
    else moqc__wt_conn_error(c, h3err, "qpack: decompression failed");
    return;
  }
  moqc_h3_connect_req *req = moqc__wt_alloc(sizeof *req);
  if (!req) {
    moqc_h3_fields_free(&fields);
    moqc__wt_stream_error(c, s, MOQC_H3_INTERNAL_ERROR);
    return;
  }
  uint16_t status = 400;
  moqc_h3_req_verdict v = moqc_h3_connect_req_parse(req, &fields, &status);
  if (v == MOQC_H3_REQ_MALFORMED) {
    free_req(req);
    moqc__wt_stream_error(c, s, MOQC_H3_MESSAGE_ERROR);
    return;
  }
  if (v == MOQC_H3_REQ_NOT_WT) {
    free_req(req);
    reject(c, s, status);
    return;
  }
  if (c->state != WT_ST_SETUP || c->pending_req || c->session_id >= 0) {
    free_req(req); /* one session per connection */
    reject(c, s, 429);
    return;
  }
  c->pending_req = req;
  c->pending_req_id = s->id;
  moqc__wt_server_try_pending(c);
}

static char *dup_str(const char *s) {
  size_t n = strlen(s);
  char *d = moqc__wt_alloc(n + 1);
  if (d) memcpy(d, s, n + 1);
  return d;
}

/* Accept: answer 2xx, make the session. */
static void accept_req(wt_conn *c, wt_stream *s, moqc_h3_connect_req *req, uint16_t status,
                       const char *proto) {
  c->path = dup_str(req->path);
  if (!c->path) {
    moqc__wt_conn_error(c, MOQC_H3_INTERNAL_ERROR, "out of memory");
    return;
  }
  c->base.path = c->path;
  if (proto) memcpy(c->base.protocol, proto, strlen(proto) + 1);
  if (respond(c, s, status, proto, false) != MOQC_OK) {
    moqc__wt_conn_error(c, MOQC_H3_INTERNAL_ERROR, "h3: cannot answer CONNECT");
    return;
  }
  c->session_id = s->id;
  c->status = status;
  if (moqc__wt_session_prepare(c) != MOQC_OK) {
    moqc__wt_conn_error(c, MOQC_H3_INTERNAL_ERROR, "out of memory");
    return;
  }
  moqc__wt_established(c);
}

void moqc__wt_server_try_pending(wt_conn *c) {
  if (!c->pending_req || !c->have_peer_settings || c->state != WT_ST_SETUP) return;
  moqc_h3_connect_req *req = c->pending_req;
  c->pending_req = NULL;
  wt_stream *s = moqc__imap_find(&c->streams, (uint64_t)c->pending_req_id);
  if (!s || s->kind != WT_K_REQUEST) {
    free_req(req);
    return;
  }
  moqc_wt_request r = {.authority = req->authority,
                       .path = req->path,
                       .origin = req->origin,
                       .protocols = req->protocols,
                       .n_protocols = req->n_protocols,
                       .draft02 = req->draft02,
                       .remote = c->base.remote,
                       .peer_cert = c->peer_cert,
                       .priv_ = req};
  const char *proto = moqc_wt_select_protocol(&r, c->scfg.protocols, c->n_protos);
  uint16_t status = 200;
  if (c->scfg.on_request) status = c->scfg.on_request(c->scfg.ctx, &r, &proto);
  if (moqc__wt_dead(c)) {
  } else if (status < 200 || status > 299) {
    reject(c, s, status);
  } else if (proto && !moqc__wt_proto_ok(proto)) {
    reject(c, s, 500);
  } else {
    char chosen[MOQC_H3_PROTOCOL_MAX + 1];
    if (proto) memcpy(chosen, proto, strlen(proto) + 1);
    accept_req(c, s, req, status, proto ? chosen : NULL);
  }
  free_req(req);
}

void moqc__wt_request_fin(wt_conn *c, wt_stream *s) {
  if (s->id == c->session_id) {
    moqc__wt_connect_gone(c, MOQC_CODE_CANCEL);
  } else if (c->server && s->id == c->pending_req_id && c->pending_req) {
    free_req(c->pending_req); /* the client gave up before we answered */
    c->pending_req = NULL;
    reject(c, s, 400);
  }
}

/* ---- client --------------------------------------------------------------------------- */

void moqc__wt_client_try_connect(wt_conn *c) {
  if (c->connect_sent || !c->have_peer_settings || c->state != WT_ST_SETUP) return;
  int64_t id;
  int rc = c->h3->ops->open_stream(c->h3, true, &id);
  if (rc == MOQC_ERR_AGAIN) return; /* retried on `writable` */
  if (rc != MOQC_OK) {
    moqc__wt_setup_failed(c, MOQC_ERR_TRANSPORT, 0, MOQC_H3_INTERNAL_ERROR);
    return;
  }
  c->connect_sent = true;
  c->session_id = id;
  size_t cap = 512 + strlen(c->authority) + strlen(c->path) + (c->origin ? strlen(c->origin) : 0) +
               c->n_protos * (MOQC_H3_PROTOCOL_MAX * 2 + 4);
  uint8_t *buf = moqc__wt_alloc(cap);
  wt_stream *s = moqc__wt_stream_new(c, id, WT_K_REQUEST);
  if (s) s->frd = moqc__wt_frd_new();
  ssize_t n = MOQC_ERR_NOMEM;
  if (buf && s && s->frd)
    n = moqc_h3_connect_req_encode(buf, cap, c->authority, c->path, c->origin,
                                   (const char *const *)c->protos, c->n_protos);
  if (n < 0 || moqc__wt_write_bytes(c, id, buf, (size_t)n, false) != MOQC_OK)
    moqc__wt_setup_failed(c, n == MOQC_ERR_NOMEM ? MOQC_ERR_NOMEM : MOQC_ERR_TRANSPORT, 0,
                          MOQC_H3_INTERNAL_ERROR);
  moqc__wt_free(buf);
}

static int status_err(uint16_t status) {
  switch (status) {
    case 401:
    case 403: return MOQC_ERR_UNAUTHORIZED;
    case 404: return MOQC_ERR_NOT_FOUND;
    case 501: return MOQC_ERR_UNSUPPORTED;
    default: return MOQC_ERR_TRANSPORT;
  }
}

void moqc__wt_client_on_headers(wt_conn *c, wt_stream *s, const uint8_t *block, size_t len) {
  moqc_h3_fields fields;
  uint64_t h3err = MOQC_H3_QPACK_DECOMPRESSION_FAILED;
  int rc = moqc_h3_qpack_decode(block, len, &fields, &h3err);
  uint16_t status = 0;
  char proto[MOQC_H3_PROTOCOL_MAX + 1];
  if (rc == MOQC_OK && moqc_h3_connect_resp_parse(&fields, &status, proto) != MOQC_OK) {
    rc = MOQC_ERR_DECODE;
    h3err = MOQC_H3_MESSAGE_ERROR;
  }
  moqc_h3_fields_free(&fields);
  if (rc != MOQC_OK) {
    if (rc == MOQC_ERR_NOMEM) moqc__wt_setup_failed(c, MOQC_ERR_NOMEM, 0, MOQC_H3_INTERNAL_ERROR);
    else
      moqc__wt_conn_error(c, rc == MOQC_ERR_TOO_LARGE ? MOQC_H3_EXCESSIVE_LOAD : h3err,
                          "h3: bad CONNECT response");
    return;
  }
  if (status < 200) return; /* interim response: wait for the final one */
  s->frd->headers_done = true;
  c->status = status;
  if (status > 299) {
    moqc__wt_setup_failed(c, status_err(status), status, MOQC_H3_NO_ERROR);
    return;
  }
  if (proto[0]) {
    bool offered = false;
    for (size_t i = 0; i < c->n_protos; i++) offered |= strcmp(c->protos[i], proto) == 0;
    if (!offered) {
      moqc__wt_setup_failed(c, MOQC_ERR_PROTOCOL, status, MOQC_H3_NO_ERROR);
      return;
    }
    memcpy(c->base.protocol, proto, strlen(proto) + 1);
  }
  if (moqc__wt_session_prepare(c) != MOQC_OK) {
    moqc__wt_setup_failed(c, MOQC_ERR_NOMEM, status, MOQC_H3_INTERNAL_ERROR);
    return;
  }
  moqc__wt_stop_timer(c);
  moqc__wt_established(c);
}

/* ---- both ------------------------------------------------------------------------------- */

void moqc__wt_on_settings(wt_conn *c) {
  if (c->server) {
    moqc__wt_server_try_pending(c);
    return;
  }
  if (c->peer.enable_connect_protocol != 1 || moqc_h3_settings_wt_sessions(&c->peer) == 0) {
    moqc__wt_setup_failed(c, MOQC_ERR_UNSUPPORTED, 0, MOQC_H3_NO_ERROR);
    return;
  }
  moqc__wt_client_try_connect(c);
}
