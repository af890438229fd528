/* WebCodecs codec strings (https://w3c.github.io/webcodecs/codec_registry.html)
 * from and to FFmpeg codec parameters. */
#include "media.h"

#include <time.h>

void media_latency_log(FILE *f, uint64_t pts_us) {
  if (!f) return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  fprintf(f, "%llu %lld\n", (unsigned long long)pts_us,
          (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

#ifdef MOQC_HAVE_FFMPEG
#include <stdio.h>
#include <string.h>

#include <libavutil/mem.h>
#include <libavutil/pixdesc.h>
#include <libavutil/sha.h>

void media_sha256_hex(char out[65], const uint8_t *p, size_t n) {
  uint8_t d[32];
  struct AVSHA *sha = av_sha_alloc();
  out[0] = 0;
  if (!sha || av_sha_init(sha, 256) < 0) {
    av_free(sha);
    return;
  }
  while (n > 0) { /* av_sha_update takes an unsigned int (FFmpeg 5) */
    unsigned chunk = n > (1u << 30) ? 1u << 30 : (unsigned)n;
    av_sha_update(sha, p, chunk);
    p += chunk, n -= chunk;
  }
  av_sha_final(sha, d);
  av_free(sha);
  for (size_t i = 0; i < sizeof d; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static uint32_t bitrev32(uint32_t v) {
  uint32_t r = 0;
  for (int i = 0; i < 32; i++) r |= ((v >> i) & 1u) << (31 - i);
  return r;
}

/* hvc1.<space><profile>.<compat reversed>.<tier><level>.<constraints> from hvcC. */
static int hevc_string(const uint8_t *x, size_t n, char *out, size_t cap) {
  if (n < 13) return -1;
  static const char *space[] = {"", "A", "B", "C"};
  uint8_t ps = x[1] >> 6, tier = (x[1] >> 5) & 1, prof = x[1] & 31;
  uint32_t compat = (uint32_t)x[2] << 24 | (uint32_t)x[3] << 16 | (uint32_t)x[4] << 8 | x[5];
  int w = snprintf(out, cap, "hvc1.%s%u.%X.%c%u", space[ps], prof, bitrev32(compat),
                   tier ? 'H' : 'L', x[12]);
  int last = 5; /* constraint bytes x[6..11]: trailing zero bytes dropped */
  while (last >= 0 && x[6 + last] == 0) last--;
  for (int i = 0; i <= last && w > 0 && (size_t)w < cap; i++)
    w += snprintf(out + w, cap - (size_t)w, ".%X", x[6 + i]);
  return w > 0 && (size_t)w < cap ? 0 : -1;
}

static int bit_depth(const AVCodecParameters *par) {
  const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)par->format);
  return d ? d->comp[0].depth : 8;
}

int media_codec_string(const AVCodecParameters *par, char *out, size_t cap) {
  const uint8_t *x = par->extradata;
  size_t n = par->extradata ? (size_t)par->extradata_size : 0;
  switch (par->codec_id) {
    case AV_CODEC_ID_H264:
      if (n < 4 || x[0] != 1) return -1; /* avcC */
      snprintf(out, cap, "avc1.%02x%02x%02x", x[1], x[2], x[3]);
      return 0;
    case AV_CODEC_ID_HEVC: return hevc_string(x, n, out, cap);
    case AV_CODEC_ID_VP8: snprintf(out, cap, "vp8"); return 0;
    case AV_CODEC_ID_VP9: {
      int prof = par->profile >= 0 ? par->profile : 0;
      int level = par->level > 0 ? par->level : 31;
      snprintf(out, cap, "vp09.%02d.%02d.%02d", prof, level, bit_depth(par));
      return 0;
    }
    case AV_CODEC_ID_AV1: {
      if (n < 4) return -1; /* av1C */
      int prof = x[1] >> 5, level = x[1] & 31, tier = x[2] >> 7;
      int depth = (x[2] & 0x40) ? ((x[2] & 0x20) ? 12 : 10) : 8;
      snprintf(out, cap, "av01.%d.%02d%c.%02d", prof, level, tier ? 'H' : 'M', depth);
      return 0;
    }
    case AV_CODEC_ID_AAC: {
      int aot = n >= 1 ? x[0] >> 3 : 2;
      snprintf(out, cap, "mp4a.40.%d", aot ? aot : 2);
      return 0;
    }
    case AV_CODEC_ID_OPUS: snprintf(out, cap, "opus"); return 0;
    default: return -1;
  }
}

moqc_hang_rendition *media_rendition_add(moqc_hang_catalog *cat, moqc_hang_kind kind,
                                         const char *name, const AVCodecParameters *par,
                                         double framerate, char *why, size_t cap) {
  char codec[128];
  if (media_codec_string(par, codec, sizeof codec) != 0) {
    const char *cname = avcodec_get_name(par->codec_id);
    if (par->codec_id == AV_CODEC_ID_H264 || par->codec_id == AV_CODEC_ID_HEVC ||
        par->codec_id == AV_CODEC_ID_AV1)
      snprintf(why, cap, "%s without its decoder configuration (avcC/hvcC/av1C)", cname);
    else
      snprintf(why, cap,
               "codec '%s' is not supported (video: H.264, H.265, VP8, VP9, AV1; audio: AAC, "
               "Opus)",
               cname);
    return NULL;
  }
  moqc_hang_rendition *r = moqc_hang_catalog_add(cat, kind, name, codec);
  if (!r) {
    snprintf(why, cap, "out of memory");
    return NULL;
  }
  bool desc = par->codec_id == AV_CODEC_ID_H264 || par->codec_id == AV_CODEC_ID_HEVC ||
              par->codec_id == AV_CODEC_ID_AV1 || par->codec_id == AV_CODEC_ID_AAC;
  if (desc && par->extradata_size > 0 &&
      moqc_hang_rendition_set_description(r, par->extradata, (size_t)par->extradata_size) != 0) {
    snprintf(why, cap, "out of memory");
    return NULL;
  }
  if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
    r->coded_width = (uint32_t)par->width;
    r->coded_height = (uint32_t)par->height;
    if (framerate > 0) r->framerate = framerate;
    r->optimize_for_latency = 1;
  } else {
    r->sample_rate = (uint32_t)par->sample_rate;
    r->channels = (uint32_t)par->ch_layout.nb_channels;
  }
  if (par->bit_rate > 0) r->bitrate = (uint64_t)par->bit_rate;
  return r;
}

/* OpusHead for an Opus rendition without a description (RFC 7845 5.1). */
static int opus_head(AVCodecParameters *par, uint32_t rate, uint32_t channels) {
  uint8_t *h = av_mallocz(19 + AV_INPUT_BUFFER_PADDING_SIZE);
  if (!h) return -1;
  memcpy(h, "OpusHead", 8);
  h[8] = 1;
  h[9] = (uint8_t)channels;
  h[10] = 0x38, h[11] = 0x01; /* pre-skip 312 */
  h[12] = (uint8_t)rate, h[13] = (uint8_t)(rate >> 8), h[14] = (uint8_t)(rate >> 16),
  h[15] = (uint8_t)(rate >> 24);
  par->extradata = h;
  par->extradata_size = 19;
  return 0;
}

int media_inband_extradata(AVCodecParameters *par, const uint8_t *p, size_t n) {
  uint8_t *ex = av_mallocz(n + AV_INPUT_BUFFER_PADDING_SIZE);
  size_t len = 0;
  if (!ex) return -1;
  for (size_t i = 0; i + 3 < n;) {
    /* a start code 00 00 01 (or 00 00 00 01) */
    if (!(p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1)) {
      i++;
      continue;
    }
    size_t start = i + 3, end = start;
    while (end + 2 < n &&
           !(p[end] == 0 && p[end + 1] == 0 &&
             (p[end + 2] == 1 || (end + 3 < n && p[end + 2] == 0 && p[end + 3] == 1))))
      end++;
    if (end + 2 >= n) end = n;
    if (start < end) {
      int type = par->codec_id == AV_CODEC_ID_HEVC ? (p[start] >> 1) & 0x3f : p[start] & 0x1f;
      bool ps =
          par->codec_id == AV_CODEC_ID_HEVC ? (type >= 32 && type <= 34) : (type == 7 || type == 8);
      if (ps) {
        memcpy(ex + len, "\0\0\0\1", 4);
        memcpy(ex + len + 4, p + start, end - start);
        len += 4 + end - start;
      }
    }
    i = end;
  }
  if (len == 0) {
    av_free(ex);
    return -1;
  }
  av_freep(&par->extradata);
  par->extradata = ex;
  par->extradata_size = (int)len;
  return 0;
}

static int prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

int media_par_from_rendition(AVCodecParameters *par, const moqc_hang_rendition *r,
                             moqc_hang_kind kind, char *why, size_t cap) {
  const char *c = r->codec;
  enum AVCodecID id = AV_CODEC_ID_NONE;
  if (prefix(c, "avc1") || prefix(c, "avc3")) id = AV_CODEC_ID_H264;
  else if (prefix(c, "hvc1") || prefix(c, "hev1")) id = AV_CODEC_ID_HEVC;
  else if (strcmp(c, "vp8") == 0) id = AV_CODEC_ID_VP8;
  else if (prefix(c, "vp09")) id = AV_CODEC_ID_VP9;
  else if (prefix(c, "av01")) id = AV_CODEC_ID_AV1;
  else if (prefix(c, "mp4a")) id = AV_CODEC_ID_AAC;
  else if (strcmp(c, "opus") == 0) id = AV_CODEC_ID_OPUS;
  if (id == AV_CODEC_ID_NONE) {
    snprintf(why, cap, "track '%s': codec '%s' is not supported", r->name, c);
    return -1;
  }
  if (r->container != MOQC_HANG_CONTAINER_LEGACY) {
    snprintf(why, cap, "track '%s': container '%s' is not supported (legacy only)", r->name,
             r->container_kind ? r->container_kind : moqc_hang_container_str(r->container));
    return -1;
  }
  /* H.264/H.265 without a description: parameter sets in band (Annex B) before each
   * keyframe; the caller takes them from the first keyframe (media_inband_extradata). */
  if (id == AV_CODEC_ID_AV1 && !r->description_len) {
    snprintf(why, cap, "track '%s': %s without a description (in-band parameters) is not supported",
             r->name, c);
    return -1;
  }
  par->codec_type = kind == MOQC_HANG_VIDEO ? AVMEDIA_TYPE_VIDEO : AVMEDIA_TYPE_AUDIO;
  par->codec_id = id;
  if (r->description_len) {
    par->extradata = av_mallocz(r->description_len + AV_INPUT_BUFFER_PADDING_SIZE);
    if (!par->extradata) return -1;
    memcpy(par->extradata, r->description, r->description_len);
    par->extradata_size = (int)r->description_len;
  } else if (id == AV_CODEC_ID_OPUS && opus_head(par, r->sample_rate, r->channels) != 0) {
    return -1;
  }
  if (kind == MOQC_HANG_VIDEO) {
    par->width = (int)r->coded_width;
    par->height = (int)r->coded_height;
    if (!par->width || !par->height) {
      snprintf(why, cap, "track '%s': no codedWidth/codedHeight", r->name);
      return -1;
    }
    par->format = AV_PIX_FMT_YUV420P;
    int prof = 0, level = 0, depth = 8;
    if (id == AV_CODEC_ID_VP9 && sscanf(c, "vp09.%d.%d.%d", &prof, &level, &depth) >= 1) {
      par->profile = prof;
      par->level = level;
      if (depth == 10) par->format = AV_PIX_FMT_YUV420P10;
    }
  } else {
    par->sample_rate = (int)r->sample_rate;
    av_channel_layout_default(&par->ch_layout, (int)r->channels);
    if (id == AV_CODEC_ID_OPUS) par->initial_padding = 312;
    par->frame_size = id == AV_CODEC_ID_OPUS ? 960 : 1024; /* 20 ms Opus, AAC-LC */
  }
  return 0;
}
#endif
