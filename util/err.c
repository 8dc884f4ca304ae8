#include <ringlan/error.h>
#include <ringlan/ringlan.h>

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
