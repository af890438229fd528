/* moqc http1 — the client side of an HTTP/1.1 upgrade (a WebSocket client's
 * handshake): resolve, connect (every address in turn), send one GET with the
 * caller's upgrade fields, parse the answer's head with the same parser as
 * every other response (http_parse.c), and after a 101 turn the socket into a
 * byte pipe (moqc_http_upconn_write / cbs.data), as the server side does with
 * moqc_http_response_upgrade.
 *
 * TLS (wss://): with cfg.tls the socket's bytes go through the caller's TLS
 * object (moqc_http_tls_ops): the ClientHello and the request are written
 * once connected (the request is held by the TLS layer until the handshake
 * completes), received records are decrypted into the same buffers.
 *
 * Lifetime: the object is freed once it is done (failed, closed by the caller,
 * or by the peer) and every libuv handle and request it started has called
 * back (`refs`); it is never freed synchronously inside a caller's call. */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "core/mem.h"
#include "http1/http_parse.h"
#include "moqc/http.h"

#define UP_MAX_HEAD 16384
#define UP_READ_BUF 65536
#define UP_CLOSE_FLUSH_MS 2000

enum { UP_DIALING = 1, UP_SWITCHED, UP_DONE };

struct moqc_http_upconn {
  uv_loop_t *loop;
  uv_getaddrinfo_t gai;
  uv_connect_t conn;
  uv_tcp_t tcp;
  uv_timer_t timer;
  struct addrinfo *ai, *next_ai;
  moqc_http_upgrade_fn on_head;
  moqc_http_upgrade_cbs cbs;
  void *arg;
  char *req;
  size_t req_len;
  uint8_t *buf; /* the answer's head while dialing, then the read buffer */
  size_t len;
  size_t pending; /* bytes in uv_write requests not completed */
  int refs;       /* open handles + libuv requests in flight */
  int state;
  bool tcp_open, retry, reported, user_closed, in_data;
  const moqc_http_tls_ops *tls;
  void *tlsc;   /* the TLS object (owned) */
  uint8_t *raw; /* TLS: ciphertext read from the socket */
  char remote[64];
};

#define UP_TLS_RAW 16640

typedef struct upw {
  uv_write_t req;
  moqc_http_upconn *u;
  size_t len; /* counted bytes (the pipe's plaintext), 0 for the rest */
  uint8_t *p; /* what is written (owned) */
} upw;

static void up_maybe_free(moqc_http_upconn *u) {
  if (u->state != UP_DONE || u->refs > 0) return;
  if (u->ai) uv_freeaddrinfo(u->ai);
  if (u->tlsc) u->tls->del(u->tlsc);
  moqc_free(u->raw);
  moqc_free(u->buf);
  moqc_free(u->req);
  moqc_free(u);
}

static void up_handle_closed(uv_handle_t *h) {
  moqc_http_upconn *u = h->data;
  assert(u->refs > 0);
  u->refs--;
  up_maybe_free(u);
}

static void up_connect_next(moqc_http_upconn *u);

static void up_tcp_closed(uv_handle_t *h) {
  moqc_http_upconn *u = h->data;
  assert(u->refs > 0);
  u->refs--;
  if (u->state == UP_DIALING && u->retry) { /* the handle is free again: next address */
    u->retry = false;
    up_connect_next(u);
  }
  up_maybe_free(u);
}

static void up_close_tcp(moqc_http_upconn *u) {
  if (!u->tcp_open) return;
  u->tcp_open = false;
  uv_close((uv_handle_t *)&u->tcp, up_tcp_closed);
}

/* Everything ends; `closed` is reported after a switch unless the caller closed. */
static void up_teardown(moqc_http_upconn *u, bool notify) {
  if (u->state == UP_DONE) return;
  bool was_switched = u->state == UP_SWITCHED;
  u->state = UP_DONE;
  up_close_tcp(u);
  if (!uv_is_closing((uv_handle_t *)&u->timer))
    uv_close((uv_handle_t *)&u->timer, up_handle_closed);
  if (notify && was_switched && !u->user_closed && u->cbs.closed) u->cbs.closed(u->arg);
}

