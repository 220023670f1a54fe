/* venue_paper_fill.c: the paper venue's fill model (venue_paper.h): what happens when a
 * request reaches the book and when a quote or a trade arrives. It decides; the book
 * (venue_paper_book.c) applies, journals and reports.
 *
 * An order is live when it can fill: market and limit orders at once, stops once
 * triggered (then a stop or trailing stop is a market order, a stop-limit a limit
 * order). Live orders fill against the current quote: market orders at the far side
 * worsened by slippage, limit orders at the far side when it is at or better than the
 * limit. Resting live limits also fill at their limit on a trade through it (or at it,
 * fill_on_touch). Untriggered stops look only at trades: a trailing stop first moves its
 * level, then any stop triggers when the trade is at or through its level, and tries the
 * quote at once (IOC/FOK then apply, as on arrival). An order triggered by a trade does
 * not fill on that trade's print; it was not resting when it printed.
 *
 * Liquidity is shared: a quote's size is consumed by our fills until the next quote, and
 * a trade's size by the resting limits it fills, in time priority (the order they reached
 * the book; a replace with a new price or a larger quantity goes to the back).
 *
 * Expiry: a DAY order with expire_us expires on the venue's expiry timer, and an order
 * found past its expiry by any market event or on arrival expires then instead of
 * filling, so no fill ever happens after expire_us whatever the timer's lag.
 *
 * Money: notional px*qty is portfolio.h's money_notional (exact, rounded once, half away
 * from zero, to money units); commission is commission_per_unit * qty + commission_bps of
 * the notional, summed exactly and rounded once the same way (in 64 bits when one rate
 * is zero, which gives the same result). Slippage is slippage_bps of the quote price, rounded up to
 * a whole number of ticks (away from the trader), never below one tick on a sell.
 *
 * Matching walks only the symbol's working list and allocates nothing unless a report,
 * fill or journal buffer has to grow. */
#include "venue_paper_internal.h"

#include <string.h>

#include "fixed.h"
#include "portfolio.h"
#include "util.h"

#define MONEY_SCALE 1000000 /* 10^MONEY_DP */

static bool working(const struct vp_order *o)
{
    return o->status == OS_ACCEPTED || o->status == OS_PARTIALLY_FILLED;
}

static int64_t leaves(const struct vp_order *o)
{
    return o->o.qty - o->cum_qty;
}

static bool is_stop_type(enum order_type t)
{
    return t == OT_STOP || t == OT_STOP_LIMIT || t == OT_TRAIL;
}

static bool waiting_trigger(const struct vp_order *o)
{
    return is_stop_type(o->o.type) && !o->triggered;
}

static bool acts_as_limit(const struct vp_order *o)
{
    return o->o.type == OT_LIMIT || (o->o.type == OT_STOP_LIMIT && o->triggered);
}

static bool expired(const struct vp_order *o, int64_t now_us)
{
    return o->o.tif == TIF_DAY && o->o.expire_us > 0 && o->o.expire_us <= now_us;
}

static const struct instrument *instrument_of(const struct paper *p, const struct vp_order *o)
{
    return &p->ins->v[o->o.sym];
}

/* ---- money ---- */

static __int128 pow10_128(int n)
{
    __int128 v = 1;
    while (n-- > 0) v *= 10;
    return v;
}

/* num/den rounded half away from zero; den > 0. */
static __int128 div_round(__int128 num, __int128 den)
{
    __int128 q = num / den, r = num % den;
    if (r < 0) r = -r;
    if (2 * r >= den) q += num < 0 ? -1 : 1;
    return q;
}

static int64_t saturate(__int128 v)
{
    if (v > INT64_MAX) return INT64_MAX;
    if (v < INT64_MIN) return INT64_MIN;
    return (int64_t)v;
}

int64_t vp_notional(const struct instrument *ins, int64_t px, int64_t qty)
{
    return money_notional(ins, px, qty); /* the same rounding and saturation, by contract */
}

