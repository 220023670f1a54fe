/* Unit tests for journal, on real files in a mkdtemp directory: CRC-32C test vectors
 * and a bitwise reference; the exact header and record bytes; append/commit/reopen;
 * the epoch; uncommitted records after a crash (a forked child that _exits); a torn
 * file at every length; a flipped bit in every byte of a middle record; bad seqs and
 * lengths crafted with valid checksums; foreign and torn headers; a failing replay
 * callback; JOURNAL_RECORD_MAX (accepted) and one more (ASSERT); records larger than
 * the read chunk; the reservation growing across commits and within one; one fdatasync
 * per group commit; failing fdatasync and a reservation refused by RLIMIT_FSIZE (fail
 * closed); the lock.
 *
 * While open, the file is longer than its records (zeros reserved for the map): sizes are
 * checked through journal_stats while open and on the file after close, which truncates
 * it. A process that dies leaves the zeros; the reopen cuts them without a warning.
 *
 * fdatasync and fsync are interposed below: this executable's definitions take
 * precedence over libc's for every call in it, luatrade_core's included. They count
 * calls (and fsyncs of directories) and fail on demand, so the sync paths are tested
 * without a faulty disk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"
#include "util.h"

#define HDR 16 /* header bytes */
#define OVH 17 /* bytes of framing per record */

static int fail_sync_errno; /* nonzero: fdatasync fails with this errno */
static int n_fdatasync, n_fsync, n_dir_fsync;

int fdatasync(int fd)
{
    n_fdatasync++;
    if (fail_sync_errno) {
        errno = fail_sync_errno;
        return -1;
    }
    return (int)syscall(SYS_fdatasync, fd);
}

int fsync(int fd)
{
    struct stat st;
    n_fsync++;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) n_dir_fsync++;
    return (int)syscall(SYS_fsync, fd);
}

/* ---- fixture: a directory, a journal path, what the replay callback saw ---------------- */

struct rec {
    uint8_t type;
    uint64_t seq;
    size_t len;
    uint8_t *data;
};

struct t {
    char dir[64];
    char path[96];
    struct rec *got;
    int n, cap;
    uint64_t fail_seq; /* the callback fails on this seq (0: never) */
};

static char warn_line[2048];
static int n_warn;

static void on_log(enum log_level lvl, const char *line, void *arg)
{
    if (lvl != LOG_WARN) return;
    n_warn++;
    util_strlcpy(warn_line, line, sizeof warn_line);
}

static void forget(struct t *t)
{
    for (int i = 0; i < t->n; i++) free(t->got[i].data);
    t->n = 0;
    n_warn = 0;
    warn_line[0] = '\0';
}

static int collect(uint8_t type, uint64_t seq, const void *payload, size_t len, void *arg,
                   struct err *e)
{
    struct t *t = arg;
    if (seq == t->fail_seq) return err_set(e, "boom at %d", (int)seq);
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->got = xrealloc(t->got, sizeof *t->got * (size_t)t->cap);
    }
    struct rec *r = &t->got[t->n++];
    *r = (struct rec){type, seq, len, xmalloc(len + 1)};
    memcpy(r->data, payload, len);
    return 0;
}

static int setup(void **state)
{
    struct t *t = xcalloc(1, sizeof *t);
    strcpy(t->dir, "/tmp/luatrade-journal-XXXXXX");
    if (!mkdtemp(t->dir)) return -1;
    snprintf(t->path, sizeof t->path, "%s/journal", t->dir);
    log_set_stderr(0);
    log_set_listener(on_log, NULL);
    fail_sync_errno = 0;
    *state = t;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    return remove(path);
}

