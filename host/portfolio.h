/* portfolio.h: positions, cash and P&L, per strategy and in total; the equity curve
 * and its metrics (DESIGN.md §3, §8).
 *
 * Money is int64 fixed point with MONEY_DP decimals. A fill's cash amount is its
 * notional px*qty computed exactly (128-bit) and rounded once, half away from zero, to
 * money units; its commission is a money amount too. From then on everything is
 * integer arithmetic, so these identities hold exactly after any sequence of fills:
 *   cash        = initial cash - sum(side * notional) - sum(commission)
 *   position    = sum(side * qty)
 *   realized    = sum over reducing fills of (their proceeds - the cost basis they remove)
 *   cost basis  = sum(side * notional) + realized   (per account and symbol; portfolio.c)
 * as long as no sum leaves int64 (sums saturate rather than wrap).
 * Average cost: a position keeps its cost basis (money, signed like the quantity); a
 * fill that reduces it removes cost * q / |qty| (truncated; the remainder stays in the
 * basis, so nothing is lost), a fill that crosses zero closes and reopens.
 *
 * Accounts: one per strategy id (created on first fill or by portfolio_account) plus
 * the total, which sees every fill. Marks (last trade or mid, chosen by the caller)
 * value open positions: unrealized = qty * mark - cost basis.
 *
 * The equity curve: portfolio_sample appends (time, equity) to every account at the
 * caller's pace (the host samples once per second live, once per bar in backtests),
 * keeping the last PORTFOLIO_CURVE_MAX samples (16 bytes each); metrics are computed
 * from the retained samples in double (statistics, not accounting). The module knows
 * nothing of the bus or Lua. Position pointers stay valid until portfolio_free. */
#ifndef LUATRADE_PORTFOLIO_H
#define LUATRADE_PORTFOLIO_H

#include <stdint.h>

#include "instrument.h"

struct cJSON;

#define MONEY_DP            6
#define PORTFOLIO_CURVE_MAX 1000000 /* samples kept per account (a ring) */

/* px*qty of instrument ins in money units, rounded half away from zero (exact 128-bit
 * product). Saturates to INT64_MIN/MAX when it does not fit (callers' risk checks
 * keep orders far below that). */
int64_t money_notional(const struct instrument *ins, int64_t px, int64_t qty);

struct fill {
    uint64_t order_id;
    char exec_id[48]; /* the venue's execution id: fills are deduplicated by it */
    int sym;
    int side;           /* +1 buy, -1 sell */
    int64_t px, qty;    /* instrument units; qty > 0 */
    int64_t commission; /* money units, >= 0 */
    int64_t ts_us;
};

struct position {
    int sym;
    int64_t qty;      /* signed, qty units */
    int64_t cost;     /* cost basis, money units, same sign as qty (0 when flat) */
    int64_t realized; /* money units */
    int64_t commissions;
    int64_t bought, sold; /* qty units traded, for statistics */
};

struct portfolio_totals {
    int64_t cash, equity, realized, unrealized, commissions;
    int64_t gross_exposure, net_exposure; /* sum |qty*mark|, sum qty*mark */
    int64_t day_start_equity, day_pnl;
    int64_t peak_equity; /* max of the initial cash, every sample and the current equity */
    int64_t drawdown;    /* peak_equity - equity */
    int64_t initial_cash;
    uint64_t fills;
};

/* Metrics of an account's curve, read in O(1) (kept up to date as samples come and go).
 * Its returns, over the retained samples: r_i = e_i / e_(i-1) - 1 for
 * consecutive samples with e_(i-1) > 0 (other pairs give none); n returns, mean m.
 *   sharpe  = m / sd * sqrt(periods_per_year), sd the sample stddev (n - 1); 0 when n < 2
 *             or sd = 0
 *   sortino = m / dd * sqrt(periods_per_year), dd = sqrt(sum(min(r, 0)^2) / n); 0 when
 *             n < 2; when dd = 0, INFINITY if m > 0, else 0
 *   var95   = max(0, -s[(n - 1) / 20]), s the returns sorted ascending; 0 when n = 0
 * Closing fills are fills that reduce a position (crossing ones included); their realized
 * P&L before commissions makes a win (> 0) or a loss (< 0). */
struct portfolio_metrics {
    int samples;         /* retained */
    double total_return; /* current equity / initial - 1 (0 when initial <= 0) */
    double sharpe, sortino;
    double max_drawdown;        /* largest (peak - e) / peak over every sample of the run
                                   (peaks > 0), retained or not */
    int64_t max_drawdown_money; /* largest peak - e over the run (maximized separately) */
    int closing_fills, wins;
    double win_rate;      /* wins / closing fills (0 when none) */
    double profit_factor; /* gross profit / gross loss (INFINITY when no loss, 0 when
                           * neither) */
    double var95;         /* historical 1-sample VaR 95%, as a fraction of equity (>= 0) */
};

