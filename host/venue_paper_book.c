/* venue_paper_book.c: the paper venue's book of record (orders by cl_id, working lists
 * per symbol, positions, cash, fills) and its journal.
 *
 * Event sourcing: every change of state goes through one vp_* function here that
 * applies it, then (unless replaying) appends its journal record and queues its report.
 * Replay decodes each record and calls the same function with the recorded values, so a
 * reopened book is the state the records left, by construction. The fill model
 * (venue_paper_fill.c) decides; this file only records.
 *
 * Records (journal.h framing; payloads compact little-endian binary, no allocation; i64
 * and u64 are 8 bytes, i8/u8 one, str is a u8 length and that many bytes, no NUL):
 *   1 META           u8 version (1) | i64 initial cash (money units) | i64 exec-id epoch
 *                    (the journal's epoch when the book was created)      first record
 *   2 NEW            u64 req | i64 ts | i64 arrive | i8 side | u8 type | u8 tif | i64 qty
 *                    | i64 limit | i64 stop | i64 trail | i64 expire | str symbol | str cl_id
 *   3 CANCEL_REQ     u64 req | i64 ts | i64 arrive | str cl_id
 *   4 REPLACE_REQ    u64 req | i64 ts | i64 arrive | i64 qty | i64 limit | i64 stop
 *                    | str cl_id
 *   5 ACCEPTED       u64 req | i64 ts
 *   6 REJECTED       u64 req | i64 ts | str reason
 *   7 CANCEL_REJECTED u64 req | i64 ts | str reason
 *   8 FILL           u64 exec n | i64 ts | i64 px | i64 qty | i64 notional | i64 commission
 *                    | str cl_id
 *   9 CANCELED       u64 req (0: the venue's own, IOC/FOK) | i64 ts | str reason | str cl_id
 *  10 REPLACED       u64 req | i64 ts
 *  11 EXPIRED        i64 ts | str cl_id
 *  12 TRIGGERED      i64 ts | str cl_id
 *  13 TRAIL          i64 stop | str cl_id    (a trailing stop's level, once per commit)
 * A request (2-4) is journaled when commit sends it; the outcome that consumes it (5, 6,
 * 7, 9, 10) names it. Requests reach the book in the order sent, so an outcome always
 * consumes the oldest request in flight; replay checks that, and requests left without an
 * outcome are still in flight after a reopen (their arrival timers are re-armed). Symbols
 * are journaled by name, so the book survives a reordered instrument registry. The
 * notional is journaled with each fill, so cash replays exactly even if an instrument's
 * decimals changed. The book's initial cash is its own (META): a later config value is
 * ignored, with a warning. */
#include "venue_paper_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

enum vj_type {
    VJ_META = 1,
    VJ_NEW,
    VJ_CANCEL_REQ,
    VJ_REPLACE_REQ,
    VJ_ACCEPTED,
    VJ_REJECTED,
    VJ_CANCEL_REJECTED,
    VJ_FILL,
    VJ_CANCELED,
    VJ_REPLACED,
    VJ_EXPIRED,
    VJ_TRIGGERED,
    VJ_TRAIL,
};

#define VJ_VERSION 1

/* ---- the cl_id index ----
 *
 * Chained buckets, at most one order per bucket on average. Growth is incremental, as in
 * strset.c: when the orders outnumber the buckets, the table becomes the old one and a
 * table twice its size takes new orders; every later insert moves the chains of the next
 * VP_REHASH_STEP old buckets, so no insert rehashes the whole book. Lookups search the
 * new table, then the old. A growth starts at n = B orders over B old buckets and drains
 * in B/STEP inserts, so the next growth (at n >= 2B) never meets a drain. */

static size_t clid_hash(const char *s)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211u;
    return (size_t)h;
}

static struct vp_order *chain_find(struct vp_order *o, const char *cl_id)
{
    while (o && strcmp(o->o.cl_id, cl_id) != 0) o = o->hnext;
    return o;
}

struct vp_order *vp_find(const struct paper *p, const char *cl_id)
{
    if (!p->nbuckets) return NULL;
    size_t h = clid_hash(cl_id);
    struct vp_order *o = chain_find(p->buckets[h & (p->nbuckets - 1)], cl_id);
    if (!o && p->old_buckets) o = chain_find(p->old_buckets[h & (p->old_nbuckets - 1)], cl_id);
    return o;
}

