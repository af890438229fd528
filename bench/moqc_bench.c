/* moqc_bench — a load generator for MoQ relays, built on the moqc library.
 *
 * One process, one libuv loop, many publishers and subscribers (each one a
 * moqc_client with its own QUIC connection). Every frame carries a header
 * with a CLOCK_MONOTONIC send time, so end-to-end latency is exact even when
 * publishers and subscribers run in different processes on one machine.
 *
 * Roles:
 *   both     publishers and subscribers in this process (default)
 *   pub      publishers only (to --url, or serving them directly: --listen)
 *   sub      subscribers only
 *   connect  connection-setup rate: dial, wait for the session, close, repeat
 *   idle     open --subs subscriber sessions that subscribe to nothing, hold
 *
 * Measurement window (group-granular, so lost groups can be counted exactly):
 *   publishing starts once the publishers are connected; the window opens
 *   --warmup seconds after every in-process subscriber received its first
 *   frame (role pub: after publishing started) and lasts --duration seconds.
 *   Groups created inside it are "window groups"; subscribers must complete
 *   every one of them (lost = missing, reset, or aborted). Frames SENT inside
 *   the window count for throughput and latency. After the window the
 *   publishers go on for --tail seconds (those frames tell subscribers in
 *   other processes which group was the last window group), then finish.
 *
 * Output: a readable table on stdout and one JSON line (also --json FILE).
 * See docs/benchmarks.md for the profiles and the scenarios built on this.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "common/bench_util.h"
#include "moqc/endpoint.h"
#include "moqc/error.h"
#include "moqc/model.h"
#include "moqc/quic.h"
#include "moqc/runtime.h"
#include "moqc/session.h"
#include "moqc/time.h"

/* ==========================================================================
 * Configuration
 * ========================================================================== */

enum { R_BOTH, R_PUB, R_SUB, R_CONNECT, R_IDLE };

typedef struct bench_cfg {
  const char *url;
  const char *sub_url; /* subscribers' URL if not --url (e.g. via a lossy forwarder) */
  char listen_host[64];
  uint16_t listen_port;
  bool listen;
  int role;
  const char *profile;
  uint64_t frame_size, first_size;
  double fps; /* 0 = as fast as the window allows */
  uint32_t group_frames;
  uint32_t tracks, pubs, subs, pub_offset;
  uint64_t bitrate;
  double duration, warmup, tail, ready_timeout, max_time, hold;
  const char *versions[8];
  size_t n_versions;
  int relay_pid;
  int relay_pid2; /* a second relay (a chain's first hop): its CPU in the window too */
  double late_ms;
  uint32_t window;
  uint16_t feedback_port;
  uint32_t connect_total, concurrency;
  uint64_t cache_budget;
  const char *label;
  const char *json_path;
  bool quiet;
} bench_cfg;

/* ==========================================================================
 * Frame header (little-endian, 56 bytes at the start of every payload)
 * ========================================================================== */

#define HDR_MAGIC 0x4e42514du /* "MQBN" */
#define HDR_LEN 56
#define F_FRAME_IN 1u /* frame sent inside the window */
#define F_GROUP_IN 2u /* its group was created inside the window */
#define F_OVER 4u     /* group created after the window; win_last is valid */

typedef struct fhdr {
  uint32_t pub, track, frame, flags;
  uint64_t seq, send_ns, win_base, win_last, tx_no;
} fhdr;

static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
static uint64_t get64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

static void hdr_encode(uint8_t *p, const fhdr *h) {
  put32(p, HDR_MAGIC);
  put32(p + 4, (h->pub & 0xffffu) | (h->track << 16));
  put32(p + 8, h->frame);
  put32(p + 12, h->flags);
  put64(p + 16, h->seq);
  put64(p + 24, h->send_ns);
  put64(p + 32, h->win_base);
  put64(p + 40, h->win_last);
  put64(p + 48, h->tx_no);
}

static bool hdr_decode(const uint8_t *p, fhdr *h) {
  if (get32(p) != HDR_MAGIC) return false;
  uint32_t pt = get32(p + 4);
  h->pub = pt & 0xffffu;
  h->track = pt >> 16;
  h->frame = get32(p + 8);
  h->flags = get32(p + 12);
  h->seq = get64(p + 16);
  h->send_ns = get64(p + 24);
  h->win_base = get64(p + 32);
  h->win_last = get64(p + 40);
  h->tx_no = get64(p + 48);
  return true;
}

/* ==========================================================================
 * Latency histogram: exact below 128 ns, then 64 buckets per octave (~1.5%)
 * ========================================================================== */

#define H_BUCKETS (128 + 57 * 64)

typedef struct hist {
  uint64_t b[H_BUCKETS];
  uint64_t n, max;
} hist;

static size_t h_index(uint64_t v) {
  if (v < 128) return (size_t)v;
  int e = 63 - __builtin_clzll(v);
  uint64_t m = v >> (e - 6);
  return (size_t)(128 + (uint64_t)(e - 7) * 64 + (m - 64));
}

static uint64_t h_value(size_t i) {
  if (i < 128) return i;
  size_t e = (i - 128) / 64 + 7;
  uint64_t m = (i - 128) % 64 + 64;
  uint64_t lo = m << (e - 6), width = (uint64_t)1 << (e - 6);
  return lo + width / 2;
}

static void h_add(hist *h, uint64_t v) {
  h->b[h_index(v)]++;
  h->n++;
  if (v > h->max) h->max = v;
}

static uint64_t h_pct(const hist *h, double p) {
  if (!h->n) return 0;
  uint64_t want = (uint64_t)(p / 100.0 * (double)h->n);
  if (want >= h->n) want = h->n - 1;
  uint64_t acc = 0;
  for (size_t i = 0; i < H_BUCKETS; i++) {
    acc += h->b[i];
    if (acc > want) return h_value(i) > h->max ? h->max : h_value(i);
  }
  return h->max;
}

/* ==========================================================================
 * Process measurements: own rusage, another process's /proc
 * ========================================================================== */

static double rusage_cpu(double *user, double *sys) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double u = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
  double s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
  if (user) *user = u;
  if (sys) *sys = s;
  return u + s;
}

/* Seconds this (main) thread waited runnable for a CPU (Linux schedstat), or
 * -1. On a shared machine on-CPU time alone hides that a loop is saturated. */
static double sched_wait_s(void) {
  FILE *f = fopen("/proc/thread-self/schedstat", "r");
  if (!f) return -1;
  unsigned long long run = 0, wait = 0;
  int n = fscanf(f, "%llu %llu", &run, &wait);
  fclose(f);
  return n == 2 ? (double)wait / 1e9 : -1;
}

static long self_maxrss_kb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

static uint64_t now_ns(void) { return moqc_time_mono_ns(); }

/* ==========================================================================
 * State
 * ========================================================================== */

typedef struct ptrack {
  moqc_track_producer *tp;
  moqc_group_producer *gp;
  uint32_t idx;
  uint64_t seq;
  uint32_t in_group;
  bool group_in;
  bool base_set;
  uint64_t win_base, win_last;
} ptrack;

typedef struct pubr {
  uint32_t idx; /* global index (pub_offset + local) */
  moqc_client *client;
  moqc_origin *origin; /* own (client) or the server's (borrowed ref) */
  moqc_broadcast_producer *bp;
  ptrack *tracks;
  bool up, failed;
  uint64_t tx_no; /* frames written so far (all tracks) */
  uint64_t acked; /* feedback: highest tx_no a remote subscriber saw */
  uint32_t next_track;
} pubr;

struct strack;

typedef struct rgroup {
  struct rgroup *next, *prev;
  struct strack *t;
  moqc_group_consumer *gc;
  uint64_t seq;
  uint64_t max_lat;
  uint32_t frames;
  bool in_frame, in_window, known, broken;
  uint64_t frame_size;
  size_t hdr_len;
  uint8_t hdr[HDR_LEN];
} rgroup;

typedef struct strack {
  struct subr *sub;
  uint32_t pub, idx;
  moqc_track_consumer *tc;
  rgroup groups; /* list head */
  bool have_base, have_last, got_frame, ended;
  uint64_t base, last, max_in;
  uint8_t *bits;   /* completed window groups, bit (seq - base) */
  size_t bits_cap; /* bytes */
  uint64_t aborted, late;
} strack;

typedef struct subr {
  uint32_t idx;
  moqc_client *client;
  moqc_origin *origin;
  moqc_origin_consumer *oc;
  strack **tracks;
  size_t n_tracks, cap;
  uint64_t *highest; /* per publisher (global index): highest tx_no seen */
  bool up, failed, dialing, ready;
} subr;

enum { PH_CONNECT, PH_READY, PH_WARMUP, PH_WINDOW, PH_TAIL, PH_DRAIN, PH_DONE };

typedef struct bench {
  bench_cfg cfg;
  uv_loop_t loop;
  moqc_uv *uv;
  moqc_env *env;
  uv_timer_t tick, ctrl;
  uv_check_t check;
  uv_signal_t sigint, sigterm;
  uv_udp_t fb;
  bool fb_open;
  moqc_cert *cert;
  moqc_server *server;
  moqc_origin *server_origin;
  moqc_buf *zeros;

  pubr *pubs;
  subr *subs;
  uint32_t pubs_up, subs_up, subs_failed, subs_ready, pubs_failed;
  uint32_t next_dial, dials_inflight;

  int phase;
  uint64_t t_start, t_pub0, t_ready, t_win0, t_win1, t_tail1, t_drain1, t_deadline;
  uint64_t frames_written; /* since t_pub0, per track (paced mode) */
  bool sub_window_begun, sub_window_ended;
  uint64_t sub_win_end_seen;

  /* stats */
  uint64_t frames_tx, bytes_tx, groups_tx, frames_tx_all;
  uint64_t frames_rx, bytes_rx, frames_rx_all, bytes_rx_all, bad_frames;
  uint64_t groups_rx_ok;
  hist lat;
  double cpu0, cpu1, cpu_u0, cpu_s0, cpu_u1, cpu_s1;
  double rcpu0, rcpu1;
  double r2cpu0, r2cpu1;
  uint64_t snap0_ns, snap1_ns;
  bool snap0, snap1;
  long rss_first, rss_max, rss_win_end, rss_last;
  uint64_t rss_samples_ns;

  /* connect / idle */
  uint64_t conn_ok, conn_fail, conn_started;
  uint64_t conn_t0, conn_t1;
  double conn_cpu0, conn_rcpu0, conn_cpu1, conn_rcpu1, conn_wait0, conn_wait1;
  long idle_rss_before, idle_rss_after, idle_self_before, idle_self_after;
  uint64_t idle_all_up_ns;

  int exit_code;
  bool stopping;
  char fail_msg[256];
} bench;

