/* Raw QUIC through a lossy UDP forwarder: retransmissions read the written
 * bufs again (zero copy), so they must stay valid until acknowledged and be
 * released afterwards; resets under loss must not touch released memory. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "test_quic_harness.h"

typedef struct proxy {
  uv_udp_t front, back;
  struct sockaddr_in server, client;
  bool have_client;
  uint32_t rng;
  unsigned drop_pct;
  uint64_t fwd, dropped;
} proxy;

static uint8_t g_pbuf[65536];

static void p_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b) {
  (void)h;
  (void)sz;
  *b = uv_buf_init((char *)g_pbuf, sizeof g_pbuf);
}

static bool p_drop(proxy *p) {
  p->rng = p->rng * 1103515245u + 12345u;
  return (p->rng >> 16) % 100 < p->drop_pct;
}

static void p_forward(proxy *p, uv_udp_t *via, const uv_buf_t *b, ssize_t n,
                      const struct sockaddr_in *to) {
  if (p_drop(p)) {
    p->dropped++;
    return;
  }
  uv_buf_t out = uv_buf_init(b->base, (unsigned)n);
  if (uv_udp_try_send(via, &out, 1, (const struct sockaddr *)to) >= 0) p->fwd++;
}

static void p_front_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *b, const struct sockaddr *a,
                         unsigned flags) {
  (void)flags;
  proxy *p = h->data;
  if (n <= 0 || !a) return;
  memcpy(&p->client, a, sizeof p->client);
  p->have_client = true;
  p_forward(p, &p->back, b, n, &p->server);
}

static void p_back_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *b, const struct sockaddr *a,
                        unsigned flags) {
  (void)flags;
  (void)a;
  proxy *p = h->data;
  if (n <= 0 || !p->have_client) return;
  p_forward(p, &p->front, b, n, &p->client);
}

static uint16_t proxy_start(proxy *p, uv_loop_t *loop, uint16_t server_port, unsigned drop_pct) {
  memset(p, 0, sizeof *p);
  p->rng = 42;
  p->drop_pct = drop_pct;
  uv_ip4_addr("127.0.0.1", server_port, &p->server);
  struct sockaddr_in any;
  uv_ip4_addr("127.0.0.1", 0, &any);
  assert_int_equal(uv_udp_init(loop, &p->front), 0);
  assert_int_equal(uv_udp_init(loop, &p->back), 0);
  p->front.data = p->back.data = p;
  assert_int_equal(uv_udp_bind(&p->front, (const struct sockaddr *)&any, 0), 0);
  assert_int_equal(uv_udp_bind(&p->back, (const struct sockaddr *)&any, 0), 0);
  int big = 4 << 20;
  uv_recv_buffer_size((uv_handle_t *)&p->front, &big);
  uv_recv_buffer_size((uv_handle_t *)&p->back, &big);
  assert_int_equal(uv_udp_recv_start(&p->front, p_alloc, p_front_recv), 0);
  assert_int_equal(uv_udp_recv_start(&p->back, p_alloc, p_back_recv), 0);
  struct sockaddr_in me;
  int len = sizeof me;
  assert_int_equal(uv_udp_getsockname(&p->front, (struct sockaddr *)&me, &len), 0);
  return ntohs(me.sin_port);
}

static void proxy_stop(proxy *p) {
  uv_close((uv_handle_t *)&p->front, NULL);
  uv_close((uv_handle_t *)&p->back, NULL);
}

/* Connect through the proxy (the server sees the proxy as its client). */
static void establish_via(h_fx *fx, uint16_t port) {
  moqc_quic_client_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.host = "127.0.0.1";
  cfg.port = port;
  cfg.tls.pin_sha256 = moqc_cert_fingerprint(fx->cert);
  assert_int_equal(moqc_quic_connect(&fx->loop, &cfg, h_on_connect, fx, NULL), MOQC_OK);
  assert_true(H_RUN_UNTIL(fx, fx->connect_done && fx->s.t, 10000));
  assert_int_equal(fx->connect_err, MOQC_OK);
}

static void test_transfer_under_loss(void **state) {
  (void)state;
  h_fx fx;
  h_init(&fx);
  h_server(&fx, "127.0.0.1", NULL, 0, NULL);
  proxy p;
  uint16_t port = proxy_start(&p, &fx.loop, moqc_quic_server_port(fx.srv), 3);
  establish_via(&fx, port);
  fx.s.store = false;
  fx.s.pattern = true;
  moqc_transport *c = fx.c.t;
  uint64_t base = moqc_buf_get_stats().bufs_live;
  /* several streams with small and large slices, interleaved */
  int64_t ids[4];
  for (int i = 0; i < 4; i++) {
    assert_int_equal(c->ops->open_stream(c, false, &ids[i]), MOQC_OK);
    h_write_pattern(c, ids[i], 0, 2u << 20, i % 2 ? 700 : 256 * 1024, true);
  }
  assert_true(H_RUN_UNTIL(&fx, ({
    int fins = 0;
    for (size_t k = 0; k < fx.s.nst; k++) fins += fx.s.st[k].fin;
    fins == 4 && c->ops->queued(c, -1) == 0;
  }),
                          60000));
  for (int i = 0; i < 4; i++) {
    h_stream *ss = h_find(&fx.s, ids[i]);
    assert_true(ss->pattern_ok);
    assert_int_equal(ss->total, 2u << 20);
  }
  assert_true(p.dropped > 10);
  assert_int_equal(moqc_buf_get_stats().bufs_live, base);
  proxy_stop(&p);
  h_teardown(&fx);
}

static void test_reset_under_loss(void **state) {
  (void)state;
  h_fx fx;
  h_init(&fx);
  h_server(&fx, "127.0.0.1", NULL, 0, NULL);
  proxy p;
  uint16_t port = proxy_start(&p, &fx.loop, moqc_quic_server_port(fx.srv), 10);
  establish_via(&fx, port);
  fx.s.store = false;
  moqc_transport *c = fx.c.t;
  uint64_t base = moqc_buf_get_stats().bufs_live;
  for (int round = 0; round < 5; round++) {
    int64_t id;
    assert_int_equal(c->ops->open_stream(c, false, &id), MOQC_OK);
    h_write_pattern(c, id, 0, 1u << 20, 64 * 1024, false);
    for (int k = 0; k < 3 + round; k++) uv_run(&fx.loop, UV_RUN_NOWAIT); /* some in flight */
    assert_int_equal(c->ops->reset(c, id, (uint64_t)round + 1), MOQC_OK);
    h_stream *cs = h_find(&fx.c, id);
    assert_true(H_RUN_UNTIL(&fx, cs->closed, 30000));
  }
  assert_int_equal(moqc_buf_get_stats().bufs_live, base);
  /* the connection is still healthy */
  fx.s.echo = true;
  int64_t id;
  assert_int_equal(c->ops->open_stream(c, true, &id), MOQC_OK);
  h_write_pattern(c, id, 0, 20000, 1000, true);
  h_stream *cs = h_find(&fx.c, id);
  assert_true(H_RUN_UNTIL(&fx, cs->fin, 30000));
  assert_int_equal(cs->total, 20000);
  proxy_stop(&p);
  h_teardown(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_transfer_under_loss),
      cmocka_unit_test(test_reset_under_loss),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