static void index_insert(struct vp_order **buckets, size_t nbuckets, struct vp_order *o)
{
    struct vp_order **b = &buckets[clid_hash(o->o.cl_id) & (nbuckets - 1)];
    o->hnext = *b;
    *b = o;
}

/* Moves the chains of the next VP_REHASH_STEP old buckets; frees drained old buckets. */
static void index_drain_step(struct paper *p)
{
    size_t end = MIN(p->drained + VP_REHASH_STEP, p->old_nbuckets);
    for (; p->drained < end; p->drained++) {
        struct vp_order *o = p->old_buckets[p->drained], *next;
        for (; o; o = next) {
            next = o->hnext;
            index_insert(p->buckets, p->nbuckets, o);
        }
        p->old_buckets[p->drained] = NULL;
    }
    if (p->drained < p->old_nbuckets) return;
    free(p->old_buckets);
    p->old_buckets = NULL;
    p->old_nbuckets = p->drained = 0;
}

/* Indexes o by cl_id (which must be new), growing or draining the table by one step. */
static void index_add(struct paper *p, struct vp_order *o)
{
    if (p->old_buckets) {
        index_drain_step(p);
    } else if (p->norders > p->nbuckets) {
        p->old_buckets = p->buckets;
        p->old_nbuckets = p->nbuckets;
        p->drained = 0;
        p->nbuckets = p->nbuckets ? p->nbuckets * 2 : 64;
        p->buckets = xcalloc(p->nbuckets, sizeof *p->buckets);
        if (!p->old_nbuckets) p->old_buckets = NULL; /* the first table: nothing to drain */
    }
    index_insert(p->buckets, p->nbuckets, o);
}

/* Creates an order from a request and indexes it by cl_id (which must be new). */
static struct vp_order *order_new(struct paper *p, const struct venue_order *terms,
                                  enum order_status status)
{
    if (p->norders == p->cap_orders) {
        p->cap_orders = p->cap_orders ? p->cap_orders * 2 : 64;
        p->orders = xrealloc(p->orders, p->cap_orders * sizeof *p->orders);
    }
    struct vp_order *o = xcalloc(1, sizeof *o);
    o->o = *terms;
    o->status = status;
    p->orders[p->norders++] = o;
    index_add(p, o);
    return o;
}

void vp_sym_reserve(struct paper *p, int sym)
{
    if (sym < p->nsym) return;
    int n = MAX(sym + 1, p->ins->n);
    p->syms = xrealloc(p->syms, (size_t)n * sizeof *p->syms);
    memset(p->syms + p->nsym, 0, (size_t)(n - p->nsym) * sizeof *p->syms);
    p->nsym = n;
}

static void link_tail(struct paper *p, struct vp_order *o)
{
    struct vp_sym *s = &p->syms[o->o.sym];
    o->next = NULL;
    o->prev = s->tail;
    if (s->tail) s->tail->next = o;
    else s->head = o;
    s->tail = o;
}

static void unlink_order(struct paper *p, struct vp_order *o)
{
    struct vp_sym *s = &p->syms[o->o.sym];
    if (o->prev) o->prev->next = o->next;
    else s->head = o->next;
    if (o->next) o->next->prev = o->prev;
    else s->tail = o->prev;
    o->prev = o->next = NULL;
}

/* A working order reaches a terminal status and leaves its symbol's list. */
static void finish(struct paper *p, struct vp_order *o, enum order_status status)
{
    ASSERT(o->status == OS_ACCEPTED || o->status == OS_PARTIALLY_FILLED);
    unlink_order(p, o);
    p->syms[o->o.sym].working--;
    p->working--;
    o->status = status;
}

/* ---- records ---- */

struct wbuf {
    uint8_t b[256];
    size_t n;
};

static void put_u8(struct wbuf *w, uint8_t v)
{
    ASSERT(w->n < sizeof w->b);
    w->b[w->n++] = v;
}

static void put_u64(struct wbuf *w, uint64_t v)
{
    for (int i = 0; i < 8; i++) put_u8(w, (uint8_t)(v >> (8 * i)));
}

static void put_i64(struct wbuf *w, int64_t v)
{
    put_u64(w, (uint64_t)v);
}

static void put_str(struct wbuf *w, const char *s)
{
    size_t len = strlen(s);
    ASSERT(len <= UINT8_MAX && w->n + 1 + len <= sizeof w->b);
    put_u8(w, (uint8_t)len);
    memcpy(w->b + w->n, s, len);
    w->n += len;
}

