/* venue_paper_internal.h: the paper venue's state, shared by its three files:
 *   venue_paper.c       the venue.h operations, request flight, timers, report delivery
 *   venue_paper_fill.c  the fill model: arrival of requests, matching, money arithmetic
 *   venue_paper_book.c  the book: every state change (apply, journal, report) and replay
 * Nothing outside these files includes it. */
#ifndef LUATRADE_VENUE_PAPER_INTERNAL_H
#define LUATRADE_VENUE_PAPER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "venue_paper.h"

/* Reject and cancel reason codes (venue_report.reason). */
#define VP_R_BAD_CLID      "bad_cl_id"
#define VP_R_DUPLICATE     "duplicate_cl_id"
#define VP_R_UNKNOWN_SYM   "unknown_symbol"
#define VP_R_BAD_ORDER     "bad_order" /* side, type or tif out of range */
#define VP_R_BAD_QTY       "bad_qty"   /* <= 0 or off the lot grid */
#define VP_R_MISSING_PX    "missing_price"
#define VP_R_BAD_PX        "bad_price" /* negative, off the tick grid, or not used by the type */
#define VP_R_UNKNOWN_ORDER "unknown_order"
#define VP_R_DONE          "order_done"
#define VP_R_BELOW_FILLED  "qty_below_filled"
#define VP_R_TRIGGERED     "stop_triggered" /* replace of a stop that already triggered */
#define VP_R_REQUESTED     "requested"
#define VP_R_IOC           "ioc"
#define VP_R_FOK           "fok"

/* Old cl_id buckets an insert moves at most while the index grows (venue_paper_book.c). */
#define VP_REHASH_STEP 8

struct vp_order {
    struct venue_order o; /* current terms: qty, limit_px, stop_px follow replaces; OT_TRAIL's
                             stop_px is its current trigger (0 until the first trade) */
    enum order_status status;
    int64_t cum_qty;
    bool triggered;   /* stops: now a market (OT_STOP, OT_TRAIL) or a limit (OT_STOP_LIMIT) */
    bool trail_dirty; /* OT_TRAIL: stop_px moved since it was last journaled */
    struct vp_order *prev, *next; /* the symbol's working list, in time priority */
    struct vp_order *hnext;       /* cl_id hash chain */
};

enum vp_req_kind { VP_REQ_NEW, VP_REQ_CANCEL, VP_REQ_REPLACE };

/* A request from the host: in the inbox until commit, then in flight until it reaches
 * the book at arrive_us. NEW carries the whole order in o; CANCEL only o.cl_id; REPLACE
 * o.cl_id and the new o.qty, o.limit_px, o.stop_px (0: unchanged). */
struct vp_request {
    uint64_t id; /* from 1, journaled: outcomes name the request they consume */
    enum vp_req_kind kind;
    int64_t ts_us, arrive_us;
    struct venue_order o;
};

struct vp_reqq { /* FIFO */
    struct vp_request *v;
    size_t head, n, cap; /* live entries are v[head .. head+n) */
};

struct vp_reports {
    struct venue_report *v;
    size_t n, cap;
};

/* A fill as the venue keeps it for `fills` (64 bytes, not a 232-byte venue_report):
 * the report is rebuilt from it (exec id "P<epoch_us>-<exec_n>", cl_id from the order,
 * which lives as long as the venue). */
struct vp_fill {
    const struct vp_order *o;
    uint64_t exec_n;
    int64_t px, qty, cum_qty, leaves_qty, commission, ts_us;
};

struct vp_fills {
    struct vp_fill *v;
    size_t n, cap;
};

struct vp_sym {
    struct vp_order *head, *tail; /* working orders */
    int working;
    struct quote q;
    bool has_quote;
    int64_t bid_avail, ask_avail; /* the current quote's size not yet taken by our fills */
    int64_t last_px;              /* last trade price, 0 before the first */
    int64_t position;             /* signed qty units */
};

struct paper {
    const struct instruments *ins;
    struct timerq *timers;
    const struct clock *clock;
    venue_report_fn fn;
    void *arg;
    struct journal *j; /* NULL: in memory */

    /* Configuration in integers. */
    bool fill_on_touch;
    int64_t slip_e4;      /* slippage, 1e-4 bps */
    int64_t comm_bps_e4;  /* commission, 1e-4 bps of notional */
    int64_t comm_unit_e9; /* commission per quantity unit of 1, 1e-9 currency */
    int64_t latency_us;

