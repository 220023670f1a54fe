/* config.h: the host configuration: a Lua file evaluated in a sandbox (no I/O, CPU- and
 * memory-bounded) that returns a table, checked field by field. Every problem is
 * reported as "FILE: key.path: what was expected" and the host refuses to start.
 * Unknown keys are errors (a typo must not silently fall back to a default). */
#ifndef LUATRADE_CONFIG_H
#define LUATRADE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "instrument.h"
#include "param.h"
#include "risk.h"

struct sbx_watchdog;

struct config_symbol {
    char symbol[SYMBOL_MAX];
    double price, drift, vol, tick, lot;
    int spread_ticks;
    int64_t max_lots;
};

struct config_strategy {
    char *id; /* NULL: declared name */
    char *script;
    char **symbols; /* NULL: the declaration's */
    int nsymbols;
    struct params params;
    struct risk_limits risk; /* risk = {...}: this strategy's own limits */
    int has_risk;
};

struct config {
    char *path;
    uint64_t seed;
    char *mode;
    int sim_clock;     /* clock = "sim" */
    int64_t start_us;  /* sim clock start */
    char *scripts_dir; /* NULL: next to the binary, else ./scripts */

    /* feed = { kind = "sim", ... } */
    double feed_rate, feed_trade_ratio;
    uint64_t feed_seed;
    struct config_symbol *symbols;
    int nsymbols;

    struct config_strategy *strategies;
    int nstrategies;

    /* sandbox = { ... } */
    size_t memory_limit;
    int64_t callback_budget_us, load_budget_us;
    size_t script_limit;
    int jit; /* 1 auto (probe decides), 0 off */
    int max_errors;
    int64_t error_window_us;

    int bar_history;
    int log_level;
    char *log_file;
    int reload_debounce_ms;
    int watch;     /* hot reload on file change */
    int fail_fast; /* a strategy error stops the host with exit code 1 */

    struct params cli_params; /* --param k=v: applied to the strategies that declare k */
    char *var_dir;            /* --var: runtime data (journal, books); set by the command */
    int backtest;             /* set by `luatrade backtest`: no sim feed, event log or metrics;
                               * a source drives the host (host_set_source) */

    /* account = { cash, mark, session_end, tz } */
    double cash;
    int mark_mid;
    int session_end_min;
    char *session_tz; /* NULL: America/New_York */
    /* venue = { kind = "paper", ... } */
    double slippage_bps, latency_ms, commission_per_share, commission_bps;
    int fill_on_touch;
    /* journal = { enabled, sync } */
    int journal_enabled, journal_sync;
    /* risk = { limits..., restricted, alerts, kill_flatten } */
    struct risk_limits risk;
    char **restricted;
    int nrestricted;
    double alert_at[SEV__COUNT];
    int kill_flatten;
    /* http = { enabled, listen, token, hosts, origins, web, rate, burst, max_body,
     *          max_conns, timeout } (http.h) */
    int http_enabled;
    char *http_listen; /* --listen overrides */
    char *http_token;
    char *http_web_dir;
    char **http_hosts, **http_origins;
    int http_nhosts, http_norigins;
    double http_rate, http_burst;
    int64_t http_max_body, http_max_conns;
    int64_t http_timeout_us;
    /* ws = { max_clients, max_message, queue, stall, ping, pong_timeout, history,
     * history_other } (ws.h, event_log.h); 0 = default */
    int64_t ws_max_clients, ws_max_message, ws_queue, ws_history, ws_history_other;
    int64_t ws_stall_us, ws_ping_us, ws_pong_timeout_us;
    /* console = { enabled, socket, budget, max_sessions } (repl.h) */
    int console_enabled;
    char *console_socket; /* relative paths are under --var; default luatrade.sock */
    int64_t console_budget_us;
    int64_t console_max_sessions;
    /* record = "DIR": record market data there (record.h); NULL: off (absent or false) */
    char *record_dir;
};

/* Loads path into cfg (zeroed first). The sandbox runs under wd. Returns 0, or -1 with
 * e filled. */
int config_load(const char *path, struct sbx_watchdog *wd, struct config *cfg, struct err *e);
/* Loads from text (for tests and the fuzzer); name is used in messages. */
int config_load_text(const char *name, const char *text, size_t len, struct sbx_watchdog *wd,
                     struct config *cfg, struct err *e);
void config_free(struct config *cfg);

/* Adds a strategy entry (from --strategy FILE[:SYM,SYM]). Returns 0 or -1 with e. */
int config_add_strategy_arg(struct config *cfg, const char *arg, struct err *e);

#endif
