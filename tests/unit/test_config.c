/* Unit tests for config: defaults, every section, error messages that name the file, the
 * key path and what was expected, scripts that fail or misbehave in the config sandbox
 * (syntax, runtime, runaway loop, memory bomb, io/os, metatable tricks), and the
 * --strategy FILE[:SYM,SYM] argument. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "sbx.h"
#include "sbx_watchdog.h"
#include "util.h"

static struct sbx_watchdog *wd;

static int setup_wd(void **state)
{
    struct err e;
    log_set_stderr(0);
    wd = sbx_watchdog_new(&e);
    return wd ? 0 : -1;
}

static int teardown_wd(void **state)
{
    sbx_watchdog_free(wd);
    return 0;
}

static int load(const char *text, struct config *cfg, struct err *e)
{
    e->msg[0] = 0;
    return config_load_text("t.lua", text, strlen(text), wd, cfg, e);
}

static void load_ok(const char *text, struct config *cfg)
{
    struct err e;
    if (load(text, cfg, &e) != 0) fail_msg("config_load_text: %s\n%s", e.msg, text);
}

/* Loading text must fail with exactly msg. */
static void load_fails(const char *text, const char *msg)
{
    struct config cfg;
    struct err e;
    if (load(text, &cfg, &e) == 0) {
        config_free(&cfg);
        fail_msg("loaded but should fail: %s", text);
    }
    if (strcmp(e.msg, msg) != 0) fail_msg("for %s\n got: %s\nwant: %s", text, e.msg, msg);
    /* a failed load leaves nothing behind to free */
    assert_null(cfg.path);
    assert_null(cfg.strategies);
    assert_null(cfg.symbols);
}

static void test_defaults(void **state)
{
    struct config cfg;
    load_ok("return {}", &cfg);
    assert_string_equal(cfg.path, "t.lua");
    assert_int_equal(cfg.seed, 42);
    assert_null(cfg.mode);
    assert_int_equal(cfg.sim_clock, 0);
    assert_int_equal(cfg.start_us, 1767625200000000LL);
    assert_null(cfg.scripts_dir);
    assert_true(cfg.feed_rate == 1000);
    assert_true(cfg.feed_trade_ratio == 0.3);
    assert_int_equal(cfg.feed_seed, 0);
    assert_null(cfg.symbols);
    assert_int_equal(cfg.nsymbols, 0);
    assert_null(cfg.strategies);
    assert_int_equal(cfg.nstrategies, 0);
    assert_int_equal(cfg.memory_limit, SBX_DEFAULT_MEMORY);
    assert_int_equal(cfg.callback_budget_us, SBX_DEFAULT_CALL_US);
    assert_int_equal(cfg.load_budget_us, SBX_DEFAULT_LOAD_US);
    assert_int_equal(cfg.script_limit, SBX_DEFAULT_SCRIPT);
    assert_int_equal(cfg.jit, 1);
    assert_int_equal(cfg.max_errors, 10);
    assert_int_equal(cfg.error_window_us, 60000000);
    assert_int_equal(cfg.bar_history, 500);
    assert_int_equal(cfg.log_level, LOG_INFO);
    assert_null(cfg.log_file);
    assert_int_equal(cfg.reload_debounce_ms, 50);
    assert_int_equal(cfg.watch, 1);
    assert_int_equal(cfg.fail_fast, 0);
    config_free(&cfg);
    assert_null(cfg.path);
    config_free(&cfg); /* a freed config is zeroed: freeing again is harmless */

    /* empty sections keep the defaults too */
    load_ok("return { feed = {}, strategies = {}, sandbox = {}, market = {}, log = {}, "
            "reload = {} }",
            &cfg);
    assert_int_equal(cfg.nstrategies, 0);
    assert_int_equal(cfg.nsymbols, 0);
    assert_int_equal(cfg.memory_limit, SBX_DEFAULT_MEMORY);
    config_free(&cfg);
}

