/* venue_paper.c: the paper venue's face (venue.h operations, venue_paper.h entry points):
 * requests in and out of flight, the venue's timers, and report delivery.
 *
 * Requests: submit, cancel and replace put a request in the inbox and do nothing else.
 * commit sends the inbox: each request gets its id, is journaled, and joins the flight
 * queue with arrive_us = now + latency; then every request due by now reaches the book
 * (venue_paper_fill.c), trailing-stop levels are journaled, the journal is committed, and
 * only then are reports delivered. Requests reach the book strictly in the order sent
 * (a FIFO, one host timer armed for its head), so with latency 0 they arrive within the
 * commit that sent them and their reports leave with it.
 *
 * Reports: the book queues them (from requests, market data, timers); commit delivers
 * them after the journal commit, in the order they happened. Delivery swaps the queue
 * out and loops until it is empty, so the callback may call anything: submit, cancel and
 * replace go to the inbox for the next commit; a commit from inside the callback sends
 * them at once (journal first) and leaves delivery of its reports to the outer loop.
 *
 * Timers: the flight timer (due at the head request's arrival) and the expiry timer (due
 * at the earliest expire_us of a working DAY order). Each is one timerq timer at a time,
 * re-armed from its own callback, cancelled by free. Market data and timers allocate
 * nothing once the queues have grown to their working size. */
#include "venue_paper.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "portfolio.h"
#include "timer.h"
#include "util.h"
#include "venue_paper_internal.h"

/* ---- queues ---- */

void vp_reqq_push(struct vp_reqq *q, const struct vp_request *r)
{
    if (q->head > 0 && q->head + q->n == q->cap) {
        memmove(q->v, q->v + q->head, q->n * sizeof *q->v);
        q->head = 0;
    }
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 16;
        q->v = xrealloc(q->v, q->cap * sizeof *q->v);
    }
    q->v[q->head + q->n++] = *r;
}

struct vp_request *vp_reqq_head(struct vp_reqq *q)
{
    return q->n ? &q->v[q->head] : NULL;
}

void vp_reqq_pop(struct vp_reqq *q)
{
    ASSERT(q->n > 0);
    q->head = --q->n ? q->head + 1 : 0;
}

struct venue_report *vp_report_push(struct vp_reports *rs)
{
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 64;
        rs->v = xrealloc(rs->v, rs->cap * sizeof *rs->v);
    }
    return &rs->v[rs->n++];
}

/* ---- timers ---- */

static void flight_fire(void *arg, uint64_t id);

/* Arms the flight timer for the head of the flight queue (or disarms it). */
static void flight_arm(struct paper *p)
{
    if (p->flight_timer) timerq_cancel(p->timers, p->flight_timer);
    p->flight_timer = 0;
    const struct vp_request *h = vp_reqq_head(&p->flight);
    if (h) p->flight_timer = timerq_add(p->timers, h->arrive_us, 0, flight_fire, p);
}

/* Every request in flight due by now reaches the book, in order. */
static void flight_run(struct paper *p, int64_t now_us)
{
    const struct vp_request *h;
    while ((h = vp_reqq_head(&p->flight)) && h->arrive_us <= now_us) {
        struct vp_request r = *h;
        vp_reqq_pop(&p->flight);
        vp_arrive(p, &r, now_us);
    }
}

static void flight_fire(void *arg, uint64_t id)
{
    struct paper *p = arg;
    p->flight_timer = 0;
    if (!p->failed) flight_run(p, clock_now_us(p->clock));
    flight_arm(p);
}

static void expiry_fire(void *arg, uint64_t id)
{
    struct paper *p = arg;
    p->expiry_timer = 0;
    if (p->failed) return;
    int64_t next = vp_expire_due(p, clock_now_us(p->clock));
    if (next != INT64_MAX) vp_expiry_arm(p, next);
}

void vp_expiry_arm(struct paper *p, int64_t expire_us)
{
    if (p->expiry_timer && p->expiry_due <= expire_us) return;
    if (p->expiry_timer) timerq_cancel(p->timers, p->expiry_timer);
    p->expiry_timer = timerq_add(p->timers, expire_us, 0, expiry_fire, p);
    p->expiry_due = expire_us;
}

/* ---- venue operations ---- */

static int refuse_failed(const struct paper *p, struct err *e)
{
    return p->failed ? err_set(e, "paper venue: failed (its book could not be made durable)") : 0;
}

