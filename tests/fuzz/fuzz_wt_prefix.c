/* libFuzzer target: WebTransport stream prefixes (uni 0x54 / bidi 0x41 +
 * session id, HTTP/3 stream types) and datagram prefixes.
 * Invariants: the byte-by-byte accumulator agrees with the whole-buffer
 * decoder (type, session id, and where the payload starts, including the
 * non-consuming bidi request case); encode(decode(x)) round-trips. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webtransport/h3_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)       \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

static void check_prefix(const uint8_t *d, size_t n, bool bidi) {
  moqc_wt_prefix whole;
  ssize_t r = moqc_wt_prefix_decode(&whole, bidi, d, n);
  CHECK(r == MOQC_ERR_NEED_MORE || (r >= 0 && (size_t)r <= n && r <= MOQC_H3_HDR_MAX));
  /* byte by byte: where does the payload start? */
  moqc_h3_acc acc = {0};
  moqc_wt_prefix pf;
  size_t start = (size_t)-1;
  for (size_t i = 0; i < n; i++) {
    size_t used = 0, rl = 0;
    uint8_t replay[MOQC_H3_HDR_MAX];
    ssize_t a = moqc_h3_acc_feed(&acc, bidi ? moqc_wt_dec_prefix_bidi : moqc_wt_dec_prefix_uni, &pf,
                                 d + i, 1, &used, replay, &rl);
    if (a == MOQC_ERR_NEED_MORE) continue;
    CHECK(a >= 0);
    /* payload = replay + d[i + used ..] */
    start = i + used - rl;
    break;
  }
  if (r == MOQC_ERR_NEED_MORE) {
    CHECK(start == (size_t)-1);
    return;
  }
  CHECK(start == (size_t)r);
  CHECK(pf.type == whole.type);
  uint64_t want = bidi ? MOQC_H3_FRAME_WT_STREAM : MOQC_H3_STREAM_WT_UNI;
  if (whole.type == want) {
    CHECK(pf.session_id == whole.session_id);
    uint8_t enc[16];
    ssize_t e = moqc_wt_prefix_encode(enc, sizeof enc, bidi, whole.session_id);
    CHECK(e > 0 && e <= r);
    moqc_wt_prefix back;
    CHECK(moqc_wt_prefix_decode(&back, bidi, enc, (size_t)e) == e);
    CHECK(back.session_id == whole.session_id && back.type == want);
  } else if (bidi) {
    CHECK(r == 0);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_prefix(data, size, false);
  check_prefix(data, size, true);
  uint64_t sid;
  ssize_t r = moqc_wt_datagram_prefix_decode(&sid, data, size);
  if (r >= 0) {
    CHECK(sid % 4 == 0 && (size_t)r <= size);
    uint8_t enc[8];
    ssize_t e = moqc_wt_datagram_prefix_encode(enc, sizeof enc, sid);
    CHECK(e > 0 && e <= r);
  } else {
    CHECK(r == MOQC_ERR_DECODE);
  }
  return 0;
}
