/* metrics.h: the host's measurements, their Prometheus text exposition (GET /metrics,
 * docs/metrics.md) and the few figures the page shows (GET /api/stats).
 *
 * Latency histograms (struct metrics_hist) live inside the object they measure: each
 * strategy instance (every call into its sandboxes), the journal (group commit), and
 * the metrics object (loop lag, tick to order). They all share one set of bucket
 * bounds, 0.5 µs to 10 s at 1, 1.5, 2, 3, 5 and 7 per decade; observing is a binary
 * search and three additions, with no allocation and no lock (loop thread only).
 * Counts that modules already keep (events per type, risk denials, the order book,
 * sandbox memory, HTTP and WebSocket statistics) are read when the page is written, so
 * the hot paths carry nothing for them.
 *
 * The metrics object runs the loop-lag probe: a libevent timer every 100 ms records how
 * late it fired. Once a second it also keeps a snapshot (event count, loop-lag and
 * tick-to-order histograms) in a ring, so /api/stats reports rates and quantiles over
 * the last seconds rather than since start.
 *
 * Tick to order: host_publish_market reads mono_ns() at its start and calls
 * metrics_tick_done with it at its end; the order manager calls metrics_order_sent when
 * it hands a new order to the venue. The first send after the tick began is the sample;
 * a tick that sent nothing records nothing, and a send outside a tick (timers, REST) is
 * dropped at the next tick. */
#ifndef LUATRADE_METRICS_H
#define LUATRADE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct host;
struct http;
struct cJSON;

/* ---- histograms ------------------------------------------------------------------------ */

#define METRICS_HIST_BOUNDS 44

struct metrics_hist {
    uint64_t count;
    uint64_t sum_ns;
    uint64_t bucket[METRICS_HIST_BOUNDS + 1]; /* per bucket, not cumulative; the last is +Inf */
};

/* Upper bound of bucket i (0 <= i < METRICS_HIST_BOUNDS), in nanoseconds. */
int64_t metrics_hist_bound_ns(int i);
/* Records one duration (negative counts as 0). Allocates nothing. */
void metrics_hist_observe(struct metrics_hist *h, int64_t ns);
/* Estimated q-quantile (0 <= q <= 1) in nanoseconds, interpolated linearly inside the
 * bucket as Prometheus' histogram_quantile does (the highest finite bound when it falls
 * in +Inf). NaN when the histogram is empty. */
double metrics_hist_quantile(const struct metrics_hist *h, double q);
/* out = now - then: what was observed between two copies of one histogram. */
void metrics_hist_diff(struct metrics_hist *out, const struct metrics_hist *now,
                       const struct metrics_hist *then);

/* ---- the text format (0.0.4) ----------------------------------------------------------- */

struct metrics_label {
    const char *name;  /* a valid label name: [a-zA-Z_][a-zA-Z0-9_]* */
    const char *value; /* any text; escaped on output */
};

/* A double in the shortest form that reads back as the same value ("1.5e-06", "0.25");
 * "+Inf", "-Inf", "NaN". */
void metrics_put_double(struct buf *b, double v);
/* A label value with \ " and newline escaped, without the quotes. */
void metrics_put_label_value(struct buf *b, const char *s);
/* "# HELP name help" (help escaped) and "# TYPE name type". Once per family, before its
 * samples, which must follow together. */
void metrics_put_family(struct buf *b, const char *name, const char *type, const char *help);
/* One sample line: name{labels} value. */
void metrics_put_sample(struct buf *b, const char *name, const struct metrics_label *ls, int nl,
                        double v);
/* The same with an exact integer value (counters). */
void metrics_put_count(struct buf *b, const char *name, const struct metrics_label *ls, int nl,
                       uint64_t v);
/* A histogram's samples in seconds: name_bucket{labels,le="..."} (cumulative, +Inf last),
 * name_sum, name_count. */
void metrics_put_hist(struct buf *b, const char *name, const struct metrics_label *ls, int nl,
                      const struct metrics_hist *h);

/* ---- the host's metrics ---------------------------------------------------------------- */

struct metrics;

#define METRICS_LAG_PERIOD_MS 100

/* Creates the metrics of host h and starts the loop-lag probe on h->base (h->base and
 * h->bus must exist; everything else is read when a page is written and may be NULL or
 * come later). h must outlive the metrics. */
struct metrics *metrics_new(struct host *h);
/* Stops the probe and frees. NULL is a no-op. */
void metrics_free(struct metrics *m);

/* Tick to order (see above). start_ns: mono_ns() at the start of host_publish_market. */
void metrics_tick_done(struct metrics *m, int64_t start_ns);
void metrics_order_sent(struct metrics *m);
void metrics_observe_tick_to_order(struct metrics *m, int64_t ns);

/* The page of GET /metrics, appended to out (docs/metrics.md lists every family). */
void metrics_write_page(struct metrics *m, struct buf *out);
/* GET /api/stats: {"events_per_s", "events_total", "uptime_s",
 *   "tick_to_order_us": {"p50", "p99", "count"}, "loop_lag_ms": {"p50", "p99", "max",
 *   "last"}, "window_s"}: the rate over the last 10 s, quantiles and max over the last
 * 60 s (less just after start; null when nothing was observed). Caller owns the result. */
struct cJSON *metrics_summary_json(struct metrics *m);

/* rest_metrics.c: registers GET /metrics and GET /api/stats on s (token required) for
 * host h, whose h->metrics they read at request time. */
void rest_metrics_routes(struct http *s, struct host *h);

/* Read access for tests: the loop-lag and tick-to-order histograms since start. */
const struct metrics_hist *metrics_loop_lag(const struct metrics *m);
const struct metrics_hist *metrics_tick_to_order(const struct metrics *m);

#endif