static int teardown(void **state)
{
    struct t *t = *state;
    log_set_listener(NULL, NULL);
    log_set_stderr(1);
    fail_sync_errno = 0;
    forget(t);
    free(t->got);
    nftw(t->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(t);
    return 0;
}

/* ---- helpers --------------------------------------------------------------------------- */

static uint8_t pat(uint64_t seq, size_t k)
{
    return (uint8_t)(seq * 131 + k * 7 + 3);
}

static uint8_t type_of(uint64_t seq)
{
    return (uint8_t)(seq * 37);
}

/* Appends a record of len pattern bytes with the type and contents its seq implies. */
static uint64_t append_pat(struct journal *j, size_t len)
{
    uint64_t seq = journal_last_seq(j) + 1;
    uint8_t *p = xmalloc(len + 1);
    for (size_t k = 0; k < len; k++) p[k] = pat(seq, k);
    assert_int_equal(journal_append(j, type_of(seq), p, len), seq);
    free(p);
    return seq;
}

/* The replay saw exactly n records, seqs 1..n, with lens[i] pattern bytes each. */
static void assert_replayed(const struct t *t, int n, const size_t *lens)
{
    assert_int_equal(t->n, n);
    for (int i = 0; i < n; i++) {
        const struct rec *r = &t->got[i];
        assert_int_equal(r->seq, (uint64_t)i + 1);
        assert_int_equal(r->type, type_of(r->seq));
        assert_int_equal(r->len, lens[i]);
        size_t k = 0;
        while (k < r->len && r->data[k] == pat(r->seq, k)) k++;
        assert_int_equal(k, r->len); /* the first differing byte */
    }
}

static struct journal *open_ok(struct t *t, enum journal_sync sync)
{
    struct err e = {{0}};
    forget(t);
    struct journal *j = journal_open(t->path, sync, collect, t, &e);
    if (!j) fail_msg("journal_open: %s", e.msg);
    return j;
}

/* Writes a journal of n records with lens[i] bytes each; returns the file's size. */
static uint64_t make_journal(struct t *t, int n, const size_t *lens)
{
    struct journal *j = open_ok(t, JOURNAL_SYNC_NONE);
    for (int i = 0; i < n; i++) append_pat(j, lens[i]);
    struct err e;
    assert_int_equal(journal_commit(j, &e), 0);
    struct journal_stats st;
    journal_stats(j, &st);
    journal_close(j);
    return st.bytes;
}

/* The journal's logical size (header and records). */
static uint64_t bytes_of(const struct journal *j)
{
    struct journal_stats st;
    journal_stats(j, &st);
    return st.bytes;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

static uint8_t *slurp(const char *path, size_t *n)
{
    char *p = util_read_file(path, 64u << 20, n);
    assert_non_null(p);
    return (uint8_t *)p;
}

static void spit(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    close(fd);
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Frames one record by hand (the format of journal.h) into p; returns its size. */
static size_t frame(uint8_t *p, uint8_t type, uint64_t seq, const void *payload, uint32_t len)
{
    put_le(p, len, 4);
    p[4] = type;
    put_le(p + 5, seq, 8);
    memcpy(p + 13, payload, len);
    put_le(p + 13 + len, journal_crc32c(0, p, 13 + (size_t)len), 4);
    return 17 + (size_t)len;
}

/* The open fd whose target is path (to look at its flags), or -1. */
static int fd_of(const char *path)
{
    char want[PATH_MAX], link[32], got[PATH_MAX];
    assert_non_null(realpath(path, want));
    for (int fd = 0; fd < 1024; fd++) {
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, got, sizeof got - 1);
        if (n < 0) continue;
        got[n] = '\0';
        if (!strcmp(got, want)) return fd;
    }
    return -1;
}

/* ---- CRC-32C --------------------------------------------------------------------------- */

static uint32_t crc_bitwise(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) crc = crc & 1 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return ~crc;
}

static void test_crc32c(void **state)
{
    const char *s = "123456789";
    assert_int_equal(journal_crc32c(0, s, 9), 0xE3069283u);
    assert_int_equal(journal_crc32c(0, "", 0), 0);
    for (size_t k = 0; k <= 9; k++) /* continuing from a partial crc */
        assert_int_equal(journal_crc32c(journal_crc32c(0, s, k), s + k, 9 - k), 0xE3069283u);
    /* RFC 3720 B.4 (iSCSI) */
    uint8_t v[32];
    memset(v, 0, sizeof v);
    assert_int_equal(journal_crc32c(0, v, 32), 0x8A9136AAu);
    memset(v, 0xff, sizeof v);
    assert_int_equal(journal_crc32c(0, v, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++) v[i] = (uint8_t)i;
    assert_int_equal(journal_crc32c(0, v, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++) v[i] = (uint8_t)(31 - i);
    assert_int_equal(journal_crc32c(0, v, 32), 0x113FDB5Cu);
    /* every length and alignment against the bitwise definition */
    uint8_t r[300];
    srand(7);
    for (size_t i = 0; i < sizeof r; i++) r[i] = (uint8_t)rand();
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n + off <= sizeof r; n++)
            assert_int_equal(journal_crc32c(0, r + off, n), crc_bitwise(0, r + off, n));
    /* the table path too (journal_crc32c takes the crc32 instruction when the CPU has it),
     * and continuing one from the other */
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n + off <= sizeof r; n++) {
            assert_int_equal(journal_crc32c_portable(0, r + off, n), crc_bitwise(0, r + off, n));
            uint32_t half = journal_crc32c_portable(0, r + off, n / 2);
            assert_int_equal(journal_crc32c(half, r + off + n / 2, n - n / 2),
                             crc_bitwise(0, r + off, n));
        }
}

/* ---- format, round trip, crash before commit -------------------------------------------- */

static void test_format_bytes(void **state)
{
    struct t *t = *state;
    int64_t before = wall_us();
    struct journal *j = open_ok(t, JOURNAL_SYNC_NONE);
    int64_t after = wall_us();
    assert_true(journal_epoch_us(j) >= before && journal_epoch_us(j) <= after);
    assert_int_equal(journal_append(j, 7, "hi", 2), 1);
    struct err e;
    assert_int_equal(journal_commit(j, &e), 0);
    uint8_t want[HDR + OVH + 2];
    memcpy(want, "LTJRNL01", 8);
    put_le(want + 8, (uint64_t)journal_epoch_us(j), 8);
    uint8_t head[] = {2, 0, 0, 0, 7, 1, 0, 0, 0, 0, 0, 0, 0, 'h', 'i'};
    memcpy(want + HDR, head, sizeof head);
    put_le(want + HDR + sizeof head, journal_crc32c(0, head, sizeof head), 4);
    journal_close(j);
    size_t n;
    uint8_t *got = slurp(t->path, &n);
    assert_int_equal(n, sizeof want);
    assert_memory_equal(got, want, sizeof want);
    free(got);
}

static void test_roundtrip(void **state)
{
    struct t *t = *state;
    struct journal *j = open_ok(t, JOURNAL_SYNC_NONE);
    assert_int_equal(t->n, 0);
    assert_int_equal(journal_last_seq(j), 0);
    struct stat st;
    assert_int_equal(stat(t->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    int fd = fd_of(t->path);
    assert_true(fd >= 0);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    int64_t epoch = journal_epoch_us(j);
    uint8_t big[1000];
    memset(big, 0xab, sizeof big);
    assert_int_equal(journal_append(j, 0, NULL, 0), 1);
    assert_int_equal(journal_append(j, 255, "hello", 5), 2);
    assert_int_equal(journal_append(j, 1, big, sizeof big), 3);
    assert_int_equal(journal_pending(j), 3 * OVH + 5 + sizeof big);
    assert_int_equal(bytes_of(j), HDR);                               /* appends only buffer */
    assert_true(file_size(t->path) > HDR + 3 * OVH + 5 + sizeof big); /* the reservation */
    struct err e;
    assert_int_equal(journal_commit(j, &e), 0);
    assert_int_equal(journal_pending(j), 0);
    assert_int_equal(bytes_of(j), HDR + 3 * OVH + 5 + sizeof big);
    journal_close(j);
    assert_int_equal(file_size(t->path), HDR + 3 * OVH + 5 + sizeof big); /* truncated */

    j = open_ok(t, JOURNAL_SYNC_NONE);
    assert_int_equal(journal_epoch_us(j), epoch);
    assert_int_equal(t->n, 3);
    assert_int_equal(t->got[0].type, 0);
    assert_int_equal(t->got[0].len, 0);
    assert_int_equal(t->got[1].type, 255);
    assert_memory_equal(t->got[1].data, "hello", 5);
    assert_int_equal(t->got[2].seq, 3);
    assert_memory_equal(t->got[2].data, big, sizeof big);
    struct journal_stats s;
    journal_stats(j, &s);
    assert_int_equal(s.records, 3);
    assert_int_equal(s.bytes, HDR + 3 * OVH + 5 + sizeof big);
    assert_int_equal(s.cut_bytes, 0);
    assert_int_equal(n_warn, 0);
    assert_int_equal(journal_last_seq(j), 3);
    assert_int_equal(append_pat(j, 4), 4);
    journal_close(j); /* commits what is pending */
    j = open_ok(t, JOURNAL_SYNC_NONE);
    assert_int_equal(t->n, 4);
    assert_int_equal(journal_epoch_us(j), epoch);
    journal_close(j);
}

/* A child appends, commits 2 records, appends a third and dies without closing: the
 * third was never on disk, and the unused reservation is cut quietly (no warning, not
 * counted as cut). */
static void test_uncommitted_lost_on_crash(void **state)
{
    struct t *t = *state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* no cmocka asserts in the child */
        struct err e;
        struct journal *j = journal_open(t->path, JOURNAL_SYNC_NONE, NULL, NULL, &e);
        uint8_t p[30] = {0};
        if (!j) _exit(1);
        journal_append(j, type_of(1), p, 10);
        journal_append(j, type_of(2), p, 20);
        if (journal_commit(j, &e) != 0) _exit(2);
        journal_append(j, type_of(3), p, 30);
        struct stat st;
        _exit(bytes_of(j) == HDR + 2 * OVH + 30 && stat(t->path, &st) == 0 &&
                      st.st_size > HDR + 2 * OVH + 60
                  ? 0
                  : 3);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    struct journal *j = open_ok(t, JOURNAL_SYNC_NONE);
    assert_int_equal(t->n, 2);
    assert_int_equal(t->got[1].seq, 2);
    assert_int_equal(t->got[1].len, 20);
    assert_int_equal(journal_last_seq(j), 2);
    struct journal_stats st;
    journal_stats(j, &st);
    assert_int_equal(st.cut_bytes, 0);
    assert_int_equal(n_warn, 0);
    journal_close(j);
    assert_int_equal(file_size(t->path), HDR + 2 * OVH + 30);
}

/* ---- torn and corrupt files ------------------------------------------------------------ */

/* The file cut to every length from the end of the header to its full size, alone and
 * followed by zeros (the reservation of a journal that was not closed): the whole
 * records before the cut replay, the torn one never does, the file is cut back to the
 * last whole record, and appending goes on with the next seq. The cut is a warning and
 * counted unless every byte cut is zero (then it was no record: record 2 is empty, so
 * its first four bytes are zeros). */
static void test_torn_every_length(void **state)
{
    struct t *t = *state;
    const size_t lens[] = {10, 0, 20, 300};
    uint64_t total = make_journal(t, 4, lens);
    size_t n;
    uint8_t *orig = slurp(t->path, &n);
    assert_int_equal(n, total);
    enum { ZEROS = 5000 };
    uint8_t *buf = xcalloc(1, n + ZEROS);
    memcpy(buf, orig, n);
    for (uint64_t len = HDR; len <= total; len++) {
        for (int pad = 0; pad <= ZEROS; pad += ZEROS) {
            int whole = 0;
            uint64_t end = HDR;
            while (whole < 4 && end + OVH + lens[whole] <= len) end += OVH + lens[whole++];
            int zero = 1;
            for (uint64_t b = end; b < len; b++) zero &= orig[b] == 0;
            uint64_t cut = zero ? 0 : len + (uint64_t)pad - end;
            memset(buf + len, 0, (size_t)pad);
            spit(t->path, buf, (size_t)len + (size_t)pad);
            struct journal *j = open_ok(t, JOURNAL_SYNC_NONE);
            assert_replayed(t, whole, lens);
            struct journal_stats st;
            journal_stats(j, &st);
            assert_int_equal(st.cut_bytes, cut);
            assert_int_equal(st.bytes, end);
            if (cut) {
                char want[96];
                snprintf(want, sizeof want, "offset=%llu cut_bytes=%llu", (unsigned long long)end,
                         (unsigned long long)cut);
                assert_non_null(strstr(warn_line, want));
            } else {
                assert_int_equal(n_warn, 0);
            }
            assert_int_equal(append_pat(j, 5), (uint64_t)whole + 1);
            journal_close(j);
            assert_int_equal(file_size(t->path), end + OVH + 5);
            j = open_ok(t, JOURNAL_SYNC_NONE);
            assert_int_equal(t->n, whole + 1);
            assert_int_equal(t->got[whole].len, 5);
            assert_int_equal(t->got[whole].data[4], pat((uint64_t)whole + 1, 4));
            journal_close(j);
            memcpy(buf, orig, n);
        }
    }
    free(buf);
    free(orig);
}

/* One flipped bit in any byte of record 3 of 5 (its length, type, seq, payload or
 * checksum) ends the log before record 3. */
static void test_bitflip_middle(void **state)
{
    struct t *t = *state;
    const size_t lens[] = {8, 16, 40, 16, 8};
    uint64_t total = make_journal(t, 5, lens);
    size_t n;
    uint8_t *orig = slurp(t->path, &n);
    size_t start = HDR + 2 * OVH + 8 + 16, end = start + OVH + 40;
    for (size_t b = start; b < end; b++) {
        orig[b] ^= (uint8_t)(1u << (b % 8));
        spit(t->path, orig, n);
        orig[b] ^= (uint8_t)(1u << (b % 8));
        struct journal *j = open_ok(t, JOURNAL_SYNC_NONE);
        assert_replayed(t, 2, lens);
        assert_int_equal(bytes_of(j), start);
        struct journal_stats st;
        journal_stats(j, &st);
        assert_int_equal(st.cut_bytes, total - start);
        assert_int_equal(n_warn, 1);
        journal_close(j);
    }
    free(orig);
}

/* A journal header copied from a real journal, then records framed by hand. */
static size_t crafted(struct t *t, uint8_t *p)
{
    struct journal *j = open_ok(t, JOURNAL_SYNC_NONE);
    journal_close(j);
    size_t n;
    uint8_t *h = slurp(t->path, &n);
    assert_int_equal(n, HDR);
    memcpy(p, h, HDR);
    free(h);
    return HDR;
}

static void expect_cut(struct t *t, const uint8_t *p, size_t n, int records, size_t at,
                       const char *reason)
{
    spit(t->path, p, n);
    struct journal *j = open_ok(t, JOURNAL_SYNC_NONE);
    assert_int_equal(t->n, records);
    assert_int_equal(bytes_of(j), at);
    assert_non_null(strstr(warn_line, reason));
    assert_int_equal(journal_last_seq(j), (uint64_t)records);
    journal_close(j);
}

/* Checksums are right but the seq or the length is not. */
static void test_bad_seq_and_length(void **state)
{
    struct t *t = *state;
    uint8_t p[512];
    size_t h = crafted(t, p), n = h;
    n += frame(p + n, 1, 1, "a", 1);
    n += frame(p + n, 1, 2, "b", 1);
    size_t third = n;
    n += frame(p + n, 1, 4, "c", 1); /* skips 3 */
    n += frame(p + n, 1, 5, "d", 1);
    expect_cut(t, p, n, 2, third, "reason=bad_seq");

    n = h + frame(p + h, 1, 2, "a", 1); /* the first seq must be 1 */
    expect_cut(t, p, n, 0, h, "reason=bad_seq");

    n = h + frame(p + h, 1, 1, "a", 1);
    size_t second = n;
    n += frame(p + n, 1, 2, "b", 1);
    put_le(p + second, (uint64_t)JOURNAL_RECORD_MAX + 1, 4); /* never read 16 MiB for it */
    put_le(p + n - 4, journal_crc32c(0, p + second, n - second - 4), 4);
    expect_cut(t, p, n, 1, second, "reason=bad_length");

    n = h + frame(p + h, 1, 1, "abc", 3);
    expect_cut(t, p, n - 1, 0, h, "reason=truncated_record");
    expect_cut(t, p, h + 12, 0, h, "reason=truncated_header");
    p[h + 14] ^= 1;
    expect_cut(t, p, n, 0, h, "reason=checksum_mismatch");
}

static void expect_refused(struct t *t, const void *p, size_t n)
{
    spit(t->path, p, n);
    struct err e = {{0}};
    assert_null(journal_open(t->path, JOURNAL_SYNC_NONE, collect, t, &e));
    char want[160];
    snprintf(want, sizeof want, "%s: not a luatrade journal", t->path);
    assert_string_equal(e.msg, want);
    size_t m;
    uint8_t *after = slurp(t->path, &m);
    assert_int_equal(m, n);
    assert_memory_equal(after, p, n); /* untouched */
    free(after);
}

static void test_foreign_and_torn_header(void **state)
{
    struct t *t = *state;
    const char *sh = "#!/bin/sh\necho this is not a journal\n";
    expect_refused(t, sh, strlen(sh));
    expect_refused(t, "abc", 3);
    expect_refused(t, "LTJRNL02xxxxxxxxxxxxxxxx", 24); /* another format version */
    expect_refused(t, "LTJX", 4);

    const char *hdr = "LTJRNL01\x01\x02\x03\x04\x05\x06\x07";
    for (size_t n = 0; n < HDR; n++) { /* torn while creating: a new journal */
        spit(t->path, hdr, n);
        int64_t before = wall_us();
        struct journal *j = open_ok(t, JOURNAL_SYNC_NONE);
        assert_true(journal_epoch_us(j) >= before);
        assert_int_equal(t->n, 0);
        assert_int_equal(bytes_of(j), HDR);
        struct journal_stats st;
        journal_stats(j, &st);
        assert_int_equal(st.cut_bytes, n);
        assert_int_equal(n_warn, n ? 1 : 0);
        assert_int_equal(append_pat(j, 3), 1);
        journal_close(j);
    }
    struct err e = {{0}};
    assert_null(journal_open(t->dir, JOURNAL_SYNC_NONE, NULL, NULL, &e));
    assert_non_null(strstr(e.msg, t->dir));
}

/* A failing callback fails the open and leaves the file as it was, torn tail included. */
static void test_replay_error(void **state)
{
    struct t *t = *state;
    const size_t lens[] = {1, 2, 3};
    uint64_t total = make_journal(t, 3, lens);
    assert_int_equal(truncate(t->path, (off_t)total - 1), 0);
    t->fail_seq = 2;
    struct err e = {{0}};
    forget(t);
    assert_null(journal_open(t->path, JOURNAL_SYNC_NONE, collect, t, &e));
    assert_non_null(strstr(e.msg, t->path));
    assert_non_null(strstr(e.msg, "replay of record 2: boom at 2"));
    assert_int_equal(t->n, 1);
    assert_int_equal(file_size(t->path), total - 1);
    t->fail_seq = 0;
    struct journal *j = open_ok(t, JOURNAL_SYNC_NONE); /* not left locked */
    assert_replayed(t, 2, lens);
    journal_close(j);
}

/* ---- record sizes ---------------------------------------------------------------------- */

static void test_record_max(void **state)
{
    struct t *t = *state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct err e;
        static uint8_t byte;
        struct journal *j = journal_open(t->path, JOURNAL_SYNC_NONE, NULL, NULL, &e);
        if (!j) _exit(1);
        journal_append(j, 1, &byte, (size_t)JOURNAL_RECORD_MAX + 1); /* ASSERTs */
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);

    const size_t lens[] = {3, JOURNAL_RECORD_MAX, 4};
    make_journal(t, 3, lens);
    struct journal *j = open_ok(t, JOURNAL_SYNC_NONE);
    assert_replayed(t, 3, lens);
    journal_close(j);
}

/* Thousands of records of random sizes and one bigger than the 1 MiB read chunk: records
 * straddle every chunk boundary. */
static void test_many_records(void **state)
{
    struct t *t = *state;
    enum { N = 3000 };
    static size_t lens[N];
    srand(11);
    for (int i = 0; i < N; i++) lens[i] = (size_t)(rand() % 2000);
    lens[1500] = (3u << 20) / 2;
    uint64_t total = make_journal(t, N, lens);
    struct journal *j = open_ok(t, JOURNAL_SYNC_NONE);
    assert_replayed(t, N, lens);
    struct journal_stats st;
    journal_stats(j, &st);
    assert_int_equal(st.records, N);
    assert_int_equal(st.bytes, total);
    journal_close(j);
}

/* ---- syncing and failures -------------------------------------------------------------- */

static void test_group_commit_syncs(void **state)
{
    struct t *t = *state;
    n_fdatasync = n_fsync = n_dir_fsync = 0;
    struct journal *j = open_ok(t, JOURNAL_SYNC_FDATASYNC);
    assert_int_equal(n_fdatasync, 1); /* the header */
    assert_int_equal(n_dir_fsync, 1); /* and the new directory entry */
    for (int i = 0; i < 100; i++) append_pat(j, 50);
    struct err e;
    assert_int_equal(journal_commit(j, &e), 0);
    assert_int_equal(n_fdatasync, 2);
    assert_int_equal(journal_commit(j, &e), 0); /* nothing pending: no I/O */
    assert_int_equal(n_fdatasync, 2);
    struct journal_stats st;
    journal_stats(j, &st);
    assert_int_equal(st.commits, 1);
    assert_true(st.last_commit_ns > 0 && st.max_commit_ns >= st.last_commit_ns);
    journal_close(j);
    assert_int_equal(n_fdatasync, 3); /* the truncation to the records at close */

    n_fdatasync = n_fsync = n_dir_fsync = 0;
    assert_int_equal(truncate(t->path, (off_t)file_size(t->path) - 1), 0);
    j = open_ok(t, JOURNAL_SYNC_FDATASYNC);
    assert_int_equal(t->n, 99);
    assert_int_equal(n_fsync, 1); /* the cut */
    assert_int_equal(n_dir_fsync, 0);
    for (int i = 0; i < 10; i++) { /* one sync per commit, growing the map or not */
        append_pat(j, i == 5 ? (size_t)5 << 20 : 50);
        assert_int_equal(journal_commit(j, &e), 0);
        assert_int_equal(n_fdatasync, i + 1);
    }
    journal_close(j);

    n_fdatasync = n_fsync = 0;
    assert_int_equal(truncate(t->path, (off_t)file_size(t->path) - 1), 0);
    j = open_ok(t, JOURNAL_SYNC_NONE); /* with a cut */
    assert_int_equal(t->n, 108);
    append_pat(j, 1);
    assert_int_equal(journal_commit(j, &e), 0);
    journal_close(j);
    assert_int_equal(n_fdatasync + n_fsync, 0);
}

static void assert_failed_for_good(struct t *t, struct journal *j, const char *why)
{
    struct err e = {{0}};
    assert_int_equal(journal_failed(j), 1);
    assert_int_equal(journal_commit(j, &e), -1);
    assert_non_null(strstr(e.msg, t->path));
    assert_non_null(strstr(e.msg, "failed earlier"));
    assert_non_null(strstr(e.msg, why));
    append_pat(j, 5);
    assert_int_equal(journal_commit(j, &e), -1);
    assert_int_equal(journal_failed(j), 1);
}

static void test_fdatasync_failure(void **state)
{
    struct t *t = *state;
    struct journal *j = open_ok(t, JOURNAL_SYNC_FDATASYNC);
    struct err e = {{0}};
    append_pat(j, 10);
    assert_int_equal(journal_commit(j, &e), 0);
    assert_int_equal(journal_failed(j), 0);
    fail_sync_errno = EIO;
    append_pat(j, 10);
    assert_int_equal(journal_commit(j, &e), -1);
    char want[160];
    snprintf(want, sizeof want, "%s: fdatasync: %s", t->path, strerror(EIO));
    assert_string_equal(e.msg, want);
    fail_sync_errno = 0; /* the disk "recovers": the journal must not */
    assert_failed_for_good(t, j, "fdatasync");
    int before = n_fdatasync;
    journal_close(j); /* does not try again */
    assert_int_equal(n_fdatasync, before);
    j = open_ok(t, JOURNAL_SYNC_FDATASYNC);
    assert_true(t->n >= 1 && t->got[0].seq == 1);
    journal_close(j);
}

/* RLIMIT_FSIZE at the file's current size (its reservation): commits that fit go on
 * without a system call; the first that needs more room fails in posix_fallocate (EFBIG),
 * and the journal is failed for good. The reopen finds the records committed before. A
 * reservation refused at open fails the open. */
static void test_reservation_failure(void **state)
{
    struct t *t = *state;
    struct journal *j = open_ok(t, JOURNAL_SYNC_NONE);
    append_pat(j, 10);
    struct err e = {{0}};
    assert_int_equal(journal_commit(j, &e), 0);
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)file_size(t->path);
    void (*oldsig)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    append_pat(j, 20);
    int rc1 = journal_commit(j, &e); /* fits in the reservation */
    append_pat(j, (size_t)8 << 20);
    int rc2 = journal_commit(j, &e);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_equal(rc1, 0);
    assert_int_equal(rc2, -1);
    assert_non_null(strstr(e.msg, "fallocate: "));
    assert_non_null(strstr(e.msg, strerror(EFBIG)));
    assert_failed_for_good(t, j, "fallocate");
    journal_close(j);
    j = open_ok(t, JOURNAL_SYNC_NONE);
    const size_t lens[] = {10, 20};
    assert_replayed(t, 2, lens);
    struct journal_stats st;
    journal_stats(j, &st);
    assert_int_equal(st.cut_bytes, 0);
    journal_close(j);

    lim.rlim_cur = (rlim_t)file_size(t->path) + 100;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    forget(t);
    j = journal_open(t->path, JOURNAL_SYNC_NONE, collect, t, &e);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, oldsig);
    assert_null(j);
    assert_non_null(strstr(e.msg, "fallocate: "));
    j = open_ok(t, JOURNAL_SYNC_NONE);
    assert_replayed(t, 2, lens);
    journal_close(j);
}

