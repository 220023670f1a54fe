/* api_market.c: market queries (quote, last, history) and the tables callbacks receive
 * (see api.h). Prices and sizes leave the host here: fixed point becomes Lua numbers
 * through the instrument's scale, and nowhere else. */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>

#include "api.h"
#include "fixed.h"
#include "host.h"
#include "market.h"
#include "sbx.h"
#include "util.h"

#define HISTORY_MAX 5000

static double secs(int64_t us)
{
    return (double)us / 1e6;
}

/* t[key] = v where t is on top and the key string is slot k. */
static void set_num(lua_State *L, int slots, int k, double v)
{
    lua_rawgeti(L, slots, k);
    lua_pushnumber(L, v);
    lua_rawset(L, -3);
}

static void set_symbol(lua_State *L, int slots, const struct host *h, int sym)
{
    lua_rawgeti(L, slots, K_SYMBOL);
    lua_rawgeti(L, slots, API_SLOT_SYMBOLS + sym);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushstring(L, sym >= 0 && sym < h->instruments.n ? h->instruments.v[sym].symbol : "?");
    }
    lua_rawset(L, -3);
}

void api_push_quote(lua_State *L, int slots, const struct host *h, const struct quote *q,
                    int64_t ts_us, uint64_t seq)
{
    const struct instrument *ins = &h->instruments.v[q->sym];
    lua_createtable(L, 0, 8);
    set_symbol(L, slots, h, q->sym);
    set_num(L, slots, K_BID, fx_to_double(q->bid_px, ins->px_dp));
    set_num(L, slots, K_ASK, fx_to_double(q->ask_px, ins->px_dp));
    set_num(L, slots, K_BID_SIZE, fx_to_double(q->bid_qty, ins->qty_dp));
    set_num(L, slots, K_ASK_SIZE, fx_to_double(q->ask_qty, ins->qty_dp));
    set_num(L, slots, K_TIME, secs(ts_us));
    set_num(L, slots, K_SEQ, (double)seq);
    set_num(L, slots, K_N, (double)q->n);
}

void api_push_trade(lua_State *L, int slots, const struct host *h, const struct trade *t,
                    int64_t ts_us, uint64_t seq)
{
    const struct instrument *ins = &h->instruments.v[t->sym];
    lua_createtable(L, 0, 6);
    set_symbol(L, slots, h, t->sym);
    set_num(L, slots, K_PRICE, fx_to_double(t->px, ins->px_dp));
    set_num(L, slots, K_SIZE, fx_to_double(t->qty, ins->qty_dp));
    set_num(L, slots, K_TIME, secs(ts_us));
    set_num(L, slots, K_SEQ, (double)seq);
    set_num(L, slots, K_N, (double)t->n);
}

void api_push_bar(lua_State *L, int slots, const struct host *h, const struct bar *b)
{
    const struct instrument *ins = &h->instruments.v[b->sym];
    lua_createtable(L, 0, 9);
    set_symbol(L, slots, h, b->sym);
    lua_rawgeti(L, slots, K_TF);
    lua_pushstring(L, tf_name(b->tf));
    lua_rawset(L, -3);
    set_num(L, slots, K_TIME, secs(b->time_us));
    set_num(L, slots, K_OPEN, fx_to_double(b->open, ins->px_dp));
    set_num(L, slots, K_HIGH, fx_to_double(b->high, ins->px_dp));
    set_num(L, slots, K_LOW, fx_to_double(b->low, ins->px_dp));
    set_num(L, slots, K_CLOSE, fx_to_double(b->close, ins->px_dp));
    set_num(L, slots, K_VOLUME, fx_to_double(b->volume, ins->qty_dp));
    set_num(L, slots, K_TRADES, b->trades);
}

void api_push_event(lua_State *L, int slots, const struct host *h, const struct event *ev)
{
    lua_createtable(L, 0, 6);
    set_num(L, slots, K_SEQ, (double)ev->seq);
    lua_rawgeti(L, slots, K_TYPE);
    lua_pushstring(L, event_type_name(ev->type));
    lua_rawset(L, -3);
    char ts[40];
    lua_rawgeti(L, slots, K_TS);
    lua_pushstring(L, util_iso8601(ev->ts_us, ts, sizeof ts));
    lua_rawset(L, -3);
    set_num(L, slots, K_TIME, secs(ev->ts_us));
    lua_rawgeti(L, slots, K_SOURCE);
    lua_pushstring(L, ev->source);
    lua_rawset(L, -3);
    lua_rawgeti(L, slots, K_DATA);
    if (ev->data) api_push_json(L, ev->data);
    else lua_newtable(L);
    lua_rawset(L, -3);
}

/* The instrument id named by argument idx; raises on a non-string, -1 when unknown. */
static int symbol_arg(lua_State *L, int idx, struct host **hp)
{
    const char *sym = luaL_checkstring(L, idx);
    struct api_ctx *c = api_ctx_of(L);
    *hp = c->host;
    return c->host ? instruments_find(&c->host->instruments, sym) : -1;
}

static int l_quote(lua_State *L)
{
    struct host *h;
    int sym = symbol_arg(L, 1, &h);
    int64_t ts;
    uint64_t seq;
    const struct quote *q = sym >= 0 ? market_quote(h->market, sym, &ts, &seq) : NULL;
    if (!q) {
        lua_pushnil(L);
        return 1;
    }
    api_push_quote(L, lua_upvalueindex(1), h, q, ts, seq);
    return 1;
}

static int l_last(lua_State *L)
{
    struct host *h;
    int sym = symbol_arg(L, 1, &h);
    int64_t ts;
    uint64_t seq;
    const struct trade *t = sym >= 0 ? market_trade(h->market, sym, &ts, &seq) : NULL;
    if (!t) {
        lua_pushnil(L);
        return 1;
    }
    api_push_trade(L, lua_upvalueindex(1), h, t, ts, seq);
    return 1;
}

static int l_history(lua_State *L)
{
    struct host *h;
    int sym = symbol_arg(L, 1, &h);
    const char *tfs = luaL_checkstring(L, 2);
    int tf = tf_parse(tfs);
    if (tf < 0) return luaL_argerror(L, 2, "timeframe expected (1s, 1m, 5m, 15m, 1h, 1d)");
    lua_Number n = luaL_optnumber(L, 3, 100);
    if (!(n >= 1 && n <= HISTORY_MAX) || n != floor(n))
        return luaL_argerror(L, 3, "count must be an integer from 1 to 5000");
    lua_newtable(L);
    if (sym < 0) return 1;
    static struct bar bars[HISTORY_MAX];
    int got = market_history(h->market, sym, (enum tf)tf, bars, (int)n);
    for (int i = 0; i < got; i++) {
        api_push_bar(L, lua_upvalueindex(1), h, &bars[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

int api_market_register(struct sbx *s, struct err *e)
{
    lua_State *L = sbx_lua(s);
    static const struct {
        const char *name;
        lua_CFunction fn;
    } fns[] = {{"quote", l_quote}, {"last", l_last}, {"history", l_history}};
    for (size_t i = 0; i < ARRAY_LEN(fns); i++) {
        lua_pushvalue(L, API_SLOTS); /* upvalue 1: the slots table */
        lua_pushcclosure(L, fns[i].fn, 1);
        lua_setglobal(L, fns[i].name);
    }
    return 0;
}
