/* Unit tests for feed_csv (feed_csv.h) and its parsers (feed_csv_parse.h): times (ISO-8601
 * with offsets, epoch s/ms/µs), numbers rounded to the grid, layout detection with and
 * without a header, every format read from a file (the samples in tests/data/csv/ and
 * files written here, plain and gzip), symbols from SYM=PATH or the file name, the merge
 * of files and symbols by time with its ties, symbol-grouped and backwards files, bar
 * timeframes, from/to, every malformed case with its exact FILE:LINE:COLUMN message and
 * skip_bad, and the generator behind tools/gen_ticks (deterministic, parsed by
 * feed_csv). Files are written to a fresh directory under /tmp. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "feed_csv.h"
#include "feed_csv_gen.h"
#include "feed_csv_parse.h"
#include "util.h"

#define MAX_RECS  64
#define T0        INT64_C(1704465000000000) /* 2024-01-05T14:30:00Z */
#define DAY_US    INT64_C(86400000000)
#define PATH_SIZE 256

static char tmpdir[PATH_SIZE];

/* ---- helpers ---------------------------------------------------------------------- */

static int setup_dir(void **s)
{
    strcpy(tmpdir, "/tmp/test_feed_csv.XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int teardown_dir(void **s)
{
    char cmd[PATH_SIZE + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* tmpdir/name; the result lives until the 8th next call. */
static const char *tmp_path(const char *name)
{
    static char ring[8][PATH_SIZE];
    static int next;
    char *p = ring[next++ % 8];
    snprintf(p, PATH_SIZE, "%s/%s", tmpdir, name);
    return p;
}

static const char *write_file(const char *name, const char *text)
{
    const char *path = tmp_path(name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
    assert_int_equal(fclose(fp), 0);
    return path;
}

static const char *write_gz(const char *name, const char *text)
{
    const char *path = tmp_path(name);
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, text, (unsigned)strlen(text)), (int)strlen(text));
    assert_int_equal(gzclose(gz), Z_OK);
    return path;
}

/* tests/data/csv/name in the source tree. */
static const char *sample(const char *name)
{
    static char ring[4][PATH_SIZE];
    static int next;
    const char *src = getenv("LUATRADE_SRC");
    char *p = ring[next++ % 4];
    snprintf(p, PATH_SIZE, "%s/tests/data/csv/%s", src ? src : ".", name);
    return p;
}

static const struct csv_grid cents = {2, 1, 0, 1}; /* 0.01 ticks, whole shares */

/* A feed opened, bound (every symbol on one grid) and read to its end or first error. */
struct run {
    struct feed_csv *f;
    struct instruments ins;
    struct csv_record rec[MAX_RECS];
    int n, rc;
    struct feed_csv_stats st;
    struct err e;
};

struct opts {
    int skip_bad;
    int64_t from_us, to_us;
    const struct csv_grid *grid;
};

static void run_bind(struct run *r, const struct csv_grid *g)
{
    for (int i = 0; i < feed_csv_nsymbols(r->f); i++) {
        struct instrument in = {
            .px_dp = g->px_dp, .tick = g->tick, .qty_dp = g->qty_dp, .lot = g->lot};
        util_strlcpy(in.symbol, feed_csv_symbol(r->f, i), sizeof in.symbol);
        if (instruments_add(&r->ins, &in, &r->e) < 0) fail_msg("%s", r->e.msg);
    }
    if (feed_csv_bind(r->f, &r->ins, &r->e) < 0) fail_msg("bind: %s", r->e.msg);
}

static void run_read(struct run *r)
{
    struct csv_record rec;
    r->n = 0;
    while ((r->rc = feed_csv_next(r->f, &rec, &r->e)) > 0) {
        assert_true(r->n < MAX_RECS);
        r->rec[r->n++] = rec;
    }
    feed_csv_stats(r->f, &r->st);
}

static void run_paths(struct run *r, const char *const *paths, int n, const struct opts *o)
{
    struct opts none = {0};
    if (!o) o = &none;
    struct feed_csv_config c = {paths, n, o->skip_bad, o->from_us, o->to_us};
    memset(r, 0, sizeof *r);
    r->f = feed_csv_open(&c, &r->e);
    if (!r->f) fail_msg("open: %s", r->e.msg);
    run_bind(r, o->grid ? o->grid : &cents);
    run_read(r);
}

static void run_one(struct run *r, const char *path, const struct opts *o)
{
    run_paths(r, &path, 1, o);
}

static void run_free(struct run *r)
{
    feed_csv_free(r->f);
    instruments_free(&r->ins);
}

/* The message expected, with "%s" standing for the path. */
static void expect_msg(const char *got, const char *fmt, const char *path)
{
    char want[ERR_MSG_MAX];
    snprintf(want, sizeof want, fmt, path, path);
    assert_string_equal(got, want);
}

/* feed_csv_open of the one path fails with the message fmt. */
static void expect_open_fail(const char *path, const char *fmt)
{
    struct err e = {{0}};
    struct feed_csv_config c = {&path, 1, 0, 0, 0};
    struct feed_csv *f = feed_csv_open(&c, &e);
    if (f) fail_msg("opened %s, expected: %s", path, fmt);
    expect_msg(e.msg, fmt, path);
}

/* Without skip_bad the file fails with fmt (when opened, or when read: the open pass
 * checks times, symbols and their order, the next pass the rest); with skip_bad it yields
 * `good` records, counts one bad line and keeps its message. */
static void expect_bad_line(const char *name, const char *text, const char *fmt, int good)
{
    const char *path = write_file(name, text);
    struct feed_csv_config c = {&path, 1, 0, 0, 0};
    struct run r;
    memset(&r, 0, sizeof r);
    r.f = feed_csv_open(&c, &r.e);
    if (r.f) {
        run_bind(&r, &cents);
        run_read(&r);
        assert_int_equal(r.rc, -1);
        assert_int_equal(feed_csv_next(r.f, &r.rec[0], &r.e), 0); /* at its end from then on */
        run_free(&r);
    }
    expect_msg(r.e.msg, fmt, path);
    struct opts skip = {.skip_bad = 1};
    run_one(&r, path, &skip);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.n, good);
    assert_int_equal(r.st.bad, 1);
    expect_msg(r.st.first_bad, fmt, path);
    run_free(&r);
}

/* csv_parse_time of s; -1 when refused. */
static int time_of(const char *s, int64_t *t)
{
    return csv_parse_time(s, strlen(s), t);
}

static int64_t time_ok(const char *s)
{
    int64_t t = 0;
    if (time_of(s, &t) < 0) fail_msg("time %s refused", s);
    return t;
}

/* The units of s on the grid (dp, step); fails the test when refused. */
static int64_t units_ok(const char *s, int dp, int64_t step)
{
    struct csv_dec d;
    int64_t u = 0;
    if (csv_parse_number(s, strlen(s), &d) < 0) fail_msg("number %s refused", s);
    if (csv_dec_units(&d, dp, step, &u) < 0) fail_msg("number %s out of range", s);
    return u;
}

/* ---- the parsers ------------------------------------------------------------------ */

static void test_time_iso(void **s)
{
    assert_int_equal(time_ok("2024-01-05"), T0 - (14 * 3600 + 1800) * INT64_C(1000000));
    assert_int_equal(time_ok("2024-01-05 14:30:00"), T0);
    assert_int_equal(time_ok("2024-01-05T14:30:00Z"), T0);
    assert_int_equal(time_ok("2024-01-05t14:30z"), T0);
    assert_int_equal(time_ok("2024-01-05T14:30:00.123456Z"), T0 + 123456);
    assert_int_equal(time_ok("2024-01-05T14:30:00.5"), T0 + 500000);
    assert_int_equal(time_ok("2024-01-05T14:30:00.123456789Z"), T0 + 123456); /* truncated */
    assert_int_equal(time_ok("2024-01-05T16:30:00+02:00"), T0);
    assert_int_equal(time_ok("2024-01-05T16:30:00+02"), T0);
    assert_int_equal(time_ok("2024-01-05T09:30:00-0500"), T0);
    assert_int_equal(time_ok("2024-01-05T09:30:00.000-05:00"), T0);
    assert_int_equal(time_ok("1970-01-01"), 0);
    assert_int_equal(time_ok("1969-12-31T23:59:59Z"), -1000000);
    assert_int_equal(time_ok("2000-02-29"), INT64_C(951782400000000));
    assert_int_equal(time_ok("9999-12-31T23:59:59.999999Z"), CSV_MAX_TIME_US);
    int64_t t;
    const char *bad[] = {"",
                         "2024-13-01",
                         "2024-00-10",
                         "2023-02-29",
                         "2024-01-32",
                         "2024-1-05",
                         "2024-01-05T24:00",
                         "2024-01-05T14:60",
                         "2024-01-05T14:30:61",
                         "2024-01-05T14",
                         "2024-01-05T14:30:00.",
                         "2024-01-05T14:30:00+2:00",
                         "2024-01-05T14:30:00+02:60",
                         "2024-01-05T14:30:00Zjunk",
                         "2024-01-05 ",
                         "2024-01-05Z",
                         "9999-12-31T23:59:59-01:00",
                         "abc",
                         "-5",
                         "1e9",
                         "1.5.5",
                         "nan"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        if (time_of(bad[i], &t) == 0) fail_msg("time \"%s\" accepted", bad[i]);
}

static void test_time_epoch(void **s)
{
    assert_int_equal(time_ok("1704465000"), T0);               /* seconds */
    assert_int_equal(time_ok("1704465000.25"), T0 + 250000);   /* with a fraction */
    assert_int_equal(time_ok("1704465000000"), T0);            /* milliseconds */
    assert_int_equal(time_ok("1704465000000.5"), T0 + 500);    /* ms with a fraction */
    assert_int_equal(time_ok("1704465000000123"), T0 + 123);   /* microseconds */
    assert_int_equal(time_ok("1704465000000123.9"), T0 + 123); /* sub-µs truncated */
    assert_int_equal(time_ok("0"), 0);
    assert_int_equal(time_ok("99999999999"), INT64_C(99999999999000000)); /* < 1e11: s */
    assert_int_equal(time_ok("100000000000"), INT64_C(100000000000000));  /* 1e11: ms */
    assert_int_equal(time_ok("99999999999999"), INT64_C(99999999999999000));
    assert_int_equal(time_ok("100000000000000"), INT64_C(100000000000000)); /* 1e14: µs */
    int64_t t;
    assert_int_equal(time_of("1704465000000000000", &t), -1); /* nanoseconds: refused */
    assert_int_equal(time_of("253402300800000000", &t), -1);  /* past 9999 */
    assert_int_equal(time_of("1704465000.", &t), -1);
}

static void test_number_units(void **s)
{
    assert_int_equal(units_ok("182.889999", 2, 1), 18289); /* Yahoo: to the tick */
    assert_int_equal(units_ok("187.149994", 2, 1), 18715);
    assert_int_equal(units_ok("190.25", 2, 1), 19025);
    assert_int_equal(units_ok("190.2", 2, 1), 19020);
    assert_int_equal(units_ok("190", 2, 1), 19000);
    assert_int_equal(units_ok("0.005", 2, 1), 1); /* half away from zero */
    assert_int_equal(units_ok("0.0049", 2, 1), 0);
    assert_int_equal(units_ok("-0.005", 2, 1), -1);
    assert_int_equal(units_ok("1.02", 2, 5), 100);  /* a 0.05 tick */
    assert_int_equal(units_ok("1.025", 2, 5), 105); /* half a tick: away from zero */
    assert_int_equal(units_ok("1.03", 2, 5), 105);
    assert_int_equal(units_ok("1.5e2", 2, 1), 15000);
    assert_int_equal(units_ok("15E-1", 0, 1), 2);
    assert_int_equal(units_ok("+7", 0, 1), 7);
    assert_int_equal(units_ok(".5", 1, 1), 5);
    assert_int_equal(units_ok("5.", 1, 1), 50);
    assert_int_equal(units_ok("0001.50", 2, 1), 150);
    assert_int_equal(units_ok("149", 0, 100), 100); /* lots of 100 */
    assert_int_equal(units_ok("150", 0, 100), 200);
    assert_int_equal(units_ok("0.0015", 3, 1), 2);
    assert_int_equal(units_ok("12345678.5", 2, 1), 1234567850);
    assert_int_equal(units_ok("0.1234567890123456789012345", 9, 1), 123456789);
    assert_int_equal(units_ok("1e-30", 2, 1), 0);
    assert_int_equal(units_ok("90071992547409.91", 2, 1), CSV_MAX_UNITS - 1);
    struct csv_dec d;
    int64_t u;
    assert_int_equal(csv_parse_number("90071992547409.92", 17, &d), 0);
    assert_int_equal(csv_dec_units(&d, 2, 1, &u), -1); /* 2^53 units */
    assert_int_equal(csv_parse_number("1e300", 5, &d), 0);
    assert_int_equal(csv_dec_units(&d, 2, 1, &u), -1);
    assert_int_equal(csv_parse_number("99999999999999999999999", 23, &d), 0);
    assert_int_equal(csv_dec_units(&d, 0, 1, &u), -1);
    const char *bad[] = {"",  "nan", "NaN", "inf", "-inf", "Infinity", "12.3.4", "1e",   "1e+", ".",
                         "-", "+",   "1,5", " 1",  "1 ",   "0x10",     "1_000",  "null", "--1"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        if (csv_parse_number(bad[i], strlen(bad[i]), &d) == 0)
            fail_msg("number \"%s\" accepted", bad[i]);
}

/* csv_layout_detect of line; fails the test on an error. */
static struct csv_layout layout_of(const char *line)
{
    struct csv_layout L;
    struct csv_fail fail;
    if (csv_layout_detect(line, strlen(line), &L, &fail) < 0)
        fail_msg("%s: %d: %s", line, fail.col, fail.msg);
    return L;
}

static void expect_layout_fail(const char *line, int col, const char *msg)
{
    struct csv_layout L;
    struct csv_fail fail;
    assert_int_equal(csv_layout_detect(line, strlen(line), &L, &fail), -1);
    assert_int_equal(fail.col, col);
    assert_string_equal(fail.msg, msg);
}

static void test_layouts(void **s)
{
    struct csv_layout L = layout_of("Date,Open,High,Low,Close,Adj Close,Volume");
    assert_true(L.has_header && L.kind == CSV_BAR && L.ncols == 7);
    assert_int_equal(L.col[CSV_COL_SYMBOL], -1);
    assert_int_equal(L.role[5], CSV_COL_IGNORE);
    assert_int_equal(L.col[CSV_COL_VOLUME], 6);
    L = layout_of("timestamp,open,high,low,close,volume");
    assert_true(L.has_header && L.kind == CSV_BAR && L.col[CSV_COL_VOLUME] == 5);
    L = layout_of("TIME,Symbol,Open,High,Low,Close,Volume");
    assert_true(L.kind == CSV_BAR && L.col[CSV_COL_SYMBOL] == 1);
    L = layout_of("time,symbol,price,size");
    assert_true(L.kind == CSV_TICK && !L.has_quote);
    L = layout_of("\"time\", symbol ,price,qty,bid,ask,bid_qty,Ask Size");
    assert_true(L.kind == CSV_TICK && L.has_quote && L.col[CSV_COL_ASK_SIZE] == 7);
    L = layout_of("symbol,size,price,time"); /* any order */
    assert_true(L.kind == CSV_TICK && L.col[CSV_COL_TIME] == 3 && L.col[CSV_COL_PRICE] == 2);
    /* Headerless: the column count and whether column 2 is a number. */
    L = layout_of("1704465000000,AAPL,182.00,10");
    assert_true(!L.has_header && L.kind == CSV_TICK && !L.has_quote);
    L = layout_of("1704465000000,AAPL,182.00,10,181.99,182.01,5,5");
    assert_true(!L.has_header && L.kind == CSV_TICK && L.has_quote);
    L = layout_of("2024-01-05,AAPL,1,2,0.5,1.5,100");
    assert_true(L.kind == CSV_BAR && L.col[CSV_COL_SYMBOL] == 1);
    L = layout_of("2024-01-05,1,2,0.5,1.5,1.4,100");
    assert_true(L.kind == CSV_BAR && L.col[CSV_COL_SYMBOL] == -1 && L.role[5] == CSV_COL_IGNORE);
    L = layout_of("2024-01-05 19:55:00,368.2,368.3,368.1,368.25,3151");
    assert_true(L.kind == CSV_BAR && L.ncols == 6 && L.col[CSV_COL_VOLUME] == 5);
    expect_layout_fail("time,symbol,price,last", 4,
                       "expected a column name (time, symbol, open, high, low, close, volume, "
                       "price, size, bid, ask, bid_size, ask_size, adj close), got \"last\"");
    expect_layout_fail("time,price,size,Price", 4, "expected each column once, got \"Price\"");
    expect_layout_fail("symbol,price,size", 1,
                       "expected a time column (time, date, timestamp or datetime), got none");
    expect_layout_fail("time,price", 1, "expected a size column, got none");
    expect_layout_fail("time,open,high,low,close", 1, "expected a volume column, got none");
    expect_layout_fail("time,price,size,open,high,low,close,volume", 1,
                       "expected the columns of ticks or of bars, got both");
    expect_layout_fail("time,symbol", 1,
                       "expected price and size (ticks) or open, high, low, close and volume "
                       "(bars), got none of them");
    expect_layout_fail("time,price,size,bid,ask", 1,
                       "expected bid, ask, bid_size and ask_size together, got 2 of them");
    expect_layout_fail("1704465000000,AAPL,182.00", 1,
                       "expected a header, or rows of ticks (time,symbol,price,size[,bid,ask,"
                       "bid_size,ask_size]) or bars (time,symbol,open,high,low,close,volume; "
                       "Yahoo's 7 or Alpha Vantage's 6 columns without a symbol), got 3 columns "
                       "with column 2 not a number");
    expect_layout_fail("1704465000000,182.00,10,1", 1,
                       "expected a header, or rows of ticks (time,symbol,price,size[,bid,ask,"
                       "bid_size,ask_size]) or bars (time,symbol,open,high,low,close,volume; "
                       "Yahoo's 7 or Alpha Vantage's 6 columns without a symbol), got 4 columns "
                       "with column 2 a number");
}

/* csv_parse_row + csv_row_values of line in layout header on the cents grid. */
static int parse_line(const char *header, const char *line, struct csv_record *rec,
                      struct csv_fail *fail)
{
    struct csv_layout L = layout_of(header);
    struct csv_row r;
    if (csv_parse_row(&L, line, strlen(line), &r, fail) < 0) return -1;
    return csv_row_values(&L, line, strlen(line), &r, &cents, rec, fail);
}

static void test_row_fields(void **s)
{
    const char *h = "time,symbol,price,size,bid,ask,bid_size,ask_size";
    struct csv_record rec;
    struct csv_fail fail;
    struct csv_layout L = layout_of(h);
    struct csv_row r;
    /* Quotes, blanks, long numbers, exponents: the slow paths give the same values. */
    const char *lines[] = {
        "1704465000000,AAPL,182.5,100,182.49,182.51,300,200",
        "\"1704465000000\",\"AAPL\",\"182.50\",\"100\",182.49,\"182.51\",300,\"200\"",
        " 1704465000000 , AAPL ,182.500000000, 100,182.490,182.510 ,3e2, 2.0e2 ",
        "2024-01-05T14:30:00Z,AAPL,1.825e2,100.0,182.49,182.51,300,200",
        "1704465000,AAPL,0000182.50,100,182.49,182.51,300,200",
        "2024-01-05T14:30:00.000000Z,AAPL,182.50,100,182.49,182.51,300,200", /* > 64 bytes */
        "1704465000000,AAPL,182.5,100,182.49,182.51,300,200 ",               /* a blank */
    };
    for (size_t i = 0; i < ARRAY_LEN(lines); i++) {
        if (parse_line(h, lines[i], &rec, &fail) < 0) fail_msg("%s: %s", lines[i], fail.msg);
        assert_int_equal(rec.kind, CSV_TICK);
        assert_int_equal(rec.time_us, T0);
        assert_int_equal(rec.px, 18250);
        assert_int_equal(rec.qty, 100);
        assert_true(rec.has_quote);
        assert_int_equal(rec.bid, 18249);
        assert_int_equal(rec.ask, 18251);
        assert_int_equal(rec.bid_qty, 300);
        assert_int_equal(rec.ask_qty, 200);
        assert_int_equal(csv_parse_row(&L, lines[i], strlen(lines[i]), &r, &fail), 0);
        assert_int_equal(r.sym_len, 4);
        assert_memory_equal(r.sym, "AAPL", 4);
    }
    /* Short lines (under 8 and 16 bytes) and numbers of 8 bytes and more. */
    const char *h3 = "time,price,size";
    const char *shorts[][2] = {{"0,1.5,2", "150 2"},
                               {"0,1234.5,99", "123450 99"},
                               {"1,12345.67,12345678", "1234567 12345678"},
                               {"1704465000,123456.78,7", "12345678 7"}};
    for (size_t i = 0; i < ARRAY_LEN(shorts); i++) {
        char got[64];
        if (parse_line(h3, shorts[i][0], &rec, &fail) < 0)
            fail_msg("%s: %s", shorts[i][0], fail.msg);
        snprintf(got, sizeof got, "%lld %lld", (long long)rec.px, (long long)rec.qty);
        assert_string_equal(got, shorts[i][1]);
    }
    /* A quoted symbol may hold a comma (then it is not a valid symbol, for the reader). */
    const char *q = "1704465000000,\"A,B\",1,1,,,,";
    assert_int_equal(csv_parse_row(&L, q, strlen(q), &r, &fail), 0);
    assert_int_equal(r.sym_len, 3);
    assert_memory_equal(r.sym, "A,B", 3);
    /* Empty quote columns: a trade without a quote; a partly empty quote is an error. */
    assert_int_equal(parse_line(h, "1704465000000,AAPL,1,1,,,,", &rec, &fail), 0);
    assert_false(rec.has_quote);
    assert_int_equal(rec.bid + rec.ask + rec.bid_qty + rec.ask_qty, 0);
    assert_int_equal(parse_line(h, "1704465000000,AAPL,1,1,1,1,,5", &rec, &fail), -1);
    assert_int_equal(fail.col, 7);
    assert_string_equal(fail.msg, "expected a number for bid_size, got \"\"");
    /* Zero quote sizes are a quote with an empty side. */
    assert_int_equal(parse_line(h, "1704465000000,AAPL,1,1,1,1,0,0", &rec, &fail), 0);
    assert_true(rec.has_quote);
    /* Messages quote the field escaped and cut short. */
    const char *bin = "1704465000000,AAPL,1\x01x\\,1,,,,";
    assert_int_equal(parse_line(h, bin, &rec, &fail), -1);
    assert_int_equal(fail.col, 3);
    assert_string_equal(fail.msg, "expected a number for price, got \"1\\x01x\\x5c\"");
    assert_int_equal(parse_line(h, "1704465000000,AAPL,\"1\"\"2\",1,,,,", &rec, &fail), -1);
    assert_string_equal(fail.msg, "expected a number for price, got \"1\\x22\\x222\"");
    const char *lng = "1704465000000,AAPL,123456789012345678901234567890123456789012345x,1,,,,";
    assert_int_equal(parse_line(h, lng, &rec, &fail), -1);
    assert_string_equal(fail.msg, "expected a number for price, got "
                                  "\"1234567890123456789012345678901234567890...\"");
}

/* ---- formats ---------------------------------------------------------------------- */

static void assert_bar(const struct csv_record *r, int sym, enum tf tf, int64_t t, int64_t o,
                       int64_t h, int64_t l, int64_t c, int64_t v)
{
    assert_int_equal(r->kind, CSV_BAR);
    assert_int_equal(r->sym, sym);
    assert_int_equal(r->time_us, t);
    assert_int_equal(r->bar.sym, sym);
    assert_int_equal(r->bar.tf, tf);
    assert_int_equal(r->bar.time_us, t);
    assert_int_equal(r->bar.open, o);
    assert_int_equal(r->bar.high, h);
    assert_int_equal(r->bar.low, l);
    assert_int_equal(r->bar.close, c);
    assert_int_equal(r->bar.volume, v);
    assert_int_equal(r->bar.trades, 0);
}

static void assert_tick(const struct csv_record *r, int sym, int64_t t, int64_t px, int64_t qty)
{
    assert_int_equal(r->kind, CSV_TICK);
    assert_int_equal(r->sym, sym);
    assert_int_equal(r->time_us, t);
    assert_int_equal(r->px, px);
    assert_int_equal(r->qty, qty);
}

static void test_yahoo(void **s)
{
    struct run r;
    run_one(&r, sample("AAPL.yahoo.csv"), NULL);
    assert_int_equal(r.rc, 0);
    assert_int_equal(feed_csv_nsymbols(r.f), 1);
    assert_string_equal(feed_csv_symbol(r.f, 0), "AAPL"); /* the file name's stem */
    assert_true(feed_csv_has_bars(r.f) && !feed_csv_has_ticks(r.f));
    int64_t jan2 = time_ok("2024-01-02");
    assert_int_equal(feed_csv_first_us(r.f), jan2);
    assert_int_equal(feed_csv_last_us(r.f), jan2 + 7 * DAY_US);
    assert_int_equal(r.n, 6);
    /* Rounded to the 0.01 tick; Adj Close ignored; daily despite the weekend. */
    assert_bar(&r.rec[0], 0, TF_1D, jan2, 18715, 18844, 18389, 18564, 82488700);
    assert_bar(&r.rec[4], 0, TF_1D, jan2 + 6 * DAY_US, 18209, 18560, 18150, 18556, 59144500);
    assert_int_equal(r.st.rows, 6);
    assert_int_equal(r.st.bars, 6);
    assert_int_equal(r.st.ticks + r.st.bad + r.st.out_of_range, 0);
    assert_int_equal(r.st.bytes_total, 492);
    assert_int_equal(r.st.bytes_done, 492);
    run_free(&r);
    /* Without its header: told by 7 columns with a number in column 2. */
    const char *bare = write_file("aapl.csv", "2024-01-02,187.149994,188.440002,183.889999,"
                                              "185.639999,184.938217,82488700\n"
                                              "2024-01-03,184.220001,185.880005,183.429993,"
                                              "184.250000,183.553467,58414500\n");
    run_one(&r, bare, NULL);
    assert_int_equal(r.n, 2);
    assert_string_equal(feed_csv_symbol(r.f, 0), "AAPL");
    assert_bar(&r.rec[0], 0, TF_1D, jan2, 18715, 18844, 18389, 18564, 82488700);
    run_free(&r);
}

static void test_alpha_vantage(void **s)
{
    /* Newest first (as Alpha Vantage writes), CRLF line ends, 5-minute bars with a gap. */
    struct run r;
    run_one(&r, sample("MSFT.alpha.csv"), NULL);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.n, 4);
    int64_t t = time_ok("2024-01-05T19:35:00Z");
    assert_bar(&r.rec[0], 0, TF_5M, t, 36790, 36805, 36790, 36800, 871);
    assert_int_equal(r.rec[1].time_us, t + 600000000);
    assert_int_equal(r.rec[3].time_us, t + 1200000000);
    assert_bar(&r.rec[3], 0, TF_5M, t + 1200000000, 36820, 36830, 36810, 36825, 3151);
    assert_int_equal(feed_csv_first_us(r.f), t);
    run_free(&r);
    /* Headerless and ascending: 6 columns. */
    const char *bare = write_file("IBM.csv", "2024-01-05 14:30:00,160,161,159,160.5,100\n"
                                             "2024-01-05 14:31:00,160.5,161,160,161,0\n");
    run_one(&r, bare, NULL);
    assert_int_equal(r.n, 2);
    assert_string_equal(feed_csv_symbol(r.f, 0), "IBM");
    assert_bar(&r.rec[1], 0, TF_1M, T0 + 60000000, 16050, 16100, 16000, 16100, 0);
    run_free(&r);
}

static void test_generic_bars(void **s)
{
    struct run r;
    run_one(&r, sample("bars.csv"), NULL);
    assert_int_equal(r.rc, 0);
    assert_int_equal(feed_csv_nsymbols(r.f), 2);
    assert_string_equal(feed_csv_symbol(r.f, 0), "AAPL");
    assert_string_equal(feed_csv_symbol(r.f, 1), "MSFT");
    assert_int_equal(r.n, 5);
    assert_bar(&r.rec[0], 0, TF_1M, T0, 18199, 18210, 18190, 18205, 1200);
    assert_bar(&r.rec[1], 1, TF_1M, T0, 36800, 36840, 36790, 36830, 800);
    assert_bar(&r.rec[3], 1, TF_1M, T0 + 60000000, 36830, 36835, 36810, 36820, 0);
    run_free(&r);
    const char *bare = write_file("bars_bare.csv", "1704465000,AAPL,1,2,0.5,1.5,10\n"
                                                   "1704465300,AAPL,1.5,2,1,1,10\n");
    run_one(&r, bare, NULL);
    assert_int_equal(r.n, 2);
    assert_bar(&r.rec[1], 0, TF_5M, T0 + 300000000, 150, 200, 100, 100, 10);
    run_free(&r);
}

static void test_generic_ticks(void **s)
{
    struct run r;
    run_one(&r, sample("ticks.csv"), NULL);
    assert_int_equal(r.rc, 0);
    assert_true(feed_csv_has_ticks(r.f) && !feed_csv_has_bars(r.f));
    assert_int_equal(r.n, 4);
    assert_tick(&r.rec[0], 0, T0, 18199, 100); /* 09:30-05:00 */
    assert_true(r.rec[0].has_quote);
    assert_int_equal(r.rec[0].bid, 18198);
    assert_int_equal(r.rec[0].ask, 18200);
    assert_int_equal(r.rec[0].bid_qty, 300);
    assert_int_equal(r.rec[0].ask_qty, 200);
    assert_tick(&r.rec[1], 1, T0 + 250, 36800, 50);
    assert_tick(&r.rec[2], 0, T0 + 500000, 18200, 25);
    assert_false(r.rec[2].has_quote); /* empty quote columns */
    assert_tick(&r.rec[3], 0, T0 + 1000000, 18201, 10);
    assert_int_equal(r.st.ticks, 4);
    run_free(&r);
    /* Without a header and without quote columns: has_quote 0. */
    const char *bare = write_file("ticks4.csv", "1704465000000,AAPL,182.00,10\n"
                                                "1704465000000,AAPL,182.01,5\n");
    run_one(&r, bare, NULL);
    assert_int_equal(r.n, 2);
    assert_tick(&r.rec[1], 0, T0, 18201, 5); /* an equal time is fine for ticks */
    assert_false(r.rec[1].has_quote);
    run_free(&r);
    /* Without a header, with quotes, epoch µs; blank lines and a UTF-8 BOM ignored. */
    bare = write_file("ticks8.csv", "\xef\xbb\xbf\n1704465000000001,AAPL,182,10,181.99,182.01,"
                                    "1,2\n   \n1704465000000002,AAPL,182,10,182,182,0,0");
    run_one(&r, bare, NULL);
    assert_int_equal(r.n, 2);
    assert_tick(&r.rec[0], 0, T0 + 1, 18200, 10);
    assert_true(r.rec[0].has_quote && r.rec[0].ask_qty == 2);
    run_free(&r);
}

static void test_grid_rounding(void **s)
{
    /* A 0.05 tick and lots of 0.001 at 3 decimals. */
    struct csv_grid g = {2, 5, 3, 1};
    struct opts o = {.grid = &g};
    const char *path = write_file("ES.csv", "time,price,size\n1704465000,4750.12,1.0004\n"
                                            "1704465001,4750.13,0.0005\n");
    struct run r;
    run_one(&r, path, &o);
    assert_int_equal(r.n, 2);
    assert_tick(&r.rec[0], 0, T0, 475010, 1000);
    assert_tick(&r.rec[1], 0, T0 + 1000000, 475015, 1); /* half a lot: up */
    run_free(&r);
    /* A size that rounds to no lot is no size. */
    expect_bad_line("lots.csv", "time,symbol,price,size\n1704465000,X,1,100\n1704465001,X,1,0.4\n",
                    "%s:3:4: expected a positive size, got \"0.4\"", 1);
}

static void test_gzip(void **s)
{
    const char *text = "time,symbol,price,size\n1704465000000,AAPL,182.00,10\n"
                       "1704465000001,MSFT,368.00,5\n";
    const char *gz = write_gz("aapl.csv.gz", text);
    struct run r;
    run_one(&r, gz, NULL);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.n, 2);
    assert_tick(&r.rec[1], 1, T0 + 1000, 36800, 5);
    assert_true(r.st.bytes_total > 0 && r.st.bytes_done == r.st.bytes_total);
    run_free(&r);
    /* The stem of a .csv.gz file. */
    gz = write_gz("ibm.csv.gz", "2024-01-05,1,2,0.5,1.5,1.4,100\n");
    run_one(&r, gz, NULL);
    assert_string_equal(feed_csv_symbol(r.f, 0), "IBM");
    run_free(&r);
    /* A gzip file cut short is an error, not a quiet end. */
    char big[8192];
    size_t o = (size_t)snprintf(big, sizeof big, "time,symbol,price,size\n");
    for (int i = 0; o + 40 < sizeof big; i++)
        o += (size_t)snprintf(big + o, sizeof big - o, "%d,AAPL,%d.%02d,%d\n", 1704465000 + i,
                              100 + i % 7, i % 100, 1 + i % 9);
    gz = write_gz("cut.csv.gz", big);
    FILE *fp = fopen(gz, "r+");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    assert_int_equal(ftruncate(fileno(fp), ftell(fp) / 2), 0);
    fclose(fp);
    expect_open_fail(gz, "%s: the gzip data ends early (a truncated file?)");
}

/* ---- symbols, merge, order -------------------------------------------------------- */

static void test_symbols(void **s)
{
    struct run r;
    char arg[PATH_SIZE + 16];
    const char *path = write_file("data.v2.csv", "2024-01-05,1,2,0.5,1.5,1.4,100\n");
    snprintf(arg, sizeof arg, "BRK.B=%s", path);
    run_one(&r, arg, NULL);
    assert_string_equal(feed_csv_symbol(r.f, 0), "BRK.B"); /* SYM= wins over the stem */
    run_free(&r);
    run_one(&r, path, NULL);
    assert_string_equal(feed_csv_symbol(r.f, 0), "DATA"); /* up to the first '.' */
    run_free(&r);
    /* A stem that is no symbol, and SYM= for a file with a symbol column. */
    path = write_file("my prices.csv", "2024-01-05,1,2,0.5,1.5,1.4,100\n");
    expect_open_fail(path, "%s: the file has no symbol column and its name gives no valid symbol "
                           "(1-15 of A-Z a-z 0-9 . _ : / -, starting with a letter or digit); "
                           "name it with SYM=PATH, e.g. AAPL=%s");
    path = write_file("averyveryverylongname.csv", "2024-01-05,1,2,0.5,1.5,1.4,100\n");
    struct err e;
    struct feed_csv_config c = {&path, 1, 0, 0, 0};
    assert_null(feed_csv_open(&c, &e));
    assert_non_null(strstr(e.msg, "name it with SYM=PATH"));
    path = write_file("syms.csv", "time,symbol,price,size\n1704465000,AAPL,1,1\n");
    snprintf(arg, sizeof arg, "MSFT=%s", path);
    const char *argp = arg;
    c = (struct feed_csv_config){&argp, 1, 0, 0, 0};
    assert_null(feed_csv_open(&c, &e));
    expect_msg(e.msg,
               "%s: the file has a symbol column; SYM=PATH names the symbol of a file "
               "without one",
               path);
    /* An invalid symbol in the column. */
    expect_open_fail(write_file("badsym.csv", "time,symbol,price,size\n1704465000,AAPL,1,1\n"
                                              "1704465001,BAD SYM,1,1\n"),
                     "%s:3:2: expected a symbol (1-15 of A-Z a-z 0-9 . _ : / -, starting with a "
                     "letter or digit), got \"BAD SYM\"");
    expect_open_fail(write_file("longsym.csv", "time,symbol,price,size\n"
                                               "1704465000,ABCDEFGHIJKLMNOP,1,1\n"),
                     "%s:2:2: expected a symbol (1-15 of A-Z a-z 0-9 . _ : / -, starting with a "
                     "letter or digit), got \"ABCDEFGHIJKLMNOP\"");
    expect_open_fail(write_file("nosym.csv", "time,symbol,price,size\n1704465000,,1,1\n"),
                     "%s:2:2: expected a symbol, got \"\"");
    /* Missing files, directories, empty files. */
    expect_open_fail(tmp_path("absent.csv"), "%s: cannot open: No such file or directory");
    expect_open_fail(tmpdir, "%s: not a regular file");
    expect_open_fail(write_file("empty.csv", "\n  \n"),
                     "%s: expected a header or data, got an empty file");
    c = (struct feed_csv_config){NULL, 0, 0, 0, 0};
    assert_null(feed_csv_open(&c, &e));
    assert_string_equal(e.msg, "no data files");
    /* Every symbol must be registered. */
    path = sample("bars.csv");
    c = (struct feed_csv_config){&path, 1, 0, 0, 0};
    struct feed_csv *f = feed_csv_open(&c, &e);
    assert_non_null(f);
    struct instruments ins = {0};
    struct instrument aapl = {"AAPL", 2, 1, 0, 1};
    assert_int_equal(instruments_add(&ins, &aapl, &e), 0);
    assert_int_equal(feed_csv_bind(f, &ins, &e), -1);
    expect_msg(e.msg, "%s: symbol MSFT is not a registered instrument", path);
    feed_csv_free(f);
    instruments_free(&ins);
}

static void test_merge_ties(void **s)
{
    /* Two files, several symbols; ties go to the earlier file, then the earlier line. */
    const char *a = write_file("a.csv", "time,symbol,price,size\n"
                                        "1704465000000,AAPL,1,1\n"
                                        "1704465000002,MSFT,2,2\n"
                                        "1704465000002,AAPL,3,3\n"
                                        "1704465000004,AAPL,4,4\n");
    const char *b = write_file("b.csv", "time,symbol,price,size\n"
                                        "1704465000001,IBM,5,5\n"
                                        "1704465000002,IBM,6,6\n"
                                        "1704465000003,MSFT,7,7\n"
                                        "1704465000004,IBM,8,8\n");
    const char *paths[] = {b, a};
    struct run r;
    run_paths(&r, paths, 2, NULL);
    assert_int_equal(r.rc, 0);
    assert_int_equal(feed_csv_nsymbols(r.f), 3); /* first seen: b's IBM, MSFT, then AAPL */
    assert_string_equal(feed_csv_symbol(r.f, 0), "IBM");
    assert_string_equal(feed_csv_symbol(r.f, 2), "AAPL");
    int64_t want_px[] = {100, 500, 600, 200, 300, 700, 800, 400};
    assert_int_equal(r.n, 8);
    for (int i = 0; i < 8; i++) assert_int_equal(r.rec[i].px, want_px[i]);
    assert_int_equal(r.rec[1].sym, 0); /* instrument ids: registered in feed order */
    run_free(&r);
}

static void test_grouped_file(void **s)
{
    /* Rows grouped by symbol go back in time across symbols: read whole and sorted. */
    struct run r;
    const char *paths[] = {sample("grouped.csv"), sample("ticks.csv")};
    run_paths(&r, paths, 2, NULL);
    assert_int_equal(r.rc, 0);
    int64_t want_t[] = {T0,           T0,           T0 + 250,     T0 + 500000,  T0 + 500000,
                        T0 + 1000000, T0 + 1000000, T0 + 1000000, T0 + 2000000, T0 + 3000000};
    int64_t want_px[] = {18200, 18199, 36800, 36800, 18200, 18201, 36801, 18201, 18202, 36802};
    assert_int_equal(r.n, 10);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(r.rec[i].time_us, want_t[i]);
        assert_int_equal(r.rec[i].px, want_px[i]);
    }
    assert_int_equal(feed_csv_first_us(r.f), T0);
    assert_int_equal(feed_csv_last_us(r.f), T0 + 3000000);
    run_free(&r);
}

/* Writes rows of generated ticks (gen_ticks' format) big enough to stream. */
static const char *write_generated(const char *name, uint64_t rows, uint64_t seed, int gzip)
{
    struct csv_gen_config c;
    struct err e;
    char *argv[] = {"gen_ticks", (char *)tmp_path(name)};
    assert_int_equal(csv_gen_args(2, argv, &c, &e), 0);
    c.rows = rows;
    c.seed = seed;
    c.gzip = gzip;
    if (csv_gen_write(&c, &e) < 0) fail_msg("%s", e.msg);
    return c.out;
}

static void test_streaming(void **s)
{
    /* Over 1 MiB and in order: streamed, in order per symbol, stopping at `to`. */
    const char *big = write_generated("big.csv", 40000, 7, 0);
    const char *small = write_file("small.csv", "time,symbol,price,size,bid,ask,bid_size,ask_size\n"
                                                "2026-01-05T14:30:00.0005Z,MSFT,1,1,1,1.01,1,1\n"
                                                "2026-01-05T14:30:10Z,IBM,1,1,1,1.01,1,1\n");
    const char *paths[] = {big, small};
    int64_t start = time_ok("2026-01-05T14:30:00Z");
    struct opts o = {.to_us = start + 20000000}; /* the first 20 s: 20000 rows */
    struct feed_csv_config c = {paths, 2, 0, 0, o.to_us};
    struct run r;
    memset(&r, 0, sizeof r);
    r.f = feed_csv_open(&c, &r.e);
    assert_non_null(r.f);
    run_bind(&r, &cents);
    struct csv_record rec, prev = {0};
    uint64_t n = 0;
    while ((r.rc = feed_csv_next(r.f, &rec, &r.e)) > 0) {
        assert_true(rec.time_us >= prev.time_us && rec.time_us < o.to_us);
        assert_true(rec.has_quote && rec.bid < rec.ask && rec.px > 0 && rec.qty > 0);
        if (n < 3) assert_int_equal(rec.time_us, start + (int64_t)n * 500); /* small's at 0.5 ms */
        prev = rec;
        n++;
    }
    assert_int_equal(r.rc, 0);
    assert_int_equal(n, 20002);
    feed_csv_stats(r.f, &r.st);
    assert_int_equal(r.st.rows, 40002);
    assert_int_equal(r.st.out_of_range, 20000);
    assert_int_equal(r.st.ticks, 20002);
    assert_int_equal(r.st.bytes_done, r.st.bytes_total);
    run_free(&r);
}

static void test_bar_timeframes(void **s)
{
    struct run r;
    const char *p = write_file("h.csv", "time,symbol,open,high,low,close,volume\n"
                                        "2024-01-05T14:00:00Z,A,1,1,1,1,1\n"
                                        "2024-01-05T14:00:00Z,B,1,1,1,1,1\n"
                                        "2024-01-05T15:00:00Z,B,1,1,1,1,1\n"
                                        "2024-01-05T16:00:00Z,A,1,1,1,1,1\n");
    run_one(&r, p, NULL);
    assert_int_equal(r.rec[0].bar.tf, TF_1H); /* B's step, the smallest */
    run_free(&r);
    p = write_file("s.csv", "time,symbol,open,high,low,close,volume\n"
                            "1704465000,A,1,1,1,1,1\n1704465001,A,1,1,1,1,1\n");
    run_one(&r, p, NULL);
    assert_int_equal(r.rec[0].bar.tf, TF_1S);
    run_free(&r);
    p = write_file("q.csv", "time,symbol,open,high,low,close,volume\n"
                            "1704465000,A,1,1,1,1,1\n1704465900,A,1,1,1,1,1\n");
    run_one(&r, p, NULL);
    assert_int_equal(r.rec[0].bar.tf, TF_15M);
    run_free(&r);
    /* One bar per symbol at midnight: daily. */
    p = write_file("one.csv", "time,symbol,open,high,low,close,volume\n"
                              "2024-01-05,A,1,1,1,1,1\n2024-01-05,B,1,1,1,1,1\n");
    run_one(&r, p, NULL);
    assert_int_equal(r.rec[1].bar.tf, TF_1D);
    run_free(&r);
    expect_open_fail(write_file("one_intraday.csv", "time,symbol,open,high,low,close,volume\n"
                                                    "2024-01-05T14:30:00Z,A,1,1,1,1,1\n"),
                     "%s: cannot tell the bar timeframe: no symbol has two bars and not every "
                     "bar opens at midnight UTC (daily)");
    expect_open_fail(write_file("weekly.csv", "time,symbol,open,high,low,close,volume\n"
                                              "2024-01-05,A,1,1,1,1,1\n"
                                              "2024-01-12,A,1,1,1,1,1\n"),
                     "%s:3: expected bars 1s, 1m, 5m, 15m, 1h or 1d apart (the smallest step "
                     "between two bars of a symbol), got 7d (A)");
    expect_open_fail(write_file("odd.csv", "time,symbol,open,high,low,close,volume\n"
                                           "1704465000,A,1,1,1,1,1\n1704465150,A,1,1,1,1,1\n"),
                     "%s:3: expected bars 1s, 1m, 5m, 15m, 1h or 1d apart (the smallest step "
                     "between two bars of a symbol), got 2m30s (A)");
    expect_open_fail(write_file("ms.csv", "time,symbol,open,high,low,close,volume\n"
                                          "1704465000000,A,1,1,1,1,1\n"
                                          "1704465000500,A,1,1,1,1,1\n"),
                     "%s:3: expected bars 1s, 1m, 5m, 15m, 1h or 1d apart (the smallest step "
                     "between two bars of a symbol), got 0.5s (A)");
}

static void test_from_to(void **s)
{
    struct run r;
    struct opts o = {.from_us = time_ok("2024-01-03"), .to_us = time_ok("2024-01-08")};
    run_one(&r, sample("AAPL.yahoo.csv"), &o);
    assert_int_equal(r.n, 3); /* Jan 3, 4, 5 */
    assert_int_equal(r.rec[0].time_us, o.from_us);
    assert_int_equal(feed_csv_first_us(r.f), o.from_us);
    assert_int_equal(feed_csv_last_us(r.f), time_ok("2024-01-05"));
    assert_int_equal(r.st.out_of_range, 3);
    assert_int_equal(r.st.rows, 6);
    assert_int_equal(r.st.bars, 3);
    run_free(&r);
    /* Only `from`; only `to`; and a window with nothing in it. */
    o = (struct opts){.from_us = time_ok("2024-01-09")};
    run_one(&r, sample("AAPL.yahoo.csv"), &o);
    assert_int_equal(r.n, 1);
    run_free(&r);
    o = (struct opts){.to_us = time_ok("2024-01-03")};
    run_one(&r, sample("AAPL.yahoo.csv"), &o);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.st.out_of_range, 5);
    run_free(&r);
    o = (struct opts){.from_us = time_ok("2025-01-01")};
    run_one(&r, sample("AAPL.yahoo.csv"), &o);
    assert_int_equal(r.n, 0);
    assert_int_equal(feed_csv_first_us(r.f), 0);
    assert_int_equal(feed_csv_last_us(r.f), 0);
    run_free(&r);
}

