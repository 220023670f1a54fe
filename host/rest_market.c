/* rest_market.c: the health check and market data over REST (docs/api.md):
 *
 *   GET /health                      public: is the host up, and in what shape
 *   GET /api/market-data/:symbol     last quote and trade
 *   GET /api/ohlcv/:symbol?tf&limit  closed bars, oldest first, then the open bar
 *
 * Everything is read from memory (market.h keeps the last quote/trade and a bounded
 * history of bars per symbol and timeframe). Prices and sizes are numbers in the
 * instrument's units; bar times are epoch seconds (what charting libraries take). */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "bus.h"
#include "config.h"
#include "fixed.h"
#include "host.h"
#include "journal.h"
#include "market.h"
#include "oms.h"
#include "rest.h"
#include "rest_internal.h"
#include "risk.h"
#include "strategy.h"
#include "util.h"

#define OHLCV_DEFAULT 300
#define OHLCV_MAX     5000

static void add_time(cJSON *o, const char *key, int64_t ts_us)
{
    char iso[40];
    cJSON_AddStringToObject(o, key, util_iso8601(ts_us, iso, sizeof iso));
}

/* {strategies: {total, running, faulted}} counts for the health check. */
static cJSON *strategies_health(struct host *h)
{
    int n = strategies_count(h->strategies), running = 0, faulted = 0;
    for (int i = 0; i < n; i++) {
        enum strategy_status s = strategy_status(strategies_at(h->strategies, i));
        running += s == STRATEGY_RUNNING;
        faulted += s == STRATEGY_FAULTED;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "total", n);
    cJSON_AddNumberToObject(o, "running", running);
    cJSON_AddNumberToObject(o, "faulted", faulted);
    return o;
}

/* "degraded" when the journal failed (no new orders) or recovery left trading halted. */
static void health(struct http_req *r, void *arg)
{
    struct host *h = arg;
    struct journal *j = oms_journal(h->oms);
    int journal_ok = !j || !journal_failed(j);
    const char *problem = oms_recovery_problem(h->oms);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", journal_ok && !problem[0] ? "ok" : "degraded");
    cJSON_AddStringToObject(o, "version", LUATRADE_VERSION);
    cJSON_AddNumberToObject(o, "uptime_s",
                            h->started_us ? (double)(wall_us() - h->started_us) / 1e6 : 0);
    cJSON_AddStringToObject(o, "mode", h->mode);
    cJSON *feed = cJSON_AddObjectToObject(o, "feed");
    cJSON_AddStringToObject(feed, "kind", "sim");
    cJSON_AddNumberToObject(feed, "events", (double)h->feed_emitted);
    cJSON_AddNumberToObject(feed, "rate", h->cfg->feed_rate);
    cJSON *venue = cJSON_AddObjectToObject(o, "venue");
    cJSON_AddStringToObject(venue, "kind", "paper");
    cJSON_AddBoolToObject(venue, "ok", 1);
    cJSON *journal = cJSON_AddObjectToObject(o, "journal");
    cJSON_AddBoolToObject(journal, "enabled", j != NULL);
    cJSON_AddBoolToObject(journal, "ok", journal_ok);
    cJSON *sbx = cJSON_AddObjectToObject(o, "sandbox");
    cJSON_AddBoolToObject(sbx, "jit", h->sbx_jit);
    cJSON_AddItemToObject(o, "strategies", strategies_health(h));
    struct risk *rk = oms_risk(h->oms);
    cJSON_AddStringToObject(o, "trading_state", trading_state_name(risk_state(rk, NULL)));
    cJSON_AddBoolToObject(o, "kill", risk_killed(rk));
    if (problem[0]) cJSON_AddStringToObject(o, "problem", problem);
    cJSON_AddNumberToObject(o, "last_seq", (double)bus_last_seq(h->bus));
    http_reply_json(r, 200, o);
}

