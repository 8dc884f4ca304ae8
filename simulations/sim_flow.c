/* Traffic flows for the direct_time metric: "how long from the first frame
 * a member sends to another until a direct link carries it".
 *
 * Every 1 / flows_per_s seconds (from flow_start_s) a random joined node A
 * starts a flow to a random other joined node B; the model injects frames
 * on A's TAP side and reports when the first frame comes out of B's TAP
 * (first_delivery_s) and when A has an established direct link to B
 * (direct_s). A flow without a direct link after flow_timeout_s ends as
 * "no_direct" (its frames may still have gone through a relay or the
 * overlay: first_delivery_s says). flows.csv records each flow with both
 * ends' NAT classes, so one run with a NAT mix gives the times by class
 * pair. Flows are spaced evenly (not Poisson) so the count is exact.
 *
 * path_latency uses the same flows: the source keeps sending one frame a
 * second until flow_timeout_s, each stamped with its send time and the
 * path its node core had to the destination then (none yet, overlay,
 * relay, direct); the destination reports each arrival. One line per frame
 * in frames.csv; latency quantiles per path in summary.json. */
#include "simulations/sim_internal.h"

#include <math.h>
#include <ringlan/error.h>
#include <stdlib.h>
#include <string.h>

static const char *const flow_result[] = {"running", "direct", "no_direct"};
const char *const sim_path_names[SIM_PATHS] = {"pending", "overlay", "relay", "direct"};

int sim_measure_flow_event(struct sim *s) {
  int rc = sim_push(s, s->now + SIM_S_TO_NS(1.0 / s->sc.flows_per_s), SIM_EV_FLOW, 0, 0, 0);
  if (rc)
    return rc;
  sim_oracle_refresh(s);
  if (s->n_order < 2)
    return 0;
  if (s->n_fl == s->cap_fl) {
    uint32_t cap = s->cap_fl ? s->cap_fl * 2 : 256;
    struct sim_flow *v = realloc(s->fl, cap * sizeof(*v));
    if (!v)
      return RL_ENOMEM;
    s->fl = v;
    s->cap_fl = cap;
  }
  uint32_t a = (uint32_t)sim_rng_below(&s->meas_rng, s->n_order);
  uint32_t b = (uint32_t)sim_rng_below(&s->meas_rng, s->n_order - 1);
  if (b >= a)
    b++;
  uint32_t id = s->n_fl++;
  struct sim_flow *f = &s->fl[id];
  memset(f, 0, sizeof(*f));
  f->t_start = s->now;
  f->src = s->order[a];
  f->dst = s->order[b];
  rc = s->model->flow(s->nodes[f->src].m, id, f->dst, s->nodes[f->dst].id, s->now);
  sim_settle(s, f->src);
  return rc == RL_ENOMEM ? rc : 0;
}

static void flow_write(struct sim *s, uint32_t id) {
  const struct sim_flow *f = &s->fl[id];
  char deliv[32] = "", direct[32] = "";
  if (!s->out.flows)
    return;
  if (f->t_deliv)
    snprintf(deliv, sizeof(deliv), "%.6f", (double)(f->t_deliv - f->t_start) / 1e9);
  if (f->t_direct)
    snprintf(direct, sizeof(direct), "%.6f", (double)(f->t_direct - f->t_start) / 1e9);
  fprintf(s->out.flows, "%u,%.6f,%u,%u,%s,%s,%s,%s,%s\n", id, (double)f->t_start / 1e9, f->src,
          f->dst, sim_nat_class_names[s->net.hosts[f->src].cls],
          sim_nat_class_names[s->net.hosts[f->dst].cls], deliv, direct, flow_result[f->state]);
}

void sim_report_flow(struct sim *s, uint32_t id, int what) {
  if (id >= s->n_fl)
    return;
  struct sim_flow *f = &s->fl[id];
  if (id < s->fl_swept)
    return; /* already written out */
  if (what == SIM_FLOW_DELIVERED && !f->t_deliv) {
    f->t_deliv = s->now ? s->now : 1;
    s->fl_delivered++;
  } else if (what == SIM_FLOW_DIRECT && f->state == 0) {
    f->t_direct = s->now ? s->now : 1;
    f->state = 1;
    s->fl_direct++;
    s->fl_direct_sum_ns += s->now - f->t_start;
  }
}

