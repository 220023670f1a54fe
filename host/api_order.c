/* api_order.c: orders and positions from Lua (DESIGN.md §6): buy, sell, cancel,
 * cancel_all, replace, flatten, position, positions, orders, portfolio; and the tables
 * on_order and on_fill receive.
 *
 * Every function checks all of its arguments before acting: a wrong type, an unknown
 * option or an impossible combination raises an error naming the argument, and nothing
 * is created. Values of the right type go to the order manager (oms.h), whose risk
 * check refuses NaN, infinities, zero, negatives and off-grid values with a reason
 * code: the script gets `nil, reason` and nothing is left behind either. Orders are
 * the strategy's own: it can neither see nor cancel another strategy's. Nothing here
 * calls back into Lua; the events an order causes are queued on the bus until the
 * current callback returns. */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <string.h>

#include "api.h"
#include "fixed.h"
#include "host.h"
#include "oms.h"
#include "order.h"
#include "portfolio.h"
#include "sbx.h"
#include "util.h"

static struct oms *oms_of(lua_State *L, struct api_ctx **cp)
{
    struct api_ctx *c = api_ctx_of(L);
    *cp = c;
    if (!c->host || !c->host->oms) luaL_error(L, "orders are not available in this context");
    return c->host->oms;
}

static int refused(lua_State *L, const char *reason)
{
    lua_pushnil(L);
    lua_pushstring(L, reason);
    return 2;
}

/* opts.key as a number (the field must be a number when present). Returns 1 if present. */
static int opt_number(lua_State *L, int idx, const char *fn, const char *key, double *out)
{
    lua_getfield(L, idx, key);
    int present = !lua_isnil(L, -1);
    if (present && lua_type(L, -1) != LUA_TNUMBER)
        luaL_error(L, "bad option '%s' to '%s' (number expected, got %s)", key, fn,
                   luaL_typename(L, -1));
    if (present) *out = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return present;
}

/* Refuses keys other than those listed: a typo must not silently drop a stop loss. */
static void check_keys(lua_State *L, int idx, const char *fn, const char *const *keys)
{
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        int ok = 0;
        if (lua_type(L, -1) == LUA_TSTRING)
            for (const char *const *k = keys; *k && !ok; k++)
                ok = strcmp(lua_tostring(L, -1), *k) == 0;
        if (!ok) {
            const char *name = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
            luaL_error(L, "bad option '%s' to '%s' (unknown option)", name, fn);
        }
    }
}

/* Strict types: "10" is not a quantity and 1 is not a symbol (luaL_check* would convert). */
static const char *string_arg(lua_State *L, int idx, const char *fn)
{
    if (lua_type(L, idx) != LUA_TSTRING)
        luaL_error(L, "bad argument #%d to '%s' (string expected, got %s)", idx, fn,
                   luaL_typename(L, idx));
    return lua_tostring(L, idx);
}

static lua_Number number_arg(lua_State *L, int idx, const char *fn)
{
    if (lua_type(L, idx) != LUA_TNUMBER)
        luaL_error(L, "bad argument #%d to '%s' (number expected, got %s)", idx, fn,
                   luaL_typename(L, idx));
    return lua_tonumber(L, idx);
}

/* One pass over buy()/sell()'s options table (at idx): each key is checked once, an
 * unknown key or a wrong type raises an error naming it. */
static void read_opts(lua_State *L, int idx, const char *fn, struct oms_submit *s)
{
    enum { PRICE, TIF, TAG };
    static const struct {
        const char *name;
        int kind;
        unsigned bit; /* REQ_* for prices */
    } opts[] = {{"limit", PRICE, REQ_LIMIT},
                {"stop", PRICE, REQ_STOP},
                {"trail", PRICE, REQ_TRAIL},
                {"take_profit", PRICE, REQ_TAKE_PROFIT},
                {"stop_loss", PRICE, REQ_STOP_LOSS},
                {"tif", TIF, 0},
                {"tag", TAG, 0}};
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
        size_t k = 0;
        while (k < ARRAY_LEN(opts) && strcmp(key, opts[k].name) != 0) k++;
        if (k == ARRAY_LEN(opts) || lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "bad option '%s' to '%s' (unknown option)", key, fn);
        int want = opts[k].kind == PRICE ? LUA_TNUMBER : LUA_TSTRING;
        if (lua_type(L, -1) != want)
            luaL_error(L, "bad option '%s' to '%s' (%s expected, got %s)", key, fn,
                       want == LUA_TNUMBER ? "number" : "string", luaL_typename(L, -1));
        if (opts[k].kind == PRICE) {
            unsigned bit = opts[k].bit;
            double v = lua_tonumber(L, -1);
            s->req.has |= bit;
            if (bit == REQ_LIMIT) s->req.limit = v;
            else if (bit == REQ_STOP) s->req.stop = v;
            else if (bit == REQ_TRAIL) s->req.trail = v;
            else if (bit == REQ_TAKE_PROFIT) s->req.take_profit = v;
            else s->req.stop_loss = v;
        } else if (opts[k].kind == TIF) {
            const char *tif = lua_tostring(L, -1);
            if ((int)(s->tif = order_tif_parse(tif)) < 0)
                luaL_error(L, "bad option 'tif' to '%s' (day, gtc, ioc or fok expected, got '%s')",
                           fn, tif);
        } else {
            s->tag = lua_tostring(L, -1); /* the table keeps it alive */
            if (strlen(s->tag) >= ORDER_TAG_MAX)
                luaL_error(L, "bad option 'tag' to '%s' (at most %d bytes)", fn, ORDER_TAG_MAX - 1);
        }
        lua_pop(L, 1);
    }
}

