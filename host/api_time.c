/* api_time.c: time for scripts: now(), timer.every/after/at/cancel and the safe part
 * of os (time, date, clock) on the host clock, so a backtest is deterministic and a
 * script never reads the machine's clock or environment directly. */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "host.h"
#include "sbx.h"
#include "util.h"

#define TIMER_NAME_MAX 63

static int64_t host_now(lua_State *L)
{
    struct api_ctx *c = api_ctx_of(L);
    return c->host ? clock_now_us(&c->host->clock) : wall_us();
}

static int l_now(lua_State *L)
{
    lua_pushnumber(L, (double)host_now(L) / 1e6);
    return 1;
}

static const char *timer_name(lua_State *L, int idx)
{
    size_t n;
    const char *name = luaL_checklstring(L, idx, &n);
    if (n == 0 || n > TIMER_NAME_MAX) luaL_argerror(L, idx, "timer name must be 1-63 bytes");
    return name;
}

static int set_timer(lua_State *L, int64_t due, int64_t period, int hh, int mm, const char *tz)
{
    struct api_ctx *c = api_ctx_of(L);
    struct err e;
    if (!c->st) return luaL_error(L, "timers are only available to running strategies");
    if (strategy_timer_set(c, lua_tostring(L, 2), due, period, hh, mm, tz, &e) != 0)
        return luaL_error(L, "%s", e.msg);
    return 0;
}

static int l_timer_every(lua_State *L)
{
    int64_t period = api_duration_arg(L, 1, "timer.every: period");
    timer_name(L, 2);
    return set_timer(L, host_now(L) + period, period, -1, -1, NULL);
}

static int l_timer_after(lua_State *L)
{
    int64_t delay = api_duration_arg(L, 1, "timer.after: delay");
    timer_name(L, 2);
    return set_timer(L, host_now(L) + delay, 0, -1, -1, NULL);
}

static int l_timer_at(lua_State *L)
{
    const char *hhmm = luaL_checkstring(L, 1);
    int hh, mm;
    if (api_parse_hhmm(hhmm, &hh, &mm) != 0) return luaL_argerror(L, 1, "time \"HH:MM\" expected");
    timer_name(L, 2);
    const char *tz = luaL_optstring(L, 3, "UTC");
    return set_timer(L, 0, 0, hh, mm, tz);
}

static int l_timer_cancel(lua_State *L)
{
    const char *name = timer_name(L, 1);
    lua_pushboolean(L, strategy_timer_cancel(api_ctx_of(L), name) == 0);
    return 1;
}

/* os.time([t]): now in whole seconds, or the UTC instant of a date table. */
static int l_os_time(lua_State *L)
{
    if (lua_isnoneornil(L, 1)) {
        lua_pushnumber(L, floor((double)host_now(L) / 1e6));
        return 1;
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    struct tm tm = {0};
    const char *keys[] = {"year", "month", "day", "hour", "min", "sec"};
    int defaults[] = {-1, -1, -1, 12, 0, 0};
    int vals[6];
    for (int i = 0; i < 6; i++) {
        lua_pushstring(L, keys[i]);
        lua_rawget(L, 1); /* no metamethods of the script's table */
        if (lua_isnil(L, -1) && defaults[i] < 0)
            return luaL_error(L, "os.time: field '%s' missing", keys[i]);
        double v = lua_isnil(L, -1) ? defaults[i] : lua_tonumber(L, -1);
        if ((!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TNUMBER) || !isfinite(v) || fabs(v) > 1e7)
            return luaL_error(L, "os.time: field '%s' must be a number", keys[i]);
        vals[i] = (int)v;
        lua_pop(L, 1);
    }
    tm.tm_year = vals[0] - 1900;
    tm.tm_mon = vals[1] - 1;
    tm.tm_mday = vals[2];
    tm.tm_hour = vals[3];
    tm.tm_min = vals[4];
    tm.tm_sec = vals[5];
    lua_pushnumber(L, (double)timegm(&tm));
    return 1;
}

/* os.date([fmt [, t]]): always UTC; "*t" gives a table; strftime conversions limited to
 * a safe set. */
static int l_os_date(lua_State *L)
{
    const char *fmt = luaL_optstring(L, 1, "%Y-%m-%d %H:%M:%S");
    double t = luaL_optnumber(L, 2, floor((double)host_now(L) / 1e6));
    if (!isfinite(t) || fabs(t) > 1e11) return luaL_argerror(L, 2, "time out of range");
    if (*fmt == '!') fmt++;
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    if (!strcmp(fmt, "*t")) {
        lua_createtable(L, 0, 8);
        int v[] = {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,     tm.tm_hour,
                   tm.tm_min,         tm.tm_sec,     tm.tm_wday + 1, tm.tm_yday + 1};
        const char *k[] = {"year", "month", "day", "hour", "min", "sec", "wday", "yday"};
        for (int i = 0; i < 8; i++) {
            lua_pushinteger(L, v[i]);
            lua_setfield(L, -2, k[i]);
        }
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "isdst");
        return 1;
    }
    for (const char *p = fmt; *p; p++)
        if (*p == '%' && (!p[1] || !strchr("aAbBdHjmMpSyYZ%", *++p)))
            return luaL_argerror(
                L, 1, "supported conversions: %a %A %b %B %d %H %j %m %M %p %S %y %Y %Z %%");
    char out[256];
    size_t n = strlen(fmt) > 100 ? 0 : strftime(out, sizeof out, fmt, &tm);
    if (n == 0 && *fmt) return luaL_argerror(L, 1, "format too long");
    lua_pushlstring(L, out, n);
    return 1;
}

static int l_os_clock(lua_State *L)
{
    lua_pushnumber(L, (double)mono_ns() / 1e9);
    return 1;
}

int api_time_register(struct sbx *s, struct err *e)
{
    sbx_register(s, NULL, "now", l_now);
    sbx_register(s, "timer", "every", l_timer_every);
    sbx_register(s, "timer", "after", l_timer_after);
    sbx_register(s, "timer", "at", l_timer_at);
    sbx_register(s, "timer", "cancel", l_timer_cancel);
    sbx_register(s, "os", "time", l_os_time);
    sbx_register(s, "os", "date", l_os_date);
    sbx_register(s, "os", "clock", l_os_clock);
    return 0;
}
