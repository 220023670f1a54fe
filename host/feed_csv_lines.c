/* feed_csv_lines.c: lines of a plain or gzip file (feed_csv_lines.h).
 *
 * The buffer holds buf[pos..len) unread; csv_lines_more moves an incomplete last line
 * to the front and reads behind it, so a line is always contiguous. Reads ask zlib for
 * all the free space (up to 1 MiB, or CSV_LINES_READ): for plain files zlib then reads
 * straight into our buffer, for gzip files it inflates into it. At the end of the input zlib
 * reports a gzip stream cut short as Z_BUF_ERROR, which is an error here, not a silent end. */
#include "feed_csv_lines.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "util.h"

#define READ_BYTES  (1u << 20) /* the buffer, and so the longest line */
#define ZLIB_BUFFER (256u << 10)
#define UTF8_BOM    "\xef\xbb\xbf"
/* Bytes asked of zlib per read (at most the buffer's free space). The fuzz build makes
 * it small, so that lines straddle reads and the buffer is compacted often. */
#ifndef CSV_LINES_READ
#define CSV_LINES_READ READ_BYTES
#endif
#define UTF8_BOM_LEN 3

static int fill(struct csv_lines *r, struct err *e)
{
    int errnum = Z_OK;
    int got = gzread(r->gz, r->buf + r->len, (unsigned)MIN(r->cap - r->len, CSV_LINES_READ));
    if (got < 0) {
        const char *msg = gzerror(r->gz, &errnum);
        return err_set(e, "%s: read error: %s", r->path, errnum == Z_ERRNO ? strerror(errno) : msg);
    }
    if (got == 0) {
        gzerror(r->gz, &errnum);
        if (errnum == Z_BUF_ERROR)
            return err_set(e, "%s: the gzip data ends early (a truncated file?)", r->path);
        r->eof = 1;
    }
    r->len += (size_t)got;
    z_off_t off = gzoffset(r->gz);
    if (off >= 0) r->offset = (uint64_t)off;
    return 0;
}

int csv_lines_open(struct csv_lines *r, const char *path, struct err *e)
{
    struct stat st;
    memset(r, 0, sizeof *r);
    r->path = path;
    if (stat(path, &st) < 0) return err_set(e, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return err_set(e, "%s: not a regular file", path);
    r->size = (uint64_t)st.st_size;
    r->gz = gzopen(path, "rb");
    if (!r->gz) return err_set(e, "%s: cannot open: %s", path, strerror(errno ? errno : ENOMEM));
    gzbuffer(r->gz, ZLIB_BUFFER);
    r->cap = READ_BYTES;
    r->buf = xcalloc(1, r->cap + CSV_LINES_PAD);
    if (fill(r, e) < 0) {
        csv_lines_close(r);
        return -1;
    }
    if (r->len >= UTF8_BOM_LEN && memcmp(r->buf, UTF8_BOM, UTF8_BOM_LEN) == 0)
        r->pos = UTF8_BOM_LEN;
    return 0;
}

int csv_lines_more(struct csv_lines *r, const char **line, size_t *n, struct err *e)
{
    for (;;) {
        char *p = r->buf + r->pos;
        if (memchr(p, '\n', r->len - r->pos)) return csv_lines_next(r, line, n, e);
        if (r->eof) {
            size_t len = r->len - r->pos;
            if (len == 0) return 0;
            if (p[len - 1] == '\r') len--;
            r->pos = r->len;
            r->line++;
            *line = p;
            *n = len;
            return 1;
        }
        if (r->pos > 0) {
            memmove(r->buf, p, r->len - r->pos);
            r->len -= r->pos;
            r->pos = 0;
        }
        if (r->len == r->cap)
            return err_set(e, "%s:%" PRIu64 ": the line is longer than %zu bytes", r->path,
                           r->line + 1, r->cap);
        if (fill(r, e) < 0) return -1;
    }
}

void csv_lines_close(struct csv_lines *r)
{
    if (r->gz) gzclose(r->gz);
    free(r->buf);
    r->gz = NULL;
    r->buf = NULL;
    r->pos = r->len = 0;
}
