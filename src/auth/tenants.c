/* moqc auth — live sessions per tenant (moqc_tenants): a string map from the
 * tenant (token root) to its count, so a connect costs one lookup, not a scan
 * of every live session. */
#include <assert.h>
#include <string.h>

#include "auth/auth_int.h"
#include "core/mem.h"
#include "core/smap.h"
#include "moqc/error.h"

typedef struct tenant {
  uint64_t n; /* live sessions, > 0 while in the map */
  void *ud;   /* moqc_tenants_slot */
} tenant;

struct moqc_tenants {
  moqc_smap map; /* tenant name -> tenant */
};

moqc_tenants *moqc_tenants_new(void) {
  moqc_tenants *t = moqc_calloc(1, sizeof *t);
  if (t) moqc__smap_init(&t->map, 0);
  return t;
}

void moqc_tenants_del(moqc_tenants *t) {
  if (!t) return;
  moqc_smap_it it;
  const uint8_t *key;
  size_t len;
  void *val;
  moqc__smap_it_init(&t->map, &it);
  while (moqc__smap_next(&t->map, &it, &key, &len, &val)) moqc_free(val);
  moqc__smap_free(&t->map);
  moqc_free(t);
}

int moqc_tenants_acquire(moqc_tenants *t, const char *name, uint64_t max) {
  if (!t || !name) return MOQC_ERR_INVAL;
  size_t len = strlen(name);
  tenant *e = moqc__smap_find(&t->map, name, len);
  if (e && e->n >= max) return MOQC_ERR_BOUNDS;
  if (!e) {
    if (max == 0) return MOQC_ERR_BOUNDS;
    e = moqc_calloc(1, sizeof *e);
    if (!e) return MOQC_ERR_NOMEM;
    int rc = moqc__smap_insert(&t->map, name, len, e);
    if (rc != MOQC_OK) {
      moqc_free(e);
      return rc;
    }
  }
  e->n++;
  return MOQC_OK;
}

void moqc_tenants_release(moqc_tenants *t, const char *name) {
  if (!t || !name) return;
  size_t len = strlen(name);
  tenant *e = moqc__smap_find(&t->map, name, len);
  assert(e && e->n > 0); /* released more often than acquired */
  if (!e) return;
  if (--e->n == 0) moqc_free(moqc__smap_remove(&t->map, name, len));
}

uint64_t moqc_tenants_count(const moqc_tenants *t, const char *name) {
  if (!t || !name) return 0;
  const tenant *e = moqc__smap_find(&t->map, name, strlen(name));
  return e ? e->n : 0;
}

size_t moqc_tenants_size(const moqc_tenants *t) { return t ? moqc__smap_size(&t->map) : 0; }

void **moqc_tenants_slot(moqc_tenants *t, const char *name) {
  if (!t || !name) return NULL;
  tenant *e = moqc__smap_find(&t->map, name, strlen(name));
  return e ? &e->ud : NULL;
}
