/* Unit tests for risk: every pre-trade check at its boundary (at the limit passes, one
 * unit over fails), field sanity against NaN, infinities, -0, zero, negatives, huge
 * values, denormals and too many decimals, the documented order of the checks, strategy
 * vs global limit sets, fail-closed reference prices, trading states (REDUCING lets a
 * reducing order through, HALTED nothing), the kill switch (sync, async from a signal
 * handler, latched until re-armed, cancels still pass), both throttles refilling on the
 * simulated clock, duplicate-window expiry, self-cross on both sides, RISK_CHECK,
 * RISK_ALERT and KILL_SWITCH event data, utilization alerts and their re-arming, limits
 * by name and the limits JSON.
 *
 * The environment is a fake (struct fake): a settable reference price, market-data time,
 * trading-window flag and, per account (totals, "s1", "s2"), exposure and P&L. The bus
 * and the simulated clock are real; a subscriber keeps a copy of every risk event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <signal.h>
#include <string.h>

#include "bus.h"
#include "clock.h"
#include "log.h"
#include "risk.h"
#include "util.h"

#define SEC INT64_C(1000000)
#define T0  INT64_C(1767625200000000) /* 2026-01-05T15:00:00Z */

/* ---- the fake environment ----------------------------------------------------------- */

struct fake_acct {
    const char *id; /* NULL: the totals */
    struct risk_exposure x;
    int64_t day_pnl, drawdown;
};

struct fake {
    int ref_missing;
    int64_t ref_px, ref_ts;
    int ref_calls;
    int64_t last_data;
    int window;
    struct fake_acct acct[3]; /* totals, s1, s2 */
};

static struct fake F;
static struct instruments ins;

static struct fake_acct *fake_acct(const char *id)
{
    if (!id) return &F.acct[0];
    for (int i = 1; i < 3; i++)
        if (strcmp(F.acct[i].id, id) == 0) return &F.acct[i];
    return NULL;
}

static struct risk_exposure *X(const char *id)
{
    return &fake_acct(id)->x;
}

static int fake_reference(void *arg, int sym, int64_t *px, int64_t *ts_us)
{
    F.ref_calls++;
    if (F.ref_missing) return -1;
    *px = F.ref_px;
    *ts_us = F.ref_ts;
    return 0;
}

static int64_t fake_last_data(void *arg, int sym)
{
    return F.last_data;
}

static void fake_exposure(void *arg, const char *strategy, int sym, struct risk_exposure *out)
{
    struct fake_acct *a = fake_acct(strategy);
    if (a) *out = a->x;
    else memset(out, 0, sizeof *out);
}

static void fake_pnl(void *arg, const char *strategy, int64_t *day_pnl, int64_t *drawdown)
{
    struct fake_acct *a = fake_acct(strategy);
    *day_pnl = a ? a->day_pnl : 0;
    *drawdown = a ? a->drawdown : 0;
}

static int fake_window(void *arg, const char *strategy, int64_t now_us)
{
    return F.window;
}

static struct risk_env env = {
    &ins, NULL, fake_reference, fake_last_data, fake_exposure, fake_pnl, fake_window,
};

/* ---- fixture: clock, bus, event capture, risk --------------------------------------- */

#define MAX_EV 128
static struct clock clk;
static struct bus *bus;
static struct risk *R;
static struct {
    enum event_type type;
    cJSON *data;
} evs[MAX_EV];
static int nev;
static char last_log[1024];
static char msg[512];
static struct order_checked out;

static void on_event(const struct event *ev, void *arg)
{
    assert_true(nev < MAX_EV);
    evs[nev].type = ev->type;
    evs[nev].data = cJSON_Duplicate(ev->data, 1);
    nev++;
}

static void on_log(enum log_level lvl, const char *line, void *arg)
{
    if (lvl >= LOG_INFO) util_strlcpy(last_log, line, sizeof last_log);
}

static void clear_events(void)
{
    for (int i = 0; i < nev; i++) cJSON_Delete(evs[i].data);
    nev = 0;
}

static int count_ev(enum event_type t)
{
    int n = 0;
    for (int i = 0; i < nev; i++) n += evs[i].type == t;
    return n;
}

/* The data of the last RISK_ALERT of a trading-state change (it has "state"). */
static const cJSON *last_state_alert(void)
{
    for (int i = nev - 1; i >= 0; i--)
        if (evs[i].type == EV_RISK_ALERT && cJSON_GetObjectItem(evs[i].data, "state"))
            return evs[i].data;
    fail_msg("no state-change alert");
    return NULL;
}

/* The data of the last event of type t (fails when there is none). */
static const cJSON *last_ev(enum event_type t)
{
    for (int i = nev - 1; i >= 0; i--)
        if (evs[i].type == t) return evs[i].data;
    fail_msg("no %s event", event_type_name(t));
    return NULL;
}

static const char *jstr(const cJSON *d, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, k);
    assert_non_null(v);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *d, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, k);
    assert_non_null(v);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static int jnull(const cJSON *d, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, k);
    return v != NULL && cJSON_IsNull(v);
}

static void start(const struct risk_config *cfg)
{
    risk_free(R);
    R = risk_new(cfg, &env, bus, &clk);
}

static int setup(void **state)
{
    clock_init_sim(&clk, T0);
    bus = bus_new(&clk);
    bus_subscribe(bus, EV_BIT(EV_RISK_CHECK) | EV_BIT(EV_RISK_ALERT) | EV_BIT(EV_KILL_SWITCH),
                  on_event, NULL);
    memset(&F, 0, sizeof F);
    F.ref_px = 10000; /* 100.00 */
    F.ref_ts = T0;
    F.last_data = T0;
    F.window = 1;
    F.acct[1].id = "s1";
    F.acct[2].id = "s2";
    env.in_window = fake_window;
    struct risk_config cfg;
    risk_config_defaults(&cfg);
    R = NULL;
    start(&cfg);
    last_log[0] = msg[0] = '\0';
    return 0;
}

static int teardown(void **state)
{
    risk_free(R);
    R = NULL;
    bus_free(bus);
    clear_events();
    return 0;
}

/* ---- requests ----------------------------------------------------------------------- */

static struct order_request req(const char *strategy, const char *sym, int side, double qty)
{
    return (struct order_request){.strategy = strategy, .symbol = sym, .side = side, .qty = qty};
}

#define BUY(sym, qty)  req("s1", sym, 1, qty)
#define SELL(sym, qty) req("s1", sym, -1, qty)

static struct order_request lim(struct order_request q, double px)
{
    q.has |= REQ_LIMIT;
    q.limit = px;
    return q;
}

static struct order_request stp(struct order_request q, double px)
{
    q.has |= REQ_STOP;
    q.stop = px;
    return q;
}

static enum risk_reason chk(struct order_request q)
{
    return risk_check_new(R, &q, &out, msg, sizeof msg);
}

/* Compares by name so a failure reads "MAX_POSITION != OK". */
#define expect(q, reason) assert_string_equal(risk_reason_name(chk(q)), risk_reason_name(reason))

static void set(const char *strategy, const char *name, double v)
{
    struct err e;
    if (risk_set_limit(R, strategy, name, v, &e) != 0) fail_msg("%s", e.msg);
}

