/* Unit tests for event_log: wraparound of both rings, first() per ring, scans with type
 * and symbol filters, resume from a scan's return value (no gap, no duplicate),
 * recent(n), the JSON of every kind of slot against event_to_json, the bus attachment,
 * the conflated scan (each key's latest merged with the non-market events, totals) and
 * totals at a past seq, and no allocation when pushing market data or reading it
 * conflated once warm (malloc counted by interposing glibc's allocator in this
 * executable). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "bus.h"
#include "clock.h"
#include "event_log.h"
#include "fixture_instruments.h"
#include "instrument.h"
#include "util.h"

/* Every malloc, calloc and realloc in the process, counted (free needs no wrapper:
 * the __libc_ functions share one heap). Not under AddressSanitizer, which owns the
 * allocator: there the test that counts is skipped. */
static unsigned long allocs;
#ifndef __SANITIZE_ADDRESS__
#define COUNT_ALLOCS 1
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);

void *malloc(size_t n)
{
    allocs++;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    allocs++;
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    allocs++;
    return __libc_realloc(p, n);
}
#endif

static struct event quote_ev(uint64_t seq, int sym)
{
    struct event ev = {.seq = seq,
                       .type = EV_MARKET_DATA,
                       .ts_us = 1795246740000000LL + (int64_t)seq,
                       .md_kind = MD_QUOTE};
    strcpy(ev.source, "feed_sim");
    ev.u.quote = (struct quote){sym, 19025, 19026, 300, 100, seq};
    return ev;
}

/* An event carrying cJSON data {"i":seq} (plus "symbol" when sym names one). */
static struct event data_ev(uint64_t seq, enum event_type type, const char *sym)
{
    struct event ev = {.seq = seq, .type = type, .ts_us = (int64_t)seq};
    strcpy(ev.source, "strategy:x");
    ev.data = cJSON_CreateObject();
    cJSON_AddNumberToObject(ev.data, "i", (double)seq);
    if (sym) cJSON_AddStringToObject(ev.data, "symbol", sym);
    return ev;
}

static void push_release(struct event_log *l, struct event ev)
{
    event_log_push(l, &ev);
    event_release(&ev);
}

/* Collects what a scan passes. */
struct got {
    uint64_t seq[256];
    enum event_type type[256];
    int n;
    int stop_at; /* return 1 after this many (0: never) */
};

static int collect(uint64_t seq, enum event_type type, const char *json, size_t len, void *arg)
{
    struct got *g = arg;
    assert_true(g->n < 256);
    assert_int_equal(strlen(json), len);
    char want[32];
    snprintf(want, sizeof want, "{\"seq\":%llu,", (unsigned long long)seq);
    assert_memory_equal(json, want, strlen(want));
    g->seq[g->n] = seq;
    g->type[g->n++] = type;
    return g->stop_at && g->n >= g->stop_at;
}

static const struct event_filter not_market = {EV_ALL & ~EV_BIT(EV_MARKET_DATA), NULL, 0};

static void test_empty(void **s)
{
    struct event_log *l = event_log_new(16, 16, &ins);
    assert_int_equal(event_log_last(l), 0);
    assert_int_equal(event_log_first(l, NULL), 1);
    assert_int_equal(event_log_first(l, &not_market), 1);
    struct got g = {0};
    assert_int_equal(event_log_scan(l, 0, NULL, 0, collect, &g), 0);
    event_log_recent(l, NULL, 5, collect, &g);
    assert_int_equal(g.n, 0);
    event_log_free(l);
    event_log_free(NULL);
}

