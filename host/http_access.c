/* http_access.c: who may talk to the server (DESIGN.md §9, Security).
 *
 * - The token: 256 random bits as 64 hex digits. Taken from the config when set,
 *   else read from VAR/http.token, else generated on first start (RAND_bytes) and
 *   written there with mode 0600 (O_EXCL, so two starts never race to different
 *   tokens). A token file that others can read is refused: it is a password.
 * - Credentials: "Authorization: Bearer TOKEN", the luatrade_token cookie that
 *   /login sets (HttpOnly, SameSite=Strict: other sites' pages cannot send it), and
 *   ?token= on the WebSocket upgrade only. Compared in constant time.
 * - Host allow-list (DNS rebinding: a hostile name resolving to 127.0.0.1 still
 *   sends its own name): localhost, 127.0.0.1, ::1, the bound address, and the
 *   configured names. Origin, when a browser sends one, must be http(s)://ALLOWED-HOST
 *   on our port, or configured: this closes cross-site WebSocket hijacking and
 *   cross-site POSTs.
 * - Rate limit: a token bucket per client address (rate_per_s, burst) in a fixed
 *   open-addressing table; when the table is full the least recently seen client's
 *   slot is reused, which can only make a limit more lenient, never lock anyone out. */
#include <ctype.h>
#include <errno.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_internal.h"
#include "log.h"
#include "util.h"

#define RATE_SLOTS 1024
#define RATE_PROBE 16
#define COOKIE     "luatrade_token"

/* --- the token --- */

static int token_valid(const char *t)
{
    size_t n = strlen(t);
    if (n < 32 || n > HTTP_TOKEN_HEX) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)t[i]) && t[i] != '-' && t[i] != '_') return 0;
    return 1;
}

static int token_generate(char out[HTTP_TOKEN_HEX + 1], struct err *e)
{
    unsigned char raw[HTTP_TOKEN_HEX / 2];
    if (RAND_bytes(raw, sizeof raw) != 1) return err_set(e, "http: no random bytes for a token");
    for (size_t i = 0; i < sizeof raw; i++) snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

static int token_read(const char *path, char out[HTTP_TOKEN_HEX + 1], struct err *e)
{
    struct stat st;
    if (stat(path, &st) != 0) return err_set(e, "%s: %s", path, strerror(errno));
    if (st.st_mode & 077)
        return err_set(e, "%s is readable by others (mode %03o); chmod 600 it", path,
                       st.st_mode & 0777);
    size_t len;
    char *text = util_read_file(path, 256, &len);
    if (!text) return err_set(e, "%s: %s", path, strerror(errno));
    while (len && isspace((unsigned char)text[len - 1])) text[--len] = 0;
    int ok = token_valid(text);
    if (ok) util_strlcpy(out, text, HTTP_TOKEN_HEX + 1);
    free(text);
    return ok ? 0 : err_set(e, "%s: not a token (32-64 letters, digits, - or _)", path);
}

/* Reads VAR/http.token, creating it on first start. */
static int token_load(struct http *s, struct err *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/http.token", s->cfg.var_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno != EEXIST) return err_set(e, "%s: %s", path, strerror(errno));
        return token_read(path, s->token, e);
    }
    int rc = token_generate(s->token, e);
    char line[HTTP_TOKEN_HEX + 2];
    int n = snprintf(line, sizeof line, "%s\n", s->token);
    if (rc == 0 && (write(fd, line, n) != n || fsync(fd) != 0))
        rc = err_set(e, "%s: %s", path, strerror(errno));
    close(fd);
    if (rc != 0) unlink(path);
    else log_info("http", "token generated", "path=%s", path);
    return rc;
}

/* --- Host and Origin --- */

static void add_host(struct http *s, const char *name)
{
    s->hosts = xrealloc(s->hosts, (s->nhosts + 1) * sizeof *s->hosts);
    char *h = xstrdup(name);
    for (char *p = h; *p; p++) *p = (char)tolower((unsigned char)*p);
    s->hosts[s->nhosts++] = h;
}

int http_access_init(struct http *s, struct err *e)
{
    if (s->cfg.token) {
        if (!token_valid(s->cfg.token))
            return err_set(e, "http.token: expected 32-64 letters, digits, - or _");
        util_strlcpy(s->token, s->cfg.token, sizeof s->token);
    } else if (token_load(s, e) != 0) {
        return -1;
    }
    static const char *const local[] = {"localhost", "127.0.0.1", "::1"};
    for (size_t i = 0; i < ARRAY_LEN(local); i++) add_host(s, local[i]);
    if (strcmp(s->addr, "0.0.0.0") && strcmp(s->addr, "::")) add_host(s, s->addr);
    for (int i = 0; i < s->cfg.nhosts; i++) add_host(s, s->cfg.hosts[i]);
    s->rate = xcalloc(RATE_SLOTS, sizeof *s->rate);
    return 0;
}

void http_access_fini(struct http *s)
{
    for (int i = 0; i < s->nhosts; i++) free(s->hosts[i]);
    free(s->hosts);
    free(s->rate);
    explicit_bzero(s->token, sizeof s->token);
}

/* Splits "name:port", "[v6]:port" or "name" into a lowercase name and a port (0 when
 * absent). Returns -1 when malformed. */
