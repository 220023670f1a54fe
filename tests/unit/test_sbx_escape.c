/* Sandbox escape and hazard catalogue (DESIGN.md §5; notes/sandbox-risk-recovery.md
 * tables A1 and A2). Table-driven: each case is a Lua snippet run in a fresh sandbox
 * (16 MB cap, 50 ms call budget, JIT on, a scratch module directory) with the status,
 * result and message it must produce. After every case the suite checks that the host
 * survived: the same sandbox still answers "return 1+1" (unless the case is expected
 * to leave it faulted), a fresh sandbox works, the stack is balanced, every failing
 * call returned promptly and closing the state does not hang. A case that hangs the
 * host is named by a SIGALRM handler; one stuck in C is named before the watchdog
 * aborts. Timing-only failures (a late CPU stop on a loaded machine) are retried once.
 *
 * C-bound cases (test_stuck_in_c) would, without their guard, run for seconds inside
 * one C call where no hook fires, and the watchdog's hard limit would abort the whole
 * process; so they run in forked children, two at a time, and each must return (refused
 * with a clear error) with the host alive. LUATRADE_ESCAPE_VERBOSE=1 prints every
 * case's status, time and message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <lauxlib.h>
#include <lua.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sbx.h"
#include "sbx_watchdog.h"
#include "util.h"

#define BUDGET_US      50000
#define MEMORY_CAP     (16u << 20)
#define PROMPT_US      1500000 /* every call must return within this */
#define CPU_STOP_US    100000  /* 2x the budget */
#define SLOW_BUDGET_US 1000000 /* cases about memory or depth, not the clock */
#define HOLE_BUDGET_US 100000  /* long enough for a hole's setup to finish */

enum {
    F_FAULTED = 1, /* the same sandbox may stay unusable afterwards */
    F_PARAMS = 2,  /* install a read-only `params` proxy first */
    F_ANY = 4,     /* any status is acceptable; only survival is checked */
    F_UNWIND = 8,  /* deep C nesting: the budget may stop it first, and unwinding the C
                    * frames (DWARF unwinder, ~30 us per level) delays the stop */
};

struct esc_case {
    const char *name;
    const char *code;          /* NULL: produced by gen */
    char *(*gen)(size_t *len); /* malloc'd script */
    enum sbx_status want;
    const char *result; /* SBX_OK: result as text; "~x": contains x; NULL: any */
    const char *msg;    /* failure: substring of the message; NULL: any */
    unsigned flags;
    const char *fresh_code, *fresh; /* check in a fresh sandbox; NULL: "return 1+1" -> "2" */
    int64_t budget_us;              /* 0: BUDGET_US */
};

/* clang-format off */
#define OK(n, c, r)             {n, c, NULL, SBX_OK, r, NULL, 0, NULL, NULL, 0}
#define FAIL(n, c, st, m)       {n, c, NULL, st, NULL, m, 0, NULL, NULL, 0}
#define RT(n, c, m)             FAIL(n, c, SBX_ERR_RUNTIME, m)
#define CPU(n, c)               FAIL(n, c, SBX_ERR_CPU, "CPU budget of 50 ms exceeded")
#define GEN(n, g, st, m)        {n, NULL, g, st, NULL, m, 0, NULL, NULL, 0}
#define WITH(n, c, st, r, m, f) {n, c, NULL, st, r, m, f, NULL, NULL, 0}
/* Memory bombs and deep recursion get a longer budget: they are about the cap and the
 * stacks, not the clock, and allocation is several times slower under ASan. */
#define OK_SLOW(n, c, r)        {n, c, NULL, SBX_OK, r, NULL, 0, NULL, NULL, SLOW_BUDGET_US}
#define RT_SLOW(n, c, m)        {n, c, NULL, SBX_ERR_RUNTIME, NULL, m, 0, NULL, NULL, SLOW_BUDGET_US}
#define HOLE(n, c, m)           {n, c, NULL, SBX_ERR_RUNTIME, NULL, m, 0, NULL, NULL, HOLE_BUDGET_US}
#define MEM(n, c) \
    {n, c, NULL, SBX_ERR_MEMORY, NULL, "memory limit of 16 MB reached", 0, NULL, NULL, SLOW_BUDGET_US}
/* clang-format on */

#define STUCK_EXIT 86 /* a hole's child: the watchdog found the call stuck in C */
#define HANG_S     10 /* a case running this long hangs the host (SIGALRM) */

static struct sbx_watchdog *wd;
static const char *volatile current_case = "";

/* The watchdog is about to abort the process: say which case did it. */
static void on_stuck(void *arg)
{
    fprintf(stderr, "case '%s': call stuck in C past the hard limit; the host aborts\n",
            current_case);
}

static void on_stuck_child(void *arg)
{
    _exit(STUCK_EXIT);
}

static void on_alarm(int sig)
{
    static const char m[] = "a case hung the host (no return within 10 s): ";
    if (write(2, m, sizeof m - 1) < 0 || write(2, current_case, strlen(current_case)) < 0 ||
        write(2, "\n", 1) < 0)
        _exit(3);
    _exit(3);
}
static char moddir[64], outdir[64], outfile[80];

/* ---- fixtures --------------------------------------------------------------------- */

static void write_file(const char *dir, const char *name, const char *text, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

static void link_file(const char *target, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", moddir, name);
    assert_int_equal(symlink(target, path), 0);
}

/* The module directory: good modules, oversized and bytecode modules, a module that
 * spins, and symlinks that escape it (to a file and to a directory). */
static void make_modules(void)
{
    snprintf(moddir, sizeof moddir, "/tmp/sbxescXXXXXX");
    assert_non_null(mkdtemp(moddir));
    snprintf(outdir, sizeof outdir, "%.50s.out", moddir);
    assert_int_equal(mkdir(outdir, 0700), 0);
    write_file(outdir, "m.lua", "return 'outside dir'", 20);
    snprintf(outfile, sizeof outfile, "%.50s.secret.lua", moddir);
    FILE *f = fopen(outfile, "w");
    fputs("return 'secret'", f);
    fclose(f);

    char path[256];
    snprintf(path, sizeof path, "%s/pkg", moddir);
    assert_int_equal(mkdir(path, 0700), 0);
    write_file(moddir, "pkg/init.lua", "return {v = 42}", 15);
    write_file(moddir, "ok.lua", "return {twice = function(x) return 2 * x end}", 45);
    write_file(moddir, "spin.lua", "while true do end", 17);
    write_file(moddir, "bc.lua", "\033LJ\002\000\001\002", 7);
    write_file(moddir, "bombc.lua", "\357\273\277\033LJ\002\000", 8);
    write_file(moddir, "shebc.lua", "#!/x\n\033LJ\002\000", 10);
    size_t big = SBX_DEFAULT_SCRIPT + 1;
    char *text = xmalloc(big);
    memset(text, '-', big);
    write_file(moddir, "big.lua", text, big);
    free(text);
    link_file(outfile, "evil.lua");
    link_file(outdir, "sub");
    link_file("/etc/passwd", "passwd.lua");
    link_file("selfloop.lua", "selfloop.lua");
}

static void remove_modules(void)
{
    static const char *names[] = {"pkg/init.lua", "pkg",       "ok.lua",     "spin.lua",
                                  "bc.lua",       "bombc.lua", "shebc.lua",  "big.lua",
                                  "evil.lua",     "sub",       "passwd.lua", "selfloop.lua"};
    char path[256];
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        snprintf(path, sizeof path, "%s/%s", moddir, names[i]);
        if (remove(path) != 0) rmdir(path);
    }
    rmdir(moddir);
    snprintf(path, sizeof path, "%s/m.lua", outdir);
    unlink(path);
    rmdir(outdir);
    unlink(outfile);
}

static int setup_group(void **state)
{
    struct err e;
    wd = sbx_watchdog_new(&e);
    if (!wd) return -1;
    sbx_watchdog_set_fatal(wd, on_stuck, NULL);
    signal(SIGALRM, on_alarm);
    make_modules();
    return 0;
}

static int teardown_group(void **state)
{
    remove_modules();
    sbx_watchdog_free(wd);
    return 0;
}

/* ---- running one case ------------------------------------------------------------- */

static struct sbx *new_sbx(struct sbx_watchdog *w, uint64_t seed, int64_t budget_us, char *why,
                           size_t n)
{
    struct sbx_config cfg = {.name = "esc",
                             .memory_limit = MEMORY_CAP,
                             .call_budget_us = budget_us ? budget_us : BUDGET_US,
                             .jit = 1,
                             .wd = w,
                             .seed = seed,
                             .module_dirs = {moddir}};
    struct err e;
    struct sbx *s = sbx_new(&cfg, &e);
    if (!s) snprintf(why, n, "sbx_new: %s", e.msg);
    return s;
}

