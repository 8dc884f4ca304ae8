/* The set of revoked overlay IDs a node knows: sorted array, binary
 * search, bounded. */
#include <ringlan/error.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/revoke.h"

void revoke_set_free(struct revoke_set *s) {
  free(s->e);
  memset(s, 0, sizeof(*s));
}

/* Index of the first entry whose id is >= id. */
static unsigned lower_bound(const struct revoke_set *s, const uint8_t id[RL_ID_LEN]) {
  unsigned lo = 0, hi = s->n;
  while (lo < hi) {
    unsigned mid = lo + (hi - lo) / 2;
    if (memcmp(s->e[mid].id, id, RL_ID_LEN) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

bool revoke_set_has(const struct revoke_set *s, const uint8_t id[RL_ID_LEN]) {
  unsigned i;
  if (!s || s->n == 0)
    return false;
  i = lower_bound(s, id);
  return i < s->n && memcmp(s->e[i].id, id, RL_ID_LEN) == 0;
}

int revoke_set_add(struct revoke_set *s, const struct revocation *r) {
  unsigned i = lower_bound(s, r->node_id);
  int len;
  if (i < s->n && memcmp(s->e[i].id, r->node_id, RL_ID_LEN) == 0)
    return 0;
  if (s->n == REVOKE_SET_MAX)
    return RL_EFULL;
  if (s->n == s->cap) {
    unsigned cap = s->cap ? s->cap * 2 : 8;
    struct revoke_entry *e = realloc(s->e, cap * sizeof(*e));
    if (!e)
      return RL_ENOMEM;
    s->e = e;
    s->cap = cap;
  }
  memmove(&s->e[i + 1], &s->e[i], (s->n - i) * sizeof(*s->e));
  len = revoke_encode_bin(r, s->e[i].bin, sizeof(s->e[i].bin));
  if (len < 0) {
    memmove(&s->e[i], &s->e[i + 1], (s->n - i) * sizeof(*s->e));
    return len;
  }
  memcpy(s->e[i].id, r->node_id, RL_ID_LEN);
  s->e[i].len = (uint8_t)len;
  s->n++;
  return 1;
}

void revoke_set_digest(const struct revoke_set *s, uint8_t out[REVOKE_DIGEST_LEN]) {
  crypto_generichash_state st;
  uint8_t cnt[4] = {(uint8_t)(s->n >> 24), (uint8_t)(s->n >> 16), (uint8_t)(s->n >> 8),
                    (uint8_t)s->n};
  crypto_generichash_init(&st, NULL, 0, REVOKE_DIGEST_LEN);
  crypto_generichash_update(&st, cnt, sizeof(cnt));
  for (unsigned i = 0; i < s->n; i++)
    crypto_generichash_update(&st, s->e[i].id, RL_ID_LEN);
  crypto_generichash_final(&st, out, REVOKE_DIGEST_LEN);
}
