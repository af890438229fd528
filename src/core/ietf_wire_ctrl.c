/* moqc core — IETF moq-transport control messages, drafts 14 to 19.
 *
 * Every (type, draft range) has a layout: a string of one-letter field ops
 * interpreted by one decoder and one encoder, so a field's encoding lives in
 * one place and a draft delta is one table row. docs/wire.md lists the same
 * layouts in prose.
 *
 *   R request_id   d draft-17 Required Request ID Delta (no-op on other drafts)
 *   I update_id    N namespace tuple   S track name   A track alias
 *   p priority u8  o group order u8    w forward u8   F filter (type [start] [end group])
 *   G start location + end group (draft-14 SUBSCRIBE_UPDATE, into filter)
 *   X expires      L content exists u8 + [largest location]
 *   e end of track u8   E end location (into largest)
 *   C code         Y retry interval    r reason phrase   U GOAWAY uri (into reason)
 *   T timeout      g draft-18 GOAWAY optional request id  n stream count
 *   O subscribe options  H fetch type + body
 *   V version list v selected version
 *   Z setup params P message params    K track properties (to the end)
 */
#include <assert.h>
#include <string.h>

#include "core/ietf_wire_int.h"

typedef struct layout {
  uint64_t type;
  uint8_t vmin, vmax;
  const char *name;
  const char *ops;
} layout;

