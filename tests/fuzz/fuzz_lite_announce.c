/* libFuzzer target: moq-lite announce stream decoders (ANNOUNCE_PLEASE,
 * ANNOUNCE, ANNOUNCE_OK) for lite-03/04/05; see fuzz_lite_common.h. */
#include "fuzz_lite_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FZ_ROUNDTRIP(announce_please, data, size);
  FZ_ROUNDTRIP(announce, data, size);
  FZ_ROUNDTRIP(announce_ok, data, size);
  return 0;
}