/* ---- malformed input -------------------------------------------------------------- */

#define TICKS "time,symbol,price,size\n1704465000,AAPL,1,1\n"
#define BARS  "time,symbol,open,high,low,close,volume\n1704465000,A,1,2,0.5,1.5,10\n"

static void test_malformed_ticks(void **s)
{
    expect_bad_line("m1.csv", TICKS "1704465001,AAPL,1\n", "%s:3:4: expected 4 columns, got 3", 1);
    expect_bad_line("m2.csv", TICKS "1704465001,AAPL,1,1,1\n", "%s:3:5: expected 4 columns, got 5",
                    1);
    expect_bad_line("m3.csv", TICKS "1704465001,AAPL,x,1,1\n", "%s:3:5: expected 4 columns, got 5",
                    1);
    expect_bad_line("m4.csv", TICKS "1704465001,AAPL,12.3.4,1\n",
                    "%s:3:3: expected a number for price, got \"12.3.4\"", 1);
    expect_bad_line("m5.csv", TICKS "1704465001,AAPL,NaN,1\n",
                    "%s:3:3: expected a number for price, got \"NaN\"", 1);
    expect_bad_line("m6.csv", TICKS "1704465001,AAPL,inf,1\n",
                    "%s:3:3: expected a number for price, got \"inf\"", 1);
    expect_bad_line("m7.csv", TICKS "1704465001,AAPL,,1\n",
                    "%s:3:3: expected a number for price, got \"\"", 1);
    expect_bad_line("m8.csv", TICKS "2024-13-01,AAPL,1,1\n",
                    "%s:3:1: expected a time (ISO-8601 or epoch s/ms/us), got \"2024-13-01\"", 1);
    expect_bad_line("m9.csv", TICKS "1704465001,AAPL,-1,1\n",
                    "%s:3:3: expected a positive price, got \"-1\"", 1);
    expect_bad_line("m10.csv", TICKS "1704465001,AAPL,0,1\n",
                    "%s:3:3: expected a positive price, got \"0\"", 1);
    expect_bad_line("m11.csv", TICKS "1704465001,AAPL,0.004,1\n",
                    "%s:3:3: expected a positive price, got \"0.004\"", 1);
    expect_bad_line("m12.csv", TICKS "1704465001,AAPL,1,-5\n",
                    "%s:3:4: expected a positive size, got \"-5\"", 1);
    expect_bad_line("m13.csv", TICKS "1704465001,AAPL,1,0\n",
                    "%s:3:4: expected a positive size, got \"0\"", 1);
    expect_bad_line("m14.csv", TICKS "1704465001,AAPL,1e20,1\n",
                    "%s:3:3: expected a price of at most 90071992547409.91, got \"1e20\"", 1);
    expect_bad_line("m15.csv", TICKS "1704465001,AAPL,1,1\n1704465000.5,AAPL,1,1\n",
                    "%s:4:1: expected a time at or after 2024-01-05T14:30:01.000000Z (line 3) for "
                    "AAPL, got \"1704465000.5\"",
                    2);
    expect_bad_line("m16.csv", TICKS "1704465001,BAD SYM,1,1\n",
                    "%s:3:2: expected a symbol (1-15 of A-Z a-z 0-9 . _ : / -, starting with a "
                    "letter or digit), got \"BAD SYM\"",
                    1);
    const char *q = "time,symbol,price,size,bid,ask,bid_size,ask_size\n"
                    "1704465000,AAPL,1,1,1,1.01,1,1\n";
    char text[512];
    snprintf(text, sizeof text, "%s1704465001,AAPL,1,1,2,1,1,1\n", q);
    expect_bad_line("q1.csv", text, "%s:3:6: expected an ask >= the bid 2.00, got \"1\"", 1);
    snprintf(text, sizeof text, "%s1704465001,AAPL,1,1,1,1,-1,1\n", q);
    expect_bad_line("q2.csv", text, "%s:3:7: expected a bid_size >= 0, got \"-1\"", 1);
    snprintf(text, sizeof text, "%s1704465001,AAPL,1,1,0,1,1,1\n", q);
    expect_bad_line("q3.csv", text, "%s:3:5: expected a positive bid, got \"0\"", 1);
    snprintf(text, sizeof text, "%s1704465001,AAPL,1,1,1,,1,1\n", q);
    expect_bad_line("q4.csv", text, "%s:3:6: expected a number for ask, got \"\"", 1);
}

