/* moqc transport — the subset of RFC 8941 structured fields WebTransport
 * protocol negotiation needs: a List of Strings (wt-available-protocols) and
 * a String Item (wt-protocol). Parameters on members are accepted and
 * skipped; inner lists and non-string members are rejected. */
#include "webtransport/h3_codec.h"

#include <string.h>

#define SF_STRING_MAX 256

typedef struct sf_cur {
  const char *p;
  size_t len, pos;
} sf_cur;

static int peek(const sf_cur *c) { return c->pos < c->len ? (unsigned char)c->p[c->pos] : -1; }

static void skip_sp(sf_cur *c) {
  while (peek(c) == ' ') c->pos++;
}

static void skip_ows(sf_cur *c) {
  while (peek(c) == ' ' || peek(c) == '\t') c->pos++;
}

static bool is_lcalpha(int ch) { return ch >= 'a' && ch <= 'z'; }
static bool is_digit(int ch) { return ch >= '0' && ch <= '9'; }
static bool is_alpha(int ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'); }

/* sf-string into out[0..cap); returns length or DECODE. */
static ssize_t parse_string(sf_cur *c, char *out, size_t cap) {
  if (peek(c) != '"') return MOQC_ERR_DECODE;
  c->pos++;
  size_t n = 0;
  for (;;) {
    int ch = peek(c);
    if (ch < 0) return MOQC_ERR_DECODE;
    c->pos++;
    if (ch == '"') break;
    if (ch == '\\') {
      ch = peek(c);
      if (ch != '"' && ch != '\\') return MOQC_ERR_DECODE;
      c->pos++;
    } else if (ch < 0x20 || ch > 0x7e) {
      return MOQC_ERR_DECODE;
    }
    if (n + 1 >= cap) return MOQC_ERR_DECODE;
    out[n++] = (char)ch;
  }
  out[n] = '\0';
  return (ssize_t)n;
}

static bool is_tchar(int ch) {
  if (ch < 0) return false;
  if (is_alpha(ch) || is_digit(ch)) return true;
  return ch > 0 && strchr("!#$%&'*+-.^_`|~:/", ch) != NULL;
}

/* Any bare item other than a string we only need to skip. */
static int skip_bare_item(sf_cur *c) {
  char scratch[SF_STRING_MAX];
  int ch = peek(c);
  if (ch == '"') return parse_string(c, scratch, sizeof scratch) < 0 ? MOQC_ERR_DECODE : 0;
  if (ch == '-' || is_digit(ch)) { /* integer or decimal */
    if (ch == '-') c->pos++;
    size_t digits = 0;
    while (is_digit(peek(c)) || peek(c) == '.') c->pos++, digits++;
    return digits ? 0 : MOQC_ERR_DECODE;
  }
  if (ch == '?') { /* boolean */
    c->pos++;
    ch = peek(c);
    if (ch != '0' && ch != '1') return MOQC_ERR_DECODE;
    c->pos++;
    return 0;
  }
  if (ch == ':') { /* byte sequence */
    c->pos++;
    while (peek(c) >= 0 && peek(c) != ':') c->pos++;
    if (peek(c) != ':') return MOQC_ERR_DECODE;
    c->pos++;
    return 0;
  }
  if (is_alpha(ch) || ch == '*') { /* token */
    c->pos++;
    while (is_tchar(peek(c))) c->pos++;
    return 0;
  }
  return MOQC_ERR_DECODE;
}

static int skip_params(sf_cur *c) {
  while (peek(c) == ';') {
    c->pos++;
    skip_sp(c);
    int ch = peek(c);
    if (!is_lcalpha(ch) && ch != '*') return MOQC_ERR_DECODE;
    while (is_lcalpha(peek(c)) || is_digit(peek(c)) || peek(c) == '_' || peek(c) == '-' ||
           peek(c) == '.' || peek(c) == '*')
      c->pos++;
    if (peek(c) == '=') {
      c->pos++;
      if (skip_bare_item(c) < 0) return MOQC_ERR_DECODE;
    }
  }
  return 0;
}

static sf_cur sf_begin(const char *v, size_t len) {
  sf_cur c = {v, len, 0};
  /* RFC 8941 §4.2: leading SP discarded; trailing SP too. */
  skip_sp(&c);
  while (c.len > c.pos && c.p[c.len - 1] == ' ') c.len--;
  return c;
}

int moqc_sf_parse_string_list(const char *v, size_t len, size_t max_items,
                              int (*fn)(void *arg, const char *s, size_t n), void *arg) {
  sf_cur c = sf_begin(v, len);
  char s[SF_STRING_MAX];
  int count = 0;
  while (c.pos < c.len) {
    ssize_t n = parse_string(&c, s, sizeof s);
    if (n < 0) return MOQC_ERR_DECODE;
    if (skip_params(&c) < 0) return MOQC_ERR_DECODE;
    if ((size_t)count >= max_items) return MOQC_ERR_DECODE;
    count++;
    int rc = fn ? fn(arg, s, (size_t)n) : 0;
    if (rc < 0) return rc;
    skip_ows(&c);
    if (c.pos == c.len) break;
    if (peek(&c) != ',') return MOQC_ERR_DECODE;
    c.pos++;
    skip_ows(&c);
    if (c.pos == c.len) return MOQC_ERR_DECODE; /* trailing comma */
  }
  return count;
}

ssize_t moqc_sf_parse_string_item(const char *v, size_t len, char *out, size_t cap) {
  sf_cur c = sf_begin(v, len);
  char s[SF_STRING_MAX];
  ssize_t n = parse_string(&c, s, sizeof s);
  if (n < 0) return MOQC_ERR_DECODE;
  if (skip_params(&c) < 0 || c.pos != c.len) return MOQC_ERR_DECODE;
  if ((size_t)n + 1 > cap) return MOQC_ERR_BUFSIZE;
  memcpy(out, s, (size_t)n + 1);
  return n;
}

ssize_t moqc_sf_write_string(char *out, size_t cap, const char *s, size_t n) {
  size_t o = 0;
  if (cap < 1) return MOQC_ERR_BUFSIZE;
  out[o++] = '"';
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch < 0x20 || ch > 0x7e) return MOQC_ERR_INVAL;
    if (ch == '"' || ch == '\\') {
      if (o + 1 >= cap) return MOQC_ERR_BUFSIZE;
      out[o++] = '\\';
    }
    if (o + 1 >= cap) return MOQC_ERR_BUFSIZE;
    out[o++] = (char)ch;
  }
  if (o + 2 > cap) return MOQC_ERR_BUFSIZE;
  out[o++] = '"';
  out[o] = '\0';
  return (ssize_t)o;
}
