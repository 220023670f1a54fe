/* sbx_serial.c: data-only serialization of sandbox values (see sbx_serial.h).
 *
 * Format (all integers little-endian):
 *   'F' | 'T'              false | true
 *   'N' f64                a number
 *   'S' u32 len, bytes     a string
 *   'B' u32 clen, class, (key value)*, 'E'    a table (ids count up from 0 in 'B' order)
 *   'R' u32 id             a table already written (shared reference or cycle)
 *   '0'                    nil (only as a root value)
 * Dumping runs inside a host step (protected; stack checked); table identity is kept in
 * a C hash keyed by lua_topointer, so dumping allocates nothing in the sandbox.
 * Loading validates every length against the input before reading it. */
#include "sbx_serial.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx.h"
#include "util.h"

struct seen {
    const void **keys;
    uint32_t *ids;
    size_t cap, n;
};

static uint32_t *seen_slot(struct seen *h, const void *p, int *found)
{
    if ((h->n + 1) * 2 > h->cap) {
        struct seen old = *h;
        h->cap = h->cap ? h->cap * 2 : 64;
        h->keys = xcalloc(h->cap, sizeof *h->keys);
        h->ids = xcalloc(h->cap, sizeof *h->ids);
        h->n = 0;
        for (size_t i = 0; i < old.cap; i++) {
            if (!old.keys[i]) continue;
            int f;
            uint32_t *slot = seen_slot(h, old.keys[i], &f);
            *slot = old.ids[i];
        }
        free(old.keys);
        free(old.ids);
    }
    size_t i = ((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull % h->cap;
    while (h->keys[i] && h->keys[i] != p) i = (i + 1) % h->cap;
    *found = h->keys[i] != NULL;
    if (!*found) {
        h->keys[i] = p;
        h->n++;
    }
    return &h->ids[i];
}

struct dumper {
    lua_State *L;
    struct buf *out;
    struct seen seen;
    uint32_t next_id;
    char path[512];
    int depth;
    char error[512];
};

static void put_u32(struct buf *b, uint32_t v)
{
    unsigned char c[4] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >> 24) & 0xff};
    buf_put(b, c, 4);
}

static int fail(struct dumper *d, const char *what)
{
    snprintf(d->error, sizeof d->error,
             "%.300s %s: state must hold only data (tables, strings, "
             "numbers, booleans)",
             d->path, what);
    return -1;
}

/* Appends ".key" or "[key]" to the path; returns the old length to restore. */
static size_t path_push(struct dumper *d, int key)
{
    size_t len = strlen(d->path);
    size_t room = sizeof d->path - len;
    if (lua_type(d->L, key) == LUA_TSTRING) {
        const char *k = lua_tostring(d->L, key);
        int ident = (k[0] < '0' || k[0] > '9') && k[0];
        for (const char *p = k; *p && ident; p++)
            ident = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || *p == '_';
        snprintf(d->path + len, room, ident ? ".%.64s" : "[\"%.64s\"]", k);
    } else if (lua_type(d->L, key) == LUA_TNUMBER) {
        snprintf(d->path + len, room, "[%.14g]", lua_tonumber(d->L, key));
    } else {
        snprintf(d->path + len, room, "[%s]", lua_typename(d->L, lua_type(d->L, key)));
    }
    return len;
}

static int dump_value(struct dumper *d, int idx);

/* Writes the class name of the table at idx (its metatable's string __class), or "". */
static void dump_class(struct dumper *d, int idx)
{
    lua_State *L = d->L;
    size_t n = 0;
    const char *name = "";
    if (lua_getmetatable(L, idx)) {
        lua_pushliteral(L, "__class");
        lua_rawget(L, -2);
        if (lua_type(L, -1) == LUA_TSTRING) name = lua_tolstring(L, -1, &n);
        put_u32(d->out, (uint32_t)n);
        buf_put(d->out, name, n);
        lua_pop(L, 2);
        return;
    }
    put_u32(d->out, 0);
}

