/* strategy.c: strategy instances: load, declare, start, stop, dispatch, fault, reload
 * (see strategy.h for the contract, DESIGN.md §6-7 for the rules).
 *
 * A loaded version is a sandbox plus what its declaration resolved to (symbols, bar
 * timeframes, `every`, parameters, callback references). strategy_reload builds a new
 * one beside the current, copies `state` across, runs on_reload, and swaps only when
 * every step succeeded; the swap happens between two events because reload is never
 * called during a dispatch. Timers record the version that made them and are
 * cancelled with it, so an old version's timer never fires after a swap.
 *
 * Dispatch goes through per-symbol routes (the running instances that want that
 * symbol's data), rebuilt lazily whenever an instance changes status or version.
 * Timers live in strategy_timer.c, the reload transaction in strategy_reload.c. */

#include <cjson/cJSON.h>
#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#include <lua.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strategy_internal.h"
#include "bus.h"
#include "config.h"
#include "host.h"
#include "log.h"
#include "market.h"
#include "oms.h"
#include "sbx.h"
#include "sbx_serial.h"
#include "tz.h"
#include "util.h"

const char *const strategy_cb_names[CB__COUNT] = {"on_start",  "on_stop",  "on_quote", "on_trade",
                                                  "on_bar",    "on_timer", "on_event", "on_alert",
                                                  "on_reload", "on_order", "on_fill"};

const char *strategy_status_name(enum strategy_status s)
{
    return s == STRATEGY_RUNNING ? "RUNNING" : s == STRATEGY_FAULTED ? "FAULTED" : "STOPPED";
}

/* ---- versions ------------------------------------------------------------------------ */

