/* Unit tests for the console's pretty printer (repl_pretty.h): scalars and number
 * formats, quoted strings with escapes (control bytes, binary, invalid UTF-8), raw
 * top-level strings with NUL as "\0", functions, userdata and threads, key order and
 * key syntax, one-line versus multi-line tables (the 60-character edge), cycles and
 * shared tables, max_items on 10,000-entry tables, max_depth on deep nesting, the
 * max_bytes cut (never inside a UTF-8 sequence), the scan budget, metatables whose
 * metamethods must never run, and host read-only proxies made by a real sandbox. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "repl_pretty.h"
#include "sbx.h"
#include "sbx_watchdog.h"
#include "util.h"

static lua_State *L;

static int setup(void **state)
{
    L = luaL_newstate();
    luaL_openlibs(L);
    return L ? 0 : -1;
}

static int teardown(void **state)
{
    lua_close(L);
    return 0;
}

/* Evaluates "return EXPR" (or the statements in code when it starts with "!") and
 * renders the first result; returns a malloc'd copy of the rendering. */
static char *render_in(lua_State *S, const char *code, const struct repl_pretty_opts *o, int raw)
{
    struct buf src = BUF_INIT, out = BUF_INIT;
    if (code[0] == '!') buf_puts(&src, code + 1);
    else buf_printf(&src, "return %s", code);
    if (luaL_loadbuffer(S, src.p, src.len, "@t.lua") || lua_pcall(S, 0, 1, 0))
        fail_msg("%s: %s", code, lua_tostring(S, -1));
    int top = lua_gettop(S);
    if (raw) repl_pretty_result(S, -1, o, &out);
    else repl_pretty(S, -1, o, &out);
    assert_int_equal(lua_gettop(S), top);
    lua_pop(S, 1);
    char *r = xstrdup(out.p ? out.p : "");
    assert_int_equal(strlen(r), out.len);
    buf_free(&src);
    buf_free(&out);
    return r;
}

static void expect_in(lua_State *S, const char *code, const char *want)
{
    char *got = render_in(S, code, NULL, 0);
    if (strcmp(got, want)) fail_msg("%s:\n--- got\n%s\n--- want\n%s", code, got, want);
    free(got);
}

static void expect(const char *code, const char *want)
{
    expect_in(L, code, want);
}

static void expect_opts(const char *code, const struct repl_pretty_opts *o, const char *want)
{
    char *got = render_in(L, code, o, 0);
    if (strcmp(got, want)) fail_msg("%s:\n--- got\n%s\n--- want\n%s", code, got, want);
    free(got);
}

static void test_scalars(void **state)
{
    expect("nil", "nil");
    expect("true", "true");
    expect("false", "false");
    expect("1", "1");
    expect("-3", "-3");
    expect("0", "0");
    expect("-0", "-0");
    expect("1.5", "1.5");
    expect("0.1", "0.1");
    expect("1/3", "0.33333333333333");
    expect("1e15", "1000000000000000");
    expect("2^53", "9007199254740992");
    expect("2^53 + 2", "9.007199254741e+15");
    expect("-2^53", "-9007199254740992");
    expect("1e300", "1e+300");
    expect("1.5e-7", "1.5e-07");
    expect("0/0", "nan");
    expect("1/0", "inf");
    expect("-1/0", "-inf");
}

static void test_strings(void **state)
{
    expect("''", "\"\"");
    expect("'hello'", "\"hello\"");
    expect("'a\"b\\\\c'", "\"a\\\"b\\\\c\"");
    expect("'l1\\nl2\\tx'", "\"l1\\nl2\\tx\"");
    expect("'\\0\\1\\13\\27\\31\\127'", "\"\\000\\001\\013\\027\\031\\127\"");
    expect("'caf\\195\\169 \\226\\130\\172 \\240\\159\\152\\128'", "\"café € 😀\"");
    expect("'\\255x'", "\"\\255x\"");
    expect("'ab\\195'", "\"ab\\195\"");                           /* truncated sequence */
    expect("'\\195('", "\"\\195(\"");                             /* bad continuation */
    expect("'\\192\\128'", "\"\\192\\128\"");                     /* overlong NUL */
    expect("'\\237\\160\\128'", "\"\\237\\160\\128\"");           /* surrogate */
    expect("'\\244\\144\\128\\128'", "\"\\244\\144\\128\\128\""); /* past U+10FFFF */
}

