/* moqc core — IETF moq-transport wire: versions, varints, shared fields
 * (bytes, locations, namespace tuples, key-value lists). */
#include <assert.h>
#include <string.h>

#include "core/ietf_wire_int.h"

/* ---- versions ------------------------------------------------------------ */

static const char *const ietf_alpn[] = {"moq-00",  "moqt-15", "moqt-16",
                                        "moqt-17", "moqt-18", "moqt-19"};

bool moqc__ietf_version_valid(int version) {
  return version >= MOQC_IETF_FIRST && version <= MOQC_IETF_LAST;
}

uint64_t moqc__ietf_version_code(int version) {
  return moqc__ietf_version_valid(version) ? 0xff000000u + (uint64_t)version : 0;
}

int moqc__ietf_version_from_code(uint64_t code) {
  if (code < 0xff000000u + MOQC_IETF_FIRST || code > 0xff000000u + MOQC_IETF_LAST)
    return MOQC_ERR_VERSION;
  return (int)(code - 0xff000000u);
}

const char *moqc__ietf_version_alpn(int version) {
  return moqc__ietf_version_valid(version) ? ietf_alpn[version - MOQC_IETF_FIRST] : NULL;
}

int moqc__ietf_version_from_alpn(const char *alpn, size_t len) {
  if (!alpn) return MOQC_ERR_VERSION;
  for (int v = MOQC_IETF_FIRST; v <= MOQC_IETF_LAST; v++) {
    const char *a = ietf_alpn[v - MOQC_IETF_FIRST];
    if (strlen(a) == len && memcmp(a, alpn, len) == 0) return v;
  }
  return MOQC_ERR_VERSION;
}

/* ---- varints --------------------------------------------------------------- */

/* Leading-ones form: bytes for x (the 7-byte form is never emitted). */
static size_t lo_len(uint64_t x) {
  if (x < (1ull << 7)) return 1;
  if (x < (1ull << 14)) return 2;
  if (x < (1ull << 21)) return 3;
  if (x < (1ull << 28)) return 4;
  if (x < (1ull << 35)) return 5;
  if (x < (1ull << 42)) return 6;
  if (x < (1ull << 56)) return 8;
  return 9;
}

size_t moqc__ietf_varint_len(int version, uint64_t x) {
  return moqc__ietf_has_leading_ones(version) ? lo_len(x) : moqc_varint_len(x);
}

ssize_t moqc__ietf_varint_encode(int version, uint8_t *p, size_t cap, uint64_t x) {
  if (!moqc__ietf_version_valid(version)) return MOQC_ERR_INVAL;
  if (!moqc__ietf_has_leading_ones(version)) return moqc_varint_encode(p, cap, x);
  size_t n = lo_len(x);
  if (cap < n) return MOQC_ERR_BUFSIZE;
  /* Prefix byte: n-1 leading ones then a zero (none for 8 and 9 bytes). */
  static const uint8_t prefix[10] = {0, 0x00, 0x80, 0xC0, 0xE0, 0xF0, 0xF8, 0xFC, 0xFE, 0xFF};
  size_t extra = n - 1;
  uint8_t hi = 0;
  if (n <= 6) hi = (uint8_t)(x >> (8 * extra)); /* the value's top bits share the prefix byte */
  p[0] = (uint8_t)(prefix[n] | hi);
  for (size_t i = 0; i < extra; i++) p[1 + i] = (uint8_t)(x >> (8 * (extra - 1 - i)));
  return (ssize_t)n;
}

