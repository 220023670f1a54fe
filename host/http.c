/* http.c: the HTTP server (see http.h): evhttp on the loop, the route table, request
 * helpers and replies.
 *
 * Every request enters on_request (evhttp's generic callback), which runs the checks
 * in the order http.h gives and then the handler, with a struct http_req on the stack:
 * handlers reply before returning (HTTP_TAKEOVER ones may take the connection). All
 * replies pass through finish(), which counts them and writes the audit record of
 * calls that are not GETs, so no mutating route can forget its audit line.
 *
 * Limits: evhttp enforces the header and body sizes (431/400 and 413 replies are its
 * own) and the idle timeout; the connection cap is ours: a connection is counted from
 * its first request until evhttp frees it (close callback), and requests on
 * connections past the cap get 503 and a close. Keep-alive is evhttp's.
 *
 * In-process calls (http_call_local, the console) build the same struct http_req
 * without an evhttp request: the body comes from the caller, the reply goes into its
 * buffer, and finish() audits them like any other call. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "audit.h"
#include "http_internal.h"
#include "log.h"
#include "util.h"

void http_config_defaults(struct http_config *c)
{
    if (!c->listen) c->listen = "127.0.0.1:8080";
    if (!c->var_dir) c->var_dir = "var";
    if (!c->max_body) c->max_body = 1 << 20;
    if (!c->max_headers) c->max_headers = 16 << 10;
    if (!c->max_conns) c->max_conns = 256;
    if (!c->json_depth) c->json_depth = 32;
    if (!c->rate_burst) c->rate_burst = c->rate_per_s > 0 ? 2 * c->rate_per_s : 0;
    if (!c->timeout_s) c->timeout_s = 120;
}

/* --- addresses --- */

/* "ADDR:PORT", "[v6]:PORT" -> addr (without brackets) and port. */
static int parse_listen(const char *s, char *addr, size_t n, int *port, struct err *e)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s) return err_set(e, "listen '%s': expected ADDR:PORT", s);
    const char *a = s, *aend = colon;
    if (*a == '[') {
        if (aend[-1] != ']') return err_set(e, "listen '%s': expected [ADDR]:PORT", s);
        a++, aend--;
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || p < 0 || p > 65535)
        return err_set(e, "listen '%s': port must be 0..65535", s);
    if ((size_t)(aend - a) >= n) return err_set(e, "listen '%s': address too long", s);
    memcpy(addr, a, aend - a);
    addr[aend - a] = 0;
    unsigned char bin[16];
    if (inet_pton(AF_INET, addr, bin) != 1 && inet_pton(AF_INET6, addr, bin) != 1)
        return err_set(e, "listen '%s': '%s' is not a numeric IPv4 or IPv6 address", s, addr);
    *port = (int)p;
    return 0;
}

