/* feed_csv.c: the CSV market-data reader and merger behind feed_csv.h.
 *
 * Two passes over every file. The open pass (scan_file) reads each file once, parsing
 * only times and symbols (csv_scan_row): it detects the layout, collects the symbols in
 * first-seen order, the time range of rows in [from, to), whether the file's rows are
 * in time order (`sorted`: over every row with a valid time and symbol), the direction
 * of each symbol's rows (`dir`: -1 for files that run backwards in time, as Alpha
 * Vantage's do), the number of rows at or after `to`, and for bar files the timeframe
 * (the smallest step between consecutive bars of a symbol). The next pass parses every
 * line in full (csv_parse_row, csv_row_values) and is the one that reports and counts
 * malformed lines under skip_bad; without skip_bad the open pass already stops at the
 * malformed times, symbols and time order it sees.
 *
 * Each file is a source of records in time order: a sorted file larger than
 * SMALL_FILE_BYTES streams (its lookahead record in `rec`), any other file is read
 * whole at the first feed_csv_next into `mem`, stably sorted by (time, line) unless
 * already in order. A binary heap keyed by (time, file index) merges the sources; the
 * source that gave the last record is advanced at the start of the next call, so a
 * malformed line is reported in its place in the stream. A sorted file stops at its
 * first row at or after `to` (every later row is too: the open pass said so), counting
 * the rest from the open pass instead of reading it.
 *
 * Symbols: a hash table of 16-byte keys (the symbol's bytes, zero padded, with its
 * length in the last byte), loaded straight from the line buffer (feed_csv_lines.h pads
 * it), and a 16-entry cache per file indexed by the key's hash (no probing), so the
 * common row costs a multiply and two compares.
 *
 * Invariants of a returned record: those of feed_csv.h. Per file and symbol, `st`
 * holds the time and line of the last accepted row; a streamed file's rows must not go
 * back in time at all (a file changed between the passes is an error, not a misorder). */
#include "feed_csv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed_csv_lines.h"
#include "feed_csv_parse.h"
#include "util.h"

#define SMALL_FILE_BYTES (UINT64_C(1) << 20) /* files up to this size are read whole */
#define SYM_HASH_MIN     64                  /* initial hash slots (a power of two) */
#define SYM_CACHE_BITS   4                   /* a file caches 16 symbols */
#define DAY_US           INT64_C(86400000000)
#define KEY_MUL0         UINT64_C(0x9e3779b97f4a7c15)
#define KEY_MUL1         UINT64_C(0xc2b2ae3d27d4eb4f)

/* A file's cache of symbols: a key of zeros never matches (keys hold a length >= 1). */
struct sym_cache {
    uint64_t k0, k1;
    int sym;
};

struct sym_state {
    int64_t last_us;
    uint64_t last_line; /* 0: no row of the symbol yet */
};

/* A record read whole into memory, with its line for the stable sort. */
struct mem_rec {
    struct csv_record rec;
    uint64_t line;
};

struct csv_file {
    char *path;
    int index;     /* file order: breaks ties between files */
    int fixed_sym; /* symbol of a file without a symbol column, else -1 */
    struct csv_layout layout;
    uint64_t header_line; /* 0 without a header */
    uint64_t size;
    /* Found by the open pass. */
    int sorted, dir, memory;
    enum tf tf;
    int64_t min_step_us; /* bars: the smallest step seen, 0 when none */
    uint64_t min_step_line;
    int min_step_sym;
    int all_midnight; /* every bar opens at 00:00 UTC */
    uint64_t data_lines, n_after_to;
    /* Both passes. */
    struct csv_lines lines;
    struct sym_state *st;
    int nst;
    int64_t prev_us; /* the previous row's time (open pass: sortedness; next: guard) */
    int any_row;
    struct sym_cache cache[1 << SYM_CACHE_BITS]; /* recent symbols, by key hash */
    /* The next pass. */
    uint64_t data_seen;
    int done;
    struct csv_record rec; /* streamed files: the lookahead */
    struct mem_rec *mem;
    size_t nmem, imem;
    const struct csv_record *cur; /* the file's next record */
};

