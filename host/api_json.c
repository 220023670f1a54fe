/* api_json.c: Lua values <-> cJSON for signal data and event payloads (see api.h).
 *
 * Lua -> JSON: tables with only consecutive integer keys 1..n become arrays, tables
 * with string keys become objects (integer keys are written as strings there); other
 * key types, functions, userdata, non-finite numbers, cycles and nesting deeper than
 * API_JSON_MAX_DEPTH are refused with the path of the offending value. Raw access
 * only: no metamethod runs. JSON -> Lua mirrors it. */
#include <cjson/cJSON.h>
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "json_fixed.h"
#include "util.h"

struct conv {
    lua_State *L;
    struct err *e;
    char path[256];
    int depth;
    int nodes;
    size_t bytes;
};

/* Counts one value (and its string bytes) against the limits; -1 with e filled. */
static int charge(struct conv *c, size_t bytes)
{
    c->bytes += bytes;
    if (++c->nodes > API_JSON_MAX_NODES) {
        err_set(c->e, "%s: too large (more than %d values)", c->path, API_JSON_MAX_NODES);
        return -1;
    }
    if (c->bytes > API_JSON_MAX_BYTES) {
        err_set(c->e, "%s: too large (more than %u bytes of text)", c->path, API_JSON_MAX_BYTES);
        return -1;
    }
    return 0;
}

static cJSON *to_json(struct conv *c, int idx);

static int is_array(lua_State *L, int idx, int *n)
{
    int count = 0, max = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TNUMBER) {
            lua_pop(L, 1);
            return 0;
        }
        double k = lua_tonumber(L, -1);
        if (k < 1 || k != floor(k) || k > 1e7) {
            lua_pop(L, 1);
            return 0;
        }
        count++;
        if (k > max) max = (int)k;
    }
    *n = count;
    return count == max;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

/* Orders an object's members by key: lua_next's order follows the string hashes, which
 * differ from run to run, and a backtest's output must not. */
static void sort_members(cJSON *obj)
{
    int n = cJSON_GetArraySize(obj);
    if (n < 2) return;
    cJSON **v = xcalloc((size_t)n, sizeof *v);
    int i = 0;
    for (cJSON *m = obj->child; m; m = m->next) v[i++] = m;
    qsort(v, (size_t)n, sizeof *v, key_cmp);
    for (i = 0; i < n; i++) {
        v[i]->prev = i ? v[i - 1] : v[n - 1]; /* cJSON: the head's prev is the tail */
        v[i]->next = i + 1 < n ? v[i + 1] : NULL;
    }
    obj->child = v[0];
    free(v);
}

static cJSON *table_to_json(struct conv *c, int idx)
{
    lua_State *L = c->L;
    if (++c->depth > API_JSON_MAX_DEPTH) {
        err_set(c->e, "%s: nested deeper than %d levels (or a cycle)", c->path, API_JSON_MAX_DEPTH);
        return NULL;
    }
    if (!lua_checkstack(L, 6)) {
        err_set(c->e, "%s: nested too deeply", c->path);
        return NULL;
    }
    int n;
    size_t mark = strlen(c->path);
    cJSON *out;
    if (is_array(L, idx, &n) && n > 0) {
        out = cJSON_CreateArray();
        for (int i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, i);
            snprintf(c->path + mark, sizeof c->path - mark, "[%d]", i);
            cJSON *v = to_json(c, lua_gettop(L));
            lua_pop(L, 1);
            if (!v) goto fail;
            cJSON_AddItemToArray(out, v);
        }
    } else {
        out = cJSON_CreateObject();
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            char key[64];
            if (lua_type(L, -2) == LUA_TSTRING) {
                util_strlcpy(key, lua_tostring(L, -2), sizeof key);
                c->bytes += lua_objlen(L, -2);
                if (lua_objlen(L, -2) >= sizeof key) {
                    err_set(c->e, "%s: key longer than 63 bytes", c->path);
                    lua_pop(L, 2);
                    goto fail;
                }
            } else if (lua_type(L, -2) == LUA_TNUMBER && isfinite(lua_tonumber(L, -2))) {
                snprintf(key, sizeof key, "%.14g", lua_tonumber(L, -2));
            } else {
                err_set(c->e, "%s: keys must be strings or numbers", c->path);
                lua_pop(L, 2);
                goto fail;
            }
            snprintf(c->path + mark, sizeof c->path - mark, ".%s", key);
            cJSON *v = to_json(c, lua_gettop(L));
            lua_pop(L, 1);
            if (!v) {
                lua_pop(L, 1);
                goto fail;
            }
            cJSON_AddItemToObject(out, key, v);
        }
    }
    if (cJSON_IsObject(out)) sort_members(out);
    c->path[mark] = '\0';
    c->depth--;
    return out;
fail:
    cJSON_Delete(out);
    return NULL;
}

static cJSON *to_json(struct conv *c, int idx)
{
    lua_State *L = c->L;
    size_t len = lua_type(L, idx) == LUA_TSTRING ? lua_objlen(L, idx) : 0;
    if (charge(c, len) != 0) return NULL;
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return cJSON_CreateNull();
    case LUA_TBOOLEAN:
        return cJSON_CreateBool(lua_toboolean(L, idx));
    case LUA_TNUMBER: {
        double v = lua_tonumber(L, idx);
        if (!isfinite(v)) {
            err_set(c->e, "%s: numbers must be finite (got %s)", c->path, v != v ? "nan" : "inf");
            return NULL;
        }
        return cJSON_CreateNumber(v);
    }
    case LUA_TSTRING:
        return cJSON_CreateString(lua_tostring(L, idx));
    case LUA_TTABLE:
        return table_to_json(c, idx);
    default:
        err_set(c->e, "%s: a %s cannot be sent (data only)", c->path, luaL_typename(L, idx));
        return NULL;
    }
}

cJSON *api_lua_to_json(lua_State *L, int idx, struct err *e)
{
    struct conv c = {L, e, "data", 0, 0, 0};
    if (idx < 0) idx = lua_gettop(L) + idx + 1;
    return to_json(&c, idx);
}

static void push_json(lua_State *L, const cJSON *j, int depth)
{
    luaL_checkstack(L, 4, "json"); /* host step only: a failure is caught there */
    if (depth > API_JSON_MAX_DEPTH) {
        lua_pushnil(L);
        return;
    }
    if (cJSON_IsBool(j)) lua_pushboolean(L, cJSON_IsTrue(j));
    else if (cJSON_IsNumber(j) || cJSON_IsRaw(j)) lua_pushnumber(L, json_number(j));
    else if (cJSON_IsString(j)) lua_pushstring(L, j->valuestring);
    else if (cJSON_IsArray(j)) {
        lua_createtable(L, cJSON_GetArraySize(j), 0);
        int i = 1;
        for (const cJSON *it = j->child; it; it = it->next) {
            push_json(L, it, depth + 1);
            lua_rawseti(L, -2, i++);
        }
    } else if (cJSON_IsObject(j)) {
        lua_newtable(L);
        for (const cJSON *it = j->child; it; it = it->next) {
            push_json(L, it, depth + 1);
            lua_setfield(L, -2, it->string);
        }
    } else {
        lua_pushnil(L);
    }
}

void api_push_json(lua_State *L, const cJSON *j)
{
    push_json(L, j, 0);
}