static void record(struct paper *p, enum vj_type type, const struct wbuf *w)
{
    if (p->j) journal_append(p->j, (uint8_t)type, w->b, w->n);
}

struct rbuf {
    const uint8_t *b;
    size_t n, off;
    bool bad;
};

static uint8_t get_u8(struct rbuf *r)
{
    if (r->off >= r->n) {
        r->bad = true;
        return 0;
    }
    return r->b[r->off++];
}

static uint64_t get_u64(struct rbuf *r)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)get_u8(r) << (8 * i);
    return v;
}

static int64_t get_i64(struct rbuf *r)
{
    return (int64_t)get_u64(r);
}

static void get_str(struct rbuf *r, char *dst, size_t cap)
{
    size_t len = get_u8(r);
    if (r->bad || len >= cap || r->n - r->off < len) {
        r->bad = true;
        dst[0] = '\0';
        return;
    }
    memcpy(dst, r->b + r->off, len);
    dst[len] = '\0';
    r->off += len;
}

/* ---- reports ---- */

static struct venue_report *report(struct paper *p, enum venue_report_kind kind, const char *cl_id,
                                   int64_t ts_us)
{
    struct venue_report *r = vp_report_push(&p->queue);
    memset(r, 0, sizeof *r);
    r->kind = kind;
    util_strlcpy(r->cl_id, cl_id, sizeof r->cl_id);
    r->ts_us = ts_us;
    return r;
}

static struct venue_report *report_order(struct paper *p, enum venue_report_kind kind,
                                         const struct vp_order *o, int64_t ts_us)
{
    struct venue_report *r = report(p, kind, o->o.cl_id, ts_us);
    r->cum_qty = o->cum_qty;
    r->leaves_qty =
        o->status == OS_ACCEPTED || o->status == OS_PARTIALLY_FILLED ? o->o.qty - o->cum_qty : 0;
    return r;
}

/* ---- state changes ---- */

/* Only the prices an order's type uses are kept; DAY alone expires. */
static void normalize(struct venue_order *o)
{
    if (o->type != OT_LIMIT && o->type != OT_STOP_LIMIT) o->limit_px = 0;
    if (o->type == OT_MARKET || o->type == OT_LIMIT) o->stop_px = 0;
    if (o->type != OT_TRAIL) o->trail_px = 0;
    if (o->tif != TIF_DAY) o->expire_us = 0;
}

struct vp_order *vp_accept(struct paper *p, const struct vp_request *r, int64_t ts_us)
{
    struct venue_order terms = r->o;
    normalize(&terms);
    struct vp_order *o = order_new(p, &terms, OS_ACCEPTED);
    vp_sym_reserve(p, o->o.sym);
    link_tail(p, o);
    p->syms[o->o.sym].working++;
    p->working++;
    if (p->replaying) return o;
    struct wbuf w = {.n = 0};
    put_u64(&w, r->id);
    put_i64(&w, ts_us);
    record(p, VJ_ACCEPTED, &w);
    report_order(p, VR_ACCEPTED, o, ts_us);
    return o;
}

void vp_reject(struct paper *p, const struct vp_request *r, const char *reason, int64_t ts_us)
{
    /* A fresh cl_id is remembered as rejected (query answers for it); a duplicate leaves
     * the order that owns the cl_id alone. */
    if (r->o.cl_id[0] && !vp_find(p, r->o.cl_id)) order_new(p, &r->o, OS_REJECTED);
    if (p->replaying) return;
    struct wbuf w = {.n = 0};
    put_u64(&w, r->id);
    put_i64(&w, ts_us);
    put_str(&w, reason);
    record(p, VJ_REJECTED, &w);
    struct venue_report *rep = report(p, VR_REJECTED, r->o.cl_id, ts_us);
    util_strlcpy(rep->reason, reason, sizeof rep->reason);
}

void vp_cancel_reject(struct paper *p, const struct vp_request *r, const char *reason,
                      int64_t ts_us)
{
    if (p->replaying) return;
    struct wbuf w = {.n = 0};
    put_u64(&w, r->id);
    put_i64(&w, ts_us);
    put_str(&w, reason);
    record(p, VJ_CANCEL_REJECTED, &w);
    const struct vp_order *o = vp_find(p, r->o.cl_id);
    struct venue_report *rep = o ? report_order(p, VR_CANCEL_REJECTED, o, ts_us)
                                 : report(p, VR_CANCEL_REJECTED, r->o.cl_id, ts_us);
    util_strlcpy(rep->reason, reason, sizeof rep->reason);
}

