/* Unit tests: src/hang/catalog.c, catalog_decode.c, codec.c (hex/base64).
 * Vectors from moq-dev's hang tests: rs/hang/src/catalog/root.rs (`simple`,
 * `jitter_serialized_as_millis`) and js/hang/src/catalog/container.test.ts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hang/hang_int.h"
#include "moqc/error.h"
#include "moqc/hang.h"

/* rs/hang root.rs `simple`, whitespace removed (as the test does). */
static const char k_simple[] =
    "{\"video\":{\"renditions\":{\"video\":{\"codec\":\"avc1.64001f\",\"codedWidth\":1280,"
    "\"codedHeight\":720,\"bitrate\":6000000,\"framerate\":30.0,\"container\":{\"kind\":"
    "\"legacy\"}}}},\"audio\":{\"renditions\":{\"audio\":{\"codec\":\"opus\",\"sampleRate\":"
    "48000,\"numberOfChannels\":2,\"bitrate\":128000,\"container\":{\"kind\":\"legacy\"}}}}}";

/* rs/hang root.rs `jitter_serialized_as_millis`. */
static const char k_jitter[] =
    "{\"video\":{\"renditions\":{\"video\":{\"codec\":\"avc1.64001f\",\"container\":{\"kind\":"
    "\"legacy\"},\"jitter\":100}}},\"audio\":{\"renditions\":{\"audio\":{\"codec\":\"opus\","
    "\"sampleRate\":48000,\"numberOfChannels\":2,\"container\":{\"kind\":\"legacy\"},\"jitter\":"
    "40}}}}";

static void check_roundtrip(const char *json) {
  moqc_hang_catalog cat;
  moqc_hang_catalog_init(&cat);
  char why[128];
  assert_int_equal(moqc_hang_catalog_decode(&cat, json, strlen(json), why, sizeof why), MOQC_OK);
  char *out = NULL;
  size_t len = 0;
  assert_int_equal(moqc_hang_catalog_encode(&cat, &out, &len), MOQC_OK);
  assert_int_equal(len, strlen(json));
  assert_string_equal(out, json);
  moqc_hang_free(out);
  moqc_hang_catalog_clear(&cat);
}

static void test_simple_decode(void **state) {
  (void)state;
  moqc_hang_catalog cat;
  moqc_hang_catalog_init(&cat);
  assert_int_equal(moqc_hang_catalog_decode(&cat, k_simple, strlen(k_simple), NULL, 0), MOQC_OK);
  assert_int_equal(cat.n_video, 1);
  assert_int_equal(cat.n_audio, 1);
  const moqc_hang_rendition *v = &cat.video[0], *a = &cat.audio[0];
  assert_string_equal(v->name, "video");
  assert_string_equal(v->codec, "avc1.64001f");
  assert_int_equal(v->coded_width, 1280);
  assert_int_equal(v->coded_height, 720);
  assert_int_equal(v->bitrate, 6000000);
  assert_true(v->framerate == 30.0);
  assert_int_equal(v->container, MOQC_HANG_CONTAINER_LEGACY);
  assert_int_equal(v->jitter_ms, MOQC_HANG_UNSET);
  assert_string_equal(a->codec, "opus");
  assert_int_equal(a->sample_rate, 48000);
  assert_int_equal(a->channels, 2);
  assert_int_equal(a->bitrate, 128000);
  moqc_hang_kind k;
  assert_ptr_equal(moqc_hang_catalog_find(&cat, "audio", &k), a);
  assert_int_equal(k, MOQC_HANG_AUDIO);
  assert_null(moqc_hang_catalog_find(&cat, "nope", NULL));
  moqc_hang_catalog_clear(&cat);
}

