/* Unit tests for param: parsing --param name=value, setting and replacing values,
 * copies that own their strings, and resolving overrides against declared defaults
 * (undeclared names and type mismatches are errors; a numeric string is accepted
 * for a number because the command line has no types). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "param.h"
#include "util.h"

static struct param kv_ok(const char *kv)
{
    struct param p;
    struct err e = {{0}};
    if (param_parse_kv(kv, &p, &e) != 0) fail_msg("param_parse_kv(%s): %s", kv, e.msg);
    return p;
}

static void test_parse_kv(void **state)
{
    struct param p = kv_ok("fast=5");
    assert_string_equal(p.name, "fast");
    assert_int_equal(p.type, PARAM_NUMBER);
    assert_true(p.num == 5.0);
    assert_null(p.str);

    p = kv_ok("x=-2.5");
    assert_int_equal(p.type, PARAM_NUMBER);
    assert_true(p.num == -2.5);
    p = kv_ok("x=1e3");
    assert_int_equal(p.type, PARAM_NUMBER);
    assert_true(p.num == 1000.0);

    p = kv_ok("on=true");
    assert_int_equal(p.type, PARAM_BOOL);
    assert_int_equal(p.b, 1);
    p = kv_ok("on=false");
    assert_int_equal(p.type, PARAM_BOOL);
    assert_int_equal(p.b, 0);

    /* anything else is a string, copied */
    const char *strings[][2] = {
        {"s=hello", "hello"}, {"s=True", "True"}, {"s=nan", "nan"}, {"s=inf", "inf"},
        {"s=1e999", "1e999"}, {"s=5x", "5x"},     {"s=a=b", "a=b"}, {"s=", ""}};
    for (size_t i = 0; i < ARRAY_LEN(strings); i++) {
        p = kv_ok(strings[i][0]);
        assert_string_equal(p.name, "s");
        assert_int_equal(p.type, PARAM_STRING);
        assert_non_null(p.str);
        assert_string_equal(p.str, strings[i][1]);
        param_clear(&p);
        assert_null(p.str);
    }

    /* the longest name that fits, and one byte more */
    char kv[PARAM_NAME_MAX + 8];
    memset(kv, 'n', PARAM_NAME_MAX - 1);
    strcpy(kv + PARAM_NAME_MAX - 1, "=1");
    p = kv_ok(kv);
    assert_int_equal(strlen(p.name), PARAM_NAME_MAX - 1);
    memset(kv, 'n', PARAM_NAME_MAX);
    strcpy(kv + PARAM_NAME_MAX, "=1");
    struct err e = {{0}};
    assert_int_equal(param_parse_kv(kv, &p, &e), -1);
    assert_non_null(strstr(e.msg, "expected name=value"));

    const char *bad[] = {"=x", "x", "", "="};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        e.msg[0] = 0;
        assert_int_equal(param_parse_kv(bad[i], &p, &e), -1);
        char want[64];
        snprintf(want, sizeof want, "--param '%s': expected name=value", bad[i]);
        assert_string_equal(e.msg, want);
    }
}

static struct param num(const char *name, double v)
{
    struct param p = {.type = PARAM_NUMBER, .num = v};
    util_strlcpy(p.name, name, sizeof p.name);
    return p;
}

static struct param str(const char *name, const char *v)
{
    struct param p = {.type = PARAM_STRING, .str = (char *)v};
    util_strlcpy(p.name, name, sizeof p.name);
    return p;
}

static struct param boolean(const char *name, int v)
{
    struct param p = {.type = PARAM_BOOL, .b = v};
    util_strlcpy(p.name, name, sizeof p.name);
    return p;
}

