/* hang catalog: types and JSON encode/decode (jansson). Field names and order
 * follow moq-dev's hang (rs/hang/src/catalog, js/hang/src/catalog). */
#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/mem.h"
#include "hang/hang_int.h"
#include "moqc/error.h"
#include "moqc/hang.h"

#define U53_MAX ((uint64_t)9007199254740991ULL) /* JavaScript's MAX_SAFE_INTEGER */

const char *moqc_hang_kind_str(moqc_hang_kind k) {
  return k == MOQC_HANG_VIDEO ? "video" : k == MOQC_HANG_AUDIO ? "audio" : "?";
}

const char *moqc_hang_container_str(moqc_hang_container c) {
  switch (c) {
    case MOQC_HANG_CONTAINER_LEGACY: return "legacy";
    case MOQC_HANG_CONTAINER_CMAF: return "cmaf";
    case MOQC_HANG_CONTAINER_LOC: return "loc";
    case MOQC_HANG_CONTAINER_UNKNOWN: return "unknown";
  }
  return "?";
}

void moqc_hang_free(void *p) { moqc_free(p); }

void moqc_hang_catalog_init(moqc_hang_catalog *cat) {
  memset(cat, 0, sizeof *cat);
  cat->flip = -1;
}

static void rendition_clear(moqc_hang_rendition *r) {
  moqc_free(r->name);
  moqc_free(r->codec);
  moqc_free(r->broadcast);
  moqc_free(r->container_kind);
  moqc_free(r->init);
  moqc_free(r->description);
  memset(r, 0, sizeof *r);
}

void moqc_hang_catalog_clear(moqc_hang_catalog *cat) {
  if (!cat) return;
  for (size_t i = 0; i < cat->n_video; i++) rendition_clear(&cat->video[i]);
  for (size_t i = 0; i < cat->n_audio; i++) rendition_clear(&cat->audio[i]);
  moqc_free(cat->video);
  moqc_free(cat->audio);
  moqc_hang_catalog_init(cat);
}

moqc_hang_rendition *moqc_hang_catalog_add(moqc_hang_catalog *cat, moqc_hang_kind kind,
                                           const char *name, const char *codec) {
  if (!cat || !name || !*name || !codec || !*codec) return NULL;
  moqc_hang_rendition **arr = kind == MOQC_HANG_VIDEO ? &cat->video : &cat->audio;
  size_t *n = kind == MOQC_HANG_VIDEO ? &cat->n_video : &cat->n_audio;
  for (size_t i = 0; i < *n; i++)
    if (strcmp((*arr)[i].name, name) == 0) return NULL;
  moqc_hang_rendition *na = moqc_realloc(*arr, (*n + 1) * sizeof **arr);
  if (!na) return NULL;
  *arr = na;
  moqc_hang_rendition *r = &na[*n];
  memset(r, 0, sizeof *r);
  r->name = moqc_strdup(name);
  r->codec = moqc_strdup(codec);
  if (!r->name || !r->codec) {
    rendition_clear(r);
    return NULL;
  }
  r->bitrate = MOQC_HANG_UNSET;
  r->jitter_ms = MOQC_HANG_UNSET;
  r->optimize_for_latency = -1;
  r->stalled = -1;
  (*n)++;
  return r;
}

const moqc_hang_rendition *moqc_hang_catalog_find(const moqc_hang_catalog *cat, const char *name,
                                                  moqc_hang_kind *kind) {
  for (size_t i = 0; i < cat->n_video; i++)
    if (strcmp(cat->video[i].name, name) == 0) {
      if (kind) *kind = MOQC_HANG_VIDEO;
      return &cat->video[i];
    }
  for (size_t i = 0; i < cat->n_audio; i++)
    if (strcmp(cat->audio[i].name, name) == 0) {
      if (kind) *kind = MOQC_HANG_AUDIO;
      return &cat->audio[i];
    }
  return NULL;
}

static int set_bytes(uint8_t **dst, size_t *dlen, const void *p, size_t n) {
  uint8_t *q = NULL;
  if (n > 0) {
    if (!(q = moqc_malloc(n))) return MOQC_ERR_NOMEM;
    memcpy(q, p, n);
  }
  moqc_free(*dst);
  *dst = q;
  *dlen = n;
  return MOQC_OK;
}

int moqc_hang_rendition_set_description(moqc_hang_rendition *r, const void *p, size_t n) {
  return set_bytes(&r->description, &r->description_len, p, n);
}

