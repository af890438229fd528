/* `moqc publish`: each stdin line (without its newline) is one frame; a new
 * group every --group-frames frames. stdin is read once the session is up.
 *
 * At EOF (or SIGINT) the group and the track are finished, then we wait
 * (bounded by --drain) until the relay has everything: it subscribed, every
 * group stream was sent completely and nothing is in flight -- or until nobody
 * can receive anything any more: the relay subscribed, and then every
 * subscription ended (e.g. the last subscriber left in the middle of a group).
 * Only then is the broadcast finished (ANNOUNCE ended) and the connection
 * closed, so subscribers see a clean end rather than a dropped publisher. If
 * the drain time runs out we warn (what was not delivered) and still end
 * cleanly. The wait is driven by the session's `idle` event
 * (moqc_session_set_events), not by polling its statistics.
 *
 * --wait-subscriber: stdin is read only once the relay subscribed; if nobody
 * does within its bound, the broadcast is ended cleanly and we exit 1.
 *
 * --push (IETF): once connected, and before stdin is read, the track is pushed
 * with PUBLISH (moqc_session_publish_track), so the relay takes every group
 * whether anyone subscribed yet; groups written before its PUBLISH_OK wait in
 * the track's cache. An accepted push counts as "the relay subscribed" for
 * the drain. A refused push (moq-dev's relay declines every PUBLISH) leaves
 * the usual path: the broadcast is announced and the relay SUBSCRIBEs. On a
 * moq-lite session (negotiated, when --version allowed both) it is a warning
 * and a no-op; --version with only moq-lite values is a usage error (main.c). */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "moqc/error.h"
#include "moqc/path.h"
#include "common/tool_util.h"

#define LINE_MAX_BYTES ((size_t)16 << 20)
#define ANNOUNCE_GRACE_MS 150
/* How long "subscribed once, nobody subscribed now" must hold before the drain
 * gives up on delivery: rides over a relay that cancels and re-subscribes. */
#define UNSUBSCRIBED_SETTLE_MS 200

enum { IN_NONE, IN_STREAM, IN_FILE };
enum { PH_READING, PH_DRAIN, PH_GRACE, PH_DONE };

typedef struct pub_state {
  cli *c;
  moqc_broadcast_producer *bp;
  moqc_track_producer *tp;
  moqc_group_producer *gp;
  uint64_t in_group;
  bool any_group;
  uint64_t groups; /* created */
  uint64_t frames;
  uint64_t t0;

  int in_kind;
  union {
    uv_pipe_t pipe;
    uv_tty_t tty;
    uv_stream_t stream;
  } in;
  uv_fs_t fsreq;
  bool fs_pending;
  bool in_open;
  char buf[65536];
  char *line;
  size_t len, cap;

  bool pushed; /* --push: moqc_session_publish_track succeeded */
  bool input_started;
  int phase;
  uv_timer_t timer; /* --wait-subscriber bound / drain deadline / grace */
  uint64_t drain_deadline;
  uint64_t unsubscribed_since; /* drain: when nobody subscribed any more (0: not so) */
  int exit_code;               /* after the grace */
  char fail_msg[256];          /* with exit_code != 0 */
  int closing;
} pub_state;

static void pub_eof(pub_state *s);
static void pub_closed(uv_handle_t *h);

static void end_group(pub_state *s) {
  if (!s->gp) return;
  moqc_group_producer_finish(s->gp);
  moqc_group_producer_del(s->gp);
  s->gp = NULL;
  s->in_group = 0;
}

static int write_frame(pub_state *s, const char *p, size_t n) {
  cli *c = s->c;
  if (!s->gp) {
    if (!s->any_group) {
      int rv = moqc_track_producer_create_group(s->tp, c->start_group, &s->gp);
      if (rv != MOQC_OK) return rv;
      s->any_group = true;
    } else if (!(s->gp = moqc_track_producer_append_group(s->tp))) {
      return MOQC_ERR_NOMEM;
    }
    s->groups++;
    if (c->datagram) moqc_group_producer_set_datagram(s->gp);
  }
  int rv = moqc_group_producer_write_frame_copy(s->gp, p, n, uv_now(&c->loop) - s->t0);
  if (rv != MOQC_OK) return rv;
  s->frames++;
  if (++s->in_group >= c->group_frames) end_group(s);
  return MOQC_OK;
}

