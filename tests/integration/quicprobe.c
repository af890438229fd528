/* quicprobe — hostile / odd clients for the relay's integration tests
 * (loopback only).
 *
 *   quicprobe flood HOST PORT COUNT SEED
 *       COUNT datagrams: random bytes of random length, QUIC long-header
 *       Initial look-alikes (version 1, random CIDs, padded to 1200 bytes),
 *       unknown-version long headers, and short-header packets with random
 *       connection IDs. Exit 0 once sent.
 *   quicprobe alpn HOST PORT ALPN [TIMEOUT_MS]
 *       a real QUIC handshake (libmoqc) offering only ALPN. Prints
 *       "connected <alpn>" and exits 0, or "refused: <error>: <msg>" and exits 1.
 *   quicprobe initial HOST PORT none|forged [WAIT_MS]
 *       one real client Initial (ngtcp2 + GnuTLS, ALPN moq-lite-05), without a
 *       token or with a forged Retry token (the Retry magic byte, then random
 *       bytes of a real token's length), and what came back within WAIT_MS
 *       (default 1000): "retry" (a Retry packet), "answer" (any other packet:
 *       the handshake started) or "silent". Exit 0 in all three cases.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <poll.h>
#include <time.h>
#include <uv.h>

#include "moqc/error.h"
#include "moqc/quic.h"

static uint64_t g_rng;

static uint32_t rnd32(void) {
  g_rng ^= g_rng >> 12;
  g_rng ^= g_rng << 25;
  g_rng ^= g_rng >> 27;
  return (uint32_t)((g_rng * 2685821657736338717ull) >> 32);
}

static void fill(uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)rnd32();
}

static int loopback_addr(const char *host, uint16_t port, struct sockaddr_storage *ss,
                         socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1 && (ntohl(v4->sin_addr.s_addr) >> 24) == 127) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    *len = sizeof *v4;
    return 0;
  }
  if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1 && IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr)) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    *len = sizeof *v6;
    return 0;
  }
  return -1;
}

static size_t make_datagram(uint8_t *p) {
  size_t n;
  uint32_t kind = rnd32() % 4;
  switch (kind) {
    case 0: /* noise */
      n = 1 + rnd32() % 1500;
      fill(p, n);
      return n;
    case 1:   /* Initial look-alike: header ok, payload garbage (fails decryption) */
    case 2: { /* unknown version: may trigger version negotiation */
      bool initial = kind == 1;
      p[0] = (uint8_t)(0xc0 | (rnd32() & 0x0f));
      uint32_t ver = initial ? 1u : 0x1a2a3a4au;
      p[1] = (uint8_t)(ver >> 24), p[2] = (uint8_t)(ver >> 16), p[3] = (uint8_t)(ver >> 8),
      p[4] = (uint8_t)ver;
      size_t o = 5;
      p[o++] = 8;
      fill(p + o, 8);
      o += 8;
      p[o++] = 8;
      fill(p + o, 8);
      o += 8;
      p[o++] = 0;                          /* token length */
      p[o++] = 0x40 | 0x04, p[o++] = 0xa0; /* length 1184 (2-byte varint) */
      n = 1200;
      fill(p + o, n - o);
      return n;
    }
    default: /* short header with a random destination CID */
      n = 21 + rnd32() % 1200;
      fill(p, n);
      p[0] = (uint8_t)(0x40 | (p[0] & 0x3f));
      return n;
  }
}

static int flood(const char *host, uint16_t port, long count) {
  struct sockaddr_storage to;
  socklen_t tl;
  if (loopback_addr(host, port, &to, &tl) != 0) {
    fprintf(stderr, "quicprobe: %s is not a numeric loopback address\n", host);
    return 2;
  }
  int fd = socket(to.ss_family, SOCK_DGRAM, 0);
  if (fd < 0) return 1;
  static uint8_t buf[1500];
  long sent = 0;
  for (long i = 0; i < count; i++) {
    size_t n = make_datagram(buf);
    if (sendto(fd, buf, n, 0, (struct sockaddr *)&to, tl) >= 0) sent++;
    if (i % 256 == 255) usleep(1000); /* don't just fill our own socket buffer */
  }
  close(fd);
  printf("sent %ld datagrams\n", sent);
  return 0;
}

