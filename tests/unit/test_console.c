/* Unit tests for the console client's reply parser (console_reply.c) and socket path
 * rule: lines and terminators with and without context, all three statuses, a stream of
 * replies fed in every chunking (one byte at a time, every two-way split) giving the same
 * events, the stop right after each terminator, lines past CONSOLE_REPLY_LINE_MAX in
 * pieces, NUL bytes (a terminator cutting a line short, a NUL inside a terminator),
 * malformed terminators failing for good, control bytes in the context. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "console_internal.h"
#include "console_reply.h"
#include "util.h"

/* The events as text: "L<line>|" for a whole line, "P<piece>|" for a partial piece,
 * "E<status>[<context>]|" for a terminator. */
static void on_line(void *ud, const char *p, size_t n, int partial)
{
    struct buf *t = ud;
    assert_null(memchr(p, '\0', n));
    buf_putc(t, partial ? 'P' : 'L');
    buf_put(t, p, n);
    buf_putc(t, '|');
}

static void on_end(void *ud, enum console_status st, const char *context)
{
    struct buf *t = ud;
    buf_printf(t, "E%s[%s]|", console_status_name(st), context);
}

static const struct console_reply_cb cb = {on_line, on_end};

/* Feeds all of p in chunks of at most step bytes (the split at `split` first when
 * nonzero), looping over the stops at terminators. Returns 0, or -1 on a protocol error. */
static int feed_all(struct console_reply *r, const char *p, size_t n, size_t step, size_t split,
                    struct buf *t)
{
    size_t off = 0;
    while (off < n) {
        size_t want = split && off < split ? split - off : MIN(step, n - off);
        ssize_t k = console_reply_feed(r, p + off, want, &cb, t);
        if (k < 0) return -1;
        assert_true(k > 0 && (size_t)k <= want);
        off += (size_t)k;
    }
    return 0;
}

/* The transcript of p parsed in one go (checked to succeed). */
static char *transcript(const char *p, size_t n)
{
    struct console_reply r;
    struct buf t = BUF_INIT;
    console_reply_init(&r);
    assert_int_equal(feed_all(&r, p, n, n, 0, &t), 0);
    buf_putc(&t, '\0');
    return t.p;
}

#define S(lit) lit, sizeof(lit) - 1

static void check(const char *p, size_t n, const char *want)
{
    char *got = transcript(p, n);
    assert_string_equal(got, want);
    free(got);
}

static void test_replies(void **s)
{
    check(S("\0ok\n"), "Eok[]|");
    check(S("2\n\0ok\n"), "L2|Eok[]|");
    check(S("a\nb\n\0ok sma_cross\n"), "La|Lb|Eok[sma_cross]|");
    check(S("\0more\n"), "Emore[]|");
    check(S("\0more sma\n"), "Emore[sma]|");
    check(S("console:1: boom\n\0error\n"), "Lconsole:1: boom|Eerror[]|");
    check(S("\0error a b\n"), "Eerror[a b]|");              /* the context is the rest */
    check(S("\n\n\0ok\n"), "L|L|Eok[]|");                   /* empty lines are lines */
    check(S("a\r\n\0ok\n"), "La\r|Eok[]|");                 /* a "\r" is the line's business */
    check(S("a\\0b\n\0ok\n"), "La\\0b|Eok[]|");             /* the host's escaped NUL */
    check(S("\0ok \n"), "Eok[]|");                          /* an empty context is none */
    check(S("\0ok a\x1b[31m\x7f\tz\n"), "Eok[a?[31m??z]|"); /* no escape reaches a prompt */
    check(S("\0ok \xc3\xa9t\xc3\xa9\n"), "Eok[\xc3\xa9t\xc3\xa9]|"); /* UTF-8 stays */
}

