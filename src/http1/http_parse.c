/* moqc transport — minimal HTTP/1.1 parser. See http_parse.h. */
#include "http1/http_parse.h"

#include <string.h>

static bool is_tchar(uint8_t c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static uint8_t lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c; }

static bool ieq(const uint8_t *a, size_t n, const char *b) {
  if (strlen(b) != n) return false;
  for (size_t i = 0; i < n; i++)
    if (lower(a[i]) != (uint8_t)b[i]) return false;
  return true;
}

/* End of the head: index just past the empty line, or 0 if none within
 * p[0..lim). Leading empty lines (before the start line) are skipped by the
 * caller first. */
static size_t head_end(const uint8_t *p, size_t lim) {
  for (size_t i = 0; i < lim; i++) {
    if (p[i] != '\n') continue;
    if (i + 1 < lim && p[i + 1] == '\n') return i + 2;
    if (i + 2 < lim && p[i + 1] == '\r' && p[i + 2] == '\n') return i + 3;
  }
  return 0;
}

/* Next line in [*pos, end): returns its length without the line end, or -1
 * at the end / on a stray CR. */
static ssize_t next_line(const uint8_t *p, size_t end, size_t *pos, const uint8_t **line) {
  if (*pos >= end) return -1;
  size_t s = *pos, i = s;
  while (i < end && p[i] != '\n') i++;
  if (i >= end) return -1;
  size_t n = i - s;
  if (n && p[i - 1] == '\r') n--;
  for (size_t k = s; k < s + n; k++)
    if (p[k] == '\r') return -1;
  *line = p + s;
  *pos = i + 1;
  return (ssize_t)n;
}

static size_t skip_leading_newlines(const uint8_t *p, size_t len) {
  size_t i = 0;
  while (i < len && i < 8) {
    if (p[i] == '\n') i++;
    else if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n') i += 2;
    else break;
  }
  return i;
}

typedef struct field_cb {
  int (*fn)(void *arg, const uint8_t *name, size_t nl, const uint8_t *val, size_t vl);
  void *arg;
} field_cb;

/* Parse the header fields of lines [pos, end). */
static int parse_fields(const uint8_t *p, size_t end, size_t pos, field_cb cb) {
  const uint8_t *line;
  ssize_t n;
  size_t count = 0;
  while ((n = next_line(p, end, &pos, &line)) > 0) {
    if (++count > MOQC_HTTP_MAX_HEADERS) return MOQC_ERR_DECODE;
    if (line[0] == ' ' || line[0] == '\t') return MOQC_ERR_DECODE; /* obs-fold */
    size_t c = 0;
    while (c < (size_t)n && line[c] != ':') {
      if (!is_tchar(line[c])) return MOQC_ERR_DECODE;
      c++;
    }
    if (c == 0 || c == (size_t)n) return MOQC_ERR_DECODE;
    size_t vs = c + 1, ve = (size_t)n;
    while (vs < ve && (line[vs] == ' ' || line[vs] == '\t')) vs++;
    while (ve > vs && (line[ve - 1] == ' ' || line[ve - 1] == '\t')) ve--;
    for (size_t k = vs; k < ve; k++)
      if (line[k] < 0x20 && line[k] != '\t') return MOQC_ERR_DECODE;
    int rc = cb.fn(cb.arg, line, c, line + vs, ve - vs);
    if (rc < 0) return rc;
  }
  return n == 0 ? MOQC_OK : MOQC_ERR_DECODE;
}

static int parse_u64(const uint8_t *v, size_t n, uint64_t *out) {
  if (n == 0 || n > 12) return MOQC_ERR_DECODE;
  uint64_t x = 0;
  for (size_t i = 0; i < n; i++) {
    if (v[i] < '0' || v[i] > '9') return MOQC_ERR_DECODE;
    x = x * 10 + (uint64_t)(v[i] - '0');
  }
  *out = x;
  return MOQC_OK;
}

