/* risk.c: the risk guardian's accounts, limits, trading states, utilization alerts and
 * kill switch (see risk.h); the pre-trade checks themselves are in risk_check.c.
 *
 * Accounts: the global one (totals, env callbacks get strategy NULL) and one per
 * strategy that has a limit set or a state of its own (from the config, risk_set_limit
 * or risk_set_state). A strategy without an account is held to the global set only.
 *
 * risk_check_new runs these checks in this order and returns the first failure; every
 * check that has a limit runs for the strategy's set, then for the global set:
 *   1 kill switch            KILL_SWITCH      (sync latch or the async flag)
 *   2 symbol                 UNKNOWN_SYMBOL
 *   3 field sanity           BAD_QUANTITY, OFF_LOT, BAD_PRICE, OFF_TICK
 *   4 restricted list        RESTRICTED_SYMBOL
 *   5 trading state          HALTED, REDUCING_ONLY (and reduce_only orders that would
 *                            not reduce)
 *   6 trading window         OUTSIDE_WINDOW   (env->in_window)
 *   7 stale feed             STALE_FEED       (stale_feed_s; no data ever also fails)
 *   8 max order qty          MAX_ORDER_QTY
 *   9 reference price        NO_REFERENCE_PRICE (missing, <= 0, or older than
 *                            reference_max_age_s; fetched only when a band or a
 *                            notional limit needs it)
 *  10 price band             PRICE_BAND       (limit and stop prices)
 *  11 max order notional     MAX_ORDER_NOTIONAL
 *  12 max position           MAX_POSITION     (orders that do not reduce)
 *  13 max gross exposure     MAX_GROSS_EXPOSURE (orders that do not reduce)
 *  14 max working orders     MAX_WORKING_ORDERS
 *  15 self cross             SELF_CROSS
 *  16 duplicate              DUPLICATE_ORDER
 *  17 order rate             ORDER_RATE       (a token is taken only when all passed)
 *
 * Trading states: risk_update compares each account's loss and drawdown with its
 * limits (the global halt_ratio applies to every account). A threshold fires when the
 * value rises to it (edge, not level): the state escalates ACTIVE -> REDUCING ->
 * HALTED and never falls by itself; risk_new_day returns daily-loss states to ACTIVE,
 * and an operator's risk_set_state holds until the value crosses a further threshold.
 * Utilization alerts work the same way per metric and account: an alert when the
 * utilization rises past a threshold (the highest one newly crossed), re-armed when it
 * falls back below; no hysteresis.
 *
 * Everything runs on the loop thread except risk_kill_async (any thread, a signal
 * handler) and risk_killed, which only touch the atomic kill word. */
#include "risk.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "clock.h"
#include "fixed.h"
#include "log.h"
#include "portfolio.h" /* MONEY_DP only: risk calls nothing of portfolio */
#include "risk_internal.h"
#include "util.h"

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "risk_kill_async needs a lock-free atomic_int");

/* ---- names -------------------------------------------------------------------------- */

static const char *const reason_names[RISK__COUNT] = {
#define X(name) #name,
    RISK_REASONS(X)
#undef X
};

const char *risk_reason_name(enum risk_reason r)
{
    return (unsigned)r < RISK__COUNT ? reason_names[r] : "?";
}

const char *trading_state_name(enum trading_state s)
{
    static const char *const names[] = {"ACTIVE", "REDUCING", "HALTED"};
    return (unsigned)s < ARRAY_LEN(names) ? names[s] : "?";
}

const char *risk_severity_name(enum risk_severity s)
{
    static const char *const names[SEV__COUNT] = {"LOW", "MEDIUM", "HIGH", "CRITICAL"};
    return (unsigned)s < SEV__COUNT ? names[s] : "?";
}

/* ---- limits by name ----------------------------------------------------------------- */

struct limit_def {
    const char *name;
    size_t off;
    int is_int; /* self_cross */
};

#define LIMIT(f)                                                                                   \
    {                                                                                              \
#f, offsetof(struct risk_limits, f), 0                                                     \
    }
