/* feed_csv.h: market data from CSV files, for backtests (docs/data.md).
 *
 * Formats, told apart by the header line (or, without one, by the column count and
 * whether column 2 is a symbol): Yahoo Finance daily bars, Alpha Vantage daily and
 * intraday bars, generic bars (time,symbol,open,high,low,close,volume) and generic ticks
 * (time,symbol,price,size[,bid,ask,bid_size,ask_size]). Every file is read through zlib,
 * so .gz files and plain files alike. Times are ISO-8601 or epoch s/ms/µs (UTC unless
 * an offset is given); prices are rounded to the instrument's tick, sizes to its lot.
 *
 * Life cycle: feed_csv_open runs the open pass over every file (format, symbols, time
 * range, whether the file is in time order, the bar timeframe); the caller registers
 * the symbols as instruments and calls feed_csv_bind; feed_csv_next then yields the
 * records of all files merged by time (ties: file order, then line order). Files in
 * time order stream; a file whose rows go back in time across symbols, and any small
 * file, is read whole into memory at the first feed_csv_next, sorted stably by time.
 *
 * Malformed input fails with "FILE:LINE:COLUMN: expected ..., got ..." (1-based line,
 * column = field number), or with skip_bad is skipped and counted. Records hold their
 * invariants: time order per symbol (ticks may repeat a time, bars may not), prices
 * positive multiples of the tick, sizes multiples of the lot (a tick's size > 0, quote
 * sizes and bar volumes >= 0), low <= min(open, close), high >= max(open, close),
 * bid <= ask, every value below CSV_MAX_UNITS; the fields of the other kind (and the
 * quote of a tick without one) are 0. Not thread-safe; one owner. */
#ifndef LUATRADE_FEED_CSV_H
#define LUATRADE_FEED_CSV_H

#include <stdint.h>

#include "err.h"
#include "event.h"
#include "instrument.h"

/* Values stay below 2^53 units: exact as Lua numbers, far from int64 overflow. */
#define CSV_MAX_UNITS (INT64_C(1) << 53)

enum csv_kind { CSV_TICK, CSV_BAR };

struct csv_record {
    enum csv_kind kind;
    int sym;         /* instrument id (after feed_csv_bind) */
    int64_t time_us; /* tick: its time; bar: its open time */
    int64_t px, qty; /* CSV_TICK: trade price and size, instrument units */
    int has_quote;   /* CSV_TICK with bid/ask given */
    int64_t bid, ask, bid_qty, ask_qty;
    struct bar bar; /* CSV_BAR: sym, tf, time_us, open..volume in instrument units, trades 0 */
};

struct feed_csv_config {
    const char *const *paths; /* "PATH" or "SYM=PATH" */
    int npaths;
    int skip_bad;
    int64_t from_us, to_us; /* only rows with from <= time < to; 0 = unbounded */
};

struct feed_csv_stats {
    uint64_t rows;                    /* data lines read (rows beyond `to` counted, not parsed) */
    uint64_t ticks, bars;             /* records returned */
    uint64_t bad;                     /* malformed lines skipped (skip_bad) */
    uint64_t out_of_range;            /* valid-looking rows outside [from, to) */
    uint64_t bytes_done, bytes_total; /* for a progress bar (compressed bytes for .gz) */
    char first_bad[256];              /* the first skipped line's message, "" when none */
};

struct feed_csv;

/* Opens every file and runs the open pass (formats, symbols, time range, order, bar
 * timeframe). Returns NULL with e on no files, a missing/unreadable file, an empty file,
 * an unknown header, an invalid symbol, a bar step that is no timeframe, or (without
 * skip_bad) the first malformed line the pass sees (it parses times and symbols only).
 * c and its strings are copied. */
struct feed_csv *feed_csv_open(const struct feed_csv_config *c, struct err *e);

/* Symbols in first-seen order (files in order, lines in order); the string is owned by f. */
int feed_csv_nsymbols(const struct feed_csv *f);
const char *feed_csv_symbol(const struct feed_csv *f, int i);
/* The first and last time over rows in range; 0 when there is none. */
int64_t feed_csv_first_us(const struct feed_csv *f);
int64_t feed_csv_last_us(const struct feed_csv *f);
int feed_csv_has_bars(const struct feed_csv *f);
int feed_csv_has_ticks(const struct feed_csv *f);

/* Maps symbols to instrument ids and grids; every symbol must be registered. ins must
 * outlive f. Returns 0, or -1 with e naming the first unregistered symbol and its file. */
int feed_csv_bind(struct feed_csv *f, const struct instruments *ins, struct err *e);

/* The next record by time (after feed_csv_bind): 1, 0 at the end (and from then on), -1
 * with e on malformed input (never with skip_bad) or a read error (a truncated .gz file,
 * an I/O error, a line over 1 MiB: with skip_bad too). After -1 the feed is at its end. */
int feed_csv_next(struct feed_csv *f, struct csv_record *out, struct err *e);

void feed_csv_stats(const struct feed_csv *f, struct feed_csv_stats *out);
/* Closes every file and frees f. NULL is a no-op. */
void feed_csv_free(struct feed_csv *f);

#endif
