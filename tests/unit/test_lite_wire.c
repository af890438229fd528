/* moq-lite wire codecs: versions, stream types, framing, GROUP / FRAME /
 * DATAGRAM (src/core/lite_wire.c). Vectors: moq-wire.md §2.5/§2.6 and
 * moq-dev rs/moq-net/src/lite/datagram.rs, coding/varint.rs. */
#include "test_lite_wire_common.h"

LT_CODEC(group, 0);

/* ---- versions / ALPN ---------------------------------------------------- */

static void test_alpn(void **state) {
  (void)state;
  assert_int_equal(moqc_lite_version_from_alpn("moq-lite-03", 11), MOQC_LITE_03);
  assert_int_equal(moqc_lite_version_from_alpn("moq-lite-04", 11), MOQC_LITE_04);
  assert_int_equal(moqc_lite_version_from_alpn("moq-lite-05", 11), MOQC_LITE_05);
  assert_int_equal(moqc_lite_version_from_alpn("moq-lite-05x", 11), MOQC_LITE_05); /* len */
  assert_int_equal(moqc_lite_version_from_alpn("moq-lite-05", 10), MOQC_ERR_VERSION);
  assert_int_equal(moqc_lite_version_from_alpn("moq-lite-06-wip", 15), MOQC_ERR_VERSION);
  assert_int_equal(moqc_lite_version_from_alpn("moql", 4), MOQC_ERR_VERSION);
  assert_int_equal(moqc_lite_version_from_alpn("", 0), MOQC_ERR_VERSION);
  assert_int_equal(moqc_lite_version_from_alpn(NULL, 0), MOQC_ERR_VERSION);
  assert_string_equal(moqc_lite_version_alpn(MOQC_LITE_03), "moq-lite-03");
  assert_string_equal(moqc_lite_version_alpn(MOQC_LITE_04), "moq-lite-04");
  assert_string_equal(moqc_lite_version_alpn(MOQC_LITE_05), "moq-lite-05");
  assert_null(moqc_lite_version_alpn(2));
  assert_null(moqc_lite_version_alpn(6));
  for (int v = 0; v < 8; v++) {
    assert_int_equal(moqc_lite_version_valid(v), v >= 3 && v <= 5);
  }
}

/* ---- stream types --------------------------------------------------------- */

static void test_stream_type(void **state) {
  (void)state;
  uint8_t b[8];
  uint64_t t;
  assert_int_equal(moqc_lite_stream_type_encode(NULL, 0, MOQC_LITE_BIDI_SUBSCRIBE), 1);
  assert_int_equal(moqc_lite_stream_type_encode(b, 1, MOQC_LITE_BIDI_SUBSCRIBE), 1);
  assert_int_equal(b[0], 0x02);
  assert_int_equal(moqc_lite_stream_type_encode(b, 0, 1), MOQC_ERR_BUFSIZE);
  assert_int_equal(moqc_lite_stream_type_encode(b, 8, 0x40), 2);
  assert_int_equal(b[0], 0x40);
  assert_int_equal(b[1], 0x40);
  assert_int_equal(moqc_lite_stream_type_encode(b, 8, MOQC_VARINT_MAX + 1), MOQC_ERR_OVERFLOW);
  assert_int_equal(moqc_lite_stream_type_decode(&t, b, 0), MOQC_ERR_NEED_MORE);
  assert_int_equal(moqc_lite_stream_type_decode(&t, b, 1), MOQC_ERR_NEED_MORE);
  assert_int_equal(moqc_lite_stream_type_decode(&t, b, 2), 2);
  assert_int_equal(t, 0x40);
  b[0] = 0x06;
  assert_int_equal(moqc_lite_stream_type_decode(&t, b, 1), 1);
  assert_int_equal(t, MOQC_LITE_BIDI_TRACK);
}

