/* event.h: typed host events and their JSON shape (DESIGN.md §4).
 *
 * Every event has a host-wide sequence number (assigned by the bus when published),
 * a type, a timestamp (host clock, epoch µs), a source and data. Market data and bars
 * are typed C structs (the hot path allocates nothing); every other type carries its
 * data as a cJSON object owned by the event (orders and portfolio updates are typed
 * too: their JSON is built only when read). The same JSON shape,
 *   {"seq":N,"type":"MARKET_DATA","ts":"2026-11-21T07:39:00.123456Z","source":"feed_sim",
 *    "data":{...}}
 * is used on the WebSocket, in Redis, in the journal and in Postgres. */
#ifndef LUATRADE_EVENT_H
#define LUATRADE_EVENT_H

#include <stdint.h>

#include "buf.h"
#include "instrument.h"
#include "order.h"
#include "portfolio.h"

struct cJSON;

/* clang-format would reflow the X-macro list and misindent EV__COUNT. */
/* clang-format off */
#define EVENT_TYPES(X)                                                                         \
    X(MARKET_DATA) X(BAR) X(SIGNAL_GENERATED) X(ORDER_SUBMITTED) X(ORDER_ACCEPTED)             \
    X(ORDER_REJECTED) X(ORDER_FILLED) X(ORDER_CANCELED) X(ORDER_EXPIRED) X(POSITION_UPDATE)    \
    X(PORTFOLIO_UPDATE) X(RISK_CHECK) X(RISK_ALERT) X(ALERT) X(STRATEGY_START)                 \
    X(STRATEGY_STOP) X(STRATEGY_RELOAD) X(STRATEGY_ERROR) X(KILL_SWITCH) X(CUSTOM)

enum event_type {
#define X(name) EV_##name,
    EVENT_TYPES(X)
#undef X
    EV__COUNT
};
/* clang-format on */

#define EV_BIT(t) (UINT64_C(1) << (t))
#define EV_ALL    ((UINT64_C(1) << EV__COUNT) - 1)

/* "MARKET_DATA" etc. */
const char *event_type_name(enum event_type t);
/* The type named s, or -1. */
int event_type_parse(const char *s);

enum md_kind { MD_QUOTE, MD_TRADE };

/* Prices and sizes in the instrument's fixed-point units (instrument.h). n is the feed's
 * per-symbol sequence for that kind: the n-th quote (or trade) of that symbol, from 1. */
struct quote {
    int sym;
    int64_t bid_px, ask_px, bid_qty, ask_qty;
    uint64_t n;
};

struct trade {
    int sym;
    int64_t px, qty;
    uint64_t n;
};

/* Timeframes of aggregated bars (market.h). */
enum tf { TF_1S, TF_1M, TF_5M, TF_15M, TF_1H, TF_1D, TF__COUNT };

struct bar {
    int sym;
    enum tf tf;
    int64_t time_us; /* open time: the start of the bar's period */
    int64_t open, high, low, close, volume;
    uint32_t trades;
};

/* ORDER_* events: a snapshot of the order after the change (and the fill). */
struct order_event {
    struct order order;
    struct fill fill; /* EV_ORDER_FILLED only */
    int replaced;     /* EV_ORDER_ACCEPTED that confirms a replace */
};

#define EVENT_SOURCE_MAX 80 /* "strategy:" + a 63-byte id fits */

struct event {
    uint64_t seq; /* set by bus_publish */
    enum event_type type;
    int64_t ts_us; /* set by bus_publish from the host clock when 0 */
    char source[EVENT_SOURCE_MAX];
    enum md_kind md_kind; /* EV_MARKET_DATA only */
    union {
        struct quote quote; /* EV_MARKET_DATA, MD_QUOTE */
        struct trade trade; /* EV_MARKET_DATA, MD_TRADE */
        struct bar bar;     /* EV_BAR */
    } u;
    struct order_event *order;   /* ORDER_* types: owned by the event (malloc) */
    struct portfolio_update *pf; /* POSITION_UPDATE, PORTFOLIO_UPDATE: owned (malloc) */
    struct cJSON *data;          /* every other type: owned by the event (may be NULL = {}) */
};

/* Appends the event's JSON shape to out. ins resolves symbols and decimals. */
void event_to_json(const struct event *ev, const struct instruments *ins, struct buf *out);
/* Appends the envelope up to the data, {"seq":..,"type":..,"ts":..,"source":..,"data":
 * (event_to_json is this, the data, and '}'): for callers that hold the data as text. */
void event_json_head(const struct event *ev, struct buf *out);

/* Builds the "data" object of a typed event (MARKET_DATA, BAR) or a copy of ev->data.
 * The caller owns the result. */
struct cJSON *event_data_json(const struct event *ev, const struct instruments *ins);

/* Frees ev->data, ev->order and ev->pf and sets them to NULL. */
void event_release(struct event *ev);

/* Timeframe helpers: "1s","1m","5m","15m","1h","1d". */
const char *tf_name(enum tf tf);
int tf_parse(const char *s); /* -1 when unknown */
int64_t tf_us(enum tf tf);

#endif
