/* event_log.c: the recent events, in two rings of fixed slots (event_log.h).
 *
 * The "other" ring holds a copy of every event but MARKET_DATA: bars and order events
 * by value, any other event's cJSON data printed to text at push (those events are
 * rare; the printing allocates, pushing market data never does). The "all" ring holds
 * every event; its market-data slots carry the quote or trade by value, its other
 * slots only the position of the same event in the other ring. That reference stays
 * valid because the other ring has at least as many slots as the all ring (capacities
 * are rounded up to make it so): the all ring's non-market events are the newest of
 * them all, so the other ring still holds every one.
 *
 * Positions: each ring counts pushes (head); the event pushed n-th sits in slot
 * n & mask, and positions [head - held, head) are held, in sequence order, so a reader
 * finds its place by binary search. floor is the lowest sequence number from which the
 * ring holds every event of its kind: the first event pushed to the log, then one past
 * the newest event a ring overwrote.
 *
 * JSON: each slot builds its event's JSON shape on first use (event_to_json, or the
 * envelope plus the stored data text) into its own buf, reused when the slot is
 * overwritten, so fan-out to many readers serializes an event once and, once the bufs
 * have grown to their working size, allocates nothing. json_seq says which event a
 * slot's buf holds.
 *
 * Latest market data: one md_key per (instrument, kind) holds the newest event of that
 * key by value, its JSON (built on first read, like a slot's), and running totals (the
 * count, and the trades' summed size) that every market slot of the all ring also
 * records as of itself. The keys that ever had an event form a list ordered by their
 * latest seq (a push moves its key to the tail), so the keys changed after a given seq
 * are a suffix of it: a conflated scan walks that suffix and merges it with the other
 * ring's events by seq, visiting neither the superseded ticks nor the keys that did not
 * change. */
#include "event_log.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "util.h"

/* What a scan needs to filter, at the start of both kinds of slot. */
struct entry {
    uint64_t seq;
    enum event_type type;
    int sym;
};

/* Kept small (under two cache lines): pushing a tick writes only this. The source is
 * an index into the log's table of market-data sources, and the slot's JSON, built only
 * when a reader asks, lives in a parallel array (all_json). */
struct all_slot {
    struct entry e;
    uint64_t other_pos; /* non-market events: position in the other ring */
    int64_t ts_us;
    enum md_kind md_kind;
    uint8_t src; /* l->sources[src] */
    union {
        struct quote quote;
        struct trade trade;
    } u;
    struct event_log_total total; /* market data: its key's totals as of this event */
};

struct slot_json {
    struct buf json;
    uint64_t json_seq;
};

#define EVENT_LOG_SOURCES 32 /* distinct market-data sources (feeds); more is a bug */

struct other_slot {
    struct entry e;
    int64_t ts_us;
    int has_order, has_pf;
    union {
        struct bar bar;
        struct order_event order;
        struct portfolio_update pf;
    } u;
    char source[EVENT_SOURCE_MAX];
    struct buf data; /* JSON text of the data (types without a typed payload) */
    struct buf json;
    uint64_t json_seq;
};

struct ring {
    char *slots;
    size_t stride, mask;
    uint64_t head;  /* pushes so far */
    uint64_t floor; /* 0 until the first push to the log */
};

/* The newest market event of one (instrument, kind). */
struct md_key {
    uint64_t seq;   /* 0: none yet (not in the list) */
    int prev, next; /* the list by seq: key indices, -1 at the ends */
    int64_t ts_us;
    union {
        struct quote quote;
        struct trade trade;
    } u;
    char source[EVENT_SOURCE_MAX];
    struct event_log_total total;
    struct buf json;
    uint64_t json_seq;
};

struct event_log {
    const struct instruments *ins;
    struct bus *bus; /* attached to, or NULL */
    int sub;
    struct ring all, other;
    uint64_t last;
    struct md_key *keys;        /* EVENT_LOG_MD_KEYS */
    int key_head, key_tail;     /* oldest and newest changed keys, -1: none */
    struct slot_json *all_json; /* one per slot of the all ring */
    char sources[EVENT_LOG_SOURCES][EVENT_SOURCE_MAX];
    int nsources, last_src;
};

