/* metrics.c: latency histograms, the Prometheus text format (0.0.4), the loop-lag probe
 * and the page of GET /metrics (see metrics.h; every family is in docs/metrics.md).
 *
 * Histograms: one shared table of 44 bounds (0.5 µs .. 10 s, 1-1.5-2-3-5-7 per decade),
 * per-bucket counts (cumulated only on output), a count and a sum in nanoseconds. The
 * exposition is in seconds, bounds printed in the shortest form that reads back exactly
 * ("%.17g" would give le="0.10000000000000001").
 *
 * Text format rules kept here: one HELP and one TYPE line per family, its samples
 * together; counters end in _total; label values escape backslash, double quote and
 * newline (HELP text backslash and newline); histogram buckets are cumulative, end with
 * le="+Inf" equal to _count, then _sum and _count. `promtool check metrics` is the
 * test's judge (tests/api/test_metrics.py).
 *
 * The page is written from what the modules keep (bus counts, strategies, the order
 * book, risk, the journal, HTTP and WebSocket statistics), read on the loop thread when
 * asked; a module that is absent (no journal in a backtest, no HTTP server) leaves its
 * families out. Orders by state are counted incrementally: the book lists every order in
 * id order and never frees one, and a terminal status never changes, so each scrape
 * counts only the orders booked since the last one and re-reads those that were still
 * live then (O(new + live orders), not O(every order ever booked)).
 *
 * The loop-lag probe is a one-shot timer re-armed on each firing after refreshing
 * libevent's cached time, so "due" is the same instant for libevent and for us; lag is
 * how much later than due the callback ran (an early firing counts as 0: with libevent's
 * default CLOCK_MONOTONIC_COARSE timers fire up to a tick early, so the host builds its
 * loop with EVENT_BASE_FLAG_PRECISE_TIMER). The first firing comes after start-up work
 * and is not a sample. */
#include "metrics.h"

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "host.h"
#include "http.h"
#include "journal.h"
#include "oms.h"
#include "order.h"
#include "risk.h"
#include "strategy.h"
#include "util.h"
#include "ws.h"

/* ---- histograms ------------------------------------------------------------------------ */

#define NS_PER_S  1000000000LL
#define DECADE(x) (x), (x)*3 / 2, (x)*2, (x)*3, (x)*5, (x)*7

static const int64_t bounds_ns[METRICS_HIST_BOUNDS] = {500,
                                                       DECADE(1000LL),
                                                       DECADE(10000LL),
                                                       DECADE(100000LL),
                                                       DECADE(1000000LL),
                                                       DECADE(10000000LL),
                                                       DECADE(100000000LL),
                                                       DECADE(1000000000LL),
                                                       10 * NS_PER_S};

int64_t metrics_hist_bound_ns(int i)
{
    ASSERT(i >= 0 && i < METRICS_HIST_BOUNDS);
    return bounds_ns[i];
}

void metrics_hist_observe(struct metrics_hist *h, int64_t ns)
{
    if (ns < 0) ns = 0;
    int lo = 0, hi = METRICS_HIST_BOUNDS; /* the first bound >= ns; hi: +Inf */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (bounds_ns[mid] >= ns) hi = mid;
        else lo = mid + 1;
    }
    h->bucket[lo]++;
    h->count++;
    h->sum_ns += (uint64_t)ns;
}

double metrics_hist_quantile(const struct metrics_hist *h, double q)
{
    if (h->count == 0 || !(q >= 0 && q <= 1)) return NAN;
    double rank = q * (double)h->count;
    uint64_t below = 0; /* observations in the buckets before i */
    int i = 0;
    for (; i < METRICS_HIST_BOUNDS; i++) {
        uint64_t cum = below + h->bucket[i];
        if (h->bucket[i] && (double)cum >= rank) break;
        below = cum;
    }
    if (i == METRICS_HIST_BOUNDS) return (double)bounds_ns[METRICS_HIST_BOUNDS - 1];
    double lo = i ? (double)bounds_ns[i - 1] : 0, hi = (double)bounds_ns[i];
    double frac = (rank - (double)below) / (double)h->bucket[i];
    return lo + (hi - lo) * (frac < 0 ? 0 : frac);
}