/* Connection: a comma-separated token list. */
static void connection_tokens(const uint8_t *v, size_t n, bool *close, bool *keep, bool *upgrade) {
  size_t i = 0;
  while (i < n) {
    while (i < n && (v[i] == ' ' || v[i] == ',' || v[i] == '\t')) i++;
    size_t s = i;
    while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t') i++;
    if (ieq(v + s, i - s, "close")) *close = true;
    if (ieq(v + s, i - s, "keep-alive")) *keep = true;
    if (ieq(v + s, i - s, "upgrade")) *upgrade = true;
  }
}

/* Copy a field value into dst (cap bytes); append with ", " when join. */
static int copy_field(char *dst, size_t cap, const uint8_t *v, size_t vl, bool join) {
  size_t have = join ? strlen(dst) : 0;
  size_t sep = have ? 2 : 0;
  if (have + sep + vl >= cap) return MOQC_ERR_DECODE;
  if (sep) memcpy(dst + have, ", ", 2);
  memcpy(dst + have + sep, v, vl);
  dst[have + sep + vl] = '\0';
  return MOQC_OK;
}

/* ---- requests -------------------------------------------------------------------- */

typedef struct req_state {
  moqc_http1_req *r;
  bool has_cl, close, keep;
} req_state;

/* "websocket" among the comma-separated protocols of an Upgrade field. */
static bool has_websocket_token(const uint8_t *v, size_t vl) {
  size_t i = 0;
  while (i < vl) {
    while (i < vl && (v[i] == ' ' || v[i] == ',' || v[i] == '\t')) i++;
    size_t s0 = i;
    while (i < vl && v[i] != ',' && v[i] != ' ' && v[i] != '\t') i++;
    if (ieq(v + s0, i - s0, "websocket")) return true;
  }
  return false;
}

static int req_field(void *arg, const uint8_t *name, size_t nl, const uint8_t *v, size_t vl) {
  req_state *st = arg;
  moqc_http1_req *r = st->r;
  if (ieq(name, nl, "host")) {
    if (r->has_host || vl >= sizeof r->host) return MOQC_ERR_DECODE;
    memcpy(r->host, v, vl);
    r->host[vl] = '\0';
    r->has_host = true;
  } else if (ieq(name, nl, "content-length")) {
    uint64_t x;
    if (parse_u64(v, vl, &x) != MOQC_OK) return MOQC_ERR_DECODE;
    if (st->has_cl && x != r->content_length) return MOQC_ERR_DECODE;
    st->has_cl = true;
    r->content_length = x;
  } else if (ieq(name, nl, "transfer-encoding")) {
    return MOQC_ERR_DECODE;
  } else if (ieq(name, nl, "connection")) {
    connection_tokens(v, vl, &st->close, &st->keep, &r->conn_upgrade);
  } else if (ieq(name, nl, "upgrade")) {
    if (has_websocket_token(v, vl)) r->upgrade_websocket = true;
  } else if (ieq(name, nl, "sec-websocket-key")) {
    return copy_field(r->ws_key, sizeof r->ws_key, v, vl, false);
  } else if (ieq(name, nl, "sec-websocket-version")) {
    return copy_field(r->ws_version, sizeof r->ws_version, v, vl, false);
  } else if (ieq(name, nl, "sec-websocket-protocol")) {
    return copy_field(r->ws_protocol, sizeof r->ws_protocol, v, vl, true);
  }
  return MOQC_OK;
}

static int parse_target(moqc_http1_req *r, const uint8_t *t, size_t n) {
  if (n == 0 || t[0] != '/' || n >= MOQC_HTTP_TARGET_MAX) return MOQC_ERR_DECODE;
  size_t q = 0;
  while (q < n && t[q] != '?') q++;
  for (size_t i = 0; i < n; i++)
    if (t[i] <= 0x20 || t[i] >= 0x7f || t[i] == '#') return MOQC_ERR_DECODE;
  memcpy(r->path, t, q);
  r->path[q] = '\0';
  r->has_query = q < n;
  size_t ql = r->has_query ? n - q - 1 : 0;
  if (ql) memcpy(r->query, t + q + 1, ql);
  r->query[ql] = '\0';
  return MOQC_OK;
}