static void feed(pub_state *s, const char *p, size_t n) {
  while (n > 0 && s->phase == PH_READING) {
    const char *nl = memchr(p, '\n', n);
    size_t take = nl ? (size_t)(nl - p) : n;
    int rv = MOQC_OK;
    if (nl && s->len == 0) {
      rv = write_frame(s, p, take); /* whole line in the buffer: no copy to `line` */
    } else {
      if (s->len + take > LINE_MAX_BYTES) {
        cli_finish(s->c, 1, "stdin: line longer than %zu bytes", LINE_MAX_BYTES);
        return;
      }
      if (s->len + take > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + take) cap *= 2;
        char *q = realloc(s->line, cap);
        if (!q) {
          cli_finish(s->c, 1, "out of memory");
          return;
        }
        s->line = q;
        s->cap = cap;
      }
      memcpy(s->line + s->len, p, take);
      s->len += take;
      if (nl) {
        rv = write_frame(s, s->line, s->len);
        s->len = 0;
      }
    }
    if (rv != MOQC_OK) {
      cli_finish(s->c, 1, "cannot publish a frame: %s", moqc_err_str(rv));
      return;
    }
    p += take + (nl ? 1 : 0);
    n -= take + (nl ? 1 : 0);
  }
}

/* ---- stdin ---------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  pub_state *s = h->data;
  (void)hint;
  *buf = uv_buf_init(s->buf, sizeof s->buf);
}

static void on_stream_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  pub_state *s = st->data;
  if (n > 0) feed(s, buf->base, (size_t)n);
  else if (n == UV_EOF) pub_eof(s);
  else if (n < 0) cli_finish(s->c, 1, "stdin: %s", uv_strerror((int)n));
}

static void fs_next(pub_state *s);

static void pub_release(pub_state *s) {
  if (--s->closing == 0) {
    free(s->line);
    free(s);
  }
}

static void on_fs_read(uv_fs_t *req) {
  pub_state *s = req->data;
  ssize_t n = req->result;
  uv_fs_req_cleanup(req);
  s->fs_pending = false;
  if (s->phase == PH_DONE) { /* the command was stopped meanwhile */
    pub_release(s);
    return;
  }
  s->closing--;
  if (s->c->finishing || s->phase != PH_READING) return;
  if (n > 0) {
    feed(s, s->buf, (size_t)n);
    fs_next(s);
  } else if (n == 0) {
    pub_eof(s);
  } else {
    cli_finish(s->c, 1, "stdin: %s", uv_strerror((int)n));
  }
}

static void fs_next(pub_state *s) {
  if (s->phase != PH_READING || s->c->finishing) return;
  uv_buf_t b = uv_buf_init(s->buf, sizeof s->buf);
  s->fsreq.data = s;
  if (uv_fs_read(&s->c->loop, &s->fsreq, 0, &b, 1, -1, on_fs_read) == 0) {
    s->fs_pending = true;
    s->closing++; /* the state outlives the request */
  } else {
    cli_finish(s->c, 1, "stdin: cannot read");
  }
}

static void start_input(pub_state *s) {
  uv_loop_t *loop = &s->c->loop;
  uv_handle_type t = uv_guess_handle(0);
  int rv = -1;
  if (t == UV_TTY) rv = uv_tty_init(loop, &s->in.tty, 0, 1);
  else if (t == UV_NAMED_PIPE && (rv = uv_pipe_init(loop, &s->in.pipe, 0)) == 0) {
    rv = uv_pipe_open(&s->in.pipe, 0);
    if (rv != 0) { /* fall back to file reads */
      s->in.pipe.data = s;
      s->closing++;
      uv_close((uv_handle_t *)&s->in.pipe, pub_closed);
    }
  }
  if ((t == UV_TTY || t == UV_NAMED_PIPE) && rv == 0) {
    s->in_kind = IN_STREAM;
    s->in_open = true;
    s->in.stream.data = s;
    uv_read_start(&s->in.stream, on_alloc, on_stream_read);
    return;
  }
  s->in_kind = IN_FILE;
  fs_next(s);
}

