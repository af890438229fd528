/* moqc core — IETF moq-transport data plane, drafts 14 to 19: SUBGROUP_HEADER
 * and its objects, FETCH_HEADER and fetch objects, OBJECT_DATAGRAM. */
#include <assert.h>
#include <string.h>

#include "core/ietf_wire_int.h"

/* ---- stream kinds ------------------------------------------------------------ */

static bool subgroup_type_valid(int v, uint64_t t) {
  if (t > 0x7F || (t & 0x90) != 0x10) return false;
  if (((t >> 1) & 3) == 3) return false;            /* subgroup id mode 0b11: reserved */
  if ((t & 0x40) && v < MOQC_IETF_18) return false; /* FIRST_OBJECT: 18+ */
  /* 0x20 (default priority) is a draft-15 addition; moq-dev accepts it on 14 too. */
  return true;
}

int moqc__ietf_uni_kind(int version, uint64_t type) {
  if (!moqc__ietf_version_valid(version)) return MOQC_IETF_UNI_UNKNOWN;
  if (subgroup_type_valid(version, type)) return MOQC_IETF_UNI_SUBGROUP;
  if (type == MOQC_IETF_FETCH_HEADER) return MOQC_IETF_UNI_FETCH;
  if (type == MOQC_IETF_SETUP && moqc__ietf_has_uni_setup(version)) return MOQC_IETF_UNI_SETUP;
  return MOQC_IETF_UNI_UNKNOWN;
}

static bool status_valid(uint64_t s) {
  return s == MOQC_IETF_STATUS_NORMAL || s == MOQC_IETF_STATUS_DOES_NOT_EXIST ||
         s == MOQC_IETF_STATUS_END_OF_GROUP || s == MOQC_IETF_STATUS_END_OF_TRACK;
}

/* Extension block: length + KVPs, validated. */
static int rd_ext(moqc_reader *r, int v, moqc_bytes *ext) {
  moqc_reader t = *r;
  int rc = moqc__ietf_rd_bytes(&t, v, MOQC_IETF_EXT_MAX, ext);
  if (rc < 0) return rc;
  if (moqc__ietf_ext_validate(v, *ext) < 0) return MOQC_ERR_DECODE;
  *r = t;
  return MOQC_OK;
}

static void wr_ext(moqc_writer *w, int v, moqc_bytes ext) {
  if (ext.len && moqc__ietf_ext_validate(v, ext) < 0) {
    moqc__ietf_wfail(w, MOQC_ERR_INVAL);
    return;
  }
  moqc__ietf_wr_bytes(w, v, ext, MOQC_IETF_EXT_MAX);
}

/* Payload length: bounded (TOO_LARGE, as moq-lite frames). */
static int rd_size(moqc_reader *r, int v, uint64_t *size) {
  moqc_reader t = *r;
  int rc = moqc__ietf_read_vi(&t, v, size);
  if (rc < 0) return rc;
  if (*size > MOQC_IETF_OBJECT_MAX) return MOQC_ERR_TOO_LARGE;
  *r = t;
  return MOQC_OK;
}

static int rd_status(moqc_reader *r, int v, uint64_t *status) {
  moqc_reader t = *r;
  int rc = moqc__ietf_read_vi(&t, v, status);
  if (rc < 0) return rc;
  if (!status_valid(*status)) return MOQC_ERR_DECODE;
  *r = t;
  return MOQC_OK;
}

static ssize_t finish(const moqc_writer *w) { return w->err ? w->err : (ssize_t)w->pos; }

/* ---- SUBGROUP_HEADER --------------------------------------------------------- */

