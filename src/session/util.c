/* moqc session — the byte builder (see util.h). */
#include "session/util.h"

#include <string.h>

#include "core/codec.h"
#include "core/lite_wire.h"
#include "core/mem.h"
#include "moqc/error.h"

/* ---- byte builder --------------------------------------------------------- */

void moqc__wbuf_init(wbuf *w) {
  w->p = w->small;
  w->len = 0;
  w->cap = sizeof w->small;
  w->err = 0;
}

void moqc__wbuf_free(wbuf *w) {
  if (w->p != w->small) moqc_free(w->p);
  moqc__wbuf_init(w);
}

uint8_t *moqc__wbuf_reserve(wbuf *w, size_t n) {
  if (w->err) return NULL;
  if (n > SIZE_MAX / 2 - w->len) {
    w->err = MOQC_ERR_NOMEM;
    return NULL;
  }
  if (w->len + n > w->cap) {
    size_t cap = w->cap * 2;
    while (cap < w->len + n) cap *= 2;
    uint8_t *p = moqc_malloc(cap);
    if (!p) {
      w->err = MOQC_ERR_NOMEM;
      return NULL;
    }
    memcpy(p, w->p, w->len);
    if (w->p != w->small) moqc_free(w->p);
    w->p = p;
    w->cap = cap;
  }
  return w->p + w->len;
}

void moqc__wbuf_append(wbuf *w, const void *p, size_t n) {
  uint8_t *d = moqc__wbuf_reserve(w, n);
  if (!d) return;
  if (n) memcpy(d, p, n);
  w->len += n;
}

void moqc__wbuf_varint(wbuf *w, uint64_t v) {
  uint8_t *d = moqc__wbuf_reserve(w, 8);
  if (!d) return;
  ssize_t n = moqc_varint_encode(d, 8, v);
  if (n < 0) {
    w->err = (int)n;
    return;
  }
  w->len += (size_t)n;
}
