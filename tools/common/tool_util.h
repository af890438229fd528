/* moqc tools — helpers shared by the command-line tools (moqc-relay, moqc).
 *
 * Not part of libmoqc: the static library moqc_tools_common, linked by the
 * tools (and benches that want it), included as "common/tool_util.h".
 *
 *   - logging to stderr with a level (--log-level error|warn|info|debug|trace),
 *     one line per message, "2026-08-22T10:00:00.123Z INFO  relay: message";
 *     moqc_tool_log_cb routes the library's moqc_logger (moqc/log.h) there;
 *   - parsers for flag values: durations ("500ms", "5s", "2m", "1h", a bare
 *     number is seconds), sizes ("64M", "1G", "4096", K/M/G/T are powers of
 *     1024, an optional trailing "B"/"iB"), "host:port" / "[v6]:port",
 *     unsigned integers.
 *
 * Parsers are pure and return 0 on success, -1 on a malformed value (the
 * output is untouched then). Logging is not thread-safe beyond what stdio
 * guarantees (one fprintf per line).
 */
#ifndef MOQC_RUNTIME_TOOL_UTIL_H
#define MOQC_RUNTIME_TOOL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "moqc/log.h" /* the levels: MOQC_LOG_ERROR .. MOQC_LOG_TRACE */

/* Program name printed in log lines and error messages ("moqc-relay"). */
void moqc_log_init(const char *prog, int level);
void moqc_log_set_level(int level);
/* "error"/"warn"/"warning"/"info"/"debug"/"trace" (case-insensitive), or -1. */
int moqc_log_parse_level(const char *s);
bool moqc_log_enabled(int level);
void moqc_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void moqc_log_flush(void);
/* A moqc_log_fn (ud unused) writing "subsystem: msg" through moqc_log, and a
 * logger using it at the current level (for the library's configs). */
void moqc_tool_log_cb(void *ud, moqc_log_level lvl, const char *subsystem, const char *msg);
moqc_logger moqc_tool_logger(void);
/* The program name given to moqc_log_init ("moqc" by default). */
const char *moqc_log_prog(void);

int moqc_tool_parse_u64(const char *s, uint64_t *out);
int moqc_tool_parse_duration_ns(const char *s, uint64_t *out_ns);
int moqc_tool_parse_size(const char *s, uint64_t *out_bytes);
/* "host:port", "[v6]:port", ":port" (host ""), "host" alone is an error.
 * Port 0 is allowed (ephemeral). host is copied without brackets. */
int moqc_tool_parse_hostport(const char *s, char *host, size_t host_cap, uint16_t *port);
/* Format host:port with brackets around IPv6 literals. */
void moqc_tool_format_hostport(char *dst, size_t cap, const char *host, uint16_t port);

#endif
