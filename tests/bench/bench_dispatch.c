/* bench_dispatch.c: market-data events per second through one SMA-crossover strategy,
 * on one core, against the bare LuaJIT call as the baseline measured in the same run.
 *
 * Host path: a real host built by host_init from a config text (simulated clock, two
 * symbols, tests/bench/sma_trade.lua), host_run never called. N trades are generated
 * by the host's own feed_sim into an array before any timing; then, per repetition, a
 * fresh host is started (strategies_start_all) and the loop that is timed does what
 * the sim feed driver does per event: advance the clock, fill a struct event,
 * host_publish_market (bar roll, bus, market, routes, api_push_trade, sbx_call with
 * the watchdog bracket, the capped allocator).
 *
 * Baseline: luaL_newstate + luaL_openlibs with the JIT on, package.path pointing at
 * scripts/, the same sma_trade.lua (strategy, class and log stubbed in Lua before it
 * loads), and per event: lua_rawgeti of the on_trade reference, the same table
 * {symbol, price, size, time, seq, n} built with the same C API calls as
 * api_push_trade, lua_pcall.
 *
 * Baseline and host alternate REPS times (fresh states each time, so every run
 * compiles its own traces); min and median ns/event of each and the ratio of the
 * minimums are printed as a BENCH line and a JSON line, with the thread CPU time per
 * event beside them. The goal (ratio <= 1.5) is judged on the CPU-time ratio: on a
 * shared machine wall time also counts the time the thread was preempted, which the
 * per-rep lines show as wall >> cpu. Both runs must report the same trade and
 * crossing totals, or the bench fails.
 *
 * Environment: BENCH_EVENTS (default 2000000), BENCH_REPS (default 5), LUATRADE_SRC,
 * BENCH_ONLY=host|baseline (one side only, for perf record; no summary); for
 * attributing the host's overhead, BENCH_BASE_ALLOC=libc (the bare state allocates
 * with realloc, like the sandbox) and BENCH_BASE_PAUSE=N (its GC pause, the sandbox
 * uses 120). */
#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "bench_host.h"
#include "config.h"
#include "event.h"
#include "feed_sim.h"
#include "fixed.h"
#include "host.h"
#include "log.h"
#include "sbx_watchdog.h"
#include "strategy.h"

#define MAX_REPS 50

/* One pre-generated trade: what the timed loops read. */
struct trade_rec {
    int64_t ts_us;
    int64_t px, qty;
    uint64_t n;
    int sym;
};

static char g_src[PATH_MAX];
static double g_cpu_ns;    /* thread CPU ns per event of the last timed loop */
static char g_totals[256]; /* "trades=N crossings=M" from the last run's on_stop */

static void on_log_line(enum log_level lvl, const char *line, void *arg)
{
    const char *p = strstr(line, "totals trades=");
    if (p) {
        snprintf(g_totals, sizeof g_totals, "%s", p + strlen("totals "));
        char *q = strchr(g_totals, '"'); /* the log may quote the message */
        if (q) *q = '\0';
    }
}

static char *config_text(void)
{
    static char text[4096];
    snprintf(text, sizeof text,
             "return {\n"
             "  seed = 7, clock = 'sim', start = '2026-01-05T14:30:00Z',\n"
             "  scripts = '%s/scripts',\n"
             "  feed = { kind = 'sim', rate = 10000, trade_ratio = 1.0, symbols = {\n"
             "    AAA = { price = 100, vol = 0.30, drift = 0.05, tick = 0.01, lot = 1, spread = 1, "
             "max_lots = 5 },\n"
             "    BBB = { price = 50, vol = 0.40, drift = 0.02, tick = 0.01, lot = 1, spread = 1, "
             "max_lots = 5 },\n"
             "  } },\n"
             "  strategies = { { script = '%s/tests/bench/sma_trade.lua' } },\n"
             "  sandbox = { jit = 'auto' },\n"
             "  reload = { watch = false },\n"
             "}\n",
             g_src, g_src);
    return text;
}

static void host_up(struct host *h, struct config *cfg, struct sbx_watchdog *wd)
{
    struct err e;
    const char *text = config_text();
    if (config_load_text("bench.lua", text, strlen(text), wd, cfg, &e) != 0)
        bench_fail("config", e.msg);
    if (host_init(h, cfg, &e) != 0) bench_fail("host_init", e.msg);
}

static void host_down(struct host *h, struct config *cfg)
{
    host_fini(h);
    config_free(cfg);
}

/* Fills recs from the host's feed with the sim driver's timestamps. */
static void generate(struct trade_rec *recs, long n, struct instruments *ins_out,
                     struct sbx_watchdog *wd)
{
    struct host h;
    struct config cfg;
    host_up(&h, &cfg, wd);
    int64_t start = clock_now_us(&h.clock);
    double interval = feed_sim_interval_us(h.feed);
    for (long i = 0; i < n; i++) {
        struct event ev;
        feed_sim_next(h.feed, &ev);
        if (ev.type != EV_MARKET_DATA || ev.md_kind != MD_TRADE) bench_fail("feed", "not a trade");
        recs[i] = (struct trade_rec){start + (int64_t)((double)i * interval), ev.u.trade.px,
                                     ev.u.trade.qty, ev.u.trade.n, ev.u.trade.sym};
    }
    ins_out->n = h.instruments.n;
    ins_out->v = malloc(sizeof *ins_out->v * (size_t)h.instruments.n);
    memcpy(ins_out->v, h.instruments.v, sizeof *ins_out->v * (size_t)h.instruments.n);
    printf("# sandbox mode: %s\n", h.sbx_jit ? "jit (probe passed)" : "interpreter (probe failed)");
    host_down(&h, &cfg);
}