void sim_flow_sweep(struct sim *s, bool final) {
  uint64_t tmo = SIM_S_TO_NS(s->sc.flow_timeout_s);
  /* Flows finish out of order; write each once it is final, in id order,
   * so the file is deterministic and grows as the run goes. */
  while (s->fl_swept < s->n_fl) {
    struct sim_flow *f = &s->fl[s->fl_swept];
    bool expired = s->now - f->t_start > tmo;
    /* A direct flow is final once its first frame arrived (it may have
     * been direct before the frame got there). */
    if (!expired && !final && !(f->state == 1 && f->t_deliv))
      break;
    /* The run ended before this flow's time was up: it stays "running"
     * (reach.sh does not count it as failed or as given up). */
    if (f->state == 0 && !expired && final) {
      flow_write(s, s->fl_swept);
      s->fl_swept++;
      continue;
    }
    if (f->state == 0) {
      f->state = 2;
      s->fl_timeout++;
    }
    flow_write(s, s->fl_swept);
    s->fl_swept++;
  }
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

void sim_flow_summary(struct sim *s, FILE *f) {
  uint64_t *v = s->fl_direct ? malloc(s->fl_direct * sizeof(uint64_t)) : NULL;
  uint64_t n = 0;
  for (uint32_t i = 0; v && i < s->n_fl; i++)
    if (s->fl[i].state == 1)
      v[n++] = s->fl[i].t_direct - s->fl[i].t_start;
  if (v)
    qsort(v, n, sizeof(*v), cmp_u64);
#define Q(q) (n ? (double)v[(uint64_t)ceil((q) * n) ? (uint64_t)ceil((q) * n) - 1 : 0] / 1e9 : 0.0)
  fprintf(f, ",\"direct_time_s\":{\"flows\":%u,\"direct\":%llu,\"no_direct\":%llu,"
             "\"first_frame_delivered\":%llu,\"mean\":%.6f,\"p50\":%.6f,\"p90\":%.6f,"
             "\"p99\":%.6f}",
          s->n_fl, (unsigned long long)s->fl_direct, (unsigned long long)s->fl_timeout,
          (unsigned long long)s->fl_delivered,
          s->fl_direct ? (double)s->fl_direct_sum_ns / s->fl_direct / 1e9 : 0.0, Q(0.5), Q(0.9),
          Q(0.99));
#undef Q
  free(v);
}

void sim_report_frame(struct sim *s, uint32_t id, int path, uint64_t t_sent) {
  if (id >= s->n_fl || path < 0 || path >= SIM_PATHS || t_sent > s->now)
    return;
  uint64_t us = (s->now - t_sent) / 1000;
  if (us > UINT32_MAX)
    us = UINT32_MAX;
  if (s->n_frame[path] == s->cap_frame[path]) {
    uint64_t cap = s->cap_frame[path] ? s->cap_frame[path] * 2 : 256;
    uint32_t *v = realloc(s->frame_us[path], cap * sizeof(*v));
    if (!v)
      return; /* counted nowhere: memory is gone anyway */
    s->frame_us[path] = v;
    s->cap_frame[path] = cap;
  }
  s->frame_us[path][s->n_frame[path]++] = (uint32_t)us;
  s->frame_sum_us[path] += us;
  if (s->out.frames)
    fprintf(s->out.frames, "%u,%.6f,%s,%.3f\n", id, (double)t_sent / 1e9, sim_path_names[path],
            (double)us / 1000.0);
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

void sim_frame_summary(struct sim *s, FILE *f) {
  fprintf(f, ",\"path_latency_ms\":{");
  for (int p = 0; p < SIM_PATHS; p++) {
    uint64_t n = s->n_frame[p];
    uint32_t *v = s->frame_us[p];
    if (n)
      qsort(v, n, sizeof(*v), cmp_u32);
#define Q(q) (n ? (double)v[(uint64_t)ceil((q) * n) ? (uint64_t)ceil((q) * n) - 1 : 0] / 1e3 : 0.0)
    fprintf(f, "%s\"%s\":{\"frames\":%llu,\"mean\":%.3f,\"p50\":%.3f,\"p90\":%.3f,"
               "\"p99\":%.3f}",
            p ? "," : "", sim_path_names[p], (unsigned long long)n,
            n ? (double)s->frame_sum_us[p] / n / 1e3 : 0.0, Q(0.5), Q(0.9), Q(0.99));
#undef Q
  }
  fprintf(f, "}");
}