static int dump_table(struct dumper *d, int idx)
{
    lua_State *L = d->L;
    int found;
    uint32_t *slot = seen_slot(&d->seen, lua_topointer(L, idx), &found);
    if (found) {
        buf_putc(d->out, 'R');
        put_u32(d->out, *slot);
        return 0;
    }
    *slot = d->next_id++;
    if (++d->depth > SBX_SERIAL_MAX_DEPTH)
        return fail(d, "is nested too deeply (over 100 levels);");
    luaL_checkstack(L, 8, "state too deep");
    buf_putc(d->out, 'B');
    dump_class(d, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int v = lua_gettop(L), k = v - 1;
        size_t mark = path_push(d, k);
        int t = lua_type(L, k);
        if (t != LUA_TSTRING && t != LUA_TNUMBER && t != LUA_TBOOLEAN && t != LUA_TTABLE) {
            d->path[mark] = '\0';
            return fail(d, "has a key that is not data");
        }
        if (dump_value(d, k) != 0 || dump_value(d, v) != 0) return -1;
        d->path[mark] = '\0';
        lua_pop(L, 1);
    }
    buf_putc(d->out, 'E');
    d->depth--;
    return 0;
}

static int dump_value(struct dumper *d, int idx)
{
    lua_State *L = d->L;
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        buf_putc(d->out, '0');
        return 0;
    case LUA_TBOOLEAN:
        buf_putc(d->out, lua_toboolean(L, idx) ? 'T' : 'F');
        return 0;
    case LUA_TNUMBER: {
        double v = lua_tonumber(L, idx);
        uint64_t bits;
        memcpy(&bits, &v, 8);
        buf_putc(d->out, 'N');
        put_u32(d->out, (uint32_t)bits);
        put_u32(d->out, (uint32_t)(bits >> 32));
        return 0;
    }
    case LUA_TSTRING: {
        size_t n;
        const char *p = lua_tolstring(L, idx, &n);
        if (n > UINT32_MAX) return fail(d, "is a string too long");
        buf_putc(d->out, 'S');
        put_u32(d->out, (uint32_t)n);
        buf_put(d->out, p, n);
        return 0;
    }
    case LUA_TTABLE:
        return dump_table(d, idx);
    default: {
        char what[64];
        snprintf(what, sizeof what, "is a %s;", lua_typename(L, lua_type(L, idx)));
        return fail(d, what);
    }
    }
}

struct dump_job {
    struct dumper *d;
    int rc;
};

/* The value to dump is argument 1. */
static int dump_step(lua_State *L, void *ud)
{
    struct dump_job *job = ud;
    job->d->L = L;
    luaL_checkstack(L, 16, "state dump");
    job->rc = dump_value(job->d, 1);
    return 0;
}

int sbx_serial_dump(struct sbx *s, int idx, const char *root, struct buf *out, struct err *e)
{
    lua_State *L = sbx_lua(s);
    if (idx < 0) idx = lua_gettop(L) + idx + 1;
    struct dumper d = {.out = out};
    util_strlcpy(d.path, root, sizeof d.path);
    size_t mark = out->len;
    struct dump_job job = {&d, 0};
    lua_pushvalue(L, idx);
    int rc = sbx_host_step(s, dump_step, &job, 1, 0, e);
    free(d.seen.keys);
    free(d.seen.ids);
    if (rc == 0 && job.rc != 0) rc = err_set(e, "%s", d.error);
    if (rc != 0) {
        out->len = mark;
        if (out->p) out->p[mark] = '\0';
    }
    return rc;
}

/* ---- loading ------------------------------------------------------------------------ */

struct reader {
    const unsigned char *p, *end;
    int depth;
    int ntables;
    int missing;
    const char *error;
};

static int get_u32(struct reader *r, uint32_t *v)
{
    if (r->end - r->p < 4) return -1;
    *v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
         (uint32_t)r->p[3] << 24;
    r->p += 4;
    return 0;
}