ssize_t moqc__ietf_subgroup_encode(uint8_t *p, size_t cap, int version,
                                   const moqc__ietf_subgroup *h) {
  if (!p || !h || !moqc__ietf_version_valid(version)) return MOQC_ERR_INVAL;
  if (h->sgid_mode < MOQC_IETF_SGID_ZERO || h->sgid_mode > MOQC_IETF_SGID_FIELD)
    return MOQC_ERR_INVAL;
  if (h->sgid_mode != MOQC_IETF_SGID_FIELD && h->subgroup != 0) return MOQC_ERR_INVAL;
  uint64_t t = 0x10u | (h->extensions ? 0x01u : 0) | ((uint64_t)h->sgid_mode << 1) |
               (h->end_of_group ? 0x08u : 0) | (h->has_priority ? 0 : 0x20u) |
               (h->first_object ? 0x40u : 0);
  if (!subgroup_type_valid(version, t)) return MOQC_ERR_INVAL;
  moqc_writer w = moqc_writer_make(p, cap);
  moqc__ietf_write_vi(&w, version, t);
  moqc__ietf_write_vi(&w, version, h->track_alias);
  moqc__ietf_write_vi(&w, version, h->group);
  if (h->sgid_mode == MOQC_IETF_SGID_FIELD) moqc__ietf_write_vi(&w, version, h->subgroup);
  if (h->has_priority) moqc_write_u8(&w, h->priority);
  return finish(&w);
}

ssize_t moqc__ietf_subgroup_decode(moqc__ietf_subgroup *h, int version, const uint8_t *p,
                                   size_t len) {
  if (!h || (!p && len) || !moqc__ietf_version_valid(version)) return MOQC_ERR_INVAL;
  moqc_reader r = moqc_reader_make(p, len);
  memset(h, 0, sizeof *h);
  int rc = moqc__ietf_read_vi(&r, version, &h->type);
  if (rc < 0) return rc;
  if (!subgroup_type_valid(version, h->type)) return MOQC_ERR_DECODE;
  h->extensions = h->type & 0x01;
  h->sgid_mode = (int)((h->type >> 1) & 3);
  h->end_of_group = h->type & 0x08;
  h->has_priority = !(h->type & 0x20);
  h->first_object = h->type & 0x40;
  rc = moqc__ietf_read_vi(&r, version, &h->track_alias);
  if (rc == 0) rc = moqc__ietf_read_vi(&r, version, &h->group);
  if (rc == 0 && h->sgid_mode == MOQC_IETF_SGID_FIELD)
    rc = moqc__ietf_read_vi(&r, version, &h->subgroup);
  if (rc == 0 && h->has_priority) rc = moqc_read_u8(&r, &h->priority);
  if (rc < 0) return rc;
  return (ssize_t)r.pos;
}

/* ---- subgroup objects -------------------------------------------------------- */

ssize_t moqc__ietf_object_encode(uint8_t *p, size_t cap, int version, bool extensions,
                                 const moqc__ietf_object *o) {
  if (!p || !o || !moqc__ietf_version_valid(version)) return MOQC_ERR_INVAL;
  if ((!extensions && o->ext.len) || o->size > MOQC_IETF_OBJECT_MAX) return MOQC_ERR_INVAL;
  if (o->size == 0 && !status_valid(o->status)) return MOQC_ERR_INVAL;
  moqc_writer w = moqc_writer_make(p, cap);
  moqc__ietf_write_vi(&w, version, o->id_delta);
  if (extensions) wr_ext(&w, version, o->ext);
  moqc__ietf_write_vi(&w, version, o->size);
  if (o->size == 0) moqc__ietf_write_vi(&w, version, o->status);
  return finish(&w);
}

ssize_t moqc__ietf_object_decode(moqc__ietf_object *o, int version, bool extensions,
                                 const uint8_t *p, size_t len) {
  if (!o || (!p && len) || !moqc__ietf_version_valid(version)) return MOQC_ERR_INVAL;
  moqc_reader r = moqc_reader_make(p, len);
  memset(o, 0, sizeof *o);
  int rc = moqc__ietf_read_vi(&r, version, &o->id_delta);
  if (rc == 0 && extensions) rc = rd_ext(&r, version, &o->ext);
  if (rc == 0) rc = rd_size(&r, version, &o->size);
  if (rc == 0 && o->size == 0) rc = rd_status(&r, version, &o->status);
  if (rc < 0) return rc;
  return (ssize_t)r.pos;
}

