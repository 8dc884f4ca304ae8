/* Least privilege for the daemon (docs/security.md, "Privileges and files").
 *
 * `ringlan up` starts as root: creating the TAP device, configuring its
 * address and MTU, and SO_RCVBUFFORCE need CAP_NET_ADMIN. Once the TAP
 * device, the UDP and TCP sockets, the control socket and the LMDB store are
 * open, drv_priv_drop() switches to the configured user ([node] user;
 * default CFG_DEFAULT_USER when that account exists) and keeps no
 * capabilities: nothing the daemon does afterwards needs one (the TAP device
 * is configured once at start-up; probe sockets bind ephemeral ports; the
 * control socket, the store and the port-mapping requests use descriptors
 * or sockets any user may open). Every start recreates the TAP device as
 * root (it is not persistent: it disappears with the daemon), so a restart
 * needs nothing the user owns except the state directory.
 *
 * Order: drv_priv_resolve (before anything is opened), the driver opens
 * what it needs, calling drv_priv_chown_control and drv_priv_prepare_state /
 * drv_priv_as_user / drv_priv_as_root around the store, then drv_priv_drop
 * while the process is still single-threaded (before the port-mapping
 * worker starts). */
#ifndef RL_NODE_DRV_PRIV_H
#define RL_NODE_DRV_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "node/config.h"
#include "util/env.h"

#define DRV_PRIV_GROUPS_MAX 64

struct drv_priv {
  bool root;                     /* started with euid 0 */
  bool switch_user;              /* root and a non-root target user: setuid at drop */
  uid_t uid;
  gid_t gid;
  int n_groups;                  /* supplementary groups of the user (getgrouplist) */
  gid_t groups[DRV_PRIV_GROUPS_MAX];
  char name[CFG_USER_MAX];
};

/* Looks up the user to run as: c->user, or CFG_DEFAULT_USER when unset (a
 * missing default account is not an error: the daemon stays root, without
 * capabilities, with a warning). A configured user that does not exist, or
 * a configured user other than the current one when not started as root, is
 * an error (RL_ENOENT / RL_EREFUSED, message in err). */
int drv_priv_resolve(const struct cfg *c, const struct rl_env *env, struct drv_priv *p,
                     char *err, size_t errcap);

/* The control socket was created by root: hand it (and its directory when
 * this start created it) to the user, so the daemon can remove it at exit
 * and the user's own tools may connect. No-op unless switch_user. */
int drv_priv_chown_control(const struct drv_priv *p, const char *path, bool created_dir,
                           char *err, size_t errcap);

/* The state directory (existing) and the store's files in it (names in
 * files[], NULL-terminated) become the user's. Refused (RL_EREFUSED) when
 * one of the files is a symbolic link, not a regular file, or has other
 * hard links: a daemon that ran as the user must not be able to make root
 * open or chown a file elsewhere at the next start. No-op unless
 * switch_user. */
int drv_priv_prepare_state(const struct drv_priv *p, const char *dir,
                           const char *const *files, char *err, size_t errcap);

/* Effective ids only (root keeps its saved uid): files opened in between
 * are opened with the user's rights and created with its ownership. No-op
 * unless switch_user. as_root returns RL_ESYS when root cannot be taken
 * back (the caller stops). */
int drv_priv_as_user(const struct drv_priv *p);
int drv_priv_as_root(const struct drv_priv *p);

/* Final: PR_SET_NO_NEW_PRIVS; as root, the capability bounding set
 * emptied; with a target user, setgroups, setgid, setuid (in that order);
 * in every case the ambient, inheritable, permitted and effective
 * capability sets are emptied, and the result is checked (setuid(0) must
 * fail, no capability left). Must run while the process is single-threaded
 * (capset is per thread): RL_ESTATE otherwise. Logs what it did. Returns 0,
 * or RL_ESYS with the failing step in err: the daemon must not run on. */
int drv_priv_drop(const struct drv_priv *p, const struct rl_env *env, char *err,
                  size_t errcap);

#endif
