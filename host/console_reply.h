/* console_reply.h: the console client's reply parser, a pure function of the bytes the
 * host sends (docs/console.md, the wire protocol). A reply is zero or more output lines,
 * then one terminator line "\0" STATUS [" " CONTEXT] "\n".
 *
 * Feed it bytes in any chunking; it calls back once per output line and once per
 * terminator, and stops right after each terminator so that the caller decides what the
 * bytes after it belong to. Any byte sequence is safe to feed (it is fuzzed); a protocol
 * violation makes the parser fail for good. No allocation, no I/O, no Lua. */
#ifndef LUATRADE_CONSOLE_REPLY_H
#define LUATRADE_CONSOLE_REPLY_H

#include <stddef.h>
#include <sys/types.h>

/* An output line longer than this comes in pieces of this size (partial = 1). */
#define CONSOLE_REPLY_LINE_MAX 16384
/* A terminator line ("ok sma_cross", without the NUL and the "\n") longer than this is a
 * protocol error. */
#define CONSOLE_REPLY_TERM_MAX 256

enum console_status { CONSOLE_OK, CONSOLE_ERROR, CONSOLE_MORE };

struct console_reply_cb {
    /* One output line, without its "\n"; p never contains a NUL byte. partial = 1: the
     * line was longer than CONSOLE_REPLY_LINE_MAX and continues in the next call; the
     * last piece of every line comes with partial = 0. A line the host cut short with a
     * NUL (a terminator without a "\n" before it) is delivered as a whole line. */
    void (*line)(void *ud, const char *p, size_t n, int partial);
    /* The terminator. context is "" when the host sent none; it is NUL-terminated, at
     * most CONSOLE_REPLY_TERM_MAX bytes, and its control bytes are replaced by '?' (it
     * goes into a prompt). Valid only during the call. */
    void (*end)(void *ud, enum console_status status, const char *context);
};

struct console_reply {
    char buf[CONSOLE_REPLY_LINE_MAX + 1]; /* the line or terminator being read */
    size_t len;
    int in_term;    /* after the NUL of a terminator */
    int continuing; /* a partial piece of the current line was delivered */
    int failed;
    char error[128];
};

void console_reply_init(struct console_reply *r);

/* Parses up to n bytes of p, calling cb's functions (either may be NULL) with ud.
 * Stops right after a terminator. Returns the number of bytes consumed (n, or fewer when
 * a terminator ended a reply), or -1 on a protocol error (a NUL inside a terminator, a
 * terminator too long, an unknown status): then every later call returns -1 too and
 * console_reply_error says what was wrong. */
ssize_t console_reply_feed(struct console_reply *r, const char *p, size_t n,
                           const struct console_reply_cb *cb, void *ud);

/* 1 when the parser holds bytes of a reply it has not finished delivering (a line
 * without its "\n", a partial line, or a terminator without its "\n"). */
int console_reply_pending(const struct console_reply *r);

/* What the protocol error was, or "" when none. */
const char *console_reply_error(const struct console_reply *r);

/* "ok", "error" or "more". */
const char *console_status_name(enum console_status s);

#endif
