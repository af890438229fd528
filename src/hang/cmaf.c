/* hang cmaf container: each frame one moof+mdat; the init segment (ftyp+moov)
 * travels in the catalog. A minimal ISO-BMFF box walker: just what a frame
 * and an init segment need (mfhd, tfhd, tfdt, trun; tkhd, mdhd). Pure. */
#include <assert.h>
#include <string.h>

#include "core/mem.h"
#include "moqc/error.h"
#include "moqc/hang.h"

#define FOURCC(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* tfhd flags */
#define TFHD_BASE_DATA_OFFSET 0x000001u
#define TFHD_SAMPLE_DESC 0x000002u
#define TFHD_DEFAULT_DURATION 0x000008u
#define TFHD_DEFAULT_SIZE 0x000010u
#define TFHD_DEFAULT_FLAGS 0x000020u
#define TFHD_BASE_IS_MOOF 0x020000u
/* trun flags */
#define TRUN_DATA_OFFSET 0x000001u
#define TRUN_FIRST_FLAGS 0x000004u
#define TRUN_DURATION 0x000100u
#define TRUN_SIZE 0x000200u
#define TRUN_FLAGS 0x000400u
#define TRUN_CTO 0x000800u
/* sample flags */
#define SAMPLE_NON_SYNC 0x00010000u
#define SAMPLE_FLAGS_KEY 0x02000000u    /* depends on nothing */
#define SAMPLE_FLAGS_NONKEY 0x01010000u /* depends on others, not sync */

static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) << 32 | rd32(p + 4); }
static void wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}
static void wr64(uint8_t *p, uint64_t v) {
  wr32(p, (uint32_t)(v >> 32));
  wr32(p + 4, (uint32_t)v);
}

typedef struct box {
  uint32_t type;
  size_t start; /* of the header, relative to the buffer */
  size_t body;  /* of the body */
  size_t end;   /* one past the box */
} box;

/* The box at p[off..end). 0, or -1 if it does not fit. */
static int box_at(const uint8_t *p, size_t off, size_t end, box *b) {
  if (end < off || end - off < 8) return -1;
  uint64_t size = rd32(p + off);
  size_t hdr = 8;
  if (size == 1) {
    if (end - off < 16) return -1;
    size = rd64(p + off + 8);
    hdr = 16;
  } else if (size == 0) {
    size = end - off;
  }
  if (size < hdr || size > end - off) return -1;
  b->type = rd32(p + off + 4);
  b->start = off;
  b->body = off + hdr;
  b->end = off + (size_t)size;
  assert(b->body <= b->end && b->end <= end);
  return 0;
}

/* The first child of type t inside parent[body..end) (skipping `skip` bytes
 * first: a full box's version/flags, a sample entry's fields). */
static int child(const uint8_t *p, const box *parent, size_t skip, uint32_t t, box *out) {
  size_t off = parent->body + skip;
  while (off < parent->end) {
    if (box_at(p, off, parent->end, out) != 0) return -1;
    if (out->type == t) return 0;
    off = out->end;
  }
  return -1;
}

static size_t body_len(const box *b) { return b->end - b->body; }

typedef struct tfhd_info {
  uint32_t flags, track_id, def_duration, def_size, def_flags;
  uint64_t base;
  bool has_base;
} tfhd_info;

static int parse_tfhd(const uint8_t *p, const box *b, tfhd_info *t) {
  size_t n = body_len(b), o = 8;
  if (n < 8) return -1;
  const uint8_t *q = p + b->body;
  t->flags = rd32(q) & 0xffffff;
  t->track_id = rd32(q + 4);
  if (t->flags & TFHD_BASE_DATA_OFFSET) {
    if (n < o + 8) return -1;
    t->base = rd64(q + o);
    t->has_base = true;
    o += 8;
  }
  if (t->flags & TFHD_SAMPLE_DESC) o += 4;
  if (t->flags & TFHD_DEFAULT_DURATION) {
    if (n < o + 4) return -1;
    t->def_duration = rd32(q + o);
    o += 4;
  }
  if (t->flags & TFHD_DEFAULT_SIZE) {
    if (n < o + 4) return -1;
    t->def_size = rd32(q + o);
    o += 4;
  }
  if (t->flags & TFHD_DEFAULT_FLAGS) {
    if (n < o + 4) return -1;
    t->def_flags = rd32(q + o);
    o += 4;
  }
  return n >= o ? 0 : -1;
}

