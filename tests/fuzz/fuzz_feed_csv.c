/* fuzz_feed_csv: libFuzzer target for the CSV market-data reader (feed_csv.h) and its
 * pure parsers (feed_csv_parse.h).
 *
 * Input: two option bytes, then the text. Byte 0: bit 0 skip_bad, bit 1 write the
 * file gzip-compressed, bit 2 cut the gzip file short, bit 3 split the text at its
 * first "\n\n\n" into two files, bit 4 a from/to window (bytes from the text's first
 * data row's time); byte 1 picks the instruments' grid.
 *
 * The parsers, on every line of the text, each copied to a buffer of exactly its size
 * (so that ASan sees any read past the line): the first line's layout, then for every
 * other line csv_scan_row, csv_parse_row and csv_row_values. A failure names a column
 * and says "expected"; a success holds the record invariants below; and csv_parse_row's
 * fast path (layouts with fast_from) agrees with its general path on every line.
 *
 * The reader, on the file(s) written to a scratch directory: feed_csv_open either fails
 * with a message naming a file, or every symbol is registered on the grid, bound, and
 * the records read to the end; each must hold, and the feed as a whole:
 *  - times never go back, and stay within [from, to) when a window is set;
 *  - per symbol, times never go back;
 *  - ticks: price > 0 on the tick, size > 0 on the lot; with a quote, 0 < bid <= ask on
 *    the tick, sizes >= 0 on the lot; bars: open, high, low, close > 0 on the tick,
 *    low <= min(open, close), high >= max(open, close), volume >= 0 on the lot, bar.sym
 *    and bar.time_us the record's, a known timeframe; every value below CSV_MAX_UNITS;
 *  - without skip_bad, stats.bad stays 0; stats count the records returned;
 *  - an error (-1) has a message, and the feed is then at its end.
 * ASan (with leak detection) and UBSan catch the rest. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "feed_csv.h"
#include "feed_csv_parse.h"
#include "fuzz_common.h"
#include "log.h"
#include "util.h"

#define MAX_LINES   64
#define MAX_RECORDS 4096

static char dir[64];

static const struct csv_grid grids[] = {
    {2, 1, 0, 1}, {2, 5, 0, 100}, {0, 1, 3, 1}, {4, 25, 8, 10}, {9, 1, 9, 1000}};

static void cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "fuzz_feed_csv: could not remove %s\n", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_stderr(0);
    snprintf(dir, sizeof dir, "/tmp/luatrade-fuzz-feed-csv-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    atexit(cleanup);
    return 0;
}

static int on_grid(int64_t v, int64_t step)
{
    return v % step == 0 && v < CSV_MAX_UNITS && v > -CSV_MAX_UNITS;
}

/* The invariants of one record on grid g (feed_csv.h). */
static void check_record(const struct csv_record *r, const struct csv_grid *g)
{
    if (r->kind == CSV_TICK) {
        CHECK(r->px > 0 && on_grid(r->px, g->tick));
        CHECK(r->qty > 0 && on_grid(r->qty, g->lot));
        if (r->has_quote) {
            CHECK(r->bid > 0 && r->bid <= r->ask);
            CHECK(on_grid(r->bid, g->tick) && on_grid(r->ask, g->tick));
            CHECK(r->bid_qty >= 0 && on_grid(r->bid_qty, g->lot));
            CHECK(r->ask_qty >= 0 && on_grid(r->ask_qty, g->lot));
        } else {
            CHECK(r->bid == 0 && r->ask == 0 && r->bid_qty == 0 && r->ask_qty == 0);
        }
        return;
    }
    const struct bar *b = &r->bar;
    CHECK(r->kind == CSV_BAR);
    CHECK(b->open > 0 && b->high > 0 && b->low > 0 && b->close > 0);
    CHECK(on_grid(b->open, g->tick) && on_grid(b->high, g->tick));
    CHECK(on_grid(b->low, g->tick) && on_grid(b->close, g->tick));
    CHECK(b->low <= MIN(b->open, b->close) && b->high >= MAX(b->open, b->close));
    CHECK(b->volume >= 0 && on_grid(b->volume, g->lot));
    CHECK(b->time_us == r->time_us && b->trades == 0);
}

