/* backtest_report.c: the report's entry points (backtest_report.h): bt_report_write
 * writes summary.json here and the other files through backtest_report_csv.c and
 * backtest_report_html.c; bt_summary_print prints the summary table.
 *
 * The summary's lines (bt_summary_rows) are built once for the terminal and the page,
 * so both always say the same. summary.json is a cJSON tree printed at the end: strings
 * made valid UTF-8 first, money as exact decimals (json_fixed.h), ratios as raw numbers
 * with a fixed 6 decimals (non-finite ones as null), so the file is byte-stable and
 * readable. Counts by status and by reason list only what occurred, in a fixed order
 * (statuses in their enum order, reasons most frequent first). */
#include "backtest_report.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backtest_report_internal.h"
#include "json_fixed.h"
#include "order.h"
#include "portfolio.h"
#include "util.h"

#define US_PER_DAY   86400e6
#define RATIO_DP     6 /* decimals of fractions and ratios in files */
#define SCREEN_DP    2 /* decimals of Sharpe and the like on screen */
#define JSON_MAX_DEP 64

/* ---- counts ---------------------------------------------------------------------------- */

static int count_cmp(const void *a, const void *b)
{
    const struct bt_count *x = a, *y = b;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;
    return strcmp(x->name, y->name);
}

int bt_denial_counts(const struct bt_report *r, struct bt_count **out)
{
    struct bt_count *c = NULL;
    int n = 0;
    for (int i = 0; i < r->ndenials; i++) {
        const char *name = r->denials[i].reason;
        int j = 0;
        while (j < n && strcmp(c[j].name, name)) j++;
        if (j == n) {
            c = xrealloc(c, (size_t)(n + 1) * sizeof *c);
            c[n++] = (struct bt_count){name, 0};
        }
        c[j].n++;
    }
    if (n > 1) qsort(c, (size_t)n, sizeof *c, count_cmp);
    *out = c;
    return n;
}

void bt_order_counts(const struct bt_report *r, int *out)
{
    memset(out, 0, OS__COUNT * sizeof *out);
    for (int i = 0; i < r->norders; i++)
        if ((unsigned)r->orders[i].status < OS__COUNT) out[r->orders[i].status]++;
}

int bt_open_trades(const struct bt_report *r)
{
    int n = 0;
    for (int i = 0; i < r->ntrades; i++) n += r->trades[i].open != 0;
    return n;
}

/* ---- the summary's lines --------------------------------------------------------------- */

static struct bt_row *row(struct bt_row *rows, int *n, const char *label)
{
    ASSERT(*n < BT_SUMMARY_ROWS);
    rows[*n].label = label;
    rows[*n].value[0] = 0;
    return &rows[(*n)++];
}

static void append(struct bt_row *rw, const char *fmt, const char *s)
{
    size_t len = strlen(rw->value);
    snprintf(rw->value + len, sizeof rw->value - len, fmt, s);
}

static void period_row(struct bt_row *rw, const struct bt_metrics *m)
{
    char a[BT_FMT_MAX], b[BT_FMT_MAX], d[BT_FMT_MAX];
    snprintf(rw->value, sizeof rw->value, "%s .. %s (%s days, %d samples)",
             bt_fmt_time_short(m->start_us, a), bt_fmt_time_short(m->end_us, b),
             bt_fmt_double((double)(m->end_us - m->start_us) / US_PER_DAY, 2, d), m->samples);
}

static void orders_row(struct bt_row *rw, const struct bt_report *r)
{
    int by[OS__COUNT];
    bt_order_counts(r, by);
    snprintf(rw->value, sizeof rw->value, "%d", r->norders);
    const char *sep = " (";
    for (int s = 0; s < OS__COUNT; s++) {
        if (!by[s]) continue;
        char name[32], item[48];
        util_strlcpy(name, order_status_name(s), sizeof name);
        for (char *p = name; *p; p++) *p = (char)tolower((unsigned char)*p);
        snprintf(item, sizeof item, "%s%d %s", sep, by[s], name);
        append(rw, "%s", item);
        sep = ", ";
    }
    if (r->norders) append(rw, "%s", ")");
}

static void denials_row(struct bt_row *rw, const struct bt_report *r)
{
    struct bt_count *c;
    int n = bt_denial_counts(r, &c);
    snprintf(rw->value, sizeof rw->value, "%d", r->ndenials);
    for (int i = 0; i < n; i++) {
        char item[64];
        snprintf(item, sizeof item, "%s%s %d", i ? ", " : " (", c[i].name, c[i].n);
        append(rw, "%s", item);
    }
    if (n) append(rw, "%s", ")");
    free(c);
}