/* The index of a market-data source name, added on first sight. The last one is
 * checked first: a feed sends thousands of ticks in a row. */
static uint8_t source_index(struct event_log *l, const char *source)
{
    if (l->nsources && !strcmp(l->sources[l->last_src], source)) return (uint8_t)l->last_src;
    for (int i = 0; i < l->nsources; i++)
        if (!strcmp(l->sources[i], source)) return (uint8_t)(l->last_src = i);
    ASSERT(l->nsources < EVENT_LOG_SOURCES);
    util_strlcpy(l->sources[l->nsources], source, EVENT_SOURCE_MAX);
    return (uint8_t)(l->last_src = l->nsources++);
}

static size_t pow2_at_least(size_t n)
{
    size_t p = 16;
    while (p < n) p <<= 1;
    return p;
}

/* Rings are written through when made, not on their first lap: a fresh ring takes a
 * page fault every few events until it wraps, on the tick-to-order path (1 in 40 ticks
 * of a busy host, which is its p99). The price is resident memory from the start:
 * about 130 MB at the default sizes (ws.history, ws.history_other). */
static void ring_init(struct ring *r, size_t cap, size_t stride)
{
    r->slots = xmalloc(cap * stride);
    memset(r->slots, 0, cap * stride);
    r->stride = stride;
    r->mask = cap - 1;
}

static void *ring_slot(const struct ring *r, uint64_t pos)
{
    return r->slots + (size_t)(pos & r->mask) * r->stride;
}

static uint64_t ring_tail(const struct ring *r)
{
    uint64_t cap = r->mask + 1;
    return r->head > cap ? r->head - cap : 0;
}

