/* Placeholder until this module lands; see docs/architecture.md. */
#include <stdio.h>
#include "node/cli.h"

int cli_keygen(int argc, char **argv) {
  (void)argc; (void)argv;
  fprintf(stderr, "ringlan: 'keygen' is not implemented yet\n");
  return 1;
}
int cli_group(int argc, char **argv) {
  (void)argc; (void)argv;
  fprintf(stderr, "ringlan: 'group' is not implemented yet\n");
  return 1;
}
int cli_cert(int argc, char **argv) {
  (void)argc; (void)argv;
  fprintf(stderr, "ringlan: 'cert' is not implemented yet\n");
  return 1;
}
