/* bench_journal.c: journal throughput with fdatasync, for group commits of 1, 64 and
 * 4096 records of 100 bytes, against raw write() + fdatasync() of the same bytes as
 * the baseline measured in the same run; then the open (scan and replay) speed.
 *
 * Journal side, per group size G: a fresh file, journal_open(JOURNAL_SYNC_FDATASYNC),
 * then C times: G x journal_append of a 100-byte payload (the seq written into its
 * first bytes, so no two are equal) and one journal_commit. The clock runs over the
 * appends and the commits (framing and CRC included); commit latency comes from the
 * journal's own stats (write + fdatasync).
 *
 * Baseline: the same G records framed once up front into one buffer of G x 117 bytes,
 * then C times: one write() of it at the end of a fresh file and one fdatasync(). So
 * journal / baseline is the journal's overhead over the disk itself.
 *
 * The two alternate REPS times per G (baseline first); per-rep figures go to comment
 * lines, the medians to one BENCH line per G and one JSON line. Open: the largest
 * journal (G = 4096) is opened again with a counting replay callback, from the page
 * cache, against read() of the same file in 1 MiB chunks and journal_crc32c over it.
 *
 * No-sync latency (the host's `sync = false` order path): JOURNAL_SYNC_NONE, NOSYNC_COMMITS
 * commits of one record each; the commit's latency from the journal's stats against one
 * pwrite() of the same 117 framed bytes at the end of a raw file, timed around the call.
 * Medians of the per-commit p50 and p99 over the reps.
 *
 * Files go to BENCH_DIR, by default var/bench-journal/ in the source tree (the disk
 * the host's var/ is on; /tmp may be tmpfs, where fdatasync is free), and are removed.
 * Environment: BENCH_REPS (default 3), BENCH_DIR, LUATRADE_SRC. */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_common.h"
#include "journal.h"
#include "log.h"
#include "util.h"

#define PAYLOAD  100
#define FRAME    (PAYLOAD + 17)
#define MAX_REPS 20
#define NGROUPS  3
#define CHUNK    (1 << 20)

static const int group_sizes[NGROUPS] = {1, 64, 4096};
static const int commits_per_run[NGROUPS] = {5000, 2000, 100};

static char g_dir[PATH_MAX];

struct run {
    double recs_per_s;
    double commit_p50_us, commit_max_us; /* per commit: write + fdatasync */
};

static void payload_for(uint8_t *p, uint64_t seq)
{
    memset(p, 'x', PAYLOAD);
    memcpy(p, &seq, sizeof seq);
}

static void path_for(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", g_dir, name);
}

static struct run run_journal(int g, int commits, const char *path)
{
    struct err e;
    unlink(path);
    struct journal *j = journal_open(path, JOURNAL_SYNC_FDATASYNC, NULL, NULL, &e);
    if (!j) bench_fail("journal_open", e.msg);
    double *lat = malloc(sizeof *lat * (size_t)commits);
    uint8_t p[PAYLOAD];
    int64_t t0 = bench_now_ns();
    for (int c = 0; c < commits; c++) {
        for (int i = 0; i < g; i++) {
            payload_for(p, journal_last_seq(j) + 1);
            journal_append(j, 1, p, PAYLOAD);
        }
        if (journal_commit(j, &e) != 0) bench_fail("journal_commit", e.msg);
        struct journal_stats st;
        journal_stats(j, &st);
        lat[c] = (double)st.last_commit_ns;
    }
    int64_t dt = bench_now_ns() - t0;
    struct run r = {(double)g * commits * 1e9 / (double)dt, bench_quantile(lat, commits, 0.5) / 1e3,
                    bench_quantile(lat, commits, 1.0) / 1e3};
    journal_close(j);
    free(lat);
    return r;
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* G records framed the way the journal frames them, in one buffer. */
static uint8_t *frame_batch(int g)
{
    uint8_t *b = malloc((size_t)g * FRAME);
    for (int i = 0; i < g; i++) {
        uint8_t *r = b + (size_t)i * FRAME;
        uint64_t seq = (uint64_t)i + 1;
        put_le(r, PAYLOAD, 4);
        r[4] = 1;
        put_le(r + 5, seq, 8);
        payload_for(r + 13, seq);
        put_le(r + 13 + PAYLOAD, journal_crc32c(0, r, 13 + PAYLOAD), 4);
    }
    return b;
}

static struct run run_baseline(int g, int commits, const char *path)
{
    uint8_t *b = frame_batch(g);
    size_t n = (size_t)g * FRAME;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) bench_fail(path, strerror(errno));
    double *lat = malloc(sizeof *lat * (size_t)commits);
    int64_t t0 = bench_now_ns();
    for (int c = 0; c < commits; c++) {
        int64_t c0 = bench_now_ns();
        if (write(fd, b, n) != (ssize_t)n) bench_fail("write", strerror(errno));
        if (fdatasync(fd) != 0) bench_fail("fdatasync", strerror(errno));
        lat[c] = (double)(bench_now_ns() - c0);
    }
    int64_t dt = bench_now_ns() - t0;
    struct run r = {(double)g * commits * 1e9 / (double)dt, bench_quantile(lat, commits, 0.5) / 1e3,
                    bench_quantile(lat, commits, 1.0) / 1e3};
    close(fd);
    unlink(path);
    free(lat);
    free(b);
    return r;
}

