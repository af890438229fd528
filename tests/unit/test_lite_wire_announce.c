/* moq-lite announce stream codecs (src/core/lite_wire_announce.c).
 * Messages follow moq-dev rs/moq-net/src/lite/announce.rs tests (prefix/suffix,
 * hop 7, exclude_hop 42, ANNOUNCE_OK 42/3 and 7/0, restart status). */
#include "test_lite_wire_common.h"

LT_CODEC(announce_please, 0);
LT_CODEC(announce, 0);
LT_CODEC(announce_ok, 0);

/* ---- ANNOUNCE_PLEASE ------------------------------------------------------ */

static void test_please_vectors(void **state) {
  (void)state;
  struct moqc_lite_announce_please m = {lt_str("room"), 0};
  lt_check(&LT_announce_please, MOQC_LITE_03, &m, "05 04 72 6f 6f 6d");
  m.exclude_hop = 42;
  lt_check_versions(&LT_announce_please, LT_0405, &m, "06 04 72 6f 6f 6d 2a");
  /* lite-03 has no exclude hop: not encoded, decoded as 0 */
  uint8_t b[16];
  assert_int_equal(moqc_lite_announce_please_encode(b, sizeof b, MOQC_LITE_03, &m), 6);
  assert_memory_equal(b, "\x05\x04room", 6);
  /* the relay's root prefix */
  m = (struct moqc_lite_announce_please){lt_str(""), 0};
  lt_check(&LT_announce_please, MOQC_LITE_03, &m, "01 00");
  lt_check_versions(&LT_announce_please, LT_0405, &m, "02 00 00");
  /* JS-safe origin ids stay < 2^53 but anything up to 2^62-1 is legal */
  m.exclude_hop = ((uint64_t)1 << 53) - 1;
  lt_check_versions(&LT_announce_please, LT_0405, &m, "09 00 c0 1f ff ff ff ff ff ff");
  m.exclude_hop = MOQC_VARINT_MAX + 1;
  assert_int_equal(moqc_lite_announce_please_encode(NULL, 0, MOQC_LITE_04, &m), MOQC_ERR_OVERFLOW);
  /* lite-04 needs the exclude hop */
  lt_expect_decode_hex(&LT_announce_please, MOQC_LITE_04, "05 04 72 6f 6f 6d", MOQC_ERR_DECODE);
  lt_expect_decode_hex(&LT_announce_please, 7, "01 00", MOQC_ERR_INVAL);
}

/* ---- ANNOUNCE -------------------------------------------------------------- */

#define ROOM_CAM "08 72 6f 6f 6d 2f 63 61 6d"