static void sha256_hex(const char *text, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void strategy_version_free(struct version *v)
{
    if (v->ctx && v->ctx->st) strategy_cancel_timers(v->ctx->st, v->ctx);
    if (v->ctx && v->ctx->log_dropped) /* drops not yet reported by a later line */
        log_warn("strategy", "log lines dropped (rate limit)", "id=%s dropped=%llu",
                 v->ctx->strategy_id, (unsigned long long)v->ctx->log_dropped);
    sbx_free(v->sbx);
    tz_free(v->window_tz);
    if (v->ctx) {
        strategy_decl_free(&v->ctx->decl);
        free(v->ctx);
    }
    params_free(&v->params);
    free(v->symbols);
    memset(v, 0, sizeof *v);
}

/* Formats "file:line: message" for an sbx error (the message may carry it already). */
void strategy_describe_error(const struct sbx_error *se, char *out, size_t n)
{
    char where[300] = "";
    if (se->file[0] && se->line > 0) snprintf(where, sizeof where, "%s:%d", se->file, se->line);
    else if (se->file[0]) util_strlcpy(where, se->file, sizeof where);
    if (where[0] && strncmp(se->message, where, strlen(where)) != 0)
        snprintf(out, n, "%s: %s", where, se->message);
    else util_strlcpy(out, se->message, n);
}

/* Resolves the declaration of a freshly run script into v. */
static int resolve_decl(struct strategy *st, struct version *v, struct err *e)
{
    const struct strategy_decl *d = &v->ctx->decl;
    struct host *h = st->set->host;
    if (!d->declared) return err_set(e, "%s: the script never calls strategy{...}", st->script);
    if (params_resolve(&d->params, &st->overrides, &v->params, e) != 0)
        return err_prefix(e, "%s", st->id);
    char *const *names = st->sym_override ? st->sym_override : d->symbols;
    int n = st->sym_override ? st->nsym_override : d->nsymbols;
    if (names) {
        v->symbols = xcalloc((size_t)n + 1, sizeof *v->symbols);
        for (int i = 0; i < n; i++) {
            int id = instruments_find(&h->instruments, names[i]);
            if (id >= 0) v->symbols[v->nsymbols++] = id;
            else if (!h->cfg->backtest)
                return err_set(e, "%s: unknown symbol '%s' (not offered by the feed)", st->id,
                               names[i]);
            else /* a backtest's data need not hold every symbol a strategy trades */
                log_warn("strategy", "symbol not in the data", "id=%s symbol=%s", st->id, names[i]);
        }
        if (n > 0 && v->nsymbols == 0)
            return err_set(e, "%s: none of its symbols (%s%s) is in the data", st->id, names[0],
                           n > 1 ? ", ..." : "");
    } else {
        v->symbols = xcalloc((size_t)h->instruments.n + 1, sizeof *v->symbols);
        for (int i = 0; i < h->instruments.n; i++) v->symbols[v->nsymbols++] = i;
    }
    v->bars = d->bars;
    v->every_us = d->every_us;
    return 0;
}

/* Looks up the callbacks the script defined (global functions) and keeps them in the
 * slots table (argument 1). Host step. */
int strategy_resolve_callbacks(lua_State *L, void *ud)
{
    struct version *v = ud;
    for (int i = 0; i < CB__COUNT; i++) {
        sbx_get_global(L, strategy_cb_names[i]);
        int fn = lua_isfunction(L, -1);
        if (!fn && !lua_isnil(L, -1))
            return luaL_error(L, "%s must be a function", strategy_cb_names[i]);
        lua_rawseti(L, 1, API_SLOT_CALLBACKS + i);
        v->cb[i] = fn;
    }
    return 0;
}

int strategy_params_step(lua_State *L, void *ud)
{
    const struct params *ps = ud;
    lua_createtable(L, 0, ps->n);
    for (int i = 0; i < ps->n; i++) {
        const struct param *p = &ps->v[i];
        if (p->type == PARAM_NUMBER) lua_pushnumber(L, p->num);
        else if (p->type == PARAM_BOOL) lua_pushboolean(L, p->b);
        else lua_pushstring(L, p->str ? p->str : "");
        lua_setfield(L, -2, p->name);
    }
    sbx_push_readonly(L, -1);
    sbx_set_global(L, "params");
    lua_pop(L, 1);
    return 0;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Loads the script as version `number`: a fresh sandbox, the API, the main chunk (which
 * declares), parameters and callbacks. Returns 0, or -1 with e ("file:line: msg"). */
int strategy_version_load(struct strategy *st, unsigned number, struct version *v, struct err *e)
{
    struct strategies *ss = st->set;
    struct host *h = ss->host;
    memset(v, 0, sizeof *v);
    size_t len;
    char *text = util_read_file(
        st->script, ss->limits.script_limit ? ss->limits.script_limit : SBX_DEFAULT_SCRIPT, &len);
    if (!text)
        return err_set(e, "%s: cannot read: %s", st->script,
                       errno == EFBIG ? "larger than the script limit" : strerror(errno));
    sha256_hex(text, len, v->sha256);
    struct sbx_config cfg = {
        .name = st->id,
        .memory_limit = ss->limits.memory_limit,
        .call_budget_us = ss->limits.call_budget_us,
        .load_budget_us = ss->limits.load_budget_us,
        .script_limit = ss->limits.script_limit,
        .seed = h->cfg->seed ^ fnv1a(st->id),
        .jit = h->sbx_jit,
        .module_dirs = {st->dir, h->scripts_dir},
        .wd = h->wd,
    };
    if (!strcmp(st->dir, h->scripts_dir)) cfg.module_dirs[1] = NULL;
    int rc = -1;
    v->sbx = sbx_new(&cfg, e);
    if (!v->sbx) goto done;
    v->ctx = xcalloc(1, sizeof *v->ctx);
    v->ctx->host = h;
    v->ctx->st = st;
    v->ctx->version = number;
    util_strlcpy(v->ctx->sha256, v->sha256, sizeof v->ctx->sha256);
    util_strlcpy(v->ctx->strategy_id, st->id, sizeof v->ctx->strategy_id);
    sbx_set_owner(v->sbx, v->ctx);
    if (api_register(v->sbx, h->mode, e) != 0) goto done;
    struct sbx_error se;
    char msg[640];
    if (sbx_load(v->sbx, text, len, st->script, &se) != SBX_OK ||
        strategy_sandbox_call(st, v->sbx, 0, 0, SBX_BUDGET_LOAD, &se) != SBX_OK) {
        strategy_describe_error(&se, msg, sizeof msg);
        err_set(e, "%s", msg);
        goto done;
    }
    if (resolve_decl(st, v, e) != 0) goto done;
    if (sbx_host_step(v->sbx, strategy_params_step, &v->params, 0, 0, e) != 0) goto done;
    if ((lua_pushvalue(sbx_lua(v->sbx), API_SLOTS),
         sbx_host_step(v->sbx, strategy_resolve_callbacks, v, 1, 0, e)) != 0)
        goto done;
    rc = 0;
done:
    free(text);
    if (rc != 0) strategy_version_free(v);
    return rc;
}

/* ---- calls, errors, faults ----------------------------------------------------------- */

void strategy_publish(struct strategy *st, enum event_type type, cJSON *data)
{
    struct event ev = {.type = type, .data = data};
    snprintf(ev.source, sizeof ev.source, "strategy:%s", st->id);
    bus_publish(st->set->host->bus, &ev);
}

cJSON *strategy_event_data(struct strategy *st)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "strategy", st->id);
    cJSON_AddNumberToObject(d, "version", st->version);
    return d;
}