/* ---- FETCH_HEADER and fetch objects ------------------------------------------ */

ssize_t moqc__ietf_fetch_header_encode(uint8_t *p, size_t cap, int version, uint64_t request_id) {
  if (!p || !moqc__ietf_version_valid(version)) return MOQC_ERR_INVAL;
  moqc_writer w = moqc_writer_make(p, cap);
  moqc__ietf_write_vi(&w, version, MOQC_IETF_FETCH_HEADER);
  moqc__ietf_write_vi(&w, version, request_id);
  return finish(&w);
}

ssize_t moqc__ietf_fetch_header_decode(uint64_t *request_id, int version, const uint8_t *p,
                                       size_t len) {
  if (!request_id || (!p && len) || !moqc__ietf_version_valid(version)) return MOQC_ERR_INVAL;
  moqc_reader r = moqc_reader_make(p, len);
  uint64_t t = 0;
  int rc = moqc__ietf_read_vi(&r, version, &t);
  if (rc < 0) return rc;
  if (t != MOQC_IETF_FETCH_HEADER) return MOQC_ERR_DECODE;
  rc = moqc__ietf_read_vi(&r, version, request_id);
  if (rc < 0) return rc;
  return (ssize_t)r.pos;
}

#define FF_SG_MASK 0x03u
#define FF_OBJECT 0x04u
#define FF_GROUP 0x08u
#define FF_PRIORITY 0x10u
#define FF_EXT 0x20u
#define FF_DATAGRAM 0x40u
#define FF_END_NONEXISTENT 0x8Cu
#define FF_END_UNKNOWN 0x10Cu

static bool descending(const moqc__ietf_fetch_state *st) {
  assert(st->group_order <= 2); /* 0 (unset) and 1 mean ascending */
  return st->group_order == 2;
}

/* 18+: group id from a Group ID Delta. */
static int group_from_delta(const moqc__ietf_fetch_state *st, uint64_t d, uint64_t *g) {
  if (!st->have_location) {
    *g = d;
    return MOQC_OK;
  }
  if (d == UINT64_MAX) return MOQC_ERR_DECODE;
  if (descending(st)) {
    if (st->group < d + 1) return MOQC_ERR_DECODE;
    *g = st->group - (d + 1);
  } else {
    if (d + 1 > UINT64_MAX - st->group) return MOQC_ERR_DECODE;
    *g = st->group + d + 1;
  }
  return MOQC_OK;
}

/* Group field per flags (15+); st is the prior state. */
static int rd_fetch_group(moqc_reader *r, int v, uint64_t flags, const moqc__ietf_fetch_state *st,
                          moqc__ietf_fetch_object *o) {
  if (!(flags & FF_GROUP)) {
    if (!st->have_location) return MOQC_ERR_DECODE;
    o->group = st->group;
    return MOQC_OK;
  }
  uint64_t x = 0;
  int rc = moqc__ietf_read_vi(r, v, &x);
  if (rc < 0) return rc;
  if (v >= MOQC_IETF_18) return group_from_delta(st, x, &o->group);
  o->group = x;
  return MOQC_OK;
}

/* Object field per flags (15+); on 18+ a delta unless the group changed. */
static int rd_fetch_object_id(moqc_reader *r, int v, uint64_t flags,
                              const moqc__ietf_fetch_state *st, moqc__ietf_fetch_object *o) {
  if (!(flags & FF_OBJECT)) {
    if (!st->have_location || st->object == UINT64_MAX) return MOQC_ERR_DECODE;
    o->object = st->object + 1;
    return MOQC_OK;
  }
  uint64_t x = 0;
  int rc = moqc__ietf_read_vi(r, v, &x);
  if (rc < 0) return rc;
  if (v >= MOQC_IETF_18 && st->have_location && !(flags & FF_GROUP)) {
    if (x > UINT64_MAX - st->object) return MOQC_ERR_DECODE;
    x += st->object;
  }
  o->object = x;
  return MOQC_OK;
}