/* The position of the first held event with seq > after (head when none). */
static uint64_t ring_find(const struct ring *r, uint64_t after)
{
    uint64_t lo = ring_tail(r), hi = r->head;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        const struct entry *e = ring_slot(r, mid);
        if (e->seq <= after) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* The slot the next push fills; records what it overwrites in floor. */
static void *ring_claim(struct ring *r)
{
    void *slot = ring_slot(r, r->head);
    if (r->head > r->mask) r->floor = ((struct entry *)slot)->seq + 1;
    /* the next slot is written by the next push: have it in cache by then */
    const char *next = ring_slot(r, r->head + 1);
    for (size_t off = 0; off < r->stride; off += 64) __builtin_prefetch(next + off, 1);
    return slot;
}

struct event_log *event_log_new(size_t all_cap, size_t other_cap, const struct instruments *ins)
{
    struct event_log *l = xcalloc(1, sizeof *l);
    l->ins = ins;
    all_cap = pow2_at_least(all_cap);
    other_cap = pow2_at_least(MAX(other_cap, all_cap));
    ring_init(&l->all, all_cap, sizeof(struct all_slot));
    l->all_json = xcalloc(l->all.mask + 1, sizeof *l->all_json);
    ring_init(&l->other, other_cap, sizeof(struct other_slot));
    l->keys = xcalloc(EVENT_LOG_MD_KEYS, sizeof *l->keys);
    l->key_head = l->key_tail = -1;
    return l;
}

void event_log_free(struct event_log *l)
{
    if (!l) return;
    if (l->bus) bus_unsubscribe(l->bus, l->sub);
    for (size_t i = 0; i <= l->all.mask; i++) buf_free(&l->all_json[i].json);
    free(l->all_json);
    for (size_t i = 0; i <= l->other.mask; i++) {
        struct other_slot *s = ring_slot(&l->other, i);
        buf_free(&s->data);
        buf_free(&s->json);
    }
    for (int k = 0; k < EVENT_LOG_MD_KEYS; k++) buf_free(&l->keys[k].json);
    free(l->all.slots);
    free(l->other.slots);
    free(l->keys);
    free(l);
}

static void on_event(const struct event *ev, void *arg)
{
    event_log_push(arg, ev);
}

void event_log_attach(struct event_log *l, struct bus *bus)
{
    ASSERT(!l->bus);
    l->bus = bus;
    l->sub = bus_subscribe(bus, EV_ALL, on_event, l);
}

int event_log_symbol_of(const struct event_log *l, const struct event *ev)
{
    if (ev->type == EV_MARKET_DATA)
        return ev->md_kind == MD_QUOTE ? ev->u.quote.sym : ev->u.trade.sym;
    if (ev->type == EV_BAR) return ev->u.bar.sym;
    if (ev->order) return ev->order->order.sym;
    if (ev->pf) return ev->pf->is_position ? ev->pf->pos.sym : -1;
    const cJSON *s = ev->data ? cJSON_GetObjectItemCaseSensitive(ev->data, "symbol") : NULL;
    if (!cJSON_IsString(s) || !l->ins) return -1;
    return instruments_find(l->ins, s->valuestring);
}

static void put_data_text(struct buf *out, const struct cJSON *data)
{
    buf_reset(out);
    if (!data) {
        buf_puts(out, "{}");
        return;
    }
    /* printed straight into the slot's buffer (no malloc, copy and free per event),
     * which grows until the text fits; cJSON's 5 spare bytes are its own rule */
    if (out->cap < 256) buf_reserve(out, 256);
    while (!cJSON_PrintPreallocated((cJSON *)data, out->p, (int)out->cap - 5, 0))
        buf_reserve(out, out->cap * 2);
    out->len = strlen(out->p);
    /* cJSON copies string bytes as they are, and scripts can put any bytes in an alert
     * or a signal: WebSocket text frames must be UTF-8, or clients drop the connection */
    if (buf_utf8_valid_prefix(out->p, out->len) != out->len) {
        struct buf fixed = BUF_INIT;
        buf_put_utf8(&fixed, out->p, out->len);
        buf_free(out);
        *out = fixed;
    }
}

static uint64_t push_other(struct event_log *l, const struct event *ev, int sym)
{
    struct other_slot *s = ring_claim(&l->other);
    s->e = (struct entry){ev->seq, ev->type, sym};
    s->ts_us = ev->ts_us;
    memcpy(s->source, ev->source, sizeof s->source);
    s->has_order = ev->order != NULL;
    s->has_pf = ev->pf != NULL;
    if (ev->type == EV_BAR) s->u.bar = ev->u.bar;
    else if (ev->order) s->u.order = *ev->order;
    else if (ev->pf) s->u.pf = *ev->pf;
    else put_data_text(&s->data, ev->data);
    return l->other.head++;
}

/* The key of a market event, or -1 when its symbol id is out of range. */
static int key_of(const struct event *ev)
{
    int sym = ev->md_kind == MD_QUOTE ? ev->u.quote.sym : ev->u.trade.sym;
    if (sym < 0 || sym >= INSTRUMENTS_MAX) return -1;
    return sym * 2 + (int)ev->md_kind;
}

/* Moves key k to the tail of the list (the newest). */
static void key_touch(struct event_log *l, int k)
{
    struct md_key *m = &l->keys[k];
    if (l->key_tail == k) return;
    if (m->seq) { /* in the list, not last: unlink */
        if (m->prev >= 0) l->keys[m->prev].next = m->next;
        else l->key_head = m->next;
        l->keys[m->next].prev = m->prev;
    }
    m->prev = l->key_tail;
    m->next = -1;
    if (l->key_tail >= 0) l->keys[l->key_tail].next = k;
    else l->key_head = k;
    l->key_tail = k;
}

/* Records a market event as its key's latest; returns the key's totals (or NULL). */
static const struct event_log_total *push_key(struct event_log *l, const struct event *ev)
{
    int k = key_of(ev);
    if (k < 0) return NULL;
    key_touch(l, k);
    struct md_key *m = &l->keys[k];
    m->seq = ev->seq;
    m->ts_us = ev->ts_us;
    if (ev->md_kind == MD_QUOTE) m->u.quote = ev->u.quote;
    else m->u.trade = ev->u.trade;
    memcpy(m->source, ev->source, sizeof m->source);
    m->total.count++;
    if (ev->md_kind == MD_TRADE) m->total.size += ev->u.trade.qty;
    return &m->total;
}

static void push_all(struct event_log *l, const struct event *ev, int sym, uint64_t other_pos)
{
    struct all_slot *s = ring_claim(&l->all);
    s->e = (struct entry){ev->seq, ev->type, sym};
    if (ev->type == EV_MARKET_DATA) {
        s->ts_us = ev->ts_us;
        s->md_kind = ev->md_kind;
        if (ev->md_kind == MD_QUOTE) s->u.quote = ev->u.quote;
        else s->u.trade = ev->u.trade;
        s->src = source_index(l, ev->source);
        const struct event_log_total *t = push_key(l, ev);
        s->total = t ? *t : (struct event_log_total){0, 0};
    } else {
        s->other_pos = other_pos;
    }
    l->all.head++;
}

void event_log_push(struct event_log *l, const struct event *ev)
{
    ASSERT(ev->seq > l->last);
    if (l->last == 0) l->all.floor = l->other.floor = ev->seq;
    int sym = event_log_symbol_of(l, ev);
    uint64_t other_pos = 0;
    if (ev->type != EV_MARKET_DATA) other_pos = push_other(l, ev, sym);
    push_all(l, ev, sym, other_pos);
    l->last = ev->seq;
}

int event_filter_match(const struct event_filter *f, enum event_type type, int sym)
{
    if (!f) return 1;
    if (f->types && !(f->types & EV_BIT(type))) return 0;
    if (f->nsyms == 0 || sym < 0) return 1;
    for (int i = 0; i < f->nsyms; i++)
        if (f->syms[i] == sym) return 1;
    return 0;
}

/* Calls fn on each non-empty item of the comma-separated list. Returns 0, or -1 (e). */
static int each_item(const char *list, int (*fn)(const char *item, void *arg, struct err *e),
                     void *arg, struct err *e)
{
    int n = 0;
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        char item[64];
        if (len >= sizeof item) return err_set(e, "\"%.20s...\" is too long", p);
        if (len && ++n > EVENT_LIST_MAX) return err_set(e, "more than %d items", EVENT_LIST_MAX);
        memcpy(item, p, len);
        item[len] = '\0';
        if (len && fn(item, arg, e) != 0) return -1;
        p += len + (p[len] == ',');
    }
    return 0;
}

