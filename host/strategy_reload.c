/* strategy_reload.c: the hot-reload transaction (DESIGN.md §7) and `luatrade check`.
 *
 * strategy_reload loads the new text into a fresh sandbox beside the running one,
 * copies `state` across (sbx_serial.h) and runs on_reload; only when every step
 * succeeded does it swap the new version in, between two events (it is never called
 * during a dispatch). On failure the old version keeps running and the error, with
 * file and line, goes to the log and a STRATEGY_ERROR event. A file change reloads
 * every instance whose script it is or that required it as a module. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "host.h"
#include "log.h"
#include "strategy_internal.h"
#include "util.h"
#include "sbx_serial.h"
#include "sbx_watchdog.h"

static void reload_failed(struct strategy *st, const char *msg)
{
    char q[700];
    util_strlcpy(st->last_error, msg, sizeof st->last_error);
    strategy_record_reload(st, msg);
    log_error("strategy", "reload failed; old version keeps running", "id=%s version=%u error=%s",
              st->id, st->version, log_quote(q, sizeof q, msg));
    struct sbx_error se = {.status = SBX_ERR_RUNTIME};
    util_strlcpy(se.message, msg, sizeof se.message);
    /* extract "file:line:" for the event */
    const char *colon = strchr(msg, ':');
    if (colon && colon[1] >= '0' && colon[1] <= '9') {
        size_t n = MIN((size_t)(colon - msg), sizeof se.file - 1);
        memcpy(se.file, msg, n);
        se.file[n] = '\0';
        se.line = atoi(colon + 1);
    }
    cJSON *d = strategy_event_data(st);
    cJSON_AddStringToObject(d, "phase", "reload");
    cJSON_AddStringToObject(d, "kind", "reload");
    cJSON_AddStringToObject(d, "message", msg);
    cJSON_AddStringToObject(d, "file", se.file);
    cJSON_AddNumberToObject(d, "line", se.line);
    cJSON_AddBoolToObject(d, "fatal", 0);
    strategy_publish(st, EV_STRATEGY_ERROR, d);
}

static int reload_transaction(struct strategy *st, struct err *e);

/* Events the new version publishes while it loads and takes over (and the
 * STRATEGY_RELOAD/ERROR event itself) are delivered once the transaction is over. */
int strategy_reload(struct strategy *st, struct err *e)
{
    struct bus *bus = st->set->host->bus;
    ASSERT(!bus_dispatching(bus));
    bus_hold(bus);
    int rc = reload_transaction(st, e);
    bus_release(bus);
    return rc;
}

static int reload_transaction(struct strategy *st, struct err *e)
{
    struct strategies *ss = st->set;
    int64_t t0 = mono_ns();
    unsigned old = st->version, next = st->version + 1;
    struct version nv;
    if (strategy_version_load(st, next, &nv, e) != 0) {
        reload_failed(st, e->msg);
        return -1;
    }
    int live = st->status == STRATEGY_RUNNING;
    int revive = st->status == STRATEGY_FAULTED;
    if (live || revive) {
        /* 2. state: from the running sandbox, or what was saved at the fault */
        struct buf state = BUF_INIT;
        int rc = 0;
        if (live) {
            lua_State *L = sbx_lua(st->cur.sbx);
            sbx_get_global(L, "state");
            rc = sbx_serial_dump(st->cur.sbx, -1, "state", &state, e);
            lua_pop(L, 1);
        } else if (st->has_saved_state) {
            buf_put(&state, st->saved_state.p, st->saved_state.len);
        }
        if (rc == 0) rc = strategy_restore_state(st, &nv, &state, e);
        buf_free(&state);
        if (rc == 0 && nv.cb[CB_RELOAD]) {
            lua_State *L = sbx_lua(nv.sbx);
            lua_rawgeti(L, API_SLOTS, API_SLOT_CALLBACKS + CB_RELOAD);
            lua_pushinteger(L, old);
            struct sbx_error se;
            if (strategy_sandbox_call(st, nv.sbx, 1, 0, SBX_BUDGET_LOAD, &se) != SBX_OK) {
                char msg[640];
                strategy_describe_error(&se, msg, sizeof msg);
                err_set(e, "on_reload: %s", msg);
                rc = -1;
            }
        }
        if (rc != 0) {
            strategy_version_free(&nv); /* its timers die with it */
            reload_failed(st, e->msg);
            return -1;
        }
    }
    /* 3. swap (freeing the old version cancels its timers) */
    if (st->cur.sbx) strategy_version_free(&st->cur);
    st->cur = nv;
    st->version = next;
    st->loaded_at_us = clock_now_us(&ss->host->clock);
    st->last_error[0] = '\0';
    st->nerror_ts = 0;
    if (revive) {
        st->status = STRATEGY_RUNNING;
        buf_free(&st->saved_state);
        st->has_saved_state = 0;
    }
    if (st->status == STRATEGY_RUNNING) {
        strategy_arm_every(st);
        strategy_remember_deps(st);
    } else {
        strategy_remember_deps(st);
        strategy_keep(st);
        strategy_version_free(&st->cur); /* stopped: no sandbox; the state saved at stop stays */
    }
    strategy_routes_dirty(st);
    strategy_record_reload(st, NULL);
    double ms = (double)(mono_ns() - t0) / 1e6;
    cJSON *d = strategy_event_data(st);
    cJSON_AddNumberToObject(d, "old_version", old);
    cJSON_AddStringToObject(d, "sha256", nv.sha256);
    cJSON_AddNumberToObject(d, "ms", ms);
    cJSON_AddStringToObject(d, "status", strategy_status_name(st->status));
    strategy_publish(st, EV_STRATEGY_RELOAD, d);
    log_info("strategy", "reloaded",
             "id=%s version=%u old_version=%u sha256=%.12s ms=%.3f status=%s", st->id, st->version,
             old, nv.sha256, ms, strategy_status_name(st->status));
    return 0;
}