static int place(lua_State *L, int side, const char *fn)
{
    struct api_ctx *c;
    struct oms *o = oms_of(L, &c);
    struct oms_submit s = {.tif = TIF_DAY};
    s.req.strategy = c->strategy_id;
    s.req.side = side;
    s.req.symbol = string_arg(L, 1, fn);
    s.req.qty = number_arg(L, 2, fn);
    if (!lua_isnoneornil(L, 3)) {
        if (lua_type(L, 3) != LUA_TTABLE)
            luaL_error(L, "bad argument #3 to '%s' (table expected, got %s)", fn,
                       luaL_typename(L, 3));
        read_opts(L, 3, fn, &s);
    }
    if ((s.req.has & REQ_TRAIL) && (s.req.has & (REQ_LIMIT | REQ_STOP)))
        luaL_error(L, "bad options to '%s' (trail cannot be combined with limit or stop)", fn);
    if ((s.req.has & (REQ_TAKE_PROFIT | REQ_STOP_LOSS)) && (s.req.has & REQ_TRAIL))
        luaL_error(L, "bad options to '%s' (a bracket entry cannot be a trailing stop)", fn);
    if ((s.req.has & (REQ_TAKE_PROFIT | REQ_STOP_LOSS)) && (s.tif == TIF_IOC || s.tif == TIF_FOK))
        luaL_error(L, "bad options to '%s' (a bracket entry must rest: tif day or gtc)", fn);
    s.type = (s.req.has & REQ_TRAIL)                             ? OT_TRAIL
             : (s.req.has & REQ_STOP) && (s.req.has & REQ_LIMIT) ? OT_STOP_LIMIT
             : (s.req.has & REQ_STOP)                            ? OT_STOP
             : (s.req.has & REQ_LIMIT)                           ? OT_LIMIT
                                                                 : OT_MARKET;
    s.version = c->version;
    s.sha256 = c->sha256;
    const char *reason;
    uint64_t id = oms_submit(o, &s, &reason, NULL, 0);
    if (!id) return refused(L, reason);
    c->orders_touched = 1;
    lua_pushnumber(L, (lua_Number)id);
    return 1;
}

static int l_buy(lua_State *L)
{
    return place(L, 1, "buy");
}

static int l_sell(lua_State *L)
{
    return place(L, -1, "sell");
}

static uint64_t id_arg(lua_State *L, int idx, const char *fn)
{
    lua_Number n = number_arg(L, idx, fn);
    if (!(n >= 1 && n <= 9007199254740992.0) || n != floor(n))
        luaL_error(L, "bad argument #%d to '%s' (order id expected, a positive integer)", idx, fn);
    return (uint64_t)n;
}

/* An optional symbol argument: its instrument id, or -1 when absent. An unknown symbol
 * matches nothing (-2). */
static int opt_symbol(lua_State *L, int idx, const struct host *h, const char *fn)
{
    if (lua_isnoneornil(L, idx)) return -1;
    int sym = instruments_find(&h->instruments, string_arg(L, idx, fn));
    return sym < 0 ? -2 : sym;
}

static int l_cancel(lua_State *L)
{
    struct api_ctx *c;
    struct oms *o = oms_of(L, &c);
    uint64_t id = id_arg(L, 1, "cancel");
    const char *reason;
    if (oms_cancel(o, c->strategy_id, id, &reason) != 0) return refused(L, reason);
    c->orders_touched = 1;
    lua_pushboolean(L, 1);
    return 1;
}