static bench B;

static void vlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void vlog(const char *fmt, ...) {
  if (B.cfg.quiet) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "moqc_bench[%s]: ", B.cfg.label ? B.cfg.label : "-");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static void bench_stop(int code, const char *why);

/* ==========================================================================
 * Snapshots (window begin / end)
 * ========================================================================== */

static void snap_begin(void) {
  if (B.snap0) return;
  B.snap0 = true;
  B.snap0_ns = now_ns();
  B.cpu0 = rusage_cpu(&B.cpu_u0, &B.cpu_s0);
  B.rcpu0 = bench_proc_cpu_s(B.cfg.relay_pid);
  B.r2cpu0 = bench_proc_cpu_s(B.cfg.relay_pid2);
}

static void snap_end(void) {
  if (B.snap1 || !B.snap0) return;
  B.snap1 = true;
  B.snap1_ns = now_ns();
  B.cpu1 = rusage_cpu(&B.cpu_u1, &B.cpu_s1);
  B.rcpu1 = bench_proc_cpu_s(B.cfg.relay_pid);
  B.r2cpu1 = bench_proc_cpu_s(B.cfg.relay_pid2);
  B.rss_win_end = bench_proc_rss_kb(B.cfg.relay_pid);
}

static void sample_rss(void) {
  if (B.cfg.relay_pid <= 0) return;
  long kb = bench_proc_rss_kb(B.cfg.relay_pid);
  if (kb < 0) return;
  if (B.rss_first <= 0) B.rss_first = kb;
  if (kb > B.rss_max) B.rss_max = kb;
  B.rss_last = kb;
}

/* ==========================================================================
 * Publishers
 * ========================================================================== */

static uint64_t frame_size_for(uint32_t index_in_group) {
  uint64_t sz = index_in_group == 0 ? B.cfg.first_size : B.cfg.frame_size;
  return sz < HDR_LEN ? HDR_LEN : sz;
}

/* Payload = header chunk + zero padding chunks sliced from one shared buf,
 * so the publisher spends no time on memset/memcpy of big frames. */
static int write_payload(moqc_group_producer *gp, const fhdr *h, uint64_t size, uint64_t ts) {
  if (size <= 512) {
    uint8_t *w;
    moqc_buf *b = moqc_buf_alloc((size_t)size, &w);
    if (!b) return MOQC_ERR_NOMEM;
    memset(w, 0, (size_t)size);
    hdr_encode(w, h);
    moqc_slice s;
    moqc_slice_make(&s, b, 0, (size_t)size);
    moqc_buf_unref(b);
    int rv = moqc_group_producer_write_frame(gp, &s, ts);
    moqc_slice_release(&s);
    return rv;
  }
  moqc_frame_info fi = {size, ts};
  int err = 0;
  moqc_frame_producer *fp = moqc_group_producer_create_frame(gp, &fi, &err);
  if (!fp) return err ? err : MOQC_ERR_NOMEM;
  uint8_t hb[HDR_LEN];
  hdr_encode(hb, h);
  int rv = moqc_frame_producer_write_copy(fp, hb, HDR_LEN);
  uint64_t left = size - HDR_LEN;
  while (rv == MOQC_OK && left > 0) {
    size_t n = left > B.zeros->len ? B.zeros->len : (size_t)left;
    moqc_slice s;
    moqc_slice_make(&s, B.zeros, 0, n);
    rv = moqc_frame_producer_write(fp, &s);
    moqc_slice_release(&s);
    left -= n;
  }
  if (rv == MOQC_OK) rv = moqc_frame_producer_finish(fp);
  moqc_frame_producer_del(fp);
  return rv;
}

static int pub_write(pubr *p, ptrack *t) {
  uint64_t now = now_ns();
  if (!t->gp) {
    t->gp = moqc_track_producer_append_group(t->tp);
    if (!t->gp) return MOQC_ERR_STATE;
    t->seq = moqc_group_producer_sequence(t->gp);
    t->in_group = 0;
    t->group_in = B.phase == PH_WINDOW;
    if (t->group_in) {
      if (!t->base_set) t->win_base = t->seq;
      t->base_set = true;
      t->win_last = t->seq;
      B.groups_tx++;
    }
  }
  fhdr h = {.pub = p->idx,
            .track = t->idx,
            .frame = t->in_group,
            .seq = t->seq,
            .send_ns = now,
            .win_base = t->win_base,
            .win_last = t->win_last,
            .tx_no = ++p->tx_no};
  bool frame_in = B.phase == PH_WINDOW;
  if (frame_in) h.flags |= F_FRAME_IN;
  if (t->group_in) h.flags |= F_GROUP_IN;
  if (!t->group_in && B.phase >= PH_TAIL) h.flags |= F_OVER;
  uint64_t size = frame_size_for(t->in_group);
  int rv = write_payload(t->gp, &h, size, (now - B.t_pub0) / 1000000);
  if (rv != MOQC_OK) return rv;
  B.frames_tx_all++;
  if (frame_in) {
    B.frames_tx++;
    B.bytes_tx += size;
  }
  if (++t->in_group >= B.cfg.group_frames) {
    moqc_group_producer_finish(t->gp);
    moqc_group_producer_del(t->gp);
    t->gp = NULL;
  }
  return MOQC_OK;
}

static void pub_end_groups(pubr *p) {
  for (uint32_t j = 0; j < B.cfg.tracks; j++) {
    ptrack *t = &p->tracks[j];
    if (t->gp) {
      moqc_group_producer_finish(t->gp);
      moqc_group_producer_del(t->gp);
      t->gp = NULL;
    }
  }
}

static void pub_on_connected(void *ctx, moqc_client *c, int err, const char *msg) {
  pubr *p = ctx;
  (void)c;
  if (err != MOQC_OK) {
    p->failed = true;
    B.pubs_failed++;
    vlog("publisher %u: %s", p->idx, msg ? msg : moqc_err_str(err));
    bench_stop(1, "a publisher could not connect");
    return;
  }
  p->up = true;
  B.pubs_up++;
}

static void pub_on_closed(void *ctx, moqc_client *c, uint64_t code, const char *reason,
                          bool by_peer) {
  pubr *p = ctx;
  (void)c;
  if (B.stopping) return;
  vlog("publisher %u: session closed (%s, code %" PRIu64 ", %s)", p->idx,
       reason && *reason ? reason : moqc_code_str(code), code, by_peer ? "by peer" : "local");
  p->up = false;
  bench_stop(1, "a publisher session closed");
}

static int pub_create(pubr *p, uint32_t idx) {
  p->idx = idx;
  p->tracks = calloc(B.cfg.tracks, sizeof *p->tracks);
  if (!p->tracks) return -1;
  p->bp = moqc_broadcast_producer_new(B.env);
  if (!p->bp) return -1;
  for (uint32_t j = 0; j < B.cfg.tracks; j++) {
    char name[32];
    snprintf(name, sizeof name, "t%u", j);
    int err = 0;
    moqc_track_info ti = MOQC_TRACK_INFO_DEFAULT;
    ti.latency_max_ms = 5000;
    p->tracks[j].idx = j;
    p->tracks[j].tp = moqc_broadcast_producer_create_track(p->bp, name, &ti, &err);
    if (!p->tracks[j].tp) return -1;
  }
  char path[32];
  snprintf(path, sizeof path, "p%u", idx);
  if (B.cfg.listen) {
    p->origin = moqc_origin_ref(B.server_origin);
  } else {
    moqc_origin_config oc = {0, 0};
    p->origin = moqc_origin_new(B.env, &oc);
  }
  if (!p->origin) return -1;
  moqc_broadcast_consumer *bc = moqc_broadcast_producer_consume(p->bp);
  int rv = bc ? moqc_origin_publish(p->origin, path, bc, NULL) : MOQC_ERR_NOMEM;
  moqc_broadcast_consumer_del(bc);
  if (rv != MOQC_OK) return -1;
  if (B.cfg.listen) {
    p->up = true;
    B.pubs_up++;
    return 0;
  }
  moqc_client_config cc = {
      .uv = B.uv,
      .url = B.cfg.url,
      .tls = {.disable_verify = true},
      .versions = B.cfg.n_versions ? B.cfg.versions : NULL,
      .n_versions = B.cfg.n_versions,
      .publish = p->origin,
      .timeout_ms = 10000,
      .on_connected = pub_on_connected,
      .on_closed = pub_on_closed,
      .ctx = p,
  };
  char msg[256];
  if (moqc_client_connect(&cc, &p->client, msg, sizeof msg) != MOQC_OK) {
    vlog("publisher %u: %s", idx, msg);
    return -1;
  }
  return 0;
}

