/* record.h: recording the market data a live host received, and replaying it.
 *
 * The recorder writes, in the order the host processed them, every MARKET_DATA event
 * (quote or trade, with its time, symbol, prices, sizes and per-symbol n) and a TIMERS
 * marker each time the host ran its timers, into DIR/YYYY-MM-DD.ltr (the UTC date of the
 * record times; a second recording the same day goes to YYYY-MM-DD.1.ltr, .2, ...). A
 * replay yields the same sequence, so a backtest that publishes the events and runs its
 * timers at the markers drives a strategy exactly as the live session did. The format,
 * rotation and durability are described in docs/record.md; the encoding in record_codec.c.
 *
 * Threads: a recorder or a replay belongs to one thread (the loop). Neither calls Lua. */
#ifndef LUATRADE_RECORD_H
#define LUATRADE_RECORD_H

#include <stdint.h>

#include "err.h"
#include "event.h"
#include "instrument.h"

struct recorder;

/* Creates dir (mode 0700, parents too) and the file for start_us's UTC date, whose header
 * holds the instruments of ins (their symbols and grids), the host seed and start_us (the
 * host clock when recording began: a replay starts its clock there). ins is read here
 * only: instruments registered later are not recorded (recorder_market drops their
 * events). Returns NULL with e ("PATH: what") when the directory or file cannot be made. */
struct recorder *recorder_open(const char *dir, const struct instruments *ins, uint64_t seed,
                               int64_t start_us, struct err *e);
/* recorder_market, recorder_timers and recorder_flush do nothing when r is NULL
 * (recording off), so the host may call them unconditionally. */
/* Records an EV_MARKET_DATA event (ev->ts_us, md_kind, u.quote or u.trade). Other types
 * are ignored. A time earlier than the previous record's is recorded as that time (a
 * wall clock stepped back), so recorded time never decreases. Allocates nothing; writes
 * to the file (one write(2)) only when the buffer fills or the date changes. */
void recorder_market(struct recorder *r, const struct event *ev);
/* Records that the host ran its timers at now_us (host_run_timers). */
void recorder_timers(struct recorder *r, int64_t now_us);
/* Writes what is buffered (the host calls it from its 1 s timer; close does too). After a
 * failed write or open the recorder logs the error once and records nothing more. */
void recorder_flush(struct recorder *r);
/* Flushes, syncs (fdatasync) and closes the file, logs the totals, frees r. NULL is fine. */
void recorder_close(struct recorder *r);

struct recorder_stats {
    uint64_t events;  /* market-data records (written, or buffered to be) */
    uint64_t markers; /* TIMERS records */
    uint64_t bytes;   /* written to files, headers included */
    uint64_t files;   /* files created */
    uint64_t dropped; /* not recorded: an unknown symbol, or lost to a failed write */
    int failed;       /* a write or open failed: recording stopped */
};
void recorder_stats(const struct recorder *r, struct recorder_stats *out);

struct replay;

/* Opens a replay of paths in that order: files, or directories (every *.ltr in them,
 * ordered by name, YYYY-MM-DD.ltr before YYYY-MM-DD.1.ltr before YYYY-MM-DD.2.ltr). Every
 * file's header is read here. Returns NULL with e ("FILE: offset N: what") when a path
 * cannot be read, a header is corrupt, a directory holds no recording, or two files give
 * one symbol different grids. */
struct replay *replay_open(const char *const *paths, int npaths, struct err *e);
/* The union of the files' instruments, by symbol, in order of first appearance (so the
 * first file's ids are the recording host's), grids as recorded. Owned by p. */
const struct instruments *replay_instruments(const struct replay *p);
uint64_t replay_seed(const struct replay *p);    /* the first file's */
int64_t replay_start_us(const struct replay *p); /* when the first file's recording began */

enum replay_kind { REPLAY_MARKET, REPLAY_TIMERS };

struct replay_item {
    enum replay_kind kind;
    int64_t ts_us;
    struct event ev; /* REPLAY_MARKET: type EV_MARKET_DATA, md_kind, u.quote or u.trade (sym
                        an id in replay_instruments), ts_us, source "replay"; seq 0 */
};

/* The next item: 1 with *out, 0 at the end of the last file, -1 with e ("FILE: offset N:
 * what") on corrupt input or a read error. Times never decrease, within a file and from
 * one file to the next (files out of time order are an error). A block torn by a crash at
 * the very end of a file (incomplete, or zeros to the end) ends that file: counted in
 * torn, not an error. After -1 every call returns -1 again. */
int replay_next(struct replay *p, struct replay_item *out, struct err *e);

struct replay_stats {
    uint64_t events, markers; /* items returned */
    uint64_t files;           /* files opened for reading so far */
    uint64_t torn;            /* files whose end was torn */
};
void replay_stats(const struct replay *p, struct replay_stats *out);
void replay_free(struct replay *p); /* NULL is fine */

#endif