static void test_known_stream_types(void **state) {
  (void)state;
  /* bidi types 0..7 per version: Session(0) never; Goaway 04+; Track 05. */
  static const bool bidi[3][8] = {
      {false, true, true, true, true, false, false, false},
      {false, true, true, true, true, true, false, false},
      {false, true, true, true, true, true, true, false},
  };
  static const bool uni[3][3] = {{true, false, false}, {true, false, false}, {true, true, false}};
  for (int v = MOQC_LITE_03; v <= MOQC_LITE_05; v++) {
    for (uint64_t t = 0; t < 8; t++) {
      assert_int_equal(moqc_lite_is_known_stream_type(v, true, t), bidi[v - 3][t]);
    }
    for (uint64_t t = 0; t < 3; t++) {
      assert_int_equal(moqc_lite_is_known_stream_type(v, false, t), uni[v - 3][t]);
    }
    assert_false(moqc_lite_is_known_stream_type(v, true, 0x20)); /* ClientCompat */
    assert_false(moqc_lite_is_known_stream_type(v, false, MOQC_VARINT_MAX));
  }
  assert_false(moqc_lite_is_known_stream_type(2, true, MOQC_LITE_BIDI_SUBSCRIBE));
  assert_false(moqc_lite_is_known_stream_type(6, false, MOQC_LITE_UNI_GROUP));
}

/* ---- peek_msg ------------------------------------------------------------------ */

static void test_peek_msg(void **state) {
  (void)state;
  uint8_t b[LT_MAX] = {0};
  size_t off = 99, blen = 99;
  assert_int_equal(moqc_lite_peek_msg(b, 0, &off, &blen), MOQC_ERR_NEED_MORE);
  assert_int_equal(moqc_lite_peek_msg(NULL, 0, &off, &blen), MOQC_ERR_NEED_MORE);
  size_t n = lt_hex(b, sizeof b, "03 aa bb cc dd");
  assert_int_equal(moqc_lite_peek_msg(b, 3, &off, &blen), MOQC_ERR_NEED_MORE);
  assert_int_equal(moqc_lite_peek_msg(b, n, &off, &blen), 4);
  assert_int_equal(off, 1);
  assert_int_equal(blen, 3);
  assert_int_equal(moqc_lite_peek_msg(b, n, NULL, NULL), 4);
  /* empty body */
  n = lt_hex(b, sizeof b, "00");
  assert_int_equal(moqc_lite_peek_msg(b, n, &off, &blen), 1);
  assert_int_equal(blen, 0);
  /* a 2-byte length prefix, and a truncated prefix */
  n = lt_hex(b, sizeof b, "40 02 aa bb");
  assert_int_equal(moqc_lite_peek_msg(b, 1, &off, &blen), MOQC_ERR_NEED_MORE);
  assert_int_equal(moqc_lite_peek_msg(b, n, &off, &blen), 4);
  assert_int_equal(off, 2);
  /* exactly 64 KiB is allowed (reported NEED_MORE), one more is DECODE at once */
  n = lt_hex(b, sizeof b, "80 01 00 00");
  assert_int_equal(moqc_lite_peek_msg(b, n, &off, &blen), MOQC_ERR_NEED_MORE);
  n = lt_hex(b, sizeof b, "80 01 00 01");
  assert_int_equal(moqc_lite_peek_msg(b, n, &off, &blen), MOQC_ERR_DECODE);
  n = lt_hex(b, sizeof b, "ff ff ff ff ff ff ff ff");
  assert_int_equal(moqc_lite_peek_msg(b, n, &off, &blen), MOQC_ERR_DECODE);
}

/* ---- GROUP header ------------------------------------------------------------------ */

static void test_group_vectors(void **state) {
  (void)state;
  struct moqc_lite_group g = {0, 5};
  lt_check_versions(&LT_group, LT_ALL, &g, "02 00 05"); /* moq-wire.md §2.5 */
  g = (struct moqc_lite_group){63, 64};
  lt_check_versions(&LT_group, LT_ALL, &g, "03 3f 40 40");
  g = (struct moqc_lite_group){16384, MOQC_VARINT_MAX};
  lt_check_versions(&LT_group, LT_ALL, &g, "0c 80 00 40 00 ff ff ff ff ff ff ff ff");
  /* non-minimal varints are accepted */
  lt_expect_decode_hex(&LT_group, MOQC_LITE_04, "03 40 00 05", 4);
  g = (struct moqc_lite_group){MOQC_VARINT_MAX + 1, 0};
  assert_int_equal(moqc_lite_group_encode(NULL, 0, MOQC_LITE_04, &g), MOQC_ERR_OVERFLOW);
  g.subscribe = 0;
  assert_int_equal(moqc_lite_group_encode(NULL, 0, 2, &g), MOQC_ERR_INVAL);
  assert_int_equal(moqc_lite_group_encode(NULL, 0, 6, &g), MOQC_ERR_INVAL);
  assert_int_equal(moqc_lite_group_encode(NULL, 0, MOQC_LITE_04, NULL), MOQC_ERR_INVAL);
  lt_expect_decode_hex(&LT_group, 6, "02 00 05", MOQC_ERR_INVAL);
  lt_expect_decode_hex(&LT_group, MOQC_LITE_05, "01 00", MOQC_ERR_DECODE); /* short body */
  lt_expect_decode_hex(&LT_group, MOQC_LITE_05, "02 00 40", MOQC_ERR_DECODE);
}

