/* `moqc subscribe --format fmp4`: a hang broadcast -> fragmented MP4 on stdout
 * (`| ffplay -`, `| ffprobe -`, `> out.mp4`).
 *
 * Waits for the broadcast, reads catalog.json (moqc_hang_catalog_consumer),
 * then subscribes to every rendition it can mux (legacy container; H.264,
 * H.265, VP8, VP9, AV1, AAC, Opus) from the latest group, so the output starts
 * at the latest keyframe. Timestamps are made relative to the first video
 * keyframe; audio before it is dropped. The muxer (libavformat's mp4, with
 * frag_keyframe+empty_moov+default_base_moof) writes a fragment per keyframe.
 * The program ends when every track ended (exit 0), after --count video
 * frames, or on an error (an invalid catalog: exit 1 with the reason).
 *
 * A replaced broadcast (a publisher restarted before the relay noticed the
 * old one was gone: its tracks end REPLACED, or DROPPED while the new one is
 * not announced yet) is followed, as the text format does: within
 * FOLLOW_GRACE_MS the new source's catalog is read; if every track of the MP4
 * is in it with the same codec parameters, the tracks are subscribed again
 * and the same MP4 goes on: no second init segment (a player reading a pipe,
 * ffmpeg/ffplay, reads one moov only), the new source's timestamps shifted to
 * continue where the old ones stopped, video from the new source's first
 * keyframe. A source whose tracks differ cannot continue an MP4: the output
 * is finished (trailer) and the program exits 1 saying so. moq-dev's `moq
 * subscribe --output fmp4` reads one catalog and stops when its broadcast
 * ends; it never follows (docs/media.md). */
#include "media.h"

#ifdef MOQC_HAVE_FFMPEG
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavformat/avformat.h>
#include <inttypes.h>
#include <libavutil/opt.h>

#include "common/tool_util.h"
#include "moqc/error.h"

#define MAX_TRACKS 16

typedef struct msub msub;

typedef struct strack {
  msub *s;
  char name[128];
  moqc_hang_kind kind;
  cli_reader *rd;
  AVStream *st;
  bool started; /* video: the first keyframe was written */
  bool ended;
  bool lost; /* ended REPLACED / DROPPED: waiting for the broadcast's new source */
  int64_t last_dts;
  bool has_dts;
  uint64_t last_us; /* output time (us) of its last sample */
  /* video: the current group (GOP) in decode order, pts set, dts derived at flush. Its
   * keyframe is written at once (gop[0] NULL, its pts in head_pts): the muxer closes the
   * previous fragment when it gets it, so the output is not a group later than before. */
  AVPacket **gop;
  size_t gop_n, gop_cap;
  int64_t head_pts;
  int64_t reorder; /* how far dts trails the sorted pts (B-frames), in time_base units */
} strack;

struct msub {
  cli *c;
  cli_waiter *waiter;
  moqc_hang_catalog_consumer *cc;
  moqc_broadcast_consumer *bc;
  strack t[MAX_TRACKS];
  size_t n;
  bool have_video;
  AVFormatContext *out;
  bool header, trailer;
  bool configured; /* the tracks are set up (the header may still wait: inband) */
  bool inband;     /* a video track has its parameter sets in band */
  bool have_base;
  uint64_t base_us;     /* the source timestamp written at offset_us */
  uint64_t offset_us;   /* output time of the current source's base (0; > 0 once followed) */
  uint64_t end_us;      /* the latest output time written */
  bool following;       /* the broadcast was replaced: its new catalog decides */
  char follow_why[300]; /* a track missing from the new catalog so far */
  uint64_t video_frames, frames;
  FILE *latency;             /* --latency-log */
  FILE *frames_log;          /* --frame-log */
  moqc_hang_catalog pending; /* audio-only so far: a video rendition may follow shortly */
  bool has_pending;
  uv_timer_t wait_timer;
  uv_timer_t settle_timer;
  uv_timer_t follow_timer; /* a track was lost: the new source must come within the grace */
  int closing;
};

/* How long the broadcast may be away after it was replaced or dropped. */
#define FOLLOW_GRACE_MS 3000
/* The output gap between the old source's last sample and the new one's first. */
#define FOLLOW_GAP_US 40000

static int write_header(msub *s);
static bool subscribe_track(msub *s, strack *t);

