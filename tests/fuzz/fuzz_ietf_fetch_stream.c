/* libFuzzer target: IETF moq-transport FETCH streams, drafts 14-19 (first
 * byte picks the draft, second the group order): FETCH_HEADER, then fetch
 * objects (header, payload) to the end, each re-encoded on a parallel stream
 * state that must track the decoder's. */
#include <string.h>

#include "fuzz_ietf_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  int v = fz_version(data, size);
  uint8_t order = (uint8_t)(1 + data[1] % 2);
  const uint8_t *p = data + 2;
  size_t len = size - 2;
  uint64_t id, id2;
  ssize_t n = moqc__ietf_fetch_header_decode(&id, v, p, len);
  fz_check(n > 0 || n == MOQC_ERR_NEED_MORE || n == MOQC_ERR_DECODE);
  if (n < 0) return 0;
  ssize_t e = moqc__ietf_fetch_header_encode(fz_buf, sizeof fz_buf, v, id);
  fz_check(e > 0 && fz_not_longer(v, e, n) &&
           moqc__ietf_fetch_header_decode(&id2, v, fz_buf, (size_t)e) == e && id == id2);
  p += n;
  len -= (size_t)n;
  moqc__ietf_fetch_state ds = {.group_order = order}, es = ds;
  while (len) {
    moqc__ietf_fetch_object o, o2;
    moqc__ietf_fetch_state before = ds;
    n = moqc__ietf_fetch_object_decode(&o, v, &ds, p, len);
    fz_check(n > 0 || n == MOQC_ERR_NEED_MORE || n == MOQC_ERR_DECODE || n == MOQC_ERR_TOO_LARGE);
    if (n < 0) {
      fz_check(memcmp(&before, &ds, sizeof ds) == 0); /* failures leave the state alone */
      return 0;
    }
    moqc__ietf_fetch_state es_before = es;
    e = moqc__ietf_fetch_object_encode(fz_buf, sizeof fz_buf, v, &es, &o);
    fz_check(e > 0);
    /* re-decode on the encoder's prior state */
    moqc__ietf_fetch_state rs = es_before;
    fz_check(moqc__ietf_fetch_object_decode(&o2, v, &rs, fz_buf, (size_t)e) == e);
    fz_check(ietf_fetch_object_eq(&o, &o2));
    fz_check(rs.group == es.group && rs.object == es.object &&
             rs.have_location == es.have_location);
    /* the encoder's state tracks the decoder's */
    fz_check(ds.have_prior == es.have_prior && ds.have_location == es.have_location &&
             ds.group == es.group && ds.object == es.object && ds.subgroup == es.subgroup &&
             ds.priority == es.priority);
    for (size_t k = 0; k < (size_t)e; k = fz_next_prefix(k, (size_t)e)) {
      moqc__ietf_fetch_state ks = es_before;
      fz_check(moqc__ietf_fetch_object_decode(&o2, v, &ks, fz_buf, k) == MOQC_ERR_NEED_MORE);
    }
    p += n;
    len -= (size_t)n;
    if (o.kind != MOQC_IETF_FETCH_OBJECT) continue;
    if (o.size > len) return 0;
    p += o.size;
    len -= (size_t)o.size;
  }
  return 0;
}
