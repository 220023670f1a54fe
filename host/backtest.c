/* backtest.c: one backtest run (backtest.h).
 *
 * Set-up: the config (--config, else the defaults) keeps its risk limits, venue,
 * account and sandbox settings; the command replaces the rest: a simulated clock that
 * starts at the data's first time, no sim feed, journal, web, console or file watcher,
 * mode "backtest", the instruments the data holds (grids from the config's
 * feed.symbols when it names them, else tick 0.01 and lot 1; a recording's own), and
 * one strategy: SCRIPT (the config's entry for the same file lends its id, params and
 * risk limits). The host is then driven by the data (host_set_source).
 *
 * Collection, on the bus: fills (ORDER_FILLED), risk denials (RISK_CHECK), signals
 * (SIGNAL_GENERATED, streamed to signals.jsonl as they come). The equity curve is
 * sampled on a fixed grid of period P: before the first item of a period (b - P, b] is
 * processed, the equity after the previous period is recorded at time b, with the
 * last trade price of every symbol for the price chart. P is the bar file's timeframe,
 * else the largest of 1d, 1h, 15m, 5m, 1m, 1s giving at least BT_MIN_SAMPLES samples
 * over the data's span (1m for recordings); Sharpe is annualized with 252 periods a
 * year for 1d, else 252 sessions of 6.5 hours.
 *
 * Everything written depends only on the inputs: times are the simulated clock's, and
 * no wall time, path of the output directory or process id is written, so two runs
 * give byte-identical files. */
#include "backtest.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backtest_internal.h"
#include "backtest_report.h"
#include "bus.h"
#include "config.h"
#include "feed_csv.h"
#include "fixed.h"
#include "host.h"
#include "log.h"
#include "market.h"
#include "oms.h"
#include "order.h"
#include "portfolio.h"
#include "record.h"
#include "sbx_watchdog.h"
#include "strategy.h"
#include "util.h"

#define BT_MIN_SAMPLES     100
#define BT_SESSION_PERIODS (252.0 * 23400.0) /* seconds of 252 sessions of 6.5 h */
#define BT_PROGRESS_EVERY  65536             /* items between progress checks */
#define BT_PROGRESS_US     100000            /* redraw at most every 100 ms */
#define BT_DEFAULT_TICK    0.01
#define BT_DEFAULT_LOT     1.0

struct bt_run {
    const struct backtest_opts *o;
    struct config cfg;
    struct host h;
    int host_up;
    struct bt_data data;
    struct feed_source src;
    int64_t period_us, next_sample_us;
    double periods_per_year;
    struct buf samples, prices, fills, denials; /* arrays of bt_sample, bt_price, ... */
    uint64_t signals;
    FILE *signals_file;
    int64_t progress_at_us;
    int progress_drawn;
    struct bt_saved {
        /* the config's symbols and strategies, set aside while the run's own are in place
         * (until host_fini: the config frees what it allocated, never ours) */
        struct config_symbol *symbols;
        int nsymbols;
        struct config_strategy *strategies;
        int nstrategies;
    } saved;
    int swapped;
};

/* ---- the equity curve ------------------------------------------------------------------ */

static int64_t period_end(int64_t t, int64_t p)
{
    int64_t r = t % p;
    if (r == 0) return t;
    return r > 0 ? t - r + p : t - r;
}

static void choose_period(struct bt_run *r, const struct feed_item *first)
{
    static const enum tf order[] = {TF_1D, TF_1H, TF_15M, TF_5M, TF_1M};
    int64_t span = bt_data_span_us(&r->data);
    r->period_us = tf_us(TF_1S);
    if (first->kind == FEED_BAR) r->period_us = tf_us(first->ev.u.bar.tf);
    else if (span < 0) r->period_us = tf_us(TF_1M);
    else
        for (size_t i = 0; i < ARRAY_LEN(order); i++)
            if (span / tf_us(order[i]) >= BT_MIN_SAMPLES) {
                r->period_us = tf_us(order[i]);
                break;
            }
    r->periods_per_year =
        r->period_us == tf_us(TF_1D) ? 252.0 : BT_SESSION_PERIODS * 1e6 / (double)r->period_us;
}

