/* backtest_report_csv.c: trades.csv, orders.csv and equity.csv (backtest_report.h).
 *
 * One header line, then one line per record, "\n"-terminated. Fields that come from a
 * script or an operator (tags, reasons) are quoted when they need it (RFC 4180); every
 * other field is a number, a time, a symbol or a name that never does. Empty fields
 * mean "does not apply" (a market order's limit, an unfilled order's average price, an
 * unmarked open trade's close).
 *
 *   trades.csv  id,symbol,side,open_time,close_time,qty,entry_px,exit_px,pnl,return,
 *               commission,fills,status           (side long/short, status closed/open)
 *   orders.csv  id,created,symbol,side,type,tif,qty,limit,stop,status,filled,avg_px,tag,
 *               reason,role,parent                (avg_px from the order's fill notional)
 *   equity.csv  time,equity,drawdown,gross        (drawdown from the running peak, which
 *                                                  starts at the initial capital) */
#include <string.h>

#include "backtest_report_internal.h"
#include "fixed.h"
#include "order.h"
#include "portfolio.h"
#include "util.h"

#define RET_DP 6

static void csv_field(struct buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        buf_puts(b, s);
        return;
    }
    buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"') buf_putc(b, '"');
        buf_putc(b, *s);
    }
    buf_putc(b, '"');
}

/* Appends ",s" (s unquoted: the caller's numbers and names). */
static void put(struct buf *b, const char *s)
{
    buf_putc(b, ',');
    buf_puts(b, s);
}

static void trade_line(struct buf *b, struct bt_timefmt *tf, const struct bt_report *r, int i)
{
    const struct bt_trade *t = &r->trades[i];
    char s[BT_FMT_MAX];
    buf_printf(b, "%d", i + 1);
    put(b, bt_symbol(r->ins, t->sym));
    put(b, t->side > 0 ? "long" : "short");
    put(b, bt_fmt_time(tf, t->open_us, s));
    put(b, t->close_us ? bt_fmt_time(tf, t->close_us, s) : "");
    put(b, bt_fmt_qty(r->ins, t->sym, t->qty, s));
    put(b, bt_fmt_px(r->ins, t->sym, t->entry_px, s));
    put(b, t->exit_px || !t->open ? bt_fmt_px(r->ins, t->sym, t->exit_px, s) : "");
    put(b, bt_fmt_money(t->pnl, s));
    put(b, bt_fmt_double(t->ret, RET_DP, s));
    put(b, bt_fmt_money(t->commission, s));
    buf_printf(b, ",%d,%s\n", t->fills, t->open ? "open" : "closed");
}

int bt_write_trades_csv(const char *dir, const struct bt_report *r, struct err *e)
{
    struct bt_out o;
    if (bt_out_open(&o, dir, "trades.csv", e) < 0) return -1;
    buf_puts(&o.b, "id,symbol,side,open_time,close_time,qty,entry_px,exit_px,pnl,return,"
                   "commission,fills,status\n");
    struct bt_timefmt tf = {0};
    for (int i = 0; i < r->ntrades; i++) {
        trade_line(&o.b, &tf, r, i);
        bt_out_flush(&o);
    }
    return bt_out_close(&o, e);
}

/* The average fill price in price units, rounded half away from zero, from the order's
 * fill notional (money):  notional * 10^(px_dp + qty_dp) / (filled * 10^MONEY_DP). */
static int64_t avg_px(const struct instrument *in, const struct order *o)
{
    __int128 num = (__int128)o->fill_notional * fx_pow10(in->px_dp) * fx_pow10(in->qty_dp);
    __int128 den = (__int128)o->filled_qty * fx_pow10(MONEY_DP);
    __int128 q = num / den, rem = num % den;
    if (rem < 0) rem = -rem;
    if (2 * rem >= den) q += num < 0 ? -1 : 1;
    return (int64_t)q;
}

static const char *role_name(enum order_role role)
{
    static const char *const names[] = {"single", "entry", "take_profit", "stop_loss"};
    return (unsigned)role < ARRAY_LEN(names) ? names[role] : "?";
}

static void order_line(struct buf *b, struct bt_timefmt *tf, const struct bt_report *r,
                       const struct order *o)
{
    const struct instruments *ins = r->ins;
    int has_limit = o->type == OT_LIMIT || o->type == OT_STOP_LIMIT;
    int has_stop = o->type == OT_STOP || o->type == OT_STOP_LIMIT || o->type == OT_TRAIL;
    int known = o->sym >= 0 && o->sym < ins->n;
    char s[BT_FMT_MAX];
    buf_printf(b, "%llu", (unsigned long long)o->id);
    put(b, bt_fmt_time(tf, o->created_us, s));
    put(b, bt_symbol(ins, o->sym));
    put(b, order_side_name(o->side));
    put(b, order_type_name(o->type));
    put(b, order_tif_name(o->tif));
    put(b, bt_fmt_qty(ins, o->sym, o->qty, s));
    put(b, has_limit ? bt_fmt_px(ins, o->sym, o->limit_px, s) : "");
    put(b, has_stop ? bt_fmt_px(ins, o->sym, o->stop_px, s) : "");
    put(b, order_status_name(o->status));
    put(b, bt_fmt_qty(ins, o->sym, o->filled_qty, s));
    put(b, known && o->filled_qty > 0 ? bt_fmt_px(ins, o->sym, avg_px(&ins->v[o->sym], o), s) : "");
    buf_putc(b, ',');
    csv_field(b, o->tag);
    buf_putc(b, ',');
    csv_field(b, o->reason);
    put(b, role_name(o->role));
    if (o->parent) buf_printf(b, ",%llu\n", (unsigned long long)o->parent);
    else buf_puts(b, ",\n");
}

int bt_write_orders_csv(const char *dir, const struct bt_report *r, struct err *e)
{
    struct bt_out o;
    if (bt_out_open(&o, dir, "orders.csv", e) < 0) return -1;
    buf_puts(&o.b, "id,created,symbol,side,type,tif,qty,limit,stop,status,filled,avg_px,tag,"
                   "reason,role,parent\n");
    struct bt_timefmt tf = {0};
    for (int i = 0; i < r->norders; i++) {
        order_line(&o.b, &tf, r, &r->orders[i]);
        bt_out_flush(&o);
    }
    return bt_out_close(&o, e);
}

int bt_write_equity_csv(const char *dir, const struct bt_report *r, struct err *e)
{
    struct bt_out o;
    if (bt_out_open(&o, dir, "equity.csv", e) < 0) return -1;
    buf_puts(&o.b, "time,equity,drawdown,gross\n");
    struct bt_timefmt tf = {0};
    int64_t peak = r->m->initial;
    char s[BT_FMT_MAX];
    for (int i = 0; i < r->nsamples; i++) {
        const struct bt_sample *x = &r->samples[i];
        peak = MAX(peak, x->equity);
        buf_puts(&o.b, bt_fmt_time(&tf, x->t_us, s));
        put(&o.b, bt_fmt_money(x->equity, s));
        fx_format(bt_drawdown_ppm(peak, x->equity), RET_DP, s, sizeof s);
        put(&o.b, s);
        put(&o.b, bt_fmt_money(x->gross, s));
        buf_putc(&o.b, '\n');
        bt_out_flush(&o);
    }
    return bt_out_close(&o, e);
}
