/* sbx.c: sandbox states (see sbx.h for the contract, DESIGN.md §5 for the rules).
 *
 * Building a state: lua_newstate with the capping allocator below; base, table,
 * string, math and bit opened; jit opened only to turn the compiler on (or off when
 * the probe failed) and then dropped; the dangerous globals removed; guarded
 * replacements installed (sbx_guard.c); the prelude run (sbx_prelude.lua); the string
 * metatable locked; the host message handler left at stack index 1.
 *
 * Memory: every byte the state allocates is counted. Outside calls (host pushes) the
 * cap has 1 MB of slack, so host work cannot fail where the script filled the heap.
 * During a call, allocations past the cap fail (LUA_ERRMEM), and crossing 95% of the
 * cap arms the kill hook so the script is stopped at a known line. After a call,
 * an emergency full GC runs when usage passed 75% and grew 10% of the cap since the
 * last one (hysteresis, so a large live heap does not collect after every call).
 *
 * CPU: sbx_call brackets lua_pcall with sbx_watchdog_enter/leave. The kill hook the
 * watchdog arms is sticky (count 1, never removed during the call), so every
 * instruction raises again and no pcall, xpcall or coroutine can swallow it.
 * Errors are reported by type only: the host never runs a metamethod of a sandbox
 * value (a looping __tostring on an error object cannot hang it). */
#include "sbx.h"

#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "sbx_guard.h"
#include "sbx_prelude_lua.h"
#include "sbx_watchdog.h"
#include "util.h"

#define HOST_SLACK      (1u << 20)
#define MSGH_INDEX      1
#define MODULE_NAME_MAX 128

struct sbx {
    lua_State *L;
    struct sbx_config cfg;
    char name[64];
    char module_dir_buf[SBX_MAX_MODULE_DIRS][PATH_MAX];
    void *owner;

    /* allocator */
    size_t used, limit;
    size_t gc_mark; /* usage after the last emergency GC */
    int in_call;    /* a sandbox call is running: no slack, kill on 95% */
    int mem_hit;    /* an allocation was refused during the current call */
    int mem_kill;   /* the kill hook was armed for memory */

    /* calls */
    const char *cstack_base; /* read by the guards (sbx_guard.c) */
    char err_file[256];
    int err_line;

    int internals_ref; /* prelude's returned table */
    int tramp_ref;     /* host_step_tramp as a function value, made once */
    char **modules;
    int nmodules;
};

void sbx_kill_hook(lua_State *L, lua_Debug *ar);
static int host_step_tramp(lua_State *L);

const char *sbx_status_name(enum sbx_status s)
{
    static const char *names[] = {"ok", "runtime", "syntax", "file", "cpu", "memory"};
    return (unsigned)s < ARRAY_LEN(names) ? names[s] : "unknown";
}

static void *sbx_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct sbx *s = ud;
    if (nsize == 0) {
        free(ptr);
        s->used -= osize;
        return NULL;
    }
    if (nsize > osize) {
        size_t cap = s->limit + (s->in_call ? 0 : HOST_SLACK);
        if (s->used - osize + nsize > cap) {
            if (s->in_call) s->mem_hit = 1;
            return NULL;
        }
    }
    void *p = realloc(ptr, nsize);
    if (!p) {
        if (nsize <= osize) return ptr; /* a failed shrink keeps the block */
        if (s->in_call) s->mem_hit = 1;
        return NULL;
    }
    s->used = s->used - osize + nsize;
    if (s->in_call && !s->mem_kill && s->L && s->used > s->limit / 100 * 95) {
        s->mem_kill = 1;
        lua_sethook(s->L, sbx_kill_hook, LUA_MASKCOUNT, 1);
    }
    return p;
}