/* The general path of csv_parse_row (a layout without fast_from) must agree with the
 * fast one: fail when it failed (fast == NULL), else give the same row. */
static void check_general(const struct csv_layout *L, const char *line, size_t len,
                          const struct csv_row *fast)
{
    struct csv_layout G = *L;
    struct csv_row r = {0};
    struct csv_fail fail;
    G.fast_from = 0;
    int ok = csv_parse_row(&G, line, len, &r, &fail) == 0;
    CHECK(ok == (fast != NULL));
    if (!ok) return;
    CHECK(r.time_us == fast->time_us && r.empty == fast->empty && r.sym_len == fast->sym_len);
    CHECK(r.sym_len == 0 || memcmp(r.sym, fast->sym, r.sym_len) == 0);
    for (int i = 0; i < L->ncols; i++) {
        int role = L->role[i];
        if (role < CSV_COL_OPEN) continue;
        CHECK(r.v[role].m == fast->v[role].m && r.v[role].exp == fast->v[role].exp &&
              r.v[role].neg == fast->v[role].neg);
    }
}

/* The pure parsers over each line of text, as a file's lines. */
static void fuzz_lines(const char *text, size_t n, const struct csv_grid *g)
{
    struct csv_layout L;
    struct csv_fail fail;
    int have_layout = 0, lines = 0;
    for (const char *p = text, *end = text + n; p < end && lines < MAX_LINES; lines++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        char *line = xmalloc(len ? len : 1); /* exactly the line: ASan sees overreads */
        memcpy(line, p, len);
        p += len + 1;
        fail.msg[0] = '\0';
        if (!have_layout) {
            if (csv_layout_detect(line, len, &L, &fail) == 0) {
                CHECK(L.ncols >= 1 && L.ncols <= CSV_MAX_COLS && L.col[CSV_COL_TIME] >= 0);
                have_layout = 1;
            } else {
                CHECK(fail.col >= 1 && strncmp(fail.msg, "expected", 8) == 0);
            }
        } else {
            struct csv_row r = {0};
            struct csv_record rec;
            memset(&rec, 0, sizeof rec);
            int scanned = csv_scan_row(&L, line, len, &r, &fail) == 0;
            int64_t t = r.time_us;
            int parsed = csv_parse_row(&L, line, len, &r, &fail) == 0;
            if (L.fast_from) check_general(&L, line, len, parsed ? &r : NULL);
            if (parsed) {
                CHECK(scanned && r.time_us == t && r.time_us <= CSV_MAX_TIME_US);
                if (csv_row_values(&L, line, len, &r, g, &rec, &fail) == 0) {
                    CHECK(rec.kind == L.kind && rec.time_us == r.time_us);
                    check_record(&rec, g);
                } else {
                    CHECK(fail.col >= 1 && fail.col <= L.ncols);
                }
            }
            if (fail.msg[0]) CHECK(fail.col >= 1 && strncmp(fail.msg, "expected", 8) == 0);
        }
        int64_t t, u;
        struct csv_dec d;
        if (csv_parse_time(line, len, &t) == 0) CHECK(t <= CSV_MAX_TIME_US);
        if (csv_parse_number(line, len, &d) == 0 && csv_dec_units(&d, g->px_dp, g->tick, &u) == 0)
            CHECK(on_grid(u, g->tick));
        free(line);
    }
}

static void write_text(const char *path, const char *text, size_t n, int gzip, int cut)
{
    if (!gzip) {
        FILE *fp = fopen(path, "wb");
        CHECK(fp && fwrite(text, 1, n, fp) == n && fclose(fp) == 0);
        return;
    }
    gzFile gz = gzopen(path, "wb1");
    CHECK(gz != NULL);
    CHECK(n == 0 || gzwrite(gz, text, (unsigned)n) == (int)n);
    CHECK(gzclose(gz) == Z_OK);
    if (cut) CHECK(truncate(path, 12 + (off_t)(n % 40)) == 0);
}

