/* oms.c: the order flow (see oms.h): submit, cancel, replace, flatten, the group-commit
 * flush, venue reports, brackets and OCO, marks, the kill switch and the per-second
 * tick. Journal records, replay and reconciliation live in oms_journal.c; what the risk
 * guardian sees (the risk_env callbacks, tracked exposure) in oms_exposure.c.
 *
 * Invariants:
 *  - an order is in the book and its J_ORDER record is buffered before its id is
 *    returned; it reaches the venue only from oms_flush, after journal_commit returned 0;
 *  - every status change goes through oms_set_status (order_set_status refuses illegal
 *    moves: a report that would need one is logged and ignored);
 *  - a fill is booked once per exec id (execs), on the order, the portfolio (the
 *    strategy's account and the total) and the journal, then published;
 *  - nothing here calls Lua: events go through the bus, which queues them while a
 *    strategy runs. */
#include "oms.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bus.h"
#include "event.h"
#include "fixed.h"
#include "host.h"
#include "log.h"
#include "metrics.h"
#include "oms_internal.h"
#include "tz.h"
#include "util.h"

static const struct instrument *instr(const struct oms *o, int sym)
{
    return &o->h->instruments.v[sym];
}

static int64_t now_us(const struct oms *o)
{
    return clock_now_us(&o->h->clock);
}

/* ---- events ---------------------------------------------------------------------------- */

/* Publishes ev, or keeps it while recovering (oms_publish_recovered sends it later). */
static void publish(struct oms *o, struct event *ev)
{
    if (!o->deferring) {
        bus_publish(o->h->bus, ev);
        return;
    }
    o->deferred = xrealloc(o->deferred, (size_t)(o->ndeferred + 1) * sizeof *o->deferred);
    o->deferred[o->ndeferred++] = *ev;
}

void oms_publish_recovered(struct oms *o)
{
    for (int i = 0; i < o->ndeferred; i++) bus_publish(o->h->bus, &o->deferred[i]);
    free(o->deferred);
    o->deferred = NULL;
    o->ndeferred = 0;
}

void oms_publish_order(struct oms *o, int type, const struct order *ord, const struct fill *f,
                       int replaced)
{
    if (o->replaying) return;
    struct event ev = {.type = type};
    util_strlcpy(ev.source, "oms", sizeof ev.source);
    ev.order = xmalloc(sizeof *ev.order);
    ev.order->order = *ord;
    if (f) ev.order->fill = *f;
    else memset(&ev.order->fill, 0, sizeof ev.order->fill);
    ev.order->replaced = replaced;
    publish(o, &ev);
}

/* Position and portfolio updates carry a snapshot (struct portfolio_update), not JSON:
 * the event log keeps every event, and building JSON for each fill nobody reads cost
 * more than the rest of the fill. */
static void publish_update(struct oms *o, enum event_type type, struct portfolio_update *u)
{
    struct event ev = {.type = type, .pf = u};
    util_strlcpy(ev.source, "oms", sizeof ev.source);
    publish(o, &ev);
}

static void publish_position(struct oms *o, const struct order *ord)
{
    if (!bus_wants(o->h->bus, EV_POSITION_UPDATE)) return;
    const struct position *pos = portfolio_position(o->pf, ord->strategy, ord->sym);
    if (!pos) return;
    struct portfolio_update *u = xmalloc(sizeof *u);
    portfolio_position_update(o->pf, ord->strategy, pos, u);
    publish_update(o, EV_POSITION_UPDATE, u);
}

static void publish_portfolio(struct oms *o)
{
    if (!bus_wants(o->h->bus, EV_PORTFOLIO_UPDATE)) return;
    struct portfolio_update *u = xmalloc(sizeof *u);
    portfolio_totals_update(o->pf, NULL, u);
    publish_update(o, EV_PORTFOLIO_UPDATE, u);
}

/* ---- status and the outbox ------------------------------------------------------------ */

static void schedule_flush(struct oms *o)
{
    if (o->flush_ev && !o->flushing) event_active(o->flush_ev, EV_TIMEOUT, 0);
}

static void out_push(struct oms *o, enum out_kind kind, uint64_t id)
{
    if (o->nout == o->capout) {
        o->capout = o->capout ? o->capout * 2 : 64;
        o->out = xrealloc(o->out, (size_t)o->capout * sizeof *o->out);
    }
    o->out[o->nout++] = (struct out_item){kind, id};
    schedule_flush(o);
}

static int event_for(enum order_status s)
{
    switch (s) {
    case OS_PENDING_NEW:
        return EV_ORDER_SUBMITTED;
    case OS_ACCEPTED:
        return EV_ORDER_ACCEPTED;
    case OS_PARTIALLY_FILLED:
    case OS_FILLED:
        return EV_ORDER_FILLED;
    case OS_REJECTED:
        return EV_ORDER_REJECTED;
    case OS_CANCELED:
        return EV_ORDER_CANCELED;
    case OS_EXPIRED:
        return EV_ORDER_EXPIRED;
    default:
        return EV_ORDER_SUBMITTED;
    }
}

