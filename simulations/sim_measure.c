/* Measurements: random lookups checked against a global oracle, ring
 * consistency snapshots, join times, traffic; CSV streams and summary.json.
 *
 * The oracle is the list of joined nodes sorted by ring ID, rebuilt lazily
 * (only when membership changed and a check needs it). The owner of a key
 * is its successor among joined nodes, as in Chord. A lookup is "ok" when
 * it is delivered at that node, "wrong" when delivered elsewhere, "timeout"
 * when not delivered within lookup_timeout_s, "noroute" when the source
 * refused to start it, "unfinished" when the run ended first. */
#include "simulations/sim_internal.h"

#include <stdio.h>

#include <math.h>
#include <ringlan/error.h>
#include <stdlib.h>
#include <string.h>

static const char *const lk_state_names[] = {"pending", "ok",      "wrong",
                                             "timeout", "noroute", "unfinished"};
enum { LK_PENDING, LK_OK, LK_WRONG, LK_TIMEOUT, LK_NOROUTE, LK_UNFINISHED };

static uint64_t next_lookup_gap(struct sim *s) {
  /* Poisson arrivals: exponential gaps with mean 1 / rate. */
  double u = 1.0 - sim_rng_double(&s->meas_rng);
  return SIM_S_TO_NS(-log(u) / s->sc.lookups_per_s) + 1;
}

int sim_measure_init(struct sim *s) {
  s->order = malloc((size_t)s->n_nodes * sizeof(*s->order));
  if (!s->order)
    return RL_ENOMEM;
  s->order_dirty = true;
  int rc = sim_push(s, SIM_S_TO_NS(s->sc.interval_s), SIM_EV_MEASURE, 0, 0, 0);
  if (!rc && s->sc.flows_per_s > 0 && s->model->flow &&
      (s->sc.metrics & (SIM_M_DIRECT_TIME | SIM_M_PATH_LATENCY)))
    rc = sim_push(s, SIM_S_TO_NS(s->sc.flow_start_s), SIM_EV_FLOW, 0, 0, 0);
  if (!rc && s->sc.lookups_per_s > 0 && s->model->lookup)
    rc = sim_push(s, SIM_S_TO_NS(s->sc.lookup_start_s) + next_lookup_gap(s), SIM_EV_LOOKUP,
                  0, 0, 0);
  if (!rc)
    rc = sim_bcast_init(s);
  return rc;
}

void sim_measure_free(struct sim *s) {
  free(s->order);
  free(s->lk);
  free(s->join_s);
  free(s->fl);
  for (int i = 0; i < SIM_PATHS; i++)
    free(s->frame_us[i]);
  s->order = NULL;
  s->lk = NULL;
  s->join_s = NULL;
  s->fl = NULL;
  sim_bcast_free(s);
}

