/* moqc transport — a tiny HTTP/1.1 GET client over libuv TCP, and the dev
 * certificate bootstrap: GET http://host:port/certificate.sha256 -> the hex
 * SHA-256 of the server's certificate (what moq-dev clients do for http://
 * URLs before pinning the hash for WebTransport).
 *
 * The callback runs exactly once, always from the loop. Every address the
 * name resolves to is tried in turn (localhost may be ::1 or 127.0.0.1). */
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "core/mem.h"
#include "moqc/http.h"
#include "http1/http_parse.h"

#define GET_MAX_HEAD 16384
#define GET_MAX_BODY 65536

typedef struct hget {
  uv_loop_t *loop;
  uv_getaddrinfo_t gai;
  uv_connect_t conn;
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_write_t wr;
  struct addrinfo *ai, *next_ai;
  moqc_http_get_fn cb;
  void *ctx;
  char req[MOQC_HTTP_HOST_MAX + MOQC_HTTP_TARGET_MAX + 128];
  size_t req_len;
  uint8_t *buf;
  size_t len;
  int pending;   /* open handles + requests in flight */
  bool tcp_open; /* tcp handle initialised and not closed */
  bool retry;    /* connect to the next address once the tcp handle is closed */
  bool done;
} hget;

static void maybe_free(hget *g) {
  if (g->done && g->pending == 0) {
    if (g->ai) uv_freeaddrinfo(g->ai);
    moqc_free(g->buf);
    moqc_free(g);
  }
}

static void handle_closed(uv_handle_t *h) {
  hget *g = h->data;
  g->pending--;
  maybe_free(g);
}

static void connect_next(hget *g);

static void tcp_closed(uv_handle_t *h) {
  hget *g = h->data;
  g->pending--;
  if (!g->done && g->retry) { /* the handle is free again: next address */
    g->retry = false;
    connect_next(g);
  }
  maybe_free(g);
}

static void close_tcp(hget *g) {
  if (!g->tcp_open) return;
  g->tcp_open = false;
  uv_close((uv_handle_t *)&g->tcp, tcp_closed);
}

/* Report once, then tear everything down. */
static void finish(hget *g, int err, uint16_t status, const uint8_t *body, size_t len) {
  if (g->done) return;
  g->done = true;
  g->cb(g->ctx, err, status, body, len);
  close_tcp(g);
  uv_close((uv_handle_t *)&g->timer, handle_closed);
  maybe_free(g);
}

static void on_timeout(uv_timer_t *t) {
  hget *g = t->data;
  uv_cancel((uv_req_t *)&g->gai); /* harmless if it already ran */
  finish(g, MOQC_ERR_TIMEOUT, 0, NULL, 0);
}