/* Fields in wire order: flags, [group], [subgroup], [object], [priority], [ext], size, [status]. */
static int rd_fetch_flagged(moqc_reader *r, int v, moqc__ietf_fetch_state *st,
                            moqc__ietf_fetch_object *o) {
  uint64_t flags = 0;
  int rc;
  if (v == MOQC_IETF_15) {
    uint8_t b = 0;
    rc = moqc_read_u8(r, &b);
    flags = b;
    if (rc == 0 && (flags & 0xC0)) return MOQC_ERR_DECODE;
  } else {
    rc = moqc__ietf_read_vi(r, v, &flags);
  }
  if (rc < 0) return rc;
  o->flags = flags;
  if (v >= MOQC_IETF_16 && (flags == FF_END_NONEXISTENT || flags == FF_END_UNKNOWN)) {
    o->kind =
        flags == FF_END_NONEXISTENT ? MOQC_IETF_FETCH_END_NONEXISTENT : MOQC_IETF_FETCH_END_UNKNOWN;
    rc = rd_fetch_group(r, v, FF_GROUP, st, o);
    if (rc == 0) rc = rd_fetch_object_id(r, v, FF_GROUP | FF_OBJECT, st, o);
    if (rc < 0) return rc;
    st->have_location = true;
    st->group = o->group;
    st->object = o->object;
    return MOQC_OK;
  }
  if (flags >= 0x80) return MOQC_ERR_DECODE;
  rc = rd_fetch_group(r, v, flags, st, o);
  if (rc < 0) return rc;
  o->datagram = v >= MOQC_IETF_16 && (flags & FF_DATAGRAM);
  if (!o->datagram) {
    switch (flags & FF_SG_MASK) {
      case 0: o->subgroup = 0; break;
      case 1:
        if (!st->have_prior) return MOQC_ERR_DECODE;
        o->subgroup = st->subgroup;
        break;
      case 2:
        if (!st->have_prior || st->subgroup == UINT64_MAX) return MOQC_ERR_DECODE;
        o->subgroup = st->subgroup + 1;
        break;
      default:
        rc = moqc__ietf_read_vi(r, v, &o->subgroup);
        if (rc < 0) return rc;
    }
  }
  rc = rd_fetch_object_id(r, v, flags, st, o);
  if (rc < 0) return rc;
  if (flags & FF_PRIORITY) {
    rc = moqc_read_u8(r, &o->priority);
    if (rc < 0) return rc;
  } else {
    if (!st->have_prior) return MOQC_ERR_DECODE;
    o->priority = st->priority;
  }
  if (flags & FF_EXT) {
    rc = rd_ext(r, v, &o->ext);
    if (rc < 0) return rc;
  }
  rc = rd_size(r, v, &o->size);
  if (rc == 0 && o->size == 0 && v == MOQC_IETF_15) rc = rd_status(r, v, &o->status);
  if (rc < 0) return rc;
  st->have_prior = st->have_location = true;
  st->group = o->group;
  st->object = o->object;
  if (!o->datagram) st->subgroup = o->subgroup;
  st->priority = o->priority;
  return MOQC_OK;
}

