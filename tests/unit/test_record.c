/* Unit tests for record (the recorder and replay), on real files in a mkdtemp directory:
 * a round trip of quotes, trades and markers with every field equal (grid and off-grid
 * values, int64 extremes, n jumps, symbol indices past the tag's seven, equal and large
 * time steps); a clock stepped back; unknown symbols dropped; rotation across midnight
 * UTC; recordings restarted the same day (the earlier file untouched, DATE.ltr before
 * DATE.1.ltr before DATE.10.ltr); several files and a directory merged by symbol, and a
 * symbol with two grids refused; a torn tail at every length and a zero-filled tail;
 * corrupt bytes (a flipped bit in every byte of a block, a bad record under a valid
 * checksum, bad magic, unsupported version, files out of time order) with the offset; a
 * write that fails (RLIMIT_FSIZE); and the sim feed's events (feed_sim.h) with the bytes
 * they take. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "feed_sim.h"
#include "log.h"
#include "record.h"
#include "record_internal.h"
#include "util.h"

#define T0    INT64_C(1767625200000000) /* 2026-01-05T15:00:00Z */
#define DAY   INT64_C(86400000000)
#define MAXIT 4096
#define SEED  1234
#define DAY5  "2026-01-05"
#define SIM_N 200000

static char dir[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    return remove(path);
}