static void children_end(struct oms *o, struct order *entry);

void oms_set_status(struct oms *o, struct order *ord, enum order_status s, const char *reason,
                    int publish)
{
    enum order_status from = ord->status;
    oms_expo_apply(o, ord, -1);
    int rc = order_set_status(o->book, ord, s, now_us(o));
    oms_expo_apply(o, ord, +1);
    if (rc != 0) {
        log_warn("oms", "illegal order transition ignored", "id=%llu from=%s to=%s",
                 (unsigned long long)ord->id, order_status_name(from), order_status_name(s));
        return;
    }
    if (reason && reason[0]) util_strlcpy(ord->reason, reason, sizeof ord->reason);
    if (!o->replaying) oms_journal_status(o, ord);
    if (publish && s != OS_PARTIALLY_FILLED && s != OS_FILLED)
        oms_publish_order(o, event_for(s), ord, NULL, 0);
    if (!o->replaying && order_status_terminal(s) && ord->role == ROLE_ENTRY) children_end(o, ord);
}

/* ---- brackets ---------------------------------------------------------------------------- */

/* Cancels an order: locally when it never left (held exits), else through the venue. */
static void cancel_order(struct oms *o, struct order *ord, const char *reason)
{
    if (order_status_terminal(ord->status)) return;
    if (ord->held) {
        oms_set_status(o, ord, OS_CANCELED, reason, 1);
        return;
    }
    util_strlcpy(ord->reason, reason, sizeof ord->reason);
    oms_expo_apply(o, ord, -1);
    ord->cancel_pending = 1;
    out_push(o, OUT_CANCEL, ord->id);
}

/* The entry ended: held exits of an entry that never filled die with it. */
static void children_end(struct oms *o, struct order *entry)
{
    if (entry->filled_qty > 0) return;
    for (int i = 0; i < 2; i++) {
        struct order *ex = entry->exits[i] ? order_book_get(o->book, entry->exits[i]) : NULL;
        if (ex && ex->held) oms_set_status(o, ex, OS_CANCELED, "PARENT_DONE", 1);
    }
}

/* Keeps a bracket's exits covering exactly the open part of its position: what the
 * entry filled minus what the exits filled. Each live exit is sized to its own fills
 * plus that (released when still held, replaced when at the venue), so a partly filled
 * take profit shrinks the stop loss instead of leaving shares unprotected; with nothing
 * open the live exits are canceled (OCO). Before the entry's first fill, nothing. */
static void bracket_resize(struct oms *o, struct order *entry)
{
    if (entry->filled_qty == 0) return;
    struct order *ex[2];
    int64_t open = entry->filled_qty;
    for (int i = 0; i < 2; i++) {
        ex[i] = entry->exits[i] ? order_book_get(o->book, entry->exits[i]) : NULL;
        if (ex[i]) open -= ex[i]->filled_qty;
    }
    for (int i = 0; i < 2; i++) {
        struct order *x = ex[i];
        if (!x || order_status_terminal(x->status) || x->cancel_pending) continue;
        if (open <= 0) {
            cancel_order(o, x, "OCO");
            continue;
        }
        int64_t target = x->filled_qty + open;
        if (x->held) {
            oms_expo_apply(o, x, -1);
            x->qty = target;
            order_release(o->book, x);
            oms_expo_apply(o, x, +1);
            oms_journal_release(o, x);
            out_push(o, OUT_NEW, x->id);
        } else if (x->qty != target && x->pending_qty != target) {
            x->pending_qty = target;
            out_push(o, OUT_REPLACE, x->id);
        }
    }
}

/* ---- fills ------------------------------------------------------------------------------ */

int oms_book_fill(struct oms *o, struct order *ord, const struct fill *f, int publish)
{
    if (!strset_add(o->execs, f->exec_id)) return 1;
    if (ord->status == OS_PENDING_NEW) oms_set_status(o, ord, OS_ACCEPTED, NULL, publish);
    if (order_status_terminal(ord->status) || f->qty <= 0 || f->qty > order_leaves(ord)) {
        log_error("oms", "fill does not fit its order; booked for the position only",
                  "id=%llu exec=%s qty=%lld leaves=%lld status=%s", (unsigned long long)ord->id,
                  f->exec_id, (long long)f->qty, (long long)order_leaves(ord),
                  order_status_name(ord->status));
    } else {
        oms_expo_apply(o, ord, -1);
        ord->filled_qty += f->qty;
        ord->fill_notional += money_notional(instr(o, ord->sym), f->px, f->qty);
        enum order_status s = ord->filled_qty == ord->qty ? OS_FILLED : OS_PARTIALLY_FILLED;
        int64_t ts = o->replaying ? f->ts_us : now_us(o);
        if (order_set_status(o->book, ord, s, ts) != 0) ASSERT(!"fill transition");
        oms_expo_apply(o, ord, +1);
    }
    portfolio_apply_fill(o->pf, ord->strategy, f);
    if (!o->replaying) oms_journal_fill(o, f);
    if (publish) {
        oms_publish_order(o, EV_ORDER_FILLED, ord, f, 0);
        publish_position(o, ord);
        o->pf_dirty = 1;
    }
    if (!o->replaying) oms_bracket_fixup(o, ord);
    return 0;
}

