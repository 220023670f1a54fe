/* Unit tests for ws_proto: the upgrade checks and Sec-WebSocket-Accept (RFC 6455's own
 * example), server frame headers at each length boundary, and client messages
 * (subscribe with every field, pings, and each way a message can be wrong). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "event.h"
#include "fixture_instruments.h"
#include "instrument.h"
#include "util.h"
#include "ws_internal.h"

static void test_accept_key(void **s)
{
    char out[WS_ACCEPT_LEN + 1];
    /* RFC 6455 §1.3. */
    assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    const char *bad[] = {NULL,
                         "",
                         "dGhlIHNhbXBsZSBub25jZQ=",    /* 23 characters */
                         "dGhlIHNhbXBsZSBub25jZQ===",  /* 25 */
                         "dGhlIHNhbXBsZSBub25jZQxx",   /* no padding: 18 bytes */
                         "dGhlIHNhbXBsZSBub25j*Q==",   /* not base64 */
                         "dGhlIHNhbXBsZSBub25jZQ== "}; /* trailing space */
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) assert_int_equal(ws_accept_key(bad[i], out), -1);
}

static void test_upgrade_headers(void **s)
{
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    assert_null(ws_check_upgrade("websocket", "Upgrade", "13", key));
    assert_null(ws_check_upgrade("WebSocket", "keep-alive, Upgrade", "13", key));
    assert_null(ws_check_upgrade("websocket", "upgrade ,close", "13", key));
    assert_non_null(ws_check_upgrade(NULL, "Upgrade", "13", key));
    assert_non_null(ws_check_upgrade("h2c", "Upgrade", "13", key));
    assert_non_null(ws_check_upgrade("websocket", NULL, "13", key));
    assert_non_null(ws_check_upgrade("websocket", "keep-alive", "13", key));
    assert_non_null(ws_check_upgrade("websocket", "Upgraded", "13", key));
    assert_non_null(ws_check_upgrade("websocket", "Upgrade", NULL, key));
    assert_non_null(ws_check_upgrade("websocket", "Upgrade", "8", key));
    assert_non_null(ws_check_upgrade("websocket", "Upgrade", "13", NULL));
    assert_non_null(ws_check_upgrade("websocket", "Upgrade", "13", "short"));

    assert_true(ws_header_has_token("a, b,\tc", "c"));
    assert_true(ws_header_has_token("UPGRADE", "upgrade"));
    assert_false(ws_header_has_token("", "upgrade"));
    assert_false(ws_header_has_token("up grade", "upgrade"));
    assert_false(ws_header_has_token(NULL, "upgrade"));
}

