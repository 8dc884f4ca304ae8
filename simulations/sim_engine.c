#include "simulations/sim_internal.h"

#include <ringlan/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sim_push(struct sim *s, uint64_t t, uint32_t kind, uint32_t node, uint32_t arg,
             uint32_t arg2) {
  struct sim_ev ev = {.t = t, .kind = kind, .node = node, .arg = arg, .arg2 = arg2};
  return sim_heap_push(&s->heap, &ev);
}

/* Debugging aid: RL_SIM_LOG="3,17" (or "all") sends those members' core
 * log lines (level RL_SIM_LOG_LEVEL, default info) to stderr, stamped
 * with virtual time. Off by default: it changes nothing in a run. */
static void debug_log(void *ctx, int level, const char *line) {
  const struct sim_node *n = ctx;
  (void)level;
  fprintf(stderr, "%.3f n%u: %s\n", (double)n->sim->now / NS_PER_S, n->idx, line);
}

static void debug_log_setup(struct sim_node *n, const char *which) {
  const char *lv = getenv("RL_SIM_LOG_LEVEL");
  bool on = false;
  if (!which)
    return;
  if (strcmp(which, "all") == 0) {
    on = true;
  } else {
    for (const char *p = which; *p && !on; p++) {
      char *end;
      unsigned long v = strtoul(p, &end, 10);
      if (end != p && v == n->idx)
        on = true;
      p = *end ? end : end - 1;
    }
  }
  if (!on)
    return;
  n->env.log = debug_log;
  n->env.log_ctx = n;
  n->env.log_level = lv ? atoi(lv) : RL_LOG_INFO;
}

int sim_init(struct sim *s, const struct sim_scenario *sc, const struct sim_model *model,
             void *model_ctx, char *err, size_t errcap) {
  int rc;
  memset(s, 0, sizeof(*s));
  s->sc = *sc;
  s->seed = sc->seed;
  s->model = model;
  s->model_ctx = model_ctx;
  s->end = SIM_S_TO_NS(sc->duration_s);
  s->progress_every = 1u << 20;
  sim_heap_init(&s->heap);
  sim_pool_init(&s->pool);
  sim_rng_seed(&s->churn_rng, s->seed, SIM_STREAM_CHURN);
  sim_rng_seed(&s->meas_rng, s->seed, SIM_STREAM_MEASURE);
  if ((rc = sim_scenario_check(sc, err, errcap)))
    return rc;
  if (!model_ctx && model->ctx_new) {
    if (!(s->model_ctx = model->ctx_new())) {
      snprintf(err, errcap, "out of memory");
      return RL_ENOMEM;
    }
    s->own_ctx = true;
  }
  if ((rc = sim_net_init(&s->net, sc, s->seed, err, errcap))) {
    sim_free(s);
    return rc;
  }
  s->n_nodes = sc->nodes;
  s->nodes = calloc(s->n_nodes, sizeof(*s->nodes));
  if (!s->nodes) {
    sim_free(s);
    snprintf(err, errcap, "out of memory for %u nodes", sc->nodes);
    return RL_ENOMEM;
  }
  for (uint32_t i = 0; i < s->n_nodes; i++) {
    struct sim_node *n = &s->nodes[i];
    n->sim = s;
    n->idx = i;
    n->timer_at = RL_TIME_NEVER;
    n->seed = i < sc->seeds;
    sim_rng_seed(&n->rng, s->seed, SIM_STREAM_NODE + (uint64_t)i);
    n->env.rand = sim_rng_fill;
    n->env.rand_ctx = &n->rng;
    n->env.log = NULL;
    n->env.log_level = RL_LOG_ERROR;
    /* A fixed, documented epoch (2026-01-01T00:00:00Z) so certificate
     * validity checks see the same unix time in every run. */
    n->env.unix_offset_s = 1767225600;
    n->env.crypto_standin = sc->crypto_standin;
    debug_log_setup(n, getenv("RL_SIM_LOG"));
  }
  if ((rc = sim_measure_init(s)) || (rc = sim_churn_init(s, err, errcap))) {
    if (rc == RL_ENOMEM)
      snprintf(err, errcap, "out of memory");
    sim_free(s);
    return rc;
  }
  for (unsigned p = 0; p < sc->n_partitions; p++) {
    if ((rc = sim_push(s, SIM_S_TO_NS(sc->partitions[p].start_s), SIM_EV_PART, p, 1, 0)) ||
        (rc = sim_push(s, SIM_S_TO_NS(sc->partitions[p].end_s), SIM_EV_PART, p, 0, 0))) {
      sim_free(s);
      return rc;
    }
  }
  if ((rc = sim_push(s, s->end, SIM_EV_END, 0, 0, 0))) {
    sim_free(s);
    return rc;
  }
  return 0;
}

void sim_free(struct sim *s) {
  if (s->nodes) {
    for (uint32_t i = 0; i < s->n_nodes; i++)
      if (s->nodes[i].m)
        s->model->destroy(s->model_ctx, s->nodes[i].m);
  }
  free(s->nodes);
  s->nodes = NULL;
  if (s->own_ctx && s->model->ctx_free)
    s->model->ctx_free(s->model_ctx);
  s->own_ctx = false;
  sim_measure_free(s);
  free(s->trace);
  s->trace = NULL;
  sim_heap_free(&s->heap);
  sim_pool_free(&s->pool);
  sim_net_free(&s->net);
}