ssize_t moqc__ietf_varint_decode(int version, uint64_t *x, const uint8_t *p, size_t len) {
  if (!moqc__ietf_version_valid(version)) return MOQC_ERR_INVAL;
  if (len > 0 && p[0] < 64) { /* one byte, the value, in both forms */
    if (x) *x = p[0];
    return 1;
  }
  if (!moqc__ietf_has_leading_ones(version)) return moqc_varint_decode(x, p, len);
  if (len < 1) return MOQC_ERR_NEED_MORE;
  uint8_t b = p[0];
  unsigned ones = 0;
  while (ones < 8 && (b & (0x80u >> ones))) ones++;
  if (ones == 6 && version == MOQC_IETF_17)
    return MOQC_ERR_DECODE; /* 1111110x: draft-17 reserved */
  if (len < 1 + (size_t)ones) return MOQC_ERR_NEED_MORE;
  uint64_t v = ones <= 6 ? (uint64_t)(b & (0x7Fu >> ones)) : 0;
  for (unsigned i = 0; i < ones; i++) v = v << 8 | p[1 + i];
  if (x) *x = v;
  return (ssize_t)(1 + ones);
}

int moqc__ietf_read_vi(moqc_reader *r, int version, uint64_t *x) {
  assert(r->pos <= r->len);
  if (r->pos < r->len && r->p[r->pos] < 64 && moqc__ietf_version_valid(version)) {
    if (x) *x = r->p[r->pos]; /* one byte (most fields): no call */
    r->pos++;
    return MOQC_OK;
  }
  uint64_t v = 0;
  ssize_t k = moqc__ietf_varint_decode(version, &v, r->p + r->pos, moqc_reader_left(r));
  if (k < 0) return (int)k;
  r->pos += (size_t)k;
  if (x) *x = v;
  return MOQC_OK;
}

void moqc__ietf_write_vi(moqc_writer *w, int version, uint64_t x) {
  if (w->err) return;
  size_t n = moqc__ietf_varint_len(version, x);
  if (n == 0) {
    moqc__ietf_wfail(w, MOQC_ERR_OVERFLOW);
    return;
  }
  if (w->cap - w->pos < n) {
    moqc__ietf_wfail(w, MOQC_ERR_BUFSIZE);
    return;
  }
  ssize_t k = moqc__ietf_varint_encode(version, w->p + w->pos, n, x);
  assert(k == (ssize_t)n);
  w->pos += (size_t)k;
}

/* ---- bytes, locations, tuples ---------------------------------------------- */

int moqc__ietf_rd_bytes(moqc_reader *r, int v, size_t max, moqc_bytes *out) {
  moqc_reader t = *r;
  uint64_t n = 0;
  int rc = moqc__ietf_read_vi(&t, v, &n);
  if (rc < 0) return rc;
  if (n > max) return MOQC_ERR_DECODE;
  rc = moqc_read_raw(&t, (size_t)n, out);
  if (rc < 0) return rc;
  *r = t;
  return MOQC_OK;
}

void moqc__ietf_wr_bytes(moqc_writer *w, int v, moqc_bytes b, size_t max) {
  if (b.len > max || (b.len && !b.ptr)) {
    moqc__ietf_wfail(w, MOQC_ERR_INVAL);
    return;
  }
  moqc__ietf_write_vi(w, v, b.len);
  if (b.len) moqc_write_raw(w, b.ptr, b.len);
}

int moqc__ietf_rd_loc(moqc_reader *r, int v, moqc__ietf_loc *l) {
  moqc_reader t = *r;
  int rc = moqc__ietf_read_vi(&t, v, &l->group);
  if (rc == 0) rc = moqc__ietf_read_vi(&t, v, &l->object);
  if (rc < 0) return rc;
  *r = t;
  return MOQC_OK;
}

void moqc__ietf_wr_loc(moqc_writer *w, int v, moqc__ietf_loc l) {
  moqc__ietf_write_vi(w, v, l.group);
  moqc__ietf_write_vi(w, v, l.object);
}

int moqc__ietf_rd_tuple(moqc_reader *r, int v, moqc__ietf_tuple *t) {
  moqc_reader c = *r;
  uint64_t n = 0;
  int rc = moqc__ietf_read_vi(&c, v, &n);
  if (rc < 0) return rc;
  if (n > MOQC_IETF_TUPLE_MAX) return MOQC_ERR_DECODE;
  size_t total = 0;
  for (uint64_t i = 0; i < n; i++) {
    rc = moqc__ietf_rd_bytes(&c, v, MOQC_IETF_NAME_MAX, &t->f[i]);
    if (rc < 0) return rc;
    total += t->f[i].len;
    if (total > MOQC_IETF_NAME_MAX) return MOQC_ERR_DECODE;
  }
  t->n = (uint32_t)n;
  *r = c;
  return MOQC_OK;
}

