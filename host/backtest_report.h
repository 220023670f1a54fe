/* backtest_report.h: a backtest's files and its terminal summary, from its record.
 *
 * bt_report_write writes into an existing directory:
 *   summary.json  the script, params, data files, period, every metric (backtest_metrics.h),
 *                 and counts: orders (by status), fills, trades, signals, denials (by
 *                 reason); the caller's data_json under "input"
 *   trades.csv    one round trip per line, in the order they opened
 *   orders.csv    the final state of every order
 *   equity.csv    time, equity, drawdown (from the running peak, a fraction), gross
 *   report.html   one self-contained page (no external URL, script or font): the summary,
 *                 the equity curve, the drawdown, a price chart per symbol with its fills,
 *                 the trades (the first BT_HTML_ROWS), the risk denials (by reason and the
 *                 first BT_HTML_ROWS), the orders by status; charts are inline SVG with at
 *                 most BT_CHART_POINTS points per line (min and max per time bucket)
 * (signals.jsonl and log.txt are the caller's.)
 *
 * Formats: times ISO-8601 UTC with microseconds (util_iso8601); money with 2 decimals
 * (rounded half away from zero) in the CSVs and exact in JSON; prices and quantities
 * with their instrument's decimals; fractions (returns, drawdown) with 6 decimals in files;
 * Sharpe and the like with 6 decimals in JSON (non-finite as null) and 2 on screen.
 * Deterministic: the same input gives byte-identical files (no wall time anywhere).
 * CSV fields are quoted (RFC 4180) when they hold a comma, a quote or a line break; every
 * string in the page is HTML-escaped and invalid UTF-8 becomes U+FFFD. */
#ifndef LUATRADE_BACKTEST_REPORT_H
#define LUATRADE_BACKTEST_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "backtest_metrics.h"
#include "err.h"
#include "instrument.h"

#define BT_HTML_ROWS    500  /* table rows in the page; the rest only in the CSVs */
#define BT_CHART_POINTS 2000 /* points per chart line at most */

struct order;

/* A point of a symbol's price path, for its chart. */
struct bt_price {
    int64_t t_us;
    int sym;
    int64_t px;
};

/* A risk denial (risk.h's RISK_CHECK). sym -1 when the symbol is unknown (its qty and px
 * are then not shown); px 0 when the order had none (market orders). */
struct bt_denial {
    int64_t t_us;
    int sym;
    int side;
    int64_t qty, px;
    char strategy[64];
    char reason[32];
    char message[160];
};

/* Everything borrowed, nothing freed. Arrays in time order; m computed from them. */
struct bt_report {
    const char *script;      /* path as given */
    const char *const *data; /* data files or replay files */
    int ndata;
    const char *params; /* "fast=5 qty=10 slow=20", or NULL */
    const struct instruments *ins;
    const struct bt_metrics *m;
    const struct bt_sample *samples;
    int nsamples;
    const struct bt_price *prices;
    int nprices;
    const struct bt_fill *fills;
    int nfills;
    const struct bt_trade *trades;
    int ntrades;
    const struct order *orders; /* final state of every order (order.h) */
    int norders;
    const struct bt_denial *denials;
    int ndenials;
    uint64_t nsignals;
    const char *data_json; /* a JSON object ({"rows":..,"bad":..}) put in
                              summary.json as "input", or NULL */
};

/* Writes the five files into dir. Returns 0, or -1 with e ("DIR/FILE: reason", or
 * data_json that is not a JSON object); files already written stay. */
int bt_report_write(const char *dir, const struct bt_report *r, struct err *e);

/* The summary table for a terminal: period, trades, win rate, total return, CAGR,
 * Sharpe, Sortino, max drawdown, profit factor, exposure, commissions, final equity,
 * orders, denials (by reason) and signals. */
void bt_summary_print(FILE *out, const struct bt_report *r);

#endif
