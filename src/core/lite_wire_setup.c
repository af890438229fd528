/* moqc core — moq-lite SETUP (lite-05), PROBE and GOAWAY codecs. */
#include "core/lite_wire_int.h"

/* ---- SETUP ------------------------------------------------------------------ */

static void param_varint(lw *w, uint64_t id, uint64_t v) {
  if (v > MOQC_VARINT_MAX) {
    lw_fail(w, MOQC_ERR_OVERFLOW);
    return;
  }
  lw_varint(w, id);
  lw_varint(w, moqc_varint_len(v));
  lw_varint(w, v);
}

static void setup_body(lw *w, int version, const void *mp) {
  const struct moqc_lite_setup *m = mp;
  (void)version;
  if (m->probe > MOQC_LITE_PROBE_INCREASE || m->role > MOQC_LITE_ROLE_SUBSCRIBER) {
    lw_fail(w, MOQC_ERR_INVAL);
    return;
  }
  uint64_t count = (m->probe != MOQC_LITE_PROBE_NONE) + m->has_path +
                   (m->role != MOQC_LITE_ROLE_BOTH) + m->has_cost + (m->origin != 0);
  lw_varint(w, count);
  if (m->probe != MOQC_LITE_PROBE_NONE) param_varint(w, MOQC_LITE_PARAM_PROBE, m->probe);
  if (m->has_path) {
    lw_varint(w, MOQC_LITE_PARAM_PATH);
    moqc__lw_string(w, m->path, MOQC_LITE_MSG_MAX);
  }
  if (m->role != MOQC_LITE_ROLE_BOTH) param_varint(w, MOQC_LITE_PARAM_ROLE, m->role);
  if (m->has_cost) param_varint(w, MOQC_LITE_PARAM_COST, m->cost);
  if (m->origin != 0) param_varint(w, MOQC_LITE_PARAM_ORIGIN, m->origin);
}

ssize_t moqc_lite_setup_encode(uint8_t *p, size_t cap, int version,
                               const struct moqc_lite_setup *m) {
  if (!moqc_lite_is_05(version)) return MOQC_ERR_INVAL;
  return moqc__lw_encode(p, cap, version, m, setup_body, LW_FRAMED, 0);
}

/* A varint-valued parameter: the value must be exactly one varint. */
static int param_value(moqc_bytes val, uint64_t *v) {
  if (val.len == 0) return MOQC_ERR_DECODE;
  ssize_t k = moqc_varint_decode(v, val.ptr, val.len);
  return (k > 0 && (size_t)k == val.len) ? MOQC_OK : MOQC_ERR_DECODE;
}

static int setup_param(struct moqc_lite_setup *m, uint64_t id, moqc_bytes val) {
  uint64_t v = 0;
  if (id == MOQC_LITE_PARAM_PATH) {
    if (!moqc_utf8_valid(val.ptr, val.len)) return MOQC_ERR_DECODE;
    m->has_path = true;
    m->path = val;
    return MOQC_OK;
  }
  if (id < MOQC_LITE_PARAM_PROBE || id > MOQC_LITE_PARAM_ORIGIN) return MOQC_OK; /* unknown */
  if (param_value(val, &v)) return MOQC_ERR_DECODE;
  switch (id) {
    case MOQC_LITE_PARAM_PROBE:
      m->probe = (uint8_t)(v > MOQC_LITE_PROBE_INCREASE ? MOQC_LITE_PROBE_INCREASE : v);
      break;
    case MOQC_LITE_PARAM_ROLE:
      m->role = (uint8_t)(v == MOQC_LITE_ROLE_PUBLISHER || v == MOQC_LITE_ROLE_SUBSCRIBER
                              ? v
                              : MOQC_LITE_ROLE_BOTH);
      break;
    case MOQC_LITE_PARAM_COST:
      m->has_cost = true;
      m->cost = v;
      break;
    default: /* ORIGIN; 0 means none */ m->origin = v; break;
  }
  return MOQC_OK;
}

static int setup_read(moqc_reader *r, int version, void *mp) {
  struct moqc_lite_setup *m = mp;
  uint64_t seen[MOQC_LITE_MAX_PARAMS];
  uint64_t count;
  (void)version;
  *m = (struct moqc_lite_setup){0};
  int rc = moqc_read_varint(r, &count);
  if (rc) return rc;
  if (count > MOQC_LITE_MAX_PARAMS) return MOQC_ERR_DECODE;
  for (size_t i = 0; i < (size_t)count; i++) {
    moqc_bytes val;
    if ((rc = moqc_read_varint(r, &seen[i]))) return rc;
    for (size_t j = 0; j < i; j++) {
      if (seen[j] == seen[i]) return MOQC_ERR_DECODE;
    }
    if ((rc = moqc_read_bytes(r, MOQC_LITE_MSG_MAX, &val))) return rc;
    if ((rc = setup_param(m, seen[i], val))) return rc;
  }
  return MOQC_OK;
}

ssize_t moqc_lite_setup_decode(struct moqc_lite_setup *m, int version, const uint8_t *p,
                               size_t len) {
  if (!moqc_lite_is_05(version)) return MOQC_ERR_INVAL;
  return moqc__lr_decode_msg(m, version, p, len, setup_read);
}

/* ---- PROBE ------------------------------------------------------------------- */

static void probe_body(lw *w, int version, const void *mp) {
  const struct moqc_lite_probe *m = mp;
  lw_varint(w, m->bitrate);
  if (moqc_lite_has_probe_rtt(version)) lw_varint(w, m->rtt);
}

ssize_t moqc_lite_probe_encode(uint8_t *p, size_t cap, int version,
                               const struct moqc_lite_probe *m) {
  return moqc__lw_encode(p, cap, version, m, probe_body, LW_FRAMED, 0);
}

static int probe_read(moqc_reader *r, int version, void *mp) {
  struct moqc_lite_probe *m = mp;
  m->rtt = 0;
  int rc = moqc_read_varint(r, &m->bitrate);
  if (!rc && moqc_lite_has_probe_rtt(version)) rc = moqc_read_varint(r, &m->rtt);
  return rc;
}

ssize_t moqc_lite_probe_decode(struct moqc_lite_probe *m, int version, const uint8_t *p,
                               size_t len) {
  if (!moqc_lite_version_valid(version)) return MOQC_ERR_INVAL;
  return moqc__lr_decode_msg(m, version, p, len, probe_read);
}

/* ---- GOAWAY (lite-04+) ------------------------------------------------------- */

static void goaway_body(lw *w, int version, const void *mp) {
  const struct moqc_lite_goaway *m = mp;
  (void)version;
  moqc__lw_string(w, m->uri, MOQC_LITE_MSG_MAX);
}

ssize_t moqc_lite_goaway_encode(uint8_t *p, size_t cap, int version,
                                const struct moqc_lite_goaway *m) {
  if (!moqc_lite_has_goaway(version)) return MOQC_ERR_INVAL;
  return moqc__lw_encode(p, cap, version, m, goaway_body, LW_FRAMED, 0);
}

static int goaway_read(moqc_reader *r, int version, void *mp) {
  struct moqc_lite_goaway *m = mp;
  (void)version;
  return moqc__lr_string(r, MOQC_LITE_MSG_MAX, &m->uri);
}

ssize_t moqc_lite_goaway_decode(struct moqc_lite_goaway *m, int version, const uint8_t *p,
                                size_t len) {
  if (!moqc_lite_has_goaway(version)) return MOQC_ERR_INVAL;
  return moqc__lr_decode_msg(m, version, p, len, goaway_read);
}
