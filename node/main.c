/* ringlan: command-line entry point. Dispatches to node/cli_*.c. */
#include <ringlan/ringlan.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "node/cli.h"

struct command {
  const char *name;
  int (*fn)(int argc, char **argv);
  const char *usage;
};

static const struct command commands[] = {
    {"keygen", cli_keygen, "keygen --out NODE.key"},
    {"group", cli_group,
     "group init --name NAME --out GROUP.key\n"
     "  group sign --group-key GROUP.key --pub NODE.pub --ip 100.64.0.2/10 "
     "[--days N] [--not-before UNIX_S] [--subring NAME]... --out NODE.cert\n"
     "  group revoke --group-key GROUP.key (--cert NODE.cert | --id OVERLAY_ID) "
     "--out NODE.rev"},
    {"cert", cli_cert, "cert show NODE.cert [--group GROUP.pub]"},
    {"up", cli_up, "up --config NODE.conf"},
    {"status", cli_status, "status [--json] [--config NODE.conf | --control PATH]"},
    {"lookup", cli_lookup, "lookup VIP|ID [--config NODE.conf | --control PATH]"},
    {"peers", cli_peers, "peers [--json] [--config NODE.conf | --control PATH]"},
    {"subring", cli_subring, "subring list [--json] [--config NODE.conf | --control PATH]"},
    {"revoke", cli_revoke, "revoke NODE.rev [--config NODE.conf | --control PATH]"},
    {"dc-check", cli_dc_check, "dc-check FILE.vec [--verbose]"},
};

static void usage(FILE *f) {
  fprintf(f, "ringlan %s - peer-to-peer overlay VPN\nusage:\n", rl_version());
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    fprintf(f, "  ringlan %s\n", commands[i].usage);
}

int main(int argc, char **argv) {
  if (sodium_init() < 0) {
    fprintf(stderr, "ringlan: libsodium failed to initialise\n");
    return 1;
  }
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
    printf("ringlan %s\n", rl_version());
    return 0;
  }
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    if (!strcmp(argv[1], commands[i].name))
      return commands[i].fn(argc - 2, argv + 2);
  fprintf(stderr, "ringlan: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
