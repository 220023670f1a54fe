/* bench_orders.c: orders per second through risk, the order manager, the journal and the
 * paper venue, with group commit, against the raw cost of journaling the same bytes
 * measured in the same run.
 *
 * Host path: a real host from host_init on a config text (simulated clock, one symbol,
 * no strategy, the paper venue, realistic risk limits: max order qty and notional, price
 * band, max position, gross exposure, working orders, loss limits, self-cross; the order
 * rate limit huge), the journal on in a temporary var directory. Per batch the timed loop
 * advances the clock 1 ms, publishes a quote with K * 10 lots on each side through
 * host_publish_market (the paper venue uses a quote's size up until the next quote, so
 * every batch gets fresh liquidity and a fresh risk reference), submits K market IOC
 * orders of 1 unit with oms_submit (strategy "manual", buy and sell alternating over the
 * run, so the position stays at 0 or 1), then calls oms_flush once: the journal commit of the K
 * intents (one write + fdatasync), the K sends, the venue's commit (its own journal, one
 * write + fdatasync, matching, reports) and the booking of the K acks and fills (a second
 * journal commit). That is group commit: three fdatasyncs per batch, whatever K is.
 *
 * Configurations: K = 1, 64, 1000 and 4096 orders per flush, each with journal sync =
 * true (fdatasync) and false (write only). About BENCH_ORDERS orders per run (whole
 * batches), except that a sync run stops after BENCH_SYNC_BATCHES batches (fdatasync
 * costs ~0.1-1 ms here: K = 1 would otherwise take an hour). Each configuration runs
 * BENCH_REPS times, alternating with its baseline; orders/s is the best rep (min time)
 * and the median. The goal (>= 200,000 orders/s) is judged on K = 1000 with fdatasync.
 *
 * Baseline: plain C doing the minimum equivalent work on the same file system: per batch
 * K records of the host's average size (journal and venue book bytes per order, from the
 * host run of the same configuration) copied into a buffer, a CRC-32C over each (the
 * journal's checksum), one pwrite, and one fdatasync when the host run synced.
 *
 * Checks after every host run (else exit 2): the order book holds exactly the orders
 * submitted, every one FILLED, none refused; the net position and the manual account's
 * are 0 (even batches) or 1; the journal holds 3 records per order (intent, ack, fill)
 * and its bytes grew accordingly; the commit counts match the batches.
 *
 * Environment: BENCH_ORDERS (default 1000000), BENCH_SYNC_BATCHES (default 3000),
 * BENCH_REPS (default 3), BENCH_K (one batch size only, e.g. 1000), BENCH_SYNC=0|1 (one
 * sync mode only), BENCH_ONLY=host|baseline (for perf record: that side only, no
 * summary), TMPDIR (where the var directories go: the disk being measured). */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"
#include "bench_host.h"
#include "event.h"
#include "journal.h"
#include "log.h"
#include "oms_internal.h" /* the venue, for its journal's statistics */
#include "order.h"
#include "portfolio.h"
#include "sbx_watchdog.h"
#include "venue_paper_internal.h" /* the venue's journal */

#define MAX_REPS 20
#define GOAL_K   1000
#define GOAL_OPS 200000.0

static const long batch_sizes[] = {1, 64, 1000, 4096};
#define NK ((int)(sizeof batch_sizes / sizeof batch_sizes[0]))

static char g_src[PATH_MAX];
static struct sbx_watchdog *g_wd;

static char *config_text(int sync)
{
    static char text[4096];
    snprintf(text, sizeof text,
             "return {\n"
             "  seed = 7, clock = 'sim', start = '2026-01-05T14:30:00Z',\n"
             "  scripts = '%s/scripts',\n"
             "  feed = { kind = 'sim', rate = 10000, symbols = {\n"
             "    AAA = { price = 100, vol = 0.30, drift = 0.05, tick = 0.01, lot = 1, spread = 2, "
             "max_lots = 5 },\n"
             "  } },\n"
             "  reload = { watch = false },\n"
             "  account = { cash = 1000000000 },\n"
             "  venue = { kind = 'paper' },\n"
             "  journal = { enabled = true, sync = %s },\n"
             "  risk = { max_order_qty = 1000, max_order_notional = 1000000, price_band_pct = 10,\n"
             "           max_position = 1000000, max_gross_exposure = 10000000000,\n"
             "           max_working_orders = 100000, max_orders_per_s = 1000000000,\n"
             "           daily_loss_limit = 1000000000, max_drawdown = 1000000000 },\n"
             "}\n",
             g_src, sync ? "true" : "false");
    return text;
}