static void test_stops_after_terminator(void **s)
{
    struct console_reply r;
    struct buf t = BUF_INIT;
    console_reply_init(&r);
    const char in[] = "x\n\0ok\ny\n\0more\n";
    assert_int_equal(console_reply_feed(&r, in, sizeof in - 1, &cb, &t), 6);
    buf_putc(&t, '\0');
    assert_string_equal(t.p, "Lx|Eok[]|");
    assert_false(console_reply_pending(&r));
    buf_reset(&t);
    assert_int_equal(console_reply_feed(&r, in + 6, 2, &cb, &t), 2);
    assert_int_equal(console_reply_feed(&r, in + 8, sizeof in - 9, &cb, &t),
                     (ssize_t)sizeof in - 9);
    buf_putc(&t, '\0');
    assert_string_equal(t.p, "Ly|Emore[]|");
    assert_int_equal(console_reply_feed(&r, "", 0, &cb, &t), 0);
    buf_free(&t);
}

static void test_every_chunking(void **s)
{
    const char in[] = "luatrade 0.1.0 console: help() lists the helpers\n\0ok\n"
                      "\0more\n\0more\n1\n2\n\0ok\n"
                      "{x = 1}\n\0ok sma\n"
                      "console:1: attempt to call a nil value (global 'foo')\n\0error sma\n"
                      "cut short\0ok\n\0ok\n";
    size_t n = sizeof in - 1;
    char *want = transcript(in, n);
    assert_non_null(strstr(want, "Lcut short|Eok[]|Eok[]|"));
    for (size_t step = 1; step <= n; step++) {
        struct console_reply r;
        struct buf t = BUF_INIT;
        console_reply_init(&r);
        assert_int_equal(feed_all(&r, in, n, step, 0, &t), 0);
        buf_putc(&t, '\0');
        assert_string_equal(t.p, want);
        buf_free(&t);
    }
    for (size_t split = 1; split < n; split++) {
        struct console_reply r;
        struct buf t = BUF_INIT;
        console_reply_init(&r);
        assert_int_equal(feed_all(&r, in, n, n, split, &t), 0);
        buf_putc(&t, '\0');
        assert_string_equal(t.p, want);
        buf_free(&t);
    }
    free(want);
}

/* Pieces of a long line: their sizes and flags as "P16384,P16384,L5". */
static void on_piece(void *ud, const char *p, size_t n, int partial)
{
    struct buf *t = ud;
    for (size_t i = 0; i < n; i++) assert_int_equal(p[i], 'x');
    buf_printf(t, "%s%c%zu", t->len ? "," : "", partial ? 'P' : 'L', n);
}

/* A line of len 'x' bytes, then "\n\0ok\n", fed in odd chunks to cross the limit
 * mid-chunk: its pieces must be want. */
static void pieces(size_t len, const char *want)
{
    size_t n = len + 5;
    char *in = malloc(n);
    memset(in, 'x', len);
    memcpy(in + len, "\n\0ok\n", 5);
    struct console_reply_cb pcb = {on_piece, NULL};
    struct console_reply r;
    struct buf t = BUF_INIT;
    console_reply_init(&r);
    for (size_t off = 0; off < n;) {
        ssize_t k = console_reply_feed(&r, in + off, MIN((size_t)4099, n - off), &pcb, &t);
        assert_true(k > 0);
        off += (size_t)k;
    }
    buf_putc(&t, '\0');
    assert_string_equal(t.p, want);
    assert_false(console_reply_pending(&r));
    buf_free(&t);
    free(in);
}

static void test_long_lines(void **s)
{
    assert_int_equal(CONSOLE_REPLY_LINE_MAX, 16384);
    pieces(16384, "L16384");
    pieces(16385, "P16384,L1");
    pieces(2 * 16384 + 5, "P16384,P16384,L5");
    pieces(2 * 16384, "P16384,L16384");
}