static const struct limit_def limit_defs[] = {
    LIMIT(max_order_qty),
    LIMIT(max_order_notional),
    LIMIT(price_band_pct),
    LIMIT(reference_max_age_s),
    LIMIT(max_position),
    LIMIT(max_gross_exposure),
    LIMIT(max_working_orders),
    LIMIT(max_orders_per_s),
    LIMIT(max_cancels_per_s),
    LIMIT(duplicate_window_s),
    LIMIT(daily_loss_limit),
    LIMIT(max_drawdown),
    LIMIT(halt_ratio),
    LIMIT(stale_feed_s),
    {"self_cross", offsetof(struct risk_limits, self_cross), 1},
};
#undef LIMIT

static const struct limit_def *limit_find(const char *name)
{
    for (size_t i = 0; name && i < ARRAY_LEN(limit_defs); i++)
        if (strcmp(limit_defs[i].name, name) == 0) return &limit_defs[i];
    return NULL;
}

static double limit_get(const struct risk_limits *l, const struct limit_def *d)
{
    const char *p = (const char *)l + d->off;
    return d->is_int ? *(const int *)p : *(const double *)p;
}

static void limit_put(struct risk_limits *l, const struct limit_def *d, double v)
{
    char *p = (char *)l + d->off;
    if (d->is_int) *(int *)p = (int)v;
    else *(double *)p = v;
}

/* The rules every value obeys, whether it comes from the config or risk_set_limit. */
static int limit_check(const struct limit_def *d, double v, int global, struct err *e)
{
    int64_t n;
    if (!isfinite(v) || v < 0)
        return err_set(e, "risk: %s must be a finite number >= 0 (0 = no limit)", d->name);
    if (d->is_int && v != 0 && v != 1) return err_set(e, "risk: %s must be 0 or 1", d->name);
    if (d->off == offsetof(struct risk_limits, halt_ratio)) {
        if (!global && v != 0)
            return err_set(e, "risk: halt_ratio is global only (it applies to every strategy)");
        if (v != 0 && v < 1) return err_set(e, "risk: halt_ratio must be 0 (never halt) or >= 1");
    }
    if (d->off == offsetof(struct risk_limits, price_band_pct) && fx_from_double(v, 9, &n) != 0)
        return err_set(e, "risk: price_band_pct takes at most 9 decimals");
    return 0;
}

static int limits_check(const struct risk_limits *l, int global, struct err *e)
{
    for (size_t i = 0; i < ARRAY_LEN(limit_defs); i++)
        if (limit_check(&limit_defs[i], limit_get(l, &limit_defs[i]), global, e) != 0) return -1;
    return 0;
}

/* ---- configuration ------------------------------------------------------------------ */

void risk_config_defaults(struct risk_config *cfg)
{
    static const double alert_at[SEV__COUNT] = {0.5, 0.75, 0.9, 1.0};
    memset(cfg, 0, sizeof *cfg);
    cfg->global.reference_max_age_s = 5;
    cfg->global.halt_ratio = 1.5;
    cfg->global.self_cross = 1;
    memcpy(cfg->alert_at, alert_at, sizeof alert_at);
}

void risk_config_free(struct risk_config *cfg)
{
    if (!cfg) return;
    for (int i = 0; i < cfg->nper; i++) free(cfg->ids[i]);
    for (int i = 0; i < cfg->nrestricted; i++) free(cfg->restricted[i]);
    free(cfg->ids);
    free(cfg->per);
    free(cfg->restricted);
    cfg->ids = NULL;
    cfg->per = NULL;
    cfg->restricted = NULL;
    cfg->nper = cfg->nrestricted = 0;
}

