/* Unit tests for backtest_report: a small hand-made backtest written into a temporary
 * directory and every file checked (the CSVs line by line, summary.json field by field
 * through cJSON, the page's sections, charts and escaping), determinism (two writes
 * byte-compared), the terminal summary, empty runs, errors (a missing directory, bad
 * data_json), the formatting helpers against util_iso8601 and by hand, and a run of a
 * million samples, prices and fills: bounded charts with their extremes kept, in
 * bounded time.
 *
 * `test_backtest_report --sample DIR` writes a larger generated report into DIR instead
 * of testing (tests/e2e/report.test.mjs opens it in Chromium). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backtest_report.h"
#include "backtest_report_internal.h"
#include "json_fixed.h"
#include "log.h"
#include "order.h"
#include "util.h"

#define MONEY(x) ((int64_t)(x)*1000000)
#define CENTS(x) ((int64_t)(x)*10000)
#define DAY      INT64_C(86400000000)
#define T0       INT64_C(1704067200000000) /* 2024-01-01T00:00:00Z */

enum { AAPL, BTC, NSYM };
static struct instruments ins;

static void instruments_init(void)
{
    struct err e;
    struct instrument aapl = {"AAPL", 2, 1, 0, 1};
    struct instrument btc = {"BTC-USD", 2, 1, 8, 1};
    if (ins.n == 0) {
        ASSERT(instruments_add(&ins, &aapl, &e) == AAPL);
        ASSERT(instruments_add(&ins, &btc, &e) == BTC);
    }
}

/* ---- the small backtest ------------------------------------------------------------------ */

/* Five daily samples from 100,000.00; AAPL bought 10 @ 190.00 and sold @ 195.50 (1.00
 * commission each), BTC-USD bought 0.5 @ 42,000.00 and still open; four orders, one of
 * them canceled, with tags that need CSV quoting and HTML escaping; three denials. */
static const struct bt_sample samples[] = {
    {T0, MONEY(100000), 0},
    {T0 + DAY, MONEY(99999), MONEY(1900)},
    {T0 + 2 * DAY, CENTS(9899950), MONEY(22900)},
    {T0 + 3 * DAY, 100053500000 + 5555, MONEY(21000)},
    {T0 + 4 * DAY + 1500000, MONEY(100500), MONEY(21000)},
};
static const struct bt_price prices[] = {
    {T0, AAPL, 18900},
    {T0, BTC, 4150000},
    {T0 + DAY, AAPL, 19000},
    {T0 + 2 * DAY, BTC, 4200000},
    {T0 + 2 * DAY, AAPL, 18800},
    {T0 + 3 * DAY, AAPL, 19550},
    {T0 + 4 * DAY, BTC, 4220000},
};
static const struct bt_fill fills[] = {
    {T0 + DAY, 1, AAPL, 1, 19000, 10, MONEY(1)},
    {T0 + 2 * DAY, 3, BTC, 1, 4200000, 50000000, 0},
    {T0 + 3 * DAY, 2, AAPL, -1, 19550, 10, MONEY(1)},
};
static const struct bt_denial denials[] = {
    {T0 + DAY, AAPL, 1, 500, 25000, "sma", "PRICE_BAND", "<b>price</b> 250.00 outside 5% band"},
    {T0 + 2 * DAY, -1, -1, 1, 0, "sma", "UNKNOWN_SYMBOL", "no symbol \"ZZZ\""},
    {T0 + 3 * DAY, AAPL, 1, 10, 0, "sma", "PRICE_BAND", "again"},
};
static const char *const data_files[] = {"data/aapl.csv", "data/<btc>.csv.gz"};

static struct order orders[4];
static struct bt_trade *trades;
static int ntrades;
static struct bt_metrics metrics;

static void order_set(struct order *o, uint64_t id, int sym, int side, enum order_type type,
                      int64_t qty, int64_t px, enum order_status st, int64_t t, const char *tag)
{
    memset(o, 0, sizeof *o);
    o->id = id, o->sym = sym, o->side = side, o->type = type, o->qty = qty, o->status = st;
    o->tif = TIF_DAY, o->created_us = o->updated_us = t;
    if (type == OT_LIMIT) o->limit_px = px;
    if (type == OT_STOP) o->stop_px = px;
    util_strlcpy(o->tag, tag, sizeof o->tag);
}

