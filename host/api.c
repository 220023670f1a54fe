/* api.c: one place that lists every Lua API area and registers it into a sandbox
 * (the lua-nginx-module pattern: each api_*.c exports one register function). */
#include "api.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "sbx.h"
#include "util.h"

int api_decl_register(struct sbx *s, struct err *e);
int api_market_register(struct sbx *s, struct err *e);
int api_time_register(struct sbx *s, struct err *e);
int api_output_register(struct sbx *s, struct err *e);
int api_order_register(struct sbx *s, struct err *e);

struct api_ctx *api_ctx_of(lua_State *L)
{
    return sbx_owner(sbx_of(L));
}

void strategy_decl_free(struct strategy_decl *d)
{
    for (int i = 0; i < d->nsymbols; i++) free(d->symbols[i]);
    free(d->symbols);
    params_free(&d->params);
    memset(d, 0, sizeof *d);
}

static const char *key_names[K__COUNT] = {
    NULL,     "symbol", "bid",  "ask", "bid_size", "ask_size", "time", "seq",
    "n",      "price",  "size", "tf",  "open",     "high",     "low",  "close",
    "volume", "trades", "type", "ts",  "source",   "data"};

static void push_slots(lua_State *L, const struct api_ctx *c)
{
    const struct instruments *ins = c->host ? &c->host->instruments : NULL;
    lua_createtable(L, API_SLOT_SYMBOLS + (ins ? ins->n : 0), 0);
    for (int k = 1; k < K__COUNT; k++) {
        lua_pushstring(L, key_names[k]);
        lua_rawseti(L, -2, k);
    }
    for (int i = 0; ins && i < ins->n; i++) {
        lua_pushstring(L, ins->v[i].symbol);
        lua_rawseti(L, -2, API_SLOT_SYMBOLS + i);
    }
}

int api_register(struct sbx *s, const char *mode, struct err *e)
{
    lua_State *L = sbx_lua(s);
    struct api_ctx *c = sbx_owner(s);
    ASSERT(lua_gettop(L) == API_SLOTS - 1);
    push_slots(L, c);
    int (*areas[])(struct sbx *, struct err *) = {api_decl_register, api_market_register,
                                                  api_time_register, api_output_register,
                                                  api_order_register};
    for (size_t i = 0; i < sizeof areas / sizeof areas[0]; i++)
        if (areas[i](s, e) != 0) return -1;
    lua_pushstring(L, mode);
    lua_setglobal(L, "mode");
    lua_pushstring(L, c->strategy_id);
    lua_setglobal(L, "strategy_id");
    lua_newtable(L);
    lua_setglobal(L, "state");
    return 0;
}
