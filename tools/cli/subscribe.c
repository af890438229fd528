/* `moqc subscribe`, plus two pieces shared with `moqc clock subscribe`: the
 * ordered track reader and the broadcast waiter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "moqc/error.h"
#include "moqc/path.h"
#include "common/tool_util.h"

/* ---- ordered track reader -------------------------------------------------------
 * Groups arrive in any order (one stream each). The reader hands them over in
 * sequence order: it expects `next` (the subscription's start, else the first
 * group seen), and a group above it waits up to the reorder window for the
 * missing ones before the gap is skipped. A group that arrives below `next`
 * (too late) is handed over at once rather than dropped. Once the track ended
 * cleanly nothing else can come, so whatever is held is flushed in order. */

typedef struct rgroup {
  moqc_group_consumer *gc;
  uint64_t seq;
  size_t index; /* frames handed over */
} rgroup;

struct cli_reader {
  moqc_track_consumer *tc;
  rgroup *groups; /* sorted by sequence, except that groups[0] may be "started" */
  size_t n, cap;
  uint64_t next;  /* the sequence expected next, MOQC_GROUP_NONE until known */
  bool head_started;
  bool track_done;
  int track_err;
  bool stopped; /* the frame callback said stop, or the end was reported */
  bool pumping;
  bool gap_open; /* waiting for missing groups */
  uint64_t reorder_ms;
  uv_timer_t gap_timer;
  cli_reader_frame_fn on_frame;
  cli_reader_end_fn on_end;
  void *ctx;
};

static void reader_pump(cli_reader *r);
static void reader_wake(void *arg) { reader_pump(arg); }

static int reader_insert(cli_reader *r, moqc_group_consumer *gc) {
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 16;
    rgroup *g = realloc(r->groups, cap * sizeof *g);
    if (!g) return -1;
    r->groups = g;
    r->cap = cap;
  }
  uint64_t seq = moqc_group_consumer_sequence(gc);
  size_t at = r->head_started ? 1 : 0; /* never in front of a group being printed */
  while (at < r->n && r->groups[at].seq <= seq) at++;
  memmove(&r->groups[at + 1], &r->groups[at], (r->n - at) * sizeof *r->groups);
  r->groups[at] = (rgroup){gc, seq, 0};
  r->n++;
  if (r->next == MOQC_GROUP_NONE) r->next = seq;
  moqc_group_consumer_set_waker(gc, reader_wake, r);
  return 0;
}

static void reader_pop(cli_reader *r) {
  uint64_t seq = r->groups[0].seq;
  if (seq >= r->next || r->next == MOQC_GROUP_NONE) r->next = seq + 1;
  moqc_group_consumer_del(r->groups[0].gc);
  memmove(&r->groups[0], &r->groups[1], (r->n - 1) * sizeof *r->groups);
  r->n--;
  r->head_started = false;
}

/* Hand over the head group's frames; true once it is done. */
static bool reader_head(cli_reader *r) {
  rgroup *h = &r->groups[0];
  moqc_frame f;
  int rv;
  while ((rv = moqc_group_consumer_read_frame(h->gc, &f)) == MOQC_OK) {
    r->head_started = true;
    bool more = r->on_frame(r->ctx, h->seq, h->index++, moqc_slice_ptr(&f.payload), f.payload.len);
    moqc_slice_release(&f.payload);
    if (!more) {
      r->stopped = true;
      return false;
    }
  }
  if (rv == MOQC_ERR_AGAIN) return false;
  if (rv != MOQC_ERR_CLOSED)
    moqc_log(MOQC_LOG_WARN, "group %llu lost after %zu frame(s): %s (%s)",
             (unsigned long long)h->seq, h->index, moqc_err_str(rv),
             moqc_code_str(moqc_group_consumer_code(h->gc)));
  return true;
}

static void on_gap(uv_timer_t *t) {
  cli_reader *r = t->data;
  r->gap_open = false;
  if (r->stopped || r->n == 0 || r->groups[0].seq <= r->next) return;
  moqc_log(MOQC_LOG_WARN, "groups %llu..%llu missing after %llu ms: skipped",
           (unsigned long long)r->next, (unsigned long long)(r->groups[0].seq - 1),
           (unsigned long long)r->reorder_ms);
  r->next = r->groups[0].seq;
  reader_pump(r);
}

/* May the head group be handed over now? */
static bool head_ready(cli_reader *r) {
  const rgroup *h = &r->groups[0];
  if (r->head_started || h->seq <= r->next) return true;
  if (r->track_done && r->track_err == MOQC_ERR_CLOSED) { /* nothing else comes */
    moqc_log(MOQC_LOG_WARN, "groups %llu..%llu never arrived", (unsigned long long)r->next,
             (unsigned long long)(h->seq - 1));
    r->next = h->seq;
    return true;
  }
  if (!r->gap_open) {
    r->gap_open = true;
    uv_timer_start(&r->gap_timer, on_gap, r->reorder_ms, 0);
  }
  return false;
}