/* Built with the API, the encoder writes moq-dev's exact bytes. */
static void test_simple_encode(void **state) {
  (void)state;
  moqc_hang_catalog cat;
  moqc_hang_catalog_init(&cat);
  moqc_hang_rendition *v = moqc_hang_catalog_add(&cat, MOQC_HANG_VIDEO, "video", "avc1.64001f");
  assert_non_null(v);
  v->coded_width = 1280, v->coded_height = 720, v->bitrate = 6000000, v->framerate = 30.0;
  moqc_hang_rendition *a = moqc_hang_catalog_add(&cat, MOQC_HANG_AUDIO, "audio", "opus");
  assert_non_null(a);
  a->sample_rate = 48000, a->channels = 2, a->bitrate = 128000;
  assert_null(moqc_hang_catalog_add(&cat, MOQC_HANG_AUDIO, "audio", "opus")); /* duplicate */
  assert_null(moqc_hang_catalog_add(&cat, MOQC_HANG_AUDIO, "", "opus"));
  char *out = NULL;
  assert_int_equal(moqc_hang_catalog_encode(&cat, &out, NULL), MOQC_OK);
  assert_string_equal(out, k_simple);
  moqc_hang_free(out);
  moqc_hang_catalog_clear(&cat);
}

static void test_roundtrips(void **state) {
  (void)state;
  check_roundtrip(k_simple);
  check_roundtrip(k_jitter);
  /* Every field we write, in moq-dev's order; renditions sorted by name. */
  check_roundtrip(
      "{\"video\":{\"renditions\":{\"a\":{\"codec\":\"vp8\",\"container\":{\"kind\":\"legacy\"}},"
      "\"b\":{\"broadcast\":\"source\",\"codec\":\"avc1.42e01e\",\"description\":\"0142e01eff\","
      "\"codedWidth\":640,\"codedHeight\":360,\"displayAspectWidth\":16,"
      "\"displayAspectHeight\":9,\"bitrate\":1,\"stalled\":false,\"framerate\":29.97,"
      "\"optimizeForLatency\":true,\"container\":{\"kind\":\"cmaf\",\"init\":\"AAEC\"},"
      "\"jitter\":34}},\"display\":{\"width\":1280,\"height\":720},\"rotation\":90.0,"
      "\"flip\":true},\"audio\":{\"renditions\":{}}}");
}

static void test_encode_sorts_and_empty(void **state) {
  (void)state;
  moqc_hang_catalog cat;
  moqc_hang_catalog_init(&cat);
  char *out = NULL;
  assert_int_equal(moqc_hang_catalog_encode(&cat, &out, NULL), MOQC_OK);
  assert_string_equal(out, "{\"video\":{\"renditions\":{}},\"audio\":{\"renditions\":{}}}");
  moqc_hang_free(out);
  assert_non_null(moqc_hang_catalog_add(&cat, MOQC_HANG_VIDEO, "z", "vp8"));
  assert_non_null(moqc_hang_catalog_add(&cat, MOQC_HANG_VIDEO, "m", "vp8"));
  assert_int_equal(moqc_hang_catalog_encode(&cat, &out, NULL), MOQC_OK);
  assert_non_null(
      strstr(out, "\"m\":{\"codec\":\"vp8\",\"container\":{\"kind\":\"legacy\"}},\"z\""));
  moqc_hang_free(out);
  /* An audio rendition without sample rate / channels cannot be encoded. */
  assert_non_null(moqc_hang_catalog_add(&cat, MOQC_HANG_AUDIO, "a", "opus"));
  assert_int_equal(moqc_hang_catalog_encode(&cat, &out, NULL), MOQC_ERR_INVAL);
  assert_null(out);
  moqc_hang_catalog_clear(&cat);
}

/* js/hang container.test.ts: unknown containers are kept, not fatal; a
 * malformed known one is an error. */
