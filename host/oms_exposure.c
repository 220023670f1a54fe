/* oms_exposure.c: what the risk guardian sees of the order manager (struct risk_env:
 * reference prices, feed age, exposure, P&L, trading windows) and, behind the exposure,
 * what working orders add to each account, kept up to date
 * as orders change, so a pre-trade risk check costs O(1) instead of a scan of every
 * working order (which made a batch of K orders cost O(K^2)).
 *
 * An order counts while it is working (not terminal, not a held bracket exit) and no
 * cancel was sent for it. What it adds: its leaves to the buy or sell total of its
 * symbol, one to the account's working count, and leaves at its exposure price (limit,
 * else stop, else the reference price when it was submitted) to the working notional;
 * and, for limit orders, one to the symbol's resting-limit count (self-cross then scans
 * only when there is something to find).
 *
 * Every change to an order goes through the same pair: oms_expo_apply(o, ord, -1),
 * change, oms_expo_apply(o, ord, +1). After replay the totals are rebuilt from the
 * book. Debug builds re-derive them by a full scan on every query and abort on any
 * difference, so a missed pair cannot go unnoticed in the test suite. */
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "market.h"
#include "strategy.h"
#include "oms_internal.h"
#include "util.h"

struct expo_acct {
    char id[ORDER_SID_MAX];
    int64_t *buy, *sell; /* per instrument: working leaves */
    int *limits;         /* per instrument: resting limit orders */
    int count;
    int64_t notional;
};

static struct expo_acct *acct(struct oms *o, const char *strategy)
{
    if (!strategy) return o->expo_total;
    for (int i = 0; i < o->nexpo; i++)
        if (strcmp(o->expo[i]->id, strategy) == 0) return o->expo[i];
    struct expo_acct *a = xcalloc(1, sizeof *a);
    int n = o->h->instruments.n;
    util_strlcpy(a->id, strategy, sizeof a->id);
    a->buy = xcalloc((size_t)n + 1, sizeof *a->buy);
    a->sell = xcalloc((size_t)n + 1, sizeof *a->sell);
    a->limits = xcalloc((size_t)n + 1, sizeof *a->limits);
    o->expo = xrealloc(o->expo, (size_t)(o->nexpo + 1) * sizeof *o->expo);
    o->expo[o->nexpo++] = a;
    return a;
}

static void acct_free(struct expo_acct *a)
{
    if (!a) return;
    free(a->buy);
    free(a->sell);
    free(a->limits);
    free(a);
}

static int counts(const struct order *d)
{
    return order_working(d) && !d->cancel_pending;
}

static int64_t notional_of(const struct oms *o, const struct order *d)
{
    int64_t px = d->limit_px ? d->limit_px : d->stop_px ? d->stop_px : d->expo_px;
    return money_notional(&o->h->instruments.v[d->sym], px, order_leaves(d));
}

static void add(struct expo_acct *a, const struct order *d, int64_t notional, int sign)
{
    int64_t leaves = order_leaves(d);
    if (d->side == SIDE_BUY) a->buy[d->sym] += sign * leaves;
    else a->sell[d->sym] += sign * leaves;
    if (d->type == OT_LIMIT) a->limits[d->sym] += sign;
    a->count += sign;
    a->notional += sign * notional;
}

void oms_expo_apply(struct oms *o, const struct order *d, int sign)
{
    if (!counts(d)) return;
    int64_t notional = notional_of(o, d);
    add(acct(o, d->strategy), d, notional, sign);
    add(o->expo_total, d, notional, sign);
}

void oms_expo_init(struct oms *o)
{
    o->expo_total = NULL;
    o->nexpo = 0;
    struct expo_acct *t = xcalloc(1, sizeof *t);
    int n = o->h->instruments.n;
    t->buy = xcalloc((size_t)n + 1, sizeof *t->buy);
    t->sell = xcalloc((size_t)n + 1, sizeof *t->sell);
    t->limits = xcalloc((size_t)n + 1, sizeof *t->limits);
    o->expo_total = t;
}

void oms_expo_free(struct oms *o)
{
    for (int i = 0; i < o->nexpo; i++) acct_free(o->expo[i]);
    free(o->expo);
    acct_free(o->expo_total);
    o->expo = NULL;
    o->expo_total = NULL;
    o->nexpo = 0;
}

void oms_expo_rebuild(struct oms *o)
{
    oms_expo_free(o);
    oms_expo_init(o);
    struct order *const *w;
    int n = order_book_working(o->book, &w);
    for (int i = 0; i < n; i++) oms_expo_apply(o, w[i], +1);
}

