/* Unit tests for the sandbox core: calls and results, removed globals, CPU budget
 * (JIT-compiled loops in several shapes), memory cap, error reporting with file:line,
 * guarded re-entrant functions, the Lua table.sort, require, read-only proxies and the
 * start-up probe. The exhaustive escape catalogue is test_sbx_escape.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbx.h"
#include "sbx_serial.h"
#include "sbx_watchdog.h"
#include "util.h"

static struct sbx_watchdog *wd;

static int setup_wd(void **state)
{
    struct err e;
    wd = sbx_watchdog_new(&e);
    return wd ? 0 : -1;
}

static int teardown_wd(void **state)
{
    sbx_watchdog_free(wd);
    return 0;
}

static struct sbx *new_sbx(size_t mem, int64_t call_us)
{
    struct sbx_config cfg = {
        .name = "t", .memory_limit = mem, .call_budget_us = call_us, .jit = 1, .wd = wd, .seed = 7};
    struct err e;
    struct sbx *s = sbx_new(&cfg, &e);
    if (!s) fail_msg("sbx_new: %s", e.msg);
    return s;
}

/* Loads and calls code; returns the status; *out receives a string result if any. */
static enum sbx_status run(struct sbx *s, const char *code, struct sbx_error *se, char *out,
                           size_t n)
{
    lua_State *L = sbx_lua(s);
    enum sbx_status st = sbx_load(s, code, strlen(code), "t.lua", se);
    if (st != SBX_OK) return st;
    st = sbx_call(s, 0, 1, SBX_BUDGET_CALL, se);
    if (st == SBX_OK) {
        if (out) {
            const char *r = lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER
                                ? lua_tostring(L, -1)
                                : lua_typename(L, lua_type(L, -1));
            util_strlcpy(out, r, n);
        }
        lua_pop(L, 1);
    }
    assert_int_equal(lua_gettop(L), 1);
    return st;
}

static void expect_ok(struct sbx *s, const char *code, const char *result)
{
    struct sbx_error se;
    char out[256] = "";
    enum sbx_status st = run(s, code, &se, out, sizeof out);
    if (st != SBX_OK) fail_msg("%s -> %s: %s", code, sbx_status_name(st), se.message);
    if (result) assert_string_equal(out, result);
}

static void expect_fail(struct sbx *s, const char *code, enum sbx_status want, const char *substr)
{
    struct sbx_error se;
    enum sbx_status st = run(s, code, &se, NULL, 0);
    if (st != want)
        fail_msg("%s -> %s (%s), want %s", code, sbx_status_name(st), se.message,
                 sbx_status_name(want));
    if (substr && !strstr(se.message, substr))
        fail_msg("%s: message '%s' lacks '%s'", code, se.message, substr);
}

static void test_basic_call(void **state)
{
    struct sbx *s = new_sbx(0, 0);
    expect_ok(s, "return 1 + 1", "2");
    expect_ok(s, "x = 5 return 'ok'", "ok");
    expect_ok(s, "return x", "5");
    expect_ok(s, "return math.random(1, 1000000) == math.random(1, 1000000) and 'same' or 'diff'",
              "diff");
    sbx_free(s);
}

static void test_removed_globals(void **state)
{
    struct sbx *s = new_sbx(0, 0);
    const char *gone[] = {"io",          "os",           "debug",    "ffi",        "jit",
                          "package",     "dofile",       "loadfile", "loadstring", "getfenv",
                          "setfenv",     "newproxy",     "module",   "gcinfo",     "print",
                          "string.dump", "table.foreach"};
    for (size_t i = 0; i < ARRAY_LEN(gone); i++) {
        char code[128];
        snprintf(code, sizeof code, "return type(%s)", gone[i]);
        expect_ok(s, code, "nil");
    }
    expect_ok(s, "return tostring(getmetatable(''))", "false");
    expect_ok(s, "return collectgarbage('count') > 0 and 'y'", "y");
    expect_fail(s, "collectgarbage('collect')", SBX_ERR_RUNTIME, "only \"count\"");
    expect_ok(s, "local f, e = load('\\27LJ\\2\\0') return e", NULL);
    expect_ok(s, "local f, e = load('\\27LJ\\2\\0') return tostring(f)", "nil");
    sbx_free(s);
}

