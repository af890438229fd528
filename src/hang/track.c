/* hang tracks through the model API: track infos, catalog publish, catalog consumer. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "moqc/error.h"
#include "moqc/hang.h"

moqc_track_info moqc_hang_track_info(bool catalog, moqc_hang_kind kind) {
  moqc_track_info info = MOQC_TRACK_INFO_DEFAULT;
  if (catalog) {
    info.priority = MOQC_HANG_PRIORITY_CATALOG;
    return info;
  }
  info.priority = kind == MOQC_HANG_AUDIO ? MOQC_HANG_PRIORITY_AUDIO : MOQC_HANG_PRIORITY_VIDEO;
  info.timescale = MOQC_HANG_TIMESCALE;
  return info;
}

static int publish(moqc_track_producer *t, const moqc_hang_catalog *cat, bool z) {
  if (!t || !cat) return MOQC_ERR_INVAL;
  char *json = NULL;
  size_t len = 0;
  int rv = moqc_hang_catalog_encode(cat, &json, &len);
  if (rv != MOQC_OK) return rv;
  uint8_t *frame = (uint8_t *)json;
  size_t flen = len;
  if (z && (rv = moqc_hang_deflate_frame(json, len, &frame, &flen)) != MOQC_OK) {
    moqc_hang_free(json);
    return rv;
  }
  moqc_group_producer *g = moqc_track_producer_append_group(t);
  if (!g) rv = MOQC_ERR_NOMEM;
  if (rv == MOQC_OK) rv = moqc_group_producer_write_frame_copy(g, frame, flen, 0);
  if (rv == MOQC_OK) rv = moqc_group_producer_finish(g);
  moqc_group_producer_del(g);
  if (frame != (uint8_t *)json) moqc_hang_free(frame);
  moqc_hang_free(json);
  return rv;
}

int moqc_hang_catalog_publish(moqc_track_producer *t, const moqc_hang_catalog *cat) {
  return publish(t, cat, false);
}

int moqc_hang_catalog_publish_z(moqc_track_producer *t, const moqc_hang_catalog *cat) {
  return publish(t, cat, true);
}

struct moqc_hang_catalog_consumer {
  moqc_track_consumer *tc;
  moqc_group_consumer *gc; /* the newest group, until its frame is read */
  moqc_waker_fn fn;
  void *arg;
  bool z; /* catalog.json.z: inflate each frame first */
};

static void on_group_wake(void *arg) {
  moqc_hang_catalog_consumer *c = arg;
  if (c->fn) c->fn(c->arg);
}

moqc_hang_catalog_consumer *moqc_hang_catalog_consumer_new(moqc_track_consumer *tc) {
  if (!tc) return NULL;
  moqc_hang_catalog_consumer *c = moqc_calloc(1, sizeof *c);
  if (!c) {
    moqc_track_consumer_del(tc);
    return NULL;
  }
  c->tc = tc;
  return c;
}

moqc_hang_catalog_consumer *moqc_hang_catalog_consumer_new_z(moqc_track_consumer *tc) {
  moqc_hang_catalog_consumer *c = moqc_hang_catalog_consumer_new(tc);
  if (c) c->z = true;
  return c;
}

void moqc_hang_catalog_consumer_del(moqc_hang_catalog_consumer *c) {
  if (!c) return;
  if (c->gc) moqc_group_consumer_del(c->gc);
  moqc_track_consumer_set_waker(c->tc, NULL, NULL);
  moqc_track_consumer_del(c->tc);
  moqc_free(c);
}

void moqc_hang_catalog_consumer_set_waker(moqc_hang_catalog_consumer *c, moqc_waker_fn fn,
                                          void *arg) {
  c->fn = fn;
  c->arg = arg;
  moqc_track_consumer_set_waker(c->tc, fn, arg);
  if (c->gc) moqc_group_consumer_set_waker(c->gc, fn ? on_group_wake : NULL, c);
}

int moqc_hang_catalog_consumer_next(moqc_hang_catalog_consumer *c, moqc_hang_catalog *cat,
                                    char *err_msg, size_t err_cap) {
  if (!c || !cat) return MOQC_ERR_INVAL;
  /* Only the newest group matters: each is a whole catalog. */
  for (;;) {
    moqc_group_consumer *g = NULL;
    int rv = moqc_track_consumer_recv_group(c->tc, &g);
    if (rv == MOQC_ERR_AGAIN) break;
    if (rv != MOQC_OK) {
      if (c->gc) break; /* read what we have first */
      return rv;
    }
    assert(g);
    if (c->gc && moqc_group_consumer_sequence(c->gc) > moqc_group_consumer_sequence(g)) {
      moqc_group_consumer_del(g); /* an older update arriving late */
      continue;
    }
    if (c->gc) moqc_group_consumer_del(c->gc);
    c->gc = g;
    moqc_group_consumer_set_waker(g, c->fn ? on_group_wake : NULL, c);
  }
  if (!c->gc) return MOQC_ERR_AGAIN;
  moqc_frame fr;
  int rv = moqc_group_consumer_read_frame(c->gc, &fr);
  if (rv == MOQC_ERR_AGAIN) return rv;
  moqc_group_consumer_del(c->gc);
  c->gc = NULL;
  if (rv == MOQC_ERR_CLOSED) return MOQC_ERR_AGAIN; /* an empty group: no update */
  if (rv != MOQC_OK) return rv;
  const uint8_t *p = fr.payload.buf ? fr.payload.buf->data + fr.payload.off : NULL;
  size_t n = fr.payload.len;
  uint8_t *plain = NULL;
  if (c->z) {
    rv = moqc_hang_inflate_frame(p, n, MOQC_HANG_CATALOG_MAX_BYTES, &plain, &n);
    if (rv != MOQC_OK) {
      moqc_slice_release(&fr.payload);
      moqc_hang_catalog_clear(cat);
      if (rv == MOQC_ERR_DECODE && err_msg && err_cap)
        snprintf(err_msg, err_cap, "%s: not a raw DEFLATE frame", MOQC_HANG_CATALOG_TRACK_Z);
      else if (rv == MOQC_ERR_TOO_LARGE && err_msg && err_cap)
        snprintf(err_msg, err_cap, "%s: inflates to over %zu bytes", MOQC_HANG_CATALOG_TRACK_Z,
                 (size_t)MOQC_HANG_CATALOG_MAX_BYTES);
      return rv;
    }
    p = plain;
  }
  rv = moqc_hang_catalog_decode(cat, p, n, err_msg, err_cap);
  moqc_hang_free(plain);
  moqc_slice_release(&fr.payload);
  return rv;
}