int strategies_reload(struct strategies *ss, const char *id, struct err *e)
{
    struct strategy *st = strategies_find(ss, id);
    if (!st) return err_set(e, "no strategy named '%s'", id);
    return strategy_reload(st, e);
}

static int depends_on(struct strategy *st, const char *real)
{
    char mine[PATH_MAX];
    if (realpath(st->script, mine) && !strcmp(mine, real)) return 1;
    if (st->cur.sbx) {
        for (int i = 0; i < sbx_module_count(st->cur.sbx); i++) {
            char dep[PATH_MAX];
            if (realpath(sbx_module_path(st->cur.sbx, i), dep) && !strcmp(dep, real)) return 1;
        }
    }
    for (int i = 0; i < st->ndeps; i++)
        if (!strcmp(st->deps[i], real)) return 1;
    return 0;
}

void strategies_file_changed(struct strategies *ss, const char *path)
{
    char real[PATH_MAX];
    if (!realpath(path, real)) return; /* deleted: the running version stays */
    for (int i = 0; i < ss->n; i++) {
        struct strategy *st = ss->v[i];
        if (!depends_on(st, real)) continue;
        struct err e;
        log_info("strategy", "file changed; reloading", "id=%s file=%s", st->id, path);
        strategy_reload(st, &e);
    }
}

int strategy_check_script(const char *path, const char *scripts_dir, struct err *e)
{
    struct sbx_watchdog *wd = sbx_watchdog_new(e);
    if (!wd) return -1;
    char dir[PATH_MAX];
    util_strlcpy(dir, path, sizeof dir);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    else util_strlcpy(dir, ".", sizeof dir);
    struct sbx_config cfg = {.name = path, .wd = wd, .module_dirs = {dir, scripts_dir}};
    struct api_ctx *ctx = xcalloc(1, sizeof *ctx);
    util_strlcpy(ctx->strategy_id, "check", sizeof ctx->strategy_id);
    size_t len;
    int rc = -1;
    char *text = util_read_file(path, SBX_DEFAULT_SCRIPT, &len);
    struct sbx *s = NULL;
    if (!text) {
        err_set(e, "%s: cannot read: %s", path,
                errno == EFBIG ? "larger than the script limit" : strerror(errno));
        goto done;
    }
    s = sbx_new(&cfg, e);
    if (!s) goto done;
    sbx_set_owner(s, ctx);
    if (api_register(s, "backtest", e) != 0) goto done;
    struct sbx_error se;
    if (sbx_load(s, text, len, path, &se) != SBX_OK ||
        sbx_call(s, 0, 0, SBX_BUDGET_LOAD, &se) != SBX_OK) {
        char msg[640];
        strategy_describe_error(&se, msg, sizeof msg);
        err_set(e, "%s", msg);
        goto done;
    }
    if (!ctx->decl.declared) {
        err_set(e, "%s: the script never calls strategy{...}", path);
        goto done;
    }
    struct version v = {0};
    if ((lua_pushvalue(sbx_lua(s), API_SLOTS),
         sbx_host_step(s, strategy_resolve_callbacks, &v, 1, 0, e)) != 0)
        goto done;
    err_set(e, "name=%s params=%d symbols=%d", ctx->decl.name[0] ? ctx->decl.name : "check",
            ctx->decl.params.n, ctx->decl.nsymbols);
    rc = 0;
done:
    sbx_free(s);
    strategy_decl_free(&ctx->decl);
    free(ctx);
    free(text);
    sbx_watchdog_free(wd);
    return rc;
}