static void test_error_position(void **state)
{
    struct sbx *s = new_sbx(0, 0);
    struct sbx_error se;
    assert_int_equal(run(s, "local x = 1\nlocal y = nil\nreturn y.z", &se, NULL, 0),
                     SBX_ERR_RUNTIME);
    assert_string_equal(se.file, "t.lua");
    assert_int_equal(se.line, 3);
    assert_int_equal(run(s, "local x = \n\nend", &se, NULL, 0), SBX_ERR_SYNTAX);
    assert_int_equal(se.line, 3);
    assert_string_equal(se.file, "t.lua");
    /* an error object with a looping __tostring is described by type */
    expect_fail(s, "error(setmetatable({}, {__tostring = function() while true do end end}))",
                SBX_ERR_RUNTIME, "error object is a table");
    sbx_free(s);
}

static void test_cpu_shapes(void **state)
{
    const char *shapes[] = {
        "while true do end",
        "local i = 0 while true do i = i + 1 end",
        "local t = {} local i = 0 while true do i = i + 1 t[i % 64] = i end",
        "local function f(x) return x + 1 end local i = 0 while true do i = f(i) end",
        "while true do pcall(function() while true do end end) end",
        "while true do pcall(coroutine.wrap(function() while true do end end)) end",
        "while true do xpcall(function() while true do end end, function() while true do end end) "
        "end",
        "local t = {1, 2, 3} while true do for k, v in pairs(t) do end end",
        "::top:: goto top",
        "local function f() return f() end f()",
        "repeat local s = string.format('%d', 1) until false",
        "while true do local ok = pcall(error, 'x') end",
    };
    struct sbx *s = new_sbx(0, 50000);
    for (size_t i = 0; i < ARRAY_LEN(shapes); i++) {
        struct sbx_error se;
        enum sbx_status st = run(s, shapes[i], &se, NULL, 0);
        if (st != SBX_ERR_CPU) fail_msg("shape %zu (%s) -> %s", i, shapes[i], sbx_status_name(st));
        if (se.elapsed_us > 100000)
            fail_msg("shape %zu stopped after %lld us", i, (long long)se.elapsed_us);
        /* the state stays usable */
        expect_ok(s, "return 'alive'", "alive");
    }
    sbx_free(s);
}

static void test_memory_cap(void **state)
{
    struct sbx *s = new_sbx(8u << 20, 2000000);
    struct sbx_error se;
    assert_int_equal(run(s, "local t = {}\nfor i = 1, 1e8 do t[i] = {i} end", &se, NULL, 0),
                     SBX_ERR_MEMORY);
    assert_string_equal(se.file, "t.lua");
    assert_int_equal(se.line, 2);
    expect_fail(s, "return string.rep('x', 1e9)", SBX_ERR_MEMORY, "memory limit");
    expect_fail(s, "local ok = pcall(string.rep, 'x', 1e9) return 'caught'", SBX_ERR_MEMORY, NULL);
    expect_ok(s, "return 'alive'", "alive");
    assert_true(sbx_memory_used(s) < (8u << 20));
    sbx_free(s);
}

static void test_reentrancy_guards(void **state)
{
    struct sbx *s = new_sbx(0, 2000000);
    expect_fail(s, "local function f(m) return (string.gsub('x', 'x', f)) end return f()",
                SBX_ERR_RUNTIME, "C stack overflow");
    expect_fail(s, "local function f() return coroutine.wrap(f)() end return f()", SBX_ERR_RUNTIME,
                NULL);
    expect_fail(
        s,
        "local mt = {} mt.__tostring = function(t) return tostring(setmetatable({}, mt)) end "
        "return tostring(setmetatable({}, mt))",
        SBX_ERR_RUNTIME, NULL);
    expect_fail(s, "return string.find(string.rep('a', 200), '.-.-.-.-b')", SBX_ERR_RUNTIME,
                "pattern too complex");
    expect_ok(s, "return string.find(string.rep('a', 200) .. 'b', 'a-b')", "1");
    expect_ok(s, "return string.find(string.rep('a', 5000), '.-.-b', 1, true) or 'none'", "none");
    expect_ok(s, "return 'alive'", "alive");
    sbx_free(s);
}