static int push_params(lua_State *L, void *ud)
{
    lua_newtable(L);
    lua_pushnumber(L, 10);
    lua_setfield(L, -2, "fast");
    sbx_push_readonly(L, -1);
    lua_setglobal(L, "params");
    lua_pop(L, 1);
    return 0;
}

/* Loads and calls code (len bytes); the result, if any, is written as text to out. */
static enum sbx_status run(struct sbx *s, const char *code, size_t len, struct sbx_error *se,
                           char *out, size_t n)
{
    lua_State *L = sbx_lua(s);
    memset(se, 0, sizeof *se);
    out[0] = '\0';
    enum sbx_status st = sbx_load(s, code, len, "escape.lua", se);
    if (st == SBX_OK) st = sbx_call(s, 0, 1, SBX_BUDGET_CALL, se);
    if (st != SBX_OK) return st;
    int t = lua_type(L, -1);
    if (t == LUA_TSTRING || t == LUA_TNUMBER) util_strlcpy(out, lua_tostring(L, -1), n);
    else if (t == LUA_TBOOLEAN) util_strlcpy(out, lua_toboolean(L, -1) ? "true" : "false", n);
    else util_strlcpy(out, lua_typename(L, t), n);
    lua_pop(L, 1);
    return st;
}

static int result_matches(const char *want, const char *got)
{
    if (!want) return 1;
    if (want[0] == '~') return strstr(got, want + 1) != NULL;
    return strcmp(want, got) == 0;
}

/* Runs "return 1+1" (or code) in s; returns 0 when it gave the expected result. */
static int sanity(struct sbx *s, const char *code, const char *want, char *why, size_t n,
                  const char *where)
{
    struct sbx_error se;
    char out[256];
    enum sbx_status st = run(s, code, strlen(code), &se, out, sizeof out);
    if (st == SBX_OK && result_matches(want, out) && lua_gettop(sbx_lua(s)) == 1) return 0;
    snprintf(why, n, "%s sanity '%s' -> %s '%s' (%s)", where, code, sbx_status_name(st), out,
             se.message);
    return -1;
}

/* Runs one case and the survival checks. Returns 0, or -1 with why filled; -2 when the
 * only fault is timing (a late CPU stop, or a budget expiry in a case that expects
 * another outcome), which a loaded machine can cause: the caller retries those once. */
static int check_case(struct sbx_watchdog *w, const struct esc_case *c, char *why, size_t n)
{
    current_case = c->name;
    alarm(HANG_S);
    struct sbx *s = new_sbx(w, 7, c->budget_us, why, n);
    if (!s) return -1;
    int rc = -1;
    struct err e;
    if ((c->flags & F_PARAMS) && sbx_host_step(s, push_params, NULL, 0, 0, &e) != 0) {
        snprintf(why, n, "params: %s", e.msg);
        goto out;
    }
    size_t len;
    char *gen = c->gen ? c->gen(&len) : NULL;
    const char *code = gen ? gen : c->code;
    if (!gen) len = strlen(code);
    struct sbx_error se;
    char out[512];
    int64_t t0 = mono_ns();
    enum sbx_status st = run(s, code, len, &se, out, sizeof out);
    int64_t took_us = (mono_ns() - t0) / 1000;
    free(gen);
    if (getenv("LUATRADE_ESCAPE_VERBOSE"))
        print_message("  %-60.60s %-8s %7lld us  %.60s\n", c->name, sbx_status_name(st),
                      (long long)took_us, st == SBX_OK ? out : se.message);
    if (lua_gettop(sbx_lua(s)) != 1) {
        snprintf(why, n, "stack not balanced: top %d", lua_gettop(sbx_lua(s)));
        goto out;
    }
    int unwind_cpu = (c->flags & F_UNWIND) && st == SBX_ERR_CPU;
    if (!(c->flags & F_ANY) && !unwind_cpu) {
        if (st != c->want) {
            snprintf(why, n, "status %s (%s), want %s", sbx_status_name(st),
                     st == SBX_OK ? out : se.message, sbx_status_name(c->want));
            if (st == SBX_ERR_CPU) rc = -2; /* a slow moment ran the budget out */
            goto out;
        }
        if (st == SBX_OK && !result_matches(c->result, out)) {
            snprintf(why, n, "result '%s', want '%s'", out, c->result);
            goto out;
        }
        if (st != SBX_OK && c->msg && !strstr(se.message, c->msg)) {
            snprintf(why, n, "message '%s' lacks '%s'", se.message, c->msg);
            goto out;
        }
    }
    if (strlen(se.message) >= sizeof se.message) {
        snprintf(why, n, "message not terminated");
        goto out;
    }
    if (st == SBX_ERR_CPU && !unwind_cpu && se.elapsed_us >= CPU_STOP_US) {
        snprintf(why, n, "CPU stop took %lld us (limit %d)", (long long)se.elapsed_us, CPU_STOP_US);
        rc = -2;
        goto out;
    }
    if (took_us >= PROMPT_US) {
        snprintf(why, n, "took %lld us (%s)", (long long)took_us, sbx_status_name(st));
        goto out;
    }
    if (!(c->flags & F_FAULTED) && sanity(s, "return 1+1", "2", why, n, "same-sandbox") != 0)
        goto out;
    struct sbx *fresh = new_sbx(w, 7, 0, why, n);
    if (!fresh) goto out;
    int fr = sanity(fresh, c->fresh_code ? c->fresh_code : "return 1+1",
                    c->fresh_code ? c->fresh : "2", why, n, "fresh-sandbox");
    sbx_free(fresh);
    if (fr != 0) goto out;
    rc = 0;
out:
    t0 = mono_ns();
    sbx_free(s);
    int64_t close_us = (mono_ns() - t0) / 1000;
    alarm(0);
    if (rc != -1 && close_us >= PROMPT_US) {
        snprintf(why, n, "closing the sandbox took %lld us", (long long)close_us);
        rc = -1;
    }
    return rc;
}

static void run_cases(const struct esc_case *cases, size_t n)
{
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        char why[1024] = "";
        int rc = check_case(wd, &cases[i], why, sizeof why);
        if (rc == -2) {
            print_message("retrying %s: %s\n", cases[i].name, why);
            rc = check_case(wd, &cases[i], why, sizeof why);
        }
        if (rc != 0) {
            print_error("FAIL %s: %s\n", cases[i].name, why);
            failed++;
        }
    }
    if (failed) fail_msg("%d of %zu cases failed", failed, n);
}

#define RUN(t) run_cases(t, ARRAY_LEN(t))

/* ---- generated scripts ------------------------------------------------------------ */

static char *repeat(const char *head, const char *unit, size_t times, const char *tail, size_t *len)
{
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    *len = hl + ul * times + tl;
    char *p = xmalloc(*len + 1);
    memcpy(p, head, hl);
    for (size_t i = 0; i < times; i++) memcpy(p + hl + i * ul, unit, ul);
    memcpy(p + hl + ul * times, tail, tl + 1);
    return p;
}

static char *gen_parens(size_t *len)
{
    return repeat("return ", "(", 100000, "", len);
}

static char *gen_balanced(size_t *len)
{
    /* 100000 '(' and ')' around a number: 200 KB, under the 256 KB cap */
    size_t n = 100000;
    char *p = repeat("return ", "(", n, "1", len);
    p = xrealloc(p, *len + n + 1);
    memset(p + *len, ')', n);
    *len += n;
    p[*len] = '\0';
    return p;
}

static char *gen_braces(size_t *len)
{
    return repeat("local t = ", "{", 100000, "", len);
}

static char *gen_unary(size_t *len)
{
    return repeat("return ", "- ", 100000, "1", len);
}

static char *gen_functions(size_t *len)
{
    return repeat("return ", "function() return ", 12000, "1", len);
}

static char *gen_blocks(size_t *len)
{
    return repeat("", "do ", 80000, "", len);
}

static char *gen_concat(size_t *len)
{
    return repeat("local a = 'x' return ", "a .. ", 50000, "a", len);
}

static char *gen_megabyte(size_t *len)
{
    return repeat("return 1 ", "-", 1u << 20, "", len);
}

static char *gen_just_over(size_t *len)
{
    return repeat("return 1 ", "-", SBX_DEFAULT_SCRIPT, "", len);
}

static char *gen_bytecode_script(size_t *len)
{
    static const char bc[] = "\033LJ\002\000\001\002\003";
    *len = sizeof bc - 1;
    char *p = xmalloc(sizeof bc);
    memcpy(p, bc, sizeof bc);
    return p;
}