/* H.264/H.265 without a description: parameter sets in band, taken from the first keyframe. */
static bool needs_inband(const AVCodecParameters *par) {
  return (par->codec_id == AV_CODEC_ID_H264 || par->codec_id == AV_CODEC_ID_HEVC) &&
         par->extradata_size == 0;
}

static void finish_output(msub *s) {
  if (!s->out || !s->header || s->trailer) return;
  s->trailer = true;
  av_write_trailer(s->out);
  avio_flush(s->out->pb);
}

static void flush_all(msub *s);

static void all_ended_check(msub *s) {
  for (size_t i = 0; i < s->n; i++)
    if (!s->t[i].ended || s->t[i].lost) return;
  flush_all(s);
  finish_output(s);
  moqc_log(MOQC_LOG_INFO, "broadcast ended after %llu frame(s)", (unsigned long long)s->frames);
  cli_finish(s->c, 0, NULL);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* Write pkt (freed) with this dts; counts frames. false: the program is finishing. */
static bool write_packet(msub *s, strack *t, AVPacket *pkt, int64_t dts) {
  assert(!t->has_dts || dts > t->last_dts);
  pkt->dts = dts;
  if (pkt->pts < dts) pkt->pts = dts;
  t->last_dts = dts;
  t->has_dts = true;
  int rv = av_interleaved_write_frame(s->out, pkt);
  av_packet_free(&pkt);
  if (rv < 0) {
    cli_finish(s->c, 1, "cannot write the MP4: %s", av_err2str(rv));
    return false;
  }
  s->frames++;
  if (t->kind == MOQC_HANG_VIDEO) s->video_frames++;
  return true;
}

/* Write a video group. The legacy container carries presentation timestamps only,
 * in decode order; the decode timestamps are the group's presentation timestamps
 * sorted, shifted back by the largest reorder seen (the B-frame delay), so that
 * dts <= pts and dts increases: what the encoder's muxer wrote (ffmpeg's mp4 has
 * dts = sorted pts - delay too). Without B-frames the shift is 0 and dts = pts. */
static bool flush_gop(msub *s, strack *t) {
  size_t n = t->gop_n;
  if (n == 0) return true;
  int64_t *sorted = malloc(n * sizeof *sorted);
  if (!sorted) {
    cli_finish(s->c, 1, "out of memory");
    return false;
  }
  for (size_t i = 0; i < n; i++) sorted[i] = t->gop[i] ? t->gop[i]->pts : t->head_pts;
  qsort(sorted, n, sizeof *sorted, cmp_i64);
  for (size_t i = 0; i < n; i++) {
    int64_t pts = t->gop[i] ? t->gop[i]->pts : t->head_pts;
    if (sorted[i] - pts > t->reorder) t->reorder = sorted[i] - pts;
  }
  bool ok = true;
  for (size_t i = 0; i < n; i++) {
    AVPacket *pkt = t->gop[i];
    if (!pkt) continue; /* the keyframe, written when it came */
    t->gop[i] = NULL;
    int64_t dts = sorted[i] - t->reorder;
    if (t->has_dts && dts <= t->last_dts) dts = t->last_dts + 1; /* the delay grew */
    if (!ok || !write_packet(s, t, pkt, dts)) {
      if (ok) ok = false;
      else av_packet_free(&pkt);
    }
  }
  t->gop_n = 0;
  free(sorted);
  return ok;
}

static void flush_all(msub *s) {
  for (size_t i = 0; i < s->n && !s->c->finishing; i++)
    if (s->header && !flush_gop(s, &s->t[i])) return;
}

static bool on_frame(void *ctx, uint64_t group, size_t index, const uint8_t *p, size_t n) {
  strack *t = ctx;
  msub *s = t->s;
  uint64_t ts;
  size_t off;
  if (moqc_hang_legacy_decode(p, n, &ts, &off) != MOQC_OK) {
    moqc_log(MOQC_LOG_WARN, "track %s: a frame without a timestamp: dropped", t->name);
    return true;
  }
  if (s->frames_log) {
    char hex[2 * 32 + 1];
    media_sha256_hex(hex, p + off, n - off);
    fprintf(s->frames_log, "frame %s %" PRIu64 " %zu %" PRIu64 " %zu %s\n", t->name, group, index,
            ts, n - off, hex);
  }
  if (off == n) return true; /* a marker, not a sample */
  if (t->kind == MOQC_HANG_VIDEO) media_latency_log(s->latency, ts);
  bool key = t->kind == MOQC_HANG_AUDIO || index == 0;
  if (t->kind == MOQC_HANG_VIDEO && !t->started) {
    if (!key) return true;
    if (!s->header) {
      AVCodecParameters *par = t->st->codecpar;
      if (needs_inband(par) && media_inband_extradata(par, p + off, n - off) != 0) {
        cli_finish(s->c, 1, "track %s: no parameter sets in its first keyframe", t->name);
        return false;
      }
      for (size_t i = 0; i < s->n; i++)
        if (needs_inband(s->t[i].st->codecpar)) return true;
      if (write_header(s) != 0) return false;
    }
    if (!s->have_base) s->base_us = ts, s->have_base = true;
    t->started = true;
  }
  if (!s->header) return true; /* waiting for another video track's parameter sets */
  if (!s->have_base) {
    if (s->have_video) return true; /* audio waits for the first video keyframe */
    s->base_us = ts;
    s->have_base = true;
  }
  if (ts < s->base_us) return true;
  uint64_t out_us = ts - s->base_us + s->offset_us;
  if (t->has_dts && out_us < t->last_us && t->kind == MOQC_HANG_AUDIO) return true;
  AVPacket *pkt = av_packet_alloc();
  if (!pkt || av_new_packet(pkt, (int)(n - off)) < 0) {
    av_packet_free(&pkt);
    cli_finish(s->c, 1, "out of memory");
    return false;
  }
  memcpy(pkt->data, p + off, n - off);
  pkt->pts = av_rescale_q((int64_t)out_us, AV_TIME_BASE_Q, t->st->time_base);
  pkt->stream_index = t->st->index;
  if (key) pkt->flags |= AV_PKT_FLAG_KEY;
  t->last_us = out_us;
  if (out_us > s->end_us) s->end_us = out_us;
  if (t->kind == MOQC_HANG_AUDIO) {
    int64_t dts = pkt->pts;
    if (t->has_dts && dts <= t->last_dts) dts = t->last_dts + 1;
    return write_packet(s, t, pkt, dts);
  }
  /* Video: frames come in decode order with presentation timestamps only (legacy
   * container). Keep the group; at its end the decode timestamps are derived. */
  if (index == 0 && !flush_gop(s, t)) {
    av_packet_free(&pkt);
    return false;
  }
  if (t->gop_n == t->gop_cap) {
    size_t cap = t->gop_cap ? t->gop_cap * 2 : 64;
    AVPacket **g = realloc(t->gop, cap * sizeof *g);
    if (!g) {
      av_packet_free(&pkt);
      cli_finish(s->c, 1, "out of memory");
      return false;
    }
    t->gop = g, t->gop_cap = cap;
  }
  t->gop[t->gop_n++] = pkt;
  if (index == 0 && t->gop_n == 1 && t->has_dts) {
    /* The keyframe presents first in its (closed) group: dts = pts - the reorder so far
     * (known from the groups before; the first group is kept whole: nothing precedes it). */
    int64_t dts = pkt->pts - t->reorder;
    if (t->has_dts && dts <= t->last_dts) dts = t->last_dts + 1;
    t->head_pts = pkt->pts;
    t->gop[0] = NULL;
    if (!write_packet(s, t, pkt, dts)) return false;
  }
  size_t pending = t->gop_n - (t->gop[0] ? 0 : 1);
  if (s->c->count && s->video_frames + pending >= s->c->count) {
    if (!flush_gop(s, t)) return false;
    finish_output(s);
    cli_finish(s->c, 0, NULL);
    return false;
  }
  return true;
}

static void on_follow_timer(uv_timer_t *h) {
  msub *s = h->data;
  flush_all(s);
  finish_output(s);
  if (s->follow_why[0])
    cli_finish(s->c, 1, "broadcast '%s' replaced by a source whose %s after %d ms", s->c->broadcast,
               s->follow_why, FOLLOW_GRACE_MS);
  else
    cli_finish(s->c, 1,
               "broadcast '%s' was replaced or dropped and no new source came within %d ms",
               s->c->broadcast, FOLLOW_GRACE_MS);
}

static void on_end(void *ctx, int err, uint64_t code) {
  strack *t = ctx;
  msub *s = t->s;
  moqc_end_reason why = cli_reader_end_reason(t->rd);
  t->ended = true;
  if (err != MOQC_ERR_CLOSED && (why == MOQC_END_REPLACED || err == MOQC_ERR_DROPPED)) {
    /* Replaced by a new publisher (or dropped: the replacement may not be
     * announced yet): keep the MP4 open for the broadcast's new source. */
    moqc_log(MOQC_LOG_INFO, "track %s %s: waiting for the broadcast's new source", t->name,
             why == MOQC_END_REPLACED ? "replaced" : "dropped");
    if (s->header && !flush_gop(s, t)) return;
    cli_reader_del(t->rd);
    t->rd = NULL;
    t->lost = true;
    if (!s->following && !uv_is_active((uv_handle_t *)&s->follow_timer))
      uv_timer_start(&s->follow_timer, on_follow_timer, FOLLOW_GRACE_MS, 0);
    return;
  }
  if (err != MOQC_ERR_CLOSED)
    moqc_log(MOQC_LOG_WARN, "track %s ended: %s (%s)", t->name, moqc_err_str(err),
             moqc_code_str(code));
  all_ended_check(s);
}

static int write_header(msub *s) {
  AVDictionary *opts = NULL;
  av_dict_set(&opts, "movflags", "frag_keyframe+empty_moov+default_base_moof", 0);
  int rv = avformat_write_header(s->out, &opts);
  av_dict_free(&opts);
  if (rv < 0) {
    cli_finish(s->c, 1, "cannot write the MP4 header: %s", av_err2str(rv));
    return -1;
  }
  s->header = true;
  avio_flush(s->out->pb);
  return 0;
}

static int open_output(msub *s) {
  int rv = avformat_alloc_output_context2(&s->out, NULL, "mp4", NULL);
  if (rv < 0 || !s->out) return rv < 0 ? rv : AVERROR(ENOMEM);
  return avio_open(&s->out->pb, "pipe:1", AVIO_FLAG_WRITE);
}

static int add_stream(msub *s, const moqc_hang_rendition *r, moqc_hang_kind kind) {
  char why[256];
  AVStream *st = avformat_new_stream(s->out, NULL);
  if (!st) return -1;
  if (media_par_from_rendition(st->codecpar, r, kind, why, sizeof why) != 0) {
    moqc_log(MOQC_LOG_WARN, "%s: skipped", why);
    return 1; /* the stream stays unused: removed below by not subscribing */
  }
  st->time_base =
      kind == MOQC_HANG_VIDEO ? (AVRational){1, 90000} : (AVRational){1, (int)r->sample_rate};
  strack *t = &s->t[s->n++];
  t->s = s;
  t->kind = kind;
  t->st = st;
  snprintf(t->name, sizeof t->name, "%s", r->name);
  if (kind == MOQC_HANG_VIDEO) s->have_video = true;
  return 0;
}

static void setup(msub *s, const moqc_hang_catalog *cat) {
  cli *c = s->c;
  char *json = NULL;
  size_t jlen = 0;
  if (s->frames_log && moqc_hang_catalog_encode(cat, &json, &jlen) == MOQC_OK)
    fprintf(s->frames_log, "catalog %s\n", json);
  moqc_hang_free(json);
  int rv = open_output(s);
  if (rv < 0) {
    cli_finish(c, 1, "cannot open stdout for the MP4: %s", av_err2str(rv));
    return;
  }
  for (size_t i = 0; i < cat->n_video && s->n < MAX_TRACKS; i++)
    if (add_stream(s, &cat->video[i], MOQC_HANG_VIDEO) < 0)
      return (void)cli_finish(c, 1, "out of memory");
  for (size_t i = 0; i < cat->n_audio && s->n < MAX_TRACKS; i++)
    if (add_stream(s, &cat->audio[i], MOQC_HANG_AUDIO) < 0)
      return (void)cli_finish(c, 1, "out of memory");
  if (s->n == 0) {
    cli_finish(c, 1, "broadcast '%s': no track this tool can write (see the warnings)",
               c->broadcast);
    return;
  }
  if (s->out->nb_streams != s->n) {
    cli_finish(c, 1, "broadcast '%s': some tracks cannot be written (see the warnings)",
               c->broadcast);
    return;
  }
  s->inband = false;
  for (size_t i = 0; i < s->n; i++)
    if (needs_inband(s->t[i].st->codecpar)) s->inband = true;
  /* Parameter sets in band: the header waits for the first keyframe (write_header). */
  if (!s->inband && write_header(s) != 0) return;
  s->configured = true;
  for (size_t i = 0; i < s->n; i++)
    if (!subscribe_track(s, &s->t[i])) return;
}

static bool subscribe_track(msub *s, strack *t) {
  cli *c = s->c;
  assert(!t->rd);
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  sub.ordered = true;
  sub.priority = t->kind == MOQC_HANG_AUDIO ? MOQC_HANG_PRIORITY_AUDIO : MOQC_HANG_PRIORITY_VIDEO;
  int err = 0;
  moqc_track_consumer *tc = moqc_broadcast_consumer_subscribe(s->bc, t->name, &sub, &err);
  if (!tc) {
    cli_finish(c, 1, "cannot subscribe to track '%s': %s", t->name, moqc_err_str(err));
    return false;
  }
  t->rd = cli_reader_new(&c->loop, tc, MOQC_GROUP_NONE, c->reorder_ms, on_frame, on_end, t);
  if (!t->rd) {
    cli_finish(c, 1, "out of memory");
    return false;
  }
  moqc_log(MOQC_LOG_INFO, "subscribed to %s (%s)", t->name,
           avcodec_get_name(t->st->codecpar->codec_id));
  return true;
}

/* Same codec parameters, as far as the MP4's init segment is concerned. */
static bool same_params(const AVCodecParameters *a, const AVCodecParameters *b) {
  if (a->codec_type != b->codec_type || a->codec_id != b->codec_id) return false;
  if (a->codec_type == AVMEDIA_TYPE_VIDEO && (a->width != b->width || a->height != b->height))
    return false;
  if (a->codec_type == AVMEDIA_TYPE_AUDIO &&
      (a->sample_rate != b->sample_rate || a->ch_layout.nb_channels != b->ch_layout.nb_channels))
    return false;
  /* Parameter sets in band (no description): what the header took from the
   * first keyframe; the new source's keyframes carry their own. */
  if (!b->extradata_size) return true;
  return a->extradata_size == b->extradata_size &&
         !memcmp(a->extradata, b->extradata, (size_t)a->extradata_size);
}

enum { R_SAME, R_GONE, R_OTHER };

/* The MP4 track t in the new catalog, with the same parameters? why: what differs. */
static int rendition_matches(const strack *t, const moqc_hang_catalog *cat, char *why, size_t cap) {
  const moqc_hang_rendition *list = t->kind == MOQC_HANG_VIDEO ? cat->video : cat->audio;
  size_t n = t->kind == MOQC_HANG_VIDEO ? cat->n_video : cat->n_audio;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(list[i].name, t->name) != 0) continue;
    AVCodecParameters *par = avcodec_parameters_alloc();
    char err[256];
    bool same = par && media_par_from_rendition(par, &list[i], t->kind, err, sizeof err) == 0 &&
                same_params(t->st->codecpar, par);
    avcodec_parameters_free(&par);
    if (!same) snprintf(why, cap, "track %s has other codec parameters", t->name);
    return same ? R_SAME : R_OTHER;
  }
  snprintf(why, cap, "track %s is missing", t->name);
  return R_GONE;
}

