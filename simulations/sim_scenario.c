#include "simulations/sim_scenario.h"

#include <errno.h>
#include <math.h>
#include <ringlan/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const sim_nat_class_names[SIM_NAT_N_CLASSES] = {
    "public", "full_cone", "restricted", "port_restricted", "symmetric", "blocked"};

static const struct {
  const char *name;
  uint32_t bit;
} metric_names[] = {
    {"hops", SIM_M_HOPS},           {"lookups", SIM_M_LOOKUPS},
    {"join_time", SIM_M_JOIN_TIME}, {"ring", SIM_M_RING},
    {"bytes", SIM_M_BYTES},         {"memory", SIM_M_MEMORY},
    {"link_types", SIM_M_LINK_TYPES}, {"direct_time", SIM_M_DIRECT_TIME},
    {"path_latency", SIM_M_PATH_LATENCY}, {"bcast", SIM_M_BCAST},
};
#define N_METRICS (sizeof(metric_names) / sizeof(metric_names[0]))

const char *sim_metric_name(uint32_t bit) {
  for (size_t i = 0; i < N_METRICS; i++)
    if (metric_names[i].bit == bit)
      return metric_names[i].name;
  return "?";
}

void sim_scenario_default(struct sim_scenario *sc) {
  memset(sc, 0, sizeof(*sc));
  snprintf(sc->name, sizeof(sc->name), "unnamed");
  snprintf(sc->model, sizeof(sc->model), "overlay");
  sc->nodes = 100;
  sc->seed = 1;
  sc->duration_s = 300;
  sc->join = SIM_JOIN_SPREAD;
  sc->join_window_s = 60;
  sc->seeds = 1;
  sc->progress_s = 5;
  sc->latency = SIM_LAT_COORDS;
  sc->dims = 2;
  sc->coord_span_ms = 100;
  sc->access_ms = (struct sim_dist){SIM_DIST_UNIFORM, 1, 10};
  sc->lan_delay_ms = 0.5;
  sc->nat_mix[SIM_NAT_PUBLIC] = 1.0;
  sc->hosts_per_site = 1;
  sc->binding_timeout_s = 120;
  sc->birthday = true;
  sc->churn = SIM_CHURN_NONE;
  sc->session_s = (struct sim_dist){SIM_DIST_EXP, 3600, 0};
  sc->downtime_s = (struct sim_dist){SIM_DIST_EXP, 600, 0};
  sc->fail_at_s = -1;
  sc->interval_s = 10;
  sc->lookups_per_s = 0;
  sc->lookup_timeout_s = 10;
  sc->idle_from_s = -1;
  sc->flows_per_s = 0;
  sc->flow_start_s = 0;
  sc->flow_timeout_s = 30;
  sc->bcast_rate = 0;
  sc->bcast_size = 64;
  sc->bcast_start_s = 0;
  sc->bcast_timeout_s = 10;
  sc->metrics = SIM_M_HOPS | SIM_M_LOOKUPS | SIM_M_JOIN_TIME | SIM_M_RING | SIM_M_BYTES |
                SIM_M_MEMORY;
}

/* ---- value parsers: each returns 0 or writes a reason and returns -1 ---- */

struct pctx {
  struct sim_scenario *sc;
  const char *dir;
  char *err;
  size_t errcap;
  uint32_t seen[8]; /* repeated-key detection, one bit per table row */
};

static int p_double(const char *v, double *out, double lo, double hi, char *err, size_t cap) {
  char *end;
  errno = 0;
  double d = strtod(v, &end);
  if (end == v || *end || errno || !isfinite(d)) {
    snprintf(err, cap, "expected a number, got '%s'", v);
    return -1;
  }
  if (d < lo || d > hi) {
    snprintf(err, cap, "value %s out of range [%g, %g]", v, lo, hi);
    return -1;
  }
  *out = d;
  return 0;
}

