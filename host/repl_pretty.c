/* repl_pretty.c: renders Lua values for the console (rules and contract in
 * repl_pretty.h).
 *
 * One recursive walk over the value with a context holding the output buffer, the
 * tables on the current path (for "<cycle>", compared by lua_topointer) and a limit:
 * the buffer position past which rendering stops. Normally the limit is the max_bytes
 * cut; while a table is tried on one line it is that line's 60-character budget, and
 * when the try overflows the buffer is rewound and the table rendered over several
 * lines. Only tables without nested non-empty tables are tried, so tries never nest.
 *
 * A table is rendered in three steps: a scan (array length up to max_items, entry
 * count, whether a nested non-empty table occurs, whether keys of other types occur),
 * the sort of the non-array number and string keys in C (pointers into the table's
 * own strings, which stay alive because the table is not modified and stays on the
 * stack), then emission: the array part, the sorted keys, false and true, and the
 * remaining key types one traversal per type. Nothing is allocated in the state for
 * this; every access is raw, so no metamethod of a sandbox value ever runs. */
#include "repl_pretty.h"

#include <lua.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define SLOTS_PER_LEVEL 6
#define TYPE_CDATA      10 /* LuaJIT's cdata (lj_obj.h LUA_TCDATA), absent from lua.h */

struct pretty {
    lua_State *L;
    struct buf *out;
    size_t start, limit; /* out->len at entry; position past which rendering stops */
    int max_items, max_depth;
    int over;         /* out->len passed limit */
    int budget;       /* REPL_PRETTY_MAX_SCAN entries visited */
    uint64_t scanned; /* table entries visited */
    int ro;           /* stack index of the registry's read-only map, 0 when none */
    int depth;        /* tables on the path */
    const void *path[REPL_PRETTY_DEPTH_CAP];
};

static void put_value(struct pretty *c, int idx, int level);

static int stopped(struct pretty *c)
{
    if (c->out->len > c->limit) c->over = 1;
    return c->over || c->budget;
}

/* ---- scalars ----------------------------------------------------------------------- */

static void put_number(struct buf *b, double x)
{
    if (isnan(x)) buf_puts(b, "nan");
    else if (isinf(x)) buf_puts(b, x > 0 ? "inf" : "-inf");
    else if (x == 0 && signbit(x)) buf_puts(b, "-0");
    else if (x == floor(x) && fabs(x) <= 9007199254740992.0) buf_printf(b, "%lld", (long long)x);
    else buf_printf(b, "%.14g", x);
}

/* Length of the UTF-8 sequence a lead byte announces (0 when it is no lead byte). */
static size_t utf8_seq_len(unsigned char c)
{
    if ((c & 0xE0) == 0xC0) return 2;
    if ((c & 0xF0) == 0xE0) return 3;
    if ((c & 0xF8) == 0xF0) return 4;
    return 0;
}

/* Appends the escaped form of the byte or sequence at s[i]; returns the bytes used. */
static size_t put_quoted_char(struct buf *b, const unsigned char *s, size_t i, size_t n)
{
    unsigned char ch = s[i];
    if (ch == '"' || ch == '\\') {
        buf_putc(b, '\\');
        buf_putc(b, (char)ch);
    } else if (ch == '\n') {
        buf_puts(b, "\\n");
    } else if (ch == '\t') {
        buf_puts(b, "\\t");
    } else if (ch < 0x20 || ch == 0x7F) {
        buf_printf(b, "\\%03u", ch);
    } else if (ch < 0x80) {
        buf_putc(b, (char)ch);
    } else {
        size_t len = utf8_seq_len(ch);
        if (len && len <= n - i && buf_utf8_valid_prefix((const char *)s + i, len) == len) {
            buf_put(b, s + i, len);
            return len;
        }
        buf_printf(b, "\\%03u", ch);
    }
    return 1;
}

static void put_quoted(struct pretty *c, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    buf_putc(c->out, '"');
    for (size_t i = 0; i < n && !stopped(c);) i += put_quoted_char(c->out, u, i, n);
    buf_putc(c->out, '"');
}

