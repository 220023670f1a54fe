/* backtest_report_html.c: report.html, one self-contained page (backtest_report.h).
 *
 * Nothing in the page refers outside it: the style is inline, the charts are inline SVG
 * (backtest_report_svg.c), fonts are the system's, and there is no script at all, so
 * the page opens offline, from a file, anywhere. Sections, in order: the summary table
 * (the terminal's lines), the equity curve, the drawdown, a price chart per symbol, the
 * trades (the first BT_HTML_ROWS; the rest are in trades.csv), the risk denials (counts
 * by reason, then the first BT_HTML_ROWS), the orders by status.
 *
 * Every string that is not the page's own goes through bt_html_escape (script and data
 * paths, params, symbols, strategies, reasons, messages), which also replaces invalid
 * UTF-8, so a tag or message holding markup shows as text. Stable ids (summary-table,
 * equity-chart, trades-table, ...) let tests and readers find each part. */
#include <stdlib.h>
#include <string.h>

#include "backtest_report_internal.h"
#include "order.h"
#include "util.h"

static const char STYLE[] =
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;"
    "max-width:1100px;padding:16px;color:#1e293b;background:#fff}"
    "h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}"
    ".meta{color:#475569;margin:0}code{font:13px ui-monospace,monospace}"
    "table{border-collapse:collapse;font-variant-numeric:tabular-nums}"
    "th,td{padding:3px 8px;border-bottom:1px solid #e2e8f0;text-align:left;white-space:nowrap}"
    "td.n{text-align:right}.summary th{font-weight:500;color:#475569}"
    ".wrap{overflow-x:auto}.pos{color:#15803d}.neg{color:#b91c1c}.more,.empty{color:#64748b}"
    "svg.chart{width:100%;height:auto;display:block}figure{margin:0 0 12px}"
    "figcaption{font-weight:600}.axis-y line{stroke:#e2e8f0}"
    ".axis-y text{text-anchor:end}.chart text{font-size:11px;fill:#64748b}"
    ".line{fill:none;stroke-width:1.5}.equity{stroke:#2563eb}.price{stroke:#334155}"
    ".drawdown{fill:#fecaca;stroke:#dc2626;stroke-width:1}"
    ".buys{fill:#16a34a}.sells{fill:#dc2626}";

void bt_html_escape(struct buf *b, const char *s)
{
    struct buf clean = BUF_INIT;
    buf_put_utf8(&clean, s, strlen(s));
    for (size_t i = 0; i < clean.len; i++) {
        char c = clean.p[i];
        switch (c) {
        case '&':
            buf_puts(b, "&amp;");
            break;
        case '<':
            buf_puts(b, "&lt;");
            break;
        case '>':
            buf_puts(b, "&gt;");
            break;
        case '"':
            buf_puts(b, "&quot;");
            break;
        case '\'':
            buf_puts(b, "&#39;");
            break;
        default:
            buf_putc(b, c);
        }
    }
    buf_free(&clean);
}

/* <td> (class n: numbers, right-aligned) holding s escaped. */
static void td(struct buf *b, const char *cls, const char *s)
{
    if (cls) buf_printf(b, "<td class=\"%s\">", cls);
    else buf_puts(b, "<td>");
    bt_html_escape(b, s);
    buf_puts(b, "</td>");
}

static void thead(struct buf *b, const char *id, const char *const *cols, int n)
{
    buf_printf(b, "<div class=\"wrap\"><table id=\"%s\"><thead><tr>", id);
    for (int i = 0; i < n; i++) buf_printf(b, "<th>%s</th>", cols[i]);
    buf_puts(b, "</tr></thead><tbody>");
}

static void more(struct buf *b, int n, const char *where)
{
    if (n > BT_HTML_ROWS)
        buf_printf(b, "<p class=\"more\">%d more %s</p>", n - BT_HTML_ROWS, where);
}

static void header(struct buf *b, const struct bt_report *r)
{
    buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                "<title>Backtest: ");
    bt_html_escape(b, r->script ? r->script : "");
    buf_printf(b, "</title><style>%s</style></head>\n<body>\n<h1>Backtest <code>", STYLE);
    bt_html_escape(b, r->script ? r->script : "");
    buf_puts(b, "</code></h1>\n<p class=\"meta\">");
    if (r->params && r->params[0]) {
        buf_puts(b, "Params <code>");
        bt_html_escape(b, r->params);
        buf_puts(b, "</code>. ");
    }
    buf_puts(b, "Data: ");
    for (int i = 0; i < r->ndata; i++) {
        buf_puts(b, i ? ", <code>" : "<code>");
        bt_html_escape(b, r->data[i]);
        buf_puts(b, "</code>");
    }
    if (!r->ndata) buf_puts(b, "none");
    buf_puts(b, ".</p>\n");
}

static void summary(struct buf *b, const struct bt_report *r)
{
    struct bt_row rows[BT_SUMMARY_ROWS];
    int n = bt_summary_rows(r, rows);
    buf_puts(b, "<section id=\"summary\"><h2>Summary</h2><table class=\"summary\" "
                "id=\"summary-table\"><tbody>");
    for (int i = 0; i < n; i++) {
        buf_printf(b, "<tr><th>%s</th>", rows[i].label);
        td(b, NULL, rows[i].value);
        buf_puts(b, "</tr>");
    }
    buf_puts(b, "</tbody></table></section>\n");
}

static void charts(struct buf *b, const struct bt_report *r)
{
    buf_puts(b, "<section id=\"equity\"><h2>Equity</h2>");
    bt_svg_equity(b, r);
    buf_puts(b, "</section>\n<section id=\"drawdown\"><h2>Drawdown</h2>");
    bt_svg_drawdown(b, r);
    buf_puts(b, "</section>\n<section id=\"prices\"><h2>Prices and fills</h2>");
    bt_svg_prices(b, r);
    buf_puts(b, "</section>\n");
}