static void test_set_copy_free(void **state)
{
    struct params ps = {0};
    struct param a = num("fast", 5), b = str("tag", "one"), c = boolean("on", 1);
    params_set(&ps, &a);
    params_set(&ps, &b);
    params_set(&ps, &c);
    assert_int_equal(ps.n, 3);
    assert_ptr_not_equal(params_get(&ps, "tag")->str, b.str); /* copied */
    assert_null(params_get(&ps, "missing"));

    /* replace keeps the slot and may change the type */
    struct param b2 = num("tag", 7);
    params_set(&ps, &b2);
    assert_int_equal(ps.n, 3);
    assert_string_equal(ps.v[1].name, "tag");
    assert_int_equal(ps.v[1].type, PARAM_NUMBER);
    assert_true(ps.v[1].num == 7);
    assert_null(ps.v[1].str);
    struct param b3 = str("tag", "two");
    params_set(&ps, &b3);
    assert_string_equal(params_get(&ps, "tag")->str, "two");

    struct params cp;
    params_copy(&cp, &ps);
    assert_int_equal(cp.n, 3);
    assert_ptr_not_equal(cp.v, ps.v);
    assert_ptr_not_equal(params_get(&cp, "tag")->str, params_get(&ps, "tag")->str);
    params_free(&ps);
    assert_null(ps.v);
    assert_int_equal(ps.n, 0);
    /* the copy survives the original */
    assert_string_equal(params_get(&cp, "tag")->str, "two");
    assert_int_equal(params_get(&cp, "on")->b, 1);
    assert_true(params_get(&cp, "fast")->num == 5);
    params_free(&cp);
    params_free(&cp); /* twice is harmless */

    struct params empty = {0}, cp2;
    params_copy(&cp2, &empty);
    assert_int_equal(cp2.n, 0);
    params_free(&cp2);
    assert_string_equal(param_type_name(PARAM_NUMBER), "number");
    assert_string_equal(param_type_name(PARAM_STRING), "string");
    assert_string_equal(param_type_name(PARAM_BOOL), "boolean");
}

static void declared(struct params *d)
{
    *d = (struct params){0};
    struct param a = num("fast", 5), b = str("tag", "one"), c = boolean("on", 0);
    params_set(d, &a);
    params_set(d, &b);
    params_set(d, &c);
}

static void test_resolve(void **state)
{
    struct params d, o = {0}, out;
    struct err e = {{0}};
    declared(&d);

    /* no overrides: a copy of the defaults */
    assert_int_equal(params_resolve(&d, NULL, &out, &e), 0);
    assert_int_equal(out.n, 3);
    assert_true(params_get(&out, "fast")->num == 5);
    params_free(&out);

    struct param p1 = num("fast", 9), p2 = str("tag", "two"), p3 = boolean("on", 1);
    params_set(&o, &p1);
    params_set(&o, &p2);
    params_set(&o, &p3);
    assert_int_equal(params_resolve(&d, &o, &out, &e), 0);
    assert_int_equal(out.n, 3);
    assert_true(params_get(&out, "fast")->num == 9);
    assert_string_equal(params_get(&out, "tag")->str, "two");
    assert_int_equal(params_get(&out, "on")->b, 1);
    assert_true(params_get(&d, "fast")->num == 5); /* defaults untouched */
    params_free(&out);
    params_free(&o);

    /* a numeric string for a number (--param fast=12 parsed elsewhere as text) */
    struct param s12 = str("fast", "12.5");
    params_set(&o, &s12);
    assert_int_equal(params_resolve(&d, &o, &out, &e), 0);
    assert_int_equal(params_get(&out, "fast")->type, PARAM_NUMBER);
    assert_true(params_get(&out, "fast")->num == 12.5);
    assert_null(params_get(&out, "fast")->str);
    params_free(&out);
    params_free(&o);

    struct {
        struct param p;
        const char *msg;
    } bad[] = {
        {num("slow", 1), "parameter 'slow' is not declared by the strategy"},
        {str("fast", "abc"), "parameter 'fast' must be a number (got a string)"},
        {str("fast", "inf"), "parameter 'fast' must be a number (got a string)"},
        {boolean("fast", 1), "parameter 'fast' must be a number (got a boolean)"},
        {num("tag", 3), "parameter 'tag' must be a string (got a number)"},
        {str("on", "true"), "parameter 'on' must be a boolean (got a string)"},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        struct param ok = num("fast", 1);
        params_set(&o, &ok); /* a good override first: out must still be released */
        params_set(&o, &bad[i].p);
        out = (struct params){0};
        e.msg[0] = 0;
        assert_int_equal(params_resolve(&d, &o, &out, &e), -1);
        assert_string_equal(e.msg, bad[i].msg);
        assert_null(out.v);
        assert_int_equal(out.n, 0);
        params_free(&o);
    }
    params_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_kv),
        cmocka_unit_test(test_set_copy_free),
        cmocka_unit_test(test_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
