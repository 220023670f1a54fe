/* ws.c: WebSocket sessions on /ws (ws.h): the upgrade, one wslay server context per
 * connection, subscriptions, and fan-out from the event log.
 *
 * Upgrade: GET /ws is an authenticated HTTP_TAKEOVER route, so the HTTP server already
 * checked Host, token and Origin. on_upgrade checks the WebSocket headers and the
 * client cap, then takes the connection over from evhttp (notes/libraries.md §1): it
 * clears evhttp's timeouts, sets its own callbacks on the connection's bufferevent,
 * writes the 101 itself and never replies to the request; evhttp_connection_free ends
 * the session (the server's close callback then uncounts the connection).
 *
 * Frames: wslay reads every frame (masking, fragmentation, UTF-8 of text, ping/pong,
 * close, the size cap -> 1009) and writes the control frames. Text frames (events and
 * replies) are written straight into the bufferevent with ws_frame_header: wslay would
 * copy each into its own queue first. The two never interleave: wslay writes only
 * inside wslay_event_send, which always finishes (its send callback takes everything).
 *
 * Fan-out: the bus subscription only makes flush_ev active; on_flush then runs once per
 * loop turn, after the events of that turn were published, and lets each streaming
 * session scan the event log from its cursor (last seq sent) through its filter, up to
 * cfg.batch events or until its send queue (the bufferevent's output) reaches
 * cfg.queue_max. A session over the cap waits for its socket to drain (write callback
 * at half the cap). It is dropped, close 1008 "slow consumer", when it stays over the
 * cap for cfg.stall_ms, or when the log no longer holds the events after its cursor:
 * so per-client memory is bounded by the cap, whatever the client does. The sessions
 * that take every event are usually all at the same cursor: a flush builds their
 * frames once (shared_run) and adds them to each one's output by reference, so the
 * bytes are copied once per flush, not once per session (what is left per session is
 * the kernel's send).
 *
 * Conflation (a subscription's conflate_ms): the session's market data goes out in
 * rounds, at the multiples of its interval (ws_round_next; a timer, round_ev, wakes
 * the flush for the earliest). A round sends, in seq order, every non-market event
 * since the cursor and, per (symbol, kind), only the latest market event
 * (event_log_scan_latest), up to the log's newest event when the round began
 * (round_end; a round cut short by the batch or the cap goes on next turn up to there,
 * so no key goes out twice in a round). Between rounds the flush sends the non-market
 * events that precede every key still waiting for the next round (the scan's
 * until_market): seq order holds, and under a busy feed, where every key soon has a
 * newer tick, fills and orders go out almost at once; at worst they wait for the round.
 * sent[] keeps each key's totals as of the last tick sent, so a tick says how many
 * events it stands for (and the trades' summed size). The session reads only the
 * non-market ring and the log's latest values, so the market ring turning over does
 * not drop it.
 *
 * States: OPEN, then CLOSING once a close frame was sent (by us or by wslay answering
 * the client's, or after a protocol error): no more text frames; when the output has
 * drained the session is freed if the client's close arrived, else the write side is
 * shut down and the session waits for the client's close or EOF, at most LINGER_MS.
 * A session is never freed inside a wslay callback (dead is set; on_read frees). */
#include "ws.h"

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <wslay/wslay.h>

#include "buf.h"
#include "bus.h"
#include "event_log.h"
#include "http.h"
#include "log.h"
#include "util.h"
#include "ws_internal.h"

#define TICK_MS   250
#define LINGER_MS 5000

enum session_state { S_OPEN, S_CLOSING };

struct session {
    struct ws *w;
    struct session *prev, *next;
    struct evhttp_connection *evcon;
    struct bufferevent *bev;
    wslay_event_context_ptr ctx;
    enum session_state state;
    int dead;      /* free after the current wslay call */
    int shut_wr;   /* our write side is shut down (CLOSING) */
    int streaming; /* subscribed */
    int passed;    /* events written in the current flush */
    struct event_filter filter;
    int syms[WS_MAX_SYMS];
    uint64_t cursor; /* the last seq examined (sent, filtered out or folded) */
    int conflate_ms; /* 0: every event */
    int64_t next_round_us;
    uint64_t round_end;           /* a round under way: up to this seq; 0: none */
    struct event_log_total *sent; /* conflating: per key, the totals of its last tick sent */
    int64_t opened_us, last_recv_us, next_ping_us, stalled_us, closing_us;
    uint64_t frames, bytes;
    char peer[64];
};