static int split_hostport(const char *in, char *name, size_t n, int *port)
{
    const char *end = in + strlen(in), *colon = NULL;
    if (*in == '[') {
        const char *rb = strchr(in, ']');
        if (!rb || (rb[1] && rb[1] != ':')) return -1;
        if ((size_t)(rb - in - 1) >= n) return -1;
        memcpy(name, in + 1, rb - in - 1);
        name[rb - in - 1] = 0;
        colon = rb[1] ? rb + 1 : NULL;
    } else {
        colon = strchr(in, ':');
        const char *stop = colon ? colon : end;
        if (strchr(stop + (colon != NULL), ':') || (size_t)(stop - in) >= n) return -1;
        memcpy(name, in, stop - in);
        name[stop - in] = 0;
    }
    *port = 0;
    if (colon) {
        char *pe;
        long p = strtol(colon + 1, &pe, 10);
        if (!colon[1] || *pe || p <= 0 || p > 65535) return -1;
        *port = (int)p;
    }
    for (char *p = name; *p; p++) *p = (char)tolower((unsigned char)*p);
    return *name ? 0 : -1;
}

static int host_known(const struct http *s, const char *name)
{
    for (int i = 0; i < s->nhosts; i++)
        if (!strcmp(s->hosts[i], name)) return 1;
    return 0;
}

int http_host_allowed(const struct http *s, struct evhttp_request *req)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
    char name[256];
    int port;
    return h && split_hostport(h, name, sizeof name, &port) == 0 && host_known(s, name);
}

int http_origin_allowed(const struct http *s, const char *origin)
{
    for (int i = 0; i < s->cfg.norigins; i++)
        if (!strcmp(s->cfg.origins[i], origin)) return 1;
    const char *rest = NULL;
    int dflt = 0;
    if (!strncmp(origin, "http://", 7)) rest = origin + 7, dflt = 80;
    else if (!strncmp(origin, "https://", 8)) rest = origin + 8, dflt = 443;
    char name[256];
    int port;
    if (!rest || split_hostport(rest, name, sizeof name, &port) != 0) return 0;
    return host_known(s, name) && (port ? port : dflt) == s->port;
}

/* --- credentials --- */

static int token_equal(const struct http *s, const char *t, size_t n)
{
    size_t want = strlen(s->token);
    return n == want && CRYPTO_memcmp(t, s->token, n) == 0;
}

static int cookie_token(const struct http *s, const char *cookies)
{
    for (const char *p = cookies; p && *p;) {
        while (*p == ' ' || *p == ';') p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        size_t klen = strlen(COOKIE);
        if (len > klen && !strncmp(p, COOKIE, klen) && p[klen] == '=' &&
            token_equal(s, p + klen + 1, len - klen - 1))
            return 1;
        p = end;
    }
    return 0;
}

const char *http_cred_name(enum http_cred c)
{
    static const char *const names[] = {"anonymous", "bearer", "cookie", "query-token", "local"};
    return names[c];
}

enum http_cred http_authenticate(const struct http *s, struct http_req *r, int allow_query)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
    const char *auth = evhttp_find_header(in, "Authorization");
    if (auth && !strncasecmp(auth, "Bearer ", 7) && token_equal(s, auth + 7, strlen(auth + 7)))
        return CRED_BEARER;
    if (cookie_token(s, evhttp_find_header(in, "Cookie"))) return CRED_COOKIE;
    const char *q = allow_query ? http_query(r, "token") : NULL;
    if (q && token_equal(s, q, strlen(q))) return CRED_QUERY;
    return CRED_NONE;
}

/* --- rate limit --- */

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

int http_rate_take(struct http *s, const char *client)
{
    if (s->cfg.rate_per_s <= 0) return 1;
    int64_t now = mono_ns();
    uint32_t h = hash_str(client);
    struct rate_slot *slot = NULL, *oldest = NULL;
    for (int i = 0; i < RATE_PROBE && !slot; i++) {
        struct rate_slot *c = &s->rate[(h + i) & (RATE_SLOTS - 1)];
        if (!strcmp(c->client, client)) slot = c;
        else if (!oldest || !c->client[0] || (oldest->client[0] && c->last_ns < oldest->last_ns))
            oldest = c;
    }
    if (!slot) {
        slot = oldest;
        util_strlcpy(slot->client, client, sizeof slot->client);
        slot->tokens = s->cfg.rate_burst;
        slot->last_ns = now;
    }
    slot->tokens += (double)(now - slot->last_ns) / 1e9 * s->cfg.rate_per_s;
    if (slot->tokens > s->cfg.rate_burst) slot->tokens = s->cfg.rate_burst;
    slot->last_ns = now;
    if (slot->tokens < 1) return 0;
    slot->tokens -= 1;
    return 1;
}

/* --- login --- */

void http_login(struct http_req *r, void *arg)
{
    struct http *s = arg;
    const char *t = http_query(r, "token");
    if (!t || !token_equal(s, t, strlen(t))) {
        s->stats.unauthorized++;
        log_warn("http", "login refused", "peer=%s", r->peer);
        return http_reply_error(r, 401, "unauthorized", "wrong or missing token in the login link");
    }
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
    char cookie[256];
    snprintf(cookie, sizeof cookie, "%s=%s; HttpOnly; SameSite=Strict; Path=/", COOKIE, s->token);
    evhttp_add_header(out, "Set-Cookie", cookie);
    evhttp_add_header(out, "Location", "/");
    evhttp_add_header(out, "Referrer-Policy", "no-referrer");
    log_info("http", "login", "peer=%s", r->peer);
    http_reply_text(r, 303, "text/plain", "logged in\n", 10);
}