static const char full[] =
    "return {\n"
    "  seed = 7, mode = 'live', clock = 'sim', start = '2026-01-05T14:30:00Z',\n"
    "  scripts = 'my/scripts', fail_fast = true,\n"
    "  feed = { kind = 'sim', rate = 50, trade_ratio = 0.5, seed = 99, symbols = {\n"
    "    SPY = { price = 520, vol = 0.15, drift = 0.03, tick = 0.05, lot = 10, spread = 3,\n"
    "            max_lots = 10 },\n"
    "    AAPL = { price = 190 },\n"
    "    MSFT = {},\n"
    "  } },\n"
    "  strategies = {\n"
    "    { script = 'strategies/a.lua' },\n"
    "    { script = 'strategies/b.lua', id = 'b_fast', symbols = { 'NVDA', 'SPY' },\n"
    "      params = { fast = 5, name = 'x', on = true } },\n"
    "  },\n"
    "  sandbox = { memory_mb = 32, callback_ms = 2.5, load_ms = 500, script_kb = 64,\n"
    "              jit = 'off', max_errors = 3, error_window = '30s' },\n"
    "  market = { history = 1000 },\n"
    "  log = { level = 'warn', file = 'x.log' },\n"
    "  reload = { watch = false, debounce_ms = 100 },\n"
    "}\n";

static void test_every_section(void **state)
{
    struct config cfg;
    load_ok(full, &cfg);
    assert_int_equal(cfg.seed, 7);
    assert_string_equal(cfg.mode, "live");
    assert_int_equal(cfg.sim_clock, 1);
    assert_int_equal(cfg.start_us, 1767623400000000LL);
    assert_string_equal(cfg.scripts_dir, "my/scripts");
    assert_int_equal(cfg.fail_fast, 1);

    assert_true(cfg.feed_rate == 50);
    assert_true(cfg.feed_trade_ratio == 0.5);
    assert_int_equal(cfg.feed_seed, 99);
    /* sorted by name, whatever the hash order */
    assert_int_equal(cfg.nsymbols, 3);
    assert_string_equal(cfg.symbols[0].symbol, "AAPL");
    assert_string_equal(cfg.symbols[1].symbol, "MSFT");
    assert_string_equal(cfg.symbols[2].symbol, "SPY");
    assert_true(cfg.symbols[0].price == 190);
    /* per-symbol defaults */
    const struct config_symbol *m = &cfg.symbols[1];
    assert_true(m->price == 100 && m->drift == 0 && m->vol == 0.2 && m->tick == 0.01 &&
                m->lot == 1);
    assert_int_equal(m->spread_ticks, 1);
    assert_int_equal(m->max_lots, 5);
    const struct config_symbol *s = &cfg.symbols[2];
    assert_true(s->price == 520 && s->vol == 0.15 && s->drift == 0.03 && s->tick == 0.05 &&
                s->lot == 10);
    assert_int_equal(s->spread_ticks, 3);
    assert_int_equal(s->max_lots, 10);

    assert_int_equal(cfg.nstrategies, 2);
    const struct config_strategy *a = &cfg.strategies[0], *b = &cfg.strategies[1];
    assert_string_equal(a->script, "strategies/a.lua");
    assert_null(a->id);
    assert_null(a->symbols);
    assert_int_equal(a->params.n, 0);
    assert_string_equal(b->script, "strategies/b.lua");
    assert_string_equal(b->id, "b_fast");
    assert_int_equal(b->nsymbols, 2);
    assert_string_equal(b->symbols[0], "NVDA");
    assert_string_equal(b->symbols[1], "SPY");
    assert_int_equal(b->params.n, 3);
    const struct param *p = params_get(&b->params, "fast");
    assert_true(p && p->type == PARAM_NUMBER && p->num == 5);
    p = params_get(&b->params, "name");
    assert_true(p && p->type == PARAM_STRING);
    assert_string_equal(p->str, "x");
    p = params_get(&b->params, "on");
    assert_true(p && p->type == PARAM_BOOL && p->b == 1);

    assert_int_equal(cfg.memory_limit, 32u << 20);
    assert_int_equal(cfg.callback_budget_us, 2500);
    assert_int_equal(cfg.load_budget_us, 500000);
    assert_int_equal(cfg.script_limit, 64u << 10);
    assert_int_equal(cfg.jit, 0);
    assert_int_equal(cfg.max_errors, 3);
    assert_int_equal(cfg.error_window_us, 30000000);
    assert_int_equal(cfg.bar_history, 1000);
    assert_int_equal(cfg.log_level, LOG_WARN);
    assert_string_equal(cfg.log_file, "x.log");
    assert_int_equal(cfg.watch, 0);
    assert_int_equal(cfg.reload_debounce_ms, 100);
    config_free(&cfg);

    /* the other spellings: clock wall, mode paper, jit auto, a duration in seconds */
    load_ok("return { clock = 'wall', mode = 'paper', sandbox = { jit = 'auto', "
            "error_window = 1.5 }, log = { level = 'DEBUG' } }",
            &cfg);
    assert_int_equal(cfg.sim_clock, 0);
    assert_string_equal(cfg.mode, "paper");
    assert_int_equal(cfg.jit, 1);
    assert_int_equal(cfg.error_window_us, 1500000);
    assert_int_equal(cfg.log_level, LOG_DEBUG);
    config_free(&cfg);
}