static void test_wraparound(void **s)
{
    struct event_log *l = event_log_new(10, 0, &ins); /* 16 slots each */
    for (uint64_t i = 1; i <= 40; i++) push_release(l, quote_ev(i, 0));
    assert_int_equal(event_log_last(l), 40);
    assert_int_equal(event_log_first(l, NULL), 25);
    /* No other event was overwritten: a non-market reader misses nothing since 1. */
    assert_int_equal(event_log_first(l, &not_market), 1);

    struct got g = {0};
    assert_int_equal(event_log_scan(l, 0, NULL, 0, collect, &g), 40);
    assert_int_equal(g.n, 16);
    for (int i = 0; i < 16; i++) assert_int_equal(g.seq[i], 25 + i);
    g.n = 0;
    assert_int_equal(event_log_scan(l, 33, NULL, 0, collect, &g), 40);
    assert_int_equal(g.n, 7);
    assert_int_equal(g.seq[0], 34);
    g.n = 0;
    assert_int_equal(event_log_scan(l, 40, NULL, 0, collect, &g), 40);
    assert_int_equal(g.n, 0);
    event_log_free(l);
}

/* The other ring keeps non-market events long after the all ring dropped them. */
static void test_other_ring(void **s)
{
    struct event_log *l = event_log_new(16, 64, &ins);
    uint64_t seq = 100; /* attached late: the first event is not seq 1 */
    for (int round = 0; round < 40; round++) {
        push_release(l, data_ev(++seq, EV_ALERT, NULL));
        for (int k = 0; k < 3; k++) push_release(l, quote_ev(++seq, 0));
    }
    /* 160 events 101..260; alerts at 101, 105, ..., 257. */
    assert_int_equal(event_log_first(l, NULL), 245);
    assert_int_equal(event_log_first(l, &not_market), 101);
    struct got g = {0};
    assert_int_equal(event_log_scan(l, 0, &not_market, 0, collect, &g), 257);
    assert_int_equal(g.n, 40);
    assert_int_equal(g.seq[0], 101);
    assert_int_equal(g.seq[39], 257);
    /* The all ring's alerts are read through the other ring. */
    g.n = 0;
    event_log_scan(l, 0, NULL, 0, collect, &g);
    assert_int_equal(g.n, 16);
    assert_int_equal(g.seq[0], 245);
    assert_int_equal(g.type[0], EV_ALERT);
    assert_int_equal(g.type[1], EV_MARKET_DATA);

    /* 30 more alerts overwrite the other ring's oldest: first is past the last lost. */
    for (int i = 0; i < 30; i++) push_release(l, data_ev(++seq, EV_ALERT, NULL));
    /* 70 alerts pushed, 64 held: the 6th (121) was the newest lost. */
    assert_int_equal(event_log_first(l, &not_market), 122);
    g.n = 0;
    event_log_scan(l, 0, &not_market, 0, collect, &g);
    assert_int_equal(g.n, 64);
    assert_int_equal(g.seq[0], 125);
    event_log_free(l);
}

static void test_filters(void **s)
{
    struct event_log *l = event_log_new(64, 64, &ins);
    push_release(l, quote_ev(1, 0));                             /* AAPL */
    push_release(l, quote_ev(2, 1));                             /* BTC-USD */
    push_release(l, data_ev(3, EV_SIGNAL_GENERATED, "AAPL"));    /* AAPL */
    push_release(l, data_ev(4, EV_SIGNAL_GENERATED, "BTC-USD")); /* BTC-USD */
    push_release(l, data_ev(5, EV_PORTFOLIO_UPDATE, NULL));      /* no symbol */
    push_release(l, data_ev(6, EV_ALERT, "NOPE"));               /* unknown: no symbol */
    struct event bar = {.seq = 7, .type = EV_BAR};
    bar.u.bar = (struct bar){.sym = 1, .tf = TF_1M};
    push_release(l, bar);

    int aapl = 0, btc = 1;
    struct event_filter f = {0, &aapl, 1};
    struct got g = {0};
    assert_int_equal(event_log_scan(l, 0, &f, 0, collect, &g), 7);
    uint64_t want1[] = {1, 3, 5, 6};
    assert_int_equal(g.n, 4);
    for (int i = 0; i < 4; i++) assert_int_equal(g.seq[i], want1[i]);

    f = (struct event_filter){EV_BIT(EV_SIGNAL_GENERATED) | EV_BIT(EV_BAR), &btc, 1};
    g.n = 0;
    assert_int_equal(event_log_scan(l, 0, &f, 0, collect, &g), 7);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.seq[0], 4);
    assert_int_equal(g.seq[1], 7);

    f = (struct event_filter){EV_BIT(EV_MARKET_DATA), NULL, 0};
    g.n = 0;
    assert_int_equal(event_log_scan(l, 0, &f, 0, collect, &g), 7);
    assert_int_equal(g.n, 2);

    assert_true(event_filter_match(NULL, EV_CUSTOM, 5));
    assert_false(event_filter_match(&f, EV_CUSTOM, -1));
    event_log_free(l);
}

