/* backtest_report_svg.c: the report page's charts as inline SVG (backtest_report.h):
 * the equity curve, the drawdown (an area under zero, in percent) and one price chart
 * per symbol with its fills as triangles (buys under the price pointing up, sells above
 * pointing down).
 *
 * Downsampling keeps a chart's size bounded whatever the run's length: points are
 * grouped into BT_CHART_POINTS / 2 equal time buckets and each bucket keeps its lowest
 * and highest point, in time order, so spikes and drawdowns survive (an average would
 * hide them). Points arrive in time order, so buckets close one after another and the
 * pass needs no memory per bucket. Fill markers are thinned to one buy and one sell per
 * pixel column. Coordinates have one decimal: a chart is a few tens of kilobytes and the
 * same input draws the same bytes.
 *
 * Layout: a viewBox of CHART_W x CHART_H user units scaled to the page's width; the plot
 * area leaves margins for the y labels (nice steps of 1, 2, 2.5 or 5 x 10^k) and the x labels
 * (five dates, or dates and times for spans under MIN_DATE_SPAN). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backtest_report_internal.h"
#include "fixed.h"
#include "portfolio.h"
#include "util.h"

#define CHART_W       960
#define CHART_H       260
#define PAD_L         80
#define PAD_R         12
#define PAD_T         12
#define PAD_B         28
#define PLOT_W        (CHART_W - PAD_L - PAD_R)
#define PLOT_H        (CHART_H - PAD_T - PAD_B)
#define Y_TICKS       5
#define X_TICKS       5
#define MARKER_W      4 /* half the width of a fill triangle */
#define MARKER_H      7
#define MARKER_GAP    2
#define MIN_DATE_SPAN (3 * INT64_C(86400000000))

/* A point source: fills *t and *y for the i-th input point and returns 1, or 0 to skip
 * it (another symbol's price). */
typedef int (*point_fn)(const void *ctx, int i, int64_t *t, double *y);

struct series {
    int n, cap;
    int64_t *t;
    double *y;
    int64_t t0, t1;    /* first and last time */
    double ymin, ymax; /* over every input point */
};

static void series_push(struct series *s, int64_t t, double y)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->t = xrealloc(s->t, (size_t)s->cap * sizeof *s->t);
        s->y = xrealloc(s->y, (size_t)s->cap * sizeof *s->y);
    }
    s->t[s->n] = t, s->y[s->n] = y;
    s->n++;
}

static void series_free(struct series *s)
{
    free(s->t);
    free(s->y);
}

/* The extremes of one bucket, emitted in time order when it closes. */
struct bucket {
    int64_t k, tlo, thi;
    double lo, hi;
    int used;
};

static void bucket_emit(struct series *s, struct bucket *b)
{
    if (!b->used) return;
    if (b->tlo == b->thi) series_push(s, b->tlo, b->lo);
    else if (b->tlo < b->thi) series_push(s, b->tlo, b->lo), series_push(s, b->thi, b->hi);
    else series_push(s, b->thi, b->hi), series_push(s, b->tlo, b->lo);
    b->used = 0;
}

/* Reads n input points through get into s: all of them when they are few, else the
 * lowest and highest of each time bucket. Returns the number of points read. */
static int series_build(struct series *s, point_fn get, const void *ctx, int n)
{
    memset(s, 0, sizeof *s);
    int count = 0;
    int64_t t;
    double y;
    for (int i = 0; i < n; i++) {
        if (!get(ctx, i, &t, &y)) continue;
        if (!count++) s->t0 = t, s->ymin = s->ymax = y;
        s->t1 = t;
        s->ymin = fmin(s->ymin, y), s->ymax = fmax(s->ymax, y);
    }
    int64_t nb = BT_CHART_POINTS / 2, span = s->t1 - s->t0 + 1;
    struct bucket b = {0};
    for (int i = 0; i < n && count; i++) {
        if (!get(ctx, i, &t, &y)) continue;
        if (count <= BT_CHART_POINTS) {
            series_push(s, t, y);
            continue;
        }
        int64_t k = (int64_t)((__int128)(t - s->t0) * nb / span);
        if (b.used && k != b.k) bucket_emit(s, &b);
        if (!b.used) b = (struct bucket){k, t, t, y, y, 1};
        if (y < b.lo) b.lo = y, b.tlo = t;
        if (y > b.hi) b.hi = y, b.thi = t;
    }
    bucket_emit(s, &b);
    return count;
}

/* ---- scales and axes ----------------------------------------------------------------- */

struct scale {
    int64_t t0, t1;
    double lo, hi;
};

static double sx(const struct scale *sc, int64_t t)
{
    if (sc->t1 <= sc->t0) return PAD_L + PLOT_W / 2.0;
    return PAD_L + (double)(t - sc->t0) / (double)(sc->t1 - sc->t0) * PLOT_W;
}

static double sy(const struct scale *sc, double v)
{
    return PAD_T + (sc->hi - v) / (sc->hi - sc->lo) * PLOT_H;
}