static void test_shipped_default(void **state)
{
    const char *src = getenv("LUATRADE_SRC");
    char path[4096];
    snprintf(path, sizeof path, "%s/config/default.lua", src ? src : ".");
    struct config cfg;
    struct err e;
    if (config_load(path, wd, &cfg, &e) != 0) fail_msg("%s", e.msg);
    assert_int_equal(cfg.nsymbols, 4);
    assert_string_equal(cfg.symbols[0].symbol, "AAPL");
    assert_string_equal(cfg.symbols[3].symbol, "SPY");
    assert_int_equal(cfg.nstrategies, 4);
    config_free(&cfg);

    assert_int_equal(config_load("/nonexistent/luatrade.lua", wd, &cfg, &e), -1);
    assert_string_equal(e.msg, "/nonexistent/luatrade.lua: cannot read the config file: No "
                               "such file or directory");
}

static void test_key_errors(void **state)
{
    load_fails("return { sed = 1 }",
               "t.lua: unknown key 'sed' (expected one of: seed, mode, clock, start, scripts, "
               "feed, strategies, sandbox, market, log, reload, fail_fast, account, venue, "
               "journal, risk, http, ws, console, record)");
    load_fails("return { [1] = 1 }",
               "t.lua: unknown key a number key (expected one of: seed, mode, clock, start, "
               "scripts, feed, strategies, sandbox, market, log, reload, fail_fast, account, "
               "venue, journal, risk, http, ws, console, record)");
    load_fails("return { feed = { rat = 1 } }",
               "t.lua: feed: unknown key 'rat' (expected one of: kind, rate, trade_ratio, seed, "
               "symbols)");
    load_fails("return { feed = { symbols = { AAPL = { prize = 1 } } } }",
               "t.lua: feed.symbols.AAPL: unknown key 'prize' (expected one of: price, drift, "
               "vol, tick, lot, spread, max_lots)");
    load_fails("return { sandbox = { memory = 1 } }",
               "t.lua: sandbox: unknown key 'memory' (expected one of: memory_mb, callback_ms, "
               "load_ms, script_kb, jit, max_errors, error_window)");
    load_fails("return { market = { hist = 1 } }",
               "t.lua: market: unknown key 'hist' (expected one of: history)");
    load_fails("return { log = { lvl = 1 } }",
               "t.lua: log: unknown key 'lvl' (expected one of: level, file)");
    load_fails("return { reload = { wtach = 1 } }",
               "t.lua: reload: unknown key 'wtach' (expected one of: watch, debounce_ms)");
    load_fails("return { strategies = { { script = 'a.lua', param = {} } } }",
               "t.lua: strategies[1]: unknown key 'param' (expected one of: script, id, "
               "symbols, params, risk)");
}