static char *gen_nul_script(size_t *len)
{
    static const char code[] = "return 'a\0b'";
    *len = sizeof code - 1;
    char *p = xmalloc(sizeof code);
    memcpy(p, code, sizeof code);
    return p;
}

/* ---- the catalogue ---------------------------------------------------------------- */

static void test_io_os(void **state)
{
    static const struct esc_case cases[] = {
        OK("io absent", "return type(io)", "nil"),
        RT("io.open", "return io.open('/etc/passwd'):read('*a')", "attempt to index global 'io'"),
        RT("io.popen", "return io.popen('id'):read('*a')", "attempt to index global 'io'"),
        RT("io.lines", "for l in io.lines('/etc/passwd') do end", "attempt to index global 'io'"),
        RT("io.write", "io.write('x')", "attempt to index global 'io'"),
        RT("io via _G", "return _G.io.open('/etc/passwd')", "attempt to index field 'io'"),
        OK("io via rawget", "return type(rawget(_G, 'io'))", "nil"),
        OK("os absent", "return type(os)", "nil"),
        RT("os.exit", "os.exit(42)", "attempt to index global 'os'"),
        RT("os.exit via _G", "_G['os'].exit(true)", "attempt to index field 'os'"),
        RT("os.execute", "return os.execute('touch /tmp/pwned')", "attempt to index global 'os'"),
        RT("os.getenv", "return os.getenv('HOME')", "attempt to index global 'os'"),
        RT("os.remove", "return os.remove('/tmp/x')", "attempt to index global 'os'"),
        RT("os.rename", "return os.rename('/tmp/x', '/tmp/y')", "attempt to index global 'os'"),
        RT("os.tmpname", "return os.tmpname()", "attempt to index global 'os'"),
        RT("print absent (log spam)", "print('x')", "attempt to call global 'print'"),
        OK("io, os not behind string methods", "return type(('').open) .. type(('').exit)",
           "nilnil"),
    };
    RUN(cases);
}

static void test_require(void **state)
{
    static const struct esc_case cases[] = {
        OK("good module", "return require('ok').twice(21)", "42"),
        OK("package init.lua", "return require('pkg').v", "42"),
        OK("cached", "return require('ok') == require('ok')", "true"),
        RT("dot-dot", "return require('../x')", "invalid module name"),
        RT("dot-dot in dotted form", "return require('..x')", "invalid module name"),
        RT("leading dot", "return require('.ok')", "invalid module name"),
        RT("trailing dot", "return require('ok.')", "invalid module name"),
        RT("absolute path", "return require('/etc/passwd')", "invalid module name"),
        RT("absolute .lua path", "return require('/tmp/x.lua')", "invalid module name"),
        RT("slash in name", "return require('pkg/init')", "invalid module name"),
        RT("backslash in name", "return require('pkg\\\\init')", "invalid module name"),
        RT("tilde", "return require('~/x')", "invalid module name"),
        RT("embedded NUL", "return require('ok\\0/../../etc/passwd')", "invalid module name"),
        RT("empty name", "return require('')", "invalid module name"),
        RT("very long name", "return require(string.rep('a', 129))", "invalid module name"),
        RT("dash", "return require('a-b')", "invalid module name"),
        RT("leading digit segment", "return require('a.1b')", "invalid module name"),
        RT("symlink to a file outside", "return require('evil')", "outside"),
        RT("symlink to a dir outside", "return require('sub.m')", "outside"),
        RT("symlink to /etc/passwd", "return require('passwd')", "outside"),
        RT("symlink loop", "return require('selfloop')", "not found"),
        RT("not found", "return require('nope')", "not found"),
        RT("ffi via require", "return require('ffi')", "not found"),
        RT("jit via require", "return require('jit')", "not found"),
        RT("jit.util via require", "return require('jit.util')", "not found"),
        RT("jit.profile via require", "return require('jit.profile')", "not found"),
        RT("debug via require", "return require('debug')", "not found"),
        RT("io via require", "return require('io')", "not found"),
        RT("number name", "return require(1)", "string expected"),
        RT("table name", "return require({})", "string expected"),
        RT("module larger than the script cap", "return require('big')", "script limit"),
        RT("bytecode module", "return require('bc')", "wrong mode"),
        RT("BOM + bytecode module", "return require('bombc')", NULL),
        RT("shebang + bytecode module", "return require('shebc')", NULL),
        CPU("module body spins", "return require('spin')"),
        OK("failed module not cached as loaded",
           "pcall(require, 'evil') return select('#', pcall(require, 'evil'))", "2"),
    };
    RUN(cases);
}

static void test_package_ffi_debug_jit(void **state)
{
    static const struct esc_case cases[] = {
        OK("package absent", "return type(package)", "nil"),
        RT("package.loadlib", "return package.loadlib('libc.so.6', 'getpid')",
           "attempt to index global 'package'"),
        RT("package.cpath", "package.cpath = '/tmp/?.so'", "attempt to index global 'package'"),
        RT("package.path", "package.path = '/tmp/?.lua'", "attempt to index global 'package'"),
        RT("package.preload.ffi", "return package.preload.ffi()",
           "attempt to index global 'package'"),
        RT("package.loaded", "return package.loaded.os", "attempt to index global 'package'"),
        OK("module absent", "return type(module)", "nil"),
        OK("ffi global absent", "return type(ffi)", "nil"),
        RT("ffi.C", "return ffi.C.getpid()", "attempt to index global 'ffi'"),
        OK("ffi via rawget", "return type(rawget(_G, 'ffi'))", "nil"),
        OK("debug absent", "return type(debug)", "nil"),
        RT("debug.sethook", "debug.sethook() while true do end", "attempt to index global 'debug'"),
        RT("debug.getregistry", "return debug.getregistry()", "attempt to index global 'debug'"),
        RT("debug.getupvalue", "return debug.getupvalue(require, 1)",
           "attempt to index global 'debug'"),
        RT("debug.setmetatable", "debug.setmetatable('', {})", "attempt to index global 'debug'"),
        RT("debug.getinfo", "return debug.getinfo(1)", "attempt to index global 'debug'"),
        OK("jit absent", "return type(jit)", "nil"),
        RT("jit.on", "jit.on()", "attempt to index global 'jit'"),
        RT("jit.off", "jit.off() while true do end", "attempt to index global 'jit'"),
        RT("jit.flush", "jit.flush()", "attempt to index global 'jit'"),
        RT("jit.util", "return jit.util.funcinfo(print)", "attempt to index global 'jit'"),
        RT("jit.opt", "jit.opt.start('hotloop=1')", "attempt to index global 'jit'"),
        /* Nothing dangerous reachable from _G, through tables or their metatables. */
        OK("reachability walk",
           "local bad = {dump=1, loadstring=1, loadfile=1, dofile=1, getfenv=1, setfenv=1, "
           "newproxy=1, sethook=1, gethook=1, getregistry=1, getupvalue=1, setupvalue=1, "
           "loadlib=1, cpath=1, preload=1, open=1, popen=1, lines=1, execute=1, exit=1, "
           "getenv=1, remove=1, rename=1, tmpname=1, ffi=1, jit=1, debug=1, io=1, os=1, "
           "package=1, module=1, gcinfo=1, print=1, cdef=1, C=1, flush=1, util=1} "
           "local ok = {['_G.table.remove'] = true} local seen, found = {}, {} "
           "local function walk(t, path) "
           "  if seen[t] then return end seen[t] = true "
           "  for k, v in next, t do "
           "    local p = path .. '.' .. tostring(k) "
           "    if bad[k] and not ok[p] then found[#found + 1] = p end "
           "    if type(v) == 'table' then walk(v, path .. '.' .. tostring(k)) end "
           "  end "
           "  local mt = getmetatable(t) "
           "  if type(mt) == 'table' then walk(mt, path .. '<mt>') end "
           "end "
           "walk(_G, '_G') walk({getmetatable('')}, 'strmt') "
           "return #found == 0 and 'clean' or table.concat(found, ' ')",
           "clean"),
    };
    RUN(cases);
}

