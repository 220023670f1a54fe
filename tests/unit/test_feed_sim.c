/* Unit tests for feed_sim: determinism for a seed, sensitivity to the seed, the
 * per-event invariants (tick grid, spread, sizes, per-symbol n), the trade ratio and
 * symbol mix, the price floor and ceiling, the GBM statistics, and configuration
 * validation with its messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "feed_sim.h"
#include "util.h"

static void add(struct instruments *r, const char *sym, int px_dp, int64_t tick, int qty_dp,
                int64_t lot)
{
    struct instrument in = {.px_dp = px_dp, .tick = tick, .qty_dp = qty_dp, .lot = lot};
    util_strlcpy(in.symbol, sym, sizeof in.symbol);
    struct err e;
    if (instruments_add(r, &in, &e) < 0) fail_msg("%s", e.msg);
}

/* Three symbols with different grids: AAPL ticks of 0.01, ES ticks of 0.25 (25 units
 * at dp=2), BTC/USD ticks of 0.5 with fractional lots of 0.001 (10 units at qty_dp=4). */
static struct instruments ins3;
static struct feed_sim_symbol syms3[3];
static struct feed_sim_config cfg3;

static int setup3(void **st)
{
    memset(&ins3, 0, sizeof ins3);
    add(&ins3, "AAPL", 2, 1, 0, 1);
    add(&ins3, "ES", 2, 25, 0, 1);
    add(&ins3, "BTC/USD", 1, 5, 4, 10);
    syms3[0] = (struct feed_sim_symbol){0, 190.25, 0.05, 0.25, 1, 10};
    syms3[1] = (struct feed_sim_symbol){1, 5000.0, 0.0, 0.4, 2, 50};
    syms3[2] = (struct feed_sim_symbol){2, 60000.0, 0.1, 0.8, 3, 7};
    cfg3 = (struct feed_sim_config){
        .seed = 42, .rate = 1000, .trade_ratio = 0.3, .symbols = syms3, .nsymbols = 3};
    return 0;
}

static int teardown3(void **st)
{
    instruments_free(&ins3);
    return 0;
}

static struct feed_sim *make(const struct feed_sim_config *cfg, const struct instruments *ins)
{
    struct err e;
    struct feed_sim *f = feed_sim_new(cfg, ins, &e);
    if (!f) fail_msg("feed_sim_new: %s", e.msg);
    return f;
}

static void assert_same_event(const struct event *a, const struct event *b)
{
    assert_int_equal(a->seq, b->seq);
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->ts_us, b->ts_us);
    assert_string_equal(a->source, b->source);
    assert_int_equal(a->md_kind, b->md_kind);
    assert_ptr_equal(a->data, b->data);
    if (a->md_kind == MD_QUOTE) {
        assert_int_equal(a->u.quote.sym, b->u.quote.sym);
        assert_int_equal(a->u.quote.bid_px, b->u.quote.bid_px);
        assert_int_equal(a->u.quote.ask_px, b->u.quote.ask_px);
        assert_int_equal(a->u.quote.bid_qty, b->u.quote.bid_qty);
        assert_int_equal(a->u.quote.ask_qty, b->u.quote.ask_qty);
        assert_int_equal(a->u.quote.n, b->u.quote.n);
    } else {
        assert_int_equal(a->u.trade.sym, b->u.trade.sym);
        assert_int_equal(a->u.trade.px, b->u.trade.px);
        assert_int_equal(a->u.trade.qty, b->u.trade.qty);
        assert_int_equal(a->u.trade.n, b->u.trade.n);
    }
}

static void test_same_seed_same_stream(void **st)
{
    struct feed_sim *a = make(&cfg3, &ins3), *b = make(&cfg3, &ins3);
    struct event ea, eb;
    for (int i = 0; i < 100000; i++) {
        memset(&ea, 0xa5, sizeof ea); /* garbage in must not leak into the output */
        memset(&eb, 0x5a, sizeof eb);
        feed_sim_next(a, &ea);
        feed_sim_next(b, &eb);
        assert_same_event(&ea, &eb);
    }
    assert_int_equal(feed_sim_count(a), 100000);
    assert_int_equal(feed_sim_count(b), 100000);
    feed_sim_free(a);
    feed_sim_free(b);
    feed_sim_free(NULL);
}

