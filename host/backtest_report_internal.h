/* backtest_report_internal.h: what the report's files share (backtest_report.c: the
 * entry point, summary.json, the terminal summary and the formatting below;
 * backtest_report_csv.c; backtest_report_html.c; backtest_report_svg.c).
 *
 * The formatters write into a caller's char[BT_FMT_MAX] and return it, so a line is a
 * few calls and no allocation (equity.csv may have millions of lines). */
#ifndef LUATRADE_BACKTEST_REPORT_INTERNAL_H
#define LUATRADE_BACKTEST_REPORT_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "backtest_report.h"
#include "buf.h"

#define BT_FMT_MAX 64

/* Money (MONEY_DP) with 2 decimals, half away from zero: "-1234.57". */
const char *bt_fmt_money(int64_t v, char *buf);
/* px or qty of sym with its instrument's decimals; "" when sym is not an instrument. */
const char *bt_fmt_px(const struct instruments *ins, int sym, int64_t px, char *buf);
const char *bt_fmt_qty(const struct instruments *ins, int sym, int64_t qty, char *buf);
/* v with dp decimals, never "-0.00"; "inf", "-inf", "nan" when not finite. */
const char *bt_fmt_double(double v, int dp, char *buf);
/* v * 100 with 2 decimals and "%". */
const char *bt_fmt_pct(double v, char *buf);
/* The symbol of sym, "?" when it is not an instrument. */
const char *bt_symbol(const struct instruments *ins, int sym);

/* ISO-8601 as util_iso8601 writes it, the date cached between calls (same day: no
 * calendar arithmetic). Zero-initialize. */
struct bt_timefmt {
    int64_t day;
    int valid;
    char date[16]; /* "YYYY-MM-DDT" */
};
const char *bt_fmt_time(struct bt_timefmt *tf, int64_t t_us, char *buf);
/* "2024-01-02 14:30:00" (":00.5" and so on only when there are fractions), for people. */
const char *bt_fmt_time_short(int64_t t_us, char *buf);

/* (peak - e) / peak as millionths, rounded (0 when peak <= 0). */
int64_t bt_drawdown_ppm(int64_t peak, int64_t equity);

/* The summary's lines, shared by the terminal and the page. */
#define BT_SUMMARY_ROWS 20
struct bt_row {
    const char *label;
    char value[512];
};
int bt_summary_rows(const struct bt_report *r, struct bt_row *rows);

/* Denials counted by reason, most frequent first (then by name). Caller frees *out. */
struct bt_count {
    const char *name;
    int n;
};
int bt_denial_counts(const struct bt_report *r, struct bt_count **out);
/* Orders per status (out[OS__COUNT]). */
void bt_order_counts(const struct bt_report *r, int *out);
/* Trades still open at the end. */
int bt_open_trades(const struct bt_report *r);

/* An output file written in chunks from a buffer: append to b, call bt_out_flush after
 * each line (it writes only when b is big), and bt_out_close at the end. */
struct bt_out {
    FILE *f;
    struct buf b;
    char path[4096];
};
/* Opens dir/name for writing. 0, or -1 with e ("dir/name: reason"). */
int bt_out_open(struct bt_out *o, const char *dir, const char *name, struct err *e);
void bt_out_flush(struct bt_out *o);
/* Writes the rest, closes and frees: 0, or -1 with e when any write or the close failed. */
int bt_out_close(struct bt_out *o, struct err *e);

/* The files. */
int bt_write_trades_csv(const char *dir, const struct bt_report *r, struct err *e);
int bt_write_orders_csv(const char *dir, const struct bt_report *r, struct err *e);
int bt_write_equity_csv(const char *dir, const struct bt_report *r, struct err *e);
int bt_write_html(const char *dir, const struct bt_report *r, struct err *e);

/* HTML: s escaped (& < > " '), invalid UTF-8 as U+FFFD. */
void bt_html_escape(struct buf *b, const char *s);
/* The charts, as <svg> elements appended to b (backtest_report_svg.c). */
void bt_svg_equity(struct buf *b, const struct bt_report *r);
void bt_svg_drawdown(struct buf *b, const struct bt_report *r);
/* One chart per symbol that has prices, with its fills as markers. */
void bt_svg_prices(struct buf *b, const struct bt_report *r);

#endif
