/* moqc — diagnostics through a user callback.
 *
 * The library never writes to stderr/stdout and never reads environment
 * variables. Components that have something to say (today: the QUIC layer's
 * ngtcp2 packet/frame trace) take a moqc_logger in their configuration and
 * call its function, only when one is set and the message's level is enabled
 * (lvl <= logger.level). A zeroed moqc_logger logs nothing.
 *
 * Threading: the callback runs on the thread of the component that logs (the
 * loop thread of the endpoint), synchronously, from inside library code: it
 * must not call back into the object that is logging (format, store or print
 * the line and return). subsystem and msg are borrowed for the call; msg is
 * one line without a trailing newline (long lines are truncated to ~1 KiB).
 */
#ifndef MOQC_LOG_H
#define MOQC_LOG_H

#include "moqc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Levels, most severe first: a logger at level L receives every message with
 * lvl <= L. */
typedef enum moqc_log_level {
  MOQC_LOG_ERROR = 0,
  MOQC_LOG_WARN = 1,
  MOQC_LOG_INFO = 2,
  MOQC_LOG_DEBUG = 3,
  MOQC_LOG_TRACE = 4, /* per packet / per frame: the ngtcp2 debug log */
} moqc_log_level;

/* Static lower-case name: "error", "warn", "info", "debug", "trace"; "?" for a
 * value outside the enum. Never NULL. Any thread. */
MOQC_API const char *moqc_log_level_str(moqc_log_level lvl);

/* subsystem names the emitter ("quic"). */
typedef void (*moqc_log_fn)(void *ud, moqc_log_level lvl, const char *subsystem, const char *msg);

/* Where a component's diagnostics go. fn == NULL: nowhere. */
typedef struct moqc_logger {
  moqc_log_fn fn;
  void *ud;
  moqc_log_level level; /* most verbose level delivered */
} moqc_logger;

#ifdef __cplusplus
}
#endif
#endif
