/* moqc transport — a small embeddable HTTP/1.1 server over libuv TCP for the
 * dev bootstrap (/certificate.sha256, /health). One route callback decides
 * every response. Robust to garbage (400), oversize heads (431) and bodies
 * (413); keep-alive optional.
 *
 * Limits against slow or greedy clients (slowloris):
 *   - a request head must arrive completely within head_timeout_ms of its
 *     first byte (the deadline is fixed: more bytes do not extend it);
 *   - a connection waiting for a request with nothing received is closed after
 *     idle_timeout_ms;
 *   - at most max_connections_per_addr connections per peer IP address (a new
 *     one over that is closed at once);
 *   - at most max_connections in all: when full, the connection that has waited
 *     longest for its request (not one being answered) is closed to make room,
 *     so a full server still serves new clients.
 * An upgraded connection (101, e.g. a WebSocket MoQ session) has no head
 * deadline and no idle timer (its protocol keeps itself alive) and is never
 * evicted, but counts towards both connection caps: max_connections_per_addr
 * bounds the WebSocket sessions one address holds.
 *
 * Deferred responses: the route callback may take a moqc_http_pending and
 * finish it later. Meanwhile the connection keeps reading (so a client that
 * closes is noticed: the pending response's `gone` callback runs, then it is
 * freed) but handles no further request, and the idle timer is off.
 *
 * TLS (cfg.tls): the first byte of a connection decides. 0x16 (a TLS
 * handshake record) makes it an https:// / wss:// connection: raw bytes go
 * through the TLS layer (a sans-IO object per connection, moqc_http_tls_ops)
 * and the plaintext into the same buffer and parser as plain HTTP; every
 * write is encrypted first. The handshake counts as part of the first head,
 * so the head deadline bounds a client that stalls in it; a failed handshake
 * closes that connection only (after the alert, if any).
 *
 * libuv lifecycle: every handle is closed with uv_close and freed from its
 * close callback; the server struct goes once its last handle is closed. */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "core/mem.h"
#include "moqc/buf.h"
#include "moqc/http.h"
#include "http1/http_parse.h"

#define HTTP_MAX_LISTENERS 8
#define HTTP_MAX_BODY 65536 /* request bodies are read and dropped up to this */

typedef struct hconn hconn;

struct moqc_http_pending {
  hconn *c;
  moqc_http_gone_fn gone;
  void *arg;
};

/* A connection switched to another protocol (101): bytes in and out, no parsing. */
struct moqc_http_upgraded {
  hconn *c;
  moqc_http_upgrade_cbs cbs;
  void *arg;
  size_t pending;   /* bytes in uv_write requests not completed */
  bool user_closed; /* moqc_http_upgraded_close: no callback follows */
  bool switched;    /* the 101 is queued: bytes go to cbs.data */
  char *extra;      /* extra 101 header lines, until sent */
  char remote[64];
};

struct moqc_http_server {
  uv_loop_t *loop;
  moqc_http_server_config cfg;
  uv_tcp_t *lst[HTTP_MAX_LISTENERS];
  size_t n_lst;
  uint16_t port;
  hconn *conns;
  size_t n_conns;
  size_t n_up;    /* of which switched protocols: not HTTP any more, not in max_connections */
  size_t handles; /* open uv handles (listeners + connection handles) */
  bool closing;
  uint64_t evicted, refused; /* connections closed by the limits (for tests/metrics) */
};

/* A peer's IP address without the port: the per-address key. */
typedef struct haddr {
  uint8_t b[16]; /* IPv4 as ::ffff:a.b.c.d */
  bool known;
} haddr;

struct hconn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  moqc_http_server *srv;
  hconn *prev, *next;
  uint8_t *buf;
  size_t len, cap;
  uint64_t body_left; /* request body bytes still to drop */
  int open;           /* handles of this connection still open */
  bool closing, writing, close_after_write;
  moqc_http_pending *pending;   /* a deferred response not finished yet */
  bool in_route, deferred;      /* inside the route callback; it deferred */
  bool route_head, route_close; /* of the request being (or waiting to be) answered */
  moqc_http_upgraded *up;       /* switched protocols (101) */
  haddr addr;
  char remote[64];     /* "1.2.3.4:5678" / "[::1]:5678" for moqc_http_request.remote */
  uint64_t wait_start; /* uv_now when it started waiting for a request */
  uint64_t head_first; /* uv_now of the first byte of the head being read, 0 = none yet */
  uv_shutdown_t shut;  /* lingering close of an upgraded connection */
  bool shut_started;
  bool tls_checked; /* the first byte was seen (plain or TLS decided) */
  void *tls;        /* the connection's TLS layer, NULL for plain HTTP */
  uint8_t *raw;     /* TLS: the socket's bytes before decryption */
};

