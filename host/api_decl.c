/* api_decl.c: strategy{...}, the declaration a script makes when it loads
 * (DESIGN.md §6). It is checked field by field; any problem raises an error at the
 * script's line that names the field and what was expected, and the load fails.
 * Symbols are checked for shape here and against the feed by strategy.c. */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "instrument.h"
#include "sbx.h"
#include "tz.h"
#include "util.h"

/* t[key] without metamethods: the host never runs a script's __index. */
static void raw_field(lua_State *L, int t, const char *key)
{
    if (t < 0 && t > LUA_REGISTRYINDEX) t = lua_gettop(L) + t + 1;
    lua_pushstring(L, key);
    lua_rawget(L, t);
}

static const char *fields[] = {"name", "symbols", "bars", "params", "every", "window", "capital"};

static void check_fields(lua_State *L)
{
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pop(L, 1);
        int known = 0;
        if (lua_type(L, -1) == LUA_TSTRING)
            for (size_t i = 0; i < ARRAY_LEN(fields); i++)
                known |= !strcmp(lua_tostring(L, -1), fields[i]);
        if (!known) {
            const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                           : lua_typename(L, lua_type(L, -1));
            luaL_error(L,
                       "strategy{}: unknown field '%s' (expected name, symbols, bars, params, "
                       "every, window, capital)",
                       k);
        }
    }
}

static void read_name(lua_State *L, struct strategy_decl *d)
{
    raw_field(L, 1, "name");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    size_t n;
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
    int ok = s && n > 0 && n < DECL_NAME_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
             (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' || s[i] == '.';
    if (!ok) luaL_error(L, "strategy{}: name must be 1-63 characters of letters, digits, _ - .");
    util_strlcpy(d->name, s, sizeof d->name);
    lua_pop(L, 1);
}

/* The array at the top: every element a string; returns its length. */
static int string_list(lua_State *L, const char *field, int max)
{
    if (!lua_istable(L, -1)) luaL_error(L, "strategy{}: %s must be a list of strings", field);
    int n = (int)lua_objlen(L, -1);
    if (n > max) luaL_error(L, "strategy{}: %s has %d entries (at most %d)", field, n, max);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "strategy{}: %s[%d] must be a string (got %s)", field, i,
                       luaL_typename(L, -1));
        lua_pop(L, 1);
    }
    return n;
}