/* The reservation grows across commits (the map moves) and by more than twice in one
 * commit; every byte committed before a growth is still there. */
static void test_growth(void **state)
{
    struct t *t = *state;
    enum { N = 24 };
    size_t lens[N];
    struct journal *j = open_ok(t, JOURNAL_SYNC_NONE);
    struct err e;
    uint64_t reserved = file_size(t->path);
    int grew = 0;
    for (int i = 0; i < N; i++) {
        lens[i] = i == N - 1 ? JOURNAL_RECORD_MAX : (size_t)(i + 1) * 100000;
        append_pat(j, lens[i]);
        if (i % 3 == 2 || i == N - 1) assert_int_equal(journal_commit(j, &e), 0);
        if (file_size(t->path) > reserved) grew++;
        reserved = file_size(t->path);
        assert_true(reserved >= bytes_of(j) && reserved % (4u << 20) == 0);
    }
    assert_true(grew >= 3);
    uint64_t total = bytes_of(j);
    journal_close(j);
    assert_int_equal(file_size(t->path), total);
    j = open_ok(t, JOURNAL_SYNC_NONE);
    assert_replayed(t, N, lens);
    /* growing ahead: nothing to do while half is free, doubles once more than half used */
    reserved = file_size(t->path);
    assert_int_equal(journal_reserve_ahead(j, &e), 0);
    uint64_t after = file_size(t->path);
    if (bytes_of(j) > reserved / 2) assert_true(after >= 2 * reserved);
    else assert_int_equal(after, reserved);
    while (bytes_of(j) <= file_size(t->path) / 2) {
        append_pat(j, 1000000);
        assert_int_equal(journal_commit(j, &e), 0);
    }
    reserved = file_size(t->path);
    assert_int_equal(journal_reserve_ahead(j, &e), 0);
    assert_true(file_size(t->path) >= 2 * reserved);
    journal_close(j);
}

static void test_lock(void **state)
{
    struct t *t = *state;
    struct journal *j = open_ok(t, JOURNAL_SYNC_NONE);
    struct err e = {{0}};
    assert_null(journal_open(t->path, JOURNAL_SYNC_NONE, NULL, NULL, &e));
    assert_non_null(strstr(e.msg, "already open"));
    journal_close(j);
    j = open_ok(t, JOURNAL_SYNC_NONE);
    journal_close(j);
    journal_close(NULL);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        T(test_format_bytes),
        T(test_roundtrip),
        T(test_uncommitted_lost_on_crash),
        T(test_torn_every_length),
        T(test_bitflip_middle),
        T(test_bad_seq_and_length),
        T(test_foreign_and_torn_header),
        T(test_replay_error),
        T(test_record_max),
        T(test_many_records),
        T(test_group_commit_syncs),
        T(test_fdatasync_failure),
        T(test_reservation_failure),
        T(test_growth),
        T(test_lock),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
