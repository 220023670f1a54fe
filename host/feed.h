/* feed.h: a source of market data that carries its own times, for runs on a simulated
 * clock (backtests over CSV files, replays of recordings). The host pulls items in time
 * order and, for each, moves its clock to the item's time first:
 *   FEED_MARKET  a quote or trade (ev: EV_MARKET_DATA), published like a live feed's
 *                (due bars close first);
 *   FEED_BAR     a bar from a bar file (ev: EV_BAR, ts = the bar's end): the host quotes
 *                and prints the bar's close (so orders can fill), then publishes the bar
 *                itself; with bars from a file the market builds none from trades;
 *   FEED_TIMERS  the live host ran its timers at ts (recordings): with timers_marked the
 *                host runs timers only at these items, exactly where the live run did;
 *                otherwise timers run at their due times between items.
 * next() returns 1 with an item, 0 at the end, or -1 with e (the run stops, exit 1). */
#ifndef LUATRADE_FEED_H
#define LUATRADE_FEED_H

#include <stdint.h>

#include "err.h"
#include "event.h"

enum feed_item_kind { FEED_MARKET, FEED_BAR, FEED_TIMERS };

struct feed_item {
    enum feed_item_kind kind;
    int64_t ts_us;
    struct event ev; /* FEED_MARKET, FEED_BAR */
};

struct feed_source {
    int (*next)(void *impl, struct feed_item *it, struct err *e);
    void *impl;
    int timers_marked;
    int bars_from_feed; /* the items include FEED_BAR: the market aggregates no bars */
};

#endif