static void advance(int64_t us)
{
    clock_advance_to(&clk, clock_now_us(&clk) + us);
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_names(void **state)
{
    assert_string_equal(risk_reason_name(RISK_OK), "OK");
    assert_string_equal(risk_reason_name(RISK_MAX_ORDER_QTY), "MAX_ORDER_QTY");
    assert_string_equal(risk_reason_name(RISK_NOT_WORKING), "NOT_WORKING");
    assert_string_equal(risk_reason_name(RISK__COUNT), "?");
    assert_string_equal(trading_state_name(TS_REDUCING), "REDUCING");
    assert_string_equal(trading_state_name(TS_HALTED), "HALTED");
    assert_string_equal(risk_severity_name(SEV_CRITICAL), "CRITICAL");
    assert_string_equal(risk_severity_name(SEV_LOW), "LOW");
}

static void test_pass_fills_out(void **state)
{
    struct order_request q = lim(BUY("AAPL", 100), 190.25);
    q.has |= REQ_TAKE_PROFIT | REQ_STOP_LOSS;
    q.take_profit = 200;
    q.stop_loss = 180.5;
    strcpy(msg, "junk");
    expect(q, RISK_OK);
    assert_string_equal(msg, "");
    assert_int_equal(out.sym, instruments_find(&ins, "AAPL"));
    assert_int_equal(out.qty, 100);
    assert_int_equal(out.limit_px, 19025);
    assert_int_equal(out.tp_px, 20000);
    assert_int_equal(out.sl_px, 18050);
    assert_int_equal(out.stop_px, 0);
    q = stp(SELL("FRAC", 0.125), 1.2345);
    q.has |= REQ_TRAIL;
    q.trail = 0.01;
    expect(q, RISK_OK);
    assert_int_equal(out.qty, 125);
    assert_int_equal(out.stop_px, 12345);
    assert_int_equal(out.trail_px, 100);
    /* a passing order publishes nothing, counts nothing, needs no reference */
    assert_int_equal(nev, 0);
    assert_int_equal(F.ref_calls, 0);
    for (int i = 0; i < RISK__COUNT; i++) assert_int_equal(risk_denials(R, i), 0);
}

static void test_unknown_symbol(void **state)
{
    expect(BUY("NOPE", 1), RISK_UNKNOWN_SYMBOL);
    expect(BUY("aapl", 1), RISK_UNKNOWN_SYMBOL);
    expect(BUY("", 1), RISK_UNKNOWN_SYMBOL);
    expect(BUY(NULL, 1), RISK_UNKNOWN_SYMBOL);
    assert_non_null(strstr(msg, "unknown symbol"));
    const cJSON *d = last_ev(EV_RISK_CHECK);
    assert_true(jnull(d, "symbol"));
    assert_true(jnull(d, "limit"));
    assert_true(jnull(d, "scope"));
    assert_int_equal(risk_denials(R, RISK_UNKNOWN_SYMBOL), 4);
    assert_int_equal(count_ev(EV_RISK_CHECK), 4);
}

static const double bad_numbers[] = {NAN,   -NAN,   INFINITY, -INFINITY,
                                     -0.0,  0.0,    -1,       -0.01,
                                     1e300, -1e300, 5e-324,   2.2250738585072014e-308};

static void test_bad_quantity(void **state)
{
    set(NULL, "max_order_qty", 1000); /* no threshold may see these */
    for (size_t i = 0; i < ARRAY_LEN(bad_numbers); i++) {
        expect(BUY("AAPL", bad_numbers[i]), RISK_BAD_QUANTITY);
        expect(lim(SELL("FRAC", bad_numbers[i]), 1), RISK_BAD_QUANTITY);
    }
    /* too many decimals: AAPL has 0, FRAC 3 */
    expect(BUY("AAPL", 0.5), RISK_BAD_QUANTITY);
    expect(BUY("AAPL", 100.000001), RISK_BAD_QUANTITY);
    expect(BUY("FRAC", 0.0125), RISK_BAD_QUANTITY);
    expect(BUY("FRAC", 0.001), RISK_OK);
    expect(BUY("FRAC", 0.1 + 0.2), RISK_OK); /* 0.30000000000000004 is 0.300 */
    /* a quantity that converts but is off the lot (LOT: 100) */
    expect(BUY("LOT", 150), RISK_OFF_LOT);
    const cJSON *d = last_ev(EV_RISK_CHECK);
    assert_string_equal(jstr(d, "limit"), "lot");
    assert_true(jnum(d, "value") == 150);
    assert_true(jnum(d, "max") == 100);
    expect(BUY("LOT", 99), RISK_OFF_LOT);
    expect(BUY("LOT", 200), RISK_OK);
    /* the event of a NaN quantity carries null, not NaN */
    expect(BUY("AAPL", NAN), RISK_BAD_QUANTITY);
    assert_true(jnull(last_ev(EV_RISK_CHECK), "qty"));
}

/* Every price field of a request, with and without its has bit. */
static struct order_request with_price(unsigned bit, double px)
{
    struct order_request q = BUY("XYZ", 1);
    q.has = bit;
    switch (bit) {
    case REQ_LIMIT:
        q.limit = px;
        break;
    case REQ_STOP:
        q.stop = px;
        break;
    case REQ_TRAIL:
        q.trail = px;
        break;
    case REQ_TAKE_PROFIT:
        q.take_profit = px;
        break;
    default:
        q.stop_loss = px;
        break;
    }
    return q;
}

static void test_bad_price(void **state)
{
    static const unsigned bits[] = {REQ_LIMIT, REQ_STOP, REQ_TRAIL, REQ_TAKE_PROFIT, REQ_STOP_LOSS};
    for (size_t b = 0; b < ARRAY_LEN(bits); b++) {
        for (size_t i = 0; i < ARRAY_LEN(bad_numbers); i++)
            expect(with_price(bits[b], bad_numbers[i]), RISK_BAD_PRICE);
        /* XYZ: 2 decimals, tick 0.05. Too many decimals is BAD_PRICE, a representable
         * value off the tick OFF_TICK. */
        expect(with_price(bits[b], 0.001), RISK_BAD_PRICE);
        expect(with_price(bits[b], 10.051), RISK_BAD_PRICE);
        expect(with_price(bits[b], 0.03), RISK_OFF_TICK);
        expect(with_price(bits[b], 10.01), RISK_OFF_TICK);
        expect(with_price(bits[b], 0.05), RISK_OK);
        expect(with_price(bits[b], 10.05), RISK_OK);
        /* without its bit the field is not read */
        struct order_request q = with_price(bits[b], NAN);
        q.has = 0;
        expect(q, RISK_OK);
    }
    expect(with_price(REQ_STOP_LOSS, 0.03), RISK_OFF_TICK);
    const cJSON *d = last_ev(EV_RISK_CHECK);
    assert_string_equal(jstr(d, "limit"), "tick");
    assert_true(jnum(d, "max") == 0.05);
    assert_non_null(strstr(msg, "stop_loss price 0.03 is not a multiple of the tick 0.05"));
    /* a good limit does not excuse a bad stop */
    expect(stp(lim(BUY("XYZ", 1), 10), -1), RISK_BAD_PRICE);
}

static void test_restricted(void **state)
{
    struct risk_config cfg;
    risk_config_defaults(&cfg);
    char *restricted[] = {"RST", "NOT_LISTED"};
    cfg.restricted = restricted;
    cfg.nrestricted = 2;
    start(&cfg);
    expect(BUY("RST", 1), RISK_RESTRICTED_SYMBOL);
    expect(req("manual", "RST", -1, 1), RISK_RESTRICTED_SYMBOL);
    expect(BUY("RST", NAN), RISK_BAD_QUANTITY); /* field sanity comes first */
    expect(BUY("AAPL", 1), RISK_OK);
}

static void test_halted(void **state)
{
    X(NULL)->position = 100;
    X("s1")->position = 100;
    risk_set_state(R, NULL, TS_HALTED, "review");
    assert_int_equal(risk_state(R, NULL), TS_HALTED);
    expect(BUY("AAPL", 1), RISK_HALTED);
    expect(SELL("AAPL", 1), RISK_HALTED); /* even one that reduces */
    assert_int_equal(risk_check_cancel(R, "s1"), RISK_OK);
    assert_string_equal(jstr(last_ev(EV_RISK_CHECK), "scope"), "global");

    risk_set_state(R, NULL, TS_ACTIVE, "ok");
    risk_set_state(R, "s1", TS_HALTED, "runaway");
    assert_int_equal(risk_state(R, "s1"), TS_HALTED);
    assert_int_equal(risk_state(R, "s2"), TS_ACTIVE);
    expect(SELL("AAPL", 1), RISK_HALTED);
    assert_string_equal(jstr(last_ev(EV_RISK_CHECK), "scope"), "strategy");
    assert_non_null(strstr(msg, "(strategy s1)"));
    expect(req("s2", "AAPL", 1, 1), RISK_OK);
    assert_int_equal(risk_check_cancel(R, "s1"), RISK_OK);
}

static void test_reducing(void **state)
{
    X("s1")->position = 100;
    X(NULL)->position = 100;
    risk_set_state(R, "s1", TS_REDUCING, "test");
    expect(SELL("AAPL", 100), RISK_OK);
    expect(SELL("AAPL", 101), RISK_REDUCING_ONLY); /* would go short */
    expect(BUY("AAPL", 1), RISK_REDUCING_ONLY);
    /* working sells count: 60 + 40 reduce, 60 + 41 could cross zero */
    X("s1")->working_sell = 60;
    expect(SELL("AAPL", 40), RISK_OK);
    expect(SELL("AAPL", 41), RISK_REDUCING_ONLY);
    assert_string_equal(jstr(last_ev(EV_RISK_CHECK), "scope"), "strategy");
    /* short position: buys reduce */
    X("s1")->position = -5;
    X("s1")->working_sell = 0;
    expect(BUY("AAPL", 5), RISK_OK);
    expect(SELL("AAPL", 1), RISK_REDUCING_ONLY);
    expect(BUY("AAPL", 6), RISK_REDUCING_ONLY);
    /* flat: nothing reduces */
    X("s1")->position = 0;
    expect(SELL("AAPL", 1), RISK_REDUCING_ONLY);
    /* the global state judges the totals */
    risk_set_state(R, "s1", TS_ACTIVE, "test");
    risk_set_state(R, NULL, TS_REDUCING, "test");
    X(NULL)->position = 100;
    expect(SELL("AAPL", 100), RISK_OK); /* s1 is flat, the totals long */
    expect(BUY("AAPL", 1), RISK_REDUCING_ONLY);
    assert_string_equal(jstr(last_ev(EV_RISK_CHECK), "scope"), "global");
}

static void test_reduce_only(void **state)
{
    struct order_request q = SELL("AAPL", 10);
    q.reduce_only = 1;
    expect(q, RISK_REDUCING_ONLY); /* flat */
    X("s1")->position = 10;
    expect(q, RISK_OK);
    q.qty = 11;
    expect(q, RISK_REDUCING_ONLY);
    /* judged on the strategy's own position, not the totals */
    X("s1")->position = 0;
    X(NULL)->position = 1000;
    q.qty = 10;
    expect(q, RISK_REDUCING_ONLY);
}

static void test_window(void **state)
{
    F.window = 0;
    expect(BUY("AAPL", 1), RISK_OUTSIDE_WINDOW);
    F.window = 1;
    expect(BUY("AAPL", 1), RISK_OK);
    F.window = 0;
    env.in_window = NULL; /* no window callback: always open */
    struct risk_config cfg;
    risk_config_defaults(&cfg);
    start(&cfg);
    expect(BUY("AAPL", 1), RISK_OK);
}

static void test_stale_feed(void **state)
{
    expect(BUY("AAPL", 1), RISK_OK); /* off by default */
    set(NULL, "stale_feed_s", 2);
    F.last_data = T0;
    clock_advance_to(&clk, T0 + 2 * SEC);
    expect(BUY("AAPL", 1), RISK_OK);
    clock_advance_to(&clk, T0 + 2 * SEC + 1);
    expect(BUY("AAPL", 2), RISK_STALE_FEED);
    const cJSON *d = last_ev(EV_RISK_CHECK);
    assert_string_equal(jstr(d, "limit"), "stale_feed_s");
    assert_true(jnum(d, "max") == 2);
    assert_true(fabs(jnum(d, "value") - 2.000001) < 1e-9);
    F.last_data = 0; /* never any data */
    expect(BUY("AAPL", 3), RISK_STALE_FEED);
    assert_non_null(strstr(msg, "no market data for AAPL"));
    /* a stricter strategy set */
    F.last_data = clock_now_us(&clk) - SEC - 1;
    expect(BUY("AAPL", 4), RISK_OK);
    set("s1", "stale_feed_s", 1);
    expect(BUY("AAPL", 5), RISK_STALE_FEED);
    assert_string_equal(jstr(last_ev(EV_RISK_CHECK), "scope"), "strategy");
    expect(req("s2", "AAPL", 1, 5), RISK_OK);
}

static void test_max_order_qty(void **state)
{
    set(NULL, "max_order_qty", 1000);
    expect(BUY("AAPL", 1000), RISK_OK);
    expect(BUY("AAPL", 1001), RISK_MAX_ORDER_QTY);
    assert_string_equal(msg, "qty 1001 exceeds max_order_qty 1000 (global)");
    expect(SELL("AAPL", 1001), RISK_MAX_ORDER_QTY);
    /* fractional quantities compare exactly at the boundary */
    set(NULL, "max_order_qty", 0.3);
    expect(BUY("FRAC", 0.1 + 0.2), RISK_OK);
    expect(BUY("FRAC", 0.3), RISK_OK);
    expect(BUY("FRAC", 0.301), RISK_MAX_ORDER_QTY);
}

static void test_reference(void **state)
{
    set(NULL, "price_band_pct", 5);
    /* a market order needs no reference for a band */
    expect(BUY("AAPL", 1), RISK_OK);
    assert_int_equal(F.ref_calls, 0);
    F.ref_missing = 1;
    expect(lim(BUY("AAPL", 1), 100), RISK_NO_REFERENCE_PRICE);
    expect(stp(BUY("AAPL", 1), 100), RISK_NO_REFERENCE_PRICE);
    assert_true(jnull(last_ev(EV_RISK_CHECK), "limit"));
    F.ref_missing = 0;
    F.ref_px = 0; /* zero is no reference */
    expect(lim(BUY("AAPL", 1), 100), RISK_NO_REFERENCE_PRICE);
    F.ref_px = -10000;
    expect(lim(BUY("AAPL", 1), 100), RISK_NO_REFERENCE_PRICE);
    F.ref_px = 10000;
    /* age: 5 s (the default) passes, one microsecond more fails */
    clock_advance_to(&clk, T0 + 5 * SEC);
    expect(lim(BUY("AAPL", 1), 100), RISK_OK);
    clock_advance_to(&clk, T0 + 5 * SEC + 1);
    expect(lim(BUY("AAPL", 2), 100), RISK_NO_REFERENCE_PRICE);
    assert_string_equal(jstr(last_ev(EV_RISK_CHECK), "limit"), "reference_max_age_s");
    /* a stricter strategy set */
    F.ref_ts = clock_now_us(&clk) - 2 * SEC;
    expect(lim(BUY("AAPL", 3), 100), RISK_OK);
    set("s1", "reference_max_age_s", 1);
    expect(lim(BUY("AAPL", 4), 100), RISK_NO_REFERENCE_PRICE);
    assert_string_equal(jstr(last_ev(EV_RISK_CHECK), "scope"), "strategy");
    /* market orders need one for their notional */
    set(NULL, "price_band_pct", 0);
    set("s1", "reference_max_age_s", 0);
    F.ref_missing = 1;
    expect(BUY("AAPL", 5), RISK_OK);
    set(NULL, "max_order_notional", 1e9);
    expect(BUY("AAPL", 5), RISK_NO_REFERENCE_PRICE);
    expect(lim(BUY("AAPL", 5), 100), RISK_OK); /* the limit price is its notional */
    set(NULL, "max_order_notional", 0);
    set(NULL, "max_gross_exposure", 1e9);
    expect(BUY("AAPL", 6), RISK_NO_REFERENCE_PRICE);
}

static void test_price_band(void **state)
{
    set(NULL, "price_band_pct", 5); /* reference 100.00 */
    expect(lim(BUY("AAPL", 1), 105), RISK_OK);
    expect(lim(BUY("AAPL", 2), 105.01), RISK_PRICE_BAND);
    const cJSON *d = last_ev(EV_RISK_CHECK);
    assert_string_equal(jstr(d, "limit"), "price_band_pct");
    assert_true(fabs(jnum(d, "value") - 5.01) < 1e-9);
    assert_true(jnum(d, "max") == 5);
    expect(lim(SELL("AAPL", 3), 95), RISK_OK);
    expect(lim(SELL("AAPL", 4), 94.99), RISK_PRICE_BAND);
    expect(stp(BUY("AAPL", 5), 105), RISK_OK);
    expect(stp(BUY("AAPL", 6), 105.01), RISK_PRICE_BAND);
    assert_non_null(strstr(msg, "stop price 105.01"));
    expect(stp(lim(BUY("AAPL", 7), 100), 94.99), RISK_PRICE_BAND);
    /* take-profit and stop-loss prices are not banded */
    struct order_request q = lim(BUY("AAPL", 8), 100);
    q.has |= REQ_TAKE_PROFIT;
    q.take_profit = 150;
    expect(q, RISK_OK);
    /* bands that are not exact in binary are exact here */
    set(NULL, "price_band_pct", 0.1);
    expect(lim(BUY("AAPL", 9), 100.10), RISK_OK);
    expect(lim(BUY("AAPL", 10), 100.11), RISK_PRICE_BAND);
    set(NULL, "price_band_pct", 0.3);
    expect(lim(SELL("AAPL", 11), 99.70), RISK_OK);
    expect(lim(SELL("AAPL", 12), 99.69), RISK_PRICE_BAND);
    /* the strategy's set */
    set(NULL, "price_band_pct", 0);
    set("s1", "price_band_pct", 1);
    expect(lim(BUY("AAPL", 13), 101.01), RISK_PRICE_BAND);
    expect(lim(req("s2", "AAPL", 1, 13), 101.01), RISK_OK);
}

static void test_notional(void **state)
{
    set(NULL, "max_order_notional", 10000);
    expect(lim(BUY("AAPL", 100), 100), RISK_OK);
    expect(lim(BUY("AAPL", 100), 100.01), RISK_MAX_ORDER_NOTIONAL);
    assert_string_equal(msg, "notional 10001 exceeds max_order_notional 10000 (global)");
    assert_true(jnum(last_ev(EV_RISK_CHECK), "value") == 10001);
    /* market: at the reference (100.00) */
    expect(BUY("AAPL", 100), RISK_OK);
    expect(SELL("AAPL", 101), RISK_MAX_ORDER_NOTIONAL);
    /* stop without a limit: the larger of the reference and the stop */
    expect(stp(BUY("AAPL", 90), 111.11), RISK_OK);
    expect(stp(BUY("AAPL", 91), 110), RISK_MAX_ORDER_NOTIONAL);
    expect(stp(SELL("AAPL", 100), 90), RISK_OK);
    expect(stp(SELL("AAPL", 101), 90), RISK_MAX_ORDER_NOTIONAL);
    /* rounding to money units (6 decimals), half away from zero: FRAC has 4 price and
     * 3 quantity decimals; 0.0005 * 0.001 = 0.0000005 -> 0.000001 */
    set(NULL, "max_order_notional", 0.000001);
    expect(lim(BUY("FRAC", 0.001), 0.0005), RISK_OK);
    expect(lim(BUY("FRAC", 0.001), 0.0015), RISK_MAX_ORDER_NOTIONAL);
    /* products far beyond int64 money units saturate and fail, never wrap */
    set(NULL, "max_order_notional", 1e12);
    expect(lim(BUY("BIG", 1e3), 1e9), RISK_OK);
    expect(lim(BUY("BIG", 1e3 + 1), 1e9), RISK_MAX_ORDER_NOTIONAL);
    set(NULL, "max_order_notional", 1e300); /* beyond int64 money: saturated is over it */
    expect(lim(BUY("BIG", 1e9), 1e9), RISK_MAX_ORDER_NOTIONAL);
    expect(lim(BUY("BIG", 4e18), 9e18), RISK_MAX_ORDER_NOTIONAL);
}

static void test_position(void **state)
{
    set(NULL, "max_position", 100);
    X(NULL)->position = 50;
    X(NULL)->working_buy = 30;
    expect(BUY("AAPL", 20), RISK_OK);
    expect(BUY("AAPL", 21), RISK_MAX_POSITION);
    assert_true(jnum(last_ev(EV_RISK_CHECK), "value") == 101);
    /* sells: 50 - working sells - qty, in absolute value */
    X(NULL)->working_sell = 100;
    expect(SELL("AAPL", 50), RISK_OK);           /* -100 */
    expect(SELL("AAPL", 51), RISK_MAX_POSITION); /* -101 */
    /* an order that reduces always passes, even when what is left is over the limit */
    X(NULL)->position = 500;
    X(NULL)->working_sell = 0;
    expect(SELL("AAPL", 100), RISK_OK); /* 400 left */
    expect(SELL("AAPL", 500), RISK_OK);
    expect(BUY("AAPL", 1), RISK_MAX_POSITION);
    X(NULL)->position = -150;
    X(NULL)->working_buy = 0;
    expect(BUY("AAPL", 10), RISK_OK); /* -140 left */
    expect(BUY("AAPL", 150), RISK_OK);
    expect(SELL("AAPL", 1), RISK_MAX_POSITION);
    expect(BUY("AAPL", 250), RISK_OK); /* through zero to +100: not reducing, at the limit */
    expect(BUY("AAPL", 251), RISK_MAX_POSITION);
    /* the strategy's set judges the strategy's own position */
    X(NULL)->position = 0;
    set("s1", "max_position", 10);
    X("s1")->position = 5;
    expect(BUY("AAPL", 5), RISK_OK);
    expect(BUY("AAPL", 6), RISK_MAX_POSITION);
    assert_string_equal(jstr(last_ev(EV_RISK_CHECK), "scope"), "strategy");
    expect(req("s2", "AAPL", 1, 6), RISK_OK);
    /* huge working quantities do not overflow */
    X(NULL)->working_buy = INT64_MAX;
    expect(req("s2", "AAPL", 1, 1), RISK_MAX_POSITION);
}

static void test_gross(void **state)
{
    set(NULL, "max_gross_exposure", 100000);
    X(NULL)->gross_exposure = INT64_C(90000000000); /* 90000.000000 */
    expect(lim(BUY("AAPL", 100), 100), RISK_OK);
    expect(lim(BUY("AAPL", 100), 100.01), RISK_MAX_GROSS_EXPOSURE);
    assert_true(jnum(last_ev(EV_RISK_CHECK), "value") == 100001);
    expect(BUY("AAPL", 100), RISK_OK); /* market: reference 100.00 */
    expect(BUY("AAPL", 101), RISK_MAX_GROSS_EXPOSURE);
    /* an order that reduces passes */
    X(NULL)->gross_exposure = INT64_C(200000000000);
    X(NULL)->position = 300;
    expect(lim(SELL("AAPL", 300), 100), RISK_OK);
    expect(lim(SELL("AAPL", 301), 100), RISK_MAX_GROSS_EXPOSURE);
    /* per strategy */
    set(NULL, "max_gross_exposure", 0);
    set("s1", "max_gross_exposure", 1000);
    X("s1")->gross_exposure = INT64_C(500000000);
    expect(lim(BUY("AAPL", 5), 100), RISK_OK);
    expect(lim(BUY("AAPL", 6), 100), RISK_MAX_GROSS_EXPOSURE);
    expect(lim(req("s2", "AAPL", 1, 6), 100), RISK_OK);
}

static void test_working(void **state)
{
    set(NULL, "max_working_orders", 3);
    X(NULL)->working_orders = 2;
    expect(BUY("AAPL", 1), RISK_OK);
    X(NULL)->working_orders = 3;
    expect(BUY("AAPL", 1), RISK_MAX_WORKING_ORDERS);
    assert_true(jnum(last_ev(EV_RISK_CHECK), "value") == 4);
    X(NULL)->position = 10;
    expect(SELL("AAPL", 1), RISK_MAX_WORKING_ORDERS); /* reducing or not */
    X(NULL)->working_orders = 0;
    set("s1", "max_working_orders", 1);
    X("s1")->working_orders = 1;
    expect(BUY("AAPL", 1), RISK_MAX_WORKING_ORDERS);
    expect(req("s2", "AAPL", 1, 1), RISK_OK);
}

static void test_self_cross(void **state)
{
    X(NULL)->best_own_ask = 10100; /* 101.00 */
    X(NULL)->best_own_bid = 9900;  /* 99.00 */
    expect(lim(BUY("AAPL", 1), 100.99), RISK_OK);
    expect(lim(BUY("AAPL", 2), 101), RISK_SELF_CROSS);
    const cJSON *d = last_ev(EV_RISK_CHECK);
    assert_string_equal(jstr(d, "limit"), "self_cross");
    assert_true(jnum(d, "value") == 101);
    expect(BUY("AAPL", 3), RISK_SELF_CROSS);           /* market */
    expect(stp(BUY("AAPL", 3), 100), RISK_SELF_CROSS); /* stop: a market order later */
    expect(lim(SELL("AAPL", 1), 99.01), RISK_OK);
    expect(lim(SELL("AAPL", 2), 99), RISK_SELF_CROSS);
    expect(SELL("AAPL", 3), RISK_SELF_CROSS);
    assert_non_null(strstr(msg, "sell would cross our own resting buy at 99"));
    /* nothing resting on the other side */
    X(NULL)->best_own_bid = 0;
    expect(SELL("AAPL", 4), RISK_OK);
    /* off */
    set(NULL, "self_cross", 0);
    expect(BUY("AAPL", 4), RISK_OK);
    /* a strategy's set with its own resting orders */
    set("s1", "self_cross", 1);
    X("s1")->best_own_bid = 9900;
    expect(lim(SELL("AAPL", 5), 98), RISK_SELF_CROSS);
    expect(lim(req("s2", "AAPL", -1, 5), 98), RISK_OK);
}

static void test_duplicate(void **state)
{
    struct order_request q = lim(BUY("AAPL", 10), 100);
    expect(q, RISK_OK);
    expect(q, RISK_OK); /* off by default */
    set(NULL, "duplicate_window_s", 2);
    expect(q, RISK_OK);
    expect(q, RISK_DUPLICATE_ORDER);
    assert_string_equal(jstr(last_ev(EV_RISK_CHECK), "limit"), "duplicate_window_s");
    advance(2 * SEC - 1);
    expect(q, RISK_DUPLICATE_ORDER); /* denials do not restart the window */
    advance(1);
    expect(q, RISK_OK);
    /* anything different is not a duplicate */
    struct order_request v[6];
    for (int i = 0; i < 6; i++) v[i] = q;
    v[0].qty = 11;
    v[1].limit = 100.01;
    v[2].side = -1;
    v[3].strategy = "s2";
    v[4].symbol = "XYZ";
    v[5] = stp(v[5], 101);
    for (int i = 0; i < 6; i++) expect(v[i], RISK_OK);
    for (int i = 0; i < 6; i++) expect(v[i], RISK_DUPLICATE_ORDER);
    /* many other orders in between do not make it forget a recent one */
    for (int i = 0; i < 200; i++) expect(lim(BUY("AAPL", 100 + i), 100), RISK_OK);
    expect(v[0], RISK_DUPLICATE_ORDER);
    /* a strategy's longer window */
    advance(10 * SEC);
    set("s1", "duplicate_window_s", 10);
    expect(q, RISK_OK);
    advance(5 * SEC);
    expect(q, RISK_DUPLICATE_ORDER);
    assert_string_equal(jstr(last_ev(EV_RISK_CHECK), "scope"), "strategy");
}

static void test_order_rate(void **state)
{
    set(NULL, "max_orders_per_s", 5);
    for (int i = 0; i < 5; i++) expect(BUY("AAPL", 1), RISK_OK);
    expect(BUY("AAPL", 1), RISK_ORDER_RATE);
    assert_string_equal(jstr(last_ev(EV_RISK_CHECK), "limit"), "max_orders_per_s");
    advance(200000 - 1);
    expect(BUY("AAPL", 1), RISK_ORDER_RATE);
    advance(1); /* one token after 0.2 s */
    expect(BUY("AAPL", 1), RISK_OK);
    expect(BUY("AAPL", 1), RISK_ORDER_RATE);
    /* the burst is one second's worth */
    advance(10 * SEC);
    for (int i = 0; i < 5; i++) expect(BUY("AAPL", 1), RISK_OK);
    expect(BUY("AAPL", 1), RISK_ORDER_RATE);
    /* an order denied by another check takes no token */
    advance(SEC);
    set(NULL, "max_order_qty", 1);
    for (int i = 0; i < 10; i++) expect(BUY("AAPL", 2), RISK_MAX_ORDER_QTY);
    for (int i = 0; i < 5; i++) expect(BUY("AAPL", 1), RISK_OK);
    /* a rate below one: a burst of one */
    set(NULL, "max_orders_per_s", 0.5);
    expect(BUY("AAPL", 1), RISK_OK);
    advance(2 * SEC - 1);
    expect(BUY("AAPL", 1), RISK_ORDER_RATE);
    advance(1);
    expect(BUY("AAPL", 1), RISK_OK);
    /* per strategy and global */
    set(NULL, "max_orders_per_s", 10);
    set("s1", "max_orders_per_s", 2);
    advance(10 * SEC);
    expect(BUY("AAPL", 1), RISK_OK);
    expect(BUY("AAPL", 1), RISK_OK);
    expect(BUY("AAPL", 1), RISK_ORDER_RATE);
    assert_string_equal(jstr(last_ev(EV_RISK_CHECK), "scope"), "strategy");
    for (int i = 0; i < 8; i++) expect(req("s2", "AAPL", 1, 1), RISK_OK);
    expect(req("s2", "AAPL", 1, 1), RISK_ORDER_RATE);
    assert_string_equal(jstr(last_ev(EV_RISK_CHECK), "scope"), "global");
}

static void test_cancel_rate(void **state)
{
    for (int i = 0; i < 100; i++) assert_int_equal(risk_check_cancel(R, "s1"), RISK_OK);
    set(NULL, "max_cancels_per_s", 2);
    assert_int_equal(risk_check_cancel(R, "s1"), RISK_OK);
    assert_int_equal(risk_check_cancel(R, "s2"), RISK_OK);
    assert_int_equal(risk_check_cancel(R, "s1"), RISK_CANCEL_RATE);
    const cJSON *d = last_ev(EV_RISK_CHECK);
    assert_string_equal(jstr(d, "reason"), "CANCEL_RATE");
    assert_string_equal(jstr(d, "strategy"), "s1");
    assert_string_equal(jstr(d, "limit"), "max_cancels_per_s");
    assert_true(jnull(d, "symbol"));
    assert_true(jnull(d, "side"));
    assert_int_equal(risk_denials(R, RISK_CANCEL_RATE), 1);
    advance(SEC / 2 - 1);
    assert_int_equal(risk_check_cancel(R, "s1"), RISK_CANCEL_RATE);
    advance(1);
    assert_int_equal(risk_check_cancel(R, "s1"), RISK_OK);
    /* new orders and cancels have separate buckets */
    expect(BUY("AAPL", 1), RISK_OK);
    /* per strategy */
    set(NULL, "max_cancels_per_s", 0);
    set("s1", "max_cancels_per_s", 1);
    advance(SEC);
    assert_int_equal(risk_check_cancel(R, "s1"), RISK_OK);
    assert_int_equal(risk_check_cancel(R, "s1"), RISK_CANCEL_RATE);
    assert_int_equal(risk_check_cancel(R, "s2"), RISK_OK);
}

static void test_kill_switch(void **state)
{
    assert_int_equal(risk_killed(R), 0);
    risk_kill(R, "operator test");
    assert_int_equal(risk_killed(R), 1);
    const cJSON *d = last_ev(EV_KILL_SWITCH);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(d, "active")));
    assert_string_equal(jstr(d, "reason"), "operator test");
    assert_non_null(strstr(last_log, "kill switch engaged"));
    expect(lim(BUY("AAPL", 1), 100), RISK_KILL_SWITCH);
    X("s1")->position = 10;
    struct order_request q = SELL("AAPL", 10);
    q.reduce_only = 1;
    expect(q, RISK_KILL_SWITCH);
    expect(BUY("NOPE", NAN), RISK_KILL_SWITCH); /* the first check */
    assert_int_equal(risk_check_cancel(R, "s1"), RISK_OK);
    /* latched: killing again publishes nothing new */
    risk_kill(R, "again");
    assert_int_equal(count_ev(EV_KILL_SWITCH), 1);
    assert_int_equal(risk_kill_poll(R), 0);
    advance(3600 * SEC);
    expect(BUY("AAPL", 1), RISK_KILL_SWITCH);
    risk_rearm(R, "alice");
    assert_int_equal(risk_killed(R), 0);
    d = last_ev(EV_KILL_SWITCH);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(d, "active")));
    assert_string_equal(jstr(d, "by"), "alice");
    assert_non_null(strstr(last_log, "re-armed"));
    expect(BUY("AAPL", 1), RISK_OK);
    risk_rearm(R, "bob"); /* not killed: nothing */
    assert_int_equal(count_ev(EV_KILL_SWITCH), 2);
    assert_int_equal(risk_denials(R, RISK_KILL_SWITCH), 4);
}

