/* `moqc publish --format fmp4`: fragmented MP4 on stdin (as ffmpeg writes it
 * with -movflags cmaf+frag_keyframe+empty_moov+default_base_moof) -> a hang
 * broadcast: catalog.json + one legacy-container track per audio/video stream.
 *
 * The init segment is read before connecting (the catalog needs it). Packets
 * are then demuxed on a thread (libavformat reads stdin blocking) and handed
 * to the loop through one moqc_track_proxy per track. A video group starts at
 * each keyframe; an audio group every ~1 s. --realtime sleeps until each
 * packet's timestamp (relative to the first) is due; by default packets are
 * published as they arrive. At EOF the tracks are finished, delivery is waited
 * for (bounded by --drain), then the broadcast is finished. Any input error
 * (not an MP4, no init segment, an unsupported codec, a truncated or corrupt
 * fragment, timestamps going backwards) ends the program with a message and
 * exit code 1. */
#include "media.h"

#ifdef MOQC_HAVE_FFMPEG
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavformat/avformat.h>
#include <libavutil/time.h>

#include "common/tool_util.h"
#include "moqc/error.h"
#include "moqc/path.h"

#define MAX_TRACKS 16
#define AUDIO_GROUP_US 1000000u
#define ANNOUNCE_GRACE_MS 150
#define UNSUBSCRIBED_SETTLE_MS 200

typedef struct mtrack {
  moqc_track_producer *tp;
  moqc_track_proxy *px;
  int stream;
  moqc_hang_kind kind;
  /* demux thread only */
  bool started;
  uint64_t group_start_us;
  int64_t last_dts;
  bool has_dts;
  uint64_t groups;
} mtrack;

enum { PH_OPEN, PH_WAIT, PH_READING, PH_DRAIN, PH_GRACE, PH_DONE };

typedef struct mpub {
  cli *c;
  AVFormatContext *fmt;
  moqc_broadcast_producer *bp;
  moqc_track_producer *catalog;
  moqc_track_producer *catalog_z; /* catalog.json.z, the compressed sibling */
  mtrack t[MAX_TRACKS];
  size_t n;
  int phase;
  uv_thread_t thread;
  bool thread_running;
  uv_async_t done;
  atomic_bool stop;
  atomic_bool thread_done; /* demux_thread returned (set just before its wakeup) */
  /* written by the thread before uv_async_send */
  int result;
  char msg[512];
  uint64_t frames;
  FILE *latency; /* --latency-log */
  uv_timer_t timer;
  uint64_t drain_deadline;
  uint64_t unsubscribed_since;
  int closing;
} mpub;