static void test_malformed_bars(void **s)
{
    expect_bad_line("b1.csv", BARS "1704465060,A,1,2,0.5,1.5,-5\n",
                    "%s:3:7: expected a volume >= 0, got \"-5\"", 1);
    expect_bad_line("b2.csv", BARS "1704465060,A,1.5,2,1.6,1.8,1\n",
                    "%s:3:5: expected low <= min(open, close) = 1.50, got \"1.6\"", 1);
    expect_bad_line("b3.csv", BARS "1704465060,A,1,1.5,0.5,1.8,1\n",
                    "%s:3:4: expected high >= max(open, close) = 1.80, got \"1.5\"", 1);
    expect_bad_line("b4.csv", BARS "1704465060,A,0,1,0,1,1\n",
                    "%s:3:3: expected a positive open, got \"0\"", 1);
    expect_bad_line("b5.csv", BARS "1704465060,A,1,2,0.5,1.5,1\n1704465060,A,1,2,0.5,1.5,1\n",
                    "%s:4:1: expected a time after 2024-01-05T14:31:00.000000Z (line 3) for A, "
                    "got \"1704465060\"",
                    2);
    expect_bad_line("y1.csv",
                    "Date,Open,High,Low,Close,Adj Close,Volume\n"
                    "2024-01-02,187.149994,188.440002,183.889999,185.639999,184.938217,82488700\n"
                    "2024-01-03,null,null,null,null,null,null\n"
                    "2024-01-04,182.149994,183.089996,180.880005,181.910004,181.222290,71983600\n",
                    "%s:3:2: expected a number for open, got \"null\"", 2);
    /* A file that runs backwards (Alpha Vantage) must keep doing so. */
    expect_bad_line("av.csv",
                    "timestamp,open,high,low,close,volume\n"
                    "2024-01-05 19:55:00,1,1,1,1,1\n2024-01-05 19:50:00,1,1,1,1,1\n"
                    "2024-01-05 19:52:00,1,1,1,1,1\n2024-01-05 19:45:00,1,1,1,1,1\n",
                    "%s:4:1: expected a time before 2024-01-05T19:50:00.000000Z (line 3) for AV "
                    "(the file runs backwards in time), got \"2024-01-05 19:52:00\"",
                    3);
}

