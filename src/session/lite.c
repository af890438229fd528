/* moqc session — the moq-lite binding: what is specific to the wire protocol
 * in accepting a peer stream (its type codec and the kind each type maps to),
 * what entering RUNNING opens, and datagrams. The kinds' own handlers live
 * next to their code (announce.c, serve.c, ...). A second wire protocol (IETF
 * moq-transport) provides its own moqc__sess_proto; see docs/session.md. */
#include "session/session_int.h"

static ssize_t lite_type_decode(void *ctx, const uint8_t *p, size_t len) {
  return moqc_lite_stream_type_decode(ctx, p, len);
}

/* The kind of a peer stream of this type, or NULL with *code the reason to
 * reject it. */
static const moqc__stream_kind *lite_peer_kind(moqc_session *s, bool bidi, uint64_t type,
                                               uint64_t *code) {
  int v = s->version;
  *code = MOQC_CODE_UNEXPECTED_STREAM;
  if (!moqc_lite_is_known_stream_type(v, bidi, type)) return NULL;
  if (!bidi) {
    if (type == MOQC_LITE_UNI_SETUP) {
      if (s->setup_in_seen) {
        moqc__sess_fail(s, MOQC_CODE_PROTOCOL_VIOLATION, "second SETUP stream", false);
        return NULL;
      }
      s->setup_in_seen = true;
      return &moqc__sk_setup_in;
    }
    /* A group needs a subscription: impossible before we run (the lite-05
     * server STOP_SENDINGs any uni stream racing ahead of the SETUP). */
    return s->state == ST_RUNNING ? &moqc__sk_group_in : NULL;
  }
  switch (type) {
    case MOQC_LITE_BIDI_ANNOUNCE: return &moqc__sk_announce_in;
    case MOQC_LITE_BIDI_SUBSCRIBE: return &moqc__sk_subscribe_in;
    /* moq-dev only serves FETCH on lite-05. */
    case MOQC_LITE_BIDI_FETCH: return moqc_lite_is_05(v) ? &moqc__sk_fetch_in : NULL;
    case MOQC_LITE_BIDI_PROBE: return &moqc__sk_probe_in;
    case MOQC_LITE_BIDI_GOAWAY: return &moqc__sk_goaway_in;
    case MOQC_LITE_BIDI_TRACK: return &moqc__sk_track_in;
    default: return NULL;
  }
}

/* RUNNING entered (client start / server accept). Streams open at the end of
 * this pass (moqc__sess_open): none of these runs protocol callbacks now, and each
 * tolerates a session that failed meanwhile. */
static void lite_run(moqc_session *s) {
  if (moqc_lite_is_05(s->version)) moqc__setup_send(s);
  if (s->sub.origin) moqc__sa_start(s);
  if (s->cfg.probe && (!moqc_lite_is_05(s->version) ||
                       (s->peer_setup_seen && s->peer_probe >= MOQC_LITE_PROBE_REPORT)))
    moqc__probe_open(s);
}

const moqc__sess_proto moqc__proto_lite = {
    .name = "moq-lite",
    .stream_type_decode = lite_type_decode,
    .peer_kind = lite_peer_kind,
    .run = lite_run,
    .datagram = moqc__sess_datagram,
};