void strategy_routes_dirty(struct strategy *st)
{
    st->set->routes_dirty = 1;
}

/* Serializes `state` of sandbox s into out; logs and returns -1 when it cannot. */
static int dump_state(struct strategy *st, struct sbx *s, struct buf *out)
{
    lua_State *L = sbx_lua(s);
    struct err e;
    sbx_get_global(L, "state");
    int rc = sbx_serial_dump(s, -1, "state", out, &e);
    lua_pop(L, 1);
    if (rc != 0) {
        char q[1100];
        log_warn("strategy", "state not saved", "id=%s error=%s", st->id,
                 log_quote(q, sizeof q, e.msg));
        buf_free(out);
    }
    return rc;
}

/* Journals `state` of sandbox s (DESIGN.md §8): after every call that touched orders
 * and every on_order/on_fill, so a restart finds state that matches the orders. */
static void journal_state(struct strategy *st, struct sbx *s)
{
    struct oms *o = st->set->host->oms;
    if (!o) return;
    struct buf *b = &st->set->snapshot; /* reused: no allocation per snapshot */
    buf_reset(b);
    if (dump_state(st, s, b) != 0) return;
    /* the journal already holds these exact bytes: nothing to add */
    struct buf *last = &st->journaled_state;
    if (st->has_journaled_state && last->len == b->len && memcmp(last->p, b->p, b->len) == 0)
        return;
    oms_save_state(o, st->id, b->p, b->len);
    buf_reset(last);
    buf_put(last, b->p, b->len);
    st->has_journaled_state = 1;
}

/* Saves `state` of the loaded version so it survives the sandbox (and journals it). */
void strategy_save_state(struct strategy *st)
{
    if (!st->cur.sbx) return;
    struct buf b = BUF_INIT;
    if (dump_state(st, st->cur.sbx, &b) != 0) return;
    buf_free(&st->saved_state);
    st->saved_state = b;
    st->has_saved_state = 1;
    if (!st->set->host->oms) return;
    oms_save_state(st->set->host->oms, st->id, b.p, b.len);
    buf_reset(&st->journaled_state);
    buf_put(&st->journaled_state, b.p, b.len);
    st->has_journaled_state = 1;
}

double strategy_capital(const struct strategy *st)
{
    return st->cur.ctx ? st->cur.ctx->decl.capital : 0;
}

void strategy_set_saved_state(struct strategy *st, const void *data, size_t len)
{
    buf_free(&st->saved_state);
    buf_put(&st->saved_state, data, len);
    st->has_saved_state = 1;
}

int strategy_in_window(struct strategy *st, int64_t now_us)
{
    const struct api_ctx *c = st->cur.ctx;
    if (!c || !c->decl.has_window) return 1;
    if (!st->cur.window_tz) {
        struct err e;
        st->cur.window_tz = tz_load(c->decl.window_tz[0] ? c->decl.window_tz : "UTC", NULL, &e);
        if (!st->cur.window_tz) return 0; /* fail closed */
    }
    int32_t sod = tz_local_seconds_of_day(st->cur.window_tz, now_us / 1000000);
    int open = c->decl.window_open_min * 60, close = c->decl.window_close_min * 60;
    return open <= close ? sod >= open && sod < close : sod >= open || sod < close;
}

void strategy_remember_deps(struct strategy *st)
{
    if (!st->cur.sbx) return;
    for (int i = 0; i < st->ndeps; i++) free(st->deps[i]);
    free(st->deps);
    st->deps = NULL;
    st->ndeps = 0;
    int n = sbx_module_count(st->cur.sbx);
    st->deps = xcalloc((size_t)n + 1, sizeof *st->deps);
    for (int i = 0; i < n; i++) {
        char real[PATH_MAX];
        const char *p = sbx_module_path(st->cur.sbx, i);
        st->deps[st->ndeps++] = xstrdup(realpath(p, real) ? real : p);
    }
}

/* Unloads the current version keeping its state (stop and fault). */
static void unload(struct strategy *st)
{
    strategy_keep(st);
    strategy_save_state(st);
    strategy_remember_deps(st);
    strategy_cancel_timers(st, NULL);
    strategy_version_free(&st->cur);
    strategy_routes_dirty(st);
}

