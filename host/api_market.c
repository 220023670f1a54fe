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

static void set_num(lua_State *L, const char *k, double v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

static void set_symbol(lua_State *L, const struct host *h, int sym)
{
    lua_pushstring(L, sym >= 0 && sym < h->instruments.n ? h->instruments.v[sym].symbol : "?");
    lua_setfield(L, -2, "symbol");
}

void api_push_quote(lua_State *L, const struct host *h, const struct quote *q, int64_t ts_us,
                    uint64_t seq)
{
    const struct instrument *ins = &h->instruments.v[q->sym];
    lua_createtable(L, 0, 8);
    set_symbol(L, h, q->sym);
    set_num(L, "bid", fx_to_double(q->bid_px, ins->px_dp));
    set_num(L, "ask", fx_to_double(q->ask_px, ins->px_dp));
    set_num(L, "bid_size", fx_to_double(q->bid_qty, ins->qty_dp));
    set_num(L, "ask_size", fx_to_double(q->ask_qty, ins->qty_dp));
    set_num(L, "time", secs(ts_us));
    set_num(L, "seq", (double)seq);
    set_num(L, "n", (double)q->n);
}

void api_push_trade(lua_State *L, const struct host *h, const struct trade *t, int64_t ts_us,
                    uint64_t seq)
{
    const struct instrument *ins = &h->instruments.v[t->sym];
    lua_createtable(L, 0, 6);
    set_symbol(L, h, t->sym);
    set_num(L, "price", fx_to_double(t->px, ins->px_dp));
    set_num(L, "size", fx_to_double(t->qty, ins->qty_dp));
    set_num(L, "time", secs(ts_us));
    set_num(L, "seq", (double)seq);
    set_num(L, "n", (double)t->n);
}

void api_push_bar(lua_State *L, const struct host *h, const struct bar *b)
{
    const struct instrument *ins = &h->instruments.v[b->sym];
    lua_createtable(L, 0, 9);
    set_symbol(L, h, b->sym);
    lua_pushstring(L, tf_name(b->tf));
    lua_setfield(L, -2, "tf");
    set_num(L, "time", secs(b->time_us));
    set_num(L, "open", fx_to_double(b->open, ins->px_dp));
    set_num(L, "high", fx_to_double(b->high, ins->px_dp));
    set_num(L, "low", fx_to_double(b->low, ins->px_dp));
    set_num(L, "close", fx_to_double(b->close, ins->px_dp));
    set_num(L, "volume", fx_to_double(b->volume, ins->qty_dp));
    set_num(L, "trades", b->trades);
}

void api_push_event(lua_State *L, const struct host *h, const struct event *ev)
{
    lua_createtable(L, 0, 6);
    set_num(L, "seq", (double)ev->seq);
    lua_pushstring(L, event_type_name(ev->type));
    lua_setfield(L, -2, "type");
    char ts[40];
    lua_pushstring(L, util_iso8601(ev->ts_us, ts, sizeof ts));
    lua_setfield(L, -2, "ts");
    set_num(L, "time", secs(ev->ts_us));
    lua_pushstring(L, ev->source);
    lua_setfield(L, -2, "source");
    if (ev->data) api_push_json(L, ev->data);
    else lua_newtable(L);
    lua_setfield(L, -2, "data");
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
    api_push_quote(L, h, q, ts, seq);
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
    api_push_trade(L, h, t, ts, seq);
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
        api_push_bar(L, h, &bars[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

int api_market_register(struct sbx *s, struct err *e)
{
    sbx_register(s, NULL, "quote", l_quote);
    sbx_register(s, NULL, "last", l_last);
    sbx_register(s, NULL, "history", l_history);
    return 0;
}