static void test_bytecode_load(void **state)
{
    static const struct esc_case cases[] = {
        OK("string.dump absent", "return type(string.dump)", "nil"),
        RT("string.dump call", "return string.dump(print)", "attempt to call field 'dump'"),
        RT("dump via string method", "return ('').dump(function() end)", "attempt to call"),
        OK("hand-made LJ header", "local f, e = load('\\27LJ\\2\\0\\1') return e", "~wrong mode"),
        OK("hand-made LJ header returns nil",
           "local f = load('\\27LJ\\2\\0\\1') return tostring(f)", "nil"),
        OK("mode b", "local f, e = load('\\27LJ\\2\\0', 'x', 'b') return e", "~wrong mode"),
        OK("mode bt", "local f, e = load('\\27LJ\\2\\0', 'x', 'bt') return e", "~wrong mode"),
        OK("text under mode b still text", "return load('return 7', 'x', 'b')()", "7"),
        OK("BOM then bytecode", "local f, e = load('\\239\\187\\191\\27LJ\\2\\0') return e", NULL),
        OK("BOM then bytecode refused",
           "local f = load('\\239\\187\\191\\27LJ\\2\\0') return tostring(f)", "nil"),
        OK("shebang then bytecode refused",
           "local f = load('#!x\\n\\27LJ\\2\\0') return tostring(f)", "nil"),
        OK("Lua 5.1 bytecode header", "local f, e = load('\\27Lua\\81\\0') return e",
           "~wrong mode"),
        RT("load with a reader function", "return load(function() return nil end)",
           "string expected"),
        RT("load with a recursive reader", "local function r() return load(r) end return load(r)",
           "string expected"),
        RT("load with a table", "return load({})", "string expected"),
        RT("load with a number env", "return load('return 1', 'x', 't', 5)", "table expected"),
        OK("load with an env table stays in it",
           "return load('return os == nil and x', 'c', 't', {x = '!'})()", "!"),
        OK("load over the script cap", "local f, e = load(string.rep(' ', 300 * 1024)) return e",
           "~script limit"),
        GEN("host load of bytecode", gen_bytecode_script, SBX_ERR_SYNTAX, "wrong mode"),
        GEN("host load with an embedded NUL", gen_nul_script, SBX_OK, NULL),
        OK("loaded chunk sees the sandbox globals only",
           "return load('return type(io) .. type(debug)')()", "nilnil"),
    };
    RUN(cases);
}

static void test_env(void **state)
{
    static const struct esc_case cases[] = {
        OK("getfenv absent", "return type(getfenv)", "nil"),
        OK("setfenv absent", "return type(setfenv)", "nil"),
        RT("getfenv(0)", "return getfenv(0).os", "attempt to call global 'getfenv'"),
        RT("getfenv(1)", "return getfenv(1)", "attempt to call global 'getfenv'"),
        RT("getfenv(print)", "return getfenv(print)", "attempt to call global 'getfenv'"),
        RT("getfenv(require)", "return getfenv(require)", "attempt to call global 'getfenv'"),
        RT("setfenv on a prelude function", "setfenv(require, {})",
           "attempt to call global 'setfenv'"),
        RT("setfenv(0)", "setfenv(0, {})", "attempt to call global 'setfenv'"),
        OK("loadstring absent", "return type(loadstring)", "nil"),
        OK("dofile absent", "return type(dofile)", "nil"),
        OK("loadfile absent", "return type(loadfile)", "nil"),
        RT("loadstring call", "return loadstring('return os')()",
           "attempt to call global 'loadstring'"),
        RT("dofile call", "dofile('/etc/passwd')", "attempt to call global 'dofile'"),
        RT("loadfile call", "return loadfile('/etc/passwd')", "attempt to call global 'loadfile'"),
        OK("gcinfo absent", "return type(gcinfo)", "nil"),
        /* Globals replaced by the script stay in this sandbox. */
        WITH("replacing globals is local", "pcall = nil error = nil type = nil return 'done'",
             SBX_OK, "done", NULL, 0),
        OK("prelude require unaffected by replaced globals",
           "type = function() return 'table' end pcall = error "
           "return require('ok').twice(2)",
           "4"),
        OK("prelude sort unaffected by replaced globals",
           "type = nil error = nil local t = {3, 1, 2} table.sort(t) return table.concat(t)",
           "123"),
        OK("_G metatable is the script's own business",
           "setmetatable(_G, {__index = function(t, k) return k end}) return undefined_name",
           "undefined_name"),
        OK("_G newindex hook",
           "setmetatable(_G, {__newindex = function() error('no') end}) "
           "return 'set'",
           "set"),
    };
    RUN(cases);
}

static void test_string_metatable(void **state)
{
    static const struct esc_case cases[] = {
        OK("metatable locked", "return tostring(getmetatable(''))", "false"),
        RT("poison __index.upper", "getmetatable('').__index.upper = function() return 'pwned' end",
           "attempt to index a boolean value"),
        RT("replace __index", "getmetatable('').__index = {}", "attempt to index a boolean value"),
        RT("setmetatable on a string", "setmetatable('', {})", "table expected, got string"),
        RT("rawset via getmetatable", "rawset(getmetatable(''), '__index', {})",
           "table expected, got boolean"),
        RT("rawget via getmetatable", "return rawget(getmetatable(''), '__index')",
           "table expected, got boolean"),
        RT("setmetatable on a number", "setmetatable(1, {})", "table expected, got number"),
        OK("number has no metatable", "return tostring(getmetatable(1))", "nil"),
        OK("function has no metatable", "return tostring(getmetatable(print))", "nil"),
        /* The string table is the sandbox's own copy: changing it is visible only here. */
        {"string.upper replaced only here",
         "string.upper = function() return 'pwned' end return ('abc'):upper()", NULL, SBX_OK,
         "pwned", NULL, 0, "return ('abc'):upper() .. string.upper('d')", "ABCD", 0},
        {"string.format replaced only here",
         "string.format = function() return 'pwned' end return string.format('%d', 1)", NULL,
         SBX_OK, "pwned", NULL, 0, "return string.format('%d', 1)", "1", 0},
    };
    RUN(cases);
}

static void test_finalizers(void **state)
{
    static const struct esc_case cases[] = {
        OK("newproxy absent", "return type(newproxy)", "nil"),
        RT("newproxy(true)", "local p = newproxy(true)", "attempt to call global 'newproxy'"),
        OK_SLOW("__gc on a table does nothing",
                "local n = 0 "
                "for i = 1, 2000 do setmetatable({}, {__gc = function() n = n + 1 end}) end "
                "local junk for i = 1, 5e4 do junk = {i} end return n",
                "0"),
        OK("__gc loop on a table never runs (close must not hang)",
           "for i = 1, 100 do setmetatable({}, {__gc = function() while true do end end}) end "
           "g = setmetatable({}, {__gc = function() while true do end end}) return 'left'",
           "left"),
        OK_SLOW("__gc that errors never runs",
                "for i = 1, 100 do setmetatable({}, {__gc = function() error('fin') end}) end "
                "local junk for i = 1, 5e4 do junk = {i} end return 'quiet'",
                "quiet"),
        OK("__gc on a coroutine's table",
           "local co = coroutine.create(function() "
           "setmetatable({}, {__gc = function() while true do "
           "end end}) end) coroutine.resume(co) return 'done'",
           "done"),
        RT("collectgarbage collect", "collectgarbage('collect')", "only \"count\""),
        RT("collectgarbage stop", "collectgarbage('stop')", "only \"count\""),
        RT("collectgarbage restart", "collectgarbage('restart')", "only \"count\""),
        RT("collectgarbage step", "collectgarbage('step', 1e9)", "only \"count\""),
        RT("collectgarbage setpause", "collectgarbage('setpause', 0)", "only \"count\""),
        RT("collectgarbage setstepmul", "collectgarbage('setstepmul', 1e9)", "only \"count\""),
        RT("collectgarbage table arg", "collectgarbage({})", NULL),
        OK("collectgarbage count", "return collectgarbage('count') > 0", "true"),
        OK("collectgarbage default is count", "return collectgarbage() > 0", "true"),
    };
    RUN(cases);
}

#define LOOPMT(mm) "setmetatable({}, {" mm " = function() while true do end end})"

