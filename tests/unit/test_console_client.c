/* Unit tests for `luatrade console` in its non-interactive modes (console.c,
 * console_conn.c) against a scripted fake host: a thread on a unix socket that answers
 * each request from a table and records what it received. Covered: -e results on stdout
 * and no greeting; an error reply on stderr, exit code 1 and no later -e sent; `more`
 * from an eval; stdin's lines as plain lines with exit code 1 after an error or inside an
 * incomplete chunk; a NUL byte on stdin; a refused connection; a host that closes
 * mid-reply; a stream's lines printed before its terminator; --var and --socket; no
 * socket; usage errors. The interactive mode needs a terminal: tests/console/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "console.h"
#include "console_internal.h"
#include "util.h"

/* The fake host's answers: a request (an eval's code or a plain line) and the bytes of
 * its reply; delay_ms before the part after '|' when the reply holds one. */
struct answer {
    const char *req;
    const char *reply; /* NUL written as '@' (the table is C strings) */
    int delay_ms;
};

static const struct answer answers[] = {
    {"1+1", "2\n@ok\n", 0},
    {"x = 5", "@ok\n", 0},
    {"boom()", "console:1: boom\n@error\n", 0},
    {"for i = 1, 2 do", "@more\n", 0},
    {"end", "1\n2\n@ok\n", 0},
    {"attach('s')", "attached\n@ok s\n", 0},
    {"tail()", "tail 1\n|tail 2\n@error\n", 400},
    {"quick_error()", "e 1\ne 2\n@error\n", 0},
    {"bye()", "partial\n", 0},
};

struct fake {
    char dir[64];
    char path[128];
    int lfd;
    const char *greeting;
    struct buf got;   /* every request, "\n"-separated (see read_request) */
    pthread_t client; /* the thread running the client, for the Ctrl-C tests */
    pthread_t th;
};

static void send_reply(int fd, const char *reply, int delay_ms)
{
    char tmp[256];
    size_t n = util_strlcpy(tmp, reply, sizeof tmp);
    for (size_t i = 0; i < n; i++)
        if (tmp[i] == '@') tmp[i] = '\0';
    char *bar = memchr(tmp, '|', n);
    size_t first = bar ? (size_t)(bar - tmp) : n;
    if (send(fd, tmp, first, MSG_NOSIGNAL) != (ssize_t)first) return; /* client gone */
    if (!bar) return;
    usleep((useconds_t)delay_ms * 1000);
    if (send(fd, bar + 1, n - first - 1, MSG_NOSIGNAL) < 0) return;
}

static int read_request(int fd, char *out, size_t cap);

/* "stream()": a line, a Ctrl-C to the client, then the stream goes on until a request
 * comes. "slow()": a Ctrl-C to the client, then an error reply without output after a
 * while; presses: how many Ctrl-C. */
static int answer_special(struct fake *f, int fd, const char *code)
{
    int presses = !strcmp(code, "stream()") || !strcmp(code, "slow()")     ? 1
                  : !strcmp(code, "stream2()") || !strcmp(code, "slow2()") ? 2
                                                                           : 0;
    if (!presses) return 0;
    int stream = !strncmp(code, "stream", 6);
    if (stream) send_reply(fd, "tail 1\n", 0);
    for (int i = 0; i < presses; i++) {
        pthread_kill(f->client, SIGINT);
        usleep(100 * 1000); /* let the client take it before the next */
    }
    if (!stream) {
        send_reply(fd, "@error\n", 0);
        return 1;
    }
    char req[4096];
    if (read_request(fd, req, sizeof req) != 0) return 1;
    buf_printf(&f->got, "%s\n", req);
    send_reply(fd, "tail stopped\n@ok\n", 0);
    return 1;
}

/* Answers one request; returns -1 when the connection is to be closed. */
static int answer(struct fake *f, int fd, char *req)
{
    buf_printf(&f->got, "%s\n", req);
    if (answer_special(f, fd, strncmp(req, "eval:", 5) ? req : req + 5)) return 0;
    char code[4096];
    util_strlcpy(code, strncmp(req, "eval:", 5) ? req : req + 5, sizeof code);
    size_t n = strlen(code);
    if (n && code[n - 1] == '\r') code[n - 1] = '\0'; /* as the host does */
    for (size_t i = 0; i < ARRAY_LEN(answers); i++) {
        if (strcmp(code, answers[i].req)) continue;
        send_reply(fd, answers[i].reply, answers[i].delay_ms);
        return strcmp(code, "bye()") ? 0 : -1;
    }
    send_reply(fd, "unknown\n@error\n", 0);
    return 0;
}

