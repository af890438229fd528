/* `moqc subscribe`, plus two pieces shared with `moqc clock subscribe`: the
 * ordered track reader (a wrapper of moqc_ordered_reader) and the broadcast
 * waiter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "moqc/error.h"
#include "moqc/ordered.h"
#include "moqc/path.h"
#include "common/tool_util.h"

/* ---- ordered track reader -------------------------------------------------------
 * The library's moqc_ordered_reader (moqc/ordered.h) does the ordering; this
 * wrapper adapts its callbacks, logs skipped and lost groups, and flushes stdout
 * once per loop iteration (a uv_check) rather than once per line. */

struct cli_reader {
  moqc_ordered_reader *rd;
  uv_check_t flush;
  bool dirty;
  cli_reader_frame_fn on_frame;
  cli_reader_end_fn on_end;
  void *ctx;
};

static bool reader_frame(void *ctx, uint64_t group, size_t index, const moqc_frame *f) {
  cli_reader *r = ctx;
  r->dirty = true;
  return r->on_frame(r->ctx, group, index, moqc_slice_ptr(&f->payload), f->payload.len);
}

static void reader_end(void *ctx, int err, uint64_t code) {
  cli_reader *r = ctx;
  fflush(stdout);
  r->on_end(r->ctx, err, code);
}

static void reader_event(void *ctx, const moqc_ordered_event *ev) {
  (void)ctx;
  unsigned long long lo = ev->lo, hi = ev->hi;
  switch (ev->kind) {
    case MOQC_ORDERED_SKIPPED:
      moqc_log(MOQC_LOG_WARN, "groups %llu..%llu missing after %llu ms: skipped", lo, hi,
               (unsigned long long)ev->waited_ms);
      break;
    case MOQC_ORDERED_NEVER:
      moqc_log(MOQC_LOG_WARN, "groups %llu..%llu never arrived", lo, hi);
      break;
    case MOQC_ORDERED_GROUP_LOST:
      moqc_log(MOQC_LOG_WARN, "group %llu lost after %zu frame(s): %s (%s)", lo, ev->frames,
               moqc_err_str(ev->err), moqc_code_str(ev->code));
      break;
  }
}

static void reader_flush(uv_check_t *h) {
  cli_reader *r = h->data;
  if (!r->dirty) return;
  r->dirty = false;
  fflush(stdout);
}

cli_reader *cli_reader_new(uv_loop_t *loop, moqc_track_consumer *tc, uint64_t start,
                           uint64_t reorder_ms, cli_reader_frame_fn on_frame,
                           cli_reader_end_fn on_end, void *ctx) {
  cli_reader *r = calloc(1, sizeof *r);
  if (!r) {
    moqc_track_consumer_del(tc);
    return NULL;
  }
  r->on_frame = on_frame;
  r->on_end = on_end;
  r->ctx = ctx;
  moqc_ordered_config oc = {.start = start,
                            .reorder_ms = reorder_ms,
                            .on_frame = reader_frame,
                            .on_end = reader_end,
                            .on_event = reader_event,
                            .ctx = r};
  r->rd = moqc_ordered_reader_new(tc, &oc);
  if (!r->rd) {
    free(r);
    return NULL;
  }
  uv_check_init(loop, &r->flush);
  r->flush.data = r;
  uv_check_start(&r->flush, reader_flush);
  return r;
}

static void reader_closed(uv_handle_t *h) { free(h->data); }

moqc_end_reason cli_reader_end_reason(const cli_reader *r) {
  return moqc_track_consumer_end_reason(moqc_ordered_reader_track(r->rd));
}

void cli_reader_del(cli_reader *r) {
  if (!r) return;
  moqc_ordered_reader_del(r->rd);
  r->rd = NULL;
  if (r->dirty) fflush(stdout);
  uv_close((uv_handle_t *)&r->flush, reader_closed);
}

/* ---- broadcast waiter ------------------------------------------------------------ */

struct cli_waiter {
  moqc_origin_consumer *oc;
  char path[MOQC_PATH_MAX_LEN + 1];
  cli_waiter_fn fn;
  void *ctx;
};

