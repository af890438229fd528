/* moqc core — private helpers shared by the ietf_wire*.c codecs.
 *
 * Readers return MOQC_OK / MOQC_ERR_NEED_MORE / MOQC_ERR_DECODE and advance
 * the cursor only on success. Writers poison the moqc_writer (first error
 * wins), so an encoder checks w.err once at the end.
 */
#ifndef MOQC_CORE_IETF_WIRE_INT_H
#define MOQC_CORE_IETF_WIRE_INT_H

#include "core/ietf_wire.h"

/* Poison the writer with err (first error wins). */
static inline void moqc__ietf_wfail(moqc_writer *w, int err) {
  if (!w->err) w->err = err;
}

/* Version varint length + bytes (length <= max, else DECODE). */
int moqc__ietf_rd_bytes(moqc_reader *r, int v, size_t max, moqc_bytes *out);
/* Version varint length + bytes; INVAL if n > max or a NULL pointer with n > 0. */
void moqc__ietf_wr_bytes(moqc_writer *w, int v, moqc_bytes b, size_t max);

int moqc__ietf_rd_loc(moqc_reader *r, int v, moqc__ietf_loc *l);
void moqc__ietf_wr_loc(moqc_writer *w, int v, moqc__ietf_loc l);

int moqc__ietf_rd_tuple(moqc_reader *r, int v, moqc__ietf_tuple *t);
void moqc__ietf_wr_tuple(moqc_writer *w, int v, const moqc__ietf_tuple *t);

/* Key-value lists. */
enum {
  MOQC__IETF_KVP_SETUP = 0, /* setup params: count on 14-16 (delta on 16), none on 17+ */
  MOQC__IETF_KVP_MSG = 1,   /* message params: always counted; delta on 16+ */
  MOQC__IETF_KVP_PROPS = 2, /* track / object properties: no count (to the end); delta on 16+ */
};

/* Read a list. For MSG lists on drafts 15+, `m` (may be NULL) receives the
 * lifted parameters (priority, forward, ...) and their `has` bits. PROPS
 * consumes the reader to its end. */
int moqc__ietf_rd_kvps(moqc_reader *r, int v, int mode, moqc__ietf_params *ps, moqc__ietf_msg *m);
/* Write a list (m: lifted parameters, MSG on 15+ only). */
void moqc__ietf_wr_kvps(moqc_writer *w, int v, int mode, const moqc__ietf_params *ps,
                        const moqc__ietf_msg *m);

/* Validate one extension / property block (no count; delta keys on 16+). */
int moqc__ietf_ext_validate(int v, moqc_bytes block);

/* Reader-side: a NEED_MORE inside a complete body is malformed. */
static inline int moqc__ietf_body_err(int rc) {
  return rc == MOQC_ERR_NEED_MORE ? MOQC_ERR_DECODE : rc;
}

#endif