/* ---- the host run --------------------------------------------------------------------- */

static double run_host(const struct trade_rec *recs, long n, struct sbx_watchdog *wd, char *totals,
                       size_t tn)
{
    struct host h;
    struct config cfg;
    host_up(&h, &cfg, wd);
    bench_host_start(&h); /* strategies start, the bus held since recovery released */
    struct event ev = {.type = EV_MARKET_DATA, .md_kind = MD_TRADE};
    strcpy(ev.source, "feed_sim");
    int64_t c0 = bench_cpu_ns(), t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        const struct trade_rec *r = &recs[i];
        clock_advance_to(&h.clock, r->ts_us);
        ev.seq = 0;
        ev.ts_us = r->ts_us;
        ev.u.trade = (struct trade){r->sym, r->px, r->qty, r->n};
        ev.data = NULL;
        host_publish_market(&h, &ev);
    }
    int64_t t1 = bench_now_ns(), c1 = bench_cpu_ns();
    g_cpu_ns = (double)(c1 - c0) / (double)n;
    struct strategy *st = strategies_at(h.strategies, 0);
    if (strategy_status(st) != STRATEGY_RUNNING || strategy_errors(st) != 0)
        bench_fail("host", strategy_last_error(st));
    g_totals[0] = '\0';
    host_down(&h, &cfg); /* on_stop logs the totals */
    snprintf(totals, tn, "%s", g_totals);
    return (double)(t1 - t0) / (double)n;
}

/* ---- the baseline --------------------------------------------------------------------- */

static const char *stubs =
    "local classes = {}\n"
    "function class(name)\n"
    "  local mt = classes[name]\n"
    "  if not mt then mt = { __class = name }; mt.__index = mt; classes[name] = mt end\n"
    "  return mt\n"
    "end\n"
    "function strategy(decl) end\n"
    "log = { info = function(fmt, ...) bench_totals = string.format(fmt, ...) end }\n";

static void lcheck(lua_State *L, int rc, const char *what)
{
    if (rc != 0) bench_fail(what, lua_tostring(L, -1));
}

/* A plain realloc allocator (what the sandbox's capped allocator does, minus the
 * accounting), for BENCH_BASE_ALLOC=libc. */
static void *libc_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, nsize);
}

static double run_baseline(const struct trade_rec *recs, long n, const struct instruments *ins,
                           char *totals, size_t tn)
{
    /* Attribution knobs (not part of the default run): the sandbox's allocator kind and
     * GC pause applied to the bare state. */
    const char *alloc = getenv("BENCH_BASE_ALLOC");
    long pause = bench_env_long("BENCH_BASE_PAUSE", 0);
    lua_State *L =
        alloc && !strcmp(alloc, "libc") ? lua_newstate(libc_alloc, NULL) : luaL_newstate();
    if (!L) bench_fail("baseline", "cannot create a state");
    if (pause) lua_gc(L, LUA_GCSETPAUSE, (int)pause);
    luaL_openlibs(L);
    luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_ON);
    char path[3 * PATH_MAX];
    snprintf(path, sizeof path, "%s/scripts/?.lua;%s/scripts/?/init.lua", g_src, g_src);
    lua_getglobal(L, "package");
    lua_pushstring(L, path);
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
    lcheck(L, luaL_loadstring(L, stubs) || lua_pcall(L, 0, 0, 0), "baseline stubs");
    char file[PATH_MAX + 64];
    snprintf(file, sizeof file, "%s/tests/bench/sma_trade.lua", g_src);
    lcheck(L, luaL_loadfile(L, file) || lua_pcall(L, 0, 0, 0), "baseline load");
    lua_getglobal(L, "on_trade");
    int ref = luaL_ref(L, LUA_REGISTRYINDEX);

    int64_t c0 = bench_cpu_ns(), t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        const struct trade_rec *r = &recs[i];
        const struct instrument *in = &ins->v[r->sym];
        lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
        /* the same calls as api_push_trade */
        lua_createtable(L, 0, 6);
        lua_pushstring(L, in->symbol);
        lua_setfield(L, -2, "symbol");
        lua_pushnumber(L, fx_to_double(r->px, in->px_dp));
        lua_setfield(L, -2, "price");
        lua_pushnumber(L, fx_to_double(r->qty, in->qty_dp));
        lua_setfield(L, -2, "size");
        lua_pushnumber(L, (double)r->ts_us / 1e6);
        lua_setfield(L, -2, "time");
        lua_pushnumber(L, (double)(i + 1));
        lua_setfield(L, -2, "seq");
        lua_pushnumber(L, (double)r->n);
        lua_setfield(L, -2, "n");
        if (lua_pcall(L, 1, 0, 0) != 0) bench_fail("baseline call", lua_tostring(L, -1));
    }
    int64_t t1 = bench_now_ns(), c1 = bench_cpu_ns();
    g_cpu_ns = (double)(c1 - c0) / (double)n;

    lua_getglobal(L, "on_stop");
    lcheck(L, lua_pcall(L, 0, 0, 0), "baseline on_stop");
    lua_getglobal(L, "bench_totals");
    const char *s = lua_tostring(L, -1);
    const char *p = s ? strstr(s, "trades=") : NULL;
    snprintf(totals, tn, "%s", p ? p : "?");
    lua_close(L);
    return (double)(t1 - t0) / (double)n;
}