static void test_announce_vectors(void **state) {
  (void)state;
  struct moqc_lite_announce m = {MOQC_LITE_ANNOUNCE_ACTIVE, lt_str("room/cam"), 1, {7}};
  lt_check_versions(&LT_announce, LT_0405, &m, "0c 01 " ROOM_CAM " 01 07");
  /* lite-03 carries only the hop count; ids decode as 0 */
  m.hops[0] = 0;
  lt_check(&LT_announce, MOQC_LITE_03, &m, "0b 01 " ROOM_CAM " 01");
  /* Rust sends ended with an empty hop list */
  m = (struct moqc_lite_announce){MOQC_LITE_ANNOUNCE_ENDED, lt_str("room/cam"), 0, {0}};
  lt_check_versions(&LT_announce, LT_ALL, &m, "0b 00 " ROOM_CAM " 00");
  /* several hops of different varint sizes */
  m = (struct moqc_lite_announce){
      MOQC_LITE_ANNOUNCE_ACTIVE, lt_str("a"), 3, {7, 1000000, ((uint64_t)1 << 53) - 1}};
  lt_check_versions(&LT_announce, LT_0405, &m,
                    "11 01 01 61 03 07 80 0f 42 40 c0 1f ff ff ff ff ff ff");
  lt_expect_decode_hex(&LT_announce, MOQC_LITE_03,
                       "11 01 01 61 03 07 80 0f 42 40 c0 1f ff ff ff ff ff ff",
                       MOQC_ERR_DECODE); /* lite-03: the ids are leftover */
  /* restart (2): lite-05 only */
  m = (struct moqc_lite_announce){MOQC_LITE_ANNOUNCE_RESTART, lt_str("room/cam"), 1, {7}};
  lt_check(&LT_announce, MOQC_LITE_05, &m, "0c 02 " ROOM_CAM " 01 07");
  lt_expect_decode_hex(&LT_announce, MOQC_LITE_04, "0c 02 " ROOM_CAM " 01 07", MOQC_ERR_DECODE);
  lt_expect_decode_hex(&LT_announce, MOQC_LITE_03, "0b 02 " ROOM_CAM " 01", MOQC_ERR_DECODE);
  assert_int_equal(moqc_lite_announce_encode(NULL, 0, MOQC_LITE_04, &m), MOQC_ERR_INVAL);
  /* status is a raw u8: 3 and a varint-looking 0x40 0x01 are both invalid */
  for (int v = MOQC_LITE_03; v <= MOQC_LITE_05; v++) {
    lt_expect_decode_hex(&LT_announce, v, "0c 03 " ROOM_CAM " 01 07", MOQC_ERR_DECODE);
    lt_expect_decode_hex(&LT_announce, v, "0d 40 01 " ROOM_CAM " 01 07", MOQC_ERR_DECODE);
  }
  m.status = 3;
  assert_int_equal(moqc_lite_announce_encode(NULL, 0, MOQC_LITE_05, &m), MOQC_ERR_INVAL);
}

static void test_announce_hop_bounds(void **state) {
  (void)state;
  struct moqc_lite_announce m = {MOQC_LITE_ANNOUNCE_ACTIVE, lt_str(""), MOQC_LITE_MAX_HOPS, {0}};
  uint8_t b[LT_MAX];
  for (int v = MOQC_LITE_03; v <= MOQC_LITE_05; v++) {
    for (size_t i = 0; i < MOQC_LITE_MAX_HOPS; i++) m.hops[i] = v == MOQC_LITE_03 ? 0 : i + 1;
    m.hop_count = MOQC_LITE_MAX_HOPS;
    ssize_t n = moqc_lite_announce_encode(b, sizeof b, v, &m);
    assert_true(n > 0);
    lt_expect_decode(&LT_announce, v, b, (size_t)n, n);
    assert_true(lite_announce_eq((void *)lt_scratch, &m));
    m.hop_count = MOQC_LITE_MAX_HOPS + 1;
    assert_int_equal(moqc_lite_announce_encode(b, sizeof b, v, &m), MOQC_ERR_INVAL);
    /* a count of 33 is rejected before any id is read (no allocation anyway) */
    lt_expect_decode_hex(&LT_announce, v, "03 01 00 21", MOQC_ERR_DECODE);
    lt_expect_decode_hex(&LT_announce, v, "0a 01 00 c0 00 00 00 ff ff ff ff", MOQC_ERR_DECODE);
  }
  lt_expect_decode_hex(&LT_announce, MOQC_LITE_03, "03 01 00 20", 4);
  m.hop_count = 1;
  m.hops[0] = MOQC_VARINT_MAX + 1;
  assert_int_equal(moqc_lite_announce_encode(b, sizeof b, MOQC_LITE_04, &m), MOQC_ERR_OVERFLOW);
}

/* Build `count` segments "s/s/.../s" (+ optional stray slashes) into out. */
static size_t make_path(char *out, size_t count, bool slashes) {
  size_t n = 0;
  if (slashes) out[n++] = '/';
  for (size_t i = 0; i < count; i++) {
    if (i) {
      out[n++] = '/';
      if (slashes) out[n++] = '/';
    }
    out[n++] = 's';
  }
  if (slashes) out[n++] = '/';
  out[n] = 0;
  return n;
}