/* A reader that takes a few events at a time, resuming from what scan returns, sees
 * every matching event once, in order. */
static void test_resume(void **s)
{
    struct event_log *l = event_log_new(256, 256, &ins);
    for (uint64_t i = 1; i <= 100; i++) {
        if (i % 5 == 0) push_release(l, data_ev(i, EV_ORDER_SUBMITTED, "AAPL"));
        else push_release(l, quote_ev(i, (int)(i % 2)));
    }
    int btc = 1;
    struct event_filter f = {0, &btc, 1}; /* odd quotes, and the orders (AAPL) do not pass */
    struct got g = {0};
    uint64_t cursor = 0, expect = 1;
    while (cursor < 100) {
        int before = g.n;
        cursor = event_log_scan(l, cursor, &f, 3, collect, &g);
        assert_true(g.n - before <= 3);
    }
    for (int i = 0; i < g.n; i++) {
        while (expect % 2 == 0 || expect % 5 == 0) expect++;
        assert_int_equal(g.seq[i], expect++);
    }
    assert_int_equal(g.n, 40);

    /* fn returning nonzero stops; the event it was given counts as examined. */
    struct got h = {.stop_at = 2};
    assert_int_equal(event_log_scan(l, 10, NULL, 0, collect, &h), 12);
    assert_int_equal(h.n, 2);
    h = (struct got){0};
    /* A scan that filters everything out still moves the cursor to the end of the ring
     * it reads: the non-market ring for a filter without market data. */
    push_release(l, quote_ev(101, 0));
    f.types = EV_BIT(EV_KILL_SWITCH);
    assert_int_equal(event_log_scan(l, 0, &f, 0, collect, &h), 100);
    f.types = EV_BIT(EV_MARKET_DATA);
    assert_int_equal(event_log_scan(l, 0, &f, 0, collect, &h), 101);
    assert_int_equal(h.n, 40);
    event_log_free(l);
}

static void test_recent(void **s)
{
    struct event_log *l = event_log_new(16, 64, &ins);
    for (uint64_t i = 1; i <= 50; i++) {
        if (i % 10 == 0) push_release(l, data_ev(i, EV_ALERT, NULL));
        else push_release(l, quote_ev(i, 0));
    }
    struct event_filter alerts = {EV_BIT(EV_ALERT), NULL, 0};
    struct got g = {0};
    event_log_recent(l, &alerts, 3, collect, &g);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.seq[0], 30);
    assert_int_equal(g.seq[2], 50);
    g.n = 0;
    event_log_recent(l, &alerts, 100, collect, &g);
    assert_int_equal(g.n, 5);
    assert_int_equal(g.seq[0], 10);
    g.n = 0;
    event_log_recent(l, NULL, 4, collect, &g);
    assert_int_equal(g.n, 4);
    assert_int_equal(g.seq[0], 47);
    g.n = 0;
    event_log_recent(l, NULL, 0, collect, &g);
    assert_int_equal(g.n, 0);
    event_log_free(l);
}

/* Compares the log's JSON of its newest event with event_to_json of the original. */
static int last_json(uint64_t seq, enum event_type type, const char *json, size_t len, void *arg)
{
    struct buf *b = arg;
    buf_reset(b);
    buf_put(b, json, len);
    return 0;
}