int risk_config_check(const struct risk_config *cfg, struct err *e)
{
    if (limits_check(&cfg->global, 1, e) != 0) return -1;
    for (int i = 0; i < cfg->nper; i++) {
        if (!cfg->ids[i] || !cfg->ids[i][0])
            return err_set(e, "risk: strategy limit set %d has no id", i + 1);
        for (int j = 0; j < i; j++)
            if (strcmp(cfg->ids[i], cfg->ids[j]) == 0)
                return err_set(e, "risk: strategy %s has two limit sets", cfg->ids[i]);
        if (limits_check(&cfg->per[i], 0, e) != 0) return err_prefix(e, "strategy %s", cfg->ids[i]);
    }
    if (cfg->nrestricted < 0 || cfg->nrestricted > RISK_RESTRICTED_MAX)
        return err_set(e, "risk: at most %d restricted symbols", RISK_RESTRICTED_MAX);
    for (int i = 0; i < cfg->nrestricted; i++)
        if (!cfg->restricted[i]) return err_set(e, "risk: restricted symbol %d is missing", i + 1);
    for (int s = 0; s < SEV__COUNT; s++)
        if (!isfinite(cfg->alert_at[s]) || cfg->alert_at[s] < 0)
            return err_set(e, "risk: alert threshold %s must be a finite number >= 0",
                           risk_severity_name(s));
    return 0;
}

/* ---- accounts ----------------------------------------------------------------------- */

/* Values derived from the limits, recomputed whenever they change. */
static void acct_derive(struct acct *a)
{
    int rc = fx_from_double(a->lim.price_band_pct, 9, &a->band_n); /* checked by limit_check */
    ASSERT(rc == 0);
}

static void acct_init(struct acct *a, const char *id, const struct risk_limits *lim)
{
    memset(a, 0, sizeof *a);
    a->id = id ? xstrdup(id) : NULL;
    a->lim = *lim;
    a->last_sym = -1;
    acct_derive(a);
}

struct acct *risk_acct_find(const struct risk *r, const char *strategy)
{
    for (int i = 0; i < r->nper; i++)
        if (strcmp(r->per[i]->id, strategy) == 0) return r->per[i];
    return NULL;
}

/* The strategy's account, created with an all-zero limit set when it has none. */
static struct acct *acct_get(struct risk *r, const char *strategy)
{
    struct acct *a = risk_acct_find(r, strategy);
    if (a) return a;
    if (r->nper == r->capper) {
        r->capper = r->capper ? r->capper * 2 : 8;
        r->per = xrealloc(r->per, sizeof *r->per * (size_t)r->capper);
    }
    static const struct risk_limits none;
    a = xmalloc(sizeof *a);
    acct_init(a, strategy, &none);
    r->per[r->nper++] = a;
    return a;
}

static struct acct *acct_of(struct risk *r, const char *strategy)
{
    return strategy ? acct_get(r, strategy) : &r->global;
}

struct risk *risk_new(const struct risk_config *cfg, const struct risk_env *env, struct bus *bus,
                      const struct clock *clock)
{
    struct err e;
    if (risk_config_check(cfg, &e) != 0) util_assert_fail(e.msg, __FILE__, __LINE__);
    ASSERT(env->ins && env->reference && env->last_data_us && env->exposure && env->pnl);
    ASSERT(bus && clock);
    struct risk *r = xcalloc(1, sizeof *r);
    r->env = *env;
    r->bus = bus;
    r->clock = clock;
    acct_init(&r->global, NULL, &cfg->global);
    for (int i = 0; i < cfg->nper; i++) {
        struct acct *a = acct_get(r, cfg->ids[i]);
        a->lim = cfg->per[i];
        acct_derive(a);
    }
    r->restricted = xcalloc((size_t)MAX(cfg->nrestricted, 1), sizeof *r->restricted);
    r->nrestricted = cfg->nrestricted;
    r->nrestricted_sym = env->ins->n;
    r->restricted_sym = xcalloc((size_t)MAX(r->nrestricted_sym, 1), 1);
    for (int i = 0; i < cfg->nrestricted; i++) {
        r->restricted[i] = xstrdup(cfg->restricted[i]);
        int sym = instruments_find(env->ins, cfg->restricted[i]);
        if (sym >= 0) r->restricted_sym[sym] = 1;
    }
    memcpy(r->alert_at, cfg->alert_at, sizeof r->alert_at);
    atomic_init(&r->kill, 0);
    return r;
}

void risk_free(struct risk *r)
{
    if (!r) return;
    for (int i = 0; i < r->nper; i++) {
        free(r->per[i]->id);
        free(r->per[i]);
    }
    for (int i = 0; i < r->nrestricted; i++) free(r->restricted[i]);
    free(r->per);
    free(r->restricted);
    free(r->restricted_sym);
    free(r);
}

