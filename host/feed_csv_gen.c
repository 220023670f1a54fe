/* feed_csv_gen.c: the synthetic tick CSV writer (feed_csv_gen.h).
 *
 * Randomness: the host's rng.h (as feed_sim.c).
 * Each row draws, in this order: the symbol, the mid's step (-2..+2 cents), the spread
 * (1..3 cents), the side (bid or ask), the trade size (1..500), the bid size and the
 * ask size (100..2000 in hundreds). The symbols' starting mids are drawn first, in
 * symbol order. Prices are integer cents throughout (bid = mid - spread / 2, floored at
 * one cent's worth of mid: the mid never goes below 1.00).
 *
 * Speed: rows are formatted by hand (no printf) into a 1 MiB buffer handed to zlib,
 * which writes plain files as they are ("wT") and gzip at level 1 (speed over size).
 * ISO times come from a civil-from-days conversion, not gmtime. */
#include "feed_csv_gen.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "feed_csv_parse.h"
#include "rng.h"
#include "util.h"

#define OUT_BUF        (1u << 20)
#define ROW_MAX        160 /* longest formatted row, with margin */
#define ROWS_MAX       UINT64_C(1000000000000)
#define RATE_MAX       UINT64_C(1000000)
#define MID_MIN_CENTS  100
#define MID_START_LOW  10000 /* 100.00 */
#define MID_START_SPAN 40001 /* .. 500.00 */
#define US_PER_S       INT64_C(1000000)
#define US_PER_DAY     INT64_C(86400000000)
#define HEADER         "time,symbol,price,size,bid,ask,bid_size,ask_size\n"

const char csv_gen_usage[] =
    "usage: gen_ticks OUT [--rows N] [--symbols SYM,SYM...] [--seed N] [--rate ROWS_PER_SECOND]\n"
    "                     [--start ISO] [--time ms|s|iso] [--gzip]\n"
    "  writes a synthetic tick CSV (time,symbol,price,size,bid,ask,bid_size,ask_size)\n"
    "  --rows N         rows to write (default 10000000)\n"
    "  --symbols LIST   symbols, drawn at random per row (default AAPL,MSFT)\n"
    "  --seed N         the PRNG seed (default 1): one seed, one file, on every machine\n"
    "  --rate R         rows per second of market time (default 1000)\n"
    "  --start T        the first row's time (default 2026-01-05T14:30:00Z)\n"
    "  --time FORMAT    ms (epoch ms, default), s (epoch s with 6 decimals) or iso\n"
    "  --gzip           gzip the output (level 1)\n";

/* ---- formatting ------------------------------------------------------------------- */

static char *put_u64(char *p, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do tmp[n++] = (char)('0' + v % 10), v /= 10;
    while (v);
    while (n) *p++ = tmp[--n];
    return p;
}

/* v zero-padded to `width` digits. */
static char *put_padded(char *p, uint64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) p[i] = (char)('0' + v % 10), v /= 10;
    return p + width;
}

static char *put_cents(char *p, uint64_t cents)
{
    p = put_u64(p, cents / 100);
    *p++ = '.';
    return put_padded(p, cents % 100, 2);
}

static char *put_time(char *p, int64_t t_us, enum csv_gen_time fmt)
{
    if (fmt == CSV_GEN_MS) return put_u64(p, (uint64_t)t_us / 1000);
    if (fmt == CSV_GEN_S) {
        p = put_u64(p, (uint64_t)t_us / US_PER_S);
        *p++ = '.';
        return put_padded(p, (uint64_t)t_us % US_PER_S, 6);
    }
    int64_t y;
    unsigned m, d;
    uint64_t us_of_day = (uint64_t)(t_us % US_PER_DAY), s = us_of_day / US_PER_S;
    util_civil_from_days(t_us / US_PER_DAY, &y, &m, &d);
    p = put_padded(p, (uint64_t)y, 4);
    *p++ = '-';
    p = put_padded(p, m, 2);
    *p++ = '-';
    p = put_padded(p, d, 2);
    *p++ = 'T';
    p = put_padded(p, s / 3600, 2);
    *p++ = ':';
    p = put_padded(p, s / 60 % 60, 2);
    *p++ = ':';
    p = put_padded(p, s % 60, 2);
    *p++ = '.';
    p = put_padded(p, us_of_day % US_PER_S, 6);
    *p++ = 'Z';
    return p;
}