static int last_latest_json(uint64_t seq, enum event_type type, const char *json, size_t len,
                            int key, const struct event_log_total *total, void *arg)
{
    return last_json(seq, type, json, len, arg);
}

static void check_json(struct event_log *l, struct event *ev)
{
    struct buf want = BUF_INIT, got = BUF_INIT;
    event_to_json(ev, &ins, &want);
    event_log_push(l, ev);
    event_release(ev); /* the log keeps its own copy */
    event_log_recent(l, NULL, 1, last_json, &got);
    assert_string_equal(got.p, want.p);
    /* Read again (the cached JSON). */
    event_log_recent(l, NULL, 1, last_json, &got);
    assert_string_equal(got.p, want.p);
    buf_free(&want);
    buf_free(&got);
}

static void test_json(void **s)
{
    struct event_log *l = event_log_new(16, 16, &ins);
    struct event ev = quote_ev(1, 0);
    check_json(l, &ev);
    ev = (struct event){.seq = 2, .type = EV_MARKET_DATA, .md_kind = MD_TRADE, .ts_us = 5};
    ev.u.trade = (struct trade){1, 6400010, 150000, 9};
    check_json(l, &ev);
    ev = (struct event){.seq = 3, .type = EV_BAR, .ts_us = 1795246800000000LL};
    strcpy(ev.source, "market");
    ev.u.bar = (struct bar){0, TF_5M, 1795246740000000LL, 19025, 19100, 19000, 19050, 1200, 4};
    check_json(l, &ev);

    struct order_event oe = {0};
    oe.order = (struct order){.id = 77,
                              .sym = 0,
                              .side = SIDE_BUY,
                              .type = OT_LIMIT,
                              .status = OS_PARTIALLY_FILLED,
                              .qty = 100,
                              .filled_qty = 40,
                              .limit_px = 19020};
    strcpy(oe.order.strategy, "sma_cross");
    oe.fill = (struct fill){0};
    ev = (struct event){.seq = 4, .type = EV_ORDER_FILLED, .ts_us = 9};
    ev.order = xmalloc(sizeof oe);
    *ev.order = oe;
    assert_int_equal(event_log_symbol_of(l, &ev), 0);
    check_json(l, &ev);

    ev = data_ev(5, EV_SIGNAL_GENERATED, "BTC-USD");
    cJSON_AddStringToObject(ev.data, "note", "a\"b\\c\xc3\xa9");
    assert_int_equal(event_log_symbol_of(l, &ev), 1);
    check_json(l, &ev);
    ev = (struct event){.seq = 6, .type = EV_KILL_SWITCH}; /* NULL data: {} */
    assert_int_equal(event_log_symbol_of(l, &ev), -1);
    check_json(l, &ev);

    /* Wrap the rings so each slot is rebuilt for a new event. */
    for (uint64_t i = 7; i < 40; i++) {
        ev = (i % 3) ? quote_ev(i, (int)(i % 2)) : data_ev(i, EV_CUSTOM, NULL);
        check_json(l, &ev);
    }
    event_log_free(l);
}

static void test_attach(void **s)
{
    struct clock c;
    clock_init_sim(&c, 1000);
    struct bus *b = bus_new(&c);
    struct event_log *l = event_log_new(16, 16, &ins);
    event_log_attach(l, b);
    for (int i = 0; i < 5; i++) {
        struct event ev = quote_ev(0, 0);
        bus_publish(b, &ev);
    }
    struct event ev = data_ev(0, EV_CUSTOM, NULL);
    bus_publish(b, &ev);
    assert_int_equal(event_log_last(l), 6);
    struct got g = {0};
    event_log_scan(l, 0, &not_market, 0, collect, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.seq[0], 6);
    event_log_free(l); /* before the bus: it unsubscribes */
    bus_free(b);
}

static int noop(uint64_t seq, enum event_type type, const char *json, size_t len, void *arg)
{
    return 0;
}

/* Once every slot has held an event and built its JSON, pushing market data and
 * reading its JSON allocate nothing. */