void moqc__ietf_wr_tuple(moqc_writer *w, int v, const moqc__ietf_tuple *t) {
  size_t total = 0;
  for (uint32_t i = 0; i < t->n && i < MOQC_IETF_TUPLE_MAX; i++) total += t->f[i].len;
  if (t->n > MOQC_IETF_TUPLE_MAX || total > MOQC_IETF_NAME_MAX) {
    moqc__ietf_wfail(w, MOQC_ERR_INVAL);
    return;
  }
  moqc__ietf_write_vi(w, v, t->n);
  for (uint32_t i = 0; i < t->n; i++) moqc__ietf_wr_bytes(w, v, t->f[i], MOQC_IETF_NAME_MAX);
}

int moqc__ietf_tuple_from_path(moqc__ietf_tuple *t, const char *path, size_t len) {
  if (!t || (!path && len)) return MOQC_ERR_INVAL;
  t->n = 0;
  if (len == 0) return MOQC_OK;
  if (len > MOQC_IETF_NAME_MAX) return MOQC_ERR_INVAL;
  size_t start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i < len && path[i] != '/') continue;
    if (i == start || t->n == MOQC_IETF_TUPLE_MAX) return MOQC_ERR_INVAL;
    t->f[t->n].ptr = (const uint8_t *)path + start;
    t->f[t->n].len = i - start;
    t->n++;
    start = i + 1;
  }
  return MOQC_OK;
}

ssize_t moqc__ietf_tuple_to_path(const moqc__ietf_tuple *t, char *buf, size_t cap) {
  if (!t || (!buf && cap) || t->n > MOQC_IETF_TUPLE_MAX) return MOQC_ERR_INVAL;
  size_t pos = 0;
  for (uint32_t i = 0; i < t->n; i++) {
    const moqc_bytes f = t->f[i];
    if (f.len == 0 || memchr(f.ptr, '/', f.len)) return MOQC_ERR_INVAL;
    size_t need = f.len + (i ? 1 : 0);
    if (cap - pos < need) return MOQC_ERR_BUFSIZE;
    if (i) buf[pos++] = '/';
    memcpy(buf + pos, f.ptr, f.len);
    pos += f.len;
  }
  return (ssize_t)pos;
}

/* ---- parameter lists ------------------------------------------------------- */

const moqc__ietf_kvp *moqc__ietf_params_find(const moqc__ietf_params *ps, uint64_t key) {
  for (uint32_t i = 0; ps && i < ps->n; i++)
    if (ps->kv[i].key == key) return &ps->kv[i];
  return NULL;
}

static int params_put(moqc__ietf_params *ps, moqc__ietf_kvp kv) {
  if (!ps) return MOQC_ERR_INVAL;
  if (moqc__ietf_params_find(ps, kv.key)) return MOQC_ERR_DUPLICATE;
  if (ps->n >= MOQC_IETF_PARAMS_MAX) return MOQC_ERR_BOUNDS;
  uint32_t i = ps->n;
  while (i > 0 && ps->kv[i - 1].key > kv.key) {
    ps->kv[i] = ps->kv[i - 1];
    i--;
  }
  ps->kv[i] = kv;
  ps->n++;
  assert(i == 0 || ps->kv[i - 1].key < kv.key);
  return MOQC_OK;
}

int moqc__ietf_params_put_varint(moqc__ietf_params *ps, uint64_t key, uint64_t v) {
  if (key & 1) return MOQC_ERR_INVAL;
  moqc__ietf_kvp kv = {key, v, {NULL, 0}};
  return params_put(ps, kv);
}