/* Pushes one value; tables are registered in the table at stack index `refs`. */
static int load_value(lua_State *L, struct reader *r, int refs, int classes)
{
    if (r->p >= r->end) return r->error = "truncated", -1;
    char tag = (char)*r->p++;
    uint32_t n;
    switch (tag) {
    case '0':
        if (r->depth > 0) return r->error = "nil inside a table", -1;
        lua_pushnil(L);
        return 0;
    case 'F':
        lua_pushboolean(L, 0);
        return 0;
    case 'T':
        lua_pushboolean(L, 1);
        return 0;
    case 'N': {
        uint32_t lo, hi;
        if (get_u32(r, &lo) || get_u32(r, &hi)) return r->error = "truncated number", -1;
        uint64_t bits = (uint64_t)hi << 32 | lo;
        double v;
        memcpy(&v, &bits, 8);
        lua_pushnumber(L, v);
        return 0;
    }
    case 'S':
        if (get_u32(r, &n) || (size_t)(r->end - r->p) < n) return r->error = "truncated string", -1;
        lua_pushlstring(L, (const char *)r->p, n);
        r->p += n;
        return 0;
    case 'R':
        if (get_u32(r, &n) || n >= (uint32_t)r->ntables) return r->error = "bad reference", -1;
        lua_rawgeti(L, refs, (int)n + 1);
        return 0;
    case 'B': {
        if (++r->depth > SBX_SERIAL_MAX_DEPTH) return r->error = "nested too deeply", -1;
        luaL_checkstack(L, 8, "state too deep");
        if (get_u32(r, &n) || (size_t)(r->end - r->p) < n) return r->error = "truncated class", -1;
        lua_newtable(L);
        int t = lua_gettop(L);
        lua_pushvalue(L, t);
        lua_rawseti(L, refs, ++r->ntables);
        if (n > 0) {
            lua_pushlstring(L, (const char *)r->p, n);
            lua_rawget(L, classes);
            if (lua_istable(L, -1)) lua_setmetatable(L, t);
            else lua_pop(L, 1), r->missing++;
            r->p += n;
        }
        for (;;) {
            if (r->p >= r->end) return r->error = "truncated table", -1;
            if (*r->p == 'E') {
                r->p++;
                break;
            }
            if (load_value(L, r, refs, classes) || load_value(L, r, refs, classes)) return -1;
            if (lua_isnil(L, -2) ||
                (lua_type(L, -2) == LUA_TNUMBER && lua_tonumber(L, -2) != lua_tonumber(L, -2)))
                return r->error = "invalid key", -1;
            lua_rawset(L, t);
        }
        r->depth--;
        return 0;
    }
    default:
        return r->error = "unknown tag", -1;
    }
}

struct load_job {
    struct reader *r;
};

/* Leaves the loaded value (nil on error, with r->error set). */
static int load_step(lua_State *L, void *ud)
{
    struct load_job *job = ud;
    lua_newtable(L); /* refs */
    int refs = lua_gettop(L);
    sbx_push_internals(sbx_of(L));
    lua_getfield(L, -1, "classes");
    lua_remove(L, -2);
    int classes = lua_gettop(L);
    if (load_value(L, job->r, refs, classes) != 0) {
        lua_pushnil(L);
        return 1;
    }
    if (job->r->p != job->r->end) {
        job->r->error = "trailing bytes";
        lua_pushnil(L);
        return 1;
    }
    return 1;
}

/* Collects the class names in data into a new Lua array on the stack. */
static int class_names_step(lua_State *L, void *ud)
{
    const struct reader *src = ud;
    lua_newtable(L);
    int n = 0;
    for (const unsigned char *p = src->p; p + 5 <= src->end; p++) {
        /* Cheap scan; exactness is not needed: unknown names are just ignored. */
        if (*p != 'B') continue;
        uint32_t len =
            (uint32_t)p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16 | (uint32_t)p[4] << 24;
        if (len == 0 || len > 128 || (size_t)(src->end - (p + 5)) < len) continue;
        lua_pushlstring(L, (const char *)p + 5, len);
        lua_rawseti(L, -2, ++n);
    }
    return 1;
}

int sbx_serial_load(struct sbx *s, const char *data, size_t len, int *missing_classes,
                    struct err *e)
{
    lua_State *L = sbx_lua(s);
    struct reader r = {
        (const unsigned char *)data, (const unsigned char *)data + len, 0, 0, 0, NULL};
    if (memchr(data, 'B', len)) {
        if (sbx_host_step(s, class_names_step, &r, 0, 1, e) != 0) return -1;
        if (lua_objlen(L, -1) > 0) {
            sbx_push_internals(s);
            lua_getfield(L, -1, "ensure_classes");
            lua_remove(L, -2);
            lua_insert(L, -2);
            struct sbx_error se;
            if (sbx_call(s, 1, 0, SBX_BUDGET_LOAD, &se) != SBX_OK)
                return err_set(e, "restoring classes: %s", se.message);
        } else {
            lua_pop(L, 1);
        }
    }
    int top = lua_gettop(L);
    struct load_job job = {&r};
    if (sbx_host_step(s, load_step, &job, 0, 1, e) != 0) return -1;
    if (r.error) {
        lua_settop(L, top);
        return err_set(e, "malformed state data: %s at byte %ld", r.error,
                       (long)(r.p - (const unsigned char *)data));
    }
    if (missing_classes) *missing_classes = r.missing;
    return 0;
}