void oms_bracket_fixup(struct oms *o, struct order *ord)
{
    if (ord->role == ROLE_ENTRY && ord->filled_qty > 0) bracket_resize(o, ord);
    else if (ord->role == ROLE_ENTRY && order_status_terminal(ord->status)) children_end(o, ord);
    else if ((ord->role == ROLE_TAKE_PROFIT || ord->role == ROLE_STOP_LOSS) &&
             ord->filled_qty > 0) {
        struct order *entry = order_book_get(o->book, ord->parent);
        if (entry) bracket_resize(o, entry);
    }
}

/* ---- venue reports ---------------------------------------------------------------------- */

void oms_fill_of(const struct order *ord, const struct venue_report *r, struct fill *f)
{
    *f = (struct fill){.order_id = ord->id,
                       .sym = ord->sym,
                       .side = ord->side,
                       .px = r->px,
                       .qty = r->qty,
                       .commission = r->commission,
                       .ts_us = r->ts_us};
    util_strlcpy(f->exec_id, r->exec_id, sizeof f->exec_id);
}

static void on_report(const struct venue_report *r, void *arg)
{
    struct oms *o = arg;
    struct order *ord = order_book_by_clid(o->book, r->cl_id);
    if (!ord) {
        log_error("oms", "report for an unknown order", "cl_id=%s kind=%d", r->cl_id, r->kind);
        return;
    }
    switch (r->kind) {
    case VR_ACCEPTED:
        if (ord->status == OS_PENDING_NEW) oms_set_status(o, ord, OS_ACCEPTED, NULL, 1);
        break;
    case VR_REJECTED:
        oms_set_status(o, ord, OS_REJECTED, r->reason, 1);
        break;
    case VR_CANCELED: /* our reason (OCO, KILL_SWITCH...) when we asked for it */
        oms_set_status(o, ord, OS_CANCELED, ord->reason[0] ? ord->reason : r->reason, 1);
        break;
    case VR_EXPIRED:
        oms_set_status(o, ord, OS_EXPIRED, "DAY_END", 1);
        break;
    case VR_FILL: {
        struct fill f;
        oms_fill_of(ord, r, &f);
        oms_book_fill(o, ord, &f, 1);
        break;
    }
    case VR_REPLACED:
        oms_expo_apply(o, ord, -1);
        ord->qty = r->qty_new;
        if (r->limit_px) ord->limit_px = r->limit_px;
        if (r->stop_px) ord->stop_px = r->stop_px;
        oms_expo_apply(o, ord, +1);
        ord->updated_us = now_us(o);
        oms_journal_replace(o, ord);
        oms_publish_order(o, EV_ORDER_ACCEPTED, ord, NULL, 1);
        break;
    case VR_CANCEL_REJECTED:
        if (!order_status_terminal(ord->status) && ord->cancel_pending) {
            ord->cancel_pending = 0;
            oms_expo_apply(o, ord, +1);
        }
        log_debug("oms", "cancel or replace refused by the venue", "id=%llu reason=%s",
                  (unsigned long long)ord->id, r->reason);
        break;
    }
}

/* ---- the flush -------------------------------------------------------------------------- */

static void send_one(struct oms *o, const struct out_item *it)
{
    struct order *ord = order_book_get(o->book, it->id);
    struct err e;
    if (!ord || order_status_terminal(ord->status)) return;
    if (it->kind == OUT_NEW) {
        struct venue_order vo = {.sym = ord->sym,
                                 .side = ord->side,
                                 .type = ord->type,
                                 .tif = ord->tif,
                                 .qty = ord->qty,
                                 .limit_px = ord->limit_px,
                                 .stop_px = ord->stop_px,
                                 .trail_px = ord->trail_px,
                                 .expire_us = ord->expire_us};
        util_strlcpy(vo.cl_id, ord->cl_id, sizeof vo.cl_id);
        if (o->venue.ops->submit(o->venue.impl, &vo, &e) != 0)
            oms_set_status(o, ord, OS_REJECTED, "VENUE_ERROR", 1);
        else if (o->h && o->h->metrics) metrics_order_sent(o->h->metrics); /* tick to order */
    } else if (it->kind == OUT_CANCEL) {
        if (o->venue.ops->cancel(o->venue.impl, ord->cl_id, &e) != 0)
            log_warn("oms", "cancel not sent", "id=%llu error=%s", (unsigned long long)ord->id,
                     e.msg);
    } else {
        int64_t qty = ord->pending_qty ? ord->pending_qty : ord->qty;
        ord->pending_qty = 0;
        if (o->venue.ops->replace(o->venue.impl, ord->cl_id, qty, ord->pending_limit,
                                  ord->pending_stop, &e) != 0)
            log_warn("oms", "replace not sent", "id=%llu error=%s", (unsigned long long)ord->id,
                     e.msg);
        ord->pending_limit = ord->pending_stop = 0;
    }
}

