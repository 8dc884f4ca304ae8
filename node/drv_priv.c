/* Dropping root after start-up (node/drv_priv.h). Capabilities are handled
 * with the raw capget/capset system calls: the daemon keeps none, so
 * emptying every set needs no library (libcap would only be needed to keep
 * a chosen few). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <ringlan/error.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/errf.h"
#include "node/drv_priv.h"

#define PWBUF_MAX 16384


int drv_priv_resolve(const struct cfg *c, const struct rl_env *env, struct drv_priv *p,
                     char *err, size_t errcap) {
  const char *want = c->user[0] ? c->user : CFG_DEFAULT_USER;
  struct passwd pw, *res = NULL;
  char buf[PWBUF_MAX];
  int rc;
  memset(p, 0, sizeof(*p));
  p->root = geteuid() == 0;
  p->uid = geteuid();
  p->gid = getegid();
  rc = getpwnam_r(want, &pw, buf, sizeof(buf), &res);
  if (!res) {
    if (!c->user[0]) {
      if (p->root)
        rl_logf(env, RL_LOG_WARN, "no user '%s' on this host: the daemon stays root (without "
                "capabilities); create it (useradd --system --no-create-home %s) or set "
                "[node] user", CFG_DEFAULT_USER, CFG_DEFAULT_USER);
      return 0;
    }
    return rl_errf(err, errcap, RL_ENOENT, "user '%s' (config 'user'): %s", want,
                rc ? strerror(rc) : "no such user (create it: useradd --system "
                "--no-create-home NAME)");
  }
  if (!p->root) {
    if (c->user[0] && pw.pw_uid != geteuid())
      return rl_errf(err, errcap, RL_EREFUSED, "config 'user' is '%s', but the daemon was not "
                  "started as root and cannot become another user", want);
    return 0;
  }
  snprintf(p->name, sizeof(p->name), "%s", want);
  p->uid = pw.pw_uid;
  p->gid = pw.pw_gid;
  if (p->uid == 0) {
    rl_logf(env, RL_LOG_WARN, "user '%s' is root: the daemon stays root (without "
            "capabilities)", want);
    p->gid = 0;
    return 0;
  }
  p->n_groups = DRV_PRIV_GROUPS_MAX;
  if (getgrouplist(want, p->gid, p->groups, &p->n_groups) < 0)
    return rl_errf(err, errcap, RL_ERANGE, "user '%s' is in more than %d groups", want,
                DRV_PRIV_GROUPS_MAX);
  p->switch_user = true;
  return 0;
}

int drv_priv_chown_control(const struct drv_priv *p, const char *path, bool created_dir,
                           char *err, size_t errcap) {
  char dir[CFG_CONTROL_MAX];
  const char *slash;
  if (!p->switch_user)
    return 0;
  /* lchown: never through a link. The parent is root's (or was created by
   * us a moment ago), so nobody else can swap the name in between. */
  if (lchown(path, p->uid, p->gid) != 0)
    return rl_errf(err, errcap, RL_ESYS, "control socket %s: chown to %s: %s", path, p->name,
                strerror(errno));
  slash = strrchr(path, '/');
  if (created_dir && slash && slash != path) {
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    if (lchown(dir, p->uid, p->gid) != 0)
      return rl_errf(err, errcap, RL_ESYS, "control socket directory %s: chown to %s: %s", dir,
                  p->name, strerror(errno));
  }
  return 0;
}

