/* IETF moq-transport control messages: byte-exact vectors for every message
 * of every draft (14-19), both directions, plus the framing and decode
 * rules. Vectors were written by hand from the draft text / moq-dev's
 * rs/moq-net/src/ietf (the ones marked RUST are moq-dev's own test bytes). */
#include "test_ietf_wire_common.h"

#define HP MOQC_IETF_HAS_PRIORITY
#define HO MOQC_IETF_HAS_GROUP_ORDER
#define HF MOQC_IETF_HAS_FORWARD
#define HFI MOQC_IETF_HAS_FILTER
#define HL MOQC_IETF_HAS_LARGEST
#define HX MOQC_IETF_HAS_EXPIRES

#define NS1        \
  {                \
    1, { B("ns") } \
  }
#define NSAB              \
  {                       \
    2, { B("a"), B("b") } \
  }
#define NSC       \
  {               \
    1, { B("c") } \
  }
#define VIDEO B("video")

struct vec {
  int v;
  moqc__ietf_msg m;
  const char *hex;
};

/* clang-format off */
static const struct vec vecs[] = {
  /* ---------------- draft-14 ---------------- */
  {14, {.type = 0x20, .nversions = 1, .versions = {0xff00000e},
        .params = {2, {{0x02, 100, {0}}, {0x07, 0, B("moqc")}}}},
   "20 0013 01 c0000000ff00000e 02 02 4064 07 04 6d6f7163"},
  {14, {.type = 0x21, .nversions = 1, .versions = {0xff00000e}, .params = {1, {{0x02, 100, {0}}}}},
   "21 000c c0000000ff00000e 01 02 4064"},
  {14, {.type = 0x10, .reason = B("u")}, "10 0002 01 75"},
  {14, {.type = 0x15, .request_id = 100}, "15 0002 4064"},
  {14, {.type = 0x1a, .request_id = 7}, "1a 0001 07"},
  {14, {.type = 0x03, .has = HP | HO | HF | HFI, .request_id = 1, .ns = NS1, .name = VIDEO, .priority = 128,
        .group_order = 2, .forward = 1, .filter = {4, {5, 1}, 9}},
   "03 0013 01 01 02 6e73 05 766964656f 80 02 01 04 0501 09 00"},
  {14, {.type = 0x03, .has = HP | HO | HF | HFI, .request_id = 0, .ns = NS1, .name = VIDEO, .priority = 0,
        .group_order = 2, .forward = 1, .filter = {2, {0, 0}, 0}},
   "03 0010 00 01 02 6e73 05 766964656f 00 02 01 02 00"},
  {14, {.type = 0x04, .has = HX | HO | HL, .request_id = 1, .track_alias = 5, .group_order = 2,
        .largest = {3, 7}},
   "04 0008 01 05 00 02 01 0307 00"},
  {14, {.type = 0x05, .request_id = 1, .code = 500, .reason = B("no")}, "05 0006 01 41f4 02 6e6f"},
  {14, {.type = 0x02, .has = HP | HF, .request_id = 3, .update_id = 1, .filter = {0, {5, 0}, 10},
        .priority = 1, .forward = 0},
   "02 0008 03 01 0500 0a 01 00 00"},
  {14, {.type = 0x0a, .request_id = 1}, "0a 0001 01"},
  {14, {.type = 0x0b, .request_id = 1, .code = 2, .stream_count = 3}, "0b 0004 01 02 03 00"},
  {14, {.type = 0x1d, .has = HO | HF, .request_id = 2, .ns = NS1, .name = VIDEO, .track_alias = 5,
        .group_order = 1, .forward = 1},
   "1d 0010 02 01 02 6e73 05 766964656f 05 01 00 01 00"},
  {14, {.type = 0x1e, .has = HF | HP | HO | HFI, .request_id = 2, .forward = 1, .priority = 7,
        .group_order = 1, .filter = {1, {0, 0}, 0}},
   "1e 0006 02 01 07 01 01 00"},
  {14, {.type = 0x1f, .request_id = 2, .code = 4, .reason = B("x")}, "1f 0004 02 04 01 78"},
  {14, {.type = 0x16, .has = HP | HO, .request_id = 4, .priority = 1, .group_order = 1, .ns = NS1,
        .name = VIDEO, .fetch = {1, {1, 0}, {2, 5}, 0, 0}},
   "16 0013 04 01 01 01 01 02 6e73 05 766964656f 0100 0205 00"},
  {14, {.type = 0x16, .has = HP | HO, .request_id = 4, .priority = 1, .group_order = 1,
        .fetch = {2, {0, 0}, {0, 0}, 1, 0}},
   "16 0007 04 01 01 02 01 00 00"},
  {14, {.type = 0x18, .has = HO, .request_id = 4, .group_order = 1, .end_of_track = 1, .largest = {2, 5}},
   "18 0006 04 01 01 0205 00"},
  {14, {.type = 0x19, .request_id = 4, .code = 6}, "19 0003 04 06 00"},
  {14, {.type = 0x17, .request_id = 4}, "17 0001 04"},
  {14, {.type = 0x0d, .has = HP | HO | HF | HFI, .request_id = 6, .ns = NS1, .name = VIDEO, .priority = 0,
        .group_order = 2, .forward = 0, .filter = {2, {0, 0}, 0}},
   "0d 0010 06 01 02 6e73 05 766964656f 00 02 00 02 00"},
  {14, {.type = 0x0e, .has = HX | HO, .request_id = 6, .group_order = 1}, "0e 0006 06 00 00 01 00 00"},
  {14, {.type = 0x0f, .request_id = 6, .code = 4}, "0f 0003 06 04 00"},
  {14, {.type = 0x06, .request_id = 2, .ns = NSAB}, "06 0007 02 02 0161 0162 00"},
  {14, {.type = 0x07, .request_id = 2}, "07 0001 02"},
  {14, {.type = 0x08, .request_id = 2, .code = 3}, "08 0003 02 03 00"},
  {14, {.type = 0x09, .ns = NSAB}, "09 0005 02 0161 0162"},
  {14, {.type = 0x0c, .ns = NSAB, .code = 1}, "0c 0007 02 0161 0162 01 00"},
  {14, {.type = 0x11, .request_id = 0}, "11 0003 00 00 00"},
  {14, {.type = 0x12, .request_id = 0}, "12 0001 00"},
  {14, {.type = 0x13, .request_id = 0, .code = 4}, "13 0003 00 04 00"},
  {14, {.type = 0x14, .request_id = 0}, "14 0001 00"},

  /* ---------------- draft-15: no versions in SETUP, parameters replace fields ---------------- */
  {15, {.type = 0x20, .params = {1, {{0x02, 100, {0}}}}}, "20 0004 01 02 4064"},
  {15, {.type = 0x21, .params = {2, {{0x02, 100, {0}}, {0x07, 0, B("moqc")}}}},
   "21 000a 02 02 4064 07 04 6d6f7163"},
  {15, {.type = 0x10, .reason = B("u")}, "10 0002 01 75"},
  {15, {.type = 0x15, .request_id = 100}, "15 0002 4064"},
  {15, {.type = 0x1a, .request_id = 7}, "1a 0001 07"},
  {15, {.type = 0x03, .has = HF | HP | HFI | HO, .request_id = 1, .ns = NS1, .name = VIDEO, .forward = 1,
        .priority = 128, .filter = {2, {0, 0}, 0}, .group_order = 2},
   "03 0016 01 01 02 6e73 05 766964656f 04 10 01 20 4080 21 01 02 22 02"},
  /* RUST subscribe.rs: request 4, alias 4, LARGEST_OBJECT {5, 0} */
  {15, {.type = 0x04, .has = HL, .request_id = 4, .track_alias = 4, .largest = {5, 0}},
   "04 0007 04 04 01 09 02 0500"},
  {15, {.type = 0x05, .request_id = 1, .code = 500, .reason = B("no")}, "05 0006 01 41f4 02 6e6f"},
  {15, {.type = 0x07, .request_id = 2}, "07 0002 02 00"},
  {15, {.type = 0x02, .has = HF | HP | HFI, .request_id = 3, .update_id = 1, .forward = 1, .priority = 200,
        .filter = {2, {0, 0}, 0}},
   "02 000b 03 01 03 10 01 20 40c8 21 01 02"},
  {15, {.type = 0x0a, .request_id = 1}, "0a 0001 01"},
  {15, {.type = 0x0b, .request_id = 1, .code = 2, .stream_count = 3}, "0b 0004 01 02 03 00"},
  /* RUST publish.rs test_publish_v15_group_order_is_a_parameter */
  {15, {.type = 0x1d, .has = HF | HO, .request_id = 1, .ns = NS1, .name = VIDEO, .track_alias = 42,
        .forward = 1, .group_order = 2},
   "1d 0011 01 01 02 6e73 05 766964656f 2a 02 10 01 22 02"},
  {15, {.type = 0x1e, .has = HF, .request_id = 2, .forward = 1}, "1e 0004 02 01 10 01"},
  {15, {.type = 0x16, .has = HP, .request_id = 4, .priority = 1, .fetch = {3, {0, 0}, {0, 0}, 1, 7}},
   "16 0007 04 03 01 07 01 20 01"},
  {15, {.type = 0x18, .request_id = 4, .largest = {2, 5}}, "18 0005 04 00 0205 00"},
  {15, {.type = 0x17, .request_id = 4}, "17 0001 04"},
  {15, {.type = 0x0d, .request_id = 6, .ns = NS1, .name = VIDEO}, "0d 000c 06 01 02 6e73 05 766964656f 00"},
  {15, {.type = 0x06, .request_id = 2, .ns = NSAB}, "06 0007 02 02 0161 0162 00"},
  {15, {.type = 0x09, .ns = NSAB}, "09 0005 02 0161 0162"},
  {15, {.type = 0x0c, .ns = NSAB, .code = 1}, "0c 0007 02 0161 0162 01 00"},
  {15, {.type = 0x11, .request_id = 0}, "11 0003 00 00 00"},
  {15, {.type = 0x14, .request_id = 0}, "14 0001 00"},

  /* ---------------- draft-16: delta-encoded parameter types, track extensions ---------------- */
  {16, {.type = 0x20, .params = {3, {{0x01, 0, B("/x")}, {0x02, 100, {0}}, {0x07, 0, B("moqc")}}}},
   "20 000e 03 01 02 2f78 01 4064 05 04 6d6f7163"},
  {16, {.type = 0x21, .params = {1, {{0x02, 100, {0}}}}}, "21 0004 01 02 4064"},
  {16, {.type = 0x10, .reason = B("u")}, "10 0002 01 75"},
  {16, {.type = 0x15, .request_id = 100}, "15 0002 4064"},
  {16, {.type = 0x1a, .request_id = 7}, "1a 0001 07"},
  {16, {.type = 0x03, .has = HF | HP | HFI | HO, .request_id = 1, .ns = NS1, .name = VIDEO, .forward = 1,
        .priority = 128, .filter = {2, {0, 0}, 0}, .group_order = 2},
   "03 0016 01 01 02 6e73 05 766964656f 04 10 01 10 4080 01 01 02 01 02"},
  {16, {.type = 0x04, .has = HL, .request_id = 4, .track_alias = 4, .largest = {5, 0},
        .props = {1, {{0x08, 1000, {0}}}}},
   "04 000a 04 04 01 09 02 0500 08 43e8"},
  /* RUST parameters.rs test_param_location_wire_vectors (draft-16) */
  {16, {.type = 0x04, .has = HL, .request_id = 1, .track_alias = 1, .largest = {255, 128}},
   "04 0009 01 01 01 09 04 40ff 4080"},
  {16, {.type = 0x05, .request_id = 1, .code = 500, .reason = B("no")}, "05 0007 01 41f4 00 02 6e6f"},
  {16, {.type = 0x07, .request_id = 2}, "07 0002 02 00"},
  /* RUST parameters.rs test_param_u8_wire_vectors (draft-16): 01 20 40ff */
  {16, {.type = 0x02, .has = HP, .request_id = 3, .update_id = 1, .priority = 255}, "02 0006 03 01 01 20 40ff"},
  {16, {.type = 0x0a, .request_id = 1}, "0a 0001 01"},
  {16, {.type = 0x0b, .request_id = 1, .code = 2, .stream_count = 3}, "0b 0004 01 02 03 00"},
  {16, {.type = 0x1d, .has = HF, .request_id = 1, .ns = NS1, .name = VIDEO, .track_alias = 42, .forward = 1,
        .props = {1, {{0x22, 2, {0}}}}},
   "1d 0011 01 01 02 6e73 05 766964656f 2a 01 10 01 22 02"},
  {16, {.type = 0x1e, .has = HF | HP, .request_id = 2, .forward = 1, .priority = 7}, "1e 0006 02 02 10 01 10 07"},
  {16, {.type = 0x16, .has = HP | HO, .request_id = 4, .priority = 1, .group_order = 2, .ns = NS1,
        .name = VIDEO, .fetch = {1, {1, 0}, {2, 5}, 0, 0}},
   "16 0015 04 01 01 02 6e73 05 766964656f 0100 0205 02 20 01 02 02"},
  {16, {.type = 0x18, .request_id = 4, .end_of_track = 1, .largest = {2, 5}}, "18 0005 04 01 0205 00"},
  {16, {.type = 0x17, .request_id = 4}, "17 0001 04"},
  {16, {.type = 0x0d, .request_id = 6, .ns = NS1, .name = VIDEO}, "0d 000c 06 01 02 6e73 05 766964656f 00"},
  {16, {.type = 0x06, .request_id = 2, .ns = NSAB, .params = {1, {{0x03, 0, B("tk")}}}},
   "06 000b 02 02 0161 0162 01 03 02 746b"},
  {16, {.type = 0x08, .ns = NSC}, "08 0003 01 01 63"},
  {16, {.type = 0x09, .request_id = 2}, "09 0001 02"},
  {16, {.type = 0x0e, .ns = NSC}, "0e 0003 01 01 63"},
  {16, {.type = 0x0c, .request_id = 2, .code = 1}, "0c 0003 02 01 00"},
  {16, {.type = 0x11, .request_id = 0, .options = 1}, "11 0004 00 00 01 00"},

  /* ---------------- draft-17: leading-ones varints, SETUP 0x2F00, request streams ---------------- */
  {17, {.type = 0x2f00, .params = {2, {{0x01, 0, B("/x")}, {0x07, 0, B("moqc")}}}},
   "af00 000a 01 02 2f78 06 04 6d6f7163"},
  {17, {.type = 0x10, .reason = B("u"), .timeout = 5}, "10 0003 01 75 05"},
  {17, {.type = 0x03, .has = HF | HP | HFI | HO, .request_id = 1, .ns = NS1, .name = VIDEO, .forward = 1,
        .priority = 128, .filter = {2, {0, 0}, 0}, .group_order = 2},
   "03 0016 01 00 01 02 6e73 05 766964656f 04 10 01 10 80 01 01 02 01 02"},
  {17, {.type = 0x03, .has = HFI, .request_id = 300, .required_delta = 2, .ns = {0, {{0}}}, .name = B("t"),
        .filter = {4, {1000, 0}, 20000}},
   "03 0010 812c 02 00 01 74 01 21 07 04 83e8 00 c04e20"},
  {17, {.type = 0x04, .track_alias = 5, .props = {1, {{0x08, 1000, {0}}}}}, "04 0005 05 00 08 83e8"},
  {17, {.type = 0x05, .code = 500, .reason = B("no")}, "05 0006 81f4 00 02 6e6f"},
  {17, {.type = 0x07}, "07 0001 00"},
  /* RUST parameters.rs (draft-17+): SUBSCRIBER_PRIORITY is one raw byte: 01 20 ff */
  {17, {.type = 0x02, .has = HP, .request_id = 3, .priority = 255}, "02 0005 03 00 01 20 ff"},
  {17, {.type = 0x0b, .code = 2, .stream_count = 3}, "0b 0003 02 03 00"},
  {17, {.type = 0x1d, .has = HF, .request_id = 1, .ns = NS1, .name = VIDEO, .track_alias = 42, .forward = 1,
        .props = {1, {{0x22, 2, {0}}}}},
   "1d 0012 01 00 01 02 6e73 05 766964656f 2a 01 10 01 22 02"},
  /* RUST parameters.rs test_param_location_wire_vectors (draft-17): 01 09 80ff 8080 */
  {17, {.type = 0x1d, .has = HL, .request_id = 1, .ns = NS1, .name = VIDEO, .track_alias = 42,
        .largest = {255, 128}},
   "1d 0013 01 00 01 02 6e73 05 766964656f 2a 01 09 80ff 8080"},
  {17, {.type = 0x1e, .has = HF | HP, .forward = 1, .priority = 7}, "1e 0005 02 10 01 10 07"},
  {17, {.type = 0x16, .request_id = 4, .ns = NS1, .name = VIDEO, .fetch = {1, {1, 0}, {2, 5}, 0, 0}},
   "16 0012 04 00 01 01 02 6e73 05 766964656f 0100 0205 00"},
  {17, {.type = 0x18, .largest = {200, 1}}, "18 0005 00 80c8 01 00"},
  {17, {.type = 0x0d, .request_id = 6, .ns = NS1, .name = VIDEO}, "0d 000d 06 00 01 02 6e73 05 766964656f 00"},
  /* imquic ce5f0713 writes 17's TRACK_STATUS without the Required Request ID Delta */
  {17, {.type = 0x0d, .request_id = 6, .ns = NS1, .name = VIDEO, .has = MOQC_IETF_HAS_NO_DELTA},
   "0d 000c 06 01 02 6e73 05 766964656f 00"},
  {17, {.type = 0x06, .request_id = 2, .ns = NSAB}, "06 0008 02 00 02 0161 0162 00"},
  {17, {.type = 0x08, .ns = NSC}, "08 0003 01 01 63"},
  {17, {.type = 0x0e, .ns = NSC}, "0e 0003 01 01 63"},
  {17, {.type = 0x0f, .ns = NSC, .name = B("v")}, "0f 0005 01 01 63 01 76"},
  {17, {.type = 0x11, .request_id = 0, .options = 1}, "11 0005 00 00 00 01 00"},

  /* ---------------- draft-18: no Required Request ID Delta, SUBSCRIBE_NAMESPACE 0x50 ---------------- */
  {18, {.type = 0x2f00, .params = {1, {{0x05, 0, B("h")}}}}, "af00 0003 05 01 68"},
  {18, {.type = 0x10, .reason = B("u"), .timeout = 5}, "10 0003 01 75 05"},
  {18, {.type = 0x10, .has = MOQC_IETF_HAS_GOAWAY_ID, .reason = B("u"), .timeout = 5, .request_id = 8},
   "10 0004 01 75 05 08"},
  {18, {.type = 0x03, .has = HF | HP | HFI | HO, .request_id = 1, .ns = NS1, .name = VIDEO, .forward = 1,
        .priority = 128, .filter = {2, {0, 0}, 0}, .group_order = 2},
   "03 0015 01 01 02 6e73 05 766964656f 04 10 01 10 80 01 01 02 01 02"},
  {18, {.type = 0x04, .track_alias = 5}, "04 0002 05 00"},
  {18, {.type = 0x05, .code = 500, .retry_interval = 1000, .reason = B("no")}, "05 0007 81f4 83e8 02 6e6f"},
  {18, {.type = 0x07}, "07 0001 00"},
  /* 18+: REQUEST_OK ends with Track Properties (TRACK_STATUS_OK carries them) */
  {18, {.type = 0x07, .props = {1, {{0x08, 1000, {0}}}}}, "07 0004 00 08 83e8"},
  {18, {.type = 0x02, .has = HP, .request_id = 3, .priority = 255}, "02 0004 03 01 20 ff"},
  {18, {.type = 0x0b, .code = 2, .stream_count = 3}, "0b 0003 02 03 00"},
  /* RUST publish.rs: draft-18 PUBLISH, group order as a track property */
  {18, {.type = 0x1d, .has = HF, .request_id = 1, .ns = NS1, .name = VIDEO, .track_alias = 42, .forward = 1,
        .props = {1, {{0x22, 2, {0}}}}},
   "1d 0011 01 01 02 6e73 05 766964656f 2a 01 10 01 22 02"},
  {18, {.type = 0x1e, .has = HF, .forward = 0}, "1e 0003 01 10 00"},
  {18, {.type = 0x16, .request_id = 4, .fetch = {2, {0, 0}, {0, 0}, 1, 0}}, "16 0005 04 02 01 00 00"},
  {18, {.type = 0x18, .end_of_track = 1, .largest = {2, 5}}, "18 0004 01 0205 00"},
  {18, {.type = 0x0d, .request_id = 6, .ns = NS1, .name = VIDEO}, "0d 000c 06 01 02 6e73 05 766964656f 00"},
  {18, {.type = 0x06, .request_id = 2, .ns = NSAB}, "06 0007 02 02 0161 0162 00"},
  /* RUST subscribe_namespace.rs draft18_omits_subscribe_options */
  {18, {.type = 0x50, .request_id = 0}, "50 0003 00 00 00"},
  {18, {.type = 0x08, .ns = NSC}, "08 0003 01 01 63"},
  {18, {.type = 0x0e, .ns = NSC}, "0e 0003 01 01 63"},
  {18, {.type = 0x0f, .ns = NSC, .name = B("v")}, "0f 0005 01 01 63 01 76"},

  /* ---------------- draft-19: as 18, GOAWAY without the request id ---------------- */
  {19, {.type = 0x2f00, .params = {1, {{0x07, 0, B("moqc")}}}}, "af00 0006 07 04 6d6f7163"},
  {19, {.type = 0x10, .reason = B("u"), .timeout = 5}, "10 0003 01 75 05"},
  {19, {.type = 0x03, .has = HF | HP | HFI | HO, .request_id = 1, .ns = NS1, .name = VIDEO, .forward = 1,
        .priority = 128, .filter = {2, {0, 0}, 0}, .group_order = 2},
   "03 0015 01 01 02 6e73 05 766964656f 04 10 01 10 80 01 01 02 01 02"},
  {19, {.type = 0x04, .track_alias = 5, .props = {1, {{0x08, 1000, {0}}}}}, "04 0005 05 00 08 83e8"},
  {19, {.type = 0x05, .code = 4, .reason = B("")}, "05 0003 04 00 00"},
  {19, {.type = 0x07}, "07 0001 00"},
  {19, {.type = 0x07, .has = HL, .largest = {3, 4}, .props = {1, {{0x08, 1000, {0}}}}},
   "07 0007 01 09 03 04 08 83e8"},
  {19, {.type = 0x02, .has = HF, .request_id = 3, .forward = 0}, "02 0004 03 01 10 00"},
  {19, {.type = 0x0b, .code = 2, .stream_count = 3}, "0b 0003 02 03 00"},
  {19, {.type = 0x1d, .request_id = 1, .ns = NS1, .name = VIDEO, .track_alias = 42},
   "1d 000d 01 01 02 6e73 05 766964656f 2a 00"},
  {19, {.type = 0x1e}, "1e 0001 00"},
  {19, {.type = 0x16, .request_id = 4, .fetch = {3, {0, 0}, {0, 0}, 1, 7}}, "16 0005 04 03 01 07 00"},
  {19, {.type = 0x18, .largest = {2, 5}}, "18 0004 00 0205 00"},
  {19, {.type = 0x0d, .request_id = 6, .ns = NS1, .name = VIDEO}, "0d 000c 06 01 02 6e73 05 766964656f 00"},
  {19, {.type = 0x06, .request_id = 2, .ns = NSAB}, "06 0007 02 02 0161 0162 00"},
  {19, {.type = 0x50, .request_id = 2, .ns = NSAB}, "50 0007 02 02 0161 0162 00"},
  {19, {.type = 0x08, .ns = NSC}, "08 0003 01 01 63"},
  {19, {.type = 0x0e, .ns = NSC}, "0e 0003 01 01 63"},
  {19, {.type = 0x0f, .ns = NSC, .name = B("v")}, "0f 0005 01 01 63 01 76"},
};
/* clang-format on */

