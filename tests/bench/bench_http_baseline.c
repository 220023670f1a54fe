/* bench_http_baseline.c: the baseline server of bench_http.py: a minimal plain-C
 * libevent evhttp server that answers every request with the same bytes the host
 * gave for GET /api/portfolio, on loopback.
 *
 * It does what any evhttp server must do per request and nothing else: evhttp parses
 * the request, one generic callback adds the host's three response headers
 * (Content-Type, Cache-Control, X-Content-Type-Options; evhttp adds Date and
 * Content-Length like it does for the host) and sends the body from memory. No
 * routing, no Host/Origin/token checks, no rate limit, no JSON building, and no event
 * feed sharing its loop: the ratio host / baseline under the same wrk is what the
 * host's HTTP stack, the route and the 200,000 ticks/s on the same thread cost.
 *
 * Usage: bench_http_baseline BODY_FILE SECONDS
 * Binds 127.0.0.1 on a free port, prints "listening port=N" on stdout (flushed),
 * serves for SECONDS (so it always stops by itself, also when its parent died), then
 * prints "served requests=N" and exits 0. Exit 2 on a usage or setup error. */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

struct baseline {
    char *body;
    size_t len;
    unsigned long requests;
};

static void on_request(struct evhttp_request *req, void *arg)
{
    struct baseline *b = arg;
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Content-Type", "application/json");
    evhttp_add_header(out, "Cache-Control", "no-store");
    evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add(buf, b->body, b->len);
    evhttp_send_reply(req, 200, "OK", buf);
    evbuffer_free(buf);
    b->requests++;
}

static int read_body(const char *path, struct baseline *b)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    b->body = malloc(1 << 20);
    b->len = b->body ? fread(b->body, 1, 1 << 20, f) : 0;
    fclose(f);
    return b->len > 0 ? 0 : -1;
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
    event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
    struct baseline b = {0};
    long seconds = argc == 3 ? strtol(argv[2], NULL, 10) : 0;
    if (seconds <= 0 || read_body(argv[1], &b) != 0) {
        fprintf(stderr,
                "usage: bench_http_baseline BODY_FILE SECONDS (a readable, non-empty file)\n");
        return 2;
    }
    struct event_base *base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    evhttp_set_gencb(http, on_request, &b);
    struct evhttp_bound_socket *sock = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    if (!sock) {
        fprintf(stderr, "bench_http_baseline: cannot bind 127.0.0.1\n");
        return 2;
    }
    struct sockaddr_storage ss;
    ev_socklen_t slen = sizeof ss;
    getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &slen);
    printf("listening port=%d\n", ntohs(((struct sockaddr_in *)&ss)->sin_port));
    fflush(stdout);
    struct timeval tv = {seconds, 0};
    struct event *done = evtimer_new(base, on_done, base);
    evtimer_add(done, &tv);
    event_base_dispatch(base);
    printf("served requests=%lu\n", b.requests);
    event_free(done);
    evhttp_free(http);
    event_base_free(base);
    free(b.body);
    return 0;
}