static void sample(struct bt_run *r, int64_t t_us)
{
    struct portfolio_totals tot;
    portfolio_totals(oms_portfolio(r->h.oms), NULL, &tot);
    struct bt_sample s = {t_us, tot.equity, tot.gross_exposure};
    buf_put(&r->samples, &s, sizeof s);
    for (int i = 0; i < r->h.instruments.n; i++) {
        const struct trade *t = market_trade(r->h.market, i, NULL, NULL);
        if (!t) continue;
        struct bt_price p = {t_us, i, t->px};
        buf_put(&r->prices, &p, sizeof p);
    }
}

/* Before an item at t: the periods that ended before t are recorded (one sample: the
 * periods in between had no data). */
static void sample_before(struct bt_run *r, const struct feed_item *it)
{
    if (r->period_us == 0) {
        choose_period(r, it);
        r->next_sample_us = period_end(it->ts_us, r->period_us);
        sample(r, r->next_sample_us - r->period_us);
    }
    if (it->ts_us <= r->next_sample_us) return;
    sample(r, r->next_sample_us);
    r->next_sample_us = period_end(it->ts_us, r->period_us);
}

/* ---- the progress bar ------------------------------------------------------------------ */

static void progress(struct bt_run *r, int done)
{
    int64_t now = mono_ns() / 1000;
    if (!done && now - r->progress_at_us < BT_PROGRESS_US) return;
    r->progress_at_us = now;
    double f = done ? 1.0 : bt_data_progress(&r->data);
    int w = 30, k = (int)(f * w);
    fprintf(stderr, "\r[%.*s%*s] %3d%% %llu items", k, "##############################", w - k, "",
            (int)(f * 100), (unsigned long long)r->data.items);
    if (done) fputc('\n', stderr);
    r->progress_drawn = 1;
}

static int source_next(void *impl, struct feed_item *it, struct err *e)
{
    struct bt_run *r = impl;
    int rc = bt_data_next(&r->data, it, e);
    if (rc <= 0) return rc;
    sample_before(r, it);
    if (r->o->progress && r->data.items % BT_PROGRESS_EVERY == 0) progress(r, 0);
    return 1;
}

/* ---- what the run produced, from the bus ------------------------------------------------ */

static void on_fill(struct bt_run *r, const struct event *ev)
{
    const struct fill *f = &ev->order->fill;
    struct bt_fill b = {f->ts_us, f->order_id, f->sym, f->side, f->px, f->qty, f->commission};
    buf_put(&r->fills, &b, sizeof b);
}

