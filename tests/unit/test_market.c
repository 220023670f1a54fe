/* Unit tests for market: OHLCV aggregation, period boundaries, periods without trades,
 * out-of-order and late trades, alignment of all six timeframes, roll order, the
 * history ring, last quote/trade, sequence gaps, stats, and the driver-protocol ASSERT.
 * Trades go through feed(), which follows the driver protocol: market_roll(ts), then
 * market_on_trade(ts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "event.h"
#include "instrument.h"
#include "log.h"
#include "market.h"
#include "util.h"

#define SEC    INT64_C(1000000)
#define MINUTE (60 * SEC)
#define HOUR   (60 * MINUTE)
#define DAY    (24 * HOUR)
/* 2026-11-21T00:00:00Z */
#define T0          INT64_C(1795219200000000)
#define AT(h, m, s) (T0 + (h)*HOUR + (m)*MINUTE + (s)*SEC)

static struct instruments ins;

#define MAX_EMIT 256
static struct bar emitted[MAX_EMIT];
static int n_emitted;

static void collect(const struct bar *b, void *arg)
{
    assert_true(n_emitted < MAX_EMIT);
    emitted[n_emitted++] = *b;
}

static int setup(void **s)
{
    struct err e;
    struct instrument aapl = {"AAPL", 2, 1, 0, 1};
    struct instrument msft = {"MSFT", 2, 1, 0, 1};
    assert_int_equal(instruments_add(&ins, &aapl, &e), 0);
    assert_int_equal(instruments_add(&ins, &msft, &e), 1);
    log_set_stderr(0);
    return 0;
}

static int teardown(void **s)
{
    instruments_free(&ins);
    return 0;
}

static int reset(void **s)
{
    n_emitted = 0;
    memset(emitted, 0, sizeof emitted);
    return 0;
}

static uint64_t host_seq;

static void feed(struct market *m, int sym, int64_t px, int64_t qty, int64_t ts, uint64_t n)
{
    market_roll(m, ts, collect, NULL);
    struct trade t = {.sym = sym, .px = px, .qty = qty, .n = n};
    market_on_trade(m, &t, ts, ++host_seq);
}

/* The emitted bars of one timeframe, in emission order. */
static int emitted_tf(enum tf tf, struct bar *out)
{
    int n = 0;
    for (int i = 0; i < n_emitted; i++)
        if (emitted[i].tf == tf) out[n++] = emitted[i];
    return n;
}

static void assert_bar(const struct bar *b, int64_t time, int64_t o, int64_t h, int64_t l,
                       int64_t c, int64_t v, uint32_t trades)
{
    assert_int_equal(b->time_us, time);
    assert_int_equal(b->open, o);
    assert_int_equal(b->high, h);
    assert_int_equal(b->low, l);
    assert_int_equal(b->close, c);
    assert_int_equal(b->volume, v);
    assert_int_equal(b->trades, trades);
}

static void test_ohlcv(void **s)
{
    struct market *m = market_new(&ins, 10);
    assert_int_equal(market_next_close(m), INT64_MAX);
    assert_null(market_open_bar(m, 0, TF_1M));
    feed(m, 0, 10000, 10, AT(10, 0, 5), 0);
    feed(m, 0, 10150, 5, AT(10, 0, 20), 0);
    feed(m, 0, 9975, 20, AT(10, 0, 40), 0);
    feed(m, 0, 10025, 1, AT(10, 0, 59) + 999999, 0);
    const struct bar *b = market_open_bar(m, 0, TF_1M);
    assert_non_null(b);
    assert_int_equal(b->sym, 0);
    assert_int_equal(b->tf, TF_1M);
    assert_bar(b, AT(10, 0, 0), 10000, 10150, 9975, 10025, 36, 4);
    /* The three earlier 1s bars were closed by the rolls before each later trade. */
    assert_int_equal(n_emitted, 3);
    assert_int_equal(market_next_close(m), AT(10, 1, 0));

    n_emitted = 0;
    assert_int_equal(market_roll(m, AT(10, 1, 0), collect, NULL), 2);
    assert_int_equal(n_emitted, 2);
    assert_int_equal(emitted[0].tf, TF_1S);
    assert_bar(&emitted[0], AT(10, 0, 59), 10025, 10025, 10025, 10025, 1, 1);
    assert_int_equal(emitted[1].tf, TF_1M);
    assert_bar(&emitted[1], AT(10, 0, 0), 10000, 10150, 9975, 10025, 36, 4);
    assert_null(market_open_bar(m, 0, TF_1M));
    assert_non_null(market_open_bar(m, 0, TF_5M));
    assert_int_equal(market_next_close(m), AT(10, 5, 0));
    /* A roll with nothing due closes nothing. */
    assert_int_equal(market_roll(m, AT(10, 4, 59), collect, NULL), 0);
    market_free(m);
}