/* ---- end of input, drain ------------------------------------------------------------ */

static void pub_close_input(pub_state *s);

static void on_grace(uv_timer_t *t) {
  pub_state *s = t->data;
  s->phase = PH_DONE;
  if (s->exit_code != 0) {
    cli_finish(s->c, s->exit_code, "%s", s->fail_msg);
    return;
  }
  moqc_session *sess = cli_session(s->c);
  if (s->pushed && sess)
    moqc_log(MOQC_LOG_INFO, "push %s by the relay",
             moqc_session_get_stats(sess).pushes_accepted ? "accepted" : "refused");
  moqc_log(MOQC_LOG_INFO, "published %llu frame(s)", (unsigned long long)s->frames);
  cli_finish(s->c, 0, NULL);
}

static void finish_broadcast(pub_state *s) {
  s->phase = PH_GRACE;
  uv_timer_stop(&s->timer);
  if (s->bp) moqc_broadcast_producer_finish(s->bp);
  uv_timer_start(&s->timer, on_grace, ANNOUNCE_GRACE_MS, 0);
}

/* Delivered: the relay subscribed, every group stream we created was sent
 * completely (FIN acknowledged) at least once, and no subscription or group is
 * still in flight. (A relay may subscribe, cancel and subscribe again, e.g.
 * lite-05 TRACK then SUBSCRIBE, so one ended subscription is not enough.)
 *
 * Event-driven: checked when the drain starts, on the session's `idle` event
 * (nothing served, nothing in flight), and on one timer armed for the next
 * deadline that matters (the --drain bound, or the end of the "nobody
 * subscribed any more" settle time). No polling. */
static void drain_check(pub_state *s);

static void on_drain_timer(uv_timer_t *t) { drain_check(t->data); }

static void on_session_idle(void *ctx, moqc_session *sess) {
  (void)sess;
  pub_state *s = ctx;
  if (s->phase == PH_DRAIN) drain_check(s);
}

static const moqc_session_events k_drain_events = {.idle = on_session_idle};

/* The track's demand changed (a subscriber came or went). */
static void on_drain_demand(void *arg) {
  pub_state *s = arg;
  if (s->phase == PH_DRAIN) drain_check(s);
}

static void drain_arm(pub_state *s, uint64_t now) {
  uint64_t due = s->drain_deadline;
  if (s->unsubscribed_since && s->unsubscribed_since + UNSUBSCRIBED_SETTLE_MS < due)
    due = s->unsubscribed_since + UNSUBSCRIBED_SETTLE_MS;
  uv_timer_start(&s->timer, on_drain_timer, due > now ? due - now : 0, 0);
}

static void drain_check(pub_state *s) {
  cli *c = s->c;
  if (s->phase != PH_DRAIN) return;
  moqc_session *sess = cli_session(c);
  if (!sess) return; /* on_closed reports it */
  moqc_session_stats st = moqc_session_get_stats(sess);
  bool idle = moqc_session_is_idle(sess);
  /* --datagram: a group sent as datagrams is never acknowledged; count it
   * delivered once sent (one datagram at least per group). */
  uint64_t sent = st.groups_sent + (c->datagram ? st.datagrams_sent : 0);
  /* The relay took the track: it SUBSCRIBEd, or accepted our --push. */
  uint64_t taken = st.subscribes_served + st.pushes_accepted;
  if (idle && (s->groups == 0 || (taken > 0 && sent >= s->groups))) {
    finish_broadcast(s);
    return;
  }
  /* Not everything was delivered, but the relay subscribed and then every
   * subscription ended (its subscribers left, or it cancelled mid-group):
   * nothing we still have can reach anyone, so waiting out --drain helps
   * nobody. (Before any subscription we do wait: a late subscriber still gets
   * the cached groups.) */
  uint64_t now = uv_now(&c->loop);
  if (idle && taken > 0 && moqc_track_producer_demand(s->tp).consumers == 0) {
    if (s->unsubscribed_since == 0) s->unsubscribed_since = now ? now : 1;
    if (now - s->unsubscribed_since >= UNSUBSCRIBED_SETTLE_MS) {
      /* Groups dropped as too old while subscribed are a loss worth a warning;
       * groups nobody asked for any more are not. */
      moqc_log(st.groups_reset_old ? MOQC_LOG_WARN : MOQC_LOG_INFO,
               "nobody is subscribed any more: the relay had received %llu of %llu group(s)%s",
               (unsigned long long)st.groups_sent, (unsigned long long)s->groups,
               st.groups_reset_old ? " (some dropped as too old)" : "");
      finish_broadcast(s);
      return;
    }
  } else {
    s->unsubscribed_since = 0;
  }
  if (now < s->drain_deadline) {
    drain_arm(s, now);
    return;
  }
  if (taken == 0)
    moqc_log(MOQC_LOG_WARN, "nobody subscribed within %llu ms: %llu frame(s) not delivered",
             (unsigned long long)(c->drain_ns / 1000000), (unsigned long long)s->frames);
  else
    moqc_log(MOQC_LOG_WARN, "after %llu ms the relay had received %llu of %llu group(s)%s",
             (unsigned long long)(c->drain_ns / 1000000), (unsigned long long)st.groups_sent,
             (unsigned long long)s->groups, idle ? "" : " (some still in flight)");
  finish_broadcast(s);
}

