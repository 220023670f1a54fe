/* config.c: loading and checking the host configuration (see config.h).
 *
 * The file runs in a fresh sandbox with no host API (the same rules as a strategy:
 * no io/os/require, 16 MB, 1 s of CPU) and must return a table. A walker then reads
 * it with raw access only (no metamethod of the config runs during the check), keeping
 * the key path for messages (config_walk.h), and fills struct config. Defaults are set first, so an
 * absent key keeps its default while an unknown or mistyped one is an error. */
#include "config.h"

#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config_walk.h"
#include "fixed.h"
#include "log.h"
#include "sbx.h"
#include "util.h"

#define CONFIG_MAX_BYTES (1u << 20)
#define MAX_SYMBOLS      256
#define MAX_STRATEGIES   256

static int read_symbol(struct walk *w, int t, const char *name, struct config_symbol *s)
{
    static const char *keys[] = {"price", "drift",  "vol",      "tick",
                                 "lot",   "spread", "max_lots", NULL};
    if (!instrument_symbol_valid(name)) return walk_fail(w, "'%s' is not a valid symbol", name);
    util_strlcpy(s->symbol, name, sizeof s->symbol);
    s->price = 100;
    s->drift = 0.0;
    s->vol = 0.2;
    s->tick = 0.01;
    s->lot = 1;
    s->spread_ticks = 1;
    s->max_lots = 5;
    int64_t spread = 1;
    if (walk_check_keys(w, t, keys) || walk_num(w, t, "price", &s->price, 1e-9, 1e12) ||
        walk_num(w, t, "drift", &s->drift, -10, 10) || walk_num(w, t, "vol", &s->vol, 0, 10) ||
        walk_num(w, t, "tick", &s->tick, 1e-9, 1e6) || walk_num(w, t, "lot", &s->lot, 1e-9, 1e9) ||
        walk_integer(w, t, "spread", &spread, 1, 1000) ||
        walk_integer(w, t, "max_lots", &s->max_lots, 1, 1e9))
        return -1;
    s->spread_ticks = (int)spread;
    if (fx_decimals_of(s->tick) < 0) return walk_fail(w, "tick must have at most 9 decimals");
    if (fx_decimals_of(s->lot) < 0) return walk_fail(w, "lot must have at most 9 decimals");
    return 0;
}

static int read_feed(struct walk *w, int t, struct config *cfg)
{
    static const char *keys[] = {"kind", "rate", "trade_ratio", "seed", "symbols", NULL};
    if (walk_check_keys(w, t, keys)) return -1;
    char *kind = NULL;
    if (walk_str(w, t, "kind", &kind)) return -1;
    if (kind && strcmp(kind, "sim")) {
        size_t m = walk_enter(w, "kind");
        walk_fail(w, "unknown feed kind '%s' (available: sim)", kind);
        walk_leave(w, m);
        free(kind);
        return -1;
    }
    free(kind);
    int64_t seed = (int64_t)cfg->feed_seed;
    if (walk_num(w, t, "rate", &cfg->feed_rate, 0.001, 10e6) ||
        walk_num(w, t, "trade_ratio", &cfg->feed_trade_ratio, 0, 1) ||
        walk_integer(w, t, "seed", &seed, 0, 9007199254740991.0))
        return -1;
    cfg->feed_seed = (uint64_t)seed;
    int syms = walk_subtable(w, t, "symbols");
    if (syms < 0) return -1;
    if (syms == 0) return 0;
    size_t m = walk_enter(w, "symbols");
    /* keys sorted so the instrument ids do not depend on hash order */
    lua_State *L = w->L;
    int n = 0;
    char **names = NULL;
    lua_pushnil(L);
    while (lua_next(L, syms)) {
        if (lua_type(L, -2) != LUA_TSTRING || !lua_istable(L, -1)) {
            lua_pop(L, 2);
            for (int i = 0; i < n; i++) free(names[i]);
            free(names);
            return walk_fail(w, "expected SYMBOL = { price = ..., ... } entries");
        }
        names = xrealloc(names, sizeof *names * (size_t)(n + 1));
        names[n++] = xstrdup(lua_tostring(L, -2));
        lua_pop(L, 1);
    }
    int rc = 0;
    if (n > MAX_SYMBOLS) rc = walk_fail(w, "at most %d symbols", MAX_SYMBOLS);
    for (int i = 0; i < n && !rc; i++)
        for (int k = i + 1; k < n; k++)
            if (strcmp(names[k], names[i]) < 0) {
                char *tmp = names[i];
                names[i] = names[k];
                names[k] = tmp;
            }
    if (!rc) cfg->symbols = xcalloc((size_t)n + 1, sizeof *cfg->symbols);
    for (int i = 0; i < n && !rc; i++) {
        size_t m2 = walk_enter(w, names[i]);
        walk_get(w, syms, names[i]);
        rc = read_symbol(w, lua_gettop(L), names[i], &cfg->symbols[cfg->nsymbols++]);
        lua_pop(L, 1);
        walk_leave(w, m2);
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    walk_leave(w, m);
    lua_pop(L, 1);
    return rc;
}

static int read_params(struct walk *w, int t, struct params *ps)
{
    lua_State *L = w->L;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (lua_type(L, -2) != LUA_TSTRING || lua_objlen(L, -2) >= PARAM_NAME_MAX) {
            lua_pop(L, 2);
            return walk_fail(w, "parameter names must be strings");
        }
        struct param p = {0};
        util_strlcpy(p.name, lua_tostring(L, -2), sizeof p.name);
        int type = lua_type(L, -1);
        size_t m = walk_enter(w, p.name);
        if (type == LUA_TNUMBER && isfinite(lua_tonumber(L, -1)))
            p.type = PARAM_NUMBER, p.num = lua_tonumber(L, -1);
        else if (type == LUA_TBOOLEAN) p.type = PARAM_BOOL, p.b = lua_toboolean(L, -1);
        else if (type == LUA_TSTRING) p.type = PARAM_STRING, p.str = (char *)lua_tostring(L, -1);
        else {
            lua_pop(L, 2);
            return walk_fail(w, "expected a number, string or boolean");
        }
        walk_leave(w, m);
        params_set(ps, &p);
        lua_pop(L, 1);
    }
    return 0;
}