static void test_boundaries(void **s)
{
    struct market *m = market_new(&ins, 10);
    feed(m, 0, 10000, 1, AT(10, 0, 30), 0);
    /* A trade exactly at the period end belongs to the next period. */
    feed(m, 0, 10100, 2, AT(10, 1, 0), 0);
    struct bar got[8];
    assert_int_equal(emitted_tf(TF_1M, got), 1);
    assert_bar(&got[0], AT(10, 0, 0), 10000, 10000, 10000, 10000, 1, 1);
    const struct bar *b = market_open_bar(m, 0, TF_1M);
    assert_bar(b, AT(10, 1, 0), 10100, 10100, 10100, 10100, 2, 1);

    /* One microsecond before the end: still open. */
    n_emitted = 0;
    market_roll(m, AT(10, 1, 59) + 999999, collect, NULL);
    assert_int_equal(emitted_tf(TF_1M, got), 0);
    assert_non_null(market_open_bar(m, 0, TF_1M));
    /* At the end, with no further trade: closed by the roll alone. */
    market_roll(m, AT(10, 2, 0), collect, NULL);
    assert_int_equal(emitted_tf(TF_1M, got), 1);
    assert_bar(&got[0], AT(10, 1, 0), 10100, 10100, 10100, 10100, 2, 1);
    assert_null(market_open_bar(m, 0, TF_1M));
    assert_int_equal(market_history(m, 0, TF_1M, got, 8), 2);
    assert_int_equal(got[0].time_us, AT(10, 0, 0));
    assert_int_equal(got[1].time_us, AT(10, 1, 0));
    market_free(m);
}

static void test_empty_periods(void **s)
{
    struct market *m = market_new(&ins, 10);
    feed(m, 0, 10000, 1, AT(10, 0, 10), 0);
    feed(m, 0, 10300, 3, AT(10, 3, 10), 0);
    market_roll(m, AT(10, 4, 0), collect, NULL);
    struct bar got[8];
    /* 10:01 and 10:02 had no trades: no bars; the next bar is its own period. */
    assert_int_equal(emitted_tf(TF_1M, got), 2);
    assert_bar(&got[0], AT(10, 0, 0), 10000, 10000, 10000, 10000, 1, 1);
    assert_bar(&got[1], AT(10, 3, 0), 10300, 10300, 10300, 10300, 3, 1);
    assert_int_equal(market_history(m, 0, TF_1M, got, 8), 2);
    assert_int_equal(got[1].time_us, AT(10, 3, 0));
    /* Both trades fall in one 5m bar. */
    assert_bar(market_open_bar(m, 0, TF_5M), AT(10, 0, 0), 10000, 10300, 10000, 10300, 4, 2);
    struct market_stats st;
    market_stats(m, 0, &st);
    assert_int_equal(st.bars_closed, 4); /* two 1s, two 1m */
    assert_int_equal(st.late, 0);
    market_free(m);
}

