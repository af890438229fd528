/* moqc core — timescale conversion and system clocks. */
#include "moqc/time.h"

#include <time.h>

#include "moqc/error.h"

#define WIRE_MAX ((uint64_t)0x3fffffffffffffffULL)

int moqc_time_convert(uint64_t value, uint64_t from_scale, uint64_t to_scale, uint64_t *out) {
  if (from_scale == 0 || to_scale == 0 || !out) return MOQC_ERR_INVAL;
  /* 64 x 64 bits fits 128 exactly; division rounds toward zero. */
  unsigned __int128 r = (unsigned __int128)value * to_scale / from_scale;
  if (r > WIRE_MAX) return MOQC_ERR_OVERFLOW;
  *out = (uint64_t)r;
  return MOQC_OK;
}

int moqc_timestamp_convert(moqc_timestamp ts, uint64_t to_scale, moqc_timestamp *out) {
  if (!out) return MOQC_ERR_INVAL;
  uint64_t v;
  int rc = moqc_time_convert(ts.value, ts.scale, to_scale, &v);
  if (rc < 0) return rc;
  out->value = v;
  out->scale = to_scale;
  return MOQC_OK;
}

/* Nanoseconds since the clock's epoch, or 0 if the clock is unavailable. */
static unsigned __int128 clock_ns(clockid_t id) {
  struct timespec ts;
  if (clock_gettime(id, &ts) != 0 || ts.tv_sec < 0) return 0;
  return (unsigned __int128)(uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t moqc_time_now(uint64_t scale) {
  if (scale == 0) return 0;
  unsigned __int128 r = clock_ns(CLOCK_REALTIME) * scale / 1000000000u;
  return r > UINT64_MAX ? UINT64_MAX : (uint64_t)r;
}

uint64_t moqc_time_mono_ns(void) {
  unsigned __int128 r = clock_ns(CLOCK_MONOTONIC);
  return r > UINT64_MAX ? UINT64_MAX : (uint64_t)r;
}
