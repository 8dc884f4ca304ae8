/* Churn: when nodes come up and go down.
 *
 * Initial joins follow [run] join (all at 0, spread uniformly over a
 * window, or sequential at even spacing); seed nodes come up at 0 and are
 * never churned. Session churn: from churn start, every up non-seed node
 * stays up for a session_s sample, then goes down (gracefully with
 * probability `graceful`) for a downtime_s sample, and so on. Trace churn
 * replays "time_s node up|down" lines. A mass failure crashes a fraction of
 * the up non-seed nodes at one instant. All draws use the churn stream. */
#include "simulations/sim_internal.h"

#include <errno.h>
#include <ringlan/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sim_trace_parse(const char *text, size_t len, uint32_t n_nodes, struct sim_trace_ev **out,
                    uint32_t *n, char *err, size_t errcap) {
  struct sim_trace_ev *v = NULL;
  uint32_t cnt = 0, cap = 0;
  unsigned lineno = 0;
  size_t pos = 0;
  double last_t = 0;
  *out = NULL;
  *n = 0;
  while (pos < len) {
    char line[256];
    size_t k = 0;
    lineno++;
    while (pos < len && text[pos] != '\n') {
      if (k + 1 >= sizeof(line) || text[pos] == '\0') {
        snprintf(err, errcap, "%u: line too long or contains a NUL byte", lineno);
        goto fail;
      }
      line[k++] = text[pos++];
    }
    pos++;
    line[k] = '\0';
    char *hash = strchr(line, '#');
    if (hash)
      *hash = '\0';
    double t;
    unsigned long node;
    char what[8], extra;
    int got = sscanf(line, "%lf %lu %7s %c", &t, &node, what, &extra);
    if (got <= 0) {
      bool blank = true;
      for (char *c = line; *c; c++)
        blank &= (*c == ' ' || *c == '\t' || *c == '\r');
      if (blank)
        continue;
    }
    if (got != 3 || !(t >= 0 && t < 1e12) || (strcmp(what, "up") && strcmp(what, "down"))) {
      snprintf(err, errcap, "%u: expected 'TIME_S NODE up|down'", lineno);
      goto fail;
    }
    if (node >= n_nodes) {
      snprintf(err, errcap, "%u: node %lu out of range (nodes = %u)", lineno, node, n_nodes);
      goto fail;
    }
    if (t < last_t) {
      snprintf(err, errcap, "%u: times must not decrease", lineno);
      goto fail;
    }
    last_t = t;
    if (cnt == cap) {
      uint32_t nc = cap ? cap * 2 : 64;
      struct sim_trace_ev *nv = nc < (1u << 28) ? realloc(v, nc * sizeof(*nv)) : NULL;
      if (!nv) {
        free(v);
        return RL_ENOMEM;
      }
      v = nv;
      cap = nc;
    }
    v[cnt++] = (struct sim_trace_ev){t, (uint32_t)node, what[0] == 'u'};
  }
  *out = v;
  *n = cnt;
  return 0;
fail:
  free(v);
  return RL_EPARSE;
}

static int load_trace(struct sim *s, char *err, size_t errcap) {
  char *text;
  size_t len;
  int rc = sim_read_file(s->sc.trace, (size_t)1 << 30, &text, &len, err, errcap);
  if (rc)
    return rc;
  char reason[200];
  rc = sim_trace_parse(text, len, s->n_nodes, &s->trace, &s->n_trace, reason,
                           sizeof(reason));
  free(text);
  if (rc)
    snprintf(err, errcap, "%s:%s", s->sc.trace, reason);
  return rc;
}

