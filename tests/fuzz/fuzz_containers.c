/* libFuzzer target: the core containers against trivial reference models.
 * The input is a sequence of operations on one imap, one smap and one list
 * (insert / remove / find / iterate with removal / failing allocator / list
 * push and pop). Invariants (abort() on violation):
 *   - every result (OK / DUPLICATE / NOMEM, found value, removed value, size)
 *     equals the reference model's (an array searched linearly);
 *   - a failed insert leaves the map unchanged;
 *   - iteration visits every entry exactly once, also while removing the
 *     entry just visited;
 *   - the list's order equals the model's;
 *   - after the maps are freed, every allocation has been returned. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/imap.h"
#include "core/list.h"
#include "core/smap.h"
#include "moqc/buf.h"
#include "moqc/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)       \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

#define NKEYS 64 /* key space: small, so inserts collide and removes hit */

/* ---- allocator that fails on demand, counting live blocks -------------------- */

static bool g_fail;
static long g_live;

static void *f_malloc(size_t n, void *u) {
  (void)u;
  if (g_fail) return NULL;
  g_live++;
  return malloc(n);
}
static void *f_calloc(size_t n, size_t s, void *u) {
  (void)u;
  if (g_fail) return NULL;
  g_live++;
  return calloc(n, s);
}
static void *f_realloc(void *p, size_t n, void *u) {
  (void)u;
  if (g_fail) return NULL;
  if (!p) g_live++;
  return realloc(p, n);
}
static void f_free(void *p, void *u) {
  (void)u;
  if (p) g_live--;
  free(p);
}

/* ---- keys ---------------------------------------------------------------------- */

/* imap: 64 keys spread over the whole range (0, UINT64_MAX, near neighbours). */
static uint64_t ikey(unsigned k) {
  k %= NKEYS;
  if (k < 16) return k;
  if (k < 32) return UINT64_MAX - (k - 16);
  return (uint64_t)k * 0x100000001ULL;
}

/* smap: 64 distinct keys, lengths 0..40 (both sides of the inline limit): the
 * empty key, then a first byte naming the key and a shared tail. */
static size_t skey(unsigned k, char *out) {
  k %= NKEYS;
  if (k == 0) return 0;
  size_t len = 1 + (k * 7) % 40;
  out[0] = (char)(33 + k);
  for (size_t i = 1; i < len; i++) out[i] = (char)('a' + i % 26);
  return len;
}

static void *val_of(unsigned k, unsigned gen) {
  return (void *)(uintptr_t)(((k % NKEYS) + 1) * 4096 + gen);
}

/* ---- reference model ------------------------------------------------------------- */

typedef struct model {
  void *val[NKEYS]; /* NULL: absent */
  size_t n;
} model;

/* The map answered rc to inserting kk -> v: check it and follow it. */
static void model_insert(model *r, unsigned kk, void *v, int rc) {
  if (r->val[kk]) {
    CHECK(rc == MOQC_ERR_DUPLICATE);
  } else if (rc == MOQC_OK) {
    r->val[kk] = v;
    r->n++;
  } else {
    CHECK(rc == MOQC_ERR_NOMEM && g_fail); /* only when allocation fails */
  }
}

/* The map's remove of kk returned got. */
static void model_remove(model *r, unsigned kk, void *got) {
  CHECK(got == r->val[kk]);
  if (r->val[kk]) r->n--;
  r->val[kk] = NULL;
}

static void check_imap(const moqc_imap *m, const model *r) {
  CHECK(moqc__imap_size(m) == r->n);
  for (unsigned k = 0; k < NKEYS; k++) CHECK(moqc__imap_find(m, ikey(k)) == r->val[k]);
}

static void check_smap(const moqc_smap *m, const model *r) {
  char key[64];
  CHECK(moqc__smap_size(m) == r->n);
  for (unsigned k = 0; k < NKEYS; k++) CHECK(moqc__smap_find(m, key, skey(k, key)) == r->val[k]);
}

static unsigned ikey_index(uint64_t key) {
  for (unsigned k = 0; k < NKEYS; k++)
    if (ikey(k) == key) return k;
  abort();
}

static unsigned skey_index(const uint8_t *p, size_t len) {
  char key[64];
  for (unsigned k = 0; k < NKEYS; k++)
    if (skey(k, key) == len && memcmp(key, p, len) == 0) return k;
  abort();
}

/* Iterate, removing the visited entry where the mask bit says so. */
static void iterate_imap(moqc_imap *m, model *r, uint64_t mask) {
  bool seen[NKEYS] = {0};
  moqc_imap_it it;
  uint64_t key;
  void *v;
  size_t visits = 0, i = 0;
  moqc__imap_it_init(m, &it);
  while (moqc__imap_next(m, &it, &key, &v)) {
    unsigned k = ikey_index(key);
    CHECK(!seen[k] && r->val[k] == v);
    seen[k] = true;
    visits++;
    if (mask >> (i++ % 64) & 1) {
      CHECK(moqc__imap_remove(m, key) == v);
      r->val[k] = NULL;
      r->n--;
    }
  }
  for (unsigned k = 0; k < NKEYS; k++) CHECK(seen[k] || !r->val[k]);
  (void)visits;
}