/* An ended ANNOUNCE with an arbitrary (unchecked) suffix, built by hand. */
static size_t raw_announce(uint8_t *out, size_t cap, const char *suffix, size_t len) {
  static uint8_t body[MOQC_LITE_PATH_MAX + 64];
  moqc_writer w = moqc_writer_make(body, sizeof body);
  moqc_write_u8(&w, MOQC_LITE_ANNOUNCE_ENDED);
  moqc_write_bytes(&w, suffix, len);
  moqc_write_varint(&w, 0);
  assert_int_equal(w.err, 0);
  moqc_writer o = moqc_writer_make(out, cap);
  moqc_write_bytes(&o, body, w.pos);
  assert_int_equal(o.err, 0);
  return o.pos;
}

static void test_announce_path_bounds(void **state) {
  (void)state;
  static char path[MOQC_LITE_PATH_MAX + 2];
  static uint8_t b[MOQC_LITE_PATH_MAX + 64];
  struct moqc_lite_announce m = {MOQC_LITE_ANNOUNCE_ENDED, lt_str(""), 0, {0}};
  for (int slashes = 0; slashes < 2; slashes++) {
    m.suffix.len = make_path(path, MOQC_LITE_PATH_SEGMENTS, slashes);
    m.suffix.ptr = (const uint8_t *)path;
    ssize_t n = moqc_lite_announce_encode(b, sizeof b, MOQC_LITE_04, &m);
    assert_int_equal(n, raw_announce(b + n, sizeof b - (size_t)n, path, m.suffix.len));
    assert_memory_equal(b, b + n, (size_t)n);
    lt_expect_decode(&LT_announce, MOQC_LITE_04, b, (size_t)n, n);
    /* 33 segments: INVAL to encode, DECODE to receive */
    m.suffix.len = make_path(path, MOQC_LITE_PATH_SEGMENTS + 1, slashes);
    assert_int_equal(moqc_lite_announce_encode(b, sizeof b, MOQC_LITE_04, &m), MOQC_ERR_INVAL);
    size_t k = raw_announce(b, sizeof b, path, m.suffix.len);
    lt_expect_decode(&LT_announce, MOQC_LITE_04, b, k, MOQC_ERR_DECODE);
  }
  /* "//" and leading/trailing "/" are not segments: 32 real segments pass */
  assert_int_equal(make_path(path, 2, true), 6); /* "/s//s/" */
  /* length: 4096 bytes ok, 4097 INVAL / DECODE */
  memset(path, 'x', MOQC_LITE_PATH_MAX + 1);
  m.suffix = (moqc_bytes){(const uint8_t *)path, MOQC_LITE_PATH_MAX};
  ssize_t n = moqc_lite_announce_encode(b, sizeof b, MOQC_LITE_05, &m);
  assert_int_equal(n, 2 + 1 + 2 + MOQC_LITE_PATH_MAX + 1);
  lt_expect_decode(&LT_announce, MOQC_LITE_05, b, (size_t)n, n);
  m.suffix.len++;
  assert_int_equal(moqc_lite_announce_encode(b, sizeof b, MOQC_LITE_05, &m), MOQC_ERR_INVAL);
  size_t k = raw_announce(b, sizeof b, path, MOQC_LITE_PATH_MAX + 1);
  lt_expect_decode(&LT_announce, MOQC_LITE_05, b, k, MOQC_ERR_DECODE);
  /* invalid UTF-8 */
  lt_expect_decode_hex(&LT_announce, MOQC_LITE_04, "04 01 01 ff 00", MOQC_ERR_DECODE);
  lt_expect_decode_hex(&LT_announce, MOQC_LITE_04, "05 01 02 c3 28 00", MOQC_ERR_DECODE);
  lt_expect_decode_hex(&LT_announce, MOQC_LITE_04, "05 01 02 c3 a9 00", 6);
  m.suffix = (moqc_bytes){(const uint8_t *)"\xc3\x28", 2};
  assert_int_equal(moqc_lite_announce_encode(b, sizeof b, MOQC_LITE_04, &m), MOQC_ERR_INVAL);
  m.suffix = (moqc_bytes){NULL, 1};
  assert_int_equal(moqc_lite_announce_encode(b, sizeof b, MOQC_LITE_04, &m), MOQC_ERR_INVAL);
}