static int add_type(const char *item, void *arg, struct err *e)
{
    int t = event_type_parse(item);
    if (t < 0) return err_set(e, "unknown event type \"%s\"", item);
    *(uint64_t *)arg |= EV_BIT(t);
    return 0;
}

int event_types_parse(const char *list, uint64_t *mask, struct err *e)
{
    return each_item(list, add_type, mask, e);
}

struct sym_list {
    const struct instruments *ins;
    int *syms, *n;
};

static int add_symbol(const char *item, void *arg, struct err *e)
{
    struct sym_list *l = arg;
    int id = instruments_find(l->ins, item);
    if (id < 0) return err_set(e, "unknown symbol \"%s\"", item);
    l->syms[(*l->n)++] = id;
    return 0;
}

int event_symbols_parse(const char *list, const struct instruments *ins, int *syms, int *nsyms,
                        struct err *e)
{
    struct sym_list l = {ins, syms, nsyms};
    *nsyms = 0;
    return each_item(list, add_symbol, &l, e);
}

/* The ring a reader with filter f reads: the other ring when f excludes market data. */
static struct ring *ring_for(const struct event_log *l, const struct event_filter *f)
{
    struct event_log *m = (struct event_log *)l;
    if (f && f->types && !(f->types & EV_BIT(EV_MARKET_DATA))) return &m->other;
    return &m->all;
}

uint64_t event_log_first(const struct event_log *l, const struct event_filter *f)
{
    const struct ring *r = ring_for(l, f);
    return r->floor ? r->floor : l->last + 1;
}

uint64_t event_log_last(const struct event_log *l)
{
    return l->last;
}