void sim_send(struct sim *s, uint32_t from, const struct rl_addr *to, const uint8_t *pkt,
              size_t len) {
  sim_send_port(s, from, SIM_HOST_PORT, 0, to, pkt, len);
}

void sim_send_port(struct sim *s, uint32_t from, uint16_t src_port, uint8_t ttl,
                   const struct rl_addr *to, const uint8_t *pkt, size_t len) {
  struct sim_node *n = &s->nodes[from];
  uint16_t dport;
  uint32_t dst;
  struct rl_addr seen;
  uint64_t delay;
  n->bytes_out += len;
  s->bytes_out += len;
  if (s->sc.idle_from_s >= 0 && s->now >= SIM_S_TO_NS(s->sc.idle_from_s)) {
    n->bytes_idle_out += len;
    s->bytes_idle_out += len;
  }
  if (sim_net_route_port(&s->net, from, src_port, ttl, to, s->now, &dst, &dport, &seen,
                         &delay))
    return;
  if (dport != SIM_HOST_PORT && !s->model->has_port) {
    s->net.st.delivered--;
    s->net.st.no_port++;
    return;
  }
  uint32_t h = sim_pool_alloc(&s->pool, len);
  if (h == UINT32_MAX)
    return; /* oversized or out of memory: the datagram is lost */
  struct sim_pkt *p = sim_pool_get(&s->pool, h);
  memcpy(p->data, pkt, len);
  p->src = seen;
  p->src_host = from;
  p->dst_port = dport;
  struct sim_ev ev = {.t = s->now + delay, .kind = SIM_EV_DELIVER, .node = dst, .arg = h};
  if (sim_heap_push(&s->heap, &ev))
    sim_pool_release(&s->pool, h);
}

/* After any call into a node: send what it produced, re-arm its timer. */
void sim_settle(struct sim *s, uint32_t idx) {
  struct sim_node *n = &s->nodes[idx];
  struct rl_addr to;
  size_t len;
  /* Bounded like the libuv driver's drain loop, so a model bug cannot
   * hang the engine. */
  for (unsigned k = 0; k < 100000 && n->m; k++) {
    uint16_t sport = SIM_HOST_PORT;
    uint8_t ttl = 0;
    len = s->model->poll_port ? s->model->poll_port(n->m, &to, &sport, &ttl, s->buf,
                                                    sizeof(s->buf))
                              : s->model->poll(n->m, &to, s->buf, sizeof(s->buf));
    if (!len)
      break;
    sim_send_port(s, idx, sport, ttl, &to, s->buf, len);
  }
  if (!n->m)
    return;
  uint64_t t = s->model->next_timer(n->m);
  if (t < s->now)
    t = s->now;
  /* Only push when the new deadline is earlier than the armed one; a later
   * deadline is caught when the early entry fires and finds nothing due. */
  if (t != RL_TIME_NEVER && t < n->timer_at) {
    n->timer_at = t;
    sim_push(s, t, SIM_EV_TIMER, idx, n->timer_gen, 0);
  }
}

int sim_node_up(struct sim *s, uint32_t idx) {
  struct sim_node *n = &s->nodes[idx];
  struct sim_node_init in;
  int err = 0;
  if (n->m)
    return 0;
  memset(&in, 0, sizeof(in));
  in.idx = idx;
  in.env = &n->env;
  in.is_seed = n->seed;
  sim_net_local_addr(&s->net, idx, &in.local);
  sim_net_public_addr(&s->net, idx, &in.advertised);
  /* Bootstrap: seed nodes below this one (seeds) or up to SIM_MAX_BOOT
   * seeds chosen by the churn stream (everyone else). */
  uint32_t seeds = s->sc.seeds;
  if (n->seed) {
    for (uint32_t k = 0; k < idx && in.n_boot < SIM_MAX_BOOT; k++)
      sim_net_public_addr(&s->net, idx - 1 - k, &in.boot[in.n_boot++]);
  } else {
    uint32_t first = seeds > SIM_MAX_BOOT ? (uint32_t)sim_rng_below(&s->churn_rng, seeds) : 0;
    for (uint32_t k = 0; k < seeds && in.n_boot < SIM_MAX_BOOT; k++)
      sim_net_public_addr(&s->net, (first + k) % seeds, &in.boot[in.n_boot++]);
  }
  n->m = s->model->create(s->model_ctx, s, &in, s->now, &err);
  if (!n->m)
    return err ? err : RL_ENOMEM;
  n->up_at = s->now;
  n->joined = false;
  n->timer_at = RL_TIME_NEVER;
  n->timer_gen++;
  if (s->model->id)
    s->model->id(n->m, n->id);
  s->n_up++;
  sim_settle(s, idx);
  return sim_churn_on_up(s, idx);
}