void vp_cancel(struct paper *p, struct vp_order *o, const struct vp_request *r, const char *reason,
               int64_t ts_us)
{
    finish(p, o, OS_CANCELED);
    if (p->replaying) return;
    struct wbuf w = {.n = 0};
    put_u64(&w, r ? r->id : 0);
    put_i64(&w, ts_us);
    put_str(&w, reason);
    put_str(&w, o->o.cl_id);
    record(p, VJ_CANCELED, &w);
    struct venue_report *rep = report_order(p, VR_CANCELED, o, ts_us);
    util_strlcpy(rep->reason, reason, sizeof rep->reason);
}

void vp_replace(struct paper *p, struct vp_order *o, const struct vp_request *r, int64_t ts_us)
{
    const struct venue_order *n = &r->o;
    /* A new price or a larger quantity loses time priority, as on an exchange. */
    bool requeue = n->qty > o->o.qty || (n->limit_px && n->limit_px != o->o.limit_px) ||
                   (n->stop_px && n->stop_px != o->o.stop_px);
    if (n->qty) o->o.qty = n->qty;
    if (n->limit_px) o->o.limit_px = n->limit_px;
    if (n->stop_px) o->o.stop_px = n->stop_px;
    if (o->cum_qty >= o->o.qty) {
        finish(p, o, OS_FILLED);
    } else if (requeue) {
        unlink_order(p, o);
        link_tail(p, o);
    }
    if (p->replaying) return;
    struct wbuf w = {.n = 0};
    put_u64(&w, r->id);
    put_i64(&w, ts_us);
    record(p, VJ_REPLACED, &w);
    struct venue_report *rep = report_order(p, VR_REPLACED, o, ts_us);
    rep->qty_new = o->o.qty;
    rep->limit_px = o->o.limit_px;
    rep->stop_px = o->o.stop_px;
}

static void record_ts_clid(struct paper *p, enum vj_type type, int64_t v, const struct vp_order *o)
{
    struct wbuf w = {.n = 0};
    put_i64(&w, v);
    put_str(&w, o->o.cl_id);
    record(p, type, &w);
}

void vp_expire(struct paper *p, struct vp_order *o, int64_t ts_us)
{
    finish(p, o, OS_EXPIRED);
    if (p->replaying) return;
    record_ts_clid(p, VJ_EXPIRED, ts_us, o);
    report_order(p, VR_EXPIRED, o, ts_us);
}

void vp_trigger(struct paper *p, struct vp_order *o, int64_t ts_us)
{
    o->triggered = true;
    if (!p->replaying) record_ts_clid(p, VJ_TRIGGERED, ts_us, o);
}

void vp_trail(struct paper *p, struct vp_order *o, int64_t stop_px)
{
    o->o.stop_px = stop_px;
    if (p->replaying || o->trail_dirty) return;
    o->trail_dirty = true;
    if (p->ndirty == p->cap_dirty) {
        p->cap_dirty = p->cap_dirty ? p->cap_dirty * 2 : 16;
        p->dirty = xrealloc(p->dirty, p->cap_dirty * sizeof *p->dirty);
    }
    p->dirty[p->ndirty++] = o;
}

void vp_flush_trails(struct paper *p)
{
    for (size_t i = 0; i < p->ndirty; i++) {
        struct vp_order *o = p->dirty[i];
        o->trail_dirty = false;
        bool working = o->status == OS_ACCEPTED || o->status == OS_PARTIALLY_FILLED;
        if (working && !o->triggered) record_ts_clid(p, VJ_TRAIL, o->o.stop_px, o);
    }
    p->ndirty = 0;
}