#define NVECS (sizeof vecs / sizeof vecs[0])

static void test_vectors(void **state) {
  (void)state;
  for (size_t i = 0; i < NVECS; i++) {
    const struct vec *t = &vecs[i];
    uint8_t want[IT_MAX], got[IT_MAX];
    size_t n = it_hex(want, sizeof want, t->hex);
    /* encode == bytes */
    ssize_t k = moqc__ietf_ctrl_encode(got, sizeof got, t->v, &t->m);
    if (k < 0)
      fprintf(stderr, "vector %zu (draft %d, type 0x%llx): encode %zd\n", i, t->v,
              (unsigned long long)t->m.type, k);
    assert_true(k > 0);
    if ((size_t)k != n || memcmp(got, want, n))
      fprintf(stderr, "vector %zu (draft %d):\n", i, t->v);
    it_bytes_equal(got, (size_t)k, want, n);
    /* decode(bytes) == struct */
    moqc__ietf_msg m;
    assert_int_equal(moqc__ietf_ctrl_decode(&m, t->v, want, n), (ssize_t)n);
    if (!ietf_msg_eq(&m, &t->m))
      fprintf(stderr, "vector %zu (draft %d): decoded fields differ\n", i, t->v);
    assert_true(ietf_msg_eq(&m, &t->m));
    /* every strict prefix needs more */
    for (size_t j = 0; j < n; j++)
      assert_int_equal(moqc__ietf_ctrl_decode(&m, t->v, want, j), MOQC_ERR_NEED_MORE);
    /* one more byte inside the declared length is malformed */
    want[n] = 0xff;
    size_t lo = moqc__ietf_varint_len(t->v, t->m.type);
    uint16_t body = (uint16_t)((want[lo] << 8 | want[lo + 1]) + 1);
    want[lo] = (uint8_t)(body >> 8);
    want[lo + 1] = (uint8_t)body;
    assert_int_equal(moqc__ietf_ctrl_decode(&m, t->v, want, n + 1), MOQC_ERR_DECODE);
    /* a short buffer is BUFSIZE */
    assert_int_equal(moqc__ietf_ctrl_encode(got, n - 1, t->v, &t->m), MOQC_ERR_BUFSIZE);
  }
}