int moqc__ietf_params_put_bytes(moqc__ietf_params *ps, uint64_t key, const void *p, size_t n) {
  if (!(key & 1) || (!p && n) || n > MOQC_IETF_KVP_VALUE_MAX) return MOQC_ERR_INVAL;
  moqc__ietf_kvp kv = {key, 0, {(const uint8_t *)p, n}};
  return params_put(ps, kv);
}

/* Lifted message parameters (drafts 15+): key -> has bit. */
static uint32_t lifted_bit(uint64_t key) {
  switch (key) {
    case MOQC_IETF_PARAM_EXPIRES: return MOQC_IETF_HAS_EXPIRES;
    case MOQC_IETF_PARAM_LARGEST_OBJECT: return MOQC_IETF_HAS_LARGEST;
    case MOQC_IETF_PARAM_FORWARD: return MOQC_IETF_HAS_FORWARD;
    case MOQC_IETF_PARAM_SUBSCRIBER_PRIORITY: return MOQC_IETF_HAS_PRIORITY;
    case MOQC_IETF_PARAM_SUBSCRIPTION_FILTER: return MOQC_IETF_HAS_FILTER;
    case MOQC_IETF_PARAM_GROUP_ORDER: return MOQC_IETF_HAS_GROUP_ORDER;
    default: return 0;
  }
}
static const uint64_t lifted_keys[] = {MOQC_IETF_PARAM_EXPIRES,
                                       MOQC_IETF_PARAM_LARGEST_OBJECT,
                                       MOQC_IETF_PARAM_FORWARD,
                                       MOQC_IETF_PARAM_SUBSCRIBER_PRIORITY,
                                       MOQC_IETF_PARAM_SUBSCRIPTION_FILTER,
                                       MOQC_IETF_PARAM_GROUP_ORDER};
#define N_LIFTED (sizeof lifted_keys / sizeof lifted_keys[0])

/* A u8-valued parameter: a varint on 14-16, one raw byte on 17+. */
static int rd_param_u8(moqc_reader *r, int v, uint8_t max, uint8_t *out) {
  uint64_t x = 0;
  int rc;
  if (v >= MOQC_IETF_17) {
    uint8_t b = 0;
    rc = moqc_read_u8(r, &b);
    x = b;
  } else {
    rc = moqc__ietf_read_vi(r, v, &x);
  }
  if (rc < 0) return rc;
  if (x > max) return MOQC_ERR_DECODE;
  *out = (uint8_t)x;
  return MOQC_OK;
}
static void wr_param_u8(moqc_writer *w, int v, uint8_t x) {
  if (v >= MOQC_IETF_17) moqc_write_u8(w, x);
  else moqc__ietf_write_vi(w, v, x);
}

/* The filter structure (inside the SUBSCRIPTION_FILTER parameter, or inline on 14). */
static int rd_filter(moqc_reader *r, int v, moqc__ietf_filter *f) {
  moqc_reader t = *r;
  int rc = moqc__ietf_read_vi(&t, v, &f->type);
  if (rc < 0) return rc;
  if (f->type < MOQC_IETF_FILTER_NEXT_GROUP || f->type > MOQC_IETF_FILTER_ABSOLUTE_RANGE)
    return MOQC_ERR_DECODE;
  f->start.group = f->start.object = f->end_group = 0;
  if (f->type >= MOQC_IETF_FILTER_ABSOLUTE_START) rc = moqc__ietf_rd_loc(&t, v, &f->start);
  if (rc == 0 && f->type == MOQC_IETF_FILTER_ABSOLUTE_RANGE)
    rc = moqc__ietf_read_vi(&t, v, &f->end_group);
  if (rc < 0) return rc;
  *r = t;
  return MOQC_OK;
}
static void wr_filter(moqc_writer *w, int v, const moqc__ietf_filter *f) {
  if (f->type < MOQC_IETF_FILTER_NEXT_GROUP || f->type > MOQC_IETF_FILTER_ABSOLUTE_RANGE) {
    moqc__ietf_wfail(w, MOQC_ERR_INVAL);
    return;
  }
  moqc__ietf_write_vi(w, v, f->type);
  if (f->type >= MOQC_IETF_FILTER_ABSOLUTE_START) moqc__ietf_wr_loc(w, v, f->start);
  if (f->type == MOQC_IETF_FILTER_ABSOLUTE_RANGE) moqc__ietf_write_vi(w, v, f->end_group);
}