void vp_fill(struct paper *p, struct vp_order *o, int64_t px, int64_t qty, int64_t notional,
             int64_t commission, uint64_t exec_n, int64_t ts_us)
{
    ASSERT(qty > 0 && o->cum_qty + qty <= o->o.qty);
    o->cum_qty += qty;
    p->syms[o->o.sym].position += o->o.side * qty;
    p->cash -= o->o.side * notional + commission;
    p->last_exec = MAX(p->last_exec, exec_n);
    if (o->cum_qty == o->o.qty) finish(p, o, OS_FILLED);
    else o->status = OS_PARTIALLY_FILLED;

    if (p->fills.n == p->fills.cap) {
        p->fills.cap = p->fills.cap ? p->fills.cap * 2 : 64;
        p->fills.v = xrealloc(p->fills.v, p->fills.cap * sizeof *p->fills.v);
    }
    struct vp_fill *f = &p->fills.v[p->fills.n++];
    *f = (struct vp_fill){
        o,          exec_n, px, qty, o->cum_qty, o->status == OS_FILLED ? 0 : o->o.qty - o->cum_qty,
        commission, ts_us};
    if (p->replaying) return;
    vp_fill_report(p, f, vp_report_push(&p->queue));
    struct wbuf w = {.n = 0};
    put_u64(&w, exec_n);
    put_i64(&w, ts_us);
    put_i64(&w, px);
    put_i64(&w, qty);
    put_i64(&w, notional);
    put_i64(&w, commission);
    put_str(&w, o->o.cl_id);
    record(p, VJ_FILL, &w);
}

void vp_fill_report(const struct paper *p, const struct vp_fill *f, struct venue_report *out)
{
    memset(out, 0, sizeof *out);
    out->kind = VR_FILL;
    util_strlcpy(out->cl_id, f->o->o.cl_id, sizeof out->cl_id);
    snprintf(out->exec_id, sizeof out->exec_id, "P%" PRId64 "-%" PRIu64, p->epoch_us, f->exec_n);
    out->px = f->px;
    out->qty = f->qty;
    out->cum_qty = f->cum_qty;
    out->leaves_qty = f->leaves_qty;
    out->commission = f->commission;
    out->ts_us = f->ts_us;
}

void vp_journal_request(struct paper *p, const struct vp_request *r)
{
    const struct venue_order *o = &r->o;
    struct wbuf w = {.n = 0};
    put_u64(&w, r->id);
    put_i64(&w, r->ts_us);
    put_i64(&w, r->arrive_us);
    if (r->kind == VP_REQ_NEW) {
        put_u8(&w, (uint8_t)(int8_t)o->side);
        put_u8(&w, (uint8_t)o->type);
        put_u8(&w, (uint8_t)o->tif);
        put_i64(&w, o->qty);
        put_i64(&w, o->limit_px);
        put_i64(&w, o->stop_px);
        put_i64(&w, o->trail_px);
        put_i64(&w, o->expire_us);
        bool known = o->sym >= 0 && o->sym < p->ins->n;
        put_str(&w, known ? p->ins->v[o->sym].symbol : "");
    } else if (r->kind == VP_REQ_REPLACE) {
        put_i64(&w, o->qty);
        put_i64(&w, o->limit_px);
        put_i64(&w, o->stop_px);
    }
    put_str(&w, o->cl_id);
    static const enum vj_type types[] = {VJ_NEW, VJ_CANCEL_REQ, VJ_REPLACE_REQ};
    record(p, types[r->kind], &w);
}

/* ---- replay ---- */

struct replay {
    struct paper *p;
    bool meta;
    int64_t config_cash;
};

static int replay_meta(struct replay *rp, struct rbuf *r, struct err *e)
{
    uint8_t version = get_u8(r);
    int64_t cash = get_i64(r), epoch = get_i64(r);
    if (r->bad || rp->meta) return err_set(e, "malformed or repeated META record");
    if (version != VJ_VERSION)
        return err_set(e, "book format version %u (this build reads %d)", version, VJ_VERSION);
    rp->meta = true;
    rp->p->initial_cash = rp->p->cash = cash;
    rp->p->epoch_us = epoch;
    if (cash != rp->config_cash)
        log_warn("venue_paper", "book keeps its own initial cash",
                 "book_cash=%" PRId64 " config_cash=%" PRId64, cash, rp->config_cash);
    return 0;
}

