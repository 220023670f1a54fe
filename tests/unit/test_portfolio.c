/* Unit tests for portfolio: notionals (mixed grids, half-away rounding, saturation,
 * against an independent reference), average cost worked by hand (adds, partial and
 * full closes, crossing zero both ways, truncation remainders), commissions, marks,
 * equity and exposure, per-strategy accounts against the total, new day P&L, peak and
 * drawdown, the curve ring, metrics on hand-computed curves and trades, JSON, the
 * notional fast paths against the reference at every grid and overflow edge, and a
 * reconciliation property test: 20,000 seeded random fills checked with integer
 * equality against the invariants written at the top of host/portfolio.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixed.h"
#include "instrument.h"
#include "log.h"
#include "json_fixed.h"
#include "portfolio.h"
#include "util.h"

#define MONEY(x) ((int64_t)(x)*1000000) /* whole currency units */
#define CENTS(x) ((int64_t)(x)*10000)
#define T0       INT64_C(1795219200000000)
#define PPY      252.0

/* cmocka's assert_float_equal compares floats; metrics need doubles. */
#define assert_near(got, want, eps)                                                                \
    do {                                                                                           \
        double got_ = (got), want_ = (want);                                                       \
        if (!(fabs(got_ - want_) <= (eps))) fail_msg("%s = %.17g, want %.17g", #got, got_, want_); \
    } while (0)

/* Six grids: equities (px 2 dp, whole shares), a crypto-like pair (4/4: notionals
 * rounded at 10^-8), 9/9 (rounded at 10^-18), 0/0 (scaled up by 10^6), 6/3 with tick 5
 * and lot 10, and 1/2. */
enum { AAA, BBB, CCC, DDD, EEE, FFF, NSYM };
static struct instruments ins;

static int setup(void **s)
{
    static const struct instrument defs[NSYM] = {
        {"AAA", 2, 1, 0, 1}, {"BBB", 4, 1, 4, 1},  {"CCC", 9, 1, 9, 1},
        {"DDD", 0, 1, 0, 1}, {"EEE", 6, 5, 3, 10}, {"FFF", 1, 1, 2, 1},
    };
    struct err e;
    for (int i = 0; i < NSYM; i++) assert_int_equal(instruments_add(&ins, &defs[i], &e), i);
    log_set_stderr(0);
    return 0;
}

static int teardown(void **s)
{
    instruments_free(&ins);
    return 0;
}

static int64_t fill(struct portfolio *p, const char *strategy, int sym, int side, int64_t px,
                    int64_t qty, int64_t commission)
{
    struct fill f = {
        .sym = sym, .side = side, .px = px, .qty = qty, .commission = commission, .ts_us = T0};
    return portfolio_apply_fill(p, strategy, &f);
}

static void assert_pos(const struct portfolio *p, const char *strategy, int sym, int64_t qty,
                       int64_t cost, int64_t realized)
{
    const struct position *pos = portfolio_position(p, strategy, sym);
    assert_non_null(pos);
    assert_int_equal(pos->sym, sym);
    assert_int_equal(pos->qty, qty);
    assert_int_equal(pos->cost, cost);
    assert_int_equal(pos->realized, realized);
}

static int64_t pow10_128(int n)
{
    int64_t v = 1;
    while (n-- > 0) v *= 10;
    return v;
}

/* Reference notional, written differently from money_notional: signed 128-bit
 * quotient and remainder (C truncates toward zero), then a step away from zero. */
static int64_t ref_notional(int px_dp, int qty_dp, int64_t px, int64_t qty)
{
    __int128 prod = (__int128)px * qty, v;
    int dp = px_dp + qty_dp;
    if (dp <= 6) {
        if (prod > INT64_MAX) return INT64_MAX; /* the multiplier is >= 1 */
        if (prod < INT64_MIN) return INT64_MIN;
        v = prod * pow10_128(6 - dp);
    } else {
        __int128 div = pow10_128(dp - 6), r = prod % div;
        v = prod / div;
        if (r > 0 && 2 * r >= div) v++;
        if (r < 0 && -2 * r >= div) v--;
    }
    return v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : (int64_t)v;
}

static void test_notional_rounding(void **s)
{
    /* 10.00 * 100 shares = 1000.000000 */
    assert_int_equal(money_notional(&ins.v[AAA], 1000, 100), MONEY(1000));
    /* 4/4: 1.2345 * 0.0001 = 0.00012345 -> 0.000123; 1.2350 * 0.0001 -> 0.000124 (half up) */
    assert_int_equal(money_notional(&ins.v[BBB], 12345, 1), 123);
    assert_int_equal(money_notional(&ins.v[BBB], 12350, 1), 124);
    assert_int_equal(money_notional(&ins.v[BBB], 12349, 1), 123);
    /* Negative: half away from zero, not up. */
    assert_int_equal(money_notional(&ins.v[BBB], -12350, 1), -124);
    assert_int_equal(money_notional(&ins.v[BBB], 12350, -1), -124);
    assert_int_equal(money_notional(&ins.v[BBB], -12349, 1), -123);
    /* 9/9: 1e-9 * 1e-9 rounds to 0; 0.5e-6 exactly is half: 1 */
    assert_int_equal(money_notional(&ins.v[CCC], 1, 1), 0);
    assert_int_equal(money_notional(&ins.v[CCC], 500000, 1000000), 1);
    assert_int_equal(money_notional(&ins.v[CCC], 499999, 1000000), 0);
    assert_int_equal(money_notional(&ins.v[CCC], -500000, 1000000), -1);
    /* 0/0: 7 * 3 = 21.000000; 6/3: 0.000005 * 0.010 = 5e-8 -> 0; 1.5 * 1.000 = 1.5 */
    assert_int_equal(money_notional(&ins.v[DDD], 7, 3), MONEY(21));
    assert_int_equal(money_notional(&ins.v[EEE], 5, 10), 0);
    assert_int_equal(money_notional(&ins.v[EEE], 1500000, 1000), 1500000);
    assert_int_equal(money_notional(&ins.v[EEE], 50, 10), 1); /* 5e-7 -> 1e-6 */
    /* 1/2: 0.1 * 0.01 = 0.001 */
    assert_int_equal(money_notional(&ins.v[FFF], 1, 1), 1000);
    assert_int_equal(money_notional(&ins.v[AAA], 0, 100), 0);
}

static void test_notional_saturation(void **s)
{
    assert_int_equal(money_notional(&ins.v[DDD], INT64_MAX, INT64_MAX), INT64_MAX);
    assert_int_equal(money_notional(&ins.v[DDD], INT64_MIN, INT64_MAX), INT64_MIN);
    assert_int_equal(money_notional(&ins.v[DDD], INT64_MIN, INT64_MIN), INT64_MAX);
    /* Just fits / just does not, at 0 dp (x 10^6). */
    int64_t lim = INT64_MAX / 1000000;
    assert_int_equal(money_notional(&ins.v[DDD], lim, 1), lim * 1000000);
    assert_int_equal(money_notional(&ins.v[DDD], lim + 1, 1), INT64_MAX);
    assert_int_equal(money_notional(&ins.v[DDD], -lim - 1, 1), INT64_MIN);
    /* INT64_MIN itself is representable: 6/0 has scale 1. */
    struct instrument six = {"SIX", 6, 1, 0, 1};
    assert_int_equal(money_notional(&six, INT64_MIN, 1), INT64_MIN);
    assert_int_equal(money_notional(&six, INT64_MAX, 1), INT64_MAX);
    assert_int_equal(money_notional(&six, INT64_MIN, -1), INT64_MAX);
    /* 9/9 divides by 10^12: huge products still fit after scaling. */
    assert_int_equal(money_notional(&ins.v[CCC], INT64_MAX, 1000000000000),
                     ref_notional(9, 9, INT64_MAX, 1000000000000));
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int64_t rnd(int64_t lo, int64_t hi) /* inclusive */
{
    return lo + (int64_t)(xorshift() % (uint64_t)(hi - lo + 1));
}

static void test_notional_reference(void **s)
{
    struct instrument in = {"X", 0, 1, 0, 1};
    for (int i = 0; i < 200000; i++) {
        in.px_dp = (int)rnd(0, 9);
        in.qty_dp = (int)rnd(0, 9);
        /* Magnitudes of 0..63 bits, so both sides of every limit are hit. */
        int64_t px = (int64_t)(xorshift() >> rnd(0, 63)) * (rnd(0, 1) ? 1 : -1);
        int64_t qty = (int64_t)(xorshift() >> rnd(0, 63));
        int64_t got = money_notional(&in, px, qty);
        int64_t want = ref_notional(in.px_dp, in.qty_dp, px, qty);
        if (got != want)
            fail_msg("px=%lld qty=%lld dp=%d/%d: %lld != %lld", (long long)px, (long long)qty,
                     in.px_dp, in.qty_dp, (long long)got, (long long)want);
    }
}

static void check_notional(struct instrument *in, int64_t px, int64_t qty)
{
    int64_t got = money_notional(in, px, qty);
    int64_t want = ref_notional(in->px_dp, in->qty_dp, px, qty);
    if (got != want)
        fail_msg("px=%lld qty=%lld dp=%d/%d: %lld != %lld", (long long)px, (long long)qty,
                 in->px_dp, in->qty_dp, (long long)got, (long long)want);
}

/* Adds v, -v (when it exists) and their neighbours to set (no duplicates needed). */
static int add_around(int64_t *set, int n, int64_t v)
{
    for (int d = -1; d <= 1; d++) {
        if ((d < 0 && v == INT64_MIN) || (d > 0 && v == INT64_MAX)) continue;
        int64_t x = v + d;
        set[n++] = x;
        if (x != INT64_MIN) set[n++] = -x;
    }
    return n;
}

/* The fast paths' edges on every grid (px_dp, qty_dp in 0..9, so every scale up and
 * down): products at and next to INT64_MIN/INT64_MAX (where int64 multiplication
 * overflows), at and next to INT64_MAX / 10^k (where scaling up overflows), exact halves
 * of every divisor near the top of the range, and both signs of both factors. */
static void test_notional_fast_path_edges(void **s)
{
    int64_t base[512];
    int nb = 0;
    static const int64_t small[] = {0,  1,   2,    3,    5,          7,          9,         10,
                                    11, 999, 1000, 1001, 3037000499, 3037000500, 4294967296};
    for (size_t i = 0; i < ARRAY_LEN(small); i++) nb = add_around(base, nb, small[i]);
    nb = add_around(base, nb, INT64_MAX);
    for (int k = 1; k <= 12; k++) {
        int64_t p10 = pow10_128(k);
        nb = add_around(base, nb, INT64_MAX / p10);
        nb = add_around(base, nb, p10);
        nb = add_around(base, nb, p10 / 2);
        /* an exact half just below INT64_MAX: q * 10^k + 10^k / 2 */
        nb = add_around(base, nb, (INT64_MAX / p10 - 1) * p10 + p10 / 2);
    }
    base[nb++] = INT64_MIN;
    assert_true(nb <= (int)ARRAY_LEN(base));
    struct instrument in = {"X", 0, 1, 0, 1};
    for (int pd = 0; pd <= FX_MAX_DP; pd++) {
        for (int qd = 0; qd <= FX_MAX_DP; qd++) {
            in.px_dp = pd;
            in.qty_dp = qd;
            for (int i = 0; i < nb; i++) {
                for (int j = 0; j < nb; j++) check_notional(&in, base[i], base[j]);
                /* px chosen so px * qty lands next to the int64 limits and, scaled up,
                 * next to INT64_MAX / 10^(6 - dp). */
                int64_t q = base[i];
                if (q == 0 || q == INT64_MIN || q == -1) continue;
                int64_t lims[] = {INT64_MAX, INT64_MIN, 0};
                int dp = pd + qd;
                if (dp < 6) lims[2] = INT64_MAX / pow10_128(6 - dp);
                for (size_t l = 0; l < ARRAY_LEN(lims); l++) {
                    int64_t px = lims[l] / q;
                    for (int d = -2; d <= 2; d++) {
                        if ((d < 0 && px < INT64_MIN + 2) || (d > 0 && px > INT64_MAX - 2))
                            continue;
                        check_notional(&in, px + d, q);
                        check_notional(&in, q, px + d);
                    }
                }
            }
        }
    }
}

static void test_average_cost(void **s)
{
    struct portfolio *p = portfolio_new(&ins, MONEY(100000), PPY);
    assert_null(portfolio_position(p, NULL, AAA));
    assert_int_equal(fill(p, NULL, AAA, 1, 1000, 100, 0), 0); /* buy 100 @ 10.00 */
    assert_int_equal(fill(p, NULL, AAA, 1, 1100, 100, 0), 0); /* buy 100 @ 11.00 */
    assert_pos(p, NULL, AAA, 200, MONEY(2100), 0);            /* avg 10.50 */
    /* sell 150 @ 12.00: removes 2100 * 150/200 = 1575, proceeds 1800 */
    assert_int_equal(fill(p, NULL, AAA, -1, 1200, 150, 0), MONEY(225));
    assert_pos(p, NULL, AAA, 50, MONEY(525), MONEY(225)); /* still 10.50 */
    /* sell 100 @ 9.00: closes 50 (450 - 525 = -75), reopens short 50 @ 9.00 */
    assert_int_equal(fill(p, NULL, AAA, -1, 900, 100, 0), MONEY(-75));
    assert_pos(p, NULL, AAA, -50, MONEY(-450), MONEY(150));
    /* sell 50 more @ 10.00: a short adds; avg (450 + 500) / 100 = 9.50 */
    assert_int_equal(fill(p, NULL, AAA, -1, 1000, 50, 0), 0);
    assert_pos(p, NULL, AAA, -100, MONEY(-950), MONEY(150));
    /* buy 40 @ 8.00: covers 40 of a 9.50 short: +60 */
    assert_int_equal(fill(p, NULL, AAA, 1, 800, 40, 0), MONEY(60));
    assert_pos(p, NULL, AAA, -60, MONEY(-570), MONEY(210));
    /* buy 100 @ 10.00: covers 60 at a loss of 30, reopens long 40 @ 10.00 */
    assert_int_equal(fill(p, NULL, AAA, 1, 1000, 100, 0), MONEY(-30));
    assert_pos(p, NULL, AAA, 40, MONEY(400), MONEY(180));
    /* sell exactly 40 @ 10.25: flat, cost exactly 0 */
    assert_int_equal(fill(p, NULL, AAA, -1, 1025, 40, 0), MONEY(10));
    assert_pos(p, NULL, AAA, 0, 0, MONEY(190));
    const struct position *pos = portfolio_position(p, NULL, AAA);
    assert_int_equal(pos->bought, 340);
    assert_int_equal(pos->sold, 340);
    struct portfolio_totals t;
    portfolio_totals(p, NULL, &t);
    assert_int_equal(t.realized, MONEY(190));
    assert_int_equal(t.cash, MONEY(100000) + MONEY(190));
    assert_int_equal(t.fills, 8);
    portfolio_free(p);
}

/* A basis that does not divide: the truncation remainder stays and the last close takes it. */
static void test_truncation_remainder(void **s)
{
    struct portfolio *p = portfolio_new(&ins, 0, PPY);
    /* 3 x 0.0001 @ 1.2345: 0.00037035 -> 0.000370 (370 money units) */
    fill(p, NULL, BBB, 1, 12345, 3, 0);
    assert_pos(p, NULL, BBB, 3, 370, 0);
    /* Each sell @ 1.2345 has notional 123 (0.00012345); it removes 370/3 = 123, then
     * 247/2 = 123, then all 124. */
    assert_int_equal(fill(p, NULL, BBB, -1, 12345, 1, 0), 0);
    assert_pos(p, NULL, BBB, 2, 247, 0);
    assert_int_equal(fill(p, NULL, BBB, -1, 12345, 1, 0), 0);
    assert_pos(p, NULL, BBB, 1, 124, 0);
    assert_int_equal(fill(p, NULL, BBB, -1, 12345, 1, 0), -1);
    assert_pos(p, NULL, BBB, 0, 0, -1);
    /* Shorts: the basis is negative and truncation is toward zero: -370/3 = -123. */
    fill(p, NULL, BBB, -1, 12345, 3, 0);
    assert_pos(p, NULL, BBB, -3, -370, -1);
    assert_int_equal(fill(p, NULL, BBB, 1, 12345, 1, 0), 0); /* -123 - (-123) */
    assert_pos(p, NULL, BBB, -2, -247, -1);
    portfolio_free(p);
}

/* Crossing zero: the reopened part is rounded on its own, the residual is realized. */
static void test_cross_rounding(void **s)
{
    struct portfolio *p = portfolio_new(&ins, 0, PPY);
    fill(p, NULL, BBB, 1, 12345, 3, 0); /* basis 370 */
    /* sell 5 @ 1.0005: N = 0.00050025 -> 500; the reopened 2: 0.0002001 -> 200; the
     * closing 3 get 500 - 200 = 300: realized 300 - 370 = -70. */
    assert_int_equal(fill(p, NULL, BBB, -1, 10005, 5, 0), -70);
    assert_pos(p, NULL, BBB, -2, -200, -70);
    /* Cash saw the whole fill once: -370 + 500. */
    struct portfolio_totals t;
    portfolio_totals(p, NULL, &t);
    assert_int_equal(t.cash, 130);
    portfolio_free(p);

    /* A residual: long 1 @ 1.2345 (0.00012345 -> 123), sell 2 @ 1.2345: N = 0.0002469
     * -> 247, the reopened 1 costs 123, so the closing 1 gets 124, not its own rounded
     * 123: realized +1, and cash and basis still reconcile. */
    p = portfolio_new(&ins, 0, PPY);
    fill(p, NULL, BBB, 1, 12345, 1, 0);
    assert_int_equal(fill(p, NULL, BBB, -1, 12345, 2, 0), 1);
    assert_pos(p, NULL, BBB, -1, -123, 1);
    portfolio_totals(p, NULL, &t);
    assert_int_equal(t.cash, 124);
    assert_int_equal(t.cash, t.realized - portfolio_position(p, NULL, BBB)->cost);
    portfolio_free(p);
}

static void test_commissions(void **s)
{
    struct portfolio *p = portfolio_new(&ins, MONEY(10000), PPY);
    fill(p, NULL, AAA, 1, 1000, 100, CENTS(100));                                /* 1.00 */
    assert_int_equal(fill(p, NULL, AAA, -1, 1100, 100, CENTS(150)), MONEY(100)); /* gross */
    fill(p, NULL, DDD, 1, 5, 2, 7);
    struct portfolio_totals t;
    portfolio_totals(p, NULL, &t);
    assert_int_equal(t.commissions, CENTS(250) + 7);
    assert_int_equal(t.realized, MONEY(100));
    assert_int_equal(t.cash, MONEY(10000) + MONEY(100) - CENTS(250) - MONEY(10) - 7);
    assert_int_equal(portfolio_position(p, NULL, AAA)->commissions, CENTS(250));
    assert_int_equal(portfolio_position(p, NULL, DDD)->commissions, 7);
    /* Commissions do not enter the basis. */
    assert_pos(p, NULL, DDD, 2, MONEY(10), 0);
    assert_int_equal(t.equity, MONEY(10000) + MONEY(100) - CENTS(250) - 7);
    portfolio_free(p);
}

static void test_marks_equity_exposure(void **s)
{
    struct portfolio *p = portfolio_new(&ins, MONEY(100000), PPY);
    assert_int_equal(portfolio_mark_of(p, AAA), 0);
    fill(p, NULL, AAA, 1, 1000, 100, 0);   /* long 100 @ 10.00 */
    fill(p, NULL, FFF, -1, 2000, 1000, 0); /* short 10.00 @ 200.0 = -2000 */
    fill(p, NULL, DDD, 1, 50, 3, 0);       /* long 3 @ 50, never marked */
    struct portfolio_totals t;
    portfolio_totals(p, NULL, &t);
    /* Unmarked: valued at cost, no unrealized. */
    assert_int_equal(t.unrealized, 0);
    assert_int_equal(t.equity, MONEY(100000));
    assert_int_equal(t.gross_exposure, MONEY(1000 + 2000 + 150));
    assert_int_equal(t.net_exposure, MONEY(1000 - 2000 + 150));

    portfolio_mark(p, AAA, 1250); /* +250 */
    portfolio_mark(p, FFF, 2100); /* short loses 100 */
    assert_int_equal(portfolio_mark_of(p, AAA), 1250);
    portfolio_totals(p, NULL, &t);
    assert_int_equal(t.unrealized, MONEY(150));
    assert_int_equal(t.equity, MONEY(100150));
    assert_int_equal(t.gross_exposure, MONEY(1250 + 2100 + 150));
    assert_int_equal(t.net_exposure, MONEY(1250 - 2100 + 150));
    assert_int_equal(t.cash, MONEY(100000 - 1000 + 2000 - 150));
    assert_int_equal(t.equity, t.cash + t.net_exposure);
    /* A mark below zero still values exactly (spreads can trade negative). */
    portfolio_mark(p, AAA, -5);
    portfolio_totals(p, NULL, &t);
    assert_int_equal(t.net_exposure, CENTS(-500) - MONEY(2100) + MONEY(150));
    assert_int_equal(t.gross_exposure, CENTS(500) + MONEY(2100) + MONEY(150));
    portfolio_free(p);
}

static void test_strategy_accounts(void **s)
{
    struct portfolio *p = portfolio_new(&ins, MONEY(1000000), PPY);
    portfolio_account(p, "alpha", MONEY(5000));
    const char *const *names;
    assert_int_equal(portfolio_accounts(p, &names), 1);
    /* alpha buys 100 @ 10; beta (created on demand, 0 cash) sells 100 @ 12. */
    assert_int_equal(fill(p, "alpha", AAA, 1, 1000, 100, 0), 0);
    assert_int_equal(fill(p, "beta", AAA, -1, 1200, 100, 0), 0); /* beta opened */
    /* The total netted them: flat, realized 200, which neither strategy has. */
    assert_pos(p, NULL, AAA, 0, 0, MONEY(200));
    assert_pos(p, "alpha", AAA, 100, MONEY(1000), 0);
    assert_pos(p, "beta", AAA, -100, MONEY(-1200), 0);
    /* A manual fill (NULL and "" alike) reaches only the total. */
    fill(p, NULL, DDD, 1, 10, 1, 0);
    fill(p, "", DDD, 1, 10, 1, 0);
    assert_int_equal(portfolio_qty(p, NULL, DDD), 2);
    assert_int_equal(portfolio_qty(p, "", DDD), 2);
    assert_null(portfolio_position(p, "alpha", DDD));
    assert_int_equal(portfolio_qty(p, "alpha", DDD), 0);

    struct portfolio_totals ta, tb, tt;
    portfolio_totals(p, "alpha", &ta);
    portfolio_totals(p, "beta", &tb);
    portfolio_totals(p, NULL, &tt);
    assert_int_equal(ta.initial_cash, MONEY(5000));
    assert_int_equal(ta.cash, MONEY(4000));
    assert_int_equal(tb.initial_cash, 0);
    assert_int_equal(tb.cash, MONEY(1200));
    assert_int_equal(tt.cash, MONEY(1000000) - MONEY(1000) + MONEY(1200) - MONEY(20));
    assert_int_equal(tt.fills, 4);
    assert_int_equal(ta.fills, 1);
    /* Idempotent: an existing account keeps its cash. */
    portfolio_account(p, "beta", MONEY(777));
    portfolio_totals(p, "beta", &tb);
    assert_int_equal(tb.initial_cash, 0);
    assert_int_equal(portfolio_accounts(p, &names), 2);
    assert_string_equal(names[0], "alpha");
    assert_string_equal(names[1], "beta");
    /* The return value is the strategy's realized: beta covers 100 @ 11, +100 for beta,
     * while the total, flat after the netting, opens long 100 @ 11. */
    assert_int_equal(fill(p, "beta", AAA, 1, 1100, 100, 0), MONEY(100));
    assert_pos(p, NULL, AAA, 100, MONEY(1100), MONEY(200));
    /* Unknown strategies: nothing, and zeros. */
    portfolio_totals(p, "nobody", &tt);
    assert_int_equal(tt.cash, 0);
    assert_int_equal(tt.fills, 0);
    assert_null(portfolio_position(p, "nobody", AAA));
    const struct position *const *pos;
    assert_int_equal(portfolio_positions(p, "nobody", &pos), 0);
    assert_int_equal(portfolio_positions(p, NULL, &pos), 2);
    assert_int_equal(pos[0]->sym, AAA);
    assert_int_equal(pos[1]->sym, DDD);
    assert_int_equal(portfolio_positions(p, "beta", &pos), 1); /* flat, but traded */
    assert_int_equal(pos[0]->qty, 0);
    portfolio_free(p);
}

static void test_saturation(void **s)
{
    struct portfolio *p = portfolio_new(&ins, 0, PPY);
    int64_t huge = INT64_MAX / 2;
    fill(p, NULL, DDD, 1, huge, 4, 0); /* notional saturates to INT64_MAX */
    fill(p, NULL, DDD, 1, huge, 4, 1);
    struct portfolio_totals t;
    portfolio_totals(p, NULL, &t);
    assert_int_equal(t.cash, INT64_MIN);
    assert_pos(p, NULL, DDD, 8, INT64_MAX, 0);
    portfolio_mark(p, DDD, huge);
    portfolio_totals(p, NULL, &t); /* values saturate; no overflow (UBSan would abort) */
    assert_int_equal(t.net_exposure, INT64_MAX);
    assert_int_equal(t.equity, -1);
    fill(p, NULL, DDD, -1, huge, 8, 0);
    assert_int_equal(portfolio_qty(p, NULL, DDD), 0);
    portfolio_free(p);
}

static void test_new_day(void **s)
{
    struct portfolio *p = portfolio_new(&ins, MONEY(1000), PPY);
    fill(p, NULL, AAA, 1, 1000, 10, 0);
    portfolio_mark(p, AAA, 1100);
    struct portfolio_totals t;
    portfolio_totals(p, NULL, &t);
    assert_int_equal(t.day_start_equity, MONEY(1000));
    assert_int_equal(t.day_pnl, MONEY(10));
    portfolio_new_day(p);
    portfolio_totals(p, NULL, &t);
    assert_int_equal(t.day_start_equity, MONEY(1010));
    assert_int_equal(t.day_pnl, 0);
    portfolio_mark(p, AAA, 950);
    fill(p, NULL, AAA, 1, 950, 1, CENTS(50));
    portfolio_totals(p, NULL, &t);
    assert_int_equal(t.day_pnl, MONEY(-15) - CENTS(50));
    /* An account created after the new day starts it at its initial cash. */
    portfolio_account(p, "late", MONEY(300));
    portfolio_totals(p, "late", &t);
    assert_int_equal(t.day_start_equity, MONEY(300));
    assert_int_equal(t.day_pnl, 0);
    portfolio_free(p);
}

static void test_peak_drawdown(void **s)
{
    struct portfolio *p = portfolio_new(&ins, MONEY(100), PPY);
    fill(p, NULL, AAA, 1, 10000, 1, 0); /* all in: 1 @ 100.00 */
    portfolio_mark(p, AAA, 9000);
    struct portfolio_totals t;
    portfolio_totals(p, NULL, &t);
    /* The initial cash is the first peak. */
    assert_int_equal(t.peak_equity, MONEY(100));
    assert_int_equal(t.drawdown, MONEY(10));
    /* The current equity counts; unsampled, it is not remembered. */
    portfolio_mark(p, AAA, 13000);
    portfolio_totals(p, NULL, &t);
    assert_int_equal(t.peak_equity, MONEY(130));
    assert_int_equal(t.drawdown, 0);
    portfolio_mark(p, AAA, 12000);
    portfolio_totals(p, NULL, &t);
    assert_int_equal(t.peak_equity, MONEY(120));
    /* A sample is remembered. */
    portfolio_sample(p, T0);
    portfolio_mark(p, AAA, 11000);
    portfolio_totals(p, NULL, &t);
    assert_int_equal(t.peak_equity, MONEY(120));
    assert_int_equal(t.drawdown, MONEY(10));
    portfolio_free(p);
}

/* A portfolio whose total equity is the mark of one AAA share bought with all its
 * cash (100.00), so the curve is set by marks (in cents). */
static struct portfolio *one_share(int64_t first_cents)
{
    struct portfolio *p = portfolio_new(&ins, CENTS(first_cents), PPY);
    fill(p, NULL, AAA, 1, first_cents, 1, 0);
    return p;
}

static void sample_at(struct portfolio *p, int64_t cents, int64_t ts)
{
    portfolio_mark(p, AAA, cents);
    portfolio_sample(p, ts);
}

static void test_metrics_curve(void **s)
{
    struct portfolio *p = one_share(10000);
    const int64_t curve[] = {10000, 11000, 9900, 12100};
    for (int i = 0; i < 4; i++) sample_at(p, curve[i], T0 + i);
    struct portfolio_metrics m;
    portfolio_metrics(p, NULL, &m);
    /* r = 1/10, -1/10, 2/9; mean 2/27; deviations 7/270, -47/270, 40/270: sample
     * variance 3858/270^2/2, sd sqrt(1929)/270, so mean/sd = 20/sqrt(1929).
     * Downside deviation sqrt((1/100)/3), so mean/dd = (2/27) * sqrt(300). */
    assert_int_equal(m.samples, 4);
    assert_near(m.total_return, 0.21, 1e-12);
    assert_near(m.sharpe, 20 / sqrt(1929) * sqrt(PPY), 1e-9);
    assert_near(m.sortino, 2.0 / 27 * sqrt(300) * sqrt(PPY), 1e-9);
    assert_near(m.max_drawdown, 0.1, 1e-12); /* 110 -> 99 */
    assert_int_equal(m.max_drawdown_money, MONEY(11));
    /* n = 3 returns: index (3 - 1) / 20 = 0, the worst: -0.1. */
    assert_near(m.var95, 0.1, 1e-12);
    assert_int_equal(m.closing_fills, 0);
    assert_near(m.win_rate, 0, 0);
    assert_near(m.profit_factor, 0, 0);
    /* The strategy-less total is the only account; an unknown one gives zeros. */
    portfolio_metrics(p, "nobody", &m);
    assert_int_equal(m.samples, 0);
    portfolio_free(p);
}

static void test_metrics_edges(void **s)
{
    struct portfolio *p = one_share(10000);
    struct portfolio_metrics m;
    portfolio_metrics(p, NULL, &m); /* no samples */
    assert_int_equal(m.samples, 0);
    assert_near(m.sharpe, 0, 0);
    assert_near(m.var95, 0, 0);
    assert_near(m.max_drawdown, 0, 0);
    sample_at(p, 10000, T0); /* one sample: no return */
    portfolio_metrics(p, NULL, &m);
    assert_int_equal(m.samples, 1);
    assert_near(m.sharpe, 0, 0);
    assert_near(m.sortino, 0, 0);
    sample_at(p, 12000, T0 + 1); /* one return: Sharpe needs two */
    portfolio_metrics(p, NULL, &m);
    assert_near(m.sharpe, 0, 0);
    assert_near(m.var95, 0, 0); /* -0.2 clamped at 0 */
    portfolio_free(p);

    /* Zero variance: 100 -> 200 -> 400, returns exactly 1 and 1. No downside with a
     * positive mean: Sortino INFINITY. */
    p = one_share(10000);
    sample_at(p, 10000, T0);
    sample_at(p, 20000, T0 + 1);
    sample_at(p, 40000, T0 + 2);
    portfolio_metrics(p, NULL, &m);
    assert_near(m.sharpe, 0, 0);
    assert_true(isinf(m.sortino) && m.sortino > 0);
    assert_near(m.total_return, 3, 1e-12);
    portfolio_free(p);

    /* Flat curve: everything 0. */
    p = one_share(10000);
    for (int i = 0; i < 5; i++) sample_at(p, 10000, T0 + i);
    portfolio_metrics(p, NULL, &m);
    assert_near(m.sharpe, 0, 0);
    assert_near(m.sortino, 0, 0);
    assert_near(m.var95, 0, 0);
    portfolio_free(p);

    /* A strategy with no capital: no total return; returns from an equity <= 0 are
     * skipped (0 -> 5 -> 10 gives one return, 1.0). */
    p = portfolio_new(&ins, MONEY(1000), PPY);
    fill(p, "s", AAA, 1, 10000, 1, 0);
    for (int i = 0; i < 3; i++) sample_at(p, 10000 + 500 * i, T0 + i);
    portfolio_metrics(p, "s", &m);
    assert_near(m.total_return, 0, 0);
    assert_int_equal(m.samples, 3);
    assert_near(m.var95, 0, 0);
    assert_int_equal(m.max_drawdown_money, 0);
    portfolio_free(p);
}

/* var95 of a curve of n returns from 100.00: steps of +1.00 except drops of 8, 5 and 3
 * at steps 5, 12 and 17. drop[k] gets the k-th worst return (as the metric computes it). */
static double var95_of(int n, double drop[3])
{
    struct portfolio *p = one_share(10000);
    int64_t e = 10000;
    sample_at(p, e, T0);
    for (int i = 1; i <= n; i++) {
        int64_t prev = e, step = i == 5 ? -800 : i == 12 ? -500 : i == 17 ? -300 : 100;
        e += step;
        if (step < 0) *drop++ = (double)CENTS(e) / (double)CENTS(prev) - 1;
        sample_at(p, e, T0 + i);
    }
    struct portfolio_metrics m;
    portfolio_metrics(p, NULL, &m);
    assert_int_equal(m.samples, n + 1);
    portfolio_free(p);
    return m.var95;
}

static void test_var95_percentile(void **s)
{
    /* The value at index (n - 1) / 20 of the ascending returns. */
    double drop[3];
    assert_near(var95_of(20, drop), -drop[0], 0); /* index 0: the worst */
    assert_near(var95_of(21, drop), -drop[1], 0); /* index 1 */
    assert_true(-drop[1] > 0.04 && -drop[1] < 0.05);
    assert_near(var95_of(40, drop), -drop[1], 0);
    assert_near(var95_of(41, drop), -drop[2], 0); /* index 2 */
}

static void test_trade_stats(void **s)
{
    struct portfolio *p = portfolio_new(&ins, MONEY(10000), PPY);
    fill(p, NULL, AAA, 1, 1000, 10, 0);
    fill(p, NULL, AAA, -1, 1200, 5, 0);  /* +10 */
    fill(p, NULL, AAA, -1, 900, 5, 0);   /* -5 */
    fill(p, NULL, AAA, -1, 1000, 10, 0); /* opens short: not a closing fill */
    fill(p, NULL, AAA, 1, 1000, 4, 0);   /* 0: closing, neither win nor loss */
    fill(p, NULL, AAA, 1, 700, 10, 0);   /* crosses: +18 on 6, reopens 4 long */
    struct portfolio_metrics m;
    portfolio_metrics(p, NULL, &m);
    assert_int_equal(m.closing_fills, 4);
    assert_int_equal(m.wins, 2);
    assert_near(m.win_rate, 0.5, 1e-15);
    assert_near(m.profit_factor, 28.0 / 5.0, 1e-12);
    portfolio_free(p);

    /* Wins only: INFINITY; breakeven only: 0. */
    p = portfolio_new(&ins, MONEY(10000), PPY);
    fill(p, "w", AAA, 1, 1000, 10, 0);
    fill(p, "w", AAA, -1, 1100, 10, 0);
    fill(p, "b", AAA, 1, 1000, 10, 0);
    fill(p, "b", AAA, -1, 1000, 10, 0);
    portfolio_metrics(p, "w", &m);
    assert_true(isinf(m.profit_factor));
    assert_near(m.win_rate, 1, 0);
    portfolio_metrics(p, "b", &m);
    assert_int_equal(m.closing_fills, 1);
    assert_near(m.profit_factor, 0, 0);
    assert_near(m.win_rate, 0, 0);
    portfolio_free(p);
}

static int cmp_dbl(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* The metrics are kept up to date sample by sample; here they must equal the textbook
 * two-pass computation over a random curve (with runs of equal returns, and a dip
 * below zero equity, whose returns are skipped). */
static void test_metrics_incremental_equal_batch(void **s)
{
    enum { N = 5000 };
    static int64_t e[N];
    struct portfolio *p = one_share(10000);
    uint64_t x = 88172645463325252ull;
    int64_t px = 10000;
    for (int i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        if (x % 5 != 0) px += (int64_t)(x % 201) - 100; /* a fifth of the steps are flat */
        if (i == 2000) px = -50;
        if (i == 2001) px = 9000;
        e[i] = px;
        sample_at(p, px, T0 + i);
    }
    static double r[N];
    int n = 0;
    double sum = 0, down = 0, peak = (double)e[0], mdd = 0;
    for (int i = 1; i < N; i++) {
        if (e[i - 1] > 0) {
            r[n] = (double)e[i] / (double)e[i - 1] - 1;
            sum += r[n];
            if (r[n] < 0) down += r[n] * r[n];
            n++;
        }
        peak = fmax(peak, (double)e[i]);
        if (peak > 0) mdd = fmax(mdd, (peak - (double)e[i]) / peak);
    }
    double mean = sum / n, ss = 0;
    for (int i = 0; i < n; i++) ss += (r[i] - mean) * (r[i] - mean);
    qsort(r, n, sizeof *r, cmp_dbl);
    struct portfolio_metrics m;
    portfolio_metrics(p, NULL, &m);
    assert_int_equal(m.samples, N);
    double want_sharpe = mean / sqrt(ss / (n - 1)) * sqrt(PPY);
    assert_near(m.sharpe, want_sharpe, 1e-9 * fabs(want_sharpe));
    double want_sortino = mean / sqrt(down / n) * sqrt(PPY);
    assert_near(m.sortino, want_sortino, 1e-9 * fabs(want_sortino));
    assert_near(m.var95, fmax(0, -r[(n - 1) / 20]), 0);
    assert_near(m.max_drawdown, mdd, 1e-12);
    portfolio_free(p);
}

static void test_curve_ring(void **s)
{
    struct portfolio *p = one_share(10000);
    sample_at(p, 12000, T0);
    sample_at(p, 5000, T0 + 1);
    portfolio_mark(p, AAA, 10000);
    for (int i = 2; i < PORTFOLIO_CURVE_MAX; i++) portfolio_sample(p, T0 + i);
    struct portfolio_metrics m;
    portfolio_metrics(p, NULL, &m);
    assert_int_equal(m.samples, PORTFOLIO_CURVE_MAX);
    assert_near(m.max_drawdown, 70.0 / 120.0, 1e-12);
    /* One more: 120 leaves the ring with its return to 50 (the curve now starts at its
     * trough); the drawdown is the whole run's, so it stays. */
    portfolio_sample(p, T0 + PORTFOLIO_CURVE_MAX);
    portfolio_metrics(p, NULL, &m);
    assert_int_equal(m.samples, PORTFOLIO_CURVE_MAX);
    assert_near(m.max_drawdown, 70.0 / 120.0, 1e-12);
    assert_int_equal(m.max_drawdown_money, MONEY(70));
    /* the returns left are 50 -> 100 (+100%) and then zeros: only gains now */
    assert_true(m.sharpe > 0 && isinf(m.sortino));
    /* The peak in totals is all-time. */
    struct portfolio_totals t;
    portfolio_totals(p, NULL, &t);
    assert_int_equal(t.peak_equity, MONEY(120));
    assert_int_equal(t.drawdown, MONEY(20));
    portfolio_free(p);
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_non_null(v);
    assert_false(isnan(json_number(v)));
    return json_number(v);
}

static void test_json(void **s)
{
    struct portfolio *p = portfolio_new(&ins, MONEY(100000), PPY);
    fill(p, "alpha", AAA, 1, 1000, 100, CENTS(100));
    fill(p, "alpha", AAA, 1, 1100, 100, 0);
    fill(p, "alpha", FFF, -1, 25, 150, 0); /* short 1.50 @ 2.5 */
    portfolio_mark(p, AAA, 1200);
    const struct position *pos = portfolio_position(p, "alpha", AAA);
    cJSON *o = portfolio_position_json(p, pos);
    assert_string_equal(cJSON_GetObjectItem(o, "symbol")->valuestring, "AAA");
    assert_near(num(o, "qty"), 200, 0);
    assert_near(num(o, "avg_price"), 10.5, 1e-12);
    assert_near(num(o, "cost"), 2100, 0);
    assert_near(num(o, "mark"), 12, 0);
    assert_near(num(o, "market_value"), 2400, 0);
    assert_near(num(o, "unrealized"), 300, 0);
    assert_near(num(o, "realized"), 0, 0);
    assert_near(num(o, "commissions"), 1, 0);
    cJSON_Delete(o);
    o = portfolio_position_json(p, portfolio_position(p, "alpha", FFF));
    assert_near(num(o, "qty"), -1.5, 0);
    assert_near(num(o, "avg_price"), 2.5, 1e-12);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "mark")));
    cJSON_Delete(o);

    /* The update snapshots print the same as the live objects (plus the account for a
     * position), even after the portfolio moved on. */
    struct portfolio_update pu, tu;
    portfolio_position_update(p, "alpha", portfolio_position(p, "alpha", AAA), &pu);
    portfolio_totals_update(p, NULL, &tu);
    char *live_pos = cJSON_PrintUnformatted(o = portfolio_position_json(p, pos));
    cJSON_Delete(o);
    char *live_tot = cJSON_PrintUnformatted(o = portfolio_totals_json(p, NULL));
    cJSON_Delete(o);
    portfolio_mark(p, AAA, 1300); /* the portfolio moves on; the snapshots do not */
    o = portfolio_update_json(&pu, &ins);
    assert_string_equal(cJSON_GetObjectItem(o, "strategy")->valuestring, "alpha");
    cJSON_DeleteItemFromObject(o, "strategy");
    char *snap = cJSON_PrintUnformatted(o);
    assert_string_equal(snap, live_pos);
    cJSON_Delete(o);
    free(snap);
    o = portfolio_update_json(&tu, &ins);
    snap = cJSON_PrintUnformatted(o);
    assert_string_equal(snap, live_tot);
    cJSON_Delete(o);
    free(snap);
    free(live_pos);
    free(live_tot);
    portfolio_mark(p, AAA, 1200);

    o = portfolio_totals_json(p, "alpha");
    assert_near(num(o, "cash"), -2100 - 1 + 3.75, 1e-9);
    assert_near(num(o, "equity"), 300.0 - 1, 1e-9); /* unrealized - commission */
    assert_near(num(o, "unrealized"), 300, 0);
    assert_near(num(o, "gross_exposure"), 2403.75, 1e-9);
    assert_near(num(o, "net_exposure"), 2396.25, 1e-9);
    assert_near(num(o, "fills"), 3, 0);
    static const char *const keys[] = {"realized", "commissions", "day_pnl",
                                       "drawdown", "peak_equity", "initial_cash"};
    for (size_t i = 0; i < ARRAY_LEN(keys); i++) num(o, keys[i]);
    cJSON_Delete(o);

    fill(p, "alpha", AAA, -1, 1200, 200, 0);
    o = portfolio_metrics_json(p, "alpha");
    assert_near(num(o, "win_rate"), 1, 0);
    assert_near(num(o, "samples"), 0, 0);
    static const char *const mkeys[] = {"total_return", "sharpe", "sortino", "max_drawdown",
                                        "var95"};
    for (size_t i = 0; i < ARRAY_LEN(mkeys); i++) num(o, mkeys[i]);
    char *text = cJSON_PrintUnformatted(o);
    assert_non_null(strstr(text, "\"profit_factor\":null")); /* INFINITY */
    cJSON_free(text);
    cJSON_Delete(o);
    portfolio_free(p);
}

