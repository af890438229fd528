/* IETF moq-transport data streams, drafts 14-19: every SUBGROUP_HEADER type
 * of every draft, subgroup objects (extensions, status), FETCH_HEADER and
 * fetch objects (14's full form, 15+'s serialization flags, 16+'s end of
 * range, 18+'s deltas), OBJECT_DATAGRAM and its status form. */
#include "test_ietf_wire_common.h"

/* ---- SUBGROUP_HEADER ------------------------------------------------------- */

/* Which header types a draft defines (written from the drafts' tables, not
 * from the codec): 14: 0x10-0x15, 0x18-0x1D; 15-17 add the same with 0x20
 * (no priority byte); 18+ add 0x40 (first object) to all of those. moq-dev
 * also accepts the 0x30 range on draft-14, and so do we. */
static bool header_defined(int v, unsigned t) {
  unsigned base = t & ~0x60u;
  bool low = (base >= 0x10 && base <= 0x15) || (base >= 0x18 && base <= 0x1d);
  if (!low || t > 0x7f) return false;
  if (t & 0x40) return v >= 18;
  return true;
}

static void test_subgroup_every_type(void **state) {
  (void)state;
  for (int v = MOQC_IETF_FIRST; v <= MOQC_IETF_LAST; v++) {
    int n_defined = 0;
    for (unsigned t = 0; t < 0x100; t++) {
      /* type, alias 1, group 2, [subgroup 3], [priority 0x80] */
      uint8_t b[8];
      size_t n = 0;
      if (t >= 0x80 && v < 17) {
        b[n++] = (uint8_t)(0x40 | (t >> 8));
        b[n++] = (uint8_t)t;
      } else if (t >= 0x80) {
        b[n++] = (uint8_t)(0x80 | (t >> 8));
        b[n++] = (uint8_t)t;
      } else {
        b[n++] = (uint8_t)t;
      }
      b[n++] = 1;
      b[n++] = 2;
      bool sg_field = ((t >> 1) & 3) == 2;
      bool prio = !(t & 0x20);
      if (sg_field) b[n++] = 3;
      if (prio) b[n++] = 0x80;
      moqc__ietf_subgroup h;
      ssize_t k = moqc__ietf_subgroup_decode(&h, v, b, n);
      if (!header_defined(v, t)) {
        if (k != MOQC_ERR_DECODE) fprintf(stderr, "draft %d type 0x%x: %zd\n", v, t, k);
        assert_int_equal(k, MOQC_ERR_DECODE);
        assert_int_equal(moqc__ietf_uni_kind(v, t),
                         t == 5 ? MOQC_IETF_UNI_FETCH : MOQC_IETF_UNI_UNKNOWN);
        continue;
      }
      n_defined++;
      assert_int_equal(moqc__ietf_uni_kind(v, t), MOQC_IETF_UNI_SUBGROUP);
      assert_int_equal(k, (ssize_t)n);
      assert_int_equal(h.type, t);
      assert_int_equal(h.extensions, (t & 1) != 0);
      assert_int_equal(h.sgid_mode, (int)((t >> 1) & 3));
      assert_int_equal(h.end_of_group, (t & 8) != 0);
      assert_int_equal(h.has_priority, prio);
      assert_int_equal(h.first_object, (t & 0x40) != 0);
      assert_int_equal(h.track_alias, 1);
      assert_int_equal(h.group, 2);
      assert_int_equal(h.subgroup, sg_field ? 3 : 0);
      if (prio) assert_int_equal(h.priority, 0x80);
      moqc__ietf_subgroup scratch;
      for (size_t j = 0; j < n; j++)
        assert_int_equal(moqc__ietf_subgroup_decode(&scratch, v, b, j), MOQC_ERR_NEED_MORE);
      uint8_t out[16];
      k = moqc__ietf_subgroup_encode(out, sizeof out, v, &h);
      it_bytes_equal(out, (size_t)k, b, n);
    }
    assert_int_equal(n_defined, v >= 18 ? 48 : 24);
  }
}

static void check_subgroup(int v, const moqc__ietf_subgroup *h, const char *hex) {
  uint8_t want[32], got[32];
  size_t n = it_hex(want, sizeof want, hex);
  ssize_t k = moqc__ietf_subgroup_encode(got, sizeof got, v, h);
  assert_true(k > 0);
  it_bytes_equal(got, (size_t)k, want, n);
  moqc__ietf_subgroup d;
  assert_int_equal(moqc__ietf_subgroup_decode(&d, v, want, n), (ssize_t)n);
  assert_true(ietf_subgroup_eq(&d, h));
}