ssize_t moqc__ietf_fetch_object_decode(moqc__ietf_fetch_object *o, int version,
                                       moqc__ietf_fetch_state *st, const uint8_t *p, size_t len) {
  if (!o || !st || (!p && len) || !moqc__ietf_version_valid(version)) return MOQC_ERR_INVAL;
  moqc_reader r = moqc_reader_make(p, len);
  moqc__ietf_fetch_state next = *st; /* committed only on success */
  memset(o, 0, sizeof *o);
  int rc;
  if (version == MOQC_IETF_14) {
    rc = moqc__ietf_read_vi(&r, version, &o->group);
    if (rc == 0) rc = moqc__ietf_read_vi(&r, version, &o->subgroup);
    if (rc == 0) rc = moqc__ietf_read_vi(&r, version, &o->object);
    if (rc == 0) rc = moqc_read_u8(&r, &o->priority);
    if (rc == 0) rc = rd_ext(&r, version, &o->ext);
    if (rc == 0) rc = rd_size(&r, version, &o->size);
    if (rc == 0 && o->size == 0) rc = rd_status(&r, version, &o->status);
  } else {
    rc = rd_fetch_flagged(&r, version, &next, o);
  }
  if (rc < 0) return rc;
  assert(r.pos <= len);
  *st = next;
  return (ssize_t)r.pos;
}

/* 18+: the Group ID Delta that reaches g from the prior group, or INVAL. */
static int group_to_delta(const moqc__ietf_fetch_state *st, uint64_t g, uint64_t *d) {
  if (!st->have_location) {
    *d = g;
    return MOQC_OK;
  }
  if (descending(st) ? g >= st->group : g <= st->group) return MOQC_ERR_INVAL;
  *d = descending(st) ? st->group - g - 1 : g - st->group - 1;
  return MOQC_OK;
}

static void wr_fetch_group(moqc_writer *w, int v, uint64_t flags, const moqc__ietf_fetch_state *st,
                           const moqc__ietf_fetch_object *o) {
  if (!(flags & FF_GROUP)) return;
  uint64_t d = o->group;
  if (v >= MOQC_IETF_18 && group_to_delta(st, o->group, &d) < 0) {
    moqc__ietf_wfail(w, MOQC_ERR_INVAL);
    return;
  }
  moqc__ietf_write_vi(w, v, d);
}

static void wr_fetch_object_id(moqc_writer *w, int v, uint64_t flags,
                               const moqc__ietf_fetch_state *st, const moqc__ietf_fetch_object *o) {
  if (!(flags & FF_OBJECT)) return;
  uint64_t d = o->object;
  if (v >= MOQC_IETF_18 && st->have_location && !(flags & FF_GROUP)) {
    if (o->object < st->object) {
      moqc__ietf_wfail(w, MOQC_ERR_INVAL);
      return;
    }
    d = o->object - st->object;
  }
  moqc__ietf_write_vi(w, v, d);
}