static int is_loopback(const char *addr)
{
    struct in_addr a4;
    if (inet_pton(AF_INET, addr, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    return !strcmp(addr, "::1");
}

/* --- routes --- */

void http_add_routes(struct http *s, const struct http_route *routes, int n, void *arg)
{
    for (int i = 0; i < n; i++) {
        if (s->nroutes == s->cap_routes) {
            s->cap_routes = s->cap_routes ? 2 * s->cap_routes : 32;
            s->routes = xrealloc(s->routes, s->cap_routes * sizeof *s->routes);
        }
        struct route_entry *re = &s->routes[s->nroutes];
        memset(re, 0, sizeof *re);
        re->route = &routes[i];
        re->arg = arg;
        ASSERT(routes[i].pattern[0] == '/' && strlen(routes[i].pattern) < sizeof re->segbuf);
        util_strlcpy(re->segbuf, routes[i].pattern + 1, sizeof re->segbuf);
        for (char *save, *t = strtok_r(re->segbuf, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
            ASSERT(re->nsegs < HTTP_MAX_SEGS);
            re->segs[re->nsegs++] = t;
        }
        for (int k = 0; k < s->nroutes; k++)
            ASSERT(strcmp(s->routes[k].route->pattern, routes[i].pattern) ||
                   !(s->routes[k].route->methods & routes[i].methods));
        s->nroutes++;
    }
}

/* Splits the raw path into segments (in place, in buf). Returns the count, or -1 when
 * there are too many or an empty one ("//"). A trailing slash is ignored. */
static int split_path(const char *path, char *buf, size_t n, char **segs)
{
    if (path[0] != '/' || strlen(path) >= n) return -1;
    util_strlcpy(buf, path + 1, n);
    size_t len = strlen(buf);
    if (len && buf[len - 1] == '/') buf[len - 1] = 0;
    if (!*buf) return 0;
    int k = 0;
    for (char *p = buf;;) {
        if (k == HTTP_MAX_SEGS || !*p) return -1;
        segs[k++] = p;
        char *slash = strchr(p, '/');
        if (!slash) break;
        *slash = 0;
        p = slash + 1;
    }
    return k;
}

static int route_matches(const struct route_entry *re, char **segs, int nsegs)
{
    if (re->nsegs != nsegs) return 0;
    for (int i = 0; i < nsegs; i++)
        if (re->segs[i][0] != ':' && strcmp(re->segs[i], segs[i])) return 0;
    return 1;
}

/* Finds the route for (method, path). *path_known is set when some route has the path
 * but not the method (405). */
static const struct route_entry *route_find(struct http *s, unsigned method, char **segs, int nsegs,
                                            unsigned *allowed)
{
    *allowed = 0;
    unsigned m = method == EVHTTP_REQ_HEAD ? HTTP_GET : method;
    for (int i = 0; i < s->nroutes; i++) {
        const struct route_entry *re = &s->routes[i];
        if (!route_matches(re, segs, nsegs)) continue;
        if (re->route->methods & m) return re;
        *allowed |= re->route->methods;
    }
    return NULL;
}

static void bind_params(struct http_req *r, char **segs)
{
    const struct route_entry *re = r->route;
    for (int i = 0; i < re->nsegs && r->nparams < HTTP_MAX_PARAMS; i++) {
        if (re->segs[i][0] != ':') continue;
        r->param_names[r->nparams] = re->segs[i] + 1;
        r->param_values[r->nparams++] = evhttp_uridecode(segs[i], 0, NULL);
    }
}

/* --- request accessors --- */

const char *http_param(const struct http_req *r, const char *name)
{
    for (int i = 0; i < r->nparams; i++)
        if (!strcmp(r->param_names[i], name)) return r->param_values[i];
    return NULL;
}

const char *http_query(const struct http_req *r, const char *name)
{
    struct http_req *w = (struct http_req *)r;
    if (!r->query_raw) return NULL;
    if (!w->query_parsed) {
        w->query_parsed = 1;
        if (evhttp_parse_query_str(r->query_raw, &w->query) != 0) return NULL;
    }
    return evhttp_find_header(&w->query, name);
}

int http_query_int(struct http_req *r, const char *name, int64_t lo, int64_t hi, int64_t dflt,
                   int64_t *out)
{
    const char *v = http_query(r, name);
    if (!v) {
        *out = dflt;
        return 0;
    }
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > hi) {
        http_reply_error(r, 400, "bad_request",
                         "query parameter %s: expected an integer in %lld..%lld", name,
                         (long long)lo, (long long)hi);
        return -1;
    }
    *out = x;
    return 0;
}

/* The body's bytes (contiguous) and their count. */
static const char *body_bytes(struct http_req *r, size_t *n)
{
    if (!r->req) {
        *n = r->local_len;
        return r->local_body ? r->local_body : "";
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    *n = evbuffer_get_length(in);
    return *n ? (const char *)evbuffer_pullup(in, -1) : "";
}

size_t http_body_len(struct http_req *r)
{
    size_t n;
    body_bytes(r, &n);
    return n;
}

struct cJSON *http_body_json(struct http_req *r, int want_object)
{
    if (r->body) return r->body;
    size_t n;
    const char *p = body_bytes(r, &n);
    if (n == 0) {
        http_reply_error(r, 400, "bad_request", "a JSON body is required");
        return NULL;
    }
    if (util_json_depth(p, n) > r->s->cfg.json_depth) {
        http_reply_error(r, 400, "bad_request", "JSON nested deeper than %d levels",
                         r->s->cfg.json_depth);
        return NULL;
    }
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(p, n, &end, 0);
    if (!j) {
        size_t at = end && end >= p ? (size_t)(end - p) : 0;
        http_reply_error(r, 400, "bad_request", "malformed JSON at byte %zu", at);
        return NULL;
    }
    for (const char *q = end; q < p + n; q++) {
        if (*q != ' ' && *q != '\t' && *q != '\r' && *q != '\n') {
            cJSON_Delete(j);
            http_reply_error(r, 400, "bad_request", "trailing data after JSON at byte %zu",
                             (size_t)(q - p));
            return NULL;
        }
    }
    if (want_object && !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        http_reply_error(r, 400, "bad_request", "the body must be a JSON object");
        return NULL;
    }
    return r->body = j;
}

unsigned http_method(const struct http_req *r)
{
    return r->method;
}
const char *http_path(const struct http_req *r)
{
    return r->path;
}
const char *http_peer(const struct http_req *r)
{
    return r->peer;
}
struct evhttp_request *http_evreq(struct http_req *r)
{
    return r->req;
}
struct http *http_server(struct http_req *r)
{
    return r->s;
}

void http_audit_note(struct http_req *r, const char *fmt, ...)
{
    size_t used = strlen(r->note);
    if (used && used + 2 < sizeof r->note) r->note[used++] = ' ', r->note[used] = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->note + used, sizeof r->note - used, fmt, ap);
    va_end(ap);
}

/* --- replies --- */

static const char *method_name(unsigned m)
{
    switch (m) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    default:
        return "OTHER";
    }
}

unsigned http_method_parse(const char *name)
{
    for (unsigned m = HTTP_GET; name && m <= HTTP_PATCH; m <<= 1)
        if ((m & (HTTP_GET | HTTP_POST | HTTP_PUT | HTTP_DELETE | HTTP_PATCH)) &&
            !strcmp(method_name(m), name))
            return m;
    return 0;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 303:
        return "See Other";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    default:
        return status >= 500 ? "Internal Server Error" : "Error";
    }
}

