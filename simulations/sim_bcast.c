/* Overlay broadcasts for the bcast metric: "does a broadcast reach every
 * member, how deep is the tree, what does it cost, how long does it take".
 *
 * Broadcasts arrive as a Poisson process of bcast_rate per second (the
 * whole network) from bcast_start_s; each picks a random joined node as
 * its origin, which broadcasts a bcast_size-byte payload carrying the
 * broadcast's number. The members of a broadcast are the nodes joined when
 * it is sent, the origin excepted (N - 1 in a stable ring of N). The model
 * reports each copy a node transmits, each duplicate copy a member drops
 * and each delivery with its depth; the latency of a delivery is the time
 * from the send. A broadcast is finished bcast_timeout_s after it was sent:
 * deliveries after that count as late, not as covered. A member that goes
 * down before it got the broadcast is counted as departed (coverage counts
 * it as missed; coverage_alive leaves it out).
 *
 * One line per broadcast in bcasts.csv (in send order, written when it
 * finishes); totals, coverage, depth and latency quantiles in summary.json
 * "bcast". Depth and latency quantiles are over every in-window delivery
 * to a member (also of broadcasts the end of the run cut short); latency
 * is kept in 0.1 ms bins, quantiles give the bin's upper edge. */
#include "simulations/sim_internal.h"

#include <math.h>
#include <ringlan/error.h>
#include <stdlib.h>
#include <string.h>

#define BC_BIN_US 100

static uint32_t bc_words(const struct sim *s) { return (s->n_nodes + 63) / 64; }

static bool bit_get(const uint64_t *v, uint32_t i) { return (v[i / 64] >> (i % 64)) & 1; }
static void bit_set(uint64_t *v, uint32_t i) { v[i / 64] |= 1ULL << (i % 64); }
static void bit_clear(uint64_t *v, uint32_t i) { v[i / 64] &= ~(1ULL << (i % 64)); }

static uint64_t next_gap(struct sim *s) {
  double u = 1.0 - sim_rng_double(&s->bc_rng);
  return SIM_S_TO_NS(-log(u) / s->sc.bcast_rate) + 1;
}

int sim_bcast_init(struct sim *s) {
  sim_rng_seed(&s->bc_rng, s->seed, SIM_STREAM_BCAST);
  if (!(s->sc.bcast_rate > 0) || !s->model->bcast || !(s->sc.metrics & SIM_M_BCAST))
    return 0;
  s->bc_lat_bins = (uint32_t)ceil(s->sc.bcast_timeout_s * 1e6 / BC_BIN_US) + 1;
  s->bc_lat_hist = calloc(s->bc_lat_bins, sizeof(*s->bc_lat_hist));
  if (!s->bc_lat_hist)
    return RL_ENOMEM;
  return sim_push(s, SIM_S_TO_NS(s->sc.bcast_start_s) + next_gap(s), SIM_EV_BCAST, 0, 0, 0);
}

void sim_bcast_free(struct sim *s) {
  for (uint32_t i = 0; i < s->n_bc; i++)
    free(s->bc[i].bits);
  free(s->bc);
  free(s->bc_lat_hist);
  s->bc = NULL;
  s->bc_lat_hist = NULL;
  s->n_bc = s->cap_bc = 0;
}

int sim_bcast_event(struct sim *s) {
  int rc = sim_push(s, s->now + next_gap(s), SIM_EV_BCAST, 0, 0, 0);
  if (rc)
    return rc;
  sim_bcast_sweep(s, false);
  sim_oracle_refresh(s);
  if (!s->n_order)
    return 0;
  if (s->n_bc == s->cap_bc) {
    uint32_t cap = s->cap_bc ? s->cap_bc * 2 : 256;
    struct sim_bcast *v = realloc(s->bc, cap * sizeof(*v));
    if (!v)
      return RL_ENOMEM;
    s->bc = v;
    s->cap_bc = cap;
  }
  uint32_t id = s->n_bc;
  struct sim_bcast *b = &s->bc[id];
  memset(b, 0, sizeof(*b));
  b->t_send = s->now;
  b->origin = s->order[sim_rng_below(&s->bc_rng, s->n_order)];
  b->bits = calloc(2 * (size_t)bc_words(s), sizeof(uint64_t));
  if (!b->bits)
    return RL_ENOMEM;
  s->n_bc++;
  for (uint32_t i = 0; i < s->n_order; i++) {
    if (s->order[i] == b->origin)
      continue;
    bit_set(b->bits, s->order[i]);
    b->members++;
  }
  rc = s->model->bcast(s->nodes[b->origin].m, id, s->sc.bcast_size, s->now);
  if (rc < 0) { /* over the origin's rate, or not in a ring after all */
    b->state = SIM_BC_REFUSED;
    free(b->bits);
    b->bits = NULL;
  }
  sim_settle(s, b->origin);
  return rc == RL_ENOMEM ? rc : 0;
}

