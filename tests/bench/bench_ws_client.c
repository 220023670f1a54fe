/* bench_ws_client.c: N WebSocket clients in one thread (epoll), each subscribed to every
 * event, measuring per-client lag (receive time minus the event's `ts`) for bench_ws.py.
 * The same measurements and the same JSON as bench_ws_client.mjs, for loads where one
 * Node process cannot read 100 copies of every event (about 3 us a frame there).
 *
 * Usage: bench_ws_client PORT TOKEN CLIENTS WARMUP_S SECONDS [SUBSCRIBE_JSON]
 * (127.0.0.1 only; TOKEN "-" sends no Authorization header.)
 *
 * Protocol: each client sends the upgrade request, waits for "101", then sends the
 * subscribe message as a masked text frame. Server frames are unmasked (RFC 6455
 * 5.1), so the reader parses them straight out of its buffer: text frames starting
 * `{"seq":` are events (seq and ts are read from the raw bytes, no JSON parse), other
 * text frames are replies (hello, subscribed); a ping is answered with a pong; a close
 * frame records its code and reason (1008 "slow consumer" is the host dropping us). No
 * fragmented or compressed frames: neither server sends them.
 *
 * Timing: one CLOCK_REALTIME read per read() (every frame in that read arrived then);
 * ts is the sender's wall clock on the same machine. After WARMUP_S it prints
 * "measuring" and measures SECONDS in four quarters: per client and quarter a
 * histogram of lag (buckets 2 % wide) and a count, and over the whole window one
 * histogram per kind of event: MARKET_DATA (recognised by the frame's "type" right after
 * its seq) and every other type, so a conflated stream's ticks and its orders and fills
 * are told apart. Then it prints "measured", closes
 * every connection cleanly (close frame 1000, then reads until the server closes, at
 * most 5 s), prints one JSON line and exits 0; it always stops by itself. Exit 2 on a
 * usage or connection error. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define QUARTERS 4
#define NBUCKETS 1200
#define BUF_SIZE (256 * 1024)

struct client {
    int fd, i;
    uint8_t *buf;
    size_t len;
    uint64_t last_seq, first_seq, last_measured_seq;
    uint64_t events, gaps, dup, negative, warm_events;
    uint64_t counts[QUARTERS];
    uint32_t hist[QUARTERS][NBUCKETS];
    uint64_t kind_counts[2]; /* 0: MARKET_DATA, 1: the others */
    uint32_t kind_hist[2][NBUCKETS];
    int subscribed, close_code;
    double closed_at_ms;
    char close_reason[64];
};

static int64_t t0_us;         /* start of the measured window; 0 while warming up */
static int64_t planned_t0_us; /* when it is due to start (close times are relative to it) */
static int ended;             /* the window is over: we close, nothing more is recorded */
static int64_t measure_us;    /* its length */
static char ts_prefix[20];    /* "YYYY-MM-DDTHH:MM:SS" of the last ts parsed */
static int64_t ts_prefix_us;

static int64_t realtime_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int bucket_of(double us)
{
    if (us < 1) return 0;
    int b = 1 + (int)floor(log(us) / log(1.02));
    return b < NBUCKETS ? b : NBUCKETS - 1;
}

static double bucket_upper_ms(int b)
{
    return (b == 0 ? 1 : exp(b * log(1.02))) / 1000;
}

