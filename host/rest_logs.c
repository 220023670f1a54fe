/* rest_logs.c: GET /api/logs, the log tail of the web page (log_ring.h).
 *
 *   GET /api/logs?since=N&limit=M&level=warn
 *   -> {"lines":[{"n":N,"level":"INFO","line":"2026-... INFO host ready ..."}],"last":N}
 *
 * since: lines numbered after N (0: the newest `limit`); level: the lowest level
 * returned. A client polls with since = the previous reply's "last". */
#include <cjson/cJSON.h>
#include <string.h>

#include "host.h"
#include "http.h"
#include "log_ring.h"
#include "rest.h"

struct collect {
    cJSON *arr;
    int min_level;
};

static void add_line(uint64_t n, enum log_level lvl, const char *line, void *arg)
{
    static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    struct collect *c = arg;
    if ((int)lvl < c->min_level) return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", (double)n);
    cJSON_AddStringToObject(o, "level", names[lvl]);
    cJSON_AddStringToObject(o, "line", line);
    cJSON_AddItemToArray(c->arr, o);
}

static void get_logs(struct http_req *r, void *arg)
{
    struct host *h = arg;
    int64_t since, limit;
    if (http_query_int(r, "since", 0, INT64_MAX, 0, &since) != 0 ||
        http_query_int(r, "limit", 1, 1000, 200, &limit) != 0)
        return;
    struct collect c = {cJSON_CreateArray(), LOG_DEBUG};
    const char *lv = http_query(r, "level");
    if (lv && (c.min_level = log_level_parse(lv)) < 0) {
        cJSON_Delete(c.arr);
        return http_reply_error(r, 400, "bad_request",
                                "query parameter level: expected debug, info, warn or error");
    }
    uint64_t last = log_ring_scan(h->logs, (uint64_t)since, (int)limit, add_line, &c);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddItemToObject(out, "lines", c.arr);
    cJSON_AddNumberToObject(out, "last", (double)last);
    http_reply_json(r, 200, out);
}

static const struct http_route routes[] = {
    {HTTP_GET, "/api/logs", get_logs, 0},
};

void rest_logs_routes(struct http *s, struct host *h)
{
    http_add_routes(s, routes, 1, h);
}
