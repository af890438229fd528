/* hang internals: hex and base64 (the catalog's byte encodings). */
#ifndef MOQC_HANG_INT_H
#define MOQC_HANG_INT_H

#include <stddef.h>
#include <stdint.h>

/* Lower-case hex of p[0..n) into out (2n chars + NUL). */
void moqc__hang_hex_encode(char *out, const uint8_t *p, size_t n);
/* Decode 2n hex chars (either case) into out[n]. 0, or -1 if malformed. */
int moqc__hang_hex_decode(uint8_t *out, const char *s, size_t slen);
/* Base64 (standard alphabet, padded) length of n bytes. */
size_t moqc__hang_b64_len(size_t n);
/* Encode; returns the length written (no NUL added... out gets one extra NUL). */
size_t moqc__hang_b64_encode(char *out, const uint8_t *p, size_t n);
/* Decode standard base64 (padding optional, no whitespace); *outlen gets the
 * byte count. out must hold slen*3/4+3 bytes. 0, or -1 if malformed. */
int moqc__hang_b64_decode(uint8_t *out, size_t *outlen, const char *s, size_t slen);

#endif
