/* moqc core — the log callback (include/moqc/log.h): level names and formatting. */
#include "core/log.h"

#include <stdio.h>
#include <string.h>

const char *moqc_log_level_str(moqc_log_level lvl) {
  switch (lvl) {
    case MOQC_LOG_ERROR: return "error";
    case MOQC_LOG_WARN: return "warn";
    case MOQC_LOG_INFO: return "info";
    case MOQC_LOG_DEBUG: return "debug";
    case MOQC_LOG_TRACE: return "trace";
  }
  return "?";
}

void moqc__logv(const moqc_logger *lg, moqc_log_level lvl, const char *subsystem, const char *fmt,
                va_list ap) {
  if (!moqc__log_enabled(lg, lvl)) return;
  char line[MOQC__LOG_LINE_MAX];
  int n = vsnprintf(line, sizeof line, fmt, ap);
  if (n < 0) return;
  /* One line: drop a trailing newline (ngtcp2 adds none, others might). */
  size_t len = strnlen(line, sizeof line);
  while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
  lg->fn(lg->ud, lvl, subsystem ? subsystem : "", line);
}

void moqc__log(const moqc_logger *lg, moqc_log_level lvl, const char *subsystem, const char *fmt,
               ...) {
  va_list ap;
  va_start(ap, fmt);
  moqc__logv(lg, lvl, subsystem, fmt, ap);
  va_end(ap);
}
