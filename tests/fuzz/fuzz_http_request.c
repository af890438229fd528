/* libFuzzer target: the HTTP/1.1 parser (request heads for the embedded
 * server, response heads and chunked bodies for the client).
 * Invariants: results are within bounds and NUL-terminated; a head that
 * parses also parses identically with a larger `max`, and every strict
 * prefix of it is NEED_MORE (never a different verdict); dechunk output
 * never exceeds its buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "moqc/http.h"
#include "http1/http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)       \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536) return 0;
  moqc_http1_req r;
  ssize_t h = moqc_http1_parse_request(&r, data, size, 8192);
  CHECK(h == MOQC_ERR_NEED_MORE || h == MOQC_ERR_DECODE || h == MOQC_ERR_TOO_LARGE ||
        h == MOQC_ERR_VERSION || (h > 0 && (size_t)h <= size && h <= 8192));
  if (h > 0) {
    CHECK(strlen(r.method) < MOQC_HTTP_METHOD_MAX && r.path[0] == '/');
    CHECK(strlen(r.path) < MOQC_HTTP_TARGET_MAX && strlen(r.host) < MOQC_HTTP_HOST_MAX);
    moqc_http1_req r2;
    CHECK(moqc_http1_parse_request(&r2, data, size, 65536) == h);
    CHECK(strcmp(r.path, r2.path) == 0 && r.content_length == r2.content_length);
    for (size_t cut = 0; cut < (size_t)h; cut += 1 + (size_t)h / 64) {
      ssize_t c = moqc_http1_parse_request(&r2, data, cut, 8192);
      CHECK(c == MOQC_ERR_NEED_MORE);
    }
  }
  moqc_http1_resp resp;
  ssize_t rh = moqc_http1_parse_response(&resp, data, size, 16384);
  if (rh > 0) {
    CHECK(resp.status >= 100 && resp.status <= 599 && (size_t)rh <= size);
    uint8_t out[4096];
    size_t ol = 0;
    ssize_t d = moqc_http1_dechunk(data + rh, size - (size_t)rh, out, sizeof out, &ol);
    if (d >= 0) CHECK(ol <= sizeof out && (size_t)d <= size - (size_t)rh);
  }
  uint8_t sha[32];
  char hex[65];
  if (moqc_http_parse_cert_hash((const char *)data, size, sha, hex) == MOQC_OK)
    CHECK(strlen(hex) == 64);
  return 0;
}