static void test_skip_bad_counts(void **s)
{
    const char *path = write_file("many.csv", "time,symbol,price,size\n"
                                              "1704465000,AAPL,1,1\n"
                                              "1704465001,AAPL,x,1\n"
                                              "1704465002,AAPL,2,1\n"
                                              "garbage\n"
                                              "1704465003,AAPL,3,-1\n"
                                              "1704465004,AAPL,4,1\n"
                                              "1704465002,AAPL,5,1\n");
    struct opts o = {.skip_bad = 1};
    struct run r;
    run_one(&r, path, &o);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.rec[0].px, 100);
    assert_int_equal(r.rec[1].px, 200);
    assert_int_equal(r.rec[2].px, 400);
    assert_int_equal(r.st.rows, 7);
    assert_int_equal(r.st.bad, 4);
    assert_int_equal(r.st.ticks, 3);
    expect_msg(r.st.first_bad, "%s:3:3: expected a number for price, got \"x\"", path);
    run_free(&r);
    /* A line over 1 MiB stops the reader even with skip_bad. */
    size_t n = (1u << 20) + 100;
    char *text = xmalloc(n + 64);
    strcpy(text, "time,symbol,price,size\n1704465000,AAPL,1,");
    size_t o2 = strlen(text);
    memset(text + o2, '1', n);
    strcpy(text + o2 + n, "\n");
    path = write_file("long.csv", text);
    free(text);
    struct feed_csv_config c = {&path, 1, 1, 0, 0};
    struct err e;
    assert_null(feed_csv_open(&c, &e));
    expect_msg(e.msg, "%s:2: the line is longer than 1048576 bytes", path);
    /* A header of too many columns. */
    char wide[512] = "time,price,size";
    for (int i = 0; i < 30; i++) strcat(wide, ",adj close");
    strcat(wide, "\n");
    expect_open_fail(write_file("wide.csv", wide), "%s:1:33: expected at most 32 columns, got 33");
    expect_open_fail(write_file("hdr.csv", "time,symbol,price,volume\n"),
                     "%s:1:1: expected the columns of ticks or of bars, got both");
}