struct ws {
    struct http *http;
    struct event_base *base;
    struct bus *bus;
    int bus_sub;
    struct event_log *log;
    const struct instruments *ins;
    struct ws_config cfg;
    struct session *sessions;
    struct event *flush_ev, *tick_ev, *round_ev;
    int flush_pending;
    struct ws_stats stats;
};

void ws_config_defaults(struct ws_config *c)
{
    if (!c->max_clients) c->max_clients = 128;
    if (!c->max_msg) c->max_msg = 64 << 10;
    if (!c->queue_max) c->queue_max = 1 << 20;
    if (!c->stall_ms) c->stall_ms = 5000;
    if (!c->ping_ms) c->ping_ms = 15000;
    if (!c->pong_timeout_ms) c->pong_timeout_ms = 30000;
    if (!c->batch) c->batch = 1024;
}

static int64_t now_us(void)
{
    return mono_ns() / 1000;
}

static size_t queued(const struct session *s)
{
    return evbuffer_get_length(bufferevent_get_output(s->bev));
}

static void set_state(struct session *s, enum session_state st, const char *why)
{
    log_debug("ws", "state", "peer=%s from=%s to=%s why=%s", s->peer,
              s->state == S_OPEN ? "open" : "closing", st == S_OPEN ? "open" : "closing", why);
    s->state = st;
    if (st == S_CLOSING) s->closing_us = now_us();
}

static void session_free(struct session *s)
{
    struct ws *w = s->w;
    if (s->prev) s->prev->next = s->next;
    else w->sessions = s->next;
    if (s->next) s->next->prev = s->prev;
    w->stats.clients--;
    uint16_t sent = wslay_event_get_status_code_sent(s->ctx);
    uint16_t recv = wslay_event_get_status_code_received(s->ctx);
    log_info("ws", "closed",
             "peer=%s code_sent=%u code_received=%u frames=%" PRIu64 " bytes=%" PRIu64
             " seconds=%.1f clients=%d",
             s->peer, (unsigned)sent, (unsigned)recv, s->frames, s->bytes,
             (double)(now_us() - s->opened_us) / 1e6, w->stats.clients);
    wslay_event_context_free(s->ctx);
    evhttp_connection_free(s->evcon); /* frees the bufferevent and closes the socket */
    free(s->sent);
    free(s);
}

/* Writes one text frame: p, with extra (n bytes) inserted before its last two (an
 * event's closing "}}": the fields a conflated tick adds to its data). Only while OPEN. */
static void send_frame(struct session *s, const char *p, size_t len, const char *extra, size_t n)
{
    uint8_t hdr[10];
    size_t total = len + n;
    size_t h = ws_frame_header(hdr, WS_OP_TEXT, total);
    bufferevent_write(s->bev, hdr, h);
    if (n == 0) {
        bufferevent_write(s->bev, p, len);
    } else {
        ASSERT(len >= 2 && memcmp(p + len - 2, "}}", 2) == 0);
        bufferevent_write(s->bev, p, len - 2);
        bufferevent_write(s->bev, extra, n);
        bufferevent_write(s->bev, "}}", 2);
    }
    s->frames++;
    s->bytes += total;
    s->w->stats.frames_sent++;
    s->w->stats.bytes_sent += total;
}

static void send_text(struct session *s, const char *p, size_t len)
{
    send_frame(s, p, len, NULL, 0);
}

static void send_json(struct session *s, cJSON *msg)
{
    char *text = cJSON_PrintUnformatted(msg);
    ASSERT(text != NULL);
    send_text(s, text, strlen(text));
    cJSON_free(text);
    cJSON_Delete(msg);
}

static void send_error(struct session *s, const char *message)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "type", "error");
    cJSON_AddStringToObject(m, "message", message);
    send_json(s, m);
}

/* Sends what wslay queued, then moves the state on: CLOSING once a close went out;
 * when CLOSING and drained, frees (close handshake done) or shuts the write side. */