static const struct buf *other_json(const struct event_log *l, struct other_slot *s)
{
    if (s->json_seq == s->e.seq) return &s->json;
    struct event ev = {.seq = s->e.seq, .type = s->e.type, .ts_us = s->ts_us};
    memcpy(ev.source, s->source, sizeof ev.source);
    buf_reset(&s->json);
    if (s->e.type == EV_BAR || s->has_order || s->has_pf) {
        if (s->e.type == EV_BAR) ev.u.bar = s->u.bar;
        else if (s->has_order) ev.order = &s->u.order;
        else ev.pf = &s->u.pf;
        event_to_json(&ev, l->ins, &s->json);
    } else {
        event_json_head(&ev, &s->json);
        buf_put(&s->json, s->data.p, s->data.len);
        buf_putc(&s->json, '}');
    }
    s->json_seq = s->e.seq;
    return &s->json;
}

/* Builds into out (once per seq: json_seq) the JSON of a market event held by value. */
static const struct buf *md_json(const struct event_log *l, uint64_t seq, int64_t ts_us,
                                 const char *source, enum md_kind kind, const void *u,
                                 struct buf *out, uint64_t *json_seq)
{
    if (*json_seq == seq) return out;
    struct event ev = {.seq = seq, .type = EV_MARKET_DATA, .ts_us = ts_us, .md_kind = kind};
    memcpy(ev.source, source, sizeof ev.source);
    if (kind == MD_QUOTE) memcpy(&ev.u.quote, u, sizeof ev.u.quote);
    else memcpy(&ev.u.trade, u, sizeof ev.u.trade);
    buf_reset(out);
    event_to_json(&ev, l->ins, out);
    *json_seq = seq;
    return out;
}

static const struct buf *market_json(struct event_log *l, const struct all_slot *s, uint64_t pos)
{
    struct slot_json *j = &l->all_json[pos & l->all.mask];
    return md_json(l, s->e.seq, s->ts_us, l->sources[s->src], s->md_kind, &s->u, &j->json,
                   &j->json_seq);
}

static const struct buf *key_json(const struct event_log *l, int k)
{
    struct md_key *m = &l->keys[k];
    return md_json(l, m->seq, m->ts_us, m->source, (enum md_kind)(k & 1), &m->u, &m->json,
                   &m->json_seq);
}

/* The JSON shape of the event at pos in ring r. */
static const struct buf *json_at(struct event_log *l, struct ring *r, uint64_t pos)
{
    if (r == &l->other) return other_json(l, ring_slot(r, pos));
    struct all_slot *s = ring_slot(r, pos);
    if (s->e.type == EV_MARKET_DATA) return market_json(l, s, pos);
    struct other_slot *o = ring_slot(&l->other, s->other_pos);
    ASSERT(o->e.seq == s->e.seq);
    return other_json(l, o);
}

/* Passes the matching events at positions [pos, head) to fn, at most max of them
 * (max <= 0: all); returns the last sequence number examined, or after. */
static uint64_t scan_from(struct event_log *l, struct ring *r, uint64_t pos, uint64_t after,
                          const struct event_filter *f, int max, event_log_fn fn, void *arg)
{
    uint64_t last = after;
    int passed = 0;
    for (; pos < r->head; pos++) {
        const struct entry *e = ring_slot(r, pos);
        last = e->seq;
        if (!event_filter_match(f, e->type, e->sym)) continue;
        const struct buf *j = json_at(l, r, pos);
        passed++;
        if (fn(e->seq, e->type, j->p, j->len, arg)) break;
        if (max > 0 && passed >= max) break;
    }
    return last;
}

uint64_t event_log_scan(struct event_log *l, uint64_t after, const struct event_filter *f, int max,
                        event_log_fn fn, void *arg)
{
    struct ring *r = ring_for(l, f);
    return scan_from(l, r, ring_find(r, after), after, f, max, fn, arg);
}

void event_log_recent(struct event_log *l, const struct event_filter *f, int n, event_log_fn fn,
                      void *arg)
{
    struct ring *r = ring_for(l, f);
    uint64_t pos = r->head, tail = ring_tail(r);
    int found = 0;
    while (pos > tail && found < n) {
        const struct entry *e = ring_slot(r, --pos);
        if (event_filter_match(f, e->type, e->sym)) found++;
    }
    if (found > 0) scan_from(l, r, pos, 0, f, found, fn, arg);
}