/* ---- trading: risk limits, account, venue, journal -------------------------------------- */

static const struct {
    const char *name;
    size_t off;
    double max;
} limit_fields[] = {
    {"max_order_qty", offsetof(struct risk_limits, max_order_qty), 1e15},
    {"max_order_notional", offsetof(struct risk_limits, max_order_notional), 1e15},
    {"price_band_pct", offsetof(struct risk_limits, price_band_pct), 1000},
    {"reference_max_age_s", offsetof(struct risk_limits, reference_max_age_s), 86400},
    {"max_position", offsetof(struct risk_limits, max_position), 1e15},
    {"max_gross_exposure", offsetof(struct risk_limits, max_gross_exposure), 1e15},
    {"max_working_orders", offsetof(struct risk_limits, max_working_orders), 1e9},
    {"max_orders_per_s", offsetof(struct risk_limits, max_orders_per_s), 1e9},
    {"max_cancels_per_s", offsetof(struct risk_limits, max_cancels_per_s), 1e9},
    {"duplicate_window_s", offsetof(struct risk_limits, duplicate_window_s), 86400},
    {"daily_loss_limit", offsetof(struct risk_limits, daily_loss_limit), 1e15},
    {"max_drawdown", offsetof(struct risk_limits, max_drawdown), 1e15},
    {"halt_ratio", offsetof(struct risk_limits, halt_ratio), 100},
    {"stale_feed_s", offsetof(struct risk_limits, stale_feed_s), 86400},
};

#define LIMIT_KEYS                                                                                 \
    "max_order_qty", "max_order_notional", "price_band_pct", "reference_max_age_s",                \
        "max_position", "max_gross_exposure", "max_working_orders", "max_orders_per_s",            \
        "max_cancels_per_s", "duplicate_window_s", "daily_loss_limit", "max_drawdown",             \
        "halt_ratio", "stale_feed_s", "self_cross"

/* The limit fields of table t (keys already checked) into l. */
static int read_limits(struct walk *w, int t, struct risk_limits *l)
{
    for (size_t i = 0; i < ARRAY_LEN(limit_fields); i++)
        if (walk_num(w, t, limit_fields[i].name, (double *)((char *)l + limit_fields[i].off), 0,
                     limit_fields[i].max))
            return -1;
    return walk_boolean(w, t, "self_cross", &l->self_cross);
}