static const layout layouts[] = {
    {MOQC_IETF_CLIENT_SETUP, 14, 14, "CLIENT_SETUP", "VZ"},
    {MOQC_IETF_CLIENT_SETUP, 15, 16, "CLIENT_SETUP", "Z"},
    {MOQC_IETF_SERVER_SETUP, 14, 14, "SERVER_SETUP", "vZ"},
    {MOQC_IETF_SERVER_SETUP, 15, 16, "SERVER_SETUP", "Z"},
    {MOQC_IETF_SETUP, 17, 19, "SETUP", "Z"},
    {MOQC_IETF_GOAWAY, 14, 16, "GOAWAY", "U"},
    {MOQC_IETF_GOAWAY, 17, 17, "GOAWAY", "UT"},
    {MOQC_IETF_GOAWAY, 18, 18, "GOAWAY", "UTg"},
    {MOQC_IETF_GOAWAY, 19, 19, "GOAWAY", "UT"},
    {MOQC_IETF_MAX_REQUEST_ID, 14, 16, "MAX_REQUEST_ID", "R"},
    {MOQC_IETF_REQUESTS_BLOCKED, 14, 16, "REQUESTS_BLOCKED", "R"},
    {MOQC_IETF_SUBSCRIBE, 14, 14, "SUBSCRIBE", "RNSpowFP"},
    {MOQC_IETF_SUBSCRIBE, 15, 19, "SUBSCRIBE", "RdNSP"},
    {MOQC_IETF_SUBSCRIBE_OK, 14, 14, "SUBSCRIBE_OK", "RAXoLP"},
    {MOQC_IETF_SUBSCRIBE_OK, 15, 15, "SUBSCRIBE_OK", "RAP"},
    {MOQC_IETF_SUBSCRIBE_OK, 16, 16, "SUBSCRIBE_OK", "RAPK"},
    {MOQC_IETF_SUBSCRIBE_OK, 17, 19, "SUBSCRIBE_OK", "APK"},
    {MOQC_IETF_SUBSCRIBE_ERROR, 14, 14, "SUBSCRIBE_ERROR", "RCr"},
    {MOQC_IETF_REQUEST_ERROR, 15, 15, "REQUEST_ERROR", "RCr"},
    {MOQC_IETF_REQUEST_ERROR, 16, 16, "REQUEST_ERROR", "RCYr"},
    {MOQC_IETF_REQUEST_ERROR, 17, 19, "REQUEST_ERROR", "CYr"},
    {MOQC_IETF_REQUEST_UPDATE, 14, 14, "SUBSCRIBE_UPDATE", "RIGpwP"},
    {MOQC_IETF_REQUEST_UPDATE, 15, 15, "SUBSCRIBE_UPDATE", "RIP"},
    {MOQC_IETF_REQUEST_UPDATE, 16, 16, "REQUEST_UPDATE", "RIP"},
    {MOQC_IETF_REQUEST_UPDATE, 17, 19, "REQUEST_UPDATE", "RdP"},
    {MOQC_IETF_UNSUBSCRIBE, 14, 16, "UNSUBSCRIBE", "R"},
    {MOQC_IETF_PUBLISH_DONE, 14, 16, "PUBLISH_DONE", "RCnr"},
    {MOQC_IETF_PUBLISH_DONE, 17, 19, "PUBLISH_DONE", "Cnr"},
    {MOQC_IETF_PUBLISH, 14, 14, "PUBLISH", "RNSAoLwP"},
    {MOQC_IETF_PUBLISH, 15, 15, "PUBLISH", "RNSAP"},
    {MOQC_IETF_PUBLISH, 16, 16, "PUBLISH", "RNSAPK"},
    {MOQC_IETF_PUBLISH, 17, 19, "PUBLISH", "RdNSAPK"},
    {MOQC_IETF_PUBLISH_OK, 14, 14, "PUBLISH_OK", "RwpoFP"},
    {MOQC_IETF_PUBLISH_OK, 15, 16, "PUBLISH_OK", "RP"},
    {MOQC_IETF_PUBLISH_OK, 17, 19, "PUBLISH_OK", "P"}, /* draft-19 drops it; moq-dev keeps it */
    {MOQC_IETF_PUBLISH_ERROR, 14, 14, "PUBLISH_ERROR", "RCr"},
    {MOQC_IETF_FETCH, 14, 14, "FETCH", "RpoHP"},
    {MOQC_IETF_FETCH, 15, 19, "FETCH", "RdHP"},
    {MOQC_IETF_FETCH_OK, 14, 14, "FETCH_OK", "RoeEP"},
    {MOQC_IETF_FETCH_OK, 15, 15, "FETCH_OK", "ReEP"},
    {MOQC_IETF_FETCH_OK, 16, 16, "FETCH_OK", "ReEPK"},
    {MOQC_IETF_FETCH_OK, 17, 19, "FETCH_OK", "eEPK"},
    {MOQC_IETF_FETCH_ERROR, 14, 14, "FETCH_ERROR", "RCr"},
    {MOQC_IETF_FETCH_CANCEL, 14, 16, "FETCH_CANCEL", "R"},
    {MOQC_IETF_TRACK_STATUS, 14, 14, "TRACK_STATUS", "RNSpowFP"},
    {MOQC_IETF_TRACK_STATUS, 15, 19, "TRACK_STATUS", "RdNSP"},
    {MOQC_IETF_TRACK_STATUS_OK, 14, 14, "TRACK_STATUS_OK", "RAXoLP"},
    {MOQC_IETF_TRACK_STATUS_ERROR, 14, 14, "TRACK_STATUS_ERROR", "RCr"},
    {MOQC_IETF_PUBLISH_NAMESPACE, 14, 19, "PUBLISH_NAMESPACE", "RdNP"},
    {MOQC_IETF_PUBLISH_NAMESPACE_OK, 14, 14, "PUBLISH_NAMESPACE_OK", "R"},
    {MOQC_IETF_REQUEST_OK, 15, 16, "REQUEST_OK", "RP"},
    {MOQC_IETF_REQUEST_OK, 17, 17, "REQUEST_OK", "P"},
    {MOQC_IETF_REQUEST_OK, 18, 19, "REQUEST_OK", "PK"}, /* TRACK_STATUS_OK's properties */
    {MOQC_IETF_PUBLISH_NAMESPACE_ERROR, 14, 14, "PUBLISH_NAMESPACE_ERROR", "RCr"},
    {MOQC_IETF_NAMESPACE, 16, 19, "NAMESPACE", "N"},
    {MOQC_IETF_PUBLISH_NAMESPACE_DONE, 14, 15, "PUBLISH_NAMESPACE_DONE", "N"},
    {MOQC_IETF_PUBLISH_NAMESPACE_DONE, 16, 16, "PUBLISH_NAMESPACE_DONE", "R"},
    {MOQC_IETF_PUBLISH_NAMESPACE_CANCEL, 14, 15, "PUBLISH_NAMESPACE_CANCEL", "NCr"},
    {MOQC_IETF_PUBLISH_NAMESPACE_CANCEL, 16, 16, "PUBLISH_NAMESPACE_CANCEL", "RCr"},
    {MOQC_IETF_SUBSCRIBE_NAMESPACE, 14, 15, "SUBSCRIBE_NAMESPACE", "RNP"},
    {MOQC_IETF_SUBSCRIBE_NAMESPACE, 16, 17, "SUBSCRIBE_NAMESPACE", "RdNOP"},
    {MOQC_IETF_SUBSCRIBE_NAMESPACE_18, 18, 19, "SUBSCRIBE_NAMESPACE", "RNP"},
    {MOQC_IETF_SUBSCRIBE_NAMESPACE_OK, 14, 14, "SUBSCRIBE_NAMESPACE_OK", "R"},
    {MOQC_IETF_SUBSCRIBE_NAMESPACE_ERROR, 14, 14, "SUBSCRIBE_NAMESPACE_ERROR", "RCr"},
    {MOQC_IETF_UNSUBSCRIBE_NAMESPACE, 14, 15, "UNSUBSCRIBE_NAMESPACE", "R"},
    {MOQC_IETF_NAMESPACE_DONE, 16, 19, "NAMESPACE_DONE", "N"},
    {MOQC_IETF_PUBLISH_BLOCKED, 17, 18, "PUBLISH_BLOCKED", "NS"},
    {MOQC_IETF_PUBLISH_SKIPPED, 19, 19, "PUBLISH_SKIPPED", "NS"},
};

