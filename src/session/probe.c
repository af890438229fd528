/* moqc session — PROBE streams and GOAWAY.
 *
 * Served PROBE (the peer opened it): every 100 ms we read the transport's
 * estimates and send a PROBE when the bitrate moved by a threshold decaying
 * from 25 % to 0 over 10 s, the RTT moved by 25 %, or 10 s passed; a value
 * that became unknown is retracted once. The stream is never reset (the
 * @moq/lite 0.2.2 client tears the connection down if it is): it ends with a
 * FIN when the peer FINs or resets its half.
 *
 * Issued PROBE (cfg.probe): we open one and record the peer's reports. */
#include <string.h>

#include "core/mem.h"
#include "session/session_int.h"

static void probe_free(sobj *o) { moqc_free(o); }

static int probe_process(sstream *ss);
static void probe_end(sstream *ss, bool reset, uint64_t code);

/* Served (the peer opened it; it needs no message to start) and issued. */
const moqc__stream_kind moqc__sk_probe_in = {
    .name = "probe-in", .process = probe_process, .end = probe_end};
const moqc__stream_kind moqc__sk_probe_out = {
    .name = "probe-out", .process = probe_process, .end = probe_end, .request_out = true};

static void probe_destroy(probe *pr) {
  moqc_session *s = pr->s;
  moqc_timer_stop(s->clock, &pr->timer);
  moqc__sess_open_cancel(&pr->op);
  if (moqc_link_linked(&pr->link)) moqc_list_remove(&pr->link);
  if (pr->ss) {
    sstream *ss = pr->ss;
    pr->ss = NULL;
    moqc__ss_release(ss);
  }
  moqc__sess_bury(s, &pr->obj);
}

static bool moved(uint64_t prev, uint64_t next, double threshold) {
  if (prev == 0 && next == 0) return false;
  if (prev == 0 || next == 0) return true; /* gained or lost a value */
  double d = (double)next - (double)prev;
  if (d < 0) d = -d;
  return d / (double)prev >= threshold;
}

static double bitrate_threshold(uint64_t elapsed_ns) {
  const double interval = (double)SESS_TICK_NS, max_age = (double)SESS_PROBE_MAX_AGE_NS;
  double t = (double)elapsed_ns;
  if (t < interval) t = interval;
  if (t > max_age) t = max_age;
  return 0.25 * (max_age - t) / (max_age - interval);
}

static void probe_report(probe *pr) {
  moqc_session *s = pr->s;
  uint64_t rtt_ns = 0, rate = 0;
  if (s->t->ops->stats) s->t->ops->stats(s->t, &rtt_ns, &rate);
  struct moqc_lite_probe m = {.bitrate = rate, .rtt = rtt_ns / 1000000u};
  if (!moqc_lite_has_probe_rtt(s->version)) m.rtt = 0; /* lite-03 carries no RTT */
  uint64_t now = moqc__sess_now(s);
  if (m.bitrate == 0 && m.rtt == 0) {
    /* Nothing to say, except retracting what the peer still holds. */
    if (!pr->sent_any || (pr->last_bitrate == 0 && pr->last_rtt == 0)) return;
  }
  bool send = !pr->sent_any;
  if (!send) {
    uint64_t elapsed = now - pr->last_at;
    send = elapsed >= SESS_PROBE_MAX_AGE_NS ||
           moved(pr->last_bitrate, m.bitrate, bitrate_threshold(elapsed)) ||
           moved(pr->last_rtt, m.rtt, 0.25);
    if (m.bitrate == 0 && m.rtt == 0) send = true; /* the one retraction */
  }
  if (!send) return;
  wbuf w;
  moqc__wbuf_init(&w);
  WBUF_ENC(&w, moqc_lite_probe_encode, s->version, &m);
  int rc = moqc__ss_write_wbuf(pr->ss, &w, false);
  moqc__wbuf_free(&w);
  if (rc < 0) return;
  s->stats.probes_sent++;
  pr->sent_any = true;
  pr->last_bitrate = m.bitrate;
  pr->last_rtt = m.rtt;
  pr->last_at = now;
}

static void probe_tick(moqc_timer *tm, void *arg) {
  (void)tm;
  probe *pr = arg;
  moqc_session *s = pr->s;
  moqc__sess_enter(s);
  if (!sess_closing(s) && !pr->obj.dead && pr->ss && !ss_send_done(pr->ss)) {
    probe_report(pr);
    (void)moqc_timer_start(s->clock, &pr->timer, moqc__sess_now(s) + SESS_TICK_NS);
  }
  moqc__sess_exit(s);
}

