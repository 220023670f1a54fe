/* console_internal.h: what the console client's files share (console.c: options and the
 * one-shot modes; console_conn.c: the socket and reply waits; console_edit.c: the
 * interactive loop). Not for use outside host/console*.c and their tests. */
#ifndef LUATRADE_CONSOLE_INTERNAL_H
#define LUATRADE_CONSOLE_INTERNAL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "console_reply.h"
#include "err.h"

/* How long connect waits for the greeting before giving up on a stuck host. */
#define CONSOLE_GREETING_TIMEOUT_MS 10000
/* Output held back (so that an error reply can go to stderr) is printed to stdout once it
 * is this old or this big: the reply is a stream (tail) and must show as it arrives. */
#define CONSOLE_HOLD_MS    150
#define CONSOLE_HOLD_BYTES 65536
/* A COLLECT wait keeps at most this much output (completion candidates). */
#define CONSOLE_COLLECT_MAX (1 << 20)

/* console_wait flags. */
enum {
    /* Ctrl-C (SIGINT, with console_sigint_install done) sends "\0stop\n" once, if the
     * reply has output lines (a stream); a second Ctrl-C gives up on the reply (-1,
     * "interrupted"). Without the flag, SIGINT stays blocked during the wait and a Ctrl-C
     * that arrived meanwhile is discarded. */
    CONSOLE_WAIT_STOPPABLE = 1,
    /* Keep the output lines in c->out ("\n"-terminated) instead of printing them. */
    CONSOLE_WAIT_COLLECT = 2,
};

struct console {
    int fd;
    char path[108];
    int sigint_handled;       /* console_sigint_install was called */
    sig_atomic_t sigint_base; /* console_sigint when the last request was sent */
    struct console_reply reply;
    char rbuf[65536]; /* bytes read from the socket, rbuf[roff..rlen) not yet parsed */
    size_t roff, rlen;
    char context[CONSOLE_REPLY_TERM_MAX + 1]; /* of the last terminator */
    /* the reply being waited for */
    struct buf out; /* held or collected output */
    int flags;
    int streaming; /* held output was flushed: print lines as they come */
    long lines;    /* output lines (pieces) of this reply so far */
    int64_t held_ns;
    int done;
    enum console_status status;
};

/* Counts SIGINTs once console_sigint_install ran. */
extern volatile sig_atomic_t console_sigint;

/* Installs the SIGINT handler that counts into console_sigint, without SA_RESTART so that
 * a blocking read (libedit's, or the wait's ppoll) returns EINTR. */
void console_sigint_install(struct console *c);

/* The socket path: sock if given, else VAR/luatrade.sock (var defaults to "var"). Returns
 * 0, or -1 with e filled when it does not fit in a sockaddr_un. */
int console_socket_path(const char *sock, const char *var, char *out, size_t n, struct err *e);

/* Connects to path and reads the greeting into c->out (COLLECT). Returns 0, or -1 with e
 * filled (a message naming the path and what to do; a refused peer's error message).
 * c->fd is -1 on failure. */
int console_connect(struct console *c, const char *path, struct err *e);
void console_close(struct console *c);

/* Sends n bytes. Returns 0, or -1 with e filled when the host has gone. */
int console_send(struct console *c, const void *p, size_t n, struct err *e);

/* Waits for one reply (flags above; timeout_ms < 0: forever). Without COLLECT the output
 * lines go to stdout as they come (held back while the reply may still be an error: an
 * error reply's lines go to stderr). Returns the status, or -1 with e filled (the host
 * closed the connection, a protocol error, a timeout, a second Ctrl-C). Updates
 * c->context. */
int console_wait(struct console *c, int flags, int timeout_ms, struct err *e);

/* Sends a request and waits for its reply: console_send then console_wait. */
int console_request(struct console *c, const void *p, size_t n, int flags, struct err *e);

/* The interactive loop (stdin and stdout are terminals). Returns the exit code. */
int console_interactive(struct console *c);

#endif
