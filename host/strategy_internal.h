/* strategy_internal.h: what strategy.c, strategy_timer.c and strategy_reload.c share:
 * the instance, version and timer structures and the helpers each file offers the
 * others. Not a public contract: everything else uses strategy.h. */
#ifndef LUATRADE_STRATEGY_INTERNAL_H
#define LUATRADE_STRATEGY_INTERNAL_H

#include <limits.h>
#include <stdint.h>

#include "api.h"
#include "buf.h"
#include "event.h"
#include "metrics.h"
#include "param.h"
#include "sbx.h"
#include "strategy.h"

struct cJSON;
struct tz;

enum cb {
    CB_START,
    CB_STOP,
    CB_QUOTE,
    CB_TRADE,
    CB_BAR,
    CB_TIMER,
    CB_EVENT,
    CB_ALERT,
    CB_RELOAD,
    CB_ORDER,
    CB_FILL,
    CB__COUNT
};
extern const char *const strategy_cb_names[CB__COUNT];

#define ERROR_RING 64

/* One loaded version of a script. */
struct version {
    struct sbx *sbx;
    struct api_ctx *ctx; /* the sandbox's owner */
    char sha256[65];
    struct params params;
    int *symbols;
    int nsymbols;
    uint32_t bars;
    int64_t every_us;
    int cb[CB__COUNT];    /* 1 when the script defines that callback (slots table) */
    struct tz *window_tz; /* the declared window's zone, loaded on first use */
};

struct stimer {
    struct strategy *st;
    char name[64];
    uint64_t id;
    const struct api_ctx *ctx; /* the sandbox that made it; the timer dies with it */
    int daily, hh, mm;
    struct tz *tz;
    int one_shot;
};

/* What the last loaded version resolved, kept while no version is loaded (stopped,
 * faulted) so the instance can still be described and its parameters checked
 * (strategy_admin.c). */
struct strategy_kept {
    int has;
    char sha256[65];
    int *symbols;
    int nsymbols;
    struct params declared; /* the declaration's defaults */
};

/* How the last reload went (strategy_reload.c records it). */
struct strategy_reload_result {
    int64_t ts_us; /* host clock; 0: never reloaded */
    int ok;
    char error[640]; /* "file:line: message" when it failed */
};

struct strategy {
    struct strategies *set;
    char id[DECL_NAME_MAX];
    char *script;
    char dir[PATH_MAX];
    char **sym_override;
    int nsym_override;
    struct params overrides;

    struct version cur; /* cur.sbx == NULL when not loaded */
    enum strategy_status status;
    unsigned version;
    int64_t loaded_at_us;
    char last_error[640];
    uint64_t calls, errors;
    struct metrics_hist call_hist; /* time of every call into its sandboxes */
    int64_t error_ts[ERROR_RING];
    unsigned nerror_ts;

    struct buf saved_state;     /* `state` kept while not loaded (stopped, faulted) */
    struct buf journaled_state; /* the last snapshot journal_state wrote */
    int has_journaled_state;
    int has_saved_state;
    char **deps; /* modules the last loaded version required (real paths) */
    int ndeps;

    struct stimer **timers;
    int ntimers;

    struct strategy_kept kept;
    struct strategy_reload_result last_reload;
};

struct route {
    struct strategy **v;
    int n, cap;
};

struct strategies {
    struct host *host;
    struct strategy_limits limits;
    struct strategy **v;
    int n;
    int bus_sub;
    struct route *routes; /* per instrument id */
    struct route others;  /* every running instance, for non-market events */
    int nroutes;
    int routes_dirty;
    struct buf snapshot; /* the `state` being journaled (journal_state) */
};

/* strategy.c */
void strategy_version_free(struct version *v);
/* Loads the script as version `number` into v. Returns 0, or -1 with e ("file:line: msg"). */
int strategy_version_load(struct strategy *st, unsigned number, struct version *v, struct err *e);
/* "file:line: message" for an sbx error. */
void strategy_describe_error(const struct sbx_error *se, char *out, size_t n);
/* Host step: stores the script's callbacks in the slots table (argument 1). */
int strategy_resolve_callbacks(lua_State *L, void *ud);
void strategy_publish(struct strategy *st, enum event_type type, struct cJSON *data);
/* {strategy, version}: the start of every STRATEGY_* event's data. */
struct cJSON *strategy_event_data(struct strategy *st);
void strategy_routes_dirty(struct strategy *st);
void strategy_save_state(struct strategy *st);
void strategy_remember_deps(struct strategy *st);
int strategy_restore_state(struct strategy *st, struct version *v, const struct buf *saved,
                           struct err *e);
/* Every call into an instance's sandbox goes through here (bus held, calls counted). */
enum sbx_status strategy_sandbox_call(struct strategy *st, struct sbx *s, int nargs, int nresults,
                                      enum sbx_budget b, struct sbx_error *se);
/* Pushes callback cb of the loaded version; 0 when the script has none. */
int strategy_push_cb(struct strategy *st, enum cb cb);
/* Calls the pushed callback with nargs arguments; reports errors and faults. */
void strategy_call(struct strategy *st, enum cb cb, int nargs, enum sbx_budget b);
int strategy_report_error(struct strategy *st, const char *phase, const struct sbx_error *se,
                          int count_storm);
/* Host step: sets the global `params` to a read-only view of ud (const struct params *). */
int strategy_params_step(lua_State *L, void *ud);

/* strategy_admin.c */
/* Copies what the loaded version resolved into st->kept (before it is unloaded). */
void strategy_keep(struct strategy *st);
void strategy_kept_free(struct strategy *st);
/* Records the outcome of a reload attempt (error NULL when it succeeded). */
void strategy_record_reload(struct strategy *st, const char *error);

/* strategy_timer.c */
#define STRATEGY_TIMERS_MAX 1000
/* Cancels the timers made by one sandbox (ctx NULL: all). */
void strategy_cancel_timers(struct strategy *st, const struct api_ctx *ctx);
/* Arms the declaration's `every` timer for the loaded version. */
void strategy_arm_every(struct strategy *st);

#endif
