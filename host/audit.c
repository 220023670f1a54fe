/* audit.c: the audit log (see audit.h). Records are built in a buffer and written with
 * one write(2) on an O_APPEND descriptor, so a record is never split even if another
 * process appends to the same file. A body that is valid JSON is embedded as is (so
 * the log stays machine-readable); anything else is embedded as a string. */
#include "audit.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "util.h"

#define AUDIT_BODY_MAX 4096

struct audit {
    int fd;
    char *path;
};

struct audit *audit_open(const char *path, struct err *e)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        err_set(e, "audit log %s: %s", path, strerror(errno));
        return NULL;
    }
    struct audit *a = xcalloc(1, sizeof *a);
    a->fd = fd;
    a->path = xstrdup(path);
    return a;
}

void audit_close(struct audit *a)
{
    if (!a) return;
    close(a->fd);
    free(a->path);
    free(a);
}

static void put_body(struct buf *b, const char *body)
{
    size_t n = strlen(body);
    cJSON *j = n <= AUDIT_BODY_MAX ? cJSON_ParseWithLength(body, n) : NULL;
    if (j) {
        char *text = cJSON_PrintUnformatted(j);
        buf_puts(b, text);
        free(text);
        cJSON_Delete(j);
        return;
    }
    buf_put_json_str(b, body, MIN(n, (size_t)AUDIT_BODY_MAX));
}

int audit_write(struct audit *a, const char *who, const char *what, const char *body, int status,
                const char *code, const char *note)
{
    char ts[32];
    struct buf b = BUF_INIT;
    buf_puts(&b, "{\"ts\":\"");
    buf_puts(&b, util_iso8601(wall_us(), ts, sizeof ts));
    buf_puts(&b, "\",\"who\":");
    buf_put_json_str(&b, who, strlen(who));
    buf_puts(&b, ",\"what\":");
    buf_put_json_str(&b, what, strlen(what));
    buf_puts(&b, ",\"body\":");
    if (body && *body) put_body(&b, body);
    else buf_puts(&b, "null");
    buf_printf(&b, ",\"status\":%d,\"code\":", status);
    if (code) buf_put_json_str(&b, code, strlen(code));
    else buf_puts(&b, "null");
    buf_puts(&b, ",\"note\":");
    if (note && *note) buf_put_json_str(&b, note, strlen(note));
    else buf_puts(&b, "null");
    buf_puts(&b, "}\n");
    ssize_t w = write(a->fd, b.p, b.len);
    int rc = 0;
    char q1[128], q2[512], q3[512];
    if (w != (ssize_t)b.len) {
        log_error("audit", "write failed", "path=%s error=%s", log_quote(q2, sizeof q2, a->path),
                  log_quote(q1, sizeof q1, w < 0 ? strerror(errno) : "short write"));
        rc = -1;
    }
    log_info("audit", "call", "who=%s what=%s status=%d code=%s note=%s",
             log_quote(q1, sizeof q1, who), log_quote(q2, sizeof q2, what), status,
             code ? code : "-", log_quote(q3, sizeof q3, note && *note ? note : "-"));
    buf_free(&b);
    return rc;
}