#define HTTP_TLS_RAW 16640 /* one TLS record and its header */

/* Encrypted bytes written outside a response (handshake records, alerts). */
typedef struct rawreq {
  uv_write_t req;
  hconn *c;
  uint8_t *p;
} rawreq;

typedef struct wreq {
  uv_write_t req;
  hconn *c;
  size_t len;
  moqc_slice *parts; /* body slices written by reference (owned), or NULL */
  size_t nparts;
  uint8_t *cipher; /* TLS: the encrypted bytes actually written */
  char data[];
} wreq;

static void wreq_free(wreq *w) {
  for (size_t i = 0; i < w->nparts; i++) moqc_slice_release(&w->parts[i]);
  moqc_free(w->parts);
  moqc_free(w->cipher);
  moqc_free(w);
}

static void srv_maybe_free(moqc_http_server *s) {
  if (s->closing && s->handles == 0) moqc_free(s);
}

/* ---- connections ------------------------------------------------------------------- */

static void conn_close(hconn *c);

/* uv_write of bufs through req: as they are, or (TLS) encrypted into one
 * block that *cipher owns. A libuv error code. */
static int conn_write(hconn *c, uv_write_t *req, uint8_t **cipher, const uv_buf_t *bufs,
                      size_t nbufs, uv_write_cb cb) {
  if (!c->tls) return uv_write(req, (uv_stream_t *)&c->tcp, bufs, (unsigned)nbufs, cb);
  const moqc_http_tls_ops *t = c->srv->cfg.tls;
  for (size_t i = 0; i < nbufs; i++)
    if (t->write(c->tls, (const uint8_t *)bufs[i].base, bufs[i].len) != MOQC_OK) return UV_EPROTO;
  size_t n = 0;
  *cipher = t->take(c->tls, &n);
  if (!*cipher) return UV_EPROTO;
  uv_buf_t b = uv_buf_init((char *)*cipher, (unsigned)n);
  return uv_write(req, (uv_stream_t *)&c->tcp, &b, 1, cb);
}

static void on_raw_written(uv_write_t *req, int status) {
  rawreq *w = (rawreq *)req;
  hconn *c = w->c;
  moqc_free(w->p);
  moqc_free(w);
  if (status < 0 && !c->closing) conn_close(c);
}

/* Put what the TLS layer has to send (handshake, alerts) on the socket. */
static int tls_flush(hconn *c) {
  size_t n = 0;
  uint8_t *p = c->srv->cfg.tls->take(c->tls, &n);
  if (!p) return MOQC_OK;
  rawreq *w = moqc_malloc(sizeof *w);
  if (!w) {
    moqc_free(p);
    return MOQC_ERR_NOMEM;
  }
  w->c = c;
  w->p = p;
  uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
  if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_raw_written) != 0) {
    moqc_free(p);
    moqc_free(w);
    return MOQC_ERR_IO;
  }
  return MOQC_OK;
}

static void conn_handle_closed(uv_handle_t *h) {
  hconn *c = h->data;
  moqc_http_server *s = c->srv;
  s->handles--;
  if (--c->open == 0) {
    if (c->tls) s->cfg.tls->del(c->tls);
    moqc_free(c->raw);
    moqc_free(c->buf);
    moqc_free(c);
  }
  srv_maybe_free(s);
}

static void conn_close(hconn *c) {
  if (c->closing) return;
  c->closing = true;
  moqc_http_server *s = c->srv;
  if (c->prev) c->prev->next = c->next;
  else s->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  s->n_conns--;
  if (c->up && c->up->switched) {
    assert(s->n_up > 0);
    s->n_up--;
  }
  uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
  uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
  moqc_http_upgraded *u = c->up;
  if (u) { /* the upgraded protocol's owner learns it is gone (unless it closed) */
    c->up = NULL;
    if (!u->user_closed && u->switched && u->cbs.closed) u->cbs.closed(u->arg);
    moqc_free(u->extra);
    moqc_free(u);
  }
  moqc_http_pending *p = c->pending;
  if (p) { /* last: the callback may finish other responses or close connections */
    c->pending = NULL;
    p->gone(p->arg, p);
    moqc_free(p);
  }
}