int moqc_hang_rendition_set_cmaf(moqc_hang_rendition *r, const void *init, size_t n) {
  int rv = set_bytes(&r->init, &r->init_len, init, n);
  if (rv == MOQC_OK) {
    r->container = MOQC_HANG_CONTAINER_CMAF;
    moqc_free(r->container_kind);
    r->container_kind = NULL;
  }
  return rv;
}

/* ---- encode ------------------------------------------------------------------ */

/* json_object_set_new that fails on a NULL value (jansson's OOM). */
static int put(json_t *o, const char *k, json_t *v) {
  if (!v) return MOQC_ERR_NOMEM;
  return json_object_set_new(o, k, v) == 0 ? MOQC_OK : MOQC_ERR_NOMEM;
}

static int put_u53(json_t *o, const char *k, uint64_t v) {
  if (v > U53_MAX) return MOQC_ERR_INVAL;
  return put(o, k, json_integer((json_int_t)v));
}

static int put_hex(json_t *o, const char *k, const uint8_t *p, size_t n) {
  char *s = moqc_malloc(2 * n + 1);
  if (!s) return MOQC_ERR_NOMEM;
  moqc__hang_hex_encode(s, p, n);
  int rv = put(o, k, json_stringn(s, 2 * n));
  moqc_free(s);
  return rv;
}

static json_t *container_json(const moqc_hang_rendition *r, int *rv) {
  json_t *c = json_object();
  if (!c) return NULL;
  const char *kind = r->container == MOQC_HANG_CONTAINER_UNKNOWN && r->container_kind
                         ? r->container_kind
                         : moqc_hang_container_str(r->container);
  *rv = put(c, "kind", json_string(kind));
  if (*rv == MOQC_OK && r->container == MOQC_HANG_CONTAINER_CMAF) {
    char *b = moqc_malloc(moqc__hang_b64_len(r->init_len) + 1);
    if (!b) *rv = MOQC_ERR_NOMEM;
    else {
      size_t n = moqc__hang_b64_encode(b, r->init, r->init_len);
      *rv = put(c, "init", json_stringn(b, n));
      moqc_free(b);
    }
  }
  if (*rv != MOQC_OK) {
    json_decref(c);
    return NULL;
  }
  return c;
}

static int put_bool(json_t *o, const char *k, int8_t v) {
  return v < 0 ? MOQC_OK : put(o, k, json_boolean(v));
}

static int put_real(json_t *o, const char *k, double v) {
  if (!isfinite(v)) return MOQC_ERR_INVAL;
  return put(o, k, json_real(v));
}

