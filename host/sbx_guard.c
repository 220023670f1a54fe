/* sbx_guard.c: guarded versions of the standard functions that are dangerous in a
 * sandbox (DESIGN.md §5; notes/sandbox-risk-recovery.md table A1).
 *
 *  - C functions that call back into Lua (string.gsub with a function or table,
 *    tostring and string.format through __tostring, coroutine.resume) nest C frames;
 *    deep nesting overflows the C stack and crashes LuaJIT (S02, S04). Each guarded
 *    call checks how far the C stack has grown below the sandbox entry point, which
 *    is exact and needs no counter to unwind when an error longjmps past it.
 *  - Lua patterns backtrack: ".-.-.-.-b" on 200 bytes runs 20 s inside one C call
 *    where no hook can fire (C01). A pattern of length m with k backtracking points
 *    (*, +, -, ?, %b) costs at most about m * n^(k+1) steps on an n-byte subject
 *    (m * n^k when anchored), and a plain search m * n; calls whose bound exceeds
 *    SBX_PATTERN_COST_LIMIT are refused with an error that says why.
 *  - table.insert(t, pos, v) shifts every slot between #t+1 and pos, one by one in C:
 *    a far-away pos (or one that wraps to INT32_MIN) runs for seconds. Positions
 *    outside 1..#t+1 are refused, as Lua 5.2 does.
 *  - load accepts text only (bytecode is unverified in LuaJIT, T01/T02), strings only
 *    (a reader function would be another C->Lua nesting), within the script cap.
 *  - collectgarbage answers "count" only (GC control is a DoS lever).
 * Each wrapper checks, then calls the original function kept as its upvalue. */
#include "sbx_guard.h"

#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

enum guard_kind {
    G_PLAIN,  /* stack check only */
    G_FIND,   /* string.find: pattern check unless plain */
    G_MATCH,  /* string.match, string.gmatch, string.gsub: pattern check */
    G_INSERT, /* table.insert: position bounds */
};

void sbx_guard_cstack(lua_State *L, const char *base)
{
    char here;
    if (base && (uintptr_t)base - (uintptr_t)&here > SBX_CSTACK_LIMIT &&
        (uintptr_t)base > (uintptr_t)&here)
        luaL_error(L, "C stack overflow: callbacks nested too deeply "
                      "(gsub, tostring, string.format or coroutines calling each other)");
}

int sbx_pattern_repetitions(const char *p, size_t len, int *anchored)
{
    size_t i = 0;
    int reps = 0;
    *anchored = len > 0 && p[0] == '^';
    if (*anchored) i = 1;
    while (i < len) {
        char c = p[i];
        if (c == '(' || c == ')') {
            i++;
            continue;
        }
        /* one single-character class: %x, [set], or a plain character */
        if (c == '%') {
            if (i + 1 < len && p[i + 1] == 'b') { /* %bxy: a balanced match scans ahead */
                reps++;
                i += 4;
                continue;
            }
            if (i + 1 < len && p[i + 1] == 'f') { /* %f[set]: frontier, zero width */
                i += 2;
                if (i < len && p[i] == '[') {
                    i++;
                    if (i < len && p[i] == '^') i++;
                    if (i < len) i++; /* a leading ']' is literal */
                    while (i < len && p[i] != ']') i += (p[i] == '%') ? 2 : 1;
                    i++;
                }
                continue;
            }
            i += 2;
        } else if (c == '[') {
            i++;
            if (i < len && p[i] == '^') i++;
            if (i < len) i++; /* a leading ']' is literal */
            while (i < len && p[i] != ']') i += (p[i] == '%') ? 2 : 1;
            i++;
        } else {
            i++;
        }
        if (i < len && (p[i] == '*' || p[i] == '+' || p[i] == '-' || p[i] == '?')) {
            reps++;
            i++;
        }
    }
    return reps;
}

static void pattern_check(lua_State *L, enum guard_kind kind)
{
    if (!lua_isstring(L, 1) || !lua_isstring(L, 2)) return; /* the original reports it */
    size_t n, plen;
    lua_tolstring(L, 1, &n);
    const char *pat = lua_tolstring(L, 2, &plen);
    double m = plen ? (double)plen : 1;
    if (kind == G_FIND && lua_toboolean(L, 4)) { /* plain find: a naive substring search */
        if ((double)n * m > SBX_PATTERN_COST_LIMIT)
            luaL_error(L, "search too large: a %d-byte needle in a %d-byte subject", (int)plen,
                       (int)n);
        return;
    }
    int anchored;
    int reps = sbx_pattern_repetitions(pat, plen, &anchored);
    double cost = m * pow((double)(n ? n : 1), reps + (anchored ? 0 : 1));
    if (cost > SBX_PATTERN_COST_LIMIT)
        luaL_error(L,
                   "pattern too complex for a %d-byte subject (%d-byte pattern, %d backtracking "
                   "points); use a shorter subject, fewer of * + - ? %%b, or plain find",
                   (int)n, (int)plen, reps);
}

