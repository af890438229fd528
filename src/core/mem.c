/* moqc core — the process-wide injectable allocator. */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

static void *default_malloc(size_t size, void *user) {
  (void)user;
  return malloc(size);
}
static void default_free(void *ptr, void *user) {
  (void)user;
  free(ptr);
}
static void *default_calloc(size_t nmemb, size_t size, void *user) {
  (void)user;
  return calloc(nmemb, size);
}
static void *default_realloc(void *ptr, size_t size, void *user) {
  (void)user;
  return realloc(ptr, size);
}

static const moqc_mem k_default_mem = {NULL, default_malloc, default_free, default_calloc,
                                       default_realloc};
static moqc_mem g_mem = {NULL, default_malloc, default_free, default_calloc, default_realloc};

/* Fallbacks for a user allocator that leaves calloc / realloc NULL: calloc is
 * built from the user's malloc; realloc cannot be (the old size is unknown), so
 * it fails and callers see MOQC_ERR_NOMEM. */
static void *emulated_calloc(size_t nmemb, size_t size, void *user) {
  if (size && nmemb > SIZE_MAX / size) return NULL;
  void *p = g_mem.malloc(nmemb * size, user);
  if (p) memset(p, 0, nmemb * size);
  return p;
}
static void *missing_realloc(void *ptr, size_t size, void *user) {
  (void)ptr;
  (void)size;
  (void)user;
  return NULL;
}

void moqc_set_mem(const moqc_mem *mem) {
  /* malloc and free are mandatory; without them keep the default. */
  if (!mem || !mem->malloc || !mem->free) {
    g_mem = k_default_mem;
    return;
  }
  g_mem = *mem;
  if (!g_mem.calloc) g_mem.calloc = emulated_calloc;
  if (!g_mem.realloc) g_mem.realloc = missing_realloc;
}

const moqc_mem *moqc_get_mem(void) { return &g_mem; }
