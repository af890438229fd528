/* moqc core — allocation wrappers (internal).
 *
 * Every allocation in the library goes through these, so the allocator set with
 * moqc_set_mem() sees all of it and tests can inject failures. They never abort:
 * on failure they return NULL and the caller returns MOQC_ERR_NOMEM.
 *
 *   moqc_malloc(n)              like malloc; n == 0 allocates 1 byte (never a
 *                               NULL "success")
 *   moqc_calloc(nmemb, size)    zeroed; overflow of nmemb * size returns NULL
 *   moqc_realloc(p, n)          like realloc; p == NULL acts as moqc_malloc;
 *                               n == 0 keeps a 1-byte block (never frees)
 *   moqc_reallocarray(p, m, s)  moqc_realloc(p, m * s) with overflow check
 *   moqc_free(p)                NULL is a no-op
 *   moqc_strdup(s) / moqc_strndup(s, n)   NUL-terminated copies
 *
 * moqc_set_mem() needs malloc and free (otherwise it restores the default); a
 * NULL calloc is emulated with malloc + memset; a NULL realloc makes
 * moqc_realloc of a non-NULL block fail (the block is left untouched).
 */
#ifndef MOQC_CORE_MEM_H
#define MOQC_CORE_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "moqc/buf.h"

static inline void *moqc_malloc(size_t n) {
  const moqc_mem *m = moqc_get_mem();
  return m->malloc(n ? n : 1, m->user);
}

static inline void *moqc_calloc(size_t nmemb, size_t size) {
  const moqc_mem *m = moqc_get_mem();
  if (nmemb == 0 || size == 0) nmemb = size = 1;
  if (nmemb > SIZE_MAX / size) return NULL;
  return m->calloc(nmemb, size, m->user);
}

static inline void *moqc_realloc(void *p, size_t n) {
  const moqc_mem *m = moqc_get_mem();
  if (!p) return m->malloc(n ? n : 1, m->user);
  return m->realloc(p, n ? n : 1, m->user);
}

static inline void *moqc_reallocarray(void *p, size_t nmemb, size_t size) {
  if (size && nmemb > SIZE_MAX / size) return NULL;
  return moqc_realloc(p, nmemb * size);
}

static inline void moqc_free(void *p) {
  if (p) {
    const moqc_mem *m = moqc_get_mem();
    m->free(p, m->user);
  }
}

static inline char *moqc_memdup0(const char *s, size_t len) {
  char *d = (char *)moqc_malloc(len + 1);
  if (d) {
    memcpy(d, s, len);
    d[len] = '\0';
  }
  return d;
}

static inline char *moqc_strndup(const char *s, size_t n) { return moqc_memdup0(s, strnlen(s, n)); }

static inline char *moqc_strdup(const char *s) { return moqc_memdup0(s, strlen(s)); }

#endif