void sim_report_bcast(struct sim *s, uint32_t at, uint32_t id, int what, unsigned n) {
  if (id >= s->n_bc || at >= s->n_nodes)
    return;
  struct sim_bcast *b = &s->bc[id];
  uint32_t *c = what == SIM_BC_TX      ? &b->tx
                : what == SIM_BC_DUP   ? &b->dup
                : what == SIM_BC_QDROP ? &b->qdrop
                : what == SIM_BC_LOST  ? &b->lost
                                       : NULL;
  if (c) {
    *c += n;
    return;
  }
  if (what != SIM_BC_DELIVER)
    return;
  uint64_t dt = s->now - b->t_send;
  if (!b->bits || dt > SIM_S_TO_NS(s->sc.bcast_timeout_s)) {
    s->bc_late++;
    return;
  }
  uint64_t *member = b->bits, *got = b->bits + bc_words(s);
  if (!bit_get(member, at)) {
    b->extra++; /* joined (or came back) after the send */
    return;
  }
  if (bit_get(got, at)) {
    b->redelivered++;
    return;
  }
  bit_set(got, at);
  b->delivered++;
  unsigned d = n > 255 ? 255 : n;
  if (d > b->depth_max)
    b->depth_max = (uint8_t)d;
  s->bc_depth_hist[d]++;
  s->bc_depth_sum += d;
  uint64_t us = dt / 1000;
  if (us > b->lat_max_us)
    b->lat_max_us = (uint32_t)us;
  uint64_t bin = us / BC_BIN_US;
  s->bc_lat_hist[bin < s->bc_lat_bins ? bin : s->bc_lat_bins - 1]++;
  s->bc_lat_sum_us += us;
  s->bc_lat_n++;
}

void sim_bcast_node_gone(struct sim *s, uint32_t node) {
  uint32_t w = bc_words(s);
  for (uint32_t i = s->bc_swept; i < s->n_bc; i++) {
    struct sim_bcast *b = &s->bc[i];
    if (b->bits && bit_get(b->bits, node) && !bit_get(b->bits + w, node)) {
      bit_clear(b->bits, node); /* a copy to its next instance is "extra" */
      b->departed++;
    }
  }
}

static void bc_write(struct sim *s, uint32_t id) {
  const struct sim_bcast *b = &s->bc[id];
  const char *res = b->state == SIM_BC_REFUSED      ? "refused"
                    : b->state == SIM_BC_UNFINISHED ? "unfinished"
                    : b->delivered == b->members    ? "ok"
                                                    : "partial";
  if (!s->out.bcasts)
    return;
  fprintf(s->out.bcasts, "%u,%.6f,%u,%u,%u,%u,%u,%u,%u,%u,%u,%u,%u,%.3f,%s\n", id,
          (double)b->t_send / 1e9, b->origin, b->members, b->delivered, b->departed, b->extra,
          b->redelivered, b->tx, b->dup, b->qdrop, b->lost, b->depth_max,
          (double)b->lat_max_us / 1e3, res);
}

void sim_bcast_sweep(struct sim *s, bool final) {
  uint64_t tmo = SIM_S_TO_NS(s->sc.bcast_timeout_s);
  while (s->bc_swept < s->n_bc) {
    struct sim_bcast *b = &s->bc[s->bc_swept];
    if (b->state == SIM_BC_LIVE) {
      bool expired = s->now - b->t_send > tmo;
      if (!expired && !final)
        break; /* send times are increasing: the rest are younger */
      b->state = expired ? SIM_BC_DONE : SIM_BC_UNFINISHED;
      free(b->bits);
      b->bits = NULL;
    }
    bc_write(s, s->bc_swept);
    s->bc_swept++;
  }
}

