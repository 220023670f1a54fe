/* strategy_admin.c: what operators do to strategy instances while the host runs (REST,
 * the console): add one, change its parameters, describe it (see strategy.h).
 *
 * Parameters: the operator's values are overrides (st->overrides), checked against the
 * declaration's defaults (a declared name, the default's type) and applied by every
 * version load, so a value set here survives reloads, stops and starts. A change also
 * goes straight into the loaded sandbox: its global `params` is replaced by a new
 * read-only view, which scripts read on their next event. That happens on the loop,
 * outside any dispatch, so no callback ever sees a half-applied change.
 *
 * Description: a stopped or faulted instance has no loaded version, so what its last
 * one resolved (hash, symbols, declared defaults) is kept in st->kept when it unloads,
 * and the outcome of the last reload in st->last_reload (strategy_reload.c).
 *
 * The console: code typed while attached runs in the loaded sandbox like a callback
 * (strategy_sandbox_call), so its events and orders take the usual path; its errors
 * belong to the operator and never fault the instance. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "fixed.h"
#include "host.h"
#include "log.h"
#include "oms.h"
#include "portfolio.h"
#include "strategy_internal.h"
#include "util.h"

/* ---- what an unloaded instance still shows --------------------------------------- */

void strategy_keep(struct strategy *st)
{
    if (!st->cur.sbx || !st->cur.ctx) return;
    strategy_kept_free(st);
    struct strategy_kept *k = &st->kept;
    util_strlcpy(k->sha256, st->cur.sha256, sizeof k->sha256);
    k->symbols = xcalloc((size_t)st->cur.nsymbols + 1, sizeof *k->symbols);
    memcpy(k->symbols, st->cur.symbols, sizeof *k->symbols * (size_t)st->cur.nsymbols);
    k->nsymbols = st->cur.nsymbols;
    params_copy(&k->declared, &st->cur.ctx->decl.params);
    k->has = 1;
}

void strategy_kept_free(struct strategy *st)
{
    free(st->kept.symbols);
    params_free(&st->kept.declared);
    memset(&st->kept, 0, sizeof st->kept);
}

void strategy_record_reload(struct strategy *st, const char *error)
{
    struct strategy_reload_result *r = &st->last_reload;
    r->ts_us = clock_now_us(&st->set->host->clock);
    r->ok = error == NULL;
    util_strlcpy(r->error, error ? error : "", sizeof r->error);
}

/* The declaration's defaults: the loaded version's, else the kept ones (NULL when the
 * instance never loaded, which strategies_add does not allow). */
static const struct params *declared(const struct strategy *st)
{
    if (st->cur.ctx) return &st->cur.ctx->decl.params;
    return st->kept.has ? &st->kept.declared : NULL;
}

/* ---- adding ------------------------------------------------------------------------ */

struct strategy *strategies_create(struct strategies *ss, const struct strategy_spec *spec,
                                   struct err *e)
{
    if (spec->id && !strcmp(spec->id, "manual")) {
        err_set(e, "the id 'manual' is reserved for operators' orders");
        return NULL;
    }
    struct strategy *st = strategies_add(ss, spec, e);
    if (!st) return NULL;
    struct oms *o = ss->host->oms;
    if (o) { /* as host.c does for the config's instances */
        int64_t capital = 0;
        if (fx_from_double(strategy_capital(st), MONEY_DP, &capital) != 0) capital = 0;
        portfolio_account(oms_portfolio(o), st->id, capital);
        const struct buf *saved = oms_recovered_state(o, st->id);
        if (saved) strategy_set_saved_state(st, saved->p, saved->len);
    }
    char q[PATH_MAX + 8];
    log_info("strategy", "added", "id=%s script=%s", st->id, log_quote(q, sizeof q, st->script));
    return st;
}

/* ---- parameters ------------------------------------------------------------------- */

void strategy_params(const struct strategy *st, struct params *out)
{
    if (st->cur.sbx) {
        params_copy(out, &st->cur.params);
        return;
    }
    const struct params *d = declared(st);
    struct err e;
    if (!d) out->v = NULL, out->n = 0;
    else if (params_resolve(d, &st->overrides, out, &e) != 0) params_copy(out, d);
}

/* Every value names a declared parameter and has its default's type. */
static int check_params(const struct strategy *st, const struct params *decl,
                        const struct params *p, struct err *e)
{
    for (int i = 0; i < p->n; i++) {
        const struct param *v = &p->v[i], *d = params_get(decl, v->name);
        if (!d)
            return err_set(e, "%s: parameter '%s' is not declared by the script", st->id, v->name);
        if (v->type != d->type)
            return err_set(e, "%s: parameter '%s' must be a %s (got a %s)", st->id, v->name,
                           param_type_name(d->type), param_type_name(v->type));
        if (v->type == PARAM_NUMBER && !isfinite(v->num))
            return err_set(e, "%s: parameter '%s' must be a finite number", st->id, v->name);
    }
    return 0;
}

static void log_change(const struct strategy *st, const struct params *p)
{
    if (p->n == 0) return;
    struct buf b = BUF_INIT;
    for (int i = 0; i < p->n; i++) {
        const struct param *v = &p->v[i];
        char q[300];
        if (v->type == PARAM_NUMBER) buf_printf(&b, " %s=%.17g", v->name, v->num);
        else if (v->type == PARAM_BOOL) buf_printf(&b, " %s=%s", v->name, v->b ? "true" : "false");
        else buf_printf(&b, " %s=%s", v->name, log_quote(q, sizeof q, v->str ? v->str : ""));
    }
    log_info("strategy", "params changed", "id=%s version=%u%s", st->id, st->version,
             b.p ? b.p : "");
    buf_free(&b);
}

