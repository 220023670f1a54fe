/* backtest_data.c: the backtest's data as feed items (backtest_internal.h).
 *
 * CSV: every record of feed_csv becomes one or two items. A bar is one FEED_BAR at its
 * end (open time + timeframe): the host quotes and prints its close, then publishes it.
 * A tick is a quote (its bid/ask columns, or bid = ask = the trade price and size when
 * the file has none) then the trade, both at the tick's time; the trade waits in
 * `pending` so next() hands out one item per call.
 *
 * Recordings: replay's items pass through unchanged (markets and timer marks), their
 * instrument ids already the host's (the host registers the recording's instruments in
 * its order). --from/--to drop items outside the range; a recording ends at --to. */
#include "backtest_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed_csv.h"
#include "record.h"
#include "util.h"

int bt_data_open(struct bt_data *d, const struct backtest_opts *o, int *usage, struct err *e)
{
    memset(d, 0, sizeof *d);
    d->bar_tf = -1;
    d->from_us = o->from_us;
    d->to_us = o->to_us;
    *usage = 1;
    if (o->nreplay > 0) {
        d->rp = replay_open(o->replay, o->nreplay, e);
        *usage = !d->rp && strstr(e->msg, "cannot open") != NULL;
        return d->rp ? 0 : -1;
    }
    struct feed_csv_config c = {o->data, o->ndata, o->skip_bad, o->from_us, o->to_us};
    d->csv = feed_csv_open(&c, e);
    if (!d->csv) {
        /* a file that cannot be opened is a usage error; a malformed one a data error */
        *usage = strstr(e->msg, "cannot open") != NULL;
        return -1;
    }
    /* bars arrive at their end, ticks at their time: merged, a bar would come before the
     * ticks inside it, and the market would build no bars from those ticks */
    if (feed_csv_has_bars(d->csv) && feed_csv_has_ticks(d->csv)) {
        bt_data_close(d);
        return err_set(e, "the data mixes bar files and tick files: backtest them apart");
    }
    return 0;
}

int bt_data_instruments(const struct bt_data *d, struct instrument **out)
{
    if (d->rp) {
        const struct instruments *ins = replay_instruments(d->rp);
        *out = xcalloc((size_t)ins->n + 1, sizeof **out);
        memcpy(*out, ins->v, sizeof **out * (size_t)ins->n);
        return ins->n;
    }
    int n = feed_csv_nsymbols(d->csv);
    *out = xcalloc((size_t)n + 1, sizeof **out);
    for (int i = 0; i < n; i++)
        util_strlcpy((*out)[i].symbol, feed_csv_symbol(d->csv, i), sizeof(*out)[i].symbol);
    return n;
}

int64_t bt_data_first_us(const struct bt_data *d)
{
    if (d->rp) return MAX(replay_start_us(d->rp), d->from_us);
    return feed_csv_first_us(d->csv);
}

int64_t bt_data_span_us(const struct bt_data *d)
{
    if (d->rp) return -1;
    return feed_csv_last_us(d->csv) - feed_csv_first_us(d->csv);
}

int bt_data_bind(struct bt_data *d, const struct instruments *ins, struct err *e)
{
    d->nsym = ins->n;
    d->quotes = xcalloc((size_t)ins->n + 1, sizeof *d->quotes);
    d->trades = xcalloc((size_t)ins->n + 1, sizeof *d->trades);
    return d->csv ? feed_csv_bind(d->csv, ins, e) : 0;
}

/* Fills the fields of a market item (not a memset of the whole event: this runs twice
 * per row of tick data). */
static void market_item(struct feed_item *it, enum md_kind kind, int64_t ts_us)
{
    it->kind = FEED_MARKET;
    it->ts_us = ts_us;
    struct event *ev = &it->ev;
    ev->seq = 0;
    ev->type = EV_MARKET_DATA;
    ev->ts_us = ts_us;
    memcpy(ev->source, "csv", 4);
    ev->md_kind = kind;
    ev->order = NULL;
    ev->pf = NULL;
    ev->data = NULL;
}

