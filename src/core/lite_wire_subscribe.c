/* moqc core — moq-lite subscribe / track / fetch stream codecs: SUBSCRIBE,
 * SUBSCRIBE_UPDATE, the typed subscribe responses, TRACK, TRACK_INFO, FETCH. */
#include "core/lite_wire_int.h"

/* ---- SUBSCRIBE --------------------------------------------------------------- */

static void subscribe_body(lw *w, int version, const void *mp) {
  const struct moqc_lite_subscribe *m = mp;
  (void)version;
  lw_varint(w, m->id);
  moqc__lw_path(w, m->broadcast);
  moqc__lw_string(w, m->track, MOQC_LITE_PATH_MAX);
  lw_u8(w, m->priority);
  lw_u8(w, m->ordered ? 1 : 0);
  lw_varint(w, m->max_latency);
  lw_opt_group(w, m->start_group);
  lw_opt_group(w, m->end_group);
}

ssize_t moqc_lite_subscribe_encode(uint8_t *p, size_t cap, int version,
                                   const struct moqc_lite_subscribe *m) {
  return moqc__lw_encode(p, cap, version, m, subscribe_body, LW_FRAMED, 0);
}

/* priority u8, ordered u8, max latency, start opt, end opt: shared by
 * SUBSCRIBE (tail), SUBSCRIBE_UPDATE and SUBSCRIBE_OK. */
static int read_prefs(moqc_reader *r, uint8_t *prio, bool *ordered, uint64_t *lat, uint64_t *start,
                      uint64_t *end) {
  uint8_t o;
  int rc = moqc_read_u8(r, prio);
  if (!rc) rc = moqc_read_u8(r, &o);
  if (!rc) rc = moqc_read_varint(r, lat);
  if (!rc) rc = moqc__lr_opt_group(r, start);
  if (!rc) rc = moqc__lr_opt_group(r, end);
  if (!rc) *ordered = o != 0;
  return rc;
}

static void write_prefs(lw *w, uint8_t prio, bool ordered, uint64_t lat, uint64_t start,
                        uint64_t end) {
  lw_u8(w, prio);
  lw_u8(w, ordered ? 1 : 0);
  lw_varint(w, lat);
  lw_opt_group(w, start);
  lw_opt_group(w, end);
}

static int subscribe_read(moqc_reader *r, int version, void *mp) {
  struct moqc_lite_subscribe *m = mp;
  (void)version;
  int rc = moqc_read_varint(r, &m->id);
  if (!rc) rc = moqc__lr_path(r, &m->broadcast);
  if (!rc) rc = moqc__lr_string(r, MOQC_LITE_PATH_MAX, &m->track);
  if (!rc) {
    rc = read_prefs(r, &m->priority, &m->ordered, &m->max_latency, &m->start_group, &m->end_group);
  }
  return rc;
}

ssize_t moqc_lite_subscribe_decode(struct moqc_lite_subscribe *m, int version, const uint8_t *p,
                                   size_t len) {
  if (!moqc_lite_version_valid(version)) return MOQC_ERR_INVAL;
  return moqc__lr_decode_msg(m, version, p, len, subscribe_read);
}

/* ---- SUBSCRIBE_UPDATE ------------------------------------------------------------ */

static void update_body(lw *w, int version, const void *mp) {
  const struct moqc_lite_subscribe_update *m = mp;
  (void)version;
  write_prefs(w, m->priority, m->ordered, m->max_latency, m->start_group, m->end_group);
}

ssize_t moqc_lite_subscribe_update_encode(uint8_t *p, size_t cap, int version,
                                          const struct moqc_lite_subscribe_update *m) {
  return moqc__lw_encode(p, cap, version, m, update_body, LW_FRAMED, 0);
}

static int update_read(moqc_reader *r, int version, void *mp) {
  struct moqc_lite_subscribe_update *m = mp;
  (void)version;
  return read_prefs(r, &m->priority, &m->ordered, &m->max_latency, &m->start_group, &m->end_group);
}

ssize_t moqc_lite_subscribe_update_decode(struct moqc_lite_subscribe_update *m, int version,
                                          const uint8_t *p, size_t len) {
  if (!moqc_lite_version_valid(version)) return MOQC_ERR_INVAL;
  return moqc__lr_decode_msg(m, version, p, len, update_read);
}

