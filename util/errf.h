/* Error messages for callers that pass a buffer: format, then return the
 * code (the driver's config, control and privilege code). */
#ifndef RL_UTIL_ERRF_H
#define RL_UTIL_ERRF_H

#include <stddef.h>

/* Writes the formatted message into err[errcap] (when err and errcap are
 * set) and returns rc. */
int rl_errf(char *err, size_t errcap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
