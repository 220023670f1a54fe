/* rest.h: the REST API (DESIGN.md §9; docs/api.md is the reference for users): JSON
 * routes over the host's modules, one route table per area, each registered by one
 * function. Handlers run on the loop thread outside any event dispatch and go through
 * the same functions as strategies and the console (oms_submit with strategy "manual"
 * and its risk checks, strategy_reload, oms_kill, ...): REST adds no trading logic of
 * its own, only input checks and JSON shapes.
 *
 * h must outlive the server; each function is called once, after h->oms, h->strategies
 * and h->events exist. */
#ifndef LUATRADE_REST_H
#define LUATRADE_REST_H

struct http;
struct host;

/* GET /health (public), /api/market-data/:symbol, /api/ohlcv/:symbol (rest_market.c) */
void rest_market_routes(struct http *s, struct host *h);
/* /api/strategies, /api/strategies/:id, .../start|stop|reload, .../params
 * (rest_strategies.c) */
void rest_strategies_routes(struct http *s, struct host *h);
/* /api/orders, /api/orders/:id, /api/positions, /api/portfolio (rest_orders.c) */
void rest_orders_routes(struct http *s, struct host *h);
/* /api/risk-checks, /api/limits, /api/kill (not rate limited), /api/alerts (rest_risk.c) */
void rest_risk_routes(struct http *s, struct host *h);
/* /api/events, /api/signals (rest_events.c) */
void rest_events_routes(struct http *s, struct host *h);

/* Frees what the routes keep between requests (h->rest_cache). */
void rest_free(struct host *h);

/* GET /api/logs: the log tail (rest_logs.c) */
void rest_logs_routes(struct http *s, struct host *h);

#endif