static void pump(struct session *s)
{
    if (wslay_event_send(s->ctx) != 0) {
        s->dead = 1;
        return;
    }
    if (s->state == S_OPEN && wslay_event_get_close_sent(s->ctx))
        set_state(s, S_CLOSING, "close sent");
    if (s->state != S_CLOSING || queued(s) > 0) return;
    if (wslay_event_get_close_received(s->ctx)) {
        s->dead = 1;
    } else if (!s->shut_wr) {
        shutdown(bufferevent_getfd(s->bev), SHUT_WR);
        s->shut_wr = 1;
    }
}

static void session_close(struct session *s, uint16_t code, const char *reason)
{
    if (s->state != S_OPEN) return;
    wslay_event_queue_close(s->ctx, code, (const uint8_t *)reason, strlen(reason));
    pump(s);
}

static void drop(struct session *s, const char *why)
{
    s->w->stats.dropped++;
    log_warn("ws", "slow consumer dropped", "peer=%s why=%s queued=%zu cursor=%" PRIu64, s->peer,
             why, queued(s), s->cursor);
    session_close(s, WSLAY_CODE_POLICY_VIOLATION, "slow consumer");
}

/* --- streaming --- */

static int write_event(uint64_t seq, enum event_type type, const char *json, size_t len, void *arg)
{
    struct session *s = arg;
    send_text(s, json, len);
    s->passed++;
    return queued(s) >= s->w->cfg.queue_max;
}

static const struct event_filter not_market = {EV_ALL & ~EV_BIT(EV_MARKET_DATA), NULL, 0};

/* The lowest seq the session can resume from without a loss: a conflating session
 * reads only the non-market ring (and the latest market data, always held). */
static uint64_t session_first(const struct session *s)
{
    return event_log_first(s->w->log, s->conflate_ms ? &not_market : &s->filter);
}

static int write_latest(uint64_t seq, enum event_type type, const char *json, size_t len, int key,
                        const struct event_log_total *total, void *arg)
{
    struct session *s = arg;
    if (key < 0) {
        send_text(s, json, len);
    } else {
        const struct instruments *ins = s->w->ins;
        int sym = key / 2, is_trade = (key & 1) == MD_TRADE;
        int dp = ins && sym < ins->n ? ins->v[sym].qty_dp : -1;
        struct event_log_total *was = &s->sent[key];
        char extra[WS_CONFLATED_MAX];
        size_t n = ws_conflated_fields(extra, is_trade, total->count - was->count,
                                       total->size - was->size, dp);
        *was = *total;
        send_frame(s, json, len, extra, n);
    }
    s->passed++;
    return s->passed >= s->w->cfg.batch || queued(s) >= s->w->cfg.queue_max;
}

/* A conflating session's share of a flush: the round when due (or under way), else the
 * non-market events that can go before the round. */
static void conflated_flush(struct session *s, uint64_t last)
{
    struct event_log *log = s->w->log;
    int64_t now = now_us();
    if (!s->round_end && now >= s->next_round_us) {
        s->next_round_us = ws_round_next(now, s->conflate_ms);
        if (s->cursor < last) s->round_end = last;
    }
    if (s->round_end) {
        s->cursor =
            event_log_scan_latest(log, s->cursor, s->round_end, &s->filter, 0, write_latest, s);
        if (s->cursor >= s->round_end) s->round_end = 0;
    } else if (s->cursor < last) {
        s->cursor = event_log_scan_latest(log, s->cursor, last, &s->filter, 1, write_latest, s);
    }
}

/* A flush's frames of every event after from (at most cfg.batch), built once and added
 * by reference to the output of each session that takes every event and was at from:
 * the copy per session is an evbuffer chain, not the frames. Freed when the flush and
 * the last output buffer holding it let go. */
struct shared_run {
    int refs;
    uint64_t from, to;      /* the events in it: (from, to] */
    uint64_t frames, bytes; /* its text frames and their payload bytes */
    struct buf b;
};