/* Every message of every draft has at least one vector above. */
static void test_coverage(void **state) {
  (void)state;
  for (int v = MOQC_IETF_FIRST; v <= MOQC_IETF_LAST; v++) {
    for (uint64_t type = 0; type < 0x3000; type++) {
      if (!moqc__ietf_ctrl_known(v, type)) continue;
      bool found = false;
      for (size_t i = 0; i < NVECS && !found; i++) found = vecs[i].v == v && vecs[i].m.type == type;
      if (!found)
        fprintf(stderr, "no vector for draft %d %s (0x%llx)\n", v, moqc__ietf_ctrl_name(v, type),
                (unsigned long long)type);
      assert_true(found);
    }
  }
}

static void test_names(void **state) {
  (void)state;
  assert_string_equal(moqc__ietf_ctrl_name(14, 0x05), "SUBSCRIBE_ERROR");
  assert_string_equal(moqc__ietf_ctrl_name(15, 0x05), "REQUEST_ERROR");
  assert_string_equal(moqc__ietf_ctrl_name(14, 0x02), "SUBSCRIBE_UPDATE");
  assert_string_equal(moqc__ietf_ctrl_name(16, 0x02), "REQUEST_UPDATE");
  assert_string_equal(moqc__ietf_ctrl_name(14, 0x08), "PUBLISH_NAMESPACE_ERROR");
  assert_string_equal(moqc__ietf_ctrl_name(16, 0x08), "NAMESPACE");
  assert_string_equal(moqc__ietf_ctrl_name(14, 0x0e), "TRACK_STATUS_OK");
  assert_string_equal(moqc__ietf_ctrl_name(17, 0x0e), "NAMESPACE_DONE");
  assert_string_equal(moqc__ietf_ctrl_name(18, 0x0f), "PUBLISH_BLOCKED");
  assert_string_equal(moqc__ietf_ctrl_name(19, 0x0f), "PUBLISH_SKIPPED");
  assert_null(moqc__ietf_ctrl_name(17, 0x20)); /* CLIENT_SETUP gone: SETUP 0x2F00 */
  assert_null(moqc__ietf_ctrl_name(16, 0x2f00));
  assert_null(moqc__ietf_ctrl_name(18, 0x11)); /* renumbered to 0x50 */
  assert_null(moqc__ietf_ctrl_name(17, 0x50));
  assert_null(moqc__ietf_ctrl_name(17, 0x15)); /* no MAX_REQUEST_ID from 17 */
  assert_null(moqc__ietf_ctrl_name(13, 0x03));
}

