/* Port mapping decisions: see nat/portmap.h and docs/nat.md. */
#include "nat/portmap.h"

#include <string.h>

#include "util/env.h"

/* Methods in the order we try them: UPnP IGD is the most widespread on home
 * routers; NAT-PMP (and its successor PCP) answers on Apple and some
 * open-source routers. */
static const enum nat_pm_method ORDER[] = {NAT_PM_UPNP, NAT_PM_NATPMP};
#define N_ORDER (sizeof(ORDER) / sizeof(ORDER[0]))

static bool enabled(const struct nat_pm *pm, enum nat_pm_method m) {
  return (m == NAT_PM_UPNP && pm->cfg.upnp) || (m == NAT_PM_NATPMP && pm->cfg.natpmp);
}

/* The first enabled method after `after` (NAT_PM_NONE: from the start), or
 * NAT_PM_NONE when the round is over. */
static enum nat_pm_method next_method(const struct nat_pm *pm, enum nat_pm_method after) {
  size_t i = 0;
  if (after != NAT_PM_NONE) {
    while (i < N_ORDER && ORDER[i] != after)
      i++;
    i++;
  }
  for (; i < N_ORDER; i++)
    if (enabled(pm, ORDER[i]))
      return ORDER[i];
  return NAT_PM_NONE;
}

static uint32_t lease_for(enum nat_pm_method m) {
  return m == NAT_PM_UPNP ? NAT_PM_LEASE_UPNP_S : NAT_PM_LEASE_NATPMP_S;
}

/* Delay after the k-th consecutive failed round (k >= 1). Exponential so a
 * router that is merely slow to boot is found soon, capped so a missing one
 * costs little; after NAT_PM_GIVEUP_ROUNDS the long pause. */
static uint64_t backoff_ns(unsigned k) {
  uint64_t s = NAT_PM_BACKOFF_FIRST_S;
  if (k >= NAT_PM_GIVEUP_ROUNDS)
    return (uint64_t)NAT_PM_GIVEUP_RETRY_S * NS_PER_S;
  for (unsigned i = 1; i < k && s < NAT_PM_BACKOFF_MAX_S; i++)
    s *= 2;
  if (s > NAT_PM_BACKOFF_MAX_S)
    s = NAT_PM_BACKOFF_MAX_S;
  return s * NS_PER_S;
}

void nat_pm_init(struct nat_pm *pm, const struct nat_pm_config *cfg, uint64_t now) {
  memset(pm, 0, sizeof(*pm));
  pm->cfg = *cfg;
  pm->try_method = next_method(pm, NAT_PM_NONE);
  pm->next_ns = pm->try_method == NAT_PM_NONE || cfg->port == 0 ? RL_TIME_NEVER : now;
  pm->expire_ns = RL_TIME_NEVER;
  pm->done = pm->next_ns == RL_TIME_NEVER;
}

static void set_notify(struct nat_pm *pm) {
  /* Nothing is published once we stop: the node is leaving. */
  if (!pm->stopping)
    pm->notify = true;
}

static void lose_mapping(struct nat_pm *pm) {
  pm->notify_method = pm->map_method;
  pm->has_map = false;
  pm->map_method = NAT_PM_NONE;
  pm->expire_ns = RL_TIME_NEVER;
  memset(&pm->mapped, 0, sizeof(pm->mapped));
  pm->try_method = next_method(pm, NAT_PM_NONE);
  set_notify(pm);
}

bool nat_pm_poll(struct nat_pm *pm, uint64_t now, struct nat_pm_action *out) {
  memset(out, 0, sizeof(*out));
  /* The lease ran out without a successful renewal: withdraw it, also while
   * a renewal is outstanding (its success publishes it again). */
  if (pm->has_map && now >= pm->expire_ns)
    lose_mapping(pm);
  if (pm->notify) {
    pm->notify = false;
    out->kind = pm->has_map ? NAT_PM_ACT_MAPPED : NAT_PM_ACT_UNMAPPED;
    out->method = pm->has_map ? pm->map_method : pm->notify_method;
    out->mapped = pm->mapped;
    return true;
  }
  if (pm->in_flight || pm->done)
    return false;
  if (pm->stopping) {
    if (!pm->has_map) {
      pm->done = true;
      return false;
    }
    out->kind = NAT_PM_ACT_REQUEST;
    out->req.op = NAT_PM_OP_REMOVE;
    out->req.method = pm->map_method;
    out->req.internal_port = pm->cfg.port;
    out->req.external_port = pm->mapped.port;
    pm->in_flight = true;
    return true;
  }
  if (now < pm->next_ns || pm->try_method == NAT_PM_NONE)
    return false;
  out->kind = NAT_PM_ACT_REQUEST;
  out->req.op = NAT_PM_OP_ADD;
  out->req.method = pm->has_map ? pm->map_method : pm->try_method;
  out->req.internal_port = pm->cfg.port;
  /* A renewal asks for the port it holds, so peers' cached endpoints stay
   * right; a fresh mapping asks for our own port (easy to recognise). */
  out->req.external_port = pm->has_map ? pm->mapped.port : pm->cfg.port;
  out->req.lease_s = lease_for(out->req.method);
  pm->in_flight = true;
  return true;
}