static void waiter_wake(void *arg) {
  cli_waiter *w = arg;
  moqc_announce a;
  while (moqc_origin_consumer_next(w->oc, &a) == MOQC_OK) {
    if (a.restart || strcmp(a.path, w->path) != 0) continue; /* restart: same broadcast */
    if (!a.active) {
      w->fn(w->ctx, NULL, false);
      continue;
    }
    int err = 0;
    moqc_broadcast_consumer *bc = moqc_origin_consumer_request(w->oc, w->path, &err);
    if (!bc) {
      moqc_log(MOQC_LOG_WARN, "broadcast '%s' announced but unavailable: %s", w->path,
               moqc_err_str(err));
      continue;
    }
    w->fn(w->ctx, bc, true);
  }
}

cli_waiter *cli_waiter_new(moqc_origin *o, const char *path, cli_waiter_fn fn, void *ctx) {
  cli_waiter *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  if (moqc_path_normalize(w->path, sizeof w->path, path, strlen(path)) < 0 ||
      !(w->oc = moqc_origin_consume(o, w->path))) {
    free(w);
    return NULL;
  }
  w->fn = fn;
  w->ctx = ctx;
  moqc_origin_consumer_set_waker(w->oc, waiter_wake, w);
  return w;
}

void cli_waiter_del(cli_waiter *w) {
  if (!w) return;
  moqc_origin_consumer_del(w->oc);
  free(w);
}

/* ---- moqc subscribe ----------------------------------------------------------------- */

/* How long the broadcast may stay away: after it ended with the track still
 * open, and after the track was replaced or dropped, before we give up. */
#define ENDED_GRACE_MS 3000

typedef struct sub_state {
  cli *c;
  cli_waiter *waiter;
  cli_reader *reader;
  uint64_t frames;
  uv_timer_t wait_timer;  /* --wait for the announcement */
  uv_timer_t ended_timer; /* broadcast ended, the track has not (yet) */
  uv_timer_t lost_timer;  /* the track was replaced / dropped: waiting for the new source */
  bool timers;
  bool lost; /* no reader: the track ended without its publisher finishing it */
  char lost_why[160];
  int closing;
} sub_state;

static bool sub_frame(void *ctx, uint64_t group, size_t index, const uint8_t *p, size_t n) {
  sub_state *s = ctx;
  (void)group, (void)index;
  if (n) fwrite(p, 1, n, stdout);
  fputc('\n', stdout);
  s->frames++;
  if (s->c->count && s->frames >= s->c->count) {
    cli_finish(s->c, 0, NULL);
    return false;
  }
  return true;
}

static void sub_on_lost_timer(uv_timer_t *t) {
  sub_state *s = t->data;
  cli_finish(s->c, 1, "%s", s->lost_why);
}

static void sub_end(void *ctx, int err, uint64_t code) {
  sub_state *s = ctx;
  cli *c = s->c;
  moqc_end_reason why = cli_reader_end_reason(s->reader);
  if (err == MOQC_ERR_CLOSED) {
    moqc_log(MOQC_LOG_INFO, "track ended after %llu frame(s)", (unsigned long long)s->frames);
    if (c->count && s->frames < c->count)
      cli_finish(c, 1, "track '%s' ended after %llu of %llu frames", c->track,
                 (unsigned long long)s->frames, (unsigned long long)c->count);
    else cli_finish(c, 0, NULL);
    return;
  }
  snprintf(s->lost_why, sizeof s->lost_why, "track '%s' of '%s' aborted: %s (code %llu %s)",
           c->track, c->broadcast, moqc_err_str(err), (unsigned long long)code,
           moqc_code_str(code));
  if (why != MOQC_END_REPLACED && err != MOQC_ERR_DROPPED) {
    cli_finish(c, 1, "%s", s->lost_why);
    return;
  }
  /* Replaced by a new publisher (or dropped: the replacement may not be
   * announced yet): follow the broadcast to its new source. The waiter
   * subscribes again when it is announced; give up after the grace. */
  moqc_log(MOQC_LOG_INFO, "track '%s' of '%s' %s: waiting for the broadcast's new source", c->track,
           c->broadcast, why == MOQC_END_REPLACED ? "replaced" : "dropped");
  cli_reader_del(s->reader);
  s->reader = NULL;
  s->lost = true;
  uv_timer_stop(&s->ended_timer);
  uv_timer_start(&s->lost_timer, sub_on_lost_timer, ENDED_GRACE_MS, 0);
}