/* Widens a flat range so the line sits in the middle. */
static void scale_init(struct scale *sc, int64_t t0, int64_t t1, double lo, double hi)
{
    if (!(hi > lo)) {
        double pad = fabs(lo) > 0 ? fabs(lo) * 0.01 : 1;
        lo -= pad, hi += pad;
    }
    *sc = (struct scale){t0, t1, lo, hi};
}

static double nice_step(double range)
{
    double raw = range / Y_TICKS, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
}

/* The decimals a label needs to show multiples of step exactly (0.25: 2). */
static int step_decimals(double step)
{
    int dp = 0;
    while (dp < FX_MAX_DP) {
        double scaled = step * (double)fx_pow10(dp);
        if (fabs(scaled - round(scaled)) < 1e-6 * scaled) break;
        dp++;
    }
    return dp;
}

static void put_coord(struct buf *b, const char *cmd, double x, double y)
{
    char xs[BT_FMT_MAX], ys[BT_FMT_MAX];
    buf_printf(b, "%s%s %s", cmd, bt_fmt_double(x, 1, xs), bt_fmt_double(y, 1, ys));
}

/* Grid lines and labels of the y axis; suffix after each label ("%" or ""). */
static void axis_y(struct buf *b, const struct scale *sc, const char *suffix)
{
    double step = nice_step(sc->hi - sc->lo);
    int dp = step_decimals(step);
    buf_puts(b, "<g class=\"axis-y\">");
    for (double v = ceil(sc->lo / step) * step; v <= sc->hi + step * 1e-9; v += step) {
        char y[BT_FMT_MAX], label[BT_FMT_MAX];
        bt_fmt_double(sy(sc, v), 1, y);
        buf_printf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%s\" y2=\"%s\"/>", PAD_L, CHART_W - PAD_R, y,
                   y);
        buf_printf(b, "<text x=\"%d\" y=\"%s\" dy=\"4\">%s%s</text>", PAD_L - 6, y,
                   bt_fmt_double(fabs(v) < step * 1e-9 ? 0 : v, dp, label), suffix);
    }
    buf_puts(b, "</g>");
}

static void axis_x(struct buf *b, const struct scale *sc)
{
    buf_puts(b, "<g class=\"axis-x\">");
    int64_t span = sc->t1 - sc->t0;
    for (int i = 0; i < X_TICKS && (i == 0 || span > 0); i++) {
        int64_t t = sc->t0 + span * i / (X_TICKS - 1);
        char label[BT_FMT_MAX], x[BT_FMT_MAX];
        bt_fmt_time_short(t, label);
        label[span >= MIN_DATE_SPAN ? 10 : 16] = 0; /* the date, or the date and hh:mm */
        const char *anchor = span == 0          ? "middle"
                             : i == 0           ? "start"
                             : i == X_TICKS - 1 ? "end"
                                                : "middle";
        buf_printf(b, "<text x=\"%s\" y=\"%d\" text-anchor=\"%s\">%s</text>",
                   bt_fmt_double(sx(sc, t), 1, x), CHART_H - 8, anchor, label);
    }
    buf_puts(b, "</g>");
}

static void svg_open(struct buf *b, const char *id, const char *cls, const char *label)
{
    buf_printf(b,
               "<svg id=\"%s\" class=\"chart%s\" viewBox=\"0 0 %d %d\" role=\"img\" "
               "aria-label=\"",
               id, cls, CHART_W, CHART_H);
    bt_html_escape(b, label);
    buf_puts(b, "\">");
}

static void line_path(struct buf *b, const struct scale *sc, const struct series *s,
                      const char *cls)
{
    buf_printf(b, "<path class=\"%s\" d=\"", cls);
    for (int i = 0; i < s->n; i++) put_coord(b, i ? "L" : "M", sx(sc, s->t[i]), sy(sc, s->y[i]));
    buf_puts(b, "\"/>");
}

/* ---- the equity curve and the drawdown ------------------------------------------------- */

static int equity_point(const void *ctx, int i, int64_t *t, double *y)
{
    const struct bt_sample *s = &((const struct bt_report *)ctx)->samples[i];
    *t = s->t_us;
    *y = fx_to_double(s->equity, MONEY_DP);
    return 1;
}

void bt_svg_equity(struct buf *b, const struct bt_report *r)
{
    if (r->nsamples == 0) {
        buf_puts(b, "<p class=\"empty\">No samples.</p>");
        return;
    }
    struct series s;
    series_build(&s, equity_point, r, r->nsamples);
    struct scale sc;
    scale_init(&sc, s.t0, s.t1, s.ymin, s.ymax);
    svg_open(b, "equity-chart", "", "Equity curve");
    axis_y(b, &sc, "");
    axis_x(b, &sc);
    line_path(b, &sc, &s, "line equity");
    buf_puts(b, "</svg>");
    series_free(&s);
}

/* Drawdowns need the running peak, so they are computed once into an array first. */
struct drawdowns {
    const struct bt_sample *s;
    double *pct;
};

static int drawdown_point(const void *ctx, int i, int64_t *t, double *y)
{
    const struct drawdowns *d = ctx;
    *t = d->s[i].t_us;
    *y = d->pct[i];
    return 1;
}

