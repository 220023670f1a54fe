/* repl.h: the console server (DESIGN.md §9; docs/console.md is the user's reference).
 *
 * The host listens on a unix socket (VAR/luatrade.sock, mode 0600). A connecting peer
 * whose uid (SO_PEERCRED) is not the host's is refused. Each connection is a session: a
 * Lua REPL in its own admin sandbox (the admin helpers: strategies(), reload(name),
 * kill(), buy(...), ... each an in-process REST call, http_call_local) or, after
 * attach(name), inside that strategy's sandbox under the strategy's CPU budget.
 *
 * The wire protocol is line-based request/response so that `socat - UNIX-CONNECT:...`
 * works as a client: each line a client sends gets exactly one reply, zero or more
 * output lines ending with the terminator line "\0STATUS[ CONTEXT]\n" (STATUS ok, error
 * or more; CONTEXT the attached strategy). Control lines start with a NUL byte ("\0eval
 * N\n" + N bytes, "\0complete TEXT\n", "\0reset\n", "\0stop\n"). Output never holds a
 * NUL. tail() turns a session into a stream until the client sends any line; a "\0stop"
 * with no stream running gets no reply at all (it raced the stream's end).
 *
 * At start an existing socket file nobody listens on (a crashed host's) is replaced;
 * one a live process answers on is an error, as is any other kind of file. */
#ifndef LUATRADE_REPL_H
#define LUATRADE_REPL_H

#include <stdint.h>

#include "err.h"

struct host;
struct repl;

struct repl_config {
    const char *path;  /* the socket file */
    int64_t budget_us; /* CPU budget of a chunk evaluated in the admin sandbox */
    int max_sessions;  /* connections at once; more are refused with a message */
};

/* Binds and listens on the loop of h (after h->strategies and h->http exist: the
 * helpers call the REST routes). Returns NULL with e filled (path too long, in use by
 * a live host, not a socket, cannot bind). */
struct repl *repl_new(struct host *h, const struct repl_config *cfg, struct err *e);
/* Ends every session (at once: output not yet written is dropped), closes and unlinks
 * the socket. NULL is a no-op. */
void repl_free(struct repl *r);

#endif