static void test_frame_header(void **s)
{
    uint8_t h[10];
    assert_int_equal(ws_frame_header(h, WS_OP_TEXT, 0), 2);
    assert_memory_equal(h, "\x81\x00", 2);
    assert_int_equal(ws_frame_header(h, WS_OP_TEXT, 125), 2);
    assert_memory_equal(h, "\x81\x7d", 2);
    assert_int_equal(ws_frame_header(h, WS_OP_TEXT, 126), 4);
    assert_memory_equal(h, "\x81\x7e\x00\x7e", 4);
    assert_int_equal(ws_frame_header(h, WS_OP_TEXT, 65535), 4);
    assert_memory_equal(h, "\x81\x7e\xff\xff", 4);
    assert_int_equal(ws_frame_header(h, WS_OP_TEXT, 65536), 10);
    assert_memory_equal(h, "\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    assert_int_equal(ws_frame_header(h, 0x2, UINT64_C(0x0102030405060708)), 10);
    assert_memory_equal(h, "\x82\x7f\x01\x02\x03\x04\x05\x06\x07\x08", 10);
}

static int parse(const char *text, struct ws_msg *m, struct err *e)
{
    return ws_msg_parse(text, strlen(text), &ins, m, e);
}

static void test_subscribe(void **s)
{
    struct ws_msg m;
    struct err e;
    assert_int_equal(parse("{\"op\":\"subscribe\",\"types\":[\"MARKET_DATA\",\"ORDER_FILLED\"],"
                           "\"symbols\":[\"BTC-USD\",\"AAPL\"],\"since\":1234}",
                           &m, &e),
                     0);
    assert_int_equal(m.op, WS_SUBSCRIBE);
    assert_int_equal(m.types, EV_BIT(EV_MARKET_DATA) | EV_BIT(EV_ORDER_FILLED));
    assert_int_equal(m.nsyms, 2);
    assert_int_equal(m.syms[0], 1);
    assert_int_equal(m.syms[1], 0);
    assert_true(m.has_since);
    assert_int_equal(m.since, 1234);

    /* Everything optional; [] and null mean all. */
    assert_int_equal(parse("{\"op\":\"subscribe\"}", &m, &e), 0);
    assert_int_equal(m.types, 0);
    assert_int_equal(m.nsyms, 0);
    assert_false(m.has_since);
    assert_int_equal(
        parse("{\"op\":\"subscribe\",\"types\":[],\"symbols\":null,\"since\":0}", &m, &e), 0);
    assert_int_equal(m.types, 0);
    assert_true(m.has_since);
    assert_int_equal(m.since, 0);
    /* Exact up to 2^53. */
    assert_int_equal(parse("{\"op\":\"subscribe\",\"since\":9007199254740992}", &m, &e), 0);
    assert_int_equal(m.since, UINT64_C(9007199254740992));

    assert_int_equal(parse("{\"op\":\"ping\"}", &m, &e), 0);
    assert_int_equal(m.op, WS_PING);

    /* conflate_ms: absent, null or 0 is off; the ends of the range are allowed. */
    assert_int_equal(m.conflate_ms, 0);
    assert_int_equal(parse("{\"op\":\"subscribe\",\"conflate_ms\":null}", &m, &e), 0);
    assert_int_equal(m.conflate_ms, 0);
    assert_int_equal(parse("{\"op\":\"subscribe\",\"conflate_ms\":0}", &m, &e), 0);
    assert_int_equal(m.conflate_ms, 0);
    assert_int_equal(parse("{\"op\":\"subscribe\",\"conflate_ms\":10}", &m, &e), 0);
    assert_int_equal(m.conflate_ms, 10);
    assert_int_equal(parse("{\"op\":\"subscribe\",\"types\":[\"MARKET_DATA\"],"
                           "\"conflate_ms\":5000,\"since\":7}",
                           &m, &e),
                     0);
    assert_int_equal(m.conflate_ms, 5000);
    assert_int_equal(m.since, 7);
}

static void test_bad_messages(void **s)
{
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"", "not JSON"},
        {"{\"op\":", "not JSON"},
        {"[1]", "JSON object"},
        {"\"subscribe\"", "JSON object"},
        {"{}", "no \"op\""},
        {"{\"op\":5}", "no \"op\""},
        {"{\"op\":\"unsubscribe\"}", "unknown op 'unsubscribe'"},
        {"{\"op\":\"subscribe\",\"types\":\"BAR\"}", "\"types\" must be an array"},
        {"{\"op\":\"subscribe\",\"types\":[\"BARS\"]}", "unknown name 'BARS'"},
        {"{\"op\":\"subscribe\",\"types\":[1]}", "\"types\" must be an array"},
        {"{\"op\":\"subscribe\",\"symbols\":[\"MSFT\"]}", "\"symbols\": unknown name 'MSFT'"},
        {"{\"op\":\"subscribe\",\"since\":-1}", "\"since\" must be"},
        {"{\"op\":\"subscribe\",\"since\":1.5}", "\"since\" must be"},
        {"{\"op\":\"subscribe\",\"since\":\"5\"}", "\"since\" must be"},
        {"{\"op\":\"subscribe\",\"since\":1e300}", "\"since\" must be"},
        {"{\"op\":\"ping\",\"x\":[[[[[[[[1]]]]]]]]}", "nested deeper than 8"},
        {"{\"op\":\"subscribe\",\"conflate_ms\":9}", "\"conflate_ms\" must be 0 (off) or an "
                                                     "integer from 10 to 5000"},
        {"{\"op\":\"subscribe\",\"conflate_ms\":5001}", "\"conflate_ms\" must be"},
        {"{\"op\":\"subscribe\",\"conflate_ms\":-100}", "\"conflate_ms\" must be"},
        {"{\"op\":\"subscribe\",\"conflate_ms\":100.5}", "\"conflate_ms\" must be"},
        {"{\"op\":\"subscribe\",\"conflate_ms\":\"100\"}", "\"conflate_ms\" must be"},
        {"{\"op\":\"subscribe\",\"conflate_ms\":true}", "\"conflate_ms\" must be"},
        {"{\"op\":\"subscribe\",\"conflate_ms\":1e300}", "\"conflate_ms\" must be"},
        {"{\"op\":\"subscribe\",\"conflate_ms\":-1e300}", "\"conflate_ms\" must be"},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        struct ws_msg m;
        struct err e = {""};
        if (parse(bad[i].text, &m, &e) != -1) fail_msg("accepted: %s", bad[i].text);
        if (!strstr(e.msg, bad[i].msg)) fail_msg("%s: got '%s'", bad[i].text, e.msg);
    }
    /* Brackets inside strings do not count as nesting. */
    struct ws_msg m;
    struct err e;
    assert_int_equal(parse("{\"op\":\"ping\",\"x\":\"[[[[[[[[[[[[\"}", &m, &e), 0);
    /* Too many symbols. */
    struct buf b = BUF_INIT;
    buf_puts(&b, "{\"op\":\"subscribe\",\"symbols\":[");
    for (int i = 0; i <= WS_MAX_SYMS; i++) buf_puts(&b, i ? ",\"AAPL\"" : "\"AAPL\"");
    buf_puts(&b, "]}");
    assert_int_equal(ws_msg_parse(b.p, b.len, &ins, &m, &e), -1);
    assert_non_null(strstr(e.msg, "more than 256"));
    buf_free(&b);
    /* The length bounds the parse: no NUL needed. */
    assert_int_equal(ws_msg_parse("{\"op\":\"ping\"}garbage", 13, &ins, &m, &e), 0);
}

