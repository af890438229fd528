/* moqc runtime — moqc_tls_http_ops: the TLS layer of the HTTP server and of
 * the WebSocket client (moqc_http_tls_ops, include/moqc/http.h) over the QUIC
 * layer's sans-IO GnuTLS stream (src/quic/tls_stream.c). */
#include "moqc/endpoint.h"
#include "moqc/error.h"
#include "quic/tls_stream.h"

static void *t_server_new(void *ctx) {
  moqc__tls_stream *t = NULL;
  return moqc__tls_stream_server(ctx, &t) == MOQC_OK ? t : NULL;
}

static void t_del(void *t) { moqc__tls_stream_del(t); }

static int t_feed(void *t, const uint8_t *p, size_t n) { return moqc__tls_stream_feed(t, p, n); }

static ptrdiff_t t_read(void *t, uint8_t *dst, size_t cap) {
  return moqc__tls_stream_read(t, dst, cap);
}

static int t_write(void *t, const uint8_t *p, size_t n) { return moqc__tls_stream_write(t, p, n); }

static uint8_t *t_take(void *t, size_t *n) { return moqc__tls_stream_take(t, n); }

static void t_bye(void *t) { moqc__tls_stream_bye(t); }

static const char *t_error(const void *t) { return moqc__tls_stream_error(t); }

static const moqc_http_tls_ops k_ops = {
    .server_new = t_server_new,
    .del = t_del,
    .feed = t_feed,
    .read = t_read,
    .write = t_write,
    .take = t_take,
    .bye = t_bye,
    .error = t_error,
};

const moqc_http_tls_ops *moqc_tls_http_ops(void) { return &k_ops; }
