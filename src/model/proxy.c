/* moqc model — cross-thread track proxy.
 *
 * The calling thread makes the payload buf (one copy, or a zero-copy wrap),
 * packs it into a command and posts it to the env's mutex-protected queue; the
 * env's notify function wakes the loop, and moqc_env_run() applies commands in
 * order on the loop thread. Only the queue is shared: the proxy's track and
 * group handles are touched by the loop thread alone. The buf's reference is
 * handed over through the queue (the mutex orders the two threads), so the
 * plain buf refcount is never touched by two threads at once.
 */
#include <stdatomic.h>
#include <string.h>

#include "core/mem.h"
#include "model/internal.h"
#include "moqc/error.h"

enum { CMD_NEW_GROUP, CMD_FRAME, CMD_FINISH_GROUP, CMD_FINISH, CMD_DEL };

struct moqc_track_proxy {
  moqc_env *env;
  moqc_track_producer *tp;  /* loop thread only */
  moqc_group_producer *cur; /* loop thread only */
  moqc_cmd *del_cmd;        /* preallocated: deleting never fails */
  _Atomic int err;          /* sticky error from applying a command */
};

moqc_track_proxy *moqc_track_proxy_new(moqc_track_producer *t) {
  moqc_track_proxy *p = moqc_calloc(1, sizeof *p);
  if (!p) return NULL;
  p->del_cmd = moqc_calloc(1, sizeof *p->del_cmd);
  p->tp = p->del_cmd ? moqc_track_producer_clone(t) : NULL;
  if (!p->tp) {
    moqc_free(p->del_cmd);
    moqc_free(p);
    return NULL;
  }
  p->env = moqc_track_producer_state(t)->env;
  atomic_init(&p->err, MOQC_OK);
  return p;
}

static int proxy_post(moqc_track_proxy *p, int kind, moqc_buf *buf, uint64_t ts) {
  moqc_cmd *c = moqc_malloc(sizeof *c);
  if (!c) return MOQC_ERR_NOMEM;
  c->p = p;
  c->kind = kind;
  c->buf = buf;
  c->ts = ts;
  moqc_env_post(p->env, c);
  return MOQC_OK;
}

static int proxy_sticky(const moqc_track_proxy *p) {
  return atomic_load_explicit(&p->err, memory_order_relaxed);
}

int moqc_track_proxy_new_group(moqc_track_proxy *p) {
  int rc = proxy_sticky(p);
  return rc ? rc : proxy_post(p, CMD_NEW_GROUP, NULL, 0);
}

static int proxy_post_buf(moqc_track_proxy *p, moqc_buf *b, uint64_t ts) {
  if (!b) return MOQC_ERR_NOMEM;
  int rc = proxy_post(p, CMD_FRAME, b, ts);
  if (rc) moqc_buf_unref(b); /* not shared yet: still ours */
  return rc;
}

int moqc_track_proxy_write_frame(moqc_track_proxy *p, const void *data, size_t len,
                                 uint64_t timestamp) {
  int rc = proxy_sticky(p);
  if (rc) return rc;
  if (!data && len) return MOQC_ERR_INVAL;
  return proxy_post_buf(p, moqc_buf_copy(data, len), timestamp);
}

int moqc_track_proxy_write_frame_wrap(moqc_track_proxy *p, const void *data, size_t len,
                                      uint64_t timestamp, moqc_buf_release_fn release, void *ctx) {
  int rc = proxy_sticky(p);
  if (rc) return rc;
  if (!data && len) return MOQC_ERR_INVAL;
  moqc_buf *b = moqc_buf_wrap(data, len, release, ctx);
  if (!b) return MOQC_ERR_NOMEM;
  rc = proxy_post(p, CMD_FRAME, b, timestamp);
  if (rc) { /* the caller keeps ownership on failure: don't run release */
    b->release = NULL;
    moqc_buf_unref(b);
  }
  return rc;
}

int moqc_track_proxy_finish_group(moqc_track_proxy *p) {
  int rc = proxy_sticky(p);
  return rc ? rc : proxy_post(p, CMD_FINISH_GROUP, NULL, 0);
}

int moqc_track_proxy_finish(moqc_track_proxy *p) {
  int rc = proxy_sticky(p);
  return rc ? rc : proxy_post(p, CMD_FINISH, NULL, 0);
}

void moqc_track_proxy_del(moqc_track_proxy *p) {
  if (!p) return;
  moqc_cmd *c = p->del_cmd;
  c->p = p;
  c->kind = CMD_DEL;
  moqc_env_post(p->env, c);
}

/* ---- loop thread ------------------------------------------------------------------- */

static void proxy_fail(moqc_track_proxy *p, int rc) {
  if (rc && rc != MOQC_ERR_NOMEM) atomic_store_explicit(&p->err, rc, memory_order_relaxed);
}

static void proxy_end_group(moqc_track_proxy *p) {
  if (!p->cur) return;
  moqc_group_producer_finish(p->cur);
  moqc_group_producer_del(p->cur);
  p->cur = NULL;
}

static void proxy_frame(moqc_track_proxy *p, moqc_buf *b, uint64_t ts) {
  if (!p->cur) p->cur = moqc_track_producer_append_group(p->tp);
  if (!p->cur) {
    proxy_fail(p, moqc_track_producer_state(p->tp)->aborted ? MOQC_ERR_STATE : MOQC_ERR_NOMEM);
    moqc_buf_unref(b);
    return;
  }
  moqc_slice s = {b, 0, b->len};
  proxy_fail(p, moqc_group_producer_write_frame(p->cur, &s, ts));
  moqc_buf_unref(b);
}

void moqc_proxy_apply(moqc_cmd *c) {
  moqc_track_proxy *p = c->p;
  switch (c->kind) {
    case CMD_NEW_GROUP:
    case CMD_FINISH_GROUP: proxy_end_group(p); break;
    case CMD_FRAME: proxy_frame(p, c->buf, c->ts); break;
    case CMD_FINISH:
      proxy_end_group(p);
      proxy_fail(p, moqc_track_producer_finish(p->tp));
      break;
    case CMD_DEL:
      proxy_end_group(p);
      moqc_track_producer_del(p->tp);
      moqc_free(p);
      break;
    default: break;
  }
  moqc_free(c);
}
