#include "simulations/sim_net.h"

#include <errno.h>
#include <math.h>
#include <ringlan/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MATRIX_MAX 4096 /* 4096^2 floats = 64 MiB */
#define NS_PER_MS_D 1e6

static void nat_params(enum sim_nat_class c, enum sim_nat_mapping *m, enum sim_nat_filter *f) {
  *m = SIM_MAP_EIM;
  *f = SIM_FILT_EIF;
  switch (c) {
  case SIM_NAT_RESTRICTED:
    *f = SIM_FILT_ADF;
    break;
  case SIM_NAT_PORT_RESTRICTED:
  case SIM_NAT_BLOCKED:
    *f = SIM_FILT_APDF;
    break;
  case SIM_NAT_SYMMETRIC:
    *m = SIM_MAP_APDM;
    *f = SIM_FILT_APDF;
    break;
  default:
    break;
  }
}

int sim_net_matrix_parse(const char *text, size_t len, float **out, uint32_t *n, char *err,
                         size_t errcap) {
  /* Copy into a NUL-terminated buffer so strtod cannot run past the end. */
  char *buf = malloc(len + 1);
  if (!buf)
    return RL_ENOMEM;
  memcpy(buf, text, len);
  buf[len] = '\0';
  for (size_t i = 0; i < len; i++) { /* strip comments */
    if (buf[i] == '#')
      while (i < len && buf[i] != '\n')
        buf[i++] = ' ';
    else if (buf[i] == '\0')
      buf[i] = ' ';
  }
  char *p = buf, *end;
  float *m = NULL;
  errno = 0;
  unsigned long dim = strtoul(p, &end, 10);
  if (end == p || errno || dim == 0 || dim > MATRIX_MAX) {
    snprintf(err, errcap, "delay matrix: first value must be N in 1..%d", MATRIX_MAX);
    goto fail;
  }
  p = end;
  m = malloc(dim * dim * sizeof(float));
  if (!m)
    goto fail;
  for (size_t i = 0; i < dim * dim; i++) {
    double v = strtod(p, &end);
    if (end == p || !isfinite(v) || v < 0 || v > 1e6) {
      snprintf(err, errcap, "delay matrix: entry %zu (row %zu) missing or not a delay in ms",
               i, i / dim);
      goto fail;
    }
    m[i] = (float)v;
    p = end;
  }
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;
  if (*p) {
    snprintf(err, errcap, "delay matrix: more than N*N values");
    goto fail;
  }
  free(buf);
  *out = m;
  *n = (uint32_t)dim;
  return 0;
fail:
  free(m);
  free(buf);
  return RL_EPARSE;
}

static int load_matrix(struct sim_net *net, const char *path, char *err, size_t errcap) {
  char *text;
  size_t len;
  int rc = sim_read_file(path, (size_t)1 << 30, &text, &len, err, errcap);
  if (rc)
    return rc;
  char reason[200];
  rc = sim_net_matrix_parse(text, len, &net->matrix, &net->mat_n, reason, sizeof(reason));
  free(text);
  if (rc)
    snprintf(err, errcap, "%s: %s", path, reason);
  return rc;
}

