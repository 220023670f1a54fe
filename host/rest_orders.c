/* rest_orders.c: orders, positions and the portfolio over REST (docs/api.md):
 *
 *   GET    /api/orders?status=working|all&limit&symbol&strategy   ORDER objects
 *   POST   /api/orders       a manual order {symbol, side, qty, limit?, stop?, tif?, ...}
 *   DELETE /api/orders/:id   cancel (202: the cancel is on its way to the venue)
 *   GET    /api/positions    per account (strategy id, "manual" for operators' orders)
 *   GET    /api/portfolio    totals, exposure, metrics, trading state
 *
 * A manual order takes the same path as a strategy's (oms_submit with strategy
 * "manual": the same risk checks, journal and events); a refusal is 409 risk_denied
 * with the reason code. Field types are checked here (400), values by risk (409), as
 * the Lua API does. After an order or a cancel the handler flushes the order manager
 * (journal commit, then the venue), so the reply shows where the order got to. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "host.h"
#include "oms.h"
#include "order.h"
#include "portfolio.h"
#include "rest.h"
#include "rest_internal.h"
#include "risk.h"
#include "util.h"

#define ORDERS_DEFAULT 500
#define ORDERS_MAX     10000

/* 409 {"error": {"code": "risk_denied", "message", "reason"}}. */
static void reply_denied(struct http_req *r, const char *reason, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "code", "risk_denied");
    cJSON_AddStringToObject(e, "message", msg && msg[0] ? msg : reason);
    cJSON_AddStringToObject(e, "reason", reason);
    http_audit_note(r, "risk_denied reason=%s", reason);
    http_reply_json(r, 409, o);
}

/* ---- listing ----------------------------------------------------------------------- */

struct order_filter {
    int sym; /* -1: any */
    const char *strategy;
};

static int order_matches(const struct order *o, const struct order_filter *f)
{
    return (f->sym < 0 || o->sym == f->sym) && (!f->strategy || !strcmp(o->strategy, f->strategy));
}

/* The newest `limit` matching orders, in id order. */
static void list(struct http_req *r, void *arg)
{
    struct host *h = arg;
    const char *status = http_query(r, "status");
    if (status && strcmp(status, "working") && strcmp(status, "all")) {
        http_reply_error(r, 400, "bad_request", "status: expected working or all");
        return;
    }
    int64_t limit;
    if (http_query_int(r, "limit", 1, ORDERS_MAX, ORDERS_DEFAULT, &limit) != 0) return;
    struct order_filter f = {-1, http_query(r, "strategy")};
    const char *sym = http_query(r, "symbol");
    if (sym && (f.sym = rest_symbol(r, h, sym)) < 0) return;
    struct order *const *v;
    int all = status && !strcmp(status, "all");
    int n = all ? order_book_all(oms_book(h->oms), &v) : order_book_working(oms_book(h->oms), &v);
    int first = n, taken = 0;
    while (first > 0 && taken < limit)
        if (order_matches(v[--first], &f)) taken++;
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(o, "orders");
    for (int i = first; i < n; i++)
        if (order_matches(v[i], &f)) cJSON_AddItemToArray(a, order_json(v[i], &h->instruments));
    http_reply_json(r, 200, o);
}

/* ---- a manual order ------------------------------------------------------------------ */

/* The optional prices into s->req (REQ_* bits). Returns 0 or -1 (replied). */
static int read_prices(struct http_req *r, const cJSON *body, struct oms_submit *s)
{
    static const struct {
        const char *key;
        unsigned bit;
    } prices[] = {{"limit", REQ_LIMIT},
                  {"stop", REQ_STOP},
                  {"take_profit", REQ_TAKE_PROFIT},
                  {"stop_loss", REQ_STOP_LOSS}};
    for (size_t i = 0; i < ARRAY_LEN(prices); i++) {
        double v;
        int rc = rest_number(r, body, prices[i].key, 0, &v);
        if (rc < 0) return -1;
        if (!rc) continue;
        s->req.has |= prices[i].bit;
        if (prices[i].bit == REQ_LIMIT) s->req.limit = v;
        else if (prices[i].bit == REQ_STOP) s->req.stop = v;
        else if (prices[i].bit == REQ_TAKE_PROFIT) s->req.take_profit = v;
        else s->req.stop_loss = v;
    }
    return 0;
}