static void on_sigusr1(int sig)
{
    risk_kill_async(R);
}

static void test_kill_async(void **state)
{
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_sigusr1;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
    assert_int_equal(raise(SIGUSR1), 0);
    sigaction(SIGUSR1, &old, NULL);

    /* honoured at once, before the loop polls */
    assert_int_equal(risk_killed(R), 1);
    expect(BUY("AAPL", 1), RISK_KILL_SWITCH);
    assert_int_equal(count_ev(EV_KILL_SWITCH), 0);
    assert_int_equal(risk_kill_poll(R), 1);
    assert_int_equal(count_ev(EV_KILL_SWITCH), 1);
    assert_string_equal(jstr(last_ev(EV_KILL_SWITCH), "reason"), "async");
    assert_int_equal(risk_kill_poll(R), 0); /* once */
    assert_int_equal(risk_killed(R), 1);    /* latched */
    expect(BUY("AAPL", 1), RISK_KILL_SWITCH);
    assert_int_equal(risk_check_cancel(R, "s1"), RISK_OK);
    risk_rearm(R, "ops");
    expect(BUY("AAPL", 1), RISK_OK);

    /* an async request while latched still polls once; the event is not repeated */
    risk_kill(R, "sync");
    risk_kill_async(R);
    assert_int_equal(risk_kill_poll(R), 1);
    assert_int_equal(count_ev(EV_KILL_SWITCH), 3);
    /* a request not yet polled survives a re-arm */
    risk_kill_async(R);
    risk_rearm(R, "ops");
    assert_int_equal(risk_killed(R), 1);
    expect(BUY("AAPL", 1), RISK_KILL_SWITCH);
    assert_int_equal(risk_kill_poll(R), 1);
    risk_rearm(R, "ops");
    assert_int_equal(risk_killed(R), 0);
}