/* Walk the trun: sample count, first duration/flags, total size, data offset. */
static int parse_trun(const uint8_t *p, const box *b, const tfhd_info *t, moqc_hang_cmaf_frame *f,
                      int64_t *data_offset, bool *has_offset, uint64_t *total) {
  size_t n = body_len(b), o = 8;
  if (n < 8) return -1;
  const uint8_t *q = p + b->body;
  uint32_t flags = rd32(q) & 0xffffff, count = rd32(q + 4);
  *has_offset = false;
  if (flags & TRUN_DATA_OFFSET) {
    if (n < o + 4) return -1;
    *data_offset = (int32_t)rd32(q + o);
    *has_offset = true;
    o += 4;
  }
  uint32_t first_flags = t->def_flags;
  bool has_first = false;
  if (flags & TRUN_FIRST_FLAGS) {
    if (n < o + 4) return -1;
    first_flags = rd32(q + o);
    has_first = true;
    o += 4;
  }
  size_t per = 4u * (((flags & TRUN_DURATION) != 0) + ((flags & TRUN_SIZE) != 0) +
                     ((flags & TRUN_FLAGS) != 0) + ((flags & TRUN_CTO) != 0));
  if (count == 0 || (per && (n - o) / per < count)) return -1;
  *total = 0;
  f->duration = t->def_duration;
  if (per == 0) { /* every sample takes the defaults: no per-sample walk (count may be 2^32-1) */
    *total = (uint64_t)count * t->def_size;
    f->samples = count;
    f->keyframe = ((has_first ? first_flags : t->def_flags) & SAMPLE_NON_SYNC) == 0;
    return 0;
  }
  for (uint32_t i = 0; i < count; i++) {
    uint32_t dur = t->def_duration, size = t->def_size, sflags = t->def_flags;
    if (flags & TRUN_DURATION) dur = rd32(q + o), o += 4;
    if (flags & TRUN_SIZE) size = rd32(q + o), o += 4;
    if (flags & TRUN_FLAGS) sflags = rd32(q + o), o += 4;
    if (flags & TRUN_CTO) o += 4;
    if (i == 0) {
      f->duration = dur;
      if (!has_first) first_flags = sflags;
    }
    *total += size;
  }
  f->samples = count;
  f->keyframe = (first_flags & SAMPLE_NON_SYNC) == 0;
  return 0;
}

int moqc_hang_cmaf_decode(const uint8_t *p, size_t len, moqc_hang_cmaf_frame *out) {
  if (!p || !out) return MOQC_ERR_INVAL;
  memset(out, 0, sizeof *out);
  box moof = {0}, mdat = {0}, b;
  bool have_moof = false, have_mdat = false;
  for (size_t off = 0; off < len; off = b.end) {
    if (box_at(p, off, len, &b) != 0) return MOQC_ERR_DECODE;
    if (b.type == FOURCC('m', 'o', 'o', 'f')) {
      if (have_moof) return MOQC_ERR_DECODE;
      moof = b;
      have_moof = true;
    } else if (b.type == FOURCC('m', 'd', 'a', 't')) {
      if (!have_moof || have_mdat) return MOQC_ERR_DECODE;
      mdat = b;
      have_mdat = true;
    }
    /* styp, prft, emsg, ...: skipped */
  }
  if (!have_moof || !have_mdat) return MOQC_ERR_DECODE;
  box mfhd, traf, tfhd, tfdt, trun;
  if (child(p, &moof, 0, FOURCC('m', 'f', 'h', 'd'), &mfhd) != 0 || body_len(&mfhd) < 8)
    return MOQC_ERR_DECODE;
  out->sequence = rd32(p + mfhd.body + 4);
  if (child(p, &moof, 0, FOURCC('t', 'r', 'a', 'f'), &traf) != 0 ||
      child(p, &traf, 0, FOURCC('t', 'f', 'h', 'd'), &tfhd) != 0 ||
      child(p, &traf, 0, FOURCC('t', 'r', 'u', 'n'), &trun) != 0)
    return MOQC_ERR_DECODE;
  tfhd_info t = {0};
  if (parse_tfhd(p, &tfhd, &t) != 0) return MOQC_ERR_DECODE;
  out->track_id = t.track_id;
  if (child(p, &traf, 0, FOURCC('t', 'f', 'd', 't'), &tfdt) == 0) {
    size_t n = body_len(&tfdt);
    if (n < 8) return MOQC_ERR_DECODE;
    uint8_t version = p[tfdt.body];
    if (version == 1) {
      if (n < 12) return MOQC_ERR_DECODE;
      out->base_decode_time = rd64(p + tfdt.body + 4);
    } else {
      out->base_decode_time = rd32(p + tfdt.body + 4);
    }
  }
  int64_t doff = 0;
  bool has_off = false;
  uint64_t total = 0;
  if (parse_trun(p, &trun, &t, out, &doff, &has_off, &total) != 0) return MOQC_ERR_DECODE;
  /* Where the samples start: base (explicit, else the moof) + trun offset;
   * without a trun offset, the mdat's body. */
  int64_t start;
  if (t.has_base && t.base > len) return MOQC_ERR_DECODE;
  if (has_off) start = (t.has_base ? (int64_t)t.base : (int64_t)moof.start) + doff;
  else start = (int64_t)mdat.body;
  if (start < (int64_t)mdat.body || (uint64_t)start > mdat.end ||
      total > mdat.end - (uint64_t)start)
    return MOQC_ERR_DECODE;
  out->data_off = (size_t)start;
  out->data_len = (size_t)total;
  return MOQC_OK;
}

