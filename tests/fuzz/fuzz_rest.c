/* fuzz_rest.c: arbitrary HTTP requests to a whole host: every REST route (strategies,
 * orders, limits, the kill switch, events, market data, metrics, logs) with the bodies
 * and query strings the fuzzer invents, against real state.
 *
 * LLVMFuzzerInitialize builds a host the way `luatrade run` does (sim feed of two
 * symbols, a strategy that trades, the paper venue and the journal in a scratch var
 * directory, the server on 127.0.0.1 with a known token and no rate limit), starts the
 * strategy and publishes a few thousand market events so that quotes, bars and orders
 * exist. The loop is never run free: each input is one request (fuzz_http_client.h),
 * then a few more market events. The state grows as inputs place orders, change
 * limits, start and stop strategies and trip the kill switch; what is checked is that
 * nothing crashes, leaks or trips an assertion, whatever the order of calls. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "event.h"
#include "feed_sim.h"
#include "fuzz_common.h"
#include "fuzz_http_client.h"
#include "host.h"
#include "http.h"
#include "oms.h"
#include "strategy.h"
#include "util.h"

#define TOKEN "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz"

static struct host host;
static struct config cfg;

static void feed(int n)
{
    for (int i = 0; i < n; i++) {
        struct event ev;
        feed_sim_next(host.feed, &ev);
        clock_advance_to(&host.clock, clock_now_us(&host.clock) + 1000);
        ev.ts_us = clock_now_us(&host.clock);
        host_publish_market(&host, &ev);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct sbx_watchdog *wd = fuzz_watchdog();
    static char text[2048];
    snprintf(text, sizeof text,
             "return { clock = 'sim', journal = { sync = false },\n"
             "  feed = { symbols = { AAPL = { price = 190 }, MSFT = { price = 410 } } },\n"
             "  risk = { max_order_qty = 500, price_band_pct = 5 },\n"
             "  strategies = { { script = '%s/strategies/sma_cross.lua', id = 'sma' } },\n"
             "  http = { listen = '127.0.0.1:0', token = '" TOKEN "', rate = 0 } }\n",
             LUATRADE_SRC_DIR);
    struct err e;
    if (config_load_text("fuzz_rest.lua", text, strlen(text), wd, &cfg, &e) != 0) {
        fprintf(stderr, "fuzz_rest: %s\n", e.msg);
        abort();
    }
    cfg.var_dir = xstrdup(fuzz_scratch_dir("fuzz_rest"));
    cfg.scripts_dir = xstrdup(LUATRADE_SRC_DIR "/scripts");
    if (host_init(&host, &cfg, &e) != 0) {
        fprintf(stderr, "fuzz_rest: %s\n", e.msg);
        abort();
    }
    CHECK(strategies_start_all(host.strategies) == 0);
    oms_publish_recovered(host.oms);
    feed(5000);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_http_send(host.base, http_port(host.http), data, size);
    feed(20);
    return 0;
}
