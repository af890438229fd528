/* libFuzzer target: IETF moq-transport subgroup streams, drafts 14-19 (first
 * byte picks the draft): SUBGROUP_HEADER, then objects (header, payload) to
 * the end of the input. */
#include "fuzz_ietf_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  int v = fz_version(data, size);
  const uint8_t *p = data + 1;
  size_t len = size - 1;
  moqc__ietf_subgroup h, h2;
  ssize_t n = moqc__ietf_subgroup_decode(&h, v, p, len);
  fz_check(n > 0 || n == MOQC_ERR_NEED_MORE || n == MOQC_ERR_DECODE);
  if (n < 0) return 0;
  ssize_t e = moqc__ietf_subgroup_encode(fz_buf, sizeof fz_buf, v, &h);
  fz_check(e > 0 && fz_not_longer(v, e, n));
  fz_check(moqc__ietf_subgroup_encode(fz_buf, (size_t)e - 1, v, &h) == MOQC_ERR_BUFSIZE);
  fz_check(moqc__ietf_subgroup_encode(fz_buf, sizeof fz_buf, v, &h) == e);
  fz_check(moqc__ietf_subgroup_decode(&h2, v, fz_buf, (size_t)e) == e && ietf_subgroup_eq(&h, &h2));
  fz_check(moqc__ietf_uni_kind(v, h.type) == MOQC_IETF_UNI_SUBGROUP);
  for (size_t k = 0; k < (size_t)e; k++)
    fz_check(moqc__ietf_subgroup_decode(&h2, v, fz_buf, k) == MOQC_ERR_NEED_MORE);
  p += n;
  len -= (size_t)n;
  while (len) {
    moqc__ietf_object o, o2;
    n = moqc__ietf_object_decode(&o, v, h.extensions, p, len);
    fz_check(n > 0 || n == MOQC_ERR_NEED_MORE || n == MOQC_ERR_DECODE || n == MOQC_ERR_TOO_LARGE);
    if (n < 0) return 0;
    e = moqc__ietf_object_encode(fz_buf, sizeof fz_buf, v, h.extensions, &o);
    fz_check(e > 0 && fz_not_longer(v, e, n));
    fz_check(moqc__ietf_object_encode(fz_buf, (size_t)e - 1, v, h.extensions, &o) ==
             MOQC_ERR_BUFSIZE);
    fz_check(moqc__ietf_object_encode(fz_buf, sizeof fz_buf, v, h.extensions, &o) == e);
    fz_check(moqc__ietf_object_decode(&o2, v, h.extensions, fz_buf, (size_t)e) == e &&
             ietf_object_eq(&o, &o2));
    for (size_t k = 0; k < (size_t)e; k = fz_next_prefix(k, (size_t)e))
      fz_check(moqc__ietf_object_decode(&o2, v, h.extensions, fz_buf, k) == MOQC_ERR_NEED_MORE);
    p += n;
    len -= (size_t)n;
    if (o.size > len) return 0; /* the payload is still in flight */
    p += o.size;
    len -= (size_t)o.size;
  }
  return 0;
}