static void test_out_of_order(void **s)
{
    struct market *m = market_new(&ins, 10);
    feed(m, 0, 10000, 1, AT(10, 0, 30), 1);
    feed(m, 0, 10100, 2, AT(10, 0, 50), 2);
    /* Older than the latest trade, inside the open 1m bar: high/low/volume, not close.
     * Its 1s period ended before the clock (10:00:50): late for 1s only. */
    feed(m, 0, 9500, 7, AT(10, 0, 40), 3);
    assert_bar(market_open_bar(m, 0, TF_1M), AT(10, 0, 0), 10000, 10100, 9500, 10100, 10, 3);
    struct market_stats st;
    market_stats(m, 0, &st);
    assert_int_equal(st.late, 1);
    /* last() does not move back in time. */
    int64_t ts;
    uint64_t seq;
    const struct trade *last = market_trade(m, 0, &ts, &seq);
    assert_int_equal(last->px, 10100);
    assert_int_equal(ts, AT(10, 0, 50));
    assert_int_equal(seq, host_seq - 1);

    /* A higher price, older than the close: the high moves, the close does not. */
    feed(m, 0, 10200, 1, AT(10, 0, 50) - 1, 4);
    assert_bar(market_open_bar(m, 0, TF_1M), AT(10, 0, 0), 10000, 10200, 9500, 10100, 11, 4);

    market_roll(m, AT(10, 1, 0), collect, NULL);
    feed(m, 0, 10300, 1, AT(10, 1, 5), 5);
    /* Older than the open 1m bar (10:01): late for 1s and 1m; still updates 5m and up. */
    feed(m, 0, 9000, 4, AT(10, 0, 58), 6);
    market_stats(m, 0, &st);
    assert_int_equal(st.late, 2 + 2); /* 10:00:40 and 10:00:49.999999 for 1s; now 1s, 1m */
    assert_bar(market_open_bar(m, 0, TF_1M), AT(10, 1, 0), 10300, 10300, 10300, 10300, 1, 1);
    assert_bar(market_open_bar(m, 0, TF_5M), AT(10, 0, 0), 10000, 10300, 9000, 10300, 16, 6);
    struct bar got[4];
    assert_int_equal(market_history(m, 0, TF_1M, got, 4), 1);
    assert_bar(&got[0], AT(10, 0, 0), 10000, 10200, 9500, 10100, 11, 4);

    /* After a roll past a whole period that had no bar, a trade for it is late too. */
    market_roll(m, AT(10, 3, 0), collect, NULL);
    feed(m, 0, 9900, 1, AT(10, 2, 30), 7);
    assert_null(market_open_bar(m, 0, TF_1M));
    market_stats(m, 0, &st);
    assert_int_equal(st.late, 4 + 2);
    assert_int_equal(st.trades, 7);
    market_free(m);
}

/* Trades spanning midnight and several hours: every timeframe's bars, exactly. */
static void test_all_timeframes(void **s)
{
    struct market *m = market_new(&ins, 10);
    feed(m, 0, 1000, 1, AT(-1, 59, 59) + SEC / 2, 0); /* previous day 23:59:59.5 */
    feed(m, 0, 1100, 1, AT(0, 0, 0), 0);
    feed(m, 0, 1200, 1, AT(0, 14, 59), 0);
    feed(m, 0, 1300, 1, AT(0, 15, 0), 0);
    feed(m, 0, 1400, 1, AT(1, 0, 0), 0);
    market_roll(m, T0 + DAY, collect, NULL);
    struct bar got[16];

    assert_int_equal(emitted_tf(TF_1D, got), 2);
    assert_bar(&got[0], T0 - DAY, 1000, 1000, 1000, 1000, 1, 1);
    assert_bar(&got[1], T0, 1100, 1400, 1100, 1400, 4, 4);

    assert_int_equal(emitted_tf(TF_1H, got), 3);
    assert_bar(&got[0], AT(-1, 0, 0), 1000, 1000, 1000, 1000, 1, 1);
    assert_bar(&got[1], AT(0, 0, 0), 1100, 1300, 1100, 1300, 3, 3);
    assert_bar(&got[2], AT(1, 0, 0), 1400, 1400, 1400, 1400, 1, 1);

    assert_int_equal(emitted_tf(TF_15M, got), 4);
    assert_int_equal(got[0].time_us, AT(-1, 45, 0));
    assert_bar(&got[1], AT(0, 0, 0), 1100, 1200, 1100, 1200, 2, 2);
    assert_int_equal(got[2].time_us, AT(0, 15, 0));
    assert_int_equal(got[3].time_us, AT(1, 0, 0));

    assert_int_equal(emitted_tf(TF_5M, got), 5);
    const int64_t t5[] = {AT(-1, 55, 0), AT(0, 0, 0), AT(0, 10, 0), AT(0, 15, 0), AT(1, 0, 0)};
    for (int i = 0; i < 5; i++) assert_int_equal(got[i].time_us, t5[i]);

    assert_int_equal(emitted_tf(TF_1M, got), 5);
    const int64_t t1[] = {AT(-1, 59, 0), AT(0, 0, 0), AT(0, 14, 0), AT(0, 15, 0), AT(1, 0, 0)};
    for (int i = 0; i < 5; i++) assert_int_equal(got[i].time_us, t1[i]);

    assert_int_equal(emitted_tf(TF_1S, got), 5);
    assert_int_equal(got[0].time_us, AT(-1, 59, 59));
    assert_int_equal(got[2].time_us, AT(0, 14, 59));

    /* Emission order: by end time, then symbol, then timeframe. */
    for (int i = 1; i < n_emitted; i++) {
        int64_t e0 = emitted[i - 1].time_us + tf_us(emitted[i - 1].tf);
        int64_t e1 = emitted[i].time_us + tf_us(emitted[i].tf);
        assert_true(e0 < e1 || (e0 == e1 && emitted[i - 1].tf < emitted[i].tf));
    }
    assert_int_equal(n_emitted, 2 + 3 + 4 + 5 + 5 + 5);
    assert_int_equal(market_next_close(m), INT64_MAX);
    market_free(m);

    /* Alignment of an arbitrary instant: 07:39:00.123456. */
    m = market_new(&ins, 10);
    feed(m, 1, 5000, 1, AT(7, 39, 0) + 123456, 0);
    const int64_t start[TF__COUNT] = {AT(7, 39, 0), AT(7, 39, 0), AT(7, 35, 0),
                                      AT(7, 30, 0), AT(7, 0, 0),  T0};
    for (int tf = 0; tf < TF__COUNT; tf++)
        assert_int_equal(market_open_bar(m, 1, (enum tf)tf)->time_us, start[tf]);
    assert_int_equal(market_next_close(m), AT(7, 39, 1));
    market_free(m);

    /* Before 1970 (daily history replays reach back that far): floor, not truncation. */
    m = market_new(&ins, 10);
    feed(m, 0, 5000, 1, -1, 0);
    assert_int_equal(market_open_bar(m, 0, TF_1S)->time_us, -SEC);
    assert_int_equal(market_open_bar(m, 0, TF_1D)->time_us, -DAY);
    assert_int_equal(market_next_close(m), 0);
    market_free(m);
}