struct run {
    long k, batches, orders;
    int sync;
    double wall_ns, cpu_ns;     /* the timed loop */
    double submit_ns, flush_ns; /* of which: oms_submit calls, oms_flush calls */
    double bytes_per_order;     /* journal + venue book */
    long long journal_bytes, book_bytes;
    uint64_t journal_records, journal_commits, book_commits;
};

static void check(int ok, const struct run *r, const char *what)
{
    if (ok) return;
    fprintf(stderr, "bench: K=%ld sync=%d: %s\n", r->k, r->sync, what);
    exit(2);
}

/* The quote every batch starts with: 99.99 / 100.01 (ticks of 0.01), qty lots a side. */
static void publish_quote(struct host *h, int64_t ts_us, int64_t qty)
{
    struct event ev = {.type = EV_MARKET_DATA, .md_kind = MD_QUOTE, .ts_us = ts_us};
    strcpy(ev.source, "bench");
    ev.u.quote = (struct quote){0, 9999, 10001, qty, qty, 0};
    host_publish_market(h, &ev);
}

static void run_host(struct run *r)
{
    char var[PATH_MAX], path[PATH_MAX + 32];
    bench_var_make(var, sizeof var, "orders");
    struct host h;
    struct config cfg;
    bench_host_up(&h, &cfg, config_text(r->sync), var, g_wd);
    bench_host_start(&h);
    struct oms *o = h.oms;
    int64_t now = clock_now_us(&h.clock);
    publish_quote(&h, now, 10); /* a reference before anything is timed */
    struct journal_stats j0, b0;
    journal_stats(oms_journal(o), &j0);
    journal_stats(((struct paper *)o->venue.impl)->j, &b0);

    struct oms_submit s = {.type = OT_MARKET, .tif = TIF_IOC, .tag = "bench"};
    s.req.strategy = "manual";
    s.req.symbol = "AAA";
    s.req.qty = 1;
    long refused = 0;
    const char *reason = "";
    int64_t submit_ns = 0, flush_ns = 0;
    int64_t c0 = bench_cpu_ns(), t0 = bench_now_ns();
    for (long b = 0; b < r->batches; b++) {
        now += 1000;
        clock_advance_to(&h.clock, now);
        publish_quote(&h, now, r->k * 10);
        int64_t ta = bench_now_ns();
        for (long i = 0; i < r->k; i++) {
            s.req.side = (b * r->k + i) % 2 ? -1 : 1;
            if (!oms_submit(o, &s, &reason, NULL, 0)) refused++;
        }
        int64_t tb = bench_now_ns();
        oms_flush(o);
        flush_ns += bench_now_ns() - tb;
        submit_ns += tb - ta;
    }
    int64_t t1 = bench_now_ns(), c1 = bench_cpu_ns();
    r->wall_ns = (double)(t1 - t0);
    r->cpu_ns = (double)(c1 - c0);
    r->submit_ns = (double)submit_ns;
    r->flush_ns = (double)flush_ns;

    /* is it real? */
    char msg[256];
    snprintf(msg, sizeof msg, "%ld orders refused (last: %s)", refused, reason);
    check(refused == 0, r, msg);
    struct order *const *all;
    int n = order_book_all(oms_book(o), &all);
    check(n == r->orders, r, "the order book does not hold every order submitted");
    long filled = 0;
    for (int i = 0; i < n; i++) filled += all[i]->status == OS_FILLED && all[i]->filled_qty == 1;
    check(filled == r->orders, r, "not every order is FILLED");
    struct order *const *w;
    check(order_book_working(oms_book(o), &w) == 0, r, "orders still working");
    int64_t expect = r->orders % 2; /* sides alternate over the whole run */
    check(portfolio_qty(oms_portfolio(o), NULL, 0) == expect &&
              portfolio_qty(oms_portfolio(o), "manual", 0) == expect,
          r, "the position is not what the fills add up to");
    struct journal_stats j1, b1;
    journal_stats(oms_journal(o), &j1);
    journal_stats(((struct paper *)o->venue.impl)->j, &b1);
    r->journal_records = j1.records - j0.records;
    r->journal_commits = j1.commits - j0.commits;
    r->book_commits = b1.commits - b0.commits;
    check(r->journal_records == 3 * (uint64_t)r->orders, r, "not 3 journal records per order");
    check(r->journal_commits == 2 * (uint64_t)r->batches && r->book_commits == (uint64_t)r->batches,
          r, "not 2 journal commits and 1 venue commit per batch");
    long long jb = (long long)(j1.bytes - j0.bytes), bb = (long long)(b1.bytes - b0.bytes);
    bench_host_down(&h, &cfg);
    snprintf(path, sizeof path, "%s/journal.wal", var);
    r->journal_bytes = bench_file_size(path);
    snprintf(path, sizeof path, "%s/paper-venue.wal", var);
    r->book_bytes = bench_file_size(path);
    check(r->journal_bytes >= jb && r->book_bytes >= bb, r, "the files are smaller than written");
    r->bytes_per_order = (double)(jb + bb) / (double)r->orders;
    bench_var_remove(var);
}