struct sbx *sbx_of(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

/* The sticky kill hook: armed by the watchdog (CPU) or the allocator (memory). A hook
 * left over from a call that ended just before the watchdog armed it removes itself. */
void sbx_kill_hook(lua_State *L, lua_Debug *ar)
{
    struct sbx *s = sbx_of(L);
    int cpu = sbx_watchdog_killed_current(s->cfg.wd);
    if (!cpu && !s->mem_kill) {
        lua_sethook(L, NULL, 0, 0);
        return;
    }
    lua_getinfo(L, "Sl", ar);
    if (ar->currentline > 0 && ar->source[0] == '@') {
        util_strlcpy(s->err_file, ar->short_src, sizeof s->err_file);
        s->err_line = ar->currentline;
    }
    if (cpu)
        luaL_error(L, "CPU budget of %d ms exceeded",
                   (int)(s->cfg.call_budget_us / 1000)); /* refined by sbx_call */
    luaL_error(L, "memory limit of %d MB reached", (int)(s->limit >> 20));
}

/* Message handler: remembers the innermost script frame with a line; returns the error
 * object unchanged. Runs no Lua code. */
static int l_msgh(lua_State *L)
{
    struct sbx *s = sbx_of(L);
    lua_Debug ar;
    if (s->err_line > 0) return 1; /* the kill hook already recorded the position */
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        if (!lua_getinfo(L, "Sl", &ar)) break;
        if (ar.currentline > 0 && ar.source[0] == '@') {
            util_strlcpy(s->err_file, ar.short_src, sizeof s->err_file);
            s->err_line = ar.currentline;
            break;
        }
    }
    return 1;
}

static int l_panic(lua_State *L)
{
    const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
    log_error("sbx", "unprotected error in a sandbox (host bug)", "error=\"%s\"", msg);
    abort();
}

/* Formats the error object at the top by its type, without metamethods. */
static void describe_error(lua_State *L, char *out, size_t n)
{
    int t = lua_type(L, -1);
    if (t == LUA_TSTRING) util_strlcpy(out, lua_tostring(L, -1), n);
    else if (t == LUA_TNUMBER) snprintf(out, n, "%.14g", lua_tonumber(L, -1));
    else if (t == LUA_TNIL) util_strlcpy(out, "error object is nil", n);
    else snprintf(out, n, "(error object is a %s value)", lua_typename(L, t));
}

static void fill_error(struct sbx *s, struct sbx_error *err, enum sbx_status st, const char *msg,
                       int64_t elapsed_us)
{
    if (!err) return;
    err->status = st;
    util_strlcpy(err->message, msg, sizeof err->message);
    util_strlcpy(err->file, s->err_file, sizeof err->file);
    err->line = s->err_line;
    err->elapsed_us = elapsed_us;
}

static void maybe_emergency_gc(struct sbx *s)
{
    size_t high = s->limit / 4 * 3, step = s->limit / 10;
    if (s->used > high && s->used > s->gc_mark + step) {
        lua_gc(s->L, LUA_GCCOLLECT, 0);
        s->gc_mark = s->used;
    } else if (s->used < s->gc_mark) {
        s->gc_mark = s->used;
    }
}

