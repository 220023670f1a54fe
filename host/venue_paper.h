/* venue_paper.h: the paper venue, a simulated exchange with a fill model and a durable
 * book of its own (DESIGN.md §8), behind the venue.h interface.
 *
 * Fill model (prices in the instrument's ticks):
 *  - market: fills at the opposite side of the current quote, worsened by slippage_bps
 *    (rounded away from the trader to the tick grid), for at most the quote's size; the
 *    rest keeps working and fills on later quotes (IOC: the rest is canceled). With no
 *    quote yet a market order waits for one. A quote's size is used up by our fills
 *    until the next quote; a trade's by the resting limits it fills (time priority).
 *  - limit: marketable on arrival or on a later quote (buy limit >= ask): fills at the
 *    quote, up to its size (no slippage). Resting: fills at the limit when a trade
 *    prints through it (buy: trade px < limit), or touches it (px <= limit) when
 *    fill_on_touch, for at most the trade's size.
 *  - stop / stop-limit: trigger when a trade after their arrival prints at or through
 *    the stop (buy: px >= stop), then behave as market / limit (a stop-limit does not
 *    fill on the print that triggered it). Trailing stop: the stop follows the best
 *    trade price at trail distance (sell: max(stop, px - trail)), starting from the last
 *    trade at arrival unless stop_px gives a first level, and triggers likewise.
 *  - IOC fills what it can at once and cancels the rest; FOK fills entirely at once or
 *    is canceled without a fill ("at once": on arrival, or for stops when triggered);
 *    DAY orders with expire_us > 0 expire then (a venue timer; a market event or arrival
 *    past expire_us expires the order first, so nothing fills after it). Other TIFs
 *    ignore expire_us.
 *  - latency_ms > 0: an order (and a cancel or replace) reaches the book that long
 *    after commit, by a host timer; its acknowledgement and fills follow from there.
 *    Requests reach the book in the order they were sent.
 *  - commission per fill: commission_per_unit * qty (money per quantity unit of 1) +
 *    commission_bps of the notional, rounded half away from zero to money units.
 *
 * Requests: VR_REJECTED reasons: bad_cl_id (empty), duplicate_cl_id (a cl_id the book
 * ever held: never a second order for one cl_id), unknown_symbol, bad_order (side,
 * type or tif), bad_qty (<= 0, off the lot grid), missing_price (for the type: limit,
 * stop, trail distance), bad_price (negative or off the tick grid); prices the type does
 * not use are ignored. Replace: 0 keeps a field; a new price or a larger quantity loses
 * time priority; qty down to cum_qty completes the order (VR_REPLACED, leaves 0; then
 * FILLED); a replaced marketable limit fills at once. VR_CANCEL_REJECTED reasons:
 * unknown_order, order_done, qty_below_filled, bad_qty, bad_price (a price the type does
 * not have, or off the grid), stop_triggered. VR_CANCELED reasons: requested, ioc, fok.
 * query answers PENDING_NEW for an order sent but not yet at the book (latency).
 *
 * Delivery: commit sends the inbox, lets what is due reach the book, commits the
 * journal, then delivers every queued report. The report callback may submit, cancel
 * or replace (sent by the next commit), or commit itself (sent at once; its reports
 * are delivered by the outer commit after the ones already being delivered).
 *
 * Durability: every request sent, order accepted or rejected, fill, cancel, replace,
 * expiry and stop trigger is appended to the venue's own journal (journal.h) at
 * book_path (compact binary records, listed in venue_paper_book.c), and commit makes it
 * durable before any report leaves; reopening replays it, so working orders, fills
 * (same exec ids, "P<book epoch us>-<n>"), requests still in flight and the account
 * survive a restart like a real venue's. Trailing stops restart from their last durable
 * level (journaled once per commit). The book keeps the initial cash it was created
 * with; a different initial_cash later is ignored (logged). */
#ifndef LUATRADE_VENUE_PAPER_H
#define LUATRADE_VENUE_PAPER_H

#include <stdint.h>

#include "event.h"
#include "instrument.h"
#include "journal.h"
#include "venue.h"

struct timerq;
struct clock;

struct venue_paper_config {
    double slippage_bps;
    int fill_on_touch;
    double latency_ms;
    double commission_per_unit; /* currency per 1.0 of quantity */
    double commission_bps;
    double initial_cash;   /* currency */
    const char *book_path; /* NULL: in memory only (backtests, tests) */
    enum journal_sync sync;
};

/* Creates the venue (replaying book_path when it exists). Reports go to fn(arg). timers
 * and clock are the host's and must outlive the venue, whose free cancels its timers.
 * ins may grow later (new symbols are picked up). Returns 0 and fills out, or -1 with e
 * filled (a bad config value, an unreadable or inconsistent book). submit, cancel and
 * replace return -1 only when the venue has failed (a journal commit failed: it then
 * refuses everything, fail closed) or a cl_id does not fit ORDER_CLID_MAX. */
int venue_paper_new(struct venue *out, const struct venue_paper_config *cfg,
                    const struct instruments *ins, struct timerq *timers, const struct clock *clock,
                    venue_report_fn fn, void *arg, struct err *e);

/* Market data, from the host, before strategies see it: may fill resting orders
 * (reports are delivered at the next commit). */
void venue_paper_on_quote(struct venue *v, const struct quote *q);
void venue_paper_on_trade(struct venue *v, const struct trade *t);

/* Working orders in the book (tests, metrics). */
int venue_paper_working(const struct venue *v);

#endif