/* The raw journal cost of the same batches: K records of rec bytes, a CRC-32C each, one
 * pwrite (+ fdatasync) per batch. Returns wall ns; cpu_ns gets the thread CPU time. */
static double run_baseline(long k, long batches, long rec, int sync, double *cpu_ns)
{
    char var[PATH_MAX], path[PATH_MAX + 32];
    bench_var_make(var, sizeof var, "orders-raw");
    snprintf(path, sizeof path, "%s/raw.wal", var);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) bench_fail("baseline", path);
    unsigned char *tmpl = malloc((size_t)rec), *buf = malloc((size_t)(rec * k));
    if (!tmpl || !buf) bench_fail("baseline", "out of memory");
    for (long i = 0; i < rec; i++) tmpl[i] = (unsigned char)('a' + i % 26);
    off_t off = 0;
    uint32_t crcs = 0;
    int64_t c0 = bench_cpu_ns(), t0 = bench_now_ns();
    for (long b = 0; b < batches; b++) {
        for (long i = 0; i < k; i++) {
            unsigned char *p = buf + i * rec;
            memcpy(p, tmpl, (size_t)rec);
            memcpy(p, &i, sizeof i < (size_t)rec ? sizeof i : (size_t)rec);
            crcs ^= journal_crc32c(0, p, (size_t)rec);
        }
        ssize_t len = (ssize_t)(rec * k);
        if (pwrite(fd, buf, (size_t)len, off) != len || (sync && fdatasync(fd) != 0))
            bench_fail("baseline", "write");
        off += len;
    }
    int64_t t1 = bench_now_ns(), c1 = bench_cpu_ns();
    *cpu_ns = (double)(c1 - c0);
    if (crcs == 0x12345678) printf("#\n"); /* keep the checksums */
    close(fd);
    free(tmpl), free(buf);
    bench_var_remove(var);
    return (double)(t1 - t0);
}

struct result {
    long k, orders, batches;
    int sync;
    double host_best, host_med, base_best, base_med; /* orders/s */
    double host_cpu_ns, base_cpu_ns;                 /* per order, best rep */
    double submit_ns, flush_ns;                      /* per order, best rep */
    double bytes_per_order;
};

static struct result measure(long k, int sync, long n_orders, long sync_batches, int reps,
                             const char *only)
{
    struct result res = {.k = k, .sync = sync};
    long batches = (n_orders + k - 1) / k;
    if (sync && batches > sync_batches) batches = sync_batches;
    res.batches = batches;
    res.orders = batches * k;
    double hw[MAX_REPS], bw[MAX_REPS], hc[MAX_REPS], bc[MAX_REPS];
    struct run best = {0};
    double bpo = 0;
    for (int i = 0; i < reps; i++) {
        struct run r = {.k = k, .batches = batches, .orders = batches * k, .sync = sync};
        if (!only || strcmp(only, "baseline") != 0) {
            run_host(&r);
            hw[i] = r.wall_ns, hc[i] = r.cpu_ns;
            if (i == 0 || r.wall_ns < best.wall_ns) best = r;
            bpo = r.bytes_per_order;
        } else bpo = 800; /* about what the host writes per order */
        if (!only || strcmp(only, "host") != 0)
            bw[i] = run_baseline(k, batches, (long)(bpo + 0.5), sync, &bc[i]);
        printf("# K=%-4ld sync=%d rep %d: host %.0f orders/s (cpu %.0f ns/order: submit %.0f, "
               "flush %.0f wall), baseline %.0f orders/s (cpu %.0f ns/order)\n",
               k, sync, i + 1, only && !strcmp(only, "baseline") ? 0 : 1e9 * res.orders / hw[i],
               only && !strcmp(only, "baseline") ? 0 : hc[i] / res.orders,
               only && !strcmp(only, "baseline") ? 0 : r.submit_ns / res.orders,
               only && !strcmp(only, "baseline") ? 0 : r.flush_ns / res.orders,
               only && !strcmp(only, "host") ? 0 : 1e9 * res.orders / bw[i],
               only && !strcmp(only, "host") ? 0 : bc[i] / res.orders);
        fflush(stdout);
    }
    if (only) return res;
    res.host_best = 1e9 * res.orders / bench_min(hw, reps);
    res.host_med = 1e9 * res.orders / bench_median(hw, reps);
    res.base_best = 1e9 * res.orders / bench_min(bw, reps);
    res.base_med = 1e9 * res.orders / bench_median(bw, reps);
    res.host_cpu_ns = bench_min(hc, reps) / res.orders;
    res.base_cpu_ns = bench_min(bc, reps) / res.orders;
    res.submit_ns = best.submit_ns / res.orders;
    res.flush_ns = best.flush_ns / res.orders;
    res.bytes_per_order = best.bytes_per_order;
    return res;
}