static void small_report(struct bt_report *r)
{
    instruments_init();
    order_set(&orders[0], 1, AAPL, 1, OT_MARKET, 10, 0, OS_FILLED, T0 + DAY, "entry, \"a\"");
    orders[0].filled_qty = 10, orders[0].fill_notional = MONEY(1900);
    order_set(&orders[1], 2, AAPL, -1, OT_LIMIT, 10, 19550, OS_FILLED, T0 + 2 * DAY,
              "<script>alert(1)</script>");
    orders[1].filled_qty = 10, orders[1].fill_notional = MONEY(1955);
    orders[1].role = ROLE_TAKE_PROFIT, orders[1].parent = 1;
    order_set(&orders[2], 3, BTC, 1, OT_LIMIT, 50000000, 4200000, OS_FILLED, T0 + 2 * DAY, "");
    orders[2].filled_qty = 50000000, orders[2].fill_notional = MONEY(21000);
    order_set(&orders[3], 4, AAPL, -1, OT_STOP, 10, 18500, OS_CANCELED, T0 + 3 * DAY, "stop");
    util_strlcpy(orders[3].reason, "sibling_filled", sizeof orders[3].reason);
    orders[3].role = ROLE_STOP_LOSS, orders[3].parent = 1;

    free(trades);
    ntrades = bt_trades_from_fills(&ins, fills, 3, &trades);
    bt_metrics_compute(samples, 5, trades, ntrades, fills, 3, MONEY(100000), 252, &metrics);
    *r = (struct bt_report){
        .script = "strategies/a&b.lua",
        .data = data_files,
        .ndata = 2,
        .params = "fast=5 slow=20",
        .ins = &ins,
        .m = &metrics,
        .samples = samples,
        .nsamples = 5,
        .prices = prices,
        .nprices = 7,
        .fills = fills,
        .nfills = 3,
        .trades = trades,
        .ntrades = ntrades,
        .orders = orders,
        .norders = 4,
        .denials = denials,
        .ndenials = 3,
        .nsignals = 7,
        .data_json = "{\"rows\": 8, \"bad\": 0}",
    };
}

/* ---- helpers ------------------------------------------------------------------------------ */

static char tmpdir[64];

