/* record_codec.c: the bytes of a recording (see record_internal.h, docs/record.md).
 *
 * Header payload: 'H', u8 version, u64 seed, i64 start_us, u16 count, then per
 * instrument: u8 length, the symbol, u8 px_dp, u8 qty_dp, varint tick, varint lot.
 *
 * Record: a tag byte, then varints (LEB128; signed values zigzag):
 *   bits 0-1  kind: 0 quote, 1 trade, 2 timers (3 is invalid)
 *   bit 2     TIME: a time delta in µs follows (absent: the previous record's time)
 *   bit 3     SEQ:  n follows, at the end (absent: that symbol's previous n of that kind + 1)
 *   bit 4     RAW:  the deltas below are in units (absent: in ticks and lots)
 *   bits 5-7  the symbol's header index 0..6; 7: the index follows as a varint
 * then for a quote the deltas of bid, spread (ask - bid), bid size and ask size, for a
 * trade those of price and size, each against the same symbol's previous quote or trade
 * (0 before the first). A timers record is the tag (with TIME or not) and its delta.
 * Deltas are computed modulo 2^64, so every int64 round-trips; they are divided by the
 * grid step when all of them are multiples of it (the usual case: a one-tick move is one
 * byte), else the record is RAW. On the sim feed a quote takes 7 bytes and a trade 5 (2
 * less when the time does not change).
 *
 * The decoder trusts nothing: truncated or overlong varints, an unknown kind, flags a
 * timers record cannot have, a symbol beyond the header, a delta whose product with the
 * step overflows and a time past INT64_MAX are errors. */
#include "record_internal.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fixed.h"
#include "journal.h"
#include "util.h"

#define TAG_KIND_MASK 0x03u
#define TAG_TIME      0x04u
#define TAG_SEQ       0x08u
#define TAG_RAW       0x10u
#define TAG_SYM_SHIFT 5
#define TAG_SYM_ESC   7u /* the index follows as a varint */
#define KIND_QUOTE    0u
#define KIND_TRADE    1u
#define KIND_TIMERS   2u
#define VARINT_MAX    10 /* bytes of a 64-bit LEB128 value */
#define QUOTE_FIELDS  4
#define TRADE_FIELDS  2

void rec_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

uint32_t rec_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

uint32_t rec_crc(const uint8_t *p, size_t n)
{
    return journal_crc32c(0, p, n);
}

void rec_block_seal(uint8_t *block, size_t len)
{
    rec_put_u32(block, (uint32_t)len);
    rec_put_u32(block + 4, rec_crc(block + REC_BLOCK_HEAD, len));
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static uint64_t zigzag(int64_t v)
{
    return (uint64_t)v << 1 ^ -((uint64_t)v >> 63);
}

static int64_t unzigzag(uint64_t u)
{
    return (int64_t)(u >> 1 ^ -(u & 1));
}

/* a - b modulo 2^64 (no signed overflow). */
static int64_t wrap_sub(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a - (uint64_t)b);
}

