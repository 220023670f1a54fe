/* risk_check.c: the pre-trade checks of new orders and the cancel throttle (see risk.h;
 * the order of the checks is listed at the top of risk.c).
 *
 * A check is a function of one struct ctx in the table `checks`, run in order until one
 * denies. The context fetches what several checks share lazily, at most once per
 * order: the exposures (index 0 the strategy's account, index 1 the totals), the
 * reference price and the order's notional. A check with a limit loops over the
 * order's limit sets: the strategy's (when it has an account) with its exposure, then
 * the global one with the totals.
 *
 * Numbers: check_fields validates the request's doubles and converts them to fixed
 * point before anything else; later checks compare those exact integers, or the
 * correctly rounded double of one (fx_to_double) with the operator's limit as written:
 * two correctly rounded decimals compare as the decimals do, so a value exactly at its
 * limit passes and one unit over fails. Price bands are exact integer arithmetic (the
 * band in 10^-9 %), notionals exact 128-bit products rounded once to money units, as
 * portfolio.h's money_notional (not called: portfolio is a separate module). Durations
 * compare in double microseconds.
 *
 * A passing order allocates nothing and publishes nothing; a denial formats a message,
 * publishes RISK_CHECK and counts its reason. Tokens are taken, and the order is
 * remembered for duplicate detection, only once every check has passed. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "fixed.h"
#include "portfolio.h" /* MONEY_DP only */
#include "risk_internal.h"
#include "util.h"

struct ctx {
    struct risk *r;
    const struct order_request *req;
    const struct instrument *in; /* set by check_symbol */
    struct order_checked o;      /* filled by check_fields */
    int64_t now_us;
    struct acct *a[2]; /* the strategy's account (NULL: none), the global one */
    struct risk_exposure x[2];
    unsigned have_x;  /* bit i: x[i] fetched */
    int64_t ref_px;   /* 0 when no check needed it */
    int64_t notional; /* money units: at the limit price, else max(reference, stop) */
    struct dup_key dup;
    int have_dup;
    char *msg; /* the caller's buffer (may be NULL) */
    size_t msgn;
};

static const struct risk_exposure *exposure(struct ctx *c, int i)
{
    if (!(c->have_x & (1u << i))) {
        memset(&c->x[i], 0, sizeof c->x[i]);
        c->r->env.exposure(c->r->env.arg, i == 0 ? c->req->strategy : NULL, c->o.sym, &c->x[i]);
        c->have_x |= 1u << i;
    }
    return &c->x[i];
}

static double qty_d(const struct ctx *c, int64_t q)
{
    return fx_to_double(q, c->in->qty_dp);
}

static double px_d(const struct ctx *c, int64_t px)
{
    return fx_to_double(px, c->in->px_dp);
}

static int64_t sat64(__int128 v)
{
    return v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : (int64_t)v;
}

/* Money units as currency; a saturated amount is beyond every limit. */
static double money_d(int64_t m)
{
    return m == INT64_MAX ? INFINITY : fx_to_double(m, MONEY_DP);
}

static __int128 abs128(__int128 v)
{
    return v < 0 ? -v : v;
}

/* age_us older than limit_s seconds (exactly limit_s is not older). */
static int older(int64_t age_us, double limit_s)
{
    return (double)age_us > limit_s * US_PER_S;
}

/* ---- denials ------------------------------------------------------------------------ */

static void add_num(cJSON *d, const char *k, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(d, k, v);
    else cJSON_AddNullToObject(d, k);
}

static void add_str(cJSON *d, const char *k, const char *v)
{
    if (v) cJSON_AddStringToObject(d, k, v);
    else cJSON_AddNullToObject(d, k);
}