static void test_no_alloc_when_warm(void **s)
{
#ifndef COUNT_ALLOCS
    skip();
#endif
    struct event_log *l = event_log_new(64, 64, &ins);
    uint64_t seq = 1000000, cursor = 0;
    for (int i = 0; i < 128; i++) {
        struct event ev = quote_ev(++seq, i % 2);
        event_log_push(l, &ev);
        cursor = event_log_scan(l, cursor, NULL, 0, noop, NULL);
    }
    unsigned long before = allocs;
    for (int i = 0; i < 1000; i++) {
        struct event ev = quote_ev(++seq, i % 2);
        event_log_push(l, &ev);
        cursor = event_log_scan(l, cursor, NULL, 0, noop, NULL);
    }
    assert_int_equal(allocs, before);
    assert_int_equal(cursor, seq);
    event_log_free(l);
}

static struct event trade_ev(uint64_t seq, int sym, int64_t qty)
{
    struct event ev = {
        .seq = seq, .type = EV_MARKET_DATA, .ts_us = (int64_t)seq, .md_kind = MD_TRADE};
    strcpy(ev.source, "feed_sim");
    ev.u.trade = (struct trade){sym, 19025 + (int64_t)seq, qty, seq};
    return ev;
}

/* Collects what a conflated scan passes. */
struct latest {
    uint64_t seq[64];
    int key[64];
    struct event_log_total total[64];
    int n, stop_at;
};

static int collect_latest(uint64_t seq, enum event_type type, const char *json, size_t len, int key,
                          const struct event_log_total *total, void *arg)
{
    struct latest *g = arg;
    assert_true(g->n < 64);
    assert_int_equal(strlen(json), len);
    assert_int_equal(key >= 0, type == EV_MARKET_DATA);
    assert_int_equal(total != NULL, key >= 0);
    char want[32];
    snprintf(want, sizeof want, "{\"seq\":%llu,", (unsigned long long)seq);
    assert_memory_equal(json, want, strlen(want));
    g->seq[g->n] = seq;
    g->key[g->n] = key;
    if (total) g->total[g->n] = *total;
    g->n++;
    return g->stop_at && g->n >= g->stop_at;
}

/* 1 q0  2 t0(5)  3 q1  4 ALERT  5 t0(7)  6 q0  7 t1(2)  8 SIGNAL(BTC)  9 q1  10 t0(1) */
static struct event_log *latest_log(void)
{
    struct event_log *l = event_log_new(64, 64, &ins);
    push_release(l, quote_ev(1, 0));
    push_release(l, trade_ev(2, 0, 5));
    push_release(l, quote_ev(3, 1));
    push_release(l, data_ev(4, EV_ALERT, NULL));
    push_release(l, trade_ev(5, 0, 7));
    push_release(l, quote_ev(6, 0));
    push_release(l, trade_ev(7, 1, 2));
    push_release(l, data_ev(8, EV_SIGNAL_GENERATED, "BTC-USD"));
    push_release(l, quote_ev(9, 1));
    push_release(l, trade_ev(10, 0, 1));
    return l;
}

#define KEY(sym, kind) ((sym)*2 + (kind))

