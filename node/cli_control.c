/* Placeholder until this module lands; see docs/architecture.md. */
#include <stdio.h>
#include "node/cli.h"

int cli_status(int argc, char **argv) {
  (void)argc; (void)argv;
  fprintf(stderr, "ringlan: 'status' is not implemented yet\n");
  return 1;
}
int cli_lookup(int argc, char **argv) {
  (void)argc; (void)argv;
  fprintf(stderr, "ringlan: 'lookup' is not implemented yet\n");
  return 1;
}
int cli_peers(int argc, char **argv) {
  (void)argc; (void)argv;
  fprintf(stderr, "ringlan: 'peers' is not implemented yet\n");
  return 1;
}
