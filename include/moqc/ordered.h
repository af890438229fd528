/* moqc — ordered track reader: a track's frames in group-sequence order.
 *
 * A track consumer hands groups over in arrival order (one stream each, so any
 * order). The ordered reader turns that into one stream of frames in sequence
 * order, as a player or a pipe wants them:
 *
 *   - it expects `next` (cfg.start, else the first group that arrives) and
 *     hands that group's frames over as they arrive, then moves to next + 1;
 *   - a group above `next` waits until the missing ones arrive, at most
 *     cfg.reorder_ms (on the env's clock) from when the gap was first seen;
 *     then the missing sequences are skipped (MOQC_ORDERED_SKIPPED);
 *   - a group that arrives below `next` (too late) is handed over at once
 *     rather than dropped;
 *   - once the track ended cleanly, the model's gap tracking (gaps.c) has
 *     already waited for stragglers up to the track's latency_max: nothing else
 *     can come, so what is held is flushed in order (MOQC_ORDERED_NEVER for the
 *     holes) and on_end(MOQC_ERR_CLOSED) follows;
 *   - a group that ends with an error is reported (MOQC_ORDERED_GROUP_LOST)
 *     after the frames it delivered, and the reader moves on;
 *   - a track that ends with an error (aborted, cancelled, ...) ends the
 *     reader at once: on_end(err, code), held groups are dropped.
 *
 * Threading: the reader belongs to the env's loop thread, like its track
 * consumer. Callbacks run from the env's deferred work (wakers) or its clock
 * (the reorder timer), never from inside moqc_ordered_reader_new. Any
 * callback may call moqc_ordered_reader_del (also on this reader).
 */
#ifndef MOQC_ORDERED_H
#define MOQC_ORDERED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "moqc/export.h"
#include "moqc/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct moqc_ordered_reader moqc_ordered_reader;

typedef enum moqc_ordered_event_kind {
  MOQC_ORDERED_SKIPPED = 1,    /* groups lo..hi did not arrive within reorder_ms */
  MOQC_ORDERED_NEVER = 2,      /* the track ended cleanly without groups lo..hi */
  MOQC_ORDERED_GROUP_LOST = 3, /* group lo (== hi) ended with err after `frames` frames */
} moqc_ordered_event_kind;

/* Static name ("skipped", "never", "group-lost"); "?" otherwise. */
MOQC_API const char *moqc_ordered_event_kind_str(moqc_ordered_event_kind k);

typedef struct moqc_ordered_event {
  moqc_ordered_event_kind kind;
  uint64_t lo, hi;    /* sequences, inclusive */
  size_t frames;      /* GROUP_LOST: frames handed over before the loss */
  int err;            /* GROUP_LOST: the group's read error */
  uint64_t code;      /* GROUP_LOST: the group's MoQ code */
  uint64_t waited_ms; /* SKIPPED: the reorder window */
} moqc_ordered_event;

typedef struct moqc_ordered_config {
  /* First sequence expected; MOQC_GROUP_NONE = the first group that arrives. */
  uint64_t start;
  /* How long a missing group is waited for. 0 = not at all: a gap is skipped
   * as soon as a later group is ready. */
  uint64_t reorder_ms;
  /* Required: one frame, in order. `group` is its sequence, `index` its
   * position in the group. The frame is borrowed for the call (take a
   * reference to its payload with moqc_slice_dup to keep it). Return false to
   * stop: no further callback runs (not even on_end); delete the reader. */
  bool (*on_frame)(void *ctx, uint64_t group, size_t index, const moqc_frame *frame);
  /* Required: the reader ended. err is MOQC_ERR_CLOSED after the last frame of
   * a cleanly finished track, else the track's error (code: its MoQ code).
   * Runs once; delete the reader afterwards (from inside is fine). */
  void (*on_end)(void *ctx, int err, uint64_t code);
  /* Optional: skipped / lost groups (diagnostics; frames keep flowing). */
  void (*on_event)(void *ctx, const moqc_ordered_event *ev);
  void *ctx;
} moqc_ordered_config;

/* Read tc in order. Takes ownership of tc (deleted with the reader, or at once
 * on failure). NULL on OOM or bad arguments (NULL tc / cfg / callbacks). The
 * first callbacks run from the env's next deferred-work pass. */
MOQC_API moqc_ordered_reader *moqc_ordered_reader_new(moqc_track_consumer *tc,
                                                      const moqc_ordered_config *cfg);
/* The sequence expected next (MOQC_GROUP_NONE until known). */
MOQC_API uint64_t moqc_ordered_reader_next(const moqc_ordered_reader *r);
/* The track consumer being read (borrowed, owned by the reader): e.g. for
 * moqc_track_consumer_end_reason from inside on_end. */
MOQC_API const moqc_track_consumer *moqc_ordered_reader_track(const moqc_ordered_reader *r);
/* Groups waiting for an earlier one (or being read). */
MOQC_API size_t moqc_ordered_reader_held(const moqc_ordered_reader *r);
/* Stop and free: held groups and the track consumer are deleted. NULL is a
 * no-op. Safe from inside the reader's callbacks. */
MOQC_API void moqc_ordered_reader_del(moqc_ordered_reader *r);

#ifdef __cplusplus
}
#endif
#endif
