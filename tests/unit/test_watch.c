/* Unit tests for watch, on a real event_base and a temporary directory: plain writes,
 * rename-over saves, bursts debounced into one callback, files held open, ignored names,
 * subdirectories (existing, created later, created and written before the loop runs),
 * queue overflow, repeated watch_add, failures with a message.
 *
 * Nothing sleeps: each test drives the loop until the callback (or a log line) it waits
 * for, under a guard timeout that fails the test. To prove that no extra callback came,
 * a test writes a "barrier" file and requires the next callback to list it alone:
 * inotify queues events in order, so anything left over would show up first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <event2/event.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "util.h"
#include "watch.h"

#define DEBOUNCE_MS 30
#define GUARD_MS    5000

struct t {
    char dir[64];
    struct event_base *base;
    struct watch *w;
    struct event *guard;
    int timed_out;
    int ncalls;
    struct buf last; /* the last callback's paths, relative to dir, joined with "," */
    const char *want_log;
    int seen_log;
    int overflow_logged;
    int free_in_cb;
};

static struct t *T; /* for the log listener */

static void on_change(const char *const *paths, int npaths, void *arg)
{
    struct t *t = arg;
    size_t dl = strlen(t->dir);
    t->ncalls++;
    buf_reset(&t->last);
    for (int i = 0; i < npaths; i++) {
        /* every path is spelled "<dir as passed>/<relative>" */
        assert_memory_equal(paths[i], t->dir, dl);
        assert_int_equal(paths[i][dl], '/');
        buf_printf(&t->last, "%s%s", i ? "," : "", paths[i] + dl + 1);
    }
    if (t->free_in_cb) {
        watch_free(t->w);
        t->w = NULL;
    }
}

static void on_log(enum log_level lvl, const char *line, void *arg)
{
    if (!T) return;
    if (T->want_log && strstr(line, T->want_log)) T->seen_log = 1;
    if (strstr(line, "overflow")) T->overflow_logged = 1;
}

static void on_guard(evutil_socket_t fd, short what, void *arg)
{
    struct t *t = arg;
    t->timed_out = 1;
    event_base_loopbreak(t->base);
}

/* Runs the loop until *flag >= want, failing the test after GUARD_MS. */
static void run_until(struct t *t, const int *flag, int want)
{
    struct timeval tv = {GUARD_MS / 1000, (GUARD_MS % 1000) * 1000};
    t->timed_out = 0;
    event_add(t->guard, &tv);
    while (*flag < want && !t->timed_out) event_base_loop(t->base, EVLOOP_ONCE);
    event_del(t->guard);
    assert_false(t->timed_out);
}

static void wait_calls(struct t *t, int n)
{
    run_until(t, &t->ncalls, n);
    assert_int_equal(t->ncalls, n);
}

static void wait_log(struct t *t, const char *substr)
{
    t->want_log = substr;
    t->seen_log = 0;
    run_until(t, &t->seen_log, 1);
    t->want_log = NULL;
}

static char *at(struct t *t, const char *rel)
{
    static char p[4][256];
    static int k;
    char *s = p[k++ % 4];
    snprintf(s, sizeof p[0], "%s/%s", t->dir, rel);
    return s;
}

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(close(fd), 0);
}

/* The next callback must list only the barrier file: nothing was pending before it. */
static void barrier(struct t *t)
{
    int n = t->ncalls;
    write_file(at(t, "zz_barrier.lua"), "-- barrier\n");
    wait_calls(t, n + 1);
    assert_string_equal(t->last.p, "zz_barrier.lua");
}