void metrics_hist_diff(struct metrics_hist *out, const struct metrics_hist *now,
                       const struct metrics_hist *then)
{
    out->count = now->count - then->count;
    out->sum_ns = now->sum_ns - then->sum_ns;
    for (int i = 0; i <= METRICS_HIST_BOUNDS; i++)
        out->bucket[i] = now->bucket[i] - then->bucket[i];
}

/* ---- the text format ------------------------------------------------------------------- */

/* The shortest "%g" form of v that reads back as v (finite v); whole numbers below 1e15
 * without an exponent ("100", not "1e+02"). */
static const char *shortest(char *s, size_t n, double v)
{
    if (v == trunc(v) && fabs(v) < 1e15) {
        snprintf(s, n, "%.0f", v);
        return s;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(s, n, "%.*g", prec, v);
        if (strtod(s, NULL) == v) break;
    }
    return s;
}

void metrics_put_double(struct buf *b, double v)
{
    char s[40];
    if (isnan(v)) buf_puts(b, "NaN");
    else if (isinf(v)) buf_puts(b, v > 0 ? "+Inf" : "-Inf");
    else buf_puts(b, shortest(s, sizeof s, v));
}

/* Escapes backslash and newline, and the double quote when quote is set. */
static void put_escaped(struct buf *b, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\') buf_puts(b, "\\\\");
        else if (*s == '\n') buf_puts(b, "\\n");
        else if (*s == '"' && quote) buf_puts(b, "\\\"");
        else buf_putc(b, *s);
    }
}

void metrics_put_label_value(struct buf *b, const char *s)
{
    put_escaped(b, s ? s : "", 1);
}