static int read_symbol_list(struct walk *w, int t, const char *key, char ***out, int *n)
{
    lua_State *L = w->L;
    int s = walk_subtable(w, t, key);
    if (s <= 0) return s;
    size_t m = walk_enter(w, key);
    int rc = 0, len = (int)lua_objlen(L, s);
    if (!walk_is_list(L, s) && len != 0) rc = walk_fail(w, "expected a list of symbol names");
    *out = xcalloc((size_t)len + 1, sizeof **out);
    for (int i = 1; i <= len && rc == 0; i++) {
        lua_rawgeti(L, s, i);
        if (lua_type(L, -1) != LUA_TSTRING || !instrument_symbol_valid(lua_tostring(L, -1))) {
            size_t m2 = walk_enter_index(w, i);
            rc = walk_fail(w, "expected a symbol name");
            walk_leave(w, m2);
        } else (*out)[(*n)++] = xstrdup(lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    walk_leave(w, m);
    lua_pop(L, 1);
    return rc;
}

static int read_risk(struct walk *w, int t, struct config *cfg)
{
    static const char *keys[] = {LIMIT_KEYS, "restricted", "alerts", "kill_flatten", NULL};
    static const char *alert_keys[] = {"low", "medium", "high", "critical", NULL};
    if (walk_check_keys(w, t, keys) || read_limits(w, t, &cfg->risk) ||
        read_symbol_list(w, t, "restricted", &cfg->restricted, &cfg->nrestricted) ||
        walk_boolean(w, t, "kill_flatten", &cfg->kill_flatten))
        return -1;
    int a = walk_subtable(w, t, "alerts");
    if (a < 0) return -1;
    if (a == 0) return 0;
    size_t m = walk_enter(w, "alerts");
    int rc = walk_check_keys(w, a, alert_keys);
    for (int i = 0; i < SEV__COUNT && rc == 0; i++)
        rc = walk_num(w, a, alert_keys[i], &cfg->alert_at[i], 0.01, 10);
    walk_leave(w, m);
    lua_pop(w->L, 1);
    return rc;
}

static int hhmm(struct walk *w, int t, const char *key, int *out_min)
{
    char *s = NULL;
    if (walk_str(w, t, key, &s)) return -1;
    if (!s) return 0;
    int hh, mm, n = 0, rc = 0;
    if (sscanf(s, "%2d:%2d%n", &hh, &mm, &n) != 2 || s[n] || hh > 23 || mm > 59 || hh < 0 ||
        mm < 0) {
        size_t m = walk_enter(w, key);
        rc = walk_fail(w, "expected a time of day like \"16:00\"");
        walk_leave(w, m);
    } else *out_min = hh * 60 + mm;
    free(s);
    return rc;
}

static int read_account(struct walk *w, int t, struct config *cfg)
{
    static const char *keys[] = {"cash", "mark", "session_end", "tz", NULL};
    char *mark = NULL;
    int rc = walk_check_keys(w, t, keys) || walk_num(w, t, "cash", &cfg->cash, 0, 1e12) ||
             walk_str(w, t, "mark", &mark) || hhmm(w, t, "session_end", &cfg->session_end_min) ||
             walk_str(w, t, "tz", &cfg->session_tz);
    if (!rc && mark && strcmp(mark, "last") && strcmp(mark, "mid")) {
        size_t m = walk_enter(w, "mark");
        rc = walk_fail(w, "expected \"last\" (last trade) or \"mid\" (quote midpoint)");
        walk_leave(w, m);
    }
    if (!rc && mark) cfg->mark_mid = !strcmp(mark, "mid");
    free(mark);
    return rc ? -1 : 0;
}

static int read_venue(struct walk *w, int t, struct config *cfg)
{
    static const char *keys[] = {"kind",       "slippage_bps",         "fill_on_touch",
                                 "latency_ms", "commission_per_share", "commission_bps",
                                 NULL};
    char *kind = NULL;
    int rc = walk_check_keys(w, t, keys) || walk_str(w, t, "kind", &kind) ||
             walk_num(w, t, "slippage_bps", &cfg->slippage_bps, 0, 10000) ||
             walk_boolean(w, t, "fill_on_touch", &cfg->fill_on_touch) ||
             walk_num(w, t, "latency_ms", &cfg->latency_ms, 0, 60000) ||
             walk_num(w, t, "commission_per_share", &cfg->commission_per_share, 0, 1000) ||
             walk_num(w, t, "commission_bps", &cfg->commission_bps, 0, 10000);
    if (!rc && kind && strcmp(kind, "paper")) {
        size_t m = walk_enter(w, "kind");
        rc = walk_fail(w, "expected \"paper\" (the only venue so far)");
        walk_leave(w, m);
    }
    free(kind);
    return rc ? -1 : 0;
}

static int read_journal(struct walk *w, int t, struct config *cfg)
{
    static const char *keys[] = {"enabled", "sync", NULL};
    return walk_check_keys(w, t, keys) || walk_boolean(w, t, "enabled", &cfg->journal_enabled) ||
                   walk_boolean(w, t, "sync", &cfg->journal_sync)
               ? -1
               : 0;
}

/* A list of non-empty strings without spaces or control characters (host names,
 * origins). */
static int read_name_list(struct walk *w, int t, const char *key, char ***out, int *n)
{
    lua_State *L = w->L;
    int s = walk_subtable(w, t, key);
    if (s <= 0) return s;
    size_t m = walk_enter(w, key);
    int rc = 0, len = (int)lua_objlen(L, s);
    if (!walk_is_list(L, s) && len != 0) rc = walk_fail(w, "expected a list of strings");
    *out = xcalloc((size_t)len + 1, sizeof **out);
    for (int i = 1; i <= len && rc == 0; i++) {
        lua_rawgeti(L, s, i);
        const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        int ok = v && *v && strlen(v) < 256;
        for (const char *p = v; ok && *p; p++) ok = (unsigned char)*p > ' ' && *p != 0x7f;
        if (!ok) {
            size_t m2 = walk_enter_index(w, i);
            rc = walk_fail(w, "expected a name without spaces (at most 255 bytes)");
            walk_leave(w, m2);
        } else (*out)[(*n)++] = xstrdup(v);
        lua_pop(L, 1);
    }
    walk_leave(w, m);
    lua_pop(L, 1);
    return rc;
}

static int read_http(struct walk *w, int t, struct config *cfg)
{
    static const char *keys[] = {"enabled", "listen", "token",    "hosts",     "origins", "web",
                                 "rate",    "burst",  "max_body", "max_conns", "timeout", NULL};
    return walk_check_keys(w, t, keys) || walk_boolean(w, t, "enabled", &cfg->http_enabled) ||
                   walk_str(w, t, "listen", &cfg->http_listen) ||
                   walk_str(w, t, "token", &cfg->http_token) ||
                   read_name_list(w, t, "hosts", &cfg->http_hosts, &cfg->http_nhosts) ||
                   read_name_list(w, t, "origins", &cfg->http_origins, &cfg->http_norigins) ||
                   walk_str(w, t, "web", &cfg->http_web_dir) ||
                   walk_num(w, t, "rate", &cfg->http_rate, 0, 1e9) ||
                   walk_num(w, t, "burst", &cfg->http_burst, 0, 1e9) ||
                   walk_integer(w, t, "max_body", &cfg->http_max_body, 1024, 1 << 30) ||
                   walk_integer(w, t, "max_conns", &cfg->http_max_conns, 1, 100000) ||
                   walk_duration(w, t, "timeout", &cfg->http_timeout_us)
               ? -1
               : 0;
}

/* ws = { ... }: WebSocket sessions (ws.h) and the recent events they resume from
 * (event_log.h). */
static int read_ws(struct walk *w, int t, struct config *cfg)
{
    static const char *keys[] = {"max_clients",  "max_message", "queue",         "stall", "ping",
                                 "pong_timeout", "history",     "history_other", NULL};
    return walk_check_keys(w, t, keys) ||
                   walk_integer(w, t, "max_clients", &cfg->ws_max_clients, 1, 100000) ||
                   walk_integer(w, t, "max_message", &cfg->ws_max_message, 128, 1 << 24) ||
                   walk_integer(w, t, "queue", &cfg->ws_queue, 4096, 1 << 30) ||
                   walk_duration(w, t, "stall", &cfg->ws_stall_us) ||
                   walk_duration(w, t, "ping", &cfg->ws_ping_us) ||
                   walk_duration(w, t, "pong_timeout", &cfg->ws_pong_timeout_us) ||
                   walk_integer(w, t, "history", &cfg->ws_history, 16, 1 << 24) ||
                   walk_integer(w, t, "history_other", &cfg->ws_history_other, 16, 1 << 24)
               ? -1
               : 0;
}

/* console = { ... }: the console's unix socket and sessions (repl.h). */
static int read_console(struct walk *w, int t, struct config *cfg)
{
    static const char *keys[] = {"enabled", "socket", "budget", "max_sessions", NULL};
    return walk_check_keys(w, t, keys) || walk_boolean(w, t, "enabled", &cfg->console_enabled) ||
                   walk_str(w, t, "socket", &cfg->console_socket) ||
                   walk_duration(w, t, "budget", &cfg->console_budget_us) ||
                   walk_integer(w, t, "max_sessions", &cfg->console_max_sessions, 1, 1000)
               ? -1
               : 0;
}

static int read_strategy(struct walk *w, int t, struct config_strategy *s)
{
    static const char *keys[] = {"script", "id", "symbols", "params", "risk", NULL};
    lua_State *L = w->L;
    if (walk_check_keys(w, t, keys) || walk_str(w, t, "script", &s->script) ||
        walk_str(w, t, "id", &s->id))
        return -1;
    if (!s->script) return walk_fail(w, "script is required (a path to a .lua file)");
    if (s->id) {
        size_t n = strlen(s->id);
        int ok = n > 0 && n < 64;
        for (const char *p = s->id; ok && *p; p++)
            ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                 *p == '_' || *p == '-' || *p == '.';
        if (!ok) {
            size_t m = walk_enter(w, "id");
            walk_fail(w, "expected 1-63 characters of letters, digits, _ - .");
            walk_leave(w, m);
            return -1;
        }
    }
    int syms = walk_subtable(w, t, "symbols");
    if (syms < 0) return -1;
    if (syms > 0) {
        size_t m = walk_enter(w, "symbols");
        if (!walk_is_list(L, syms)) {
            walk_fail(w, "expected a list of symbol names");
            walk_leave(w, m);
            lua_pop(L, 1);
            return -1;
        }
        int n = (int)lua_objlen(L, syms);
        s->symbols = xcalloc((size_t)n + 1, sizeof *s->symbols);
        for (int i = 1; i <= n; i++) {
            lua_rawgeti(L, syms, i);
            if (lua_type(L, -1) != LUA_TSTRING) {
                lua_pop(L, 2);
                size_t m2 = walk_enter_index(w, i);
                walk_fail(w, "expected a symbol name");
                walk_leave(w, m2);
                return -1;
            }
            const char *sym = lua_tostring(L, -1);
            if (!instrument_symbol_valid(sym)) {
                lua_pop(L, 2);
                size_t m2 = walk_enter_index(w, i);
                walk_fail(w, "'%.40s' is not a valid symbol", sym);
                walk_leave(w, m2);
                return -1;
            }
            s->symbols[s->nsymbols++] = xstrdup(sym);
            lua_pop(L, 1);
        }
        walk_leave(w, m);
        lua_pop(L, 1);
    }
    int ps = walk_subtable(w, t, "params");
    if (ps < 0) return -1;
    if (ps > 0) {
        size_t m = walk_enter(w, "params");
        int rc = read_params(w, ps, &s->params);
        walk_leave(w, m);
        lua_pop(L, 1);
        if (rc) return -1;
    }
    int rs = walk_subtable(w, t, "risk");
    if (rs < 0) return -1;
    if (rs > 0) {
        static const char *limit_keys[] = {LIMIT_KEYS, NULL};
        size_t m = walk_enter(w, "risk");
        s->risk.self_cross = 1;
        int rc = walk_check_keys(w, rs, limit_keys) || read_limits(w, rs, &s->risk);
        s->has_risk = 1;
        walk_leave(w, m);
        lua_pop(L, 1);
        if (rc) return -1;
    }
    return 0;
}

static int read_strategies(struct walk *w, int t, struct config *cfg)
{
    lua_State *L = w->L;
    int n = (int)lua_objlen(L, t);
    lua_pushnil(L);
    if (!lua_next(L, t)) return 0; /* strategies = {} */
    lua_pop(L, 2);
    if (!walk_is_list(L, t)) return walk_fail(w, "expected a list of { script = \"...\", ... }");
    if (n > MAX_STRATEGIES) return walk_fail(w, "at most %d strategies", MAX_STRATEGIES);
    cfg->strategies = xcalloc((size_t)n + 1, sizeof *cfg->strategies);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, t, i);
        size_t m = walk_enter_index(w, i);
        int rc = lua_istable(L, -1)
                     ? read_strategy(w, lua_gettop(L), &cfg->strategies[cfg->nstrategies++])
                     : walk_fail(w, "expected { script = \"...\", ... }");
        walk_leave(w, m);
        lua_pop(L, 1);
        if (rc) return -1;
    }
    return 0;
}

