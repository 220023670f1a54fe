/* bench_reload.c: hot-reload latency of a 200-line strategy, against the cost of
 * building a bare sandbox measured in the same run.
 *
 * Host path: a real host from a config text (simulated clock, two symbols,
 * tests/bench/reload_strategy.lua: four indicator modules through require, a `state`
 * of a few hundred tables), the strategy started, then strategy_reload called
 * RELOADS times, each timed with CLOCK_MONOTONIC. Every reload is the full
 * transaction: read the file, sha256, new sandbox, API, compile and run the chunk
 * (requires, declaration), params, callbacks, serialize `state` out of the old
 * sandbox and into the new one, on_reload, swap, close the old sandbox, module
 * paths, the STRATEGY_RELOAD event and its log line.
 *
 * Baselines, interleaved with the reloads (one of each per iteration, same
 * watchdog, the text read once beforehand):
 *   new_free     sbx_new + sbx_free: the floor of any reload;
 *   new_load     sbx_new + sbx_load of the same text (compile only) + sbx_free;
 *   new_run      sbx_new + api_register + sbx_load + running the main chunk (the
 *                requires and strategy{}) + sbx_free: a reload minus the state copy,
 *                on_reload and the host's bookkeeping.
 * The ratio reload / new_run is the host's overhead over loading the same script.
 * p50, p90, p99 and max in ms, as a BENCH line and a JSON line. The goal (p50 <= 1
 * ms) is judged on the reload p50 (wall time); the thread CPU time of each reload is
 * reported beside it, since on a shared machine wall time includes preemption.
 *
 * Environment: BENCH_RELOADS (default 1000), LUATRADE_SRC. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bench_common.h"
#include "bench_host.h"
#include "config.h"
#include "host.h"
#include "log.h"
#include "sbx.h"
#include "sbx_watchdog.h"
#include "strategy.h"
#include "util.h"

enum { S_RELOAD, S_NEW_FREE, S_NEW_LOAD, S_NEW_RUN, S__COUNT };
static const char *names[S__COUNT] = {"reload", "new_free", "new_load", "new_run"};

static char g_src[PATH_MAX];

static const char *config_text(void)
{
    static char text[4096];
    snprintf(text, sizeof text,
             "return {\n"
             "  seed = 7, clock = 'sim', start = '2026-01-05T14:30:00Z',\n"
             "  scripts = '%s/scripts',\n"
             "  feed = { kind = 'sim', rate = 10000, trade_ratio = 0.5, symbols = {\n"
             "    AAA = { price = 100, vol = 0.30, drift = 0.05, tick = 0.01, lot = 1, spread = 1, "
             "max_lots = 5 },\n"
             "    BBB = { price = 50, vol = 0.40, drift = 0.02, tick = 0.01, lot = 1, spread = 1, "
             "max_lots = 5 },\n"
             "  } },\n"
             "  strategies = { { script = '%s/tests/bench/reload_strategy.lua' } },\n"
             "  sandbox = { jit = 'auto' },\n"
             "  reload = { watch = false },\n"
             "}\n",
             g_src, g_src);
    return text;
}

/* The sandbox configuration a strategy version gets (strategy.c version_load). */
static struct sbx_config sandbox_config(struct host *h, const char *dir)
{
    return (struct sbx_config){.name = "bench_reload",
                               .seed = 7,
                               .jit = h->sbx_jit,
                               .module_dirs = {dir, h->scripts_dir},
                               .wd = h->wd};
}

static int64_t time_new_free(struct host *h, const char *dir)
{
    struct err e;
    struct sbx_config cfg = sandbox_config(h, dir);
    int64_t t0 = bench_now_ns();
    struct sbx *s = sbx_new(&cfg, &e);
    if (!s) bench_fail("sbx_new", e.msg);
    sbx_free(s);
    return bench_now_ns() - t0;
}