static void pub_eof(pub_state *s) {
  if (s->phase != PH_READING) return;
  if (s->len) { /* a last line without newline is a frame too */
    int rv = write_frame(s, s->line, s->len);
    s->len = 0;
    if (rv != MOQC_OK) {
      cli_finish(s->c, 1, "cannot publish a frame: %s", moqc_err_str(rv));
      return;
    }
  }
  s->phase = PH_DRAIN;
  pub_close_input(s);
  end_group(s);
  moqc_track_producer_finish(s->tp);
  moqc_log(MOQC_LOG_INFO, "end of input after %llu frame(s); waiting for delivery",
           (unsigned long long)s->frames);
  s->drain_deadline = uv_now(&s->c->loop) + s->c->drain_ns / 1000000;
  moqc_session *sess = cli_session(s->c);
  if (sess) moqc_session_set_events(sess, &k_drain_events, s);
  moqc_track_producer_set_waker(s->tp, on_drain_demand, s);
  drain_check(s);
}

/* ---- command ------------------------------------------------------------------------- */

static int pub_start(cli *c) {
  pub_state *s = calloc(1, sizeof *s);
  if (!s) return -1;
  s->c = c;
  c->state = s;
  if (!c->track) c->track = "data";
  uv_timer_init(&c->loop, &s->timer);
  s->timer.data = s;
  s->closing = 1;
  s->t0 = uv_now(&c->loop);
  return cli_publish_track(c, &s->bp, &s->tp);
}

/* --wait-subscriber: start reading once the relay SUBSCRIBEd to the track
 * (a consumer that is only a lite-05 TRACK info request does not count), so
 * the first subscriber gets every frame. */
static void pub_demand(void *arg) {
  pub_state *s = arg;
  if (s->input_started || !s->c->connected) return;
  moqc_session *sess = cli_session(s->c);
  if (moqc_track_producer_demand(s->tp).consumers == 0 || !sess ||
      moqc_session_get_stats(sess).subscribes_served == 0)
    return;
  moqc_log(MOQC_LOG_INFO, "subscribed: reading stdin");
  uv_timer_stop(&s->timer); /* the --wait-subscriber bound */
  moqc_track_producer_set_waker(s->tp, NULL, NULL);
  s->input_started = true;
  s->t0 = uv_now(&s->c->loop);
  start_input(s);
}

/* --wait-subscriber ran out: end the track and the broadcast cleanly (so the
 * relay unannounces it at once), then exit 1. */
static void on_wait_subscriber_timeout(uv_timer_t *t) {
  pub_state *s = t->data;
  cli *c = s->c;
  if (s->input_started || s->phase != PH_READING) return;
  moqc_track_producer_set_waker(s->tp, NULL, NULL);
  moqc_track_producer_finish(s->tp);
  s->exit_code = 1;
  snprintf(s->fail_msg, sizeof s->fail_msg,
           "nobody subscribed to track '%s' of '%s' within %llu ms (--wait-subscriber)", c->track,
           c->broadcast, (unsigned long long)(c->wait_subscriber_ns / 1000000));
  finish_broadcast(s);
}

