/* fuzz_oms_replay: libFuzzer target for the order manager's journal records (replay and
 * reconciliation in oms_journal.c), behind the framing fuzz_journal already covers.
 *
 * The input is a list of records, each: one type byte, a two-byte little-endian length,
 * that many payload bytes (the list ends at the first incomplete one). They are written
 * as a well-formed journal (journal_append, so every checksum matches: the fuzzer spends
 * its time on the payloads), then a host skeleton (event base, timers, bus, two
 * instruments, market) opens an order manager on it with an in-memory paper venue:
 * replay, reconciliation, the first commit. Then it must hold that:
 *  - the open either succeeds or fails with a message naming the journal record;
 *  - every order in the book has 0 < qty and 0 <= filled <= qty, and the working list
 *    holds only working orders;
 *  - a flush and close do not crash or leak (ASan, UBSan). */
#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus.h"
#include "fuzz_common.h"
#include "host.h"
#include "journal.h"
#include "log.h"
#include "market.h"
#include "oms.h"
#include "order.h"
#include "timer.h"

static char dir[64], path[96];
static struct host h;

static char latch[112];

static void cleanup(void)
{
    unlink(path);
    unlink(latch);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    log_set_stderr(0);
    snprintf(dir, sizeof dir, "/tmp/luatrade-fuzz-oms-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/journal.wal", dir);
    snprintf(latch, sizeof latch, "%s.kill", path); /* the kill switch's latch file */
    atexit(cleanup);
    h.base = event_base_new();
    clock_init_sim(&h.clock, INT64_C(1767625200000000));
    h.timers = timerq_new();
    h.bus = bus_new(&h.clock);
    struct err e;
    struct instrument a = {.symbol = "AAA", .px_dp = 2, .tick = 1, .qty_dp = 0, .lot = 1};
    struct instrument b = {.symbol = "BBB", .px_dp = 4, .tick = 5, .qty_dp = 2, .lot = 10};
    CHECK(instruments_add(&h.instruments, &a, &e) == 0);
    CHECK(instruments_add(&h.instruments, &b, &e) == 1);
    h.market = market_new(&h.instruments, 10);
    return 0;
}

static void write_journal(const uint8_t *data, size_t size)
{
    unlink(path);
    unlink(latch);
    struct err e;
    struct journal *j = journal_open(path, JOURNAL_SYNC_NONE, NULL, NULL, &e);
    CHECK(j != NULL);
    for (size_t off = 0; off + 3 <= size;) {
        size_t len = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;
        if (off + 3 + len > size) break;
        journal_append(j, data[off], data + off + 3, len);
        off += 3 + len;
    }
    CHECK(journal_commit(j, &e) == 0);
    journal_close(j);
}

static void check_book(struct oms *o)
{
    struct order *const *v;
    int n = order_book_all(oms_book(o), &v);
    for (int i = 0; i < n; i++) {
        CHECK(v[i]->qty > 0);
        CHECK(v[i]->filled_qty >= 0 && v[i]->filled_qty <= v[i]->qty);
    }
    n = order_book_working(oms_book(o), &v);
    for (int i = 0; i < n; i++) CHECK(order_working(v[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_journal(data, size);
    struct oms_config cfg = {.journal_path = path,
                             .sync = JOURNAL_SYNC_NONE,
                             .paper = {.initial_cash = 1e6},
                             .initial_cash = 1e6,
                             .session_end_min = 16 * 60,
                             .session_tz = "UTC"};
    risk_config_defaults(&cfg.risk);
    struct err e;
    struct oms *o = oms_open(&h, &cfg, &e);
    if (!o) {
        CHECK(strstr(e.msg, "journal") != NULL);
    } else {
        check_book(o);
        oms_publish_recovered(o);
        oms_flush(o);
        check_book(o);
        oms_free(o);
    }
    risk_config_free(&cfg.risk);
    return 0;
}
