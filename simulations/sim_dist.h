/* Probability distributions for session times, downtimes and delays.
 *
 * Text form (scenario files), values in the unit of the key (seconds):
 *   const V            always V
 *   uniform A B        uniform in [A, B)
 *   exp MEAN           exponential with the given mean
 *   weibull K LAMBDA   Weibull, shape K, scale LAMBDA (mean LAMBDA*Gamma(1+1/K))
 *   pareto ALPHA XM    Pareto, shape ALPHA, minimum XM (mean ALPHA*XM/(ALPHA-1)) */
#ifndef RL_SIM_DIST_H
#define RL_SIM_DIST_H

#include <stddef.h>

#include "simulations/sim_rng.h"

enum sim_dist_kind {
  SIM_DIST_NONE = 0,
  SIM_DIST_CONST,
  SIM_DIST_UNIFORM,
  SIM_DIST_EXP,
  SIM_DIST_WEIBULL,
  SIM_DIST_PARETO
};

struct sim_dist {
  enum sim_dist_kind kind;
  double a, b;
};

/* Parses the text form. Returns 0 or RL_EPARSE with a reason in err. */
int sim_dist_parse(struct sim_dist *d, const char *text, char *err, size_t errcap);
double sim_dist_sample(const struct sim_dist *d, struct sim_rng *r);
/* Analytic mean (INFINITY for Pareto with ALPHA <= 1, 0 for NONE). */
double sim_dist_mean(const struct sim_dist *d);
/* Writes the text form back (for the run summary). */
void sim_dist_format(const struct sim_dist *d, char *buf, size_t cap);

#endif