static cJSON *check_data(const struct ctx *c, enum risk_reason why, const struct acct *a,
                         const char *text, const char *limit, double value, double max)
{
    const struct order_request *q = c->req;
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "strategy", q->strategy);
    add_str(d, "symbol", q->symbol);
    add_str(d, "side", q->side > 0 ? "buy" : q->side < 0 ? "sell" : NULL);
    add_num(d, "qty", q->qty);
    add_num(d, "price", q->has & REQ_LIMIT ? q->limit : q->has & REQ_STOP ? q->stop : NAN);
    cJSON_AddStringToObject(d, "reason", risk_reason_name(why));
    cJSON_AddStringToObject(d, "message", text);
    add_str(d, "limit", limit);
    add_num(d, "value", value);
    add_num(d, "max", max);
    add_str(d, "scope", a ? (a->id ? "strategy" : "global") : NULL);
    return d;
}

/* Denies with why: formats the message (naming the limit set when a is not NULL),
 * copies it to the caller, publishes RISK_CHECK and counts. limit names the limit or
 * grid that failed (NULL: none); value and max are NAN where they do not apply. */
static enum risk_reason deny(struct ctx *c, enum risk_reason why, const struct acct *a,
                             const char *limit, double value, double max, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static enum risk_reason deny(struct ctx *c, enum risk_reason why, const struct acct *a,
                             const char *limit, double value, double max, const char *fmt, ...)
{
    char text[320];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (a && n >= 0 && (size_t)n < sizeof text) {
        if (a->id) snprintf(text + n, sizeof text - (size_t)n, " (strategy %s)", a->id);
        else snprintf(text + n, sizeof text - (size_t)n, " (global)");
    }
    if (c->msg && c->msgn) util_strlcpy(c->msg, text, c->msgn);
    c->r->denials[why]++;
    risk_publish(c->r, EV_RISK_CHECK, check_data(c, why, a, text, limit, value, max));
    return why;
}

/* ---- the checks, in order ----------------------------------------------------------- */

static enum risk_reason check_kill(struct ctx *c)
{
    if (!atomic_load(&c->r->kill)) return RISK_OK;
    return deny(c, RISK_KILL_SWITCH, NULL, NULL, NAN, NAN,
                "kill switch is active: no new orders until it is re-armed");
}

static enum risk_reason check_symbol(struct ctx *c)
{
    const struct instruments *ins = c->r->env.ins;
    c->o.sym = instruments_find(ins, c->req->symbol);
    if (c->o.sym < 0)
        return deny(c, RISK_UNKNOWN_SYMBOL, NULL, NULL, NAN, NAN, "unknown symbol %.32s",
                    c->req->symbol ? c->req->symbol : "(none)");
    c->in = &ins->v[c->o.sym];
    return RISK_OK;
}

/* v as a fixed-point number > 0 with dp decimals: 0 and *out, or -1. A denormal or
 * another value that rounds to 0 fails. */
static int positive_fx(double v, int dp, int64_t *out)
{
    return isfinite(v) && v > 0 && fx_from_double(v, dp, out) == 0 && *out > 0 ? 0 : -1;
}

static const struct price_field {
    unsigned bit;
    const char *name;
    size_t in_off, out_off;
} price_fields[] = {
    {REQ_LIMIT, "limit price", offsetof(struct order_request, limit),
     offsetof(struct order_checked, limit_px)},
    {REQ_STOP, "stop price", offsetof(struct order_request, stop),
     offsetof(struct order_checked, stop_px)},
    {REQ_TAKE_PROFIT, "take_profit price", offsetof(struct order_request, take_profit),
     offsetof(struct order_checked, tp_px)},
    {REQ_STOP_LOSS, "stop_loss price", offsetof(struct order_request, stop_loss),
     offsetof(struct order_checked, sl_px)},
    {REQ_TRAIL, "trail distance", offsetof(struct order_request, trail),
     offsetof(struct order_checked, trail_px)},
};

static enum risk_reason check_fields(struct ctx *c)
{
    const struct instrument *in = c->in;
    double q = c->req->qty;
    if (positive_fx(q, in->qty_dp, &c->o.qty) != 0)
        return deny(c, RISK_BAD_QUANTITY, NULL, NULL, q, NAN,
                    "qty %.17g is not a finite number > 0 with at most %d decimals", q, in->qty_dp);
    if (c->o.qty % in->lot != 0)
        return deny(c, RISK_OFF_LOT, NULL, "lot", q, qty_d(c, in->lot),
                    "qty %.15g is not a multiple of the lot %.15g", q, qty_d(c, in->lot));
    for (size_t i = 0; i < ARRAY_LEN(price_fields); i++) {
        const struct price_field *f = &price_fields[i];
        if (!(c->req->has & f->bit)) continue;
        double v = *(const double *)((const char *)c->req + f->in_off);
        int64_t *px = (int64_t *)((char *)&c->o + f->out_off);
        if (positive_fx(v, in->px_dp, px) != 0)
            return deny(c, RISK_BAD_PRICE, NULL, NULL, v, NAN,
                        "%s %.17g is not a finite number > 0 with at most %d decimals", f->name, v,
                        in->px_dp);
        if (*px % in->tick != 0)
            return deny(c, RISK_OFF_TICK, NULL, "tick", v, px_d(c, in->tick),
                        "%s %.15g is not a multiple of the tick %.15g", f->name, v,
                        px_d(c, in->tick));
    }
    return RISK_OK;
}

static enum risk_reason check_restricted(struct ctx *c)
{
    const struct risk *r = c->r;
    int hit = 0;
    if (c->o.sym < r->nrestricted_sym) hit = r->restricted_sym[c->o.sym];
    else
        for (int i = 0; i < r->nrestricted && !hit; i++)
            hit = strcmp(r->restricted[i], c->in->symbol) == 0;
    if (!hit) return RISK_OK;
    return deny(c, RISK_RESTRICTED_SYMBOL, NULL, NULL, NAN, NAN, "%s is on the restricted list",
                c->in->symbol);
}

/* 1 when the order reduces x's position and cannot take it through zero, even if every
 * working order on the same side fills too. */
static int reduces(const struct risk_exposure *x, int side, int64_t qty)
{
    if (side > 0 ? x->position >= 0 : x->position <= 0) return 0;
    __int128 same = (__int128)(side > 0 ? x->working_buy : x->working_sell) + qty;
    return same <= abs128(x->position);
}

static enum risk_reason check_state(struct ctx *c)
{
    int side = c->req->side;
    for (int i = 0; i < 2; i++)
        if (c->a[i] && c->a[i]->state == TS_HALTED)
            return deny(c, RISK_HALTED, c->a[i], NULL, NAN, NAN, "trading is HALTED");
    for (int i = 0; i < 2; i++)
        if (c->a[i] && c->a[i]->state == TS_REDUCING && !reduces(exposure(c, i), side, c->o.qty))
            return deny(c, RISK_REDUCING_ONLY, c->a[i], NULL, NAN, NAN,
                        "trading is REDUCING: only orders that reduce the position pass");
    if (c->req->reduce_only && !reduces(exposure(c, 0), side, c->o.qty))
        return deny(c, RISK_REDUCING_ONLY, NULL, NULL, NAN, NAN,
                    "reduce-only order would not reduce the strategy's position");
    return RISK_OK;
}

static enum risk_reason check_window(struct ctx *c)
{
    const struct risk_env *env = &c->r->env;
    if (!env->in_window || env->in_window(env->arg, c->req->strategy, c->now_us)) return RISK_OK;
    return deny(c, RISK_OUTSIDE_WINDOW, NULL, NULL, NAN, NAN,
                "outside the strategy's trading window");
}

static enum risk_reason check_stale(struct ctx *c)
{
    int64_t last = 0;
    int have = 0;
    for (int i = 0; i < 2; i++) {
        const struct acct *a = c->a[i];
        if (!a || !(a->lim.stale_feed_s > 0)) continue;
        if (!have) last = c->r->env.last_data_us(c->r->env.arg, c->o.sym), have = 1;
        double lim = a->lim.stale_feed_s;
        if (last == 0)
            return deny(c, RISK_STALE_FEED, a, "stale_feed_s", NAN, lim,
                        "no market data for %s yet", c->in->symbol);
        if (older(c->now_us - last, lim))
            return deny(c, RISK_STALE_FEED, a, "stale_feed_s", (c->now_us - last) / US_PER_S, lim,
                        "last market data for %s is %.6gs old, more than stale_feed_s %.15g",
                        c->in->symbol, (c->now_us - last) / US_PER_S, lim);
    }
    return RISK_OK;
}

static enum risk_reason check_order_qty(struct ctx *c)
{
    double q = qty_d(c, c->o.qty);
    for (int i = 0; i < 2; i++) {
        const struct acct *a = c->a[i];
        if (a && a->lim.max_order_qty > 0 && q > a->lim.max_order_qty)
            return deny(c, RISK_MAX_ORDER_QTY, a, "max_order_qty", q, a->lim.max_order_qty,
                        "qty %.15g exceeds max_order_qty %.15g", q, a->lim.max_order_qty);
    }
    return RISK_OK;
}

/* px*qty in money units, rounded half away from zero, saturating (money_notional). */
static int64_t notional_of(const struct instrument *in, int64_t px, int64_t qty)
{
    static const int64_t p10[] = {1,           10,           100,          1000,      10000,
                                  100000,      1000000,      10000000,     100000000, 1000000000,
                                  10000000000, 100000000000, 1000000000000};
    __int128 v = (__int128)px * qty; /* |v| < 2^126 */
    int shift = in->px_dp + in->qty_dp - MONEY_DP;
    if (shift > 0) {
        __int128 d = p10[shift], q = v / d, rem = v % d;
        if (2 * abs128(rem) >= d) q += v < 0 ? -1 : 1;
        return sat64(q);
    }
    __int128 m = p10[-shift];
    if (abs128(v) > INT64_MAX) return v < 0 ? INT64_MIN : INT64_MAX;
    return sat64(v * m);
}

static int needs_reference(const struct ctx *c)
{
    unsigned has = c->req->has;
    for (int i = 0; i < 2; i++) {
        const struct acct *a = c->a[i];
        if (!a) continue;
        if (a->band_n > 0 && (has & (REQ_LIMIT | REQ_STOP))) return 1;
        if (!(has & REQ_LIMIT) && (a->lim.max_order_notional > 0 || a->lim.max_gross_exposure > 0))
            return 1;
    }
    return 0;
}

static enum risk_reason check_reference(struct ctx *c)
{
    const struct risk_env *env = &c->r->env;
    if (needs_reference(c)) {
        int64_t px = 0, ts = 0;
        if (env->reference(env->arg, c->o.sym, &px, &ts) != 0 || px <= 0)
            return deny(c, RISK_NO_REFERENCE_PRICE, NULL, NULL, NAN, NAN,
                        "no reference price for %s", c->in->symbol);
        for (int i = 0; i < 2; i++) {
            const struct acct *a = c->a[i];
            double lim = a ? a->lim.reference_max_age_s : 0;
            if (lim > 0 && older(c->now_us - ts, lim))
                return deny(c, RISK_NO_REFERENCE_PRICE, a, "reference_max_age_s",
                            (c->now_us - ts) / US_PER_S, lim,
                            "reference price of %s is %.6gs old, more than "
                            "reference_max_age_s %.15g",
                            c->in->symbol, (c->now_us - ts) / US_PER_S, lim);
        }
        c->ref_px = px;
    }
    int64_t px = c->o.limit_px;
    if (!(c->req->has & REQ_LIMIT)) px = MAX(c->ref_px, c->o.stop_px);
    c->notional = notional_of(c->in, px, c->o.qty);
    return RISK_OK;
}

static enum risk_reason check_band(struct ctx *c)
{
    const int64_t px[2] = {c->o.limit_px, c->o.stop_px}; /* 0 when not given */
    static const char *const names[2] = {"limit", "stop"};
    for (int i = 0; i < 2; i++) {
        const struct acct *a = c->a[i];
        if (!a || a->band_n == 0) continue;
        for (int k = 0; k < 2; k++) {
            if (px[k] == 0) continue;
            __int128 dev = abs128((__int128)px[k] - c->ref_px);
            if (dev * 100 * 1000000000 <= (__int128)a->band_n * c->ref_px) continue;
            double pct = (double)dev * 100 / (double)c->ref_px;
            return deny(c, RISK_PRICE_BAND, a, "price_band_pct", pct, a->lim.price_band_pct,
                        "%s price %.15g is %.4g%% from the reference %.15g, more than "
                        "price_band_pct %.15g",
                        names[k], px_d(c, px[k]), pct, px_d(c, c->ref_px), a->lim.price_band_pct);
        }
    }
    return RISK_OK;
}

static enum risk_reason check_notional(struct ctx *c)
{
    double v = money_d(c->notional);
    for (int i = 0; i < 2; i++) {
        const struct acct *a = c->a[i];
        if (a && a->lim.max_order_notional > 0 && v > a->lim.max_order_notional)
            return deny(
                c, RISK_MAX_ORDER_NOTIONAL, a, "max_order_notional", v, a->lim.max_order_notional,
                "notional %.15g exceeds max_order_notional %.15g", v, a->lim.max_order_notional);
    }
    return RISK_OK;
}

static enum risk_reason check_position(struct ctx *c)
{
    int side = c->req->side;
    for (int i = 0; i < 2; i++) {
        const struct acct *a = c->a[i];
        if (!a || !(a->lim.max_position > 0)) continue;
        const struct risk_exposure *x = exposure(c, i);
        if (reduces(x, side, c->o.qty)) continue;
        __int128 same = (__int128)(side > 0 ? x->working_buy : x->working_sell) + c->o.qty;
        double v = qty_d(c, sat64(abs128(x->position + side * same)));
        if (v > a->lim.max_position)
            return deny(c, RISK_MAX_POSITION, a, "max_position", v, a->lim.max_position,
                        "position in %s with working orders and this one would be %.15g, more "
                        "than max_position %.15g",
                        c->in->symbol, v, a->lim.max_position);
    }
    return RISK_OK;
}

static enum risk_reason check_gross(struct ctx *c)
{
    for (int i = 0; i < 2; i++) {
        const struct acct *a = c->a[i];
        if (!a || !(a->lim.max_gross_exposure > 0)) continue;
        const struct risk_exposure *x = exposure(c, i);
        if (reduces(x, c->req->side, c->o.qty)) continue;
        double v = money_d(sat64((__int128)x->gross_exposure + c->notional));
        if (v > a->lim.max_gross_exposure)
            return deny(c, RISK_MAX_GROSS_EXPOSURE, a, "max_gross_exposure", v,
                        a->lim.max_gross_exposure,
                        "gross exposure with this order would be %.15g, more than "
                        "max_gross_exposure %.15g",
                        v, a->lim.max_gross_exposure);
    }
    return RISK_OK;
}

static enum risk_reason check_working(struct ctx *c)
{
    for (int i = 0; i < 2; i++) {
        const struct acct *a = c->a[i];
        if (!a || !(a->lim.max_working_orders > 0)) continue;
        double n = (double)exposure(c, i)->working_orders + 1;
        if (n > a->lim.max_working_orders)
            return deny(c, RISK_MAX_WORKING_ORDERS, a, "max_working_orders", n,
                        a->lim.max_working_orders,
                        "%.15g working orders with this one, more than max_working_orders %.15g", n,
                        a->lim.max_working_orders);
    }
    return RISK_OK;
}

/* An order without a limit price (market, stop, trailing stop) crosses any resting
 * opposite order of ours. */
static enum risk_reason check_self_cross(struct ctx *c)
{
    int side = c->req->side, limit = (c->req->has & REQ_LIMIT) != 0;
    for (int i = 0; i < 2; i++) {
        const struct acct *a = c->a[i];
        if (!a || !a->lim.self_cross) continue;
        const struct risk_exposure *x = exposure(c, i);
        int64_t own = side > 0 ? x->best_own_ask : x->best_own_bid;
        if (own <= 0) continue;
        if (limit && (side > 0 ? c->o.limit_px < own : c->o.limit_px > own)) continue;
        return deny(c, RISK_SELF_CROSS, a, "self_cross", px_d(c, own), NAN,
                    "%s would cross our own resting %s at %.15g", side > 0 ? "buy" : "sell",
                    side > 0 ? "sell" : "buy", px_d(c, own));
    }
    return RISK_OK;
}

/* ---- duplicates --------------------------------------------------------------------- */

static uint64_t mix64(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15u + (h << 6) + (h >> 2);
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9u;
    h ^= h >> 27;
    return h;
}

static uint64_t str_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3u;
    return h;
}

