/* backtest_metrics.c: round trips from fills and the metrics of a backtest (see
 * backtest_metrics.h for every definition).
 *
 * Round trips: one builder per symbol follows the position as the fills come. While a
 * trade is open it sums what went in (fills that open or add: quantity, px * qty as a
 * 128-bit integer, notional in money) and what went out, and keeps the cost basis of the
 * open part as portfolio.c does (a reducing fill removes cost * q / |position|, truncated,
 * the remainder staying in the basis). When the position returns to 0 every unit that
 * went in went out, so the removed costs add up to the notional in exactly and
 *   pnl = side * (notional out - notional in) - commissions
 * holds in integers, whatever the order of the fills. Notionals are money_notional's
 * (the portfolio's rounding), so a trade's pnl is what the portfolio realized on it.
 *
 * Metrics: one pass over the samples (peak, drawdown, exposure, return sum) and a second
 * over the returns for the standard deviation (two passes: no cancellation of
 * sum-of-squares minus squared mean on long flat curves). */
#include "backtest_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "portfolio.h"
#include "util.h"

#define US_PER_YEAR (365.25 * 86400.0 * 1e6)

/* A symbol's trade in progress (idx < 0: flat). */
struct builder {
    int idx;
    int64_t pos;  /* |position|, qty units */
    int64_t cost; /* money: cost basis of the open part, >= 0 */
    int64_t realized;
    int64_t in_qty, out_qty;
    __int128 in_pxq, out_pxq; /* sum px * qty, instrument units squared */
    int64_t in_notional, out_notional;
};

struct trades {
    struct bt_trade *v;
    int n, cap;
};

static int64_t round_div(__int128 num, __int128 den)
{
    ASSERT(den > 0);
    __int128 q = num / den, r = num % den;
    if (r < 0) r = -r;
    if (2 * r >= den) q += num < 0 ? -1 : 1;
    return (int64_t)q;
}

static int64_t pro_rata(int64_t v, int64_t part, int64_t whole)
{
    return (int64_t)((__int128)v * part / whole);
}

static void trade_open(struct trades *ts, struct builder *b, const struct bt_fill *f)
{
    if (ts->n == ts->cap) {
        ts->cap = ts->cap ? 2 * ts->cap : 16;
        ts->v = xrealloc(ts->v, (size_t)ts->cap * sizeof *ts->v);
    }
    struct bt_trade *t = &ts->v[ts->n];
    memset(t, 0, sizeof *t);
    t->sym = f->sym;
    t->side = f->side;
    t->open_us = f->t_us;
    t->open = 1;
    memset(b, 0, sizeof *b);
    b->idx = ts->n++;
}

/* Books q units of fill f (notional and commission its share) to b's trade. */
static void trade_add(struct trades *ts, struct builder *b, const struct bt_fill *f, int64_t q,
                      int64_t notional, int64_t commission)
{
    struct bt_trade *t = &ts->v[b->idx];
    t->fills++;
    t->commission += commission;
    if (f->side == t->side) {
        b->pos += q;
        b->cost += notional;
        b->in_qty += q;
        b->in_pxq += (__int128)f->px * q;
        b->in_notional += notional;
        t->qty = MAX(t->qty, b->pos);
        return;
    }
    int64_t removed = b->pos == q ? b->cost : pro_rata(b->cost, q, b->pos);
    b->cost -= removed;
    b->pos -= q;
    b->realized += t->side * (notional - removed);
    b->out_qty += q;
    b->out_pxq += (__int128)f->px * q;
    b->out_notional += notional;
}

/* Fills in the trade's prices and pnl from its builder; mark_px > 0 closes the rest there. */
static void trade_finish(const struct instrument *in, struct trades *ts, struct builder *b,
                         int64_t mark_px, int64_t t_us)
{
    struct bt_trade *t = &ts->v[b->idx];
    __int128 out_pxq = b->out_pxq;
    int64_t out_qty = b->out_qty, pnl = b->realized;
    if (b->pos > 0 && mark_px > 0) {
        out_pxq += (__int128)mark_px * b->pos;
        out_qty += b->pos;
        pnl = t->side * (b->out_notional + money_notional(in, mark_px, b->pos) - b->in_notional);
    }
    t->close_us = b->pos == 0 || mark_px > 0 ? t_us : 0;
    t->open = b->pos != 0;
    t->entry_px = b->in_qty ? round_div(b->in_pxq, b->in_qty) : 0;
    t->exit_px = out_qty ? round_div(out_pxq, out_qty) : 0;
    t->pnl = pnl - t->commission;
    t->ret = b->in_notional ? (double)t->pnl / (double)b->in_notional : 0;
    b->idx = -1;
}

/* One fill: closes (part of) the trade in progress, opens one with whatever is left. */
static void apply_fill(const struct instruments *ins, struct trades *ts, struct builder *b,
                       const struct bt_fill *f)
{
    const struct instrument *in = &ins->v[f->sym];
    int64_t qty = f->qty, notional = money_notional(in, f->px, f->qty), commission = f->commission;
    if (b->idx >= 0 && f->side != ts->v[b->idx].side) {
        /* the reopened part's notional rounded on its own, as portfolio.c books it */
        int64_t q = MIN(qty, b->pos);
        int64_t n1 = q == qty ? notional : notional - money_notional(in, f->px, qty - q);
        int64_t c1 = q == qty ? commission : pro_rata(commission, q, qty);
        trade_add(ts, b, f, q, n1, c1);
        qty -= q, notional -= n1, commission -= c1;
        if (b->pos == 0) trade_finish(in, ts, b, 0, f->t_us);
    }
    if (qty == 0) return;
    if (b->idx < 0) trade_open(ts, b, f);
    trade_add(ts, b, f, qty, notional, commission);
}

