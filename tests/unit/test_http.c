/* Unit tests: src/http1/http_parse.c (pure), http_server.c and
 * http_client.c over loopback TCP with libuv: routing, the certificate
 * bootstrap, garbage (400), oversize heads (431), bodies, keep-alive
 * pipelining, the connection limit, idle timeouts, client timeouts and
 * refused connections, and that every handle is closed at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "moqc/http.h"
#include "http1/http_parse.h"

/* ---- pure parser ----------------------------------------------------------------------- */

static ssize_t preq(moqc_http1_req *r, const char *s) {
  return moqc_http1_parse_request(r, (const uint8_t *)s, strlen(s), 8192);
}

static void test_parse_request(void **state) {
  (void)state;
  moqc_http1_req r;
  const char *a = "GET /certificate.sha256 HTTP/1.1\r\nHost: localhost:4443\r\n\r\n";
  assert_int_equal(preq(&r, a), strlen(a));
  assert_string_equal(r.method, "GET");
  assert_string_equal(r.path, "/certificate.sha256");
  assert_false(r.has_query);
  assert_string_equal(r.host, "localhost:4443");
  assert_true(r.keep_alive);
  assert_int_equal(r.minor, 1);
  /* query, LF-only line ends, leading empty line, Connection: close */
  const char *b = "\r\nHEAD /health?x=1&y HTTP/1.1\nhost:h\nConnection: keep-alive, close\n\n";
  assert_int_equal(preq(&r, b), strlen(b));
  assert_string_equal(r.method, "HEAD");
  assert_string_equal(r.path, "/health");
  assert_true(r.has_query);
  assert_string_equal(r.query, "x=1&y");
  assert_false(r.keep_alive);
  /* HTTP/1.0 needs no Host and is not keep-alive by default */
  assert_true(preq(&r, "GET / HTTP/1.0\r\n\r\n") > 0);
  assert_false(r.keep_alive);
  assert_true(preq(&r, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n") > 0);
  assert_true(r.keep_alive);
  /* a body length */
  assert_true(preq(&r, "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\nbody") > 0);
  assert_int_equal(r.content_length, 12);
  /* incomplete */
  assert_int_equal(preq(&r, "GET / HTTP/1.1\r\nHost: h\r\n"), MOQC_ERR_NEED_MORE);
  assert_int_equal(preq(&r, ""), MOQC_ERR_NEED_MORE);
  /* malformed */
  const char *bad[] = {
      "GET  / HTTP/1.1\r\nHost: h\r\n\r\n",           /* double space */
      "GET / HTTP/1.1\r\n\r\n",                       /* 1.1 without Host */
      "GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n",    /* absolute form */
      "G(T / HTTP/1.1\r\nHost: h\r\n\r\n",            /* bad method */
      "GET / HTTP/1.1\r\nHost : h\r\n\r\n",           /* space before colon */
      "GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", /* obs-fold */
      "GET / HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n", /* two Hosts */
      "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\rx\r\n\r\n", /* bare CR */
      "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
      "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n",
      "GET / HTTX/1.1\r\nHost: h\r\n\r\n",
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
      "\x16\x03\x01\x02\x05\x01\x07\x01\xfc\x03\x03\r\n\r\n", /* TLS on the HTTP port */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_int_equal(preq(&r, bad[i]), MOQC_ERR_DECODE);
  assert_int_equal(preq(&r, "GET / HTTP/2.0\r\nHost: h\r\n\r\n"), MOQC_ERR_VERSION);
  /* too large: no end within max, or an end beyond max */
  char big[9000];
  memset(big, 'a', sizeof big);
  memcpy(big, "GET /", 5);
  big[sizeof big - 1] = '\0';
  assert_int_equal(preq(&r, big), MOQC_ERR_TOO_LARGE);
  assert_int_equal(moqc_http1_parse_request(&r, (const uint8_t *)a, strlen(a), 20),
                   MOQC_ERR_TOO_LARGE);
  /* many fields */
  char many[8192];
  size_t n = (size_t)snprintf(many, sizeof many, "GET / HTTP/1.1\r\nHost: h\r\n");
  for (int i = 0; i < 70; i++) n += (size_t)snprintf(many + n, sizeof many - n, "X-%d: v\r\n", i);
  snprintf(many + n, sizeof many - n, "\r\n");
  assert_int_equal(preq(&r, many), MOQC_ERR_DECODE);
}

static void test_parse_response_and_chunks(void **state) {
  (void)state;
  moqc_http1_resp r;
  const char *a = "HTTP/1.1 200 OK\r\nContent-Length: 64\r\ncontent-type: text/plain\r\n\r\n";
  assert_int_equal(moqc_http1_parse_response(&r, (const uint8_t *)a, strlen(a), 4096), strlen(a));
  assert_int_equal(r.status, 200);
  assert_int_equal(r.content_length, 64);
  assert_false(r.chunked);
  const char *b = "HTTP/1.0 404\nTransfer-Encoding: chunked\n\n";
  assert_int_equal(moqc_http1_parse_response(&r, (const uint8_t *)b, strlen(b), 4096), strlen(b));
  assert_int_equal(r.status, 404);
  assert_true(r.chunked);
  assert_int_equal(r.content_length, -1);
  const char *bad[] = {"HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 999 X\r\n\r\n",
                       "HTTP/1.1 200OK\r\n\r\n",
                       "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_int_equal(moqc_http1_parse_response(&r, (const uint8_t *)bad[i], strlen(bad[i]), 4096),
                     MOQC_ERR_DECODE);

  uint8_t out[64];
  size_t ol = 0;
  const char *c = "4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nTrailer: x\r\n\r\n";
  assert_int_equal(moqc_http1_dechunk((const uint8_t *)c, strlen(c), out, sizeof out, &ol),
                   strlen(c));
  assert_int_equal(ol, 9);
  assert_memory_equal(out, "Wikipedia", 9);
  for (size_t cut = 0; cut < strlen(c); cut++)
    assert_int_equal(moqc_http1_dechunk((const uint8_t *)c, cut, out, sizeof out, &ol),
                     MOQC_ERR_NEED_MORE);
  assert_int_equal(moqc_http1_dechunk((const uint8_t *)"zz\r\n", 4, out, sizeof out, &ol),
                   MOQC_ERR_DECODE);
  assert_int_equal(moqc_http1_dechunk((const uint8_t *)"41\r\n", 4, out, sizeof out, &ol),
                   MOQC_ERR_TOO_LARGE);
  assert_int_equal(moqc_http1_dechunk((const uint8_t *)"1\r\nab\r\n", 7, out, sizeof out, &ol),
                   MOQC_ERR_DECODE);
}

static const char k_hex[] = "3b1f0c9d2e4a5b6c7d8e9f00112233445566778899aabbccddeeff0011223344";

static void test_cert_hash_parse(void **state) {
  (void)state;
  uint8_t sha[32];
  char hex[65];
  assert_int_equal(moqc_http_parse_cert_hash(k_hex, 64, sha, hex), MOQC_OK);
  assert_string_equal(hex, k_hex);
  assert_int_equal(sha[0], 0x3b);
  assert_int_equal(sha[31], 0x44);
  char up[80];
  snprintf(up, sizeof up, "  %s\r\n",
           "3B1F0C9D2E4A5B6C7D8E9F00112233445566778899AABBCCDDEEFF0011223344");
  assert_int_equal(moqc_http_parse_cert_hash(up, strlen(up), sha, hex), MOQC_OK);
  assert_string_equal(hex, k_hex); /* lower-cased */
  assert_int_equal(moqc_http_parse_cert_hash(k_hex, 63, sha, hex), MOQC_ERR_DECODE);
  char colons[] = "3b:1f";
  assert_int_equal(moqc_http_parse_cert_hash(colons, strlen(colons), sha, hex), MOQC_ERR_DECODE);
  char bad[65];
  memcpy(bad, k_hex, 65);
  bad[10] = 'g';
  assert_int_equal(moqc_http_parse_cert_hash(bad, 64, sha, hex), MOQC_ERR_DECODE);
}

/* ---- loopback ---------------------------------------------------------------------------- */

typedef struct world {
  uv_loop_t loop;
  moqc_http_server *srv;
  int routed;
  moqc_http_pending *pend; /* /later: the deferred response */
  int gone;                /* gone callbacks */
  bool gone_flag, routed_flag;
} world;

static void on_gone(void *arg, moqc_http_pending *p) {
  world *w = arg;
  assert_ptr_equal(p, w->pend);
  w->pend = NULL;
  w->gone++;
  w->gone_flag = true;
}

static void up_data(void *arg, const uint8_t *p, size_t n) { (void)arg, (void)p, (void)n; }

static void route(void *ctx, const moqc_http_request *req, moqc_http_response *resp) {
  world *w = ctx;
  static const moqc_http_upgrade_cbs up_cbs = {up_data, NULL, NULL};
  w->routed++;
  w->routed_flag = true;
  assert_non_null(req->remote);
  assert_int_equal(strncmp(req->remote, "127.0.0.1:", 10), 0); /* the peer, port included */
  if (strcmp(req->path, "/certificate.sha256") == 0) {
    resp->status = 200;
    resp->body = k_hex;
    resp->body_len = 64;
  } else if (strcmp(req->path, "/health") == 0) {
    resp->status = 200;
    resp->body = req->query ? req->query : "ok";
    resp->body_len = strlen(resp->body);
  } else if (strcmp(req->path, "/later") == 0) {
    w->pend = moqc_http_response_defer(resp, on_gone, w);
    assert_non_null(w->pend);
    assert_null(moqc_http_response_defer(resp, on_gone, w)); /* once */
    if (req->query && strcmp(req->query, "now") == 0) {      /* finished inside the callback */
      assert_int_equal(moqc_http_pending_finish(w->pend, 201, NULL, "now", 3), MOQC_OK);
      w->pend = NULL;
    }
  } else if (strcmp(req->path, "/up") == 0) {
    assert_non_null(moqc_http_response_upgrade(resp, "Upgrade: x\r\n", &up_cbs, w));
  } else if (strcmp(req->path, "/slices") == 0) { /* a body of two slices, by reference */
    moqc_http_pending *p = moqc_http_response_defer(resp, on_gone, w);
    assert_non_null(p);
    moqc_buf *b = moqc_buf_copy("hello, world", 12);
    assert_non_null(b);
    moqc_slice parts[2];
    assert_int_equal(moqc_slice_make(&parts[0], b, 0, 5), MOQC_OK);
    assert_int_equal(moqc_slice_make(&parts[1], b, 7, 5), MOQC_OK);
    moqc_buf_unref(b); /* the slices hold it */
    assert_int_equal(moqc_http_pending_finish_slices(NULL, 200, NULL, parts, 2), MOQC_ERR_INVAL);
    assert_int_equal(moqc_http_pending_finish_slices(p, 200, "x/y", parts, 2), MOQC_OK);
    assert_null(parts[0].buf); /* the references moved */
    assert_null(parts[1].buf);
  } else if (strcmp(req->path, "/badhash") == 0) {
    resp->status = 200;
    resp->body = "not a hash";
    resp->body_len = 10;
  }
}

static uint16_t start(world *w, const moqc_http_server_config *extra) {
  assert_int_equal(uv_loop_init(&w->loop), 0);
  moqc_http_server_config cfg = {.route = route, .ctx = w, .keep_alive = true, .cors = true};
  if (extra) {
    cfg = *extra;
    cfg.route = route;
    cfg.ctx = w;
  }
  assert_int_equal(moqc_http_server_new(&w->loop, &cfg, &w->srv), MOQC_OK);
  assert_int_equal(moqc_http_server_listen(w->srv, "127.0.0.1", 0), MOQC_OK);
  uint16_t port = moqc_http_server_port(w->srv);
  assert_true(port > 0);
  return port;
}

static void on_guard(uv_timer_t *t) { *(bool *)t->data = true; }

/* Run the loop until *flag or ms elapsed. */
static void run_until(uv_loop_t *loop, const bool *flag, uint64_t ms) {
  bool expired = false;
  uv_timer_t guard;
  uv_timer_init(loop, &guard);
  guard.data = &expired;
  uv_timer_start(&guard, on_guard, ms, 0);
  while (!*flag && !expired) uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&guard, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
}

static void finish(world *w) {
  moqc_http_server_del(w->srv);
  uv_run(&w->loop, UV_RUN_DEFAULT); /* returns once every handle is closed */
  assert_int_equal(uv_loop_close(&w->loop), 0);
}

typedef struct got {
  bool done;
  int err;
  uint16_t status;
  char body[256];
  size_t len;
  char hex[65];
} got;

static void on_get(void *ctx, int err, uint16_t status, const uint8_t *body, size_t len) {
  got *g = ctx;
  assert_false(g->done);
  g->done = true;
  g->err = err;
  g->status = status;
  g->len = len < sizeof g->body ? len : sizeof g->body - 1;
  if (body) memcpy(g->body, body, g->len);
  g->body[g->len] = '\0';
}

static void on_cert(void *ctx, int err, const char *hex, const uint8_t *sha) {
  got *g = ctx;
  assert_false(g->done);
  g->done = true;
  g->err = err;
  if (hex) {
    memcpy(g->hex, hex, 65);
    assert_int_equal(sha[0], 0x3b);
  }
}

static void test_loopback_get(void **state) {
  (void)state;
  world w = {0};
  uint16_t port = start(&w, NULL);
  got g = {0};
  assert_int_equal(moqc_http_fetch_cert_hash(&w.loop, "127.0.0.1", port, 2000, on_cert, &g),
                   MOQC_OK);
  assert_false(g.done); /* never from inside the call */
  run_until(&w.loop, &g.done, 3000);
  assert_int_equal(g.err, MOQC_OK);
  assert_string_equal(g.hex, k_hex);
  /* "localhost" may resolve to ::1 first: the client falls back */
  memset(&g, 0, sizeof g);
  assert_int_equal(moqc_http_fetch_cert_hash(&w.loop, "localhost", port, 2000, on_cert, &g),
                   MOQC_OK);
  run_until(&w.loop, &g.done, 3000);
  assert_int_equal(g.err, MOQC_OK);
  memset(&g, 0, sizeof g);
  assert_int_equal(moqc_http_get(&w.loop, "127.0.0.1", port, "/health?ping", 2000, on_get, &g),
                   MOQC_OK);
  run_until(&w.loop, &g.done, 3000);
  assert_int_equal(g.err, MOQC_OK);
  assert_int_equal(g.status, 200);
  assert_string_equal(g.body, "ping");
  memset(&g, 0, sizeof g);
  moqc_http_get(&w.loop, "127.0.0.1", port, "/missing", 2000, on_get, &g);
  run_until(&w.loop, &g.done, 3000);
  assert_int_equal(g.status, 404);
  memset(&g, 0, sizeof g);
  moqc_http_fetch_cert_hash(&w.loop, "127.0.0.1", port, 2000, on_cert, &g);
  run_until(&w.loop, &g.done, 3000);
  assert_int_equal(g.err, MOQC_OK);
  /* a non-200 or a body that is not a hash */
  w.routed = 0;
  memset(&g, 0, sizeof g);
  assert_int_equal(moqc_http_get(&w.loop, "127.0.0.1", port, "/badhash", 2000, on_get, &g),
                   MOQC_OK);
  run_until(&w.loop, &g.done, 3000);
  assert_string_equal(g.body, "not a hash");
  assert_int_equal(moqc_http_get(&w.loop, "bad host", port, "/", 100, on_get, &g), MOQC_ERR_INVAL);
  assert_int_equal(moqc_http_get(&w.loop, "h", port, "nopath", 100, on_get, &g), MOQC_ERR_INVAL);
  finish(&w);
}

static void ignore_connection(uv_stream_t *l, int status) { (void)l, (void)status; }

static void test_client_failures(void **state) {
  (void)state;
  world w = {0};
  uint16_t port = start(&w, NULL);
  moqc_http_server_del(w.srv); /* nobody listens on port any more */
  w.srv = NULL;
  got g = {0};
  assert_int_equal(moqc_http_get(&w.loop, "127.0.0.1", port, "/", 2000, on_get, &g), MOQC_OK);
  run_until(&w.loop, &g.done, 3000);
  assert_int_equal(g.err, MOQC_ERR_IO);
  /* a listener that never answers: timeout */
  uv_tcp_t silent;
  uv_tcp_init(&w.loop, &silent);
  struct sockaddr_in sa;
  uv_ip4_addr("127.0.0.1", 0, &sa);
  assert_int_equal(uv_tcp_bind(&silent, (const struct sockaddr *)&sa, 0), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&silent, 8, ignore_connection), 0);
  int sl = sizeof sa;
  uv_tcp_getsockname(&silent, (struct sockaddr *)&sa, &sl);
  memset(&g, 0, sizeof g);
  assert_int_equal(moqc_http_get(&w.loop, "127.0.0.1", ntohs(sa.sin_port), "/", 200, on_get, &g),
                   MOQC_OK);
  run_until(&w.loop, &g.done, 3000);
  assert_int_equal(g.err, MOQC_ERR_TIMEOUT);
  uv_close((uv_handle_t *)&silent, NULL);
  uv_run(&w.loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&w.loop), 0);
}

/* ---- raw TCP peer for malformed requests -------------------------------------------------- */

typedef struct raw {
  uv_tcp_t tcp;
  uv_connect_t conn;
  uv_write_t wr;
  const char *out;
  size_t out_len;
  char in[8192];
  size_t in_len;
  bool eof;
  bool closed;
} raw;

static void raw_alloc(uv_handle_t *h, size_t s, uv_buf_t *b) {
  (void)s;
  raw *r = h->data;
  *b = uv_buf_init(r->in + r->in_len, (unsigned)(sizeof r->in - 1 - r->in_len));
}
static void raw_closed(uv_handle_t *h) { ((raw *)h->data)->closed = true; }
static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void)b;
  raw *r = s->data;
  if (n < 0) {
    r->eof = true;
    uv_close((uv_handle_t *)&r->tcp, raw_closed);
    return;
  }
  r->in_len += (size_t)n;
  r->in[r->in_len] = '\0';
}
static void raw_written(uv_write_t *w, int st) { (void)w, (void)st; }
static void raw_connected(uv_connect_t *c, int st) {
  raw *r = c->data;
  assert_int_equal(st, 0);
  uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read);
  if (r->out_len) {
    uv_buf_t b = uv_buf_init((char *)r->out, (unsigned)r->out_len);
    uv_write(&r->wr, (uv_stream_t *)&r->tcp, &b, 1, raw_written);
  }
}

