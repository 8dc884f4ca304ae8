/* The table of models built into the library, looked up by the scenario's
 * [run] model name.
 *
 *   overlay  the overlay module alone (overlay/overlay.h) with links
 *            modelled as plain datagrams: sim_model_overlay.c
 *   node     the whole node core (node/core/node.h): not wired up yet --
 *            the node core is still being implemented; sim_model_find
 *            returns NULL and ringlan-sim says so instead of running. */
#include "simulations/sim.h"

#include <string.h>

const struct sim_model *sim_model_find(const char *name) {
  (void)name;
  return NULL;
}
