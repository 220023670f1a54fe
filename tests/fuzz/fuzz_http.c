/* fuzz_http.c: arbitrary bytes sent to the real HTTP server over a loopback socket:
 * evhttp's parser, then ours (Host and Origin checks, credentials, the route table with
 * :params, query integers, JSON bodies with the depth limit, the audit log, static files).
 *
 * One server lives for the whole run, with a known token so that inputs carrying it
 * reach the handlers (the dictionary has it); inputs go through fuzz_http_client.h.
 * Checked for every input: the server never crashes or leaks, and every reply it sends
 * starts with a status line. */
#include <cjson/cJSON.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "fuzz_http_client.h"
#include "http.h"

#define TOKEN "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz"

static struct event_base *base;
static struct http *server;

static void echo(struct http_req *r, void *arg)
{
    cJSON *body = http_body_json(r, 1);
    if (!body) return;
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "id", http_param(r, "id"));
    cJSON_AddItemToObject(out, "body", cJSON_Duplicate(body, 1));
    http_audit_note(r, "id=%s", http_param(r, "id"));
    http_reply_json(r, 201, out);
}

static void query(struct http_req *r, void *arg)
{
    int64_t n;
    if (http_query_int(r, "limit", 1, 1000, 10, &n) != 0) return;
    const char *s = http_query(r, "s");
    http_reply_error(r, 409, "conflict", "n=%lld s=%s", (long long)n, s ? s : "-");
}

static const struct http_route routes[] = {
    {HTTP_POST | HTTP_PUT | HTTP_PATCH, "/api/echo/:id", echo, 0},
    {HTTP_GET, "/api/q/:a/:b", query, 0},
    {HTTP_GET, "/health", query, HTTP_PUBLIC},
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_stderr(0);
    const char *var = fuzz_scratch_dir("fuzz_http");
    base = event_base_new();
    struct http_config c = {.listen = "127.0.0.1:0",
                            .token = TOKEN,
                            .var_dir = var,
                            .web_dir = var,
                            .vendor_dir = var,
                            .max_body = 8192};
    struct err e;
    server = http_new(base, &c, &e);
    CHECK(server);
    http_add_routes(server, routes, 3, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_http_send(base, http_port(server), data, size);
    return 0;
}