struct feed_csv {
    int skip_bad;
    int64_t from_us, to_us;
    struct csv_file *files;
    int nfiles;
    /* Symbols, in first-seen order. */
    char (*names)[SYMBOL_MAX];
    uint64_t (*keys)[2];
    int *first_file;
    int nsym, capsym;
    int *hash; /* symbol index + 1; 0 = empty */
    uint64_t hash_mask;
    /* After feed_csv_bind. */
    int bound;
    int *ins_id;
    struct csv_grid *grid;
    int64_t first_us, last_us;
    int any_in_range, has_bars, has_ticks;
    /* The merge. */
    int started, done, pending;
    struct csv_file **heap;
    int nheap;
    struct feed_csv_stats stats;
};

/* ---- symbols ---------------------------------------------------------------------- */

/* The key of s[0..n), n < SYMBOL_MAX, with 16 bytes readable at s. */
static inline void sym_key(const char *s, size_t n, uint64_t k[2])
{
    uint64_t a, b;
    memcpy(&a, s, 8);
    memcpy(&b, s + 8, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n < 8) a &= (UINT64_C(1) << (8 * n)) - 1, b = 0;
    else b &= (UINT64_C(1) << (8 * (n - 8))) - 1;
    b |= (uint64_t)n << 56;
#else
    if (n < 8) a &= ~(~UINT64_C(0) >> (8 * n)), b = 0;
    else if (n > 8) b &= ~(~UINT64_C(0) >> (8 * (n - 8)));
    else b = 0;
    b |= (uint64_t)n;
#endif
    k[0] = a;
    k[1] = b;
}

static inline uint64_t sym_hash(const uint64_t k[2])
{
    uint64_t h = k[0] * KEY_MUL0 ^ k[1] * KEY_MUL1;
    return h ^ h >> 29;
}

static int sym_find(const struct feed_csv *f, const uint64_t k[2])
{
    if (!f->hash) return -1;
    for (uint64_t i = sym_hash(k) & f->hash_mask;; i = (i + 1) & f->hash_mask) {
        int s = f->hash[i] - 1;
        if (s < 0) return -1;
        if (f->keys[s][0] == k[0] && f->keys[s][1] == k[1]) return s;
    }
}

static void hash_put(struct feed_csv *f, int s)
{
    uint64_t i = sym_hash(f->keys[s]) & f->hash_mask;
    while (f->hash[i]) i = (i + 1) & f->hash_mask;
    f->hash[i] = s + 1;
}

/* Adds the valid symbol name (NUL-padded to SYMBOL_MAX) first seen in file fi. */
static int sym_add(struct feed_csv *f, const char *name, int fi)
{
    if (f->nsym == f->capsym) {
        f->capsym = f->capsym ? 2 * f->capsym : 16;
        f->names = xrealloc(f->names, (size_t)f->capsym * sizeof *f->names);
        f->keys = xrealloc(f->keys, (size_t)f->capsym * sizeof *f->keys);
        f->first_file = xrealloc(f->first_file, (size_t)f->capsym * sizeof *f->first_file);
    }
    int s = f->nsym++;
    memset(f->names[s], 0, SYMBOL_MAX);
    memcpy(f->names[s], name, strlen(name));
    sym_key(f->names[s], strlen(name), f->keys[s]);
    f->first_file[s] = fi;
    if ((uint64_t)f->nsym * 2 > f->hash_mask) { /* keep the table at most half full */
        uint64_t slots = f->hash ? 2 * (f->hash_mask + 1) : SYM_HASH_MIN;
        free(f->hash);
        f->hash = xcalloc(slots, sizeof *f->hash);
        f->hash_mask = slots - 1;
        for (int i = 0; i < f->nsym; i++) hash_put(f, i);
    } else {
        hash_put(f, s);
    }
    return s;
}

static const char symbol_rule[] =
    "(1-15 of A-Z a-z 0-9 . _ : / -, starting with a letter or digit)";