static void sub_on_ended_timer(uv_timer_t *t) {
  sub_state *s = t->data;
  cli_finish(s->c, 1, "broadcast '%s' ended before track '%s' did", s->c->broadcast, s->c->track);
}

static void sub_on_wait_timer(uv_timer_t *t) {
  sub_state *s = t->data;
  cli_finish(s->c, 1, "broadcast '%s' not found: not announced within %llu ms", s->c->broadcast,
             (unsigned long long)(s->c->wait_ns / 1000000));
}

static void sub_broadcast(void *ctx, moqc_broadcast_consumer *bc, bool active) {
  sub_state *s = ctx;
  cli *c = s->c;
  if (!active) {
    moqc_log(MOQC_LOG_INFO, "broadcast '%s' ended", c->broadcast);
    if (s->reader) uv_timer_start(&s->ended_timer, sub_on_ended_timer, ENDED_GRACE_MS, 0);
    return;
  }
  uv_timer_stop(&s->wait_timer);
  uv_timer_stop(&s->ended_timer);
  uv_timer_stop(&s->lost_timer);
  if (s->reader || s->lost)
    moqc_log(MOQC_LOG_INFO, "broadcast '%s' replaced: subscribing again", c->broadcast);
  cli_reader_del(s->reader);
  s->reader = NULL;
  s->lost = false;
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  sub.ordered = true;
  if (c->start_group_set) sub.start = c->start_group;
  int err = 0;
  moqc_track_consumer *tc = moqc_broadcast_consumer_subscribe(bc, c->track, &sub, &err);
  moqc_broadcast_consumer_del(bc); /* the track keeps what it needs */
  if (!tc) {
    cli_finish(c, 1, "cannot subscribe to track '%s' of '%s': %s", c->track, c->broadcast,
               moqc_err_str(err));
    return;
  }
  moqc_log(MOQC_LOG_INFO, "subscribed to '%s' track '%s'", c->broadcast, c->track);
  s->reader = cli_reader_new(&c->loop, tc, sub.start, c->reorder_ms, sub_frame, sub_end, s);
  if (!s->reader) cli_finish(c, 1, "out of memory");
}

static int sub_start(cli *c) {
  sub_state *s = calloc(1, sizeof *s);
  if (!s) return -1;
  s->c = c;
  c->state = s;
  if (!c->track) c->track = "data";
  uv_timer_init(&c->loop, &s->wait_timer);
  uv_timer_init(&c->loop, &s->ended_timer);
  uv_timer_init(&c->loop, &s->lost_timer);
  s->wait_timer.data = s->ended_timer.data = s->lost_timer.data = s;
  s->timers = true;
  s->waiter = cli_waiter_new(c->origin, c->broadcast, sub_broadcast, s);
  if (!s->waiter) {
    cli_finish(c, 2, "invalid broadcast path '%s'", c->broadcast);
    return -1;
  }
  return 0;
}

static void sub_connected(cli *c) {
  sub_state *s = c->state;
  if (!s->reader) uv_timer_start(&s->wait_timer, sub_on_wait_timer, c->wait_ns / 1000000 + 1, 0);
}

static void sub_closed(uv_handle_t *h) {
  sub_state *s = h->data;
  if (--s->closing == 0) free(s);
}

static void sub_stop(cli *c) {
  sub_state *s = c->state;
  if (!s) return;
  c->state = NULL;
  cli_reader_del(s->reader);
  cli_waiter_del(s->waiter);
  if (!s->timers) {
    free(s);
    return;
  }
  s->closing = 3; /* freed once the three timers are closed */
  uv_close((uv_handle_t *)&s->wait_timer, sub_closed);
  uv_close((uv_handle_t *)&s->ended_timer, sub_closed);
  uv_close((uv_handle_t *)&s->lost_timer, sub_closed);
}

const cli_cmd cli_cmd_subscribe = {
    .name = "subscribe",
    .subscribes = true,
    .start = sub_start,
    .connected = sub_connected,
    .stop = sub_stop,
};
