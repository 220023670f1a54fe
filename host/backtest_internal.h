/* backtest_internal.h: what the backtest's files share (backtest.h is the contract).
 *
 * bt_data (backtest_data.c) turns the run's data into the host's feed items (feed.h):
 * CSV records through feed_csv (a tick is a quote, then a trade; a tick without quote
 * columns quotes bid = ask = its price and size, so market orders can fill), or a
 * recording's items through replay, with --from/--to applied. Quotes and trades are
 * numbered per symbol (the `n` strategies see). */
#ifndef LUATRADE_BACKTEST_INTERNAL_H
#define LUATRADE_BACKTEST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "backtest.h"
#include "feed.h"
#include "instrument.h"

struct feed_csv;
struct replay;

struct bt_data {
    struct feed_csv *csv;
    struct replay *rp;
    int64_t from_us, to_us;
    struct trade pending; /* the trade that follows a tick's quote, at pending_us */
    int64_t pending_us;
    int has_pending;
    uint64_t *quotes, *trades; /* per symbol: the last n given */
    int nsym;
    int bar_tf; /* the timeframe of the bars (one per run), -1 before the first */
    uint64_t items;
};

/* Opens the data (CSV files or recordings) of o. Returns 0, or -1 with e and *usage set
 * when the failure is the user's (a file that cannot be opened, bars mixed with ticks)
 * rather than the data's (a malformed line). */
int bt_data_open(struct bt_data *d, const struct backtest_opts *o, int *usage, struct err *e);
/* The instruments the data has, in order: symbols, and grids when the data knows them
 * (recordings); tick 0 when it does not (CSV). */
int bt_data_instruments(const struct bt_data *d, struct instrument **out);
/* The first time in the data, and the span to its last (-1: unknown, recordings). */
int64_t bt_data_first_us(const struct bt_data *d);
int64_t bt_data_span_us(const struct bt_data *d);
/* Maps the data's symbols onto the host's registry (after host_init). */
int bt_data_bind(struct bt_data *d, const struct instruments *ins, struct err *e);
/* The next feed item: 1, 0 at the end, -1 with e. */
int bt_data_next(struct bt_data *d, struct feed_item *it, struct err *e);
/* How far the run is, 0..1 (bytes of CSV read; 0 for recordings). */
double bt_data_progress(const struct bt_data *d);
/* Rows read, and malformed rows skipped (--skip-bad), the first one's message. */
void bt_data_counts(const struct bt_data *d, uint64_t *rows, uint64_t *bad, char *first_bad,
                    size_t n);
void bt_data_close(struct bt_data *d);

/* mkdir -p path (0755). Returns 0 or -1 with e. (backtest.c) */
int bt_make_dir(const char *path, struct err *e);

#endif
