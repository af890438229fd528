/* moqc core — formatting helpers for moqc_logger (include/moqc/log.h). */
#ifndef MOQC_CORE_LOG_H
#define MOQC_CORE_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#include "moqc/log.h"

/* True if lg has a callback and lvl is enabled. lg may be NULL. */
static inline bool moqc__log_enabled(const moqc_logger *lg, moqc_log_level lvl) {
  return lg && lg->fn && lvl <= lg->level;
}

/* Format one line (at most MOQC__LOG_LINE_MAX - 1 bytes, truncated) and hand it
 * to lg->fn if lvl is enabled. */
#define MOQC__LOG_LINE_MAX 1024
void moqc__logv(const moqc_logger *lg, moqc_log_level lvl, const char *subsystem, const char *fmt,
                va_list ap) __attribute__((format(printf, 4, 0)));
void moqc__log(const moqc_logger *lg, moqc_log_level lvl, const char *subsystem, const char *fmt,
               ...) __attribute__((format(printf, 4, 5)));

#endif