struct portfolio;

/* initial_cash in money units. periods_per_year annualizes Sharpe/Sortino (for 1 s
 * samples of a 6.5 h trading day: 252 * 23400). */
struct portfolio *portfolio_new(const struct instruments *ins, int64_t initial_cash,
                                double periods_per_year);
void portfolio_free(struct portfolio *p);
/* A number that changes whenever anything in the portfolio may have (a fill, a mark, a
 * sample, a new day, a new account): readers cache what they built from it. */
uint64_t portfolio_generation(const struct portfolio *p);

/* Makes sure an account exists for strategy, with initial cash (money units; its
 * declared capital, or 0). Idempotent: an existing account keeps its cash. */
void portfolio_account(struct portfolio *p, const char *strategy, int64_t initial_cash);

/* Books a fill to the total and, unless strategy is NULL or "", to strategy's account
 * (created with 0 initial cash when new). Returns the realized P&L of the reducing part
 * in strategy's account (the total's when none): money units, 0 when the fill only
 * opened or added. Every call books: deduplication by exec_id is the caller's. */
int64_t portfolio_apply_fill(struct portfolio *p, const char *strategy, const struct fill *f);

/* Sets the mark price of sym (instrument units). */
void portfolio_mark(struct portfolio *p, int sym, int64_t px);
int64_t portfolio_mark_of(const struct portfolio *p, int sym); /* 0 when none */

/* strategy NULL or "": the total. NULL when the account never traded sym (a flat position
 * that traded is returned). */
const struct position *portfolio_position(const struct portfolio *p, const char *strategy, int sym);
/* Signed quantity (0 when none). */
int64_t portfolio_qty(const struct portfolio *p, const char *strategy, int sym);
/* Fills out (zeros for an unknown strategy). Valued at the marks; a position with no mark
 * is valued at its cost basis. */
void portfolio_totals(const struct portfolio *p, const char *strategy,
                      struct portfolio_totals *out);

/* Starts a new trading day: day_start_equity = current equity, for every account. */
void portfolio_new_day(struct portfolio *p);
/* Appends (ts_us, equity) to every account's curve. */
void portfolio_sample(struct portfolio *p, int64_t ts_us);
void portfolio_metrics(const struct portfolio *p, const char *strategy,
                       struct portfolio_metrics *out);

/* Accounts: strategy ids in creation order (the total is not listed). The arrays below
 * are the portfolio's, valid until the next portfolio_account or portfolio_apply_fill. */
int portfolio_accounts(const struct portfolio *p, const char *const **out);
/* Positions of an account (NULL: the total), including flat ones that traded. */
int portfolio_positions(const struct portfolio *p, const char *strategy,
                        const struct position *const **out);

/* JSON (money and prices as numbers in currency and price units):
 *   position: {symbol, qty, avg_price, cost, mark, market_value, unrealized, realized,
 *              commissions}   (avg_price null when flat; mark null when unmarked, and
 *              market_value then the cost)
 *   totals:   {cash, equity, realized, unrealized, commissions, gross_exposure,
 *              net_exposure, day_pnl, drawdown, peak_equity, initial_cash, fills}
 *   metrics:  {total_return, sharpe, sortino, max_drawdown, win_rate, profit_factor, var95,
 *              samples}        (INFINITY is written as null)
 * An unknown strategy gives the zeros of portfolio_totals / portfolio_metrics. */
struct cJSON *portfolio_position_json(const struct portfolio *p, const struct position *pos);

/* A POSITION_UPDATE or PORTFOLIO_UPDATE as data (event.h): what the JSON shows, taken
 * when the event is published, turned into JSON only when someone reads it (the event
 * log holds every event; most are never read). */
struct portfolio_update {
    int is_position;
    char strategy[64];   /* the position's account */
    struct position pos; /* is_position */
    int64_t value;       /* the position's market value (its cost when unmarked) */
    int64_t mark;        /* valid when marked */
    int marked;
    struct portfolio_totals totals; /* !is_position */
};
void portfolio_position_update(const struct portfolio *p, const char *strategy,
                               const struct position *pos, struct portfolio_update *out);
void portfolio_totals_update(const struct portfolio *p, const char *strategy,
                             struct portfolio_update *out);
/* The JSON of an update: the position shape plus "strategy", or the totals shape. */
struct cJSON *portfolio_update_json(const struct portfolio_update *u,
                                    const struct instruments *ins);
struct cJSON *portfolio_totals_json(const struct portfolio *p, const char *strategy);
struct cJSON *portfolio_metrics_json(const struct portfolio *p, const char *strategy);

#endif