/* account, venue, journal and risk: values, ranges and choices. */
static void test_trading_sections(void **state)
{
    (void)state;
    struct config cfg;
    load_ok("return { account = { cash = 5e5, mark = 'mid', session_end = '15:30', tz = 'UTC' },"
            "  venue = { slippage_bps = 2, fill_on_touch = true, latency_ms = 5 },"
            "  journal = { sync = false },"
            "  risk = { max_order_qty = 100, price_band_pct = 2.5, restricted = { 'GME' },"
            "           alerts = { low = 0.4, medium = 0.6, high = 0.8, critical = 0.95 } },"
            "  strategies = { { script = 'a.lua', risk = { max_position = 7 } } } }",
            &cfg);
    assert_true(cfg.cash == 5e5 && cfg.mark_mid == 1 && cfg.session_end_min == 15 * 60 + 30);
    assert_string_equal(cfg.session_tz, "UTC");
    assert_true(cfg.slippage_bps == 2 && cfg.fill_on_touch == 1 && cfg.latency_ms == 5);
    assert_int_equal(cfg.journal_sync, 0);
    assert_int_equal(cfg.journal_enabled, 1);
    assert_true(cfg.risk.max_order_qty == 100 && cfg.risk.price_band_pct == 2.5);
    assert_int_equal(cfg.nrestricted, 1);
    assert_string_equal(cfg.restricted[0], "GME");
    assert_true(cfg.alert_at[SEV_HIGH] == 0.8);
    assert_true(cfg.strategies[0].has_risk && cfg.strategies[0].risk.max_position == 7);
    config_free(&cfg);
    load_fails("return { account = { mark = 'close' } }",
               "t.lua: account.mark: expected \"last\" (last trade) or \"mid\" (quote midpoint)");
    load_fails("return { account = { session_end = '25:00' } }",
               "t.lua: account.session_end: expected a time of day like \"16:00\"");
    load_fails("return { venue = { kind = 'alpaca' } }",
               "t.lua: venue.kind: expected \"paper\" (the only venue so far)");
    load_fails("return { risk = { max_order_qty = -1 } }",
               "t.lua: risk.max_order_qty: expected a number from 0 to 1e+15, got out of range");
    load_fails("return { risk = { max_order_qty = 0/0 } }",
               "t.lua: risk.max_order_qty: expected a number from 0 to 1e+15, got out of range");
    load_fails("return { risk = { restricted = { 1 } } }",
               "t.lua: risk.restricted[1]: expected a symbol name");
    load_fails("return { strategies = { { script = 'a.lua', risk = { restricted = {} } } } }",
               "t.lua: strategies[1].risk: unknown key 'restricted' (expected one of: "
               "max_order_qty, max_order_notional, price_band_pct, reference_max_age_s, "
               "max_position, max_gross_exposure, max_working_orders, max_orders_per_s, "
               "max_cancels_per_s, duplicate_window_s, daily_loss_limit, max_drawdown, "
               "halt_ratio, stale_feed_s, self_cross)");
}

static void test_console_section(void **state)
{
    (void)state;
    struct config cfg;
    load_ok("return {}", &cfg);
    assert_int_equal(cfg.console_enabled, 1);
    assert_null(cfg.console_socket);
    assert_true(cfg.console_budget_us == 1000000 && cfg.console_max_sessions == 16);
    config_free(&cfg);
    load_ok("return { console = { enabled = false, socket = '/run/lt.sock', budget = '250ms',"
            "  max_sessions = 3 } }",
            &cfg);
    assert_int_equal(cfg.console_enabled, 0);
    assert_string_equal(cfg.console_socket, "/run/lt.sock");
    assert_true(cfg.console_budget_us == 250000 && cfg.console_max_sessions == 3);
    config_free(&cfg);
    load_fails("return { console = { listen = '0.0.0.0:1' } }",
               "t.lua: console: unknown key 'listen' (expected one of: enabled, socket, budget, "
               "max_sessions)");
    load_fails("return { console = { max_sessions = 0 } }",
               "t.lua: console.max_sessions: expected a number from 1 to 1000, got out of range");
}

