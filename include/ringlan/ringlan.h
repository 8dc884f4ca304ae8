/* ringlan public API umbrella header. */
#ifndef RINGLAN_H
#define RINGLAN_H

#include <ringlan/addr.h>
#include <ringlan/error.h>

#define RL_VERSION_STRING "0.1.0"
const char *rl_version(void);

#endif
