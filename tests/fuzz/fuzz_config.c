/* libFuzzer target: the INI line parser (cfg_parse_line + cfg_finish).
 * Input: lines separated by '\n', fed one at a time as the daemon does. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct cfg *c = malloc(sizeof(*c));
  char err[CFG_ERR_MAX] = "";
  size_t off = 0;
  if (!c || cfg_init(c, "/etc/ringlan") != 0) {
    free(c);
    return 0;
  }
  while (off < size) {
    const uint8_t *nl = memchr(data + off, '\n', size - off);
    size_t n = nl ? (size_t)(nl - (data + off)) : size - off;
    /* Keep going after errors: later lines must not crash either. */
    cfg_parse_line(c, (const char *)data + off, n, err, sizeof(err));
    off += n + (nl ? 1 : 0);
  }
  cfg_finish(c, err, sizeof(err));
  if (c->n_peers > CFG_MAX_PEERS || c->n_bootstrap > CFG_MAX_BOOTSTRAP ||
      memchr(err, '\0', sizeof(err)) == NULL)
    __builtin_trap();
  free(c);
  return 0;
}
