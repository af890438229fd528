/* libFuzzer target: capsules (RFC 9297) and CLOSE_WEBTRANSPORT_SESSION.
 * Invariants: decode consumes no more than given; a decoded CLOSE capsule has
 * a reason <= 1024 bytes of valid UTF-8 and re-encodes (inside a DATA frame)
 * to bytes that decode to the same code and reason; every strict prefix of a
 * valid capsule is NEED_MORE; the error-code mapping round-trips. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webtransport/h3_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)       \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t pos = 0;
  for (int k = 0; k < 16 && pos < size; k++) {
    moqc_capsule c;
    ssize_t r = moqc_capsule_decode(&c, data + pos, size - pos, 4096);
    if (r < 0) {
      CHECK(r == MOQC_ERR_NEED_MORE || r == MOQC_ERR_DECODE);
      break;
    }
    CHECK((size_t)r <= size - pos);
    for (size_t cut = 0; cut < (size_t)r; cut++)
      CHECK(moqc_capsule_decode(&c, data + pos, cut, 4096) == MOQC_ERR_NEED_MORE);
    CHECK(moqc_capsule_decode(&c, data + pos, (size_t)r, 4096) == r);
    if (c.type == MOQC_CAPSULE_CLOSE_WT_SESSION) {
      CHECK(c.reason.len <= MOQC_WT_CLOSE_REASON_MAX);
      CHECK(moqc_utf8_valid(c.reason.ptr, c.reason.len));
      char reason[MOQC_WT_CLOSE_REASON_MAX + 1];
      memcpy(reason, c.reason.ptr, c.reason.len);
      reason[c.reason.len] = '\0';
      if (strlen(reason) == c.reason.len) { /* no NUL inside */
        uint8_t enc[MOQC_WT_CLOSE_REASON_MAX + 32];
        ssize_t e = moqc_capsule_close_encode_data_frame(enc, sizeof enc, c.code, reason);
        CHECK(e > 0);
        moqc_h3_frame_hdr h;
        ssize_t hl = moqc_h3_frame_hdr_decode(&h, enc, (size_t)e);
        CHECK(hl > 0 && h.type == MOQC_H3_FRAME_DATA && (size_t)hl + h.len == (size_t)e);
        moqc_capsule back;
        CHECK(moqc_capsule_decode(&back, enc + hl, (size_t)h.len, 4096) == (ssize_t)h.len);
        CHECK(back.code == c.code && back.reason.len == c.reason.len);
        CHECK(memcmp(back.reason.ptr, c.reason.ptr, c.reason.len) == 0);
      }
    }
    pos += (size_t)r;
  }
  if (size >= 8) {
    uint64_t v;
    memcpy(&v, data, 8);
    uint64_t code = v & 0xffffffffULL, back = ~0ULL;
    CHECK(moqc_wt_code_from_h3(moqc_wt_code_to_h3(code), &back) && back == code);
    uint64_t h3 =
        MOQC_WT_H3_ERROR_FIRST + (v % (MOQC_WT_H3_ERROR_LAST - MOQC_WT_H3_ERROR_FIRST + 2));
    if (moqc_wt_code_from_h3(h3, &back)) CHECK(moqc_wt_code_to_h3(back) == h3);
  }
  return 0;
}