/* Report a failed attempt once (u is freed after the callback, asynchronously). */
static void up_fail(moqc_http_upconn *u, int err, const moqc_http_upgrade_resp *resp) {
  if (u->reported) return;
  u->reported = true;
  if (!u->user_closed) u->on_head(u->arg, u, err, resp);
  up_teardown(u, false);
}

static void up_on_timer(uv_timer_t *t) {
  moqc_http_upconn *u = t->data;
  if (u->state == UP_DIALING) {
    uv_cancel((uv_req_t *)&u->gai); /* harmless if it already ran */
    up_fail(u, MOQC_ERR_TIMEOUT, NULL);
  } else { /* the flush after moqc_http_upconn_close took too long */
    up_teardown(u, false);
  }
}

static void up_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  (void)suggested;
  moqc_http_upconn *u = h->data;
  if (u->tls) {
    if (!u->raw) u->raw = moqc_malloc(UP_TLS_RAW);
    *b = u->raw ? uv_buf_init((char *)u->raw, UP_TLS_RAW) : uv_buf_init(NULL, 0);
    return;
  }
  size_t cap = u->state == UP_DIALING ? UP_MAX_HEAD : UP_READ_BUF;
  if (!u->buf) u->buf = moqc_malloc(UP_READ_BUF);
  if (!u->buf || u->len >= cap) {
    *b = uv_buf_init(NULL, 0);
    return;
  }
  *b = uv_buf_init((char *)u->buf + u->len, (unsigned)(cap - u->len));
}

/* The head may be complete: parse it and report. */
static void up_head(moqc_http_upconn *u, bool eof) {
  moqc_http1_resp r;
  ssize_t h = moqc_http1_parse_response(&r, u->buf, u->len, UP_MAX_HEAD);
  if (h == MOQC_ERR_NEED_MORE) {
    if (eof) up_fail(u, MOQC_ERR_IO, NULL);
    return;
  }
  if (h < 0) {
    up_fail(u, h == MOQC_ERR_TOO_LARGE ? MOQC_ERR_TOO_LARGE : MOQC_ERR_DECODE, NULL);
    return;
  }
  moqc_http_upgrade_resp resp = {r.status, r.upgrade_websocket, r.conn_upgrade, r.ws_accept,
                                 r.ws_protocol};
  if (r.status != 101) {
    up_fail(u, MOQC_ERR_UNSUPPORTED, &resp);
    return;
  }
  u->state = UP_SWITCHED;
  u->reported = true;
  uv_timer_stop(&u->timer);
  assert((size_t)h <= u->len);
  size_t rest = u->len - (size_t)h;
  memmove(u->buf, u->buf + h, rest);
  u->len = 0; /* the read buffer is reused from its start from now on */
  u->in_data = true;
  u->on_head(u->arg, u, MOQC_OK, &resp);
  if (rest && u->state == UP_SWITCHED && !u->user_closed) u->cbs.data(u->arg, u->buf, rest);
  u->in_data = false;
}

static int up_flush(moqc_http_upconn *u);

static void up_tls_failed(moqc_http_upconn *u) {
  if (u->state == UP_DIALING) up_fail(u, MOQC_ERR_TLS, NULL);
  else up_teardown(u, true);
}

/* n bytes of ciphertext in u->raw: decrypt and handle as plain bytes. */
static void up_tls_in(moqc_http_upconn *u, size_t n) {
  const moqc_http_tls_ops *t = u->tls;
  int rv = t->feed(u->tlsc, u->raw, n);
  (void)up_flush(u); /* handshake records, or the alert */
  if (rv != MOQC_OK) {
    up_tls_failed(u);
    return;
  }
  if (!u->buf) u->buf = moqc_malloc(UP_READ_BUF);
  if (!u->buf) {
    up_fail(u, MOQC_ERR_NOMEM, NULL);
    return;
  }
  while (u->state != UP_DONE && !u->user_closed) {
    bool dialing = u->state == UP_DIALING;
    size_t off = dialing ? u->len : 0, cap = dialing ? UP_MAX_HEAD : UP_READ_BUF;
    if (off >= cap) {
      up_fail(u, MOQC_ERR_TOO_LARGE, NULL);
      return;
    }
    ptrdiff_t r = t->read(u->tlsc, u->buf + off, cap - off);
    (void)up_flush(u);
    if (r == MOQC_ERR_AGAIN) return;
    if (r == MOQC_ERR_CLOSED) {
      if (dialing) up_head(u, true);
      else up_teardown(u, true);
      return;
    }
    if (r < 0) {
      up_tls_failed(u);
      return;
    }
    if (dialing) {
      u->len += (size_t)r;
      up_head(u, false);
    } else {
      u->in_data = true;
      u->cbs.data(u->arg, u->buf, (size_t)r);
      u->in_data = false;
    }
  }
}