static void put_raw(struct pretty *c, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && !stopped(c)) {
        size_t room = c->limit - c->out->len + 1; /* enough to pass the limit */
        const char *nul = memchr(s + i, '\0', n - i);
        size_t run = MIN((nul ? (size_t)(nul - s) : n) - i, room);
        buf_put(c->out, s + i, run);
        i += run;
        if (i < n && s[i] == '\0') {
            buf_puts(c->out, "\\0");
            i++;
        }
    }
}

static void put_function(struct pretty *c, int idx)
{
    lua_State *L = c->L;
    if (lua_iscfunction(L, idx)) {
        buf_puts(c->out, "<function>");
        return;
    }
    lua_Debug ar;
    lua_pushvalue(L, idx);
    lua_getinfo(L, ">S", &ar); /* pops the function */
    buf_printf(c->out, "<function %s:%d>", ar.short_src, ar.linedefined);
}

/* ---- tables: helpers --------------------------------------------------------------- */

/* Pushes the table to render for the table at idx: its backing table when it is a
 * host read-only proxy (a proxy of a proxy is followed a few levels), else itself.
 * Returns the absolute index of the pushed table. */
static int push_backing(struct pretty *c, int idx)
{
    lua_State *L = c->L;
    lua_pushvalue(L, idx);
    for (int hops = 0; c->ro && hops < 4; hops++) {
        lua_pushvalue(L, -1);
        lua_rawget(L, c->ro);
        if (lua_type(L, -1) != LUA_TTABLE) {
            lua_pop(L, 1);
            break;
        }
        lua_replace(L, -2);
    }
    return lua_gettop(L);
}

static int table_empty(lua_State *L, int t)
{
    lua_pushnil(L);
    if (!lua_next(L, t)) return 1;
    lua_pop(L, 2);
    return 0;
}

/* 1 when the value at idx is a table with at least one entry (through a proxy). */
static int nonempty_table(struct pretty *c, int idx)
{
    if (lua_type(c->L, idx) != LUA_TTABLE) return 0;
    int t = push_backing(c, idx);
    int empty = table_empty(c->L, t);
    lua_pop(c->L, 1);
    return !empty;
}

static int on_path(struct pretty *c, const void *p)
{
    for (int i = 0; i < c->depth; i++)
        if (c->path[i] == p) return 1;
    return 0;
}

static int is_ident(const char *s, size_t n)
{
    static const char *reserved[] = {"and",   "break", "do",       "else", "elseif", "end",
                                     "false", "for",   "function", "goto", "if",     "in",
                                     "local", "nil",   "not",      "or",   "repeat", "return",
                                     "then",  "true",  "until",    "while"};
    if (n == 0 || (s[0] >= '0' && s[0] <= '9')) return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!(ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9')))
            return 0;
    }
    for (size_t i = 0; i < ARRAY_LEN(reserved); i++)
        if (strlen(reserved[i]) == n && !memcmp(reserved[i], s, n)) return 0;
    return 1;
}

static int is_int_key(double x, size_t n)
{
    return x >= 1 && x <= (double)n && x == floor(x);
}

/* ---- tables: scan and sort --------------------------------------------------------- */

struct tinfo {
    size_t n;      /* array part 1..n shown without keys (at most max_items) */
    size_t total;  /* entries */
    int nested;    /* a key or value is a non-empty table */
    int has_other; /* a key is neither number, string nor boolean */
};

static void table_scan(struct pretty *c, int t, struct tinfo *ti)
{
    lua_State *L = c->L;
    memset(ti, 0, sizeof *ti);
    for (;;) {
        if (ti->n >= (size_t)c->max_items) break;
        lua_rawgeti(L, t, (int)ti->n + 1);
        int nil = lua_isnil(L, -1);
        lua_pop(L, 1);
        if (nil) break;
        ti->n++;
    }
    lua_pushnil(L);
    while (lua_next(L, t)) {
        ti->total++;
        int kt = lua_type(L, -2);
        if (kt != LUA_TNUMBER && kt != LUA_TSTRING && kt != LUA_TBOOLEAN) ti->has_other = 1;
        if (!ti->nested && (nonempty_table(c, -1) || nonempty_table(c, -2))) ti->nested = 1;
        lua_pop(L, 1);
    }
    c->scanned += ti->total + ti->n;
    if (c->scanned > REPL_PRETTY_MAX_SCAN) c->budget = 1;
}

