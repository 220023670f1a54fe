/* log.c: structured log lines (see log.h).
 *
 * A line is assembled in a stack buffer and written with one write(2) to each sink,
 * so concurrent writers (the loop and the watchdog thread) never interleave within a
 * line. Settings are plain globals written at start-up; the level is read racily on
 * purpose (a stale read only changes whether one line is written). */
#include "log.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util.h"

#define LINE_MAX_BYTES 4096

static enum log_level min_level = LOG_INFO;
static int to_stderr = 1;
static int file_fd = -1;
static int64_t (*clock_fn)(void *);
static void *clock_arg;
static void (*listener_fn)(enum log_level, const char *, void *);
static void *listener_arg;
static void (*tail_fn)(enum log_level, const char *, void *);
static void *tail_arg;

static const char *level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void log_set_level(enum log_level min)
{
    min_level = min;
}

enum log_level log_get_level(void)
{
    return min_level;
}

int log_level_parse(const char *s)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (!strcasecmp(s, names[i])) return (int)i;
    return -1;
}

int log_open_file(const char *path, struct err *e)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return err_set(e, "cannot open log file %s: %s", path, strerror(errno));
    log_close_file();
    file_fd = fd;
    return 0;
}

void log_close_file(void)
{
    if (file_fd >= 0) close(file_fd);
    file_fd = -1;
}

void log_set_stderr(int on)
{
    to_stderr = on;
}

void log_set_clock(int64_t (*now_us)(void *arg), void *arg)
{
    clock_fn = now_us;
    clock_arg = arg;
}

void log_set_listener(void (*fn)(enum log_level, const char *, void *), void *arg)
{
    listener_fn = fn;
    listener_arg = arg;
}

void log_set_tail(void (*fn)(enum log_level, const char *, void *), void *arg)
{
    tail_fn = fn;
    tail_arg = arg;
}

/* Copies src into dst, replacing control characters so one call is one line. */
static size_t put_clean(char *dst, size_t room, const char *src)
{
    size_t n = 0;
    for (; *src && n + 1 < room; src++) {
        unsigned char c = (unsigned char)*src;
        dst[n++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    return n;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

void log_write(enum log_level lvl, const char *module, const char *msg, const char *kv_fmt, ...)
{
    if (lvl < min_level) return;
    char line[LINE_MAX_BYTES];
    char ts[40];
    int64_t now = clock_fn ? clock_fn(clock_arg) : wall_us();
    util_iso8601(now, ts, sizeof ts);
    int n = snprintf(line, sizeof line, "%s %s %s ", ts, level_names[lvl], module);
    size_t len = (size_t)n;
    len += put_clean(line + len, sizeof line - len - 1, msg);
    if (kv_fmt && *kv_fmt && len + 2 < sizeof line) {
        char kv[LINE_MAX_BYTES];
        va_list ap;
        va_start(ap, kv_fmt);
        vsnprintf(kv, sizeof kv, kv_fmt, ap);
        va_end(ap);
        line[len++] = ' ';
        len += put_clean(line + len, sizeof line - len - 1, kv);
    }
    line[len] = '\0';
    if (listener_fn) listener_fn(lvl, line, listener_arg);
    if (tail_fn) tail_fn(lvl, line, tail_arg);
    line[len++] = '\n';
    if (to_stderr) write_all(STDERR_FILENO, line, len);
    if (file_fd >= 0) write_all(file_fd, line, len);
}

const char *log_quote(char *dst, size_t n, const char *s)
{
    int plain = *s != '\0';
    for (const char *p = s; *p && plain; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) plain = 0;
    }
    if (plain) {
        util_strlcpy(dst, s, n);
        return dst;
    }
    size_t o = 0;
    if (n < 3) {
        if (n) dst[0] = '\0';
        return dst;
    }
    dst[o++] = '"';
    for (const char *p = s; *p && o + 6 < n; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char)c;
        } else if (c == '\n') {
            dst[o++] = '\\';
            dst[o++] = 'n';
        } else if (c == '\t') {
            dst[o++] = '\\';
            dst[o++] = 't';
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(dst + o, n - o, "\\x%02x", c);
        } else {
            dst[o++] = (char)c;
        }
    }
    dst[o++] = '"';
    dst[o] = '\0';
    return dst;
}

static void libevent_log_cb(int severity, const char *msg)
{
    enum log_level lvl = severity == EVENT_LOG_DEBUG  ? LOG_DEBUG
                         : severity == EVENT_LOG_MSG  ? LOG_INFO
                         : severity == EVENT_LOG_WARN ? LOG_WARN
                                                      : LOG_ERROR;
    char q[1024];
    log_write(lvl, "libevent", "message", "text=%s", log_quote(q, sizeof q, msg));
}

void log_route_libevent(void)
{
    event_set_log_callback(libevent_log_cb);
}