/* Every byte value, as one string: printable ASCII as is, the rest escaped. */
static void test_binary_string(void **state)
{
    char code[] = "!local t = {} for i = 0, 255 do t[#t + 1] = string.char(i) end "
                  "return table.concat(t)";
    struct buf want = BUF_INIT;
    buf_putc(&want, '"');
    for (int i = 0; i < 256; i++) {
        if (i == '"' || i == '\\') buf_printf(&want, "\\%c", i);
        else if (i == '\n') buf_puts(&want, "\\n");
        else if (i == '\t') buf_puts(&want, "\\t");
        else if (i < 32 || i >= 127) buf_printf(&want, "\\%03d", i);
        else buf_putc(&want, (char)i);
    }
    buf_putc(&want, '"');
    expect(code, want.p);
    /* raw: the bytes themselves, the NUL as backslash-zero */
    char *raw = render_in(L, code, NULL, 1);
    assert_int_equal(strlen(raw), 257);
    assert_memory_equal(raw, "\\0\x01\x02", 4);
    for (int i = 1; i < 256; i++) assert_int_equal((unsigned char)raw[i + 1], i);
    free(raw);
    buf_free(&want);
}

static void test_raw_result(void **state)
{
    char *r = render_in(L, "'line 1\\nline \"2\"\\0end'", NULL, 1);
    assert_string_equal(r, "line 1\nline \"2\"\\0end");
    free(r);
    r = render_in(L, "'\\255'", NULL, 1);
    assert_string_equal(r, "\xff");
    free(r);
    /* only the top level is raw */
    r = render_in(L, "{'a\\nb'}", NULL, 1);
    assert_string_equal(r, "{\"a\\nb\"}");
    free(r);
    r = render_in(L, "42", NULL, 1);
    assert_string_equal(r, "42");
    free(r);
}

static int l_cfn(lua_State *S)
{
    return 0;
}

static void test_functions_and_others(void **state)
{
    expect("print", "<function>");
    expect("string.format", "<function>");
    expect("!return function() end", "<function t.lua:1>");
    expect("!local x = 1\n\nlocal function f()\nend\nreturn f", "<function t.lua:3>");
    lua_pushcfunction(L, l_cfn);
    lua_setglobal(L, "cfn");
    expect("cfn", "<function>");
    expect("coroutine.create(print)", "<thread>");
    lua_newuserdata(L, 8);
    lua_setglobal(L, "ud");
    expect("ud", "<userdata>");
    lua_pushlightuserdata(L, (void *)L);
    lua_setglobal(L, "lud");
    expect("lud", "<userdata>");
    expect("{f = print, u = ud, co = coroutine.create(print)}",
           "{co = <thread>, f = <function>, u = <userdata>}");
}

static void test_short_tables(void **state)
{
    expect("{}", "{}");
    expect("{1, 2, 3}", "{1, 2, 3}");
    expect("{x = 1, y = 2}", "{x = 1, y = 2}");
    expect("{y = 2, x = 1, 'a', 'b'}", "{\"a\", \"b\", x = 1, y = 2}");
    expect("{a = {}, {}}", "{{}, a = {}}"); /* empty nested tables keep one line */
    expect("{1, nil, 3}", "{1, [3] = 3}");
    expect("{[true] = 1, [false] = 2}", "{[false] = 2, [true] = 1}");
    expect("{[print] = 1}", "{[<function>] = 1}");
    expect("{['a\\nb'] = 1, ['a b'] = 2}", "{[\"a\\nb\"] = 1, [\"a b\"] = 2}");
    expect("{_a1 = 1, ['1a'] = 2, ['goto'] = 3, [''] = 4, ['end'] = 5}",
           "{[\"\"] = 4, [\"1a\"] = 2, _a1 = 1, [\"end\"] = 5, [\"goto\"] = 3}");
}

