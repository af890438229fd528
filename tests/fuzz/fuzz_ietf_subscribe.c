/* libFuzzer target: IETF moq-transport subscription (SUBSCRIBE, SUBSCRIBE_OK, SUBSCRIBE_ERROR / REQUEST_ERROR, SUBSCRIBE_UPDATE / REQUEST_UPDATE, UNSUBSCRIBE, PUBLISH_DONE, PUBLISH, PUBLISH_OK, PUBLISH_ERROR) control messages, drafts 14-19
 * (first byte picks the draft; then any number of framed messages). */
#include "fuzz_ietf_common.h"

static bool family(int v, uint64_t t) {
  (void)v;
  return (t >= 0x02 && t <= 0x05) || t == 0x0a || t == 0x0b || (t >= 0x1d && t <= 0x1f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  fz_ctrl(fz_version(data, size), data + 1, size - 1, family);
  return 0;
}