static void pub_destroy(pubr *p) {
  if (p->client) moqc_client_del(p->client);
  p->client = NULL;
  if (p->tracks) {
    for (uint32_t j = 0; j < B.cfg.tracks; j++) {
      if (p->tracks[j].gp) moqc_group_producer_del(p->tracks[j].gp);
      if (p->tracks[j].tp) moqc_track_producer_del(p->tracks[j].tp);
    }
  }
  free(p->tracks);
  p->tracks = NULL;
  if (p->bp) moqc_broadcast_producer_del(p->bp);
  p->bp = NULL;
  if (p->origin) moqc_origin_unref(p->origin);
  p->origin = NULL;
}

/* Frames p may still write in max-rate mode. */
static uint64_t pub_allowance(pubr *p) {
  uint64_t seen = UINT64_MAX;
  if (B.cfg.role == R_BOTH && B.cfg.subs > 0) {
    for (uint32_t i = 0; i < B.cfg.subs; i++) {
      if (!B.subs[i].up) continue;
      uint64_t h = B.subs[i].highest[p->idx];
      if (h < seen) seen = h;
    }
  } else if (B.cfg.feedback_port) {
    seen = p->acked;
  } else {
    /* No end-to-end feedback: bound the groups the session still sends. */
    moqc_session *s = moqc_client_session(p->client);
    if (!s) return 0;
    uint64_t gif = moqc_session_get_stats(s).groups_in_flight;
    uint64_t gmax = B.cfg.window / B.cfg.group_frames + 1;
    return gif >= gmax ? 0 : B.cfg.group_frames;
  }
  if (seen == UINT64_MAX) seen = 0;
  uint64_t out = p->tx_no > seen ? p->tx_no - seen : 0;
  return out >= B.cfg.window ? 0 : B.cfg.window - out;
}

static bool publishing(void) { return B.phase >= PH_READY && B.phase <= PH_TAIL; }

/* Max-rate mode: write while the window allows (called every loop turn). */
static void pump_maxrate(void) {
  if (B.cfg.fps > 0 || !publishing()) return;
  for (uint32_t i = 0; i < B.cfg.pubs; i++) {
    pubr *p = &B.pubs[i];
    if (!p->up) continue;
    uint64_t n = pub_allowance(p);
    if (n > 4096) n = 4096; /* bounded per turn */
    for (uint64_t k = 0; k < n; k++) {
      ptrack *t = &p->tracks[p->next_track];
      p->next_track = (p->next_track + 1) % B.cfg.tracks;
      if (pub_write(p, t) != MOQC_OK) {
        bench_stop(1, "writing a frame failed");
        return;
      }
    }
  }
}

/* Paced mode: write every frame that is due (catching up, bounded). */
static void pump_paced(void) {
  if (B.cfg.fps <= 0 || !publishing()) return;
  uint64_t due = (uint64_t)((double)(now_ns() - B.t_pub0) * B.cfg.fps / 1e9) + 1;
  uint32_t rounds = 0;
  while (B.frames_written < due && rounds++ < 1000) {
    for (uint32_t i = 0; i < B.cfg.pubs; i++) {
      pubr *p = &B.pubs[i];
      if (!p->up) continue;
      for (uint32_t j = 0; j < B.cfg.tracks; j++) {
        if (pub_write(p, &p->tracks[j]) != MOQC_OK) {
          bench_stop(1, "writing a frame failed");
          return;
        }
      }
    }
    B.frames_written++;
  }
}

/* ==========================================================================
 * Subscribers
 * ========================================================================== */

static void sub_feedback(void);

static bool bit_get(const strack *t, uint64_t i) {
  return i / 8 < t->bits_cap && (t->bits[i / 8] >> (i % 8)) & 1;
}

static void bit_set(strack *t, uint64_t i) {
  if (i / 8 >= t->bits_cap) {
    size_t cap = t->bits_cap ? t->bits_cap : 64;
    while (cap <= i / 8) cap *= 2;
    uint8_t *b = realloc(t->bits, cap);
    if (!b) return;
    memset(b + t->bits_cap, 0, cap - t->bits_cap);
    t->bits = b;
    t->bits_cap = cap;
  }
  t->bits[i / 8] |= (uint8_t)(1u << (i % 8));
}

static void sub_window_begin(void) {
  if (B.cfg.role != R_SUB || B.sub_window_begun) return;
  B.sub_window_begun = true;
  snap_begin();
}

static void sub_window_end(void) {
  if (B.cfg.role != R_SUB || B.sub_window_ended) return;
  B.sub_window_ended = true;
  B.sub_win_end_seen = now_ns();
  snap_end();
}

static void on_frame(rgroup *g) {
  strack *t = g->t;
  uint64_t now = now_ns();
  B.frames_rx_all++;
  B.bytes_rx_all += g->frame_size;
  fhdr h;
  if (g->hdr_len < HDR_LEN || !hdr_decode(g->hdr, &h)) {
    B.bad_frames++;
    return;
  }
  if (!t->got_frame) {
    t->got_frame = true;
    subr *s = t->sub;
    bool all = s->n_tracks >= (size_t)B.cfg.tracks * (B.cfg.role == R_BOTH ? B.cfg.pubs : 1);
    for (size_t i = 0; all && i < s->n_tracks; i++) all = s->tracks[i]->got_frame;
    if (all && !s->ready) {
      s->ready = true;
      B.subs_ready++;
    }
  }
  if (h.pub < B.cfg.pubs + B.cfg.pub_offset && h.tx_no > t->sub->highest[h.pub])
    t->sub->highest[h.pub] = h.tx_no;
  uint64_t lat = now > h.send_ns ? now - h.send_ns : 0;
  if (!g->known) {
    g->known = true;
    g->in_window = (h.flags & F_GROUP_IN) != 0;
  }
  if (h.frame != g->frames || h.seq != g->seq) g->broken = true;
  g->frames++;
  if (lat > g->max_lat) g->max_lat = lat;
  if (h.flags & F_GROUP_IN) {
    if (!t->have_base) {
      t->have_base = true;
      t->base = h.win_base;
    }
    if (h.seq > t->max_in) t->max_in = h.seq;
  }
  if ((h.flags & F_OVER) && !t->have_last) {
    t->have_last = true;
    t->last = h.win_last;
  }
  if (h.flags & F_FRAME_IN) {
    sub_window_begin();
    B.frames_rx++;
    B.bytes_rx += g->frame_size;
    h_add(&B.lat, lat);
  } else if (B.sub_window_begun && (h.flags & F_OVER)) {
    sub_window_end();
  }
}

static void group_free(rgroup *g) {
  g->prev->next = g->next;
  g->next->prev = g->prev;
  moqc_group_consumer_del(g->gc);
  free(g);
}

static void group_done(rgroup *g, int rv) {
  strack *t = g->t;
  bool in = g->known ? g->in_window : (t->have_base && g->seq >= t->base);
  if (in && t->have_base && g->seq >= t->base) {
    if (rv == MOQC_ERR_CLOSED && g->frames > 0 && !g->broken) {
      bit_set(t, g->seq - t->base);
      B.groups_rx_ok++;
      if ((double)g->max_lat > B.cfg.late_ms * 1e6) t->late++;
    } else {
      t->aborted++;
      if (t->aborted <= 3 && !B.cfg.quiet)
        vlog("group %" PRIu64 " of p%u/t%u ended: %s (code %" PRIu64 " %s) after %u frame(s)%s",
             g->seq, t->pub, t->idx, moqc_err_str(rv), moqc_group_consumer_code(g->gc),
             moqc_code_str(moqc_group_consumer_code(g->gc)), g->frames, g->broken ? ", gap" : "");
    }
  }
  group_free(g);
}

static void group_pump(rgroup *g) {
  for (int guard = 0; guard < 100000; guard++) {
    if (!g->in_frame) {
      moqc_frame_info fi;
      int rv = moqc_group_consumer_next_frame(g->gc, &fi);
      if (rv == MOQC_ERR_AGAIN) return;
      if (rv != MOQC_OK) {
        group_done(g, rv);
        return;
      }
      g->in_frame = true;
      g->hdr_len = 0;
      g->frame_size = fi.size;
    }
    moqc_slice s;
    int rv = moqc_group_consumer_read_chunk(g->gc, &s);
    if (rv == MOQC_OK) {
      if (g->hdr_len < HDR_LEN) {
        size_t n = HDR_LEN - g->hdr_len;
        if (n > s.len) n = s.len;
        memcpy(g->hdr + g->hdr_len, moqc_slice_ptr(&s), n);
        g->hdr_len += n;
      }
      moqc_slice_release(&s);
    } else if (rv == MOQC_ERR_CLOSED) {
      g->in_frame = false;
      on_frame(g);
    } else if (rv == MOQC_ERR_AGAIN) {
      return;
    } else {
      group_done(g, rv);
      return;
    }
  }
}

static void group_wake(void *arg) { group_pump(arg); }

static void track_pump(strack *t) {
  for (int guard = 0; guard < 10000 && !t->ended; guard++) {
    moqc_group_consumer *gc;
    int rv = moqc_track_consumer_recv_group(t->tc, &gc);
    if (rv == MOQC_ERR_AGAIN) return;
    if (rv != MOQC_OK) {
      t->ended = true;
      return;
    }
    rgroup *g = calloc(1, sizeof *g);
    if (!g) {
      moqc_group_consumer_del(gc);
      return;
    }
    g->t = t;
    g->gc = gc;
    g->seq = moqc_group_consumer_sequence(gc);
    g->next = t->groups.next;
    g->prev = &t->groups;
    t->groups.next->prev = g;
    t->groups.next = g;
    moqc_group_consumer_set_waker(gc, group_wake, g); /* fires now if readable */
  }
}

static void track_wake(void *arg) { track_pump(arg); }

static void strack_free(strack *t) {
  while (t->groups.next != &t->groups) group_free(t->groups.next);
  if (t->tc) moqc_track_consumer_del(t->tc);
  free(t->bits);
  free(t);
}