static void csv_tick(struct bt_data *d, const struct csv_record *rec, struct feed_item *it)
{
    d->pending = (struct trade){rec->sym, rec->px, rec->qty, ++d->trades[rec->sym]};
    d->pending_us = rec->time_us;
    d->has_pending = 1;
    market_item(it, MD_QUOTE, rec->time_us);
    struct quote *q = &it->ev.u.quote;
    q->sym = rec->sym;
    q->n = ++d->quotes[rec->sym];
    if (rec->has_quote) {
        q->bid_px = rec->bid, q->ask_px = rec->ask;
        q->bid_qty = rec->bid_qty, q->ask_qty = rec->ask_qty;
    } else {
        q->bid_px = q->ask_px = rec->px;
        q->bid_qty = q->ask_qty = rec->qty;
    }
}

static int csv_next(struct bt_data *d, struct feed_item *it, struct err *e)
{
    struct csv_record rec;
    int rc = feed_csv_next(d->csv, &rec, e);
    if (rc <= 0) return rc;
    if (rec.kind == CSV_TICK) {
        csv_tick(d, &rec, it);
        return 1;
    }
    if (d->bar_tf < 0) d->bar_tf = (int)rec.bar.tf;
    if ((int)rec.bar.tf != d->bar_tf) /* one timeframe: bars come in time order */
        return err_set(e, "the data mixes %s and %s bars: one timeframe per backtest",
                       tf_name((enum tf)d->bar_tf), tf_name(rec.bar.tf));
    memset(it, 0, sizeof *it);
    it->kind = FEED_BAR;
    it->ts_us = rec.bar.time_us + tf_us(rec.bar.tf);
    it->ev.type = EV_BAR;
    it->ev.ts_us = it->ts_us;
    memcpy(it->ev.source, "csv", 4);
    it->ev.u.bar = rec.bar;
    return 1;
}

static int replay_item(struct bt_data *d, struct feed_item *it, struct err *e)
{
    for (;;) {
        struct replay_item ri;
        int rc = replay_next(d->rp, &ri, e);
        if (rc <= 0) return rc;
        if (d->to_us && ri.ts_us >= d->to_us) return 0;
        if (ri.ts_us < d->from_us) continue;
        memset(it, 0, sizeof *it);
        it->ts_us = ri.ts_us;
        it->kind = ri.kind == REPLAY_TIMERS ? FEED_TIMERS : FEED_MARKET;
        if (it->kind == FEED_MARKET) it->ev = ri.ev;
        return 1;
    }
}

int bt_data_next(struct bt_data *d, struct feed_item *it, struct err *e)
{
    if (d->has_pending) {
        market_item(it, MD_TRADE, d->pending_us);
        it->ev.u.trade = d->pending;
        d->has_pending = 0;
        d->items++;
        return 1;
    }
    int rc = d->rp ? replay_item(d, it, e) : csv_next(d, it, e);
    if (rc > 0) d->items++;
    return rc;
}

double bt_data_progress(const struct bt_data *d)
{
    if (!d->csv) return 0;
    struct feed_csv_stats st;
    feed_csv_stats(d->csv, &st);
    return st.bytes_total ? (double)st.bytes_done / (double)st.bytes_total : 0;
}

void bt_data_counts(const struct bt_data *d, uint64_t *rows, uint64_t *bad, char *first_bad,
                    size_t n)
{
    *rows = d->items, *bad = 0;
    if (n) first_bad[0] = '\0';
    if (!d->csv) return;
    struct feed_csv_stats st;
    feed_csv_stats(d->csv, &st);
    *rows = st.rows;
    *bad = st.bad;
    util_strlcpy(first_bad, st.first_bad, n);
}

void bt_data_close(struct bt_data *d)
{
    if (d->csv) feed_csv_free(d->csv);
    if (d->rp) replay_free(d->rp);
    free(d->quotes);
    free(d->trades);
    memset(d, 0, sizeof *d);
}
