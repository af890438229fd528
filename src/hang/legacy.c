/* hang legacy container: QUIC varint timestamp (microseconds) + codec payload. */
#include <assert.h>
#include <string.h>

#include "core/codec.h"
#include "moqc/error.h"
#include "moqc/hang.h"

#define VARINT_MAX ((uint64_t)1 << 62)

size_t moqc_hang_legacy_header(uint8_t out[MOQC_HANG_LEGACY_HEADER_MAX], uint64_t ts_us) {
  if (ts_us >= VARINT_MAX) return 0;
  ssize_t n = moqc_varint_encode(out, MOQC_HANG_LEGACY_HEADER_MAX, ts_us);
  assert(n > 0 && n <= MOQC_HANG_LEGACY_HEADER_MAX);
  return (size_t)n;
}

int moqc_hang_legacy_decode(const uint8_t *p, size_t len, uint64_t *ts_us, size_t *payload_off) {
  if (!p || len == 0) return MOQC_ERR_DECODE;
  uint64_t v;
  ssize_t n = moqc_varint_decode(&v, p, len);
  if (n <= 0) return MOQC_ERR_DECODE;
  assert((size_t)n <= len);
  if (ts_us) *ts_us = v;
  if (payload_off) *payload_off = (size_t)n;
  return MOQC_OK;
}

/* ts_us * timescale / 1e6 without overflow for any realistic value. */
static uint64_t rescale(uint64_t ts_us, uint64_t timescale) {
  if (timescale == MOQC_HANG_TIMESCALE) return ts_us;
  return (uint64_t)((unsigned __int128)ts_us * timescale / MOQC_HANG_TIMESCALE);
}

int moqc_hang_legacy_write(moqc_group_producer *g, uint64_t ts_us, uint64_t timescale,
                           const moqc_slice *payload) {
  if (!g || !payload || timescale == 0) return MOQC_ERR_INVAL;
  uint8_t hdr[MOQC_HANG_LEGACY_HEADER_MAX];
  size_t hn = moqc_hang_legacy_header(hdr, ts_us);
  if (hn == 0) return MOQC_ERR_INVAL;
  moqc_frame_info info = {.size = hn + payload->len, .timestamp = rescale(ts_us, timescale)};
  int err = MOQC_OK;
  moqc_frame_producer *f = moqc_group_producer_create_frame(g, &info, &err);
  if (!f) return err != MOQC_OK ? err : MOQC_ERR_NOMEM;
  int rv = moqc_frame_producer_write_copy(f, hdr, hn);
  if (rv == MOQC_OK && payload->len) rv = moqc_frame_producer_write(f, payload);
  if (rv == MOQC_OK) rv = moqc_frame_producer_finish(f);
  moqc_frame_producer_del(f);
  return rv;
}