/* row_symbol past the file's cache: a known symbol, or (open pass, `add`) a new one. */
static __attribute__((noinline)) int row_symbol_lookup(struct feed_csv *f, struct csv_file *cf,
                                                       const struct csv_row *r, const uint64_t k[2],
                                                       const char *line, size_t n, int add,
                                                       struct csv_fail *fail)
{
    char name[SYMBOL_MAX];
    int col = cf->layout.col[CSV_COL_SYMBOL];
    int s = sym_find(f, k);
    if (s < 0) {
        memcpy(name, r->sym, r->sym_len);
        name[r->sym_len] = '\0';
        if (!instrument_symbol_valid(name) || strlen(name) != r->sym_len)
            return csv_fail_got(fail, line, n, col, "expected a symbol %s", symbol_rule);
        if (!add)
            return csv_fail_got(fail, line, n, col,
                                "expected a symbol seen when the file was opened (did the file "
                                "change?)");
        if (f->nsym == INSTRUMENTS_MAX)
            return csv_fail_got(fail, line, n, col, "expected at most %d symbols", INSTRUMENTS_MAX);
        s = sym_add(f, name, cf->index);
    }
    struct sym_cache *c = &cf->cache[sym_hash(k) >> (64 - SYM_CACHE_BITS)];
    c->k0 = k[0];
    c->k1 = k[1];
    c->sym = s;
    return s;
}

/* The symbol index of row r of file cf: the file's own symbol, a cached one, or
 * row_symbol_lookup's. -1 with fail on an invalid symbol. */
static inline int row_symbol(struct feed_csv *f, struct csv_file *cf, const struct csv_row *r,
                             const char *line, size_t n, int add, struct csv_fail *fail)
{
    uint64_t k[2];
    if (cf->fixed_sym >= 0) return cf->fixed_sym;
    if (r->sym_len >= SYMBOL_MAX)
        return csv_fail_got(fail, line, n, cf->layout.col[CSV_COL_SYMBOL], "expected a symbol %s",
                            symbol_rule);
    sym_key(r->sym, r->sym_len, k);
    const struct sym_cache *c = &cf->cache[sym_hash(k) >> (64 - SYM_CACHE_BITS)];
    if (c->k0 == k[0] && c->k1 == k[1]) return c->sym;
    return row_symbol_lookup(f, cf, r, k, line, n, add, fail);
}

/* The per-symbol state of file cf for symbol s, grown as symbols appear. */
static struct sym_state *file_state(struct csv_file *cf, int s)
{
    if (s >= cf->nst) {
        int n = MAX(s + 1, 2 * cf->nst);
        cf->st = xrealloc(cf->st, (size_t)n * sizeof *cf->st);
        memset(cf->st + cf->nst, 0, (size_t)(n - cf->nst) * sizeof *cf->st);
        cf->nst = n;
    }
    return &cf->st[s];
}

/* Fails with the time-order message for a row of symbol s going back from st. */
static int order_fail(const struct feed_csv *f, const struct csv_file *cf, int s,
                      const struct sym_state *st, const char *line, size_t n, struct csv_fail *fail)
{
    char when[32];
    int bars = cf->layout.kind == CSV_BAR;
    const char *rel =
        cf->dir < 0 ? (bars ? "before" : "at or before") : (bars ? "after" : "at or after");
    util_iso8601(st->last_us, when, sizeof when);
    return csv_fail_got(fail, line, n, cf->layout.col[CSV_COL_TIME],
                        "expected a time %s %s (line %" PRIu64 ") for %s%s", rel, when,
                        st->last_line, f->names[s],
                        cf->dir < 0 ? " (the file runs backwards in time)" : "");
}

/* 1 when the row at t may follow st in its symbol's order in file cf, else 0 (and the
 * first step of the file decides its direction, in the open pass). */
static int in_order(struct csv_file *cf, const struct sym_state *st, int64_t t)
{
    if (!st->last_line) return 1;
    int64_t d = t - st->last_us;
    if (cf->dir == 0 && d != 0) cf->dir = d > 0 ? 1 : -1;
    if (d == 0) return cf->layout.kind == CSV_TICK;
    return (d > 0) == (cf->dir > 0);
}

static inline int blank(const char *line, size_t n)
{
    if (n && line[0] != ' ' && line[0] != '\t') return 0;
    for (size_t i = 0; i < n; i++)
        if (line[i] != ' ' && line[i] != '\t') return 0;
    return 1;
}