static void up_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void)b;
  moqc_http_upconn *u = s->data;
  if (u->state == UP_DONE || u->user_closed) return;
  if (u->tls && n > 0) {
    up_tls_in(u, (size_t)n);
    return;
  }
  if (u->state == UP_DIALING) {
    if (n == UV_ENOBUFS) {
      up_fail(u, MOQC_ERR_TOO_LARGE, NULL);
    } else if (n < 0) {
      up_head(u, true);
    } else {
      u->len += (size_t)n;
      up_head(u, false);
    }
    return;
  }
  if (n < 0) {
    up_teardown(u, true);
  } else if (n > 0) {
    u->in_data = true;
    u->cbs.data(u->arg, u->buf, (size_t)n);
    u->in_data = false;
  }
}

static void up_written(uv_write_t *req, int status) {
  upw *w = (upw *)req;
  moqc_http_upconn *u = w->u;
  size_t len = w->len;
  moqc_free(w->p);
  moqc_free(w);
  assert(u->refs > 0);
  u->refs--;
  if (len) {
    assert(u->pending >= len);
    u->pending -= len;
  }
  if (u->state == UP_DIALING && status < 0) {
    up_fail(u, MOQC_ERR_IO, NULL);
  } else if (u->state == UP_SWITCHED) {
    if (status < 0) {
      up_teardown(u, true);
    } else if (u->pending == 0) {
      if (u->user_closed) up_teardown(u, false);
      else if (u->cbs.drained) u->cbs.drained(u->arg);
    }
  }
  up_maybe_free(u);
}

/* Write the n bytes of p (owned from here on), counting `counted` of the
 * pipe's bytes. */
static int up_write_owned(moqc_http_upconn *u, uint8_t *p, size_t n, size_t counted) {
  upw *w = moqc_malloc(sizeof *w);
  if (!w) {
    moqc_free(p);
    return MOQC_ERR_NOMEM;
  }
  w->u = u;
  w->len = counted;
  w->p = p;
  uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
  if (uv_write(&w->req, (uv_stream_t *)&u->tcp, &b, 1, up_written) != 0) {
    moqc_free(p);
    moqc_free(w);
    return MOQC_ERR_CLOSED;
  }
  u->refs++;
  u->pending += counted;
  return MOQC_OK;
}

/* What the TLS layer has to send. */
static int up_flush(moqc_http_upconn *u) {
  if (!u->tls || !u->tcp_open) return MOQC_OK;
  size_t n = 0;
  uint8_t *p = u->tls->take(u->tlsc, &n);
  return p ? up_write_owned(u, p, n, 0) : MOQC_OK;
}

/* Queue bytes (copied, or encrypted); `counted` ones are the pipe's (the
 * request is not). */
static int up_write(moqc_http_upconn *u, const void *p, size_t n, bool counted) {
  if (u->tls) {
    int rv = u->tls->write(u->tlsc, p, n);
    if (rv != MOQC_OK) return rv == MOQC_ERR_NOMEM ? rv : MOQC_ERR_CLOSED;
    size_t cn = 0;
    uint8_t *c = u->tls->take(u->tlsc, &cn);
    if (!c) { /* held until the handshake completes: nothing to count */
      assert(!counted);
      return MOQC_OK;
    }
    return up_write_owned(u, c, cn, counted ? n : 0);
  }
  uint8_t *copy = moqc_malloc(n);
  if (!copy) return MOQC_ERR_NOMEM;
  memcpy(copy, p, n);
  return up_write_owned(u, copy, n, counted ? n : 0);
}

