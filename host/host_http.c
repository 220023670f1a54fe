/* host_http.c: the host's interfaces (DESIGN.md §9): the HTTP server with the page,
 * the REST routes, /metrics and the WebSocket stream, and the console's unix socket,
 * built from the config. This is the one place that lists every route table.
 *
 * Both need var/ (the token, the audit log and the socket live there), so a host built
 * without one (unit tests, benchmarks) has neither. The console's helpers are REST calls
 * made in-process (http_call_local), so with the web server off the routes still
 * exist, offline. At start it logs one line that tests and
 * users read:
 *   http listening url=http://127.0.0.1:8080/ login=http://127.0.0.1:8080/login?token=...
 * and prints the login link on stderr, like Jupyter does. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "event_log.h"
#include "host.h"
#include "http.h"
#include "log.h"
#include "log_ring.h"
#include "metrics.h"
#include "repl.h"
#include "rest.h"
#include "util.h"
#include "ws.h"

#define LOG_TAIL_LINES 2000

/* web/ next to the scripts directory (./web, or the one beside the binary's tree);
 * the vendor files under the binary's directory (build/www/vendor). */
static void find_web_dirs(struct host *h, char *web, char *vendor, size_t n)
{
    const struct config *cfg = h->cfg;
    if (cfg->http_web_dir) util_strlcpy(web, cfg->http_web_dir, n);
    else snprintf(web, n, "%s/../web", h->scripts_dir);
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    util_strlcpy(vendor, "www/vendor", n);
    if (len > 0) {
        exe[len] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        snprintf(vendor, n, "%s/www/vendor", exe);
    }
}

void host_start_log_tail(struct host *h)
{
    const struct config *cfg = h->cfg;
    if (cfg->var_dir && (cfg->http_enabled || cfg->console_enabled))
        h->logs = log_ring_new(LOG_TAIL_LINES);
}

static void add_routes(struct host *h)
{
    rest_market_routes(h->http, h);
    rest_strategies_routes(h->http, h);
    rest_orders_routes(h->http, h);
    rest_risk_routes(h->http, h);
    rest_events_routes(h->http, h);
    rest_logs_routes(h->http, h);
    rest_metrics_routes(h->http, h);
}

/* The web server, page and WebSocket stream, listening. */
static int start_web(struct host *h, struct err *e)
{
    const struct config *cfg = h->cfg;
    static char web[PATH_MAX], vendor[PATH_MAX];
    find_web_dirs(h, web, vendor, sizeof web);
    struct http_config hc = {
        .listen = cfg->http_listen,
        .token = cfg->http_token,
        .var_dir = cfg->var_dir,
        .hosts = (const char *const *)cfg->http_hosts,
        .nhosts = cfg->http_nhosts,
        .origins = (const char *const *)cfg->http_origins,
        .norigins = cfg->http_norigins,
        .web_dir = web,
        .vendor_dir = vendor,
        .max_body = (size_t)cfg->http_max_body,
        .max_conns = (int)cfg->http_max_conns,
        .rate_per_s = cfg->http_rate,
        .rate_burst = cfg->http_burst,
        .timeout_s = (int)(cfg->http_timeout_us / 1000000),
    };
    /* a client that vanishes mid-write must cost an EPIPE, not the process */
    signal(SIGPIPE, SIG_IGN);
    h->http = http_new(h->base, &hc, e);
    if (!h->http) return -1;
    struct ws_config wc = {
        .max_clients = (int)cfg->ws_max_clients,
        .max_msg = (size_t)cfg->ws_max_message,
        .queue_max = (size_t)cfg->ws_queue,
        .stall_ms = (int)(cfg->ws_stall_us / 1000),
        .ping_ms = (int)(cfg->ws_ping_us / 1000),
        .pong_timeout_ms = (int)(cfg->ws_pong_timeout_us / 1000),
    };
    h->ws = ws_new(h->http, h->base, h->bus, h->events, &h->instruments, &wc);
    add_routes(h);
    char url[128];
    const char *login = http_login_url(h->http);
    const char *path = strstr(login, "/login");
    snprintf(url, sizeof url, "%.*s/", path ? (int)(path - login) : 0, login);
    log_info("http", "listening", "url=%s login=%s", url, login);
    fprintf(stderr, "\n    luatrade web page: open this link to log in:\n        %s\n\n", login);
    return 0;
}

/* The console's socket. Its helpers call the REST routes in-process, so without the web
 * server the routes exist offline (no listener, no token). */
static int start_console(struct host *h, struct err *e)
{
    const struct config *cfg = h->cfg;
    if (!h->http) {
        struct http_config hc = {.var_dir = cfg->var_dir, .offline = 1};
        if (!(h->http = http_new(h->base, &hc, e))) return -1;
        add_routes(h);
    }
    char path[PATH_MAX];
    const char *sock = cfg->console_socket ? cfg->console_socket : "luatrade.sock";
    if (sock[0] == '/') util_strlcpy(path, sock, sizeof path);
    else snprintf(path, sizeof path, "%s/%s", cfg->var_dir, sock);
    signal(SIGPIPE, SIG_IGN);
    struct repl_config rc = {.path = path,
                             .budget_us = cfg->console_budget_us,
                             .max_sessions = (int)cfg->console_max_sessions};
    h->repl = repl_new(h, &rc, e);
    return h->repl ? 0 : -1;
}

int host_start_http(struct host *h, struct err *e)
{
    const struct config *cfg = h->cfg;
    h->started_us = wall_us();
    if (!cfg->var_dir) return 0;
    if (cfg->http_enabled && start_web(h, e) != 0) return -1;
    if (cfg->console_enabled && start_console(h, e) != 0) return -1;
    return 0;
}

void host_stop_http(struct host *h)
{
    repl_free(h->repl); /* sessions make in-process REST calls */
    h->repl = NULL;
    ws_free(h->ws); /* before the server: sessions hold evhttp connections */
    h->ws = NULL;
    rest_free(h);
    http_free(h->http);
    h->http = NULL;
}