static int count_record(uint8_t type, uint64_t seq, const void *payload, size_t len, void *arg,
                        struct err *e)
{
    (*(uint64_t *)arg)++;
    return 0;
}

/* Opening the journal at path (replay with a counting callback), reading it raw, and
 * the CRC alone over it: records/s, MB/s and MB/s. */
static void bench_open(const char *path, uint64_t want)
{
    struct err e;
    uint64_t n = 0;
    int64_t t0 = bench_now_ns();
    struct journal *j = journal_open(path, JOURNAL_SYNC_FDATASYNC, count_record, &n, &e);
    int64_t t_open = bench_now_ns() - t0;
    if (!j) bench_fail("journal_open", e.msg);
    struct journal_stats st;
    journal_stats(j, &st);
    journal_close(j);
    if (n != want || st.cut_bytes != 0) bench_fail("open", "replayed the wrong records");

    uint8_t *buf = malloc(CHUNK);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    uint64_t total = 0;
    uint32_t crc = 0;
    ssize_t r;
    t0 = bench_now_ns();
    while ((r = read(fd, buf, CHUNK)) > 0) total += (uint64_t)r;
    int64_t t_read = bench_now_ns() - t0;
    lseek(fd, 0, SEEK_SET);
    int64_t t_crc = 0;
    while ((r = read(fd, buf, CHUNK)) > 0) {
        int64_t c0 = bench_now_ns();
        crc = journal_crc32c(crc, buf, (size_t)r);
        t_crc += bench_now_ns() - c0;
    }
    close(fd);
    free(buf);
    double mb = (double)total / 1e6;
    printf("# open: %" PRIu64 " records, %.1f MB in %.1f ms; raw read %.1f ms; crc %.1f ms "
           "(crc %08x)\n",
           n, mb, t_open / 1e6, t_read / 1e6, t_crc / 1e6, crc);
    printf("BENCH journal_open records=%" PRIu64 " bytes=%" PRIu64 " open_records_per_s=%.0f "
           "open_mb_per_s=%.0f baseline_read_mb_per_s=%.0f crc32c_mb_per_s=%.0f\n",
           n, total, n * 1e9 / t_open, mb * 1e9 / t_open, mb * 1e9 / t_read, mb * 1e9 / t_crc);
    printf("{\"bench\":\"journal_open\",\"records\":%" PRIu64 ",\"bytes\":%" PRIu64
           ",\"open_records_per_s\":%.0f,\"open_mb_per_s\":%.0f,\"baseline_read_mb_per_s\":%.0f,"
           "\"crc32c_mb_per_s\":%.0f}\n",
           n, total, n * 1e9 / t_open, mb * 1e9 / t_open, mb * 1e9 / t_read, mb * 1e9 / t_crc);
}