static void test_later_instrument(void **s)
{
    struct instruments local = {0};
    struct err e;
    struct instrument a = {"A", 2, 1, 0, 1}, b = {"B", 3, 1, 2, 1};
    assert_int_equal(instruments_add(&local, &a, &e), 0);
    struct portfolio *p = portfolio_new(&local, MONEY(100), PPY);
    fill(p, "s", 0, 1, 100, 1, 0);
    portfolio_mark(p, 0, 100);
    for (int i = 0; i < 20; i++) {
        char sym[8];
        snprintf(sym, sizeof sym, "L%d", i);
        util_strlcpy(b.symbol, sym, sizeof b.symbol);
        int id = instruments_add(&local, &b, &e); /* may move local.v */
        assert_int_equal(id, i + 1);
        fill(p, "s", id, -1, 1500, 200, 0); /* 1.500 * 2.00 = 3.00 */
        portfolio_mark(p, id, 1000);
    }
    struct portfolio_totals t;
    portfolio_totals(p, "s", &t);
    assert_int_equal(t.unrealized, MONEY(20));
    assert_int_equal(t.cash, MONEY(-1) + MONEY(60));
    portfolio_free(p);
    instruments_free(&local);
}

/* ---- reconciliation ----------------------------------------------------------------- */

#define NFILLS 20000
enum { A_TOTAL, A_ALPHA, A_BETA, A_GAMMA, A_MANUAL, NACC };
static const char *const acc_name[NACC] = {NULL, "alpha", "beta", "gamma", NULL};

