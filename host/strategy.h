/* strategy.h: strategy instances (DESIGN.md §6, §7): loading a script into a sandbox,
 * its declaration, starting and stopping, event dispatch, faults and hot reload.
 *
 * An instance has an id (unique in the host), a script path, symbol and parameter
 * overrides from the operator, and at any time at most one live sandbox: the current
 * version. Status: STOPPED (not started, or stopped), RUNNING, FAULTED (stopped by the
 * host after a CPU, memory or error-storm fault; its state is kept and a successful
 * reload brings it back).
 *
 * Dispatch: the set subscribes to the bus and calls on_quote/on_trade/on_bar for the
 * symbols (and bar timeframes) each running instance declared, on_event for CUSTOM
 * events and other instances' signals, on_alert for alerts, on_timer for its timers.
 * Every call runs under the sandbox's CPU budget. A runtime error is reported
 * (STRATEGY_ERROR event and log line with file:line) and counted; CPU and memory
 * faults, and more than max_errors errors within error_window, fault the instance
 * alone.
 *
 * Reload is a transaction (DESIGN.md §7): a new sandbox loads the new text and
 * declares; `state` is copied (sbx_serial.h) and on_reload(old_version) runs; only when
 * all of that succeeded is it swapped in, between two events. Timers belong to a
 * version and die with it. On failure the old version keeps running and the error is
 * reported with file and line. */
#ifndef LUATRADE_STRATEGY_H
#define LUATRADE_STRATEGY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "param.h"

struct host;
struct strategy;
struct strategies;
struct metrics_hist;

enum strategy_status { STRATEGY_STOPPED, STRATEGY_RUNNING, STRATEGY_FAULTED };

struct strategy_spec {
    const char *id;             /* NULL: the declared name (made unique with "#2", ...) */
    const char *script;         /* path to the .lua file */
    const char *const *symbols; /* NULL: the declaration's (or every symbol) */
    int nsymbols;
    const struct params *params; /* overrides; may be NULL */
    const struct params *extra;  /* command-line overrides: applied when declared */
};

struct strategy_limits {
    size_t memory_limit;
    int64_t call_budget_us, load_budget_us;
    size_t script_limit;
    int max_errors;
    int64_t error_window_us;
};

const char *strategy_status_name(enum strategy_status s);

struct strategies *strategies_new(struct host *h, const struct strategy_limits *limits);
/* Stops running instances with on_stop("shutdown") and frees everything. */
void strategies_free(struct strategies *ss);

/* Creates an instance: reads and loads the script, runs its declaration, applies the
 * overrides. It is not started. Returns it, or NULL with e filled (file:line). */
struct strategy *strategies_add(struct strategies *ss, const struct strategy_spec *spec,
                                struct err *e);
/* Starts (on_start) every instance that is stopped. Returns how many failed. */
int strategies_start_all(struct strategies *ss);
/* Stops every running instance with on_stop(reason). */
void strategies_stop_all(struct strategies *ss, const char *reason);

int strategy_start(struct strategy *st, struct err *e);
void strategy_stop(struct strategy *st, const char *reason);
/* The reload transaction. Must not be called during a dispatch (it is called from the
 * loop: file watcher, console, REST). Returns 0 or -1 with e filled. */
int strategy_reload(struct strategy *st, struct err *e);
/* reload(name): the entry point the console and REST call. Returns 0, or -1 with e
 * filled (unknown id, or why the reload failed; the old version keeps running). */
int strategies_reload(struct strategies *ss, const char *id, struct err *e);
/* A watched file changed: reloads the instances whose script it is, or that required
 * it as a module. */
void strategies_file_changed(struct strategies *ss, const char *path);

int strategies_count(const struct strategies *ss);
struct strategy *strategies_at(struct strategies *ss, int i);
struct strategy *strategies_find(struct strategies *ss, const char *id);

