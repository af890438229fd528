/* moqc transport — QPACK (static table only, via nghttp3's standalone
 * encoder/decoder) and the WebTransport CONNECT request/response. */
#include "webtransport/h3_qpack.h"

#include <nghttp3/nghttp3.h>
#include <stdio.h>
#include <string.h>

#include "moqc/buf.h"
#include "webtransport/h3_codec.h"

/* ---- nghttp3 allocator bridged to moqc_get_mem() -------------------------- */

static void *nm_malloc(size_t size, void *user) {
  (void)user;
  const moqc_mem *m = moqc_get_mem();
  return m->malloc(size, m->user);
}
static void nm_free(void *ptr, void *user) {
  (void)user;
  const moqc_mem *m = moqc_get_mem();
  m->free(ptr, m->user);
}
static void *nm_calloc(size_t nmemb, size_t size, void *user) {
  (void)user;
  const moqc_mem *m = moqc_get_mem();
  return m->calloc(nmemb, size, m->user);
}
static void *nm_realloc(void *ptr, size_t size, void *user) {
  (void)user;
  const moqc_mem *m = moqc_get_mem();
  return m->realloc(ptr, size, m->user);
}
static const nghttp3_mem k_mem = {NULL, nm_malloc, nm_free, nm_calloc, nm_realloc};

/* nghttp3 0.8.0's nghttp3_qpack_{encoder,decoder}_new leak the object they
 * just allocated when their second allocation (the table ring buffer) fails.
 * While calling them we use an allocator that remembers the first block, so
 * we can free it ourselves on failure. The same allocator stays attached to
 * the object for its (function-local) lifetime. */
typedef struct new_guard {
  void *first;
} new_guard;

static void *guard_malloc(size_t size, void *user) {
  new_guard *g = user;
  void *p = nm_malloc(size, NULL);
  if (!g->first) g->first = p;
  return p;
}
static void *guard_calloc(size_t nmemb, size_t size, void *user) {
  new_guard *g = user;
  void *p = nm_calloc(nmemb, size, NULL);
  if (!g->first) g->first = p;
  return p;
}
static nghttp3_mem guard_mem(new_guard *g) {
  nghttp3_mem m = {g, guard_malloc, nm_free, guard_calloc, nm_realloc};
  return m;
}

/* ---- encode ------------------------------------------------------------------ */

ssize_t moqc_h3_qpack_encode(const moqc_h3_nv *nv, size_t n, uint8_t *out, size_t cap) {
  if (n > MOQC_H3_MAX_FIELDS) return MOQC_ERR_INVAL;
  nghttp3_nv nva[MOQC_H3_MAX_FIELDS];
  for (size_t i = 0; i < n; i++) {
    nva[i].name = (uint8_t *)(uintptr_t)nv[i].name;
    nva[i].namelen = nv[i].name_len;
    nva[i].value = (uint8_t *)(uintptr_t)nv[i].value;
    nva[i].valuelen = nv[i].value_len;
    nva[i].flags = NGHTTP3_NV_FLAG_NONE;
  }
  nghttp3_qpack_encoder *enc = NULL;
  new_guard g = {NULL};
  nghttp3_mem mem = guard_mem(&g);
  if (nghttp3_qpack_encoder_new(&enc, 0, &mem) != 0) {
    if (g.first) nm_free(g.first, NULL);
    return MOQC_ERR_NOMEM;
  }
  nghttp3_buf pbuf, rbuf, ebuf;
  nghttp3_buf_init(&pbuf);
  nghttp3_buf_init(&rbuf);
  nghttp3_buf_init(&ebuf);
  ssize_t rc;
  if (nghttp3_qpack_encoder_encode(enc, &pbuf, &rbuf, &ebuf, 0, nva, n) != 0) {
    rc = MOQC_ERR_NOMEM;
  } else if (nghttp3_buf_len(&ebuf) != 0) {
    rc = MOQC_ERR_INVAL; /* cannot happen with capacity 0 */
  } else {
    size_t a = nghttp3_buf_len(&pbuf), b = nghttp3_buf_len(&rbuf);
    if (a + b > cap) {
      rc = MOQC_ERR_BUFSIZE;
    } else {
      if (a) memcpy(out, pbuf.pos, a);
      if (b) memcpy(out + a, rbuf.pos, b);
      rc = (ssize_t)(a + b);
    }
  }
  nghttp3_buf_free(&pbuf, &mem);
  nghttp3_buf_free(&rbuf, &mem);
  nghttp3_buf_free(&ebuf, &mem);
  nghttp3_qpack_encoder_del(enc);
  return rc;
}