static unsigned depth_quantile(const struct sim *s, uint64_t n, double q) {
  uint64_t need = (uint64_t)ceil(q * n), acc = 0;
  for (unsigned h = 0; h < 256; h++) {
    acc += s->bc_depth_hist[h];
    if (acc >= need && acc)
      return h;
  }
  return 0;
}

static double lat_quantile_ms(const struct sim *s, double q) {
  uint64_t need = (uint64_t)ceil(q * s->bc_lat_n), acc = 0;
  for (uint32_t i = 0; i < s->bc_lat_bins; i++) {
    acc += s->bc_lat_hist[i];
    if (acc >= need && acc)
      return (double)(i + 1) * BC_BIN_US / 1e3;
  }
  return 0;
}

void sim_bcast_summary(struct sim *s, FILE *f) {
  uint64_t done = 0, refused = 0, unfinished = 0, full = 0, members = 0, delivered = 0,
           departed = 0, extra = 0, redelivered = 0, tx = 0, dup = 0, qdrop = 0, lost = 0,
           n_ref = 0;
  uint32_t depth_max = 0, lat_max_us = 0;
  double cov_min = 1;
  for (uint32_t i = 0; i < s->n_bc; i++) {
    const struct sim_bcast *b = &s->bc[i];
    if (b->state == SIM_BC_REFUSED) {
      refused++;
      continue;
    }
    if (b->state != SIM_BC_DONE) {
      unfinished++;
      continue;
    }
    done++;
    members += b->members;
    delivered += b->delivered;
    departed += b->departed;
    extra += b->extra;
    redelivered += b->redelivered;
    tx += b->tx;
    dup += b->dup;
    qdrop += b->qdrop;
    lost += b->lost;
    n_ref += b->members + 1;
    full += b->delivered == b->members;
    double cov = b->members ? (double)b->delivered / b->members : 1;
    if (cov < cov_min)
      cov_min = cov;
    if (b->depth_max > depth_max)
      depth_max = b->depth_max;
    if (b->lat_max_us > lat_max_us)
      lat_max_us = b->lat_max_us;
  }
  uint64_t alive = members - departed;
  fprintf(f, ",\"bcast\":{\"issued\":%u,\"refused\":%llu,\"finished\":%llu,\"unfinished\":%llu,"
             "\"members\":%llu,\"delivered\":%llu,\"coverage\":%.6f,\"coverage_min\":%.6f,"
             "\"full_coverage\":%llu,\"departed\":%llu,\"coverage_alive\":%.6f,"
             "\"extra\":%llu,\"late\":%llu,\"redelivered\":%llu,\"tx\":%llu,"
             "\"tx_per_member\":%.6f,\"dup\":%llu,\"dup_per_bcast\":%.3f,\"queue_drop\":%llu,\"lost\":%llu",
          s->n_bc, (unsigned long long)refused, (unsigned long long)done,
          (unsigned long long)unfinished, (unsigned long long)members,
          (unsigned long long)delivered, members ? (double)delivered / members : 0.0,
          done ? cov_min : 0.0, (unsigned long long)full, (unsigned long long)departed,
          alive ? (double)delivered / alive : 0.0, (unsigned long long)extra,
          (unsigned long long)s->bc_late, (unsigned long long)redelivered,
          (unsigned long long)tx, members ? (double)tx / members : 0.0,
          (unsigned long long)dup, done ? (double)dup / done : 0.0, (unsigned long long)qdrop,
          (unsigned long long)lost);
  uint64_t nd = s->bc_lat_n; /* one depth per counted delivery */
  fprintf(f, ",\"depth\":{\"mean\":%.4f,\"p50\":%u,\"p99\":%u,\"max\":%u,\"log2_n\":%.4f}",
          nd ? (double)s->bc_depth_sum / nd : 0.0, depth_quantile(s, nd, 0.5),
          depth_quantile(s, nd, 0.99), depth_max, done ? log2((double)n_ref / done) : 0.0);
  fprintf(f, ",\"latency_ms\":{\"mean\":%.3f,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,"
             "\"max\":%.3f}}",
          nd ? (double)s->bc_lat_sum_us / nd / 1e3 : 0.0, lat_quantile_ms(s, 0.5),
          lat_quantile_ms(s, 0.9), lat_quantile_ms(s, 0.99), (double)lat_max_us / 1e3);
}
