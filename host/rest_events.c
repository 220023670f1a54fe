/* rest_events.c: recent events over REST (docs/api.md), read from the event log
 * (event_log.h), the same copies the WebSocket stream serves:
 *
 *   GET /api/events?since=SEQ&types=A,B&symbols=S,T&limit=N
 *       {events, next, first, last, gap}: events after since, oldest first; a reader
 *       polls again with since=next. Without since: the newest N.
 *   GET /api/signals?limit=N    the newest SIGNAL_GENERATED events
 *   (and rest_reply_recent for /api/risk-checks and /api/alerts, rest_risk.c)
 *
 * The log keeps each event's JSON text, so replies are built by concatenation: no
 * event is parsed or serialized again per request. When the log no longer holds
 * everything after since (it overwrote older events, or the host restarted and
 * numbering began again), the reply starts at the oldest event held and says
 * "gap": true. */
#include <inttypes.h>
#include <stdio.h>

#include "host.h"
#include "rest.h"
#include "rest_internal.h"
#include "util.h"

#define EVENTS_DEFAULT 100
#define EVENTS_MAX     5000

struct collect {
    struct buf *b;
    int n;
};

static int collect(uint64_t seq, enum event_type type, const char *json, size_t len, void *arg)
{
    struct collect *c = arg;
    if (c->n++) buf_putc(c->b, ',');
    buf_put(c->b, json, len);
    return 0;
}

/* The filter from ?types= and ?symbols= (syms holds REST_LIST_MAX). -1 after replying. */
static int read_filter(struct http_req *r, struct host *h, struct event_filter *f, int *syms)
{
    f->syms = syms;
    if (rest_query_types(r, "types", &f->types) != 0) return -1;
    return rest_query_symbols(r, h, "symbols", syms, &f->nsyms);
}

static struct event_log *event_log_of(struct http_req *r, struct host *h)
{
    if (!h->events) http_reply_error(r, 503, "unavailable", "the event log is off");
    return h->events;
}

static void events(struct http_req *r, void *arg)
{
    struct host *h = arg;
    struct event_log *l = event_log_of(r, h);
    struct event_filter f;
    int syms[REST_LIST_MAX];
    int64_t limit, since;
    if (!l || read_filter(r, h, &f, syms) != 0 ||
        http_query_int(r, "limit", 1, EVENTS_MAX, EVENTS_DEFAULT, &limit) != 0 ||
        http_query_int(r, "since", 0, INT64_MAX, -1, &since) != 0)
        return;
    uint64_t first = event_log_first(l, &f), last = event_log_last(l), next = last;
    struct buf b = BUF_INIT;
    struct collect c = {&b, 0};
    int gap = 0;
    buf_puts(&b, "{\"events\":[");
    if (since < 0) {
        event_log_recent(l, &f, (int)limit, collect, &c);
    } else {
        uint64_t after = (uint64_t)since;
        if (after > last) after = 0; /* numbering began again: the host restarted */
        gap = after + 1 < first || after != (uint64_t)since;
        next = event_log_scan(l, after, &f, (int)limit, collect, &c);
    }
    buf_printf(&b, "],\"next\":%" PRIu64 ",\"first\":%" PRIu64 ",\"last\":%" PRIu64 ",\"gap\":%s}",
               next, first, last, gap ? "true" : "false");
    http_reply_text(r, 200, "application/json", b.p, b.len);
    buf_free(&b);
}

void rest_reply_recent(struct http_req *r, struct host *h, const char *key, uint64_t mask)
{
    struct event_log *l = event_log_of(r, h);
    struct event_filter f;
    int syms[REST_LIST_MAX];
    int64_t limit;
    if (!l || rest_query_symbols(r, h, "symbols", syms, &f.nsyms) != 0 ||
        http_query_int(r, "limit", 1, EVENTS_MAX, EVENTS_DEFAULT, &limit) != 0)
        return;
    f.syms = syms;
    f.types = mask;
    struct buf b = BUF_INIT;
    struct collect c = {&b, 0};
    buf_printf(&b, "{\"%s\":[", key);
    event_log_recent(l, &f, (int)limit, collect, &c);
    buf_puts(&b, "]}");
    http_reply_text(r, 200, "application/json", b.p, b.len);
    buf_free(&b);
}

static void signals(struct http_req *r, void *arg)
{
    rest_reply_recent(r, arg, "signals", EV_BIT(EV_SIGNAL_GENERATED));
}

static const struct http_route routes[] = {
    {HTTP_GET, "/api/events", events, 0},
    {HTTP_GET, "/api/signals", signals, 0},
};

void rest_events_routes(struct http *s, struct host *h)
{
    http_add_routes(s, routes, (int)ARRAY_LEN(routes), h);
}