static void trades_row(struct bt_row *rw, const struct bt_report *r)
{
    const struct bt_metrics *m = r->m;
    int open = bt_open_trades(r);
    snprintf(rw->value, sizeof rw->value, "%d (%d won", m->trades, m->wins);
    if (open) snprintf(rw->value + strlen(rw->value), 64, ", %d still open", open);
    append(rw, "%s", ")");
}

int bt_summary_rows(const struct bt_report *r, struct bt_row *rows)
{
    const struct bt_metrics *m = r->m;
    char a[BT_FMT_MAX], b[BT_FMT_MAX];
    int n = 0;
    util_strlcpy(row(rows, &n, "Script")->value, r->script ? r->script : "", sizeof rows->value);
    if (r->params && r->params[0])
        util_strlcpy(row(rows, &n, "Params")->value, r->params, sizeof rows->value);
    period_row(row(rows, &n, "Period"), m);
    trades_row(row(rows, &n, "Trades"), r);
    bt_fmt_pct(m->win_rate, row(rows, &n, "Win rate")->value);
    bt_fmt_pct(m->total_return, row(rows, &n, "Total return")->value);
    bt_fmt_pct(m->cagr, row(rows, &n, "CAGR")->value);
    bt_fmt_double(m->sharpe, SCREEN_DP, row(rows, &n, "Sharpe")->value);
    bt_fmt_double(m->sortino, SCREEN_DP, row(rows, &n, "Sortino")->value);
    snprintf(row(rows, &n, "Max drawdown")->value, sizeof rows->value, "%s (%s)",
             bt_fmt_pct(m->max_drawdown, a), bt_fmt_money(m->max_drawdown_money, b));
    bt_fmt_double(m->profit_factor, SCREEN_DP, row(rows, &n, "Profit factor")->value);
    bt_fmt_pct(m->exposure, row(rows, &n, "Exposure")->value);
    bt_fmt_money(m->commissions, row(rows, &n, "Commissions")->value);
    snprintf(row(rows, &n, "Equity")->value, sizeof rows->value, "%s (from %s)",
             bt_fmt_money(m->final, a), bt_fmt_money(m->initial, b));
    orders_row(row(rows, &n, "Orders"), r);
    snprintf(row(rows, &n, "Fills")->value, sizeof rows->value, "%d", r->nfills);
    denials_row(row(rows, &n, "Denials"), r);
    snprintf(row(rows, &n, "Signals")->value, sizeof rows->value, "%llu",
             (unsigned long long)r->nsignals);
    return n;
}

void bt_summary_print(FILE *out, const struct bt_report *r)
{
    struct bt_row rows[BT_SUMMARY_ROWS];
    int n = bt_summary_rows(r, rows);
    for (int i = 0; i < n; i++) fprintf(out, "%-15s %s\n", rows[i].label, rows[i].value);
}

/* ---- summary.json ---------------------------------------------------------------------- */

/* A string node with s made valid UTF-8 (a NULL s: null). */
static cJSON *str_item(const char *s)
{
    if (!s) return cJSON_CreateNull();
    struct buf b = BUF_INIT;
    buf_put_utf8(&b, s, strlen(s));
    cJSON *j = cJSON_CreateString(b.p ? b.p : "");
    buf_free(&b);
    return j;
}

static void add_str(cJSON *o, const char *key, const char *s)
{
    cJSON_AddItemToObject(o, key, str_item(s));
}

static void add_ratio(cJSON *o, const char *key, double v)
{
    char s[BT_FMT_MAX];
    if (isfinite(v)) cJSON_AddRawToObject(o, key, bt_fmt_double(v, RATIO_DP, s));
    else cJSON_AddNullToObject(o, key);
}

static cJSON *period_json(const struct bt_metrics *m)
{
    struct bt_timefmt tf = {0};
    char s[BT_FMT_MAX];
    cJSON *p = cJSON_CreateObject();
    add_str(p, "start", m->samples ? bt_fmt_time(&tf, m->start_us, s) : NULL);
    add_str(p, "end", m->samples ? bt_fmt_time(&tf, m->end_us, s) : NULL);
    add_ratio(p, "days", (double)(m->end_us - m->start_us) / US_PER_DAY);
    cJSON_AddNumberToObject(p, "samples", m->samples);
    add_ratio(p, "periods_per_year", m->periods_per_year);
    return p;
}