static const char *json_str(const cJSON *d, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static void on_denial(struct bt_run *r, const struct event *ev)
{
    struct bt_denial b = {.t_us = ev->ts_us, .sym = -1};
    util_strlcpy(b.strategy, json_str(ev->data, "strategy"), sizeof b.strategy);
    util_strlcpy(b.reason, json_str(ev->data, "reason"), sizeof b.reason);
    util_strlcpy(b.message, json_str(ev->data, "message"), sizeof b.message);
    b.sym = instruments_find(&r->h.instruments, json_str(ev->data, "symbol"));
    const char *side = json_str(ev->data, "side");
    b.side = !strcmp(side, "buy") ? 1 : !strcmp(side, "sell") ? -1 : 0;
    if (b.sym >= 0) {
        const struct instrument *ins = &r->h.instruments.v[b.sym];
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(ev->data, "qty");
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(ev->data, "price");
        if (cJSON_IsNumber(q) && fx_from_double(q->valuedouble, ins->qty_dp, &b.qty) != 0)
            b.qty = 0;
        if (cJSON_IsNumber(p) && fx_from_double(p->valuedouble, ins->px_dp, &b.px) != 0) b.px = 0;
    }
    buf_put(&r->denials, &b, sizeof b);
}

static void on_signal(struct bt_run *r, const struct event *ev)
{
    r->signals++;
    if (!r->signals_file) return;
    char ts[40];
    cJSON *line = cJSON_CreateObject();
    cJSON_AddStringToObject(line, "time", util_iso8601(ev->ts_us, ts, sizeof ts));
    cJSON_AddStringToObject(line, "strategy", json_str(ev->data, "strategy"));
    cJSON_AddStringToObject(line, "name", json_str(ev->data, "name"));
    cJSON *data = cJSON_GetObjectItemCaseSensitive(ev->data, "data");
    cJSON_AddItemToObject(line, "data", data ? cJSON_Duplicate(data, 1) : cJSON_CreateObject());
    char *text = cJSON_PrintUnformatted(line);
    if (text) fprintf(r->signals_file, "%s\n", text);
    cJSON_free(text);
    cJSON_Delete(line);
}

static void on_event(const struct event *ev, void *arg)
{
    struct bt_run *r = arg;
    if (ev->type == EV_ORDER_FILLED) on_fill(r, ev);
    else if (ev->type == EV_RISK_CHECK) on_denial(r, ev);
    else if (ev->type == EV_SIGNAL_GENERATED) on_signal(r, ev);
}

/* ---- set-up ---------------------------------------------------------------------------- */

static int load_config(struct bt_run *r, struct err *e)
{
    struct sbx_watchdog *wd = sbx_watchdog_new(e);
    if (!wd) return 1;
    int rc = r->o->config ? config_load(r->o->config, wd, &r->cfg, e)
                          : config_load_text("defaults", "return {}", 9, wd, &r->cfg, e);
    sbx_watchdog_free(wd);
    if (rc != 0) return 2;
    struct config *c = &r->cfg;
    c->backtest = 1;
    c->sim_clock = 1;
    c->watch = 0;
    c->fail_fast = 0;
    c->http_enabled = 0;
    c->console_enabled = 0;
    c->journal_enabled = 0;
    free(c->mode);
    c->mode = xstrdup("backtest");
    if (r->o->has_seed) c->seed = r->o->seed;
    else if (r->data.rp) c->seed = replay_seed(r->data.rp); /* the live run's */
    if (r->o->capital > 0) c->cash = r->o->capital;
    params_copy(&c->cli_params, &r->o->params);
    return 0;
}

static void set_symbols(struct bt_run *r, const struct instrument *ins, int n)
{
    struct config_symbol *v = xcalloc((size_t)n + 1, sizeof *v);
    for (int i = 0; i < n; i++) {
        util_strlcpy(v[i].symbol, ins[i].symbol, sizeof v[i].symbol);
        v[i].tick = BT_DEFAULT_TICK, v[i].lot = BT_DEFAULT_LOT;
        if (ins[i].tick > 0) { /* a recording's grid */
            v[i].tick = fx_to_double(ins[i].tick, ins[i].px_dp);
            v[i].lot = fx_to_double(ins[i].lot, ins[i].qty_dp);
        }
        for (int k = 0; k < r->cfg.nsymbols; k++)
            if (ins[i].tick == 0 && !strcmp(r->cfg.symbols[k].symbol, ins[i].symbol))
                v[i].tick = r->cfg.symbols[k].tick, v[i].lot = r->cfg.symbols[k].lot;
        v[i].price = 100, v[i].spread_ticks = 1, v[i].max_lots = 1;
    }
    r->cfg.symbols = v;
    r->cfg.nsymbols = n;
}

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static void set_strategy(struct bt_run *r, const struct bt_saved *saved)
{
    struct config_strategy *s = xcalloc(1, sizeof *s);
    s->script = (char *)r->o->script;
    for (int i = 0; i < saved->nstrategies; i++)
        if (same_file(saved->strategies[i].script, r->o->script)) {
            *s = saved->strategies[i];
            s->script = (char *)r->o->script;
            s->symbols = NULL, s->nsymbols = 0; /* the data decides */
            break;
        }
    r->cfg.strategies = s;
    r->cfg.nstrategies = 1;
}

static void restore_config(struct bt_run *r)
{
    if (!r->swapped) return;
    free(r->cfg.symbols);
    free(r->cfg.strategies);
    r->cfg.symbols = r->saved.symbols, r->cfg.nsymbols = r->saved.nsymbols;
    r->cfg.strategies = r->saved.strategies, r->cfg.nstrategies = r->saved.nstrategies;
    r->swapped = 0;
}

static int check_params(struct bt_run *r, struct err *e)
{
    struct strategy *st = strategies_at(r->h.strategies, 0);
    for (int i = 0; i < r->o->params.n; i++)
        if (!strategy_declares_param(st, r->o->params.v[i].name))
            return err_set(e, "--param %s: %s declares no parameter of that name",
                           r->o->params.v[i].name, strategy_id(st));
    return 0;
}

static int start_host(struct bt_run *r, struct err *e)
{
    struct instrument *ins;
    int n = bt_data_instruments(&r->data, &ins);
    r->saved =
        (struct bt_saved){r->cfg.symbols, r->cfg.nsymbols, r->cfg.strategies, r->cfg.nstrategies};
    r->swapped = 1;
    set_symbols(r, ins, n);
    free(ins);
    set_strategy(r, &r->saved);
    r->cfg.start_us = bt_data_first_us(&r->data);
    r->host_up = 1;
    if (host_init(&r->h, &r->cfg, e) != 0 || check_params(r, e) != 0) return 2;
    if (bt_data_bind(&r->data, &r->h.instruments, e) != 0) return 2;
    r->src = (struct feed_source){source_next, r, r->data.rp != NULL, 0};
    r->src.bars_from_feed = r->data.csv && feed_csv_has_bars(r->data.csv);
    host_set_source(&r->h, &r->src);
    uint64_t mask = EV_BIT(EV_ORDER_FILLED) | EV_BIT(EV_RISK_CHECK) | EV_BIT(EV_SIGNAL_GENERATED);
    bus_subscribe(r->h.bus, mask, on_event, r);
    return 0;
}

/* ---- outputs ----------------------------------------------------------------------------- */

int bt_make_dir(const char *path, struct err *e)
{
    char p[4096];
    util_strlcpy(p, path, sizeof p);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                return err_set(e, "cannot create %s: %s", p, strerror(errno));
            *s = '/';
        }
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        return err_set(e, "cannot create %s: %s", p, strerror(errno));
    return 0;
}

