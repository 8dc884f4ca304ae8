#include "crypto/armor.h"

#include <ringlan/error.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/wire.h"

#define BEGIN_PREFIX "-----BEGIN RINGLAN "
#define END_PREFIX "-----END RINGLAN "
#define DASHES "-----"

void armor_err(char *err, size_t errcap, unsigned line, const char *fmt, ...) {
  va_list ap;
  int n = 0;
  if (!err || errcap == 0)
    return;
  if (line)
    n = snprintf(err, errcap, "line %u: ", line);
  if (n < 0 || (size_t)n >= errcap)
    return;
  va_start(ap, fmt);
  vsnprintf(err + n, errcap - (size_t)n, fmt, ap);
  va_end(ap);
}

void armor_printf(char *out, size_t cap, size_t *off, const char *fmt, ...) {
  va_list ap;
  int n;
  if (*off >= cap) {
    *off = cap + 1;
    return;
  }
  va_start(ap, fmt);
  n = vsnprintf(out + *off, cap - *off, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= cap - *off)
    *off = cap + 1; /* overflow: remembered until the caller checks */
  else
    *off += (size_t)n;
}

bool armor_name_ok(const char *s, size_t len, size_t max) {
  if (len == 0 || len > max)
    return false;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '.' || c == '_' || c == '-'))
      return false;
  }
  return true;
}