static void test_round_next(void **s)
{
    assert_int_equal(ws_round_next(0, 100), 100000);
    assert_int_equal(ws_round_next(99999, 100), 100000);
    assert_int_equal(ws_round_next(100000, 100), 200000); /* strictly after */
    assert_int_equal(ws_round_next(123456789, 250), 123500000);
    /* Sessions with one interval share its multiples, whenever they subscribed. */
    assert_int_equal(ws_round_next(5000001, 10), ws_round_next(5009999, 10));
}

static void check_fields(int is_trade, uint64_t n, int64_t size, int dp, const char *want)
{
    char out[WS_CONFLATED_MAX];
    size_t len = ws_conflated_fields(out, is_trade, n, size, dp);
    assert_string_equal(out, want);
    assert_int_equal(len, strlen(want));
}

static void test_conflated_fields(void **s)
{
    check_fields(0, 1, 0, 0, ",\"conflated\":1");
    check_fields(0, 4096, 999, 2, ",\"conflated\":4096");
    check_fields(1, 3, 1500, 0, ",\"conflated\":3,\"size_sum\":1500");
    check_fields(1, 2, 150000001, 8, ",\"conflated\":2,\"size_sum\":1.50000001");
    check_fields(1, 1, 5, -1, ",\"conflated\":1,\"size_sum\":null");
    /* The widest: fits WS_CONFLATED_MAX. */
    check_fields(1, UINT64_MAX, INT64_MIN, 1,
                 ",\"conflated\":18446744073709551615,\"size_sum\":-922337203685477580.8");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_key),       cmocka_unit_test(test_upgrade_headers),
        cmocka_unit_test(test_frame_header),     cmocka_unit_test(test_subscribe),
        cmocka_unit_test(test_bad_messages),     cmocka_unit_test(test_round_next),
        cmocka_unit_test(test_conflated_fields),
    };
    return cmocka_run_group_tests(tests, instruments_setup, instruments_teardown);
}