ssize_t moqc__ietf_fetch_object_encode(uint8_t *p, size_t cap, int version,
                                       moqc__ietf_fetch_state *st,
                                       const moqc__ietf_fetch_object *o) {
  if (!p || !o || !st || !moqc__ietf_version_valid(version)) return MOQC_ERR_INVAL;
  int v = version;
  moqc_writer w = moqc_writer_make(p, cap);
  if (o->size > MOQC_IETF_OBJECT_MAX) return MOQC_ERR_INVAL;
  if (v == MOQC_IETF_14) {
    if (o->kind != MOQC_IETF_FETCH_OBJECT || o->datagram) return MOQC_ERR_INVAL;
    if (o->size == 0 && !status_valid(o->status)) return MOQC_ERR_INVAL;
    moqc__ietf_write_vi(&w, v, o->group);
    moqc__ietf_write_vi(&w, v, o->subgroup);
    moqc__ietf_write_vi(&w, v, o->object);
    moqc_write_u8(&w, o->priority);
    wr_ext(&w, v, o->ext);
    moqc__ietf_write_vi(&w, v, o->size);
    if (o->size == 0) moqc__ietf_write_vi(&w, v, o->status);
    return finish(&w);
  }
  moqc__ietf_fetch_state next = *st;
  if (o->kind != MOQC_IETF_FETCH_OBJECT) {
    if (v < MOQC_IETF_16 || o->kind > MOQC_IETF_FETCH_END_UNKNOWN) return MOQC_ERR_INVAL;
    moqc__ietf_write_vi(
        &w, v, o->kind == MOQC_IETF_FETCH_END_NONEXISTENT ? FF_END_NONEXISTENT : FF_END_UNKNOWN);
    wr_fetch_group(&w, v, FF_GROUP, st, o);
    wr_fetch_object_id(&w, v, FF_GROUP | FF_OBJECT, st, o);
    if (w.err) return w.err;
    next.have_location = true;
    next.group = o->group;
    next.object = o->object;
    *st = next;
    return (ssize_t)w.pos;
  }
  if ((o->datagram && v < MOQC_IETF_16) || (v != MOQC_IETF_15 && o->size == 0 && o->status != 0))
    return MOQC_ERR_INVAL;
  if (v == MOQC_IETF_15 && o->size == 0 && !status_valid(o->status)) return MOQC_ERR_INVAL;
  uint64_t flags = 0;
  if (o->datagram) {
    flags |= FF_DATAGRAM;
  } else if (st->explicit_subgroup) {
    flags |= 3;
  } else if (o->subgroup == 0) {
    flags |= 0;
  } else if (st->have_prior && o->subgroup == st->subgroup) {
    flags |= 1;
  } else if (st->have_prior && st->subgroup != UINT64_MAX && o->subgroup == st->subgroup + 1) {
    flags |= 2;
  } else {
    flags |= 3;
  }
  if (!(st->have_location && o->object == st->object + 1 && st->object != UINT64_MAX))
    flags |= FF_OBJECT;
  if (!(st->have_location && o->group == st->group)) flags |= FF_GROUP;
  if (!(st->have_prior && o->priority == st->priority)) flags |= FF_PRIORITY;
  if (o->ext.len) flags |= FF_EXT;
  if (v == MOQC_IETF_15) moqc_write_u8(&w, (uint8_t)flags);
  else moqc__ietf_write_vi(&w, v, flags);
  wr_fetch_group(&w, v, flags, st, o);
  if ((flags & FF_SG_MASK) == 3 && !o->datagram) moqc__ietf_write_vi(&w, v, o->subgroup);
  wr_fetch_object_id(&w, v, flags, st, o);
  if (flags & FF_PRIORITY) moqc_write_u8(&w, o->priority);
  if (flags & FF_EXT) wr_ext(&w, v, o->ext);
  moqc__ietf_write_vi(&w, v, o->size);
  if (v == MOQC_IETF_15 && o->size == 0) moqc__ietf_write_vi(&w, v, o->status);
  if (w.err) return w.err;
  next.have_prior = next.have_location = true;
  next.group = o->group;
  next.object = o->object;
  if (!o->datagram) next.subgroup = o->subgroup;
  next.priority = o->priority;
  *st = next;
  return (ssize_t)w.pos;
}

/* ---- OBJECT_DATAGRAM ------------------------------------------------------- */

#define DG_EXT 0x01u
#define DG_EOG 0x02u
#define DG_ZERO_OBJECT 0x04u
#define DG_DEFAULT_PRIORITY 0x08u
#define DG_STATUS 0x20u

/* 17+: "only Normal Objects can have Properties": a status datagram with
 * the extensions bit carries status Normal (0) or is malformed. */
static bool datagram_status_ext_ok(int v, const moqc__ietf_datagram *d) {
  return v < MOQC_IETF_17 || !d->is_status || !d->ext.len || d->status == MOQC_IETF_STATUS_NORMAL;
}

static bool datagram_type_valid(int v, uint64_t t) {
  if (t > 0x2F || (t & 0xD0)) return false;          /* form 0b00X0XXXX */
  if ((t & DG_STATUS) && (t & DG_EOG)) return false; /* a status cannot end the group */
  if (v == MOQC_IETF_14) return t <= 0x07 || t == 0x20 || t == 0x21;
  if (v == MOQC_IETF_15) return t <= 0x0F || (t >= 0x20 && t <= 0x29);
  return true;
}