/* ---- FRAME header -------------------------------------------------------------------- */

/* Encode a whole group's frames (header + payload) from a baseline of 0. */
static size_t put_frames(uint8_t *out, int v, const uint64_t *ts, const char *const *payload,
                         size_t count) {
  size_t n = 0;
  uint64_t prev = 0;
  for (size_t i = 0; i < count; i++) {
    struct moqc_lite_frame f = {ts[i], strlen(payload[i])};
    ssize_t k = moqc_lite_frame_encode(out + n, LT_MAX - n, v, prev, &f);
    assert_true(k > 0);
    assert_int_equal(moqc_lite_frame_encode(NULL, 0, v, prev, &f), k);
    n += (size_t)k;
    memcpy(out + n, payload[i], f.size);
    n += f.size;
    prev = ts[i];
  }
  return n;
}

/* Walk a group stream body: header, skip payload (zero-copy), repeat. */
static size_t walk_frames(const uint8_t *in, size_t len, int v, struct moqc_lite_frame *out,
                          size_t max) {
  size_t off = 0, count = 0;
  uint64_t prev = 0;
  while (off < len) {
    assert_true(count < max);
    ssize_t k = moqc_lite_frame_decode(&out[count], v, prev, in + off, len - off);
    assert_true(k > 0);
    off += (size_t)k + out[count].size;
    assert_true(off <= len);
    prev = out[count++].timestamp;
  }
  return count;
}

static void test_group_stream_examples(void **state) {
  (void)state;
  static const uint64_t ts[] = {1000, 1033};
  static const char *const pl[] = {"hi", "yo"};
  uint8_t want[LT_MAX], out[LT_MAX];
  struct moqc_lite_frame f[4];
  struct moqc_lite_group g = {0, 5};

  /* lite-05 (moq-wire.md §2.5): 00 | 02 00 05 | 47 d0 02 68 69 | 40 42 02 79 6f */
  size_t n = lt_hex(want, sizeof want, "00 | 02 00 05 | 47 d0 02 68 69 | 40 42 02 79 6f");
  size_t k = (size_t)moqc_lite_stream_type_encode(out, LT_MAX, MOQC_LITE_UNI_GROUP);
  k += (size_t)moqc_lite_group_encode(out + k, LT_MAX - k, MOQC_LITE_05, &g);
  k += put_frames(out + k, MOQC_LITE_05, ts, pl, 2);
  assert_int_equal(k, n);
  assert_memory_equal(out, want, n);
  assert_int_equal(walk_frames(want + 4, n - 4, MOQC_LITE_05, f, 4), 2);
  assert_int_equal(f[0].timestamp, 1000);
  assert_int_equal(f[0].size, 2);
  assert_int_equal(f[1].timestamp, 1033);
  assert_int_equal(f[1].size, 2);

  /* lite-04 and lite-03: 00 | 02 00 05 | 02 68 69 | 02 79 6f (timestamps not on the wire) */
  n = lt_hex(want, sizeof want, "00 | 02 00 05 | 02 68 69 | 02 79 6f");
  for (int v = MOQC_LITE_03; v <= MOQC_LITE_04; v++) {
    k = (size_t)moqc_lite_stream_type_encode(out, LT_MAX, MOQC_LITE_UNI_GROUP);
    k += (size_t)moqc_lite_group_encode(out + k, LT_MAX - k, v, &g);
    k += put_frames(out + k, v, ts, pl, 2);
    assert_int_equal(k, n);
    assert_memory_equal(out, want, n);
    assert_int_equal(walk_frames(want + 4, n - 4, v, f, 4), 2);
    assert_int_equal(f[0].timestamp, 0);
    assert_int_equal(f[1].size, 2);
  }
}