static int p_u64(const char *v, uint64_t *out, uint64_t lo, uint64_t hi, char *err, size_t cap) {
  char *end;
  if (*v < '0' || *v > '9') {
    snprintf(err, cap, "expected an unsigned integer, got '%s'", v);
    return -1;
  }
  errno = 0;
  unsigned long long x = strtoull(v, &end, 10);
  if (*end || errno) {
    snprintf(err, cap, "expected an unsigned integer, got '%s'", v);
    return -1;
  }
  if (x < lo || x > hi) {
    snprintf(err, cap, "value %s out of range [%llu, %llu]", v, (unsigned long long)lo,
             (unsigned long long)hi);
    return -1;
  }
  *out = x;
  return 0;
}

static int p_path(struct pctx *c, const char *v, char *out) {
  int n;
  if (v[0] == '/' || !c->dir || !c->dir[0])
    n = snprintf(out, SIM_PATH_MAX, "%s", v);
  else
    n = snprintf(out, SIM_PATH_MAX, "%s/%s", c->dir, v);
  if (n < 0 || n >= SIM_PATH_MAX) {
    snprintf(c->err, c->errcap, "path too long");
    return -1;
  }
  return 0;
}

enum ktype { K_DOUBLE, K_U32, K_U64, K_BOOL, K_DIST, K_SPECIAL };

struct key {
  const char *section, *name;
  enum ktype type;
  size_t off;
  double lo, hi;
};

