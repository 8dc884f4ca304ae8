/* Armored text blocks shared by key files and certificate files.
 *
 *   # comments and blank lines are allowed anywhere
 *   -----BEGIN RINGLAN <LABEL>-----
 *   key: value
 *   ...
 *   -----END RINGLAN <LABEL>-----
 *
 * armor_parse() only splits the text into (key, value, line) triples; the
 * callers (crypto/identity.c, crypto/cert.c) decide which keys are allowed
 * and what the values mean. Values point into the caller's text, so the
 * text must outlive the struct armor_doc. Nothing here allocates. */
#ifndef RL_CRYPTO_ARMOR_H
#define RL_CRYPTO_ARMOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARMOR_MAX_FIELDS 24
#define ARMOR_LINE_MAX 256  /* bytes per line, without the newline */
#define ARMOR_LABEL_MAX 40
#define ARMOR_KEY_MAX 16

struct armor_field {
  char key[ARMOR_KEY_MAX + 1]; /* [a-z-]+, NUL-terminated */
  const char *val;             /* into the text, not NUL-terminated */
  size_t vlen;
  unsigned line;               /* 1-based line number, for error messages */
};

struct armor_doc {
  char label[ARMOR_LABEL_MAX + 1]; /* "NODE KEY", "CERTIFICATE", ... */
  unsigned begin_line;
  size_t n;
  struct armor_field f[ARMOR_MAX_FIELDS];
};

/* Splits text (len bytes, need not be NUL-terminated) into one armored
 * block. Returns 0 or RL_EPARSE with "line N: reason" in err (if not NULL). */
int armor_parse(struct armor_doc *d, const char *text, size_t len, char *err,
                size_t errcap);

/* Checks that every key of d is in allowed (NULL-terminated list) and that
 * no key occurs twice unless it is in repeatable (NULL-terminated, may be
 * NULL). Returns 0 or RL_EPARSE with a reason. */
int armor_check_keys(const struct armor_doc *d, const char *const *allowed,
                     const char *const *repeatable, char *err, size_t errcap);

/* The first field named key, or NULL. */
const struct armor_field *armor_get(const struct armor_doc *d, const char *key);

/* Decodes standard base64 (with padding) of exactly outlen bytes; 0 or
 * RL_EPARSE. On error out is zeroed. */
int armor_b64_decode(uint8_t *out, size_t outlen, const char *val, size_t vlen);
/* Encodes in standard base64; out needs 4 * ((len + 2) / 3) + 1 bytes. */
void armor_b64_encode(char *out, size_t cap, const uint8_t *in, size_t len);

/* True when s[0..len) is a name: 1..max bytes of [A-Za-z0-9._-]. */
bool armor_name_ok(const char *s, size_t len, size_t max);

/* Appends to out at *off (snprintf-style, never past cap); sets *off past
 * cap on overflow so the caller reports RL_ETOOBIG once at the end. */
void armor_printf(char *out, size_t cap, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes "line N: " + message into err (if err and errcap). line 0 omits
 * the prefix. */
void armor_err(char *err, size_t errcap, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