/* ---- the open pass ---------------------------------------------------------------- */

static int line_fail(const struct csv_file *cf, uint64_t lineno, const struct csv_fail *fail,
                     struct err *e)
{
    return err_set(e, "%s:%" PRIu64 ":%d: %s", cf->path, lineno, fail->col, fail->msg);
}

/* Splits "SYM=PATH" (when the part before '=' is a valid symbol) or takes a PATH. */
static void file_init(struct csv_file *cf, const char *arg, int index, char *given)
{
    const char *eq = strchr(arg, '=');
    given[0] = '\0';
    if (eq && eq - arg < SYMBOL_MAX) {
        memcpy(given, arg, (size_t)(eq - arg));
        given[eq - arg] = '\0';
        if (instrument_symbol_valid(given)) arg = eq + 1;
        else given[0] = '\0';
    }
    cf->path = xstrdup(arg);
    cf->index = index;
    cf->fixed_sym = -1;
    cf->sorted = 1;
    cf->all_midnight = 1;
    cf->min_step_sym = -1;
}

/* The symbol of a file without a symbol column: SYM= or the file name's stem. */
static int file_symbol(struct feed_csv *f, struct csv_file *cf, const char *given, struct err *e)
{
    char name[SYMBOL_MAX + 1] = "";
    if (given[0]) {
        util_strlcpy(name, given, sizeof name);
    } else {
        const char *base = strrchr(cf->path, '/') ? strrchr(cf->path, '/') + 1 : cf->path;
        size_t n = strcspn(base, ".");
        if (n < sizeof name) {
            for (size_t i = 0; i < n; i++)
                name[i] = base[i] >= 'a' && base[i] <= 'z' ? (char)(base[i] - 'a' + 'A') : base[i];
            name[n] = '\0';
        }
        if (n >= sizeof name || !instrument_symbol_valid(name))
            return err_set(e,
                           "%s: the file has no symbol column and its name gives no valid "
                           "symbol %s; name it with SYM=PATH, e.g. AAPL=%s",
                           cf->path, symbol_rule, cf->path);
    }
    uint64_t k[2];
    char padded[SYMBOL_MAX] = {0};
    memcpy(padded, name, strlen(name));
    sym_key(padded, strlen(name), k);
    cf->fixed_sym = sym_find(f, k);
    if (cf->fixed_sym < 0) {
        if (f->nsym == INSTRUMENTS_MAX)
            return err_set(e, "%s: expected at most %d symbols", cf->path, INSTRUMENTS_MAX);
        cf->fixed_sym = sym_add(f, name, cf->index);
    }
    return 0;
}

/* The open pass over one data row of cf: its time and symbol. */
static int scan_row(struct feed_csv *f, struct csv_file *cf, const char *line, size_t n,
                    struct err *e)
{
    struct csv_row r;
    struct csv_fail fail;
    uint64_t lineno = cf->lines.line;
    int s;
    if (csv_scan_row(&cf->layout, line, n, &r, &fail) < 0 ||
        (s = row_symbol(f, cf, &r, line, n, 1, &fail)) < 0)
        return f->skip_bad ? 0 : line_fail(cf, lineno, &fail, e);
    int64_t t = r.time_us;
    if (cf->any_row && t < cf->prev_us) cf->sorted = 0;
    cf->prev_us = t;
    cf->any_row = 1;
    struct sym_state *st = file_state(cf, s);
    if (!in_order(cf, st, t)) {
        if (f->skip_bad) return 0;
        order_fail(f, cf, s, st, line, n, &fail);
        return line_fail(cf, lineno, &fail, e);
    }
    if (cf->layout.kind == CSV_BAR) {
        int64_t step = st->last_line ? (t > st->last_us ? t - st->last_us : st->last_us - t) : 0;
        if (step && (!cf->min_step_us || step < cf->min_step_us)) {
            cf->min_step_us = step;
            cf->min_step_line = lineno;
            cf->min_step_sym = s;
        }
        if (t % DAY_US) cf->all_midnight = 0;
    }
    st->last_us = t;
    st->last_line = lineno;
    if (f->to_us && t >= f->to_us) {
        cf->n_after_to++;
    } else if (!f->from_us || t >= f->from_us) {
        if (!f->any_in_range || t < f->first_us) f->first_us = t;
        if (!f->any_in_range || t > f->last_us) f->last_us = t;
        f->any_in_range = 1;
    }
    return 0;
}