/* Is the response complete? Reports it if so (or on EOF). */
static void try_complete(hget *g, bool eof) {
  moqc_http1_resp r;
  ssize_t h = moqc_http1_parse_response(&r, g->buf, g->len, GET_MAX_HEAD);
  if (h == MOQC_ERR_NEED_MORE) {
    if (eof) finish(g, MOQC_ERR_DECODE, 0, NULL, 0);
    return;
  }
  if (h < 0) {
    finish(g, h == MOQC_ERR_TOO_LARGE ? MOQC_ERR_TOO_LARGE : MOQC_ERR_DECODE, 0, NULL, 0);
    return;
  }
  size_t have = g->len - (size_t)h;
  const uint8_t *body = g->buf + h;
  if (r.chunked) {
    uint8_t *out = moqc_malloc(GET_MAX_BODY);
    if (!out) {
      finish(g, MOQC_ERR_NOMEM, 0, NULL, 0);
      return;
    }
    size_t ol = 0;
    ssize_t d = moqc_http1_dechunk(body, have, out, GET_MAX_BODY, &ol);
    if (d >= 0) finish(g, MOQC_OK, r.status, out, ol);
    else if (d != MOQC_ERR_NEED_MORE || eof)
      finish(g, d == MOQC_ERR_TOO_LARGE ? MOQC_ERR_TOO_LARGE : MOQC_ERR_DECODE, 0, NULL, 0);
    moqc_free(out);
  } else if (r.content_length >= 0) {
    if ((uint64_t)r.content_length > GET_MAX_BODY) finish(g, MOQC_ERR_TOO_LARGE, 0, NULL, 0);
    else if (have >= (size_t)r.content_length)
      finish(g, MOQC_OK, r.status, body, (size_t)r.content_length);
    else if (eof) finish(g, MOQC_ERR_DECODE, 0, NULL, 0);
  } else if (eof || r.status == 204 || r.status == 304) {
    finish(g, MOQC_OK, r.status, body, r.status == 204 || r.status == 304 ? 0 : have);
  }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  (void)suggested;
  hget *g = h->data;
  size_t cap = GET_MAX_HEAD + GET_MAX_BODY + 4096;
  if (!g->buf) g->buf = moqc_malloc(cap);
  if (!g->buf || g->len >= cap) {
    *b = uv_buf_init(NULL, 0);
    return;
  }
  *b = uv_buf_init((char *)g->buf + g->len, (unsigned)(cap - g->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void)b;
  hget *g = s->data;
  if (g->done) return;
  if (n == UV_EOF) {
    try_complete(g, true);
  } else if (n == UV_ENOBUFS) {
    finish(g, MOQC_ERR_TOO_LARGE, 0, NULL, 0);
  } else if (n < 0) {
    finish(g, MOQC_ERR_IO, 0, NULL, 0);
  } else {
    g->len += (size_t)n;
    try_complete(g, false);
  }
}

static void on_write(uv_write_t *w, int status) {
  hget *g = w->data;
  g->pending--;
  if (!g->done && status < 0) finish(g, MOQC_ERR_IO, 0, NULL, 0);
  maybe_free(g);
}

static void on_connect(uv_connect_t *c, int status) {
  hget *g = c->data;
  g->pending--;
  if (g->done) {
    maybe_free(g);
    return;
  }
  if (status < 0) { /* try the next address */
    g->retry = true;
    close_tcp(g);
    return;
  }
  uv_buf_t b = uv_buf_init(g->req, (unsigned)g->req_len);
  g->wr.data = g;
  if (uv_write(&g->wr, (uv_stream_t *)&g->tcp, &b, 1, on_write) != 0) {
    finish(g, MOQC_ERR_IO, 0, NULL, 0);
    return;
  }
  g->pending++;
  uv_read_start((uv_stream_t *)&g->tcp, on_alloc, on_read);
}

static void connect_next(hget *g) {
  while (g->next_ai) {
    struct addrinfo *a = g->next_ai;
    g->next_ai = a->ai_next;
    if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
    if (uv_tcp_init(g->loop, &g->tcp) != 0) break;
    g->tcp.data = g;
    g->tcp_open = true;
    g->pending++;
    g->conn.data = g;
    if (uv_tcp_connect(&g->conn, &g->tcp, a->ai_addr, on_connect) == 0) {
      g->pending++;
      return;
    }
    g->retry = true; /* continue from the close callback */
    close_tcp(g);
    return;
  }
  finish(g, MOQC_ERR_IO, 0, NULL, 0);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  hget *g = req->data;
  g->pending--;
  g->ai = res;
  if (g->done) {
    maybe_free(g);
    return;
  }
  if (status < 0 || !res) {
    finish(g, MOQC_ERR_IO, 0, NULL, 0);
    return;
  }
  g->next_ai = res;
  connect_next(g);
}

static bool text_ok(const char *s, size_t max) {
  size_t n = strlen(s);
  if (n == 0 || n >= max) return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) return false;
  return true;
}

