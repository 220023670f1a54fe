/* Unit tests for strset: add/has/count, duplicates (before, during and after a growth),
 * empty and long strings, 300,000 keys across fourteen growths with every key looked up
 * in the middle of each drain, and the bound on one add's work (old slots moved per
 * call, from strset_stats) with the drain always over before the next growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "strset.h"

static void key(char *buf, size_t cap, int i)
{
    snprintf(buf, cap, "P1795271400000000-%d", i);
}

static void test_basic(void **s)
{
    struct strset *set = strset_new();
    assert_int_equal(strset_count(set), 0);
    assert_false(strset_has(set, "a"));
    assert_int_equal(strset_add(set, "a"), 1);
    assert_int_equal(strset_add(set, "b"), 1);
    assert_int_equal(strset_add(set, "a"), 0);
    assert_int_equal(strset_add(set, ""), 1);
    assert_int_equal(strset_add(set, ""), 0);
    assert_true(strset_has(set, "a"));
    assert_true(strset_has(set, "b"));
    assert_true(strset_has(set, ""));
    assert_false(strset_has(set, "c"));
    assert_false(strset_has(set, "ab"));
    char longer[300];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(strset_add(set, longer), 1);
    assert_true(strset_has(set, longer));
    assert_int_equal(strset_count(set), 4);
    /* The set keeps its own copy. */
    char tmp[8] = "temp";
    assert_int_equal(strset_add(set, tmp), 1);
    strcpy(tmp, "gone");
    assert_true(strset_has(set, "temp"));
    assert_false(strset_has(set, "gone"));
    strset_free(set);
    strset_free(NULL);
}

/* Every key below n is in, the next few are not, and re-adding any is refused. */
static void check_all(struct strset *set, int n)
{
    char buf[64];
    for (int i = 0; i < n; i++) {
        key(buf, sizeof buf, i);
        if (!strset_has(set, buf)) fail_msg("key %d lost (of %d)", i, n);
    }
    for (int i = n; i < n + 8; i++) {
        key(buf, sizeof buf, i);
        assert_false(strset_has(set, buf));
    }
    assert_int_equal(strset_count(set), n);
}

static void test_growth_incremental(void **s)
{
    enum { N = 300000 };
    struct strset *set = strset_new();
    char buf[64];
    struct strset_stats st;
    int growths = 0, drain_start = -1;
    size_t prev_cap = 64;
    for (int i = 0; i < N; i++) {
        key(buf, sizeof buf, i);
        assert_int_equal(strset_add(set, buf), 1);
        strset_stats(set, &st);
        assert_true(st.max_step <= STRSET_REHASH_STEP);
        if (st.cap != prev_cap) {
            /* A growth begins: the old table is the previous one, still to drain. */
            assert_int_equal(st.cap, prev_cap * 2);
            assert_int_equal(st.old_cap, prev_cap);
            prev_cap = st.cap;
            growths++;
            drain_start = i;
            check_all(set, i + 1);
        } else if (st.old_cap && i == drain_start + (int)(st.old_cap / STRSET_REHASH_STEP / 2)) {
            check_all(set, i + 1); /* half drained */
            /* Duplicates of keys moved and not yet moved are both refused. */
            key(buf, sizeof buf, 0);
            assert_int_equal(strset_add(set, buf), 0);
            key(buf, sizeof buf, i);
            assert_int_equal(strset_add(set, buf), 0);
            for (int j = 0; j < i; j += 997) {
                key(buf, sizeof buf, j);
                assert_int_equal(strset_add(set, buf), 0);
            }
        }
        if (!st.old_cap && drain_start >= 0) {
            /* Drained within old_cap / STEP adds, so the next growth never meets a drain. */
            assert_true(i - drain_start <= (int)(prev_cap / 2 / STRSET_REHASH_STEP));
            drain_start = -1;
        }
        /* Still at most half full. */
        assert_true(strset_count(set) * 2 <= st.cap);
    }
    assert_int_equal(growths, 14); /* 64 -> 2^20 slots */
    assert_int_equal(st.max_step, STRSET_REHASH_STEP);
    check_all(set, N);
    strset_free(set);
}

/* Freed mid-drain: no leak, no double free (ASan checks). */
static void test_free_mid_drain(void **s)
{
    struct strset *set = strset_new();
    char buf[64];
    struct strset_stats st;
    int i = 0;
    do {
        key(buf, sizeof buf, i++);
        strset_add(set, buf);
        strset_stats(set, &st);
    } while (st.cap < 1024 || !st.old_cap);
    strset_add(set, "one more");
    strset_stats(set, &st);
    assert_true(st.old_cap > 0);
    strset_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_growth_incremental),
        cmocka_unit_test(test_free_mid_drain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