int main(void)
{
    long n_orders = bench_env_long("BENCH_ORDERS", 1000000);
    long sync_batches = bench_env_long("BENCH_SYNC_BATCHES", 3000);
    int reps = (int)bench_env_long("BENCH_REPS", 3);
    long only_k = bench_env_long("BENCH_K", 0);
    const char *sync_env = getenv("BENCH_SYNC");
    const char *only = getenv("BENCH_ONLY");
    if (only && !*only) only = NULL;
    if (reps > MAX_REPS) reps = MAX_REPS;
    if (!realpath(bench_src_dir(), g_src)) bench_fail("LUATRADE_SRC", bench_src_dir());
    log_set_stderr(0);
    struct err e;
    g_wd = sbx_watchdog_new(&e);
    if (!g_wd) bench_fail("watchdog", e.msg);
    const char *tmp = getenv("TMPDIR");
    printf("# var directories in %s; market IOC orders of 1 unit, alternating sides\n",
           tmp && *tmp ? tmp : "/tmp");

    const long *ks = only_k ? &only_k : batch_sizes;
    int nk = only_k ? 1 : NK;
    struct result res[2 * NK];
    int nres = 0;
    for (int sync = 1; sync >= 0; sync--) {
        if (sync_env && *sync_env && atoi(sync_env) != sync) continue;
        for (int i = 0; i < nk; i++)
            res[nres++] = measure(ks[i], sync, n_orders, sync_batches, reps, only);
    }
    if (only) return 0;

    printf("#\n# %-5s %-5s %9s %12s %12s %12s %7s %9s %9s %9s %7s\n", "K", "sync", "orders",
           "host/s best", "host/s med", "raw/s best", "ratio", "cpu ns", "submit ns", "flush ns",
           "B/order");
    const struct result *goal = NULL;
    for (int i = 0; i < nres; i++) {
        const struct result *r = &res[i];
        printf("# %-5ld %-5s %9ld %12.0f %12.0f %12.0f %7.1f %9.0f %9.0f %9.0f %7.0f\n", r->k,
               r->sync ? "yes" : "no", r->orders, r->host_best, r->host_med, r->base_best,
               r->base_best / r->host_best, r->host_cpu_ns, r->submit_ns, r->flush_ns,
               r->bytes_per_order);
        if (r->k == GOAL_K && r->sync) goal = r;
    }
    const char *met = goal ? (goal->host_best >= GOAL_OPS ? "true" : "false") : "null";
    printf("BENCH orders");
    for (int i = 0; i < nres; i++)
        printf(" k%ld_%s_orders_per_s=%.0f k%ld_%s_raw_per_s=%.0f", res[i].k,
               res[i].sync ? "sync" : "nosync", res[i].host_best, res[i].k,
               res[i].sync ? "sync" : "nosync", res[i].base_best);
    printf(" reps=%d goal_orders_per_s=%.0f goal_k=%d goal_met=%s\n", reps, GOAL_OPS, GOAL_K, met);
    printf("{\"bench\":\"orders\",\"reps\":%d,\"runs\":[", reps);
    for (int i = 0; i < nres; i++) {
        const struct result *r = &res[i];
        printf("%s{\"k\":%ld,\"sync\":%s,\"orders\":%ld,\"batches\":%ld,"
               "\"host_orders_per_s\":{\"best\":%.0f,\"median\":%.0f},"
               "\"baseline_orders_per_s\":{\"best\":%.0f,\"median\":%.0f},"
               "\"host_cpu_ns_per_order\":%.0f,\"baseline_cpu_ns_per_order\":%.0f,"
               "\"submit_ns_per_order\":%.0f,\"flush_ns_per_order\":%.0f,"
               "\"bytes_per_order\":%.0f}",
               i ? "," : "", r->k, r->sync ? "true" : "false", r->orders, r->batches, r->host_best,
               r->host_med, r->base_best, r->base_med, r->host_cpu_ns, r->base_cpu_ns, r->submit_ns,
               r->flush_ns, r->bytes_per_order);
    }
    printf("],\"goal\":{\"k\":%d,\"sync\":true,\"orders_per_s\":%.0f},\"goal_met\":%s}\n", GOAL_K,
           GOAL_OPS, met);
    sbx_watchdog_free(g_wd);
    return 0;
}