/* numbers ascending, then strings bytewise, then false, true, then other types */
static void test_key_order(void **state)
{
    expect("{b = 1, B = 2, aa = 3, a = 4, [10] = 5, [-1] = 6, [0] = 7, [2.5] = 8, 'x'}",
           "{\n"
           "  \"x\",\n"
           "  [-1] = 6,\n"
           "  [0] = 7,\n"
           "  [2.5] = 8,\n"
           "  [10] = 5,\n"
           "  B = 2,\n"
           "  a = 4,\n"
           "  aa = 3,\n"
           "  b = 1\n"
           "}");
    expect("{[{}] = 't', [true] = 'b', z = 1, [1/0] = 2, [-1/0] = 3, [print] = 'f'}",
           "{\n"
           "  [-inf] = 3,\n"
           "  [inf] = 2,\n"
           "  z = 1,\n"
           "  [true] = \"b\",\n"
           "  [{}] = \"t\",\n"
           "  [<function>] = \"f\"\n"
           "}");
    /* the same keys inserted in other orders render the same */
    char *a = render_in(L, "!local t = {} for i = 1, 50 do t['k' .. i] = i end return t", NULL, 0);
    char *b =
        render_in(L, "!local t = {} for i = 50, 1, -1 do t['k' .. i] = i end return t", NULL, 0);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "  k1 = 1,\n  k10 = 10,\n  k11 = 11,"));
    free(a);
    free(b);
}