/* Subscribe every track of broadcast p<pub>. */
static void sub_add_broadcast(subr *s, uint32_t pub, moqc_broadcast_consumer *bc) {
  for (size_t i = 0; i < s->n_tracks; i++)
    if (s->tracks[i]->pub == pub && !s->tracks[i]->ended) return; /* already reading it */
  for (uint32_t j = 0; j < B.cfg.tracks; j++) {
    char name[32];
    snprintf(name, sizeof name, "t%u", j);
    moqc_subscription sub = MOQC_SUBSCRIPTION_DEFAULT;
    sub.ordered = true;
    int err = 0;
    moqc_track_consumer *tc = moqc_broadcast_consumer_subscribe(bc, name, &sub, &err);
    if (!tc) {
      vlog("subscriber %u: subscribe p%u/%s: %s", s->idx, pub, name, moqc_err_str(err));
      continue;
    }
    strack *t = calloc(1, sizeof *t);
    if (!t || (s->n_tracks == s->cap &&
               !(s->tracks =
                     realloc(s->tracks, (s->cap = s->cap ? s->cap * 2 : 8) * sizeof *s->tracks)))) {
      free(t);
      moqc_track_consumer_del(tc);
      return;
    }
    t->sub = s;
    t->pub = pub;
    t->idx = j;
    t->tc = tc;
    t->groups.next = t->groups.prev = &t->groups;
    s->tracks[s->n_tracks++] = t;
    moqc_track_consumer_set_waker(tc, track_wake, t);
  }
}

static void sub_announce(void *arg) {
  subr *s = arg;
  moqc_announce a;
  for (int guard = 0; guard < 10000 && moqc_origin_consumer_next(s->oc, &a) == MOQC_OK; guard++) {
    unsigned pub;
    char extra;
    if (!a.active || sscanf(a.path, "p%u%c", &pub, &extra) != 1) continue;
    if (pub >= B.cfg.pub_offset + B.cfg.pubs) continue;
    if (B.cfg.role == R_IDLE) continue;
    int err = 0;
    moqc_broadcast_consumer *bc = moqc_origin_consumer_request(s->oc, a.path, &err);
    if (!bc) continue;
    sub_add_broadcast(s, pub, bc);
    moqc_broadcast_consumer_del(bc);
  }
}

static void dial_more(void);

static void sub_on_connected(void *ctx, moqc_client *c, int err, const char *msg) {
  subr *s = ctx;
  (void)c;
  s->dialing = false;
  B.dials_inflight--;
  if (err != MOQC_OK) {
    s->failed = true;
    B.subs_failed++;
    if (B.subs_failed <= 5) vlog("subscriber %u: %s", s->idx, msg ? msg : moqc_err_str(err));
  } else {
    s->up = true;
    B.subs_up++;
    if (B.cfg.role == R_IDLE && B.subs_up == B.cfg.subs) B.idle_all_up_ns = now_ns();
  }
  dial_more();
}

static void sub_on_closed(void *ctx, moqc_client *c, uint64_t code, const char *reason,
                          bool by_peer) {
  subr *s = ctx;
  (void)c;
  if (B.stopping) return;
  if (s->up) B.subs_up--;
  s->up = false;
  s->failed = true;
  B.subs_failed++;
  if (B.subs_failed <= 5)
    vlog("subscriber %u: session closed (%s, code %" PRIu64 ", %s)", s->idx,
         reason && *reason ? reason : moqc_code_str(code), code, by_peer ? "by peer" : "local");
}

static int sub_dial(subr *s) {
  moqc_origin_config oc = {0, 0};
  s->origin = moqc_origin_new(B.env, &oc);
  s->oc = s->origin ? moqc_origin_consume(s->origin, "") : NULL;
  s->highest = calloc(B.cfg.pub_offset + B.cfg.pubs + 1, sizeof *s->highest);
  if (!s->oc || !s->highest) return -1;
  moqc_origin_consumer_set_waker(s->oc, sub_announce, s);
  moqc_client_config cc = {
      .uv = B.uv,
      .url = B.cfg.sub_url ? B.cfg.sub_url : B.cfg.url,
      .tls = {.disable_verify = true},
      .versions = B.cfg.n_versions ? B.cfg.versions : NULL,
      .n_versions = B.cfg.n_versions,
      .subscribe = s->origin,
      .timeout_ms = 20000,
      .on_connected = sub_on_connected,
      .on_closed = sub_on_closed,
      .ctx = s,
  };
  char msg[256];
  if (moqc_client_connect(&cc, &s->client, msg, sizeof msg) != MOQC_OK) {
    vlog("subscriber %u: %s", s->idx, msg);
    return -1;
  }
  s->dialing = true;
  B.dials_inflight++;
  return 0;
}

static void sub_destroy(subr *s) {
  if (s->client) moqc_client_del(s->client);
  s->client = NULL;
  for (size_t i = 0; i < s->n_tracks; i++) strack_free(s->tracks[i]);
  free(s->tracks);
  s->tracks = NULL;
  s->n_tracks = 0;
  if (s->oc) moqc_origin_consumer_del(s->oc);
  s->oc = NULL;
  if (s->origin) moqc_origin_unref(s->origin);
  s->origin = NULL;
  free(s->highest);
  s->highest = NULL;
}

/* Start dials up to the concurrency limit. */
static void dial_more(void) {
  if (B.stopping || B.cfg.role == R_CONNECT) return;
  while (B.next_dial < B.cfg.subs && B.dials_inflight < B.cfg.concurrency) {
    subr *s = &B.subs[B.next_dial];
    s->idx = B.next_dial++;
    if (sub_dial(s) != 0) {
      s->failed = true;
      B.subs_failed++;
    }
  }
}

/* Feedback to a publisher in another process: per publisher, the lowest
 * "highest tx_no seen" over our subscribers. */
static void sub_feedback(void) {
  if (!B.fb_open || B.cfg.role != R_SUB) return;
  uint8_t msg[12 * 64];
  size_t n = 0;
  for (uint32_t p = B.cfg.pub_offset; p < B.cfg.pub_offset + B.cfg.pubs && n + 12 <= sizeof msg;
       p++) {
    uint64_t lo = UINT64_MAX;
    for (uint32_t i = 0; i < B.cfg.subs; i++)
      if (B.subs[i].up && B.subs[i].highest[p] < lo) lo = B.subs[i].highest[p];
    if (lo == UINT64_MAX || lo == 0) continue;
    put32(msg + n, p);
    put64(msg + n + 4, lo);
    n += 12;
  }
  if (!n) return;
  static uint8_t last[sizeof msg];
  static size_t last_n;
  if (n == last_n && memcmp(last, msg, n) == 0) return; /* nothing new */
  memcpy(last, msg, n);
  last_n = n;
  struct sockaddr_in sa;
  uv_ip4_addr("127.0.0.1", B.cfg.feedback_port, &sa);
  uv_buf_t b = uv_buf_init((char *)msg, (unsigned)n);
  uv_udp_try_send(&B.fb, &b, 1, (const struct sockaddr *)&sa);
}

static void fb_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  static char space[2048];
  (void)h, (void)hint;
  *buf = uv_buf_init(space, sizeof space);
}

static void fb_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *a,
                    unsigned flags) {
  (void)h, (void)a, (void)flags;
  for (ssize_t off = 0; n > 0 && off + 12 <= n; off += 12) {
    uint32_t p = get32((const uint8_t *)buf->base + off);
    uint64_t v = get64((const uint8_t *)buf->base + off + 4);
    if (p >= B.cfg.pub_offset && p < B.cfg.pub_offset + B.cfg.pubs) {
      pubr *pp = &B.pubs[p - B.cfg.pub_offset];
      if (v > pp->acked) pp->acked = v;
    }
  }
}

static int feedback_open(void) {
  if (!B.cfg.feedback_port) return 0;
  if (uv_udp_init(&B.loop, &B.fb) != 0) return -1;
  B.fb_open = true;
  if (B.cfg.role == R_PUB) {
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", B.cfg.feedback_port, &sa);
    if (uv_udp_bind(&B.fb, (const struct sockaddr *)&sa, 0) != 0) return -1;
    return uv_udp_recv_start(&B.fb, fb_alloc, fb_recv);
  }
  return 0;
}

/* ==========================================================================
 * Connection-setup rate (role connect)
 * ========================================================================== */

static void conn_next(void);

static void conn_on_connected(void *ctx, moqc_client *c, int err, const char *msg) {
  uint64_t t_dial = (uint64_t)(uintptr_t)ctx;
  B.dials_inflight--;
  if (err == MOQC_OK) {
    B.conn_ok++;
    h_add(&B.lat, now_ns() - t_dial); /* setup latency */
  } else {
    B.conn_fail++;
    if (B.conn_fail <= 5) vlog("connect: %s", msg ? msg : moqc_err_str(err));
  }
  B.conn_t1 = now_ns();
  moqc_client_del(c);
  conn_next();
}

static void conn_next(void) {
  while (!B.stopping && B.conn_started < B.cfg.connect_total &&
         B.dials_inflight < B.cfg.concurrency) {
    moqc_client_config cc = {
        .uv = B.uv,
        .url = B.cfg.url,
        .tls = {.disable_verify = true},
        .versions = B.cfg.n_versions ? B.cfg.versions : NULL,
        .n_versions = B.cfg.n_versions,
        .timeout_ms = 10000,
        .on_connected = conn_on_connected,
        .ctx = (void *)(uintptr_t)now_ns(),
    };
    moqc_client *c;
    char msg[256];
    B.conn_started++;
    if (moqc_client_connect(&cc, &c, msg, sizeof msg) != MOQC_OK) {
      B.conn_fail++;
      continue;
    }
    B.dials_inflight++;
  }
  if (B.conn_ok + B.conn_fail >= B.cfg.connect_total && !B.stopping) {
    B.conn_cpu1 = rusage_cpu(NULL, NULL);
    B.conn_wait1 = sched_wait_s();
    B.conn_rcpu1 = bench_proc_cpu_s(B.cfg.relay_pid);
    bench_stop(0, NULL);
  }
}

