/* Field-by-field equality of the IETF wire structs (core/ietf_wire.h), shared
 * by the test_ietf_wire*.c unit tests and the fuzz_ietf_* targets. Borrowed
 * byte ranges compare by content. */
#ifndef MOQC_TEST_FUZZ_IETF_EQ_H
#define MOQC_TEST_FUZZ_IETF_EQ_H

#include <stdbool.h>
#include <string.h>

#include "core/ietf_wire.h"

static inline bool ietf_bytes_eq(moqc_bytes a, moqc_bytes b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool ietf_loc_eq(moqc__ietf_loc a, moqc__ietf_loc b) {
  return a.group == b.group && a.object == b.object;
}

static inline bool ietf_tuple_eq(const moqc__ietf_tuple *a, const moqc__ietf_tuple *b) {
  if (a->n != b->n) return false;
  for (uint32_t i = 0; i < a->n; i++)
    if (!ietf_bytes_eq(a->f[i], b->f[i])) return false;
  return true;
}

/* Same entries, order-insensitive (drafts 14-15 keep wire order; 16+ sort). */
static inline bool ietf_params_eq(const moqc__ietf_params *a, const moqc__ietf_params *b) {
  if (a->n != b->n) return false;
  for (uint32_t i = 0; i < a->n; i++) {
    const moqc__ietf_kvp *x = &a->kv[i], *y = moqc__ietf_params_find(b, x->key);
    if (!y || x->v != y->v || !ietf_bytes_eq(x->b, y->b)) return false;
  }
  return true;
}

static inline bool ietf_msg_eq(const moqc__ietf_msg *a, const moqc__ietf_msg *b) {
  bool ok = a->type == b->type && a->has == b->has && a->request_id == b->request_id &&
            a->required_delta == b->required_delta && a->update_id == b->update_id &&
            ietf_tuple_eq(&a->ns, &b->ns) && ietf_bytes_eq(a->name, b->name) &&
            a->track_alias == b->track_alias && a->code == b->code &&
            a->retry_interval == b->retry_interval && a->stream_count == b->stream_count &&
            ietf_bytes_eq(a->reason, b->reason) && a->timeout == b->timeout &&
            a->options == b->options && a->expires == b->expires && a->priority == b->priority &&
            a->group_order == b->group_order && a->forward == b->forward &&
            a->end_of_track == b->end_of_track;
  ok = ok && a->filter.type == b->filter.type && ietf_loc_eq(a->filter.start, b->filter.start) &&
       a->filter.end_group == b->filter.end_group && ietf_loc_eq(a->largest, b->largest);
  ok = ok && a->fetch.type == b->fetch.type && ietf_loc_eq(a->fetch.start, b->fetch.start) &&
       ietf_loc_eq(a->fetch.end, b->fetch.end) &&
       a->fetch.joining_request == b->fetch.joining_request &&
       a->fetch.joining_start == b->fetch.joining_start;
  ok = ok && a->nversions == b->nversions;
  for (uint32_t i = 0; ok && i < a->nversions && i < MOQC_IETF_VERSIONS_MAX; i++)
    ok = a->versions[i] == b->versions[i];
  return ok && ietf_params_eq(&a->params, &b->params) && ietf_params_eq(&a->props, &b->props);
}

static inline bool ietf_subgroup_eq(const moqc__ietf_subgroup *a, const moqc__ietf_subgroup *b) {
  return a->extensions == b->extensions && a->end_of_group == b->end_of_group &&
         a->has_priority == b->has_priority && a->first_object == b->first_object &&
         a->sgid_mode == b->sgid_mode && a->track_alias == b->track_alias && a->group == b->group &&
         a->subgroup == b->subgroup && (!a->has_priority || a->priority == b->priority);
}

static inline bool ietf_object_eq(const moqc__ietf_object *a, const moqc__ietf_object *b) {
  return a->id_delta == b->id_delta && ietf_bytes_eq(a->ext, b->ext) && a->size == b->size &&
         (a->size != 0 || a->status == b->status);
}

static inline bool ietf_fetch_object_eq(const moqc__ietf_fetch_object *a,
                                        const moqc__ietf_fetch_object *b) {
  if (a->kind != b->kind || a->group != b->group || a->object != b->object) return false;
  if (a->kind != MOQC_IETF_FETCH_OBJECT) return true;
  return a->datagram == b->datagram && (a->datagram || a->subgroup == b->subgroup) &&
         a->priority == b->priority && ietf_bytes_eq(a->ext, b->ext) && a->size == b->size &&
         (a->size != 0 || a->status == b->status);
}

static inline bool ietf_datagram_eq(const moqc__ietf_datagram *a, const moqc__ietf_datagram *b) {
  return a->end_of_group == b->end_of_group && a->has_priority == b->has_priority &&
         a->is_status == b->is_status && a->track_alias == b->track_alias && a->group == b->group &&
         a->object == b->object && (!a->has_priority || a->priority == b->priority) &&
         ietf_bytes_eq(a->ext, b->ext) && (!a->is_status || a->status == b->status) &&
         (a->is_status || ietf_bytes_eq(a->payload, b->payload));
}

#endif
