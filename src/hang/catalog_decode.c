/* hang catalog: JSON decode (jansson), as lenient as moq-dev's JS schema
 * (unknown fields ignored, unknown container kinds kept as "unknown", the
 * older array / {track,config} section forms accepted) and as strict on the
 * fields it reads (types, ranges, hex, base64). */
#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "core/mem.h"
#include "hang/hang_int.h"
#include "moqc/error.h"
#include "moqc/hang.h"

#define U53_MAX ((uint64_t)9007199254740991ULL)

typedef struct dec {
  char *msg;
  size_t cap;
} dec;

static int fail(dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(dec *d, const char *fmt, ...) {
  if (d->msg && d->cap) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, d->cap, fmt, ap);
    va_end(ap);
  }
  return MOQC_ERR_DECODE;
}

/* An optional unsigned integer no larger than max; absent leaves *v. */
static int get_uint(dec *d, json_t *o, const char *name, const char *k, uint64_t max, uint64_t *v,
                    bool required) {
  json_t *j = json_object_get(o, k);
  if (!j || json_is_null(j)) return required ? fail(d, "%s: missing \"%s\"", name, k) : MOQC_OK;
  if (!json_is_integer(j) || json_integer_value(j) < 0 || (uint64_t)json_integer_value(j) > max)
    return fail(d, "%s: \"%s\" is not an integer in 0..%llu", name, k, (unsigned long long)max);
  *v = (uint64_t)json_integer_value(j);
  return MOQC_OK;
}

static int get_u32(dec *d, json_t *o, const char *name, const char *k, uint32_t *v, bool req) {
  uint64_t x = *v;
  int rv = get_uint(d, o, name, k, UINT32_MAX, &x, req);
  *v = (uint32_t)x;
  return rv;
}

static int get_bool(dec *d, json_t *o, const char *name, const char *k, int8_t *v) {
  json_t *j = json_object_get(o, k);
  if (!j || json_is_null(j)) return MOQC_OK;
  if (!json_is_boolean(j)) return fail(d, "%s: \"%s\" is not a boolean", name, k);
  *v = json_is_true(j) ? 1 : 0;
  return MOQC_OK;
}

static int get_real(dec *d, json_t *o, const char *name, const char *k, double *v, bool *has) {
  json_t *j = json_object_get(o, k);
  if (!j || json_is_null(j)) return MOQC_OK;
  if (!json_is_number(j) || !isfinite(json_number_value(j)))
    return fail(d, "%s: \"%s\" is not a number", name, k);
  *v = json_number_value(j);
  if (has) *has = true;
  return MOQC_OK;
}

static int get_container(dec *d, json_t *o, const char *name, moqc_hang_rendition *r) {
  json_t *c = json_object_get(o, "container");
  if (!c || json_is_null(c)) return MOQC_OK; /* default: legacy */
  json_t *k = json_object_get(c, "kind");
  if (!json_is_object(c) || !json_is_string(k))
    return fail(d, "%s: \"container\" has no string \"kind\"", name);
  const char *kind = json_string_value(k);
  if (strcmp(kind, "legacy") == 0) r->container = MOQC_HANG_CONTAINER_LEGACY;
  else if (strcmp(kind, "loc") == 0) r->container = MOQC_HANG_CONTAINER_LOC;
  else if (strcmp(kind, "cmaf") == 0) {
    json_t *init = json_object_get(c, "init");
    if (!json_is_string(init)) return fail(d, "%s: cmaf container without \"init\"", name);
    size_t sl = json_string_length(init);
    uint8_t *buf = moqc_malloc(sl / 4 * 3 + 3);
    if (!buf) return MOQC_ERR_NOMEM;
    size_t n = 0;
    if (moqc__hang_b64_decode(buf, &n, json_string_value(init), sl) != 0) {
      moqc_free(buf);
      return fail(d, "%s: cmaf \"init\" is not base64", name);
    }
    r->init = buf;
    r->init_len = n;
    r->container = MOQC_HANG_CONTAINER_CMAF;
  } else {
    r->container = MOQC_HANG_CONTAINER_UNKNOWN;
    if (!(r->container_kind = moqc_strdup(kind))) return MOQC_ERR_NOMEM;
  }
  return MOQC_OK;
}

static int get_description(dec *d, json_t *o, const char *name, moqc_hang_rendition *r) {
  json_t *j = json_object_get(o, "description");
  if (!j || json_is_null(j)) return MOQC_OK;
  if (!json_is_string(j)) return fail(d, "%s: \"description\" is not a string", name);
  size_t sl = json_string_length(j);
  if (sl == 0) return MOQC_OK;
  uint8_t *buf = moqc_malloc(sl / 2 + 1);
  if (!buf) return MOQC_ERR_NOMEM;
  if (moqc__hang_hex_decode(buf, json_string_value(j), sl) != 0) {
    moqc_free(buf);
    return fail(d, "%s: \"description\" is not hex", name);
  }
  r->description = buf;
  r->description_len = sl / 2;
  return MOQC_OK;
}