static int64_t time_new_load(struct host *h, const char *dir, const char *text, size_t len,
                             const char *path)
{
    struct err e;
    struct sbx_error se;
    struct sbx_config cfg = sandbox_config(h, dir);
    int64_t t0 = bench_now_ns();
    struct sbx *s = sbx_new(&cfg, &e);
    if (!s) bench_fail("sbx_new", e.msg);
    if (sbx_load(s, text, len, path, &se) != SBX_OK) bench_fail("sbx_load", se.message);
    sbx_free(s);
    return bench_now_ns() - t0;
}

static int64_t time_new_run(struct host *h, const char *dir, const char *text, size_t len,
                            const char *path)
{
    struct err e;
    struct sbx_error se;
    struct sbx_config cfg = sandbox_config(h, dir);
    struct api_ctx ctx = {.host = h, .version = 1};
    util_strlcpy(ctx.strategy_id, "bench_reload", sizeof ctx.strategy_id);
    int64_t t0 = bench_now_ns();
    struct sbx *s = sbx_new(&cfg, &e);
    if (!s) bench_fail("sbx_new", e.msg);
    sbx_set_owner(s, &ctx);
    if (api_register(s, h->mode, &e) != 0) bench_fail("api_register", e.msg);
    if (sbx_load(s, text, len, path, &se) != SBX_OK ||
        sbx_call(s, 0, 0, SBX_BUDGET_LOAD, &se) != SBX_OK)
        bench_fail("main chunk", se.message);
    sbx_free(s);
    int64_t dt = bench_now_ns() - t0;
    if (!ctx.decl.declared) bench_fail("main chunk", "no declaration");
    strategy_decl_free(&ctx.decl);
    return dt;
}

struct stats {
    double p50, p90, p99, max, mean;
};

static struct stats stats_of(double *v, int n)
{
    struct stats s = {0};
    for (int i = 0; i < n; i++) s.mean += v[i] / n;
    s.p50 = bench_quantile(v, n, 0.50);
    s.p90 = bench_quantile(v, n, 0.90);
    s.p99 = bench_quantile(v, n, 0.99);
    s.max = v[n - 1];
    return s;
}