static void test_check_event(void **state)
{
    set(NULL, "max_order_qty", 1000);
    uint64_t before = bus_last_seq(bus);
    expect(lim(req("s2", "AAPL", -1, 5000), 190.25), RISK_MAX_ORDER_QTY);
    assert_int_equal(bus_last_seq(bus), before + 1);
    assert_int_equal(nev, 1);
    assert_int_equal(evs[0].type, EV_RISK_CHECK);
    const cJSON *d = evs[0].data;
    assert_string_equal(jstr(d, "strategy"), "s2");
    assert_string_equal(jstr(d, "symbol"), "AAPL");
    assert_string_equal(jstr(d, "side"), "sell");
    assert_true(jnum(d, "qty") == 5000);
    assert_true(jnum(d, "price") == 190.25);
    assert_string_equal(jstr(d, "reason"), "MAX_ORDER_QTY");
    assert_string_equal(jstr(d, "message"), "qty 5000 exceeds max_order_qty 1000 (global)");
    assert_string_equal(jstr(d, "limit"), "max_order_qty");
    assert_true(jnum(d, "value") == 5000);
    assert_true(jnum(d, "max") == 1000);
    assert_string_equal(jstr(d, "scope"), "global");
    assert_string_equal(msg, "qty 5000 exceeds max_order_qty 1000 (global)");
    assert_int_equal(risk_denials(R, RISK_MAX_ORDER_QTY), 1);
    /* a market order has no price; a stop order reports its stop */
    expect(BUY("AAPL", 5000), RISK_MAX_ORDER_QTY);
    assert_true(jnull(last_ev(EV_RISK_CHECK), "price"));
    assert_string_equal(jstr(last_ev(EV_RISK_CHECK), "side"), "buy");
    expect(stp(BUY("AAPL", 5000), 99.5), RISK_MAX_ORDER_QTY);
    assert_true(jnum(last_ev(EV_RISK_CHECK), "price") == 99.5);
    assert_int_equal(risk_denials(R, RISK_MAX_ORDER_QTY), 3);
    /* msg may be NULL or short */
    struct order_request q = BUY("AAPL", 5000);
    assert_int_equal(risk_check_new(R, &q, NULL, NULL, 0), RISK_MAX_ORDER_QTY);
    char small[8];
    assert_int_equal(risk_check_new(R, &q, NULL, small, sizeof small), RISK_MAX_ORDER_QTY);
    assert_string_equal(small, "qty 500");
}