#define NOSYNC_COMMITS 100000

/* Per-commit latency in ns of NOSYNC_COMMITS one-record commits, journal (no sync) and
 * raw pwrite; out[0..1] journal p50/p99, out[2..3] pwrite p50/p99. */
static void run_nosync(const char *jpath, const char *bpath, double out[4])
{
    static double lat[NOSYNC_COMMITS];
    struct err e;
    uint8_t p[PAYLOAD];
    unlink(jpath);
    struct journal *j = journal_open(jpath, JOURNAL_SYNC_NONE, NULL, NULL, &e);
    if (!j) bench_fail("journal_open", e.msg);
    for (int c = 0; c < NOSYNC_COMMITS; c++) {
        payload_for(p, journal_last_seq(j) + 1);
        journal_append(j, 1, p, PAYLOAD);
        if (journal_commit(j, &e) != 0) bench_fail("journal_commit", e.msg);
        struct journal_stats st;
        journal_stats(j, &st);
        lat[c] = (double)st.last_commit_ns;
    }
    journal_close(j);
    unlink(jpath);
    out[0] = bench_quantile(lat, NOSYNC_COMMITS, 0.5);
    out[1] = bench_quantile(lat, NOSYNC_COMMITS, 0.99);

    uint8_t *b = frame_batch(1);
    int fd = open(bpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) bench_fail(bpath, strerror(errno));
    for (int c = 0; c < NOSYNC_COMMITS; c++) {
        int64_t c0 = bench_now_ns();
        if (pwrite(fd, b, FRAME, (off_t)c * FRAME) != FRAME) bench_fail("pwrite", strerror(errno));
        lat[c] = (double)(bench_now_ns() - c0);
    }
    close(fd);
    unlink(bpath);
    free(b);
    out[2] = bench_quantile(lat, NOSYNC_COMMITS, 0.5);
    out[3] = bench_quantile(lat, NOSYNC_COMMITS, 0.99);
}

static void bench_nosync(const char *jpath, const char *bpath, int reps)
{
    double v[4][MAX_REPS], m[4];
    for (int r = 0; r < reps; r++) {
        double out[4];
        run_nosync(jpath, bpath, out);
        for (int k = 0; k < 4; k++) v[k][r] = out[k];
        printf("# no-sync group 1 rep %d: journal commit p50 %.0f ns p99 %.0f ns, pwrite p50 "
               "%.0f ns p99 %.0f ns\n",
               r + 1, out[0], out[1], out[2], out[3]);
    }
    for (int k = 0; k < 4; k++) m[k] = bench_median(v[k], reps);
    printf("BENCH journal_nosync group=1 commits=%d journal_commit_p50_ns=%.0f "
           "journal_commit_p99_ns=%.0f baseline_pwrite_p50_ns=%.0f baseline_pwrite_p99_ns=%.0f "
           "reps=%d\n",
           NOSYNC_COMMITS, m[0], m[1], m[2], m[3], reps);
    printf("{\"bench\":\"journal_nosync\",\"group\":1,\"commits\":%d,"
           "\"journal_commit_p50_ns\":%.0f,\"journal_commit_p99_ns\":%.0f,"
           "\"baseline_pwrite_p50_ns\":%.0f,\"baseline_pwrite_p99_ns\":%.0f,\"reps\":%d}\n",
           NOSYNC_COMMITS, m[0], m[1], m[2], m[3], reps);
}

static void setup_dir(void)
{
    const char *d = getenv("BENCH_DIR");
    if (d && *d) snprintf(g_dir, sizeof g_dir, "%s", d);
    else snprintf(g_dir, sizeof g_dir, "%s/var/bench-journal", bench_src_dir());
    char parent[PATH_MAX + 8];
    snprintf(parent, sizeof parent, "%s/..", g_dir);
    mkdir(parent, 0700);
    if (mkdir(g_dir, 0700) != 0 && errno != EEXIST) bench_fail(g_dir, strerror(errno));
}