int strategy_set_params(struct strategy *st, const struct params *p, struct err *e)
{
    ASSERT(!bus_dispatching(st->set->host->bus));
    const struct params *decl = declared(st);
    if (!decl) return err_set(e, "%s: the script's declaration is not known", st->id);
    if (check_params(st, decl, p, e) != 0) return -1;
    struct params ov, resolved;
    params_copy(&ov, &st->overrides);
    for (int i = 0; i < p->n; i++) params_set(&ov, &p->v[i]);
    if (params_resolve(decl, &ov, &resolved, e) != 0) {
        params_free(&ov);
        return err_prefix(e, "%s", st->id);
    }
    /* the sandbox first: it is the step that can fail (out of memory) */
    if (st->cur.sbx && sbx_host_step(st->cur.sbx, strategy_params_step, &resolved, 0, 0, e) != 0) {
        params_free(&ov);
        params_free(&resolved);
        return err_prefix(e, "%s: cannot update params", st->id);
    }
    params_free(&st->overrides);
    st->overrides = ov;
    if (st->cur.sbx) {
        params_free(&st->cur.params);
        st->cur.params = resolved;
    } else {
        params_free(&resolved);
    }
    log_change(st, p);
    return 0;
}

/* ---- description ------------------------------------------------------------------ */

static void add_time(cJSON *o, const char *key, int64_t ts_us)
{
    char iso[40];
    if (ts_us) cJSON_AddStringToObject(o, key, util_iso8601(ts_us, iso, sizeof iso));
    else cJSON_AddNullToObject(o, key);
}

static cJSON *params_json(const struct strategy *st)
{
    struct params ps;
    strategy_params(st, &ps);
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < ps.n; i++) {
        const struct param *p = &ps.v[i];
        if (p->type == PARAM_NUMBER) cJSON_AddNumberToObject(o, p->name, p->num);
        else if (p->type == PARAM_BOOL) cJSON_AddBoolToObject(o, p->name, p->b);
        else cJSON_AddStringToObject(o, p->name, p->str ? p->str : "");
    }
    params_free(&ps);
    return o;
}

static cJSON *symbols_json(const struct strategy *st)
{
    const struct instruments *ins = &st->set->host->instruments;
    const int *syms = st->cur.sbx ? st->cur.symbols : st->kept.symbols;
    int n = st->cur.sbx ? st->cur.nsymbols : st->kept.nsymbols;
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        if (syms[i] >= 0 && syms[i] < ins->n)
            cJSON_AddItemToArray(a, cJSON_CreateString(ins->v[syms[i]].symbol));
    return a;
}

static cJSON *last_reload_json(const struct strategy *st)
{
    const struct strategy_reload_result *r = &st->last_reload;
    if (!r->ts_us) return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    add_time(o, "ts", r->ts_us);
    cJSON_AddBoolToObject(o, "ok", r->ok);
    if (r->ok) cJSON_AddNullToObject(o, "error");
    else cJSON_AddStringToObject(o, "error", r->error);
    return o;
}

cJSON *strategy_json(const struct strategy *st)
{
    cJSON *o = cJSON_CreateObject();
    ASSERT(o != NULL);
    cJSON_AddStringToObject(o, "id", st->id);
    cJSON_AddStringToObject(o, "script", st->script);
    cJSON_AddStringToObject(o, "status", strategy_status_name(st->status));
    cJSON_AddNumberToObject(o, "version", st->version);
    const char *sha = st->cur.sbx ? st->cur.sha256 : st->kept.sha256;
    if (sha[0]) cJSON_AddStringToObject(o, "sha256", sha);
    else cJSON_AddNullToObject(o, "sha256");
    cJSON_AddItemToObject(o, "symbols", symbols_json(st));
    cJSON_AddItemToObject(o, "params", params_json(st));
    cJSON_AddItemToObject(o, "last_reload", last_reload_json(st));
    cJSON_AddStringToObject(o, "last_error", st->last_error);
    cJSON_AddNumberToObject(o, "calls", (double)st->calls);
    cJSON_AddNumberToObject(o, "errors", (double)st->errors);
    cJSON_AddNumberToObject(o, "memory_bytes",
                            st->cur.sbx ? (double)sbx_memory_used(st->cur.sbx) : 0);
    add_time(o, "loaded_at", st->loaded_at_us);
    return o;
}

/* ---- the console ------------------------------------------------------------------ */

struct sbx *strategy_sandbox(struct strategy *st)
{
    return st->cur.sbx;
}

enum sbx_status strategy_console_call(struct strategy *st, int nargs, int nresults,
                                      void (*echo)(void *ud, const char *p, size_t n), void *ud,
                                      struct sbx_error *se)
{
    struct sbx *x = st->cur.sbx;
    ASSERT(x);
    struct api_ctx *c = sbx_owner(x);
    c->echo = echo;
    c->echo_ud = ud;
    enum sbx_status rc = strategy_sandbox_call(st, x, nargs, nresults, SBX_BUDGET_CALL, se);
    if (st->cur.sbx == x) c->echo = NULL; /* else a callback faulted it: x is gone */
    if (rc != SBX_OK)
        log_warn("strategy", "console code failed", "id=%s status=%s", st->id, sbx_status_name(rc));
    return rc;
}
