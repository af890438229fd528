/* libFuzzer target: the sans-IO TLS stream of the HTTP port (src/quic/
 * tls_stream.c), fed what a hostile peer sends: garbage after 0x16, a
 * ClientHello cut or mangled, records split anywhere.
 * Input: byte 0 picks the side (even: server, fed the rest as a client would
 * send it; odd: a client after its ClientHello, fed the rest as the server's
 * answer) and byte 1 the piece size. Invariants: every call returns one of
 * its documented results; once failed it stays failed; what it wants to send
 * is bounded; plaintext never exceeds the buffer given. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "moqc/error.h"
#include "quic/tls_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)       \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

static moqc_cert *g_cert;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2 || size > 65536) return 0;
  if (!g_cert) {
    const char *hosts[] = {"localhost"};
    CHECK(moqc_cert_self_signed(hosts, 1, &g_cert) == MOQC_OK); /* kept for the process */
  }
  bool server = (data[0] & 1) == 0;
  size_t piece = (size_t)data[1] + 1;
  data += 2;
  size -= 2;
  moqc__tls_stream *t = NULL;
  moqc_quic_tls_client any = {.disable_verify = true};
  int rv =
      server ? moqc__tls_stream_server(g_cert, &t) : moqc__tls_stream_client("localhost", &any, &t);
  CHECK(rv == MOQC_OK && t);
  size_t n = 0;
  moqc_free(moqc__tls_stream_take(t, &n)); /* a client's ClientHello */
  bool failed = false;
  uint8_t plain[512];
  for (size_t o = 0; o < size; o += piece) {
    size_t k = size - o < piece ? size - o : piece;
    rv = moqc__tls_stream_feed(t, data + o, k);
    CHECK(rv == MOQC_OK || rv == MOQC_ERR_TLS || rv == MOQC_ERR_BOUNDS || rv == MOQC_ERR_NOMEM);
    if (failed) CHECK(rv == MOQC_ERR_TLS);
    if (rv == MOQC_ERR_TLS) failed = true;
    ptrdiff_t r = moqc__tls_stream_read(t, plain, sizeof plain);
    CHECK(r == MOQC_ERR_AGAIN || r == MOQC_ERR_CLOSED || r == MOQC_ERR_TLS ||
          (r > 0 && (size_t)r <= sizeof plain));
    if (failed) CHECK(r == MOQC_ERR_TLS);
    uint8_t *out = moqc__tls_stream_take(t, &n);
    CHECK(out ? n > 0 && n < (1u << 20) : n == 0);
    moqc_free(out);
    if (failed) CHECK(moqc__tls_stream_error(t)[0] != '\0');
    if (rv != MOQC_OK) break;
  }
  moqc__tls_stream_del(t);
  return 0;
}