static void test_error_objects(void **state)
{
    static const struct esc_case cases[] = {
        RT("looping __tostring", "error(" LOOPMT("__tostring") ")", "error object is a table"),
        RT("looping __index", "error(" LOOPMT("__index") ")", "error object is a table"),
        RT("looping __concat", "error(" LOOPMT("__concat") ")", "error object is a table"),
        RT("looping __eq", "error(" LOOPMT("__eq") ")", "error object is a table"),
        RT("looping __call", "error(" LOOPMT("__call") ")", "error object is a table"),
        RT("looping __len", "error(" LOOPMT("__len") ")", "error object is a table"),
        RT("looping __gc", "error(" LOOPMT("__gc") ")", "error object is a table"),
        RT("all loops at once",
           "local f = function() while true do end end "
           "error(setmetatable({}, {__tostring = f, __index = f, __concat = f, __eq = f, "
           "__call = f, __len = f, __lt = f, __le = f, __unm = f, __metatable = f}))",
           "error object is a table"),
        RT("error object via a coroutine",
           "coroutine.wrap(function() error(" LOOPMT("__tostring") ") end)()",
           "error object is a table"),
        RT("error object via xpcall handler",
           "local ok, e = xpcall(error, function(e) return " LOOPMT("__tostring") " end) error(e)",
           "error object is a table"),
        RT("error object via require'd failure", "error(" LOOPMT("__tostring") ", 2)",
           "error object is a table"),
        CPU("script formats its own looping error",
            "local ok, e = pcall(error, " LOOPMT("__tostring") ") return tostring(e)"),
        CPU("script concatenates its own looping error",
            "local ok, e = pcall(error, " LOOPMT("__concat") ") return 'x' .. e"),
        RT("__index self-recursion (table chain)",
           "local t = {} setmetatable(t, {__index = t}) return t.x", "loop in gettable"),
        RT("__newindex self-recursion", "local t = {} setmetatable(t, {__newindex = t}) t.x = 1",
           "loop in settable"),
        RT_SLOW(
            "__index function recursion",
            "local t t = setmetatable({}, {__index = function(s, k) return t[k] end}) return t.x",
            "stack overflow"),
        RT_SLOW("__concat recursion",
                "local mt = {} mt.__concat = function(a, b) return a .. b end "
                "local t = setmetatable({}, mt) return t .. t",
                NULL),
        RT_SLOW("__eq recursion",
                "local mt = {} mt.__eq = function(a, b) return a == b end "
                "return setmetatable({}, mt) == setmetatable({}, mt)",
                "stack overflow"),
        CPU("__call tail-call loop",
            "local t = setmetatable({}, {__call = function(self) return self() end}) return t()"),
        RT("error(nil)", "error(nil)", "error object is nil"),
        RT("error()", "error()", "error object is nil"),
        RT("error(true)", "error(true)", "error object is a boolean value"),
        RT("error(function)", "error(error)", "error object is a function value"),
        RT("error(thread)", "error(coroutine.create(error))", "error object is a thread value"),
        RT("error(number)", "error(12.5)", "12.5"),
        RT("error(nan)", "error(0/0)", "nan"),
        RT("huge error message", "error(string.rep('x', 1e6))", "xxxxxxxx"),
        RT("huge error message, level 0", "error(string.rep('y', 4e6), 0)", "yyyyyyyy"),
        RT("format characters in the message", "error('%s%n%d%%%p' .. string.rep('%n', 300))",
           "%s%n%d"),
        RT("NUL in the message", "error('a\\0b')", "a"),
        RT("huge level", "error('lvl', 1e9)", "lvl"),
        RT("negative level", "error('neg', -5)", "neg"),
        RT("very long chunk name (@)",
           "return load('error(\"boom\")', '@' .. string.rep('a', 1e5))()", "boom"),
        RT("very long chunk name (=)",
           "return load('error(\"boom\")', '=' .. string.rep('b', 1e5))()", "boom"),
        RT("chunk name with format characters",
           "return load('error(\"boom\")', '@%s%n%d' .. string.rep('%n', 100))()", "boom"),
        RT("chunk name with a NUL", "return load('error(\"boom\")', '@a\\0b')()", "boom"),
        RT_SLOW("error storm caught then rethrown",
                "local e for i = 1, 1e4 do local ok ok, e = pcall(error, {i}) end error(e)",
                "error object is a table"),
    };
    RUN(cases);
}

static void test_reentrancy(void **state)
{
    static const struct esc_case cases[] = {
        RT_SLOW("gsub function recursion",
                "local function f(m) return (string.gsub('x', 'x', f)) end return f()",
                "C stack overflow"),
        RT_SLOW("gsub method recursion",
                "local function f(m) return (('x'):gsub('x', f)) end return f()",
                "C stack overflow"),
        RT_SLOW("gsub table repl with __index recursion",
                "local t t = setmetatable({}, {__index = function(_, k) "
                "return (string.gsub(k, '.', t)) end}) return (string.gsub('x', '.', t))",
                "C stack overflow"),
        RT_SLOW("gsub <-> tostring recursion",
                "local mt = {} local function f() return tostring(setmetatable({}, mt)) end "
                "mt.__tostring = function() return (string.gsub('x', 'x', f)) end return f()",
                "C stack overflow"),
        WITH("tostring recursion",
             "local mt = {} mt.__tostring = function(t) return tostring(setmetatable({}, mt)) end "
             "return tostring(setmetatable({}, mt))",
             SBX_ERR_RUNTIME, NULL, "C stack overflow", F_UNWIND),
        WITH("string.format %s recursion",
             "local mt = {} mt.__tostring = function() "
             "return string.format('%s', setmetatable({}, mt)) end "
             "return string.format('%s', setmetatable({}, mt))",
             SBX_ERR_RUNTIME, NULL, "C stack overflow", F_UNWIND),
        OK("tostring recursion, caught at every level",
           "local mt, d = {}, 0 mt.__tostring = function() d = d + 1 "
           "local ok, e = pcall(tostring, setmetatable({}, mt)) if not ok then error(e, 0) end "
           "return e end local ok, e = pcall(tostring, setmetatable({}, mt)) return e",
           "~C stack overflow"),
        OK("caught gsub recursion leaves a usable state",
           "local function f(m) return (string.gsub('x', 'x', f)) end "
           "local ok, e = pcall(f) return ok",
           "false"),
        RT_SLOW(
            "sort comparator recursion",
            "local function c(a, b) table.sort({2, 1}, c) return a < b end table.sort({2, 1}, c)",
            NULL),
        RT("sort comparator errors", "table.sort({3, 2, 1}, function() error('cmp boom') end)",
           "cmp boom"),
        OK_SLOW("sort inconsistent comparator (always true)",
                "local t, s = {}, 0 for i = 1, 500 do t[i] = (i * 7919) % 503 s = s + t[i] end "
                "table.sort(t, function() return true end) "
                "local s2 = 0 for i = 1, 500 do s2 = s2 + t[i] end return #t == 500 and s == s2",
                "true"),
        OK_SLOW("sort random comparator",
                "local t, s = {}, 0 for i = 1, 500 do t[i] = i s = s + i end "
                "table.sort(t, function() return math.random() < 0.5 end) "
                "local s2 = 0 for i = 1, 500 do s2 = s2 + t[i] end return s == s2",
                "true"),
        OK("sort comparator mutating the table",
           "local t = {} for i = 1, 100 do t[i] = i end "
           "table.sort(t, function(a, b) t[math.random(1, 100)] = 0 return a > b end) "
           "return #t",
           "100"),
        RT("sort mixed types", "table.sort({1, 'x', {}})", "attempt to compare"),
        RT("sort non-table", "table.sort('abc')", "table expected"),
        OK("sort comparator yields",
           "local co = coroutine.wrap(function() local t = {3, 1, 2} "
           "table.sort(t, function(a, b) coroutine.yield() return a < b end) "
           "return table.concat(t) end) local r repeat r = co() until r return r",
           "123"),
        CPU("sort of a large table (C02) is interruptible",
            "local t = {} for i = 1, 2e5 do t[i] = -i end "
            "for r = 1, 1e9 do table.sort(t, function(a, b) return (a > b) == (r % 2 == 0) end) "
            "end"),
        RT_SLOW("coroutine.wrap nesting bomb",
                "local function f() return coroutine.wrap(f)() end "
                "return f()",
                NULL),
        /* the C-stack guard stops the nesting; the outermost resume reports it */
        OK("coroutine.resume nesting bomb",
           "local function f() return coroutine.resume(coroutine.create(f)) end "
           "local ok, e = f() return tostring(ok)",
           "true"),
        OK_SLOW(
            "coroutine.resume nesting bomb (bounded)",
            "local d = 0 local function f() d = d + 1 if d > 5000 then return true end "
            "local ok, e = coroutine.resume(coroutine.create(f)) if not ok then error(e, 0) end "
            "return e end local ok, e = pcall(f) return ok and 'deep' or tostring(e)",
            "~C stack overflow"),
        RT_SLOW("wrap inside resume inside wrap",
                "local f f = function() return coroutine.wrap(function() "
                "return select(2, coroutine.resume(coroutine.create(f))) end)() end "
                "local r = f() error(r)",
                NULL),
        MEM("many coroutines", "local t = {} for i = 1, 1e7 do t[i] = coroutine.create(error) end"),
        OK("resume a running coroutine",
           "return tostring(coroutine.wrap(function() "
           "return coroutine.resume(coroutine.running()) end)())",
           "false"),
        RT("resume a dead coroutine via wrap", "local f = coroutine.wrap(function() end) f() f()",
           "dead coroutine"),
        RT("yield from the main chunk", "coroutine.yield()", "attempt to yield"),
        RT_SLOW("Lua recursion", "local function f() return 1 + f() end return f()", NULL),
        OK("Lua recursion, caught",
           "local function f() return 1 + f() end return select(2, pcall(f))", "~stack overflow"),
        RT_SLOW("nested pcall recursion",
                "local function f() local ok, e = pcall(f) if not ok then error(e, 0) end end f()",
                NULL),
    };
    RUN(cases);
}

