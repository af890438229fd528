/* The IETF group writer's object header (moqc__ietf_obj_hdr, ietf.c): the
 * same bytes as the codec's moqc__ietf_object_encode for the object moqc
 * writes (delta 0, a Timestamp extension, the payload length), for every
 * draft and across every varint length of the timestamp and the size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/ietf_wire.h"
#include "session/ietf_int.h"

static const uint64_t TS[] = {0,
                              1,
                              63,
                              64,
                              127,
                              128,
                              16383,
                              16384,
                              (1u << 21),
                              (1u << 30),
                              1764000000000ull,
                              UINT32_MAX,
                              (1ull << 40),
                              (1ull << 42) - 1,
                              (1ull << 42), /* 17+: 8 bytes */
                              (1ull << 56) - 1,
                              (1ull << 56),
                              (1ull << 62) - 1,
                              1ull << 62, /* 17+ only: 9 bytes */
                              UINT64_MAX};
static const uint64_t SIZES[] = {0,
                                 1,
                                 63,
                                 64,
                                 100,
                                 127,
                                 128,
                                 8191,
                                 8192,
                                 16383,
                                 16384,
                                 72463,
                                 65535,
                                 65536,
                                 (1u << 21),
                                 (1u << 24),
                                 MOQC_IETF_OBJECT_MAX};

/* What the codec encodes for the object (NULL length: it refuses it). */
static ssize_t codec_hdr(uint8_t *out, size_t cap, int v, uint64_t ts, uint64_t size) {
  uint8_t ext[24];
  ssize_t a = moqc__ietf_varint_encode(v, ext, sizeof ext, 0x10);
  ssize_t b = moqc__ietf_varint_encode(v, ext + a, sizeof ext - (size_t)a, ts);
  if (a <= 0 || b <= 0) return -1;
  moqc__ietf_object o = {.id_delta = 0,
                         .size = size,
                         .status = MOQC_IETF_STATUS_NORMAL,
                         .ext = {ext, (size_t)(a + b)}};
  return moqc__ietf_object_encode(out, cap, v, true, &o);
}

static void t_same_bytes_as_codec(void **state) {
  (void)state;
  size_t checked = 0;
  for (int v = 14; v <= 19; v++) {
    for (size_t i = 0; i < sizeof TS / sizeof TS[0]; i++) {
      for (size_t j = 0; j < sizeof SIZES / sizeof SIZES[0]; j++) {
        uint8_t want[64], got[MOQC__IETF_OBJ_HDR_MAX + 8];
        memset(got, 0xAA, sizeof got);
        ssize_t w = codec_hdr(want, sizeof want, v, TS[i], SIZES[j]);
        if (w < 0) continue; /* a timestamp this draft's varint cannot hold */
        ssize_t g = moqc__ietf_obj_hdr(got, v, TS[i], SIZES[j]);
        if (g != w || memcmp(got, want, (size_t)w) != 0)
          fail_msg("draft %d ts %llu size %llu: %zd bytes, the codec %zd", v,
                   (unsigned long long)TS[i], (unsigned long long)SIZES[j], g, w);
        assert_true((size_t)g <= MOQC__IETF_OBJ_HDR_MAX);
        /* nothing written past the room it asks for (the bytes between the
         * header's end and MOQC__IETF_OBJ_HDR_MAX are scratch) */
        for (size_t k = MOQC__IETF_OBJ_HDR_MAX; k < sizeof got; k++) assert_int_equal(got[k], 0xAA);
        /* and it decodes back */
        moqc__ietf_object o;
        assert_int_equal(moqc__ietf_object_decode(&o, v, true, got, (size_t)g), g);
        assert_int_equal(o.size, SIZES[j]);
        assert_int_equal(o.id_delta, 0);
        checked++;
      }
    }
  }
  assert_true(checked > 6 * 12 * 15); /* most combinations are encodable */
}

static void t_refused(void **state) {
  (void)state;
  uint8_t p[MOQC__IETF_OBJ_HDR_MAX];
  assert_int_equal(moqc__ietf_obj_hdr(p, 16, 0, (uint64_t)MOQC_IETF_OBJECT_MAX + 1),
                   MOQC_ERR_INVAL);
  assert_int_equal(moqc__ietf_obj_hdr(p, 13, 0, 1), MOQC_ERR_INVAL);
  /* a timestamp QUIC's varint cannot hold (before draft 17) */
  assert_int_equal(moqc__ietf_obj_hdr(p, 16, 1ull << 62, 1), MOQC_ERR_OVERFLOW);
  assert_true(moqc__ietf_obj_hdr(p, 17, 1ull << 62, 1) > 0);
  assert_int_equal(moqc__ietf_obj_hdr(p, 5, 0, 1), MOQC_ERR_INVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_same_bytes_as_codec),
      cmocka_unit_test(t_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
