/* libFuzzer target: QUIC varints, the reader/writer cursors and UTF-8.
 * Invariants (abort() on violation):
 *   - decode(encode(v)) == v, encode is minimal and byte-exact for minimal input;
 *   - every strict prefix of an encoding is NEED_MORE;
 *   - a failed reader getter leaves pos unchanged; pos never passes len;
 *   - moqc_utf8_valid agrees with an independent reference decoder. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)       \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

static void check_value(uint64_t v) {
  uint8_t enc[8];
  ssize_t n = moqc_varint_encode(enc, sizeof enc, v);
  if (v > MOQC_VARINT_MAX) {
    CHECK(n == MOQC_ERR_OVERFLOW && moqc_varint_len(v) == 0);
    return;
  }
  CHECK(n > 0 && (size_t)n == moqc_varint_len(v));
  uint64_t back = ~v;
  CHECK(moqc_varint_decode(&back, enc, (size_t)n) == n && back == v);
  for (ssize_t cut = 0; cut < n; cut++)
    CHECK(moqc_varint_decode(&back, enc, (size_t)cut) == MOQC_ERR_NEED_MORE);
  CHECK(moqc_varint_encode(enc, (size_t)n - 1, v) == MOQC_ERR_BUFSIZE);
}

static void check_decode(const uint8_t *p, size_t len) {
  uint64_t v = 0;
  ssize_t n = moqc_varint_decode(&v, p, len);
  if (n == MOQC_ERR_NEED_MORE) {
    CHECK(len == 0 || len < ((size_t)1 << (p[0] >> 6)));
    return;
  }
  CHECK(n == 1 || n == 2 || n == 4 || n == 8);
  CHECK((size_t)n <= len && v <= MOQC_VARINT_MAX);
  uint8_t enc[8];
  ssize_t m = moqc_varint_encode(enc, sizeof enc, v);
  CHECK(m > 0 && m <= n);
  if (m == n) CHECK(memcmp(enc, p, (size_t)n) == 0); /* minimal input re-encodes exactly */
  check_value(v);
}

/* Reference UTF-8 check: decode each scalar and validate its value. */
static bool ref_utf8(const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint32_t c = p[i];
    size_t k;
    uint32_t min;
    if (c < 0x80) {
      i++;
      continue;
    }
    if ((c & 0xe0) == 0xc0) {
      k = 1;
      c &= 0x1f;
      min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      k = 2;
      c &= 0x0f;
      min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      k = 3;
      c &= 0x07;
      min = 0x10000;
    } else return false;
    if (n - i - 1 < k) return false;
    for (size_t j = 1; j <= k; j++) {
      if ((p[i + j] & 0xc0) != 0x80) return false;
      c = (c << 6) | (p[i + j] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return false;
    i += k + 1;
  }
  return true;
}

/* Drive the reader with ops chosen by the input itself. */
static void check_reader(const uint8_t *data, size_t size) {
  if (size == 0) return;
  moqc_reader r = moqc_reader_make(data + 1, size - 1);
  uint8_t ops = data[0];
  uint8_t out[64];
  moqc_writer w = moqc_writer_make(out, sizeof out);
  for (int step = 0; step < 64 && moqc_reader_left(&r) > 0; step++) {
    size_t before = r.pos;
    int rc;
    uint64_t v = 0;
    moqc_bytes b = {NULL, 0};
    switch ((ops + step) % 6) {
      case 0:
        rc = moqc_read_varint(&r, &v);
        if (rc == 0) moqc_write_varint(&w, v);
        break;
      case 1:
        rc = moqc_read_varint_max(&r, 1000, &v);
        if (rc == 0) CHECK(v <= 1000);
        break;
      case 2: {
        uint8_t u;
        rc = moqc_read_u8(&r, &u);
        break;
      }
      case 3: {
        uint16_t u;
        rc = moqc_read_u16be(&r, &u);
        break;
      }
      case 4:
        rc = moqc_read_bytes(&r, 16, &b);
        if (rc == 0) CHECK(b.len <= 16);
        break;
      default:
        rc = moqc_read_string(&r, 32, &b);
        if (rc == 0) CHECK(b.len <= 32 && ref_utf8(b.ptr, b.len));
        break;
    }
    CHECK(r.pos <= r.len);
    if (rc != 0) {
      CHECK(rc == MOQC_ERR_NEED_MORE || rc == MOQC_ERR_DECODE);
      CHECK(r.pos == before);
      break;
    }
    CHECK(r.pos > before || b.len == 0);
    if (b.ptr) CHECK(b.ptr >= data + 1 && b.ptr + b.len <= data + size);
  }
  CHECK(w.err == 0 || w.err == MOQC_ERR_BUFSIZE);
  CHECK(w.pos <= w.cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_decode(data, size);
  if (size >= 8) {
    uint64_t v;
    memcpy(&v, data, 8);
    check_value(v);
    check_value(v >> 2);
    check_value(v >> (data[0] & 63));
  }
  CHECK(moqc_utf8_valid(data, size) == ref_utf8(data, size));
  check_reader(data, size);
  return 0;
}