/* Writes a step as "7d", "2h30m", "90s" or "0.5s". */
static void format_step(int64_t us, char *buf, size_t n)
{
    static const struct {
        int64_t us;
        char unit;
    } units[] = {{DAY_US, 'd'},
                 {INT64_C(3600000000), 'h'},
                 {INT64_C(60000000), 'm'},
                 {INT64_C(1000000), 's'}};
    size_t o = 0;
    if (us % 1000000) {
        snprintf(buf, n, "%.6gs", (double)us / 1e6);
        return;
    }
    buf[0] = '\0';
    for (size_t i = 0; i < ARRAY_LEN(units) && o < n; i++) {
        if (us >= units[i].us) {
            o += (size_t)snprintf(buf + o, n - o, "%" PRId64 "%c", us / units[i].us, units[i].unit);
            us %= units[i].us;
        }
    }
}

/* The bar timeframe of cf from its smallest step. */
static int file_timeframe(const struct feed_csv *f, struct csv_file *cf, struct err *e)
{
    char step[48];
    if (!cf->min_step_us) {
        if (!cf->all_midnight)
            return err_set(e,
                           "%s: cannot tell the bar timeframe: no symbol has two bars and not "
                           "every bar opens at midnight UTC (daily)",
                           cf->path);
        cf->tf = TF_1D;
        return 0;
    }
    for (int tf = 0; tf < TF__COUNT; tf++) {
        if (tf_us((enum tf)tf) == cf->min_step_us) {
            cf->tf = (enum tf)tf;
            return 0;
        }
    }
    format_step(cf->min_step_us, step, sizeof step);
    return err_set(e,
                   "%s:%" PRIu64 ": expected bars 1s, 1m, 5m, 15m, 1h or 1d apart (the smallest "
                   "step between two bars of a symbol), got %s (%s)",
                   cf->path, cf->min_step_line, step, f->names[cf->min_step_sym]);
}

/* Reads the first non-blank line of cf and detects the layout (and the file's symbol).
 * 1 when the line is a data row, 0 when it was the header, -1 with e. */
static int file_detect(struct feed_csv *f, struct csv_file *cf, const char *given, const char *line,
                       size_t n, struct err *e)
{
    struct csv_fail fail;
    if (csv_layout_detect(line, n, &cf->layout, &fail) < 0)
        return line_fail(cf, cf->lines.line, &fail, e);
    cf->header_line = cf->layout.has_header ? cf->lines.line : 0;
    if (cf->layout.col[CSV_COL_SYMBOL] >= 0 && given[0])
        return err_set(e,
                       "%s: the file has a symbol column; SYM=PATH names the symbol of a file "
                       "without one",
                       cf->path);
    if (cf->layout.col[CSV_COL_SYMBOL] < 0 && file_symbol(f, cf, given, e) < 0) return -1;
    if (cf->layout.kind == CSV_BAR) f->has_bars = 1;
    else f->has_ticks = 1;
    return !cf->layout.has_header;
}

static int scan_file(struct feed_csv *f, struct csv_file *cf, const char *given, struct err *e)
{
    const char *line;
    size_t n;
    int rc, detected = 0;
    if (csv_lines_open(&cf->lines, cf->path, e) < 0) return -1;
    cf->size = cf->lines.size;
    while ((rc = csv_lines_next(&cf->lines, &line, &n, e)) > 0) {
        if (blank(line, n)) continue;
        if (!detected) {
            detected = 1;
            if ((rc = file_detect(f, cf, given, line, n, e)) <= 0) {
                if (rc < 0) break;
                continue;
            }
        }
        cf->data_lines++;
        if ((rc = scan_row(f, cf, line, n, e)) < 0) break;
    }
    csv_lines_close(&cf->lines);
    if (rc < 0) return -1;
    if (!detected) return err_set(e, "%s: expected a header or data, got an empty file", cf->path);
    if (cf->layout.kind == CSV_BAR && file_timeframe(f, cf, e) < 0) return -1;
    if (cf->dir == 0) cf->dir = 1;
    cf->memory = !cf->sorted || cf->size <= SMALL_FILE_BYTES;
    return 0;
}