/* record = "DIR" turns recording on (the path as written); false or absent: off. */
static void test_record_key(void **state)
{
    (void)state;
    struct config cfg;
    load_ok("return {}", &cfg);
    assert_null(cfg.record_dir);
    config_free(&cfg);
    load_ok("return { record = false }", &cfg);
    assert_null(cfg.record_dir);
    config_free(&cfg);
    load_ok("return { record = 'var/record/' }", &cfg);
    assert_string_equal(cfg.record_dir, "var/record/");
    config_free(&cfg);
    assert_null(cfg.record_dir);
    load_fails("return { record = true }", "t.lua: record: expected a directory (a string like "
                                           "\"var/record/\") or false, got true");
    load_fails("return { record = '' }", "t.lua: record: expected a directory (a string like "
                                         "\"var/record/\") or false, got an empty string");
    load_fails("return { record = { dir = 'x' } }",
               "t.lua: record: expected a directory (a string like \"var/record/\") or false, "
               "got table");
}

static void test_http_section(void **state)
{
    (void)state;
    struct config cfg;
    load_ok("return {}", &cfg);
    assert_int_equal(cfg.http_enabled, 1);
    assert_null(cfg.http_listen);
    assert_true(cfg.http_rate == 100 && cfg.http_burst == 200);
    config_free(&cfg);
    load_ok("return { http = { listen = '0.0.0.0:9000', token = 'abc', hosts = { 'box.lan' },"
            "  origins = { 'https://ops.example' }, rate = 5, burst = 10, max_body = 4096,"
            "  max_conns = 8, timeout = '30s', enabled = false } }",
            &cfg);
    assert_string_equal(cfg.http_listen, "0.0.0.0:9000");
    assert_string_equal(cfg.http_token, "abc");
    assert_int_equal(cfg.http_nhosts, 1);
    assert_string_equal(cfg.http_hosts[0], "box.lan");
    assert_string_equal(cfg.http_origins[0], "https://ops.example");
    assert_true(cfg.http_rate == 5 && cfg.http_burst == 10 && cfg.http_max_body == 4096);
    assert_true(cfg.http_max_conns == 8 && cfg.http_timeout_us == 30000000);
    assert_int_equal(cfg.http_enabled, 0);
    config_free(&cfg);
    load_fails("return { http = { hosts = { 'a b' } } }",
               "t.lua: http.hosts[1]: expected a name without spaces (at most 255 bytes)");
    load_fails(
        "return { http = { max_body = 10 } }",
        "t.lua: http.max_body: expected a number from 1024 to 1.07374e+09, got out of range");
    load_fails("return { http = { port = 1 } }",
               "t.lua: http: unknown key 'port' (expected one of: enabled, listen, token, hosts, "
               "origins, web, rate, burst, max_body, max_conns, timeout)");
}