static void test_scan_latest(void **s)
{
    struct event_log *l = latest_log();
    struct latest g = {0};
    /* Everything: the non-market events, and each key's latest, in seq order. */
    assert_int_equal(event_log_scan_latest(l, 0, 10, NULL, 0, collect_latest, &g), 10);
    uint64_t want[] = {4, 6, 7, 8, 9, 10};
    int keys[] = {-1, KEY(0, MD_QUOTE), KEY(1, MD_TRADE), -1, KEY(1, MD_QUOTE), KEY(0, MD_TRADE)};
    assert_int_equal(g.n, 6);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(g.seq[i], want[i]);
        assert_int_equal(g.key[i], keys[i]);
    }
    /* Totals as of the latest event: AAPL's trades 2, 5, 10 (13 in all). */
    assert_int_equal(g.total[5].count, 3);
    assert_int_equal(g.total[5].size, 13);
    assert_int_equal(g.total[1].count, 2); /* AAPL quotes 1, 6 */
    assert_int_equal(g.total[2].size, 2);

    /* A range that ends before some keys' latest: those wait (never an older value). */
    g = (struct latest){0};
    assert_int_equal(event_log_scan_latest(l, 0, 8, NULL, 0, collect_latest, &g), 8);
    assert_int_equal(g.n, 4); /* 4, q0@6, t1@7, 8: t0 and q1 changed after 8 */
    assert_int_equal(g.seq[3], 8);
    /* After a seq: only what changed since. */
    g = (struct latest){0};
    assert_int_equal(event_log_scan_latest(l, 8, 10, NULL, 0, collect_latest, &g), 10);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.seq[0], 9);

    /* until_market: the non-market events before the first key, then seq - 1 of it. */
    g = (struct latest){0};
    assert_int_equal(event_log_scan_latest(l, 0, 10, NULL, 1, collect_latest, &g), 5);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.seq[0], 4);
    g = (struct latest){0};
    assert_int_equal(event_log_scan_latest(l, 6, 10, NULL, 1, collect_latest, &g), 6);
    assert_int_equal(g.n, 0);
    /* Only market data since (here none of it BTC-USD's): nothing moves. */
    int aapl_only = 0;
    struct event_filter fa = {0, &aapl_only, 1};
    assert_int_equal(event_log_scan_latest(l, 9, 10, &fa, 0, collect_latest, &g), 10);
    assert_int_equal(g.n, 1); /* t0@10 */
    g = (struct latest){0};
    int btc_only = 1;
    struct event_filter fb = {0, &btc_only, 1};
    assert_int_equal(event_log_scan_latest(l, 9, 10, &fb, 1, collect_latest, &g), 9);
    assert_int_equal(g.n, 0);

    /* Filters: BTC-USD only (the alert has no symbol: it passes); market data only. */
    int btc = 1;
    struct event_filter f = {0, &btc, 1};
    g = (struct latest){0};
    event_log_scan_latest(l, 0, 10, &f, 0, collect_latest, &g);
    uint64_t want_btc[] = {4, 7, 8, 9};
    assert_int_equal(g.n, 4);
    for (int i = 0; i < 4; i++) assert_int_equal(g.seq[i], want_btc[i]);
    f = (struct event_filter){EV_BIT(EV_MARKET_DATA), NULL, 0};
    g = (struct latest){0};
    assert_int_equal(event_log_scan_latest(l, 0, 10, &f, 1, collect_latest, &g), 5);
    assert_int_equal(g.n, 0);
    /* No market key in the filter: until_market goes to the end. */
    f = (struct event_filter){EV_BIT(EV_ALERT), NULL, 0};
    assert_int_equal(event_log_scan_latest(l, 0, 10, &f, 1, collect_latest, &g), 10);
    assert_int_equal(g.n, 1);

    /* fn stopping: the seq it was given. */
    g = (struct latest){.stop_at = 2};
    assert_int_equal(event_log_scan_latest(l, 0, 10, NULL, 0, collect_latest, &g), 6);
    event_log_free(l);
}

/* The JSON of a key's latest is the event's own, and is rebuilt when the key changes. */
static void test_latest_json(void **s)
{
    struct event_log *l = event_log_new(16, 16, &ins);
    struct buf want = BUF_INIT, got = BUF_INIT;
    for (uint64_t i = 1; i <= 40; i++) {
        struct event ev = (i % 3) ? quote_ev(i, 1) : trade_ev(i, 1, (int64_t)i);
        event_to_json(&ev, &ins, &want);
        event_log_push(l, &ev);
        struct event_filter f = {EV_BIT(EV_MARKET_DATA), NULL, 0};
        event_log_scan_latest(l, i - 1, i, &f, 0, last_latest_json, &got);
        assert_string_equal(got.p, want.p);
        buf_reset(&want);
    }
    buf_free(&want);
    buf_free(&got);
    event_log_free(l);
}

