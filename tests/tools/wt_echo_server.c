/* A WebTransport + raw QUIC echo server for transport tests with a real browser.
 *
 * Contract (tests/interop/run.mjs --mode wt-echo):
 *   - each bidi stream's bytes are echoed back on the same stream, then FIN;
 *   - for each client uni stream, once it ends, the server opens a uni stream
 *     carrying the same bytes;
 *   - datagrams are echoed.
 * The WebTransport sub-protocol is chosen from the client's list among
 * --protocol values (default: moq-lite-05, moq-lite-04, moq-lite-03, echo).
 * Prints "port=<udp port> fingerprint=<hex>" on stdout once listening, then
 * serves until --seconds have passed (default 60) or SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "moqc/error.h"
#include "moqc/quic.h"
#include "moqc/webtransport.h"

#define MAX_UNI 64
#define MAX_UNI_BYTES (1 << 20)

typedef struct echo_conn {
  moqc_transport *t;
  struct {
    int64_t id;
    uint8_t *buf;
    size_t len;
  } uni[MAX_UNI];
} echo_conn;

static uv_loop_t *g_loop;
static moqc_quic_server *g_server;
static uv_timer_t g_deadline;
static uv_signal_t g_sigterm, g_sigint;

static void write_copy(moqc_transport *t, int64_t id, const uint8_t *p, size_t len, bool fin) {
  moqc_slice s = MOQC_SLICE_EMPTY;
  if (len) {
    moqc_buf *b = moqc_buf_copy(p, len);
    if (!b) return;
    moqc_slice_make(&s, b, 0, len);
    moqc_buf_unref(b);
  }
  t->ops->write(t, id, &s, len ? 1 : 0, fin);
  moqc_slice_release(&s);
}

static void on_data(void *ctx, int64_t id, const uint8_t *p, size_t len, bool fin) {
  echo_conn *c = ctx;
  if (!MOQC_STREAM_IS_UNI(id)) {
    write_copy(c->t, id, p, len, fin);
    return;
  }
  for (int i = 0; i < MAX_UNI; i++) {
    if (c->uni[i].buf && c->uni[i].id != id) continue;
    if (!c->uni[i].buf) {
      c->uni[i].id = id;
      c->uni[i].buf = malloc(MAX_UNI_BYTES);
      c->uni[i].len = 0;
      if (!c->uni[i].buf) return;
    }
    size_t n = len;
    if (n > MAX_UNI_BYTES - c->uni[i].len) n = MAX_UNI_BYTES - c->uni[i].len;
    if (n) memcpy(c->uni[i].buf + c->uni[i].len, p, n);
    c->uni[i].len += n;
    if (fin) {
      int64_t out;
      if (c->t->ops->open_stream(c->t, false, &out) == MOQC_OK)
        write_copy(c->t, out, c->uni[i].buf, c->uni[i].len, true);
      free(c->uni[i].buf);
      c->uni[i].buf = NULL;
    }
    return;
  }
}

static void on_datagram(void *ctx, const uint8_t *p, size_t len) {
  echo_conn *c = ctx;
  c->t->ops->send_datagram(c->t, p, len);
}

static void on_closed(void *ctx, uint64_t code, const char *reason, bool by_peer) {
  echo_conn *c = ctx;
  fprintf(stderr, "wt_echo: session closed code=%llu reason=%s by_peer=%d\n",
          (unsigned long long)code, reason ? reason : "", by_peer);
  for (int i = 0; i < MAX_UNI; i++) free(c->uni[i].buf);
  c->t->ops->release(c->t);
  free(c);
}

static const moqc_transport_handler k_handler = {
    .stream_data = on_data,
    .datagram = on_datagram,
    .closed = on_closed,
};

static void serve(moqc_transport *t) {
  echo_conn *c = calloc(1, sizeof *c);
  if (!c) {
    t->ops->release(t);
    return;
  }
  c->t = t;
  fprintf(stderr, "wt_echo: session protocol=%s path=%s webtransport=%d\n", t->protocol,
          t->path ? t->path : "", t->webtransport);
  moqc_transport_set_handler(t, &k_handler, c);
}

static void on_wt_session(void *ctx, moqc_transport *t) {
  (void)ctx;
  serve(t);
}

static const char *g_protocols[16];
static size_t g_nprotocols;

static void on_connection(void *ctx, moqc_transport *conn) {
  (void)ctx;
  if (strcmp(conn->protocol, "h3") != 0) {
    serve(conn); /* raw QUIC: echo directly */
    return;
  }
  moqc_wt_server_config wc = {
      .protocols = g_protocols,
      .n_protocols = g_nprotocols,
      .on_session = on_wt_session,
  };
  if (moqc_wt_server_attach(conn, &wc) != MOQC_OK) conn->ops->release(conn);
}