typedef struct probe {
  int done, rc;
} probe;

static void on_connect(void *ctx, int err, const char *msg, moqc_transport *conn) {
  probe *p = ctx;
  p->done = 1;
  if (err == MOQC_OK) {
    printf("connected %s\n", conn->protocol);
    conn->ops->close(conn, 0, "probe done");
    conn->ops->release(conn);
    p->rc = 0;
  } else {
    printf("refused: %s: %s\n", moqc_err_str(err), msg ? msg : "");
    p->rc = 1;
  }
  fflush(stdout);
}

static int alpn(const char *host, uint16_t port, const char *proto, uint64_t timeout_ms) {
  struct sockaddr_storage to;
  socklen_t tl;
  if (loopback_addr(host, port, &to, &tl) != 0) {
    fprintf(stderr, "quicprobe: %s is not a numeric loopback address\n", host);
    return 2;
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  const char *alpns[] = {proto};
  moqc_quic_client_config cfg = {
      .host = host,
      .port = port,
      .alpn = alpns,
      .alpn_count = 1,
      .tls = {.disable_verify = true},
      .limits = {.handshake_timeout_ms = timeout_ms},
  };
  probe p = {0, 2};
  moqc_quic_dial *dial = NULL;
  if (moqc_quic_connect(&loop, &cfg, on_connect, &p, &dial) != MOQC_OK) return 2;
  uint64_t t0 = uv_now(&loop);
  while (!p.done && uv_now(&loop) - t0 < timeout_ms + 2000) uv_run(&loop, UV_RUN_ONCE);
  if (!p.done) {
    moqc_quic_dial_cancel(dial);
    printf("refused: no answer\n");
    p.rc = 1;
  }
  for (int i = 0; i < 2000 && uv_run(&loop, UV_RUN_NOWAIT); i++) usleep(1000);
  uv_loop_close(&loop);
  return p.rc;
}

/* ---- one raw Initial (ngtcp2 directly: libmoqc cannot send a chosen token) ---- */

static ngtcp2_conn *g_nc;

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref) {
  (void)ref;
  return g_nc;
}

static void rand_cb(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx) {
  (void)ctx;
  (void)gnutls_rnd(GNUTLS_RND_NONCE, dest, len);
}