enum sbx_status sbx_call(struct sbx *s, int nargs, int nresults, enum sbx_budget b,
                         struct sbx_error *err)
{
    lua_State *L = s->L;
    int func = lua_gettop(L) - nargs;
    ASSERT(func > MSGH_INDEX);
    int64_t budget_us = b == SBX_BUDGET_LOAD ? s->cfg.load_budget_us : s->cfg.call_budget_us;
    char anchor;
    const char *outer_base = s->cstack_base;
    if (!outer_base) s->cstack_base = &anchor;
    s->err_file[0] = '\0';
    s->err_line = 0;
    s->mem_hit = s->mem_kill = 0;
    s->in_call = 1;
    uint64_t gen = sbx_watchdog_enter(s->cfg.wd, L, budget_us, sbx_kill_hook);
    int rc = lua_pcall(L, nargs, nresults, MSGH_INDEX);
    int killed = sbx_watchdog_leave(s->cfg.wd, gen);
    s->in_call = 0;
    s->cstack_base = outer_base;
    if (killed || s->mem_kill) lua_sethook(L, NULL, 0, 0);
    if (rc == 0 && !killed && !s->mem_hit && !s->mem_kill) {
        maybe_emergency_gc(s);
        return SBX_OK;
    }
    int64_t started = sbx_watchdog_started_ns(s->cfg.wd, gen);
    int64_t elapsed_us = started ? (mono_ns() - started) / 1000 : 0;
    char msg[512];
    enum sbx_status st = killed                                            ? SBX_ERR_CPU
                         : (s->mem_hit || s->mem_kill || rc == LUA_ERRMEM) ? SBX_ERR_MEMORY
                                                                           : SBX_ERR_RUNTIME;
    if (st == SBX_ERR_CPU)
        snprintf(msg, sizeof msg, "CPU budget of %lld ms exceeded (stopped after %lld ms)",
                 (long long)budget_us / 1000, (long long)elapsed_us / 1000);
    else if (st == SBX_ERR_MEMORY)
        snprintf(msg, sizeof msg, "memory limit of %zu MB reached", s->limit >> 20);
    if (rc != 0) {
        if (st == SBX_ERR_RUNTIME) describe_error(L, msg, sizeof msg);
        lua_pop(L, 1);
    } else {
        lua_settop(L, func - 1);
    }
    fill_error(s, err, st, msg, elapsed_us);
    if (st == SBX_ERR_MEMORY) lua_gc(L, LUA_GCCOLLECT, 0);
    return st;
}

/* ---- loading ---------------------------------------------------------------------- */

/* Compiled-chunk cache. Reloads create a sandbox and require the same modules again
 * and again; parsing them is most of a reload's cost. Text the host compiled itself is
 * dumped to bytecode (lua_dump) and reused by later sandboxes; only the host loads
 * bytecode (mode "b"), and only its own. An entry is valid while the file's device,
 * inode, size and modification time (ns) are unchanged, so an edit, a rename-over or
 * a symlink swap is a miss. The loop thread is the only user. */
#define CHUNK_CACHE_SIZE 128

struct chunk_entry {
    char *path;
    struct stat st;
    struct buf bc;
};

static struct chunk_entry chunk_cache[CHUNK_CACHE_SIZE];
static unsigned chunk_next; /* round-robin replacement */
static struct buf prelude_bc;

static int dump_writer(lua_State *L, const void *p, size_t n, void *ud)
{
    buf_put(ud, p, n);
    return 0;
}

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static struct chunk_entry *chunk_lookup(const char *path, const struct stat *st)
{
    for (int i = 0; i < CHUNK_CACHE_SIZE; i++) {
        struct chunk_entry *c = &chunk_cache[i];
        if (c->path && !strcmp(c->path, path) && same_file(&c->st, st)) return c;
    }
    return NULL;
}

/* Remembers the function on top of the stack (compiled from path) as bytecode. */
static void chunk_store(lua_State *L, const char *path, const struct stat *st)
{
    struct chunk_entry *c = &chunk_cache[chunk_next++ % CHUNK_CACHE_SIZE];
    free(c->path);
    buf_reset(&c->bc);
    c->path = NULL;
    if (lua_dump(L, dump_writer, &c->bc) != 0) return;
    c->path = xstrdup(path);
    c->st = *st;
}

/* Extracts the line number from a "chunk:LINE: message" syntax error. */
static int syntax_line(const char *msg, const char *short_src)
{
    size_t n = strlen(short_src);
    if (strncmp(msg, short_src, n) != 0 || msg[n] != ':') return 0;
    return atoi(msg + n + 1);
}