static int read_sandbox(struct walk *w, int t, struct config *cfg)
{
    static const char *keys[] = {"memory_mb", "callback_ms", "load_ms",      "script_kb",
                                 "jit",       "max_errors",  "error_window", NULL};
    double mem = (double)(cfg->memory_limit >> 20), cb = (double)cfg->callback_budget_us / 1000,
           ld = (double)cfg->load_budget_us / 1000, kb = (double)(cfg->script_limit >> 10);
    int64_t maxerr = cfg->max_errors;
    char *jit = NULL;
    if (walk_check_keys(w, t, keys) || walk_num(w, t, "memory_mb", &mem, 1, 4096) ||
        walk_num(w, t, "callback_ms", &cb, 0.1, 60000) ||
        walk_num(w, t, "load_ms", &ld, 1, 600000) || walk_num(w, t, "script_kb", &kb, 1, 16384) ||
        walk_integer(w, t, "max_errors", &maxerr, 0, 1e6) ||
        walk_duration(w, t, "error_window", &cfg->error_window_us) || walk_str(w, t, "jit", &jit))
        return -1;
    if (jit && strcmp(jit, "auto") && strcmp(jit, "off")) {
        free(jit);
        size_t m = walk_enter(w, "jit");
        walk_fail(w, "expected \"auto\" (JIT when the probe passes) or \"off\"");
        walk_leave(w, m);
        return -1;
    }
    if (jit) cfg->jit = !strcmp(jit, "auto");
    free(jit);
    cfg->memory_limit = (size_t)(mem * 1048576);
    cfg->callback_budget_us = (int64_t)(cb * 1000);
    cfg->load_budget_us = (int64_t)(ld * 1000);
    cfg->script_limit = (size_t)(kb * 1024);
    cfg->max_errors = (int)maxerr;
    return 0;
}