static void fault(struct strategy *st, const char *reason)
{
    log_error("strategy", "faulted; stopped alone", "id=%s version=%u reason=%s", st->id,
              st->version, reason);
    unload(st);
    st->status = STRATEGY_FAULTED;
    cJSON *d = strategy_event_data(st);
    cJSON_AddStringToObject(d, "reason", "fault");
    cJSON_AddStringToObject(d, "detail", reason);
    strategy_publish(st, EV_STRATEGY_STOP, d);
}

/* Reports an error of the given phase; faults the instance for CPU, memory, or an
 * error storm when count_storm is set. Returns 1 when it faulted. */
int strategy_report_error(struct strategy *st, const char *phase, const struct sbx_error *se,
                          int count_storm)
{
    struct strategies *ss = st->set;
    char msg[640], q[700];
    strategy_describe_error(se, msg, sizeof msg);
    util_strlcpy(st->last_error, msg, sizeof st->last_error);
    st->errors++;
    int fatal = se->status == SBX_ERR_CPU || se->status == SBX_ERR_MEMORY;
    int64_t now = clock_now_us(&ss->host->clock);
    const char *storm = NULL;
    if (!fatal && count_storm && ss->limits.max_errors > 0) {
        st->error_ts[st->nerror_ts++ % ERROR_RING] = now;
        int max = MIN(ss->limits.max_errors, ERROR_RING);
        if (st->nerror_ts >= (unsigned)max &&
            now - st->error_ts[(st->nerror_ts - (unsigned)max) % ERROR_RING] <=
                ss->limits.error_window_us) {
            fatal = 1;
            storm = "error storm";
        }
    }
    log_error("strategy", "error",
              "id=%s version=%u phase=%s kind=%s file=%s line=%d fatal=%s elapsed_ms=%.1f msg=%s",
              st->id, st->version, phase, storm ? "error_storm" : sbx_status_name(se->status),
              se->file[0] ? se->file : "-", se->line, fatal ? "yes" : "no",
              (double)se->elapsed_us / 1000.0, log_quote(q, sizeof q, msg));
    cJSON *d = strategy_event_data(st);
    cJSON_AddStringToObject(d, "phase", phase);
    cJSON_AddStringToObject(d, "kind", storm ? "error_storm" : sbx_status_name(se->status));
    cJSON_AddStringToObject(d, "message", msg);
    cJSON_AddStringToObject(d, "file", se->file);
    cJSON_AddNumberToObject(d, "line", se->line);
    cJSON_AddNumberToObject(d, "elapsed_ms", (double)se->elapsed_us / 1000.0);
    cJSON_AddBoolToObject(d, "fatal", fatal);
    strategy_publish(st, EV_STRATEGY_ERROR, d);
    if (ss->host->cfg->fail_fast) host_stop(ss->host, 1);
    if (fatal && st->cur.sbx) {
        char reason[700];
        snprintf(reason, sizeof reason, "%s in %s: %s", storm ? storm : sbx_status_name(se->status),
                 phase, msg);
        fault(st, reason);
        return 1;
    }
    return 0;
}

/* Every call into an instance's sandbox: events the script publishes are held until
 * the call returns (bus_hold), so they never reach another sandbox re-entrantly; its
 * duration goes into the instance's histogram (/metrics). */
enum sbx_status strategy_sandbox_call(struct strategy *st, struct sbx *s, int nargs, int nresults,
                                      enum sbx_budget b, struct sbx_error *se)
{
    struct bus *bus = st->set->host->bus;
    bus_hold(bus);
    st->calls++;
    struct api_ctx *c = sbx_owner(s);
    c->events_this_call = 0;
    c->orders_touched = 0;
    /* one call in 16 is timed for /metrics (the first included): two clock reads cost
     * as much as a small callback, and the tick-to-order path has several calls */
    int timed = (st->calls & 15) == 1;
    int64_t t0 = timed ? mono_ns() : 0;
    enum sbx_status rc = sbx_call(s, nargs, nresults, b, se);
    if (timed) metrics_hist_observe(&st->call_hist, mono_ns() - t0);
    if (c->orders_touched && rc == SBX_OK) journal_state(st, s);
    bus_release(bus);
    return rc;
}

