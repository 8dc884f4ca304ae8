#include "simulations/sim_nat.h"

#include <ringlan/error.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_DYN_PORT 20000

void sim_nat_init(struct sim_nat *b, enum sim_nat_mapping m, enum sim_nat_filter f,
                  uint32_t ext_ip, uint64_t timeout_ns) {
  memset(b, 0, sizeof(*b));
  b->mapping = m;
  b->filter = f;
  b->ext_ip = ext_ip;
  b->timeout_ns = timeout_ns;
  b->next_port = FIRST_DYN_PORT;
}

void sim_nat_free(struct sim_nat *b) {
  for (uint32_t i = 0; i < b->n_map; i++)
    free(b->map[i].perm);
  free(b->map);
  b->map = NULL;
  b->n_map = b->cap_map = 0;
}

static bool map_live(const struct sim_nat *b, const struct sim_nat_map *m, uint64_t now) {
  return m->permanent || now - m->last_out_ns <= b->timeout_ns;
}

static void map_remove(struct sim_nat *b, uint32_t i) {
  free(b->map[i].perm);
  b->map[i] = b->map[--b->n_map];
}

void sim_nat_expire(struct sim_nat *b, uint64_t now_ns) {
  for (uint32_t i = 0; i < b->n_map;) {
    if (!map_live(b, &b->map[i], now_ns))
      map_remove(b, i);
    else
      i++;
  }
}

static bool port_in_use(const struct sim_nat *b, uint16_t port, uint64_t now) {
  for (uint32_t i = 0; i < b->n_map; i++)
    if (b->map[i].ext_port == port && map_live(b, &b->map[i], now))
      return true;
  return false;
}

static struct sim_nat_map *map_add(struct sim_nat *b) {
  if (b->n_map == b->cap_map) {
    uint32_t cap = b->cap_map ? b->cap_map * 2 : 4;
    struct sim_nat_map *m = realloc(b->map, cap * sizeof(*m));
    if (!m)
      return NULL;
    b->map = m;
    b->cap_map = cap;
  }
  struct sim_nat_map *m = &b->map[b->n_map++];
  memset(m, 0, sizeof(*m));
  return m;
}

static uint16_t random_port(struct sim_nat *b) {
  uint64_t x = b->rng ? b->rng : 0x9E3779B97F4A7C15ull;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  b->rng = x;
  return (uint16_t)(1024 + (x >> 11) % (65536 - 1024));
}

/* Sequential allocation (deterministic) skipping live ports; 1024..65535.
 * random_ports: random draws (bounded), then sequential. */
static int alloc_port(struct sim_nat *b, uint64_t now, uint16_t *out) {
  for (unsigned tries = 0; b->random_ports && tries < 64; tries++) {
    uint16_t p = random_port(b);
    if (!port_in_use(b, p, now)) {
      *out = p;
      return 0;
    }
  }
  for (unsigned tries = 0; tries < 65536 - 1024; tries++) {
    uint16_t p = b->next_port;
    b->next_port = p == 65535 ? 1024 : (uint16_t)(p + 1);
    if (!port_in_use(b, p, now)) {
      *out = p;
      return 0;
    }
  }
  return RL_EFULL;
}

static bool map_matches(const struct sim_nat *b, const struct sim_nat_map *m, uint32_t ii,
                        uint16_t ip_, uint32_t ri, uint16_t rp) {
  if (m->int_ip != ii || m->int_port != ip_)
    return false;
  if (m->permanent)
    return true; /* a forward serves every remote */
  switch (b->mapping) {
  case SIM_MAP_EIM:
    return true;
  case SIM_MAP_ADM:
    return m->rem_ip == ri;
  case SIM_MAP_APDM:
    return m->rem_ip == ri && m->rem_port == rp;
  }
  return false;
}