static void reader_pump(cli_reader *r) {
  if (r->stopped || r->pumping) return;
  r->pumping = true;
  moqc_group_consumer *gc;
  int rv = MOQC_ERR_AGAIN;
  while (!r->track_done && (rv = moqc_track_consumer_recv_group(r->tc, &gc)) == MOQC_OK) {
    if (reader_insert(r, gc) != 0) {
      moqc_group_consumer_del(gc);
      rv = MOQC_ERR_NOMEM;
      break;
    }
  }
  if (!r->track_done && rv != MOQC_ERR_AGAIN) {
    r->track_done = true;
    r->track_err = rv;
  }
  while (!r->stopped && r->n > 0 && head_ready(r) && reader_head(r)) reader_pop(r);
  if (r->n == 0 || r->groups[0].seq <= r->next) {
    uv_timer_stop(&r->gap_timer);
    r->gap_open = false;
  }
  fflush(stdout);
  r->pumping = false;
  if (!r->stopped && r->track_done && (r->n == 0 || r->track_err != MOQC_ERR_CLOSED)) {
    r->stopped = true;
    r->on_end(r->ctx, r->track_err, moqc_track_consumer_code(r->tc));
  }
}

cli_reader *cli_reader_new(uv_loop_t *loop, moqc_track_consumer *tc, uint64_t start,
                           uint64_t reorder_ms, cli_reader_frame_fn on_frame,
                           cli_reader_end_fn on_end, void *ctx) {
  cli_reader *r = calloc(1, sizeof *r);
  if (!r) {
    moqc_track_consumer_del(tc);
    return NULL;
  }
  r->tc = tc;
  r->next = start;
  r->reorder_ms = reorder_ms;
  r->on_frame = on_frame;
  r->on_end = on_end;
  r->ctx = ctx;
  uv_timer_init(loop, &r->gap_timer);
  r->gap_timer.data = r;
  moqc_track_consumer_set_waker(tc, reader_wake, r); /* fires at once if data is there */
  return r;
}

static void reader_closed(uv_handle_t *h) { free(h->data); }

void cli_reader_del(cli_reader *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n; i++) moqc_group_consumer_del(r->groups[i].gc);
  free(r->groups);
  r->groups = NULL;
  r->n = 0;
  r->stopped = true;
  moqc_track_consumer_del(r->tc);
  r->tc = NULL;
  uv_close((uv_handle_t *)&r->gap_timer, reader_closed);
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
    if (strcmp(a.path, w->path) != 0) continue;
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

#define ENDED_GRACE_MS 3000

typedef struct sub_state {
  cli *c;
  cli_waiter *waiter;
  cli_reader *reader;
  uint64_t frames;
  uv_timer_t wait_timer;  /* --wait for the announcement */
  uv_timer_t ended_timer; /* broadcast ended, the track has not (yet) */
  bool timers;
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

static void sub_end(void *ctx, int err, uint64_t code) {
  sub_state *s = ctx;
  if (err == MOQC_ERR_CLOSED) {
    moqc_log(MOQC_LOG_INFO, "track ended after %llu frame(s)", (unsigned long long)s->frames);
    if (s->c->count && s->frames < s->c->count)
      cli_finish(s->c, 1, "track '%s' ended after %llu of %llu frames", s->c->track,
                 (unsigned long long)s->frames, (unsigned long long)s->c->count);
    else cli_finish(s->c, 0, NULL);
    return;
  }
  cli_finish(s->c, 1, "track '%s' of '%s' aborted: %s (code %llu %s)", s->c->track,
             s->c->broadcast, moqc_err_str(err), (unsigned long long)code, moqc_code_str(code));
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
  if (s->reader) moqc_log(MOQC_LOG_INFO, "broadcast '%s' replaced: subscribing again", c->broadcast);
  cli_reader_del(s->reader);
  s->reader = NULL;
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
  s->wait_timer.data = s->ended_timer.data = s;
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
  if (!s->reader)
    uv_timer_start(&s->wait_timer, sub_on_wait_timer, c->wait_ns / 1000000 + 1, 0);
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
  s->closing = 2; /* freed once both timers are closed */
  uv_close((uv_handle_t *)&s->wait_timer, sub_closed);
  uv_close((uv_handle_t *)&s->ended_timer, sub_closed);
}

const cli_cmd cli_cmd_subscribe = {
    .name = "subscribe",
    .subscribes = true,
    .start = sub_start,
    .connected = sub_connected,
    .stop = sub_stop,
};