/* record = "DIR" (recording on, record.h) or false (off, as when absent). */
static int read_record(struct walk *w, int t, struct config *cfg)
{
    int type = walk_get(w, t, "record");
    int rc = 0;
    size_t m = walk_enter(w, "record");
    if (type == LUA_TSTRING && lua_objlen(w->L, -1) > 0)
        cfg->record_dir = xstrdup(lua_tostring(w->L, -1));
    else if (type != LUA_TNIL && !(type == LUA_TBOOLEAN && !lua_toboolean(w->L, -1)))
        rc = walk_fail(w, "expected a directory (a string like \"var/record/\") or false, got %s",
                       type == LUA_TSTRING    ? "an empty string"
                       : type == LUA_TBOOLEAN ? "true"
                                              : lua_typename(w->L, type));
    walk_leave(w, m);
    lua_pop(w->L, 1);
    return rc;
}

static int read_root(struct walk *w, int t, struct config *cfg)
{
    static const char *keys[] = {
        "seed",    "mode",   "clock", "start",  "scripts",   "feed",    "strategies",
        "sandbox", "market", "log",   "reload", "fail_fast", "account", "venue",
        "journal", "risk",   "http",  "ws",     "console",   "record",  NULL};
    if (walk_check_keys(w, t, keys) || read_record(w, t, cfg)) return -1;
    int64_t seed = (int64_t)cfg->seed;
    char *clock = NULL, *start = NULL;
    if (walk_integer(w, t, "seed", &seed, 0, 9007199254740991.0) ||
        walk_str(w, t, "mode", &cfg->mode) || walk_str(w, t, "clock", &clock) ||
        walk_str(w, t, "start", &start) || walk_str(w, t, "scripts", &cfg->scripts_dir) ||
        walk_boolean(w, t, "fail_fast", &cfg->fail_fast))
        goto fail;
    cfg->seed = (uint64_t)seed;
    if (clock && strcmp(clock, "wall") && strcmp(clock, "sim")) {
        size_t m = walk_enter(w, "clock");
        walk_fail(w, "expected \"wall\" (live) or \"sim\" (simulated, as fast as possible)");
        walk_leave(w, m);
        goto fail;
    }
    cfg->sim_clock = clock && !strcmp(clock, "sim");
    if (start) {
        struct tm tm = {0};
        char *end = strptime(start, "%Y-%m-%dT%H:%M:%SZ", &tm);
        size_t m = walk_enter(w, "start");
        if (!end || *end) {
            walk_fail(w, "expected a UTC time like \"2026-01-05T14:30:00Z\"");
            walk_leave(w, m);
            goto fail;
        }
        walk_leave(w, m);
        cfg->start_us = (int64_t)timegm(&tm) * 1000000;
    }
    if (cfg->mode && strcmp(cfg->mode, "paper") && strcmp(cfg->mode, "live")) {
        size_t m = walk_enter(w, "mode");
        walk_fail(w, "expected \"paper\" or \"live\"");
        walk_leave(w, m);
        goto fail;
    }
    static const char *sections[] = {"feed",   "strategies", "sandbox", "market",  "log",
                                     "reload", "account",    "venue",   "journal", "risk",
                                     "http",   "ws",         "console"};
    for (size_t i = 0; i < ARRAY_LEN(sections); i++) {
        int s = walk_subtable(w, t, sections[i]);
        if (s < 0) goto fail;
        if (s == 0) continue;
        size_t m = walk_enter(w, sections[i]);
        int rc;
        static const char *market_keys[] = {"history", NULL};
        static const char *log_keys[] = {"level", "file", NULL};
        static const char *reload_keys[] = {"watch", "debounce_ms", NULL};
        int64_t hist = cfg->bar_history, deb = cfg->reload_debounce_ms;
        char *level = NULL;
        switch (i) {
        case 0:
            rc = read_feed(w, s, cfg);
            break;
        case 1:
            rc = read_strategies(w, s, cfg);
            break;
        case 2:
            rc = read_sandbox(w, s, cfg);
            break;
        case 3:
            rc = walk_check_keys(w, s, market_keys) ||
                 walk_integer(w, s, "history", &hist, 1, 100000);
            cfg->bar_history = (int)hist;
            break;
        case 4:
            rc = walk_check_keys(w, s, log_keys) || walk_str(w, s, "level", &level) ||
                 walk_str(w, s, "file", &cfg->log_file);
            if (!rc && level) {
                cfg->log_level = log_level_parse(level);
                if (cfg->log_level < 0) {
                    size_t m2 = walk_enter(w, "level");
                    rc = walk_fail(w, "expected debug, info, warn or error");
                    walk_leave(w, m2);
                }
            }
            free(level);
            break;
        case 5:
            rc = walk_check_keys(w, s, reload_keys) || walk_boolean(w, s, "watch", &cfg->watch) ||
                 walk_integer(w, s, "debounce_ms", &deb, 1, 60000);
            cfg->reload_debounce_ms = (int)deb;
            break;
        case 6:
            rc = read_account(w, s, cfg);
            break;
        case 7:
            rc = read_venue(w, s, cfg);
            break;
        case 8:
            rc = read_journal(w, s, cfg);
            break;
        case 9:
            rc = read_risk(w, s, cfg);
            break;
        case 10:
            rc = read_http(w, s, cfg);
            break;
        case 11:
            rc = read_ws(w, s, cfg);
            break;
        default:
            rc = read_console(w, s, cfg);
            break;
        }
        walk_leave(w, m);
        lua_pop(w->L, 1);
        if (rc) goto fail;
    }
    free(clock);
    free(start);
    return 0;
fail:
    free(clock);
    free(start);
    return -1;
}