/* ---- subscribe responses ------------------------------------------------------------ */

/* Wire type of a response kind in a version, or -1 if it does not exist there. */
static int resp_wire_type(int version, int kind) {
  bool v05 = moqc_lite_is_05(version);
  switch (kind) {
    case MOQC_LITE_SUBSCRIBE_OK: return v05 ? -1 : 0;
    case MOQC_LITE_SUBSCRIBE_START: return v05 ? 0 : -1;
    case MOQC_LITE_SUBSCRIBE_END: return v05 ? 1 : -1;
    case MOQC_LITE_SUBSCRIBE_DROP: return v05 ? 2 : 1;
    default: return -1;
  }
}

static int resp_kind(int version, uint64_t type) {
  static const int k0304[] = {MOQC_LITE_SUBSCRIBE_OK, MOQC_LITE_SUBSCRIBE_DROP};
  static const int k05[] = {MOQC_LITE_SUBSCRIBE_START, MOQC_LITE_SUBSCRIBE_END,
                            MOQC_LITE_SUBSCRIBE_DROP};
  if (moqc_lite_is_05(version)) return type < 3 ? k05[type] : -1;
  return type < 2 ? k0304[type] : -1;
}

static void resp_body(lw *w, int version, const void *mp) {
  const struct moqc_lite_subscribe_resp *m = mp;
  (void)version;
  switch (m->kind) {
    case MOQC_LITE_SUBSCRIBE_OK:
      write_prefs(w, m->u.ok.priority, m->u.ok.ordered, m->u.ok.max_latency, m->u.ok.start_group,
                  m->u.ok.end_group);
      break;
    case MOQC_LITE_SUBSCRIBE_START:
    case MOQC_LITE_SUBSCRIBE_END: lw_varint(w, m->u.group); break;
    default: /* DROP: resp_wire_type() already rejected anything else */
      lw_varint(w, m->u.drop.start);
      lw_varint(w, m->u.drop.end);
      lw_varint(w, m->u.drop.error);
      break;
  }
}

ssize_t moqc_lite_subscribe_resp_encode(uint8_t *p, size_t cap, int version,
                                        const struct moqc_lite_subscribe_resp *m) {
  if (!m || !moqc_lite_version_valid(version)) return MOQC_ERR_INVAL;
  int type = resp_wire_type(version, m->kind);
  if (type < 0) return MOQC_ERR_INVAL;
  return moqc__lw_encode(p, cap, version, m, resp_body, LW_TYPED | LW_FRAMED, (uint64_t)type);
}

static int resp_read(moqc_reader *r, int version, void *mp) {
  struct moqc_lite_subscribe_resp *m = mp;
  (void)version;
  switch (m->kind) {
    case MOQC_LITE_SUBSCRIBE_OK:
      return read_prefs(r, &m->u.ok.priority, &m->u.ok.ordered, &m->u.ok.max_latency,
                        &m->u.ok.start_group, &m->u.ok.end_group);
    case MOQC_LITE_SUBSCRIBE_START:
    case MOQC_LITE_SUBSCRIBE_END: return moqc_read_varint(r, &m->u.group);
    default: {
      int rc = moqc_read_varint(r, &m->u.drop.start);
      if (!rc) rc = moqc_read_varint(r, &m->u.drop.end);
      if (!rc) rc = moqc_read_varint(r, &m->u.drop.error);
      return rc;
    }
  }
}

ssize_t moqc_lite_subscribe_resp_decode(struct moqc_lite_subscribe_resp *m, int version,
                                        const uint8_t *p, size_t len) {
  if (!m || (!p && len) || !moqc_lite_version_valid(version)) return MOQC_ERR_INVAL;
  if (len == 0) return MOQC_ERR_NEED_MORE;
  uint64_t type;
  ssize_t k = moqc_varint_decode(&type, p, len);
  if (k < 0) return k;
  m->kind = resp_kind(version, type);
  if (m->kind < 0) return MOQC_ERR_DECODE;
  ssize_t n = moqc__lr_decode_msg(m, version, p + k, len - (size_t)k, resp_read);
  return n < 0 ? n : k + n;
}

/* ---- TRACK / TRACK_INFO (lite-05) --------------------------------------------------- */