static void test_subgroup_vectors(void **state) {
  (void)state;
  /* moq-dev's default: 0x19 (extensions, end of group, subgroup 0), priority 0 */
  moqc__ietf_subgroup h = {.extensions = true,
                           .end_of_group = true,
                           .has_priority = true,
                           .sgid_mode = MOQC_IETF_SGID_ZERO,
                           .track_alias = 1,
                           .group = 2};
  check_subgroup(14, &h, "19 01 02 00");
  /* draft-18 moq-dev sets FIRST_OBJECT: 0x59 */
  h.first_object = true;
  check_subgroup(18, &h, "59 01 02 00");
  /* leading-ones alias and group on 17 */
  moqc__ietf_subgroup h2 = {.has_priority = false,
                            .sgid_mode = MOQC_IETF_SGID_FIELD,
                            .track_alias = 300,
                            .group = 20000,
                            .subgroup = 7};
  check_subgroup(17, &h2, "34 812c c04e20 07");
  check_subgroup(16, &h2, "34 412c 80004e20 07");
  uint8_t b[32];
  /* bad encodes: subgroup without the field mode, first object before 18 */
  h2.sgid_mode = MOQC_IETF_SGID_ZERO;
  assert_int_equal(moqc__ietf_subgroup_encode(b, sizeof b, 16, &h2), MOQC_ERR_INVAL);
  h.first_object = true;
  assert_int_equal(moqc__ietf_subgroup_encode(b, sizeof b, 17, &h), MOQC_ERR_INVAL);
  h.sgid_mode = 3;
  assert_int_equal(moqc__ietf_subgroup_encode(b, sizeof b, 18, &h), MOQC_ERR_INVAL);
  /* stream kinds */
  assert_int_equal(moqc__ietf_uni_kind(17, 0x2f00), MOQC_IETF_UNI_SETUP);
  assert_int_equal(moqc__ietf_uni_kind(16, 0x2f00), MOQC_IETF_UNI_UNKNOWN);
  assert_int_equal(moqc__ietf_uni_kind(14, 0x05), MOQC_IETF_UNI_FETCH);
}

/* ---- subgroup objects ------------------------------------------------------ */

static void check_object(int v, bool ext, const moqc__ietf_object *o, const char *hex) {
  uint8_t want[64], got[64];
  size_t n = it_hex(want, sizeof want, hex);
  ssize_t k = moqc__ietf_object_encode(got, sizeof got, v, ext, o);
  assert_true(k > 0);
  it_bytes_equal(got, (size_t)k, want, n);
  moqc__ietf_object d;
  assert_int_equal(moqc__ietf_object_decode(&d, v, ext, want, n), (ssize_t)n);
  assert_true(ietf_object_eq(&d, o));
  for (size_t j = 0; j < n; j++)
    assert_int_equal(moqc__ietf_object_decode(&d, v, ext, want, j), MOQC_ERR_NEED_MORE);
}