/* Counts the reply and audits it (calls other than GET and HEAD). */
static void finish(struct http_req *r, int status, const char *code)
{
    ASSERT(!r->replied);
    r->replied = 1;
    r->s->stats.requests++;
    if (status >= 500) r->s->stats.errors_5xx++;
    else if (status >= 400) r->s->stats.errors_4xx++;
    if (r->method == EVHTTP_REQ_GET || r->method == EVHTTP_REQ_HEAD || !r->s->audit) return;
    /* refused before any route ran: a flood of these must not fill the disk. 429s are
     * only counted; calls without the token are recorded without their body. */
    if (status == 429) return;
    char who[96], what[300];
    if (r->cred == CRED_LOCAL) util_strlcpy(who, r->peer, sizeof who);
    else snprintf(who, sizeof who, "%s %s", r->peer, http_cred_name(r->cred));
    snprintf(what, sizeof what, "%s %s", method_name(r->method), r->path);
    size_t n;
    const char *p = body_bytes(r, &n);
    n = r->cred == CRED_NONE ? 0 : MIN(n, (size_t)4096);
    char *body = xmalloc(n + 1);
    memcpy(body, p, n);
    body[n] = 0;
    audit_write(r->s->audit, who, what, body, status, code, r->note);
    free(body);
}

static void send_reply(struct http_req *r, int status, struct evbuffer *body)
{
    evhttp_send_reply(r->req, status, reason_phrase(status), body);
}

static void reply_body(struct http_req *r, int status, const char *ctype, const char *p, size_t n,
                       const char *code)
{
    finish(r, status, code);
    if (!r->req) {
        r->local_status = status;
        if (status != 204) buf_put_utf8(r->local_out, p, n);
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
    if (status != 204) evhttp_add_header(h, "Content-Type", ctype);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    struct evbuffer *b = evbuffer_new();
    if (status != 204 && buf_utf8_valid_prefix(p, n) == n) evbuffer_add(b, p, n);
    else if (status != 204) { /* script-made strings may not be UTF-8 */
        struct buf fixed = BUF_INIT;
        buf_put_utf8(&fixed, p, n);
        evbuffer_add(b, fixed.p, fixed.len);
        buf_free(&fixed);
    }
    send_reply(r, status, b);
    evbuffer_free(b);
}

void http_reply_text(struct http_req *r, int status, const char *content_type, const char *body,
                     size_t len)
{
    reply_body(r, status, content_type, body, len, NULL);
}

void http_reply_json(struct http_req *r, int status, struct cJSON *body)
{
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    /* an error built by hand (with extra fields) is audited with its code */
    const cJSON *code =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(body, "error"), "code");
    reply_body(r, status, "application/json", text ? text : "{}", text ? strlen(text) : 2,
               status >= 400 && cJSON_IsString(code) ? code->valuestring : NULL);
    free(text);
    cJSON_Delete(body);
}

