/* console.c: `luatrade console`, the client of the host's console socket (issue 5;
 * docs/console.md). This file owns the options and the two non-interactive modes; the
 * connection and reply waits are console_conn.c, the line editor console_edit.c.
 *
 *   -e CODE (repeatable)  each CODE is sent as "\0eval N\n" + CODE, one reply each; the
 *                         output goes to stdout, an error reply to stderr, and the first
 *                         error stops the run with exit code 1. No greeting.
 *   stdin and stdout terminals   the interactive REPL (console_edit.c).
 *   otherwise             stdin's lines are sent as plain lines, one reply each, no
 *                         prompts and no greeting; exit code 1 when any reply was an
 *                         error or the input ended inside an incomplete chunk.
 *
 * Exit codes as everywhere in luatrade: 0 success, 1 runtime failure (no host, an error
 * reply, the connection lost), 2 usage error. */
#include "console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console_internal.h"
#include "util.h"

struct console_opts {
    const char *sock;
    const char *var;
    const char **codes;
    int ncodes;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: luatrade console [--socket PATH] [--var DIR] [-e CODE]...\n"
               "\n"
               "A Lua console attached to the running host (default socket: "
               "var/luatrade.sock).\n"
               "  --socket PATH  the host's console socket\n"
               "  --var DIR      the host's var directory: its socket is DIR/luatrade.sock\n"
               "  -e CODE        run CODE, print the result, exit (repeatable; exit code 1 at "
               "the\n"
               "                 first error)\n"
               "Without -e and with a terminal: an interactive REPL (history in "
               "$LUATRADE_HISTORY,\n"
               "else ~/.luatrade_history). Otherwise stdin's lines are evaluated in turn.\n");
}

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "luatrade console: ");
    fprintf(stderr, msg, arg);
    fprintf(stderr, "\n");
    usage(stderr);
    return 2;
}

/* Returns -1 to go on, else the exit code (0 after --help, 2 after a usage error). */
static int parse_args(int argc, char **argv, struct console_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            usage(stdout);
            return 0;
        }
        int takes = !strcmp(arg, "--socket") || !strcmp(arg, "--var") || !strcmp(arg, "-e");
        if (!takes)
            return usage_error(arg[0] == '-' ? "unknown flag '%s'"
                                             : "unexpected "
                                               "argument '%s'",
                               arg);
        if (i + 1 >= argc) return usage_error("%s needs a value", arg);
        const char *val = argv[++i];
        if (!strcmp(arg, "--socket")) o->sock = val;
        else if (!strcmp(arg, "--var")) o->var = val;
        else o->codes[o->ncodes++] = val;
    }
    return -1;
}

/* Runs each -e CODE. Returns the exit code. */
static int run_codes(struct console *c, const struct console_opts *o)
{
    for (int i = 0; i < o->ncodes; i++) {
        struct err e;
        size_t n = strlen(o->codes[i]);
        char head[64];
        int hn = snprintf(head, sizeof head, "%ceval %zu\n", '\0', n);
        int st = console_send(c, head, (size_t)hn, &e);
        if (st == 0) st = console_request(c, o->codes[i], n, 0, &e);
        if (st == CONSOLE_OK) continue;
        if (st == CONSOLE_MORE) fprintf(stderr, "luatrade: incomplete chunk in -e\n");
        if (st < 0) fprintf(stderr, "luatrade: %s\n", e.msg);
        return 1;
    }
    return 0;
}

/* Sends one line of stdin. Returns the reply's status, or -1 (message printed). */
static int pipe_line(struct console *c, struct buf *line, long lineno)
{
    struct err e;
    if (line->len && line->p[line->len - 1] == '\n') line->len--;
    if (memchr(line->p, '\0', line->len)) {
        fprintf(stderr, "luatrade: stdin line %ld contains a NUL byte\n", lineno);
        return -1;
    }
    buf_putc(line, '\n');
    int st = console_request(c, line->p, line->len, 0, &e);
    if (st < 0) fprintf(stderr, "luatrade: %s\n", e.msg);
    return st;
}

/* Forwards stdin's lines. Returns the exit code. */
static int run_pipe(struct console *c)
{
    struct buf line = BUF_INIT;
    char *p = NULL;
    size_t cap = 0;
    ssize_t n;
    int failed = 0, pending = 0;
    long lineno = 0;
    while ((n = getline(&p, &cap, stdin)) >= 0) {
        buf_reset(&line);
        buf_put(&line, p, (size_t)n);
        int st = pipe_line(c, &line, ++lineno);
        if (st < 0) {
            failed = 1;
            pending = 0;
            break;
        }
        failed |= st == CONSOLE_ERROR;
        pending = st == CONSOLE_MORE;
    }
    if (pending) fprintf(stderr, "luatrade: input ended inside an incomplete chunk\n");
    free(p);
    buf_free(&line);
    return failed || pending ? 1 : 0;
}

int console_main(int argc, char **argv)
{
    struct console_opts o = {.codes = xcalloc((size_t)argc, sizeof(char *))};
    struct console *c = xcalloc(1, sizeof *c);
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) goto done;
    char path[108];
    struct err e;
    rc = 1;
    if (console_socket_path(o.sock, o.var, path, sizeof path, &e) != 0 ||
        console_connect(c, path, &e) != 0) {
        fprintf(stderr, "luatrade: %s\n", e.msg);
        goto done;
    }
    if (o.ncodes) {
        rc = run_codes(c, &o);
    } else if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
        fwrite(c->out.p, 1, c->out.len, stdout);
        rc = console_interactive(c);
    } else {
        rc = run_pipe(c);
    }
done:
    console_close(c);
    free(c);
    free(o.codes);
    return rc;
}