/* ---- ANNOUNCE_OK (lite-05) -------------------------------------------------- */

static void test_announce_ok(void **state) {
  (void)state;
  struct moqc_lite_announce_ok m = {42, 3};
  lt_check(&LT_announce_ok, MOQC_LITE_05, &m, "02 2a 03");
  m = (struct moqc_lite_announce_ok){7, 0};
  lt_check(&LT_announce_ok, MOQC_LITE_05, &m, "02 07 00");
  m = (struct moqc_lite_announce_ok){0, 0}; /* announce_ok_accepts_zero_origin */
  lt_check(&LT_announce_ok, MOQC_LITE_05, &m, "02 00 00");
  m = (struct moqc_lite_announce_ok){((uint64_t)1 << 53) - 1, 300};
  lt_check(&LT_announce_ok, MOQC_LITE_05, &m, "0a c0 1f ff ff ff ff ff ff 41 2c");
  for (int v = MOQC_LITE_03; v <= MOQC_LITE_04; v++) {
    assert_int_equal(moqc_lite_announce_ok_encode(NULL, 0, v, &m), MOQC_ERR_INVAL);
    lt_expect_decode_hex(&LT_announce_ok, v, "02 2a 03", MOQC_ERR_INVAL);
  }
}

/* The lite-05 announce stream as Rust writes it: OK + initial set in one buffer. */
static void test_announce_stream(void **state) {
  (void)state;
  uint8_t b[LT_MAX];
  struct moqc_lite_announce_ok ok = {9, 2};
  struct moqc_lite_announce a1 = {MOQC_LITE_ANNOUNCE_ACTIVE, lt_str("x"), 0, {0}};
  struct moqc_lite_announce a2 = {MOQC_LITE_ANNOUNCE_ACTIVE, lt_str("y"), 1, {5}};
  size_t n = (size_t)moqc_lite_announce_ok_encode(b, sizeof b, MOQC_LITE_05, &ok);
  n += (size_t)moqc_lite_announce_encode(b + n, sizeof b - n, MOQC_LITE_05, &a1);
  n += (size_t)moqc_lite_announce_encode(b + n, sizeof b - n, MOQC_LITE_05, &a2);
  uint8_t want[LT_MAX];
  assert_int_equal(lt_hex(want, sizeof want, "02 09 02 | 04 01 01 78 00 | 05 01 01 79 01 05"), n);
  assert_memory_equal(b, want, n);
  struct moqc_lite_announce_ok gok;
  struct moqc_lite_announce g;
  size_t off = 0;
  ssize_t k = moqc_lite_announce_ok_decode(&gok, MOQC_LITE_05, b, n);
  assert_int_equal(k, 3);
  assert_true(lite_announce_ok_eq(&gok, &ok));
  for (off = (size_t)k; gok.active--; off += (size_t)k) {
    k = moqc_lite_announce_decode(&g, MOQC_LITE_05, b + off, n - off);
    assert_true(k > 0);
  }
  assert_int_equal(off, n);
  assert_true(lite_announce_eq(&g, &a2));
}

/* ---- moq-dev's own tests, byte for byte ------------------------------------
 * The cases of moq-dev/moq rs/moq-net/src/lite/announce.rs `mod tests` (read at
 * commit 05aea72d03a5) not covered above, with the bytes its encoder writes:
 * - decodes_explicit_restart_status_as_active_on_lite05 and
 *   rejects_explicit_restart_status_before_lite05: an Active "foo/bar" with an
 *   empty hop list, its status byte (index 1) forged from 1 to 2;
 * - announce_update_rejected_before_lite06: an Active "foo" with status 3
 *   (ANNOUNCE_UPDATE) on lite-05;
 * - announce_ok_rejects_old_versions: ANNOUNCE_OK {origin 1, active 0} on lite-04.
 * announce_cost_round_trip_on_lite06 and announce_active_requires_cost_on_lite06
 * are lite-06 (route cost on the wire), which moqc does not speak. */