#define OFF(f) offsetof(struct sim_scenario, f)
#define BIG 1e12
static const struct key keys[] = {
    {"run", "name", K_SPECIAL, 0, 0, 0},
    {"run", "model", K_SPECIAL, 0, 0, 0},
    {"run", "crypto", K_SPECIAL, 0, 0, 0},
    {"run", "nodes", K_U32, OFF(nodes), 1, 10000000},
    {"run", "seed", K_U64, OFF(seed), 0, 1.8e19},
    {"run", "duration_s", K_DOUBLE, OFF(duration_s), 0, 1e9},
    {"run", "join", K_SPECIAL, 0, 0, 0},
    {"run", "seeds", K_U32, OFF(seeds), 1, 1000},
    {"run", "progress_s", K_DOUBLE, OFF(progress_s), 0, 1e6},
    {"network", "latency", K_SPECIAL, 0, 0, 0},
    {"network", "coord_span_ms", K_DOUBLE, OFF(coord_span_ms), 0, 10000},
    {"network", "access_ms", K_DIST, OFF(access_ms), 0, 0},
    {"network", "lan_delay_ms", K_DOUBLE, OFF(lan_delay_ms), 0, 1000},
    {"network", "loss", K_DOUBLE, OFF(loss), 0, 1},
    {"network", "partition", K_SPECIAL, 0, 0, 0},
    {"nat", "public", K_DOUBLE, OFF(nat_mix[SIM_NAT_PUBLIC]), 0, 1},
    {"nat", "full_cone", K_DOUBLE, OFF(nat_mix[SIM_NAT_FULL_CONE]), 0, 1},
    {"nat", "restricted", K_DOUBLE, OFF(nat_mix[SIM_NAT_RESTRICTED]), 0, 1},
    {"nat", "port_restricted", K_DOUBLE, OFF(nat_mix[SIM_NAT_PORT_RESTRICTED]), 0, 1},
    {"nat", "symmetric", K_DOUBLE, OFF(nat_mix[SIM_NAT_SYMMETRIC]), 0, 1},
    {"nat", "blocked", K_DOUBLE, OFF(nat_mix[SIM_NAT_BLOCKED]), 0, 1},
    {"nat", "hosts_per_site", K_U32, OFF(hosts_per_site), 1, 250},
    {"nat", "binding_timeout_s", K_DOUBLE, OFF(binding_timeout_s), 1, 1e6},
    {"nat", "upnp", K_DOUBLE, OFF(upnp), 0, 1},
    {"nat", "hairpin", K_BOOL, OFF(hairpin), 0, 0},
    {"nat", "birthday", K_BOOL, OFF(birthday), 0, 0},
    {"churn", "model", K_SPECIAL, 0, 0, 0},
    {"churn", "session_s", K_DIST, OFF(session_s), 0, 0},
    {"churn", "downtime_s", K_DIST, OFF(downtime_s), 0, 0},
    {"churn", "start_s", K_DOUBLE, OFF(churn_start_s), 0, 1e9},
    {"churn", "graceful", K_DOUBLE, OFF(graceful), 0, 1},
    {"churn", "trace", K_SPECIAL, 0, 0, 0},
    {"churn", "fail_at_s", K_DOUBLE, OFF(fail_at_s), 0, 1e9},
    {"churn", "fail_fraction", K_DOUBLE, OFF(fail_fraction), 0, 1},
    {"measure", "interval_s", K_DOUBLE, OFF(interval_s), 0.001, 1e9},
    {"measure", "lookups_per_s", K_DOUBLE, OFF(lookups_per_s), 0, 1e6},
    {"measure", "lookup_start_s", K_DOUBLE, OFF(lookup_start_s), 0, 1e9},
    {"measure", "lookup_timeout_s", K_DOUBLE, OFF(lookup_timeout_s), 0.001, 1e6},
    {"measure", "idle_from_s", K_DOUBLE, OFF(idle_from_s), 0, 1e9},
    {"measure", "metrics", K_SPECIAL, 0, 0, 0},
    {"measure", "flows_per_s", K_DOUBLE, OFF(flows_per_s), 0, 1e6},
    {"measure", "flow_start_s", K_DOUBLE, OFF(flow_start_s), 0, 1e9},
    {"measure", "flow_timeout_s", K_DOUBLE, OFF(flow_timeout_s), 0.001, 1e6},
    {"measure", "bcast_rate", K_DOUBLE, OFF(bcast_rate), 0, 1e6},
    /* 4 bytes carry the broadcast's number; 1300 is OV_APP_MAX. */
    {"measure", "bcast_size", K_U32, OFF(bcast_size), 4, 1300},
    {"measure", "bcast_start_s", K_DOUBLE, OFF(bcast_start_s), 0, 1e9},
    /* At most a minute: latencies are kept in 0.1 ms bins up to it. */
    {"measure", "bcast_timeout_s", K_DOUBLE, OFF(bcast_timeout_s), 0.001, 60},
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static int special(struct pctx *c, const char *sec, const char *k, char *v) {
  struct sim_scenario *sc = c->sc;
  char *err = c->err;
  size_t cap = c->errcap;
  if (!strcmp(k, "name")) {
    if (strlen(v) >= sizeof(sc->name) || strpbrk(v, "\"\\")) {
      snprintf(err, cap, "name too long or contains quotes/backslashes");
      return -1;
    }
    snprintf(sc->name, sizeof(sc->name), "%s", v);
    return 0;
  }
  if (!strcmp(sec, "run") && !strcmp(k, "model")) {
    if (strcmp(v, "overlay") && strcmp(v, "node")) {
      snprintf(err, cap, "model must be 'overlay' or 'node'");
      return -1;
    }
    snprintf(sc->model, sizeof(sc->model), "%s", v);
    return 0;
  }
  if (!strcmp(sec, "run") && !strcmp(k, "crypto")) {
    if (strcmp(v, "real") && strcmp(v, "standin")) {
      snprintf(err, cap, "crypto must be 'real' or 'standin'");
      return -1;
    }
    sc->crypto_standin = !strcmp(v, "standin");
    return 0;
  }
  if (!strcmp(k, "join")) { /* all | spread W | sequential W */
    char word[16];
    double w = 0;
    int n = sscanf(v, "%15s %lf", word, &w);
    if (n == 1 && !strcmp(word, "all")) {
      sc->join = SIM_JOIN_ALL;
      sc->join_window_s = 0;
      return 0;
    }
    if (n == 2 && (!strcmp(word, "spread") || !strcmp(word, "sequential")) && w >= 0 &&
        w <= 1e9) {
      sc->join = word[0] == 's' && word[1] == 'p' ? SIM_JOIN_SPREAD : SIM_JOIN_SEQUENTIAL;
      sc->join_window_s = w;
      return 0;
    }
    snprintf(err, cap, "join must be 'all', 'spread SECONDS' or 'sequential SECONDS'");
    return -1;
  }
  if (!strcmp(k, "latency")) { /* coords 2|3 | matrix FILE */
    if (!strcmp(v, "coords 2") || !strcmp(v, "coords 3") || !strcmp(v, "coords")) {
      sc->latency = SIM_LAT_COORDS;
      sc->dims = v[6] == ' ' ? (unsigned)(v[7] - '0') : 2;
      return 0;
    }
    if (!strncmp(v, "matrix ", 7) && v[7]) {
      sc->latency = SIM_LAT_MATRIX;
      return p_path(c, v + 7, sc->matrix);
    }
    snprintf(err, cap, "latency must be 'coords 2', 'coords 3' or 'matrix FILE'");
    return -1;
  }
  if (!strcmp(k, "partition")) { /* START_S END_S FRACTION */
    struct sim_partition p;
    char extra;
    if (sc->n_partitions == SIM_MAX_PARTITIONS) {
      snprintf(err, cap, "at most %d partitions", SIM_MAX_PARTITIONS);
      return -1;
    }
    if (sscanf(v, "%lf %lf %lf %c", &p.start_s, &p.end_s, &p.fraction, &extra) != 3 ||
        !(p.start_s >= 0 && p.end_s > p.start_s && p.end_s < 1e12 && p.fraction > 0 &&
          p.fraction < 1)) {
      snprintf(err, cap, "partition must be 'START_S END_S FRACTION' with START < END, "
                         "0 < FRACTION < 1");
      return -1;
    }
    sc->partitions[sc->n_partitions++] = p;
    return 0;
  }
  if (!strcmp(sec, "churn") && !strcmp(k, "model")) {
    if (!strcmp(v, "none"))
      sc->churn = SIM_CHURN_NONE;
    else if (!strcmp(v, "session"))
      sc->churn = SIM_CHURN_SESSION;
    else if (!strcmp(v, "trace"))
      sc->churn = SIM_CHURN_TRACE;
    else {
      snprintf(err, cap, "churn model must be none, session or trace");
      return -1;
    }
    return 0;
  }
  if (!strcmp(k, "trace"))
    return p_path(c, v, sc->trace);
  if (!strcmp(k, "metrics")) { /* comma or space separated names */
    uint32_t bits = 0;
    char *save = NULL;
    for (char *tok = strtok_r(v, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
      size_t i;
      for (i = 0; i < N_METRICS; i++)
        if (!strcmp(tok, metric_names[i].name))
          break;
      if (i == N_METRICS) {
        snprintf(err, cap, "unknown metric '%s'", tok);
        return -1;
      }
      bits |= metric_names[i].bit;
    }
    sc->metrics = bits;
    return 0;
  }
  snprintf(err, cap, "internal: unhandled key");
  return -1;
}

static int set_key(struct pctx *c, const char *sec, char *k, char *v) {
  size_t i;
  for (i = 0; i < N_KEYS; i++)
    if (!strcmp(keys[i].section, sec) && !strcmp(keys[i].name, k))
      break;
  if (i == N_KEYS) {
    snprintf(c->err, c->errcap, "unknown key '%s' in [%s]", k, sec);
    return -1;
  }
  const struct key *key = &keys[i];
  if (strcmp(k, "partition") && (c->seen[i / 32] >> (i % 32) & 1)) {
    snprintf(c->err, c->errcap, "key '%s' repeated", k);
    return -1;
  }
  c->seen[i / 32] |= 1u << (i % 32);
  uint8_t *base = (uint8_t *)c->sc + key->off;
  uint64_t u;
  switch (key->type) {
  case K_DOUBLE:
    return p_double(v, (double *)base, key->lo, key->hi, c->err, c->errcap);
  case K_U32:
    if (p_u64(v, &u, (uint64_t)key->lo, (uint64_t)key->hi, c->err, c->errcap))
      return -1;
    *(uint32_t *)base = (uint32_t)u;
    return 0;
  case K_U64:
    if (p_u64(v, &u, 0, UINT64_MAX, c->err, c->errcap))
      return -1;
    *(uint64_t *)base = u;
    return 0;
  case K_BOOL:
    if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
      *(bool *)base = true;
    else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
      *(bool *)base = false;
    else {
      snprintf(c->err, c->errcap, "expected true or false, got '%s'", v);
      return -1;
    }
    return 0;
  case K_DIST:
    return sim_dist_parse((struct sim_dist *)base, v, c->err, c->errcap) ? -1 : 0;
  case K_SPECIAL:
    return special(c, sec, k, v);
  }
  return -1;
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  char *e = s + strlen(s);
  while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
    *--e = '\0';
  return s;
}

int sim_scenario_parse(struct sim_scenario *sc, const char *text, size_t len,
                       const char *dir, char *err, size_t errcap) {
  struct pctx c = {.sc = sc, .dir = dir, .err = err, .errcap = errcap};
  char section[16] = "";
  char line[1024], reason[256];
  size_t pos = 0;
  unsigned lineno = 0;
  bool nat_seen = false;
  unsigned nat_line = 0;
  sim_scenario_default(sc);
  c.err = reason;
  c.errcap = sizeof(reason);
  while (pos < len) {
    size_t n = 0;
    lineno++;
    while (pos < len && text[pos] != '\n') {
      if (text[pos] == '\0' || n + 1 >= sizeof(line)) {
        snprintf(err, errcap, "%u: line too long or contains a NUL byte", lineno);
        return RL_EPARSE;
      }
      line[n++] = text[pos++];
    }
    pos++; /* the '\n' (or one past the end) */
    line[n] = '\0';
    char *s = trim(line);
    if (!*s || *s == '#' || *s == ';')
      continue;
    if (*s == '[') {
      char *e = strchr(s, ']');
      if (!e || e[1] || e - s - 1 <= 0 || (size_t)(e - s - 1) >= sizeof(section)) {
        snprintf(err, errcap, "%u: bad section header", lineno);
        return RL_EPARSE;
      }
      *e = '\0';
      snprintf(section, sizeof(section), "%s", s + 1);
      if (!strcmp(section, "nat") && !nat_line)
        nat_line = lineno;
      if (strcmp(section, "run") && strcmp(section, "network") && strcmp(section, "nat") &&
          strcmp(section, "churn") && strcmp(section, "measure")) {
        snprintf(err, errcap, "%u: unknown section [%s]", lineno, section);
        return RL_EPARSE;
      }
      continue;
    }
    char *eq = strchr(s, '=');
    if (!eq) {
      snprintf(err, errcap, "%u: expected 'key = value'", lineno);
      return RL_EPARSE;
    }
    if (!section[0]) {
      snprintf(err, errcap, "%u: key outside of a section", lineno);
      return RL_EPARSE;
    }
    *eq = '\0';
    char *k = trim(s), *v = trim(eq + 1);
    char *hash = strpbrk(v, "#;"); /* trailing comment */
    if (hash) {
      *hash = '\0';
      v = trim(v);
    }
    if (!*v) {
      snprintf(err, errcap, "%u: empty value for '%s'", lineno, k);
      return RL_EPARSE;
    }
    if (!strcmp(section, "nat") && !nat_seen) {
      /* An explicit mix replaces the all-public default entirely. */
      for (int i = 0; i < SIM_NAT_N_CLASSES; i++)
        sc->nat_mix[i] = 0;
      nat_seen = true;
    }
    if (set_key(&c, section, k, v)) {
      snprintf(err, errcap, "%u: %s", lineno, reason);
      return RL_EPARSE;
    }
  }
  if (!nat_seen)
    return 0;
  double sum = 0;
  for (int i = 0; i < SIM_NAT_N_CLASSES; i++)
    sum += sc->nat_mix[i];
  if (sum == 0) { /* [nat] with only timeouts etc.: keep all public */
    sc->nat_mix[SIM_NAT_PUBLIC] = 1;
  } else if (fabs(sum - 1.0) > 1e-6) {
    snprintf(err, errcap, "%u: [nat] class fractions sum to %g, not 1", nat_line, sum);
    return RL_EPARSE;
  }
  return 0;
}

int sim_read_file(const char *path, size_t max, char **text, size_t *len, char *err,
                  size_t errcap) {
  FILE *f = fopen(path, "rb");
  size_t cap = 1 << 16, n = 0;
  char *buf;
  if (!f) {
    snprintf(err, errcap, "%s: %s", path, strerror(errno));
    return RL_EIO;
  }
  buf = malloc(cap + 1);
  while (buf) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap)
      break;
    if (cap >= max) { /* read max bytes and there is more */
      free(buf);
      fclose(f);
      snprintf(err, errcap, "%s: larger than %zu bytes", path, max);
      return RL_ETOOBIG;
    }
    char *t = realloc(buf, 2 * cap > max ? max + 1 : 2 * cap + 1);
    if (!t) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = t;
    cap = 2 * cap > max ? max : 2 * cap;
  }
  fclose(f);
  if (!buf) {
    snprintf(err, errcap, "%s: out of memory", path);
    return RL_ENOMEM;
  }
  buf[n] = '\0';
  *text = buf;
  *len = n;
  return 0;
}