/* Reads one request: a plain line, "\0eval N\n" and N bytes (as "eval:CODE"), or
 * another control line (as "ctl:NAME"). */
static int read_request(int fd, char *out, size_t cap)
{
    size_t n = 0;
    char c = 0;
    ssize_t k = 0;
    while (n + 1 < cap && (k = read(fd, &c, 1)) == 1 && c != '\n') out[n++] = c;
    out[n] = '\0';
    if (k != 1) return -1; /* the client closed */
    if (n > 5 && !memcmp(out, "\0eval ", 6)) {
        size_t len = strtoul(out + 6, NULL, 10);
        assert_true(len + 6 < cap);
        memcpy(out, "eval:", 5);
        for (size_t i = 0; i < len; i++)
            if (read(fd, out + 5 + i, 1) != 1) return -1;
        out[5 + len] = '\0';
    } else if (n && out[0] == '\0') {
        memmove(out + 4, out + 1, n); /* "\0stop" as "ctl:stop" */
        memcpy(out, "ctl:", 4);
    }
    return 0;
}

static void *serve(void *arg)
{
    struct fake *f = arg;
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, NULL); /* Ctrl-C is the client's */
    int fd = accept(f->lfd, NULL, NULL);
    if (fd < 0) return NULL;
    send_reply(fd, f->greeting, 0);
    char req[4096];
    while (read_request(fd, req, sizeof req) == 0)
        if (answer(f, fd, req) != 0) break;
    close(fd);
    return NULL;
}

static void fake_start(struct fake *f, const char *greeting)
{
    memset(f, 0, sizeof *f);
    strcpy(f->dir, "/tmp/lt_console_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/luatrade.sock", f->dir);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    util_strlcpy(sa.sun_path, f->path, sizeof sa.sun_path);
    f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(f->lfd, 4), 0);
    f->client = pthread_self();
    f->greeting = greeting ? greeting : "luatrade 0.1.0 console: help() lists the helpers\n@ok\n";
    assert_int_equal(pthread_create(&f->th, NULL, serve, f), 0);
}

static void fake_stop(struct fake *f)
{
    shutdown(f->lfd, SHUT_RDWR); /* wakes accept when the client never connected */
    pthread_join(f->th, NULL);
    close(f->lfd);
    unlink(f->path);
    rmdir(f->dir);
    buf_putc(&f->got, '\0'); /* f->got.p is a string from here on */
}

struct run {
    int rc;
    char out[4096], err[4096];
};

static void slurp(FILE *f, char *dst, size_t cap)
{
    rewind(f);
    size_t n = fread(dst, 1, cap - 1, f);
    dst[n] = '\0';
    fclose(f);
}

/* Runs console_main with stdout and stderr captured and stdin from the n bytes of input. */
static void run_n(struct run *r, const char *input, size_t n, char **argv)
{
    int argc = 0;
    while (argv[argc]) argc++;
    FILE *in = tmpfile(), *out = tmpfile(), *err = tmpfile();
    if (n) fwrite(input, 1, n, in);
    fflush(in);
    rewind(in);
    fflush(stdout);
    fflush(stderr);
    int save[3] = {dup(0), dup(1), dup(2)};
    dup2(fileno(in), 0);
    dup2(fileno(out), 1);
    dup2(fileno(err), 2);
    clearerr(stdin);
    r->rc = console_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < 3; i++) {
        dup2(save[i], i);
        close(save[i]);
    }
    clearerr(stdin);
    fclose(in);
    slurp(out, r->out, sizeof r->out);
    slurp(err, r->err, sizeof r->err);
}

static void run(struct run *r, const char *input, char **argv)
{
    run_n(r, input, input ? strlen(input) : 0, argv);
}

