/* repl_complete.c: tab completion for the console, from the live sandbox (the session's
 * admin state, or the attached strategy's).
 *
 * The text before the cursor is split at its last '.' or ':' into a path of names and
 * a prefix: "state.po" -> path {state}, prefix "po". The path is walked from the
 * globals with raw reads (read-only proxies such as `params` are seen through; a string
 * stands for the string library), and every identifier key of the table it names that
 * starts with the prefix is a candidate; so are the keys of its metatable's __index
 * table (an object's methods). After ':' only functions are offered; at the top level
 * also Lua's keywords. Nothing runs: no call, no metamethod. */
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>

#include "repl_internal.h"
#include "util.h"

#define MAX_CANDIDATES 500
#define MAX_PATH       8

struct cands {
    char *v[MAX_CANDIDATES];
    int n;
};

static int is_ident(const char *s, size_t n)
{
    if (!n || (s[0] >= '0' && s[0] <= '9')) return 0;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

static void add(struct cands *c, const char *k, size_t n)
{
    if (c->n == MAX_CANDIDATES) return;
    char *s = xmalloc(n + 1);
    memcpy(s, k, n);
    s[n] = 0;
    c->v[c->n++] = s;
}

/* Replaces the table on top by its backing table when it is a read-only proxy. */
static void see_through(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, "luatrade.readonly");
    if (!lua_istable(L, -1)) return lua_pop(L, 1);
    lua_pushvalue(L, -2);
    lua_rawget(L, -2);
    if (lua_istable(L, -1)) {
        lua_replace(L, -3);
        lua_pop(L, 1);
    } else {
        lua_pop(L, 2);
    }
}

/* The keys of the table on top starting with prefix (functions only when methods). */
static void collect(lua_State *L, const char *prefix, int methods, struct cands *c)
{
    size_t plen = strlen(prefix);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        size_t n;
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &n) : NULL;
        if (k && is_ident(k, n) && n >= plen && !memcmp(k, prefix, plen) &&
            (!methods || lua_isfunction(L, -1)))
            add(c, k, n);
        lua_pop(L, 1);
    }
}

/* Candidates from the value on top: its own keys, then its metatable's __index table. */
static void collect_value(lua_State *L, const char *prefix, int methods, struct cands *c)
{
    if (lua_istable(L, -1)) {
        see_through(L);
        collect(L, prefix, methods, c);
    }
    if (lua_getmetatable(L, -1)) {
        lua_pushliteral(L, "__index");
        lua_rawget(L, -2);
        if (lua_istable(L, -1)) collect(L, prefix, methods, c);
        lua_pop(L, 2);
    }
}

/* Pushes the value the path (names separated by '.') names, or nothing (returns 0). */
static int walk(lua_State *L, const char *path, size_t len)
{
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    for (size_t i = 0; i < len;) {
        size_t n = strcspn(path + i, ".");
        if (n > len - i) n = len - i;
        if (!is_ident(path + i, n) || !lua_istable(L, -1)) {
            lua_pop(L, 1);
            return 0;
        }
        see_through(L);
        lua_pushlstring(L, path + i, n);
        lua_rawget(L, -2);
        lua_remove(L, -2);
        i += n + 1;
    }
    return 1;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_keywords(const char *prefix, struct cands *c)
{
    static const char *const kw[] = {"and",   "break", "do",       "else",   "elseif", "end",
                                     "false", "for",   "function", "if",     "in",     "local",
                                     "nil",   "not",   "or",       "repeat", "return", "then",
                                     "true",  "until", "while"};
    size_t plen = strlen(prefix);
    for (size_t i = 0; i < ARRAY_LEN(kw); i++)
        if (!strncmp(kw[i], prefix, plen)) add(c, kw[i], strlen(kw[i]));
}

void repl_complete(lua_State *L, const char *text, struct buf *out)
{
    const char *sep = NULL;
    for (const char *p = text; *p; p++)
        if (*p == '.' || *p == ':') sep = p;
    const char *prefix = sep ? sep + 1 : text;
    size_t plen = sep ? (size_t)(sep - text) : 0;
    int methods = sep && *sep == ':';
    struct cands c = {.n = 0};
    if (!walk(L, text, plen)) return;
    if (methods && lua_type(L, -1) == LUA_TSTRING) {
        lua_pop(L, 1);
        lua_pushvalue(L, LUA_GLOBALSINDEX);
        lua_pushliteral(L, "string");
        lua_rawget(L, -2);
        lua_remove(L, -2);
    }
    collect_value(L, prefix, methods, &c);
    lua_pop(L, 1);
    if (!sep) add_keywords(prefix, &c);
    qsort(c.v, (size_t)c.n, sizeof *c.v, cmp);
    for (int i = 0; i < c.n; i++) {
        if (i > 0 && !strcmp(c.v[i], c.v[i - 1])) continue; /* a key and a method alike */
        buf_put(out, text, (size_t)(prefix - text));
        buf_puts(out, c.v[i]);
        buf_putc(out, '\n');
    }
    for (int i = 0; i < c.n; i++) free(c.v[i]);
}
