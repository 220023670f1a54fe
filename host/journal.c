/* journal.c: the write-ahead log behind journal.h (DESIGN.md §8).
 *
 * On disk: a 16-byte header ("LTJRNL01", the epoch in µs) and records
 *   u32 len | u8 type | u64 seq | payload | u32 CRC-32C of everything before it,
 * integers little-endian, written byte by byte (independent of the host's byte order).
 *
 * Writing: the open file is mapped MAP_SHARED, read-write, over `cap` bytes that
 * posix_fallocate reserved (blocks allocated, not a sparse hole: a store into a hole on
 * a full disk would SIGBUS, while posix_fallocate reports ENOSPC). journal_append frames
 * a record into `pending` (memory only); journal_commit grows the reservation when the
 * records do not fit (to max(2 x cap, needed), rounded up to RESERVE_CHUNK; mremap on
 * Linux), memcpys them into the map at `size` (no system call: the bytes are in the page
 * cache, so a killed process loses nothing a pwrite would have kept) when they are few,
 * or pwrites them when they fill pages (from COPY_MAX bytes on: a system call per group
 * costs less than a page fault per page of a shared mapping; the page cache keeps the
 * two views of the file the same), then calls
 * fdatasync once: group commit. On Linux fdatasync writes back the pages dirtied through
 * a shared mapping of the file (as msync(MS_SYNC) does; fdatasync keeps one sync call per
 * commit, counted by the unit test). `size` moves only after both succeeded. A failed
 * reservation or fdatasync fails the journal for good, its reason repeated by every later
 * commit: after an fdatasync error Linux may drop the dirty pages and clear the error, so
 * a retry could report success for data that is gone. Records of a failed commit may or
 * may not be on disk after a restart; none was acknowledged, so no ack is lost. Closing
 * truncates the file to `size` (synced in sync mode), so a closed journal holds records
 * only. (On a copy-on-write file system writeback may still need space; the reservation
 * makes ENOSPC an error only where blocks are allocated in place.)
 *
 * Opening: open(O_CREAT, 0600) plus an exclusive flock (two hosts appending to one file
 * would interleave records). An empty file gets a fresh header, synced together with
 * its directory entry. Otherwise the header is checked and the records scanned from
 * 1 MiB preads (a bigger buffer only for a record that needs it, and only when the file
 * really holds its bytes). A record is checked in this order: length <=
 * JOURNAL_RECORD_MAX, seq == previous + 1 (1 first), complete, checksum; then replayed.
 * The first one failing a check ends the log: the file is truncated at its start and
 * synced, and the cut logged (offset, bytes, reason). When every byte from there to the
 * end of the file is zero, that is the unused reservation of a journal that was not
 * closed (a crash), not damage: it is cut the same way but logged at info and not
 * counted in cut_bytes (a record torn by the crash is nonzero from its seq on, so a torn
 * record followed by zeros is still a torn tail). A non-empty file shorter than the
 * header whose bytes are a prefix of the magic was torn while being created: it is
 * rewritten as a new journal.
 *
 * Invariants: `size` is the end of the last whole valid record on disk (during the scan,
 * the file offset of the next unparsed byte); once open, the file is `cap` >= `size`
 * bytes long, all of them mapped at `map`, zeros after `size`; `last_seq` is the seq of the last
 * record replayed or appended; `pending` holds the records appended since the last successful
 * commit. JOURNAL_SYNC_NONE skips every fsync and fdatasync, those of open included. */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#define COPY_MAX     4096 /* commits this big are written, smaller ones copied */
#define MAGIC        "LTJRNL01"
#define MAGIC_LEN    8
#define HEADER_LEN   16
#define REC_HEAD     13 /* len, type, seq */
#define REC_OVERHEAD 17 /* head and checksum */

/* Bytes per read while scanning; the fuzz build makes it tiny so that records straddle
 * reads (tests/fuzz/CMakeLists.txt). */
