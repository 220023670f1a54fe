/* api_output.c: what a script says to the world: signal(name, data) -> SIGNAL_GENERATED,
 * alert(severity, fmt, ...) -> ALERT, log.debug/info/warn/error(fmt, ...) and print.
 *
 * Formatting (string.format, tostring) happens in the Lua half below, inside the
 * script's own call and budget; the C half receives finished strings and never calls
 * back into Lua. Log output is size-capped per line and rate-limited per instance
 * (a token bucket on the host clock; drops are counted and reported once the bucket
 * refills). */
#include <cjson/cJSON.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "bus.h"
#include "host.h"
#include "log.h"
#include "sbx.h"
#include "util.h"

#define LOG_LINE_MAX   1024
#define LOG_RATE_PER_S 100.0
#define LOG_BURST      200.0
#define NAME_MAX_LEN   63

static const char lua_half[] =
    "local emit, emit_alert, format, select, tostring, concat = ...\n"
    "local function fmt(f, ...)\n"
    "  if select('#', ...) == 0 then return tostring(f) end\n"
    "  return format(f, ...)\n"
    "end\n"
    "log = {\n"
    "  debug = function(f, ...) emit(0, fmt(f, ...)) end,\n"
    "  info = function(f, ...) emit(1, fmt(f, ...)) end,\n"
    "  warn = function(f, ...) emit(2, fmt(f, ...)) end,\n"
    "  error = function(f, ...) emit(3, fmt(f, ...)) end,\n"
    "}\n"
    "function print(...)\n"
    "  local t = {}\n"
    "  for i = 1, select('#', ...) do t[i] = tostring((select(i, ...))) end\n"
    "  emit(1, concat(t, '\\t'))\n"
    "end\n"
    "function alert(severity, f, ...) emit_alert(severity, fmt(f, ...)) end\n";

static void publish(struct api_ctx *c, enum event_type type, cJSON *data)
{
    struct event ev = {.type = type, .data = data};
    snprintf(ev.source, sizeof ev.source, "strategy:%s", c->strategy_id);
    if (c->host) bus_publish(c->host->bus, &ev);
    else cJSON_Delete(data);
}

/* The bucket refills on the host clock, so a simulated run drops the same lines on
 * every machine. */
static int allow_log(struct api_ctx *c)
{
    int64_t now = c->host ? clock_now_us(&c->host->clock) : mono_ns() / 1000;
    if (c->log_refill_us == 0) c->log_tokens = LOG_BURST;
    else c->log_tokens += (double)(now - c->log_refill_us) / 1e6 * LOG_RATE_PER_S;
    if (c->log_tokens > LOG_BURST) c->log_tokens = LOG_BURST;
    c->log_refill_us = now;
    if (c->log_tokens < 1) {
        c->log_dropped++;
        return 0;
    }
    c->log_tokens -= 1;
    if (c->log_dropped) {
        log_warn("strategy", "log lines dropped (rate limit)", "id=%s dropped=%llu", c->strategy_id,
                 (unsigned long long)c->log_dropped);
        c->log_dropped = 0;
    }
    return 1;
}

static int l_emit(lua_State *L)
{
    struct api_ctx *c = api_ctx_of(L);
    int level = (int)luaL_checkinteger(L, 1);
    size_t n;
    const char *msg = luaL_checklstring(L, 2, &n);
    if (c->echo && level >= LOG_DEBUG && level <= LOG_ERROR) {
        c->echo(c->echo_ud, msg, n);
        c->echo(c->echo_ud, "\n", 1);
    }
    if (level < LOG_DEBUG || level > LOG_ERROR || (enum log_level)level < log_get_level()) return 0;
    if (!allow_log(c)) return 0;
    char cut[LOG_LINE_MAX + 4], q[2 * LOG_LINE_MAX + 16];
    util_strlcpy(cut, msg, LOG_LINE_MAX + 1);
    if (n > LOG_LINE_MAX) strcat(cut, "...");
    log_write((enum log_level)level, "strategy", "log", "id=%s msg=%s", c->strategy_id,
              log_quote(q, sizeof q, cut));
    return 0;
}

/* Raises when the current callback already published API_EVENTS_PER_CALL events. */
static void charge_event(lua_State *L, struct api_ctx *c, const char *what)
{
    if (++c->events_this_call > API_EVENTS_PER_CALL)
        luaL_error(L, "%s: more than %d signals and alerts in one callback", what,
                   API_EVENTS_PER_CALL);
}

static int l_emit_alert(lua_State *L)
{
    struct api_ctx *c = api_ctx_of(L);
    const char *sev = luaL_checkstring(L, 1);
    static const char *levels[] = {"LOW", "MEDIUM", "HIGH", "CRITICAL"};
    int ok = 0;
    for (size_t i = 0; i < ARRAY_LEN(levels); i++) ok |= !strcmp(sev, levels[i]);
    if (!ok)
        return luaL_error(L, "alert: severity must be LOW, MEDIUM, HIGH or CRITICAL (got '%s')",
                          sev);
    size_t n;
    const char *msg = luaL_checklstring(L, 2, &n);
    charge_event(L, c, "alert");
    char cut[LOG_LINE_MAX + 1], q[2 * LOG_LINE_MAX + 16];
    util_strlcpy(cut, msg, sizeof cut);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "strategy", c->strategy_id);
    cJSON_AddStringToObject(d, "severity", sev);
    cJSON_AddStringToObject(d, "message", cut);
    publish(c, EV_ALERT, d);
    if (allow_log(c))
        log_warn("strategy", "alert", "id=%s severity=%s msg=%s", c->strategy_id, sev,
                 log_quote(q, sizeof q, cut));
    return 0;
}

static int l_signal(lua_State *L)
{
    struct api_ctx *c = api_ctx_of(L);
    size_t n;
    const char *name = luaL_checklstring(L, 1, &n);
    if (n == 0 || n > NAME_MAX_LEN) return luaL_argerror(L, 1, "signal name must be 1-63 bytes");
    charge_event(L, c, "signal");
    cJSON *data = NULL;
    if (!lua_isnoneornil(L, 2)) {
        struct err e;
        data = api_lua_to_json(L, 2, &e);
        if (!data) return luaL_error(L, "signal '%s': %s", name, e.msg);
    }
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "strategy", c->strategy_id);
    cJSON_AddNumberToObject(d, "version", c->version);
    cJSON_AddStringToObject(d, "name", name);
    cJSON_AddItemToObject(d, "data", data ? data : cJSON_CreateObject());
    if (allow_log(c)) {
        char *json = cJSON_PrintUnformatted(cJSON_GetObjectItem(d, "data"));
        char q[1100];
        log_info("strategy", "signal", "id=%s name=%s data=%s", c->strategy_id, name,
                 log_quote(q, sizeof q, json ? json : "{}"));
        cJSON_free(json);
    }
    publish(c, EV_SIGNAL_GENERATED, d);
    return 0;
}

int api_output_register(struct sbx *s, struct err *e)
{
    lua_State *L = sbx_lua(s);
    sbx_register(s, NULL, "signal", l_signal);
    lua_pushcfunction(L, l_emit);
    lua_pushcfunction(L, l_emit_alert);
    lua_getglobal(L, "string");
    lua_getfield(L, -1, "format");
    lua_remove(L, -2);
    lua_getglobal(L, "select");
    lua_getglobal(L, "tostring");
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "concat");
    lua_remove(L, -2);
    return sbx_run_host_chunk(s, "api_output", lua_half, 6, e);
}