enum sbx_status sbx_load(struct sbx *s, const char *text, size_t len, const char *chunkname,
                         struct sbx_error *err)
{
    s->err_file[0] = '\0';
    s->err_line = 0;
    if (len > s->cfg.script_limit) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s is %zu bytes; the script limit is %zu bytes", chunkname, len,
                 s->cfg.script_limit);
        util_strlcpy(s->err_file, chunkname, sizeof s->err_file);
        fill_error(s, err, SBX_ERR_FILE, msg, 0);
        return SBX_ERR_FILE;
    }
    char chunk[PATH_MAX + 2];
    snprintf(chunk, sizeof chunk, "@%s", chunkname);
    s->in_call = 1; /* the parser's memory counts against the cap */
    s->mem_hit = 0;
    int rc = luaL_loadbufferx(s->L, text, len, chunk, "t");
    s->in_call = 0;
    if (rc == 0) return SBX_OK;
    char msg[512];
    describe_error(s->L, msg, sizeof msg);
    lua_pop(s->L, 1);
    util_strlcpy(s->err_file, chunkname, sizeof s->err_file);
    s->err_line = syntax_line(msg, chunkname);
    enum sbx_status st = rc == LUA_ERRMEM || s->mem_hit ? SBX_ERR_MEMORY : SBX_ERR_SYNTAX;
    fill_error(s, err, st, msg, 0);
    return st;
}

/* require's host half: finds `name` under the module directories, refuses anything
 * that resolves outside them (symlinks included), compiles it as text, and returns
 * the function and its path. Runs no Lua code. */
