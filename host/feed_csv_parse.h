/* feed_csv_parse.h: the pure parsers behind feed_csv (bytes in, struct out; no I/O, no
 * allocation, no locale): times, decimal numbers, the header or first line that tells a
 * file's layout, and one data line. feed_csv.c drives them per line; the unit tests and
 * fuzz_feed_csv call them directly.
 *
 * A line is parsed in two steps, because the numbers' grid depends on the symbol read
 * from the same line: csv_parse_row checks the syntax (column count, time, numbers as
 * exact decimals), the caller resolves the symbol to its grid, and csv_row_values
 * rounds the decimals to that grid and checks the values (positive prices, OHLC
 * consistency, bid <= ask). Failures fill a struct csv_fail with the 1-based column and
 * "expected ..., got ..." for the caller to prefix with FILE:LINE:. */
#ifndef LUATRADE_FEED_CSV_PARSE_H
#define LUATRADE_FEED_CSV_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "feed_csv.h"

#define CSV_MAX_COLS 32
/* 9999-12-31T23:59:59.999999Z: later times (nanosecond epochs among them) are refused. */
#define CSV_MAX_TIME_US (INT64_C(253402300800000000) - 1)

/* What a column holds. */
enum csv_col {
    CSV_COL_IGNORE, /* read over, never parsed (Yahoo's Adj Close) */
    CSV_COL_TIME,
    CSV_COL_SYMBOL,
    CSV_COL_OPEN,
    CSV_COL_HIGH,
    CSV_COL_LOW,
    CSV_COL_CLOSE,
    CSV_COL_VOLUME,
    CSV_COL_PRICE,
    CSV_COL_SIZE,
    CSV_COL_BID,
    CSV_COL_ASK,
    CSV_COL_BID_SIZE,
    CSV_COL_ASK_SIZE,
    CSV_COL__COUNT
};

struct csv_layout {
    enum csv_kind kind;
    int has_header; /* the line csv_layout_detect saw was a header (not data) */
    int has_quote;  /* CSV_TICK with the four quote columns */
    int ncols;
    int fast_from; /* > 0: a time, maybe a symbol, then numbers from this column (the
                    * layouts csv_parse_row has a fast path for); 0: any other */
    signed char col[CSV_COL__COUNT]; /* 0-based column of each role, -1 when absent */
    unsigned char role[CSV_MAX_COLS];
};

/* An exact decimal: (neg ? -1 : 1) * m * 10^exp. Digits past the 19th significant one
 * are dropped (below 1e-18 relative: they never change a price on a grid). */
struct csv_dec {
    uint64_t m;
    int32_t exp;
    int neg;
};

struct csv_row {
    int64_t time_us;
    const char *sym; /* slice of the line; NULL (and 0) without a symbol column */
    size_t sym_len;
    struct csv_dec v[CSV_COL__COUNT]; /* the numbers, by role */
    unsigned empty;                   /* bit per role: an empty quote column */
};

/* The grid of one symbol: prices in 10^-px_dp units on multiples of tick, sizes in
 * 10^-qty_dp units on multiples of lot (instrument.h). */
struct csv_grid {
    int px_dp;
    int64_t tick;
    int qty_dp;
    int64_t lot;
};

struct csv_fail {
    int col; /* 1-based */
    char msg[320];
};

/* The name of a role as messages and docs use it ("price", "bid_size"). */
const char *csv_col_name(enum csv_col c);

/* Fills f with column col + 1 (col is 0-based) and "<fmt...>, got "<that column's
 * text>"" (trimmed, escaped, cut short). Returns -1. */
int csv_fail_got(struct csv_fail *f, const char *line, size_t n, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Parses the whole of s[0..n) as a time: ISO-8601 (2024-01-05, 2024-01-05 14:30,
 * 2024-01-05T14:30:00.123456Z, offsets Z, +02, +02:00, -0500; no zone = UTC; fractions
 * past µs truncated) or epoch seconds, milliseconds or microseconds by magnitude (< 1e11
 * s, < 1e14 ms, else µs), integer or with a fraction. Into epoch µs. 0, or -1 when
 * malformed or past CSV_MAX_TIME_US. */
int csv_parse_time(const char *s, size_t n, int64_t *out_us);

/* Parses the whole of s[0..n) as [+-]digits[.digits][(e|E)[+-]digits] (at least one
 * mantissa digit; no nan, inf, spaces, or empty). 0, or -1. */
int csv_parse_number(const char *s, size_t n, struct csv_dec *out);

/* d in units of 10^-dp, rounded half away from zero to a multiple of step (> 0). 0, or
 * -1 when the magnitude reaches CSV_MAX_UNITS. */
int csv_dec_units(const struct csv_dec *d, int dp, int64_t step, int64_t *out);

/* Tells the layout from the first non-blank line of a file (a header when its first
 * field starts with a letter, else a data row told by its column count and whether
 * column 2 is a number). 0, or -1 with fail: an unknown or repeated column name, a
 * header without the columns of either kind, an unknown headerless row. */
int csv_layout_detect(const char *line, size_t n, struct csv_layout *L, struct csv_fail *fail);

/* Parses only the time and the symbol of a data line (the open pass). 0, or -1. */
int csv_scan_row(const struct csv_layout *L, const char *line, size_t n, struct csv_row *r,
                 struct csv_fail *fail);

/* Parses the syntax of a whole data line: the column count, the time, the symbol slice
 * (not checked: the caller looks it up) and every number as a csv_dec. 0, or -1. */
int csv_parse_row(const struct csv_layout *L, const char *line, size_t n, struct csv_row *r,
                  struct csv_fail *fail);

/* Rounds r's numbers to g and checks them, filling out's kind, time and values (not
 * sym, bar.sym or bar.tf). line is r's line, quoted in messages. 0, or -1. */
int csv_row_values(const struct csv_layout *L, const char *line, size_t n, const struct csv_row *r,
                   const struct csv_grid *g, struct csv_record *out, struct csv_fail *fail);

/* Helpers the two parser files share (feed_csv_layout.c), for slow paths and messages. */

/* The end of the field starting at p: the next ',' outside double quotes, or end. */
const char *csv_field_end(const char *p, const char *end);
/* The text of the field [p, fe): without surrounding blanks and one pair of quotes. */
void csv_field_text(const char *p, const char *fe, const char **s, size_t *n);
/* Appends s[0..n) to buf (NUL-terminated) in quotes, escaped and cut short. */
void csv_quote_text(char *buf, size_t size, const char *s, size_t n);
/* Fills f with col (1-based) and the message. Returns -1. */
int csv_fail_set(struct csv_fail *f, int col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Fails with "expected N columns, got M" when the line's count is not L's; else 0. */
int csv_check_count(const struct csv_layout *L, const char *line, size_t n, struct csv_fail *fail);

#endif