static struct dup_entry *dup_bucket(struct risk *r, const struct dup_key *k)
{
    uint64_t h = k->strategy_h;
    const int64_t f[] = {k->qty,   k->limit_px, k->stop_px, k->trail_px, k->tp_px,
                         k->sl_px, k->sym,      k->side,    k->has};
    for (size_t i = 0; i < ARRAY_LEN(f); i++) h = mix64(h, (uint64_t)f[i]);
    return r->dup[h & (DUP_BUCKETS - 1)];
}

static int dup_equal(const struct dup_key *a, const struct dup_key *b)
{
    return a->strategy_h == b->strategy_h && a->qty == b->qty && a->limit_px == b->limit_px &&
           a->stop_px == b->stop_px && a->trail_px == b->trail_px && a->tp_px == b->tp_px &&
           a->sl_px == b->sl_px && a->sym == b->sym && a->side == b->side && a->has == b->has;
}

/* Remembers k at now in its bucket: in place of its own older entry, else of an empty
 * or the oldest one (an order evicted that way can no longer be caught as a duplicate). */
static void dup_remember(struct risk *r, const struct dup_key *k, int64_t now_us)
{
    struct dup_entry *b = dup_bucket(r, k), *slot = &b[0];
    for (int w = 0; w < DUP_WAYS; w++) {
        if (b[w].used && dup_equal(&b[w].k, k)) {
            slot = &b[w];
            break;
        }
        if (!b[w].used || (slot->used && b[w].ts_us < slot->ts_us)) slot = &b[w];
    }
    slot->k = *k;
    slot->ts_us = now_us;
    slot->used = 1;
}