/* The new source's catalog: go on with the same MP4, or finish it. */
static void follow(msub *s, const moqc_hang_catalog *cat) {
  char why[300] = "";
  for (size_t i = 0; i < s->n; i++) {
    int m = rendition_matches(&s->t[i], cat, why, sizeof why);
    if (m == R_SAME) continue;
    if (m == R_GONE) { /* a browser adds its renditions one at a time: wait for an update */
      moqc_log(MOQC_LOG_INFO, "new catalog: %s so far: waiting for an update", why);
      snprintf(s->follow_why, sizeof s->follow_why, "%s", why);
      return;
    }
    flush_all(s);
    finish_output(s);
    cli_finish(s->c, 1,
               "broadcast '%s' replaced by a source whose %s: an MP4 cannot change its tracks "
               "midway",
               s->c->broadcast, why);
    return;
  }
  uv_timer_stop(&s->follow_timer);
  s->following = false;
  s->follow_why[0] = 0;
  /* The new source's timestamps start anywhere: its first video keyframe (or
   * first sample without video) continues the output a little after the
   * latest sample written. */
  s->have_base = false;
  s->offset_us = s->end_us + FOLLOW_GAP_US;
  for (size_t i = 0; i < s->n; i++) {
    strack *t = &s->t[i];
    if (s->header && !flush_gop(s, t)) return;
    cli_reader_del(t->rd);
    t->rd = NULL;
    t->ended = t->lost = false;
    t->started = false; /* video: from the new source's first keyframe */
    if (!subscribe_track(s, t)) return;
  }
  moqc_log(MOQC_LOG_INFO, "broadcast '%s' replaced: following its new source in the same MP4",
           s->c->broadcast);
}

