/* `moqc clock publish|subscribe`: wire-compatible with moq-dev's clock example
 * (rs/moq-native/examples/clock.rs, js/clock). Track "seconds"; one group per
 * minute, its sequence starting at the current minute-of-hour and counting up;
 * the group's first frame is "YYYY-MM-DD HH:MM:" (UTC), then one "SS" frame per
 * second. The subscriber prints base + SS for every second frame. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "moqc/error.h"
#include "common/tool_util.h"

/* ---- publish --------------------------------------------------------------------- */

typedef struct clock_pub {
  cli *c;
  moqc_broadcast_producer *bp;
  moqc_track_producer *tp;
  moqc_group_producer *gp;
  uint64_t seq;
  int minute; /* minute of the open group */
  uv_timer_t timer;
  bool stopping;
} clock_pub;

static uint64_t now_ms(struct tm *tm) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, tm);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int clock_frame(clock_pub *p, const char *s, uint64_t ms) {
  return moqc_group_producer_write_frame_copy(p->gp, s, strlen(s), ms);
}

static void clock_tick(uv_timer_t *t) {
  clock_pub *p = t->data;
  struct tm tm;
  uint64_t ms = now_ms(&tm);
  int rv = MOQC_OK;
  if (p->gp && tm.tm_min != p->minute) { /* a new minute: a new group */
    moqc_group_producer_finish(p->gp);
    moqc_group_producer_del(p->gp);
    p->gp = NULL;
  }
  if (!p->gp) {
    rv = moqc_track_producer_create_group(p->tp, p->seq++, &p->gp);
    if (rv == MOQC_OK) {
      char base[64];
      strftime(base, sizeof base, "%Y-%m-%d %H:%M:", &tm);
      p->minute = tm.tm_min;
      rv = clock_frame(p, base, ms);
    }
  }
  if (rv == MOQC_OK) {
    char sec[8];
    snprintf(sec, sizeof sec, "%02d", tm.tm_sec);
    rv = clock_frame(p, sec, ms);
  }
  if (rv != MOQC_OK) {
    cli_finish(p->c, 1, "clock: cannot write: %s", moqc_err_str(rv));
    return;
  }
  /* Next tick right after the next second boundary. */
  uv_timer_start(&p->timer, clock_tick, 1000 - ms % 1000 + 1, 0);
}

static void clock_grace(uv_timer_t *t) {
  clock_pub *p = t->data;
  cli_finish(p->c, 0, NULL);
}

static int cpub_start(cli *c) {
  clock_pub *p = calloc(1, sizeof *p);
  if (!p) return -1;
  p->c = c;
  c->state = p;
  if (!c->track) c->track = "seconds";
  uv_timer_init(&c->loop, &p->timer);
  p->timer.data = p;
  struct tm tm;
  now_ms(&tm);
  p->seq = (uint64_t)tm.tm_min; /* as moq-dev: "don't start at zero" */
  return cli_publish_track(c, &p->bp, &p->tp);
}

static void cpub_connected(cli *c) {
  clock_pub *p = c->state;
  uv_timer_start(&p->timer, clock_tick, 0, 0);
}

/* SIGINT: end the group, the track and the broadcast cleanly, then exit. */
static void cpub_interrupt(cli *c) {
  clock_pub *p = c->state;
  if (!p || p->stopping) {
    cli_finish(c, 0, NULL);
    return;
  }
  p->stopping = true;
  if (p->gp) {
    moqc_group_producer_finish(p->gp);
    moqc_group_producer_del(p->gp);
    p->gp = NULL;
  }
  moqc_track_producer_finish(p->tp);
  moqc_broadcast_producer_finish(p->bp);
  uv_timer_start(&p->timer, clock_grace, 200, 0);
}

static void cpub_closed(uv_handle_t *h) { free(h->data); }

static void cpub_stop(cli *c) {
  clock_pub *p = c->state;
  if (!p) return;
  c->state = NULL;
  moqc_group_producer_del(p->gp);
  moqc_track_producer_del(p->tp);
  moqc_broadcast_producer_del(p->bp);
  uv_close((uv_handle_t *)&p->timer, cpub_closed);
}

