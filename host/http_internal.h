/* http_internal.h: what http.c (server, routing, replies), http_access.c (token,
 * credentials, Host/Origin checks, rate limit, login) and http_static.c (the page's
 * files) share. Not for other modules: they use http.h. */
#ifndef LUATRADE_HTTP_INTERNAL_H
#define LUATRADE_HTTP_INTERNAL_H

#include <event2/keyvalq_struct.h>
#include <stdint.h>

#include "http.h"

struct evhttp;
struct evhttp_connection;
struct evhttp_bound_socket;
struct audit;

#define HTTP_MAX_SEGS  8
#define HTTP_TOKEN_HEX 64 /* 256 bits */

struct route_entry {
    const struct http_route *route;
    void *arg;
    int nsegs;
    const char *segs[HTTP_MAX_SEGS]; /* into segbuf; ":name" for parameters */
    char segbuf[128];
};

struct rate_slot {
    char client[48]; /* address without port; "" = free */
    double tokens;
    int64_t last_ns;
};

struct http {
    struct event_base *base;
    struct evhttp *evh;
    struct evhttp_bound_socket *bound;
    struct http_config cfg;
    char addr[64];
    int port;
    int loopback;
    char token[HTTP_TOKEN_HEX + 1];
    char login_url[256];
    char **hosts; /* allowed Host names, lowercase, without port */
    int nhosts;
    struct route_entry *routes;
    int nroutes, cap_routes;
    struct evhttp_connection **conns; /* connections being served (cap max_conns) */
    int nconns;
    struct rate_slot *rate; /* open addressing, RATE_SLOTS */
    struct audit *audit;
    struct http_stats stats;
    struct event *accept_ev; /* resumes accepting after a failed accept() */
    int64_t accept_logged_ns;
};

enum http_cred { CRED_NONE, CRED_BEARER, CRED_COOKIE, CRED_QUERY, CRED_LOCAL };

struct http_req {
    struct http *s;
    struct evhttp_request *req;
    const struct route_entry *route;
    unsigned method;
    const char *path; /* raw (percent-encoded) path */
    const char *query_raw;
    struct evkeyvalq query;
    int query_parsed;
    int nparams;
    const char *param_names[HTTP_MAX_PARAMS];
    char *param_values[HTTP_MAX_PARAMS];
    struct cJSON *body;
    char peer[64];
    enum http_cred cred;
    char note[256];
    int replied, taken_over;
    /* an in-process call (http_call_local): no evhttp request */
    const char *local_body;
    size_t local_len;
    struct buf *local_out;
    int local_status;
};

/* http_access.c */
int http_access_init(struct http *s, struct err *e);
void http_access_fini(struct http *s);
/* 1 when the request's Host header names this server (DNS rebinding guard). */
int http_host_allowed(const struct http *s, struct evhttp_request *req);
/* The credential the request carries, when it is the token; CRED_NONE otherwise.
 * allow_query: also accept ?token= (the WebSocket upgrade, where browsers cannot set
 * headers). */
enum http_cred http_authenticate(const struct http *s, struct http_req *r, int allow_query);
/* Takes one request from client's bucket; 0 when it is empty (429). */
int http_rate_take(struct http *s, const char *client);
const char *http_cred_name(enum http_cred c);
/* GET /login?token=T: sets the cookie and redirects to /. */
void http_login(struct http_req *r, void *arg);

/* http_static.c: GET of the page's files. Returns 0 when it replied, -1 when path is
 * not one of them (the caller replies 404). */
int http_static_serve(struct http_req *r);

#endif