const char *strategy_id(const struct strategy *st);
const char *strategy_script(const struct strategy *st);
/* The directory of the instance's script ("." for a bare file name) into out. */
void strategy_script_dir(const struct strategy *st, char *out, size_t n);
enum strategy_status strategy_status(const struct strategy *st);
unsigned strategy_version(const struct strategy *st);
const char *strategy_sha256(const struct strategy *st);     /* hex */
const char *strategy_last_error(const struct strategy *st); /* "" when none */
uint64_t strategy_calls(const struct strategy *st);
uint64_t strategy_errors(const struct strategy *st);
/* Time of every call into the instance's sandboxes (metrics.h), and the memory its loaded
 * sandbox uses now (0 when not loaded) and may use, in bytes. For /metrics. */
const struct metrics_hist *strategy_call_hist(const struct strategy *st);
size_t strategy_memory_used(const struct strategy *st);
size_t strategy_memory_limit(const struct strategy *st);

/* 1 when now is inside the window the loaded version declared (always 1 without one;
 * 0 when its time zone cannot be loaded: fail closed). */
int strategy_in_window(struct strategy *st, int64_t now_us);
/* The capital the loaded version declared (0 when none). */
double strategy_capital(const struct strategy *st);
/* The `state` the next start restores (recovery: the journal's last snapshot). */
void strategy_set_saved_state(struct strategy *st, const void *data, size_t len);

/* 1 when the instance's script declares parameter name. */
int strategy_declares_param(const struct strategy *st, const char *name);

/* Loads a script and checks its declaration without a host (luatrade check).
 * Returns 0, or -1 with e filled ("file:line: message"). */
int strategy_check_script(const char *path, const char *scripts_dir, struct err *e);

/* --- administration while the host runs (strategy_admin.c): REST and the console --- */

struct cJSON;

/* Adds an instance like one from the config: strategies_add, then its portfolio
 * account (with the declared capital) and the `state` a previous run journaled under
 * its id. It is not started. The id "manual" is refused (operators' orders use it).
 * Returns it, or NULL with e filled. */
struct strategy *strategies_create(struct strategies *ss, const struct strategy_spec *spec,
                                   struct err *e);

/* Sets parameters: every name must be declared by the script, and every value have
 * the type of its declared default (a finite number for a number). All or nothing:
 * returns 0, or -1 with e naming the first bad one, and then nothing changed. The
 * values replace the loaded version's read-only `params` at once (between two events:
 * must not be called during a dispatch) and are kept as overrides, so reloads and
 * later starts keep them (a host restart goes back to the config's). Logs the change. */
int strategy_set_params(struct strategy *st, const struct params *p, struct err *e);

/* The current values: the declaration's defaults with the overrides applied, into out
 * (a fresh set; free it with params_free). */
void strategy_params(const struct strategy *st, struct params *out);

/* --- the console (repl): evaluating typed code inside an instance --- */

struct sbx;
struct sbx_error;

/* The loaded version's sandbox, or NULL when none is loaded (stopped, faulted). */
struct sbx *strategy_sandbox(struct strategy *st);
/* Calls the function below nargs arguments on the loaded sandbox's stack like one of
 * the instance's callbacks (bus held, counted, orders journaled), under its per-call
 * CPU budget, leaving nresults (LUA_MULTRET allowed). What the code prints or logs also
 * goes to echo(ud, ...) (echo may be NULL). A failure is only returned (and logged):
 * the code was the operator's, so the instance is neither faulted nor charged an error.
 * The events the call made are delivered before it returns, and one of the instance's
 * own callbacks may fault it then: the caller must check strategy_sandbox(st) is still
 * the sandbox it called before touching that sandbox again. */
enum sbx_status strategy_console_call(struct strategy *st, int nargs, int nresults,
                                      void (*echo)(void *ud, const char *p, size_t n), void *ud,
                                      struct sbx_error *se);

/* {id, script, status ("RUNNING", "STOPPED", "FAULTED"), version, sha256, symbols,
 *  params, last_reload ({ts, ok, error} or null), last_error, calls, errors,
 *  memory_bytes, loaded_at}: what REST and the page show. The caller owns it. */
struct cJSON *strategy_json(const struct strategy *st);

#endif