static enum risk_reason check_duplicate(struct ctx *c)
{
    if (!((c->a[0] && c->a[0]->lim.duplicate_window_s > 0) || c->a[1]->lim.duplicate_window_s > 0))
        return RISK_OK;
    const struct order_checked *o = &c->o;
    c->dup = (struct dup_key){str_hash(c->req->strategy),
                              o->qty,
                              o->limit_px,
                              o->stop_px,
                              o->trail_px,
                              o->tp_px,
                              o->sl_px,
                              o->sym,
                              c->req->side,
                              c->req->has};
    c->have_dup = 1;
    const struct dup_entry *b = dup_bucket(c->r, &c->dup);
    for (int w = 0; w < DUP_WAYS; w++) {
        if (!b[w].used || !dup_equal(&b[w].k, &c->dup)) continue;
        int64_t age = MAX(c->now_us - b[w].ts_us, 0);
        for (int i = 0; i < 2; i++) {
            const struct acct *a = c->a[i];
            double win = a ? a->lim.duplicate_window_s : 0;
            if (win > 0 && (double)age < win * US_PER_S)
                return deny(c, RISK_DUPLICATE_ORDER, a, "duplicate_window_s", age / US_PER_S, win,
                            "same order as one %.6gs ago, within duplicate_window_s %.15g",
                            age / US_PER_S, win);
        }
    }
    return RISK_OK;
}

