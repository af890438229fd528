/* Field-wise equality of the moq-lite wire structs (src/core/lite_wire.h),
 * shared by the lite_wire unit tests and the fuzz_lite_* targets.
 * moqc_bytes compare by content (decoded ones borrow different buffers). */
#ifndef MOQC_TEST_FUZZ_LITE_EQ_H
#define MOQC_TEST_FUZZ_LITE_EQ_H

#include <stdbool.h>
#include <string.h>

#include "core/lite_wire.h"

static inline bool lite_bytes_eq(moqc_bytes a, moqc_bytes b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool lite_announce_please_eq(const struct moqc_lite_announce_please *a,
                                           const struct moqc_lite_announce_please *b) {
  return lite_bytes_eq(a->prefix, b->prefix) && a->exclude_hop == b->exclude_hop;
}

static inline bool lite_announce_eq(const struct moqc_lite_announce *a,
                                    const struct moqc_lite_announce *b) {
  if (a->status != b->status || !lite_bytes_eq(a->suffix, b->suffix) ||
      a->hop_count != b->hop_count || a->hop_count > MOQC_LITE_MAX_HOPS) {
    return false;
  }
  for (size_t i = 0; i < a->hop_count; i++) {
    if (a->hops[i] != b->hops[i]) return false;
  }
  return true;
}

static inline bool lite_announce_ok_eq(const struct moqc_lite_announce_ok *a,
                                       const struct moqc_lite_announce_ok *b) {
  return a->hop_id == b->hop_id && a->active == b->active;
}

static inline bool lite_subscribe_eq(const struct moqc_lite_subscribe *a,
                                     const struct moqc_lite_subscribe *b) {
  return a->id == b->id && lite_bytes_eq(a->broadcast, b->broadcast) &&
         lite_bytes_eq(a->track, b->track) && a->priority == b->priority &&
         a->ordered == b->ordered && a->max_latency == b->max_latency &&
         a->start_group == b->start_group && a->end_group == b->end_group;
}

static inline bool lite_subscribe_update_eq(const struct moqc_lite_subscribe_update *a,
                                            const struct moqc_lite_subscribe_update *b) {
  return a->priority == b->priority && a->ordered == b->ordered &&
         a->max_latency == b->max_latency && a->start_group == b->start_group &&
         a->end_group == b->end_group;
}

static inline bool lite_subscribe_resp_eq(const struct moqc_lite_subscribe_resp *a,
                                          const struct moqc_lite_subscribe_resp *b) {
  if (a->kind != b->kind) return false;
  switch (a->kind) {
    case MOQC_LITE_SUBSCRIBE_OK:
      return a->u.ok.priority == b->u.ok.priority && a->u.ok.ordered == b->u.ok.ordered &&
             a->u.ok.max_latency == b->u.ok.max_latency &&
             a->u.ok.start_group == b->u.ok.start_group && a->u.ok.end_group == b->u.ok.end_group;
    case MOQC_LITE_SUBSCRIBE_START:
    case MOQC_LITE_SUBSCRIBE_END: return a->u.group == b->u.group;
    case MOQC_LITE_SUBSCRIBE_DROP:
      return a->u.drop.start == b->u.drop.start && a->u.drop.end == b->u.drop.end &&
             a->u.drop.error == b->u.drop.error;
    default: return false;
  }
}

static inline bool lite_track_eq(const struct moqc_lite_track *a, const struct moqc_lite_track *b) {
  return lite_bytes_eq(a->broadcast, b->broadcast) && lite_bytes_eq(a->track, b->track);
}

static inline bool lite_track_info_eq(const struct moqc_lite_track_info *a,
                                      const struct moqc_lite_track_info *b) {
  return a->priority == b->priority && a->ordered == b->ordered &&
         a->max_latency == b->max_latency && a->timescale == b->timescale;
}

static inline bool lite_fetch_eq(const struct moqc_lite_fetch *a, const struct moqc_lite_fetch *b) {
  return lite_bytes_eq(a->broadcast, b->broadcast) && lite_bytes_eq(a->track, b->track) &&
         a->priority == b->priority && a->group == b->group;
}

static inline bool lite_probe_eq(const struct moqc_lite_probe *a, const struct moqc_lite_probe *b) {
  return a->bitrate == b->bitrate && a->rtt == b->rtt;
}

static inline bool lite_goaway_eq(const struct moqc_lite_goaway *a,
                                  const struct moqc_lite_goaway *b) {
  return lite_bytes_eq(a->uri, b->uri);
}

static inline bool lite_setup_eq(const struct moqc_lite_setup *a, const struct moqc_lite_setup *b) {
  return a->probe == b->probe && a->has_path == b->has_path &&
         (!a->has_path || lite_bytes_eq(a->path, b->path)) && a->role == b->role &&
         a->has_cost == b->has_cost && (!a->has_cost || a->cost == b->cost) &&
         a->origin == b->origin;
}

static inline bool lite_group_eq(const struct moqc_lite_group *a, const struct moqc_lite_group *b) {
  return a->subscribe == b->subscribe && a->sequence == b->sequence;
}

static inline bool lite_frame_eq(const struct moqc_lite_frame *a, const struct moqc_lite_frame *b) {
  return a->timestamp == b->timestamp && a->size == b->size;
}

static inline bool lite_datagram_eq(const struct moqc_lite_datagram *a,
                                    const struct moqc_lite_datagram *b) {
  return a->subscribe == b->subscribe && a->sequence == b->sequence &&
         a->timestamp == b->timestamp && lite_bytes_eq(a->payload, b->payload);
}

#endif
