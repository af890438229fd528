/* Helpers shared by the command-line tools: logging and flag-value parsers. */
#include "common/tool_util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *g_prog = "moqc";
static int g_level = MOQC_LOG_INFO;

void moqc_log_init(const char *prog, int level) {
  if (prog) g_prog = prog;
  g_level = level;
}

void moqc_log_set_level(int level) { g_level = level; }
const char *moqc_log_prog(void) { return g_prog; }
bool moqc_log_enabled(int level) { return level <= g_level; }

int moqc_log_parse_level(const char *s) {
  static const struct {
    const char *name;
    int level;
  } k[] = {
      {"error", MOQC_LOG_ERROR}, {"warn", MOQC_LOG_WARN},   {"warning", MOQC_LOG_WARN},
      {"info", MOQC_LOG_INFO},   {"debug", MOQC_LOG_DEBUG}, {"trace", MOQC_LOG_TRACE},
  };
  if (!s) return -1;
  for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
    if (strcasecmp(s, k[i].name) == 0) return k[i].level;
  return -1;
}

void moqc_log(int level, const char *fmt, ...) {
  static const char *const names[] = {"ERROR", "WARN ", "INFO ", "DEBUG", "TRACE"};
  if (!moqc_log_enabled(level)) return;
  if (level < 0) level = 0;
  if (level > MOQC_LOG_TRACE) level = MOQC_LOG_TRACE;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: %s\n", tm.tm_year + 1900,
          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
          names[level], g_prog, msg);
}

void moqc_tool_log_cb(void *ud, moqc_log_level lvl, const char *subsystem, const char *msg) {
  (void)ud;
  moqc_log((int)lvl, "%s: %s", subsystem, msg);
}

moqc_logger moqc_tool_logger(void) {
  return (moqc_logger){.fn = moqc_tool_log_cb, .level = (moqc_log_level)g_level};
}

void moqc_log_flush(void) {
  fflush(stdout);
  fflush(stderr);
}

/* Digits only; no sign, no spaces; *end gets the first non-digit. */
static int parse_digits(const char *s, uint64_t *out, const char **end) {
  if (!s || !isdigit((unsigned char)*s)) return -1;
  uint64_t v = 0;
  for (; isdigit((unsigned char)*s); s++) {
    unsigned d = (unsigned)(*s - '0');
    if (v > (UINT64_MAX - d) / 10) return -1;
    v = v * 10 + d;
  }
  *out = v;
  *end = s;
  return 0;
}

int moqc_tool_parse_u64(const char *s, uint64_t *out) {
  uint64_t v;
  const char *end;
  if (parse_digits(s, &v, &end) != 0 || *end) return -1;
  *out = v;
  return 0;
}

static int mul_ok(uint64_t a, uint64_t b, uint64_t *out) {
  if (b && a > UINT64_MAX / b) return -1;
  *out = a * b;
  return 0;
}

int moqc_tool_parse_duration_ns(const char *s, uint64_t *out_ns) {
  static const struct {
    const char *unit;
    uint64_t ns;
  } k[] = {
      {"ns", 1},
      {"us", 1000},
      {"ms", 1000000},
      {"s", 1000000000ull},
      {"m", 60000000000ull},
      {"h", 3600000000000ull},
      {"", 1000000000ull}, /* bare number: seconds */
  };
  uint64_t v;
  const char *end;
  if (parse_digits(s, &v, &end) != 0) return -1;
  for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
    if (strcmp(end, k[i].unit) == 0) return mul_ok(v, k[i].ns, out_ns);
  }
  return -1;
}

int moqc_tool_parse_size(const char *s, uint64_t *out_bytes) {
  uint64_t v;
  const char *end;
  if (parse_digits(s, &v, &end) != 0) return -1;
  uint64_t mul = 1;
  switch (toupper((unsigned char)*end)) {
    case 'K':
      mul = 1ull << 10;
      end++;
      break;
    case 'M':
      mul = 1ull << 20;
      end++;
      break;
    case 'G':
      mul = 1ull << 30;
      end++;
      break;
    case 'T':
      mul = 1ull << 40;
      end++;
      break;
    default: break;
  }
  if (mul > 1 && (*end == 'i' || *end == 'I')) end++;
  if (*end == 'B' || *end == 'b') end++;
  if (*end) return -1;
  return mul_ok(v, mul, out_bytes);
}

int moqc_tool_parse_hostport(const char *s, char *host, size_t host_cap, uint16_t *port) {
  if (!s || !host || !host_cap) return -1;
  const char *h = s, *p;
  size_t hlen;
  if (*s == '[') {
    const char *close = strchr(s, ']');
    if (!close || close[1] != ':') return -1;
    h = s + 1;
    hlen = (size_t)(close - h);
    p = close + 2;
    if (hlen == 0) return -1;
  } else {
    const char *colon = strrchr(s, ':');
    if (!colon) return -1;
    if (memchr(s, ':', (size_t)(colon - s))) return -1; /* bare IPv6 needs brackets */
    hlen = (size_t)(colon - s);
    p = colon + 1;
  }
  uint64_t v;
  if (moqc_tool_parse_u64(p, &v) != 0 || v > 65535) return -1;
  if (hlen >= host_cap) return -1;
  for (size_t i = 0; i < hlen; i++)
    if ((unsigned char)h[i] <= 0x20 || h[i] == '/' || h[i] == '[' || h[i] == ']') return -1;
  memcpy(host, h, hlen);
  host[hlen] = 0;
  *port = (uint16_t)v;
  return 0;
}

void moqc_tool_format_hostport(char *dst, size_t cap, const char *host, uint16_t port) {
  bool v6 = host && strchr(host, ':');
  snprintf(dst, cap, v6 ? "[%s]:%u" : "%s:%u", host && *host ? host : "::", port);
  if (host && !*host) snprintf(dst, cap, "[::]:%u", port);
}