int sim_churn_init(struct sim *s, char *err, size_t errcap) {
  const struct sim_scenario *sc = &s->sc;
  int rc = 0;
  /* Initial joins. With a trace, nodes the trace brings up later start
   * down: the trace is the whole story for non-seed nodes. */
  if (sc->churn == SIM_CHURN_TRACE) {
    if ((rc = load_trace(s, err, errcap)))
      return rc;
    for (uint32_t i = 0; i < s->n_trace && !rc; i++) {
      const struct sim_trace_ev *e = &s->trace[i];
      if (s->nodes[e->node].seed)
        continue;
      rc = e->up ? sim_push(s, SIM_S_TO_NS(e->t_s), SIM_EV_UP, e->node, 0, 0)
                 : sim_push(s, SIM_S_TO_NS(e->t_s), SIM_EV_DOWN, e->node,
                            sim_rng_double(&s->churn_rng) < sc->graceful, SIM_GEN_ANY);
    }
    for (uint32_t i = 0; i < sc->seeds && !rc; i++)
      rc = sim_push(s, 0, SIM_EV_UP, i, 0, 0);
  } else {
    uint32_t rest = s->n_nodes - sc->seeds;
    for (uint32_t i = 0; i < s->n_nodes && !rc; i++) {
      uint64_t t = 0;
      if (i >= sc->seeds) {
        uint32_t k = i - sc->seeds;
        if (sc->join == SIM_JOIN_SPREAD)
          t = SIM_S_TO_NS(sim_rng_double(&s->churn_rng) * sc->join_window_s);
        else if (sc->join == SIM_JOIN_SEQUENTIAL)
          t = SIM_S_TO_NS(sc->join_window_s * (k + 1) / (rest ? rest : 1));
      }
      rc = sim_push(s, t, SIM_EV_UP, i, 0, 0);
    }
  }
  if (!rc && sc->fail_at_s >= 0)
    rc = sim_push(s, SIM_S_TO_NS(sc->fail_at_s), SIM_EV_FAIL, 0, 0, 0);
  return rc;
}

int sim_churn_on_up(struct sim *s, uint32_t idx) {
  const struct sim_scenario *sc = &s->sc;
  if (sc->churn != SIM_CHURN_SESSION || s->nodes[idx].seed)
    return 0;
  uint64_t start = SIM_S_TO_NS(sc->churn_start_s);
  uint64_t from = s->now > start ? s->now : start;
  uint64_t t = from + SIM_S_TO_NS(sim_dist_sample(&sc->session_s, &s->churn_rng));
  bool graceful = sim_rng_double(&s->churn_rng) < sc->graceful;
  if (t > s->end)
    return 0;
  return sim_push(s, t, SIM_EV_DOWN, idx, graceful, s->nodes[idx].churn_gen);
}

int sim_churn_on_down(struct sim *s, uint32_t idx) {
  const struct sim_scenario *sc = &s->sc;
  if (sc->churn != SIM_CHURN_SESSION || s->nodes[idx].seed)
    return 0;
  uint64_t t = s->now + SIM_S_TO_NS(sim_dist_sample(&sc->downtime_s, &s->churn_rng));
  if (t > s->end)
    return 0;
  return sim_push(s, t, SIM_EV_UP, idx, 0, 0);
}

void sim_churn_mass_failure(struct sim *s) {
  /* Pick exactly round(fraction * candidates) distinct up non-seed nodes
   * (partial Fisher-Yates over the candidate list), crash them at once. */
  uint32_t *cand = malloc((size_t)s->n_nodes * sizeof(*cand));
  uint32_t n = 0;
  if (!cand)
    return;
  for (uint32_t i = 0; i < s->n_nodes; i++)
    if (s->nodes[i].m && !s->nodes[i].seed)
      cand[n++] = i;
  uint32_t kill = (uint32_t)(s->sc.fail_fraction * n + 0.5);
  for (uint32_t k = 0; k < kill; k++) {
    uint32_t j = k + (uint32_t)sim_rng_below(&s->churn_rng, n - k);
    uint32_t t = cand[k];
    cand[k] = cand[j];
    cand[j] = t;
  }
  for (uint32_t k = 0; k < kill; k++)
    sim_node_down(s, cand[k], false);
  free(cand);
}