/* Read a lifted parameter's value into m (drafts 15+). */
static int rd_lifted(moqc_reader *r, int v, uint64_t key, moqc__ietf_msg *m) {
  moqc_bytes b;
  moqc_reader in;
  int rc;
  switch (key) {
    case MOQC_IETF_PARAM_EXPIRES: return moqc__ietf_read_vi(r, v, &m->expires);
    case MOQC_IETF_PARAM_FORWARD: return rd_param_u8(r, v, 1, &m->forward);
    case MOQC_IETF_PARAM_SUBSCRIBER_PRIORITY: return rd_param_u8(r, v, 255, &m->priority);
    case MOQC_IETF_PARAM_GROUP_ORDER: return rd_param_u8(r, v, 2, &m->group_order);
    case MOQC_IETF_PARAM_LARGEST_OBJECT:
      if (v >= MOQC_IETF_17) return moqc__ietf_rd_loc(r, v, &m->largest);
      /* 15-16: length-prefixed bytes holding two QUIC varints */
      rc = moqc__ietf_rd_bytes(r, v, MOQC_IETF_KVP_VALUE_MAX, &b);
      if (rc < 0) return rc;
      in = moqc_reader_make(b.ptr, b.len);
      rc = moqc__ietf_rd_loc(&in, v, &m->largest);
      if (rc < 0) return MOQC_ERR_DECODE;
      return moqc_reader_left(&in) ? MOQC_ERR_DECODE : MOQC_OK;
    case MOQC_IETF_PARAM_SUBSCRIPTION_FILTER:
      rc = moqc__ietf_rd_bytes(r, v, MOQC_IETF_KVP_VALUE_MAX, &b);
      if (rc < 0) return rc;
      in = moqc_reader_make(b.ptr, b.len);
      rc = rd_filter(&in, v, &m->filter);
      if (rc < 0) return MOQC_ERR_DECODE;
      return moqc_reader_left(&in) ? MOQC_ERR_DECODE : MOQC_OK;
    default: assert(0 && "not a lifted key"); return MOQC_ERR_DECODE;
  }
}

/* Write a lifted parameter's value (drafts 15+). Nested values are written
 * into a scratch buffer first to learn their length. */
static void wr_lifted(moqc_writer *w, int v, uint64_t key, const moqc__ietf_msg *m) {
  uint8_t tmp[64];
  moqc_writer in = moqc_writer_make(tmp, sizeof tmp);
  switch (key) {
    case MOQC_IETF_PARAM_EXPIRES: moqc__ietf_write_vi(w, v, m->expires); return;
    case MOQC_IETF_PARAM_FORWARD:
      if (m->forward > 1) moqc__ietf_wfail(w, MOQC_ERR_INVAL);
      wr_param_u8(w, v, m->forward);
      return;
    case MOQC_IETF_PARAM_SUBSCRIBER_PRIORITY: wr_param_u8(w, v, m->priority); return;
    case MOQC_IETF_PARAM_GROUP_ORDER:
      if (m->group_order > 2) moqc__ietf_wfail(w, MOQC_ERR_INVAL);
      wr_param_u8(w, v, m->group_order);
      return;
    case MOQC_IETF_PARAM_LARGEST_OBJECT:
      if (v >= MOQC_IETF_17) {
        moqc__ietf_wr_loc(w, v, m->largest);
        return;
      }
      moqc__ietf_wr_loc(&in, v, m->largest);
      break;
    case MOQC_IETF_PARAM_SUBSCRIPTION_FILTER: wr_filter(&in, v, &m->filter); break;
    default: assert(0 && "not a lifted key"); return;
  }
  if (in.err) {
    moqc__ietf_wfail(w, in.err == MOQC_ERR_BUFSIZE ? MOQC_ERR_INVAL : in.err);
    return;
  }
  moqc_bytes b = {tmp, in.pos};
  moqc__ietf_wr_bytes(w, v, b, MOQC_IETF_KVP_VALUE_MAX);
}