static int l_loadmodule(lua_State *L)
{
    struct sbx *s = sbx_of(L);
    size_t nlen;
    const char *name = luaL_checklstring(L, 1, &nlen);
    int ok = nlen > 0 && nlen <= MODULE_NAME_MAX;
    for (size_t i = 0; ok && i < nlen; i++) {
        char c = name[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        int digit = c >= '0' && c <= '9';
        if (c == '.') ok = i > 0 && i + 1 < nlen && name[i - 1] != '.';
        else ok = alpha || (digit && i > 0 && name[i - 1] != '.');
    }
    if (!ok)
        return luaL_error(L, "invalid module name '%s' (use names like \"indicators.sma\")", name);
    char rel[MODULE_NAME_MAX + 16];
    util_strlcpy(rel, name, sizeof rel);
    for (char *p = rel; *p; p++)
        if (*p == '.') *p = '/';
    char tried[512] = "";
    for (int d = 0; d < SBX_MAX_MODULE_DIRS && s->cfg.module_dirs[d]; d++) {
        const char *dir = s->cfg.module_dirs[d];
        static const char *forms[] = {"%s/%s.lua", "%s/%s/init.lua"};
        for (size_t f = 0; f < ARRAY_LEN(forms); f++) {
            char path[PATH_MAX], chunk[PATH_MAX + 2];
            struct stat st;
            snprintf(path, sizeof path, forms[f], dir, rel);
            if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
            snprintf(chunk, sizeof chunk, "@%s", path);
            struct chunk_entry *cached = chunk_lookup(path, &st);
            if (cached) {
                if (luaL_loadbufferx(L, cached->bc.p, cached->bc.len, chunk, "b") != 0)
                    return lua_error(L);
            } else {
                char real[PATH_MAX], realdir[PATH_MAX];
                if (!realpath(path, real) || !realpath(dir, realdir)) continue;
                size_t dl = strlen(realdir);
                if (strncmp(real, realdir, dl) != 0 || real[dl] != '/') {
                    return luaL_error(L, "module '%s' resolves outside %s (refused)", name, dir);
                }
                size_t len;
                char *text = util_read_file(path, s->cfg.script_limit, &len);
                if (!text) {
                    int e = errno;
                    return luaL_error(L, "cannot read module '%s' (%s): %s", name, path,
                                      e == EFBIG ? "larger than the script limit" : strerror(e));
                }
                int rc = luaL_loadbufferx(L, text, len, chunk, "t");
                free(text);
                if (rc != 0) {
                    return lua_error(L);
                }
                chunk_store(L, path, &st);
            }
            int known = 0;
            for (int i = 0; i < s->nmodules; i++) known |= !strcmp(s->modules[i], path);
            if (!known) {
                s->modules = xrealloc(s->modules, sizeof *s->modules * (size_t)(s->nmodules + 1));
                s->modules[s->nmodules++] = xstrdup(path);
            }
            lua_pushstring(L, path);
            return 2;
        }
        size_t used = strlen(tried);
        snprintf(tried + used, sizeof tried - used, "%s%s", used ? ", " : "", dir);
    }
    /* no position: the caller's line is added by the message handler's report */
    lua_pushfstring(L, "module '%s' not found (searched %s)", name, tried[0] ? tried : "nowhere");
    return lua_error(L);
}

/* ---- building a state ------------------------------------------------------------- */

static int l_readonly_newindex(lua_State *L)
{
    return luaL_error(L, "attempt to modify a read-only table");
}

static void open_lib(lua_State *L, const char *name, lua_CFunction open)
{
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
}

static void remove_globals(lua_State *L)
{
    static const char *globals[] = {
        "dofile", "loadfile", "loadstring", "getfenv", "setfenv", "newproxy", "module", "require",
        "gcinfo", "print",    "package",    "jit",     "debug",   "io",       "os",     "ffi"};
    for (size_t i = 0; i < ARRAY_LEN(globals); i++) {
        lua_pushnil(L);
        lua_setglobal(L, globals[i]);
    }
    static const char *fields[][2] = {
        {"string", "dump"}, {"table", "foreach"}, {"table", "foreachi"}, {"table", "setn"}};
    for (size_t i = 0; i < ARRAY_LEN(fields); i++) {
        lua_getglobal(L, fields[i][0]);
        lua_pushnil(L);
        lua_setfield(L, -2, fields[i][1]);
        lua_pop(L, 1);
    }
}

/* Builds the environment; runs inside lua_cpcall. */
static int setup(lua_State *L)
{
    struct sbx *s = lua_touserdata(L, 1);
    lua_pop(L, 1);
    open_lib(L, "", luaopen_base);
    open_lib(L, LUA_TABLIBNAME, luaopen_table);
    open_lib(L, LUA_STRLIBNAME, luaopen_string);
    open_lib(L, LUA_MATHLIBNAME, luaopen_math);
    open_lib(L, LUA_BITLIBNAME, luaopen_bit);
    open_lib(L, LUA_JITLIBNAME, luaopen_jit); /* starts the compiler */
    if (!s->cfg.jit) luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
    remove_globals(L);

    lua_getglobal(L, "math");
    lua_getfield(L, -1, "randomseed");
    lua_pushnumber(L, (lua_Number)(s->cfg.seed % 9007199254740991ull));
    lua_call(L, 1, 0);
    lua_pop(L, 1);

    lua_pushlightuserdata(L, (void *)&s->cstack_base);
    sbx_guard_install(L, s->cfg.script_limit); /* leaves the guarded resume */

    /* prelude(loadmodule, guarded_resume, readonly_backing), compiled once per process */
    if (prelude_bc.len) {
        if (luaL_loadbufferx(L, prelude_bc.p, prelude_bc.len, "=sandbox", "b") != 0)
            return lua_error(L);
    } else {
        if (luaL_loadbufferx(L, sbx_prelude_lua, sizeof sbx_prelude_lua - 1, "=sandbox", "t") != 0)
            return lua_error(L);
        lua_dump(L, dump_writer, &prelude_bc);
    }
    lua_insert(L, -2);
    lua_pushcfunction(L, l_loadmodule);
    lua_insert(L, -2);
    lua_newtable(L); /* proxy -> backing, weak keys */
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "luatrade.readonly");
    lua_call(L, 3, 1);
    s->internals_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushcfunction(L, host_step_tramp);
    s->tramp_ref = luaL_ref(L, LUA_REGISTRYINDEX);

    /* Lock the string metatable: getmetatable("") returns false. */
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
    return 0;
}