static void test_objects(void **state) {
  (void)state;
  moqc__ietf_object o = {.id_delta = 0, .size = 5};
  for (int v = 14; v <= 19; v++) check_object(v, false, &o, "00 05");
  for (int v = 14; v <= 19; v++) check_object(v, true, &o, "00 00 05"); /* extension length 0 */
  /* a timestamp property (0x10) as moq-dev writes it: one even KVP */
  moqc__ietf_object t = {.id_delta = 0, .ext = {(const uint8_t *)"\x10\x43\xe8", 3}, .size = 5};
  check_object(14, true, &t, "00 03 1043e8 05");
  moqc__ietf_object t17 = {.id_delta = 0, .ext = {(const uint8_t *)"\x10\x83\xe8", 3}, .size = 5};
  check_object(17, true, &t17, "00 03 1083e8 05");
  /* statuses: end of group, end of track, does not exist */
  moqc__ietf_object s = {.id_delta = 1, .size = 0, .status = MOQC_IETF_STATUS_END_OF_GROUP};
  check_object(14, false, &s, "01 00 03");
  s.status = MOQC_IETF_STATUS_END_OF_TRACK;
  check_object(18, false, &s, "01 00 04");
  s.status = MOQC_IETF_STATUS_DOES_NOT_EXIST;
  check_object(16, false, &s, "01 00 01");
  s.status = MOQC_IETF_STATUS_NORMAL;
  check_object(16, false, &s, "01 00 00");
  /* decode rules */
  uint8_t b[32];
  moqc__ietf_object d;
  size_t n = it_hex(b, sizeof b, "00 00 02");
  assert_int_equal(moqc__ietf_object_decode(&d, 14, false, b, n), MOQC_ERR_DECODE); /* status 2 */
  n = it_hex(b, sizeof b, "00 82000001");
  assert_int_equal(moqc__ietf_object_decode(&d, 14, false, b, n),
                   MOQC_ERR_TOO_LARGE); /* 32 MiB + 1 */
  n = it_hex(b, sizeof b, "00 02 03 05 05");
  assert_int_equal(moqc__ietf_object_decode(&d, 14, true, b, n),
                   MOQC_ERR_DECODE); /* KVP overruns the block */
  /* 16+ delta-encoded properties: 0x08 then +8 = 0x10 */
  n = it_hex(b, sizeof b, "00 04 08 01 08 05 07");
  assert_int_equal(moqc__ietf_object_decode(&d, 16, true, b, n), (ssize_t)n);
  size_t pos = 0;
  uint64_t prev = 0;
  moqc__ietf_kvp kv;
  assert_int_equal(moqc__ietf_ext_next(16, d.ext, &pos, &prev, &kv), 1);
  assert_int_equal(kv.key, 0x08);
  assert_int_equal(moqc__ietf_ext_next(16, d.ext, &pos, &prev, &kv), 1);
  assert_int_equal(kv.key, 0x10);
  assert_int_equal(kv.v, 5);
  assert_int_equal(moqc__ietf_ext_next(16, d.ext, &pos, &prev, &kv), 0);
  /* the same block on 15 is two absolute keys */
  assert_int_equal(moqc__ietf_object_decode(&d, 15, true, b, n), (ssize_t)n);
  pos = 0;
  prev = 0;
  moqc__ietf_ext_next(15, d.ext, &pos, &prev, &kv);
  moqc__ietf_ext_next(15, d.ext, &pos, &prev, &kv);
  assert_int_equal(kv.key, 0x08);
  /* extensions when the header has none */
  assert_int_equal(moqc__ietf_object_encode(b, sizeof b, 14, false, &t), MOQC_ERR_INVAL);
}

/* ---- FETCH ----------------------------------------------------------------- */

static void test_fetch_header(void **state) {
  (void)state;
  uint8_t b[16], want[16];
  uint64_t id;
  for (int v = 14; v <= 19; v++) {
    size_t n = it_hex(want, sizeof want, v >= 17 ? "05 812c" : "05 412c");
    ssize_t k = moqc__ietf_fetch_header_encode(b, sizeof b, v, 300);
    it_bytes_equal(b, (size_t)k, want, n);
    assert_int_equal(moqc__ietf_fetch_header_decode(&id, v, want, n), (ssize_t)n);
    assert_int_equal(id, 300);
    assert_int_equal(moqc__ietf_fetch_header_decode(&id, v, want, 1), MOQC_ERR_NEED_MORE);
  }
  want[0] = 0x04;
  assert_int_equal(moqc__ietf_fetch_header_decode(&id, 14, want, 2), MOQC_ERR_DECODE);
}

struct fvec {
  moqc__ietf_fetch_object o;
  const char *hex;
};

/* Encode a sequence on one stream state and compare; then decode it back. */
static void check_fetch(int v, uint8_t order, const struct fvec *t, size_t n) {
  moqc__ietf_fetch_state es = {.group_order = order}, ds = {.group_order = order};
  for (size_t i = 0; i < n; i++) {
    uint8_t want[64], got[64];
    size_t len = it_hex(want, sizeof want, t[i].hex);
    ssize_t k = moqc__ietf_fetch_object_encode(got, sizeof got, v, &es, &t[i].o);
    if (k < 0) fprintf(stderr, "draft %d fetch object %zu: encode %zd\n", v, i, k);
    assert_true(k > 0);
    it_bytes_equal(got, (size_t)k, want, len);
    moqc__ietf_fetch_object d;
    moqc__ietf_fetch_state before = ds;
    for (size_t j = 0; j < len; j++) {
      assert_int_equal(moqc__ietf_fetch_object_decode(&d, v, &ds, want, j), MOQC_ERR_NEED_MORE);
      assert_memory_equal(&before, &ds, sizeof ds); /* failures leave the state alone */
    }
    assert_int_equal(moqc__ietf_fetch_object_decode(&d, v, &ds, want, len), (ssize_t)len);
    assert_true(ietf_fetch_object_eq(&d, &t[i].o));
  }
}

#define FO(g, s, obj, p, sz) \
  { .group = g, .subgroup = s, .object = obj, .priority = p, .size = sz }