static ssize_t dec_hex(int v, const char *hex) {
  uint8_t b[IT_MAX];
  moqc__ietf_msg m;
  size_t n = it_hex(b, sizeof b, hex);
  return moqc__ietf_ctrl_decode(&m, v, b, n);
}

/* FETCH_OK's end location is stored in `largest`: a LARGEST_OBJECT
 * parameter (0x09) there must stay a parameter and round-trip byte for byte
 * (the fuzz_ietf_fetch finding: it was lifted over the end location). */
static void test_fetch_ok_largest_param(void **state) {
  (void)state;
  static const char *const hex[] = {"18 0008 00 0205 01 09 02 0102",     /* 18: e E P */
                                    "18 0009 04 01 0205 01 09 02 0102"}; /* 16: R e E P K */
  static const int ver[] = {18, 16};
  for (size_t i = 0; i < 2; i++) {
    uint8_t in[64], out[64];
    size_t n = it_hex(in, sizeof in, hex[i]);
    static moqc__ietf_msg m;
    assert_int_equal(moqc__ietf_ctrl_decode(&m, ver[i], in, n), (ssize_t)n);
    assert_int_equal(m.largest.group, 2);
    assert_int_equal(m.largest.object, 5);
    assert_int_equal(m.params.n, 1);
    assert_int_equal(m.params.kv[0].key, 0x09);
    assert_int_equal(moqc__ietf_ctrl_encode(out, sizeof out, ver[i], &m), (ssize_t)n);
    assert_memory_equal(in, out, n);
  }
}

