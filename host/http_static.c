/* http_static.c: the page's files. No directory is ever served as such: "/" is
 * web/index.html, "/NAME" a regular file directly in web/, "/vendor/NAME" a regular
 * file in the vendor directory (which the build fills from an explicit allow-list of
 * npm dist files), and only with a known extension. NAME is letters, digits, '.', '-'
 * and '_' and never starts with a dot, so no path can climb out; symlinks are not
 * followed. Files are sent with evbuffer_add_file (sendfile). The page is public (it
 * holds no data; every /api call it makes needs the token). */
#include <event2/buffer.h>
#include <event2/http.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_internal.h"
#include "util.h"

static const struct {
    const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".json", "application/json"},
};

static const char *type_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < ARRAY_LEN(types); i++)
        if (!strcmp(dot, types[i].ext)) return types[i].type;
    return NULL;
}

static int name_ok(const char *name)
{
    if (!*name || *name == '.' || strlen(name) > 128) return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == '_'))
            return 0;
    return 1;
}

static int send_file(struct http_req *r, const char *dir, const char *name)
{
    const char *type = type_of(name);
    if (!dir || !type || !name_ok(name)) return -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -1;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
    evhttp_add_header(h, "Content-Type", type);
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    struct evbuffer *b = evbuffer_new();
    if (st.st_size > 0) evbuffer_add_file(b, fd, 0, st.st_size); /* takes fd */
    else close(fd);
    r->replied = 1;
    r->s->stats.requests++;
    evhttp_send_reply(r->req, 200, "OK", b);
    evbuffer_free(b);
    return 0;
}

int http_static_serve(struct http_req *r)
{
    const struct http_config *c = &r->s->cfg;
    const char *p = r->path;
    if (!strcmp(p, "/")) return send_file(r, c->web_dir, "index.html");
    if (!strcmp(p, "/favicon.ico") && send_file(r, c->web_dir, "favicon.ico") != 0) {
        http_reply_text(r, 204, "", "", 0);
        return 0;
    }
    if (!strncmp(p, "/vendor/", 8)) return send_file(r, c->vendor_dir, p + 8);
    if (strchr(p + 1, '/')) return -1;
    return send_file(r, c->web_dir, p + 1);
}
