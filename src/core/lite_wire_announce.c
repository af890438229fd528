/* moqc core — moq-lite announce stream codecs: ANNOUNCE_PLEASE, ANNOUNCE,
 * ANNOUNCE_OK (lite-03/04/05). */
#include "core/lite_wire_int.h"

/* ---- ANNOUNCE_PLEASE ------------------------------------------------------ */

static void please_body(lw *w, int version, const void *mp) {
  const struct moqc_lite_announce_please *m = mp;
  moqc__lw_path(w, m->prefix);
  if (moqc_lite_has_exclude_hop(version)) lw_varint(w, m->exclude_hop);
}

ssize_t moqc_lite_announce_please_encode(uint8_t *p, size_t cap, int version,
                                         const struct moqc_lite_announce_please *m) {
  return moqc__lw_encode(p, cap, version, m, please_body, LW_FRAMED, 0);
}

static int please_read(moqc_reader *r, int version, void *mp) {
  struct moqc_lite_announce_please *m = mp;
  m->exclude_hop = 0;
  int rc = moqc__lr_path(r, &m->prefix);
  if (!rc && moqc_lite_has_exclude_hop(version)) rc = moqc_read_varint(r, &m->exclude_hop);
  return rc;
}

ssize_t moqc_lite_announce_please_decode(struct moqc_lite_announce_please *m, int version,
                                         const uint8_t *p, size_t len) {
  if (!moqc_lite_version_valid(version)) return MOQC_ERR_INVAL;
  return moqc__lr_decode_msg(m, version, p, len, please_read);
}

/* ---- ANNOUNCE --------------------------------------------------------------- */

static bool status_valid(int version, uint8_t status) {
  return status == MOQC_LITE_ANNOUNCE_ENDED || status == MOQC_LITE_ANNOUNCE_ACTIVE ||
         (status == MOQC_LITE_ANNOUNCE_RESTART && moqc_lite_is_05(version));
}

static void announce_body(lw *w, int version, const void *mp) {
  const struct moqc_lite_announce *m = mp;
  if (!status_valid(version, m->status) || m->hop_count > MOQC_LITE_MAX_HOPS) {
    lw_fail(w, MOQC_ERR_INVAL);
    return;
  }
  lw_u8(w, m->status);
  moqc__lw_path(w, m->suffix);
  lw_varint(w, m->hop_count);
  if (moqc_lite_has_hop_ids(version)) {
    for (size_t i = 0; i < m->hop_count; i++) lw_varint(w, m->hops[i]);
  }
}

ssize_t moqc_lite_announce_encode(uint8_t *p, size_t cap, int version,
                                  const struct moqc_lite_announce *m) {
  return moqc__lw_encode(p, cap, version, m, announce_body, LW_FRAMED, 0);
}

static int announce_read(moqc_reader *r, int version, void *mp) {
  struct moqc_lite_announce *m = mp;
  uint64_t count;
  int rc = moqc_read_u8(r, &m->status);
  if (rc) return rc;
  if (!status_valid(version, m->status)) return MOQC_ERR_DECODE;
  if ((rc = moqc__lr_path(r, &m->suffix)) || (rc = moqc_read_varint(r, &count))) return rc;
  if (count > MOQC_LITE_MAX_HOPS) return MOQC_ERR_DECODE;
  m->hop_count = (size_t)count;
  for (size_t i = 0; i < m->hop_count; i++) {
    m->hops[i] = 0; /* lite-03: count only, ids unknown */
    if (moqc_lite_has_hop_ids(version) && (rc = moqc_read_varint(r, &m->hops[i]))) return rc;
  }
  return MOQC_OK;
}

ssize_t moqc_lite_announce_decode(struct moqc_lite_announce *m, int version, const uint8_t *p,
                                  size_t len) {
  if (!moqc_lite_version_valid(version)) return MOQC_ERR_INVAL;
  return moqc__lr_decode_msg(m, version, p, len, announce_read);
}

/* ---- ANNOUNCE_OK (lite-05) ------------------------------------------------- */

static void announce_ok_body(lw *w, int version, const void *mp) {
  const struct moqc_lite_announce_ok *m = mp;
  (void)version;
  lw_varint(w, m->hop_id);
  lw_varint(w, m->active);
}

ssize_t moqc_lite_announce_ok_encode(uint8_t *p, size_t cap, int version,
                                     const struct moqc_lite_announce_ok *m) {
  if (!moqc_lite_is_05(version)) return MOQC_ERR_INVAL;
  return moqc__lw_encode(p, cap, version, m, announce_ok_body, LW_FRAMED, 0);
}

static int announce_ok_read(moqc_reader *r, int version, void *mp) {
  struct moqc_lite_announce_ok *m = mp;
  (void)version;
  int rc = moqc_read_varint(r, &m->hop_id);
  if (!rc) rc = moqc_read_varint(r, &m->active);
  return rc;
}

ssize_t moqc_lite_announce_ok_decode(struct moqc_lite_announce_ok *m, int version, const uint8_t *p,
                                     size_t len) {
  if (!moqc_lite_is_05(version)) return MOQC_ERR_INVAL;
  return moqc__lr_decode_msg(m, version, p, len, announce_ok_read);
}
