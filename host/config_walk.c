/* config_walk.c: typed, bounded, raw reads of the config's Lua table with the key path
 * kept for messages (config_walk.h). */
#include "config_walk.h"

#include <lauxlib.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

int walk_fail(struct walk *w, const char *fmt, ...)
{
    if (w->failed) return -1;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    err_set(w->e, "%s: %s%s%s", w->file, w->path, w->path[0] ? ": " : "", msg);
    w->failed = 1;
    return -1;
}

size_t walk_enter(struct walk *w, const char *key)
{
    size_t mark = strlen(w->path);
    snprintf(w->path + mark, sizeof w->path - mark, "%s%s", mark ? "." : "", key);
    return mark;
}

size_t walk_enter_index(struct walk *w, int i)
{
    size_t mark = strlen(w->path);
    snprintf(w->path + mark, sizeof w->path - mark, "[%d]", i);
    return mark;
}

void walk_leave(struct walk *w, size_t mark)
{
    w->path[mark] = '\0';
}

/* Every key of the table at idx must be one of names. */
int walk_check_keys(struct walk *w, int idx, const char *const *names)
{
    lua_State *L = w->L;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        int ok = 0;
        if (lua_type(L, -1) == LUA_TSTRING)
            for (const char *const *n = names; *n && !ok; n++)
                ok = !strcmp(*n, lua_tostring(L, -1));
        if (!ok) {
            struct buf list = BUF_INIT;
            for (const char *const *n = names; *n; n++)
                buf_printf(&list, "%s%s", n == names ? "" : ", ", *n);
            char key[80];
            if (lua_type(L, -1) == LUA_TSTRING)
                snprintf(key, sizeof key, "'%.60s'", lua_tostring(L, -1));
            else snprintf(key, sizeof key, "a %s key", lua_typename(L, lua_type(L, -1)));
            walk_fail(w, "unknown key %s (expected one of: %s)", key, list.p);
            buf_free(&list);
            lua_pop(L, 1);
            return -1;
        }
    }
    return 0;
}

/* 1 when the table at idx is a non-empty sequence: keys exactly 1..n. */
int walk_is_list(lua_State *L, int idx)
{
    int n = (int)lua_objlen(L, idx), count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        count++;
    }
    return n > 0 && count == n;
}

/* Pushes t[key] (raw). */
int walk_get(struct walk *w, int t, const char *key)
{
    lua_pushstring(w->L, key);
    lua_rawget(w->L, t);
    return lua_type(w->L, -1);
}

int walk_num(struct walk *w, int t, const char *key, double *out, double min, double max)
{
    int type = walk_get(w, t, key);
    int rc = 0;
    if (type != LUA_TNIL) {
        size_t m = walk_enter(w, key);
        double v = lua_tonumber(w->L, -1);
        if (type != LUA_TNUMBER || !isfinite(v) || v < min || v > max)
            rc = walk_fail(w, "expected a number from %g to %g, got %s", min, max,
                           type == LUA_TNUMBER ? "out of range" : lua_typename(w->L, type));
        else *out = v;
        walk_leave(w, m);
    }
    lua_pop(w->L, 1);
    return rc;
}

int walk_integer(struct walk *w, int t, const char *key, int64_t *out, double min, double max)
{
    double v = (double)*out;
    if (walk_num(w, t, key, &v, min, max) != 0) return -1;
    if (v != floor(v)) {
        size_t m = walk_enter(w, key);
        walk_fail(w, "expected an integer");
        walk_leave(w, m);
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

int walk_str(struct walk *w, int t, const char *key, char **out)
{
    int type = walk_get(w, t, key);
    int rc = 0;
    if (type != LUA_TNIL) {
        size_t m = walk_enter(w, key);
        if (type != LUA_TSTRING)
            rc = walk_fail(w, "expected a string, got %s", lua_typename(w->L, type));
        else {
            free(*out);
            *out = xstrdup(lua_tostring(w->L, -1));
        }
        walk_leave(w, m);
    }
    lua_pop(w->L, 1);
    return rc;
}

int walk_boolean(struct walk *w, int t, const char *key, int *out)
{
    int type = walk_get(w, t, key);
    int rc = 0;
    if (type != LUA_TNIL) {
        size_t m = walk_enter(w, key);
        if (type != LUA_TBOOLEAN)
            rc = walk_fail(w, "expected true or false, got %s", lua_typename(w->L, type));
        else *out = lua_toboolean(w->L, -1);
        walk_leave(w, m);
    }
    lua_pop(w->L, 1);
    return rc;
}

/* A duration: a string such as "10ms"/"60s" or a number of seconds. */
int walk_duration(struct walk *w, int t, const char *key, int64_t *out_us)
{
    int type = walk_get(w, t, key);
    int rc = 0;
    if (type != LUA_TNIL) {
        size_t m = walk_enter(w, key);
        int64_t us = -1;
        if (type == LUA_TSTRING) {
            if (util_parse_duration(lua_tostring(w->L, -1), &us) != 0) us = -1;
        } else if (type == LUA_TNUMBER) {
            double s = lua_tonumber(w->L, -1);
            if (isfinite(s) && s > 0 && s < 1e9) us = (int64_t)llround(s * 1e6);
        }
        if (us <= 0)
            rc = walk_fail(
                w, "expected a positive duration like \"10ms\", \"60s\" or a number of seconds");
        else *out_us = us;
        walk_leave(w, m);
    }
    lua_pop(w->L, 1);
    return rc;
}

/* Pushes t[key] if it is a table (returns its index), or 0 when absent; error otherwise. */
int walk_subtable(struct walk *w, int t, const char *key)
{
    int type = walk_get(w, t, key);
    if (type == LUA_TTABLE) return lua_gettop(w->L);
    lua_pop(w->L, 1);
    if (type == LUA_TNIL) return 0;
    size_t m = walk_enter(w, key);
    walk_fail(w, "expected a table, got %s", lua_typename(w->L, type));
    walk_leave(w, m);
    return -1;
}
