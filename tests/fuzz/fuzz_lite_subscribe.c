/* libFuzzer target: moq-lite subscribe stream decoders (SUBSCRIBE,
 * SUBSCRIBE_UPDATE, typed subscribe responses) for lite-03/04/05. */
#include "fuzz_lite_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FZ_ROUNDTRIP(subscribe, data, size);
  FZ_ROUNDTRIP(subscribe_update, data, size);
  FZ_ROUNDTRIP(subscribe_resp, data, size);
  return 0;
}
