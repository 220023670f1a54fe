/* Unit tests for metrics: the bucket table, observing (bounds are inclusive, +Inf, negative
 * durations), quantile estimates against hand-computed Prometheus histogram_quantile
 * values, differences of histograms, the text format (shortest round-trip doubles, label
 * and HELP escaping, cumulative buckets ending in +Inf equal to _count, _sum in seconds),
 * tick-to-order pairing, the loop-lag probe on a real libevent loop that is made to stall,
 * and the /api/stats summary and the page of a host that has only a bus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <event2/event.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "host.h"
#include "metrics.h"
#include "util.h"

static void test_bounds(void **unused)
{
    assert_int_equal(metrics_hist_bound_ns(0), 500);
    assert_int_equal(metrics_hist_bound_ns(1), 1000);
    assert_int_equal(metrics_hist_bound_ns(2), 1500);
    assert_int_equal(metrics_hist_bound_ns(METRICS_HIST_BOUNDS - 1), 10000000000LL);
    for (int i = 1; i < METRICS_HIST_BOUNDS; i++)
        assert_true(metrics_hist_bound_ns(i) > metrics_hist_bound_ns(i - 1));
}

static void test_observe(void **unused)
{
    struct metrics_hist h = {0};
    metrics_hist_observe(&h, -5);            /* clamped to 0: first bucket */
    metrics_hist_observe(&h, 500);           /* on the bound: le="5e-07" */
    metrics_hist_observe(&h, 501);           /* next bucket */
    metrics_hist_observe(&h, 1000);          /* still that one (le="1e-06") */
    metrics_hist_observe(&h, 2500);          /* (2000, 3000] */
    metrics_hist_observe(&h, 20000000000LL); /* +Inf */
    assert_int_equal(h.count, 6);
    assert_int_equal(h.sum_ns, 0 + 500 + 501 + 1000 + 2500 + 20000000000ULL);
    assert_int_equal(h.bucket[0], 2);
    assert_int_equal(h.bucket[1], 2);
    assert_int_equal(h.bucket[4], 1); /* bounds 500 1000 1500 2000 3000 */
    assert_int_equal(h.bucket[METRICS_HIST_BOUNDS], 1);
    uint64_t total = 0;
    for (int i = 0; i <= METRICS_HIST_BOUNDS; i++) total += h.bucket[i];
    assert_int_equal(total, h.count);
}

static void test_quantile(void **unused)
{
    struct metrics_hist h = {0};
    assert_true(isnan(metrics_hist_quantile(&h, 0.5)));
    /* 10 in (1000, 1500], 10 in (1500, 2000]: p50 is rank 10, the top of the first of
     * them; p75 is rank 15, half way through (1500, 2000] */
    for (int i = 0; i < 10; i++) metrics_hist_observe(&h, 1200);
    for (int i = 0; i < 10; i++) metrics_hist_observe(&h, 1800);
    assert_float_equal(metrics_hist_quantile(&h, 0.5), 1500, 1e-9);
    assert_float_equal(metrics_hist_quantile(&h, 0.75), 1750, 1e-9);
    assert_float_equal(metrics_hist_quantile(&h, 0.25), 1250, 1e-9);
    assert_float_equal(metrics_hist_quantile(&h, 1), 2000, 1e-9);
    /* empty leading buckets are skipped: q=0 is the lower bound of the first used one */
    assert_float_equal(metrics_hist_quantile(&h, 0), 1000, 1e-9);
    assert_true(isnan(metrics_hist_quantile(&h, 1.5)));
    /* the first bucket interpolates from 0 */
    struct metrics_hist f = {0};
    for (int i = 0; i < 4; i++) metrics_hist_observe(&f, 100);
    assert_float_equal(metrics_hist_quantile(&f, 0.5), 250, 1e-9);
    /* in +Inf: the highest finite bound */
    struct metrics_hist inf = {0};
    metrics_hist_observe(&inf, 30000000000LL);
    assert_float_equal(metrics_hist_quantile(&inf, 0.99), 10000000000.0, 1e-3);
}

static void test_quantile_accuracy(void **unused)
{
    /* values spread evenly over 1..100 µs: the estimate stays within one bucket's width */
    struct metrics_hist h = {0};
    for (int64_t ns = 1000; ns <= 100000; ns += 10) metrics_hist_observe(&h, ns);
    double p50 = metrics_hist_quantile(&h, 0.5), p99 = metrics_hist_quantile(&h, 0.99);
    assert_true(fabs(p50 - 50500) / 50500 < 0.05);
    assert_true(fabs(p99 - 99010) / 99010 < 0.05);
}

static void test_diff(void **unused)
{
    struct metrics_hist a = {0}, b, d;
    metrics_hist_observe(&a, 1000);
    b = a;
    metrics_hist_observe(&b, 5000);
    metrics_hist_observe(&b, 5000);
    metrics_hist_diff(&d, &b, &a);
    assert_int_equal(d.count, 2);
    assert_int_equal(d.sum_ns, 10000);
    assert_int_equal(d.bucket[1], 0);
    assert_float_equal(metrics_hist_quantile(&d, 0.5), 4000, 1e-9); /* (3000, 5000] */
}