/* ---- decode ------------------------------------------------------------------ */

void moqc_h3_fields_free(moqc_h3_fields *f) {
  if (f->arena) nm_free(f->arena, NULL);
  memset(f, 0, sizeof *f);
}

/* Append name\0value\0 to the arena; offsets are fixed up once at the end
 * (the arena moves while it grows). */
static int fields_add(moqc_h3_fields *f, const uint8_t *name, size_t nl, const uint8_t *value,
                      size_t vl) {
  if (f->n >= MOQC_H3_MAX_FIELDS) return MOQC_ERR_TOO_LARGE;
  size_t need = nl + vl + 2;
  if (need > MOQC_H3_MAX_FIELD_BYTES - f->arena_len) return MOQC_ERR_TOO_LARGE;
  if (f->arena_len + need > f->arena_cap) {
    size_t cap = f->arena_cap ? f->arena_cap * 2 : 512;
    while (cap < f->arena_len + need) cap *= 2;
    char *a = nm_realloc(f->arena, cap, NULL);
    if (!a) return MOQC_ERR_NOMEM;
    f->arena = a;
    f->arena_cap = cap;
  }
  moqc_h3_field *d = &f->f[f->n++];
  d->name = (const char *)(uintptr_t)f->arena_len; /* offset until fixed up */
  d->name_len = nl;
  memcpy(f->arena + f->arena_len, name, nl);
  f->arena[f->arena_len + nl] = '\0';
  f->arena_len += nl + 1;
  d->value = (const char *)(uintptr_t)f->arena_len;
  d->value_len = vl;
  memcpy(f->arena + f->arena_len, value, vl);
  f->arena[f->arena_len + vl] = '\0';
  f->arena_len += vl + 1;
  return MOQC_OK;
}

static void fields_fixup(moqc_h3_fields *f) {
  for (size_t i = 0; i < f->n; i++) {
    f->f[i].name = f->arena + (uintptr_t)f->f[i].name;
    f->f[i].value = f->arena + (uintptr_t)f->f[i].value;
  }
}

static int decode_loop(nghttp3_qpack_decoder *dec, nghttp3_qpack_stream_context *sctx,
                       const uint8_t *p, size_t len, moqc_h3_fields *out, uint64_t *h3_err) {
  for (;;) {
    nghttp3_qpack_nv nv;
    uint8_t flags = 0;
    nghttp3_ssize r = nghttp3_qpack_decoder_read_request(dec, sctx, &nv, &flags, p, len, 1);
    if (r < 0) {
      if (r == NGHTTP3_ERR_NOMEM) return MOQC_ERR_NOMEM;
      *h3_err = MOQC_H3_QPACK_DECOMPRESSION_FAILED;
      return MOQC_ERR_DECODE;
    }
    p += r;
    len -= (size_t)r;
    if (flags & NGHTTP3_QPACK_DECODE_FLAG_EMIT) {
      nghttp3_vec n = nghttp3_rcbuf_get_buf(nv.name), v = nghttp3_rcbuf_get_buf(nv.value);
      int rc = fields_add(out, n.base, n.len, v.base, v.len);
      nghttp3_rcbuf_decref(nv.name);
      nghttp3_rcbuf_decref(nv.value);
      if (rc != MOQC_OK) return rc;
    }
    if (flags & NGHTTP3_QPACK_DECODE_FLAG_FINAL) return len == 0 ? MOQC_OK : MOQC_ERR_DECODE;
    if (flags & NGHTTP3_QPACK_DECODE_FLAG_BLOCKED) {
      /* Needs dynamic-table inserts we never allowed. */
      *h3_err = MOQC_H3_QPACK_DECOMPRESSION_FAILED;
      return MOQC_ERR_DECODE;
    }
    if (r == 0 && !(flags & NGHTTP3_QPACK_DECODE_FLAG_EMIT)) {
      *h3_err = MOQC_H3_QPACK_DECOMPRESSION_FAILED; /* truncated block */
      return MOQC_ERR_DECODE;
    }
  }
}

