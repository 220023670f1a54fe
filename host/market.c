/* market.c: last quote/trade per symbol, bar aggregation and closed-bar history.
 *
 * Storage: market_new allocates per registered instrument one sym_state and, per
 * timeframe, a ring of history_len closed bars (nsym * 6 * history_len bars of ~72 bytes:
 * size history_len with the symbol count in mind). Nothing is allocated afterwards;
 * symbol ids the registry did not hold at market_new are ignored.
 *
 * Driver protocol: call market_roll(m, ts) before market_on_trade(..., ts). on_trade
 * never emits, so it never closes a bar; a trade for a period later than an open bar
 * means roll was skipped, a driver bug (ASSERT). emit may read the market, not update it.
 *
 * Invariants per (symbol, tf): at most one open bar, whose end is > rolled_us (the
 * latest time passed to roll). A trade for a period before the open bar's, not after
 * the last closed one, or ended at or before rolled_us is late: counted, and ignored.
 * close is the price of the latest trade by time (ties: later arrival); high, low,
 * volume and trades count every trade of the period.
 *
 * Roll order is by end time, then symbol, then timeframe: what a roll at every instant
 * would produce, so one roll per event (backtest) and a timer (live) emit the same
 * sequence. next_close caches the minimum open-bar end: market_next_close and a roll
 * with nothing due are O(1); a closing roll is O(symbols * 6) per distinct end passed.
 *
 * Sequence n (DESIGN.md §6), per symbol and kind: the first n seen is the baseline (the
 * host may join mid-stream); n > expected is one gap of n - expected missing; n <
 * expected (duplicate or late delivery) is ignored for counting and expected stays;
 * n == 0 means the feed does not number events. The event is applied either way (no
 * dedup). The last quote/trade is replaced only by one at the same or a later ts. */
#include "market.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct tf_state {
    struct bar open; /* valid when has_open */
    bool has_open;
    int64_t last_trade_us;  /* time of the trade that set open.close */
    int64_t last_closed_us; /* period start of the last closed bar, or INT64_MIN */
    int head, count;        /* history ring: next slot, closed bars held */
};

struct sym_state {
    struct quote quote;
    int64_t quote_us;
    uint64_t quote_seq;
    bool has_quote;
    struct trade trade;
    int64_t trade_us;
    uint64_t trade_seq;
    bool has_trade;
    uint64_t next_n[2]; /* expected n per md_kind; 0 = nothing seen yet */
    struct market_stats st;
    struct tf_state tf[TF__COUNT];
};

struct market {
    const struct instruments *ins;
    int nsym;
    int history_len;
    struct sym_state *s;
    struct bar *ring; /* [sym][tf][history_len] */
    int64_t rolled_us;
    int64_t next_close;
    bool in_roll;
    bool bars_from_feed;       /* market_set_bars_from_feed */
    int64_t tf_len[TF__COUNT]; /* tf_us of each timeframe, at hand */
};

struct market *market_new(const struct instruments *ins, int history_len)
{
    ASSERT(ins != NULL && history_len >= 1);
    struct market *m = xcalloc(1, sizeof *m);
    m->ins = ins;
    m->nsym = ins->n;
    m->history_len = history_len;
    m->s = xcalloc((size_t)MAX(m->nsym, 1), sizeof *m->s);
    m->ring = xcalloc((size_t)MAX(m->nsym, 1) * TF__COUNT * (size_t)history_len, sizeof *m->ring);
    for (int i = 0; i < m->nsym; i++)
        for (int tf = 0; tf < TF__COUNT; tf++) m->s[i].tf[tf].last_closed_us = INT64_MIN;
    m->rolled_us = INT64_MIN;
    m->next_close = INT64_MAX;
    for (int tf = 0; tf < TF__COUNT; tf++) m->tf_len[tf] = tf_us((enum tf)tf);
    return m;
}

void market_free(struct market *m)
{
    if (!m) return;
    free(m->ring);
    free(m->s);
    free(m);
}

static struct sym_state *sym_get(const struct market *m, int sym)
{
    if (sym < 0 || sym >= m->nsym) return NULL;
    return &m->s[sym];
}

