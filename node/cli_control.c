/* ringlan status | peers | lookup: ask the running daemon over its control
 * socket (node/ctl.h) and print the answer. */
#include <ringlan/error.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/revoke.h"
#include "node/cli.h"
#include "node/config.h"
#include "node/ctl.h"

/* Client deadline: a little longer than the daemon's own 5 s lookup
 * timeout, so the daemon's error JSON arrives rather than ours. */
#define CLI_CONTROL_TIMEOUT_MS (CTL_TIMEOUT_MS + 2000)

/* The socket path: --control PATH, else the config's control key
 * (--config FILE), else the default. Returns 0 or 1 (message printed). */
static int control_path(int argc, char **argv, char *out, size_t cap) {
  const char *ctl = cli_opt(argc, argv, "--control");
  const char *conf = cli_opt(argc, argv, "--config");
  if (ctl && conf) {
    fprintf(stderr, "ringlan: give either --control or --config, not both\n");
    return 2;
  }
  if (ctl) {
    snprintf(out, cap, "%s", ctl);
    return 0;
  }
  if (conf) {
    struct cfg *c = malloc(sizeof(*c));
    char err[CFG_ERR_MAX + CFG_PATH_MAX];
    if (!c)
      return 1;
    int rc = cfg_read_file(c, conf, err, sizeof(err));
    if (rc) {
      fprintf(stderr, "ringlan: %s\n", err);
      free(c);
      return 1;
    }
    snprintf(out, cap, "%s", c->control);
    free(c);
    return 0;
  }
  snprintf(out, cap, "%s", CTL_DEFAULT_PATH);
  return 0;
}

/* Prints the "error" string of an ERR body (JSON, escapes kept simple). */
static void print_error_body(const char *body) {
  const char *p = strstr(body, "\"error\":\"");
  fprintf(stderr, "ringlan: ");
  if (!p) {
    fprintf(stderr, "daemon error: %s\n", body);
    return;
  }
  for (p += 9; *p && *p != '"'; p++) {
    if (*p == '\\' && p[1])
      p++;
    fputc(*p, stderr);
  }
  fputc('\n', stderr);
}

/* Indents a compact JSON document for humans (string-aware, no parsing
 * beyond brackets, commas and quotes; the daemon's JSON is trusted to be
 * well formed, and if it is not, the output is merely ugly). */
static void print_json_pretty(const char *s, size_t len) {
  int depth = 0;
  bool in_str = false;
  for (size_t i = 0; i < len; i++) {
    char ch = s[i];
    if (in_str) {
      putchar(ch);
      if (ch == '\\' && i + 1 < len)
        putchar(s[++i]);
      else if (ch == '"')
        in_str = false;
      continue;
    }
    switch (ch) {
    case '"':
      in_str = true;
      putchar(ch);
      break;
    case '{':
    case '[':
      putchar(ch);
      if (i + 1 < len && (s[i + 1] == '}' || s[i + 1] == ']')) {
        putchar(s[++i]);
        break;
      }
      printf("\n%*s", 2 * ++depth, "");
      break;
    case '}':
    case ']':
      depth = depth > 0 ? depth - 1 : 0;
      printf("\n%*s%c", 2 * depth, "", ch);
      break;
    case ',':
      printf(",\n%*s", 2 * depth, "");
      break;
    case ':':
      printf(": ");
      break;
    case ' ':
    case '\n':
    case '\t':
    case '\r':
      break;
    default:
      putchar(ch);
    }
  }
  putchar('\n');
}

static int run(int argc, char **argv, const char *request, bool pretty) {
  char path[CFG_CONTROL_MAX + 64], err[512];
  char *body = NULL;
  size_t len = 0;
  bool ok = false;
  int rc = control_path(argc, argv, path, sizeof(path));
  if (rc)
    return rc;
  rc = ctl_request(path, request, CLI_CONTROL_TIMEOUT_MS, &body, &len, &ok, err, sizeof(err));
  if (rc) {
    fprintf(stderr, "ringlan: %s\n", err);
    return 1;
  }
  if (!ok) {
    print_error_body(body);
    free(body);
    return 1;
  }
  if (pretty)
    print_json_pretty(body, len);
  else {
    fwrite(body, 1, len, stdout);
    if (len && body[len - 1] != '\n')
      putchar('\n');
  }
  free(body);
  return 0;
}