/* --- conflated readers --- */

/* The oldest key whose latest event is after seq (the list's suffix), or -1. */
static int keys_after(const struct event_log *l, uint64_t seq)
{
    int k = l->key_tail, first = -1;
    while (k >= 0 && l->keys[k].seq > seq) {
        first = k;
        k = l->keys[k].prev;
    }
    return first;
}

/* The next key from k on (k included) that matches f with a latest seq <= upto, or -1. */
static int key_next(const struct event_log *l, int k, uint64_t upto, const struct event_filter *f)
{
    for (; k >= 0 && l->keys[k].seq <= upto; k = l->keys[k].next)
        if (event_filter_match(f, EV_MARKET_DATA, k / 2)) return k;
    return -1;
}

uint64_t event_log_scan_latest(struct event_log *l, uint64_t after, uint64_t upto,
                               const struct event_filter *f, int until_market,
                               event_log_latest_fn fn, void *arg)
{
    struct ring *o = &l->other;
    /* Nothing but market data since: until_market has nothing to pass (and the walk
     * over the changed keys is saved, per flush, for every conflated reader). */
    if (until_market && (o->head == 0 || ((struct entry *)ring_slot(o, o->head - 1))->seq <= after))
        return after;
    uint64_t pos = ring_find(o, after);
    int k = key_next(l, keys_after(l, after), upto, f);
    for (;;) {
        const struct entry *e = pos < o->head ? ring_slot(o, pos) : NULL;
        if (e && e->seq > upto) e = NULL;
        if (!e && k < 0) return upto;
        if (e && (k < 0 || e->seq < l->keys[k].seq)) {
            pos++;
            if (!event_filter_match(f, e->type, e->sym)) continue;
            const struct buf *j = other_json(l, ring_slot(o, pos - 1));
            if (fn(e->seq, e->type, j->p, j->len, -1, NULL, arg)) return e->seq;
            continue;
        }
        struct md_key *m = &l->keys[k];
        if (until_market) return m->seq - 1;
        const struct buf *j = key_json(l, k);
        if (fn(m->seq, EV_MARKET_DATA, j->p, j->len, k, &m->total, arg)) return m->seq;
        k = key_next(l, m->next, upto, f);
    }
}

void event_log_totals_at(const struct event_log *l, uint64_t seq, struct event_log_total *out)
{
    int missing = 0;
    for (int k = 0; k < EVENT_LOG_MD_KEYS; k++) out[k] = l->keys[k].total;
    /* The keys changed after seq: their totals as of their first event after it, less
     * that event. Marked by a count of UINT64_MAX until found. */
    for (int k = keys_after(l, seq); k >= 0; k = l->keys[k].next) {
        out[k].count = UINT64_MAX;
        missing++;
    }
    const struct ring *r = &l->all;
    for (uint64_t pos = ring_find(r, seq); missing > 0 && pos < r->head; pos++) {
        const struct all_slot *s = ring_slot(r, pos);
        if (s->e.type != EV_MARKET_DATA) continue;
        int k = s->e.sym * 2 + (int)s->md_kind;
        if (s->e.sym < 0 || s->e.sym >= INSTRUMENTS_MAX || out[k].count != UINT64_MAX) continue;
        out[k].count = s->total.count - 1;
        out[k].size = s->total.size - (s->md_kind == MD_TRADE ? s->u.trade.qty : 0);
        missing--;
    }
    /* Not held any more: count the latest event alone. */
    for (int k = keys_after(l, seq); missing > 0 && k >= 0; k = l->keys[k].next) {
        if (out[k].count != UINT64_MAX) continue;
        const struct md_key *m = &l->keys[k];
        out[k].count = m->total.count - 1;
        out[k].size = m->total.size - ((k & 1) == MD_TRADE ? m->u.trade.qty : 0);
        missing--;
    }
}