static int rendition(dec *d, moqc_hang_catalog *cat, moqc_hang_kind kind, const char *name,
                     json_t *o) {
  if (!json_is_object(o)) return fail(d, "rendition \"%s\" is not an object", name);
  json_t *codec = json_object_get(o, "codec");
  if (!json_is_string(codec) || json_string_length(codec) == 0)
    return fail(d, "%s: missing \"codec\"", name);
  if (!*name) return fail(d, "a rendition has an empty track name");
  if (moqc_hang_catalog_find(cat, name, NULL)) return fail(d, "%s: track listed twice", name);
  moqc_hang_rendition *r = moqc_hang_catalog_add(cat, kind, name, json_string_value(codec));
  if (!r) return MOQC_ERR_NOMEM;
  int rv = MOQC_OK;
  json_t *b = json_object_get(o, "broadcast");
  if (json_is_string(b) && !(r->broadcast = moqc_strdup(json_string_value(b))))
    return MOQC_ERR_NOMEM;
  if (b && !json_is_string(b) && !json_is_null(b))
    return fail(d, "%s: \"broadcast\" is not a string", name);
  if (rv == MOQC_OK) rv = get_container(d, o, name, r);
  if (rv == MOQC_OK) rv = get_description(d, o, name, r);
  if (rv == MOQC_OK) rv = get_uint(d, o, name, "bitrate", U53_MAX, &r->bitrate, false);
  if (rv == MOQC_OK) rv = get_uint(d, o, name, "jitter", U53_MAX, &r->jitter_ms, false);
  if (kind == MOQC_HANG_VIDEO) {
    if (rv == MOQC_OK) rv = get_u32(d, o, name, "codedWidth", &r->coded_width, false);
    if (rv == MOQC_OK) rv = get_u32(d, o, name, "codedHeight", &r->coded_height, false);
    if (rv == MOQC_OK)
      rv = get_u32(d, o, name, "displayAspectWidth", &r->display_aspect_width, false);
    if (rv == MOQC_OK)
      rv = get_u32(d, o, name, "displayAspectHeight", &r->display_aspect_height, false);
    if (rv == MOQC_OK) rv = get_real(d, o, name, "framerate", &r->framerate, NULL);
    if (rv == MOQC_OK) rv = get_bool(d, o, name, "optimizeForLatency", &r->optimize_for_latency);
    if (rv == MOQC_OK) rv = get_bool(d, o, name, "stalled", &r->stalled);
  } else {
    if (rv == MOQC_OK) rv = get_u32(d, o, name, "sampleRate", &r->sample_rate, true);
    if (rv == MOQC_OK) rv = get_u32(d, o, name, "numberOfChannels", &r->channels, true);
  }
  return rv;
}

/* {"track":{"name":..},"config":{..}}: the older form. */
static int old_entry(dec *d, moqc_hang_catalog *cat, moqc_hang_kind kind, json_t *e) {
  json_t *t = json_object_get(e, "track");
  json_t *n = t ? json_object_get(t, "name") : NULL;
  if (!json_is_string(n))
    return fail(d, "%s: old-style entry without track.name", moqc_hang_kind_str(kind));
  return rendition(d, cat, kind, json_string_value(n), json_object_get(e, "config"));
}

static int section(dec *d, moqc_hang_catalog *cat, moqc_hang_kind kind, json_t *s) {
  const char *sname = moqc_hang_kind_str(kind);
  if (!s || json_is_null(s)) return MOQC_OK;
  if (json_is_array(s)) {
    size_t i;
    json_t *e;
    int rv = MOQC_OK;
    json_array_foreach(s, i, e) {
      if (rv == MOQC_OK) rv = old_entry(d, cat, kind, e);
    }
    return rv;
  }
  if (!json_is_object(s)) return fail(d, "\"%s\" is not an object", sname);
  json_t *rends = json_object_get(s, "renditions");
  if (!rends && json_object_get(s, "track")) return old_entry(d, cat, kind, s);
  if (!json_is_object(rends)) return fail(d, "\"%s\" has no \"renditions\" object", sname);
  const char *key;
  json_t *v;
  int rv = MOQC_OK;
  json_object_foreach(rends, key, v) {
    if (rv == MOQC_OK) rv = rendition(d, cat, kind, key, v);
  }
  if (rv != MOQC_OK || kind != MOQC_HANG_VIDEO) return rv;
  json_t *disp = json_object_get(s, "display");
  if (disp && !json_is_null(disp)) {
    if (!json_is_object(disp)) return fail(d, "video: \"display\" is not an object");
    rv = get_u32(d, disp, "display", "width", &cat->display_width, true);
    if (rv == MOQC_OK) rv = get_u32(d, disp, "display", "height", &cat->display_height, true);
  }
  if (rv == MOQC_OK) rv = get_real(d, s, "video", "rotation", &cat->rotation, &cat->has_rotation);
  if (rv == MOQC_OK) rv = get_bool(d, s, "video", "flip", &cat->flip);
  return rv;
}

int moqc_hang_catalog_decode(moqc_hang_catalog *cat, const void *jsonp, size_t len, char *err_msg,
                             size_t err_cap) {
  if (!cat || (!jsonp && len)) return MOQC_ERR_INVAL;
  dec d = {err_msg, err_cap};
  if (err_msg && err_cap) err_msg[0] = 0;
  moqc_hang_catalog_clear(cat);
  if (len > MOQC_HANG_CATALOG_MAX_BYTES) {
    fail(&d, "catalog of %zu bytes is over the %zu byte limit", len, MOQC_HANG_CATALOG_MAX_BYTES);
    return MOQC_ERR_TOO_LARGE;
  }
  json_error_t jerr;
  json_t *root = json_loadb(jsonp ? jsonp : "", len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root) return fail(&d, "not JSON: %s (line %d column %d)", jerr.text, jerr.line, jerr.column);
  int rv = MOQC_OK;
  if (!json_is_object(root)) rv = fail(&d, "the catalog is not a JSON object");
  if (rv == MOQC_OK) rv = section(&d, cat, MOQC_HANG_VIDEO, json_object_get(root, "video"));
  if (rv == MOQC_OK) rv = section(&d, cat, MOQC_HANG_AUDIO, json_object_get(root, "audio"));
  json_decref(root);
  if (rv != MOQC_OK) moqc_hang_catalog_clear(cat);
  return rv;
}
