#include <ringlan/error.h>
#include <ringlan/ringlan.h>
#include <stdarg.h>
#include <stdio.h>

#include "util/errf.h"

const char *rl_strerror(int err) {
  switch (err) {
  case 0:
    return "success";
#define RL_ERR_STR_(name, val, msg) \
  case (val):                       \
    return msg;
    RL_ERRNO_MAP(RL_ERR_STR_)
#undef RL_ERR_STR_
  default:
    return "unknown error";
  }
}

const char *rl_err_name(int err) {
  switch (err) {
  case 0:
    return "RL_OK";
#define RL_ERR_NAME_(name, val, msg) \
  case (val):                        \
    return "RL_" #name;
    RL_ERRNO_MAP(RL_ERR_NAME_)
#undef RL_ERR_NAME_
  default:
    return "RL_E?";
  }
}

const char *rl_version(void) { return RL_VERSION_STRING; }

int rl_errf(char *err, size_t errcap, int rc, const char *fmt, ...) {
  va_list ap;
  if (err && errcap) {
    va_start(ap, fmt);
    vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
  }
  return rc;
}