static struct bar *ring_of(const struct market *m, int sym, int tf)
{
    return m->ring + ((size_t)sym * TF__COUNT + (size_t)tf) * (size_t)m->history_len;
}

/* The start of the period of length len containing ts (floor, also for ts < 0). */
static int64_t align(int64_t ts, int64_t len)
{
    int64_t r = ts % len;
    return r < 0 ? ts - r - len : ts - r;
}

static void check_seq(struct sym_state *s, enum md_kind kind, uint64_t n)
{
    uint64_t *next = &s->next_n[kind];
    if (n == 0) return;
    if (*next != 0 && n > *next) {
        s->st.gaps++;
        s->st.missing += n - *next;
    } else if (*next != 0 && n < *next) {
        return;
    }
    *next = n + 1;
}

void market_on_quote(struct market *m, const struct quote *q, int64_t ts_us, uint64_t seq)
{
    ASSERT(!m->in_roll);
    struct sym_state *s = sym_get(m, q->sym);
    if (!s) return;
    s->st.quotes++;
    check_seq(s, MD_QUOTE, q->n);
    if (s->has_quote && ts_us < s->quote_us) return;
    s->quote = *q;
    s->quote_us = ts_us;
    s->quote_seq = seq;
    s->has_quote = true;
}

/* Applies t at ts_us to one timeframe's open bar, opening one if allowed. */
/* A trade inside the open bar's period: the common case, without a division. */
static void bar_add(struct tf_state *ts, const struct trade *t, int64_t ts_us)
{
    struct bar *b = &ts->open;
    b->high = MAX(b->high, t->px);
    b->low = MIN(b->low, t->px);
    b->volume += t->qty;
    b->trades++;
    if (ts_us >= ts->last_trade_us) {
        b->close = t->px;
        ts->last_trade_us = ts_us;
    }
}

static void bar_update(struct market *m, struct sym_state *s, int sym, enum tf tf,
                       const struct trade *t, int64_t ts_us)
{
    struct tf_state *ts = &s->tf[tf];
    int64_t len = m->tf_len[tf];
    if (ts->has_open && ts_us >= ts->open.time_us && ts_us - ts->open.time_us < len) {
        bar_add(ts, t, ts_us);
        return;
    }
    int64_t p = align(ts_us, len);
    if (ts->has_open) {
        struct bar *b = &ts->open;
        if (p < b->time_us) {
            s->st.late++;
            return;
        }
        /* Roll(ts_us) would have closed this bar: the driver skipped it. */
        ASSERT(p == b->time_us);
        bar_add(ts, t, ts_us);
        return;
    }
    if (p <= ts->last_closed_us || p + len <= m->rolled_us) {
        s->st.late++;
        return;
    }
    ts->open = (struct bar){.sym = sym,
                            .tf = tf,
                            .time_us = p,
                            .open = t->px,
                            .high = t->px,
                            .low = t->px,
                            .close = t->px,
                            .volume = t->qty,
                            .trades = 1};
    ts->has_open = true;
    ts->last_trade_us = ts_us;
    m->next_close = MIN(m->next_close, p + len);
}

void market_on_trade(struct market *m, const struct trade *t, int64_t ts_us, uint64_t seq)
{
    ASSERT(!m->in_roll);
    struct sym_state *s = sym_get(m, t->sym);
    if (!s) return;
    s->st.trades++;
    check_seq(s, MD_TRADE, t->n);
    if (!m->bars_from_feed)
        for (int tf = 0; tf < TF__COUNT; tf++) bar_update(m, s, t->sym, (enum tf)tf, t, ts_us);
    if (s->has_trade && ts_us < s->trade_us) return;
    s->trade = *t;
    s->trade_us = ts_us;
    s->trade_seq = seq;
    s->has_trade = true;
}

/* Moves the open bar of (sym, tf) into its history ring; returns the stored copy. */
static const struct bar *bar_close(struct market *m, int sym, enum tf tf)
{
    struct sym_state *s = &m->s[sym];
    struct tf_state *ts = &s->tf[tf];
    struct bar *slot = &ring_of(m, sym, tf)[ts->head];
    *slot = ts->open;
    ts->head = (ts->head + 1) % m->history_len;
    if (ts->count < m->history_len) ts->count++;
    ts->has_open = false;
    ts->last_closed_us = slot->time_us;
    s->st.bars_closed++;
    return slot;
}

