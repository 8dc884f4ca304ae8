#include "nat/reflex.h"

#include <string.h>

void nat_obs_init(struct nat_obs *o) { memset(o, 0, sizeof(*o)); }

bool nat_obs_add(struct nat_obs *o, const uint8_t reporter[RL_ID_LEN],
                 const struct rl_addr *reporter_ep, const struct rl_addr *seen,
                 uint64_t now) {
  struct nat_report *r = NULL;
  bool changed;
  for (unsigned i = 0; i < o->n && !r; i++)
    if (memcmp(o->r[i].reporter, reporter, RL_ID_LEN) == 0)
      r = &o->r[i];
  if (!r && o->n < NAT_OBS_MAX)
    r = &o->r[o->n++];
  if (!r) { /* full: replace the oldest report */
    r = &o->r[0];
    for (unsigned i = 1; i < o->n; i++)
      if (o->r[i].at_ns < r->at_ns)
        r = &o->r[i];
  }
  changed = memcmp(r->reporter, reporter, RL_ID_LEN) != 0 || !rl_addr_equal(&r->seen, seen);
  memcpy(r->reporter, reporter, RL_ID_LEN);
  r->reporter_ep = *reporter_ep;
  r->seen = *seen;
  r->at_ns = now;
  return changed;
}

static bool same_ip(const struct rl_addr *a, const struct rl_addr *b) {
  return a->family == b->family && memcmp(a->ip, b->ip, a->family == RL_AF_INET ? 4 : 16) == 0;
}

static bool is_local(const struct rl_addr *a, const struct rl_addr *local, unsigned n_local) {
  for (unsigned i = 0; i < n_local; i++)
    if (rl_addr_equal(a, &local[i]))
      return true;
  return false;
}

enum nat_class nat_classify(const struct nat_obs *o, const struct rl_addr *local,
                            unsigned n_local, uint64_t now, struct rl_addr *reflexive) {
  const struct nat_report *live[NAT_OBS_MAX];
  const struct nat_report *untranslated = NULL;
  unsigned n = 0;
  bool distinct_reporters = false, same_mapping = true;
  for (unsigned i = 0; i < o->n; i++) {
    if (now - o->r[i].at_ns > NAT_OBS_TTL_NS || o->r[i].seen.family == RL_AF_NONE)
      continue;
    /* A peer that sees one of our own addresses reaches us without a NAT
     * between us; behind a home router that is a peer on the same LAN, and
     * says nothing about how the router maps toward everyone else. */
    if (is_local(&o->r[i].seen, local, n_local)) {
      if (!untranslated || o->r[i].at_ns > untranslated->at_ns)
        untranslated = &o->r[i];
      continue;
    }
    live[n++] = &o->r[i];
  }
  if (n == 0 && untranslated) {
    if (reflexive)
      *reflexive = untranslated->seen;
    return NAT_CLASS_NONE; /* every peer sees our own address unchanged */
  }
  if (n == 0)
    return NAT_CLASS_UNKNOWN;
  for (unsigned i = 1; i < n; i++) {
    if (!same_ip(&live[i]->reporter_ep, &live[0]->reporter_ep))
      distinct_reporters = true;
    if (!rl_addr_equal(&live[i]->seen, &live[0]->seen))
      same_mapping = false;
  }
  /* One reporter, or reporters behind one address, prove nothing about
   * per-destination mappings; the latest report is still our best guess
   * of a reflexive address (returned, class unknown). */
  if (!distinct_reporters) {
    if (reflexive) {
      const struct nat_report *latest = live[0];
      for (unsigned i = 1; i < n; i++)
        if (live[i]->at_ns > latest->at_ns)
          latest = live[i];
      *reflexive = latest->seen;
    }
    return NAT_CLASS_UNKNOWN;
  }
  if (same_mapping) {
    if (reflexive)
      *reflexive = live[0]->seen;
    return NAT_CLASS_EIM;
  }
  if (reflexive) { /* the IP is right, the port was one peer's */
    const struct nat_report *latest = live[0];
    for (unsigned i = 1; i < n; i++)
      if (live[i]->at_ns > latest->at_ns)
        latest = live[i];
    *reflexive = latest->seen;
  }
  return NAT_CLASS_SYMMETRIC;
}

const char *nat_class_name(enum nat_class c) {
  switch (c) {
  case NAT_CLASS_NONE:
    return "public";
  case NAT_CLASS_EIM:
    return "endpoint-independent";
  case NAT_CLASS_SYMMETRIC:
    return "symmetric";
  default:
    return "unknown";
  }
}
