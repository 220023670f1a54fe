/* Unit tests for event: type and timeframe names, and the JSON shape of market data,
 * bars and cJSON-carrying events (parsed back with cJSON; decimals checked as text). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <string.h>

#include "buf.h"
#include "event.h"
#include "fixture_instruments.h"
#include "instrument.h"
#include "util.h"

static void test_type_names(void **s)
{
    static const char *const names[] = {"MARKET_DATA",      "BAR",
                                        "SIGNAL_GENERATED", "ORDER_SUBMITTED",
                                        "ORDER_ACCEPTED",   "ORDER_REJECTED",
                                        "ORDER_FILLED",     "ORDER_CANCELED",
                                        "ORDER_EXPIRED",    "POSITION_UPDATE",
                                        "PORTFOLIO_UPDATE", "RISK_CHECK",
                                        "RISK_ALERT",       "ALERT",
                                        "STRATEGY_START",   "STRATEGY_STOP",
                                        "STRATEGY_RELOAD",  "STRATEGY_ERROR",
                                        "KILL_SWITCH",      "CUSTOM"};
    assert_int_equal(ARRAY_LEN(names), EV__COUNT);
    for (int t = 0; t < EV__COUNT; t++) {
        assert_string_equal(event_type_name((enum event_type)t), names[t]);
        assert_int_equal(event_type_parse(names[t]), t);
    }
    assert_int_equal(event_type_parse("ORDER_CANCELLED"), -1);
    assert_int_equal(event_type_parse("market_data"), -1);
    assert_int_equal(event_type_parse(""), -1);
    assert_int_equal(event_type_parse("BAR "), -1);
    assert_int_equal(event_type_parse(NULL), -1);
}

static void test_tf(void **s)
{
    static const struct {
        const char *name;
        int64_t us;
    } want[TF__COUNT] = {{"1s", 1000000},    {"1m", 60000000},     {"5m", 300000000},
                         {"15m", 900000000}, {"1h", 3600000000LL}, {"1d", 86400000000LL}};
    for (int tf = 0; tf < TF__COUNT; tf++) {
        assert_string_equal(tf_name((enum tf)tf), want[tf].name);
        assert_int_equal(tf_parse(want[tf].name), tf);
        assert_int_equal(tf_us((enum tf)tf), want[tf].us);
    }
    const char *bad[] = {"", "1", "60s", "1M", "1H", "2m", "1w", "15", "1d ", NULL};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) assert_int_equal(tf_parse(bad[i]), -1);
}

/* Serializes ev, checks the envelope and returns the parsed document (caller frees). */
static cJSON *roundtrip(const struct event *ev, struct buf *out, const char *type)
{
    buf_reset(out);
    event_to_json(ev, &ins, out);
    cJSON *doc = cJSON_Parse(out->p);
    assert_non_null(doc);
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(doc, "seq")));
    assert_int_equal(cJSON_GetObjectItem(doc, "seq")->valuedouble, (double)ev->seq);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "type")), type);
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(doc, "data")));
    return doc;
}

static void test_quote_json(void **s)
{
    struct buf out = BUF_INIT;
    struct event ev = {
        .seq = 42, .type = EV_MARKET_DATA, .ts_us = 1795246740123456LL, .md_kind = MD_QUOTE};
    strcpy(ev.source, "feed_sim");
    ev.u.quote = (struct quote){
        .sym = 0, .bid_px = 19025, .ask_px = 19026, .bid_qty = 300, .ask_qty = 100, .n = 5};
    cJSON *doc = roundtrip(&ev, &out, "MARKET_DATA");
    /* The whole line, byte for byte: key order and exact decimals are the wire contract. */
    assert_string_equal(out.p, "{\"seq\":42,\"type\":\"MARKET_DATA\","
                               "\"ts\":\"2026-11-21T07:39:00.123456Z\",\"source\":\"feed_sim\","
                               "\"data\":{\"kind\":\"quote\",\"symbol\":\"AAPL\",\"n\":5,"
                               "\"bid\":190.25,\"ask\":190.26,\"bid_size\":300,"
                               "\"ask_size\":100}}");
    cJSON *d = cJSON_GetObjectItem(doc, "data");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(d, "symbol")), "AAPL");
    assert_true(cJSON_GetObjectItem(d, "ask")->valuedouble == 190.26);
    cJSON_Delete(doc);

    cJSON *dj = event_data_json(&ev, &ins);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(dj, "kind")), "quote");
    assert_true(cJSON_GetObjectItem(dj, "bid")->valuedouble == 190.25);
    assert_true(cJSON_GetObjectItem(dj, "bid_size")->valuedouble == 300.0);
    assert_int_equal(cJSON_GetObjectItem(dj, "n")->valuedouble, 5);
    cJSON_Delete(dj);
    buf_free(&out);
}

