/* libFuzzer target: IETF moq-transport OBJECT_DATAGRAM (payload and status
 * forms), drafts 14-19 (first byte picks the draft; the rest is one datagram). */
#include "fuzz_ietf_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  int v = fz_version(data, size);
  moqc__ietf_datagram d, d2;
  ssize_t n = moqc__ietf_datagram_decode(&d, v, data + 1, size - 1);
  fz_check(n == (ssize_t)(size - 1) || n == MOQC_ERR_DECODE);
  if (n < 0) return 0;
  ssize_t e = moqc__ietf_datagram_encode(fz_buf, sizeof fz_buf, v, &d);
  fz_check(e > 0 && fz_not_longer(v, e, n));
  fz_check(moqc__ietf_datagram_encode(fz_buf, (size_t)e - 1, v, &d) == MOQC_ERR_BUFSIZE);
  fz_check(moqc__ietf_datagram_encode(fz_buf, sizeof fz_buf, v, &d) == e);
  fz_check(moqc__ietf_datagram_decode(&d2, v, fz_buf, (size_t)e) == e && ietf_datagram_eq(&d, &d2));
  return 0;
}