struct sbx *sbx_new(const struct sbx_config *cfg, struct err *e)
{
    ASSERT(cfg->wd);
    struct sbx *s = xcalloc(1, sizeof *s);
    s->cfg = *cfg;
    util_strlcpy(s->name, cfg->name ? cfg->name : "sandbox", sizeof s->name);
    s->cfg.name = s->name;
    for (int i = 0; i < SBX_MAX_MODULE_DIRS; i++) {
        if (!cfg->module_dirs[i]) break;
        util_strlcpy(s->module_dir_buf[i], cfg->module_dirs[i], PATH_MAX);
        s->cfg.module_dirs[i] = s->module_dir_buf[i];
    }
    if (!s->cfg.memory_limit) s->cfg.memory_limit = SBX_DEFAULT_MEMORY;
    if (!s->cfg.call_budget_us) s->cfg.call_budget_us = SBX_DEFAULT_CALL_US;
    if (!s->cfg.load_budget_us) s->cfg.load_budget_us = SBX_DEFAULT_LOAD_US;
    if (!s->cfg.script_limit) s->cfg.script_limit = SBX_DEFAULT_SCRIPT;
    s->limit = s->cfg.memory_limit;
    s->internals_ref = LUA_NOREF;
    s->tramp_ref = LUA_NOREF;
    s->L = lua_newstate(sbx_alloc, s);
    if (!s->L) {
        err_set(e, "%s: cannot create a Lua state (memory limit %zu bytes)", s->name, s->limit);
        free(s);
        return NULL;
    }
    lua_atpanic(s->L, l_panic);
    lua_gc(s->L, LUA_GCSETPAUSE, 150);
    if (lua_cpcall(s->L, setup, s) != 0) {
        char msg[512];
        describe_error(s->L, msg, sizeof msg);
        err_set(e, "%s: cannot set up the sandbox: %s", s->name, msg);
        sbx_free(s);
        return NULL;
    }
    lua_settop(s->L, 0);
    lua_pushcfunction(s->L, l_msgh); /* index 1, for the life of the state */
    return s;
}

void sbx_free(struct sbx *s)
{
    if (!s) return;
    sbx_watchdog_forget(s->cfg.wd, s->L);
    lua_close(s->L);
    for (int i = 0; i < s->nmodules; i++) free(s->modules[i]);
    free(s->modules);
    free(s);
}

lua_State *sbx_lua(struct sbx *s)
{
    return s->L;
}

const char *sbx_name(const struct sbx *s)
{
    return s->name;
}

void sbx_set_owner(struct sbx *s, void *owner)
{
    s->owner = owner;
}

void *sbx_owner(const struct sbx *s)
{
    return s->owner;
}

const struct sbx_config *sbx_config(const struct sbx *s)
{
    return &s->cfg;
}

size_t sbx_memory_used(const struct sbx *s)
{
    return s->used;
}

size_t sbx_memory_limit(const struct sbx *s)
{
    return s->limit;
}

int sbx_module_count(const struct sbx *s)
{
    return s->nmodules;
}

const char *sbx_module_path(const struct sbx *s, int i)
{
    return i >= 0 && i < s->nmodules ? s->modules[i] : NULL;
}

struct host_step {
    int (*fn)(lua_State *, void *);
    void *ud;
};

static int host_step_tramp(lua_State *L)
{
    struct host_step *hs = lua_touserdata(L, 1);
    lua_remove(L, 1);
    return hs->fn(L, hs->ud);
}

int sbx_host_step(struct sbx *s, int (*fn)(lua_State *, void *), void *ud, int nargs, int nresults,
                  struct err *e)
{
    lua_State *L = s->L;
    struct host_step hs = {fn, ud};
    int base = lua_gettop(L) - nargs;
    ASSERT(base >= MSGH_INDEX);
    /* one function value for every step (made in setup): pushing a C function
     * allocates a closure */
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->tramp_ref);
    lua_insert(L, base + 1);
    lua_pushlightuserdata(L, &hs);
    lua_insert(L, base + 2);
    if (lua_pcall(L, nargs + 1, nresults, 0) != 0) {
        char msg[512];
        describe_error(L, msg, sizeof msg);
        lua_settop(L, base);
        return err_set(e, "%s: %s", s->name, msg);
    }
    return 0;
}

void sbx_register(struct sbx *s, const char *table, const char *name, int (*fn)(lua_State *))
{
    lua_State *L = s->L;
    if (!table) {
        lua_pushcfunction(L, fn);
        lua_setglobal(L, name);
        return;
    }
    lua_getglobal(L, table);
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setglobal(L, table);
    }
    lua_pushcfunction(L, fn);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