/* The documented order: an order that fails every check, fixed one check at a time. */
static void test_check_order(void **state)
{
    struct risk_config cfg;
    risk_config_defaults(&cfg);
    char *restricted[] = {"LOT"};
    cfg.restricted = restricted;
    cfg.nrestricted = 1;
    start(&cfg);
    set(NULL, "stale_feed_s", 1);
    set(NULL, "max_order_qty", 100);
    set(NULL, "price_band_pct", 1);
    set(NULL, "max_order_notional", 10000);
    set(NULL, "max_position", 100);
    set(NULL, "max_gross_exposure", 1000);
    set(NULL, "max_working_orders", 1);
    set(NULL, "duplicate_window_s", 10);
    set(NULL, "max_orders_per_s", 1);
    risk_kill(R, "test");
    risk_set_state(R, NULL, TS_HALTED, "test");
    F.window = 0;
    F.last_data = 0;
    F.ref_missing = 1;
    X(NULL)->working_orders = 1;
    X(NULL)->best_own_ask = 10100;

    struct order_request q = lim(BUY("NOPE", NAN), NAN);
    expect(q, RISK_KILL_SWITCH);
    risk_rearm(R, "test");
    expect(q, RISK_UNKNOWN_SYMBOL);
    q.symbol = "LOT";
    expect(q, RISK_BAD_QUANTITY);
    q.qty = 150;
    expect(q, RISK_OFF_LOT);
    q.qty = 200;
    expect(q, RISK_BAD_PRICE);
    q.limit = 102.03;
    expect(q, RISK_OFF_TICK);
    q.limit = 102.05;
    expect(q, RISK_RESTRICTED_SYMBOL);
    q.symbol = "AAPL";
    q.limit = 102;
    expect(q, RISK_HALTED);
    risk_set_state(R, NULL, TS_REDUCING, "test");
    expect(q, RISK_REDUCING_ONLY);
    risk_set_state(R, NULL, TS_ACTIVE, "test");
    expect(q, RISK_OUTSIDE_WINDOW);
    F.window = 1;
    expect(q, RISK_STALE_FEED);
    F.last_data = T0;
    expect(q, RISK_MAX_ORDER_QTY);
    set(NULL, "max_order_qty", 0);
    expect(q, RISK_NO_REFERENCE_PRICE);
    F.ref_missing = 0;
    expect(q, RISK_PRICE_BAND);
    set(NULL, "price_band_pct", 5);
    expect(q, RISK_MAX_ORDER_NOTIONAL);
    set(NULL, "max_order_notional", 0);
    expect(q, RISK_MAX_POSITION);
    set(NULL, "max_position", 0);
    expect(q, RISK_MAX_GROSS_EXPOSURE);
    set(NULL, "max_gross_exposure", 0);
    expect(q, RISK_MAX_WORKING_ORDERS);
    set(NULL, "max_working_orders", 0);
    expect(q, RISK_SELF_CROSS);
    X(NULL)->best_own_ask = 0;
    expect(q, RISK_OK);
    expect(q, RISK_DUPLICATE_ORDER);
    q.qty = 201;
    expect(q, RISK_ORDER_RATE);
    assert_int_equal(count_ev(EV_RISK_CHECK), 21);
}