static void on_idle(uv_timer_t *t) { conn_close(t->data); }

static uint64_t head_timeout(const moqc_http_server *s) {
  return s->cfg.head_timeout_ms ? s->cfg.head_timeout_ms : 5000;
}

/* When the connection (waiting for a request) is closed: idle_timeout after it
 * started waiting while nothing came, else head_timeout after the first byte
 * of the head. Both anchors are fixed, so a client trickling bytes does not
 * move the deadline. */
static uint64_t wait_deadline(const hconn *c) {
  const moqc_http_server *s = c->srv;
  if (c->head_first) return c->head_first + head_timeout(s);
  return c->wait_start + (s->cfg.idle_timeout_ms ? s->cfg.idle_timeout_ms : 10000);
}

static void touch(hconn *c) {
  if (c->up) { /* the upgraded protocol keeps itself alive */
    if (!c->up->user_closed) uv_timer_stop(&c->timer);
    return;
  }
  if (c->pending) { /* the application bounds a deferred response */
    uv_timer_stop(&c->timer);
    return;
  }
  uint64_t now = uv_now(c->srv->loop), due = wait_deadline(c);
  uv_timer_start(&c->timer, on_idle, due > now ? due - now : 0, 0);
}

/* A new request starts (after accept, or after a response went out). */
static void start_wait(hconn *c) {
  c->wait_start = uv_now(c->srv->loop);
  c->head_first = c->len || c->body_left ? c->wait_start : 0;
}

static void process(hconn *c);
static void pump(hconn *c);
static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);

static void on_written(uv_write_t *req, int status) {
  wreq *w = (wreq *)req;
  hconn *c = w->c;
  wreq_free(w);
  c->writing = false;
  if (c->closing) return;
  if (status < 0 || c->close_after_write) {
    conn_close(c);
    return;
  }
  start_wait(c);
  touch(c);
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  pump(c); /* pipelined requests already buffered */
}

/* Write the head, then the body: copied (body) or by reference (parts, n
 * slices whose references the response owns from here on, whatever happens). */
static void send_response_parts(hconn *c, uint16_t status, const char *ctype, const void *body,
                                size_t blen, moqc_slice *parts, size_t nparts, bool head_only,
                                bool close) {
  if (status < 100 || status > 599) status = 500; /* an application's bad status */
  if (!body) blen = 0;
  size_t plen = 0;
  for (size_t i = 0; i < nparts; i++) plen += parts[i].len;
  char hdr[512];
  int hl = snprintf(hdr, sizeof hdr,
                    "HTTP/1.1 %u %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                    "Cache-Control: no-store\r\n%sConnection: %s\r\n\r\n",
                    (unsigned)status, moqc_http_reason(status), ctype ? ctype : "text/plain",
                    blen + plen, c->srv->cfg.cors ? "Access-Control-Allow-Origin: *\r\n" : "",
                    close ? "close" : "keep-alive");
  size_t total = (size_t)(hl > 0 ? hl : 0) + (head_only ? 0 : blen);
  wreq *w = hl < 0 || (size_t)hl >= sizeof hdr ? NULL : moqc_malloc(sizeof *w + total);
  uv_buf_t one, *bufs = &one;
  if (w && nparts && !head_only) bufs = moqc_calloc(nparts + 1, sizeof *bufs);
  if (!w || !bufs) {
    for (size_t i = 0; i < nparts; i++) moqc_slice_release(&parts[i]);
    moqc_free(parts);
    moqc_free(w);
    conn_close(c);
    return;
  }
  w->c = c;
  w->len = total;
  w->parts = parts;
  w->nparts = nparts;
  memcpy(w->data, hdr, (size_t)hl);
  if (!head_only && blen) memcpy(w->data + hl, body, blen);
  bufs[0] = uv_buf_init(w->data, (unsigned)total);
  size_t nbufs = 1;
  if (!head_only)
    for (size_t i = 0; i < nparts; i++)
      if (parts[i].len)
        bufs[nbufs++] = uv_buf_init((char *)moqc_slice_ptr(&parts[i]), (unsigned)parts[i].len);
  c->writing = true;
  c->close_after_write = close;
  uv_read_stop((uv_stream_t *)&c->tcp);
  w->cipher = NULL;
  int rc = conn_write(c, &w->req, &w->cipher, bufs, nbufs, on_written);
  if (bufs != &one) moqc_free(bufs); /* libuv keeps its own copy of the array */
  if (rc != 0) {
    wreq_free(w);
    c->writing = false;
    conn_close(c);
  }
}

