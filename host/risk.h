/* risk.h: the risk guardian (DESIGN.md §8; shared/notes risk checklist): synchronous
 * pre-trade checks with reason codes, trading states, the kill switch and risk alerts.
 *
 * Operator-configured, in C, invisible to strategies. Every new order, from a strategy,
 * REST or the console, passes risk_check_new before it exists; every cancel and replace
 * passes its own check. A check runs on the raw request (doubles as received, a symbol
 * string): field sanity comes first and converts to fixed point, so no threshold is
 * ever compared with NaN, an infinity, -0, a negative, or an off-grid value. It fails
 * closed: a check that cannot be evaluated (no reference price, stale feed) denies.
 *
 * Limits: one global set and an optional set per strategy; a value of 0 means "no
 * limit" (except where noted). Both sets apply to a strategy's order; the global set
 * sees totals over every strategy.
 *
 * Trading state, per strategy and global: ACTIVE -> REDUCING (only orders that reduce the
 * position pass) when the daily loss or the drawdown from peak reaches its limit ->
 * HALTED (nothing new passes; cancels do) when it reaches limit * halt_ratio (the global
 * set's halt_ratio, for every account; a strategy set cannot have its own). A new day
 * (risk_new_day) returns REDUCING/HALTED-by-loss to ACTIVE; the kill switch is separate.
 *
 * The kill switch latches: risk_kill (loop thread) or risk_kill_async (a signal handler,
 * the watchdog thread: async-signal-safe, sets an atomic flag that risk_check_new honours
 * at once, even inside a stuck strategy's call) blocks every new order until risk_rearm.
 * Cancelling working orders and flattening is the caller's job (oms.c).
 *
 * Events (source "risk"): RISK_CHECK on every denial ({strategy, symbol, side, qty, price,
 * reason, message, limit, value, max, scope}: limit names the limit or grid that failed,
 * value is the offending figure, max the limit, scope "strategy" or "global" for the set
 * that denied; null where they do not apply). RISK_ALERT when a limit's utilization rises
 * past a threshold ({severity, limit, strategy, utilization, value, max}; strategy null
 * for the totals); thresholds re-arm when utilization falls back below them. RISK_ALERT
 * also on every trading-state change ({severity HIGH for REDUCING, CRITICAL for HALTED,
 * LOW for ACTIVE, limit, strategy, state, from, reason, value, max}). KILL_SWITCH
 * ({active: true, reason} / {active: false, by}). Needs only the bus and clock; the order
 * book, portfolio and market are reached through struct risk_env so risk is testable
 * alone. */
#ifndef LUATRADE_RISK_H
#define LUATRADE_RISK_H

#include <stdint.h>

#include "err.h"
#include "instrument.h"

struct bus;
struct clock;
struct cJSON;

/* clang-format off */
#define RISK_REASONS(X)                                                                        \
    X(OK) X(UNKNOWN_SYMBOL) X(BAD_QUANTITY) X(BAD_PRICE) X(OFF_LOT) X(OFF_TICK)                \
    X(MAX_ORDER_QTY) X(MAX_ORDER_NOTIONAL) X(NO_REFERENCE_PRICE) X(PRICE_BAND)                 \
    X(MAX_POSITION) X(MAX_GROSS_EXPOSURE) X(MAX_WORKING_ORDERS) X(ORDER_RATE) X(CANCEL_RATE)   \
    X(DUPLICATE_ORDER) X(SELF_CROSS) X(RESTRICTED_SYMBOL) X(OUTSIDE_WINDOW) X(STALE_FEED)      \
    X(REDUCING_ONLY) X(HALTED) X(KILL_SWITCH) X(JOURNAL_UNAVAILABLE) X(UNKNOWN_ORDER)          \
    X(NOT_WORKING)

enum risk_reason {
#define X(name) RISK_##name,
    RISK_REASONS(X)
#undef X
    RISK__COUNT
};
/* clang-format on */

/* "MAX_ORDER_QTY" etc. */
const char *risk_reason_name(enum risk_reason r);

enum trading_state { TS_ACTIVE, TS_REDUCING, TS_HALTED };
const char *trading_state_name(enum trading_state s);

