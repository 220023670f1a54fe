/* repl_tail.c: tail() in the console: log lines and events streamed to the session
 * until the client sends any line (Ctrl-C in `luatrade console`).
 *
 * Nothing is added to the hot path: a timer reads what arrived since the last look
 * from the log ring (log_ring.h) and the recent-events log (event_log.h), every
 * TAIL_PERIOD_MS, at most TAIL_BATCH of each per look. Log lines go out as written;
 * events as their JSON, one per line. A client that does not read is not allowed to
 * grow the host's memory: while its unsent output is past TAIL_OUT_MAX the stream skips
 * ahead, and says what it skipped once the client catches up. */
#include <event2/event.h>
#include <string.h>

#include "event_log.h"
#include "host.h"
#include "log_ring.h"
#include "repl_internal.h"

#define TAIL_PERIOD_MS 50
#define TAIL_BATCH     2000
#define TAIL_OUT_MAX   (1u << 20)

static void on_log_line(uint64_t n, enum log_level lvl, const char *line, void *arg)
{
    struct repl_session *s = arg;
    repl_out(s, line, strlen(line));
    repl_out(s, "\n", 1);
}

static int on_event(uint64_t seq, enum event_type type, const char *json, size_t len, void *arg)
{
    struct repl_session *s = arg;
    repl_out(s, json, len);
    repl_out(s, "\n", 1);
    return s->out.len > TAIL_OUT_MAX; /* big events: the rest next tick */
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct repl_session *s = arg;
    struct repl_tail *t = &s->tail;
    struct host *h = s->r->h;
    if (repl_unsent(s) > TAIL_OUT_MAX) { /* the client is not reading: skip ahead */
        uint64_t ll = h->logs ? log_ring_last(h->logs) : 0;
        if (t->logs) t->skipped_logs += ll - t->log_after;
        t->log_after = ll;
        t->skipped_to = t->ev_after = event_log_last(h->events);
        return;
    }
    if (t->skipped_to) { /* events are not counted: that would format each one */
        repl_outf(s,
                  "... the console did not keep up: skipped %llu log lines and the events up "
                  "to seq %llu\n",
                  (unsigned long long)t->skipped_logs, (unsigned long long)t->skipped_to);
        t->skipped_logs = t->skipped_to = 0;
    }
    if (t->logs && h->logs)
        t->log_after = log_ring_scan(h->logs, t->log_after, TAIL_BATCH, on_log_line, s);
    t->ev_after = event_log_scan(h->events, t->ev_after, &t->filter, TAIL_BATCH, on_event, s);
    repl_flush(s);
}

void repl_tail_start(struct repl_session *s)
{
    struct repl_tail *t = &s->tail;
    struct host *h = s->r->h;
    t->active = 1;
    t->skipped_logs = t->skipped_to = 0;
    t->log_after = h->logs ? log_ring_last(h->logs) : 0;
    t->ev_after = event_log_last(h->events);
    uint64_t quiet = EV_BIT(EV_MARKET_DATA) | EV_BIT(EV_BAR);
    repl_outf(s, "tail: %s%s; press Ctrl-C (or send any line) to stop\n",
              t->logs ? "log lines and " : "",
              t->filter.types == 0          ? "every event"
              : t->filter.types == (~quiet) ? "every event but market data and bars"
                                            : "events of the chosen types");
    repl_flush(s);
    if (!t->timer) t->timer = event_new(h->base, -1, EV_PERSIST, on_tick, s);
    struct timeval tv = {0, TAIL_PERIOD_MS * 1000};
    event_add(t->timer, &tv);
}

void repl_tail_stop(struct repl_session *s)
{
    struct repl_tail *t = &s->tail;
    if (t->timer) event_del(t->timer);
    t->active = 0;
    on_tick(-1, 0, s); /* what arrived since the last look */
    t->active = 0;
    repl_outf(s, "tail stopped\n");
    repl_reply(s, REPL_OK);
}