static const layout *find_layout(int v, uint64_t type) {
  if (!moqc__ietf_version_valid(v)) return NULL;
  for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
    const layout *l = &layouts[i];
    if (l->type == type && v >= l->vmin && v <= l->vmax) return l;
  }
  return NULL;
}

bool moqc__ietf_ctrl_known(int version, uint64_t type) {
  return find_layout(version, type) != NULL;
}

const char *moqc__ietf_ctrl_name(int version, uint64_t type) {
  const layout *l = find_layout(version, type);
  return l ? l->name : NULL;
}

ssize_t moqc__ietf_ctrl_peek(int version, const uint8_t *p, size_t len, uint64_t *type,
                             size_t *body_off, size_t *body_len) {
  if (!moqc__ietf_version_valid(version) || (!p && len)) return MOQC_ERR_INVAL;
  moqc_reader r = moqc_reader_make(p, len);
  uint64_t t = 0;
  uint16_t n = 0;
  int rc = moqc__ietf_read_vi(&r, version, &t);
  if (rc == 0) rc = moqc_read_u16be(&r, &n);
  if (rc < 0) return rc;
  if (moqc_reader_left(&r) < n) return MOQC_ERR_NEED_MORE;
  if (type) *type = t;
  if (body_off) *body_off = r.pos;
  if (body_len) *body_len = n;
  return (ssize_t)(r.pos + n);
}

/* ---- decode ------------------------------------------------------------------ */

static int rd_u8_max(moqc_reader *r, uint8_t max, uint8_t *out) {
  uint8_t b = 0;
  int rc = moqc_read_u8(r, &b);
  if (rc < 0) return rc;
  if (b > max) return MOQC_ERR_DECODE;
  *out = b;
  return MOQC_OK;
}

static int rd_fetch(moqc_reader *r, int v, moqc__ietf_msg *m) {
  moqc__ietf_fetch_spec *f = &m->fetch;
  int rc = moqc__ietf_read_vi(r, v, &f->type);
  if (rc < 0) return rc;
  switch (f->type) {
    case MOQC_IETF_FETCH_STANDALONE:
      rc = moqc__ietf_rd_tuple(r, v, &m->ns);
      if (rc == 0) rc = moqc__ietf_rd_bytes(r, v, MOQC_IETF_NAME_MAX, &m->name);
      if (rc == 0) rc = moqc__ietf_rd_loc(r, v, &f->start);
      if (rc == 0) rc = moqc__ietf_rd_loc(r, v, &f->end);
      return rc;
    case MOQC_IETF_FETCH_RELATIVE_JOINING:
    case MOQC_IETF_FETCH_ABSOLUTE_JOINING:
      rc = moqc__ietf_read_vi(r, v, &f->joining_request);
      if (rc == 0) rc = moqc__ietf_read_vi(r, v, &f->joining_start);
      return rc;
    default: return MOQC_ERR_DECODE;
  }
}

static int rd_versions(moqc_reader *r, int v, moqc__ietf_msg *m) {
  uint64_t n = 0;
  int rc = moqc__ietf_read_vi(r, v, &n);
  if (rc < 0) return rc;
  if (n == 0 || n > MOQC_IETF_VERSIONS_MAX) return MOQC_ERR_DECODE;
  for (uint64_t i = 0; i < n; i++) {
    rc = moqc__ietf_read_vi(r, v, &m->versions[i]);
    if (rc < 0) return rc;
  }
  m->nversions = (uint32_t)n;
  return MOQC_OK;
}