/* ---- the generator (tools/gen_ticks) ---------------------------------------------- */

static char *slurp(const char *path, size_t *n)
{
    char *p = util_read_file(path, 64u << 20, n);
    if (!p) fail_msg("read %s", path);
    return p;
}

static void test_gen_deterministic(void **s)
{
    size_t n1, n2, n3;
    char *a = slurp(write_generated("g1.csv", 5000, 1, 0), &n1);
    char *b = slurp(write_generated("g2.csv", 5000, 1, 0), &n2);
    char *c = slurp(write_generated("g3.csv", 5000, 2, 0), &n3);
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, n1);
    assert_true(n1 != n3 || memcmp(a, c, n1) != 0);
    /* Pinned: the same bytes on every machine. */
    const char *head = "time,symbol,price,size,bid,ask,bid_size,ask_size\n"
                       "1767623400000,MSFT,308.15,36,308.15,308.18,800,1800\n"
                       "1767623400001,MSFT,308.20,335,308.17,308.20,1200,1800\n"
                       "1767623400002,AAPL,381.17,232,381.17,381.18,1000,1300\n";
    assert_memory_equal(a, head, strlen(head));
    free(a);
    free(b);
    free(c);
}

/* Reads a generated file and checks its records: quotes around every trade. */
static void check_generated(const char *path, uint64_t rows, struct csv_record *first)
{
    struct feed_csv_config c = {&path, 1, 0, 0, 0};
    struct run r;
    memset(&r, 0, sizeof r);
    r.f = feed_csv_open(&c, &r.e);
    if (!r.f) fail_msg("%s", r.e.msg);
    assert_int_equal(feed_csv_nsymbols(r.f), 2);
    run_bind(&r, &cents);
    struct csv_record rec;
    uint64_t n = 0;
    int64_t start = time_ok("2026-01-05T14:30:00Z");
    while ((r.rc = feed_csv_next(r.f, &rec, &r.e)) > 0) {
        if (n == 0) *first = rec;
        assert_int_equal(rec.time_us, start + (int64_t)n * 1000);
        assert_true(rec.has_quote && rec.bid < rec.ask && rec.ask - rec.bid <= 3);
        assert_true(rec.px == rec.bid || rec.px == rec.ask);
        assert_true(rec.qty >= 1 && rec.qty <= 500 && rec.bid_qty % 100 == 0);
        n++;
    }
    assert_int_equal(r.rc, 0);
    assert_int_equal(n, rows);
    run_free(&r);
}

