/* test_log_ring.c: the log tail ring: numbering, wraparound, since/limit semantics,
 * level kept, long lines cut, and lines from another thread. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "log_ring.h"

struct got {
    uint64_t n[64];
    enum log_level lvl[64];
    char line[64][128];
    int count;
};

static void collect(uint64_t n, enum log_level lvl, const char *line, void *arg)
{
    struct got *g = arg;
    g->n[g->count] = n;
    g->lvl[g->count] = lvl;
    snprintf(g->line[g->count], sizeof g->line[0], "%s", line);
    g->count++;
}

static void test_numbering_and_wrap(void **state)
{
    (void)state;
    log_set_stderr(0);
    struct log_ring *r = log_ring_new(8);
    assert_int_equal(log_ring_last(r), 0);
    struct got g = {0};
    assert_int_equal(log_ring_scan(r, 0, 10, collect, &g), 0);
    assert_int_equal(g.count, 0);
    for (int i = 1; i <= 20; i++) log_write(i % 2 ? LOG_INFO : LOG_WARN, "t", "line", "i=%d", i);
    assert_int_equal(log_ring_last(r), 20);
    /* only the newest 8 are held: since 0 with a limit gives the newest ones */
    assert_int_equal(log_ring_scan(r, 0, 3, collect, &g), 20);
    assert_int_equal(g.count, 3);
    assert_int_equal(g.n[0], 18);
    assert_non_null(strstr(g.line[0], "i=18"));
    assert_int_equal(g.lvl[0], LOG_WARN);
    assert_int_equal(g.lvl[1], LOG_INFO);
    /* since an evicted line: from the oldest held */
    memset(&g, 0, sizeof g);
    assert_int_equal(log_ring_scan(r, 2, 0, collect, &g), 20);
    assert_int_equal(g.count, 8);
    assert_int_equal(g.n[0], 13);
    /* a page: since 14, at most 2 */
    memset(&g, 0, sizeof g);
    assert_int_equal(log_ring_scan(r, 14, 2, collect, &g), 16);
    assert_int_equal(g.n[0], 15);
    assert_int_equal(g.n[1], 16);
    /* nothing new */
    memset(&g, 0, sizeof g);
    assert_int_equal(log_ring_scan(r, 20, 5, collect, &g), 20);
    assert_int_equal(g.count, 0);
    log_ring_free(r);
    log_write(LOG_INFO, "t", "after free", NULL); /* no listener left: must not crash */
}

static void test_long_line_cut(void **state)
{
    (void)state;
    struct log_ring *r = log_ring_new(2);
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    log_write(LOG_ERROR, "t", big, NULL);
    struct got g = {0};
    log_ring_scan(r, 0, 1, collect, &g);
    assert_int_equal(g.count, 1);
    assert_int_equal(g.lvl[0], LOG_ERROR);
    log_ring_free(r);
}

static void *writer(void *arg)
{
    for (int i = 0; i < 1000; i++) log_write(LOG_INFO, "thread", "x", "i=%d", i);
    return arg;
}

static void test_threads(void **state)
{
    (void)state;
    struct log_ring *r = log_ring_new(16);
    pthread_t t;
    pthread_create(&t, NULL, writer, NULL);
    for (int i = 0; i < 1000; i++) log_write(LOG_INFO, "main", "y", "i=%d", i);
    pthread_join(t, NULL);
    assert_int_equal(log_ring_last(r), 2000);
    struct got g = {0};
    log_ring_scan(r, 0, 16, collect, &g);
    for (int i = 1; i < g.count; i++) assert_int_equal(g.n[i], g.n[i - 1] + 1);
    log_ring_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbering_and_wrap),
        cmocka_unit_test(test_long_line_cut),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
