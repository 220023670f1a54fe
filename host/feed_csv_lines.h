/* feed_csv_lines.h: the lines of one file, plain or gzip, for feed_csv.
 *
 * Every file goes through zlib (gzopen reads plain files transparently), with a 256 KiB
 * zlib buffer and 1 MiB reads into a buffer the lines are cut from with memchr: the
 * line returned points into that buffer and stays valid until the next call. A line
 * ends at '\n' (a '\r' before it is dropped; the last line needs no '\n'); a UTF-8 BOM
 * at the start of the file is skipped. The buffer is followed by CSV_LINES_PAD readable
 * zero bytes, so a caller may load 16 bytes from any position inside a line. */
#ifndef LUATRADE_FEED_CSV_LINES_H
#define LUATRADE_FEED_CSV_LINES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "err.h"

#define CSV_LINES_PAD 16

struct csv_lines {
    const char *path; /* borrowed, for messages */
    gzFile gz;
    char *buf;
    size_t cap;      /* bytes of buf that hold data (a line may be that long at most) */
    size_t pos, len; /* unread bytes: buf[pos..len) */
    int eof;
    uint64_t line;   /* number of the last line returned, from 1 */
    uint64_t size;   /* the file's size on disk */
    uint64_t offset; /* bytes of the file consumed so far (compressed bytes for gzip) */
};

/* Opens path (a regular file). 0, or -1 with e ("PATH: ..."); r is then closed. */
int csv_lines_open(struct csv_lines *r, const char *path, struct err *e);
/* The slow path of csv_lines_next: reads more of the file. */
int csv_lines_more(struct csv_lines *r, const char **line, size_t *n, struct err *e);
/* Closes the file and frees the buffer; a closed or zeroed r is a no-op. */
void csv_lines_close(struct csv_lines *r);

/* The next line (without its end): 1, 0 at the end of the file, -1 with e on a read
 * error, truncated gzip data or a line longer than the buffer. */
static inline int csv_lines_next(struct csv_lines *r, const char **line, size_t *n, struct err *e)
{
    char *p = r->buf + r->pos;
    char *nl = memchr(p, '\n', r->len - r->pos);
    if (!nl) return csv_lines_more(r, line, n, e);
    size_t len = (size_t)(nl - p);
    if (len && p[len - 1] == '\r') len--;
    r->pos = (size_t)(nl + 1 - r->buf);
    r->line++;
    *line = p;
    *n = len;
    return 1;
}

#endif