int moqc_hang_cmaf_encode(uint32_t track_id, uint32_t sequence, uint64_t decode_time,
                          uint32_t duration, bool keyframe, const void *payload, size_t payload_len,
                          uint8_t **out, size_t *out_len) {
  if (!out || (!payload && payload_len) || payload_len > UINT32_MAX - 8) return MOQC_ERR_INVAL;
  const size_t mfhd = 16, tfhd = 16, tfdt = 20, trun = 32;
  const size_t traf = 8 + tfhd + tfdt + trun, moof = 8 + mfhd + traf;
  size_t total = moof + 8 + payload_len;
  uint8_t *b = moqc_malloc(total), *q = b;
  if (!b) return MOQC_ERR_NOMEM;
  wr32(q, (uint32_t)moof), memcpy(q + 4, "moof", 4), q += 8;
  wr32(q, (uint32_t)mfhd), memcpy(q + 4, "mfhd", 4), wr32(q + 8, 0), wr32(q + 12, sequence);
  q += mfhd;
  wr32(q, (uint32_t)traf), memcpy(q + 4, "traf", 4), q += 8;
  wr32(q, (uint32_t)tfhd), memcpy(q + 4, "tfhd", 4), wr32(q + 8, TFHD_BASE_IS_MOOF);
  wr32(q + 12, track_id);
  q += tfhd;
  wr32(q, (uint32_t)tfdt), memcpy(q + 4, "tfdt", 4), wr32(q + 8, 0x01000000u);
  wr64(q + 12, decode_time);
  q += tfdt;
  wr32(q, (uint32_t)trun), memcpy(q + 4, "trun", 4);
  wr32(q + 8, TRUN_DATA_OFFSET | TRUN_DURATION | TRUN_SIZE | TRUN_FLAGS);
  wr32(q + 12, 1);
  wr32(q + 16, (uint32_t)(moof + 8));
  wr32(q + 20, duration);
  wr32(q + 24, (uint32_t)payload_len);
  wr32(q + 28, keyframe ? SAMPLE_FLAGS_KEY : SAMPLE_FLAGS_NONKEY);
  q += trun;
  assert((size_t)(q - b) == moof);
  wr32(q, (uint32_t)(8 + payload_len)), memcpy(q + 4, "mdat", 4), q += 8;
  if (payload_len) memcpy(q, payload, payload_len);
  *out = b;
  if (out_len) *out_len = total;
  return MOQC_OK;
}

/* tkhd track_id: after version/flags, v1 has 8-byte times. */
static int tkhd_track_id(const uint8_t *p, const box *tkhd, uint32_t *id) {
  size_t n = body_len(tkhd);
  if (n < 4) return -1;
  size_t o = p[tkhd->body] == 1 ? 4 + 16 : 4 + 8;
  if (n < o + 4) return -1;
  *id = rd32(p + tkhd->body + o);
  return 0;
}

int moqc_hang_cmaf_init_timescale(const uint8_t *init, size_t len, uint32_t track_id,
                                  uint32_t *timescale) {
  if (!init || !timescale) return MOQC_ERR_INVAL;
  box top = {0, 0, 0, len}, moov, b;
  if (child(init, &top, 0, FOURCC('m', 'o', 'o', 'v'), &moov) != 0) return MOQC_ERR_DECODE;
  for (size_t off = moov.body; off < moov.end; off = b.end) {
    if (box_at(init, off, moov.end, &b) != 0) return MOQC_ERR_DECODE;
    if (b.type != FOURCC('t', 'r', 'a', 'k')) continue;
    box tkhd, mdia, mdhd;
    uint32_t id = 0;
    if (child(init, &b, 0, FOURCC('t', 'k', 'h', 'd'), &tkhd) != 0 ||
        tkhd_track_id(init, &tkhd, &id) != 0)
      return MOQC_ERR_DECODE;
    if (track_id != 0 && id != track_id) continue;
    if (child(init, &b, 0, FOURCC('m', 'd', 'i', 'a'), &mdia) != 0 ||
        child(init, &mdia, 0, FOURCC('m', 'd', 'h', 'd'), &mdhd) != 0)
      return MOQC_ERR_DECODE;
    if (body_len(&mdhd) < 4) return MOQC_ERR_DECODE;
    size_t o = init[mdhd.body] == 1 ? 4 + 16 : 4 + 8;
    if (body_len(&mdhd) < o + 4) return MOQC_ERR_DECODE;
    *timescale = rd32(init + mdhd.body + o);
    return *timescale ? MOQC_OK : MOQC_ERR_DECODE;
  }
  return MOQC_ERR_NOT_FOUND;
}