static void test_gen_parses(void **s)
{
    struct csv_record ms, sec, iso, gz;
    check_generated(write_generated("p1.csv", 3000, 5, 0), 3000, &ms);
    check_generated(write_generated("p2.csv.gz", 3000, 5, 1), 3000, &gz);
    struct csv_gen_config c;
    struct err e;
    char *argv[] = {"gen_ticks", (char *)tmp_path("p3.csv"), "--rows", "3000", "--seed=5", "--time",
                    "s"};
    assert_int_equal(csv_gen_args(7, argv, &c, &e), 0);
    assert_int_equal(csv_gen_write(&c, &e), 0);
    check_generated(c.out, 3000, &sec);
    argv[1] = (char *)tmp_path("p4.csv");
    argv[6] = "iso";
    assert_int_equal(csv_gen_args(7, argv, &c, &e), 0);
    assert_int_equal(csv_gen_write(&c, &e), 0);
    check_generated(c.out, 3000, &iso);
    assert_memory_equal(&ms, &gz, sizeof ms);
    assert_memory_equal(&ms, &sec, sizeof ms);
    assert_memory_equal(&ms, &iso, sizeof ms);
}

static void expect_gen_usage(int argc, char **argv, const char *msg)
{
    struct csv_gen_config c;
    struct err e;
    assert_int_equal(csv_gen_args(argc, argv, &c, &e), -1);
    assert_string_equal(e.msg, msg);
}