/* A long line the terminator cuts short still ends with a whole-line piece. */
static void test_long_line_then_terminator(void **s)
{
    size_t len = 16384 + 3;
    char *in = malloc(len + 8);
    memset(in, 'x', len);
    memcpy(in + len, "\0ok\n", 4);
    struct console_reply_cb pcb = {on_piece, NULL};
    struct console_reply r;
    struct buf t = BUF_INIT;
    console_reply_init(&r);
    assert_int_equal(console_reply_feed(&r, in, len + 4, &pcb, &t), (ssize_t)len + 4);
    buf_putc(&t, '\0');
    assert_string_equal(t.p, "P16384,L3");
    buf_free(&t);
    free(in);
}

static void fails(const char *p, size_t n, const char *why)
{
    struct console_reply r;
    struct buf t = BUF_INIT;
    console_reply_init(&r);
    assert_string_equal(console_reply_error(&r), "");
    assert_int_equal(feed_all(&r, p, n, n, 0, &t), -1);
    assert_string_equal(console_reply_error(&r), why);
    assert_int_equal(console_reply_feed(&r, S("\0ok\n"), &cb, &t), -1); /* for good */
    buf_free(&t);
}

static void test_protocol_errors(void **s)
{
    fails(S("\0o\0k\n"), "NUL byte inside a reply terminator");
    fails(S("a\n\0\0"), "NUL byte inside a reply terminator");
    fails(S("\0bogus\n"), "unknown reply status");
    fails(S("\0\n"), "unknown reply status");
    fails(S("\0OK\n"), "unknown reply status");
    fails(S("\0ok\r\n"), "unknown reply status"); /* the terminator has no "\r" */
    fails(S("\0okay sma\n"), "unknown reply status");
    char big[CONSOLE_REPLY_TERM_MAX + 8];
    big[0] = '\0';
    memcpy(big + 1, "ok ", 3);
    memset(big + 4, 'c', sizeof big - 5);
    big[sizeof big - 1] = '\n';
    fails(big, sizeof big, "reply terminator too long");
    /* the longest allowed terminator is fine */
    big[CONSOLE_REPLY_TERM_MAX + 1] = '\n';
    char *got = transcript(big, CONSOLE_REPLY_TERM_MAX + 2);
    assert_int_equal(strlen(got), strlen("Eok[]|") + CONSOLE_REPLY_TERM_MAX - 3);
    free(got);
}

static void test_pending(void **s)
{
    struct console_reply r;
    console_reply_init(&r);
    assert_false(console_reply_pending(&r));
    assert_int_equal(console_reply_feed(&r, S("ab"), NULL, NULL), 2);
    assert_true(console_reply_pending(&r));
    assert_int_equal(console_reply_feed(&r, S("\n"), NULL, NULL), 1);
    assert_false(console_reply_pending(&r));
    assert_int_equal(console_reply_feed(&r, S("\0o"), NULL, NULL), 2);
    assert_true(console_reply_pending(&r));
    assert_int_equal(console_reply_feed(&r, S("k\n"), NULL, NULL), 2);
    assert_false(console_reply_pending(&r));
    assert_string_equal(console_status_name(CONSOLE_MORE), "more");
}

static void test_socket_path(void **s)
{
    char out[108];
    struct err e;
    assert_int_equal(console_socket_path(NULL, NULL, out, sizeof out, &e), 0);
    assert_string_equal(out, "var/luatrade.sock");
    assert_int_equal(console_socket_path(NULL, "/srv/lt", out, sizeof out, &e), 0);
    assert_string_equal(out, "/srv/lt/luatrade.sock");
    assert_int_equal(console_socket_path("/tmp/x.sock", "/srv/lt", out, sizeof out, &e), 0);
    assert_string_equal(out, "/tmp/x.sock");
    char longdir[200];
    memset(longdir, 'd', sizeof longdir - 1);
    longdir[sizeof longdir - 1] = '\0';
    assert_int_equal(console_socket_path(NULL, longdir, out, sizeof out, &e), -1);
    assert_non_null(strstr(e.msg, "socket path too long"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_stops_after_terminator),
        cmocka_unit_test(test_every_chunking),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_long_line_then_terminator),
        cmocka_unit_test(test_protocol_errors),
        cmocka_unit_test(test_pending),
        cmocka_unit_test(test_socket_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
