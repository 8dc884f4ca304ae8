/* ringlan up --config FILE: run the daemon in the foreground. */
#include <stdio.h>
#include <string.h>

#include "node/cli.h"
#include "node/drv.h"

int cli_up(int argc, char **argv) {
  const char *conf = cli_opt(argc, argv, "--config");
  if (!conf || argc != 2) {
    fprintf(stderr, "usage: ringlan up --config NODE.conf\n");
    return 2;
  }
  return drv_run(conf);
}
