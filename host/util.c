/* util.c: assertions, checked allocation, time sources, durations, ISO-8601 and file
 * reading. Nothing here knows about trading or Lua. */
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"

void util_assert_fail(const char *expr, const char *file, int line)
{
    log_error("assert", "assertion failed", "expr=\"%s\" at=%s:%d", expr, file, line);
    abort();
}

static void *oom(size_t n)
{
    fprintf(stderr, "luatrade: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    return p ? p : oom(n);
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    return p ? p : oom(count * size);
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    return q ? q : oom(n);
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

size_t util_strlcpy(char *dst, const char *src, size_t dstsize)
{
    size_t len = strlen(src);
    if (dstsize) {
        size_t n = len < dstsize - 1 ? len : dstsize - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int util_parse_duration(const char *s, int64_t *out_us)
{
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0) return -1;
    if (*s == '+' || *s == '-' || *s == ' ') return -1;
    double unit;
    if (!strcmp(end, "") || !strcmp(end, "s")) unit = 1e6;
    else if (!strcmp(end, "ms")) unit = 1e3;
    else if (!strcmp(end, "us")) unit = 1;
    else if (!strcmp(end, "m")) unit = 60e6;
    else if (!strcmp(end, "h")) unit = 3600e6;
    else if (!strcmp(end, "d")) unit = 86400e6;
    else return -1;
    double us = v * unit;
    if (us > 9.2e18) return -1;
    *out_us = (int64_t)llround(us);
    return 0;
}

char *util_iso8601(int64_t ts_us, char *buf, size_t n)
{
    int64_t secs = ts_us >= 0 ? ts_us / 1000000 : (ts_us - 999999) / 1000000;
    int64_t frac = ts_us - secs * 1000000;
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)frac);
    return buf;
}

int64_t util_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = y >= 0 ? y / 400 : -((-(y + 1)) / 400) - 1; /* floor, no overflow */
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void util_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int util_json_depth(const char *p, size_t n)
{
    int depth = 0, max = 0, in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (in_str) {
            if (c == '\\') i++;
            else if (c == '"') in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            depth++; /* not inside MAX(), which evaluates its arguments twice */
            max = MAX(max, depth);
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return max;
}

char *util_read_file(const char *path, size_t max_bytes, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        int e = errno;
        fclose(f);
        errno = e;
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        fclose(f);
        errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        return NULL;
    }
    if ((size_t)st.st_size > max_bytes) {
        fclose(f);
        errno = EFBIG;
        return NULL;
    }
    char *data = xmalloc((size_t)st.st_size + 1);
    size_t got = fread(data, 1, (size_t)st.st_size, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        free(data);
        errno = EIO;
        return NULL;
    }
    data[got] = '\0';
    if (len) *len = got;
    return data;
}