static int l_cancel_all(lua_State *L)
{
    struct api_ctx *c;
    struct oms *o = oms_of(L, &c);
    int sym = opt_symbol(L, 1, c->host, "cancel_all");
    int n = sym == -2 ? 0 : oms_cancel_all(o, c->strategy_id, sym);
    if (n) c->orders_touched = 1;
    lua_pushinteger(L, n);
    return 1;
}

static int l_replace(lua_State *L)
{
    static const char *const keys[] = {"qty", "limit", "stop", NULL};
    struct api_ctx *c;
    struct oms *o = oms_of(L, &c);
    uint64_t id = id_arg(L, 1, "replace");
    if (lua_type(L, 2) != LUA_TTABLE)
        luaL_error(L, "bad argument #2 to 'replace' (table expected, got %s)", luaL_typename(L, 2));
    check_keys(L, 2, "replace", keys);
    double qty = 0, limit = 0, stop = 0;
    unsigned has = 0;
    if (opt_number(L, 2, "replace", "qty", &qty)) has |= OMS_REPLACE_QTY;
    if (opt_number(L, 2, "replace", "limit", &limit)) has |= REQ_LIMIT;
    if (opt_number(L, 2, "replace", "stop", &stop)) has |= REQ_STOP;
    if (!has) return luaL_argerror(L, 2, "qty, limit or stop expected");
    const char *reason;
    if (oms_replace(o, c->strategy_id, id, has, qty, limit, stop, &reason) != 0)
        return refused(L, reason);
    c->orders_touched = 1;
    lua_pushboolean(L, 1);
    return 1;
}

static int l_flatten(lua_State *L)
{
    struct api_ctx *c;
    struct oms *o = oms_of(L, &c);
    int sym = opt_symbol(L, 1, c->host, "flatten");
    if (sym == -2) {
        lua_pushinteger(L, 0);
        return 1;
    }
    const char *reason;
    int n = oms_flatten(o, c->strategy_id, sym, &reason);
    if (n < 0) return refused(L, reason);
    c->orders_touched = 1;
    lua_pushinteger(L, n);
    return 1;
}

static void set_number(lua_State *L, const char *key, double v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, -2, key);
}

static void set_string(lua_State *L, const char *key, const char *v)
{
    lua_pushstring(L, v);
    lua_setfield(L, -2, key);
}

static double money(int64_t v)
{
    return fx_to_double(v, MONEY_DP);
}

static int l_position(lua_State *L)
{
    struct api_ctx *c;
    struct oms *o = oms_of(L, &c);
    int sym = instruments_find(&c->host->instruments, string_arg(L, 1, "position"));
    int64_t q = sym < 0 ? 0 : portfolio_qty(oms_portfolio(o), c->strategy_id, sym);
    lua_pushnumber(L, sym < 0 ? 0 : fx_to_double(q, c->host->instruments.v[sym].qty_dp));
    return 1;
}

static void push_position(lua_State *L, const struct host *h, struct portfolio *pf,
                          const struct position *p)
{
    const struct instrument *in = &h->instruments.v[p->sym];
    double qty = fx_to_double(p->qty, in->qty_dp);
    int64_t mark = portfolio_mark_of(pf, p->sym);
    lua_createtable(L, 0, 7);
    set_string(L, "symbol", in->symbol);
    set_number(L, "qty", qty);
    set_number(L, "avg_price", qty != 0 ? money(p->cost) / qty : 0);
    set_number(L, "mark", fx_to_double(mark, in->px_dp));
    set_number(L, "realized", money(p->realized));
    set_number(L, "unrealized",
               mark && p->qty ? money(money_notional(in, mark, p->qty) - p->cost) : 0);
    set_number(L, "commissions", money(p->commissions));
}

static int l_positions(lua_State *L)
{
    struct api_ctx *c;
    struct oms *o = oms_of(L, &c);
    const struct position *const *ps;
    int n = portfolio_positions(oms_portfolio(o), c->strategy_id, &ps);
    lua_createtable(L, 0, n);
    for (int i = 0; i < n; i++) {
        if (ps[i]->qty == 0) continue;
        push_position(L, c->host, oms_portfolio(o), ps[i]);
        lua_setfield(L, -2, c->host->instruments.v[ps[i]->sym].symbol);
    }
    return 1;
}

