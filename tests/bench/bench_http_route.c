/* bench_http_route.c: what the GET /api/portfolio route itself costs (building and
 * printing its JSON) as the account's equity curve grows, next to the same route on
 * the curve bench_http.py sees (8 samples), measured in the same run.
 *
 * The host samples equity once per second (oms tick), keeping up to PORTFOLIO_CURVE_MAX
 * (1,000,000) samples, and every portfolio_metrics call walks the whole retained curve:
 * it allocates an array of returns, computes mean and deviations and sorts it (qsort,
 * for var95). The wrk benchmark runs 10 s after start, so it sees a curve of about 8
 * samples; a host that has run for an hour has 3,600, a day 86,400, 11.6 days the cap.
 *
 * Per curve length N (8, 3600, 23400, 86400, 1000000): a fresh portfolio with one
 * instrument, a position opened by two fills, N samples of equity as the mark walks
 * (seeded), then timed (CLOCK_MONOTONIC, thread CPU beside it):
 *   metrics   portfolio_metrics alone;
 *   route     what rest_orders.c's portfolio() does before http_reply: totals and
 *             metrics JSON, the exposure aliases, cJSON_PrintUnformatted, cJSON_Delete.
 * Baseline: the route at N = 8. The ratio route(N) / route(8) is what a long-running
 * host pays per request; compare it with the whole HTTP request's CPU on this machine
 * (about 20 us for a plain evhttp reply, bench_http.py's baseline).
 *
 * Environment: BENCH_MIN_MS (time per figure, default 300 ms; at least 5 calls). */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "err.h"
#include "instrument.h"
#include "portfolio.h"

#define NLENS 5
static const int lens[NLENS] = {8, 3600, 23400, 86400, 1000000};

static struct portfolio *portfolio_with_curve(const struct instruments *ins, int n)
{
    struct portfolio *p = portfolio_new(ins, 1000000LL * 1000000, 252.0 * 23400);
    struct fill f = {.order_id = 1, .sym = 0, .side = 1, .px = 19000, .qty = 100, .ts_us = 1};
    strcpy(f.exec_id, "e1");
    portfolio_apply_fill(p, "bench", &f);
    f.order_id = 2, f.px = 19010, f.qty = 50;
    strcpy(f.exec_id, "e2");
    portfolio_apply_fill(p, "bench", &f);
    uint64_t x = 88172645463325252ULL;
    int64_t px = 19000;
    for (int i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        px += (int64_t)(x % 21) - 10;
        if (px < 100) px = 100;
        portfolio_mark(p, 0, px);
        portfolio_sample(p, (int64_t)i * 1000000);
    }
    return p;
}

/* The body of rest_orders.c portfolio() for the total account, printed and freed. */
static size_t route_body(struct portfolio *p)
{
    cJSON *o = portfolio_totals_json(p, NULL);
    cJSON_AddItemToObject(o, "realized_pnl",
                          cJSON_Duplicate(cJSON_GetObjectItem(o, "realized"), 1));
    cJSON_AddItemToObject(o, "unrealized_pnl",
                          cJSON_Duplicate(cJSON_GetObjectItem(o, "unrealized"), 1));
    cJSON *x = cJSON_AddObjectToObject(o, "exposure");
    cJSON_AddItemToObject(x, "gross", cJSON_Duplicate(cJSON_GetObjectItem(o, "gross_exposure"), 1));
    cJSON_AddItemToObject(x, "net", cJSON_Duplicate(cJSON_GetObjectItem(o, "net_exposure"), 1));
    cJSON_AddItemToObject(o, "metrics", portfolio_metrics_json(p, NULL));
    cJSON_AddStringToObject(o, "trading_state", "ACTIVE");
    cJSON_AddBoolToObject(o, "kill", 0);
    cJSON_AddNullToObject(o, "strategy");
    char *text = cJSON_PrintUnformatted(o);
    size_t n = strlen(text);
    free(text);
    cJSON_Delete(o);
    return n;
}

struct timing {
    double wall_us, cpu_us;
    long calls;
};

static struct timing time_calls(struct portfolio *p, int route, long min_ns)
{
    struct timing t = {0};
    int64_t w0 = bench_now_ns(), c0 = bench_cpu_ns();
    volatile double sink = 0;
    while (t.calls < 5 || bench_now_ns() - w0 < min_ns) {
        if (route) {
            sink += (double)route_body(p);
        } else {
            struct portfolio_metrics m;
            portfolio_metrics(p, NULL, &m);
            sink += m.sharpe;
        }
        t.calls++;
    }
    t.wall_us = (double)(bench_now_ns() - w0) / 1e3 / (double)t.calls;
    t.cpu_us = (double)(bench_cpu_ns() - c0) / 1e3 / (double)t.calls;
    (void)sink;
    return t;
}

int main(void)
{
    long min_ns = bench_env_long("BENCH_MIN_MS", 300) * 1000000L;
    struct instruments ins = {0};
    struct instrument aapl = {.symbol = "AAPL", .px_dp = 2, .tick = 1, .qty_dp = 0, .lot = 1};
    struct err e;
    if (instruments_add(&ins, &aapl, &e) != 0) {
        fprintf(stderr, "bench_http_route: %s\n", e.msg);
        return 2;
    }
    struct timing metrics[NLENS], route[NLENS];
    size_t bytes[NLENS];
    printf("# bench_http_route: GET /api/portfolio body (build + print) by equity curve length\n");
    for (int i = 0; i < NLENS; i++) {
        struct portfolio *p = portfolio_with_curve(&ins, lens[i]);
        bytes[i] = route_body(p);
        metrics[i] = time_calls(p, 0, min_ns);
        route[i] = time_calls(p, 1, min_ns);
        printf("# curve %7d samples (%5.1f h of 1 s samples): route %10.1f us (cpu %10.1f), "
               "metrics alone %10.1f us, reply %zu bytes, x%.1f the 8-sample route\n",
               lens[i], lens[i] / 3600.0, route[i].wall_us, route[i].cpu_us, metrics[i].wall_us,
               bytes[i], route[i].cpu_us / route[0].cpu_us);
        portfolio_free(p);
    }
    printf("BENCH http_route");
    for (int i = 0; i < NLENS; i++)
        printf(" route_us_%d=%.1f metrics_us_%d=%.1f", lens[i], route[i].cpu_us, lens[i],
               metrics[i].cpu_us);
    printf(" baseline_route_us_8=%.2f\n{\"bench\":\"http_route\",\"curves\":[", route[0].cpu_us);
    for (int i = 0; i < NLENS; i++)
        printf("%s{\"samples\":%d,\"route_us\":%.2f,\"route_wall_us\":%.2f,\"metrics_us\":%.2f,"
               "\"bytes\":%zu,\"ratio\":%.2f}",
               i ? "," : "", lens[i], route[i].cpu_us, route[i].wall_us, metrics[i].cpu_us,
               bytes[i], route[i].cpu_us / route[0].cpu_us);
    printf("]}\n");
    instruments_free(&ins);
    return 0;
}