struct walk_job {
    struct walk *w;
    struct config *cfg;
    int rc;
};

/* The config table is argument 1. */
static int walk_step(lua_State *L, void *ud)
{
    struct walk_job *job = ud;
    job->w->L = L;
    job->rc = read_root(job->w, 1, job->cfg);
    return 0;
}

static void defaults(struct config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = 42;
    cfg->feed_rate = 1000;
    cfg->feed_trade_ratio = 0.3;
    cfg->feed_seed = 0; /* 0: the host seed */
    cfg->memory_limit = SBX_DEFAULT_MEMORY;
    cfg->callback_budget_us = SBX_DEFAULT_CALL_US;
    cfg->load_budget_us = SBX_DEFAULT_LOAD_US;
    cfg->script_limit = SBX_DEFAULT_SCRIPT;
    cfg->jit = 1;
    cfg->max_errors = 10;
    cfg->error_window_us = 60000000;
    cfg->bar_history = 500;
    cfg->log_level = LOG_INFO;
    cfg->reload_debounce_ms = 50;
    cfg->watch = 1;
    cfg->start_us = 1767625200000000LL; /* 2026-01-05T15:00:00Z */
    cfg->cash = 1000000;
    cfg->session_end_min = 16 * 60;
    cfg->journal_enabled = 1;
    cfg->journal_sync = 1;
    cfg->commission_per_share = 0.005;
    cfg->slippage_bps = 1;
    cfg->http_enabled = 1;
    cfg->http_rate = 100;
    cfg->http_burst = 200;
    cfg->console_enabled = 1;
    cfg->console_budget_us = 1000000;
    cfg->console_max_sessions = 16;
    struct risk_config rc;
    risk_config_defaults(&rc);
    cfg->risk = rc.global;
    memcpy(cfg->alert_at, rc.alert_at, sizeof cfg->alert_at);
    risk_config_free(&rc);
}