static void test_fetch_objects(void **state) {
  (void)state;
  /* draft-14: every field, every time; extension length always present */
  static const struct fvec d14[] = {
      {FO(1, 0, 2, 0x80, 4), "01 00 02 80 00 04"},
      {{.group = 1, .object = 3, .priority = 0x80, .size = 0, .status = 3}, "01 00 03 80 00 00 03"},
  };
  check_fetch(14, 1, d14, 2);
  /* draft-15: one-byte flags; fields equal to the prior object's are elided */
  static const struct fvec d15[] = {
      {FO(1, 0, 0, 0x80, 4), "1c 01 00 80 04"}, /* group, object, priority */
      {FO(1, 0, 1, 0x80, 2), "00 02"},          /* all from the prior */
      {FO(2, 0, 0, 0x80, 2), "0c 02 00 02"},    /* new group, object 0 */
      {FO(2, 7, 1, 0x40, 2), "13 07 40 02"},    /* explicit subgroup, new priority */
      {FO(2, 8, 2, 0x40, 2), "02 02"},          /* subgroup = prior + 1 */
      {FO(2, 8, 3, 0x40, 2), "01 02"},          /* subgroup = prior */
      {{.group = 2, .subgroup = 8, .object = 4, .priority = 0x40, .size = 0, .status = 4},
       "01 00 04"},
      {{.group = 2,
        .subgroup = 8,
        .object = 5,
        .priority = 0x40,
        .ext = {(const uint8_t *)"\x02\x05", 2},
        .size = 1},
       "21 02 0205 01"},
  };
  check_fetch(15, 1, d15, sizeof d15 / sizeof d15[0]);
  /* draft-16: varint flags, datagram objects, end of range (0x8C, 0x10C), no status */
  static const struct fvec d16[] = {
      {FO(1, 0, 0, 0x80, 4), "1c 01 00 80 04"},
      {{.group = 1, .object = 1, .priority = 0x80, .datagram = true, .size = 2},
       "4040 02"}, /* 64: 2-byte QUIC varint */
      {{.kind = MOQC_IETF_FETCH_END_NONEXISTENT, .group = 3, .object = 0}, "408c 03 00"},
      {{.kind = MOQC_IETF_FETCH_END_UNKNOWN, .group = 4, .object = 9}, "410c 04 09"},
      {FO(5, 0, 0, 0x80, 1), "0c 05 00 01"},
  };
  check_fetch(16, 1, d16, sizeof d16 / sizeof d16[0]);
  /* a stream that opens with an End of Range: the next object has a prior
   * location but no prior object, so its priority must be on the wire */
  static const struct fvec d16eor[] = {
      {{.kind = MOQC_IETF_FETCH_END_UNKNOWN, .group = 3, .object = 0}, "410c 03 00"},
      {FO(3, 0, 1, 0, 1), "10 00 01"}, /* priority 0 equals the zeroed state: still sent */
  };
  check_fetch(16, 1, d16eor, 2);
  /* draft-17: the same with leading-ones varints */
  static const struct fvec d17[] = {
      {FO(1, 0, 0, 0x80, 200), "1c 01 00 80 80c8"},
      {{.kind = MOQC_IETF_FETCH_END_NONEXISTENT, .group = 3, .object = 0}, "808c 03 00"},
  };
  check_fetch(17, 1, d17, 2);
  /* explicit_subgroup (what a session serves, for imquic): the Subgroup ID is
   * always written, flags low bits 3 */
  {
    moqc__ietf_fetch_state es = {.group_order = 1, .explicit_subgroup = true},
                           ds = {.group_order = 1};
    const moqc__ietf_fetch_object seq[2] = {FO(1, 0, 0, 0x80, 4), FO(1, 0, 1, 0x80, 2)};
    const char *hex[2] = {"1f 01 00 00 80 04", "03 00 02"};
    for (int i = 0; i < 2; i++) {
      uint8_t want[16], got[16];
      size_t len = it_hex(want, sizeof want, hex[i]);
      ssize_t k = moqc__ietf_fetch_object_encode(got, sizeof got, 17, &es, &seq[i]);
      assert_true(k > 0);
      it_bytes_equal(got, (size_t)k, want, len);
      moqc__ietf_fetch_object d;
      assert_int_equal(moqc__ietf_fetch_object_decode(&d, 17, &ds, want, len), (ssize_t)len);
      assert_true(ietf_fetch_object_eq(&d, &seq[i]));
    }
  }
  /* draft-18: Group ID Delta (by group order) and Object ID Delta */
  static const struct fvec d18[] = {
      {FO(1, 0, 0, 0x80, 4), "1c 01 00 80 04"}, /* first: absolute */
      {FO(1, 0, 1, 0x80, 2), "00 02"},
      {FO(2, 0, 0, 0x80, 2), "0c 00 00 02"}, /* group + 0 + 1; object absolute */
      {FO(2, 0, 4, 0x80, 2), "04 04 02"},    /* object = prior + 4 */
      {FO(5, 0, 0, 0x80, 2), "0c 02 00 02"}, /* group 2 + 2 + 1 */
      {{.kind = MOQC_IETF_FETCH_END_UNKNOWN, .group = 7, .object = 3}, "810c 01 03"},
  };
  check_fetch(18, 1, d18, sizeof d18 / sizeof d18[0]);
  static const struct fvec d19desc[] = {
      {FO(5, 0, 0, 0x80, 4), "1c 05 00 80 04"},
      {FO(3, 0, 0, 0x80, 4), "0c 01 00 04"}, /* descending: 5 - (1 + 1) */
  };
  check_fetch(19, 2, d19desc, 2);
  /* decode rules */
  uint8_t b[16];
  moqc__ietf_fetch_state st = {0};
  moqc__ietf_fetch_object o;
  size_t n = it_hex(b, sizeof b, "00 02");
  assert_int_equal(moqc__ietf_fetch_object_decode(&o, 15, &st, b, n),
                   MOQC_ERR_DECODE); /* refers to no prior */
  n = it_hex(b, sizeof b, "5c 01 00 80 04");
  assert_int_equal(moqc__ietf_fetch_object_decode(&o, 15, &st, b, n),
                   MOQC_ERR_DECODE); /* 0x40 on 15 */
  assert_int_equal(moqc__ietf_fetch_object_decode(&o, 17, &st, b, n),
                   (ssize_t)n); /* datagram on 17 */
  assert_true(o.datagram);
  memset(&st, 0, sizeof st);
  n = it_hex(b, sizeof b, "4080 01 00 80 04");
  assert_int_equal(moqc__ietf_fetch_object_decode(&o, 16, &st, b, n),
                   MOQC_ERR_DECODE); /* flags 0x80 */
  /* 18 descending below group 0 */
  moqc__ietf_fetch_state ds = {.group_order = 2};
  n = it_hex(b, sizeof b, "1c 01 00 80 04");
  assert_int_equal(moqc__ietf_fetch_object_decode(&o, 18, &ds, b, n), (ssize_t)n);
  n = it_hex(b, sizeof b, "0c 01 00 04");
  assert_int_equal(moqc__ietf_fetch_object_decode(&o, 18, &ds, b, n), MOQC_ERR_DECODE);
  /* encode errors: end of range before 16, datagram before 16, status on 16 */
  moqc__ietf_fetch_state es = {0};
  moqc__ietf_fetch_object e = {.kind = MOQC_IETF_FETCH_END_UNKNOWN};
  assert_int_equal(moqc__ietf_fetch_object_encode(b, sizeof b, 15, &es, &e), MOQC_ERR_INVAL);
  moqc__ietf_fetch_object g = {.datagram = true, .size = 1};
  assert_int_equal(moqc__ietf_fetch_object_encode(b, sizeof b, 15, &es, &g), MOQC_ERR_INVAL);
  moqc__ietf_fetch_object s = {.size = 0, .status = 3};
  assert_int_equal(moqc__ietf_fetch_object_encode(b, sizeof b, 16, &es, &s), MOQC_ERR_INVAL);
}