#define ARGV(...) ((char *[]){"console", __VA_ARGS__, NULL})

static void test_eval(void **s)
{
    struct fake f;
    struct run r;
    fake_start(&f, NULL);
    run(&r, NULL, ARGV("--socket", f.path, "-e", "1+1", "-e", "x = 5", "-e", "attach('s')"));
    fake_stop(&f);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, "2\nattached\n"); /* no greeting */
    assert_string_equal(r.err, "");
    assert_string_equal(f.got.p, "eval:1+1\neval:x = 5\neval:attach('s')\n");
    buf_free(&f.got);
}

static void test_eval_error_stops(void **s)
{
    struct fake f;
    struct run r;
    fake_start(&f, NULL);
    run(&r, NULL, ARGV("--socket", f.path, "-e", "1+1", "-e", "boom()", "-e", "x = 5"));
    fake_stop(&f);
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.out, "2\n");
    assert_string_equal(r.err, "console:1: boom\n");
    assert_string_equal(f.got.p, "eval:1+1\neval:boom()\n"); /* x = 5 never sent */
    buf_free(&f.got);
}

static void test_eval_more(void **s)
{
    struct fake f;
    struct run r;
    fake_start(&f, NULL);
    run(&r, NULL, ARGV("--socket", f.path, "-e", "for i = 1, 2 do"));
    fake_stop(&f);
    assert_int_equal(r.rc, 1);
    assert_non_null(strstr(r.err, "incomplete chunk"));
    buf_free(&f.got);
}

static void test_stdin_lines(void **s)
{
    struct fake f;
    struct run r;
    fake_start(&f, NULL);
    run(&r, "1+1\nfor i = 1, 2 do\r\nend\nx = 5", ARGV("--var", f.dir));
    fake_stop(&f);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, "2\n1\n2\n"); /* no greeting, no prompts */
    assert_string_equal(r.err, "");
    /* the "\r" is the host's to drop; a last line without "\n" is sent all the same */
    assert_string_equal(f.got.p, "1+1\nfor i = 1, 2 do\r\nend\nx = 5\n");
    buf_free(&f.got);
}

static void test_stdin_error_goes_on(void **s)
{
    struct fake f;
    struct run r;
    fake_start(&f, NULL);
    run(&r, "boom()\n1+1\n", ARGV("--socket", f.path));
    fake_stop(&f);
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.out, "2\n");
    assert_string_equal(r.err, "console:1: boom\n");
    buf_free(&f.got);
}

static void test_stdin_incomplete(void **s)
{
    struct fake f;
    struct run r;
    fake_start(&f, NULL);
    run(&r, "1+1\nfor i = 1, 2 do\n", ARGV("--socket", f.path));
    fake_stop(&f);
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.out, "2\n");
    assert_non_null(strstr(r.err, "input ended inside an incomplete chunk"));
    buf_free(&f.got);
}

static void test_stdin_nul(void **s)
{
    struct fake f;
    struct run r;
    fake_start(&f, NULL);
    run_n(&r, "1+1\nx\0y\n1+1\n", 12, ARGV("--socket", f.path));
    fake_stop(&f);
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.out, "2\n");
    assert_string_equal(r.err, "luatrade: stdin line 2 contains a NUL byte\n");
    assert_string_equal(f.got.p, "1+1\n"); /* never a control line by accident */
    buf_free(&f.got);
}

static void test_refused(void **s)
{
    struct fake f;
    struct run r;
    fake_start(&f, "console: uid 1234 is not the host owner\n@error\n");
    run(&r, NULL, ARGV("--socket", f.path, "-e", "1+1"));
    fake_stop(&f);
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "the host refused the console: console: uid 1234 is not"));
    assert_string_equal(f.got.p, "");
    buf_free(&f.got);
}

static void test_host_closes(void **s)
{
    struct fake f;
    struct run r;
    fake_start(&f, NULL);
    run(&r, NULL, ARGV("--socket", f.path, "-e", "bye()", "-e", "1+1"));
    fake_stop(&f);
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "partial\nluatrade: the host closed the connection\n");
    buf_free(&f.got);
}

