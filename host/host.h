/* host.h: the host: one libevent loop and everything that hangs off it.
 *
 * host_init builds the pieces in dependency order (clock, timers, bus, instruments,
 * market, watchdog and sandbox probe, strategies, feed, file watcher) from a parsed
 * config; host_run drives the loop until SIGINT/SIGTERM, the --for duration, or a
 * fatal error; host_fini stops strategies (on_stop("shutdown")) and frees everything
 * in reverse order.
 *
 * Time: live, the clock is wall time and timers ride a libevent timer armed for the
 * earliest due one; with a simulated clock the feed is generated as fast as the
 * machine allows, the clock jumps to each event's time, and due timers and bar
 * closes run first, in time order, so a run is deterministic. Both modes yield to
 * libevent between batches (signals and file changes are handled in either). */
#ifndef LUATRADE_HOST_H
#define LUATRADE_HOST_H

#include <limits.h>
#include <stdint.h>

#include "clock.h"
#include "err.h"
#include "instrument.h"

struct event_base;
struct event;
struct timerq;
struct bus;
struct market;
struct feed_sim;
struct strategies;
struct watch;
struct sbx_watchdog;
struct config;
struct oms;
struct http;
struct event_log;
struct ws;
struct metrics;
struct log_ring;
struct rest_cache;
struct repl;
struct recorder;
struct feed_source;

struct host {
    const struct config *cfg;
    struct event_base *base;
    struct clock clock;
    struct timerq *timers;
    struct event *timer_ev; /* live: fires at the earliest timer */
    struct event *feed_ev;  /* live: paces the feed; sim: runs the next batch */
    struct event *stop_ev;  /* --for */
    struct event *sig_int, *sig_term;
    struct bus *bus;
    struct instruments instruments;
    struct market *market;
    struct feed_sim *feed;
    struct strategies *strategies;
    struct watch *watch;
    struct sbx_watchdog *wd;
    struct oms *oms;
    struct event_log *events;      /* recent events: /api/events, WebSocket resume */
    struct http *http;             /* NULL when the server is off (http = { enabled = false }) */
    struct ws *ws;                 /* WebSocket sessions on /ws */
    struct metrics *metrics;       /* /metrics: histograms and the loop-lag probe */
    struct log_ring *logs;         /* the last log lines: the page's log tail */
    struct rest_cache *rest_cache; /* replies REST may serve again (rest.h) */
    struct repl *repl;             /* the console's socket (NULL when off) */
    struct recorder *recorder;     /* record = "dir": market data and timer runs (record.h) */
    int64_t started_us;            /* wall time at start (uptime in /health) */
    struct event *kill_ev;         /* reads kill_pipe: SIGUSR1 asked for the kill switch */
    int kill_pipe[2];
    int sbx_jit;      /* sandboxes run with the JIT compiler on */
    const char *mode; /* "paper" until venues exist */
    char scripts_dir[PATH_MAX];
    int64_t feed_started_us; /* live pacing */
    uint64_t feed_emitted;
    int64_t stop_at_us;               /* sim clock: stop when reached; 0 = never */
    const struct feed_source *source; /* backtests and replays (feed.h); NULL: the sim feed */
    int64_t next_item_us;             /* the time of the source's item being processed */
    int roll_skips;                   /* the 1 s roll skips gaps in the source's times */
    int source_failed;                /* the source returned an error: source_err says it */
    struct err source_err;
    int stopping;
    int exit_code;
};

int host_init(struct host *h, const struct config *cfg, struct err *e);
/* Runs until stopped. for_us > 0 stops after that long on the host clock. Returns the
 * exit code (0, or 1 when a fail-fast strategy error stopped the run). */
int host_run(struct host *h, int64_t for_us);
/* Asks the loop to stop after the current callback (safe from any loop callback). */
void host_stop(struct host *h, int exit_code);
void host_fini(struct host *h);

/* host_http.c: starts the interfaces the config enables, when a var directory exists:
 * the web ones (HTTP server, page, REST, /metrics, /ws; logs the login link) and the
 * console (repl.h). Returns 0 or -1 with e filled (address in use, non-loopback without
 * a token, bad token file, console socket in use). */
int host_start_http(struct host *h, struct err *e);
/* Starts keeping the last log lines for the page (with the server; from the first
 * line the host logs). */
void host_start_log_tail(struct host *h);
/* Closes every console session and web client, and the servers. Safe when none was
 * started. */
void host_stop_http(struct host *h);

/* Drives the host from src instead of the sim feed (call after host_init, before
 * host_run; src must outlive the run). The run ends when src does. */
void host_set_source(struct host *h, const struct feed_source *src);
/* Publishes a market-data event from a feed: closes due bars first, then publishes. */
void host_publish_market(struct host *h, struct event *ev);
/* The scripts directory used when the config names none: ./scripts, else the one next
 * to the binary (build/../scripts), else "scripts". */
void host_default_scripts_dir(char *out, size_t n);
/* Runs the timers due at now, then flushes what they ordered (oms_flush). */
void host_run_timers(struct host *h, int64_t now_us);
/* Re-arms the live timer event for the earliest pending timer. */
void host_timers_changed(void *host);

#endif