static int64_t wrap_add(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

static int get_varint(const uint8_t *p, size_t n, size_t *pos, uint64_t *out, const char **why)
{
    uint64_t v = 0;
    for (int i = 0; i < VARINT_MAX; i++) {
        if (*pos >= n) {
            *why = "record truncated at the end of its block";
            return -1;
        }
        uint8_t b = p[(*pos)++];
        if (i == VARINT_MAX - 1 && b > 1) break; /* bits past 64 */
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    *why = "varint longer than 64 bits";
    return -1;
}

void rec_state_init(struct rec_state *s, const struct instruments *ins, int64_t start_us)
{
    s->nsym = ins->n;
    s->sym = xcalloc((size_t)(ins->n ? ins->n : 1), sizeof *s->sym);
    for (int i = 0; i < ins->n; i++) {
        s->sym[i].tick = ins->v[i].tick;
        s->sym[i].lot = ins->v[i].lot;
    }
    s->last_us = start_us;
}

void rec_state_fini(struct rec_state *s)
{
    free(s->sym);
    memset(s, 0, sizeof *s);
}

/* The tag, time and symbol index; returns the bytes written. */
static size_t put_head(struct rec_state *s, unsigned kind, unsigned flags, int sym, int64_t ts,
                       uint8_t *out)
{
    uint64_t dt = (uint64_t)ts - (uint64_t)s->last_us;
    s->last_us = ts;
    unsigned sym_bits = (unsigned)sym < TAG_SYM_ESC ? (unsigned)sym : TAG_SYM_ESC;
    out[0] = (uint8_t)(kind | flags | (dt ? TAG_TIME : 0) | sym_bits << TAG_SYM_SHIFT);
    size_t n = 1;
    if (dt) n += put_varint(out + n, dt);
    if (sym_bits == TAG_SYM_ESC) n += put_varint(out + n, (uint64_t)sym);
    return n;
}

/* Deltas d[] in steps when every one is a multiple of its step; returns the RAW flag. */
static unsigned scale_deltas(int64_t *d, const int64_t *step, int k)
{
    for (int i = 0; i < k; i++)
        if (d[i] % step[i] != 0) return TAG_RAW;
    for (int i = 0; i < k; i++) d[i] /= step[i];
    return 0;
}

size_t rec_encode_market(struct rec_state *s, int64_t ts_us, const struct event *ev, uint8_t *out)
{
    int quote = ev->md_kind == MD_QUOTE;
    int sym = quote ? ev->u.quote.sym : ev->u.trade.sym;
    ASSERT(sym >= 0 && sym < s->nsym && ts_us >= s->last_us);
    struct rec_sym *y = &s->sym[sym];
    int64_t d[QUOTE_FIELDS], step[QUOTE_FIELDS] = {y->tick, y->tick, y->lot, y->lot};
    uint64_t n, *last_n;
    int k;
    if (quote) {
        const struct quote *q = &ev->u.quote;
        int64_t spread = wrap_sub(q->ask_px, q->bid_px);
        d[0] = wrap_sub(q->bid_px, y->bid);
        d[1] = wrap_sub(spread, y->spread);
        d[2] = wrap_sub(q->bid_qty, y->bid_qty);
        d[3] = wrap_sub(q->ask_qty, y->ask_qty);
        y->bid = q->bid_px, y->spread = spread, y->bid_qty = q->bid_qty, y->ask_qty = q->ask_qty;
        n = q->n, last_n = &y->nq, k = QUOTE_FIELDS;
    } else {
        const struct trade *t = &ev->u.trade;
        d[0] = wrap_sub(t->px, y->px);
        d[1] = wrap_sub(t->qty, y->qty);
        step[1] = y->lot;
        y->px = t->px, y->qty = t->qty;
        n = t->n, last_n = &y->nt, k = TRADE_FIELDS;
    }
    unsigned flags = scale_deltas(d, step, k) | (n != *last_n + 1 ? TAG_SEQ : 0);
    *last_n = n;
    size_t len = put_head(s, quote ? KIND_QUOTE : KIND_TRADE, flags, sym, ts_us, out);
    for (int i = 0; i < k; i++) len += put_varint(out + len, zigzag(d[i]));
    if (flags & TAG_SEQ) len += put_varint(out + len, n);
    return len;
}

size_t rec_encode_timers(struct rec_state *s, int64_t ts_us, uint8_t *out)
{
    ASSERT(ts_us >= s->last_us);
    return put_head(s, KIND_TIMERS, 0, 0, ts_us, out);
}

/* Reads k deltas into v[] (values: last[i] + delta * step[i], modulo 2^64). */
static int get_fields(const uint8_t *p, size_t n, size_t *pos, int raw, const int64_t *last,
                      const int64_t *step, int64_t *v, int k, const char **why)
{
    for (int i = 0; i < k; i++) {
        uint64_t u;
        if (get_varint(p, n, pos, &u, why)) return -1;
        int64_t d = unzigzag(u);
        if (!raw && __builtin_mul_overflow(d, step[i], &d)) {
            *why = "delta out of range";
            return -1;
        }
        v[i] = wrap_add(last[i], d);
    }
    return 0;
}

/* The tag's time and symbol; fills out->ts_us and *sym. */
static int get_head(struct rec_state *s, uint8_t tag, const uint8_t *p, size_t n, size_t *pos,
                    struct replay_item *out, int *sym, const char **why)
{
    uint64_t dt = 0, idx = tag >> TAG_SYM_SHIFT;
    if ((tag & TAG_TIME) && get_varint(p, n, pos, &dt, why)) return -1;
    if ((tag & TAG_TIME) && dt == 0) return *why = "zero time delta with the time flag", -1;
    if (dt > (uint64_t)INT64_MAX - (uint64_t)s->last_us) return *why = "time out of range", -1;
    s->last_us = (int64_t)((uint64_t)s->last_us + dt);
    out->ts_us = s->last_us;
    if (idx == TAG_SYM_ESC && get_varint(p, n, pos, &idx, why)) return -1;
    if ((tag & TAG_KIND_MASK) == KIND_TIMERS) return 0;
    if (idx >= (uint64_t)s->nsym) return *why = "symbol index beyond the header's instruments", -1;
    *sym = (int)idx;
    return 0;
}

int rec_decode(struct rec_state *s, const uint8_t *p, size_t n, size_t *pos,
               struct replay_item *out, const char **why)
{
    uint8_t tag = p[(*pos)++];
    unsigned kind = tag & TAG_KIND_MASK;
    memset(out, 0, sizeof *out);
    if (kind > KIND_TIMERS) return *why = "unknown record kind", -1;
    if (kind == KIND_TIMERS && (tag & ~(TAG_KIND_MASK | TAG_TIME)))
        return *why = "timers record with flags it cannot have", -1;
    int sym = 0;
    if (get_head(s, tag, p, n, pos, out, &sym, why)) return -1;
    if (kind == KIND_TIMERS) {
        out->kind = REPLAY_TIMERS;
        return 0;
    }
    struct rec_sym *y = &s->sym[sym];
    int raw = !!(tag & TAG_RAW);
    int64_t v[QUOTE_FIELDS], step[QUOTE_FIELDS] = {y->tick, y->tick, y->lot, y->lot};
    out->kind = REPLAY_MARKET;
    out->ev.type = EV_MARKET_DATA;
    out->ev.ts_us = out->ts_us;
    util_strlcpy(out->ev.source, "replay", sizeof out->ev.source);
    uint64_t *last_n;
    if (kind == KIND_QUOTE) {
        int64_t last[QUOTE_FIELDS] = {y->bid, y->spread, y->bid_qty, y->ask_qty};
        if (get_fields(p, n, pos, raw, last, step, v, QUOTE_FIELDS, why)) return -1;
        y->bid = v[0], y->spread = v[1], y->bid_qty = v[2], y->ask_qty = v[3];
        out->ev.md_kind = MD_QUOTE;
        out->ev.u.quote = (struct quote){.sym = sym,
                                         .bid_px = v[0],
                                         .ask_px = wrap_add(v[0], v[1]),
                                         .bid_qty = v[2],
                                         .ask_qty = v[3]};
        last_n = &y->nq;
    } else {
        int64_t last[TRADE_FIELDS] = {y->px, y->qty};
        step[1] = y->lot;
        if (get_fields(p, n, pos, raw, last, step, v, TRADE_FIELDS, why)) return -1;
        y->px = v[0], y->qty = v[1];
        out->ev.md_kind = MD_TRADE;
        out->ev.u.trade = (struct trade){.sym = sym, .px = v[0], .qty = v[1]};
        last_n = &y->nt;
    }
    uint64_t seq = *last_n + 1;
    if ((tag & TAG_SEQ) && get_varint(p, n, pos, &seq, why)) return -1;
    *last_n = seq;
    if (kind == KIND_QUOTE) out->ev.u.quote.n = seq;
    else out->ev.u.trade.n = seq;
    return 0;
}

/* ---- the header ----------------------------------------------------------------------- */

#define HEADER_FIXED 20 /* kind, version, seed, start, count */
#define GRID_BYTES   2  /* px_dp, qty_dp */

void rec_header_encode(struct buf *out, uint64_t seed, int64_t start_us,
                       const struct instruments *ins)
{
    uint8_t b[HEADER_FIXED];
    b[0] = REC_KIND_HEADER;
    b[1] = REC_VERSION;
    put_u64(b + 2, seed);
    put_u64(b + 10, (uint64_t)start_us);
    b[18] = (uint8_t)ins->n, b[19] = (uint8_t)(ins->n >> 8);
    buf_put(out, b, sizeof b);
    for (int i = 0; i < ins->n; i++) {
        const struct instrument *in = &ins->v[i];
        uint8_t v[1 + SYMBOL_MAX + GRID_BYTES + 2 * VARINT_MAX];
        size_t len = strlen(in->symbol), k = 0;
        v[k++] = (uint8_t)len;
        memcpy(v + k, in->symbol, len);
        k += len;
        v[k++] = (uint8_t)in->px_dp;
        v[k++] = (uint8_t)in->qty_dp;
        k += put_varint(v + k, (uint64_t)in->tick);
        k += put_varint(v + k, (uint64_t)in->lot);
        buf_put(out, v, k);
    }
}

static int header_instrument(const uint8_t *p, size_t n, size_t *pos, struct instruments *ins,
                             struct err *e)
{
    const char *why = NULL;
    int i = ins->n;
    struct instrument in = {0};
    size_t len = *pos < n ? p[*pos] : 0;
    if (*pos + 1 + len + GRID_BYTES > n)
        return err_set(e, "header: instrument %d: truncated", i + 1);
    if (len == 0 || len >= SYMBOL_MAX)
        return err_set(e, "header: instrument %d: symbol length %zu (expected 1..%d)", i + 1, len,
                       SYMBOL_MAX - 1);
    memcpy(in.symbol, p + *pos + 1, len);
    *pos += 1 + len;
    in.px_dp = p[(*pos)++];
    in.qty_dp = p[(*pos)++];
    uint64_t tick, lot;
    if (get_varint(p, n, pos, &tick, &why) || get_varint(p, n, pos, &lot, &why))
        return err_set(e, "header: instrument %d: truncated grid", i + 1);
    if (tick > INT64_MAX || lot > INT64_MAX)
        return err_set(e, "header: instrument %d: tick or lot out of range", i + 1);
    in.tick = (int64_t)tick;
    in.lot = (int64_t)lot;
    if (instruments_add(ins, &in, e) < 0) return err_prefix(e, "header");
    return 0;
}

int rec_header_decode(const uint8_t *p, size_t n, uint64_t *seed, int64_t *start_us,
                      struct instruments *ins, struct err *e)
{
    if (n < HEADER_FIXED || p[0] != REC_KIND_HEADER) {
        err_set(e, "header: not a header block");
        goto fail;
    }
    if (p[1] != REC_VERSION) {
        err_set(e, "header: format version %d is not supported (this build reads %d)", p[1],
                REC_VERSION);
        goto fail;
    }
    *seed = get_u64(p + 2);
    *start_us = (int64_t)get_u64(p + 10);
    int count = p[18] | p[19] << 8;
    size_t pos = HEADER_FIXED;
    for (int i = 0; i < count; i++)
        if (header_instrument(p, n, &pos, ins, e)) goto fail;
    if (pos != n) {
        err_set(e, "header: %zu bytes after the instruments", n - pos);
        goto fail;
    }
    return 0;
fail:
    instruments_free(ins);
    return -1;
}