static int new_cid_cb(ngtcp2_conn *nc, ngtcp2_cid *cid, uint8_t *token, size_t cidlen, void *ud) {
  (void)nc, (void)ud;
  cid->datalen = cidlen;
  (void)gnutls_rnd(GNUTLS_RND_NONCE, cid->data, cidlen);
  (void)gnutls_rnd(GNUTLS_RND_NONCE, token, NGTCP2_STATELESS_RESET_TOKENLEN);
  return 0;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int initial(const char *host, uint16_t port, const char *mode, int wait_ms) {
  struct sockaddr_storage to, local;
  socklen_t tl, ll = sizeof local;
  bool forged = !strcmp(mode, "forged");
  if (!forged && strcmp(mode, "none") != 0) return 2;
  if (loopback_addr(host, port, &to, &tl) != 0) return 2;
  int fd = socket(to.ss_family, SOCK_DGRAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&to, tl) != 0 ||
      getsockname(fd, (struct sockaddr *)&local, &ll) != 0)
    return 1;
  gnutls_certificate_credentials_t cred;
  gnutls_session_t tls;
  gnutls_datum_t alpn = {(unsigned char *)"moq-lite-05", 11};
  if (gnutls_certificate_allocate_credentials(&cred) < 0 ||
      gnutls_init(&tls, GNUTLS_CLIENT | GNUTLS_NO_END_OF_EARLY_DATA) < 0 ||
      gnutls_priority_set_direct(tls, "NORMAL:-VERS-ALL:+VERS-TLS1.3:%DISABLE_TLS13_COMPAT_MODE",
                                 NULL) < 0 ||
      gnutls_credentials_set(tls, GNUTLS_CRD_CERTIFICATE, cred) < 0 ||
      gnutls_alpn_set_protocols(tls, &alpn, 1, GNUTLS_ALPN_MANDATORY) < 0 ||
      ngtcp2_crypto_gnutls_configure_client_session(tls) != 0)
    return 1;
  ngtcp2_crypto_conn_ref ref = {get_conn, NULL};
  gnutls_session_set_ptr(tls, &ref);
  ngtcp2_callbacks cb = {
      .client_initial = ngtcp2_crypto_client_initial_cb,
      .recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb,
      .encrypt = ngtcp2_crypto_encrypt_cb,
      .decrypt = ngtcp2_crypto_decrypt_cb,
      .hp_mask = ngtcp2_crypto_hp_mask_cb,
      .recv_retry = ngtcp2_crypto_recv_retry_cb,
      .rand = rand_cb,
      .get_new_connection_id = new_cid_cb,
      .update_key = ngtcp2_crypto_update_key_cb,
      .delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb,
      .delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb,
      .get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb,
      .version_negotiation = ngtcp2_crypto_version_negotiation_cb,
  };
  ngtcp2_settings st;
  ngtcp2_transport_params tp;
  ngtcp2_settings_default(&st);
  ngtcp2_transport_params_default(&tp);
  st.initial_ts = now_ns();
  tp.initial_max_streams_bidi = 10;
  tp.initial_max_data = 1 << 20;
  uint8_t token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN];
  if (forged) {
    (void)gnutls_rnd(GNUTLS_RND_NONCE, token, sizeof token);
    token[0] = NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY;
    st.token.base = token;
    st.token.len = sizeof token;
  }
  ngtcp2_cid dcid, scid;
  dcid.datalen = 18;
  scid.datalen = 17;
  (void)gnutls_rnd(GNUTLS_RND_NONCE, dcid.data, dcid.datalen);
  (void)gnutls_rnd(GNUTLS_RND_NONCE, scid.data, scid.datalen);
  ngtcp2_path path = {{(struct sockaddr *)&local, ll}, {(struct sockaddr *)&to, tl}, NULL};
  if (ngtcp2_conn_client_new(&g_nc, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cb, &st, &tp, NULL,
                             NULL) != 0)
    return 1;
  ngtcp2_conn_set_tls_native_handle(g_nc, tls);
  uint8_t buf[1500];
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_ssize n = ngtcp2_conn_write_pkt(g_nc, &ps.path, NULL, buf, sizeof buf, now_ns());
  if (n <= 0 || send(fd, buf, (size_t)n, 0) != n) return 1;
  const char *what = "silent";
  struct pollfd pfd = {fd, POLLIN, 0};
  if (poll(&pfd, 1, wait_ms) == 1) {
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    /* QUIC v1 long header: 1 1 TT xxxx, type 3 = Retry. */
    if (r > 0) what = (buf[0] & 0x80) && ((buf[0] >> 4) & 3) == 3 ? "retry" : "answer";
  }
  printf("%s\n", what);
  ngtcp2_conn_del(g_nc);
  gnutls_deinit(tls);
  gnutls_certificate_free_credentials(cred);
  close(fd);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 6 && !strcmp(argv[1], "flood")) {
    g_rng = strtoull(argv[5], NULL, 10) * 2654435761ull + 1;
    return flood(argv[2], (uint16_t)atoi(argv[3]), atol(argv[4]));
  }
  if (argc >= 5 && !strcmp(argv[1], "alpn"))
    return alpn(argv[2], (uint16_t)atoi(argv[3]), argv[4],
                argc >= 6 ? strtoull(argv[5], NULL, 10) : 3000);
  if (argc >= 5 && !strcmp(argv[1], "initial"))
    return initial(argv[2], (uint16_t)atoi(argv[3]), argv[4], argc >= 6 ? atoi(argv[5]) : 1000);
  fprintf(stderr,
          "usage: quicprobe flood HOST PORT COUNT SEED | alpn HOST PORT ALPN [TIMEOUT_MS]"
          " | initial HOST PORT none|forged [WAIT_MS]\n");
  return 2;
}