static int setup(void **s)
{
    log_set_stderr(0);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bt_report_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int teardown(void **s)
{
    static const char *const names[] = {"summary.json", "trades.csv", "orders.csv", "equity.csv",
                                        "report.html"};
    char path[128];
    for (int d = 0; d < 3; d++) {
        for (size_t i = 0; i < ARRAY_LEN(names); i++) {
            snprintf(path, sizeof path, "%s/%d/%s", tmpdir, d, names[i]);
            unlink(path);
        }
        snprintf(path, sizeof path, "%s/%d", tmpdir, d);
        rmdir(path);
    }
    rmdir(tmpdir);
    free(trades);
    trades = NULL;
    instruments_free(&ins);
    return 0;
}

/* tmpdir/sub, created. */
static const char *subdir(int sub)
{
    static char path[3][96];
    snprintf(path[sub], sizeof path[sub], "%s/%d", tmpdir, sub);
    mkdir(path[sub], 0700);
    return path[sub];
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t n;
    char *p = util_read_file(path, (size_t)1 << 30, &n);
    if (!p) fail_msg("%s: %s", path, strerror(errno));
    if (len) *len = n;
    return p;
}

static void assert_file(const char *dir, const char *name, const char *want)
{
    char *got = slurp(dir, name, NULL);
    if (strcmp(got, want)) {
        /* the first differing line, for a readable failure */
        const char *g = got, *w = want;
        while (*g && *g == *w) g++, w++;
        while (g > got && g[-1] != '\n') g--, w--;
        fail_msg("%s differs at\n got: %.120s\nwant: %.120s", name, g, w);
    }
    free(got);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

/* ---- the files ------------------------------------------------------------------------------ */

/* Trades: AAPL long 10, 190.00 -> 195.50: 55.00 - 2.00 = 53.00, 53 / 1900 = 0.027895;
 * BTC-USD long 0.5 @ 42,000.00 still open: no close, no exit, pnl 0. */
static void test_trades_csv(void **s)
{
    struct bt_report r;
    small_report(&r);
    const char *dir = subdir(0);
    struct err e;
    assert_int_equal(bt_report_write(dir, &r, &e), 0);
    assert_file(dir, "trades.csv",
                "id,symbol,side,open_time,close_time,qty,entry_px,exit_px,pnl,return,commission,"
                "fills,status\n"
                "1,AAPL,long,2024-01-02T00:00:00.000000Z,2024-01-04T00:00:00.000000Z,10,190.00,"
                "195.50,53.00,0.027895,2.00,2,closed\n"
                "2,BTC-USD,long,2024-01-03T00:00:00.000000Z,,0.50000000,42000.00,,0.00,0.000000,"
                "0.00,1,open\n");
}

/* Orders: avg_px from the fill notional (1900 / 10 = 190.00; 21000 / 0.5 = 42000.00);
 * limit and stop only where the type has them; the tag with a comma and quotes quoted. */
static void test_orders_csv(void **s)
{
    struct bt_report r;
    small_report(&r);
    const char *dir = subdir(0);
    struct err e;
    assert_int_equal(bt_report_write(dir, &r, &e), 0);
    assert_file(dir, "orders.csv",
                "id,created,symbol,side,type,tif,qty,limit,stop,status,filled,avg_px,tag,reason,"
                "role,parent\n"
                "1,2024-01-02T00:00:00.000000Z,AAPL,buy,market,day,10,,,FILLED,10,190.00,"
                "\"entry, \"\"a\"\"\",,single,\n"
                "2,2024-01-03T00:00:00.000000Z,AAPL,sell,limit,day,10,195.50,,FILLED,10,195.50,"
                "<script>alert(1)</script>,,take_profit,1\n"
                "3,2024-01-03T00:00:00.000000Z,BTC-USD,buy,limit,day,0.50000000,42000.00,,FILLED,"
                "0.50000000,42000.00,,,single,\n"
                "4,2024-01-04T00:00:00.000000Z,AAPL,sell,stop,day,10,,185.00,CANCELED,0,,stop,"
                "sibling_filled,stop_loss,1\n");
}

/* Equity: the peak starts at 100,000.00; 99,999.00 is 1 / 100000 = 0.000010 under it,
 * 98,999.50 0.010005; 100,053.505555 sets a new peak (money rounds to 100053.51), and
 * 100,500.00 another. Gross with 2 decimals. The last sample is 1.5 s into the day. */
static void test_equity_csv(void **s)
{
    struct bt_report r;
    small_report(&r);
    const char *dir = subdir(0);
    struct err e;
    assert_int_equal(bt_report_write(dir, &r, &e), 0);
    assert_file(dir, "equity.csv",
                "time,equity,drawdown,gross\n"
                "2024-01-01T00:00:00.000000Z,100000.00,0.000000,0.00\n"
                "2024-01-02T00:00:00.000000Z,99999.00,0.000010,1900.00\n"
                "2024-01-03T00:00:00.000000Z,98999.50,0.010005,22900.00\n"
                "2024-01-04T00:00:00.000000Z,100053.51,0.000000,21000.00\n"
                "2024-01-05T00:00:01.500000Z,100500.00,0.000000,21000.00\n");
}

static double num(const cJSON *o, const char *path)
{
    char key[64];
    util_strlcpy(key, path, sizeof key);
    const cJSON *j = o;
    for (char *save, *k = strtok_r(key, ".", &save); k; k = strtok_r(NULL, ".", &save))
        j = cJSON_GetObjectItemCaseSensitive(j, k);
    return json_number(j);
}

static const char *str(const cJSON *o, const char *a, const char *b)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b) j = cJSON_GetObjectItemCaseSensitive(j, b);
    return cJSON_GetStringValue(j);
}

/* Metrics by hand: final 100,500.00 -> total return 0.005; trades 1 (53.00, a win) ->
 * profit factor null (INFINITY), win rate 1; commissions 2.00; max drawdown 0.010005 of
 * 1000.50 (from 100,000 to 98,999.50). */
