/* ws.h: WebSocket sessions on /ws (DESIGN.md §9, docs/websocket.md): the event stream,
 * filtered by type and symbol, resumable by sequence number.
 *
 * The route is a normal authenticated HTTP_TAKEOVER route of the HTTP server, so the
 * server has checked Host, the token (cookie, Bearer or ?token=) and Origin before the
 * upgrade runs; ws checks the upgrade headers (400) and its client cap (503), answers
 * 101 and takes the connection over from evhttp. Each session reads the event log from
 * its own cursor; fan-out runs once per loop turn after events were published, never
 * inside bus dispatch. A client that does not keep up (its send queue stays over the
 * cap, or the events it still needs left the log) is closed with 1008 "slow consumer":
 * host memory stays flat whatever the clients do.
 *
 * Loop thread only. */
#ifndef LUATRADE_WS_H
#define LUATRADE_WS_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct http;
struct bus;
struct event_log;
struct instruments;
struct ws;

struct ws_config {
    int max_clients;     /* sessions at once; 503 beyond (default 128) */
    size_t max_msg;      /* bytes of a client message; larger: close 1009 (64 KiB) */
    size_t queue_max;    /* bytes waiting to be sent before a client counts as stalled
                            (1 MiB) */
    int stall_ms;        /* a client stalled this long is dropped (5000) */
    int ping_ms;         /* server ping interval (15000) */
    int pong_timeout_ms; /* nothing received for this long: close (30000) */
    int batch;           /* events written to one client per loop turn (1024) */
};

/* Fills every field left 0. */
void ws_config_defaults(struct ws_config *c);

/* Registers GET /ws on s and subscribes to bus (to learn that events arrived; their
 * JSON comes from log). log and ins must outlive the ws. cfg may be NULL (defaults). */
struct ws *ws_new(struct http *s, struct event_base *base, struct bus *bus, struct event_log *log,
                  const struct instruments *ins, const struct ws_config *cfg);
/* Closes every session (a best-effort close frame 1001) and frees. Must run before
 * http_free (sessions hold evhttp connections). NULL ok. */
void ws_free(struct ws *w);

struct ws_stats {
    int clients;          /* open sessions */
    uint64_t accepted;    /* upgrades answered 101 */
    uint64_t rejected;    /* upgrades refused (bad headers, client cap) */
    uint64_t dropped;     /* closed as slow consumers */
    uint64_t frames_sent; /* text frames (events and replies) */
    uint64_t bytes_sent;  /* their payload bytes */
    uint64_t frames_recv; /* client messages */
    size_t queued_bytes;  /* waiting to be sent, over all sessions */
};
void ws_stats(const struct ws *w, struct ws_stats *out);

#endif
