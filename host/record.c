/* record.c: the recorder (see record.h; the bytes are record_codec.c's).
 *
 * Records are encoded straight into one 64 KiB block buffer whose first bytes are kept
 * for the block's length and checksum and the 'R' kind; recorder_flush seals the block
 * and hands it to one write(2) (looping only on a short write). The host flushes once a
 * second, and a record that might not fit flushes first, so the loop pays one write per
 * second or per 64 KiB and nothing else: no fsync but at close, no allocation per event.
 *
 * Rotation: day_end_us is the first µs of the UTC day after the open file's start. A
 * record at or past it flushes and closes the file and opens the one for its own day,
 * whose header starts at that record's time (so the record's time delta is 0). Files are
 * created with O_EXCL: DIR/DATE.ltr, else DATE.1.ltr, DATE.2.ltr, ... (a host restarted
 * the same day never touches the earlier file).
 *
 * Time: ts = max(ts, last record's time), so a wall clock stepped back is recorded as no
 * time passing: replayed time never decreases and the day never rotates backwards.
 *
 * Failure: a failed create or write logs once ("recording stopped") and closes the file;
 * from then on records are only counted as dropped. A partial block left at the end of
 * the file reads as a torn tail. Invariant: fd >= 0 exactly when !failed. */
#include "record.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "record_internal.h"
#include "util.h"

#define BLOCK_SIZE   (64u << 10)
#define BLOCK_PREFIX (REC_BLOCK_HEAD + 1) /* head and the 'R' kind */
#define DAY_US       INT64_C(86400000000)
#define US_PER_S     1000000
#define SEGMENTS_MAX 10000 /* DATE.1.ltr .. DATE.9999.ltr */
#define DIR_MODE     0700
#define FILE_MODE    0600

struct recorder {
    char *dir; /* without trailing slashes */
    char path[PATH_MAX];
    int fd;
    int64_t day_end_us;
    struct rec_state st;
    struct instruments ins; /* the registry at open: every file's header */
    uint64_t seed;
    uint8_t *block; /* BLOCK_SIZE bytes; records from BLOCK_PREFIX to len */
    size_t len;
    uint64_t block_events, block_markers; /* the records in block: lost if its write fails */
    struct recorder_stats stats;
};

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b < 0);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* mkdir -p with DIR_MODE; the last component must end up a directory. */
static int make_dirs(const char *dir, struct err *e)
{
    char p[PATH_MAX];
    if (util_strlcpy(p, dir, sizeof p) >= sizeof p) return err_set(e, "%s: path too long", dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, DIR_MODE) != 0 && errno != EEXIST)
            return err_set(e, "%s: cannot create the directory: %s", p, strerror(errno));
        *s = '/';
    }
    if (mkdir(p, DIR_MODE) != 0 && errno != EEXIST)
        return err_set(e, "%s: cannot create the directory: %s", p, strerror(errno));
    struct stat sb;
    if (stat(p, &sb) != 0) return err_set(e, "%s: %s", p, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return err_set(e, "%s: not a directory", p);
    return 0;
}

/* Creates the first free DIR/DATE[.N].ltr for start_us's UTC day. */
static int create_file(struct recorder *r, int64_t start_us, struct err *e)
{
    time_t secs = (time_t)floor_div(start_us, US_PER_S);
    struct tm tm;
    if (!gmtime_r(&secs, &tm))
        return err_set(e, "%s: time %lld out of range", r->dir, (long long)start_us);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%d", &tm);
    for (int seg = 0; seg < SEGMENTS_MAX; seg++) {
        if (seg) snprintf(r->path, sizeof r->path, "%s/%s.%d.ltr", r->dir, date, seg);
        else snprintf(r->path, sizeof r->path, "%s/%s.ltr", r->dir, date);
        r->fd = open(r->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, FILE_MODE);
        if (r->fd >= 0) return 0;
        if (errno != EEXIST) return err_set(e, "%s: cannot create: %s", r->path, strerror(errno));
    }
    return err_set(e, "%s/%s.ltr: %d recordings that day already", r->dir, date, SEGMENTS_MAX);
}

/* Opens the file that starts at start_us and writes its magic and header. */
static int open_file(struct recorder *r, int64_t start_us, struct err *e)
{
    if (create_file(r, start_us, e)) return -1;
    struct buf b = BUF_INIT;
    buf_put(&b, REC_MAGIC, REC_MAGIC_LEN);
    buf_reserve(&b, REC_BLOCK_HEAD);
    b.len += REC_BLOCK_HEAD;
    rec_header_encode(&b, r->seed, start_us, &r->ins);
    rec_block_seal((uint8_t *)b.p + REC_MAGIC_LEN, b.len - REC_MAGIC_LEN - REC_BLOCK_HEAD);
    int rc = write_all(r->fd, (const uint8_t *)b.p, b.len);
    if (rc) err_set(e, "%s: cannot write: %s", r->path, strerror(errno));
    else r->stats.bytes += b.len;
    buf_free(&b);
    if (rc) {
        close(r->fd);
        r->fd = -1;
        return -1;
    }
    rec_state_fini(&r->st);
    rec_state_init(&r->st, &r->ins, start_us);
    r->day_end_us = (floor_div(start_us, DAY_US) + 1) * DAY_US;
    r->stats.files++;
    log_info("record", "recording", "file=%s instruments=%d", r->path, r->ins.n);
    return 0;
}

