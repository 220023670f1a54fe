/* Unit tests for fixed: double conversion at its boundaries (non-finite, -0.0, int64
 * edges, the decimals tolerance), exact parsing and formatting, fx_decimals_of. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json_fixed.h"
#include <float.h>
#include <math.h>
#include <string.h>

#include "fixed.h"
#include "util.h"

static int64_t from(double v, int dp)
{
    int64_t out = 12345; /* sentinel: a failed conversion must not pass as success */
    assert_int_equal(fx_from_double(v, dp, &out), 0);
    return out;
}

static void refused(double v, int dp)
{
    int64_t out = 777;
    assert_int_equal(fx_from_double(v, dp, &out), -1);
    assert_int_equal(out, 777); /* untouched on failure */
}

static void test_pow10(void **st)
{
    assert_int_equal(fx_pow10(0), 1);
    assert_int_equal(fx_pow10(2), 100);
    assert_int_equal(fx_pow10(FX_MAX_DP), 1000000000);
}

static void test_from_double_basic(void **st)
{
    assert_int_equal(from(190.25, 2), 19025);
    assert_int_equal(from(0.0, 2), 0);
    assert_int_equal(from(-0.5, 2), -50);
    assert_int_equal(from(-3, 0), -3);
    assert_int_equal(from(1.01, 2), 101);
    assert_int_equal(from(0.1 + 0.2, 2), 30);
    assert_int_equal(from(0.1 + 0.2, 1), 3);
    assert_int_equal(from(123456.78, 2), 12345678);
    assert_int_equal(from(1234567.891, 3), 1234567891);
    assert_int_equal(from(0.000000001, 9), 1);
    assert_int_equal(from(2.5, 9), 2500000000LL);
    /* -0.0 gives a plain 0. */
    int64_t z = 99;
    assert_int_equal(fx_from_double(-0.0, 2, &z), 0);
    assert_int_equal(z, 0);
}

static void test_from_double_refused(void **st)
{
    refused(NAN, 2);
    refused(-NAN, 0);
    refused(INFINITY, 2);
    refused(-INFINITY, 2);
    refused(1e300, 0);
    refused(-1e300, 2);
    refused(DBL_MAX, 0);
    refused(1.005, 2); /* 100.49999999999999: a third decimal */
    refused(1.001, 2);
    refused(0.5, 0);
    refused(1e-10, 9);
    refused(10000.000000001, 8); /* a relative-1e-9 rule would round this silently */
    refused(1e10 + 0.5, 0);
}

static void test_from_double_int64_edges(void **st)
{
    /* 2^63 does not fit; the largest double below it does. */
    refused(9223372036854775808.0, 0);
    refused(-9223372036854775808.0, 0); /* INT64_MIN only via strings (see fixed.c) */
    assert_int_equal(from(9223372036854774784.0, 0), INT64_C(9223372036854774784));
    assert_int_equal(from(-9223372036854774784.0, 0), -INT64_C(9223372036854774784));
    /* At dp=9 the bound is ~9.22e9. */
    refused(9.3e9, 9);
    assert_int_equal(from(9.2e9, 9), INT64_C(9200000000000000000));
    assert_int_equal(from(-9.2e9, 9), -INT64_C(9200000000000000000));
    /* 2^53 and around it: every double is an integer there. */
    assert_int_equal(from(9007199254740993.0, 0), INT64_C(9007199254740992));
}

static void test_to_double(void **st)
{
    assert_true(fx_to_double(19025, 2) == 190.25);
    assert_true(fx_to_double(-50, 2) == -0.5);
    assert_true(fx_to_double(30, 2) == 0.3);
    assert_true(fx_to_double(1, 9) == 1e-9);
    assert_true(fx_to_double(INT64_MAX, 0) == 9223372036854775807.0);
    assert_true(fx_to_double(INT64_MIN, 0) == -9223372036854775808.0);
    /* Beyond 2^53 the result is still the nearest double (strtod path). */
    assert_true(fx_to_double(INT64_C(9007199254740993), 1) == 900719925474099.3);
    assert_true(fx_to_double(INT64_MAX, 9) == 9223372036.854775807);
    /* 2^53+1 itself rounds to 2^53 as a double: the exact path must still be taken
     * (found by fuzz_fixed). */
    assert_true(fx_to_double(-INT64_C(9007199254740993), 2) == -90071992547409.93);
    assert_true(fx_to_double(INT64_C(9007199254740993), 3) == 9007199254740.993);
    for (int64_t v = -100000; v <= 100000; v += 7) {
        int64_t back;
        assert_int_equal(fx_from_double(fx_to_double(v, 4), 4, &back), 0);
        assert_int_equal(back, v);
    }
}