static int append_frame(uint64_t seq, enum event_type type, const char *json, size_t len, void *arg)
{
    struct shared_run *r = arg;
    uint8_t hdr[10];
    buf_put(&r->b, hdr, ws_frame_header(hdr, WS_OP_TEXT, len));
    buf_put(&r->b, json, len);
    r->frames++;
    r->bytes += len;
    return 0;
}

static void run_unref(const void *data, size_t len, void *arg)
{
    struct shared_run *r = arg;
    if (--r->refs > 0) return;
    buf_free(&r->b);
    free(r);
}

/* The flush's run for a session at cursor: built by the first session that asks, the
 * same for the others at that cursor, NULL for a session elsewhere. */
static struct shared_run *run_for(struct ws *w, struct shared_run **run, uint64_t cursor)
{
    if (*run) return (*run)->from == cursor ? *run : NULL;
    struct shared_run *r = xcalloc(1, sizeof *r);
    r->refs = 1; /* the flush's */
    r->from = cursor;
    r->to = event_log_scan(w->log, cursor, NULL, w->cfg.batch, append_frame, r);
    *run = r;
    return r;
}

static void send_run(struct session *s, struct shared_run *r)
{
    r->refs++;
    evbuffer_add_reference(bufferevent_get_output(s->bev), r->b.p, r->b.len, run_unref, r);
    s->cursor = r->to;
    s->passed = (int)r->frames;
    s->frames += r->frames;
    s->bytes += r->bytes;
    s->w->stats.frames_sent += r->frames;
    s->w->stats.bytes_sent += r->bytes;
}

static int takes_everything(const struct session *s)
{
    return (!s->filter.types || s->filter.types == EV_ALL) && !s->filter.nsyms;
}

/* An unconflated session's share of a flush: the shared run when it fits, else each
 * event that passes its filter. */
static void raw_flush(struct session *s, struct shared_run **run)
{
    struct shared_run *r = run && takes_everything(s) ? run_for(s->w, run, s->cursor) : NULL;
    if (r && r->frames) send_run(s, r);
    else
        s->cursor =
            event_log_scan(s->w->log, s->cursor, &s->filter, s->w->cfg.batch, write_event, s);
}

/* Sends the session what it has not seen yet (through the flush's shared run when it
 * can: run may be NULL). Returns 1 when it stopped at the batch limit (more may wait):
 * the next loop turn goes on. Over the cap it stops and marks the session stalled;
 * on_write resumes it once the socket drained to half the cap. */
static int check_backpressure(struct session *s);

static int session_flush(struct session *s, struct shared_run **run)
{
    struct ws *w = s->w;
    if (s->state != S_OPEN || !s->streaming || s->dead) return 0;
    if (s->cursor + 1 < session_first(s)) {
        drop(s, "events_lost");
        return 0;
    }
    uint64_t last = event_log_last(w->log);
    if (s->stalled_us) return 0;
    s->passed = 0;
    if (s->conflate_ms) conflated_flush(s, last);
    else if (s->cursor < last) raw_flush(s, run);
    if (check_backpressure(s)) return 0;
    return s->passed >= w->cfg.batch;
}

static void schedule_flush(struct ws *w)
{
    if (w->flush_pending) return;
    w->flush_pending = 1;
    event_active(w->flush_ev, EV_TIMEOUT, 1);
}

/* Arms round_ev for the earliest round due among the conflating sessions (a stalled
 * one waits for its socket instead: on_write). */
static void arm_rounds(struct ws *w)
{
    int64_t next = INT64_MAX;
    for (const struct session *s = w->sessions; s; s = s->next)
        if (s->state == S_OPEN && s->streaming && s->conflate_ms && !s->stalled_us)
            next = MIN(next, s->next_round_us);
    if (next == INT64_MAX) return;
    int64_t d = MAX(next - now_us(), 0);
    struct timeval tv = {(time_t)(d / 1000000), (suseconds_t)(d % 1000000)};
    event_add(w->round_ev, &tv);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    struct ws *w = arg;
    w->flush_pending = 0;
    int more = 0;
    struct shared_run *run = NULL;
    for (struct session *s = w->sessions, *next; s; s = next) {
        next = s->next;
        more |= session_flush(s, &run);
        if (s->dead) session_free(s);
    }
    if (run) run_unref(NULL, 0, run);
    if (more) schedule_flush(w);
    arm_rounds(w);
}