/* ts "2026-11-21T10:44:10.141620Z" at p (within end) -> microseconds since the epoch. */
static int64_t ts_us(const uint8_t *p, const uint8_t *end)
{
    if (end - p < 20) return 0;
    if (memcmp(p, ts_prefix, 19) != 0) {
        struct tm tm = {0};
        memcpy(ts_prefix, p, 19);
        if (sscanf(ts_prefix, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                   &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
            return 0;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        ts_prefix_us = (int64_t)timegm(&tm) * 1000000;
    }
    int64_t frac = 0;
    int digits = 0;
    for (p += 20; p < end && *p >= '0' && *p <= '9'; p++, digits++) frac = frac * 10 + *p - '0';
    for (; digits < 6; digits++) frac *= 10;
    for (; digits > 6; digits--) frac /= 10;
    return ts_prefix_us + frac;
}

static void on_event(struct client *c, const uint8_t *p, size_t n, int64_t now)
{
    const uint8_t *end = p + n;
    uint64_t seq = 0;
    const uint8_t *q = p + 7;
    for (; q < end && *q >= '0' && *q <= '9'; q++) seq = seq * 10 + *q - '0';
    static const char md[] = ",\"type\":\"MARKET_DATA\"";
    int other = end - q < (ptrdiff_t)sizeof md - 1 || memcmp(q, md, sizeof md - 1) != 0;
    if (c->last_seq && seq != c->last_seq + 1) {
        if (seq <= c->last_seq) c->dup++;
        else c->gaps += seq - c->last_seq - 1;
    }
    c->last_seq = seq;
    if (!t0_us) {
        c->warm_events++;
        return;
    }
    int64_t el = now - t0_us;
    if (el >= measure_us) return;
    if (!c->first_seq) c->first_seq = seq;
    const uint8_t *t = memmem(p, n, "\"ts\":\"", 6);
    int64_t lag = t ? now - ts_us(t + 6, end) : 0;
    if (lag < 0) {
        c->negative++;
        lag = 0;
    }
    int quarter = (int)(el * QUARTERS / measure_us), b = bucket_of((double)lag);
    c->hist[quarter][b]++;
    c->counts[quarter]++;
    c->kind_hist[other][b]++;
    c->kind_counts[other]++;
    c->events++;
    c->last_measured_seq = seq;
}

/* A masked frame from the client (mask 0: the payload goes as is). */
static void send_frame(int fd, int opcode, const void *p, size_t n)
{
    uint8_t h[8] = {(uint8_t)(0x80 | opcode), (uint8_t)(0x80 | n), 0, 0, 0, 0};
    size_t hl = 6;
    if (n >= 126) {
        h[1] = 0x80 | 126;
        h[2] = (uint8_t)(n >> 8);
        h[3] = (uint8_t)n;
        hl = 8;
    }
    if (write(fd, h, hl) != (ssize_t)hl || write(fd, p, n) != (ssize_t)n)
        fprintf(stderr, "bench_ws_client: short write\n");
}

static void on_frame(struct client *c, int op, const uint8_t *p, size_t n, int64_t now)
{
    if (op == 1 && n > 8 && memcmp(p, "{\"seq\":", 7) == 0) {
        on_event(c, p, n, now);
    } else if (op == 1) {
        if (memmem(p, n, "\"subscribed\"", 12)) c->subscribed = 1;
    } else if (op == 9) {
        send_frame(c->fd, 0xA, p, n);
    } else if (op == 8 && !c->close_code && !ended) {
        c->close_code = n >= 2 ? p[0] << 8 | p[1] : 1005;
        snprintf(c->close_reason, sizeof c->close_reason, "%.*s", n > 2 ? (int)(n - 2) : 0, p + 2);
        c->closed_at_ms = (now - planned_t0_us) / 1e3;
    }
}

/* Parses every whole frame in c->buf; keeps the partial tail. */
static void parse(struct client *c, int64_t now)
{
    size_t at = 0;
    while (c->len - at >= 2) {
        const uint8_t *h = c->buf + at;
        size_t n = h[1] & 0x7f, hl = 2;
        if (n == 126) {
            if (c->len - at < 4) break;
            n = (size_t)h[2] << 8 | h[3];
            hl = 4;
        } else if (n == 127) {
            if (c->len - at < 10) break;
            n = 0;
            for (int k = 2; k < 10; k++) n = n << 8 | h[k];
            hl = 10;
        }
        if (n > BUF_SIZE - 16) {
            fprintf(stderr, "bench_ws_client: frame of %zu bytes\n", n);
            exit(2);
        }
        if (c->len - at < hl + n) break;
        on_frame(c, h[0] & 0x0f, h + hl, n, now);
        at += hl + n;
    }
    memmove(c->buf, c->buf + at, c->len - at);
    c->len -= at;
}

static int connect_client(struct client *c, int port, const char *token, const char *sub)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) return -1;
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s%s%s\r\n",
                     port, strcmp(token, "-") ? "Authorization: Bearer " : "",
                     strcmp(token, "-") ? token : "", strcmp(token, "-") ? "\r\n" : "");
    if (write(c->fd, req, (size_t)n) != n) return -1;
    /* read the 101 response byte by byte: nothing after it may be consumed here */
    char resp[1024];
    size_t len = 0;
    while (len < sizeof resp - 1 && read(c->fd, resp + len, 1) == 1) {
        resp[++len] = 0;
        if (len >= 4 && memcmp(resp + len - 4, "\r\n\r\n", 4) == 0) break;
    }
    if (strncmp(resp, "HTTP/1.1 101", 12) != 0) {
        fprintf(stderr, "bench_ws_client: upgrade refused: %.80s\n", resp);
        return -1;
    }
    send_frame(c->fd, 1, sub, strlen(sub));
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    return 0;
}