static void test_strategy_sets_from_config(void **state)
{
    struct risk_config cfg;
    risk_config_defaults(&cfg);
    struct risk_limits per[1] = {{.max_order_qty = 10, .max_position = 20}};
    char *ids[] = {"s1"};
    cfg.per = per;
    cfg.ids = ids;
    cfg.nper = 1;
    cfg.global.max_order_qty = 100;
    start(&cfg);
    expect(BUY("AAPL", 10), RISK_OK);
    expect(BUY("AAPL", 11), RISK_MAX_ORDER_QTY);
    assert_string_equal(msg, "qty 11 exceeds max_order_qty 10 (strategy s1)");
    expect(req("s2", "AAPL", 1, 100), RISK_OK);
    expect(req("s2", "AAPL", 1, 101), RISK_MAX_ORDER_QTY);
    expect(req("manual", "AAPL", 1, 101), RISK_MAX_ORDER_QTY);
    /* the strategy's position for its set, the totals for the global one */
    X("s1")->position = 15;
    X(NULL)->position = 1000000;
    expect(BUY("AAPL", 5), RISK_OK);
    expect(BUY("AAPL", 6), RISK_MAX_POSITION);
    set(NULL, "max_position", 1000005);
    expect(req("s2", "AAPL", 1, 5), RISK_OK);
    expect(req("s2", "AAPL", 1, 6), RISK_MAX_POSITION);
    assert_string_equal(jstr(last_ev(EV_RISK_CHECK), "scope"), "global");
    /* both apply: the stricter one denies */
    expect(BUY("AAPL", 6), RISK_MAX_POSITION);
}