/* Field order: as moq-dev's VideoConfig / AudioConfig structs serialise. */
static json_t *rendition_json(const moqc_hang_rendition *r, moqc_hang_kind kind, int *rv) {
  json_t *o = json_object();
  *rv = o ? MOQC_OK : MOQC_ERR_NOMEM;
  if (!o) return NULL;
  if (!r->codec || !*r->codec) *rv = MOQC_ERR_INVAL;
  if (*rv == MOQC_OK && r->broadcast) *rv = put(o, "broadcast", json_string(r->broadcast));
  if (*rv == MOQC_OK) *rv = put(o, "codec", json_string(r->codec));
  if (kind == MOQC_HANG_VIDEO) {
    if (*rv == MOQC_OK && r->description_len)
      *rv = put_hex(o, "description", r->description, r->description_len);
    if (*rv == MOQC_OK && r->coded_width) *rv = put_u53(o, "codedWidth", r->coded_width);
    if (*rv == MOQC_OK && r->coded_height) *rv = put_u53(o, "codedHeight", r->coded_height);
    if (*rv == MOQC_OK && r->display_aspect_width)
      *rv = put_u53(o, "displayAspectWidth", r->display_aspect_width);
    if (*rv == MOQC_OK && r->display_aspect_height)
      *rv = put_u53(o, "displayAspectHeight", r->display_aspect_height);
    if (*rv == MOQC_OK && r->bitrate != MOQC_HANG_UNSET) *rv = put_u53(o, "bitrate", r->bitrate);
    if (*rv == MOQC_OK) *rv = put_bool(o, "stalled", r->stalled);
    if (*rv == MOQC_OK && r->framerate != 0) *rv = put_real(o, "framerate", r->framerate);
    if (*rv == MOQC_OK) *rv = put_bool(o, "optimizeForLatency", r->optimize_for_latency);
  } else {
    if (r->sample_rate == 0 || r->channels == 0) *rv = MOQC_ERR_INVAL;
    if (*rv == MOQC_OK) *rv = put_u53(o, "sampleRate", r->sample_rate);
    if (*rv == MOQC_OK) *rv = put_u53(o, "numberOfChannels", r->channels);
    if (*rv == MOQC_OK && r->bitrate != MOQC_HANG_UNSET) *rv = put_u53(o, "bitrate", r->bitrate);
    if (*rv == MOQC_OK && r->description_len)
      *rv = put_hex(o, "description", r->description, r->description_len);
  }
  if (*rv == MOQC_OK) {
    json_t *c = container_json(r, rv);
    if (c) *rv = put(o, "container", c);
  }
  if (*rv == MOQC_OK && r->jitter_ms != MOQC_HANG_UNSET) *rv = put_u53(o, "jitter", r->jitter_ms);
  if (*rv != MOQC_OK) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static int cmp_name(const void *a, const void *b) {
  const moqc_hang_rendition *const *x = a, *const *y = b;
  return strcmp((*x)->name, (*y)->name);
}

static int section_json(json_t *root, const char *key, const moqc_hang_rendition *arr, size_t n,
                        moqc_hang_kind kind, const moqc_hang_catalog *cat) {
  json_t *sec = json_object(), *rends = json_object();
  int rv = sec && rends ? MOQC_OK : MOQC_ERR_NOMEM;
  const moqc_hang_rendition **sorted = rv == MOQC_OK ? moqc_calloc(n + 1, sizeof *sorted) : NULL;
  if (rv == MOQC_OK && !sorted) rv = MOQC_ERR_NOMEM;
  if (rv == MOQC_OK) {
    for (size_t i = 0; i < n; i++) sorted[i] = &arr[i];
    qsort(sorted, n, sizeof *sorted, cmp_name); /* BTreeMap order, as moq-dev */
    for (size_t i = 0; i < n && rv == MOQC_OK; i++) {
      if (!sorted[i]->name || !*sorted[i]->name) rv = MOQC_ERR_INVAL;
      json_t *r = rv == MOQC_OK ? rendition_json(sorted[i], kind, &rv) : NULL;
      if (r) rv = put(rends, sorted[i]->name, r);
    }
  }
  moqc_free(sorted);
  if (rv == MOQC_OK) {
    rv = put(sec, "renditions", rends);
    rends = NULL;
  }
  if (rv == MOQC_OK && kind == MOQC_HANG_VIDEO && cat->display_width && cat->display_height) {
    json_t *d = json_object();
    rv = d ? MOQC_OK : MOQC_ERR_NOMEM;
    if (rv == MOQC_OK) rv = put_u53(d, "width", cat->display_width);
    if (rv == MOQC_OK) rv = put_u53(d, "height", cat->display_height);
    if (rv == MOQC_OK) rv = put(sec, "display", d);
    else json_decref(d);
  }
  if (rv == MOQC_OK && kind == MOQC_HANG_VIDEO && cat->has_rotation)
    rv = put_real(sec, "rotation", cat->rotation);
  if (rv == MOQC_OK && kind == MOQC_HANG_VIDEO) rv = put_bool(sec, "flip", cat->flip);
  json_decref(rends);
  if (rv == MOQC_OK) return put(root, key, sec);
  json_decref(sec);
  return rv;
}

int moqc_hang_catalog_encode(const moqc_hang_catalog *cat, char **out, size_t *len) {
  if (!cat || !out) return MOQC_ERR_INVAL;
  *out = NULL;
  json_t *root = json_object();
  if (!root) return MOQC_ERR_NOMEM;
  int rv = MOQC_OK;
  /* Both sections always, as moq-dev's Rust encoder writes them. */
  rv = section_json(root, "video", cat->video, cat->n_video, MOQC_HANG_VIDEO, cat);
  if (rv == MOQC_OK)
    rv = section_json(root, "audio", cat->audio, cat->n_audio, MOQC_HANG_AUDIO, cat);
  char *s = NULL;
  if (rv == MOQC_OK) {
    /* 15 significant digits: 29.97 prints as 29.97, not 29.969999999999999. */
    s = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (!s) rv = MOQC_ERR_NOMEM;
  }
  json_decref(root);
  if (rv != MOQC_OK) return rv;
  size_t n = strlen(s);
  *out = moqc_malloc(n + 1);
  if (*out) memcpy(*out, s, n + 1);
  free(s); /* jansson's default allocator */
  if (!*out) return MOQC_ERR_NOMEM;
  if (len) *len = n;
  return MOQC_OK;
}