/* ---- OBJECT_DATAGRAM -------------------------------------------------------- */

static void check_dg(int v, const moqc__ietf_datagram *d, const char *hex) {
  uint8_t want[64], got[64];
  size_t n = it_hex(want, sizeof want, hex);
  ssize_t k = moqc__ietf_datagram_encode(got, sizeof got, v, d);
  if (k < 0) fprintf(stderr, "draft %d datagram: encode %zd\n", v, k);
  assert_true(k > 0);
  it_bytes_equal(got, (size_t)k, want, n);
  moqc__ietf_datagram o;
  assert_int_equal(moqc__ietf_datagram_decode(&o, v, want, n), (ssize_t)n);
  assert_true(ietf_datagram_eq(&o, d));
  assert_int_equal(o.type, want[0]);
}

static void test_datagrams(void **state) {
  (void)state;
  moqc__ietf_datagram d = {.has_priority = true,
                           .track_alias = 1,
                           .group = 2,
                           .object = 2,
                           .priority = 0x80,
                           .payload = B("hi")};
  for (int v = 14; v <= 16; v++) check_dg(v, &d, "00 01 02 02 80 6869");
  d.object = 0; /* object id 0 is not on the wire */
  check_dg(14, &d, "04 01 02 80 6869");
  d.end_of_group = true;
  d.ext.ptr = (const uint8_t *)"\x10\x05";
  d.ext.len = 2;
  check_dg(14, &d, "07 01 02 80 02 1005 6869");
  d.track_alias = 300;
  check_dg(17, &d, "07 812c 02 80 02 1005 6869");
  /* default priority (15+) */
  moqc__ietf_datagram p = {
      .has_priority = false, .track_alias = 1, .group = 2, .object = 3, .payload = B("hi")};
  check_dg(15, &p, "08 01 02 03 6869");
  p.object = 0;
  check_dg(16, &p, "0c 01 02 6869");
  /* status form */
  moqc__ietf_datagram s = {.is_status = true,
                           .has_priority = true,
                           .track_alias = 1,
                           .group = 2,
                           .object = 0,
                           .priority = 0x80,
                           .status = 3};
  check_dg(14, &s, "20 01 02 00 80 03"); /* no short form on 14 */
  check_dg(15, &s, "24 01 02 80 03");
  s.ext.ptr = (const uint8_t *)"\x10\x05";
  s.ext.len = 2;
  check_dg(16, &s, "25 01 02 80 02 1005 03");
  for (int v = 17; v <= 19; v++) { /* 17+: only Normal objects have properties */
    uint8_t sb[32];
    size_t sn = it_hex(sb, sizeof sb, "25 01 02 80 02 1005 03");
    moqc__ietf_datagram so;
    assert_int_equal(moqc__ietf_datagram_decode(&so, v, sb, sn), MOQC_ERR_DECODE);
    assert_int_equal(moqc__ietf_datagram_encode(sb, sizeof sb, v, &s), MOQC_ERR_INVAL);
    s.status = MOQC_IETF_STATUS_NORMAL;
    check_dg(v, &s, "25 01 02 80 02 1005 00");
    s.status = 3;
  }
  moqc__ietf_datagram s2 = {
      .is_status = true, .has_priority = false, .track_alias = 1, .group = 2, .status = 4};
  check_dg(15, &s2, "28 01 02 00 04"); /* 0x2C is not a draft-15 type */
  check_dg(16, &s2, "2c 01 02 04");
  /* empty payload */
  moqc__ietf_datagram e = {.has_priority = true, .track_alias = 1, .group = 2, .object = 1};
  check_dg(19, &e, "00 01 02 01 00");
  /* decode rules */
  uint8_t b[32];
  moqc__ietf_datagram o;
  size_t n = it_hex(b, sizeof b, "01 01 02 02 80 00 6869");
  assert_int_equal(moqc__ietf_datagram_decode(&o, 14, b, n),
                   MOQC_ERR_DECODE); /* extensions bit, empty block */
  n = it_hex(b, sizeof b, "22 01 02 02 80 03");
  assert_int_equal(moqc__ietf_datagram_decode(&o, 16, b, n),
                   MOQC_ERR_DECODE); /* status + end of group */
  n = it_hex(b, sizeof b, "08 01 02 03 6869");
  assert_int_equal(moqc__ietf_datagram_decode(&o, 14, b, n), MOQC_ERR_DECODE); /* 0x08 is 15+ */
  n = it_hex(b, sizeof b, "10 01 02 03 6869");
  assert_int_equal(moqc__ietf_datagram_decode(&o, 16, b, n), MOQC_ERR_DECODE);
  n = it_hex(b, sizeof b, "20 01 02 00 80 03 00");
  assert_int_equal(moqc__ietf_datagram_decode(&o, 14, b, n),
                   MOQC_ERR_DECODE); /* bytes after a status */
  n = it_hex(b, sizeof b, "20 01 02 00 80 02");
  assert_int_equal(moqc__ietf_datagram_decode(&o, 14, b, n), MOQC_ERR_DECODE); /* status 2 */
  n = it_hex(b, sizeof b, "00 01 02");
  assert_int_equal(moqc__ietf_datagram_decode(&o, 14, b, n), MOQC_ERR_DECODE); /* truncated */
  /* encode errors */
  moqc__ietf_datagram bad = s;
  bad.end_of_group = true;
  assert_int_equal(moqc__ietf_datagram_encode(b, sizeof b, 16, &bad), MOQC_ERR_INVAL);
  moqc__ietf_datagram np = p;
  assert_int_equal(moqc__ietf_datagram_encode(b, sizeof b, 14, &np),
                   MOQC_ERR_INVAL); /* no default prio on 14 */
}