static void test_totals_at(void **s)
{
    struct event_log *l = latest_log();
    struct event_log_total *t = xcalloc(EVENT_LOG_MD_KEYS, sizeof *t);
    event_log_totals_at(l, 10, t); /* now */
    assert_int_equal(t[KEY(0, MD_TRADE)].count, 3);
    assert_int_equal(t[KEY(0, MD_TRADE)].size, 13);
    assert_int_equal(t[KEY(1, MD_QUOTE)].count, 2);
    event_log_totals_at(l, 4, t); /* after 1 q0, 2 t0(5), 3 q1 */
    assert_int_equal(t[KEY(0, MD_QUOTE)].count, 1);
    assert_int_equal(t[KEY(0, MD_TRADE)].count, 1);
    assert_int_equal(t[KEY(0, MD_TRADE)].size, 5);
    assert_int_equal(t[KEY(1, MD_QUOTE)].count, 1);
    assert_int_equal(t[KEY(1, MD_TRADE)].count, 0);
    assert_int_equal(t[KEY(1, MD_TRADE)].size, 0);
    event_log_totals_at(l, 0, t);
    for (int k = 0; k < EVENT_LOG_MD_KEYS; k++) assert_int_equal(t[k].count, 0);
    event_log_free(l);

    /* Past the all ring (16 slots): what it no longer holds counts as before. */
    l = event_log_new(16, 16, &ins);
    push_release(l, trade_ev(1, 1, 3)); /* BTC: one trade, long ago */
    for (uint64_t i = 2; i <= 40; i++) push_release(l, trade_ev(i, 0, 1));
    event_log_totals_at(l, 30, t);
    assert_int_equal(t[KEY(0, MD_TRADE)].count, 29);
    assert_int_equal(t[KEY(1, MD_TRADE)].count, 1);
    event_log_totals_at(l, 5, t); /* 6..24 are gone: counted as before 5 */
    assert_int_equal(t[KEY(0, MD_TRADE)].count, 23);
    assert_int_equal(t[KEY(0, MD_TRADE)].size, 23);
    assert_int_equal(t[KEY(1, MD_TRADE)].count, 1);
    /* A key whose events after seq are all gone: its latest alone counts as after. */
    push_release(l, trade_ev(41, 1, 4));
    for (uint64_t i = 42; i <= 60; i++) push_release(l, quote_ev(i, 0));
    event_log_totals_at(l, 3, t);
    assert_int_equal(t[KEY(1, MD_TRADE)].count, 1);
    assert_int_equal(t[KEY(1, MD_TRADE)].size, 3);
    free(t);
    event_log_free(l);
}

static int noop_latest(uint64_t seq, enum event_type type, const char *json, size_t len, int key,
                       const struct event_log_total *total, void *arg)
{
    return 0;
}

/* A conflated reader of a warm log allocates nothing either. */
static void test_latest_no_alloc(void **s)
{
#ifndef COUNT_ALLOCS
    skip();
#endif
    struct event_log *l = event_log_new(64, 64, &ins);
    uint64_t seq = 0, cursor = 0;
    for (int round = 0; round < 200; round++) {
        if (round == 100) allocs = 0;
        for (int i = 0; i < 10; i++) {
            struct event ev = (i % 3) ? quote_ev(++seq, i % 2) : trade_ev(++seq, i % 2, 1);
            event_log_push(l, &ev);
        }
        cursor = event_log_scan_latest(l, cursor, seq, NULL, 0, noop_latest, NULL);
    }
    assert_int_equal(allocs, 0);
    assert_int_equal(cursor, seq);
    event_log_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_wraparound),
        cmocka_unit_test(test_other_ring),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_recent),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_attach),
        cmocka_unit_test(test_no_alloc_when_warm),
        cmocka_unit_test(test_scan_latest),
        cmocka_unit_test(test_latest_json),
        cmocka_unit_test(test_totals_at),
        cmocka_unit_test(test_latest_no_alloc),
    };
    return cmocka_run_group_tests(tests, instruments_setup, instruments_teardown);
}