static int setup(void **state)
{
    log_set_stderr(0);
    strcpy(dir, "/tmp/luatrade-record-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *path_in(const char *name)
{
    static char p[2][256];
    static int k;
    k ^= 1;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

/* Registers symbols with grids: px_dp 2 tick 1, qty_dp 0 lot 1 unless given. */
static void add(struct instruments *ins, const char *sym, int px_dp, int64_t tick, int qty_dp,
                int64_t lot)
{
    struct instrument in = {.px_dp = px_dp, .tick = tick, .qty_dp = qty_dp, .lot = lot};
    util_strlcpy(in.symbol, sym, sizeof in.symbol);
    struct err e;
    if (instruments_add(ins, &in, &e) < 0) fail_msg("%s", e.msg);
}

static struct replay_item quote(int sym, int64_t ts, int64_t bid, int64_t ask, int64_t bq,
                                int64_t aq, uint64_t n)
{
    struct replay_item it = {.kind = REPLAY_MARKET, .ts_us = ts};
    it.ev.type = EV_MARKET_DATA;
    it.ev.md_kind = MD_QUOTE;
    it.ev.ts_us = ts;
    it.ev.u.quote = (struct quote){sym, bid, ask, bq, aq, n};
    return it;
}

static struct replay_item trade(int sym, int64_t ts, int64_t px, int64_t qty, uint64_t n)
{
    struct replay_item it = {.kind = REPLAY_MARKET, .ts_us = ts};
    it.ev.type = EV_MARKET_DATA;
    it.ev.md_kind = MD_TRADE;
    it.ev.ts_us = ts;
    it.ev.u.trade = (struct trade){sym, px, qty, n};
    return it;
}

static struct replay_item timers(int64_t ts)
{
    return (struct replay_item){.kind = REPLAY_TIMERS, .ts_us = ts};
}

static struct recorder *open_rec(const struct instruments *ins, int64_t start)
{
    struct err e;
    struct recorder *r = recorder_open(dir, ins, SEED, start, &e);
    if (!r) fail_msg("recorder_open: %s", e.msg);
    return r;
}

static void put(struct recorder *r, const struct replay_item *it)
{
    if (it->kind == REPLAY_TIMERS) recorder_timers(r, it->ts_us);
    else recorder_market(r, &it->ev);
}

static void record_items(const struct instruments *ins, int64_t start, const struct replay_item *v,
                         int n)
{
    struct recorder *r = open_rec(ins, start);
    for (int i = 0; i < n; i++) put(r, &v[i]);
    recorder_close(r);
}

static void item_equal(const struct replay_item *want, const struct replay_item *got, int i)
{
    if (want->kind != got->kind || want->ts_us != got->ts_us)
        fail_msg("item %d: kind %d/%d ts %lld/%lld", i, want->kind, got->kind,
                 (long long)want->ts_us, (long long)got->ts_us);
    if (want->kind == REPLAY_TIMERS) return;
    const struct event *w = &want->ev, *g = &got->ev;
    assert_int_equal(g->type, EV_MARKET_DATA);
    assert_int_equal(g->seq, 0);
    assert_int_equal(g->ts_us, want->ts_us);
    assert_string_equal(g->source, "replay");
    assert_int_equal(g->md_kind, w->md_kind);
    if (w->md_kind == MD_QUOTE) {
        const struct quote *a = &w->u.quote, *b = &g->u.quote;
        if (a->sym != b->sym || a->bid_px != b->bid_px || a->ask_px != b->ask_px ||
            a->bid_qty != b->bid_qty || a->ask_qty != b->ask_qty || a->n != b->n)
            fail_msg("item %d: quote %d %lld %lld %lld %lld %llu, got %d %lld %lld %lld %lld %llu",
                     i, a->sym, (long long)a->bid_px, (long long)a->ask_px, (long long)a->bid_qty,
                     (long long)a->ask_qty, (unsigned long long)a->n, b->sym, (long long)b->bid_px,
                     (long long)b->ask_px, (long long)b->bid_qty, (long long)b->ask_qty,
                     (unsigned long long)b->n);
    } else {
        const struct trade *a = &w->u.trade, *b = &g->u.trade;
        if (a->sym != b->sym || a->px != b->px || a->qty != b->qty || a->n != b->n)
            fail_msg("item %d: trade %d %lld %lld %llu, got %d %lld %lld %llu", i, a->sym,
                     (long long)a->px, (long long)a->qty, (unsigned long long)a->n, b->sym,
                     (long long)b->px, (long long)b->qty, (unsigned long long)b->n);
    }
}

/* Replays paths into got (at most MAXIT); returns replay_next's last result. */
static int replay_all(const char *const *paths, int npaths, struct replay_item *got, int *n,
                      struct replay_stats *st, struct err *e)
{
    struct replay *p = replay_open(paths, npaths, e);
    if (!p) fail_msg("replay_open: %s", e->msg);
    int rc;
    *n = 0;
    while ((rc = replay_next(p, &got[*n], e)) == 1) assert_true(++*n < MAXIT);
    if (st) replay_stats(p, st);
    replay_free(p);
    return rc;
}

static void expect_replay(const char *const *paths, int npaths, const struct replay_item *want,
                          int n)
{
    static struct replay_item got[MAXIT];
    struct err e;
    int k;
    if (replay_all(paths, npaths, got, &k, NULL, &e) != 0) fail_msg("replay_next: %s", e.msg);
    assert_int_equal(k, n);
    for (int i = 0; i < n; i++) item_equal(&want[i], &got[i], i);
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static uint8_t *slurp(const char *path, size_t *n)
{
    char *p = util_read_file(path, 64 << 20, n);
    if (!p) fail_msg("%s: %s", path, strerror(errno));
    return (uint8_t *)p;
}

static void spit(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* ---- round trip ----------------------------------------------------------------------- */

static int nine_symbols(struct instruments *ins)
{
    static const char *syms[] = {"S0", "S1", "S2", "S3", "S4", "S5", "S6", "S7", "BIG"};
    for (int i = 0; i < 8; i++) add(ins, syms[i], 2, 1, 0, 1);
    add(ins, syms[8], 4, 5, 3, 100); /* tick 0.0005, lot 0.1 */
    return ins->n;
}

static void test_round_trip(void **state)
{
    struct instruments ins = {0};
    nine_symbols(&ins);
    struct replay_item v[] = {
        quote(0, T0, 19000, 19001, 100, 200, 1),
        trade(0, T0, 19001, 5, 1),
        timers(T0),
        quote(0, T0 + 1, 18999, 19002, 100, 300, 2),
        timers(T0 + 1000000),
        quote(7, T0 + 1000000, 500, 501, 1, 1, 1),         /* index 7: escaped */
        quote(8, T0 + 1000001, 10005, 10010, 300, 500, 1), /* on BIG's grid */
        quote(8, T0 + 1000002, 10006, 10010, 300, 500, 2), /* off its tick: RAW */
        trade(8, T0 + 1000002, 10010, 250, 1),             /* off its lot: RAW */
        trade(8, T0 + 1000003, 10015, 300, 2),
        trade(1, T0 + 1000004, INT64_MAX, INT64_MIN, 7), /* n jumps */
        trade(1, T0 + 1000004, INT64_MIN, INT64_MAX, 3), /* and goes back */
        quote(1, T0 + 1000005, -5, INT64_MAX, 0, -1, 0),
        quote(1, T0 + 1000005, INT64_MIN, INT64_MIN, INT64_MAX, INT64_MIN, UINT64_MAX),
        quote(1, T0 + 1000006, 0, 0, 0, 0, 0),                     /* n wraps to 0 */
        quote(6, T0 + 8 * 3600 * INT64_C(1000000), 1, 2, 3, 4, 1), /* hours later */
        timers(T0 + 8 * 3600 * INT64_C(1000000)),
        trade(6, T0 + 8 * 3600 * INT64_C(1000000) + 1, 2, 3, 1),
    };
    int n = (int)ARRAY_LEN(v);
    struct recorder *r = open_rec(&ins, T0);
    for (int i = 0; i < n; i++) put(r, &v[i]);
    recorder_flush(r);
    struct recorder_stats rs;
    recorder_stats(r, &rs);
    assert_int_equal(rs.events, n - 3);
    assert_int_equal(rs.markers, 3);
    assert_int_equal(rs.files, 1);
    assert_int_equal(rs.dropped, 0);
    assert_int_equal(rs.failed, 0);
    recorder_close(r);
    assert_int_equal(file_size(path_in(DAY5 ".ltr")), (long)rs.bytes);

    struct err e;
    const char *one[] = {path_in(DAY5 ".ltr")};
    struct replay *p = replay_open(one, 1, &e);
    assert_non_null(p);
    assert_int_equal(replay_seed(p), SEED);
    assert_int_equal(replay_start_us(p), T0);
    const struct instruments *ri = replay_instruments(p);
    assert_int_equal(ri->n, 9);
    for (int i = 0; i < 9; i++) {
        assert_string_equal(ri->v[i].symbol, ins.v[i].symbol);
        assert_int_equal(ri->v[i].px_dp, ins.v[i].px_dp);
        assert_int_equal(ri->v[i].tick, ins.v[i].tick);
        assert_int_equal(ri->v[i].qty_dp, ins.v[i].qty_dp);
        assert_int_equal(ri->v[i].lot, ins.v[i].lot);
    }
    replay_free(p);
    expect_replay(one, 1, v, n);
    /* the directory gives the same */
    const char *d[] = {dir};
    expect_replay(d, 1, v, n);
    instruments_free(&ins);
}

/* rs.bytes counts what the file holds: the flushes' blocks and the header. */
static void test_bytes_and_flush(void **state)
{
    struct instruments ins = {0};
    add(&ins, "AAPL", 2, 1, 0, 1);
    struct recorder *r = open_rec(&ins, T0);
    struct recorder_stats rs;
    recorder_stats(r, &rs);
    long header = file_size(path_in(DAY5 ".ltr"));
    assert_int_equal(rs.bytes, header);
    struct replay_item q = quote(0, T0, 100, 101, 1, 1, 1);
    recorder_market(r, &q.ev);
    assert_int_equal(file_size(path_in(DAY5 ".ltr")), header); /* buffered */
    recorder_flush(r);
    recorder_stats(r, &rs);
    assert_true(rs.bytes > (uint64_t)header);
    assert_int_equal(file_size(path_in(DAY5 ".ltr")), (long)rs.bytes);
    recorder_flush(r); /* nothing buffered: no empty block */
    assert_int_equal(file_size(path_in(DAY5 ".ltr")), (long)rs.bytes);
    recorder_close(r);
    instruments_free(&ins);
}

/* A wall clock stepped back is recorded as no time passing; events of a symbol registered
 * after open and other event types are not recorded. */
static void test_clock_back_and_unknown(void **state)
{
    struct instruments ins = {0};
    add(&ins, "AAPL", 2, 1, 0, 1);
    struct recorder *r = open_rec(&ins, T0);
    struct replay_item in[] = {
        quote(0, T0 + 500, 100, 101, 1, 1, 1),
        quote(0, T0 + 200, 100, 102, 1, 1, 2), /* back 300 µs */
        timers(T0 + 100),
        trade(1, T0 + 900, 5, 5, 1), /* id 1: not in the header */
        trade(-1, T0 + 900, 5, 5, 1),
        trade(0, T0 + 900, 100, 1, 1),
    };
    for (size_t i = 0; i < ARRAY_LEN(in); i++) put(r, &in[i]);
    struct event bar = {.type = EV_BAR, .ts_us = T0 + 1000};
    recorder_market(r, &bar);
    recorder_market(NULL, &in[0].ev); /* recording off */
    recorder_timers(NULL, T0);
    recorder_flush(NULL);
    recorder_close(NULL);
    struct recorder_stats rs;
    recorder_stats(r, &rs);
    assert_int_equal(rs.events, 3);
    assert_int_equal(rs.markers, 1);
    assert_int_equal(rs.dropped, 2);
    recorder_close(r);
    struct replay_item want[] = {
        quote(0, T0 + 500, 100, 101, 1, 1, 1),
        quote(0, T0 + 500, 100, 102, 1, 1, 2),
        timers(T0 + 500),
        trade(0, T0 + 900, 100, 1, 1),
    };
    const char *d[] = {dir};
    expect_replay(d, 1, want, 4);
    instruments_free(&ins);
}

/* ---- rotation and restarts ---------------------------------------------------------------- */

static void test_rotation_at_midnight(void **state)
{
    struct instruments ins = {0};
    add(&ins, "AAPL", 2, 1, 0, 1);
    add(&ins, "MSFT", 2, 1, 0, 1);
    int64_t midnight = T0 - 15 * 3600 * INT64_C(1000000) + DAY; /* 2026-01-06T00:00:00Z */
    struct replay_item v[] = {
        quote(0, midnight - 2, 100, 101, 1, 1, 1),
        timers(midnight - 1),
        trade(1, midnight, 200, 1, 1), /* the new day's first µs */
        quote(0, midnight + 5, 101, 102, 1, 1, 2),
        timers(midnight + DAY + 7), /* and the day after */
        quote(0, midnight + DAY + 8, 102, 103, 1, 1, 3),
    };
    struct recorder *r = open_rec(&ins, T0);
    for (size_t i = 0; i < ARRAY_LEN(v); i++) put(r, &v[i]);
    struct recorder_stats rs;
    recorder_stats(r, &rs);
    assert_int_equal(rs.files, 3);
    recorder_close(r);
    assert_true(file_size(path_in("2026-01-05.ltr")) > 0);
    assert_true(file_size(path_in("2026-01-06.ltr")) > 0);
    assert_true(file_size(path_in("2026-01-07.ltr")) > 0);
    const char *d[] = {dir};
    expect_replay(d, 1, v, (int)ARRAY_LEN(v));

    /* each file stands alone and starts at its first record */
    const char *second[] = {path_in("2026-01-06.ltr")};
    struct err e;
    struct replay *p = replay_open(second, 1, &e);
    assert_non_null(p);
    assert_int_equal(replay_start_us(p), midnight);
    assert_int_equal(replay_seed(p), SEED);
    replay_free(p);
    expect_replay(second, 1, v + 2, 2);
    instruments_free(&ins);
}

static void test_restart_same_day(void **state)
{
    struct instruments ins = {0};
    add(&ins, "AAPL", 2, 1, 0, 1);
    struct replay_item morning[] = {quote(0, T0, 100, 101, 1, 1, 1), timers(T0 + 1)};
    record_items(&ins, T0, morning, 2);
    size_t n0;
    uint8_t *before = slurp(path_in(DAY5 ".ltr"), &n0);
    /* the host restarts 12 times that day: .1 to .11 */
    struct replay_item all[2 + 2 * 12];
    memcpy(all, morning, sizeof morning);
    for (int k = 1; k <= 12; k++) {
        int64_t t = T0 + k * INT64_C(60000000);
        struct replay_item v[] = {quote(0, t, 100 + k, 101 + k, 1, 1, 1), timers(t + 1)};
        record_items(&ins, t, v, 2);
        memcpy(all + 2 * k, v, sizeof v);
    }
    size_t n1;
    uint8_t *after = slurp(path_in(DAY5 ".ltr"), &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    free(before);
    free(after);
    assert_true(file_size(path_in(DAY5 ".1.ltr")) > 0);
    assert_true(file_size(path_in(DAY5 ".12.ltr")) > 0);
    /* by name: DATE.ltr, DATE.1.ltr, DATE.2.ltr, ... DATE.10.ltr (not after .1) */
    const char *d[] = {dir};
    expect_replay(d, 1, all, (int)ARRAY_LEN(all));
    instruments_free(&ins);
}

/* ---- several files ------------------------------------------------------------------------ */

static void test_merge_by_symbol(void **state)
{
    struct instruments a = {0}, b = {0};
    add(&a, "AAPL", 2, 1, 0, 1);
    add(&a, "MSFT", 2, 1, 0, 1);
    add(&b, "SPY", 2, 5, 0, 10);
    add(&b, "MSFT", 2, 1, 0, 1);
    struct replay_item va[] = {quote(0, T0, 100, 101, 1, 1, 1), trade(1, T0 + 1, 200, 1, 1)};
    struct replay_item vb[] = {trade(1, T0 + DAY, 201, 2, 2), quote(0, T0 + DAY, 50, 55, 10, 20, 1),
                               timers(T0 + DAY + 1)};
    mkdir(path_in("a"), 0700);
    mkdir(path_in("b"), 0700);
    struct err e;
    struct recorder *r = recorder_open(path_in("a"), &a, 1, T0, &e);
    assert_non_null(r);
    for (int i = 0; i < 2; i++) put(r, &va[i]);
    recorder_close(r);
    r = recorder_open(path_in("b/"), &b, 2, T0 + DAY, &e); /* trailing slash */
    assert_non_null(r);
    for (int i = 0; i < 3; i++) put(r, &vb[i]);
    recorder_close(r);

    /* b's MSFT (its index 1) is id 1, its SPY (index 0) the new id 2 */
    struct replay_item want[] = {va[0], va[1], trade(1, T0 + DAY, 201, 2, 2),
                                 quote(2, T0 + DAY, 50, 55, 10, 20, 1), vb[2]};
    const char *files[] = {path_in("a/" DAY5 ".ltr"), path_in("b/2026-01-06.ltr")};
    const char *dirs[] = {path_in("a"), path_in("b")};
    const char *mixed[] = {path_in("a/"), path_in("b/2026-01-06.ltr")};
    expect_replay(files, 2, want, 5);
    expect_replay(dirs, 2, want, 5);
    expect_replay(mixed, 2, want, 5);
    struct replay *p = replay_open(dirs, 2, &e);
    assert_non_null(p);
    const struct instruments *u = replay_instruments(p);
    assert_int_equal(u->n, 3);
    assert_string_equal(u->v[0].symbol, "AAPL");
    assert_string_equal(u->v[1].symbol, "MSFT");
    assert_string_equal(u->v[2].symbol, "SPY");
    assert_int_equal(u->v[2].tick, 5);
    assert_int_equal(u->v[2].lot, 10);
    assert_int_equal(replay_seed(p), 1); /* the first file's */
    assert_int_equal(replay_start_us(p), T0);
    replay_free(p);

    /* files out of time order */
    const char *rev[] = {path_in("b"), path_in("a")};
    static struct replay_item got[MAXIT];
    int n;
    assert_int_equal(replay_all(rev, 2, got, &n, NULL, &e), -1);
    assert_int_equal(n, 3);
    /* at the first record: after the magic, the header block, the block's head and kind */
    size_t sz;
    uint8_t *raw = slurp(path_in("a/" DAY5 ".ltr"), &sz);
    long hdr = REC_MAGIC_LEN + REC_BLOCK_HEAD + (long)rec_get_u32(raw + REC_MAGIC_LEN);
    free(raw);
    char want_msg[512];
    snprintf(want_msg, sizeof want_msg,
             "%s/a/" DAY5 ".ltr: offset %ld: time 2026-01-05T15:00:00.000000Z is before the "
             "previous file's last record (2026-01-06T15:00:00.000001Z): give the files in time "
             "order",
             dir, hdr + REC_BLOCK_HEAD + 1);
    assert_string_equal(e.msg, want_msg);

    /* one symbol, two grids */
    struct instruments c = {0};
    add(&c, "MSFT", 2, 5, 0, 1);
    r = recorder_open(path_in("c"), &c, 3, T0 + 2 * DAY, &e);
    assert_non_null(r);
    recorder_close(r);
    const char *bad[] = {path_in("a"), path_in("c")};
    assert_null(replay_open(bad, 2, &e));
    snprintf(want_msg, sizeof want_msg,
             "%s/c/2026-01-07.ltr: instrument MSFT: grid px_dp 2 tick 5 qty_dp 0 lot 1 differs "
             "from %s/a/" DAY5 ".ltr's (px_dp 2 tick 1 qty_dp 0 lot 1)",
             dir, dir);
    assert_string_equal(e.msg, want_msg);
    instruments_free(&a);
    instruments_free(&b);
    instruments_free(&c);
}

static void test_open_errors(void **state)
{
    struct instruments ins = {0};
    add(&ins, "AAPL", 2, 1, 0, 1);
    struct err e;
    char want[512];
    spit(path_in("plain"), (const uint8_t *)"x", 1);
    assert_null(recorder_open(path_in("plain/rec"), &ins, 1, T0, &e));
    snprintf(want, sizeof want, "%s/plain/rec: cannot create the directory: Not a directory", dir);
    assert_string_equal(e.msg, want);
    assert_null(recorder_open(path_in("plain"), &ins, 1, T0, &e));
    snprintf(want, sizeof want, "%s/plain: not a directory", dir);
    assert_string_equal(e.msg, want);
    /* parents are made, 0700 */
    struct recorder *r = recorder_open(path_in("x/y/z"), &ins, 1, T0, &e);
    assert_non_null(r);
    recorder_close(r);
    struct stat sb;
    assert_int_equal(stat(path_in("x/y"), &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    assert_int_equal(stat(path_in("x/y/z/" DAY5 ".ltr"), &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    const char *missing[] = {path_in("nope")};
    assert_null(replay_open(missing, 1, &e));
    snprintf(want, sizeof want, "%s/nope: No such file or directory", dir);
    assert_string_equal(e.msg, want);
    mkdir(path_in("empty"), 0700);
    const char *empty[] = {path_in("empty")};
    assert_null(replay_open(empty, 1, &e));
    snprintf(want, sizeof want, "%s/empty: no recordings (*.ltr) in the directory", dir);
    assert_string_equal(e.msg, want);
    assert_null(replay_open(empty, 0, &e));
    assert_string_equal(e.msg, "replay: no files given");
    instruments_free(&ins);
}

/* ---- torn and corrupt files ---------------------------------------------------------------- */

/* A recording of n quotes flushed every 'every' of them: several blocks. */
static void record_blocks(const char *sub, int64_t base, struct replay_item *v, int n, int every)
{
    struct instruments ins = {0};
    add(&ins, "AAPL", 2, 1, 0, 1);
    struct err e;
    struct recorder *r = recorder_open(path_in(sub), &ins, SEED, base, &e);
    assert_non_null(r);
    for (int i = 0; i < n; i++) {
        int64_t t = base + i * 7;
        v[i] = i % 3 == 2 ? timers(t) : quote(0, t, 100 + i, 102 + i, i, 1, 0);
        if (v[i].kind == REPLAY_MARKET) v[i].ev.u.quote.n = (uint64_t)(i - i / 3 + 1);
        put(r, &v[i]);
        if (i % every == every - 1) recorder_flush(r);
    }
    recorder_close(r);
    instruments_free(&ins);
}

/* Ends of the blocks in the file (after the magic): the offsets a cut may keep whole. */
static int block_ends(const uint8_t *raw, size_t n, size_t *ends)
{
    int k = 0;
    for (size_t at = REC_MAGIC_LEN; at + REC_BLOCK_HEAD <= n;) {
        at += REC_BLOCK_HEAD + rec_get_u32(raw + at);
        ends[k++] = at;
    }
    return k;
}

static void test_torn_tail(void **state)
{
    struct replay_item v[30];
    record_blocks("t", T0, v, 30, 6); /* 5 blocks of 6 records after the header */
    size_t n;
    uint8_t *raw = slurp(path_in("t/" DAY5 ".ltr"), &n);
    size_t ends[16];
    int nb = block_ends(raw, n, ends);
    assert_int_equal(nb, 6);
    assert_int_equal(ends[nb - 1], n);
    const char *one[] = {path_in("cut.ltr")};
    static struct replay_item got[MAXIT];
    for (size_t len = 0; len < n; len++) {
        spit(path_in("cut.ltr"), raw, len);
        struct err e;
        struct replay_stats st;
        int k;
        if (len < ends[0]) { /* no complete header: nothing to replay */
            assert_null(replay_open(one, 1, &e));
            char want[256];
            snprintf(want, sizeof want,
                     "%s: offset 0: the recording ends before its header is complete", one[0]);
            assert_string_equal(e.msg, want);
            continue;
        }
        if (replay_all(one, 1, got, &k, &st, &e) != 0) fail_msg("len %zu: %s", len, e.msg);
        int whole = 0;
        while (whole + 1 < nb && ends[whole + 1] <= len) whole++;
        assert_int_equal(k, 6 * whole);
        for (int i = 0; i < k; i++) item_equal(&v[i], &got[i], i);
        assert_int_equal(st.torn, len != ends[whole]);
        assert_int_equal(st.files, 1);
    }
    /* zeros after the last block (a power loss after the size grew): torn, not corrupt */
    uint8_t *z = xcalloc(1, n + 5000);
    memcpy(z, raw, n);
    for (size_t extra = 1; extra < 5000; extra += 997) {
        spit(path_in("cut.ltr"), z, n + extra);
        struct err e;
        struct replay_stats st;
        int k;
        assert_int_equal(replay_all(one, 1, got, &k, &st, &e), 0);
        assert_int_equal(k, 30);
        assert_int_equal(st.torn, 1);
    }
    /* zeros over the last block and after it */
    memset(z + ends[nb - 2], 0, n - ends[nb - 2]);
    spit(path_in("cut.ltr"), z, n + 100);
    struct err e;
    struct replay_stats st;
    int k;
    assert_int_equal(replay_all(one, 1, got, &k, &st, &e), 0);
    assert_int_equal(k, 24);
    assert_int_equal(st.torn, 1);
    free(z);

    /* a torn file among others ends only itself; a file torn in its header is skipped */
    spit(path_in("t/" DAY5 ".1.ltr"), raw, 5);
    spit(path_in("t/" DAY5 ".2.ltr"), raw, 0);
    struct replay_item later[30];
    record_blocks("t2", T0 + 1000, later, 30, 6);
    size_t n2;
    uint8_t *raw2 = slurp(path_in("t2/" DAY5 ".ltr"), &n2);
    spit(path_in("t/" DAY5 ".3.ltr"), raw2, n2 - 3);
    free(raw2);
    const char *d[] = {path_in("t")};
    assert_int_equal(replay_all(d, 1, got, &k, &st, &e), 0);
    assert_int_equal(k, 30 + 24);
    for (int i = 0; i < 24; i++) item_equal(&later[i], &got[30 + i], 30 + i);
    assert_int_equal(st.files, 2);
    assert_int_equal(st.torn, 3);
    free(raw);
}

static void test_corrupt(void **state)
{
    struct replay_item v[12];
    record_blocks("c", T0, v, 12, 6);
    size_t n;
    uint8_t *raw = slurp(path_in("c/" DAY5 ".ltr"), &n);
    size_t ends[8];
    int nb = block_ends(raw, n, ends);
    assert_int_equal(nb, 3);
    const char *one[] = {path_in("bad.ltr")};
    static struct replay_item got[MAXIT];
    char want[256];
    struct err e;
    int k;
    /* a flipped bit anywhere in the second records block: its checksum, at its offset */
    for (size_t i = ends[1]; i < n; i++) {
        raw[i] ^= 0x10;
        spit(one[0], raw, n);
        raw[i] ^= 0x10;
        int rc = replay_all(one, 1, got, &k, NULL, &e);
        assert_int_equal(k, 6);
        if (i < ends[1] + 4) { /* the length: past the end reads as a torn tail */
            assert_true(rc == 0 || strstr(e.msg, "block checksum mismatch") ||
                        strstr(e.msg, "block length"));
            continue;
        }
        assert_int_equal(rc, -1);
        snprintf(want, sizeof want, "%s: offset %zu: block checksum mismatch (%u bytes)", one[0],
                 ends[1], (unsigned)(n - ends[1] - REC_BLOCK_HEAD));
        assert_string_equal(e.msg, want);
    }
    /* ...and every later call says so again */
    raw[n - 1] ^= 1;
    spit(one[0], raw, n);
    raw[n - 1] ^= 1;
    struct replay *p = replay_open(one, 1, &e);
    assert_non_null(p);
    struct replay_item it;
    for (int i = 0; i < 6; i++) assert_int_equal(replay_next(p, &it, &e), 1);
    assert_int_equal(replay_next(p, &it, &e), -1);
    assert_int_equal(replay_next(p, &it, &e), -1);
    assert_string_equal(e.msg, want);
    replay_free(p);

    /* a bad record under a valid checksum: the record's own offset */
    uint8_t *c = xmalloc(n);
    memcpy(c, raw, n);
    size_t rec = ends[1] + REC_BLOCK_HEAD + 1; /* the block's first record */
    c[rec] = 0x03;                             /* kind 3 */
    rec_block_seal(c + ends[1], n - ends[1] - REC_BLOCK_HEAD);
    spit(one[0], c, n);
    assert_int_equal(replay_all(one, 1, got, &k, NULL, &e), -1);
    snprintf(want, sizeof want, "%s: offset %zu: unknown record kind", one[0], rec);
    assert_string_equal(e.msg, want);
    memcpy(c, raw, n);
    c[ends[1] + REC_BLOCK_HEAD] = 'H'; /* a second header */
    rec_block_seal(c + ends[1], n - ends[1] - REC_BLOCK_HEAD);
    spit(one[0], c, n);
    assert_int_equal(replay_all(one, 1, got, &k, NULL, &e), -1);
    snprintf(want, sizeof want, "%s: offset %zu: expected a block of records", one[0],
             ends[1] + REC_BLOCK_HEAD);
    assert_string_equal(e.msg, want);
    /* the last record cut short inside a sealed block */
    memcpy(c, raw, n);
    rec_put_u32(c + ends[1], (uint32_t)(n - ends[1] - REC_BLOCK_HEAD - 1));
    rec_block_seal(c + ends[1], n - ends[1] - REC_BLOCK_HEAD - 1);
    spit(one[0], c, n - 1);
    assert_int_equal(replay_all(one, 1, got, &k, NULL, &e), -1);
    assert_non_null(strstr(e.msg, ": record truncated at the end of its block"));
    /* a bad length that is not zeros to the end */
    memcpy(c, raw, n);
    rec_put_u32(c + ends[1], REC_BLOCK_MAX + 1);
    spit(one[0], c, n);
    assert_int_equal(replay_all(one, 1, got, &k, NULL, &e), -1);
    snprintf(want, sizeof want, "%s: offset %zu: block length %u (expected 1..%u)", one[0], ends[1],
             REC_BLOCK_MAX + 1, REC_BLOCK_MAX);
    assert_string_equal(e.msg, want);

    /* headers: magic, version, a corrupt header block */
    memcpy(c, raw, n);
    c[0] = 'X';
    spit(one[0], c, n);
    assert_null(replay_open(one, 1, &e));
    snprintf(want, sizeof want, "%s: offset 0: not a luatrade recording (no LTRECORD magic)",
             one[0]);
    assert_string_equal(e.msg, want);
    memcpy(c, raw, n);
    c[REC_MAGIC_LEN + REC_BLOCK_HEAD + 1] = 2; /* version 2 */
    rec_block_seal(c + REC_MAGIC_LEN, ends[0] - REC_MAGIC_LEN - REC_BLOCK_HEAD);
    spit(one[0], c, n);
    assert_null(replay_open(one, 1, &e));
    snprintf(want, sizeof want,
             "%s: offset 16: header: format version 2 is not supported (this build reads 1)",
             one[0]);
    assert_string_equal(e.msg, want);
    memcpy(c, raw, n);
    c[REC_MAGIC_LEN + REC_BLOCK_HEAD + 21] = '!'; /* the symbol's first byte */
    rec_block_seal(c + REC_MAGIC_LEN, ends[0] - REC_MAGIC_LEN - REC_BLOCK_HEAD);
    spit(one[0], c, n);
    assert_null(replay_open(one, 1, &e));
    assert_non_null(strstr(e.msg, ": offset 16: header: instrument: invalid symbol \"!APL\""));
    memcpy(c, raw, n);
    c[REC_MAGIC_LEN + 4] ^= 1; /* the header's checksum */
    spit(one[0], c, n);
    assert_null(replay_open(one, 1, &e));
    snprintf(want, sizeof want, "%s: offset 8: block checksum mismatch (%zu bytes)", one[0],
             ends[0] - REC_MAGIC_LEN - REC_BLOCK_HEAD);
    assert_string_equal(e.msg, want);
    free(c);
    free(raw);
}

/* Decodes bytes as one record against a state at last_us with two symbols (tick 5). */
static const char *decode(int64_t last_us, const uint8_t *b, size_t n, struct replay_item *out)
{
    struct instruments ins = {0};
    add(&ins, "A", 2, 5, 0, 1);
    add(&ins, "B", 2, 5, 0, 1);
    struct rec_state st;
    rec_state_init(&st, &ins, last_us);
    size_t pos = 0;
    const char *why = NULL;
    int rc = rec_decode(&st, b, n, &pos, out, &why);
    assert_true(rc == 0 ? why == NULL && pos == n : why != NULL);
    rec_state_fini(&st);
    instruments_free(&ins);
    return why;
}

/* The record decoder's limits, on hand-made bytes (tag: kind | 4 time | 8 seq | 16 raw |
 * symbol << 5). */
static void test_decoder_limits(void **state)
{
    struct replay_item it;
    const uint8_t max_dt[] = {0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    assert_null(decode(-1, max_dt, sizeof max_dt, &it)); /* -1 + INT64_MAX */
    assert_int_equal(it.kind, REPLAY_TIMERS);
    assert_int_equal(it.ts_us, INT64_MAX - 1);
    assert_string_equal(decode(1, max_dt, sizeof max_dt, &it), "time out of range");
    const uint8_t past[] = {0x06, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    assert_null(decode(INT64_MIN, past, sizeof past, &it)); /* INT64_MIN + 2^63 = 0 */
    assert_int_equal(it.ts_us, 0);
    assert_string_equal(decode(0, past, sizeof past, &it), "time out of range");
    const uint8_t long_varint[] = {0x06, 0x80, 0x80, 0x80, 0x80, 0x80,
                                   0x80, 0x80, 0x80, 0x80, 0x02};
    assert_string_equal(decode(0, long_varint, sizeof long_varint, &it),
                        "varint longer than 64 bits");
    const uint8_t cut[] = {0x06, 0x80};
    assert_string_equal(decode(0, cut, sizeof cut, &it),
                        "record truncated at the end of its block");
    const uint8_t zero_dt[] = {0x06, 0x00};
    assert_string_equal(decode(0, zero_dt, sizeof zero_dt, &it),
                        "zero time delta with the time flag");
    const uint8_t kind3[] = {0x03};
    assert_string_equal(decode(0, kind3, 1, &it), "unknown record kind");
    const uint8_t timers_sym[] = {0x22};
    assert_string_equal(decode(0, timers_sym, 1, &it), "timers record with flags it cannot have");
    const uint8_t sym2[] = {0x41, 0, 0};
    assert_string_equal(decode(0, sym2, sizeof sym2, &it),
                        "symbol index beyond the header's instruments");
    const uint8_t esc[] = {0xe1, 0x01, 0x02, 0x04}; /* escaped index 1: B, px +1 tick, qty +2 */
    assert_null(decode(0, esc, sizeof esc, &it));
    assert_int_equal(it.ev.u.trade.sym, 1);
    assert_int_equal(it.ev.u.trade.px, 5);
    assert_int_equal(it.ev.u.trade.qty, 2);
    assert_int_equal(it.ev.u.trade.n, 1);
    const uint8_t esc_far[] = {0xe1, 0x80, 0x01, 0x02, 0x04};
    assert_string_equal(decode(0, esc_far, sizeof esc_far, &it),
                        "symbol index beyond the header's instruments");
    /* a delta of 2^62 ticks of 5 overflows; raw, the same delta is fine */
    const uint8_t big[] = {0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00};
    assert_string_equal(decode(0, big, sizeof big, &it), "delta out of range");
    const uint8_t big_raw[] = {0x11, 0x80, 0x80, 0x80, 0x80, 0x80,
                               0x80, 0x80, 0x80, 0x80, 0x01, 0x00};
    assert_null(decode(0, big_raw, sizeof big_raw, &it));
    assert_int_equal(it.ev.u.trade.px, INT64_C(1) << 62);
    const uint8_t seq[] = {0x09, 0x00, 0x00, 0x2a}; /* n = 42 */
    assert_null(decode(0, seq, sizeof seq, &it));
    assert_int_equal(it.ev.u.trade.n, 42);
    const uint8_t seq_cut[] = {0x09, 0x00, 0x00};
    assert_string_equal(decode(0, seq_cut, sizeof seq_cut, &it),
                        "record truncated at the end of its block");
}

/* A write that fails (RLIMIT_FSIZE) stops the recording for good, logged once; what was
 * written before replays, the partial block as a torn tail. */
static int stopped_lines;
static void on_log(enum log_level lvl, const char *line, void *arg)
{
    if (lvl == LOG_ERROR && strstr(line, "record recording stopped") &&
        strstr(line, "File too large"))
        stopped_lines++;
}

static void test_write_failure(void **state)
{
    struct instruments ins = {0};
    add(&ins, "AAPL", 2, 1, 0, 1);
    struct recorder *r = open_rec(&ins, T0);
    struct replay_item v[4000];
    for (int i = 0; i < 1000; i++) {
        v[i] = quote(0, T0 + i, 100 + i % 7, 105, 1 + i % 5, 2, (uint64_t)i + 1);
        put(r, &v[i]);
    }
    recorder_flush(r);
    long good = file_size(path_in(DAY5 ".ltr"));
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)good + 100;
    void (*oldsig)(int) = signal(SIGXFSZ, SIG_IGN);
    stopped_lines = 0;
    log_set_listener(on_log, NULL);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    for (int i = 1000; i < 4000; i++) {
        v[i] = quote(0, T0 + i, 100 + i % 7, 105, 1 + i % 5, 2, (uint64_t)i + 1);
        put(r, &v[i]);
    }
    recorder_flush(r);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, oldsig);
    log_set_listener(NULL, NULL);
    struct recorder_stats rs;
    recorder_stats(r, &rs);
    assert_int_equal(rs.failed, 1);
    assert_int_equal(stopped_lines, 1);
    assert_int_equal(rs.events, 1000); /* the failed block's records count as dropped */
    assert_int_equal(rs.dropped, 3000);
    recorder_timers(r, T0 + 5000);
    recorder_stats(r, &rs);
    assert_int_equal(rs.dropped, 3001);
    assert_int_equal(rs.markers, 0);
    recorder_close(r);
    assert_int_equal(file_size(path_in(DAY5 ".ltr")), good + 100);
    const char *one[] = {path_in(DAY5 ".ltr")};
    static struct replay_item got[MAXIT];
    struct replay_stats st;
    struct err e;
    int k;
    assert_int_equal(replay_all(one, 1, got, &k, &st, &e), 0);
    assert_int_equal(k, 1000);
    assert_int_equal(st.torn, 1);
    instruments_free(&ins);
}

/* ---- the sim feed --------------------------------------------------------------------------- */

/* The sim feed's events, paced live (several events per time step, as on_feed_live emits
 * them) with a timers marker every second, round-trip; the bytes per event are reported
 * and bounded. */
static void test_sim_feed(void **state)
{
    struct instruments ins = {0};
    add(&ins, "AAPL", 2, 1, 0, 1);
    add(&ins, "MSFT", 2, 1, 0, 1);
    add(&ins, "NVDA", 2, 1, 0, 1);
    add(&ins, "SPY", 2, 1, 0, 1);
    struct feed_sim_symbol fs[] = {{0, 190, 0.05, 0.25, 1, 5},
                                   {1, 410, 0.05, 0.2, 1, 5},
                                   {2, 900, 0.1, 0.5, 2, 5},
                                   {3, 520, 0.03, 0.15, 1, 10}};
    struct feed_sim_config fc = {SEED, 1000, 0.3, fs, 4};
    struct err e;
    struct feed_sim *f = feed_sim_new(&fc, &ins, &e);
    assert_non_null(f);
    struct event *want = xmalloc(sizeof *want * SIM_N);
    struct recorder *r = open_rec(&ins, T0);
    int64_t now = T0, next_timer = T0 + 1000000;
    uint64_t markers = 0;
    for (int i = 0; i < SIM_N; i++) {
        if (i % 4 == 0) now += 4000; /* a 4 ms loop tick emits 4 events */
        if (now >= next_timer) {
            recorder_timers(r, now);
            next_timer += 1000000;
            markers++;
        }
        feed_sim_next(f, &want[i]);
        want[i].ts_us = now;
        recorder_market(r, &want[i]);
    }
    struct recorder_stats rs;
    recorder_stats(r, &rs);
    recorder_close(r);
    feed_sim_free(f);
    assert_int_equal(rs.events, SIM_N);
    assert_int_equal(rs.markers, markers);
    double per_event = (double)rs.bytes / SIM_N;
    print_message("sim feed: %d events, %llu markers, %llu bytes: %.2f bytes/event\n", SIM_N,
                  (unsigned long long)markers, (unsigned long long)rs.bytes, per_event);
    assert_true(per_event <= 12);

    const char *one[] = {path_in(DAY5 ".ltr")};
    struct replay *p = replay_open(one, 1, &e);
    assert_non_null(p);
    struct replay_item it;
    int i = 0;
    uint64_t seen_markers = 0;
    int rc;
    while ((rc = replay_next(p, &it, &e)) == 1) {
        if (it.kind == REPLAY_TIMERS) {
            seen_markers++;
            continue;
        }
        assert_true(i < SIM_N);
        struct replay_item w = {.kind = REPLAY_MARKET, .ts_us = want[i].ts_us, .ev = want[i]};
        item_equal(&w, &it, i);
        i++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(i, SIM_N);
    assert_int_equal(seen_markers, markers);
    replay_free(p);
    free(want);
    instruments_free(&ins);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bytes_and_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_back_and_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_at_midnight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_same_day, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_by_symbol, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
        cmocka_unit_test(test_decoder_limits),
        cmocka_unit_test_setup_teardown(test_write_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sim_feed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