static int replay_request(struct paper *p, enum vp_req_kind kind, struct rbuf *r, struct err *e)
{
    struct vp_request q = {.kind = kind};
    q.id = get_u64(r);
    q.ts_us = get_i64(r);
    q.arrive_us = get_i64(r);
    char symbol[SYMBOL_MAX];
    if (kind == VP_REQ_NEW) {
        q.o.side = (enum order_side)(int8_t)get_u8(r);
        q.o.type = (enum order_type)get_u8(r);
        q.o.tif = (enum order_tif)get_u8(r);
        q.o.qty = get_i64(r);
        q.o.limit_px = get_i64(r);
        q.o.stop_px = get_i64(r);
        q.o.trail_px = get_i64(r);
        q.o.expire_us = get_i64(r);
        get_str(r, symbol, sizeof symbol);
        q.o.sym = symbol[0] ? instruments_find(p->ins, symbol) : -1;
    } else if (kind == VP_REQ_REPLACE) {
        q.o.qty = get_i64(r);
        q.o.limit_px = get_i64(r);
        q.o.stop_px = get_i64(r);
    }
    get_str(r, q.o.cl_id, sizeof q.o.cl_id);
    if (r->bad) return err_set(e, "malformed request record");
    if (q.id <= p->last_req) return err_set(e, "request %" PRIu64 " out of order", q.id);
    p->last_req = q.id;
    vp_reqq_push(&p->flight, &q);
    return 0;
}

/* The request an outcome consumes: always the oldest in flight. */
static int take_request(struct paper *p, uint64_t id, struct vp_request *out, struct err *e)
{
    struct vp_request *h = vp_reqq_head(&p->flight);
    if (!h || h->id != id)
        return err_set(e, "outcome for request %" PRIu64 ", which is not the next in flight", id);
    *out = *h;
    vp_reqq_pop(&p->flight);
    return 0;
}

static int working_order(struct paper *p, const char *cl_id, struct vp_order **out, struct err *e)
{
    *out = vp_find(p, cl_id);
    if (!*out || ((*out)->status != OS_ACCEPTED && (*out)->status != OS_PARTIALLY_FILLED))
        return err_set(e, "no working order %s", cl_id);
    return 0;
}

/* ACCEPTED, REJECTED, CANCEL_REJECTED, REPLACED: u64 req | i64 ts [| str reason]. */
static int replay_outcome(struct paper *p, enum vj_type type, struct rbuf *r, struct err *e)
{
    uint64_t id = get_u64(r);
    int64_t ts = get_i64(r);
    char reason[ORDER_REASON_MAX] = "";
    if (type == VJ_REJECTED || type == VJ_CANCEL_REJECTED) get_str(r, reason, sizeof reason);
    if (r->bad) return err_set(e, "malformed outcome record");
    struct vp_request q;
    if (take_request(p, id, &q, e) < 0) return -1;
    bool is_new = q.kind == VP_REQ_NEW;
    if (is_new != (type == VJ_ACCEPTED || type == VJ_REJECTED))
        return err_set(e, "outcome type %d does not fit request %" PRIu64, (int)type, id);
    if (type == VJ_ACCEPTED) {
        if (q.o.sym < 0) return err_set(e, "order %s: its symbol is not registered", q.o.cl_id);
        if (vp_find(p, q.o.cl_id)) return err_set(e, "order %s accepted twice", q.o.cl_id);
        vp_accept(p, &q, ts);
    } else if (type == VJ_REJECTED) {
        vp_reject(p, &q, reason, ts);
    } else if (type == VJ_REPLACED) {
        struct vp_order *o;
        if (q.kind != VP_REQ_REPLACE)
            return err_set(e, "REPLACED does not fit request %" PRIu64, id);
        if (working_order(p, q.o.cl_id, &o, e) < 0) return -1;
        vp_replace(p, o, &q, ts);
    }
    return 0;
}

static int replay_fill(struct paper *p, struct rbuf *r, struct err *e)
{
    uint64_t n = get_u64(r);
    int64_t ts = get_i64(r), px = get_i64(r), qty = get_i64(r);
    int64_t notional = get_i64(r), commission = get_i64(r);
    char cl_id[ORDER_CLID_MAX];
    get_str(r, cl_id, sizeof cl_id);
    if (r->bad) return err_set(e, "malformed FILL record");
    struct vp_order *o;
    if (working_order(p, cl_id, &o, e) < 0) return -1;
    if (qty <= 0 || qty > o->o.qty - o->cum_qty)
        return err_set(e, "fill of %" PRId64 " exceeds what %s leaves", qty, cl_id);
    vp_fill(p, o, px, qty, notional, commission, n, ts);
    return 0;
}