/* Frame headers at every varint length boundary (the one- and two-byte forms
 * are written by a fast path): each equals the generic varint encoding, both
 * for the size and for lite-05's zigzag timestamp delta, and decodes back. */
static void test_frame_header_boundaries(void **state) {
  (void)state;
  static const uint64_t sizes[] = {0,     1,     62,    63,    64,       65,
                                   16382, 16383, 16384, 16385, 1u << 20, MOQC_LITE_FRAME_MAX};
  static const uint64_t deltas[] = {0, 31, 32, 8191, 8192, 1u << 29};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    for (size_t d = 0; d < sizeof deltas / sizeof deltas[0]; d++) {
      uint64_t prev = 1000, ts = prev + deltas[d];
      uint8_t got[MOQC_LITE_FRAME_HDR_MAX], want[MOQC_LITE_FRAME_HDR_MAX];
      ssize_t wn = moqc_varint_encode(want, sizeof want, moqc_zigzag_encode((int64_t)deltas[d]));
      assert_true(wn > 0);
      ssize_t k = moqc_varint_encode(want + wn, sizeof want - (size_t)wn, sizes[i]);
      assert_true(k > 0);
      wn += k;
      assert_int_equal(moqc__lite_frame_hdr(got, MOQC_LITE_05, prev, ts, sizes[i]), wn);
      assert_memory_equal(got, want, (size_t)wn);
      struct moqc_lite_frame f;
      assert_int_equal(moqc_lite_frame_decode(&f, MOQC_LITE_05, prev, got, (size_t)wn), wn);
      assert_int_equal(f.size, sizes[i]);
      assert_int_equal(f.timestamp, ts);
    }
    uint8_t got[MOQC_LITE_FRAME_HDR_MAX], want[MOQC_LITE_FRAME_HDR_MAX];
    ssize_t wn = moqc_varint_encode(want, sizeof want, sizes[i]);
    assert_int_equal(moqc__lite_frame_hdr(got, MOQC_LITE_04, 0, 0, sizes[i]), wn);
    assert_memory_equal(got, want, (size_t)wn);
  }
}

static void test_frame_header(void **state) {
  (void)state;
  uint8_t b[16];
  struct moqc_lite_frame f;
  /* header only: the payload need not be present; prefixes need more */
  size_t n = lt_hex(b, sizeof b, "47 d0 02");
  assert_int_equal(moqc_lite_frame_decode(&f, MOQC_LITE_05, 0, b, n), 3);
  for (size_t k = 0; k < n; k++) {
    assert_int_equal(moqc_lite_frame_decode(&f, MOQC_LITE_05, 0, b, k), MOQC_ERR_NEED_MORE);
  }
  assert_int_equal(moqc_lite_frame_decode(&f, MOQC_LITE_04, 0, b, 1), MOQC_ERR_NEED_MORE);
  /* empty frame, and lite-04 ignores prev_ts */
  n = lt_hex(b, sizeof b, "00 00");
  assert_int_equal(moqc_lite_frame_decode(&f, MOQC_LITE_05, 7, b, n), 2);
  assert_int_equal(f.timestamp, 7);
  assert_int_equal(f.size, 0);
  assert_int_equal(moqc_lite_frame_decode(&f, MOQC_LITE_04, 7, b, n), 1);
  assert_int_equal(f.timestamp, 0);
  /* negative resulting timestamp */
  n = lt_hex(b, sizeof b, "01 00");
  assert_int_equal(moqc_lite_frame_decode(&f, MOQC_LITE_05, 0, b, n), MOQC_ERR_DECODE);
  assert_int_equal(moqc_lite_frame_decode(&f, MOQC_LITE_05, 1, b, n), 2);
  assert_int_equal(f.timestamp, 0);
  /* above 2^62-1 */
  n = lt_hex(b, sizeof b, "04 00"); /* +2 */
  assert_int_equal(moqc_lite_frame_decode(&f, MOQC_LITE_05, MOQC_VARINT_MAX - 1, b, n),
                   MOQC_ERR_DECODE);
  assert_int_equal(moqc_lite_frame_decode(&f, MOQC_LITE_05, MOQC_VARINT_MAX, b, n),
                   MOQC_ERR_DECODE);
  assert_int_equal(moqc_lite_frame_decode(&f, MOQC_LITE_05, MOQC_VARINT_MAX + 1, b, n),
                   MOQC_ERR_INVAL);
  n = lt_hex(b, sizeof b, "02 00"); /* +1 */
  assert_int_equal(moqc_lite_frame_decode(&f, MOQC_LITE_05, MOQC_VARINT_MAX - 1, b, n), 2);
  assert_int_equal(f.timestamp, MOQC_VARINT_MAX);
  /* size bound: 32 MiB ok, one more is TOO_LARGE */
  n = lt_hex(b, sizeof b, "82 00 00 00");
  assert_int_equal(moqc_lite_frame_decode(&f, MOQC_LITE_04, 0, b, n), 4);
  assert_int_equal(f.size, MOQC_LITE_FRAME_MAX);
  n = lt_hex(b, sizeof b, "82 00 00 01");
  assert_int_equal(moqc_lite_frame_decode(&f, MOQC_LITE_04, 0, b, n), MOQC_ERR_TOO_LARGE);
  f = (struct moqc_lite_frame){0, MOQC_LITE_FRAME_MAX + 1};
  assert_int_equal(moqc_lite_frame_encode(b, sizeof b, MOQC_LITE_04, 0, &f), MOQC_ERR_INVAL);
  /* bad arguments */
  assert_int_equal(moqc_lite_frame_decode(&f, 2, 0, b, n), MOQC_ERR_INVAL);
  assert_int_equal(moqc_lite_frame_decode(NULL, MOQC_LITE_05, 0, b, n), MOQC_ERR_INVAL);
  assert_int_equal(moqc_lite_frame_encode(b, sizeof b, MOQC_LITE_05, 0, NULL), MOQC_ERR_INVAL);
}