#define FOO_BAR "07 66 6f 6f 2f 62 61 72"

static void test_moq_dev_announce_rs(void **state) {
  (void)state;
  struct moqc_lite_announce m = {MOQC_LITE_ANNOUNCE_ACTIVE, lt_str("foo/bar"), 0, {0}};
  lt_check_versions(&LT_announce, LT_0405, &m, "0a 01 " FOO_BAR " 00");
  /* the forged restart: lite-05 takes it (moq-net surfaces it as Active, the
   * session as a restart of an announced path), lite-04 refuses the status */
  lt_expect_decode_hex(&LT_announce, MOQC_LITE_05, "0a 02 " FOO_BAR " 00", 11);
  const struct moqc_lite_announce *got = (const void *)lt_scratch;
  assert_int_equal(got->status, MOQC_LITE_ANNOUNCE_RESTART);
  assert_int_equal(got->suffix.len, 7);
  assert_memory_equal(got->suffix.ptr, "foo/bar", 7);
  assert_int_equal(got->hop_count, 0);
  lt_expect_decode_hex(&LT_announce, MOQC_LITE_04, "0a 02 " FOO_BAR " 00", MOQC_ERR_DECODE);
  /* ANNOUNCE_UPDATE (3) does not exist before lite-06 */
  m = (struct moqc_lite_announce){MOQC_LITE_ANNOUNCE_ACTIVE, lt_str("foo"), 0, {0}};
  lt_check(&LT_announce, MOQC_LITE_05, &m, "06 01 03 66 6f 6f 00");
  lt_expect_decode_hex(&LT_announce, MOQC_LITE_05, "06 03 03 66 6f 6f 00", MOQC_ERR_DECODE);
  /* rs/moq-relay/src/cluster.rs tests: passive_rendezvous_runs_without_client_and_advertises_self
   * registers "rendezvous.example.com:4443" at MESH_PREFIX ".internal/origins"
   * (Path::new(MESH_PREFIX).join(node)), and cluster_id_sets_origin uses id 42:
   * that registration as a lite-04/05 peer sends it from a relay with id 42. */
  m = (struct moqc_lite_announce){
      MOQC_LITE_ANNOUNCE_ACTIVE, lt_str(".internal/origins/rendezvous.example.com:4443"), 1, {42}};
  lt_check_versions(&LT_announce, LT_0405, &m,
                    "31 01 2d 2e 69 6e 74 65 72 6e 61 6c 2f 6f 72 69 67 69 6e 73 2f 72 65 6e 64 65 "
                    "7a 76 6f 75 73 2e 65 78 61 6d 70 6c 65 2e 63 6f 6d 3a 34 34 34 33 01 2a");
  /* ANNOUNCE_OK is lite-05 only */
  struct moqc_lite_announce_ok ok = {1, 0};
  lt_check(&LT_announce_ok, MOQC_LITE_05, &ok, "02 01 00");
  assert_int_equal(moqc_lite_announce_ok_encode(NULL, 0, MOQC_LITE_04, &ok), MOQC_ERR_INVAL);
  uint8_t b[8];
  assert_int_equal(moqc_lite_announce_ok_encode(b, sizeof b, MOQC_LITE_04, &ok), MOQC_ERR_INVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_please_vectors),      cmocka_unit_test(test_announce_vectors),
      cmocka_unit_test(test_announce_hop_bounds), cmocka_unit_test(test_announce_path_bounds),
      cmocka_unit_test(test_announce_ok),         cmocka_unit_test(test_announce_stream),
      cmocka_unit_test(test_moq_dev_announce_rs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