static void send_response(hconn *c, uint16_t status, const char *ctype, const void *body,
                          size_t blen, bool head_only, bool close) {
  send_response_parts(c, status, ctype, body, blen, NULL, 0, head_only, close);
}

static void consume(hconn *c, size_t n) {
  memmove(c->buf, c->buf + n, c->len - n);
  c->len -= n;
}

static void error_response(hconn *c, uint16_t status) {
  const char *msg = moqc_http_reason(status);
  send_response(c, status, "text/plain", msg, strlen(msg), false, true);
}

static void upgrade_switch(hconn *c);

static void route(hconn *c, const moqc_http1_req *r) {
  moqc_http_request req = {.method = r->method,
                           .path = r->path,
                           .query = r->has_query ? r->query : NULL,
                           .host = r->has_host ? r->host : NULL,
                           .websocket = r->upgrade_websocket && r->conn_upgrade,
                           .ws_key = r->ws_key[0] ? r->ws_key : NULL,
                           .ws_version = r->ws_version[0] ? r->ws_version : NULL,
                           .ws_protocol = r->ws_protocol[0] ? r->ws_protocol : NULL,
                           .remote = c->remote};
  moqc_http_response resp = {.status = 404, .content_type = "text/plain", .server_private = c};
  bool head = strcmp(r->method, "HEAD") == 0;
  bool close = !r->keep_alive || !c->srv->cfg.keep_alive;
  c->in_route = true;
  c->deferred = false;
  c->route_head = head;
  c->route_close = close;
  c->srv->cfg.route(c->srv->cfg.ctx, &req, &resp);
  c->in_route = false;
  if (c->up) {
    upgrade_switch(c);
    return;
  }
  if (c->deferred) { /* finished later (or already, from inside the callback) */
    if (c->pending) uv_timer_stop(&c->timer);
    return;
  }
  send_response(c, resp.status, resp.content_type, resp.body, resp.body_len, head, close);
}

/* Handle what is buffered: drop body bytes, parse the next head, answer. */
static void process(hconn *c) {
  while (!c->closing && !c->writing && !c->pending) {
    if (c->up) { /* switched: everything goes to the new protocol */
      moqc_http_upgraded *u = c->up;
      if (u->user_closed) c->len = 0; /* lingering close: drained, dropped */
      if (c->len == 0) return;
      size_t n = c->len;
      c->len = 0; /* before the callback: it may write, close or read */
      u->cbs.data(u->arg, c->buf, n);
      return;
    }
    if (c->body_left) {
      size_t n = c->len < c->body_left ? c->len : (size_t)c->body_left;
      consume(c, n);
      c->body_left -= n;
      if (c->body_left) return;
    }
    if (c->len == 0) return;
    size_t max = c->srv->cfg.max_request_bytes ? c->srv->cfg.max_request_bytes : 8192;
    moqc_http1_req r;
    ssize_t h = moqc_http1_parse_request(&r, c->buf, c->len, max);
    if (h == MOQC_ERR_NEED_MORE) return;
    if (h < 0) {
      error_response(c, h == MOQC_ERR_TOO_LARGE ? 431 : h == MOQC_ERR_VERSION ? 505 : 400);
      return;
    }
    if (r.content_length > HTTP_MAX_BODY) {
      error_response(c, 413);
      return;
    }
    consume(c, (size_t)h);
    c->body_left = r.content_length;
    route(c, &r);
  }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  (void)suggested;
  hconn *c = h->data;
  if (c->tls) { /* ciphertext: all of it goes to the TLS layer at once */
    if (!c->raw) c->raw = moqc_malloc(HTTP_TLS_RAW);
    *b = c->raw ? uv_buf_init((char *)c->raw, HTTP_TLS_RAW) : uv_buf_init(NULL, 0);
    return;
  }
  size_t max = c->srv->cfg.max_request_bytes ? c->srv->cfg.max_request_bytes : 8192;
  size_t want = max + 1024; /* room for one full head plus a little */
  if (c->cap < want) {
    uint8_t *nb = moqc_realloc(c->buf, want);
    if (nb) {
      c->buf = nb;
      c->cap = want;
    }
  }
  if (c->len >= c->cap) {
    *b = uv_buf_init(NULL, 0); /* full: on_read gets UV_ENOBUFS */
    return;
  }
  *b = uv_buf_init((char *)c->buf + c->len, (unsigned)(c->cap - c->len));
}

