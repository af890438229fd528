/* moqc core — redacting secrets from text that may reach a log or an error
 * message (URLs carrying a `?jwt=` token). Pure; any thread. */
#ifndef MOQC_CORE_REDACT_H
#define MOQC_CORE_REDACT_H

#include <stddef.h>

/* Copy url into out[cap] with the value of every `jwt` query parameter
 * replaced by "<redacted>" (up to the next '&' or '#'). Truncated to fit and
 * always NUL-terminated when cap > 0; url NULL gives "". */
void moqc__redact_jwt(const char *url, char *out, size_t cap);

#endif
