/* bus.h: the in-process event bus (DESIGN.md §4).
 *
 * Publishing assigns the next host-wide sequence number and the timestamp (host
 * clock, when the event has none) and dispatches synchronously to every subscriber of
 * that type, in subscription order. An event published while another is being
 * dispatched (a strategy's signal, a bar closed by a trade) is queued and dispatched
 * right after the current one, so subscribers always see events one at a time, in
 * sequence order, and never re-entrantly. The queue owns queued events' data. */
#ifndef LUATRADE_BUS_H
#define LUATRADE_BUS_H

#include <stdint.h>

#include "event.h"

struct bus;
struct clock;

typedef void (*bus_fn)(const struct event *ev, void *arg);

struct bus *bus_new(const struct clock *clock);
/* Frees the bus and any queued events. */
void bus_free(struct bus *b);

/* Subscribes fn to the event types in mask (EV_BIT(t) | ...). Returns an id > 0. */
int bus_subscribe(struct bus *b, uint64_t mask, bus_fn fn, void *arg);
void bus_unsubscribe(struct bus *b, int id);

/* Publishes ev: takes ownership of ev->data; sets ev->seq and ev->ts_us (when 0).
 * Returns the sequence number. */
uint64_t bus_publish(struct bus *b, struct event *ev);

/* Holds dispatch: events published until the matching bus_release are queued, and
 * bus_release (of the outermost hold) delivers them in order. The host holds the bus
 * around every call into a sandbox, so an event a script publishes (a signal from a
 * timer callback) never reaches another script while the first is still running. */
void bus_hold(struct bus *b);
void bus_release(struct bus *b);

/* 1 when some subscriber takes events of type t: publishers of costly events (built
 * JSON) may skip building what nobody would receive. */
int bus_wants(const struct bus *b, enum event_type t);

/* Sequence number of the last published event (0 before the first). */
uint64_t bus_last_seq(const struct bus *b);
/* Events published per type since start. */
uint64_t bus_count(const struct bus *b, enum event_type t);
/* 1 while a dispatch is in progress. */
int bus_dispatching(const struct bus *b);

#endif
