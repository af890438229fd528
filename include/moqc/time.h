/* moqc — timescales and timestamps.
 *
 * A timescale is a non-zero number of units per second. A timestamp is a value
 * in some timescale. Conversions round toward zero and detect overflow.
 * Pure functions, callable from any thread or callback.
 */
#ifndef MOQC_TIME_H
#define MOQC_TIME_H

#include <stdint.h>

#include "moqc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOQC_TIMESCALE_SECOND 1ULL
#define MOQC_TIMESCALE_MILLI 1000ULL
#define MOQC_TIMESCALE_MICRO 1000000ULL
#define MOQC_TIMESCALE_NANO 1000000000ULL

typedef struct moqc_timestamp {
  uint64_t value;
  uint64_t scale; /* units per second, non-zero */
} moqc_timestamp;

/* Convert value from one timescale to another: out = value * to / from.
 * Returns MOQC_OK, MOQC_ERR_INVAL (a zero scale) or MOQC_ERR_OVERFLOW
 * (result does not fit 62 bits, the wire maximum). */
MOQC_API int moqc_time_convert(uint64_t value, uint64_t from_scale, uint64_t to_scale,
                               uint64_t *out);

/* Convert a timestamp into another timescale (same errors as above). */
MOQC_API int moqc_timestamp_convert(moqc_timestamp ts, uint64_t to_scale, moqc_timestamp *out);

/* Wall clock (CLOCK_REALTIME) in the given timescale; 0 if scale is 0. */
MOQC_API uint64_t moqc_time_now(uint64_t scale);

/* Monotonic clock in nanoseconds (CLOCK_MONOTONIC). */
MOQC_API uint64_t moqc_time_mono_ns(void);

#ifdef __cplusplus
}
#endif
#endif
