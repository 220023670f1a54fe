/* event_log.h: the recent events, by sequence number, for /api/events, the WebSocket
 * stream (resume after reconnect) and the page's feeds (signals, alerts, denials).
 *
 * Two rings of copies of published events: one of every event, and one of every event
 * but MARKET_DATA (market data is most of the traffic; without it the second ring
 * covers hours, so a client that does not want ticks can resume from long ago). Each
 * slot keeps the event's typed payload (market data, bars, orders) or its data as JSON
 * text, and its JSON shape (event.h) built on first use and cached, so fan-out to many
 * clients serializes an event once. Storage is allocated up front; pushing a market
 * event allocates nothing.
 *
 * Single-threaded (loop thread). */
#ifndef LUATRADE_EVENT_LOG_H
#define LUATRADE_EVENT_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "event.h"
#include "instrument.h"

struct event_log;
struct bus;

/* all_cap, other_cap: slots in each ring (rounded up to a power of two, at least 16;
 * other_cap is raised to all_cap when smaller: the all ring refers to the other ring's
 * copies of non-market events). Memory: about 200 bytes per all slot and 900 per other
 * slot up front (calloc: pages are touched as the rings fill), plus each slot's JSON
 * once read. ins must outlive the log. */
struct event_log *event_log_new(size_t all_cap, size_t other_cap, const struct instruments *ins);
/* Unsubscribes from the bus it is attached to (which must still exist) and frees. NULL
 * ok. */
void event_log_free(struct event_log *l);

/* Subscribes the log to every event type of bus (call once, early: the log must see
 * events in sequence order). */
void event_log_attach(struct event_log *l, struct bus *bus);
/* Records ev (normally through the bus subscription; tests call it directly). Sequence
 * numbers must increase (ASSERT). A market event is copied without allocating. */
void event_log_push(struct event_log *l, const struct event *ev);

/* What a reader may ask for: a type mask and an optional symbol filter. */
struct event_filter {
    uint64_t types;  /* EV_BIT mask; 0 means every type */
    const int *syms; /* instrument ids; events without a symbol always pass */
    int nsyms;       /* 0: every symbol */
};
int event_filter_match(const struct event_filter *f, enum event_type type, int sym);

/* The lists readers give (REST's ?types= and ?symbols=, the console's tail()):
 * comma-separated names, empty items skipped, at most EVENT_LIST_MAX items. Types are
 * ORed into *mask; symbols become instrument ids in syms (room for EVENT_LIST_MAX),
 * counted in *nsyms. Return 0, or -1 with e naming the bad item. */
#define EVENT_LIST_MAX 64
int event_types_parse(const char *list, uint64_t *mask, struct err *e);
int event_symbols_parse(const char *list, const struct instruments *ins, int *syms, int *nsyms,
                        struct err *e);

/* The lowest sequence number from which the log holds every event a reader with
 * filter f may want (the ring that covers f: the non-market ring when f excludes
 * MARKET_DATA): the first event pushed, then one past the newest event that ring
 * overwrote. last+1 before the first push. A reader resuming after seq missed events
 * when seq + 1 < first. */
uint64_t event_log_first(const struct event_log *l, const struct event_filter *f);
uint64_t event_log_last(const struct event_log *l);

/* Calls fn for each held event with seq > after that matches f, in order, until fn
 * returns nonzero or max events were passed (max <= 0: no limit). json is the event's
 * JSON shape (valid until the next push). Returns the sequence number of the last event
 * examined (passed to fn or filtered out), or `after` when none: a reader resumes from
 * there. */
typedef int (*event_log_fn)(uint64_t seq, enum event_type type, const char *json, size_t len,
                            void *arg);
uint64_t event_log_scan(struct event_log *l, uint64_t after, const struct event_filter *f, int max,
                        event_log_fn fn, void *arg);

/* --- the latest market data, for conflated readers ---
 * Besides the rings, the log keeps for each (instrument, kind) the newest MARKET_DATA
 * event and running totals: how many events of that symbol and kind were pushed, and
 * for trades their summed size. A conflated reader (ws.c) takes the latest value of
 * each key instead of every tick; two totals' difference says what it folded. A key is
 * sym * 2 + md_kind; market data of a symbol id outside the registry's range has no key
 * (conflated readers never see it). */
#define EVENT_LOG_MD_KEYS (INSTRUMENTS_MAX * 2)

struct event_log_total {
    uint64_t count; /* events of the key pushed so far */
    int64_t size;   /* trades: their summed size (fixed point, the instrument's qty
                       decimals); quotes: 0 */
};

/* What a conflated scan passes: key -1 and total NULL for a non-market event; for a
 * key's latest market event its key and its totals as of that event. */
typedef int (*event_log_latest_fn)(uint64_t seq, enum event_type type, const char *json, size_t len,
                                   int key, const struct event_log_total *total, void *arg);

/* A conflated scan of (after, upto]: in sequence order, every held non-market event
 * matching f, and for each key matching f whose latest market event has a seq in that
 * range, that event (one per key: the older ones of the range are folded into it). Stops
 * after an event for which fn returns nonzero, returning its seq; with until_market,
 * stops before the first market event instead (not passed), returning its seq - 1, or
 * after when no non-market event came since; else returns upto. Everything up to the returned seq
 * was passed or folded: a reader resumes from there. Allocates nothing once each key's JSON buffer
 * has grown. */
uint64_t event_log_scan_latest(struct event_log *l, uint64_t after, uint64_t upto,
                               const struct event_filter *f, int until_market,
                               event_log_latest_fn fn, void *arg);

/* The totals of every key (out: EVENT_LOG_MD_KEYS entries) after the events up to seq
 * and none after it. Events the all ring no longer holds count as before seq. Reads the
 * all ring from seq until each key changed since was found: for a reader that starts
 * conflating at seq (once per subscription, not per event). */
void event_log_totals_at(const struct event_log *l, uint64_t seq, struct event_log_total *out);

/* Like event_log_scan, but the newest n matching events (oldest first): for "recent
 * alerts", "recent fills". */
void event_log_recent(struct event_log *l, const struct event_filter *f, int n, event_log_fn fn,
                      void *arg);

/* The instrument id an event is about, or -1 (market data, bars and orders carry one;
 * others when their data has a "symbol" field naming a known instrument). */
int event_log_symbol_of(const struct event_log *l, const struct event *ev);

#endif
