/* libFuzzer target: the hang container decoders (legacy, cmaf frame, cmaf
 * init segment). The first byte picks the decoder.
 * Invariants (abort() on violation):
 *   - legacy: OK implies the payload offset is within the input and the
 *     re-encoded header has the same length for minimal encodings;
 *   - cmaf: OK implies the sample data lies inside the input (ASan checks
 *     every read), at least one sample; re-encoding the first sample as a
 *     one-sample frame decodes back to the same time, track, keyframe flag;
 *   - init: OK implies a non-zero timescale. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "moqc/error.h"
#include "moqc/hang.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)       \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t sel = data[0] % 3;
  data++, size--;
  if (sel == 0) {
    uint64_t ts;
    size_t off;
    if (moqc_hang_legacy_decode(data, size, &ts, &off) == MOQC_OK) {
      CHECK(off >= 1 && off <= size && off <= 8);
      uint8_t hdr[MOQC_HANG_LEGACY_HEADER_MAX];
      size_t n = moqc_hang_legacy_header(hdr, ts);
      CHECK(n >= 1 && n <= off);
    }
  } else if (sel == 1) {
    moqc_hang_cmaf_frame f;
    if (moqc_hang_cmaf_decode(data, size, &f) == MOQC_OK) {
      CHECK(f.samples >= 1);
      CHECK(f.data_off <= size && f.data_len <= size - f.data_off);
      volatile uint8_t sink = 0;
      for (size_t i = 0; i < f.data_len; i++) sink ^= data[f.data_off + i];
      (void)sink;
      uint8_t *out = NULL;
      size_t len = 0;
      if (moqc_hang_cmaf_encode(f.track_id, f.sequence, f.base_decode_time, f.duration, f.keyframe,
                                data + f.data_off, f.data_len, &out, &len) == MOQC_OK) {
        moqc_hang_cmaf_frame g;
        CHECK(moqc_hang_cmaf_decode(out, len, &g) == MOQC_OK);
        CHECK(g.track_id == f.track_id && g.base_decode_time == f.base_decode_time);
        CHECK(g.keyframe == f.keyframe && g.data_len == f.data_len);
        moqc_hang_free(out);
      }
    }
  } else {
    uint32_t ts = 0;
    if (moqc_hang_cmaf_init_timescale(data, size, 0, &ts) == MOQC_OK) CHECK(ts != 0);
  }
  return 0;
}