/* num/den rounded half away from zero; num >= 0, den > 0. In 64 bits when num fits. */
static int64_t div_round_nonneg(unsigned __int128 num, uint64_t den)
{
    if (num >> 64) return saturate(div_round((__int128)num, den));
    uint64_t n = (uint64_t)num, q = n / den, r = n % den;
    return saturate(r >= den - r ? (__int128)q + 1 : q);
}

/* per unit: comm_unit_e9 * qty / (10^qty_dp * 1e3) money units; bps: |notional| *
 * comm_bps_e4 / 1e8. Both rates are >= 0 (configure) and qty > 0. With one rate zero
 * the common denominator of the two terms cancels and the other term alone, rounded, is
 * the same number rounded the same way; its product fits in 127 bits and usually in 64. */
int64_t vp_commission(const struct paper *p, const struct instrument *ins, int64_t qty,
                      int64_t notional)
{
    ASSERT(p->comm_unit_e9 >= 0 && p->comm_bps_e4 >= 0 && qty >= 0);
    unsigned __int128 abs_notional =
        notional < 0 ? -(unsigned __int128)(__int128)notional : (unsigned __int128)notional;
    if (!p->comm_bps_e4 && !p->comm_unit_e9) return 0;
    if (!p->comm_bps_e4)
        return div_round_nonneg((unsigned __int128)p->comm_unit_e9 * (uint64_t)qty,
                                (uint64_t)fx_pow10(ins->qty_dp) * 1000);
    if (!p->comm_unit_e9)
        return div_round_nonneg(abs_notional * (uint64_t)p->comm_bps_e4, 100000000);
    /* Both: summed over the common denominator, rounded once. */
    __int128 den_unit = pow10_128(ins->qty_dp) * 1000, den_bps = 100000000;
    __int128 num = (__int128)p->comm_unit_e9 * qty * den_bps +
                   (__int128)abs_notional * p->comm_bps_e4 * den_unit;
    return saturate(div_round(num, den_unit * den_bps));
}

int64_t vp_slipped(const struct paper *p, const struct instrument *ins, enum order_side side,
                   int64_t px)
{
    if (!p->slip_e4) return px;
    __int128 den = (__int128)100000000 * ins->tick;
    __int128 ticks = ((__int128)px * p->slip_e4 + den - 1) / den;
    int64_t adj = saturate(ticks * ins->tick);
    if (side == SIDE_BUY) return px > INT64_MAX - adj ? INT64_MAX : px + adj;
    return px - adj >= ins->tick ? px - adj : ins->tick;
}

/* ---- filling ---- */

static void fill(struct paper *p, struct vp_order *o, int64_t px, int64_t qty, int64_t now_us)
{
    const struct instrument *ins = instrument_of(p, o);
    int64_t notional = vp_notional(ins, px, qty);
    int64_t commission = vp_commission(p, ins, qty, notional);
    vp_fill(p, o, px, qty, notional, commission, p->last_exec + 1, now_us);
}

/* Quantity the current quote offers a live order now (0: none, or not at its limit). */
static int64_t quote_offers(const struct paper *p, const struct vp_order *o)
{
    const struct vp_sym *s = &p->syms[o->o.sym];
    if (!s->has_quote) return 0;
    bool buy = o->o.side == SIDE_BUY;
    int64_t px = buy ? s->q.ask_px : s->q.bid_px;
    int64_t avail = buy ? s->ask_avail : s->bid_avail;
    if (px <= 0 || avail <= 0) return 0;
    if (acts_as_limit(o) && (buy ? px > o->o.limit_px : px < o->o.limit_px)) return 0;
    return avail;
}

static void fill_from_quote(struct paper *p, struct vp_order *o, int64_t now_us)
{
    int64_t avail = quote_offers(p, o);
    if (avail <= 0) return;
    struct vp_sym *s = &p->syms[o->o.sym];
    bool buy = o->o.side == SIDE_BUY;
    int64_t qty = MIN(avail, leaves(o));
    int64_t px = buy ? s->q.ask_px : s->q.bid_px;
    if (!acts_as_limit(o)) px = vp_slipped(p, instrument_of(p, o), o->o.side, px);
    if (buy) s->ask_avail -= qty;
    else s->bid_avail -= qty;
    fill(p, o, px, qty, now_us);
}

