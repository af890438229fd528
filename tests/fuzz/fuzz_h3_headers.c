/* libFuzzer target: the header-list parser — QPACK header blocks (static
 * table only, via nghttp3) into a bounded field list, then validation as a
 * WebTransport CONNECT request and as a response, and the RFC 8941 string
 * list / item parsers on the raw input.
 * Invariants: bounded output (fields, bytes, protocols), NUL-terminated
 * strings of the declared lengths, no leaks; an accepted request has
 * authority and a path starting with '/'; sf-strings re-serialize and
 * re-parse to themselves. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webtransport/h3_codec.h"
#include "webtransport/h3_qpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)       \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

static int check_item(void *arg, const char *s, size_t n) {
  (void)arg;
  CHECK(strlen(s) == n);
  char w[600], back[300];
  ssize_t e = moqc_sf_write_string(w, sizeof w, s, n);
  CHECK(e > 0);
  ssize_t r = moqc_sf_parse_string_item(w, (size_t)e, back, sizeof back);
  CHECK(r == (ssize_t)n && memcmp(back, s, n) == 0);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > MOQC_H3_MAX_HEADER_BLOCK) return 0;
  moqc_h3_fields f;
  uint64_t err = 0;
  int rc = moqc_h3_qpack_decode(data, size, &f, &err);
  CHECK(rc == MOQC_OK || rc == MOQC_ERR_DECODE || rc == MOQC_ERR_TOO_LARGE);
  CHECK(f.n <= MOQC_H3_MAX_FIELDS && f.arena_len <= MOQC_H3_MAX_FIELD_BYTES);
  if (rc == MOQC_OK) {
    for (size_t i = 0; i < f.n; i++) {
      CHECK(f.f[i].name[f.f[i].name_len] == '\0');
      CHECK(f.f[i].value[f.f[i].value_len] == '\0');
    }
    uint16_t status = 0;
    char proto[MOQC_H3_PROTOCOL_MAX + 1];
    if (moqc_h3_connect_resp_parse(&f, &status, proto) == MOQC_OK)
      CHECK(status >= 100 && status <= 599 && strlen(proto) <= MOQC_H3_PROTOCOL_MAX);
    moqc_h3_connect_req req;
    moqc_h3_req_verdict v = moqc_h3_connect_req_parse(&req, &f, &status);
    if (v == MOQC_H3_REQ_OK) {
      CHECK(req.authority && req.authority[0] && req.path && req.path[0] == '/');
      CHECK(req.n_protocols <= MOQC_H3_MAX_PROTOCOLS);
      for (size_t i = 0; i < req.n_protocols; i++)
        CHECK(strlen(req.protocols[i]) <= MOQC_H3_PROTOCOL_MAX);
    } else if (v == MOQC_H3_REQ_NOT_WT) {
      CHECK(status == 404 || status == 501);
    }
    moqc_h3_connect_req_free(&req); /* owns the fields now */
  } else {
    moqc_h3_fields_free(&f);
  }
  (void)moqc_sf_parse_string_list((const char *)data, size, 64, check_item, NULL);
  char item[64];
  (void)moqc_sf_parse_string_item((const char *)data, size, item, sizeof item);
  return 0;
}