int sim_scenario_load(struct sim_scenario *sc, const char *path, char *err, size_t errcap) {
  char *buf;
  size_t n;
  int rc = sim_read_file(path, 1 << 20, &buf, &n, err, errcap);
  if (rc)
    return rc;
  char dir[SIM_PATH_MAX];
  snprintf(dir, sizeof(dir), "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = '\0';
  else
    snprintf(dir, sizeof(dir), ".");
  char reason[300];
  rc = sim_scenario_parse(sc, buf, n, dir, reason, sizeof(reason));
  free(buf);
  if (rc)
    snprintf(err, errcap, "%s:%s", path, reason);
  return rc;
}

int sim_scenario_check(const struct sim_scenario *sc, char *err, size_t errcap) {
  if (sc->seeds > sc->nodes) {
    snprintf(err, errcap, "seeds (%u) > nodes (%u)", sc->seeds, sc->nodes);
    return RL_EINVAL;
  }
  if (sc->churn == SIM_CHURN_TRACE && !sc->trace[0]) {
    snprintf(err, errcap, "churn model 'trace' needs a trace file");
    return RL_EINVAL;
  }
  if (sc->latency == SIM_LAT_MATRIX && !sc->matrix[0]) {
    snprintf(err, errcap, "latency 'matrix' needs a file");
    return RL_EINVAL;
  }
  if (sc->hairpin) {
    snprintf(err, errcap, "hairpin = true is not modelled yet (NAT boxes never hairpin)");
    return RL_EUNSUP;
  }
  if (sc->bcast_rate > 0 && (sc->bcast_size < 4 || sc->bcast_size > 1300 ||
                             !(sc->bcast_timeout_s >= 0.001 && sc->bcast_timeout_s <= 60))) {
    snprintf(err, errcap, "bcast_size must be 4..1300 and bcast_timeout_s 0.001..60");
    return RL_EINVAL;
  }
  if (sc->fail_at_s >= 0 && sc->fail_fraction <= 0) {
    snprintf(err, errcap, "fail_at_s needs fail_fraction > 0");
    return RL_EINVAL;
  }
  return 0;
}