/* Calls the callback whose function and nargs arguments are on the stack. */
void strategy_call(struct strategy *st, enum cb cb, int nargs, enum sbx_budget b)
{
    struct sbx_error se;
    if (strategy_sandbox_call(st, st->cur.sbx, nargs, 0, b, &se) != SBX_OK)
        strategy_report_error(st, strategy_cb_names[cb], &se, 1);
}

/* Pushes the callback function; returns 0 when the script has none. */
int strategy_push_cb(struct strategy *st, enum cb cb)
{
    if (!st->cur.sbx || !st->cur.cb[cb]) return 0;
    lua_rawgeti(sbx_lua(st->cur.sbx), API_SLOTS, API_SLOT_CALLBACKS + cb);
    return 1;
}

/* ---- routes and dispatch ------------------------------------------------------------- */

static void route_add(struct route *r, struct strategy *st)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 4;
        r->v = xrealloc(r->v, sizeof *r->v * (size_t)r->cap);
    }
    r->v[r->n++] = st;
}

static void rebuild_routes(struct strategies *ss)
{
    int ninst = ss->host->instruments.n;
    if (ss->nroutes < ninst) {
        ss->routes = xrealloc(ss->routes, sizeof *ss->routes * (size_t)ninst);
        memset(ss->routes + ss->nroutes, 0, sizeof *ss->routes * (size_t)(ninst - ss->nroutes));
        ss->nroutes = ninst;
    }
    for (int i = 0; i < ss->nroutes; i++) ss->routes[i].n = 0;
    ss->others.n = 0;
    for (int i = 0; i < ss->n; i++) {
        struct strategy *st = ss->v[i];
        if (st->status != STRATEGY_RUNNING || !st->cur.sbx) continue;
        route_add(&ss->others, st);
        for (int k = 0; k < st->cur.nsymbols; k++) route_add(&ss->routes[st->cur.symbols[k]], st);
    }
    ss->routes_dirty = 0;
}

static void dispatch_market(struct strategies *ss, const struct event *ev)
{
    struct host *h = ss->host;
    int sym = ev->type == EV_BAR        ? ev->u.bar.sym
              : ev->md_kind == MD_QUOTE ? ev->u.quote.sym
                                        : ev->u.trade.sym;
    if (sym < 0 || sym >= ss->nroutes) return;
    struct route *r = &ss->routes[sym];
    enum cb cb = ev->type == EV_BAR ? CB_BAR : ev->md_kind == MD_QUOTE ? CB_QUOTE : CB_TRADE;
    for (int i = 0; i < r->n; i++) {
        struct strategy *st = r->v[i];
        if (st->status != STRATEGY_RUNNING) continue;
        if (cb == CB_BAR && !(st->cur.bars & (1u << ev->u.bar.tf))) continue;
        if (!strategy_push_cb(st, cb)) continue;
        lua_State *L = sbx_lua(st->cur.sbx);
        if (cb == CB_QUOTE) api_push_quote(L, API_SLOTS, h, &ev->u.quote, ev->ts_us, ev->seq);
        else if (cb == CB_TRADE) api_push_trade(L, API_SLOTS, h, &ev->u.trade, ev->ts_us, ev->seq);
        else api_push_bar(L, API_SLOTS, h, &ev->u.bar);
        strategy_call(st, cb, 1, SBX_BUDGET_CALL);
    }
}

struct push_event_job {
    const struct host *host;
    const struct event *ev;
};

/* Host step: pushes the event table; argument 1 is the slots table. */
static int push_event_step(lua_State *L, void *ud)
{
    const struct push_event_job *job = ud;
    api_push_event(L, 1, job->host, job->ev);
    return 1;
}

static void dispatch_other(struct strategies *ss, const struct event *ev)
{
    enum cb cb = ev->type == EV_ALERT ? CB_ALERT : CB_EVENT;
    for (int i = 0; i < ss->others.n; i++) {
        struct strategy *st = ss->others.v[i];
        if (st->status != STRATEGY_RUNNING) continue;
        char own[EVENT_SOURCE_MAX];
        snprintf(own, sizeof own, "strategy:%s", st->id);
        if (!strcmp(ev->source, own)) continue; /* not its own signals and alerts */
        if (!strategy_push_cb(st, cb)) continue;
        /* payloads come from other scripts and have any size: push them protected, and
         * a receiver too full to take one is faulted for memory, alone */
        struct push_event_job job = {ss->host, ev};
        struct err e;
        lua_pushvalue(sbx_lua(st->cur.sbx), API_SLOTS);
        if (sbx_host_step(st->cur.sbx, push_event_step, &job, 1, 1, &e) != 0) {
            lua_pop(sbx_lua(st->cur.sbx), 1); /* the callback */
            struct sbx_error se = {.status = SBX_ERR_MEMORY};
            snprintf(se.message, sizeof se.message, "cannot receive event %llu: %s",
                     (unsigned long long)ev->seq, e.msg);
            strategy_report_error(st, strategy_cb_names[cb], &se, 1);
            continue;
        }
        strategy_call(st, cb, 1, SBX_BUDGET_CALL);
    }
}

