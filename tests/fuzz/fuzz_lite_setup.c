/* libFuzzer target: moq-lite SETUP, PROBE and GOAWAY decoders. */
#include "fuzz_lite_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FZ_ROUNDTRIP(setup, data, size);
  FZ_ROUNDTRIP(probe, data, size);
  FZ_ROUNDTRIP(goaway, data, size);
  return 0;
}