/* Reads the feed to its end and checks every record and the whole. */
static void read_feed(struct feed_csv *f, const struct csv_grid *g, int skip_bad, int64_t from,
                      int64_t to)
{
    struct instruments ins = {0};
    struct err e;
    for (int i = 0; i < feed_csv_nsymbols(f); i++) {
        struct instrument in = {
            .px_dp = g->px_dp, .tick = g->tick, .qty_dp = g->qty_dp, .lot = g->lot};
        util_strlcpy(in.symbol, feed_csv_symbol(f, i), sizeof in.symbol);
        CHECK(instrument_symbol_valid(in.symbol));
        CHECK(instruments_add(&ins, &in, &e) == i);
    }
    CHECK(feed_csv_bind(f, &ins, &e) == 0);
    int64_t *last = xmalloc(((size_t)ins.n + 1) * sizeof *last);
    for (int i = 0; i <= ins.n; i++) last[i] = INT64_MIN; /* times may precede 1970 */
    int64_t prev = INT64_MIN;
    uint64_t n = 0;
    struct csv_record r;
    int rc;
    e.msg[0] = '\0';
    while (n < MAX_RECORDS && (rc = feed_csv_next(f, &r, &e)) > 0) {
        CHECK(r.sym >= 0 && r.sym < ins.n);
        CHECK(r.time_us >= prev && r.time_us >= last[r.sym]);
        CHECK((!from || r.time_us >= from) && (!to || r.time_us < to));
        if (r.kind == CSV_BAR) CHECK(r.bar.sym == r.sym && (unsigned)r.bar.tf < TF__COUNT);
        check_record(&r, g);
        prev = last[r.sym] = r.time_us;
        n++;
    }
    if (n < MAX_RECORDS && rc < 0) {
        CHECK(e.msg[0] != '\0' && strncmp(e.msg, dir, strlen(dir)) == 0);
        CHECK(feed_csv_next(f, &r, &e) == 0);
    }
    struct feed_csv_stats st;
    feed_csv_stats(f, &st);
    CHECK(st.ticks + st.bars == n);
    CHECK(skip_bad || st.bad == 0);
    CHECK(st.bad == 0 || strncmp(st.first_bad, dir, strlen(dir)) == 0);
    CHECK(st.bytes_done <= st.bytes_total);
    free(last);
    instruments_free(&ins);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    int flags = data[0];
    const struct csv_grid *g = &grids[data[1] % ARRAY_LEN(grids)];
    const char *text = (const char *)data + 2;
    size_t n = size - 2;
    fuzz_lines(text, n, g);

    char p0[96], p1[96];
    const char *paths[2] = {p0, p1};
    snprintf(p0, sizeof p0, "%s/f0.csv%s", dir, flags & 2 ? ".gz" : "");
    snprintf(p1, sizeof p1, "%s/FUZ.csv", dir);
    size_t n0 = n;
    const char *split = (flags & 8) ? memmem(text, n, "\n\n\n", 3) : NULL;
    if (split) n0 = (size_t)(split - text);
    write_text(p0, text, n0, flags & 2, flags & 4);
    if (split) write_text(p1, split + 3, n - n0 - 3, 0, 0);

    int64_t from = 0, to = 0;
    if (flags & 16) {
        int64_t t;
        const char *nl = memchr(text, '\n', n);
        const char *row = nl ? nl + 1 : text;
        const char *comma = memchr(row, ',', (size_t)(text + n - row));
        if (comma && csv_parse_time(row, (size_t)(comma - row), &t) == 0) {
            from = t + (flags >> 5);
            to = from + (int64_t)(data[1] >> 3) * 1000000;
        }
    }
    struct feed_csv_config c = {paths, split ? 2 : 1, flags & 1, from, to};
    struct err e;
    e.msg[0] = '\0';
    struct feed_csv *f = feed_csv_open(&c, &e);
    if (!f) {
        CHECK(strncmp(e.msg, dir, strlen(dir)) == 0);
        return 0;
    }
    CHECK(feed_csv_first_us(f) <= feed_csv_last_us(f));
    read_feed(f, g, flags & 1, from, to);
    feed_csv_free(f);
    return 0;
}