static void reply_error_v(struct http_req *r, int status, const char *code, const char *fmt,
                          va_list ap)
{
    char msg[ERR_MSG_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    struct buf b = BUF_INIT;
    buf_puts(&b, "{\"error\":{\"code\":");
    buf_put_json_str(&b, code, strlen(code));
    buf_puts(&b, ",\"message\":");
    buf_put_json_str(&b, msg, strlen(msg));
    buf_puts(&b, "}}");
    if (!r->note[0]) util_strlcpy(r->note, msg, sizeof r->note);
    reply_body(r, status, "application/json", b.p, b.len, code);
    buf_free(&b);
}

void http_reply_error(struct http_req *r, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_error_v(r, status, code, fmt, ap);
    va_end(ap);
}

void http_reply_err(struct http_req *r, int status, const char *code, const struct err *e)
{
    http_reply_error(r, status, code, "%s", e->msg);
}

/* --- connections --- */

static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
    struct http *s = arg;
    for (int i = 0; i < s->nconns; i++) {
        if (s->conns[i] != evcon) continue;
        s->conns[i] = s->conns[--s->nconns];
        return;
    }
}

/* Counts the request's connection. Returns 0, or -1 when it is past the cap. */
static int conn_admit(struct http *s, struct evhttp_connection *evcon)
{
    for (int i = 0; i < s->nconns; i++)
        if (s->conns[i] == evcon) return 0;
    if (s->nconns == s->cfg.max_conns) return -1;
    s->conns[s->nconns++] = evcon;
    evhttp_connection_set_closecb(evcon, on_conn_close, s);
    return 0;
}

/* --- dispatch --- */

static void peer_of(struct evhttp_request *req, char *out, size_t n)
{
    char *addr = NULL;
    ev_uint16_t port = 0;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    if (evcon) evhttp_connection_get_peer(evcon, &addr, &port);
    snprintf(out, n, "%s:%u", addr ? addr : "?", (unsigned)port);
}

/* The client part of peer (address without the port), for the rate limit. */
static void client_of(const char *peer, char *out, size_t n)
{
    util_strlcpy(out, peer, n);
    char *colon = strrchr(out, ':');
    if (colon) *colon = 0;
}

static int needs_token(const char *path)
{
    return !strncmp(path, "/api/", 5) || !strcmp(path, "/api") || !strcmp(path, "/metrics") ||
           !strcmp(path, "/ws");
}

static void dispatch(struct http_req *r)
{
    struct http *s = r->s;
    char segbuf[512], *segs[HTTP_MAX_SEGS], client[64];
    int nsegs = split_path(r->path, segbuf, sizeof segbuf, segs);
    unsigned allowed = 0;
    r->route = nsegs < 0 ? NULL : route_find(s, r->method, segs, nsegs, &allowed);
    unsigned flags = r->route ? r->route->route->flags : 0;
    client_of(r->peer, client, sizeof client);
    r->cred = http_authenticate(s, r, flags & HTTP_TAKEOVER);
    /* the kill switch is exempt only for a caller with the token: anyone else is
     * limited like every other request */
    int exempt = (flags & HTTP_UNLIMITED) && r->cred != CRED_NONE;
    if (!exempt && !http_rate_take(s, client)) {
        s->stats.rate_limited++;
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After", "1");
        return http_reply_error(r, 429, "rate_limited", "too many requests from %s", client);
    }
    const char *origin = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Origin");
    if (origin && !http_origin_allowed(s, origin))
        return http_reply_error(r, 403, "forbidden", "cross-origin request refused (Origin %s)",
                                origin);
    int public = r->route ? (flags & HTTP_PUBLIC) : !needs_token(r->path);
    if (!public && r->cred == CRED_NONE) {
        s->stats.unauthorized++;
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "WWW-Authenticate", "Bearer");
        return http_reply_error(r, 401, "unauthorized",
                                "a token is required: Authorization: Bearer TOKEN, or open the "
                                "login link the host printed at start");
    }
    if (!r->route) {
        if (allowed) {
            char allow[64] = "";
            for (unsigned m = 1; m <= HTTP_PATCH; m <<= 1)
                if (allowed & m) {
                    if (*allow) strcat(allow, ", ");
                    strcat(allow, method_name(m));
                }
            evhttp_add_header(evhttp_request_get_output_headers(r->req), "Allow", allow);
            return http_reply_error(r, 405, "method_not_allowed", "%s %s: allowed: %s",
                                    method_name(r->method), r->path, allow);
        }
        if ((r->method == EVHTTP_REQ_GET || r->method == EVHTTP_REQ_HEAD) &&
            !needs_token(r->path) && http_static_serve(r) == 0)
            return;
        return http_reply_error(r, 404, "not_found", "no such resource: %s", r->path);
    }
    bind_params(r, segs);
    r->route->route->fn(r, r->route->arg);
    ASSERT(r->replied || r->taken_over || (flags & HTTP_TAKEOVER));
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct http *s = arg;
    struct http_req r = {.s = s, .req = req, .method = evhttp_request_get_command(req)};
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    r.path = uri ? evhttp_uri_get_path(uri) : NULL;
    r.query_raw = uri ? evhttp_uri_get_query(uri) : NULL;
    TAILQ_INIT(&r.query);
    peer_of(req, r.peer, sizeof r.peer);
    if (!r.path || !*r.path) r.path = "/";
    if (!http_host_allowed(s, req)) {
        http_reply_error(&r, 403, "forbidden", "Host header not allowed");
    } else if (conn_admit(s, evhttp_request_get_connection(req)) != 0) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        http_reply_error(&r, 503, "unavailable", "too many connections (max %d)", s->cfg.max_conns);
    } else {
        dispatch(&r);
    }
    if (r.query_parsed) evhttp_clear_headers(&r.query);
    for (int i = 0; i < r.nparams; i++) free(r.param_values[i]);
    cJSON_Delete(r.body);
}