/* ---- throttles ---------------------------------------------------------------------- */

/* Refills b at rate tokens/s up to max(1, rate) and says whether one whole token is
 * there. A bucket restarts full when its rate changes (or is first used). */
static int bucket_ready(struct bucket *b, double rate, int64_t now_us)
{
    double cap = MAX(1.0, rate) * US_PER_S;
    if (b->rate != rate) {
        b->rate = rate;
        b->level = cap;
        b->t_us = now_us;
    } else if (now_us > b->t_us) {
        b->level = MIN(cap, b->level + (double)(now_us - b->t_us) * rate);
        b->t_us = now_us;
    }
    return b->level >= US_PER_S;
}

static enum risk_reason check_rate(struct ctx *c)
{
    for (int i = 0; i < 2; i++) {
        struct acct *a = c->a[i];
        double rate = a ? a->lim.max_orders_per_s : 0;
        if (rate > 0 && !bucket_ready(&a->orders, rate, c->now_us))
            return deny(c, RISK_ORDER_RATE, a, "max_orders_per_s", NAN, rate,
                        "more than max_orders_per_s %.15g new orders", rate);
    }
    return RISK_OK;
}

static enum risk_reason (*const checks[])(struct ctx *) = {
    check_kill,      check_symbol,   check_fields,    check_restricted, check_state,
    check_window,    check_stale,    check_order_qty, check_reference,  check_band,
    check_notional,  check_position, check_gross,     check_working,    check_self_cross,
    check_duplicate, check_rate,
};