/* Message parameters lifted into msg fields (15+). Not in FETCH_OK: its end
 * location is a fixed field stored in `largest`, so a LARGEST_OBJECT
 * parameter there stays in params (else it would overwrite the end location
 * and be written twice; found by fuzz_ietf_fetch). */
static bool kvp_lifts(const moqc__ietf_msg *m, int mode, int v) {
  return m && mode == MOQC__IETF_KVP_MSG && v >= MOQC_IETF_15 && m->type != MOQC_IETF_FETCH_OK;
}

static bool kvp_counted(int v, int mode) {
  return mode == MOQC__IETF_KVP_MSG || (mode == MOQC__IETF_KVP_SETUP && v <= MOQC_IETF_16);
}

int moqc__ietf_rd_kvps(moqc_reader *r, int v, int mode, moqc__ietf_params *ps, moqc__ietf_msg *m) {
  moqc_reader c = *r;
  ps->n = 0;
  if (mode == MOQC__IETF_KVP_PROPS && v < MOQC_IETF_16) return MOQC_OK;
  bool counted = kvp_counted(v, mode);
  bool lift = kvp_lifts(m, mode, v);
  uint64_t count = UINT64_MAX, prev = 0;
  int rc;
  if (counted) {
    rc = moqc__ietf_read_vi(&c, v, &count);
    if (rc < 0) return rc;
    if (count > MOQC_IETF_PARAMS_MAX) return MOQC_ERR_DECODE;
  }
  uint32_t seen = 0; /* lifted bits already read */
  for (uint64_t i = 0; counted ? i < count : moqc_reader_left(&c) > 0; i++) {
    if (i >= MOQC_IETF_PARAMS_MAX) return MOQC_ERR_DECODE;
    uint64_t key = 0;
    rc = moqc__ietf_read_vi(&c, v, &key);
    if (rc < 0) return rc;
    if (moqc__ietf_has_delta_kvp(v) && i > 0) { /* a zero delta is a duplicate: caught below */
      if (key > UINT64_MAX - prev) return MOQC_ERR_DECODE;
      key += prev;
    }
    prev = key;
    uint32_t bit = lift ? lifted_bit(key) : 0;
    if (bit) {
      if (seen & bit) return MOQC_ERR_DECODE;
      seen |= bit;
      rc = rd_lifted(&c, v, key, m);
      if (rc < 0) return rc;
      m->has |= bit;
      continue;
    }
    if (moqc__ietf_params_find(ps, key)) return MOQC_ERR_DECODE;
    moqc__ietf_kvp *kv = &ps->kv[ps->n];
    kv->key = key;
    kv->v = 0;
    kv->b.ptr = NULL;
    kv->b.len = 0;
    if (key & 1) rc = moqc__ietf_rd_bytes(&c, v, MOQC_IETF_KVP_VALUE_MAX, &kv->b);
    else rc = moqc__ietf_read_vi(&c, v, &kv->v);
    if (rc < 0) return rc;
    ps->n++;
  }
  *r = c;
  return MOQC_OK;
}

static void wr_kv(moqc_writer *w, int v, const moqc__ietf_kvp *kv) {
  if (kv->key & 1) moqc__ietf_wr_bytes(w, v, kv->b, MOQC_IETF_KVP_VALUE_MAX);
  else moqc__ietf_write_vi(w, v, kv->v);
}