/* Every OBJECT_DATAGRAM type of every draft, byte for byte both ways: the
 * fields come from the type bits (0x01 extensions, 0x02 end of group, 0x04
 * object id 0 and absent, 0x08 default priority: no priority byte, 0x20
 * status form), alias 1, group 2, object 3 (0 when absent), priority 0x80,
 * extension block {0x10: 5}, status 1 (does not exist; 0, Normal, with
 * extensions: 17+ allow no other) or payload "hi".
 * Every other single-byte type is malformed on that draft. */
#define DG14 (1u << 0)
#define DG15 (1u << 1)
#define DG16 (0xFu << 2) /* 16, 17, 18, 19 */
#define DG_ALL (DG14 | DG15 | DG16)
static const struct {
  uint8_t type;
  unsigned drafts;
  const char *hex;
} dg_types[] = {
    {0x00, DG_ALL, "00 01 02 03 80 6869"},
    {0x01, DG_ALL, "01 01 02 03 80 02 1005 6869"},
    {0x02, DG_ALL, "02 01 02 03 80 6869"},
    {0x03, DG_ALL, "03 01 02 03 80 02 1005 6869"},
    {0x04, DG_ALL, "04 01 02 80 6869"},
    {0x05, DG_ALL, "05 01 02 80 02 1005 6869"},
    {0x06, DG_ALL, "06 01 02 80 6869"},
    {0x07, DG_ALL, "07 01 02 80 02 1005 6869"},
    {0x08, DG15 | DG16, "08 01 02 03 6869"},
    {0x09, DG15 | DG16, "09 01 02 03 02 1005 6869"},
    {0x0a, DG15 | DG16, "0a 01 02 03 6869"},
    {0x0b, DG15 | DG16, "0b 01 02 03 02 1005 6869"},
    {0x0c, DG15 | DG16, "0c 01 02 6869"},
    {0x0d, DG15 | DG16, "0d 01 02 02 1005 6869"},
    {0x0e, DG15 | DG16, "0e 01 02 6869"},
    {0x0f, DG15 | DG16, "0f 01 02 02 1005 6869"},
    {0x20, DG_ALL, "20 01 02 03 80 01"},
    {0x21, DG_ALL, "21 01 02 03 80 02 1005 00"},
    {0x24, DG15 | DG16, "24 01 02 80 01"},
    {0x25, DG15 | DG16, "25 01 02 80 02 1005 00"},
    {0x28, DG15 | DG16, "28 01 02 03 01"},
    {0x29, DG15 | DG16, "29 01 02 03 02 1005 00"},
    {0x2c, DG16, "2c 01 02 01"},
    {0x2d, DG16, "2d 01 02 02 1005 00"},
};

