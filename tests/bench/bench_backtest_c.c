/* bench_backtest_c.c: the plain C baseline of bench_backtest.py: sma_cross's logic over
 * a tick CSV file, as fast as straightforward C does it, for the host's backtest to be
 * measured against.
 *
 *   bench_backtest_c FILE     prints one JSON line: rows, bars, crossings, seconds, ...
 *
 * Input: the generic tick CSV that tools/gen_ticks writes, `time,symbol,price,size,...`
 * with time in epoch milliseconds (an integer), a header line (skipped when the file
 * does not start with a digit). Read with read() in 4 MiB chunks; every row's time,
 * symbol, price and size are parsed by hand (digits, no strtod: a price is its decimal
 * digits as an integer divided by a power of ten, which is the correctly rounded double
 * strtod and Lua's tonumber give); the rest of the row is skipped with memchr to '\n'.
 * Malformed rows stop the run with FILE:LINE:COLUMN and what was expected.
 *
 * Work per row: the symbol looked up in a small table, a 1-second bar per symbol (epoch
 * aligned [t, t + 1 s): open, high, low, close = last trade price, volume). A bar closes
 * when a trade of that symbol in a later second arrives, and every open bar at the end.
 * Per closed bar, sma_cross's logic (strategies/sma_cross.lua): a fast (5) and slow (20)
 * SMA of the close computed exactly as scripts/indicators/sma.lua does (a ring, a running
 * sum rebuilt when the ring wraps, so the doubles are bit-identical); once both are warm
 * the side is above/below (equal keeps the previous side), and a change of side after
 * the first reading is a crossing: a buy crossing while flat buys QTY at the close, a
 * sell crossing while long sells it (position, cash and realized P&L kept).
 *
 * Timed: from open() to the last bar closed, wall (CLOCK_MONOTONIC) and process CPU. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK       (4u << 20) /* bytes per read() */
#define MAX_SYMBOLS 64
#define MAX_SYMLEN  15
#define MAX_DIGITS  15 /* a price's digits: below 2^53, so exact as a double */
#define MAX_DP      15
#define BAR_MS      1000 /* 1-second bars */
#define FAST        5    /* sma_cross's default params */
#define SLOW        20
#define QTY         10

/* scripts/indicators/sma.lua in C; buf is 1-based like the Lua table. */
struct sma {
    int n, pos, count;
    double sum, cur;
    double buf[SLOW + 1];
};

enum side { SIDE_NONE, SIDE_ABOVE, SIDE_BELOW };

struct sym {
    char name[MAX_SYMLEN + 1];
    size_t len;
    int64_t last_ms, period; /* last trade time; the open bar's second */
    int has_open;
    double open, high, low, close, volume;
    struct sma fast, slow;
    enum side side;
    long pos_qty; /* 0 or QTY */
    double entry; /* the price it was bought at */
};

struct run {
    const char *file;
    long line; /* current line number, 1-based */
    const char *line_start;
    struct sym syms[MAX_SYMBOLS];
    int nsym;
    long rows, bars, crossings, buys, sells, fills;
    double cash, realized;
};

static const double pow10_tab[MAX_DP + 1] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                             1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

static void fail(const struct run *r, const char *p, const char *what)
{
    fprintf(stderr, "%s:%ld:%ld: %s\n", r->file, r->line, (long)(p - r->line_start) + 1, what);
    exit(1);
}

/* ---- the strategy ------------------------------------------------------------------ */

static void sma_init(struct sma *s, int n)
{
    memset(s, 0, sizeof *s);
    s->n = n;
}

/* SMA:update(x): returns 1 and sets s->cur once n values have been seen. */
static int sma_update(struct sma *s, double x)
{
    int n = s->n, pos = s->pos % n + 1, count = s->count + 1;
    if (count > n) s->sum = s->sum + x - s->buf[pos];
    else s->sum = s->sum + x;
    s->buf[pos] = x;
    s->pos = pos;
    s->count = count;
    if (count < n) return 0;
    if (pos == n) {
        double sum = 0;
        for (int i = 1; i <= n; i++) sum = sum + s->buf[i];
        s->sum = sum;
    }
    s->cur = s->sum / n;
    return 1;
}

