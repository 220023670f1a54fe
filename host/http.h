/* http.h: the HTTP server (DESIGN.md §9): one evhttp on the loop, a route table, JSON
 * replies and errors, limits and access control.
 *
 * Routes are table entries: a method mask, a pattern ("/api/strategies/:id/start";
 * ":name" matches one non-empty path segment) and a handler. A request goes through,
 * in order: Host allow-list (403), connection cap (503), authentication unless the
 * route is HTTP_PUBLIC (401), the client's rate limit unless HTTP_UNLIMITED (429), the
 * route lookup (404, or 405 when the path exists with other methods), then the
 * handler. Errors have one shape, {"error":{"code":"...","message":"..."}}.
 *
 * Handlers run on the loop thread and must reply before returning (everything they
 * read is in memory), except HTTP_TAKEOVER routes (the WebSocket upgrade), which take
 * the connection over. Every call to a route that is not a GET is written to the audit
 * log with who (address and credential), what (method, path, body) and the result
 * (status and error code), after the handler replied. */
#ifndef LUATRADE_HTTP_H
#define LUATRADE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

struct event_base;
struct evhttp_request;
struct cJSON;
struct http;
struct http_req;

struct http_config {
    const char *listen;       /* "ADDR:PORT"; default 127.0.0.1:8080 */
    const char *token;        /* NULL: read var/http.token, created on first start */
    const char *var_dir;      /* token file and audit log live here */
    const char *const *hosts; /* extra Host header names allowed (besides the bind
                                 address, localhost, 127.0.0.1 and [::1]) */
    int nhosts;
    const char *const *origins; /* extra WebSocket origins allowed (besides http://HOST
                                   for every allowed Host) */
    int norigins;
    const char *web_dir;    /* the page: web/ (index.html, app.js, style.css) */
    const char *vendor_dir; /* allow-listed npm files (build/www/vendor) */
    size_t max_body;        /* bytes; larger bodies get 413 */
    size_t max_headers;     /* bytes of request line and headers; 431/400 beyond */
    int max_conns;          /* connections served at once; 503 beyond */
    int json_depth;         /* nesting limit of request bodies */
    double rate_per_s;      /* per client address; 0 = no limit */
    double rate_burst;
    int timeout_s; /* idle keep-alive connections are closed after this long */
    int offline;   /* routes and the audit log only: no listener, no token (the
                      console's in-process calls when the web server is off) */
};

/* Default values for every field left 0/NULL. */
void http_config_defaults(struct http_config *c);

/* Route flags. */
#define HTTP_PUBLIC    0x1u /* no token needed (/health, the page's files, /login) */
#define HTTP_UNLIMITED 0x2u /* exempt from the rate limit (the kill switch) */
#define HTTP_TAKEOVER  0x4u /* the handler may keep the request (WebSocket upgrade) */

/* Method bits, equal to evhttp's EVHTTP_REQ_* values. */
#define HTTP_GET    (1u << 0)
#define HTTP_POST   (1u << 1)
#define HTTP_PUT    (1u << 3)
#define HTTP_DELETE (1u << 4)
#define HTTP_PATCH  (1u << 8)

#define HTTP_MAX_PARAMS 4

typedef void (*http_handler)(struct http_req *r, void *arg);

struct http_route {
    unsigned methods;
    const char *pattern;
    http_handler fn;
    unsigned flags;
};

/* Creates the server and binds it. Refuses (-1, e filled) a non-loopback address
 * without a configured token, a bad address, a port in use, an unreadable token file.
 * Prints nothing; http_login_url gives the URL to show. */
struct http *http_new(struct event_base *base, const struct http_config *cfg, struct err *e);
/* Closes every connection (takeover ones through their close hooks) and frees. NULL ok. */
void http_free(struct http *s);

/* Adds routes (the table must outlive the server); arg is passed to every handler.
 * Registering a pattern twice for the same method is a bug (ASSERT). */
void http_add_routes(struct http *s, const struct http_route *routes, int n, void *arg);

/* An in-process call (the console, DESIGN.md §9): runs the route for method and target
 * (a raw path with an optional query, "/api/orders?status=all"; path segments
 * percent-encoded like a client's) with body (JSON text, or NULL when len is 0) as a
 * caller holding the token would: the same handler, the same audit record, with who
 * ("console uid=1000 pid=42") as the caller. There is no connection, so no Host, Origin
 * or rate-limit check. Returns the status; the reply's body goes into out (appended).
 * Takeover routes (the WebSocket upgrade) and the page's files are not reachable: 404.
 * Loop thread only, outside any event dispatch, like every handler. */
int http_call_local(struct http *s, unsigned method, const char *target, const char *body,
                    size_t len, const char *who, struct buf *out);

/* "http://127.0.0.1:8080/login?token=..." (empty when offline) */
const char *http_login_url(const struct http *s);
/* The bound port (useful with port 0). */
int http_port(const struct http *s);
const char *http_token(const struct http *s);

/* --- inside a handler --- */

/* The value of ":name" in the matched pattern (URL-decoded), or NULL. */
const char *http_param(const struct http_req *r, const char *name);
/* A query parameter (URL-decoded), or NULL. */
const char *http_query(const struct http_req *r, const char *name);
/* Parses query parameter name as an integer in [lo, hi]; absent: *out = dflt. Returns 0,
 * or replies 400 naming the parameter and returns -1. */
int http_query_int(struct http_req *r, const char *name, int64_t lo, int64_t hi, int64_t dflt,
                   int64_t *out);
/* Bytes in the request body (0: none). */
size_t http_body_len(struct http_req *r);
/* The request body parsed as JSON (depth-limited). NULL after replying 400 (empty, not
 * JSON, too deep, not an object when want_object) — the handler just returns. The
 * result is owned by the request. */
struct cJSON *http_body_json(struct http_req *r, int want_object);
unsigned http_method(const struct http_req *r);
/* The method bit named ("GET", "POST", "PUT", "DELETE", "PATCH"), or 0. */
unsigned http_method_parse(const char *name);
const char *http_path(const struct http_req *r);
/* "127.0.0.1:53412"; for an in-process call, its who */
const char *http_peer(const struct http_req *r);
struct evhttp_request *http_evreq(struct http_req *r);
struct http *http_server(struct http_req *r);

/* Replies: each may be called once per request. http_reply_json takes ownership of
 * body; with an error status and a body in the error shape (extra fields allowed), its
 * code is what the audit record shows. Status 204 sends no body. */
void http_reply_json(struct http_req *r, int status, struct cJSON *body);
void http_reply_text(struct http_req *r, int status, const char *content_type, const char *body,
                     size_t len);
/* {"error":{"code":code,"message":...}} with status. code: "bad_request", "not_found",
 * "conflict", ... (lowercase snake case). */
void http_reply_error(struct http_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 400 from an err filled by a module ("bad_request", e->msg). */
void http_reply_err(struct http_req *r, int status, const char *code, const struct err *e);
/* Adds a note to the audit record of this request ("strategy=sma_cross"), when the
 * body alone does not say what happened. */
void http_audit_note(struct http_req *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* --- access checks the WebSocket upgrade reuses --- */

/* 1 when origin (the Origin header's value) is one the page may open /ws from. */
int http_origin_allowed(const struct http *s, const char *origin);

struct http_stats {
    uint64_t requests, errors_4xx, errors_5xx, rate_limited, unauthorized;
    uint64_t accept_errors; /* accept() failures (out of file descriptors) */
    int conns;
};
void http_stats(const struct http *s, struct http_stats *out);

#endif
