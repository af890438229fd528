/* moqc hang: the media layer of moq-dev (docs/media.md).
 *
 * A hang broadcast (conventionally named "<name>.hang") carries:
 *   - a catalog track "catalog.json": one group per catalog update, one JSON
 *     frame per group, listing video and audio renditions keyed by track name,
 *     each a WebCodecs decoder config plus its container;
 *   - one track per rendition. A video group starts at a keyframe; audio
 *     groups are short (about a second). Priorities: catalog 100, audio 80,
 *     video 60 (higher first).
 *
 * Containers (the per-frame format of a media track):
 *   - legacy: a QUIC varint timestamp in microseconds, then the codec payload;
 *   - cmaf:   one moof+mdat per frame, the init segment (ftyp+moov) in the catalog.
 * On lite-05 the transport frame timestamp is set as well, in the track's
 * timescale (hang tracks use microseconds: MOQC_HANG_TIMESCALE).
 *
 * This module depends on core and model only (and jansson for JSON); it never
 * links a media library, so an application with its own encoder can publish
 * hang directly. Threading: like the model, every call on a catalog consumer
 * or a producer belongs to the env's loop thread; the pure functions
 * (catalog encode/decode, container codecs) can run on any thread.
 *
 * Memory: strings and byte arrays inside a catalog are owned by it and are
 * allocated through moqc_get_mem(); moqc_hang_catalog_clear frees them. JSON
 * parsing and printing uses jansson's own allocator (the library does not call
 * json_set_alloc_funcs, which is process-global), and zlib (catalog.json.z) its
 * default one for its stream state; the bytes returned are from moqc_get_mem(). */
#ifndef MOQC_HANG_H
#define MOQC_HANG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "moqc/buf.h"
#include "moqc/export.h"
#include "moqc/model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOQC_HANG_CATALOG_TRACK "catalog.json"
/* The DEFLATE-compressed sibling, read by <moq-watch catalog-format="hangz">. */
#define MOQC_HANG_CATALOG_TRACK_Z "catalog.json.z"
#define MOQC_HANG_DEFLATE_LEVEL 6    /* @moq/flate's default */
#define MOQC_HANG_TIMESCALE 1000000u /* microseconds: hang media tracks */
#define MOQC_HANG_PRIORITY_CATALOG 100
#define MOQC_HANG_PRIORITY_AUDIO 80
#define MOQC_HANG_PRIORITY_VIDEO 60
/* A catalog frame larger than this is rejected by the decoder (MOQC_ERR_TOO_LARGE). */
#define MOQC_HANG_CATALOG_MAX_BYTES ((size_t)1 << 20)

typedef enum moqc_hang_kind { MOQC_HANG_VIDEO = 0, MOQC_HANG_AUDIO = 1 } moqc_hang_kind;
MOQC_API const char *moqc_hang_kind_str(moqc_hang_kind k);

typedef enum moqc_hang_container {
  MOQC_HANG_CONTAINER_LEGACY = 0, /* the default when "container" is absent */
  MOQC_HANG_CONTAINER_CMAF = 1,
  MOQC_HANG_CONTAINER_LOC = 2,
  MOQC_HANG_CONTAINER_UNKNOWN = 3, /* a kind this build does not know: ignore the rendition */
} moqc_hang_container;
/* "legacy", "cmaf", "loc", "unknown". */
MOQC_API const char *moqc_hang_container_str(moqc_hang_container c);

/* "Absent" markers for optional catalog numbers. */
#define MOQC_HANG_UNSET UINT64_MAX

/* One rendition: a WebCodecs decoder config plus its container. Every pointer
 * is owned by the catalog (set them with the setters below). Optional numbers
 * are 0 (or MOQC_HANG_UNSET for bitrate/jitter_ms) when absent. */