static int rd_op(moqc_reader *r, int v, char op, moqc__ietf_msg *m) {
  int rc;
  switch (op) {
    case 'R': return moqc__ietf_read_vi(r, v, &m->request_id);
    case 'd': return v == MOQC_IETF_17 ? moqc__ietf_read_vi(r, v, &m->required_delta) : MOQC_OK;
    case 'I': return moqc__ietf_read_vi(r, v, &m->update_id);
    case 'N': return moqc__ietf_rd_tuple(r, v, &m->ns);
    case 'S': return moqc__ietf_rd_bytes(r, v, MOQC_IETF_NAME_MAX, &m->name);
    case 'A': return moqc__ietf_read_vi(r, v, &m->track_alias);
    case 'p': m->has |= MOQC_IETF_HAS_PRIORITY; return moqc_read_u8(r, &m->priority);
    case 'o': m->has |= MOQC_IETF_HAS_GROUP_ORDER; return rd_u8_max(r, 2, &m->group_order);
    case 'w': m->has |= MOQC_IETF_HAS_FORWARD; return rd_u8_max(r, 1, &m->forward);
    case 'F': {
      m->has |= MOQC_IETF_HAS_FILTER;
      /* inline filter: the same structure as the parameter's value */
      rc = moqc__ietf_read_vi(r, v, &m->filter.type);
      if (rc < 0) return rc;
      if (m->filter.type < MOQC_IETF_FILTER_NEXT_GROUP ||
          m->filter.type > MOQC_IETF_FILTER_ABSOLUTE_RANGE)
        return MOQC_ERR_DECODE;
      if (m->filter.type >= MOQC_IETF_FILTER_ABSOLUTE_START)
        rc = moqc__ietf_rd_loc(r, v, &m->filter.start);
      if (rc == 0 && m->filter.type == MOQC_IETF_FILTER_ABSOLUTE_RANGE)
        rc = moqc__ietf_read_vi(r, v, &m->filter.end_group);
      return rc;
    }
    case 'G':
      rc = moqc__ietf_rd_loc(r, v, &m->filter.start);
      return rc == 0 ? moqc__ietf_read_vi(r, v, &m->filter.end_group) : rc;
    case 'X': m->has |= MOQC_IETF_HAS_EXPIRES; return moqc__ietf_read_vi(r, v, &m->expires);
    case 'L': {
      uint8_t exists = 0;
      rc = rd_u8_max(r, 1, &exists);
      if (rc < 0 || !exists) return rc;
      m->has |= MOQC_IETF_HAS_LARGEST;
      return moqc__ietf_rd_loc(r, v, &m->largest);
    }
    case 'e': return rd_u8_max(r, 1, &m->end_of_track);
    case 'E': return moqc__ietf_rd_loc(r, v, &m->largest);
    case 'C': return moqc__ietf_read_vi(r, v, &m->code);
    case 'Y': return moqc__ietf_read_vi(r, v, &m->retry_interval);
    case 'r': return moqc__ietf_rd_bytes(r, v, MOQC_IETF_REASON_MAX, &m->reason);
    case 'U': return moqc__ietf_rd_bytes(r, v, MOQC_IETF_URI_MAX, &m->reason);
    case 'T': return moqc__ietf_read_vi(r, v, &m->timeout);
    case 'g':
      if (moqc_reader_left(r) == 0) return MOQC_OK;
      m->has |= MOQC_IETF_HAS_GOAWAY_ID;
      return moqc__ietf_read_vi(r, v, &m->request_id);
    case 'n': return moqc__ietf_read_vi(r, v, &m->stream_count);
    case 'O': return moqc__ietf_read_vi(r, v, &m->options);
    case 'H': return rd_fetch(r, v, m);
    case 'V': return rd_versions(r, v, m);
    case 'v': m->nversions = 1; return moqc__ietf_read_vi(r, v, &m->versions[0]);
    case 'Z': return moqc__ietf_rd_kvps(r, v, MOQC__IETF_KVP_SETUP, &m->params, NULL);
    case 'P': return moqc__ietf_rd_kvps(r, v, MOQC__IETF_KVP_MSG, &m->params, m);
    case 'K': return moqc__ietf_rd_kvps(r, v, MOQC__IETF_KVP_PROPS, &m->props, NULL);
    default: assert(0 && "unknown layout op"); return MOQC_ERR_DECODE;
  }
}

