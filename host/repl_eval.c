/* repl_eval.c: one chunk typed at the console, evaluated like the `lua` interpreter
 * does: first as an expression ("return " .. chunk, so `1+1` prints 2), else as a
 * statement (`x = 5`); a chunk the parser found incomplete (its error ends at '<eof>')
 * waits for more lines. Results are pretty-printed (repl_pretty.h) inside a host step,
 * so reading them can never run a script's metamethod or escape the memory cap.
 *
 * In the admin sandbox the chunk runs as a coroutine driven from here (repl_admin.lua):
 * each helper's REST call is made between two resumes, with no Lua call in progress.
 * The console budget counts every resume and the calls between them, so a loop of
 * helper calls ends too.
 *
 * Attached to a strategy, the chunk runs in that strategy's loaded sandbox under its
 * own per-call CPU budget (strategy_console_call: bus held, orders journaled and sent
 * after, what it prints shown here). `detach()` is read by the console itself, never by
 * the strategy. Every chunk evaluated in a strategy is written to the audit log. */
#include <cjson/cJSON.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "host.h"
#include "http.h"
#include "oms.h"
#include "repl_internal.h"
#include "repl_pretty.h"
#include "sbx.h"
#include "strategy.h"
#include "util.h"

#define CHUNK_NAME      "console"
#define PRINT_BUDGET_NS (200 * 1000000LL) /* rendering results, all together */

/* A failed call's message, with where it stopped when the message does not say (a CPU
 * or memory stop names no line of its own). */
static void report(struct repl_session *s, const struct sbx_error *se)
{
    size_t n = strlen(se->file);
    int located = se->line <= 0 || (n && !strncmp(se->message, se->file, n));
    if (located) repl_outf(s, "%s\n", se->message);
    else repl_outf(s, "%s:%d: %s\n", se->file, se->line, se->message);
}

/* 1 when the parser stopped at the end of the text: the chunk may go on. */
static int incomplete(const char *msg)
{
    static const char mark[] = "'<eof>'";
    size_t n = strlen(msg);
    return n >= sizeof mark - 1 && !strcmp(msg + n - (sizeof mark - 1), mark);
}

static int blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') return 0;
    return 1;
}

/* Compiles code (expression first) and pushes the function. */
static enum repl_status compile(struct repl_session *s, struct sbx *x, const char *code, size_t len,
                                int allow_more)
{
    /* the values pass through a call, so a helper's error names the typed line (a
     * plain "return f()" would be a tail call, and lose it) */
    struct buf b = BUF_INIT;
    buf_puts(&b, "return (function(...) return ... end)(");
    buf_put(&b, code, len);
    buf_puts(&b, "\n)");
    struct sbx_error se;
    enum sbx_status rc = sbx_load(x, b.p, b.len, CHUNK_NAME, &se);
    buf_free(&b);
    if (rc == SBX_OK) return REPL_OK;
    rc = sbx_load(x, code, len, CHUNK_NAME, &se);
    if (rc == SBX_OK) return REPL_OK;
    if (allow_more && rc == SBX_ERR_SYNTAX && incomplete(se.message)) return REPL_MORE;
    repl_outf(s, "%s\n", se.message);
    return REPL_ERROR;
}

/* Host step: renders its arguments, tab-separated (repl_pretty.h; a string raw). */
static int print_step(lua_State *L, void *ud)
{
    struct repl_session *s = ud;
    struct buf b = BUF_INIT;
    int n = lua_gettop(L);
    int64_t t0 = mono_ns();
    for (int i = 1; i <= n; i++) {
        /* each result has the caps; so has the reply, in bytes and in time */
        if (b.len >= REPL_PRETTY_MAX_BYTES || mono_ns() - t0 > PRINT_BUDGET_NS) {
            buf_printf(&b, "\n... (output truncated: %d more results)", n - i + 1);
            break;
        }
        if (i > 1) buf_putc(&b, '\t');
        repl_pretty_result(L, i, NULL, &b);
    }
    buf_putc(&b, '\n');
    repl_out(s, b.p, b.len);
    buf_free(&b);
    return 0;
}

