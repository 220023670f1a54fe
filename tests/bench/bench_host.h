/* bench_host.h: a real host for the benchmarks, built the way the command builds one
 * but driven by the bench (header only, like bench_common.h).
 *
 * bench_host_up loads a config text and runs host_init; with a var directory the
 * journal (var/journal.wal) and the paper venue's book (var/paper-venue.wal) are on, as
 * under `luatrade --var DIR`. bench_host_start does what host_run does before its loop:
 * starts the strategies and publishes what recovery produced. host_run itself
 * is never called: the bench publishes market data with host_publish_market and calls
 * oms_submit/oms_flush directly, so no libevent callback and no host timer runs.
 *
 * Var directories are made under $TMPDIR (default /tmp) and removed with what the host
 * put in them. Percentile figures use bench_quantile (nearest rank). */
#ifndef LUATRADE_BENCH_HOST_H
#define LUATRADE_BENCH_HOST_H

#include <ftw.h> /* nftw: _GNU_SOURCE comes with luatrade_core */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_common.h"
#include "bus.h"
#include "config.h"
#include "host.h"
#include "oms.h"
#include "strategy.h"
#include "util.h"

/* Makes a fresh var directory in $TMPDIR; out must hold PATH_MAX bytes. */
static inline void bench_var_make(char *out, size_t n, const char *name)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(out, n, "%s/luatrade-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
    if (!mkdtemp(out)) bench_fail("mkdtemp", out);
}

static int bench_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static inline void bench_var_remove(const char *dir)
{
    if (dir && *dir) nftw(dir, bench_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Size of a file in bytes, 0 when missing. */
static inline long long bench_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* Loads text into cfg (var_dir NULL: no journal, no venue book) and builds the host. */
static inline void bench_host_up(struct host *h, struct config *cfg, const char *text,
                                 const char *var_dir, struct sbx_watchdog *wd)
{
    struct err e;
    if (config_load_text("bench.lua", text, strlen(text), wd, cfg, &e) != 0)
        bench_fail("config", e.msg);
    if (var_dir) cfg->var_dir = xstrdup(var_dir);
    cfg->http_enabled = 0; /* no server in benchmarks of the trading path */
    if (host_init(h, cfg, &e) != 0) bench_fail("host_init", e.msg);
}

/* What host_run does before its loop: strategies start, recovery's events go out and
 * whatever is pending is flushed. */
static inline void bench_host_start(struct host *h)
{
    if (strategies_start_all(h->strategies) != 0) bench_fail("host", "a strategy did not start");
    oms_publish_recovered(h->oms);
    if (h->oms && oms_pending(h->oms)) oms_flush(h->oms);
}

static inline void bench_host_down(struct host *h, struct config *cfg)
{
    host_fini(h);
    config_free(cfg);
}

#endif