void moqc__ietf_wr_kvps(moqc_writer *w, int v, int mode, const moqc__ietf_params *ps,
                        const moqc__ietf_msg *m) {
  if (mode == MOQC__IETF_KVP_PROPS && v < MOQC_IETF_16) {
    if (ps->n) moqc__ietf_wfail(w, MOQC_ERR_INVAL);
    return;
  }
  if (ps->n > MOQC_IETF_PARAMS_MAX) {
    moqc__ietf_wfail(w, MOQC_ERR_INVAL);
    return;
  }
  bool lift = kvp_lifts(m, mode, v);
  bool delta = moqc__ietf_has_delta_kvp(v);
  uint32_t has = lift ? m->has : 0;
  size_t count = ps->n;
  for (size_t k = 0; k < N_LIFTED; k++) count += (has & lifted_bit(lifted_keys[k])) ? 1 : 0;
  if (count > MOQC_IETF_PARAMS_MAX) {
    moqc__ietf_wfail(w, MOQC_ERR_INVAL);
    return;
  }
  for (uint32_t i = 0; i < ps->n; i++) {
    if (lift && lifted_bit(ps->kv[i].key)) { /* belongs in the msg field */
      moqc__ietf_wfail(w, MOQC_ERR_INVAL);
      return;
    }
    for (uint32_t j = 0; j < i; j++) {
      bool bad = delta ? ps->kv[j].key >= ps->kv[i].key : ps->kv[j].key == ps->kv[i].key;
      if (bad) {
        moqc__ietf_wfail(w, MOQC_ERR_INVAL);
        return;
      }
    }
  }
  if (kvp_counted(v, mode)) moqc__ietf_write_vi(w, v, count);
  /* Merge the lifted keys (ascending) into the list's order. */
  uint64_t prev = 0;
  bool first = true;
  size_t k = 0;
  for (uint32_t i = 0; i <= ps->n; i++) {
    uint64_t bound = i < ps->n ? ps->kv[i].key : UINT64_MAX;
    for (; k < N_LIFTED && (lifted_keys[k] < bound || i == ps->n); k++) {
      if (!(has & lifted_bit(lifted_keys[k]))) continue;
      moqc__ietf_write_vi(w, v, delta && !first ? lifted_keys[k] - prev : lifted_keys[k]);
      wr_lifted(w, v, lifted_keys[k], m);
      prev = lifted_keys[k];
      first = false;
    }
    if (i == ps->n) break;
    const moqc__ietf_kvp *kv = &ps->kv[i];
    assert(first || !delta || kv->key > prev); /* checked sorted above */
    moqc__ietf_write_vi(w, v, delta && !first ? kv->key - prev : kv->key);
    wr_kv(w, v, kv);
    prev = kv->key;
    first = false;
  }
}

/* ---- extension / property blocks ------------------------------------------- */

int moqc__ietf_ext_next(int version, moqc_bytes block, size_t *pos, uint64_t *prev_key,
                        moqc__ietf_kvp *kv) {
  if (!pos || !prev_key || !kv || *pos > block.len) return MOQC_ERR_INVAL;
  if (*pos == block.len) return 0;
  moqc_reader r = moqc_reader_make(block.ptr, block.len);
  r.pos = *pos;
  uint64_t key = 0;
  int rc = moqc__ietf_read_vi(&r, version, &key);
  if (rc < 0) return MOQC_ERR_DECODE;
  if (moqc__ietf_has_delta_kvp(version) && *pos > 0) {
    if (key > UINT64_MAX - *prev_key) return MOQC_ERR_DECODE;
    key += *prev_key;
  }
  kv->key = key;
  kv->v = 0;
  kv->b.ptr = NULL;
  kv->b.len = 0;
  if (key & 1) rc = moqc__ietf_rd_bytes(&r, version, MOQC_IETF_KVP_VALUE_MAX, &kv->b);
  else rc = moqc__ietf_read_vi(&r, version, &kv->v);
  if (rc < 0) return MOQC_ERR_DECODE;
  *pos = r.pos;
  *prev_key = key;
  return 1;
}

int moqc__ietf_ext_validate(int v, moqc_bytes block) {
  size_t pos = 0;
  uint64_t prev = 0;
  moqc__ietf_kvp kv;
  unsigned n = 0;
  int rc;
  while ((rc = moqc__ietf_ext_next(v, block, &pos, &prev, &kv)) == 1) {
    if (++n > MOQC_IETF_PARAMS_MAX) return MOQC_ERR_DECODE;
  }
  return rc < 0 ? MOQC_ERR_DECODE : MOQC_OK;
}