#define BOMB "string.rep('a', 200)"

static void test_patterns(void **state)
{
    static const struct esc_case cases[] = {
        RT("find .-.-.-.-b", "return string.find(" BOMB ", '.-.-.-.-b')", "pattern too complex"),
        RT("find method form", "return (" BOMB "):find('.-.-.-.-b')", "pattern too complex"),
        RT("find with init", "return string.find(" BOMB ", '.-.-.-.-b', 190)",
           "pattern too complex"),
        RT("find .*.*.*.*b", "return string.find(" BOMB ", '.*.*.*.*b')", "pattern too complex"),
        RT("find (a*)*-like", "return string.find(" BOMB ", '(a*)(a*)(a*)(a*)b')",
           "pattern too complex"),
        RT("find with sets", "return string.find(" BOMB ", '[%w]-[^b]-[a-z]-%a-b')",
           "pattern too complex"),
        RT("match .-.-.-.-b", "return string.match(" BOMB ", '.-.-.-.-b')", "pattern too complex"),
        RT("match anchored", "return string.match(" BOMB ", '^(.-)(.-)(.-)(.-)b$')",
           "pattern too complex"),
        RT("match with a number subject", "return string.match(2^53, '.-.-.-.-.-.-.-.-.-.-.-b')",
           NULL),
        RT("gmatch", "for m in string.gmatch(" BOMB ", '.-.-.-b') do end", "pattern too complex"),
        RT("gsub string repl", "return string.gsub(" BOMB ", '.-.-.-.-b', '')",
           "pattern too complex"),
        RT("gsub function repl", "return string.gsub(" BOMB ", '.-.-.-.-b', print)",
           "pattern too complex"),
        RT("gsub with %f frontier", "return string.gsub(" BOMB ", '%f[%w].-.-.-b', '')",
           "pattern too complex"),
        OK("reasonable pattern allowed", "return string.find(" BOMB " .. 'b', 'a-b')", "1"),
        OK("plain find allowed", "return string.find(" BOMB ", '.-.-.-.-b', 1, true) or 'none'",
           "none"),
        OK("typical parse allowed",
           "return string.match('px=101.25 qty=3', '^px=([%d%.]+) qty=(%d+)$')", "101.25"),
        RT("malformed pattern", "return string.find('abc', '[a')", "malformed pattern"),
        RT("pattern ends with %", "return string.find('abc', 'a%')", "malformed pattern"),
        RT("too many captures", "return string.find('abc', string.rep('()', 40))",
           "too many captures"),
        RT("deep pattern nesting",
           "return string.find(string.rep('a', 300), string.rep('a?', 300))", NULL),
    };
    RUN(cases);
}

static void test_memory_bombs(void **state)
{
    static const struct esc_case cases[] = {
        MEM("string.rep", "return string.rep('x', 1e9)"),
        MEM("string.rep under pcall", "local ok = pcall(string.rep, 'x', 1e9) return 'caught'"),
        MEM("string.rep with a separator", "return string.rep('x', 1e8, 'yy')"),
        MEM("string.rep with a long separator", "return string.rep('', 1e5, string.rep('z', 1e3))"),
        OK("string.rep 2^31 wraps to empty", "return #string.rep('x', 2^31)", "0"),
        OK("string.rep negative", "return #string.rep('x', -1)", "0"),
        OK("string.rep empty many times", "return #string.rep('', 2^31 - 1, '')", "0"),
        MEM("concatenation doubling", "local s = 'x' while true do s = s .. s end"),
        MEM("concatenation in a table", "local t = {} local s = ('x'):rep(1e4) "
                                        "for i = 1, 1e9 do t[i] = s .. i end"),
        MEM("table.concat bomb", "local t = {} for i = 1, 100 do t[i] = ('x'):rep(1e5) end "
                                 "local u = {} for i = 1, 1e6 do u[i] = table.concat(t) end"),
        MEM("table growth (array)", "local t = {} for i = 1, 1e9 do t[i] = i end"),
        MEM("table growth (hash)", "local t = {} for i = 1, 1e9 do t[i + 0.5] = true end"),
        MEM("table growth (nested)", "local t = {} for i = 1, 1e9 do t = {t} end"),
        MEM("closures", "local t = {} for i = 1, 1e9 do t[i] = function() return i end end"),
        MEM("OOM inside a pcall is still reported",
            "local ok = pcall(function() local t = {} for i = 1, 1e9 do t[i] = {} end end) "
            "return 'caught'"),
        MEM("OOM inside an xpcall handler",
            "return xpcall(function() error('x') end, "
            "function(e) local t = {} for i = 1, 1e9 do t[i] = {} end end)"),
        MEM("OOM while formatting an error", "error(string.rep('e', 1e9))"),
        MEM("OOM in the error path",
            "local t = {} local ok, e = pcall(function() for i = 1, 1e9 do t[i] = {i} end end) "
            "error(e .. string.rep('!', 1e6))"),
        {"global hog leaves the sandbox faulted", "hog = {} for i = 1, 1e9 do hog[i] = {i} end",
         NULL, SBX_ERR_MEMORY, NULL, "memory limit", F_FAULTED, NULL, NULL, SLOW_BUDGET_US},
    };
    RUN(cases);
}

static void test_ranges(void **state)
{
    static const struct esc_case cases[] = {
        RT("unpack 1e8", "return unpack({}, 1, 1e8)", "too many results to unpack"),
        RT("unpack full int range", "return unpack({}, -2^31, 2^31 - 1)", "too many results"),
        RT("unpack into select", "return select('#', unpack({}, 1, 1e6))", "too many results"),
        OK("unpack empty range", "return select('#', unpack({}, 1, -1))", "0"),
        OK("unpack 7000", "return select('#', unpack({}, 1, 7000))", "7000"),
        RT("select huge negative", "return select(-1e9, 1, 2)", "index out of range"),
        OK("select huge positive", "return select('#', select(2^31 - 1, 1))", "0"),
        RT("string.byte huge slice", "return string.byte(string.rep('x', 1e6), 1, -1)",
           "string slice too long"),
        OK("string.sub huge indices", "return #string.sub('abc', -1e9, 1e9)", "3"),
        OK("string.sub indices past int32", "return #string.sub('abc', -2^53, 2^53)", "~"),
        RT("string.char of huge unpack", "return string.char(unpack({}, 1, 1e7))",
           "too many results"),
        RT("table.concat huge range", "return table.concat({}, '', 1, 1e9)", "invalid value"),
        RT("table.insert far key", "local t = {} table.insert(t, 2^30, 1) return t[2^30]",
           "position out of bounds"),
        OK("table.insert at the end", "local t = {1} table.insert(t, 2, 5) return t[2]", "5"),
        OK("table.insert at the front", "local t = {1} table.insert(t, 1, 5) return t[1]", "5"),
        RT("table.insert wrong arity", "table.insert({}, 1, 2, 3)", "wrong number of arguments"),
        OK("table.remove huge position", "return table.remove({1}, -1e9)", "nil"),
        RT("format width too long", "return string.format('%5000000d', 1)", "invalid option"),
        RT("format precision bomb", "return string.format('%.99999f', 1)", "invalid option"),
        OK("format %q of a large string", "return #string.format('%q', string.rep('\\0', 1e5))",
           "~"),
        OK("bit.tohex CVE-2024-31449 input", "return bit.tohex(65535, -2147483648)", "~FFFF"),
        OK("bit.tohex negative width", "return bit.tohex(255, -1)", "F"),
        OK("bit ops on extremes", "return bit.band(2^53, -2^63) + bit.lshift(1, 1e9)", "~"),
        OK("tostring of a function", "return tostring(error)", "~function: "),
        OK("tostring of a Lua function", "return tostring(function() end)", "~function: "),
        OK("tostring of a C function", "return tostring(string.gsub)", "~function: "),
        OK("tostring of a table", "return tostring({})", "~table: "),
        OK("tostring of a coroutine", "return tostring(coroutine.create(error))", "~thread: "),
        OK("tonumber of 1e400", "return tostring(tonumber('1e400'))", "inf"),
        OK("NaN compares false both ways",
           "local q = 0/0 return tostring(q > 1) .. tostring(q <= 1)", "falsefalse"),
        OK("math.floor of huge", "return math.floor(2^1000) == 2^1000", "true"),
        OK("math.random empty interval", "return math.random(2, 1)", "~"),
        OK("math.random huge interval", "return math.random(-2^52, 2^52) ~= nil", "true"),
    };
    RUN(cases);
}