static void on_bus(const struct event *ev, void *arg)
{
    struct ws *w = arg;
    if (w->sessions) schedule_flush(w);
}

/* --- client messages --- */

/* Conflation from seq on, or none: what the session sent of each key so far is taken
 * as the log's totals at seq. */
static void set_conflation(struct session *s, const struct ws_msg *m, uint64_t seq)
{
    int wants_market = !m->types || (m->types & EV_BIT(EV_MARKET_DATA));
    s->conflate_ms = wants_market ? m->conflate_ms : 0;
    s->round_end = 0;
    if (!s->conflate_ms) return;
    if (!s->sent) s->sent = xmalloc(sizeof *s->sent * EVENT_LOG_MD_KEYS);
    event_log_totals_at(s->w->log, seq, s->sent);
    s->next_round_us = ws_round_next(now_us(), s->conflate_ms);
}

static void on_subscribe(struct session *s, const struct ws_msg *m)
{
    struct ws *w = s->w;
    memcpy(s->syms, m->syms, sizeof(int) * (size_t)m->nsyms);
    s->filter = (struct event_filter){m->types, s->syms, m->nsyms};
    s->conflate_ms = m->conflate_ms; /* for session_first: whether the all ring matters */
    uint64_t last = event_log_last(w->log), first = session_first(s);
    uint64_t since = m->has_since ? m->since : s->streaming ? s->cursor : last;
    int gap = 0;
    if (since > last) { /* ahead of this host: it restarted */
        gap = 1;
        since = last;
    } else if (since + 1 < first) {
        gap = 1;
        since = first - 1;
    }
    s->cursor = since;
    s->streaming = 1;
    set_conflation(s, m, since);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "type", "subscribed");
    cJSON_AddNumberToObject(r, "since", (double)since);
    cJSON_AddBoolToObject(r, "gap", gap);
    if (s->conflate_ms) cJSON_AddNumberToObject(r, "conflate_ms", s->conflate_ms);
    send_json(s, r);
    /* The backlog goes out now, not at the next flush: a resume from the oldest event
     * held must not lose it to the events published in between. */
    if (session_flush(s, NULL)) schedule_flush(w);
    arm_rounds(w);
}

static void on_text(struct session *s, const uint8_t *p, size_t len)
{
    struct ws_msg m;
    struct err e;
    if (ws_msg_parse((const char *)p, len, s->w->ins, &m, &e) != 0) return send_error(s, e.msg);
    if (m.op == WS_SUBSCRIBE) return on_subscribe(s, &m);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "type", "pong");
    send_json(s, r);
}

static void on_msg_recv(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                        void *user)
{
    struct session *s = user;
    if (s->state != S_OPEN) return;
    if (arg->opcode == WSLAY_TEXT_FRAME) {
        s->w->stats.frames_recv++;
        on_text(s, arg->msg, arg->msg_length);
    } else if (arg->opcode == WSLAY_BINARY_FRAME) {
        s->w->stats.frames_recv++;
        send_error(s, "binary messages are not supported");
    }
}

static ssize_t on_wslay_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                             void *user)
{
    struct session *s = user;
    size_t n = evbuffer_remove(bufferevent_get_input(s->bev), buf, len);
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    s->last_recv_us = now_us();
    return (ssize_t)n;
}

static ssize_t on_wslay_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
                             int flags, void *user)
{
    struct session *s = user;
    bufferevent_write(s->bev, data, len);
    return (ssize_t)len;
}

/* --- bufferevent callbacks --- */

/* A session whose queue reached the cap stops being read as well as written: a client
 * that sends (pings, messages) but never reads would otherwise pile our replies up in
 * host memory. on_write resumes both when the queue has drained to half; tick_session
 * drops a session stalled for stall_ms. Returns 1 when the session is stalled. */