static bool known_opts(int argc, char **argv, int positional) {
  int seen = 0;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--json"))
      continue;
    if (!strcmp(argv[i], "--control") || !strcmp(argv[i], "--config")) {
      if (++i >= argc)
        return false;
      continue;
    }
    if (argv[i][0] == '-' || ++seen > positional)
      return false;
  }
  return seen == positional;
}

/* The one positional argument (known_opts checked there is one). */
static const char *positional(int argc, char **argv) {
  const char *p = NULL;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--control") || !strcmp(argv[i], "--config")) {
      i++;
      continue;
    }
    if (strcmp(argv[i], "--json"))
      p = argv[i];
  }
  return p;
}

int cli_status(int argc, char **argv) {
  if (!known_opts(argc, argv, 0)) {
    fprintf(stderr, "usage: ringlan status [--json] [--config NODE.conf | --control PATH]\n");
    return 2;
  }
  return cli_flag(argc, argv, "--json") ? run(argc, argv, "status json", false)
                                        : run(argc, argv, "status", false);
}

int cli_peers(int argc, char **argv) {
  if (!known_opts(argc, argv, 0)) {
    fprintf(stderr, "usage: ringlan peers [--json] [--config NODE.conf | --control PATH]\n");
    return 2;
  }
  /* The daemon answers JSON either way; without --json it is indented. */
  return cli_flag(argc, argv, "--json") ? run(argc, argv, "peers json", false)
                                        : run(argc, argv, "peers", true);
}

/* ringlan subring list [--json]: the rings this member broadcasts in. */
int cli_subring(int argc, char **argv) {
  if (argc < 1 || strcmp(argv[0], "list") || !known_opts(argc - 1, argv + 1, 0)) {
    fprintf(stderr, "usage: ringlan subring list [--json] [--config NODE.conf | --control PATH]\n");
    return 2;
  }
  return cli_flag(argc - 1, argv + 1, "--json") ? run(argc - 1, argv + 1, "subrings json", false)
                                                : run(argc - 1, argv + 1, "subrings", false);
}

/* ringlan revoke FILE: the daemon applies, stores and spreads it. */
int cli_revoke(int argc, char **argv) {
  const char *path;
  struct revocation r;
  uint8_t bin[REVOKE_BIN_MAX];
  char req[CTL_REQUEST_MAX], err[CFG_ERR_MAX + CFG_PATH_MAX];
  int n;
  if (!known_opts(argc, argv, 1)) {
    fprintf(stderr, "usage: ringlan revoke NODE.rev [--config NODE.conf | --control PATH]\n");
    return 2;
  }
  path = positional(argc, argv);
  if (cfg_load_revocation(path, NULL, NULL, &r, err, sizeof(err)) != 0) {
    fprintf(stderr, "ringlan: %s\n", err);
    return 1;
  }
  n = revoke_encode_bin(&r, bin, sizeof(bin));
  if (n < 0) {
    fprintf(stderr, "ringlan: %s: %s\n", path, rl_strerror(n));
    return 1;
  }
  /* One line: "revoke " + base64 of the binary form (the daemon checks it). */
  memcpy(req, "revoke ", 7);
  sodium_bin2base64(req + 7, sizeof(req) - 7, bin, (size_t)n, sodium_base64_VARIANT_ORIGINAL);
  return run(argc, argv, req, false);
}

int cli_lookup(int argc, char **argv) {
  const char *what;
  char req[CTL_REQUEST_MAX];
  if (!known_opts(argc, argv, 1)) {
    fprintf(stderr, "usage: ringlan lookup VIP|ID [--json] [--config NODE.conf | "
                    "--control PATH]\n");
    return 2;
  }
  what = positional(argc, argv);
  /* VIPs are dotted quads, IDs 40 hex digits; the daemon validates. Only
   * refuse what would break the line protocol. */
  if (!what || strlen(what) > 64 || strpbrk(what, " \t\r\n")) {
    fprintf(stderr, "ringlan: lookup wants one VIP (100.64.0.3) or node ID (40 hex digits)\n");
    return 2;
  }
  snprintf(req, sizeof(req), "lookup %s", what);
  return run(argc, argv, req, !cli_flag(argc, argv, "--json"));
}
