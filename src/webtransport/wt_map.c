/* moqc transport — WebTransport adapter: stream table (open addressing,
 * linear probing, backward-shift deletion; no tombstones). */
#include <string.h>

#include "core/mem.h"
#include "webtransport/wt_internal.h"

void *wt_alloc(size_t n) { return moqc_calloc(1, n); }

void wt_free(void *p) { moqc_free(p); }

static size_t slot_of(const wt_map *m, int64_t id) {
  uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ULL;
  return (size_t)(h >> 32) & (m->cap - 1);
}

wt_stream *wt_map_get(const wt_map *m, int64_t id) {
  if (!m->cap) return NULL;
  for (size_t i = slot_of(m, id);; i = (i + 1) & (m->cap - 1)) {
    wt_stream *s = m->slot[i];
    if (!s) return NULL;
    if (s->id == id) return s;
  }
}

static void insert(wt_map *m, wt_stream *s) {
  size_t i = slot_of(m, s->id);
  while (m->slot[i]) i = (i + 1) & (m->cap - 1);
  m->slot[i] = s;
  m->n++;
}

static int grow(wt_map *m) {
  size_t cap = m->cap ? m->cap * 2 : 16;
  wt_stream **old = m->slot;
  size_t ocap = m->cap;
  m->slot = wt_alloc(cap * sizeof *m->slot);
  if (!m->slot) {
    m->slot = old;
    return MOQC_ERR_NOMEM;
  }
  m->cap = cap;
  m->n = 0;
  for (size_t i = 0; i < ocap; i++)
    if (old[i]) insert(m, old[i]);
  wt_free(old);
  return MOQC_OK;
}

int wt_map_put(wt_map *m, wt_stream *s) {
  if ((m->n + 1) * 4 > m->cap * 3 && grow(m) != MOQC_OK) return MOQC_ERR_NOMEM;
  insert(m, s);
  return MOQC_OK;
}

void wt_map_del(wt_map *m, int64_t id) {
  if (!m->cap) return;
  size_t mask = m->cap - 1, i = slot_of(m, id);
  for (;; i = (i + 1) & mask) {
    if (!m->slot[i]) return;
    if (m->slot[i]->id == id) break;
  }
  m->slot[i] = NULL;
  m->n--;
  /* Shift back the entries of the cluster that follows. */
  for (size_t j = (i + 1) & mask; m->slot[j]; j = (j + 1) & mask) {
    size_t home = slot_of(m, m->slot[j]->id);
    /* Move slot j to the hole i if its home is not in (i, j]. */
    bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!between) {
      m->slot[i] = m->slot[j];
      m->slot[j] = NULL;
      i = j;
    }
  }
}

void wt_map_free(wt_map *m) {
  for (size_t i = 0; i < m->cap; i++)
    if (m->slot[i]) wt_stream_free(m->slot[i]);
  wt_free(m->slot);
  memset(m, 0, sizeof *m);
}