static int check_backpressure(struct session *s)
{
    if (queued(s) < s->w->cfg.queue_max) return s->stalled_us != 0;
    bufferevent_disable(s->bev, EV_READ);
    if (!s->stalled_us) s->stalled_us = now_us();
    return 1;
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct session *s = arg;
    if (wslay_event_want_read(s->ctx)) {
        if (wslay_event_recv(s->ctx) != 0) s->dead = 1;
    } else {
        /* Closing, or after a protocol error: discard what the client still sends. */
        s->last_recv_us = now_us();
        evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
    }
    if (!s->dead) pump(s);
    if (!s->dead) check_backpressure(s);
    if (s->dead) session_free(s);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    struct session *s = arg;
    if (s->state == S_OPEN) {
        if (s->stalled_us && queued(s) < s->w->cfg.queue_max) {
            s->stalled_us = 0;
            bufferevent_enable(bev, EV_READ);
            schedule_flush(s->w);
        }
        return;
    }
    pump(s);
    if (s->dead) session_free(s);
}

static void on_bev_event(struct bufferevent *bev, short what, void *arg)
{
    struct session *s = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) session_free(s);
}

/* --- housekeeping: pings, stalls, lingering closes --- */

static void tick_session(struct session *s, int64_t now)
{
    const struct ws_config *c = &s->w->cfg;
    if (s->state == S_CLOSING) {
        if (now - s->closing_us > (int64_t)LINGER_MS * 1000) s->dead = 1;
        return;
    }
    if (s->stalled_us && now - s->stalled_us > (int64_t)c->stall_ms * 1000) {
        drop(s, "queue_full");
        return;
    }
    if (now - s->last_recv_us > (int64_t)c->pong_timeout_ms * 1000) {
        log_info("ws", "no pong", "peer=%s", s->peer);
        session_close(s, WSLAY_CODE_GOING_AWAY, "ping timeout");
        return;
    }
    if (now >= s->next_ping_us) {
        s->next_ping_us = now + (int64_t)c->ping_ms * 1000;
        struct wslay_event_msg ping = {WSLAY_PING, NULL, 0};
        wslay_event_queue_msg(s->ctx, &ping);
        pump(s);
    }
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct ws *w = arg;
    int64_t now = now_us();
    for (struct session *s = w->sessions, *next; s; s = next) {
        next = s->next;
        tick_session(s, now);
        if (s->dead) session_free(s);
    }
}

/* --- the upgrade --- */

static struct session *session_new(struct ws *w, struct http_req *r)
{
    static const struct wslay_event_callbacks cbs = {
        .recv_callback = on_wslay_recv,
        .send_callback = on_wslay_send,
        .on_msg_recv_callback = on_msg_recv,
    };
    struct session *s = xcalloc(1, sizeof *s);
    s->w = w;
    s->evcon = evhttp_request_get_connection(http_evreq(r));
    s->bev = evhttp_connection_get_bufferevent(s->evcon);
    if (wslay_event_context_server_init(&s->ctx, &cbs, s) != 0) ASSERT(!"out of memory");
    wslay_event_config_set_max_recv_msg_length(s->ctx, w->cfg.max_msg);
    util_strlcpy(s->peer, http_peer(r), sizeof s->peer);
    s->opened_us = s->last_recv_us = now_us();
    s->next_ping_us = s->opened_us + (int64_t)w->cfg.ping_ms * 1000;
    s->next = w->sessions;
    if (s->next) s->next->prev = s;
    w->sessions = s;
    w->stats.clients++;
    w->stats.accepted++;
    return s;
}

static void send_hello(struct session *s)
{
    struct event_log *log = s->w->log;
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "type", "hello");
    cJSON_AddNumberToObject(m, "last", (double)event_log_last(log));
    cJSON_AddNumberToObject(m, "first", (double)event_log_first(log, NULL));
    cJSON_AddNumberToObject(m, "first_other", (double)event_log_first(log, &not_market));
    send_json(s, m);
}

