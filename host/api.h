/* api.h: the Lua API a strategy sees (DESIGN.md §6), one file per area:
 *   api_decl.c    strategy{...}: the declaration
 *   api_market.c  quote, last, history; the event tables callbacks receive
 *   api_time.c    now, timer.every/after/at/cancel, os.time/date/clock
 *   api_output.c  signal, alert, log.*, print
 *   api_json.c    Lua values <-> cJSON (signal data, on_event payloads)
 *   api_order.c   buy, sell, cancel, replace, flatten, positions, orders, portfolio
 * Each function finds the instance it acts for through the sandbox owner, a struct
 * api_ctx. API functions check every argument before acting (luaL_error names the
 * argument), never call back into Lua, and publish events through the bus (queued
 * while a dispatch runs). */
#ifndef LUATRADE_API_H
#define LUATRADE_API_H

#include <stdint.h>

#include "event.h"
#include "param.h"

typedef struct lua_State lua_State;
struct host;
struct sbx;
struct strategy;
struct cJSON;

#define DECL_NAME_MAX    64
#define DECL_SYMBOLS_MAX 256

/* What strategy{...} declared. */
struct strategy_decl {
    int declared;
    char name[DECL_NAME_MAX];
    char **symbols; /* NULL: not declared (every symbol) */
    int nsymbols;
    uint32_t bars;    /* bit per enum tf */
    int64_t every_us; /* 0: none */
    int has_window;
    int window_open_min, window_close_min; /* minutes after local midnight */
    char window_tz[64];
    double capital; /* 0: not declared */
    struct params params;
};

void strategy_decl_free(struct strategy_decl *d);

/* The sandbox owner of a strategy sandbox. host and st are NULL for `luatrade check`. */
struct api_ctx {
    struct host *host;
    struct strategy *st;
    unsigned version;   /* the instance version this sandbox runs */
    char sha256[65];    /* of the script text this sandbox runs */
    int orders_touched; /* the current call placed, canceled or replaced an order */
    struct strategy_decl decl;
    char strategy_id[DECL_NAME_MAX];
    int events_this_call; /* signals and alerts, reset before every call */
    /* log rate limit: token bucket */
    double log_tokens;
    int64_t log_refill_us;
    uint64_t log_dropped;
    /* while the console evaluates here: what print and log.* say goes to echo too */
    void (*echo)(void *ud, const char *p, size_t n);
    void *echo_ud;
};

struct api_ctx *api_ctx_of(lua_State *L);

/* The slots table: a host-only array kept at stack index API_SLOTS (right above the
 * message handler) for the life of a strategy sandbox, so the hot path finds what it
 * needs by array index instead of hashing strings: the field names of event tables
 * (interned once), every instrument's symbol string, and the callback functions. */
#define API_SLOTS 2
enum api_key {
    K_SYMBOL = 1,
    K_BID,
    K_ASK,
    K_BID_SIZE,
    K_ASK_SIZE,
    K_TIME,
    K_SEQ,
    K_N,
    K_PRICE,
    K_SIZE,
    K_TF,
    K_OPEN,
    K_HIGH,
    K_LOW,
    K_CLOSE,
    K_VOLUME,
    K_TRADES,
    K_TYPE,
    K_TS,
    K_SOURCE,
    K_DATA,
    K__COUNT
};
#define API_SLOT_CALLBACKS 32 /* + callback number */
#define API_SLOT_SYMBOLS   64 /* + instrument id */

/* Registers every API function into the sandbox (before the script runs) and pushes
 * the slots table at API_SLOTS. The mode string ("live", "paper", "backtest") and
 * strategy_id become globals. */
int api_register(struct sbx *s, const char *mode, struct err *e);

/* Pushes the tables callbacks receive: {symbol, bid, ask, bid_size, ask_size, time,
 * seq, n} for a quote, {symbol, price, size, time, seq, n} for a trade, {symbol, tf,
 * time, open, high, low, close, volume, trades} for a bar. `slots` is the index of the
 * slots table (API_SLOTS, or an upvalue pseudo-index inside an API function). */
void api_push_quote(lua_State *L, int slots, const struct host *h, const struct quote *q,
                    int64_t ts_us, uint64_t seq);
void api_push_trade(lua_State *L, int slots, const struct host *h, const struct trade *t,
                    int64_t ts_us, uint64_t seq);
void api_push_bar(lua_State *L, int slots, const struct host *h, const struct bar *b);
/* The tables on_order(o) and on_fill(f) receive (api_order.c). */
struct order;
struct fill;
void api_push_order(lua_State *L, const struct host *h, const struct order *d);
void api_push_fill(lua_State *L, const struct host *h, const struct order *d, const struct fill *f);
/* {seq, type, ts, time, source, data} for on_event / on_alert. */
void api_push_event(lua_State *L, int slots, const struct host *h, const struct event *ev);

/* Lua <-> cJSON with limits (depth API_JSON_MAX_DEPTH, which also stops cycles; at
 * most API_JSON_MAX_NODES values and API_JSON_MAX_BYTES of strings and keys), finite
 * numbers only, string or integer keys. lua_to_json returns NULL and fills e on
 * refusal. Both run no Lua code. */
#define API_JSON_MAX_DEPTH 32
#define API_JSON_MAX_NODES 10000
#define API_JSON_MAX_BYTES (64u << 10)
/* Events (signals and alerts) one callback may publish. */
#define API_EVENTS_PER_CALL 1000
struct cJSON *api_lua_to_json(lua_State *L, int idx, struct err *e);
void api_push_json(lua_State *L, const struct cJSON *j);

/* Argument helpers shared by the API files (api_decl.c). A duration is a string such
 * as "5s" or "250ms", or a number of seconds; under 1 ms raises an error naming `what`.
 * A time of day is "HH:MM"; api_parse_hhmm returns 0 or -1. */
int64_t api_duration_arg(lua_State *L, int idx, const char *what);
int api_parse_hhmm(const char *s, int *hh, int *mm);

/* Strategy-side services the API calls back into (strategy.c). */
int strategy_timer_set(struct api_ctx *c, const char *name, int64_t due_us, int64_t period_us,
                       int daily_hh, int daily_mm, const char *zone, struct err *e);
int strategy_timer_cancel(struct api_ctx *c, const char *name);

#endif
