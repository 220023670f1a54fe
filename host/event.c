/* event.c: event type names, timeframes, and the JSON shape of an event (event.h).
 *
 * Owns no state. Two ways out of a struct event:
 *   - event_to_json appends the wire shape {"seq","type","ts","source","data"} to a buf.
 *     For MARKET_DATA and BAR it writes prices and sizes straight from fixed point with
 *     fx_format, so "190.25" on the wire is exactly the host's 19025 at 2 decimals and
 *     never a double's rounding. Once the buf has grown to its working size this path
 *     allocates nothing (it is on the market-data hot path: WebSocket, journal, Redis).
 *     Other types print ev->data with cJSON (those events are rare and allocate anyway).
 *   - event_data_json builds a cJSON object of the same "data" fields. cJSON stores
 *     numbers as doubles, so there prices go through fx_to_double: the nearest double,
 *     fine for Lua and for consumers that re-print with %.15g, not for the journal
 *     (which uses event_to_json). n is a double there too: exact up to 2^53.
 *
 * Invariants: every symbol id is resolved against the registry; an id the registry does
 * not hold (a feed bug or an instrument registered later) writes "symbol":null and null
 * prices and sizes, whose scale is unknown, and never reads out of bounds. An enum value
 * outside its range is a bug (ASSERT). */
#include "event.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "fixed.h"
#include "util.h"

static const char *const type_names[EV__COUNT] = {
#define X(name) #name,
    EVENT_TYPES(X)
#undef X
};

const char *event_type_name(enum event_type t)
{
    ASSERT((unsigned)t < EV__COUNT);
    return type_names[t];
}

int event_type_parse(const char *s)
{
    if (!s) return -1;
    for (int i = 0; i < EV__COUNT; i++)
        if (strcmp(s, type_names[i]) == 0) return i;
    return -1;
}

static const struct {
    const char *name;
    int64_t us;
} tfs[TF__COUNT] = {
    [TF_1S] = {"1s", INT64_C(1000000)},    [TF_1M] = {"1m", INT64_C(60000000)},
    [TF_5M] = {"5m", INT64_C(300000000)},  [TF_15M] = {"15m", INT64_C(900000000)},
    [TF_1H] = {"1h", INT64_C(3600000000)}, [TF_1D] = {"1d", INT64_C(86400000000)},
};

const char *tf_name(enum tf tf)
{
    ASSERT((unsigned)tf < TF__COUNT);
    return tfs[tf].name;
}

int tf_parse(const char *s)
{
    if (!s) return -1;
    for (int i = 0; i < TF__COUNT; i++)
        if (strcmp(s, tfs[i].name) == 0) return i;
    return -1;
}

int64_t tf_us(enum tf tf)
{
    ASSERT((unsigned)tf < TF__COUNT);
    return tfs[tf].us;
}

/* The instrument of sym, or NULL when the registry does not hold it. */
static const struct instrument *lookup(const struct instruments *ins, int sym)
{
    if (!ins || sym < 0 || sym >= ins->n) return NULL;
    return &ins->v[sym];
}

/* ,"key":<v at dp decimals>, or null when dp < 0 (unknown instrument). */
static void put_fx(struct buf *out, const char *key, int64_t v, int dp)
{
    buf_printf(out, ",\"%s\":", key);
    if (dp < 0) {
        buf_puts(out, "null");
        return;
    }
    char num[32];
    int n = fx_format(v, dp, num, sizeof num);
    ASSERT(n > 0 && (size_t)n < sizeof num);
    buf_put(out, num, (size_t)n);
}

static void put_symbol(struct buf *out, const struct instrument *in)
{
    buf_puts(out, "\"symbol\":");
    if (in) buf_put_json_str(out, in->symbol, strnlen(in->symbol, SYMBOL_MAX));
    else buf_puts(out, "null");
}

static void put_market_data(const struct event *ev, const struct instruments *ins, struct buf *out)
{
    if (ev->md_kind == MD_QUOTE) {
        const struct quote *q = &ev->u.quote;
        const struct instrument *in = lookup(ins, q->sym);
        int px = in ? in->px_dp : -1, qty = in ? in->qty_dp : -1;
        buf_puts(out, "{\"kind\":\"quote\",");
        put_symbol(out, in);
        buf_printf(out, ",\"n\":%" PRIu64, q->n);
        put_fx(out, "bid", q->bid_px, px);
        put_fx(out, "ask", q->ask_px, px);
        put_fx(out, "bid_size", q->bid_qty, qty);
        put_fx(out, "ask_size", q->ask_qty, qty);
    } else {
        ASSERT(ev->md_kind == MD_TRADE);
        const struct trade *t = &ev->u.trade;
        const struct instrument *in = lookup(ins, t->sym);
        buf_puts(out, "{\"kind\":\"trade\",");
        put_symbol(out, in);
        buf_printf(out, ",\"n\":%" PRIu64, t->n);
        put_fx(out, "price", t->px, in ? in->px_dp : -1);
        put_fx(out, "size", t->qty, in ? in->qty_dp : -1);
    }
    buf_putc(out, '}');
}

static void put_bar(const struct bar *b, const struct instruments *ins, struct buf *out)
{
    const struct instrument *in = lookup(ins, b->sym);
    int px = in ? in->px_dp : -1;
    char iso[40];
    buf_putc(out, '{');
    put_symbol(out, in);
    buf_printf(out, ",\"tf\":\"%s\",\"time\":\"%s\"", tf_name(b->tf),
               util_iso8601(b->time_us, iso, sizeof iso));
    put_fx(out, "open", b->open, px);
    put_fx(out, "high", b->high, px);
    put_fx(out, "low", b->low, px);
    put_fx(out, "close", b->close, px);
    put_fx(out, "volume", b->volume, in ? in->qty_dp : -1);
    buf_printf(out, ",\"trades\":%" PRIu32 "}", b->trades);
}