static void test_summary_json(void **s)
{
    struct bt_report r;
    small_report(&r);
    const char *dir = subdir(0);
    struct err e;
    assert_int_equal(bt_report_write(dir, &r, &e), 0);
    char *text = slurp(dir, "summary.json", NULL);
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    assert_string_equal(str(j, "script", NULL), "strategies/a&b.lua");
    assert_string_equal(str(j, "params", NULL), "fast=5 slow=20");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(j, "data");
    assert_int_equal(cJSON_GetArraySize(data), 2);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(data, 1)), "data/<btc>.csv.gz");
    assert_string_equal(str(j, "period", "start"), "2024-01-01T00:00:00.000000Z");
    assert_string_equal(str(j, "period", "end"), "2024-01-05T00:00:01.500000Z");
    assert_true(num(j, "period.samples") == 5);
    assert_true(num(j, "period.periods_per_year") == 252);
    assert_true(num(j, "metrics.initial") == 100000);
    assert_true(num(j, "metrics.final") == 100500);
    assert_true(num(j, "metrics.total_return") == 0.005);
    assert_true(num(j, "metrics.max_drawdown") == 0.010005);
    assert_true(num(j, "metrics.max_drawdown_money") == 1000.5);
    assert_true(num(j, "metrics.trades") == 1);
    assert_true(num(j, "metrics.wins") == 1);
    assert_true(num(j, "metrics.win_rate") == 1);
    assert_true(
        cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "metrics"), "profit_factor")));
    assert_true(num(j, "metrics.commissions") == 2);
    assert_true(isfinite(num(j, "metrics.sharpe")));
    assert_true(isfinite(num(j, "metrics.sortino")));
    assert_true(isfinite(num(j, "metrics.cagr")));
    assert_true(isfinite(num(j, "metrics.exposure")));
    assert_true(num(j, "counts.orders") == 4);
    assert_true(num(j, "counts.orders_by_status.FILLED") == 3);
    assert_true(num(j, "counts.orders_by_status.CANCELED") == 1);
    assert_null(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "counts"), "orders_by_status"), "REJECTED"));
    assert_true(num(j, "counts.fills") == 3);
    assert_true(num(j, "counts.trades") == 2);
    assert_true(num(j, "counts.open_trades") == 1);
    assert_true(num(j, "counts.signals") == 7);
    assert_true(num(j, "counts.denials") == 3);
    assert_true(num(j, "counts.denials_by_reason.PRICE_BAND") == 2);
    assert_true(num(j, "counts.denials_by_reason.UNKNOWN_SYMBOL") == 1);
    assert_true(num(j, "input.rows") == 8);
    assert_true(num(j, "input.bad") == 0);
    /* ratios are written with a fixed 6 decimals */
    assert_non_null(strstr(text, "\"total_return\":\t0.005000,"));
    cJSON_Delete(j);
    free(text);
}

/* The page: every section, charts with paths, tables with their rows, every outside
 * string escaped, and nothing that would reach outside the file. */
static void test_html(void **s)
{
    struct bt_report r;
    small_report(&r);
    const char *dir = subdir(0);
    struct err e;
    assert_int_equal(bt_report_write(dir, &r, &e), 0);
    char *h = slurp(dir, "report.html", NULL);
    assert_true(!strncmp(h, "<!DOCTYPE html>\n", 16));
    assert_non_null(strstr(h, "<title>Backtest: strategies/a&amp;b.lua</title>"));
    assert_non_null(strstr(h, "<code>data/&lt;btc&gt;.csv.gz</code>"));
    assert_non_null(strstr(h, "<svg id=\"equity-chart\""));
    assert_non_null(strstr(h, "<svg id=\"drawdown-chart\""));
    assert_non_null(strstr(h, "<svg id=\"price-chart-0\" class=\"chart price-chart\""));
    assert_non_null(strstr(h, "<svg id=\"price-chart-1\" class=\"chart price-chart\""));
    assert_int_equal(count(h, "<path class=\"line equity\" d=\"M"), 1);
    assert_int_equal(count(h, "<path class=\"area drawdown\" d=\"M"), 1);
    assert_int_equal(count(h, "<path class=\"line price\" d=\"M"), 2);
    /* AAPL: one buy and one sell marker; BTC-USD: one buy and no sell */
    assert_int_equal(count(h, "<path class=\"buys\" d=\"M"), 2);
    assert_int_equal(count(h, "<path class=\"sells\" d=\"M"), 1);
    assert_int_equal(count(h, "<path class=\"sells\" d=\"\"/>"), 1);
    /* the equity curve's five points: M and four L */
    const char *eq = strstr(h, "<path class=\"line equity\" d=\"");
    assert_int_equal(count(eq, "L") - count(strstr(eq, "\"/>"), "L"), 4);
    /* tables */
    assert_non_null(strstr(h, "<th>Sharpe</th>"));
    assert_non_null(strstr(h, "<th>Denials</th><td>3 (PRICE_BAND 2, UNKNOWN_SYMBOL 1)</td>"));
    assert_non_null(strstr(h, "<h2>Trades (2)</h2>"));
    assert_non_null(strstr(h, "<td class=\"n pos\">53.00</td>"));
    assert_non_null(strstr(h, "<td>2024-01-03 00:00:00</td><td>open</td>"));
    assert_non_null(strstr(h, "<tr><td>PRICE_BAND</td><td class=\"n\">2</td></tr>"));
    assert_non_null(strstr(h, "<td>&lt;b&gt;price&lt;/b&gt; 250.00 outside 5% band</td>"));
    assert_non_null(strstr(h, "<td>no symbol &quot;ZZZ&quot;</td>"));
    assert_non_null(strstr(h, "<td>?</td><td>sell</td><td class=\"n\"></td>"));
    assert_non_null(strstr(h, "<tr><td>FILLED</td><td class=\"n\">3</td></tr>"));
    assert_non_null(strstr(h, "<tr><td>CANCELED</td><td class=\"n\">1</td></tr>"));
    assert_null(strstr(h, "more in trades.csv"));
    /* self-contained and inert */
    assert_null(strstr(h, "<script"));
    assert_null(strstr(h, "://"));
    assert_null(strstr(h, "src="));
    assert_null(strstr(h, "href="));
    assert_null(strstr(h, "url("));
    assert_null(strstr(h, "@import"));
    free(h);
}

