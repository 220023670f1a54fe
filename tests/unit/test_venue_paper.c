/* Unit tests for the paper venue: every case of the fill model (market with slippage and
 * partial fills, limit through/touch, marketable limits, stops, stop-limits, trailing
 * stops, IOC, FOK, DAY expiry, latency, commission; notional and commission against the
 * exact 128-bit formulas), cancel and replace with their
 * rejects, order rejects, report delivery (only at commit, in order, re-entrant), and
 * the durable book (close and reopen, a child that exits without closing, requests in
 * flight across a restart). Time is a simulated clock driving a real timer queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "instrument.h"
#include "journal.h"
#include "log.h"
#include "timer.h"
#include "util.h"
#include "venue_paper.h"
#include "venue_paper_internal.h" /* vp_notional, vp_commission against a reference */

#define MS   INT64_C(1000)
#define HOUR (INT64_C(3600) * 1000 * MS)
/* 2026-11-21T14:30:00Z */
#define T0    INT64_C(1795271400000000)
#define CASH0 INT64_C(100000000000) /* 100000.000000 */

enum { AAPL, ES, ETH };

static struct instruments ins;
static struct timerq *tq;
static struct clock clk;
static struct venue V;
static struct venue_paper_config cfg;

#define MAX_REPS 256
static struct venue_report reps[MAX_REPS];
static int nreps;
static void (*hook)(const struct venue_report *r);

static void on_report(const struct venue_report *r, void *arg)
{
    assert_true(nreps < MAX_REPS);
    reps[nreps++] = *r;
    if (hook) hook(r);
}

static int group_setup(void **s)
{
    struct err e;
    struct instrument aapl = {"AAPL", 2, 1, 0, 1};
    struct instrument es = {"ES", 2, 25, 0, 1};
    struct instrument eth = {"ETH", 4, 1, 4, 10};
    assert_int_equal(instruments_add(&ins, &aapl, &e), AAPL);
    assert_int_equal(instruments_add(&ins, &es, &e), ES);
    assert_int_equal(instruments_add(&ins, &eth, &e), ETH);
    log_set_stderr(0);
    return 0;
}

static int group_teardown(void **s)
{
    instruments_free(&ins);
    return 0;
}

static int setup(void **s)
{
    nreps = 0;
    hook = NULL;
    cfg = (struct venue_paper_config){.initial_cash = 100000, .sync = JOURNAL_SYNC_NONE};
    tq = timerq_new();
    clock_init_sim(&clk, T0);
    V.impl = NULL;
    return 0;
}

static void close_venue(void)
{
    if (V.impl) V.ops->free(V.impl);
    V.impl = NULL;
}

/* A test's book lives in its own temporary directory, removed by teardown even when
 * the test failed. */
static char dir[64];
static char book[128];