/* The journal could not be made durable: orders not yet sent must not go out. */
static void refuse_unsent(struct oms *o, const struct out_item *items, int n)
{
    for (int i = 0; i < n; i++) {
        struct order *ord = order_book_get(o->book, items[i].id);
        if (items[i].kind == OUT_NEW && ord && ord->status == OS_PENDING_NEW)
            oms_set_status(o, ord, OS_REJECTED, "JOURNAL_UNAVAILABLE", 1);
        else if (items[i].kind != OUT_NEW) send_one(o, &items[i]);
    }
}

void oms_after_timers(struct oms *o)
{
    o->venue_dirty = 1;
}

int oms_pending(const struct oms *o)
{
    return o->nout > 0 || o->venue_dirty || (o->journal && journal_pending(o->journal) > 0) ||
           o->pf_dirty;
}

void oms_flush(struct oms *o)
{
    if (o->flushing) return;
    o->flushing = 1;
    struct out_item *batch = NULL;
    int cap = 0;
    for (int round = 0;
         o->venue_dirty || o->nout > 0 || (o->journal && journal_pending(o->journal)); round++) {
        o->venue_dirty = 0;
        struct err e;
        int durable = !o->journal || journal_commit(o->journal, &e) == 0;
        if (!durable && !o->journal_error_logged) {
            log_error("oms", "journal commit failed; new orders refused", "error=%s", e.msg);
            o->journal_error_logged = 1;
        }
        int n = o->nout;
        if (n > cap) {
            cap = n;
            batch = xrealloc(batch, (size_t)cap * sizeof *batch);
        }
        if (n) memcpy(batch, o->out, (size_t)n * sizeof *batch);
        o->nout = 0;
        if (durable)
            for (int i = 0; i < n; i++) send_one(o, &batch[i]);
        else refuse_unsent(o, batch, n);
        if (o->venue.ops->commit(o->venue.impl, &e) != 0)
            log_error("oms", "venue commit failed", "error=%s", e.msg);
        if (!durable && o->nout == 0) break;
        ASSERT(round < 1000000);
    }
    free(batch);
    /* after the sends: the next orders take no page faults and no journal growth */
    order_book_reserve(o->book);
    struct err re;
    if (o->journal && journal_reserve_ahead(o->journal, &re) != 0)
        log_error("oms", "journal reservation failed; new orders refused", "error=%s", re.msg);
    if (o->pf_dirty) {
        o->pf_dirty = 0;
        risk_update(o->risk);
        publish_portfolio(o);
    }
    o->flushing = 0;
}

static void on_flush_ev(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    oms_flush(arg);
}

/* ---- new orders ------------------------------------------------------------------------ */

static struct order *new_order(struct oms *o, const struct order *tmpl)
{
    struct order *ord = order_book_add(o->book, tmpl);
    ord->created_us = ord->updated_us = now_us(o);
    int64_t ts;
    if (!ord->limit_px && !ord->stop_px &&
        oms_reference_price(o, ord->sym, &ord->expo_px, &ts) != 0)
        ord->expo_px = portfolio_mark_of(o->pf, ord->sym);
    oms_expo_apply(o, ord, +1);
    return ord;
}

static void add_exit(struct oms *o, struct order *entry, enum order_role role, int64_t px)
{
    struct order t = {0};
    util_strlcpy(t.strategy, entry->strategy, sizeof t.strategy);
    util_strlcpy(t.sha256, entry->sha256, sizeof t.sha256);
    util_strlcpy(t.tag, entry->tag, sizeof t.tag);
    t.version = entry->version;
    t.sym = entry->sym;
    t.side = entry->side == SIDE_BUY ? SIDE_SELL : SIDE_BUY;
    t.type = role == ROLE_TAKE_PROFIT ? OT_LIMIT : OT_STOP;
    if (role == ROLE_TAKE_PROFIT) t.limit_px = px;
    else t.stop_px = px;
    t.tif = TIF_GTC;
    t.role = role;
    t.qty = entry->qty;
    t.parent = entry->id;
    t.held = 1;
    struct order *ex = new_order(o, &t);
    entry->exits[role == ROLE_TAKE_PROFIT ? 0 : 1] = ex->id;
}

/* Session end after now (day orders expire then). */
static int64_t next_session_end(const struct oms *o, int64_t now)
{
    int hh = o->cfg.session_end_min / 60, mm = o->cfg.session_end_min % 60;
    return tz_next_local_time(o->session_tz, now / 1000000, hh, mm) * 1000000;
}