/* --- in-process calls --- */

int http_call_local(struct http *s, unsigned method, const char *target, const char *body,
                    size_t len, const char *who, struct buf *out)
{
    char path[512], segbuf[512], *segs[HTTP_MAX_SEGS];
    const char *q = strchr(target, '?');
    size_t plen = q ? (size_t)(q - target) : strlen(target);
    struct http_req r = {.s = s,
                         .method = method,
                         .path = path,
                         .query_raw = q ? q + 1 : NULL,
                         .cred = CRED_LOCAL,
                         .local_body = body,
                         .local_len = body ? len : 0,
                         .local_out = out};
    TAILQ_INIT(&r.query);
    util_strlcpy(r.peer, who, sizeof r.peer);
    snprintf(path, sizeof path, "%.*s", (int)MIN(plen, sizeof path - 1), target);
    int nsegs = plen < sizeof path ? split_path(path, segbuf, sizeof segbuf, segs) : -1;
    unsigned allowed = 0;
    r.route = nsegs < 0 ? NULL : route_find(s, method, segs, nsegs, &allowed);
    if (r.route && (r.route->route->flags & HTTP_TAKEOVER)) r.route = NULL;
    if (!r.route && allowed)
        http_reply_error(&r, 405, "method_not_allowed", "%s %s: not allowed", method_name(method),
                         path);
    else if (!r.route) http_reply_error(&r, 404, "not_found", "no such resource: %s", path);
    else {
        bind_params(&r, segs);
        r.route->route->fn(&r, r.route->arg);
        ASSERT(r.replied);
    }
    if (r.query_parsed) evhttp_clear_headers(&r.query);
    for (int i = 0; i < r.nparams; i++) free(r.param_values[i]);
    cJSON_Delete(r.body);
    return r.local_status;
}

/* --- lifecycle --- */

/* accept() failed (out of file descriptors, most likely: a flood of idle connections).
 * libevent's listener would retry at once and forever, spinning the loop and logging
 * each failure; instead it pauses for ACCEPT_PAUSE_MS, and says so at most once a
 * second. Connections already open keep being served, and idle ones time out. */
#define ACCEPT_PAUSE_MS 100

static void on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
    struct http *s = arg;
    evconnlistener_enable(evhttp_bound_socket_get_listener(s->bound));
}

/* The listener's callbacks get evhttp's pointer (its own accept callback's argument), not
 * ours: live servers are found by it. A process runs one server (tests a few). */
static struct http *live_servers[8];