static void market_data(struct http_req *r, void *arg)
{
    struct host *h = arg;
    int sym = rest_symbol(r, h, http_param(r, "symbol"));
    if (sym < 0) return;
    const struct instrument *in = &h->instruments.v[sym];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "symbol", in->symbol);
    int64_t ts;
    uint64_t seq;
    const struct quote *q = market_quote(h->market, sym, &ts, &seq);
    if (q) {
        cJSON *j = cJSON_AddObjectToObject(o, "quote");
        cJSON_AddNumberToObject(j, "bid", fx_to_double(q->bid_px, in->px_dp));
        cJSON_AddNumberToObject(j, "ask", fx_to_double(q->ask_px, in->px_dp));
        cJSON_AddNumberToObject(j, "bid_size", fx_to_double(q->bid_qty, in->qty_dp));
        cJSON_AddNumberToObject(j, "ask_size", fx_to_double(q->ask_qty, in->qty_dp));
        add_time(j, "ts", ts);
        cJSON_AddNumberToObject(j, "seq", (double)seq);
    } else {
        cJSON_AddNullToObject(o, "quote");
    }
    const struct trade *t = market_trade(h->market, sym, &ts, &seq);
    if (t) {
        cJSON *j = cJSON_AddObjectToObject(o, "trade");
        cJSON_AddNumberToObject(j, "price", fx_to_double(t->px, in->px_dp));
        cJSON_AddNumberToObject(j, "size", fx_to_double(t->qty, in->qty_dp));
        add_time(j, "ts", ts);
        cJSON_AddNumberToObject(j, "seq", (double)seq);
    } else {
        cJSON_AddNullToObject(o, "trade");
    }
    http_reply_json(r, 200, o);
}

static cJSON *bar_json(const struct bar *b, const struct instrument *in, int closed)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "time", (double)(b->time_us / 1000000));
    cJSON_AddNumberToObject(o, "open", fx_to_double(b->open, in->px_dp));
    cJSON_AddNumberToObject(o, "high", fx_to_double(b->high, in->px_dp));
    cJSON_AddNumberToObject(o, "low", fx_to_double(b->low, in->px_dp));
    cJSON_AddNumberToObject(o, "close", fx_to_double(b->close, in->px_dp));
    cJSON_AddNumberToObject(o, "volume", fx_to_double(b->volume, in->qty_dp));
    cJSON_AddNumberToObject(o, "trades", b->trades);
    cJSON_AddBoolToObject(o, "closed", closed);
    return o;
}

/* limit counts every bar in the reply, the open one included. */
static void ohlcv(struct http_req *r, void *arg)
{
    struct host *h = arg;
    int sym = rest_symbol(r, h, http_param(r, "symbol"));
    if (sym < 0) return;
    const char *tfs = http_query(r, "tf");
    int tf = tfs ? tf_parse(tfs) : TF_1M;
    if (tf < 0) {
        http_reply_error(r, 400, "bad_request", "tf: expected 1s, 1m, 5m, 15m, 1h or 1d");
        return;
    }
    int64_t limit;
    if (http_query_int(r, "limit", 1, OHLCV_MAX, OHLCV_DEFAULT, &limit) != 0) return;
    const struct instrument *in = &h->instruments.v[sym];
    const struct bar *open = market_open_bar(h->market, sym, (enum tf)tf);
    int want = (int)limit - (open != NULL);
    struct bar *bars = xcalloc((size_t)MAX(want, 1), sizeof *bars);
    int n = want > 0 ? market_history(h->market, sym, (enum tf)tf, bars, want) : 0;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "symbol", in->symbol);
    cJSON_AddStringToObject(o, "tf", tf_name((enum tf)tf));
    cJSON *a = cJSON_AddArrayToObject(o, "bars");
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, bar_json(&bars[i], in, 1));
    if (open) cJSON_AddItemToArray(a, bar_json(open, in, 0));
    free(bars);
    http_reply_json(r, 200, o);
}

static const struct http_route routes[] = {
    {HTTP_GET, "/health", health, HTTP_PUBLIC},
    {HTTP_GET, "/api/market-data/:symbol", market_data, 0},
    {HTTP_GET, "/api/ohlcv/:symbol", ohlcv, 0},
};

void rest_market_routes(struct http *s, struct host *h)
{
    http_add_routes(s, routes, (int)ARRAY_LEN(routes), h);
}