/* What the test itself knows about each account (A_MANUAL: fills without a strategy). */
struct shadow {
    int64_t initial;
    int64_t qty[NSYM], flow[NSYM], comm_sym[NSYM], bought[NSYM], sold[NSYM];
    bool traded[NSYM];
    int64_t comm;
    int64_t returned; /* sum of portfolio_apply_fill's results for this account */
    uint64_t fills;
};

static int64_t random_px(int sym)
{
    static const int64_t hi[NSYM] = {50000, 600000000, 5000000000, 1000, 200000000, 10000};
    int64_t tick = ins.v[sym].tick;
    return tick * rnd(1, hi[sym] / tick);
}

static int64_t random_qty(int sym)
{
    static const int64_t hi[NSYM] = {1000, 100000, 10000000000, 1000, 100000, 10000};
    int64_t lot = ins.v[sym].lot;
    return lot * rnd(1, rnd(0, 1) ? 3 : hi[sym] / lot); /* tiny sizes hit rounding */
}

static void shadow_book(struct shadow *sh, const struct fill *f)
{
    const struct instrument *in = &ins.v[f->sym];
    int64_t n = ref_notional(in->px_dp, in->qty_dp, f->px, f->qty);
    sh->qty[f->sym] += f->side * f->qty;
    sh->flow[f->sym] -= f->side * n;
    sh->comm_sym[f->sym] += f->commission;
    sh->comm += f->commission;
    if (f->side > 0) sh->bought[f->sym] += f->qty;
    else sh->sold[f->sym] += f->qty;
    sh->traded[f->sym] = true;
    sh->fills++;
}