/* Pins the start of the stream for seed 42 to the values this implementation
 * produced when written, so an accidental change in draw order (which would break
 * reproducibility of recorded runs) fails here. Only fields that depend on integer
 * arithmetic of the PRNG are pinned, not prices, which go through libm's exp. */
static void test_golden_prefix(void **st)
{
    static const struct {
        int sym;
        int kind;
        int64_t qty;
    } want[] = {
        {0, MD_QUOTE, 10}, {2, MD_QUOTE, 60}, {2, MD_TRADE, 70}, {1, MD_QUOTE, 36},
        {0, MD_TRADE, 5},  {1, MD_QUOTE, 32}, {1, MD_QUOTE, 41}, {2, MD_TRADE, 70},
        {1, MD_QUOTE, 45}, {1, MD_QUOTE, 43}, {1, MD_QUOTE, 2},  {1, MD_QUOTE, 26},
        {2, MD_QUOTE, 10}, {0, MD_QUOTE, 5},  {2, MD_QUOTE, 50}, {0, MD_TRADE, 10},
    };
    struct feed_sim *f = make(&cfg3, &ins3);
    struct event ev;
    for (size_t i = 0; i < ARRAY_LEN(want); i++) {
        feed_sim_next(f, &ev);
        int sym = ev.md_kind == MD_QUOTE ? ev.u.quote.sym : ev.u.trade.sym;
        int64_t qty = ev.md_kind == MD_QUOTE ? ev.u.quote.bid_qty : ev.u.trade.qty;
        assert_int_equal(sym, want[i].sym);
        assert_int_equal(ev.md_kind, want[i].kind);
        assert_int_equal(qty, want[i].qty);
    }
    feed_sim_free(f);
}

static void test_different_seed(void **st)
{
    struct feed_sim_config c2 = cfg3;
    c2.seed = 43;
    struct feed_sim *a = make(&cfg3, &ins3), *b = make(&c2, &ins3);
    struct event ea, eb;
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        feed_sim_next(a, &ea);
        feed_sim_next(b, &eb);
        if (ea.md_kind != eb.md_kind || ea.u.quote.sym != eb.u.quote.sym) differ++;
    }
    /* Independent streams agree on (kind, symbol) with probability ~0.38 per event. */
    assert_true(differ > 500);
    feed_sim_free(a);
    feed_sim_free(b);
}

static void test_invariants(void **st)
{
    enum { N = 100000 };
    struct feed_sim *f = make(&cfg3, &ins3);
    uint64_t nq[3] = {0}, nt[3] = {0}, per_sym[3] = {0};
    int64_t min_lots[3] = {INT64_MAX, INT64_MAX, INT64_MAX}, max_lots[3] = {0};
    struct event ev;
    for (int i = 0; i < N; i++) {
        feed_sim_next(f, &ev);
        assert_int_equal(ev.type, EV_MARKET_DATA);
        assert_string_equal(ev.source, "feed_sim");
        assert_int_equal(ev.seq, 0);
        assert_int_equal(ev.ts_us, 0);
        assert_null(ev.data);
        int s;
        int64_t sizes[2];
        int nsizes;
        if (ev.md_kind == MD_QUOTE) {
            const struct quote *q = &ev.u.quote;
            s = q->sym;
            assert_in_range(s, 0, 2);
            int64_t tick = ins3.v[s].tick;
            assert_int_equal(q->n, ++nq[s]);
            assert_true(q->bid_px >= tick);
            assert_int_equal(q->bid_px % tick, 0);
            assert_int_equal(q->ask_px - q->bid_px, syms3[s].spread_ticks * tick);
            sizes[0] = q->bid_qty;
            sizes[1] = q->ask_qty;
            nsizes = 2;
        } else {
            assert_int_equal(ev.md_kind, MD_TRADE);
            const struct trade *t = &ev.u.trade;
            s = t->sym;
            assert_in_range(s, 0, 2);
            int64_t tick = ins3.v[s].tick;
            assert_int_equal(t->n, ++nt[s]);
            assert_true(t->px >= tick);
            assert_int_equal(t->px % tick, 0);
            sizes[0] = t->qty;
            nsizes = 1;
        }
        per_sym[s]++;
        for (int k = 0; k < nsizes; k++) {
            int64_t lot = ins3.v[s].lot;
            assert_int_equal(sizes[k] % lot, 0);
            int64_t lots = sizes[k] / lot;
            assert_in_range(lots, 1, syms3[s].max_lots);
            min_lots[s] = MIN(min_lots[s], lots);
            max_lots[s] = MAX(max_lots[s], lots);
        }
    }
    assert_int_equal(feed_sim_count(f), N);
    uint64_t trades = nt[0] + nt[1] + nt[2];
    /* Binomial(100000, 0.3): sd 0.00145, so 0.01 is ~7 sd. */
    assert_true(fabs((double)trades / N - 0.3) < 0.01);
    for (int s = 0; s < 3; s++) {
        /* Symbols drawn uniformly: sd of each share is 0.0015. */
        assert_true(fabs((double)per_sym[s] / N - 1.0 / 3) < 0.01);
        /* Sizes cover their whole range. */
        assert_int_equal(min_lots[s], 1);
        assert_int_equal(max_lots[s], syms3[s].max_lots);
    }
    feed_sim_free(f);
}