/* The body into s (types only; risk checks the values). Returns 0 or -1 (replied). */
static int read_order(struct http_req *r, const cJSON *body, struct oms_submit *s)
{
    static const char *const keys[] = {"symbol", "side",        "qty",       "limit", "stop",
                                       "tif",    "take_profit", "stop_loss", "tag",   NULL};
    const char *side = NULL, *tif = NULL, *tag = NULL;
    if (rest_check_keys(r, body, keys) || rest_string(r, body, "symbol", 1, &s->req.symbol) < 0 ||
        rest_string(r, body, "side", 1, &side) < 0 ||
        rest_number(r, body, "qty", 1, &s->req.qty) < 0 ||
        rest_string(r, body, "tif", 0, &tif) < 0 || rest_string(r, body, "tag", 0, &tag) < 0 ||
        read_prices(r, body, s) != 0)
        return -1;
    if (strcmp(side, "buy") && strcmp(side, "sell")) {
        http_reply_error(r, 400, "bad_request", "side: expected buy or sell");
        return -1;
    }
    s->req.side = side[0] == 'b' ? 1 : -1;
    if (tif && (int)(s->tif = order_tif_parse(tif)) < 0) {
        http_reply_error(r, 400, "bad_request", "tif: expected day, gtc, ioc or fok");
        return -1;
    }
    if (tag && strlen(tag) >= ORDER_TAG_MAX) {
        http_reply_error(r, 400, "bad_request", "tag: at most %d bytes", ORDER_TAG_MAX - 1);
        return -1;
    }
    s->tag = tag;
    unsigned has = s->req.has;
    if ((has & (REQ_TAKE_PROFIT | REQ_STOP_LOSS)) && (s->tif == TIF_IOC || s->tif == TIF_FOK)) {
        http_reply_error(r, 400, "bad_request", "a bracket entry must rest: tif day or gtc");
        return -1;
    }
    s->type = (has & REQ_STOP) && (has & REQ_LIMIT) ? OT_STOP_LIMIT
              : (has & REQ_STOP)                    ? OT_STOP
              : (has & REQ_LIMIT)                   ? OT_LIMIT
                                                    : OT_MARKET;
    return 0;
}

static void submit(struct http_req *r, void *arg)
{
    struct host *h = arg;
    cJSON *body = http_body_json(r, 1);
    struct oms_submit s = {.tif = TIF_DAY};
    s.req.strategy = "manual";
    if (!body || read_order(r, body, &s) != 0) return;
    const char *reason = NULL;
    char msg[200];
    uint64_t id = oms_submit(h->oms, &s, &reason, msg, sizeof msg);
    if (!id) {
        reply_denied(r, reason, msg);
        return;
    }
    http_audit_note(r, "order=%llu", (unsigned long long)id);
    oms_flush(h->oms);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "order",
                          order_json(order_book_get(oms_book(h->oms), id), &h->instruments));
    http_reply_json(r, 201, o);
}

static void cancel(struct http_req *r, void *arg)
{
    struct host *h = arg;
    const char *s = http_param(r, "id");
    char *end;
    errno = 0;
    unsigned long long id = s ? strtoull(s, &end, 10) : 0;
    if (!s || !*s || *end || errno || id == 0 || s[0] == '-') {
        http_reply_error(r, 400, "bad_request", "an order id is a positive integer");
        return;
    }
    const char *reason = NULL;
    if (oms_cancel(h->oms, NULL, id, &reason) != 0) {
        if (!strcmp(reason, "UNKNOWN_ORDER"))
            http_reply_error(r, 404, "not_found", "no order %llu", id);
        else if (!strcmp(reason, "NOT_WORKING"))
            http_reply_error(r, 409, "conflict", "order %llu is no longer working", id);
        else reply_denied(r, reason, NULL);
        return;
    }
    oms_flush(h->oms);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "order",
                          order_json(order_book_get(oms_book(h->oms), id), &h->instruments));
    http_reply_json(r, 202, o);
}

/* ---- positions and portfolio ------------------------------------------------------- */

/* Adds to o a copy of its member from under the name to (the contract's names). */
static void alias(cJSON *o, const char *from, const char *to)
{
    cJSON_AddItemToObject(o, to, cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(o, from), 1));
}

static void add_positions(cJSON *a, struct host *h, const char *account, int flat)
{
    struct portfolio *p = oms_portfolio(h->oms);
    const struct position *const *ps;
    int n = portfolio_positions(p, account, &ps);
    for (int i = 0; i < n; i++) {
        if (!flat && ps[i]->qty == 0) continue;
        cJSON *o = portfolio_position_json(p, ps[i]);
        alias(o, "mark", "last");
        alias(o, "unrealized", "unrealized_pnl");
        alias(o, "realized", "realized_pnl");
        cJSON_AddStringToObject(o, "strategy", account);
        cJSON_AddItemToArray(a, o);
    }
}

