/* moqc session — IETF requests the library issues beyond SUBSCRIBE / FETCH:
 * TRACK_STATUS (moqc_session_track_status), drafts 14-19.
 *
 * TRACK_STATUS {request id, namespace, track; 14: priority 0, order 0,
 * forward 1, filter largest object} goes on the control stream, held under
 * the peer's MAX_REQUEST_ID like any request. The answer: 14 TRACK_STATUS_OK
 * {content exists + largest} / TRACK_STATUS_ERROR; 15/16 REQUEST_OK with the
 * LARGEST_OBJECT parameter when content exists / REQUEST_ERROR. The callback
 * fires once with it; never after the session ended (pending requests are
 * dropped with it). 17+: on a request stream of its own
 * (moqc__ietf_reqout), the answer REQUEST_OK {LARGEST_OBJECT} / REQUEST_ERROR
 * on it (no request id; 18+'s TRACK_STATUS_OK is that REQUEST_OK), then our
 * FIN; the stream ending unanswered fires the callback with
 * MOQC_ERR_UNEXPECTED. lite has no equivalent (its TRACK answers the
 * track's info, not its largest location: moqc_track_info_query). */
#include <assert.h>
#include <string.h>

#include "core/mem.h"
#include "session/ietf_int.h"

typedef struct istat_out {
  moqc_link link; /* in moqc__ietf_status_out_list */
  uint64_t req;
  moqc_session_track_status_fn cb;
  void *ctx;
  moqc__ietf_reqout rq; /* 17+: the request stream the answer comes on */
} istat_out;

/* Unlink o, close its request stream (17+: our FIN) and free it. */
static void so_free(istat_out *o) {
  moqc_list_remove(&o->link);
  moqc__ietf_reqout_close(&o->rq, false);
  moqc_free(o);
}

/* The callback with the answer m (ok: TRACK_STATUS_OK / REQUEST_OK; m NULL:
 * the request stream ended unanswered), then o is gone. */
static void so_fire(moqc_session *s, istat_out *o, const moqc__ietf_msg *m, bool ok) {
  moqc_session_track_status_result st;
  memset(&st, 0, sizeof st);
  st.status = MOQC_OK;
  if (!m) st.status = MOQC_ERR_UNEXPECTED;
  else if (!ok)
    st.status = moqc__ietf_reqerr_code(s, m->code) == MOQC_CODE_NOT_FOUND ? MOQC_ERR_NOT_FOUND
                                                                          : MOQC_ERR_UNEXPECTED;
  st.code = ok || !m ? 0 : m->code;
  if (m && ok && (m->has & MOQC_IETF_HAS_LARGEST)) {
    st.has_largest = true;
    st.largest_group = m->largest.group;
    st.largest_object = m->largest.object;
  }
  moqc_session_track_status_fn cb = o->cb;
  void *ctx = o->ctx;
  so_free(o);
  cb(ctx, s, &st);
}

/* 17+: the answer on the request stream (no request id on it). */
static void so_on(void *owner, const moqc__ietf_msg *m) {
  istat_out *o = owner;
  moqc_session *s = o->rq.s;
  bool ok = m->type == MOQC_IETF_REQUEST_OK;
  if (!ok && m->type != MOQC_IETF_REQUEST_ERROR) {
    moqc__sess_fail(s, IETF_PROTOCOL_VIOLATION, "unexpected message on a TRACK_STATUS stream",
                    false);
    return;
  }
  so_fire(s, o, m, ok);
}

static int so_process(sstream *ss) { return moqc__ietf_reqout_read(ss, so_on); }

/* The stream ended before the answer (FIN or RESET): an error answer. */
static void so_end(sstream *ss, bool reset, uint64_t code) {
  (void)reset;
  (void)code;
  istat_out *o = ss->owner;
  if (o) so_fire(ss->s, o, NULL, false);
  else moqc__ss_release(ss);
}

static const moqc__stream_kind sk_ietf_status_req_out = {
    .name = "ietf-status-req-out", .process = so_process, .end = so_end, .request_out = true};

static void so_open_failed(moqc__ietf_reqout *r) {
  so_fire(r->s, MOQC_CONTAINER_OF(r, istat_out, rq), NULL, false);
}

int moqc__ietf_track_status_issue(moqc_session *s, const char *path, const char *track,
                                  moqc_session_track_status_fn cb, void *ctx) {
  assert(s && path && track && cb);
  if (s->state != ST_RUNNING) return MOQC_ERR_STATE;
  moqc__ietf_msg *m = moqc__ietf_msg_new(MOQC_IETF_TRACK_STATUS);
  if (!m) return MOQC_ERR_NOMEM;
  if (moqc__ietf_tuple_from_path(&m->ns, path, strlen(path)) != MOQC_OK) {
    moqc_free(m);
    return MOQC_ERR_INVAL;
  }
  istat_out *o = moqc_calloc(1, sizeof *o);
  if (!o) {
    moqc_free(m);
    return MOQC_ERR_NOMEM;
  }
  o->req = moqc__ietf_req_next(s);
  o->cb = cb;
  o->ctx = ctx;
  moqc_list_push_back(moqc__ietf_status_out_list(s), &o->link);
  m->request_id = o->req;
  m->name = (moqc_bytes){(const uint8_t *)track, strlen(track)};
  if (s->version == MOQC_IETF_14) { /* the SUBSCRIBE-shaped fixed fields */
    m->forward = 1;
    m->filter.type = MOQC_IETF_FILTER_LARGEST_OBJECT;
    m->has = MOQC_IETF_HAS_PRIORITY | MOQC_IETF_HAS_GROUP_ORDER | MOQC_IETF_HAS_FORWARD |
             MOQC_IETF_HAS_FILTER;
  }
  moqc__sess_enter(s);
  o->rq = (moqc__ietf_reqout){
      .s = s, .kind = &sk_ietf_status_req_out, .owner = o, .failed = so_open_failed};
  int rc = moqc__ietf_request_send(s, &o->rq, m);
  if (rc != MOQC_OK) so_free(o); /* not queued: no callback */
  moqc__sess_exit(s);
  return rc;
}

bool moqc__ietf_status_out_answer(moqc_session *s, const moqc__ietf_msg *m, bool ok) {
  moqc_link *l = moqc__ietf_status_out_list(s);
  if (moqc__ietf_has_request_streams(s->version)) return false; /* on the request stream */
  for (moqc_link *it = l->next; it != l; it = it->next) {
    istat_out *o = MOQC_CONTAINER_OF(it, istat_out, link);
    if (o->req != m->request_id) continue;
    so_fire(s, o, m, ok);
    return true;
  }
  return false;
}

void moqc__ietf_status_out_teardown(moqc_session *s) {
  moqc_link *l = moqc__ietf_status_out_list(s);
  while (!moqc_list_empty(l)) so_free(MOQC_CONTAINER_OF(l->next, istat_out, link));
}

int moqc_session_track_status(moqc_session *s, const char *path, const char *track,
                              moqc_session_track_status_fn cb, void *ctx) {
  if (!s || !path || !track || !cb) return MOQC_ERR_INVAL;
  if (sess_closing(s)) return MOQC_ERR_CLOSED;
  if (s->proto != &moqc__proto_ietf) return MOQC_ERR_UNSUPPORTED;
  return moqc__ietf_track_status_issue(s, path, track, cb, ctx);
}
