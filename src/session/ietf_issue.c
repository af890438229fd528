/* moqc session — IETF requests the library issues beyond SUBSCRIBE / FETCH:
 * TRACK_STATUS (moqc_session_track_status), drafts 14-16.
 *
 * TRACK_STATUS {request id, namespace, track; 14: priority 0, order 0,
 * forward 1, filter largest object} goes on the control stream, held under
 * the peer's MAX_REQUEST_ID like any request. The answer: 14 TRACK_STATUS_OK
 * {content exists + largest} / TRACK_STATUS_ERROR; 15/16 REQUEST_OK with the
 * LARGEST_OBJECT parameter when content exists / REQUEST_ERROR. The callback
 * fires once with it; never after the session ended (pending requests are
 * dropped with it). 17+ would carry it on a request stream: not yet
 * (MOQC_ERR_UNSUPPORTED); lite has no equivalent (its TRACK answers the
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
} istat_out;

int moqc__ietf_track_status_issue(moqc_session *s, const char *path, const char *track,
                                  moqc_session_track_status_fn cb, void *ctx) {
  assert(s && path && track && cb);
  if (moqc__ietf_has_request_streams(s->version)) return MOQC_ERR_UNSUPPORTED;
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
  moqc__ietf_ctrl_send(s, m);
  moqc__sess_exit(s);
  return MOQC_OK;
}

bool moqc__ietf_status_out_answer(moqc_session *s, const moqc__ietf_msg *m, bool ok) {
  moqc_link *l = moqc__ietf_status_out_list(s);
  for (moqc_link *it = l->next; it != l; it = it->next) {
    istat_out *o = MOQC_CONTAINER_OF(it, istat_out, link);
    if (o->req != m->request_id) continue;
    moqc_list_remove(&o->link);
    moqc_session_track_status_result st;
    memset(&st, 0, sizeof st);
    st.status = MOQC_OK;
    if (!ok)
      st.status =
          m->code == MOQC_IETF_REQERR_DOES_NOT_EXIST ? MOQC_ERR_NOT_FOUND : MOQC_ERR_UNEXPECTED;
    st.code = ok ? 0 : m->code;
    if (ok && (m->has & MOQC_IETF_HAS_LARGEST)) {
      st.has_largest = true;
      st.largest_group = m->largest.group;
      st.largest_object = m->largest.object;
    }
    o->cb(o->ctx, s, &st);
    moqc_free(o);
    return true;
  }
  return false;
}

void moqc__ietf_status_out_teardown(moqc_session *s) {
  moqc_link *l = moqc__ietf_status_out_list(s);
  while (!moqc_list_empty(l)) {
    istat_out *o = MOQC_CONTAINER_OF(l->next, istat_out, link);
    moqc_list_remove(&o->link);
    moqc_free(o);
  }
}

int moqc_session_track_status(moqc_session *s, const char *path, const char *track,
                              moqc_session_track_status_fn cb, void *ctx) {
  if (!s || !path || !track || !cb) return MOQC_ERR_INVAL;
  if (sess_closing(s)) return MOQC_ERR_CLOSED;
  if (s->proto != &moqc__proto_ietf) return MOQC_ERR_UNSUPPORTED;
  return moqc__ietf_track_status_issue(s, path, track, cb, ctx);
}
