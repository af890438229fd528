/* moqc session — the lite-05 SETUP stream (both directions) and the server's
 * request. Each endpoint opens one uni stream, writes one SETUP, FINs. */
#include <string.h>

#include "core/mem.h"
#include "session/session_int.h"

static void setup_opened(opener *op, int64_t id) {
  moqc_session *s = MOQC_CONTAINER_OF(op, moqc_session, setup_op);
  sstream *ss = moqc__ss_new(s, id, &moqc__sk_setup_out, false, NULL);
  if (!ss) {
    moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
    return;
  }
  struct moqc_lite_setup m;
  memset(&m, 0, sizeof m);
  uint64_t rtt = 0, rate = 0;
  if (s->t->ops->stats) s->t->ops->stats(s->t, &rtt, &rate);
  m.probe = (rtt || rate) ? MOQC_LITE_PROBE_REPORT : MOQC_LITE_PROBE_NONE;
  if (!s->cfg.is_server) {
    if (s->cfg_path && !s->t->webtransport) {
      m.has_path = true;
      m.path.ptr = (const uint8_t *)s->cfg_path;
      m.path.len = strlen(s->cfg_path);
    }
    if (s->pub.origin && !s->sub.origin) m.role = MOQC_LITE_ROLE_PUBLISHER;
    else if (s->sub.origin && !s->pub.origin) m.role = MOQC_LITE_ROLE_SUBSCRIBER;
  }
  m.origin = s->self_id;
  wbuf w;
  moqc__wbuf_init(&w);
  moqc__wbuf_varint(&w, MOQC_LITE_UNI_SETUP);
  WBUF_ENC(&w, moqc_lite_setup_encode, s->version, &m);
  int rc = moqc__ss_write_wbuf(ss, &w, true);
  moqc__wbuf_free(&w);
  if (rc == MOQC_ERR_NOMEM) moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
  else if (rc < 0 && rc != MOQC_ERR_STATE && rc != MOQC_ERR_CLOSED)
    moqc__sess_fail(s, MOQC_CODE_ENCODE, "cannot encode SETUP", false);
  moqc__ss_release(ss);
}

static void setup_failed(opener *op, int err) {
  moqc_session *s = MOQC_CONTAINER_OF(op, moqc_session, setup_op);
  (void)err;
  /* Best effort, like moq-dev: the peer assumes no capabilities. */
  (void)s;
}

void moqc__setup_send(moqc_session *s) {
  s->setup_op.bidi = false;
  s->setup_op.opened = setup_opened;
  s->setup_op.failed = setup_failed;
  moqc_link_init(&s->setup_op.link);
  moqc__sess_open(s, &s->setup_op);
}

/* The peer's SETUP is known: release what waited for it. */
static void setup_apply(moqc_session *s, const struct moqc_lite_setup *m) {
  s->peer_setup_seen = true;
  s->peer_probe = m->probe;
  s->peer_role = m->role;
  if (m->origin && m->origin < MOQC_ORIGIN_ID_MAX) s->peer_id = m->origin;
  if (m->has_path) {
    s->req_path = moqc__sess_strdup_bytes(m->path);
    if (!s->req_path) {
      moqc__sess_fail(s, MOQC_CODE_TRANSPORT, "out of memory", false);
      return;
    }
  }
  if (s->state == ST_WAIT_SETUP) {
    moqc_session_request req = {
        .version = s->version,
        .path = s->req_path ? s->req_path : (s->t->path ? s->t->path : ""),
        .role = (moqc_session_role)m->role,
        .peer_origin = s->peer_id,
    };
    moqc__sess_request(s, &req);
    return;
  }
  if (s->state != ST_RUNNING) return;
  moqc__sess_unpark(s);
  /* Harmless on a session that failed meanwhile (opening is deferred). */
  if (s->cfg.probe && s->peer_probe >= MOQC_LITE_PROBE_REPORT) moqc__probe_open(s);
}

static int setup_in_process(sstream *ss) {
  moqc_session *s = ss->s;
  if (ss_len(ss) == 0) return MOQC_OK;
  if (s->peer_setup_seen) {
    moqc__sess_fail(s, MOQC_CODE_PROTOCOL_VIOLATION, "second SETUP message", false);
    return MOQC_ERR_PROTOCOL;
  }
  struct moqc_lite_setup m;
  ssize_t n = moqc_lite_setup_decode(&m, s->version, ss_data(ss), ss_len(ss));
  if (n == MOQC_ERR_NEED_MORE) return MOQC_OK;
  if (moqc__sess_decode_failed(s, n, "malformed SETUP")) return MOQC_ERR_DECODE;
  setup_apply(s, &m);
  if (!ss->obj.dead) moqc__ss_consume(ss, (size_t)n);
  return MOQC_OK;
}

static void setup_in_end(sstream *ss, bool reset, uint64_t code) {
  moqc_session *s = ss->s;
  (void)code;
  if (!reset && !s->peer_setup_seen)
    moqc__sess_fail(s, MOQC_CODE_DECODE, "SETUP stream ended early", false);
  moqc__ss_release(ss);
}

const moqc__stream_kind moqc__sk_setup_in = {
    .name = "setup-in", .process = setup_in_process, .end = setup_in_end};
/* Ours: written once, FIN, released at once (nothing to receive). */
const moqc__stream_kind moqc__sk_setup_out = {.name = "setup-out", .end = moqc__ss_end_forget};
