/* portfolio.c: positions, cash, P&L, the equity curve and its metrics (see portfolio.h).
 *
 * Money: a fill's notional N = money_notional(px, qty) >= 0 for px >= 0, computed once
 * per fill and shared by the total and the strategy account. Its cash flow is
 * flow = -side * N. Per account and symbol, a fill is booked as one of:
 *   open/add (flat or same side):  qty += side*q; cost += side*N
 *   reduce (q <= |qty|):           removed = cost * q / |qty| (truncated toward zero)
 *                                  qty += side*q; cost -= removed; realized += flow - removed
 *   cross (q > |qty|):             N2 = money_notional(px, q - |qty|) (the reopened part)
 *                                  realized += (flow + side*N2) - cost
 *                                  qty = side*(q - |qty|); cost = side*N2
 * Every case changes (realized - cost) by exactly flow, so these invariants hold after
 * any sequence of fills (the unit tests assert them with integer equality):
 *   (I1) per account and symbol:  realized - cost == -sum(side * N)
 *   (I2) per account and symbol:  qty == sum(side * q)
 *   (I3) per account:  cash == initial - sum(side * N) - sum(commission)
 *                           == initial + sum(realized) - sum(cost) - sum(commission)
 *   (I4) per account:  equity == initial + realized + unrealized - commissions
 *        (unrealized = value - cost; a position with no mark is valued at its cost)
 *   (I5) the total's qty, cash delta and (realized - cost) per symbol are the sums of
 *        the strategy accounts' plus those of fills booked without a strategy. Realized
 *        alone is not additive: opposite positions of two strategies net in the total.
 * A cross's rounding residual (N - N2 against a separately rounded close) goes to
 * realized; the reopened basis is exactly what opening q - |qty| at px would cost. The
 * truncation in reduce leaves its remainder in the basis, so the last closing fill of
 * a position removes all of it. Sums saturate at the int64 limits instead of wrapping
 * (never reached under risk limits: ±9.2e12 currency units); the identities then fail.
 *
 * Accounts: the total plus one per strategy, found by a linear scan with a one-entry
 * cache (a handful of strategies). Positions are allocated once per (account, symbol)
 * on its first fill and never moved or freed before the portfolio, so booking a fill
 * allocates nothing once warm. The portfolio does not deduplicate fills (the journal
 * does, by exec id): every fill it is given is booked.
 *
 * The equity curve per account is a ring of at most PORTFOLIO_CURVE_MAX samples that
 * grows by doubling. The peak in totals is the all-time maximum of the initial cash,
 * every sample and the current equity; return metrics use the retained curve, drawdown
 * the whole run, and all of them are kept up to date per sample (struct curve). */
#include "portfolio.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fixed.h"
#include "json_fixed.h"
#include "util.h"

struct sample {
    int64_t ts_us, equity;
};

/* The retained samples, and what the metrics need, kept up to date as samples come
 * and go, so that reading the metrics costs O(1) however long the host has run: the
 * returns of consecutive retained samples (count, sum, sum of squares, downside sum of
 * squares, and all of them in ascending order for VaR), and the drawdown figures. The
 * sums are rebuilt from the sorted returns after every `cap` evictions, so floating-point
 * drift from subtracting evicted returns never accumulates. */
struct curve {
    struct sample *v;
    int cap, start, count; /* the oldest sample is v[start] */
    double *ret;           /* returns in ascending order; nret of them */
    int nret, ret_cap, evictions;
    double sum, sumsq, down;
    int64_t peak, max_dd_money;
    double max_dd;
};

struct account {
    char *name; /* NULL for the total */
    int64_t initial, cash, realized, commissions;
    uint64_t fills;
    int64_t day_start, peak;
    int closing_fills, wins;
    int64_t gross_profit, gross_loss; /* from closing fills' realized; gross_loss >= 0 */
    struct position **by_sym;         /* [nsym], NULL where never traded */
    int nsym;
    struct position **pos; /* traded positions, in order of first fill */
    int npos, pos_cap;
    struct curve curve;
};

struct portfolio {
    const struct instruments *ins;
    double periods_per_year;
    struct account total;
    struct account **acc; /* strategy accounts in creation order */
    char **names;         /* acc[i]->name, for portfolio_accounts */
    int nacc, acc_cap;
    struct account *last; /* lookup cache */
    uint64_t gen;         /* bumped by every change (portfolio_generation) */
    int64_t *mark;
    bool *marked;
    int nmark;
};