/* Trades print at the bid or the ask of the step's rounded mid: with zero volatility
 * and drift the mid stays put, so every trade is exactly at one of the two. */
static void test_trade_sides(void **st)
{
    struct feed_sim_symbol s = {0, 190.25, 0, 0, 4, 5};
    struct feed_sim_config c = {
        .seed = 7, .rate = 10, .trade_ratio = 0.5, .symbols = &s, .nsymbols = 1};
    struct feed_sim *f = make(&c, &ins3);
    struct event ev;
    int at_bid = 0, at_ask = 0, quotes = 0;
    for (int i = 0; i < 10000; i++) {
        feed_sim_next(f, &ev);
        if (ev.md_kind == MD_QUOTE) {
            assert_int_equal(ev.u.quote.bid_px, 19023);
            assert_int_equal(ev.u.quote.ask_px, 19027);
            quotes++;
        } else if (ev.u.trade.px == 19023) {
            at_bid++;
        } else {
            assert_int_equal(ev.u.trade.px, 19027);
            at_ask++;
        }
    }
    assert_true(quotes > 4000 && at_bid > 2000 && at_ask > 2000);
    feed_sim_free(f);
    /* Ratios 0 and 1 are exact. */
    c.trade_ratio = 0;
    f = make(&c, &ins3);
    for (int i = 0; i < 1000; i++) {
        feed_sim_next(f, &ev);
        assert_int_equal(ev.md_kind, MD_QUOTE);
    }
    feed_sim_free(f);
    c.trade_ratio = 1;
    f = make(&c, &ins3);
    for (int i = 0; i < 1000; i++) {
        feed_sim_next(f, &ev);
        assert_int_equal(ev.md_kind, MD_TRADE);
    }
    feed_sim_free(f);
}

/* A crashing market ends on the one-tick floor; a runaway one stops at the ceiling
 * without overflow (UBSan watches the conversions). */
static void test_floor_and_ceiling(void **st)
{
    struct feed_sim_symbol s = {0, 1.00, -50, 2, 3, 1};
    struct feed_sim_config c = {
        .seed = 1, .rate = 1e-4, .trade_ratio = 0.2, .symbols = &s, .nsymbols = 1};
    struct feed_sim *f = make(&c, &ins3);
    struct event ev;
    for (int i = 0; i < 20000; i++) {
        feed_sim_next(f, &ev);
        if (ev.md_kind == MD_QUOTE) {
            assert_true(ev.u.quote.bid_px >= 1);
            assert_int_equal(ev.u.quote.ask_px - ev.u.quote.bid_px, 3);
        } else {
            assert_true(ev.u.trade.px >= 1);
        }
    }
    c.trade_ratio = 0;
    feed_sim_free(f);
    f = make(&c, &ins3);
    for (int i = 0; i < 20000; i++) feed_sim_next(f, &ev);
    assert_int_equal(ev.u.quote.bid_px, 1); /* one tick: 0.01 */
    assert_int_equal(ev.u.quote.ask_px, 4);
    feed_sim_free(f);

    s = (struct feed_sim_symbol){1, 5000, 50, 0, 2, 1};
    f = make(&c, &ins3);
    int64_t prev = 0;
    for (int i = 0; i < 20000; i++) {
        feed_sim_next(f, &ev);
        assert_true(ev.u.quote.bid_px >= prev); /* zero vol, positive drift: monotone */
        assert_true(ev.u.quote.bid_px > 0 && ev.u.quote.ask_px > ev.u.quote.bid_px);
        assert_int_equal(ev.u.quote.bid_px % 25, 0);
        prev = ev.u.quote.bid_px;
    }
    assert_true(prev > INT64_C(1) << 50); /* it did reach the ceiling region */
    assert_true(prev < INT64_C(1) << 53);
    feed_sim_free(f);
}

