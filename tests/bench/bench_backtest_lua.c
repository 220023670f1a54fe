/* bench_backtest_lua.c: the bare LuaJIT baseline of bench_backtest.py: sma_cross's logic
 * over a tick CSV file in plain Lua (tests/bench/sma_cross_bare.lua), no host.
 *
 *   bench_backtest_lua FILE     prints one JSON line: rows, bars, crossings, seconds, ...
 *
 * The state is what a bare embedding gives: luaL_newstate + luaL_openlibs with the JIT
 * on (the LuaJIT luatrade links, built with LUAJIT_ENABLE_CHECKHOOK), package.path at
 * scripts/ so the script requires the real indicators, and `class` stubbed in Lua as
 * bench_dispatch does (the one host global sma.lua uses). Nothing is sandboxed,
 * capped or hooked.
 *
 * The script returns run(file); the timed part is the call: Lua opens and reads the
 * file with io.lines, parses every row, builds 1-second bars and runs the crossover
 * (see the script's header). Wall time is CLOCK_MONOTONIC, CPU time the process's.
 * The totals come back as a Lua table and are printed with the figures. */
#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_common.h"

static const char *stubs = "local classes = {}\n"
                           "function class(name)\n"
                           "  local mt = classes[name]\n"
                           "  if not mt then\n"
                           "    mt = { __class = name }; mt.__index = mt; classes[name] = mt\n"
                           "  end\n"
                           "  return mt\n"
                           "end\n";

static void lcheck(lua_State *L, int rc, const char *what)
{
    if (rc != 0) bench_fail(what, lua_tostring(L, -1));
}

static double now_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A bare state with the JIT on, package.path at src/scripts/, the stubs loaded, and the
 * script's run function pushed. */
static lua_State *state_new(const char *src)
{
    lua_State *L = luaL_newstate();
    if (!L) bench_fail("baseline", "cannot create a state");
    luaL_openlibs(L);
    luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_ON);
    char path[3 * PATH_MAX];
    snprintf(path, sizeof path, "%s/scripts/?.lua;%s/scripts/?/init.lua", src, src);
    lua_getglobal(L, "package");
    lua_pushstring(L, path);
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
    lcheck(L, luaL_loadstring(L, stubs) || lua_pcall(L, 0, 0, 0), "stubs");
    char file[PATH_MAX + 64];
    snprintf(file, sizeof file, "%s/tests/bench/sma_cross_bare.lua", src);
    lcheck(L, luaL_loadfile(L, file) || lua_pcall(L, 0, 1, 0), file);
    if (!lua_isfunction(L, -1)) bench_fail(file, "does not return a function");
    return L;
}

static double field(lua_State *L, const char *name)
{
    lua_getfield(L, -1, name);
    double v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_backtest_lua FILE\n");
        return 1;
    }
    char src[PATH_MAX];
    if (!realpath(bench_src_dir(), src)) bench_fail("LUATRADE_SRC", bench_src_dir());
    lua_State *L = state_new(src);
    lua_pushstring(L, argv[1]);
    double t0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    if (lua_pcall(L, 1, 1, 0) != 0) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        return 1;
    }
    double t1 = now_s(CLOCK_MONOTONIC), c1 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    double rows = field(L, "rows"), secs = t1 - t0;
    printf("{\"side\":\"lua\",\"rows\":%.0f,\"bars\":%.0f,\"crossings\":%.0f,\"buys\":%.0f,"
           "\"sells\":%.0f,\"fills\":%.0f,\"realized\":%.2f,\"seconds\":%.6f,"
           "\"cpu_seconds\":%.6f,\"rows_per_s\":%.0f}\n",
           rows, field(L, "bars"), field(L, "crossings"), field(L, "buys"), field(L, "sells"),
           field(L, "fills"), field(L, "realized"), secs, c1 - c0, secs > 0 ? rows / secs : 0.0);
    lua_close(L);
    return 0;
}
