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

/* Independent reporters of report i among live[0..n): reports that say
 * the same (same_port: the same ip:port; else the same IP) from distinct
 * reporter addresses (reporters behind one address count once: one host,
 * or one site, could run them all). */
static unsigned agreeing(const struct nat_report *const *live, unsigned n, unsigned i,
                         bool same_port) {
  unsigned k = 0;
  for (unsigned j = 0; j < n; j++) {
    bool says = same_port ? rl_addr_equal(&live[j]->seen, &live[i]->seen)
                          : same_ip(&live[j]->seen, &live[i]->seen);
    bool counted = false;
    if (!says)
      continue;
    for (unsigned m = 0; m < j && !counted; m++)
      counted = same_ip(&live[m]->reporter_ep, &live[j]->reporter_ep) &&
                (same_port ? rl_addr_equal(&live[m]->seen, &live[i]->seen)
                           : same_ip(&live[m]->seen, &live[i]->seen));
    k += !counted;
  }
  return k;
}

/* The latest of live[0..n) whose IP is ip's. */
static const struct nat_report *latest_at(const struct nat_report *const *live, unsigned n,
                                          const struct rl_addr *ip) {
  const struct nat_report *r = NULL;
  for (unsigned i = 0; i < n; i++)
    if (same_ip(&live[i]->seen, ip) && (!r || live[i]->at_ns > r->at_ns))
      r = live[i];
  return r;
}

enum nat_class nat_classify(const struct nat_obs *o, const struct rl_addr *local,
                            unsigned n_local, uint64_t now, struct rl_addr *reflexive) {
  const struct nat_report *live[NAT_OBS_MAX];
  const struct nat_report *untranslated = NULL;
  unsigned n = 0, best = 0, best_k = 0, ip_best = 0, ip_k = 0, ip_reporters;
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
  if (reflexive)
    memset(reflexive, 0, sizeof(*reflexive)); /* family NONE: nothing to publish */
  if (n == 0)
    return NAT_CLASS_UNKNOWN;
  /* Reports are claims of linked members, and one member may lie (issue
   * 10, finding 7). So nothing rests on a single reporter: the address
   * most independent reporters agree on, and the public IP most agree on. */
  for (unsigned i = 0; i < n; i++) {
    unsigned k = agreeing(live, n, i, true), ki = agreeing(live, n, i, false);
    if (k > best_k) {
      best_k = k;
      best = i;
    }
    if (ki > ip_k) {
      ip_k = ki;
      ip_best = i;
    }
  }
  /* The reporters (independent) that name the majority IP. */
  ip_reporters = ip_k;
  /* Endpoint-independent: two independent reporters see one ip:port, and
   * at most one other reporter at that IP says otherwise (one liar cannot
   * turn a confirmed cone into "symmetric"). */
  if (best_k >= 2 && ip_reporters - best_k <= 1) {
    if (reflexive)
      *reflexive = live[best]->seen;
    return NAT_CLASS_EIM;
  }
  /* Endpoint-dependent: independent reporters agree on our public IP but
   * see different ports, and either no port is confirmed twice, or two
   * reporters or more disagree with the confirmed one. The published
   * reflexive address is then only its IP's (a port of the latest report
   * at that IP): peers behind address-restricted NATs send there. */
  if (ip_reporters >= 2 && (best_k < 2 || ip_reporters - best_k >= 2)) {
    if (reflexive)
      *reflexive = latest_at(live, n, &live[ip_best]->seen)->seen;
    return NAT_CLASS_SYMMETRIC;
  }
  /* One reporter (or reporters behind one address, or reporters that do
   * not even agree on our IP): nothing is published on its word alone. A
   * second linked member confirms the address (any member that reaches us
   * through it links and reports, which is the round trip). */
  return NAT_CLASS_UNKNOWN;
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