static int parse_version(const uint8_t *v, size_t n, int *minor) {
  if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.') return MOQC_ERR_DECODE;
  if (v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9') return MOQC_ERR_DECODE;
  if (v[5] != '1') return MOQC_ERR_VERSION;
  *minor = v[7] - '0';
  return MOQC_OK;
}

static int parse_request_line(moqc_http1_req *r, const uint8_t *l, size_t n) {
  size_t m = 0;
  while (m < n && l[m] != ' ') {
    if (!is_tchar(l[m])) return MOQC_ERR_DECODE;
    m++;
  }
  if (m == 0 || m >= MOQC_HTTP_METHOD_MAX || m == n) return MOQC_ERR_DECODE;
  memcpy(r->method, l, m);
  r->method[m] = '\0';
  size_t ts = m + 1, te = ts;
  while (te < n && l[te] != ' ') te++;
  if (te == n) return MOQC_ERR_DECODE;
  int rc = parse_target(r, l + ts, te - ts);
  if (rc != MOQC_OK) return rc;
  return parse_version(l + te + 1, n - te - 1, &r->minor);
}

ssize_t moqc_http1_parse_request(moqc_http1_req *r, const uint8_t *p, size_t len, size_t max) {
  memset(r, 0, sizeof *r);
  size_t lead = skip_leading_newlines(p, len);
  size_t lim = len < max ? len : max;
  size_t end = lead < lim ? head_end(p + lead, lim - lead) : 0;
  if (!end) return len >= max ? MOQC_ERR_TOO_LARGE : MOQC_ERR_NEED_MORE;
  end += lead;
  size_t pos = lead;
  const uint8_t *line;
  ssize_t n = next_line(p, end, &pos, &line);
  if (n <= 0) return MOQC_ERR_DECODE;
  int rc = parse_request_line(r, line, (size_t)n);
  if (rc != MOQC_OK) return rc;
  req_state st = {.r = r};
  rc = parse_fields(p, end, pos, (field_cb){req_field, &st});
  if (rc != MOQC_OK) return rc;
  if (r->minor >= 1 && !r->has_host) return MOQC_ERR_DECODE; /* RFC 9112 §3.2 */
  r->keep_alive = r->minor >= 1 ? !st.close : (st.keep && !st.close);
  return (ssize_t)end;
}

/* ---- responses ------------------------------------------------------------------------- */

typedef struct resp_state {
  moqc_http1_resp *r;
} resp_state;

static int resp_field(void *arg, const uint8_t *name, size_t nl, const uint8_t *v, size_t vl) {
  moqc_http1_resp *r = ((resp_state *)arg)->r;
  if (ieq(name, nl, "content-length")) {
    uint64_t x;
    if (parse_u64(v, vl, &x) != MOQC_OK) return MOQC_ERR_DECODE;
    if (r->content_length >= 0 && (uint64_t)r->content_length != x) return MOQC_ERR_DECODE;
    r->content_length = (int64_t)x;
  } else if (ieq(name, nl, "transfer-encoding")) {
    if (!ieq(v, vl, "chunked")) return MOQC_ERR_DECODE;
    r->chunked = true;
  } else if (ieq(name, nl, "connection")) {
    bool cl = false, ka = false;
    connection_tokens(v, vl, &cl, &ka, &r->conn_upgrade);
  } else if (ieq(name, nl, "upgrade")) {
    r->upgrade_websocket = has_websocket_token(v, vl);
  } else if (ieq(name, nl, "sec-websocket-accept")) {
    return copy_field(r->ws_accept, sizeof r->ws_accept, v, vl, false);
  } else if (ieq(name, nl, "sec-websocket-protocol")) {
    return copy_field(r->ws_protocol, sizeof r->ws_protocol, v, vl, false);
  }
  return MOQC_OK;
}

ssize_t moqc_http1_parse_response(moqc_http1_resp *r, const uint8_t *p, size_t len, size_t max) {
  memset(r, 0, sizeof *r);
  r->content_length = -1;
  size_t lim = len < max ? len : max;
  size_t end = head_end(p, lim);
  if (!end) return len >= max ? MOQC_ERR_TOO_LARGE : MOQC_ERR_NEED_MORE;
  size_t pos = 0;
  const uint8_t *l;
  ssize_t n = next_line(p, end, &pos, &l);
  /* "HTTP/1.x 200 OK" (the reason may be empty, the space before it too) */
  if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || l[7] < '0' || l[7] > '9' || l[8] != ' ')
    return MOQC_ERR_DECODE;
  unsigned st = 0;
  for (int i = 9; i < 12; i++) {
    if (l[i] < '0' || l[i] > '9') return MOQC_ERR_DECODE;
    st = st * 10 + (unsigned)(l[i] - '0');
  }
  if (st < 100 || st > 599 || (n > 12 && l[12] != ' ')) return MOQC_ERR_DECODE;
  r->status = (uint16_t)st;
  resp_state rs = {r};
  int rc = parse_fields(p, end, pos, (field_cb){resp_field, &rs});
  if (rc != MOQC_OK) return rc;
  if (r->chunked) r->content_length = -1;
  return (ssize_t)end;
}