/* zigzag through the frame header (coding/varint.rs zigzag_small_values_compact). */
static void test_zigzag(void **state) {
  (void)state;
  static const int64_t n[] = {0, -1, 1, -2, 2};
  for (uint64_t i = 0; i < 5; i++) {
    assert_int_equal(moqc_zigzag_encode(n[i]), i);
    assert_int_equal(moqc_zigzag_decode(i), n[i]);
  }
  uint8_t b[16];
  const uint64_t base = 1000;
  for (size_t i = 0; i < 5; i++) {
    struct moqc_lite_frame f = {(uint64_t)((int64_t)base + n[i]), 3}, g;
    assert_int_equal(moqc_lite_frame_encode(b, sizeof b, MOQC_LITE_05, base, &f), 2);
    assert_int_equal(b[0], i);
    assert_int_equal(b[1], 3);
    assert_int_equal(moqc_lite_frame_decode(&g, MOQC_LITE_05, base, b, 2), 2);
    assert_true(lite_frame_eq(&f, &g));
  }
  /* Rust range [-2^61, 2^61): boundaries encode, one past is OVERFLOW */
  const uint64_t r = (uint64_t)1 << 61;
  struct moqc_lite_frame f = {r - 1, 0}, g;
  ssize_t k = moqc_lite_frame_encode(b, sizeof b, MOQC_LITE_05, 0, &f);
  assert_int_equal(k, 9);
  assert_memory_equal(b, "\xff\xff\xff\xff\xff\xff\xff\xfe\x00", 9);
  assert_int_equal(moqc_lite_frame_decode(&g, MOQC_LITE_05, 0, b, 9), 9);
  assert_int_equal(g.timestamp, r - 1);
  f.timestamp = r;
  assert_int_equal(moqc_lite_frame_encode(b, sizeof b, MOQC_LITE_05, 0, &f), MOQC_ERR_OVERFLOW);
  f.timestamp = 0; /* delta -2^61 */
  k = moqc_lite_frame_encode(b, sizeof b, MOQC_LITE_05, r, &f);
  assert_int_equal(k, 9);
  assert_memory_equal(b, "\xff\xff\xff\xff\xff\xff\xff\xff\x00", 9);
  assert_int_equal(moqc_lite_frame_decode(&g, MOQC_LITE_05, r, b, 9), 9);
  assert_int_equal(g.timestamp, 0);
  assert_int_equal(moqc_lite_frame_encode(b, sizeof b, MOQC_LITE_05, r + 1, &f), MOQC_ERR_OVERFLOW);
  f.timestamp = MOQC_VARINT_MAX + 1;
  assert_int_equal(moqc_lite_frame_encode(b, sizeof b, MOQC_LITE_05, f.timestamp, &f),
                   MOQC_ERR_OVERFLOW);
  /* lite-04 never looks at timestamps */
  assert_int_equal(moqc_lite_frame_encode(b, sizeof b, MOQC_LITE_04, 0, &f), 1);
  assert_int_equal(moqc_lite_frame_encode(b, 1, MOQC_LITE_05, 0, &g), MOQC_ERR_BUFSIZE);
}