static int paper_submit(void *v, const struct venue_order *o, struct err *e)
{
    struct paper *p = v;
    ASSERT(memchr(o->cl_id, '\0', sizeof o->cl_id));
    if (refuse_failed(p, e) < 0) return -1;
    struct vp_request r = {.kind = VP_REQ_NEW, .o = *o};
    vp_reqq_push(&p->inbox, &r);
    return 0;
}

static int queue_amend(struct paper *p, enum vp_req_kind kind, const char *cl_id, int64_t qty,
                       int64_t limit_px, int64_t stop_px, struct err *e)
{
    if (refuse_failed(p, e) < 0) return -1;
    if (strlen(cl_id) >= ORDER_CLID_MAX)
        return err_set(e, "paper venue: cl_id longer than %d bytes", ORDER_CLID_MAX - 1);
    struct vp_request r = {.kind = kind};
    util_strlcpy(r.o.cl_id, cl_id, sizeof r.o.cl_id);
    r.o.qty = qty;
    r.o.limit_px = limit_px;
    r.o.stop_px = stop_px;
    vp_reqq_push(&p->inbox, &r);
    return 0;
}

static int paper_cancel(void *v, const char *cl_id, struct err *e)
{
    return queue_amend(v, VP_REQ_CANCEL, cl_id, 0, 0, 0, e);
}

static int paper_replace(void *v, const char *cl_id, int64_t qty, int64_t limit_px, int64_t stop_px,
                         struct err *e)
{
    return queue_amend(v, VP_REQ_REPLACE, cl_id, qty, limit_px, stop_px, e);
}

/* Sends the inbox: journaled, then in flight; whatever is due arrives now. */
static void send_inbox(struct paper *p, int64_t now_us)
{
    struct vp_request *r;
    while ((r = vp_reqq_head(&p->inbox))) {
        r->id = ++p->last_req;
        r->ts_us = now_us;
        r->arrive_us = now_us + p->latency_us;
        vp_journal_request(p, r);
        vp_reqq_push(&p->flight, r);
        vp_reqq_pop(&p->inbox);
    }
    flight_run(p, now_us);
    flight_arm(p);
}

static void deliver(struct paper *p)
{
    p->delivering = true;
    while (p->queue.n) {
        struct vp_reports t = p->out;
        p->out = p->queue;
        p->queue = t;
        for (size_t i = 0; i < p->out.n; i++) p->fn(&p->out.v[i], p->arg);
        p->out.n = 0;
    }
    p->delivering = false;
}

static int paper_commit(void *v, struct err *e)
{
    struct paper *p = v;
    if (refuse_failed(p, e) < 0) return -1;
    send_inbox(p, clock_now_us(p->clock));
    vp_flush_trails(p);
    if (p->j && journal_pending(p->j) && journal_commit(p->j, e) < 0) {
        p->failed = true;
        return err_prefix(e, "paper venue");
    }
    if (!p->delivering) deliver(p);
    return 0;
}

static int paper_query(void *v, const char *cl_id, struct venue_order_state *out)
{
    struct paper *p = v;
    const struct vp_order *o = vp_find(p, cl_id);
    if (o) {
        *out = (struct venue_order_state){o->status, o->o.qty, o->cum_qty};
        return 0;
    }
    for (size_t i = 0; i < p->flight.n; i++) {
        const struct vp_request *r = &p->flight.v[p->flight.head + i];
        if (r->kind == VP_REQ_NEW && strcmp(r->o.cl_id, cl_id) == 0) {
            *out = (struct venue_order_state){OS_PENDING_NEW, r->o.qty, 0};
            return 0;
        }
    }
    return -1;
}

static void paper_fills(void *v, venue_report_fn fn, void *arg)
{
    struct paper *p = v;
    struct venue_report r;
    for (size_t i = 0; i < p->fills.n; i++) {
        vp_fill_report(p, &p->fills.v[i], &r);
        fn(&r, arg);
    }
}

static int64_t paper_position(void *v, int sym)
{
    struct paper *p = v;
    return sym >= 0 && sym < p->nsym ? p->syms[sym].position : 0;
}

static int64_t paper_cash(void *v)
{
    return ((struct paper *)v)->cash;
}