struct skey {
    double num;
    const char *s; /* a string key, owned by the table; NULL for a number key */
    size_t len;
    size_t ord; /* traversal order: makes the order total */
};

static int skey_cmp(const void *pa, const void *pb)
{
    const struct skey *a = pa, *b = pb;
    if (!a->s != !b->s) return a->s ? 1 : -1; /* numbers first */
    if (!a->s) {
        if (a->num != b->num) return a->num < b->num ? -1 : 1;
    } else {
        int r = memcmp(a->s, b->s, MIN(a->len, b->len));
        if (r) return r;
        if (a->len != b->len) return a->len < b->len ? -1 : 1;
    }
    return a->ord < b->ord ? -1 : a->ord > b->ord;
}

/* The number and string keys outside the array part 1..n, sorted; *count set. The
 * caller frees the array. */
static struct skey *table_sorted_keys(lua_State *L, int t, size_t n, size_t cap, size_t *count)
{
    struct skey *keys = xmalloc((cap ? cap : 1) * sizeof *keys);
    size_t k = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        int kt = lua_type(L, -1);
        if (k == cap || (kt != LUA_TNUMBER && kt != LUA_TSTRING)) continue;
        struct skey *sk = &keys[k];
        sk->ord = k;
        sk->s = NULL;
        if (kt == LUA_TNUMBER) {
            sk->num = lua_tonumber(L, -1);
            if (is_int_key(sk->num, n)) continue;
        } else {
            sk->s = lua_tolstring(L, -1, &sk->len); /* a string already: no conversion */
        }
        k++;
    }
    qsort(keys, k, sizeof *keys, skey_cmp);
    *count = k;
    return keys;
}

/* ---- tables: emission -------------------------------------------------------------- */

struct emit {
    int t;        /* the table */
    int level;    /* indentation level of the table's braces */
    int oneline;  /* 1 while rendering on one line */
    size_t shown; /* entries emitted */
};

static void put_indent(struct buf *b, int level)
{
    for (int i = 0; i < level; i++) buf_puts(b, "  ");
}

static void put_key(struct pretty *c, int k, int level)
{
    lua_State *L = c->L;
    size_t len;
    if (lua_type(L, k) == LUA_TSTRING) {
        const char *s = lua_tolstring(L, k, &len);
        if (is_ident(s, len)) {
            buf_put(c->out, s, len);
            return;
        }
    }
    buf_putc(c->out, '[');
    put_value(c, k, level);
    buf_putc(c->out, ']');
}

/* Emits one entry: the value on top of the stack (popped), with the key at k (0: an
 * array item, no key). */
static void emit_entry(struct pretty *c, struct emit *em, int k)
{
    struct buf *b = c->out;
    if (em->shown++) buf_puts(b, em->oneline ? ", " : ",\n");
    if (!em->oneline) put_indent(b, em->level + 1);
    if (k) {
        put_key(c, k, em->level + 1);
        buf_puts(b, " = ");
    }
    put_value(c, lua_gettop(c->L), em->level + 1);
    lua_pop(c->L, 1);
}

static int emit_full(struct pretty *c, struct emit *em)
{
    return stopped(c) || em->shown >= (size_t)c->max_items;
}