typedef struct moqc_hang_rendition {
  char *name;      /* the track name (the key in "renditions") */
  char *codec;     /* WebCodecs codec string, e.g. "avc1.64001f", "opus" */
  char *broadcast; /* NULL: the track lives in this broadcast */
  moqc_hang_container container;
  char *container_kind; /* the kind string when container is UNKNOWN, else NULL */
  uint8_t *init;        /* cmaf: the init segment (ftyp+moov), base64 on the wire */
  size_t init_len;
  uint8_t
      *description; /* decoder description (avcC, hvcC, AudioSpecificConfig...), hex on the wire */
  size_t description_len;
  uint64_t bitrate;   /* bits per second, MOQC_HANG_UNSET = absent */
  uint64_t jitter_ms; /* MOQC_HANG_UNSET = absent */
  /* video */
  uint32_t coded_width, coded_height;                   /* 0 = absent */
  uint32_t display_aspect_width, display_aspect_height; /* 0 = absent */
  double framerate;                                     /* 0 = absent */
  int8_t optimize_for_latency;                          /* -1 absent, 0 false, 1 true */
  int8_t stalled;                                       /* -1 absent, 0 false, 1 true */
  /* audio (required for audio renditions) */
  uint32_t sample_rate;
  uint32_t channels; /* "numberOfChannels" */
} moqc_hang_rendition;

typedef struct moqc_hang_catalog {
  moqc_hang_rendition *video; /* in encode order (moq-dev sorts keys; so do we on encode) */
  size_t n_video;
  moqc_hang_rendition *audio;
  size_t n_audio;
  /* video section extras */
  uint32_t display_width, display_height; /* 0 = absent */
  double rotation;                        /* used when has_rotation */
  bool has_rotation;
  int8_t flip; /* -1 absent */
} moqc_hang_catalog;

/* An empty catalog (no allocation). */
MOQC_API void moqc_hang_catalog_init(moqc_hang_catalog *cat);
/* Free everything the catalog owns and leave it empty. NULL is a no-op. */
MOQC_API void moqc_hang_catalog_clear(moqc_hang_catalog *cat);
/* Add a rendition (name and codec copied); returns it (owned by cat and valid
 * until the next add or clear) with every optional field absent and the
 * legacy container, or NULL on OOM / INVAL (empty name or codec, duplicate name
 * in that section). */
MOQC_API moqc_hang_rendition *moqc_hang_catalog_add(moqc_hang_catalog *cat, moqc_hang_kind kind,
                                                    const char *name, const char *codec);
/* Find a rendition by track name in either section; NULL if none. */
MOQC_API const moqc_hang_rendition *moqc_hang_catalog_find(const moqc_hang_catalog *cat,
                                                           const char *name, moqc_hang_kind *kind);
/* Copy bytes into the rendition (replacing what was there). MOQC_OK or NOMEM. */
MOQC_API int moqc_hang_rendition_set_description(moqc_hang_rendition *r, const void *p, size_t n);
/* Sets the container to cmaf with this init segment. MOQC_OK or NOMEM. */
MOQC_API int moqc_hang_rendition_set_cmaf(moqc_hang_rendition *r, const void *init, size_t n);

/* Encode as compact JSON (field order as moq-dev's hang writes it, renditions
 * sorted by name). *out is NUL-terminated, allocated with moqc_get_mem();
 * free it with moqc_hang_free. MOQC_OK, MOQC_ERR_NOMEM, MOQC_ERR_INVAL (a
 * rendition without name/codec, an audio rendition without sample rate or
 * channels, a non-finite number). */
MOQC_API int moqc_hang_catalog_encode(const moqc_hang_catalog *cat, char **out, size_t *len);
/* Decode JSON into cat (which must be initialised; it is cleared first, and is
 * left empty on error). Unknown fields are ignored; an unknown container kind
 * gives MOQC_HANG_CONTAINER_UNKNOWN. The older array / {track,config} forms are
 * accepted. MOQC_OK, MOQC_ERR_DECODE (not JSON, a wrong type, a required
 * field missing, bad hex/base64, an integer out of range), MOQC_ERR_TOO_LARGE
 * (over MOQC_HANG_CATALOG_MAX_BYTES), MOQC_ERR_NOMEM. If err_msg is non-NULL
 * it receives a short reason on DECODE (NUL-terminated, truncated to cap). */