/* Denials go to the log too, at most DENIAL_LOGS_PER_S lines a second (a strategy that
 * spams refused orders must not flood the log; the RISK_CHECK events carry them all). */
#define DENIAL_LOGS_PER_S 10

static void log_denial(struct oms *o, const struct oms_submit *s, const char *reason,
                       const char *why)
{
    int64_t sec = now_us(o) / 1000000;
    if (sec != o->denial_sec) {
        if (o->denials_suppressed)
            log_info("risk", "order denials not logged (rate limit)", "count=%llu",
                     (unsigned long long)o->denials_suppressed);
        o->denial_sec = sec;
        o->denials_logged = 0;
        o->denials_suppressed = 0;
    }
    if (o->denials_logged++ >= DENIAL_LOGS_PER_S) {
        o->denials_suppressed++;
        return;
    }
    char q[300], qs[80];
    log_info("risk", "order denied", "strategy=%s symbol=%s reason=%s message=%s", s->req.strategy,
             log_quote(qs, sizeof qs, s->req.symbol ? s->req.symbol : "?"), reason,
             log_quote(q, sizeof q, why));
}

uint64_t oms_submit(struct oms *o, const struct oms_submit *s, const char **reason, char *msg,
                    size_t msgn)
{
    if (msg && msgn) msg[0] = '\0';
    if (o->journal && journal_failed(o->journal)) {
        *reason = risk_reason_name(RISK_JOURNAL_UNAVAILABLE);
        return 0;
    }
    struct order_checked c;
    char why[200];
    enum risk_reason rr = risk_check_new(o->risk, &s->req, &c, why, sizeof why);
    if (msg && msgn) util_strlcpy(msg, why, msgn);
    if (rr != RISK_OK) {
        *reason = risk_reason_name(rr);
        log_denial(o, s, *reason, why);
        return 0;
    }
    struct order t = {0};
    util_strlcpy(t.strategy, s->req.strategy, sizeof t.strategy);
    util_strlcpy(t.sha256, s->sha256 ? s->sha256 : "", sizeof t.sha256);
    util_strlcpy(t.tag, s->tag ? s->tag : "", sizeof t.tag);
    t.version = s->version;
    t.sym = c.sym;
    t.side = s->req.side > 0 ? SIDE_BUY : SIDE_SELL;
    t.type = s->type;
    t.tif = s->tif;
    t.qty = c.qty;
    t.limit_px = c.limit_px;
    t.stop_px = c.stop_px;
    t.trail_px = c.trail_px;
    t.tp_px = c.tp_px;
    t.sl_px = c.sl_px;
    t.flatten = s->req.reduce_only;
    t.role = c.tp_px || c.sl_px ? ROLE_ENTRY : ROLE_SINGLE;
    if (t.tif == TIF_DAY) t.expire_us = next_session_end(o, now_us(o));
    struct order *ord = new_order(o, &t);
    if (c.tp_px) add_exit(o, ord, ROLE_TAKE_PROFIT, c.tp_px);
    if (c.sl_px) add_exit(o, ord, ROLE_STOP_LOSS, c.sl_px);
    struct order *tp = ord->exits[0] ? order_book_get(o->book, ord->exits[0]) : NULL;
    struct order *sl = ord->exits[1] ? order_book_get(o->book, ord->exits[1]) : NULL;
    if (tp && sl) tp->sibling = sl->id, sl->sibling = tp->id;
    oms_journal_order(o, ord);
    if (tp) oms_journal_order(o, tp);
    if (sl) oms_journal_order(o, sl);
    out_push(o, OUT_NEW, ord->id);
    oms_publish_order(o, EV_ORDER_SUBMITTED, ord, NULL, 0);
    return ord->id;
}

/* The order id of strategy (NULL: anyone's), or NULL with reason. */
static struct order *owned(struct oms *o, const char *strategy, uint64_t id, const char **reason)
{
    struct order *ord = order_book_get(o->book, id);
    if (!ord || (strategy && strcmp(ord->strategy, strategy) != 0)) {
        *reason = risk_reason_name(RISK_UNKNOWN_ORDER);
        return NULL;
    }
    if (order_status_terminal(ord->status)) {
        *reason = risk_reason_name(RISK_NOT_WORKING);
        return NULL;
    }
    return ord;
}

int oms_cancel(struct oms *o, const char *strategy, uint64_t id, const char **reason)
{
    struct order *ord = owned(o, strategy, id, reason);
    if (!ord) return -1;
    enum risk_reason rr = risk_check_cancel(o->risk, ord->strategy);
    if (rr != RISK_OK) {
        *reason = risk_reason_name(rr);
        return -1;
    }
    cancel_order(o, ord, "CANCELED");
    return 0;
}

/* value (a price) in instrument units on its tick grid, or -1. */
static int price_arg(const struct instrument *in, double v, int64_t *out)
{
    if (!isfinite(v) || v <= 0 || fx_from_double(v, in->px_dp, out) != 0 || *out <= 0) return -1;
    return *out % in->tick == 0 ? 0 : -1;
}

