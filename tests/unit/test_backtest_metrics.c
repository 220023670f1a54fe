/* Unit tests for backtest_metrics: round trips worked by hand (partial fills in and out,
 * a fill crossing zero with its commission split pro rata, shorts, a trade open at the
 * end, unmarked and marked, average prices rounded half away from zero, symbols
 * interleaved), the metrics of hand-computed equity curves (Sharpe, Sortino, drawdown
 * from the initial peak, CAGR, exposure, the edge cases of every definition), trade and
 * commission statistics, the metric lookup for sweeps, a property test against the
 * portfolio (every trade's pnl adds up to what the portfolio realized minus commissions,
 * in integers, after 20,000 random fills) and the ASSERTed contract. Expected values
 * are worked out in the comments, never with the code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backtest_metrics.h"
#include "log.h"
#include "portfolio.h"
#include "util.h"

#define MONEY(x) ((int64_t)(x)*1000000) /* whole currency units */
#define CENTS(x) ((int64_t)(x)*10000)
#define DAY      INT64_C(86400000000)
#define T0       INT64_C(1704067200000000) /* 2024-01-01T00:00:00Z */

#define assert_near(got, want, eps)                                                                \
    do {                                                                                           \
        double got_ = (got), want_ = (want);                                                       \
        if (!(fabs(got_ - want_) <= (eps))) fail_msg("%s = %.17g, want %.17g", #got, got_, want_); \
    } while (0)

/* AAA: prices with 2 decimals, whole shares. BBB: 4 and 4 (notionals round at 10^-8).
 * CCC: 0 and 0. */
enum { AAA, BBB, CCC, NSYM };
static struct instruments ins;

static int setup(void **s)
{
    static const struct instrument defs[NSYM] = {
        {"AAA", 2, 1, 0, 1},
        {"BBB", 4, 1, 4, 1},
        {"CCC", 0, 1, 0, 1},
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

static struct bt_fill F(int64_t t, int sym, int side, int64_t px, int64_t qty, int64_t comm) {
    return (struct bt_fill){T0 + t, 0, sym, side, px, qty, comm};
}

/* ---- round trips ----------------------------------------------------------------------- */

/* A long in two buys and out in two sells:
 *   buy 10 @ 100.00 (1.00)  buy 10 @ 102.00 (1.00)  sell 5 @ 105.00 (0.50)  sell 15 @ 104.00 (1.50)
 * in  = 1000 + 1020 = 2020 over 20 -> entry 101.00
 * out = 525 + 1560 = 2085 over 20 -> exit 104.25
 * pnl = 2085 - 2020 - 4.00 = 61.00; ret = 61 / 2020 = 0.0301980198019802 */
static void
test_partial_fills(void **s)
{
    struct bt_fill f[] = {
        F(1, AAA, 1, 10000, 10, MONEY(1)),
        F(2, AAA, 1, 10200, 10, MONEY(1)),
        F(3, AAA, -1, 10500, 5, CENTS(50)),
        F(4, AAA, -1, 10400, 15, CENTS(150)),
    };
    struct bt_trade *t;
    assert_int_equal(bt_trades_from_fills(&ins, f, 4, &t), 1);
    assert_int_equal(t[0].sym, AAA);
    assert_int_equal(t[0].side, 1);
    assert_int_equal(t[0].open_us, T0 + 1);
    assert_int_equal(t[0].close_us, T0 + 4);
    assert_int_equal(t[0].qty, 20);
    assert_int_equal(t[0].entry_px, 10100);
    assert_int_equal(t[0].exit_px, 10425);
    assert_int_equal(t[0].pnl, MONEY(61));
    assert_int_equal(t[0].commission, MONEY(4));
    assert_near(t[0].ret, 61.0 / 2020.0, 1e-15);
    assert_int_equal(t[0].fills, 4);
    assert_int_equal(t[0].open, 0);
    free(t);
}

/* A long closed by a sell that goes short, then the short closed:
 *   buy 10 @ 100.00 (1.00)   sell 30 @ 110.00 (1.00)   buy 20 @ 105.00 (0)
 * The sell's commission splits 10/30 and 20/30: 1000000 * 10 / 30 = 333333 (truncated)
 * to the long, 666667 to the short (nothing lost).
 * long:  in 1000, out 1100: pnl = 100 - 1.00 - 0.333333 = 98.666667
 * short: in 2200 (20 @ 110), out 2100: pnl = -(2100 - 2200) - 0.666667 = 99.333333 */
static void test_crossing_fill(void **s)
{
    struct bt_fill f[] = {
        F(1, AAA, 1, 10000, 10, MONEY(1)),
        F(2, AAA, -1, 11000, 30, MONEY(1)),
        F(3, AAA, 1, 10500, 20, 0),
    };
    struct bt_trade *t;
    assert_int_equal(bt_trades_from_fills(&ins, f, 3, &t), 2);
    assert_int_equal(t[0].side, 1);
    assert_int_equal(t[0].close_us, T0 + 2);
    assert_int_equal(t[0].qty, 10);
    assert_int_equal(t[0].commission, 1333333);
    assert_int_equal(t[0].pnl, 98666667);
    assert_int_equal(t[0].fills, 2);
    assert_int_equal(t[1].side, -1);
    assert_int_equal(t[1].open_us, T0 + 2);
    assert_int_equal(t[1].close_us, T0 + 3);
    assert_int_equal(t[1].qty, 20);
    assert_int_equal(t[1].entry_px, 11000);
    assert_int_equal(t[1].exit_px, 10500);
    assert_int_equal(t[1].commission, 666667);
    assert_int_equal(t[1].pnl, 99333333);
    assert_near(t[1].ret, 99.333333 / 2200.0, 1e-15);
    assert_int_equal(t[1].fills, 2);
    assert_int_equal(t[0].open + t[1].open, 0);
    free(t);
}

/* A short in one sell and out in two buys, at a loss:
 *   sell 10 @ 50.00   buy 4 @ 45.00   buy 6 @ 55.00
 * in 500, out 180 + 330 = 510: pnl = -(510 - 500) = -10.00; exit (180 + 330) / 10 = 51.00 */
static void test_short(void **s)
{
    struct bt_fill f[] = {
        F(1, AAA, -1, 5000, 10, 0),
        F(2, AAA, 1, 4500, 4, 0),
        F(3, AAA, 1, 5500, 6, 0),
    };
    struct bt_trade *t;
    assert_int_equal(bt_trades_from_fills(&ins, f, 3, &t), 1);
    assert_int_equal(t[0].side, -1);
    assert_int_equal(t[0].entry_px, 5000);
    assert_int_equal(t[0].exit_px, 5100);
    assert_int_equal(t[0].pnl, -MONEY(10));
    assert_near(t[0].ret, -0.02, 1e-15);
    free(t);
}

/* Open at the end: buy 10 @ 100.00, sell 4 @ 110.00; 6 still long.
 * Unmarked: pnl = what the exit realized = 440 - 4 * 100 = 40.00 (minus 0.40 commission of
 * the buy = 39.60), close_us 0, exit 110.00.
 * Marked at 120.00: pnl = 440 + 6 * 120 - 1000 - 0.40 = 159.60, exit (440 + 720) / 10 = 116.00. */
static void test_open_trade(void **s)
{
    struct bt_fill f[] = {
        F(1, AAA, 1, 10000, 10, CENTS(40)),
        F(2, AAA, -1, 11000, 4, 0),
    };
    struct bt_trade *t;
    assert_int_equal(bt_trades_from_fills(&ins, f, 2, &t), 1);
    assert_int_equal(t[0].open, 1);
    assert_int_equal(t[0].close_us, 0);
    assert_int_equal(t[0].entry_px, 10000);
    assert_int_equal(t[0].exit_px, 11000);
    assert_int_equal(t[0].pnl, CENTS(3960));
    assert_int_equal(t[0].qty, 10);
    free(t);

    int64_t last[NSYM] = {12000, 0, 0};
    assert_int_equal(bt_trades_build(&ins, f, 2, last, T0 + 9, &t), 1);
    assert_int_equal(t[0].open, 1);
    assert_int_equal(t[0].close_us, T0 + 9);
    assert_int_equal(t[0].exit_px, 11600);
    assert_int_equal(t[0].pnl, CENTS(15960));
    assert_near(t[0].ret, 159.60 / 1000.0, 1e-15);
    free(t);

    /* No price for the symbol: left as unmarked. */
    int64_t none[NSYM] = {0, 0, 0};
    assert_int_equal(bt_trades_build(&ins, f, 2, none, T0 + 9, &t), 1);
    assert_int_equal(t[0].close_us, 0);
    assert_int_equal(t[0].pnl, CENTS(3960));
    free(t);
}

/* An open trade with nothing out yet: exit_px 0, pnl = -commission. */
static void test_open_nothing_out(void **s)
{
    struct bt_fill f[] = {F(1, CCC, -1, 7, 3, CENTS(5))};
    struct bt_trade *t;
    assert_int_equal(bt_trades_from_fills(&ins, f, 1, &t), 1);
    assert_int_equal(t[0].side, -1);
    assert_int_equal(t[0].exit_px, 0);
    assert_int_equal(t[0].pnl, -CENTS(5));
    assert_int_equal(t[0].open, 1);
    free(t);
}

/* Average prices round half away from zero: buys at 100.01 and 100.02 average 100.015 ->
 * 100.02. The partial exit removes a truncated share of the basis: 3 bought for 1.00,
 * 1.01 and 1.01 (basis 3.02); selling 1 at 2.00 removes 3.02 / 3 = 1.006666 (truncated),
 * realizing 0.993334; the trade stays open with that pnl. */
static void test_rounding(void **s)
{
    struct bt_fill f[] = {
        F(1, AAA, 1, 10001, 1, 0),
        F(2, AAA, 1, 10002, 1, 0),
        F(3, AAA, -1, 10000, 2, 0),
    };
    struct bt_trade *t;
    assert_int_equal(bt_trades_from_fills(&ins, f, 3, &t), 1);
    assert_int_equal(t[0].entry_px, 10002);
    assert_int_equal(t[0].pnl, -CENTS(3)); /* 200.00 - 200.03 */
    free(t);

    struct bt_fill g[] = {
        F(1, AAA, 1, 100, 1, 0),
        F(2, AAA, 1, 101, 1, 0),
        F(3, AAA, 1, 101, 1, 0),
        F(4, AAA, -1, 200, 1, 0),
    };
    assert_int_equal(bt_trades_from_fills(&ins, g, 4, &t), 1);
    assert_int_equal(t[0].entry_px, 101); /* 302 / 3 = 100.67 -> 101 */
    assert_int_equal(t[0].open, 1);
    assert_int_equal(t[0].pnl, 993334);
    free(t);

    /* Short side: sells at 0.0001 and 0.0002 (BBB, 1 unit each) average 0.00015 -> 0.0002. */
    struct bt_fill h[] = {
        F(1, BBB, -1, 1, 10000, 0),
        F(2, BBB, -1, 2, 10000, 0),
    };
    assert_int_equal(bt_trades_from_fills(&ins, h, 2, &t), 1);
    assert_int_equal(t[0].entry_px, 2);
    assert_int_equal(t[0].qty, 20000);
    free(t);
}

/* Two symbols interleaved: trades come in the order they opened (BBB opens first and
 * closes last). BBB: buy 1 @ 2.5 (qty 1.0000), sell 1 @ 3.0: pnl 0.50. */
static void test_interleaved(void **s)
{
    struct bt_fill f[] = {
        F(1, BBB, 1, 25000, 10000, 0), F(2, AAA, -1, 1000, 1, 0),      F(3, AAA, 1, 900, 1, 0),
        F(4, AAA, 1, 900, 1, 0),       F(5, BBB, -1, 30000, 10000, 0),
    };
    struct bt_trade *t;
    assert_int_equal(bt_trades_from_fills(&ins, f, 5, &t), 3);
    assert_int_equal(t[0].sym, BBB);
    assert_int_equal(t[0].pnl, CENTS(50));
    assert_int_equal(t[0].close_us, T0 + 5);
    assert_int_equal(t[1].sym, AAA);
    assert_int_equal(t[1].side, -1);
    assert_int_equal(t[1].pnl, CENTS(100));
    assert_int_equal(t[2].sym, AAA);
    assert_int_equal(t[2].side, 1);
    assert_int_equal(t[2].open, 1);
    free(t);
}

static void test_no_fills(void **s)
{
    struct bt_trade *t = (struct bt_trade *)1;
    assert_int_equal(bt_trades_from_fills(&ins, NULL, 0, &t), 0);
    assert_null(t);
}

/* ---- equity curve metrics --------------------------------------------------------------- */

/* Initial 100; daily samples 100, 110, 99, 108.90, 119.79 (gross 0, 50, 50, 0, 0).
 * returns 0.1, -0.1, 0.1, 0.1: n = 4, mean 0.05
 *   deviations 0.05 -0.15 0.05 0.05 -> squares sum 0.0025*3 + 0.0225 = 0.03
 *   sd = sqrt(0.03 / 3) = 0.1 -> sharpe = 0.05 / 0.1 * sqrt(252) = 7.937253933193772
 *   dd = sqrt(0.01 / 4) = 0.05 -> sortino = sqrt(252) = 15.874507866387544
 * drawdown: peak 110, trough 99 -> 11 / 110 = 0.1 (11.00); 108.90 is only 1.10 under.
 * total return 0.1979. exposure: [t1, t2) and [t2, t3) of [t0, t4]: 2 / 4 = 0.5.
 * cagr over 4 days: 1.1979^(365.25 / 4) - 1 = e^(91.3125 * ln 1.1979) - 1, ln 1.1979 =
 *   0.18056..., so about e^16.488 = 1.45e7: checked loosely; exact cases below. */
static void test_curve(void **s)
{
    struct bt_sample c[] = {
        {T0, MONEY(100), 0},
        {T0 + DAY, MONEY(110), MONEY(50)},
        {T0 + 2 * DAY, MONEY(99), MONEY(50)},
        {T0 + 3 * DAY, CENTS(10890), 0},
        {T0 + 4 * DAY, CENTS(11979), 0},
    };
    struct bt_metrics m;
    bt_metrics_compute(c, 5, NULL, 0, NULL, 0, MONEY(100), 252, &m);
    assert_int_equal(m.start_us, T0);
    assert_int_equal(m.end_us, T0 + 4 * DAY);
    assert_int_equal(m.initial, MONEY(100));
    assert_int_equal(m.final, CENTS(11979));
    assert_int_equal(m.samples, 5);
    assert_near(m.periods_per_year, 252, 0);
    assert_near(m.sharpe, 7.937253933193772, 1e-12);
    assert_near(m.sortino, 15.874507866387544, 1e-12);
    assert_near(m.max_drawdown, 0.1, 1e-15);
    assert_int_equal(m.max_drawdown_money, MONEY(11));
    assert_near(m.total_return, 0.1979, 1e-15);
    assert_near(m.exposure, 0.5, 0);
    assert_true(m.cagr > 1.4e7 && m.cagr < 1.5e7);
    assert_int_equal(m.trades, 0);
    assert_near(m.profit_factor, 0, 0);
}

/* CAGR: 100 -> 121 over two years (730.5 days): 1.21^(1/2) - 1 = 0.1; over half a year
 * (182.625 days): 1.21^2 - 1 = 0.4641; a span of 0: 0; final <= 0: -1. */
static void test_cagr(void **s)
{
    struct bt_metrics m;
    struct bt_sample two[] = {{T0, MONEY(100), 0}, {T0 + 730 * DAY + DAY / 2, MONEY(121), 0}};
    bt_metrics_compute(two, 2, NULL, 0, NULL, 0, MONEY(100), 1, &m);
    assert_near(m.cagr, 0.1, 1e-12);
    assert_near(m.total_return, 0.21, 1e-15);
    struct bt_sample half[] = {{T0, MONEY(100), 0},
                               {T0 + 182 * DAY + 15 * DAY / 24, MONEY(121), 0}};
    bt_metrics_compute(half, 2, NULL, 0, NULL, 0, MONEY(100), 1, &m);
    assert_near(m.cagr, 0.4641, 1e-12);
    struct bt_sample one[] = {{T0, MONEY(121), 0}};
    bt_metrics_compute(one, 1, NULL, 0, NULL, 0, MONEY(100), 1, &m);
    assert_near(m.cagr, 0, 0);
    assert_near(m.total_return, 0.21, 1e-15);
    struct bt_sample bust[] = {{T0, MONEY(100), 0}, {T0 + DAY, -MONEY(5), 0}};
    bt_metrics_compute(bust, 2, NULL, 0, NULL, 0, MONEY(100), 1, &m);
    assert_near(m.cagr, -1, 0);
    assert_near(m.total_return, -1.05, 1e-15);
    /* initial <= 0: no return, no CAGR */
    bt_metrics_compute(two, 2, NULL, 0, NULL, 0, 0, 1, &m);
    assert_near(m.cagr, 0, 0);
    assert_near(m.total_return, 0, 0);
}

/* Sortino and Sharpe edges: only gains (100, 110, 121: returns 0.1, 0.1, sd 0, dd 0) give
 * sharpe 0 and sortino INFINITY; only losses with no spread (100, 90, 81) give sharpe 0
 * and a finite sortino: mean -0.1, dd = sqrt(0.02 / 2) = 0.1 -> -1 * sqrt(ppy); one
 * return gives 0 and 0; a flat curve 0 and 0. */
static void test_ratio_edges(void **s)
{
    struct bt_metrics m;
    struct bt_sample up[] = {{T0, MONEY(100), 0}, {T0 + 1, MONEY(110), 0}, {T0 + 2, MONEY(121), 0}};
    bt_metrics_compute(up, 3, NULL, 0, NULL, 0, MONEY(100), 4, &m);
    assert_near(m.sharpe, 0, 0);
    assert_true(isinf(m.sortino) && m.sortino > 0);
    struct bt_sample down[] = {{T0, MONEY(100), 0}, {T0 + 1, MONEY(90), 0}, {T0 + 2, MONEY(81), 0}};
    bt_metrics_compute(down, 3, NULL, 0, NULL, 0, MONEY(100), 4, &m);
    assert_near(m.sharpe, 0, 0);
    assert_near(m.sortino, -2, 1e-12);
    assert_near(m.max_drawdown, 0.19, 1e-15);
    bt_metrics_compute(up, 2, NULL, 0, NULL, 0, MONEY(100), 4, &m);
    assert_near(m.sharpe, 0, 0);
    assert_near(m.sortino, 0, 0);
    struct bt_sample flat[] = {
        {T0, MONEY(100), 0}, {T0 + 1, MONEY(100), 0}, {T0 + 2, MONEY(100), 0}};
    bt_metrics_compute(flat, 3, NULL, 0, NULL, 0, MONEY(100), 4, &m);
    assert_near(m.sharpe, 0, 0);
    assert_near(m.sortino, 0, 0);
    bt_metrics_compute(NULL, 0, NULL, 0, NULL, 0, MONEY(100), 4, &m);
    assert_int_equal(m.final, MONEY(100));
    assert_int_equal(m.samples, 0);
    assert_near(m.exposure, 0, 0);
}

/* A sample at or below zero starts no return: 100, 0, 50, 60 gives r = -1 (100 -> 0) and
 * 0.2 (50 -> 60); the pair 0 -> 50 gives none. mean -0.4, deviations -0.6 and 0.6,
 * sd = sqrt(0.72 / 1) = 0.848528137423857 -> sharpe (ppy 1) = -0.4 / 0.8485... =
 * -0.47140452079103173; dd = sqrt(1 / 2) -> sortino = -0.4 / 0.70710678 = -0.565685424949238.
 * Drawdown 100 -> 0 is 1 (all of it). */
static void test_nonpositive_equity(void **s)
{
    struct bt_metrics m;
    struct bt_sample c[] = {
        {T0, MONEY(100), 0}, {T0 + 1, 0, 0}, {T0 + 2, MONEY(50), 0}, {T0 + 3, MONEY(60), 0}};
    bt_metrics_compute(c, 4, NULL, 0, NULL, 0, MONEY(100), 1, &m);
    assert_near(m.sharpe, -0.47140452079103173, 1e-12);
    assert_near(m.sortino, -0.565685424949238, 1e-12);
    assert_near(m.max_drawdown, 1, 0);
    assert_int_equal(m.max_drawdown_money, MONEY(100));
}

/* The peak starts at the initial capital: 90 then 95 after starting with 100 is a 10%
 * (10.00) drawdown even though the curve itself only rose. */
static void test_drawdown_from_initial(void **s)
{
    struct bt_metrics m;
    struct bt_sample c[] = {{T0, MONEY(90), 0}, {T0 + 1, MONEY(95), 0}};
    bt_metrics_compute(c, 2, NULL, 0, NULL, 0, MONEY(100), 1, &m);
    assert_near(m.max_drawdown, 0.1, 1e-15);
    assert_int_equal(m.max_drawdown_money, MONEY(10));
}

/* Exposure weighs time, not samples: gross > 0 at the first of samples at 0, 1 h, 4 h
 * (the interval [0, 1 h)) and at the last (which opens no interval): 1 / 4 = 0.25. */
static void test_exposure_time_weighted(void **s)
{
    int64_t h = DAY / 24;
    struct bt_metrics m;
    struct bt_sample c[] = {
        {T0, MONEY(100), 1}, {T0 + h, MONEY(100), 0}, {T0 + 4 * h, MONEY(100), 1}};
    bt_metrics_compute(c, 3, NULL, 0, NULL, 0, MONEY(100), 1, &m);
    assert_near(m.exposure, 0.25, 0);
}

/* Trade statistics over closed trades: pnl 61, 98, -10, 0 and an open one of +500 (not
 * counted): 2 wins of 4 (0 is not a win), profit 159 / loss 10 = 15.9. Commissions are
 * the fills': 1.25 + 0.75 = 2.00. */
static void test_trade_stats(void **s)
{
    struct bt_trade t[5];
    memset(t, 0, sizeof t);
    t[0].pnl = MONEY(61);
    t[1].pnl = MONEY(98);
    t[2].pnl = -MONEY(10);
    t[3].pnl = 0;
    t[4].pnl = MONEY(500);
    t[4].open = 1;
    struct bt_fill f[] = {F(1, AAA, 1, 1, 1, CENTS(125)), F(2, AAA, -1, 1, 1, CENTS(75))};
    struct bt_metrics m;
    bt_metrics_compute(NULL, 0, t, 5, f, 2, MONEY(100), 1, &m);
    assert_int_equal(m.trades, 4);
    assert_int_equal(m.wins, 2);
    assert_near(m.win_rate, 0.5, 0);
    assert_near(m.profit_factor, 15.9, 1e-12);
    assert_int_equal(m.commissions, MONEY(2));

    /* No loss: INFINITY with a profit, 0 with neither. */
    bt_metrics_compute(NULL, 0, t, 2, NULL, 0, MONEY(100), 1, &m);
    assert_true(isinf(m.profit_factor));
    bt_metrics_compute(NULL, 0, t + 3, 2, NULL, 0, MONEY(100), 1, &m);
    assert_near(m.profit_factor, 0, 0);
    assert_int_equal(m.trades, 1);
    assert_near(m.win_rate, 0, 0);
}

/* ---- lookup by name ---------------------------------------------------------------------- */

static void test_metric_value(void **s)
{
    struct bt_metrics m;
    memset(&m, 0, sizeof m);
    m.sharpe = 1.5, m.sortino = 2, m.total_return = 0.25, m.cagr = 0.3, m.profit_factor = 3;
    m.win_rate = 0.6, m.max_drawdown = 0.2, m.exposure = 0.7, m.trades = 12;
    static const struct {
        const char *name;
        double v;
        int hb;
    } want[] = {
        {"sharpe", 1.5, 1},       {"sortino", 2, 1},       {"total_return", 0.25, 1},
        {"cagr", 0.3, 1},         {"profit_factor", 3, 1}, {"win_rate", 0.6, 1},
        {"max_drawdown", 0.2, 0}, {"exposure", 0.7, 0},    {"trades", 12, 1},
    };
    for (size_t i = 0; i < ARRAY_LEN(want); i++) {
        double v = -1;
        int hb = -1;
        assert_int_equal(bt_metric_value(&m, want[i].name, &v, &hb), 0);
        assert_near(v, want[i].v, 0);
        assert_int_equal(hb, want[i].hb);
        assert_non_null(strstr(bt_metric_names(), want[i].name));
    }
    double v;
    int hb;
    assert_int_equal(bt_metric_value(&m, "sharp", &v, &hb), -1);
    assert_int_equal(bt_metric_value(&m, "", &v, &hb), -1);
    assert_string_equal(bt_metric_names(), "sharpe, sortino, total_return, cagr, profit_factor, "
                                           "win_rate, max_drawdown, exposure, trades");
}

/* ---- against the portfolio ------------------------------------------------------------- */

#define NFILLS 20000
static uint64_t rng;

static int64_t rnd(int64_t lo, int64_t hi)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return lo + (int64_t)(rng % (uint64_t)(hi - lo + 1));
}

/* Random fills in every symbol, biased to cross and close often; the portfolio books the
 * same fills. Per symbol, the trades' pnl (open ones unmarked) must add up exactly to the
 * portfolio's realized minus commissions, and the positions left open must match; per
 * closed trade, its pnl before commissions is what the portfolio realized over its fills
 * (so a crossing fill's notional splits as the portfolio splits it). */
static void test_against_portfolio(void **s)
{
    rng = 0x9E3779B97F4A7C15ULL;
    struct portfolio *p = portfolio_new(&ins, MONEY(1000000), 1);
    struct bt_fill *f = xcalloc(NFILLS, sizeof *f);
    int64_t *realized = xcalloc(NFILLS, sizeof *realized); /* its symbol's, after fill i */
    int64_t pos[NSYM] = {0};
    for (int i = 0; i < NFILLS; i++) {
        int sym = (int)rnd(0, NSYM - 1);
        int side = pos[sym] > 0   ? (rnd(0, 2) ? -1 : 1)
                   : pos[sym] < 0 ? (rnd(0, 2) ? 1 : -1)
                                  : (rnd(0, 1) ? 1 : -1);
        int64_t qty =
            rnd(1, 3) == 1 && pos[sym] ? llabs(pos[sym]) : rnd(1, 40) * (sym == BBB ? 337 : 1);
        f[i] = F(i, sym, side, rnd(1, 100000), qty, rnd(0, 3) ? rnd(0, 99999) : 0);
        pos[sym] += side * qty;
        struct fill pf = {0, "", sym, side, f[i].px, qty, f[i].commission, f[i].t_us};
        portfolio_apply_fill(p, NULL, &pf);
        realized[i] = portfolio_position(p, NULL, sym)->realized;
    }
    struct bt_trade *t;
    int nt = bt_trades_from_fills(&ins, f, NFILLS, &t);
    assert_true(nt > NFILLS / 10);
    int closed = 0;
    for (int sym = 0; sym < NSYM; sym++) {
        int64_t sum = 0;
        int open = 0;
        for (int i = 0; i < nt; i++) {
            if (t[i].sym != sym) continue;
            sum += t[i].pnl;
            open += t[i].open;
            closed += !t[i].open;
            assert_true(t[i].qty > 0);
            if (t[i].open) continue;
            /* fill i is at T0 + i: what the portfolio realized from the trade's first
             * fill (an opening part realizes nothing) to its last */
            int64_t want = realized[t[i].close_us - T0] - realized[t[i].open_us - T0];
            assert_int_equal(t[i].pnl + t[i].commission, want);
        }
        const struct position *ps = portfolio_position(p, NULL, sym);
        assert_non_null(ps);
        assert_int_equal(sum, ps->realized - ps->commissions);
        assert_int_equal(open, ps->qty != 0);
    }
    assert_true(closed > NFILLS / 10);
    free(t);
    free(f);
    free(realized);
    portfolio_free(p);
}

/* ---- contract ---------------------------------------------------------------------------- */

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

static void build_one(struct bt_fill f)
{
    struct bt_trade *t;
    bt_trades_from_fills(&ins, &f, 1, &t);
}

static void zero_qty(void)
{
    build_one(F(1, AAA, 1, 100, 0, 0));
}

static void bad_side(void)
{
    build_one(F(1, AAA, 0, 100, 1, 0));
}

static void bad_sym(void)
{
    build_one(F(1, NSYM, 1, 100, 1, 0));
}

static void negative_commission(void)
{
    build_one(F(1, AAA, 1, 100, 1, -1));
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
        cmocka_unit_test(test_partial_fills),
        cmocka_unit_test(test_crossing_fill),
        cmocka_unit_test(test_short),
        cmocka_unit_test(test_open_trade),
        cmocka_unit_test(test_open_nothing_out),
        cmocka_unit_test(test_rounding),
        cmocka_unit_test(test_interleaved),
        cmocka_unit_test(test_no_fills),
        cmocka_unit_test(test_curve),
        cmocka_unit_test(test_cagr),
        cmocka_unit_test(test_ratio_edges),
        cmocka_unit_test(test_nonpositive_equity),
        cmocka_unit_test(test_drawdown_from_initial),
        cmocka_unit_test(test_exposure_time_weighted),
        cmocka_unit_test(test_trade_stats),
        cmocka_unit_test(test_metric_value),
        cmocka_unit_test(test_against_portfolio),
        cmocka_unit_test(test_contract_asserts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