int moqc_http_get(uv_loop_t *loop, const char *host, uint16_t port, const char *path,
                  uint64_t timeout_ms, moqc_http_get_fn cb, void *ctx) {
  if (!loop || !host || !path || !cb || path[0] != '/' || !text_ok(host, MOQC_HTTP_HOST_MAX) ||
      !text_ok(path, MOQC_HTTP_TARGET_MAX))
    return MOQC_ERR_INVAL;
  hget *g = moqc_calloc(1, sizeof *g);
  if (!g) return MOQC_ERR_NOMEM;
  g->loop = loop;
  g->cb = cb;
  g->ctx = ctx;
  /* IPv6 literals need brackets in Host. */
  bool v6 = strchr(host, ':') != NULL && host[0] != '[';
  int n = snprintf(g->req, sizeof g->req,
                   "GET %s HTTP/1.1\r\nHost: %s%s%s:%u\r\nAccept: */*\r\n"
                   "User-Agent: moqc\r\nConnection: close\r\n\r\n",
                   path, v6 ? "[" : "", host, v6 ? "]" : "", (unsigned)port);
  g->req_len = (size_t)n;
  char service[8];
  snprintf(service, sizeof service, "%u", (unsigned)port);
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  g->gai.data = g;
  const char *h = host;
  char unbr[MOQC_HTTP_HOST_MAX];
  size_t hl = strlen(host);
  if (host[0] == '[' && host[hl - 1] == ']') { /* "[::1]" -> "::1" */
    memcpy(unbr, host + 1, hl - 2);
    unbr[hl - 2] = '\0';
    h = unbr;
  }
  if (uv_getaddrinfo(loop, &g->gai, on_resolved, h, service, &hints) != 0) {
    moqc_free(g);
    return MOQC_ERR_IO;
  }
  g->pending++;
  uv_timer_init(loop, &g->timer);
  g->timer.data = g;
  g->pending++;
  uv_timer_start(&g->timer, on_timeout, timeout_ms ? timeout_ms : 10000, 0);
  return MOQC_OK;
}

/* ---- certificate bootstrap ------------------------------------------------------------ */

int moqc_http_parse_cert_hash(const char *body, size_t len, uint8_t out[32], char hex[65]) {
  if (!body || !out || !hex) return MOQC_ERR_INVAL;
  size_t s = 0, e = len;
  while (s < e && (body[s] == ' ' || body[s] == '\t' || body[s] == '\r' || body[s] == '\n')) s++;
  while (e > s &&
         (body[e - 1] == ' ' || body[e - 1] == '\t' || body[e - 1] == '\r' || body[e - 1] == '\n'))
    e--;
  if (e - s != 64) return MOQC_ERR_DECODE;
  for (size_t i = 0; i < 64; i++) {
    char c = body[s + i];
    int v = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (v < 0) return MOQC_ERR_DECODE;
    hex[i] = "0123456789abcdef"[v];
    if (i % 2 == 0) out[i / 2] = (uint8_t)(v << 4);
    else out[i / 2] = (uint8_t)(out[i / 2] | v);
  }
  hex[64] = '\0';
  return MOQC_OK;
}

typedef struct cert_req {
  moqc_http_cert_fn cb;
  void *ctx;
} cert_req;

static void on_cert(void *ctx, int err, uint16_t status, const uint8_t *body, size_t len) {
  cert_req *c = ctx;
  uint8_t sha[32];
  char hex[65];
  if (err == MOQC_OK && status != 200) err = MOQC_ERR_NOT_FOUND;
  if (err == MOQC_OK) err = moqc_http_parse_cert_hash((const char *)body, len, sha, hex);
  if (err == MOQC_OK) c->cb(c->ctx, MOQC_OK, hex, sha);
  else c->cb(c->ctx, err, NULL, NULL);
  moqc_free(c);
}

int moqc_http_fetch_cert_hash(uv_loop_t *loop, const char *host, uint16_t port, uint64_t timeout_ms,
                              moqc_http_cert_fn cb, void *ctx) {
  if (!cb) return MOQC_ERR_INVAL;
  cert_req *c = moqc_malloc(sizeof *c);
  if (!c) return MOQC_ERR_NOMEM;
  c->cb = cb;
  c->ctx = ctx;
  int rc = moqc_http_get(loop, host, port, "/certificate.sha256", timeout_ms, on_cert, c);
  if (rc != MOQC_OK) moqc_free(c);
  return rc;
}