#ifndef JOURNAL_READ_CHUNK
#define JOURNAL_READ_CHUNK (1u << 20)
#endif
#define READ_CHUNK ((size_t)JOURNAL_READ_CHUNK)

#define RESERVE_CHUNK ((uint64_t)4 << 20) /* the reservation grows in multiples of this */

struct journal {
    int fd;
    char *path;
    enum journal_sync sync;
    int64_t epoch_us;
    uint64_t size;
    uint8_t *map; /* cap bytes of the file, MAP_SHARED; NULL until reserved */
    uint64_t cap;
    uint64_t last_seq;
    struct buf pending;
    int failed;
    char why[256]; /* the first commit failure, e.g. "fdatasync: Input/output error" */
    struct journal_stats st;
    struct metrics_hist commit_hist; /* every commit that wrote something (/metrics) */
};

/* ---- little-endian fields and CRC-32C -------------------------------------------------- */

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
    return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* Slicing-by-8: crc_tab[k][b] is the CRC of byte b followed by k zero bytes. */
static uint32_t crc_tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_tab[0][b] = c;
    }
    for (int k = 1; k < 8; k++)
        for (int b = 0; b < 256; b++)
            crc_tab[k][b] = (crc_tab[k - 1][b] >> 8) ^ crc_tab[0][crc_tab[k - 1][b] & 0xff];
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
/* SSE 4.2's crc32 instruction computes exactly CRC-32C (reflected, without the
 * inversions): 8 bytes per instruction instead of 8 table lookups. */
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const uint8_t *p, size_t n)
{
    uint64_t c = ~crc;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t v;
        memcpy(&v, p, sizeof v);
        c = _mm_crc32_u64(c, v);
    }
    uint32_t c32 = (uint32_t)c;
    for (; n > 0; p++, n--) c32 = _mm_crc32_u8(c32, *p);
    return ~c32;
}

static int crc_hw_ok;

static void crc_detect(void)
{
    __builtin_cpu_init();
    crc_hw_ok = __builtin_cpu_supports("sse4.2");
}
#else
static uint32_t crc_hw(uint32_t crc, const uint8_t *p, size_t n)
{
    (void)p, (void)n;
    return crc;
}
static const int crc_hw_ok = 0;
static void crc_detect(void) {}
#endif

static pthread_once_t crc_detect_once = PTHREAD_ONCE_INIT;

uint32_t journal_crc32c(uint32_t crc, const void *buf, size_t n)
{
    pthread_once(&crc_detect_once, crc_detect);
    if (crc_hw_ok) return crc_hw(crc, buf, n);
    return journal_crc32c_portable(crc, buf, n);
}

uint32_t journal_crc32c_portable(uint32_t crc, const void *buf, size_t n)
{
    pthread_once(&crc_once, crc_init);
    const uint8_t *p = buf;
    crc = ~crc;
    for (; n >= 8; p += 8, n -= 8) {
        uint32_t lo = get_le32(p) ^ crc, hi = get_le32(p + 4);
        crc = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^ crc_tab[5][(lo >> 16) & 0xff] ^
              crc_tab[4][lo >> 24] ^ crc_tab[3][hi & 0xff] ^ crc_tab[2][(hi >> 8) & 0xff] ^
              crc_tab[1][(hi >> 16) & 0xff] ^ crc_tab[0][hi >> 24];
    }
    for (; n > 0; p++, n--) crc = crc_tab[0][(crc ^ *p) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* ---- file helpers ---------------------------------------------------------------------- */

static int sys_err(struct err *e, const struct journal *j, const char *what)
{
    return err_set(e, "%s: %s: %s", j->path, what, strerror(errno));
}

/* Reads up to n bytes at off; fewer only at the end of the file. -1 with errno on error. */
static ssize_t read_full(int fd, void *p, size_t n, uint64_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, (char *)p + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        done += (size_t)r;
    }
    return (ssize_t)done;
}

/* Writes all n bytes at off. Returns 0, or -1 with errno set. */
static int write_full(int fd, const void *p, size_t n, uint64_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = pwrite(fd, (const char *)p + done, n - done, (off_t)(off + done));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        if (w == 0) {
            errno = EIO; /* never for a regular file; do not spin */
            return -1;
        }
        done += (size_t)w;
    }
    return 0;
}

