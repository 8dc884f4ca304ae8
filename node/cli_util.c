#include <errno.h>
#include <fcntl.h>
#include <ringlan/error.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/cli.h"

int cli_read_file(const char *path, size_t maxlen, char **out, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf;
  size_t n;
  if (!f)
    return errno == ENOENT ? RL_ENOENT : RL_EIO;
  buf = malloc(maxlen + 1);
  if (!buf) {
    fclose(f);
    return RL_ENOMEM;
  }
  n = fread(buf, 1, maxlen + 1, f);
  if (ferror(f) || n > maxlen) {
    int err = ferror(f) ? RL_EIO : RL_ETOOBIG;
    fclose(f);
    free(buf);
    return err;
  }
  fclose(f);
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return 0;
}

int cli_write_file(const char *path, const char *data, size_t len, unsigned mode) {
  char tmp[4096];
  int fd;
  if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
    return RL_ETOOBIG;
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
  if (fd < 0)
    return RL_EIO;
  size_t off = 0;
  while (off < len) {
    ssize_t w = write(fd, data + off, len - off);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      close(fd);
      unlink(tmp);
      return RL_EIO;
    }
    off += (size_t)w;
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    unlink(tmp);
    return RL_EIO;
  }
  if (rename(tmp, path) != 0) {
    unlink(tmp);
    return RL_EIO;
  }
  return 0;
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
