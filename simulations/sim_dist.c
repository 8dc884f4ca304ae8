#include "simulations/sim_dist.h"

#include <math.h>
#include <ringlan/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
  const char *name;
  enum sim_dist_kind kind;
  int nparams;
} dist_names[] = {
    {"const", SIM_DIST_CONST, 1},     {"uniform", SIM_DIST_UNIFORM, 2},
    {"exp", SIM_DIST_EXP, 1},         {"exponential", SIM_DIST_EXP, 1},
    {"weibull", SIM_DIST_WEIBULL, 2}, {"pareto", SIM_DIST_PARETO, 2},
};

int sim_dist_parse(struct sim_dist *d, const char *text, char *err, size_t errcap) {
  char name[16];
  double p[3];
  int n = 0, consumed = 0;
  memset(d, 0, sizeof(*d));
  if (sscanf(text, " %15[a-z]%n", name, &consumed) != 1) {
    snprintf(err, errcap, "expected a distribution name (const, uniform, exp, weibull, pareto)");
    return RL_EPARSE;
  }
  const char *q = text + consumed;
  while (n < 3) {
    char *end;
    while (*q == ' ' || *q == '\t')
      q++;
    if (!*q)
      break;
    p[n] = strtod(q, &end);
    if (end == q || !isfinite(p[n])) {
      snprintf(err, errcap, "bad number in distribution parameters");
      return RL_EPARSE;
    }
    n++;
    q = end;
  }
  while (*q == ' ' || *q == '\t')
    q++;
  if (*q) {
    snprintf(err, errcap, "too many distribution parameters");
    return RL_EPARSE;
  }
  for (size_t i = 0; i < sizeof(dist_names) / sizeof(dist_names[0]); i++) {
    if (strcmp(name, dist_names[i].name) != 0)
      continue;
    if (n != dist_names[i].nparams) {
      snprintf(err, errcap, "%s takes %d parameter(s), got %d", name,
               dist_names[i].nparams, n);
      return RL_EPARSE;
    }
    d->kind = dist_names[i].kind;
    d->a = p[0];
    d->b = n > 1 ? p[1] : 0;
    if (p[0] < 0 || (n > 1 && p[1] < 0) ||
        (d->kind != SIM_DIST_CONST && d->kind != SIM_DIST_UNIFORM && p[0] == 0) ||
        ((d->kind == SIM_DIST_WEIBULL || d->kind == SIM_DIST_PARETO) && d->b == 0) ||
        (d->kind == SIM_DIST_UNIFORM && d->b < d->a)) {
      snprintf(err, errcap, "%s: parameters out of range", name);
      d->kind = SIM_DIST_NONE;
      return RL_EPARSE;
    }
    return 0;
  }
  snprintf(err, errcap, "unknown distribution '%s'", name);
  return RL_EPARSE;
}

double sim_dist_sample(const struct sim_dist *d, struct sim_rng *r) {
  /* Inverse-transform sampling; u in (0, 1] so that log(u) is finite. */
  double u = 1.0 - sim_rng_double(r);
  switch (d->kind) {
  case SIM_DIST_CONST:
    return d->a;
  case SIM_DIST_UNIFORM:
    return d->a + (d->b - d->a) * (1.0 - u);
  case SIM_DIST_EXP:
    return -d->a * log(u);
  case SIM_DIST_WEIBULL:
    return d->b * pow(-log(u), 1.0 / d->a);
  case SIM_DIST_PARETO:
    return d->b / pow(u, 1.0 / d->a);
  case SIM_DIST_NONE:
    break;
  }
  return 0;
}

double sim_dist_mean(const struct sim_dist *d) {
  switch (d->kind) {
  case SIM_DIST_CONST:
    return d->a;
  case SIM_DIST_UNIFORM:
    return (d->a + d->b) / 2;
  case SIM_DIST_EXP:
    return d->a;
  case SIM_DIST_WEIBULL:
    return d->b * tgamma(1.0 + 1.0 / d->a);
  case SIM_DIST_PARETO:
    return d->a <= 1 ? INFINITY : d->a * d->b / (d->a - 1);
  case SIM_DIST_NONE:
    break;
  }
  return 0;
}

void sim_dist_format(const struct sim_dist *d, char *buf, size_t cap) {
  switch (d->kind) {
  case SIM_DIST_CONST:
    snprintf(buf, cap, "const %g", d->a);
    break;
  case SIM_DIST_UNIFORM:
    snprintf(buf, cap, "uniform %g %g", d->a, d->b);
    break;
  case SIM_DIST_EXP:
    snprintf(buf, cap, "exp %g", d->a);
    break;
  case SIM_DIST_WEIBULL:
    snprintf(buf, cap, "weibull %g %g", d->a, d->b);
    break;
  case SIM_DIST_PARETO:
    snprintf(buf, cap, "pareto %g %g", d->a, d->b);
    break;
  case SIM_DIST_NONE:
    snprintf(buf, cap, "none");
    break;
  }
}
