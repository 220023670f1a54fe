/* console_conn.c: the console client's connection: connect to the host's unix socket,
 * send requests, wait for one reply at a time (console_internal.h has the contracts).
 *
 * A wait reads the socket into c->rbuf and feeds the reply parser (console_reply.c) until
 * a terminator. Bytes after the terminator stay in c->rbuf for the next wait. Output
 * lines are held back in c->out while the reply may still turn out to be an error (whose
 * lines go to stderr); a reply that keeps streaming (tail) is recognised by its held
 * output growing old or big, and from then on its lines are printed as they arrive.
 *
 * Signals: when the interactive loop installed the SIGINT counter, SIGINT is blocked
 * for the whole wait and let through only inside ppoll, so a Ctrl-C is never lost
 * between a check and the sleep; the bytes that came before it are parsed before it is
 * looked at. In a stoppable wait a Ctrl-C sends "\0stop\n" once the reply has printed
 * something (a stream), only explains itself before that, and gives up on the reply the
 * next time (see interrupted()). Any other wait (a completion round trip, run from
 * inside libedit) discards a Ctrl-C that arrived meanwhile, because libedit's own
 * handler would otherwise switch the terminal to cooked mode under its feet. Without the
 * counter (the one-shot modes) SIGINT keeps its default action. */
#include "console_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

volatile sig_atomic_t console_sigint;

static void on_sigint(int sig)
{
    (void)sig;
    console_sigint++;
}

void console_sigint_install(struct console *c)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    c->sigint_handled = 1;
}

int console_socket_path(const char *sock, const char *var, char *out, size_t n, struct err *e)
{
    char path[4096];
    if (sock) util_strlcpy(path, sock, sizeof path);
    else snprintf(path, sizeof path, "%s/luatrade.sock", var ? var : "var");
    size_t max = MIN(n, sizeof(((struct sockaddr_un *)0)->sun_path));
    if (strlen(path) >= max)
        return err_set(e, "socket path too long (%zu bytes, at most %zu): %s", strlen(path),
                       max - 1, path);
    util_strlcpy(out, path, n);
    return 0;
}

static int connect_error(const char *path, int errnum, struct err *e)
{
    switch (errnum) {
    case ENOENT:
        return err_set(e,
                       "no console socket at %s: is the host running? Start it with "
                       "'luatrade run', or point at its socket with --var DIR or --socket PATH",
                       path);
    case ECONNREFUSED:
        return err_set(e,
                       "nothing listens on %s (the host is not running, or it stopped "
                       "without removing its socket): start it with 'luatrade run'",
                       path);
    case EACCES:
    case EPERM:
        return err_set(e,
                       "permission denied on %s: the socket belongs to the user running the "
                       "host (mode 0600); run the console as that user",
                       path);
    default:
        return err_set(e, "cannot connect to %s: %s", path, strerror(errnum));
    }
}

/* The held output as one message for an error: its lines, without the last "\n". */
static const char *held_message(struct console *c)
{
    while (c->out.len && c->out.p[c->out.len - 1] == '\n') c->out.p[--c->out.len] = '\0';
    return c->out.len ? c->out.p : "(no message)";
}

int console_connect(struct console *c, const char *path, struct err *e)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    console_reply_init(&c->reply);
    c->roff = c->rlen = 0;
    c->context[0] = '\0';
    util_strlcpy(c->path, path, sizeof c->path);
    if (strlen(path) >= sizeof sa.sun_path) return err_set(e, "socket path too long: %s", path);
    util_strlcpy(sa.sun_path, path, sizeof sa.sun_path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) return err_set(e, "socket: %s", strerror(errno));
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int errnum = errno;
        console_close(c);
        return connect_error(path, errnum, e);
    }
    int st = console_wait(c, CONSOLE_WAIT_COLLECT, CONSOLE_GREETING_TIMEOUT_MS, e);
    if (st == CONSOLE_OK) return 0;
    if (st == CONSOLE_ERROR)
        err_set(e, "%s: the host refused the console: %s", path, held_message(c));
    else if (st == CONSOLE_MORE) err_set(e, "%s: unexpected greeting ('more')", path);
    else err_prefix(e, "%s: no greeting from the host", path);
    console_close(c);
    return -1;
}