static void stop(struct recorder *r, const char *why)
{
    char q[ERR_MSG_MAX + 8];
    log_error("record", "recording stopped", "error=%s", log_quote(q, sizeof q, why));
    if (r->fd >= 0) close(r->fd);
    r->fd = -1;
    r->stats.failed = 1;
    r->stats.events -= r->block_events;
    r->stats.markers -= r->block_markers;
    r->stats.dropped += r->block_events + r->block_markers;
    r->block_events = r->block_markers = 0;
    r->len = BLOCK_PREFIX;
}

struct recorder *recorder_open(const char *dir, const struct instruments *ins, uint64_t seed,
                               int64_t start_us, struct err *e)
{
    if (!dir || !*dir) return err_set(e, "record: no directory given"), NULL;
    if (make_dirs(dir, e)) return NULL;
    struct recorder *r = xcalloc(1, sizeof *r);
    r->dir = xstrdup(dir);
    for (size_t n = strlen(r->dir); n > 1 && r->dir[n - 1] == '/';) r->dir[--n] = '\0';
    r->seed = seed;
    r->fd = -1;
    for (int i = 0; i < ins->n; i++)
        if (instruments_add(&r->ins, &ins->v[i], e) < 0) goto fail;
    r->block = xmalloc(BLOCK_SIZE);
    r->block[REC_BLOCK_HEAD] = REC_KIND_RECORDS;
    r->len = BLOCK_PREFIX;
    if (open_file(r, start_us, e)) goto fail;
    return r;
fail:
    recorder_close(r);
    return NULL;
}

void recorder_flush(struct recorder *r)
{
    if (!r || r->len == BLOCK_PREFIX || r->fd < 0) return;
    size_t payload = r->len - REC_BLOCK_HEAD;
    rec_block_seal(r->block, payload);
    if (write_all(r->fd, r->block, r->len) != 0) {
        struct err e;
        err_set(&e, "%s: cannot write: %s", r->path, strerror(errno));
        stop(r, e.msg);
        return;
    }
    r->stats.bytes += r->len;
    r->len = BLOCK_PREFIX;
    r->block_events = r->block_markers = 0;
}

/* Room for one record at time *ts (clamped, the file rotated when the day changed), or
 * NULL when recording stopped. */
static uint8_t *room(struct recorder *r, int64_t *ts)
{
    if (r->fd < 0) return NULL;
    if (*ts < r->st.last_us) *ts = r->st.last_us;
    if (*ts >= r->day_end_us) {
        recorder_flush(r);
        if (r->fd < 0) return NULL;
        close(r->fd);
        r->fd = -1;
        struct err e;
        if (open_file(r, *ts, &e)) {
            stop(r, e.msg);
            return NULL;
        }
    }
    if (r->len + REC_RECORD_MAX > BLOCK_SIZE) recorder_flush(r);
    return r->fd < 0 ? NULL : r->block + r->len;
}

void recorder_market(struct recorder *r, const struct event *ev)
{
    if (!r || ev->type != EV_MARKET_DATA) return;
    int sym = ev->md_kind == MD_QUOTE ? ev->u.quote.sym : ev->u.trade.sym;
    int64_t ts = ev->ts_us;
    uint8_t *p = sym >= 0 && sym < r->ins.n ? room(r, &ts) : NULL;
    if (!p) {
        r->stats.dropped++;
        return;
    }
    r->len += rec_encode_market(&r->st, ts, ev, p);
    r->stats.events++;
    r->block_events++;
}

void recorder_timers(struct recorder *r, int64_t now_us)
{
    if (!r) return;
    uint8_t *p = room(r, &now_us);
    if (!p) {
        r->stats.dropped++;
        return;
    }
    r->len += rec_encode_timers(&r->st, now_us, p);
    r->stats.markers++;
    r->block_markers++;
}

void recorder_close(struct recorder *r)
{
    if (!r) return;
    recorder_flush(r);
    if (r->fd >= 0) {
        fdatasync(r->fd);
        close(r->fd);
    }
    if (r->stats.files)
        log_info("record", "closed",
                 "events=%llu markers=%llu bytes=%llu files=%llu dropped=%llu failed=%d",
                 (unsigned long long)r->stats.events, (unsigned long long)r->stats.markers,
                 (unsigned long long)r->stats.bytes, (unsigned long long)r->stats.files,
                 (unsigned long long)r->stats.dropped, r->stats.failed);
    rec_state_fini(&r->st);
    instruments_free(&r->ins);
    free(r->block);
    free(r->dir);
    free(r);
}

void recorder_stats(const struct recorder *r, struct recorder_stats *out)
{
    *out = r->stats;
}
