/* Unit tests: node/ctl_server.c + node/ctl_client.c over a real unix socket
 * in a fresh temporary directory. The server runs on a libuv loop in the
 * test thread; the (blocking) client runs in a second thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <ringlan/error.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "node/ctl.h"

struct fx {
  uv_loop_t loop;
  uv_async_t done;
  uv_timer_t later;
  struct ctl_server *srv;
  char dir[64];
  char path[128];
  /* client thread input/output */
  const char *req;
  bool drop_privileges;
  int rc;
  bool ok;
  char *body;
  char err[256];
  /* handler bookkeeping */
  unsigned requests;
  uint32_t waiting_cookie;
  bool deliver_later;
};

static void on_done(uv_async_t *a) { uv_stop(a->loop); }

static void *client_main(void *arg) {
  struct fx *f = arg;
  size_t len;
  if (f->drop_privileges) {
    /* Connect as another uid from a child process (setuid in a thread
     * would change the whole process). Exit code: 0 = got "permission
     * denied" ERR, 1 = anything else. */
    pid_t pid = fork();
    if (pid == 0) {
      char *b = NULL;
      bool ok = true;
      char e[128];
      if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
        _exit(2);
      int rc = ctl_request(f->path, "status", 2000, &b, &len, &ok, e, sizeof(e));
      if (rc != 0) { fprintf(stderr, "child: %d %s\n", rc, e); _exit(1); }
      _exit(!ok && b && strstr(b, "permission denied") ? 0 : 3);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    f->rc = WIFEXITED(st) ? WEXITSTATUS(st) : 99;
  } else {
    f->rc = ctl_request(f->path, f->req, 2000, &f->body, &len, &f->ok, f->err, sizeof(f->err));
  }
  uv_async_send(&f->done);
  return NULL;
}

static void run_client(struct fx *f, const char *req) {
  pthread_t th;
  free(f->body);
  f->body = NULL;
  f->req = req;
  f->err[0] = '\0';
  assert_int_equal(pthread_create(&th, NULL, client_main, f), 0);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(pthread_join(th, NULL), 0);
}

static void on_later(uv_timer_t *t) {
  struct fx *f = t->data;
  assert_true(ctl_server_deliver(f->srv, f->waiting_cookie, "{\"found\":true}", 14));
  /* A second delivery for the same cookie finds nobody. */
  assert_false(ctl_server_deliver(f->srv, f->waiting_cookie, "x", 1));
}

static void handler(void *ctx, struct ctl_client *cl, const char *line) {
  struct fx *f = ctx;
  f->requests++;
  if (!strcmp(line, "status")) {
    ctl_reply(cl, true, "all good\n", 9);
  } else if (!strncmp(line, "lookup ", 7)) {
    f->waiting_cookie = 40 + f->requests;
    ctl_client_wait(cl, f->waiting_cookie);
    if (f->deliver_later)
      uv_timer_start(&f->later, on_later, 5, 0);
  } else {
    char buf[128];
    size_t n = ctl_error_json(buf, sizeof(buf), "unknown request \"x\"");
    ctl_reply(cl, false, buf, n);
  }
}

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  char err[256];
  snprintf(f->dir, sizeof(f->dir), "/tmp/rl-ctl-XXXXXX");
  if (!mkdtemp(f->dir))
    return -1;
  snprintf(f->path, sizeof(f->path), "%s/sub/ctl.sock", f->dir);
  uv_loop_init(&f->loop);
  uv_async_init(&f->loop, &f->done, on_done);
  uv_timer_init(&f->loop, &f->later);
  f->later.data = f;
  if (ctl_server_open(&f->loop, f->path, 50, handler, f, &f->srv, err, sizeof(err)) != 0) {
    print_message("ctl_server_open: %s\n", err);
    return -1;
  }
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  char sub[128];
  ctl_server_close(f->srv);
  uv_close((uv_handle_t *)&f->done, NULL);
  uv_close((uv_handle_t *)&f->later, NULL);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  assert_int_equal(access(f->path, F_OK), -1); /* socket file removed */
  snprintf(sub, sizeof(sub), "%s/sub", f->dir);
  rmdir(sub);
  rmdir(f->dir);
  free(f->body);
  free(f);
  return 0;
}

static void test_sync_answer_and_mode(void **state) {
  struct fx *f = *state;
  struct stat st;
  assert_int_equal(stat(f->path, &st), 0);
  assert_true(S_ISSOCK(st.st_mode));
  assert_int_equal(st.st_mode & 0777, 0600);
  run_client(f, "  status \r");
  assert_int_equal(f->rc, 0);
  assert_true(f->ok);
  assert_string_equal(f->body, "all good\n");
  run_client(f, "bogus");
  assert_int_equal(f->rc, 0);
  assert_false(f->ok);
  assert_string_equal(f->body, "{\"error\":\"unknown request \\\"x\\\"\"}\n");
  assert_int_equal(f->requests, 2);
}