MOQC_API int moqc_hang_catalog_decode(moqc_hang_catalog *cat, const void *json, size_t len,
                                      char *err_msg, size_t err_cap);
/* Free memory returned by this module. NULL is a no-op. */
MOQC_API void moqc_hang_free(void *p);

/* ---- legacy container ------------------------------------------------------- */

/* Longest legacy header (a QUIC varint). */
#define MOQC_HANG_LEGACY_HEADER_MAX 8
/* Write the header for a frame at ts_us (< 2^62) into out; returns its length
 * (1..8), or 0 if ts_us is too large. */
MOQC_API size_t moqc_hang_legacy_header(uint8_t out[MOQC_HANG_LEGACY_HEADER_MAX], uint64_t ts_us);
/* Split a legacy frame: *ts_us gets the timestamp, *payload_off the offset of
 * the codec payload (which may be empty: a marker, not a sample).
 * MOQC_OK or MOQC_ERR_DECODE (empty or truncated varint). */
MOQC_API int moqc_hang_legacy_decode(const uint8_t *p, size_t len, uint64_t *ts_us,
                                     size_t *payload_off);
/* Write one legacy frame to group g: header (copied) then payload (a reference
 * is taken, no copy). The transport timestamp is ts_us converted to timescale
 * (the track's; MOQC_HANG_TIMESCALE for hang tracks). Errors of
 * moqc_group_producer_create_frame / moqc_frame_producer_write, MOQC_ERR_INVAL. */
MOQC_API int moqc_hang_legacy_write(moqc_group_producer *g, uint64_t ts_us, uint64_t timescale,
                                    const moqc_slice *payload);

/* ---- cmaf container ------------------------------------------------------------- */

/* One decoded cmaf frame (moof+mdat): the first track fragment's sample table. */
typedef struct moqc_hang_cmaf_frame {
  uint32_t track_id;
  uint32_t sequence;         /* mfhd */
  uint64_t base_decode_time; /* tfdt, in the track's timescale */
  uint32_t samples;          /* trun sample count */
  uint32_t duration;         /* the first sample's duration (trun or tfhd default, 0 if none) */
  bool keyframe;             /* the first sample is a sync sample */
  size_t data_off;           /* the samples' bytes: p[data_off .. data_off+data_len) */
  size_t data_len;
} moqc_hang_cmaf_frame;

/* Parse a frame of the cmaf container. MOQC_OK or MOQC_ERR_DECODE (not one
 * moof followed by one mdat, a box overrunning its parent, no traf/tfhd/trun,
 * sample data outside the mdat). Pure: no allocation. */
MOQC_API int moqc_hang_cmaf_decode(const uint8_t *p, size_t len, moqc_hang_cmaf_frame *out);
/* Build a one-sample cmaf frame (moof with mfhd, traf[tfhd default-base-is-moof,
 * tfdt v1, trun with data offset, duration, size, flags] + mdat). *out is
 * allocated with moqc_get_mem() (free with moqc_hang_free). MOQC_OK, NOMEM,
 * INVAL (payload over 4 GiB). */
MOQC_API int moqc_hang_cmaf_encode(uint32_t track_id, uint32_t sequence, uint64_t decode_time,
                                   uint32_t duration, bool keyframe, const void *payload,
                                   size_t payload_len, uint8_t **out, size_t *out_len);
/* The timescale of track_id (0: the first track) in an init segment
 * (moov/trak/mdia/mdhd). MOQC_OK or MOQC_ERR_DECODE / MOQC_ERR_NOT_FOUND. */
MOQC_API int moqc_hang_cmaf_init_timescale(const uint8_t *init, size_t len, uint32_t track_id,
                                           uint32_t *timescale);

/* ---- tracks through the model API ------------------------------------------------ */

/* Track info for a hang track of this kind: priority (catalog / audio / video),
 * timescale MOQC_HANG_TIMESCALE (the catalog: 1000). */
