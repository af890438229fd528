/* libFuzzer target: IETF moq-transport session (SETUP, CLIENT_SETUP, SERVER_SETUP, GOAWAY, MAX_REQUEST_ID, REQUESTS_BLOCKED) control messages, drafts 14-19
 * (first byte picks the draft; then any number of framed messages). */
#include "fuzz_ietf_common.h"

static bool family(int v, uint64_t t) {
  (void)v;
  return t == 0x20 || t == 0x21 || t == 0x2f00 || t == 0x10 || t == 0x15 || t == 0x1a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  fz_ctrl(fz_version(data, size), data + 1, size - 1, family);
  return 0;
}