static void emit_sorted(struct pretty *c, struct emit *em, const struct tinfo *ti)
{
    lua_State *L = c->L;
    size_t count;
    size_t cap = ti->total - ti->n;
    struct skey *keys = table_sorted_keys(L, em->t, ti->n, cap, &count);
    for (size_t i = 0; i < count && !emit_full(c, em); i++) {
        if (keys[i].s) lua_pushlstring(L, keys[i].s, keys[i].len); /* exists: interned */
        else lua_pushnumber(L, keys[i].num);
        lua_pushvalue(L, -1);
        lua_rawget(L, em->t);
        emit_entry(c, em, lua_gettop(L) - 1);
        lua_pop(L, 1);
    }
    free(keys);
}

static void emit_booleans(struct pretty *c, struct emit *em)
{
    lua_State *L = c->L;
    for (int v = 0; v <= 1 && !emit_full(c, em); v++) {
        lua_pushboolean(L, v);
        lua_pushvalue(L, -1);
        lua_rawget(L, em->t);
        if (lua_isnil(L, -1)) lua_pop(L, 1);
        else emit_entry(c, em, lua_gettop(L) - 1);
        lua_pop(L, 1);
    }
}

/* Keys of the other types, grouped by type, each group in traversal order. */
static void emit_others(struct pretty *c, struct emit *em)
{
    static const int types[] = {LUA_TLIGHTUSERDATA, LUA_TTABLE,  LUA_TFUNCTION,
                                LUA_TUSERDATA,      LUA_TTHREAD, TYPE_CDATA};
    lua_State *L = c->L;
    for (size_t i = 0; i < ARRAY_LEN(types) && !emit_full(c, em); i++) {
        lua_pushnil(L);
        while (lua_next(L, em->t)) {
            if (lua_type(L, -2) != types[i]) {
                lua_pop(L, 1);
                continue;
            }
            emit_entry(c, em, lua_gettop(L) - 1);
            if (emit_full(c, em)) {
                lua_pop(L, 1);
                break;
            }
        }
    }
}

static void emit_entries(struct pretty *c, struct emit *em, const struct tinfo *ti)
{
    lua_State *L = c->L;
    for (size_t i = 1; i <= ti->n && !emit_full(c, em); i++) {
        lua_rawgeti(L, em->t, (int)i);
        emit_entry(c, em, 0);
    }
    if (ti->total > ti->n && !emit_full(c, em)) emit_sorted(c, em, ti);
    emit_booleans(c, em);
    if (ti->has_other) emit_others(c, em);
}

/* ---- tables ------------------------------------------------------------------------ */

/* Tries the one-line form; returns 0 (buffer rewound) when it does not fit. */
static int table_oneline(struct pretty *c, int t, int level, const struct tinfo *ti)
{
    size_t mark = c->out->len, limit = c->limit;
    c->limit = MIN(limit, mark + REPL_PRETTY_SHORT);
    struct emit em = {t, level, 1, 0};
    buf_putc(c->out, '{');
    emit_entries(c, &em, ti);
    buf_putc(c->out, '}');
    int fits = !stopped(c);
    c->limit = limit;
    if (!fits && !c->budget) {
        c->over = 0;
        c->out->len = mark;
        c->out->p[mark] = '\0';
    }
    return fits || c->budget;
}

static void table_body(struct pretty *c, int t, int level)
{
    struct tinfo ti;
    table_scan(c, t, &ti);
    if (c->budget) return;
    if (!ti.nested && ti.total <= (size_t)c->max_items && table_oneline(c, t, level, &ti)) return;
    struct emit em = {t, level, 0, 0};
    buf_puts(c->out, "{\n");
    emit_entries(c, &em, &ti);
    if (stopped(c)) return;
    if (ti.total > em.shown) {
        buf_puts(c->out, ",\n");
        put_indent(c->out, level + 1);
        buf_printf(c->out, "... (%zu more)", ti.total - em.shown);
    }
    buf_putc(c->out, '\n');
    put_indent(c->out, level);
    buf_putc(c->out, '}');
}

static void put_table(struct pretty *c, int idx, int level)
{
    int t = push_backing(c, idx);
    const void *p = lua_topointer(c->L, t);
    if (table_empty(c->L, t)) {
        buf_puts(c->out, "{}");
    } else if (on_path(c, p)) {
        buf_puts(c->out, "<cycle>");
    } else if (c->depth >= c->max_depth) {
        buf_puts(c->out, "{...}");
    } else {
        c->path[c->depth++] = p;
        table_body(c, t, level);
        c->depth--;
    }
    lua_pop(c->L, 1);
}

