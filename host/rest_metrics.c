/* rest_metrics.c: GET /metrics (the Prometheus text exposition, format 0.0.4) and
 * GET /api/stats (event rate, tick-to-order and loop-lag figures for the page), both
 * written by metrics.c from what the host holds in memory.
 *
 * Both need the token like every route but /health: a scraper sends
 * `Authorization: Bearer TOKEN` (Prometheus: `authorization: {credentials_file: ...}`
 * pointing at var/http.token). Both are GETs, so nothing is audited. The page buffer is
 * built per request; a scrape is rare next to the loop's other work. A host without
 * metrics (h->metrics NULL) answers 503. */
#include <stdlib.h>

#include "host.h"
#include "http.h"
#include "metrics.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static int have_metrics(struct http_req *r, struct host *h)
{
    if (h->metrics) return 1;
    http_reply_error(r, 503, "unavailable", "metrics are not collected by this host");
    return 0;
}

static void get_metrics(struct http_req *r, void *arg)
{
    struct host *h = arg;
    if (!have_metrics(r, h)) return;
    struct buf page = BUF_INIT;
    metrics_write_page(h->metrics, &page);
    http_reply_text(r, 200, CONTENT_TYPE, page.p, page.len);
    buf_free(&page);
}

static void get_stats(struct http_req *r, void *arg)
{
    struct host *h = arg;
    if (!have_metrics(r, h)) return;
    http_reply_json(r, 200, metrics_summary_json(h->metrics));
}

static const struct http_route routes[] = {
    {HTTP_GET, "/metrics", get_metrics, 0},
    {HTTP_GET, "/api/stats", get_stats, 0},
};

void rest_metrics_routes(struct http *s, struct host *h)
{
    http_add_routes(s, routes, (int)(sizeof routes / sizeof routes[0]), h);
}
