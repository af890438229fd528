/* libFuzzer target: an IETF moq-transport server session, drafts 14 to 19 (the
 * draft from the first input byte: 14 + (b & 0x7f) % 6; bit 0x80: the server
 * publishes "b"/"t"), fed random stream events over the mock transport of
 * fuzz_session.c, in the same event format (see there). Checks: no crash, no
 * leak, no UB (ASan/UBSan/LSan), whatever the control messages, request
 * streams (17+), SETUP streams and subgroup streams say.
 *
 * The seed corpus (tests/fuzz/corpus/fuzz_session_ietf) is written by the
 * generator below: build this file with -DFUZZ_SESSION_GEN against the
 * session layer and run it with the corpus directory, e.g.
 *   clang -DFUZZ_SESSION_GEN -D_GNU_SOURCE -Iinclude -Isrc tests/fuzz/fuzz_session_ietf.c \
 *     build/asan/libmoqc_session.a build/asan/libmoqc_model.a build/asan/libmoqc_core.a \
 *     -fsanitize=address,undefined -o gen && ./gen tests/fuzz/corpus/fuzz_session_ietf */
#define FUZZ_SESSION_IETF 1
#include "fuzz_session.c"

#ifdef FUZZ_SESSION_GEN
#include "core/ietf_wire.h"

static void msg(seed *s, int v, uint8_t idx, const moqc__ietf_msg *m, bool fin) {
  uint8_t buf[1024];
  ssize_t n = moqc__ietf_ctrl_encode(buf, sizeof buf, v, m);
  if (n > 0) ev_data(s, idx, buf, (size_t)n, fin);
}

static void setup_msg(moqc__ietf_msg *m, int v) {
  memset(m, 0, sizeof *m);
  m->type = v >= 17 ? MOQC_IETF_SETUP : MOQC_IETF_CLIENT_SETUP;
  if (v == 14) {
    m->nversions = 1;
    m->versions[0] = moqc__ietf_version_code(v);
  }
  if (v < 17) (void)moqc__ietf_params_put_varint(&m->params, MOQC_IETF_SETUP_MAX_REQUEST_ID, 100);
  (void)moqc__ietf_params_put_bytes(&m->params, MOQC_IETF_SETUP_AUTH_TOKEN, "\x03\x00tok", 5);
  (void)moqc__ietf_params_put_bytes(&m->params, MOQC_IETF_SETUP_IMPLEMENTATION, "fuzz", 4);
}

/* A client: setup, SUBSCRIBE_NAMESPACE(""), SUBSCRIBE b/t, groups, cancel. */
static void ietf_gen_sub(const char *dir, int v, bool publish) {
  static moqc__ietf_msg m;
  seed s = {{0}, 0};
  put1(&s, (uint8_t)((v - 14) | (publish ? 0x80 : 0)));
  setup_msg(&m, v);
  ev_open(&s, v < 17); /* index 0: the control stream (14-16) / SETUP stream (17+) */
  msg(&s, v, 0, &m, false);
  ev_adv(&s, 5);
  memset(&m, 0, sizeof m);
  m.type = v >= 18 ? MOQC_IETF_SUBSCRIBE_NAMESPACE_18 : MOQC_IETF_SUBSCRIBE_NAMESPACE;
  m.request_id = 0;
  m.options = 1;
  /* Stream indices count the server's streams too: after the setup it opens
   * its SUBSCRIBE_NAMESPACE stream (16+) and its SETUP stream (17+). */
  uint8_t ns_idx = v >= 17 ? 3 : v == 16 ? 2 : 0;
  if (v >= 16) ev_open(&s, true);
  msg(&s, v, ns_idx, &m, false);
  ev_adv(&s, 5);
  memset(&m, 0, sizeof m);
  m.type = MOQC_IETF_SUBSCRIBE;
  m.request_id = 2;
  (void)moqc__ietf_tuple_from_path(&m.ns, "b", 1);
  m.name = (moqc_bytes){(const uint8_t *)"t", 1};
  m.priority = 128;
  m.group_order = 2;
  m.forward = 1;
  m.filter.type = MOQC_IETF_FILTER_LARGEST_OBJECT;
  m.has = MOQC_IETF_HAS_PRIORITY | MOQC_IETF_HAS_GROUP_ORDER | MOQC_IETF_HAS_FORWARD |
          MOQC_IETF_HAS_FILTER;
  uint8_t sub_idx = v >= 17 ? 4 : 0;
  if (v >= 17) ev_open(&s, true);
  msg(&s, v, sub_idx, &m, false);
  for (int i = 0; i < 3; i++) {
    put1(&s, 10); /* the publisher writes a group */
    ev_adv(&s, 20);
  }
  if (v >= 17) {
    ev_data(&s, sub_idx, NULL, 0, true); /* FIN: cancel */
  } else {
    memset(&m, 0, sizeof m);
    m.type = MOQC_IETF_UNSUBSCRIBE;
    m.request_id = 2;
    msg(&s, v, 0, &m, false);
  }
  ev_adv(&s, 250);
  char name[64];
  snprintf(name, sizeof name, "sub-d%d%s", v, publish ? "-pub" : "");
  save(dir, name, &s);
}