static void insert_check(lua_State *L)
{
    if (lua_gettop(L) != 3 || !lua_istable(L, 1) || !lua_isnumber(L, 2)) return;
    double pos = lua_tonumber(L, 2);
    double n = (double)lua_objlen(L, 1);
    if (!(pos >= 1 && pos <= n + 1) || pos != floor(pos))
        luaL_error(L, "bad argument #2 to 'insert' (position out of bounds)");
}

static int l_guarded(lua_State *L)
{
    enum guard_kind kind = (enum guard_kind)lua_tointeger(L, lua_upvalueindex(2));
    const char *const *base = lua_touserdata(L, lua_upvalueindex(3));
    sbx_guard_cstack(L, *base);
    if (kind == G_INSERT) insert_check(L);
    else if (kind != G_PLAIN) pattern_check(L, kind);
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L);
}

static int l_load(lua_State *L)
{
    if (lua_type(L, 1) != LUA_TSTRING)
        return luaL_argerror(L, 1, "string expected (the sandbox loads text chunks only)");
    size_t len;
    const char *s = lua_tolstring(L, 1, &len);
    const char *chunkname = luaL_optstring(L, 2, "=(load)");
    size_t limit = (size_t)lua_tointeger(L, lua_upvalueindex(1));
    if (len > limit) {
        lua_pushnil(L);
        lua_pushfstring(L, "chunk of %d bytes exceeds the %d-byte script limit", (int)len,
                        (int)limit);
        return 2;
    }
    int env = !lua_isnoneornil(L, 4);
    if (env) luaL_checktype(L, 4, LUA_TTABLE);
    if (luaL_loadbufferx(L, s, len, chunkname, "t") != 0) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    if (env) {
        lua_pushvalue(L, 4);
        lua_setfenv(L, -2);
    }
    return 1;
}

static int l_collectgarbage(lua_State *L)
{
    const char *opt = luaL_optstring(L, 1, "count");
    if (strcmp(opt, "count") != 0)
        return luaL_error(L, "collectgarbage: only \"count\" is available in the sandbox");
    lua_pushnumber(L, (lua_Number)lua_gc(L, LUA_GCCOUNT, 0) +
                          (lua_Number)lua_gc(L, LUA_GCCOUNTB, 0) / 1024.0);
    return 1;
}

/* Replaces table[name] (table NULL: a global) with a guarded wrapper. base_slot is a
 * light userdata pointing at the sandbox's C-stack base pointer, on top of the stack. */
static void wrap(lua_State *L, const char *table, const char *name, enum guard_kind kind)
{
    int slot = lua_gettop(L);
    if (table) lua_getglobal(L, table);
    else lua_pushvalue(L, LUA_GLOBALSINDEX);
    lua_getfield(L, -1, name);
    lua_pushinteger(L, kind);
    lua_pushvalue(L, slot);
    lua_pushcclosure(L, l_guarded, 3);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

void sbx_guard_install(lua_State *L, size_t script_limit)
{
    /* On top of the stack: a light userdata pointing at the sandbox's C-stack base
     * pointer, which sbx_call sets on every entry. */
    wrap(L, "string", "find", G_FIND);
    wrap(L, "string", "match", G_MATCH);
    wrap(L, "string", "gmatch", G_MATCH);
    wrap(L, "string", "gsub", G_MATCH);
    wrap(L, "string", "format", G_PLAIN);
    wrap(L, NULL, "tostring", G_PLAIN);
    wrap(L, "table", "insert", G_INSERT);
    wrap(L, "coroutine", "resume", G_PLAIN);
    lua_getglobal(L, "coroutine");
    lua_getfield(L, -1, "resume");
    lua_remove(L, -2);
    lua_remove(L, -2); /* the base pointer; the guarded resume stays on top */

    lua_pushinteger(L, (lua_Integer)script_limit);
    lua_pushcclosure(L, l_load, 1);
    lua_setglobal(L, "load");
    lua_pushcfunction(L, l_collectgarbage);
    lua_setglobal(L, "collectgarbage");
}
