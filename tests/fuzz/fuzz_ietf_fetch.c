/* libFuzzer target: IETF moq-transport fetch and track status (FETCH, FETCH_OK, FETCH_ERROR, FETCH_CANCEL, TRACK_STATUS, TRACK_STATUS_OK, TRACK_STATUS_ERROR) control messages, drafts 14-19
 * (first byte picks the draft; then any number of framed messages). */
#include "fuzz_ietf_common.h"

static bool family(int v, uint64_t t) {
  (void)v;
  return (t >= 0x16 && t <= 0x19) || t == 0x0d || (v == 14 && (t == 0x0e || t == 0x0f));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  fz_ctrl(fz_version(data, size), data + 1, size - 1, family);
  return 0;
}