int oms_replace(struct oms *o, const char *strategy, uint64_t id, unsigned has, double qty,
                double limit, double stop, const char **reason)
{
    struct order *ord = owned(o, strategy, id, reason);
    if (!ord) return -1;
    const struct instrument *in = instr(o, ord->sym);
    int64_t q = ord->qty, lim = 0, stp = 0;
    if (has & OMS_REPLACE_QTY) {
        if (!isfinite(qty) || qty <= 0 || fx_from_double(qty, in->qty_dp, &q) != 0 || q <= 0) {
            *reason = risk_reason_name(RISK_BAD_QUANTITY);
            return -1;
        }
        if (q % in->lot != 0) {
            *reason = risk_reason_name(RISK_OFF_LOT);
            return -1;
        }
        /* only down, and never below what already filled: more size is a new order */
        if (q > ord->qty || q <= ord->filled_qty) {
            *reason = risk_reason_name(RISK_BAD_QUANTITY);
            return -1;
        }
    }
    if (((has & REQ_LIMIT) && (ord->type != OT_LIMIT && ord->type != OT_STOP_LIMIT)) ||
        ((has & REQ_STOP) && (ord->type != OT_STOP && ord->type != OT_STOP_LIMIT))) {
        *reason = risk_reason_name(RISK_BAD_PRICE);
        return -1;
    }
    if (((has & REQ_LIMIT) && price_arg(in, limit, &lim) != 0) ||
        ((has & REQ_STOP) && price_arg(in, stop, &stp) != 0)) {
        *reason = risk_reason_name(RISK_BAD_PRICE);
        return -1;
    }
    enum risk_reason rr = risk_check_cancel(o->risk, ord->strategy);
    if (rr != RISK_OK) {
        *reason = risk_reason_name(rr);
        return -1;
    }
    if (ord->held) { /* not at the venue yet: change it here */
        oms_expo_apply(o, ord, -1);
        ord->qty = q;
        if (lim) ord->limit_px = lim;
        if (stp) ord->stop_px = stp;
        oms_expo_apply(o, ord, +1);
        oms_journal_replace(o, ord);
        oms_publish_order(o, EV_ORDER_ACCEPTED, ord, NULL, 1);
        return 0;
    }
    ord->pending_qty = q;
    ord->pending_limit = lim;
    ord->pending_stop = stp;
    out_push(o, OUT_REPLACE, ord->id);
    return 0;
}

int oms_cancel_all(struct oms *o, const char *strategy, int sym)
{
    struct order *const *w;
    int n = order_book_working(o->book, &w), sent = 0;
    /* cancel_order may change the working list (held exits): collect ids first */
    uint64_t *ids = xmalloc((size_t)(n ? n : 1) * sizeof *ids);
    int k = 0;
    for (int i = 0; i < n; i++)
        if ((!strategy || strcmp(w[i]->strategy, strategy) == 0) && (sym < 0 || w[i]->sym == sym))
            ids[k++] = w[i]->id;
    for (int i = 0; i < k; i++) {
        struct order *ord = order_book_get(o->book, ids[i]);
        if (!ord || order_status_terminal(ord->status)) continue;
        if (risk_check_cancel(o->risk, ord->strategy) != RISK_OK) continue;
        cancel_order(o, ord, "CANCELED");
        sent++;
    }
    /* held exits of those strategies' entries die with their entries (children_end) */
    free(ids);
    return sent;
}

/* A market order that takes strategy's position in sym to zero. bypass_risk: the kill
 * switch's own flatten, which must pass while everything else is blocked. */
static int flatten_one(struct oms *o, const char *strategy, const struct position *p,
                       int bypass_risk, const char **reason)
{
    if (p->qty == 0) return 0;
    const struct instrument *in = instr(o, p->sym);
    if (bypass_risk) {
        struct order t = {0};
        util_strlcpy(t.strategy, strategy, sizeof t.strategy);
        util_strlcpy(t.tag, "kill", sizeof t.tag);
        t.sym = p->sym;
        t.side = p->qty > 0 ? SIDE_SELL : SIDE_BUY;
        t.type = OT_MARKET;
        t.tif = TIF_GTC;
        t.qty = p->qty > 0 ? p->qty : -p->qty;
        t.flatten = 1;
        struct order *ord = new_order(o, &t);
        oms_journal_order(o, ord);
        out_push(o, OUT_NEW, ord->id);
        oms_publish_order(o, EV_ORDER_SUBMITTED, ord, NULL, 0);
        return 1;
    }
    struct oms_submit s = {.type = OT_MARKET, .tif = TIF_GTC, .tag = "flatten"};
    s.req.strategy = strategy;
    s.req.symbol = in->symbol;
    s.req.side = p->qty > 0 ? -1 : 1;
    s.req.qty = fx_to_double(p->qty > 0 ? p->qty : -p->qty, in->qty_dp);
    s.req.reduce_only = 1;
    return oms_submit(o, &s, reason, NULL, 0) ? 1 : -1;
}

