/* order_json.c: the JSON shape of orders, fills and ORDER_* events (see order.h), used
 * by the event stream, REST and the console alike. Fixed-point values become numbers in
 * the instrument's units; money becomes currency units (MONEY_DP); both are written as
 * exact decimals (json_fixed.h). */
#include <cjson/cJSON.h>

#include "event.h"
#include "fixed.h"
#include "json_fixed.h"
#include "order.h"
#include "portfolio.h"
#include "util.h"

static const struct instrument *lookup(const struct instruments *ins, int sym)
{
    return ins && sym >= 0 && sym < ins->n ? &ins->v[sym] : NULL;
}

static void add_px(cJSON *o, const char *key, int64_t v, const struct instrument *in)
{
    if (in) json_add_fixed(o, key, v, in->px_dp);
    else cJSON_AddNullToObject(o, key);
}

static void add_qty(cJSON *o, const char *key, int64_t v, const struct instrument *in)
{
    if (in) json_add_fixed(o, key, v, in->qty_dp);
    else cJSON_AddNullToObject(o, key);
}

static void add_time(cJSON *o, const char *key, int64_t ts_us)
{
    char iso[40];
    cJSON_AddStringToObject(o, key, util_iso8601(ts_us, iso, sizeof iso));
}

struct cJSON *order_json(const struct order *o, const struct instruments *ins)
{
    static const char *const roles[] = {"single", "entry", "take_profit", "stop_loss"};
    const struct instrument *in = lookup(ins, o->sym);
    cJSON *j = cJSON_CreateObject();
    ASSERT(j != NULL);
    cJSON_AddNumberToObject(j, "id", (double)o->id);
    cJSON_AddStringToObject(j, "cl_id", o->cl_id);
    cJSON_AddStringToObject(j, "strategy", o->strategy);
    cJSON_AddNumberToObject(j, "version", o->version);
    cJSON_AddStringToObject(j, "sha256", o->sha256);
    cJSON_AddStringToObject(j, "tag", o->tag);
    if (in) cJSON_AddStringToObject(j, "symbol", in->symbol);
    else cJSON_AddNullToObject(j, "symbol");
    cJSON_AddStringToObject(j, "side", order_side_name(o->side));
    cJSON_AddStringToObject(j, "type", order_type_name(o->type));
    cJSON_AddStringToObject(j, "tif", order_tif_name(o->tif));
    cJSON_AddStringToObject(j, "status", order_status_name(o->status));
    cJSON_AddStringToObject(j, "role", (unsigned)o->role < ARRAY_LEN(roles) ? roles[o->role] : "?");
    add_qty(j, "qty", o->qty, in);
    add_qty(j, "filled", o->filled_qty, in);
    add_qty(j, "leaves", order_leaves(o), in);
    if (o->type == OT_LIMIT || o->type == OT_STOP_LIMIT) add_px(j, "limit", o->limit_px, in);
    if (o->type == OT_STOP || o->type == OT_STOP_LIMIT || o->type == OT_TRAIL)
        add_px(j, "stop", o->stop_px, in);
    if (o->type == OT_TRAIL) add_px(j, "trail", o->trail_px, in);
    if (o->tp_px) add_px(j, "take_profit", o->tp_px, in);
    if (o->sl_px) add_px(j, "stop_loss", o->sl_px, in);
    if (o->filled_qty > 0 && in) {
        /* average fill price: notional (money) / qty, in price units */
        double qty = fx_to_double(o->filled_qty, in->qty_dp);
        cJSON_AddNumberToObject(j, "avg_price", fx_to_double(o->fill_notional, MONEY_DP) / qty);
    }
    if (o->parent) cJSON_AddNumberToObject(j, "parent", (double)o->parent);
    if (o->sibling) cJSON_AddNumberToObject(j, "sibling", (double)o->sibling);
    if (o->reason[0]) cJSON_AddStringToObject(j, "reason", o->reason);
    add_time(j, "created", o->created_us);
    add_time(j, "updated", o->updated_us);
    return j;
}

struct cJSON *fill_json(const struct fill *f, const struct instruments *ins)
{
    const struct instrument *in = lookup(ins, f->sym);
    cJSON *j = cJSON_CreateObject();
    ASSERT(j != NULL);
    cJSON_AddNumberToObject(j, "order_id", (double)f->order_id);
    cJSON_AddStringToObject(j, "exec_id", f->exec_id);
    if (in) cJSON_AddStringToObject(j, "symbol", in->symbol);
    cJSON_AddStringToObject(j, "side", f->side > 0 ? "buy" : "sell");
    add_px(j, "price", f->px, in);
    add_qty(j, "qty", f->qty, in);
    json_add_fixed(j, "commission", f->commission, MONEY_DP);
    add_time(j, "time", f->ts_us);
    return j;
}

struct cJSON *order_event_json(const struct order_event *oe, int event_type,
                               const struct instruments *ins)
{
    cJSON *j = order_json(&oe->order, ins);
    if (event_type == EV_ORDER_FILLED) cJSON_AddItemToObject(j, "fill", fill_json(&oe->fill, ins));
    if (oe->replaced) cJSON_AddBoolToObject(j, "replaced", 1);
    return j;
}