/* 10^n for the scale between 10^-(px_dp + qty_dp) and money: n in 0..2*FX_MAX_DP-MONEY_DP. */
static const uint64_t pow10_u[] = {
    1,        10,        100,        1000,        10000,        100000,        1000000,
    10000000, 100000000, 1000000000, 10000000000, 100000000000, 1000000000000,
};
_Static_assert(ARRAY_LEN(pow10_u) == 2 * FX_MAX_DP - MONEY_DP + 1, "pow10_u covers every grid");

/* v clamped to int64. */
static int64_t sat64(__int128 v)
{
    if (v > INT64_MAX) return INT64_MAX;
    if (v < INT64_MIN) return INT64_MIN;
    return (int64_t)v;
}

/* |v| / 10^n rounded half away from zero, for n in 1..12. One case per n so the compiler
 * divides by a constant (a multiply and shifts) instead of a hardware divide. */
static uint64_t div_pow10_round(uint64_t mag, int n)
{
    uint64_t q;
    switch (n) {
#define DIV_CASE(k)                                                                                \
    case k:                                                                                        \
        q = mag / pow10_u[k];                                                                      \
        break;
        DIV_CASE(1)
        DIV_CASE(2)
        DIV_CASE(3)
        DIV_CASE(4)
        DIV_CASE(5)
        DIV_CASE(6)
        DIV_CASE(7)
        DIV_CASE(8)
        DIV_CASE(9)
        DIV_CASE(10)
        DIV_CASE(11)
        DIV_CASE(12)
#undef DIV_CASE
    default:
        ASSERT(!"div_pow10_round: n out of range");
        return 0;
    }
    uint64_t rem = mag - q * pow10_u[n];
    return rem >= pow10_u[n] - rem ? q + 1 : q; /* 2 * rem >= 10^n without overflow */
}

/* The exact path: any px, qty, in 128 bits, saturated. */
static int64_t notional_exact(int dp, int64_t px, int64_t qty)
{
    __int128 prod = (__int128)px * qty; /* |prod| <= 2^126 */
    bool neg = prod < 0;
    unsigned __int128 mag = neg ? -(unsigned __int128)prod : (unsigned __int128)prod;
    if (dp <= MONEY_DP) {
        if (mag >> 64) return neg ? INT64_MIN : INT64_MAX; /* so mag * 10^6 fits in 128 bits */
        mag *= pow10_u[MONEY_DP - dp];
    } else {
        uint64_t div = pow10_u[dp - MONEY_DP];
        unsigned __int128 rem = mag % div;
        mag /= div;
        if (rem * 2 >= div) mag++; /* half away from zero: mag is the magnitude */
    }
    if (mag > (unsigned __int128)INT64_MAX + neg) return neg ? INT64_MIN : INT64_MAX;
    return neg ? (int64_t)(0 - (uint64_t)mag) : (int64_t)mag;
}

/* Fast paths give the exact path's result bit for bit (test_portfolio.c compares them on
 * every grid and around every overflow limit): when px * qty fits in int64, either the
 * scale-up fits too (no rounding, nothing to saturate) or the scale-down is an int64
 * division whose quotient always fits. Anything else takes the 128-bit path. */
int64_t money_notional(const struct instrument *ins, int64_t px, int64_t qty)
{
    int dp = ins->px_dp + ins->qty_dp;
    ASSERT(ins->px_dp >= 0 && ins->px_dp <= FX_MAX_DP && ins->qty_dp >= 0 &&
           ins->qty_dp <= FX_MAX_DP);
    int64_t prod, v;
    if (__builtin_mul_overflow(px, qty, &prod)) return notional_exact(dp, px, qty);
    if (dp <= MONEY_DP) {
        if (__builtin_mul_overflow(prod, (int64_t)pow10_u[MONEY_DP - dp], &v))
            return notional_exact(dp, px, qty);
        return v;
    }
    /* |prod| <= 2^63, so the quotient (divided by >= 10) fits and negates safely. */
    uint64_t mag = prod < 0 ? 0 - (uint64_t)prod : (uint64_t)prod;
    uint64_t q = div_pow10_round(mag, dp - MONEY_DP);
    return prod < 0 ? -(int64_t)q : (int64_t)q;
}