/* ==========================================================================
 * Direct serving (--listen): publishers' origin served by our own server
 * ========================================================================== */

static void srv_on_request(void *ctx, moqc_server_request *req) {
  (void)ctx;
  if (moqc_server_accept(req, B.server_origin, NULL) != MOQC_OK)
    moqc_server_reject(req, MOQC_CODE_TRANSPORT, "accept failed");
}

static int server_start(void) {
  const char *hosts[] = {"localhost", "127.0.0.1"};
  if (moqc_cert_self_signed(hosts, 2, &B.cert) != MOQC_OK) return -1;
  moqc_origin_config oc = {0, 0};
  B.server_origin = moqc_origin_new(B.env, &oc);
  if (!B.server_origin) return -1;
  moqc_server_config sc = {
      .uv = B.uv,
      .host = B.cfg.listen_host,
      .port = B.cfg.listen_port,
      .cert = B.cert,
      .versions = B.cfg.n_versions ? B.cfg.versions : NULL,
      .n_versions = B.cfg.n_versions,
      .on_request = srv_on_request,
  };
  char msg[256];
  if (moqc_server_new(&sc, &B.server, msg, sizeof msg) != MOQC_OK) {
    vlog("listen: %s", msg);
    return -1;
  }
  vlog("serving publishers directly on %s:%u", B.cfg.listen_host, moqc_server_port(B.server));
  return 0;
}

/* ==========================================================================
 * Phases
 * ========================================================================== */

static double secs(uint64_t ns) { return (double)ns / 1e9; }
static uint64_t nsec(double s) { return (uint64_t)(s * 1e9); }

static bool all_subs_settled(void) { return B.next_dial >= B.cfg.subs && B.dials_inflight == 0; }

static void start_window(uint64_t now) {
  B.phase = PH_WARMUP;
  B.t_ready = now;
  B.t_win0 = now + nsec(B.cfg.warmup);
  B.t_win1 = B.t_win0 + nsec(B.cfg.duration);
  B.t_tail1 = B.t_win1 + nsec(B.cfg.tail);
  vlog("ready (%u/%u subscribers connected, %u ready, %u failed); window opens in %.1f s",
       B.subs_up, B.cfg.subs, B.subs_ready, B.subs_failed, B.cfg.warmup);
}

/* Role pub/both: the publisher's state machine. */
static void phase_pub(uint64_t now) {
  switch (B.phase) {
    case PH_CONNECT:
      if (B.pubs_up == B.cfg.pubs) {
        B.phase = PH_READY;
        B.t_pub0 = now;
        if (B.cfg.role == R_PUB) start_window(now);
      }
      break;
    case PH_READY: /* role both: wait until every subscriber got a frame */
      if (all_subs_settled() && B.subs_ready >= B.subs_up && B.subs_up > 0) start_window(now);
      else if (now - B.t_pub0 > nsec(B.cfg.ready_timeout)) start_window(now);
      break;
    case PH_WARMUP:
      if (now >= B.t_win0) {
        B.phase = PH_WINDOW;
        snap_begin();
      }
      break;
    case PH_WINDOW:
      if (now >= B.t_win1) {
        B.phase = PH_TAIL;
        snap_end();
        /* Groups open at the window's end are still window groups: end them
       * now so the tail starts with groups flagged OVER. */
        for (uint32_t i = 0; i < B.cfg.pubs; i++) pub_end_groups(&B.pubs[i]);
      }
      break;
    case PH_TAIL:
      if (now >= B.t_tail1) {
        for (uint32_t i = 0; i < B.cfg.pubs; i++) {
          pub_end_groups(&B.pubs[i]);
          for (uint32_t j = 0; j < B.cfg.tracks; j++)
            moqc_track_producer_finish(B.pubs[i].tracks[j].tp);
        }
        B.phase = PH_DRAIN;
        B.t_drain1 = now + nsec(B.cfg.role == R_PUB ? 1.0 : 3.0);
      }
      break;
    case PH_DRAIN:
      if (now >= B.t_drain1) bench_stop(0, NULL);
      break;
    default: break;
  }
}

/* Role sub: done once every track saw the window's end (plus a drain for
 * groups still in flight), or the publisher finished. */
static void phase_sub(uint64_t now) {
  if (B.phase == PH_CONNECT && all_subs_settled()) B.phase = PH_WINDOW;
  if (B.phase != PH_WINDOW) return;
  bool all_last = B.subs_up > 0;
  for (uint32_t i = 0; i < B.cfg.subs && all_last; i++) {
    subr *s = &B.subs[i];
    if (!s->up) continue;
    if (s->n_tracks == 0) all_last = false;
    for (size_t k = 0; k < s->n_tracks && all_last; k++)
      all_last = s->tracks[k]->have_last || s->tracks[k]->ended;
  }
  if (all_last) {
    B.phase = PH_DRAIN;
    B.t_drain1 = now + nsec(1.0);
    sub_window_end();
  }
}

static void phase_idle(uint64_t now) {
  if (B.phase == PH_CONNECT && all_subs_settled()) {
    B.phase = PH_WINDOW;
    B.t_win0 = now + nsec(2.0); /* settle, then measure */
    B.t_win1 = B.t_win0 + nsec(B.cfg.hold);
  }
  if (B.phase == PH_WINDOW && now >= B.t_win0 && B.idle_rss_after == 0) {
    B.idle_rss_after = bench_proc_rss_kb(B.cfg.relay_pid);
    B.idle_self_after = bench_proc_rss_kb(0);
  }
  if (B.phase == PH_WINDOW && now >= B.t_win1) {
    B.rss_win_end = bench_proc_rss_kb(B.cfg.relay_pid);
    bench_stop(0, NULL);
  }
}

static void on_ctrl(uv_timer_t *t) {
  (void)t;
  uint64_t now = now_ns();
  if (B.stopping) return;
  if (now - B.rss_samples_ns >= 200000000ull) {
    B.rss_samples_ns = now;
    sample_rss();
  }
  if (now >= B.t_deadline) {
    vlog("time limit reached (--max-time %.0f s)", B.cfg.max_time);
    if (B.cfg.role == R_SUB) sub_window_end();
    else snap_end();
    bench_stop(B.cfg.role == R_SUB ? 0 : 1, "time limit");
    return;
  }
  switch (B.cfg.role) {
    case R_PUB:
    case R_BOTH: phase_pub(now); break;
    case R_SUB:
      phase_sub(now);
      if (B.phase == PH_DRAIN && now >= B.t_drain1) bench_stop(0, NULL);
      break;
    case R_IDLE: phase_idle(now); break;
    default: break;
  }
}

static void on_tick(uv_timer_t *t) {
  (void)t;
  if (B.stopping) return;
  pump_paced();
  pump_maxrate();
  sub_feedback();
}

static void on_check(uv_check_t *c) {
  (void)c;
  if (B.stopping) return;
  pump_maxrate();
  sub_feedback();
}

static void on_signal(uv_signal_t *h, int sig) {
  (void)h, (void)sig;
  vlog("interrupted");
  if (B.cfg.role == R_SUB) sub_window_end();
  else snap_end();
  bench_stop(B.exit_code, NULL);
}

/* ==========================================================================
 * Report
 * ========================================================================== */

typedef struct groups_sum {
  uint64_t expected, ok, lost, late, aborted, tracks, tracks_nodata;
  uint64_t worst_sub_lost;
} groups_sum;

static groups_sum count_groups(void) {
  groups_sum g = {0};
  for (uint32_t i = 0; i < B.cfg.subs; i++) {
    subr *s = &B.subs[i];
    uint64_t sub_lost = 0;
    if (!s->origin) continue;
    /* A subscriber that never got a track of a local publisher lost all of it. */
    size_t want = B.cfg.role == R_BOTH ? (size_t)B.cfg.pubs * B.cfg.tracks : 0;
    for (size_t k = 0; k < s->n_tracks; k++) {
      strack *t = s->tracks[k];
      uint64_t base, last;
      bool have;
      g.tracks++;
      if (B.cfg.role == R_BOTH) {
        ptrack *pt = &B.pubs[t->pub - B.cfg.pub_offset].tracks[t->idx];
        have = pt->base_set;
        base = pt->win_base;
        last = pt->win_last;
      } else {
        have = t->have_base;
        base = t->base;
        last = t->have_last ? t->last : t->max_in;
      }
      if (!have) {
        g.tracks_nodata++;
        continue;
      }
      uint64_t exp = last >= base ? last - base + 1 : 0, ok = 0;
      for (uint64_t q = 0; q < exp; q++) ok += bit_get(t, q);
      g.expected += exp;
      g.ok += ok;
      g.lost += exp - ok;
      sub_lost += exp - ok;
      g.late += t->late;
      g.aborted += t->aborted;
    }
    if (want > s->n_tracks) {
      uint64_t per = B.groups_tx / (want ? want : 1);
      g.lost += per * (want - s->n_tracks);
      g.expected += per * (want - s->n_tracks);
      sub_lost += per * (want - s->n_tracks);
    }
    if (sub_lost > g.worst_sub_lost) g.worst_sub_lost = sub_lost;
  }
  return g;
}

static const char *role_str(int r) {
  static const char *n[] = {"both", "pub", "sub", "connect", "idle"};
  return n[r];
}

/* Append to a fixed buffer. */
typedef struct sbuf {
  char b[8192];
  size_t n;
} sbuf;