int oms_flatten(struct oms *o, const char *strategy, int sym, const char **reason)
{
    oms_cancel_all(o, strategy, sym);
    const struct position *const *ps;
    int n = portfolio_positions(o->pf, strategy, &ps), sent = 0;
    for (int i = 0; i < n; i++) {
        if (sym >= 0 && ps[i]->sym != sym) continue;
        int rc = flatten_one(o, strategy, ps[i], 0, reason);
        if (rc < 0) return -1;
        sent += rc;
    }
    return sent;
}

/* ---- market data, tick, kill switch ----------------------------------------------------- */

void oms_on_market(struct oms *o, const struct event *ev)
{
    /* resting orders may fill on this event: their reports leave at the next flush */
    if (venue_paper_working(&o->venue) > 0) o->venue_dirty = 1;
    if (ev->md_kind == MD_QUOTE) {
        const struct quote *q = &ev->u.quote;
        if (o->cfg.mark_mid && q->bid_px > 0 && q->ask_px > 0)
            portfolio_mark(o->pf, q->sym, (q->bid_px + q->ask_px) / 2);
        venue_paper_on_quote(&o->venue, q);
    } else {
        const struct trade *t = &ev->u.trade;
        if (!o->cfg.mark_mid) portfolio_mark(o->pf, t->sym, t->px);
        venue_paper_on_trade(&o->venue, t);
    }
}

static void journal_trading_states(struct oms *o)
{
    int s = (int)risk_state(o->risk, NULL) + 1;
    if (s != o->tstate_journaled[0]) {
        o->tstate_journaled[0] = s;
        oms_journal_tstate(o, "", s - 1);
    }
}

void oms_kill(struct oms *o, const char *why, int flatten)
{
    if (!risk_killed(o->risk) || !o->kill_journaled) {
        risk_kill(o->risk, why);
        oms_journal_kill(o, 1, why);
        o->kill_journaled = 1;
        int fd = open(o->kill_latch, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0) close(fd);
    }
    struct order *const *w;
    int n = order_book_working(o->book, &w);
    uint64_t *ids = xmalloc((size_t)(n ? n : 1) * sizeof *ids);
    for (int i = 0; i < n; i++) ids[i] = w[i]->id;
    for (int i = 0; i < n; i++) {
        struct order *ord = order_book_get(o->book, ids[i]);
        if (ord && !ord->flatten) cancel_order(o, ord, "KILL_SWITCH");
    }
    free(ids);
    if (flatten || o->cfg.kill_flatten) {
        const char *const *accounts;
        int na = portfolio_accounts(o->pf, &accounts);
        for (int a = 0; a < na; a++) {
            const struct position *const *ps;
            int np = portfolio_positions(o->pf, accounts[a], &ps);
            const char *reason;
            for (int i = 0; i < np; i++) flatten_one(o, accounts[a], ps[i], 1, &reason);
        }
    }
    log_warn("oms", "kill switch engaged", "reason=%s canceled=%d flatten=%d", why, n,
             flatten || o->cfg.kill_flatten);
    schedule_flush(o);
}

void oms_rearm(struct oms *o, const char *who)
{
    if (!risk_killed(o->risk)) return;
    risk_rearm(o->risk, who);
    oms_journal_kill(o, 0, who);
    o->kill_journaled = 0;
    unlink(o->kill_latch);
    log_info("oms", "kill switch re-armed", "by=%s", who);
    schedule_flush(o);
}

void oms_kill_async(struct oms *o)
{
    int saved = errno;
    risk_kill_async(o->risk);
    int fd = open(o->kill_latch, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) close(fd);
    errno = saved;
}

void oms_tick(struct oms *o, int64_t now)
{
    if (risk_kill_poll(o->risk)) oms_kill(o, "signal", o->cfg.kill_flatten);
    if (now >= o->day_end_us) {
        portfolio_new_day(o->pf);
        risk_new_day(o->risk);
        o->day_end_us = next_session_end(o, now);
    }
    portfolio_sample(o->pf, now);
    risk_update(o->risk);
    journal_trading_states(o);
    publish_portfolio(o);
    o->pf_dirty = 0;
}

/* ---- strategies' state ---------------------------------------------------------------- */

void oms_save_state(struct oms *o, const char *strategy, const void *data, size_t len)
{
    if (!o->journal) return;
    buf_reset(&o->jbuf);
    buf_put(&o->jbuf, strategy, strlen(strategy) + 1);
    buf_put(&o->jbuf, data, len);
    journal_append(o->journal, J_STATE, o->jbuf.p, o->jbuf.len);
    schedule_flush(o);
}

const struct buf *oms_recovered_state(const struct oms *o, const char *strategy)
{
    for (int i = 0; i < o->nstates; i++)
        if (strcmp(o->states[i].strategy, strategy) == 0) return &o->states[i].data;
    return NULL;
}

/* ---- open and close ---------------------------------------------------------------------- */

