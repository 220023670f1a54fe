/* journal.h: an append-only, checksummed write-ahead log with group commit
 * (DESIGN.md §8).
 *
 * A journal is one file: a 16-byte header (magic "LTJRNL01", the epoch in µs at which
 * the file was created, little-endian) followed by records. A record is
 *   u32 length of payload | u8 type | u64 record seq | payload | u32 CRC-32C
 * (little-endian; the checksum covers length, type, seq and payload). Payloads are
 * opaque bytes to the journal (the trading core writes one compact JSON object per
 * record). Record seqs start at 1 and increase by one.
 *
 * journal_append only buffers; journal_commit copies everything buffered into the
 * file through a shared memory map (no system call unless the file's preallocated room
 * must grow) and makes it durable with one fdatasync() (group commit: the host commits
 * once per loop turn, before anything appended in that turn is acted on). A record
 * is therefore durable exactly when journal_commit returned 0 after its append; a
 * committed record survives a crash of the process even without the sync.
 *
 * While open the file is longer than its records: the rest is zeros reserved with
 * posix_fallocate (a full disk fails a commit, never a store). journal_close truncates
 * it to its records; after a crash, the next open cuts the zeros quietly (they are not
 * a torn tail and not counted in cut_bytes).
 *
 * Opening scans the file: every complete record whose checksum matches is handed to
 * the replay callback in order. The first record that is short (torn by a crash) or
 * fails its checksum ends the log: the file is truncated there, and the cut is
 * reported (offset, bytes cut), never misread. A file whose header is not ours is
 * refused; a non-empty file shorter than the header that begins like ours (torn while
 * being created) becomes a new journal. While open, the file is locked (flock): a
 * second open of it fails. Not thread-safe: the loop thread owns it. */
#ifndef LUATRADE_JOURNAL_H
#define LUATRADE_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define JOURNAL_RECORD_MAX (16u << 20) /* larger payloads are refused */

struct journal;
struct metrics_hist;

/* Called once per valid record while opening; payload is valid during the call only.
 * Return 0 to go on, -1 to stop the open with an error (the callback fills e; the file
 * is then left as it was). */
typedef int (*journal_replay_fn)(uint8_t type, uint64_t seq, const void *payload, size_t len,
                                 void *arg, struct err *e);

enum journal_sync { JOURNAL_SYNC_FDATASYNC, JOURNAL_SYNC_NONE };

struct journal_stats {
    uint64_t records;   /* valid records found at open plus appended since */
    uint64_t commits;   /* journal_commit calls that wrote something */
    uint64_t bytes;     /* logical size: header and records (the file is longer while open) */
    uint64_t cut_bytes; /* torn tail (or torn header) removed at open, zeros after it included;
                           a tail of zeros alone is not counted */
    int64_t last_commit_ns;
    int64_t max_commit_ns;
};

/* Opens (creating it with mode 0600 when missing) and replays path; fn may be NULL.
 * sync chooses whether commits fdatasync (JOURNAL_SYNC_NONE, which also skips the syncs
 * of open, only for tests and benchmarks). Returns NULL and fills e on I/O errors, a
 * foreign header ("PATH: not a luatrade journal"), a file already open, or a replay
 * callback error. */
struct journal *journal_open(const char *path, enum journal_sync sync, journal_replay_fn fn,
                             void *arg, struct err *e);
/* Commits what is buffered (best effort), truncates the file to its records (synced
 * with JOURNAL_SYNC_FDATASYNC unless the journal failed) and closes. NULL is a no-op. */
void journal_close(struct journal *j);

/* Buffers one record; returns its seq. len must be <= JOURNAL_RECORD_MAX: a bigger
 * record is a caller bug and ASSERTs (aborts). A failed journal still buffers. */
uint64_t journal_append(struct journal *j, uint8_t type, const void *payload, size_t len);
/* Bytes appended and not yet committed (0: nothing to do). */
size_t journal_pending(const struct journal *j);
/* Copies the buffered records into the file and syncs them. Returns 0, or -1 with e
 * filled (the journal is then failed: every later commit fails too, and the caller must
 * stop sending orders — fail closed). */
int journal_commit(struct journal *j, struct err *e);
int journal_failed(const struct journal *j);
/* Grows the reservation when more than half of it is used, so that a later commit (on
 * the path of an order) does not pay for it. Returns 0, or -1 with e (then failed). */
int journal_reserve_ahead(struct journal *j, struct err *e);

/* Epoch of the file (µs, from its header): with the order id it makes client order ids
 * unique across restarts even if ids were reused after the file was replaced. */
int64_t journal_epoch_us(const struct journal *j);
/* Seq of the last record replayed or appended (committed or not); 0 when none. */
uint64_t journal_last_seq(const struct journal *j);
void journal_stats(const struct journal *j, struct journal_stats *out);
/* Duration of every commit that wrote something (metrics.h histogram), for /metrics. */
const struct metrics_hist *journal_commit_hist(const struct journal *j);

/* CRC-32C (Castagnoli) of n bytes, continuing from crc (start with 0). Uses the CPU's
 * crc32 instruction when it has one (SSE 4.2), else journal_crc32c_portable (tables):
 * both give the same result, which the unit test checks. */
uint32_t journal_crc32c_portable(uint32_t crc, const void *p, size_t n);
uint32_t journal_crc32c(uint32_t crc, const void *p, size_t n);

#endif