int main(void)
{
    long n = bench_env_long("BENCH_EVENTS", 2000000);
    int reps = (int)bench_env_long("BENCH_REPS", 5);
    if (reps > MAX_REPS) reps = MAX_REPS;
    if (!realpath(bench_src_dir(), g_src)) bench_fail("LUATRADE_SRC", bench_src_dir());
    log_set_stderr(0);
    log_set_listener(on_log_line, NULL);
    struct err e;
    struct sbx_watchdog *wd = sbx_watchdog_new(&e);
    if (!wd) bench_fail("watchdog", e.msg);

    struct trade_rec *recs = malloc(sizeof *recs * (size_t)n);
    if (!recs) bench_fail("events", "out of memory");
    struct instruments ins;
    generate(recs, n, &ins, wd);

    /* BENCH_ONLY=host or baseline runs one side (for perf record); no BENCH line then */
    const char *only = getenv("BENCH_ONLY");
    if (only && *only) {
        char tot[256];
        for (int r = 0; r < reps; r++) {
            double ns = !strcmp(only, "host") ? run_host(recs, n, wd, tot, sizeof tot)
                                              : run_baseline(recs, n, &ins, tot, sizeof tot);
            printf("# %s rep %d: %.1f ns/event (cpu %.1f) %s\n", only, r + 1, ns, g_cpu_ns, tot);
        }
        return 0;
    }
    double host_ns[MAX_REPS], base_ns[MAX_REPS], host_cpu[MAX_REPS], base_cpu[MAX_REPS];
    char host_tot[256] = "", base_tot[256] = "";
    for (int r = 0; r < reps; r++) {
        base_ns[r] = run_baseline(recs, n, &ins, base_tot, sizeof base_tot);
        base_cpu[r] = g_cpu_ns;
        host_ns[r] = run_host(recs, n, wd, host_tot, sizeof host_tot);
        host_cpu[r] = g_cpu_ns;
        printf("# rep %d: baseline %.1f ns/event (cpu %.1f), host %.1f ns/event (cpu %.1f)\n",
               r + 1, base_ns[r], base_cpu[r], host_ns[r], host_cpu[r]);
        fflush(stdout);
        if (strcmp(host_tot, base_tot) != 0) {
            fprintf(stderr, "bench: host (%s) and baseline (%s) disagree\n", host_tot, base_tot);
            return 2;
        }
    }
    double hmin = bench_min(host_ns, reps), bmin = bench_min(base_ns, reps);
    double hmed = bench_median(host_ns, reps), bmed = bench_median(base_ns, reps);
    double hcpu = bench_min(host_cpu, reps), bcpu = bench_min(base_cpu, reps);
    double ratio = hmin / bmin, ratio_med = hmed / bmed, ratio_cpu = hcpu / bcpu;
    const char *met = ratio_cpu <= 1.5 ? "true" : "false";
    printf("# totals per run: %s\n", host_tot);
    printf("BENCH dispatch host_ns_per_event=%.1f baseline_ns_per_event=%.1f ratio=%.3f "
           "host_median_ns=%.1f baseline_median_ns=%.1f ratio_median=%.3f "
           "host_cpu_ns=%.1f baseline_cpu_ns=%.1f ratio_cpu=%.3f events=%ld reps=%d "
           "host_events_per_s=%.0f goal_ratio=1.5 goal_met=%s\n",
           hmin, bmin, ratio, hmed, bmed, ratio_med, hcpu, bcpu, ratio_cpu, n, reps, 1e9 / hmin,
           met);
    printf("{\"bench\":\"dispatch\",\"events\":%ld,\"reps\":%d,"
           "\"host_ns_per_event\":{\"min\":%.1f,\"median\":%.1f,\"cpu_min\":%.1f},"
           "\"baseline_ns_per_event\":{\"min\":%.1f,\"median\":%.1f,\"cpu_min\":%.1f},"
           "\"ratio\":%.3f,\"ratio_median\":%.3f,\"ratio_cpu\":%.3f,\"host_events_per_s\":%.0f,"
           "\"goal_ratio\":1.5,\"goal_met\":%s}\n",
           n, reps, hmin, hmed, hcpu, bmin, bmed, bcpu, ratio, ratio_med, ratio_cpu, 1e9 / hmin,
           met);
    free(ins.v);
    free(recs);
    sbx_watchdog_free(wd);
    return 0;
}