static void test_type_and_range_errors(void **state)
{
    load_fails("return { feed = { rate = 'x' } }",
               "t.lua: feed.rate: expected a number from 0.001 to 1e+07, got string");
    load_fails("return { feed = { rate = 0/0 } }",
               "t.lua: feed.rate: expected a number from 0.001 to 1e+07, got out of range");
    load_fails("return { sandbox = { memory_mb = 0 } }",
               "t.lua: sandbox.memory_mb: expected a number from 1 to 4096, got out of range");
    load_fails("return { sandbox = { max_errors = 1.5 } }",
               "t.lua: sandbox.max_errors: expected an integer");
    load_fails("return { seed = -1 }", "t.lua: seed: expected a number from 0 to "
                                       "9.0072e+15, got out of range");
    load_fails("return { feed = 5 }", "t.lua: feed: expected a table, got number");
    load_fails("return { mode = 1 }", "t.lua: mode: expected a string, got number");
    load_fails("return { fail_fast = 1 }", "t.lua: fail_fast: expected true or false, got number");
    load_fails("return { reload = { watch = 'yes' } }",
               "t.lua: reload.watch: expected true or false, got string");
    load_fails("return { feed = { kind = 'csv' } }",
               "t.lua: feed.kind: unknown feed kind 'csv' (available: sim)");
    load_fails("return { feed = { symbols = { ['BAD SYM'] = {} } } }",
               "t.lua: feed.symbols.BAD SYM: 'BAD SYM' is not a valid symbol");
    load_fails("return { feed = { symbols = { 'AAPL' } } }",
               "t.lua: feed.symbols: expected SYMBOL = { price = ..., ... } entries");
    load_fails("return { feed = { symbols = { AAPL = { tick = 0.0000000001 } } } }",
               "t.lua: feed.symbols.AAPL.tick: expected a number from 1e-09 to 1e+06, got out "
               "of range");
    load_fails("return { feed = { symbols = { AAPL = { tick = 0.0123456789 } } } }",
               "t.lua: feed.symbols.AAPL: tick must have at most 9 decimals");
    load_fails("return { log = { level = 'loud' } }",
               "t.lua: log.level: expected debug, info, warn or error");
    load_fails("return { market = { history = 0 } }",
               "t.lua: market.history: expected a number from 1 to 100000, got out of range");

    const char *durations[] = {"'10 parsecs'", "''", "'-1s'", "0", "-1", "true", "1e12"};
    for (size_t i = 0; i < ARRAY_LEN(durations); i++) {
        char text[128];
        snprintf(text, sizeof text, "return { sandbox = { error_window = %s } }", durations[i]);
        load_fails(text, "t.lua: sandbox.error_window: expected a positive duration like "
                         "\"10ms\", \"60s\" or a number of seconds");
    }
    load_fails("return { clock = 'fast' }",
               "t.lua: clock: expected \"wall\" (live) or \"sim\" (simulated, as fast as "
               "possible)");
    load_fails("return { mode = 'real' }", "t.lua: mode: expected \"paper\" or \"live\"");
    load_fails("return { sandbox = { jit = 'on' } }",
               "t.lua: sandbox.jit: expected \"auto\" (JIT when the probe passes) or \"off\"");
    load_fails("return { start = '2026-01-05' }",
               "t.lua: start: expected a UTC time like \"2026-01-05T14:30:00Z\"");
    load_fails("return { start = '2026-01-05T14:30:00Z trailing' }",
               "t.lua: start: expected a UTC time like \"2026-01-05T14:30:00Z\"");
}

static void test_strategy_errors(void **state)
{
    load_fails("return { strategies = { { id = 'x' } } }",
               "t.lua: strategies[1]: script is required (a path to a .lua file)");
    load_fails("return { strategies = { { script = 'a.lua' }, 'b.lua' } }",
               "t.lua: strategies[2]: expected { script = \"...\", ... }");
    load_fails("return { strategies = { { script = 'a.lua', symbols = 'AAPL' } } }",
               "t.lua: strategies[1].symbols: expected a table, got string");
    load_fails("return { strategies = { { script = 'a.lua', symbols = { 'AAPL', 5 } } } }",
               "t.lua: strategies[1].symbols[2]: expected a symbol name");
    load_fails("return { strategies = { { script = 1 } } }",
               "t.lua: strategies[1].script: expected a string, got number");
    load_fails("return { strategies = { { script = 'a.lua', params = { f = {} } } } }",
               "t.lua: strategies[1].params.f: expected a number, string or boolean");
    load_fails("return { strategies = { { script = 'a.lua', params = { 'x' } } } }",
               "t.lua: strategies[1].params: parameter names must be strings");
    load_fails("return { strategies = 'a.lua' }",
               "t.lua: strategies: expected a table, got string");
}