/* Plaintext from the TLS layer into buf while there is room, and handle it;
 * for a plain connection just process(). */
static void pump(hconn *c) {
  if (!c->tls) {
    process(c);
    return;
  }
  const moqc_http_tls_ops *t = c->srv->cfg.tls;
  while (!c->closing) {
    ptrdiff_t r = MOQC_ERR_AGAIN;
    if (c->len < c->cap) r = t->read(c->tls, c->buf + c->len, c->cap - c->len);
    if (tls_flush(c) != MOQC_OK) r = MOQC_ERR_IO;
    if (r == MOQC_ERR_AGAIN) {
      if (c->len >= c->cap && !c->up && !c->writing && !c->pending) {
        error_response(c, 431); /* a head that does not fit, as plain HTTP */
        return;
      }
      process(c);
      return;
    }
    if (r < 0) { /* close_notify, a TLS error (its alert was flushed) */
      conn_close(c);
      return;
    }
    if (!c->up && !c->head_first && !c->writing && !c->pending)
      c->head_first = uv_now(c->srv->loop);
    c->len += (size_t)r;
    size_t before = c->len;
    process(c);
    if (c->len == before && (c->writing || c->pending)) return; /* resumed by on_written */
  }
}

/* The first bytes of a connection: a TLS ClientHello (record type 0x16)
 * turns it into a TLS connection; they are fed to it. */
static bool tls_start(hconn *c) {
  c->tls_checked = true;
  const moqc_http_tls_ops *t = c->srv->cfg.tls;
  if (!t || c->len == 0 || c->buf[0] != 0x16) return true;
  c->tls = t->server_new(c->srv->cfg.tls_ctx);
  if (!c->tls) return false;
  int rv = t->feed(c->tls, c->buf, c->len);
  c->len = 0;
  if (rv != MOQC_OK) {
    (void)tls_flush(c); /* the alert */
    return false;
  }
  return true;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b) {
  (void)b;
  hconn *c = st->data;
  if (c->closing) return;
  if (n > 0 && c->tls) { /* ciphertext in c->raw */
    if (!c->up && !c->head_first && !c->writing && !c->pending)
      c->head_first = uv_now(c->srv->loop);
    int rv = c->srv->cfg.tls->feed(c->tls, c->raw, (size_t)n);
    if (rv != MOQC_OK) {
      (void)tls_flush(c);
      conn_close(c);
      return;
    }
    touch(c);
    pump(c);
    return;
  }
  if (n < 0) {
    if (n == UV_ENOBUFS && c->pending) /* pipelined requests filled the buffer: */
      uv_read_stop(st);                /* wait for the deferred response */
    else if (n == UV_ENOBUFS && !c->writing) error_response(c, 431);
    else conn_close(c);
    return;
  }
  if (n > 0 && !c->up && !c->head_first && !c->writing && !c->pending)
    c->head_first = uv_now(c->srv->loop);
  c->len += (size_t)n;
  if (!c->tls_checked && n > 0) {
    if (!tls_start(c)) {
      conn_close(c);
      return;
    }
    if (c->tls) {
      touch(c);
      pump(c);
      return;
    }
  }
  touch(c);
  process(c);
}

