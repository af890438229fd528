/* libFuzzer target: catalog.json.z's group-scoped DEFLATE (moqc_hang_inflate_frame /
 * moqc_hang_deflate_frame). The first byte picks the direction.
 * Invariants (abort() on violation):
 *   - inflate: OK implies at most `max` bytes out; deflating them and inflating the
 *     result gives them back; any other result is DECODE or TOO_LARGE (never INVAL);
 *   - deflate: always OK, and inflating the slice gives the input back. */
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

static void roundtrip(const uint8_t *p, size_t n) {
  uint8_t *z = NULL, *back = NULL;
  size_t zn = 0, bn = 0;
  CHECK(moqc_hang_deflate_frame(p, n, &z, &zn) == MOQC_OK);
  CHECK(moqc_hang_inflate_frame(z, zn, n, &back, &bn) == MOQC_OK);
  CHECK(bn == n && (n == 0 || memcmp(back, p, n) == 0));
  moqc_hang_free(z);
  moqc_hang_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t sel = data[0] & 1;
  data++, size--;
  if (sel == 0) {
    const size_t max = 1 << 16;
    uint8_t *out = NULL;
    size_t n = 0;
    int rv = moqc_hang_inflate_frame(data, size, max, &out, &n);
    if (rv == MOQC_OK) {
      CHECK(n <= max);
      roundtrip(out, n);
    } else {
      CHECK(rv == MOQC_ERR_DECODE || rv == MOQC_ERR_TOO_LARGE);
      CHECK(out == NULL);
    }
    moqc_hang_free(out);
  } else {
    roundtrip(data, size);
  }
  return 0;
}