void risk_publish(struct risk *r, enum event_type type, cJSON *data)
{
    struct event ev = {.type = type, .data = data};
    util_strlcpy(ev.source, "risk", sizeof ev.source);
    bus_publish(r->bus, &ev);
}

/* ---- trading states ----------------------------------------------------------------- */

static const char *const metric_limit[M__COUNT] = {
    "daily_loss_limit", "max_drawdown", "max_gross_exposure", "max_working_orders", "max_position"};

static cJSON *alert_data(const struct acct *a, enum risk_severity sev, const char *limit)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "severity", risk_severity_name(sev));
    if (limit) cJSON_AddStringToObject(d, "limit", limit);
    else cJSON_AddNullToObject(d, "limit");
    if (a->id) cJSON_AddStringToObject(d, "strategy", a->id);
    else cJSON_AddNullToObject(d, "strategy");
    return d;
}

/* Sets a's state, logging and publishing a RISK_ALERT when it changes. limit names the
 * limit that fired (NULL for the operator and a new day), with value and max. */
static void change_state(struct risk *r, struct acct *a, enum trading_state to, enum cause cause,
                         const char *why, const char *limit, double value, double max)
{
    enum trading_state from = a->state;
    a->state = to;
    a->cause = cause;
    if (from == to) return;
    char qs[160], qw[160];
    log_warn("risk", "trading state changed", "strategy=%s from=%s to=%s reason=%s",
             a->id ? log_quote(qs, sizeof qs, a->id) : "*", trading_state_name(from),
             trading_state_name(to), log_quote(qw, sizeof qw, why));
    enum risk_severity sev = to == TS_HALTED     ? SEV_CRITICAL
                             : to == TS_REDUCING ? SEV_HIGH
                                                 : SEV_LOW;
    cJSON *d = alert_data(a, sev, limit);
    cJSON_AddStringToObject(d, "state", trading_state_name(to));
    cJSON_AddStringToObject(d, "from", trading_state_name(from));
    cJSON_AddStringToObject(d, "reason", why);
    if (limit) {
        cJSON_AddNumberToObject(d, "value", value);
        cJSON_AddNumberToObject(d, "max", max);
    }
    risk_publish(r, EV_RISK_ALERT, d);
}

enum trading_state risk_state(const struct risk *r, const char *strategy)
{
    if (!strategy) return r->global.state;
    const struct acct *a = risk_acct_find(r, strategy);
    return a ? a->state : TS_ACTIVE;
}

void risk_set_state(struct risk *r, const char *strategy, enum trading_state s, const char *why)
{
    ASSERT(s == TS_ACTIVE || s == TS_REDUCING || s == TS_HALTED);
    enum cause cause = s == TS_ACTIVE ? CAUSE_NONE : CAUSE_OPERATOR;
    change_state(r, acct_of(r, strategy), s, cause, why ? why : "operator", NULL, 0, 0);
}

static void new_day(struct risk *r, struct acct *a)
{
    a->loss_level[0] = 0;
    a->crossed[M_DAILY_LOSS] = 0;
    if (a->cause == CAUSE_DAILY_LOSS)
        change_state(r, a, TS_ACTIVE, CAUSE_NONE, "new day", NULL, 0, 0);
}

void risk_new_day(struct risk *r)
{
    new_day(r, &r->global);
    for (int i = 0; i < r->nper; i++) new_day(r, r->per[i]);
}

/* ---- post-trade: loss limits and utilization ---------------------------------------- */

/* which: 0 daily loss, 1 drawdown; loss in money units (>= 0). */
static void loss_limit(struct risk *r, struct acct *a, int which, int64_t loss, double limit)
{
    double v = fx_to_double(loss, MONEY_DP), halt = r->global.lim.halt_ratio;
    int level = 0;
    if (limit > 0 && v >= limit) level = halt > 0 && v >= limit * halt ? 2 : 1;
    int rose = level > a->loss_level[which];
    a->loss_level[which] = level;
    enum trading_state to = level == 2 ? TS_HALTED : TS_REDUCING;
    if (!rose || to <= a->state) return;
    const char *name = which ? "max_drawdown" : "daily_loss_limit";
    change_state(r, a, to, which ? CAUSE_DRAWDOWN : CAUSE_DAILY_LOSS, name, name, v,
                 level == 2 ? limit * halt : limit);
}