/* (I1)-(I4) of portfolio.c for one account. */
static void check_account(const struct portfolio *p, const char *name, const struct shadow *sh)
{
    struct portfolio_totals t;
    portfolio_totals(p, name, &t);
    int64_t cost = 0, realized = 0, flow = 0, comm = 0;
    for (int sym = 0; sym < NSYM; sym++) {
        const struct position *pos = portfolio_position(p, name, sym);
        if (!sh->traded[sym]) {
            assert_null(pos);
            continue;
        }
        assert_non_null(pos);
        assert_int_equal(pos->qty, sh->qty[sym]);                   /* I2 */
        assert_int_equal(pos->realized - pos->cost, sh->flow[sym]); /* I1 */
        assert_int_equal(pos->commissions, sh->comm_sym[sym]);
        assert_int_equal(pos->bought, sh->bought[sym]);
        assert_int_equal(pos->sold, sh->sold[sym]);
        if (pos->qty == 0) assert_int_equal(pos->cost, 0);
        assert_true(pos->qty >= 0 ? pos->cost >= 0 : pos->cost <= 0); /* prices > 0 */
        cost += pos->cost;
        realized += pos->realized;
        flow += sh->flow[sym];
        comm += pos->commissions;
    }
    assert_int_equal(t.initial_cash, sh->initial);
    assert_int_equal(t.cash, sh->initial + flow - sh->comm);                   /* I3 */
    assert_int_equal(t.cash, sh->initial + t.realized - cost - t.commissions); /* I3 */
    assert_int_equal(t.realized, realized);
    assert_int_equal(t.commissions, comm);
    assert_int_equal(t.commissions, sh->comm);
    assert_int_equal(t.equity, sh->initial + t.realized + t.unrealized - t.commissions); /* I4 */
    assert_int_equal(t.equity, t.cash + t.net_exposure);
    assert_int_equal(t.fills, sh->fills);
}