static void test_async_answer(void **state) {
  struct fx *f = *state;
  f->deliver_later = true;
  run_client(f, "lookup 100.64.0.3");
  assert_int_equal(f->rc, 0);
  assert_true(f->ok);
  assert_string_equal(f->body, "{\"found\":true}");
}

static void test_async_timeout(void **state) {
  struct fx *f = *state;
  f->deliver_later = false;
  run_client(f, "lookup 100.64.0.9");
  assert_int_equal(f->rc, 0);
  assert_false(f->ok);
  assert_string_equal(f->body, "{\"error\":\"timed out after 50 ms\"}\n");
  /* The late answer finds nobody waiting. */
  assert_false(ctl_server_deliver(f->srv, f->waiting_cookie, "{}", 2));
}

static void test_second_daemon_refused_and_stale_removed(void **state) {
  struct fx *f = *state;
  struct ctl_server *s2 = NULL;
  char err[256], other[160];
  assert_int_equal(ctl_server_open(&f->loop, f->path, 0, handler, f, &s2, err, sizeof(err)),
                   RL_EEXIST);
  assert_non_null(strstr(err, "another ringlan daemon is listening there"));

  /* A regular file is never replaced. */
  snprintf(other, sizeof(other), "%s/plain", f->dir);
  FILE *fp = fopen(other, "w");
  assert_non_null(fp);
  fclose(fp);
  assert_int_equal(ctl_server_open(&f->loop, other, 0, handler, f, &s2, err, sizeof(err)),
                   RL_EINVAL);
  assert_int_equal(unlink(other), 0);

  /* A stale socket (nobody listening) is removed and replaced. */
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/stale.sock", f->dir);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  close(fd);
  assert_int_equal(ctl_server_open(&f->loop, sa.sun_path, 0, handler, f, &s2, err, sizeof(err)),
                   0);
  ctl_server_close(s2);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(access(sa.sun_path, F_OK), -1);
}

static void test_other_uid_refused(void **state) {
  struct fx *f = *state;
  if (geteuid() != 0) {
    print_message("SKIPPED: needs root to connect as another uid\n");
    skip();
  }
  /* Open the file mode so that only SO_PEERCRED stands in the way. */
  assert_int_equal(chmod(f->path, 0666), 0);
  assert_int_equal(chmod(f->dir, 0755), 0);
  char sub[128];
  snprintf(sub, sizeof(sub), "%s/sub", f->dir);
  assert_int_equal(chmod(sub, 0755), 0);
  f->drop_privileges = true;
  run_client(f, "status");
  assert_int_equal(f->rc, 0);
  assert_int_equal(f->requests, 0); /* the handler never saw it */
}

static void test_client_errors(void **state) {
  struct fx *f = *state;
  char *body = NULL, err[256], p[160];
  size_t len;
  bool ok;
  snprintf(p, sizeof(p), "%s/none.sock", f->dir);
  assert_int_equal(ctl_request(p, "status", 100, &body, &len, &ok, err, sizeof(err)), RL_ENOENT);
  assert_non_null(strstr(err, "is 'ringlan up' running?"));
  assert_null(body);
  assert_int_equal(ctl_request(f->path, "a\nb", 100, &body, &len, &ok, err, sizeof(err)),
                   RL_EINVAL);
  /* The server is not being run here, so the client times out. */
  assert_int_equal(ctl_request(f->path, "status", 50, &body, &len, &ok, err, sizeof(err)),
                   RL_ETIMEDOUT);
  assert_null(body);
  uv_run(&f->loop, UV_RUN_NOWAIT);
}

static void test_error_json_escapes(void **state) {
  (void)state;
  char buf[64];
  size_t n = ctl_error_json(buf, sizeof(buf), "a\"b\\c\nd");
  assert_string_equal(buf, "{\"error\":\"a\\\"b\\\\c\\u000ad\"}\n");
  assert_int_equal(n, strlen(buf));
  n = ctl_error_json(buf, 20, "a very long message that will not fit");
  assert_true(n < 20);
  assert_string_equal(buf + n - 3, "\"}\n");
}

/* The client hangs up right after asking; the late answer must not take
 * the server (this process) down with SIGPIPE, and the client is cleaned. */
static void test_client_hangs_up(void **state) {
  struct fx *f = *state;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", f->path);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  assert_int_equal(write(fd, "lookup x\n", 9), 9);
  f->deliver_later = true;
  for (int i = 0; i < 100 && f->requests == 0; i++)
    uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(f->requests, 1);
  close(fd);
  /* Run until the delivery timer fired and the client is closed. */
  for (int i = 0; i < 1000 && ctl_server_clients(f->srv) > 0; i++)
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(ctl_server_clients(f->srv), 0);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN); /* as the daemon does (node/ctl.h) */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_client_hangs_up, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sync_answer_and_mode, setup, teardown),
      cmocka_unit_test_setup_teardown(test_async_answer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_async_timeout, setup, teardown),
      cmocka_unit_test_setup_teardown(test_second_daemon_refused_and_stale_removed, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_other_uid_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_client_errors, setup, teardown),
      cmocka_unit_test(test_error_json_escapes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
