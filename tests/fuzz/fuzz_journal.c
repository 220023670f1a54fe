/* fuzz_journal: libFuzzer target for opening a journal (the header check, the record
 * scan and the cut in journal.c).
 *
 * The first input byte picks the layout: odd, the rest follows a valid header (so the
 * fuzzer spends its time on records); even, the rest is the whole file (empty, torn or
 * foreign headers). The file is written to a scratch directory and opened, and the
 * result checked against a reference parser written here from journal.h's format alone
 * (bitwise CRC-32C, the whole file in memory, no chunks):
 *  - the open fails iff the header is foreign, with "PATH: not a luatrade journal";
 *  - the replay is exactly the reference's valid prefix: type, seq and payload of every
 *    record, in order; so only records whose checksum matches are ever replayed;
 *  - the file is cut to the end of that prefix, and stats.cut_bytes says how much went,
 *    or 0 when all of it was zeros (the reservation left by a journal that was not
 *    closed; a torn record followed by zeros counts whole);
 *  - a reopen after the cut replays the same records and cuts nothing;
 *  - a record appended then gets the next seq and replays after another reopen.
 * ASan and UBSan catch overreads of a length field, overflow in the offsets and leaks. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "journal.h"
#include "log.h"

#define HDR   16
#define EPOCH INT64_C(1795246740123456)

struct ref_rec {
    uint8_t type;
    uint64_t seq;
    const uint8_t *payload;
    uint32_t len;
};

/* What the file should replay, and where the check is. */
static struct {
    struct ref_rec *v;
    int n, cap;
    int next; /* index of the record the callback expects next */
} ref;

static char dir[64], path[96];

static void cleanup(void)
{
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_stderr(0);
    snprintf(dir, sizeof dir, "/tmp/luatrade-fuzz-journal-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/journal", dir);
    atexit(cleanup);
    return 0;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static uint32_t crc_bitwise(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) crc = crc & 1 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return ~crc;
}

static void ref_add(uint8_t type, uint64_t seq, const uint8_t *payload, uint32_t len)
{
    if (ref.n == ref.cap) {
        ref.cap = ref.cap ? 2 * ref.cap : 64;
        ref.v = realloc(ref.v, sizeof *ref.v * (size_t)ref.cap);
        CHECK(ref.v != NULL);
    }
    ref.v[ref.n++] = (struct ref_rec){type, seq, payload, len};
}

/* The reference scan of a file with a valid header: returns the end of the valid prefix. */
static size_t ref_scan(const uint8_t *f, size_t n)
{
    size_t off = HDR;
    uint64_t seq = 0;
    while (n - off >= 13) {
        const uint8_t *p = f + off;
        uint32_t len = le32(p);
        if (len > JOURNAL_RECORD_MAX || le64(p + 5) != seq + 1) break;
        if (n - off < 17 + (size_t)len) break;
        if (le32(p + 13 + len) != crc_bitwise(p, 13 + (size_t)len)) break;
        ref_add(p[4], ++seq, p + 13, len);
        off += 17 + (size_t)len;
    }
    return off;
}

static int check_record(uint8_t type, uint64_t seq, const void *payload, size_t len, void *arg,
                        struct err *e)
{
    CHECK(ref.next < ref.n);
    const struct ref_rec *r = &ref.v[ref.next++];
    CHECK(type == r->type && seq == r->seq && len == r->len);
    CHECK(len == 0 || memcmp(payload, r->payload, len) == 0);
    return 0;
}

static void write_file(const uint8_t *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    CHECK(n == 0 || write(fd, p, n) == (ssize_t)n);
    close(fd);
}

static uint64_t file_size(void)
{
    struct stat st;
    CHECK(stat(path, &st) == 0);
    return (uint64_t)st.st_size;
}

/* 1 when f[from..n) is all zeros. */
static int zero_tail(const uint8_t *f, size_t from, size_t n)
{
    while (from < n && f[from] == 0) from++;
    return from == n;
}

/* Opens the file and checks that it replays all of ref and is `end` bytes long after
 * cutting `cut` bytes (the file on disk is longer while open: room reserved for commits;
 * the caller checks its size after closing). */
static struct journal *open_checked(uint64_t end, uint64_t cut)
{
    struct err e;
    ref.next = 0;
    struct journal *j = journal_open(path, JOURNAL_SYNC_NONE, check_record, NULL, &e);
    CHECK(j != NULL);
    CHECK(ref.next == ref.n);
    CHECK(journal_last_seq(j) == (uint64_t)ref.n);
    struct journal_stats st;
    journal_stats(j, &st);
    CHECK(st.records == (uint64_t)ref.n && st.cut_bytes == cut && st.bytes == end);
    CHECK(file_size() >= end);
    return j;
}

/* Closes j and checks that the file holds exactly its `end` bytes of records. */
static void close_checked(struct journal *j, uint64_t end)
{
    journal_close(j);
    CHECK(file_size() == end);
}

/* Builds the file the input describes into a buffer the caller frees. */
static uint8_t *file_of(const uint8_t *data, size_t size, size_t *n)
{
    int with_header = size > 0 && (data[0] & 1);
    size_t body = size > 0 ? size - 1 : 0;
    *n = body + (with_header ? HDR : 0);
    uint8_t *f = malloc(*n + 1);
    CHECK(f != NULL);
    if (with_header) {
        memcpy(f, "LTJRNL01", 8);
        for (int i = 0; i < 8; i++) f[8 + i] = (uint8_t)((uint64_t)EPOCH >> (8 * i));
    }
    if (body) memcpy(f + (with_header ? HDR : 0), data + 1, body);
    return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n;
    uint8_t *f = file_of(data, size, &n);
    write_file(f, n);
    ref.n = 0;
    struct err e;
    if (memcmp(f, "LTJRNL01", n < 8 ? n : 8) != 0) { /* foreign */
        CHECK(journal_open(path, JOURNAL_SYNC_NONE, check_record, NULL, &e) == NULL);
        char want[160];
        snprintf(want, sizeof want, "%s: not a luatrade journal", path);
        CHECK(strcmp(e.msg, want) == 0);
        free(f);
        return 0;
    }
    int fresh = n < HDR; /* empty, or a header torn while creating the file */
    size_t end = fresh ? HDR : ref_scan(f, n);
    uint64_t cut = fresh ? n : zero_tail(f, end, n) ? 0 : n - end;
    struct journal *j = open_checked(end, cut);
    CHECK(fresh || journal_epoch_us(j) == (int64_t)le64(f + 8));
    close_checked(j, end);
    close_checked(open_checked(end, 0), end); /* the cut file is clean */

    j = open_checked(end, 0);
    uint32_t len = size > 1 ? data[size - 1] % 32 : 0;
    if (len > size) len = (uint32_t)size;
    CHECK(journal_append(j, 0x5a, data, len) == (uint64_t)ref.n + 1);
    ref_add(0x5a, (uint64_t)ref.n + 1, data, len);
    CHECK(journal_commit(j, &e) == 0);
    close_checked(j, end + 17 + len);
    close_checked(open_checked(end + 17 + len, 0), end + 17 + len);
    free(f);
    return 0;
}
