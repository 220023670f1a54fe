/* record_replay.c: reading recordings back (see record.h; the bytes are record_codec.c's).
 *
 * replay_open expands the paths (a directory gives its *.ltr files, ordered by
 * name_cmp), reads every file's header and merges the instruments by symbol into one
 * registry: the first file's ids come first, later files add the symbols they bring, and
 * a symbol recorded with another grid is an error (its prices would mean something
 * else). Each file keeps a map from its header indices to those ids.
 *
 * replay_next then reads the files one after the other, one block at a time (the payload
 * checked against its CRC before a record of it is decoded), and decodes records from
 * the block until it is used up. A file ends at its end, or at a torn tail: a block cut
 * short by the end of the file, or zeros from a block's start to the end (the unwritten
 * end of a file after a power loss). Anything else that does not check out is an error
 * naming the file and the offset of the block or record; it sticks (every later call
 * repeats it).
 *
 * Invariants: fp is open exactly while files[cur] is being read; blk[pos..len) are the
 * undecoded records of the current block, whose payload starts at file offset blk_off;
 * prev_us is the time of the last item returned (INT64_MIN before the first). */
#include "record.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "record_internal.h"
#include "util.h"

#define EXT            ".ltr"
#define EXT_LEN        4
#define SEG_MAX_DIGITS 9

struct replay_file {
    char *path;
    int torn_header;        /* ends before its header is complete: nothing to replay */
    struct instruments ins; /* its header's */
    uint64_t seed;
    int64_t start_us;
    int *map; /* header index -> id in the union */
};

struct replay {
    struct replay_file *files;
    int nfiles;
    struct instruments ins; /* the union */
    int *origin;            /* union id -> the file that brought it */
    int cur;
    FILE *fp;
    uint64_t off; /* file offset of the next unread byte */
    uint8_t *blk;
    size_t cap, len, pos;
    uint64_t blk_off;
    struct rec_state st;
    int64_t prev_us;
    struct err fail; /* msg[0] != 0: failed for good */
    struct replay_stats stats;
};

enum block_rc { BLOCK_ERR = -1, BLOCK_END, BLOCK_OK, BLOCK_TORN };

/* ---- file names ------------------------------------------------------------------------ */

/* "STEM.N.ltr" -> STEM's length and N; anything else -> the name without .ltr and 0. */
static void name_key(const char *name, size_t *stem, long *seg)
{
    size_t n = strlen(name) - EXT_LEN;
    *stem = n;
    *seg = 0;
    const char *dot = memrchr(name, '.', n);
    if (!dot) return;
    size_t digits = n - (size_t)(dot + 1 - name);
    if (digits == 0 || digits > SEG_MAX_DIGITS) return;
    for (const char *c = dot + 1; c < name + n; c++)
        if (*c < '0' || *c > '9') return;
    *stem = (size_t)(dot - name);
    *seg = strtol(dot + 1, NULL, 10);
}

/* Recording order: by stem, then segment number (DATE.ltr, DATE.1.ltr, DATE.2.ltr, ...
 * DATE.10.ltr), then name. */
static int name_cmp(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    size_t sx, sy;
    long gx, gy;
    name_key(x, &sx, &gx);
    name_key(y, &sy, &gy);
    int c = strncmp(x, y, MIN(sx, sy));
    if (c) return c;
    if (sx != sy) return sx < sy ? -1 : 1;
    if (gx != gy) return gx < gy ? -1 : 1;
    return strcmp(x, y);
}

static void add_file(struct replay *p, char *path)
{
    p->files = xrealloc(p->files, sizeof *p->files * (size_t)(p->nfiles + 1));
    p->files[p->nfiles++] = (struct replay_file){.path = path};
}