int drv_priv_prepare_state(const struct drv_priv *p, const char *dir,
                           const char *const *files, char *err, size_t errcap) {
  struct stat st;
  int dfd, fd, rc = 0;
  if (!p->switch_user)
    return 0;
  dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return rl_errf(err, errcap, RL_ESYS, "state directory %s: %s", dir, strerror(errno));
  if (fstat(dfd, &st) != 0 || ((st.st_uid != p->uid || st.st_gid != p->gid) &&
                               fchown(dfd, p->uid, p->gid) != 0)) {
    rc = rl_errf(err, errcap, RL_ESYS, "state directory %s: chown to %s: %s", dir, p->name,
              strerror(errno));
    goto out;
  }
  for (const char *const *f = files; *f; f++) {
    fd = openat(dfd, *f, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
      continue; /* created later by the store, as the user */
    if (fd < 0) {
      rc = rl_errf(err, errcap, errno == ELOOP ? RL_EREFUSED : RL_ESYS, "state file %s/%s: %s%s",
                dir, *f, strerror(errno),
                errno == ELOOP ? " (a symbolic link; refusing to follow it as root)" : "");
      goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
      rc = rl_errf(err, errcap, RL_EREFUSED, "state file %s/%s: not a regular file with one "
                "link; refusing to hand it to %s (remove it)", dir, *f, p->name);
      close(fd);
      goto out;
    }
    /* A store written by an earlier root daemon becomes the user's. */
    if ((st.st_uid != p->uid || st.st_gid != p->gid) && fchown(fd, p->uid, p->gid) != 0) {
      rc = rl_errf(err, errcap, RL_ESYS, "state file %s/%s: chown to %s: %s", dir, *f, p->name,
                strerror(errno));
      close(fd);
      goto out;
    }
    close(fd);
  }
out:
  close(dfd);
  return rc;
}

int drv_priv_as_user(const struct drv_priv *p) {
  if (!p->switch_user)
    return 0;
  /* Groups first (needs root), then the effective gid, then the uid. */
  if (setgroups((size_t)p->n_groups, p->groups) != 0 || setegid(p->gid) != 0 ||
      seteuid(p->uid) != 0)
    return RL_ESYS;
  return 0;
}

int drv_priv_as_root(const struct drv_priv *p) {
  if (!p->switch_user)
    return 0;
  if (seteuid(0) != 0 || setegid(0) != 0)
    return RL_ESYS;
  return 0;
}

/* Empties every capability set of the calling thread (the process is
 * single-threaded here). Allowed without privilege: only dropping. */
static int caps_clear(void) {
  struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
  memset(data, 0, sizeof(data));
  /* Ambient first (EINVAL: kernel older than 4.3, which has none). */
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    return -1;
  return (int)syscall(SYS_capset, &h, data);
}

static bool caps_none(void) {
  struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
  if (syscall(SYS_capget, &h, data) != 0)
    return false;
  for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
    if (data[i].effective || data[i].permitted || data[i].inheritable)
      return false;
  return true;
}

/* Threads of this process (/proc/self/task entries); 0 if unknown. capset
 * changes only the calling thread, so the drop must happen before any
 * other thread exists (libuv's worker pool starts with port mapping). */
static unsigned thread_count(void) {
  DIR *dir = opendir("/proc/self/task");
  struct dirent *e;
  unsigned n = 0;
  if (!dir)
    return 0;
  while ((e = readdir(dir)))
    if (e->d_name[0] != '.')
      n++;
  closedir(dir);
  return n;
}

int drv_priv_drop(const struct drv_priv *p, const struct rl_env *env, char *err,
                  size_t errcap) {
  unsigned threads = thread_count();
  if (threads > 1)
    return rl_errf(err, errcap, RL_ESTATE, "%u threads exist before dropping privileges (a bug: "
                "the drop must come first)", threads);
  /* No exec'd program may gain privileges (setuid binaries, file caps). */
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return rl_errf(err, errcap, RL_ESYS, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
  if (drv_priv_as_root(p) != 0)
    return rl_errf(err, errcap, RL_ESYS, "seteuid(0): %s", strerror(errno));
  if (p->root) {
    /* Bounding set: a later exec could not regain anything either. Needs
     * CAP_SETPCAP, so before setuid; EINVAL marks the end of the kernel's
     * capability list. */
    for (int cap = 0; cap < 64; cap++)
      if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
        if (errno == EINVAL)
          break;
        return rl_errf(err, errcap, RL_ESYS, "prctl(PR_CAPBSET_DROP, %d): %s", cap,
                    strerror(errno));
      }
  }
  if (p->switch_user) {
    if (setgroups((size_t)p->n_groups, p->groups) != 0)
      return rl_errf(err, errcap, RL_ESYS, "setgroups: %s", strerror(errno));
    if (setgid(p->gid) != 0)
      return rl_errf(err, errcap, RL_ESYS, "setgid(%u): %s", (unsigned)p->gid, strerror(errno));
    /* With euid 0, setuid sets the real, effective and saved ids: root
     * cannot be taken back, and the kernel empties the capability sets. */
    if (setuid(p->uid) != 0)
      return rl_errf(err, errcap, RL_ESYS, "setuid(%u): %s", (unsigned)p->uid, strerror(errno));
    if (setuid(0) == 0 || getuid() != p->uid || geteuid() != p->uid || getgid() != p->gid ||
        getegid() != p->gid)
      return rl_errf(err, errcap, RL_ESYS, "dropping root to %s did not stick", p->name);
  }
  if (caps_clear() != 0)
    return rl_errf(err, errcap, RL_ESYS, "capset: %s", strerror(errno));
  if (!caps_none())
    return rl_errf(err, errcap, RL_ESYS, "capabilities remain after dropping them");
  if (p->switch_user)
    rl_logf(env, RL_LOG_INFO, "privileges: running as %s (uid %u, gid %u), no capabilities",
            p->name, (unsigned)p->uid, (unsigned)p->gid);
  else
    rl_logf(env, RL_LOG_INFO, "privileges: running as uid %u, no capabilities",
            (unsigned)getuid());
  return 0;
}