/* A tag holding markup is escaped in the page (an order tag does not appear there, so a
 * denial's strategy and message carry it) and invalid UTF-8 becomes U+FFFD. */
static void test_html_escape(void **s)
{
    struct buf b = BUF_INIT;
    bt_html_escape(&b, "<script>alert('x')</script> & \"q\" \xff ok \xc3\xa9");
    assert_string_equal(b.p, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot; "
                             "\xef\xbf\xbd ok \xc3\xa9");
    buf_free(&b);

    struct bt_report r;
    small_report(&r);
    struct bt_denial d = denials[0];
    util_strlcpy(d.strategy, "<script>alert(1)</script>", sizeof d.strategy);
    r.denials = &d, r.ndenials = 1;
    r.params = "x=<img onerror=alert(1)>";
    const char *dir = subdir(0);
    struct err e;
    assert_int_equal(bt_report_write(dir, &r, &e), 0);
    char *h = slurp(dir, "report.html", NULL);
    assert_null(strstr(h, "<script"));
    assert_null(strstr(h, "<img"));
    assert_non_null(strstr(h, "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>"));
    assert_non_null(strstr(h, "x=&lt;img onerror=alert(1)&gt;"));
    free(h);
}

static void test_deterministic(void **s)
{
    static const char *const names[] = {"summary.json", "trades.csv", "orders.csv", "equity.csv",
                                        "report.html"};
    struct bt_report r;
    struct err e;
    small_report(&r);
    assert_int_equal(bt_report_write(subdir(1), &r, &e), 0);
    small_report(&r);
    assert_int_equal(bt_report_write(subdir(2), &r, &e), 0);
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        size_t n1, n2;
        char *a = slurp(subdir(1), names[i], &n1), *b = slurp(subdir(2), names[i], &n2);
        assert_true(n1 > 0);
        assert_int_equal(n1, n2);
        assert_memory_equal(a, b, n1);
        free(a);
        free(b);
    }
}

static void test_summary_print(void **s)
{
    struct bt_report r;
    small_report(&r);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    bt_summary_print(f, &r);
    fclose(f);
    /* Sharpe and Sortino of returns -0.00001, -0.010005, 0.010647, 0.004460 are not worked
     * by hand here (test_backtest_metrics does that); the lines around them are. */
    assert_non_null(strstr(text, "Script          strategies/a&b.lua\n"
                                 "Params          fast=5 slow=20\n"
                                 "Period          2024-01-01 00:00:00 .. 2024-01-05 00:00:01.5 "
                                 "(4.00 days, 5 samples)\n"
                                 "Trades          1 (1 won, 1 still open)\n"
                                 "Win rate        100.00%\n"
                                 "Total return    0.50%\n"));
    assert_non_null(strstr(text, "Max drawdown    1.00% (1000.50)\n"
                                 "Profit factor   inf\n"));
    assert_non_null(strstr(text, "Commissions     2.00\n"
                                 "Equity          100500.00 (from 100000.00)\n"
                                 "Orders          4 (3 filled, 1 canceled)\n"
                                 "Fills           3\n"
                                 "Denials         3 (PRICE_BAND 2, UNKNOWN_SYMBOL 1)\n"
                                 "Signals         7\n"));
    free(text);
}