static void up_set_remote(moqc_http_upconn *u, const struct sockaddr *sa) {
  char ip[INET6_ADDRSTRLEN] = "";
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;
    uv_ip6_name(a6, ip, sizeof ip);
    snprintf(u->remote, sizeof u->remote, "[%s]:%u", ip, ntohs(a6->sin6_port));
  } else {
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)sa;
    uv_ip4_name(a4, ip, sizeof ip);
    snprintf(u->remote, sizeof u->remote, "%s:%u", ip, ntohs(a4->sin_port));
  }
}

static void up_connected(uv_connect_t *c, int status) {
  moqc_http_upconn *u = c->data;
  assert(u->refs > 0);
  u->refs--;
  if (u->state != UP_DIALING) {
    up_maybe_free(u);
    return;
  }
  if (status < 0) { /* the next address, once the handle is closed */
    u->retry = true;
    up_close_tcp(u);
    return;
  }
  uv_tcp_nodelay(&u->tcp, 1);
  if (up_flush(u) != MOQC_OK || /* TLS: the ClientHello first */
      up_write(u, u->req, u->req_len, false) != MOQC_OK ||
      uv_read_start((uv_stream_t *)&u->tcp, up_alloc, up_read) != 0)
    up_fail(u, MOQC_ERR_IO, NULL);
}

static void up_connect_next(moqc_http_upconn *u) {
  while (u->next_ai) {
    struct addrinfo *a = u->next_ai;
    u->next_ai = a->ai_next;
    if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
    if (uv_tcp_init(u->loop, &u->tcp) != 0) break;
    u->tcp.data = u;
    u->tcp_open = true;
    u->refs++;
    u->conn.data = u;
    up_set_remote(u, a->ai_addr);
    if (uv_tcp_connect(&u->conn, &u->tcp, a->ai_addr, up_connected) == 0) {
      u->refs++;
      return;
    }
    u->retry = true; /* continue from the close callback */
    up_close_tcp(u);
    return;
  }
  up_fail(u, MOQC_ERR_IO, NULL);
}

static void up_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  moqc_http_upconn *u = req->data;
  assert(u->refs > 0);
  u->refs--;
  u->ai = res;
  if (u->state != UP_DIALING) {
    up_maybe_free(u);
    return;
  }
  if (status < 0 || !res) {
    up_fail(u, MOQC_ERR_IO, NULL);
    return;
  }
  u->next_ai = res;
  up_connect_next(u);
}

static bool up_text_ok(const char *s, size_t max) {
  size_t n = strlen(s);
  if (n == 0 || n >= max) return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) return false;
  return true;
}