int moqc_h3_qpack_decode(const uint8_t *p, size_t len, moqc_h3_fields *out, uint64_t *h3_err) {
  memset(out, 0, sizeof *out);
  *h3_err = MOQC_H3_QPACK_DECOMPRESSION_FAILED;
  nghttp3_qpack_decoder *dec = NULL;
  nghttp3_qpack_stream_context *sctx = NULL;
  new_guard g = {NULL};
  nghttp3_mem mem = guard_mem(&g);
  if (nghttp3_qpack_decoder_new(&dec, 0, 0, &mem) != 0) {
    if (g.first) nm_free(g.first, NULL);
    return MOQC_ERR_NOMEM;
  }
  int rc = MOQC_ERR_NOMEM;
  if (nghttp3_qpack_stream_context_new(&sctx, 0, &k_mem) == 0) {
    rc = decode_loop(dec, sctx, p, len, out, h3_err);
    nghttp3_qpack_stream_context_del(sctx);
  }
  nghttp3_qpack_decoder_del(dec);
  if (rc == MOQC_ERR_DECODE) *h3_err = MOQC_H3_QPACK_DECOMPRESSION_FAILED;
  fields_fixup(out);
  return rc;
}

const moqc_h3_field *moqc_h3_fields_get(const moqc_h3_fields *f, const char *name) {
  size_t nl = strlen(name);
  for (size_t i = 0; i < f->n; i++)
    if (f->f[i].name_len == nl && memcmp(f->f[i].name, name, nl) == 0) return &f->f[i];
  return NULL;
}

/* ---- field validation (RFC 9114 §4.2, §4.3) ---------------------------------- */

static bool name_ok(const moqc_h3_field *f) {
  size_t i = f->name[0] == ':' ? 1 : 0;
  if (f->name_len <= i) return false;
  for (; i < f->name_len; i++) {
    unsigned char c = (unsigned char)f->name[i];
    if (c >= 'A' && c <= 'Z') return false; /* upper case is malformed */
    if (c <= 0x20 || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c)) return false;
  }
  return true;
}

static bool value_ok(const moqc_h3_field *f) {
  for (size_t i = 0; i < f->value_len; i++) {
    unsigned char c = (unsigned char)f->value[i];
    if (c == 0 || c == '\r' || c == '\n') return false;
  }
  return true;
}

/* Common checks: valid names/values, pseudo-headers first and unique, only
 * the allowed ones. */
static bool fields_wellformed(const moqc_h3_fields *f, const char *const *pseudo, size_t np) {
  bool regular = false;
  for (size_t i = 0; i < f->n; i++) {
    const moqc_h3_field *x = &f->f[i];
    if (!name_ok(x) || !value_ok(x)) return false;
    if (x->name[0] != ':') {
      regular = true;
      continue;
    }
    if (regular) return false;
    bool known = false;
    for (size_t k = 0; k < np; k++) known |= strcmp(x->name, pseudo[k]) == 0;
    if (!known) return false;
    for (size_t j = 0; j < i; j++)
      if (strcmp(f->f[j].name, x->name) == 0) return false;
  }
  return true;
}