#define SETTLE_MS 2000

static void on_settle(uv_timer_t *h) {
  msub *s = h->data;
  if (!s->has_pending || s->configured) return;
  s->has_pending = false;
  moqc_log(MOQC_LOG_INFO, "catalog unchanged for %d ms: %zu video, %zu audio track(s)", SETTLE_MS,
           s->pending.n_video, s->pending.n_audio);
  setup(s, &s->pending);
}

static void on_catalog(void *arg) {
  msub *s = arg;
  moqc_hang_catalog cat;
  moqc_hang_catalog_init(&cat);
  char why[256];
  for (;;) {
    int rv = moqc_hang_catalog_consumer_next(s->cc, &cat, why, sizeof why);
    if (rv == MOQC_ERR_AGAIN) break;
    if (rv == MOQC_ERR_CLOSED) break; /* the media tracks say when we are done */
    if (rv == MOQC_ERR_DECODE || rv == MOQC_ERR_TOO_LARGE) {
      moqc_hang_catalog_clear(&cat);
      cli_finish(s->c, 1, "broadcast '%s': invalid catalog: %s", s->c->broadcast, why);
      return;
    }
    if (rv != MOQC_OK) {
      moqc_hang_catalog_clear(&cat);
      if (!s->header)
        cli_finish(s->c, 1, "broadcast '%s': cannot read %s: %s", s->c->broadcast,
                   MOQC_HANG_CATALOG_TRACK, moqc_err_str(rv));
      return;
    }
    if (s->following) {
      follow(s, &cat);
      moqc_hang_catalog_clear(&cat);
      if (s->c->finishing) return;
      continue;
    }
    if (s->configured) {
      moqc_log(MOQC_LOG_INFO, "catalog update ignored (the MP4's tracks are fixed)");
      continue;
    }
    if (cat.n_video + cat.n_audio == 0) { /* e.g. a browser before its camera started */
      moqc_log(MOQC_LOG_INFO, "catalog without renditions yet: waiting for an update");
      continue;
    }
    if (cat.n_video == 0 || cat.n_audio == 0) {
      /* Audio or video only: a browser adds its camera's or microphone's rendition
       * a moment later. Wait SETTLE_MS for that update before the MP4's track list
       * is fixed. */
      moqc_hang_catalog_clear(&s->pending);
      s->pending = cat;
      moqc_hang_catalog_init(&cat);
      if (!s->has_pending) uv_timer_start(&s->settle_timer, on_settle, SETTLE_MS, 0);
      s->has_pending = true;
      continue;
    }
    uv_timer_stop(&s->settle_timer);
    s->has_pending = false;
    setup(s, &cat);
    if (s->c->finishing) break;
  }
  moqc_hang_catalog_clear(&cat);
}