static int64_t parsed(const char *s, int dp)
{
    int64_t out = 12345;
    assert_int_equal(fx_parse(s, strlen(s), dp, &out), 0);
    return out;
}

static void test_parse(void **st)
{
    assert_int_equal(parsed("190.25", 2), 19025);
    assert_int_equal(parsed("-3", 0), -3);
    assert_int_equal(parsed("-3", 2), -300);
    assert_int_equal(parsed("0", 0), 0);
    assert_int_equal(parsed("-0", 2), 0);
    assert_int_equal(parsed("-0.5", 2), -50);
    assert_int_equal(parsed("007.1", 1), 71);
    assert_int_equal(parsed("1.500", 2), 150); /* zeros beyond dp lose nothing */
    assert_int_equal(parsed("0.000000001", 9), 1);
    assert_int_equal(parsed("9223372036854775807", 0), INT64_MAX);
    assert_int_equal(parsed("-9223372036854775808", 0), INT64_MIN);
    assert_int_equal(parsed("92233720368.54775807", 8), INT64_MAX);
    assert_int_equal(parsed("-9223372036.854775808", 9), INT64_MIN);
    /* Length-bounded: the bytes after len are not read. */
    int64_t v;
    assert_int_equal(fx_parse("12.34xyz", 4, 2, &v), 0);
    assert_int_equal(v, 1230);
    assert_int_equal(fx_parse("12", 0, 2, &v), -1);
}

static void test_parse_malformed(void **st)
{
    const char *bad[] = {"",   "-",    ".",    "1.",  "1.2.3", "1e5",  " 1",  "1 ",
                         "+1", "--1",  "-.5",  ".5",  "1,5",   "0x10", "nan", "inf",
                         "1-", "1..2", "1.2e", "\t1", "١",     "1.5\n"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        int64_t v = 777;
        assert_int_equal(fx_parse(bad[i], strlen(bad[i]), 2, &v), -1);
        assert_int_equal(v, 777);
    }
    int64_t v = 777;
    /* Overflow, at several scales and right at the edges. */
    assert_int_equal(fx_parse("99999999999999999999", 20, 0, &v), -1);
    assert_int_equal(fx_parse("9223372036854775808", 19, 0, &v), -1);
    assert_int_equal(fx_parse("-9223372036854775809", 20, 0, &v), -1);
    assert_int_equal(fx_parse("92233720368547758.08", 20, 2, &v), -1);
    assert_int_equal(fx_parse("10000000000", 11, 9, &v), -1);
    /* A decimal that would be lost. */
    assert_int_equal(fx_parse("1.005", 5, 2, &v), -1);
    assert_int_equal(fx_parse("1.5", 3, 0, &v), -1);
    assert_int_equal(fx_parse("0.0000000001", 12, 9, &v), -1);
    assert_int_equal(v, 777);
}

