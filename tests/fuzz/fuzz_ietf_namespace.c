/* libFuzzer target: IETF moq-transport namespace (PUBLISH_NAMESPACE and its replies, SUBSCRIBE_NAMESPACE and its replies, NAMESPACE, NAMESPACE_DONE, PUBLISH_BLOCKED) control messages, drafts 14-19
 * (first byte picks the draft; then any number of framed messages). */
#include "fuzz_ietf_common.h"

static bool family(int v, uint64_t t) {
  (void)v;
  return (t >= 0x06 && t <= 0x09) || t == 0x0c || (t >= 0x11 && t <= 0x14) || t == 0x50 ||
         (v >= 16 && t == 0x0e) || (v >= 17 && t == 0x0f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  fz_ctrl(fz_version(data, size), data + 1, size - 1, family);
  return 0;
}