void metrics_put_family(struct buf *b, const char *name, const char *type, const char *help)
{
    buf_printf(b, "# HELP %s ", name);
    put_escaped(b, help, 0);
    buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

static void put_name_labels(struct buf *b, const char *name, const char *suffix,
                            const struct metrics_label *ls, int nl)
{
    buf_puts(b, name);
    buf_puts(b, suffix);
    if (nl <= 0) return;
    buf_putc(b, '{');
    for (int i = 0; i < nl; i++) {
        buf_printf(b, "%s%s=\"", i ? "," : "", ls[i].name);
        metrics_put_label_value(b, ls[i].value);
        buf_putc(b, '"');
    }
    buf_putc(b, '}');
}

void metrics_put_sample(struct buf *b, const char *name, const struct metrics_label *ls, int nl,
                        double v)
{
    put_name_labels(b, name, "", ls, nl);
    buf_putc(b, ' ');
    metrics_put_double(b, v);
    buf_putc(b, '\n');
}

void metrics_put_count(struct buf *b, const char *name, const struct metrics_label *ls, int nl,
                       uint64_t v)
{
    put_name_labels(b, name, "", ls, nl);
    buf_printf(b, " %llu\n", (unsigned long long)v);
}

#define MAX_LABELS 8

void metrics_put_hist(struct buf *b, const char *name, const struct metrics_label *ls, int nl,
                      const struct metrics_hist *h)
{
    ASSERT(nl >= 0 && nl < MAX_LABELS);
    struct metrics_label with_le[MAX_LABELS];
    if (nl) memcpy(with_le, ls, (size_t)nl * sizeof *ls);
    char le[40];
    with_le[nl] = (struct metrics_label){"le", le};
    uint64_t cum = 0;
    for (int i = 0; i <= METRICS_HIST_BOUNDS; i++) {
        cum += h->bucket[i];
        if (i < METRICS_HIST_BOUNDS) shortest(le, sizeof le, (double)bounds_ns[i] / NS_PER_S);
        else util_strlcpy(le, "+Inf", sizeof le);
        put_name_labels(b, name, "_bucket", with_le, nl + 1);
        buf_printf(b, " %llu\n", (unsigned long long)cum);
    }
    put_name_labels(b, name, "_sum", ls, nl);
    buf_putc(b, ' ');
    metrics_put_double(b, (double)h->sum_ns / NS_PER_S);
    buf_putc(b, '\n');
    put_name_labels(b, name, "_count", ls, nl);
    buf_printf(b, " %llu\n", (unsigned long long)h->count);
}

/* ---- the metrics object and the loop-lag probe ---------------------------------------- */

#define RING          61 /* snapshots a second apart: a minute of history */
#define RATE_WINDOW_S 10
#define PERIOD_NS     ((int64_t)METRICS_LAG_PERIOD_MS * 1000000)

struct snapshot {
    int64_t at_ns;
    uint64_t events;
    int64_t lag_max_ns; /* the largest loop lag in the second before at_ns */
    struct metrics_hist lag, t2o;
};

struct metrics {
    struct host *h;
    struct event *lag_ev;
    int64_t due_ns; /* when the probe should fire */
    int primed;     /* the first firing (after start-up) is not a sample */
    int64_t lag_last_ns, lag_max_ns;
    struct metrics_hist lag, t2o;
    int64_t sent_ns; /* first venue send since the last tick; 0 = none */
    int64_t started_ns;
    uint64_t started_events;
    struct snapshot ring[RING];
    int head, n; /* ring[head] is the newest of n */
    int64_t next_snap_ns;
    /* orders by state: book indices below `scanned` are counted, the terminal ones in
     * `ended`, the others listed in `live` (re-read at every scrape) */
    int scanned;
    uint64_t ended[OS__COUNT];
    int *live;
    int nlive, caplive;
};

static void snapshot(struct metrics *m, int64_t now)
{
    m->head = (m->head + 1) % RING;
    if (m->n < RING) m->n++;
    struct snapshot *s = &m->ring[m->head];
    s->at_ns = now;
    s->events = bus_last_seq(m->h->bus);
    s->lag_max_ns = m->lag_max_ns;
    s->lag = m->lag;
    s->t2o = m->t2o;
    m->lag_max_ns = 0;
    m->next_snap_ns = now + NS_PER_S;
}

static void arm(struct metrics *m)
{
    static const struct timeval period = {0, METRICS_LAG_PERIOD_MS * 1000};
    event_base_update_cache_time(m->h->base);
    m->due_ns = mono_ns() + PERIOD_NS;
    evtimer_add(m->lag_ev, &period);
}

static void on_lag(evutil_socket_t fd, short what, void *arg)
{
    struct metrics *m = arg;
    int64_t now = mono_ns(), lag = MAX(now - m->due_ns, 0);
    if (m->primed) {
        metrics_hist_observe(&m->lag, lag);
        m->lag_last_ns = lag;
        m->lag_max_ns = MAX(m->lag_max_ns, lag);
    }
    m->primed = 1;
    if (now >= m->next_snap_ns) snapshot(m, now);
    arm(m);
}

struct metrics *metrics_new(struct host *h)
{
    ASSERT(h->base && h->bus);
    struct metrics *m = xcalloc(1, sizeof *m);
    m->h = h;
    m->started_ns = mono_ns();
    m->started_events = bus_last_seq(h->bus);
    m->next_snap_ns = m->started_ns + NS_PER_S;
    m->lag_ev = evtimer_new(h->base, on_lag, m);
    ASSERT(m->lag_ev);
    arm(m);
    return m;
}

void metrics_free(struct metrics *m)
{
    if (!m) return;
    event_free(m->lag_ev);
    free(m->live);
    free(m);
}

void metrics_order_sent(struct metrics *m)
{
    if (!m->sent_ns) m->sent_ns = mono_ns();
}

void metrics_tick_done(struct metrics *m, int64_t start_ns)
{
    if (m->sent_ns && m->sent_ns >= start_ns) metrics_hist_observe(&m->t2o, m->sent_ns - start_ns);
    m->sent_ns = 0;
}

void metrics_observe_tick_to_order(struct metrics *m, int64_t ns)
{
    metrics_hist_observe(&m->t2o, ns);
}

const struct metrics_hist *metrics_loop_lag(const struct metrics *m)
{
    return &m->lag;
}

const struct metrics_hist *metrics_tick_to_order(const struct metrics *m)
{
    return &m->t2o;
}

/* ---- the page -------------------------------------------------------------------------- */

static void put_host(struct metrics *m, struct buf *b)
{
    metrics_put_family(b, "luatrade_build_info", "gauge", "The running luatrade version.");
    metrics_put_sample(b, "luatrade_build_info",
                       &(struct metrics_label){"version", LUATRADE_VERSION}, 1, 1);
    metrics_put_family(b, "luatrade_uptime_seconds", "gauge", "Seconds since the host started.");
    metrics_put_sample(b, "luatrade_uptime_seconds", NULL, 0,
                       (double)(mono_ns() - m->started_ns) / NS_PER_S);
    metrics_put_family(b, "luatrade_events_total", "counter",
                       "Events published on the host's bus, by type.");
    for (int t = 0; t < EV__COUNT; t++)
        metrics_put_count(b, "luatrade_events_total",
                          &(struct metrics_label){"type", event_type_name(t)}, 1,
                          bus_count(m->h->bus, t));
}

static void put_strategies(struct metrics *m, struct buf *b)
{
    struct strategies *ss = m->h->strategies;
    int n = ss ? strategies_count(ss) : 0;
    metrics_put_family(b, "luatrade_strategy_callback_seconds", "histogram",
                       "Time of each call into a strategy instance's sandbox (callbacks, "
                       "declaration, start, reload).");
    for (int i = 0; i < n; i++) {
        struct strategy *st = strategies_at(ss, i);
        struct metrics_label l = {"strategy", strategy_id(st)};
        metrics_put_hist(b, "luatrade_strategy_callback_seconds", &l, 1, strategy_call_hist(st));
    }
    metrics_put_family(b, "luatrade_strategy_errors_total", "counter",
                       "Errors raised by a strategy instance's callbacks.");
    for (int i = 0; i < n; i++) {
        struct strategy *st = strategies_at(ss, i);
        metrics_put_count(b, "luatrade_strategy_errors_total",
                          &(struct metrics_label){"strategy", strategy_id(st)}, 1,
                          strategy_errors(st));
    }
    metrics_put_family(b, "luatrade_lua_memory_bytes", "gauge",
                       "Memory used by a strategy instance's Lua state (0 when not loaded).");
    for (int i = 0; i < n; i++) {
        struct strategy *st = strategies_at(ss, i);
        metrics_put_count(b, "luatrade_lua_memory_bytes",
                          &(struct metrics_label){"strategy", strategy_id(st)}, 1,
                          strategy_memory_used(st));
    }
    metrics_put_family(b, "luatrade_lua_memory_limit_bytes", "gauge",
                       "Memory limit of a strategy instance's Lua state.");
    for (int i = 0; i < n; i++) {
        struct strategy *st = strategies_at(ss, i);
        metrics_put_count(b, "luatrade_lua_memory_limit_bytes",
                          &(struct metrics_label){"strategy", strategy_id(st)}, 1,
                          strategy_memory_limit(st));
    }
}

static void live_push(struct metrics *m, int i)
{
    if (m->nlive == m->caplive) {
        m->caplive = m->caplive ? 2 * m->caplive : 64;
        m->live = xrealloc(m->live, (size_t)m->caplive * sizeof *m->live);
    }
    m->live[m->nlive++] = i;
}

/* Orders in the book by status (see the top of the file). */
static void count_orders(struct metrics *m, uint64_t out[OS__COUNT])
{
    struct order *const *all;
    int n = order_book_all(oms_book(m->h->oms), &all);
    ASSERT(n >= m->scanned); /* the book only grows */
    int kept = 0;
    for (int k = 0; k < m->nlive; k++) {
        const struct order *o = all[m->live[k]];
        if (order_status_terminal(o->status)) m->ended[o->status]++;
        else m->live[kept++] = m->live[k];
    }
    m->nlive = kept;
    for (int i = m->scanned; i < n; i++) {
        if (order_status_terminal(all[i]->status)) m->ended[all[i]->status]++;
        else live_push(m, i);
    }
    m->scanned = n;
    memcpy(out, m->ended, sizeof m->ended);
    for (int k = 0; k < m->nlive; k++) out[all[m->live[k]]->status]++;
}

static void put_orders(struct metrics *m, struct buf *b)
{
    if (!m->h->oms) return;
    uint64_t by_status[OS__COUNT];
    count_orders(m, by_status);
    metrics_put_family(b, "luatrade_orders", "gauge", "Orders in the order book, by state.");
    for (int s = 0; s < OS__COUNT; s++)
        metrics_put_count(b, "luatrade_orders",
                          &(struct metrics_label){"state", order_status_name(s)}, 1, by_status[s]);
    const struct risk *r = oms_risk(m->h->oms);
    metrics_put_family(b, "luatrade_risk_denials_total", "counter",
                       "Orders, cancels and replaces refused by the risk checks, by reason.");
    for (int why = RISK_OK + 1; why < RISK__COUNT; why++)
        metrics_put_count(b, "luatrade_risk_denials_total",
                          &(struct metrics_label){"reason", risk_reason_name(why)}, 1,
                          risk_denials(r, why));
    metrics_put_family(b, "luatrade_kill_switch_engaged", "gauge",
                       "1 while the kill switch is latched.");
    metrics_put_sample(b, "luatrade_kill_switch_engaged", NULL, 0, risk_killed(r) ? 1 : 0);
    struct journal *j = oms_journal(m->h->oms);
    if (!j) return;
    metrics_put_family(b, "luatrade_journal_commit_seconds", "histogram",
                       "Time of each journal group commit (copy and fdatasync).");
    metrics_put_hist(b, "luatrade_journal_commit_seconds", NULL, 0, journal_commit_hist(j));
}

static void put_loop(struct metrics *m, struct buf *b)
{
    metrics_put_family(b, "luatrade_tick_to_order_seconds", "histogram",
                       "From the start of a market event's handling to the venue submit of "
                       "the first order it caused.");
    metrics_put_hist(b, "luatrade_tick_to_order_seconds", NULL, 0, &m->t2o);
    metrics_put_family(b, "luatrade_loop_lag_seconds", "histogram",
                       "How late a 100 ms event-loop timer fired.");
    metrics_put_hist(b, "luatrade_loop_lag_seconds", NULL, 0, &m->lag);
    metrics_put_family(b, "luatrade_loop_lag_last_seconds", "gauge",
                       "How late the last 100 ms event-loop timer fired.");
    metrics_put_sample(b, "luatrade_loop_lag_last_seconds", NULL, 0,
                       (double)m->lag_last_ns / NS_PER_S);
}

static void put_http(struct metrics *m, struct buf *b)
{
    if (!m->h->http) return;
    struct http_stats s;
    http_stats(m->h->http, &s);
    metrics_put_family(b, "luatrade_http_requests_total", "counter", "HTTP requests received.");
    metrics_put_count(b, "luatrade_http_requests_total", NULL, 0, s.requests);
    metrics_put_family(b, "luatrade_http_errors_total", "counter",
                       "HTTP responses with an error status, by class.");
    metrics_put_count(b, "luatrade_http_errors_total", &(struct metrics_label){"class", "4xx"}, 1,
                      s.errors_4xx);
    metrics_put_count(b, "luatrade_http_errors_total", &(struct metrics_label){"class", "5xx"}, 1,
                      s.errors_5xx);
    metrics_put_family(b, "luatrade_http_rate_limited_total", "counter",
                       "HTTP requests refused by the per-client rate limit (429).");
    metrics_put_count(b, "luatrade_http_rate_limited_total", NULL, 0, s.rate_limited);
    metrics_put_family(b, "luatrade_http_unauthorized_total", "counter",
                       "HTTP requests refused for a missing or wrong token (401).");
    metrics_put_count(b, "luatrade_http_unauthorized_total", NULL, 0, s.unauthorized);
    metrics_put_family(b, "luatrade_http_connections", "gauge", "HTTP connections open now.");
    metrics_put_count(b, "luatrade_http_connections", NULL, 0, (uint64_t)MAX(s.conns, 0));
}

static void put_ws(struct metrics *m, struct buf *b)
{
    if (!m->h->ws) return;
    struct ws_stats s;
    ws_stats(m->h->ws, &s);
    metrics_put_family(b, "luatrade_ws_clients", "gauge", "WebSocket clients connected now.");
    metrics_put_count(b, "luatrade_ws_clients", NULL, 0, (uint64_t)MAX(s.clients, 0));
    metrics_put_family(b, "luatrade_ws_dropped_clients_total", "counter",
                       "WebSocket clients disconnected as slow consumers.");
    metrics_put_count(b, "luatrade_ws_dropped_clients_total", NULL, 0, s.dropped);
    metrics_put_family(b, "luatrade_ws_upgrades_total", "counter",
                       "WebSocket upgrade requests, by result.");
    metrics_put_count(b, "luatrade_ws_upgrades_total",
                      &(struct metrics_label){"result", "accepted"}, 1, s.accepted);
    metrics_put_count(b, "luatrade_ws_upgrades_total",
                      &(struct metrics_label){"result", "rejected"}, 1, s.rejected);
    metrics_put_family(b, "luatrade_ws_frames_sent_total", "counter",
                       "WebSocket text frames sent (events and replies).");
    metrics_put_count(b, "luatrade_ws_frames_sent_total", NULL, 0, s.frames_sent);
    metrics_put_family(b, "luatrade_ws_sent_bytes_total", "counter",
                       "Payload bytes of the WebSocket frames sent.");
    metrics_put_count(b, "luatrade_ws_sent_bytes_total", NULL, 0, s.bytes_sent);
    metrics_put_family(b, "luatrade_ws_frames_received_total", "counter",
                       "WebSocket messages received from clients.");
    metrics_put_count(b, "luatrade_ws_frames_received_total", NULL, 0, s.frames_recv);
    metrics_put_family(b, "luatrade_ws_queued_bytes", "gauge",
                       "Bytes waiting to be sent to WebSocket clients, over all sessions.");
    metrics_put_count(b, "luatrade_ws_queued_bytes", NULL, 0, s.queued_bytes);
}

void metrics_write_page(struct metrics *m, struct buf *out)
{
    put_host(m, out);
    put_strategies(m, out);
    put_orders(m, out);
    put_loop(m, out);
    put_http(m, out);
    put_ws(m, out);
}

/* ---- GET /api/stats -------------------------------------------------------------------- */

/* The snapshot k seconds back from the newest (k < m->n). */
static const struct snapshot *back(const struct metrics *m, int k)
{
    return &m->ring[(m->head - k + RING) % RING];
}

static void add_rounded(cJSON *o, const char *name, double v, double scale)
{
    if (isnan(v)) cJSON_AddNullToObject(o, name);
    else cJSON_AddNumberToObject(o, name, round(v / scale * 1000) / 1000);
}

static void add_quantiles(cJSON *o, const struct metrics_hist *h, double scale)
{
    add_rounded(o, "p50", metrics_hist_quantile(h, 0.5), scale);
    add_rounded(o, "p99", metrics_hist_quantile(h, 0.99), scale);
}

static double events_per_s(const struct metrics *m, int64_t now)
{
    int64_t at = m->started_ns;
    uint64_t events = m->started_events;
    if (m->n) {
        const struct snapshot *s = back(m, MIN(m->n, RATE_WINDOW_S) - 1);
        at = s->at_ns, events = s->events;
    }
    double dt = (double)(now - at) / NS_PER_S;
    return dt > 0 ? (double)(bus_last_seq(m->h->bus) - events) / dt : 0;
}

struct cJSON *metrics_summary_json(struct metrics *m)
{
    int64_t now = mono_ns();
    static const struct metrics_hist zero;
    const struct snapshot *base = m->n ? back(m, m->n - 1) : NULL; /* up to a minute back */
    struct metrics_hist t2o, lag;
    metrics_hist_diff(&t2o, &m->t2o, base ? &base->t2o : &zero);
    metrics_hist_diff(&lag, &m->lag, base ? &base->lag : &zero);
    int64_t lag_max = m->lag_max_ns;
    for (int k = 0; k < m->n - 1; k++) lag_max = MAX(lag_max, back(m, k)->lag_max_ns);

    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "events_per_s", round(events_per_s(m, now) * 10) / 10);
    cJSON_AddNumberToObject(o, "events_total", (double)bus_last_seq(m->h->bus));
    cJSON_AddNumberToObject(o, "uptime_s", round((double)(now - m->started_ns) / 1e6) / 1e3);
    double window = (double)(now - (base ? base->at_ns : m->started_ns)) / NS_PER_S;
    cJSON_AddNumberToObject(o, "window_s", round(window * 10) / 10);
    cJSON *t = cJSON_AddObjectToObject(o, "tick_to_order_us");
    add_quantiles(t, &t2o, 1e3);
    cJSON_AddNumberToObject(t, "count", (double)t2o.count);
    cJSON *l = cJSON_AddObjectToObject(o, "loop_lag_ms");
    add_quantiles(l, &lag, 1e6);
    add_rounded(l, "max", lag.count ? (double)lag_max : NAN, 1e6);
    add_rounded(l, "last", m->lag.count ? (double)m->lag_last_ns : NAN, 1e6);
    return o;
}