/* Decode a message body of n bytes with the layout ops into *m: 0 or a
 * negative error (every byte must be read). */
static ssize_t rd_body(moqc__ietf_msg *m, int version, uint64_t type, const char *ops,
                       const uint8_t *p, size_t n) {
  memset(m, 0, sizeof *m);
  m->type = type;
  moqc_reader r = moqc_reader_make(p, n);
  for (const char *op = ops; *op; op++) {
    int rc = rd_op(&r, version, *op, m);
    if (rc < 0) return moqc__ietf_body_err(rc);
  }
  return moqc_reader_left(&r) ? MOQC_ERR_DECODE : 0;
}

ssize_t moqc__ietf_ctrl_decode(moqc__ietf_msg *m, int version, const uint8_t *p, size_t len) {
  if (!m || !moqc__ietf_version_valid(version)) return MOQC_ERR_INVAL;
  uint64_t type = 0;
  size_t off, n;
  ssize_t total = moqc__ietf_ctrl_peek(version, p, len, &type, &off, &n);
  if (total < 0) return total;
  const layout *l = find_layout(version, type);
  if (!l) return MOQC_ERR_DECODE;
  ssize_t rc = rd_body(m, version, type, l->ops, p + off, n);
  /* imquic (ce5f0713) writes draft-17 TRACK_STATUS without the Required
   * Request ID Delta the draft (and moq-dev) put after the request id: read
   * that form too when the draft's does not parse. */
  if (rc == MOQC_ERR_DECODE && version == MOQC_IETF_17 && type == MOQC_IETF_TRACK_STATUS) {
    rc = rd_body(m, version, type, "RNSP", p + off, n);
    m->has |= MOQC_IETF_HAS_NO_DELTA;
  }
  if (rc < 0) return rc;
  assert(off + n == (size_t)total);
  return total;
}

/* ---- encode ------------------------------------------------------------------ */

static void wr_u8_max(moqc_writer *w, uint8_t x, uint8_t max) {
  if (x > max) moqc__ietf_wfail(w, MOQC_ERR_INVAL);
  moqc_write_u8(w, x);
}

static void wr_filter_inline(moqc_writer *w, int v, const moqc__ietf_filter *f) {
  if (f->type < MOQC_IETF_FILTER_NEXT_GROUP || f->type > MOQC_IETF_FILTER_ABSOLUTE_RANGE) {
    moqc__ietf_wfail(w, MOQC_ERR_INVAL);
    return;
  }
  moqc__ietf_write_vi(w, v, f->type);
  if (f->type >= MOQC_IETF_FILTER_ABSOLUTE_START) moqc__ietf_wr_loc(w, v, f->start);
  if (f->type == MOQC_IETF_FILTER_ABSOLUTE_RANGE) moqc__ietf_write_vi(w, v, f->end_group);
}

static void wr_fetch(moqc_writer *w, int v, const moqc__ietf_msg *m) {
  const moqc__ietf_fetch_spec *f = &m->fetch;
  moqc__ietf_write_vi(w, v, f->type);
  switch (f->type) {
    case MOQC_IETF_FETCH_STANDALONE:
      moqc__ietf_wr_tuple(w, v, &m->ns);
      moqc__ietf_wr_bytes(w, v, m->name, MOQC_IETF_NAME_MAX);
      moqc__ietf_wr_loc(w, v, f->start);
      moqc__ietf_wr_loc(w, v, f->end);
      return;
    case MOQC_IETF_FETCH_RELATIVE_JOINING:
    case MOQC_IETF_FETCH_ABSOLUTE_JOINING:
      moqc__ietf_write_vi(w, v, f->joining_request);
      moqc__ietf_write_vi(w, v, f->joining_start);
      return;
    default: moqc__ietf_wfail(w, MOQC_ERR_INVAL);
  }
}