/* A buy crossing while flat goes long QTY at the close; a sell crossing while long
 * goes flat. */
static void trade_crossing(struct run *r, struct sym *s, enum side side, double px)
{
    if (side == SIDE_ABOVE && s->pos_qty == 0) {
        s->pos_qty = QTY;
        r->cash -= QTY * px;
        s->entry = px;
        r->fills++;
    } else if (side == SIDE_BELOW && s->pos_qty > 0) {
        r->cash += (double)s->pos_qty * px;
        r->realized += (double)s->pos_qty * (px - s->entry);
        s->pos_qty = 0;
        r->fills++;
    }
}

/* sma_cross's on_bar for one closed bar of s. */
static void strategy_on_bar(struct run *r, struct sym *s)
{
    r->bars++;
    int f = sma_update(&s->fast, s->close), w = sma_update(&s->slow, s->close);
    if (!f || !w) return;
    double fv = s->fast.cur, sv = s->slow.cur;
    enum side side = fv > sv ? SIDE_ABOVE : fv < sv ? SIDE_BELOW : SIDE_NONE;
    if (side == SIDE_NONE || side == s->side) return;
    enum side was = s->side;
    s->side = side;
    if (was == SIDE_NONE) return; /* the first reading after warm-up */
    r->crossings++;
    if (side == SIDE_ABOVE) r->buys++;
    else r->sells++;
    trade_crossing(r, s, side, s->close);
}

/* ---- bars -------------------------------------------------------------------------- */

static void bar_on_trade(struct run *r, struct sym *s, int64_t t_ms, double px, double size,
                         const char *at)
{
    if (t_ms < s->last_ms) fail(r, at, "a time at or after the symbol's previous row's");
    s->last_ms = t_ms;
    int64_t period = t_ms / BAR_MS;
    if (s->has_open && period == s->period) {
        if (px > s->high) s->high = px;
        if (px < s->low) s->low = px;
        s->close = px;
        s->volume += size;
        return;
    }
    if (s->has_open) strategy_on_bar(r, s);
    s->has_open = 1;
    s->period = period;
    s->open = s->high = s->low = s->close = px;
    s->volume = size;
}

static void bars_close_all(struct run *r)
{
    for (int i = 0; i < r->nsym; i++)
        if (r->syms[i].has_open) {
            strategy_on_bar(r, &r->syms[i]);
            r->syms[i].has_open = 0;
        }
}

/* ---- parsing ----------------------------------------------------------------------- */

static struct sym *sym_lookup(struct run *r, const char *p, size_t len)
{
    for (int i = 0; i < r->nsym; i++)
        if (r->syms[i].len == len && !memcmp(r->syms[i].name, p, len)) return &r->syms[i];
    if (len == 0) fail(r, p, "a symbol");
    if (len > MAX_SYMLEN) fail(r, p, "a symbol of at most 15 characters");
    if (r->nsym == MAX_SYMBOLS) fail(r, p, "at most 64 symbols");
    struct sym *s = &r->syms[r->nsym++];
    memset(s, 0, sizeof *s);
    memcpy(s->name, p, len);
    s->len = len;
    s->last_ms = INT64_MIN;
    sma_init(&s->fast, FAST);
    sma_init(&s->slow, SLOW);
    return s;
}

/* An unsigned integer of at most 18 digits at *pp; advances *pp past it. */
static int64_t parse_int(const struct run *r, const char **pp, const char *what)
{
    const char *p = *pp;
    int64_t v = 0;
    int nd = 0;
    while (*p >= '0' && *p <= '9' && nd < 18) v = v * 10 + (*p++ - '0'), nd++;
    if (nd == 0 || (*p >= '0' && *p <= '9')) fail(r, *pp, what);
    *pp = p;
    return v;
}