static void test_parser(void **state)
{
    static const struct esc_case cases[] = {
        GEN("100000 '('", gen_parens, SBX_ERR_SYNTAX, "too many syntax levels"),
        GEN("100000 balanced parentheses", gen_balanced, SBX_ERR_SYNTAX, "too many syntax levels"),
        GEN("100000 '{'", gen_braces, SBX_ERR_SYNTAX, "too many syntax levels"),
        GEN("100000 unary minus", gen_unary, SBX_ERR_SYNTAX, "too many syntax levels"),
        GEN("12000 nested functions", gen_functions, SBX_ERR_SYNTAX, NULL),
        GEN("80000 nested do blocks", gen_blocks, SBX_ERR_SYNTAX, NULL),
        GEN("50000 concatenations", gen_concat, SBX_ERR_SYNTAX, NULL),
        GEN("1 MB script", gen_megabyte, SBX_ERR_FILE, "script limit"),
        GEN("script just over the cap", gen_just_over, SBX_ERR_FILE, "script limit"),
        OK("parser bomb through load", "return select(2, load(string.rep('(', 1e5)))",
           "~too many syntax levels"),
        OK("brace bomb through load", "return select(2, load('return ' .. string.rep('{', 1e5)))",
           "~too many syntax levels"),
        OK("too many locals",
           "local s = 'local a1' for i = 2, 300 do s = s .. ', a' .. i end "
           "return select(2, load(s))",
           "~local variables"),
        OK("too many upvalues",
           "local s = {} for i = 1, 200 do s[#s + 1] = 'local u' .. i .. ' = ' .. i end "
           "s[#s + 1] = 'return function() return 0' "
           "for i = 1, 200 do s[#s + 1] = '+ u' .. i end s[#s + 1] = 'end' "
           "return select(2, load(table.concat(s, '\\n')))",
           "~upvalues"),
        FAIL("syntax error", "return +", SBX_ERR_SYNTAX, "unexpected symbol"),
        FAIL("unfinished long string", "return [[abc", SBX_ERR_SYNTAX, "unfinished long string"),
        FAIL("invalid escape", "return '\\999'", SBX_ERR_SYNTAX, "escape"),
        FAIL("goto into a label scope", "goto l local x ::l:: print(x)", SBX_ERR_SYNTAX, "jumps"),
    };
    RUN(cases);
}

static void test_params_proxy(void **state)
{
    static const struct esc_case cases[] = {
        WITH("proxy write refused", "params.fast = 1", SBX_ERR_RUNTIME, NULL, "read-only",
             F_PARAMS),
        WITH("proxy metatable protected", "setmetatable(params, nil)", SBX_ERR_RUNTIME, NULL,
             "protected metatable", F_PARAMS),
        WITH("proxy metatable hidden", "return getmetatable(params)", SBX_OK, "read-only", NULL,
             F_PARAMS),
        WITH("rawset on the proxy refused", "rawset(params, 'fast', 99) return params.fast",
             SBX_ERR_RUNTIME, NULL, "read-only", F_PARAMS),
        WITH("rawget sees through the proxy", "return rawget(params, 'fast')", SBX_OK, "10", NULL,
             F_PARAMS),
        /* pairs must not hand out the backing table as its iterator state */
        WITH("pairs hides the backing table", "local _, b = pairs(params) return type(b)", SBX_OK,
             "nil", NULL, F_PARAMS),
        WITH("ipairs hides the backing table", "local _, b = ipairs(params) return type(b)", SBX_OK,
             "nil", NULL, F_PARAMS),
    };
    RUN(cases);
}

/* A2: runaway loops under the JIT, each stopped within 2x the budget. */
static void test_cpu_shapes(void **state)
{
    static const struct esc_case cases[] = {
        CPU("while true", "while true do end"),
        CPU("counter", "local i = 0 while true do i = i + 1 end"),
        CPU("numeric for, huge bound", "local x = 0 for i = 1, 1e300 do x = x + i end"),
        CPU("numeric for, math.huge", "for i = 1, math.huge do end"),
        CPU("numeric for, negative step", "for i = 0, -math.huge, -1 do end"),
        CPU("repeat", "repeat until false"),
        CPU("goto", "::top:: goto top"),
        CPU("tail-call loop", "local function f(n) return f(n + 1) end return f(1)"),
        CPU("mutual tail calls", "local g local function f() return g() end "
                                 "g = function() return f() end return f()"),
        CPU("table writes", "local t = {} local i = 0 while true do i = i + 1 t[i % 64] = i end"),
        CPU("table allocation", "while true do local t = {1, 2, 3} end"),
        CPU("string.format", "repeat local s = string.format('%d %s', 1, 'x') until false"),
        CPU("string ops", "local s while true do s = ('x'):rep(10):upper() end"),
        CPU("Lua calls", "local function f(x) return x + 1 end local i = 0 while true do i = f(i) "
                         "end"),
        CPU("pcall-wrapped loop", "while true do pcall(function() while true do end end) end"),
        CPU("pcall catching the kill", "for i = 1, 1e9 do pcall(function() while true do end end) "
                                       "end"),
        CPU("xpcall looping handler", "xpcall(error, function() while true do end end)"),
        CPU("xpcall handler catching", "while true do xpcall(function() while true do end end, "
                                       "function() while true do end end) end"),
        CPU("xpcall handler with pcall", "xpcall(error, function() while true do pcall(error) end "
                                         "end)"),
        CPU("coroutine-wrapped loop", "coroutine.wrap(function() while true do end end)()"),
        CPU("coroutine catching", "while true do pcall(coroutine.wrap(function() while true do end "
                                  "end)) end"),
        CPU("coroutine.resume catching",
            "while true do coroutine.resume(coroutine.create(function() while true do end end)) "
            "end"),
        CPU("yield loop", "local co = coroutine.wrap(function() while true do coroutine.yield() "
                          "end end) while true do co() end"),
        CPU("pairs loop", "local t = {1, 2, 3, x = 4} while true do for k, v in pairs(t) do end "
                          "end"),
        CPU("ipairs loop", "local t = {1, 2, 3} while true do for i, v in ipairs(t) do end end"),
        CPU("next loop", "local t = {a = 1} while true do local k = next(t) end"),
        CPU("catch errors and retry", "while true do local ok = pcall(error, 'x') end"),
        CPU("retry on runtime errors",
            "while true do pcall(function() local x = nil return x.y end) end"),
        CPU("loop in __index", "local t = setmetatable({}, {__index = function() while true do end "
                               "end}) return t.x"),
        CPU("loop in gsub callback", "string.gsub('abc', '.', function() while true do end end)"),
        CPU("loop in a sort comparator", "table.sort({3, 2, 1}, function() while true do end end)"),
        CPU("loop in __tostring", "return tostring(setmetatable({}, {__tostring = function() "
                                  "while true do end end}))"),
        CPU("load in a loop", "while true do load('return 1')() end"),
        CPU("loop in a loaded chunk", "load('while true do end')()"),
        CPU("loop after replacing pcall", "pcall = function(f) return true end "
                                          "while true do pcall(error) end"),
    };
    RUN(cases);
}