/* ORDER_* events go to the strategy that owns the order only: on_fill(f) for a fill,
 * then on_order(o) for the status change, each followed by a state snapshot. */
static void dispatch_order(struct strategies *ss, const struct event *ev)
{
    const struct order *d = &ev->order->order;
    struct strategy *st = d->strategy[0] ? strategies_find(ss, d->strategy) : NULL;
    if (!st || st->status != STRATEGY_RUNNING) return;
    int touched = 0;
    if (ev->type == EV_ORDER_FILLED && strategy_push_cb(st, CB_FILL)) {
        api_push_fill(sbx_lua(st->cur.sbx), ss->host, d, &ev->order->fill);
        strategy_call(st, CB_FILL, 1, SBX_BUDGET_CALL);
        touched = 1;
    }
    if (st->status == STRATEGY_RUNNING && strategy_push_cb(st, CB_ORDER)) {
        api_push_order(sbx_lua(st->cur.sbx), ss->host, d);
        strategy_call(st, CB_ORDER, 1, SBX_BUDGET_CALL);
        touched = 1;
    }
    if (touched && st->status == STRATEGY_RUNNING) journal_state(st, st->cur.sbx);
}

static void on_bus(const struct event *ev, void *arg)
{
    struct strategies *ss = arg;
    if (ss->routes_dirty) rebuild_routes(ss);
    if (ev->type == EV_MARKET_DATA || ev->type == EV_BAR) dispatch_market(ss, ev);
    else if (ev->order) dispatch_order(ss, ev);
    else dispatch_other(ss, ev);
}

/* ---- lifecycle ---------------------------------------------------------------------- */

struct strategies *strategies_new(struct host *h, const struct strategy_limits *limits)
{
    struct strategies *ss = xcalloc(1, sizeof *ss);
    ss->host = h;
    ss->limits = *limits;
    ss->routes_dirty = 1;
    ss->bus_sub = bus_subscribe(
        h->bus,
        EV_BIT(EV_MARKET_DATA) | EV_BIT(EV_BAR) | EV_BIT(EV_SIGNAL_GENERATED) | EV_BIT(EV_CUSTOM) |
            EV_BIT(EV_ALERT) | EV_BIT(EV_ORDER_SUBMITTED) | EV_BIT(EV_ORDER_ACCEPTED) |
            EV_BIT(EV_ORDER_REJECTED) | EV_BIT(EV_ORDER_FILLED) | EV_BIT(EV_ORDER_CANCELED) |
            EV_BIT(EV_ORDER_EXPIRED),
        on_bus, ss);
    return ss;
}

static void strategy_free(struct strategy *st)
{
    strategy_cancel_timers(st, NULL);
    strategy_version_free(&st->cur);
    free(st->timers);
    free(st->script);
    for (int i = 0; i < st->nsym_override; i++) free(st->sym_override[i]);
    free(st->sym_override);
    params_free(&st->overrides);
    buf_free(&st->saved_state);
    buf_free(&st->journaled_state);
    for (int i = 0; i < st->ndeps; i++) free(st->deps[i]);
    free(st->deps);
    strategy_kept_free(st);
    free(st);
}

void strategies_free(struct strategies *ss)
{
    if (!ss) return;
    strategies_stop_all(ss, "shutdown");
    bus_unsubscribe(ss->host->bus, ss->bus_sub);
    for (int i = 0; i < ss->n; i++) strategy_free(ss->v[i]);
    free(ss->v);
    for (int i = 0; i < ss->nroutes; i++) free(ss->routes[i].v);
    free(ss->routes);
    free(ss->others.v);
    buf_free(&ss->snapshot);
    free(ss);
}

static int id_taken(struct strategies *ss, const char *id)
{
    return strategies_find(ss, id) != NULL;
}

