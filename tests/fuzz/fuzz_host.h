/* fuzz_host.h: a whole host for the fuzz targets that drive one through its interfaces
 * (fuzz_rest: every REST route; fuzz_console: console sessions), built the way
 * `luatrade run` builds it but never run free: the target moves its loop itself.
 *
 * fuzz_host_start loads the config text, gives the host a scratch var directory (the
 * journal, token, audit log and console socket; removed at exit) and the tree's
 * scripts, starts its strategies and publishes FUZZ_HOST_WARMUP sim events, so that
 * quotes, bars and orders exist before the first input. fuzz_host_feed publishes more,
 * 1 ms apart on the simulated clock. Any failure aborts.
 *
 * Sandboxes run without the JIT: a trace the recorder abandons (a CPU stop, a fault)
 * can leave LuaJIT's IR buffer held only through a biased pointer, which
 * LeakSanitizer's per-input check takes for a leak while the state is still open (the
 * host frees it at exit; the ASan tests of the real binary check that). The targets
 * fuzz the interfaces, not the JIT. */
#ifndef LUATRADE_FUZZ_HOST_H
#define LUATRADE_FUZZ_HOST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "event.h"
#include "feed_sim.h"
#include "fuzz_common.h"
#include "fuzz_http_client.h"
#include "host.h"
#include "oms.h"
#include "strategy.h"
#include "util.h"

#define FUZZ_HOST_WARMUP 5000

static struct host fuzz_host;
static struct config fuzz_cfg;

static inline void fuzz_host_feed(int n)
{
    for (int i = 0; i < n; i++) {
        struct event ev;
        feed_sim_next(fuzz_host.feed, &ev);
        clock_advance_to(&fuzz_host.clock, clock_now_us(&fuzz_host.clock) + 1000);
        ev.ts_us = clock_now_us(&fuzz_host.clock);
        host_publish_market(&fuzz_host, &ev);
    }
}

/* name: the target's, for messages and the scratch directory; text: the config. */
static inline void fuzz_host_start(const char *name, const char *text)
{
    struct sbx_watchdog *wd = fuzz_watchdog();
    struct err e;
    if (config_load_text(name, text, strlen(text), wd, &fuzz_cfg, &e) != 0) {
        fprintf(stderr, "%s: %s\n", name, e.msg);
        abort();
    }
    fuzz_cfg.jit = 0;
    fuzz_cfg.var_dir = xstrdup(fuzz_scratch_dir(name));
    fuzz_cfg.scripts_dir = xstrdup(LUATRADE_SRC_DIR "/scripts");
    if (host_init(&fuzz_host, &fuzz_cfg, &e) != 0) {
        fprintf(stderr, "%s: %s\n", name, e.msg);
        abort();
    }
    CHECK(strategies_start_all(fuzz_host.strategies) == 0);
    oms_publish_recovered(fuzz_host.oms);
    fuzz_host_feed(FUZZ_HOST_WARMUP);
}

#endif