static void test_script_errors(void **state)
{
    load_fails("return 5", "t.lua: the file must return a table (got number)");
    load_fails("", "t.lua: the file must return a table (got nil)");
    load_fails("return {\n  seed = ,\n}", "t.lua:2: unexpected symbol near ','");
    load_fails("local x\nlocal y = 1\nreturn x.y", "t.lua:3: attempt to index local 'x' (a nil "
                                                   "value)");
    load_fails("error('nope')", "t.lua:1: nope");
    load_fails("os.execute('touch /tmp/luatrade-config-escape')\nreturn {}",
               "t.lua:1: attempt to index global 'os' (a nil value)");
    load_fails("return io.open('/etc/passwd')",
               "t.lua:1: attempt to index global 'io' (a nil value)");
    /* no module directories: require finds nothing (not a tail call, so the line shows) */
    load_fails("local os = require('os')\nreturn {}",
               "t.lua:1: module 'os' not found (searched nowhere)");
    load_fails("return { loadstring = loadstring('return 1') }",
               "t.lua:1: attempt to call global 'loadstring' (a nil value)");
}

static void test_runaway_config(void **state)
{
    struct config cfg;
    struct err e;
    int64_t t0 = wall_us();
    assert_int_equal(load("while true do end", &cfg, &e), -1);
    int64_t took = wall_us() - t0;
    assert_true(took < 2000000);
    assert_true(took >= 900000); /* the budget is 1 s */
    assert_memory_equal(e.msg, "t.lua:1: CPU budget of 1000 ms exceeded (stopped after ", 55);

    /* pcall cannot swallow the kill */
    t0 = wall_us();
    assert_int_equal(load("while true do pcall(function() while true do end end) end", &cfg, &e),
                     -1);
    assert_true(wall_us() - t0 < 2000000);
    assert_memory_equal(e.msg, "t.lua:1: CPU budget of 1000 ms exceeded (stopped after ", 55);

    /* a memory bomb is refused by the 16 MB cap, even under pcall */
    assert_int_equal(load("local s = string.rep('x', 1e9)\nreturn {}", &cfg, &e), -1);
    assert_string_equal(e.msg, "memory limit of 16 MB reached");
    assert_int_equal(load("local t = {}\nfor i = 1, 40 do t[i] = string.rep('y', 1e6) .. i end\n"
                          "return {}",
                          &cfg, &e),
                     -1);
    assert_string_equal(e.msg, "t.lua:2: memory limit of 16 MB reached");
    assert_int_equal(load("pcall(string.rep, 'x', 1e9)\nreturn {}", &cfg, &e), -1);
    assert_string_equal(e.msg, "memory limit of 16 MB reached");
}

/* The walker uses raw access: a metatable on the returned table never runs. */
static void test_metatable_tricks(void **state)
{
    struct config cfg;
    int64_t t0 = wall_us();
    load_ok("return setmetatable({}, { __index = function() while true do end end })", &cfg);
    assert_true(wall_us() - t0 < 500000);
    assert_int_equal(cfg.seed, 42);
    config_free(&cfg);
    load_ok("return setmetatable({}, { __index = { seed = 7, mode = 'live' } })", &cfg);
    assert_int_equal(cfg.seed, 42);
    assert_null(cfg.mode);
    config_free(&cfg);
    load_ok("return { feed = setmetatable({}, { __index = function() error('ran') end }) }", &cfg);
    assert_true(cfg.feed_rate == 1000);
    config_free(&cfg);
    /* __len on the strategies list is not consulted either (LuaJIT 5.1 ignores it) */
    load_ok("return { strategies = setmetatable({}, { __len = function() return 3 end }) }", &cfg);
    assert_int_equal(cfg.nstrategies, 0);
    config_free(&cfg);
}

