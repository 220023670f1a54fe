/* oms.h: the order manager, the one path every order takes (DESIGN.md §8):
 *
 *   request -> risk (synchronous; a refusal returns a reason code at once)
 *           -> order book (PENDING_NEW) -> journal intent (buffered) -> outbox
 *   oms_flush: journal commit (durable) -> venue submit/cancel/replace -> venue commit
 *           -> reports -> order book, portfolio, journal -> ORDER_* events
 *
 * Nothing reaches a venue before its intent is durable: sends wait in the outbox until
 * the next flush, which the host runs after every market event, after timers, and once
 * per loop turn for everything else (group commit). A failed journal stops new orders
 * (JOURNAL_UNAVAILABLE); cancels still go out.
 *
 * Brackets: an entry with take_profit/stop_loss creates its exits at once, held (not
 * sent); the entry's first fill releases them as an OCO pair for the filled quantity
 * (later fills resize them); a fill of one exit cancels the other in the same flush; an
 * entry that ends with no fill cancels its held exits.
 *
 * Recovery (oms_open): the journal is replayed (orders, fills by exec id, trading and
 * kill-switch state, strategies' state snapshots), then reconciled with the venue:
 * missing acks, fills and cancels are applied; an intent the venue never received is
 * canceled (NOT_SENT), never resent; anything unexplained (a venue fill for an order we
 * do not know, positions or cash that differ) leaves trading HALTED with the reason
 * logged. Only then do strategies start.
 *
 * Strategies reach the oms through api_order.c, REST and the console through the same
 * functions, with strategy "manual". None of these calls Lua. */
#ifndef LUATRADE_OMS_H
#define LUATRADE_OMS_H

#include <stdint.h>

#include "err.h"
#include "journal.h"
#include "order.h"
#include "risk.h"
#include "venue_paper.h"

struct host;
struct buf;
struct portfolio;
struct order_book;

struct oms_config {
    const char *journal_path; /* NULL: no journal (backtests) */
    enum journal_sync sync;
    struct venue_paper_config paper; /* its book_path next to the journal */
    struct risk_config risk;
    double initial_cash;
    int mark_mid;            /* mark positions to the mid (else the last trade) */
    int session_end_min;     /* day orders expire at this local time (minutes after midnight) */
    const char *session_tz;  /* NULL: UTC */
    int kill_flatten;        /* the kill switch also flattens every position */
    double periods_per_year; /* equity samples per year (Sharpe) */
};

/* What a strategy (or an operator) asks for. */
struct oms_submit {
    struct order_request req;
    enum order_type type;
    enum order_tif tif;
    const char *tag;
    unsigned version;
    const char *sha256;
};

struct oms;

/* Opens the journal and the venue, replays and reconciles (see above). Returns NULL and
 * fills e when the journal or the venue cannot be opened. */
struct oms *oms_open(struct host *h, const struct oms_config *cfg, struct err *e);
void oms_free(struct oms *o);

/* New order. Returns its id, or 0 with reason set to a code ("MAX_ORDER_QTY", ...) and
 * msg (when not NULL) to a sentence. */
uint64_t oms_submit(struct oms *o, const struct oms_submit *s, const char **reason, char *msg,
                    size_t msgn);
/* Cancel / replace an order of strategy (NULL: any owner, for operators). Return 0, or -1
 * with reason (UNKNOWN_ORDER, NOT_WORKING, CANCEL_RATE, ...). replace: has is a mask of
 * REQ_LIMIT | REQ_STOP and 32 for qty. */
#define OMS_REPLACE_QTY 32
int oms_cancel(struct oms *o, const char *strategy, uint64_t id, const char **reason);
int oms_replace(struct oms *o, const char *strategy, uint64_t id, unsigned has, double qty,
                double limit, double stop, const char **reason);
/* Cancels every working order of strategy (NULL: everyone's) in sym (-1: every symbol).
 * Returns how many cancels were sent. */
int oms_cancel_all(struct oms *o, const char *strategy, int sym);
/* Cancels strategy's working orders in sym (-1: all) and sends market orders that bring
 * its positions to zero. Returns the number of orders sent, or -1 with reason. */
int oms_flatten(struct oms *o, const char *strategy, int sym, const char **reason);

/* After the host ran timers: the venue's own timers (latency, day-order expiry) may have
 * queued reports, which the next oms_flush delivers. */
void oms_after_timers(struct oms *o);
/* Group commit and send (see above). Cheap when there is nothing to do. */
void oms_flush(struct oms *o);
int oms_pending(const struct oms *o);

/* Market data, before strategies see it: marks, the venue's matching. */
void oms_on_market(struct oms *o, const struct event *ev);
/* Once per second of host time: equity sample, PORTFOLIO_UPDATE, risk re-evaluation, day
 * roll at the session end, async kill requests. */
void oms_tick(struct oms *o, int64_t now_us);

/* Publishes the ORDER_* events recovery produced (fills booked from the venue, intents
 * canceled as NOT_SENT), kept until the strategies run. Once; then events go out live. */
void oms_publish_recovered(struct oms *o);

/* Kill switch: latches, cancels every working order (and flattens when configured or
 * asked), journals it, publishes KILL_SWITCH. */
void oms_kill(struct oms *o, const char *why, int flatten);
void oms_rearm(struct oms *o, const char *who);
/* For signal handlers and the watchdog thread: async-signal-safe. */
void oms_kill_async(struct oms *o);

/* Strategies' `state`: journal a snapshot; the one recovered at open (NULL when none). */
void oms_save_state(struct oms *o, const char *strategy, const void *data, size_t len);
const struct buf *oms_recovered_state(const struct oms *o, const char *strategy);

struct order_book *oms_book(struct oms *o);
struct portfolio *oms_portfolio(struct oms *o);
struct risk *oms_risk(struct oms *o);
struct journal *oms_journal(struct oms *o);
/* "" when recovery found nothing wrong, else why trading is HALTED. */
const char *oms_recovery_problem(const struct oms *o);

#endif
