/* fuzz_http.c: arbitrary bytes sent to the real HTTP server over a loopback socket:
 * evhttp's parser, then ours (Host and Origin checks, credentials, the route table with
 * :params, query integers, JSON bodies with the depth limit, the audit log, static files).
 *
 * One server lives for the whole run, with a known token so that inputs carrying it
 * reach the handlers (the dictionary has it). Per input: connect, send, half-close,
 * and run the loop until the server closes the connection (or 2 s pass). Checked for
 * every input: the server never crashes or leaks, and every reply it sends starts with
 * a status line. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "http.h"
#include "util.h"

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
    char dir[] = "/tmp/fuzz_http.XXXXXX";
    CHECK(mkdtemp(dir));
    base = event_base_new();
    static char var[64];
    memcpy(var, dir, sizeof dir);
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

struct client {
    int fd;
    size_t got;
    char first[16];
};

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct client *c = arg;
    char buf[4096];
    ssize_t n = what & EV_READ ? read(fd, buf, sizeof buf) : 0;
    if (n > 0) {
        size_t k = c->got < sizeof c->first ? MIN(sizeof c->first - c->got, (size_t)n) : 0;
        memcpy(c->first + c->got, buf, k);
        c->got += (size_t)n;
        return;
    }
    event_base_loopbreak(base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a new 127.x.y.z source address per input: closed connections linger in
     * TIME_WAIT, and one source address would run out of ports within a minute */
    static uint32_t n;
    struct client c = {.fd = socket(AF_INET, SOCK_STREAM, 0)};
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(0x7f000000u | (1 + (++n % 0xfffffeu)));
    CHECK(bind(c.fd, (struct sockaddr *)&src, sizeof src) == 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(http_port(server))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(c.fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    if (size) CHECK(write(c.fd, data, size) == (ssize_t)size);
    shutdown(c.fd, SHUT_WR);
    struct timeval limit = {2, 0};
    struct event *ev = event_new(base, c.fd, EV_READ | EV_PERSIST | EV_TIMEOUT, on_readable, &c);
    event_add(ev, &limit);
    event_base_dispatch(base);
    event_free(ev);
    close(c.fd);
    if (c.got >= 9) CHECK(!memcmp(c.first, "HTTP/", 5)); /* evhttp echoes the version */
    /* let the server notice the close and free the connection */
    event_base_loop(base, EVLOOP_NONBLOCK);
    return 0;
}