enum risk_severity { SEV_LOW, SEV_MEDIUM, SEV_HIGH, SEV_CRITICAL, SEV__COUNT };
const char *risk_severity_name(enum risk_severity s);

/* Limits in currency, price and quantity units as the operator writes them; 0 = none.
 * The table in risk.c (name, offset) lets config, REST and the console set them by name. */
struct risk_limits {
    double max_order_qty;
    double max_order_notional;
    double price_band_pct;      /* limit/stop price within this % of the reference (<= 9 dp) */
    double reference_max_age_s; /* reference older than this is stale (default 5) */
    double max_position;        /* |position + working same-side + order| per symbol */
    double max_gross_exposure;  /* sum |position value| + working notional + order */
    double max_working_orders;
    double max_orders_per_s;   /* new orders, token bucket with a burst of one second */
    double max_cancels_per_s;  /* cancels and replaces */
    double duplicate_window_s; /* same side/symbol/qty/type/prices within this window */
    double daily_loss_limit;   /* day P&L <= -limit -> REDUCING */
    double max_drawdown;       /* peak equity - equity >= limit -> REDUCING */
    double halt_ratio;         /* HALTED at limit * this (default 1.5; 0 never, else >= 1) */
    double stale_feed_s;       /* no market data for the symbol within this -> STALE_FEED */
    int self_cross;            /* 1 (default): refuse orders crossing our own resting ones */
};

#define RISK_RESTRICTED_MAX 64

struct risk_config {
    struct risk_limits global;
    struct risk_limits *per; /* per-strategy sets, parallel to ids */
    char **ids;
    int nper;
    char **restricted; /* symbols no strategy may trade */
    int nrestricted;
    double alert_at[SEV__COUNT]; /* utilization thresholds (default .5 .75 .9 1.0) */
};

enum order_request_has {
    REQ_LIMIT = 1,
    REQ_STOP = 2,
    REQ_TRAIL = 4,
    REQ_TAKE_PROFIT = 8,
    REQ_STOP_LOSS = 16,
};

/* A new order as received. strategy is "manual" for REST and console orders. */
struct order_request {
    const char *strategy;
    const char *symbol;
    int side; /* +1 buy, -1 sell (anything else is a caller bug: ASSERT) */
    double qty, limit, stop, trail, take_profit, stop_loss;
    unsigned has;    /* enum order_request_has bits */
    int reduce_only; /* flatten: must reduce the strategy's position (else REDUCING_ONLY) */
};

/* The request in fixed point, filled by a passing check. */
struct order_checked {
    int sym;
    int64_t qty, limit_px, stop_px, trail_px, tp_px, sl_px;
};

/* Exposure of one account (a strategy, or NULL for the total) in one symbol. */
struct risk_exposure {
    int64_t position;    /* signed, qty units */
    int64_t working_buy; /* leaves of working buy orders, qty units */
    int64_t working_sell;
    int working_orders;                 /* in every symbol */
    int64_t gross_exposure;             /* money units: sum |position value| + working notional */
    int64_t best_own_bid, best_own_ask; /* highest resting own buy limit, lowest sell; 0 none */
};

struct risk_env {
    const struct instruments *ins;
    void *arg;
    /* Reference price for price bands and notional of market orders (mid, else last):
     * returns 0 and fills px and ts_us (when it was set), or -1 when there is none. A
     * px <= 0 counts as none. */
    int (*reference)(void *arg, int sym, int64_t *px, int64_t *ts_us);
    /* Last market data of any kind for sym (stale-feed breaker); 0 when never. */
    int64_t (*last_data_us)(void *arg, int sym);
    void (*exposure)(void *arg, const char *strategy, int sym, struct risk_exposure *out);
    /* Day P&L and drawdown from peak of an account, money units. */
    void (*pnl)(void *arg, const char *strategy, int64_t *day_pnl, int64_t *drawdown);
    /* 1 when strategy may trade now (its declared window); NULL = always. */
    int (*in_window)(void *arg, const char *strategy, int64_t now_us);
};

struct risk;

/* Copies cfg, which must pass risk_config_check (ASSERT). Publishes on bus; reads time
 * from clock. Every env callback but in_window is required. */