const cli_cmd cli_cmd_clock_publish = {
    .name = "clock publish",
    .publishes = true,
    .start = cpub_start,
    .connected = cpub_connected,
    .stop = cpub_stop,
    .interrupt = cpub_interrupt,
};

/* ---- subscribe ---------------------------------------------------------------------- */

typedef struct clock_sub {
  cli *c;
  cli_waiter *waiter;
  cli_reader *reader;
  char base[256];
  uint64_t lines;
  uv_timer_t wait_timer;
} clock_sub;

static bool csub_frame(void *ctx, uint64_t group, size_t index, const uint8_t *p, size_t n) {
  clock_sub *s = ctx;
  (void)group;
  if (index == 0) { /* the "YYYY-MM-DD HH:MM:" prefix */
    size_t k = n < sizeof s->base - 1 ? n : sizeof s->base - 1;
    memcpy(s->base, p, k);
    s->base[k] = 0;
    return true;
  }
  printf("%s%.*s\n", s->base, (int)n, (const char *)p);
  if (s->c->count && ++s->lines >= s->c->count) {
    cli_finish(s->c, 0, NULL);
    return false;
  }
  return true;
}

static void csub_end(void *ctx, int err, uint64_t code) {
  clock_sub *s = ctx;
  if (err == MOQC_ERR_CLOSED) { /* as moq-dev: wait for the clock to come back */
    moqc_log(MOQC_LOG_WARN, "clock track ended; waiting for the broadcast");
    return;
  }
  cli_finish(s->c, 1, "clock error: %s (code %llu %s)", moqc_err_str(err), (unsigned long long)code,
             moqc_code_str(code));
}

static void csub_broadcast(void *ctx, moqc_broadcast_consumer *bc, bool active) {
  clock_sub *s = ctx;
  cli *c = s->c;
  if (!active) {
    moqc_log(MOQC_LOG_WARN, "broadcast '%s' is offline, waiting...", c->broadcast);
    return;
  }
  uv_timer_stop(&s->wait_timer);
  cli_reader_del(s->reader); /* drops the previous subscriber on each new announce */
  s->reader = NULL;
  int err = 0;
  moqc_track_consumer *tc = moqc_broadcast_consumer_subscribe(bc, c->track, NULL, &err);
  moqc_broadcast_consumer_del(bc);
  if (!tc) {
    cli_finish(c, 1, "cannot subscribe to '%s': %s", c->track, moqc_err_str(err));
    return;
  }
  s->base[0] = 0;
  s->reader = cli_reader_new(&c->loop, tc, MOQC_GROUP_NONE, c->reorder_ms, csub_frame, csub_end, s);
  if (!s->reader) cli_finish(c, 1, "out of memory");
}

static void csub_wait_expired(uv_timer_t *t) {
  clock_sub *s = t->data;
  cli_finish(s->c, 1, "broadcast '%s' not found: not announced in time", s->c->broadcast);
}

static int csub_start(cli *c) {
  clock_sub *s = calloc(1, sizeof *s);
  if (!s) return -1;
  s->c = c;
  c->state = s;
  if (!c->track) c->track = "seconds";
  uv_timer_init(&c->loop, &s->wait_timer);
  s->wait_timer.data = s;
  s->waiter = cli_waiter_new(c->origin, c->broadcast, csub_broadcast, s);
  if (!s->waiter) {
    cli_finish(c, 2, "invalid broadcast path '%s'", c->broadcast);
    return -1;
  }
  return 0;
}

static void csub_connected(cli *c) {
  clock_sub *s = c->state;
  if (c->wait_set && !s->reader)
    uv_timer_start(&s->wait_timer, csub_wait_expired, c->wait_ns / 1000000 + 1, 0);
}

static void csub_closed(uv_handle_t *h) { free(h->data); }

static void csub_stop(cli *c) {
  clock_sub *s = c->state;
  if (!s) return;
  c->state = NULL;
  cli_reader_del(s->reader);
  cli_waiter_del(s->waiter);
  uv_close((uv_handle_t *)&s->wait_timer, csub_closed);
}

const cli_cmd cli_cmd_clock_subscribe = {
    .name = "clock subscribe",
    .subscribes = true,
    .start = csub_start,
    .connected = csub_connected,
    .stop = csub_stop,
};