/* Books a passing order: tokens, duplicate memory, the symbol risk_update watches. */
static void pass(struct ctx *c)
{
    for (int i = 0; i < 2; i++) {
        struct acct *a = c->a[i];
        if (!a) continue;
        if (a->lim.max_orders_per_s > 0) a->orders.level -= US_PER_S;
        a->last_sym = c->o.sym;
    }
    if (c->have_dup) dup_remember(c->r, &c->dup, c->now_us);
}

enum risk_reason risk_check_new(struct risk *r, const struct order_request *req,
                                struct order_checked *out, char *msg, size_t msgn)
{
    ASSERT(req->strategy && (req->side == 1 || req->side == -1));
    struct ctx c = {.r = r,
                    .req = req,
                    .o = {.sym = -1},
                    .now_us = clock_now_us(r->clock),
                    .a = {risk_acct_find(r, req->strategy), &r->global},
                    .msg = msg,
                    .msgn = msgn};
    for (size_t i = 0; i < ARRAY_LEN(checks); i++) {
        enum risk_reason why = checks[i](&c);
        if (why != RISK_OK) return why;
    }
    pass(&c);
    if (out) *out = c.o;
    if (msg && msgn) msg[0] = '\0';
    return RISK_OK;
}

enum risk_reason risk_check_cancel(struct risk *r, const char *strategy)
{
    ASSERT(strategy);
    const struct order_request req = {.strategy = strategy, .qty = NAN};
    struct ctx c = {.r = r,
                    .req = &req,
                    .now_us = clock_now_us(r->clock),
                    .a = {risk_acct_find(r, strategy), &r->global}};
    for (int i = 0; i < 2; i++) {
        struct acct *a = c.a[i];
        double rate = a ? a->lim.max_cancels_per_s : 0;
        if (rate > 0 && !bucket_ready(&a->cancels, rate, c.now_us))
            return deny(&c, RISK_CANCEL_RATE, a, "max_cancels_per_s", NAN, rate,
                        "more than max_cancels_per_s %.15g cancels and replaces", rate);
    }
    for (int i = 0; i < 2; i++)
        if (c.a[i] && c.a[i]->lim.max_cancels_per_s > 0) c.a[i]->cancels.level -= US_PER_S;
    return RISK_OK;
}