int main(void)
{
    int n = (int)bench_env_long("BENCH_RELOADS", 1000);
    if (!realpath(bench_src_dir(), g_src)) bench_fail("LUATRADE_SRC", bench_src_dir());
    log_set_stderr(0);
    struct err e;
    struct sbx_watchdog *cwd = sbx_watchdog_new(&e);
    if (!cwd) bench_fail("watchdog", e.msg);
    struct config cfg;
    const char *ctext = config_text();
    if (config_load_text("bench.lua", ctext, strlen(ctext), cwd, &cfg, &e) != 0)
        bench_fail("config", e.msg);
    struct host h;
    if (host_init(&h, &cfg, &e) != 0) bench_fail("host_init", e.msg);
    bench_host_start(&h); /* strategies start, the bus held since recovery released */
    struct strategy *st = strategies_at(h.strategies, 0);

    char path[PATH_MAX + 64], dir[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/tests/bench/reload_strategy.lua", g_src);
    snprintf(dir, sizeof dir, "%s/tests/bench", g_src);
    size_t len;
    char *text = util_read_file(path, SBX_DEFAULT_SCRIPT, &len);
    if (!text) bench_fail("read", path);

    double *ms[S__COUNT], *cpu[S__COUNT];
    for (int k = 0; k < S__COUNT; k++) {
        ms[k] = malloc(sizeof(double) * (size_t)n);
        cpu[k] = malloc(sizeof(double) * (size_t)n);
    }
    /* warm-up: page cache, allocator arenas */
    for (int i = 0; i < 20; i++) {
        if (strategy_reload(st, &e) != 0) bench_fail("strategy_reload", e.msg);
        time_new_run(&h, dir, text, len, path);
    }
    for (int i = 0; i < n; i++) {
        int64_t c0 = bench_cpu_ns(), t0 = bench_now_ns();
        if (strategy_reload(st, &e) != 0) bench_fail("strategy_reload", e.msg);
        ms[S_RELOAD][i] = (double)(bench_now_ns() - t0) / 1e6;
        int64_t c1 = bench_cpu_ns();
        ms[S_NEW_FREE][i] = (double)time_new_free(&h, dir) / 1e6;
        int64_t c2 = bench_cpu_ns();
        ms[S_NEW_LOAD][i] = (double)time_new_load(&h, dir, text, len, path) / 1e6;
        int64_t c3 = bench_cpu_ns();
        ms[S_NEW_RUN][i] = (double)time_new_run(&h, dir, text, len, path) / 1e6;
        int64_t c4 = bench_cpu_ns();
        cpu[S_RELOAD][i] = (double)(c1 - c0) / 1e6;
        cpu[S_NEW_FREE][i] = (double)(c2 - c1) / 1e6;
        cpu[S_NEW_LOAD][i] = (double)(c3 - c2) / 1e6;
        cpu[S_NEW_RUN][i] = (double)(c4 - c3) / 1e6;
    }
    if (strategy_status(st) != STRATEGY_RUNNING || strategy_version(st) != (unsigned)(n + 21))
        bench_fail("reload", "the strategy is not running its last version");

    struct stats s[S__COUNT], c[S__COUNT];
    for (int k = 0; k < S__COUNT; k++) {
        s[k] = stats_of(ms[k], n);
        c[k] = stats_of(cpu[k], n);
        printf(
            "# %-9s wall p50 %.3f  p90 %.3f  p99 %.3f  max %.3f ms | cpu p50 %.3f  p99 %.3f ms\n",
            names[k], s[k].p50, s[k].p90, s[k].p99, s[k].max, c[k].p50, c[k].p99);
    }
    double overhead = s[S_RELOAD].p50 / s[S_NEW_RUN].p50;
    double overhead_cpu = c[S_RELOAD].p50 / c[S_NEW_RUN].p50;
    const char *met = s[S_RELOAD].p50 <= 1.0 ? "true" : "false";
    printf(
        "BENCH reload reload_p50_ms=%.3f reload_p90_ms=%.3f reload_p99_ms=%.3f reload_max_ms=%.3f "
        "reload_cpu_p50_ms=%.3f reload_cpu_p99_ms=%.3f new_free_p50_ms=%.3f new_load_p50_ms=%.3f "
        "new_run_p50_ms=%.3f new_run_cpu_p50_ms=%.3f ratio_reload_new_run=%.2f "
        "ratio_reload_new_run_cpu=%.2f reloads=%d script_lines=202 sandbox=%s goal_p50_ms=1.0 "
        "goal_met=%s\n",
        s[S_RELOAD].p50, s[S_RELOAD].p90, s[S_RELOAD].p99, s[S_RELOAD].max, c[S_RELOAD].p50,
        c[S_RELOAD].p99, s[S_NEW_FREE].p50, s[S_NEW_LOAD].p50, s[S_NEW_RUN].p50, c[S_NEW_RUN].p50,
        overhead, overhead_cpu, n, h.sbx_jit ? "jit" : "interpreter", met);
    printf("{\"bench\":\"reload\",\"reloads\":%d,\"sandbox\":\"%s\"", n,
           h.sbx_jit ? "jit" : "interpreter");
    for (int k = 0; k < S__COUNT; k++)
        printf(",\"%s_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f,\"mean\":%.3f,"
               "\"cpu_p50\":%.3f,\"cpu_p99\":%.3f}",
               names[k], s[k].p50, s[k].p90, s[k].p99, s[k].max, s[k].mean, c[k].p50, c[k].p99);
    printf(",\"ratio_reload_new_run\":%.2f,\"ratio_reload_new_run_cpu\":%.2f,\"goal_p50_ms\":1.0,"
           "\"goal_met\":%s}\n",
           overhead, overhead_cpu, met);

    for (int k = 0; k < S__COUNT; k++) {
        free(ms[k]);
        free(cpu[k]);
    }
    free(text);
    host_fini(&h);
    config_free(&cfg);
    sbx_watchdog_free(cwd);
    return 0;
}
