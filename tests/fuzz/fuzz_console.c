/* fuzz_console.c: arbitrary bytes to the console's unix socket of a whole host: plain
 * lines (Lua chunks, incomplete ones, helpers that place orders, reload, kill, attach
 * to a strategy, tail), control lines ("\0eval N", "\0complete", "\0reset", "\0stop")
 * with any lengths, and anything else.
 *
 * LLVMFuzzerInitialize builds a host (fuzz_host.h: sim feed, a trading strategy, the
 * paper venue and journal in a scratch var directory) with the console on and short
 * budgets (a runaway chunk costs 20 ms, not 1 s). Each input is one
 * session: connect, send the bytes, half-close, run the loop until the host closes the
 * session. Checked for every input: the reply starts with the greeting, and every NUL
 * in the output is a well-formed terminator ("\0ok", "\0error" or "\0more", an optional
 * " CONTEXT", "\n") — script output can never forge one. */
#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "fuzz_host.h"

static char sock_path[108];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static char text[2048];
    snprintf(text, sizeof text,
             "return { clock = 'sim', journal = { sync = false },\n"
             "  feed = { symbols = { AAPL = { price = 190 }, MSFT = { price = 410 } } },\n"
             "  risk = { max_order_qty = 500, price_band_pct = 5 },\n"
             "  sandbox = { callback_ms = 5 },\n"
             "  strategies = { { script = '%s/strategies/sma_cross.lua', id = 'sma' } },\n"
             "  http = { enabled = false },\n"
             "  console = { budget = '20ms' } }\n",
             LUATRADE_SRC_DIR);
    fuzz_host_start("fuzz_console", text);
    snprintf(sock_path, sizeof sock_path, "%s/luatrade.sock", fuzz_cfg.var_dir);
    return 0;
}

struct reader {
    struct buf got;
};

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct reader *r = arg;
    char b[65536];
    ssize_t n = what & EV_READ ? read(fd, b, sizeof b) : 0;
    if (n > 0) {
        buf_put(&r->got, b, (size_t)n);
        return;
    }
    event_base_loopbreak(fuzz_host.base);
}

/* Every NUL starts "ok", "error" or "more", then " CONTEXT" or nothing, then "\n". */
static void check_terminators(const char *p, size_t n)
{
    for (const char *q = p; (q = memchr(q, 0, (size_t)(p + n - q))); q++) {
        const char *end = memchr(q, '\n', (size_t)(p + n - q));
        CHECK(end);
        size_t k = strcspn(q + 1, " \n");
        CHECK((k == 2 && !memcmp(q + 1, "ok", 2)) || (k == 5 && !memcmp(q + 1, "error", 5)) ||
              (k == 4 && !memcmp(q + 1, "more", 4)));
    }
}

static void write_all(int fd, const uint8_t *data, size_t size)
{
    for (size_t off = 0; off < size;) {
        ssize_t w = write(fd, data + off, size - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) { /* the host reads only while it runs */
            event_base_loop(fuzz_host.base, EVLOOP_NONBLOCK);
            continue;
        }
        if (w <= 0) return; /* the host closed the session (a line too long) */
        off += (size_t)w;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    util_strlcpy(sa.sun_path, sock_path, sizeof sa.sun_path);
    CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    event_base_loop(fuzz_host.base, EVLOOP_NONBLOCK); /* accept */
    write_all(fd, data, size);
    shutdown(fd, SHUT_WR);
    struct reader r = {BUF_INIT};
    struct timeval limit = {5, 0};
    struct event *ev =
        event_new(fuzz_host.base, fd, EV_READ | EV_PERSIST | EV_TIMEOUT, on_readable, &r);
    event_add(ev, &limit);
    event_base_dispatch(fuzz_host.base);
    event_free(ev);
    close(fd);
    CHECK(r.got.len >= 9 && !memcmp(r.got.p, "luatrade ", 9));
    check_terminators(r.got.p, r.got.len);
    buf_free(&r.got);
    event_base_loop(fuzz_host.base, EVLOOP_NONBLOCK); /* the host notices the close */
    fuzz_host_feed(20);
    return 0;
}