/* An error reply's lines go to stderr, unless they were already streaming to stdout. */
static void test_stream_then_error(void **s)
{
    struct fake f;
    struct run r;
    fake_start(&f, NULL);
    run(&r, NULL, ARGV("--socket", f.path, "-e", "quick_error()"));
    fake_stop(&f);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "e 1\ne 2\n");
    buf_free(&f.got);
    fake_start(&f, NULL);
    run(&r, NULL, ARGV("--socket", f.path, "-e", "tail()"));
    fake_stop(&f);
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.out, "tail 1\ntail 2\n");
    assert_string_equal(r.err, "");
    buf_free(&f.got);
}

/* Runs one stoppable request the way the interactive loop does. Returns its status. */
static int stoppable(struct fake *f, const char *code, struct run *r, struct err *e)
{
    struct console *c = xcalloc(1, sizeof *c);
    FILE *out = tmpfile(), *err = tmpfile();
    fflush(stdout);
    fflush(stderr);
    int save[2] = {dup(1), dup(2)};
    dup2(fileno(out), 1);
    dup2(fileno(err), 2);
    int st = console_connect(c, f->path, e);
    assert_int_equal(st, 0);
    console_sigint_install(c);
    struct buf req = BUF_INIT;
    buf_printf(&req, "%s\n", code);
    st = console_request(c, req.p, req.len, CONSOLE_WAIT_STOPPABLE, e);
    signal(SIGINT, SIG_DFL);
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < 2; i++) {
        dup2(save[i], i + 1);
        close(save[i]);
    }
    slurp(out, r->out, sizeof r->out);
    slurp(err, r->err, sizeof r->err);
    console_close(c);
    free(c);
    buf_free(&req);
    return st;
}

/* Ctrl-C during a stream sends "\0stop"; during a chunk that has printed nothing it does
 * not (the host would answer a stop outside a stream with a reply of its own); a second
 * Ctrl-C gives up. */
static void test_ctrl_c(void **s)
{
    struct fake f;
    struct run r;
    struct err e;
    fake_start(&f, NULL);
    assert_int_equal(stoppable(&f, "stream()", &r, &e), CONSOLE_OK);
    fake_stop(&f);
    assert_string_equal(f.got.p, "stream()\nctl:stop\n");
    assert_string_equal(r.out, "tail 1\n\ntail stopped\n"); /* "\n" after the "^C" */
    buf_free(&f.got);

    fake_start(&f, NULL);
    assert_int_equal(stoppable(&f, "slow()", &r, &e), CONSOLE_ERROR);
    fake_stop(&f);
    assert_string_equal(f.got.p, "slow()\n"); /* no stop */
    assert_non_null(strstr(r.err, "still working on it"));
    buf_free(&f.got);

    fake_start(&f, NULL);
    assert_int_equal(stoppable(&f, "slow2()", &r, &e), -1);
    assert_string_equal(e.msg, "interrupted");
    fake_stop(&f);
    buf_free(&f.got);
}

static void test_no_host(void **s)
{
    struct run r;
    run(&r, NULL, ARGV("--var", "/nonexistent/dir", "-e", "1"));
    assert_int_equal(r.rc, 1);
    assert_non_null(strstr(r.err, "no console socket at /nonexistent/dir/luatrade.sock"));
    assert_non_null(strstr(r.err, "luatrade run"));
}

static void test_usage(void **s)
{
    struct run r;
    run(&r, NULL, ARGV("--bogus"));
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "unknown flag '--bogus'"));
    run(&r, NULL, ARGV("-e"));
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "-e needs a value"));
    run(&r, NULL, ARGV("stray"));
    assert_int_equal(r.rc, 2);
    run(&r, NULL, ARGV("--help"));
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.out, "usage: luatrade console"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eval),
        cmocka_unit_test(test_eval_error_stops),
        cmocka_unit_test(test_eval_more),
        cmocka_unit_test(test_stdin_lines),
        cmocka_unit_test(test_stdin_error_goes_on),
        cmocka_unit_test(test_stdin_incomplete),
        cmocka_unit_test(test_stdin_nul),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_host_closes),
        cmocka_unit_test(test_stream_then_error),
        cmocka_unit_test(test_ctrl_c),
        cmocka_unit_test(test_no_host),
        cmocka_unit_test(test_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