static void test_format_short_and_json(void **st)
{
    (void)st;
    static const struct {
        int64_t v;
        int dp;
        const char *want;
    } cases[] = {
        {19025, 2, "190.25"},
        {19020, 2, "190.2"},
        {19000, 2, "190"},
        {0, 6, "0"},
        {-5, 6, "-0.000005"},
        {-500000, 6, "-0.5"},
        {7, 0, "7"},
        {-1000000, 6, "-1"},
        {INT64_MAX, 9, "9223372036.854775807"},
        {INT64_MIN + 1, 0, "-9223372036854775807"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[32];
        int n = fx_format_short(cases[i].v, cases[i].dp, buf, sizeof buf);
        assert_string_equal(buf, cases[i].want);
        assert_int_equal(n, (int)strlen(cases[i].want));
        /* as JSON: prints as a number and reads back as the nearest double */
        cJSON *o = cJSON_CreateObject();
        json_add_fixed(o, "x", cases[i].v, cases[i].dp);
        char *text = cJSON_PrintUnformatted(o);
        cJSON *back = cJSON_Parse(text);
        assert_true(cJSON_IsNumber(cJSON_GetObjectItem(back, "x")));
        assert_true(json_number(cJSON_GetObjectItem(o, "x")) ==
                    fx_to_double(cases[i].v, cases[i].dp));
        assert_true(cJSON_GetObjectItem(back, "x")->valuedouble ==
                    json_number(cJSON_GetObjectItem(o, "x")));
        free(text);
        cJSON_Delete(back);
        cJSON_Delete(o);
    }
    cJSON *s = cJSON_CreateString("1.5");
    assert_true(isnan(json_number(s)));
    assert_true(isnan(json_number(NULL)));
    cJSON_Delete(s);
}

static void test_format(void **st)
{
    char b[32];
    assert_int_equal(fx_format(19025, 2, b, sizeof b), 6);
    assert_string_equal(b, "190.25");
    assert_int_equal(fx_format(-50, 2, b, sizeof b), 5);
    assert_string_equal(b, "-0.50");
    assert_int_equal(fx_format(3, 0, b, sizeof b), 1);
    assert_string_equal(b, "3");
    fx_format(0, 2, b, sizeof b);
    assert_string_equal(b, "0.00");
    fx_format(1, 9, b, sizeof b);
    assert_string_equal(b, "0.000000001");
    fx_format(-1, 9, b, sizeof b);
    assert_string_equal(b, "-0.000000001");
    /* The longest outputs fit the documented 22 bytes. */
    char b22[22];
    assert_int_equal(fx_format(INT64_MIN, 2, b22, sizeof b22), 21);
    assert_string_equal(b22, "-92233720368547758.08");
    assert_int_equal(fx_format(INT64_MIN, 0, b22, sizeof b22), 20);
    assert_string_equal(b22, "-9223372036854775808");
    fx_format(INT64_MAX, 9, b22, sizeof b22);
    assert_string_equal(b22, "9223372036.854775807");
    /* A short buffer is truncated and NUL-terminated; the full length is returned. */
    char small[4] = "zzz";
    assert_int_equal(fx_format(19025, 2, small, sizeof small), 6);
    assert_string_equal(small, "190");
}

static void test_round_trip(void **st)
{
    const int64_t vals[] = {
        0,         1,           -1,        5,         -50,           19025,
        999999999, -1000000000, INT64_MAX, INT64_MIN, INT64_MIN + 1, INT64_C(123456789012345678)};
    char b[32];
    for (int dp = 0; dp <= FX_MAX_DP; dp++) {
        for (size_t i = 0; i < ARRAY_LEN(vals); i++) {
            int len = fx_format(vals[i], dp, b, sizeof b);
            assert_true(len < 22);
            int64_t back;
            assert_int_equal(fx_parse(b, (size_t)len, dp, &back), 0);
            assert_int_equal(back, vals[i]);
        }
    }
}

static void test_decimals_of(void **st)
{
    assert_int_equal(fx_decimals_of(0.01), 2);
    assert_int_equal(fx_decimals_of(0.0005), 4);
    assert_int_equal(fx_decimals_of(5), 0);
    assert_int_equal(fx_decimals_of(0.25), 2);
    assert_int_equal(fx_decimals_of(0.1 + 0.2), 1);
    assert_int_equal(fx_decimals_of(1e-9), 9);
    assert_int_equal(fx_decimals_of(1e-12), -1);
    assert_int_equal(fx_decimals_of(0.1 + 0.2 - 0.3), -1); /* ~5.6e-17: below any grid */
    assert_int_equal(fx_decimals_of(0), -1);
    assert_int_equal(fx_decimals_of(-0.01), -1);
    assert_int_equal(fx_decimals_of(NAN), -1);
    assert_int_equal(fx_decimals_of(INFINITY), -1);
    assert_int_equal(fx_decimals_of(1e300), -1);
    assert_int_equal(fx_decimals_of(1.0 / 3), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pow10),
        cmocka_unit_test(test_format_short_and_json),
        cmocka_unit_test(test_from_double_basic),
        cmocka_unit_test(test_from_double_refused),
        cmocka_unit_test(test_from_double_int64_edges),
        cmocka_unit_test(test_to_double),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_decimals_of),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