/* Prints the values above base and drops them. */
static void print_results(struct repl_session *s, struct sbx *x, int base)
{
    lua_State *L = sbx_lua(x);
    int n = lua_gettop(L) - base;
    struct err e = {0};
    if (n > 0 && sbx_host_step(x, print_step, s, n, 0, &e) != 0)
        repl_outf(s, "(the result could not be printed: %s)\n", e.msg);
    lua_settop(L, base);
}

/* ---- the admin sandbox: the chunk as a coroutine, helpers' REST calls between resumes */

struct rest_call {
    struct repl_session *s;
    cJSON *body;
    int status;
    struct buf reply;
    struct err e;
};

/* Host step: the body table (argument 1, may be nil) to JSON. */
static int encode_body(lua_State *L, void *ud)
{
    struct rest_call *c = ud;
    if (lua_isnoneornil(L, 1)) return 0;
    if (!lua_istable(L, 1)) return luaL_error(L, "a request body must be a table");
    if (!(c->body = api_lua_to_json(L, 1, &c->e))) return luaL_error(L, "%s", c->e.msg);
    return 0;
}

/* Host step: pushes the status and the decoded reply (nil when empty). */
static int push_reply(lua_State *L, void *ud)
{
    struct rest_call *c = ud;
    lua_pushinteger(L, c->status);
    cJSON *j = c->reply.len ? cJSON_ParseWithLength(c->reply.p, c->reply.len) : NULL;
    if (j) api_push_json(L, j);
    else if (c->reply.len) lua_pushlstring(L, c->reply.p, c->reply.len);
    else lua_pushnil(L);
    cJSON_Delete(j);
    return 2;
}

/* The request on the stack (method, path, body above base + 1) is made; its status and
 * reply are pushed for the driver's continue. Returns 0, or -1 with the message out. */
static int make_call(struct repl_session *s, int base)
{
    struct sbx *x = s->admin;
    lua_State *L = sbx_lua(x);
    struct host *h = s->r->h;
    unsigned m = http_method_parse(lua_tostring(L, base + 2));
    const char *path = lua_tostring(L, base + 3);
    struct rest_call c = {.s = s};
    if (!m || !path || path[0] != '/') {
        repl_outf(s, "api_call: expected a method (GET, POST, PUT, DELETE, PATCH) and a path\n");
        return -1;
    }
    char target[1024];
    util_strlcpy(target, path, sizeof target);
    lua_settop(L, base + 4);
    if (sbx_host_step(x, encode_body, &c, 1, 0, &c.e) != 0) {
        repl_outf(s, "%s\n", c.e.msg);
        return -1;
    }
    char *text = c.body ? cJSON_PrintUnformatted(c.body) : NULL;
    c.status = http_call_local(h->http, m, target, text, text ? strlen(text) : 0, s->who, &c.reply);
    free(text);
    cJSON_Delete(c.body);
    lua_settop(L, base);
    int rc = sbx_host_step(x, push_reply, &c, 0, 2, &c.e);
    buf_free(&c.reply);
    if (rc != 0) repl_outf(s, "the reply could not be read: %s\n", c.e.msg);
    return rc;
}

/* Pushes the driver's function `name` (repl_admin.lua's host table). */
static void push_driver(lua_State *L, const char *name)
{
    lua_getfield(L, LUA_REGISTRYINDEX, "luatrade.console");
    lua_pushstring(L, name);
    lua_rawget(L, -2);
    lua_remove(L, -2);
}

/* Runs the compiled chunk on top of the admin stack to its end. */
static enum repl_status run_admin(struct repl_session *s)
{
    struct sbx *x = s->admin;
    lua_State *L = sbx_lua(x);
    int base = lua_gettop(L) - 1;
    push_driver(L, "start");
    lua_insert(L, -2);
    int64_t t0 = mono_ns(), budget_ns = s->r->cfg.budget_us * 1000;
    struct sbx_error se;
    enum sbx_status rc = sbx_call(x, 1, LUA_MULTRET, SBX_BUDGET_LOAD, &se);
    for (;;) {
        if (rc != SBX_OK) {
            report(s, &se);
            return REPL_ERROR;
        }
        const char *kind = lua_tostring(L, base + 1);
        if (kind && !strcmp(kind, "done")) {
            lua_remove(L, base + 1);
            print_results(s, x, base);
            return REPL_OK;
        }
        if (!kind || strcmp(kind, "call") != 0) {
            const char *msg = lua_tostring(L, base + 2);
            repl_outf(s, "%s\n", msg ? msg : "(error object is not a string)");
            lua_settop(L, base);
            return REPL_ERROR;
        }
        if (mono_ns() - t0 > budget_ns) {
            repl_outf(s, "console budget of %lld ms exceeded (the chunk was stopped)\n",
                      (long long)(budget_ns / 1000000));
            lua_settop(L, base);
            return REPL_ERROR;
        }
        if (make_call(s, base) != 0) {
            lua_settop(L, base);
            return REPL_ERROR;
        }
        push_driver(L, "continue");
        lua_insert(L, -3);
        rc = sbx_call(x, 2, LUA_MULTRET, SBX_BUDGET_LOAD, &se);
    }
}