void sim_node_down(struct sim *s, uint32_t idx, bool graceful) {
  struct sim_node *n = &s->nodes[idx];
  if (!n->m)
    return;
  if (graceful && s->model->leave) {
    s->model->leave(n->m, s->now);
    sim_settle(s, idx);
  }
  sim_measure_node_gone(s, idx);
  s->model->destroy(s->model_ctx, n->m);
  n->m = NULL;
  n->timer_at = RL_TIME_NEVER;
  n->timer_gen++;
  n->churn_gen++;
  s->n_up--;
  sim_churn_on_down(s, idx);
}

void sim_report_joined(struct sim *s, uint32_t idx, bool joined) {
  struct sim_node *n = &s->nodes[idx];
  if (n->joined == joined || !n->m)
    return;
  n->joined = joined;
  s->order_dirty = true;
  if (!joined) {
    s->n_joined--;
    return;
  }
  s->n_joined++;
  uint64_t dt = s->now - n->up_at;
  s->join_n++;
  s->join_sum_ns += dt;
  if (s->join_n > s->cap_join_s) {
    uint32_t cap = s->cap_join_s ? s->cap_join_s * 2 : 1024;
    double *v = realloc(s->join_s, cap * sizeof(*v));
    if (!v) {
      s->join_n--; /* keep the quantile array consistent */
      return;
    }
    s->join_s = v;
    s->cap_join_s = cap;
  }
  s->join_s[s->join_n - 1] = (double)dt / 1e9;
  if (s->out.joins)
    fprintf(s->out.joins, "%u,%.6f,%.6f\n", idx, (double)n->up_at / 1e9, (double)dt / 1e9);
}

static int handle(struct sim *s, const struct sim_ev *ev) {
  struct sim_node *n = ev->node < s->n_nodes ? &s->nodes[ev->node] : NULL;
  switch (ev->kind) {
  case SIM_EV_TIMER:
    if (!n->m || ev->arg != n->timer_gen || ev->t != n->timer_at) {
      s->stale_timers++;
      return 0;
    }
    n->timer_at = RL_TIME_NEVER;
    if (s->model->next_timer(n->m) <= s->now)
      s->model->on_timer(n->m, s->now);
    sim_settle(s, ev->node);
    return 0;
  case SIM_EV_DELIVER: {
    struct sim_pkt *p = sim_pool_get(&s->pool, ev->arg);
    if (n->m && p->dst_port != SIM_HOST_PORT &&
        !(s->model->has_port && s->model->has_port(n->m, p->dst_port))) {
      s->net.st.no_port++; /* that socket is closed (or never was) */
      sim_pool_release(&s->pool, ev->arg);
    } else if (n->m) {
      n->bytes_in += p->len;
      if (s->model->recv_port)
        s->model->recv_port(n->m, p->dst_port, &p->src, p->data, p->len, s->now);
      else
        s->model->recv(n->m, &p->src, p->data, p->len, s->now);
      sim_pool_release(&s->pool, ev->arg);
      sim_settle(s, ev->node);
    } else {
      s->dropped_down++;
      sim_pool_release(&s->pool, ev->arg);
    }
    return 0;
  }
  case SIM_EV_UP:
    return sim_node_up(s, ev->node);
  case SIM_EV_DOWN:
    /* arg2: the churn generation the session end belongs to (a node that
     * went down and came back meanwhile has a new session);
     * SIM_GEN_ANY for trace events and mass failures. */
    if (n->m && (ev->arg2 == SIM_GEN_ANY || ev->arg2 == n->churn_gen))
      sim_node_down(s, ev->node, ev->arg != 0);
    return 0;
  case SIM_EV_LOOKUP:
    return sim_measure_lookup_event(s);
  case SIM_EV_MEASURE:
    sim_measure_snapshot(s);
    return sim_push(s, s->now + SIM_S_TO_NS(s->sc.interval_s), SIM_EV_MEASURE, 0, 0, 0);
  case SIM_EV_PART:
    if (ev->arg)
      s->net.active_parts |= (uint8_t)(1u << ev->node);
    else
      s->net.active_parts &= (uint8_t)~(1u << ev->node);
    return 0;
  case SIM_EV_FAIL:
    sim_churn_mass_failure(s);
    return 0;
  case SIM_EV_FLOW:
    return sim_measure_flow_event(s);
  case SIM_EV_BCAST:
    return sim_bcast_event(s);
  case SIM_EV_END:
    return 0;
  }
  return 0;
}

int sim_run(struct sim *s, uint64_t until) {
  struct sim_ev ev;
  if (until > s->end)
    until = s->end;
  while (sim_heap_peek_time(&s->heap) <= until) {
    sim_heap_pop(&s->heap, &ev);
    s->now = ev.t;
    s->events++;
    int rc = handle(s, &ev);
    if (rc)
      return rc;
    if (s->progress && s->events % s->progress_every == 0) {
      struct sim_progress p = {s->now, s->events, s->n_up, s->n_joined};
      s->progress(s->progress_ctx, &p);
    }
    if (ev.kind == SIM_EV_END)
      break;
  }
  if (s->now < until)
    s->now = until;
  return 0;
}