static void expect_double(double v, const char *want)
{
    struct buf b = BUF_INIT;
    metrics_put_double(&b, v);
    assert_string_equal(b.p, want);
    buf_free(&b);
}

static void test_doubles(void **unused)
{
    expect_double(0.1, "0.1");
    expect_double(1e-06, "1e-06");
    expect_double(1.5e-06, "1.5e-06");
    expect_double(7e-07 * 10, "7e-06");
    expect_double(100, "100");
    expect_double(0, "0");
    expect_double(0.25, "0.25");
    expect_double(NAN, "NaN");
    expect_double(INFINITY, "+Inf");
    expect_double(-INFINITY, "-Inf");
    struct buf b = BUF_INIT;
    metrics_put_double(&b, 1.0 / 3);
    assert_true(strtod(b.p, NULL) == 1.0 / 3); /* round-trips */
    assert_true(strlen(b.p) <= 19);
    buf_free(&b);
    /* every bucket bound in seconds prints short (no 0.10000000000000001) */
    for (int i = 0; i < METRICS_HIST_BOUNDS; i++) {
        metrics_put_double(&b, (double)metrics_hist_bound_ns(i) / 1e9);
        assert_true(b.len <= 7); /* "1.5e-06" */
        buf_reset(&b);
    }
    buf_free(&b);
}

static void test_escaping(void **unused)
{
    struct buf b = BUF_INIT;
    metrics_put_label_value(&b, "a\"b\\c\nd");
    assert_string_equal(b.p, "a\\\"b\\\\c\\nd");
    buf_reset(&b);
    struct metrics_label ls[] = {{"strategy", "x\"y"}, {"kind", "back\\slash"}};
    metrics_put_count(&b, "t_total", ls, 2, 7);
    assert_string_equal(b.p, "t_total{strategy=\"x\\\"y\",kind=\"back\\\\slash\"} 7\n");
    buf_reset(&b);
    metrics_put_sample(&b, "g", NULL, 0, 0.5);
    assert_string_equal(b.p, "g 0.5\n");
    buf_reset(&b);
    /* HELP escapes backslash and newline, not quotes */
    metrics_put_family(&b, "t_total", "counter", "say \"hi\"\\ then\nmore");
    assert_string_equal(b.p, "# HELP t_total say \"hi\"\\\\ then\\nmore\n# TYPE t_total counter\n");
    buf_free(&b);
}

static void test_hist_text(void **unused)
{
    struct metrics_hist h = {0};
    metrics_hist_observe(&h, 800);           /* (500, 1000] */
    metrics_hist_observe(&h, 1500000);       /* 1.5 ms: on a bound */
    metrics_hist_observe(&h, 99000000000LL); /* +Inf */
    struct buf b = BUF_INIT;
    struct metrics_label l = {"strategy", "s\"1"};
    metrics_put_hist(&b, "x_seconds", &l, 1, &h);
    int lines = 0;
    for (size_t i = 0; i < b.len; i++) lines += b.p[i] == '\n';
    assert_int_equal(lines, METRICS_HIST_BOUNDS + 1 + 2);
    assert_non_null(strstr(b.p, "x_seconds_bucket{strategy=\"s\\\"1\",le=\"5e-07\"} 0\n"));
    assert_non_null(strstr(b.p, "x_seconds_bucket{strategy=\"s\\\"1\",le=\"1e-06\"} 1\n"));
    assert_non_null(strstr(b.p, "x_seconds_bucket{strategy=\"s\\\"1\",le=\"0.0015\"} 2\n"));
    assert_non_null(strstr(b.p, "x_seconds_bucket{strategy=\"s\\\"1\",le=\"10\"} 2\n"));
    assert_non_null(strstr(b.p, "x_seconds_bucket{strategy=\"s\\\"1\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(b.p, "x_seconds_sum{strategy=\"s\\\"1\"} 99.0015008\n"));
    assert_non_null(strstr(b.p, "x_seconds_count{strategy=\"s\\\"1\"} 3\n"));
    /* buckets never decrease */
    uint64_t prev = 0;
    for (const char *p = b.p; (p = strstr(p, "_bucket{")); p++) {
        uint64_t v = strtoull(strchr(p, '}') + 2, NULL, 10);
        assert_true(v >= prev);
        prev = v;
    }
    buf_free(&b);
}

/* A host with only what metrics_new needs: a loop, a clock and a bus. */
static void host_min(struct host *h)
{
    memset(h, 0, sizeof *h);
    h->base = event_base_new();
    clock_init_wall(&h->clock);
    h->bus = bus_new(&h->clock);
}

static void host_min_free(struct host *h)
{
    bus_free(h->bus);
    event_base_free(h->base);
}

static void test_tick_to_order(void **unused)
{
    struct host h;
    host_min(&h);
    struct metrics *m = metrics_new(&h);
    int64_t t0 = mono_ns();
    metrics_tick_done(m, t0); /* nothing sent: no sample */
    assert_int_equal(metrics_tick_to_order(m)->count, 0);
    t0 = mono_ns();
    metrics_order_sent(m);
    metrics_order_sent(m); /* the first send of the tick counts */
    metrics_tick_done(m, t0);
    assert_int_equal(metrics_tick_to_order(m)->count, 1);
    metrics_order_sent(m); /* a send outside a tick (timer, REST) */
    metrics_tick_done(m, mono_ns() + 1000);
    assert_int_equal(metrics_tick_to_order(m)->count, 1);
    metrics_tick_done(m, mono_ns()); /* and it is forgotten */
    assert_int_equal(metrics_tick_to_order(m)->count, 1);
    metrics_observe_tick_to_order(m, 2000);
    assert_int_equal(metrics_tick_to_order(m)->count, 2);
    metrics_free(m);
    metrics_free(NULL);
    host_min_free(&h);
}

struct stall {
    struct host *h;
    struct metrics *m;
    struct event *check;
};

static void stall_loop(evutil_socket_t fd, short what, void *arg)
{
    /* the loop thread is busy for 300 ms: the probe due meanwhile fires late */
    struct timespec ts = {0, 300 * 1000000};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void check_done(evutil_socket_t fd, short what, void *arg)
{
    struct stall *s = arg;
    if (metrics_loop_lag(s->m)->count >= 3) event_base_loopbreak(s->h->base);
}

static void test_loop_lag(void **unused)
{
    struct host h;
    host_min(&h);
    struct stall s = {&h, metrics_new(&h), NULL};
    struct event *stall = evtimer_new(h.base, stall_loop, NULL);
    struct timeval at = {0, 150 * 1000};
    evtimer_add(stall, &at);
    s.check = event_new(h.base, -1, EV_PERSIST, check_done, &s);
    struct timeval every = {0, 5 * 1000};
    event_add(s.check, &every);
    event_base_dispatch(h.base);
    const struct metrics_hist *lag = metrics_loop_lag(s.m);
    assert_true(lag->count >= 3);
    /* one firing was about 200 ms late, the others on time (within 50 ms) */
    assert_true(metrics_hist_quantile(lag, 1) >= 150e6);
    assert_true(lag->bucket[METRICS_HIST_BOUNDS] == 0);
    cJSON *j = metrics_summary_json(s.m);
    cJSON *ll = cJSON_GetObjectItem(j, "loop_lag_ms");
    assert_true(cJSON_GetObjectItem(ll, "max")->valuedouble >= 150);
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(ll, "last")));
    cJSON_Delete(j);
    event_free(stall);
    event_free(s.check);
    metrics_free(s.m);
    host_min_free(&h);
}