static int cmp_id(const void *a, const void *b, void *ctx) {
  const struct sim *s = ctx;
  int c = memcmp(s->nodes[*(const uint32_t *)a].id, s->nodes[*(const uint32_t *)b].id,
                 SIM_ID_LEN);
  if (c)
    return c;
  return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

void sim_oracle_refresh(struct sim *s) {
  if (!s->order_dirty)
    return;
  s->n_order = 0;
  for (uint32_t i = 0; i < s->n_nodes; i++)
    if (s->nodes[i].m && s->nodes[i].joined)
      s->order[s->n_order++] = i;
  qsort_r(s->order, s->n_order, sizeof(uint32_t), cmp_id, s);
  s->order_dirty = false;
}

/* Index in s->order of the first joined node with id >= key (wrapping). */
static uint32_t oracle_succ_pos(const struct sim *s, const uint8_t *key) {
  uint32_t lo = 0, hi = s->n_order;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (memcmp(s->nodes[s->order[mid]].id, key, SIM_ID_LEN) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo == s->n_order ? 0 : lo;
}

static void lk_write(struct sim *s, uint32_t cookie, uint32_t at, uint32_t owner) {
  const struct sim_lookup *l = &s->lk[cookie];
  if (!s->out.lookups)
    return;
  char at_s[16] = "", own_s[16] = "", hops_s[8] = "", lat_s[32] = "";
  if (at != UINT32_MAX)
    snprintf(at_s, sizeof(at_s), "%u", at);
  if (owner != UINT32_MAX)
    snprintf(own_s, sizeof(own_s), "%u", owner);
  if (l->state == LK_OK || l->state == LK_WRONG) {
    snprintf(hops_s, sizeof(hops_s), "%u", l->hops);
    snprintf(lat_s, sizeof(lat_s), "%.6f", (double)(s->now - l->t_issue) / 1e9);
  }
  fprintf(s->out.lookups, "%u,%.6f,%u,%s,%s,%s,%s,%s\n", cookie, (double)l->t_issue / 1e9,
          l->src, at_s, own_s, hops_s, lat_s, lk_state_names[l->state]);
}

int sim_measure_lookup_event(struct sim *s) {
  int rc = sim_push(s, s->now + next_lookup_gap(s), SIM_EV_LOOKUP, 0, 0, 0);
  if (rc)
    return rc;
  sim_oracle_refresh(s);
  if (!s->n_order)
    return 0;
  if (s->n_lk == s->cap_lk) {
    uint32_t cap = s->cap_lk ? s->cap_lk * 2 : 1024;
    struct sim_lookup *v = realloc(s->lk, cap * sizeof(*v));
    if (!v)
      return RL_ENOMEM;
    s->lk = v;
    s->cap_lk = cap;
  }
  uint32_t cookie = s->n_lk++;
  struct sim_lookup *l = &s->lk[cookie];
  memset(l, 0, sizeof(*l));
  l->t_issue = s->now;
  l->src = s->order[sim_rng_below(&s->meas_rng, s->n_order)];
  sim_rng_fill(&s->meas_rng, l->key, SIM_ID_LEN);
  struct sim_node *n = &s->nodes[l->src];
  rc = s->model->lookup(n->m, l->key, cookie, s->now);
  if (rc < 0) {
    l->state = LK_NOROUTE;
    s->lk_noroute++;
    lk_write(s, cookie, UINT32_MAX, UINT32_MAX);
  }
  /* The lookup may already be answered locally (the source owns the key);
   * sim_report_lookup ran inside the call. Send what the source queued. */
  sim_settle(s, l->src);
  return 0;
}

void sim_report_lookup(struct sim *s, uint32_t at, uint32_t cookie, unsigned hops) {
  if (cookie >= s->n_lk || s->lk[cookie].state != LK_PENDING)
    return; /* unknown or duplicate delivery */
  struct sim_lookup *l = &s->lk[cookie];
  if (s->now - l->t_issue > SIM_S_TO_NS(s->sc.lookup_timeout_s))
    return; /* too late: the sweep counts it as a timeout */
  sim_oracle_refresh(s);
  uint32_t owner = s->n_order ? s->order[oracle_succ_pos(s, l->key)] : UINT32_MAX;
  l->hops = (uint8_t)(hops > 255 ? 255 : hops);
  if (at == owner) {
    l->state = LK_OK;
    s->lk_ok++;
    s->hops_sum += l->hops;
    s->hops_n++;
    s->hops_hist[l->hops]++;
  } else {
    l->state = LK_WRONG;
    s->lk_wrong++;
  }
  lk_write(s, cookie, at, owner);
}

void sim_measure_sweep(struct sim *s, bool final) {
  uint64_t tmo = SIM_S_TO_NS(s->sc.lookup_timeout_s);
  while (s->lk_swept < s->n_lk) {
    struct sim_lookup *l = &s->lk[s->lk_swept];
    bool expired = s->now - l->t_issue > tmo;
    if (!expired && !final)
      break; /* issue times are increasing: the rest are younger */
    if (l->state == LK_PENDING) {
      l->state = expired ? LK_TIMEOUT : LK_UNFINISHED;
      if (expired)
        s->lk_timeout++;
      else
        s->lk_unfinished++;
      lk_write(s, s->lk_swept, UINT32_MAX, UINT32_MAX);
    }
    s->lk_swept++;
  }
}

static void uptime_totals(const struct sim *s, uint64_t *up_ns, uint64_t *idle_ns) {
  uint64_t idle_from = s->sc.idle_from_s >= 0 ? SIM_S_TO_NS(s->sc.idle_from_s) : UINT64_MAX;
  *up_ns = s->up_ns_done;
  *idle_ns = s->idle_ns_done;
  for (uint32_t i = 0; i < s->n_nodes; i++) {
    const struct sim_node *n = &s->nodes[i];
    if (!n->m)
      continue;
    *up_ns += s->now - n->up_at;
    uint64_t from = n->up_at > idle_from ? n->up_at : idle_from;
    if (s->now > from)
      *idle_ns += s->now - from;
  }
}

void sim_measure_node_gone(struct sim *s, uint32_t idx) {
  struct sim_node *n = &s->nodes[idx];
  uint64_t idle_from = s->sc.idle_from_s >= 0 ? SIM_S_TO_NS(s->sc.idle_from_s) : UINT64_MAX;
  uint64_t from = n->up_at > idle_from ? n->up_at : idle_from;
  s->up_ns_done += s->now - n->up_at;
  if (s->now > from)
    s->idle_ns_done += s->now - from;
  if (n->joined) {
    n->joined = false;
    s->n_joined--;
  }
  s->order_dirty = true;
  sim_bcast_node_gone(s, idx);
}

/* Fraction of joined nodes whose first successor is the true one; -1 when
 * the model cannot tell. */
static double ring_consistency(struct sim *s) {
  if (!s->model->succ)
    return -1;
  sim_oracle_refresh(s);
  if (!s->n_order)
    return 0;
  uint32_t ok = 0;
  for (uint32_t i = 0; i < s->n_order; i++) {
    const struct sim_node *n = &s->nodes[s->order[i]];
    const struct sim_node *t = &s->nodes[s->order[(i + 1) % s->n_order]];
    uint8_t succ[SIM_ID_LEN];
    bool has = s->model->succ(n->m, succ);
    if (s->n_order == 1 ? (!has || !memcmp(succ, n->id, SIM_ID_LEN))
                        : (has && !memcmp(succ, t->id, SIM_ID_LEN)))
      ok++;
    else if (getenv("RL_SIM_RING_DEBUG"))
      fprintf(stderr, "%.3f ring: n%u (%02x%02x%02x%02x) has successor %02x%02x%02x%02x, "
              "not n%u (%02x%02x%02x%02x)\n", (double)s->now / 1e9, s->order[i], n->id[0],
              n->id[1], n->id[2], n->id[3], has ? succ[0] : 0, has ? succ[1] : 0,
              has ? succ[2] : 0, has ? succ[3] : 0, s->order[(i + 1) % s->n_order], t->id[0],
              t->id[1], t->id[2], t->id[3]);
  }
  return (double)ok / s->n_order;
}

void sim_measure_snapshot(struct sim *s) {
  sim_measure_sweep(s, false);
  sim_flow_sweep(s, false);
  sim_bcast_sweep(s, false);
  double ring = (s->sc.metrics & SIM_M_RING) ? ring_consistency(s) : -1;
  s->ring_ok_last = ring;
  double dt = (double)(s->now - s->last_snap_t) / 1e9;
  double rate = dt > 0 && s->n_up ? (double)(s->bytes_out - s->last_snap_bytes) / dt / s->n_up
                                  : 0;
  if (s->out.snapshots) {
    char ring_s[32] = "";
    if (ring >= 0)
      snprintf(ring_s, sizeof(ring_s), "%.6f", ring);
    fprintf(s->out.snapshots, "%.3f,%u,%u,%s,%llu,%.3f,%llu,%llu,%llu,%llu,%llu\n",
            (double)s->now / 1e9, s->n_up, s->n_joined, ring_s,
            (unsigned long long)s->bytes_out, rate, (unsigned long long)s->events,
            (unsigned long long)s->pool.live, (unsigned long long)s->lk_ok,
            (unsigned long long)(s->lk_wrong + s->lk_timeout + s->lk_noroute),
            (unsigned long long)s->net.st.sent);
  }
  s->last_snap_t = s->now;
  s->last_snap_bytes = s->bytes_out;
  if ((s->sc.metrics & SIM_M_LINK_TYPES) && s->model->stats) {
    struct sim_node_stats tot = {0}, one;
    for (uint32_t i = 0; i < s->n_nodes; i++) {
      if (!s->nodes[i].m || !s->model->stats(s->nodes[i].m, &one))
        continue;
      tot.links_direct += one.links_direct;
      tot.links_relay += one.links_relay;
      tot.links_overlay += one.links_overlay;
    }
    s->links_last = tot;
    s->have_links = true;
    if (s->out.links)
      fprintf(s->out.links, "%.3f,%u,%u,%u,%u\n", (double)s->now / 1e9, s->n_up,
              tot.links_direct, tot.links_relay, tot.links_overlay);
  }
}

void sim_write_headers(struct sim *s) {
  if (s->out.lookups)
    fprintf(s->out.lookups, "id,t_issue_s,src,delivered_at,owner,hops,latency_s,result\n");
  if (s->out.joins)
    fprintf(s->out.joins, "node,t_up_s,join_time_s\n");
  if (s->out.links)
    fprintf(s->out.links, "t_s,nodes_up,direct,relay,overlay\n");
  if (s->out.flows)
    fprintf(s->out.flows, "id,t_start_s,src,dst,src_nat,dst_nat,first_delivery_s,direct_s,"
                          "result\n");
  if (s->out.frames)
    fprintf(s->out.frames, "flow,t_sent_s,path,latency_ms\n");
  if (s->out.bcasts)
    fprintf(s->out.bcasts, "id,t_send_s,origin,members,delivered,departed,extra,redelivered,"
                           "tx,dup,queue_drop,lost,depth_max,latency_max_ms,result\n");
  if (s->out.snapshots)
    fprintf(s->out.snapshots, "t_s,nodes_up,nodes_joined,ring_consistent,bytes_out_total,"
                              "bytes_per_node_per_s,events,in_flight,lookups_ok,"
                              "lookups_failed,datagrams_sent\n");
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double quantile_sorted(const double *v, uint64_t n, double q) {
  if (!n)
    return 0;
  uint64_t i = (uint64_t)ceil(q * n);
  return v[i ? i - 1 : 0];
}

static unsigned hops_quantile(const struct sim *s, double q) {
  uint64_t need = (uint64_t)ceil(q * s->hops_n), acc = 0;
  for (unsigned h = 0; h < 256; h++) {
    acc += s->hops_hist[h];
    if (acc >= need && acc)
      return h;
  }
  return 0;
}

int sim_summary_json(struct sim *s, FILE *f) {
  sim_measure_sweep(s, true);
  sim_flow_sweep(s, true);
  sim_bcast_sweep(s, true);
  uint64_t up_ns, idle_ns;
  uptime_totals(s, &up_ns, &idle_ns);
  const struct sim_scenario *sc = &s->sc;
  fprintf(f, "{\"scenario\":\"%s\",\"model\":\"%s\",\"crypto\":\"%s\",\"nodes\":%u,"
             "\"seed\":%llu,"
             "\"duration_s\":%.3f,\"events\":%llu,\"nodes_up_end\":%u,"
             "\"nodes_joined_end\":%u",
          sc->name, s->model->name, sc->crypto_standin ? "standin" : "real", s->n_nodes,
          (unsigned long long)s->seed,
          (double)s->now / 1e9, (unsigned long long)s->events, s->n_up, s->n_joined);
  uint64_t issued = s->n_lk;
  if (sc->metrics & (SIM_M_LOOKUPS | SIM_M_HOPS) && s->model->lookup) {
    uint64_t done = s->lk_ok + s->lk_wrong + s->lk_timeout + s->lk_noroute;
    fprintf(f, ",\"lookups\":{\"issued\":%llu,\"ok\":%llu,\"wrong_owner\":%llu,"
               "\"timeout\":%llu,\"no_route\":%llu,\"unfinished\":%llu,"
               "\"success_rate\":%.6f}",
            (unsigned long long)issued, (unsigned long long)s->lk_ok,
            (unsigned long long)s->lk_wrong, (unsigned long long)s->lk_timeout,
            (unsigned long long)s->lk_noroute, (unsigned long long)s->lk_unfinished,
            done ? (double)s->lk_ok / done : 0.0);
    double n_ref = s->n_joined ? (double)s->n_joined : 1;
    fprintf(f, ",\"hops\":{\"n\":%llu,\"mean\":%.4f,\"p50\":%u,\"p90\":%u,\"p99\":%u,"
               "\"half_log2_n\":%.4f}",
            (unsigned long long)s->hops_n, s->hops_n ? (double)s->hops_sum / s->hops_n : 0.0,
            hops_quantile(s, 0.5), hops_quantile(s, 0.9), hops_quantile(s, 0.99),
            0.5 * log2(n_ref));
  }
  if (sc->metrics & SIM_M_JOIN_TIME) {
    double *v = s->join_n ? malloc(s->join_n * sizeof(double)) : NULL;
    if (v) {
      memcpy(v, s->join_s, s->join_n * sizeof(double));
      qsort(v, s->join_n, sizeof(double), cmp_double);
    }
    fprintf(f, ",\"join_time_s\":{\"n\":%llu,\"mean\":%.6f,\"p50\":%.6f,\"p90\":%.6f,"
               "\"p99\":%.6f}",
            (unsigned long long)s->join_n,
            s->join_n ? (double)s->join_sum_ns / s->join_n / 1e9 : 0.0,
            v ? quantile_sorted(v, s->join_n, 0.5) : 0.0,
            v ? quantile_sorted(v, s->join_n, 0.9) : 0.0,
            v ? quantile_sorted(v, s->join_n, 0.99) : 0.0);
    free(v);
  }
  if (sc->metrics & SIM_M_RING && s->model->succ)
    fprintf(f, ",\"ring_consistent\":%.6f", ring_consistency(s));
  if (sc->metrics & SIM_M_BYTES) {
    fprintf(f, ",\"bytes_out_total\":%llu,\"bytes_per_node_per_s\":%.3f",
            (unsigned long long)s->bytes_out,
            up_ns ? (double)s->bytes_out / ((double)up_ns / 1e9) : 0.0);
    if (sc->idle_from_s >= 0)
      fprintf(f, ",\"idle_bytes_per_node_per_s\":%.3f",
              idle_ns ? (double)s->bytes_idle_out / ((double)idle_ns / 1e9) : 0.0);
  }
  if (sc->metrics & SIM_M_LINK_TYPES && s->have_links) {
    const struct sim_node_stats *l = &s->links_last;
    double tot = (double)l->links_direct + l->links_relay + l->links_overlay;
    fprintf(f, ",\"link_types\":{\"direct\":%u,\"relay\":%u,\"overlay\":%u,"
               "\"fraction_direct\":%.6f}",
            l->links_direct, l->links_relay, l->links_overlay,
            tot > 0 ? l->links_direct / tot : 0.0);
  }
  if (sc->metrics & SIM_M_DIRECT_TIME && s->model->flow)
    sim_flow_summary(s, f);
  if (sc->metrics & SIM_M_PATH_LATENCY && s->model->caps & SIM_M_PATH_LATENCY)
    sim_frame_summary(s, f);
  if (sc->metrics & SIM_M_BCAST && s->model->bcast)
    sim_bcast_summary(s, f);
  const struct sim_net_stats *st = &s->net.st;
  fprintf(f, ",\"net\":{\"sent\":%llu,\"delivered\":%llu,\"lost\":%llu,\"partitioned\":%llu,"
             "\"unroutable\":%llu,\"nat_out_drop\":%llu,\"nat_in_drop\":%llu,"
             "\"no_port\":%llu,\"to_down_node\":%llu}",
          (unsigned long long)st->sent, (unsigned long long)st->delivered,
          (unsigned long long)st->lost, (unsigned long long)st->partitioned,
          (unsigned long long)st->unroutable, (unsigned long long)st->nat_out_drop,
          (unsigned long long)st->nat_in_drop, (unsigned long long)st->no_port,
          (unsigned long long)s->dropped_down);
  /* Requested metrics this model cannot produce: named, never invented. */
  fprintf(f, ",\"not_produced\":[");
  bool first = true;
  for (uint32_t bit = 1; bit; bit <<= 1) {
    /* memory is measured by the driver program (perf.json): RSS depends
     * on the allocator and the machine, so it stays out of this file. */
    if (!(sc->metrics & bit) || (s->model->caps & bit) || bit == SIM_M_MEMORY)
      continue;
    fprintf(f, "%s{\"metric\":\"%s\",\"reason\":\"model '%s' cannot produce it%s%s\"}",
            first ? "" : ",", sim_metric_name(bit), s->model->name,
            s->model->missing ? ": " : "", s->model->missing ? s->model->missing : "");
    first = false;
  }
  fprintf(f, "]}\n");
  return ferror(f) ? RL_EIO : 0;
}