/* A list that is not a sequence must not be read as its sequence part: a typo would
 * leave a strategy with no symbols at all or drop strategies. */
static void test_lists_must_be_sequences(void **state)
{
    load_fails("return { strategies = { { script = 'a.lua', symbols = { x = 'AAPL' } } } }",
               "t.lua: strategies[1].symbols: expected a list of symbol names");
    load_fails("return { strategies = { { script = 'a.lua', symbols = {} } } }",
               "t.lua: strategies[1].symbols: expected a list of symbol names");
    load_fails("return { strategies = { main = { script = 'a.lua' } } }",
               "t.lua: strategies: expected a list of { script = \"...\", ... }");
}

static void test_strategy_arg(void **state)
{
    struct config cfg = {0};
    struct err e = {{0}};
    assert_int_equal(config_add_strategy_arg(&cfg, "f.lua", &e), 0);
    assert_int_equal(config_add_strategy_arg(&cfg, "g.lua:AAPL,MSFT", &e), 0);
    assert_int_equal(cfg.nstrategies, 2);
    assert_string_equal(cfg.strategies[0].script, "f.lua");
    assert_null(cfg.strategies[0].symbols);
    assert_null(cfg.strategies[0].id);
    assert_string_equal(cfg.strategies[1].script, "g.lua");
    assert_int_equal(cfg.strategies[1].nsymbols, 2);
    assert_string_equal(cfg.strategies[1].symbols[0], "AAPL");
    assert_string_equal(cfg.strategies[1].symbols[1], "MSFT");

    assert_int_equal(config_add_strategy_arg(&cfg, "f.lua:", &e), -1);
    assert_string_equal(e.msg, "--strategy 'f.lua:': no symbols after ':'");
    assert_int_equal(config_add_strategy_arg(&cfg, "f.lua:BAD SYM", &e), -1);
    assert_string_equal(e.msg, "--strategy 'f.lua:BAD SYM': 'BAD SYM' is not a valid symbol");
    assert_int_equal(config_add_strategy_arg(&cfg, "f.lua:AAPL,,MSFT", &e), -1);
    assert_string_equal(e.msg, "--strategy 'f.lua:AAPL,,MSFT': '' is not a valid symbol");
    assert_int_equal(config_add_strategy_arg(&cfg, ":AAPL", &e), -1);
    assert_string_equal(e.msg, "--strategy ':AAPL': expected FILE[:SYM,SYM]");
    assert_int_equal(config_add_strategy_arg(&cfg, "", &e), -1);
    assert_string_equal(e.msg, "--strategy '': expected FILE[:SYM,SYM]");
    assert_int_equal(cfg.nstrategies, 2); /* failures add nothing */

    /* appends to a loaded config */
    config_free(&cfg);
    load_ok("return { strategies = { { script = 'a.lua' } } }", &cfg);
    assert_int_equal(config_add_strategy_arg(&cfg, "b.lua:SPY", &e), 0);
    assert_int_equal(cfg.nstrategies, 2);
    assert_string_equal(cfg.strategies[0].script, "a.lua");
    assert_string_equal(cfg.strategies[1].symbols[0], "SPY");
    config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),         cmocka_unit_test(test_every_section),
        cmocka_unit_test(test_shipped_default),  cmocka_unit_test(test_key_errors),
        cmocka_unit_test(test_trading_sections), cmocka_unit_test(test_http_section),
        cmocka_unit_test(test_console_section),  cmocka_unit_test(test_type_and_range_errors),
        cmocka_unit_test(test_strategy_errors),  cmocka_unit_test(test_script_errors),
        cmocka_unit_test(test_runaway_config),   cmocka_unit_test(test_metatable_tricks),
        cmocka_unit_test(test_strategy_arg),     cmocka_unit_test(test_lists_must_be_sequences),
        cmocka_unit_test(test_record_key),
    };
    return cmocka_run_group_tests(tests, setup_wd, teardown_wd);
}
