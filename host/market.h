/* market.h: the market state the host keeps per symbol: the last quote and trade,
 * bars aggregated from trades at 1s, 1m, 5m, 15m, 1h and 1d, and a bounded history of
 * closed bars per symbol and timeframe.
 *
 * Bars cover [time, time + tf) aligned to UTC (epoch-aligned; 1d bars start at 00:00
 * UTC). A bar is opened by its first trade and closed by market_roll when the host
 * clock passes its end, whether or not another trade arrives. A period without trades
 * produces no bar. A trade older than the open bar of a timeframe (arrived after that
 * period was closed) is counted as late and does not change that timeframe's bars; a
 * trade older than the latest trade but inside the open bar updates high, low and
 * volume, and leaves close to the latest trade by time.
 *
 * The market also checks the feed's per-symbol sequence n (DESIGN.md §6): a jump means
 * the feed lost data, and the gap is counted.
 *
 * All storage is allocated when a symbol is first seen (market_new sizes it for every
 * registered instrument): updating the market allocates nothing. */
#ifndef LUATRADE_MARKET_H
#define LUATRADE_MARKET_H

#include <stdint.h>

#include "event.h"
#include "instrument.h"

struct market;

/* history_len: closed bars kept per symbol and timeframe (>= 1). The registry must
 * outlive the market; instruments registered later are ignored. */
struct market *market_new(const struct instruments *ins, int history_len);
void market_free(struct market *m);

/* Records a quote / trade received at ts_us with host sequence seq. Trades feed the
 * open bars. Both check n for gaps. */
void market_on_quote(struct market *m, const struct quote *q, int64_t ts_us, uint64_t seq);
void market_on_trade(struct market *m, const struct trade *t, int64_t ts_us, uint64_t seq);

/* With bars from a file (backtests): trades no longer build bars; the file's bars come in
 * through market_add_bar, each already closed. Off by default. */
void market_set_bars_from_feed(struct market *m, int on);
/* Adds a closed bar to the history of (b->sym, b->tf) (a bar from a file). */
void market_add_bar(struct market *m, const struct bar *b);

/* Closes every open bar whose period ended at or before now_us and calls emit for each,
 * oldest period first (then by symbol id, then by timeframe). Returns the number closed. */
int market_roll(struct market *m, int64_t now_us, void (*emit)(const struct bar *b, void *arg),
                void *arg);
/* The earliest end time of any open bar, or INT64_MAX: when the next roll has work. */
int64_t market_next_close(const struct market *m);

/* Last quote / trade of sym, or NULL if none yet; *ts_us and *seq (may be NULL) receive
 * when it arrived and its host sequence. */
const struct quote *market_quote(const struct market *m, int sym, int64_t *ts_us, uint64_t *seq);
const struct trade *market_trade(const struct market *m, int sym, int64_t *ts_us, uint64_t *seq);

/* Copies up to max of the most recent closed bars of (sym, tf), oldest first, into out.
 * Returns the number copied. */
int market_history(const struct market *m, int sym, enum tf tf, struct bar *out, int max);
/* The open (not yet closed) bar of (sym, tf), or NULL. */
const struct bar *market_open_bar(const struct market *m, int sym, enum tf tf);

struct market_stats {
    uint64_t quotes, trades;
    uint64_t gaps;    /* number of jumps in n (quotes and trades) */
    uint64_t missing; /* events the jumps skipped */
    uint64_t late;    /* trades too old for an open bar (summed over timeframes) */
    uint64_t bars_closed;
};
/* Totals over all symbols when sym < 0. */
void market_stats(const struct market *m, int sym, struct market_stats *out);

#endif