void api_push_order(lua_State *L, const struct host *h, const struct order *d)
{
    static const char *const roles[] = {"single", "entry", "take_profit", "stop_loss"};
    const struct instrument *in = &h->instruments.v[d->sym];
    lua_createtable(L, 0, 16);
    set_number(L, "id", (double)d->id);
    set_string(L, "symbol", in->symbol);
    set_string(L, "side", order_side_name(d->side));
    set_string(L, "type", order_type_name(d->type));
    set_string(L, "tif", order_tif_name(d->tif));
    set_string(L, "status", order_status_name(d->status));
    set_string(L, "role", roles[d->role]);
    set_number(L, "qty", fx_to_double(d->qty, in->qty_dp));
    set_number(L, "filled", fx_to_double(d->filled_qty, in->qty_dp));
    set_number(L, "leaves", fx_to_double(order_leaves(d), in->qty_dp));
    if (d->limit_px) set_number(L, "limit", fx_to_double(d->limit_px, in->px_dp));
    if (d->stop_px) set_number(L, "stop", fx_to_double(d->stop_px, in->px_dp));
    if (d->filled_qty > 0)
        set_number(L, "avg_price",
                   money(d->fill_notional) / fx_to_double(d->filled_qty, in->qty_dp));
    if (d->tag[0]) set_string(L, "tag", d->tag);
    if (d->reason[0]) set_string(L, "reason", d->reason);
    if (d->parent) set_number(L, "parent", (double)d->parent);
    set_number(L, "version", d->version);
    set_number(L, "time", (double)d->updated_us / 1e6);
}

void api_push_fill(lua_State *L, const struct host *h, const struct order *d, const struct fill *f)
{
    const struct instrument *in = &h->instruments.v[f->sym];
    lua_createtable(L, 0, 10);
    set_number(L, "order_id", (double)f->order_id);
    set_string(L, "exec_id", f->exec_id);
    set_string(L, "symbol", in->symbol);
    set_string(L, "side", f->side > 0 ? "buy" : "sell");
    set_number(L, "price", fx_to_double(f->px, in->px_dp));
    set_number(L, "qty", fx_to_double(f->qty, in->qty_dp));
    set_number(L, "commission", money(f->commission));
    set_number(L, "time", (double)f->ts_us / 1e6);
    set_number(L, "remaining", fx_to_double(order_leaves(d), in->qty_dp));
    if (d->tag[0]) set_string(L, "tag", d->tag);
}

static int l_orders(lua_State *L)
{
    struct api_ctx *c;
    struct oms *o = oms_of(L, &c);
    int sym = opt_symbol(L, 1, c->host, "orders");
    struct order *const *w;
    int n = order_book_working(oms_book(o), &w), k = 0;
    lua_newtable(L);
    for (int i = 0; i < n && sym != -2; i++) {
        if (strcmp(w[i]->strategy, c->strategy_id) != 0 || (sym >= 0 && w[i]->sym != sym)) continue;
        api_push_order(L, c->host, w[i]);
        lua_rawseti(L, -2, ++k);
    }
    return 1;
}

static int l_portfolio(lua_State *L)
{
    struct api_ctx *c;
    struct oms *o = oms_of(L, &c);
    struct portfolio_totals t;
    portfolio_totals(oms_portfolio(o), c->strategy_id, &t);
    lua_createtable(L, 0, 10);
    set_number(L, "cash", money(t.cash));
    set_number(L, "equity", money(t.equity));
    set_number(L, "realized", money(t.realized));
    set_number(L, "unrealized", money(t.unrealized));
    set_number(L, "commissions", money(t.commissions));
    set_number(L, "exposure", money(t.gross_exposure));
    set_number(L, "net_exposure", money(t.net_exposure));
    set_number(L, "day_pnl", money(t.day_pnl));
    set_number(L, "drawdown", money(t.drawdown));
    set_number(L, "fills", (double)t.fills);
    return 1;
}

int api_order_register(struct sbx *s, struct err *e)
{
    (void)e;
    lua_State *L = sbx_lua(s);
    static const luaL_Reg fns[] = {
        {"buy", l_buy},           {"sell", l_sell},
        {"cancel", l_cancel},     {"cancel_all", l_cancel_all},
        {"replace", l_replace},   {"flatten", l_flatten},
        {"position", l_position}, {"positions", l_positions},
        {"orders", l_orders},     {"portfolio", l_portfolio},
    };
    for (size_t i = 0; i < ARRAY_LEN(fns); i++) {
        lua_pushcfunction(L, fns[i].func);
        lua_setglobal(L, fns[i].name);
    }
    return 0;
}