static void trade_row(struct buf *b, const struct bt_report *r, int i)
{
    const struct bt_trade *t = &r->trades[i];
    char s[BT_FMT_MAX];
    buf_printf(b, "<tr><td class=\"n\">%d</td>", i + 1);
    td(b, NULL, bt_symbol(r->ins, t->sym));
    td(b, NULL, t->side > 0 ? "long" : "short");
    td(b, NULL, bt_fmt_time_short(t->open_us, s));
    td(b, NULL, t->open ? "open" : bt_fmt_time_short(t->close_us, s));
    td(b, "n", bt_fmt_qty(r->ins, t->sym, t->qty, s));
    td(b, "n", bt_fmt_px(r->ins, t->sym, t->entry_px, s));
    td(b, "n", t->exit_px ? bt_fmt_px(r->ins, t->sym, t->exit_px, s) : "");
    td(b, t->pnl > 0 ? "n pos" : t->pnl < 0 ? "n neg" : "n", bt_fmt_money(t->pnl, s));
    td(b, "n", bt_fmt_pct(t->ret, s));
    td(b, "n", bt_fmt_money(t->commission, s));
    buf_printf(b, "<td class=\"n\">%d</td></tr>", t->fills);
}

static void trades(struct bt_out *o, const struct bt_report *r)
{
    static const char *const cols[] = {"#",       "Symbol", "Side",       "Open",
                                       "Close",   "Qty",    "Entry",      "Exit",
                                       "P&amp;L", "Return", "Commission", "Fills"};
    buf_printf(&o->b, "<section id=\"trades\"><h2>Trades (%d)</h2>", r->ntrades);
    thead(&o->b, "trades-table", cols, (int)ARRAY_LEN(cols));
    for (int i = 0; i < r->ntrades && i < BT_HTML_ROWS; i++) {
        trade_row(&o->b, r, i);
        bt_out_flush(o);
    }
    buf_puts(&o->b, "</tbody></table></div>");
    more(&o->b, r->ntrades, "in trades.csv");
    buf_puts(&o->b, "</section>\n");
}

static void denial_row(struct buf *b, const struct bt_report *r, const struct bt_denial *d)
{
    char s[BT_FMT_MAX];
    buf_puts(b, "<tr>");
    td(b, NULL, bt_fmt_time_short(d->t_us, s));
    td(b, NULL, d->strategy);
    td(b, NULL, bt_symbol(r->ins, d->sym));
    td(b, NULL, d->side > 0 ? "buy" : "sell");
    td(b, "n", bt_fmt_qty(r->ins, d->sym, d->qty, s));
    td(b, "n", d->px ? bt_fmt_px(r->ins, d->sym, d->px, s) : "");
    td(b, NULL, d->reason);
    td(b, NULL, d->message);
    buf_puts(b, "</tr>");
}

static void denials(struct bt_out *o, const struct bt_report *r)
{
    static const char *const by[] = {"Reason", "Count"};
    static const char *const cols[] = {"Time", "Strategy", "Symbol", "Side",
                                       "Qty",  "Price",    "Reason", "Message"};
    buf_printf(&o->b, "<section id=\"denials\"><h2>Risk denials (%d)</h2>", r->ndenials);
    if (!r->ndenials) {
        buf_puts(&o->b, "<p class=\"empty\">None.</p></section>\n");
        return;
    }
    struct bt_count *c;
    int n = bt_denial_counts(r, &c);
    thead(&o->b, "denials-by-reason", by, 2);
    for (int i = 0; i < n; i++) {
        buf_puts(&o->b, "<tr>");
        td(&o->b, NULL, c[i].name);
        buf_printf(&o->b, "<td class=\"n\">%d</td></tr>", c[i].n);
    }
    free(c);
    buf_puts(&o->b, "</tbody></table></div>");
    thead(&o->b, "denials-table", cols, (int)ARRAY_LEN(cols));
    for (int i = 0; i < r->ndenials && i < BT_HTML_ROWS; i++) {
        denial_row(&o->b, r, &r->denials[i]);
        bt_out_flush(o);
    }
    buf_puts(&o->b, "</tbody></table></div>");
    more(&o->b, r->ndenials, "not shown");
    buf_puts(&o->b, "</section>\n");
}

static void orders(struct buf *b, const struct bt_report *r)
{
    static const char *const cols[] = {"Status", "Count"};
    int by[OS__COUNT];
    bt_order_counts(r, by);
    buf_printf(b, "<section id=\"orders\"><h2>Orders (%d)</h2>", r->norders);
    thead(b, "orders-by-status", cols, 2);
    for (int s = 0; s < OS__COUNT; s++)
        if (by[s])
            buf_printf(b, "<tr><td>%s</td><td class=\"n\">%d</td></tr>", order_status_name(s),
                       by[s]);
    buf_puts(b, "</tbody></table></div><p class=\"more\">Every order is in orders.csv.</p>"
                "</section>\n");
}

int bt_write_html(const char *dir, const struct bt_report *r, struct err *e)
{
    struct bt_out o;
    if (bt_out_open(&o, dir, "report.html", e) < 0) return -1;
    header(&o.b, r);
    summary(&o.b, r);
    charts(&o.b, r);
    bt_out_flush(&o);
    trades(&o, r);
    denials(&o, r);
    orders(&o.b, r);
    buf_puts(&o.b,
             "<footer class=\"more\">luatrade " LUATRADE_VERSION "</footer>\n</body></html>\n");
    return bt_out_close(&o, e);
}