int sim_net_init(struct sim_net *net, const struct sim_scenario *sc, uint64_t seed, char *err,
                 size_t errcap) {
  struct sim_rng rng;
  uint32_t n = sc->nodes, seeds = sc->seeds < n ? sc->seeds : n;
  uint32_t per = sc->hosts_per_site ? sc->hosts_per_site : 1;
  uint32_t n_sites = (n - seeds + per - 1) / per;
  uint8_t *site_cls = NULL;
  int rc = RL_ENOMEM;
  memset(net, 0, sizeof(*net));
  sim_rng_seed(&rng, seed, SIM_STREAM_NET);
  sim_rng_seed(&net->loss_rng, seed, SIM_STREAM_LOSS);
  net->n_hosts = n;
  net->loss = sc->loss;
  net->lan_ns = (uint64_t)(sc->lan_delay_ms * NS_PER_MS_D);
  if (sc->latency == SIM_LAT_MATRIX && (rc = load_matrix(net, sc->matrix, err, errcap)))
    return rc;
  rc = RL_ENOMEM;
  net->hosts = calloc(n, sizeof(*net->hosts));
  site_cls = malloc(n_sites ? n_sites : 1);
  /* Upper bounds: every non-seed site might be NATed. */
  net->boxes = calloc(n_sites ? n_sites : 1, sizeof(*net->boxes));
  net->box_first = calloc(n_sites ? n_sites : 1, sizeof(uint32_t));
  net->box_count = calloc(n_sites ? n_sites : 1, sizeof(uint32_t));
  net->pub_owner = calloc(n + n_sites + 1, sizeof(uint32_t));
  if (!net->hosts || !site_cls || !net->boxes || !net->box_first || !net->box_count ||
      !net->pub_owner)
    goto fail;
  /* Exact proportions: site s gets the class whose cumulative share covers
   * (s + 0.5) / n_sites, then a seeded shuffle spreads them out. */
  for (uint32_t s = 0; s < n_sites; s++) {
    double pos = (s + 0.5) / n_sites, acc = 0;
    uint8_t c = SIM_NAT_PUBLIC;
    for (int k = 0; k < SIM_NAT_N_CLASSES; k++) {
      acc += sc->nat_mix[k];
      if (pos < acc || k == SIM_NAT_N_CLASSES - 1) {
        c = (uint8_t)k;
        if (pos < acc)
          break;
      }
    }
    site_cls[s] = c;
  }
  for (uint32_t s = n_sites; s > 1; s--) {
    uint32_t j = (uint32_t)sim_rng_below(&rng, s);
    uint8_t t = site_cls[s - 1];
    site_cls[s - 1] = site_cls[j];
    site_cls[j] = t;
  }
  double side = sc->coord_span_ms / sqrt((double)(sc->dims ? sc->dims : 2));
  uint64_t part_draw[SIM_MAX_PARTITIONS];
  for (unsigned p = 0; p < sc->n_partitions; p++)
    part_draw[p] = (uint64_t)(sc->partitions[p].fraction * 18446744073709551616.0);
  for (uint32_t h = 0; h < n; h++) {
    struct sim_host *host = &net->hosts[h];
    for (unsigned d = 0; d < 3; d++)
      host->pos[d] = d < sc->dims ? (float)(sim_rng_double(&rng) * side) : 0.0f;
    double acc = sim_dist_sample(&sc->access_ms, &rng);
    host->access_ms = (float)(acc < 0 ? 0 : acc);
    host->mrow = net->matrix ? (uint32_t)sim_rng_below(&rng, net->mat_n) : 0;
    for (unsigned p = 0; p < sc->n_partitions; p++)
      if (sim_rng_next(&rng) < part_draw[p])
        host->part_mask |= (uint8_t)(1u << p);
    host->box = SIM_NO_BOX;
    uint32_t site = h < seeds ? UINT32_MAX : (h - seeds) / per;
    uint8_t cls = site == UINT32_MAX ? SIM_NAT_PUBLIC : site_cls[site];
    host->cls = cls;
    if (cls == SIM_NAT_PUBLIC) {
      host->ip = SIM_PUB_BASE + net->n_pub;
      net->pub_owner[net->n_pub++] = h;
      continue;
    }
    /* First host of a NATed site creates the box. */
    if ((h - seeds) % per == 0) {
      uint32_t b = net->n_boxes++;
      enum sim_nat_mapping m;
      enum sim_nat_filter f;
      nat_params(cls, &m, &f);
      sim_nat_init(&net->boxes[b], m, f, SIM_PUB_BASE + net->n_pub,
                   (uint64_t)(sc->binding_timeout_s * 1e9));
      net->boxes[b].blocked = cls == SIM_NAT_BLOCKED;
      net->boxes[b].upnp = sim_rng_double(&rng) < sc->upnp;
      /* Symmetric boxes pick random ports, as Linux "masquerade
       * fully-random" does (the state comes from the seed, not from the
       * net stream, so the rest of the network is drawn as before). */
      net->boxes[b].random_ports = cls == SIM_NAT_SYMMETRIC;
      net->boxes[b].rng = (seed ^ 0x5BD1E995u) * 0x9E3779B97F4A7C15ull + b + 1;
      net->pub_owner[net->n_pub++] = b | SIM_PUB_BOX;
      net->box_first[b] = h;
    }
    host->box = net->n_boxes - 1;
    host->ip = SIM_PRIV_BASE + net->box_count[host->box]++;
  }
  free(site_cls);
  return 0;
fail:
  free(site_cls);
  sim_net_free(net);
  return rc;
}