static void stop(void) {
  uv_timer_stop(&g_deadline);
  uv_close((uv_handle_t *)&g_deadline, NULL);
  uv_close((uv_handle_t *)&g_sigterm, NULL);
  uv_close((uv_handle_t *)&g_sigint, NULL);
  moqc_quic_server_del(g_server);
}
static void on_deadline(uv_timer_t *t) {
  (void)t;
  stop();
}
static void on_signal(uv_signal_t *s, int sig) {
  (void)s;
  (void)sig;
  stop();
}

int main(int argc, char **argv) {
  unsigned seconds = 60;
  const char *host = "::";
  unsigned port = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = (unsigned)atoi(argv[++i]);
    else if (!strcmp(argv[i], "--port") && i + 1 < argc) port = (unsigned)atoi(argv[++i]);
    else if (!strcmp(argv[i], "--host") && i + 1 < argc) host = argv[++i];
    else if (!strcmp(argv[i], "--protocol") && i + 1 < argc && g_nprotocols < 16)
      g_protocols[g_nprotocols++] = argv[++i];
    else {
      fprintf(stderr,
              "usage: wt_echo_server [--host H] [--port P] [--seconds N] [--protocol P]...\n");
      return 2;
    }
  }
  if (!g_nprotocols) {
    static const char *const def[] = {"moq-lite-05", "moq-lite-04", "moq-lite-03", "echo"};
    for (size_t i = 0; i < 4; i++) g_protocols[g_nprotocols++] = def[i];
  }
  g_loop = uv_default_loop();
  const char *hosts[] = {"localhost"};
  moqc_cert *cert = NULL;
  int rv = moqc_cert_self_signed(hosts, 1, &cert);
  if (rv != MOQC_OK) {
    fprintf(stderr, "wt_echo: certificate: %s\n", moqc_err_str(rv));
    return 1;
  }
  static const char *const alpn[] = {"h3", "moq-lite-05", "moq-lite-04", "moq-lite-03", "echo"};
  moqc_quic_server_config qc = {
      .host = host,
      .port = (uint16_t)port,
      .alpn = alpn,
      .alpn_count = 5,
      .cert = cert,
      .on_connection = on_connection,
  };
  rv = moqc_quic_server_new(g_loop, &qc, &g_server);
  if (rv != MOQC_OK) {
    fprintf(stderr, "wt_echo: listen: %s\n", moqc_err_str(rv));
    moqc_cert_unref(cert);
    return 1;
  }
  printf("port=%u fingerprint=%s\n", moqc_quic_server_port(g_server), moqc_cert_fingerprint(cert));
  fflush(stdout);
  moqc_cert_unref(cert);
  uv_timer_init(g_loop, &g_deadline);
  uv_timer_start(&g_deadline, on_deadline, (uint64_t)seconds * 1000, 0);
  uv_signal_init(g_loop, &g_sigterm);
  uv_signal_start(&g_sigterm, on_signal, SIGTERM);
  uv_signal_init(g_loop, &g_sigint);
  uv_signal_start(&g_sigint, on_signal, SIGINT);
  uv_run(g_loop, UV_RUN_DEFAULT);
  uv_loop_close(g_loop);
  return 0;
}