/* ---- chunked bodies ---------------------------------------------------------------------------- */

ssize_t moqc_http1_dechunk(const uint8_t *p, size_t len, uint8_t *out, size_t cap,
                           size_t *out_len) {
  size_t pos = 0, o = 0;
  for (;;) {
    /* chunk-size [; ext] CRLF */
    size_t e = pos;
    while (e < len && p[e] != '\n') e++;
    if (e >= len) return e - pos > 64 ? MOQC_ERR_DECODE : MOQC_ERR_NEED_MORE;
    uint64_t size = 0;
    size_t i = pos, digits = 0;
    for (; i < e; i++, digits++) {
      uint8_t c = p[i];
      int d = c >= '0' && c <= '9'                     ? c - '0'
              : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
                                                       : -1;
      if (d < 0) break;
      if (digits >= 8) return MOQC_ERR_DECODE;
      size = size * 16 + (uint64_t)d;
    }
    if (digits == 0 || (i < e && p[i] != ';' && p[i] != '\r')) return MOQC_ERR_DECODE;
    pos = e + 1;
    if (size == 0) {
      /* trailers until an empty line */
      for (;;) {
        size_t t = pos;
        while (t < len && p[t] != '\n') t++;
        if (t >= len) return MOQC_ERR_NEED_MORE;
        bool empty = t == pos || (t == pos + 1 && p[pos] == '\r');
        pos = t + 1;
        if (empty) {
          *out_len = o;
          return (ssize_t)pos;
        }
      }
    }
    if (size > cap - o) return MOQC_ERR_TOO_LARGE;
    if (len - pos < size + 1) return MOQC_ERR_NEED_MORE;
    memcpy(out + o, p + pos, (size_t)size);
    o += (size_t)size;
    pos += (size_t)size;
    if (p[pos] == '\r') {
      if (len - pos < 2) return MOQC_ERR_NEED_MORE;
      pos++;
    }
    if (p[pos] != '\n') return MOQC_ERR_DECODE;
    pos++;
  }
}

const char *moqc_http_reason(uint16_t status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default:
      return status < 300   ? "OK"
             : status < 400 ? "Redirect"
             : status < 500 ? "Client Error"
                            : "Server Error";
  }
}