/* FFmpeg's last error line, appended to our own messages. */
static char g_av_last[256];
static void av_log_cb(void *avcl, int level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void av_log_cb(void *avcl, int level, const char *fmt, va_list ap) {
  (void)avcl;
  if (level > AV_LOG_ERROR) return;
  char line[256];
  vsnprintf(line, sizeof line, fmt, ap);
  size_t n = strlen(line);
  while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
  if (n) memcpy(g_av_last, line, n + 1);
}

static const char *av_detail(void) { return g_av_last[0] ? g_av_last : "no detail"; }

static mtrack *track_of(mpub *s, int stream) {
  for (size_t i = 0; i < s->n; i++)
    if (s->t[i].stream == stream) return &s->t[i];
  return NULL;
}

/* ---- demux thread ------------------------------------------------------------- */

static void release_free(void *ctx, const uint8_t *data, size_t len) {
  (void)ctx, (void)len;
  free((void *)data);
}

static int fail(mpub *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(mpub *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->msg, sizeof s->msg, fmt, ap);
  va_end(ap);
  s->result = 1;
  return -1;
}

static int publish_packet(mpub *s, mtrack *t, const AVPacket *pkt, uint64_t ts_us) {
  bool key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
  if (t->kind == MOQC_HANG_VIDEO) {
    if (!t->started && !key) return 0; /* a group must start at a keyframe */
    if (t->started && key && moqc_track_proxy_new_group(t->px) != MOQC_OK)
      return fail(s, "cannot publish: the track was closed");
    if (key) t->groups++;
  } else if (!t->started || ts_us >= t->group_start_us + AUDIO_GROUP_US) {
    if (t->started && moqc_track_proxy_new_group(t->px) != MOQC_OK)
      return fail(s, "cannot publish: the track was closed");
    t->group_start_us = ts_us;
    t->groups++;
  }
  t->started = true;
  uint8_t hdr[MOQC_HANG_LEGACY_HEADER_MAX];
  size_t hn = moqc_hang_legacy_header(hdr, ts_us);
  uint8_t *buf = malloc(hn + (size_t)pkt->size);
  if (!buf || hn == 0) {
    free(buf);
    return fail(s, hn ? "out of memory" : "timestamp out of range");
  }
  memcpy(buf, hdr, hn);
  memcpy(buf + hn, pkt->data, (size_t)pkt->size);
  int rv = moqc_track_proxy_write_frame_wrap(t->px, buf, hn + (size_t)pkt->size, ts_us,
                                             release_free, NULL);
  if (rv != MOQC_OK) {
    free(buf);
    return fail(s, "cannot publish a frame: %s", moqc_err_str(rv));
  }
  s->frames++;
  return 0;
}

static void demux_thread(void *arg) {
  mpub *s = arg;
  AVPacket *pkt = av_packet_alloc();
  int64_t wall0 = 0;
  uint64_t ts0 = 0;
  bool first = true;
  if (!pkt) fail(s, "out of memory");
  while (pkt && !atomic_load(&s->stop)) {
    int rv = av_read_frame(s->fmt, pkt);
    if (rv == AVERROR_EOF) break;
    if (rv < 0) {
      fail(s, "stdin: truncated or corrupt MP4 (%s; %s)", av_err2str(rv), av_detail());
      break;
    }
    mtrack *t = track_of(s, pkt->stream_index);
    AVStream *st = s->fmt->streams[pkt->stream_index];
    if (!t) {
      av_packet_unref(pkt);
      continue;
    }
    if (pkt->flags & AV_PKT_FLAG_CORRUPT) {
      fail(s, "stdin: corrupt packet in stream %d (truncated MP4?)", pkt->stream_index);
      break;
    }
    int64_t dts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
    int64_t pts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : dts;
    if (dts == AV_NOPTS_VALUE) {
      fail(s, "stdin: stream %d: a packet without a timestamp", pkt->stream_index);
      break;
    }
    if (t->has_dts && dts < t->last_dts) {
      fail(s, "stdin: stream %d: timestamps go backwards (%" PRId64 " after %" PRId64 ")",
           pkt->stream_index, dts, t->last_dts);
      break;
    }
    t->last_dts = dts;
    t->has_dts = true;
    int64_t us = av_rescale_q(pts, st->time_base, AV_TIME_BASE_Q);
    uint64_t ts_us = us > 0 ? (uint64_t)us : 0; /* encoder priming before 0 */
    if (s->c->realtime) {
      int64_t now = av_gettime_relative();
      if (first) wall0 = now, ts0 = ts_us;
      int64_t due = wall0 + (int64_t)(ts_us > ts0 ? ts_us - ts0 : 0);
      while (due > now && !atomic_load(&s->stop)) {
        av_usleep((unsigned)(due - now > 100000 ? 100000 : due - now));
        now = av_gettime_relative();
      }
    }
    first = false;
    if (t->kind == MOQC_HANG_VIDEO) media_latency_log(s->latency, ts_us);
    rv = publish_packet(s, t, pkt, ts_us);
    av_packet_unref(pkt);
    if (rv != 0) break;
  }
  av_packet_free(&pkt);
  atomic_store(&s->thread_done, true);
  uv_async_send(&s->done);
}

/* ---- loop thread: end of input, drain ----------------------------------------- */

static void mpub_release(mpub *s) {
  if (--s->closing > 0) return;
  avformat_close_input(&s->fmt);
  if (s->latency) fclose(s->latency);
  free(s);
}
static void mpub_closed(uv_handle_t *h) { mpub_release(h->data); }

static void on_grace(uv_timer_t *t) {
  mpub *s = t->data;
  s->phase = PH_DONE;
  moqc_log(MOQC_LOG_INFO, "published %llu frame(s)", (unsigned long long)s->frames);
  cli_finish(s->c, 0, NULL);
}

static void finish_broadcast(mpub *s) {
  s->phase = PH_GRACE;
  uv_timer_stop(&s->timer);
  moqc_session *sess = cli_session(s->c);
  if (sess) moqc_session_set_events(sess, NULL, NULL);
  moqc_broadcast_producer_finish(s->bp);
  uv_timer_start(&s->timer, on_grace, ANNOUNCE_GRACE_MS, 0);
}

static void drain_check(mpub *s);
static void on_drain_timer(uv_timer_t *t) { drain_check(t->data); }
static void on_idle(void *ctx, moqc_session *sess) {
  (void)sess;
  drain_check(ctx);
}
static void on_demand(void *arg) { drain_check(arg); }
static const moqc_session_events k_events = {.idle = on_idle};

/* Delivered: idle, and every group we made was sent completely; or idle and
 * nobody subscribed any more (for the settle time); or --drain ran out. */
static void drain_check(mpub *s) {
  if (s->phase != PH_DRAIN) return;
  moqc_session *sess = cli_session(s->c);
  if (!sess) return;
  moqc_session_stats st = moqc_session_get_stats(sess);
  bool idle = moqc_session_is_idle(sess);
  uint64_t groups = 1, consumers = 0; /* the catalog's one group */
  if (moqc_track_producer_demand(s->catalog_z).consumers > 0) groups++; /* catalog.json.z's */
  for (size_t i = 0; i < s->n; i++) {
    groups += s->t[i].groups;
    consumers += moqc_track_producer_demand(s->t[i].tp).consumers;
  }
  uint64_t now = uv_now(&s->c->loop);
  if (idle && st.groups_sent >= groups) {
    finish_broadcast(s);
    return;
  }
  if (idle && st.subscribes_served > 0 && consumers == 0) {
    if (!s->unsubscribed_since) s->unsubscribed_since = now ? now : 1;
    if (now - s->unsubscribed_since >= UNSUBSCRIBED_SETTLE_MS) {
      finish_broadcast(s);
      return;
    }
  } else {
    s->unsubscribed_since = 0;
  }
  if (now >= s->drain_deadline) {
    moqc_log(MOQC_LOG_WARN, "after %llu ms the relay had received %llu of %llu group(s)",
             (unsigned long long)(s->c->drain_ns / 1000000), (unsigned long long)st.groups_sent,
             (unsigned long long)groups);
    finish_broadcast(s);
    return;
  }
  uint64_t due = s->drain_deadline;
  if (s->unsubscribed_since && s->unsubscribed_since + UNSUBSCRIBED_SETTLE_MS < due)
    due = s->unsubscribed_since + UNSUBSCRIBED_SETTLE_MS;
  uv_timer_start(&s->timer, on_drain_timer, due > now ? due - now : 1, 0);
}

static void close_proxies(mpub *s) {
  for (size_t i = 0; i < s->n; i++) {
    if (!s->t[i].px) continue;
    moqc_track_proxy_finish(s->t[i].px);
    moqc_track_proxy_del(s->t[i].px);
    s->t[i].px = NULL;
  }
}

static void on_done(uv_async_t *a) {
  mpub *s = a->data;
  if (!s->thread_running) return;
  uv_thread_join(&s->thread);
  s->thread_running = false;
  if (s->phase != PH_READING) return;
  if (s->result != 0) {
    s->phase = PH_DONE;
    cli_finish(s->c, 1, "%s", s->msg);
    return;
  }
  close_proxies(s);
  moqc_track_producer_finish(s->catalog);
  moqc_track_producer_finish(s->catalog_z);
  s->phase = PH_DRAIN;
  moqc_log(MOQC_LOG_INFO, "end of input after %llu frame(s); waiting for delivery",
           (unsigned long long)s->frames);
  s->drain_deadline = uv_now(&s->c->loop) + s->c->drain_ns / 1000000;
  moqc_session *sess = cli_session(s->c);
  if (sess) moqc_session_set_events(sess, &k_events, s);
  for (size_t i = 0; i < s->n; i++) moqc_track_producer_set_waker(s->t[i].tp, on_demand, s);
  drain_check(s);
}

static void start_reading(mpub *s) {
  s->phase = PH_READING;
  uv_timer_stop(&s->timer);
  for (size_t i = 0; i < s->n; i++) moqc_track_producer_set_waker(s->t[i].tp, NULL, NULL);
  if (uv_thread_create(&s->thread, demux_thread, s) != 0) {
    cli_finish(s->c, 1, "cannot start the demux thread");
    return;
  }
  s->thread_running = true;
}

/* --wait-subscriber: every media track has a subscriber. */
static void on_wait_demand(void *arg) {
  mpub *s = arg;
  if (s->phase != PH_WAIT || !s->c->connected) return;
  for (size_t i = 0; i < s->n; i++)
    if (moqc_track_producer_demand(s->t[i].tp).consumers == 0) return;
  moqc_log(MOQC_LOG_INFO, "subscribed: reading stdin");
  start_reading(s);
}

static void on_wait_timeout(uv_timer_t *t) {
  mpub *s = t->data;
  if (s->phase != PH_WAIT) return;
  s->phase = PH_DONE;
  cli_finish(s->c, 1, "nobody subscribed to every track of '%s' within %llu ms (--wait-subscriber)",
             s->c->broadcast, (unsigned long long)(s->c->wait_subscriber_ns / 1000000));
}

/* ---- setup ---------------------------------------------------------------------- */

static int open_input(mpub *s) {
  cli *c = s->c;
  const AVInputFormat *mp4 = av_find_input_format("mp4");
  int rv = avformat_open_input(&s->fmt, "pipe:0", mp4, NULL);
  if (rv < 0) {
    cli_finish(c, 1, "stdin: not a fragmented MP4 with an init segment (%s; %s)", av_err2str(rv),
               av_detail());
    return -1;
  }
  s->fmt->max_analyze_duration = AV_TIME_BASE; /* VP9 profile etc.: at most 1 s of input */
  rv = avformat_find_stream_info(s->fmt, NULL);
  if (rv < 0) {
    cli_finish(c, 1, "stdin: cannot read the streams (%s; %s)", av_err2str(rv), av_detail());
    return -1;
  }
  return 0;
}

static int add_tracks(mpub *s, moqc_hang_catalog *cat) {
  cli *c = s->c;
  unsigned nv = 0, na = 0;
  for (unsigned i = 0; i < s->fmt->nb_streams; i++) {
    AVStream *st = s->fmt->streams[i];
    enum AVMediaType type = st->codecpar->codec_type;
    if (type != AVMEDIA_TYPE_VIDEO && type != AVMEDIA_TYPE_AUDIO) continue;
    if (s->n == MAX_TRACKS) {
      cli_finish(c, 1, "stdin: more than %d audio/video streams", MAX_TRACKS);
      return -1;
    }
    moqc_hang_kind kind = type == AVMEDIA_TYPE_VIDEO ? MOQC_HANG_VIDEO : MOQC_HANG_AUDIO;
    char name[32], why[256];
    snprintf(name, sizeof name, "%s%u", kind == MOQC_HANG_VIDEO ? "video" : "audio",
             kind == MOQC_HANG_VIDEO ? nv++ : na++);
    double fps = st->avg_frame_rate.den ? av_q2d(st->avg_frame_rate) : 0;
    moqc_hang_rendition *r =
        media_rendition_add(cat, kind, name, st->codecpar, fps, why, sizeof why);
    if (!r) {
      cli_finish(c, 1, "stdin: stream %u: %s", i, why);
      return -1;
    }
    /* Video: a frame interval, times the reorder depth with B-frames (hang's catalog: "up to
     * 3 b-frames in a row, this would be 3 * 1000/fps"). */
    if (kind == MOQC_HANG_VIDEO && fps > 0)
      r->jitter_ms =
          (uint64_t)(1000.0 *
                         (1 + (st->codecpar->video_delay > 0 ? st->codecpar->video_delay : 0)) /
                         fps +
                     0.999);
    if (kind == MOQC_HANG_AUDIO && st->codecpar->frame_size > 0 && r->sample_rate)
      r->jitter_ms = (uint64_t)st->codecpar->frame_size * 1000 / r->sample_rate + 1;
    moqc_track_info info = moqc_hang_track_info(false, kind);
    int err = 0;
    mtrack *t = &s->t[s->n];
    t->stream = (int)i;
    t->kind = kind;
    t->tp = moqc_broadcast_producer_create_track(s->bp, name, &info, &err);
    t->px = t->tp ? moqc_track_proxy_new(t->tp) : NULL;
    if (!t->px) {
      cli_finish(c, 1, "cannot create track '%s': %s", name,
                 moqc_err_str(err ? err : MOQC_ERR_NOMEM));
      moqc_track_producer_del(t->tp);
      t->tp = NULL;
      return -1;
    }
    s->n++;
    moqc_log(MOQC_LOG_INFO, "track %s: %s", name, r->codec);
  }
  if (s->n == 0) {
    cli_finish(c, 1, "stdin: no audio or video stream");
    return -1;
  }
  return 0;
}

static int mpub_start(cli *c) {
  mpub *s = calloc(1, sizeof *s);
  if (!s) return -1;
  s->c = c;
  c->state = s;
  s->closing = 1;
  av_log_set_callback(av_log_cb);
  uv_timer_init(&c->loop, &s->timer);
  s->timer.data = s;
  s->closing++;
  uv_async_init(&c->loop, &s->done, on_done);
  s->done.data = s;
  s->closing++;
  char path[MOQC_PATH_MAX_LEN + 1];
  if (cli_broadcast_path(c, path) != 0) return -1;
  if (c->latency_log && !(s->latency = fopen(c->latency_log, "a"))) {
    cli_finish(c, 1, "--latency-log: cannot open %s", c->latency_log);
    return -1;
  }
  if (s->latency) setvbuf(s->latency, NULL, _IOLBF, 0);
  if (open_input(s) != 0) return -1;
  moqc_hang_catalog cat;
  moqc_hang_catalog_init(&cat);
  int err = 0;
  s->bp = moqc_broadcast_producer_new(cli_env(c));
  moqc_track_info ci = moqc_hang_track_info(true, MOQC_HANG_VIDEO);
  s->catalog = s->bp
                   ? moqc_broadcast_producer_create_track(s->bp, MOQC_HANG_CATALOG_TRACK, &ci, &err)
                   : NULL;
  s->catalog_z =
      s->catalog ? moqc_broadcast_producer_create_track(s->bp, MOQC_HANG_CATALOG_TRACK_Z, &ci, &err)
                 : NULL;
  int rv = s->catalog_z ? add_tracks(s, &cat) : (cli_finish(c, 1, "out of memory"), -1);
  if (rv == 0) {
    /* Both catalog tracks: <moq-watch> reads catalog.json, or catalog.json.z when
     * its catalog-format is "hangz". */
    if ((rv = moqc_hang_catalog_publish(s->catalog, &cat)) == MOQC_OK)
      rv = moqc_hang_catalog_publish_z(s->catalog_z, &cat);
    if (rv != MOQC_OK) {
      cli_finish(c, 1, "cannot publish the catalog: %s", moqc_err_str(rv));
      rv = -1;
    }
  }
  moqc_hang_catalog_clear(&cat);
  if (rv != 0) return -1;
  moqc_broadcast_consumer *bc = moqc_broadcast_producer_consume(s->bp);
  rv = bc ? moqc_origin_publish(c->origin, path, bc, NULL) : MOQC_ERR_NOMEM;
  moqc_broadcast_consumer_del(bc);
  if (rv != MOQC_OK) {
    cli_finish(c, 1, "cannot publish '%s': %s", path, moqc_err_str(rv));
    return -1;
  }
  return 0;
}

static void mpub_connected(cli *c) {
  mpub *s = c->state;
  if (s->phase != PH_OPEN) return;
  if (c->wait_subscriber) {
    s->phase = PH_WAIT;
    moqc_log(MOQC_LOG_INFO, "waiting for a subscriber of every track");
    for (size_t i = 0; i < s->n; i++) moqc_track_producer_set_waker(s->t[i].tp, on_wait_demand, s);
    uv_timer_start(&s->timer, on_wait_timeout, c->wait_subscriber_ns / 1000000, 0);
    on_wait_demand(s);
    return;
  }
  start_reading(s);
}

static void mpub_interrupt(cli *c) {
  mpub *s = c->state;
  if (!s || s->phase != PH_READING) {
    cli_finish(c, 0, NULL);
    return;
  }
  atomic_store(&s->stop, true); /* the thread ends at its next packet (or EOF) */
}

static void mpub_stop(cli *c) {
  mpub *s = c->state;
  if (!s) return;
  c->state = NULL;
  s->phase = PH_DONE;
  atomic_store(&s->stop, true);
  if (s->thread_running) {
    /* The thread may be blocked reading stdin (a paused encoder), which nothing
     * can interrupt portably: give it a moment to see `stop`, else end the
     * process here (everything the thread touches stays valid until then). */
    for (int i = 0; i < 50 && !atomic_load(&s->thread_done); i++) usleep(10000);
    if (!atomic_load(&s->thread_done)) {
      fflush(stdout);
      fflush(stderr);
      _exit(c->exit_code ? c->exit_code : 1);
    }
    uv_thread_join(&s->thread);
    s->thread_running = false;
  }
  moqc_session *sess = cli_session(c);
  if (sess) moqc_session_set_events(sess, NULL, NULL);
  for (size_t i = 0; i < s->n; i++) {
    if (s->t[i].px) moqc_track_proxy_del(s->t[i].px);
    if (s->t[i].tp) moqc_track_producer_set_waker(s->t[i].tp, NULL, NULL);
    moqc_track_producer_del(s->t[i].tp);
  }
  moqc_track_producer_del(s->catalog);
  moqc_track_producer_del(s->catalog_z);
  moqc_broadcast_producer_del(s->bp);
  s->n = 0;
  s->catalog = NULL;
  s->catalog_z = NULL;
  s->bp = NULL;
  if (s->closing > 1) {
    uv_close((uv_handle_t *)&s->timer, mpub_closed);
    uv_close((uv_handle_t *)&s->done, mpub_closed);
  }
  mpub_release(s);
}

const cli_cmd cli_cmd_publish_fmp4 = {
    .name = "publish",
    .publishes = true,
    .start = mpub_start,
    .connected = mpub_connected,
    .stop = mpub_stop,
    .interrupt = mpub_interrupt,
};
#else
static int no_ffmpeg(cli *c) {
  cli_finish(c, 2, "--format fmp4: this moqc was built without FFmpeg (libavformat)");
  return -1;
}
static void nothing(cli *c) { (void)c; }
const cli_cmd cli_cmd_publish_fmp4 = {
    .name = "publish", .publishes = true, .start = no_ffmpeg, .stop = nothing};
#endif
