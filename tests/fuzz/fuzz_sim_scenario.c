/* libFuzzer target: the simulator's text inputs. The first byte picks the
 * parser (mod 3): 0 scenario file, 1 churn trace, 2 delay matrix; the rest
 * is the input. Every parser must return 0 or RL_EPARSE with a message,
 * never crash, never leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "simulations/sim.h"
#include "simulations/sim_net.h"
#include "simulations/sim_scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!size)
    return 0;
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  char err[300];
  switch (data[0] % 3) {
  case 0: {
    struct sim_scenario sc;
    if (sim_scenario_parse(&sc, text, len, "dir", err, sizeof(err)) == 0)
      (void)sim_scenario_check(&sc, err, sizeof(err));
    else if (!err[0])
      abort(); /* an error must say why */
    break;
  }
  case 1: {
    struct sim_trace_ev *ev;
    uint32_t n;
    if (sim_trace_parse(text, len, 1000, &ev, &n, err, sizeof(err)) == 0) {
      for (uint32_t i = 0; i < n; i++)
        if (ev[i].node >= 1000)
          abort();
      free(ev);
    }
    break;
  }
  case 2: {
    float *m;
    uint32_t n;
    if (len > 65536)
      break; /* a 4096^2 matrix is legal but slow to fuzz */
    if (sim_net_matrix_parse(text, len, &m, &n, err, sizeof(err)) == 0)
      free(m);
    break;
  }
  }
  return 0;
}
