/* console_reply.c: splits the host's console byte stream into output lines and reply
 * terminators (console_reply.h has the contract).
 *
 * The state is one buffer plus two flags. Outside a terminator, bytes accumulate into
 * the current output line until "\n" (the line is delivered) or a NUL (the line, if any,
 * is delivered and a terminator starts). A line that fills the buffer is delivered as a
 * partial piece, so memory stays bounded whatever the host sends. Inside a terminator,
 * bytes accumulate until "\n"; then the status word is checked and the context is made
 * safe for a prompt. The parser returns right after a terminator so that the caller,
 * which sends one request at a time, keeps the following bytes for the next reply.
 *
 * The host never puts a NUL inside an output line (it writes "\\0"), so a NUL always
 * starts a terminator; being lenient about a terminator that interrupts a line costs
 * nothing, while a malformed terminator is a protocol error: the client cannot know
 * where the reply ended, so it must give up on the connection. */
#include "console_reply.h"

#include <stdio.h>
#include <string.h>

void console_reply_init(struct console_reply *r)
{
    memset(r, 0, sizeof *r);
}

static ssize_t fail(struct console_reply *r, const char *msg)
{
    r->failed = 1;
    snprintf(r->error, sizeof r->error, "%s", msg);
    return -1;
}

static void emit_line(struct console_reply *r, const struct console_reply_cb *cb, void *ud,
                      int partial)
{
    if (cb && cb->line) cb->line(ud, r->buf, r->len, partial);
    r->len = 0;
    r->continuing = partial;
}

/* Checks the terminator in r->buf and delivers it. Returns 0 or -1. */
static int finish_term(struct console_reply *r, const struct console_reply_cb *cb, void *ud)
{
    r->buf[r->len] = '\0';
    char *status = r->buf;
    char *context = strchr(status, ' ');
    if (context) *context++ = '\0';
    else context = status + r->len;
    enum console_status st;
    if (!strcmp(status, "ok")) st = CONSOLE_OK;
    else if (!strcmp(status, "error")) st = CONSOLE_ERROR;
    else if (!strcmp(status, "more")) st = CONSOLE_MORE;
    else return (int)fail(r, "unknown reply status");
    for (char *q = context; *q; q++)
        if ((unsigned char)*q < 0x20 || *q == 0x7f) *q = '?';
    r->len = 0;
    r->in_term = 0;
    if (cb && cb->end) cb->end(ud, st, context);
    return 0;
}

/* One byte inside a terminator. Returns 1 when the terminator ended, 0 to go on, -1. */
static int term_byte(struct console_reply *r, char c, const struct console_reply_cb *cb, void *ud)
{
    if (c == '\n') return finish_term(r, cb, ud) ? -1 : 1;
    if (c == '\0') return (int)fail(r, "NUL byte inside a reply terminator");
    if (r->len == CONSOLE_REPLY_TERM_MAX) return (int)fail(r, "reply terminator too long");
    r->buf[r->len++] = c;
    return 0;
}

static void line_byte(struct console_reply *r, char c, const struct console_reply_cb *cb, void *ud)
{
    if (c == '\n') {
        emit_line(r, cb, ud, 0);
    } else if (c == '\0') {
        if (r->len || r->continuing) emit_line(r, cb, ud, 0);
        r->in_term = 1;
    } else {
        if (r->len == CONSOLE_REPLY_LINE_MAX) emit_line(r, cb, ud, 1);
        r->buf[r->len++] = c;
    }
}

ssize_t console_reply_feed(struct console_reply *r, const char *p, size_t n,
                           const struct console_reply_cb *cb, void *ud)
{
    if (r->failed) return -1;
    for (size_t i = 0; i < n; i++) {
        if (!r->in_term) {
            line_byte(r, p[i], cb, ud);
            continue;
        }
        int rc = term_byte(r, p[i], cb, ud);
        if (rc < 0) return -1;
        if (rc > 0) return (ssize_t)(i + 1);
    }
    return (ssize_t)n;
}

int console_reply_pending(const struct console_reply *r)
{
    return r->len > 0 || r->in_term || r->continuing;
}

const char *console_reply_error(const struct console_reply *r)
{
    return r->failed ? r->error : "";
}

const char *console_status_name(enum console_status s)
{
    switch (s) {
    case CONSOLE_OK:
        return "ok";
    case CONSOLE_ERROR:
        return "error";
    case CONSOLE_MORE:
        return "more";
    }
    return "?";
}