static void read_symbols(lua_State *L, struct strategy_decl *d)
{
    raw_field(L, 1, "symbols");
    if (!lua_isnil(L, -1)) {
        int n = string_list(L, "symbols", DECL_SYMBOLS_MAX);
        for (int i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, i);
            const char *sym = lua_tostring(L, -1);
            if (!instrument_symbol_valid(sym))
                luaL_error(L, "strategy{}: symbols[%d] '%s' is not a valid symbol", i, sym);
            for (int k = 1; k < i; k++) {
                lua_rawgeti(L, -2, k);
                if (!strcmp(lua_tostring(L, -1), sym))
                    luaL_error(L, "strategy{}: symbol '%s' is listed twice", sym);
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        }
        d->symbols = xcalloc((size_t)n + 1, sizeof *d->symbols);
        for (int i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, i);
            d->symbols[d->nsymbols++] = xstrdup(lua_tostring(L, -1));
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
}

static void read_bars(lua_State *L, struct strategy_decl *d)
{
    raw_field(L, 1, "bars");
    if (!lua_isnil(L, -1)) {
        int n = string_list(L, "bars", 16);
        for (int i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, i);
            int tf = tf_parse(lua_tostring(L, -1));
            if (tf < 0)
                luaL_error(L,
                           "strategy{}: bars[%d] '%s' is not a timeframe (1s, 1m, 5m, 15m, 1h, 1d)",
                           i, lua_tostring(L, -1));
            d->bars |= 1u << tf;
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
}

static void read_params(lua_State *L, struct strategy_decl *d)
{
    raw_field(L, 1, "params");
    if (!lua_isnil(L, -1)) {
        if (!lua_istable(L, -1))
            luaL_error(L, "strategy{}: params must be a table of name = default");
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            if (lua_type(L, -2) != LUA_TSTRING || lua_objlen(L, -2) >= PARAM_NAME_MAX)
                luaL_error(L, "strategy{}: params keys must be names (strings under %d bytes)",
                           PARAM_NAME_MAX);
            struct param p = {0};
            util_strlcpy(p.name, lua_tostring(L, -2), sizeof p.name);
            int t = lua_type(L, -1);
            if (t == LUA_TNUMBER) {
                p.type = PARAM_NUMBER;
                p.num = lua_tonumber(L, -1);
                if (!isfinite(p.num))
                    luaL_error(L, "strategy{}: params.%s must be a finite number", p.name);
            } else if (t == LUA_TBOOLEAN) {
                p.type = PARAM_BOOL;
                p.b = lua_toboolean(L, -1);
            } else if (t == LUA_TSTRING) {
                p.type = PARAM_STRING;
                p.str = (char *)lua_tostring(L, -1);
            } else {
                luaL_error(L, "strategy{}: params.%s must be a number, string or boolean (got %s)",
                           p.name, luaL_typename(L, -1));
            }
            params_set(&d->params, &p); /* copies the string */
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
}

int64_t api_duration_arg(lua_State *L, int idx, const char *what)
{
    int64_t us = -1;
    if (lua_type(L, idx) == LUA_TSTRING) {
        if (util_parse_duration(lua_tostring(L, idx), &us) != 0) us = -1;
    } else if (lua_type(L, idx) == LUA_TNUMBER) {
        double s = lua_tonumber(L, idx);
        if (isfinite(s) && s > 0 && s < 1e9) us = (int64_t)llround(s * 1e6);
    }
    if (us < 1000)
        luaL_error(L, "%s must be a duration of at least 1ms, like \"5s\", \"250ms\" or seconds",
                   what);
    return us;
}

int api_parse_hhmm(const char *s, int *hh, int *mm)
{
    if (strlen(s) != 5 || s[2] != ':') return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9')) return -1;
    *hh = (s[0] - '0') * 10 + (s[1] - '0');
    *mm = (s[3] - '0') * 10 + (s[4] - '0');
    return *hh < 24 && *mm < 60 ? 0 : -1;
}

static void read_window(lua_State *L, struct strategy_decl *d)
{
    raw_field(L, 1, "window");
    if (!lua_isnil(L, -1)) {
        if (!lua_istable(L, -1))
            luaL_error(L,
                       "strategy{}: window must be { \"HH:MM\", \"HH:MM\", tz = \"Zone/Name\" }");
        int hh = 0, mm = 0;
        for (int i = 1; i <= 2; i++) {
            lua_rawgeti(L, -1, i);
            if (lua_type(L, -1) != LUA_TSTRING ||
                api_parse_hhmm(lua_tostring(L, -1), &hh, &mm) != 0)
                luaL_error(L, "strategy{}: window[%d] must be a time \"HH:MM\"", i);
            *(i == 1 ? &d->window_open_min : &d->window_close_min) = hh * 60 + mm;
            lua_pop(L, 1);
        }
        raw_field(L, -1, "tz");
        const char *zone = lua_isnil(L, -1) ? "UTC" : lua_tostring(L, -1);
        if (!zone || lua_type(L, -1) == LUA_TNUMBER)
            luaL_error(L, "strategy{}: window.tz must be a zone name");
        struct err e;
        struct tz *z = tz_load(zone, NULL, &e);
        if (!z) luaL_error(L, "strategy{}: window.tz: %s", e.msg);
        tz_free(z);
        util_strlcpy(d->window_tz, zone, sizeof d->window_tz);
        lua_pop(L, 1);
        d->has_window = 1;
    }
    lua_pop(L, 1);
}

static int l_strategy(lua_State *L)
{
    struct api_ctx *c = api_ctx_of(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    if (c->decl.declared) return luaL_error(L, "strategy{} may be called only once per script");
    lua_settop(L, 1);
    strategy_decl_free(&c->decl);
    struct strategy_decl *d = &c->decl;
    check_fields(L);
    util_strlcpy(d->name, c->strategy_id, sizeof d->name);
    read_name(L, d);
    read_symbols(L, d);
    read_bars(L, d);
    read_params(L, d);
    raw_field(L, 1, "every");
    if (!lua_isnil(L, -1)) d->every_us = api_duration_arg(L, -1, "strategy{}: every");
    lua_pop(L, 1);
    read_window(L, d);
    raw_field(L, 1, "capital");
    if (!lua_isnil(L, -1)) {
        d->capital = lua_tonumber(L, -1);
        if (lua_type(L, -1) != LUA_TNUMBER || !isfinite(d->capital) || d->capital <= 0)
            luaL_error(L, "strategy{}: capital must be a positive number");
    }
    lua_pop(L, 1);
    d->declared = 1;
    return 0;
}

int api_decl_register(struct sbx *s, struct err *e)
{
    sbx_register(s, NULL, "strategy", l_strategy);
    return 0;
}