static void put_value(struct pretty *c, int idx, int level)
{
    lua_State *L = c->L;
    size_t len;
    const char *s;
    if (stopped(c)) return;
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        buf_puts(c->out, "nil");
        break;
    case LUA_TBOOLEAN:
        buf_puts(c->out, lua_toboolean(L, idx) ? "true" : "false");
        break;
    case LUA_TNUMBER:
        put_number(c->out, lua_tonumber(L, idx));
        break;
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &len);
        put_quoted(c, s, len);
        break;
    case LUA_TTABLE:
        put_table(c, idx, level);
        break;
    case LUA_TFUNCTION:
        put_function(c, idx);
        break;
    case LUA_TUSERDATA:
    case LUA_TLIGHTUSERDATA:
        buf_puts(c->out, "<userdata>");
        break;
    case LUA_TTHREAD:
        buf_puts(c->out, "<thread>");
        break;
    default:
        buf_puts(c->out, "<cdata>");
        break;
    }
}

/* ---- entry points ------------------------------------------------------------------ */

static void pretty_init(struct pretty *c, lua_State *L, const struct repl_pretty_opts *o,
                        struct buf *out)
{
    memset(c, 0, sizeof *c);
    c->L = L;
    c->out = out;
    c->start = out->len;
    c->max_items = o && o->max_items > 0 ? o->max_items : REPL_PRETTY_MAX_ITEMS;
    c->max_depth = o && o->max_depth > 0 ? o->max_depth : REPL_PRETTY_MAX_DEPTH;
    c->max_depth = MIN(c->max_depth, REPL_PRETTY_DEPTH_CAP);
    size_t max_bytes = o && o->max_bytes > 0 ? o->max_bytes : REPL_PRETTY_MAX_BYTES;
    c->limit = c->start + max_bytes;
    while (c->max_depth > 0 && !lua_checkstack(L, SLOTS_PER_LEVEL * (c->max_depth + 1) + 4))
        c->max_depth /= 2;
}

/* Cuts the output at the limit (not inside a UTF-8 sequence) and adds the marker. */
static void pretty_finish(struct pretty *c)
{
    struct buf *b = c->out;
    if (!c->over && !c->budget) return;
    if (b->len > c->limit) {
        size_t cut = c->limit;
        while (cut > c->start && ((unsigned char)b->p[cut] & 0xC0) == 0x80) cut--;
        b->len = cut;
        b->p[cut] = '\0';
    }
    if (b->len > c->start && b->p[b->len - 1] != '\n') buf_putc(b, '\n');
    buf_puts(b, "... (output truncated)");
}

static void pretty_run(lua_State *L, int idx, const struct repl_pretty_opts *o, struct buf *out,
                       int raw)
{
    struct pretty c;
    idx = idx < 0 && idx > LUA_REGISTRYINDEX ? lua_gettop(L) + idx + 1 : idx;
    pretty_init(&c, L, o, out);
    int top = lua_gettop(L);
    lua_pushliteral(L, "luatrade.readonly");
    lua_rawget(L, LUA_REGISTRYINDEX);
    if (lua_type(L, -1) == LUA_TTABLE) c.ro = lua_gettop(L);
    if (raw && lua_type(L, idx) == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        put_raw(&c, s, len);
    } else {
        put_value(&c, idx, 0);
    }
    stopped(&c);
    pretty_finish(&c);
    lua_settop(L, top);
}

void repl_pretty(lua_State *L, int idx, const struct repl_pretty_opts *o, struct buf *out)
{
    pretty_run(L, idx, o, out, 0);
}

void repl_pretty_result(lua_State *L, int idx, const struct repl_pretty_opts *o, struct buf *out)
{
    pretty_run(L, idx, o, out, 1);
}