int bt_trades_build(const struct instruments *ins, const struct bt_fill *f, int n,
                    const int64_t *last_px, int64_t mark_us, struct bt_trade **out)
{
    struct trades ts = {NULL, 0, 0};
    struct builder *b = xcalloc((size_t)MAX(ins->n, 1), sizeof *b);
    for (int i = 0; i < ins->n; i++) b[i].idx = -1;
    for (int i = 0; i < n; i++) {
        ASSERT(f[i].sym >= 0 && f[i].sym < ins->n);
        ASSERT(f[i].side == 1 || f[i].side == -1);
        ASSERT(f[i].qty > 0 && f[i].commission >= 0);
        apply_fill(ins, &ts, &b[f[i].sym], &f[i]);
    }
    for (int s = 0; s < ins->n; s++) {
        if (b[s].idx < 0) continue;
        trade_finish(&ins->v[s], &ts, &b[s], last_px ? last_px[s] : 0, mark_us);
    }
    free(b);
    *out = ts.v;
    return ts.n;
}

int bt_trades_from_fills(const struct instruments *ins, const struct bt_fill *f, int n,
                         struct bt_trade **out)
{
    return bt_trades_build(ins, f, n, NULL, 0, out);
}

/* Sharpe and Sortino over the returns of the curve. */
static void returns_stats(const struct bt_sample *s, int ns, double ppy, struct bt_metrics *out)
{
    int n = 0;
    double sum = 0, down = 0;
    for (int i = 1; i < ns; i++) {
        if (s[i - 1].equity <= 0) continue;
        double r = (double)s[i].equity / (double)s[i - 1].equity - 1;
        sum += r;
        if (r < 0) down += r * r;
        n++;
    }
    if (n < 2) return;
    double mean = sum / n, var = 0;
    for (int i = 1; i < ns; i++) {
        if (s[i - 1].equity <= 0) continue;
        double d = (double)s[i].equity / (double)s[i - 1].equity - 1 - mean;
        var += d * d;
    }
    double sd = sqrt(var / (n - 1)), dd = sqrt(down / n), ann = sqrt(ppy);
    out->sharpe = sd > 0 ? mean / sd * ann : 0;
    out->sortino = dd > 0 ? mean / dd * ann : mean > 0 ? INFINITY : 0;
}

/* Drawdown and exposure: one pass over the samples. */
static void curve_stats(const struct bt_sample *s, int ns, struct bt_metrics *out)
{
    int64_t peak = out->initial, exposed_us = 0;
    for (int i = 0; i < ns; i++) {
        peak = MAX(peak, s[i].equity);
        if (peak > 0) {
            out->max_drawdown_money = MAX(out->max_drawdown_money, peak - s[i].equity);
            out->max_drawdown =
                fmax(out->max_drawdown, (double)(peak - s[i].equity) / (double)peak);
        }
        if (i > 0 && s[i - 1].gross > 0) exposed_us += s[i].t_us - s[i - 1].t_us;
    }
    int64_t span = out->end_us - out->start_us;
    if (span > 0) out->exposure = (double)exposed_us / (double)span;
}

static void growth_stats(struct bt_metrics *out)
{
    if (out->initial <= 0) return;
    double growth = (double)out->final / (double)out->initial;
    out->total_return = growth - 1;
    double years = (double)(out->end_us - out->start_us) / US_PER_YEAR;
    if (years <= 0) return;
    out->cagr = out->final <= 0 ? -1 : pow(growth, 1 / years) - 1;
}

static void trade_stats(const struct bt_trade *t, int nt, struct bt_metrics *out)
{
    double profit = 0, loss = 0;
    for (int i = 0; i < nt; i++) {
        if (t[i].open) continue;
        out->trades++;
        if (t[i].pnl > 0) out->wins++, profit += (double)t[i].pnl;
        else loss -= (double)t[i].pnl;
    }
    if (out->trades) out->win_rate = (double)out->wins / out->trades;
    out->profit_factor = loss > 0 ? profit / loss : profit > 0 ? INFINITY : 0;
}

void bt_metrics_compute(const struct bt_sample *s, int ns, const struct bt_trade *t, int nt,
                        const struct bt_fill *f, int nf, int64_t initial, double periods_per_year,
                        struct bt_metrics *out)
{
    memset(out, 0, sizeof *out);
    out->initial = out->final = initial;
    out->samples = ns;
    out->periods_per_year = periods_per_year;
    if (ns > 0) {
        out->start_us = s[0].t_us;
        out->end_us = s[ns - 1].t_us;
        out->final = s[ns - 1].equity;
    }
    returns_stats(s, ns, periods_per_year, out);
    curve_stats(s, ns, out);
    growth_stats(out);
    trade_stats(t, nt, out);
    for (int i = 0; i < nf; i++) out->commissions += f[i].commission;
}

/* clang-format off */
#define METRICS(X)                                                                                 \
    X(sharpe, 1) X(sortino, 1) X(total_return, 1) X(cagr, 1) X(profit_factor, 1) X(win_rate, 1)   \
    X(max_drawdown, 0) X(exposure, 0) X(trades, 1)
/* clang-format on */

int bt_metric_value(const struct bt_metrics *m, const char *name, double *value, int *higher_better)
{
#define X(field, hb)                                                                               \
    if (!strcmp(name, #field)) {                                                                   \
        *value = (double)m->field;                                                                 \
        *higher_better = hb;                                                                       \
        return 0;                                                                                  \
    }
    METRICS(X)
#undef X
    return -1;
}

const char *bt_metric_names(void)
{
#define X(field, hb) ", " #field
    static const char names[] = METRICS(X);
#undef X
    return names + 2;
}