/* Makes the directory entry of path durable (after the file was created). */
static int sync_dir(const struct journal *j, struct err *e)
{
    const char *slash = strrchr(j->path, '/');
    char *dir = !slash             ? xstrdup(".")
                : slash == j->path ? xstrdup("/")
                                   : xstrndup(j->path, (size_t)(slash - j->path));
    int rc = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0)
        rc = err_set(e, "%s: fsync of directory %s: %s", j->path, dir, strerror(errno));
    if (fd >= 0) close(fd);
    free(dir);
    return rc;
}

/* ---- opening --------------------------------------------------------------------------- */

static int open_locked(struct journal *j, struct err *e)
{
    j->fd = open(j->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (j->fd < 0) return sys_err(e, j, "open");
    if (flock(j->fd, LOCK_EX | LOCK_NB) == 0) return 0;
    if (errno == EWOULDBLOCK) return err_set(e, "%s: already open (locked)", j->path);
    return sys_err(e, j, "flock");
}

/* Checks the first MIN(size, 16) bytes. Returns 0 when the header is ours (epoch set),
 * 1 when the file needs a fresh header (empty, or torn while being created), -1 with e
 * filled. */
static int read_header(struct journal *j, uint64_t size, struct err *e)
{
    uint8_t h[HEADER_LEN];
    size_t n = (size_t)MIN(size, (uint64_t)HEADER_LEN);
    ssize_t got = read_full(j->fd, h, n, 0);
    if (got < 0) return sys_err(e, j, "read");
    n = (size_t)got;
    if (memcmp(h, MAGIC, MIN(n, (size_t)MAGIC_LEN)) != 0)
        return err_set(e, "%s: not a luatrade journal", j->path);
    if (n == HEADER_LEN) {
        j->epoch_us = (int64_t)get_le64(h + MAGIC_LEN);
        return 0;
    }
    if (n > 0) {
        char q[512];
        log_warn("journal", "torn header rewritten", "path=%s cut_bytes=%zu",
                 log_quote(q, sizeof q, j->path), n);
        j->st.cut_bytes = n;
    }
    return 1;
}

static int write_header(struct journal *j, struct err *e)
{
    uint8_t h[HEADER_LEN];
    memcpy(h, MAGIC, MAGIC_LEN);
    j->epoch_us = wall_us();
    put_le64(h + MAGIC_LEN, (uint64_t)j->epoch_us);
    if (ftruncate(j->fd, 0) != 0) return sys_err(e, j, "ftruncate");
    if (write_full(j->fd, h, HEADER_LEN, 0) != 0) return sys_err(e, j, "write");
    if (j->sync == JOURNAL_SYNC_FDATASYNC) {
        if (fdatasync(j->fd) != 0) return sys_err(e, j, "fdatasync");
        if (sync_dir(j, e) != 0) return -1;
    }
    j->size = HEADER_LEN;
    return 0;
}

/* The scan: buf[pos..len) holds the unparsed bytes, which start at file offset j->size
 * and end at read_off. */
struct scan {
    struct journal *j;
    journal_replay_fn fn;
    void *arg;
    uint8_t *buf;
    size_t cap, len, pos;
    uint64_t read_off, file_size;
    const char *why; /* why the log ended before file_size */
};

static int scan_stop(struct scan *s, const char *why)
{
    s->why = why;
    return 1;
}

/* Replays the whole records in buf[pos..len). Returns 0 when the next record needs more
 * bytes (*need of them), 1 when a record failed a check (why set), -1 when the
 * callback failed. */
static int scan_records(struct scan *s, size_t *need, struct err *e)
{
    struct journal *j = s->j;
    for (;;) {
        size_t avail = s->len - s->pos;
        *need = REC_HEAD;
        if (avail < REC_HEAD) return 0; /* buf may still be NULL */
        const uint8_t *p = s->buf + s->pos;
        uint32_t n = get_le32(p);
        uint64_t seq = get_le64(p + 5);
        if (n > JOURNAL_RECORD_MAX) return scan_stop(s, "bad_length");
        if (seq != j->last_seq + 1) return scan_stop(s, "bad_seq");
        *need = (size_t)n + REC_OVERHEAD;
        if (avail < *need) return 0;
        if (get_le32(p + REC_HEAD + n) != journal_crc32c(0, p, REC_HEAD + (size_t)n))
            return scan_stop(s, "checksum_mismatch");
        if (s->fn && s->fn(p[4], seq, p + REC_HEAD, n, s->arg, e) != 0)
            return err_prefix(e, "%s: replay of record %" PRIu64, j->path, seq);
        j->last_seq = seq;
        j->st.records++;
        j->size += *need;
        s->pos += *need;
    }
}

/* Moves the unparsed bytes to the front and reads more, so that buf holds at least need
 * unparsed bytes (the caller checked that the file has them). */
static int scan_fill(struct scan *s, size_t need, struct err *e)
{
    size_t left = s->len - s->pos;
    if (left) memmove(s->buf, s->buf + s->pos, left);
    s->len = left;
    s->pos = 0;
    uint64_t rest = s->file_size - s->read_off;
    size_t want = MAX(need, (size_t)MIN((uint64_t)READ_CHUNK, left + rest));
    if (want > s->cap) {
        s->buf = xrealloc(s->buf, want);
        s->cap = want;
    }
    size_t n = (size_t)MIN((uint64_t)(s->cap - s->len), rest);
    ssize_t got = read_full(s->j->fd, s->buf + s->len, n, s->read_off);
    if (got < 0) return sys_err(e, s->j, "read");
    if ((size_t)got < n) s->file_size = s->read_off + (uint64_t)got; /* shrank under us */
    s->len += (size_t)got;
    s->read_off += (uint64_t)got;
    return 0;
}

/* Sets *zero to whether bytes [off, end) of the file are all zero. */
static int tail_is_zero(struct journal *j, uint64_t off, uint64_t end, int *zero, struct err *e)
{
    static const uint8_t zeros[4096];
    uint8_t b[4096];
    *zero = 1;
    while (off < end && *zero) {
        ssize_t got = read_full(j->fd, b, (size_t)MIN((uint64_t)sizeof b, end - off), off);
        if (got < 0) return sys_err(e, j, "read");
        if (got == 0) break; /* shrank under us */
        *zero = memcmp(b, zeros, (size_t)got) == 0;
        off += (uint64_t)got;
    }
    return 0;
}

/* Truncates the file after the last valid record and reports the cut: at info when the
 * rest was zeros (an unused reservation), else as a torn or corrupt tail. */
static int cut_tail(struct journal *j, uint64_t file_size, const char *why, struct err *e)
{
    int zero;
    if (tail_is_zero(j, j->size, file_size, &zero, e) != 0) return -1;
    if (ftruncate(j->fd, (off_t)j->size) != 0) return sys_err(e, j, "ftruncate");
    if (j->sync == JOURNAL_SYNC_FDATASYNC && fsync(j->fd) != 0) return sys_err(e, j, "fsync");
    char q[512];
    if (zero) {
        log_info("journal", "unused reservation cut",
                 "path=%s offset=%" PRIu64 " zero_bytes=%" PRIu64 " records=%" PRIu64,
                 log_quote(q, sizeof q, j->path), j->size, file_size - j->size, j->st.records);
        return 0;
    }
    j->st.cut_bytes = file_size - j->size;
    log_warn("journal", "torn or corrupt tail cut",
             "path=%s offset=%" PRIu64 " cut_bytes=%" PRIu64 " reason=%s records=%" PRIu64,
             log_quote(q, sizeof q, j->path), j->size, j->st.cut_bytes, why, j->st.records);
    return 0;
}

static int scan(struct journal *j, uint64_t file_size, journal_replay_fn fn, void *arg,
                struct err *e)
{
    struct scan s = {.j = j, .fn = fn, .arg = arg, .read_off = HEADER_LEN, .file_size = file_size};
    int rc;
    j->size = HEADER_LEN;
    if (e) e->msg[0] = '\0';
    for (;;) {
        size_t need;
        rc = scan_records(&s, &need, e);
        if (rc != 0) break;
        if (j->size + need > s.file_size) {
            s.why = s.len - s.pos < REC_HEAD ? "truncated_header" : "truncated_record";
            break;
        }
        if ((rc = scan_fill(&s, need, e)) != 0) break;
    }
    free(s.buf);
    if (rc < 0) return -1;
    return j->size < s.file_size ? cut_tail(j, s.file_size, s.why, e) : 0;
}

/* Makes the file and the map at least end bytes long. Returns 0, or -1 with errno set
 * and *what naming the call that failed; the old reservation and map stay valid. */
static int reserve(struct journal *j, uint64_t end, const char **what)
{
    if (end <= j->cap) return 0;
    uint64_t cap = MAX(2 * j->cap, end);
    cap = (cap + RESERVE_CHUNK - 1) / RESERVE_CHUNK * RESERVE_CHUNK;
    int rc = posix_fallocate(j->fd, (off_t)j->size, (off_t)(cap - j->size));
    if (rc != 0) {
        errno = rc; /* posix_fallocate returns the error instead of setting errno */
        *what = "fallocate";
        return -1;
    }
    void *m;
#ifdef __linux__
    if (j->map) m = mremap(j->map, (size_t)j->cap, (size_t)cap, MREMAP_MAYMOVE);
    else m = mmap(NULL, (size_t)cap, PROT_READ | PROT_WRITE, MAP_SHARED, j->fd, 0);
#else
    m = mmap(NULL, (size_t)cap, PROT_READ | PROT_WRITE, MAP_SHARED, j->fd, 0);
    if (m != MAP_FAILED && j->map) munmap(j->map, (size_t)j->cap);
#endif
    if (m == MAP_FAILED) {
        *what = "mmap";
        return -1;
    }
    j->map = m;
    j->cap = cap;
    return 0;
}

static void journal_destroy(struct journal *j)
{
    if (j->map) munmap(j->map, (size_t)j->cap);
    if (j->fd >= 0) close(j->fd);
    buf_free(&j->pending);
    free(j->path);
    free(j);
}

struct journal *journal_open(const char *path, enum journal_sync sync, journal_replay_fn fn,
                             void *arg, struct err *e)
{
    struct journal *j = xcalloc(1, sizeof *j);
    struct stat st;
    int rc;
    j->fd = -1;
    j->path = xstrdup(path);
    j->sync = sync;
    if (open_locked(j, e) != 0) goto fail;
    if (fstat(j->fd, &st) != 0) {
        sys_err(e, j, "fstat");
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        err_set(e, "%s: not a regular file", path);
        goto fail;
    }
    rc = read_header(j, (uint64_t)st.st_size, e);
    if (rc == 1) rc = write_header(j, e);
    else if (rc == 0) rc = scan(j, (uint64_t)st.st_size, fn, arg, e);
    if (rc != 0) goto fail;
    const char *what;
    if (reserve(j, j->size + 1, &what) != 0) {
        sys_err(e, j, what);
        goto fail;
    }
    return j;
fail:
    journal_destroy(j);
    return NULL;
}

void journal_close(struct journal *j)
{
    if (!j) return;
    struct err e;
    if (j->pending.len && !j->failed && journal_commit(j, &e) != 0) {
        char q[ERR_MSG_MAX + 16];
        log_error("journal", "commit at close failed", "error=%s", log_quote(q, sizeof q, e.msg));
    }
    /* Give back the reservation: a closed journal is its records only. A failed journal
     * is not synced again (see journal_commit); a zero tail left by it is harmless. */
    munmap(j->map, (size_t)j->cap);
    j->map = NULL;
    const char *what = NULL;
    if (ftruncate(j->fd, (off_t)j->size) != 0) what = "ftruncate";
    else if (j->sync == JOURNAL_SYNC_FDATASYNC && !j->failed && fdatasync(j->fd) != 0)
        what = "fdatasync";
    if (what) {
        char q[ERR_MSG_MAX + 16];
        sys_err(&e, j, what);
        log_error("journal", "truncate at close failed", "error=%s", log_quote(q, sizeof q, e.msg));
    }
    journal_destroy(j);
}

/* ---- appending and committing ---------------------------------------------------------- */

uint64_t journal_append(struct journal *j, uint8_t type, const void *payload, size_t len)
{
    ASSERT(len <= JOURNAL_RECORD_MAX);
    ASSERT(payload || len == 0);
    uint8_t head[REC_HEAD], crc[4];
    uint64_t seq = j->last_seq + 1;
    put_le32(head, (uint32_t)len);
    head[4] = type;
    put_le64(head + 5, seq);
    size_t start = j->pending.len;
    buf_reserve(&j->pending, REC_OVERHEAD + len);
    buf_put(&j->pending, head, REC_HEAD);
    if (len) buf_put(&j->pending, payload, len);
    put_le32(crc, journal_crc32c(0, j->pending.p + start, REC_HEAD + len));
    buf_put(&j->pending, crc, sizeof crc);
    j->last_seq = seq;
    j->st.records++;
    return seq;
}

size_t journal_pending(const struct journal *j)
{
    return j->pending.len;
}

static int commit_failed(struct journal *j, const char *what, struct err *e)
{
    snprintf(j->why, sizeof j->why, "%s: %s", what, strerror(errno));
    j->failed = 1;
    return err_set(e, "%s: %s", j->path, j->why);
}

int journal_commit(struct journal *j, struct err *e)
{
    if (j->failed) return err_set(e, "%s: failed earlier (%s)", j->path, j->why);
    if (j->pending.len == 0) return 0;
    int64_t t0 = mono_ns();
    const char *what;
    if (reserve(j, j->size + j->pending.len, &what) != 0) return commit_failed(j, what, e);
    if (j->pending.len < COPY_MAX) memcpy(j->map + j->size, j->pending.p, j->pending.len);
    else if (write_full(j->fd, j->pending.p, j->pending.len, j->size) != 0)
        return commit_failed(j, "write", e);
    if (j->sync == JOURNAL_SYNC_FDATASYNC && fdatasync(j->fd) != 0)
        return commit_failed(j, "fdatasync", e);
    int64_t dt = mono_ns() - t0;
    j->size += j->pending.len;
    buf_reset(&j->pending);
    j->st.commits++;
    j->st.last_commit_ns = dt;
    j->st.max_commit_ns = MAX(j->st.max_commit_ns, dt);
    metrics_hist_observe(&j->commit_hist, dt);
    return 0;
}

int journal_reserve_ahead(struct journal *j, struct err *e)
{
    if (j->failed || j->size <= j->cap / 2) return 0;
    const char *what;
    if (reserve(j, j->cap + 1, &what) != 0) return commit_failed(j, what, e);
    return 0;
}

int journal_failed(const struct journal *j)
{
    return j->failed;
}

int64_t journal_epoch_us(const struct journal *j)
{
    return j->epoch_us;
}

uint64_t journal_last_seq(const struct journal *j)
{
    return j->last_seq;
}

void journal_stats(const struct journal *j, struct journal_stats *out)
{
    *out = j->st;
    out->bytes = j->size;
}

const struct metrics_hist *journal_commit_hist(const struct journal *j)
{
    return &j->commit_hist;
}
