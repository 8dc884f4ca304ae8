/* Placeholder until this module lands; see docs/architecture.md. */
#include <stdio.h>
#include "node/cli.h"

int cli_dc_check(int argc, char **argv) {
  (void)argc; (void)argv;
  fprintf(stderr, "ringlan: 'dc_check' is not implemented yet\n");
  return 1;
}