int sbx_run_host_chunk(struct sbx *s, const char *name, const char *code, int nargs, struct err *e)
{
    lua_State *L = s->L;
    char chunk[128];
    snprintf(chunk, sizeof chunk, "=%s", name);
    if (luaL_loadbufferx(L, code, strlen(code), chunk, "t") != 0) {
        char msg[512];
        describe_error(L, msg, sizeof msg);
        lua_pop(L, 1 + nargs);
        return err_set(e, "%s: host chunk %s: %s", s->name, name, msg);
    }
    lua_insert(L, -1 - nargs);
    struct sbx_error se;
    if (sbx_call(s, nargs, 0, SBX_BUDGET_LOAD, &se) != SBX_OK)
        return err_set(e, "%s: host chunk %s: %s", s->name, name, se.message);
    return 0;
}

void sbx_push_readonly(lua_State *L, int idx)
{
    idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
    lua_newtable(L); /* proxy */
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, idx);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_readonly_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushliteral(L, "read-only");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_getfield(L, LUA_REGISTRYINDEX, "luatrade.readonly");
    lua_pushvalue(L, -2);
    lua_pushvalue(L, idx);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

void sbx_get_global(lua_State *L, const char *name)
{
    lua_pushstring(L, name);
    lua_rawget(L, LUA_GLOBALSINDEX);
}

void sbx_set_global(lua_State *L, const char *name)
{
    lua_pushstring(L, name);
    lua_insert(L, -2);
    lua_rawset(L, LUA_GLOBALSINDEX);
}

void sbx_push_internals(struct sbx *s)
{
    lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->internals_ref);
}

/* ---- probe ------------------------------------------------------------------------- */

int sbx_probe(struct sbx_watchdog *wd, struct err *e)
{
    const char *forced = getenv("LUATRADE_SBX_PROBE");
    if (forced && !strcmp(forced, "fail"))
        return err_set(e, "probe failure forced by LUATRADE_SBX_PROBE=fail"), 0;
    static const char *shapes[][2] = {
        {"plain loop", "local x = 0 for i = 1, 4e8 do x = x + i % 7 end return x"},
        {"pcall-wrapped loop",
         "local x = 0 for j = 1, 2e4 do pcall(function() for i = 1, 2e4 do x = x + i end end) end "
         "return x"},
        {"coroutine loop",
         "local co = coroutine.wrap(function() local x = 0 for i = 1, 4e8 do x = x + i % 3 end "
         "return x end) return co()"},
    };
    const int64_t budget_us = 20000;
    struct sbx_config cfg = {
        .name = "probe", .call_budget_us = budget_us, .jit = 1, .wd = wd, .memory_limit = 8u << 20};
    struct sbx *s = sbx_new(&cfg, e);
    if (!s) return 0;
    int passed = 1;
    for (size_t i = 0; i < ARRAY_LEN(shapes) && passed; i++) {
        struct sbx_error se;
        if (sbx_load(s, shapes[i][1], strlen(shapes[i][1]), "probe", &se) != SBX_OK) {
            err_set(e, "probe %s does not compile: %s", shapes[i][0], se.message);
            passed = 0;
            break;
        }
        int64_t t0 = mono_ns();
        enum sbx_status st = sbx_call(s, 0, 0, SBX_BUDGET_CALL, &se);
        int64_t ms = (mono_ns() - t0) / 1000000;
        if (st == SBX_OK) lua_settop(sbx_lua(s), MSGH_INDEX);
        if (st != SBX_ERR_CPU || ms > 10 * budget_us / 1000) {
            err_set(e, "%s under the JIT was not stopped within %lld ms (status %s, ran %lld ms)",
                    shapes[i][0], (long long)(10 * budget_us / 1000), sbx_status_name(st),
                    (long long)ms);
            passed = 0;
        }
    }
    sbx_free(s);
    return passed;
}