static void test_containers(void **state) {
  (void)state;
  moqc_hang_catalog cat;
  moqc_hang_catalog_init(&cat);
  const char *j =
      "{\"video\":{\"renditions\":{\"future\":{\"codec\":\"avc1.64001f\",\"container\":{\"kind\":"
      "\"future\",\"magic\":7}},\"legacy\":{\"codec\":\"avc1.64001f\",\"codedWidth\":1280,"
      "\"codedHeight\":720,\"container\":{\"kind\":\"legacy\"}}}},\"scte35\":{\"spliceId\":42}}";
  assert_int_equal(moqc_hang_catalog_decode(&cat, j, strlen(j), NULL, 0), MOQC_OK);
  const moqc_hang_rendition *f = moqc_hang_catalog_find(&cat, "future", NULL);
  const moqc_hang_rendition *l = moqc_hang_catalog_find(&cat, "legacy", NULL);
  assert_int_equal(f->container, MOQC_HANG_CONTAINER_UNKNOWN);
  assert_string_equal(f->container_kind, "future");
  assert_int_equal(l->container, MOQC_HANG_CONTAINER_LEGACY);
  assert_int_equal(l->coded_width, 1280);
  /* cmaf with init "AAEC" = 00 01 02 */
  const char *c =
      "{\"video\":{\"renditions\":{\"v\":{\"codec\":\"avc1.64001f\",\"container\":"
      "{\"kind\":\"cmaf\",\"init\":\"AAEC\"}}}}}";
  assert_int_equal(moqc_hang_catalog_decode(&cat, c, strlen(c), NULL, 0), MOQC_OK);
  assert_int_equal(cat.video[0].container, MOQC_HANG_CONTAINER_CMAF);
  assert_int_equal(cat.video[0].init_len, 3);
  assert_memory_equal(cat.video[0].init, "\x00\x01\x02", 3);
  char why[128];
  const char *bad =
      "{\"video\":{\"renditions\":{\"v\":{\"codec\":\"x\",\"container\":{\"kind\":"
      "\"cmaf\"}}}}}";
  assert_int_equal(moqc_hang_catalog_decode(&cat, bad, strlen(bad), why, sizeof why),
                   MOQC_ERR_DECODE);
  assert_non_null(strstr(why, "init"));
  assert_int_equal(cat.n_video, 0); /* left empty */
  /* container absent: legacy (the default). */
  const char *d =
      "{\"audio\":{\"renditions\":{\"a\":{\"codec\":\"opus\",\"sampleRate\":48000,"
      "\"numberOfChannels\":1}}}}";
  assert_int_equal(moqc_hang_catalog_decode(&cat, d, strlen(d), NULL, 0), MOQC_OK);
  assert_int_equal(cat.audio[0].container, MOQC_HANG_CONTAINER_LEGACY);
  moqc_hang_catalog_clear(&cat);
}

/* The older forms: video as [{track,config}], audio as {track,config}. */
static void test_old_forms(void **state) {
  (void)state;
  moqc_hang_catalog cat;
  moqc_hang_catalog_init(&cat);
  const char *j =
      "{\"video\":[{\"track\":{\"name\":\"hd\"},\"config\":{\"codec\":\"vp8\"}}],"
      "\"audio\":{\"track\":{\"name\":\"mic\"},\"config\":{\"codec\":\"opus\","
      "\"sampleRate\":48000,\"numberOfChannels\":2}}}";
  assert_int_equal(moqc_hang_catalog_decode(&cat, j, strlen(j), NULL, 0), MOQC_OK);
  assert_string_equal(cat.video[0].name, "hd");
  assert_string_equal(cat.audio[0].name, "mic");
  moqc_hang_catalog_clear(&cat);
}

static void expect_bad(const char *json, const char *why_part) {
  moqc_hang_catalog cat;
  moqc_hang_catalog_init(&cat);
  char why[160] = "";
  int rv = moqc_hang_catalog_decode(&cat, json, strlen(json), why, sizeof why);
  if (rv != MOQC_ERR_DECODE) fail_msg("%s: rv %d", json, rv);
  if (!strstr(why, why_part)) fail_msg("%s: reason '%s' lacks '%s'", json, why, why_part);
  assert_int_equal(cat.n_video + cat.n_audio, 0);
  moqc_hang_catalog_clear(&cat);
}