static void test_decode_rules(void **state) {
  (void)state;
  /* unknown / retired type */
  assert_int_equal(dec_hex(14, "3f 0000"), MOQC_ERR_DECODE);
  assert_int_equal(dec_hex(17, "20 0001 00"), MOQC_ERR_DECODE);
  /* truncated field inside a complete body */
  assert_int_equal(dec_hex(14, "05 0002 01 41"), MOQC_ERR_DECODE);
  /* tuple of 33 fields */
  assert_int_equal(dec_hex(14, "09 0001 21"), MOQC_ERR_DECODE);
  /* the empty tuple and a 32-field tuple are fine */
  assert_int_equal(dec_hex(14, "09 0001 00"), 4);
  {
    char hex[256] = "09 0041 20";
    for (int i = 0; i < 32; i++) strcat(hex, " 0161");
    assert_int_equal(dec_hex(14, hex), 3 + 0x41);
  }
  /* namespace field over 4096 bytes: the length alone is rejected */
  assert_int_equal(dec_hex(14, "09 0004 01 5001 61"), MOQC_ERR_DECODE);
  /* reason phrase over 1024 bytes */
  assert_int_equal(dec_hex(14, "05 0005 01 01 4401 61"), MOQC_ERR_DECODE);
  /* forward 2, group order 3, content exists 2 */
  assert_int_equal(dec_hex(14, "03 0010 00 01 02 6e73 05 766964656f 00 02 02 02 00"),
                   MOQC_ERR_DECODE);
  assert_int_equal(dec_hex(14, "03 0010 00 01 02 6e73 05 766964656f 00 03 01 02 00"),
                   MOQC_ERR_DECODE);
  assert_int_equal(dec_hex(14, "04 0006 01 05 00 02 02 00"), MOQC_ERR_DECODE);
  /* RUST subscribe.rs test_subscribe_rejects_invalid_filter_type (framed, draft-14) */
  assert_int_equal(dec_hex(14, "03 0012 01 02 01 04 74657374 05 766964656f 80 02 99 00"),
                   MOQC_ERR_DECODE);
  /* filter type 5 */
  assert_int_equal(dec_hex(14, "03 0010 00 01 02 6e73 05 766964656f 00 02 01 05 00"),
                   MOQC_ERR_DECODE);
  /* 65 parameters */
  assert_int_equal(dec_hex(14, "06 0003 02 00 41"), MOQC_ERR_DECODE);
  /* duplicate parameter (even unknown ones): absolute keys and delta 0 */
  assert_int_equal(dec_hex(14, "06 0007 02 00 02 2a 01 2a 02"), MOQC_ERR_DECODE);
  assert_int_equal(dec_hex(16, "06 0007 02 00 02 2a 01 00 02"), MOQC_ERR_DECODE);
  assert_int_equal(dec_hex(15, "06 0007 02 00 02 20 01 20 02"),
                   MOQC_ERR_DECODE); /* lifted, twice */
  /* unknown parameters are skipped: even = varint, odd = length + bytes */
  {
    uint8_t b[64];
    moqc__ietf_msg m;
    size_t n = it_hex(b, sizeof b, "06 000c 02 00 03 2a 4001 2b 02 6869 0d 00");
    assert_int_equal(moqc__ietf_ctrl_decode(&m, 14, b, n), (ssize_t)n);
    assert_int_equal(m.params.n, 3);
    assert_int_equal(moqc__ietf_params_find(&m.params, 0x2a)->v, 1);
    assert_int_equal(moqc__ietf_params_find(&m.params, 0x2b)->b.len, 2);
    assert_int_equal(moqc__ietf_params_find(&m.params, 0x0d)->b.len, 0);
  }
  /* a parameter value over 65535 bytes */
  assert_int_equal(dec_hex(14, "06 0008 02 00 01 03 80010000"), MOQC_ERR_DECODE);
  /* draft-17 SETUP: no count, a truncated pair is malformed */
  assert_int_equal(dec_hex(17, "af00 0002 01 05"), MOQC_ERR_DECODE);
  /* draft-16 track extensions: even = varint, unknown skipped */
  {
    uint8_t b[64];
    moqc__ietf_msg m;
    size_t n = it_hex(b, sizeof b, "04 0009 04 04 00 08 43e8 03 01 61");
    assert_int_equal(moqc__ietf_ctrl_decode(&m, 16, b, n), (ssize_t)n);
    assert_int_equal(m.props.n, 2);
    assert_int_equal(moqc__ietf_params_find(&m.props, 0x0b)->b.len, 1);
  }
  /* draft-17 u8 parameter as a raw byte: 0x20 = 0x80 is 128, not a 2-byte varint */
  {
    uint8_t b[64];
    moqc__ietf_msg m;
    size_t n = it_hex(b, sizeof b, "02 0005 03 00 01 20 80");
    assert_int_equal(moqc__ietf_ctrl_decode(&m, 17, b, n), (ssize_t)n);
    assert_int_equal(m.priority, 128);
  }
  /* CLIENT_SETUP (14) needs at least one version, at most 16 */
  assert_int_equal(dec_hex(14, "20 0002 00 00"), MOQC_ERR_DECODE);
  assert_int_equal(dec_hex(14, "20 0002 11 00"), MOQC_ERR_DECODE);
  /* leftover bytes after a complete message belong to the next one */
  assert_int_equal(dec_hex(14, "0a 0001 01 0a 0001 02"), 4);
}