static void track_body(lw *w, int version, const void *mp) {
  const struct moqc_lite_track *m = mp;
  (void)version;
  moqc__lw_path(w, m->broadcast);
  moqc__lw_string(w, m->track, MOQC_LITE_PATH_MAX);
}

ssize_t moqc_lite_track_encode(uint8_t *p, size_t cap, int version,
                               const struct moqc_lite_track *m) {
  if (!moqc_lite_is_05(version)) return MOQC_ERR_INVAL;
  return moqc__lw_encode(p, cap, version, m, track_body, LW_FRAMED, 0);
}

static int track_read(moqc_reader *r, int version, void *mp) {
  struct moqc_lite_track *m = mp;
  (void)version;
  int rc = moqc__lr_path(r, &m->broadcast);
  if (!rc) rc = moqc__lr_string(r, MOQC_LITE_PATH_MAX, &m->track);
  return rc;
}

ssize_t moqc_lite_track_decode(struct moqc_lite_track *m, int version, const uint8_t *p,
                               size_t len) {
  if (!moqc_lite_is_05(version)) return MOQC_ERR_INVAL;
  return moqc__lr_decode_msg(m, version, p, len, track_read);
}

static void track_info_body(lw *w, int version, const void *mp) {
  const struct moqc_lite_track_info *m = mp;
  (void)version;
  if (m->timescale == 0) lw_fail(w, MOQC_ERR_INVAL);
  lw_u8(w, m->priority);
  lw_u8(w, m->ordered ? 1 : 0);
  lw_varint(w, m->max_latency);
  lw_varint(w, m->timescale);
}

ssize_t moqc_lite_track_info_encode(uint8_t *p, size_t cap, int version,
                                    const struct moqc_lite_track_info *m) {
  if (!moqc_lite_is_05(version)) return MOQC_ERR_INVAL;
  return moqc__lw_encode(p, cap, version, m, track_info_body, LW_FRAMED, 0);
}

static int track_info_read(moqc_reader *r, int version, void *mp) {
  struct moqc_lite_track_info *m = mp;
  uint8_t o;
  (void)version;
  int rc = moqc_read_u8(r, &m->priority);
  if (!rc) rc = moqc_read_u8(r, &o);
  if (!rc) rc = moqc_read_varint(r, &m->max_latency);
  if (!rc) rc = moqc_read_varint(r, &m->timescale);
  if (rc) return rc;
  m->ordered = o != 0;
  return m->timescale == 0 ? MOQC_ERR_DECODE : MOQC_OK;
}

ssize_t moqc_lite_track_info_decode(struct moqc_lite_track_info *m, int version, const uint8_t *p,
                                    size_t len) {
  if (!moqc_lite_is_05(version)) return MOQC_ERR_INVAL;
  return moqc__lr_decode_msg(m, version, p, len, track_info_read);
}

/* ---- FETCH ----------------------------------------------------------------------- */

static void fetch_body(lw *w, int version, const void *mp) {
  const struct moqc_lite_fetch *m = mp;
  (void)version;
  moqc__lw_path(w, m->broadcast);
  moqc__lw_string(w, m->track, MOQC_LITE_PATH_MAX);
  lw_u8(w, m->priority);
  lw_varint(w, m->group);
}

ssize_t moqc_lite_fetch_encode(uint8_t *p, size_t cap, int version,
                               const struct moqc_lite_fetch *m) {
  return moqc__lw_encode(p, cap, version, m, fetch_body, LW_FRAMED, 0);
}

static int fetch_read(moqc_reader *r, int version, void *mp) {
  struct moqc_lite_fetch *m = mp;
  (void)version;
  int rc = moqc__lr_path(r, &m->broadcast);
  if (!rc) rc = moqc__lr_string(r, MOQC_LITE_PATH_MAX, &m->track);
  if (!rc) rc = moqc_read_u8(r, &m->priority);
  if (!rc) rc = moqc_read_varint(r, &m->group);
  return rc;
}

ssize_t moqc_lite_fetch_decode(struct moqc_lite_fetch *m, int version, const uint8_t *p,
                               size_t len) {
  if (!moqc_lite_version_valid(version)) return MOQC_ERR_INVAL;
  return moqc__lr_decode_msg(m, version, p, len, fetch_read);
}