/* A non-negative decimal number (digits, optionally '.' and digits) at *pp. */
static double parse_decimal(const struct run *r, const char **pp, const char *what)
{
    const char *p = *pp;
    int64_t m = 0;
    int nd = 0, dp = 0;
    while (*p >= '0' && *p <= '9' && nd <= MAX_DIGITS) m = m * 10 + (*p++ - '0'), nd++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9' && nd <= MAX_DIGITS) m = m * 10 + (*p++ - '0'), nd++, dp++;
    }
    if (nd == 0 || nd > MAX_DIGITS || (*p >= '0' && *p <= '9') || p[-1] == '.') fail(r, *pp, what);
    *pp = p;
    return (double)m / pow10_tab[dp];
}

static const char *expect_comma(const struct run *r, const char *p, const char *what)
{
    if (*p != ',') fail(r, p, what);
    return p + 1;
}

/* Parses one row starting at p (the region ends with '\n'); returns the next row. */
static const char *parse_row(struct run *r, const char *p, const char *end)
{
    r->line++;
    r->line_start = p;
    int64_t t_ms = parse_int(r, &p, "a time in epoch milliseconds");
    p = expect_comma(r, p, "',' after the time");
    const char *sym = p;
    while (*p != ',' && *p != '\n') p++;
    struct sym *s = sym_lookup(r, sym, (size_t)(p - sym));
    p = expect_comma(r, p, "',' after the symbol");
    const char *at = p;
    double px = parse_decimal(r, &p, "a price (digits with an optional '.')");
    p = expect_comma(r, p, "',' after the price");
    double size = parse_decimal(r, &p, "a size (digits with an optional '.')");
    if (*p != ',' && *p != '\n' && *p != '\r')
        fail(r, p, "',' or the end of the line after the size");
    if (px <= 0) fail(r, at, "a price above 0");
    bar_on_trade(r, s, t_ms, px, size, r->line_start);
    r->rows++;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl + 1;
}

/* Parses the complete lines in [p, end), end[-1] == '\n'. */
static void parse_lines(struct run *r, const char *p, const char *end)
{
    if (r->line == 0 && p < end && !(*p >= '0' && *p <= '9')) { /* the header */
        r->line++;
        p = (const char *)memchr(p, '\n', (size_t)(end - p)) + 1;
    }
    while (p < end) p = parse_row(r, p, end);
}

/* Reads the file in chunks and parses every line; a last line without '\n' gets one. */
static void run_file(struct run *r)
{
    int fd = open(r->file, O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "%s: %s\n", r->file, strerror(errno));
        exit(1);
    }
    char *buf = malloc(CHUNK + 1);
    size_t have = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, CHUNK - have);
        if (n < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "%s: %s\n", r->file, strerror(errno));
            exit(1);
        }
        if (n == 0) {
            if (have > 0) buf[have++] = '\n';
            parse_lines(r, buf, buf + have);
            break;
        }
        have += (size_t)n;
        char *last = memrchr(buf, '\n', have);
        if (!last) {
            if (have == CHUNK) fail(r, buf, "a line shorter than 4 MiB");
            continue;
        }
        parse_lines(r, buf, last + 1);
        have -= (size_t)(last + 1 - buf);
        memmove(buf, last + 1, have);
    }
    free(buf);
    close(fd);
    bars_close_all(r);
}

static double now_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_backtest_c FILE\n");
        return 1;
    }
    static struct run r;
    r.file = argv[1];
    double t0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    run_file(&r);
    double t1 = now_s(CLOCK_MONOTONIC), c1 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    double secs = t1 - t0;
    printf("{\"side\":\"c\",\"rows\":%ld,\"bars\":%ld,\"crossings\":%ld,\"buys\":%ld,"
           "\"sells\":%ld,\"fills\":%ld,\"realized\":%.2f,\"seconds\":%.6f,"
           "\"cpu_seconds\":%.6f,\"rows_per_s\":%.0f}\n",
           r.rows, r.bars, r.crossings, r.buys, r.sells, r.fills, r.realized, secs, c1 - c0,
           secs > 0 ? (double)r.rows / secs : 0.0);
    return 0;
}