/* Nothing happened: headers only, "No samples." in the page, zeros in the summary. */
static void test_empty(void **s)
{
    instruments_init();
    struct bt_metrics m;
    bt_metrics_compute(NULL, 0, NULL, 0, NULL, 0, MONEY(1000), 252, &m);
    struct bt_report r = {.script = "x.lua", .ins = &ins, .m = &m};
    const char *dir = subdir(0);
    struct err e;
    assert_int_equal(bt_report_write(dir, &r, &e), 0);
    assert_file(dir, "trades.csv",
                "id,symbol,side,open_time,close_time,qty,entry_px,exit_px,pnl,"
                "return,commission,fills,status\n");
    assert_file(dir, "equity.csv", "time,equity,drawdown,gross\n");
    char *h = slurp(dir, "report.html", NULL);
    assert_int_equal(count(h, "<p class=\"empty\">No samples.</p>"), 2);
    assert_non_null(strstr(h, "<p class=\"empty\">No prices.</p>"));
    assert_non_null(strstr(h, "Data: none."));
    free(h);
    char *j = slurp(dir, "summary.json", NULL);
    cJSON *root = cJSON_Parse(j);
    assert_non_null(root);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "period"), "start")));
    assert_null(cJSON_GetObjectItem(root, "input"));
    cJSON_Delete(root);
    free(j);
}

static void test_errors(void **s)
{
    struct bt_report r;
    small_report(&r);
    struct err e;
    char dir[128];
    snprintf(dir, sizeof dir, "%s/missing", tmpdir);
    assert_int_equal(bt_report_write(dir, &r, &e), -1);
    char want[192];
    snprintf(want, sizeof want, "%s/summary.json: No such file or directory", dir);
    assert_string_equal(e.msg, want);

    r.data_json = "[1, 2]";
    assert_int_equal(bt_report_write(subdir(0), &r, &e), -1);
    assert_string_equal(e.msg, "data_json: not a JSON object: [1, 2]");
    r.data_json = "{\"rows\": ";
    assert_int_equal(bt_report_write(subdir(0), &r, &e), -1);
    assert_string_equal(e.msg, "data_json: not a JSON object: {\"rows\": ");

    /* a write error: /dev/full takes the open and fails the write */
    struct bt_out o;
    assert_int_equal(bt_out_open(&o, "/dev", "full", &e), 0);
    buf_puts(&o.b, "x");
    assert_int_equal(bt_out_close(&o, &e), -1);
    assert_string_equal(e.msg, "/dev/full: No space left on device");
}

/* ---- formatting ---------------------------------------------------------------------------- */

static void test_fmt(void **s)
{
    char a[BT_FMT_MAX], b[BT_FMT_MAX];
    /* times against util_iso8601, around day boundaries, the epoch and leap days */
    static const int64_t ts[] = {0,
                                 1,
                                 -1,
                                 T0 - 1,
                                 T0,
                                 T0 + DAY - 1,
                                 INT64_C(951782400000000) /* 2000-02-29 */,
                                 INT64_C(4102444799999999) /* 2099-12-31T23:59:59.999999 */,
                                 -DAY - 1};
    struct bt_timefmt tf = {0};
    for (size_t i = 0; i < ARRAY_LEN(ts); i++)
        assert_string_equal(bt_fmt_time(&tf, ts[i], a), util_iso8601(ts[i], b, sizeof b));
    for (int64_t t = T0; t < T0 + 3 * DAY; t += 977777777)
        assert_string_equal(bt_fmt_time(&tf, t, a), util_iso8601(t, b, sizeof b));
    assert_string_equal(bt_fmt_time_short(T0, a), "2024-01-01 00:00:00");
    assert_string_equal(bt_fmt_time_short(T0 + 120, a), "2024-01-01 00:00:00.00012");

    /* money: half away from zero at the cent, never "-0.00" */
    assert_string_equal(bt_fmt_money(5000, a), "0.01");
    assert_string_equal(bt_fmt_money(4999, a), "0.00");
    assert_string_equal(bt_fmt_money(-5000, a), "-0.01");
    assert_string_equal(bt_fmt_money(-4999, a), "0.00");
    assert_string_equal(bt_fmt_money(-MONEY(1234) - 565000, a), "-1234.57");
    assert_string_equal(bt_fmt_money(INT64_MAX, a), "9223372036854.78");

    assert_string_equal(bt_fmt_double(0.1979, 6, a), "0.197900");
    assert_string_equal(bt_fmt_double(-0.0000001, 6, a), "0.000000");
    assert_string_equal(bt_fmt_double(-2.5, 0, a), "-3");
    assert_string_equal(bt_fmt_double(INFINITY, 2, a), "inf");
    assert_string_equal(bt_fmt_double(-INFINITY, 2, a), "-inf");
    assert_string_equal(bt_fmt_double(NAN, 2, a), "nan");
    assert_string_equal(bt_fmt_double(1e13, 6, a), "10000000000000.000000"); /* printf */
    assert_string_equal(bt_fmt_double(-1e300, 2, a), "-1.00e+300");
    assert_string_equal(bt_fmt_pct(0.123456, a), "12.35%");
    assert_string_equal(bt_fmt_px(&ins, AAPL, 19025, a), "190.25");
    assert_string_equal(bt_fmt_qty(&ins, BTC, 1, a), "0.00000001");
    assert_string_equal(bt_fmt_px(&ins, -1, 1, a), "");
    assert_string_equal(bt_symbol(&ins, NSYM), "?");

    assert_int_equal(bt_drawdown_ppm(MONEY(100), MONEY(99)), 10000);
    assert_int_equal(bt_drawdown_ppm(3, 2), 333333);
    assert_int_equal(bt_drawdown_ppm(3, 1), 666667);
    assert_int_equal(bt_drawdown_ppm(0, -5), 0);
}