/* An order becomes live (on arrival, or triggered): it takes what the quote offers, and an
 * IOC/FOK does not outlive this moment. */
static void go_live(struct paper *p, struct vp_order *o, int64_t now_us)
{
    if (o->o.tif == TIF_FOK && quote_offers(p, o) < leaves(o)) {
        vp_cancel(p, o, NULL, VP_R_FOK, now_us);
        return;
    }
    fill_from_quote(p, o, now_us);
    if (working(o) && (o->o.tif == TIF_IOC || o->o.tif == TIF_FOK))
        vp_cancel(p, o, NULL, o->o.tif == TIF_IOC ? VP_R_IOC : VP_R_FOK, now_us);
}

static int64_t trail_level(const struct vp_order *o, int64_t trade_px)
{
    return o->o.side == SIDE_SELL ? trade_px - o->o.trail_px : trade_px + o->o.trail_px;
}

static void stop_on_trade(struct paper *p, struct vp_order *o, int64_t px, int64_t now_us)
{
    if (o->o.type == OT_TRAIL) {
        int64_t lvl = trail_level(o, px);
        int64_t stop = o->o.stop_px;
        if (!stop || (o->o.side == SIDE_SELL ? lvl > stop : lvl < stop)) vp_trail(p, o, lvl);
    }
    int64_t stop = o->o.stop_px;
    if (!stop || (o->o.side == SIDE_BUY ? px < stop : px > stop)) return;
    vp_trigger(p, o, now_us);
    go_live(p, o, now_us);
}

static bool trades_through(const struct paper *p, const struct vp_order *o, int64_t px)
{
    int64_t lim = o->o.limit_px;
    if (px == lim) return p->fill_on_touch;
    return o->o.side == SIDE_BUY ? px < lim : px > lim;
}

void vp_match_quote(struct paper *p, struct vp_sym *s, int64_t now_us)
{
    struct vp_order *next;
    for (struct vp_order *o = s->head; o; o = next) {
        next = o->next;
        if (expired(o, now_us)) vp_expire(p, o, now_us);
        else if (!waiting_trigger(o)) fill_from_quote(p, o, now_us);
    }
}

void vp_match_trade(struct paper *p, struct vp_sym *s, const struct trade *t, int64_t now_us)
{
    int64_t avail = t->qty;
    struct vp_order *next;
    for (struct vp_order *o = s->head; o; o = next) {
        next = o->next;
        if (expired(o, now_us)) {
            vp_expire(p, o, now_us);
        } else if (waiting_trigger(o)) {
            stop_on_trade(p, o, t->px, now_us);
        } else if (acts_as_limit(o) && avail > 0 && trades_through(p, o, t->px)) {
            int64_t qty = MIN(avail, leaves(o));
            avail -= qty;
            fill(p, o, o->o.limit_px, qty, now_us);
        }
    }
}

int64_t vp_expire_due(struct paper *p, int64_t now_us)
{
    int64_t next_us = INT64_MAX;
    for (int i = 0; i < p->nsym; i++) {
        struct vp_order *next;
        for (struct vp_order *o = p->syms[i].head; o; o = next) {
            next = o->next;
            if (expired(o, now_us)) vp_expire(p, o, now_us);
            else if (o->o.tif == TIF_DAY && o->o.expire_us > 0)
                next_us = MIN(next_us, o->o.expire_us);
        }
    }
    return next_us;
}

/* ---- arrival ---- */

static bool on_grid(int64_t px, int64_t tick)
{
    return px > 0 && px % tick == 0;
}