static void test_loss_states(void **state)
{
    set(NULL, "daily_loss_limit", 1000);
    F.acct[0].day_pnl = -999999999; /* -999.999999 */
    risk_update(R);
    assert_int_equal(risk_state(R, NULL), TS_ACTIVE);
    F.acct[0].day_pnl = -1000000000;
    risk_update(R);
    assert_int_equal(risk_state(R, NULL), TS_REDUCING);
    assert_non_null(strstr(last_log, "trading state changed"));
    assert_non_null(strstr(last_log, "from=ACTIVE to=REDUCING reason=daily_loss_limit"));
    const cJSON *d = last_state_alert();
    assert_string_equal(jstr(d, "severity"), "HIGH");
    assert_string_equal(jstr(d, "state"), "REDUCING");
    assert_string_equal(jstr(d, "from"), "ACTIVE");
    assert_string_equal(jstr(d, "limit"), "daily_loss_limit");
    assert_true(jnull(d, "strategy"));
    /* halted at limit * 1.5 */
    F.acct[0].day_pnl = -1499999999;
    risk_update(R);
    assert_int_equal(risk_state(R, NULL), TS_REDUCING);
    F.acct[0].day_pnl = -1500000000;
    risk_update(R);
    assert_int_equal(risk_state(R, NULL), TS_HALTED);
    d = last_state_alert();
    assert_string_equal(jstr(d, "severity"), "CRITICAL");
    assert_string_equal(jstr(d, "state"), "HALTED");
    /* never falls by itself */
    F.acct[0].day_pnl = 0;
    risk_update(R);
    assert_int_equal(risk_state(R, NULL), TS_HALTED);
    /* a new day clears a daily-loss state */
    risk_new_day(R);
    assert_int_equal(risk_state(R, NULL), TS_ACTIVE);
    d = last_state_alert();
    assert_string_equal(jstr(d, "severity"), "LOW");
    assert_string_equal(jstr(d, "state"), "ACTIVE");
    /* drawdown: a new day does not clear it */
    set(NULL, "max_drawdown", 500);
    F.acct[0].drawdown = 499999999;
    risk_update(R);
    assert_int_equal(risk_state(R, NULL), TS_ACTIVE);
    F.acct[0].drawdown = 500000000;
    risk_update(R);
    assert_int_equal(risk_state(R, NULL), TS_REDUCING);
    risk_new_day(R);
    assert_int_equal(risk_state(R, NULL), TS_REDUCING);
    /* the operator's override holds until the next threshold */
    risk_set_state(R, NULL, TS_ACTIVE, "reviewed");
    risk_update(R);
    assert_int_equal(risk_state(R, NULL), TS_ACTIVE);
    F.acct[0].drawdown = 750000000;
    risk_update(R);
    assert_int_equal(risk_state(R, NULL), TS_HALTED);
    /* an operator's HALTED survives a new day */
    risk_set_state(R, NULL, TS_HALTED, "manual");
    risk_new_day(R);
    assert_int_equal(risk_state(R, NULL), TS_HALTED);
}

static void test_loss_states_per_strategy(void **state)
{
    set("s1", "daily_loss_limit", 100);
    F.acct[1].day_pnl = -100000000;
    F.acct[0].day_pnl = -100000000;
    risk_update(R);
    assert_int_equal(risk_state(R, "s1"), TS_REDUCING);
    assert_int_equal(risk_state(R, NULL), TS_ACTIVE);
    assert_int_equal(risk_state(R, "s2"), TS_ACTIVE);
    assert_string_equal(jstr(last_state_alert(), "strategy"), "s1");
    assert_non_null(strstr(last_log, "strategy=s1 from=ACTIVE to=REDUCING"));
    expect(BUY("AAPL", 1), RISK_REDUCING_ONLY);
    expect(req("s2", "AAPL", 1, 1), RISK_OK);
    /* the global halt ratio applies to strategies */
    F.acct[1].day_pnl = -150000000;
    risk_update(R);
    assert_int_equal(risk_state(R, "s1"), TS_HALTED);
    /* halt_ratio 0: never halts */
    set(NULL, "halt_ratio", 0);
    set("s2", "daily_loss_limit", 100);
    F.acct[2].day_pnl = -1000000000000;
    risk_update(R);
    assert_int_equal(risk_state(R, "s2"), TS_REDUCING);
}

static void test_utilization_alerts(void **state)
{
    set(NULL, "max_working_orders", 10);
    X(NULL)->working_orders = 4;
    risk_update(R);
    assert_int_equal(count_ev(EV_RISK_ALERT), 0);
    X(NULL)->working_orders = 5;
    risk_update(R);
    const cJSON *d = last_ev(EV_RISK_ALERT);
    assert_string_equal(jstr(d, "severity"), "LOW");
    assert_string_equal(jstr(d, "limit"), "max_working_orders");
    assert_true(jnum(d, "utilization") == 0.5);
    assert_true(jnum(d, "value") == 5);
    assert_true(jnum(d, "max") == 10);
    assert_true(jnull(d, "strategy"));
    risk_update(R); /* no change: no alert */
    assert_int_equal(count_ev(EV_RISK_ALERT), 1);
    X(NULL)->working_orders = 10; /* crosses .75, .9 and 1.0: one alert, the highest */
    risk_update(R);
    assert_int_equal(count_ev(EV_RISK_ALERT), 2);
    assert_string_equal(jstr(last_ev(EV_RISK_ALERT), "severity"), "CRITICAL");
    X(NULL)->working_orders = 6; /* falls below .75: re-armed */
    risk_update(R);
    assert_int_equal(count_ev(EV_RISK_ALERT), 2);
    X(NULL)->working_orders = 8;
    risk_update(R);
    assert_int_equal(count_ev(EV_RISK_ALERT), 3);
    assert_string_equal(jstr(last_ev(EV_RISK_ALERT), "severity"), "MEDIUM");
    X(NULL)->working_orders = 0;
    risk_update(R);
    X(NULL)->working_orders = 5;
    risk_update(R);
    assert_int_equal(count_ev(EV_RISK_ALERT), 4);

    /* position: the symbol of the account's last order; daily loss; gross; per strategy */
    set("s1", "max_position", 100);
    expect(BUY("XYZ", 1), RISK_OK);
    X("s1")->position = 8000; /* XYZ has 2 qty decimals: 80.00 */
    X("s1")->working_buy = 1000;
    risk_update(R);
    d = last_ev(EV_RISK_ALERT);
    assert_string_equal(jstr(d, "severity"), "HIGH");
    assert_string_equal(jstr(d, "limit"), "max_position");
    assert_string_equal(jstr(d, "strategy"), "s1");
    set(NULL, "daily_loss_limit", 1000);
    F.acct[0].day_pnl = -750000000;
    risk_update(R);
    d = last_ev(EV_RISK_ALERT);
    assert_string_equal(jstr(d, "limit"), "daily_loss_limit");
    assert_string_equal(jstr(d, "severity"), "MEDIUM");
    set(NULL, "max_gross_exposure", 1000);
    X(NULL)->gross_exposure = 950000000;
    risk_update(R);
    d = last_ev(EV_RISK_ALERT);
    assert_string_equal(jstr(d, "limit"), "max_gross_exposure");
    assert_string_equal(jstr(d, "severity"), "HIGH");
    set(NULL, "max_drawdown", 1000);
    F.acct[0].drawdown = 500000000;
    risk_update(R);
    assert_string_equal(jstr(last_ev(EV_RISK_ALERT), "limit"), "max_drawdown");

    /* thresholds from the config; 0 disables one */
    struct risk_config cfg;
    risk_config_defaults(&cfg);
    cfg.alert_at[SEV_LOW] = 0;
    cfg.global.max_working_orders = 10;
    start(&cfg);
    clear_events();
    X(NULL)->working_orders = 7;
    risk_update(R);
    assert_int_equal(count_ev(EV_RISK_ALERT), 0);
}