ssize_t moqc__ietf_datagram_encode(uint8_t *p, size_t cap, int version,
                                   const moqc__ietf_datagram *d) {
  if (!p || !d || !moqc__ietf_version_valid(version)) return MOQC_ERR_INVAL;
  if (d->is_status && (d->end_of_group || d->payload.len || !status_valid(d->status)))
    return MOQC_ERR_INVAL;
  if (!d->is_status && d->payload.len && !d->payload.ptr) return MOQC_ERR_INVAL;
  if (!datagram_status_ext_ok(version, d)) return MOQC_ERR_INVAL;
  uint64_t t = (d->ext.len ? DG_EXT : 0) | (d->end_of_group ? DG_EOG : 0) |
               (d->has_priority ? 0 : DG_DEFAULT_PRIORITY) | (d->is_status ? DG_STATUS : 0);
  if (d->object == 0 && datagram_type_valid(version, t | DG_ZERO_OBJECT)) t |= DG_ZERO_OBJECT;
  if (!datagram_type_valid(version, t)) return MOQC_ERR_INVAL;
  moqc_writer w = moqc_writer_make(p, cap);
  moqc__ietf_write_vi(&w, version, t);
  moqc__ietf_write_vi(&w, version, d->track_alias);
  moqc__ietf_write_vi(&w, version, d->group);
  if (!(t & DG_ZERO_OBJECT)) moqc__ietf_write_vi(&w, version, d->object);
  if (d->has_priority) moqc_write_u8(&w, d->priority);
  if (t & DG_EXT) wr_ext(&w, version, d->ext);
  if (d->is_status) moqc__ietf_write_vi(&w, version, d->status);
  else if (d->payload.len) moqc_write_raw(&w, d->payload.ptr, d->payload.len);
  return finish(&w);
}

ssize_t moqc__ietf_datagram_decode(moqc__ietf_datagram *d, int version, const uint8_t *p,
                                   size_t len) {
  if (!d || (!p && len) || !moqc__ietf_version_valid(version)) return MOQC_ERR_INVAL;
  moqc_reader r = moqc_reader_make(p, len);
  memset(d, 0, sizeof *d);
  int rc = moqc__ietf_read_vi(&r, version, &d->type);
  if (rc < 0) return MOQC_ERR_DECODE; /* a datagram is whole: short is malformed */
  if (!datagram_type_valid(version, d->type)) return MOQC_ERR_DECODE;
  d->end_of_group = d->type & DG_EOG;
  d->has_priority = !(d->type & DG_DEFAULT_PRIORITY);
  d->is_status = d->type & DG_STATUS;
  rc = moqc__ietf_read_vi(&r, version, &d->track_alias);
  if (rc == 0) rc = moqc__ietf_read_vi(&r, version, &d->group);
  if (rc == 0 && !(d->type & DG_ZERO_OBJECT)) rc = moqc__ietf_read_vi(&r, version, &d->object);
  if (rc == 0 && d->has_priority) rc = moqc_read_u8(&r, &d->priority);
  if (rc == 0 && (d->type & DG_EXT)) {
    rc = rd_ext(&r, version, &d->ext);
    if (rc == 0 && d->ext.len == 0) rc = MOQC_ERR_DECODE; /* extensions bit with an empty block */
  }
  if (rc == 0 && d->is_status) rc = rd_status(&r, version, &d->status);
  if (rc < 0) return moqc__ietf_body_err(rc);
  if (d->is_status) {
    if (moqc_reader_left(&r) || !datagram_status_ext_ok(version, d)) return MOQC_ERR_DECODE;
  } else {
    d->payload.ptr = p + r.pos;
    d->payload.len = moqc_reader_left(&r);
  }
  return (ssize_t)len;
}