/* One row per (account, symbol); flat positions only with ?flat=true. */
static void positions(struct http_req *r, void *arg)
{
    struct host *h = arg;
    const char *flat = http_query(r, "flat"), *only = http_query(r, "strategy");
    if (flat && strcmp(flat, "true") && strcmp(flat, "false")) {
        http_reply_error(r, 400, "bad_request", "flat: expected true or false");
        return;
    }
    const char *const *accounts;
    int n = portfolio_accounts(oms_portfolio(h->oms), &accounts);
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(o, "positions");
    for (int i = 0; i < n; i++)
        if (!only || !strcmp(only, accounts[i]))
            add_positions(a, h, accounts[i], flat && !strcmp(flat, "true"));
    http_reply_json(r, 200, o);
}

/* GET /api/portfolio replies are kept for reuse: clients polling it (pages, monitors)
 * often ask between two changes, and under load many requests arrive between two
 * events. The reply is a function of the account asked for, the portfolio's
 * generation (portfolio_generation: every fill, mark, sample and day roll), the trading
 * state and the kill switch, so equal keys give equal bytes. */
static cJSON *portfolio_reply(struct host *h, const char *account);

struct rest_cache {
    char account[64]; /* "" for the total */
    int valid, state, killed;
    uint64_t gen;
    struct buf body;
};

void rest_free(struct host *h)
{
    if (!h->rest_cache) return;
    buf_free(&h->rest_cache->body);
    free(h->rest_cache);
    h->rest_cache = NULL;
}

static int cache_hit(const struct rest_cache *c, const char *account, uint64_t gen, int state,
                     int killed)
{
    return c->valid && c->gen == gen && c->state == state && c->killed == killed &&
           !strcmp(c->account, account ? account : "");
}

/* The total, or one account with ?strategy=ID. */
static void portfolio(struct http_req *r, void *arg)
{
    struct host *h = arg;
    const char *account = http_query(r, "strategy");
    struct portfolio *p = oms_portfolio(h->oms);
    struct risk *rk = oms_risk(h->oms);
    if (!h->rest_cache) h->rest_cache = xcalloc(1, sizeof *h->rest_cache);
    struct rest_cache *c = h->rest_cache;
    uint64_t gen = portfolio_generation(p);
    int state = (int)risk_state(rk, account), killed = risk_killed(rk);
    if (!cache_hit(c, account, gen, state, killed)) {
        cJSON *o = portfolio_reply(h, account);
        char *text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        buf_reset(&c->body);
        buf_puts(&c->body, text);
        free(text);
        util_strlcpy(c->account, account ? account : "", sizeof c->account);
        c->valid = strlen(account ? account : "") < sizeof c->account;
        c->gen = gen, c->state = state, c->killed = killed;
    }
    http_reply_text(r, 200, "application/json", c->body.p, c->body.len);
}

static cJSON *portfolio_reply(struct host *h, const char *account)
{
    struct portfolio *p = oms_portfolio(h->oms);
    struct risk *rk = oms_risk(h->oms);
    cJSON *o = portfolio_totals_json(p, account);
    alias(o, "realized", "realized_pnl");
    alias(o, "unrealized", "unrealized_pnl");
    cJSON *x = cJSON_AddObjectToObject(o, "exposure");
    cJSON_AddItemToObject(x, "gross", cJSON_Duplicate(cJSON_GetObjectItem(o, "gross_exposure"), 1));
    cJSON_AddItemToObject(x, "net", cJSON_Duplicate(cJSON_GetObjectItem(o, "net_exposure"), 1));
    cJSON_AddItemToObject(o, "metrics", portfolio_metrics_json(p, account));
    cJSON_AddStringToObject(o, "trading_state", trading_state_name(risk_state(rk, account)));
    cJSON_AddBoolToObject(o, "kill", risk_killed(rk));
    if (account) cJSON_AddStringToObject(o, "strategy", account);
    else cJSON_AddNullToObject(o, "strategy");
    return o;
}

static const struct http_route routes[] = {
    {HTTP_GET, "/api/orders", list, 0},          {HTTP_POST, "/api/orders", submit, 0},
    {HTTP_DELETE, "/api/orders/:id", cancel, 0}, {HTTP_GET, "/api/positions", positions, 0},
    {HTTP_GET, "/api/portfolio", portfolio, 0},
};

void rest_orders_routes(struct http *s, struct host *h)
{
    http_add_routes(s, routes, (int)ARRAY_LEN(routes), h);
}