struct portfolio *portfolio_new(const struct instruments *ins, int64_t initial_cash,
                                double periods_per_year)
{
    ASSERT(ins != NULL);
    struct portfolio *p = xcalloc(1, sizeof *p);
    p->ins = ins;
    p->periods_per_year = periods_per_year;
    p->total.initial = p->total.cash = initial_cash;
    p->total.day_start = p->total.peak = initial_cash;
    return p;
}

static void account_fini(struct account *a)
{
    for (int i = 0; i < a->npos; i++) free(a->pos[i]);
    free(a->pos);
    free(a->by_sym);
    free(a->curve.v);
    free(a->curve.ret);
    free(a->name);
}

void portfolio_free(struct portfolio *p)
{
    if (!p) return;
    account_fini(&p->total);
    for (int i = 0; i < p->nacc; i++) {
        account_fini(p->acc[i]);
        free(p->acc[i]);
    }
    free(p->acc);
    free(p->names);
    free(p->mark);
    free(p->marked);
    free(p);
}

/* The account of strategy (NULL or "": the total), or NULL when there is none. */
static struct account *account_find(const struct portfolio *p, const char *strategy)
{
    if (!strategy || !*strategy) return (struct account *)&p->total;
    if (p->last && strcmp(p->last->name, strategy) == 0) return p->last;
    for (int i = 0; i < p->nacc; i++)
        if (strcmp(p->acc[i]->name, strategy) == 0) return p->acc[i];
    return NULL;
}

/* The account of strategy (not empty), created with initial_cash when new. */
static struct account *account_get(struct portfolio *p, const char *strategy, int64_t initial_cash)
{
    struct account *a = account_find(p, strategy);
    if (a) return p->last = a;
    if (p->nacc == p->acc_cap) {
        p->acc_cap = p->acc_cap ? p->acc_cap * 2 : 8;
        p->acc = xrealloc(p->acc, (size_t)p->acc_cap * sizeof *p->acc);
        p->names = xrealloc(p->names, (size_t)p->acc_cap * sizeof *p->names);
    }
    a = xcalloc(1, sizeof *a);
    a->name = xstrdup(strategy);
    a->initial = a->cash = initial_cash;
    a->day_start = a->peak = initial_cash;
    p->names[p->nacc] = a->name;
    p->acc[p->nacc++] = a;
    return p->last = a;
}

uint64_t portfolio_generation(const struct portfolio *p)
{
    return p->gen;
}

void portfolio_account(struct portfolio *p, const char *strategy, int64_t initial_cash)
{
    ASSERT(strategy != NULL && *strategy);
    p->gen++;
    account_get(p, strategy, initial_cash);
}

/* a's position in sym, created (flat) on first use. */
static struct position *position_get(struct portfolio *p, struct account *a, int sym)
{
    if (sym >= a->nsym) {
        int n = MAX(p->ins->n, sym + 1);
        a->by_sym = xrealloc(a->by_sym, (size_t)n * sizeof *a->by_sym);
        memset(a->by_sym + a->nsym, 0, (size_t)(n - a->nsym) * sizeof *a->by_sym);
        a->nsym = n;
    }
    if (a->by_sym[sym]) return a->by_sym[sym];
    if (a->npos == a->pos_cap) {
        a->pos_cap = a->pos_cap ? a->pos_cap * 2 : 8;
        a->pos = xrealloc(a->pos, (size_t)a->pos_cap * sizeof *a->pos);
    }
    struct position *pos = xcalloc(1, sizeof *pos);
    pos->sym = sym;
    a->pos[a->npos++] = pos;
    return a->by_sym[sym] = pos;
}

/* Books the part of f that reduces pos (opposite side, pos not flat), reopening the
 * remainder when f crosses zero. Returns the realized P&L. */