/* ---- writing ---------------------------------------------------------------------- */

struct gen_symbol {
    const char *name;
    size_t len;
    uint64_t mid; /* cents */
};

static int out_write(gzFile gz, const struct csv_gen_config *c, const char *p, size_t n,
                     struct err *e)
{
    int errnum = Z_OK;
    if (n == 0 || gzwrite(gz, p, (unsigned)n) == (int)n) return 0;
    const char *msg = gzerror(gz, &errnum);
    return err_set(e, "%s: write error: %s", c->out, errnum == Z_ERRNO ? strerror(errno) : msg);
}

/* Formats row i into p; returns the end. */
static char *gen_row(char *p, const struct csv_gen_config *c, struct rng *r,
                     struct gen_symbol *syms, uint64_t i)
{
    struct gen_symbol *s = &syms[rng_below(r, (uint64_t)c->nsymbols)];
    int64_t t = c->start_us + (int64_t)(i * (uint64_t)US_PER_S / c->rate);
    int64_t step = (int64_t)rng_below(r, 5) - 2;
    s->mid = (uint64_t)MAX((int64_t)s->mid + step, MID_MIN_CENTS);
    uint64_t spread = 1 + rng_below(r, 3);
    uint64_t bid = s->mid - spread / 2, ask = bid + spread;
    uint64_t px = rng_below(r, 2) ? ask : bid;
    uint64_t size = 1 + rng_below(r, 500);
    uint64_t bid_size = 100 * (1 + rng_below(r, 20)), ask_size = 100 * (1 + rng_below(r, 20));
    p = put_time(p, t, c->time);
    *p++ = ',';
    memcpy(p, s->name, s->len);
    p += s->len;
    *p++ = ',';
    p = put_cents(p, px);
    *p++ = ',';
    p = put_u64(p, size);
    *p++ = ',';
    p = put_cents(p, bid);
    *p++ = ',';
    p = put_cents(p, ask);
    *p++ = ',';
    p = put_u64(p, bid_size);
    *p++ = ',';
    p = put_u64(p, ask_size);
    *p++ = '\n';
    return p;
}

int csv_gen_write(const struct csv_gen_config *c, struct err *e)
{
    struct gen_symbol syms[CSV_GEN_SYMBOLS_MAX];
    struct rng r;
    ASSERT(c->nsymbols >= 1 && c->nsymbols <= CSV_GEN_SYMBOLS_MAX && c->rate >= 1);
    rng_seed(&r, c->seed);
    for (int i = 0; i < c->nsymbols; i++) {
        syms[i].name = c->symbols[i];
        syms[i].len = strlen(c->symbols[i]);
        syms[i].mid = MID_START_LOW + rng_below(&r, MID_START_SPAN);
    }
    gzFile gz = gzopen(c->out, c->gzip ? "wb1" : "wbT");
    if (!gz) return err_set(e, "%s: cannot create: %s", c->out, strerror(errno ? errno : ENOMEM));
    gzbuffer(gz, OUT_BUF);
    char *buf = xmalloc(OUT_BUF), *p = buf;
    int rc = 0;
    memcpy(p, HEADER, sizeof HEADER - 1);
    p += sizeof HEADER - 1;
    for (uint64_t i = 0; i < c->rows && rc == 0; i++) {
        p = gen_row(p, c, &r, syms, i);
        if (p - buf > OUT_BUF - ROW_MAX) {
            rc = out_write(gz, c, buf, (size_t)(p - buf), e);
            p = buf;
        }
    }
    if (rc == 0) rc = out_write(gz, c, buf, (size_t)(p - buf), e);
    free(buf);
    int zrc = gzclose(gz);
    if (rc == 0 && zrc != Z_OK)
        rc = err_set(e, "%s: write error: %s", c->out,
                     zrc == Z_ERRNO ? strerror(errno) : "zlib failed to finish the file");
    return rc;
}

/* ---- arguments -------------------------------------------------------------------- */