static void on_broadcast(void *ctx, moqc_broadcast_consumer *bc, bool active) {
  msub *s = ctx;
  if (!active) {
    moqc_log(MOQC_LOG_INFO, "broadcast '%s' ended", s->c->broadcast);
    return;
  }
  uv_timer_stop(&s->wait_timer);
  if (s->bc) { /* replaced: read the new source's catalog (follow) */
    moqc_log(MOQC_LOG_INFO, "broadcast '%s' replaced: reading its new catalog", s->c->broadcast);
    moqc_hang_catalog_consumer_del(s->cc);
    s->cc = NULL;
    moqc_broadcast_consumer_del(s->bc);
    if (s->configured) {
      s->following = true;
      if (!uv_is_active((uv_handle_t *)&s->follow_timer))
        uv_timer_start(&s->follow_timer, on_follow_timer, FOLLOW_GRACE_MS, 0);
    }
  }
  s->bc = bc;
  moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
  sub.priority = MOQC_HANG_PRIORITY_CATALOG;
  int err = 0;
  moqc_track_consumer *tc =
      moqc_broadcast_consumer_subscribe(bc, MOQC_HANG_CATALOG_TRACK, &sub, &err);
  if (!tc || !(s->cc = moqc_hang_catalog_consumer_new(tc))) {
    cli_finish(s->c, 1, "cannot subscribe to %s of '%s': %s", MOQC_HANG_CATALOG_TRACK,
               s->c->broadcast, moqc_err_str(err ? err : MOQC_ERR_NOMEM));
    return;
  }
  moqc_hang_catalog_consumer_set_waker(s->cc, on_catalog, s);
  on_catalog(s);
}