static void test_trade_json(void **s)
{
    struct buf out = BUF_INIT;
    struct event ev = {.seq = 7, .type = EV_MARKET_DATA, .ts_us = 0, .md_kind = MD_TRADE};
    strcpy(ev.source, "feed_csv");
    /* 8 quantity decimals: 0.00150000 BTC at 64000.10, and a negative-free small price. */
    ev.u.trade = (struct trade){.sym = 1, .px = 6400010, .qty = 150000, .n = 9};
    cJSON *doc = roundtrip(&ev, &out, "MARKET_DATA");
    assert_non_null(strstr(out.p, "\"data\":{\"kind\":\"trade\",\"symbol\":\"BTC-USD\",\"n\":9,"
                                  "\"price\":64000.10,\"size\":0.00150000}"));
    assert_non_null(strstr(out.p, "\"ts\":\"1970-01-01T00:00:00.000000Z\""));
    cJSON *d = cJSON_GetObjectItem(doc, "data");
    assert_true(cJSON_GetObjectItem(d, "size")->valuedouble == 0.0015);
    cJSON_Delete(doc);

    ev.u.trade = (struct trade){.sym = 0, .px = 19025, .qty = 100, .n = 7};
    buf_reset(&out);
    event_to_json(&ev, &ins, &out);
    assert_non_null(strstr(out.p, "{\"kind\":\"trade\",\"symbol\":\"AAPL\",\"n\":7,"
                                  "\"price\":190.25,\"size\":100}"));
    buf_free(&out);
}

static void test_bar_json(void **s)
{
    struct buf out = BUF_INIT;
    struct event ev = {.seq = 100, .type = EV_BAR, .ts_us = 1795246800000000LL};
    strcpy(ev.source, "market");
    ev.u.bar = (struct bar){.sym = 0,
                            .tf = TF_1M,
                            .time_us = 1795246740000000LL,
                            .open = 19025,
                            .high = 19100,
                            .low = 19000,
                            .close = 19050,
                            .volume = 1200,
                            .trades = 4};
    cJSON *doc = roundtrip(&ev, &out, "BAR");
    assert_non_null(strstr(out.p, "\"data\":{\"symbol\":\"AAPL\",\"tf\":\"1m\","
                                  "\"time\":\"2026-11-21T07:39:00.000000Z\",\"open\":190.25,"
                                  "\"high\":191.00,\"low\":190.00,\"close\":190.50,"
                                  "\"volume\":1200,\"trades\":4}}"));
    cJSON_Delete(doc);

    cJSON *dj = event_data_json(&ev, &ins);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(dj, "tf")), "1m");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(dj, "time")),
                        "2026-11-21T07:39:00.000000Z");
    assert_true(cJSON_GetObjectItem(dj, "high")->valuedouble == 191.0);
    assert_int_equal(cJSON_GetObjectItem(dj, "trades")->valuedouble, 4);
    cJSON_Delete(dj);
    buf_free(&out);
}