static void iterate_smap(moqc_smap *m, model *r, uint64_t mask) {
  bool seen[NKEYS] = {0};
  moqc_smap_it it;
  const uint8_t *p;
  size_t len, i = 0;
  void *v;
  moqc__smap_it_init(m, &it);
  while (moqc__smap_next(m, &it, &p, &len, &v)) {
    unsigned k = skey_index(p, len);
    CHECK(!seen[k] && r->val[k] == v);
    seen[k] = true;
    if (mask >> (i++ % 64) & 1) {
      char key[64];
      CHECK(moqc__smap_remove(m, key, skey(k, key)) == v);
      r->val[k] = NULL;
      r->n--;
    }
  }
  for (unsigned k = 0; k < NKEYS; k++) CHECK(seen[k] || !r->val[k]);
}

/* ---- list ---------------------------------------------------------------------- */

typedef struct litem {
  moqc_link node;
  unsigned id;
} litem;

typedef struct lmodel {
  unsigned order[NKEYS];
  size_t n;
} lmodel;

static void check_list(const moqc_link *h, const lmodel *r) {
  size_t i = 0;
  for (const moqc_link *it = h->next; it != h; it = it->next) {
    CHECK(i < r->n && MOQC_CONTAINER_OF(it, const litem, node)->id == r->order[i]);
    CHECK(it->next->prev == it);
    i++;
  }
  CHECK(i == r->n && moqc_list_empty(h) == (r->n == 0));
}

static void lmodel_remove(lmodel *r, unsigned id) {
  for (size_t i = 0; i < r->n; i++) {
    if (r->order[i] != id) continue;
    memmove(&r->order[i], &r->order[i + 1], (r->n - i - 1) * sizeof r->order[0]);
    r->n--;
    return;
  }
}

static void list_op(moqc_link *h, litem *items, lmodel *r, unsigned op, unsigned k) {
  litem *x = &items[k % NKEYS];
  switch (op) {
    case 0: /* push back (if unlinked) */
    case 1: /* push front */
      if (moqc_link_linked(&x->node)) return;
      if (op == 0) {
        moqc_list_push_back(h, &x->node);
        r->order[r->n++] = x->id;
      } else {
        moqc_list_push_front(h, &x->node);
        memmove(&r->order[1], &r->order[0], r->n * sizeof r->order[0]);
        r->order[0] = x->id;
        r->n++;
      }
      return;
    case 2: /* remove (asserted linked), or unlink (no-op if unlinked) */
      if (moqc_link_linked(&x->node)) moqc_list_remove(&x->node);
      else moqc_list_unlink(&x->node);
      lmodel_remove(r, x->id);
      return;
    default: { /* pop front */
      moqc_link *n = moqc_list_pop_front(h);
      CHECK((n == NULL) == (r->n == 0));
      if (n) {
        CHECK(MOQC_CONTAINER_OF(n, litem, node)->id == r->order[0]);
        CHECK(!moqc_link_linked(n));
        lmodel_remove(r, r->order[0]);
      }
    }
  }
}

/* ---- driver -------------------------------------------------------------------- */

static uint64_t get_mask(const uint8_t **p, const uint8_t *end) {
  uint64_t m = 0;
  for (int i = 0; i < 8 && *p < end; i++) m = m << 8 | *(*p)++;
  return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const moqc_mem mem = {NULL, f_malloc, f_free, f_calloc, f_realloc};
  moqc_set_mem(&mem);
  g_fail = false;
  g_live = 0;
  moqc_imap im;
  moqc_smap sm;
  moqc__imap_init(&im);
  moqc__smap_init(&sm, size ? data[0] : 0);
  model ri = {0}, rs = {0};
  moqc_link lh;
  moqc_link_init(&lh);
  litem items[NKEYS];
  lmodel rl = {{0}, 0};
  for (unsigned i = 0; i < NKEYS; i++) {
    items[i].id = i;
    moqc_link_init(&items[i].node);
  }
  const uint8_t *p = data, *end = data + size;
  unsigned gen = 0;
  while (p < end) {
    unsigned op = *p++;
    unsigned k = p < end ? *p++ : 0;
    unsigned kk = k % NKEYS;
    char key[64];
    size_t klen = skey(k, key);
    void *v = val_of(k, ++gen % 4096);
    switch (op % 12) {
      case 0: model_insert(&ri, kk, v, moqc__imap_insert(&im, ikey(k), v)); break;
      case 1: model_remove(&ri, kk, moqc__imap_remove(&im, ikey(k))); break;
      case 2: iterate_imap(&im, &ri, get_mask(&p, end)); break;
      case 3: model_insert(&rs, kk, v, moqc__smap_insert(&sm, key, klen, v)); break;
      case 4: model_remove(&rs, kk, moqc__smap_remove(&sm, key, klen)); break;
      case 5: iterate_smap(&sm, &rs, get_mask(&p, end)); break;
      case 6: g_fail = !g_fail; break;
      case 7: /* imap free: empty and reusable */
        if (k % 8) break;
        moqc__imap_free(&im);
        memset(&ri, 0, sizeof ri);
        break;
      default: list_op(&lh, items, &rl, op % 12 - 8, k); break;
    }
    check_imap(&im, &ri);
    check_smap(&sm, &rs);
    check_list(&lh, &rl);
  }
  moqc__imap_free(&im);
  moqc__smap_free(&sm);
  CHECK(g_live == 0);
  moqc_set_mem(NULL);
  return 0;
}