static void server_register(struct http *s, int on)
{
    for (size_t i = 0; i < ARRAY_LEN(live_servers); i++) {
        if (on && !live_servers[i]) {
            live_servers[i] = s;
            return;
        }
        if (!on && live_servers[i] == s) live_servers[i] = NULL;
    }
    ASSERT(!on); /* more servers than slots */
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    struct http *s = NULL;
    for (size_t i = 0; i < ARRAY_LEN(live_servers) && !s; i++)
        if (live_servers[i] && live_servers[i]->evh == arg) s = live_servers[i];
    if (!s) return;
    int err = EVUTIL_SOCKET_ERROR();
    evconnlistener_disable(l);
    struct timeval pause = {0, ACCEPT_PAUSE_MS * 1000};
    evtimer_add(s->accept_ev, &pause);
    s->stats.accept_errors++;
    int64_t now = mono_ns();
    if (now - s->accept_logged_ns < 1000000000) return;
    s->accept_logged_ns = now;
    log_warn("http", "accept failed; pausing new connections",
             "error=%s conns=%d pause_ms=%d "
             "failures=%llu",
             log_quote((char[96]){0}, 96, evutil_socket_error_to_string(err)), s->nconns,
             ACCEPT_PAUSE_MS, (unsigned long long)s->stats.accept_errors);
}

static int bind_server(struct http *s, struct err *e)
{
    s->bound = evhttp_bind_socket_with_handle(s->evh, s->addr, (ev_uint16_t)s->port);
    if (!s->bound)
        return err_set(e, "http: cannot listen on %s:%d: %s", s->addr, s->port,
                       evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    s->accept_ev = evtimer_new(s->base, on_accept_resume, s);
    server_register(s, 1);
    evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(s->bound), on_accept_error);
    evutil_socket_t fd = evhttp_bound_socket_get_fd(s->bound);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
        s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    int v6 = strchr(s->addr, ':') != NULL;
    snprintf(s->login_url, sizeof s->login_url, "http://%s%s%s:%d/login?token=%s", v6 ? "[" : "",
             s->addr, v6 ? "]" : "", s->port, s->token);
    return 0;
}

static int open_audit(struct http *s, struct err *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/audit.log", s->cfg.var_dir);
    return (s->audit = audit_open(path, e)) ? 0 : -1;
}

struct http *http_new(struct event_base *base, const struct http_config *cfg, struct err *e)
{
    struct http *s = xcalloc(1, sizeof *s);
    s->base = base;
    s->cfg = *cfg;
    http_config_defaults(&s->cfg);
    if (s->cfg.offline) return open_audit(s, e) == 0 ? s : (http_free(s), NULL);
    if (parse_listen(s->cfg.listen, s->addr, sizeof s->addr, &s->port, e) != 0) goto fail;
    s->loopback = is_loopback(s->addr);
    if (!s->loopback && !s->cfg.token) {
        err_set(e,
                "http: refusing to listen on %s (not loopback) without a token in the "
                "config (http.token)",
                s->addr);
        goto fail;
    }
    if (http_access_init(s, e) != 0 || open_audit(s, e) != 0) goto fail;
    s->conns = xcalloc(s->cfg.max_conns, sizeof *s->conns);
    s->evh = evhttp_new(base);
    evhttp_set_max_headers_size(s->evh, (ev_ssize_t)s->cfg.max_headers);
    evhttp_set_max_body_size(s->evh, (ev_ssize_t)s->cfg.max_body);
    evhttp_set_timeout(s->evh, s->cfg.timeout_s);
    evhttp_set_allowed_methods(s->evh, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                           EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH | EVHTTP_REQ_HEAD |
                                           EVHTTP_REQ_OPTIONS);
    evhttp_set_gencb(s->evh, on_request, s);
    static const struct http_route login[] = {{HTTP_GET, "/login", http_login, HTTP_PUBLIC}};
    http_add_routes(s, login, 1, s);
    if (bind_server(s, e) != 0) goto fail;
    return s;
fail:
    http_free(s);
    return NULL;
}

void http_free(struct http *s)
{
    if (!s) return;
    if (s->evh) evhttp_free(s->evh);
    if (s->accept_ev) event_free(s->accept_ev), server_register(s, 0);
    audit_close(s->audit);
    http_access_fini(s);
    free(s->conns);
    free(s->routes);
    free(s);
}

const char *http_login_url(const struct http *s)
{
    return s->login_url;
}
int http_port(const struct http *s)
{
    return s->port;
}
const char *http_token(const struct http *s)
{
    return s->token;
}

void http_stats(const struct http *s, struct http_stats *out)
{
    *out = s->stats;
    out->conns = s->nconns;
}