/* The q-quantile (upper bucket bound, ms) of a histogram of n values. */
static double hist_quantile_ms(const uint32_t *hist, uint64_t n, double q)
{
    uint64_t acc = 0;
    if (!n) return NAN;
    for (int b = 0; b < NBUCKETS; b++) {
        acc += hist[b];
        if (acc >= q * (double)n) return bucket_upper_ms(b);
    }
    return NAN;
}

static double quantile_ms(const struct client *c, int from, int to, double q)
{
    uint64_t n = 0, acc = 0;
    for (int k = from; k < to; k++) n += c->counts[k];
    if (!n) return NAN;
    for (int b = 0; b < NBUCKETS; b++) {
        for (int k = from; k < to; k++) acc += c->hist[k][b];
        if (acc >= q * (double)n) return bucket_upper_ms(b);
    }
    return NAN;
}

static void print_num(const char *key, double v, const char *sep)
{
    if (isnan(v)) printf("\"%s\":null%s", key, sep);
    else printf("\"%s\":%.6g%s", key, v, sep);
}

static void report(const struct client *c)
{
    double s = measure_us / 1e6;
    printf("{\"i\":%d,\"events\":%llu,", c->i, (unsigned long long)c->events);
    print_num("events_per_s", c->events / s, ",");
    print_num("published_per_s",
              c->first_seq ? (double)(c->last_measured_seq - c->first_seq + 1) / s : 0, ",");
    print_num("p50_ms", quantile_ms(c, 0, QUARTERS, 0.5), ",");
    print_num("p99_ms", quantile_ms(c, 0, QUARTERS, 0.99), ",");
    print_num("max_ms", quantile_ms(c, 0, QUARTERS, 1), ",");
    printf("\"md_events\":%llu,\"other_events\":%llu,", (unsigned long long)c->kind_counts[0],
           (unsigned long long)c->kind_counts[1]);
    print_num("md_p50_ms", hist_quantile_ms(c->kind_hist[0], c->kind_counts[0], 0.5), ",");
    print_num("md_p99_ms", hist_quantile_ms(c->kind_hist[0], c->kind_counts[0], 0.99), ",");
    print_num("other_p50_ms", hist_quantile_ms(c->kind_hist[1], c->kind_counts[1], 0.5), ",");
    print_num("other_p99_ms", hist_quantile_ms(c->kind_hist[1], c->kind_counts[1], 0.99), ",");
    printf("\"quarters\":[");
    for (int k = 0; k < QUARTERS; k++) {
        printf("{\"n\":%llu,", (unsigned long long)c->counts[k]);
        print_num("p50_ms", quantile_ms(c, k, k + 1, 0.5), ",");
        print_num("p99_ms", quantile_ms(c, k, k + 1, 0.99), k < QUARTERS - 1 ? "}," : "}");
    }
    printf("],\"gaps\":%llu,\"dup\":%llu,\"negative\":%llu,\"warm_events\":%llu,"
           "\"subscribed\":%s,\"error\":null,\"closed\":",
           (unsigned long long)c->gaps, (unsigned long long)c->dup, (unsigned long long)c->negative,
           (unsigned long long)c->warm_events, c->subscribed ? "true" : "false");
    if (c->close_code)
        printf("{\"code\":%d,\"reason\":\"%s\",\"atMs\":%.1f}}", c->close_code, c->close_reason,
               c->closed_at_ms);
    else printf("null}");
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void on_readable(struct client *c)
{
    for (;;) {
        ssize_t r = read(c->fd, c->buf + c->len, BUF_SIZE - c->len);
        if (r <= 0) {
            if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                if (!c->close_code && !ended) c->close_code = 1006; /* gone, no close frame */
                close(c->fd);
                c->fd = -1;
            }
            return;
        }
        c->len += (size_t)r;
        parse(c, realtime_us());
    }
}