/* (I5): the total against the strategies plus the manual fills. */
static void check_additivity(const struct portfolio *p, const struct shadow *sh)
{
    struct portfolio_totals t;
    int64_t cash_delta = 0;
    for (int sym = 0; sym < NSYM; sym++) {
        int64_t qty = sh[A_MANUAL].qty[sym], rc = sh[A_MANUAL].flow[sym];
        cash_delta += sh[A_MANUAL].flow[sym];
        for (int a = A_ALPHA; a <= A_GAMMA; a++) {
            const struct position *pos = portfolio_position(p, acc_name[a], sym);
            if (!pos) continue;
            qty += pos->qty;
            rc += pos->realized - pos->cost;
        }
        const struct position *tot = portfolio_position(p, NULL, sym);
        assert_int_equal(tot ? tot->qty : 0, qty);
        assert_int_equal(tot ? tot->realized - tot->cost : 0, rc);
    }
    cash_delta -= sh[A_MANUAL].comm;
    for (int a = A_ALPHA; a <= A_GAMMA; a++) {
        portfolio_totals(p, acc_name[a], &t);
        cash_delta += t.cash - t.initial_cash;
        assert_int_equal(t.realized, sh[a].returned);
    }
    portfolio_totals(p, NULL, &t);
    assert_int_equal(t.cash - t.initial_cash, cash_delta);
}