static void test_encode_errors(void **state) {
  (void)state;
  uint8_t b[IT_MAX];
  moqc__ietf_msg m;
  memset(&m, 0, sizeof m);
  m.type = 0x2f00;
  assert_int_equal(moqc__ietf_ctrl_encode(b, sizeof b, 16, &m),
                   MOQC_ERR_INVAL); /* not in draft-16 */
  assert_int_equal(moqc__ietf_ctrl_encode(b, sizeof b, 20, &m), MOQC_ERR_INVAL);
  m.type = 0x15;
  m.request_id = 1ull << 62; /* QUIC varint cannot carry it */
  assert_int_equal(moqc__ietf_ctrl_encode(b, sizeof b, 14, &m), MOQC_ERR_OVERFLOW);
  /* unsorted params on a delta draft */
  memset(&m, 0, sizeof m);
  m.type = 0x06;
  m.params.n = 2;
  m.params.kv[0].key = 4;
  m.params.kv[1].key = 2;
  assert_int_equal(moqc__ietf_ctrl_encode(b, sizeof b, 16, &m), MOQC_ERR_INVAL);
  assert_true(moqc__ietf_ctrl_encode(b, sizeof b, 15, &m) > 0); /* absolute keys: any order */
  /* a lifted key given as a raw parameter on 15+ */
  m.params.kv[1].key = 0x20;
  assert_int_equal(moqc__ietf_ctrl_encode(b, sizeof b, 15, &m), MOQC_ERR_INVAL);
  assert_true(moqc__ietf_ctrl_encode(b, sizeof b, 14, &m) > 0);
  /* forward 2, tuple of 33, name over 4096 */
  memset(&m, 0, sizeof m);
  m.type = 0x03;
  m.filter.type = 2;
  m.forward = 2;
  assert_int_equal(moqc__ietf_ctrl_encode(b, sizeof b, 14, &m), MOQC_ERR_INVAL);
  m.forward = 1;
  m.ns.n = 33;
  assert_int_equal(moqc__ietf_ctrl_encode(b, sizeof b, 14, &m), MOQC_ERR_INVAL);
  m.ns.n = 0;
  static uint8_t big[5000];
  m.name.ptr = big;
  m.name.len = sizeof big;
  assert_int_equal(moqc__ietf_ctrl_encode(b, sizeof b, 14, &m), MOQC_ERR_INVAL);
}

static void test_peek(void **state) {
  (void)state;
  uint8_t b[16];
  size_t n = it_hex(b, sizeof b, "af00 0003 05 01 68");
  uint64_t type;
  size_t off, len;
  assert_int_equal(moqc__ietf_ctrl_peek(17, b, n, &type, &off, &len), (ssize_t)n);
  assert_int_equal(type, 0x2f00);
  assert_int_equal(off, 4);
  assert_int_equal(len, 3);
  assert_int_equal(moqc__ietf_ctrl_peek(17, b, 3, &type, &off, &len), MOQC_ERR_NEED_MORE);
  /* on draft-16 0xaf starts a 4-byte QUIC varint */
  assert_int_equal(moqc__ietf_ctrl_peek(16, b, 6, &type, &off, &len), MOQC_ERR_NEED_MORE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vectors),
      cmocka_unit_test(test_coverage),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_decode_rules),
      cmocka_unit_test(test_fetch_ok_largest_param),
      cmocka_unit_test(test_encode_errors),
      cmocka_unit_test(test_peek),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