static int perm_touch(const struct sim_nat *b, struct sim_nat_map *m, uint32_t ri, uint16_t rp,
                      uint64_t now) {
  for (uint32_t i = 0; i < m->n_perm; i++) {
    if (m->perm[i].ip == ri && m->perm[i].port == rp) {
      m->perm[i].last_out_ns = now;
      return 0;
    }
  }
  if (m->n_perm == m->cap_perm) { /* full: drop expired permissions first */
    uint32_t k = 0;
    for (uint32_t i = 0; i < m->n_perm; i++)
      if (now - m->perm[i].last_out_ns <= b->timeout_ns)
        m->perm[k++] = m->perm[i];
    m->n_perm = k;
  }
  if (m->n_perm == m->cap_perm) {
    uint32_t cap = m->cap_perm ? m->cap_perm * 2 : 2;
    struct sim_nat_perm *p = realloc(m->perm, cap * sizeof(*p));
    if (!p)
      return RL_ENOMEM;
    m->perm = p;
    m->cap_perm = cap;
  }
  m->perm[m->n_perm++] = (struct sim_nat_perm){ri, rp, now};
  return 0;
}

int sim_nat_out(struct sim_nat *b, uint32_t ii, uint16_t ip_, uint32_t ri, uint16_t rp,
                uint64_t now, uint16_t *ext_port) {
  if (b->blocked) {
    b->dropped_out++;
    return RL_EREFUSED;
  }
  struct sim_nat_map *m = NULL;
  for (uint32_t i = 0; i < b->n_map;) {
    struct sim_nat_map *c = &b->map[i];
    if (!map_live(b, c, now)) { /* reclaim lazily while scanning */
      map_remove(b, i);
      continue;
    }
    if (map_matches(b, c, ii, ip_, ri, rp)) {
      m = c;
      break;
    }
    i++;
  }
  if (!m) {
    uint16_t port;
    /* Port preservation for the first mapping of an endpoint (common in
     * practice, RFC 4787 section 4.2.1), else the next free port. */
    int rc = b->random_ports || port_in_use(b, ip_, now) ? alloc_port(b, now, &port)
                                                         : (port = ip_, 0);
    if (rc)
      return rc;
    m = map_add(b);
    if (!m)
      return RL_ENOMEM;
    m->int_ip = ii;
    m->int_port = ip_;
    m->ext_port = port;
    m->rem_ip = ri;
    m->rem_port = rp;
  }
  m->last_out_ns = now;
  if (b->filter != SIM_FILT_EIF) { /* EIF needs no permissions */
    int rc = perm_touch(b, m, ri, rp, now);
    if (rc)
      return rc;
  }
  *ext_port = m->ext_port;
  return 0;
}

int sim_nat_in(struct sim_nat *b, uint32_t ri, uint16_t rp, uint16_t ext_port, uint64_t now,
               uint32_t *int_ip, uint16_t *int_port) {
  if (b->blocked)
    goto drop;
  for (uint32_t i = 0; i < b->n_map; i++) {
    struct sim_nat_map *m = &b->map[i];
    if (m->ext_port != ext_port || !map_live(b, m, now))
      continue;
    bool pass = m->permanent || b->filter == SIM_FILT_EIF;
    for (uint32_t j = 0; !pass && j < m->n_perm; j++) {
      const struct sim_nat_perm *p = &m->perm[j];
      if (now - p->last_out_ns > b->timeout_ns || p->ip != ri)
        continue;
      pass = b->filter == SIM_FILT_ADF || p->port == rp;
    }
    if (!pass)
      goto drop;
    *int_ip = m->int_ip;
    *int_port = m->int_port;
    return 0;
  }
drop:
  b->dropped_in++;
  return RL_EREFUSED;
}

int sim_nat_forward(struct sim_nat *b, uint32_t ii, uint16_t ip_, uint16_t *ext_port) {
  if (!b->upnp || b->blocked)
    return RL_EUNSUP;
  uint16_t port = *ext_port ? *ext_port : ip_;
  for (uint32_t i = 0; i < b->n_map; i++) {
    struct sim_nat_map *m = &b->map[i];
    if (m->permanent && m->int_ip == ii && m->int_port == ip_ && m->ext_port == port)
      return 0; /* renewing the same forward */
  }
  for (uint32_t i = 0; i < b->n_map; i++) /* live or not: forwards outlive time */
    if (b->map[i].ext_port == port)
      return RL_EEXIST;
  struct sim_nat_map *m = map_add(b);
  if (!m)
    return RL_ENOMEM;
  m->int_ip = ii;
  m->int_port = ip_;
  m->ext_port = port;
  m->permanent = true;
  *ext_port = port;
  return 0;
}