static void print_summary(struct run jr[][MAX_REPS], struct run br[][MAX_REPS], int reps)
{
    double jm[NGROUPS], bm[NGROUPS], jp50[NGROUPS], bp50[NGROUPS], jmax[NGROUPS];
    for (int k = 0; k < NGROUPS; k++) {
        double v[4][MAX_REPS];
        for (int r = 0; r < reps; r++) {
            v[0][r] = jr[k][r].recs_per_s;
            v[1][r] = br[k][r].recs_per_s;
            v[2][r] = jr[k][r].commit_p50_us;
            v[3][r] = br[k][r].commit_p50_us;
        }
        jm[k] = bench_median(v[0], reps);
        bm[k] = bench_median(v[1], reps);
        jp50[k] = bench_median(v[2], reps);
        bp50[k] = bench_median(v[3], reps);
        jmax[k] = 0;
        for (int r = 0; r < reps; r++) jmax[k] = MAX(jmax[k], jr[k][r].commit_max_us);
        printf("BENCH journal group=%d commits=%d journal_records_per_s=%.0f "
               "baseline_records_per_s=%.0f ratio=%.3f journal_commit_p50_us=%.1f "
               "baseline_commit_p50_us=%.1f journal_commit_max_us=%.1f reps=%d\n",
               group_sizes[k], commits_per_run[k], jm[k], bm[k], jm[k] / bm[k], jp50[k], bp50[k],
               jmax[k], reps);
    }
    printf("{\"bench\":\"journal\",\"payload\":%d,\"reps\":%d,\"groups\":[", PAYLOAD, reps);
    for (int k = 0; k < NGROUPS; k++)
        printf("%s{\"group\":%d,\"commits\":%d,\"journal_records_per_s\":%.0f,"
               "\"baseline_records_per_s\":%.0f,\"ratio\":%.3f,\"journal_commit_p50_us\":%.1f,"
               "\"baseline_commit_p50_us\":%.1f,\"journal_commit_max_us\":%.1f}",
               k ? "," : "", group_sizes[k], commits_per_run[k], jm[k], bm[k], jm[k] / bm[k],
               jp50[k], bp50[k], jmax[k]);
    printf("]}\n");
}

int main(void)
{
    int reps = (int)bench_env_long("BENCH_REPS", 3);
    if (reps > MAX_REPS) reps = MAX_REPS;
    log_set_stderr(0);
    setup_dir();
    char jpath[PATH_MAX + 32], bpath[PATH_MAX + 32];
    path_for(jpath, sizeof jpath, "journal");
    path_for(bpath, sizeof bpath, "baseline");
    printf("# dir %s, %d-byte payloads (%d bytes framed), fdatasync per commit, %d reps\n", g_dir,
           PAYLOAD, FRAME, reps);
    static struct run jr[NGROUPS][MAX_REPS], br[NGROUPS][MAX_REPS];
    for (int k = 0; k < NGROUPS; k++) {
        int g = group_sizes[k], c = commits_per_run[k];
        for (int r = 0; r < reps; r++) {
            br[k][r] = run_baseline(g, c, bpath);
            jr[k][r] = run_journal(g, c, jpath);
            printf("# group %d rep %d: journal %.0f records/s (commit p50 %.1f us), baseline %.0f "
                   "records/s (commit p50 %.1f us)\n",
                   g, r + 1, jr[k][r].recs_per_s, jr[k][r].commit_p50_us, br[k][r].recs_per_s,
                   br[k][r].commit_p50_us);
            fflush(stdout);
        }
    }
    print_summary(jr, br, reps);
    /* the last run left the largest journal behind */
    bench_open(jpath, (uint64_t)group_sizes[NGROUPS - 1] * (uint64_t)commits_per_run[NGROUPS - 1]);
    unlink(jpath);
    bench_nosync(jpath, bpath, reps);
    rmdir(g_dir);
    return 0;
}