static void test_roll_order(void **s)
{
    /* Same input, rolled once vs every second: the same bars in the same order. */
    static struct bar once[MAX_EMIT];
    int n_once = 0;
    for (int pass = 0; pass < 2; pass++) {
        n_emitted = 0;
        struct market *m = market_new(&ins, 4);
        struct trade t1 = {.sym = 1, .px = 200, .qty = 1}, t0 = {.sym = 0, .px = 100, .qty = 1};
        int64_t ts = AT(10, 0, 10) + SEC / 2;
        market_roll(m, ts, collect, NULL);
        market_on_trade(m, &t1, ts, 1);
        market_on_trade(m, &t0, ts, 2);
        if (pass == 0) {
            assert_int_equal(market_roll(m, AT(11, 0, 0), collect, NULL), 10);
        } else {
            for (int64_t now = AT(10, 0, 11); now <= AT(11, 0, 0); now += SEC)
                market_roll(m, now, collect, NULL);
        }
        assert_int_equal(n_emitted, 10);
        const enum tf order[] = {TF_1S, TF_1M, TF_5M, TF_15M, TF_1H};
        for (int i = 0; i < 10; i++) {
            assert_int_equal(emitted[i].tf, order[i / 2]);
            assert_int_equal(emitted[i].sym, i % 2);
        }
        if (pass == 0) {
            memcpy(once, emitted, sizeof emitted);
            n_once = n_emitted;
        } else {
            assert_int_equal(n_emitted, n_once);
            for (int i = 0; i < n_once; i++)
                assert_bar(&emitted[i], once[i].time_us, once[i].open, once[i].high, once[i].low,
                           once[i].close, once[i].volume, once[i].trades);
        }
        assert_non_null(market_open_bar(m, 0, TF_1D));
        assert_int_equal(market_next_close(m), T0 + DAY);
        market_free(m);
    }
}

static void test_history_ring(void **s)
{
    struct market *m = market_new(&ins, 3);
    struct bar got[10];
    assert_int_equal(market_history(m, 0, TF_1M, got, 10), 0);
    for (int i = 0; i < 5; i++) {
        feed(m, 0, 100 + i, 1, AT(10, i, 0), 0);
        if (i == 1) {
            assert_int_equal(market_history(m, 0, TF_1M, got, 10), 1);
            assert_int_equal(got[0].open, 100);
        }
    }
    market_roll(m, AT(10, 5, 0), collect, NULL);
    /* Five bars closed, three kept, oldest first. */
    assert_int_equal(market_history(m, 0, TF_1M, got, 10), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(got[i].open, 102 + i);
        assert_int_equal(got[i].time_us, AT(10, 2 + i, 0));
    }
    /* max below what is held: the most recent ones. */
    assert_int_equal(market_history(m, 0, TF_1M, got, 2), 2);
    assert_int_equal(got[0].open, 103);
    assert_int_equal(got[1].open, 104);
    assert_int_equal(market_history(m, 0, TF_1M, got, 0), 0);
    assert_int_equal(market_history(m, 0, TF_5M, got, 10), 1);
    assert_int_equal(got[0].volume, 5);
    /* Other symbols and unknown ids: nothing. */
    assert_int_equal(market_history(m, 1, TF_1M, got, 10), 0);
    assert_int_equal(market_history(m, 7, TF_1M, got, 10), 0);
    assert_int_equal(market_history(m, -1, TF_1M, got, 10), 0);
    market_free(m);
}

