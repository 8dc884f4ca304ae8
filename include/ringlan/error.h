/* ringlan error codes: every fallible function returns 0 or a negative RL_E*.
 * One table (RL_ERRNO_MAP) yields the enum, rl_strerror() and rl_err_name(). */
#ifndef RINGLAN_ERROR_H
#define RINGLAN_ERROR_H

#define RL_ERRNO_MAP(XX)                                                     \
  XX(EINVAL, -1, "invalid argument")                                         \
  XX(ENOMEM, -2, "out of memory")                                            \
  XX(EAUTH, -3, "authentication failed")                                     \
  XX(EREPLAY, -4, "replayed or too old packet")                              \
  XX(ETRUNC, -5, "truncated or malformed input")                             \
  XX(ERANGE, -6, "value out of range")                                       \
  XX(EEXPIRED, -7, "certificate expired or not yet valid")                   \
  XX(EFOREIGN, -8, "certificate belongs to another group")                   \
  XX(EIO, -9, "input/output error")                                          \
  XX(ENOENT, -10, "not found")                                               \
  XX(EAGAIN, -11, "try again later")                                         \
  XX(EFULL, -12, "no space left (queue or table full)")                      \
  XX(ESTATE, -13, "operation not valid in this state")                       \
  XX(ETOOBIG, -14, "message too big")                                        \
  XX(EPARSE, -15, "syntax error")                                            \
  XX(EUNSUP, -16, "not supported")                                           \
  XX(EEXIST, -17, "already exists")                                          \
  XX(EKEYEXHAUSTED, -18, "key usage limit reached, rekey required")          \
  XX(ETIMEDOUT, -19, "timed out")                                            \
  XX(EREFUSED, -20, "refused by policy")                                     \
  XX(ESYS, -21, "system call failed (see errno)")                            \
  XX(EREVOKED, -22, "certificate revoked by the group")

enum rl_err {
  RL_OK = 0,
#define RL_ERR_ENUM_(name, val, msg) RL_##name = (val),
  RL_ERRNO_MAP(RL_ERR_ENUM_)
#undef RL_ERR_ENUM_
};

/* Human-readable text for an RL_E* code (or "success" for 0). Never NULL. */
const char *rl_strerror(int err);
/* Symbolic name such as "RL_EAUTH". Never NULL. */
const char *rl_err_name(int err);

#endif