void bt_svg_drawdown(struct buf *b, const struct bt_report *r)
{
    if (r->nsamples == 0) {
        buf_puts(b, "<p class=\"empty\">No samples.</p>");
        return;
    }
    struct drawdowns d = {r->samples, xmalloc((size_t)r->nsamples * sizeof(double))};
    int64_t peak = r->m->initial;
    for (int i = 0; i < r->nsamples; i++) {
        peak = MAX(peak, r->samples[i].equity);
        d.pct[i] = -(double)bt_drawdown_ppm(peak, r->samples[i].equity) / 1e4;
    }
    struct series s;
    series_build(&s, drawdown_point, &d, r->nsamples);
    struct scale sc;
    scale_init(&sc, s.t0, s.t1, fmin(s.ymin, 0), 0);
    svg_open(b, "drawdown-chart", "", "Drawdown");
    axis_y(b, &sc, "%");
    axis_x(b, &sc);
    buf_puts(b, "<path class=\"area drawdown\" d=\"");
    put_coord(b, "M", sx(&sc, s.t[0]), sy(&sc, 0));
    for (int i = 0; i < s.n; i++) put_coord(b, "L", sx(&sc, s.t[i]), sy(&sc, s.y[i]));
    put_coord(b, "L", sx(&sc, s.t[s.n - 1]), sy(&sc, 0));
    buf_puts(b, "Z\"/></svg>");
    series_free(&s);
    free(d.pct);
}

/* ---- prices and fills ------------------------------------------------------------------ */

struct price_src {
    const struct bt_report *r;
    int sym, dp;
};

static int price_point(const void *ctx, int i, int64_t *t, double *y)
{
    const struct price_src *p = ctx;
    const struct bt_price *x = &p->r->prices[i];
    if (x->sym != p->sym) return 0;
    *t = x->t_us;
    *y = fx_to_double(x->px, p->dp);
    return 1;
}

/* One triangle per side and pixel column: the first fill there. */
static void fill_markers(struct buf *b, const struct scale *sc, const struct price_src *p, int side)
{
    const struct bt_report *r = p->r;
    unsigned char *seen = xcalloc(PLOT_W + 1, 1);
    buf_printf(b, "<path class=\"%s\" d=\"", side > 0 ? "buys" : "sells");
    for (int i = 0; i < r->nfills; i++) {
        const struct bt_fill *f = &r->fills[i];
        if (f->sym != p->sym || f->side != side || f->t_us < sc->t0 || f->t_us > sc->t1) continue;
        double x = sx(sc, f->t_us), y = sy(sc, fx_to_double(f->px, p->dp));
        int col = (int)lround(x - PAD_L);
        if (col < 0 || col > PLOT_W || seen[col]) continue;
        seen[col] = 1;
        put_coord(b, "M", x, y + side * MARKER_GAP);
        buf_printf(b, "l%d %dh%dZ", MARKER_W, side * MARKER_H, -2 * MARKER_W);
    }
    buf_puts(b, "\"/>");
    free(seen);
}

static void price_chart(struct buf *b, const struct bt_report *r, int sym)
{
    struct price_src p = {r, sym, r->ins->v[sym].px_dp};
    struct series s;
    series_build(&s, price_point, &p, r->nprices);
    double lo = s.ymin, hi = s.ymax;
    for (int i = 0; i < r->nfills; i++) {
        const struct bt_fill *f = &r->fills[i];
        if (f->sym != sym || f->t_us < s.t0 || f->t_us > s.t1) continue;
        lo = fmin(lo, fx_to_double(f->px, p.dp)), hi = fmax(hi, fx_to_double(f->px, p.dp));
    }
    struct scale sc;
    scale_init(&sc, s.t0, s.t1, lo, hi);
    const char *symbol = r->ins->v[sym].symbol;
    buf_puts(b, "<figure class=\"symbol\"><figcaption>");
    bt_html_escape(b, symbol);
    buf_puts(b, "</figcaption>");
    char id[64];
    snprintf(id, sizeof id, "price-chart-%d", sym);
    svg_open(b, id, " price-chart", symbol);
    axis_y(b, &sc, "");
    axis_x(b, &sc);
    line_path(b, &sc, &s, "line price");
    fill_markers(b, &sc, &p, 1);
    fill_markers(b, &sc, &p, -1);
    buf_puts(b, "</svg></figure>");
    series_free(&s);
}

void bt_svg_prices(struct buf *b, const struct bt_report *r)
{
    int n = r->ins ? r->ins->n : 0, charts = 0;
    unsigned char *has = xcalloc((size_t)MAX(n, 1), 1);
    for (int i = 0; i < r->nprices; i++)
        if (r->prices[i].sym >= 0 && r->prices[i].sym < n) has[r->prices[i].sym] = 1;
    for (int sym = 0; sym < n; sym++)
        if (has[sym]) price_chart(b, r, sym), charts++;
    if (!charts) buf_puts(b, "<p class=\"empty\">No prices.</p>");
    free(has);
}
