/* fuzz_rest.c: arbitrary HTTP requests to a whole host: every REST route (strategies,
 * orders, limits, the kill switch, events, market data, metrics, logs) with the bodies
 * and query strings the fuzzer invents, against real state.
 *
 * LLVMFuzzerInitialize builds a host (fuzz_host.h: sim feed of two symbols, a strategy
 * that trades, the paper venue and the journal in a scratch var directory, warmed up
 * with a few thousand market events) with the server on 127.0.0.1, a known token and
 * no rate limit. The loop is never run free: each input is one request (fuzz_http_client.h),
 * then a few more market events. The state grows as inputs place orders, change
 * limits, start and stop strategies and trip the kill switch; what is checked is that
 * nothing crashes, leaks or trips an assertion, whatever the order of calls. */
#include "fuzz_host.h"
#include "http.h"

#define TOKEN "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static char text[2048];
    snprintf(text, sizeof text,
             "return { clock = 'sim', journal = { sync = false },\n"
             "  feed = { symbols = { AAPL = { price = 190 }, MSFT = { price = 410 } } },\n"
             "  risk = { max_order_qty = 500, price_band_pct = 5 },\n"
             "  strategies = { { script = '%s/strategies/sma_cross.lua', id = 'sma' } },\n"
             "  http = { listen = '127.0.0.1:0', token = '" TOKEN "', rate = 0 } }\n",
             LUATRADE_SRC_DIR);
    fuzz_host_start("fuzz_rest", text);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_http_send(fuzz_host.base, http_port(fuzz_host.http), data, size);
    fuzz_host_feed(20);
    return 0;
}