static void add_ok(struct nat_pm *pm, const struct nat_pm_result *res, uint64_t now) {
  bool changed = !pm->has_map || pm->map_method != res->method ||
                 !rl_addr_equal(&pm->mapped, &res->external);
  uint64_t renew_s;
  pm->has_map = true;
  pm->map_method = res->method;
  pm->mapped = res->external;
  pm->failed_rounds = 0;
  if (res->lease_s == 0) {
    pm->expire_ns = RL_TIME_NEVER;
    renew_s = NAT_PM_RENEW_PERMANENT_S;
  } else {
    pm->expire_ns = now + (uint64_t)res->lease_s * NS_PER_S;
    renew_s = res->lease_s / 2;
    if (renew_s < NAT_PM_RENEW_MIN_S)
      renew_s = NAT_PM_RENEW_MIN_S;
  }
  pm->next_ns = now + renew_s * NS_PER_S;
  if (changed)
    set_notify(pm);
}

static void add_failed(struct nat_pm *pm, const struct nat_pm_result *res, uint64_t now) {
  enum nat_pm_method nx;
  if (pm->stopping)
    return;
  if (pm->has_map) {
    /* A failed renewal: the router may still hold the mapping until its
     * lease ends, so keep publishing it and retry with the same method
     * (another method would make a second mapping). */
    pm->failed_rounds++;
    pm->next_ns = now + backoff_ns(pm->failed_rounds);
    return;
  }
  nx = next_method(pm, res->method);
  if (nx != NAT_PM_NONE) {
    pm->try_method = nx; /* fall back at once: no router speaks both badly */
    pm->next_ns = now;
    return;
  }
  pm->failed_rounds++;
  pm->next_ns = now + backoff_ns(pm->failed_rounds);
  if (pm->failed_rounds >= NAT_PM_GIVEUP_ROUNDS)
    pm->failed_rounds = 0; /* after the long pause: a fresh series */
  pm->try_method = next_method(pm, NAT_PM_NONE);
}

void nat_pm_result(struct nat_pm *pm, const struct nat_pm_result *res, uint64_t now) {
  if (!pm->in_flight)
    return;
  pm->in_flight = false;
  if (res->op == NAT_PM_OP_REMOVE) {
    /* Whatever the router said, we are done with it: a failed removal ends
     * with the lease anyway. */
    if (pm->has_map)
      lose_mapping(pm);
    if (pm->stopping)
      pm->done = true;
    return;
  }
  if (res->ok && res->external.family != RL_AF_NONE && res->external.port != 0)
    add_ok(pm, res, now);
  else
    add_failed(pm, res, now);
}

uint64_t nat_pm_next_timer(const struct nat_pm *pm) {
  uint64_t t = RL_TIME_NEVER;
  if (pm->notify)
    return 0;
  if (pm->has_map)
    t = pm->expire_ns;
  if (pm->in_flight || pm->done)
    return t;
  if (pm->stopping)
    return 0;
  if (pm->try_method != NAT_PM_NONE && pm->next_ns < t)
    t = pm->next_ns;
  return t;
}

void nat_pm_shutdown(struct nat_pm *pm, uint64_t now) {
  (void)now;
  pm->stopping = true;
  pm->notify = false;
  if (!pm->has_map && !pm->in_flight)
    pm->done = true;
}

bool nat_pm_done(const struct nat_pm *pm) { return pm->done; }

bool nat_pm_mapped(const struct nat_pm *pm, struct rl_addr *out, enum nat_pm_method *method) {
  if (!pm->has_map)
    return false;
  if (out)
    *out = pm->mapped;
  if (method)
    *method = pm->map_method;
  return true;
}

unsigned nat_pm_failed_rounds(const struct nat_pm *pm) { return pm->failed_rounds; }

const char *nat_pm_method_name(enum nat_pm_method m) {
  return m == NAT_PM_UPNP ? "upnp" : m == NAT_PM_NATPMP ? "natpmp" : "none";
}