static int64_t reduce(const struct instrument *in, struct position *pos, const struct fill *f,
                      int64_t flow)
{
    __int128 held = pos->qty < 0 ? -(__int128)pos->qty : (__int128)pos->qty;
    if (f->qty <= held) {
        int64_t removed = (int64_t)((__int128)pos->cost * f->qty / held);
        pos->qty += f->side * f->qty; /* toward zero: cannot overflow */
        pos->cost -= removed;         /* |removed| <= |cost|, same sign */
        return sat64((__int128)flow - removed);
    }
    int64_t rest = (int64_t)(f->qty - held);
    int64_t n_open = money_notional(in, f->px, rest);
    int64_t realized = sat64((__int128)flow + (__int128)f->side * n_open - pos->cost);
    pos->qty = f->side * rest;
    pos->cost = sat64((__int128)f->side * n_open);
    return realized;
}

static void count_closing(struct account *a, int64_t realized)
{
    a->closing_fills++;
    if (realized > 0) {
        a->wins++;
        a->gross_profit = sat64((__int128)a->gross_profit + realized);
    } else {
        a->gross_loss = sat64((__int128)a->gross_loss - realized);
    }
}

/* Books f, of notional n, to account a. Returns the realized P&L. */
static int64_t book(struct portfolio *p, struct account *a, const struct fill *f, int64_t n)
{
    struct position *pos = position_get(p, a, f->sym);
    int64_t flow = sat64(-(__int128)f->side * n), realized = 0;
    bool closing = pos->qty != 0 && (pos->qty > 0) != (f->side > 0);
    if (closing) {
        realized = reduce(&p->ins->v[f->sym], pos, f, flow);
    } else {
        pos->qty = sat64((__int128)pos->qty + (__int128)f->side * f->qty);
        pos->cost = sat64((__int128)pos->cost - flow);
    }
    if (f->side > 0) pos->bought = sat64((__int128)pos->bought + f->qty);
    else pos->sold = sat64((__int128)pos->sold + f->qty);
    pos->realized = sat64((__int128)pos->realized + realized);
    pos->commissions = sat64((__int128)pos->commissions + f->commission);
    a->cash = sat64((__int128)a->cash + flow - f->commission);
    a->realized = sat64((__int128)a->realized + realized);
    a->commissions = sat64((__int128)a->commissions + f->commission);
    a->fills++;
    if (closing) count_closing(a, realized);
    return realized;
}

int64_t portfolio_apply_fill(struct portfolio *p, const char *strategy, const struct fill *f)
{
    p->gen++;
    ASSERT(f->sym >= 0 && f->sym < p->ins->n);
    ASSERT(f->side == 1 || f->side == -1);
    ASSERT(f->qty > 0 && f->commission >= 0);
    int64_t n = money_notional(&p->ins->v[f->sym], f->px, f->qty);
    int64_t realized = book(p, &p->total, f, n);
    if (strategy && *strategy) realized = book(p, account_get(p, strategy, 0), f, n);
    return realized;
}

void portfolio_mark(struct portfolio *p, int sym, int64_t px)
{
    p->gen++;
    ASSERT(sym >= 0 && sym < p->ins->n);
    if (sym >= p->nmark) {
        int n = p->ins->n;
        p->mark = xrealloc(p->mark, (size_t)n * sizeof *p->mark);
        p->marked = xrealloc(p->marked, (size_t)n * sizeof *p->marked);
        memset(p->marked + p->nmark, 0, (size_t)(n - p->nmark) * sizeof *p->marked);
        p->nmark = n;
    }
    p->mark[sym] = px;
    p->marked[sym] = true;
}

int64_t portfolio_mark_of(const struct portfolio *p, int sym)
{
    return sym >= 0 && sym < p->nmark && p->marked[sym] ? p->mark[sym] : 0;
}

/* The value of pos at its mark: qty * mark, or its cost basis when unmarked. */
static int64_t value_of(const struct portfolio *p, const struct position *pos)
{
    int s = pos->sym;
    if (s >= p->nmark || !p->marked[s]) return pos->cost;
    return money_notional(&p->ins->v[s], p->mark[s], pos->qty);
}

const struct position *portfolio_position(const struct portfolio *p, const char *strategy, int sym)
{
    const struct account *a = account_find(p, strategy);
    if (!a || sym < 0 || sym >= a->nsym) return NULL;
    return a->by_sym[sym];
}

int64_t portfolio_qty(const struct portfolio *p, const char *strategy, int sym)
{
    const struct position *pos = portfolio_position(p, strategy, sym);
    return pos ? pos->qty : 0;
}