void market_set_bars_from_feed(struct market *m, int on)
{
    m->bars_from_feed = on != 0;
}

void market_add_bar(struct market *m, const struct bar *b)
{
    struct sym_state *s = sym_get(m, b->sym);
    if (!s || (unsigned)b->tf >= TF__COUNT) return;
    s->tf[b->tf].open = *b;
    bar_close(m, b->sym, b->tf);
}

/* The earliest end of any open bar, or INT64_MAX. */
static int64_t min_open_end(const struct market *m)
{
    int64_t min = INT64_MAX;
    for (int i = 0; i < m->nsym; i++)
        for (int tf = 0; tf < TF__COUNT; tf++) {
            const struct tf_state *ts = &m->s[i].tf[tf];
            if (ts->has_open) min = MIN(min, ts->open.time_us + tf_us((enum tf)tf));
        }
    return min;
}

int market_roll(struct market *m, int64_t now_us, void (*emit)(const struct bar *b, void *arg),
                void *arg)
{
    ASSERT(!m->in_roll);
    m->rolled_us = MAX(m->rolled_us, now_us);
    int closed = 0;
    m->in_roll = true;
    while (m->next_close <= now_us) {
        int64_t end = m->next_close;
        for (int i = 0; i < m->nsym; i++)
            for (int tf = 0; tf < TF__COUNT; tf++) {
                const struct tf_state *ts = &m->s[i].tf[tf];
                if (!ts->has_open || ts->open.time_us + tf_us((enum tf)tf) != end) continue;
                const struct bar *b = bar_close(m, i, (enum tf)tf);
                closed++;
                if (emit) emit(b, arg);
            }
        m->next_close = min_open_end(m);
        ASSERT(m->next_close > end);
    }
    m->in_roll = false;
    return closed;
}

int64_t market_next_close(const struct market *m)
{
    return m->next_close;
}

const struct quote *market_quote(const struct market *m, int sym, int64_t *ts_us, uint64_t *seq)
{
    const struct sym_state *s = sym_get(m, sym);
    if (!s || !s->has_quote) return NULL;
    if (ts_us) *ts_us = s->quote_us;
    if (seq) *seq = s->quote_seq;
    return &s->quote;
}

const struct trade *market_trade(const struct market *m, int sym, int64_t *ts_us, uint64_t *seq)
{
    const struct sym_state *s = sym_get(m, sym);
    if (!s || !s->has_trade) return NULL;
    if (ts_us) *ts_us = s->trade_us;
    if (seq) *seq = s->trade_seq;
    return &s->trade;
}

int market_history(const struct market *m, int sym, enum tf tf, struct bar *out, int max)
{
    const struct sym_state *s = sym_get(m, sym);
    if (!s || (unsigned)tf >= TF__COUNT || max <= 0) return 0;
    const struct tf_state *ts = &s->tf[tf];
    const struct bar *ring = ring_of(m, sym, tf);
    int n = MIN(max, ts->count);
    /* The newest bar is at head - 1; the n most recent start n slots before head. */
    int start = (ts->head - n + m->history_len) % m->history_len;
    for (int i = 0; i < n; i++) out[i] = ring[(start + i) % m->history_len];
    return n;
}

const struct bar *market_open_bar(const struct market *m, int sym, enum tf tf)
{
    const struct sym_state *s = sym_get(m, sym);
    if (!s || (unsigned)tf >= TF__COUNT || !s->tf[tf].has_open) return NULL;
    return &s->tf[tf].open;
}

static void stats_add(struct market_stats *a, const struct market_stats *b)
{
    a->quotes += b->quotes;
    a->trades += b->trades;
    a->gaps += b->gaps;
    a->missing += b->missing;
    a->late += b->late;
    a->bars_closed += b->bars_closed;
}

void market_stats(const struct market *m, int sym, struct market_stats *out)
{
    memset(out, 0, sizeof *out);
    if (sym >= 0) {
        const struct sym_state *s = sym_get(m, sym);
        if (s) *out = s->st;
        return;
    }
    for (int i = 0; i < m->nsym; i++) stats_add(out, &m->s[i].st);
}