static void sb(sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb(sbuf *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(s->b + s->n, sizeof s->b - s->n, fmt, ap);
  va_end(ap);
  if (k > 0) s->n += (size_t)k < sizeof s->b - s->n ? (size_t)k : sizeof s->b - s->n - 1;
}

static void report_stream(sbuf *j) {
  const bench_cfg *c = &B.cfg;
  double win = c->duration;
  double wall = B.snap1 ? secs(B.snap1_ns - B.snap0_ns) : 0;
  groups_sum g = count_groups();
  double cpu = B.snap1 ? B.cpu1 - B.cpu0 : 0;
  double rcpu = (B.snap1 && B.rcpu0 >= 0 && B.rcpu1 >= 0) ? B.rcpu1 - B.rcpu0 : -1;
  double r2cpu =
      (B.snap1 && c->relay_pid2 > 0 && B.r2cpu0 >= 0 && B.r2cpu1 >= 0) ? B.r2cpu1 - B.r2cpu0 : -1;
  double gb_rx = (double)B.bytes_rx / 1e9;
  double p50 = (double)h_pct(&B.lat, 50) / 1e6, p99 = (double)h_pct(&B.lat, 99) / 1e6;
  double pmax = (double)B.lat.max / 1e6;
  bool has_sub = c->role != R_PUB;
  bool has_pub = c->role != R_SUB;
  printf("\nmoqc_bench %s  role=%s profile=%s url=%s\n", c->label ? c->label : "",
         role_str(c->role), c->profile, c->listen ? "(listen)" : c->url);
  printf("  traffic      %u pub x %u track, %u sub; frame %" PRIu64 " B (first %" PRIu64
         " B), %g fps%s, %u frames/group\n",
         c->pubs, c->tracks, c->subs, c->frame_size, c->first_size, c->fps,
         c->fps > 0 ? "" : " (max rate, window)", c->group_frames);
  printf("  window       %.1f s (measured %.2f s)\n", win, wall);
  if (has_pub)
    printf(
        "  sent         %" PRIu64 " frames, %.2f MB, %" PRIu64
        " groups  (%.0f frames/s, %.2f Mbit/s per track)\n",
        B.frames_tx, (double)B.bytes_tx / 1e6, B.groups_tx, (double)B.frames_tx / win,
        (double)B.bytes_tx * 8 / win / 1e6 / (c->pubs * c->tracks > 0 ? c->pubs * c->tracks : 1));
  if (has_sub) {
    printf("  delivered    %" PRIu64
           " frames, %.2f MB  -> %.0f frames/s, %.2f MB/s (%.1f Mbit/s)\n",
           B.frames_rx, (double)B.bytes_rx / 1e6, (double)B.frames_rx / win,
           (double)B.bytes_rx / win / 1e6, (double)B.bytes_rx * 8 / win / 1e6);
    printf("  latency      p50 %.3f ms  p99 %.3f ms  max %.3f ms  (%" PRIu64 " samples)\n", p50,
           p99, pmax, B.lat.n);
    printf("  groups       expected %" PRIu64 ", complete %" PRIu64 ", lost %" PRIu64
           " (worst subscriber %" PRIu64 "), late(>%.0f ms) %" PRIu64 ", reset/aborted %" PRIu64
           "\n",
           g.expected, g.ok, g.lost, g.worst_sub_lost, c->late_ms, g.late, g.aborted);
    printf("  subscribers  %u up, %u failed, %u ready; tracks without window data %" PRIu64 "\n",
           B.subs_up, B.subs_failed, B.subs_ready, g.tracks_nodata);
  }
  printf("  cpu (self)   %.2f s (user %.2f, sys %.2f) = %.0f%% of a core\n", cpu,
         B.cpu_u1 - B.cpu_u0, B.cpu_s1 - B.cpu_s0, wall > 0 ? cpu / wall * 100 : 0);
  if (c->relay_pid > 0) {
    printf("  cpu (relay)  %.2f s = %.0f%% of a core", rcpu, wall > 0 ? rcpu / wall * 100 : 0);
    if (has_sub && gb_rx > 0)
      printf("; %.2f CPU-s per delivered GB (%.2f ns/B)", rcpu / gb_rx, rcpu / gb_rx);
    printf("\n  relay RSS    first %ld KiB, max %ld KiB, at window end %ld KiB\n", B.rss_first,
           B.rss_max, B.rss_win_end);
  }
  if (c->relay_pid2 > 0) {
    printf("  cpu (relay2) %.2f s = %.0f%% of a core", r2cpu, wall > 0 ? r2cpu / wall * 100 : 0);
    if (has_sub && gb_rx > 0 && r2cpu >= 0)
      printf("; both relays %.2f ns/B", (rcpu + r2cpu) / gb_rx);
    printf("\n");
  }
  printf("  self RSS     max %ld KiB\n", self_maxrss_kb());
  sb(j, ",\"window_s\":%.3f,\"measured_s\":%.3f", win, wall);
  sb(j, ",\"frames_tx\":%" PRIu64 ",\"bytes_tx\":%" PRIu64 ",\"groups_tx\":%" PRIu64, B.frames_tx,
     B.bytes_tx, B.groups_tx);
  sb(j, ",\"frames_rx\":%" PRIu64 ",\"bytes_rx\":%" PRIu64 ",\"frames_per_s\":%.1f,\"MBps\":%.3f",
     B.frames_rx, B.bytes_rx, (double)B.frames_rx / win, (double)B.bytes_rx / win / 1e6);
  sb(j, ",\"lat_p50_ms\":%.4f,\"lat_p99_ms\":%.4f,\"lat_max_ms\":%.4f,\"lat_n\":%" PRIu64, p50, p99,
     pmax, B.lat.n);
  sb(j,
     ",\"groups_expected\":%" PRIu64 ",\"groups_ok\":%" PRIu64 ",\"groups_lost\":%" PRIu64
     ",\"groups_late\":%" PRIu64 ",\"groups_aborted\":%" PRIu64 ",\"worst_sub_lost\":%" PRIu64,
     g.expected, g.ok, g.lost, g.late, g.aborted, g.worst_sub_lost);
  sb(j, ",\"tracks_nodata\":%" PRIu64 ",\"subs_up\":%u,\"subs_failed\":%u,\"bad_frames\":%" PRIu64,
     g.tracks_nodata, B.subs_up, B.subs_failed, B.bad_frames);
  sb(j, ",\"cpu_s\":%.3f,\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f,\"relay_cpu_s\":%.3f", cpu,
     B.cpu_u1 - B.cpu_u0, B.cpu_s1 - B.cpu_s0, rcpu);
  if (c->relay_pid2 > 0) sb(j, ",\"relay2_cpu_s\":%.3f", r2cpu);
  sb(j, ",\"relay_rss_first_kb\":%ld,\"relay_rss_max_kb\":%ld,\"relay_rss_end_kb\":%ld",
     B.rss_first, B.rss_max, B.rss_win_end);
}

static void report_connect(sbuf *j) {
  double el = B.conn_t1 > B.conn_t0 ? secs(B.conn_t1 - B.conn_t0) : 0;
  double rate = el > 0 ? (double)B.conn_ok / el : 0;
  double cpu = B.conn_cpu1 - B.conn_cpu0;
  double rcpu = B.conn_rcpu1 >= 0 && B.conn_rcpu0 >= 0 ? B.conn_rcpu1 - B.conn_rcpu0 : -1;
  printf("\nmoqc_bench %s  role=connect url=%s\n", B.cfg.label ? B.cfg.label : "", B.cfg.url);
  printf("  sessions     %" PRIu64 " ok, %" PRIu64
         " failed in %.2f s, %u concurrent -> %.0f sessions/s\n",
         B.conn_ok, B.conn_fail, el, B.cfg.concurrency, rate);
  printf("  setup time   p50 %.2f ms  p99 %.2f ms  max %.2f ms (dial to session)\n",
         (double)h_pct(&B.lat, 50) / 1e6, (double)h_pct(&B.lat, 99) / 1e6, (double)B.lat.max / 1e6);
  printf("  cpu          self %.2f s (%.0f us/session)", cpu,
         B.conn_ok ? cpu / (double)B.conn_ok * 1e6 : 0);
  if (rcpu >= 0)
    printf(", relay %.2f s (%.0f us/session)", rcpu,
           B.conn_ok ? rcpu / (double)B.conn_ok * 1e6 : 0);
  printf("\n");
  /* Latency at N in flight is N / rate once this loop is saturated: say so. */
  double wait = B.conn_wait0 >= 0 && B.conn_wait1 >= 0 ? B.conn_wait1 - B.conn_wait0 : -1;
  if (el > 0 && wait >= 0)
    printf("  load gen     on CPU %.0f%% + waiting for a CPU %.0f%% of the time%s\n",
           100 * cpu / el, 100 * wait / el,
           (cpu + wait) / el > 0.9 ? " (saturated: this loop limits the rate)" : "");
  sb(j,
     ",\"sessions_ok\":%" PRIu64 ",\"sessions_failed\":%" PRIu64
     ",\"elapsed_s\":%.3f,\"sessions_per_s\":%.1f"
     ",\"cpu_s\":%.3f,\"relay_cpu_s\":%.3f,\"concurrency\":%u"
     ",\"setup_p50_ms\":%.3f,\"setup_p99_ms\":%.3f,\"cpu_wait_s\":%.3f",
     B.conn_ok, B.conn_fail, el, rate, cpu, rcpu, B.cfg.concurrency,
     (double)h_pct(&B.lat, 50) / 1e6, (double)h_pct(&B.lat, 99) / 1e6,
     B.conn_wait0 >= 0 && B.conn_wait1 >= 0 ? B.conn_wait1 - B.conn_wait0 : -1.0);
}

static void report_idle(sbuf *j) {
  long d = B.idle_rss_after - B.idle_rss_before;
  long ds = B.idle_self_after - B.idle_self_before;
  double per = B.subs_up ? (double)d / B.subs_up : 0;
  double per_self = B.subs_up ? (double)ds / B.subs_up : 0;
  printf("\nmoqc_bench %s  role=idle url=%s\n", B.cfg.label ? B.cfg.label : "", B.cfg.url);
  printf("  sessions     %u up, %u failed\n", B.subs_up, B.subs_failed);
  printf(
      "  relay RSS    before %ld KiB, with sessions %ld KiB, after %.0f s hold %ld KiB -> %.1f KiB "
      "per session\n",
      B.idle_rss_before, B.idle_rss_after, B.cfg.hold, B.rss_win_end, per);
  printf("  client RSS   %.1f KiB per session (this process)\n", per_self);
  sb(j,
     ",\"sessions_up\":%u,\"sessions_failed\":%u,\"relay_rss_before_kb\":%ld,\"relay_rss_after_"
     "kb\":%ld"
     ",\"relay_rss_hold_kb\":%ld,\"relay_kb_per_session\":%.2f,\"client_kb_per_session\":%.2f",
     B.subs_up, B.subs_failed, B.idle_rss_before, B.idle_rss_after, B.rss_win_end, per, per_self);
}

static void report(void) {
  const bench_cfg *c = &B.cfg;
  sbuf j = {{0}, 0};
  sb(&j, "{\"bench\":\"moqc_bench\",\"label\":\"%s\",\"role\":\"%s\",\"profile\":\"%s\"",
     c->label ? c->label : "", role_str(c->role), c->profile);
  sb(&j,
     ",\"pubs\":%u,\"subs\":%u,\"tracks\":%u,\"frame_size\":%" PRIu64 ",\"first_size\":%" PRIu64
     ",\"fps\":%g,\"group_frames\":%u,\"window\":%u",
     c->pubs, c->subs, c->tracks, c->frame_size, c->first_size, c->fps, c->group_frames, c->window);
  if (c->role == R_CONNECT) report_connect(&j);
  else if (c->role == R_IDLE) report_idle(&j);
  else report_stream(&j);
  sb(&j, ",\"ok\":%s%s%s%s}", B.exit_code == 0 ? "true" : "false",
     B.fail_msg[0] ? ",\"error\":\"" : "", B.fail_msg, B.fail_msg[0] ? "\"" : "");
  printf("%s\n", j.b);
  fflush(stdout);
  if (c->json_path) {
    FILE *f = fopen(c->json_path, "w");
    if (f) {
      fprintf(f, "%s\n", j.b);
      fclose(f);
    }
  }
}

/* ==========================================================================
 * Start / stop
 * ========================================================================== */

static void bench_stop(int code, const char *why) {
  if (B.stopping) return;
  if (code && !B.exit_code) B.exit_code = code;
  if (why && !B.fail_msg[0]) snprintf(B.fail_msg, sizeof B.fail_msg, "%s", why);
  B.stopping = true;
  uv_stop(&B.loop);
}

static void close_cb(uv_handle_t *h) { (void)h; }

static void teardown(void) {
  for (uint32_t i = 0; B.subs && i < B.cfg.subs; i++) sub_destroy(&B.subs[i]);
  for (uint32_t i = 0; B.pubs && i < B.cfg.pubs; i++) pub_destroy(&B.pubs[i]);
  /* Let the CONNECTION_CLOSEs go out and the zombies finish. */
  for (int i = 0; i < 200; i++) {
    uv_run(&B.loop, UV_RUN_NOWAIT);
    usleep(1000);
  }
  if (B.server) moqc_server_del(B.server);
  B.server = NULL;
  for (int i = 0; i < 100; i++) {
    uv_run(&B.loop, UV_RUN_NOWAIT);
    usleep(1000);
  }
  if (B.server_origin) moqc_origin_unref(B.server_origin);
  if (B.cert) moqc_cert_unref(B.cert);
  if (B.zeros) moqc_buf_unref(B.zeros);
  uv_close((uv_handle_t *)&B.tick, close_cb);
  uv_close((uv_handle_t *)&B.ctrl, close_cb);
  uv_close((uv_handle_t *)&B.check, close_cb);
  uv_close((uv_handle_t *)&B.sigint, close_cb);
  uv_close((uv_handle_t *)&B.sigterm, close_cb);
  if (B.fb_open) uv_close((uv_handle_t *)&B.fb, close_cb);
  moqc_uv_del(B.uv);
  for (int i = 0; i < 3000; i++) {
    if (!uv_run(&B.loop, UV_RUN_NOWAIT)) break;
    usleep(1000);
  }
}

/* ==========================================================================
 * Options
 * ========================================================================== */

static void usage(FILE *f) {
  fprintf(f,
          "Usage: moqc_bench [OPTIONS]\n"
          "Load generator for MoQ relays: many publishers and subscribers in one process.\n\n"
          "  --url URL             relay (or direct server) URL [moqt://127.0.0.1:4443/bench]\n"
          "  --sub-url URL         subscribers connect here instead (e.g. a lossy forwarder)\n"
          "  --listen HOST:PORT    role pub: serve the publishers directly (no relay)\n"
          "  --role ROLE           both | pub | sub | connect | idle [both]\n"
          "  --profile NAME        video | audio | chat | bulk | custom [video]\n"
          "                          video: 30 fps, 60 frames/group, first frame 10x the others\n"
          "                          audio: 50 fps (20 ms), 1 frame/group, 64 kbit/s\n"
          "                          chat:  100-byte frames, 100 frames/group, max rate\n"
          "                          bulk:  64 KiB frames, 16 frames/group, max rate\n"
          "  --bitrate BPS         video/audio: per-track bitrate [video 2000000, audio 64000]\n"
          "  --frame-size N        bytes per frame (after the first of a group)\n"
          "  --first-size N        bytes of the first frame of a group\n"
          "  --fps F               frames per second per track; 0 = max rate [profile]\n"
          "  --group-frames N      frames per group [profile]\n"
          "  --window N            max-rate mode: frames in flight per publisher [64]\n"
          "  --tracks N --pubs N --subs N   [1, 1, 1]\n"
          "  --pub-offset N        index of the first publisher (broadcast p<N>) [0]\n"
          "  --duration S --warmup S --tail S   measurement window [10, 2, 1]\n"
          "  --ready-timeout S     role both: wait this long for subscribers [30]\n"
          "  --max-time S          hard limit for the whole run [duration+warmup+ready+60]\n"
          "  --concurrency N       connects in flight [64]\n"
          "  --connect-total N     role connect: sessions to open [2000]\n"
          "  --hold S              role idle: hold the sessions this long [3]\n"
          "  --version ALPN        offer only these versions (repeatable)\n"
          "  --relay-pid PID       report this process's CPU time and RSS\n"
          "  --relay-pid2 PID      and this second relay's CPU time (a chain's first hop)\n"
          "  --late-ms MS          a group is late when a frame took longer [100]\n"
          "  --feedback-port P     cross-process window: pub listens, sub reports (UDP 127.0.0.1)\n"
          "  --cache-budget BYTES  this process's model cache budget, 0 = unlimited\n"
          "                        [unlimited with more than 8 subscribers, else 256 MiB]\n"
          "  --label NAME --json FILE --quiet\n");
}

static bool parse_hostport(const char *v, char *host, size_t cap, uint16_t *port) {
  const char *colon = strrchr(v, ':');
  if (!colon) return false;
  size_t hl = (size_t)(colon - v);
  if (hl && v[0] == '[' && v[hl - 1] == ']') {
    v++;
    hl -= 2;
  }
  if (hl >= cap) return false;
  memcpy(host, v, hl);
  host[hl] = 0;
  long p = strtol(colon + 1, NULL, 10);
  if (p < 0 || p > 65535) return false;
  *port = (uint16_t)p;
  return true;
}

static void apply_profile(bench_cfg *c, bool set_fs, bool set_first, bool set_fps, bool set_gf) {
  const char *p = c->profile;
  if (strcmp(p, "video") == 0) {
    if (!set_fps) c->fps = 30;
    if (!set_gf) c->group_frames = 60;
    if (!c->bitrate) c->bitrate = 2000000;
    /* bytes per group = bitrate/8 * group duration; first = 10 x rest */
    double per_group = (double)c->bitrate / 8 * c->group_frames / c->fps;
    double rest = per_group / (10 + c->group_frames - 1);
    if (!set_fs) c->frame_size = (uint64_t)rest;
    if (!set_first) c->first_size = (uint64_t)(rest * 10);
  } else if (strcmp(p, "audio") == 0) {
    if (!set_fps) c->fps = 50;
    if (!set_gf) c->group_frames = 1;
    if (!c->bitrate) c->bitrate = 64000;
    if (!set_fs) c->frame_size = (uint64_t)((double)c->bitrate / 8 / c->fps);
    if (!set_first) c->first_size = c->frame_size;
  } else if (strcmp(p, "chat") == 0) {
    if (!set_fps) c->fps = 0;
    if (!set_gf) c->group_frames = 100;
    if (!set_fs) c->frame_size = 100;
    if (!set_first) c->first_size = c->frame_size;
  } else if (strcmp(p, "bulk") == 0) {
    if (!set_fps) c->fps = 0;
    if (!set_gf) c->group_frames = 16;
    if (!set_fs) c->frame_size = 65536;
    if (!set_first) c->first_size = c->frame_size;
  } else {
    if (!set_first) c->first_size = c->frame_size;
  }
  if (c->group_frames == 0) c->group_frames = 1;
}

static int parse_args(bench_cfg *c, int argc, char **argv) {
  enum {
    O_URL = 256,
    O_SUBURL,
    O_LISTEN,
    O_ROLE,
    O_PROFILE,
    O_BITRATE,
    O_FS,
    O_FIRST,
    O_FPS,
    O_GF,
    O_WINDOW,
    O_TRACKS,
    O_PUBS,
    O_SUBS,
    O_POFF,
    O_DUR,
    O_WARM,
    O_TAIL,
    O_READY,
    O_MAXT,
    O_CONC,
    O_CTOT,
    O_HOLD,
    O_VER,
    O_RPID,
    O_RPID2,
    O_LATE,
    O_FB,
    O_CACHE,
    O_LABEL,
    O_JSON,
    O_QUIET,
    O_HELP
  };
  static const struct option opts[] = {{"url", 1, 0, O_URL},
                                       {"sub-url", 1, 0, O_SUBURL},
                                       {"listen", 1, 0, O_LISTEN},
                                       {"role", 1, 0, O_ROLE},
                                       {"profile", 1, 0, O_PROFILE},
                                       {"bitrate", 1, 0, O_BITRATE},
                                       {"frame-size", 1, 0, O_FS},
                                       {"first-size", 1, 0, O_FIRST},
                                       {"fps", 1, 0, O_FPS},
                                       {"group-frames", 1, 0, O_GF},
                                       {"window", 1, 0, O_WINDOW},
                                       {"tracks", 1, 0, O_TRACKS},
                                       {"pubs", 1, 0, O_PUBS},
                                       {"subs", 1, 0, O_SUBS},
                                       {"pub-offset", 1, 0, O_POFF},
                                       {"duration", 1, 0, O_DUR},
                                       {"warmup", 1, 0, O_WARM},
                                       {"tail", 1, 0, O_TAIL},
                                       {"ready-timeout", 1, 0, O_READY},
                                       {"max-time", 1, 0, O_MAXT},
                                       {"concurrency", 1, 0, O_CONC},
                                       {"connect-total", 1, 0, O_CTOT},
                                       {"hold", 1, 0, O_HOLD},
                                       {"version", 1, 0, O_VER},
                                       {"relay-pid", 1, 0, O_RPID},
                                       {"relay-pid2", 1, 0, O_RPID2},
                                       {"late-ms", 1, 0, O_LATE},
                                       {"feedback-port", 1, 0, O_FB},
                                       {"cache-budget", 1, 0, O_CACHE},
                                       {"label", 1, 0, O_LABEL},
                                       {"json", 1, 0, O_JSON},
                                       {"quiet", 0, 0, O_QUIET},
                                       {"help", 0, 0, O_HELP},
                                       {0, 0, 0, 0}};
  bool set_fs = false, set_first = false, set_fps = false, set_gf = false;
  int o;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    const char *v = optarg;
    switch (o) {
      case O_URL: c->url = v; break;
      case O_SUBURL: c->sub_url = v; break;
      case O_LISTEN:
        if (!parse_hostport(v, c->listen_host, sizeof c->listen_host, &c->listen_port)) return -1;
        c->listen = true;
        break;
      case O_ROLE:
        if (!strcmp(v, "both")) c->role = R_BOTH;
        else if (!strcmp(v, "pub")) c->role = R_PUB;
        else if (!strcmp(v, "sub")) c->role = R_SUB;
        else if (!strcmp(v, "connect")) c->role = R_CONNECT;
        else if (!strcmp(v, "idle")) c->role = R_IDLE;
        else return -1;
        break;
      case O_PROFILE: c->profile = v; break;
      case O_BITRATE: c->bitrate = strtoull(v, NULL, 10); break;
      case O_FS:
        c->frame_size = strtoull(v, NULL, 10);
        set_fs = true;
        break;
      case O_FIRST:
        c->first_size = strtoull(v, NULL, 10);
        set_first = true;
        break;
      case O_FPS:
        c->fps = strtod(v, NULL);
        set_fps = true;
        break;
      case O_GF:
        c->group_frames = (uint32_t)strtoul(v, NULL, 10);
        set_gf = true;
        break;
      case O_WINDOW: c->window = (uint32_t)strtoul(v, NULL, 10); break;
      case O_TRACKS: c->tracks = (uint32_t)strtoul(v, NULL, 10); break;
      case O_PUBS: c->pubs = (uint32_t)strtoul(v, NULL, 10); break;
      case O_SUBS: c->subs = (uint32_t)strtoul(v, NULL, 10); break;
      case O_POFF: c->pub_offset = (uint32_t)strtoul(v, NULL, 10); break;
      case O_DUR: c->duration = strtod(v, NULL); break;
      case O_WARM: c->warmup = strtod(v, NULL); break;
      case O_TAIL: c->tail = strtod(v, NULL); break;
      case O_READY: c->ready_timeout = strtod(v, NULL); break;
      case O_MAXT: c->max_time = strtod(v, NULL); break;
      case O_CONC: c->concurrency = (uint32_t)strtoul(v, NULL, 10); break;
      case O_CTOT: c->connect_total = (uint32_t)strtoul(v, NULL, 10); break;
      case O_HOLD: c->hold = strtod(v, NULL); break;
      case O_VER:
        if (c->n_versions < 8) c->versions[c->n_versions++] = v;
        break;
      case O_RPID: c->relay_pid = atoi(v); break;
      case O_RPID2: c->relay_pid2 = atoi(v); break;
      case O_LATE: c->late_ms = strtod(v, NULL); break;
      case O_FB: c->feedback_port = (uint16_t)strtoul(v, NULL, 10); break;
      case O_CACHE: c->cache_budget = strtoull(v, NULL, 10); break;
      case O_LABEL: c->label = v; break;
      case O_JSON: c->json_path = v; break;
      case O_QUIET: c->quiet = true; break;
      case O_HELP: usage(stdout); exit(0);
      default: return -1;
    }
  }
  if (optind < argc) return -1;
  apply_profile(c, set_fs, set_first, set_fps, set_gf);
  if (c->role == R_PUB) c->subs = 0;
  if (c->role == R_SUB || c->role == R_IDLE) c->pubs = c->role == R_SUB ? c->pubs : 0;
  if (!c->tracks || c->concurrency == 0 || c->duration <= 0 || c->window == 0) return -1;
  if (c->role == R_BOTH && c->listen) return -1; /* direct mode: run pub and sub separately */
  if (c->max_time <= 0) c->max_time = c->duration + c->warmup + c->tail + c->ready_timeout + 60;
  return 0;
}