static void test_last_quote_trade(void **s)
{
    struct market *m = market_new(&ins, 2);
    int64_t ts = 0;
    uint64_t seq = 0;
    assert_null(market_quote(m, 0, &ts, &seq));
    assert_null(market_trade(m, 0, &ts, &seq));
    struct quote q = {
        .sym = 1, .bid_px = 41000, .ask_px = 41002, .bid_qty = 5, .ask_qty = 7, .n = 1};
    market_on_quote(m, &q, AT(9, 30, 0), 11);
    const struct quote *got = market_quote(m, 1, &ts, &seq);
    assert_non_null(got);
    assert_int_equal(got->ask_px, 41002);
    assert_int_equal(got->ask_qty, 7);
    assert_int_equal(ts, AT(9, 30, 0));
    assert_int_equal(seq, 11);
    assert_null(market_quote(m, 0, NULL, NULL));
    assert_non_null(market_quote(m, 1, NULL, NULL));

    q.bid_px = 41001, q.n = 2;
    market_on_quote(m, &q, AT(9, 30, 1), 12);
    assert_int_equal(market_quote(m, 1, &ts, &seq)->bid_px, 41001);
    assert_int_equal(seq, 12);
    /* A delayed quote is counted but does not replace a newer one. */
    q.bid_px = 1, q.n = 3;
    market_on_quote(m, &q, AT(9, 29, 0), 13);
    assert_int_equal(market_quote(m, 1, &ts, &seq)->bid_px, 41001);
    assert_int_equal(ts, AT(9, 30, 1));

    feed(m, 1, 41001, 3, AT(9, 30, 2), 1);
    const struct trade *t = market_trade(m, 1, &ts, &seq);
    assert_int_equal(t->px, 41001);
    assert_int_equal(t->qty, 3);
    assert_int_equal(t->n, 1);
    assert_int_equal(ts, AT(9, 30, 2));
    assert_int_equal(seq, host_seq);

    /* Unknown ids are ignored, not stored, not counted. */
    q.sym = 5;
    market_on_quote(m, &q, AT(9, 31, 0), 14);
    struct trade bad = {.sym = -3, .px = 1, .qty = 1, .n = 1};
    market_on_trade(m, &bad, AT(9, 31, 0), 15);
    assert_null(market_quote(m, 5, NULL, NULL));
    assert_null(market_trade(m, -3, NULL, NULL));
    struct market_stats st;
    market_stats(m, -1, &st);
    assert_int_equal(st.quotes, 3);
    assert_int_equal(st.trades, 1);
    market_free(m);
}

static void test_seq_gaps(void **s)
{
    struct market *m = market_new(&ins, 2);
    struct market_stats st;
    const uint64_t trades_n[] = {1, 2, 3, 6, 7, 7, 5, 8, 20, 21};
    for (size_t i = 0; i < ARRAY_LEN(trades_n); i++)
        feed(m, 0, 100, 1, AT(10, 0, 0) + (int64_t)i, trades_n[i]);
    market_stats(m, 0, &st);
    assert_int_equal(st.trades, 10);
    assert_int_equal(st.gaps, 2);         /* 3→6 and 8→20 */
    assert_int_equal(st.missing, 2 + 11); /* 4,5 and 9..19 */
    /* Duplicates and late deliveries are still applied (the market does not dedup). */
    assert_int_equal(market_open_bar(m, 0, TF_1M)->trades, 10);

    /* Quotes have their own sequence; the first n seen is the baseline. */
    struct quote q = {.sym = 0, .bid_px = 1, .ask_px = 2, .bid_qty = 1, .ask_qty = 1};
    const uint64_t quotes_n[] = {100, 101, 103, 0, 104};
    for (size_t i = 0; i < ARRAY_LEN(quotes_n); i++) {
        q.n = quotes_n[i];
        market_on_quote(m, &q, AT(10, 0, 1), 0);
    }
    market_stats(m, 0, &st);
    assert_int_equal(st.quotes, 5);
    assert_int_equal(st.gaps, 3);
    assert_int_equal(st.missing, 14);

    /* Symbol 1 has its own sequences. */
    feed(m, 1, 100, 1, AT(10, 0, 2), 50);
    feed(m, 1, 100, 1, AT(10, 0, 3), 52);
    market_stats(m, 1, &st);
    assert_int_equal(st.gaps, 1);
    assert_int_equal(st.missing, 1);
    market_stats(m, -1, &st);
    assert_int_equal(st.gaps, 4);
    assert_int_equal(st.missing, 15);
    assert_int_equal(st.trades, 12);
    market_free(m);
}