static void paper_free(void *v)
{
    struct paper *p = v;
    if (!p) return;
    if (p->flight_timer) timerq_cancel(p->timers, p->flight_timer);
    if (p->expiry_timer) timerq_cancel(p->timers, p->expiry_timer);
    journal_close(p->j);
    vp_book_free(p);
    free(p->inbox.v);
    free(p->flight.v);
    free(p->queue.v);
    free(p->out.v);
    free(p->fills.v);
    free(p);
}

static const struct venue_ops paper_ops = {
    .name = "paper",
    .submit = paper_submit,
    .cancel = paper_cancel,
    .replace = paper_replace,
    .commit = paper_commit,
    .query = paper_query,
    .fills = paper_fills,
    .position = paper_position,
    .cash = paper_cash,
    .free = paper_free,
};

/* ---- creation ---- */

/* x * scale as an integer (rounded to nearest), for a finite x in [min, max]. */
static int scaled(const char *name, double x, double scale, double min, int64_t *out, struct err *e)
{
    double v = x * scale;
    if (!isfinite(x) || x < min || fabs(v) >= 9.2e18)
        return err_set(e, "paper venue: %s must be a finite number%s (got %g)", name,
                       min == 0 ? " >= 0" : "", x);
    *out = llround(v);
    return 0;
}

static int configure(struct paper *p, const struct venue_paper_config *c, int64_t *cash,
                     struct err *e)
{
    if (scaled("slippage_bps", c->slippage_bps, 1e4, 0, &p->slip_e4, e) < 0 ||
        scaled("commission_bps", c->commission_bps, 1e4, 0, &p->comm_bps_e4, e) < 0 ||
        scaled("commission_per_unit", c->commission_per_unit, 1e9, 0, &p->comm_unit_e9, e) < 0 ||
        scaled("latency_ms", c->latency_ms, 1e3, 0, &p->latency_us, e) < 0 ||
        scaled("initial_cash", c->initial_cash, pow(10, MONEY_DP), -INFINITY, cash, e) < 0)
        return -1;
    p->fill_on_touch = c->fill_on_touch != 0;
    return 0;
}

int venue_paper_new(struct venue *out, const struct venue_paper_config *cfg,
                    const struct instruments *ins, struct timerq *timers, const struct clock *clock,
                    venue_report_fn fn, void *arg, struct err *e)
{
    ASSERT(cfg && ins && timers && clock && fn);
    struct paper *p = xcalloc(1, sizeof *p);
    p->ins = ins;
    p->timers = timers;
    p->clock = clock;
    p->fn = fn;
    p->arg = arg;
    int64_t cash = 0;
    if (configure(p, cfg, &cash, e) < 0) goto fail;
    if (ins->n > 0) vp_sym_reserve(p, ins->n - 1);
    if (cfg->book_path) {
        if (vp_book_open(p, cfg->book_path, cfg->sync, cash, e) < 0) goto fail;
    } else {
        p->epoch_us = clock_now_us(clock);
        p->initial_cash = p->cash = cash;
    }
    flight_arm(p);
    int64_t next = vp_expire_due(p, INT64_MIN);
    if (next != INT64_MAX) vp_expiry_arm(p, next);
    out->ops = &paper_ops;
    out->impl = p;
    return 0;
fail:
    paper_free(p);
    return -1;
}

/* ---- market data ---- */

static struct vp_sym *sym_state(struct paper *p, int sym)
{
    if (p->failed || sym < 0 || sym >= p->ins->n) return NULL;
    vp_sym_reserve(p, sym);
    return &p->syms[sym];
}

void venue_paper_on_quote(struct venue *v, const struct quote *q)
{
    struct paper *p = v->impl;
    struct vp_sym *s = sym_state(p, q->sym);
    if (!s) return;
    s->q = *q;
    s->has_quote = true;
    s->bid_avail = q->bid_qty;
    s->ask_avail = q->ask_qty;
    if (s->working) vp_match_quote(p, s, clock_now_us(p->clock));
}

void venue_paper_on_trade(struct venue *v, const struct trade *t)
{
    struct paper *p = v->impl;
    struct vp_sym *s = sym_state(p, t->sym);
    if (!s) return;
    s->last_px = t->px;
    if (s->working) vp_match_trade(p, s, t, clock_now_us(p->clock));
}

int venue_paper_working(const struct venue *v)
{
    return ((const struct paper *)v->impl)->working;
}