int config_load_text(const char *name, const char *text, size_t len, struct sbx_watchdog *wd,
                     struct config *cfg, struct err *e)
{
    defaults(cfg);
    cfg->path = xstrdup(name);
    struct sbx_config sc = {.name = "config",
                            .memory_limit = 16u << 20,
                            .call_budget_us = 1000000,
                            .load_budget_us = 1000000,
                            .script_limit = CONFIG_MAX_BYTES,
                            .wd = wd,
                            .jit = 0};
    struct sbx *s = sbx_new(&sc, e);
    if (!s) {
        config_free(cfg);
        return -1;
    }
    struct sbx_error se;
    int rc = -1;
    if (sbx_load(s, text, len, name, &se) != SBX_OK ||
        sbx_call(s, 0, 1, SBX_BUDGET_CALL, &se) != SBX_OK) {
        if (se.line > 0 && strncmp(se.message, name, strlen(name)) != 0)
            err_set(e, "%s:%d: %s", se.file, se.line, se.message);
        else err_set(e, "%s", se.message);
        goto done;
    }
    if (!lua_istable(sbx_lua(s), -1)) {
        err_set(e, "%s: the file must return a table (got %s)", name,
                luaL_typename(sbx_lua(s), -1));
        goto done;
    }
    struct walk w = {.file = name, .e = e};
    struct walk_job job = {&w, cfg, 0};
    if (sbx_host_step(s, walk_step, &job, 1, 0, e) != 0) goto done;
    rc = job.rc;
done:
    sbx_free(s);
    if (rc != 0) config_free(cfg);
    return rc;
}