struct risk *risk_new(const struct risk_config *cfg, const struct risk_env *env, struct bus *bus,
                      const struct clock *clock);
void risk_free(struct risk *r);
/* Fills cfg with the defaults (every limit off except reference_max_age_s 5,
 * halt_ratio 1.5, self_cross 1; alert thresholds .5 .75 .9 1.0). */
void risk_config_defaults(struct risk_config *cfg);
/* Frees ids, per and restricted (each string and the arrays). */
void risk_config_free(struct risk_config *cfg);
/* 0, or -1 with e: a limit negative or not finite (risk_set_limit's rules), a strategy
 * set without an id or given twice, too many restricted symbols, a bad alert threshold. */
int risk_config_check(const struct risk_config *cfg, struct err *e);

/* Pre-trade check of a new order (order of the checks: risk.c). Returns RISK_OK and
 * fills out (may be NULL) and msg with "", or a reason (and publishes RISK_CHECK, and
 * writes a human message into msg when not NULL). A passing check allocates nothing. */
enum risk_reason risk_check_new(struct risk *r, const struct order_request *req,
                                struct order_checked *out, char *msg, size_t msgn);
/* Cancel and replace throttles, the strategy's and the global one (cancels pass the kill
 * switch and every state). Returns RISK_OK or RISK_CANCEL_RATE. */
enum risk_reason risk_check_cancel(struct risk *r, const char *strategy);

/* Post-trade: re-evaluates loss limits and utilizations (after fills and marks) of the
 * global account and every strategy that has a limit set or a state. A loss or drawdown
 * rising to its limit escalates the state (never lowers it); an operator's
 * risk_set_state holds until the next threshold is crossed. May publish RISK_ALERT. */
void risk_update(struct risk *r);
/* Call after the portfolio's new day: states set by the daily loss return to ACTIVE. */
void risk_new_day(struct risk *r);

enum trading_state risk_state(const struct risk *r, const char *strategy); /* NULL: global */
/* Operator override (REST/console), e.g. back to ACTIVE after review. */
void risk_set_state(struct risk *r, const char *strategy, enum trading_state s, const char *why);

/* Kill switch. risk_kill latches it, logs and publishes KILL_SWITCH; again while latched
 * it does nothing. The caller cancels working orders. */
void risk_kill(struct risk *r, const char *why);
void risk_kill_async(struct risk *r); /* async-signal-safe, any thread */
/* 1 once a kill (sync or async) was requested and not re-armed. Any thread. */
int risk_killed(const struct risk *r);
/* Loop thread, every turn: 1 (once) when risk_kill_async fired since the last poll. It has
 * then run risk_kill(r, "async") (latch, log, event); the caller cancels working orders. */
int risk_kill_poll(struct risk *r);
/* Clears the latch, logs and publishes KILL_SWITCH {active: false, by}. An async request
 * not yet polled stays pending: the next poll kills again. */
void risk_rearm(struct risk *r, const char *who);

/* Replaces the whole limit set of strategy (NULL: the global set). */
void risk_set_limits(struct risk *r, const char *strategy, const struct risk_limits *l);
/* Limits by name ("max_order_qty", ...): for config, REST and the console. strategy NULL:
 * the global set; an unknown strategy gets a set of its own (all zeros). Logs the change.
 * Returns 0, or -1 with e (unknown name, negative or non-finite, self_cross not 0 or 1,
 * halt_ratio per strategy or in (0, 1), price_band_pct with more than 9 decimals). */
int risk_set_limit(struct risk *r, const char *strategy, const char *name, double value,
                   struct err *e);
/* {global: {name: value...}, strategies: {id: {name: value...}}, state, killed,
 *  utilization: {daily_loss, drawdown, gross_exposure, working_orders, position},
 *  accounts: {id: {state, utilization: {...}}}, restricted: [symbol...],
 *  denials: {REASON: n}}; state and utilization are the global account's, utilization
 *  as of the last risk_update. */
struct cJSON *risk_limits_json(const struct risk *r);
/* Denials per reason since start. */
uint64_t risk_denials(const struct risk *r, enum risk_reason reason);

#endif