static const char *check_new(const struct paper *p, const struct venue_order *o)
{
    if (!o->cl_id[0]) return VP_R_BAD_CLID;
    if (vp_find(p, o->cl_id)) return VP_R_DUPLICATE;
    if (o->sym < 0 || o->sym >= p->ins->n) return VP_R_UNKNOWN_SYM;
    if ((o->side != SIDE_BUY && o->side != SIDE_SELL) || (unsigned)o->type > OT_TRAIL ||
        (unsigned)o->tif > TIF_FOK)
        return VP_R_BAD_ORDER;
    const struct instrument *ins = &p->ins->v[o->sym];
    if (o->qty <= 0 || o->qty % ins->lot) return VP_R_BAD_QTY;
    bool limit = o->type == OT_LIMIT || o->type == OT_STOP_LIMIT;
    bool stop = o->type == OT_STOP || o->type == OT_STOP_LIMIT;
    bool trail = o->type == OT_TRAIL;
    if ((limit && !o->limit_px) || (stop && !o->stop_px) || (trail && !o->trail_px))
        return VP_R_MISSING_PX;
    if ((limit && !on_grid(o->limit_px, ins->tick)) ||
        ((stop || trail) && o->stop_px && !on_grid(o->stop_px, ins->tick)) ||
        (trail && !on_grid(o->trail_px, ins->tick)))
        return VP_R_BAD_PX;
    return NULL;
}

static void arrive_new(struct paper *p, const struct vp_request *r, int64_t now_us)
{
    const char *why = check_new(p, &r->o);
    if (why) {
        vp_reject(p, r, why, now_us);
        return;
    }
    struct vp_order *o = vp_accept(p, r, now_us);
    if (expired(o, now_us)) {
        vp_expire(p, o, now_us);
        return;
    }
    if (o->o.tif == TIF_DAY && o->o.expire_us > 0) vp_expiry_arm(p, o->o.expire_us);
    if (!waiting_trigger(o)) {
        go_live(p, o, now_us);
        return;
    }
    int64_t last = p->syms[o->o.sym].last_px;
    if (o->o.type == OT_TRAIL && !o->o.stop_px && last > 0) vp_trail(p, o, trail_level(o, last));
}

static const char *check_replace(const struct paper *p, const struct vp_order *o,
                                 const struct venue_order *n)
{
    const struct instrument *ins = instrument_of(p, o);
    if (n->qty && (n->qty < 0 || n->qty % ins->lot)) return VP_R_BAD_QTY;
    if (n->qty && n->qty < o->cum_qty) return VP_R_BELOW_FILLED;
    bool limit = o->o.type == OT_LIMIT || o->o.type == OT_STOP_LIMIT;
    if (n->limit_px && (!limit || !on_grid(n->limit_px, ins->tick))) return VP_R_BAD_PX;
    if (n->stop_px && (!is_stop_type(o->o.type) || !on_grid(n->stop_px, ins->tick)))
        return VP_R_BAD_PX;
    if (n->stop_px && o->triggered) return VP_R_TRIGGERED;
    return NULL;
}

static void arrive_amend(struct paper *p, const struct vp_request *r, int64_t now_us)
{
    struct vp_order *o = vp_find(p, r->o.cl_id);
    const char *why = !o ? VP_R_UNKNOWN_ORDER : !working(o) ? VP_R_DONE : NULL;
    if (!why && r->kind == VP_REQ_REPLACE) why = check_replace(p, o, &r->o);
    if (why) {
        vp_cancel_reject(p, r, why, now_us);
        return;
    }
    if (r->kind == VP_REQ_CANCEL) {
        vp_cancel(p, o, r, VP_R_REQUESTED, now_us);
        return;
    }
    vp_replace(p, o, r, now_us);
    if (working(o) && !waiting_trigger(o)) fill_from_quote(p, o, now_us);
}

void vp_arrive(struct paper *p, const struct vp_request *r, int64_t now_us)
{
    if (r->kind == VP_REQ_NEW) arrive_new(p, r, now_us);
    else arrive_amend(p, r, now_us);
}