MOQC_API moqc_track_info moqc_hang_track_info(bool catalog, moqc_hang_kind kind);
/* Publish one catalog update on a catalog track: a new group with one JSON
 * frame, finished at once. MOQC_OK, errors of encode, of
 * moqc_track_producer_append_group (NOMEM) and of the group producer. */
MOQC_API int moqc_hang_catalog_publish(moqc_track_producer *t, const moqc_hang_catalog *cat);

/* The same update on the compressed sibling (MOQC_HANG_CATALOG_TRACK_Z): a new
 * group with one frame, the JSON as one raw DEFLATE slice (moqc_hang_deflate_frame).
 * Publish each update on both tracks. Errors as moqc_hang_catalog_publish. */
MOQC_API int moqc_hang_catalog_publish_z(moqc_track_producer *t, const moqc_hang_catalog *cat);

/* ---- group-scoped DEFLATE (catalog.json.z; moq-dev's @moq/flate, zlib here) ------ */

/* Compress p[0..n) as the first frame of a group: a raw DEFLATE stream (RFC 1951,
 * no zlib header, level MOQC_HANG_DEFLATE_LEVEL) sync-flushed, without the flush's
 * fixed tail 00 00 ff ff. *out is allocated with moqc_get_mem() (free with
 * moqc_hang_free). MOQC_OK, MOQC_ERR_NOMEM, MOQC_ERR_INVAL (n over 2 GiB),
 * MOQC_ERR_STATE (zlib failed otherwise: not expected). Pure. */
MOQC_API int moqc_hang_deflate_frame(const void *p, size_t n, uint8_t **out, size_t *out_len);
/* The inverse for the first frame of a group (a cold window): inflates p[0..n)
 * followed by the tail 00 00 ff ff. *out (moqc_hang_free) gets at most max bytes.
 * MOQC_OK, MOQC_ERR_DECODE (not a raw DEFLATE slice), MOQC_ERR_TOO_LARGE (more
 * than max bytes), MOQC_ERR_NOMEM, MOQC_ERR_INVAL. Pure. */
MOQC_API int moqc_hang_inflate_frame(const uint8_t *p, size_t n, size_t max, uint8_t **out,
                                     size_t *out_len);

/* Reads catalog updates from a catalog track consumer: the newest group's
 * frame, decoded. Loop thread only. */
typedef struct moqc_hang_catalog_consumer moqc_hang_catalog_consumer;
/* Takes ownership of tc. NULL on OOM (tc is deleted). */
MOQC_API moqc_hang_catalog_consumer *moqc_hang_catalog_consumer_new(moqc_track_consumer *tc);
/* The same for catalog.json.z: each group's first frame is inflated
 * (moqc_hang_inflate_frame, at most MOQC_HANG_CATALOG_MAX_BYTES) before decoding;
 * a frame that does not inflate gives MOQC_ERR_DECODE from next(), one that
 * inflates past the cap MOQC_ERR_TOO_LARGE (err_msg names the track either way). */
MOQC_API moqc_hang_catalog_consumer *moqc_hang_catalog_consumer_new_z(moqc_track_consumer *tc);
MOQC_API void moqc_hang_catalog_consumer_del(moqc_hang_catalog_consumer *c);
/* fn runs (on the loop thread) when next() may have something new. */
MOQC_API void moqc_hang_catalog_consumer_set_waker(moqc_hang_catalog_consumer *c, moqc_waker_fn fn,
                                                   void *arg);
/* MOQC_OK: *cat (initialised by the caller; cleared first) holds the newest
 * catalog; MOQC_ERR_AGAIN: nothing new yet; MOQC_ERR_CLOSED: the track ended;
 * MOQC_ERR_DECODE / TOO_LARGE: the newest catalog is invalid (a later update
 * may fix it; err_msg says why); the track's error otherwise. */
MOQC_API int moqc_hang_catalog_consumer_next(moqc_hang_catalog_consumer *c, moqc_hang_catalog *cat,
                                             char *err_msg, size_t err_cap);

#ifdef __cplusplus
}
#endif
#endif