/* 60 characters is one line, 61 is not; a nested non-empty table is never one line */
static void test_oneline_edge(void **state)
{
    char code[128], want[256];
    snprintf(code, sizeof code, "{string.rep('x', 56)}"); /* {"x*56"} = 60 */
    snprintf(want, sizeof want, "{\"%s\"}",
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    expect(code, want);
    snprintf(code, sizeof code, "{string.rep('x', 57)}");
    snprintf(want, sizeof want, "{\n  \"%s\"\n}",
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    expect(code, want);
    expect("{a = {1}}", "{\n  a = {1}\n}");
    expect("{[{1}] = true}", "{\n  [{1}] = true\n}");
}

static void test_nested(void **state)
{
    expect("{name = 'sma', params = {fast = 10, slow = 30}, fills = {{px = 1.5, qty = 2}, "
           "{px = 1.25, qty = 1}}, tags = {}, pos = {long = {size = 3, legs = {1, 2}}}}",
           "{\n"
           "  fills = {\n"
           "    {px = 1.5, qty = 2},\n"
           "    {px = 1.25, qty = 1}\n"
           "  },\n"
           "  name = \"sma\",\n"
           "  params = {fast = 10, slow = 30},\n"
           "  pos = {\n"
           "    long = {\n"
           "      legs = {1, 2},\n"
           "      size = 3\n"
           "    }\n"
           "  },\n"
           "  tags = {}\n"
           "}");
}

static void test_cycles(void **state)
{
    expect("!local t = {1} t.self = t return t", "{\n  1,\n  self = <cycle>\n}");
    expect("!local a, b = {n = 'a'}, {n = 'b'} a.b = b b.a = a return a", "{\n"
                                                                          "  b = {\n"
                                                                          "    a = <cycle>,\n"
                                                                          "    n = \"b\"\n"
                                                                          "  },\n"
                                                                          "  n = \"a\"\n"
                                                                          "}");
    /* a cycle through a key */
    expect("!local t = {} t[t] = 1 return t", "{\n  [<cycle>] = 1\n}");
    /* shared but not on the path: printed each time */
    expect("!local s = {1, 2} return {x = s, y = s}", "{\n  x = {1, 2},\n  y = {1, 2}\n}");
}

static void test_max_items(void **state)
{
    struct buf want = BUF_INIT;
    buf_puts(&want, "{\n");
    for (int i = 1; i <= 100; i++) buf_printf(&want, "  %d,\n", i * 2);
    buf_puts(&want, "  ... (9900 more)\n}");
    expect("!local t = {} for i = 1, 10000 do t[i] = i * 2 end return t", want.p);

    buf_reset(&want);
    buf_puts(&want, "{\n");
    for (int i = 1; i <= 100; i++) buf_printf(&want, "  k%05d = %d,\n", i, i);
    buf_puts(&want, "  ... (9900 more)\n}");
    expect("!local t = {} for i = 10000, 1, -1 do t[string.format('k%05d', i)] = i end "
           "return t",
           want.p);

    /* array part first, then the sorted keys, all counted */
    buf_reset(&want);
    buf_puts(&want, "{\n");
    for (int i = 1; i <= 40; i++) buf_printf(&want, "  %d,\n", i);
    for (int i = 1; i <= 60; i++) buf_printf(&want, "  k%05d = %d,\n", i, i);
    buf_puts(&want, "  ... (9940 more)\n}");
    expect("!local t = {} for i = 1, 40 do t[i] = i end "
           "for i = 1, 10000 do t[string.format('k%05d', i)] = i end return t",
           want.p);

    struct repl_pretty_opts o = {.max_items = 2};
    expect_opts("{1, 2, 3}", &o, "{\n  1,\n  2,\n  ... (1 more)\n}");
    expect_opts("{1, 2}", &o, "{1, 2}");
    expect_opts("{c = 3, b = 2, a = 1}", &o, "{\n  a = 1,\n  b = 2,\n  ... (1 more)\n}");
    buf_free(&want);
}

static void test_max_depth(void **state)
{
    struct repl_pretty_opts o = {.max_depth = 2};
    expect_opts("{a = {b = {c = 1}}}", &o, "{\n  a = {\n    b = {...}\n  }\n}");
    expect_opts("{a = {b = {}}}", &o, "{\n  a = {b = {}}\n}");
    /* 20 levels at the default depth: 8 shown, the 9th elided */
    char *r = render_in(L, "!local t = {v = 1} for i = 1, 19 do t = {t} end return t", NULL, 0);
    int opens = 0;
    for (const char *p = r; *p; p++) opens += *p == '{';
    assert_int_equal(opens, 9);
    assert_non_null(strstr(r, "{...}"));
    assert_null(strstr(r, "v = 1"));
    assert_non_null(strstr(r, "\n                {...}\n")); /* indented 2 x 8 */
    free(r);
    /* 10,000 levels: no stack overflow, bounded output */
    r = render_in(L, "!local t = {} for i = 1, 10000 do t = {t} end return t", NULL, 0);
    assert_true(strlen(r) < 400);
    free(r);
}

static void test_max_bytes(void **state)
{
    /* a 2 MiB raw string: cut at 1 MiB */
    char *r = render_in(L, "string.rep('ab', 1048576)", NULL, 1);
    size_t n = strlen(r);
    const char *marker = "\n... (output truncated)";
    assert_int_equal(n, REPL_PRETTY_MAX_BYTES + strlen(marker));
    assert_string_equal(r + REPL_PRETTY_MAX_BYTES, marker);
    free(r);
    /* never inside a UTF-8 sequence: 2-byte characters cut at 101 keep 50 of them */
    struct repl_pretty_opts o = {.max_bytes = 101};
    r = render_in(L, "string.rep('\\195\\169', 1000)", &o, 1);
    assert_int_equal(strlen(r), 100 + strlen(marker));
    assert_int_equal(buf_utf8_valid_prefix(r, strlen(r)), strlen(r));
    free(r);
    /* a big table: cut, then the marker on its own line */
    o.max_bytes = 200;
    r = render_in(L, "!local t = {} for i = 1, 1000 do t[i] = string.rep('y', 30) end return t", &o,
                  0);
    assert_int_equal(strlen(r), 200 + strlen(marker));
    assert_memory_equal(r, "{\n  \"yyy", 8);
    assert_string_equal(r + 200, marker);
    free(r);
    /* short output is never marked */
    r = render_in(L, "{1, 2}", &o, 0);
    assert_string_equal(r, "{1, 2}");
    free(r);
    /* the rendering is appended: the cut counts from where it started */
    struct buf out = BUF_INIT;
    buf_puts(&out, "prefix:");
    lua_pushstring(L, "0123456789");
    o.max_bytes = 4;
    repl_pretty_result(L, -1, &o, &out);
    lua_pop(L, 1);
    assert_string_equal(out.p, "prefix:0123\n... (output truncated)");
    buf_free(&out);
}

/* 200 references to one 100,000-entry table: more entries than the scan budget */
static void test_scan_budget(void **state)
{
    struct repl_pretty_opts o = {.max_items = 200};
    char *r = render_in(L,
                        "!local big = {} for i = 1, 100000 do big[i] = i end "
                        "local t = {} for i = 1, 200 do t[i] = big end return t",
                        &o, 0);
    assert_non_null(strstr(r, "\n... (output truncated)"));
    assert_true(strlen(r) < REPL_PRETTY_MAX_BYTES);
    free(r);
}

/* Every metamethod on the values errors and sets a flag: none may run. */
static const char *trap =
    "!ran = nil "
    "local function boom(name) return function() ran = name error('metamethod ' .. name) end "
    "end "
    "local mt = {} for _, m in ipairs({'__index', '__newindex', '__pairs', '__ipairs', "
    "'__tostring', '__len', '__call', '__concat', '__eq', '__lt', '__le', '__unm', '__add', "
    "'__gc', '__mode_x', '__name'}) do mt[m] = boom(m) end "
    "mt.__metatable = 'locked' "
    "local inner = setmetatable({9}, mt) "
    "local key = setmetatable({}, mt) "
    "local t = setmetatable({1, 2, a = 'x', inner = inner, [key] = 'k'}, mt) "
    "return t";

static void test_metamethods_never_run(void **state)
{
    expect(trap, "{\n"
                 "  1,\n"
                 "  2,\n"
                 "  a = \"x\",\n"
                 "  inner = {9},\n"
                 "  [{}] = \"k\"\n"
                 "}");
    lua_getglobal(L, "ran");
    if (!lua_isnil(L, -1)) fail_msg("metamethod %s ran", lua_tostring(L, -1));
    lua_pop(L, 1);
    /* a table whose fields come only from __index shows as what it holds: nothing */
    expect("setmetatable({}, {__index = {hidden = 1}})", "{}");
    /* also as the raw result path */
    char *r = render_in(L, trap, NULL, 1);
    assert_non_null(strstr(r, "inner = {9}"));
    free(r);
    lua_getglobal(L, "ran");
    assert_true(lua_isnil(L, -1));
    lua_pop(L, 1);
}

/* ---- a real sandbox: host read-only proxies ---------------------------------------- */

static struct sbx_watchdog *wd;

static int make_proxies(lua_State *S, void *ud)
{
    /* backing = {fast = 10, slow = {1, 2}}; params = readonly(backing) */
    lua_newtable(S);
    lua_pushnumber(S, 10);
    lua_setfield(S, -2, "fast");
    lua_newtable(S);
    lua_pushnumber(S, 1);
    lua_rawseti(S, -2, 1);
    lua_pushnumber(S, 2);
    lua_rawseti(S, -2, 2);
    sbx_push_readonly(S, -1); /* a proxy nested in the backing table */
    lua_setfield(S, -3, "slow");
    lua_pop(S, 1);
    sbx_push_readonly(S, -1);
    lua_pushvalue(S, -1);
    lua_setfield(S, -3, "self"); /* backing.self = params: a cycle through the proxy */
    sbx_set_global(S, "params");
    sbx_get_global(S, "params");
    sbx_push_readonly(S, -1); /* a proxy of a proxy */
    sbx_set_global(S, "params2");
    lua_pop(S, 2);
    return 0;
}

struct render_req {
    const char *name;
    struct buf *out;
};

static int render_global(lua_State *S, void *ud)
{
    struct render_req *rq = ud;
    sbx_get_global(S, rq->name);
    repl_pretty(S, -1, NULL, rq->out);
    lua_pop(S, 1);
    return 0;
}

static void expect_global(struct sbx *s, const char *name, const char *want)
{
    struct buf out = BUF_INIT;
    struct render_req rq = {name, &out};
    struct err e;
    int top = lua_gettop(sbx_lua(s));
    if (sbx_host_step(s, render_global, &rq, 0, 0, &e)) fail_msg("host step: %s", e.msg);
    assert_int_equal(lua_gettop(sbx_lua(s)), top);
    if (strcmp(out.p, want)) fail_msg("%s:\n--- got\n%s\n--- want\n%s", name, out.p, want);
    buf_free(&out);
}

static void run_in(struct sbx *s, const char *code)
{
    struct sbx_error se;
    if (sbx_load(s, code, strlen(code), "t.lua", &se) != SBX_OK ||
        sbx_call(s, 0, 0, SBX_BUDGET_CALL, &se) != SBX_OK)
        fail_msg("%s: %s", code, se.message);
}

static void test_readonly_proxy(void **state)
{
    struct err e;
    wd = sbx_watchdog_new(&e);
    assert_non_null(wd);
    struct sbx_config cfg = {.name = "t", .wd = wd, .seed = 1};
    struct sbx *s = sbx_new(&cfg, &e);
    if (!s) fail_msg("sbx_new: %s", e.msg);
    assert_int_equal(sbx_host_step(s, make_proxies, NULL, 0, 0, &e), 0);
    const char *want = "{\n"
                       "  fast = 10,\n"
                       "  self = <cycle>,\n"
                       "  slow = {1, 2}\n"
                       "}";
    expect_global(s, "params", want);
    expect_global(s, "params2", want);
    /* a script's own look-alike proxy (an __index table) is not the host's: it shows
     * what it holds; and its metamethods (a sandbox's own) never run */
    run_in(s, "fake = setmetatable({}, {__index = {fast = 1}}) "
              "trap = setmetatable({1}, {__index = function() hit = true error('x') end, "
              "__pairs = function() hit = true error('x') end, "
              "__tostring = function() hit = true error('x') end, "
              "__len = function() hit = true error('x') end}) "
              "wrapped = {p = params, n = 1}");
    expect_global(s, "fake", "{}");
    expect_global(s, "trap", "{1}");
    expect_global(s, "hit", "nil");
    expect_global(s, "wrapped",
                  "{\n"
                  "  n = 1,\n"
                  "  p = {\n"
                  "    fast = 10,\n"
                  "    self = <cycle>,\n"
                  "    slow = {1, 2}\n"
                  "  }\n"
                  "}");
    sbx_free(s);
    sbx_watchdog_free(wd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_binary_string),
        cmocka_unit_test(test_raw_result),
        cmocka_unit_test(test_functions_and_others),
        cmocka_unit_test(test_short_tables),
        cmocka_unit_test(test_key_order),
        cmocka_unit_test(test_oneline_edge),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_cycles),
        cmocka_unit_test(test_max_items),
        cmocka_unit_test(test_max_depth),
        cmocka_unit_test(test_max_bytes),
        cmocka_unit_test(test_scan_budget),
        cmocka_unit_test(test_metamethods_never_run),
        cmocka_unit_test(test_readonly_proxy),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