static void on_wait_timer(uv_timer_t *t) {
  msub *s = t->data;
  cli_finish(s->c, 1, "broadcast '%s' not found: not announced within %llu ms", s->c->broadcast,
             (unsigned long long)(s->c->wait_ns / 1000000));
}

static int msub_start(cli *c) {
  msub *s = calloc(1, sizeof *s);
  if (!s) return -1;
  s->c = c;
  c->state = s;
  av_log_set_level(AV_LOG_ERROR); /* our messages say what went wrong */
  uv_timer_init(&c->loop, &s->wait_timer);
  uv_timer_init(&c->loop, &s->settle_timer);
  uv_timer_init(&c->loop, &s->follow_timer);
  s->wait_timer.data = s->settle_timer.data = s->follow_timer.data = s;
  moqc_hang_catalog_init(&s->pending);
  s->closing = 3;
  if (c->latency_log && !(s->latency = fopen(c->latency_log, "a"))) {
    cli_finish(c, 1, "--latency-log: cannot open %s", c->latency_log);
    return -1;
  }
  if (s->latency) setvbuf(s->latency, NULL, _IOLBF, 0);
  if (c->frame_log && !(s->frames_log = fopen(c->frame_log, "w"))) {
    cli_finish(c, 1, "--frame-log: cannot open %s", c->frame_log);
    return -1;
  }
  if (s->frames_log) setvbuf(s->frames_log, NULL, _IOLBF, 0);
  s->waiter = cli_waiter_new(c->origin, c->broadcast, on_broadcast, s);
  if (!s->waiter) {
    cli_finish(c, 2, "invalid broadcast path '%s'", c->broadcast);
    return -1;
  }
  return 0;
}