/* A whole number in [lo, hi], digits only. */
static int parse_count(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *out,
                       struct err *e)
{
    uint64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10) break;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (p == s || *p || v < lo || v > hi)
        return err_set(e, "%s: expected a whole number from %" PRIu64 " to %" PRIu64 ", got \"%s\"",
                       opt, lo, hi, s);
    *out = v;
    return 0;
}

static int parse_symbols(const char *s, struct csv_gen_config *c, struct err *e)
{
    c->nsymbols = 0;
    for (const char *p = s;; p++) {
        size_t n = strcspn(p, ",");
        if (c->nsymbols == CSV_GEN_SYMBOLS_MAX)
            return err_set(e, "--symbols: expected at most %d symbols", CSV_GEN_SYMBOLS_MAX);
        char *sym = c->symbols[c->nsymbols];
        if (n >= SYMBOL_MAX) n = SYMBOL_MAX - 1, sym[0] = '\0';
        else memcpy(sym, p, n), sym[n] = '\0';
        if (!instrument_symbol_valid(sym))
            return err_set(e,
                           "--symbols: expected symbols (1-15 of A-Z a-z 0-9 . _ : / -) "
                           "separated by commas, got \"%s\"",
                           s);
        for (int i = 0; i < c->nsymbols; i++)
            if (strcmp(c->symbols[i], sym) == 0)
                return err_set(e, "--symbols: %s is given twice", sym);
        c->nsymbols++;
        p += n;
        if (!*p) return 0;
    }
}

/* Applies option opt (without its "--") with value v. */
static int gen_option(const char *opt, const char *v, struct csv_gen_config *c, struct err *e)
{
    if (strcmp(opt, "rows") == 0) return parse_count("--rows", v, 1, ROWS_MAX, &c->rows, e);
    if (strcmp(opt, "seed") == 0) return parse_count("--seed", v, 0, UINT64_MAX, &c->seed, e);
    if (strcmp(opt, "rate") == 0) return parse_count("--rate", v, 1, RATE_MAX, &c->rate, e);
    if (strcmp(opt, "symbols") == 0) return parse_symbols(v, c, e);
    if (strcmp(opt, "start") == 0) {
        if (csv_parse_time(v, strlen(v), &c->start_us) < 0 || c->start_us < 0 ||
            c->start_us > CSV_MAX_TIME_US / 2)
            return err_set(e, "--start: expected an ISO-8601 time from 1970 on, got \"%s\"", v);
        return 0;
    }
    if (strcmp(opt, "time") == 0) {
        if (strcmp(v, "ms") == 0) c->time = CSV_GEN_MS;
        else if (strcmp(v, "s") == 0) c->time = CSV_GEN_S;
        else if (strcmp(v, "iso") == 0) c->time = CSV_GEN_ISO;
        else return err_set(e, "--time: expected ms, s or iso, got \"%s\"", v);
        return 0;
    }
    return err_set(e, "unknown option --%s", opt);
}

int csv_gen_args(int argc, char **argv, struct csv_gen_config *c, struct err *e)
{
    static const char start[] = "2026-01-05T14:30:00Z";
    memset(c, 0, sizeof *c);
    c->rows = 10000000;
    c->seed = 1;
    c->rate = 1000;
    parse_symbols("AAPL,MSFT", c, e);
    csv_parse_time(start, sizeof start - 1, &c->start_us);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return 1;
        if (strcmp(a, "--gzip") == 0) {
            c->gzip = 1;
        } else if (strncmp(a, "--", 2) == 0) {
            char opt[16];
            const char *eq = strchr(a, '='), *v;
            size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            util_strlcpy(opt, a + 2, MIN(n + 1, sizeof opt));
            if (eq) v = eq + 1;
            else if (i + 1 < argc) v = argv[++i];
            else return err_set(e, "%s: expected a value", a);
            if (gen_option(opt, v, c, e) < 0) return -1;
        } else if (c->out) {
            return err_set(e, "expected one output file, got \"%s\" and \"%s\"", c->out, a);
        } else {
            c->out = a;
        }
    }
    if (!c->out) return err_set(e, "expected an output file");
    return 0;
}
