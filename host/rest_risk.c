/* rest_risk.c: the risk guardian over REST (docs/api.md):
 *
 *   GET    /api/limits[?strategy=ID]   limits with their use, the trading state, the kill switch
 *   PUT    /api/limits[?strategy=ID]   {name: value, ...}: all or nothing
 *   POST   /api/kill                   {flatten?}: latch the kill switch, cancel (and flatten)
 *   DELETE /api/kill                   re-arm
 *   GET    /api/risk-checks?limit=N    recent RISK_CHECK denials
 *   GET    /api/alerts?limit=N         recent ALERT and RISK_ALERT events
 *
 * Limits are risk.c's, by name (risk_set_limit checks each value); a PUT that fails on
 * one name puts back the ones it had already changed, so a client never leaves half a
 * change behind. The kill switch routes are exempt from the rate limit: an operator
 * hammering the API must still be able to stop trading. Both go through oms_kill and
 * oms_rearm, as SIGUSR1 and the console do. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "event_log.h"
#include "host.h"
#include "oms.h"
#include "order.h"
#include "rest.h"
#include "rest_internal.h"
#include "risk.h"
#include "strategy.h"
#include "util.h"

/* Which utilization figure (risk_limits_json) measures which limit. */
static const char *utilization_key(const char *limit)
{
    static const char *const map[][2] = {{"daily_loss_limit", "daily_loss"},
                                         {"max_drawdown", "drawdown"},
                                         {"max_gross_exposure", "gross_exposure"},
                                         {"max_working_orders", "working_orders"},
                                         {"max_position", "position"}};
    for (size_t i = 0; i < ARRAY_LEN(map); i++)
        if (!strcmp(map[i][0], limit)) return map[i][1];
    return NULL;
}

/* Rows {name, value, used, utilization, scope} of one limit set. */
static void add_rows(cJSON *rows, const cJSON *set, const cJSON *util, const char *scope)
{
    for (const cJSON *m = set ? set->child : NULL; m; m = m->next) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", m->string);
        cJSON_AddNumberToObject(o, "value", m->valuedouble);
        const char *k = utilization_key(m->string);
        const cJSON *u = k ? cJSON_GetObjectItemCaseSensitive(util, k) : NULL;
        if (u && m->valuedouble > 0) {
            cJSON_AddNumberToObject(o, "used", u->valuedouble * m->valuedouble);
            cJSON_AddNumberToObject(o, "utilization", u->valuedouble);
        } else {
            cJSON_AddNullToObject(o, "used");
            cJSON_AddNullToObject(o, "utilization");
        }
        cJSON_AddStringToObject(o, "scope", scope);
        cJSON_AddItemToArray(rows, o);
    }
}

static cJSON *limits_json(struct host *h)
{
    cJSON *rj = risk_limits_json(oms_risk(h->oms));
    cJSON *o = cJSON_CreateObject();
    cJSON *state = cJSON_GetObjectItemCaseSensitive(rj, "state");
    cJSON_AddStringToObject(o, "trading_state", cJSON_GetStringValue(state));
    cJSON_AddBoolToObject(o, "kill", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rj, "killed")));
    cJSON *rows = cJSON_AddArrayToObject(o, "limits");
    add_rows(rows, cJSON_GetObjectItemCaseSensitive(rj, "global"),
             cJSON_GetObjectItemCaseSensitive(rj, "utilization"), "global");
    const cJSON *accounts = cJSON_GetObjectItemCaseSensitive(rj, "accounts");
    for (const cJSON *s = cJSON_GetObjectItemCaseSensitive(rj, "strategies")->child; s;
         s = s->next) {
        const cJSON *acct = cJSON_GetObjectItemCaseSensitive(accounts, s->string);
        add_rows(rows, s, cJSON_GetObjectItemCaseSensitive(acct, "utilization"), s->string);
    }
    /* per-account states, restricted symbols and denial counts, as risk keeps them */
    static const char *const passed[] = {"accounts", "restricted", "denials"};
    for (size_t i = 0; i < ARRAY_LEN(passed); i++)
        cJSON_AddItemToObject(o, passed[i], cJSON_DetachItemFromObject(rj, passed[i]));
    cJSON_Delete(rj);
    return o;
}

static void limits_get(struct http_req *r, void *arg)
{
    http_reply_json(r, 200, limits_json(arg));
}

/* The ?strategy= account a PUT changes: NULL (global), or one the host knows (an
 * instance, "manual", or one risk already has a set for). Returns -1 after replying. */
static int limits_account(struct http_req *r, struct host *h, const cJSON *current,
                          const char **out)
{
    const char *id = http_query(r, "strategy");
    *out = id;
    if (!id || !strcmp(id, "manual") || strategies_find(h->strategies, id) ||
        cJSON_GetObjectItemCaseSensitive(current, id))
        return 0;
    http_reply_error(r, 404, "not_found", "no strategy \"%.64s\"", id);
    return -1;
}