static void peer_of(hconn *c) {
  struct sockaddr_storage ss;
  int len = sizeof ss;
  memset(&c->addr, 0, sizeof c->addr);
  snprintf(c->remote, sizeof c->remote, "%s", "");
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0) return;
  char ip[64] = "";
  unsigned port;
  if (ss.ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
    c->addr.b[10] = c->addr.b[11] = 0xff;
    memcpy(c->addr.b + 12, &a->sin_addr, 4);
    uv_ip4_name(a, ip, sizeof ip);
    port = ntohs(a->sin_port);
    snprintf(c->remote, sizeof c->remote, "%s:%u", ip, port);
  } else if (ss.ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
    memcpy(c->addr.b, &a->sin6_addr, 16);
    port = ntohs(a->sin6_port);
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(c->addr.b, v4mapped, 12) == 0) { /* shown as IPv4, as the QUIC side does */
      uv_inet_ntop(AF_INET, c->addr.b + 12, ip, sizeof ip);
      snprintf(c->remote, sizeof c->remote, "%s:%u", ip, port);
    } else {
      uv_ip6_name(a, ip, sizeof ip);
      snprintf(c->remote, sizeof c->remote, "[%s]:%u", ip, port);
    }
  } else {
    return;
  }
  c->addr.known = true;
}

static size_t conns_from(const moqc_http_server *s, const haddr *a) {
  size_t n = 0;
  if (!a->known) return 0;
  for (const hconn *it = s->conns; it; it = it->next)
    if (it->addr.known && memcmp(it->addr.b, a->b, sizeof a->b) == 0) n++;
  return n;
}

/* The connection that has waited longest for its request (so, the one closest
 * to its deadline), skipping except and any being answered; NULL if none. */
static hconn *oldest_waiting(moqc_http_server *s, const hconn *except) {
  hconn *best = NULL;
  uint64_t best_t = 0;
  for (hconn *it = s->conns; it; it = it->next) {
    /* An upgraded connection (WebSocket) is a live session, not a waiting
     * request: never evicted (it still counts towards both caps). */
    if (it == except || it->closing || it->writing || it->pending || it->up) continue;
    uint64_t t = it->head_first ? it->head_first : it->wait_start;
    if (!best || t < best_t) {
      best = it;
      best_t = t;
    }
  }
  return best;
}

static void on_connection(uv_stream_t *l, int status) {
  moqc_http_server *s = l->data;
  if (status < 0 || s->closing) return;
  size_t max = s->cfg.max_connections ? s->cfg.max_connections : 1024;
  size_t per = s->cfg.max_connections_per_addr ? s->cfg.max_connections_per_addr : 16;
  hconn *c = moqc_calloc(1, sizeof *c);
  if (!c) return;
  c->srv = s;
  uv_tcp_init(s->loop, &c->tcp);
  uv_timer_init(s->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->open = 2;
  s->handles += 2;
  c->next = s->conns;
  if (s->conns) s->conns->prev = c;
  s->conns = c;
  s->n_conns++;
  if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
    conn_close(c);
    return;
  }
  peer_of(c);
  if (conns_from(s, &c->addr) > per) { /* this one included */
    s->refused++;
    conn_close(c); /* over the per-address limit: accepted and dropped at once */
    return;
  }
  if (s->n_conns - s->n_up > max) { /* switched (101) connections do not count */
    hconn *victim = oldest_waiting(s, c);
    if (!victim) {
      s->refused++;
      conn_close(c); /* everything is being answered: drop the newcomer */
      return;
    }
    s->evicted++;
    conn_close(victim);
  }
  assert(s->n_conns - s->n_up <= max);
  start_wait(c);
  touch(c);
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* ---- deferred responses ---------------------------------------------------------------- */

moqc_http_pending *moqc_http_response_defer(moqc_http_response *resp, moqc_http_gone_fn gone,
                                            void *arg) {
  hconn *c = resp ? resp->server_private : NULL;
  if (!c || !gone || !c->in_route || c->deferred || c->closing) return NULL;
  moqc_http_pending *p = moqc_calloc(1, sizeof *p);
  if (!p) return NULL;
  p->c = c;
  p->gone = gone;
  p->arg = arg;
  c->pending = p;
  c->deferred = true;
  return p;
}

int moqc_http_pending_finish(moqc_http_pending *p, uint16_t status, const char *content_type,
                             const void *body, size_t len) {
  if (!p) return MOQC_ERR_INVAL;
  hconn *c = p->c;
  c->pending = NULL;
  moqc_free(p);
  /* No other request was routed meanwhile: route_head/route_close are still
   * those of the request this answers. */
  send_response(c, status, content_type, body, len, c->route_head, c->route_close);
  return MOQC_OK;
}

/* ---- upgraded connections ------------------------------------------------------------- */

/* Lingering close (RFC 6455 §7.1.1, RFC 9112 §9.6): once everything queued
 * is written, send our FIN and keep reading (and dropping) until the peer's
 * EOF or the 2 s timer. Closing with unread bytes makes the kernel answer
 * with a reset, and the peer would lose our close frame (e.g. 1009 after an
 * oversized message whose rest is still in flight). */
static void on_shut(uv_shutdown_t *req, int status) {
  (void)req; /* nothing to do: EOF or the timer ends the connection */
  (void)status;
}

static void linger(hconn *c) {
  assert(c->up && c->up->user_closed && c->up->pending == 0);
  if (c->closing || c->shut_started) return;
  c->shut_started = true;
  if (c->tls) { /* our close_notify before the FIN */
    if (c->srv->cfg.tls->bye) c->srv->cfg.tls->bye(c->tls);
    (void)tls_flush(c);
  }
  if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shut) != 0) conn_close(c);
}

