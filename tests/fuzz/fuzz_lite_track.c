/* libFuzzer target: moq-lite TRACK, TRACK_INFO and FETCH decoders. */
#include "fuzz_lite_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FZ_ROUNDTRIP(track, data, size);
  FZ_ROUNDTRIP(track_info, data, size);
  FZ_ROUNDTRIP(fetch, data, size);
  return 0;
}