/* One OBJECT_DATAGRAM event (event 6: length byte, then the datagram). */
static void dgram(seed *s, int v, const moqc__ietf_datagram *d) {
  uint8_t buf[128];
  ssize_t n = moqc__ietf_datagram_encode(buf, sizeof buf, v, d);
  if (n <= 0 || n > 255) return;
  put1(s, 6);
  put1(s, (uint8_t)n);
  put(s, buf, (size_t)n);
}

/* With datagrams: objects of group 1 out of order, a late one, an unknown
 * alias, DOES_NOT_EXIST, a newer group, END_OF_GROUP and END_OF_TRACK. */
static void ietf_gen_dgrams(seed *s, int v) {
  static const struct {
    uint64_t alias, group, object, status;
    bool is_status, eog;
  } ds[] = {
      {3, 1, 0, 0, false, false}, {3, 1, 2, 0, false, false}, {3, 1, 1, 0, false, false},
      {9, 1, 3, 0, false, false}, {3, 1, 3, 1, true, false},  {3, 2, 0, 0, false, false},
      {3, 1, 4, 0, false, true},  {3, 2, 1, 3, true, false},  {3, 3, 0, 0, false, true},
      {3, 4, 0, 4, true, false},
  };
  for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) {
    moqc__ietf_datagram d = {.end_of_group = ds[i].eog,
                             .has_priority = true,
                             .is_status = ds[i].is_status,
                             .track_alias = ds[i].alias,
                             .group = ds[i].group,
                             .object = ds[i].object,
                             .status = ds[i].status,
                             .payload = {(const uint8_t *)"dg", ds[i].is_status ? 0 : 2}};
    dgram(s, v, &d);
    if (i % 3 == 2) ev_adv(s, 1);
  }
  ev_adv(s, 250);
}

/* A client that publishes: setup, PUBLISH_NAMESPACE, a subgroup stream
 * (and datagrams). */
static void ietf_gen_pub(const char *dir, int v, bool dgrams) {
  static moqc__ietf_msg m;
  seed s = {{0}, 0};
  put1(&s, (uint8_t)(v - 14));
  setup_msg(&m, v);
  ev_open(&s, v < 17);
  msg(&s, v, 0, &m, false);
  ev_adv(&s, 5);
  memset(&m, 0, sizeof m);
  m.type = MOQC_IETF_PUBLISH_NAMESPACE;
  m.request_id = 0;
  (void)moqc__ietf_tuple_from_path(&m.ns, "x", 1);
  uint8_t idx = v >= 17 ? 3 : 0;
  if (v >= 17) ev_open(&s, true);
  msg(&s, v, idx, &m, false);
  put1(&s, 11); /* a local consumer subscribes to "x"/"t" */
  ev_adv(&s, 5);
  uint8_t buf[128];
  moqc__ietf_subgroup h = {.extensions = false,
                           .end_of_group = true,
                           .has_priority = true,
                           .first_object = v >= 18,
                           .sgid_mode = MOQC_IETF_SGID_ZERO,
                           .track_alias = 3, /* the server's SUBSCRIBE: request id 3 */
                           .group = 0};
  ssize_t n = moqc__ietf_subgroup_encode(buf, sizeof buf, v, &h);
  moqc__ietf_object o = {.id_delta = 0, .size = 3};
  ssize_t k = n > 0 ? moqc__ietf_object_encode(buf + n, sizeof buf - (size_t)n, v, false, &o) : -1;
  if (k > 0) {
    memcpy(buf + n + k, "abc", 3);
    ev_open(&s, false);
    ev_data(&s, (uint8_t)(v >= 17 ? 5 : v == 16 ? 2 : 1), buf, (size_t)(n + k + 3), true);
  }
  ev_adv(&s, 50);
  if (dgrams) ietf_gen_dgrams(&s, v);
  char name[64];
  snprintf(name, sizeof name, "%s-d%d", dgrams ? "dgram" : "pub", v);
  save(dir, name, &s);
}

static void fetch_msg(moqc__ietf_msg *m, uint64_t req) {
  memset(m, 0, sizeof *m);
  m->type = MOQC_IETF_FETCH;
  m->request_id = req;
  (void)moqc__ietf_tuple_from_path(&m->ns, "b", 1);
  m->name = (moqc_bytes){(const uint8_t *)"t", 1};
  m->priority = 1;
  m->group_order = 1;
  m->has = MOQC_IETF_HAS_PRIORITY | MOQC_IETF_HAS_GROUP_ORDER;
  m->fetch.type = MOQC_IETF_FETCH_STANDALONE;
  m->fetch.end = (moqc__ietf_loc){5, 0};
}