int armor_b64_decode(uint8_t *out, size_t outlen, const char *val, size_t vlen) {
  size_t bin_len = 0;
  const char *end = NULL;
  /* Exact length first: base64 of n bytes with padding is 4*ceil(n/3). This
   * also keeps libsodium from reading past vlen. */
  if (vlen != 4 * ((outlen + 2) / 3))
    goto bad;
  if (sodium_base642bin(out, outlen, val, vlen, NULL, &bin_len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      bin_len != outlen || end != val + vlen)
    goto bad;
  return 0;
bad:
  sodium_memzero(out, outlen);
  return RL_EPARSE;
}

void armor_b64_encode(char *out, size_t cap, const uint8_t *in, size_t len) {
  sodium_bin2base64(out, cap, in, len, sodium_base64_VARIANT_ORIGINAL);
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Next physical line from r: pointer and length without "\n"; trailing
 * whitespace (and "\r") removed. Returns false at the end of the text. */
static bool next_line(struct wire_r *r, const char **line, size_t *len) {
  size_t left = wire_left(r), n = 0;
  const uint8_t *start;
  if (left == 0)
    return false;
  start = r->p + r->off;
  while (n < left && start[n] != '\n')
    n++;
  (void)wire_get_ptr(r, n < left ? n + 1 : n); /* consume the newline too */
  *line = (const char *)start;
  while (n > 0 && is_space((char)start[n - 1]))
    n--;
  *len = n;
  return true;
}

static bool skip_line(const char *s, size_t len) {
  size_t i = 0;
  while (i < len && is_space(s[i]))
    i++;
  return i == len || s[i] == '#';
}

/* Matches "<prefix>LABEL-----" and copies LABEL (A-Z and single spaces). */
static bool match_armor(const char *s, size_t len, const char *prefix, char *label) {
  size_t pl = strlen(prefix), dl = strlen(DASHES), ll;
  if (len < pl + dl + 1 || memcmp(s, prefix, pl) != 0 ||
      memcmp(s + len - dl, DASHES, dl) != 0)
    return false;
  ll = len - pl - dl;
  if (ll > ARMOR_LABEL_MAX)
    return false;
  for (size_t i = 0; i < ll; i++) {
    char c = s[pl + i];
    if (!((c >= 'A' && c <= 'Z') || (c == ' ' && i > 0 && i + 1 < ll && s[pl + i - 1] != ' ')))
      return false;
  }
  memcpy(label, s + pl, ll);
  label[ll] = '\0';
  return true;
}

int armor_parse(struct armor_doc *d, const char *text, size_t len, char *err,
                size_t errcap) {
  struct wire_r r;
  const char *s;
  size_t n;
  unsigned line = 0;
  enum { BEFORE, INSIDE, AFTER } st = BEFORE;
  char endlabel[ARMOR_LABEL_MAX + 1];

  memset(d, 0, sizeof(*d));
  if (!text) {
    armor_err(err, errcap, 0, "no input");
    return RL_EPARSE;
  }
  if (memchr(text, '\0', len)) {
    armor_err(err, errcap, 0, "input contains a NUL byte (not a text file?)");
    return RL_EPARSE;
  }
  wire_r_init(&r, (const uint8_t *)text, len);
  while (next_line(&r, &s, &n)) {
    line++;
    if (n > ARMOR_LINE_MAX) {
      armor_err(err, errcap, line, "line longer than %d bytes", ARMOR_LINE_MAX);
      return RL_EPARSE;
    }
    if (skip_line(s, n))
      continue;
    if (st == BEFORE) {
      if (!match_armor(s, n, BEGIN_PREFIX, d->label)) {
        armor_err(err, errcap, line, "expected '" BEGIN_PREFIX "...-----', found '%.*s'",
                  (int)(n > 60 ? 60 : n), s);
        return RL_EPARSE;
      }
      d->begin_line = line;
      st = INSIDE;
    } else if (st == INSIDE) {
      const char *colon;
      size_t klen, vo;
      if (n >= strlen(END_PREFIX) && !memcmp(s, END_PREFIX, strlen(END_PREFIX))) {
        if (!match_armor(s, n, END_PREFIX, endlabel) || strcmp(endlabel, d->label) != 0) {
          armor_err(err, errcap, line, "end line does not match 'BEGIN RINGLAN %s'",
                    d->label);
          return RL_EPARSE;
        }
        st = AFTER;
        continue;
      }
      colon = memchr(s, ':', n);
      if (!colon) {
        armor_err(err, errcap, line, "expected 'field: value', found '%.*s'",
                  (int)(n > 60 ? 60 : n), s);
        return RL_EPARSE;
      }
      klen = (size_t)(colon - s);
      if (klen == 0 || klen > ARMOR_KEY_MAX) {
        armor_err(err, errcap, line, "bad field name");
        return RL_EPARSE;
      }
      for (size_t i = 0; i < klen; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '-')) {
          armor_err(err, errcap, line, "bad field name '%.*s' (lower-case letters and '-')",
                    (int)klen, s);
          return RL_EPARSE;
        }
      if (d->n == ARMOR_MAX_FIELDS) {
        armor_err(err, errcap, line, "too many fields (at most %d)", ARMOR_MAX_FIELDS);
        return RL_EPARSE;
      }
      vo = klen + 1;
      while (vo < n && is_space(s[vo]))
        vo++;
      memcpy(d->f[d->n].key, s, klen);
      d->f[d->n].key[klen] = '\0';
      d->f[d->n].val = s + vo;
      d->f[d->n].vlen = n - vo;
      d->f[d->n].line = line;
      d->n++;
    } else {
      armor_err(err, errcap, line, "unexpected text after the END line");
      return RL_EPARSE;
    }
  }
  if (st == BEFORE) {
    armor_err(err, errcap, 0, "no '" BEGIN_PREFIX "...-----' line found");
    return RL_EPARSE;
  }
  if (st == INSIDE) {
    armor_err(err, errcap, line, "missing '" END_PREFIX "%s-----' line (file truncated?)",
              d->label);
    return RL_EPARSE;
  }
  return 0;
}

static bool in_list(const char *const *list, const char *key) {
  for (; list && *list; list++)
    if (!strcmp(*list, key))
      return true;
  return false;
}

int armor_check_keys(const struct armor_doc *d, const char *const *allowed,
                     const char *const *repeatable, char *err, size_t errcap) {
  for (size_t i = 0; i < d->n; i++) {
    if (!in_list(allowed, d->f[i].key) && !in_list(repeatable, d->f[i].key)) {
      armor_err(err, errcap, d->f[i].line, "unknown field '%s' in a %s", d->f[i].key,
                d->label);
      return RL_EPARSE;
    }
    if (in_list(repeatable, d->f[i].key))
      continue;
    for (size_t j = 0; j < i; j++)
      if (!strcmp(d->f[j].key, d->f[i].key)) {
        armor_err(err, errcap, d->f[i].line, "field '%s' repeated (first on line %u)",
                  d->f[i].key, d->f[j].line);
        return RL_EPARSE;
      }
  }
  return 0;
}

const struct armor_field *armor_get(const struct armor_doc *d, const char *key) {
  for (size_t i = 0; i < d->n; i++)
    if (!strcmp(d->f[i].key, key))
      return &d->f[i];
  return NULL;
}