/* Highest resting own buy limit and lowest sell limit in sym (strategy NULL: anyone's). */
static void best_own(struct oms *o, const char *strategy, int sym, struct risk_exposure *out)
{
    struct order *const *w;
    int n = order_book_working(o->book, &w);
    for (int i = 0; i < n; i++) {
        const struct order *d = w[i];
        if (d->sym != sym || d->type != OT_LIMIT || !counts(d)) continue;
        if (strategy && strcmp(d->strategy, strategy) != 0) continue;
        if (d->side == SIDE_BUY && d->limit_px > out->best_own_bid) out->best_own_bid = d->limit_px;
        if (d->side == SIDE_SELL && (!out->best_own_ask || d->limit_px < out->best_own_ask))
            out->best_own_ask = d->limit_px;
    }
}

#ifndef NDEBUG
/* The totals a full scan gives must equal the tracked ones. */
static void verify(struct oms *o, const char *strategy, int sym, const struct expo_acct *a)
{
    int64_t buy = 0, sell = 0, notional = 0;
    int count = 0, limits = 0;
    struct order *const *w;
    int n = order_book_working(o->book, &w);
    for (int i = 0; i < n; i++) {
        const struct order *d = w[i];
        if (!counts(d) || (strategy && strcmp(d->strategy, strategy) != 0)) continue;
        count++;
        notional += notional_of(o, d);
        if (d->sym != sym) continue;
        if (d->side == SIDE_BUY) buy += order_leaves(d);
        else sell += order_leaves(d);
        limits += d->type == OT_LIMIT;
    }
    ASSERT(buy == a->buy[sym] && sell == a->sell[sym] && count == a->count &&
           notional == a->notional && limits == a->limits[sym]);
}
#endif

void oms_expo_query(struct oms *o, const char *strategy, int sym, struct risk_exposure *out)
{
    const struct expo_acct *a = acct(o, strategy);
#ifndef NDEBUG
    verify(o, strategy, sym, a);
#endif
    out->working_buy = a->buy[sym];
    out->working_sell = a->sell[sym];
    out->working_orders = a->count;
    out->gross_exposure += a->notional;
    if (a->limits[sym] > 0) best_own(o, strategy, sym, out);
}

/* ---- the risk guardian's view of the world ----------------------------------------------- */

int oms_reference_price(struct oms *o, int sym, int64_t *px, int64_t *ts_us)
{
    int64_t qts = 0, tts = 0;
    const struct quote *q = market_quote(o->h->market, sym, &qts, NULL);
    if (q && q->bid_px > 0 && q->ask_px > 0) {
        *px = (q->bid_px + q->ask_px) / 2;
        *ts_us = qts;
        return 0;
    }
    const struct trade *t = market_trade(o->h->market, sym, &tts, NULL);
    if (!t) return -1;
    *px = t->px;
    *ts_us = tts;
    return 0;
}

static int64_t env_last_data(void *arg, int sym)
{
    struct oms *o = arg;
    int64_t qts = 0, tts = 0;
    if (!market_quote(o->h->market, sym, &qts, NULL)) qts = 0;
    if (!market_trade(o->h->market, sym, &tts, NULL)) tts = 0;
    return qts > tts ? qts : tts;
}

static void env_exposure(void *arg, const char *strategy, int sym, struct risk_exposure *out)
{
    struct oms *o = arg;
    memset(out, 0, sizeof *out);
    out->position = portfolio_qty(o->pf, strategy, sym);
    struct portfolio_totals t;
    portfolio_totals(o->pf, strategy, &t);
    out->gross_exposure = t.gross_exposure;
    oms_expo_query(o, strategy, sym, out);
}

static void env_pnl(void *arg, const char *strategy, int64_t *day_pnl, int64_t *drawdown)
{
    struct oms *o = arg;
    struct portfolio_totals t;
    portfolio_totals(o->pf, strategy, &t);
    *day_pnl = t.day_pnl;
    *drawdown = t.drawdown;
}

static int env_in_window(void *arg, const char *strategy, int64_t now)
{
    struct oms *o = arg;
    struct strategy *st = o->h->strategies ? strategies_find(o->h->strategies, strategy) : NULL;
    return st ? strategy_in_window(st, now) : 1;
}

static int env_reference(void *arg, int sym, int64_t *px, int64_t *ts_us)
{
    return oms_reference_price(arg, sym, px, ts_us);
}

void oms_risk_env(struct oms *o, struct risk_env *env)
{
    *env = (struct risk_env){&o->h->instruments, o,       env_reference, env_last_data,
                             env_exposure,       env_pnl, env_in_window};
}