/* The requests a publisher serves and a subscriber accepts beside SUBSCRIBE:
 * FETCH (then cancelled), TRACK_STATUS, PUBLISH + a pushed subgroup stream +
 * PUBLISH_DONE. 14-16 on the control stream; 17+ each on its own request
 * stream (indices: 0 our SETUP, 1-2 the server's SETUP and SUBSCRIBE_NAMESPACE
 * streams, then ours and the FETCH data streams in order). */
static void ietf_gen_req(const char *dir, int v) {
  static moqc__ietf_msg m;
  seed s = {{0}, 0};
  put1(&s, (uint8_t)((v - 14) | 0x80));
  setup_msg(&m, v);
  ev_open(&s, v < 17);
  msg(&s, v, 0, &m, false);
  ev_adv(&s, 5);
  put1(&s, 10);
  put1(&s, 10);
  ev_adv(&s, 5);
  bool rs = v >= 17;
  uint8_t idx = 0;
  fetch_msg(&m, 0);
  if (rs) {
    ev_open(&s, true);
    idx = 3;
  }
  msg(&s, v, idx, &m, false);
  ev_adv(&s, 20);
  memset(&m, 0, sizeof m);
  m.type = MOQC_IETF_TRACK_STATUS;
  m.request_id = 2;
  (void)moqc__ietf_tuple_from_path(&m.ns, "b", 1);
  m.name = (moqc_bytes){(const uint8_t *)"t", 1};
  if (v == 14) {
    m.has = MOQC_IETF_HAS_PRIORITY | MOQC_IETF_HAS_GROUP_ORDER | MOQC_IETF_HAS_FORWARD |
            MOQC_IETF_HAS_FILTER;
    m.forward = 1;
    m.filter.type = MOQC_IETF_FILTER_LARGEST_OBJECT;
  }
  if (rs) { /* 4: the FETCH data stream */
    ev_open(&s, true);
    idx = 5;
  }
  msg(&s, v, idx, &m, rs);
  ev_adv(&s, 20);
  memset(&m, 0, sizeof m);
  m.type = MOQC_IETF_PUBLISH;
  m.request_id = 4;
  (void)moqc__ietf_tuple_from_path(&m.ns, "p", 1);
  m.name = (moqc_bytes){(const uint8_t *)"t", 1};
  m.track_alias = 5;
  m.forward = 1;
  m.has = MOQC_IETF_HAS_FORWARD;
  if (rs) {
    ev_open(&s, true);
    idx = 6;
  }
  msg(&s, v, idx, &m, false);
  ev_adv(&s, 5);
  uint8_t buf[128];
  moqc__ietf_subgroup h = {.end_of_group = true,
                           .has_priority = true,
                           .first_object = v >= 18,
                           .sgid_mode = MOQC_IETF_SGID_ZERO,
                           .track_alias = 5,
                           .group = 0};
  ssize_t n = moqc__ietf_subgroup_encode(buf, sizeof buf, v, &h);
  moqc__ietf_object o = {.id_delta = 0, .size = 2};
  ssize_t k = n > 0 ? moqc__ietf_object_encode(buf + n, sizeof buf - (size_t)n, v, false, &o) : -1;
  if (k > 0) {
    memcpy(buf + n + k, "hi", 2);
    ev_open(&s, false);
    ev_data(&s, (uint8_t)(rs ? 7 : v == 16 ? 3 : 2), buf, (size_t)(n + k + 2), true);
  }
  ev_adv(&s, 5);
  memset(&m, 0, sizeof m);
  m.type = MOQC_IETF_PUBLISH_DONE;
  m.request_id = 4;
  m.code = 0x2;
  m.stream_count = 1;
  msg(&s, v, idx, &m, rs);
  ev_adv(&s, 5);
  /* A second FETCH, cancelled: 17+ by the FIN that comes with it (before its
   * data stream opens), then a RESET; 14-16 FETCH_CANCEL. */
  fetch_msg(&m, 6);
  if (rs) {
    ev_open(&s, true);
    idx = 8;
  }
  msg(&s, v, idx, &m, rs);
  if (rs) {
    put1(&s, 3);
    put1(&s, idx);
    put1(&s, 0);
  } else {
    memset(&m, 0, sizeof m);
    m.type = MOQC_IETF_FETCH_CANCEL;
    m.request_id = 6;
    msg(&s, v, 0, &m, false);
  }
  ev_adv(&s, 250);
  char name[64];
  snprintf(name, sizeof name, "req-d%d", v);
  save(dir, name, &s);
}

int main(int argc, char **argv) {
  if (argc < 2) return 1;
  for (int v = 14; v <= 19; v++) {
    ietf_gen_sub(argv[1], v, true);
    ietf_gen_sub(argv[1], v, false);
    ietf_gen_pub(argv[1], v, false);
    ietf_gen_pub(argv[1], v, true);
    ietf_gen_req(argv[1], v);
  }
  return 0;
}
#endif
