/* Unit tests for instrument: symbol validity, registration (ids, duplicates, bad grids,
 * growth up to INSTRUMENTS_MAX and refusal past it) and lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "fixed.h"
#include "instrument.h"
#include "util.h"

static struct instrument make(const char *sym)
{
    struct instrument in = {.px_dp = 2, .tick = 1, .qty_dp = 0, .lot = 1};
    util_strlcpy(in.symbol, sym, sizeof in.symbol);
    return in;
}

static void test_symbol_valid(void **st)
{
    const char *good[] = {"AAPL",   "a",     "7",    "BRK.B",          "BTC/USD",
                          "ES:H26", "X_Y-Z", "0abc", "ABCDEFGHIJKLMNO"};
    for (size_t i = 0; i < ARRAY_LEN(good); i++) assert_true(instrument_symbol_valid(good[i]));
    const char *bad[] = {
        "",   ".A",   "-A", "/A", "_A", "A B", "A\n", "A\"B", "A;B", "\xc3\xa9", "ABCDEFGHIJKLMNOP",
        "A*", "A\x7f"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) assert_false(instrument_symbol_valid(bad[i]));
    assert_false(instrument_symbol_valid(NULL));
}

static void test_add_find(void **st)
{
    struct instruments r = {0};
    struct err e = {{0}};
    struct instrument a = make("AAPL"), m = make("MSFT");
    m.px_dp = 4;
    m.tick = 5;
    m.qty_dp = 3;
    m.lot = 100;
    assert_int_equal(instruments_add(&r, &a, &e), 0);
    assert_int_equal(instruments_add(&r, &m, &e), 1);
    assert_int_equal(r.n, 2);
    assert_int_equal(instruments_find(&r, "AAPL"), 0);
    assert_int_equal(instruments_find(&r, "MSFT"), 1);
    assert_int_equal(instruments_find(&r, "msft"), -1);
    assert_int_equal(instruments_find(&r, "AAP"), -1);
    assert_int_equal(instruments_find(&r, ""), -1);
    assert_int_equal(instruments_find(&r, NULL), -1);
    assert_string_equal(r.v[1].symbol, "MSFT");
    assert_int_equal(r.v[1].px_dp, 4);
    assert_int_equal(r.v[1].tick, 5);
    assert_int_equal(r.v[1].qty_dp, 3);
    assert_int_equal(r.v[1].lot, 100);

    assert_int_equal(instruments_add(&r, &a, &e), -1);
    assert_non_null(strstr(e.msg, "AAPL is already registered"));
    assert_int_equal(r.n, 2);
    instruments_free(&r);
    assert_null(r.v);
    assert_int_equal(r.n, 0);
    instruments_free(&r); /* freeing an empty registry is fine */
    instruments_free(NULL);
}

static void expect_refused(struct instrument in, const char *substr)
{
    struct instruments r = {0};
    struct err e = {{0}};
    assert_int_equal(instruments_add(&r, &in, &e), -1);
    if (!strstr(e.msg, substr)) fail_msg("message \"%s\" lacks \"%s\"", e.msg, substr);
    assert_int_equal(r.n, 0);
    instruments_free(&r);
}

static void test_add_invalid(void **st)
{
    expect_refused(make(""), "invalid symbol");
    expect_refused(make("A B"), "invalid symbol \"A B\"");
    expect_refused(make("-X"), "invalid symbol");
    struct instrument in = make("X");
    in.tick = 0;
    expect_refused(in, "symbol X: tick must be > 0 (got 0)");
    in = make("X");
    in.tick = -5;
    expect_refused(in, "tick must be > 0 (got -5)");
    in = make("X");
    in.lot = 0;
    expect_refused(in, "lot must be > 0 (got 0)");
    in = make("X");
    in.px_dp = -1;
    expect_refused(in, "px_dp must be 0..9 (got -1)");
    in = make("X");
    in.px_dp = FX_MAX_DP + 1;
    expect_refused(in, "px_dp must be 0..9 (got 10)");
    in = make("X");
    in.qty_dp = 12;
    expect_refused(in, "qty_dp must be 0..9 (got 12)");
    /* An unterminated symbol array is refused, not overrun (ASan watches). */
    in = make("X");
    memset(in.symbol, 'A', sizeof in.symbol);
    expect_refused(in, "invalid symbol");
    /* Control characters never reach the message. */
    in = make("X");
    memcpy(in.symbol, "A\nB", 4);
    expect_refused(in, "invalid symbol \"A?B\"");
}

static void test_grow_to_max(void **st)
{
    struct instruments r = {0};
    struct err e = {{0}};
    char sym[SYMBOL_MAX];
    for (int i = 0; i < INSTRUMENTS_MAX; i++) {
        snprintf(sym, sizeof sym, "S%d", i);
        struct instrument in = make(sym);
        in.tick = i + 1;
        assert_int_equal(instruments_add(&r, &in, &e), i);
    }
    assert_int_equal(r.n, INSTRUMENTS_MAX);
    /* Every entry survived the reallocations with its own data. */
    for (int i = 0; i < INSTRUMENTS_MAX; i++) {
        snprintf(sym, sizeof sym, "S%d", i);
        assert_int_equal(instruments_find(&r, sym), i);
        assert_int_equal(r.v[i].tick, i + 1);
    }
    struct instrument extra = make("ONEMORE");
    assert_int_equal(instruments_add(&r, &extra, &e), -1);
    assert_non_null(strstr(e.msg, "registry full"));
    assert_int_equal(r.n, INSTRUMENTS_MAX);
    instruments_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_symbol_valid),
        cmocka_unit_test(test_add_find),
        cmocka_unit_test(test_add_invalid),
        cmocka_unit_test(test_grow_to_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