/* GBM statistics. Per symbol, the log returns between consecutive published mids are
 * i.i.d. N(-vol^2/2 dt, vol^2 dt); summed over a symbol's steps they give the
 * -vol^2/2 T mean and vol^2 T variance of the model. We test the per-step form, which
 * uses every step as a sample.
 *
 * Set-up: 100 symbols, rate 1/s, so dt = 100 s; vol chosen so a = vol sqrt(dt) = 0.02;
 * zero drift; 1e6 quotes (~10^4 steps per symbol, so each path drifts by ~-2 in log
 * with sd ~2: prices stay far above the floor). Prices have 6 decimals and tick 1e-6,
 * so rounding to the tick adds relative noise below 1e-7, negligible here.
 *  - mean: expected -a^2/2 = -2e-4, standard error a/sqrt(N) = 2e-5. Tolerance 5 SE =
 *    1e-4, which still excludes 0 (a walk that forgot the Ito term) by 10 SE.
 *  - variance: expected a^2 = 4e-4, standard error a^2 sqrt(2/N) = 5.7e-7. Tolerance
 *    5 SE = 2.9e-6 (0.7%), which catches a wrong dt (e.g. 365 vs 365.25 days is only
 *    0.07%, too fine, but seconds vs years or nsymbols omitted are off by >50%).
 *  - independence: the lag-1 autocorrelation of the returns in stream order (which
 *    pairs the two values of one Box-Muller draw) is 0 with standard error 1/sqrt(N) =
 *    1e-3; tolerance 5e-3. Using the cosine for both values of a pair, say, gives ~0.5.
 * The seed is fixed, so the outcome is deterministic; at 5 SE a correct generator
 * would fail for fewer than 1 in 10^6 seeds. */
static void test_gbm_statistics(void **st)
{
    enum { NSYM = 100, N = 1000000 };
    struct instruments ins = {0};
    static struct feed_sim_symbol s[NSYM];
    double dt = NSYM / 1.0 / (365.25 * 86400);
    double a = 0.02, vol = a / sqrt(dt);
    for (int i = 0; i < NSYM; i++) {
        char name[SYMBOL_MAX];
        snprintf(name, sizeof name, "S%d", i);
        add(&ins, name, 6, 1, 0, 1);
        s[i] = (struct feed_sim_symbol){i, 1000, 0, vol, 2, 1};
    }
    struct feed_sim_config c = {
        .seed = 20261121, .rate = 1, .trade_ratio = 0, .symbols = s, .nsymbols = NSYM};
    struct feed_sim *f = make(&c, &ins);
    double last[NSYM];
    for (int i = 0; i < NSYM; i++) last[i] = 1000e6;
    double sum = 0, sumsq = 0, sumlag = 0, prev_r = 0;
    struct event ev;
    for (int i = 0; i < N; i++) {
        feed_sim_next(f, &ev);
        const struct quote *q = &ev.u.quote;
        double mid = (double)(q->bid_px + 1); /* spread 2: bid is one tick under the mid */
        double r = log(mid / last[q->sym]);
        last[q->sym] = mid;
        sum += r;
        sumsq += r * r;
        sumlag += r * prev_r;
        prev_r = r;
    }
    double mean = sum / N, var = (sumsq - N * mean * mean) / (N - 1);
    double se_mean = a / sqrt(N), se_var = a * a * sqrt(2.0 / N);
    if (fabs(mean - (-a * a / 2)) > 5 * se_mean)
        fail_msg("mean log return %g, expected %g +- %g", mean, -a * a / 2, 5 * se_mean);
    if (fabs(var - a * a) > 5 * se_var)
        fail_msg("variance %g, expected %g +- %g", var, a * a, 5 * se_var);
    double autocorr = (sumlag / (N - 1) - mean * mean) / var;
    if (fabs(autocorr) > 5.0 / sqrt(N)) fail_msg("lag-1 autocorrelation %g", autocorr);
    feed_sim_free(f);
    instruments_free(&ins);
}