static int setup(void **state)
{
    struct t *t = xcalloc(1, sizeof *t);
    strcpy(t->dir, "/tmp/luatrade-watch-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    t->base = event_base_new();
    t->guard = evtimer_new(t->base, on_guard, t);
    struct err e;
    t->w = watch_new(t->base, DEBOUNCE_MS, on_change, t, &e);
    assert_non_null(t->w);
    T = t;
    log_set_stderr(0);
    log_set_listener(on_log, NULL);
    *state = t;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    return remove(path);
}

static int teardown(void **state)
{
    struct t *t = *state;
    log_set_listener(NULL, NULL);
    log_set_stderr(1);
    T = NULL;
    watch_free(t->w);
    event_free(t->guard);
    event_base_free(t->base);
    nftw(t->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    char out[80]; /* tests move directories out to "<dir>-out" */
    snprintf(out, sizeof out, "%s-out", t->dir);
    nftw(out, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    buf_free(&t->last);
    free(t);
    return 0;
}

static void add(struct t *t, const char *dir, int recursive)
{
    struct err e = {{0}};
    assert_int_equal(watch_add(t->w, dir, recursive, &e), 0);
}

static void test_echo_write(void **state)
{
    struct t *t = *state;
    add(t, t->dir, 1);
    write_file(at(t, "a.lua"), "return 1\n");
    wait_calls(t, 1);
    assert_string_equal(t->last.p, "a.lua");
    barrier(t);
}

static void test_rename_over(void **state)
{
    struct t *t = *state;
    write_file(at(t, "a.lua"), "return 1\n");
    add(t, t->dir, 1);
    write_file(at(t, "a.lua.tmp"), "return 2\n");
    assert_int_equal(rename(at(t, "a.lua.tmp"), at(t, "a.lua")), 0);
    wait_calls(t, 1);
    assert_string_equal(t->last.p, "a.lua");
    barrier(t);
}

static void test_burst(void **state)
{
    struct t *t = *state;
    add(t, t->dir, 1);
    for (int i = 0; i < 20; i++) write_file(at(t, "a.lua"), i % 2 ? "return 1\n" : "return 2\n");
    write_file(at(t, "c.lua"), "return 3\n");
    write_file(at(t, "b.lua"), "return 4\n");
    write_file(at(t, "a.lua"), "return 5\n");
    wait_calls(t, 1);
    assert_string_equal(t->last.p, "a.lua,b.lua,c.lua");
    barrier(t);
}

static void test_open_file_waits_for_close(void **state)
{
    struct t *t = *state;
    add(t, t->dir, 1);
    int fd = open(at(t, "slow.lua"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "return {", 8), 8);
    barrier(t); /* created and written, but still open: not reported */
    assert_int_equal(write(fd, "}\n", 2), 2);
    assert_int_equal(close(fd), 0);
    wait_calls(t, 2);
    assert_string_equal(t->last.p, "slow.lua");
    barrier(t);
}

static void test_ignored_names(void **state)
{
    struct t *t = *state;
    add(t, t->dir, 1);
    const char *names[] = {".x.swp",    "4913",      "x.lua~", ".hidden.lua",
                           "notes.txt", "a.lua.tmp", ".lua",   "x.LUA"};
    for (size_t i = 0; i < ARRAY_LEN(names); i++) write_file(at(t, names[i]), "x\n");
    assert_int_equal(mkdir(at(t, "dir.lua"), 0755), 0); /* a directory is not a change */
    assert_int_equal(mkdir(at(t, ".git"), 0755), 0);
    write_file(at(t, ".git/hook.lua"), "x\n"); /* hidden directories are not watched */
    barrier(t);
    assert_int_equal(t->ncalls, 1);
}

static void test_subdirectories(void **state)
{
    struct t *t = *state;
    assert_int_equal(mkdir(at(t, "pre"), 0755), 0);
    add(t, t->dir, 1);
    write_file(at(t, "pre/a.lua"), "x\n"); /* existed at watch_add */
    wait_calls(t, 1);
    assert_string_equal(t->last.p, "pre/a.lua");

    /* created later: its watch is added (wait for the log line), then a write shows */
    assert_int_equal(mkdir(at(t, "sub"), 0755), 0);
    char want[128];
    snprintf(want, sizeof want, "watch added dir=%s/sub ", t->dir);
    wait_log(t, want);
    assert_int_equal(mkdir(at(t, "sub/deep"), 0755), 0);
    snprintf(want, sizeof want, "watch added dir=%s/sub/deep ", t->dir);
    wait_log(t, want);
    write_file(at(t, "sub/deep/b.lua"), "x\n");
    wait_calls(t, 2);
    assert_string_equal(t->last.p, "sub/deep/b.lua");

    /* created and written before the loop ever sees the directory: found by its scan */
    assert_int_equal(mkdir(at(t, "fast"), 0755), 0);
    assert_int_equal(mkdir(at(t, "fast/x"), 0755), 0);
    write_file(at(t, "fast/x/c.lua"), "x\n");
    wait_calls(t, 3);
    assert_string_equal(t->last.p, "fast/x/c.lua");

    /* a directory moved in from outside the tree is watched under its new name */
    char outside[128];
    snprintf(outside, sizeof outside, "%s-out", t->dir);
    assert_int_equal(mkdir(outside, 0755), 0);
    assert_int_equal(rename(outside, at(t, "moved")), 0);
    snprintf(want, sizeof want, "watch added dir=%s/moved ", t->dir);
    wait_log(t, want);
    write_file(at(t, "moved/d.lua"), "x\n");
    wait_calls(t, 4);
    assert_string_equal(t->last.p, "moved/d.lua");
    barrier(t);
}

static void test_dir_removed_or_moved_away(void **state)
{
    struct t *t = *state;
    assert_int_equal(mkdir(at(t, "gone"), 0755), 0);
    assert_int_equal(mkdir(at(t, "away"), 0755), 0);
    assert_int_equal(mkdir(at(t, "away/inner"), 0755), 0);
    add(t, t->dir, 1);
    char want[128];
    assert_int_equal(rmdir(at(t, "gone")), 0);
    snprintf(want, sizeof want, "watch removed dir=%s/gone", t->dir);
    wait_log(t, want);
    /* a subtree moved out of the tree is no longer watched, nor reported under its
     * old name */
    char out[128], f[160];
    snprintf(out, sizeof out, "%s-out", t->dir);
    assert_int_equal(rename(at(t, "away"), out), 0);
    snprintf(f, sizeof f, "%s/y.lua", out);
    write_file(f, "x\n");
    snprintf(f, sizeof f, "%s/inner/z.lua", out);
    write_file(f, "x\n");
    barrier(t);
    assert_int_equal(t->ncalls, 1);
}

static void test_not_recursive(void **state)
{
    struct t *t = *state;
    assert_int_equal(mkdir(at(t, "pre"), 0755), 0);
    add(t, t->dir, 0);
    write_file(at(t, "pre/a.lua"), "x\n");
    assert_int_equal(mkdir(at(t, "sub"), 0755), 0);
    write_file(at(t, "sub/b.lua"), "x\n");
    barrier(t);
}

static void test_add_twice_and_spelling(void **state)
{
    struct t *t = *state;
    char slashed[80];
    snprintf(slashed, sizeof slashed, "%s//", t->dir);
    assert_int_equal(mkdir(at(t, "sub"), 0755), 0);
    add(t, slashed, 1);      /* reported as "<dir>/a.lua", not "<dir>///a.lua" */
    add(t, t->dir, 1);       /* the same directory: a no-op */
    add(t, at(t, "sub"), 1); /* already inside a watched tree: a no-op */
    write_file(at(t, "a.lua"), "x\n");
    write_file(at(t, "sub/b.lua"), "x\n");
    wait_calls(t, 1);
    assert_string_equal(t->last.p, "a.lua,sub/b.lua");
    barrier(t);
}

static void test_add_fails(void **state)
{
    struct t *t = *state;
    struct err e = {{0}};
    assert_int_equal(watch_add(t->w, at(t, "missing"), 1, &e), -1);
    assert_non_null(strstr(e.msg, "missing"));
    assert_non_null(strstr(e.msg, "No such file or directory"));
    write_file(at(t, "file.lua"), "x\n");
    e.msg[0] = 0;
    assert_int_equal(watch_add(t->w, at(t, "file.lua"), 0, &e), -1);
    assert_non_null(strstr(e.msg, "file.lua"));
    assert_non_null(strstr(e.msg, "Not a directory"));
}

static void test_overflow_rescans(void **state)
{
    struct t *t = *state;
    FILE *f = fopen("/proc/sys/fs/inotify/max_queued_events", "r");
    int max = 0;
    if (f) {
        if (fscanf(f, "%d", &max) != 1) max = 0;
        fclose(f);
    }
    if (max <= 0 || max > 200000) skip(); /* cannot fill the queue in reasonable time */
    assert_int_equal(mkdir(at(t, "sub"), 0755), 0);
    write_file(at(t, "sub/c.lua"), "x\n");
    write_file(at(t, "e.lua"), "x\n");
    write_file(at(t, "notes.txt"), "x\n");
    add(t, t->dir, 1);
    /* alternate two names so the kernel cannot merge identical consecutive events;
     * each open for writing + close is one IN_CLOSE_WRITE */
    const char *p[2] = {at(t, "a.lua"), at(t, "b.lua")};
    for (int i = 0; i < max + 100; i++) {
        int fd = open(p[i % 2], O_WRONLY | O_CREAT, 0644);
        assert_true(fd >= 0);
        close(fd);
    }
    wait_calls(t, 1);
    assert_true(t->overflow_logged);
    assert_string_equal(t->last.p, "a.lua,b.lua,e.lua,sub/c.lua");
    barrier(t);
}

static void test_free_in_callback(void **state)
{
    struct t *t = *state;
    add(t, t->dir, 1);
    t->free_in_cb = 1;
    write_file(at(t, "a.lua"), "x\n");
    wait_calls(t, 1);
    assert_null(t->w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_echo_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename_over, setup, teardown),
        cmocka_unit_test_setup_teardown(test_burst, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_file_waits_for_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ignored_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subdirectories, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dir_removed_or_moved_away, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_recursive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_twice_and_spelling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overflow_rescans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_in_callback, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