void sim_net_free(struct sim_net *net) {
  for (uint32_t b = 0; b < net->n_boxes; b++)
    sim_nat_free(&net->boxes[b]);
  free(net->boxes);
  free(net->hosts);
  free(net->box_first);
  free(net->box_count);
  free(net->pub_owner);
  free(net->matrix);
  memset(net, 0, sizeof(*net));
}

void sim_net_local_addr(const struct sim_net *net, uint32_t host, struct rl_addr *out) {
  rl_addr_set_ipv4(out, net->hosts[host].ip, SIM_HOST_PORT);
}

void sim_net_public_addr(const struct sim_net *net, uint32_t host, struct rl_addr *out) {
  const struct sim_host *h = &net->hosts[host];
  rl_addr_set_ipv4(out, h->box == SIM_NO_BOX ? h->ip : net->boxes[h->box].ext_ip,
                   SIM_HOST_PORT);
}

uint64_t sim_net_delay_ns(const struct sim_net *net, uint32_t a, uint32_t b) {
  const struct sim_host *ha = &net->hosts[a], *hb = &net->hosts[b];
  double ms;
  if (net->matrix) {
    ms = net->matrix[(size_t)ha->mrow * net->mat_n + hb->mrow];
  } else {
    double dx = ha->pos[0] - hb->pos[0], dy = ha->pos[1] - hb->pos[1],
           dz = ha->pos[2] - hb->pos[2];
    ms = sqrt(dx * dx + dy * dy + dz * dz);
  }
  ms += ha->access_ms + hb->access_ms;
  return (uint64_t)(ms * NS_PER_MS_D) + 1000; /* >= 1 us: strictly after now */
}

static bool private_ip(uint32_t ip) {
  return (ip >> 24) == 10 || (ip >> 16) == 0xC0A8 || (ip >> 20) == 0xAC1;
}

/* TCP (docs/simulator.md): every host listens on TCP at SIM_HOST_PORT too.
 * A connection is modelled, not simulated: a packet to a listener that is
 * a public host arrives from tcp:<the sender's public IP>:(SIM_TCP_PORT0 +
 * its index in its site), whatever the sender's NAT class (a NAT box
 * passes outbound TCP and its replies, a UDP-blocked one too); a packet to
 * such a connection address goes back to that host, from the listener's
 * tcp:IP:SIM_HOST_PORT. Listeners behind a NAT box are unreachable (no
 * mapping for TCP). No loss (TCP retransmits; the delay of that is not
 * modelled), no head-of-line blocking, the same one-way delay as UDP. */
static int route_tcp(struct sim_net *net, uint32_t src, const struct rl_addr *dst,
                     uint32_t *dst_host, struct rl_addr *seen_src, uint64_t *delay_ns) {
  const struct sim_host *hs = &net->hosts[src];
  uint32_t dip = rl_addr_ipv4(dst), pub = dip - SIM_PUB_BASE, owner, to;
  if (private_ip(dip) || dip < SIM_PUB_BASE || pub >= net->n_pub) {
    net->st.unroutable++;
    return RL_ENOENT;
  }
  owner = net->pub_owner[pub];
  if (dst->port == SIM_HOST_PORT) {
    if (owner & SIM_PUB_BOX) {
      net->st.nat_in_drop++;
      return RL_EREFUSED;
    }
    to = owner;
    rl_addr_set_ipv4(seen_src, hs->box == SIM_NO_BOX ? hs->ip : net->boxes[hs->box].ext_ip,
                     (uint16_t)(SIM_TCP_PORT0 + (hs->box == SIM_NO_BOX
                                                     ? 0
                                                     : src - net->box_first[hs->box])));
  } else {
    uint32_t k = (uint32_t)(dst->port - SIM_TCP_PORT0);
    if (hs->box != SIM_NO_BOX || dst->port < SIM_TCP_PORT0 ||
        ((owner & SIM_PUB_BOX) ? k >= net->box_count[owner & ~SIM_PUB_BOX] : k != 0)) {
      net->st.no_port++; /* only a listener has connections to answer on */
      return RL_ENOENT;
    }
    to = (owner & SIM_PUB_BOX) ? net->box_first[owner & ~SIM_PUB_BOX] + k : owner;
    rl_addr_set_ipv4(seen_src, hs->ip, SIM_HOST_PORT);
  }
  seen_src->proto = RL_PROTO_TCP;
  if ((uint8_t)(hs->part_mask ^ net->hosts[to].part_mask) & net->active_parts) {
    net->st.partitioned++;
    return RL_EREFUSED;
  }
  net->st.delivered++;
  *dst_host = to;
  *delay_ns = sim_net_delay_ns(net, src, to);
  return 0;
}