static void test_set_limit(void **state)
{
    struct err e;
    assert_int_equal(risk_set_limit(R, NULL, "max_fun", 1, &e), -1);
    assert_non_null(strstr(e.msg, "unknown limit \"max_fun\""));
    assert_int_equal(risk_set_limit(R, NULL, NULL, 1, &e), -1);
    const double bad[] = {NAN, INFINITY, -INFINITY, -1, -1e-300};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        assert_int_equal(risk_set_limit(R, NULL, "max_order_qty", bad[i], &e), -1);
        assert_non_null(strstr(e.msg, "max_order_qty must be a finite number >= 0"));
        assert_int_equal(risk_set_limit(R, "s1", "max_position", bad[i], &e), -1);
    }
    assert_int_equal(risk_set_limit(R, NULL, "self_cross", 2, &e), -1);
    assert_int_equal(risk_set_limit(R, NULL, "self_cross", 0.5, &e), -1);
    assert_int_equal(risk_set_limit(R, "s1", "halt_ratio", 2, &e), -1);
    assert_non_null(strstr(e.msg, "global only"));
    assert_int_equal(risk_set_limit(R, NULL, "halt_ratio", 0.5, &e), -1);
    assert_int_equal(risk_set_limit(R, NULL, "price_band_pct", 0.1234567891, &e), -1);
    assert_int_equal(risk_set_limit(R, "", "max_position", 1, &e), -1);
    /* a refused value changes nothing and creates no account */
    assert_int_equal(risk_state(R, "s1"), TS_ACTIVE);
    cJSON *j = risk_limits_json(R);
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "strategies"), "s1"));
    assert_true(jnum(cJSON_GetObjectItem(j, "global"), "max_order_qty") == 0);
    cJSON_Delete(j);

    assert_int_equal(risk_set_limit(R, NULL, "max_order_qty", 500, &e), 0);
    assert_non_null(strstr(last_log, "limit changed"));
    assert_non_null(strstr(last_log, "name=max_order_qty from=0 to=500"));
    assert_int_equal(risk_set_limit(R, "s9", "max_position", 7, &e), 0);
    assert_int_equal(risk_set_limit(R, NULL, "halt_ratio", 1, &e), 0);
    assert_int_equal(risk_set_limit(R, NULL, "price_band_pct", 0.123456789, &e), 0);
    j = risk_limits_json(R);
    const cJSON *s9 = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "strategies"), "s9");
    assert_non_null(s9);
    assert_true(jnum(s9, "max_position") == 7);
    assert_true(jnum(s9, "self_cross") == 0); /* a new set is all zeros */
    assert_true(jnum(s9, "reference_max_age_s") == 0);
    assert_true(jnum(cJSON_GetObjectItem(j, "global"), "max_order_qty") == 500);
    assert_true(jnum(cJSON_GetObjectItem(j, "global"), "self_cross") == 1);
    cJSON_Delete(j);
    expect(BUY("AAPL", 501), RISK_MAX_ORDER_QTY);
}

static void test_config_check(void **state)
{
    struct risk_config cfg;
    struct err e;
    risk_config_defaults(&cfg);
    assert_int_equal(risk_config_check(&cfg, &e), 0);
    assert_true(cfg.global.reference_max_age_s == 5);
    assert_true(cfg.global.halt_ratio == 1.5);
    assert_int_equal(cfg.global.self_cross, 1);
    assert_true(cfg.alert_at[SEV_HIGH] == 0.9);
    cfg.global.max_drawdown = NAN;
    assert_int_equal(risk_config_check(&cfg, &e), -1);
    assert_non_null(strstr(e.msg, "max_drawdown"));
    risk_config_defaults(&cfg);
    struct risk_limits per[2] = {{0}, {.max_position = -1}};
    char *ids[] = {"a", "b"};
    cfg.per = per;
    cfg.ids = ids;
    cfg.nper = 2;
    assert_int_equal(risk_config_check(&cfg, &e), -1);
    assert_non_null(strstr(e.msg, "strategy b"));
    per[1].max_position = 1;
    ids[1] = "a";
    assert_int_equal(risk_config_check(&cfg, &e), -1);
    assert_non_null(strstr(e.msg, "two limit sets"));
    ids[1] = "b";
    per[1].halt_ratio = 2;
    assert_int_equal(risk_config_check(&cfg, &e), -1);
    per[1].halt_ratio = 0;
    assert_int_equal(risk_config_check(&cfg, &e), 0);
    cfg.alert_at[SEV_LOW] = -0.5;
    assert_int_equal(risk_config_check(&cfg, &e), -1);
    cfg.alert_at[SEV_LOW] = 0.5;
    cfg.nrestricted = RISK_RESTRICTED_MAX + 1;
    assert_int_equal(risk_config_check(&cfg, &e), -1);

    /* risk_config_free frees what a config loader allocated */
    struct risk_config heap;
    risk_config_defaults(&heap);
    heap.nper = 1;
    heap.per = xcalloc(1, sizeof *heap.per);
    heap.ids = xcalloc(1, sizeof *heap.ids);
    heap.ids[0] = xstrdup("s1");
    heap.nrestricted = 1;
    heap.restricted = xcalloc(1, sizeof *heap.restricted);
    heap.restricted[0] = xstrdup("RST");
    risk_config_free(&heap);
    assert_int_equal(heap.nper, 0);
    assert_null(heap.ids);
    risk_config_free(&heap);
}

static void test_limits_json(void **state)
{
    struct risk_config cfg;
    risk_config_defaults(&cfg);
    char *restricted[] = {"RST"};
    cfg.restricted = restricted;
    cfg.nrestricted = 1;
    start(&cfg);
    set("s1", "max_working_orders", 4);
    X("s1")->working_orders = 2;
    risk_set_state(R, "s1", TS_REDUCING, "test");
    risk_update(R);
    expect(BUY("NOPE", 1), RISK_UNKNOWN_SYMBOL);
    risk_kill(R, "test");
    cJSON *j = risk_limits_json(R);
    assert_true(jnum(cJSON_GetObjectItem(j, "global"), "reference_max_age_s") == 5);
    assert_string_equal(jstr(j, "state"), "ACTIVE");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "killed")));
    assert_true(jnum(cJSON_GetObjectItem(j, "utilization"), "working_orders") == 0);
    const cJSON *s1 = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "accounts"), "s1");
    assert_string_equal(jstr(s1, "state"), "REDUCING");
    assert_true(jnum(cJSON_GetObjectItem(s1, "utilization"), "working_orders") == 0.5);
    const cJSON *rs = cJSON_GetObjectItem(j, "restricted");
    assert_int_equal(cJSON_GetArraySize(rs), 1);
    assert_string_equal(cJSON_GetArrayItem(rs, 0)->valuestring, "RST");
    assert_true(jnum(cJSON_GetObjectItem(j, "denials"), "UNKNOWN_SYMBOL") == 1);
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "denials"), "OK"));
    cJSON_Delete(j);
}

int main(void)
{
    struct err e;
    struct instrument defs[] = {
        {"AAPL", 2, 1, 0, 1},  /* 0.01 tick, whole shares */
        {"XYZ", 2, 5, 2, 1},   /* 0.05 tick, 0.01 qty */
        {"LOT", 2, 5, 0, 100}, /* 0.05 tick, lots of 100 */
        {"FRAC", 4, 1, 3, 1},  /* 0.0001 tick, 0.001 qty: notional needs rounding */
        {"BIG", 0, 1, 0, 1},   /* whole units: notional is scaled up */
        {"RST", 2, 1, 0, 1},
    };
    for (size_t i = 0; i < ARRAY_LEN(defs); i++)
        if (instruments_add(&ins, &defs[i], &e) < 0) return 1;
    log_set_stderr(0);
    log_set_listener(on_log, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pass_fills_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_symbol, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_quantity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_price, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restricted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_halted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reducing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reduce_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_feed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_order_qty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_price_band, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notional, setup, teardown),
        cmocka_unit_test_setup_teardown(test_position, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gross, setup, teardown),
        cmocka_unit_test_setup_teardown(test_working, setup, teardown),
        cmocka_unit_test_setup_teardown(test_self_cross, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_switch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_async, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strategy_sets_from_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loss_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loss_states_per_strategy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utilization_alerts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_json, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    log_set_listener(NULL, NULL);
    instruments_free(&ins);
    return rc;
}