/* Checks every member's name and type before anything changes. */
static int limits_check_body(struct http_req *r, const cJSON *body, const cJSON *names)
{
    for (const cJSON *m = body->child; m; m = m->next) {
        if (!cJSON_GetObjectItemCaseSensitive(names, m->string)) {
            http_reply_error(r, 400, "bad_request", "unknown limit \"%.64s\"", m->string);
            return -1;
        }
        if (!cJSON_IsBool(m) && !(cJSON_IsNumber(m) && isfinite(m->valuedouble))) {
            http_reply_error(r, 400, "bad_request", "limit %s: a finite number expected",
                             m->string);
            return -1;
        }
    }
    return 0;
}

static void limits_put(struct http_req *r, void *arg)
{
    struct host *h = arg;
    struct risk *rk = oms_risk(h->oms);
    cJSON *body = http_body_json(r, 1);
    if (!body) return;
    cJSON *before = risk_limits_json(rk);
    const cJSON *global = cJSON_GetObjectItemCaseSensitive(before, "global");
    const cJSON *per = cJSON_GetObjectItemCaseSensitive(before, "strategies");
    const char *account;
    if (limits_account(r, h, per, &account) != 0 || limits_check_body(r, body, global) != 0) {
        cJSON_Delete(before);
        return;
    }
    const cJSON *old = account ? cJSON_GetObjectItemCaseSensitive(per, account) : global;
    struct err e;
    for (const cJSON *m = body->child; m; m = m->next) {
        double v = cJSON_IsBool(m) ? cJSON_IsTrue(m) : m->valuedouble;
        if (risk_set_limit(rk, account, m->string, v, &e) == 0) continue;
        for (const cJSON *u = body->child; u != m; u = u->next) { /* put back */
            const cJSON *was = cJSON_GetObjectItemCaseSensitive(old, u->string);
            risk_set_limit(rk, account, u->string, was ? was->valuedouble : 0, NULL);
        }
        cJSON_Delete(before);
        http_reply_err(r, 400, "bad_request", &e);
        return;
    }
    cJSON_Delete(before);
    http_audit_note(r, "scope=%s", account ? account : "global");
    http_reply_json(r, 200, limits_json(h));
}

/* Working orders the kill switch will cancel (flatten orders are left to finish). */
static int cancelable(struct host *h)
{
    struct order *const *w;
    int n = order_book_working(oms_book(h->oms), &w), count = 0;
    for (int i = 0; i < n; i++) count += !w[i]->cancel_pending && !w[i]->flatten;
    return count;
}

static void kill_engage(struct http_req *r, void *arg)
{
    struct host *h = arg;
    int flatten = 0;
    /* the body is optional: an empty POST is the quickest way to stop */
    if (http_body_len(r) > 0) {
        static const char *const keys[] = {"flatten", NULL};
        cJSON *body = http_body_json(r, 1);
        if (!body || rest_check_keys(r, body, keys) || rest_bool(r, body, "flatten", &flatten) < 0)
            return;
    }
    int n = cancelable(h);
    char why[96];
    snprintf(why, sizeof why, "api %s", http_peer(r));
    oms_kill(h->oms, why, flatten);
    oms_flush(h->oms);
    http_audit_note(r, "canceled=%d flatten=%d", n, flatten);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "kill", 1);
    cJSON_AddNumberToObject(o, "canceled", n);
    cJSON_AddBoolToObject(o, "flatten", flatten);
    http_reply_json(r, 200, o);
}

static void kill_rearm(struct http_req *r, void *arg)
{
    struct host *h = arg;
    char who[96];
    snprintf(who, sizeof who, "api %s", http_peer(r));
    oms_rearm(h->oms, who);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "kill", risk_killed(oms_risk(h->oms)));
    http_reply_json(r, 200, o);
}

static void risk_checks(struct http_req *r, void *arg)
{
    rest_reply_recent(r, arg, "risk_checks", EV_BIT(EV_RISK_CHECK));
}

static void alerts(struct http_req *r, void *arg)
{
    rest_reply_recent(r, arg, "alerts", EV_BIT(EV_ALERT) | EV_BIT(EV_RISK_ALERT));
}

static const struct http_route routes[] = {
    {HTTP_GET, "/api/limits", limits_get, 0},
    {HTTP_PUT, "/api/limits", limits_put, 0},
    {HTTP_POST, "/api/kill", kill_engage, HTTP_UNLIMITED},
    {HTTP_DELETE, "/api/kill", kill_rearm, HTTP_UNLIMITED},
    {HTTP_GET, "/api/risk-checks", risk_checks, 0},
    {HTTP_GET, "/api/alerts", alerts, 0},
};

void rest_risk_routes(struct http *s, struct host *h)
{
    http_add_routes(s, routes, (int)ARRAY_LEN(routes), h);
}