typedef struct uwreq {
  uv_write_t req;
  hconn *c;
  size_t len;
  uint8_t *cipher; /* TLS: what was written */
  uint8_t data[];
} uwreq;

static void on_uwritten(uv_write_t *req, int status) {
  uwreq *w = (uwreq *)req;
  hconn *c = w->c;
  size_t len = w->len;
  moqc_free(w->cipher);
  moqc_free(w);
  moqc_http_upgraded *u = c->up;
  if (c->closing || !u) return;
  assert(u->pending >= len);
  u->pending -= len;
  if (status < 0) {
    conn_close(c);
    return;
  }
  if (u->pending == 0) {
    if (u->user_closed) {
      linger(c);
      return;
    }
    if (u->cbs.drained) u->cbs.drained(u->arg);
  }
}

static int uwrite(hconn *c, const void *p, size_t n) {
  moqc_http_upgraded *u = c->up;
  if (n == 0) return MOQC_OK;
  uwreq *w = moqc_malloc(sizeof *w + n);
  if (!w) return MOQC_ERR_NOMEM;
  w->c = c;
  w->len = n;
  w->cipher = NULL;
  memcpy(w->data, p, n);
  uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)n);
  if (conn_write(c, &w->req, &w->cipher, &b, 1, on_uwritten) != 0) {
    moqc_free(w->cipher);
    moqc_free(w);
    return MOQC_ERR_CLOSED;
  }
  u->pending += n;
  return MOQC_OK;
}

/* After the route callback chose to upgrade: queue the 101, then hand over. */
static void upgrade_switch(hconn *c) {
  moqc_http_upgraded *u = c->up;
  char hdr[1024];
  int hl = snprintf(hdr, sizeof hdr, "HTTP/1.1 101 Switching Protocols\r\n%s\r\n",
                    u->extra ? u->extra : "");
  moqc_free(u->extra);
  u->extra = NULL;
  if (hl < 0 || (size_t)hl >= sizeof hdr || uwrite(c, hdr, (size_t)hl) != MOQC_OK) {
    conn_close(c); /* not switched yet: no closed callback */
    return;
  }
  u->switched = true;
  c->srv->n_up++;
  c->body_left = 0;
  touch(c);
}

moqc_http_upgraded *moqc_http_response_upgrade(moqc_http_response *resp, const char *extra_headers,
                                               const moqc_http_upgrade_cbs *cbs, void *arg) {
  hconn *c = resp ? resp->server_private : NULL;
  if (!c || !cbs || !cbs->data || !c->in_route || c->deferred || c->up || c->closing) return NULL;
  moqc_http_upgraded *u = moqc_calloc(1, sizeof *u);
  if (!u) return NULL;
  u->extra = moqc_strdup(extra_headers ? extra_headers : "");
  if (!u->extra) {
    moqc_free(u);
    return NULL;
  }
  u->c = c;
  u->cbs = *cbs;
  u->arg = arg;
  _Static_assert(sizeof u->remote >= sizeof c->remote, "remote fits");
  memcpy(u->remote, c->remote, sizeof c->remote); /* peer_of: IPv4-mapped shown as IPv4 */
  c->up = u;
  return u;
}

