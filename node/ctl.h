/* The control socket: a unix stream socket where `ringlan status|peers|
 * lookup` talk to the running daemon.
 *
 * Protocol (one request per connection):
 *   client -> daemon   one line: "status", "status json", "peers",
 *                      "peers json" or "lookup X", ending in "\n"
 *   daemon -> client   "OK\n" or "ERR\n", then the body, then the daemon
 *                      closes the connection. An ERR body is always a JSON
 *                      object {"error":"..."}.
 *
 * Access: the socket file is mode 0600 (owned by the daemon's user, root in
 * a normal install), and a client whose SO_PEERCRED uid is neither 0 nor the
 * daemon's uid gets ERR {"error":"permission denied"}, in case the file
 * mode was changed or the connection raced the chmod.
 *
 * The server half (node/ctl_server.c) runs on the daemon's libuv loop; the
 * client half (node/ctl_client.c) is plain blocking sockets for the CLI.
 * The server's process must ignore SIGPIPE (libuv writes without
 * MSG_NOSIGNAL; a client may hang up before its answer). */
#ifndef RL_NODE_CTL_H
#define RL_NODE_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define CTL_REQUEST_MAX 512          /* bytes, newline included (a revocation: ~260) */
#define CTL_MAX_CLIENTS 16           /* concurrent connections */
#define CTL_TIMEOUT_MS 5000          /* request line / async answer deadline */
#define CTL_DEFAULT_PATH "/run/ringlan/ringlan.sock"

struct ctl_server;
struct ctl_client;

/* Called once per connection with the request line (newline and
 * surrounding blanks removed, NUL-terminated). The callee answers now with
 * ctl_reply(), or later: ctl_client_wait(cl, cookie) and then
 * ctl_server_deliver() with the same cookie. */
typedef void (*ctl_request_fn)(void *ctx, struct ctl_client *cl, const char *line);

/* Checks the path (refuses when a daemon already listens there or the path
 * is not a socket; removes a stale socket file), creates a missing parent
 * directory (mode 0755), binds, sets mode 0600 and listens. timeout_ms: 0
 * = CTL_TIMEOUT_MS. err gets a message for the operator.
 * Returns 0, RL_EEXIST (another daemon), RL_EINVAL (path too long or not a
 * socket), RL_EREFUSED (permission) or RL_ESYS. */
int ctl_server_open(uv_loop_t *loop, const char *path, unsigned timeout_ms, ctl_request_fn fn,
                    void *ctx, struct ctl_server **out, char *err, size_t errcap);

/* Closes every client and the listener and removes the socket file. The
 * memory is released from libuv close callbacks: run the loop afterwards
 * (uv_run(loop, UV_RUN_DEFAULT) returns once everything is closed). */
void ctl_server_close(struct ctl_server *s);

/* Answers a client and closes its connection afterwards. body is copied. */
void ctl_reply(struct ctl_client *cl, bool ok, const char *body, size_t len);
/* The answer will come later under cookie; after the timeout the client
 * gets ERR {"error":"timed out after 5 s"}. */
void ctl_client_wait(struct ctl_client *cl, uint32_t cookie);
/* Delivers an asynchronous answer (ok). Returns false when no client waits
 * for cookie any more (it timed out or hung up); the answer is dropped. */
bool ctl_server_deliver(struct ctl_server *s, uint32_t cookie, const char *body, size_t len);
/* Number of connected clients (tests, status). */
unsigned ctl_server_clients(const struct ctl_server *s);

/* --- client (node/ctl_client.c) --- */

/* Sends one request line (without "\n") and reads the whole answer into a
 * malloc'ed NUL-terminated *body (the caller frees it); *ok tells OK from
 * ERR. timeout_ms bounds the whole exchange. err gets a message for the
 * user ("no ringlan daemon at PATH (is 'ringlan up' running?)", ...).
 * Returns 0, RL_ENOENT (no daemon), RL_EREFUSED (permission), RL_ETIMEDOUT,
 * RL_EPARSE (bad answer) or RL_ESYS. */
int ctl_request(const char *path, const char *line, unsigned timeout_ms, char **body,
                size_t *len, bool *ok, char *err, size_t errcap);

/* Writes a JSON error body {"error":"msg"} into buf (msg escaped). Returns
 * the length (truncated to fit). */
size_t ctl_error_json(char *buf, size_t cap, const char *msg);

#endif
