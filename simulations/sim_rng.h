/* Seeded pseudo-random numbers for the simulator: xoshiro256** seeded
 * through splitmix64, one independent stream per purpose (network, churn,
 * measurement) and per node (its struct rl_env.rand), so that one seed fixes
 * a whole run bit for bit and adding a node does not shift the draws of the
 * others. Not cryptographic: simulated keys are only as strong as the seed,
 * which is fine for virtual nodes that never touch a real network. */
#ifndef RL_SIM_RNG_H
#define RL_SIM_RNG_H

#include <stddef.h>
#include <stdint.h>

struct sim_rng {
  uint64_t s[4];
};

/* Stream `stream` of run seed `seed` (distinct streams are independent). */
void sim_rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream);
uint64_t sim_rng_next(struct sim_rng *r);
/* Uniform in [0, 1) with 53 bits. */
double sim_rng_double(struct sim_rng *r);
/* Uniform in [0, bound), bound > 0, no modulo bias. */
uint64_t sim_rng_below(struct sim_rng *r, uint64_t bound);
/* struct rl_env.rand callback: ctx is a struct sim_rng. */
void sim_rng_fill(void *ctx, uint8_t *buf, size_t len);

/* Stream numbers (the per-node streams are SIM_STREAM_NODE + node index). */
enum {
  SIM_STREAM_NET = 1,
  SIM_STREAM_CHURN = 2,
  SIM_STREAM_MEASURE = 3,
  SIM_STREAM_LOSS = 4,
  SIM_STREAM_BCAST = 5,
  SIM_STREAM_NODE = 1u << 20
};

#endif
