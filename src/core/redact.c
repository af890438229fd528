/* moqc core — jwt redaction (see redact.h). */
#include "core/redact.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

void moqc__redact_jwt(const char *url, char *out, size_t cap) {
  if (!out || !cap) return;
  out[0] = 0;
  if (!url) return;
  size_t n = 0;
  bool in_query = false, redacting = false;
  const char *start = url; /* start of the current query parameter */
  for (const char *p = url; *p && n + 1 < cap; p++) {
    char ch = *p;
    if (ch == '#') in_query = redacting = false;
    if (in_query && p == start && strncmp(p, "jwt=", 4) == 0) {
      for (const char *r = "jwt=<redacted>"; *r && n + 1 < cap; r++) out[n++] = *r;
      redacting = true;
      p += 3;
      continue;
    }
    if (in_query && ch == '&') {
      redacting = false;
      start = p + 1;
    }
    if (!in_query && ch == '?') {
      in_query = true;
      start = p + 1;
    }
    if (!redacting) out[n++] = ch;
  }
  assert(n < cap);
  out[n] = 0;
}