static void utilization(struct risk *r, struct acct *a, enum metric m, double value, double max)
{
    double u = max > 0 ? value / max : 0;
    int level = 0;
    for (int s = 0; s < SEV__COUNT; s++)
        if (r->alert_at[s] > 0 && u >= r->alert_at[s] && s + 1 > level) level = s + 1;
    int rose = level > a->crossed[m];
    a->util[m] = u;
    a->crossed[m] = level;
    if (!rose) return;
    cJSON *d = alert_data(a, (enum risk_severity)(level - 1), metric_limit[m]);
    cJSON_AddNumberToObject(d, "utilization", u);
    cJSON_AddNumberToObject(d, "value", value);
    cJSON_AddNumberToObject(d, "max", max);
    risk_publish(r, EV_RISK_ALERT, d);
}

static int64_t magnitude(int64_t v)
{
    return v < 0 ? (v == INT64_MIN ? INT64_MAX : -v) : v;
}

/* Worst-case |position| in sym if every working order of one side filled. */
static double position_worst(const struct risk_exposure *x, int dp)
{
    __int128 up = (__int128)x->position + x->working_buy;
    __int128 down = (__int128)x->position - x->working_sell;
    __int128 w = MAX(up < 0 ? -up : up, down < 0 ? -down : down);
    return fx_to_double(w > INT64_MAX ? INT64_MAX : (int64_t)w, dp);
}

static void update_account(struct risk *r, struct acct *a)
{
    int64_t day_pnl = 0, drawdown = 0;
    r->env.pnl(r->env.arg, a->id, &day_pnl, &drawdown);
    int64_t loss = day_pnl < 0 ? magnitude(day_pnl) : 0;
    drawdown = drawdown > 0 ? drawdown : 0;
    loss_limit(r, a, 0, loss, a->lim.daily_loss_limit);
    loss_limit(r, a, 1, drawdown, a->lim.max_drawdown);

    /* Gross exposure and working orders are account-wide; the position is that of the
     * symbol the account last traded. */
    struct risk_exposure x = {0};
    int sym = a->last_sym >= 0 ? a->last_sym : (r->env.ins->n > 0 ? 0 : -1);
    if (sym >= 0) r->env.exposure(r->env.arg, a->id, sym, &x);
    double pos = a->last_sym >= 0 ? position_worst(&x, r->env.ins->v[sym].qty_dp) : 0;
    const struct risk_limits *l = &a->lim;
    utilization(r, a, M_DAILY_LOSS, fx_to_double(loss, MONEY_DP), l->daily_loss_limit);
    utilization(r, a, M_DRAWDOWN, fx_to_double(drawdown, MONEY_DP), l->max_drawdown);
    utilization(r, a, M_GROSS, fx_to_double(x.gross_exposure, MONEY_DP), l->max_gross_exposure);
    utilization(r, a, M_WORKING, x.working_orders, l->max_working_orders);
    utilization(r, a, M_POSITION, pos, l->max_position);
}

void risk_update(struct risk *r)
{
    update_account(r, &r->global);
    for (int i = 0; i < r->nper; i++) update_account(r, r->per[i]);
}

/* ---- kill switch -------------------------------------------------------------------- */

void risk_kill(struct risk *r, const char *why)
{
    if (atomic_fetch_or(&r->kill, KILL_LATCHED) & KILL_LATCHED) return;
    why = why ? why : "";
    char q[160];
    log_warn("risk", "kill switch engaged", "reason=%s", log_quote(q, sizeof q, why));
    cJSON *d = cJSON_CreateObject();
    cJSON_AddBoolToObject(d, "active", 1);
    cJSON_AddStringToObject(d, "reason", why);
    risk_publish(r, EV_KILL_SWITCH, d);
}

void risk_kill_async(struct risk *r)
{
    atomic_fetch_or(&r->kill, KILL_PENDING);
}

int risk_killed(const struct risk *r)
{
    return atomic_load(&r->kill) != 0;
}

