/* repl_admin.c: a console session's admin sandbox (DESIGN.md §9). It is a sandbox like
 * a strategy's (sbx.h: the same library allow-list and memory cap), with the console's
 * budget for every chunk, and the helpers of repl_admin.lua: REST calls the host makes
 * between two resumes of the chunk (repl_eval.c), plus three host functions that only
 * touch the session:
 *
 *   emit(text)     a line of output (print)
 *   attach(id)     later chunks run inside that strategy's sandbox (repl_eval.c)
 *   tail(filter)   after this chunk, stream log lines and events (repl_tail.c)
 *
 * None of them calls back into Lua. */
#include <lauxlib.h>
#include <lua.h>
#include <string.h>

#include "event.h"
#include "event_log.h"
#include "host.h"
#include "repl_admin_lua.h"
#include "repl_internal.h"
#include "sbx.h"
#include "strategy.h"
#include "util.h"

static struct repl_session *session_of(lua_State *L)
{
    return sbx_owner(sbx_of(L));
}

static int l_emit(lua_State *L)
{
    size_t n;
    const char *p = luaL_checklstring(L, 1, &n);
    struct repl_session *s = session_of(L);
    repl_out(s, p, n);
    repl_out(s, "\n", 1);
    return 0;
}

static int l_attach(lua_State *L)
{
    const char *id = luaL_checkstring(L, 1);
    struct repl_session *s = session_of(L);
    struct strategy *st = strategies_find(s->r->h->strategies, id);
    if (!st) return luaL_error(L, "attach: no strategy '%s' (strategies() lists them)", id);
    if (!strategy_sandbox(st))
        return luaL_error(L, "attach: %s is %s and has no sandbox loaded: start('%s') first", id,
                          strategy_status_name(strategy_status(st)), id);
    util_strlcpy(s->attached, id, sizeof s->attached);
    lua_pushfstring(L,
                    "attached to %s (version %d, %s): code now runs in its sandbox under its "
                    "CPU budget; detach() returns",
                    id, (int)strategy_version(st), strategy_status_name(strategy_status(st)));
    return 1;
}

static const char *opt_string(lua_State *L, const char *key)
{
    lua_pushstring(L, key);
    lua_rawget(L, 1);
    const char *v = lua_isnil(L, -1) ? NULL : luaL_checkstring(L, -1);
    lua_pop(L, 1);
    return v;
}

/* tail(), tail("ORDER_FILLED,ALERT"), tail{types=, symbols=, logs=}. By default every
 * event but market data and bars, and the log lines. */
static int l_tail(lua_State *L)
{
    struct repl_session *s = session_of(L);
    struct repl_tail *t = &s->tail;
    memset(&t->filter, 0, sizeof t->filter);
    t->filter.syms = t->syms;
    t->logs = 1;
    const char *types = NULL, *syms = NULL;
    if (lua_type(L, 1) == LUA_TSTRING) types = lua_tostring(L, 1);
    else if (lua_istable(L, 1)) {
        types = opt_string(L, "types");
        syms = opt_string(L, "symbols");
        lua_pushliteral(L, "logs");
        lua_rawget(L, 1);
        if (!lua_isnil(L, -1)) t->logs = lua_toboolean(L, -1);
        lua_pop(L, 1);
    } else if (!lua_isnoneornil(L, 1)) {
        return luaL_error(L, "tail: expected nothing, a list of event types or a table");
    }
    struct err e;
    t->filter.types = 0; /* "all": every type */
    if (!types) t->filter.types = ~(EV_BIT(EV_MARKET_DATA) | EV_BIT(EV_BAR));
    else if (strcmp(types, "all") && event_types_parse(types, &t->filter.types, &e) != 0)
        return luaL_error(L, "tail: %s", e.msg);
    if (types && strcmp(types, "all") && !t->filter.types)
        return luaL_error(L, "tail: no event type named (\"all\" for every type)");
    if (syms && event_symbols_parse(syms, &s->r->h->instruments, t->syms, &t->filter.nsyms, &e))
        return luaL_error(L, "tail: %s", e.msg);
    t->requested = 1; /* repl.c starts the stream when the chunk is done */
    return 0;
}

struct sbx *repl_admin_new(struct repl_session *s, struct err *e)
{
    struct host *h = s->r->h;
    struct sbx_config c = {
        .name = "console",
        .call_budget_us = s->r->cfg.budget_us,
        .load_budget_us = s->r->cfg.budget_us,
        .script_limit = REPL_LINE_MAX,
        .seed = (uint64_t)mono_ns(),
        .jit = h->sbx_jit,
        .module_dirs = {h->scripts_dir},
        .wd = h->wd,
    };
    struct sbx *x = sbx_new(&c, e);
    if (!x) return NULL;
    sbx_set_owner(x, s);
    lua_State *L = sbx_lua(x);
    lua_pushcfunction(L, l_emit);
    lua_pushcfunction(L, l_attach);
    lua_pushcfunction(L, l_tail);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "luatrade.console"); /* the driver: repl_eval.c */
    if (sbx_run_host_chunk(x, "repl_admin", repl_admin_lua, 4, e) != 0) {
        sbx_free(x);
        return NULL;
    }
    return x;
}