static probe *probe_new(moqc_session *s, bool serving) {
  probe *pr = moqc_calloc(1, sizeof *pr);
  if (!pr) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return NULL;
  }
  pr->obj.destroy = probe_free;
  pr->s = s;
  pr->serving = serving;
  moqc_timer_init(&pr->timer, probe_tick, pr);
  moqc_link_init(&pr->op.link);
  moqc_list_push_back(&s->probes, &pr->link);
  return pr;
}

static int probe_process(sstream *ss) {
  moqc_session *s = ss->s;
  probe *pr = ss->owner;
  if (!pr && ss->kind == &moqc__sk_probe_in) {
    pr = probe_new(s, true);
    if (!pr) return MOQC_ERR_NOMEM;
    pr->ss = ss;
    ss->owner = pr;
    probe_report(pr);
    (void)moqc_timer_start(s->clock, &pr->timer, moqc__sess_now(s) + SESS_TICK_NS);
  }
  while (ss_len(ss) > 0 && !sess_closing(s)) {
    struct moqc_lite_probe m;
    ssize_t n = moqc_lite_probe_decode(&m, s->version, ss_data(ss), ss_len(ss));
    if (n == MOQC_ERR_NEED_MORE) return MOQC_OK;
    if (moqc__sess_decode_failed(s, n, "malformed PROBE")) return MOQC_ERR_DECODE;
    moqc__ss_consume(ss, (size_t)n);
    if (ss->kind == &moqc__sk_probe_out) {
      s->have_estimate = true;
      s->est_bitrate = m.bitrate;
      s->est_rtt = m.rtt;
    }
    /* Served: a subscriber's target bitrate; nothing to act on. */
  }
  return MOQC_OK;
}

static void probe_end(sstream *ss, bool reset, uint64_t code) {
  probe *pr = ss->owner;
  (void)code;
  (void)reset;
  /* Never reset a PROBE stream: end our half with a FIN. */
  moqc__ss_fin(ss);
  if (pr) probe_destroy(pr);
  else moqc__ss_release(ss);
}

static void probe_opened(opener *op, int64_t id) {
  probe *pr = MOQC_CONTAINER_OF(op, probe, op);
  moqc_session *s = pr->s;
  pr->ss = moqc__ss_new(s, id, &moqc__sk_probe_out, false, pr);
  if (!pr->ss) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  uint8_t type = MOQC_LITE_BIDI_PROBE;
  (void)moqc__ss_write(pr->ss, &type, 1, false);
}

static void probe_failed(opener *op, int err) {
  (void)err;
  probe_destroy(MOQC_CONTAINER_OF(op, probe, op));
}

void moqc__probe_open(moqc_session *s) {
  for (moqc_link *it = s->probes.next; it != &s->probes; it = it->next)
    if (!MOQC_CONTAINER_OF(it, probe, link)->serving) return; /* one is enough */
  probe *pr = probe_new(s, false);
  if (!pr) return;
  pr->op.bidi = true;
  pr->op.opened = probe_opened;
  pr->op.failed = probe_failed;
  moqc__sess_open(s, &pr->op);
}

void moqc__probe_destroy_all(moqc_session *s) {
  while (!moqc_list_empty(&s->probes))
    probe_destroy(MOQC_CONTAINER_OF(s->probes.next, probe, link));
}

/* ---- GOAWAY ---------------------------------------------------------------------- */

static int goaway_process(sstream *ss) {
  moqc_session *s = ss->s;
  while (ss_len(ss) > 0 && !sess_closing(s)) {
    struct moqc_lite_goaway m;
    ssize_t n = moqc_lite_goaway_decode(&m, s->version, ss_data(ss), ss_len(ss));
    if (n == MOQC_ERR_NEED_MORE) return MOQC_OK;
    if (moqc__sess_decode_failed(s, n, "malformed GOAWAY")) return MOQC_ERR_DECODE;
    if (!s->goaway_uri) {
      s->goaway_uri = moqc__sess_strdup_bytes(m.uri);
      if (!s->goaway_uri) {
        moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
        return MOQC_ERR_NOMEM;
      }
    }
    moqc__ss_consume(ss, (size_t)n);
  }
  return MOQC_OK;
}

static void goaway_end(sstream *ss, bool reset, uint64_t code) {
  (void)code;
  if (!reset && ss_len(ss) > 0) {
    moqc__sess_fail(ss->s, MOQC_CODE_DECODE, "GOAWAY stream ended inside a message", false);
    return;
  }
  if (reset) moqc__ss_abort(ss, MOQC_CODE_CANCEL);
  else moqc__ss_fin(ss);
  moqc__ss_release(ss);
}

const moqc__stream_kind moqc__sk_goaway_in = {
    .name = "goaway-in", .process = goaway_process, .end = goaway_end};