static int replay_canceled(struct paper *p, struct rbuf *r, struct err *e)
{
    uint64_t id = get_u64(r);
    int64_t ts = get_i64(r);
    char reason[ORDER_REASON_MAX], cl_id[ORDER_CLID_MAX];
    get_str(r, reason, sizeof reason);
    get_str(r, cl_id, sizeof cl_id);
    if (r->bad) return err_set(e, "malformed CANCELED record");
    struct vp_request q;
    if (id && take_request(p, id, &q, e) < 0) return -1;
    if (id && (q.kind != VP_REQ_CANCEL || strcmp(q.o.cl_id, cl_id) != 0))
        return err_set(e, "CANCELED for %s does not fit request %" PRIu64, cl_id, id);
    struct vp_order *o;
    if (working_order(p, cl_id, &o, e) < 0) return -1;
    vp_cancel(p, o, id ? &q : NULL, reason, ts);
    return 0;
}

/* EXPIRED, TRIGGERED, TRAIL: i64 | str cl_id. */
static int replay_order_event(struct paper *p, enum vj_type type, struct rbuf *r, struct err *e)
{
    int64_t v = get_i64(r);
    char cl_id[ORDER_CLID_MAX];
    get_str(r, cl_id, sizeof cl_id);
    if (r->bad) return err_set(e, "malformed order event record");
    struct vp_order *o;
    if (working_order(p, cl_id, &o, e) < 0) return -1;
    if (type == VJ_EXPIRED) vp_expire(p, o, v);
    else if (type == VJ_TRIGGERED) vp_trigger(p, o, v);
    else vp_trail(p, o, v);
    return 0;
}

static int replay_dispatch(struct replay *rp, enum vj_type type, struct rbuf *r, struct err *e)
{
    struct paper *p = rp->p;
    if (type == VJ_META) return replay_meta(rp, r, e);
    if (!rp->meta) return err_set(e, "no META record before the first event");
    switch (type) {
    case VJ_NEW:
        return replay_request(p, VP_REQ_NEW, r, e);
    case VJ_CANCEL_REQ:
        return replay_request(p, VP_REQ_CANCEL, r, e);
    case VJ_REPLACE_REQ:
        return replay_request(p, VP_REQ_REPLACE, r, e);
    case VJ_ACCEPTED:
    case VJ_REJECTED:
    case VJ_CANCEL_REJECTED:
    case VJ_REPLACED:
        return replay_outcome(p, type, r, e);
    case VJ_FILL:
        return replay_fill(p, r, e);
    case VJ_CANCELED:
        return replay_canceled(p, r, e);
    case VJ_EXPIRED:
    case VJ_TRIGGERED:
    case VJ_TRAIL:
        return replay_order_event(p, type, r, e);
    default:
        return err_set(e, "unknown record type %d", (int)type);
    }
}

static int replay_record(uint8_t type, uint64_t seq, const void *payload, size_t len, void *arg,
                         struct err *e)
{
    struct rbuf r = {.b = payload, .n = len};
    if (replay_dispatch(arg, (enum vj_type)type, &r, e) < 0)
        return err_prefix(e, "record %" PRIu64, seq);
    if (r.off != r.n) return err_set(e, "record %" PRIu64 ": %zu trailing bytes", seq, r.n - r.off);
    return 0;
}

int vp_book_open(struct paper *p, const char *path, enum journal_sync sync, int64_t initial_cash,
                 struct err *e)
{
    struct replay rp = {.p = p, .config_cash = initial_cash};
    p->replaying = true;
    p->j = journal_open(path, sync, replay_record, &rp, e);
    p->replaying = false;
    if (!p->j) return err_prefix(e, "paper venue book %s", path);
    if (rp.meta) return 0;
    p->initial_cash = p->cash = initial_cash;
    p->epoch_us = journal_epoch_us(p->j);
    struct wbuf w = {.n = 0};
    put_u8(&w, VJ_VERSION);
    put_i64(&w, initial_cash);
    put_i64(&w, p->epoch_us);
    record(p, VJ_META, &w);
    if (journal_commit(p->j, e) < 0) return err_prefix(e, "paper venue book %s", path);
    return 0;
}

void vp_book_free(struct paper *p)
{
    for (size_t i = 0; i < p->norders; i++) free(p->orders[i]);
    free(p->orders);
    free(p->buckets);
    free(p->old_buckets);
    free(p->dirty);
    free(p->syms);
}
