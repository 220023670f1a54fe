/* backtest_report_fmt.c: the report's number and time formatting, and its output files
 * (backtest_report_internal.h).
 *
 * Every number is formatted from integers where it can be (money rounded to cents,
 * fractions rounded to millionths, then fx_format), so no file depends on printf's
 * handling of doubles and none shows "-0.00". Times follow util_iso8601 exactly; the
 * date part is cached per day, since a curve has many samples a day and gmtime_r plus
 * snprintf per line would dominate writing a million-line equity.csv.
 *
 * struct bt_out writes a file in chunks of OUT_CHUNK bytes from a struct buf: one
 * fwrite per chunk rather than per field, and errors checked once, at the close. */
#include "backtest_report_internal.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "fixed.h"
#include "portfolio.h"
#include "util.h"

#define OUT_CHUNK  (1u << 20)
#define US_PER_S   INT64_C(1000000)
#define US_PER_DAY (86400 * US_PER_S)
#define CENT_UNITS 10000 /* money units per cent */
#define MAX_EXACT  9e18  /* doubles scaled past this are printed with printf */
#define MAX_FIXED  1e40  /* and past this with an exponent (BT_FMT_MAX bytes) */

static int64_t div_round(int64_t v, int64_t d)
{
    int64_t q = v / d, r = v % d;
    if (2 * (r < 0 ? -r : r) >= d) q += v < 0 ? -1 : 1;
    return q;
}

const char *bt_fmt_money(int64_t v, char *buf)
{
    fx_format(div_round(v, CENT_UNITS), 2, buf, BT_FMT_MAX);
    if (!strcmp(buf, "-0.00")) strcpy(buf, "0.00");
    return buf;
}

static const struct instrument *instrument_of(const struct instruments *ins, int sym)
{
    return ins && sym >= 0 && sym < ins->n ? &ins->v[sym] : NULL;
}

const char *bt_symbol(const struct instruments *ins, int sym)
{
    const struct instrument *in = instrument_of(ins, sym);
    return in ? in->symbol : "?";
}

const char *bt_fmt_px(const struct instruments *ins, int sym, int64_t px, char *buf)
{
    const struct instrument *in = instrument_of(ins, sym);
    if (in) fx_format(px, in->px_dp, buf, BT_FMT_MAX);
    else buf[0] = 0;
    return buf;
}

const char *bt_fmt_qty(const struct instruments *ins, int sym, int64_t qty, char *buf)
{
    const struct instrument *in = instrument_of(ins, sym);
    if (in) fx_format(qty, in->qty_dp, buf, BT_FMT_MAX);
    else buf[0] = 0;
    return buf;
}

const char *bt_fmt_double(double v, int dp, char *buf)
{
    ASSERT(dp >= 0 && dp <= FX_MAX_DP);
    if (isnan(v)) return strcpy(buf, "nan");
    if (isinf(v)) return strcpy(buf, v > 0 ? "inf" : "-inf");
    double scaled = round(v * (double)fx_pow10(dp));
    if (fabs(scaled) < MAX_EXACT) {
        int64_t i = (int64_t)scaled;
        fx_format(i == 0 ? 0 : i, dp, buf, BT_FMT_MAX);
    } else {
        snprintf(buf, BT_FMT_MAX, fabs(v) < MAX_FIXED ? "%.*f" : "%.*e", dp, v);
    }
    return buf;
}

const char *bt_fmt_pct(double v, char *buf)
{
    bt_fmt_double(v * 100, 2, buf);
    size_t n = strlen(buf);
    if (n + 2 <= BT_FMT_MAX) buf[n] = '%', buf[n + 1] = 0;
    return buf;
}

static void put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

const char *bt_fmt_time(struct bt_timefmt *tf, int64_t t_us, char *buf)
{
    int64_t day = t_us >= 0 ? t_us / US_PER_DAY : -((-t_us + US_PER_DAY - 1) / US_PER_DAY);
    int64_t us = t_us - day * US_PER_DAY;
    if (!tf->valid || tf->day != day) {
        char iso[40];
        util_iso8601(day * US_PER_DAY, iso, sizeof iso);
        char *t = strchr(iso, 'T');
        ASSERT(t != NULL && (size_t)(t - iso) + 2 <= sizeof tf->date);
        memcpy(tf->date, iso, (size_t)(t - iso) + 1);
        tf->date[t - iso + 1] = 0;
        tf->day = day;
        tf->valid = 1;
    }
    size_t n = strlen(tf->date);
    memcpy(buf, tf->date, n);
    char *p = buf + n;
    int64_t s = us / US_PER_S, frac = us % US_PER_S;
    put2(p, (int)(s / 3600));
    p[2] = ':';
    put2(p + 3, (int)(s / 60 % 60));
    p[5] = ':';
    put2(p + 6, (int)(s % 60));
    p[8] = '.';
    for (int i = 14; i >= 9; i--, frac /= 10) p[i] = (char)('0' + frac % 10);
    p[15] = 'Z';
    p[16] = 0;
    return buf;
}

const char *bt_fmt_time_short(int64_t t_us, char *buf)
{
    char iso[40];
    util_iso8601(t_us, iso, sizeof iso);
    char *t = strchr(iso, 'T'), *dot = strchr(iso, '.');
    if (t) *t = ' ';
    if (dot) {
        char *end = dot + strlen(dot) - 1; /* the Z */
        *end-- = 0;
        while (end > dot && *end == '0') *end-- = 0;
        if (end == dot) *dot = 0;
    }
    util_strlcpy(buf, iso, BT_FMT_MAX);
    return buf;
}

int64_t bt_drawdown_ppm(int64_t peak, int64_t equity)
{
    if (peak <= 0) return 0;
    __int128 num = (__int128)(peak - equity) * 1000000, q = num / peak, r = num % peak;
    if (r < 0) r = -r;
    if (2 * r >= peak) q += num < 0 ? -1 : 1;
    return (int64_t)q;
}

int bt_out_open(struct bt_out *o, const char *dir, const char *name, struct err *e)
{
    memset(o, 0, sizeof *o);
    snprintf(o->path, sizeof o->path, "%s/%s", dir, name);
    o->f = fopen(o->path, "w");
    if (!o->f) return err_set(e, "%s: %s", o->path, strerror(errno));
    return 0;
}

static void out_write(struct bt_out *o)
{
    if (o->b.len) fwrite(o->b.p, 1, o->b.len, o->f);
    buf_reset(&o->b);
}

void bt_out_flush(struct bt_out *o)
{
    if (o->b.len >= OUT_CHUNK) out_write(o);
}

int bt_out_close(struct bt_out *o, struct err *e)
{
    out_write(o);
    buf_free(&o->b);
    int failed = ferror(o->f), saved = errno;
    if (fclose(o->f) != 0 && !failed) failed = 1, saved = errno;
    o->f = NULL;
    if (failed) return err_set(e, "%s: %s", o->path, strerror(saved ? saved : EIO));
    return 0;
}