/* ---- DATAGRAM ------------------------------------------------------------------------------ */

static void test_datagram(void **state) {
  (void)state;
  /* datagram.rs no_inner_length_prefix: 1-byte varints + 5-byte payload = 8 bytes */
  struct moqc_lite_datagram d = {1, 2, 3, lt_str("world")}, e;
  uint8_t b[64], want[64];
  size_t n = lt_hex(want, sizeof want, "01 02 03 77 6f 72 6c 64");
  assert_int_equal(n, 8);
  assert_int_equal(moqc_lite_datagram_encode(NULL, 0, MOQC_LITE_05, &d), 8);
  assert_int_equal(moqc_lite_datagram_encode(b, sizeof b, MOQC_LITE_05, &d), 8);
  assert_memory_equal(b, want, 8);
  assert_int_equal(moqc_lite_datagram_encode(b, 7, MOQC_LITE_05, &d), MOQC_ERR_BUFSIZE);
  assert_int_equal(moqc_lite_datagram_decode(&e, MOQC_LITE_05, want, n), 8);
  assert_true(lite_datagram_eq(&d, &e));
  assert_ptr_equal(e.payload.ptr, want + 3); /* zero-copy */
  /* datagram.rs roundtrip: 7 / 42 / 1000 / "hello" */
  d = (struct moqc_lite_datagram){7, 42, 1000, lt_str("hello")};
  n = lt_hex(want, sizeof want, "07 2a 43 e8 68 65 6c 6c 6f");
  assert_int_equal(moqc_lite_datagram_encode(b, sizeof b, MOQC_LITE_05, &d), (ssize_t)n);
  assert_memory_equal(b, want, n);
  assert_int_equal(moqc_lite_datagram_decode(&e, MOQC_LITE_05, want, n), (ssize_t)n);
  assert_true(lite_datagram_eq(&d, &e));
  /* a shorter datagram is just a shorter payload */
  assert_int_equal(moqc_lite_datagram_decode(&e, MOQC_LITE_05, want, n - 2), (ssize_t)n - 2);
  assert_int_equal(e.payload.len, 3);
  /* empty payload; a truncated header is malformed (datagrams arrive whole) */
  d = (struct moqc_lite_datagram){0, 0, 0, {NULL, 0}};
  n = lt_hex(want, sizeof want, "00 00 00");
  assert_int_equal(moqc_lite_datagram_encode(b, sizeof b, MOQC_LITE_05, &d), 3);
  assert_memory_equal(b, want, 3);
  assert_int_equal(moqc_lite_datagram_decode(&e, MOQC_LITE_05, want, n), 3);
  assert_true(lite_datagram_eq(&d, &e));
  for (size_t k = 0; k < n; k++) {
    assert_int_equal(moqc_lite_datagram_decode(&e, MOQC_LITE_05, want, k), MOQC_ERR_DECODE);
  }
  /* lite-05 only (datagram.rs rejects_old_versions) */
  assert_int_equal(moqc_lite_datagram_encode(b, sizeof b, MOQC_LITE_04, &d), MOQC_ERR_INVAL);
  assert_int_equal(moqc_lite_datagram_decode(&e, MOQC_LITE_04, (const uint8_t *)"\x01\x02\x03x", 4),
                   MOQC_ERR_INVAL);
  d.payload = (moqc_bytes){NULL, 1};
  assert_int_equal(moqc_lite_datagram_encode(b, sizeof b, MOQC_LITE_05, &d), MOQC_ERR_INVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_alpn),
      cmocka_unit_test(test_stream_type),
      cmocka_unit_test(test_known_stream_types),
      cmocka_unit_test(test_peek_msg),
      cmocka_unit_test(test_group_vectors),
      cmocka_unit_test(test_group_stream_examples),
      cmocka_unit_test(test_frame_header),
      cmocka_unit_test(test_frame_header_boundaries),
      cmocka_unit_test(test_zigzag),
      cmocka_unit_test(test_datagram),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