static void test_decode_errors(void **state) {
  (void)state;
  expect_bad("", "not JSON");
  expect_bad("{\"video\":", "not JSON");
  expect_bad("[1,2]", "not a JSON object");
  expect_bad("{\"video\":7}", "not an object");
  expect_bad("{\"video\":{}}", "renditions");
  expect_bad("{\"video\":{\"renditions\":{\"v\":{}}}}", "codec");
  expect_bad("{\"video\":{\"renditions\":{\"v\":{\"codec\":3}}}}", "codec");
  expect_bad("{\"video\":{\"renditions\":{\"v\":{\"codec\":\"x\",\"codedWidth\":-1}}}}",
             "codedWidth");
  expect_bad("{\"video\":{\"renditions\":{\"v\":{\"codec\":\"x\",\"codedWidth\":1.5}}}}",
             "codedWidth");
  expect_bad("{\"video\":{\"renditions\":{\"v\":{\"codec\":\"x\",\"codedWidth\":4294967296}}}}",
             "codedWidth");
  expect_bad("{\"video\":{\"renditions\":{\"v\":{\"codec\":\"x\",\"description\":\"0g\"}}}}",
             "hex");
  expect_bad("{\"video\":{\"renditions\":{\"v\":{\"codec\":\"x\",\"description\":\"012\"}}}}",
             "hex");
  expect_bad(
      "{\"video\":{\"renditions\":{\"v\":{\"codec\":\"x\",\"container\":{\"kind\":\"cmaf\","
      "\"init\":\"A$==\"}}}}}",
      "base64");
  expect_bad("{\"audio\":{\"renditions\":{\"a\":{\"codec\":\"opus\",\"sampleRate\":48000}}}}",
             "numberOfChannels");
  expect_bad(
      "{\"video\":{\"renditions\":{\"v\":{\"codec\":\"x\"}}},\"audio\":{\"renditions\":"
      "{\"v\":{\"codec\":\"opus\",\"sampleRate\":1,\"numberOfChannels\":1}}}}",
      "twice");
  expect_bad("{\"video\":{\"renditions\":{\"v\":{\"codec\":\"x\",\"optimizeForLatency\":1}}}}",
             "boolean");
  /* Over the size limit. */
  static char big[MOQC_HANG_CATALOG_MAX_BYTES + 2];
  memset(big, ' ', sizeof big);
  moqc_hang_catalog cat;
  moqc_hang_catalog_init(&cat);
  assert_int_equal(moqc_hang_catalog_decode(&cat, big, sizeof big, NULL, 0), MOQC_ERR_TOO_LARGE);
}

static void test_hex_base64(void **state) {
  (void)state;
  char s[64];
  uint8_t b[64];
  size_t n = 0;
  moqc__hang_hex_encode(s, (const uint8_t *)"\x01\xab\xff", 3);
  assert_string_equal(s, "01abff");
  assert_int_equal(moqc__hang_hex_decode(b, "01ABff", 6), 0);
  assert_memory_equal(b, "\x01\xab\xff", 3);
  /* RFC 4648 test vectors. */
  static const char *const v[][2] = {{"", ""},
                                     {"f", "Zg=="},
                                     {"fo", "Zm8="},
                                     {"foo", "Zm9v"},
                                     {"foob", "Zm9vYg=="},
                                     {"fooba", "Zm9vYmE="},
                                     {"foobar", "Zm9vYmFy"}};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    size_t len = strlen(v[i][0]);
    assert_int_equal(moqc__hang_b64_encode(s, (const uint8_t *)v[i][0], len), strlen(v[i][1]));
    assert_string_equal(s, v[i][1]);
    assert_int_equal(moqc__hang_b64_decode(b, &n, v[i][1], strlen(v[i][1])), 0);
    assert_int_equal(n, len);
    assert_memory_equal(b, v[i][0], len);
  }
  assert_int_equal(moqc__hang_b64_decode(b, &n, "Z", 1), -1);
  assert_int_equal(moqc__hang_b64_decode(b, &n, "Zm9*", 4), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_simple_decode), cmocka_unit_test(test_simple_encode),
      cmocka_unit_test(test_roundtrips),    cmocka_unit_test(test_encode_sorts_and_empty),
      cmocka_unit_test(test_containers),    cmocka_unit_test(test_old_forms),
      cmocka_unit_test(test_decode_errors), cmocka_unit_test(test_hex_base64),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