static int upgrade_connect(uv_loop_t *loop, const moqc_http_upgrade_config *cfg,
                           moqc_http_upgrade_fn on_head, const moqc_http_upgrade_cbs *cbs,
                           void *arg, moqc_http_upconn **out) {
  if (!loop || !cfg || !cfg->host || !cfg->target || !on_head || !cbs || !cbs->data || !out ||
      cfg->target[0] != '/' || !up_text_ok(cfg->host, MOQC_HTTP_HOST_MAX) ||
      !up_text_ok(cfg->target, MOQC_HTTP_TARGET_MAX))
    return MOQC_ERR_INVAL;
  const char *extra = cfg->extra_headers ? cfg->extra_headers : "";
  for (const char *p = extra; *p; p++) /* complete lines only: no request splitting */
    if ((*p == '\n' && (p == extra || p[-1] != '\r')) || (*p == '\r' && p[1] != '\n'))
      return MOQC_ERR_INVAL;
  moqc_http_upconn *u = moqc_calloc(1, sizeof *u);
  if (!u) return MOQC_ERR_NOMEM;
  size_t cap = strlen(cfg->target) + strlen(cfg->host) + strlen(extra) + 96;
  u->req = moqc_malloc(cap);
  if (!u->req) {
    moqc_free(u);
    return MOQC_ERR_NOMEM;
  }
  const char *h = cfg->host;
  size_t hl = strlen(h);
  bool bracketed = h[0] == '[' && hl > 2 && h[hl - 1] == ']';
  bool v6 = !bracketed && strchr(h, ':') != NULL;
  int n = snprintf(u->req, cap, "GET %s HTTP/1.1\r\nHost: %s%s%s:%u\r\nUser-Agent: moqc\r\n%s\r\n",
                   cfg->target, v6 ? "[" : "", h, v6 ? "]" : "", (unsigned)cfg->port, extra);
  assert(n > 0 && (size_t)n < cap);
  u->req_len = (size_t)n;
  u->loop = loop;
  u->tls = cfg->tls;
  u->tlsc = cfg->tls_conn; /* owned from here on */
  u->on_head = on_head;
  u->cbs = *cbs;
  u->arg = arg;
  u->state = UP_DIALING;
  char service[8], unbr[MOQC_HTTP_HOST_MAX];
  snprintf(service, sizeof service, "%u", (unsigned)cfg->port);
  if (bracketed) { /* "[::1]" -> "::1" */
    memcpy(unbr, h + 1, hl - 2);
    unbr[hl - 2] = '\0';
    h = unbr;
  }
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  u->gai.data = u;
  if (uv_getaddrinfo(loop, &u->gai, up_resolved, h, service, &hints) != 0) {
    moqc_free(u->req);
    moqc_free(u);
    return MOQC_ERR_IO;
  }
  u->refs++;
  uv_timer_init(loop, &u->timer);
  u->timer.data = u;
  u->refs++;
  uv_timer_start(&u->timer, up_on_timer, cfg->timeout_ms ? cfg->timeout_ms : 10000, 0);
  *out = u;
  return MOQC_OK;
}

int moqc_http_upgrade_connect(uv_loop_t *loop, const moqc_http_upgrade_config *cfg,
                              moqc_http_upgrade_fn on_head, const moqc_http_upgrade_cbs *cbs,
                              void *arg, moqc_http_upconn **out) {
  int rv = MOQC_ERR_INVAL;
  if (cfg && (!cfg->tls == !cfg->tls_conn)) rv = upgrade_connect(loop, cfg, on_head, cbs, arg, out);
  /* The TLS object is the connection's whatever happens: freed with it, or
   * here when no connection was made. */
  if (rv != MOQC_OK && cfg && cfg->tls && cfg->tls_conn) cfg->tls->del(cfg->tls_conn);
  return rv;
}

const char *moqc_http_upconn_error(const moqc_http_upconn *u) {
  return u && u->tlsc ? u->tls->error(u->tlsc) : "";
}

int moqc_http_upconn_write(moqc_http_upconn *u, const uint8_t *p, size_t n) {
  if (!u || (!p && n)) return MOQC_ERR_INVAL;
  if (u->state != UP_SWITCHED || u->user_closed) return MOQC_ERR_CLOSED;
  return n ? up_write(u, p, n, true) : MOQC_OK;
}

size_t moqc_http_upconn_pending(const moqc_http_upconn *u) { return u ? u->pending : 0; }

const char *moqc_http_upconn_remote(const moqc_http_upconn *u) { return u ? u->remote : ""; }

void moqc_http_upconn_close(moqc_http_upconn *u) {
  if (!u || u->user_closed) return;
  u->user_closed = true;
  if (u->state == UP_DIALING) {
    u->reported = true;
    uv_cancel((uv_req_t *)&u->gai);
    up_teardown(u, false);
  } else if (u->state == UP_SWITCHED) {
    if (u->tls && u->tls->bye) { /* our close_notify */
      u->tls->bye(u->tlsc);
      (void)up_flush(u);
    }
    if (u->pending == 0) {
      up_teardown(u, false);
      return;
    }
    uv_read_stop((uv_stream_t *)&u->tcp);
    uv_timer_start(&u->timer, up_on_timer, UP_CLOSE_FLUSH_MS, 0); /* bound the flush */
  }
}