int main(int argc, char **argv) {
  bench_cfg *c = &B.cfg;
  *c = (bench_cfg){.url = "moqt://127.0.0.1:4443/bench",
                   .role = R_BOTH,
                   .profile = "video",
                   .tracks = 1,
                   .pubs = 1,
                   .subs = 1,
                   .duration = 10,
                   .warmup = 2,
                   .tail = 1,
                   .ready_timeout = 30,
                   .hold = 3,
                   .late_ms = 100,
                   .window = 64,
                   .connect_total = 2000,
                   .concurrency = 64,
                   .cache_budget = UINT64_MAX};
  if (parse_args(c, argc, argv) != 0) {
    usage(stderr);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  /* Default budget: unlimited where many subscriber tracks live in this
   * process (the model rescans every cached live-edge group on each write
   * once over budget: see docs/benchmarks.md), 256 MiB otherwise. */
  if (c->cache_budget == UINT64_MAX) c->cache_budget = c->subs > 8 ? 0 : (uint64_t)256 << 20;
  if (uv_loop_init(&B.loop) != 0 || !(B.uv = moqc_uv_new(&B.loop, c->cache_budget))) {
    fprintf(stderr, "moqc_bench: cannot create the event loop\n");
    return 1;
  }
  B.env = moqc_uv_env(B.uv);
  static uint8_t zeros[1 << 20];
  B.zeros = moqc_buf_wrap(zeros, sizeof zeros, NULL, NULL);
  B.t_start = now_ns();
  B.t_deadline = B.t_start + nsec(c->max_time);
  uv_timer_init(&B.loop, &B.tick);
  uv_timer_init(&B.loop, &B.ctrl);
  uv_check_init(&B.loop, &B.check);
  uv_signal_init(&B.loop, &B.sigint);
  uv_signal_init(&B.loop, &B.sigterm);
  uv_signal_start(&B.sigint, on_signal, SIGINT);
  uv_signal_start(&B.sigterm, on_signal, SIGTERM);
  uv_timer_start(&B.tick, on_tick, 1, 1);
  uv_timer_start(&B.ctrl, on_ctrl, 5, 5);
  uv_check_start(&B.check, on_check);
  B.rss_first = -1;
  sample_rss();
  int rv = 0;
  if (feedback_open() != 0) {
    fprintf(stderr, "moqc_bench: cannot open the feedback socket on port %u\n", c->feedback_port);
    rv = -1;
  }
  if (rv == 0 && c->listen && server_start() != 0) rv = -1;
  if (rv == 0 && c->role == R_CONNECT) {
    B.conn_t0 = now_ns();
    B.conn_cpu0 = rusage_cpu(NULL, NULL);
    B.conn_wait0 = sched_wait_s();
    B.conn_rcpu0 = bench_proc_cpu_s(c->relay_pid);
    c->subs = 0;
    c->pubs = 0;
    conn_next();
  } else if (rv == 0) {
    if (c->role == R_IDLE) {
      B.idle_rss_before = bench_proc_rss_kb(c->relay_pid);
      B.idle_self_before = bench_proc_rss_kb(0);
    }
    B.pubs = calloc(c->pubs + 1, sizeof *B.pubs);
    B.subs = calloc(c->subs + 1, sizeof *B.subs);
    for (uint32_t i = 0; rv == 0 && i < c->pubs && c->role != R_SUB; i++)
      if (pub_create(&B.pubs[i], c->pub_offset + i) != 0) rv = -1;
    if (c->role == R_SUB) c->subs = c->subs; /* publishers live elsewhere */
    dial_more();
  }
  if (rv != 0) {
    bench_stop(1, "start-up failed");
  } else {
    uv_run(&B.loop, UV_RUN_DEFAULT);
  }
  if (B.cfg.role == R_SUB) sub_window_end();
  else snap_end();
  report();
  B.stopping = true;
  teardown();
  return B.exit_code;
}