static void check_all(const struct portfolio *p, const struct shadow *sh)
{
    for (int a = A_TOTAL; a <= A_GAMMA; a++) check_account(p, acc_name[a], &sh[a]);
    check_additivity(p, sh);
}

static void random_fill(struct portfolio *p, struct shadow *sh, int64_t ts)
{
    int a = (int)rnd(A_ALPHA, A_MANUAL);
    struct fill f = {.sym = (int)rnd(0, NSYM - 1), .side = rnd(0, 1) ? 1 : -1, .ts_us = ts};
    int64_t held = portfolio_qty(p, acc_name[a == A_MANUAL ? A_TOTAL : a], f.sym);
    f.qty = random_qty(f.sym);
    if (held != 0 && rnd(0, 7) == 0) { /* exactly flat */
        f.side = held > 0 ? -1 : 1;
        f.qty = held > 0 ? held : -held;
    }
    f.px = random_px(f.sym);
    f.commission = rnd(0, 1) ? 0 : rnd(0, 5000000);
    int64_t r = portfolio_apply_fill(p, acc_name[a], &f);
    shadow_book(&sh[A_TOTAL], &f);
    shadow_book(&sh[a], &f);
    if (a != A_MANUAL) sh[a].returned += r;
}

static void test_reconciliation(void **s)
{
    static struct shadow sh[NACC];
    memset(sh, 0, sizeof sh);
    rng = 0x9E3779B97F4A7C15ULL;
    sh[A_TOTAL].initial = MONEY(1000000);
    sh[A_ALPHA].initial = MONEY(50000);
    struct portfolio *p = portfolio_new(&ins, sh[A_TOTAL].initial, PPY);
    portfolio_account(p, "alpha", sh[A_ALPHA].initial);
    for (int i = 0; i < NFILLS; i++) {
        random_fill(p, sh, T0 + i);
        if (i % 37 == 0) {
            int sym = (int)rnd(0, NSYM - 1);
            portfolio_mark(p, sym, random_px(sym));
        }
        if (i % 101 == 0) portfolio_sample(p, T0 + i);
        if (i % 5000 == 0) portfolio_new_day(p);
        if (i == 7000) portfolio_account(p, "beta", MONEY(123)); /* exists: no change */
        if (i % 1000 == 999) check_all(p, sh);
    }
    check_all(p, sh);
    /* Every branch was exercised: positions crossed and closed, and flat ones exist. */
    struct portfolio_metrics m;
    portfolio_metrics(p, NULL, &m);
    assert_true(m.closing_fills > NFILLS / 4);
    assert_int_equal(m.samples, (NFILLS + 100) / 101);
    const char *const *names;
    assert_int_equal(portfolio_accounts(p, &names), 3);
    portfolio_free(p);
}