/* ---- the next pass ---------------------------------------------------------------- */

/* A malformed line: the error, or with skip_bad counted (and the first kept). 0 or -1. */
static int bad_line(struct feed_csv *f, const struct csv_file *cf, uint64_t lineno,
                    const struct csv_fail *fail, struct err *e)
{
    if (!f->skip_bad) return line_fail(cf, lineno, fail, e);
    if (f->stats.bad++ == 0)
        snprintf(f->stats.first_bad, sizeof f->stats.first_bad, "%s:%" PRIu64 ":%d: %s", cf->path,
                 lineno, fail->col, fail->msg);
    return 0;
}

/* Ends a sorted file at its first row at or after `to`: the rest is counted, not read. */
static void file_stop(struct feed_csv *f, struct csv_file *cf)
{
    f->stats.rows += cf->data_lines - cf->data_seen;
    f->stats.out_of_range += cf->n_after_to;
    cf->done = 1;
}

enum { ROW_SKIPPED, ROW_RECORD, ROW_STOP };

/* Parses one data line of cf into rec: ROW_RECORD, ROW_SKIPPED (malformed under
 * skip_bad, or out of range), ROW_STOP (a sorted file past `to`) or -1 with e. */
static int row_record(struct feed_csv *f, struct csv_file *cf, const char *line, size_t n,
                      struct csv_record *rec, struct err *e)
{
    struct csv_row r;
    struct csv_fail fail;
    uint64_t lineno = cf->lines.line;
    int s;
    if (csv_parse_row(&cf->layout, line, n, &r, &fail) < 0 ||
        (s = row_symbol(f, cf, &r, line, n, 0, &fail)) < 0)
        return bad_line(f, cf, lineno, &fail, e);
    int64_t t = r.time_us;
    if (cf->sorted && cf->any_row && t < cf->prev_us)
        return err_set(e,
                       "%s:%" PRIu64 ": the rows are no longer in time order (did the file "
                       "change after it was opened?)",
                       cf->path, lineno);
    cf->prev_us = t;
    cf->any_row = 1;
    struct sym_state *st = &cf->st[s];
    if (!in_order(cf, st, t)) {
        order_fail(f, cf, s, st, line, n, &fail);
        return bad_line(f, cf, lineno, &fail, e);
    }
    if ((f->from_us && t < f->from_us) || (f->to_us && t >= f->to_us)) {
        if (cf->sorted && f->to_us && t >= f->to_us) return ROW_STOP;
        st->last_us = t;
        st->last_line = lineno;
        f->stats.out_of_range++;
        return ROW_SKIPPED;
    }
    if (csv_row_values(&cf->layout, line, n, &r, &f->grid[s], rec, &fail) < 0)
        return bad_line(f, cf, lineno, &fail, e);
    st->last_us = t;
    st->last_line = lineno;
    rec->sym = f->ins_id[s];
    if (rec->kind == CSV_BAR) {
        rec->bar.sym = rec->sym;
        rec->bar.tf = cf->tf;
    }
    return ROW_RECORD;
}

/* Reads cf up to its next record: 1, 0 at its end, -1 with e. */
static int file_read(struct feed_csv *f, struct csv_file *cf, struct csv_record *rec, struct err *e)
{
    const char *line;
    size_t n;
    int rc;
    if (cf->done) return 0;
    while ((rc = csv_lines_next(&cf->lines, &line, &n, e)) > 0) {
        if (cf->lines.line == cf->header_line || blank(line, n)) continue;
        f->stats.rows++;
        cf->data_seen++;
        rc = row_record(f, cf, line, n, rec, e);
        if (rc == ROW_RECORD) return 1;
        if (rc < 0) return -1;
        if (rc == ROW_STOP) {
            file_stop(f, cf);
            break;
        }
    }
    if (rc < 0) return -1;
    cf->done = 1;
    csv_lines_close(&cf->lines);
    return 0;
}