static void test_interval(void **st)
{
    struct feed_sim_config c = cfg3;
    struct feed_sim *f = make(&c, &ins3);
    assert_true(feed_sim_interval_us(f) == 1000.0);
    feed_sim_free(f);
    c.rate = 4e6;
    f = make(&c, &ins3);
    assert_true(feed_sim_interval_us(f) == 1.0);
    feed_sim_free(f);
    c.rate = 0.5;
    f = make(&c, &ins3);
    assert_true(feed_sim_interval_us(f) == 2e6);
    feed_sim_free(f);
}

static void expect_invalid(const struct feed_sim_config *c, const char *substr)
{
    struct err e = {{0}};
    struct feed_sim *f = feed_sim_new(c, &ins3, &e);
    if (f) {
        feed_sim_free(f);
        fail_msg("accepted a config that should fail with \"%s\"", substr);
    }
    if (!strstr(e.msg, substr)) fail_msg("message \"%s\" lacks \"%s\"", e.msg, substr);
}

static void test_invalid_config(void **st)
{
    struct feed_sim_symbol s[3];
    struct feed_sim_config c;
#define RESET()                                                                                    \
    do {                                                                                           \
        memcpy(s, syms3, sizeof s);                                                                \
        c = cfg3;                                                                                  \
        c.symbols = s;                                                                             \
    } while (0)
    RESET();
    c.nsymbols = 0;
    expect_invalid(&c, "at least one symbol");
    RESET();
    c.symbols = NULL;
    expect_invalid(&c, "at least one symbol");
    RESET();
    c.rate = 0;
    expect_invalid(&c, "rate must be > 0");
    RESET();
    c.rate = NAN;
    expect_invalid(&c, "rate must be > 0");
    RESET();
    c.rate = INFINITY;
    expect_invalid(&c, "rate must be > 0");
    RESET();
    c.trade_ratio = 1.5;
    expect_invalid(&c, "trade_ratio must be in 0..1 (got 1.5)");
    RESET();
    c.trade_ratio = NAN;
    expect_invalid(&c, "trade_ratio");
    RESET();
    s[1].sym = 7;
    expect_invalid(&c, "symbols[1]: unknown instrument id 7");
    RESET();
    s[2].sym = 0;
    expect_invalid(&c, "symbol AAPL: listed twice");
    RESET();
    s[0].vol = -1;
    expect_invalid(&c, "feed_sim: symbol AAPL: vol must be >= 0 (got -1)");
    RESET();
    s[1].vol = NAN;
    expect_invalid(&c, "symbol ES: vol must be >= 0");
    RESET();
    s[0].price = 0;
    expect_invalid(&c, "symbol AAPL: price must be at least one tick (0.01) (got 0)");
    RESET();
    s[1].price = 0.2; /* ES tick is 0.25 */
    expect_invalid(&c, "symbol ES: price must be at least one tick (0.25)");
    RESET();
    s[0].price = -5;
    expect_invalid(&c, "price must be");
    RESET();
    s[0].price = 1e300;
    expect_invalid(&c, "symbol AAPL: price too large");
    RESET();
    s[2].drift = INFINITY;
    expect_invalid(&c, "symbol BTC/USD: drift must be finite");
    RESET();
    s[0].spread_ticks = 0;
    expect_invalid(&c, "symbol AAPL: spread_ticks must be >= 1 (got 0)");
    RESET();
    s[0].max_lots = 0;
    expect_invalid(&c, "symbol AAPL: max_lots must be >= 1 (got 0)");
    RESET();
    s[2].max_lots = INT64_MAX / 5; /* BTC/USD lot is 10 units: sizes would overflow */
    expect_invalid(&c, "symbol BTC/USD: max_lots too large");
    RESET();
    s[0].vol = 1e300;
    expect_invalid(&c, "symbol AAPL: drift/vol too large");
#undef RESET
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_stream), cmocka_unit_test(test_golden_prefix),
        cmocka_unit_test(test_different_seed),        cmocka_unit_test(test_invariants),
        cmocka_unit_test(test_trade_sides),           cmocka_unit_test(test_floor_and_ceiling),
        cmocka_unit_test(test_gbm_statistics),        cmocka_unit_test(test_interval),
        cmocka_unit_test(test_invalid_config),
    };
    return cmocka_run_group_tests(tests, setup3, teardown3);
}