/* ---- contract violations ------------------------------------------------------------ */

static void assert_aborts(void (*fn)(void))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fn();
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void bad_fill(int sym, int side, int64_t qty, int64_t comm)
{
    struct portfolio *p = portfolio_new(&ins, 0, PPY);
    fill(p, NULL, sym, side, 100, qty, comm);
}

static void zero_qty(void)
{
    bad_fill(AAA, 1, 0, 0);
}
static void bad_side(void)
{
    bad_fill(AAA, 0, 1, 0);
}
static void bad_sym(void)
{
    bad_fill(NSYM, 1, 1, 0);
}
static void negative_commission(void)
{
    bad_fill(AAA, 1, 1, -1);
}

static void test_contract_asserts(void **s)
{
    assert_aborts(zero_qty);
    assert_aborts(bad_side);
    assert_aborts(bad_sym);
    assert_aborts(negative_commission);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notional_rounding),
        cmocka_unit_test(test_notional_saturation),
        cmocka_unit_test(test_notional_reference),
        cmocka_unit_test(test_notional_fast_path_edges),
        cmocka_unit_test(test_average_cost),
        cmocka_unit_test(test_truncation_remainder),
        cmocka_unit_test(test_cross_rounding),
        cmocka_unit_test(test_commissions),
        cmocka_unit_test(test_marks_equity_exposure),
        cmocka_unit_test(test_strategy_accounts),
        cmocka_unit_test(test_saturation),
        cmocka_unit_test(test_new_day),
        cmocka_unit_test(test_peak_drawdown),
        cmocka_unit_test(test_metrics_curve),
        cmocka_unit_test(test_metrics_edges),
        cmocka_unit_test(test_var95_percentile),
        cmocka_unit_test(test_trade_stats),
        cmocka_unit_test(test_metrics_incremental_equal_batch),
        cmocka_unit_test(test_curve_ring),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_later_instrument),
        cmocka_unit_test(test_reconciliation),
        cmocka_unit_test(test_contract_asserts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
