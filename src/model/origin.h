/* moqc model — origin internals shared by origin.c, origin_scope.c and
 * origin_consumer.c (not public API).
 */
#ifndef MOQC_MODEL_ORIGIN_H
#define MOQC_MODEL_ORIGIN_H

#include "core/smap.h"
#include "model/internal.h"

typedef struct moqc_ocore {
  moqc_env *env;
  uint64_t id;
  uint64_t linger_ns;
  uint32_t strong; /* views */
  uint32_t weak;   /* announcement consumers, + 1 while any view exists */
  bool closed;
  uint64_t seq;        /* source attach counter */
  moqc_link entries;   /* moqc_oentry.node, in publish order */
  moqc_link consumers; /* moqc_origin_consumer.node */
  moqc_smap index;     /* moqc_oentry by absolute path */
} moqc_ocore;

void moqc_ocore_unref_weak(moqc_ocore *core);
/* A front consumer for the absolute path, or NULL with *err UNROUTABLE. */
moqc_broadcast_consumer *moqc_ocore_request(moqc_ocore *core, const char *abs, int *err);

/* ---- scope: root + allowed absolute prefixes --------------------------------- */

typedef struct moqc_oscope {
  char *root;   /* absolute, normalised ("" = the core's root) */
  bool scoped;  /* false: every path allowed */
  char **allow; /* absolute prefixes */
  size_t nallow;
} moqc_oscope;

int moqc_oscope_init(moqc_oscope *s, const char *root, const char *const *allow, size_t n,
                     bool scoped);
int moqc_oscope_copy(moqc_oscope *dst, const moqc_oscope *src);
void moqc_oscope_fini(moqc_oscope *s);
/* join(root, rel) into out (normalised). MOQC_OK or a path error. */
int moqc_oscope_abs(const moqc_oscope *s, const char *rel, char *out, size_t cap);
/* abs with the root stripped, into out; MOQC_ERR_NOT_FOUND if outside root. */
int moqc_oscope_rel(const moqc_oscope *s, const char *abs, char *out, size_t cap);
bool moqc_oscope_allows(const moqc_oscope *s, const char *abs);
/* dst = parent narrowed to prefixes (relative to parent's root). */
int moqc_oscope_narrow(moqc_oscope *dst, const moqc_oscope *parent, const char *const *prefixes,
                       size_t n);
/* dst = parent re-rooted at parent.root/root. */
int moqc_oscope_reroot(moqc_oscope *dst, const moqc_oscope *parent, const char *root);

/* ---- announcement consumers ---------------------------------------------------- */

typedef struct moqc_oevent {
  moqc_link node;
  char *path; /* relative to the consumer's root */
  bool active;
  bool restart; /* active again on a new route */
  moqc_route route;
  struct moqc_oevent *prev_same; /* the queued event of the same path before it, or NULL */
} moqc_oevent;

struct moqc_origin_consumer {
  moqc_ocore *core; /* weak reference */
  moqc_link node;
  moqc_waiter w;
  moqc_oscope scope;
  char *prefix;     /* absolute */
  moqc_link events; /* pending moqc_oevent */
  moqc_smap last;   /* path -> its newest pending moqc_oevent (no scan per emit) */
  moqc_oevent *cur; /* last returned (its path is lent to the caller) */
};

moqc_origin_consumer *moqc_oconsumer_new(moqc_ocore *core, const moqc_oscope *scope,
                                         const char *prefix);
/* Queue an announcement if abs is visible to c (OOM drops it). */
void moqc_oconsumer_emit(moqc_origin_consumer *c, const char *abs, bool active,
                         const moqc_route *route, bool restart);
void moqc_oconsumer_closed(moqc_origin_consumer *c);

#endif
