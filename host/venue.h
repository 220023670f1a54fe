/* venue.h: where orders go (DESIGN.md §3 venue_*): the interface every venue offers the
 * order manager (oms.c), and the reports it sends back.
 *
 * A venue knows orders only by client order id (cl_id) and sees simple orders: market,
 * limit, stop, stop-limit and trailing stop, with a time in force. Brackets and OCO
 * pairs are the host's business (oms.c): the venue sees their legs as plain orders.
 *
 * Flow: submit/cancel/replace only queue work; commit makes the venue's own record
 * durable (a real venue: the request is on the wire) and then delivers every report
 * produced so far through the report callback, in the order they happened. Reports
 * also arrive later, from the venue's own timers and from market data (fills of
 * resting orders). The callback may submit, cancel or replace again (the next commit
 * sends those). A venue never calls into Lua.
 *
 * Reconciliation (recovery, DESIGN.md §8): a venue answers, for a client id, whether
 * it knows the order and in what state, and lists every fill it made with its exec id,
 * so the host can find what it missed while it was down. */
#ifndef LUATRADE_VENUE_H
#define LUATRADE_VENUE_H

#include <stdint.h>

#include "err.h"
#include "order.h"

enum venue_report_kind {
    VR_ACCEPTED,
    VR_REJECTED,
    VR_FILL,
    VR_CANCELED,        /* by request, or the unfilled rest of an IOC/FOK */
    VR_EXPIRED,         /* a day order at its expiry */
    VR_REPLACED,        /* qty/limit/stop changed */
    VR_CANCEL_REJECTED, /* a cancel or replace refused (unknown, done, bad terms): nothing
                           changed */
};

struct venue_order {
    char cl_id[ORDER_CLID_MAX];
    int sym;
    enum order_side side;
    enum order_type type;
    enum order_tif tif;
    int64_t qty, limit_px, stop_px, trail_px;
    int64_t expire_us; /* 0: never */
};

struct venue_report {
    enum venue_report_kind kind;
    char cl_id[ORDER_CLID_MAX];
    char exec_id[48];                   /* VR_FILL: unique per fill, stable across restarts */
    int64_t px, qty;                    /* VR_FILL: this fill */
    int64_t cum_qty, leaves_qty;        /* after this report */
    int64_t commission;                 /* VR_FILL: money units */
    int64_t qty_new, limit_px, stop_px; /* VR_REPLACED: the order's new terms */
    int64_t ts_us;
    char reason[ORDER_REASON_MAX]; /* VR_REJECTED, VR_CANCELED, VR_CANCEL_REJECTED */
};

typedef void (*venue_report_fn)(const struct venue_report *r, void *arg);

/* What the venue knows of an order (reconciliation). */
struct venue_order_state {
    enum order_status status; /* ACCEPTED, PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED, REJECTED;
                                 PENDING_NEW: sent, not yet acknowledged */
    int64_t qty, cum_qty;
};

struct venue_ops {
    const char *name;
    /* submit, cancel, replace queue a request for the next commit. -1 with e: not queued
     * (the venue cannot take requests); refusals of the order itself are reports. */
    int (*submit)(void *v, const struct venue_order *o, struct err *e);
    int (*cancel)(void *v, const char *cl_id, struct err *e);
    /* qty, limit_px, stop_px: 0 keeps the current value. */
    int (*replace)(void *v, const char *cl_id, int64_t qty, int64_t limit_px, int64_t stop_px,
                   struct err *e);
    /* Makes queued work durable and delivers pending reports. -1: the venue is failed. */
    int (*commit)(void *v, struct err *e);
    /* 0 and fills out when the venue knows cl_id; -1 when it does not. */
    int (*query)(void *v, const char *cl_id, struct venue_order_state *out);
    /* Calls fn for every fill the venue made (in order), as VR_FILL reports. */
    void (*fills)(void *v, venue_report_fn fn, void *arg);
    /* Net position (qty units) and cash (money units) of the venue account. */
    int64_t (*position)(void *v, int sym);
    int64_t (*cash)(void *v);
    void (*free)(void *v);
};

struct venue {
    const struct venue_ops *ops;
    void *impl;
};

#endif
