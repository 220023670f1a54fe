/* record_internal.h: the recording format, shared by the writer (record.c) and the reader
 * (record_replay.c); the encoding is in record_codec.c, described for users in
 * docs/record.md.
 *
 * A file is the 8-byte magic, then blocks: u32 payload length, u32 CRC-32C of the
 * payload (both little-endian), the payload. The first payload is the header ('H'), every
 * later one holds whole records ('R'). The delta state (struct rec_state) starts afresh
 * in each file and runs on across its blocks: a file stands alone, a block does not. */
#ifndef LUATRADE_RECORD_INTERNAL_H
#define LUATRADE_RECORD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "event.h"
#include "instrument.h"
#include "record.h"

#define REC_MAGIC        "LTRECORD"
#define REC_MAGIC_LEN    8
#define REC_VERSION      1
#define REC_BLOCK_HEAD   8          /* payload length, CRC-32C */
#define REC_BLOCK_MAX    (1u << 20) /* the largest payload a reader accepts */
#define REC_RECORD_MAX   80         /* the largest encoded record (71 bytes) */
#define REC_KIND_HEADER  'H'
#define REC_KIND_RECORDS 'R'

/* One symbol's delta state: what its last quote and trade were. */
struct rec_sym {
    int64_t tick, lot;                     /* its grid: deltas are stored in these steps */
    int64_t bid, spread, bid_qty, ask_qty; /* the last quote (spread = ask - bid) */
    int64_t px, qty;                       /* the last trade */
    uint64_t nq, nt;                       /* n of the last quote and trade */
};

/* The delta state of one file: starts from the header (every field 0 but the grids and
 * last_us = the header's start time). */
struct rec_state {
    struct rec_sym *sym; /* one per header instrument, by index */
    int nsym;
    int64_t last_us; /* the time of the last record */
};

/* Sets s up for a file whose header holds ins and start_us (s->sym allocated). */
void rec_state_init(struct rec_state *s, const struct instruments *ins, int64_t start_us);
void rec_state_fini(struct rec_state *s);

/* Encodes one record into out (REC_RECORD_MAX bytes) and returns its length. ts_us must
 * be >= s->last_us, sym (the header index) < s->nsym. */
size_t rec_encode_market(struct rec_state *s, int64_t ts_us, const struct event *ev, uint8_t *out);
size_t rec_encode_timers(struct rec_state *s, int64_t ts_us, uint8_t *out);

/* Decodes the record at p[*pos] (n bytes of payload) into out, the symbol as a header
 * index, and moves *pos past it. Returns 0, or -1 with *why (a static message) when the
 * bytes are not a valid record. */
int rec_decode(struct rec_state *s, const uint8_t *p, size_t n, size_t *pos,
               struct replay_item *out, const char **why);

/* Appends a header payload ('H', version, seed, start, instruments) to out. */
void rec_header_encode(struct buf *out, uint64_t seed, int64_t start_us,
                       const struct instruments *ins);
/* Parses a header payload into seed, start and ins (empty on entry; freed on failure).
 * Returns 0, or -1 with e ("what"), the caller adding the file and offset. */
int rec_header_decode(const uint8_t *p, size_t n, uint64_t *seed, int64_t *start_us,
                      struct instruments *ins, struct err *e);

/* Little-endian fixed-width integers. */
void rec_put_u32(uint8_t *p, uint32_t v);
uint32_t rec_get_u32(const uint8_t *p);

/* Fills block[0..REC_BLOCK_HEAD) for the len payload bytes that follow it. */
void rec_block_seal(uint8_t *block, size_t len);
/* CRC-32C of a payload. */
uint32_t rec_crc(const uint8_t *p, size_t n);

#endif