static void test_gen_args(void **s)
{
    struct csv_gen_config c;
    struct err e;
    char *ok[] = {"gen_ticks",
                  "out.csv",
                  "--rows",
                  "7",
                  "--symbols",
                  "A,B.C,D",
                  "--seed",
                  "0",
                  "--rate=50",
                  "--start",
                  "2026-02-02T10:00:00+01:00",
                  "--time",
                  "iso",
                  "--gzip"};
    assert_int_equal(csv_gen_args(14, ok, &c, &e), 0);
    assert_string_equal(c.out, "out.csv");
    assert_int_equal(c.rows, 7);
    assert_int_equal(c.nsymbols, 3);
    assert_string_equal(c.symbols[1], "B.C");
    assert_int_equal(c.seed, 0);
    assert_int_equal(c.rate, 50);
    assert_int_equal(c.start_us, time_ok("2026-02-02T09:00:00Z"));
    assert_int_equal(c.time, CSV_GEN_ISO);
    assert_true(c.gzip);
    char *defaults[] = {"gen_ticks", "x.csv"};
    assert_int_equal(csv_gen_args(2, defaults, &c, &e), 0);
    assert_int_equal(c.rows, 10000000);
    assert_int_equal(c.seed, 1);
    assert_int_equal(c.rate, 1000);
    assert_int_equal(c.nsymbols, 2);
    assert_int_equal(c.start_us, time_ok("2026-01-05T14:30:00Z"));
    assert_int_equal(c.time, CSV_GEN_MS);
    assert_false(c.gzip);
    char *help[] = {"gen_ticks", "--help"};
    assert_int_equal(csv_gen_args(2, help, &c, &e), 1);
    char *a1[] = {"gen_ticks"};
    expect_gen_usage(1, a1, "expected an output file");
    char *a2[] = {"gen_ticks", "a", "b"};
    expect_gen_usage(3, a2, "expected one output file, got \"a\" and \"b\"");
    char *a3[] = {"gen_ticks", "a", "--rows", "0"};
    expect_gen_usage(4, a3, "--rows: expected a whole number from 1 to 1000000000000, got \"0\"");
    char *a4[] = {"gen_ticks", "a", "--rows", "12x"};
    expect_gen_usage(4, a4, "--rows: expected a whole number from 1 to 1000000000000, got \"12x\"");
    char *a5[] = {"gen_ticks", "a", "--seed", "99999999999999999999"};
    expect_gen_usage(4, a5,
                     "--seed: expected a whole number from 0 to 18446744073709551615, got "
                     "\"99999999999999999999\"");
    char *a6[] = {"gen_ticks", "a", "--rate", "2000000"};
    expect_gen_usage(4, a6, "--rate: expected a whole number from 1 to 1000000, got \"2000000\"");
    char *a7[] = {"gen_ticks", "a", "--symbols", "A,,B"};
    expect_gen_usage(4, a7,
                     "--symbols: expected symbols (1-15 of A-Z a-z 0-9 . _ : / -) "
                     "separated by commas, got \"A,,B\"");
    char *a8[] = {"gen_ticks", "a", "--symbols", "A,B,A"};
    expect_gen_usage(4, a8, "--symbols: A is given twice");
    char *a9[] = {"gen_ticks", "a", "--start", "yesterday"};
    expect_gen_usage(4, a9, "--start: expected an ISO-8601 time from 1970 on, got \"yesterday\"");
    char *a10[] = {"gen_ticks", "a", "--time", "ns"};
    expect_gen_usage(4, a10, "--time: expected ms, s or iso, got \"ns\"");
    char *a11[] = {"gen_ticks", "a", "--bogus", "1"};
    expect_gen_usage(4, a11, "unknown option --bogus");
    char *a12[] = {"gen_ticks", "a", "--rows"};
    expect_gen_usage(3, a12, "--rows: expected a value");
    c.out = "/nonexistent-dir/x.csv";
    assert_int_equal(csv_gen_write(&c, &e), -1);
    assert_string_equal(e.msg, "/nonexistent-dir/x.csv: cannot create: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_iso),
        cmocka_unit_test(test_time_epoch),
        cmocka_unit_test(test_number_units),
        cmocka_unit_test(test_layouts),
        cmocka_unit_test(test_row_fields),
        cmocka_unit_test(test_yahoo),
        cmocka_unit_test(test_alpha_vantage),
        cmocka_unit_test(test_generic_bars),
        cmocka_unit_test(test_generic_ticks),
        cmocka_unit_test(test_grid_rounding),
        cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_symbols),
        cmocka_unit_test(test_merge_ties),
        cmocka_unit_test(test_grouped_file),
        cmocka_unit_test(test_streaming),
        cmocka_unit_test(test_bar_timeframes),
        cmocka_unit_test(test_from_to),
        cmocka_unit_test(test_malformed_ticks),
        cmocka_unit_test(test_malformed_bars),
        cmocka_unit_test(test_skip_bad_counts),
        cmocka_unit_test(test_gen_deterministic),
        cmocka_unit_test(test_gen_parses),
        cmocka_unit_test(test_gen_args),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