static void test_stats(void **s)
{
    struct market *m = market_new(&ins, 2);
    feed(m, 0, 100, 1, AT(10, 0, 0), 0);
    feed(m, 1, 200, 1, AT(10, 0, 0), 0);
    feed(m, 1, 201, 1, AT(10, 0, 30), 0);
    feed(m, 1, 199, 1, AT(10, 0, 5), 0); /* late for 1s */
    market_roll(m, AT(10, 1, 0), collect, NULL);
    struct market_stats st;
    market_stats(m, 0, &st);
    assert_int_equal(st.trades, 1);
    assert_int_equal(st.bars_closed, 2); /* 1s, 1m */
    assert_int_equal(st.late, 0);
    market_stats(m, 1, &st);
    assert_int_equal(st.trades, 3);
    assert_int_equal(st.bars_closed, 3); /* two 1s, 1m */
    assert_int_equal(st.late, 1);
    market_stats(m, -1, &st);
    assert_int_equal(st.trades, 4);
    assert_int_equal(st.quotes, 0);
    assert_int_equal(st.bars_closed, 5);
    assert_int_equal(st.late, 1);
    assert_int_equal(n_emitted, 5);
    market_stats(m, 2, &st);
    assert_int_equal(st.trades, 0);
    market_free(m);
    market_free(NULL);
}

/* Instruments registered after market_new are ignored (storage was sized then). */
static void test_later_instrument(void **s)
{
    struct market *m = market_new(&ins, 2);
    struct err e;
    struct instrument late = {"NVDA", 2, 1, 0, 1};
    int id = instruments_add(&ins, &late, &e);
    assert_int_equal(id, 2);
    feed(m, id, 100, 1, AT(10, 0, 0), 1);
    assert_null(market_trade(m, id, NULL, NULL));
    assert_null(market_open_bar(m, id, TF_1M));
    market_free(m);
}

/* Runs fn in a child; asserts it aborted (ASSERT fired). */
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

static void skipped_roll(void)
{
    struct market *m = market_new(&ins, 2);
    struct trade t = {.sym = 0, .px = 100, .qty = 1};
    market_on_trade(m, &t, AT(10, 0, 0), 1);
    market_on_trade(m, &t, AT(10, 0, 1), 2); /* no market_roll first: 1s bar still open */
}

static struct market *reentrant_m;
static void reentrant_emit(const struct bar *b, void *arg)
{
    struct trade t = {.sym = 0, .px = 100, .qty = 1};
    market_on_trade(reentrant_m, &t, AT(10, 0, 2), 3);
}

static void update_from_emit(void)
{
    reentrant_m = market_new(&ins, 2);
    struct trade t = {.sym = 0, .px = 100, .qty = 1};
    market_on_trade(reentrant_m, &t, AT(10, 0, 0), 1);
    market_roll(reentrant_m, AT(10, 0, 1), reentrant_emit, NULL);
}

static void test_driver_bugs_assert(void **s)
{
    assert_aborts(skipped_roll);
    assert_aborts(update_from_emit);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_ohlcv, reset),
        cmocka_unit_test_setup(test_boundaries, reset),
        cmocka_unit_test_setup(test_empty_periods, reset),
        cmocka_unit_test_setup(test_out_of_order, reset),
        cmocka_unit_test_setup(test_all_timeframes, reset),
        cmocka_unit_test_setup(test_roll_order, reset),
        cmocka_unit_test_setup(test_history_ring, reset),
        cmocka_unit_test_setup(test_last_quote_trade, reset),
        cmocka_unit_test_setup(test_seq_gaps, reset),
        cmocka_unit_test_setup(test_stats, reset),
        cmocka_unit_test_setup(test_later_instrument, reset),
        cmocka_unit_test_setup(test_driver_bugs_assert, reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