/* Reads whatever arrives until `until` (realtime us) or, when closing, until every
 * client is gone. */
static void pump(int ep, struct client *cs, int n, int64_t until, int closing)
{
    struct epoll_event evs[128];
    for (int64_t now = realtime_us(); now < until; now = realtime_us()) {
        int k = epoll_wait(ep, evs, 128, 10);
        for (int j = 0; j < k; j++) {
            struct client *c = evs[j].data.ptr;
            if (c->fd >= 0) on_readable(c); /* close() also leaves the epoll set */
        }
        int open = 0;
        for (int i = 0; i < n; i++) open += cs[i].fd >= 0;
        if (closing && !open) return;
    }
}

static void run(struct client *cs, int n, int64_t warmup_us)
{
    int ep = epoll_create1(0);
    for (int i = 0; i < n; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    planned_t0_us = realtime_us() + warmup_us;
    pump(ep, cs, n, planned_t0_us, 0);
    t0_us = realtime_us();
    printf("measuring\n");
    fflush(stdout);
    double cpu0 = cpu_s();
    pump(ep, cs, n, t0_us + measure_us, 0);
    double cpu_pct = 100 * (cpu_s() - cpu0) / (measure_us / 1e6);
    ended = 1;
    printf("measured\n");
    fflush(stdout);
    /* a clean close (1000), then read until the server closes: a client that just
     * exits with unread data makes the kernel reset the connection */
    static const uint8_t bye[2] = {1000 >> 8, 1000 & 0xff};
    for (int i = 0; i < n; i++)
        if (cs[i].fd >= 0) send_frame(cs[i].fd, 8, bye, sizeof bye);
    pump(ep, cs, n, realtime_us() + 5000000, 1);
    printf("{\"clients\":[");
    for (int i = 0; i < n; i++) {
        report(&cs[i]);
        if (i < n - 1) printf(",");
    }
    printf("],\"client_cpu_pct\":%.1f,\"clock_skew_ms\":0}\n", cpu_pct);
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: bench_ws_client PORT TOKEN CLIENTS WARMUP_S SECONDS [SUBSCRIBE]\n");
        return 2;
    }
    int port = atoi(argv[1]), n = atoi(argv[3]);
    const char *sub = argc > 6 ? argv[6] : "{\"op\":\"subscribe\",\"types\":[],\"symbols\":[]}";
    measure_us = (int64_t)(atof(argv[5]) * 1e6);
    struct client *cs = calloc((size_t)n, sizeof *cs);
    for (int i = 0; i < n; i++) {
        cs[i].i = i;
        cs[i].buf = malloc(BUF_SIZE);
        if (connect_client(&cs[i], port, argv[2], sub) != 0) {
            fprintf(stderr, "bench_ws_client: client %d could not connect to port %d\n", i, port);
            return 2;
        }
    }
    run(cs, n, (int64_t)(atof(argv[4]) * 1e6));
    return 0;
}
