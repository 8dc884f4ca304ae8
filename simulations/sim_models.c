/* The table of models built into the library, looked up by the scenario's
 * [run] model name.
 *
 *   overlay  the overlay module alone (overlay/overlay.h) with links
 *            modelled as plain datagrams: sim_model_overlay.c
 *   node     the whole node core (node/core/node.h): sim_model_node.c */
#include <string.h>

#include "simulations/sim.h"

extern const struct sim_model sim_model_overlay;
extern const struct sim_model sim_model_node;

const struct sim_model *sim_model_find(const char *name) {
  if (!strcmp(name, "overlay"))
    return &sim_model_overlay;
  if (!strcmp(name, "node"))
    return &sim_model_node;
  return NULL;
}