void console_close(struct console *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    buf_free(&c->out);
}

int console_send(struct console *c, const void *p, size_t n, struct err *e)
{
    const char *q = p;
    c->sigint_base = console_sigint; /* a Ctrl-C from here on is about this request */
    while (n > 0) {
        ssize_t k = send(c->fd, q, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return err_set(e, "the host closed the connection (%s)", strerror(errno));
        q += k;
        n -= (size_t)k;
    }
    return 0;
}

static void write_out(FILE *f, const char *p, size_t n)
{
    if (n) fwrite(p, 1, n, f);
    fflush(f);
}

/* Prints the held output (to stdout: a stream) and prints what follows as it comes. */
static void start_streaming(struct console *c)
{
    write_out(stdout, c->out.p, c->out.len);
    buf_reset(&c->out);
    c->streaming = 1;
}

static void on_line(void *ud, const char *p, size_t n, int partial)
{
    struct console *c = ud;
    c->lines++;
    if (c->flags & CONSOLE_WAIT_COLLECT) {
        if (c->out.len + n + 1 > CONSOLE_COLLECT_MAX) return;
        buf_put(&c->out, p, n);
        if (!partial) buf_putc(&c->out, '\n');
        return;
    }
    if (c->streaming) {
        fwrite(p, 1, n, stdout);
        if (!partial) fputc('\n', stdout);
        return;
    }
    if (!c->out.len) c->held_ns = mono_ns();
    buf_put(&c->out, p, n);
    if (!partial) buf_putc(&c->out, '\n');
    if (c->out.len > CONSOLE_HOLD_BYTES) start_streaming(c);
}

static void on_end(void *ud, enum console_status status, const char *context)
{
    struct console *c = ud;
    c->done = 1;
    c->status = status;
    util_strlcpy(c->context, context, sizeof c->context);
}

static const struct console_reply_cb reply_cb = {on_line, on_end};

/* Feeds the unparsed bytes. Returns 1 when the reply ended, 0 when more are needed, -1. */
static int parse_buffered(struct console *c, struct err *e)
{
    ssize_t k = console_reply_feed(&c->reply, c->rbuf + c->roff, c->rlen - c->roff, &reply_cb, c);
    if (k < 0) return err_set(e, "protocol error: %s", console_reply_error(&c->reply));
    c->roff += (size_t)k;
    if (c->roff == c->rlen) c->roff = c->rlen = 0;
    if (c->streaming) fflush(stdout);
    return c->done;
}

/* Milliseconds ppoll may sleep: until the overall deadline or the held output's. */
static int64_t sleep_ms(struct console *c, int64_t deadline_ns)
{
    int64_t now = mono_ns(), until = deadline_ns;
    if (c->out.len && !c->streaming && !(c->flags & CONSOLE_WAIT_COLLECT)) {
        int64_t hold = c->held_ns + (int64_t)CONSOLE_HOLD_MS * 1000000;
        if (until < 0 || hold < until) until = hold;
    }
    if (until < 0) return -1;
    return until > now ? (until - now + 999999) / 1000000 : 0;
}

/* What the Ctrl-Cs of one stoppable wait did so far. */
struct presses {
    sig_atomic_t start; /* console_sigint when the request was sent */
    int handled;
    int hinted, stop_sent;
};

/* One Ctrl-C during a stoppable wait. Returns 0 to go on waiting, or -1. "\0stop" goes
 * only to a reply that has printed something: a stream (tail) always has, while a chunk
 * still running has not, and a stop that reaches the host outside a stream would get a
 * reply of its own, which the next request would take for its own. So the first Ctrl-C
 * before any output only says what is going on; the next one (or the one after the
 * stop) gives up on the reply. */
static int interrupted(struct console *c, struct presses *pr, struct err *e)
{
    if (c->lines && !pr->stop_sent) {
        pr->stop_sent = 1;
        if (!c->streaming) start_streaming(c); /* a stream it is */
        fputc('\n', stdout);                   /* after the "^C" the terminal echoed */
        return console_send(c, "\0stop\n", 6, e);
    }
    if (!c->lines && !pr->hinted && !pr->stop_sent) {
        pr->hinted = 1;
        fputs("\n(the host is still working on it: Ctrl-C again leaves the console)\n", stderr);
        return 0;
    }
    return err_set(e, "interrupted");
}

/* Handles the Ctrl-Cs not handled yet. Returns 0, or -1 with e filled. */
static int take_presses(struct console *c, struct presses *pr, struct err *e)
{
    if (!(c->flags & CONSOLE_WAIT_STOPPABLE)) return 0;
    while (pr->handled < (int)(console_sigint - pr->start)) {
        pr->handled++;
        if (interrupted(c, pr, e) != 0) return -1;
    }
    return 0;
}

/* Takes what the socket already holds, without waiting. Returns 1 when bytes came, 0
 * when none were there, -1 with e filled when the host has gone. */
static int read_ready(struct console *c, struct err *e)
{
    ssize_t n = recv(c->fd, c->rbuf, sizeof c->rbuf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 0;
    if (n == 0 || (n < 0 && errno == ECONNRESET))
        return err_set(e, "the host closed the connection");
    if (n < 0) return err_set(e, "read: %s", strerror(errno));
    c->roff = 0;
    c->rlen = (size_t)n;
    return 1;
}

/* Sleeps until the socket is readable, a Ctrl-C, the held output's deadline (which
 * starts streaming it) or the overall deadline (-1, e filled). Returns 0 or -1. */
static int sleep_ready(struct console *c, int64_t deadline_ns, const sigset_t *mask, struct err *e)
{
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    int64_t ms = sleep_ms(c, deadline_ns);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    int r = ppoll(&pfd, 1, ms < 0 ? NULL : &ts, mask);
    if (r < 0 && errno != EINTR) return err_set(e, "poll: %s", strerror(errno));
    if (r != 0) return 0;
    if (deadline_ns >= 0 && mono_ns() >= deadline_ns)
        return err_set(e, "no reply in time (is the host stuck?)");
    if (c->out.len && !c->streaming && !(c->flags & CONSOLE_WAIT_COLLECT)) start_streaming(c);
    return 0;
}

/* Drops a SIGINT that arrived while it was blocked. */
static void discard_sigint(void)
{
    sigset_t pending, only;
    sigpending(&pending);
    if (!sigismember(&pending, SIGINT)) return;
    sigemptyset(&only);
    sigaddset(&only, SIGINT);
    struct timespec zero = {0, 0};
    sigtimedwait(&only, NULL, &zero);
}

/* The wait loop proper, signal mask already set. */
static int wait_loop(struct console *c, int timeout_ms, const sigset_t *mask, struct err *e)
{
    int64_t deadline = timeout_ms < 0 ? -1 : mono_ns() + (int64_t)timeout_ms * 1000000;
    struct presses pr = {.start = c->sigint_base};
    for (;;) {
        int rc = parse_buffered(c, e);
        if (rc != 0) return rc < 0 ? -1 : (int)c->status;
        rc = read_ready(c, e); /* what came before a Ctrl-C counts first */
        if (rc < 0) return -1;
        if (rc > 0) continue;
        if (take_presses(c, &pr, e) != 0 || sleep_ready(c, deadline, mask, e) != 0) return -1;
    }
}

int console_wait(struct console *c, int flags, int timeout_ms, struct err *e)
{
    c->flags = flags;
    c->streaming = 0;
    c->done = 0;
    c->lines = 0;
    buf_reset(&c->out);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    if (c->sigint_handled) sigprocmask(SIG_BLOCK, &block, &old);
    const sigset_t *mask = c->sigint_handled && (flags & CONSOLE_WAIT_STOPPABLE) ? &old : NULL;
    int rc = wait_loop(c, timeout_ms, mask, e);
    if (!(flags & CONSOLE_WAIT_COLLECT)) {
        int to_err = rc == CONSOLE_ERROR || rc < 0;
        write_out(to_err ? stderr : stdout, c->out.p, c->out.len);
        buf_reset(&c->out);
    }
    if (c->sigint_handled) {
        if (!(flags & CONSOLE_WAIT_STOPPABLE)) discard_sigint();
        sigprocmask(SIG_SETMASK, &old, NULL);
    }
    return rc;
}

int console_request(struct console *c, const void *p, size_t n, int flags, struct err *e)
{
    if (console_send(c, p, n, e) != 0) return -1;
    return console_wait(c, flags, -1, e);
}