static void test_datagram_types(void **state) {
  (void)state;
  for (int v = 14; v <= 19; v++) {
    unsigned bit = 1u << (v - 14);
    size_t defined = 0;
    for (unsigned t = 0; t < 0x40; t++) {
      const char *hex = NULL;
      for (size_t i = 0; i < sizeof dg_types / sizeof dg_types[0]; i++)
        if (dg_types[i].type == t && (dg_types[i].drafts & bit)) hex = dg_types[i].hex;
      uint8_t b[64];
      if (!hex) { /* laid out as the type bits say: only the type is wrong */
        size_t n = 0;
        b[n++] = (uint8_t)t;
        b[n++] = 0x01;
        b[n++] = 0x02;
        if (!(t & 0x04)) b[n++] = 0x03;
        if (!(t & 0x08)) b[n++] = 0x80;
        if (t & 0x01) n += it_hex(b + n, sizeof b - n, "02 1005");
        n += it_hex(b + n, sizeof b - n, (t & 0x20) ? "00" : "6869");
        moqc__ietf_datagram o;
        if (moqc__ietf_datagram_decode(&o, v, b, n) != MOQC_ERR_DECODE)
          fprintf(stderr, "draft %d: type 0x%02x decodes\n", v, t);
        assert_int_equal(moqc__ietf_datagram_decode(&o, v, b, n), MOQC_ERR_DECODE);
        continue;
      }
      defined++;
      moqc__ietf_datagram d = {.end_of_group = t & 0x02,
                               .has_priority = !(t & 0x08),
                               .is_status = t & 0x20,
                               .track_alias = 1,
                               .group = 2,
                               .object = (t & 0x04) ? 0 : 3,
                               .priority = 0x80};
      if (t & 0x01) d.ext = (moqc_bytes){(const uint8_t *)"\x10\x05", 2};
      if (d.is_status)
        d.status = (t & 0x01) ? MOQC_IETF_STATUS_NORMAL : MOQC_IETF_STATUS_DOES_NOT_EXIST;
      else d.payload = (moqc_bytes)B("hi");
      check_dg(v, &d, hex);
      /* one byte short: a status datagram lacks its status, a payload one
       * has one payload byte less (still a datagram) */
      size_t n = it_hex(b, sizeof b, hex);
      moqc__ietf_datagram o;
      ssize_t r = moqc__ietf_datagram_decode(&o, v, b, n - 1);
      if (d.is_status) {
        assert_int_equal(r, MOQC_ERR_DECODE);
      } else {
        assert_int_equal(r, (ssize_t)(n - 1));
        assert_int_equal(o.payload.len, 1);
      }
      /* a buffer one byte short */
      assert_int_equal(moqc__ietf_datagram_encode(b, n - 1, v, &d), MOQC_ERR_BUFSIZE);
    }
    assert_int_equal(defined, v == 14 ? 10 : v == 15 ? 22 : 24);
  }
}

