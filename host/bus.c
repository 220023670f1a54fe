/* bus.c: synchronous event dispatch with a FIFO for nested publishes (see bus.h).
 *
 * Subscribers live in an array; unsubscribing during a dispatch only marks the slot,
 * and slots are compacted when no dispatch is running, so iteration stays valid.
 * Nested publishes go to a ring that grows by doubling; the outermost bus_publish
 * drains it before returning. Market data published from the top level never touches
 * the ring, so the hot path allocates nothing. */
#include "bus.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "util.h"

struct sub {
    int id;
    uint64_t mask;
    bus_fn fn;
    void *arg;
};

struct bus {
    const struct clock *clock;
    uint64_t seq;
    uint64_t counts[EV__COUNT];
    struct sub *subs;
    int nsubs, capsubs, next_id, dead;
    int depth;
    struct event *queue; /* ring */
    size_t qhead, qlen, qcap;
};

struct bus *bus_new(const struct clock *clock)
{
    struct bus *b = xcalloc(1, sizeof *b);
    b->clock = clock;
    return b;
}

void bus_free(struct bus *b)
{
    if (!b) return;
    for (size_t i = 0; i < b->qlen; i++) event_release(&b->queue[(b->qhead + i) % b->qcap]);
    free(b->queue);
    free(b->subs);
    free(b);
}

int bus_subscribe(struct bus *b, uint64_t mask, bus_fn fn, void *arg)
{
    if (b->nsubs == b->capsubs) {
        b->capsubs = b->capsubs ? b->capsubs * 2 : 8;
        b->subs = xrealloc(b->subs, sizeof *b->subs * (size_t)b->capsubs);
    }
    b->subs[b->nsubs++] = (struct sub){++b->next_id, mask, fn, arg};
    return b->next_id;
}

int bus_wants(const struct bus *b, enum event_type t)
{
    for (int i = 0; i < b->nsubs; i++)
        if (b->subs[i].fn && (b->subs[i].mask & EV_BIT(t))) return 1;
    return 0;
}

static void compact(struct bus *b)
{
    int w = 0;
    for (int r = 0; r < b->nsubs; r++)
        if (b->subs[r].fn) b->subs[w++] = b->subs[r];
    b->nsubs = w;
    b->dead = 0;
}

void bus_unsubscribe(struct bus *b, int id)
{
    for (int i = 0; i < b->nsubs; i++) {
        if (b->subs[i].id == id) {
            b->subs[i].fn = NULL;
            b->subs[i].mask = 0;
            b->dead = 1;
        }
    }
    if (!b->depth) compact(b);
}

static void dispatch(struct bus *b, const struct event *ev)
{
    uint64_t bit = EV_BIT(ev->type);
    int n = b->nsubs; /* subscribers added during dispatch see the next event */
    for (int i = 0; i < n; i++)
        if ((b->subs[i].mask & bit) && b->subs[i].fn) b->subs[i].fn(ev, b->subs[i].arg);
}

static void enqueue(struct bus *b, const struct event *ev)
{
    if (b->qlen == b->qcap) {
        size_t cap = b->qcap ? b->qcap * 2 : 16;
        struct event *q = xmalloc(sizeof *q * cap);
        for (size_t i = 0; i < b->qlen; i++) q[i] = b->queue[(b->qhead + i) % b->qcap];
        free(b->queue);
        b->queue = q;
        b->qcap = cap;
        b->qhead = 0;
    }
    b->queue[(b->qhead + b->qlen) % b->qcap] = *ev;
    b->qlen++;
}

/* Delivers queued events until the queue is empty; depth is already raised. */
static void drain(struct bus *b)
{
    while (b->qlen) {
        struct event next = b->queue[b->qhead];
        b->qhead = (b->qhead + 1) % b->qcap;
        b->qlen--;
        dispatch(b, &next);
        event_release(&next);
    }
}

uint64_t bus_publish(struct bus *b, struct event *ev)
{
    ASSERT((unsigned)ev->type < EV__COUNT);
    ev->seq = ++b->seq;
    if (ev->ts_us == 0) ev->ts_us = clock_now_us(b->clock);
    b->counts[ev->type]++;
    uint64_t seq = ev->seq;
    if (b->depth) {
        enqueue(b, ev);
        ev->data = NULL; /* the queue owns them now */
        ev->order = NULL;
        ev->pf = NULL;
        return seq;
    }
    b->depth++;
    dispatch(b, ev);
    event_release(ev);
    drain(b);
    b->depth--;
    if (b->dead) compact(b);
    return seq;
}

void bus_hold(struct bus *b)
{
    b->depth++;
}

void bus_release(struct bus *b)
{
    ASSERT(b->depth > 0);
    if (b->depth == 1) drain(b);
    b->depth--;
    if (!b->depth && b->dead) compact(b);
}

uint64_t bus_last_seq(const struct bus *b)
{
    return b->seq;
}

uint64_t bus_count(const struct bus *b, enum event_type t)
{
    return (unsigned)t < EV__COUNT ? b->counts[t] : 0;
}

int bus_dispatching(const struct bus *b)
{
    return b->depth > 0;
}
