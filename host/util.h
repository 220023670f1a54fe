/* util.h: assertions, checked allocation and small helpers shared by every module.
 *
 * ASSERT is for broken invariants (bugs): it logs file:line and aborts. Expected
 * failures use struct err (err.h) instead. Allocation in the host never fails
 * silently: xmalloc and friends abort on out-of-memory (STYLE.md, Errors). */
#ifndef LUATRADE_UTIL_H
#define LUATRADE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ASSERT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) util_assert_fail(#cond, __FILE__, __LINE__);                                  \
    } while (0)

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)    ((a) < (b) ? (a) : (b))
#define MAX(a, b)    ((a) > (b) ? (a) : (b))

/* Logs "assertion failed" with the location and aborts. Never returns. */
void util_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

/* Allocation that aborts on out-of-memory. xfree(NULL) is a no-op like free. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Copies at most dstsize-1 bytes and always NUL-terminates; returns strlen(src). */
size_t util_strlcpy(char *dst, const char *src, size_t dstsize);

/* Monotonic time in nanoseconds (CLOCK_MONOTONIC). */
int64_t mono_ns(void);
/* Wall-clock time in microseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t wall_us(void);

/* Parses a duration such as "250ms", "10s", "5m", "1h", "2d" or "1.5s" (a bare number
 * means seconds) into microseconds. Returns 0 on success, -1 on malformed, negative
 * or out-of-range input. */
int util_parse_duration(const char *s, int64_t *out_us);

/* Formats epoch microseconds as ISO-8601 UTC with microseconds:
 * "2026-11-21T07:39:00.123456Z". buf needs 28 bytes. Returns buf. */
char *util_iso8601(int64_t ts_us, char *buf, size_t n);
/* Days from 1970-01-01 to y-m-d (month 1-12) in the proleptic Gregorian calendar, and
 * back (H. Hinnant's algorithms; any int64 day within +-2^40 years). */
int64_t util_days_from_civil(int64_t y, int m, int d);
void util_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* The deepest nesting of JSON arrays and objects in the n bytes at p (brackets inside
 * strings skipped): checked before parsing, so a hostile body never reaches the
 * parser's recursion. Malformed text gives some number; the parser then refuses it. */
int util_json_depth(const char *p, size_t n);

/* Reads a whole regular file of at most max_bytes. Returns a NUL-terminated buffer the
 * caller frees, with *len set; NULL with errno set on failure (EFBIG when too big). */
char *util_read_file(const char *path, size_t max_bytes, size_t *len);

#endif