/* ---- a long run ------------------------------------------------------------------------------ */

#define BIG 1000000

/* A million samples and prices and 100,000 fills: every chart line has at most
 * BT_CHART_POINTS points, the curve's deepest point (a one-sample crash in the middle)
 * survives the downsampling, markers are thinned per pixel, the page stays small, and
 * the whole report takes well under the budget. */
static void test_big(void **s)
{
    instruments_init();
    struct bt_sample *sm = xcalloc(BIG, sizeof *sm);
    struct bt_price *px = xcalloc(BIG, sizeof *px);
    struct bt_fill *fl = xcalloc(BIG / 10, sizeof *fl);
    for (int i = 0; i < BIG; i++) {
        sm[i] = (struct bt_sample){T0 + (int64_t)i * 1000000, MONEY(100000) - (i % 977) * 1000,
                                   i % 3 ? MONEY(10) : 0};
        px[i] = (struct bt_price){T0 + (int64_t)i * 1000000, i % 2, 10000 + i % 501};
    }
    sm[BIG / 2].equity = MONEY(50000); /* the crash: -50% */
    for (int i = 0; i < BIG / 10; i++)
        fl[i] = (struct bt_fill){T0 + (int64_t)i * 10000000,
                                 (uint64_t)i + 1,
                                 AAPL,
                                 i % 2 ? -1 : 1,
                                 10000 + i % 501,
                                 1,
                                 0};
    struct bt_trade *t;
    int nt = bt_trades_from_fills(&ins, fl, BIG / 10, &t);
    struct bt_metrics m;
    bt_metrics_compute(sm, BIG, t, nt, fl, BIG / 10, MONEY(100000), 86400 * 252, &m);
    struct bt_report r = {.script = "big.lua",
                          .ins = &ins,
                          .m = &m,
                          .samples = sm,
                          .nsamples = BIG,
                          .prices = px,
                          .nprices = BIG,
                          .fills = fl,
                          .nfills = BIG / 10,
                          .trades = t,
                          .ntrades = nt};
    int64_t t0 = mono_ns();
    struct err e;
    assert_int_equal(bt_report_write(subdir(0), &r, &e), 0);
    double secs = (double)(mono_ns() - t0) / 1e9;
    print_message("report of %d samples, %d prices, %d fills, %d trades: %.3f s\n", BIG, BIG,
                  BIG / 10, nt, secs);
    assert_true(secs < 10);
    size_t len;
    char *h = slurp(subdir(0), "report.html", &len);
    assert_true(len < 1000000);
    for (const char *p = strstr(h, "<path class=\"line"); p;
         p = strstr(p + 1, "<path class=\"line")) {
        const char *end = strstr(p, "\"/>");
        int pts = 0;
        for (const char *q = p; q < end; q++) pts += *q == 'L' || *q == 'M';
        assert_true(pts > 100 && pts <= BT_CHART_POINTS);
    }
    /* the crash is the drawdown chart's lowest point, at the bottom of the plot (y 232) */
    const char *dd = strstr(h, "<path class=\"area drawdown\" d=\"");
    assert_non_null(dd);
    const char *crash = strstr(dd, " 232.0L");
    assert_true(crash && crash < strstr(dd, "\"/>"));
    assert_non_null(strstr(h, "<p class=\"more\">"));
    const char *buys = strstr(h, "<path class=\"buys\" d=\"");
    int markers = 0;
    for (const char *q = buys, *end = strstr(buys, "\"/>"); q < end; q++) markers += *q == 'Z';
    assert_true(markers > 100 && markers <= 880 + 1); /* one per pixel column at most */
    free(h);
    char *csv = slurp(subdir(0), "equity.csv", &len);
    int lines = 0;
    for (const char *p = csv; (p = memchr(p, '\n', len - (size_t)(p - csv))); p++) lines++;
    assert_int_equal(lines, BIG + 1);
    assert_non_null(strstr(csv, "2024-01-06T18:53:20.000000Z,50000.00,0.500000,10.00\n"));
    free(csv);
    free(t);
    free(fl);
    free(px);
    free(sm);
}