int risk_kill_poll(struct risk *r)
{
    if (!(atomic_load(&r->kill) & KILL_PENDING)) return 0;
    risk_kill(r, "async"); /* latch before clearing PENDING: never unkilled in between */
    atomic_fetch_and(&r->kill, ~KILL_PENDING);
    return 1;
}

void risk_rearm(struct risk *r, const char *who)
{
    if (!(atomic_fetch_and(&r->kill, ~KILL_LATCHED) & KILL_LATCHED)) return;
    who = who ? who : "";
    char q[160];
    log_warn("risk", "kill switch re-armed", "by=%s", log_quote(q, sizeof q, who));
    cJSON *d = cJSON_CreateObject();
    cJSON_AddBoolToObject(d, "active", 0);
    cJSON_AddStringToObject(d, "by", who);
    risk_publish(r, EV_KILL_SWITCH, d);
}

/* ---- limits by name, JSON, counters ------------------------------------------------- */

int risk_set_limit(struct risk *r, const char *strategy, const char *name, double value,
                   struct err *e)
{
    const struct limit_def *d = limit_find(name);
    if (!d) return err_set(e, "risk: unknown limit \"%.64s\"", name ? name : "");
    if (strategy && !strategy[0]) return err_set(e, "risk: empty strategy id");
    if (limit_check(d, value, strategy == NULL, e) != 0) return -1;
    struct acct *a = acct_of(r, strategy);
    double old = limit_get(&a->lim, d);
    limit_put(&a->lim, d, value);
    acct_derive(a);
    char q[160];
    log_info("risk", "limit changed", "strategy=%s name=%s from=%.15g to=%.15g",
             strategy ? log_quote(q, sizeof q, strategy) : "*", d->name, old, value);
    return 0;
}

void risk_set_limits(struct risk *r, const char *strategy, const struct risk_limits *l)
{
    struct acct *a = acct_of(r, strategy);
    a->lim = *l;
    acct_derive(a);
}

static cJSON *limits_json(const struct risk_limits *l)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; i < ARRAY_LEN(limit_defs); i++)
        cJSON_AddNumberToObject(o, limit_defs[i].name, limit_get(l, &limit_defs[i]));
    return o;
}

static cJSON *util_json(const struct acct *a)
{
    static const char *const names[M__COUNT] = {"daily_loss", "drawdown", "gross_exposure",
                                                "working_orders", "position"};
    cJSON *o = cJSON_CreateObject();
    for (int m = 0; m < M__COUNT; m++) cJSON_AddNumberToObject(o, names[m], a->util[m]);
    return o;
}

cJSON *risk_limits_json(const struct risk *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "global", limits_json(&r->global.lim));
    cJSON *per = cJSON_AddObjectToObject(o, "strategies");
    cJSON *acc = cJSON_CreateObject();
    for (int i = 0; i < r->nper; i++) {
        const struct acct *a = r->per[i];
        cJSON_AddItemToObject(per, a->id, limits_json(&a->lim));
        cJSON *s = cJSON_AddObjectToObject(acc, a->id);
        cJSON_AddStringToObject(s, "state", trading_state_name(a->state));
        cJSON_AddItemToObject(s, "utilization", util_json(a));
    }
    cJSON_AddStringToObject(o, "state", trading_state_name(r->global.state));
    cJSON_AddBoolToObject(o, "killed", risk_killed(r));
    cJSON_AddItemToObject(o, "utilization", util_json(&r->global));
    cJSON_AddItemToObject(o, "accounts", acc);
    cJSON *restricted = cJSON_AddArrayToObject(o, "restricted");
    for (int i = 0; i < r->nrestricted; i++)
        cJSON_AddItemToArray(restricted, cJSON_CreateString(r->restricted[i]));
    cJSON *den = cJSON_AddObjectToObject(o, "denials");
    for (int i = 1; i < RISK__COUNT; i++)
        if (r->denials[i]) cJSON_AddNumberToObject(den, reason_names[i], (double)r->denials[i]);
    return o;
}

uint64_t risk_denials(const struct risk *r, enum risk_reason reason)
{
    return (unsigned)reason < RISK__COUNT ? r->denials[reason] : 0;
}