static void on_upgrade(struct http_req *r, void *arg)
{
    struct ws *w = arg;
    struct evkeyvalq *h = evhttp_request_get_input_headers(http_evreq(r));
    const char *key = evhttp_find_header(h, "Sec-WebSocket-Key");
    const char *bad =
        ws_check_upgrade(evhttp_find_header(h, "Upgrade"), evhttp_find_header(h, "Connection"),
                         evhttp_find_header(h, "Sec-WebSocket-Version"), key);
    if (bad) {
        w->stats.rejected++;
        return http_reply_error(r, 400, "bad_request", "%s", bad);
    }
    if (w->stats.clients >= w->cfg.max_clients) {
        w->stats.rejected++;
        return http_reply_error(r, 503, "unavailable", "too many WebSocket clients (max %d)",
                                w->cfg.max_clients);
    }
    char accept[WS_ACCEPT_LEN + 1];
    int rc = ws_accept_key(key, accept); /* the key was checked above */
    ASSERT(rc == 0);
    struct session *s = session_new(w, r);
    bufferevent_set_timeouts(s->bev, NULL, NULL);
    /* Fan-out writes each session at most once per loop turn already: Nagle's algorithm
     * would only hold the frames back for the client's delayed ACK (lag p50 9 ms instead
     * of 0.4 at 2,000 events/s to 100 clients: tests/bench/README.md). */
    int one = 1;
    if (setsockopt(bufferevent_getfd(s->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        log_debug("ws", "TCP_NODELAY failed", "peer=%s", s->peer);
    bufferevent_setcb(s->bev, on_read, on_write, on_bev_event, s);
    bufferevent_setwatermark(s->bev, EV_WRITE, w->cfg.queue_max / 2, 0);
    bufferevent_setwatermark(s->bev, EV_READ, 0, 0);
    bufferevent_enable(s->bev, EV_READ | EV_WRITE);
    evbuffer_add_printf(bufferevent_get_output(s->bev),
                        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                        accept);
    send_hello(s);
    log_info("ws", "open", "peer=%s clients=%d", s->peer, w->stats.clients);
    /* Bytes the client sent right after its request are already in the input. Read
     * them later in this loop turn: here evhttp still holds the request, and on_read
     * may free the session. */
    if (evbuffer_get_length(bufferevent_get_input(s->bev)) > 0)
        bufferevent_trigger(s->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

static const struct http_route ws_routes[] = {
    {HTTP_GET, "/ws", on_upgrade, HTTP_TAKEOVER},
};

struct ws *ws_new(struct http *s, struct event_base *base, struct bus *bus, struct event_log *log,
                  const struct instruments *ins, const struct ws_config *cfg)
{
    struct ws *w = xcalloc(1, sizeof *w);
    w->http = s;
    w->base = base;
    w->bus = bus;
    w->log = log;
    w->ins = ins;
    if (cfg) w->cfg = *cfg;
    ws_config_defaults(&w->cfg);
    w->flush_ev = event_new(base, -1, 0, on_flush, w);
    w->tick_ev = event_new(base, -1, EV_PERSIST, on_tick, w);
    w->round_ev = evtimer_new(base, on_flush, w);
    struct timeval tv = {0, TICK_MS * 1000};
    event_add(w->tick_ev, &tv);
    w->bus_sub = bus_subscribe(bus, EV_ALL, on_bus, w);
    http_add_routes(s, ws_routes, (int)ARRAY_LEN(ws_routes), w);
    return w;
}

void ws_free(struct ws *w)
{
    if (!w) return;
    while (w->sessions) {
        struct session *s = w->sessions;
        if (s->state == S_OPEN) {
            wslay_event_queue_close(s->ctx, WSLAY_CODE_GOING_AWAY, (const uint8_t *)"shutdown", 8);
            wslay_event_send(s->ctx);
        }
        /* One non-blocking attempt to get the close frame out before the socket goes
         * (the loop no longer runs). send(2), not evbuffer_write: a socket bufferevent
         * keeps its output's start frozen outside its own writes. */
        struct evbuffer *out = bufferevent_get_output(s->bev);
        size_t len = evbuffer_get_length(out);
        if (len > 0)
            (void)!send(bufferevent_getfd(s->bev), evbuffer_pullup(out, -1), len,
                        MSG_DONTWAIT | MSG_NOSIGNAL);
        session_free(s);
    }
    bus_unsubscribe(w->bus, w->bus_sub);
    event_free(w->flush_ev);
    event_free(w->tick_ev);
    event_free(w->round_ev);
    free(w);
}

void ws_stats(const struct ws *w, struct ws_stats *out)
{
    *out = w->stats;
    out->queued_bytes = 0;
    for (const struct session *s = w->sessions; s; s = s->next) out->queued_bytes += queued(s);
}