int config_load(const char *path, struct sbx_watchdog *wd, struct config *cfg, struct err *e)
{
    size_t len;
    char *text = util_read_file(path, CONFIG_MAX_BYTES, &len);
    if (!text) {
        defaults(cfg);
        return err_set(e, "%s: cannot read the config file: %s", path, strerror(errno));
    }
    int rc = config_load_text(path, text, len, wd, cfg, e);
    free(text);
    return rc;
}

void config_free(struct config *cfg)
{
    free(cfg->path);
    free(cfg->mode);
    free(cfg->scripts_dir);
    free(cfg->log_file);
    free(cfg->symbols);
    for (int i = 0; i < cfg->nstrategies; i++) {
        struct config_strategy *s = &cfg->strategies[i];
        free(s->id);
        free(s->script);
        for (int k = 0; k < s->nsymbols; k++) free(s->symbols[k]);
        free(s->symbols);
        params_free(&s->params);
    }
    free(cfg->strategies);
    for (int i = 0; i < cfg->nrestricted; i++) free(cfg->restricted[i]);
    free(cfg->restricted);
    for (int i = 0; i < cfg->http_nhosts; i++) free(cfg->http_hosts[i]);
    free(cfg->http_hosts);
    for (int i = 0; i < cfg->http_norigins; i++) free(cfg->http_origins[i]);
    free(cfg->http_origins);
    free(cfg->http_listen);
    free(cfg->http_token);
    free(cfg->http_web_dir);
    free(cfg->console_socket);
    free(cfg->session_tz);
    free(cfg->record_dir);
    free(cfg->var_dir);
    params_free(&cfg->cli_params);
    memset(cfg, 0, sizeof *cfg);
}

int config_add_strategy_arg(struct config *cfg, const char *arg, struct err *e)
{
    const char *colon = strrchr(arg, ':');
    struct config_strategy s = {0};
    s.script = colon ? xstrndup(arg, (size_t)(colon - arg)) : xstrdup(arg);
    if (!*s.script) {
        free(s.script);
        return err_set(e, "--strategy '%s': expected FILE[:SYM,SYM]", arg);
    }
    if (colon) {
        const char *p = colon + 1;
        while (*p) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            char *sym = xstrndup(p, n);
            if (!instrument_symbol_valid(sym)) {
                err_set(e, "--strategy '%s': '%s' is not a valid symbol", arg, sym);
                free(sym);
                for (int i = 0; i < s.nsymbols; i++) free(s.symbols[i]);
                free(s.symbols);
                free(s.script);
                return -1;
            }
            s.symbols = xrealloc(s.symbols, sizeof *s.symbols * (size_t)(s.nsymbols + 1));
            s.symbols[s.nsymbols++] = sym;
            p += n + (comma ? 1 : 0);
        }
        if (!s.nsymbols) {
            free(s.script);
            return err_set(e, "--strategy '%s': no symbols after ':'", arg);
        }
    }
    cfg->strategies =
        xrealloc(cfg->strategies, sizeof *cfg->strategies * (size_t)(cfg->nstrategies + 1));
    cfg->strategies[cfg->nstrategies++] = s;
    return 0;
}