struct valuation {
    int64_t net, gross, unrealized;
};

static void valuate(const struct portfolio *p, const struct account *a, struct valuation *v)
{
    __int128 net = 0, gross = 0, unrealized = 0;
    for (int i = 0; i < a->npos; i++) {
        int64_t val = value_of(p, a->pos[i]);
        net += val;
        gross += val < 0 ? -(__int128)val : val;
        unrealized += (__int128)val - a->pos[i]->cost;
    }
    v->net = sat64(net);
    v->gross = sat64(gross);
    v->unrealized = sat64(unrealized);
}

static int64_t equity_of(const struct portfolio *p, const struct account *a)
{
    struct valuation v;
    valuate(p, a, &v);
    return sat64((__int128)a->cash + v.net);
}

void portfolio_totals(const struct portfolio *p, const char *strategy, struct portfolio_totals *out)
{
    memset(out, 0, sizeof *out);
    const struct account *a = account_find(p, strategy);
    if (!a) return;
    struct valuation v;
    valuate(p, a, &v);
    out->cash = a->cash;
    out->equity = sat64((__int128)a->cash + v.net);
    out->realized = a->realized;
    out->unrealized = v.unrealized;
    out->commissions = a->commissions;
    out->gross_exposure = v.gross;
    out->net_exposure = v.net;
    out->day_start_equity = a->day_start;
    out->day_pnl = sat64((__int128)out->equity - a->day_start);
    out->peak_equity = MAX(a->peak, out->equity);
    out->drawdown = sat64((__int128)out->peak_equity - out->equity);
    out->initial_cash = a->initial;
    out->fills = a->fills;
}

void portfolio_new_day(struct portfolio *p)
{
    p->gen++;
    p->total.day_start = equity_of(p, &p->total);
    for (int i = 0; i < p->nacc; i++) p->acc[i]->day_start = equity_of(p, p->acc[i]);
}

/* First index in c->ret whose value is > r. Returns are inserted after their equals and
 * removed from the end of their run, so the many equal returns of a flat curve (0.0)
 * cost no moving: each insert or removal moves only the larger returns (O(n) at worst:
 * about 0.5 ms at the 1M-sample cap, once a sample). */