int moqc_http_upgraded_write(moqc_http_upgraded *u, const uint8_t *p, size_t n) {
  if (!u || (!p && n)) return MOQC_ERR_INVAL;
  if (u->user_closed || u->c->closing) return MOQC_ERR_CLOSED;
  return uwrite(u->c, p, n);
}

size_t moqc_http_upgraded_pending(const moqc_http_upgraded *u) { return u ? u->pending : 0; }

const char *moqc_http_upgraded_remote(const moqc_http_upgraded *u) { return u ? u->remote : ""; }

void moqc_http_upgraded_close(moqc_http_upgraded *u) {
  if (!u || u->user_closed) return;
  u->user_closed = true;
  hconn *c = u->c;
  if (c->closing) return;
  if (!u->switched) {
    conn_close(c);
    return;
  }
  uv_timer_start(&c->timer, on_idle, 2000, 0); /* bound the flush and the linger */
  if (u->pending == 0) linger(c);
}

int moqc_http_pending_finish_slices(moqc_http_pending *p, uint16_t status, const char *content_type,
                                    moqc_slice *parts, size_t n) {
  if (!p || (n && !parts)) return MOQC_ERR_INVAL;
  moqc_slice *own = n ? moqc_calloc(n, sizeof *own) : NULL;
  if (own) memcpy(own, parts, n * sizeof *own); /* the references move */
  for (size_t i = 0; i < n; i++) {
    if (!own) moqc_slice_release(&parts[i]);
    parts[i] = (moqc_slice){0};
  }
  hconn *c = p->c;
  c->pending = NULL;
  moqc_free(p);
  if (n && !own) { /* out of memory: no answer, close */
    conn_close(c);
    return MOQC_OK;
  }
  send_response_parts(c, status, content_type, NULL, 0, own, n, c->route_head, c->route_close);
  return MOQC_OK;
}

/* ---- server --------------------------------------------------------------------------- */

int moqc_http_server_new(uv_loop_t *loop, const moqc_http_server_config *cfg,
                         moqc_http_server **out) {
  if (!loop || !cfg || !cfg->route || !out) return MOQC_ERR_INVAL;
  moqc_http_server *s = moqc_calloc(1, sizeof *s);
  if (!s) return MOQC_ERR_NOMEM;
  s->loop = loop;
  s->cfg = *cfg;
  *out = s;
  return MOQC_OK;
}

static void lst_closed(uv_handle_t *h) {
  moqc_http_server *s = h->data;
  moqc_free(h);
  s->handles--;
  srv_maybe_free(s);
}

int moqc_http_server_listen(moqc_http_server *s, const char *host, uint16_t port) {
  if (!s || !host || s->closing) return MOQC_ERR_INVAL;
  if (s->n_lst >= HTTP_MAX_LISTENERS) return MOQC_ERR_BOUNDS;
  struct sockaddr_storage ss;
  if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0 &&
      uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0)
    return MOQC_ERR_INVAL;
  uv_tcp_t *t = moqc_calloc(1, sizeof *t);
  if (!t) return MOQC_ERR_NOMEM;
  uv_tcp_init(s->loop, t);
  t->data = s;
  s->handles++;
  int rc = uv_tcp_bind(t, (const struct sockaddr *)&ss, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)t, 128, on_connection);
  if (rc != 0) {
    uv_close((uv_handle_t *)t, lst_closed);
    return MOQC_ERR_IO;
  }
  struct sockaddr_storage bound;
  int blen = sizeof bound;
  if (uv_tcp_getsockname(t, (struct sockaddr *)&bound, &blen) == 0)
    s->port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                          : ntohs(((struct sockaddr_in *)&bound)->sin_port);
  s->lst[s->n_lst++] = t;
  return MOQC_OK;
}

uint16_t moqc_http_server_port(const moqc_http_server *s) { return s ? s->port : 0; }

uint64_t moqc_http_server_limited(const moqc_http_server *s) {
  return s ? s->refused + s->evicted : 0;
}

void moqc_http_server_del(moqc_http_server *s) {
  if (!s || s->closing) return;
  s->closing = true;
  for (size_t i = 0; i < s->n_lst; i++) uv_close((uv_handle_t *)s->lst[i], lst_closed);
  s->n_lst = 0;
  while (s->conns) conn_close(s->conns);
  srv_maybe_free(s);
}