static int add_protocol(void *arg, const char *s, size_t n) {
  moqc_h3_connect_req *req = arg;
  /* Names that cannot be selected (too long, empty) are skipped. */
  if (n == 0 || n > MOQC_H3_PROTOCOL_MAX || req->n_protocols >= MOQC_H3_MAX_PROTOCOLS) return 0;
  memcpy(req->proto_store[req->n_protocols], s, n + 1);
  req->protocols[req->n_protocols] = req->proto_store[req->n_protocols];
  req->n_protocols++;
  return 0;
}

static const char *val(const moqc_h3_fields *f, const char *name) {
  const moqc_h3_field *x = moqc_h3_fields_get(f, name);
  return x ? x->value : NULL;
}

moqc_h3_req_verdict moqc_h3_connect_req_parse(moqc_h3_connect_req *req, moqc_h3_fields *fields,
                                              uint16_t *status) {
  static const char *const pseudo[] = {":method", ":scheme", ":authority", ":path", ":protocol"};
  memset(req, 0, sizeof *req);
  req->fields = *fields;
  memset(fields, 0, sizeof *fields);
  const moqc_h3_fields *f = &req->fields;
  if (!fields_wellformed(f, pseudo, 5)) return MOQC_H3_REQ_MALFORMED;
  const char *method = val(f, ":method"), *proto = val(f, ":protocol");
  const char *scheme = val(f, ":scheme");
  req->authority = val(f, ":authority");
  req->path = val(f, ":path");
  if (!method) return MOQC_H3_REQ_MALFORMED;
  if (strcmp(method, "CONNECT") != 0) {
    /* An ordinary request needs :scheme and :path; we serve none. */
    if (proto || !scheme || !req->path || !req->path[0]) return MOQC_H3_REQ_MALFORMED;
    *status = 404;
    return MOQC_H3_REQ_NOT_WT;
  }
  if (!proto) {
    /* Classic CONNECT: only :method and :authority (RFC 9114 §4.4). */
    if (scheme || req->path || !req->authority) return MOQC_H3_REQ_MALFORMED;
    *status = 501;
    return MOQC_H3_REQ_NOT_WT;
  }
  /* Extended CONNECT (RFC 9220): :scheme, :path and :authority required. */
  if (!scheme || !req->path || !req->authority || !req->authority[0] || req->path[0] != '/')
    return MOQC_H3_REQ_MALFORMED;
  if (strcmp(proto, "webtransport") != 0 || strcmp(scheme, "https") != 0) {
    *status = 501;
    return MOQC_H3_REQ_NOT_WT;
  }
  req->origin = val(f, "origin");
  req->draft02 = moqc_h3_fields_get(f, "sec-webtransport-http3-draft02") != NULL;
  const moqc_h3_field *avail = moqc_h3_fields_get(f, "wt-available-protocols");
  if (avail) {
    /* A malformed list is ignored (as if absent): we answer without
     * wt-protocol and the peer falls back to in-band negotiation. */
    if (moqc_sf_parse_string_list(avail->value, avail->value_len, 64, add_protocol, req) < 0)
      req->n_protocols = 0;
  }
  return MOQC_H3_REQ_OK;
}

void moqc_h3_connect_req_free(moqc_h3_connect_req *req) { moqc_h3_fields_free(&req->fields); }

/* ---- encode CONNECT / response ------------------------------------------------- */

static ssize_t headers_frame(uint8_t *out, size_t cap, const moqc_h3_nv *nv, size_t n) {
  /* Encode the block after room for the largest header we could need (type
   * 1 byte + 4-byte length), then slide it down behind the real header. */
  enum { RESERVE = 5 };
  if (cap < RESERVE) return MOQC_ERR_BUFSIZE;
  ssize_t bl = moqc_h3_qpack_encode(nv, n, out + RESERVE, cap - RESERVE);
  if (bl < 0) return bl;
  uint8_t hdr[RESERVE + 11];
  ssize_t h = moqc_h3_frame_hdr_encode(hdr, sizeof hdr, MOQC_H3_FRAME_HEADERS, (uint64_t)bl);
  if (h < 0) return h;
  if (h > RESERVE) return MOQC_ERR_BUFSIZE;
  memmove(out + h, out + RESERVE, (size_t)bl);
  memcpy(out, hdr, (size_t)h);
  return h + bl;
}