static void test_sort(void **state)
{
    struct sbx *s = new_sbx(0, 2000000);
    expect_ok(s,
              "local r = {} for n = 0, 70 do for rep = 1, 3 do "
              "local t, u = {}, {} for i = 1, n do t[i] = math.random(1, 20) u[i] = t[i] end "
              "table.sort(t) for i = 2, n do if t[i-1] > t[i] then return 'unsorted' end end "
              "table.sort(u, function(a, b) return a > b end) "
              "for i = 2, n do if u[i-1] < u[i] then return 'unsorted desc' end end end end "
              "return 'sorted'",
              "sorted");
    expect_fail(s, "table.sort({3, 1, 2}, 5)", SBX_ERR_RUNTIME, "function expected");
    expect_fail(
        s, "local function c(a, b) table.sort({2, 1}, c) return a < b end table.sort({2,1}, c)",
        SBX_ERR_RUNTIME, NULL);
    sbx_free(s);
}

static void test_require(void **state)
{
    char dir[] = "/tmp/sbxreqXXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], outside[256];
    snprintf(path, sizeof path, "%s/mod", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/mod/a.lua", dir);
    FILE *f = fopen(path, "w");
    fputs("local M = {} M.n = (M.n or 0) + 1 function M.twice(x) return 2 * x end return M", f);
    fclose(f);
    snprintf(outside, sizeof outside, "%s.secret.lua", dir);
    f = fopen(outside, "w");
    fputs("return 'secret'", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/evil.lua", dir);
    assert_int_equal(symlink(outside, path), 0);

    struct sbx_config cfg = {.name = "t", .wd = wd, .jit = 1, .module_dirs = {dir}};
    struct err e;
    struct sbx *s = sbx_new(&cfg, &e);
    assert_non_null(s);
    expect_ok(s, "return require('mod.a').twice(21)", "42");
    expect_ok(s, "return require('mod.a') == require('mod.a') and 'cached'", "cached");
    assert_int_equal(sbx_module_count(s), 1);
    expect_fail(s, "return require('evil')", SBX_ERR_RUNTIME, "outside");
    expect_fail(s, "return require('../x')", SBX_ERR_RUNTIME, "invalid module name");
    expect_fail(s, "return require('nope')", SBX_ERR_RUNTIME, "not found");
    sbx_free(s);
    unlink(path);
    unlink(outside);
    snprintf(path, sizeof path, "%s/mod/a.lua", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/mod", dir);
    rmdir(path);
    rmdir(dir);
}

static int push_ro(lua_State *L, void *ud)
{
    lua_newtable(L);
    lua_pushnumber(L, 10);
    lua_setfield(L, -2, "fast");
    sbx_push_readonly(L, -1);
    lua_setglobal(L, "params");
    lua_pop(L, 1);
    return 0;
}

static void test_readonly(void **state)
{
    struct sbx *s = new_sbx(0, 0);
    struct err e;
    assert_int_equal(sbx_host_step(s, push_ro, NULL, 0, 0, &e), 0);
    expect_ok(s, "return params.fast", "10");
    expect_fail(s, "params.fast = 1", SBX_ERR_RUNTIME, "read-only");
    expect_ok(s, "local n = 0 for k, v in pairs(params) do n = n + v end return n", "10");
    expect_ok(s, "return getmetatable(params)", "read-only");
    expect_fail(s, "setmetatable(params, nil)", SBX_ERR_RUNTIME, "protected metatable");
    sbx_free(s);
}

static void test_probe(void **state)
{
    struct err e;
    int ok = sbx_probe(wd, &e);
    if (!ok) fail_msg("probe failed: %s", e.msg);
    setenv("LUATRADE_SBX_PROBE", "fail", 1);
    assert_int_equal(sbx_probe(wd, &e), 0);
    assert_non_null(strstr(e.msg, "forced"));
    unsetenv("LUATRADE_SBX_PROBE");
}

/* The state serializer: round trip, sharing and cycles, refusals with a path, and
 * malformed bytes (nesting past the limit, references past the table count, nil
 * inside a table) refused with a message. */
static void test_serial(void **state)
{
    struct sbx *s = new_sbx(0, 0);
    lua_State *L = sbx_lua(s);
    struct sbx_error se;
    const char *code = "local t = { 1, 'two', x = { y = true } } t.self = t t.shared = t.x "
                       "return t";
    assert_int_equal(sbx_load(s, code, strlen(code), "t.lua", &se), SBX_OK);
    assert_int_equal(sbx_call(s, 0, 1, SBX_BUDGET_CALL, &se), SBX_OK);
    struct buf b = BUF_INIT;
    struct err e;
    assert_int_equal(sbx_serial_dump(s, -1, "state", &b, &e), 0);
    lua_pop(L, 1);
    assert_int_equal(sbx_serial_load(s, b.p, b.len, NULL, &e), 0);
    lua_setglobal(L, "copy");
    expect_ok(s,
              "return (copy.self == copy and copy.shared == copy.x and copy[2] == 'two' "
              "and copy.x.y == true) and 'same' or 'different'",
              "same");
    buf_free(&b);

    const char *bad = "return { a = { f = function() end } }";
    assert_int_equal(sbx_load(s, bad, strlen(bad), "t.lua", &se), SBX_OK);
    assert_int_equal(sbx_call(s, 0, 1, SBX_BUDGET_CALL, &se), SBX_OK);
    assert_int_equal(sbx_serial_dump(s, -1, "state", &b, &e), -1);
    assert_non_null(strstr(e.msg, "state.a.f is a function"));
    assert_int_equal(b.len, 0);
    buf_free(&b);
    lua_pop(L, 1);

    /* 101 nested tables ({k = {k = ... {}}}): over the limit when loading too */
    struct buf deep = BUF_INIT;
    for (int i = 0; i < SBX_SERIAL_MAX_DEPTH; i++) buf_put(&deep, "B\0\0\0\0S\1\0\0\0k", 11);
    buf_put(&deep, "B\0\0\0\0E", 6);
    for (int i = 0; i < SBX_SERIAL_MAX_DEPTH; i++) buf_putc(&deep, 'E');
    int top = lua_gettop(L);
    assert_int_equal(sbx_serial_load(s, deep.p, deep.len, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "nested too deeply"));
    assert_int_equal(lua_gettop(L), top);
    buf_free(&deep);

    static const char ref_high[] = {'R', (char)0xff, (char)0xff, (char)0xff, (char)0xff};
    assert_int_equal(sbx_serial_load(s, ref_high, sizeof ref_high, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "bad reference"));
    static const char nil_value[] = "B\0\0\0\0S\1\0\0\0k0E";
    assert_int_equal(sbx_serial_load(s, nil_value, sizeof nil_value - 1, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "nil inside a table"));
    assert_int_equal(lua_gettop(L), top);
    sbx_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_call),     cmocka_unit_test(test_removed_globals),
        cmocka_unit_test(test_error_position), cmocka_unit_test(test_cpu_shapes),
        cmocka_unit_test(test_memory_cap),     cmocka_unit_test(test_reentrancy_guards),
        cmocka_unit_test(test_sort),           cmocka_unit_test(test_require),
        cmocka_unit_test(test_readonly),       cmocka_unit_test(test_probe),
        cmocka_unit_test(test_serial),
    };
    return cmocka_run_group_tests(tests, setup_wd, teardown_wd);
}