/* Table A1 items the list does not name. */
static void test_a1_extras(void **state)
{
    static const struct esc_case cases[] = {
        /* J01/T05: the script cannot turn the JIT off after compilation or on again. */
        OK("compiled loop, then jit absent",
           "local x = 0 for i = 1, 1e5 do x = x + i end return type(jit)", "nil"),
        /* T08: loaded chunks get the sandbox's globals, never the host's. */
        OK("loaded chunk globals", "return load('return type(os)')()", "nil"),
        /* S07: __index self-recursion through functions. */
        RT_SLOW("S07 __index recursion",
                "local t t = setmetatable({}, {__index = function(s, k) return s[k] end}) "
                "return t.a",
                NULL),
        /* S08: 32 744 nested pcalls. */
        OK_SLOW("S08 nested pcalls",
                "local d = 0 local function f() d = d + 1 pcall(f) end f() return d > 1000",
                "true"),
        /* S10: load(reader) recursion is refused up front. */
        RT("S10 load reader", "local function r() load(r) return nil end return load(r)",
           "string expected"),
        /* T12: a finalizer that errors cannot exist (no newproxy, table __gc ignored). */
        OK_SLOW("T12 erroring finalizer",
                "setmetatable({}, {__gc = error}) "
                "local j for i = 1, 1e5 do j = {} end return 'ok'",
                "ok"),
        /* M04/T09b: OOM in an error handler, and the error itself huge. */
        MEM("M04 OOM in a handler with a huge error",
            "xpcall(function() error(string.rep('m', 4e6)) end, "
            "function(e) return e .. e .. e .. e end)"),
        /* L15 variants: the handler tries to resurrect the call. */
        CPU("L15 handler restarts the loop",
            "local function body() while true do end end "
            "local function h() return xpcall(body, h) end xpcall(body, h)"),
        /* Error storm: many errors in one call are fine and fast. */
        OK_SLOW("error storm",
                "local n = 0 for i = 1, 1e4 do if not pcall(error, i) then n = n + 1 "
                "end end return n",
                "10000"),
        /* C01 guard keeps ordinary patterns usable on bounded subjects. */
        OK("C01 guard, anchored bounded subject",
           "return string.match(string.rep('a', 50) .. 'b', '^(a-)b$') ~= nil", "true"),
        /* Address leaks: printed addresses are only this state's heap (documented). */
        OK("address format", "return (tostring({}):match('^table: 0x%x+$') ~= nil)", "true"),
    };
    RUN(cases);
}

/* math.random: seeded by the host, so two sandboxes with the same seed agree. */
static void test_random(void **state)
{
    const char *seq = "local t = {} for i = 1, 20 do t[i] = math.random(1, 1e6) end "
                      "return table.concat(t, ',')";
    const char *reseed = "math.randomseed(42) local t = {} for i = 1, 20 do "
                         "t[i] = math.random() end return table.concat(t, ',')";
    char why[512], a[512], b[512], c[512];
    struct sbx_error se;
    struct sbx *s1 = new_sbx(wd, 7, 0, why, sizeof why), *s2 = new_sbx(wd, 7, 0, why, sizeof why),
               *s3 = new_sbx(wd, 8, 0, why, sizeof why);
    assert_non_null(s1);
    assert_non_null(s2);
    assert_non_null(s3);
    assert_int_equal(run(s1, seq, strlen(seq), &se, a, sizeof a), SBX_OK);
    assert_int_equal(run(s2, seq, strlen(seq), &se, b, sizeof b), SBX_OK);
    assert_int_equal(run(s3, seq, strlen(seq), &se, c, sizeof c), SBX_OK);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_int_equal(run(s1, reseed, strlen(reseed), &se, a, sizeof a), SBX_OK);
    assert_int_equal(run(s3, reseed, strlen(reseed), &se, c, sizeof c), SBX_OK);
    assert_string_equal(a, c);
    sbx_free(s1);
    sbx_free(s2);
    sbx_free(s3);
}

/* M06b: the script fills its heap and the host must still be able to push data. */
static int push_lots(lua_State *L, void *ud)
{
    for (int i = 0; i < 1000; i++) {
        lua_pushfstring(L, "host string %d with some padding to use memory", i);
        lua_pop(L, 1);
    }
    lua_newtable(L);
    for (int i = 1; i <= 2000; i++) {
        lua_pushinteger(L, i);
        lua_rawseti(L, -2, i);
    }
    lua_setglobal(L, "host_data");
    return 0;
}

static void test_host_slack_after_oom(void **state)
{
    char why[512], out[64];
    struct sbx_error se;
    struct err e;
    struct sbx *s = new_sbx(wd, 7, SLOW_BUDGET_US, why, sizeof why);
    assert_non_null(s);
    const char *hog = "hog = {} for i = 1, 1e9 do hog[i] = i end";
    assert_int_equal(run(s, hog, strlen(hog), &se, out, sizeof out), SBX_ERR_MEMORY);
    assert_true(sbx_memory_used(s) <= sbx_memory_limit(s));
    if (sbx_host_step(s, push_lots, NULL, 0, 0, &e) != 0) fail_msg("host step failed: %s", e.msg);
    assert_int_equal(lua_gettop(sbx_lua(s)), 1);
    sbx_free(s);
}

/* ---- stuck in C (forked) ------------------------------------------------------------ */

/* Cases whose unguarded form runs for seconds inside one C call: no hook can fire, so
 * the watchdog's hard limit would abort the host. Each must be refused at once. */
static const struct esc_case holes[] = {
    HOLE("pattern: optional items (a?^28 a^28)",
         "return string.find(string.rep('a', 28), string.rep('a?', 28) .. string.rep('a', 28))",
         "pattern too complex"),
    HOLE("pattern: %b balanced match", "return string.find(string.rep('(', 1e5), '%b()')",
         "pattern too complex"),
    HOLE("pattern: plain find is O(n*m)",
         "return string.find(string.rep('a', 4e6), string.rep('a', 4e4) .. 'b', 1, true)",
         "search too large"),
    HOLE("pattern: long pattern without repetitions",
         "return string.find(string.rep('a', 1e6), string.rep('.', 1e4) .. 'b')",
         "pattern too complex"),
    HOLE("pattern: long pattern with one repetition",
         "return string.find(string.rep('a', 1e4), '.-' .. string.rep('a', 1e4) .. 'b')",
         "pattern too complex"),
    /* tab_insert moves slots down one by one from #t+1 to the position inside one C call
     * (about 10 ns each, no allocation growth); lj_lib_checkint turns 2^40 into INT32_MIN. */
    HOLE("table.insert with a huge negative position", "table.insert({}, -1e9, 0)",
         "position out of bounds"),
    HOLE("table.insert with a position past int32", "table.insert({}, 2^40, 0)",
         "position out of bounds"),
};

/* Runs hole i in a child with its own watchdog (threads do not survive fork). Returns
 * the pid; the child's verdict comes back through *fd. */
static pid_t spawn_hole(size_t i, int *fd)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        struct err e;
        char why[1024] = "";
        struct sbx_watchdog *w = sbx_watchdog_new(&e);
        if (w) sbx_watchdog_set_fatal(w, on_stuck_child, NULL);
        int rc = w ? check_case(w, &holes[i], why, sizeof why) : -1;
        if (write(p[1], why, strlen(why)) < 0) rc = -1;
        _exit(rc == 0 ? 0 : 1);
    }
    close(p[1]);
    *fd = p[0];
    return pid;
}

/* Waits up to 5 s for a hole's child; returns 1 when the hole is still open. */
static int reap_hole(size_t i, pid_t pid, int fd)
{
    int status = 0;
    int64_t deadline = mono_ns() + 5000000000LL;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (mono_ns() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        usleep(10000);
    }
    char why[1024];
    ssize_t got = read(fd, why, sizeof why - 1);
    why[got > 0 ? got : 0] = '\0';
    close(fd);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == STUCK_EXIT)
        util_strlcpy(why, "stuck in C: the watchdog would abort the host", sizeof why);
    else if (WIFSIGNALED(status)) util_strlcpy(why, strsignal(WTERMSIG(status)), sizeof why);
    print_message("STUCK IN C: %s: %s\n", holes[i].name, why);
    return 1;
}

/* Two children at a time: more would starve each other of CPU, so the budget could
 * expire before the dangerous C call even starts and hide the hole. */
static void test_stuck_in_c(void **state)
{
    int open_holes = 0;
    for (size_t i = 0; i < ARRAY_LEN(holes); i += 2) {
        int fd[2];
        pid_t pid[2];
        size_t n = i + 1 < ARRAY_LEN(holes) ? 2 : 1;
        for (size_t j = 0; j < n; j++) pid[j] = spawn_hole(i + j, &fd[j]);
        for (size_t j = 0; j < n; j++) open_holes += reap_hole(i + j, pid[j], fd[j]);
    }
    if (open_holes) fail_msg("%d cases stuck in C or not refused", open_holes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_io_os),
        cmocka_unit_test(test_require),
        cmocka_unit_test(test_package_ffi_debug_jit),
        cmocka_unit_test(test_bytecode_load),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_string_metatable),
        cmocka_unit_test(test_finalizers),
        cmocka_unit_test(test_error_objects),
        cmocka_unit_test(test_reentrancy),
        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_memory_bombs),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_parser),
        cmocka_unit_test(test_params_proxy),
        cmocka_unit_test(test_cpu_shapes),
        cmocka_unit_test(test_a1_extras),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_host_slack_after_oom),
        cmocka_unit_test(test_stuck_in_c),
    };
    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
