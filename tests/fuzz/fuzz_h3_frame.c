/* libFuzzer target: HTTP/3 frame headers and SETTINGS payloads.
 * Invariants (abort() on violation):
 *   - feeding the input through the fragment accumulator in random-sized
 *     pieces (sizes taken from the first byte) yields the same headers as
 *     decoding the whole buffer at once;
 *   - a decoded header re-encodes to at most the consumed bytes and decodes
 *     back to the same values;
 *   - SETTINGS decode never reads out of bounds, returns len or DECODE with
 *     an HTTP/3 error code set, and what it accepted re-validates. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webtransport/h3_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)       \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

static void frames_whole_vs_pieces(const uint8_t *d, size_t n, unsigned step) {
  /* whole-buffer sequence of frame headers (payloads skipped) */
  moqc_h3_frame_hdr whole[64];
  size_t nw = 0, pos = 0;
  while (nw < 64) {
    ssize_t r = moqc_h3_frame_hdr_decode(&whole[nw], d + pos, n - pos);
    if (r == MOQC_ERR_NEED_MORE) break;
    CHECK(r > 0 && (size_t)r <= n - pos && r <= MOQC_H3_HDR_MAX);
    uint8_t enc[16];
    ssize_t e = moqc_h3_frame_hdr_encode(enc, sizeof enc, whole[nw].type, whole[nw].len);
    CHECK(e > 0 && e <= r);
    moqc_h3_frame_hdr back;
    CHECK(moqc_h3_frame_hdr_decode(&back, enc, (size_t)e) == e);
    CHECK(back.type == whole[nw].type && back.len == whole[nw].len);
    pos += (size_t)r;
    uint64_t skip = whole[nw].len < n - pos ? whole[nw].len : n - pos;
    pos += (size_t)skip;
    nw++;
    if (skip < whole[nw - 1].len) break;
  }
  /* the same through the accumulator, in pieces of `step` bytes */
  moqc_h3_acc acc = {0};
  size_t got = 0;
  uint64_t left = 0;
  bool in_payload = false;
  pos = 0;
  while (pos < n && got < nw) {
    size_t piece = step < n - pos ? step : n - pos;
    const uint8_t *p = d + pos;
    size_t len = piece;
    pos += piece;
    while (len > 0 && got < nw) {
      if (in_payload) {
        size_t k = left < len ? (size_t)left : len;
        p += k;
        len -= k;
        left -= k;
        if (left == 0) in_payload = false;
        continue;
      }
      moqc_h3_frame_hdr h;
      size_t used = 0, rl = 0;
      uint8_t replay[MOQC_H3_HDR_MAX];
      ssize_t r = moqc_h3_acc_feed(&acc, moqc_h3_dec_frame_hdr, &h, p, len, &used, replay, &rl);
      if (r == MOQC_ERR_NEED_MORE) {
        CHECK(used == len);
        break;
      }
      CHECK(r >= 0 && rl == 0 && used <= len);
      CHECK(h.type == whole[got].type && h.len == whole[got].len);
      got++;
      p += used;
      len -= used;
      left = h.len;
      in_payload = left > 0;
    }
  }
  CHECK(got == nw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  unsigned step = (data[0] % 17) + 1;
  frames_whole_vs_pieces(data + 1, size - 1, step);

  moqc_h3_settings s;
  uint64_t err = 0;
  ssize_t r = moqc_h3_settings_decode(&s, data + 1, size - 1, &err);
  if (r >= 0) {
    CHECK((size_t)r == size - 1);
    if (s.seen & MOQC_H3_SEEN_CONNECT_PROTOCOL) CHECK(s.enable_connect_protocol <= 1);
    (void)moqc_h3_settings_wt_sessions(&s);
  } else {
    CHECK(r == MOQC_ERR_DECODE);
    CHECK(err == MOQC_H3_FRAME_ERROR || err == MOQC_H3_SETTINGS_ERROR);
  }
  return 0;
}