static void raw_start(world *w, raw *r, uint16_t port, const char *out, size_t len) {
  memset(r, 0, sizeof *r);
  r->out = out;
  r->out_len = len;
  uv_tcp_init(&w->loop, &r->tcp);
  r->tcp.data = r;
  r->conn.data = r;
  struct sockaddr_in sa;
  uv_ip4_addr("127.0.0.1", port, &sa);
  assert_int_equal(uv_tcp_connect(&r->conn, &r->tcp, (const struct sockaddr *)&sa, raw_connected),
                   0);
}

static void raw_exchange(world *w, uint16_t port, const char *out, size_t len, raw *r) {
  raw_start(w, r, port, out, len);
  run_until(&w->loop, &r->closed, 3000);
  assert_true(r->eof);
}

static int status_of(const raw *r) {
  unsigned st = 0;
  if (sscanf(r->in, "HTTP/1.1 %u", &st) != 1) return -1;
  return (int)st;
}

static void test_server_robustness(void **state) {
  (void)state;
  world w = {0};
  moqc_http_server_config cfg = {.keep_alive = true,
                                 .max_connections = 2,
                                 .max_connections_per_addr = 2,
                                 .idle_timeout_ms = 300,
                                 .head_timeout_ms = 300,
                                 .cors = true};
  uint16_t port = start(&w, &cfg);
  raw r;
  static const char garbage[] = "\x00\x01\x02 junk junk\r\n\r\n";
  raw_exchange(&w, port, garbage, sizeof garbage - 1, &r);
  assert_int_equal(status_of(&r), 400);
  raw_exchange(&w, port, "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11, &r); /* TLS */
  assert_int_equal(r.in_len, 0); /* no end of head: the head deadline closes it */
  static char huge[12000];
  memset(huge, 'x', sizeof huge);
  memcpy(huge, "GET / HTTP/1.1\r\nX: ", 19);
  raw_exchange(&w, port, huge, sizeof huge, &r);
  assert_int_equal(status_of(&r), 431);
  static const char v2[] = "GET / HTTP/2.0\r\nHost: h\r\n\r\n";
  raw_exchange(&w, port, v2, sizeof v2 - 1, &r);
  assert_int_equal(status_of(&r), 505);
  static const char big_body[] = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9999999\r\n\r\n";
  raw_exchange(&w, port, big_body, sizeof big_body - 1, &r);
  assert_int_equal(status_of(&r), 413);
  /* keep-alive: a pipelined pair with a body in between, then close */
  static const char pipe[] =
      "GET /health HTTP/1.1\r\nHost: h\r\n\r\n"
      "POST /health?b HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd"
      "HEAD /certificate.sha256 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  raw_exchange(&w, port, pipe, sizeof pipe - 1, &r);
  const char *p1 = strstr(r.in, "HTTP/1.1 200 OK");
  assert_non_null(p1);
  assert_non_null(strstr(r.in, "\r\n\r\nok"));
  assert_non_null(strstr(r.in, "\r\n\r\nb"));
  assert_non_null(strstr(r.in, "Access-Control-Allow-Origin: *"));
  assert_non_null(strstr(r.in, "Content-Length: 64\r\n"));
  assert_null(strstr(r.in, k_hex)); /* HEAD: no body */
  assert_non_null(strstr(r.in, "Connection: close"));
  /* per-address limit: the third concurrent connection is dropped at once */
  raw a, b, c;
  raw_start(&w, &a, port, "GET", 3);
  raw_start(&w, &b, port, "GET", 3);
  run_until(&w.loop, &a.closed, 50);
  raw_start(&w, &c, port, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 27);
  run_until(&w.loop, &c.closed, 3000);
  assert_true(c.eof);
  assert_int_equal(c.in_len, 0);
  run_until(&w.loop, &b.closed, 3000); /* idle timeout */
  run_until(&w.loop, &a.closed, 3000);
  assert_true(a.eof && b.eof);
  finish(&w);
}

/* ---- limits against slow clients (slowloris) ---------------------------------------------- */

typedef struct trickle {
  raw *r;
  uv_timer_t t;
} trickle;

static void trickle_written(uv_write_t *w, int st) {
  (void)st;
  free(w);
}

/* One more header line every 50 ms: the head never ends, bytes keep coming. */
static void trickle_tick(uv_timer_t *t) {
  trickle *k = t->data;
  if (k->r->closed || k->r->eof) return;
  static char line[] = "X-Slow: y\r\n";
  uv_write_t *w = malloc(sizeof *w);
  assert_non_null(w);
  uv_buf_t b = uv_buf_init(line, sizeof line - 1);
  if (uv_write(w, (uv_stream_t *)&k->r->tcp, &b, 1, trickle_written) != 0) free(w);
}

/* The request head has a fixed deadline (bytes trickling in do not extend it);
 * a server that is full closes the connection that waited longest for its
 * request to serve a new one; the per-address cap refuses the newcomer. */
static void test_server_limits(void **state) {
  (void)state;
  world w = {0};
  moqc_http_server_config cfg = {.keep_alive = true,
                                 .max_connections = 2,
                                 .max_connections_per_addr = 8,
                                 .idle_timeout_ms = 5000,
                                 .head_timeout_ms = 300};
  uint16_t port = start(&w, &cfg);
  static const char part[] = "GET / HTTP/1.1\r\nHost: h\r\n";
  raw a;
  raw_start(&w, &a, port, part, sizeof part - 1);
  trickle k = {.r = &a};
  uv_timer_init(&w.loop, &k.t);
  k.t.data = &k;
  uv_timer_start(&k.t, trickle_tick, 50, 50);
  uint64_t t0 = uv_now(&w.loop);
  run_until(&w.loop, &a.closed, 3000);
  uint64_t took = uv_now(&w.loop) - t0;
  uv_close((uv_handle_t *)&k.t, NULL);
  assert_true(a.eof);
  assert_int_equal(a.in_len, 0);
  assert_true(took >= 250 && took < 1500); /* the head deadline, not the 5 s idle timeout */

  /* Full (2): a third client evicts the one that has waited longest (a). */
  raw b, c;
  raw_start(&w, &a, port, part, sizeof part - 1);
  run_until(&w.loop, &a.closed, 30);
  raw_start(&w, &b, port, "GE", 2);
  run_until(&w.loop, &b.closed, 30);
  static const char full[] = "GET /health HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  raw_start(&w, &c, port, full, sizeof full - 1);
  run_until(&w.loop, &c.closed, 3000);
  assert_int_equal(status_of(&c), 200);
  run_until(&w.loop, &a.closed, 3000);
  assert_true(a.eof);
  assert_int_equal(a.in_len, 0);
  assert_false(b.closed); /* the younger one stays */
  assert_true(moqc_http_server_limited(w.srv) >= 1);
  uv_close((uv_handle_t *)&b.tcp, raw_closed);
  run_until(&w.loop, &b.closed, 3000);
  finish(&w);
}

/* Deferred responses: finished later (the idle timeout is suspended meanwhile,
 * pipelined requests wait), finished inside the callback, the client leaving
 * while it waits, the server deleted while it waits. */
static void test_deferred(void **state) {
  (void)state;
  world w = {0};
  moqc_http_server_config cfg = {.keep_alive = true, .idle_timeout_ms = 200};
  uint16_t port = start(&w, &cfg);
  assert_null(moqc_http_response_defer(NULL, on_gone, &w));
  assert_int_equal(moqc_http_pending_finish(NULL, 200, NULL, NULL, 0), MOQC_ERR_INVAL);
  static const char two[] =
      "GET /later HTTP/1.1\r\nHost: h\r\n\r\n"
      "GET /health HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  raw r;
  raw_start(&w, &r, port, two, sizeof two - 1);
  run_until(&w.loop, &r.closed, 600); /* 3 idle timeouts */
  assert_false(r.closed);
  assert_int_equal(r.in_len, 0);
  assert_non_null(w.pend);
  assert_int_equal(w.routed, 1); /* the pipelined /health waits */
  assert_int_equal(moqc_http_pending_finish(w.pend, 200, "text/x", "late", 4), MOQC_OK);
  w.pend = NULL;
  run_until(&w.loop, &r.closed, 3000);
  assert_true(r.eof);
  const char *late = strstr(r.in, "\r\n\r\nlate");
  assert_non_null(late);
  assert_non_null(strstr(r.in, "Content-Type: text/x"));
  assert_non_null(strstr(late, "HTTP/1.1 200 OK"));
  assert_non_null(strstr(late, "\r\n\r\nok"));
  assert_int_equal(w.routed, 2);
  assert_int_equal(w.gone, 0);

  static const char sl[] =
      "GET /slices HTTP/1.1\r\nHost: h\r\n\r\n"
      "HEAD /slices HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  raw_exchange(&w, port, sl, sizeof sl - 1, &r);
  assert_int_equal(status_of(&r), 200);
  const char *body = strstr(r.in, "Content-Length: 10\r\n");
  assert_non_null(body);
  body = strstr(body, "\r\n\r\nhelloworldHTTP/1.1 200 OK"); /* then the HEAD answer */
  assert_non_null(body);
  assert_non_null(strstr(body + 4, "Content-Length: 10\r\n"));
  assert_null(strstr(body + 14, "helloworld")); /* HEAD: no body */

  static const char now[] = "GET /later?now HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  raw_exchange(&w, port, now, sizeof now - 1, &r);
  assert_int_equal(status_of(&r), 201);
  assert_non_null(strstr(r.in, "\r\n\r\nnow"));
  assert_int_equal(w.gone, 0);

  /* The client closes while its response is deferred: gone, nothing sent. */
  static const char one[] = "GET /later HTTP/1.1\r\nHost: h\r\n\r\n";
  int routed = w.routed;
  w.routed_flag = false;
  raw_start(&w, &r, port, one, sizeof one - 1);
  run_until(&w.loop, &w.routed_flag, 3000);
  assert_int_equal(w.routed, routed + 1);
  assert_non_null(w.pend);
  uv_close((uv_handle_t *)&r.tcp, raw_closed);
  w.gone_flag = false;
  run_until(&w.loop, &w.gone_flag, 3000);
  assert_int_equal(w.gone, 1);
  assert_null(w.pend);

  /* The server is deleted while a response is deferred. */
  routed = w.routed;
  w.routed_flag = false;
  raw_start(&w, &r, port, one, sizeof one - 1);
  run_until(&w.loop, &w.routed_flag, 3000);
  assert_int_equal(w.routed, routed + 1);
  assert_non_null(w.pend);
  moqc_http_server_del(w.srv);
  assert_int_equal(w.gone, 2); /* from inside the call */
  run_until(&w.loop, &r.closed, 3000);
  assert_true(r.eof);
  assert_int_equal(r.in_len, 0);
  uv_run(&w.loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&w.loop), 0);
}

