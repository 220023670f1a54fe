/* fuzz_http_client.h: one fuzz input sent to an HTTP server on the same event loop, for
 * fuzz_http (the server alone) and fuzz_rest (a whole host): connect over loopback,
 * send the bytes, half-close, and run the loop until the server closes the connection
 * (or 2 s pass). Each input comes from a new 127.x.y.z source address: closed
 * connections linger in TIME_WAIT, and one address would run out of ports within a
 * minute. Checked for every input: a reply starts with a status line. */
#ifndef LUATRADE_FUZZ_HTTP_CLIENT_H
#define LUATRADE_FUZZ_HTTP_CLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_common.h"

struct fuzz_client {
    struct event_base *base;
    size_t got;
    char first[16];
};

static void fuzz_client_readable(evutil_socket_t fd, short what, void *arg)
{
    struct fuzz_client *c = arg;
    char buf[4096];
    ssize_t n = what & EV_READ ? read(fd, buf, sizeof buf) : 0;
    if (n > 0) {
        size_t room = c->got < sizeof c->first ? sizeof c->first - c->got : 0;
        if (room) memcpy(c->first + c->got, buf, room < (size_t)n ? room : (size_t)n);
        c->got += (size_t)n;
        return;
    }
    event_base_loopbreak(c->base);
}

static char fuzz_scratch[64];

static int fuzz_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void fuzz_scratch_remove(void)
{
    nftw(fuzz_scratch, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A scratch directory for the server's token, audit log and journal, removed at exit.
 * Returns its path. */
static inline const char *fuzz_scratch_dir(const char *name)
{
    snprintf(fuzz_scratch, sizeof fuzz_scratch, "/tmp/%s.XXXXXX", name);
    CHECK(mkdtemp(fuzz_scratch));
    atexit(fuzz_scratch_remove);
    return fuzz_scratch;
}

/* A connect that libFuzzer's SIGALRM (its -timeout clock) cannot break: non-blocking,
 * then poll for the outcome. */
static inline void fuzz_connect(int fd, const struct sockaddr_in *sa)
{
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) != 0) {
        CHECK(errno == EINPROGRESS);
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        while (poll(&p, 1, -1) < 0) CHECK(errno == EINTR);
        int err = 0;
        socklen_t len = sizeof err;
        CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0);
        if (err) {
            fprintf(stderr, "fuzz_http_send: connect: %s\n", strerror(err));
            abort();
        }
    }
    fcntl(fd, F_SETFL, fl);
}

static inline void fuzz_http_send(struct event_base *base, int port, const uint8_t *data,
                                  size_t size)
{
    static uint32_t n;
    struct fuzz_client c = {.base = base};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(0x7f000000u | (1 + (++n % 0xfffffeu)));
    int one = 1; /* the port is chosen at connect, for the whole 4-tuple */
    CHECK(setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) == 0);
    CHECK(bind(fd, (struct sockaddr *)&src, sizeof src) == 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fuzz_connect(fd, &sa);
    for (size_t off = 0; off < size;) {
        ssize_t w = write(fd, data + off, size - off);
        if (w < 0 && errno == EINTR) continue;
        CHECK(w > 0);
        off += (size_t)w;
    }
    shutdown(fd, SHUT_WR);
    struct timeval limit = {2, 0};
    struct event *ev =
        event_new(base, fd, EV_READ | EV_PERSIST | EV_TIMEOUT, fuzz_client_readable, &c);
    event_add(ev, &limit);
    event_base_dispatch(base);
    event_free(ev);
    close(fd);
    if (c.got >= 9) CHECK(!memcmp(c.first, "HTTP/", 5)); /* evhttp echoes the version */
    /* let the server notice the close and free the connection */
    event_base_loop(base, EVLOOP_NONBLOCK);
}

#endif