static void test_summary_and_page(void **unused)
{
    struct host h;
    host_min(&h);
    struct metrics *m = metrics_new(&h);
    cJSON *j = metrics_summary_json(m);
    cJSON *t = cJSON_GetObjectItem(j, "tick_to_order_us");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(t, "p50")));
    assert_int_equal(cJSON_GetObjectItem(t, "count")->valueint, 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "loop_lag_ms"), "p99")));
    cJSON_Delete(j);

    for (int i = 0; i < 5; i++) {
        struct event ev = {.type = EV_CUSTOM, .data = cJSON_CreateObject()};
        bus_publish(h.bus, &ev);
    }
    metrics_observe_tick_to_order(m, 1800);
    metrics_observe_tick_to_order(m, 1800);
    j = metrics_summary_json(m);
    assert_int_equal(cJSON_GetObjectItem(j, "events_total")->valueint, 5);
    assert_true(cJSON_GetObjectItem(j, "events_per_s")->valuedouble > 0);
    t = cJSON_GetObjectItem(j, "tick_to_order_us");
    assert_int_equal(cJSON_GetObjectItem(t, "count")->valueint, 2);
    assert_float_equal(cJSON_GetObjectItem(t, "p50")->valuedouble, 1.75, 1e-9); /* (1.5, 2] µs */
    cJSON_Delete(j);

    struct buf b = BUF_INIT;
    metrics_write_page(m, &b);
    assert_non_null(strstr(b.p, "# TYPE luatrade_events_total counter\n"));
    assert_non_null(strstr(b.p, "luatrade_events_total{type=\"CUSTOM\"} 5\n"));
    assert_non_null(strstr(b.p, "luatrade_events_total{type=\"MARKET_DATA\"} 0\n"));
    assert_non_null(strstr(b.p, "luatrade_tick_to_order_seconds_count 2\n"));
    assert_non_null(strstr(b.p, "# TYPE luatrade_loop_lag_seconds histogram\n"));
    /* no order manager, HTTP server or WebSocket source: their families are left out */
    assert_null(strstr(b.p, "luatrade_orders"));
    assert_null(strstr(b.p, "luatrade_http_"));
    assert_null(strstr(b.p, "luatrade_ws_"));
    buf_free(&b);
    metrics_free(m);
    host_min_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_observe),
        cmocka_unit_test(test_quantile),
        cmocka_unit_test(test_quantile_accuracy),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_doubles),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_hist_text),
        cmocka_unit_test(test_tick_to_order),
        cmocka_unit_test(test_loop_lag),
        cmocka_unit_test(test_summary_and_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