static void put_cjson(const struct cJSON *data, struct buf *out)
{
    if (!data) {
        buf_puts(out, "{}");
        return;
    }
    /* cJSON fails only on out-of-memory, which aborts the host (STYLE.md, Errors). */
    char *s = cJSON_PrintUnformatted(data);
    ASSERT(s != NULL);
    buf_put_utf8(out, s, strlen(s)); /* script-made strings may not be UTF-8 */
    cJSON_free(s);
}

static void put_pf(const struct event *ev, const struct instruments *ins, struct buf *out)
{
    cJSON *o = portfolio_update_json(ev->pf, ins);
    put_cjson(o, out);
    cJSON_Delete(o);
}

static void put_order(const struct event *ev, const struct instruments *ins, struct buf *out)
{
    cJSON *o = order_event_json(ev->order, ev->type, ins);
    put_cjson(o, out);
    cJSON_Delete(o);
}

void event_json_head(const struct event *ev, struct buf *out)
{
    char iso[40];
    buf_printf(out, "{\"seq\":%" PRIu64 ",\"type\":\"%s\",\"ts\":\"%s\",\"source\":", ev->seq,
               event_type_name(ev->type), util_iso8601(ev->ts_us, iso, sizeof iso));
    buf_put_json_str(out, ev->source, strnlen(ev->source, sizeof ev->source));
    buf_puts(out, ",\"data\":");
}

void event_to_json(const struct event *ev, const struct instruments *ins, struct buf *out)
{
    event_json_head(ev, out);
    if (ev->type == EV_MARKET_DATA) put_market_data(ev, ins, out);
    else if (ev->type == EV_BAR) put_bar(&ev->u.bar, ins, out);
    else if (ev->order) put_order(ev, ins, out);
    else if (ev->pf) put_pf(ev, ins, out);
    else put_cjson(ev->data, out);
    buf_putc(out, '}');
}

/* Adds key as a number, or null when dp < 0 (unknown instrument). */
static void add_fx(cJSON *o, const char *key, int64_t v, int dp)
{
    if (dp < 0) cJSON_AddNullToObject(o, key);
    else cJSON_AddNumberToObject(o, key, fx_to_double(v, dp));
}

static void add_symbol(cJSON *o, const struct instrument *in)
{
    if (in) cJSON_AddStringToObject(o, "symbol", in->symbol);
    else cJSON_AddNullToObject(o, "symbol");
}

static cJSON *market_data_json(const struct event *ev, const struct instruments *ins)
{
    cJSON *o = cJSON_CreateObject();
    ASSERT(o != NULL);
    if (ev->md_kind == MD_QUOTE) {
        const struct quote *q = &ev->u.quote;
        const struct instrument *in = lookup(ins, q->sym);
        int px = in ? in->px_dp : -1, qty = in ? in->qty_dp : -1;
        cJSON_AddStringToObject(o, "kind", "quote");
        add_symbol(o, in);
        cJSON_AddNumberToObject(o, "n", (double)q->n);
        add_fx(o, "bid", q->bid_px, px);
        add_fx(o, "ask", q->ask_px, px);
        add_fx(o, "bid_size", q->bid_qty, qty);
        add_fx(o, "ask_size", q->ask_qty, qty);
    } else {
        ASSERT(ev->md_kind == MD_TRADE);
        const struct trade *t = &ev->u.trade;
        const struct instrument *in = lookup(ins, t->sym);
        cJSON_AddStringToObject(o, "kind", "trade");
        add_symbol(o, in);
        cJSON_AddNumberToObject(o, "n", (double)t->n);
        add_fx(o, "price", t->px, in ? in->px_dp : -1);
        add_fx(o, "size", t->qty, in ? in->qty_dp : -1);
    }
    return o;
}

static cJSON *bar_json(const struct bar *b, const struct instruments *ins)
{
    const struct instrument *in = lookup(ins, b->sym);
    int px = in ? in->px_dp : -1;
    char iso[40];
    cJSON *o = cJSON_CreateObject();
    ASSERT(o != NULL);
    add_symbol(o, in);
    cJSON_AddStringToObject(o, "tf", tf_name(b->tf));
    cJSON_AddStringToObject(o, "time", util_iso8601(b->time_us, iso, sizeof iso));
    add_fx(o, "open", b->open, px);
    add_fx(o, "high", b->high, px);
    add_fx(o, "low", b->low, px);
    add_fx(o, "close", b->close, px);
    add_fx(o, "volume", b->volume, in ? in->qty_dp : -1);
    cJSON_AddNumberToObject(o, "trades", b->trades);
    return o;
}

struct cJSON *event_data_json(const struct event *ev, const struct instruments *ins)
{
    cJSON *o;
    if (ev->type == EV_MARKET_DATA) o = market_data_json(ev, ins);
    else if (ev->type == EV_BAR) o = bar_json(&ev->u.bar, ins);
    else if (ev->order) o = order_event_json(ev->order, ev->type, ins);
    else if (ev->pf) o = portfolio_update_json(ev->pf, ins);
    else if (ev->data) o = cJSON_Duplicate(ev->data, 1);
    else o = cJSON_CreateObject();
    /* cJSON fails only on out-of-memory, which aborts the host. */
    ASSERT(o != NULL);
    return o;
}

void event_release(struct event *ev)
{
    cJSON_Delete(ev->data);
    ev->data = NULL;
    free(ev->order);
    ev->order = NULL;
    free(ev->pf);
    ev->pf = NULL;
}