static void msub_connected(cli *c) {
  msub *s = c->state;
  if (!s->bc) uv_timer_start(&s->wait_timer, on_wait_timer, c->wait_ns / 1000000 + 1, 0);
}

static void msub_closed(uv_handle_t *h) {
  msub *s = h->data;
  if (--s->closing > 0) return;
  if (s->latency) fclose(s->latency);
  if (s->frames_log) fclose(s->frames_log);
  free(s);
}

static void msub_stop(cli *c) {
  msub *s = c->state;
  if (!s) return;
  c->state = NULL;
  /* Interrupted (or an error): the frames kept for their decode timestamps still go out. */
  if (s->header && !s->trailer)
    for (size_t i = 0; i < s->n; i++) (void)flush_gop(s, &s->t[i]);
  finish_output(s);
  for (size_t i = 0; i < s->n; i++) {
    cli_reader_del(s->t[i].rd);
    for (size_t k = 0; k < s->t[i].gop_n; k++) av_packet_free(&s->t[i].gop[k]);
    free(s->t[i].gop);
  }
  moqc_hang_catalog_consumer_del(s->cc);
  moqc_broadcast_consumer_del(s->bc);
  cli_waiter_del(s->waiter);
  if (s->out) {
    avio_closep(&s->out->pb);
    avformat_free_context(s->out);
  }
  moqc_hang_catalog_clear(&s->pending);
  uv_close((uv_handle_t *)&s->wait_timer, msub_closed);
  uv_close((uv_handle_t *)&s->settle_timer, msub_closed);
  uv_close((uv_handle_t *)&s->follow_timer, msub_closed);
}

const cli_cmd cli_cmd_subscribe_fmp4 = {
    .name = "subscribe",
    .subscribes = true,
    .start = msub_start,
    .connected = msub_connected,
    .stop = msub_stop,
};
#else
static int no_ffmpeg(cli *c) {
  cli_finish(c, 2, "--format fmp4: this moqc was built without FFmpeg (libavformat)");
  return -1;
}
static void nothing(cli *c) { (void)c; }
const cli_cmd cli_cmd_subscribe_fmp4 = {
    .name = "subscribe", .subscribes = true, .start = no_ffmpeg, .stop = nothing};
#endif