static cJSON *metrics_json(const struct bt_metrics *m)
{
    cJSON *j = cJSON_CreateObject();
    json_add_fixed(j, "initial", m->initial, MONEY_DP);
    json_add_fixed(j, "final", m->final, MONEY_DP);
    add_ratio(j, "total_return", m->total_return);
    add_ratio(j, "cagr", m->cagr);
    add_ratio(j, "sharpe", m->sharpe);
    add_ratio(j, "sortino", m->sortino);
    add_ratio(j, "max_drawdown", m->max_drawdown);
    json_add_fixed(j, "max_drawdown_money", m->max_drawdown_money, MONEY_DP);
    add_ratio(j, "profit_factor", m->profit_factor);
    add_ratio(j, "exposure", m->exposure);
    cJSON_AddNumberToObject(j, "trades", m->trades);
    cJSON_AddNumberToObject(j, "wins", m->wins);
    add_ratio(j, "win_rate", m->win_rate);
    json_add_fixed(j, "commissions", m->commissions, MONEY_DP);
    return j;
}

static cJSON *counts_json(const struct bt_report *r)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "orders", r->norders);
    int by[OS__COUNT];
    bt_order_counts(r, by);
    cJSON *st = cJSON_AddObjectToObject(j, "orders_by_status");
    for (int s = 0; s < OS__COUNT; s++)
        if (by[s]) cJSON_AddNumberToObject(st, order_status_name(s), by[s]);
    cJSON_AddNumberToObject(j, "fills", r->nfills);
    cJSON_AddNumberToObject(j, "trades", r->ntrades);
    cJSON_AddNumberToObject(j, "open_trades", bt_open_trades(r));
    cJSON_AddNumberToObject(j, "signals", (double)r->nsignals);
    cJSON_AddNumberToObject(j, "denials", r->ndenials);
    struct bt_count *c;
    int n = bt_denial_counts(r, &c);
    cJSON *dr = cJSON_AddObjectToObject(j, "denials_by_reason");
    for (int i = 0; i < n; i++) cJSON_AddNumberToObject(dr, c[i].name, c[i].n);
    free(c);
    return j;
}

static int add_input(cJSON *root, const char *json, struct err *e)
{
    if (!json) return 0;
    size_t n = strlen(json);
    if (util_json_depth(json, n) > JSON_MAX_DEP) return err_set(e, "data_json: nested too deep");
    cJSON *in = cJSON_ParseWithLength(json, n);
    if (!cJSON_IsObject(in)) {
        cJSON_Delete(in);
        return err_set(e, "data_json: not a JSON object: %.60s", json);
    }
    cJSON_AddItemToObject(root, "input", in);
    return 0;
}

static int write_summary_json(const char *dir, const struct bt_report *r, struct err *e)
{
    cJSON *root = cJSON_CreateObject();
    add_str(root, "script", r->script);
    add_str(root, "params", r->params ? r->params : "");
    cJSON *data = cJSON_AddArrayToObject(root, "data");
    for (int i = 0; i < r->ndata; i++) cJSON_AddItemToArray(data, str_item(r->data[i]));
    cJSON_AddItemToObject(root, "period", period_json(r->m));
    cJSON_AddItemToObject(root, "metrics", metrics_json(r->m));
    cJSON_AddItemToObject(root, "counts", counts_json(r));
    if (add_input(root, r->data_json, e) < 0) {
        cJSON_Delete(root);
        return -1;
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    ASSERT(text != NULL);
    struct bt_out o;
    int rc = bt_out_open(&o, dir, "summary.json", e);
    if (rc == 0) {
        buf_puts(&o.b, text);
        buf_putc(&o.b, '\n');
        rc = bt_out_close(&o, e);
    }
    cJSON_free(text);
    return rc;
}

int bt_report_write(const char *dir, const struct bt_report *r, struct err *e)
{
    if (write_summary_json(dir, r, e) < 0) return -1;
    if (bt_write_trades_csv(dir, r, e) < 0) return -1;
    if (bt_write_orders_csv(dir, r, e) < 0) return -1;
    if (bt_write_equity_csv(dir, r, e) < 0) return -1;
    return bt_write_html(dir, r, e);
}