/* The "Examples" section of the drafts: a subgroup stream, header then
 * objects (header + payload), decoded and re-encoded byte for byte. The
 * second example's text gives Extension Headers Length 33 for a 14-byte
 * "traceID:123456" under Length 21; the vector keeps the 14 bytes, so its
 * block is 26 bytes. Draft-16 repeats it with type 0x35 (no priority) and
 * delta-encoded types (77 - 4 = 73, a 2-byte varint). */
static void check_stream(int v, const char *hex, int nobj) {
  uint8_t b[256], out[256];
  size_t n = it_hex(b, sizeof b, hex), pos = 0, opos = 0;
  moqc__ietf_subgroup h;
  ssize_t k = moqc__ietf_subgroup_decode(&h, v, b, n);
  assert_true(k > 0);
  pos = (size_t)k;
  opos = (size_t)moqc__ietf_subgroup_encode(out, sizeof out, v, &h);
  for (int i = 0; i < nobj; i++) {
    moqc__ietf_object o;
    k = moqc__ietf_object_decode(&o, v, h.extensions, b + pos, n - pos);
    if (k <= 0) fprintf(stderr, "draft %d object %d at %zu: %zd\n", v, i, pos, k);
    assert_true(k > 0);
    pos += (size_t)k;
    opos += (size_t)moqc__ietf_object_encode(out + opos, sizeof out - opos, v, h.extensions, &o);
    assert_true(o.size <= n - pos);
    memcpy(out + opos, b + pos, o.size);
    pos += o.size;
    opos += o.size;
  }
  assert_int_equal(pos, n);
  it_bytes_equal(out, opos, b, n);
}

static void test_draft_examples(void **state) {
  (void)state;
  check_stream(14, "14 02 00 00 00 | 00 04 61626364 | 00 04 65666768", 2);
  check_stream(
      14,
      "15 02 00 00 00 | 00 1a 04 c00000008257dcd3 404d 0e 74726163654944 3a313233343536 04 61626364"
      " | 00 00 04 65666768",
      2);
  check_stream(
      16,
      "35 02 00 00 | 00 1a 04 c00000008257dcd3 4049 0e 74726163654944 3a313233343536 04 61626364"
      " | 00 00 04 65666768",
      2);
  /* the first object's properties, iterated */
  uint8_t b[64];
  size_t n =
      it_hex(b, sizeof b, "00 1a 04 c00000008257dcd3 4049 0e 74726163654944 3a313233343536 04");
  moqc__ietf_object o;
  assert_int_equal(moqc__ietf_object_decode(&o, 16, true, b, n), (ssize_t)n);
  size_t pos = 0;
  uint64_t prev = 0;
  moqc__ietf_kvp kv;
  assert_int_equal(moqc__ietf_ext_next(16, o.ext, &pos, &prev, &kv), 1);
  assert_true(kv.key == 4 && kv.v == 2186796243u);
  assert_int_equal(moqc__ietf_ext_next(16, o.ext, &pos, &prev, &kv), 1);
  assert_true(kv.key == 77 && kv.b.len == 14 && memcmp(kv.b.ptr, "traceID:123456", 14) == 0);
  assert_int_equal(moqc__ietf_ext_next(16, o.ext, &pos, &prev, &kv), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_subgroup_every_type),
      cmocka_unit_test(test_subgroup_vectors),
      cmocka_unit_test(test_objects),
      cmocka_unit_test(test_fetch_header),
      cmocka_unit_test(test_fetch_objects),
      cmocka_unit_test(test_datagrams),
      cmocka_unit_test(test_datagram_types),
      cmocka_unit_test(test_draft_examples),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
