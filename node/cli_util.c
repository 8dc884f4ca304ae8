#include <errno.h>
#include <fcntl.h>
#include <ringlan/error.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/cli.h"
#include "util/env.h"

/* Reads through an open descriptor, so the mode checked is the one of the
 * file read (no race between stat and open). */
int cli_read_file_mode(const char *path, size_t maxlen, char **out, size_t *len,
                       unsigned *mode) {
  struct stat st;
  char *buf;
  size_t n = 0;
  int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? RL_ENOENT : RL_EIO;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    int e = fstat(fd, &st) != 0 ? errno : EINVAL; /* EINVAL: not a regular file */
    close(fd);
    errno = e;
    return RL_EIO;
  }
  if (!(buf = malloc(maxlen + 1))) {
    close(fd);
    return RL_ENOMEM;
  }
  for (;;) {
    ssize_t r = read(fd, buf + n, maxlen + 1 - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      int e = errno;
      close(fd);
      sodium_memzero(buf, maxlen + 1);
      free(buf);
      errno = e;
      return RL_EIO;
    }
    if (r == 0)
      break;
    n += (size_t)r;
    if (n > maxlen) {
      close(fd);
      sodium_memzero(buf, maxlen + 1);
      free(buf);
      return RL_ETOOBIG;
    }
  }
  close(fd);
  buf[n] = '\0';
  *out = buf;
  *len = n;
  if (mode)
    *mode = (unsigned)st.st_mode & 07777;
  return 0;
}

int cli_read_file(const char *path, size_t maxlen, char **out, size_t *len) {
  return cli_read_file_mode(path, maxlen, out, len, NULL);
}

int cli_secret_mode_check(const char *path, unsigned mode, char *err, size_t errcap) {
  if (!(mode & 077))
    return 0;
  if (err && errcap)
    snprintf(err, errcap, "%s: permissions %04o are too open: a secret key must not be "
             "accessible by group or others; it is refused (fix: chmod 600 %s)", path, mode,
             path);
  return RL_EREFUSED;
}

int cli_read_secret_file(const char *path, size_t maxlen, char **out, size_t *len, char *err,
                         size_t errcap) {
  unsigned mode = 0;
  int rc = cli_read_file_mode(path, maxlen, out, len, &mode);
  if (rc == RL_ENOENT)
    snprintf(err, errcap, "%s: no such file", path);
  else if (rc == RL_ETOOBIG)
    snprintf(err, errcap, "%s: file too large (max %zu bytes)", path, maxlen);
  else if (rc)
    snprintf(err, errcap, "%s: cannot read: %s", path,
             rc == RL_EIO ? strerror(errno) : rl_strerror(rc));
  if (rc)
    return rc;
  /* What is not a secret key is left to the parser, whose message says
   * what the file is instead ("a public key file must not ..."). */
  if (cli_text_is_secret_key(*out) && (rc = cli_secret_mode_check(path, mode, err, errcap))) {
    sodium_memzero(*out, *len);
    free(*out);
    *out = NULL;
    *len = 0;
  }
  return rc;
}

bool cli_text_is_secret_key(const char *text) {
  return strstr(text, "-----BEGIN RINGLAN NODE KEY-----") != NULL ||
         strstr(text, "-----BEGIN RINGLAN GROUP KEY-----") != NULL;
}

/* Writes all of data to a freshly created fd with exactly `mode`
 * (whatever the umask, which can only have removed bits; a file system
 * without Unix modes, e.g. vfat, keeps its mount options: EPERM/ENOTSUP
 * there are not errors) and syncs it. Closes fd. 0 or -1 with errno. */
static int fill_fd(int fd, const char *data, size_t len, unsigned mode) {
  size_t off = 0;
  int e;
  if (fchmod(fd, (mode_t)mode) != 0 && errno != EPERM && errno != ENOTSUP)
    goto fail;
  while (off < len) {
    ssize_t w = write(fd, data + off, len - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      goto fail;
    off += (size_t)w;
  }
  if (fsync(fd) != 0)
    goto fail;
  return close(fd);
fail:
  e = errno;
  close(fd);
  errno = e;
  return -1;
}

/* The new content goes to a fresh file in the same directory (O_EXCL: never
 * a file or link someone placed there; a random name), is synced, then
 * takes the target's name: link() when the target must not exist (fails
 * with EEXIST on any existing name, a symbolic link included, atomically),
 * rename() when it may be replaced (after refusing a symbolic link there;
 * rename replaces the name itself and never writes through a link). Where
 * the file system has no hard links (vfat: EPERM), the target itself is
 * created with O_CREAT|O_EXCL|O_NOFOLLOW and written (removed again if that
 * fails). */
static int write_file(const char *path, const char *data, size_t len, unsigned mode,
                      bool replace) {
  const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  char tmp[4096];
  uint8_t rnd[8];
  char hex[2 * sizeof(rnd) + 1];
  struct stat st;
  int fd, e;
  if (lstat(path, &st) == 0) {
    if (!replace) {
      errno = EEXIST;
      return RL_EEXIST;
    }
    if (S_ISLNK(st.st_mode)) {
      errno = ELOOP;
      return RL_EREFUSED;
    }
  }
  randombytes_buf(rnd, sizeof(rnd));
  rl_hex_encode(hex, rnd, sizeof(rnd));
  if (snprintf(tmp, sizeof(tmp), "%s.tmp-%s", path, hex) >= (int)sizeof(tmp)) {
    errno = ENAMETOOLONG;
    return RL_ETOOBIG;
  }
  if ((fd = open(tmp, flags, (mode_t)mode)) < 0)
    return RL_EIO;
  if (fill_fd(fd, data, len, mode) != 0)
    goto fail;
  if (replace) {
    if (rename(tmp, path) != 0)
      goto fail;
    return 0;
  }
  if (link(tmp, path) == 0) {
    unlink(tmp);
    return 0;
  }
  if (errno != EPERM && errno != ENOTSUP && errno != EMLINK)
    goto fail;
  unlink(tmp);
  if ((fd = open(path, flags, (mode_t)mode)) < 0)
    return errno == EEXIST ? RL_EEXIST : RL_EIO;
  if (fill_fd(fd, data, len, mode) != 0) {
    e = errno;
    unlink(path); /* ours: created by the O_EXCL open above */
    errno = e;
    return RL_EIO;
  }
  return 0;
fail:
  e = errno;
  unlink(tmp);
  errno = e;
  return e == EEXIST ? RL_EEXIST : RL_EIO;
}

int cli_write_file(const char *path, const char *data, size_t len, unsigned mode) {
  return write_file(path, data, len, mode, true);
}

int cli_write_new_file(const char *path, const char *data, size_t len, unsigned mode) {
  return write_file(path, data, len, mode, false);
}

const char *cli_opt(int argc, char **argv, const char *name) {
  for (int i = 0; i + 1 < argc; i++)
    if (!strcmp(argv[i], name))
      return argv[i + 1];
  return NULL;
}

int cli_flag(int argc, char **argv, const char *name) {
  for (int i = 0; i < argc; i++)
    if (!strcmp(argv[i], name))
      return 1;
  return 0;
}

void cli_sys_rand(void *ctx, uint8_t *buf, size_t len) {
  (void)ctx;
  randombytes_buf(buf, len);
}