static int add_dir(struct replay *p, const char *dir, struct err *e)
{
    DIR *d = opendir(dir);
    if (!d) return err_set(e, "%s: cannot read the directory: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0;
    for (struct dirent *de; (de = readdir(d));) {
        size_t len = strlen(de->d_name);
        if (len <= EXT_LEN || strcmp(de->d_name + len - EXT_LEN, EXT) || de->d_name[0] == '.')
            continue;
        names = xrealloc(names, sizeof *names * (n + 1));
        names[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    if (n == 0) return err_set(e, "%s: no recordings (*" EXT ") in the directory", dir);
    qsort(names, n, sizeof *names, name_cmp);
    size_t dl = strlen(dir);
    int slash = dl > 0 && dir[dl - 1] == '/';
    for (size_t i = 0; i < n; i++) {
        struct buf b = BUF_INIT;
        buf_printf(&b, "%s%s%s", dir, slash ? "" : "/", names[i]);
        add_file(p, b.p);
        free(names[i]);
    }
    free(names);
    return 0;
}

static int add_path(struct replay *p, const char *path, struct err *e)
{
    struct stat sb;
    if (stat(path, &sb) != 0) return err_set(e, "%s: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) return add_dir(p, path, e);
    add_file(p, xstrdup(path));
    return 0;
}

/* ---- blocks ---------------------------------------------------------------------------- */

/* 1 when the got bytes at head and everything after them to the end of fp are zero. */
static int rest_is_zero(FILE *fp, const uint8_t *head, size_t got)
{
    for (size_t i = 0; i < got; i++)
        if (head[i]) return 0;
    uint8_t b[4096];
    for (size_t n; (n = fread(b, 1, sizeof b, fp)) > 0;)
        for (size_t i = 0; i < n; i++)
            if (b[i]) return 0;
    return !ferror(fp);
}

/* Reads the block at p->off into p->blk (len bytes of payload at blk_off). */
static enum block_rc read_block(struct replay *p, const char *path, struct err *e)
{
    uint8_t head[REC_BLOCK_HEAD];
    uint64_t at = p->off;
    size_t got = fread(head, 1, sizeof head, p->fp);
    if (ferror(p->fp)) return err_set(e, "%s: cannot read: %s", path, strerror(errno)), BLOCK_ERR;
    if (got == 0) return BLOCK_END;
    if (got < sizeof head) return BLOCK_TORN;
    uint32_t len = rec_get_u32(head), crc = rec_get_u32(head + 4);
    if (len == 0 || len > REC_BLOCK_MAX) {
        if (rest_is_zero(p->fp, head, got)) return BLOCK_TORN;
        err_set(e, "%s: offset %" PRIu64 ": block length %" PRIu32 " (expected 1..%u)", path, at,
                len, REC_BLOCK_MAX);
        return BLOCK_ERR;
    }
    if (len > p->cap) {
        p->blk = xrealloc(p->blk, len);
        p->cap = len;
    }
    got = fread(p->blk, 1, len, p->fp);
    if (ferror(p->fp)) return err_set(e, "%s: cannot read: %s", path, strerror(errno)), BLOCK_ERR;
    if (got < len) return BLOCK_TORN;
    if (rec_crc(p->blk, len) != crc) {
        err_set(e, "%s: offset %" PRIu64 ": block checksum mismatch (%" PRIu32 " bytes)", path, at,
                len);
        return BLOCK_ERR;
    }
    p->off = at + REC_BLOCK_HEAD + len;
    p->blk_off = at + REC_BLOCK_HEAD;
    p->len = len;
    p->pos = 0;
    return BLOCK_OK;
}

/* Opens f and reads past its magic and header block. Returns BLOCK_OK, BLOCK_TORN (no
 * complete header) or BLOCK_ERR; p->blk holds the header payload after BLOCK_OK. */
static enum block_rc open_file(struct replay *p, const struct replay_file *f, struct err *e)
{
    p->fp = fopen(f->path, "rb");
    if (!p->fp) return err_set(e, "%s: cannot open: %s", f->path, strerror(errno)), BLOCK_ERR;
    char magic[REC_MAGIC_LEN];
    size_t got = fread(magic, 1, sizeof magic, p->fp);
    if (ferror(p->fp))
        return err_set(e, "%s: cannot read: %s", f->path, strerror(errno)), BLOCK_ERR;
    if (memcmp(magic, REC_MAGIC, got) != 0)
        return err_set(e, "%s: offset 0: not a luatrade recording (no " REC_MAGIC " magic)",
                       f->path),
               BLOCK_ERR;
    if (got < sizeof magic) return BLOCK_TORN;
    p->off = REC_MAGIC_LEN;
    enum block_rc rc = read_block(p, f->path, e);
    return rc == BLOCK_END ? BLOCK_TORN : rc;
}

static void close_file(struct replay *p)
{
    if (p->fp) fclose(p->fp);
    p->fp = NULL;
    rec_state_fini(&p->st);
}

/* ---- open ------------------------------------------------------------------------------ */

/* Maps f's instruments into the union, refusing a symbol with another grid. */
static int merge_instruments(struct replay *p, int fi, struct err *e)
{
    struct replay_file *f = &p->files[fi];
    f->map = xcalloc((size_t)(f->ins.n ? f->ins.n : 1), sizeof *f->map);
    for (int i = 0; i < f->ins.n; i++) {
        const struct instrument *in = &f->ins.v[i];
        int id = instruments_find(&p->ins, in->symbol);
        if (id < 0) {
            if ((id = instruments_add(&p->ins, in, e)) < 0) return err_prefix(e, "%s", f->path);
            p->origin = xrealloc(p->origin, sizeof *p->origin * (size_t)p->ins.n);
            p->origin[id] = fi;
        }
        const struct instrument *u = &p->ins.v[id];
        if (u->px_dp != in->px_dp || u->tick != in->tick || u->qty_dp != in->qty_dp ||
            u->lot != in->lot)
            return err_set(e,
                           "%s: instrument %s: grid px_dp %d tick %" PRId64
                           " qty_dp %d lot %" PRId64 " differs from %s's (px_dp %d tick %" PRId64
                           " qty_dp %d lot %" PRId64 ")",
                           f->path, in->symbol, in->px_dp, in->tick, in->qty_dp, in->lot,
                           p->files[p->origin[id]].path, u->px_dp, u->tick, u->qty_dp, u->lot);
        f->map[i] = id;
    }
    return 0;
}

static int read_header(struct replay *p, int fi, struct err *e)
{
    struct replay_file *f = &p->files[fi];
    enum block_rc rc = open_file(p, f, e);
    if (rc == BLOCK_OK &&
        rec_header_decode(p->blk, p->len, &f->seed, &f->start_us, &f->ins, e) != 0) {
        err_prefix(e, "%s: offset %" PRIu64, f->path, p->blk_off);
        rc = BLOCK_ERR;
    }
    close_file(p);
    if (rc == BLOCK_ERR) return -1;
    f->torn_header = rc == BLOCK_TORN;
    return f->torn_header ? 0 : merge_instruments(p, fi, e);
}

struct replay *replay_open(const char *const *paths, int npaths, struct err *e)
{
    if (npaths <= 0) return err_set(e, "replay: no files given"), NULL;
    struct replay *p = xcalloc(1, sizeof *p);
    p->prev_us = INT64_MIN;
    for (int i = 0; i < npaths; i++)
        if (add_path(p, paths[i], e)) goto fail;
    int complete = -1;
    for (int i = 0; i < p->nfiles; i++) {
        if (read_header(p, i, e)) goto fail;
        if (complete < 0 && !p->files[i].torn_header) complete = i;
    }
    if (complete < 0) {
        err_set(e, "%s: offset 0: the recording ends before its header is complete",
                p->files[0].path);
        goto fail;
    }
    return p;
fail:
    replay_free(p);
    return NULL;
}

/* ---- reading --------------------------------------------------------------------------- */

/* Moves to the next file with a header; 0 at the end of the last one. */
static int next_file(struct replay *p, struct err *e)
{
    for (; p->cur < p->nfiles; p->cur++) {
        struct replay_file *f = &p->files[p->cur];
        if (f->torn_header) {
            p->stats.torn++;
            continue;
        }
        enum block_rc rc = open_file(p, f, e);
        if (rc == BLOCK_ERR) return -1;
        if (rc == BLOCK_TORN) { /* shortened since replay_open read it */
            close_file(p);
            p->stats.torn++;
            continue;
        }
        p->stats.files++;
        p->len = p->pos = 0;
        rec_state_init(&p->st, &f->ins, f->start_us);
        return 1;
    }
    return 0;
}

/* Decodes the record at blk[pos] into out (ids mapped, time checked). */
static int next_record(struct replay *p, struct replay_item *out, struct err *e)
{
    const struct replay_file *f = &p->files[p->cur];
    uint64_t at = p->blk_off + p->pos;
    const char *why = NULL;
    if (rec_decode(&p->st, p->blk, p->len, &p->pos, out, &why) != 0)
        return err_set(e, "%s: offset %" PRIu64 ": %s", f->path, at, why);
    if (out->ts_us < p->prev_us) {
        char t[32], prev[32];
        return err_set(e,
                       "%s: offset %" PRIu64 ": time %s is before the previous file's last "
                       "record (%s): give the files in time order",
                       f->path, at, util_iso8601(out->ts_us, t, sizeof t),
                       util_iso8601(p->prev_us, prev, sizeof prev));
    }
    p->prev_us = out->ts_us;
    if (out->kind == REPLAY_TIMERS) {
        p->stats.markers++;
        return 0;
    }
    if (out->ev.md_kind == MD_QUOTE) out->ev.u.quote.sym = f->map[out->ev.u.quote.sym];
    else out->ev.u.trade.sym = f->map[out->ev.u.trade.sym];
    p->stats.events++;
    return 0;
}

/* Reads the current file's next block; 0 when the file ended (torn or not). */
static int next_block(struct replay *p, struct err *e)
{
    const char *path = p->files[p->cur].path;
    uint64_t at = p->off;
    enum block_rc rc = read_block(p, path, e);
    if (rc == BLOCK_ERR) return -1;
    if (rc == BLOCK_OK && p->blk[0] != REC_KIND_RECORDS)
        return err_set(e, "%s: offset %" PRIu64 ": expected a block of records", path,
                       at + REC_BLOCK_HEAD);
    if (rc == BLOCK_OK) {
        p->pos = 1;
        return 1;
    }
    if (rc == BLOCK_TORN) p->stats.torn++;
    close_file(p);
    p->cur++;
    return 0;
}

int replay_next(struct replay *p, struct replay_item *out, struct err *e)
{
    if (p->fail.msg[0]) return err_set(e, "%s", p->fail.msg);
    int rc = 0;
    for (;;) {
        if (p->fp && p->pos < p->len) {
            rc = next_record(p, out, &p->fail) == 0 ? 1 : -1;
            break;
        }
        if (!p->fp) {
            rc = next_file(p, &p->fail);
            if (rc <= 0) break;
            continue;
        }
        if ((rc = next_block(p, &p->fail)) < 0) break;
    }
    if (rc < 0) {
        close_file(p);
        return err_set(e, "%s", p->fail.msg);
    }
    return rc;
}

/* ---- accessors ------------------------------------------------------------------------- */

const struct instruments *replay_instruments(const struct replay *p)
{
    return &p->ins;
}

static const struct replay_file *first_complete(const struct replay *p)
{
    for (int i = 0; i < p->nfiles; i++)
        if (!p->files[i].torn_header) return &p->files[i];
    ASSERT(!"replay_open checked that a file has a header");
    return NULL;
}

uint64_t replay_seed(const struct replay *p)
{
    return first_complete(p)->seed;
}

int64_t replay_start_us(const struct replay *p)
{
    return first_complete(p)->start_us;
}

void replay_stats(const struct replay *p, struct replay_stats *out)
{
    *out = p->stats;
}

void replay_free(struct replay *p)
{
    if (!p) return;
    close_file(p);
    for (int i = 0; i < p->nfiles; i++) {
        free(p->files[i].path);
        free(p->files[i].map);
        instruments_free(&p->files[i].ins);
    }
    free(p->files);
    free(p->origin);
    free(p->blk);
    instruments_free(&p->ins);
    free(p);
}
