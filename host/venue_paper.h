/* venue_paper.h: the paper venue, a simulated exchange with a fill model and a durable
 * book of its own (DESIGN.md §8), behind the venue.h interface.
 *
 * Fill model (prices in the instrument's ticks):
 *  - market: fills at the opposite side of the current quote, worsened by slippage_bps
 *    (rounded away from the trader to the tick grid), for at most the quote's size; the
 *    rest keeps working and fills on later quotes (IOC: the rest is canceled). With no
 *    quote yet a market order waits for one.
 *  - limit: marketable on arrival or on a later quote (buy limit >= ask): fills at the
 *    quote, up to its size. Resting: fills at the limit when a trade prints through it
 *    (buy: trade px < limit), or touches it (px <= limit) when fill_on_touch, for at
 *    most the trade's size.
 *  - stop / stop-limit: trigger when a trade prints at or through the stop (buy: px >=
 *    stop), then behave as market / limit. Trailing stop: the stop follows the best
 *    trade price at trail distance (sell: max(stop, px - trail)) and triggers likewise.
 *  - IOC fills what it can at once and cancels the rest; FOK fills entirely at once or
 *    is canceled without a fill; DAY orders expire at their expire_us.
 *  - latency_ms > 0: an order (and a cancel or replace) reaches the book that long
 *    after commit, by a host timer; its acknowledgement and fills follow from there.
 *  - commission per fill: commission_per_unit * qty (money per quantity unit of 1) +
 *    commission_bps of the notional, rounded half away from zero to money units.
 *
 * Durability: every order accepted, fill, cancel, replace and expiry is appended to the
 * venue's own journal (journal.h) at book_path, and commit makes it durable before any
 * report leaves; reopening replays it, so working orders, fills (same exec ids) and the
 * account survive a restart like a real venue's. Trailing stops restart from their last
 * durable level. */
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
 * and clock are the host's. Returns the venue, or -1 with e filled. */
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