static int open_outputs(struct bt_run *r, struct err *e)
{
    if (!r->o->out) return 0;
    if (bt_make_dir(r->o->out, e) != 0) return -1;
    char path[4096];
    static const char *const files[] = {"summary.json", "trades.csv", "orders.csv", "equity.csv",
                                        "report.html"};
    for (size_t i = 0; i < ARRAY_LEN(files); i++) { /* no report of an earlier run stays */
        snprintf(path, sizeof path, "%s/%s", r->o->out, files[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/log.txt", r->o->out);
    unlink(path);
    if (log_open_file(path, e) != 0) return -1;
    snprintf(path, sizeof path, "%s/signals.jsonl", r->o->out);
    r->signals_file = fopen(path, "w");
    if (!r->signals_file) return err_set(e, "cannot write %s: %s", path, strerror(errno));
    return 0;
}

/* "fast=5 qty=10 slow=20": the parameters the run used, sorted by name. */
static void params_text(struct bt_run *r, struct buf *out)
{
    struct params p = {0};
    strategy_params(strategies_at(r->h.strategies, 0), &p);
    int idx[256], n = MIN(p.n, 256);
    for (int i = 0; i < n; i++) idx[i] = i;
    for (int i = 1; i < n; i++)
        for (int k = i; k > 0 && strcmp(p.v[idx[k - 1]].name, p.v[idx[k]].name) > 0; k--) {
            int t = idx[k];
            idx[k] = idx[k - 1], idx[k - 1] = t;
        }
    for (int i = 0; i < n; i++) {
        const struct param *q = &p.v[idx[i]];
        if (i) buf_putc(out, ' ');
        if (q->type == PARAM_NUMBER) buf_printf(out, "%s=%.15g", q->name, q->num);
        else if (q->type == PARAM_BOOL) buf_printf(out, "%s=%s", q->name, q->b ? "true" : "false");
        else buf_printf(out, "%s=%s", q->name, q->str);
    }
    buf_putc(out, '\0');
    params_free(&p);
}

static int write_outputs(struct bt_run *r, struct backtest_result *res,
                         const struct bt_trade *trades, int ntrades, struct err *e)
{
    struct order *const *all;
    int norders = order_book_all(oms_book(r->h.oms), &all);
    struct order *orders = xcalloc((size_t)norders + 1, sizeof *orders);
    for (int i = 0; i < norders; i++) orders[i] = *all[i];
    struct buf params = {0}, data_json = {0};
    params_text(r, &params);
    uint64_t rows, bad;
    char first_bad[256];
    bt_data_counts(&r->data, &rows, &bad, first_bad, sizeof first_bad);
    buf_printf(&data_json, "{\"rows\":%llu,\"items\":%llu,\"bad\":%llu,\"first_bad\":",
               (unsigned long long)rows, (unsigned long long)r->data.items,
               (unsigned long long)bad);
    buf_put_json_str(&data_json, first_bad, strlen(first_bad));
    buf_printf(&data_json, ",\"strategy_errors\":%llu,\"faulted\":%s",
               (unsigned long long)res->errors, res->faulted ? "true" : "false");
    if (r->data.rp) { /* records cut short by a crash end their file: say how many */
        struct replay_stats rs;
        replay_stats(r->data.rp, &rs);
        buf_printf(&data_json, ",\"recordings\":%llu,\"torn\":%llu", (unsigned long long)rs.files,
                   (unsigned long long)rs.torn);
        if (rs.torn)
            log_warn("backtest", "a recording ends with a torn record", "torn=%llu",
                     (unsigned long long)rs.torn);
    }
    buf_putc(&data_json, '}');
    buf_putc(&data_json, '\0');
    const char *const *data = r->o->nreplay ? r->o->replay : r->o->data;
    struct bt_report rep = {
        .script = r->o->script,
        .data = data,
        .ndata = r->o->nreplay ? r->o->nreplay : r->o->ndata,
        .params = params.p,
        .ins = &r->h.instruments,
        .m = &res->m,
        .samples = (const struct bt_sample *)r->samples.p,
        .nsamples = (int)(r->samples.len / sizeof(struct bt_sample)),
        .prices = (const struct bt_price *)r->prices.p,
        .nprices = (int)(r->prices.len / sizeof(struct bt_price)),
        .fills = (const struct bt_fill *)r->fills.p,
        .nfills = (int)(r->fills.len / sizeof(struct bt_fill)),
        .trades = trades,
        .ntrades = ntrades,
        .orders = orders,
        .norders = norders,
        .denials = (const struct bt_denial *)r->denials.p,
        .ndenials = (int)(r->denials.len / sizeof(struct bt_denial)),
        .nsignals = r->signals,
        .data_json = data_json.p,
    };
    int rc = 0;
    if (r->o->out) rc = bt_report_write(r->o->out, &rep, e);
    if (!r->o->quiet) bt_summary_print(stdout, &rep);
    free(orders);
    buf_free(&params);
    buf_free(&data_json);
    return rc;
}

/* ---- the run ---------------------------------------------------------------------------- */

static void finish(struct bt_run *r, struct backtest_result *res)
{
    sample(r, r->period_us ? r->next_sample_us : clock_now_us(&r->h.clock));
    struct strategy *st = strategies_at(r->h.strategies, 0);
    res->faulted = strategy_status(st) == STRATEGY_FAULTED;
    res->errors = strategy_errors(st);
    res->items = r->data.items;
    uint64_t bad;
    char first_bad[8];
    bt_data_counts(&r->data, &res->rows, &bad, first_bad, sizeof first_bad);
    res->bad = bad;
    res->fills = r->fills.len / sizeof(struct bt_fill);
    res->denials = r->denials.len / sizeof(struct bt_denial);
    res->signals = r->signals;
    struct order *const *all;
    res->orders = (uint64_t)order_book_all(oms_book(r->h.oms), &all);
}

static int64_t initial_cash(struct bt_run *r)
{
    struct portfolio_totals tot;
    portfolio_totals(oms_portfolio(r->h.oms), NULL, &tot);
    return tot.initial_cash;
}

static int run(struct bt_run *r, struct backtest_result *res, struct err *e)
{
    int usage;
    if (bt_data_open(&r->data, r->o, &usage, e) != 0) return usage ? 2 : 1;
    int rc = load_config(r, e);
    if (rc) return rc;
    if (open_outputs(r, e) != 0) return 1;
    log_set_stderr(0); /* the log goes to log.txt; stderr has the progress and errors */
    log_set_level((enum log_level)r->cfg.log_level);
    if ((rc = start_host(r, e)) != 0) return rc;
    int64_t t0 = mono_ns();
    int hrc = host_run(&r->h, 0);
    res->seconds = (double)(mono_ns() - t0) / 1e9;
    if (r->o->progress && r->progress_drawn) progress(r, 1);
    if (r->h.source_failed) {
        *e = r->h.source_err;
        return 1;
    }
    if (r->data.items == 0) return err_set(e, "no market data in the range given"), 1;
    finish(r, res);
    /* a trade still open at the end is valued at the last price, and counted nowhere */
    int64_t *last = xcalloc((size_t)r->h.instruments.n + 1, sizeof *last);
    for (int i = 0; i < r->h.instruments.n; i++) {
        const struct trade *t = market_trade(r->h.market, i, NULL, NULL);
        last[i] = t ? t->px : 0;
    }
    struct bt_trade *trades = NULL;
    int ntrades = bt_trades_build(&r->h.instruments, (const struct bt_fill *)r->fills.p,
                                  (int)res->fills, last, clock_now_us(&r->h.clock), &trades);
    free(last);
    bt_metrics_compute((const struct bt_sample *)r->samples.p,
                       (int)(r->samples.len / sizeof(struct bt_sample)), trades, ntrades,
                       (const struct bt_fill *)r->fills.p, (int)res->fills, initial_cash(r),
                       r->periods_per_year, &res->m);
    rc = write_outputs(r, res, trades, ntrades, e) != 0 ? 1 : 0;
    free(trades);
    if (rc == 0 && (hrc != 0 || res->faulted)) {
        err_set(e, "%s: %s", strategy_id(strategies_at(r->h.strategies, 0)),
                strategy_last_error(strategies_at(r->h.strategies, 0)));
        rc = 1;
    }
    return rc;
}

int backtest_run(const struct backtest_opts *o, struct backtest_result *res, struct err *e)
{
    struct bt_run *r = xcalloc(1, sizeof *r);
    r->o = o;
    memset(res, 0, sizeof *res);
    e->msg[0] = '\0';
    int rc = run(r, res, e);
    if (r->host_up) host_fini(&r->h);
    restore_config(r);
    config_free(&r->cfg);
    bt_data_close(&r->data);
    if (r->signals_file) fclose(r->signals_file);
    if (o->out) log_close_file();
    log_set_stderr(1);
    buf_free(&r->samples);
    buf_free(&r->prices);
    buf_free(&r->fills);
    buf_free(&r->denials);
    free(r);
    return rc;
}