static int mem_cmp(const void *a, const void *b)
{
    const struct mem_rec *x = a, *y = b;
    if (x->rec.time_us != y->rec.time_us) return x->rec.time_us < y->rec.time_us ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* Reads all of cf into memory, sorted by (time, line). */
static int file_load(struct feed_csv *f, struct csv_file *cf, struct err *e)
{
    struct csv_record rec;
    memset(&rec, 0, sizeof rec); /* the fields of the other kind stay 0, as when streamed */
    size_t cap = 0;
    int rc;
    while ((rc = file_read(f, cf, &rec, e)) > 0) {
        if (cf->nmem == cap) {
            cap = cap ? 2 * cap : 256;
            cf->mem = xrealloc(cf->mem, cap * sizeof *cf->mem);
        }
        cf->mem[cf->nmem].rec = rec;
        cf->mem[cf->nmem++].line = cf->lines.line;
    }
    if (rc < 0) return -1;
    if (!cf->sorted && cf->nmem > 1) qsort(cf->mem, cf->nmem, sizeof *cf->mem, mem_cmp);
    return 0;
}

/* Moves cf to its next record (cf->cur): 1, 0 at its end, -1 with e. */
static int file_advance(struct feed_csv *f, struct csv_file *cf, struct err *e)
{
    if (cf->memory) {
        if (cf->imem == cf->nmem) return 0;
        cf->cur = &cf->mem[cf->imem++].rec;
        return 1;
    }
    int rc = file_read(f, cf, &cf->rec, e);
    cf->cur = rc > 0 ? &cf->rec : NULL;
    return rc;
}

/* Opens cf for the next pass (and reads it whole when it is a memory file). */
static int file_start(struct feed_csv *f, struct csv_file *cf, struct err *e)
{
    file_state(cf, f->nsym > 0 ? f->nsym - 1 : 0); /* allocated, for every symbol */
    memset(cf->st, 0, (size_t)cf->nst * sizeof *cf->st);
    cf->any_row = 0;
    if (csv_lines_open(&cf->lines, cf->path, e) < 0) return -1;
    if (cf->lines.size != cf->size)
        return err_set(e, "%s: the file changed after it was opened", cf->path);
    return cf->memory ? file_load(f, cf, e) : 0;
}

/* ---- the merge -------------------------------------------------------------------- */

static int heap_less(const struct csv_file *a, const struct csv_file *b)
{
    if (a->cur->time_us != b->cur->time_us) return a->cur->time_us < b->cur->time_us;
    return a->index < b->index;
}

static void heap_down(struct feed_csv *f, int i)
{
    struct csv_file **h = f->heap;
    for (;;) {
        int l = 2 * i + 1, m = i;
        if (l < f->nheap && heap_less(h[l], h[m])) m = l;
        if (l + 1 < f->nheap && heap_less(h[l + 1], h[m])) m = l + 1;
        if (m == i) return;
        struct csv_file *t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static int merge_start(struct feed_csv *f, struct err *e)
{
    f->started = 1;
    f->heap = xcalloc((size_t)f->nfiles, sizeof *f->heap);
    for (int i = 0; i < f->nfiles; i++)
        if (file_start(f, &f->files[i], e) < 0) return -1;
    for (int i = 0; i < f->nfiles; i++) {
        int rc = file_advance(f, &f->files[i], e);
        if (rc < 0) return -1;
        if (rc > 0) f->heap[f->nheap++] = &f->files[i];
    }
    for (int i = f->nheap / 2 - 1; i >= 0; i--) heap_down(f, i);
    return 0;
}

/* Advances the source of the last record and restores the heap. */
static int merge_advance(struct feed_csv *f, struct err *e)
{
    int rc = file_advance(f, f->heap[0], e);
    if (rc < 0) return -1;
    if (rc == 0) f->heap[0] = f->heap[--f->nheap];
    heap_down(f, 0);
    return 0;
}

static void files_close(struct feed_csv *f)
{
    for (int i = 0; i < f->nfiles; i++) {
        csv_lines_close(&f->files[i].lines);
        f->files[i].done = 1;
    }
}

/* ---- the API ---------------------------------------------------------------------- */

struct feed_csv *feed_csv_open(const struct feed_csv_config *c, struct err *e)
{
    char given[SYMBOL_MAX];
    if (c->npaths <= 0) {
        err_set(e, "no data files");
        return NULL;
    }
    struct feed_csv *f = xcalloc(1, sizeof *f);
    f->skip_bad = c->skip_bad;
    f->from_us = c->from_us;
    f->to_us = c->to_us;
    f->files = xcalloc((size_t)c->npaths, sizeof *f->files);
    for (int i = 0; i < c->npaths; i++) {
        struct csv_file *cf = &f->files[f->nfiles++];
        file_init(cf, c->paths[i], i, given);
        if (scan_file(f, cf, given, e) < 0) {
            feed_csv_free(f);
            return NULL;
        }
        f->stats.bytes_total += cf->size;
    }
    return f;
}

int feed_csv_nsymbols(const struct feed_csv *f)
{
    return f->nsym;
}

const char *feed_csv_symbol(const struct feed_csv *f, int i)
{
    ASSERT(i >= 0 && i < f->nsym);
    return f->names[i];
}

int64_t feed_csv_first_us(const struct feed_csv *f)
{
    return f->any_in_range ? f->first_us : 0;
}

int64_t feed_csv_last_us(const struct feed_csv *f)
{
    return f->any_in_range ? f->last_us : 0;
}

int feed_csv_has_bars(const struct feed_csv *f)
{
    return f->has_bars;
}

int feed_csv_has_ticks(const struct feed_csv *f)
{
    return f->has_ticks;
}

int feed_csv_bind(struct feed_csv *f, const struct instruments *ins, struct err *e)
{
    ASSERT(!f->started);
    free(f->ins_id);
    free(f->grid);
    f->ins_id = xcalloc((size_t)MAX(f->nsym, 1), sizeof *f->ins_id);
    f->grid = xcalloc((size_t)MAX(f->nsym, 1), sizeof *f->grid);
    f->bound = 0;
    for (int s = 0; s < f->nsym; s++) {
        int id = instruments_find(ins, f->names[s]);
        if (id < 0)
            return err_set(e, "%s: symbol %s is not a registered instrument",
                           f->files[f->first_file[s]].path, f->names[s]);
        const struct instrument *in = &ins->v[id];
        f->ins_id[s] = id;
        f->grid[s] = (struct csv_grid){in->px_dp, in->tick, in->qty_dp, in->lot};
    }
    f->bound = 1;
    return 0;
}

int feed_csv_next(struct feed_csv *f, struct csv_record *out, struct err *e)
{
    ASSERT(f->bound);
    if (f->done) return 0;
    if (!f->started ? merge_start(f, e) < 0 : f->pending && merge_advance(f, e) < 0) {
        f->done = 1;
        files_close(f);
        return -1;
    }
    if (f->nheap == 0) {
        f->done = 1;
        return 0;
    }
    *out = *f->heap[0]->cur;
    f->pending = 1;
    if (out->kind == CSV_BAR) f->stats.bars++;
    else f->stats.ticks++;
    return 1;
}

void feed_csv_stats(const struct feed_csv *f, struct feed_csv_stats *out)
{
    *out = f->stats;
    out->bytes_done = 0;
    for (int i = 0; i < f->nfiles; i++) {
        const struct csv_file *cf = &f->files[i];
        if (cf->done) out->bytes_done += cf->size;
        else if (f->started) out->bytes_done += MIN(cf->lines.offset, cf->size);
    }
}

void feed_csv_free(struct feed_csv *f)
{
    if (!f) return;
    for (int i = 0; i < f->nfiles; i++) {
        struct csv_file *cf = &f->files[i];
        csv_lines_close(&cf->lines);
        free(cf->path);
        free(cf->st);
        free(cf->mem);
    }
    free(f->files);
    free(f->names);
    free(f->keys);
    free(f->first_file);
    free(f->hash);
    free(f->ins_id);
    free(f->grid);
    free(f->heap);
    free(f);
}