/* ---- the generated sample for the browser test ------------------------------------------- */

#define SAMPLE_DAYS   3000
#define SAMPLE_FILLS  1400
#define SAMPLE_TRADES (SAMPLE_FILLS / 2)

/* A seeded random walk: SAMPLE_DAYS daily samples and prices of both symbols, round trips
 * of AAPL (more than BT_HTML_ROWS of them), an order per fill with a tag holding a script
 * element, and a denial whose message holds one. */
static int write_sample(const char *dir)
{
    instruments_init();
    static struct bt_sample sm[SAMPLE_DAYS];
    static struct bt_price px[2 * SAMPLE_DAYS];
    static struct bt_fill fl[SAMPLE_FILLS];
    static struct order od[SAMPLE_FILLS];
    uint64_t rng = 42;
    int64_t p[2] = {19000, 4200000}, eq = MONEY(100000);
    for (int i = 0; i < SAMPLE_DAYS; i++) {
        for (int k = 0; k < 2; k++) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            p[k] = MAX(100, p[k] + (int64_t)(rng >> 33) % 201 - 100);
            px[2 * i + k] = (struct bt_price){T0 + i * DAY, k, p[k]};
        }
        eq += (int64_t)((rng >> 40) % 2001) * 1000000 - 990000000;
        sm[i] = (struct bt_sample){T0 + i * DAY, eq, i % 4 ? MONEY(19000) : 0};
        int j = i * SAMPLE_FILLS / SAMPLE_DAYS;
        if (j < SAMPLE_FILLS && (i + 1) * SAMPLE_FILLS / SAMPLE_DAYS > j) {
            fl[j] = (struct bt_fill){T0 + i * DAY, (uint64_t)j + 1, AAPL, j % 2 ? -1 : 1, p[0],
                                     10,           CENTS(100)};
            order_set(&od[j], (uint64_t)j + 1, AAPL, fl[j].side, OT_MARKET, 10, 0, OS_FILLED,
                      T0 + i * DAY, "<script>alert(\"tag\")</script>");
            od[j].filled_qty = 10, od[j].fill_notional = (int64_t)p[0] * 10 * 10000;
        }
    }
    struct bt_denial dn[] = {
        {T0 + DAY, AAPL, 1, 500, 25000, "sample", "PRICE_BAND", "<script>alert(1)</script>"},
        {T0 + 2 * DAY, AAPL, 1, 500, 0, "sample", "MAX_POSITION", "position 510 > 500"},
    };
    struct bt_trade *t;
    int nt = bt_trades_from_fills(&ins, fl, SAMPLE_FILLS, &t);
    struct bt_metrics m;
    bt_metrics_compute(sm, SAMPLE_DAYS, t, nt, fl, SAMPLE_FILLS, MONEY(100000), 252, &m);
    struct bt_report r = {.script = "strategies/<script>sample</script>.lua",
                          .data = data_files,
                          .ndata = 2,
                          .params = "fast=5 slow=20",
                          .ins = &ins,
                          .m = &m,
                          .samples = sm,
                          .nsamples = SAMPLE_DAYS,
                          .prices = px,
                          .nprices = 2 * SAMPLE_DAYS,
                          .fills = fl,
                          .nfills = SAMPLE_FILLS,
                          .trades = t,
                          .ntrades = nt,
                          .orders = od,
                          .norders = SAMPLE_FILLS,
                          .denials = dn,
                          .ndenials = 2,
                          .nsignals = 3};
    struct err e;
    int rc = bt_report_write(dir, &r, &e);
    if (rc < 0) fprintf(stderr, "test_backtest_report: %s\n", e.msg);
    free(t);
    instruments_free(&ins);
    return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--sample")) return write_sample(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trades_csv),    cmocka_unit_test(test_orders_csv),
        cmocka_unit_test(test_equity_csv),    cmocka_unit_test(test_summary_json),
        cmocka_unit_test(test_html),          cmocka_unit_test(test_html_escape),
        cmocka_unit_test(test_deterministic), cmocka_unit_test(test_summary_print),
        cmocka_unit_test(test_empty),         cmocka_unit_test(test_errors),
        cmocka_unit_test(test_fmt),           cmocka_unit_test(test_big),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