struct strategy *strategies_add(struct strategies *ss, const struct strategy_spec *spec,
                                struct err *e)
{
    struct strategy *st = xcalloc(1, sizeof *st);
    st->set = ss;
    st->script = xstrdup(spec->script);
    char tmp[PATH_MAX];
    util_strlcpy(tmp, spec->script, sizeof tmp);
    char *slash = strrchr(tmp, '/');
    if (slash) *slash = '\0';
    util_strlcpy(st->dir, slash ? tmp : ".", sizeof st->dir);
    if (spec->symbols) {
        st->sym_override = xcalloc((size_t)spec->nsymbols + 1, sizeof *st->sym_override);
        for (int i = 0; i < spec->nsymbols; i++) st->sym_override[i] = xstrdup(spec->symbols[i]);
        st->nsym_override = spec->nsymbols;
    }
    if (spec->params) params_copy(&st->overrides, spec->params);
    /* Until the script declares a name, the instance is named after its file. */
    const char *base = slash ? spec->script + (slash - tmp) + 1 : spec->script;
    util_strlcpy(st->id, spec->id ? spec->id : base, sizeof st->id);
    char *dot = strrchr(st->id, '.');
    if (!spec->id && dot && !strcmp(dot, ".lua")) *dot = '\0';
    if (strategy_version_load(st, 1, &st->cur, e) != 0) goto fail;
    /* command-line parameters apply to the instances that declare them */
    int added = 0;
    for (int i = 0; spec->extra && i < spec->extra->n; i++)
        if (params_get(&st->cur.ctx->decl.params, spec->extra->v[i].name)) {
            params_set(&st->overrides, &spec->extra->v[i]);
            added++;
        }
    if (added) {
        strategy_version_free(&st->cur);
        if (strategy_version_load(st, 1, &st->cur, e) != 0) goto fail;
    }
    if (!spec->id) {
        char name[DECL_NAME_MAX];
        util_strlcpy(name, st->cur.ctx->decl.name, sizeof name);
        util_strlcpy(st->id, name, sizeof st->id);
        for (int k = 2; id_taken(ss, st->id); k++)
            snprintf(st->id, sizeof st->id, "%.50s#%d", name, k);
        if (strcmp(st->id, st->cur.ctx->strategy_id) != 0) {
            /* load again under the final id (the sandbox and `strategy_id` carry it) */
            strategy_version_free(&st->cur);
            if (strategy_version_load(st, 1, &st->cur, e) != 0) goto fail;
        }
    } else if (id_taken(ss, st->id)) {
        err_set(e, "strategy id '%s' is used twice", st->id);
        goto fail;
    }
    st->version = 1;
    st->status = STRATEGY_STOPPED;
    st->loaded_at_us = clock_now_us(&ss->host->clock);
    ss->v = xrealloc(ss->v, sizeof *ss->v * (size_t)(ss->n + 1));
    ss->v[ss->n++] = st;
    strategy_routes_dirty(st);
    log_info("strategy", "loaded", "id=%s script=%s version=1 sha256=%.12s", st->id, st->script,
             st->cur.sha256);
    return st;
fail:
    strategy_free(st);
    return NULL;
}

/* Sets the global `state` of the loaded version from the saved bytes (or {}). */
int strategy_restore_state(struct strategy *st, struct version *v, const struct buf *saved,
                           struct err *e)
{
    lua_State *L = sbx_lua(v->sbx);
    if (saved && saved->len) {
        int missing = 0;
        /* restoring may require class modules, whose top level may publish events */
        struct bus *bus = st->set->host->bus;
        bus_hold(bus);
        int rc = sbx_serial_load(v->sbx, saved->p, saved->len, &missing, e);
        bus_release(bus);
        if (rc != 0) return err_prefix(e, "%s: restoring state", st->id);
        if (missing)
            log_warn("strategy", "state objects lost their class", "id=%s count=%d", st->id,
                     missing);
    } else {
        lua_newtable(L);
    }
    if (lua_type(L, -1) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
    }
    sbx_set_global(L, "state");
    return 0;
}

