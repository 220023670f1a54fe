/* backtest_metrics.h: the numbers a backtest reports, computed from its record: the
 * equity curve (samples), the fills, and the round trips built from the fills.
 *
 * Pure functions: no I/O, no bus, no Lua; the caller owns every array. Money is int64
 * with MONEY_DP decimals (portfolio.h); prices and quantities are in instrument units.
 *
 * Definitions, over the samples e_0 .. e_(N-1) (equity, money) at times t_0 .. t_(N-1):
 *   returns       r_i = e_i / e_(i-1) - 1 for consecutive samples with e_(i-1) > 0 (other
 *                 pairs give none); n returns, mean m
 *   sharpe        m / sd * sqrt(ppy), sd the sample stddev (n - 1); 0 when n < 2 or sd = 0
 *   sortino       m / dd * sqrt(ppy), dd = sqrt(sum(min(r_i, 0)^2) / n); 0 when n < 2;
 *                 when dd = 0: INFINITY if m > 0, else 0      (both as portfolio.h's live
 *                 metrics; ppy = periods per year, the sampling rate)
 *   max_drawdown  max over samples of (peak - e_i) / peak, peak = max(initial, e_0..e_i)
 *                 (0 while peak <= 0); max_drawdown_money the largest peak - e_i
 *   total_return  final / initial - 1 (final = e_(N-1), initial when N = 0; 0 when
 *                 initial <= 0)
 *   cagr          (final / initial)^(1 / years) - 1, years = (t_(N-1) - t_0) / 365.25 days;
 *                 0 when the span is 0 or initial <= 0; -1 when final <= 0
 *   exposure      the share of [t_0, t_(N-1)] spent with gross > 0: the interval
 *                 [t_(i-1), t_i) counts when sample i-1 had gross > 0; 0 when the span is 0
 *   trades, wins  closed round trips, and those with pnl > 0; win_rate = wins / trades
 *                 (0 when none)
 *   profit_factor sum of the pnl of winning trades / -sum of the pnl of losing ones
 *                 (INFINITY with no loss and some profit, 0 with neither)
 *   commissions   sum over every fill
 * Statistics are doubles (not accounting); money stays integer. */
#ifndef LUATRADE_BACKTEST_METRICS_H
#define LUATRADE_BACKTEST_METRICS_H

#include <stdint.h>

#include "instrument.h"

/* An equity curve point: equity and gross exposure (sum |qty * mark|), money units. */
struct bt_sample {
    int64_t t_us;
    int64_t equity;
    int64_t gross;
};

struct bt_fill {
    int64_t t_us;
    uint64_t order_id;
    int sym;
    int side;           /* +1 buy, -1 sell */
    int64_t px, qty;    /* instrument units, qty > 0 */
    int64_t commission; /* money units, >= 0 */
};

/* A round trip in one symbol: from its position leaving 0 to it returning to 0. */
struct bt_trade {
    int sym, side;             /* +1 long, -1 short */
    int64_t open_us, close_us; /* close_us: the closing fill; open trades: the mark's time,
                                  0 when unmarked */
    int64_t qty;               /* largest |position| during the trade, qty units */
    int64_t entry_px, exit_px; /* average fill prices in and out, instrument units, rounded
                                  half away from zero (open trades: the mark counts as an
                                  exit; exit_px 0 while nothing went out) */
    int64_t pnl;               /* money: side * (proceeds out - cost in) - commission */
    int64_t commission;        /* money: its fills' commissions (split ones pro rata) */
    double ret;                /* pnl / the notional of every fill in (0 when that is 0) */
    int fills;                 /* fills that touched it (a crossing fill counts in both) */
    int open;                  /* still open at the end: excluded from every count */
};

/* Builds the round trips of fills, which must be in time order. A fill that crosses
 * zero closes one trade and opens the next with the rest of its quantity: the reopened
 * part's notional is rounded on its own and the closing part gets the rest (as portfolio.c
 * books it, so each trade's pnl + commission is what the portfolio realized over it); the
 * commission splits pro rata, the closing part's share truncated and the rest to the new
 * trade (no unit lost). Trades come in the order they opened. Returns the
 * number of trades and sets *out to a malloc'd array the caller frees (NULL when none).
 * A fill with a bad side, symbol or quantity is a caller bug (ASSERT).
 * Trades still open at the end have open = 1 and are valued at the average cost: pnl =
 * what the partial exits realized (against the average entry) - commissions. */
int bt_trades_from_fills(const struct instruments *ins, const struct bt_fill *f, int n,
                         struct bt_trade **out);
/* The same, but open trades are marked: valued as if their rest were closed at
 * last_px[sym] (instrument units, indexed by symbol id; 0 = no price: valued as above)
 * at time mark_us, which becomes their close_us. last_px NULL: no marks. */
int bt_trades_build(const struct instruments *ins, const struct bt_fill *f, int n,
                    const int64_t *last_px, int64_t mark_us, struct bt_trade **out);

struct bt_metrics {
    int64_t start_us, end_us; /* first and last sample (0 when none) */
    int64_t initial, final;   /* money */
    int trades, wins;         /* closed round trips; pnl > 0 is a win */
    double win_rate, total_return, cagr, sharpe, sortino, max_drawdown, profit_factor, exposure;
    int64_t max_drawdown_money, commissions; /* money */
    int samples;
    double periods_per_year;
};

/* Fills out from the samples (time order), the trades and the fills, by the definitions
 * above. initial in money units; periods_per_year annualizes Sharpe and Sortino. */
void bt_metrics_compute(const struct bt_sample *s, int ns, const struct bt_trade *t, int nt,
                        const struct bt_fill *f, int nf, int64_t initial, double periods_per_year,
                        struct bt_metrics *out);

/* For sweeps: the value of the metric called name (one of bt_metric_names) into *value
 * and whether a higher value ranks better into *higher_better (max_drawdown and exposure
 * rank lower first; the others higher). Returns 0, or -1 for an unknown name. */
int bt_metric_value(const struct bt_metrics *m, const char *name, double *value,
                    int *higher_better);
/* "sharpe, sortino, ..." (every name bt_metric_value knows), for messages. */
const char *bt_metric_names(void);

#endif