/* ---- inside a strategy ---------------------------------------------------------- */

/* failed: NULL when the chunk ran, else why it failed (sbx_status_name) */
static void audit_chunk(struct repl_session *s, struct strategy *st, const char *code, size_t len,
                        const char *failed)
{
    if (!s->r->audit) return;
    cJSON *b = cJSON_CreateObject();
    char *c = xmalloc(len + 1);
    memcpy(c, code, len);
    c[len] = 0;
    cJSON_AddStringToObject(b, "code", c);
    cJSON_AddNumberToObject(b, "version", strategy_version(st));
    char *text = cJSON_PrintUnformatted(b);
    char what[160];
    snprintf(what, sizeof what, "EVAL %s", strategy_id(st));
    audit_write(s->r->audit, s->who, what, text, failed ? 400 : 200, failed, NULL);
    free(text);
    free(c);
    cJSON_Delete(b);
}

static void echo_out(void *ud, const char *p, size_t n)
{
    repl_out(ud, p, n);
}

/* The chunk's events were delivered before the call returned, and its orders are sent
 * by the flush: a callback of the strategy's own may fault it in either, and then its
 * sandbox (and x's stack) is gone. */
static enum repl_status run_in_strategy(struct repl_session *s, struct strategy *st,
                                        const char **failed)
{
    struct sbx *x = strategy_sandbox(st);
    lua_State *L = sbx_lua(x);
    int base = lua_gettop(L) - 1;
    struct sbx_error se;
    enum sbx_status rc = strategy_console_call(st, 0, LUA_MULTRET, echo_out, s, &se);
    oms_flush(s->r->h->oms);
    *failed = rc == SBX_OK ? NULL : sbx_status_name(rc);
    if (strategy_sandbox(st) != x) {
        if (rc != SBX_OK) report(s, &se);
        repl_outf(s, "%s stopped during the chunk (%s): detached\n", s->attached,
                  strategy_status_name(strategy_status(st)));
        s->attached[0] = 0;
        *failed = *failed ? *failed : "faulted";
        return REPL_ERROR;
    }
    if (rc != SBX_OK) {
        report(s, &se);
        lua_settop(L, base);
        return REPL_ERROR;
    }
    print_results(s, x, base);
    return REPL_OK;
}

/* `detach()` (or `detach`) typed while attached: the strategy never sees it. */
static int is_detach(const char *p, size_t n)
{
    while (n && strchr(" \t\r\n;", p[n - 1])) n--;
    while (n && strchr(" \t\r\n", *p)) p++, n--;
    return (n == 8 && !memcmp(p, "detach()", 8)) || (n == 6 && !memcmp(p, "detach", 6));
}

enum repl_status repl_eval(struct repl_session *s, const char *code, size_t len, int allow_more)
{
    if (blank(code, len)) return REPL_OK;
    if (s->attached[0] && is_detach(code, len)) {
        repl_outf(s, "detached from %s\n", s->attached);
        s->attached[0] = 0;
        return REPL_OK;
    }
    struct strategy *st = s->attached[0] ? repl_attached(s) : NULL;
    if (s->attached[0] && !st) return REPL_ERROR;
    struct sbx *x = st ? strategy_sandbox(st) : s->admin;
    enum repl_status rs = compile(s, x, code, len, allow_more);
    if (rs != REPL_OK) return rs;
    if (!st) return run_admin(s);
    const char *failed = NULL;
    rs = run_in_strategy(s, st, &failed);
    audit_chunk(s, st, code, len, failed);
    return rs;
}