static void test_unknown_symbol(void **s)
{
    struct buf out = BUF_INIT;
    struct event ev = {.seq = 1, .type = EV_MARKET_DATA, .md_kind = MD_TRADE};
    ev.u.trade = (struct trade){.sym = 99, .px = 5, .qty = 1, .n = 1};
    cJSON *doc = roundtrip(&ev, &out, "MARKET_DATA");
    cJSON *d = cJSON_GetObjectItem(doc, "data");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(d, "symbol")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(d, "price")));
    cJSON_Delete(doc);

    ev.u.trade.sym = -1;
    cJSON *dj = event_data_json(&ev, &ins);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(dj, "symbol")));
    cJSON_Delete(dj);

    struct event bar = {.seq = 2, .type = EV_BAR};
    bar.u.bar = (struct bar){.sym = 2, .tf = TF_1D};
    doc = roundtrip(&bar, &out, "BAR");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "data"), "symbol")));
    cJSON_Delete(doc);

    /* No registry at all is the same as an unknown id. */
    buf_reset(&out);
    event_to_json(&ev, NULL, &out);
    assert_non_null(strstr(out.p, "\"symbol\":null,\"n\":1,\"price\":null,\"size\":null"));
    buf_free(&out);
}

static void test_custom_json(void **s)
{
    struct buf out = BUF_INIT;
    struct event ev = {.seq = 9, .type = EV_CUSTOM, .ts_us = 1000001};
    strcpy(ev.source, "rest");
    ev.data = cJSON_Parse("{\"name\":\"rebalance\",\"weights\":[0.5,0.25],\"px\":190.25,"
                          "\"note\":\"a\\\"b\"}");
    assert_non_null(ev.data);
    cJSON *doc = roundtrip(&ev, &out, "CUSTOM");
    assert_non_null(strstr(out.p, "\"ts\":\"1970-01-01T00:00:01.000001Z\",\"source\":\"rest\","
                                  "\"data\":{\"name\":\"rebalance\",\"weights\":[0.5,0.25],"
                                  "\"px\":190.25,\"note\":\"a\\\"b\"}}"));
    cJSON *d = cJSON_GetObjectItem(doc, "data");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(d, "note")), "a\"b");
    cJSON_Delete(doc);

    /* event_data_json copies: the event keeps its own. */
    cJSON *dj = event_data_json(&ev, &ins);
    assert_ptr_not_equal(dj, ev.data);
    assert_true(cJSON_Compare(dj, ev.data, 1));
    cJSON_Delete(dj);

    event_release(&ev);
    assert_null(ev.data);
    event_release(&ev); /* releasing twice is harmless */

    /* NULL data is {}. */
    ev.type = EV_KILL_SWITCH;
    buf_reset(&out);
    event_to_json(&ev, &ins, &out);
    assert_non_null(strstr(out.p, "\"type\":\"KILL_SWITCH\""));
    assert_non_null(strstr(out.p, "\"data\":{}}"));
    dj = event_data_json(&ev, &ins);
    assert_true(cJSON_IsObject(dj));
    assert_null(dj->child);
    cJSON_Delete(dj);
    buf_free(&out);
}

static void test_source_escaping(void **s)
{
    struct buf out = BUF_INIT;
    struct event ev = {.seq = 3, .type = EV_ALERT};
    /* Quote, backslash, newline, a control byte and an invalid UTF-8 byte. */
    memcpy(ev.source, "st\"r\\a\nt\x01\xff", 11);
    cJSON *doc = roundtrip(&ev, &out, "ALERT");
    assert_non_null(strstr(out.p, "\"source\":\"st\\\"r\\\\a\\nt\\u0001\xEF\xBF\xBD\""));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "source")),
                        "st\"r\\a\nt\x01\xEF\xBF\xBD");
    cJSON_Delete(doc);

    /* A source filling the whole array without a NUL is read only up to its size. */
    memset(ev.source, 'x', sizeof ev.source);
    doc = roundtrip(&ev, &out, "ALERT");
    assert_int_equal(strlen(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "source"))),
                     EVENT_SOURCE_MAX);
    cJSON_Delete(doc);
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_names),  cmocka_unit_test(test_tf),
        cmocka_unit_test(test_quote_json),  cmocka_unit_test(test_trade_json),
        cmocka_unit_test(test_bar_json),    cmocka_unit_test(test_unknown_symbol),
        cmocka_unit_test(test_custom_json), cmocka_unit_test(test_source_escaping),
    };
    return cmocka_run_group_tests(tests, instruments_setup, instruments_teardown);
}