static moqc_h3_nv nv_str(const char *name, const char *value) {
  moqc_h3_nv x = {name, strlen(name), value, strlen(value)};
  return x;
}

ssize_t moqc_h3_connect_req_encode(uint8_t *out, size_t cap, const char *authority,
                                   const char *path, const char *origin,
                                   const char *const *protocols, size_t n) {
  char list[2048];
  size_t ll = 0;
  for (size_t i = 0; i < n; i++) {
    if (i) {
      if (ll + 2 >= sizeof list) return MOQC_ERR_BUFSIZE;
      list[ll++] = ',';
      list[ll++] = ' ';
    }
    ssize_t w =
        moqc_sf_write_string(list + ll, sizeof list - ll, protocols[i], strlen(protocols[i]));
    if (w < 0) return w;
    ll += (size_t)w;
  }
  list[ll] = '\0';
  moqc_h3_nv nv[9];
  size_t k = 0;
  nv[k++] = nv_str(":method", "CONNECT");
  nv[k++] = nv_str(":scheme", "https");
  nv[k++] = nv_str(":authority", authority);
  nv[k++] = nv_str(":path", path);
  nv[k++] = nv_str(":protocol", "webtransport");
  nv[k++] = nv_str("sec-webtransport-http3-draft02", "1");
  if (origin) nv[k++] = nv_str("origin", origin);
  if (n) nv[k++] = nv_str("wt-available-protocols", list);
  return headers_frame(out, cap, nv, k);
}

ssize_t moqc_h3_connect_resp_encode(uint8_t *out, size_t cap, uint16_t status,
                                    const char *protocol) {
  if (status < 100 || status > 599) return MOQC_ERR_INVAL;
  char st[4], pv[MOQC_H3_PROTOCOL_MAX * 2 + 3];
  snprintf(st, sizeof st, "%03u", (unsigned)status);
  moqc_h3_nv nv[3];
  size_t k = 0;
  nv[k++] = nv_str(":status", st);
  nv[k++] = nv_str("sec-webtransport-http3-draft", "draft02");
  if (protocol) {
    ssize_t w = moqc_sf_write_string(pv, sizeof pv, protocol, strlen(protocol));
    if (w < 0) return w;
    nv[k++] = nv_str("wt-protocol", pv);
  }
  return headers_frame(out, cap, nv, k);
}

int moqc_h3_connect_resp_parse(const moqc_h3_fields *f, uint16_t *status,
                               char protocol[MOQC_H3_PROTOCOL_MAX + 1]) {
  static const char *const pseudo[] = {":status"};
  protocol[0] = '\0';
  if (!fields_wellformed(f, pseudo, 1)) return MOQC_ERR_DECODE;
  const moqc_h3_field *s = moqc_h3_fields_get(f, ":status");
  if (!s || s->value_len != 3) return MOQC_ERR_DECODE;
  unsigned v = 0;
  for (size_t i = 0; i < 3; i++) {
    if (s->value[i] < '0' || s->value[i] > '9') return MOQC_ERR_DECODE;
    v = v * 10 + (unsigned)(s->value[i] - '0');
  }
  if (v < 100 || v > 599) return MOQC_ERR_DECODE;
  *status = (uint16_t)v;
  const moqc_h3_field *p = moqc_h3_fields_get(f, "wt-protocol");
  if (p &&
      moqc_sf_parse_string_item(p->value, p->value_len, protocol, MOQC_H3_PROTOCOL_MAX + 1) < 0)
    protocol[0] = '\0';
  return MOQC_OK;
}