/* A switched (101) connection does not count against max_connections. */
static void test_upgraded_not_counted(void **state) {
  (void)state;
  world w = {0};
  moqc_http_server_config cfg = {.keep_alive = true, .max_connections = 1, .idle_timeout_ms = 2000};
  uint16_t port = start(&w, &cfg);
  raw a, b;
  static const char up[] = "GET /up HTTP/1.1\r\nHost: h\r\n\r\n";
  raw_start(&w, &a, port, up, sizeof up - 1);
  for (int i = 0; i < 300 && !strstr(a.in, "\r\n\r\n"); i++) run_until(&w.loop, &a.closed, 10);
  assert_int_equal(status_of(&a), 101);
  assert_false(a.closed);
  static const char get[] = "GET /health HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  raw_exchange(&w, port, get, sizeof get - 1, &b); /* dropped at once if a still counted */
  assert_int_equal(status_of(&b), 200);
  assert_false(a.closed);
  finish(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_request),        cmocka_unit_test(test_parse_response_and_chunks),
      cmocka_unit_test(test_cert_hash_parse),      cmocka_unit_test(test_loopback_get),
      cmocka_unit_test(test_client_failures),      cmocka_unit_test(test_server_robustness),
      cmocka_unit_test(test_upgraded_not_counted), cmocka_unit_test(test_deferred),
      cmocka_unit_test(test_server_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