    int64_t epoch_us; /* exec ids: "P<epoch_us>-<n>" */
    uint64_t last_req, last_exec;
    int64_t initial_cash, cash; /* money units */

    struct vp_sym *syms;
    int nsym;
    int working;
    struct vp_order **orders; /* every order the book accepted or rejected, for free */
    size_t norders, cap_orders;
    struct vp_order **buckets; /* cl_id -> order; grows incrementally (venue_paper_book.c) */
    size_t nbuckets;
    struct vp_order **old_buckets; /* NULL unless a growth is draining them */
    size_t old_nbuckets, drained;  /* old buckets [0, drained) are empty */
    struct vp_order **dirty;       /* trailing stops whose level moved since the last commit */
    size_t ndirty, cap_dirty;

    struct vp_reqq inbox, flight;
    uint64_t flight_timer, expiry_timer; /* 0: not armed */
    int64_t expiry_due;

    struct vp_reports queue, out; /* pending, being delivered */
    struct vp_fills fills;        /* every fill so far */
    bool replaying, delivering, failed;
};

/* venue_paper_book.c: the only functions that change orders, positions and cash. Each
 * applies the change and then, unless replaying, appends its journal record and queues
 * its report, so a replay of the records rebuilds exactly the state they left. ts_us is
 * the event time (the clock live, the record's when replaying). */
struct vp_order *vp_find(const struct paper *p, const char *cl_id);
struct vp_order *vp_accept(struct paper *p, const struct vp_request *r, int64_t ts_us);
void vp_reject(struct paper *p, const struct vp_request *r, const char *reason, int64_t ts_us);
void vp_cancel_reject(struct paper *p, const struct vp_request *r, const char *reason,
                      int64_t ts_us);
/* r: the cancel request, or NULL for the venue's own (IOC/FOK remainder). */
void vp_cancel(struct paper *p, struct vp_order *o, const struct vp_request *r, const char *reason,
               int64_t ts_us);
void vp_replace(struct paper *p, struct vp_order *o, const struct vp_request *r, int64_t ts_us);
void vp_expire(struct paper *p, struct vp_order *o, int64_t ts_us);
void vp_trigger(struct paper *p, struct vp_order *o, int64_t ts_us);
/* Moves a trailing stop's level; journaled once per commit (vp_flush_trails). */
void vp_trail(struct paper *p, struct vp_order *o, int64_t stop_px);
void vp_flush_trails(struct paper *p);
void vp_fill(struct paper *p, struct vp_order *o, int64_t px, int64_t qty, int64_t notional,
             int64_t commission, uint64_t exec_n, int64_t ts_us);
/* Journals a request as it leaves for the book. */
void vp_journal_request(struct paper *p, const struct vp_request *r);
/* Opens cfg->book_path and replays it into p (p->j set). Returns 0, or -1 with e. */
int vp_book_open(struct paper *p, const char *path, enum journal_sync sync, int64_t initial_cash,
                 struct err *e);
void vp_book_free(struct paper *p);
void vp_sym_reserve(struct paper *p, int sym);

/* The VR_FILL report of f. */
void vp_fill_report(const struct paper *p, const struct vp_fill *f, struct venue_report *out);

/* venue_paper.c */
void vp_reqq_push(struct vp_reqq *q, const struct vp_request *r);
struct vp_request *vp_reqq_head(struct vp_reqq *q); /* NULL when empty */
void vp_reqq_pop(struct vp_reqq *q);
struct venue_report *vp_report_push(struct vp_reports *rs);
/* Arms the expiry timer for a working DAY order expiring at expire_us. */
void vp_expiry_arm(struct paper *p, int64_t expire_us);

/* venue_paper_fill.c */
/* A request reaches the book now. */
void vp_arrive(struct paper *p, const struct vp_request *r, int64_t now_us);
void vp_match_quote(struct paper *p, struct vp_sym *s, int64_t now_us);
void vp_match_trade(struct paper *p, struct vp_sym *s, const struct trade *t, int64_t now_us);
/* Expires the working DAY orders due at now_us; returns the earliest expiry still ahead
 * (INT64_MAX when none). */
int64_t vp_expire_due(struct paper *p, int64_t now_us);
/* px*qty in money units, half away from zero, saturated (portfolio.h's money_notional). */
int64_t vp_notional(const struct instrument *ins, int64_t px, int64_t qty);
int64_t vp_commission(const struct paper *p, const struct instrument *ins, int64_t qty,
                      int64_t notional);
int64_t vp_slipped(const struct paper *p, const struct instrument *ins, enum order_side side,
                   int64_t px);

#endif