/* --push: PUBLISH the track now. 0, or -1 after cli_finish. */
static int pub_push(pub_state *s) {
  cli *c = s->c;
  moqc_session *sess = cli_session(c);
  assert(sess && c->push && !s->pushed);
  if (!moqc_session_is_ietf(sess)) {
    moqc_log(MOQC_LOG_WARN, "--push: %s has no PUBLISH; the relay subscribes as usual",
             moqc_session_protocol(sess));
    return 0;
  }
  char path[MOQC_PATH_MAX_LEN + 1];
  if (cli_broadcast_path(c, path) != 0) return -1; /* (cli_publish_track took it) */
  int rv = moqc_session_publish_track(sess, path, c->track);
  if (rv != MOQC_OK) {
    cli_finish(c, 1, "--push: cannot PUBLISH track '%s' of '%s': %s", c->track, path,
               moqc_err_str(rv));
    return -1;
  }
  s->pushed = true;
  moqc_log(MOQC_LOG_INFO, "pushing track '%s' of '%s' with PUBLISH (%s)", c->track, path,
           moqc_session_protocol(sess));
  return 0;
}

static void pub_connected(cli *c) {
  pub_state *s = c->state;
  if (c->push && pub_push(s) != 0) return;
  if (c->wait_subscriber) {
    moqc_log(MOQC_LOG_INFO, "waiting for a subscriber");
    moqc_track_producer_set_waker(s->tp, pub_demand, s);
    uv_timer_start(&s->timer, on_wait_subscriber_timeout, c->wait_subscriber_ns / 1000000, 0);
    pub_demand(s);
    return;
  }
  s->input_started = true;
  s->t0 = uv_now(&c->loop);
  start_input(s);
}

static void pub_interrupt(cli *c) {
  pub_state *s = c->state;
  if (s && s->phase == PH_GRACE && s->exit_code != 0) { /* --wait-subscriber ran out */
    cli_finish(c, s->exit_code, "%s", s->fail_msg);
    return;
  }
  if (!s || s->phase != PH_READING) {
    cli_finish(c, 0, NULL);
    return;
  }
  if (!s->input_started) { /* still waiting for a subscriber: just end */
    moqc_track_producer_set_waker(s->tp, NULL, NULL);
    moqc_track_producer_finish(s->tp);
    finish_broadcast(s);
    return;
  }
  pub_eof(s);
}

static void pub_closed(uv_handle_t *h) { pub_release(h->data); }

static void pub_close_input(pub_state *s) {
  if (s->in_kind == IN_STREAM && s->in_open) {
    s->in_open = false;
    uv_read_stop(&s->in.stream);
    s->in.stream.data = s;
    s->closing++;
    uv_close((uv_handle_t *)&s->in.stream, pub_closed);
  }
  if (s->fs_pending) uv_cancel((uv_req_t *)&s->fsreq); /* best effort */
}

static void pub_stop(cli *c) {
  pub_state *s = c->state;
  if (!s) return;
  c->state = NULL;
  s->phase = PH_DONE;
  moqc_session *sess = cli_session(c);
  if (sess) moqc_session_set_events(sess, NULL, NULL); /* s goes away */
  pub_close_input(s);
  if (s->gp) moqc_group_producer_del(s->gp);
  s->gp = NULL;
  if (s->tp) moqc_track_producer_set_waker(s->tp, NULL, NULL);
  moqc_track_producer_del(s->tp);
  moqc_broadcast_producer_del(s->bp);
  s->tp = NULL;
  s->bp = NULL;
  uv_close((uv_handle_t *)&s->timer, pub_closed);
}

const cli_cmd cli_cmd_publish = {
    .name = "publish",
    .publishes = true,
    .start = pub_start,
    .connected = pub_connected,
    .stop = pub_stop,
    .interrupt = pub_interrupt,
};
