/* Unit tests for util (durations, ISO-8601, strlcpy), buf (growth, JSON strings) and log
 * (line shape, quoting, control characters stripped). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "util.h"

static void test_duration(void **s)
{
    int64_t us;
    assert_int_equal(util_parse_duration("10s", &us), 0);
    assert_int_equal(us, 10000000);
    assert_int_equal(util_parse_duration("250ms", &us), 0);
    assert_int_equal(us, 250000);
    assert_int_equal(util_parse_duration("1.5s", &us), 0);
    assert_int_equal(us, 1500000);
    assert_int_equal(util_parse_duration("2", &us), 0);
    assert_int_equal(us, 2000000);
    assert_int_equal(util_parse_duration("5m", &us), 0);
    assert_int_equal(us, 300000000);
    assert_int_equal(util_parse_duration("1h", &us), 0);
    assert_int_equal(us, 3600000000LL);
    assert_int_equal(util_parse_duration("1d", &us), 0);
    assert_int_equal(us, 86400000000LL);
    const char *bad[] = {"", "s", "-1s", "+1s", " 1s", "1x", "nan", "inf", "1e30d", "1s ", "1 s"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        assert_int_equal(util_parse_duration(bad[i], &us), -1);
}

static void test_iso8601(void **s)
{
    char b[40];
    assert_string_equal(util_iso8601(0, b, sizeof b), "1970-01-01T00:00:00.000000Z");
    assert_string_equal(util_iso8601(1795246740123456LL, b, sizeof b),
                        "2026-11-21T07:39:00.123456Z");
    assert_string_equal(util_iso8601(-1, b, sizeof b), "1969-12-31T23:59:59.999999Z");
}

static void test_buf_json(void **s)
{
    struct buf b = BUF_INIT;
    buf_put_json_str(&b, "a\"b\\c\n\x01\xff", 8);
    assert_string_equal(b.p, "\"a\\\"b\\\\c\\n\\u0001\xEF\xBF\xBD\"");
    buf_reset(&b);
    for (int i = 0; i < 1000; i++) buf_printf(&b, "%d,", i);
    assert_true(b.len > 3000);
    assert_memory_equal(b.p, "0,1,2,", 6);
    buf_free(&b);
    assert_null(b.p);
}

static char last_line[4096];
static void capture(enum log_level lvl, const char *line, void *arg)
{
    util_strlcpy(last_line, line, sizeof last_line);
}

static int64_t fixed_clock(void *arg)
{
    return 1795246740123456LL;
}

static void test_log_line(void **s)
{
    log_set_stderr(0);
    log_set_clock(fixed_clock, NULL);
    log_set_listener(capture, NULL);
    char q[128];
    log_info("sbx", "probe passed", "mode=%s err=%s", "jit", log_quote(q, sizeof q, "a \"b\"\nc"));
    assert_string_equal(last_line, "2026-11-21T07:39:00.123456Z INFO sbx probe passed mode=jit "
                                   "err=\"a \\\"b\\\"\\nc\"");
    log_warn("x", "evil\nline", NULL);
    assert_null(strchr(last_line, '\n'));
    last_line[0] = 0;
    log_debug("x", "hidden", NULL);
    assert_string_equal(last_line, "");
    assert_string_equal(log_quote(q, sizeof q, "plain"), "plain");
    assert_string_equal(log_quote(q, sizeof q, ""), "\"\"");
    log_set_listener(NULL, NULL);
    log_set_clock(NULL, NULL);
}

static void test_json_depth(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int depth;
    } cases[] = {
        {"1", 0},
        {"{}", 1},
        {"[[1],{\"a\":[2]}]", 3},
        {"{\"a\":\"[[[[\"}", 1}, /* brackets inside a string do not count */
        {"[\"\\\"[[\"]", 1},     /* nor after an escaped quote */
        {"[[[[[[[[[[", 10},      /* unclosed: the parser refuses it later */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(util_json_depth(cases[i].text, strlen(cases[i].text)), cases[i].depth);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_depth), cmocka_unit_test(test_duration),
        cmocka_unit_test(test_iso8601),    cmocka_unit_test(test_buf_json),
        cmocka_unit_test(test_log_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