static void wr_op(moqc_writer *w, int v, char op, const moqc__ietf_msg *m) {
  switch (op) {
    case 'R': moqc__ietf_write_vi(w, v, m->request_id); return;
    case 'd':
      if (v == MOQC_IETF_17 && !(m->has & MOQC_IETF_HAS_NO_DELTA))
        moqc__ietf_write_vi(w, v, m->required_delta);
      return;
    case 'I': moqc__ietf_write_vi(w, v, m->update_id); return;
    case 'N': moqc__ietf_wr_tuple(w, v, &m->ns); return;
    case 'S': moqc__ietf_wr_bytes(w, v, m->name, MOQC_IETF_NAME_MAX); return;
    case 'A': moqc__ietf_write_vi(w, v, m->track_alias); return;
    case 'p': moqc_write_u8(w, m->priority); return;
    case 'o': wr_u8_max(w, m->group_order, 2); return;
    case 'w': wr_u8_max(w, m->forward, 1); return;
    case 'F': wr_filter_inline(w, v, &m->filter); return;
    case 'G':
      moqc__ietf_wr_loc(w, v, m->filter.start);
      moqc__ietf_write_vi(w, v, m->filter.end_group);
      return;
    case 'X': moqc__ietf_write_vi(w, v, m->expires); return;
    case 'L':
      moqc_write_u8(w, (m->has & MOQC_IETF_HAS_LARGEST) ? 1 : 0);
      if (m->has & MOQC_IETF_HAS_LARGEST) moqc__ietf_wr_loc(w, v, m->largest);
      return;
    case 'e': wr_u8_max(w, m->end_of_track, 1); return;
    case 'E': moqc__ietf_wr_loc(w, v, m->largest); return;
    case 'C': moqc__ietf_write_vi(w, v, m->code); return;
    case 'Y': moqc__ietf_write_vi(w, v, m->retry_interval); return;
    case 'r': moqc__ietf_wr_bytes(w, v, m->reason, MOQC_IETF_REASON_MAX); return;
    case 'U': moqc__ietf_wr_bytes(w, v, m->reason, MOQC_IETF_URI_MAX); return;
    case 'T': moqc__ietf_write_vi(w, v, m->timeout); return;
    case 'g':
      if (m->has & MOQC_IETF_HAS_GOAWAY_ID) moqc__ietf_write_vi(w, v, m->request_id);
      return;
    case 'n': moqc__ietf_write_vi(w, v, m->stream_count); return;
    case 'O': moqc__ietf_write_vi(w, v, m->options); return;
    case 'H': wr_fetch(w, v, m); return;
    case 'V':
      if (m->nversions == 0 || m->nversions > MOQC_IETF_VERSIONS_MAX) {
        moqc__ietf_wfail(w, MOQC_ERR_INVAL);
        return;
      }
      moqc__ietf_write_vi(w, v, m->nversions);
      for (uint32_t i = 0; i < m->nversions; i++) moqc__ietf_write_vi(w, v, m->versions[i]);
      return;
    case 'v':
      if (m->nversions != 1) moqc__ietf_wfail(w, MOQC_ERR_INVAL);
      moqc__ietf_write_vi(w, v, m->versions[0]);
      return;
    case 'Z': moqc__ietf_wr_kvps(w, v, MOQC__IETF_KVP_SETUP, &m->params, NULL); return;
    case 'P': moqc__ietf_wr_kvps(w, v, MOQC__IETF_KVP_MSG, &m->params, m); return;
    case 'K': moqc__ietf_wr_kvps(w, v, MOQC__IETF_KVP_PROPS, &m->props, NULL); return;
    default: assert(0 && "unknown layout op"); moqc__ietf_wfail(w, MOQC_ERR_INVAL);
  }
}

ssize_t moqc__ietf_ctrl_encode(uint8_t *p, size_t cap, int version, const moqc__ietf_msg *m) {
  if (!m || !p || !moqc__ietf_version_valid(version)) return MOQC_ERR_INVAL;
  const layout *l = find_layout(version, m->type);
  if (!l) return MOQC_ERR_INVAL;
  moqc_writer w = moqc_writer_make(p, cap);
  moqc__ietf_write_vi(&w, version, m->type);
  size_t len_at = w.pos;
  moqc_write_u16be(&w, 0); /* patched below: single pass */
  for (const char *op = l->ops; *op && !w.err; op++) wr_op(&w, version, *op, m);
  if (w.err) return w.err;
  assert(w.pos >= len_at + 2 && w.pos <= cap);
  size_t body = w.pos - len_at - 2;
  if (body > MOQC_IETF_MSG_MAX) return MOQC_ERR_INVAL;
  p[len_at] = (uint8_t)(body >> 8);
  p[len_at + 1] = (uint8_t)body;
  return (ssize_t)w.pos;
}