static void make_book_dir(void)
{
    strcpy(dir, "/tmp/test_venue_paper.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(book, sizeof book, "%s/paper.jrnl", dir);
    cfg.book_path = book;
}

static void remove_book_dir(void)
{
    if (!dir[0]) return;
    unlink(book);
    rmdir(dir);
    dir[0] = '\0';
}

static int teardown(void **s)
{
    close_venue();
    remove_book_dir();
    /* The venue cancels its timers when freed. */
    assert_int_equal(timerq_count(tq), 0);
    timerq_free(tq);
    return 0;
}

static void open_venue(void)
{
    struct err e;
    int rc = venue_paper_new(&V, &cfg, &ins, tq, &clk, on_report, NULL, &e);
    if (rc < 0) fail_msg("venue_paper_new: %s", e.msg);
}

static void commit(void)
{
    struct err e;
    int rc = V.ops->commit(V.impl, &e);
    if (rc < 0) fail_msg("commit: %s", e.msg);
}

static struct venue_order order(const char *cl_id, int sym, enum order_side side,
                                enum order_type type, enum order_tif tif, int64_t qty,
                                int64_t limit_px, int64_t stop_px)
{
    struct venue_order o = {.sym = sym, .side = side, .type = type, .tif = tif, .qty = qty};
    util_strlcpy(o.cl_id, cl_id, sizeof o.cl_id);
    o.limit_px = limit_px;
    o.stop_px = stop_px;
    return o;
}

static void submit(struct venue_order o)
{
    struct err e;
    assert_int_equal(V.ops->submit(V.impl, &o, &e), 0);
}

static void market(const char *cl_id, int sym, enum order_side side, int64_t qty)
{
    submit(order(cl_id, sym, side, OT_MARKET, TIF_GTC, qty, 0, 0));
}

static void limit(const char *cl_id, int sym, enum order_side side, int64_t qty, int64_t px)
{
    submit(order(cl_id, sym, side, OT_LIMIT, TIF_GTC, qty, px, 0));
}

static void cancel(const char *cl_id)
{
    struct err e;
    assert_int_equal(V.ops->cancel(V.impl, cl_id, &e), 0);
}

static void replace(const char *cl_id, int64_t qty, int64_t limit_px, int64_t stop_px)
{
    struct err e;
    assert_int_equal(V.ops->replace(V.impl, cl_id, qty, limit_px, stop_px, &e), 0);
}

static void quote(int sym, int64_t bid, int64_t ask, int64_t bid_qty, int64_t ask_qty)
{
    struct quote q = {
        .sym = sym, .bid_px = bid, .ask_px = ask, .bid_qty = bid_qty, .ask_qty = ask_qty};
    venue_paper_on_quote(&V, &q);
}

static void trade(int sym, int64_t px, int64_t qty)
{
    struct trade t = {.sym = sym, .px = px, .qty = qty};
    venue_paper_on_trade(&V, &t);
}

static void advance(int64_t us)
{
    clock_advance_to(&clk, clk.sim_us + us);
    timerq_run_due(tq, clk.sim_us);
}

static const char *kind_name(enum venue_report_kind k)
{
    static const char *names[] = {"ACCEPTED", "REJECTED", "FILL",           "CANCELED",
                                  "EXPIRED",  "REPLACED", "CANCEL_REJECTED"};
    return names[k];
}

/* Report i is kind for cl_id. */
static const struct venue_report *expect(int i, enum venue_report_kind kind, const char *cl_id)
{
    if (i >= nreps) fail_msg("report %d missing (have %d)", i, nreps);
    const struct venue_report *r = &reps[i];
    if (r->kind != kind || strcmp(r->cl_id, cl_id) != 0)
        fail_msg("report %d: got %s %s, want %s %s (reason %s)", i, kind_name(r->kind), r->cl_id,
                 kind_name(kind), cl_id, r->reason);
    return r;
}

static void expect_fill(int i, const char *cl_id, int64_t px, int64_t qty, int64_t cum,
                        int64_t leaves)
{
    const struct venue_report *r = expect(i, VR_FILL, cl_id);
    assert_int_equal(r->px, px);
    assert_int_equal(r->qty, qty);
    assert_int_equal(r->cum_qty, cum);
    assert_int_equal(r->leaves_qty, leaves);
}

static void expect_reason(int i, enum venue_report_kind kind, const char *cl_id, const char *reason)
{
    assert_string_equal(expect(i, kind, cl_id)->reason, reason);
}

static enum order_status status_of(const char *cl_id)
{
    struct venue_order_state st;
    if (V.ops->query(V.impl, cl_id, &st) < 0) fail_msg("query %s: unknown", cl_id);
    return st.status;
}

/* ---- market orders ---- */

static void test_market_slippage(void **s)
{
    cfg.slippage_bps = 10;
    open_venue();
    quote(AAPL, 9990, 10000, 100, 100);
    market("b1", AAPL, SIDE_BUY, 10);
    commit();
    assert_int_equal(nreps, 2);
    const struct venue_report *a = expect(0, VR_ACCEPTED, "b1");
    assert_int_equal(a->leaves_qty, 10);
    assert_int_equal(a->ts_us, T0);
    /* 10 bps of 100.00 is 0.10: 10 ticks of 0.01. */
    expect_fill(1, "b1", 10010, 10, 10, 0);
    char want[48];
    snprintf(want, sizeof want, "P%lld-1", (long long)T0);
    assert_string_equal(reps[1].exec_id, want);
    assert_int_equal(status_of("b1"), OS_FILLED);
    assert_int_equal(V.ops->position(V.impl, AAPL), 10);
    assert_int_equal(V.ops->cash(V.impl), CASH0 - 1001000000);

    /* 10 bps of 99.90 is 0.0999: rounded away from the seller to 0.10. */
    market("s1", AAPL, SIDE_SELL, 4);
    commit();
    expect_fill(3, "s1", 9980, 4, 4, 0);
    assert_int_equal(V.ops->position(V.impl, AAPL), 6);
    assert_int_equal(V.ops->cash(V.impl), CASH0 - 1001000000 + 399200000);
    assert_int_equal(venue_paper_working(&V), 0);
}

static void test_slippage_tick_grid(void **s)
{
    cfg.slippage_bps = 0.3;
    open_venue();
    /* ES ticks are 0.25: 0.3 bps of 5000.00 is 0.15, up to 0.25. */
    quote(ES, 499975, 500000, 10, 10);
    market("b", ES, SIDE_BUY, 1);
    market("s", ES, SIDE_SELL, 1);
    commit();
    expect_fill(1, "b", 500025, 1, 1, 0);
    expect_fill(3, "s", 499950, 1, 1, 0);
}

static void test_market_partial_by_quote_size(void **s)
{
    open_venue();
    quote(AAPL, 9990, 10000, 100, 30);
    market("m", AAPL, SIDE_BUY, 100);
    commit();
    expect_fill(1, "m", 10000, 30, 30, 70);
    assert_int_equal(status_of("m"), OS_PARTIALLY_FILLED);
    assert_int_equal(venue_paper_working(&V), 1);
    /* A trade does not fill a market order; the next quote does. */
    trade(AAPL, 10000, 500);
    quote(AAPL, 10000, 10010, 100, 50);
    commit();
    assert_int_equal(nreps, 3);
    expect_fill(2, "m", 10010, 50, 80, 20);
    quote(AAPL, 10000, 10020, 100, 100);
    commit();
    expect_fill(3, "m", 10020, 20, 100, 0);
    assert_int_equal(venue_paper_working(&V), 0);
    assert_int_equal(V.ops->position(V.impl, AAPL), 100);
}

static void test_market_shares_quote_and_waits(void **s)
{
    open_venue();
    /* No quote yet: the order waits. */
    market("a", AAPL, SIDE_BUY, 20);
    market("b", AAPL, SIDE_BUY, 20);
    commit();
    assert_int_equal(nreps, 2);
    /* One quote's 30 are shared in time priority. */
    quote(AAPL, 9990, 10000, 100, 30);
    commit();
    expect_fill(2, "a", 10000, 20, 20, 0);
    expect_fill(3, "b", 10000, 10, 10, 10);
    /* An order arriving on the same quote finds it taken. */
    market("c", AAPL, SIDE_BUY, 5);
    commit();
    assert_int_equal(nreps, 5);
    expect(4, VR_ACCEPTED, "c");
}

/* ---- limit orders ---- */

static void test_limit_trade_through(void **s)
{
    open_venue();
    quote(AAPL, 9990, 10000, 100, 100);
    limit("l", AAPL, SIDE_BUY, 10, 9950);
    limit("h", AAPL, SIDE_SELL, 10, 10050);
    commit();
    assert_int_equal(nreps, 2);
    /* A touch is not enough. */
    trade(AAPL, 9950, 5);
    trade(AAPL, 10050, 5);
    commit();
    assert_int_equal(nreps, 2);
    /* Through: fills at the limit, for at most the trade's size. */
    trade(AAPL, 9949, 3);
    commit();
    expect_fill(2, "l", 9950, 3, 3, 7);
    trade(AAPL, 9900, 100);
    trade(AAPL, 10051, 100);
    commit();
    expect_fill(3, "l", 9950, 7, 10, 0);
    expect_fill(4, "h", 10050, 10, 10, 0);
    assert_int_equal(V.ops->position(V.impl, AAPL), 0);
    assert_int_equal(V.ops->cash(V.impl), CASH0 - 995000000 + 1005000000);
}

static void test_limit_fill_on_touch(void **s)
{
    cfg.fill_on_touch = 1;
    open_venue();
    limit("l", AAPL, SIDE_BUY, 10, 9950);
    commit();
    trade(AAPL, 9951, 5);
    trade(AAPL, 9950, 4);
    commit();
    assert_int_equal(nreps, 2);
    expect_fill(1, "l", 9950, 4, 4, 6);
}

static void test_limit_trade_size_shared(void **s)
{
    open_venue();
    limit("a", AAPL, SIDE_BUY, 10, 9950);
    limit("b", AAPL, SIDE_BUY, 10, 9960);
    commit();
    trade(AAPL, 9900, 12);
    commit();
    expect_fill(2, "a", 9950, 10, 10, 0);
    expect_fill(3, "b", 9960, 2, 2, 8);
}

static void test_marketable_limit(void **s)
{
    cfg.slippage_bps = 10; /* market orders only */
    open_venue();
    quote(AAPL, 9990, 10000, 100, 100);
    limit("b", AAPL, SIDE_BUY, 10, 10100);
    limit("s", AAPL, SIDE_SELL, 10, 9900);
    commit();
    expect_fill(1, "b", 10000, 10, 10, 0);
    expect_fill(3, "s", 9990, 10, 10, 0);
    /* Rests, then a quote at or better than the limit fills it at the quote. */
    limit("r", AAPL, SIDE_BUY, 10, 9995);
    commit();
    assert_int_equal(nreps, 5);
    quote(AAPL, 9980, 9994, 100, 6);
    commit();
    expect_fill(5, "r", 9994, 6, 6, 4);
    quote(AAPL, 9980, 9995, 100, 100);
    commit();
    expect_fill(6, "r", 9995, 4, 10, 0);
}

/* ---- stops ---- */

static void test_stop(void **s)
{
    open_venue();
    quote(AAPL, 9990, 10000, 100, 100);
    submit(order("ss", AAPL, SIDE_SELL, OT_STOP, TIF_GTC, 10, 0, 9900));
    submit(order("bs", AAPL, SIDE_BUY, OT_STOP, TIF_GTC, 5, 0, 10100));
    commit();
    assert_int_equal(nreps, 2);
    /* Quotes never trigger; trades short of the stop do not either. */
    quote(AAPL, 9880, 9900, 100, 100);
    trade(AAPL, 9901, 1);
    commit();
    assert_int_equal(nreps, 2);
    /* At the stop: a market order, filled at the bid. */
    trade(AAPL, 9900, 1);
    commit();
    expect_fill(2, "ss", 9880, 10, 10, 0);
    quote(AAPL, 10090, 10110, 100, 100);
    trade(AAPL, 10105, 1);
    commit();
    expect_fill(3, "bs", 10110, 5, 5, 0);
}

static void test_stop_limit(void **s)
{
    open_venue();
    quote(AAPL, 10190, 10200, 100, 100);
    submit(order("sl", AAPL, SIDE_BUY, OT_STOP_LIMIT, TIF_GTC, 10, 10150, 10100));
    commit();
    /* Triggered, but the ask is above the limit; the triggering print does not fill. */
    trade(AAPL, 10100, 50);
    commit();
    assert_int_equal(nreps, 1);
    assert_int_equal(venue_paper_working(&V), 1);
    /* Now a limit order: a trade through 101.50 fills it at its limit. */
    trade(AAPL, 10140, 4);
    commit();
    expect_fill(1, "sl", 10150, 4, 4, 6);
    quote(AAPL, 10130, 10145, 100, 100);
    commit();
    expect_fill(2, "sl", 10145, 6, 10, 0);
}

static void test_trailing_stop(void **s)
{
    open_venue();
    quote(AAPL, 10090, 10110, 100, 100);
    struct venue_order t = order("ts", AAPL, SIDE_SELL, OT_TRAIL, TIF_GTC, 10, 0, 0);
    t.trail_px = 100;
    submit(t);
    commit();
    trade(AAPL, 10000, 1); /* level 99.00 */
    trade(AAPL, 10200, 1); /* 101.00 */
    trade(AAPL, 10150, 1); /* stays 101.00 (100.50 would be lower) */
    trade(AAPL, 10101, 1);
    commit();
    assert_int_equal(nreps, 1);
    trade(AAPL, 10100, 1);
    commit();
    expect_fill(1, "ts", 10090, 10, 10, 0);

    /* A buy trail starts from the last trade at arrival: 100.50, then 99.50. */
    struct venue_order b = order("tb", AAPL, SIDE_BUY, OT_TRAIL, TIF_GTC, 3, 0, 0);
    b.trail_px = 50;
    submit(b);
    commit();
    trade(AAPL, 9900, 1);
    trade(AAPL, 9949, 1);
    commit();
    assert_int_equal(nreps, 3);
    trade(AAPL, 9950, 1);
    commit();
    expect_fill(3, "tb", 10110, 3, 3, 0);
}

static void test_missing_price_and_trail_reject(void **s)
{
    open_venue();
    submit(order("l", AAPL, SIDE_BUY, OT_LIMIT, TIF_GTC, 1, 0, 0));
    submit(order("s", AAPL, SIDE_BUY, OT_STOP, TIF_GTC, 1, 0, 0));
    submit(order("sl1", AAPL, SIDE_BUY, OT_STOP_LIMIT, TIF_GTC, 1, 0, 100));
    submit(order("sl2", AAPL, SIDE_BUY, OT_STOP_LIMIT, TIF_GTC, 1, 100, 0));
    submit(order("t", AAPL, SIDE_BUY, OT_TRAIL, TIF_GTC, 1, 0, 0));
    commit();
    expect_reason(0, VR_REJECTED, "l", "missing_price");
    expect_reason(1, VR_REJECTED, "s", "missing_price");
    expect_reason(2, VR_REJECTED, "sl1", "missing_price");
    expect_reason(3, VR_REJECTED, "sl2", "missing_price");
    expect_reason(4, VR_REJECTED, "t", "missing_price");
    assert_int_equal(status_of("t"), OS_REJECTED);
}

/* ---- time in force ---- */

static void test_ioc(void **s)
{
    open_venue();
    market("none", AAPL, SIDE_BUY, 5); /* no quote: nothing at once */
    submit(order("none", AAPL, SIDE_BUY, OT_MARKET, TIF_IOC, 5, 0, 0));
    commit();
    /* The GTC "none" rests, the IOC duplicate is rejected. */
    expect(0, VR_ACCEPTED, "none");
    expect_reason(1, VR_REJECTED, "none", "duplicate_cl_id");
    submit(order("i0", AAPL, SIDE_BUY, OT_MARKET, TIF_IOC, 5, 0, 0));
    commit();
    expect(2, VR_ACCEPTED, "i0");
    expect_reason(3, VR_CANCELED, "i0", "ioc");
    assert_int_equal(reps[3].cum_qty, 0);

    cancel("none");
    commit();
    expect_reason(4, VR_CANCELED, "none", "requested");
    quote(AAPL, 9990, 10000, 100, 40);
    submit(order("i", AAPL, SIDE_BUY, OT_LIMIT, TIF_IOC, 100, 10000, 0));
    submit(order("far", AAPL, SIDE_BUY, OT_LIMIT, TIF_IOC, 100, 9000, 0));
    commit();
    expect(5, VR_ACCEPTED, "i");
    expect_fill(6, "i", 10000, 40, 40, 60);
    const struct venue_report *c = expect(7, VR_CANCELED, "i");
    assert_string_equal(c->reason, "ioc");
    assert_int_equal(c->cum_qty, 40);
    assert_int_equal(c->leaves_qty, 0);
    expect_reason(9, VR_CANCELED, "far", "ioc");
    assert_int_equal(status_of("i"), OS_CANCELED);
    assert_int_equal(venue_paper_working(&V), 0);
}

static void test_fok(void **s)
{
    open_venue();
    quote(AAPL, 9990, 10000, 100, 40);
    submit(order("big", AAPL, SIDE_BUY, OT_MARKET, TIF_FOK, 100, 0, 0));
    submit(order("far", AAPL, SIDE_BUY, OT_LIMIT, TIF_FOK, 10, 9999, 0));
    submit(order("fit", AAPL, SIDE_BUY, OT_LIMIT, TIF_FOK, 40, 10000, 0));
    commit();
    expect_reason(1, VR_CANCELED, "big", "fok");
    assert_int_equal(reps[1].cum_qty, 0);
    expect_reason(3, VR_CANCELED, "far", "fok");
    expect_fill(5, "fit", 10000, 40, 40, 0);
    assert_int_equal(nreps, 6);
    assert_int_equal(V.ops->position(V.impl, AAPL), 40);
}

static void test_day_expiry(void **s)
{
    open_venue();
    struct venue_order d = order("day", AAPL, SIDE_BUY, OT_LIMIT, TIF_DAY, 10, 9000, 0);
    d.expire_us = T0 + HOUR;
    struct venue_order g = order("gtc", AAPL, SIDE_BUY, OT_LIMIT, TIF_GTC, 10, 9000, 0);
    g.expire_us = T0 + HOUR; /* only DAY orders expire */
    submit(d);
    submit(g);
    commit();
    advance(HOUR - 1);
    commit();
    assert_int_equal(nreps, 2);
    advance(1);
    commit();
    const struct venue_report *r = expect(2, VR_EXPIRED, "day");
    assert_int_equal(r->ts_us, T0 + HOUR);
    assert_int_equal(r->leaves_qty, 0);
    assert_int_equal(status_of("day"), OS_EXPIRED);
    assert_int_equal(status_of("gtc"), OS_ACCEPTED);
    assert_int_equal(venue_paper_working(&V), 1);

    /* Market data after expire_us, before the timer ran: the order expires, never fills. */
    struct venue_order d2 = order("day2", AAPL, SIDE_BUY, OT_LIMIT, TIF_DAY, 10, 9000, 0);
    d2.expire_us = T0 + 2 * HOUR;
    submit(d2);
    commit();
    clock_advance_to(&clk, T0 + 2 * HOUR);
    trade(AAPL, 8000, 100);
    commit();
    expect_fill(4, "gtc", 9000, 10, 10, 0);
    expect(5, VR_EXPIRED, "day2");
    timerq_run_due(tq, clk.sim_us);
    commit();
    assert_int_equal(nreps, 6);

    /* Already past its expiry when it arrives. */
    submit(d);
    d = order("late", AAPL, SIDE_BUY, OT_LIMIT, TIF_DAY, 10, 9000, 0);
    d.expire_us = T0;
    submit(d);
    commit();
    expect_reason(6, VR_REJECTED, "day", "duplicate_cl_id");
    expect(7, VR_ACCEPTED, "late");
    expect(8, VR_EXPIRED, "late");
}

/* ---- latency ---- */

static void test_latency(void **s)
{
    cfg.latency_ms = 50;
    open_venue();
    quote(AAPL, 9990, 10000, 100, 100);
    market("m", AAPL, SIDE_BUY, 10);
    commit();
    assert_int_equal(nreps, 0);
    struct venue_order_state st;
    assert_int_equal(V.ops->query(V.impl, "m", &st), 0);
    assert_int_equal(st.status, OS_PENDING_NEW);
    advance(49 * MS);
    commit();
    assert_int_equal(nreps, 0);
    quote(AAPL, 10010, 10020, 100, 100);
    advance(1 * MS);
    quote(AAPL, 10030, 10040, 100, 100); /* after the arrival: not this one */
    advance(2 * MS);
    commit();
    assert_int_equal(expect(0, VR_ACCEPTED, "m")->ts_us, T0 + 50 * MS);
    expect_fill(1, "m", 10020, 10, 10, 0);
    assert_int_equal(reps[1].ts_us, T0 + 50 * MS);

    /* A cancel takes as long: a fill that happens first wins. */
    limit("l", AAPL, SIDE_BUY, 10, 9900);
    commit();
    advance(50 * MS);
    commit();
    expect(2, VR_ACCEPTED, "l");
    cancel("l");
    commit();
    advance(10 * MS);
    trade(AAPL, 9800, 100);
    advance(40 * MS);
    commit();
    expect_fill(3, "l", 9900, 10, 10, 0);
    expect_reason(4, VR_CANCEL_REJECTED, "l", "order_done");
    assert_int_equal(reps[4].ts_us, T0 + 152 * MS);
}

/* ---- money ---- */

static void test_commission(void **s)
{
    cfg.commission_per_unit = 0.005;
    cfg.commission_bps = 1;
    open_venue();
    quote(AAPL, 9990, 10000, 1000, 1000);
    market("b", AAPL, SIDE_BUY, 100);
    commit();
    /* 100 * 0.005 + 1 bp of 10000.00 = 0.50 + 1.00. */
    assert_int_equal(expect(1, VR_FILL, "b")->commission, 1500000);
    assert_int_equal(V.ops->cash(V.impl), CASH0 - 10000000000 - 1500000);
}

static void test_rounding_half_away(void **s)
{
    cfg.commission_per_unit = 0.0005; /* per 1.0 ETH: 0.0010 ETH pays 0.0000005 */
    open_venue();
    quote(ETH, 12335, 12345, 1000, 1000);
    market("b", ETH, SIDE_BUY, 10);
    market("s", ETH, SIDE_SELL, 10);
    commit();
    assert_int_equal(expect(1, VR_FILL, "b")->commission, 1);
    assert_int_equal(expect(3, VR_FILL, "s")->commission, 1);
    /* 1.2345 * 0.0010 = 0.0012345 -> 0.001235; 1.2335 * 0.0010 -> 0.001234 */
    assert_int_equal(V.ops->cash(V.impl), CASH0 - 1235 - 1 + 1234 - 1);
    assert_int_equal(V.ops->position(V.impl, ETH), 0);
}

/* ---- cancel and replace ---- */

static void test_cancel(void **s)
{
    open_venue();
    limit("a", AAPL, SIDE_BUY, 10, 9900);
    commit();
    cancel("a");
    cancel("a");
    cancel("nope");
    commit();
    const struct venue_report *c = expect(1, VR_CANCELED, "a");
    assert_string_equal(c->reason, "requested");
    assert_int_equal(c->leaves_qty, 0);
    expect_reason(2, VR_CANCEL_REJECTED, "a", "order_done");
    expect_reason(3, VR_CANCEL_REJECTED, "nope", "unknown_order");
    assert_int_equal(status_of("a"), OS_CANCELED);
    assert_int_equal(venue_paper_working(&V), 0);
    /* A trade through the canceled limit fills nothing. */
    trade(AAPL, 9000, 100);
    commit();
    assert_int_equal(nreps, 4);
    struct err e;
    char longid[ORDER_CLID_MAX + 8];
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    assert_int_equal(V.ops->cancel(V.impl, longid, &e), -1);
    assert_non_null(strstr(e.msg, "cl_id"));
}

static void test_replace(void **s)
{
    open_venue();
    quote(AAPL, 9990, 10000, 100, 100);
    limit("b", AAPL, SIDE_BUY, 10, 9900);
    commit();
    replace("b", 20, 9950, 0);
    commit();
    const struct venue_report *r = expect(1, VR_REPLACED, "b");
    assert_int_equal(r->qty_new, 20);
    assert_int_equal(r->limit_px, 9950);
    assert_int_equal(r->leaves_qty, 20);
    /* Replaced to a marketable price: fills at the quote. */
    replace("b", 0, 10000, 0);
    commit();
    expect(2, VR_REPLACED, "b");
    expect_fill(3, "b", 10000, 20, 20, 0);
    replace("b", 30, 0, 0);
    replace("zz", 30, 0, 0);
    commit();
    expect_reason(4, VR_CANCEL_REJECTED, "b", "order_done");
    expect_reason(5, VR_CANCEL_REJECTED, "zz", "unknown_order");

    /* Quantity: never below what is filled; down to it completes the order. */
    limit("c", AAPL, SIDE_BUY, 10, 9900);
    commit();
    trade(AAPL, 9800, 4);
    replace("c", 3, 0, 0);
    commit();
    expect_fill(7, "c", 9900, 4, 4, 6);
    expect_reason(8, VR_CANCEL_REJECTED, "c", "qty_below_filled");
    replace("c", 4, 0, 0);
    commit();
    r = expect(9, VR_REPLACED, "c");
    assert_int_equal(r->cum_qty, 4);
    assert_int_equal(r->leaves_qty, 0);
    assert_int_equal(status_of("c"), OS_FILLED);
    assert_int_equal(venue_paper_working(&V), 0);
}

static void test_replace_rejects_and_priority(void **s)
{
    open_venue();
    quote(AAPL, 10190, 10300, 100, 100);
    limit("d", AAPL, SIDE_BUY, 10, 9900);
    limit("e", AAPL, SIDE_BUY, 10, 9900);
    submit(order("st", AAPL, SIDE_BUY, OT_STOP_LIMIT, TIF_GTC, 10, 10250, 10200));
    commit();
    replace("d", 0, 0, 9800); /* a limit has no stop */
    replace("d", 15, 0, 0);   /* a larger quantity goes behind e */
    commit();
    expect_reason(3, VR_CANCEL_REJECTED, "d", "bad_price");
    assert_int_equal(expect(4, VR_REPLACED, "d")->leaves_qty, 15);
    trade(AAPL, 9800, 5);
    commit();
    /* e is first in line now and takes the whole print. */
    expect_fill(5, "e", 9900, 5, 5, 5);
    assert_int_equal(nreps, 6);

    trade(AAPL, 10200, 1); /* triggers st; the ask is above its limit */
    replace("st", 0, 0, 10210);
    replace("st", 0, 10251, 0);
    commit();
    expect_reason(6, VR_CANCEL_REJECTED, "st", "stop_triggered");
    assert_int_equal(expect(7, VR_REPLACED, "st")->limit_px, 10251);
    /* Tick grid: ES moves in 0.25. */
    limit("es", ES, SIDE_BUY, 1, 400000);
    commit();
    replace("es", 0, 400010, 0);
    replace("es", -1, 0, 0);
    commit();
    expect_reason(9, VR_CANCEL_REJECTED, "es", "bad_price");
    expect_reason(10, VR_CANCEL_REJECTED, "es", "bad_qty");
    assert_int_equal(venue_paper_working(&V), 4);
}

/* ---- rejects ---- */

static void test_rejects(void **s)
{
    open_venue();
    limit("a", AAPL, SIDE_BUY, 10, 9900);
    limit("a", AAPL, SIDE_SELL, 5, 9900); /* same commit */
    commit();
    limit("a", AAPL, SIDE_BUY, 10, 9900); /* later commit */
    limit("sym", 99, SIDE_BUY, 10, 9900);
    limit("neg", -1, SIDE_BUY, 10, 9900);
    limit("q0", AAPL, SIDE_BUY, 0, 9900);
    limit("qn", AAPL, SIDE_BUY, -5, 9900);
    limit("lot", ETH, SIDE_BUY, 15, 100);
    limit("tick", ES, SIDE_BUY, 1, 400010);
    limit("pneg", AAPL, SIDE_BUY, 1, -100);
    limit("", AAPL, SIDE_BUY, 1, 100);
    submit(order("side", AAPL, 0, OT_MARKET, TIF_GTC, 1, 0, 0));
    commit();
    expect(0, VR_ACCEPTED, "a");
    expect_reason(1, VR_REJECTED, "a", "duplicate_cl_id");
    expect_reason(2, VR_REJECTED, "a", "duplicate_cl_id");
    expect_reason(3, VR_REJECTED, "sym", "unknown_symbol");
    expect_reason(4, VR_REJECTED, "neg", "unknown_symbol");
    expect_reason(5, VR_REJECTED, "q0", "bad_qty");
    expect_reason(6, VR_REJECTED, "qn", "bad_qty");
    expect_reason(7, VR_REJECTED, "lot", "bad_qty");
    expect_reason(8, VR_REJECTED, "tick", "bad_price");
    expect_reason(9, VR_REJECTED, "pneg", "bad_price");
    expect_reason(10, VR_REJECTED, "", "bad_cl_id");
    expect_reason(11, VR_REJECTED, "side", "bad_order");
    assert_int_equal(nreps, 12);
    /* The duplicates left the first order alone. */
    struct venue_order_state st;
    assert_int_equal(V.ops->query(V.impl, "a", &st), 0);
    assert_int_equal(st.status, OS_ACCEPTED);
    assert_int_equal(st.qty, 10);
    assert_int_equal(status_of("sym"), OS_REJECTED);
    assert_int_equal(V.ops->query(V.impl, "never", &st), -1);
    assert_int_equal(venue_paper_working(&V), 1);
}

static void test_config_errors(void **s)
{
    struct err e;
    cfg.slippage_bps = -1;
    assert_int_equal(venue_paper_new(&V, &cfg, &ins, tq, &clk, on_report, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "slippage_bps"));
    cfg.slippage_bps = 0;
    cfg.latency_ms = NAN;
    assert_int_equal(venue_paper_new(&V, &cfg, &ins, tq, &clk, on_report, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "latency_ms"));
    V.impl = NULL;
}

/* ---- delivery ---- */

static void test_reports_at_commit_in_order(void **s)
{
    open_venue();
    quote(AAPL, 9990, 10000, 100, 100);
    market("a", AAPL, SIDE_BUY, 10);
    limit("b", AAPL, SIDE_BUY, 10, 9900);
    market("a", AAPL, SIDE_BUY, 10);
    cancel("b");
    assert_int_equal(nreps, 0);
    assert_int_equal(venue_paper_working(&V), 0); /* nothing sent before commit */
    commit();
    assert_int_equal(nreps, 5);
    expect(0, VR_ACCEPTED, "a");
    expect(1, VR_FILL, "a");
    expect(2, VR_ACCEPTED, "b");
    expect(3, VR_REJECTED, "a");
    expect(4, VR_CANCELED, "b");
    /* Fills from market data wait for the next commit too. */
    limit("c", AAPL, SIDE_BUY, 10, 9900);
    commit();
    trade(AAPL, 9800, 100);
    assert_int_equal(nreps, 6);
    commit();
    expect(6, VR_FILL, "c");
    commit();
    assert_int_equal(nreps, 7);
}

static void reenter_submit(const struct venue_report *r)
{
    if (r->kind != VR_FILL || strcmp(r->cl_id, "a") != 0) return;
    market("a2", AAPL, SIDE_SELL, 10);
    cancel("b");
}

static void test_reentrant_submit(void **s)
{
    open_venue();
    quote(AAPL, 9990, 10000, 100, 100);
    limit("b", AAPL, SIDE_BUY, 10, 9900);
    market("a", AAPL, SIDE_BUY, 10);
    hook = reenter_submit;
    commit();
    /* What the callback sent goes with the next commit. */
    assert_int_equal(nreps, 3);
    expect(2, VR_FILL, "a");
    commit();
    assert_int_equal(nreps, 6);
    expect(3, VR_ACCEPTED, "a2");
    expect_fill(4, "a2", 9990, 10, 10, 0);
    expect(5, VR_CANCELED, "b");
}

static int nested_rc = 1;

static void reenter_commit(const struct venue_report *r)
{
    if (r->kind != VR_FILL || strcmp(r->cl_id, "x") != 0) return;
    market("y", AAPL, SIDE_SELL, 10);
    struct err e;
    nested_rc = V.ops->commit(V.impl, &e);
}

static void test_reentrant_commit(void **s)
{
    open_venue();
    quote(AAPL, 9990, 10000, 100, 100);
    market("x", AAPL, SIDE_BUY, 10);
    limit("z", AAPL, SIDE_BUY, 10, 9900);
    hook = reenter_commit;
    commit();
    assert_int_equal(nested_rc, 0);
    /* The nested commit's reports follow the batch being delivered, in the same commit. */
    assert_int_equal(nreps, 5);
    expect(0, VR_ACCEPTED, "x");
    expect(1, VR_FILL, "x");
    expect(2, VR_ACCEPTED, "z");
    expect(3, VR_ACCEPTED, "y");
    expect(4, VR_FILL, "y");
}

/* ---- durability ---- */

#define MAX_FILLS 32
static struct venue_report fills[MAX_FILLS];
static int nfills;

static void collect_fill(const struct venue_report *r, void *arg)
{
    assert_true(nfills < MAX_FILLS);
    fills[nfills++] = *r;
}

static int list_fills(struct venue_report *out)
{
    nfills = 0;
    V.ops->fills(V.impl, collect_fill, NULL);
    memcpy(out, fills, (size_t)nfills * sizeof *out);
    return nfills;
}

struct snapshot {
    int working, nfills;
    struct venue_report fills[MAX_FILLS];
    struct venue_order_state st[8];
    int64_t pos, cash;
};

static const char *const snap_ids[8] = {"A", "B", "C", "D", "E", "F", "G", "H"};

static void snap(struct snapshot *sn)
{
    memset(sn, 0, sizeof *sn);
    sn->working = venue_paper_working(&V);
    sn->nfills = list_fills(sn->fills);
    for (int i = 0; i < 8; i++) assert_int_equal(V.ops->query(V.impl, snap_ids[i], &sn->st[i]), 0);
    sn->pos = V.ops->position(V.impl, AAPL);
    sn->cash = V.ops->cash(V.impl);
}

static void assert_same(const struct snapshot *a, const struct snapshot *b)
{
    assert_int_equal(a->working, b->working);
    assert_int_equal(a->nfills, b->nfills);
    for (int i = 0; i < a->nfills; i++) {
        assert_string_equal(a->fills[i].exec_id, b->fills[i].exec_id);
        assert_string_equal(a->fills[i].cl_id, b->fills[i].cl_id);
        assert_int_equal(a->fills[i].px, b->fills[i].px);
        assert_int_equal(a->fills[i].qty, b->fills[i].qty);
        assert_int_equal(a->fills[i].cum_qty, b->fills[i].cum_qty);
        assert_int_equal(a->fills[i].leaves_qty, b->fills[i].leaves_qty);
        assert_int_equal(a->fills[i].commission, b->fills[i].commission);
        assert_int_equal(a->fills[i].ts_us, b->fills[i].ts_us);
    }
    for (int i = 0; i < 8; i++) {
        assert_int_equal(a->st[i].status, b->st[i].status);
        assert_int_equal(a->st[i].qty, b->st[i].qty);
        assert_int_equal(a->st[i].cum_qty, b->st[i].cum_qty);
    }
    assert_int_equal(a->pos, b->pos);
    assert_int_equal(a->cash, b->cash);
}

static void test_reopen(void **s)
{
    make_book_dir();
    cfg.slippage_bps = 10;
    cfg.commission_per_unit = 0.01;
    open_venue();
    quote(AAPL, 9990, 10000, 100, 30);
    market("A", AAPL, SIDE_BUY, 50);        /* 30 now, 20 working */
    limit("B", AAPL, SIDE_SELL, 10, 10500); /* rests */
    submit(order("C", AAPL, SIDE_SELL, OT_STOP_LIMIT, TIF_GTC, 10, 9750, 9800));
    struct venue_order d = order("D", AAPL, SIDE_SELL, OT_TRAIL, TIF_GTC, 5, 0, 0);
    d.trail_px = 100;
    submit(d);
    submit(order("E", AAPL, SIDE_BUY, OT_STOP_LIMIT, TIF_GTC, 5, 10350, 10300));
    struct venue_order f = order("F", AAPL, SIDE_BUY, OT_LIMIT, TIF_DAY, 10, 9000, 0);
    f.expire_us = T0 + HOUR;
    submit(f);
    limit("G", 99, SIDE_BUY, 1, 100); /* rejected */
    limit("H", AAPL, SIDE_BUY, 10, 9000);
    commit();
    cancel("H");
    quote(AAPL, 10390, 10500, 100, 0); /* no size: A keeps waiting */
    trade(AAPL, 10000, 1);             /* D's level 99.00 */
    trade(AAPL, 10300, 1);             /* D 102.00; E triggers, its limit under the ask */
    commit();
    assert_int_equal(venue_paper_working(&V), 6);
    struct snapshot before, after;
    snap(&before);
    assert_int_equal(before.nfills, 1);
    assert_int_equal(before.st[7].status, OS_CANCELED);
    assert_int_equal(before.st[6].status, OS_REJECTED);
    close_venue();

    cfg.initial_cash = 5; /* the book keeps its own */
    open_venue();
    snap(&after);
    assert_same(&before, &after);
    assert_int_equal(timerq_count(tq), 1); /* F's expiry */

    /* The book goes on where it stopped. */
    nreps = 0;
    quote(AAPL, 10390, 10500, 100, 100); /* A's last 20 at 105.00 + 0.105 -> 0.11 */
    /* D triggers only from its durable level 102.00 (from scratch it would be 101.00);
     * E fills from this print only if it was still triggered (its stop is 103.00). */
    trade(AAPL, 10200, 5);
    commit();
    expect_fill(0, "A", 10511, 20, 50, 0);
    expect_fill(1, "D", 10379, 5, 5, 0); /* 103.90 - 0.1039 -> 0.11 */
    expect_fill(2, "E", 10350, 5, 5, 0);
    const char *dash = strrchr(before.fills[0].exec_id, '-');
    char want[48];
    snprintf(want, sizeof want, "%.*s-2", (int)(dash - before.fills[0].exec_id),
             before.fills[0].exec_id);
    assert_string_equal(reps[0].exec_id, want);
    advance(HOUR);
    commit();
    expect(3, VR_EXPIRED, "F");
    assert_int_equal(venue_paper_working(&V), 2); /* B and C */
    close_venue();
}

static void test_crash(void **s)
{
    make_book_dir();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        open_venue();
        quote(AAPL, 9990, 10000, 100, 100);
        market("A", AAPL, SIDE_BUY, 10);
        limit("B", AAPL, SIDE_BUY, 10, 9000);
        commit();
        limit("C", AAPL, SIDE_BUY, 10, 9000); /* never committed: never sent */
        _exit(nreps == 3 ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    open_venue();
    struct venue_report got[MAX_FILLS];
    assert_int_equal(list_fills(got), 1);
    assert_string_equal(got[0].cl_id, "A");
    assert_int_equal(got[0].px, 10000);
    assert_int_equal(V.ops->position(V.impl, AAPL), 10);
    assert_int_equal(V.ops->cash(V.impl), CASH0 - 1000000000);
    assert_int_equal(status_of("B"), OS_ACCEPTED);
    struct venue_order_state st;
    assert_int_equal(V.ops->query(V.impl, "C", &st), -1);
    assert_int_equal(venue_paper_working(&V), 1);
    close_venue();
}

static void test_in_flight_across_restart(void **s)
{
    make_book_dir();
    cfg.latency_ms = 50;
    open_venue();
    limit("A", AAPL, SIDE_BUY, 10, 9900);
    commit(); /* A arrives at +50 ms */
    advance(10 * MS);
    cancel("A");
    commit(); /* the cancel at +60 ms */
    close_venue();
    assert_int_equal(nreps, 0);

    open_venue();
    struct venue_order_state st;
    assert_int_equal(V.ops->query(V.impl, "A", &st), 0);
    assert_int_equal(st.status, OS_PENDING_NEW);
    advance(40 * MS);
    advance(5 * MS);
    commit();
    /* It reached the book on the re-armed timer, not at the later commit. */
    assert_int_equal(expect(0, VR_ACCEPTED, "A")->ts_us, T0 + 50 * MS);
    advance(5 * MS);
    commit();
    assert_int_equal(expect(1, VR_CANCELED, "A")->ts_us, T0 + 60 * MS);
    close_venue();

    open_venue();
    assert_int_equal(status_of("A"), OS_CANCELED);
    close_venue();
}

static int replay_nothing(uint8_t type, uint64_t seq, const void *payload, size_t len, void *arg,
                          struct err *e)
{
    return 0;
}

static void test_book_refuses_foreign_records(void **s)
{
    make_book_dir();
    struct err e;
    struct journal *j = journal_open(book, JOURNAL_SYNC_NONE, replay_nothing, NULL, &e);
    assert_non_null(j);
    journal_append(j, 99, "x", 1);
    assert_int_equal(journal_commit(j, &e), 0);
    journal_close(j);
    assert_int_equal(venue_paper_new(&V, &cfg, &ins, tq, &clk, on_report, NULL, &e), -1);
    assert_non_null(strstr(e.msg, book));
    assert_non_null(strstr(e.msg, "no META"));
    V.impl = NULL;
}

static void test_book_symbol_gone(void **s)
{
    make_book_dir();
    open_venue();
    limit("A", ETH, SIDE_BUY, 10, 100);
    commit();
    close_venue();
    struct instruments fewer = {0};
    struct instrument aapl = {"AAPL", 2, 1, 0, 1};
    struct err e;
    assert_int_equal(instruments_add(&fewer, &aapl, &e), 0);
    assert_int_equal(venue_paper_new(&V, &cfg, &fewer, tq, &clk, on_report, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "order A: its symbol is not registered"));
    V.impl = NULL;
    instruments_free(&fewer);
    /* With the symbol back (at another id), the order is there. */
    struct instrument eth = {"ETH", 4, 1, 4, 10};
    assert_int_equal(instruments_add(&fewer, &eth, &e), 0);
    assert_int_equal(instruments_add(&fewer, &aapl, &e), 1);
    nreps = 0;
    assert_int_equal(venue_paper_new(&V, &cfg, &fewer, tq, &clk, on_report, NULL, &e), 0);
    assert_int_equal(status_of("A"), OS_ACCEPTED);
    trade(0, 99, 10);
    commit();
    expect_fill(0, "A", 100, 10, 10, 0);
    assert_int_equal(V.ops->position(V.impl, 0), 10);
    close_venue();
    instruments_free(&fewer);
}

static int fail_fdatasync; /* nonzero: fdatasync fails with EIO (the child below) */

/* Interposed over libc's for this executable, luatrade_core included. */
int fdatasync(int fd)
{
    if (fail_fdatasync) {
        errno = EIO;
        return -1;
    }
    return (int)syscall(SYS_fdatasync, fd);
}

/* In a child: a journal commit that fails (its fdatasync, EIO) fails the venue closed.
 * Plain checks with exit codes: a cmocka failure must not unwind in a child. (A file-size
 * limit would not do: the journal commits into room reserved at open.) */
static int fail_closed_child(void)
{
    struct err e;
    cfg.sync = JOURNAL_SYNC_FDATASYNC;
    if (venue_paper_new(&V, &cfg, &ins, tq, &clk, on_report, NULL, &e) < 0) return 10;
    fail_fdatasync = 1;
    for (int i = 0; i < 8; i++) {
        char id[16];
        snprintf(id, sizeof id, "o%d", i);
        struct venue_order o = order(id, AAPL, SIDE_BUY, OT_LIMIT, TIF_GTC, 1, 9000, 0);
        if (V.ops->submit(V.impl, &o, &e) < 0) return 13;
    }
    if (V.ops->commit(V.impl, &e) != -1) return 14;
    if (nreps != 0) return 15; /* nothing that is not durable leaves */
    struct venue_order late = order("late", AAPL, SIDE_BUY, OT_MARKET, TIF_GTC, 1, 0, 0);
    if (V.ops->submit(V.impl, &late, &e) != -1 || !strstr(e.msg, "failed")) return 16;
    if (V.ops->commit(V.impl, &e) != -1) return 17;
    trade(AAPL, 8000, 100); /* ignored: no fills once failed */
    if (V.ops->position(V.impl, AAPL) != 0) return 18;
    return 0;
}

static void test_journal_failure_fails_closed(void **s)
{
    make_book_dir();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(fail_closed_child());
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* The torn tail is cut at reopen; what survived is a consistent prefix. */
    open_venue();
    assert_true(venue_paper_working(&V) <= 8);
    assert_int_equal(V.ops->position(V.impl, AAPL), 0);
    close_venue();
}

/* ---- the cl_id index ---- */

static void index_cl_id(char *buf, size_t cap, int i)
{
    snprintf(buf, cap, "ix-%d", i);
}

/* Every order so far answers query with the status it should have. */
static void query_all(int n)
{
    char id[ORDER_CLID_MAX];
    for (int i = 0; i < n; i++) {
        index_cl_id(id, sizeof id, i);
        struct venue_order_state st;
        if (V.ops->query(V.impl, id, &st) < 0) fail_msg("order %s lost (of %d)", id, n);
        assert_int_equal(st.status, i % 2 ? OS_ACCEPTED : OS_FILLED);
        assert_int_equal(st.cum_qty, i % 2 ? 0 : 1);
    }
    assert_int_equal(V.ops->query(V.impl, "ix-none", &(struct venue_order_state){0}), -1);
}

static struct venue_report *live_fills;
static int nlive, nlisted;

static void compare_fill(const struct venue_report *r, void *arg)
{
    assert_true(nlisted < nlive);
    const struct venue_report *want = &live_fills[nlisted++];
    assert_int_equal(r->kind, VR_FILL);
    assert_string_equal(r->cl_id, want->cl_id);
    assert_string_equal(r->exec_id, want->exec_id);
    assert_int_equal(r->px, want->px);
    assert_int_equal(r->qty, want->qty);
    assert_int_equal(r->cum_qty, want->cum_qty);
    assert_int_equal(r->leaves_qty, want->leaves_qty);
    assert_int_equal(r->commission, want->commission);
    assert_int_equal(r->ts_us, want->ts_us);
}

/* 6,000 orders (every other one filled, the rest resting) through seven growths of the
 * index: each growth drains VP_REHASH_STEP old buckets per insert, exactly, and every
 * order is found mid-drain; a duplicate cl_id is still refused mid-drain. `fills` then
 * lists every fill exactly as it was reported live. */
static void test_index_growth(void **s)
{
    cfg.commission_bps = 1;
    open_venue();
    struct paper *p = V.impl;
    live_fills = calloc(3000, sizeof *live_fills);
    nlive = nlisted = 0;
    quote(AAPL, 10000, 10002, 1000000000, 1000000000);
    char id[ORDER_CLID_MAX];
    int growths = 0, n = 0;
    size_t last_nbuckets = 0;
    while (n < 6000) {
        for (int k = 0; k < 100; k++, n++) {
            index_cl_id(id, sizeof id, n);
            if (n % 2) limit(id, AAPL, SIDE_BUY, 1, 5000);
            else submit(order(id, AAPL, n % 4 ? SIDE_SELL : SIDE_BUY, OT_MARKET, TIF_IOC, 1, 0, 0));
            commit();
            for (int r = 0; r < nreps; r++)
                if (reps[r].kind == VR_FILL) live_fills[nlive++] = reps[r];
            nreps = 0;
            if (p->nbuckets != last_nbuckets) {
                growths += last_nbuckets != 0;
                last_nbuckets = p->nbuckets;
            }
            if (!p->old_buckets) continue;
            /* Growth began at norders = old + 1; each insert since moved STEP buckets. */
            size_t since = p->norders - (p->old_nbuckets + 1);
            assert_int_equal(p->drained, since * VP_REHASH_STEP);
            if (since == p->old_nbuckets / VP_REHASH_STEP / 2) {
                query_all(n + 1);
                submit(order("ix-0", AAPL, SIDE_BUY, OT_MARKET, TIF_IOC, 1, 0, 0));
                commit();
                expect_reason(0, VR_REJECTED, "ix-0", "duplicate_cl_id");
                nreps = 0;
            }
        }
    }
    assert_int_equal(p->norders, 6000);
    assert_int_equal(growths, 7); /* 64 .. 8192 buckets */
    query_all(n);
    assert_int_equal(nlive, 3000);
    V.ops->fills(V.impl, compare_fill, NULL);
    assert_int_equal(nlisted, nlive);
    free(live_fills);
}

/* ---- money arithmetic against the exact 128-bit formulas ---- */

static __int128 ref_pow10(int n)
{
    __int128 v = 1;
    while (n-- > 0) v *= 10;
    return v;
}

static __int128 ref_div_round(__int128 num, __int128 den)
{
    __int128 q = num / den, r = num % den;
    if (r < 0) r = -r;
    if (2 * r >= den) q += num < 0 ? -1 : 1;
    return q;
}

static int64_t ref_sat(__int128 v)
{
    return v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : (int64_t)v;
}

/* The venue's formulas as they were before its 64-bit fast paths. */
static int64_t ref_notional(int dp, int64_t px, int64_t qty)
{
    int shift = dp - 6;
    __int128 v = (__int128)px * qty;
    if (shift >= 0) return ref_sat(ref_div_round(v, ref_pow10(shift)));
    __int128 lim = (__int128)INT64_MAX + 1;
    if (v >= lim || v <= -lim) return ref_sat(v);
    return ref_sat(v * ref_pow10(-shift));
}

/* false when the old formula's 128-bit numerator would overflow (those inputs are
 * skipped: the old code was undefined there). */
static bool ref_commission(int64_t unit_e9, int64_t bps_e4, int qty_dp, int64_t qty,
                           int64_t notional, int64_t *out)
{
    __int128 den_unit = ref_pow10(qty_dp) * 1000, den_bps = 100000000;
    __int128 abs_n = notional < 0 ? -(__int128)notional : notional, a, b, num;
    if (__builtin_mul_overflow((__int128)unit_e9 * qty, den_bps, &a) ||
        __builtin_mul_overflow(abs_n * bps_e4, den_unit, &b) || __builtin_add_overflow(a, b, &num))
        return false;
    *out = ref_sat(ref_div_round(num, den_unit * den_bps));
    return true;
}

static void check_commission(struct paper *p, int qty_dp, int64_t qty, int64_t n, int *checked)
{
    struct instrument in = {"X", 2, 1, qty_dp, 1};
    int64_t want;
    if (!ref_commission(p->comm_unit_e9, p->comm_bps_e4, qty_dp, qty, n, &want)) return;
    int64_t got = vp_commission(p, &in, qty, n);
    if (got != want)
        fail_msg("unit=%lld bps=%lld qty=%lld dp=%d n=%lld: %lld != %lld",
                 (long long)p->comm_unit_e9, (long long)p->comm_bps_e4, (long long)qty, qty_dp,
                 (long long)n, (long long)got, (long long)want);
    (*checked)++;
}

static uint64_t money_rng = 0x9E3779B97F4A7C15ULL;

static uint64_t money_rand(void)
{
    money_rng ^= money_rng << 13;
    money_rng ^= money_rng >> 7;
    money_rng ^= money_rng << 17;
    return money_rng;
}

/* A magnitude of 0..63 bits, so every overflow edge is crossed. */
static int64_t money_rand_mag(void)
{
    return (int64_t)(money_rand() >> (1 + money_rand() % 63));
}

static void test_money_matches_exact(void **s)
{
    struct paper p = {0};
    struct instrument in = {"X", 0, 1, 0, 1};
    int checked = 0;
    for (int i = 0; i < 200000; i++) {
        in.px_dp = (int)(money_rand() % 10);
        in.qty_dp = (int)(money_rand() % 10);
        int64_t px = money_rand_mag() * (money_rand() & 1 ? 1 : -1), qty = money_rand_mag();
        assert_int_equal(vp_notional(&in, px, qty), ref_notional(in.px_dp + in.qty_dp, px, qty));
        /* Each rate zero a third of the time, so both one-rate paths and the sum run. */
        int pick = (int)(money_rand() % 3);
        p.comm_unit_e9 = pick == 1 ? 0 : money_rand_mag();
        p.comm_bps_e4 = pick == 2 ? 0 : money_rand_mag();
        if (money_rand() % 8 == 0) p.comm_unit_e9 = p.comm_bps_e4 = 0;
        check_commission(&p, in.qty_dp, qty, money_rand_mag() * (money_rand() & 1 ? 1 : -1),
                         &checked);
    }
    assert_true(checked > 100000);
    /* The edges: products next to INT64_MAX and 2^64, exact halves, INT64_MIN notionals. */
    static const int64_t edge[] = {0,
                                   1,
                                   5,
                                   50000000,
                                   99999999,
                                   100000000,
                                   3037000499,
                                   3037000500,
                                   4294967296,
                                   INT64_MAX / 100000000,
                                   INT64_MAX / 2,
                                   INT64_MAX - 1,
                                   INT64_MAX};
    checked = 0;
    for (int qd = 0; qd <= 9; qd++)
        for (size_t a = 0; a < ARRAY_LEN(edge); a++)
            for (size_t b = 0; b < ARRAY_LEN(edge); b++)
                for (int z = 0; z < 2; z++) {
                    p.comm_unit_e9 = z ? edge[a] : 0;
                    p.comm_bps_e4 = z ? 0 : edge[a];
                    check_commission(&p, qd, edge[b], edge[b], &checked);
                    check_commission(&p, qd, edge[b], -edge[b], &checked);
                    check_commission(&p, qd, 1, INT64_MIN, &checked);
                }
    assert_true(checked > 2000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_market_slippage),
        T(test_slippage_tick_grid),
        T(test_market_partial_by_quote_size),
        T(test_market_shares_quote_and_waits),
        T(test_limit_trade_through),
        T(test_limit_fill_on_touch),
        T(test_limit_trade_size_shared),
        T(test_marketable_limit),
        T(test_stop),
        T(test_stop_limit),
        T(test_trailing_stop),
        T(test_missing_price_and_trail_reject),
        T(test_ioc),
        T(test_fok),
        T(test_day_expiry),
        T(test_latency),
        T(test_commission),
        T(test_rounding_half_away),
        cmocka_unit_test(test_money_matches_exact),
        T(test_index_growth),
        T(test_cancel),
        T(test_replace),
        T(test_replace_rejects_and_priority),
        T(test_rejects),
        T(test_config_errors),
        T(test_reports_at_commit_in_order),
        T(test_reentrant_submit),
        T(test_reentrant_commit),
        T(test_reopen),
        T(test_crash),
        T(test_in_flight_across_restart),
        T(test_book_refuses_foreign_records),
        T(test_book_symbol_gone),
        T(test_journal_failure_fails_closed),
#undef T
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