int sim_net_route(struct sim_net *net, uint32_t src, uint16_t src_port,
                  const struct rl_addr *dst, uint64_t now, uint32_t *dst_host,
                  struct rl_addr *seen_src, uint64_t *delay_ns) {
  uint16_t dport;
  int rc = sim_net_route_port(net, src, src_port, 0, dst, now, dst_host, &dport, seen_src,
                              delay_ns);
  if (rc == 0 && dport != SIM_HOST_PORT) {
    net->st.delivered--;
    net->st.no_port++;
    return RL_ENOENT;
  }
  return rc;
}

int sim_net_route_port(struct sim_net *net, uint32_t src, uint16_t src_port, uint8_t ttl,
                       const struct rl_addr *dst, uint64_t now, uint32_t *dst_host,
                       uint16_t *dst_port, struct rl_addr *seen_src, uint64_t *delay_ns) {
  const struct sim_host *hs = &net->hosts[src];
  net->st.sent++;
  if (dst->family != RL_AF_INET) {
    net->st.unroutable++;
    return RL_EINVAL;
  }
  if (dst->proto == RL_PROTO_TCP) {
    *dst_port = SIM_HOST_PORT; /* the node's main socket (TCP is modelled apart) */
    return route_tcp(net, src, dst, dst_host, seen_src, delay_ns);
  }
  uint32_t dip = rl_addr_ipv4(dst);
  uint16_t dport = dst->port;
  if (net->loss > 0 && sim_rng_double(&net->loss_rng) < net->loss) {
    net->st.lost++;
    return RL_EAGAIN;
  }
  uint32_t to = UINT32_MAX;
  uint64_t delay = 0;
  if (private_ip(dip)) {
    /* Same site: delivered on the LAN, no translation. */
    if (hs->box != SIM_NO_BOX) {
      uint32_t k = dip - SIM_PRIV_BASE;
      if (dip >= SIM_PRIV_BASE && k < net->box_count[hs->box])
        to = net->box_first[hs->box] + k;
    }
    if (to == UINT32_MAX) {
      net->st.unroutable++;
      return RL_ENOENT;
    }
    delay = net->lan_ns + 1000;
    rl_addr_set_ipv4(seen_src, hs->ip, src_port);
  } else {
    uint32_t sip = hs->ip;
    uint16_t sport = src_port;
    if (hs->box != SIM_NO_BOX) {
      struct sim_nat *b = &net->boxes[hs->box];
      if (dip == b->ext_ip) { /* hairpinning is off (RFC 4787 REQ-9 unmet) */
        net->st.nat_out_drop++;
        return RL_EREFUSED;
      }
      if (sim_nat_out(b, hs->ip, src_port, dip, dport, now, &sport)) {
        net->st.nat_out_drop++;
        return RL_EREFUSED;
      }
      sip = b->ext_ip;
    }
    if (ttl && ttl <= SIM_TTL_HOPS) { /* mapped (if NATed), then expired */
      net->st.ttl_expired++;
      return RL_EAGAIN;
    }
    uint32_t pub = dip - SIM_PUB_BASE;
    if (dip < SIM_PUB_BASE || pub >= net->n_pub) {
      net->st.unroutable++;
      return RL_ENOENT;
    }
    uint32_t owner = net->pub_owner[pub];
    if (owner & SIM_PUB_BOX) {
      struct sim_nat *b = &net->boxes[owner & ~SIM_PUB_BOX];
      uint32_t iip;
      uint16_t iport;
      if (sim_nat_in(b, sip, sport, dport, now, &iip, &iport)) {
        net->st.nat_in_drop++;
        return RL_EREFUSED;
      }
      to = net->box_first[owner & ~SIM_PUB_BOX] + (iip - SIM_PRIV_BASE);
      dport = iport;
    } else {
      to = owner;
    }
    rl_addr_set_ipv4(seen_src, sip, sport);
    delay = sim_net_delay_ns(net, src, to);
  }
  uint8_t diff = (uint8_t)(hs->part_mask ^ net->hosts[to].part_mask);
  if (diff & net->active_parts) {
    net->st.partitioned++;
    return RL_EREFUSED;
  }
  net->st.delivered++;
  *dst_host = to;
  *dst_port = dport;
  *delay_ns = delay;
  return 0;
}