static int open_venue(struct oms *o, struct err *e)
{
    return venue_paper_new(&o->venue, &o->cfg.paper, &o->h->instruments, o->h->timers, &o->h->clock,
                           on_report, o, e);
}

struct oms *oms_open(struct host *h, const struct oms_config *cfg, struct err *e)
{
    struct oms *o = xcalloc(1, sizeof *o);
    o->h = h;
    o->cfg = *cfg;
    o->cfg.risk = (struct risk_config){0}; /* owned by risk */
    int64_t cash;
    if (fx_from_double(cfg->initial_cash, MONEY_DP, &cash) != 0 || cash < 0) {
        err_set(e, "account.cash: not a valid amount");
        free(o);
        return NULL;
    }
    o->book = order_book_new();
    oms_expo_init(o);
    o->pf = portfolio_new(&h->instruments, cash,
                          cfg->periods_per_year > 0 ? cfg->periods_per_year : 252.0 * 23400);
    struct risk_env env;
    oms_risk_env(o, &env);
    o->risk = risk_new(&cfg->risk, &env, h->bus, &h->clock);
    o->execs = strset_new();
    o->session_tz = tz_load(cfg->session_tz ? cfg->session_tz : "UTC", NULL, e);
    if (!o->session_tz) goto fail;
    int64_t epoch = wall_us();
    if (cfg->journal_path) {
        snprintf(o->kill_latch, sizeof o->kill_latch, "%s.kill", cfg->journal_path);
        o->replaying = 1;
        o->journal = journal_open(cfg->journal_path, cfg->sync, oms_replay_record, o, e);
        o->replaying = 0;
        if (!o->journal) goto fail;
        epoch = journal_epoch_us(o->journal);
    }
    oms_expo_rebuild(o); /* replay changed orders without tracking them */
    order_book_set_next_id(o->book, o->max_id + 1, epoch);
    if (open_venue(o, e) != 0) goto fail;
    o->flush_ev = event_new(h->base, -1, 0, on_flush_ev, o);
    o->day_end_us = next_session_end(o, now_us(o));
    o->deferring = 1;
    oms_reconcile(o);
    if (cfg->journal_path && access(o->kill_latch, F_OK) == 0 && !risk_killed(o->risk))
        oms_kill(o, "latched before restart", 0);
    journal_trading_states(o);
    o->deferring = 0; /* what recovery produced waits in deferred; the rest goes out live */
    /* what recovery learned is durable before any strategy runs */
    struct err je;
    if (o->journal && journal_commit(o->journal, &je) != 0)
        log_error("oms", "journal commit failed; new orders refused", "error=%s", je.msg);
    struct order *const *w;
    struct portfolio_totals t;
    portfolio_totals(o->pf, NULL, &t);
    log_info("oms", "trading ready",
             "venue=paper journal=%s working=%d fills=%llu cash=%.2f state=%s killed=%d",
             cfg->journal_path ? cfg->journal_path : "off", order_book_working(o->book, &w),
             (unsigned long long)t.fills, fx_to_double(t.cash, MONEY_DP),
             trading_state_name(risk_state(o->risk, NULL)), risk_killed(o->risk));
    return o;
fail:
    oms_free(o);
    return NULL;
}

void oms_free(struct oms *o)
{
    if (!o) return;
    if (o->venue.ops) {
        oms_flush(o);
        struct portfolio_totals t;
        portfolio_totals(o->pf, NULL, &t);
        log_info("oms", "trading stopped",
                 "orders=%llu fills=%llu equity=%.2f realized=%.2f commissions=%.2f",
                 (unsigned long long)(order_book_next_id(o->book) - 1), (unsigned long long)t.fills,
                 fx_to_double(t.equity, MONEY_DP), fx_to_double(t.realized, MONEY_DP),
                 fx_to_double(t.commissions, MONEY_DP));
        o->venue.ops->free(o->venue.impl);
    }
    journal_close(o->journal);
    if (o->flush_ev) event_free(o->flush_ev);
    for (int i = 0; i < o->nstates; i++) {
        free(o->states[i].strategy);
        buf_free(&o->states[i].data);
    }
    free(o->states);
    for (int i = 0; i < o->ndeferred; i++) event_release(&o->deferred[i]);
    free(o->deferred);
    free(o->out);
    strset_free(o->execs);
    oms_expo_free(o);
    buf_free(&o->jbuf);
    tz_free(o->session_tz);
    risk_free(o->risk);
    portfolio_free(o->pf);
    order_book_free(o->book);
    free(o);
}

struct order_book *oms_book(struct oms *o)
{
    return o->book;
}

struct portfolio *oms_portfolio(struct oms *o)
{
    return o->pf;
}

struct risk *oms_risk(struct oms *o)
{
    return o->risk;
}

struct journal *oms_journal(struct oms *o)
{
    return o->journal;
}

const char *oms_recovery_problem(const struct oms *o)
{
    return o->problem;
}