static int ret_upper_bound(const struct curve *c, double r)
{
    int lo = 0, hi = c->nret;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (c->ret[mid] <= r) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void ret_add(struct curve *c, double r)
{
    if (c->nret == c->ret_cap) {
        c->ret_cap = c->ret_cap ? 2 * c->ret_cap : 64;
        c->ret = xrealloc(c->ret, (size_t)c->ret_cap * sizeof *c->ret);
    }
    int at = ret_upper_bound(c, r);
    memmove(c->ret + at + 1, c->ret + at, (size_t)(c->nret - at) * sizeof *c->ret);
    c->ret[at] = r;
    c->nret++;
    c->sum += r;
    c->sumsq += r * r;
    if (r < 0) c->down += r * r;
}

static void ret_remove(struct curve *c, double r)
{
    int at = ret_upper_bound(c, r) - 1;
    ASSERT(at >= 0 && c->ret[at] == r); /* computed the same way when added */
    memmove(c->ret + at, c->ret + at + 1, (size_t)(c->nret - at - 1) * sizeof *c->ret);
    c->nret--;
    c->sum -= r;
    c->sumsq -= r * r;
    if (r < 0) c->down -= r * r;
    if (++c->evictions < c->cap) return;
    c->evictions = 0;
    c->sum = c->sumsq = c->down = 0;
    for (int i = 0; i < c->nret; i++) {
        double x = c->ret[i];
        c->sum += x;
        c->sumsq += x * x;
        if (x < 0) c->down += x * x;
    }
}

static int64_t curve_at(const struct curve *c, int i)
{
    return c->v[(c->start + i) % c->cap].equity;
}

/* Drawdowns are measured over the whole run (a peak older than the retained samples
 * still counts). */
static void curve_drawdown(struct curve *c, int64_t e)
{
    c->peak = c->count == 0 ? e : MAX(c->peak, e);
    int64_t fall = sat64((__int128)c->peak - e);
    c->max_dd_money = MAX(c->max_dd_money, fall);
    if (c->peak > 0) c->max_dd = fmax(c->max_dd, (double)fall / (double)c->peak);
}

static void curve_push(struct curve *c, int64_t ts_us, int64_t equity)
{
    curve_drawdown(c, equity);
    if (c->count > 0) {
        int64_t prev = curve_at(c, c->count - 1);
        if (prev > 0) ret_add(c, (double)equity / (double)prev - 1);
    }
    if (c->count == c->cap && c->cap < PORTFOLIO_CURVE_MAX) {
        /* start is 0 until the ring is full at its final size. */
        c->cap = MIN(c->cap ? c->cap * 2 : 64, PORTFOLIO_CURVE_MAX);
        c->v = xrealloc(c->v, (size_t)c->cap * sizeof *c->v);
    }
    if (c->count == c->cap) {
        /* the oldest sample leaves, and with it the return from it to the next */
        int64_t e0 = curve_at(c, 0), e1 = curve_at(c, 1);
        if (e0 > 0) ret_remove(c, (double)e1 / (double)e0 - 1);
        c->v[c->start] = (struct sample){ts_us, equity};
        c->start = (c->start + 1) % c->cap;
        return;
    }
    c->v[(c->start + c->count) % c->cap] = (struct sample){ts_us, equity};
    c->count++;
}

static void account_sample(const struct portfolio *p, struct account *a, int64_t ts_us)
{
    int64_t e = equity_of(p, a);
    curve_push(&a->curve, ts_us, e);
    a->peak = MAX(a->peak, e);
}

void portfolio_sample(struct portfolio *p, int64_t ts_us)
{
    p->gen++;
    account_sample(p, &p->total, ts_us);
    for (int i = 0; i < p->nacc; i++) account_sample(p, p->acc[i], ts_us);
}

static void curve_stats(const struct portfolio *p, const struct account *a,
                        struct portfolio_metrics *out)
{
    const struct curve *c = &a->curve;
    out->max_drawdown = c->max_dd;
    out->max_drawdown_money = c->max_dd_money;
    int n = c->nret;
    if (n == 0) return;
    double mean = c->sum / n, ann = sqrt(p->periods_per_year);
    if (n >= 2) {
        double var = (c->sumsq - n * mean * mean) / (n - 1);
        double sd = var > 0 ? sqrt(var) : 0;
        out->sharpe = sd > 0 ? mean / sd * ann : 0;
        double dd = sqrt(fmax(c->down, 0) / n);
        out->sortino = dd > 0 ? mean / dd * ann : mean > 0 ? INFINITY : 0;
    }
    out->var95 = MAX(0.0, -c->ret[(n - 1) / 20]);
}

void portfolio_metrics(const struct portfolio *p, const char *strategy,
                       struct portfolio_metrics *out)
{
    memset(out, 0, sizeof *out);
    const struct account *a = account_find(p, strategy);
    if (!a) return;
    out->samples = a->curve.count;
    if (a->initial > 0) out->total_return = (double)equity_of(p, a) / (double)a->initial - 1;
    curve_stats(p, a, out);
    out->closing_fills = a->closing_fills;
    out->wins = a->wins;
    if (a->closing_fills > 0) out->win_rate = (double)a->wins / a->closing_fills;
    if (a->gross_loss > 0) out->profit_factor = (double)a->gross_profit / (double)a->gross_loss;
    else if (a->gross_profit > 0) out->profit_factor = INFINITY;
}

int portfolio_accounts(const struct portfolio *p, const char *const **out)
{
    *out = (const char *const *)p->names;
    return p->nacc;
}

int portfolio_positions(const struct portfolio *p, const char *strategy,
                        const struct position *const **out)
{
    const struct account *a = account_find(p, strategy);
    *out = a ? (const struct position *const *)a->pos : NULL;
    return a ? a->npos : 0;
}

static void add_money(cJSON *o, const char *key, int64_t v)
{
    json_add_fixed(o, key, v, MONEY_DP);
}

/* The position shape from a position, its market value and its mark. */
static cJSON *position_json(const struct instrument *in, const struct position *pos, int64_t value,
                            int marked, int64_t mark)
{
    cJSON *o = cJSON_CreateObject();
    ASSERT(o != NULL); /* cJSON fails only on out-of-memory, which aborts the host */
    cJSON_AddStringToObject(o, "symbol", in->symbol);
    double qty = fx_to_double(pos->qty, in->qty_dp);
    json_add_fixed(o, "qty", pos->qty, in->qty_dp);
    if (pos->qty != 0)
        cJSON_AddNumberToObject(o, "avg_price", fx_to_double(pos->cost, MONEY_DP) / qty);
    else cJSON_AddNullToObject(o, "avg_price");
    add_money(o, "cost", pos->cost);
    if (marked) json_add_fixed(o, "mark", mark, in->px_dp);
    else cJSON_AddNullToObject(o, "mark");
    add_money(o, "market_value", value);
    add_money(o, "unrealized", sat64((__int128)value - pos->cost));
    add_money(o, "realized", pos->realized);
    add_money(o, "commissions", pos->commissions);
    return o;
}

static cJSON *totals_json(const struct portfolio_totals *t)
{
    cJSON *o = cJSON_CreateObject();
    ASSERT(o != NULL);
    add_money(o, "cash", t->cash);
    add_money(o, "equity", t->equity);
    add_money(o, "realized", t->realized);
    add_money(o, "unrealized", t->unrealized);
    add_money(o, "commissions", t->commissions);
    add_money(o, "gross_exposure", t->gross_exposure);
    add_money(o, "net_exposure", t->net_exposure);
    add_money(o, "day_pnl", t->day_pnl);
    add_money(o, "drawdown", t->drawdown);
    add_money(o, "peak_equity", t->peak_equity);
    add_money(o, "initial_cash", t->initial_cash);
    cJSON_AddNumberToObject(o, "fills", (double)t->fills);
    return o;
}

static int is_marked(const struct portfolio *p, int sym)
{
    return sym < p->nmark && p->marked[sym];
}

struct cJSON *portfolio_position_json(const struct portfolio *p, const struct position *pos)
{
    int marked = is_marked(p, pos->sym);
    return position_json(&p->ins->v[pos->sym], pos, value_of(p, pos), marked,
                         marked ? p->mark[pos->sym] : 0);
}

struct cJSON *portfolio_totals_json(const struct portfolio *p, const char *strategy)
{
    struct portfolio_totals t;
    portfolio_totals(p, strategy, &t);
    return totals_json(&t);
}

void portfolio_position_update(const struct portfolio *p, const char *strategy,
                               const struct position *pos, struct portfolio_update *out)
{
    memset(out, 0, sizeof *out);
    out->is_position = 1;
    util_strlcpy(out->strategy, strategy ? strategy : "", sizeof out->strategy);
    out->pos = *pos;
    out->value = value_of(p, pos);
    out->marked = is_marked(p, pos->sym);
    if (out->marked) out->mark = p->mark[pos->sym];
}

void portfolio_totals_update(const struct portfolio *p, const char *strategy,
                             struct portfolio_update *out)
{
    memset(out, 0, sizeof *out);
    portfolio_totals(p, strategy, &out->totals);
}

struct cJSON *portfolio_update_json(const struct portfolio_update *u, const struct instruments *ins)
{
    if (!u->is_position) return totals_json(&u->totals);
    ASSERT(u->pos.sym >= 0 && u->pos.sym < ins->n);
    cJSON *o = position_json(&ins->v[u->pos.sym], &u->pos, u->value, u->marked, u->mark);
    cJSON_AddStringToObject(o, "strategy", u->strategy);
    return o;
}

struct cJSON *portfolio_metrics_json(const struct portfolio *p, const char *strategy)
{
    struct portfolio_metrics m;
    portfolio_metrics(p, strategy, &m);
    cJSON *o = cJSON_CreateObject();
    ASSERT(o != NULL);
    cJSON_AddNumberToObject(o, "total_return", m.total_return);
    cJSON_AddNumberToObject(o, "sharpe", m.sharpe);
    cJSON_AddNumberToObject(o, "sortino", m.sortino); /* cJSON writes INFINITY as null */
    cJSON_AddNumberToObject(o, "max_drawdown", m.max_drawdown);
    cJSON_AddNumberToObject(o, "win_rate", m.win_rate);
    cJSON_AddNumberToObject(o, "profit_factor", m.profit_factor);
    cJSON_AddNumberToObject(o, "var95", m.var95);
    cJSON_AddNumberToObject(o, "samples", m.samples);
    return o;
}
