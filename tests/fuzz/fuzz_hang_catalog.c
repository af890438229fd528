/* libFuzzer target: the hang catalog decoder (JSON via jansson).
 * Invariants (abort() on violation):
 *   - decode never crashes and returns OK, DECODE, TOO_LARGE (or NOMEM);
 *   - on error the catalog is left empty;
 *   - an accepted catalog with valid audio fields re-encodes, and the encoding
 *     decodes to the same renditions (names, codecs, containers, sizes) and
 *     re-encodes to the same bytes (encode is a fixed point). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "moqc/error.h"
#include "moqc/hang.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)       \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

static void same(const moqc_hang_rendition *a, const moqc_hang_rendition *b) {
  CHECK(strcmp(a->name, b->name) == 0 && strcmp(a->codec, b->codec) == 0);
  CHECK(a->container == b->container && a->init_len == b->init_len);
  CHECK(a->description_len == b->description_len && a->coded_width == b->coded_width);
  CHECK(a->sample_rate == b->sample_rate && a->channels == b->channels);
  if (a->description_len) CHECK(memcmp(a->description, b->description, a->description_len) == 0);
  if (a->init_len) CHECK(memcmp(a->init, b->init, a->init_len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  moqc_hang_catalog cat, again;
  moqc_hang_catalog_init(&cat);
  moqc_hang_catalog_init(&again);
  char why[128];
  int rv = moqc_hang_catalog_decode(&cat, data, size, why, sizeof why);
  CHECK(rv == MOQC_OK || rv == MOQC_ERR_DECODE || rv == MOQC_ERR_TOO_LARGE || rv == MOQC_ERR_NOMEM);
  if (rv != MOQC_OK) {
    CHECK(cat.n_video == 0 && cat.n_audio == 0);
    return 0;
  }
  char *out = NULL, *out2 = NULL;
  size_t len = 0, len2 = 0;
  rv = moqc_hang_catalog_encode(&cat, &out, &len);
  if (rv == MOQC_OK) {
    CHECK(moqc_hang_catalog_decode(&again, out, len, NULL, 0) == MOQC_OK);
    CHECK(again.n_video == cat.n_video && again.n_audio == cat.n_audio);
    for (size_t i = 0; i < cat.n_video; i++)
      same(moqc_hang_catalog_find(&cat, again.video[i].name, NULL), &again.video[i]);
    for (size_t i = 0; i < cat.n_audio; i++)
      same(moqc_hang_catalog_find(&cat, again.audio[i].name, NULL), &again.audio[i]);
    CHECK(moqc_hang_catalog_encode(&again, &out2, &len2) == MOQC_OK);
    CHECK(len == len2 && memcmp(out, out2, len) == 0);
  } else {
    CHECK(rv == MOQC_ERR_INVAL || rv == MOQC_ERR_NOMEM);
  }
  moqc_hang_free(out);
  moqc_hang_free(out2);
  moqc_hang_catalog_clear(&cat);
  moqc_hang_catalog_clear(&again);
  return 0;
}
