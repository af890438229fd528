/* moqc CLI media (`--format fmp4`): FFmpeg glue, only in the tool (libmoqc
 * never links FFmpeg). docs/media.md.
 *
 *   media_codec.c      WebCodecs codec strings <-> FFmpeg codec parameters
 *   media_publish.c    `moqc publish --format fmp4`: fMP4 on stdin -> hang broadcast
 *   media_subscribe.c  `moqc subscribe --format fmp4`: hang broadcast -> fMP4 on stdout
 */
#ifndef MOQC_TOOLS_CLI_MEDIA_H
#define MOQC_TOOLS_CLI_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "moqc/hang.h"

#ifdef MOQC_HAVE_FFMPEG
#include <libavcodec/avcodec.h>

/* Add a rendition `name` for a demuxed stream: codec string, description,
 * size / sample rate / channels. NULL with why (unsupported codec, missing
 * extradata, OOM). */
moqc_hang_rendition *media_rendition_add(moqc_hang_catalog *cat, moqc_hang_kind kind,
                                         const char *name, const AVCodecParameters *par,
                                         double framerate, char *why, size_t cap);
/* The WebCodecs codec string for par into out. 0 or -1 (unsupported). */
int media_codec_string(const AVCodecParameters *par, char *out, size_t cap);
/* Codec parameters for muxing a rendition. 0, or -1 with why. */
int media_par_from_rendition(AVCodecParameters *par, const moqc_hang_rendition *r,
                             moqc_hang_kind kind, char *why, size_t cap);
/* H.264/H.265 in band: the parameter sets (SPS/PPS[/VPS]) of an Annex B keyframe
 * become par's extradata (Annex B; the mp4 muxer converts). 0, or -1 if none. */
int media_inband_extradata(AVCodecParameters *par, const uint8_t *p, size_t n);

/* Lower-case hex SHA-256 of p[0..n) into out (65 bytes), via libavutil (--frame-log). */
void media_sha256_hex(char out[65], const uint8_t *p, size_t n);
#endif

/* --latency-log: one line "<pts_us> <CLOCK_REALTIME ns>" (any thread; line-buffered). */
void media_latency_log(FILE *f, uint64_t pts_us);

extern const cli_cmd cli_cmd_publish_fmp4;
extern const cli_cmd cli_cmd_subscribe_fmp4;

#endif