int strategy_start(struct strategy *st, struct err *e)
{
    if (st->status == STRATEGY_RUNNING) return 0;
    if (!st->cur.sbx && strategy_version_load(st, st->version, &st->cur, e) != 0) {
        util_strlcpy(st->last_error, e->msg, sizeof st->last_error);
        return -1;
    }
    if (strategy_restore_state(st, &st->cur, st->has_saved_state ? &st->saved_state : NULL, e) !=
        0) {
        strategy_version_free(&st->cur);
        return -1;
    }
    st->status = STRATEGY_RUNNING;
    strategy_routes_dirty(st);
    strategy_arm_every(st);
    cJSON *d = strategy_event_data(st);
    cJSON_AddStringToObject(d, "sha256", st->cur.sha256);
    cJSON_AddStringToObject(d, "script", st->script);
    strategy_publish(st, EV_STRATEGY_START, d);
    log_info("strategy", "started", "id=%s version=%u", st->id, st->version);
    if (strategy_push_cb(st, CB_START)) {
        struct sbx_error se;
        if (strategy_sandbox_call(st, st->cur.sbx, 0, 0, SBX_BUDGET_LOAD, &se) != SBX_OK) {
            strategy_report_error(st, "on_start", &se, 0);
            if (st->status == STRATEGY_RUNNING) fault(st, "on_start failed");
            return err_set(e, "%s: on_start failed: %s", st->id, st->last_error);
        }
    }
    return 0;
}

void strategy_stop(struct strategy *st, const char *reason)
{
    if (st->status != STRATEGY_RUNNING) return;
    if (strategy_push_cb(st, CB_STOP)) {
        lua_pushstring(sbx_lua(st->cur.sbx), reason);
        struct sbx_error se;
        if (strategy_sandbox_call(st, st->cur.sbx, 1, 0, SBX_BUDGET_LOAD, &se) != SBX_OK)
            strategy_report_error(st, "on_stop", &se, 0);
    }
    if (st->status != STRATEGY_RUNNING) return; /* on_stop faulted it */
    unload(st);
    st->status = STRATEGY_STOPPED;
    cJSON *d = strategy_event_data(st);
    cJSON_AddStringToObject(d, "reason", reason);
    strategy_publish(st, EV_STRATEGY_STOP, d);
    log_info("strategy", "stopped", "id=%s version=%u reason=%s", st->id, st->version, reason);
}

int strategies_start_all(struct strategies *ss)
{
    int failed = 0;
    for (int i = 0; i < ss->n; i++) {
        struct err e;
        if (ss->v[i]->status == STRATEGY_STOPPED && strategy_start(ss->v[i], &e) != 0) failed++;
    }
    return failed;
}

void strategies_stop_all(struct strategies *ss, const char *reason)
{
    for (int i = 0; i < ss->n; i++) strategy_stop(ss->v[i], reason);
}

/* ---- accessors and check ------------------------------------------------------------ */

int strategy_declares_param(const struct strategy *st, const char *name)
{
    return params_get(&st->overrides, name) != NULL ||
           (st->cur.ctx && params_get(&st->cur.ctx->decl.params, name) != NULL);
}

int strategies_count(const struct strategies *ss)
{
    return ss->n;
}

struct strategy *strategies_at(struct strategies *ss, int i)
{
    return i >= 0 && i < ss->n ? ss->v[i] : NULL;
}

struct strategy *strategies_find(struct strategies *ss, const char *id)
{
    for (int i = 0; i < ss->n; i++)
        if (!strcmp(ss->v[i]->id, id)) return ss->v[i];
    return NULL;
}

const char *strategy_id(const struct strategy *st)
{
    return st->id;
}

const char *strategy_script(const struct strategy *st)
{
    return st->script;
}

void strategy_script_dir(const struct strategy *st, char *out, size_t n)
{
    util_strlcpy(out, strategy_script(st), n);
    char *slash = strrchr(out, '/');
    if (slash) *slash = '\0';
    else util_strlcpy(out, ".", n);
}

enum strategy_status strategy_status(const struct strategy *st)
{
    return st->status;
}

unsigned strategy_version(const struct strategy *st)
{
    return st->version;
}

const char *strategy_sha256(const struct strategy *st)
{
    return st->cur.sbx ? st->cur.sha256 : "";
}

const char *strategy_last_error(const struct strategy *st)
{
    return st->last_error;
}

uint64_t strategy_calls(const struct strategy *st)
{
    return st->calls;
}

uint64_t strategy_errors(const struct strategy *st)
{
    return st->errors;
}

const struct metrics_hist *strategy_call_hist(const struct strategy *st)
{
    return &st->call_hist;
}

size_t strategy_memory_used(const struct strategy *st)
{
    return st->cur.sbx ? sbx_memory_used(st->cur.sbx) : 0;
}

size_t strategy_memory_limit(const struct strategy *st)
{
    if (st->cur.sbx) return sbx_memory_limit(st->cur.sbx);
    return st->set->limits.memory_limit ? st->set->limits.memory_limit : SBX_DEFAULT_MEMORY;
}
